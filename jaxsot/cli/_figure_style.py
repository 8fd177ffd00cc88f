"""The figures' common style: rc settings, units with a power of ten in the label, saving (DPI).

Every axis names its quantity and unit; a power of ten goes into the unit ("[10⁻⁶ nm⁻² fs⁻¹]"), never
into an offset multiplier above the axis (the `jaxsot.cli._figures` module docstring has the whole standard).
"""

import functools
import math
import pathlib

from ._common import save_figure

DPI = 110
STYLE = {
    "font.size": 12,
    "axes.titlesize": 12.5,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10.5,
    "figure.titlesize": 13.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.formatter.useoffset": False,  # no "+1.0002e3" above an axis
    "axes.formatter.limits": (-4, 5),  # values are scaled by `scaled` before they get here
    "lines.linewidth": 2.0,
}

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(exponent: int) -> str:
    """'10⁻⁶' for -6."""
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def unit_scale(values, unit: str):
    """(factor, '[10^k unit]'): values * factor lie within 1 <= max |value| < 1000 (k a multiple of 3),
    or (1, '[unit]') when they are already between 0.01 and 10^4. Non-finite values are ignored."""
    import numpy as onp

    values = onp.asarray(values, dtype=float)
    finite = onp.abs(values[onp.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    exponent = 0 if largest == 0.0 or 1e-2 <= largest < 1e4 else 3 * math.floor(math.log10(largest) / 3)
    unit = unit.strip()
    if exponent == 0:
        return 1.0, (f"[{unit}]" if unit else "(dimensionless)")
    return 10.0**-exponent, (f"[{power_of_ten(exponent)} {unit}]" if unit else f"[{power_of_ten(exponent)}]")


def scaled(values, unit: str):
    """(values scaled by `unit_scale`, the unit label)."""
    import numpy as onp

    factor, label = unit_scale(values, unit)
    return onp.asarray(values, dtype=float) * factor, label


def si_text(value: float, unit: str) -> str:
    """3e11, 'A/m²' -> '3 × 10¹¹ A/m²' (three significant digits)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    exponent = math.floor(math.log10(abs(value)))
    if -2 <= exponent <= 3:
        return f"{value:.3g} {unit}"
    mantissa = value / 10.0**exponent
    text = f"{mantissa:.3g}".rstrip("0").rstrip(".")
    return f"{text} × {power_of_ten(exponent)} {unit}" if text != "1" else f"{power_of_ten(exponent)} {unit}"


def styled(build):
    """Run a figure builder inside the figures' rc style (fonts and formatters are fixed at creation)."""

    @functools.wraps(build)
    def wrapper(plt, *args, **kwargs):
        with plt.rc_context(STYLE):
            return build(plt, *args, **kwargs)

    return wrapper


def save_styled(plt, figure, path) -> bool:
    """Save a figure atomically at the figures' resolution (DPI).

    Args:
        plt: matplotlib.pyplot (unused; the builders' calling convention).
        figure: the matplotlib figure.
        path: file to write (its suffix gives the format).

    Returns:
        True (a figure was written).
    """
    save_figure(figure, pathlib.Path(path), dpi=DPI)
    return True


def outside_legend(figure, axes, handles=None, ncol=None):
    """A legend in a strip under the axes (off the data).

    Args:
        figure: the matplotlib figure.
        axes: the axes whose labelled artists are listed (when `handles` is None).
        handles: the artists to list (default: every labelled one of `axes`).
        ncol: legend columns (default: up to 4).
    """
    handles = handles or [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    labels = [h.get_label() for h in handles]
    figure.legend(handles=handles, labels=labels, loc="outside lower center", ncol=ncol or min(len(handles), 4),
                  frameon=False)

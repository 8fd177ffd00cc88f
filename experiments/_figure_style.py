"""Figure style shared by the experiment scripts: fonts readable on a slide, legends off the data.

The scripts run as `python experiments/NAME.py`, which puts this folder on the import path, so they
`import _figure_style`. Conventions of every figure written here:
- each axis names a quantity and its unit in brackets, "(dimensionless)" for ratios;
- SI units beside jaxsot's internal ones where an experimentalist expects them (a second axis:
  torque per magnet in 1/ns, fields in mT, current density in A/m^2);
- legends outside the axes (`legend_right`, `legend_below`) or one legend for the whole figure
  (`figure_legend`), never over data;
- curves that coincide are told apart by line style, width and sparse markers (`markevery`).
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FIGURES = pathlib.Path(__file__).parent / "figures"

STYLE = {
    "font.size": 12,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10.5,
    "figure.titlesize": 13,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.8,
    "lines.markersize": 6,
    "legend.framealpha": 0.95,
    "axes.formatter.use_mathtext": True,
    "mathtext.fontset": "dejavusans",
    "figure.constrained_layout.use": True,
}


def pyplot():
    """matplotlib.pyplot with the shared style applied."""
    plt.rcParams.update(STYLE)
    return plt


def legend_right(ax, **kwargs):
    """Legend just outside the right edge of `ax` (constrained layout makes room for it)."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def legend_below(ax, ncol=2, offset=0.2, **kwargs):
    """Legend under `ax`, below its x label (`offset`: gap from the axes' bottom, in axes heights)."""
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -offset), borderaxespad=0.0, ncol=ncol, **kwargs)


def figure_legend(figure, handles, labels=None, ncol=3, where="outside lower center", **kwargs):
    """One legend for the whole figure, outside all axes."""
    if labels is None:
        labels = [h.get_label() for h in handles]
    return figure.legend(handles, labels, loc=where, ncol=ncol, **kwargs)


def save(figure, name, dpi=110):
    """Write experiments/figures/NAME and return its path."""
    FIGURES.mkdir(exist_ok=True)
    out = FIGURES / name
    figure.savefig(out, dpi=dpi)
    plt.close(figure)
    return out


def sci(value, digits=2):
    """`value` as mathtext, e.g. 1.8e11 -> '$1.8\\times10^{11}$' (`digits` significant figures)."""
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    exponent = int(exponent)
    if exponent == 0:
        return f"${mantissa}$"
    return rf"${mantissa}\times10^{{{exponent}}}$" if mantissa not in ("1", "1.0") else rf"$10^{{{exponent}}}$"

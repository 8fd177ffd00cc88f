"""The figures of `jaxsot fit`: fit.png for curves (data, model and residuals per column, the loss per
restart) and for harmonic Hall sweeps, drawn to the standard of `jaxsot.cli._figures`.
"""

import textwrap

from ._common import pyplot
from ._figure_style import save_styled, si_text, styled, unit_scale

# jaxsot fit: fit.png (curves) and fit.png (harmonic Hall)


def _data_and_residuals(figure, cell, x, values, sigmas, prediction, quantity, unit, x_label, groups=None):
    """Data with error bars and the fit on top, (data - fit)/sigma (or data - fit) below."""
    import numpy as onp

    inner = cell.subgridspec(2, 1, height_ratios=(3, 1.2), hspace=0.05)
    ax = figure.add_subplot(inner[0])
    below = figure.add_subplot(inner[1], sharex=ax)
    values, prediction = onp.asarray(values, dtype=float), onp.asarray(prediction, dtype=float)
    factor, label = unit_scale(onp.concatenate([values, prediction]), unit)
    groups = groups if groups is not None else [(None, onp.ones(len(x), bool))]
    weighted = sigmas is not None and onp.all(onp.asarray(sigmas) > 0)
    residual = (values - prediction) / onp.asarray(sigmas) if weighted else (values - prediction) * factor
    for k, (name, mask) in enumerate(groups):
        order = onp.argsort(x[mask])
        color = f"C{k}"
        error = None if sigmas is None else onp.asarray(sigmas)[mask] * factor
        ax.errorbar(x[mask], values[mask] * factor, yerr=error, fmt="o", ms=4, lw=0.9, color=color, alpha=0.55,
                    label=("data" if name is None else f"data, {name}"))
        ax.plot(x[mask][order], prediction[mask][order] * factor, "-", color=color if name else "C3", lw=2.2,
                label="fit" if name is None else None)
        below.plot(x[mask], residual[mask], "o", ms=3.5, color=color)
    below.axhline(0.0, color="0.3", lw=1.0)
    ax.set_ylabel(f"{quantity}\n{label}")
    below.set_ylabel("(data − fit)/σ\n(dimensionless)" if weighted else f"data − fit\n{label}")
    below.set_xlabel(x_label)
    ax.tick_params(labelbottom=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=10,
              title=None if groups[0][0] is None else "dots: data, lines: fit", title_fontsize=10)
    return ax, below


def _parameter_text(result, identified_word):
    parts = [
        f"{n} = {result.parameters[n]:.4g} ± {result.standard_errors[n]:.2g}" if result.identifiable[n]
        else f"{n}: {identified_word}"
        for n in result.free
    ]
    return "\n".join(textwrap.wrap(", ".join(parts), 110))


def _loss_panel(ax, trace, best):
    import numpy as onp

    trace = onp.atleast_2d(onp.asarray(trace, dtype=float))
    for i, series in enumerate(trace):
        steps = onp.arange(series.size)
        keep = onp.isfinite(series) & (series > 0)
        ax.plot(steps[keep], series[keep], lw=2.4 if i == best else 1.3,
                label=f"restart {i}" + (" (best)" if i == best else ""))
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss ½⟨((data − model)/σ)²⟩\n(dimensionless)")
    ax.set_title("convergence")
    ax.legend(loc="upper right", fontsize=9.5)


@styled
def build_fit(plt, result, curves, x_axis, column_units):
    """One data panel (with residuals under it) per fitted column, and the loss per iteration."""
    import numpy as onp

    panels = [(c, j, p, s) for c, p, s in zip(curves, result.predictions, result.sigmas) for j in range(len(c.columns))]
    count = len(panels) + 1
    cols = min(3, count)
    rows = -(-count // cols)
    figure = plt.figure(figsize=(6.2 * cols, 5.0 * rows + 1.0), layout="constrained")
    grid = figure.add_gridspec(rows, cols)
    several = len(curves) > 1
    for k, (curve, j, prediction, sigmas) in enumerate(panels):
        x_label, x = x_axis(curve)
        column = curve.columns[j]
        quantity = column + (f" ({curve.label})" if several else "")
        _data_and_residuals(figure, grid[k // cols, k % cols], onp.asarray(x, dtype=float),
                            onp.asarray(curve.values)[:, j], onp.asarray(sigmas)[:, j], onp.asarray(prediction)[:, j],
                            quantity, "" if column_units.get(column) == "1" else column_units.get(column, ""), x_label)
    _loss_panel(figure.add_subplot(grid[len(panels) // cols, len(panels) % cols]), result.trace, result.best)
    source = "" if several else f" to {curves[0].label}"
    figure.suptitle(f"jaxsot fit{source}: {_parameter_text(result, 'not identifiable')}")
    return figure


def fit(path, result, curves, x_axis, column_units) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    return save_styled(plt, build_fit(plt, result, curves, x_axis, column_units), path)


_HALL_QUANTITIES = {"R_1w": "first-harmonic Hall resistance R₁ω", "R_2w": "second-harmonic Hall resistance R₂ω",
                    "B_DL": "damping-like field B_DL", "B_FL": "field-like field B_FL",
                    "xi_DL": "damping-like efficiency ξ_DL", "xi_FL": "field-like efficiency ξ_FL"}
_UNIT_TEXT = {"ohm": "Ω", "1": ""}


@styled
def build_fit_hall(plt, result, data, x_of, units):
    import numpy as onp

    panels = []
    for item, label, columns, prediction in zip(data, result.labels, result.columns, result.predictions):
        values = onp.stack([item.r_1w, item.r_2w], -1) if hasattr(item, "r_1w") else onp.asarray(item.values)
        sigma = getattr(item, "sigma_1w", None), getattr(item, "sigma_2w", None)
        for j, column in enumerate(columns):
            s = sigma[j] if hasattr(item, "r_1w") and j < 2 else getattr(item, "sigma", None)
            s = None if s is None else onp.broadcast_to(onp.asarray(s, dtype=float)[..., j] if onp.ndim(s) == 2 else s,
                                                        (item.num_points,))
            panels.append((item, label, column, values[:, j], onp.asarray(prediction)[:, j], s))
    count = len(panels)
    cols = min(2, count)
    rows = -(-count // cols)
    figure = plt.figure(figsize=(7.5 * cols, 5.2 * rows + 1.2), layout="constrained")
    grid = figure.add_gridspec(rows, cols)
    several = len(data) > 1
    for k, (item, label, column, values, prediction, sigmas) in enumerate(panels):
        x_label, x = x_of(item)
        if hasattr(item, "field"):
            fields = onp.unique(item.field)
            groups = [(f"B = {si_text(float(b), 'T')}", item.field == b) for b in fields]
        else:
            groups = None
        quantity = _HALL_QUANTITIES.get(column, column) + (f" ({label})" if several else "")
        _data_and_residuals(figure, grid[k // cols, k % cols], onp.asarray(x, dtype=float), values, sigmas, prediction,
                            quantity, _UNIT_TEXT.get(units.get(column, ""), units.get(column, "")), x_label, groups)
    source = "" if several else f" to {result.labels[0]}"
    figure.suptitle(f"jaxsot fit (harmonic Hall){source}:\n{_parameter_text(result, 'not determined')}")
    return figure


def fit_hall(path, result, data, x_of, units) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    return save_styled(plt, build_fit_hall(plt, result, data, x_of, units), path)

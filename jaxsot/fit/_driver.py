"""The fit driver's shared steps for data-set fits (harmonic Hall, ST-FMR): column scaling, noise estimates
from residuals, the relative change of an estimate, fit statistics (chi^2, dof, reduced chi^2, the
noise factor of standard errors) and the per-data-set result blocks.

A data set is an (N, K) array of values (K columns) with optional standard deviations; residuals are
whitened, r = (prediction - value)/sigma, concatenated data set by data set in row-major order.
"""

import math

import numpy as onp


def column_scale(values) -> onp.ndarray:
    """Initial weights for unknown noise: the spread of each column (its signal), never zero.

    Args:
        values: (N, K) data values of one data set.

    Returns:
        (K,) standard deviation of each column, or its largest |value| where the spread is below 1e-12 of it.
    """
    values = onp.asarray(values)
    spread = onp.std(values, axis=0)
    fallback = onp.maximum(onp.max(onp.abs(values), axis=0), 1e-300)
    return onp.where(spread > 1e-12 * fallback, spread, fallback)


def column_noise(block, num_free, total, values) -> onp.ndarray:
    """Per-column noise of one data set from its raw residuals, sigma_c^2 = RSS_c/(N - p N/N_total).

    Args:
        block: (N, K) raw residuals (prediction - value) of the data set.
        num_free: p, the number of free parameters of the fit.
        total: N_total, the number of values of every data set together.
        values: (N, K) data values (the floor: 1e-12 of `column_scale(values)`).

    Returns:
        (K,) noise estimate per column.
    """
    n = block.shape[0]
    dof = n - num_free * n / total
    estimate = onp.sqrt(onp.sum(block**2, axis=0) / max(dof, 1e-12))
    return onp.maximum(estimate, 1e-12 * column_scale(values))


def estimated_sigmas(values, known, sigmas, residual, num_free) -> list:
    """Noise of the data sets without stated sigma, from the whitened residuals; the others keep theirs.

    Args:
        values: list of (N_i, K_i) data values, one per data set.
        known: list of bools, whether data set i has stated standard deviations.
        sigmas: list of (N_i, K_i) standard deviations used for `residual`.
        residual: (sum N_i K_i,) whitened residuals of every data set, concatenated.
        num_free: number of free parameters.

    Returns:
        list of (N_i, K_i) standard deviations (`column_noise` broadcast over rows where estimated).
    """
    total = residual.size
    out, offset = [], 0
    for value, is_known, sigma in zip(values, known, sigmas):
        shape = onp.shape(value)
        size = shape[0] * shape[1]
        block = residual[offset: offset + size].reshape(shape) * onp.asarray(sigma)
        offset += size
        if is_known:
            out.append(sigma)
            continue
        out.append(onp.broadcast_to(column_noise(block, num_free, total, value), shape))
    return out


def relative_change(new, previous) -> float:
    """Largest |new/previous - 1| over a list of arrays (how much a noise estimate still moves).

    Args:
        new: list of arrays.
        previous: list of arrays of the same shapes (non-zero).

    Returns:
        The largest relative change of any element.
    """
    return max(float(onp.max(onp.abs(onp.asarray(a) / onp.asarray(b) - 1.0))) for a, b in zip(new, previous))


def fit_statistics(residual, num_free) -> tuple:
    """chi^2, degrees of freedom and reduced chi^2 of whitened residuals.

    Args:
        residual: (N,) whitened residuals at the optimum.
        num_free: number of free parameters.

    Returns:
        (chi2, dof, reduced): chi2 = r.r, dof = N - num_free, reduced = chi2/dof (NaN without dof).
    """
    residual = onp.asarray(residual)
    chi2 = float(residual @ residual)
    dof = int(residual.size - num_free)
    return chi2, dof, (chi2 / dof if dof > 0 else math.nan)


def noise_factor(reduced, dof, estimated) -> float:
    """The factor of the covariance when the noise was not stated: the reduced chi^2 (standard errors scale
    with its square root), else 1.

    Args:
        reduced: reduced chi^2 of the fit.
        dof: degrees of freedom.
        estimated: whether the noise was estimated from the residuals (no stated sigma).

    Returns:
        reduced if estimated and dof > 0, else 1.0.
    """
    return reduced if estimated and dof > 0 else 1.0


def result_blocks(values, sigmas, residual, columns, labels) -> tuple:
    """Per data set: predictions, whitened residual blocks and the noise used, from the concatenated residuals.

    Args:
        values: list of (N_i, K_i) data values.
        sigmas: list of (N_i, K_i) standard deviations used at the optimum.
        residual: (sum N_i K_i,) whitened residuals (prediction - value)/sigma.
        columns: list of the K_i column names of each data set.
        labels: list of data set names (unique).

    Returns:
        (predictions, residual_blocks, noise): lists of (N_i, K_i) arrays and {label: {column: sigma}} (a
        number where a column's sigma is the same in every row, else a list).
    """
    predicted, blocks, noise, offset = [], [], {}, 0
    for value, sigma, names, label in zip(values, sigmas, columns, labels):
        rows = onp.shape(value)[0]
        size = rows * len(names)
        block = residual[offset: offset + size].reshape(rows, -1)
        blocks.append(block)
        offset += size
        sigma = onp.asarray(sigma)
        predicted.append(value + block * sigma)  # r = (prediction - value)/sigma
        noise[label] = {c: float(sigma[0, j]) if onp.all(sigma[:, j] == sigma[0, j]) else sigma[:, j].tolist()
                        for j, c in enumerate(names)}
    return predicted, blocks, noise


# The stop codes of both optimizers (`_optimize` and `_levmar`), as the restarts report them.
STATUS = (
    "converged (gradient)",
    "converged (loss change)",
    "stopped at max_steps",
    "non-finite loss",
    "stalled (no decrease, gradient not small)",
)


REPORT_WIDTH = 100
"""Columns of a printed fit summary (the CLI's terminal budget)."""


def report_lines(text: str, tag: str = "", width: int = REPORT_WIDTH) -> list:
    """One summary row, with its bracketed `tag` on an indented line of its own when it would not fit.

    Args:
        text: the row (a combination, its value, relative error and verdict); kept on one line so the
            columns of the table stay aligned.
        tag: what the row means, e.g. "J tau = hbar |B_FL|/(2 |B_DL|)"; "" for none.
        width: the column budget.

    Returns:
        The printed lines (one or two; a tag longer than the budget is wrapped further).
    """
    import textwrap

    if not tag:
        return [text]
    if len(text) + len(tag) + 4 <= width:
        return [f"{text}  [{tag}]"]
    return [text, *textwrap.wrap(f"[{tag}]", width, initial_indent=" " * 6, subsequent_indent=" " * 7,
                                 break_on_hyphens=False)]

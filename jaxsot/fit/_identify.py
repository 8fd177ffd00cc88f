"""Identifiability: which parameter combinations the data determine (SVD of the Gauss-Newton matrix in log axes).
"""

import math

import numpy as onp



# ---------------------------------------------------------------------------------------------
# Uncertainty and identifiability.


def _format_exponent(value: float, rational: bool = True) -> tuple:
    """(text, value shown): small-denominator fractions when close (2, -1, 1/2) and `rational`, else two decimals."""
    if rational:
        fraction = _fraction(value)
        if fraction is not None:
            numerator, denominator = fraction
            return (str(numerator) if denominator == 1 else f"{numerator}/{denominator}"), numerator / denominator
    return f"{value:.2f}", round(value, 2)


def _fraction(value: float):
    """(numerator, denominator <= 3) within 0.03 of value, or None."""
    for denominator in (1, 2, 3):
        if abs(value * denominator - round(value * denominator)) < 0.03 * denominator:
            return int(round(value * denominator)), denominator
    return None


def _combination(vector, names, log_axes):
    """Name a direction of the (log-)parameter space as a power law, e.g. 'alpha^2 j_ex^-1'.

    Returns (text, exponents as shown, factor): the direction is factor * exponents (before rounding).
    """
    vector = onp.asarray(vector, float)
    top = onp.max(onp.abs(vector))
    # Normalize by the smallest significant component (so eta reads alpha^2 j_ex^-1); tiny ones are dropped.
    big = onp.abs(vector) >= 0.2 * top
    vector = onp.where(onp.abs(vector) >= 0.02 * top, vector, 0.0)
    smallest = onp.min(onp.abs(vector[big]))
    exponents = vector / smallest
    # Prefer a positive exponent on the first parameter that appears (sign of a direction is free).
    first = onp.flatnonzero(big)[0]
    if exponents[first] < 0:
        exponents = -exponents
    factor = smallest * (1.0 if vector[first] > 0 else -1.0)
    terms, shown = [], []
    # One format per combination: all exponents as fractions when every one is close to one, else decimals.
    rational = all(_fraction(e) is not None for e in exponents if e != 0.0)
    for name, e, is_log in zip(names, exponents, log_axes):
        text, value = _format_exponent(e, rational) if e != 0.0 else ("0", 0.0)
        shown.append(value)
        if value == 0.0:
            continue
        label = name if is_log else f"exp({name}/{name}_0)"
        terms.append(label if text == "1" else f"{label}^{text}")
    return " ".join(terms), onp.asarray(shown), factor


_KNOWN = (
    ({"alpha": 2.0, "j_ex": -1.0, "mass_ratio": 1.0}, "eta = m alpha^2/(hbar^2 J)"),
    ({"alpha": 2.0, "mass_ratio": 1.0}, "m alpha^2 (AMR with both bands: p eta ~ m alpha^2/(hbar^2 E_F))"),
    ({"alpha": 1.0, "mass_ratio": 1.0}, "m alpha (damping-like torque with both bands)"),
    ({"alpha": 1.0, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 1.0}, "m alpha J tau (field-like torque with both bands)"),
)


def _known_name(exponents, names):
    """A physical name for a combination that matches a known one restricted to the free names.

    Only patterns that keep at least two free parameters are named (a single parameter is its own name).
    """
    exponents = onp.asarray(exponents, float)
    for pattern, label in _KNOWN:
        restricted = onp.array([pattern.get(n, 0.0) for n in names])
        if onp.count_nonzero(restricted) < 2:
            continue
        cosine = abs(restricted @ exponents) / (onp.linalg.norm(restricted) * onp.linalg.norm(exponents))
        if cosine > 0.995:
            return label
    return None


def analyze(jacobian, x, names, log_axes, *, rcond=1e-9, max_relative_error=0.5, known=()) -> dict:
    """Standard errors, correlations and identifiability from whitened residual Jacobians.

    Args:
        jacobian: (N, p) d r/d x of the whitened residuals r in the physical parameters x.
        x: the physical parameters at the solution, shape (p,) (units of `PARAMETER_UNITS`).
        names: the p parameter names.
        log_axes: per parameter, shape (p,) bool: analyse in log x (positive parameters, so
            power-law combinations are directions) or in x.
        rcond: eigenvalues below rcond * max of the Gauss-Newton matrix count as exactly null.
        max_relative_error: a direction (log coordinates: a relative error) or parameter whose
            standard deviation exceeds this is reported as not determined by the data.
        known: extra ({name: exponent}, label) physical combinations (e.g. ({"j_ex": 1, "tau": 1}, "J tau"))
            tried, with the built-in ones, as "physical" combinations.

    Returns a dict (NumPy): covariance (p, p) in x, standard_errors (p,) (inf where a parameter
    has a component along a null direction), correlation (p, p), identifiable (p,) bool,
    eigenvalues/eigenvectors of the Gauss-Newton matrix in the analysis coordinates z (log|x|, or
    x/|x|), null (eigenvalues counted as exactly 0), scale (dx/dz), condition_number, and
    directions, strongest first: dicts with "combination" (a power law such as 'alpha^2 j_ex^-1'),
    "exponents", "value" (of that power law at x), "relative_error" (its standard deviation),
    "determined" (relative_error <= max_relative_error), "known" (a physical name or None); and
    physical: the known combinations of at least two free log-axis parameters (J tau, m alpha, eta, ...)
    with their own value, relative_error (sqrt(c^T C c), inf with a component along a null direction) and
    determined flag, in rational exponents: the determined subspace in the model's own names ("given":
    from `known`; the built-in ones are for reports only where determined).
    """
    jacobian = onp.asarray(jacobian, float)
    x = onp.asarray(x, float)
    log_axes = onp.asarray(log_axes, bool)
    # dx/dz with z = log|x| (a box on one side of 0) or z = x/|x_opt|; SEs use |dx/dz|.
    scale = onp.where(log_axes, x, onp.where(x != 0.0, onp.abs(x), 1.0))
    jz = jacobian * scale[None, :]
    fisher = jz.T @ jz
    eigenvalues, eigenvectors = onp.linalg.eigh(fisher)
    top = max(float(eigenvalues[-1]), 1e-300)
    null = eigenvalues <= rcond * top
    inverse = onp.where(null, 0.0, 1.0 / onp.where(null, 1.0, eigenvalues))
    cov_z = (eigenvectors * inverse[None, :]) @ eigenvectors.T
    null_weight = onp.sum(eigenvectors[:, null] ** 2, axis=1) if onp.any(null) else onp.zeros(len(x))
    std_z = onp.sqrt(onp.maximum(onp.diag(cov_z), 0.0))
    std_z = onp.where(null_weight > 1e-6, onp.inf, std_z)
    covariance = cov_z * scale[:, None] * scale[None, :]
    with onp.errstate(invalid="ignore", divide="ignore"):
        correlation = cov_z / onp.outer(onp.sqrt(onp.diag(cov_z)), onp.sqrt(onp.diag(cov_z)))
    correlation = onp.where(onp.isfinite(correlation), correlation, onp.nan)
    directions = []
    for i in onp.argsort(-eigenvalues):
        std = math.inf if null[i] else 1.0 / math.sqrt(eigenvalues[i])
        text, exponents, factor = _combination(eigenvectors[:, i], names, log_axes)
        # std of log(combination) = relative error of the combination as written (exponents scaled by 1/factor)
        relative = std / abs(factor) if math.isfinite(std) else math.inf
        directions.append(
            {
                "combination": text,
                "exponents": {n: float(e) for n, e in zip(names, exponents)},
                "relative_error": relative,
                # value of the power law at the optimum (log axes only), units = product of the parameters'
                "value": float(onp.prod(onp.abs(x) ** exponents)) if onp.all(log_axes | (exponents == 0)) else math.nan,
                "eigenvalue": float(eigenvalues[i]),
                # judged on the combination as printed, so "determined" never stands beside an error above the threshold
                "determined": bool(relative <= max_relative_error),
                "known": _known_name(exponents, names),
            }
        )
    physical = []
    for index, (pattern, label) in enumerate(tuple(known) + _KNOWN):
        c = onp.array([pattern.get(n, 0.0) for n in names], float)
        if onp.count_nonzero(c) < 2 or not onp.all(log_axes | (c == 0.0)):
            continue
        if any(p["label"] == label or onp.allclose(list(p["exponents"].values()), c) for p in physical):
            continue
        along_null = float(onp.linalg.norm(eigenvectors[:, null].T @ c)) if onp.any(null) else 0.0
        relative = math.inf if along_null > 1e-6 * float(onp.linalg.norm(c)) else math.sqrt(max(float(c @ cov_z @ c), 0.0))
        rational = all(_fraction(e) is not None for e in c if e != 0.0)
        terms = []
        for n, e in zip(names, c):
            if e != 0.0:
                text = _format_exponent(e, rational)[0]
                terms.append(n if text == "1" else f"{n}^{text}")
        physical.append({"combination": " ".join(terms), "label": label, "exponents": {n: float(e) for n, e in zip(names, c)},
                         "value": float(onp.prod(onp.abs(x) ** c)), "relative_error": relative,
                         "determined": bool(relative <= max_relative_error), "given": index < len(known)})
    finite = eigenvalues[~null]
    condition = float(top / finite.min()) if finite.size and not onp.any(null) else math.inf
    return {
        "covariance": covariance,
        "standard_errors": std_z * onp.abs(scale),
        "relative_errors": std_z,
        "correlation": correlation,
        "identifiable": onp.isfinite(std_z) & (std_z <= max_relative_error),
        "eigenvalues": eigenvalues,
        "eigenvectors": eigenvectors,
        "condition_number": condition,
        "directions": directions,
        "physical": physical,
        "null": null,
        "scale": scale,
    }



"""Levenberg-Marquardt in the reparameterized (box-constrained) coordinates of `jaxsot.fit`, on NumPy residuals and
Jacobians from a jitted evaluation; the optimizer and Gauss-Newton polish of `fit_harmonic_hall`."""

import math

import numpy as onp

from ._driver import STATUS as STATUS

LM_TOL = 1e-8  # chi^2 decrease of the Gauss-Newton step below which the polish stops


def hold_last(trace, losses):
    """Traces (restarts, max_steps) without NaN: after a run stops its final loss repeats (inf for a run whose
    start was not finite)."""
    trace = onp.array(trace, float)
    for row, final in zip(trace, onp.asarray(losses, float)):
        finite = onp.flatnonzero(onp.isfinite(row))
        fill = row[finite[-1]] if finite.size else (final if math.isfinite(final) else math.inf)
        row[(finite[-1] + 1) if finite.size else 0:] = fill
    return trace


def x_of_u(u, lower, upper, transform):
    """Physical x (p,) and dx/du (p,) of unconstrained u (NumPy; the same map as `to_physical`)."""
    # The logistic function without overflow for large |u| (exp(-u) overflows below u ~ -709).
    u = onp.asarray(u, float)
    t = onp.where(u >= 0.0, 1.0 / (1.0 + onp.exp(-onp.abs(u))), onp.exp(-onp.abs(u)) / (1.0 + onp.exp(-onp.abs(u))))
    x, dxdu = onp.empty_like(t), onp.empty_like(t)
    for i, kind in enumerate(transform):
        if kind:
            a, b = math.log(abs(lower[i])), math.log(abs(upper[i]))
            x[i] = kind * math.exp(a + (b - a) * t[i])
            dxdu[i] = x[i] * (b - a) * t[i] * (1.0 - t[i])
        else:
            x[i] = lower[i] + (upper[i] - lower[i]) * t[i]
            dxdu[i] = (upper[i] - lower[i]) * t[i] * (1.0 - t[i])
        # exp(log) can land one rounding step outside the box, which the host checks of the box's
        # ends (and the models' ranges) did not cover: keep x within the bounds themselves.
        x[i] = min(max(x[i], min(lower[i], upper[i])), max(lower[i], upper[i]))
    return x, dxdu


def levenberg_marquardt(u, evaluate, lower, upper, transform, max_steps, tol):
    """Levenberg-Marquardt in the unconstrained coordinates u (bounds hold by construction).

    evaluate(x) -> (whitened residuals (N,), Jacobian (N, p) in x), one compiled function shared with the
    standard errors. Step (A + lam diag A) du = -g with A = J_u^T J_u, g = J_u^T r, J_u = J_x dx/du; a step is
    kept when chi^2 = |r|^2 falls (lam /= 3), else lam *= 4. Converged when the undamped Gauss-Newton step
    would lower chi^2 by less than `tol` (chi^2 units: the point is within ~sqrt(tol) standard errors of the
    minimum of the linearized problem). Returns (u, loss = chi^2/(2N), steps, status as STATUS, trace).
    """
    u = onp.asarray(u, float)
    trace = onp.full((max_steps,), onp.nan)
    x, dxdu = x_of_u(u, lower, upper, transform)
    r, jx = evaluate(x)
    if not (onp.all(onp.isfinite(r)) and onp.all(onp.isfinite(jx))):
        return u, math.inf, 0, 3, trace
    chi2, lam, status, step = float(r @ r), 1e-3, 2, 0
    for step in range(max_steps):
        trace[step] = 0.5 * chi2 / r.size
        j = jx * dxdu[None, :]
        gauss_newton = onp.linalg.lstsq(j, -r, rcond=None)[0]
        if chi2 - float(onp.sum((r + j @ gauss_newton) ** 2)) <= tol:
            status = 0
            break
        g, a = j.T @ r, j.T @ j
        diag = onp.maximum(onp.diag(a), 1e-12 * max(float(onp.max(onp.diag(a))), 1e-300))
        accepted = False
        while lam <= 1e12:
            delta = onp.linalg.solve(a + lam * onp.diag(diag), -g)
            x_new, dxdu_new = x_of_u(u + delta, lower, upper, transform)
            r_new, jx_new = evaluate(x_new)
            chi2_new = float(r_new @ r_new) if onp.all(onp.isfinite(r_new)) and onp.all(onp.isfinite(jx_new)) else math.inf
            if chi2_new < chi2:
                accepted = True
                break
            lam *= 4.0
        if not accepted:
            status = 4
            break
        decrease = chi2 - chi2_new
        u, dxdu, r, jx, chi2, lam = u + delta, dxdu_new, r_new, jx_new, chi2_new, max(lam / 3.0, 1e-12)
        if decrease <= 1e-15 * chi2:
            status = 1
            break
    else:
        step = max_steps
    return u, 0.5 * chi2 / r.size, step + (status != 2), status, trace

"""The one warning for states on or near the band touching point (Omega -> 0), shared by every layer.

At Omega(k) = |b(k)| -> 0 the band spin s b/|b| is undefined and velocities, spin forces and
torques diverge like 1/Omega: a state there must never give a silent number. Omega(k) >= J |M_z|,
with equality at k* = (J/alpha)(z x M); the bands touch there only for in-plane M.
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as onp
from .._core._checks import is_concrete

DEGENERACY_THRESHOLD = 1e-3
"""States with Omega < DEGENERACY_THRESHOLD * J are reported as near the band touching k*."""

IN_PLANE_ULPS = 4
"""|M_z| <= IN_PLANE_ULPS * eps(dtype) counts as in-plane M (the bands touch at k*).

A tolerance in units of the dtype's eps, not an absolute one: in float32, cos(pi/2) rounds to
-4.4e-8, so an |M_z| <= 1e-12 test would call a model built with theta = pi/2 out of plane.
"""


def in_plane_tolerance(dtype) -> float:
    """Largest |M_z| that still counts as in-plane M for a model in `dtype` (IN_PLANE_ULPS eps)."""
    return IN_PLANE_ULPS * float(jnp.finfo(dtype).eps)


@jax.jit
def _extremes(omega):
    return jnp.min(omega), jnp.max(omega)


def _exact_splitting(model, k):
    """Omega(k) [eV] in float64 NumPy from the closed form |alpha (k x z) - J M| (message only)."""
    mx, my, mz = onp.asarray(model.magnetization, onp.float64)
    alpha, j_ex = float(model.alpha), float(model.j_ex)
    k = onp.asarray(k, onp.float64)
    bx = alpha * k[:, 1] - j_ex * mx
    by = -alpha * k[:, 0] - j_ex * my
    return onp.sqrt(bx * bx + by * by + (j_ex * mz) ** 2)


def _closest_approach(model):
    """Text naming k* = (J/alpha)(z x M), for a concrete model."""
    mx, my, mz = (float(x) for x in onp.asarray(model.magnetization, onp.float64))
    alpha, j_ex = float(model.alpha), float(model.j_ex)
    if alpha == 0.0:
        return "(alpha = 0: Omega = J |M| everywhere)"
    where = f"k* = (J/alpha)(z x M) = [{-my * j_ex / alpha + 0.0:.6g}, {mx * j_ex / alpha + 0.0:.6g}] 1/nm"
    if abs(mz) <= in_plane_tolerance(model.magnetization.dtype):
        return f"point {where}"
    return f"point (closest approach {where}, where Omega = J |M_z| = {j_ex * abs(mz):.3g} eV)"


def warn_near_band_touching(model, k, omega, what, *, consequence=None, stacklevel=3):
    """Warn (RuntimeWarning, never silent) if a state has Omega < DEGENERACY_THRESHOLD * J, or is flagged.

    Args:
        model: the RashbaFerromagnet of the states (concrete).
        k: the states [1/nm], shape (..., 2), broadcastable to omega.shape + (2,).
        omega: Omega(k) [eV] of each state, any shape. Besides Omega < DEGENERACY_THRESHOLD * J,
            Omega = 0, NaN and infinite values are reported (callers fold other non-finite inputs
            in as omega + 0 * input).
        what: the name of the public function, first word of the message.
        consequence: what goes wrong there (default: velocities, spin forces and torques diverge).
        stacklevel: passed to warnings.warn (3 = the caller of the public function that calls this).

    Does nothing under tracing (jit, grad, vmap), where the values are not known. The common case
    costs a minimum and a maximum over omega (NumPy without a copy on the CPU, on the device
    elsewhere); the counts, the closed-form Omega and the worst state are only computed when there
    is something to report.
    """
    if not is_concrete(omega, model):
        return
    shape = tuple(jnp.shape(omega))
    if math.prod(shape) == 0:
        return
    threshold = DEGENERACY_THRESHOLD * float(model.j_ex)
    if isinstance(omega, jax.Array) and {d.platform for d in omega.devices()} != {"cpu"}:
        smallest, largest = (float(x) for x in _extremes(omega))  # on the device: two scalars back
    else:
        flagged = onp.asarray(omega)  # no copy for a CPU array
        smallest, largest = flagged.min(), flagged.max()
    # `smallest >= threshold` is False for a NaN minimum, so NaN states are reported too; Omega = 0
    # (the touching point itself, also when J = 0) and an infinite Omega (infinite k) give
    # non-finite results and are reported whatever the threshold.
    if smallest >= threshold and smallest > 0 and largest < onp.inf:
        return
    flagged = onp.asarray(omega).reshape(-1)
    states = onp.broadcast_to(onp.asarray(k), shape + (2,)).reshape(-1, 2)
    exact = _exact_splitting(model, states)
    # A flag that is not a finite Omega > 0 on a state whose closed-form Omega is fine comes from a
    # non-finite input (the field), not from k*.
    bad = ~(onp.isfinite(flagged) & (flagged > 0))
    result_only = bad & (exact >= threshold) & (exact > 0)
    near = (~(flagged >= threshold) | bad) & ~result_only
    nonfinite = int(onp.sum(result_only))
    worst = int(onp.argmin(onp.where(onp.isnan(exact), -onp.inf, exact)))
    count = int(onp.sum(near))
    if count == 0:
        warnings.warn(
            f"{what}: {nonfinite} state(s) with a non-finite input, none near the "
            f"band touching {_closest_approach(model)}",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
        return
    consequence = consequence or "velocities, spin forces and torques diverge like 1/Omega there"
    extra = f"; {nonfinite} more state(s) with a non-finite input" if nonfinite else ""
    warnings.warn(
        f"{what}: {count} state(s) with Omega < {DEGENERACY_THRESHOLD:g} J, at or near the band touching "
        f"{_closest_approach(model)}; the closest, k = {states[worst].tolist()}, has Omega = {exact[worst]:.3g} eV: "
        f"{consequence}{extra}",
        RuntimeWarning,
        stacklevel=stacklevel,
    )

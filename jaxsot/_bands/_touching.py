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
from .._core._model import IN_PLANE_ULPS, TwoBandModel
from ._touching_search import locate_touching

DEGENERACY_THRESHOLD = 1e-3
"""States with Omega < DEGENERACY_THRESHOLD * J (J = |exchange field|) are reported as near the band touching."""

def in_plane_tolerance(dtype) -> float:
    """Largest |M_z| that still counts as in-plane M for a model in `dtype` (IN_PLANE_ULPS eps)."""
    return IN_PLANE_ULPS * float(jnp.finfo(dtype).eps)


@jax.jit
def _extremes(omega):
    return jnp.min(omega), jnp.max(omega)


def _exact_splitting(model, k):
    """Omega(k) = |b(k)| [eV] in NumPy float64 from the model's field, evaluated eagerly (message only)."""
    k = onp.asarray(k, onp.float64)
    with jax.ensure_compile_time_eval():
        components = model.field(k[:, 0], k[:, 1])
    bx, by, bz = (onp.broadcast_to(onp.asarray(c, onp.float64), k.shape[:1]) for c in components)
    return onp.sqrt(bx * bx + by * by + bz * bz)


def exchange_scale(model) -> float:
    """|b(k) - B_so(k)| [eV], the size of the exchange field (J for the Rashba ferromagnet); concrete models."""
    return math.sqrt(sum(float(c) ** 2 for c in model.exchange_field()))


def warn_near_band_touching(model, k, omega, what, *, consequence=None, stacklevel=3):
    """Warn (RuntimeWarning, never silent) if a state has Omega < DEGENERACY_THRESHOLD * J, or is flagged.

    Args:
        model: the model (a `TwoBandModel`) of the states (concrete).
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
    threshold = DEGENERACY_THRESHOLD * exchange_scale(model)
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
    description = _description(model, states[worst] if count else None)
    if count == 0:
        warnings.warn(
            f"{what}: {nonfinite} state(s) with a non-finite input, none near the "
            f"band touching {description}",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
        return
    consequence = consequence or "velocities, spin forces and torques diverge like 1/Omega there"
    extra = f"; {nonfinite} more state(s) with a non-finite input" if nonfinite else ""
    warnings.warn(
        f"{what}: {count} state(s) with Omega < {DEGENERACY_THRESHOLD:g} J, at or near the band touching "
        f"{description}; the closest, k = {states[worst].tolist()}, has Omega = {exact[worst]:.3g} eV: "
        f"{consequence}{extra}",
        RuntimeWarning,
        stacklevel=stacklevel,
    )


def _description(model, start):
    """The model's `touching_description`; for a model that has none of its own, the touching point
    found by Newton's method on |b|^2 from the closest state `start` (k [1/nm]), when there is one."""
    if type(model).touching_description is not TwoBandModel.touching_description or start is None:
        return model.touching_description()
    point = locate_touching(model, start)
    if point is None:
        return model.touching_description()
    return f"point k* = {onp.round(point, 6).tolist()} 1/nm (where b(k) = 0, found from the closest state)"

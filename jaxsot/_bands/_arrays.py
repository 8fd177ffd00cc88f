"""Public per-state functions: broadcast over leading dimensions of k (..., 2), follow the dtype of k/efield.

Conventions: k [1/nm], efield [V/nm], band s = +1 (upper) / -1 (lower), hbar k' = qE with q = -e,
so the accelerating force f = hbar k' = -E [eV/nm]. Theory: docs, Theory > Single states.
"""

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._core._checks import check_band, check_shape, float_dtype, is_concrete
from .._core._model import RashbaFerromagnet
from ..constants import CARRIER_CHARGE, HBAR
from ._kernels import energy, field_like_torque_components, spin, spin_force_components, spin_force_second_order_components, spin_rate_components, spin_rate_second_order_components, splitting, velocity




# ---------------------------------------------------------------------------------------------
# Broadcasting public wrappers.


def _prepare(model, k, efield=None):
    check_shape("k", k, (2,))
    arrays = [jnp.asarray(k)]
    if efield is not None:
        check_shape("efield", efield, (2,))
        arrays.append(jnp.asarray(efield))
    dtype = float_dtype(*arrays)
    arrays = [a.astype(dtype) for a in arrays]
    return model.astype(dtype), arrays


def _broadcast_map(kernel, model, k, extra=None):
    """Apply a scalar kernel over the broadcast leading dims of k (..., 2) and extra (..., 2)."""
    if extra is None:
        lead = k.shape[:-1]
        columns = [k[..., 0].ravel(), k[..., 1].ravel()]
    else:
        lead = jnp.broadcast_shapes(k.shape[:-1], extra.shape[:-1])
        k = jnp.broadcast_to(k, lead + (2,))
        extra = jnp.broadcast_to(extra, lead + (2,))
        columns = [k[..., 0].ravel(), k[..., 1].ravel(), extra[..., 0].ravel(), extra[..., 1].ravel()]
    out = jax.vmap(lambda *c: kernel(model, *c))(*columns)
    if isinstance(out, tuple):
        return jnp.stack(out, axis=-1).reshape(lead + (len(out),))
    return out.reshape(lead)


@jax.jit
def _energy_impl(model, k, s):
    return _broadcast_map(lambda m, kx, ky: energy(m, kx, ky, s), model, k)


@jax.jit
def _splitting_impl(model, k):
    return _broadcast_map(splitting, model, k)


@jax.jit
def _spin_impl(model, k, s):
    return _broadcast_map(lambda m, kx, ky: spin(m, kx, ky, s), model, k)


@jax.jit
def _velocity_impl(model, k, s):
    return _broadcast_map(lambda m, kx, ky: velocity(m, kx, ky, s), model, k)


@jax.jit
def _field_like_impl(model, k, s):
    return _broadcast_map(lambda m, kx, ky: field_like_torque_components(m, kx, ky, s), model, k)


@functools.partial(jax.jit, static_argnums=0)
def _driven_impl(kernel_index, model, k, s, force):
    kernel = _DRIVEN_KERNELS[kernel_index]
    return _broadcast_map(lambda m, kx, ky, fx, fy: kernel(m, kx, ky, s, fx, fy), model, k, force)


_DRIVEN_KERNELS = (
    spin_force_components,
    spin_force_second_order_components,
    spin_rate_components,
    spin_rate_second_order_components,
)


DEGENERACY_THRESHOLD = 1e-3
"""States with Omega < DEGENERACY_THRESHOLD * J are reported as near the band touching k*."""


def _warn_if_degenerate(model, k, result, what):
    """Say so (never silently) when a state is on or near the band touching (Omega -> 0).

    There velocities, spin forces and torques diverge like 1/Omega (or are not finite at all).
    """
    if not is_concrete(result, model):
        return result
    omega = onp.atleast_1d(onp.asarray(_splitting_impl(model, jnp.asarray(k))))
    near = omega < DEGENERACY_THRESHOLD * float(model.j_ex)
    finite = bool(jnp.all(jnp.isfinite(result)))
    if finite and not onp.any(near):
        return result
    worst = onp.unravel_index(onp.argmin(omega), omega.shape)
    states = onp.asarray(k).reshape(omega.shape + (2,))
    warnings.warn(
        f"{what}: {int(onp.sum(near))} state(s) within Omega < {DEGENERACY_THRESHOLD:g} J of the band touching "
        f"point k* = (J/alpha)(z x M){'' if finite else ', with non-finite results'}; the closest, "
        f"k = {states[worst].tolist()}, has Omega = {omega[worst]:.3g} eV: velocities and spin forces diverge there",
        RuntimeWarning,
        stacklevel=3,
    )
    return result
    omega = onp.asarray(_splitting_impl(model, jnp.asarray(k)))
    worst = onp.unravel_index(onp.argmin(omega), omega.shape)
    count = int(onp.sum(~onp.isfinite(onp.asarray(result))))
    warnings.warn(
        f"{what}: {count} non-finite value(s); the state k = {onp.asarray(k)[worst].tolist()} has Omega = {omega[worst]:.3g} eV, "
        f"at the band touching point k* = (J/alpha)(z x M) where velocities and spin forces diverge",
        RuntimeWarning,
        stacklevel=3,
    )
    return result


def band_energy(model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int) -> Float[Array, "..."]:
    """Exact band energy eps_s(k) = hbar^2 k^2/2m + s Omega(k) [eV] (paper eq. 1, PHYSICS.md).

    Args:
        model: the Rashba ferromagnet.
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
    Returns: shape (...) [eV], dtype of k.
    """
    s = check_band(band)
    model, (k,) = _prepare(model, k)
    return _energy_impl(model, k, float(s))


def spin_splitting(model: RashbaFerromagnet, k: Float[Array, "... 2"]) -> Float[Array, "..."]:
    """Omega(k) = |alpha (k x z) - J M| [eV], half the band gap at k; shape (...)."""
    model, (k,) = _prepare(model, k)
    return _splitting_impl(model, k)


def band_spin(model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int) -> Float[Array, "... 3"]:
    """Band spin <sigma>_s = s b/|b| (dimensionless unit vector), shape (..., 3).

    The lower band's spin is close to +M when J >> alpha k.
    """
    s = check_band(band)
    model, (k,) = _prepare(model, k)
    return _warn_if_degenerate(model, k, _spin_impl(model, k, float(s)), "band_spin")


def band_velocity(model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int) -> Float[Array, "... 2"]:
    """Band velocity v_s = grad_k eps_s / hbar [nm/fs] by autodiff (paper eq. 8); shape (..., 2)."""
    s = check_band(band)
    model, (k,) = _prepare(model, k)
    return _warn_if_degenerate(model, k, _velocity_impl(model, k, float(s)), "band_velocity")


def accelerating_force(efield: Float[Array, "... 2"]) -> Float[Array, "... 2"]:
    """hbar k' = qE [eV/nm] for an in-plane field efield [V/nm], q = -e (paper eq. 9)."""
    return CARRIER_CHARGE * jnp.asarray(efield)


def _driven(index, model, k, band, efield, what):
    s = check_band(band)
    model, (k, efield) = _prepare(model, k, efield)
    result = _driven_impl(index, model, k, float(s), accelerating_force(efield))
    return _warn_if_degenerate(model, k, result, what)


def spin_force(
    model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 2"]:
    """Exact spin force F_so = m r'' - hbar k' [eV/nm] of a band state accelerated by qE.

    F_so = (m/hbar^2) Hess_k(s Omega) . (hbar k'), hbar k' = qE, as an autodiff Hessian-vector
    product (paper eq. 9-12, PHYSICS.md "Semiclassical dynamics").

    Args:
        k: (..., 2) [1/nm]; efield: (2,) or (..., 2) [V/nm], broadcast against k; band: +1 or -1.
    Returns: (..., 2) [eV/nm].
    """
    return _driven(0, model, k, band, efield, "spin_force")


def spin_force_second_order(
    model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 2"]:
    """Second-order spin force, paper eq. 12 (2018 text; eq. 13 in 2019) [eV/nm], shape (..., 2).

    F = s (m alpha^2/(hbar^2 Omega)) [hbar k' - (J^2/Omega^2) w (w . hbar k')], w = z x M,
    with the exact Omega(k) and alpha k dropped inside u = z x b.
    """
    return _driven(1, model, k, band, efield, "spin_force_second_order")


def spin_force_strong_exchange(
    model: RashbaFerromagnet, efield: Float[Array, "... 2"], band: int = -1
) -> Float[Array, "... 2"]:
    """Strong-exchange spin force, paper eq. 13 (2018; eq. 14 in 2019), general M [eV/nm].

    F = -s e eta (I - w w^T) E = -s e eta [M_z^2 E + (M.E) M_par], eta = m alpha^2/(hbar^2 J).
    For the lower band this is eta e z x {M x [M x (z x E)]}; it reduces to eta e (E.M) M only
    for in-plane M. Independent of k. efield (..., 2) [V/nm] -> (..., 2).
    """
    s = check_band(band)
    check_shape("efield", efield, (2,))
    efield = jnp.asarray(efield)
    model = model.astype(float_dtype(efield))
    force = accelerating_force(efield)
    wx, wy = -model.magnetization[1], model.magnetization[0]
    w_dot_f = wx * force[..., 0] + wy * force[..., 1]
    projected = force - w_dot_f[..., None] * jnp.stack([wx, wy])
    return s * model.eta * projected


def damping_torque(
    model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 3"]:
    """Damping-like torque of one band state, T2 = -ds/dt [1/fs], 3D (paper eq. 7, 11).

    ds/dt = (k' . grad_k) s b/|b| by autodiff with hbar k' = qE. The in-plane part equals
    (hbar/(m alpha)) z x F_so (see damping_torque_from_spin_force); the z-part does not follow
    from F_so. Shapes: k (..., 2), efield (2,) or (..., 2) -> (..., 3).
    """
    return -_driven(2, model, k, band, efield, "damping_torque")


def damping_torque_second_order(
    model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 3"]:
    """T2 in the second-order approximation behind paper eq. 12 [1/fs], shape (..., 3).

    T2 = -(s alpha/Omega) [k' x z - (J^2/Omega^2) M (w . k')], exact Omega; its in-plane part is
    (hbar/(m alpha)) z x spin_force_second_order.
    """
    return -_driven(3, model, k, band, efield, "damping_torque_second_order")


def damping_torque_strong_exchange(
    model: RashbaFerromagnet, efield: Float[Array, "... 2"], band: int = -1
) -> Float[Array, "... 3"]:
    """Strong-exchange damping-like torque, paper eq. 14 (2018; eq. 15 in 2019) [1/fs].

    T2 = -s (e alpha/(hbar J)) M x (M x (E x z)); k-independent. efield (..., 2) -> (..., 3).
    """
    s = check_band(band)
    check_shape("efield", efield, (2,))
    efield = jnp.asarray(efield)
    model = model.astype(float_dtype(efield))
    m = model.magnetization
    e_cross_z = jnp.stack([efield[..., 1], -efield[..., 0], jnp.zeros_like(efield[..., 0])], axis=-1)
    inner = jnp.cross(m, e_cross_z)
    return -s * model.alpha / (HBAR * model.j_ex) * jnp.cross(m, inner)


def damping_torque_from_spin_force(
    model: RashbaFerromagnet, force: Float[Array, "... 2"]
) -> Float[Array, "... 2"]:
    """In-plane torque-force identity T2_par = (hbar/(m alpha)) z x F_so [1/fs] (paper eq. 11).

    R_c = hbar/(m alpha) is the papers' effective radius. force (..., 2) [eV/nm] -> (..., 2).
    Requires alpha != 0.
    """
    check_shape("force", force, (2,))
    if is_concrete(model.alpha) and float(model.alpha) == 0.0:
        raise ValueError("alpha = 0.0 is not allowed here; allowed: alpha != 0 (R_c = hbar/(m alpha))")
    force = jnp.asarray(force)
    radius = HBAR / (model.mass * model.alpha)
    return radius.astype(force.dtype) * jnp.stack([-force[..., 1], force[..., 0]], axis=-1)


def field_like_torque(model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int) -> Float[Array, "... 3"]:
    """Field-like torque of one band state, T1 = (2/hbar) B_so x <sigma>_s [1/fs] (paper eq. 5).

    B_so = alpha (k x z). For a band state this equals (2J/hbar) M x <sigma>_s exactly.
    Shape (..., 2) -> (..., 3).
    """
    s = check_band(band)
    model, (k,) = _prepare(model, k)
    return _warn_if_degenerate(model, k, _field_like_impl(model, k, float(s)), "field_like_torque")

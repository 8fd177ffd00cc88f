"""Public per-state functions: broadcast over leading dimensions of k (..., 2), follow the dtype of k/efield.

Conventions: k [1/nm], efield [V/nm], band s = +1 (upper) / -1 (lower), hbar k' = qE with q = -e,
so the accelerating force f = hbar k' = -E [eV/nm]. Theory: docs: Theory > Hamilton's equations and the spin force.

How they run (measured on XLA-CPU, jax 0.10; benchmarks/README.md, "Public per-state functions"):
every function evaluates one scalar kernel (_kernels.py) over flat (n,) columns of the broadcast
inputs, which XLA compiles to a single loop over the states (no intermediate arrays at any n;
split over the host's threads). Blocks of 1e3-1.6e4 states (lax.map/scan) were measured too and
were 1.2-3.4x slower: XLA-CPU vectorizes the in-place block writes of a loop body poorly. What is
slow on XLA-CPU is a reduction of the caller's (a sum, a mean) fused with the kernel's loop:
inside a traced program on the CPU the kernel therefore sits in a `lax.cond` whose two branches
are the same computation, a fusion boundary (1.9-3.3x for four functions summed in one jit).
Concrete calls return Omega per state from the same program for the band-touching warning.
"""

import contextlib
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._core._checks import (
    check_band,
    check_real,
    check_shape,
    check_states,
    check_wave_vectors,
    float_dtype,
    is_concrete,
    traced_check,
    wave_vector_limit,
)
from .._core._model_check import check_model
from .._core._model import RashbaFerromagnet, TwoBandModel, require_paper_forms
from ..constants import CARRIER_CHARGE, HBAR
from ._kernels import (
    anomalous_acceleration_components,
    damping_torque_strong_exchange_components,
    energy,
    has_parabolic_kinetic_energy,
    kinetic_hessian,
    field_like_torque_components,
    spin,
    spin_force_components,
    spin_force_second_order_components,
    spin_force_strong_exchange_components,
    spin_rate_components,
    spin_rate_second_order_components,
    splitting,
    velocity,
)
from ._touching import DEGENERACY_THRESHOLD as DEGENERACY_THRESHOLD  # re-exported: other layers import it here
from ._touching import warn_near_band_touching


# ---------------------------------------------------------------------------------------------
# Evaluation of a scalar kernel over broadcast inputs (inside jit).

# How a kernel is evaluated (static argument of the jitted implementations):
CHECKED = "checked"  # concrete inputs: result and the per-state Omega for the band-touching warning
FENCED = "fenced"  # traced on the CPU: result behind a fusion boundary
PLAIN = "plain"  # traced elsewhere (GPU/TPU fuse the caller's reductions well)


def evaluation_mode(*values) -> str:
    """CHECKED for concrete inputs, else FENCED on the CPU backend and PLAIN on others."""
    if is_concrete(*values):
        return CHECKED
    return FENCED if jax.default_backend() == "cpu" else PLAIN


def _columns(lead, *arrays):
    """Flat (n,) columns of arrays (..., 2) broadcast to lead + (2,): [x0, y0, x1, y1, ...].

    A shared field is broadcast too (inside jit that costs nothing: XLA fuses the broadcast), so a
    (2,) field and the same field repeated for every state give bit-identical results.
    """
    columns = []
    for array in arrays:
        flat = jnp.broadcast_to(array, lead + (2,)).reshape(-1, 2)
        columns += [flat[:, 0], flat[:, 1]]
    return columns


def evaluate(kernel, model, k, extra, mode, omega_of=None, guard=None):
    """Apply kernel(model, kx, ky[, ex, ey]) -> scalars over the broadcast leading dims of k and extra.

    k (..., 2) and extra (..., 2) or None; inside jit. Returns (result, flag): result has shape
    lead + (components,), or lead for a one-component kernel; flag (mode CHECKED with omega_of
    given, else None) is Omega(k) [eV] per state, NaN where Omega is infinite or extra is not
    finite, for warn_near_band_touching (which reports Omega = 0 and NaN too: every way a result
    can be non-finite short of overflow at |k| ~ 1e150 1/nm).
    guard: None, or the scalar 1 carrying the run-time check of a traced k (`checked_wave_vectors`),
    multiplied into k per state inside the kernel's loop (exact: x * 1 = x, signed zeros included).
    """
    lead = k.shape[:-1] if extra is None else jnp.broadcast_shapes(k.shape[:-1], extra.shape[:-1])

    def per_state(*values):
        out = kernel(model, *values)
        out = out if isinstance(out, tuple) else (out,)
        if mode == CHECKED and omega_of is not None:
            # Omega, NaN where it is infinite or an input (k, the field) is not finite: 0 * inf = NaN,
            # so the warning needs one minimum. Folding the results in instead (omega + 0 * their
            # sum) made XLA evaluate the whole kernel twice.
            omega = omega_of(model, values[0], values[1])
            return out, omega + 0.0 * sum(values[2:], omega)
        return out, None

    def compute(arrays, guard):
        # Broadcasting and splitting into columns happen here, inside the fusion boundary, so XLA
        # fuses them into the kernel's loop instead of writing the columns out.
        if guard is not None:
            arrays = (arrays[0] * guard.astype(arrays[0].dtype),) + tuple(arrays[1:])
        out, flag = jax.vmap(per_state)(*_columns(lead, *arrays))
        stacked = out[0] if len(out) == 1 else jnp.stack(out, axis=-1)
        return stacked, flag

    arrays = (k,) if extra is None else (k, extra)
    if mode == FENCED and k.size > 0:
        # A runtime predicate (true unless the first k is NaN; both branches compute the same
        # thing) that XLA cannot fold: the caller's reductions stay out of the kernel's fusion.
        # Under vmap it becomes a select of two identical computations, which XLA merges.
        predicate = jnp.logical_not(jnp.isnan(k.reshape(-1)[0]))
        result, flag = jax.lax.cond(predicate, compute, compute, arrays, guard)
    else:
        result, flag = compute(arrays, guard)
    shape = lead if result.ndim == 1 else lead + (result.shape[-1],)
    return result.reshape(shape), (None if flag is None else flag.reshape(lead))


def _cast(model, *arrays):
    dtype = float_dtype(*arrays)
    return model.astype(dtype), [a.astype(dtype) for a in arrays]


@functools.partial(jax.jit, static_argnums=(0, 1))
def _band_impl(kernel_index, mode, model, k, s, guard):
    kernel, warns = _BAND_KERNELS[kernel_index]
    model, (k,) = _cast(model, k)
    return evaluate(lambda m, kx, ky: kernel(m, kx, ky, s), model, k, None, mode, splitting if warns else None, guard)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _driven_impl(kernel_index, mode, model, k, s, efield, guard):
    kernel = _DRIVEN_KERNELS[kernel_index]
    model, (k, efield) = _cast(model, k, efield)
    force = CARRIER_CHARGE * efield  # hbar k' = qE
    return evaluate(lambda m, kx, ky, fx, fy: kernel(m, kx, ky, s, fx, fy), model, k, force, mode, splitting, guard)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _field_impl(kernel_index, mode, model, efield, s):
    kernel = _FIELD_KERNELS[kernel_index]
    model, (efield,) = _cast(model, efield)
    return evaluate(lambda m, ex, ey: kernel(m, ex, ey, s), model, efield, None, mode)[0]


def _splitting_kernel(model, kx, ky, s):
    return splitting(model, kx, ky)


def _damping_torque_kernel(model, kx, ky, s, fx, fy):
    # T2 = -ds/dt, negated per state: a negation of the returned array would be one more pass.
    return tuple(-x for x in spin_rate_components(model, kx, ky, s, fx, fy))


def _damping_torque_second_order_kernel(model, kx, ky, s, fx, fy):
    return tuple(-x for x in spin_rate_second_order_components(model, kx, ky, s, fx, fy))


# The kernels of the jitted implementations, by index (a static argument): (kernel, warns near k*).
_BAND_KERNELS = (
    (energy, False),
    (_splitting_kernel, False),
    (spin, True),
    (velocity, True),
    (field_like_torque_components, True),
)
_DRIVEN_KERNELS = (
    spin_force_components,
    spin_force_second_order_components,
    _damping_torque_kernel,
    _damping_torque_second_order_kernel,
    anomalous_acceleration_components,
)
_FIELD_KERNELS = (spin_force_strong_exchange_components, damping_torque_strong_exchange_components)


def checked_wave_vectors(name, value):
    """`check_wave_vectors` without copying a traced k: returns (k as an array, guard).

    Concrete k: checked now, guard None. Traced k: shape and dtype checked now; the values (finite,
    |component| <= `wave_vector_limit`) at run time by an equinox error on a scalar guard = 1 that
    the kernel multiplies into k (`evaluate`). The same check on k itself returns k out of a
    conditional, which XLA materializes as a copy of every state (measured ~1.3x slower public
    functions under jit at N = 1e5-1e6, benchmarks/README.md).
    """
    if is_concrete(value):
        return jnp.asarray(check_wave_vectors(name, value)), None
    check_real(name, value)
    check_shape(name, value, (2,))
    value = jnp.asarray(value)
    dtype = float_dtype(jnp.result_type(value))
    limit = wave_vector_limit(dtype)
    # One reduction for both checks (NaN <= limit is false), the message of check_wave_vectors.
    message = f"{name} is not finite or has a component with |k| > {limit:.3g} 1/nm; allowed: finite |kx|, |ky| <= {limit:.3g} 1/nm"
    guard = traced_check(jnp.ones((), dtype), jnp.logical_not(jnp.all(jnp.abs(value) <= limit)), message)
    return value, guard


def _band(index, model, k, band, what=None):
    s = check_band(band)
    check_model(model)
    k, guard = checked_wave_vectors("k", k)
    mode = evaluation_mode(model, k)
    result, flag = _band_impl(index, mode, model, k, float(s), guard)
    if flag is not None:
        warn_near_band_touching(model, k, flag, what, stacklevel=4)
    return result


def _driven(index, model, k, band, efield, what):
    s = check_band(band)
    check_model(model)
    k, guard = checked_wave_vectors("k", k)
    efield = jnp.asarray(check_states("efield", efield))
    _check_broadcast(k, efield)
    mode = evaluation_mode(model, k, efield)
    with _closed_form_errors(model, what):
        result, flag = _driven_impl(index, mode, model, k, float(s), efield, guard)
    if flag is not None:
        warn_near_band_touching(model, k, flag, what, stacklevel=4)
    return result


SINGULAR_MASS_TOLERANCE = 1e-6
"""`spin_force` refuses a state whose Hess eps0 has |det| <= this times its squared Frobenius norm
(a mass tensor M0 = hbar^2 [Hess eps0]^-1 with condition number beyond ~1e6), or is zero
(massless eps0): the local mass of eps0, hence F_so = M0 r'' - hbar k', is undefined there."""


@jax.jit
def _mass_conditioning(model, k):
    """|det Hess eps0| / |Hess eps0|_F^2 per state of k (..., 2): NaN for a zero Hessian."""
    model = model.astype(float_dtype(k))
    flat = k.reshape(-1, 2).astype(model.dtype)
    hxx, hxy, hyy = jax.vmap(lambda qx, qy: kinetic_hessian(model, qx, qy))(flat[:, 0], flat[:, 1])
    ratio = jnp.abs(hxx * hyy - hxy * hxy) / (hxx * hxx + 2.0 * hxy * hxy + hyy * hyy)
    return ratio.reshape(k.shape[:-1]), jnp.stack([hxx, hxy, hyy], -1).reshape(k.shape[:-1] + (3,))


def _massless_message(model, detail):
    return (
        f"spin_force: model = {type(model).__name__} has no local mass of eps0 {detail}; the spin force "
        "F_so = M0 r'' - hbar k' with M0 = hbar^2 [Hess eps0]^-1 is undefined there; allowed: states where "
        f"Hess eps0 is invertible (|det| > {SINGULAR_MASS_TOLERANCE:g} |Hess|^2); use jaxsot.anomalous_acceleration "
        "(r'' - Hess(eps0) k'/hbar, defined for every model) or the torques (jaxsot.damping_torque) instead"
    )


def check_local_mass(model, k, result):
    """Refuse states of k without an invertible Hess eps0 (spin force of a non-parabolic model).

    Concrete: ValueError naming the worst state. Traced: an equinox runtime error on `result`."""
    if isinstance(model, RashbaFerromagnet):  # its mass is always finite and positive
        return result
    if has_parabolic_kinetic_energy(model):
        mass = model.mass  # a model without a mass (massless eps0) raises here, on concrete fields
        if is_concrete(mass):
            return result
        return eqx.error_if(result, ~jnp.isfinite(mass) | (mass == 0), _massless_message(model, "(traced mass not finite)"))
    ratio, hessian = _mass_conditioning(model, jnp.asarray(k))
    if is_concrete(ratio):
        ratio = onp.asarray(ratio).reshape(-1)
        bad = ~(ratio > SINGULAR_MASS_TOLERANCE)
        if onp.any(bad):
            worst = int(onp.argmin(onp.where(onp.isnan(ratio), -1.0, ratio)))
            states = onp.broadcast_to(onp.asarray(k), onp.shape(k)).reshape(-1, 2)
            h = onp.asarray(hessian).reshape(-1, 3)[worst]
            raise ValueError(
                _massless_message(
                    model,
                    f"at {int(onp.sum(bad))} state(s), e.g. k = {states[worst].tolist()} 1/nm with Hess eps0 = "
                    f"[[{h[0]:.3g}, {h[1]:.3g}], [{h[1]:.3g}, {h[2]:.3g}]] eV nm^2",
                )
            )
        return result
    return eqx.error_if(result, jnp.any(~(ratio > SINGULAR_MASS_TOLERANCE)), _massless_message(model, "at some state (traced)"))


@jax.jit
def _sea_mass_defects(model, k, weight, sign):
    """(the sea of one band crosses det Hess eps0 = 0, some sea node has a singular Hess eps0, worst node).

    A sign change of det Hess eps0 between occupied nodes of one band is what makes the sea integral
    of F_so diverge (F_so ~ 1/det across an inflection line), whether or not a node lands near the line."""
    ratio, hessian = _mass_conditioning(model, k)
    determinant = hessian[:, 0] * hessian[:, 2] - hessian[:, 1] ** 2
    inside = weight > 0
    crosses = jnp.zeros((), bool)
    for s in (-1.0, 1.0):
        band = inside & (sign == s)
        crosses = crosses | (jnp.any(band & (determinant > 0)) & jnp.any(band & (determinant < 0)))
    singular = jnp.any(inside & ~(ratio > SINGULAR_MASS_TOLERANCE))
    worst = jnp.argmin(jnp.where(inside, jnp.abs(jnp.nan_to_num(ratio, nan=-1.0)), jnp.inf))
    return crosses, singular, k[worst]


def sea_mass_message(model, what):
    return (
        f"{what}: the Fermi sea of {type(model).__name__} reaches states where eps0 has no local mass (Hess eps0 "
        "singular or changing sign: an inflection line of eps0, where F_so = M0 r'' - hbar k' diverges like 1/det), "
        "so the sea sum of the spin force is undefined; allowed: a Fermi energy whose occupied seas keep "
        f"|det Hess eps0| > {SINGULAR_MASS_TOLERANCE:g} |Hess eps0|^2 with one sign; use the anomalous acceleration "
        "(jaxsot.fermi_sea_integral with jaxsot.kernels.anomalous_acceleration_components) or the torques instead"
    )


def sea_mass_defect(model, sea):
    """(flag, node): whether the occupied seas reach a singular or sign-changing Hess eps0, and the worst node.

    sea: (k (N, 2), weight (N,), sign (N,)) quadrature nodes of the occupied seas. (False, None) for
    parabolic eps0 (M0 = m I). The flag is a bool array (traced under jit)."""
    if has_parabolic_kinetic_energy(model):
        return jnp.zeros((), bool), None
    k, weight, sign = sea
    crosses, singular, node = _sea_mass_defects(model, k, weight, sign)
    return crosses | singular, node


def check_sea_local_mass(model, sea, result, what):
    """Refuse a Fermi-sea sum of F_so when M0 = hbar^2 [Hess eps0]^-1 is singular in an occupied sea.

    sea: (k (N, 2), weight (N,), sign (N,)) quadrature nodes of the occupied seas. Parabolic eps0
    (M0 = m I) passes untouched. Concrete: ValueError naming the node; traced: an equinox runtime error."""
    if has_parabolic_kinetic_energy(model):
        return result
    flag, node = sea_mass_defect(model, sea)
    if is_concrete(flag):
        if bool(flag):
            raise ValueError(f"{sea_mass_message(model, what)} (e.g. near k = {onp.asarray(node).tolist()} 1/nm)")
        return result
    return eqx.error_if(result, flag, sea_mass_message(model, what) + " (traced)")


def _field(index, model, efield, band, what):
    s = check_band(band)
    check_model(model)
    efield = jnp.asarray(check_states("efield", efield))
    if not hasattr(model, "j_ex"):
        with _closed_form_errors(model, what):
            model.j_ex  # noqa: B018 (raises the AttributeError named in the message)
    j_ex = model.j_ex
    message = f"j_ex = 0 (or < 0) with {what}: the strong-exchange forms expand in alpha k/J; allowed: j_ex > 0 [eV]"
    if is_concrete(j_ex):
        with jax.ensure_compile_time_eval():
            if not bool(jnp.all(jnp.asarray(j_ex) > 0)):
                raise ValueError(message.replace("j_ex = 0 (or < 0)", f"j_ex = {onp.asarray(j_ex).tolist()!r}"))
    else:
        efield = traced_check(efield, jnp.any(jnp.asarray(j_ex) <= 0), message)
    with _closed_form_errors(model, what):
        return _field_impl(index, evaluation_mode(model, efield), model, efield, float(s))


def _check_broadcast(k, efield):
    """ValueError naming both shapes unless k (..., 2) and efield (..., 2) broadcast."""
    try:
        jnp.broadcast_shapes(k.shape[:-1], efield.shape[:-1])
    except ValueError:
        raise ValueError(
            f"k has shape {k.shape} and efield has shape {efield.shape}; allowed: shapes (..., 2) whose leading "
            "dimensions broadcast (e.g. efield (2,) for every state)"
        ) from None


@contextlib.contextmanager
def _closed_form_errors(model, what):
    """A model without the members of a closed form (e.g. a user's model without `magnetization`) gives
    a ValueError naming the function instead of an AttributeError from inside the kernel."""
    try:
        yield
    except AttributeError as error:
        missing = getattr(error, "name", None) or str(error)
        raise ValueError(
            f"{what} needs model.{missing}, which model = {type(model).__name__} does not have ({error}); allowed: "
            "a jaxsot.RashbaFerromagnet, or the exact functions (spin_force, damping_torque) for any TwoBandModel"
        ) from None


def band_energy(model: TwoBandModel, k: Float[Array, "... 2"], band: int) -> Float[Array, "..."]:
    """Exact band energy eps_s(k) = eps0(k) + s Omega(k) [eV] (paper eq. 1: eps0 = hbar^2 k^2/2m).

    Args:
        model: any two-band model (e.g. `jaxsot.RashbaFerromagnet`).
        k: wave vectors, shape (..., 2) [1/nm], finite, |kx|, |ky| <= `wave_vector_limit` (1.2e77 in
            float64, 4.3e9 in float32: beyond it k^2 overflows; refused, as in every per-state function).
        band: +1 (upper) or -1 (lower).
    Returns: shape (...) [eV], dtype of k.
    """
    return _band(0, model, k, band)


def spin_splitting(model: TwoBandModel, k: Float[Array, "... 2"]) -> Float[Array, "..."]:
    """Omega(k) = |b(k)| [eV] (|alpha (k x z) - J M| for the Rashba ferromagnet), half the band gap at k.

    Args:
        model: any two-band model (`TwoBandModel`).
        k: wave vectors, shape (..., 2) [1/nm].

    Returns: shape (...) [eV], dtype of k.
    """
    return _band(1, model, k, 1)


def band_spin(model: TwoBandModel, k: Float[Array, "... 2"], band: int) -> Float[Array, "... 3"]:
    """Band spin <sigma>_s = s b/|b| (dimensionless unit vector), shape (..., 3).

    The lower band's spin is close to +M when J >> alpha k.

    Args:
        model: the Rashba ferromagnet.
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).

    Returns: shape (..., 3), dimensionless.
    """
    return _band(2, model, k, band, "band_spin")


def band_velocity(model: TwoBandModel, k: Float[Array, "... 2"], band: int) -> Float[Array, "... 2"]:
    """Band velocity v_s = grad_k eps_s / hbar [nm/fs] by autodiff (paper eq. 8).

    Args:
        model: any two-band model (`TwoBandModel`).
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).

    Returns: shape (..., 2) [nm/fs].
    """
    return _band(3, model, k, band, "band_velocity")


def accelerating_force(efield: Float[Array, "... 2"]) -> Float[Array, "... 2"]:
    """Accelerating force hbar k' = qE [eV/nm] on an electron, q = -e (paper eq. 9).

    Args:
        efield: in-plane electric field, shape (..., 2) [V/nm].

    Returns: shape (..., 2) [eV/nm].
    """
    return CARRIER_CHARGE * jnp.asarray(efield)


def spin_force(
    model: TwoBandModel, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 2"]:
    """Exact spin force F_so = M0(k) r'' - hbar k' [eV/nm] of a band state accelerated by qE.

    M0 = hbar^2 [Hess eps0]^-1 is the local mass tensor of eps0, so F_so = M0 . a_so with
    the anomalous acceleration a_so = Hess_k(s Omega) . (hbar k')/hbar^2 (`anomalous_acceleration`).
    For parabolic eps0 = hbar^2 k^2/2m (the Rashba ferromagnet) M0 = m I and this is the papers'
    F_so = m r'' - hbar k' = (m/hbar^2) Hess_k(s Omega) . (hbar k'), an autodiff Hessian-vector
    product (paper eq. 9-12; docs: Theory > Hamilton's equations and the spin force, and The spin
    force for any band shape).

    Args:
        model: any two-band model (`TwoBandModel`).
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
        efield: in-plane electric field, shape (2,) or (..., 2) [V/nm], broadcast against k.

    Returns:
        (..., 2) [eV/nm].

    Raises:
        ValueError: at a state where Hess eps0 is singular (massless eps0 = 0, or the lines
            |kx a| = pi/2 of a square lattice; `SINGULAR_MASS_TOLERANCE`), naming
            `jaxsot.anomalous_acceleration` as the observable to use; under jit an equinox runtime
            error instead. A parabolic model whose `mass` is undefined raises from `mass`.
    """
    result = _driven(0, model, k, band, efield, "spin_force")
    return check_local_mass(model, jnp.broadcast_to(jnp.asarray(k), result.shape), result)


def anomalous_acceleration(
    model: TwoBandModel, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 2"]:
    """Anomalous acceleration a_so = r'' - Hess(eps0) . k'/hbar [nm/fs^2] of a band state accelerated by qE.

    a_so = Hess_k(s Omega) . (hbar k')/hbar^2, hbar k' = qE: the part of the acceleration r'' of
    Hamilton's equations (r' = grad eps_s/hbar) that eps0 does not produce. Defined for every
    model, massless (Dirac) ones included; for parabolic eps0 the spin force is m a_so.

    Args:
        model: any two-band model (`TwoBandModel`).
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
        efield: in-plane electric field, shape (2,) or (..., 2) [V/nm], broadcast against k.

    Returns:
        (..., 2) [nm/fs^2].
    """
    return _driven(4, model, k, band, efield, "anomalous_acceleration")


def spin_force_second_order(
    model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 2"]:
    """Second-order spin force, paper eq. 12 (2018 text; eq. 13 in 2019) [eV/nm], shape (..., 2).

    F = s (m alpha^2/(hbar^2 Omega)) [hbar k' - (J^2/Omega^2) w (w . hbar k')], w = z x M,
    with the exact Omega(k) and alpha k dropped inside u = z x b.

    Args:
        model: the Rashba ferromagnet.
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
        efield: in-plane electric field, shape (2,) or (..., 2) broadcast against k [V/nm].

    Returns: shape (..., 2) [eV/nm].
    """
    return _driven(1, model, k, band, efield, "spin_force_second_order")


def spin_force_strong_exchange(
    model: RashbaFerromagnet, efield: Float[Array, "... 2"], band: int = -1
) -> Float[Array, "... 2"]:
    """Strong-exchange spin force, paper eq. 13 (2018; eq. 14 in 2019), general M [eV/nm].

    F = -s e eta (I - w w^T) E = -s e eta [M_z^2 E + (M.E) M_par], eta = m alpha^2/(hbar^2 J).
    For the lower band this is eta e z x {M x [M x (z x E)]}; it reduces to eta e (E.M) M only
    for in-plane M. Independent of k.

    Args:
        model: the Rashba ferromagnet.
        efield: in-plane electric field, shape (..., 2) [V/nm].
        band: +1 (upper) or -1 (lower, the default).

    Returns: shape (..., 2) [eV/nm].

    Raises:
        ValueError: j_ex <= 0 (eta = inf: no strong-exchange limit; traced j_ex: at run time), or a
            model without the closed form's members (alpha, j_ex, magnetization).
    """
    return _field(0, model, efield, band, "spin_force_strong_exchange")


def damping_torque(
    model: TwoBandModel, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 3"]:
    """Damping-like torque of one band state, T2 = -ds/dt [1/fs], 3D (paper eq. 7, 11).

    ds/dt = (k' . grad_k) s b/|b| by autodiff with hbar k' = qE. The in-plane part equals
    (hbar/(m alpha)) z x F_so (see damping_torque_from_spin_force); the z-part does not follow
    from F_so.

    Args:
        model: the Rashba ferromagnet.
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
        efield: in-plane electric field, shape (2,) or (..., 2) broadcast against k [V/nm].

    Returns: shape (..., 3) [1/fs].
    """
    return _driven(2, model, k, band, efield, "damping_torque")


def damping_torque_second_order(
    model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 3"]:
    """T2 in the second-order approximation behind paper eq. 12 [1/fs], shape (..., 3).

    T2 = -(s alpha/Omega) [k' x z - (J^2/Omega^2) M (w . k')], exact Omega; its in-plane part is
    (hbar/(m alpha)) z x spin_force_second_order.

    Args:
        model: the Rashba ferromagnet.
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
        efield: in-plane electric field, shape (2,) or (..., 2) broadcast against k [V/nm].

    Returns: shape (..., 3) [1/fs].
    """
    return _driven(3, model, k, band, efield, "damping_torque_second_order")


def damping_torque_strong_exchange(
    model: RashbaFerromagnet, efield: Float[Array, "... 2"], band: int = -1
) -> Float[Array, "... 3"]:
    """Strong-exchange damping-like torque, paper eq. 14 (2018; eq. 15 in 2019) [1/fs].

    T2 = -s (e alpha/(hbar J)) M x (M x (E x z)); k-independent.

    Args:
        model: the Rashba ferromagnet.
        efield: in-plane electric field, shape (..., 2) [V/nm].
        band: +1 (upper) or -1 (lower, the default).

    Returns: shape (..., 3) [1/fs].

    Raises:
        ValueError: j_ex <= 0, or a model without the closed form's members.
    """
    return _field(1, model, efield, band, "damping_torque_strong_exchange")


def damping_torque_from_spin_force(
    model: RashbaFerromagnet, force: Float[Array, "... 2"]
) -> Float[Array, "... 2"]:
    """In-plane torque-force identity T2_par = (hbar/(m alpha)) z x F_so [1/fs] (paper eq. 11).

    R_c = hbar/(m alpha) is the papers' effective radius. The Rashba ferromagnet's closed form.

    Args:
        model: the Rashba ferromagnet.
        force: spin force F_so, shape (..., 2) [eV/nm].

    Returns: in-plane torque, shape (..., 2) [1/fs].

    Raises:
        ValueError: alpha = 0 (no effective radius), or a model other than the Rashba ferromagnet.
    """
    require_paper_forms(model, "damping_torque_from_spin_force")
    force = check_states("force", force)
    check_model(model)
    if is_concrete(model.alpha) and float(model.alpha) == 0.0:
        raise ValueError("alpha = 0.0 is not allowed here; allowed: alpha != 0 (R_c = hbar/(m alpha))")
    force = jnp.asarray(force)
    radius = HBAR / (model.mass * model.alpha)
    return radius.astype(force.dtype) * jnp.stack([-force[..., 1], force[..., 0]], axis=-1)


def field_like_torque(model: TwoBandModel, k: Float[Array, "... 2"], band: int) -> Float[Array, "... 3"]:
    """Field-like torque of one band state, T1 = (2/hbar) B_so x <sigma>_s [1/fs] (paper eq. 5).

    B_so = alpha (k x z). For a band state this equals (2J/hbar) M x <sigma>_s exactly.

    Args:
        model: the Rashba ferromagnet.
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).

    Returns: shape (..., 3) [1/fs].
    """
    return _band(4, model, k, band, "field_like_torque")

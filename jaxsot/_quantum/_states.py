"""Quantum check for single states: exact spin trajectories beside the band-following (semiclassical) ones.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float
from .._bands._kernels import splitting
from .._bands._touching import warn_near_band_touching
from .._core._checks import check_band, check_count, check_finite, check_shape, check_tau, check_times, float_dtype, is_concrete
from .._core._drives import StepDrive
from .._core._model import RashbaFerromagnet
from ..constants import CARRIER_CHARGE, HBAR
from ._integrator import SmoothRampDrive, build_schedule, field_rate, first_order_components, state_trajectories



# ---------------------------------------------------------------------------------------------
# Input handling shared by the public functions.


def resolve_drive(efield, ramp_time):
    """A constant field array -> StepDrive (or SmoothRampDrive with ramp_time); a drive passes through."""
    if callable(efield):
        if ramp_time is not None:
            raise ValueError(
                f"ramp_time = {ramp_time!r} fs is only allowed with a constant field array; "
                "allowed: ramp_time=None when efield is a drive object (it sets its own time dependence)"
            )
        return efield
    check_finite("efield", efield)
    field = jnp.asarray(efield)
    if field.shape != (2,):
        raise ValueError(f"efield has shape {field.shape}; allowed: (2,) in-plane field [V/nm] or a drive callable")
    if ramp_time is None:
        return StepDrive(field)
    return SmoothRampDrive(field, ramp_time)


def _prepare_states(model, k0, times, initial_spin=None):
    check_shape("k0", k0, (2,))
    check_finite("k0", k0)
    k0 = jnp.asarray(k0)
    arrays = [k0, times]
    if initial_spin is not None:
        check_shape("initial_spin", initial_spin, (3,))
        check_finite("initial_spin", initial_spin)
        arrays.append(jnp.asarray(initial_spin))
    dtype = float_dtype(*arrays)
    lead = k0.shape[:-1]
    init = None
    if initial_spin is not None:
        spin0 = jnp.asarray(initial_spin, dtype)
        norm = jnp.linalg.norm(spin0, axis=-1, keepdims=True)
        if is_concrete(norm) and not bool(jnp.all(norm > 0)):
            raise ValueError("initial_spin contains a zero vector; allowed: non-zero 3-vectors (they are normalized)")
        lead = jnp.broadcast_shapes(lead, spin0.shape[:-1])
        init = jnp.broadcast_to(spin0 / norm, lead + (3,)).reshape(-1, 3)
    flat = jnp.broadcast_to(k0.astype(dtype), lead + (2,)).reshape(-1, 2)
    return model.astype(dtype), flat, times.astype(dtype), init, lead, dtype




def _warn_degenerate(model, omega0, k0, what):
    """Never silent: at the band touching (Omega(k0) = 0) the band spin s b/|b| is undefined (nan);
    near it, it is ill-conditioned and the semiclassical rates diverge (the exact evolution is regular)."""
    warn_near_band_touching(
        model,
        k0,
        omega0,
        what,
        consequence="the band spin s b/|b| is undefined there (nan) or ill-conditioned, and semiclassical rates "
        "diverge (the exact evolution is regular); move k0 off k*",
        stacklevel=4,
    )


# ---------------------------------------------------------------------------------------------
# Public single-state functions.


def exact_spin_trajectory(
    model: RashbaFerromagnet,
    k0: Float[Array, "... 2"],
    band: int,
    efield,
    times: Float[Array, "T"],
    *,
    ramp_time=None,
    tau=None,
    substeps: int = 1,
    initial_spin=None,
) -> Float[Array, "... T 3"]:
    """Exact <sigma>(t) of one electron (or a batch) driven through k-space: i hbar psi' = H(k(t)) psi.

    The state starts at times[0] in band `band` at k0 (<sigma> = s b/|b|, or `initial_spin`) with
    Delta k(times[0]) = 0; the field acts from t = 0 (hbar k' = qE(t) - hbar Delta k/tau, q = -e), so
    k(t) = k0 + Delta k(t). The Bloch equation d<sigma>/dt = (2/hbar) b(k(t)) x <sigma> is integrated
    with the fourth-order Magnus method (two Gauss nodes, one exact rotation per step, Rodrigues):
    |<sigma>| = 1 to rounding; exact for constant b at any step; global error O(h^4), proportional to
    the field. Measured (tests/test_quantum.py): the error relative to the field-induced change is
    about 1.5e-3 theta^4 (bound INTEGRATION_ERROR_CONSTANT = 3e-3), theta = 2 Omega h/hbar the
    precession angle per step. The shift Delta k is the exact solution of its linear ODE with the
    drive integrated by 4-point Gauss quadrature between Magnus nodes (exact to rounding for
    polynomial-like drives; a drive that is not smooth inside an output interval, e.g. the end of a
    sin^2 ramp, should have its kink on an output time).

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        k0: initial wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
        efield: (2,) [V/nm], switched on at t = 0 (step; smooth ramp with ramp_time), or a drive
            callable t -> (2,) [V/nm] (StepDrive, RampDrive, SinusoidDrive, SmoothRampDrive).
        times: (T,) strictly increasing [fs]; the output times.
        ramp_time: [fs] > 0: E(t) = efield * smooth_step(t/ramp_time) (C-infinity, see SmoothRampDrive).
        tau: constant relaxation time of the shift [fs] > 0, or None for none.
        substeps: Magnus steps per output interval (h = interval/substeps). Keep theta <~ 0.5 for
            ~1e-4 relative accuracy of the field-induced change; halve h to check (error / 16).
        initial_spin: optional (..., 3) initial <sigma> (normalized); default the band spin.

    Returns: <sigma>(t), shape (..., T, 3), dtype of k0/times.
    """
    s = check_band(band)
    substeps = check_count("substeps", substeps, minimum=1)
    check_tau(tau)
    times = check_times(times)
    drive = resolve_drive(efield, ramp_time)
    model, flat, times, init, lead, _ = _prepare_states(model, k0, times, initial_spin)
    schedule = build_schedule(drive, times, tau, substeps)
    delta, sigma0, omega0 = state_trajectories(model, flat, float(s), init, schedule, full=False)
    _warn_degenerate(model, omega0, flat, "exact_spin_trajectory")
    spin = sigma0[:, None, :] + delta
    return spin.reshape(lead + (times.shape[0], 3))


def adiabaticity(model: RashbaFerromagnet, k: Float[Array, "... 2"], efield: Float[Array, "... 2"]) -> Float[Array, "..."]:
    """epsilon = hbar |db/dt| / Omega^2 for hbar k' = qE (dimensionless; |alpha| e |E| / Omega(k)^2 for Rashba).

    The expansion parameter of adiabatic following: the non-adiabatic spin is ~ epsilon/2 and the
    semiclassical ds/dt is off by O(epsilon) relative.

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        k: wave vectors, shape (..., 2) [1/nm].
        efield: in-plane electric field, shape (..., 2) broadcast against k [V/nm].

    Returns: epsilon, shape (...) (dimensionless).
    """
    check_shape("k", k, (2,))
    check_shape("efield", efield, (2,))
    k, efield = jnp.asarray(k), jnp.asarray(efield)
    dtype = float_dtype(k, efield)
    model = model.astype(dtype)
    kx, ky = k[..., 0].astype(dtype), k[..., 1].astype(dtype)
    force = CARRIER_CHARGE * efield.astype(dtype)
    omega = splitting(model, kx, ky)
    # hbar db/dt = (qE . grad_k) b: alpha (qE x z) for the Rashba ferromagnet.
    rate = field_rate(model, kx, ky, force[..., 0], force[..., 1])
    return jnp.sqrt(sum(c * c for c in rate)) / omega**2


def nonadiabatic_spin_first_order(
    model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 3"]:
    """First-order (intrinsic) non-adiabatic spin delta sigma_1 for hbar k' = qE (docs: Theory > Quantum check).

    delta sigma_1 = -(s hbar/(2 Omega^3)) b x db/dt, db/dt = alpha (k' x z); with q = -e this is
    -(e alpha/(2 Omega^3)) b x (E x z) for the lower band (s = -1) and the opposite for the upper.
    It is the solution of s db^/dt = (2/hbar) b x delta sigma_1 (the Bloch equation at first order in
    epsilon), so (2/hbar) b x delta sigma_1 is the semiclassical ds/dt.

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
        efield: in-plane electric field, shape (..., 2) broadcast against k [V/nm].

    Returns: delta sigma_1, shape (..., 3) (dimensionless).
    """
    s = check_band(band)
    check_shape("k", k, (2,))
    check_shape("efield", efield, (2,))
    k, efield = jnp.asarray(k), jnp.asarray(efield)
    dtype = float_dtype(k, efield)
    model = model.astype(dtype)
    lead = jnp.broadcast_shapes(k.shape[:-1], efield.shape[:-1])
    k = jnp.broadcast_to(k.astype(dtype), lead + (2,))
    rate = CARRIER_CHARGE * jnp.broadcast_to(efield.astype(dtype), lead + (2,)) / HBAR
    out = first_order_components(model, k[..., 0], k[..., 1], float(s), rate[..., 0], rate[..., 1])
    return jnp.stack(out, axis=-1)


class SpinComparison(eqx.Module):
    """Exact and semiclassical dynamics of one state (or a batch), side by side.

    Fields (lead = the batch shape of k0, T = len(times)):
        times (T,) [fs]; efield, delta_k, k_rate (T, 2) [V/nm, 1/nm, 1/(nm fs)];
        adiabaticity (lead + (T,)): epsilon = hbar |db/dt|/Omega^2 at k(t); splitting Omega(k(t)) [eV];
        observables: {name: {"exact" | "semiclassical" | "first_order": (lead + (T, 3))}}:
            spin <sigma> [1]: exact; semiclassical s b^(k(t)); first_order s b^ + delta sigma_1.
            nonadiabatic_spin <sigma> - s b^ [1]: exact; first_order delta sigma_1; second_order
                delta sigma_1 + delta sigma_2 (next term of the adiabatic series, see semiclassical_observables).
            spin_rate [1/fs]: exact (2/hbar) b x sigma; semiclassical ds/dt; first_order d(s b^ + delta sigma_1)/dt.
            damping_torque T2 = -d sigma/dt [1/fs]: the three above with a minus sign.
            field_like_torque T1 = (2/hbar) B_so x sigma [1/fs] for each spin above (B_so = alpha k x z).
            exchange_torque T = (2J/hbar) M x sigma [1/fs]: exact; semiclassical = T1_sc + T2_sc (the
                papers' eq. 6); first_order (2J/hbar) M x (s b^ + delta sigma_1).
            damping_like_torque (2J/hbar) M x (non-adiabatic spin) [1/fs]: exact; first_order;
                semiclassical = T2_sc (the papers identify the two).
        integration_error: estimated max |error| of the exact <sigma> (step doubling; nan if not asked).
    """

    times: Array
    efield: Array
    delta_k: Array
    k_rate: Array
    adiabaticity: Array
    splitting: Array
    observables: dict
    integration_error: Array

    def relative_error(self, name: str, approx: str, window=None, reference: str = "exact") -> Float[Array, "..."]:
        """max_t |approx - reference| / max_t |reference| over times in window = (t0, t1) [fs]; shape lead."""
        values = self.observables[name]
        mask = window_mask(self.times, window)
        diff = jnp.linalg.norm(values[approx] - values[reference], axis=-1)
        scale = jnp.linalg.norm(values[reference], axis=-1)
        return jnp.max(jnp.where(mask, diff, 0.0), axis=-1) / jnp.max(jnp.where(mask, scale, 0.0), axis=-1)


def window_mask(times, window):
    if window is None:
        return jnp.ones(times.shape, bool)
    return (times >= window[0]) & (times <= window[1])


def assemble_state(model, flat_k0, s, schedule, out, sigma0, lead):
    """Per-state observables from the minimal kernel outputs (delta, rates, semiclassical parts)."""
    values, extra = out
    delta, rate = values[..., 0:3], values[..., 3:6]
    change, sc_rate, first, first_rate = values[..., 6:9], values[..., 9:12], values[..., 12:15], values[..., 15:18]
    second = values[..., 18:21]
    spin = sigma0[:, None, :] + delta
    band = sigma0[:, None, :] + change
    k = flat_k0[:, None, :] + schedule.shift[None]
    zero = jnp.zeros_like(k[..., 0])
    b_so = jnp.stack([c + zero for c in model.spin_orbit_field(k[..., 0], k[..., 1])], -1)
    exchange = -jnp.broadcast_to(jnp.stack(model.exchange_field()), spin.shape)
    g = 2.0 / HBAR

    def t1(x):
        return g * jnp.cross(b_so, x)

    def exch(x):
        return g * jnp.cross(exchange, x)

    nonadiabatic = delta - change
    first_spin = band + first
    obs = {
        "spin": {"exact": spin, "semiclassical": band, "first_order": first_spin},
        "nonadiabatic_spin": {"exact": nonadiabatic, "first_order": first, "second_order": first + second},
        "spin_rate": {"exact": rate, "semiclassical": sc_rate, "first_order": sc_rate + first_rate},
        "damping_torque": {"exact": -rate, "semiclassical": -sc_rate, "first_order": -(sc_rate + first_rate)},
        "field_like_torque": {"exact": t1(spin), "semiclassical": t1(band), "first_order": t1(first_spin)},
        "exchange_torque": {"exact": exch(spin), "semiclassical": t1(band) - sc_rate, "first_order": exch(first_spin)},
        "damping_like_torque": {"exact": exch(nonadiabatic), "first_order": exch(first), "semiclassical": -sc_rate},
    }
    shape = lead + (schedule.shift.shape[0],)
    obs = {n: {a: v.reshape(shape + (3,)) for a, v in d.items()} for n, d in obs.items()}
    return obs, extra[..., 0].reshape(shape), extra[..., 1].reshape(shape)


def compare_spin_dynamics(
    model: RashbaFerromagnet,
    k0: Float[Array, "... 2"],
    band: int,
    efield,
    times: Float[Array, "T"],
    *,
    ramp_time=None,
    tau=None,
    substeps: int = 1,
    estimate_error: bool = False,
) -> SpinComparison:
    """Exact spinor dynamics next to the semiclassical band-following result, per state.

    Same inputs as `exact_spin_trajectory` (band-spin start). Everything is evaluated at the same
    k(t) = k0 + Delta k(t); the definitions are in `SpinComparison` and the module docstring.
    What to expect (derived from the Bloch equation, measured by `adiabaticity_scan`):
      * d sigma/dt (exact) - ds/dt (semiclassical) = d(delta sigma_1)/dt + O(epsilon^2):
        relative error O(epsilon); against the first-order rate O(epsilon^2).
      * sigma - s b^ = delta sigma_1 + O(epsilon^2) + ringing at 2 Omega/hbar left by the switch-on
        (a step field rings with amplitude |delta sigma_1|; use ramp_time to isolate the adiabatic part).
      * The papers' exchange torque T1_sc + T2_sc differs from the exact (2J/hbar) M x sigma by
        (2/hbar) B_so x delta sigma_1, which is first order like T2 itself (relative ~ alpha k/Omega):
        only in the strong-exchange limit (or after summing over a sea, see `exact_simulate`) is
        T2_sc the damping-like exchange torque.

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        k0: initial wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
        efield: in-plane field, shape (2,) [V/nm], switched on at t = 0, or a drive callable
            t -> (2,) [V/nm] (as in `exact_spin_trajectory`).
        times: output times, shape (T,), strictly increasing [fs].
        ramp_time: [fs] > 0: E(t) = efield * smooth_step(t/ramp_time); None for a step.
        tau: constant relaxation time of the shift [fs] > 0, or None for none.
        substeps: Magnus steps per output interval.
        estimate_error: also run with 2 * substeps and report max |difference| * 16/15 (costs 3x).

    Returns: SpinComparison.
    """
    s = check_band(band)
    substeps = check_count("substeps", substeps, minimum=1)
    check_tau(tau)
    times = check_times(times)
    drive = resolve_drive(efield, ramp_time)
    model, flat, times, _, lead, _ = _prepare_states(model, k0, times)
    schedule = build_schedule(drive, times, tau, substeps)
    out, sigma0, omega0 = state_trajectories(model, flat, float(s), None, schedule, full=True)
    _warn_degenerate(model, omega0, flat, "compare_spin_dynamics")
    error = jnp.asarray(jnp.nan, times.dtype)
    if estimate_error:
        fine = build_schedule(drive, times, tau, 2 * substeps)
        finer, _, _ = state_trajectories(model, flat, float(s), None, fine, full=False)
        error = jnp.max(jnp.abs(finer - out[0][..., 0:3])) * (16.0 / 15.0)
    obs, eps, omega = assemble_state(model, flat, float(s), schedule, out, sigma0, lead)
    return SpinComparison(times, schedule.efield, schedule.shift, schedule.k_rate, eps, omega, obs, error)



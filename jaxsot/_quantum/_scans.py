"""Adiabaticity scans: errors of the semiclassical picture against epsilon = hbar|db/dt|/Omega^2, with fitted orders.
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from .._bands._kernels import splitting
from .._core._checks import check_band, check_count, check_finite, check_range, check_shape, float_dtype
from .._core._model import RashbaFerromagnet
from ..constants import HBAR
from ._integrator import SmoothRampDrive, build_schedule_traced, field_rate, state_trajectories
from ._states import assemble_state



# ---------------------------------------------------------------------------------------------
# Adiabaticity scan of one state: errors of the semiclassical picture vs epsilon, with fitted orders.

SCAN_ERRORS = {
    "spin_rate": ("spin_rate", "semiclassical", "semiclassical"),
    "spin_rate_first_order": ("spin_rate", "first_order", "semiclassical"),
    "nonadiabatic_spin": ("nonadiabatic_spin", "first_order", "first_order"),
    "nonadiabatic_spin_second_order": ("nonadiabatic_spin", "second_order", "first_order"),
    "exchange_torque_first_order": ("exchange_torque", "first_order", "damping_torque"),
    "exchange_torque_papers": ("exchange_torque", "semiclassical", "damping_torque"),
    "damping_like_torque_papers": ("damping_like_torque", "semiclassical", "damping_torque"),
}
"""The errors `adiabaticity_scan` measures: name -> (observable, approximation, normalization).

Each is max_window |approx - exact| / max_window |normalization (semiclassical)|; the
normalization of the exchange torques is |T2_sc| (the quantity of interest, not the large T1):
    spin_rate: exact d sigma/dt vs semiclassical ds/dt (= T2 up to the sign): expected O(epsilon);
    spin_rate_first_order: vs ds/dt + d(delta sigma_1)/dt: expected O(epsilon^2);
    nonadiabatic_spin: sigma - s b^ vs delta sigma_1 (relative to |delta sigma_1|): expected O(epsilon);
    nonadiabatic_spin_second_order: vs delta sigma_1 + delta sigma_2: expected O(epsilon^2);
    exchange_torque_first_order: (2J/hbar) M x sigma vs (2J/hbar) M x (s b^ + delta sigma_1): O(epsilon);
    exchange_torque_papers: vs T1_sc + T2_sc (papers' eq. 6): tends to |(2/hbar) B_so x delta sigma_1|/|T2|,
        a constant ~ alpha k/Omega, not zero;
    damping_like_torque_papers: (2J/hbar) M x (sigma - s b^) vs T2_sc: the same constant.
"""


class AdiabaticityScan(eqx.Module):
    """Result of `adiabaticity_scan` (numpy arrays; P = number of scan points).

    target (P,): requested epsilon; adiabaticity (P,): max epsilon over the comparison window;
    efield (P,) [V/nm]: field amplitudes; errors: {name: (P,)} as defined in `SCAN_ERRORS`;
    orders: {name: (order, prefactor)} of a least-squares fit error = prefactor * epsilon^order over
    the points with epsilon <= fit_max and error >= 10 x the floor; integration_error (P,): error of
    the exact spin relative to max |delta sigma_1| (a-priori C theta^4, or the step-doubling estimate);
    ramp_time, window (t0, t1) [fs]; splitting Omega(k0) [eV]; k0 (2,) [1/nm]; band.
    """

    target: onp.ndarray
    adiabaticity: onp.ndarray
    efield: onp.ndarray
    errors: dict
    orders: dict
    integration_error: onp.ndarray
    ramp_time: float
    window: tuple
    splitting: float
    k0: onp.ndarray
    band: int = eqx.field(static=True)


def fit_order(x, y, x_max=None, floor=0.0):
    """Least-squares fit y = c x^p in log-log over points with x <= x_max and y > floor.

    Args:
        x: abscissae, shape (P,), > 0.
        y: values, shape (P,).
        x_max: largest x used (None: all).
        floor: only points with y > floor are used.

    Returns: (p, c), the exponent and the prefactor.
    """
    x, y = onp.asarray(x, float), onp.asarray(y, float)
    keep = onp.isfinite(x) & onp.isfinite(y) & (x > 0) & (y > floor)
    if x_max is not None:
        keep &= x <= x_max
    if keep.sum() < 2:
        return float("nan"), float("nan")
    p, logc = onp.polyfit(onp.log(x[keep]), onp.log(y[keep]), 1)
    return float(p), float(onp.exp(logc))


@functools.partial(jax.jit, static_argnames=("substeps", "estimate_error"))
def _scan_impl(model, k0, s, amplitudes, ramp_time, times, middle, *, substeps, estimate_error):
    def one(amplitude):
        drive = SmoothRampDrive(amplitude, ramp_time)
        schedule = build_schedule_traced(drive, times, 0.0, substeps)
        # Start where the state reaches k0 in the middle of the window (Omega is smallest there).
        start = (k0 - schedule.shift[middle])[None]
        out, sigma0, _ = state_trajectories(model, start, s, None, schedule, full=True)
        error = jnp.full((), jnp.nan, times.dtype)
        if estimate_error:
            fine = build_schedule_traced(drive, times, 0.0, 2 * substeps)
            finer, _, _ = state_trajectories(model, start, s, None, fine, full=False)
            error = jnp.max(jnp.abs(finer[0] - out[0][0, :, 0:3])) * (16.0 / 15.0)
        return schedule, out, sigma0, error, start[0]

    return jax.vmap(one)(amplitudes)


INTEGRATION_ERROR_CONSTANT = 3e-3
"""Bound C of the Magnus-4 error: max |error of sigma| <~ C theta^4 max |delta sigma_1|, theta =
2 Omega h/hbar the precession angle per step; measured 1.2e-3 to 1.5e-3 (tests/test_quantum.py),
so C = 3e-3 carries a safety factor 2. The error is proportional to the field-induced change."""


def adiabaticity_scan(
    model: RashbaFerromagnet,
    k0,
    band: int,
    adiabaticities,
    *,
    direction=(1.0, 0.0),
    ramp_periods: float = 40.0,
    window_periods: float = 10.0,
    steps_per_period: int = 128,
    fit_max: float = 1e-2,
    estimate_error: bool = False,
) -> AdiabaticityScan:
    """Exact vs semiclassical for one state over a range of the adiabaticity epsilon = hbar|db/dt|/Omega^2.

    For each target epsilon the field |E| = epsilon Omega(k0)^2/|alpha| is switched on with the
    C-infinity ramp (SmoothRampDrive) over ramp_periods precession periods P = pi hbar/Omega(k0), so
    that the ringing left by the switch-on is negligible, and then held for window_periods periods.
    The state is started at k0 - Delta k(t_mid) so that it passes k0 in the middle of the window
    (epsilon is reported as its max over the window). With direction="tangential" the field is
    perpendicular to grad Omega(k0): Omega stays constant to first order, and so does epsilon, and
    the first-order correction d(delta sigma_1)/dt vanishes (the semiclassical rate is then good to
    O(epsilon^2)); any other direction gives the generic O(epsilon). The errors of
    `SCAN_ERRORS` are measured in the window (max over time) and fitted to c epsilon^p for
    epsilon <= fit_max over the points whose error is at least 10x the integration-error floor.
    Time step: P/steps_per_period, one Magnus step per output time. The floor is the a-priori
    INTEGRATION_ERROR_CONSTANT * theta^4 (theta = 2 pi/steps_per_period), or with estimate_error a
    step-doubling estimate (a second compiled pass). One vmapped, jitted call.

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        k0: the state's wave vector, shape (2,) [1/nm].
        band: +1 (upper) or -1 (lower).
        adiabaticities: target epsilon values, shape (P,), > 0.
        direction: in-plane field direction, shape (2,) (default x), or "tangential".
        ramp_periods: length of the C-infinity switch-on, in precession periods P.
        window_periods: length of the measuring window after the ramp, in periods P.
        steps_per_period: Magnus steps per period P.
        fit_max: largest epsilon used in the power-law fits.
        estimate_error: estimate the integration-error floor by step doubling (a second pass)
            instead of the a-priori bound.

    Returns: AdiabaticityScan.
    """
    s = check_band(band)
    check_shape("k0", k0, (2,))
    check_finite("k0", k0)
    check_range("ramp_periods", ramp_periods, low=1.0, unit="periods")
    check_range("window_periods", window_periods, low=0.5, unit="periods")
    steps_per_period = check_count("steps_per_period", steps_per_period, minimum=4)
    check_range("adiabaticities", adiabaticities, low=0.0, low_inclusive=False)
    targets = onp.atleast_1d(onp.asarray(adiabaticities, float))
    dtype = float_dtype(jnp.asarray(k0), model.dtype)
    model = model.astype(dtype)
    k0 = jnp.asarray(k0, dtype)
    omega0 = float(splitting(model, k0[0], k0[1]))
    if not omega0 > 0:
        raise ValueError(f"k0 = {onp.asarray(k0).tolist()} is at the band touching point (Omega = 0); allowed: Omega(k0) > 0")
    if isinstance(direction, str):
        if direction != "tangential":
            raise ValueError(f"direction = {direction!r} is not allowed; allowed: an in-plane 2-vector or 'tangential'")
        # Move along z x grad Omega (Omega changes at second order); for Rashba grad Omega = alpha u/Omega
        # with u = alpha k - J (z x M).
        u = onp.asarray(jax.grad(splitting, argnums=(1, 2))(model, k0[0], k0[1]), float)
        direction = onp.array([-u[1], u[0]]) if onp.linalg.norm(u) > 0 else onp.array([1.0, 0.0])
    direction = onp.asarray(direction, float)
    if direction.shape != (2,) or not onp.linalg.norm(direction) > 0:
        raise ValueError(f"direction = {direction.tolist()} is not allowed; allowed: a non-zero in-plane 2-vector")
    period = math.pi * HBAR / omega0
    ramp_time = ramp_periods * period
    total = (ramp_periods + window_periods) * period
    count = int(math.ceil((ramp_periods + window_periods) * steps_per_period))
    times = jnp.linspace(0.0, total, count + 1, dtype=dtype)
    middle = int(onp.searchsorted(onp.asarray(times), ramp_time + 0.5 * window_periods * period))
    unit = direction / onp.linalg.norm(direction)
    # |db/dk . unit| [eV nm]: epsilon = gain |qE| / Omega^2 (gain = |alpha| for Rashba).
    rate = field_rate(model, k0[0], k0[1], jnp.asarray(unit[0], dtype), jnp.asarray(unit[1], dtype))
    gain = math.sqrt(sum(float(c) ** 2 for c in rate))
    if gain == 0.0:
        raise ValueError(
            "the model's field b(k) does not change along the drive at k0 (alpha = 0 for Rashba); "
            "allowed: a model with db/dk != 0 (no spin-orbit field, no spin force)"
        )
    amplitudes = jnp.asarray(targets[:, None] * omega0**2 / gain * unit[None, :], dtype)
    schedule, out, sigma0, error, starts = _scan_impl(
        model, k0, float(s), amplitudes, jnp.asarray(ramp_time, dtype), times, middle, substeps=1,
        estimate_error=bool(estimate_error),
    )
    theta = 2.0 * math.pi / steps_per_period
    mask = onp.asarray(times) >= ramp_time
    errors = {name: [] for name in SCAN_ERRORS}
    eps_max, floor = [], []
    for i in range(targets.size):
        piece = jax.tree_util.tree_map(lambda x: x[i], schedule)
        obs, eps, _ = assemble_state(model, starts[i][None], float(s), piece, (out[0][i], out[1][i]), sigma0[i], ())
        for name, (observable, approx, norm) in SCAN_ERRORS.items():
            values = obs[observable]
            diff = onp.linalg.norm(onp.asarray(values[approx]) - onp.asarray(values["exact"]), axis=-1)[mask]
            reference = values[norm] if norm in values else obs[norm]["semiclassical"]
            scale = onp.linalg.norm(onp.asarray(reference), axis=-1)[mask]
            errors[name].append(diff.max() / scale.max())
        eps_max.append(float(onp.asarray(eps)[mask].max()))
        first = onp.linalg.norm(onp.asarray(obs["nonadiabatic_spin"]["first_order"]), axis=-1)[mask].max()
        floor.append(float(error[i]) / first if estimate_error else INTEGRATION_ERROR_CONSTANT * theta**4)
    errors = {name: onp.asarray(v) for name, v in errors.items()}
    eps_max = onp.asarray(eps_max)
    floor = onp.asarray(floor)
    orders = {name: fit_order(eps_max, v, fit_max, floor=10.0 * floor.max()) for name, v in errors.items()}
    return AdiabaticityScan(
        target=targets,
        adiabaticity=eps_max,
        efield=targets * omega0**2 / gain,
        errors=errors,
        orders=orders,
        integration_error=floor,
        ramp_time=ramp_time,
        window=(ramp_time, total),
        splitting=omega0,
        k0=onp.asarray(k0),
        band=s,
    )



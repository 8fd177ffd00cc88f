"""Time-domain harmonic Hall measurement: the LLG driven by an AC current, demodulated like a lock-in.

An independent route to the quasi-static harmonics of `_hall.py` for any electron source (a
`SpinOrbitTorque` or a `ModelTorque` of any TwoBandModel): no equilibrium expansion, no
implicit-function theorem. The macrospin LLG of `jaxsot.llg_rates` (precession about B_0, Gilbert damping,
the electron torques T1 + T2 of `jaxsot.electron_response`) is integrated with diffrax (Tsit5, PID
step control) under the drive j(t) = j0 sin(w t): the torques are linear in E, so `llg_rates(...,
current_on=sin(w t))` scales them by the instantaneous current; the Oersted field is added to
B_ext as B_Oe sin(w t) y. The Hall voltage per I0 is sampled at K uniform times over whole periods,
    v(t) = V_H(t)/I0 = [R_H(M(t)) + R_OHE B_z] sin(w t) + 2 R_ANE(B) M_x(t) sin^2(w t),  R_ANE(B) = R_ANE + R_ANE,B |B_ext|,
and demodulated with the lock-in convention of `_hall.py` (reference sin(w t)):
    R_1w = (2/K) sum v sin(w t_k),  R_1w quadrature = (2/K) sum v cos(w t_k),
    R_2w = -(2/K) sum v cos(2 w t_k),  R_2w quadrature = (2/K) sum v sin(2 w t_k),  R_dc = (1/K) sum v,
    R_3w = (2/K) sum v sin(3 w t_k),  R_3w quadrature = (2/K) sum v cos(3 w t_k)   (`_quasistatic.py`).
For a periodic signal the uniform-sample sums are the trapezoid rule, exact up to aliasing of
harmonics above K/2 per period.

The magnet relaxes at a rate ~ alpha_G gamma B_eff/(1 + alpha_G^2) (1/tau_r); for w tau_r << 1 M(t)
follows the quasi-static equilibrium with a lag that enters the quadratures at O(w tau_r) and the in-phase
harmonics only at O((w tau_r)^2). Laboratory frequencies (kHz) are far in that limit but need ~1e12 fs of
integration; any frequency with w tau_r ~ 1e-2 gives the same in-phase harmonics to ~1e-4.

`jaxsot.simulate_llg` switches the current on/off only (`t < current_off`), so it cannot take this drive;
the change that would let it is a `drive` callable t -> j(t)/j0 passed as `current_on` to `llg_rates`
in its vector field (and the Oersted field as a drive-scaled term of B_ext).
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .._core import check_count, check_finite, check_range, check_shape, float_dtype
from .._llg import Magnet, ModelTorque, SpinOrbitTorque, llg_rates
from .._llg._equilibrium import magnet_stiffness, relax
from ._hall import default_start, field_direction, hall_resistance
from ._harmonic import cast_floats


class LockinSignals(eqx.Module):
    """Demodulated time-domain Hall signals at N field points (module docstring for the definitions).

    Fields (N,) [ohm]: r_1w, r_1w_quadrature, r_2w, r_2w_quadrature, r_3w, r_3w_quadrature, r_dc; m_start (N, 3): the j = 0
    equilibrium the integration starts from; success (N,) bool (the solver finished); num_steps (N,).
    """

    r_1w: Float[Array, "N"]
    r_1w_quadrature: Float[Array, "N"]
    r_2w: Float[Array, "N"]
    r_2w_quadrature: Float[Array, "N"]
    r_dc: Float[Array, "N"]
    r_3w: Float[Array, "N"]
    r_3w_quadrature: Float[Array, "N"]
    m_start: Float[Array, "N 3"]
    success: Bool[Array, "N"]
    num_steps: Array


def _vector_field(t, m, args):
    magnet, torque, b_ext, omega, oersted = args
    drive = jnp.sin(omega * t)
    y = jnp.asarray([0.0, 1.0, 0.0], m.dtype)
    driven = eqx.tree_at(lambda mag: mag.external_field, magnet, b_ext + oersted * drive * y)
    return llg_rates(driven, torque, m, drive)["dmdt"]


@functools.partial(jax.jit, static_argnums=(9, 10, 11, 12))
def _run(magnet, torque, b_ext, m_start, omega, oersted, hall, rtol, atol, settle, periods, samples, max_steps):
    import diffrax  # on first use: ~0.6 s that `import jaxsot` should not pay

    r_ahe, r_phe, r_ane, r_ohe, r_ane_field = hall
    stiffness = magnet_stiffness(magnet)
    dtype = m_start.dtype
    period = 2.0 * math.pi / omega
    count = periods * samples
    times = settle * period + period * jnp.arange(count, dtype=dtype) / samples

    def one(b, m_guess):
        m0, _ = relax(b, stiffness, m_guess)
        solution = diffrax.diffeqsolve(
            diffrax.ODETerm(_vector_field),
            diffrax.Tsit5(),
            t0=jnp.zeros((), dtype),
            t1=times[-1],
            dt0=None,
            y0=m0,
            args=(magnet, torque, b, omega, oersted),
            saveat=diffrax.SaveAt(ts=times),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            max_steps=max_steps,
            throw=False,
        )
        m = solution.ys / jnp.sqrt(jnp.sum(solution.ys**2, -1, keepdims=True))
        phase = omega * times
        s = jnp.sin(phase)
        r_th = r_ane + r_ane_field * jnp.sqrt(b @ b)
        v = (hall_resistance(m, r_ahe, r_phe) + r_ohe * b[2]) * s + 2.0 * r_th * m[:, 0] * s**2
        scale = 2.0 / count
        return LockinSignals(
            r_1w=scale * jnp.sum(v * s),
            r_1w_quadrature=scale * jnp.sum(v * jnp.cos(phase)),
            r_2w=-scale * jnp.sum(v * jnp.cos(2.0 * phase)),
            r_2w_quadrature=scale * jnp.sum(v * jnp.sin(2.0 * phase)),
            r_dc=jnp.mean(v),
            r_3w=scale * jnp.sum(v * jnp.sin(3.0 * phase)),
            r_3w_quadrature=scale * jnp.sum(v * jnp.cos(3.0 * phase)),
            m_start=m0,
            success=solution.result == diffrax.RESULTS.successful,
            num_steps=solution.stats["num_accepted_steps"],
        )

    return jax.vmap(one)(b_ext, m_start)


def lockin_harmonics(
    magnet: Magnet,
    torque,
    phi_h,
    field,
    *,
    theta_h=math.pi / 2,
    r_ahe,
    r_phe=0.0,
    r_ane=0.0,
    oersted_field=0.0,
    r_ohe=0.0,
    r_ane_field=0.0,
    frequency,
    periods: int = 2,
    settle_periods: int = 2,
    samples_per_period: int = 64,
    m_start=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 200_000,
) -> LockinSignals:
    """Integrate the LLG under j(t) = j0 sin(2 pi f t) and demodulate the Hall voltage (module docstring).

    Args:
        magnet: `jaxsot.Magnet`, one instance (its external_field is a bias added to the swept field;
            gilbert sets the lag).
        torque: the electron source, one instance: `jaxsot.SpinOrbitTorque` or `jaxsot.ModelTorque` (any
            TwoBandModel with `with_magnetization`), efield = the amplitude E0 (current along x for the
            Hall bar). The computation runs in its floating dtype.
        phi_h: field azimuth from the current [rad], broadcast with field and theta_h to (N,).
        field: field magnitude B [T].
        theta_h: field polar angle from z [rad] (default pi/2: in-plane).
        r_ahe: anomalous Hall resistance [ohm].
        r_phe: planar Hall resistance [ohm].
        r_ane: thermal (anomalous Nernst) term at the drive amplitude [ohm].
        oersted_field: Oersted field along +y at the amplitude [T].
        r_ohe: ordinary Hall coefficient [ohm/T].
        r_ane_field: field dependence of the thermal term [ohm/T]: R_ANE(B) = r_ane + r_ane_field |B_ext|.
        frequency: drive frequency f [Hz] (> 0); choose 2 pi f tau_r << 1 (module docstring).
        periods: demodulated periods (>= 1).
        settle_periods: periods integrated before them (>= 0) to let the start transient decay.
        samples_per_period: uniform samples per period (>= 8).
        m_start: (3,) or (N, 3) start of the j = 0 energy descent (default: the field direction tilted
            towards +u).
        rtol: diffrax relative tolerance (> 0).
        atol: diffrax absolute tolerance (> 0).
        max_steps: diffrax step limit per field point (>= 16).

    Returns: LockinSignals.

    Raises:
        ValueError: a magnet or torque of another type, or an argument out of its range (named).
    """
    check_range("frequency", frequency, low=0.0, low_inclusive=False, unit="Hz")
    periods = check_count("periods", periods, minimum=1)
    settle_periods = check_count("settle_periods", settle_periods, minimum=0)
    samples_per_period = check_count("samples_per_period", samples_per_period, minimum=8)
    max_steps = check_count("max_steps", max_steps, minimum=16)
    check_range("rtol", rtol, low=0.0, low_inclusive=False)
    check_range("atol", atol, low=0.0, low_inclusive=False)
    if not isinstance(magnet, Magnet):
        raise ValueError(f"magnet is a {type(magnet).__name__}; allowed: jaxsot.Magnet")
    if not isinstance(torque, (SpinOrbitTorque, ModelTorque)):
        raise ValueError(f"torque is a {type(torque).__name__}; allowed: jaxsot.SpinOrbitTorque or jaxsot.ModelTorque")
    dtype = float_dtype(torque.tau, torque.efield)
    magnet, torque = cast_floats(magnet, dtype), cast_floats(torque, dtype)
    phi_h, field, theta_h = jnp.broadcast_arrays(*(jnp.atleast_1d(jnp.asarray(x, dtype)) for x in (phi_h, field, theta_h)))
    if phi_h.ndim != 1:
        raise ValueError(f"phi_h, field, theta_h broadcast to shape {phi_h.shape}; allowed: (N,)")
    b_ext = field[:, None] * field_direction(theta_h, phi_h) + magnet.external_field.astype(dtype)
    if m_start is None:
        m_start = default_start(b_ext, magnet.easy_axis.astype(dtype))
    check_shape("m_start", m_start, (3,))
    m_start = jnp.broadcast_to(jnp.asarray(m_start, dtype), b_ext.shape)
    omega = jnp.asarray(2.0 * math.pi * frequency * 1e-15, dtype)  # rad/fs
    check_finite("r_ane_field", r_ane_field)
    hall = tuple(jnp.asarray(x, dtype) for x in (r_ahe, r_phe, r_ane, r_ohe, r_ane_field))
    return _run(
        magnet, torque, b_ext, m_start, omega, jnp.asarray(oersted_field, dtype), hall,
        jnp.asarray(rtol, dtype), jnp.asarray(atol, dtype), settle_periods, periods, samples_per_period, max_steps,
    )

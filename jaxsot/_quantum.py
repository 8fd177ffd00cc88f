"""Quantum check: exact spinor dynamics of every k-state (PHYSICS.md "Beyond the papers: the quantum check").

The semiclassical spin force assumes that every electron stays in its band (adiabatic following,
<sigma> = s b/|b|). Here each state is evolved exactly: i hbar psi' = H(k(t)) psi, equivalently the
Bloch equation d<sigma>/dt = (2/hbar) b(k(t)) x <sigma>, with k(t) = k0 + Delta k(t) and the shared
rigid shift hbar dDelta k/dt = qE(t) - hbar Delta k/tau of `simulate`.

Integrator (documented in `exact_spin_trajectory`): the fourth-order Magnus method with two Gauss
nodes, whose single exponential is a rotation of <sigma> about the vector
    w = (h/2)(w1 + w2) + (sqrt(3) h^2/12) (w2 x w1),   w_i = (2/hbar) b(t_n + c_i h),
applied exactly with the Rodrigues formula: norm preserving to rounding, exact for constant b
(any step size), global error O(h^4) that is proportional to |db/dt| (it vanishes with the field).

Numerical representation: every state carries delta = <sigma> - sigma0 (sigma0 its t = 0 band spin)
and uses the exact identity b(k0) x sigma0 = 0, so the small quantities (delta, d<sigma>/dt, the
non-adiabatic spin) are never formed as differences of unit vectors: float32 keeps their relative
precision (the same reason `simulate` uses contour fluxes for levels, PERFORMANCE.md item 4).

Definitions used in every comparison (per state, band s, B_so = alpha (k x z), b = B_so - J M):
    exact:        sigma(t); d sigma/dt = (2/hbar) b x sigma;
                  T = (2J/hbar) M x sigma = T1 + T2 with T1 = (2/hbar) B_so x sigma, T2 = -d sigma/dt
                  (paper eq. 4-7, an identity of the Bloch equation);
    semiclassical: s b/|b|; ds/dt = (k'.grad) s b/|b| (autodiff, `damping_torque`);
                  T1_sc = (2/hbar) B_so x s b/|b| (= (2J/hbar) M x s b/|b|), T2_sc = -ds/dt;
    non-adiabatic spin: delta sigma = sigma - s b/|b|(k(t));
    first order (adiabatic perturbation theory, the intrinsic Kubo bare bubble when hbar k' = qE):
                  delta sigma_1 = -(s hbar/(2 Omega^3)) b x db/dt,  db/dt = alpha (k' x z);
                  for the lower band and hbar k' = qE this is -(e alpha/(2 Omega^3)) b x (E x z);
    adiabaticity: epsilon = hbar |db/dt| / Omega^2 = hbar |alpha| |k'| / Omega^2.
Orders (derived in the docstrings below, measured by `adiabaticity_scan`): d sigma/dt - ds/dt = d(delta
sigma_1)/dt + O(epsilon^2), i.e. relative error O(epsilon); delta sigma - delta sigma_1 = O(epsilon^2).
When the field or k' changes on a time scale T (ramps, relaxation tau), d(delta sigma_1)/dt also
carries terms of relative size hbar/(Omega T), linear in the field: the next term delta sigma_2 of
the adiabatic series accounts for them. A field switched on abruptly leaves every state ringing at
2 Omega/hbar around the adiabatic solution (amplitude |delta sigma_1|); `SmoothRampDrive` avoids it.

M || z (circular seas): closed forms for the whole sea in `circular_sea_torques`; the strong-Rashba
crossover (`strong_rashba_crossover`) shows T2 = -dS/dt tending to half its strong-exchange value
while the damping-like exchange torque (2J/hbar) M x delta S vanishes as (J/alpha k_F)^2.
These are intrinsic (clean-limit) results: disorder vertex corrections can cancel the intrinsic
damping-like torque (PHYSICS.md).
"""

import functools
import math
import warnings
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float

from ._bands import _float_dtype, exchange_field_components, spin_rate_components, splitting
from ._constants import CARRIER_CHARGE, HBAR
from ._contour import _sea_nodes_impl, band_touching_report, fermi_sea_status, occupied_bands
from ._drives import StepDrive
from ._model import RashbaFerromagnet
from ._validation import check_band, check_count, check_finite, check_range, check_shape, is_concrete

_AREA_MEASURE = 1.0 / (2.0 * math.pi) ** 2
# Two Gauss-Legendre nodes on [0, 1]: the Magnus-4 samples of b(t).
_MAGNUS_NODES = (0.5 - math.sqrt(3.0) / 6.0, 0.5 + math.sqrt(3.0) / 6.0)
_MAGNUS_COMMUTATOR = math.sqrt(3.0) / 12.0
# Four-point Gauss-Legendre on [0, 1] for the shift integral (error O(h^9) for smooth drives).
_QUAD_X, _QUAD_W = onp.polynomial.legendre.leggauss(4)
# Python floats (weakly typed): numpy scalars would promote float32 runs to float64.
_QUAD_X = tuple(float(x) for x in 0.5 * (_QUAD_X + 1.0))
_QUAD_W = tuple(float(w) for w in 0.5 * _QUAD_W)
_SMALL_ANGLE = 1e-3

UNITS = {
    "spin": "1",
    "spin_rate": "1/fs",
    "torque": "1/fs",
    "spin_density": "1/nm^2",
    "spin_density_rate": "1/(nm^2 fs)",
    "torque_density": "1/(nm^2 fs)",
}
"""Units of the quantum-check outputs: per state (spin, spin_rate, torque) and per area."""


# ---------------------------------------------------------------------------------------------
# A smooth switch-on.


def smooth_step(x):
    """C-infinity switch S(x): 0 for x <= 0, 1 for x >= 1, f(x)/(f(x) + f(1 - x)), f(x) = exp(-1/x).

    Every derivative vanishes at both ends, so a field switched on with it excites the interband
    precession (ringing at 2 Omega/hbar) only by an amount that falls off faster than any power of
    1/(Omega T_ramp/hbar); the sin^2 ramp of `RampDrive` (C^1) leaves ~ (hbar/(Omega T_ramp))^2.
    """
    x = jnp.clip(x, 0.0, 1.0)

    def f(y):
        safe = jnp.where(y > 0.0, y, 1.0)
        return jnp.where(y > 0.0, jnp.exp(-1.0 / safe), 0.0)

    a, b = f(x), f(1.0 - x)
    return a / (a + b)


class SmoothRampDrive(eqx.Module):
    """E(t) = amplitude * S(t / ramp_time) with the C-infinity switch `smooth_step` S.

    amplitude: (2,) [V/nm]; ramp_time [fs] > 0. Zero for t <= 0, amplitude for t >= ramp_time.
    This is the drive behind the `ramp_time=` keyword of the quantum-check functions: it isolates
    the adiabatic response (PHYSICS.md "Beyond the papers") far better than the sin^2 `RampDrive`.
    """

    amplitude: Float[Array, "2"]
    ramp_time: Float[Array, ""]

    def __init__(self, amplitude, ramp_time):
        check_range("ramp_time", ramp_time, low=0.0, low_inclusive=False, unit="fs")
        check_finite("amplitude", amplitude)
        amplitude = jnp.asarray(amplitude)
        if amplitude.shape != (2,):
            raise ValueError(f"amplitude has shape {amplitude.shape}; allowed: (2,) in-plane field [V/nm]")
        self.amplitude = amplitude
        self.ramp_time = jnp.asarray(ramp_time)

    def __call__(self, t):
        return self.amplitude * smooth_step(t / self.ramp_time).astype(self.amplitude.dtype)


# ---------------------------------------------------------------------------------------------
# The shared rigid shift, sampled where the integrator needs it.


class _Schedule(eqx.Module):
    """Everything that is the same for all states, per output time i (T of them).

    step (T,): substep length h of the interval (t_{i-1}, t_i] (0 for i = 0: the identity);
    nodes (T, S, 2, 2): Delta k at the two Magnus nodes of each of the S substeps of that interval;
    shift, k_rate, k_accel, efield (T, 2): Delta k, k', k'' and E at t_i.
    """

    step: Array
    nodes: Array
    shift: Array
    k_rate: Array
    k_accel: Array
    efield: Array


def _propagate(shift, a, b, drive, inverse_tau, dtype):
    """Delta k(b) = e^{-(b-a)/tau} Delta k(a) + (q/hbar) int_a^b e^{-(b-u)/tau} E(u) du (4-point Gauss)."""
    length = b - a
    integral = jnp.zeros(2, dtype)
    for x, w in zip(_QUAD_X, _QUAD_W):
        u = a + x * length
        integral = integral + w * jnp.exp(-(b - u) * inverse_tau) * drive(u).astype(dtype)
    return jnp.exp(-length * inverse_tau) * shift + (CARRIER_CHARGE / HBAR) * length * integral


@functools.partial(eqx.filter_jit)
def _schedule_impl(drive, times, inverse_tau, substeps):
    """The exact linear shift ODE solved segment by segment (Gauss quadrature of the drive)."""
    dtype = times.dtype
    inverse_tau = jnp.asarray(inverse_tau, dtype)
    count = substeps

    def interval(shift, bounds):
        t0, t1 = bounds
        h = (t1 - t0) / count

        def substep(y, j):
            a = t0 + j * h
            first = _propagate(y, a, a + _MAGNUS_NODES[0] * h, drive, inverse_tau, dtype)
            second = _propagate(first, a + _MAGNUS_NODES[0] * h, a + _MAGNUS_NODES[1] * h, drive, inverse_tau, dtype)
            end = _propagate(second, a + _MAGNUS_NODES[1] * h, a + h, drive, inverse_tau, dtype)
            return end, jnp.stack([first, second])

        end, nodes = jax.lax.scan(substep, shift, jnp.arange(count, dtype=dtype))
        return end, (nodes, h, end)

    start = jnp.zeros(2, dtype)
    _, (nodes, steps, ends) = jax.lax.scan(interval, start, (times[:-1], times[1:]))
    nodes = jnp.concatenate([jnp.zeros((1, count, 2, 2), dtype), nodes])
    steps = jnp.concatenate([jnp.zeros(1, dtype), steps])
    shift = jnp.concatenate([start[None], ends])

    def rate(t, dk):
        return CARRIER_CHARGE * drive(t).astype(dtype) / HBAR - dk * inverse_tau

    efield = jax.vmap(lambda t: drive(t).astype(dtype))(times)
    k_rate = jax.vmap(rate)(times, shift)

    def accel(t, dk, kd):
        # k'' = (q/hbar) dE/dt - k'/tau; dE/dt by forward-mode autodiff of the drive.
        _, de = jax.jvp(lambda u: drive(u).astype(dtype), (t,), (jnp.ones((), dtype),))
        return CARRIER_CHARGE * de / HBAR - kd * inverse_tau

    k_accel = jax.vmap(accel)(times, shift, k_rate)
    return _Schedule(steps, nodes, shift, k_rate, k_accel, efield)


def _schedule(drive, times, tau, substeps):
    inverse_tau = 0.0 if tau is None else 1.0 / float(tau)
    return _schedule_impl(drive, times, inverse_tau, substeps)


# ---------------------------------------------------------------------------------------------
# sin and cos of the rotation half-angle. XLA-CPU evaluates float64 jnp.sin/jnp.cos element by
# element through libm (~50 M/s on the development machine against ~900 M/s for sqrt + division),
# which made them the cost of the whole exact pipeline. Here: Cody-Waite reduction to |r| <= pi/4
# and the minimax kernels of fdlibm (float64, error < 1 ulp) and cephes (float32), which vectorize.
# s^2 + c^2 = 1 to rounding, which is what keeps the Rodrigues rotation orthogonal.

# pi/2 split so that n * part is exact for |n| < 2^20 (fdlibm pio2_1, pio2_2, pio2_3 + tail).
_PIO2_F64 = (1.57079632673412561417e00, 6.07710050630396597660e-11, 2.02226624871116645580e-21 + 8.47842766036889956997e-32)
_PIO2_F32 = (1.5703125, 4.837512969970703125e-4, 7.54978995489188216e-8)  # cephes DP1..DP3 times 2
# sin r = r + r z P(z), cos r = 1 - z/2 + z^2 Q(z), z = r^2 (fdlibm __kernel_sin/__kernel_cos; cephes sinf/cosf).
_SIN_F64 = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
            2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_COS_F64 = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
            -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)
_SIN_F32 = (-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4)
_COS_F32 = (4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5)


def _horner(z, coefficients):
    value = jnp.full_like(z, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        value = value * z + c
    return value


def _sincos(x):
    """(sin x, cos x) for real x (|x| < ~1e5 for full accuracy), vectorizable on XLA-CPU."""
    single = x.dtype == jnp.float32
    p1, p2, p3 = _PIO2_F32 if single else _PIO2_F64
    n = jnp.round(x * (2.0 / math.pi))
    r = ((x - n * p1) - n * p2) - n * p3
    z = r * r
    sin_poly, cos_poly = (_SIN_F32, _COS_F32) if single else (_SIN_F64, _COS_F64)
    sin_r = r + r * z * _horner(z, sin_poly)
    cos_r = 1.0 - 0.5 * z + z * z * _horner(z, cos_poly)
    quadrant = n - 4.0 * jnp.floor(0.25 * n)  # 0, 1, 2, 3
    odd = (quadrant == 1.0) | (quadrant == 3.0)
    sin_x = jnp.where(odd, cos_r, sin_r) * jnp.where(quadrant >= 2.0, -1.0, 1.0)
    cos_x = jnp.where(odd, sin_r, cos_r) * jnp.where((quadrant == 1.0) | (quadrant == 2.0), -1.0, 1.0)
    return sin_x, cos_x


# ---------------------------------------------------------------------------------------------
# Per-state kernels (scalars in, scalars out; PERFORMANCE.md item 1).


def _magnus_rotate(b0, sigma0, delta, d1x, d1y, d2x, d2y, h):
    """One Magnus-4 step for delta = sigma - sigma0: returns the new delta (3 scalars).

    b(t) = b0 + (d_x, d_y, 0) at the two Gauss nodes (b is affine in k). The rotation vector is
    w = (2h/hbar) b0 + w_s with the small part
        w_s = (h/hbar)(d1 + d2) + (sqrt(3) h^2/12)(2/hbar)^2 (b2 x b1),
        b2 x b1 = b0 x (d1 - d2) + d2 x d1,
    and R sigma - sigma0 = delta + A c + B w x c with c = w x sigma = w_s x sigma0 + w x delta
    (b0 x sigma0 = 0 exactly), A = sin(theta)/theta, B = (1 - cos theta)/theta^2, theta = |w|.
    """
    b0x, b0y, b0z = b0
    s0x, s0y, s0z = sigma0
    dx, dy, dz = delta
    lin = h / HBAR
    com = _MAGNUS_COMMUTATOR * (2.0 * h / HBAR) ** 2
    ex, ey = d1x - d2x, d1y - d2y
    # b0 x e with e = (ex, ey, 0), plus d2 x d1 (only a z component).
    cx = -b0z * ey
    cy = b0z * ex
    cz = b0x * ey - b0y * ex + (d2x * d1y - d2y * d1x)
    wsx = lin * (d1x + d2x) + com * cx
    wsy = lin * (d1y + d2y) + com * cy
    wsz = com * cz
    wx = 2.0 * lin * b0x + wsx
    wy = 2.0 * lin * b0y + wsy
    wz = 2.0 * lin * b0z + wsz
    # c = w_s x sigma0 + w x delta
    c_x = (wsy * s0z - wsz * s0y) + (wy * dz - wz * dy)
    c_y = (wsz * s0x - wsx * s0z) + (wz * dx - wx * dz)
    c_z = (wsx * s0y - wsy * s0x) + (wx * dy - wy * dx)
    theta2 = wx * wx + wy * wy + wz * wz
    half = 0.5 * jnp.sqrt(theta2)
    small = half < _SMALL_ANGLE
    safe = jnp.where(small, 1.0, half)
    sin_half, cos_half = _sincos(half)
    # A = sin(theta)/theta and B = (1 - cos theta)/theta^2 each end in a division: XLA-CPU then
    # computes them once per state instead of re-deriving sin and cos inside each of the three
    # output fusions (it duplicates cheap elementwise producers; measured 1.5-2x on the pipeline).
    a = jnp.where(small, 1.0 - half * half * (2.0 / 3.0), sin_half * cos_half / safe)
    bb = jnp.where(small, 0.5 - half * half / 6.0, 0.5 * sin_half * sin_half / (safe * safe))
    n_x = wy * c_z - wz * c_y
    n_y = wz * c_x - wx * c_z
    n_z = wx * c_y - wy * c_x
    return dx + a * c_x + bb * n_x, dy + a * c_y + bb * n_y, dz + a * c_z + bb * n_z


def _advance(b0, sigma0, delta, nodes, h):
    """All substeps of one output interval; nodes (S, 2, 2) = in-plane Delta b at the two Gauss nodes."""

    def body(d, node):
        return _magnus_rotate(b0, sigma0, d, node[0, 0], node[0, 1], node[1, 0], node[1, 1], h), None

    delta, _ = jax.lax.scan(body, delta, nodes)
    return delta


def _shift_to_db(alpha, nodes):
    """Delta k (..., 2) -> Delta b in-plane (..., 2) = alpha (Delta k_y, -Delta k_x)."""
    return jnp.stack([alpha * nodes[..., 1], -alpha * nodes[..., 0]], axis=-1)


def _state_constants(model, kx, ky, s):
    """b0 = b(k0) and sigma0 = s b0/|b0| (3 + 3 scalars) and Omega(k0)."""
    b0 = exchange_field_components(model, kx, ky)
    omega = jnp.sqrt(b0[0] * b0[0] + b0[1] * b0[1] + b0[2] * b0[2])
    scale = s / omega
    return b0, (b0[0] * scale, b0[1] * scale, b0[2] * scale), omega


def _exact_observables(b0, sigma0, delta, dbx, dby):
    """d sigma/dt = (2/hbar)(Delta b x sigma0 + b x delta) [1/fs], b = b0 + Delta b."""
    s0x, s0y, s0z = sigma0
    dx, dy, dz = delta
    bx, by, bz = b0[0] + dbx, b0[1] + dby, b0[2]
    g = 2.0 / HBAR
    return (
        g * (dby * s0z + (by * dz - bz * dy)),
        g * (-dbx * s0z + (bz * dx - bx * dz)),
        g * ((dbx * s0y - dby * s0x) + (bx * dy - by * dx)),
    )


def first_order_components(model, kx, ky, s, vx, vy):
    """delta sigma_1 = -(s hbar/(2 Omega^3)) b x db/dt, db/dt = alpha (k' x z) = alpha (v_y, -v_x, 0).

    (kx, ky) [1/nm], (vx, vy) = k' [1/(nm fs)]; dimensionless. Adiabatic perturbation theory of the
    Bloch equation to first order in hbar |db/dt|/Omega^2: s db^/dt = (2/hbar) b x delta sigma_1.
    """
    bx, by, bz = exchange_field_components(model, kx, ky)
    bdx, bdy = model.alpha * vy, -model.alpha * vx
    omega2 = bx * bx + by * by + bz * bz
    scale = -s * HBAR / (2.0 * omega2 * jnp.sqrt(omega2))
    # b x (bdx, bdy, 0)
    return scale * (-bz * bdy), scale * (bz * bdx), scale * (bx * bdy - by * bdx)


def _semiclassical_observables(model, k0x, k0y, s, b0, omega0, dkx, dky, vx, vy, ax, ay):
    """Per state at k = k0 + Delta k: [s(b^ - b^0) (3), ds/dt (3), delta sigma_1 (3),
    d(delta sigma_1)/dt (3), delta sigma_2 (3)], adiabaticity epsilon and Omega.

    delta sigma_2 = -(hbar/(2 Omega^2)) b x d(delta sigma_1)/dt - (|delta sigma_1|^2/2) s b^ is the next
    term of the adiabatic series (from (2/hbar) b x delta sigma_2 = d(delta sigma_1)/dt and |sigma| = 1);
    it carries the O(epsilon^2) terms and, linear in the field, the O(hbar/(Omega T)) ones of a field
    (or k') that changes on a time scale T (ramps, relaxation).

    s(b^ - b^0) is formed without cancellation: b^ - b^0 = Delta b/|b| + b0 (1/|b| - 1/|b0|) with
    1/|b| - 1/|b0| = -Delta b.(2 b0 + Delta b)/(|b||b0|(|b| + |b0|)).
    """
    kx, ky = k0x + dkx, k0y + dky
    dbx, dby = model.alpha * dky, -model.alpha * dkx
    bx, by, bz = b0[0] + dbx, b0[1] + dby, b0[2]
    omega = jnp.sqrt(bx * bx + by * by + bz * bz)
    growth = dbx * (2.0 * b0[0] + dbx) + dby * (2.0 * b0[1] + dby)
    inv_change = -growth / (omega * omega0 * (omega + omega0))
    change = (
        s * (dbx / omega + b0[0] * inv_change),
        s * (dby / omega + b0[1] * inv_change),
        s * (b0[2] * inv_change),
    )
    rate = spin_rate_components(model, kx, ky, s, HBAR * vx, HBAR * vy)
    first, first_rate = jax.jvp(
        lambda qx, qy, px, py: first_order_components(model, qx, qy, s, px, py),
        (kx, ky, vx, vy),
        (vx, vy, ax, ay),
    )
    epsilon = HBAR * jnp.abs(model.alpha) * jnp.sqrt(vx * vx + vy * vy) / (omega * omega)
    fx, fy, fz = first
    gx, gy, gz = first_rate
    lever = -HBAR / (2.0 * omega * omega)
    along = -0.5 * (fx * fx + fy * fy + fz * fz) * s / omega
    second = (
        lever * (by * gz - bz * gy) + along * bx,
        lever * (bz * gx - bx * gz) + along * by,
        lever * (bx * gy - by * gx) + along * bz,
    )
    return (*change, *rate, *first, *first_rate, *second), epsilon, omega


# ---------------------------------------------------------------------------------------------
# Per-state trajectories (vmap over states of a scan over time).


def _state_run(model, k0x, k0y, s, init, schedule, full):
    """One state: scan over output times. Returns per time (T, 3) delta, or (T, 21) + (T, 2) when full."""
    b0, sigma0, omega0 = _state_constants(model, k0x, k0y, s)
    if init is None:
        delta0 = (jnp.zeros_like(k0x),) * 3
    else:
        delta0 = (init[0] - sigma0[0], init[1] - sigma0[1], init[2] - sigma0[2])
    db_nodes = _shift_to_db(model.alpha, schedule.nodes)

    def step(delta, x):
        nodes, h, dk, v, acc = x
        delta = _advance(b0, sigma0, delta, nodes, h)
        if not full:
            return delta, jnp.stack(delta)
        dbx, dby = model.alpha * dk[1], -model.alpha * dk[0]
        rate = _exact_observables(b0, sigma0, delta, dbx, dby)
        sc, eps, omega = _semiclassical_observables(
            model, k0x, k0y, s, b0, omega0, dk[0], dk[1], v[0], v[1], acc[0], acc[1]
        )
        return delta, (jnp.stack([*delta, *rate, *sc]), jnp.stack([eps, omega]))

    xs = (db_nodes, schedule.step, schedule.shift, schedule.k_rate, schedule.k_accel)
    _, out = jax.lax.scan(step, delta0, xs)
    return out, jnp.stack(sigma0), omega0


@functools.partial(jax.jit, static_argnames=("full",))
def _trajectory_impl(model, k0, s, init, schedule, *, full):
    if init is None:
        return jax.vmap(lambda kx, ky: _state_run(model, kx, ky, s, None, schedule, full))(k0[:, 0], k0[:, 1])
    return jax.vmap(lambda kx, ky, i: _state_run(model, kx, ky, s, i, schedule, full))(k0[:, 0], k0[:, 1], init)


# ---------------------------------------------------------------------------------------------
# Input handling shared by the public functions.


def _resolve_drive(efield, ramp_time):
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


def _check_times(times):
    times = jnp.asarray(times)
    if times.ndim != 1 or times.shape[0] < 2:
        raise ValueError(f"times has shape {times.shape}; allowed: (T,) with T >= 2")
    check_finite("times", times)
    if not bool(jnp.all(jnp.diff(times) > 0)):
        raise ValueError("times is not strictly increasing; allowed: a strictly increasing 1D array [fs]")
    return times


def _check_tau(tau):
    if tau is not None:
        check_range("tau", tau, low=0.0, low_inclusive=False, unit="fs")
    return tau


def _prepare_states(model, k0, times, initial_spin=None):
    check_shape("k0", k0, (2,))
    check_finite("k0", k0)
    k0 = jnp.asarray(k0)
    arrays = [k0, times]
    if initial_spin is not None:
        check_shape("initial_spin", initial_spin, (3,))
        check_finite("initial_spin", initial_spin)
        arrays.append(jnp.asarray(initial_spin))
    dtype = _float_dtype(*arrays)
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


DEGENERACY_THRESHOLD = 1e-3
"""States prepared with Omega(k0) < DEGENERACY_THRESHOLD * J are reported (as in `simulate`)."""


def _warn_degenerate(model, omega0, k0, what):
    """Never silent: at the band touching (Omega(k0) = 0) the band spin s b/|b| is undefined (nan);
    near it, it is ill-conditioned and the semiclassical rates diverge (the exact evolution is regular)."""
    if not is_concrete(omega0, model):
        return
    omega0 = onp.asarray(omega0)
    near = ~(omega0 >= DEGENERACY_THRESHOLD * float(model.j_ex))
    if not onp.any(near):
        return
    worst = int(onp.argmin(onp.where(onp.isnan(omega0), -1.0, omega0)))
    warnings.warn(
        f"{what}: {int(onp.sum(near))} state(s) prepared at or near the band touching point "
        f"(k0 = {onp.asarray(k0)[worst].tolist()}, Omega = {omega0[worst]:.3g} eV < {DEGENERACY_THRESHOLD:g} J): the band "
        "spin s b/|b| is undefined there (nan) or ill-conditioned, and semiclassical rates diverge; "
        "move k0 off k* = (J/alpha)(z x M)",
        RuntimeWarning,
        stacklevel=3,
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
        k0: (..., 2) [1/nm]. band: +1 (upper) or -1 (lower).
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
    _check_tau(tau)
    times = _check_times(times)
    drive = _resolve_drive(efield, ramp_time)
    model, flat, times, init, lead, _ = _prepare_states(model, k0, times, initial_spin)
    schedule = _schedule(drive, times, tau, substeps)
    delta, sigma0, omega0 = _trajectory_impl(model, flat, float(s), init, schedule, full=False)
    _warn_degenerate(model, omega0, flat, "exact_spin_trajectory")
    spin = sigma0[:, None, :] + delta
    return spin.reshape(lead + (times.shape[0], 3))


def adiabaticity(model: RashbaFerromagnet, k: Float[Array, "... 2"], efield: Float[Array, "... 2"]) -> Float[Array, "..."]:
    """epsilon = hbar |db/dt| / Omega^2 = |alpha| e |E| / Omega(k)^2 for hbar k' = qE (dimensionless).

    The expansion parameter of adiabatic following: the non-adiabatic spin is ~ epsilon/2 and the
    semiclassical ds/dt is off by O(epsilon) relative. k (..., 2) [1/nm], efield (..., 2) [V/nm].
    """
    check_shape("k", k, (2,))
    check_shape("efield", efield, (2,))
    k, efield = jnp.asarray(k), jnp.asarray(efield)
    dtype = _float_dtype(k, efield)
    model = model.astype(dtype)
    omega = splitting(model, k[..., 0].astype(dtype), k[..., 1].astype(dtype))
    return jnp.abs(model.alpha) * jnp.linalg.norm(efield.astype(dtype), axis=-1) / omega**2


def nonadiabatic_spin_first_order(
    model: RashbaFerromagnet, k: Float[Array, "... 2"], band: int, efield: Float[Array, "... 2"]
) -> Float[Array, "... 3"]:
    """First-order (intrinsic) non-adiabatic spin delta sigma_1 for hbar k' = qE (PHYSICS.md).

    delta sigma_1 = -(s hbar/(2 Omega^3)) b x db/dt, db/dt = alpha (k' x z); with q = -e this is
    -(e alpha/(2 Omega^3)) b x (E x z) for the lower band (s = -1) and the opposite for the upper.
    It is the solution of s db^/dt = (2/hbar) b x delta sigma_1 (the Bloch equation at first order in
    epsilon), so (2/hbar) b x delta sigma_1 is the semiclassical ds/dt. k (..., 2), efield (..., 2) -> (..., 3).
    """
    s = check_band(band)
    check_shape("k", k, (2,))
    check_shape("efield", efield, (2,))
    k, efield = jnp.asarray(k), jnp.asarray(efield)
    dtype = _float_dtype(k, efield)
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
                delta sigma_1 + delta sigma_2 (next term of the adiabatic series, see _semiclassical_observables).
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
        mask = _window_mask(self.times, window)
        diff = jnp.linalg.norm(values[approx] - values[reference], axis=-1)
        scale = jnp.linalg.norm(values[reference], axis=-1)
        return jnp.max(jnp.where(mask, diff, 0.0), axis=-1) / jnp.max(jnp.where(mask, scale, 0.0), axis=-1)


def _window_mask(times, window):
    if window is None:
        return jnp.ones(times.shape, bool)
    return (times >= window[0]) & (times <= window[1])


def _assemble_state(model, flat_k0, s, schedule, out, sigma0, lead):
    """Per-state observables from the minimal kernel outputs (delta, rates, semiclassical parts)."""
    values, extra = out
    delta, rate = values[..., 0:3], values[..., 3:6]
    change, sc_rate, first, first_rate = values[..., 6:9], values[..., 9:12], values[..., 12:15], values[..., 15:18]
    second = values[..., 18:21]
    spin = sigma0[:, None, :] + delta
    band = sigma0[:, None, :] + change
    k = flat_k0[:, None, :] + schedule.shift[None]
    zero = jnp.zeros_like(k[..., 0])
    b_so = model.alpha * jnp.stack([k[..., 1], -k[..., 0], zero], -1)
    m = jnp.broadcast_to(model.magnetization, spin.shape)
    g = 2.0 / HBAR

    def t1(x):
        return g * jnp.cross(b_so, x)

    def exch(x):
        return g * model.j_ex * jnp.cross(m, x)

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
    estimate_error: also run with 2 * substeps and report max |difference| * 16/15 (costs 3x).
    """
    s = check_band(band)
    substeps = check_count("substeps", substeps, minimum=1)
    _check_tau(tau)
    times = _check_times(times)
    drive = _resolve_drive(efield, ramp_time)
    model, flat, times, _, lead, _ = _prepare_states(model, k0, times)
    schedule = _schedule(drive, times, tau, substeps)
    out, sigma0, omega0 = _trajectory_impl(model, flat, float(s), None, schedule, full=True)
    _warn_degenerate(model, omega0, flat, "compare_spin_dynamics")
    error = jnp.asarray(jnp.nan, times.dtype)
    if estimate_error:
        fine = _schedule(drive, times, tau, 2 * substeps)
        finer, _, _ = _trajectory_impl(model, flat, float(s), None, fine, full=False)
        error = jnp.max(jnp.abs(finer - out[0][..., 0:3])) * (16.0 / 15.0)
    obs, eps, omega = _assemble_state(model, flat, float(s), schedule, out, sigma0, lead)
    return SpinComparison(times, schedule.efield, schedule.shift, schedule.k_rate, eps, omega, obs, error)


# ---------------------------------------------------------------------------------------------
# Ensembles: the Fermi sea, every state exact.

# Per-state sums of `_ensemble_block`, in this order: delta = sigma - sigma0 (3), d sigma/dt (3);
# with semiclassical=True also s(b^ - b^0) (3), ds/dt (3), delta sigma_1 (3), d delta sigma_1/dt (3),
# delta sigma_2 (3).


def _chunk_states(k0, weight, sign, chunk):
    n = k0.shape[0]
    pad = -(-n // chunk) * chunk - n
    k0 = jnp.concatenate([k0, jnp.broadcast_to(k0[:1], (pad, 2))]).reshape(-1, chunk, 2)
    weight = jnp.concatenate([weight, jnp.zeros((pad,), weight.dtype)]).reshape(-1, chunk)
    sign = jnp.concatenate([sign, jnp.broadcast_to(sign[:1], (pad,))]).reshape(-1, chunk)
    return k0, weight, sign


@functools.partial(jax.jit, static_argnames=("semiclassical",))
def _ensemble_block(model, states, delta, block, *, semiclassical):
    """Advance every state through one block of output times and return the weighted sums.

    states = (k0 (C, chunk, 2), weight (C, chunk), sign (C, chunk)); delta (C, chunk, 3) is the
    carried deviation sigma - sigma0. Loop order as in `simulate`: chunks outside, time inside, with
    the XLA-CPU layout lessons of `_dynamics._chunked_sums`: components stay separate (chunk,)
    arrays summed by one (components, chunk) @ (chunk,) product per step; Omega is reduced by a
    running elementwise minimum, once per chunk; the model enters the time loop as a scanned input.
    Returns new delta, sums (B, 6 [+ 15]) per area, and the smallest Omega over states and times
    (inf without semiclassical).
    """
    k_all, w_all, s_all = states
    db_nodes = _shift_to_db(model.alpha, block.nodes)
    dtype = delta.dtype
    steps = block.step.shape[0]
    step_models = jax.tree_util.tree_map(lambda leaf: jnp.broadcast_to(leaf, (steps,) + leaf.shape), model)

    def over_chunk(lowest_all, data):
        k_c, w_c, s_c, d_c = data
        kx_c, ky_c = k_c[:, 0], k_c[:, 1]
        b0, sigma0, omega0 = jax.vmap(lambda kx, ky, s: _state_constants(model, kx, ky, s))(kx_c, ky_c, s_c)

        def over_time(carry, x):
            d, lowest = carry
            nodes, h, dk, v, acc, step_model = x
            d = jax.vmap(lambda b, s0, dd: _advance(b, s0, dd, nodes, h))(b0, sigma0, d)
            dbx, dby = step_model.alpha * dk[1], -step_model.alpha * dk[0]
            rate = jax.vmap(lambda b, s0, dd: _exact_observables(b, s0, dd, dbx, dby))(b0, sigma0, d)
            values = (*d, *rate)
            if semiclassical:
                sc, _, omega = jax.vmap(
                    lambda kx, ky, s, b, o: _semiclassical_observables(
                        step_model, kx, ky, s, b, o, dk[0], dk[1], v[0], v[1], acc[0], acc[1]
                    )
                )(kx_c, ky_c, s_c, b0, omega0)
                values = values + tuple(sc)
                lowest = jnp.minimum(lowest, omega)
            return (d, lowest), jnp.stack(values) @ w_c

        d0 = (d_c[:, 0], d_c[:, 1], d_c[:, 2])
        xs = (db_nodes, block.step, block.shift, block.k_rate, block.k_accel, step_models)
        start = (d0, jnp.full(kx_c.shape, jnp.inf, dtype))
        (d_end, lowest), sums = jax.lax.scan(over_time, start, xs)
        return jnp.minimum(lowest_all, jnp.min(lowest)), (jnp.stack(d_end, axis=-1), sums)

    lowest, (delta, sums) = jax.lax.scan(over_chunk, jnp.asarray(jnp.inf, dtype), (k_all, w_all, s_all, delta))
    return delta, jnp.sum(sums, axis=0) * _AREA_MEASURE, lowest


@jax.jit
def _equilibrium(model, states):
    k_all, w_all, s_all = states
    _, sigma0, omega0 = jax.vmap(jax.vmap(lambda kx, ky, s: _state_constants(model, kx, ky, s)))(
        k_all[..., 0], k_all[..., 1], s_all
    )
    spin = jnp.stack(sigma0, axis=-1)
    return jnp.einsum("cn,cnj->j", w_all, spin) * _AREA_MEASURE, jnp.min(omega0)


def _slice_schedule(schedule, start, stop, size):
    # Pad with zero-length intervals (identity rotations): the carried spins stay exact.
    index = jnp.arange(start, start + size)
    valid = index < stop
    index = jnp.minimum(index, stop - 1)

    def take(x):
        return x[index]

    block = jax.tree_util.tree_map(take, schedule)
    return eqx.tree_at(lambda b: b.step, block, jnp.where(valid, block.step, 0.0))


def _sea_nodes(model, fermi_energy, num_phi, num_r):
    ks, ws, ss = [], [], []
    for s in occupied_bands(model, fermi_energy):
        k, area = _sea_nodes_impl(model, fermi_energy, float(s), num_phi, num_r)
        ks.append(k)
        ws.append(area)
        ss.append(jnp.full(area.shape, float(s), area.dtype))
    return jnp.concatenate(ks), jnp.concatenate(ws), jnp.concatenate(ss)


class ExactSimulationResult(eqx.Module):
    """The Fermi sea evolved exactly (every state a spinor) next to the semiclassical sea, per area.

    Fields (T = len(times)):
        times (T,) [fs]; efield (T, 2) [V/nm]; delta_k (T, 2) [1/nm]; k_rate (T, 2) [1/(nm fs)];
        band_densities (2,) [1/nm^2] (lower, upper) of the nodes; equilibrium_spin (3,) [1/nm^2];
        observables: {name: {"exact" | "semiclassical" | "first_order": (T, 3)}} per area
            (units: `jaxsot.QUANTUM_UNITS`; sums over the states of the `SpinComparison` quantities):
            spin_density_change S - S_eq; spin_rate dS/dt; damping_torque T2 = -dS/dt;
            field_like_torque T1 - T1_eq (current-induced); exchange_torque (2J/hbar) M x (S - S_eq)
            (semiclassical: T1_sc + T2_sc, the papers' eq. 6); nonadiabatic_spin_density S - S_sc
            (first_order: sum of delta sigma_1; second_order: + delta sigma_2);
            damping_like_torque (2J/hbar) M x (S - S_sc) (semiclassical: T2_sc, the papers' identification).
            With semiclassical=False only "exact" entries of the first five.
        adiabaticity (T,): hbar |alpha| |k'(t)|/Omega_min^2, Omega_min the smallest splitting over states
            and times: a bound of the max over states of epsilon = hbar |db/dt|/Omega^2 (nan without semiclassical);
        min_splitting: smallest Omega over states and times (at t = 0 only without semiclassical) [eV];
        integration_error: estimated max relative error of the exact T2 (step doubling; nan if not asked);
        num_states; substeps: Magnus steps per output interval; notes: sentences about degeneracies or accuracy.
    """

    times: Array
    efield: Array
    delta_k: Array
    k_rate: Array
    band_densities: Array
    equilibrium_spin: Array
    observables: dict
    adiabaticity: Array
    min_splitting: Array
    integration_error: Array
    num_states: int = eqx.field(static=True)
    substeps: int = eqx.field(static=True)
    notes: tuple = eqx.field(static=True)

    def relative_error(self, name: str, approx: str, window=None, reference: str = "exact") -> float:
        """max_t |approx - reference| / max_t |reference| over times in window = (t0, t1) [fs]."""
        mask = onp.asarray(_window_mask(self.times, window))
        values = self.observables[name]
        diff = onp.linalg.norm(onp.asarray(values[approx]) - onp.asarray(values[reference]), axis=-1)[mask]
        scale = onp.linalg.norm(onp.asarray(values[reference]), axis=-1)[mask]
        return float(diff.max() / scale.max()) if scale.max() > 0 else float("nan")

    def window_mean(self, name: str, approx: str, window=None) -> onp.ndarray:
        """Time average (trapezoid) of an observable over window = (t0, t1) [fs]; shape (3,)."""
        mask = onp.asarray(_window_mask(self.times, window))
        t = onp.asarray(self.times)[mask]
        values = onp.asarray(self.observables[name][approx])[mask]
        if t.size < 2:
            return values.mean(axis=0)
        return onp.trapezoid(values, t, axis=0) / (t[-1] - t[0])


def exact_simulate(
    model: RashbaFerromagnet,
    fermi_energy,
    drive,
    times: Float[Array, "T"],
    *,
    ramp_time=None,
    tau=None,
    num_phi: int = 128,
    num_r: int = 16,
    nodes=None,
    substeps: int | None = None,
    max_angle: float = 0.4,
    semiclassical: bool = True,
    estimate_error: bool = False,
    block_steps: int = 256,
    chunk: int = 2048,
    progress: Callable[[int, int], None] | None = None,
) -> ExactSimulationResult:
    """Evolve the T = 0 Fermi sea with the exact spinor dynamics of every state, per area.

    The ensemble and the drive are those of `simulate`: the sea of every occupied band on
    num_phi x num_r polar Gauss-Legendre nodes (or `nodes`), every state starting in its band at
    times[0] and following k(t) = k0 + Delta k(t), hbar dDelta k/dt = qE(t) - hbar Delta k/tau.
    Each state's <sigma> is integrated as in `exact_spin_trajectory`; with semiclassical=True the
    band-following quantities are summed at the same k(t) in the same pass (`ExactSimulationResult`).
    Sums are formed from deviations (sigma - sigma0, s(b^ - b^0)), never as differences of large sums.

    Args:
        fermi_energy: E_F [eV]. drive: a drive callable (as in `simulate`) or a constant (2,) field
            [V/nm] (step at t = 0, or smooth ramp with ramp_time [fs]). times: (T,) increasing [fs].
        tau: relaxation time [fs] or None. nodes: optional (k (N, 2), weight (N,) [1/nm^2], band sign
            (N,)) replacing the default sea quadrature (sum weight * f ~ integral of f d^2k).
        substeps: Magnus steps per output interval (accuracy: see `exact_spin_trajectory`); None
            chooses the fewest that keep the precession angle per step 2 Omega h/hbar <= max_angle
            [rad] for every state (Omega bounded by Omega(k0) + |alpha| max|Delta k|); the relative
            error of the field-induced quantities is then <~ 3e-3 max_angle^4 (8e-5 for 0.4).
        semiclassical: also sum the semiclassical and first-order quantities (side by side); False is
            the bare exact pipeline (the benchmark's "exact" column).
        estimate_error: repeat with 2 * substeps and report the estimated relative error of T2.
        block_steps, chunk, progress: as in `simulate`.
    """
    check_finite("fermi_energy", fermi_energy)
    if substeps is not None:
        substeps = check_count("substeps", substeps, minimum=1)
    check_range("max_angle", max_angle, low=0.0, high=3.0, low_inclusive=False, unit="rad")
    num_phi = check_count("num_phi", num_phi, minimum=8)
    num_r = check_count("num_r", num_r, minimum=2)
    block_steps = check_count("block_steps", block_steps, minimum=1)
    chunk = check_count("chunk", chunk, minimum=1)
    _check_tau(tau)
    times = _check_times(times)
    drive = _resolve_drive(drive, ramp_time)
    dtype = _float_dtype(times)
    times = times.astype(dtype)
    model = model.astype(dtype)
    fermi_energy = jnp.asarray(fermi_energy, dtype)
    if nodes is None:
        k0, weight, sign = _sea_nodes(model, fermi_energy, num_phi, num_r)
    else:
        k0, weight, sign = (jnp.asarray(x, dtype) for x in nodes)
        check_shape("nodes[0]", k0, (2,))
        if k0.ndim != 2 or weight.shape != k0.shape[:1] or sign.shape != k0.shape[:1]:
            raise ValueError(
                f"nodes have shapes {k0.shape}, {weight.shape}, {sign.shape}; allowed: (N, 2), (N,), (N,)"
            )
        if is_concrete(sign) and not bool(jnp.all(jnp.abs(sign) == 1.0)):
            raise ValueError("nodes[2] (band signs) contains values other than +1/-1; allowed: +1 (upper), -1 (lower)")
    num_states = int(k0.shape[0])
    auto = substeps is None
    if auto:
        substeps = _auto_substeps(model, k0, times, max_angle, 0.0)
    chunk = min(chunk, num_states)
    states = _chunk_states(k0, weight, sign, chunk)
    densities = jnp.stack([jnp.sum(jnp.where(sign < 0, weight, 0.0)), jnp.sum(jnp.where(sign > 0, weight, 0.0))])
    densities = densities * _AREA_MEASURE

    def run(count):
        schedule = _schedule(drive, times, tau, count)
        steps = times.shape[0]
        block = min(block_steps, steps)
        delta = jnp.zeros(states[0].shape[:2] + (3,), dtype)
        sums, lowest = [], jnp.asarray(jnp.inf, dtype)
        for start in range(0, steps, block):
            stop = min(start + block, steps)
            piece = _slice_schedule(schedule, start, stop, block)
            delta, s_, o_ = _ensemble_block(model, states, delta, piece, semiclassical=semiclassical)
            sums.append(s_[: stop - start])
            lowest = jnp.minimum(lowest, o_)
            if progress is not None:
                progress(stop, steps)
        return schedule, jnp.concatenate(sums), lowest

    if auto:
        # Omega grows by at most |alpha| max|Delta k| along the run: check the choice on the actual shift.
        shift = float(jnp.max(jnp.linalg.norm(_schedule(drive, times, tau, substeps).shift, axis=-1)))
        substeps = _auto_substeps(model, k0, times, max_angle, shift)
    schedule, sums, lowest = run(substeps)
    spin_eq, omega_initial = _equilibrium(model, states)
    smallest = jnp.minimum(omega_initial, lowest)
    # max over states of epsilon at each t, bounded with the smallest Omega of the run (exact when the
    # smallest splitting and the largest |k'| meet; a per-step reduction is slow on XLA-CPU).
    eps = HBAR * jnp.abs(model.alpha) * jnp.linalg.norm(schedule.k_rate, axis=-1) / smallest**2
    observables = _ensemble_observables(model, sums, semiclassical)
    error = jnp.asarray(jnp.nan, dtype)
    if estimate_error:
        _, fine, _ = run(2 * substeps)
        t2 = sums[:, 3:6]
        error = jnp.max(jnp.abs(fine[:, 3:6] - t2)) * (16.0 / 15.0) / jnp.max(jnp.abs(t2))
    notes = _ensemble_notes(model, fermi_energy, smallest, observables, nodes is None)
    return ExactSimulationResult(
        times=times,
        efield=schedule.efield,
        delta_k=schedule.shift,
        k_rate=schedule.k_rate,
        band_densities=densities,
        equilibrium_spin=spin_eq,
        observables=observables,
        adiabaticity=eps if semiclassical else jnp.full(eps.shape, jnp.nan, dtype),
        min_splitting=smallest,
        integration_error=error,
        num_states=num_states,
        substeps=substeps,
        notes=notes,
    )


def _auto_substeps(model, k0, times, max_angle, shift):
    """Fewest substeps with 2 Omega_max h/hbar <= max_angle, Omega_max <= max Omega(k0) + |alpha| shift."""
    k = onp.asarray(k0, float)
    m = onp.asarray(model.magnetization, float)
    alpha, j = float(model.alpha), float(model.j_ex)
    b = onp.stack([alpha * k[:, 1] - j * m[0], -alpha * k[:, 0] - j * m[1], onp.full(len(k), -j * m[2])], -1)
    omega = float(onp.max(onp.linalg.norm(b, axis=-1))) + abs(alpha) * shift
    interval = float(onp.max(onp.diff(onp.asarray(times, float))))
    return max(1, int(math.ceil(2.0 * omega * interval / (HBAR * float(max_angle)))))


def _ensemble_observables(model, sums, semiclassical):
    g = 2.0 / HBAR
    m = jnp.broadcast_to(model.magnetization, sums[:, :3].shape)

    def exch(x):
        return g * model.j_ex * jnp.cross(m, x)

    change, rate = sums[:, 0:3], sums[:, 3:6]
    torque = exch(change)
    obs = {
        "spin_density_change": {"exact": change},
        "spin_rate": {"exact": rate},
        "damping_torque": {"exact": -rate},
        # T = T1 + T2 (identity of the Bloch equation), so T1 - T1_eq = T + dS/dt.
        "field_like_torque": {"exact": torque + rate},
        "exchange_torque": {"exact": torque},
    }
    if not semiclassical:
        return obs
    band, sc_rate, first, first_rate = sums[:, 6:9], sums[:, 9:12], sums[:, 12:15], sums[:, 15:18]
    second = sums[:, 18:21]
    sc_torque = exch(band)  # = T1_sc - T1_eq for band states
    first_change = band + first
    first_rate_total = sc_rate + first_rate
    obs["spin_density_change"].update(semiclassical=band, first_order=first_change)
    obs["spin_rate"].update(semiclassical=sc_rate, first_order=first_rate_total)
    obs["damping_torque"].update(semiclassical=-sc_rate, first_order=-first_rate_total)
    obs["field_like_torque"].update(semiclassical=sc_torque, first_order=exch(first_change) + first_rate_total)
    obs["exchange_torque"].update(semiclassical=sc_torque - sc_rate, first_order=exch(first_change))
    obs["nonadiabatic_spin_density"] = {"exact": change - band, "first_order": first, "second_order": first + second}
    obs["damping_like_torque"] = {"exact": exch(change - band), "first_order": exch(first), "semiclassical": -sc_rate}
    return obs


def _ensemble_notes(model, fermi_energy, smallest, observables, default_nodes) -> tuple:
    notes = []
    if default_nodes:
        report = band_touching_report(model, fermi_energy)
        if report:
            notes.append(report)
    if float(smallest) <= 0.0:
        notes.append("a state sits at the band touching point (Omega = 0): its band spin is undefined (nan)")
    bad = sorted({n for n, v in observables.items() for a, x in v.items() if not bool(jnp.all(jnp.isfinite(x)))})
    if bad:
        notes.append(f"non-finite values in: {', '.join(bad)} (states at the band touching)")
    return tuple(notes)


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
    """Least-squares fit y = c x^p in log-log over points with x <= x_max and y > floor: (p, c)."""
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
        schedule = _schedule_impl(drive, times, 0.0, substeps)
        # Start where the state reaches k0 in the middle of the window (Omega is smallest there).
        start = (k0 - schedule.shift[middle])[None]
        out, sigma0, _ = _trajectory_impl(model, start, s, None, schedule, full=True)
        error = jnp.full((), jnp.nan, times.dtype)
        if estimate_error:
            fine = _schedule_impl(drive, times, 0.0, 2 * substeps)
            finer, _, _ = _trajectory_impl(model, start, s, None, fine, full=False)
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
        k0: (2,) [1/nm]; band: +1 or -1; adiabaticities: (P,) target epsilon values (> 0);
        direction: in-plane field direction (2,) (default x), or "tangential".
    """
    s = check_band(band)
    check_shape("k0", k0, (2,))
    check_finite("k0", k0)
    check_range("ramp_periods", ramp_periods, low=1.0, unit="periods")
    check_range("window_periods", window_periods, low=0.5, unit="periods")
    steps_per_period = check_count("steps_per_period", steps_per_period, minimum=4)
    check_range("adiabaticities", adiabaticities, low=0.0, low_inclusive=False)
    targets = onp.atleast_1d(onp.asarray(adiabaticities, float))
    alpha = float(model.alpha)
    if alpha == 0.0:
        raise ValueError("alpha = 0.0 is not allowed here; allowed: alpha != 0 (no Rashba field, no spin force)")
    dtype = _float_dtype(jnp.asarray(k0), model.alpha)
    model = model.astype(dtype)
    k0 = jnp.asarray(k0, dtype)
    omega0 = float(splitting(model, k0[0], k0[1]))
    if not omega0 > 0:
        raise ValueError(f"k0 = {onp.asarray(k0).tolist()} is at the band touching point (Omega = 0); allowed: Omega(k0) > 0")
    if isinstance(direction, str):
        if direction != "tangential":
            raise ValueError(f"direction = {direction!r} is not allowed; allowed: an in-plane 2-vector or 'tangential'")
        # grad Omega is along u = alpha k - J (z x M); move along z x u (Omega changes at second order).
        m = onp.asarray(model.magnetization, float)
        u = alpha * onp.asarray(k0, float) - float(model.j_ex) * onp.array([-m[1], m[0]])
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
    amplitudes = jnp.asarray(targets[:, None] * omega0**2 / abs(alpha) * unit[None, :], dtype)
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
        obs, eps, _ = _assemble_state(model, starts[i][None], float(s), piece, (out[0][i], out[1][i]), sigma0[i], ())
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
        efield=targets * omega0**2 / abs(alpha),
        errors=errors,
        orders=orders,
        integration_error=floor,
        ramp_time=ramp_time,
        window=(ramp_time, total),
        splitting=omega0,
        k0=onp.asarray(k0),
        band=s,
    )


# ---------------------------------------------------------------------------------------------
# M || z: closed forms for the whole sea, and the strong-Rashba crossover.


def _circular_radii(model, fermi_energy):
    """{band: (k_in, k_out)} of the occupied annuli/disks for M = +-z (numpy floats) [1/nm].

    c k^2 + s sqrt(J^2 + alpha^2 k^2) = E_F with u = k^2: c^2 u^2 - (2 c E_F + alpha^2) u + E_F^2 - J^2 = 0;
    the root must satisfy s (E_F - c u) >= 0. The lower band is an annulus when E_F < -J (Mexican hat).
    """
    c = float(model.kinetic_coefficient)
    a2 = float(model.alpha) ** 2
    j = float(model.j_ex)
    e = float(fermi_energy)
    disc = a2 * a2 + 4.0 * c * e * a2 + 4.0 * c * c * j * j
    radii = {}
    if disc < 0:
        return radii
    low = ((2.0 * c * e + a2) - math.sqrt(disc)) / (2.0 * c * c)
    high = ((2.0 * c * e + a2) + math.sqrt(disc)) / (2.0 * c * c)
    if e > j and low > 0:
        radii[1] = (0.0, math.sqrt(low))
    if high > 0 and c * high - e >= 0:
        inner = math.sqrt(low) if (e < -j and low > 0) else 0.0
        radii[-1] = (inner, math.sqrt(high))
    return radii


def _check_along_z(model):
    m = onp.asarray(model.magnetization, float)
    if abs(abs(m[2]) - 1.0) > 1e-12:
        raise ValueError(
            f"magnetization = {onp.round(m, 6).tolist()} is not along z; allowed: M = +z or -z "
            "(the closed forms need circular Fermi contours)"
        )
    if float(model.alpha) == 0.0 or not float(model.j_ex) > 0.0:
        raise ValueError(
            f"alpha = {float(model.alpha):g} eV nm, j_ex = {float(model.j_ex):g} eV; allowed: alpha != 0 and j_ex > 0"
        )
    return float(onp.sign(m[2]))


def circular_sea_torques(model: RashbaFerromagnet, fermi_energy, efield) -> dict:
    """Closed forms for the whole T = 0 sea when M = +-z, for hbar k' = qE (constant field, adiabatic).

    With Omega(k) = sqrt(J^2 + alpha^2 k^2), circular contours (a disk, or an annulus k_in < k < k_out
    for a Mexican-hat lower band), k' = qE/hbar and the measure d^2k/(2 pi)^2 (derivation: the sea
    integral of (k'.grad) s b^ is the contour flux oint s b^ (k'.n) dl; the others are radial integrals
    of the per-state first-order formula, int_0^k k dk/Omega^3 = (1/J - 1/Omega)/alpha^2):
        T2 (semiclassical, = -dS/dt)    = -alpha (k' x z) sum_s s [k^2/Omega]_in^out / (4 pi)
        delta S_1 (non-adiabatic spin)  = (hbar J m_z alpha/2) k' sum_s s I_s,
        (2J/hbar) M x delta S_1         = -alpha J^2 (k' x z) sum_s s I_s,
        I_s = [1/Omega(k_in) - 1/Omega(k_out)] / (2 pi alpha^2).
    For two disks (both bands occupied) and q = -e:
        T2 = (e alpha/hbar)(n_+/Omega_+ - n_-/Omega_-)(E x z),
        (2J/hbar) M x delta S_1 = (e J^2/(2 pi alpha hbar))(1/Omega_- - 1/Omega_+)(E x z),
    both -> (e alpha/(hbar J))(n_+ - n_-)(E x z) = -(e m alpha/(pi hbar^3))(E x z) in the strong-exchange
    limit (paper eq. 14 summed). For J -> 0 (strong Rashba) T2 -> -(e m alpha/(2 pi hbar^3))(E x z), half
    the strong-exchange value, while the damping-like exchange torque vanishes as (J/alpha k_F)^2.

    Args: fermi_energy [eV]; efield (2,) [V/nm]. Requires M = +-z, alpha != 0, J > 0.
    Returns: dict of numpy arrays (float64): "damping_torque", "damping_like_torque" [1/(nm^2 fs)],
        "nonadiabatic_spin_density" [1/nm^2], "strong_exchange" (paper eq. 14 summed over the sea)
        [1/(nm^2 fs)] (3,); "band_densities" (lower, upper) [1/nm^2]; "radii" {band: (k_in, k_out)}.
    """
    m_z = _check_along_z(model)
    check_finite("fermi_energy", fermi_energy)
    check_shape("efield", efield, (2,))
    check_finite("efield", efield)
    efield = onp.asarray(efield, float)
    radii = _circular_radii(model, fermi_energy)
    if not radii:
        raise ValueError(f"fermi_energy = {float(fermi_energy):g} eV lies below both bands; allowed: an occupied sea")
    alpha, j = float(model.alpha), float(model.j_ex)
    kdot = CARRIER_CHARGE * efield / HBAR
    kdot_cross_z = onp.array([kdot[1], -kdot[0], 0.0])

    def omega(k):
        return math.sqrt(j * j + alpha * alpha * k * k)

    flux, first, densities = 0.0, 0.0, {-1: 0.0, 1: 0.0}
    for s, (k_in, k_out) in radii.items():
        flux += s * (k_out**2 / omega(k_out) - k_in**2 / omega(k_in)) / (4.0 * math.pi)
        first += s * (1.0 / omega(k_in) - 1.0 / omega(k_out)) / (2.0 * math.pi * alpha**2)
        densities[s] = (k_out**2 - k_in**2) / (4.0 * math.pi)
    spin = 0.5 * HBAR * j * m_z * alpha * first * onp.array([kdot[0], kdot[1], 0.0])
    m = onp.array([0.0, 0.0, m_z])
    e_cross_z = onp.array([efield[1], -efield[0], 0.0])
    polarization = densities[1] - densities[-1]
    # Paper eq. 14 per state, -s (e alpha/(hbar J)) M x (M x (E x z)), summed with the band densities.
    strong = -polarization * (alpha / (HBAR * j)) * onp.cross(m, onp.cross(m, e_cross_z))
    return {
        "damping_torque": -alpha * flux * kdot_cross_z,
        "damping_like_torque": -alpha * j * j * first * kdot_cross_z,
        "nonadiabatic_spin_density": spin,
        "strong_exchange": strong,
        "band_densities": onp.array([densities[-1], densities[1]]),
        "radii": radii,
    }


def circular_sea_nodes(model: RashbaFerromagnet, fermi_energy, num_phi: int = 8, num_r: int = 16):
    """Quadrature nodes for the circular seas of M = +-z, graded near k = 0 (for `exact_simulate`).

    Radius k = (J/|alpha|) sinh(v), Gauss-Legendre in v over [asinh(|alpha| k_in/J), asinh(|alpha| k_out/J)]
    and uniform in angle: the integrands of the first-order torques (~ J^2/Omega^3) are smooth in v
    even when alpha k_F >> J, where they are concentrated within J/|alpha| of k = 0.
    Returns (k (N, 2) [1/nm], weight (N,) [1/nm^2], band sign (N,)), numpy float64.
    """
    _check_along_z(model)
    num_phi = check_count("num_phi", num_phi, minimum=4)
    num_r = check_count("num_r", num_r, minimum=2)
    scale = float(model.j_ex) / abs(float(model.alpha))
    x, w = onp.polynomial.legendre.leggauss(num_r)
    phi = (onp.arange(num_phi) + 0.5) * (2.0 * math.pi / num_phi)
    ks, ws, ss = [], [], []
    for s, (k_in, k_out) in sorted(_circular_radii(model, fermi_energy).items()):
        v0, v1 = math.asinh(k_in / scale), math.asinh(k_out / scale)
        v = v0 + 0.5 * (x + 1.0) * (v1 - v0)
        radius = scale * onp.sinh(v)
        # d^2k = k dk dphi, dk = scale cosh(v) dv.
        radial = radius * scale * onp.cosh(v) * 0.5 * (v1 - v0) * w
        k = radius[None, :, None] * onp.stack([onp.cos(phi), onp.sin(phi)], -1)[:, None, :]
        ks.append(k.reshape(-1, 2))
        ws.append(onp.broadcast_to(radial[None, :] * (2.0 * math.pi / num_phi), (num_phi, num_r)).reshape(-1))
        ss.append(onp.full(num_phi * num_r, float(s)))
    return onp.concatenate(ks), onp.concatenate(ws), onp.concatenate(ss)


class RashbaCrossover(eqx.Module):
    """Result of `strong_rashba_crossover` (numpy; P points). All torques are vectors (P, 3) [1/(nm^2 fs)]
    and, in `normalized`, their components along E x z divided by that of the strong-exchange limit
    T2_0 = -(e m alpha/(pi hbar^3))(E x z) (paper eq. 14 summed over two occupied bands):

        ratio (P,): alpha k_F/J with k_F = sqrt(2 m E_F)/hbar; j_ex (P,) [eV]; efield (P,) [V/nm];
        closed: {"damping_torque", "damping_like_torque", "strong_exchange"} from `circular_sea_torques`;
        semiclassical_damping_torque: window mean of the semiclassical sea sum of -ds/dt;
        exact_damping_torque: window mean of the exact -dS/dt;
        exact_damping_like_torque: window mean of (2J/hbar) M x (S_exact - S_band);
        first_order_damping_like_torque: window mean of (2J/hbar) M x sum delta sigma_1;
        normalized: {name: (P,)} of the above; adiabaticity (P,): max epsilon over states and times;
        integration_error (P,): relative step-doubling estimate for the exact T2 (nan if not asked).
    """

    ratio: onp.ndarray
    j_ex: onp.ndarray
    efield: onp.ndarray
    closed: dict
    semiclassical_damping_torque: onp.ndarray
    exact_damping_torque: onp.ndarray
    exact_damping_like_torque: onp.ndarray
    first_order_damping_like_torque: onp.ndarray
    normalized: dict
    adiabaticity: onp.ndarray
    integration_error: onp.ndarray
    alpha: float
    fermi_energy: float


@functools.partial(jax.jit, static_argnames=("chunk", "substeps"))
def _crossover_impl(models, nodes, amplitudes, ramp_times, times, *, chunk, substeps):
    def one(model, node, amplitude, ramp_time, t):
        schedule = _schedule_impl(SmoothRampDrive(amplitude, ramp_time), t, 0.0, substeps)
        states = _chunk_states(*node, chunk)
        delta = jnp.zeros(states[0].shape[:2] + (3,), t.dtype)
        _, sums, lowest = _ensemble_block(model, states, delta, schedule, semiclassical=True)
        eps = HBAR * jnp.abs(model.alpha) * jnp.max(jnp.linalg.norm(schedule.k_rate, axis=-1)) / lowest**2
        return sums, eps

    return jax.vmap(one)(models, nodes, amplitudes, ramp_times, times)


def strong_rashba_crossover(
    alpha,
    fermi_energy,
    ratios,
    *,
    mass_ratio=1.0,
    direction=(1.0, 0.0),
    num_phi: int = 8,
    num_r: int = 16,
    ramp_periods: float = 20.0,
    window_periods: float = 5.0,
    max_angle: float = 0.5,
    shift_fraction: float = 0.01,
    estimate_error: bool = False,
) -> RashbaCrossover:
    """Ensemble T2 (semiclassical and exact) and the damping-like exchange torque vs alpha k_F/J, M = z.

    For each ratio x, J = alpha k_F/x (k_F = sqrt(2 m E_F)/hbar) and the whole sea (both bands when
    E_F > J) is evolved exactly on `circular_sea_nodes` under a field switched on with the C-infinity
    ramp over ramp_periods periods pi hbar/J of the slowest states (Omega >= J, reached at k = 0) and
    held for window_periods such periods; results are window means (the residual ringing averages out).
    The amplitude is set so the sea shifts by shift_fraction * k_F over the run (linear response; all
    results are proportional to E). The step keeps the precession angle per step 2 Omega_max h/hbar
    <= max_angle (relative error <~ 3e-3 max_angle^4). All points run in one vmapped, jitted call.
    """
    check_range("alpha", alpha, unit="eV nm")
    check_finite("fermi_energy", fermi_energy)
    check_range("ratios", ratios, low=0.0, low_inclusive=False)
    check_range("max_angle", max_angle, low=0.0, high=2.0, low_inclusive=False, unit="rad")
    check_range("shift_fraction", shift_fraction, low=0.0, high=0.2, low_inclusive=False)
    check_range("ramp_periods", ramp_periods, low=1.0, unit="periods")
    check_range("window_periods", window_periods, low=0.5, unit="periods")
    alpha = float(alpha)
    if alpha == 0.0:
        raise ValueError("alpha = 0.0 eV nm is not allowed; allowed: alpha != 0")
    fermi_energy = float(fermi_energy)
    if not fermi_energy > 0.0:
        raise ValueError(f"fermi_energy = {fermi_energy:g} eV is out of range; allowed: (0, inf) eV (k_F = sqrt(2 m E_F)/hbar)")
    ratios = onp.atleast_1d(onp.asarray(ratios, float))
    direction = onp.asarray(direction, float)
    if direction.shape != (2,) or not onp.linalg.norm(direction) > 0:
        raise ValueError(f"direction = {direction.tolist()} is not allowed; allowed: a non-zero in-plane 2-vector")
    unit = direction / onp.linalg.norm(direction)
    probe = RashbaFerromagnet(alpha, 1.0, onp.array([0.0, 0.0, 1.0]), mass_ratio)
    c = float(probe.kinetic_coefficient)
    mass = float(probe.mass)
    k_fermi = math.sqrt(fermi_energy / c)
    j_values = abs(alpha) * k_fermi / ratios
    models, nodes, amplitudes, ramps, grids, omegas = [], [], [], [], [], []
    count = None
    plans = []
    for j in j_values:
        model = RashbaFerromagnet(alpha, float(j), onp.array([0.0, 0.0, 1.0]), mass_ratio)
        node = circular_sea_nodes(model, fermi_energy, num_phi, num_r)
        k_max = float(onp.max(onp.linalg.norm(node[0], axis=-1)))
        omega_max = math.sqrt(j * j + (alpha * k_max) ** 2)
        period = math.pi * HBAR / j
        total = (ramp_periods + window_periods) * period
        plans.append((model, node, period, total))
        need = int(math.ceil(2.0 * omega_max * total / (HBAR * max_angle)))
        count = need if count is None else max(count, need)
    for model, node, period, total in plans:
        ramp = ramp_periods * period
        # Delta k(end) = (|E|/hbar)(total - ramp/2) for the symmetric switch.
        field = shift_fraction * k_fermi * HBAR / (total - 0.5 * ramp)
        models.append(model)
        nodes.append(node)
        amplitudes.append(field * unit)
        ramps.append(ramp)
        grids.append(onp.linspace(0.0, total, count + 1))
    stacked = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *models)
    node_arrays = tuple(jnp.asarray(onp.stack([n[i] for n in nodes])) for i in range(3))
    amplitudes = onp.stack(amplitudes)
    grids = onp.stack(grids)
    chunk = int(node_arrays[0].shape[1])
    args = (stacked, node_arrays, jnp.asarray(amplitudes), jnp.asarray(ramps), jnp.asarray(grids))
    sums, eps = _crossover_impl(*args, chunk=chunk, substeps=1)
    error = onp.full(ratios.shape, onp.nan)
    if estimate_error:
        fine, _ = _crossover_impl(*args, chunk=chunk, substeps=2)
        t2, t2_fine = onp.asarray(sums)[:, :, 3:6], onp.asarray(fine)[:, :, 3:6]
        error = onp.max(onp.abs(t2_fine - t2), axis=(1, 2)) * (16.0 / 15.0) / onp.max(onp.abs(t2), axis=(1, 2))
    sums = onp.asarray(sums)
    results = {"sc": [], "exact": [], "dl": [], "first": []}
    closed = {"damping_torque": [], "damping_like_torque": [], "strong_exchange": []}
    reference = []
    for i, (model, node, period, total) in enumerate(plans):
        t = grids[i]
        mask = t >= ramps[i]
        weights = onp.zeros_like(t)
        tw = t[mask]
        weights[mask] = onp.gradient(tw) if tw.size > 1 else 1.0
        weights /= weights.sum()

        def mean(x):
            return (weights[:, None] * x).sum(axis=0)

        j = float(model.j_ex)
        g = 2.0 * j / HBAR
        m = onp.array([0.0, 0.0, 1.0])
        change, rate, band, sc_rate, first = (sums[i][:, a:a + 3] for a in (0, 3, 6, 9, 12))
        results["sc"].append(mean(-sc_rate))
        results["exact"].append(mean(-rate))
        results["dl"].append(mean(g * onp.cross(m, change - band)))
        results["first"].append(mean(g * onp.cross(m, first)))
        forms = circular_sea_torques(model, fermi_energy, amplitudes[i])
        for key in closed:
            closed[key].append(forms[key])
        e_cross_z = onp.array([amplitudes[i][1], -amplitudes[i][0], 0.0])
        reference.append(-(mass * alpha / (math.pi * HBAR**3)) * e_cross_z)
    reference = onp.stack(reference)
    results = {k: onp.stack(v) for k, v in results.items()}
    closed = {k: onp.stack(v) for k, v in closed.items()}
    along = onp.array([unit[1], -unit[0], 0.0])

    def normalize(x):
        return (x @ along) / (reference @ along)

    normalized = {f"closed_{k}": normalize(v) for k, v in closed.items()}
    normalized.update(
        semiclassical_damping_torque=normalize(results["sc"]),
        exact_damping_torque=normalize(results["exact"]),
        exact_damping_like_torque=normalize(results["dl"]),
        first_order_damping_like_torque=normalize(results["first"]),
    )
    return RashbaCrossover(
        ratio=ratios,
        j_ex=j_values,
        efield=onp.linalg.norm(amplitudes, axis=-1),
        closed=closed,
        semiclassical_damping_torque=results["sc"],
        exact_damping_torque=results["exact"],
        exact_damping_like_torque=results["dl"],
        first_order_damping_like_torque=results["first"],
        normalized=normalized,
        adiabaticity=onp.asarray(eps),
        integration_error=error,
        alpha=alpha,
        fermi_energy=fermi_energy,
    )


def fermi_point(model: RashbaFerromagnet, fermi_energy, band: int, angle) -> onp.ndarray:
    """The point of the Fermi contour eps_band(k) = E_F on the ray at `angle` [rad] from k = 0 [1/nm].

    NumPy bisection in float64 (no compilation; for choosing a state to study, e.g. in
    `adiabaticity_scan`). Requires the band's sea to contain k = 0 (see `fermi_sea_status`).
    Returns k (2,) numpy float64.
    """
    s = check_band(band)
    check_finite("fermi_energy", fermi_energy)
    check_finite("angle", angle)
    if fermi_sea_status(model, fermi_energy, s) == "empty":
        raise ValueError(
            f"band = {s:+d} is empty at fermi_energy = {float(fermi_energy):g} eV; allowed: an occupied band"
        )
    m = onp.asarray(model.magnetization, float)
    alpha, j, c = float(model.alpha), float(model.j_ex), float(model.kinetic_coefficient)
    direction = onp.array([math.cos(float(angle)), math.sin(float(angle))])

    def energy(r):
        kx, ky = r * direction
        b = onp.array([alpha * ky - j * m[0], -alpha * kx - j * m[1], -j * m[2]])
        return c * r * r + s * onp.linalg.norm(b) - float(fermi_energy)

    low, high = 0.0, 1.0
    while energy(high) < 0.0:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if energy(middle) < 0.0 else (low, middle)
        if high - low <= 1e-15 * high:
            break
    return 0.5 * (low + high) * direction

"""Exact spinor evolution of one k-state: the fourth-order Magnus integrator and the per-state observables.


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
precision (the same reason `simulate` uses contour fluxes for levels, docs: Benchmarks).

Definitions used in every comparison (per state, band s, B_so = alpha (k x z), b = B_so - J M):
    exact:        sigma(t); d sigma/dt = (2/hbar) b x sigma;
                  T = (2J/hbar) M x sigma = T1 + T2 with T1 = (2/hbar) B_so x sigma, T2 = -d sigma/dt
                  (paper eq. 4-7, an identity of the Bloch equation);
    semiclassical: s b/|b|; ds/dt = (k'.grad) s b/|b| (autodiff, `damping_torque`);
                  T1_sc = (2/hbar) B_so x s b/|b| (= (2J/hbar) M x s b/|b|), T2_sc = -ds/dt;
    non-adiabatic spin: delta sigma = sigma - s b/|b|(k(t));
    first order (adiabatic perturbation theory, the intrinsic Kubo bare bubble when hbar k' = qE):
                  delta sigma_1 = -(s hbar/(2 Omega^3)) b x db/dt,  db/dt = (k'.grad) b = alpha (k' x z);
                  for the lower band and hbar k' = qE this is -(e alpha/(2 Omega^3)) b x (E x z);
    adiabaticity: epsilon = hbar |db/dt| / Omega^2 (= hbar |alpha| |k'| / Omega^2 for Rashba).
The model enters only through its interface (`field`, `field_change`, `spin_orbit_field`,
`exchange_field`): b(k(t)) at the Magnus nodes is b(k0) + field_change(k0, Delta k), so any two-band
b(k) works; an affine in-plane field change (Rashba) costs nothing per state.
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
damping-like torque (docs: Theory > Limits and approximations).
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._bands._kernels import exchange_field_components, spin_rate_components
from .._core._checks import check_finite, check_range
from ..constants import CARRIER_CHARGE, HBAR



# Two Gauss-Legendre nodes on [0, 1]: the Magnus-4 samples of b(t).
_MAGNUS_NODES = (0.5 - math.sqrt(3.0) / 6.0, 0.5 + math.sqrt(3.0) / 6.0)
_MAGNUS_COMMUTATOR = math.sqrt(3.0) / 12.0
# Four-point Gauss-Legendre on [0, 1] for the shift integral (error O(h^9) for smooth drives).
_QUAD_X, _QUAD_W = onp.polynomial.legendre.leggauss(4)
# Python floats (weakly typed): numpy scalars would promote float32 runs to float64.
_QUAD_X = tuple(float(x) for x in 0.5 * (_QUAD_X + 1.0))
_QUAD_W = tuple(float(w) for w in 0.5 * _QUAD_W)
_SMALL_ANGLE = 1e-3


# ---------------------------------------------------------------------------------------------
# A smooth switch-on.


def smooth_step(x):
    """C-infinity switch S(x): 0 for x <= 0, 1 for x >= 1, f(x)/(f(x) + f(1 - x)), f(x) = exp(-1/x).

    Every derivative vanishes at both ends, so a field switched on with it excites the interband
    precession (ringing at 2 Omega/hbar) only by an amount that falls off faster than any power of
    1/(Omega T_ramp/hbar); the sin^2 ramp of `RampDrive` (C^1) leaves ~ (hbar/(Omega T_ramp))^2.

    Args:
        x: array of any shape (dimensionless time t/T_ramp).

    Returns: S(x), same shape, in [0, 1].
    """
    x = jnp.clip(x, 0.0, 1.0)

    def f(y):
        safe = jnp.where(y > 0.0, y, 1.0)
        return jnp.where(y > 0.0, jnp.exp(-1.0 / safe), 0.0)

    a, b = f(x), f(1.0 - x)
    return a / (a + b)


class SmoothRampDrive(eqx.Module):
    """E(t) = amplitude * S(t / ramp_time) with the C-infinity switch `smooth_step` S.

    Zero for t <= 0, amplitude for t >= ramp_time. This is the drive behind the `ramp_time=` keyword of the quantum-check functions: it isolates
    the adiabatic response (docs: Theory > Quantum check) far better than the sin^2 `RampDrive`.

    Args:
        amplitude: in-plane field after the ramp, shape (2,) [V/nm].
        ramp_time: duration of the switch-on [fs], > 0.
    """

    amplitude: Float[Array, "2"]
    ramp_time: Float[Array, ""]

    def __init__(self, amplitude, ramp_time):
        # The returned values carry the run-time checks of traced inputs.
        ramp_time = check_range("ramp_time", ramp_time, low=0.0, low_inclusive=False, unit="fs")
        amplitude = jnp.asarray(check_finite("amplitude", amplitude))
        if amplitude.shape != (2,):
            raise ValueError(f"amplitude has shape {amplitude.shape}; allowed: (2,) in-plane field [V/nm]")
        self.amplitude = amplitude
        self.ramp_time = jnp.asarray(ramp_time)

    def __call__(self, t):
        return self.amplitude * smooth_step(t / self.ramp_time).astype(self.amplitude.dtype)


# ---------------------------------------------------------------------------------------------
# The shared rigid shift, sampled where the integrator needs it.


class Schedule(eqx.Module):
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
def build_schedule_traced(drive, times, inverse_tau, substeps):
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
    return Schedule(steps, nodes, shift, k_rate, k_accel, efield)


def build_schedule(drive, times, tau, substeps):
    inverse_tau = 0.0 if tau is None else 1.0 / float(tau)
    return build_schedule_traced(drive, times, inverse_tau, substeps)


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
# Per-state kernels (scalars in, scalars out; docs: Benchmarks).


def _is_zero(x):
    # A field component that the model returns as the Python float 0.0 (identically zero, e.g. the
    # z part of an in-plane spin-orbit field): its terms are dropped while tracing, so the hot loop
    # of an affine in-plane field does no work for it.
    return isinstance(x, (int, float)) and x == 0.0


def _mul(a, b):
    return 0.0 if _is_zero(a) or _is_zero(b) else a * b


def _add(a, b):
    return b if _is_zero(a) else a if _is_zero(b) else a + b


def _sub(a, b):
    return a if _is_zero(b) else -b if _is_zero(a) else a - b


def _cross(a, b):
    return (
        _sub(_mul(a[1], b[2]), _mul(a[2], b[1])),
        _sub(_mul(a[2], b[0]), _mul(a[0], b[2])),
        _sub(_mul(a[0], b[1]), _mul(a[1], b[0])),
    )


def _magnus_rotate(b0, sigma0, delta, d1, d2, h):
    """One Magnus-4 step for delta = sigma - sigma0: returns the new delta (3 scalars).

    b(t) = b0 + d_i at the two Gauss nodes (d_i = b(k0 + Delta k_i) - b(k0), the model's
    `field_change`; components may be the structural zero 0.0). The rotation vector is
    w = (2h/hbar) b0 + w_s with the small part
        w_s = (h/hbar)(d1 + d2) + (sqrt(3) h^2/12)(2/hbar)^2 (b2 x b1),
        b2 x b1 = b0 x (d1 - d2) + d2 x d1,
    and R sigma - sigma0 = delta + A c + B w x c with c = w x sigma = w_s x sigma0 + w x delta
    (b0 x sigma0 = 0 exactly), A = sin(theta)/theta, B = (1 - cos theta)/theta^2, theta = |w|.
    """
    lin = h / HBAR
    com = _MAGNUS_COMMUTATOR * (2.0 * h / HBAR) ** 2
    spread = tuple(_sub(x, y) for x, y in zip(d1, d2))
    commutator = tuple(_add(x, y) for x, y in zip(_cross(b0, spread), _cross(d2, d1)))
    ws = tuple(_add(_mul(lin, _add(x, y)), _mul(com, z)) for x, y, z in zip(d1, d2, commutator))
    wx, wy, wz = (2.0 * lin * b + w for b, w in zip(b0, ws))
    dx, dy, dz = delta
    c_x, c_y, c_z = (_add(x, y) for x, y in zip(_cross(ws, sigma0), _cross((wx, wy, wz), delta)))
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


def advance(b0, sigma0, delta, db, h):
    """All substeps of one output interval.

    db: the field change at the two Magnus nodes of each of the S substeps, three components, each
    (S, 2) or the structural zero 0.0.
    """
    present = [not _is_zero(c) for c in db]
    arrays = [c for c in db if not _is_zero(c)]

    def body(d, nodes):
        parts = iter(nodes)
        components = [next(parts) if p else 0.0 for p in present]
        d1 = tuple(c[0] if p else 0.0 for c, p in zip(components, present))
        d2 = tuple(c[1] if p else 0.0 for c, p in zip(components, present))
        return _magnus_rotate(b0, sigma0, d, d1, d2, h), None

    delta, _ = jax.lax.scan(body, delta, arrays)
    return delta


def node_field_change(model, kx, ky, nodes):
    """b(k0 + Delta k) - b(k0) [eV] at the Magnus nodes: nodes (..., 2) Delta k -> 3 components (...)."""
    return model.field_change(kx, ky, nodes[..., 0], nodes[..., 1])


def field_rate(model, kx, ky, vx, vy):
    """db/dt = (k' . grad_k) b [eV/fs] (3 scalars) at k for k' = (vx, vy) [1/(nm fs)] (autodiff jvp)."""
    kx, ky, vx, vy = jnp.broadcast_arrays(kx, ky, vx, vy)
    _, rate = jax.jvp(lambda qx, qy: model.field(qx, qy), (kx, ky), (vx, vy))
    return rate


def field_slope(model, kx, ky):
    """The largest singular value of db/dk (3 x 2) at k [eV nm]: |db/dt| <= field_slope |k'|.

    |alpha| everywhere for the Rashba ferromagnet.
    """
    one, zero = jnp.ones_like(kx), jnp.zeros_like(kx)
    gx = field_rate(model, kx, ky, one, zero)
    gy = field_rate(model, kx, ky, zero, one)
    a = sum(x * x for x in gx)
    c = sum(y * y for y in gy)
    b = sum(x * y for x, y in zip(gx, gy))
    half = 0.5 * (a - c)
    return jnp.sqrt(0.5 * (a + c) + jnp.sqrt(half * half + b * b))


def state_constants(model, kx, ky, s):
    """b0 = b(k0) and sigma0 = s b0/|b0| (3 + 3 scalars) and Omega(k0)."""
    b0 = exchange_field_components(model, kx, ky)
    omega = jnp.sqrt(b0[0] * b0[0] + b0[1] * b0[1] + b0[2] * b0[2])
    scale = s / omega
    return b0, (b0[0] * scale, b0[1] * scale, b0[2] * scale), omega


def exact_observables(b0, sigma0, delta, db):
    """d sigma/dt = (2/hbar)(Delta b x sigma0 + b x delta) [1/fs], b = b0 + Delta b (db: 3 components)."""
    g = 2.0 / HBAR
    b = tuple(_add(x, y) for x, y in zip(b0, db))
    return tuple(g * _add(x, y) for x, y in zip(_cross(db, sigma0), _cross(b, delta)))


def first_order_components(model, kx, ky, s, vx, vy):
    """delta sigma_1 = -(s hbar/(2 Omega^3)) b x db/dt, db/dt = (k'.grad) b (alpha (k' x z) for Rashba).

    (kx, ky) [1/nm], (vx, vy) = k' [1/(nm fs)]; dimensionless. Adiabatic perturbation theory of the
    Bloch equation to first order in hbar |db/dt|/Omega^2: s db^/dt = (2/hbar) b x delta sigma_1.
    """
    b = exchange_field_components(model, kx, ky)
    bx, by, bz = b
    omega2 = bx * bx + by * by + bz * bz
    scale = -s * HBAR / (2.0 * omega2 * jnp.sqrt(omega2))
    return tuple(scale * c for c in _cross(b, field_rate(model, kx, ky, vx, vy)))


def semiclassical_observables(model, k0x, k0y, s, b0, omega0, dkx, dky, vx, vy, ax, ay):
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
    db = model.field_change(k0x, k0y, dkx, dky)
    bx, by, bz = (_add(x, y) for x, y in zip(b0, db))
    omega = jnp.sqrt(bx * bx + by * by + bz * bz)
    growth = sum(_mul(d, 2.0 * b + d) for b, d in zip(b0, db) if not _is_zero(d))
    inv_change = -growth / (omega * omega0 * (omega + omega0))
    change = tuple(s * _add(_mul(d, 1.0 / omega), b * inv_change) for b, d in zip(b0, db))
    rate = spin_rate_components(model, kx, ky, s, HBAR * vx, HBAR * vy)
    first, first_rate = jax.jvp(
        lambda qx, qy, px, py: first_order_components(model, qx, qy, s, px, py),
        (kx, ky, vx, vy),
        (vx, vy, ax, ay),
    )
    speed = field_rate(model, kx, ky, vx, vy)
    epsilon = HBAR * jnp.sqrt(sum(c * c for c in speed)) / (omega * omega)
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
    b0, sigma0, omega0 = state_constants(model, k0x, k0y, s)
    if init is None:
        delta0 = (jnp.zeros_like(k0x),) * 3
    else:
        delta0 = (init[0] - sigma0[0], init[1] - sigma0[1], init[2] - sigma0[2])

    def step(delta, x):
        nodes, h, dk, v, acc = x
        delta = advance(b0, sigma0, delta, node_field_change(model, k0x, k0y, nodes), h)
        if not full:
            return delta, jnp.stack(delta)
        rate = exact_observables(b0, sigma0, delta, model.field_change(k0x, k0y, dk[0], dk[1]))
        sc, eps, omega = semiclassical_observables(
            model, k0x, k0y, s, b0, omega0, dk[0], dk[1], v[0], v[1], acc[0], acc[1]
        )
        return delta, (jnp.stack([*delta, *rate, *sc]), jnp.stack([eps, omega]))

    xs = (schedule.nodes, schedule.step, schedule.shift, schedule.k_rate, schedule.k_accel)
    _, out = jax.lax.scan(step, delta0, xs)
    return out, jnp.stack(sigma0), omega0


@functools.partial(jax.jit, static_argnames=("full",))
def state_trajectories(model, k0, s, init, schedule, *, full):
    if init is None:
        return jax.vmap(lambda kx, ky: _state_run(model, kx, ky, s, None, schedule, full))(k0[:, 0], k0[:, 1])
    return jax.vmap(lambda kx, ky, i: _state_run(model, kx, ky, s, i, schedule, full))(k0[:, 0], k0[:, 1], init)



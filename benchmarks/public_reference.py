"""NumPy closed forms and fused numba kernels of `bench_public.py`'s workloads: its references.

The workload's inputs (model, states, drive; rebuilt from a seed, same bits in every process), the
public workload (energy, velocity, F_so, spin, summed over N states) as vectorized NumPy closed
forms, and as one fused loop (`numba.njit`, fast-math and strict IEEE), and the pipeline's
per-state-step work as one fused loop. Independent of jaxsot (constants copied, not imported).
"""

import math

import numpy as np

HBAR = 0.6582119569  # eV fs (jaxsot.constants.HBAR)
HBAR2_OVER_2ME = 0.0380998212  # eV nm^2 (jaxsot.constants.HBAR2_OVER_2ME)
ELECTRON_MASS = HBAR * HBAR / (2.0 * HBAR2_OVER_2ME)
MODEL = dict(alpha=0.05, j_ex=0.5, theta=1.0, phi=0.3, mass_ratio=1.0)  # J |M_z| = 0.27 eV: no touching
EFIELD = (1e-3, 4e-4)  # V/nm
BAND = -1
K_RANGE = 3.0  # states uniform in [-3, 3]^2 1/nm
TAU, TIME_STEP = 10.0, 0.25  # pipeline drive: step field with relaxation, as bench_ensemble

# ---------------------------------------------------------------------------------------------
# Inputs (rebuilt from the seed in every process: same bits everywhere).


def model_numbers(dtype):
    alpha, j_ex, theta, phi = (MODEL[x] for x in ("alpha", "j_ex", "theta", "phi"))
    m = np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])
    m = m / np.linalg.norm(m)
    mass = MODEL["mass_ratio"] * ELECTRON_MASS
    return dict(alpha=alpha, j_ex=j_ex, m=m, mass=mass, c=HBAR2_OVER_2ME / MODEL["mass_ratio"], dtype=dtype)


def make_states(n, dtype):
    rng = np.random.default_rng(12345)
    k = rng.uniform(-K_RANGE, K_RANGE, (n, 2)).astype(dtype)
    weight = rng.uniform(0.0, 1.0, n).astype(dtype)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(dtype)
    return k, weight, sign


def make_drive(steps, dtype):
    t = np.arange(steps, dtype=np.float64) * TIME_STEP
    q_e = -np.asarray(EFIELD)
    decay = np.exp(-t / TAU)
    force = (q_e[None, :] * decay[:, None]).astype(dtype)
    shift = (q_e[None, :] * TAU / HBAR * (1.0 - decay[:, None])).astype(dtype)
    return shift, force


# ---------------------------------------------------------------------------------------------
# NumPy closed forms of the public workload.


def numpy_public(p, k):
    """Sums over states of [energy, v (2), F_so (2), spin (3)] for band BAND, field EFIELD (closed forms).

    b = alpha (k x z) - J M, Omega = |b|; eps = c k^2 + s Omega; v = (2 c k + s grad Omega)/hbar with
    grad Omega = alpha (-b_y, b_x)/Omega; spin = s b/Omega; F = s (m alpha^2/(hbar^2 Omega)) [f - u (u.f)/Omega^2],
    u = z x b = (-b_y, b_x), f = qE = -E.
    """
    dt = k.dtype.type
    alpha, j_ex, c, s = dt(p["alpha"]), dt(p["j_ex"]), dt(p["c"]), dt(BAND)
    mx, my, mz = (dt(x) for x in p["m"])
    hbar = dt(HBAR)
    fx, fy = dt(-EFIELD[0]), dt(-EFIELD[1])
    force_scale = dt(p["mass"] * p["alpha"] ** 2 / HBAR**2)
    kx, ky = k[:, 0], k[:, 1]
    bx = alpha * ky - j_ex * mx
    by = -alpha * kx - j_ex * my
    bz = -j_ex * mz
    omega = np.sqrt(bx * bx + by * by + bz * bz)
    inverse = dt(1) / omega
    energy = c * (kx * kx + ky * ky) + s * omega
    vx = (dt(2) * c * kx - s * alpha * by * inverse) / hbar
    vy = (dt(2) * c * ky + s * alpha * bx * inverse) / hbar
    u_dot_f = (-by * fx + bx * fy) * inverse * inverse
    scale = s * force_scale * inverse
    force_x = scale * (fx + by * u_dot_f)
    force_y = scale * (fy - bx * u_dot_f)
    s_over = s * inverse
    parts = (energy, vx, vy, force_x, force_y, bx * s_over, by * s_over, bz * s_over)
    return np.array([np.sum(x, dtype=k.dtype) for x in parts], np.float64)


# ---------------------------------------------------------------------------------------------
# numba kernels (built on first use; numba is optional).

_NUMBA = {}


def numba_kernels(fastmath):
    """(public_sums, pipeline_sums) compiled with numba.njit(fastmath=...), or None without numba."""
    if fastmath in _NUMBA:
        return _NUMBA[fastmath]
    try:
        import numba
    except ImportError:
        _NUMBA[fastmath] = None
        return None

    @numba.njit(fastmath=fastmath, error_model="numpy", cache=False)
    def public_sums(kx, ky, alpha, j_ex, mx, my, mz, c, s, hbar, fx, fy, force_scale, one, out):
        # The public workload fused: per state energy, v, F_so, spin; 8 running sums. `one` carries
        # the dtype (an int literal or math.sqrt would promote float32 arithmetic to float64).
        e = vx = vy = gx = gy = sx = sy = sz = one - one
        bz = -j_ex * mz
        for i in range(kx.shape[0]):
            bx = alpha * ky[i] - j_ex * mx
            by = -alpha * kx[i] - j_ex * my
            omega = np.sqrt(bx * bx + by * by + bz * bz)
            inverse = one / omega
            e += c * (kx[i] * kx[i] + ky[i] * ky[i]) + s * omega
            vx += ((c + c) * kx[i] - s * alpha * by * inverse) / hbar
            vy += ((c + c) * ky[i] + s * alpha * bx * inverse) / hbar
            u_dot_f = (-by * fx + bx * fy) * inverse * inverse
            scale = s * force_scale * inverse
            gx += scale * (fx + by * u_dot_f)
            gy += scale * (fy - bx * u_dot_f)
            s_over = s * inverse
            sx += bx * s_over
            sy += by * s_over
            sz += bz * s_over
        out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7] = e, vx, vy, gx, gy, sx, sy, sz

    @numba.njit(fastmath=fastmath, error_model="numpy", cache=False)
    def pipeline_sums(k0x, k0y, weight, sign, shift, force, alpha, j_ex, mx, my, mz, hbar, force_scale, one, sums):
        # bench_ensemble.numpy_sums fused: 10 weighted sums per step. Without the running min of
        # Omega: a float min reduction keeps LLVM from vectorizing the loop (2-3x slower), so this
        # does a little less than the JAX pipeline (a conservative reference).
        j2 = j_ex * j_ex
        wx, wy = -my, mx
        bz = -j_ex * mz
        for t in range(shift.shape[0]):
            fx, fy = force[t, 0], force[t, 1]
            dkx, dky = shift[t, 0], shift[t, 1]
            kdx, kdy = fx / hbar, fy / hbar
            bdx, bdy = alpha * kdy, -alpha * kdx
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = one - one
            for i in range(k0x.shape[0]):
                kx = k0x[i] + dkx
                ky = k0y[i] + dky
                bx = alpha * ky - j_ex * mx
                by = -alpha * kx - j_ex * my
                omega = np.sqrt(bx * bx + by * by + bz * bz)
                inverse = one / omega
                w_s = weight[i] * sign[i] * inverse
                inverse2 = inverse * inverse
                along = (bx * bdx + by * bdy) * inverse2
                a0 += w_s * (bdx - bx * along)
                a1 += w_s * (bdy - by * along)
                a2 += w_s * (-bz * along)
                u_dot_f = (-by * fx + bx * fy) * inverse2
                f_scale = w_s * force_scale
                a3 += f_scale * (fx + by * u_dot_f)
                a4 += f_scale * (fy - bx * u_dot_f)
                j2_inverse2 = j2 * inverse2
                p_rate = j2_inverse2 * (wx * kdx + wy * kdy)
                sa = w_s * alpha
                a5 += sa * (kdy - p_rate * mx)
                a6 += sa * (-kdx - p_rate * my)
                a7 += sa * (-p_rate * mz)
                p_force = j2_inverse2 * (wx * fx + wy * fy)
                a8 += f_scale * (fx - p_force * wx)
                a9 += f_scale * (fy - p_force * wy)
            sums[t, 0], sums[t, 1], sums[t, 2], sums[t, 3], sums[t, 4] = a0, a1, a2, a3, a4
            sums[t, 5], sums[t, 6], sums[t, 7], sums[t, 8], sums[t, 9] = a5, a6, a7, a8, a9

    _NUMBA[fastmath] = (public_sums, pipeline_sums)
    return _NUMBA[fastmath]


def numba_public_call(p, k, fastmath):
    kernels = numba_kernels(fastmath)
    if kernels is None:
        return None
    public_sums = kernels[0]
    dt = k.dtype.type
    kx, ky = np.ascontiguousarray(k[:, 0]), np.ascontiguousarray(k[:, 1])
    out = np.zeros(8, k.dtype)
    args = (
        kx, ky, dt(p["alpha"]), dt(p["j_ex"]), *(dt(x) for x in p["m"]), dt(p["c"]), dt(BAND), dt(HBAR),
        dt(-EFIELD[0]), dt(-EFIELD[1]), dt(p["mass"] * p["alpha"] ** 2 / HBAR**2), dt(1), out,
    )

    def call():
        public_sums(*args)
        return out.astype(np.float64)

    return call


def numba_pipeline_call(p, k, weight, sign, shift, force, fastmath):
    kernels = numba_kernels(fastmath)
    if kernels is None:
        return None
    pipeline_sums = kernels[1]
    dt = k.dtype.type
    k0x, k0y = np.ascontiguousarray(k[:, 0]), np.ascontiguousarray(k[:, 1])
    sums = np.zeros((shift.shape[0], 10), k.dtype)
    args = (
        k0x, k0y, weight, sign, shift, force, dt(p["alpha"]), dt(p["j_ex"]), *(dt(x) for x in p["m"]), dt(HBAR),
        dt(p["mass"] * p["alpha"] ** 2 / HBAR**2), dt(1), sums,
    )

    def call():
        pipeline_sums(*args)
        return sums.astype(np.float64), None

    return call

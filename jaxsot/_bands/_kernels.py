"""Per-state kernels of a two-band Hamiltonian H = eps0(k) + b(k)·sigma: scalars in, scalars out.

Every function takes the model and one state in scalar components (kx, ky) and returns scalars.
Scalar components, not (2,)-vectors, keep XLA-CPU out of its slow fusion path for large ensembles
(docs: Benchmarks). Derivatives come from autodiff of one energy: velocity = grad(eps)/hbar and the
spin force is a Hessian-vector product of s*Omega (jax-md style). s is the band sign as a float
(+1 upper, -1 lower); k [1/nm]; f = hbar k' = qE [eV/nm].

The spin force of any band shape (docs: Theory > The spin force for any band shape): the anomalous
acceleration a_so = r'' - Hess(eps0) k'/hbar = Hess(s Omega) f/hbar^2 exists for every model; the spin
force is F_so = M0(k) a_so with M0 = hbar^2 [Hess eps0]^-1 the local mass tensor of eps0,
i.e. F_so = M0 r'' - hbar k'. For eps0 = hbar^2 k^2/2m (M0 = m I) it is the papers' m r'' - hbar k'.
"""


import jax
import jax.numpy as jnp
from .._core._model import RashbaFerromagnet
from ..constants import CARRIER_CHARGE, HBAR


# ---------------------------------------------------------------------------------------------
# Per-state kernels (scalars in, scalars out). s is the band sign as a float.


def exchange_field_components(model, kx, ky):
    """b(k) [eV] of H = eps0(k) + b(k)·sigma, three scalars (for the Rashba ferromagnet
    alpha (k x z) - J M): the model's `field` (the two-band interface, `jaxsot._core.TwoBandModel`)."""
    return model.field(kx, ky)


def splitting(model, kx, ky):
    """Omega(k) = |b(k)| [eV]; the bands are eps_s = eps0 + s Omega (eps0 = hbar^2 k^2/2m for the Rashba ferromagnet)."""
    bx, by, bz = exchange_field_components(model, kx, ky)
    return jnp.sqrt(bx * bx + by * by + bz * bz)


def energy(model, kx, ky, s):
    """eps_s(k) [eV], exact two-band energy (eigenvalue of the 2x2 H(k))."""
    return model.kinetic_energy(kx, ky) + s * splitting(model, kx, ky)


def spin(model, kx, ky, s):
    """Band spin <sigma> = s b/|b| (dimensionless), as three scalars."""
    bx, by, bz = exchange_field_components(model, kx, ky)
    scale = s / jnp.sqrt(bx * bx + by * by + bz * bz)
    return bx * scale, by * scale, bz * scale


def velocity(model, kx, ky, s):
    """v = d eps / hbar dk [nm/fs] by autodiff."""
    gx, gy = jax.grad(energy, argnums=(1, 2))(model, kx, ky, s)
    return gx / HBAR, gy / HBAR


def spin_splitting_gradient(model, kx, ky, s):
    return jax.grad(lambda qx, qy: s * splitting(model, qx, qy), argnums=(0, 1))(kx, ky)


def has_parabolic_kinetic_energy(model) -> bool:
    """True when the model declares eps0(k) = hbar^2 k^2/(2 model.mass) exactly (M0 = m I everywhere).

    The Rashba ferromagnet does, and a model class with `kinetic_is_parabolic = True` (a ClassVar);
    the spin force then uses `model.mass` (one multiplication) instead of inverting Hess eps0 per state.
    A Python-level decision on the model's type: the same under jit, grad and vmap.
    """
    return isinstance(model, RashbaFerromagnet) or bool(getattr(type(model), "kinetic_is_parabolic", False))


def kinetic_hessian(model, kx, ky):
    """Hess_k eps0 = (d2/dkx2, d2/dkx dky, d2/dky2) eps0 [eV nm^2], three scalars (autodiff).

    hbar^2 times its inverse is the local mass tensor M0(k) of the spin force."""

    def gradient(qx, qy):
        return jax.grad(model.kinetic_energy, argnums=(0, 1))(qx, qy)

    one, zero = jnp.ones_like(kx), jnp.zeros_like(kx)
    _, (hxx, hxy) = jax.jvp(gradient, (kx, ky), (one, zero))
    _, (_, hyy) = jax.jvp(gradient, (kx, ky), (zero, one))
    return hxx, hxy, hyy


def spin_hessian_product(model, kx, ky, s, fx, fy):
    """Hess_k(s Omega) . f [eV^2 nm], two scalars: a Hessian-vector product (jvp of grad)."""
    _, (hx, hy) = jax.jvp(
        lambda qx, qy: spin_splitting_gradient(model, qx, qy, s), (kx, ky), (fx, fy)
    )
    return hx, hy


def anomalous_acceleration_components(model, kx, ky, s, fx, fy):
    """a_so = r'' - Hess(eps0) . k'/hbar = Hess_k(s Omega) . f / hbar^2 [nm/fs^2], f = hbar k' [eV/nm].

    The part of the acceleration of a band state that eps0 does not produce; defined for every
    model (no mass involved), zero without the k-dependent part of b."""
    hx, hy = spin_hessian_product(model, kx, ky, s, fx, fy)
    return hx / HBAR**2, hy / HBAR**2


def spin_force_components(model, kx, ky, s, fx, fy):
    """Spin force F_so = M0(k) . a_so = M0 r'' - hbar k' [eV/nm], f = hbar k' [eV/nm].

    M0 = hbar^2 [Hess eps0]^-1 is the local mass tensor of eps0, so F_so = [Hess eps0]^-1
    Hess(s Omega) . f: no hbar and no reference mass. For a model with parabolic eps0
    (`has_parabolic_kinetic_energy`) M0 = m I and F_so = (m/hbar^2) Hess_k(s Omega) . f = m r'' - hbar k'
    (paper eq. 9-12), computed as that product: a Hessian-vector product (jvp of grad) of s*Omega
    alone, since computing m dv/dt - hbar k' instead would cancel ~1.5 digits in float32 (F_so is
    ~6 % of hbar k'). Where det Hess eps0 = 0 (massless eps0, the lines |kx a| = pi/2 of a square
    lattice) the result is infinite or NaN: the public `jaxsot.spin_force` refuses such states.
    """
    hx, hy = spin_hessian_product(model, kx, ky, s, fx, fy)
    return spin_force_from_hessian_product(model, kx, ky, hx, hy)


def spin_force_from_hessian_product(model, kx, ky, hx, hy):
    """F_so = M0(k) . (h/hbar^2) = [Hess eps0]^-1 . h [eV/nm] from h = Hess_k(s Omega) . f [eV^2 nm].

    For layers that already hold the Hessian-vector product h (the time-evolution kernel computes
    it together with ds/dt): parabolic models scale by m/hbar^2, others solve with Hess eps0."""
    if has_parabolic_kinetic_energy(model):
        scale = model.mass / HBAR**2
        return hx * scale, hy * scale
    hxx, hxy, hyy = kinetic_hessian(model, kx, ky)
    determinant = hxx * hyy - hxy * hxy
    return (hyy * hx - hxy * hy) / determinant, (hxx * hy - hxy * hx) / determinant


def spin_rate_components(model, kx, ky, s, fx, fy):
    """ds/dt = (k' . grad_k) s b/|b| [1/fs] for a band state driven by hbar k' = f (autodiff jvp)."""
    _, rate = jax.jvp(lambda qx, qy: spin(model, qx, qy, s), (kx, ky), (fx / HBAR, fy / HBAR))
    return rate


def spin_force_second_order_components(model, kx, ky, s, fx, fy):
    """Paper eq. 12 (2018) / eq. 13 (2019): exact Omega, alpha k dropped in u = z x b.

    F = s (m alpha^2/(hbar^2 Omega)) [f - (J^2/Omega^2) w (w.f)],  w = z x M = (-My, Mx).
    """
    omega = splitting(model, kx, ky)
    wx, wy = -model.magnetization[1], model.magnetization[0]
    w_dot_f = wx * fx + wy * fy
    projection = model.j_ex**2 / omega**2 * w_dot_f
    scale = s * model.mass * model.alpha**2 / (HBAR**2 * omega)
    return scale * (fx - projection * wx), scale * (fy - projection * wy)


def spin_rate_second_order_components(model, kx, ky, s, fx, fy):
    """ds/dt with b ~ -J M inside the projector (the 3D form behind paper eq. 12) [1/fs].

    ds/dt = (s alpha/Omega) [k' x z - (J^2/Omega^2) M (w . k')], k' = f/hbar, w = z x M.
    Its in-plane part equals -(hbar/(m alpha)) z x F(second order); for Omega -> J it is
    paper eq. 14 (2018) / eq. 15 (2019).
    """
    omega = splitting(model, kx, ky)
    mx, my, mz = model.magnetization[0], model.magnetization[1], model.magnetization[2]
    kdx, kdy = fx / HBAR, fy / HBAR
    w_dot_kd = -my * kdx + mx * kdy
    projection = model.j_ex**2 / omega**2 * w_dot_kd
    scale = s * model.alpha / omega
    return scale * (kdy - projection * mx), scale * (-kdx - projection * my), scale * (-projection * mz)


def field_like_torque_components(model, kx, ky, s):
    """T1 per state = (2/hbar) B_so x <sigma>, B_so the spin-orbit part of b(k) [1/fs] (paper eq. 5)."""
    sx, sy, sz = spin(model, kx, ky, s)
    bx, by, bz = model.spin_orbit_field(kx, ky)
    scale = 2.0 / HBAR
    return scale * (by * sz - bz * sy), scale * (bz * sx - bx * sz), scale * (bx * sy - by * sx)



def spin_force_strong_exchange_components(model, ex, ey, s):
    """Paper eq. 13 (2018; eq. 14 in 2019) for one field E = (ex, ey) [V/nm] -> F [eV/nm].

    F = s eta (I - w w^T) f, f = qE (q = -e), w = z x M, eta = m alpha^2/(hbar^2 J); k-independent.
    """
    fx, fy = CARRIER_CHARGE * ex, CARRIER_CHARGE * ey
    wx, wy = -model.magnetization[1], model.magnetization[0]
    w_dot_f = wx * fx + wy * fy
    scale = s * model.eta
    return scale * (fx - w_dot_f * wx), scale * (fy - w_dot_f * wy)


def damping_torque_strong_exchange_components(model, ex, ey, s):
    """Paper eq. 14 (2018; eq. 15 in 2019): T2 = -s (e alpha/(hbar J)) M x (M x (E x z)) [1/fs]."""
    mx, my, mz = model.magnetization[0], model.magnetization[1], model.magnetization[2]
    ax, ay, az = ey, -ex, 0.0 * ex  # E x z
    ix, iy, iz = my * az - mz * ay, mz * ax - mx * az, mx * ay - my * ax  # M x (E x z)
    scale = -s * model.alpha / (HBAR * model.j_ex)
    return scale * (my * iz - mz * iy), scale * (mz * ix - mx * iz), scale * (mx * iy - my * ix)

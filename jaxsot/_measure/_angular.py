"""Anisotropic torque coefficients: the current-induced fields expanded over the direction of M.

Geometry and field convention as in `_fields.py` (current along x_j, y_j = z x x_j; T_X = -gamma M x B_X).
With s^2 = sin^2(theta) = |z x M|^2 (theta the polar angle of M from the interface normal z), the
per-current-density fields b_X = B_X/j [T/(A/m^2)] are written as

    b_FL(M) = P_perp y [F0 + F2 s^2 + ... + F{2N} s^2N] + (z x M)(M.x) [G2 + G4 s^2 + ... + G{2N} s^(2N-2)]
    b_DL(M) = (M x y)  [D0 + D2 s^2 + ... + D{2N} s^2N] + M x (z x M)(M.x) [H2 + H4 s^2 + ... + H{2N} s^(2N-2)]

(x = x_j, y = y_j; every structure is perpendicular to M; the second one of each line is itself of
order s^2, hence the labels G2, H2). In torques, T_FL = -gamma M x b_FL j and
T_DL = -gamma M x b_DL j = gamma j {P_perp y [D...] + (z x M)(M.x) [H...]}: the expansion of
Garello et al., Nat. Nanotech. 8, 587 (2013), in powers of (z x M)^2 with an isotropic structure and a
(z x M)(M.x)-type anisotropic one for each torque.

Why this basis is complete. Write b in the spherical frame of M (e_theta, e_phi, azimuth phi from x).
(i) Rotating M and the current together about z is a symmetry of the Rashba ferromagnet, and b is linear
in E: b = cos(phi) u(theta) + sin(phi) v(theta) with u, v tangent fields depending on theta only.
(ii) The mirror through the plane of z and the azimuth of M maps M to -M (M is axial) and the current
component along the azimuth to itself, the other to minus itself; with the parity of each part
(B_FL even, B_DL odd in M, `_fields.py`) this leaves
    b_FL = sin(phi) cos(theta) P(cos^2 theta) e_theta + cos(phi) Q(cos^2 theta) e_phi,
    b_DL = cos(phi) R(cos^2 theta) e_theta + sin(phi) cos(theta) S(cos^2 theta) e_phi,
with P = Q and R = -S at the poles (b single valued there). Since P_perp y = cos(theta) sin(phi) e_theta +
cos(phi) e_phi, (z x M)(M.x) = s^2 cos(phi) e_phi, M x y = -cos(phi) e_theta + cos(theta) sin(phi) e_phi and
M x (z x M)(M.x) = -s^2 cos(phi) e_theta, the two structures per torque with coefficient functions
F = P, G = (Q - P)/s^2 (and D = S, H = -(R + S)/s^2) represent every such field; truncating the
series in s^2 at order N is the only approximation (its size is the reported residual).

The strong-exchange limit has exactly b_FL = F0 P_perp y and b_DL = D0 (M x y) (`_fields.py`); every
other coefficient is zero. The coefficients come from linear least squares over a product grid of
M directions (Gauss-Legendre in cos(theta) x uniform phi), weighted by the quadrature weights: the L2
projection on the sphere.
"""

import functools
import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float

from .._core import check_count, check_shape
from .._llg import Magnet, SpinOrbitTorque
from ._fields import effective_fields


def sphere_grid(num_theta: int = 10, num_phi: int = 16, dtype=None):
    """Directions and weights of a product quadrature on the unit sphere.

    cos(theta) at `num_theta` Gauss-Legendre nodes, phi at `num_phi` equally spaced angles.
    Integrates polynomials in the components of M exactly up to degree
    min(2 num_theta - 1, num_phi - 1).

    Args:
        num_theta: Gauss-Legendre nodes in cos(theta) (>= 1).
        num_phi: equally spaced azimuths phi (>= 1).
        dtype: floating dtype of the result (default: JAX's default float).

    Returns: m, shape (num_theta * num_phi, 3) unit vectors, and weights, shape
        (num_theta * num_phi,), summing to 4 pi.
    """
    num_theta = check_count("num_theta", num_theta, minimum=2)
    num_phi = check_count("num_phi", num_phi, minimum=4)
    nodes, weights = onp.polynomial.legendre.leggauss(num_theta)
    phi = 2.0 * math.pi * onp.arange(num_phi) / num_phi
    cos_t = onp.repeat(nodes, num_phi)
    sin_t = onp.sqrt(1.0 - cos_t**2)
    ph = onp.tile(phi, num_theta)
    m = onp.stack([sin_t * onp.cos(ph), sin_t * onp.sin(ph), cos_t], -1)
    w = onp.repeat(weights, num_phi) * (2.0 * math.pi / num_phi)
    dtype = dtype or jnp.result_type(float)
    return jnp.asarray(m, dtype), jnp.asarray(w, dtype)


def _frame(current_direction, dtype):
    x2 = jnp.asarray(current_direction, dtype)[:2]
    x2 = x2 / jnp.sqrt(x2 @ x2)
    x = jnp.stack([x2[0], x2[1], jnp.zeros((), dtype)])
    y = jnp.stack([-x2[1], x2[0], jnp.zeros((), dtype)])
    return x, y


def structures(m, current_direction=(1.0, 0.0)):
    """The four angular structures at M (..., 3) -> each (..., 3), and s^2 = |z x M|^2 (...,).

    Returns (P_perp y, (z x M)(M.x), M x y, M x (z x M)(M.x), s^2) with x = the current direction, y = z x x.
    """
    m = jnp.asarray(m)
    x, y = _frame(current_direction, m.dtype)
    z = jnp.asarray([0.0, 0.0, 1.0], m.dtype)
    zxm = jnp.cross(jnp.broadcast_to(z, m.shape), m)
    mx = (m @ x)[..., None]
    y_perp = y - m * (m @ y)[..., None]
    m_cross_y = jnp.cross(m, jnp.broadcast_to(y, m.shape))
    s2 = m[..., 0] ** 2 + m[..., 1] ** 2
    return y_perp, zxm * mx, m_cross_y, jnp.cross(m, zxm) * mx, s2


def _design(m, current_direction, order):
    """Design tensors (K, 3, 2N+1) for b_FL and b_DL: isotropic s^(2n), n = 0..N, then anisotropic s^(2n), n = 0..N-1."""
    fl_iso, fl_aniso, dl_iso, dl_aniso, s2 = structures(m, current_direction)
    powers_iso = jnp.stack([s2**n for n in range(order + 1)], -1)  # (K, N+1)
    # (K, N); order 0 has no anisotropic terms (an empty (K, 0)).
    powers_aniso = jnp.stack([s2**n for n in range(order)], -1) if order else jnp.zeros(s2.shape + (0,), s2.dtype)

    def build(iso, aniso):
        return jnp.concatenate([iso[..., None] * powers_iso[:, None, :], aniso[..., None] * powers_aniso[:, None, :]], -1)

    return build(fl_iso, fl_aniso), build(dl_iso, dl_aniso)


class TorqueCoefficients(eqx.Module):
    """Coefficients of the angular expansion (module docstring), all [T/(A/m^2)] (x 1e11: T per 1e11 A/m^2).

    Fields:
        field_like (N+1,): F0, F2, ..., F{2N}; field_like_azimuthal (N,): G2, ..., G{2N};
        damping_like (N+1,): D0, ..., D{2N}; damping_like_azimuthal (N,): H2, ..., H{2N};
        field_like_residual, damping_like_residual: relative quadrature-weighted rms of (expansion - field),
            the truncation error of order N;
        order N (static).
    """

    field_like: Float[Array, "N1"]
    field_like_azimuthal: Float[Array, "N"]
    damping_like: Float[Array, "N1"]
    damping_like_azimuthal: Float[Array, "N"]
    field_like_residual: Float[Array, ""]
    damping_like_residual: Float[Array, ""]
    order: int = eqx.field(static=True)

    def as_dict(self) -> dict:
        """{"F0": ..., "F2": ..., "G2": ..., "D0": ..., "H2": ...} as Python floats [T/(A/m^2)]."""
        out = {}
        for prefix, iso, aniso in (("F", self.field_like, self.field_like_azimuthal), ("D", self.damping_like, self.damping_like_azimuthal)):
            for n in range(self.order + 1):
                out[f"{prefix}{2 * n}"] = float(iso[n])
            other = "G" if prefix == "F" else "H"
            for n in range(self.order):
                out[f"{other}{2 * n + 2}"] = float(aniso[n])
        return out


def fit_torque_coefficients(m, weights, b_fl, b_dl, *, current_direction=(1.0, 0.0), order: int = 2) -> TorqueCoefficients:
    """Least-squares coefficients of the angular expansion from fields sampled at directions m.

    Pure and differentiable (jnp.linalg.lstsq).

    Args:
        m: unit magnetizations, shape (K, 3).
        weights: quadrature weights, shape (K,), > 0 (e.g. from `sphere_grid`).
        b_fl: field-like field per current density at m, shape (K, 3) [T/(A/m^2)] (or any unit
            shared with b_dl).
        b_dl: damping-like field per current density at m, shape (K, 3), same unit as b_fl.
        current_direction: in-plane current direction x_j, shape (2,).
        order: expansion order N >= 0 (powers of s^2 up to s^2N).

    Returns: TorqueCoefficients.
    """
    order = check_count("order", order, minimum=0, maximum=6)
    check_shape("m", m, (3,))
    check_shape("b_fl", b_fl, (3,))
    check_shape("b_dl", b_dl, (3,))
    m, b_fl, b_dl, weights = (jnp.asarray(a) for a in (m, b_fl, b_dl, weights))
    if m.ndim != 2 or b_fl.shape != m.shape or b_dl.shape != m.shape or weights.shape != m.shape[:1]:
        raise ValueError(
            f"m has shape {m.shape}, weights {weights.shape}, b_fl {b_fl.shape}, b_dl {b_dl.shape}; allowed: m, b_fl, "
            "b_dl of one shape (K, 3) and weights (K,)"
        )
    return _fit(m, weights, b_fl, b_dl, jnp.asarray(current_direction, m.dtype), order)


@functools.partial(jax.jit, static_argnums=(5,))
def _fit(m, weights, b_fl, b_dl, current_direction, order):
    design_fl, design_dl = _design(m, current_direction, order)
    root_w = jnp.sqrt(weights)[:, None, None]

    def solve(design, b):
        a = (root_w * design).reshape(-1, design.shape[-1])
        rhs = (root_w[..., 0] * b).reshape(-1)
        coefficients = jnp.linalg.lstsq(a, rhs)[0]
        residual = jnp.sqrt(jnp.sum((a @ coefficients - rhs) ** 2) / jnp.sum(rhs**2))
        return coefficients, residual

    c_fl, r_fl = solve(design_fl, b_fl)
    c_dl, r_dl = solve(design_dl, b_dl)
    n1 = order + 1
    return TorqueCoefficients(
        field_like=c_fl[:n1],
        field_like_azimuthal=c_fl[n1:],
        damping_like=c_dl[:n1],
        damping_like_azimuthal=c_dl[n1:],
        field_like_residual=r_fl,
        damping_like_residual=r_dl,
        order=order,
    )


def angular_fields(coefficients: TorqueCoefficients, m, current_direction=(1.0, 0.0)):
    """The angular expansion evaluated at magnetizations m.

    Args:
        coefficients: the expansion (from `torque_coefficients` or `fit_torque_coefficients`).
        m: unit magnetizations, shape (..., 3).
        current_direction: in-plane current direction x_j, shape (2,).

    Returns: (b_FL, b_DL), each of shape (..., 3) [T/(A/m^2)] (the coefficients' unit).
    """
    check_shape("m", m, (3,))
    m = jnp.asarray(m)
    b_fl, b_dl = _evaluate(coefficients, m.reshape(-1, 3), jnp.asarray(current_direction, m.dtype))
    return b_fl.reshape(m.shape), b_dl.reshape(m.shape)


@jax.jit
def _evaluate(coefficients, m, current_direction):
    design_fl, design_dl = _design(m, current_direction, coefficients.order)
    c_fl = jnp.concatenate([coefficients.field_like, coefficients.field_like_azimuthal])
    c_dl = jnp.concatenate([coefficients.damping_like, coefficients.damping_like_azimuthal])
    return design_fl @ c_fl, design_dl @ c_dl


def torque_coefficients(
    magnet: Magnet,
    torque: SpinOrbitTorque,
    rho0,
    *,
    method: str = "exact",
    order: int = 2,
    num_theta: int = 10,
    num_phi: int = 16,
) -> TorqueCoefficients:
    """Anisotropic torque coefficients of the electron model (module docstring), per current density.

    Evaluates `effective_fields` (method "exact" or "strong_exchange") on a `sphere_grid(num_theta, num_phi)`
    and projects b = B/j on the expansion of order N = `order` (`fit_torque_coefficients`), with the
    current along E of `torque`. Grid points at M = +-y_j are harmless (the projection uses the
    vectors, not the scalar fields).
    torque may be a `jaxsot.ModelTorque` (any TwoBandModel, method "exact" only): the basis stays
    complete only for a model with the Rashba ferromagnet's rotation symmetry about z; for a
    lower symmetry (Dresselhaus, a lattice) the reported residual measures what it leaves out.

    Args:
        magnet: the macrospin (one instance).
        torque: the electron source (one instance: SpinOrbitTorque or ModelTorque); the current flows
            along its E.
        rho0: film resistivity [ohm m] (j = |E|/rho0).
        method: "exact" or "strong_exchange" (as in `effective_fields`).
        order: expansion order N >= 0.
        num_theta: Gauss-Legendre nodes in cos(theta) of the sphere grid.
        num_phi: azimuths of the sphere grid.

    Returns: TorqueCoefficients per current density [T/(A/m^2)].
    """
    dtype = jnp.result_type(torque.tau, magnet.ms_tesla, float)
    m, weights = sphere_grid(num_theta, num_phi, dtype)
    with warnings.catch_warnings():
        # The grid may hold M = +-y_j, where only the scalar fields are undefined; the vectors are used here.
        warnings.filterwarnings("ignore", message="effective_fields: .* along", category=RuntimeWarning)
        result = effective_fields(magnet, torque, m, rho0, methods=(method,))
    fields = result.exact if method == "exact" else result.strong_exchange
    j = result.current_density
    return fit_torque_coefficients(
        m, weights, fields.field_like / j, fields.damping_like / j, current_direction=result.current_direction, order=order
    )

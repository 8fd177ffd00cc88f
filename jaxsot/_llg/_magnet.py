"""The macrospin: magnet parameters, the conventional effective field B_0 and its energy [T, eV/nm^2].
"""


import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float
from .._core._checks import check_demag, check_finite, check_range, check_shape, is_concrete
from ..constants import G_ELECTRON, HBAR, MU0, MU_B_EV_PER_T, MU_B_J_PER_T




METHODS = ("strong_exchange", "exact")

PROBE_DIRECTIONS = (
    (0.0, 0.0, 1.0),
    (0.0, 0.0, -1.0),
    (1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0),
    (-0.6, 0.8, 0.0),
    (0.5, 0.5, 0.7071067811865476),
)


def as_float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))


def unit_vectors(name, value):
    check_finite(name, value)
    check_shape(name, value, (3,))
    value = as_float(value)
    norm = jnp.sqrt(jnp.sum(value * value, axis=-1, keepdims=True))
    if is_concrete(norm) and not bool(jnp.all(norm > 0.0)):
        raise ValueError(f"{name} has a zero-length vector; allowed: non-zero 3-vectors (normalized here)")
    return value / norm


class Magnet(eqx.Module):
    """Macrospin parameters (an immutable pytree; every field may carry leading batch dimensions).

    Args:
        ms_tesla: mu0 M_s [T] (> 0), saturation magnetization times mu0 (1 T is M_s = 7.96e5 A/m).
        thickness: magnet thickness d [nm] (> 0).
        gilbert: Gilbert damping alpha_G (>= 0; the papers' gamma_G).
        anisotropy_field: uniaxial anisotropy field B_K = 2 K_u/M_s [T] (< 0: easy plane).
        easy_axis: uniaxial axis u, shape (..., 3), normalized here.
        demag: diagonal demagnetizing factors (N_x, N_y, N_z), each in [0, 1] (thin film: (0, 0, 1)).
        external_field: B_ext [T], shape (..., 3).
        g_factor: g (> 0); gamma = g mu_B/hbar.

    Raises ValueError naming the parameter, its value and the allowed range.
    """

    ms_tesla: Float[Array, "..."]
    thickness: Float[Array, "..."]
    gilbert: Float[Array, "..."]
    anisotropy_field: Float[Array, "..."]
    easy_axis: Float[Array, "... 3"]
    demag: Float[Array, "... 3"]
    external_field: Float[Array, "... 3"]
    g_factor: Float[Array, "..."]

    _CORE_NDIM = {
        "ms_tesla": 0,
        "thickness": 0,
        "gilbert": 0,
        "anisotropy_field": 0,
        "easy_axis": 1,
        "demag": 1,
        "external_field": 1,
        "g_factor": 0,
    }

    def __init__(
        self,
        ms_tesla,
        thickness,
        gilbert,
        *,
        anisotropy_field=0.0,
        easy_axis=(0.0, 0.0, 1.0),
        demag=(0.0, 0.0, 1.0),
        external_field=(0.0, 0.0, 0.0),
        g_factor=G_ELECTRON,
    ):
        check_range("ms_tesla", ms_tesla, low=0.0, low_inclusive=False, unit="T")
        check_range("thickness", thickness, low=0.0, low_inclusive=False, unit="nm")
        check_range("gilbert", gilbert, low=0.0)
        check_range("anisotropy_field", anisotropy_field, unit="T")
        check_demag("demag", demag)
        check_finite("external_field", external_field)
        check_shape("external_field", external_field, (3,))
        check_range("g_factor", g_factor, low=0.0, low_inclusive=False)
        self.ms_tesla = as_float(ms_tesla)
        self.thickness = as_float(thickness)
        self.gilbert = as_float(gilbert)
        self.anisotropy_field = as_float(anisotropy_field)
        self.easy_axis = unit_vectors("easy_axis", easy_axis)
        self.demag = as_float(demag)
        self.external_field = as_float(external_field)
        self.g_factor = as_float(g_factor)

    @property
    def gamma(self):
        """Gyromagnetic ratio gamma = g mu_B/hbar [rad/(fs T)]."""
        return self.g_factor * MU_B_EV_PER_T / HBAR

    @property
    def moment_density(self):
        """n_mu = M_s d/mu_B, the magnet's moment per area [mu_B/nm^2]."""
        return self.ms_tesla / MU0 * (self.thickness * 1e-9) / MU_B_J_PER_T * 1e-18

    @property
    def torque_area(self):
        """kappa = g/(2 n_mu) = g mu_B/(2 M_s d) [nm^2]: dM/dt = -kappa P_perp T for an electron torque density T."""
        return self.g_factor / (2.0 * self.moment_density)


def conventional_field(magnet: Magnet, m: Float[Array, "3"]) -> Float[Array, "3"]:
    """B_0(M) = B_ext + B_K (u.M) u - mu0 M_s (N M) [T] (external + uniaxial + shape), single magnet.

    Args:
        magnet: the macrospin (one instance).
        m: magnetization direction, shape (3,) (unit vector).

    Returns: shape (3,) [T].
    """
    u = magnet.easy_axis
    return magnet.external_field + magnet.anisotropy_field * (u @ m) * u - magnet.ms_tesla * magnet.demag * m


def conventional_energy(magnet: Magnet, m: Float[Array, "3"]) -> Float[Array, ""]:
    """E_0(M) = n_mu mu_B [-B_ext.M - (B_K/2)(u.M)^2 + (mu0 M_s/2) M.N.M] [eV/nm^2]; B_0 = -dE_0/dM/(n_mu mu_B).

    Args:
        magnet: the macrospin (one instance).
        m: magnetization direction, shape (3,) (unit vector).

    Returns: a scalar [eV/nm^2].
    """
    u = magnet.easy_axis
    density = -magnet.external_field @ m - 0.5 * magnet.anisotropy_field * (u @ m) ** 2 + 0.5 * magnet.ms_tesla * (magnet.demag @ (m * m))
    return magnet.moment_density * MU_B_EV_PER_T * density



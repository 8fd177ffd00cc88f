"""Rashba + Dresselhaus ferromagnet: two linear spin-orbit terms on a parabolic band."""

from typing import ClassVar

import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._core._checks import check_real_scalar, unit_vector
from .._core._model import TwoBandModel
from ..constants import ELECTRON_MASS, HBAR2_OVER_2ME
from ._common import is_in_plane, quadratic_ray_bound, touching_text


class RashbaDresselhausFerromagnet(TwoBandModel):
    """Rashba + linear Dresselhaus ferromagnet, H = hbar^2 k^2/2m + alpha (k x z).sigma + beta (kx sigma_x - ky sigma_y) - J M.sigma.

    b(k) = (alpha ky + beta kx - J Mx, -alpha kx - beta ky - J My, -J Mz); beta = 0 is the Rashba
    ferromagnet (`jaxsot.RashbaFerromagnet`, with its closed forms). For in-plane M and
    alpha^2 != beta^2 the bands touch at the one point where B_so(k) = J M:
    k* = J (-(beta Mx + alpha My), alpha Mx + beta My)/(alpha^2 - beta^2). At |alpha| = |beta| (the
    persistent spin helix) B_so points along a fixed axis, the touching set is a line or empty,
    and `jaxsot.band_touching_report` searches for it.

    An immutable pytree, differentiable in every float field.

    Args:
        alpha: Rashba coupling [eV nm]; any real number.
        beta: linear Dresselhaus coupling [eV nm]; any real number.
        j_ex: exchange coupling J [eV], >= 0.
        magnetization: direction M, shape (3,); normalized here (it must not be zero).
        mass_ratio: effective mass m*/m_e, > 0.

    Raises:
        ValueError: for a parameter that is not one finite real number in its range, or a zero or
            non-finite magnetization, naming the parameter, its value and the allowed range.
    """

    alpha: Float[Array, ""]
    beta: Float[Array, ""]
    j_ex: Float[Array, ""]
    magnetization: Float[Array, "3"]
    mass_ratio: Float[Array, ""]
    ray_bound_is_safe: ClassVar[bool] = True  # `quadratic_ray_bound` with |B_so| <= (|alpha| + |beta|) k
    kinetic_is_parabolic: ClassVar[bool] = True

    def __init__(self, alpha, beta, j_ex, magnetization, mass_ratio=1.0):
        alpha = check_real_scalar("alpha", alpha, unit="eV nm")
        beta = check_real_scalar("beta", beta, unit="eV nm")
        j_ex = check_real_scalar("j_ex", j_ex, low=0.0, unit="eV")
        mass_ratio = check_real_scalar("mass_ratio", mass_ratio, low=0.0, low_inclusive=False)
        self.alpha = jnp.asarray(alpha)
        self.beta = jnp.asarray(beta)
        self.j_ex = jnp.asarray(j_ex)
        self.magnetization = unit_vector("magnetization", magnetization)
        self.mass_ratio = jnp.asarray(mass_ratio)

    @property
    def mass(self) -> Float[Array, ""]:
        """Effective mass m = m*/m_e m_e [eV fs^2/nm^2]."""
        return self.mass_ratio * ELECTRON_MASS

    @property
    def kinetic_coefficient(self) -> Float[Array, ""]:
        """hbar^2/(2m) [eV nm^2]."""
        return HBAR2_OVER_2ME / self.mass_ratio

    def kinetic_energy(self, kx, ky):
        """eps0(k) = hbar^2 k^2/2m [eV]."""
        return self.kinetic_coefficient * (kx * kx + ky * ky)

    def field(self, kx, ky):
        """b(k) = (alpha ky + beta kx - J Mx, -alpha kx - beta ky - J My, -J Mz) [eV]."""
        mx, my, mz = self.magnetization[0], self.magnetization[1], self.magnetization[2]
        bx, by, _ = self.spin_orbit_field(kx, ky)
        return bx - self.j_ex * mx, by - self.j_ex * my, -self.j_ex * mz + 0.0 * kx

    def spin_orbit_field(self, kx, ky):
        """B_so = (alpha ky + beta kx, -alpha kx - beta ky, 0) [eV]."""
        return self.alpha * ky + self.beta * kx, -self.alpha * kx - self.beta * ky, 0.0 * kx

    def exchange_field(self):
        """-J M [eV] (3 scalars)."""
        return tuple(-self.j_ex * self.magnetization[i] for i in range(3))

    def field_change(self, kx, ky, dkx, dky):
        """B_so(dk) [eV]: exact, b is affine in k (z component the structural zero 0.0)."""
        return self.alpha * dky + self.beta * dkx, -self.alpha * dkx - self.beta * dky, 0.0

    def ray_bound(self, fermi_energy, s):
        """The root of c r^2 - (|alpha| + |beta|) r + s J = E_F [1/nm], a proven bound (traceable)."""
        slope = jnp.abs(self.alpha) + jnp.abs(self.beta)
        return quadratic_ray_bound(self.kinetic_coefficient, slope, self.j_ex, fermi_energy, s)

    def touching_points(self):
        """Every band touching point [1/nm], shape (n, 2) (one or none), or None on the persistent-helix line |alpha| = |beta| != 0."""
        alpha, beta = float(self.alpha), float(self.beta)
        if not is_in_plane(self.magnetization) or (alpha == 0.0 and beta == 0.0):
            return onp.zeros((0, 2))
        if alpha * alpha == beta * beta:
            return None
        mx, my = (float(x) for x in self.magnetization[:2])
        scale = float(self.j_ex) / (alpha * alpha - beta * beta)
        return onp.asarray([[-(beta * mx + alpha * my) * scale, (alpha * mx + beta * my) * scale]])

    def touching_point(self):
        """The touching point k* [1/nm], shape (2,), or None (M not in-plane, or |alpha| = |beta|)."""
        points = self.touching_points()
        return None if points is None or not len(points) else jnp.asarray(points[0])

    def touching_description(self) -> str:
        """Names k*, or the smallest splitting J |M_z| when M is not in-plane."""
        points = self.touching_points()
        if points is None:
            return "line where B_so(k) = J M (|alpha| = |beta|: B_so has a fixed axis)"
        return touching_text(points, float(self.j_ex) * abs(float(self.magnetization[2])), "where b(k) = 0")

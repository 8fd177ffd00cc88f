"""Topological-insulator surface state with exchange: a (massive or massless) Dirac cone."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._core._checks import check_real_scalar, is_concrete, unit_vector
from .._core._model import TwoBandModel
from ..constants import HBAR
from ._common import is_in_plane, quadratic_ray_bound, touching_text


class TISurfaceFerromagnet(TwoBandModel):
    """Surface state of a topological insulator with exchange, H = c k^2 + hbar v (k x sigma)_z - J M.sigma.

    (k x sigma)_z = kx sigma_y - ky sigma_x, so eps0(k) = c k^2 and
    b(k) = (-hbar v ky - J Mx, hbar v kx - J My, -J Mz): a Dirac cone (c = 0) or a cone with a
    quadratic term, gapped by J |M_z| and shifted to k* = (J/(hbar v)) (My, -Mx) by in-plane M
    (there the bands touch, exactly, when M_z = 0). hbar v (k x sigma)_z is the Rashba term
    alpha (k x z).sigma with alpha = -hbar v.

    An immutable pytree, differentiable in every float field.

    Args:
        hbar_v: Dirac velocity times hbar, hbar v [eV nm] (Bi2Se3: about 0.33 eV nm); any real number.
        j_ex: exchange coupling J [eV], >= 0.
        magnetization: direction M, shape (3,); normalized here (it must not be zero).
        kinetic: coefficient c [eV nm^2] of the k^2 term, >= 0 (default 0: massless Dirac cone).

    Raises:
        ValueError: for a parameter that is not one finite real number in its range, or a zero or
            non-finite magnetization, naming the parameter, its value and the allowed range.

    With c = 0 the lower band is unbounded below (its Fermi sea is infinite: `ray_bound` and so
    every Fermi-sea and contour quantity raise) and eps0 has no mass: `mass` and
    `jaxsot.spin_force` raise and name `jaxsot.anomalous_acceleration`, which is defined. The
    single-state functions (energies, spins, velocities, torques) work.
    """

    hbar_v: Float[Array, ""]
    j_ex: Float[Array, ""]
    magnetization: Float[Array, "3"]
    kinetic: Float[Array, ""]
    massless: bool = eqx.field(static=True)
    ray_bound_is_safe: ClassVar[bool] = True  # `quadratic_ray_bound`; refused where no bound exists
    kinetic_is_parabolic: ClassVar[bool] = True  # eps0 = c k^2 = hbar^2 k^2/(2 mass)

    def __init__(self, hbar_v, j_ex, magnetization, kinetic=0.0):
        hbar_v = check_real_scalar("hbar_v", hbar_v, unit="eV nm")
        j_ex = check_real_scalar("j_ex", j_ex, low=0.0, unit="eV")
        kinetic = check_real_scalar("kinetic", kinetic, low=0.0, unit="eV nm^2")
        self.hbar_v = jnp.asarray(hbar_v)
        self.j_ex = jnp.asarray(j_ex)
        self.magnetization = unit_vector("magnetization", magnetization)
        self.kinetic = jnp.asarray(kinetic)
        # Static, so that the mass and the lower band's ray bound refuse a massless cone under jit too.
        self.massless = is_concrete(kinetic) and float(kinetic) == 0.0

    def parameter_names(self) -> tuple:
        """The parameters sweeps and fits may vary: hbar_v, j_ex, and kinetic unless the cone is massless.

        A massless cone (built with kinetic = 0) keeps kinetic = 0: its masslessness is static.
        """
        return ("hbar_v", "j_ex") if self.massless else ("hbar_v", "j_ex", "kinetic")

    @property
    def mass(self) -> Float[Array, ""]:
        """m = hbar^2/(2c) [eV fs^2/nm^2] of eps0 = c k^2 (its mass tensor is m I everywhere).

        Raises:
            ValueError: for c = 0 (massless Dirac cone), naming `jaxsot.anomalous_acceleration`.
        """
        if self.massless:
            raise ValueError(
                "TISurfaceFerromagnet with kinetic = 0.0 is a massless Dirac cone: eps0 = 0 has no mass, so the "
                "spin force F_so = m r'' - hbar k' is undefined; allowed: kinetic > 0 [eV nm^2]; use "
                "jaxsot.anomalous_acceleration (r'' - Hess(eps0) k'/hbar) or the torques (jaxsot.damping_torque) instead"
            )
        return HBAR**2 / (2.0 * self.kinetic)

    def kinetic_energy(self, kx, ky):
        """eps0(k) = c k^2 [eV]."""
        return self.kinetic * (kx * kx + ky * ky)

    def field(self, kx, ky):
        """b(k) = (-hbar v ky - J Mx, hbar v kx - J My, -J Mz) [eV]."""
        mx, my, mz = self.magnetization[0], self.magnetization[1], self.magnetization[2]
        return (-self.hbar_v * ky - self.j_ex * mx, self.hbar_v * kx - self.j_ex * my, -self.j_ex * mz + 0.0 * kx)

    def spin_orbit_field(self, kx, ky):
        """B_so = hbar v (-ky, kx, 0) [eV]."""
        return -self.hbar_v * ky, self.hbar_v * kx, 0.0 * kx

    def exchange_field(self):
        """-J M [eV] (3 scalars)."""
        return tuple(-self.j_ex * self.magnetization[i] for i in range(3))

    def field_change(self, kx, ky, dkx, dky):
        """hbar v (-dky, dkx, 0) [eV]: exact, b is affine in k (z component the structural zero 0.0)."""
        return -self.hbar_v * dky, self.hbar_v * dkx, 0.0

    def ray_bound(self, fermi_energy, s):
        """Radius [1/nm] beyond which eps_s >= E_F on every ray (traceable).

        c > 0: the root of c r^2 - |hbar v| r + s J = E_F. c = 0: (E_F + J)/|hbar v| for the upper
        band; the lower band -Omega of a massless cone never reaches E_F at large k (its Fermi sea
        is infinite), so every Fermi-sea and contour quantity, which needs the lower band's bound,
        is refused.

        Raises:
            ValueError: for the lower band (s = -1, concrete) of a massless cone (kinetic = 0).
        """
        if self.massless and not (is_concrete(s) and float(s) > 0):
            raise ValueError(
                "TISurfaceFerromagnet with kinetic = 0.0: the lower band of a massless Dirac cone is unbounded below, "
                "so its Fermi sea (and every Fermi-sea or contour quantity) is infinite; allowed: kinetic > 0 "
                "[eV nm^2] (a k^2 term), or the single-state functions (jaxsot.band_energy, jaxsot.damping_torque, ...)"
            )
        slope = jnp.abs(self.hbar_v)
        massive = self.kinetic > 0
        safe = jnp.where(massive, self.kinetic, 1.0)
        bound = quadratic_ray_bound(safe, slope, self.j_ex, fermi_energy, s)
        cone = jnp.maximum(fermi_energy + self.j_ex, 0.0) / slope
        return jnp.where(massive, bound, cone)

    def touching_points(self):
        """Every band touching point [1/nm], shape (n, 2): k* = (J/(hbar v))(My, -Mx) for in-plane M, else none."""
        if float(self.hbar_v) == 0.0 or not is_in_plane(self.magnetization):
            return onp.zeros((0, 2))
        mx, my = (float(x) for x in self.magnetization[:2])
        scale = float(self.j_ex) / float(self.hbar_v)
        return onp.asarray([[my * scale, -mx * scale]])

    def touching_point(self):
        """k* = (J/(hbar v))(My, -Mx) [1/nm], shape (2,), for in-plane M (the bands touch), else None."""
        points = self.touching_points()
        return jnp.asarray(points[0]) if len(points) else None

    def touching_description(self) -> str:
        """Names k*, or the smallest splitting J |M_z| when M is not in-plane."""
        floor = float(self.j_ex) * abs(float(self.magnetization[2]))
        return touching_text(self.touching_points(), floor, "where b(k) = 0")

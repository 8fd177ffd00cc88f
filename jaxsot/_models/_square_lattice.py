"""Square-lattice Rashba ferromagnet: nearest-neighbour hopping and spin-orbit coupling on a lattice."""

import math

import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._core._checks import check_real_scalar, unit_vector
from .._core._model import TwoBandModel
from ..constants import HBAR
from ._common import is_in_plane, touching_text


class SquareLatticeRashbaFerromagnet(TwoBandModel):
    """Rashba ferromagnet on a square lattice, H = eps0(k) + b(k).sigma with lattice constant a.

        eps0(k) = -2t (cos kx a + cos ky a) + 4t,
        b(k) = lam (sin ky a, -sin kx a, 0) - J M.

    The constant 4t puts the bottom of eps0 at 0 (k = 0), so that near k = 0 eps0 = t a^2 k^2 + O(k^4)
    and b = lam a (k x z) - J M: the Rashba ferromagnet with hbar^2/2m = t a^2 and alpha = lam a.
    eps0 spans [0, 8t]. Every quantity is periodic with the reciprocal lattice (2 pi/a) Z^2;
    `lattice_vectors` is a times the identity.

    For in-plane M the bands touch where sin kx a = -J My/lam and sin ky a = J Mx/lam: at up to
    four points of the zone when J |Mx| <= |lam| and J |My| <= |lam| (`touching_points`).

    An immutable pytree, differentiable in every float field.

    Args:
        t: nearest-neighbour hopping [eV], > 0.
        a: lattice constant [nm], > 0.
        lam: spin-orbit (Rashba) hopping lambda [eV]; any real number.
        j_ex: exchange coupling J [eV], >= 0.
        magnetization: direction M, shape (3,); normalized here (it must not be zero).

    Raises:
        ValueError: for a parameter that is not one finite real number in its range, or a zero or
            non-finite magnetization, naming the parameter, its value and the allowed range.
    """

    t: Float[Array, ""]
    a: Float[Array, ""]
    lam: Float[Array, ""]
    j_ex: Float[Array, ""]
    magnetization: Float[Array, "3"]

    def __init__(self, t, a, lam, j_ex, magnetization):
        t = check_real_scalar("t", t, low=0.0, low_inclusive=False, unit="eV")
        a = check_real_scalar("a", a, low=0.0, low_inclusive=False, unit="nm")
        lam = check_real_scalar("lam", lam, unit="eV")
        j_ex = check_real_scalar("j_ex", j_ex, low=0.0, unit="eV")
        self.t = jnp.asarray(t)
        self.a = jnp.asarray(a)
        self.lam = jnp.asarray(lam)
        self.j_ex = jnp.asarray(j_ex)
        self.magnetization = unit_vector("magnetization", magnetization)

    @property
    def lattice_vectors(self) -> Float[Array, "2 2"]:
        """Primitive vectors as rows, a * identity [nm], shape (2, 2)."""
        return self.a * jnp.eye(2, dtype=jnp.result_type(self.a, float))

    @property
    def mass(self) -> Float[Array, ""]:
        """Band-bottom mass hbar^2/(2 t a^2) [eV fs^2/nm^2] of eps0 at k = 0 (a reference value).

        The spin force does not use it: it uses the local mass tensor hbar^2 [Hess eps0(k)]^-1
        (docs: Theory > The spin force for any band shape)."""
        return HBAR**2 / (2.0 * self.t * self.a**2)

    def kinetic_energy(self, kx, ky):
        """eps0(k) = -2t (cos kx a + cos ky a) + 4t [eV]."""
        return 2.0 * self.t * ((1.0 - jnp.cos(kx * self.a)) + (1.0 - jnp.cos(ky * self.a)))

    def field(self, kx, ky):
        """b(k) = lam (sin ky a, -sin kx a, 0) - J M [eV]."""
        mx, my, mz = self.magnetization[0], self.magnetization[1], self.magnetization[2]
        bx, by, _ = self.spin_orbit_field(kx, ky)
        return bx - self.j_ex * mx, by - self.j_ex * my, -self.j_ex * mz + 0.0 * kx

    def spin_orbit_field(self, kx, ky):
        """B_so = lam (sin ky a, -sin kx a, 0) [eV]."""
        return self.lam * jnp.sin(ky * self.a), -self.lam * jnp.sin(kx * self.a), 0.0 * kx

    def exchange_field(self):
        """-J M [eV] (3 scalars)."""
        return tuple(-self.j_ex * self.magnetization[i] for i in range(3))

    def field_change(self, kx, ky, dkx, dky):
        """b(k + dk) - b(k) [eV] without cancellation: sin(x + d) - sin x = 2 cos(x + d/2) sin(d/2)."""
        a = self.a
        change_y = 2.0 * jnp.cos((ky + 0.5 * dky) * a) * jnp.sin(0.5 * dky * a)
        change_x = 2.0 * jnp.cos((kx + 0.5 * dkx) * a) * jnp.sin(0.5 * dkx * a)
        return self.lam * change_y, -self.lam * change_x, 0.0

    def touching_points(self):
        """Every band touching point in the zone [-pi/a, pi/a)^2 [1/nm], shape (n, 2), n <= 4."""
        lam, j_ex, a = float(self.lam), float(self.j_ex), float(self.a)
        if lam == 0.0 or not is_in_plane(self.magnetization):
            return onp.zeros((0, 2))
        mx, my = (float(x) for x in self.magnetization[:2])
        sx, sy = -j_ex * my / lam, j_ex * mx / lam  # sin kx a, sin ky a at the touching
        if abs(sx) > 1.0 or abs(sy) > 1.0:
            return onp.zeros((0, 2))

        def angles(value):
            # the two solutions of sin(x) = value, in [-pi, pi) (one when value = +-1)
            first = math.asin(value)
            return sorted({(x + math.pi) % (2.0 * math.pi) - math.pi + 0.0 for x in (first, math.pi - first)})

        return onp.asarray([[x / a, y / a] for x in angles(sx) for y in angles(sy)])

    def touching_point(self):
        """The touching point closest to k = 0 [1/nm], shape (2,), or None (`touching_points` has them all)."""
        points = self.touching_points()
        if not len(points):
            return None
        return jnp.asarray(points[int(onp.argmin(onp.hypot(points[:, 0], points[:, 1])))])

    def touching_description(self) -> str:
        """Names the touching points, or the smallest splitting when the bands never touch."""
        points = self.touching_points()
        if len(points):
            return touching_text(points, 0.0, "where b(k) = 0")
        mx, my, mz = (float(x) for x in self.magnetization)
        lam, j_ex = abs(float(self.lam)), float(self.j_ex)
        # min over the zone of |lam (sy, -sx) - J M| with |sx|, |sy| <= 1 (sin covers [-1, 1]).
        gap = math.sqrt(max(j_ex * abs(mx) - lam, 0.0) ** 2 + max(j_ex * abs(my) - lam, 0.0) ** 2 + (j_ex * mz) ** 2)
        return touching_text(points, gap, "where b(k) = 0")

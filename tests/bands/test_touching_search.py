"""Band touching points of a model that does not name them: the grid + Newton search of |b(k)|^2
(continuum: over the Fermi sea's bounding square; lattice: over the zone), reported by
`jaxsot.band_touching_report` and named by the band-touching warning, against the analytic points."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot._bands._touching_search import find_touching_points

C_KIN = 0.0380998212  # eV nm^2
ALPHA, BETA, J_EX = 0.05, 0.02, 0.5
M_IN_PLANE = np.array([math.cos(0.3), math.sin(0.3), 0.0])


class CustomRashbaDresselhaus(jaxsot.TwoBandModel):
    """The four required members only: no touching_point, no touching_points."""

    alpha: jax.Array
    beta: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return C_KIN * (kx * kx + ky * ky)

    def field(self, kx, ky):
        so = self.spin_orbit_field(kx, ky)
        return tuple(b - self.j_ex * self.magnetization[i] for i, b in enumerate(so))

    def spin_orbit_field(self, kx, ky):
        return self.alpha * ky + self.beta * kx, -self.alpha * kx - self.beta * ky, 0.0 * kx

    @property
    def mass(self):
        return 0.6582119569**2 / (2 * C_KIN) + 0.0 * self.alpha


class CustomSquareLattice(jaxsot.TwoBandModel):
    """A square-lattice Rashba ferromagnet with its lattice declared and no touching points."""

    lam: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return 1.0 * (2.0 - jnp.cos(0.4 * kx) - jnp.cos(0.4 * ky))

    def field(self, kx, ky):
        so = self.spin_orbit_field(kx, ky)
        return tuple(b - self.j_ex * self.magnetization[i] for i, b in enumerate(so))

    def spin_orbit_field(self, kx, ky):
        return self.lam * jnp.sin(0.4 * ky), -self.lam * jnp.sin(0.4 * kx), 0.0 * kx

    @property
    def mass(self):
        return 1.0 + 0.0 * self.lam

    @property
    def lattice_vectors(self):
        return 0.4 * jnp.eye(2)


def _analytic_point(magnetization):
    # B_so(k*) = J M: [[beta, alpha], [-alpha, -beta]] k* = J (Mx, My).
    matrix = np.array([[BETA, ALPHA], [-ALPHA, -BETA]])
    return np.linalg.solve(matrix, J_EX * np.asarray(magnetization[:2]))


def test_a_custom_continuum_models_touching_point_is_found_and_reported():
    model = CustomRashbaDresselhaus(jnp.asarray(ALPHA), jnp.asarray(BETA), jnp.asarray(J_EX), jnp.asarray(M_IN_PLANE))
    assert model.touching_point() is None
    want = _analytic_point(M_IN_PLANE)  # |k*| = 15.2 /nm, eps(k*) = 8.8 eV
    eps_star = C_KIN * float(want @ want)
    search = find_touching_points(model, eps_star + 1.0)
    assert search.points.shape == (1, 2)
    np.testing.assert_allclose(search.points[0], want, rtol=1e-10)
    assert search.splitting[0] < 1e-12
    report = jaxsot.band_touching_report(model, eps_star + 1.0)
    assert report is not None and "found by a search" in report and "inside the Fermi sea" in report
    assert f"{np.round(want, 4).tolist()}" in report
    # E_F well below eps(k*): the point is outside the sea (the search square shrinks with E_F).
    assert jaxsot.band_touching_report(model, 1.0) is None
    assert jaxsot.band_touching_report(model, eps_star - 0.01) is not None  # near (within 0.05 J)


def test_a_gapped_custom_model_has_no_touching_point():
    tilted = np.array([math.cos(0.3) * 0.8, math.sin(0.3) * 0.8, 0.6])
    model = CustomRashbaDresselhaus(jnp.asarray(ALPHA), jnp.asarray(BETA), jnp.asarray(J_EX), jnp.asarray(tilted))
    search = find_touching_points(model, 12.0)
    assert len(search.points) == 0
    # The closest approach is where B_so = J M_par: Omega = J |M_z| exactly.
    assert search.smallest == pytest.approx(J_EX * 0.6, rel=1e-10)
    assert jaxsot.band_touching_report(model, 12.0) is None


def test_a_custom_lattice_models_touching_points_are_found_over_the_zone():
    lam, j_ex = 0.3, 0.2
    model = CustomSquareLattice(jnp.asarray(lam), jnp.asarray(j_ex), jnp.asarray(M_IN_PLANE))
    search = find_touching_points(model)
    # sin(kx a) = -J My/lam, sin(ky a) = J Mx/lam: two solutions each in [-pi/a, pi/a).
    xs = [math.asin(-j_ex * M_IN_PLANE[1] / lam), math.pi - math.asin(-j_ex * M_IN_PLANE[1] / lam)]
    ys = [math.asin(j_ex * M_IN_PLANE[0] / lam), math.pi - math.asin(j_ex * M_IN_PLANE[0] / lam)]
    want = np.array([[math.remainder(x, 2 * math.pi) / 0.4, math.remainder(y, 2 * math.pi) / 0.4] for x in xs for y in ys])
    assert search.points.shape == (4, 2)
    for point in want:
        assert np.min(np.linalg.norm(search.points - point, axis=1)) < 1e-9, (point, search.points)
    # The shipped model's exact points agree with the search.
    shipped = jaxsot.SquareLatticeRashbaFerromagnet(0.5, 0.4, lam, j_ex, M_IN_PLANE)
    exact = shipped.touching_points()
    for point in exact:
        assert np.min(np.linalg.norm(search.points - point, axis=1)) < 1e-9
    # lam < J: no touching anywhere in the zone.
    assert len(find_touching_points(CustomSquareLattice(jnp.asarray(0.1), jnp.asarray(j_ex), jnp.asarray([1.0, 0.0, 0.0]))).points) == 0


def test_the_band_touching_warning_names_the_point_it_finds():
    model = CustomRashbaDresselhaus(jnp.asarray(ALPHA), jnp.asarray(BETA), jnp.asarray(J_EX), jnp.asarray(M_IN_PLANE))
    point = _analytic_point(M_IN_PLANE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jaxsot.band_velocity(model, point + np.array([1e-5, 0.0]), -1)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "found from the closest state" in messages[0]
    assert f"{np.round(point, 6).tolist()}" in messages[0]

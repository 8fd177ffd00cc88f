"""A small pocket of a lattice model at the default mesh: the mesh zooms to the occupied part of the
zone (`_fermi._mesh.mesh_domain`), so the pocket's Fermi line is resolved as a continuum sea's is.

Model: the triangular tight-binding lattice of the shipped-model tests near its band bottom (E_F =
-2 eV, both bands occupied in small pockets around Gamma). Reference: both pockets are star-shaped
about Gamma (checked on a radial scan of every ray); the polar integral about Gamma of (1, spin)
with scipy brentq radii on `numpy.linalg.eigvalsh` of the hand-written Bloch sum, Gauss-Legendre in
the radius with `numpy.linalg.eigh` spins, and the trapezoid rule in the angle (periodic).
"""

import math
import os
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import jaxsot

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "models"))
from shipped_cases import M_GENERAL, TRIANGULAR, triangular_hoppings  # noqa: E402
import model_references as ref  # noqa: E402

FERMI = -2.0  # eV: both bands occupied in small pockets around Gamma


def _hamiltonians(k):
    """Bloch sum H(k) for k (N, 2): (N, 2, 2) complex."""
    h = np.broadcast_to(-0.15 * ref.pauli(M_GENERAL), (k.shape[0], 2, 2)).astype(complex)
    for (n1, n2), matrix in triangular_hoppings().items():
        r = n1 * TRIANGULAR[0] + n2 * TRIANGULAR[1]
        h = h + np.asarray(matrix, complex)[None] * np.exp(1j * (k @ r))[:, None, None]
    return h


def _reference(num_angles, num_radial=40):
    """(density, spin x, y, z) [1/nm^2] summed over both bands (module docstring)."""
    x, w = np.polynomial.legendre.leggauss(num_radial)
    total = np.zeros(4)
    scan = np.linspace(0.0, 6.0, 601)
    for s in (0, 1):
        for angle in np.arange(num_angles) * 2 * math.pi / num_angles:
            u = np.array([math.cos(angle), math.sin(angle)])
            e = np.linalg.eigvalsh(_hamiltonians(scan[:, None] * u))[:, s] - FERMI
            crossings = np.nonzero(np.diff(np.sign(e)))[0]
            assert e[0] < 0 and len(crossings) == 1, "each pocket must be star-shaped about Gamma"
            edge = brentq(lambda r: np.linalg.eigvalsh(_hamiltonians(np.array([r * u])))[0, s] - FERMI,
                          scan[crossings[0]], scan[crossings[0] + 1], xtol=1e-15, rtol=1e-15)
            r = 0.5 * edge * (x + 1.0)
            _, vectors = np.linalg.eigh(_hamiltonians(r[:, None] * u))
            psi = vectors[:, :, s]
            spin = np.real(np.einsum("ni,aij,nj->na", psi.conj(), np.stack(ref.SIGMA), psi))
            weight = 0.5 * edge * w * r
            total += np.concatenate([[weight.sum()], weight @ spin]) * (2 * math.pi / num_angles)
    return total / (2 * math.pi) ** 2


@pytest.fixture(scope="module")
def triangular():
    return jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, triangular_hoppings(), j_ex=0.15, magnetization=M_GENERAL)


def _density_and_spin(model, kx, ky, s, fx, fy):
    return jnp.concatenate([jnp.ones(1), jnp.stack(jaxsot.kernels.spin(model, kx, ky, s))])


@pytest.mark.slow  # the mesh route at two resolutions
def test_small_lattice_pocket_to_1e_6_at_the_default_mesh(triangular):
    want = _reference(256)
    assert np.max(np.abs(want - _reference(128))) < 1e-12 * np.max(np.abs(want))  # the reference converged
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the estimate stays below the default tolerance 1e-6: no warning
        result = jaxsot.fermi_sea_integral(triangular, FERMI, _density_and_spin)
    assert result.route == "mesh"
    scale = np.max(np.abs(want))
    # Measured on the whole zone before the zoom: error 1.1e-6, estimate 2.6e-5 (the warning fired).
    assert np.max(np.abs(np.asarray(result.value) - want)) <= 1e-7 * scale
    assert np.max(np.asarray(result.error)) <= 1e-6 * scale
    # Traced: the zoom is computed on the device, the same nodes as the eager call.
    density = jax.jit(lambda e: jaxsot.electron_density(triangular, e, -1) + jaxsot.electron_density(triangular, e, 1))
    assert float(density(jnp.asarray(FERMI))) == pytest.approx(want[0], rel=1e-7)


class TwoValleys(jaxsot.TwoBandModel):
    """A square lattice (a = 0.4 nm) whose band eps0 = -2t (cos kx a + cos ky a) + u cos 2kx a + v sin kx a
    has two valleys at kx a ~ -pi/3 (deeper) and ~ +pi/3 (v = 0.02 eV lifts it by ~0.035 eV), ky = 0;
    b = (0, 0, -J): the lower band is eps0 - J."""

    t: jax.Array
    u: jax.Array
    v: jax.Array
    j_ex: jax.Array

    def kinetic_energy(self, kx, ky):
        x, y = 0.4 * kx, 0.4 * ky
        return -2.0 * self.t * (jnp.cos(x) + jnp.cos(y)) + self.u * jnp.cos(2.0 * x) + self.v * jnp.sin(x)

    def spin_orbit_field(self, kx, ky):
        return 0.0 * kx, 0.0 * kx, 0.0 * kx

    def field(self, kx, ky):
        return 0.0 * kx, 0.0 * kx, -self.j_ex + 0.0 * kx

    @property
    def mass(self):
        return jaxsot.constants.ELECTRON_MASS + 0.0 * self.t

    @property
    def lattice_vectors(self):
        return 0.4 * jnp.eye(2)


def _valley_band(kx, ky):
    x, y = 0.4 * kx, 0.4 * ky
    return -1.0 * (math.cos(x) + math.cos(y)) + 0.5 * math.cos(2.0 * x) + 0.02 * math.sin(x) - 0.1


def _valley_area(centre, fermi_energy):
    """(1/2) int r(phi)^2 dphi of the pocket about its minimum `centre` (convex this close to it)."""
    from scipy.integrate import quad

    def radius(phi):
        c, s = math.cos(phi), math.sin(phi)
        return brentq(lambda r: _valley_band(centre + r * c, r * s) - fermi_energy, 0.0, 1.0, xtol=1e-15, rtol=1e-14)

    return quad(lambda phi: 0.5 * radius(phi) ** 2, 0.0, 2 * math.pi, epsabs=0, epsrel=1e-12, limit=200)[0]


def test_a_second_valley_just_below_the_fermi_level_is_not_left_outside_the_zoomed_mesh():
    # The shallow valley's pocket (radius ~0.013/nm) lies between the zoom's probe points (0.123/nm
    # apart), far outside the deep valley's box: the probe must see that E_F is within reach of it.
    from scipy.optimize import minimize_scalar

    deep, shallow = (minimize_scalar(lambda kx: _valley_band(kx, 0.0), bounds=bounds, method="bounded", options={"xatol": 1e-12}).x
                     for bounds in ((-4.0, -1.0), (1.0, 4.0)))
    fermi_energy = _valley_band(shallow, 0.0) + 2e-5
    want = (_valley_area(deep, fermi_energy) + _valley_area(shallow, fermi_energy)) / (2 * math.pi) ** 2
    missed = _valley_area(shallow, fermi_energy) / (2 * math.pi) ** 2
    assert missed > 3e-4 * want  # what dropping the shallow pocket would cost
    model = TwoValleys(jnp.asarray(0.5), jnp.asarray(0.5), jnp.asarray(0.02), jnp.asarray(0.1))
    got = float(jaxsot.electron_density(model, fermi_energy, -1))
    assert got == pytest.approx(want, rel=1e-6)

"""Test-only models for the mesh route (a square-lattice Rashba ferromagnet, a topological-insulator
surface with exchange) and their independent NumPy/SciPy references (closed-form energies, root
finding on k_x slices, fine midpoint grids). Nothing from jaxsot is used in the references.
Imported by name from the test files (a `conftest.py` here would share its module name with the
suite's own conftest)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

import jaxsot

# Square-lattice Rashba ferromagnet: eps0 = -2t (cos kx a + cos ky a), b = lam (sin ky a, -sin kx a, 0) - J M.
T_HOP, A_LAT, LAM, J_LAT = 0.5, 0.4, 0.1, 0.2
M_LAT = np.array([math.sin(1.0) * math.cos(0.5), math.sin(1.0) * math.sin(0.5), math.cos(1.0)])

# TI surface with exchange: eps0 = c k^2, b = hbar v (-ky, kx, 0) - J M (in-plane M: the Dirac point moves).
C_TI, V_TI, J_TI = 0.5, 0.3, 0.02
M_TI = np.array([1.0, 0.0, 0.0])


class SquareLatticeRashba(jaxsot.TwoBandModel):
    t: jax.Array
    a: jax.Array
    lam: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return -2.0 * self.t * (jnp.cos(kx * self.a) + jnp.cos(ky * self.a))

    def field(self, kx, ky):
        m = self.magnetization
        return (
            self.lam * jnp.sin(ky * self.a) - self.j_ex * m[0],
            -self.lam * jnp.sin(kx * self.a) - self.j_ex * m[1],
            -self.j_ex * m[2] + 0.0 * kx,
        )

    def spin_orbit_field(self, kx, ky):
        return self.lam * jnp.sin(ky * self.a), -self.lam * jnp.sin(kx * self.a), 0.0 * kx

    @property
    def mass(self):
        return 1.0 + 0.0 * self.t

    @property
    def lattice_vectors(self):
        return self.a * jnp.eye(2)


class TISurface(jaxsot.TwoBandModel):
    kinetic: jax.Array
    hbar_v: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return self.kinetic * (kx * kx + ky * ky)

    def field(self, kx, ky):
        m = self.magnetization
        return -self.hbar_v * ky - self.j_ex * m[0], self.hbar_v * kx - self.j_ex * m[1], -self.j_ex * m[2] + 0.0 * kx

    def spin_orbit_field(self, kx, ky):
        return -self.hbar_v * ky, self.hbar_v * kx, 0.0 * kx

    @property
    def mass(self):
        return 1.0 + 0.0 * self.kinetic


def lattice_model(lam=LAM, m=M_LAT):
    return SquareLatticeRashba(*(jnp.asarray(x) for x in (T_HOP, A_LAT, lam, J_LAT)), jnp.asarray(m, float))


def ti_model(kinetic=C_TI, m=M_TI, j_ex=J_TI):
    return TISurface(jnp.asarray(kinetic), jnp.asarray(V_TI), jnp.asarray(j_ex), jnp.asarray(m, float))


def lattice_energy(kx, ky, s, lam=LAM, m=M_LAT):
    e0 = -2 * T_HOP * (np.cos(kx * A_LAT) + np.cos(ky * A_LAT))
    bx = lam * np.sin(ky * A_LAT) - J_LAT * m[0]
    by = -lam * np.sin(kx * A_LAT) - J_LAT * m[1]
    return e0 + s * np.sqrt(bx**2 + by**2 + (J_LAT * m[2]) ** 2)


def ti_energy(kx, ky, s, kinetic=C_TI, m=M_TI, j_ex=J_TI):
    bx, by, bz = -V_TI * ky - j_ex * m[0], V_TI * kx - j_ex * m[1], -j_ex * m[2]
    return kinetic * (kx**2 + ky**2) + s * np.sqrt(bx**2 + by**2 + bz**2)


def eigh_energy(hamiltonian_terms, s):
    """The band energy from numpy.linalg.eigh of eps0 + b.sigma (a cross-check of the closed forms)."""
    e0, b = hamiltonian_terms
    pauli = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
    h = e0 * np.eye(2) + np.einsum("i,ijk->jk", b, pauli)
    return np.linalg.eigh(h)[0][0 if s < 0 else 1]


def slice_density(energy, fermi_energy, y_range, x_range, samples=400, epsrel=1e-11, points=None):
    """Area of {energy(x, y) < E_F} / (2 pi)^2: quad over x of the occupied length on the y slice,
    found by brentq between sign changes of a fine sample."""

    def length(x):
        y = np.linspace(*y_range, samples + 1)
        f = energy(x, y) - fermi_energy
        cuts = [y_range[0]]
        for i in range(samples):
            if f[i] * f[i + 1] < 0:
                cuts.append(brentq(lambda q: energy(x, q) - fermi_energy, y[i], y[i + 1], xtol=1e-15, rtol=1e-15))
        cuts.append(y_range[1])
        return sum(b - a for a, b in zip(cuts[:-1], cuts[1:]) if energy(x, 0.5 * (a + b)) < fermi_energy)

    area = quad(length, *x_range, limit=500, epsabs=0.0, epsrel=epsrel, points=points)[0]
    return area / (2 * math.pi) ** 2


def lattice_density(fermi_energy, s, lam=LAM):
    g = math.pi / A_LAT
    return slice_density(lambda x, y: lattice_energy(x, y, s, lam), fermi_energy, (-g, g), (-g, g))


@pytest.fixture(scope="module")
def lattice():
    return lattice_model()


@pytest.fixture(scope="module")
def ti():
    return ti_model()

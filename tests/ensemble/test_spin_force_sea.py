"""The spin-force density of a Fermi sea whose eps0 is not parabolic: sum_s int_sea M0(k) a_so.

With a k-dependent mass tensor M0 = hbar^2 [Hess eps0]^-1 the density is no Fermi-line flux (the
parabolic models' shortcut); the references below integrate the closed-form F_so = [Hess eps0]^-1
Hess(s Omega) f in polar coordinates, with the Fermi radius of each direction from brentq on the
closed-form bands: nothing of jaxsot enters them.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import jaxsot
from jaxsot.constants import ELECTRON_MASS, HBAR

M_DIRECTION = np.array([0.3, -0.5, 0.81]) / np.linalg.norm([0.3, -0.5, 0.81])
EFIELD = np.array([1e-3, -4e-4])  # V/nm
FORCE = -EFIELD  # hbar k' = qE [eV/nm], q = -e
C = HBAR**2 / (2.0 * ELECTRON_MASS)  # hbar^2 / 2 m_e [eV nm^2]


class AnisotropicRashba(jaxsot.TwoBandModel):
    """eps0 = C (kx^2/mx + ky^2/my), b = alpha (ky, -kx, 0) - J M: a constant, anisotropic M0."""

    alpha: jax.Array
    mass_x: jax.Array
    mass_y: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return C * (kx * kx / self.mass_x + ky * ky / self.mass_y)

    def spin_orbit_field(self, kx, ky):
        return self.alpha * ky, -self.alpha * kx, 0.0 * kx

    def field(self, kx, ky):
        return tuple(b - self.j_ex * self.magnetization[i] for i, b in enumerate(self.spin_orbit_field(kx, ky)))

    @property
    def mass(self):
        return ELECTRON_MASS * jnp.sqrt(self.mass_x * self.mass_y)


def _square_lattice_closed_form(t, a, lam, j_ex, m):
    def parts(kx, ky):
        b = np.array([lam * math.sin(ky * a) - j_ex * m[0], -lam * math.sin(kx * a) - j_ex * m[1], -j_ex * m[2]])
        jacobian = np.array([[0.0, lam * a * math.cos(ky * a)], [-lam * a * math.cos(kx * a), 0.0], [0.0, 0.0]])
        curvature = b[0] * np.array([[0.0, 0.0], [0.0, -lam * a * a * math.sin(ky * a)]]) + b[1] * np.array(
            [[lam * a * a * math.sin(kx * a), 0.0], [0.0, 0.0]]
        )
        eps0 = 2.0 * t * (2.0 - math.cos(kx * a) - math.cos(ky * a))
        hess0 = 2.0 * t * a * a * np.diag([math.cos(kx * a), math.cos(ky * a)])
        return eps0, b, jacobian, curvature, hess0

    return parts


def _anisotropic_closed_form(alpha, mx, my, j_ex, m):
    def parts(kx, ky):
        b = np.array([alpha * ky - j_ex * m[0], -alpha * kx - j_ex * m[1], -j_ex * m[2]])
        jacobian = np.array([[0.0, alpha], [-alpha, 0.0], [0.0, 0.0]])
        eps0 = C * (kx * kx / mx + ky * ky / my)
        return eps0, b, jacobian, np.zeros((2, 2)), 2.0 * C * np.diag([1.0 / mx, 1.0 / my])

    return parts


def _reference_density(parts, fermi_energy, bands, k_max, num_phi=256, num_r=48):
    """sum_s int_sea [Hess eps0]^-1 Hess(s Omega) f d^2k/(2 pi)^2, polar (sea star-shaped about 0)."""
    x, w = np.polynomial.legendre.leggauss(num_r)
    total = np.zeros(2)
    for s in bands:
        def energy(kx, ky):
            eps0, b, *_ = parts(kx, ky)
            return eps0 + s * np.linalg.norm(b)

        for phi in 2.0 * np.pi * np.arange(num_phi) / num_phi:
            c, d = math.cos(phi), math.sin(phi)
            radius = brentq(lambda r: energy(r * c, r * d) - fermi_energy, 0.0, k_max, xtol=1e-15, rtol=1e-15)
            for xi, wi in zip(x, w):
                r = 0.5 * radius * (xi + 1.0)
                _, b, jacobian, curvature, hess0 = parts(r * c, r * d)
                omega = np.linalg.norm(b)
                g = jacobian.T @ b / omega
                hess_omega = (jacobian.T @ jacobian - np.outer(g, g) + curvature) / omega
                force = np.linalg.solve(hess0, s * hess_omega @ FORCE)
                total += force * wi * 0.5 * radius * r * (2.0 * np.pi / num_phi)
    return total / (2.0 * np.pi) ** 2


def _assert_both_routes(model, fermi_energy, reference, rtol):
    """ensemble_spin_force and simulate's first step (t = 0: the unshifted sea) against the reference."""
    value = np.asarray(jaxsot.ensemble_spin_force(model, fermi_energy, jnp.asarray(EFIELD)))
    np.testing.assert_allclose(value, reference, rtol=rtol, atol=0)
    simulated = jaxsot.simulate(
        model, fermi_energy, jaxsot.StepDrive(jnp.asarray(EFIELD)), jnp.asarray([0.0, 1.0]),
        observables=("spin_force_density",), approximations=("exact",),
    ).observables["spin_force_density"]["exact"][0]
    np.testing.assert_allclose(np.asarray(simulated), reference, rtol=rtol, atol=0)


SQUARE = dict(t=0.5, a=0.4, lam=0.1, j_ex=0.2)


@pytest.fixture(scope="module")
def square_lattice():
    return jaxsot.SquareLatticeRashbaFerromagnet(magnetization=M_DIRECTION, **SQUARE)


@pytest.mark.slow  # compiles the default lattice mesh and simulate on it
def test_lattice_sea_uses_the_local_mass_tensor(square_lattice):
    # E_F = 0.3 eV: both seas inside |k a| < pi/2, where Hess eps0 is positive definite.
    reference = _reference_density(_square_lattice_closed_form(m=M_DIRECTION, **SQUARE), 0.3, (-1, 1), 3.9)
    # The default mesh reaches 6.5e-7 here (O(h^4): 3.4e-8 at cells=64); the band-bottom mass times
    # the anomalous acceleration, a flux through the Fermi line, would be 10-20 % off.
    _assert_both_routes(square_lattice, 0.3, reference, rtol=1e-6)


def test_continuum_sea_uses_the_local_mass_tensor():
    model = AnisotropicRashba(jnp.asarray(0.05), jnp.asarray(0.8), jnp.asarray(1.2), jnp.asarray(0.5), jnp.asarray(M_DIRECTION))
    reference = _reference_density(_anisotropic_closed_form(0.05, 0.8, 1.2, 0.5, M_DIRECTION), 1.0, (-1, 1), 10.0)
    _assert_both_routes(model, 1.0, reference, rtol=1e-9)


@pytest.mark.slow  # compiles the lattice mesh eagerly and traced
def test_sea_across_an_inflection_line_is_refused(square_lattice):
    # E_F = 1 eV: the seas reach |k a| = pi/2, where Hess eps0 is singular and changes sign.
    with pytest.raises(ValueError, match="inflection line"):
        jaxsot.ensemble_spin_force(square_lattice, 1.0, jnp.asarray(EFIELD))
    with pytest.raises(ValueError, match="inflection line"):
        jaxsot.simulate(square_lattice, 1.0, jaxsot.StepDrive(jnp.asarray(EFIELD)), jnp.asarray([0.0, 1.0]),
                        observables=("spin_force_density",), approximations=("exact",))
    # The full default set keeps every other observable and says why the spin force is NaN.
    full = jaxsot.simulate(square_lattice, 1.0, jaxsot.StepDrive(jnp.asarray(EFIELD)), jnp.asarray([0.0, 1.0]))
    assert np.all(np.isnan(np.asarray(full.observables["spin_force_density"]["exact"])))
    assert np.all(np.isfinite(np.asarray(full.observables["damping_torque"]["exact"])))
    assert any("inflection line" in note for note in full.notes)
    assert not any("non-finite" in note for note in full.notes)
    # The torques need no mass: the same sea is fine for them.
    assert np.all(np.isfinite(np.asarray(jaxsot.ensemble_damping_torque(square_lattice, 1.0, jnp.asarray(EFIELD)))))
    traced = jax.jit(lambda e: jaxsot.ensemble_spin_force(square_lattice, e, jnp.asarray(EFIELD), bands=(-1, 1)))
    with pytest.raises(Exception, match="inflection line"):
        jax.block_until_ready(traced(1.0))
    np.testing.assert_allclose(
        np.asarray(traced(0.3)), np.asarray(jaxsot.ensemble_spin_force(square_lattice, 0.3, jnp.asarray(EFIELD))), rtol=1e-12
    )


def test_the_k_grid_method_refuses_an_inflection_line_too(square_lattice):
    # method="fermi_sea" sums F_so on a k-grid with Fermi-Dirac weights: the same refusal as the routes.
    efield = jnp.asarray(EFIELD)
    with pytest.raises(ValueError, match="inflection line"):
        jaxsot.ensemble_spin_force(square_lattice, 1.0, efield, method="fermi_sea", grid=64)
    with pytest.raises(ValueError, match="inflection line"):
        jaxsot.ensemble_spin_force(square_lattice, 1.0, efield, method="fermi_sea", grid=64, temperature=300.0)
    traced = jax.jit(lambda e: jaxsot.ensemble_spin_force(square_lattice, e, efield, method="fermi_sea", grid=64, bands=(-1, 1)))
    with pytest.raises(Exception, match="inflection line"):
        jax.block_until_ready(traced(1.0))
    # Inside |k a| < pi/2 the grid sum stands, near the closed-form reference (midpoint rule on a step: O(h)).
    reference = _reference_density(_square_lattice_closed_form(m=M_DIRECTION, **SQUARE), 0.3, (-1, 1), 3.9)
    got = np.asarray(jaxsot.ensemble_spin_force(square_lattice, 0.3, efield, method="fermi_sea", grid=256))
    np.testing.assert_allclose(got, reference, rtol=1e-2)  # measured 3.7e-3
    np.testing.assert_allclose(np.asarray(traced(0.3)), np.asarray(jaxsot.ensemble_spin_force(square_lattice, 0.3, efield, method="fermi_sea", grid=64)), rtol=1e-12)

"""The model interface: another two-band Hamiltonian plugs into bands, contours, sea sums and the
quantum check without touching those layers.

Two models that subclass `jaxsot.TwoBandModel` with only the four required members
(`kinetic_energy`, `field`, `spin_orbit_field`, `mass`), so every generic default is exercised:
- `RashbaDresselhaus`: b = (alpha ky + beta kx - J Mx, -alpha kx - beta ky - J My, -J Mz), checked
  against independent references (numpy eigh of the 2x2 H, scipy brentq on rays, scipy solve_ivp of
  the Bloch equation);
- `PlainRashba`: the Rashba ferromagnet written out with no overrides, which must reproduce the
  `RashbaFerromagnet` results (whose own checks against closed forms live in the other files).
"""

import math

import jax
import jax.numpy as jnp
import numpy as onp
import pytest
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq

import jaxsot

HBAR = 0.6582119569  # eV fs
C_KIN = 0.0380998212  # hbar^2/2m_e [eV nm^2]
M_E = HBAR**2 / (2 * C_KIN)  # m_e [eV fs^2/nm^2], consistent with C_KIN
ALPHA, BETA, J_EX = 0.05, 0.02, 0.5
M_DIR = onp.array([math.sin(1.0) * math.cos(0.5), math.sin(1.0) * math.sin(0.5), math.cos(1.0)])
E_F = 1.0


class RashbaDresselhaus(jaxsot.TwoBandModel):
    alpha: jax.Array
    beta: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return C_KIN * (kx * kx + ky * ky)

    def field(self, kx, ky):
        return (
            self.alpha * ky + self.beta * kx - self.j_ex * self.magnetization[0],
            -self.alpha * kx - self.beta * ky - self.j_ex * self.magnetization[1],
            -self.j_ex * self.magnetization[2] + 0.0 * kx,
        )

    def spin_orbit_field(self, kx, ky):
        return self.alpha * ky + self.beta * kx, -self.alpha * kx - self.beta * ky, 0.0 * kx

    @property
    def mass(self):
        return M_E + 0.0 * self.alpha


class PlainRashba(RashbaDresselhaus):
    """beta = 0: the Rashba ferromagnet, reached only through the generic interface defaults."""


def _numpy_field(k, beta=BETA):
    kx, ky = k
    return onp.array([ALPHA * ky + beta * kx - J_EX * M_DIR[0], -ALPHA * kx - beta * ky - J_EX * M_DIR[1], -J_EX * M_DIR[2]])


def _eigh_energy(k, s, beta=BETA):
    b = _numpy_field(k, beta)
    h = C_KIN * (k[0] ** 2 + k[1] ** 2) * onp.eye(2) + b[0] * onp.array([[0, 1], [1, 0]]) + b[1] * onp.array([[0, -1j], [1j, 0]]) + b[2] * onp.diag([1.0, -1.0])
    return onp.linalg.eigh(h)[0][0 if s < 0 else 1]


@pytest.fixture(scope="module")
def rd_model():
    return RashbaDresselhaus(jnp.asarray(ALPHA), jnp.asarray(BETA), jnp.asarray(J_EX), jnp.asarray(M_DIR))


def test_bands_of_another_model_match_eigh(rd_model):
    rng = onp.random.default_rng(3)
    k = rng.uniform(-3, 3, size=(20, 2))
    for s in (-1, 1):
        got = onp.asarray(jaxsot.band_energy(rd_model, jnp.asarray(k), s))
        want = onp.array([_eigh_energy(q, s) for q in k])
        onp.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_contour_and_density_of_another_model_match_brentq(rd_model):
    num = 64
    for s in (-1, 1):
        k, dl = jaxsot.fermi_contour(rd_model, E_F, s, num)
        k = onp.asarray(k)
        phi = 2 * math.pi * onp.arange(num) / num

        def radius(angle):
            return brentq(lambda r: _eigh_energy(r * onp.array([math.cos(angle), math.sin(angle)]), s) - E_F, 0.0, 50.0, xtol=1e-14)

        want = onp.array([radius(p) for p in phi])
        onp.testing.assert_allclose(onp.hypot(k[:, 0], k[:, 1]), want, rtol=1e-11)
        onp.testing.assert_allclose(onp.arctan2(k[:, 1], k[:, 0]) % (2 * math.pi), phi, atol=1e-12)
        area = quad(lambda p: 0.5 * radius(p) ** 2, 0.0, 2 * math.pi, limit=200, epsabs=1e-13)[0]
        density = float(jaxsot.electron_density(rd_model, E_F, s, num))
        assert density == pytest.approx(area / (2 * math.pi) ** 2, rel=1e-9)
    assert jaxsot.occupied_bands(rd_model, E_F) == (-1, 1)
    assert jaxsot.occupied_bands(rd_model, 0.0) == (-1,)


def test_sea_status_of_another_model_refuses_a_sea_without_the_origin(rd_model):
    # eps_+(0) = J |M| = J is the upper band's minimum for this weak spin-orbit field: empty below, occupied above.
    assert jaxsot.fermi_sea_status(rd_model, J_EX - 0.01, 1) == "empty"
    assert jaxsot.fermi_sea_status(rd_model, J_EX + 0.01, 1) == "occupied"
    hat = RashbaDresselhaus(jnp.asarray(0.3), jnp.asarray(0.1), jnp.asarray(0.05), jnp.asarray([0.0, 0.0, 1.0]))
    # alpha^2/4c ~ 0.6 eV > J: the lower band is a Mexican hat, its sea at E_F = -0.2 eV is annular.
    with pytest.raises(ValueError, match="does not contain k = 0"):
        jaxsot.fermi_sea_status(hat, -0.2, -1)


def test_exact_spin_trajectory_of_another_model_matches_solve_ivp(rd_model):
    k0 = onp.array([1.2, -0.7])
    efield = onp.array([0.004, -0.002])  # V/nm
    times = onp.linspace(0.0, 40.0, 9)
    got = onp.asarray(jaxsot.exact_spin_trajectory(rd_model, jnp.asarray(k0), -1, jnp.asarray(efield), jnp.asarray(times), substeps=40))
    kdot = -efield / HBAR  # hbar k' = qE, q = -e

    def bloch(t, sigma):
        return (2.0 / HBAR) * onp.cross(_numpy_field(k0 + kdot * t), sigma)

    b0 = _numpy_field(k0)
    start = -b0 / onp.linalg.norm(b0)
    ref = solve_ivp(bloch, (0.0, times[-1]), start, t_eval=times, method="DOP853", rtol=1e-12, atol=1e-13)
    onp.testing.assert_allclose(got, ref.y.T, atol=1e-9)
    moved = onp.linalg.norm(got[-1] - start)
    assert moved > 1e-4  # the drive turned the spin: the comparison is not trivial


@pytest.mark.slow  # compiles the generic-model routes (~20 s wall cold)
def test_generic_defaults_reproduce_the_rashba_ferromagnet():
    plain = PlainRashba(jnp.asarray(ALPHA), jnp.asarray(0.0), jnp.asarray(J_EX), jnp.asarray(M_DIR))
    rashba = jaxsot.RashbaFerromagnet(ALPHA, J_EX, M_DIR)
    # The generic bracket (doubling on probe rays) lies outside the sea on every ray (the contour
    # solver on the generic path is checked against brentq above).
    bound = float(plain.ray_bound(E_F, -1.0))
    for angle in onp.linspace(0.0, 2 * math.pi, 360, endpoint=False):
        assert _eigh_energy(bound * onp.array([math.cos(angle), math.sin(angle)]), -1, beta=0.0) > E_F
    # A sea sum through a custom kernel: the band spin summed over the sea.
    spin = lambda model, kx, ky, s, fx, fy: jaxsot.kernels.spin(model, kx, ky, s)  # noqa: E731
    got = onp.asarray(jaxsot.fermi_sea_sum(plain, E_F, spin, num_phi=32, num_r=8))
    want = onp.asarray(jaxsot.fermi_sea_sum(rashba, E_F, spin, num_phi=32, num_r=8))
    onp.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # The exact ensemble (quantum check) with the generic field change and exchange field.
    times = jnp.linspace(0.0, 20.0, 3)
    efield = jnp.asarray([0.002, 0.0])
    a = jaxsot.exact_simulate(plain, E_F, efield, times, num_phi=16, num_r=4, substeps=8, semiclassical=False)
    b = jaxsot.exact_simulate(rashba, E_F, efield, times, num_phi=16, num_r=4, substeps=8, semiclassical=False)
    for name in ("damping_torque", "field_like_torque", "spin_density_change"):
        x, y = onp.asarray(a.observables[name]["exact"]), onp.asarray(b.observables[name]["exact"])
        assert onp.max(onp.abs(y)) > 0
        onp.testing.assert_allclose(x, y, rtol=0, atol=1e-9 * onp.max(onp.abs(y)))


@pytest.mark.slow  # a simulate of another model compiled
def test_simulate_with_another_model_gives_the_exact_columns_only():
    plain = PlainRashba(jnp.asarray(ALPHA), jnp.asarray(0.0), jnp.asarray(J_EX), jnp.asarray(M_DIR))
    rashba = jaxsot.RashbaFerromagnet.from_angles(ALPHA, J_EX, 1.0, 0.5)
    # The call of tests/dynamics/test_dynamics.py (one compiled shape for the Rashba side).
    times, drive = onp.linspace(0.0, 40.0, 41), jaxsot.StepDrive(onp.array([1e-4, 5e-5]))
    a = jaxsot.simulate(plain, E_F, drive, times, tau=10.0, num_phi=32, num_r=8)
    b = jaxsot.simulate(rashba, E_F, drive, times, tau=10.0, num_phi=32, num_r=8)
    assert set(a.observables) == set(b.observables)
    for name, table in a.observables.items():
        assert list(table) == ["exact"]  # the papers' approximations are the Rashba ferromagnet's
        want = onp.asarray(b.observables[name]["exact"])
        onp.testing.assert_allclose(onp.asarray(table["exact"]), want, rtol=0, atol=1e-10 * onp.max(onp.abs(want)))
    with pytest.raises(ValueError, match="strong_exchange.*not available"):
        a.relative_error("damping_torque", "strong_exchange")


@pytest.mark.slow  # another model's transport compiled
def test_transport_with_another_model():
    plain = PlainRashba(jnp.asarray(ALPHA), jnp.asarray(0.0), jnp.asarray(J_EX), jnp.asarray(M_DIR))
    rashba = jaxsot.RashbaFerromagnet(ALPHA, J_EX, M_DIR)
    efield = jnp.asarray([1e-3, 0.0])
    a = jaxsot.joule_heating(plain, E_F, efield, 10.0, num=64)
    b = jaxsot.joule_heating(rashba, E_F, efield, 10.0, num=64)
    assert "extra_joule_strong_exchange" not in a and "extra_joule_strong_exchange" in b
    assert float(a["extra_joule"]) == pytest.approx(float(b["extra_joule"]), rel=1e-12)
    # The AMR turns the model's `magnetization` field, whatever the model.
    assert float(jaxsot.amr_ratio(plain, E_F, num=64)) == pytest.approx(float(jaxsot.amr_ratio(rashba, E_F, num=64)), rel=1e-13)
    with pytest.raises(ValueError, match="amr_strong_exchange is a closed form of the Rashba ferromagnet"):
        jaxsot.amr_strong_exchange(plain, E_F)

    class Unmagnetized(jaxsot.TwoBandModel):
        alpha: jax.Array

        def kinetic_energy(self, kx, ky):
            return C_KIN * (kx * kx + ky * ky)

        def field(self, kx, ky):
            return self.alpha * ky, -self.alpha * kx, 0.3 + 0.0 * kx

        def spin_orbit_field(self, kx, ky):
            return self.alpha * ky, -self.alpha * kx, 0.0 * kx

        @property
        def mass(self):
            return M_E + 0.0 * self.alpha

    with pytest.raises(ValueError, match="has no magnetization field"):
        jaxsot.amr_ratio(Unmagnetized(jnp.asarray(ALPHA)), E_F)

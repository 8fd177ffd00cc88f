"""Constant-tau Boltzmann conductivity, AMR (paper eq. 18) and the Joule side of the energy balance (eq. 17).

Independent references: the inverse-mass (Fermi-sea) form of the conductivity with the closed-form
Hessian of the bands and brentq Fermi radii (conftest); Drude; the strong-exchange closed forms of
docs/theory; finite differences of the closed-form spin summed over the rigidly shifted Fermi sea
(the contours themselves are checked against brentq in tests/fermi).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot._ensemble import _transport

TAU = 10.0  # fs
EFIELD = np.array([1e-3, 4e-4])  # V/nm


def _hessian_sum(p, fermi_energy, ref, num_phi=96, num_r=24):
    """sum_s int_sea Hess eps_s d^2k/(2pi)^2 with Hess eps_s = 2c I + s (alpha^2/Omega)(I - u u^T/Omega^2)."""
    nodes, weights = np.polynomial.legendre.leggauss(num_r)
    t, w = 0.5 * (nodes + 1.0), 0.5 * weights
    phi = 2 * math.pi * np.arange(num_phi) / num_phi
    total = np.zeros((2, 2))
    for s in (-1, 1):
        if ref.closed_energy(p, np.zeros(2), s) >= fermi_energy:
            continue
        radius = np.array([ref.fermi_radius(p, fermi_energy, s, x) for x in phi])
        r = radius[:, None] * t[None, :]
        k = np.stack([r * np.cos(phi)[:, None], r * np.sin(phi)[:, None]], -1).reshape(-1, 2)
        area = (r * radius[:, None] * w[None, :] * (2 * math.pi / num_phi)).reshape(-1)
        u = np.stack([p.alpha * k[:, 0] + p.j_ex * p.m[1], p.alpha * k[:, 1] - p.j_ex * p.m[0]], -1)
        omega = np.linalg.norm(ref.exchange_field(p, k), axis=-1)
        hess = s * p.alpha**2 / omega[:, None, None] * (np.eye(2) - u[:, :, None] * u[:, None, :] / omega[:, None, None] ** 2)
        hess = hess + 2 * p.c * np.eye(2)
        total += np.einsum("n,nij->ij", area, hess)
    return total / (2 * math.pi) ** 2


@pytest.mark.parametrize("fermi_energy", [1.0, 0.2])
def test_conductivity_equals_the_inverse_mass_sea_integral(case, fermi_energy, ref):
    sigma = np.asarray(jaxsot.conductivity(case.model, fermi_energy, TAU, 128))
    expected = TAU / ref.HBAR**2 * _hessian_sum(case, fermi_energy, ref)  # q^2 = 1
    np.testing.assert_allclose(sigma, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(sigma, sigma.T, atol=1e-12 * np.abs(sigma).max())


def test_drude_limit_and_units(ref):
    model = jaxsot.RashbaFerromagnet(0.0, 0.5, [0.3, 0.2, 0.9])
    sigma = np.asarray(jaxsot.conductivity(model, 1.0, TAU, 64))
    n = sum(float(jaxsot.electron_density(model, 1.0, b)) for b in (-1, 1))
    np.testing.assert_allclose(sigma, n * TAU / ref.ELECTRON_MASS * np.eye(2), rtol=1e-12, atol=1e-14)
    assert _transport.SIEMENS_PER_INTERNAL == pytest.approx(1.602176634e-4, rel=1e-12)
    assert jaxsot.constants.WATT_PER_M2_PER_INTERNAL == pytest.approx(1.602176634e14, rel=1e-12)
    rho = np.asarray(jaxsot.resistivity(model, 1.0, TAU, 64))
    np.testing.assert_allclose(rho @ sigma, np.eye(2), atol=1e-12)


def _amr_errors(alpha, fermi_energy, kind, angles):
    rows = []
    for angle in angles:
        if kind == "in-plane":
            model = jaxsot.RashbaFerromagnet.from_angles(alpha, 1.0, math.pi / 2, angle)
        elif kind == "x-z":
            model = jaxsot.RashbaFerromagnet.from_angles(alpha, 1.0, angle, 0.0)
        else:  # y-z
            model = jaxsot.RashbaFerromagnet.from_angles(alpha, 1.0, angle, math.pi / 2)
        rows.append((float(jaxsot.amr_ratio(model, fermi_energy, (1.0, 0.0), 128)), float(jaxsot.amr_strong_exchange(model, fermi_energy, (1.0, 0.0), 128)), float(model.eta)))
    return np.array(rows)


@pytest.mark.parametrize("kind", ["in-plane", "y-z"])
def test_amr_approaches_one_plus_p_eta_cos2_quadratically(kind):
    angles = np.linspace(0.0, math.pi / 2, 5)
    errors = {}
    for alpha in (0.02, 0.01):
        rows = _amr_errors(alpha, 1.5, kind, angles)
        amplitude = rows[:, 1].max() - 1.0  # p eta
        errors[alpha] = np.max(np.abs(rows[:, 0] - rows[:, 1])) / amplitude
        # The closed form: 1 + p eta cos^2 (in-plane: angle of M from E; y-z: M_z = cos theta).
        np.testing.assert_allclose(rows[:, 1] - 1.0, amplitude * np.cos(angles) ** 2, rtol=1e-10, atol=1e-14)
    # Measured 1.6e-2 (alpha = 0.02) and 4.0e-3 (0.01): the AMR amplitude p eta is exact up to O((alpha k_F/J)^2).
    assert errors[0.01] < 6e-3
    assert 3.0 < errors[0.02] / errors[0.01] < 5.0


def test_no_amr_for_m_in_the_plane_of_z_and_e():
    angles = np.linspace(0.0, math.pi / 2, 5)
    rows = _amr_errors(0.01, 1.5, "x-z", angles)
    p_eta = rows[0, 1] - 1.0
    # The closed form is 1 + p eta exactly; the exact ratio varies by O(eta (alpha k_F/J)^4) only
    # (measured 7.7e-6 p eta at alpha = 0.01, 1.2e-4 at 0.02), while the in-plane rotation changes rho by p eta.
    np.testing.assert_allclose(rows[:, 1], 1.0 + p_eta, rtol=1e-13)
    assert np.ptp(rows[:, 0]) < 2e-5 * p_eta
    in_plane = _amr_errors(0.01, 1.5, "in-plane", [0.0, math.pi / 2])
    assert in_plane[0, 0] - in_plane[1, 0] > 0.95 * p_eta


def test_band_polarization_factor():
    model = jaxsot.RashbaFerromagnet.from_angles(0.01, 1.0, math.pi / 2, 0.0)
    assert float(jaxsot.band_polarization(model, 0.5)) == pytest.approx(1.0, abs=1e-12)  # lower band only
    p = float(jaxsot.band_polarization(model, 1.5))
    n = [float(jaxsot.electron_density(model, 1.5, b)) for b in (-1, 1)]
    assert p == pytest.approx((n[0] - n[1]) / (n[0] + n[1]), rel=1e-10) and 0.5 < p < 0.9
    # The AMR amplitude carries p: (rho(M || E) - rho0)/rho0 / eta -> p.
    for fermi_energy, expected in ((0.5, 1.0), (1.5, p)):
        amplitude = float(jaxsot.amr_ratio(model, fermi_energy, (1.0, 0.0))) - 1.0
        assert amplitude / float(model.eta) == pytest.approx(expected, rel=0.01)


def test_joule_heating_spin_force_power_and_amr_agree(ref):
    errors = {}
    for alpha in (0.02, 0.01):
        model = jaxsot.RashbaFerromagnet.from_angles(alpha, 1.0, 1.0, 0.4)
        out = jaxsot.joule_heating(model, 1.5, EFIELD, TAU, 128)
        sigma = np.asarray(jaxsot.conductivity(model, 1.5, TAU, 128))
        current = np.asarray(out["current"])
        np.testing.assert_allclose(current, sigma @ EFIELD, rtol=1e-12)
        assert float(out["joule"]) == pytest.approx(EFIELD @ sigma @ EFIELD, rel=1e-12)
        assert float(out["spin_force_power"]) < 0.0  # the spin force drags the current
        # Extra Joule heat from the AMR: j.(rho(M) - rho0).j with rho0 at M in-plane, perpendicular to j.
        e = current / np.linalg.norm(current)
        reference = jaxsot.RashbaFerromagnet(alpha, 1.0, [-e[1], e[0], 0.0])
        rho = np.linalg.inv(sigma)
        rho0 = np.asarray(jaxsot.resistivity(reference, 1.5, TAU, 128))
        extra_amr = current @ (rho - rho0) @ current
        extra = float(out["extra_joule"])
        closed = float(out["extra_joule_strong_exchange"])
        errors[alpha] = (abs(extra / closed - 1.0), abs(extra / extra_amr - 1.0))
    # Measured (alpha = 0.02, 0.01): vs the closed form 3.5e-2, 8.9e-3; vs the AMR route 1.1e-2, 2.8e-3.
    assert errors[0.01][0] < 1.2e-2 and errors[0.01][1] < 4e-3
    assert errors[0.02][0] / errors[0.01][0] > 3.0 and errors[0.02][1] / errors[0.01][1] > 3.0


def test_strong_exchange_closed_form_of_the_extra_joule_heating(ref):
    # p eta rho0 [(M.j)^2 + M_z^2 j^2] written out independently (rho0 = m/(n tau), j = E/rho0).
    model = jaxsot.RashbaFerromagnet.from_angles(0.01, 1.0, 0.7, 1.1)
    out = jaxsot.joule_heating(model, 1.5, EFIELD, TAU, 64)
    n_l, n_u = (ref.circular_fermi_radius(ref.make_case("z", 0.01, 1.0, [0, 0, 1]), 1.5, b) ** 2 / (4 * math.pi) for b in (-1, 1))
    m = np.asarray(model.magnetization)
    rho0 = ref.ELECTRON_MASS / ((n_l + n_u) * TAU)
    j = EFIELD / rho0
    eta = ref.ELECTRON_MASS * 0.01**2 / (ref.HBAR**2 * 1.0)
    p_closed = (n_l - n_u) / (n_l + n_u)
    expected = p_closed * eta * rho0 * ((m[:2] @ j) ** 2 + m[2] ** 2 * (j @ j))
    # jaxsot's closed form uses the exact densities at M (they differ from M || z at O(eta)).
    assert float(out["extra_joule_strong_exchange"]) == pytest.approx(expected, rel=2e-3)


@pytest.mark.slow  # a vmapped route compiled
def test_contour_response_is_vmappable_and_linear(general, ref):
    model = general.model
    bands = jaxsot.occupied_bands(model, ref.EF_BOTH)
    kdot = jnp.asarray(ref.CHARGE * EFIELD / ref.HBAR)
    ms = jnp.asarray([ref.angles_to_vector(0.3 + 0.4 * i, 0.2 * i) for i in range(3)])

    def one(m):
        mod = jaxsot.RashbaFerromagnet(model.alpha, model.j_ex, m, model.mass_ratio)
        return _transport.contour_response(mod, jnp.asarray(ref.EF_BOTH), kdot * TAU, kdot, bands, 64)

    batched = jax.jit(jax.vmap(one))(ms)
    for i in range(3):
        single = jax.jit(one)(ms[i])
        for key in ("spin_shift", "spin_rate", "current", "spin_force_power"):
            np.testing.assert_allclose(np.asarray(batched[key][i]), np.asarray(single[key]), rtol=1e-12, atol=1e-20)
    doubled = _transport._response_impl(model, jnp.asarray(ref.EF_BOTH), 2 * kdot * TAU, 2 * kdot, bands, 64)
    single = _transport._response_impl(model, jnp.asarray(ref.EF_BOTH), kdot * TAU, kdot, bands, 64)
    np.testing.assert_allclose(np.asarray(doubled["spin_rate"]), 2 * np.asarray(single["spin_rate"]), rtol=1e-12)
    assert float(doubled["spin_force_power"]) == pytest.approx(4 * float(single["spin_force_power"]), rel=1e-12)


def test_contour_response_against_the_library_routes(general, ref):
    model = general.model
    bands = jaxsot.occupied_bands(model, ref.EF_BOTH)
    kdot = ref.CHARGE * EFIELD / ref.HBAR
    out = _transport._response_impl(model, jnp.asarray(ref.EF_BOTH), jnp.asarray(kdot * TAU), jnp.asarray(kdot), bands, 128)
    # delta S = A Delta k and dS/dt = A k': central differences of the closed-form spin summed over
    # the library's Fermi-sea quadrature, shifted rigidly along Delta k and along k'.
    h = 1e-3

    def sea_spin(step):
        total = np.zeros(3)
        for b in bands:
            k, area = jaxsot.fermi_sea_nodes(model, ref.EF_BOTH, b, 128, 24)
            total += np.asarray(area) @ ref.closed_spin(general, np.asarray(k) + step, b)
        return total / (2 * math.pi) ** 2

    for key, direction in (("spin_shift", kdot * TAU), ("spin_rate", kdot)):
        expected = (sea_spin(h * direction) - sea_spin(-h * direction)) / (2 * h)
        np.testing.assert_allclose(np.asarray(out[key]), expected, rtol=1e-6, atol=1e-9 * np.linalg.norm(expected))
    # The ensemble's contour route (T2 = -dS/dt) is the same flux.
    torque = np.asarray(jaxsot.ensemble_damping_torque(model, ref.EF_BOTH, EFIELD, 128))
    np.testing.assert_allclose(-np.asarray(out["spin_rate"]), torque, rtol=1e-10, atol=1e-14 * np.linalg.norm(torque))


def test_transport_input_validation(general):
    with pytest.raises(ValueError, match="tau"):
        jaxsot.conductivity(general.model, 1.0, 0.0)
    with pytest.raises(ValueError, match="direction"):
        jaxsot.amr_ratio(general.model, 1.0, (0.0, 0.0))
    with pytest.raises(ValueError, match="efield"):
        jaxsot.joule_heating(general.model, 1.0, np.zeros(3), TAU)
    with pytest.raises(ValueError, match="num"):
        jaxsot.conductivity(general.model, 1.0, TAU, num=4)
    with pytest.raises(ValueError, match="no electrons|below both bands"):
        jaxsot.conductivity(general.model, -5.0, TAU)

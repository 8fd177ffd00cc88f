"""Ensemble damping-like torque and spin-force density of the accelerated T = 0 Fermi sea.

References: the M || z closed form (derived in tests/README.md), an independent NumPy Fermi-sea
quadrature (brentq radii on rays, Gauss-Legendre in radius) differentiated in time by central
differences of a rigid shift, the T^2 (Sommerfeld) approach of the finite-temperature Fermi-sea
route, and the strong-exchange closed forms.
"""

import math

import numpy as np
import pytest

import jaxsot

EFIELD = np.array([1e-3, 5e-4])  # V/nm


def _closed_form_m_along_z(p, fermi_energy, efield, ref):
    """dS/dt = (alpha/(4 pi)) (k' x z) sum_s s k_s^2/Omega_s; F = (m/hbar^2)(hbar k') sum_s s alpha^2 k_s^2/(4 pi Omega_s)."""
    kdot = ref.CHARGE * efield / ref.HBAR
    spin_sum, force_sum = 0.0, 0.0
    for s in (-1, 1):
        if s * p.j_ex >= fermi_energy:  # eps_s(0) = s J is the band minimum here: band empty
            continue
        k_s = ref.circular_fermi_radius(p, fermi_energy, s)
        omega = math.sqrt(p.alpha**2 * k_s**2 + p.j_ex**2)
        spin_sum += s * k_s**2 / omega
        force_sum += s * p.alpha**2 * k_s**2 / (4 * math.pi * omega)
    spin_rate = p.alpha / (4 * math.pi) * np.array([kdot[1], -kdot[0], 0.0]) * spin_sum
    force = p.mass / ref.HBAR**2 * (ref.HBAR * kdot) * force_sum
    return -spin_rate, force


@pytest.mark.parametrize("fermi_energy", [1.0, 0.2])
def test_closed_form_for_m_along_z(along_z, fermi_energy, ref):
    torque = np.asarray(jaxsot.ensemble_damping_torque(along_z.model, fermi_energy, EFIELD, 64))
    force = np.asarray(jaxsot.ensemble_spin_force(along_z.model, fermi_energy, EFIELD, 64))
    expected_torque, expected_force = _closed_form_m_along_z(along_z, fermi_energy, EFIELD, ref)
    assert torque.shape == (3,) and force.shape == (2,)
    np.testing.assert_allclose(torque, expected_torque, rtol=1e-11, atol=1e-13 * np.linalg.norm(expected_torque))
    np.testing.assert_allclose(force, expected_force, rtol=1e-11, atol=1e-13 * np.linalg.norm(expected_force))


def _sea_spin_and_gradient(p, fermi_energy, shift, ref, num_phi=128, num_r=24):
    """Independent quadrature of sum_s int_{sea_s} (spin_s, grad(s Omega)) (k + shift) d^2k/(2 pi)^2."""
    nodes, weights = np.polynomial.legendre.leggauss(num_r)
    t, w = 0.5 * (nodes + 1), 0.5 * weights
    phi = 2 * math.pi * np.arange(num_phi) / num_phi
    spin_total, grad_total = np.zeros(3), np.zeros(2)
    for s in (-1, 1):
        if ref.closed_energy(p, np.zeros(2), s) >= fermi_energy:
            continue
        radius = np.array([ref.fermi_radius(p, fermi_energy, s, x) for x in phi])
        r = radius[:, None] * t[None, :]
        k = np.stack([r * np.cos(phi)[:, None], r * np.sin(phi)[:, None]], -1).reshape(-1, 2)
        area = (r * radius[:, None] * w[None, :] * (2 * math.pi / num_phi)).reshape(-1)
        q = k + shift
        spin_total += area @ ref.closed_spin(p, q, s)
        grad_omega = ref.closed_energy_gradient(p, q, s) - 2 * p.c * q  # s alpha u / Omega
        grad_total += area @ grad_omega
    return spin_total / (2 * math.pi) ** 2, grad_total / (2 * math.pi) ** 2


@pytest.mark.parametrize("fermi_energy", [1.0, 0.2])
def test_contour_route_equals_time_derivative_of_the_shifted_sea(case, fermi_energy, ref):
    # Divergence theorem check: d/dt of the sea integral under a rigid shift Delta k = k' t,
    # by central differences of an independent NumPy Fermi-sea quadrature.
    kdot = ref.CHARGE * EFIELD / ref.HBAR
    dt = 0.05  # fs; |k' dt| ~ 8.5e-5 /nm
    s_plus, g_plus = _sea_spin_and_gradient(case, fermi_energy, kdot * dt, ref)
    s_minus, g_minus = _sea_spin_and_gradient(case, fermi_energy, -kdot * dt, ref)
    spin_rate = (s_plus - s_minus) / (2 * dt)
    # Spin-force density = (m/hbar^2) d/dt int grad(s Omega) (hbar k' = f, i.e. m d(v_spin)/dt).
    force = case.mass / ref.HBAR * (g_plus - g_minus) / (2 * dt)
    torque = np.asarray(jaxsot.ensemble_damping_torque(case.model, fermi_energy, EFIELD, 128))
    force_lib = np.asarray(jaxsot.ensemble_spin_force(case.model, fermi_energy, EFIELD, 128))
    # Truncation (|k' dt| k-scale)^2 ~ 1e-8 relative; rounding ~1e-16/1e-4.
    assert ref.relative_error(torque, -spin_rate) < 1e-6
    assert ref.relative_error(force_lib, force) < 1e-6


@pytest.mark.parametrize("fermi_energy", [1.0, 0.2])
def test_ensemble_torque_force_identity(case, fermi_energy, ref):
    torque = np.asarray(jaxsot.ensemble_damping_torque(case.model, fermi_energy, EFIELD, 64))
    force = jaxsot.ensemble_spin_force(case.model, fermi_energy, EFIELD, 64)
    np.testing.assert_allclose(torque[:2], np.asarray(jaxsot.damping_torque_from_spin_force(case.model, force)), rtol=1e-10)


def test_fermi_sea_route_approaches_contour_route_as_t_squared(general, ref):
    # Finite-T Fermi-sea grid (Fermi-Dirac weights) vs the T = 0 contour route at the same E_F: the
    # Sommerfeld correction is (pi^2/6)(kT)^2 d/dE_F(...), so the difference falls as T^2.
    # Measured (E_F = 1 eV, grid 512): 3.21e-5 at 300 K, 1.43e-5 at 200 K, 3.57e-6 at 100 K
    # (ratio 300K/100K = 9.00); grid 1024 and 2048 change these by < 1e-3 relative.
    contour_torque = np.asarray(jaxsot.ensemble_damping_torque(general.model, 1.0, EFIELD, 256))
    contour_force = np.asarray(jaxsot.ensemble_spin_force(general.model, 1.0, EFIELD, 256))
    errors = {}
    for temperature in (300.0, 100.0):
        torque = jaxsot.ensemble_damping_torque(general.model, 1.0, EFIELD, method="fermi_sea", temperature=temperature, grid=512)
        force = jaxsot.ensemble_spin_force(general.model, 1.0, EFIELD, method="fermi_sea", temperature=temperature, grid=512)
        errors[temperature] = (ref.relative_error(torque, contour_torque), ref.relative_error(force, contour_force))
    assert errors[100.0][0] < 1e-5 and errors[100.0][1] < 1e-5
    assert errors[300.0][0] < 1e-4
    for i in range(2):
        ratio = errors[300.0][i] / errors[100.0][i]
        assert 7.5 < ratio < 10.5  # (300/100)^2 = 9


def test_fermi_sea_route_single_band(general, ref):
    # Only the lower band (E_F = 0.2 eV). Measured: 2.04e-5 at 100 K, 1.84e-4 at 300 K.
    contour_torque = np.asarray(jaxsot.ensemble_damping_torque(general.model, 0.2, EFIELD, 256))
    torque100 = jaxsot.ensemble_damping_torque(general.model, 0.2, EFIELD, method="fermi_sea", temperature=100.0, grid=512)
    torque300 = jaxsot.ensemble_damping_torque(general.model, 0.2, EFIELD, method="fermi_sea", temperature=300.0, grid=512)
    e100 = ref.relative_error(torque100, contour_torque)
    e300 = ref.relative_error(torque300, contour_torque)
    assert e100 < 5e-5
    assert 7.5 < e300 / e100 < 10.5


@pytest.mark.parametrize("fermi_energy", [1.0, 0.2])
def test_strong_exchange_limit_of_the_ensemble(fermi_energy, ref):
    # As alpha k_F/J -> 0: T2 -> sum_s n_s T2_se(s) and F -> sum_s n_s F_se(s) (per-state forms
    # are k-independent). The relative error falls as (alpha k_F/J)^2 for the ensemble: the
    # first-order (odd in k) corrections average out over the nearly centred sea.
    # Measured (lower-band alpha k_F/J = 0.25, 0.13, 0.063 at E_F = 1 eV): 3.39e-2, 8.60e-3, 2.16e-3,
    # slope 1.99; at E_F = 0.2 eV: 1.42e-2, 3.57e-3, 8.95e-4, slope 1.99.
    m = ref.angles_to_vector(1.0, 0.5)
    alphas = [0.02, 0.01, 0.005]
    torque_errors, force_errors = [], []
    for alpha in alphas:
        p = ref.make_case("weak", alpha, 0.5, m)
        torque = np.asarray(jaxsot.ensemble_damping_torque(p.model, fermi_energy, EFIELD, 64))
        force = np.asarray(jaxsot.ensemble_spin_force(p.model, fermi_energy, EFIELD, 64))
        limit_torque, limit_force = np.zeros(3), np.zeros(2)
        for s in jaxsot.occupied_bands(p.model, fermi_energy):
            n_s = ref.sea_density(p, fermi_energy, s, num=64)
            limit_torque += n_s * np.asarray(jaxsot.damping_torque_strong_exchange(p.model, EFIELD, s))
            limit_force += n_s * np.asarray(jaxsot.spin_force_strong_exchange(p.model, EFIELD, s))
        torque_errors.append(ref.relative_error(torque, limit_torque))
        force_errors.append(ref.relative_error(force, limit_force))
    slope = np.polyfit(np.log(alphas), np.log(torque_errors), 1)[0]
    assert abs(slope - 2.0) < 0.2
    assert torque_errors[-1] < 1e-2
    assert np.all(np.diff(torque_errors) < 0) and np.all(np.diff(force_errors) < 0)
    np.testing.assert_allclose(force_errors, torque_errors, rtol=0.05)


def test_magnetization_reversal_of_the_ensemble(case, ref):
    # Under M -> -M the Fermi sea is inverted (k -> -k) and the per-state force and torque at
    # (-k, -M) equal those at (k, M): the exact ensemble T2 and spin-force density are even in M.
    reversed_ = ref.make_case("reversed", case.alpha, case.j_ex, -case.m)
    for fermi_energy in (1.0, 0.2):
        for fn in (jaxsot.ensemble_damping_torque, jaxsot.ensemble_spin_force):
            plus = np.asarray(fn(case.model, fermi_energy, EFIELD, 64))
            minus = np.asarray(fn(reversed_.model, fermi_energy, EFIELD, 64))
            assert ref.relative_error(minus, plus) < 1e-12


def test_ensemble_is_linear_in_the_field(general, ref):
    one = np.asarray(jaxsot.ensemble_damping_torque(general.model, 1.0, EFIELD, 64))
    three = np.asarray(jaxsot.ensemble_damping_torque(general.model, 1.0, -3 * EFIELD, 64))
    np.testing.assert_allclose(three, -3 * one, rtol=1e-13)


def test_ensemble_input_validation(general):
    with pytest.raises(ValueError, match="method"):
        jaxsot.ensemble_damping_torque(general.model, 1.0, EFIELD, method="kubo")
    with pytest.raises(ValueError, match="temperature"):
        jaxsot.ensemble_spin_force(general.model, 1.0, EFIELD, method="fermi_sea", temperature=-1.0)
    with pytest.raises(ValueError, match="efield"):
        jaxsot.ensemble_damping_torque(general.model, 1.0, np.zeros(3))
    with pytest.raises(ValueError, match="efield"):
        jaxsot.ensemble_damping_torque(general.model, 1.0, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="fermi_energy"):
        jaxsot.ensemble_damping_torque(general.model, -0.6, EFIELD)

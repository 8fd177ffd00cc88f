"""Harmonic Hall signals at every order in the current (jaxsot._measure._quasistatic) against independent routes.

References:
- closed form: an easy-plane film (no in-plane anisotropy) in an in-plane field with only the Oersted field
  (torques off) lies along the instantaneous in-plane field, M(t) = (B cos phi, B sin phi + B_Oe sin wt, 0)/|.|,
  so V/I0 = R_PHE M_x M_y sin wt + 2 R_ANE M_x sin^2 wt at every order; its Fourier components by scipy quad;
- the time-domain route (`lockin_harmonics`: LLG integrated under j0 sin wt by diffrax, demodulated over
  whole periods), which solves no equilibrium, at a current where the first-order model misses R_1w by 1e-4
  of R_2w (strong-exchange torques, in-plane easy axis);
- central finite differences for the gradient.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

import jaxsot
from jaxsot import HallSettings, harmonic_hall_all_orders, harmonic_hall_forward, lockin_harmonics

# Slow tier: every-order Hall signals (compile-heavy).
pytestmark = pytest.mark.slow

RHO0, FERMI = 2.0e-7, 1.5


def _settings(phi, field, current, **kwargs):
    return HallSettings(phi, field, fermi_energy=FERMI, current_density=current, rho0=RHO0, ms_tesla=1.0, thickness=1.0,
                        model="strong_exchange", **kwargs)


def test_oersted_only_closed_form_every_order():
    b, b_oe, r_phe, r_ane = 0.05, 0.02, 0.3, 0.01  # B_Oe/B = 0.4: higher orders are large
    phi = np.array([0.3, 1.1, 2.0, 4.0])
    params = {"alpha": 0.02, "j_ex": 1.0, "tau": 10.0, "anisotropy_field": 0.0, "r_ahe": 1.0, "r_phe": r_phe,
              "r_ane": r_ane, "oersted_field": b_oe}
    settings = _settings(phi, b, 1e11, field_like=False, damping_like=False)
    out = harmonic_hall_all_orders(params, settings, phases=64)
    assert bool(jnp.all(out.converged))

    def v(t, p):
        s = math.sin(t)
        mx, my = b * math.cos(p), b * math.sin(p) + b_oe * s
        norm = math.hypot(mx, my)
        return r_phe * mx * my / norm**2 * s + 2.0 * r_ane * mx / norm * s * s

    for i, p in enumerate(phi):
        ref = [quad(lambda t: v(t, p) * w(t), 0.0, 2 * math.pi, epsabs=1e-14, limit=200)[0] / math.pi
               for w in (math.sin, lambda t: -math.cos(2 * t), lambda t: math.sin(3 * t))]
        dc = quad(lambda t: v(t, p), 0.0, 2 * math.pi, epsabs=1e-14)[0] / (2 * math.pi)
        got = [float(out.r_1w[i]), float(out.r_2w[i]), float(out.r_3w[i])]
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
        assert float(out.r_dc[i]) == pytest.approx(dc, rel=1e-9, abs=1e-12)
        assert abs(ref[2]) > 1e-3 * abs(ref[1])  # the third harmonic is not negligible here


@pytest.fixture(scope="module")
def in_plane_case():
    hall = dict(r_ahe=1.0, r_phe=0.3, r_ane=0.01, oersted_field=1e-3)
    phi, field, theta = np.array([0.8, 2.6]), np.array([0.1, 0.15]), np.array([math.pi / 2, 1.3])
    current = 1e11
    torque = jaxsot.SpinOrbitTorque(0.02, 1.0, FERMI, jnp.asarray([RHO0 * current * 1e-9, 0.0]), 10.0, method="strong_exchange")
    magnet = jaxsot.Magnet(1.0, 1.0, 1.0, anisotropy_field=0.05, easy_axis=(1.0, 0.0, 0.0))
    lock = lockin_harmonics(magnet, torque, phi, field, theta_h=theta, frequency=1.5e7, periods=2, settle_periods=1, **hall)
    params = {"alpha": 0.02, "j_ex": 1.0, "tau": 10.0, "anisotropy_field": 0.05, **hall}
    settings = _settings(phi, field, current, theta_h=theta, easy_axis=(1.0, 0.0, 0.0))
    return params, settings, lock


def test_every_order_matches_time_domain(in_plane_case):
    params, settings, lock = in_plane_case
    out = harmonic_hall_all_orders(params, settings)
    first_1w, first_2w = (np.asarray(x) for x in harmonic_hall_forward(params, settings))
    assert bool(np.all(lock.success)) and bool(jnp.all(out.converged))
    l_1w, l_2w, l_3w = (np.asarray(x) for x in (lock.r_1w, lock.r_2w, lock.r_3w))
    # The first-order model misses R_1w by ~1e-2 of R_2w here; every order agrees to the lag (w tau_r)^2 ~ 1e-6.
    assert np.all(np.abs(first_1w - l_1w) > 2e-3 * np.abs(l_2w))
    np.testing.assert_allclose(out.r_1w, l_1w, atol=1e-6 * np.max(np.abs(l_2w)))
    assert np.max(np.abs(np.asarray(out.r_2w) - l_2w)) < 0.1 * np.max(np.abs(first_2w - l_2w))
    np.testing.assert_allclose(out.r_2w, l_2w, rtol=5e-5)
    np.testing.assert_allclose(out.r_3w, l_3w, rtol=2e-3)
    assert np.all(np.abs(l_3w) > 1e-3 * np.abs(l_2w))
    np.testing.assert_allclose(out.r_dc, np.asarray(lock.r_dc), rtol=5e-5)


def test_small_current_limit_and_scaling(in_plane_case):
    """As j0 -> 0 the first-order result is recovered; R_1w - R_H(M0) and R_3w scale as j0^2."""
    params, settings, _ = in_plane_case
    diffs = []
    for scale in (0.25, 0.5):
        s = _settings(settings.phi_h, settings.field, 1e11 * scale, theta_h=settings.theta_h, easy_axis=(1.0, 0.0, 0.0))
        p = {**params, "oersted_field": params["oersted_field"] * scale, "r_ane": params["r_ane"] * scale}
        out = harmonic_hall_all_orders(p, s)
        r_1w, _ = harmonic_hall_forward(p, s)
        diffs.append((np.asarray(out.r_1w - r_1w), np.asarray(out.r_3w)))
    for before, after in zip(diffs[0], diffs[1]):
        np.testing.assert_allclose(after / before, 4.0, rtol=0.02)


def test_gradient_matches_finite_differences(in_plane_case):
    params, settings, _ = in_plane_case
    weights = np.array([1.0, -2.0])

    def loss(p):
        out = harmonic_hall_all_orders(p, settings, phases=8)
        return jnp.sum(weights * out.r_3w) + 0.1 * jnp.sum(out.r_1w)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    grad = value_and_grad(params)[1]
    for name in ("alpha", "anisotropy_field", "oersted_field", "r_phe"):
        h = 1e-5 * abs(params[name])
        up, down = (float(value_and_grad({**params, name: params[name] + d})[0]) for d in (h, -h))
        assert float(grad[name]) == pytest.approx((up - down) / (2 * h), rel=1e-5), name


def test_switching_at_the_stoner_wohlfarth_astroid(in_plane_case):
    """In-plane easy axis x (B_K), field -0.2 B_K along x, M on the +x branch, Oersted field h_y B_K only:
    the branch ends on the astroid |h_x|^(2/3) + |h_y|^(2/3) = 1, at h_y = (1 - 0.2^(2/3))^(3/2) = 0.534."""
    params, settings, _ = in_plane_case
    b_k = 0.05
    s = _settings(np.array([math.pi]), 0.2 * b_k, 1e11, easy_axis=(1.0, 0.0, 0.0), m_start=(1.0, 0.0, 0.0),
                  field_like=False, damping_like=False)
    for h_y, stays in ((0.50, True), (0.57, False)):
        out = harmonic_hall_all_orders({**params, "anisotropy_field": b_k, "oersted_field": h_y * b_k}, s, phases=64)
        assert bool(out.converged[0]) == stays, h_y
        assert bool(jnp.isnan(out.r_2w[0])) != stays


def test_errors_name_the_problem(in_plane_case):
    params, settings, _ = in_plane_case
    with pytest.raises(ValueError, match="phases"):
        harmonic_hall_all_orders(params, settings, phases=10)
    with pytest.raises(ValueError, match="settings"):
        harmonic_hall_all_orders(params, None)


def test_ordinary_hall_term_adds_r_ohe_bz_to_r_1w_only(in_plane_case):
    params, settings, _ = in_plane_case
    with_ohe = harmonic_hall_all_orders({**params, "r_ohe": 0.02}, settings)
    without = harmonic_hall_all_orders(params, settings)
    b_z = np.asarray(settings.field) * np.cos(np.asarray(settings.theta_h))
    np.testing.assert_allclose(np.asarray(with_ohe.r_1w - without.r_1w), 0.02 * b_z, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(with_ohe.r_2w, without.r_2w, rtol=1e-12)
    np.testing.assert_allclose(with_ohe.r_3w, without.r_3w, rtol=1e-12, atol=1e-15)
    first, _ = harmonic_hall_forward({**params, "r_ohe": 0.02}, settings)
    first0, _ = harmonic_hall_forward(params, settings)
    np.testing.assert_allclose(np.asarray(first - first0), 0.02 * b_z, rtol=1e-12, atol=1e-15)

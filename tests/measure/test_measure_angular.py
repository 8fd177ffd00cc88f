"""Anisotropic torque coefficients (jaxsot._measure._angular) against independent references.

References: synthetic fields written in the spherical frame of M (e_theta, e_phi components, NumPy), whose
coefficients are known; the strong-exchange SI closed forms (only the lowest order exists); the exact
fields at directions off the fitting grid (the expansion must reproduce them); the growth of the
higher orders with alpha, as (alpha k_F/J)^2.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import angular_fields, effective_fields, fit_torque_coefficients, sphere_grid, torque_coefficients

J_EX, FERMI, TAU, RHO0, CURRENT = 1.0, 1.5, 10.0, 2.0e-7, 1.0e11


def make(alpha, method="exact"):
    efield = jnp.asarray([RHO0 * CURRENT * 1e-9, 0.0])
    return jaxsot.Magnet(1.0, 1.0, 0.05), jaxsot.SpinOrbitTorque(alpha, J_EX, FERMI, efield, TAU, method=method)


def spherical_fields(m, f, g, d, h):
    """Fields from coefficient lists in the spherical frame (theta, phi of M; current along x).

    b_FL = cos(th) sin(ph) F(s2) e_th + cos(ph) [F(s2) + s2 G(s2)] e_ph,
    b_DL = -cos(ph) [D(s2) + s2 H(s2)] e_th + cos(th) sin(ph) D(s2) e_ph,
    with F = sum f_n s2^n, G = sum g_n s2^n (s2 = sin^2 theta): the components of P_perp y, (z x M)(M.x),
    M x y, M x (z x M)(M.x) written out by hand.
    """
    th = np.arccos(np.clip(m[:, 2], -1, 1))
    ph = np.arctan2(m[:, 1], m[:, 0])
    s2 = np.sin(th) ** 2
    poly = lambda c: sum(cn * s2**n for n, cn in enumerate(c))  # noqa: E731
    e_t = np.stack([np.cos(th) * np.cos(ph), np.cos(th) * np.sin(ph), -np.sin(th)], -1)
    e_p = np.stack([-np.sin(ph), np.cos(ph), 0 * ph], -1)
    fl = (np.cos(th) * np.sin(ph) * poly(f))[:, None] * e_t + (np.cos(ph) * (poly(f) + s2 * poly(g)))[:, None] * e_p
    dl = (-np.cos(ph) * (poly(d) + s2 * poly(h)))[:, None] * e_t + (np.cos(th) * np.sin(ph) * poly(d))[:, None] * e_p
    return fl, dl


def test_projection_recovers_known_coefficients():
    m, w = sphere_grid(10, 16)
    f, g, d, h = [1.0, -0.3, 0.05], [0.2, -0.04], [-0.5, 0.1, 0.02], [0.07, 0.01]
    b_fl, b_dl = spherical_fields(np.asarray(m), f, g, d, h)
    c = fit_torque_coefficients(m, w, b_fl, b_dl, order=2)
    np.testing.assert_allclose(c.field_like, f, atol=1e-12)
    np.testing.assert_allclose(c.field_like_azimuthal, g, atol=1e-12)
    np.testing.assert_allclose(c.damping_like, d, atol=1e-12)
    np.testing.assert_allclose(c.damping_like_azimuthal, h, atol=1e-12)
    assert float(c.field_like_residual) < 1e-12 and float(c.damping_like_residual) < 1e-12
    # A truncated fit (order 1) of an order-2 field reports a residual of the size of the missing term.
    low = fit_torque_coefficients(m, w, b_fl, b_dl, order=1)
    assert 1e-3 < float(low.field_like_residual) < 0.1
    # Evaluating the expansion at new directions gives the synthetic fields back.
    rng = np.random.default_rng(1)
    probe = rng.normal(size=(5, 3))
    probe /= np.linalg.norm(probe, axis=-1, keepdims=True)
    fl, dl = angular_fields(c, probe)
    ref_fl, ref_dl = spherical_fields(probe, f, g, d, h)
    np.testing.assert_allclose(fl, ref_fl, atol=1e-12)
    np.testing.assert_allclose(dl, ref_dl, atol=1e-12)


def test_strong_exchange_has_only_the_lowest_order(si):
    magnet, torque = make(0.02, "strong_exchange")
    c = torque_coefficients(magnet, torque, RHO0, method="strong_exchange", order=2)
    b_fl, b_dl = si.strong_fields_si(0.02, J_EX, FERMI, TAU, CURRENT, RHO0, 1.0, 1.0)
    assert float(c.field_like[0]) == pytest.approx(b_fl / CURRENT, rel=1e-8)
    assert float(c.damping_like[0]) == pytest.approx(b_dl / CURRENT, rel=1e-8)
    higher = np.concatenate([c.field_like[1:], c.field_like_azimuthal, c.damping_like[1:], c.damping_like_azimuthal])
    assert np.max(np.abs(higher)) < 1e-12 * abs(b_fl / CURRENT)


@pytest.fixture(scope="module")
def exact_coefficients():
    out = {}
    for alpha in (0.01, 0.02, 0.04):
        magnet, torque = make(alpha)
        out[alpha] = (magnet, torque, torque_coefficients(magnet, torque, RHO0, order=2))
    return out


@pytest.mark.slow  # exact angular coefficients compiled
def test_exact_expansion_reproduces_the_fields_off_the_grid(exact_coefficients):
    magnet, torque, c = exact_coefficients[0.04]
    assert float(c.field_like_residual) < 1e-4 and float(c.damping_like_residual) < 1e-4
    rng = np.random.default_rng(5)
    probe = rng.normal(size=(7, 3))
    probe /= np.linalg.norm(probe, axis=-1, keepdims=True)
    direct = effective_fields(magnet, torque, probe, RHO0, methods=("exact",))
    j = float(direct.current_density)
    fl, dl = angular_fields(c, probe)
    scale = np.max(np.abs(direct.exact.field_like)) / j
    np.testing.assert_allclose(fl, np.asarray(direct.exact.field_like) / j, atol=1e-4 * scale)
    np.testing.assert_allclose(dl, np.asarray(direct.exact.damping_like) / j, atol=1e-4 * scale * HBAR_RATIO)
    # The anisotropy is real: dropping the higher orders misses the fields by much more.
    lowest = np.asarray(c.field_like[0]) * (np.array([0, 1.0, 0]) - probe * probe[:, 1:2])
    assert np.max(np.abs(lowest - np.asarray(direct.exact.field_like) / j)) > 30 * 1e-4 * scale


HBAR_RATIO = 0.6582119569 / (2.0 * J_EX * TAU)  # |B_DL|/|B_FL| = hbar/(2 J tau) in this model


@pytest.mark.slow  # exact angular coefficients compiled
def test_higher_orders_grow_as_alpha_squared(exact_coefficients):
    """F2/F0, G2/F0, D2/D0, H2/D0 scale as (alpha k_F/J)^2: doubling alpha multiplies them by ~4."""
    ratios = {}
    for alpha, (_, _, c) in exact_coefficients.items():
        ratios[alpha] = np.array([c.field_like[1] / c.field_like[0], c.field_like_azimuthal[0] / c.field_like[0],
                                  c.damping_like[1] / c.damping_like[0], c.damping_like_azimuthal[0] / c.damping_like[0]])
    growth = ratios[0.02] / ratios[0.01]
    assert np.all(np.abs(growth - 4.0) < 0.25), growth
    # The next order (s^4) is smaller by another (alpha k_F/J)^2: its growth is ~16.
    f4 = [float(exact_coefficients[a][2].field_like[2] / exact_coefficients[a][2].field_like[0]) for a in (0.01, 0.02)]
    assert 13.0 < f4[1] / f4[0] < 19.0, f4


def test_errors_name_the_problem():
    m, w = sphere_grid(4, 8)
    with pytest.raises(ValueError, match="order"):
        fit_torque_coefficients(m, w, np.zeros((32, 3)), np.zeros((32, 3)), order=-1)
    with pytest.raises(ValueError, match="num_theta"):
        sphere_grid(1, 8)
    assert math.isclose(float(np.sum(w)), 4.0 * math.pi, rel_tol=1e-12)

"""Quasi-static harmonic Hall signals (jaxsot._measure._hall) against independent references.

References (NumPy, conftest.py and below): the strong-exchange fields in SI; for a perpendicular magnet
in an in-plane field B < B_K,eff the Stoner-Wohlfarth equilibrium sin(theta0) = B/B_K,eff with the
curvatures B_K,eff cos^2(theta0) and B_K,eff in spherical coordinates (both branches); its small-field
limit, the form of Hayashi et al., PRB 89, 144425 (2014), rederived in this sign convention,
    R_2w = (B/(2 B_K,eff^2)) [R_AHE (B_DL cos phi_H - B_FL sin phi_H) + R_PHE (B_FL cos phi_H - B_DL sin phi_H)],
with relative error O((B/B_K,eff)^2); for an easy-plane magnet in an in-plane field (M along the field)
the standard closed form (e.g. Avci et al., PRB 90, 224427 (2014), in this convention)
    R_2w = (1/2) [R_AHE B_DL cos phi/(B + B_d) + R_PHE cos(2 phi) cos(phi) (B_FL + B_Oe)/B] + R_ANE cos phi,
    B_d = mu0 M_s - B_K (exact for the strong-exchange fields); central finite differences for gradients.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import HallSettings, harmonic_hall, harmonic_hall_forward, hall_bands

ALPHA, J_EX, FERMI, TAU = 0.02, 1.0, 1.5, 10.0
RHO0, CURRENT, MS, THICKNESS = 2.0e-7, 1.0e11, 1.0, 1.0
R_AHE, R_PHE, R_ANE, B_OE = 1.3, 0.27, 2.0e-3, 4.0e-4
PARAMS = {"alpha": ALPHA, "j_ex": J_EX, "tau": TAU, "r_ahe": R_AHE, "r_phe": R_PHE, "r_ane": R_ANE, "oersted_field": B_OE}


def settings(phi, field, *, model="strong_exchange", **kwargs):
    return HallSettings(
        phi, field, fermi_energy=FERMI, current_density=CURRENT, rho0=RHO0, ms_tesla=MS, thickness=THICKNESS,
        model=model, bands=(-1, 1), **kwargs,
    )


@pytest.fixture(scope="module")
def forward():
    return jax.jit(harmonic_hall_forward)


def test_perpendicular_magnet_stoner_wohlfarth(forward, si):
    b_fl, b_dl = si.strong_fields_si(ALPHA, J_EX, FERMI, TAU, CURRENT, RHO0, MS, THICKNESS)
    bk = 1.5  # T, B_K,eff = 1.5 - mu0 M_s = 0.5 T
    phi = np.linspace(0.0, 2.0 * math.pi, 12, endpoint=False)
    params = {**PARAMS, "anisotropy_field": bk}
    for branch in (1.0, -1.0):
        for field in (0.1, 0.35):
            s = settings(phi, field, m_start=(0.0, 0.0, branch))
            r_1w, r_2w = forward(params, s)
            ref_1w, ref_2w = si.perpendicular_reference(field, phi, bk - MS, b_fl, b_dl, B_OE, R_AHE, R_PHE, R_ANE, branch)
            np.testing.assert_allclose(r_1w, ref_1w, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(r_2w, ref_2w, rtol=1e-8, atol=1e-10 * np.max(np.abs(ref_2w)))


def test_perpendicular_small_field_limit(forward, si):
    """The closed small-field form holds with an error falling as (B/B_K,eff)^2."""
    b_fl, b_dl = si.strong_fields_si(ALPHA, J_EX, FERMI, TAU, CURRENT, RHO0, MS, THICKNESS)
    bk_eff = 0.5
    phi = np.linspace(0.0, 2.0 * math.pi, 12, endpoint=False)
    params = {**PARAMS, "anisotropy_field": bk_eff + MS, "r_ane": 0.0, "oersted_field": 0.0}
    errors = []
    for field in (0.01, 0.02):
        _, r_2w = forward(params, settings(phi, field))
        ref = field / (2.0 * bk_eff**2) * (R_AHE * (b_dl * np.cos(phi) - b_fl * np.sin(phi)) + R_PHE * (b_fl * np.cos(phi) - b_dl * np.sin(phi)))
        errors.append(np.max(np.abs(np.asarray(r_2w) - ref)) / np.max(np.abs(ref)))
    assert errors[0] < 1e-3
    assert 3.5 < errors[1] / errors[0] < 4.5, errors


def test_easy_plane_magnet_closed_form(forward, si):
    b_fl, b_dl = si.strong_fields_si(ALPHA, J_EX, FERMI, TAU, CURRENT, RHO0, MS, THICKNESS)
    bk = 0.2  # perpendicular anisotropy below mu0 M_s: easy plane, B_d = 0.8 T
    phi = np.linspace(0.1, 2.0 * math.pi + 0.1, 12, endpoint=False)
    for field in (0.05, 0.4):
        r_1w, r_2w = forward({**PARAMS, "anisotropy_field": bk}, settings(phi, field))
        ref_2w = 0.5 * (R_AHE * b_dl * np.cos(phi) / (field + MS - bk) + R_PHE * np.cos(2 * phi) * np.cos(phi) * (b_fl + B_OE) / field)
        ref_2w += R_ANE * np.cos(phi)
        np.testing.assert_allclose(r_1w, 0.5 * R_PHE * np.sin(2 * phi), atol=1e-12)
        np.testing.assert_allclose(r_2w, ref_2w, rtol=1e-8, atol=1e-10 * np.max(np.abs(ref_2w)))


@pytest.mark.slow  # compile-heavy gradients of the Hall signals
def test_gradients_match_finite_differences(forward):
    """d/dp of a weighted sum of R_1w and R_2w (exact bands, tilted fields) vs central differences."""
    phi = np.array([0.3, 1.2, 2.5, 4.0])
    theta = np.array([1.2, 1.5, 0.0, 1.4])  # the third point: M exactly along z, an exactly zero gradient g
    s = settings(phi, np.array([0.2, 0.3, 0.25, 0.4]), theta_h=theta, model="exact", num=32)
    params = {**PARAMS, "anisotropy_field": 1.4, "j_ex": 0.9}
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=4), rng.normal(size=4) * 1e3

    def loss(p):
        r_1w, r_2w = harmonic_hall_forward(p, s)
        return jnp.sum(w1 * r_1w) + jnp.sum(w2 * r_2w)

    value_and_grad = jax.jit(jax.value_and_grad(loss))  # one compiled program for both
    grad = value_and_grad(params)[1]
    assert all(np.isfinite(float(v)) for v in grad.values())
    for name in ("alpha", "j_ex", "tau", "anisotropy_field", "r_ahe"):
        h = 1e-5 * abs(params[name])
        up, down = (float(value_and_grad({**params, name: params[name] + d})[0]) for d in (h, -h))
        fd = (up - down) / (2 * h)
        assert float(grad[name]) == pytest.approx(fd, rel=2e-6, abs=1e-9 * abs(fd) + 1e-14), name


@pytest.mark.slow  # each branch compiled
def test_object_interface_and_branches(si):
    """harmonic_hall(Magnet, SpinOrbitTorque) equals the forward model; M_start selects the branch."""
    efield = jnp.asarray([RHO0 * CURRENT * 1e-9, 0.0])
    torque = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI, efield, TAU, method="strong_exchange")
    magnet = jaxsot.Magnet(MS, THICKNESS, 0.1, anisotropy_field=1.5)
    phi = np.array([0.0, 1.0])
    up = harmonic_hall(magnet, torque, RHO0, phi, 0.2, r_ahe=R_AHE, r_phe=R_PHE)
    down = harmonic_hall(magnet, torque, RHO0, phi, 0.2, r_ahe=R_AHE, r_phe=R_PHE, m_start=(0.0, 0.0, -1.0))
    assert bool(jnp.all(up.converged)) and bool(jnp.all(down.converged))
    assert np.all(np.asarray(up.m_eq[:, 2]) > 0) and np.all(np.asarray(down.m_eq[:, 2]) < 0)
    r_1w, r_2w = harmonic_hall_forward({**PARAMS, "anisotropy_field": 1.5, "r_ane": 0.0, "oersted_field": 0.0}, settings(phi, 0.2))
    np.testing.assert_allclose(up.r_2w, r_2w, rtol=1e-12)
    np.testing.assert_allclose(up.r_1w, r_1w, rtol=1e-12)
    # The first-order response is perpendicular to M and equals (b_sot tilts) H^-1 b_perp.
    assert float(jnp.max(jnp.abs(jnp.sum(up.dm * up.m_eq, -1)))) < 1e-15
    assert hall_bands({**PARAMS, "anisotropy_field": 1.5}, FERMI) == (-1, 1)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="bands"):
        HallSettings(0.0, 0.1, fermi_energy=FERMI, current_density=CURRENT, rho0=RHO0, ms_tesla=MS, thickness=THICKNESS)
    with pytest.raises(ValueError, match="rho0"):
        HallSettings(
            0.0, 0.1, fermi_energy=FERMI, current_density=CURRENT, rho0=-1.0, ms_tesla=MS, thickness=THICKNESS, model="strong_exchange"
        )
    s = settings(0.0, 0.1)
    with pytest.raises(ValueError, match="unknown"):
        harmonic_hall_forward({**PARAMS, "anisotropy_field": 1.5, "gamma": 1.0}, s)
    with pytest.raises(ValueError, match="missing"):
        harmonic_hall_forward({"alpha": ALPHA}, s)
    torque = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI, jnp.asarray([0.0, 0.02]), TAU)
    with pytest.raises(ValueError, match="efield"):
        harmonic_hall(jaxsot.Magnet(MS, THICKNESS, 0.1), torque, RHO0, 0.0, 0.1, r_ahe=1.0)


@pytest.mark.slow  # compile-heavy (~28 s wall cold)
def test_field_dependent_thermal_term(si):
    """R_ANE(B) = r_ane + r_ane_field |B|: the easy-plane closed form with that coefficient at two fields (first
    order), and the every-order quasi-static route against the time-domain lock-in with the same term."""
    b_fl, b_dl = si.strong_fields_si(ALPHA, J_EX, FERMI, TAU, CURRENT, RHO0, MS, THICKNESS)
    bk, r_field = 0.2, -4.0e-3  # easy plane, B_d = 0.8 T; the thermal term falls by 4 mohm per tesla
    torque = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI, jnp.asarray([RHO0 * CURRENT * 1e-9, 0.0]), TAU, method="strong_exchange")
    magnet = jaxsot.Magnet(MS, THICKNESS, 1.0, anisotropy_field=bk)
    hall = dict(r_ahe=R_AHE, r_phe=R_PHE, r_ane=R_ANE, oersted_field=B_OE)
    phi = np.linspace(0.1, 2.0 * math.pi + 0.1, 12, endpoint=False)
    for field in (0.05, 0.4):
        got = harmonic_hall(magnet, torque, RHO0, phi, field, r_ane_field=r_field, **hall)
        ref_2w = 0.5 * (R_AHE * b_dl * np.cos(phi) / (field + MS - bk) + R_PHE * np.cos(2 * phi) * np.cos(phi) * (b_fl + B_OE) / field)
        ref_2w += (R_ANE + r_field * field) * np.cos(phi)
        np.testing.assert_allclose(got.r_2w, ref_2w, rtol=1e-8, atol=1e-10 * np.max(np.abs(ref_2w)))
        plain = harmonic_hall(magnet, torque, RHO0, phi, field, **hall)
        np.testing.assert_allclose(np.asarray(got.r_2w) - np.asarray(plain.r_2w), r_field * field * np.cos(phi), rtol=0, atol=1e-14)
    phi, field = np.array([0.4, 2.9]), np.array([0.1, 0.3])
    every = harmonic_hall(magnet, torque, RHO0, phi, field, r_ane_field=r_field, phases=16, **hall)
    lock = jaxsot.lockin_harmonics(magnet, torque, phi, field, r_ane_field=r_field, frequency=1.5e7, periods=1,
                                   settle_periods=1, samples_per_period=32, **hall)
    assert bool(np.all(np.asarray(lock.success))) and bool(np.all(np.asarray(every.converged)))
    np.testing.assert_allclose(np.asarray(lock.r_2w), np.asarray(every.r_2w), rtol=1e-4)
    assert np.all(np.abs(r_field * field * np.cos(phi)) > 0.05 * np.abs(np.asarray(every.r_2w)))
    with pytest.raises(ValueError, match="r_ane_field"):
        harmonic_hall(magnet, torque, RHO0, phi, field, r_ane_field=float("inf"), **hall)

"""Time-domain check of the quasi-static harmonic Hall model (jaxsot._measure._lockin vs _hall).

The LLG of `jaxsot.llg_rates` is integrated under j(t) = j0 sin(w t) (diffrax) and the Hall voltage is
demodulated over whole periods like a lock-in; no equilibrium expansion or implicit-function theorem is
used there. At w tau_r ~ 1e-2 (tau_r the magnet's relaxation time) the in-phase harmonics differ from the
quasi-static ones by O((w tau_r)^2) and by the O(j0^2) terms the quasi-static model drops, ~1e-4 here.
"""


import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import harmonic_hall, lockin_harmonics

RHO0, CURRENT = 2.0e-7, 1.0e11
HALL = dict(r_ahe=1.0, r_phe=0.3, r_ane=0.01, oersted_field=1e-3)


def torque():
    return jaxsot.SpinOrbitTorque(0.02, 1.0, 1.5, jnp.asarray([RHO0 * CURRENT * 1e-9, 0.0]), 10.0, method="strong_exchange")


@pytest.mark.parametrize(
    "magnet, phi, field, theta",
    [
        # perpendicular (B_K,eff = 0.5 T), oblique fields; in-plane easy axis along the current (B_K = 0.05 T)
        (dict(anisotropy_field=1.5), [0.5, 2.0], [0.2, 0.3], [1.4, 1.2]),
        (dict(anisotropy_field=0.05, easy_axis=(1.0, 0.0, 0.0)), [0.8, 2.6], [0.1, 0.15], [1.5707963267948966, 1.3]),
    ],
    ids=["perpendicular", "in_plane"],
)
def test_lockin_demodulation_matches_quasi_static(magnet, phi, field, theta):
    mag = jaxsot.Magnet(1.0, 1.0, 1.0, **magnet)  # alpha_G = 1: the fastest relaxation
    tor = torque()
    quasi = harmonic_hall(mag, tor, RHO0, np.asarray(phi), np.asarray(field), theta_h=np.asarray(theta), **HALL)
    lock = lockin_harmonics(
        mag, tor, np.asarray(phi), np.asarray(field), theta_h=np.asarray(theta), frequency=1.5e7,
        periods=2, settle_periods=1, samples_per_period=64, **HALL,
    )
    assert bool(np.all(lock.success)) and bool(np.all(quasi.converged))
    np.testing.assert_allclose(lock.m_start, quasi.m_eq, atol=1e-12)
    r_2w, l_2w = np.asarray(quasi.r_2w), np.asarray(lock.r_2w)
    assert np.all(np.abs(l_2w - r_2w) < 1e-3 * np.abs(r_2w)), (l_2w, r_2w)
    assert np.all(np.abs(np.asarray(lock.r_1w) - np.asarray(quasi.r_1w)) < 1e-4), (lock.r_1w, quasi.r_1w)
    # The lag shows up in the quadratures at O(w tau_r), well below the in-phase signal.
    assert np.all(np.abs(np.asarray(lock.r_2w_quadrature)) < 0.05 * np.abs(r_2w))
    assert np.all(np.abs(np.asarray(lock.r_1w_quadrature)) < 1e-4)
    # The dc part of the second-order signal equals R_2w (V ~ R'.dM sin^2 = R'.dM (1 - cos 2wt)/2).
    np.testing.assert_allclose(lock.r_dc, r_2w, rtol=2e-3)
    # The modelled signal is not trivially small: the SOT and the thermal term both contribute.
    assert np.all(np.abs(r_2w) > 1e-4)
    if magnet.get("easy_axis") is not None:
        # What is left is the O(j0^2) relative correction the quasi-static model drops: half the current
        # (fields, Oersted and thermal terms scale with it) leaves a quarter of the discrepancy.
        half = jaxsot.SpinOrbitTorque(0.02, 1.0, 1.5, jnp.asarray([RHO0 * CURRENT * 0.5e-9, 0.0]), 10.0, method="strong_exchange")
        hall = {**HALL, "r_ane": 0.5 * HALL["r_ane"], "oersted_field": 0.5 * HALL["oersted_field"]}
        quasi_half = harmonic_hall(mag, half, RHO0, np.asarray(phi), np.asarray(field), theta_h=np.asarray(theta), **hall)
        lock_half = lockin_harmonics(mag, half, np.asarray(phi), np.asarray(field), theta_h=np.asarray(theta), frequency=1.5e7, periods=2, settle_periods=1, **hall)
        before = (l_2w[0] - r_2w[0]) / r_2w[0]
        after = float((lock_half.r_2w[0] - quasi_half.r_2w[0]) / quasi_half.r_2w[0])
        assert 3.0 < before / after < 5.5, (before, after)


def test_errors_name_the_problem():
    mag = jaxsot.Magnet(1.0, 1.0, 1.0, anisotropy_field=1.5)
    with pytest.raises(ValueError, match="frequency"):
        lockin_harmonics(mag, torque(), 0.0, 0.1, r_ahe=1.0, frequency=0.0)
    with pytest.raises(ValueError, match="samples_per_period"):
        lockin_harmonics(mag, torque(), 0.0, 0.1, r_ahe=1.0, frequency=1e7, samples_per_period=4)

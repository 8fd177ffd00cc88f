"""Identifiability of the TI surface's parameters in paper-unit torque data (`jaxsot.fit.fit(..., model=)`).

Physics (docs: How-to > jaxsot fit, "What the paper-unit data determine for the TI surface"): with the
k^2 term both bands cross E_F (the lower one at large k), and the two-band sum makes the damping-like
torque T_DL_y ~ hbar_v/c and the field-like torque ~ J tau hbar_v/c (the Rashba gas's m alpha and
m alpha J tau, alpha = -hbar_v, m = hbar^2/(2c)); J enters on its own only through the gap J M_z, a
correction ~ (J cos theta)^2. For in-plane M (theta = pi/2) it vanishes: T_DL_y is flat in phi (in-plane M
only shifts the cone), hbar_v and J tau are determined, J/tau is not. Data at several theta with a gap
large enough for the rays (c = 0.5 eV nm^2: the lower band's contour near k = 1/nm) determine all three.
Reference: the synthetic truth; every fit starts elsewhere.
"""

import math
import warnings

import jax
import numpy as np
import pytest

import jaxsot
import jaxsot.fit as jf

# Slow tier: TI-surface fits (compile-heavy).
pytestmark = pytest.mark.slow

jax.config.update("jax_enable_x64", True)

TRUTH = {"hbar_v": 0.3, "j_ex": 0.1, "tau": 10.0}
FERMI = 0.2
# Built at values other than the truth: the fit starts there (and at tau = 7 fs).
MODEL = jaxsot.TISurfaceFerromagnet(0.33, 0.08, [0.0, 0.0, 1.0], kinetic=0.05)


def test_in_plane_ti_data_determine_hbar_v_and_j_tau_and_name_j_over_tau_undetermined():
    curve = jf.synthesize(TRUTH, FERMI, model=MODEL, columns=("T_DL_y", "T_FL_z"), theta=math.pi / 2,
                          phi=np.array([0.3, 1.8, 3.3, 4.8]), noise=0.01, num=32, efield=1e-3)
    values, sigma = np.asarray(curve.values), np.asarray(curve.sigma)
    # T_DL_y is flat in phi (to quadrature rounding): its noise is 1 % of its size, not of a ~1e-10 range.
    assert np.ptp(values[:, 0]) < 0.05 * np.max(np.abs(values[:, 0]))
    assert 0.005 < sigma[0, 0] / np.max(np.abs(values[:, 0])) < 0.02
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = jf.fit(curve, FERMI, model=MODEL, free=("hbar_v", "j_ex", "tau"), guess={"tau": 7.0}, restarts=1, num=32)
    assert result.reduced_chi2 < 3.0, result.reduced_chi2
    assert result.identifiable == {"hbar_v": True, "j_ex": False, "tau": False}
    se = result.standard_errors["hbar_v"]
    assert 0.0 < se < 0.02 * TRUTH["hbar_v"] and abs(result.parameters["hbar_v"] - TRUTH["hbar_v"]) < 2.0 * se
    # The undetermined direction is J/tau, named as such; J tau (orthogonal to it) is determined.
    weakest = result.directions[-1]
    assert weakest["combination"] == "j_ex tau^-1" and not weakest["determined"]
    assert all(d["determined"] for d in result.directions[:-1])
    j, tau = result.parameters["j_ex"], result.parameters["tau"]
    gradient = np.array([0.0, 1.0 / j, 1.0 / tau])  # d log(J tau)/d (hbar_v, j_ex, tau)
    relative = math.sqrt(gradient @ result.covariance @ gradient)
    assert 0.0 < relative < 0.05
    assert abs(math.log(j * tau / (TRUTH["j_ex"] * TRUTH["tau"]))) < 2.0 * relative
    # ... and the result says so by name: J tau determined (its error as from the covariance), J/tau not.
    named = {d["combination"]: d for d in result.physical}
    assert set(named) == {"j_ex tau", "j_ex tau^-1"}
    assert named["j_ex tau"]["determined"] and abs(named["j_ex tau"]["relative_error"] - relative) < 1e-6 * relative
    assert not named["j_ex tau^-1"]["determined"] and named["j_ex tau^-1"]["relative_error"] == math.inf
    assert "J tau (field-like torque)" in result.summary()
    assert any("j_ex tau^-1" in str(w.message) for w in caught)


def test_ti_data_at_several_polar_angles_recover_hbar_v_j_and_tau_within_two_standard_errors():
    model = jaxsot.TISurfaceFerromagnet(0.33, 0.12, [0.0, 0.0, 1.0], kinetic=0.5)
    truth = {"hbar_v": 0.3, "j_ex": 0.15, "tau": 10.0}
    theta, phi = np.array([0.1, 0.3, 0.5, 0.7, 0.85, 1.0]), np.array([0.3, 1.2, 2.2, 3.3, 4.4, 5.5])
    curve = jf.synthesize(truth, FERMI, model=model, columns=("T_DL_y", "T_FL_x"), theta=theta, phi=phi, noise=0.01,
                          num=32, efield=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = jf.fit(curve, FERMI, model=model, free=("hbar_v", "j_ex", "tau"), guess={"tau": 7.0}, restarts=1, num=32)
    assert result.settings["route"] == "rays" and result.restarts[0]["status"].startswith("converged")
    assert result.reduced_chi2 < 3.0, result.reduced_chi2
    assert all(result.identifiable.values()) and all(d["determined"] for d in result.directions)
    for name, value in truth.items():
        se = result.standard_errors[name]
        assert 0.0 < se < 0.03 * value and abs(result.parameters[name] - value) < 2.0 * se, (name, result.parameters[name], se)
    assert result.parameters["kinetic"] == 0.5
    assert all(d["determined"] for d in result.physical) and len(result.physical) == 2

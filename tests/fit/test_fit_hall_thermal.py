"""The field-dependent thermal term r_ane_field as a fit parameter of `fit_harmonic_hall`.

Data: the quasi-static route at every order (`synthesize_hall`) of an in-plane magnet (easy axis x) with
R_ANE(B) = r_ane + r_ane_field |B| (spin-Seebeck-like suppression) at three field magnitudes. Reference: the
known truth (first-order fit, as in tests/fit/test_fit_hall_orders.py). r_ane_field is fixed at 0 unless freed (the default free set and fits written before it existed
are unchanged); freed, it is recovered within 3 standard errors together with the torques.
"""

import math
import warnings

import numpy as np
import pytest

from jaxsot import HALL_DEFAULTS, HALL_PARAMETER_UNITS, HallSettings
from jaxsot.fit import HALL_FIT_PARAMETERS
from jaxsot.fit._hall import HallData, default_free, fit_harmonic_hall, synthesize_hall

# Slow tier: harmonic Hall fits with thermal terms (compile-heavy).
pytestmark = pytest.mark.slow

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "tau": 10.0, "anisotropy_field": 0.05, "r_ahe": 1.0, "r_phe": 0.3,
         "r_ane": 2e-4, "r_ane_field": -3e-4}
FREE = ("alpha", "tau", "anisotropy_field", "r_phe", "r_ane", "r_ane_field")


def test_field_dependent_thermal_term_is_recovered():
    fields = [0.1, 0.25, 0.6]
    phi = np.tile(np.linspace(0.1, 2 * math.pi + 0.1, 12, endpoint=False), len(fields))
    settings = HallSettings(phi, np.repeat(fields, 12), fermi_energy=1.5, current_density=1e10, rho0=2e-7, ms_tesla=1.0,
                            thickness=1.0, easy_axis=(1.0, 0.0, 0.0), model="strong_exchange")
    data = synthesize_hall(TRUTH, settings, sigma=(1e-5, 1e-7), seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_harmonic_hall(data, free=FREE, guess={"j_ex": 1.0, "r_ahe": 1.0}, model="strong_exchange", restarts=1)
    assert result.reduced_chi2 < 2.0, result.reduced_chi2
    # The thermal and torque parameters (the first-order fit's O(j0^2) bias of the anisotropy field, ~1e-5 T at
    # this current, is larger than its tiny standard error; tests/fit/test_fit_hall_orders.py fits every order).
    for name in ("alpha", "tau", "r_ane", "r_ane_field"):
        se = result.standard_errors[name]
        assert math.isfinite(se) and abs(result.parameters[name] - TRUTH[name]) < 3.0 * se, (name, result.parameters[name], se)
    # Resolved from zero by many standard errors: the data do fix the field dependence.
    assert abs(result.parameters["r_ane_field"]) > 10.0 * result.standard_errors["r_ane_field"]
    assert "r_ane_field" in result.summary() and result.to_dict()["units"]["r_ane_field"] == "ohm/T"
    # Fixed at zero unless freed: ignoring it (the default) leaves a misfit of these data.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = fit_harmonic_hall(data, free=FREE[:-1], guess={"j_ex": 1.0, "r_ahe": 1.0}, model="strong_exchange", restarts=1)
    assert fixed.parameters["r_ane_field"] == 0.0 and fixed.reduced_chi2 > 10.0, fixed.reduced_chi2


def test_r_ane_field_is_a_named_parameter_fixed_by_default():
    assert "r_ane_field" in HALL_FIT_PARAMETERS and HALL_DEFAULTS["r_ane_field"] == 0.0
    assert HALL_PARAMETER_UNITS["r_ane_field"] == "ohm/T"
    sweep = dict(phi_h=[0, 1, 2], field=0.1, r_1w=[1, 1, 1], r_2w=[0, 0, 0], fermi_energy=1.5, current_density=1e10, rho0=2e-7,
                 ms_tesla=1.0, thickness=1.0, easy_axis=(1.0, 0.0, 0.0))
    assert "r_ane_field" not in default_free([HallData(**sweep)])

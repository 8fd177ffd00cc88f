"""Fitting harmonic Hall data at every order in the current (`fit_harmonic_hall(..., orders="all")`).

Data: the quasi-static route at every order (`synthesize_hall`, its equilibrium solved at 16 current phases;
checked against the time-domain route and a closed form in tests/measure/test_measure_all_orders.py) at
j0 = 2e11 A/m^2, where the field-like field (~26 mT) makes the first-order model's O(j0^2) error in R_1w
(~1e-4 ohm) a hundred times the noise. The first-order fit then fails its chi^2 and misses the truth by
many standard errors; the every-order fit recovers it within 3 SE with chi^2 ~ dof.
"""

import math
import warnings

import numpy as np
import pytest

from jaxsot import HallSettings
from jaxsot.fit._hall import fit_harmonic_hall, synthesize_hall

# Slow tier: every-order harmonic Hall fits (compile-heavy).
pytestmark = pytest.mark.slow

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "tau": 10.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}
FREE = ("alpha", "tau", "anisotropy_field", "r_ahe", "r_phe")


@pytest.fixture(scope="module")
def data():
    phi = np.tile(np.linspace(0.0, 2.0 * math.pi, 8, endpoint=False), 2)
    field = np.repeat([0.1, 0.25], 8)
    settings = HallSettings(phi, field, fermi_energy=1.5, current_density=2e11, rho0=2e-7, ms_tesla=1.0, thickness=1.0,
                            model="strong_exchange")
    return synthesize_hall(TRUTH, settings, sigma=(1e-5, 1e-6), seed=1)


def fit(data, orders):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_harmonic_hall(data, free=FREE, guess={"j_ex": 1.0}, model="strong_exchange", orders=orders, restarts=1)


def test_every_order_fit_recovers_what_first_order_misses(data):
    every = fit(data, "all")
    assert every.settings["orders"] == "all"
    assert every.reduced_chi2 < 2.0, every.reduced_chi2
    for name in FREE:
        se = every.standard_errors[name]
        assert math.isfinite(se) and abs(every.parameters[name] - TRUTH[name]) < 3.0 * se, (name, every.parameters[name], se)
    first = fit(data, "first")
    assert first.reduced_chi2 > 10.0, first.reduced_chi2
    assert max(abs(first.parameters[n] - TRUTH[n]) / first.standard_errors[n] for n in FREE) > 10.0
    with pytest.raises(ValueError, match="orders"):
        fit_harmonic_hall(data, orders="second")


def test_thermal_term_separated_by_field_dependence_only():
    """In-plane magnet (easy axis x): R_ANE M_x and the damping-like term both go as cos(phi_H); one field
    magnitude cannot separate them (the fit says so by name), two can (r_ane and alpha, tau recovered)."""
    truth = {**TRUTH, "anisotropy_field": 0.05, "r_ane": 2e-4}
    free = ("alpha", "tau", "anisotropy_field", "r_phe", "r_ane")
    results = []
    for fields in ([0.1], [0.1, 0.4]):
        phi = np.tile(np.linspace(0.1, 2 * math.pi + 0.1, 12, endpoint=False), len(fields))
        settings = HallSettings(phi, np.repeat(fields, 12), fermi_energy=1.5, current_density=1e10, rho0=2e-7, ms_tesla=1.0,
                                thickness=1.0, easy_axis=(1.0, 0.0, 0.0), model="strong_exchange")
        data = synthesize_hall(truth, settings, sigma=(1e-5, 1e-7), seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(fit_harmonic_hall(data, free=free, guess={"j_ex": 1.0, "r_ahe": 1.0}, model="strong_exchange", restarts=1))
    one, two = results
    assert any("r_ane cannot be separated" in n and "field dependence" in n for n in one.notes), one.notes
    assert not one.identifiable["r_ane"]
    assert not any("cannot be separated" in n for n in two.notes), two.notes
    for name in ("alpha", "tau", "r_ane"):
        assert abs(two.parameters[name] - truth[name]) < 3.0 * two.standard_errors[name], name
    # In-plane magnets fit the thermal term by default; perpendicular ones do not.
    from jaxsot.fit._hall import HallData, default_free

    sweep = dict(phi_h=[0, 1, 2], field=0.1, r_1w=[1, 1, 1], r_2w=[0, 0, 0], fermi_energy=1.5, current_density=1e10, rho0=2e-7,
                 ms_tesla=1.0, thickness=1.0)
    assert default_free([HallData(**sweep, easy_axis=(1.0, 0.0, 0.0))])[-1] == "r_ane"
    assert "r_ane" not in default_free([HallData(**sweep)])


def test_bilayer_efficiencies_named_in_the_report(data):
    """With a heavy-metal layer the report adds xi for the heavy-metal current density j_HM = rho0 j0/rho_HM,
    i.e. xi_HM = xi_film rho_HM/rho0 (value and error), and says how the current is shared."""
    import dataclasses

    bilayer = dataclasses.replace(data, hm_thickness=4.0, hm_resistivity=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_harmonic_hall(bilayer, free=("tau", "r_ahe"), guess=TRUTH, model="strong_exchange", restarts=1)
    ratio = 1e-6 / 2e-7
    for kind in ("FL", "DL"):
        film, hm = result.derived[f"xi_{kind}"], result.derived[f"xi_{kind} (heavy-metal current density)"]
        assert film["unit"] == "1 (film current density)"
        assert hm["value"] == pytest.approx(film["value"] * ratio, rel=1e-12)
        assert hm["standard_error"] == pytest.approx(film["standard_error"] * ratio, rel=1e-12)
    share = (4.0 / 1e-6) / (4.0 / 1e-6 + 1.0 / 2e-7)
    assert f"{share:.1%} of the current" in result.settings["derived_at"] and "xi_DL (heavy-metal" in result.summary()

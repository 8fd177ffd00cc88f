"""`jaxsot.fit.hall_loss(model=TwoBandModel)`: the harmonic Hall loss of a TI surface by its own parameter names
(zero at the truth on noiseless data, its jax.grad equal to central finite differences of the loss, unknown names
refused), and recovery of a Rashba-Dresselhaus interface by `fit_harmonic_hall(model=...)` within 2 standard errors
(the second non-Rashba model after the TI surface of tests/fit/test_fit_hall_models.py), for harmonic Hall data and
for an effective-field table of the NumPy reference fields."""

import importlib.util
import math
import pathlib
import warnings

import jax
import numpy as np
import pytest

import jaxsot
from jaxsot import HallSettings
from jaxsot.fit import hall_loss
from jaxsot.fit._hall import FieldData, HallData, fit_harmonic_hall

# Slow tier: harmonic Hall fits of other model kinds (compile-heavy recoveries).
pytestmark = pytest.mark.slow

RHO0, CURRENT, NUM = 2.0e-7, 1.0e11, 32
MAGNET = dict(easy_axis=(1.0, 0.0, 0.0), demag=(0.0, 0.0, 1.0))
HALL = {"anisotropy_field": 0.05, "r_ahe": 1.0, "r_phe": 0.3, "r_ane": 0.002}


def _settings(phi, field, fermi):
    return HallSettings(phi, field, fermi_energy=fermi, current_density=CURRENT, rho0=RHO0, ms_tesla=1.0, thickness=1.0,
                        bands=(-1, 1), num=NUM, **MAGNET)


def _sweep(n):
    return np.tile(np.linspace(0.1, 2 * math.pi + 0.1, n, endpoint=False), 2), np.repeat([0.1, 0.25], n)


# ------------------------------------------------------------------------------------------------
# hall_loss of a TI surface


TI = jaxsot.TISurfaceFerromagnet(0.33, 0.1, [0.0, 0.0, 1.0], kinetic=0.05)  # values other than the truth
TI_TRUTH = {"hbar_v": 0.3, "tau": 10.0, **HALL}


@pytest.fixture(scope="module")
def ti_case():
    settings = _settings(*_sweep(6), 0.3)
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(TI_TRUTH, settings, model=TI))
    data = HallData.from_settings(r_1w, r_2w, settings, sigma_1w=1e-4, sigma_2w=1e-3 * float(np.ptp(r_2w)), label="ti")
    return hall_loss(data, TI_TRUTH, model=TI, num=NUM), data, settings


def test_hall_loss_of_a_ti_surface_vanishes_at_the_truth_and_not_elsewhere(ti_case):
    ti_loss, data, settings = ti_case
    assert float(ti_loss(TI_TRUTH)) < 1e-18
    # Elsewhere: mean(((prediction - value)/sigma)^2)/2 with the predictions of the forward model there.
    other = {**TI_TRUTH, "hbar_v": 0.303}
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(other, settings, model=TI))
    r = np.concatenate([(r_1w - data.r_1w) / data.sigma_1w, (r_2w - data.r_2w) / data.sigma_2w])
    expected = 0.5 * np.mean(r**2)
    assert expected > 0.1 and float(ti_loss(other)) == pytest.approx(expected, rel=1e-9)
    # Names not given keep the guess's (here the truth's) values.
    assert float(ti_loss({"tau": TI_TRUTH["tau"]})) < 1e-18


def test_hall_loss_gradient_of_a_ti_surface_matches_central_differences(ti_case):
    ti_loss = ti_case[0]
    point = {**TI_TRUTH, "hbar_v": 0.302, "tau": 10.3, "anisotropy_field": 0.051}
    grad = jax.grad(ti_loss)(point)
    assert set(grad) == set(point)
    for name, step in (("hbar_v", 1e-6), ("tau", 1e-5), ("anisotropy_field", 1e-7), ("r_phe", 1e-6)):
        up = float(ti_loss({**point, name: point[name] + step}))
        down = float(ti_loss({**point, name: point[name] - step}))
        assert float(grad[name]) == pytest.approx((up - down) / (2 * step), rel=1e-5), name
    assert abs(float(grad["hbar_v"])) > 1.0  # away from the optimum: the check compares non-trivial numbers


def test_hall_loss_of_another_model_names_the_allowed_parameters(ti_case):
    ti_loss = ti_case[0]
    with pytest.raises(ValueError, match="params names 'alpha'; allowed: hbar_v, j_ex, kinetic, tau"):
        ti_loss({**TI_TRUTH, "alpha": 0.1})
    settings = _settings(*_sweep(3), 0.3)
    data = HallData.from_settings(np.ones(6), np.ones(6), settings)
    with pytest.raises(ValueError, match="guess names 'alpha'"):
        hall_loss(data, {"alpha": 0.1}, model=TI, num=NUM)
    with pytest.raises(ValueError, match="model = 'ti'"):
        hall_loss(data, model="ti")


# ------------------------------------------------------------------------------------------------
# Recovery of a Rashba-Dresselhaus interface (the cost of the TI surface's test: 2 x 12 points, one restart)


RD = jaxsot.RashbaDresselhausFerromagnet(0.06, 0.02, 0.3, [0.0, 0.0, 1.0])  # values other than the truth
RD_TRUTH = {"alpha": 0.05, "beta": 0.02, "tau": 10.0, **HALL}


def test_hall_fit_recovers_the_rashba_dresselhaus_parameters_within_two_standard_errors():
    settings = _settings(*_sweep(12), 1.0)
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(RD_TRUTH, settings, model=RD))
    rng = np.random.default_rng(7)
    s_1w, s_2w = 1e-5, 0.003 * float(np.ptp(r_2w))
    data = HallData.from_settings(r_1w + s_1w * rng.normal(size=r_1w.shape), r_2w + s_2w * rng.normal(size=r_2w.shape),
                                  settings, sigma_1w=s_1w, sigma_2w=s_2w, label="rd")
    # r_ane known, beta fixed at the model's value: alpha and tau are what R_2w of two field magnitudes fixes here.
    free = ("alpha", "tau", "anisotropy_field", "r_phe")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_harmonic_hall(data, model=RD, free=free, guess={"tau": 7.0, "r_ahe": 1.0, "r_ane": HALL["r_ane"]},
                                   num=NUM, restarts=1)
    assert result.settings["electron_model"] == "RashbaDresselhausFerromagnet"
    assert result.reduced_chi2 < 2.0, result.reduced_chi2
    for name in free:
        se = result.standard_errors[name]
        assert math.isfinite(se) and abs(result.parameters[name] - RD_TRUTH[name]) < 2.0 * se, (name, result.parameters[name], se)
    assert result.parameters["beta"] == pytest.approx(0.02) and result.parameters["j_ex"] == pytest.approx(0.3)
    assert result.standard_errors["alpha"] < 0.1 * RD_TRUTH["alpha"]  # determined, not only within a wide error


def test_field_table_fit_recovers_the_rashba_dresselhaus_parameters():
    """B_DL, B_FL at six directions of M from the NumPy reference fields (tests/model_reference.py) plus 1 % noise:
    alpha and tau within 2 SE (the field-table counterpart of the TI surface's test in test_fit_hall_models.py)."""
    spec = importlib.util.spec_from_file_location("model_reference", pathlib.Path(__file__).parents[1] / "model_reference.py")
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    truth = {"alpha": 0.05, "beta": 0.02, "j_ex": 0.3, "mass_ratio": 1.0, "tau": 10.0}
    fermi, efield = 1.0, np.array([RHO0 * CURRENT * 1e-9, 0.0])
    values, sigma = reference.noisy_field_table(reference.rd_hamiltonian, truth, fermi, efield)
    theta, phi = reference.TABLE_THETA, reference.TABLE_PHI
    table = FieldData(columns=("B_DL", "B_FL"), values=values, theta_m=theta, phi_m=phi, fermi_energy=fermi, rho0=RHO0,
                      ms_tesla=1.0, thickness=1.0, current_density=CURRENT, sigma=sigma, label="table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_harmonic_hall(table, model=RD, free=("alpha", "tau"), guess={"tau": 7.0}, num=NUM, restarts=1)
    assert result.settings["electron_model"] == "RashbaDresselhausFerromagnet"
    for name in ("alpha", "tau"):
        se = result.standard_errors[name]
        assert 0.0 < se < 0.1 * truth[name] and abs(result.parameters[name] - truth[name]) < 2.0 * se, (name, result.parameters[name], se)
    assert result.parameters["beta"] == pytest.approx(0.02) and result.parameters["j_ex"] == pytest.approx(0.3)

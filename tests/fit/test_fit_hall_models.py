"""Harmonic Hall and effective-field fits of a non-Rashba model: `fit_harmonic_hall(..., model=TISurfaceFerromagnet)`
and `harmonic_hall_forward(..., model=...)`.

References, NumPy/SciPy only (tests/model_reference.py): the current-induced fields of the TI surface sea from
its spin response (NumPy eigh spins, area integral, finite-difference k derivatives) and the quasi-static
macrospin by scipy minimize in spherical angles, R_2w from the equilibria at +-step of the current. The fits
recover the truth within 2 standard errors, from data of the forward model (Hall) and of the NumPy reference
fields (field table), with the identifiability stated in the model's own names (hbar_v, tau).
"""

import importlib.util
import math
import pathlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import HallSettings
from jaxsot.fit._hall import FieldData, HallData, fit_harmonic_hall

# Slow tier: harmonic Hall fits of other models (compile-heavy).
pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("model_reference", pathlib.Path(__file__).parents[1] / "model_reference.py")
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)

RHO0, CURRENT, FERMI, NUM = 2.0e-7, 1.0e11, 0.3, 32
EFIELD = np.array([RHO0 * CURRENT * 1e-9, 0.0])
TRUTH = {"hbar_v": 0.3, "j_ex": 0.1, "kinetic": 0.05, "tau": 10.0}
MAGNET = dict(anisotropy_field=0.05, easy_axis=(1.0, 0.0, 0.0), demag=(0.0, 0.0, 1.0))
HALL = {"anisotropy_field": 0.05, "r_ahe": 1.0, "r_phe": 0.3, "r_ane": 0.002}
# The model as a user builds it, at values other than the truth: the fit and the forward model replace them.
MODEL = jaxsot.TISurfaceFerromagnet(0.33, 0.1, [0.0, 0.0, 1.0], kinetic=0.05)


def _settings(phi, field, theta=math.pi / 2):
    return HallSettings(phi, field, theta_h=theta, fermi_energy=FERMI, current_density=CURRENT, rho0=RHO0, ms_tesla=1.0,
                        thickness=1.0, easy_axis=MAGNET["easy_axis"], demag=MAGNET["demag"], bands=(-1, 1), num=NUM)


def test_forward_model_matches_a_numpy_scipy_macrospin():
    phi, field, theta = np.array([0.8, 2.6]), np.array([0.1, 0.15]), np.array([math.pi / 2, 1.3])
    settings = _settings(phi, field, theta)
    params = {"hbar_v": TRUTH["hbar_v"], "tau": TRUTH["tau"], **HALL}
    r_1w, r_2w = jaxsot.harmonic_hall_forward(params, settings, model=MODEL)
    y = np.array([0.0, 1.0, 0.0])
    for i in range(len(phi)):
        b_ext = field[i] * np.array([math.sin(theta[i]) * math.cos(phi[i]), math.sin(theta[i]) * math.sin(phi[i]), math.cos(theta[i])])
        start = b_ext / np.linalg.norm(b_ext) + 0.1 * np.asarray(MAGNET["easy_axis"])

        def b_so(m):
            b_fl, b_dl = _reference.current_fields(_reference.ti_hamiltonian, TRUTH, FERMI, m, EFIELD, TRUTH["tau"], 1.0, 1.0)
            return b_fl + b_dl + 0.0 * y

        ref_1w, ref_2w, _ = _reference.harmonic_hall_first_order(b_ext, {**MAGNET, "ms_tesla": 1.0}, b_so, HALL["r_ahe"],
                                                                 HALL["r_phe"], HALL["r_ane"], 0.0, start)
        assert float(r_1w[i]) == pytest.approx(ref_1w, rel=0, abs=1e-10)
        assert float(r_2w[i]) == pytest.approx(ref_2w, rel=1e-6)
        assert abs(ref_2w - HALL["r_ane"] * np.cos(phi[i])) > 1e-3 * abs(ref_2w)  # the torques carry the signal
    # Differentiable in the model's own names; a central difference of the forward model agrees.
    grad = jax.grad(lambda v: jaxsot.harmonic_hall_forward({**params, "hbar_v": v}, settings, model=MODEL)[1][0])(0.3)
    h = 1e-5
    up = jaxsot.harmonic_hall_forward({**params, "hbar_v": 0.3 + h}, settings, model=MODEL)[1][0]
    down = jaxsot.harmonic_hall_forward({**params, "hbar_v": 0.3 - h}, settings, model=MODEL)[1][0]
    assert float(grad) == pytest.approx(float(up - down) / (2 * h), rel=1e-5)
    with pytest.raises(ValueError, match="alpha.*allowed: hbar_v"):
        jaxsot.harmonic_hall_forward({"alpha": 0.1, **params}, settings, model=MODEL)
    with pytest.raises(ValueError, match="strong-exchange.*TISurfaceFerromagnet"):
        strong = HallSettings(phi, field, fermi_energy=FERMI, current_density=CURRENT, rho0=RHO0, ms_tesla=1.0, thickness=1.0,
                              model="strong_exchange")
        jaxsot.harmonic_hall_forward(params, strong, model=MODEL)


def test_hall_fit_recovers_the_ti_surface_parameters_within_two_standard_errors():
    phi = np.tile(np.linspace(0.1, 2 * math.pi + 0.1, 12, endpoint=False), 2)
    settings = _settings(phi, np.repeat([0.1, 0.25], 12))
    truth = {"hbar_v": TRUTH["hbar_v"], "tau": TRUTH["tau"], **HALL}
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(truth, settings, model=MODEL))
    rng = np.random.default_rng(3)
    s_1w, s_2w = 1e-5, 0.003 * float(np.ptp(r_2w))
    data = HallData.from_settings(r_1w + s_1w * rng.normal(size=r_1w.shape), r_2w + s_2w * rng.normal(size=r_2w.shape),
                                  settings, sigma_1w=s_1w, sigma_2w=s_2w, label="ti")
    # r_ane known (an in-plane magnet's thermal term mimics B_DL: tests/fit/test_fit_hall_orders.py frees it).
    free = ("hbar_v", "tau", "anisotropy_field", "r_phe")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_harmonic_hall(data, model=MODEL, free=free, guess={"tau": 7.0, "r_ahe": 1.0, "r_ane": HALL["r_ane"]},
                                   num=NUM, restarts=1)
    assert result.free == free and result.settings["electron_model"] == "TISurfaceFerromagnet"
    assert result.reduced_chi2 < 2.0, result.reduced_chi2
    for name in free:
        se = result.standard_errors[name]
        assert math.isfinite(se) and abs(result.parameters[name] - truth[name]) < 2.0 * se, (name, result.parameters[name], se)
    # Identifiability in the model's own names; the fixed model parameters keep the model's values.
    assert result.analysed == ("hbar_v", "tau") and all(result.identifiable.values())
    assert result.parameters["j_ex"] == pytest.approx(0.1) and result.parameters["kinetic"] == pytest.approx(0.05)
    assert "alpha" not in result.parameters and result.to_dict()["units"]["hbar_v"] == "eV nm"
    assert "hbar_v" in result.summary() and "TISurfaceFerromagnet" in result.settings["derived_at"]
    with pytest.raises(ValueError, match="'alpha'; allowed: hbar_v, j_ex, kinetic, tau"):
        fit_harmonic_hall(data, model=MODEL, free=("alpha",))


def test_field_table_fit_recovers_the_ti_surface_parameters():
    """B_DL, B_FL at six directions of M from the NumPy reference fields plus 1 % noise: hbar_v and tau within 2 SE."""
    values, sigma = _reference.noisy_field_table(_reference.ti_hamiltonian, TRUTH, FERMI, EFIELD)
    theta, phi = _reference.TABLE_THETA, _reference.TABLE_PHI
    table = FieldData(columns=("B_DL", "B_FL"), values=values, theta_m=theta, phi_m=phi, fermi_energy=FERMI, rho0=RHO0,
                      ms_tesla=1.0, thickness=1.0, current_density=CURRENT, sigma=sigma, label="table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_harmonic_hall(table, model=MODEL, free=("hbar_v", "tau"), guess={"tau": 7.0}, num=NUM, restarts=1)
    for name in ("hbar_v", "tau"):
        se = result.standard_errors[name]
        assert math.isfinite(se) and abs(result.parameters[name] - TRUTH[name]) < 2.0 * se, (name, result.parameters[name], se)
    assert result.derived["B_FL per 1e11 A/m^2"]["unit"] == "mT" and "j_ex tau" not in result.derived


def test_cli_fit_of_another_model_kind(tmp_path, capsys):
    """`jaxsot fit --model-kind ti-surface` of harmonic Hall data: the TI surface of the
    configuration defaults (hbar_v 0.33, j_ex 0.05, kinetic 0.05), its names in --free/--guess and results.json."""
    import json

    from jaxsot.cli import main
    from jaxsot.fit._hall_csv import write_hall_csv

    model = jaxsot.TISurfaceFerromagnet(0.33, 0.05, [0.0, 0.0, 1.0], kinetic=0.05)
    phi = np.tile(np.linspace(0.1, 2 * math.pi + 0.1, 8, endpoint=False), 2)
    settings = _settings(phi, np.repeat([0.1, 0.25], 8))
    truth = {"hbar_v": 0.3, "tau": 10.0, **HALL}
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(truth, settings, model=model))
    rng = np.random.default_rng(4)
    s_2w = 0.003 * float(np.ptp(r_2w))
    data = HallData.from_settings(r_1w + 1e-5 * rng.normal(size=16), r_2w + s_2w * rng.normal(size=16), settings,
                                  sigma_1w=1e-5, sigma_2w=s_2w)
    path = tmp_path / "ti.csv"
    write_hall_csv(path, data)
    (tmp_path / "m.toml").write_text('[model]\nkind = "ti-surface"\n')
    assert main(["fit", str(path), "--out", str(tmp_path / "fit"), "--restarts", "1", "--num", str(NUM), "--model-kind",
                 "ti-surface", "--free", "hbar_v,tau,anisotropy_field,r_phe",
                 "--guess", f"tau=7,r_ahe=1,r_ane={HALL['r_ane']}"]) == 0
    assert "TISurfaceFerromagnet (exact bands)" in capsys.readouterr().out
    results = json.loads((tmp_path / "fit" / "results.json").read_text())
    for name in ("hbar_v", "tau", "anisotropy_field", "r_phe"):
        assert abs(results["parameters"][name] - truth[name]) < 2.0 * results["standard_errors"][name], name
    assert results["units"]["hbar_v"] == "eV nm" and results["parameters"]["j_ex"] == pytest.approx(0.05)
    with pytest.raises(SystemExit):
        main(["fit", str(path), "--out", str(tmp_path / "bad"), "--model-kind", "ti-surface", "--free", "alpha"])
    assert "allowed: distinct names from hbar_v, j_ex, kinetic, tau" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a [model] table is not read for Hall data: the kind comes from --model-kind
        main(["fit", str(path), "--out", str(tmp_path / "bad"), "--config", str(tmp_path / "m.toml")])
    assert "allowed: --model-kind KIND --guess" in capsys.readouterr().err


def test_every_order_synthesis_and_fit_of_another_model():
    """synthesize_hall(model=) is `harmonic_hall(ModelTorque, phases=16)` (checked against the time-domain lock-in in
    tests/measure/test_measure_hall_models.py); the every-order fit of those noise-free data returns tau."""
    phi, field = np.array([0.3, 1.7, 3.5, 5.0]), np.array([0.1, 0.15, 0.1, 0.2])
    settings = _settings(phi, field)
    truth = {"hbar_v": TRUTH["hbar_v"], "tau": TRUTH["tau"], **HALL}
    data = jaxsot.fit.synthesize_hall(truth, settings, model=MODEL, sigma=(1e-9, 1e-9), known_noise=True, seed=0)
    magnet = jaxsot.Magnet(1.0, 1.0, 1.0, **MAGNET)
    torque = jaxsot.ModelTorque(jaxsot.TISurfaceFerromagnet(0.3, 0.1, [0.0, 0.0, 1.0], kinetic=0.05), FERMI,
                                jnp.asarray(EFIELD), TRUTH["tau"], num=NUM)
    readout = {k: v for k, v in HALL.items() if k != "anisotropy_field"}  # the magnet carries it
    ref = jaxsot.harmonic_hall(magnet, torque, RHO0, phi, field, m_start=settings.m_start, phases=16, **readout)
    np.testing.assert_allclose(data.r_1w, np.asarray(ref.r_1w), rtol=0, atol=1e-8)
    np.testing.assert_allclose(data.r_2w, np.asarray(ref.r_2w), rtol=0, atol=1e-8 + 1e-6 * np.abs(np.asarray(ref.r_2w)).max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_harmonic_hall(data, model=MODEL, free=("tau",), guess={**HALL, "hbar_v": TRUTH["hbar_v"], "tau": 8.0},
                                   num=NUM, orders="all", restarts=1)
    assert result.parameters["tau"] == pytest.approx(TRUTH["tau"], rel=1e-6)
    with pytest.raises(ValueError, match="params names 'alpha'"):
        jaxsot.fit.synthesize_hall({"alpha": 0.1, **truth}, settings, model=MODEL)

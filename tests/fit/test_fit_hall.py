"""Harmonic Hall fits (jaxsot.fit._hall, _hall_csv, jaxsot.cli._fit_hall): recovery from TIME-DOMAIN synthetic data.

The data come from `lockin_harmonics` (LLG integrated under j0 sin(wt) and demodulated like a lock-in: no
quasi-static expansion, no implicit-function theorem) plus Gaussian noise; the fits use the quasi-static
`harmonic_hall_forward`. References: the known truth, the strong-exchange closed forms of the fields written
out here in SI with scipy brentq band densities (independent of jaxsot), central finite differences of the
loss. Identifiability: in this model B_DL = (hbar/(2 J tau)) M x B_FL, so one Fermi energy fixes J tau but
not J/tau.
"""

import json
import math
import warnings

import jax
import numpy as np
import pytest
from scipy.optimize import brentq

from jaxsot import HallSettings, hall_bands
from jaxsot.fit import IdentifiabilityWarning
from jaxsot.fit._csv import FitDataError
from jaxsot.fit._hall import (
    FieldData,
    HallData,
    fit_harmonic_hall,
    hall_loss,
    synthesize_hall,
)
from jaxsot.fit._hall_csv import hall_csv_kind, read_hall_csv, write_hall_csv

# Slow tier: harmonic Hall fits and their every-order programs (compile-heavy); fit/test_fit.py keeps the fit layer's core in the fast tier.
pytestmark = pytest.mark.slow

E_C, HBAR_SI, MU0, HBAR2_OVER_2ME = 1.602176634e-19, 1.054571817e-34, 1.25663706212e-6, 0.0380998212
RHO0, J0, MS, T_F = 2.0e-7, 1.0e11, 1.0, 1.0
TRUTH = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 3.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}
SAMPLE = dict(current_density=J0, rho0=RHO0, ms_tesla=MS, thickness=T_F)


def strong_fields(alpha, j_ex, fermi_energy, tau, j=J0, mass_ratio=1.0):
    """Strong-exchange (B_FL^s, B_DL^s) [T] at current density j (SI closed forms; n_p from brentq at M || z):
    B_FL = -alpha n_p e rho0 j tau/(M_s t_F hbar), B_DL = -alpha n_p e rho0 j/(2 M_s t_F J)."""
    c = HBAR2_OVER_2ME / mass_ratio
    densities = []
    for s in (-1.0, 1.0):
        g = lambda k, s=s: c * k * k + s * math.sqrt(alpha**2 * k * k + j_ex**2) - fermi_energy
        densities.append(0.0 if g(0.0) >= 0.0 else brentq(g, 0.0, 100.0, xtol=1e-15) ** 2 / (4.0 * math.pi))
    n_p = (densities[0] - densities[1]) * 1e18
    moment = MS / MU0 * T_F * 1e-9
    b_fl = -alpha * E_C * 1e-9 * n_p * E_C * RHO0 * j * tau * 1e-15 / (moment * HBAR_SI)
    b_dl = -alpha * E_C * 1e-9 * n_p * E_C * RHO0 * j / (2.0 * moment * j_ex * E_C)
    return b_fl, b_dl


def efficiency(b, j=J0):
    return 2.0 * E_C / HBAR_SI * MS / MU0 * T_F * 1e-9 * b / j


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    return result, caught


def within(result, name, truth, k=3.0):
    se = result.standard_errors[name]
    assert math.isfinite(se) and se > 0.0, (name, se)
    assert abs(result.parameters[name] - truth) < k * se, (name, result.parameters[name], truth, se)


@pytest.fixture(scope="module")
def sweep():
    """Perpendicular magnet (B_K,eff = 0.5 T), in-plane fields 0.1 and 0.25 T x 24 angles, strong-exchange torque,
    time-domain synthesis; noise 0.5 % of each column's range (sigma given)."""
    phi = np.tile(np.linspace(0.0, 2.0 * math.pi, 24, endpoint=False), 2)
    field = np.repeat([0.1, 0.25], 24)
    settings = HallSettings(phi, field, fermi_energy=1.5, model="strong_exchange", **SAMPLE)
    return synthesize_hall(TRUTH, settings, noise=0.005, seed=3, label="sweep", route="time-domain")


def test_fit_of_time_domain_data_recovers_the_determined_parameters(sweep):
    """J fixed: alpha, tau, B_K, R_AHE, R_PHE all determined and within 3 SE of the truth; the fitted fields and
    efficiencies match the independent closed forms within 3 SE; chi^2 consistent with the noise."""
    result, caught = quiet(fit_harmonic_hall, sweep, free=("alpha", "tau", "anisotropy_field", "r_ahe", "r_phe"),
                           guess={"alpha": 0.04, "tau": 5.0, "j_ex": 1.0}, model="strong_exchange", restarts=2)
    assert not [w for w in caught if issubclass(w.category, IdentifiabilityWarning)]
    for name in result.free:
        assert result.identifiable[name]
        within(result, name, TRUTH[name])
    assert result.standard_errors["alpha"] < 0.05 * TRUTH["alpha"]  # the test has power
    assert 0.6 < result.reduced_chi2 < 1.5 and result.dof == 96 - 5
    b_fl, b_dl = strong_fields(TRUTH["alpha"], TRUTH["j_ex"], 1.5, TRUTH["tau"])
    derived = result.derived
    for name, reference in (("B_FL per 1e11 A/m^2", b_fl * 1e3), ("B_DL per 1e11 A/m^2", b_dl * 1e3),
                            ("xi_FL", efficiency(b_fl)), ("xi_DL", efficiency(b_dl))):
        item = derived[name]
        assert abs(item["value"] - reference) < 3.0 * item["standard_error"], (name, item, reference)
    assert abs(derived["j_ex tau"]["value"] - 3.0) < 3.0 * derived["j_ex tau"]["standard_error"]
    json.dumps(result.to_dict(), allow_nan=False)  # strict JSON
    text = result.summary()
    assert "alpha" in text and "B_DL per 1e11" in text and "reduced chi^2" in text


def test_a_one_percent_si_error_fails_the_low_noise_fit(monkeypatch):
    """The 3-SE comparisons above have a power of a few % (SE(alpha) ~ 2 %): a 1 % error in the SI conversion
    of the effective fields passes them. With 0.02 % noise the fit recovers alpha within 0.2 % (the
    time-domain vs quasi-static difference is ~1e-4), and the planted 1 % error (mu0 in the fields' moment
    per area, `moment_per_area`) moves the fitted alpha by ~1 %: outside."""
    from jaxsot._measure import _fields

    phi = np.tile(np.linspace(0.0, 2.0 * math.pi, 12, endpoint=False), 2)
    settings = HallSettings(phi, np.repeat([0.1, 0.25], 12), fermi_energy=1.5, model="strong_exchange", **SAMPLE)
    data = synthesize_hall(TRUTH, settings, noise=2e-4, seed=5, label="precise")
    options = dict(free=("alpha", "tau", "anisotropy_field", "r_ahe", "r_phe"), guess={"alpha": 0.04, "tau": 5.0, "j_ex": 1.0},
                   model="strong_exchange", restarts=1)
    good, _ = quiet(fit_harmonic_hall, data, **options)
    assert abs(good.parameters["alpha"] / TRUTH["alpha"] - 1) < 2e-3, good.parameters
    b_fl, b_dl = strong_fields(TRUTH["alpha"], TRUTH["j_ex"], 1.5, TRUTH["tau"])
    assert abs(good.derived["B_FL per 1e11 A/m^2"]["value"] / (b_fl * 1e3) - 1) < 2e-3
    monkeypatch.setattr(_fields, "MU0", 1.01 * _fields.MU0)
    jax.clear_caches()  # the forward model is jitted: retrace with the planted constant
    try:
        bad, _ = quiet(fit_harmonic_hall, data, **options)
    finally:
        monkeypatch.undo()
        jax.clear_caches()
    assert abs(bad.parameters["alpha"] / TRUTH["alpha"] - 1) > 5e-3, bad.parameters


def test_identifiability_one_fermi_energy_fixes_j_tau_not_j_over_tau(sweep):
    """alpha, J, tau free: an IdentifiabilityWarning; the undetermined direction is J tau^-1 (equal and opposite
    log exponents), J tau and the fields stay determined and correct."""
    result, caught = quiet(fit_harmonic_hall, sweep, model="strong_exchange", restarts=2,
                           guess={"alpha": 0.04, "j_ex": 1.3, "tau": 5.0})
    messages = [str(w.message) for w in caught if issubclass(w.category, IdentifiabilityWarning)]
    assert len(messages) == 1 and "cannot separate" in messages[0] and "B_DL/B_FL = hbar/(2 J tau)" in messages[0]
    assert not result.identifiable["j_ex"] and not result.identifiable["tau"]
    assert result.identifiable["anisotropy_field"] and result.identifiable["r_ahe"]
    undetermined = [d for d in result.directions if not d["determined"]]
    assert len(undetermined) == 1 and sum(d["determined"] for d in result.directions) == 2
    e = undetermined[0]["exponents"]
    assert abs(e["j_ex"] + e["tau"]) < 0.05 * abs(e["j_ex"]) and abs(e["j_ex"]) >= abs(e["alpha"])
    assert "NOT determined" in result.summary()
    item = result.derived["j_ex tau"]
    assert math.isfinite(item["standard_error"]) and abs(item["value"] - 3.0) < 3.0 * item["standard_error"]
    b_fl, _ = strong_fields(TRUTH["alpha"], TRUTH["j_ex"], 1.5, TRUTH["tau"])
    fl = result.derived["B_FL per 1e11 A/m^2"]
    assert abs(fl["value"] - b_fl * 1e3) < 3.0 * fl["standard_error"]
    for name in ("alpha", "j_ex", "tau"):
        assert not math.isfinite(result.standard_errors[name]) or result.standard_errors[name] > 0.5 * result.parameters[name]


def test_fields_table_at_two_fermi_energies_separates_j_from_tau(sweep):
    """The Hall sweep (E_F = 1.5 eV) together with a table of B_DL, B_FL at E_F = 0.0 and 0.5 eV (lower band only:
    n_p depends on E_F + J) determines alpha, J and tau; each within 3 SE."""
    rng = np.random.default_rng(11)
    tables = []
    for fermi_energy in (0.0, 0.5):
        b_fl, b_dl = strong_fields(TRUTH["alpha"], TRUTH["j_ex"], fermi_energy, TRUTH["tau"])
        values = np.array([[b_dl, b_fl]] * 4)
        sigma = 0.01 * np.abs(values)
        tables.append(FieldData(("B_DL", "B_FL"), values + sigma * rng.normal(size=values.shape), theta_m=[0.0, 0.3, 0.6, 0.9],
                                phi_m=0.4, fermi_energy=fermi_energy, rho0=RHO0, ms_tesla=MS, thickness=T_F, current_density=J0,
                                sigma=sigma, label=f"table {fermi_energy}"))
    result, caught = quiet(fit_harmonic_hall, [sweep] + tables, model="strong_exchange", restarts=2,
                           guess={"alpha": 0.04, "j_ex": 1.2, "tau": 4.0}, bounds={"j_ex": (0.6, 1.4)})
    assert not [w for w in caught if issubclass(w.category, IdentifiabilityWarning)], [str(w.message) for w in caught]
    for name in ("alpha", "j_ex", "tau", "anisotropy_field", "r_ahe"):
        within(result, name, TRUTH[name])
    assert all(d["determined"] for d in result.directions) and result.settings["fermi_energies"] == [1.5, 0.0, 0.5]


def test_exact_band_fit_of_time_domain_data():
    """Exact bands (E_F = 0.5 eV, lower band, alpha k_F/J ~ 0.2), 2 x 6 field points from the time-domain route
    with the exact electron torque (noise 0.5 % of each column's range): alpha, tau and the Hall parameters recovered
    within 3 SE (J known)."""
    phi = np.tile(np.linspace(0.0, 2.0 * math.pi, 6, endpoint=False), 2)
    field = np.repeat([0.1, 0.25], 6)
    truth = TRUTH
    settings = HallSettings(phi, field, fermi_energy=0.5, model="exact", bands=hall_bands(truth, 0.5), num=32, **SAMPLE)
    data = synthesize_hall(truth, settings, noise=0.005, seed=5, route="time-domain")
    free = ("alpha", "tau", "anisotropy_field", "r_ahe", "r_phe")
    result, _ = quiet(fit_harmonic_hall, data, free=free, guess={"alpha": 0.04, "tau": 5.0}, model="exact", num=32, restarts=1)
    for name in free:
        within(result, name, truth[name])
    assert result.settings["bands"] == [[-1]] and result.standard_errors["alpha"] < 0.1 * truth["alpha"], result.standard_errors


def test_loss_gradient_matches_finite_differences(sweep):
    """jax.grad of the fit loss (all 12 parameters, implicit-function derivatives of the equilibrium) vs central
    differences."""
    point = {**TRUTH, "alpha": 0.052, "tau": 2.8, "anisotropy_field": 1.45, "r_ahe": 1.02, "r_phe": 0.29, "r_ane": 1e-4,
             "oersted_field": 1e-4, "r_ohe": 1e-3, "r_1w_offset": 1e-3, "r_2w_offset": 1e-5}
    loss = hall_loss(sweep, point, model="strong_exchange")
    gradient = jax.grad(loss)({k: np.float64(v) for k, v in point.items()})
    for name, value in point.items():
        h = 1e-6 * max(abs(value), 1e-3)
        up, down = ({**point, name: value + s * h} for s in (1.0, -1.0))
        reference = (float(loss(up)) - float(loss(down))) / (2.0 * h)
        assert abs(float(gradient[name]) - reference) <= 1e-5 * abs(reference) + 1e-8, (name, float(gradient[name]), reference)


# ---------------------------------------------------------------------------------------------
# Files

GOOD = """\
# fermi_energy [eV] = 1.5
# j0 [A/m^2] = 1e11
# rho0 [ohm m] = 2e-7
# ms [T] = 1
# thickness [nm] = 1
phi_H [deg],B [T],R_1w [ohm],R_2w [ohm],sigma_R_1w [ohm],sigma_R_2w [ohm]
0,0.1,0.98,0.001,0.01,0.0001
90,0.1,0.98,0.002,0.01,0.0001
180,0.1,0.98,-0.001,0.01,0.0001
270,0.1,0.98,-0.002,0.01,0.0001
"""
TABLE = """\
# fermi_energy [eV] = 0.5
# rho0 [ohm m] = 2e-7
# ms [T] = 1
# thickness [nm] = 1
# j0 [A/m^2] = 1e11
theta_M [deg],phi_M [deg],B_DL [mT],B_FL [mT]
0,0,-0.3,-4
30,0,-0.3,-4
60,0,-0.3,-4
"""
MALFORMED = {
    "missing_column": (GOOD.replace(",R_2w [ohm]", "").replace(",sigma_R_2w [ohm]", "").replace(",0.001,", ",").replace(",0.002,", ",")
                       .replace(",-0.001,", ",").replace(",-0.002,", ",").replace(",0.0001", ""), "column 'R_2w [ohm]' is missing"),
    "bad_unit": (GOOD.replace("B [T]", "B [G]"), "unit [G] of 'B' is not allowed; allowed: [T], [mT]"),
    "nan": (GOOD.replace("90,0.1,0.98", "90,0.1,nan"), "line 8, column 'R_1w': nan is not finite"),
    "too_few_rows": ("".join(GOOD.splitlines(True)[:8]), "2 data rows; allowed: at least 3"),
    "sigma_zero": (GOOD.replace("180,0.1,0.98,-0.001,0.01,0.0001", "180,0.1,0.98,-0.001,0.01,0"), "line 9, column 'sigma_R_2w'"),
    "unknown_setting": ("# temperature [K] = 300\n" + GOOD, "line 1: setting 'temperature' is not allowed"),
    "missing_setting": (GOOD.replace("# rho0 [ohm m] = 2e-7\n", ""), "setting 'rho0' is missing"),
    "ragged": (GOOD.replace("90,0.1,0.98,0.002,0.01,0.0001", "90,0.1,0.98"), "line 8: 3 cells; allowed: 6"),
    "text_cell": (GOOD.replace("270,0.1", "270,abc"), "line 10, column 'B': 'abc' is not a number"),
    "no_unit": (GOOD.replace("B [T]", "B"), "header cell 'B' is not 'name [unit]'"),
    "one_sigma": (GOOD.replace(",sigma_R_2w [ohm]", "").replace(",0.0001", ""), "column 'sigma_R_2w' is missing"),
    "bad_branch": ("# branch [1] = 2\n" + GOOD, "branch"),
    "out_of_range": (GOOD.replace("# ms [T] = 1", "# ms [T] = 50"), "line 4, column 'ms': 50 [T] is out of range"),
    "m_along_y": (TABLE.replace("60,0,", "90,90,"), "line 9: M = +-y"),
    "table_no_current": (TABLE.replace("# j0 [A/m^2] = 1e11\n", ""), "the current density is missing"),
    "empty": ("# only a comment\n", "no header row"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_give_one_clear_line(tmp_path, case):
    text, fragment = MALFORMED[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text)
    with pytest.raises(FitDataError) as error:
        read_hall_csv(path)
    message = str(error.value)
    assert "\n" not in message and f"{case}.csv" in message and fragment in message, message


def test_files_round_trip_and_byte_order_mark(tmp_path, sweep):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("# thickness [nm] = 1", "# thickness [nm] = 1\n# easy_axis [1] = -x").encode())
    data = read_hall_csv(tmp_path / "bom.csv")
    assert isinstance(data, HallData) and data.sigma_known and data.easy_axis == (-1.0, 0.0, 0.0)
    np.testing.assert_allclose(data.phi_h, np.radians([0.0, 90.0, 180.0, 270.0]))
    assert hall_csv_kind(tmp_path / "bom.csv") == "hall"
    write_hall_csv(tmp_path / "sweep.csv", sweep, comments=["truth: alpha = 0.05"])
    back = read_hall_csv(tmp_path / "sweep.csv")
    for name in ("phi_h", "field", "theta_h", "r_1w", "r_2w", "sigma_1w", "sigma_2w"):
        np.testing.assert_allclose(getattr(back, name), getattr(sweep, name), rtol=1e-9, atol=1e-12)
    assert back.current_density == J0 and back.label == "sweep.csv"
    (tmp_path / "table.csv").write_text(TABLE)
    table = read_hall_csv(tmp_path / "table.csv", fermi_energy=0.25)
    assert isinstance(table, FieldData) and table.fermi_energy == 0.25 and hall_csv_kind(tmp_path / "table.csv") == "fields"
    np.testing.assert_allclose(table.values[0], [-0.3e-3, -4e-3])
    write_hall_csv(tmp_path / "table2.csv", table)
    np.testing.assert_allclose(read_hall_csv(tmp_path / "table2.csv").values, table.values)
    assert hall_csv_kind(tmp_path / "missing.csv") is None


def test_cli_synth_and_fit(tmp_path, capsys):
    """run_synth_hall / run_fit_hall (the functions `jaxsot synth --kind harmonic-hall` and `jaxsot fit` call)."""
    from jaxsot.cli import _fit_hall
    from jaxsot.cli._main import parser

    top = parser()
    commands = next(a for a in top._actions if hasattr(a, "choices") and isinstance(a.choices, dict) and "fit" in a.choices).choices
    if "--anisotropy-field" not in commands["synth"]._option_string_actions:
        _fit_hall.register_options(commands["fit"], commands["synth"])
    assert "R_2w [ohm|mohm]" in commands["fit"].format_help()
    out = tmp_path / "data.csv"
    args = top.parse_args(["synth", str(out), "--model", "strong_exchange", "--tau", "3", "--noise", "0.005", "--seed", "3"])
    assert _fit_hall.run_synth_hall(args) == 0
    assert "truth: alpha = 0.05" in out.read_text() and hall_csv_kind(out) == "hall"
    args = top.parse_args(["fit", str(out), "--model", "strong_exchange", "--out", str(tmp_path / "fit"), "--restarts", "2",
                           "--free", "alpha,tau,anisotropy_field,r_ahe,r_phe", "--guess", "alpha=0.04,tau=5"])
    args.optimizer = None  # the Hall fit's own default (Levenberg-Marquardt) once cli/fit.py passes None
    assert _fit_hall.run_fit_hall(args) == 0
    printed = capsys.readouterr().out
    assert "reduced chi^2" in printed and "B_FL per 1e11" in printed
    results = json.loads((tmp_path / "fit" / "results.json").read_text())
    for name in ("alpha", "tau", "anisotropy_field", "r_ahe", "r_phe"):
        assert abs(results["parameters"][name] - TRUTH[name]) < 4.0 * results["standard_errors"][name], name
    rows = (tmp_path / "fit" / "fit.csv").read_text().splitlines()
    assert len(rows) == 1 + 48 * 2 and rows[0].startswith("data,row,column")
    assert (tmp_path / "fit" / "fit.png").stat().st_size > 10_000 and (tmp_path / "fit" / "trace.csv").exists()


def test_bad_arguments_name_the_problem(sweep):
    with pytest.raises(ValueError, match="free names 'bogus'"):
        fit_harmonic_hall(sweep, free=("alpha", "bogus"))
    with pytest.raises(ValueError, match=r"bounds\['tau'\] = \(5, 9\) fs do not contain the guess 3"):
        fit_harmonic_hall(sweep, guess={"tau": 3.0}, bounds={"tau": (5.0, 9.0)}, model="strong_exchange")
    table = FieldData("xi_FL", np.ones(3), theta_m=0.0, fermi_energy=1.5, rho0=RHO0, ms_tesla=MS, thickness=T_F)
    with pytest.raises(ValueError, match="no data set depends"):
        fit_harmonic_hall(table, free=("alpha", "r_ahe"))
    with pytest.raises(ValueError, match="sigma_1w and sigma_2w"):
        HallData(phi_h=[0, 1, 2], field=0.1, r_1w=[1, 1, 1], r_2w=[0, 0, 0], sigma_1w=0.1, fermi_energy=1.5, **SAMPLE)


def test_traced_parameters_are_refused_by_name(sweep):
    # Both check values on the host (bands, the parameter box): a transformation gets one line naming the
    # traced input and hall_loss, the traceable loss (not a bare TracerArrayConversionError).
    settings = HallSettings(np.array([0.0, 1.0, 2.0]), np.full(3, 0.1), fermi_energy=1.5, model="strong_exchange", **SAMPLE)
    calls = {
        ("params", "synthesize_hall"): lambda v: synthesize_hall({**TRUTH, "alpha": v}, settings).r_2w,
        ("guess", "fit_harmonic_hall"): lambda v: fit_harmonic_hall(sweep, guess={"alpha": v}, model="strong_exchange").parameters["alpha"],
    }
    for (label, function), call in calls.items():
        with pytest.raises(ValueError, match=rf"^{label}\['alpha'\] is traced \(inside jax.jit, jax.grad or jax.vmap\); {function} checks") as info:
            jax.jacfwd(call)(0.05)
        assert str(info.value).splitlines()[0].endswith("same forward model: jaxsot.fit.hall_loss)")

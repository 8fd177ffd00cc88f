"""Fits of ST-FMR spectra (jaxsot.fit._stfmr): recovery within the reported errors, identifiability, and the
ratio analysis of xi_DL against the strong-exchange closed forms of conftest.py (xi = (2e/hbar) M_s t_F B/j)."""

import math
import re
import warnings

import jax
import numpy as np
import pytest

from jaxsot import HallSettings
from jaxsot._measure._stfmr import GAMMA, st_fmr_spectrum
from jaxsot.fit._stfmr import fit_st_fmr, st_fmr_ratio_efficiency

# Slow tier: ST-FMR fits (compile-heavy).
pytestmark = pytest.mark.slow

TRUTH = {"alpha": 0.02, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0, "anisotropy_field": 0.0, "oersted_field": 2e-4,
         "gilbert": 0.01, "r_amr": 0.5}
FREQ, J_RF, CURRENT = 1e10, 1e10, 1e-3
B_RES = (-1.0 + math.sqrt(1.0 + 4.0 * (2 * math.pi * FREQ * 1e-15 / GAMMA) ** 2)) / 2.0


@pytest.fixture(scope="module")
def spectrum():
    field = np.linspace(B_RES - 0.03, B_RES + 0.03, 60)
    settings = HallSettings(math.pi / 4, field, fermi_energy=1.5, current_density=J_RF, rho0=2e-7, ms_tesla=1.0, thickness=1.0,
                            model="strong_exchange", easy_axis=(1.0, 0.0, 0.0))
    hall = {n: TRUTH[n] for n in ("alpha", "j_ex", "mass_ratio", "tau", "anisotropy_field", "oersted_field")}
    clean = np.asarray(st_fmr_spectrum(hall, settings, frequency=FREQ, gilbert=TRUTH["gilbert"], r_amr=TRUTH["r_amr"],
                                       current=CURRENT).v_mix)
    sigma = 1e-3 * np.max(np.abs(clean))
    noisy = clean + sigma * np.random.default_rng(0).normal(size=clean.shape)
    return field, noisy, sigma, settings


def test_fit_recovers_alpha_tau_damping_and_flags_oersted(spectrum):
    field, v, sigma, settings = spectrum
    guess = {**TRUTH, "alpha": 0.03, "tau": 7.0, "gilbert": 0.012}
    result = fit_st_fmr(field, v, settings, frequency=FREQ, current=CURRENT, guess=guess, free=("alpha", "tau", "gilbert"), sigma=sigma)
    assert 0.5 < result["reduced_chi2"] < 1.6
    for name in ("alpha", "tau", "gilbert"):
        assert result["identifiable"][name]
        assert abs(result["parameters"][name] - TRUTH[name]) < 3.0 * result["standard_errors"][name], name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = fit_st_fmr(field, v, settings, frequency=FREQ, current=CURRENT, guess={**TRUTH, "oersted_field": 1e-3},
                          free=("tau", "oersted_field"), sigma=sigma)
    assert not both["identifiable"]["tau"] and not both["identifiable"]["oersted_field"]



def test_traced_inputs_are_refused_by_name(spectrum):
    # A host least-squares fit: under a transformation one line naming the traced input, not a tracer-conversion error.
    field, v, sigma, settings = spectrum
    guess = {**TRUTH, "alpha": 0.03}
    calls = {"guess['alpha']": lambda a: fit_st_fmr(field, v, settings, frequency=FREQ, current=CURRENT, guess={**guess, "alpha": a}),
             "v_mix": lambda a: fit_st_fmr(field, a * v, settings, frequency=FREQ, current=CURRENT, guess=guess)}
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"^{re.escape(name)} is traced \(inside jax.jit, jax.grad or jax.vmap\); fit_st_fmr checks"):
            jax.jacfwd(lambda a: call(a)["parameters"]["alpha"])(0.03 if name != "v_mix" else 1.0)

def test_ratio_analysis_gives_xi_dl_only_when_the_in_plane_field_is_oersted(spectrum, si):
    field, v, _, _ = spectrum
    b_fl, b_dl = si.strong_fields_si(0.02, 1.0, 1.5, 10.0, J_RF, 2e-7, 1.0, 1.0)
    xi_dl = 2 * si.E_C / si.HBAR_SI * (1.0 / si.MU0) * 1e-9 * b_dl / J_RF
    out = st_fmr_ratio_efficiency(field, v, m_eff=1.0, oersted_field=TRUTH["oersted_field"], current_density=J_RF, ms_tesla=1.0,
                                  thickness=1.0)
    # The in-plane drive is B_FL + B_Oe, not B_Oe: the ratio analysis overestimates xi_DL by that factor.
    assert out["ratio"] == pytest.approx(b_dl / (b_fl + TRUTH["oersted_field"]), rel=5e-3)
    assert out["xi_DL"] * (b_fl + TRUTH["oersted_field"]) / TRUTH["oersted_field"] == pytest.approx(xi_dl, rel=5e-3)


def test_cli_synth_st_fmr(tmp_path, si):
    """`jaxsot synth --kind st-fmr` (in-process): the written spectrum resonates at the Kittel field and its
    Lorentzian ratio gives B_DL/(B_FL + B_Oe) of the strong-exchange closed forms."""
    from jaxsot.cli import _fit_hall
    from jaxsot.cli._main import parser
    from jaxsot.cli.fit import main
    from jaxsot.fit._stfmr import st_fmr_ratio_efficiency

    top = parser()
    commands = next(a for a in top._actions if hasattr(a, "choices") and isinstance(a.choices, dict) and "fit" in a.choices).choices
    if "--rf-frequency" not in commands["synth"]._option_string_actions:
        _fit_hall.register_options(commands["fit"], commands["synth"])
    out = tmp_path / "fmr.csv"
    args = top.parse_args(["synth", str(out), "--kind", "st-fmr", "--model", "strong_exchange", "--alpha", "0.02", "--noise", "0",
                           "--oersted-field", "2e-4", "--current-density", "1e10", "--points", "120"])
    assert main(args) == 0
    rows = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert rows[0] == "B [T],V_mix [V],sigma_V_mix [V]" or rows[0] == "B [T],V_mix [V]"
    table = np.array([[float(c) for c in line.split(",")[:2]] for line in rows[1:]])
    b_fl, b_dl = si.strong_fields_si(0.02, 1.0, 1.5, 10.0, 1e10, 2e-7, 1.0, 1.0)
    result = st_fmr_ratio_efficiency(table[:, 0], table[:, 1], m_eff=1.0, oersted_field=2e-4, current_density=1e10, ms_tesla=1.0,
                                     thickness=1.0)
    assert result["lorentzian"]["B_r"] == pytest.approx(B_RES, rel=1e-5)
    assert result["ratio"] == pytest.approx(b_dl / (b_fl + 2e-4), rel=5e-3)
    # `jaxsot fit` on the spectrum (noisy this time): alpha, tau, gilbert within 3 SE of the truth.
    import json

    # The same path again: synth replaces an existing data file only with --force.
    args = top.parse_args(["synth", str(out), "--force", "--kind", "st-fmr", "--model", "strong_exchange", "--alpha", "0.02",
                           "--noise", "0.002", "--oersted-field", "2e-4", "--current-density", "1e10", "--points", "120"])
    assert main(args) == 0
    args = top.parse_args(["fit", str(out), "--model", "strong_exchange", "--guess", "alpha=0.03,tau=7,oersted_field=2e-4",
                           "--out", str(tmp_path / "fit")])
    assert main(args) == 0
    saved = json.loads((tmp_path / "fit" / "results.json").read_text())
    for name, truth in (("alpha", 0.02), ("tau", 10.0), ("gilbert", 0.01)):
        assert abs(saved["parameters"][name] - truth) < 3.0 * saved["standard_errors"][name], name


FMR_HEAD = "# frequency [GHz] = 10\n# phi_H [deg] = 45\n# j_rf [A/m^2] = 1e10\n# current_peak [A] = 1e-3\n# fermi_energy [eV] = 1.5\n" \
           "# rho0 [ohm m] = 2e-7\n# ms [T] = 1\n# thickness [nm] = 1\n"
FMR_ROWS = "B [T],V_mix [uV]\n" + "\n".join(f"{0.1 + 0.001 * i:.3f},{i - 5:.1f}" for i in range(10)) + "\n"
BAD_FMR = {
    "unknown_setting": ("# temperature [K] = 300\n" + FMR_HEAD + FMR_ROWS, "line 1: setting 'temperature' is not allowed"),
    "missing_setting": (FMR_HEAD.replace("# ms [T] = 1\n", "") + FMR_ROWS, "setting 'ms' is missing"),
    "text_cell": (FMR_HEAD + FMR_ROWS.replace("0.103,-2.0", "0.103,abc"), "line 13, column 'V_mix': 'abc' is not a number"),
    "bad_unit": (FMR_HEAD + FMR_ROWS.replace("V_mix [uV]", "V_mix [ohm]"), "unit [ohm] of 'V_mix'"),
}


@pytest.mark.parametrize("case", sorted(BAD_FMR))
def test_bad_st_fmr_files_give_one_clear_line(tmp_path, case):
    from jaxsot.fit import FitDataError, read_st_fmr_csv

    text, fragment = BAD_FMR[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text)
    with pytest.raises(FitDataError) as error:
        read_st_fmr_csv(path)
    message = str(error.value)
    assert "\n" not in message and f"{case}.csv" in message and fragment in message, message
    good = tmp_path / "good.csv"
    good.write_text(FMR_HEAD + FMR_ROWS)
    data = read_st_fmr_csv(good)
    assert data["settings"]["frequency"] == 1e10 and data["v_mix"][0] == pytest.approx(-5e-6)

"""`jaxsot fit` and `jaxsot synth` called in-process (the subprocess smoke test is in test_smoke.py)."""

import json

import pytest

import jaxsot.fit as jf
from jaxsot.cli import main

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "tau": 10.0}


@pytest.mark.slow  # a full fit compiled
def test_cli_synth_then_fit_end_to_end(tmp_path, run_cli):
    """Two synthetic files (AMR + torques vs angle in SI units; a transient without sigma), fitted together."""
    common = ["--fermi-energy", "0.5", "--noise", "0.02", "--model", "strong_exchange"]
    for args in (["synth", "data.csv", "--points", "60", "--seed", "4", "--units", "si", *common],
                 ["synth", "transient.csv", "--kind", "transient", "--points", "30", "--seed", "5", "--unknown-noise", *common]):
        completed = run_cli(*args, cwd=tmp_path)
        assert completed.returncode == 0, completed.stderr
    assert "sigma_" not in (tmp_path / "transient.csv").read_text() and "t [fs]" in (tmp_path / "transient.csv").read_text()
    completed = run_cli("fit", "data.csv", "transient.csv", "--model", "strong_exchange", "--out", "out", "--restarts", "2",
                        "--bounds", "alpha=0.02:0.1,j_ex=0.6:2,tau=2:50", "--guess", "alpha=0.04,j_ex=1.2,tau=8", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "E_F = 0.5 eV (data file)" in completed.stdout and "reduced chi^2" in completed.stdout
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    for name in ("alpha", "j_ex", "tau"):
        assert abs(results["parameters"][name] - TRUTH[name]) < 4 * results["standard_errors"][name]
        assert f"{name} " in completed.stdout
    assert results["units"]["alpha"] == "eV nm" and results["settings"]["bands"] == [-1]
    assert set(results["noise"]) == {"data.csv", "transient.csv"} and not results["noise_known"]
    rows = (tmp_path / "out" / "fit.csv").read_text().splitlines()
    assert len(rows) == 1 + 60 * 4 + 30 * 2 and rows[0].startswith("curve,row,column")
    assert (tmp_path / "out" / "fit.png").stat().st_size > 10_000
    trace = (tmp_path / "out" / "trace.csv").read_text().splitlines()
    assert trace[0] == "iteration,restart_0,restart_1,refit_with_estimated_noise"


MALFORMED = {
    "missing_column.csv": ("rho_ratio [1]\n1.0\n1.01\n1.02\n", "column 'phi_M [deg]' is missing"),
    "wrong_unit.csv": ("phi_M [deg],E [V/m],T_DL_y [N m]\n0,1e5,1\n1,1e5,2\n2,1e5,3\n", "unit [N m] of 'T_DL_y' is not allowed"),
    "nan_row.csv": ("phi_M [deg],rho_ratio [1]\n0,1.0\n10,nan\n20,1.0\n", "line 3, column 'rho_ratio [1]': nan is not finite"),
    "too_few.csv": ("phi_M [deg],rho_ratio [1]\n0,1.0\n10,1.01\n", "2 data rows; allowed: at least 3"),
}
MALFORMED_IN_PROCESS = {
    "no_unit.csv": ("phi_M,rho_ratio [1]\n0,1.0\n10,1.01\n20,1.0\n", "header cell 'phi_M' is not 'name [unit]'"),
    "ragged.csv": ("phi_M [deg],rho_ratio [1]\n0,1.0\n10\n20,1.0\n", "line 3: 1 cells; allowed: 2"),
    "no_field.csv": ("phi_M [deg],T_DL_y [1/(nm^2 fs)]\n0,1\n1,2\n2,3\n", "column 'E [V/m]' is missing"),
    "text_cell.csv": ("phi_M [deg],rho_ratio [1]\n0,1.0\n10,abc\n20,1.0\n", "'abc' is not a number"),
    "unknown_column.csv": ("phi_M [deg],rho [1]\n0,1.0\n10,1.0\n20,1.0\n", "column 'rho' is not allowed"),
    "bad_sigma.csv": ("phi_M [deg],rho_ratio [1],sigma [1]\n0,1.0,0.1\n10,1.0,0\n20,1.0,0.1\n", "line 3: a sigma is <= 0"),
    "transient_amr.csv": ("phi_M [deg],t [fs],rho_ratio [1]\n0,0,1.0\n0,1,1.0\n0,2,1.0\n", "transients of torque columns only"),
    "empty.csv": ("# only a comment\n", "no header row"),
}


def test_cli_malformed_files_exit_2_with_one_line(tmp_path, run_cli):
    for name, (text, _) in MALFORMED.items():
        (tmp_path / name).write_text(text)
        completed = run_cli("fit", name, "--out", "out", cwd=tmp_path)
        assert completed.returncode == 2, (name, completed.stderr)
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jaxsot: error: ") and name in lines[0], (name, completed.stderr)
        assert MALFORMED[name][1] in lines[0], (name, lines[0])
    assert not (tmp_path / "out").exists()  # nothing written for bad input


def test_malformed_files_raise_one_line_errors(tmp_path, capsys):
    for name, (text, words) in MALFORMED_IN_PROCESS.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(jf.FitDataError, match=None) as error:
            jf.read_csv(tmp_path / name)
        message = str(error.value)
        assert "\n" not in message and name in message and words in message, (name, message)
    # The CLI turns them into exit status 2 with that line (same code path as the subprocess test).
    with pytest.raises(SystemExit) as stop:
        main(["fit", str(tmp_path / "ragged.csv"), "--out", str(tmp_path / "out")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().endswith("line 3: 1 cells; allowed: 2, one per header column")


def test_fit_help_documents_the_csv_format(tmp_path, run_cli):
    completed = run_cli("fit", "--help", cwd=tmp_path)
    assert completed.returncode == 0
    for words in ("phi_M [deg|rad]", "rho_ratio [1]", "1/(m^2 s)", "sigma_<observable>", "fermi_energy [eV]"):
        assert words in completed.stdout


def test_fit_parameters_table_names_each_kinds_parameters():
    import jaxsot
    from jaxsot.cli._model_config import FIT_PARAMETERS, KIND_SCHEMAS, build_model, parse_model_table

    for kind, entries in FIT_PARAMETERS.items():
        options = parse_model_table("model", {} if kind == "rashba" else {"kind": kind})
        model = build_model(options, None)
        names = tuple(name for name, _ in entries)
        assert names == jaxsot.parameter_names(model) + ("tau",), kind
    assert set(FIT_PARAMETERS) == {"rashba"} | (set(KIND_SCHEMAS) - {"tight-binding"})


@pytest.mark.slow  # another model's torques compiled
def test_synth_model_kind_writes_the_models_torques(tmp_path, capsys):
    import numpy as np

    import jaxsot

    out = tmp_path / "rd.csv"
    assert main(["synth", str(out), "--model-kind", "rashba-dresselhaus", "--columns", "T_DL_y", "--points", "4",
                 "--noise", "0", "--theta-deg", "60"]) == 0
    curve, _ = jf.read_csv(str(out))
    model = jaxsot.RashbaDresselhausFerromagnet(0.05, 0.02, 1.0, np.array([0.0, 0.0, 1.0]), 1.0)
    expected = np.asarray(jf.predict(curve, {"tau": 10.0}, 1.5, model=model))
    rashba = np.asarray(jf.predict(curve, {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}, 1.5))
    assert np.allclose(np.asarray(curve.values), expected, rtol=1e-7, atol=0.0)
    assert not np.allclose(expected, rashba, rtol=1e-3)
    with pytest.raises(SystemExit):
        main(["synth", str(tmp_path / "x.csv"), "--model-kind", "ti-surface", "--model", "strong_exchange"])
    assert "closed form of the Rashba ferromagnet; [model] kind 'ti-surface' (--model-kind ti-surface) has none" in capsys.readouterr().err


@pytest.mark.slow  # a fit compiled
def test_paper_unit_fit_says_when_each_compilation_ends(tmp_path, capsys):
    """The compilations are announced and closed by lines of their own (no silent wait after "compiling ...")."""
    data = tmp_path / "d.csv"
    assert main(["synth", str(data), "--points", "8", "--model", "strong_exchange"]) == 0
    assert main(["fit", str(data), "--out", str(tmp_path / "o"), "--model", "strong_exchange", "--restarts", "1",
                 "--max-steps", "30", "--report-every", "0", "--no-plot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    starts = ("  compiling the forward model, its gradient and the optimizer ...",
              "  compiled the forward model, its gradient and the optimizer in ",
              "  compiling the Jacobian of the standard errors ...", "  compiled the Jacobian in ")
    where = [next(i for i, line in enumerate(lines) if line.startswith(start)) for start in starts]
    assert where == sorted(where) and len(set(where)) == 4
    assert lines[where[1]].endswith(" s; optimizing") and lines[where[3]].endswith(" s")
    report = next(i for i, line in enumerate(lines) if "reduced chi^2" in line)
    assert where[3] < report

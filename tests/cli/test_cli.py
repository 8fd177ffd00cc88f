"""End-to-end tests of `jaxsot run` and the CLI error paths, called in-process (temp dirs; the
subprocess smoke tests of every command are in test_smoke.py)."""

import csv
import json
import math

import numpy as np
import pytest

SMALL = """\
[model]
alpha_eV_nm = 0.05
j_ex_eV = 1.0
theta_deg = 60.0
phi_deg = 30.0

[ensemble]
fermi_energy_eV = 1.5
num_phi = 16
num_r = 4

[drive]
kind = "{kind}"
efield_V_per_m = 1.0e5

[relaxation]
tau_fs = {tau}

[time]
t_end_fs = 10.0
num_steps = 6
"""
# 16 x 4 nodes per band and 6 steps: the shape of the in-process runs of fuzz/test_fuzz_runs.py (one compilation).




@pytest.fixture(scope="module")
def default_run(tmp_path_factory, run_cli):
    folder = tmp_path_factory.mktemp("default")
    completed = run_cli("run", "--out", str(folder / "out"), cwd=folder)
    return completed, folder / "out"


def test_default_run_writes_every_output(default_run):
    completed, out = default_run
    assert completed.returncode == 0, completed.stderr
    for name in ("config.toml", "results.json", "timeseries.csv", "torques.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "torques.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "damping_torque" in completed.stdout and "strong" in completed.stdout


def test_default_results_have_units_config_and_finite_numbers(default_run, ref):
    _, out = default_run
    results = json.loads((out / "results.json").read_text())
    assert results["precision"] == "float64"
    assert results["config"]["model"]["alpha_eV_nm"] == 0.05
    assert results["config"]["relaxation"]["tau_fs"] == 10.0
    assert results["units"]["damping_torque"] == "1/(nm^2 fs)"
    assert results["units"]["time"] == "fs"
    rows = {row["observable"]: row for row in results["summary"]}
    damping = rows["damping_torque"]
    assert all(math.isfinite(x) for x in damping["exact_at_peak"])
    # A step field: the damping-like torque peaks when the field switches on.
    assert damping["t_peak_fs"] == 0.0
    # Independent NumPy route (conftest: brentq contours, closed-form spins; sea densities by brentq):
    # at t = 0 the sea is unshifted, T2 = -dS/dt with k' = qE/hbar; the strong-exchange form is
    # n_p (e alpha/(hbar J)) M x (M x (E x z)) with the densities of the sea at this M.
    case = ref.make_case("default", 0.05, 1.0, ref.angles_to_vector(math.radians(60.0), math.radians(30.0)))
    efield = np.array([1e-4, 0.0])
    exact = -ref.contour_spin_flux(case, 1.5, ref.CHARGE * efield / ref.HBAR)
    n_p = ref.sea_density(case, 1.5, -1) - ref.sea_density(case, 1.5, 1)
    strong = n_p * 0.05 / ref.HBAR * np.cross(case.m, np.cross(case.m, [efield[1], -efield[0], 0.0]))
    np.testing.assert_allclose(damping["exact_at_peak"], exact, rtol=1e-7)  # measured 1e-9
    np.testing.assert_allclose(damping["strong_exchange_at_peak"], strong, rtol=1e-7)
    # The relative error is the same at every time (both torques follow k'(t)): 0.0875 at alpha k_F/J ~ 0.4.
    assert damping["strong_exchange_relative_error"] == pytest.approx(np.linalg.norm(strong - exact) / np.linalg.norm(exact), rel=1e-6)
    # Paper eq. 12 keeps the exact splitting and drops alpha k inside u: better than strong exchange, but
    # of the same order (measured 0.0775 against 0.0875).
    assert 0.5 * damping["strong_exchange_relative_error"] < damping["second_order_relative_error"] < damping["strong_exchange_relative_error"]
    assert results["notes"] == []


def test_timeseries_header_has_units_and_rows_match_steps(default_run):
    _, out = default_run
    with open(out / "timeseries.csv") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    assert header[0] == "t [fs]"
    assert "damping_torque_exact_x [1/(nm^2 fs)]" in header
    assert "current_density_exact_SI_x [A/m]" in header and "current_density_exact_x [e/(fs nm)]" in header
    assert len(rows) == 241
    assert float(rows[-1][0]) == pytest.approx(60.0)


def test_written_config_round_trips(default_run, tmp_path, run_cli):
    _, out = default_run
    completed = run_cli("run", str(out / "config.toml"), "--out", str(tmp_path / "again"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    first = json.loads((out / "results.json").read_text())["summary"]
    second = json.loads((tmp_path / "again" / "results.json").read_text())["summary"]
    assert first == second


@pytest.mark.slow  # another compiled selection
def test_output_selection_writes_only_what_is_asked_with_the_full_runs_values(tmp_path, run_cli):
    config = tmp_path / "small.toml"
    config.write_text(SMALL.format(kind="step", tau="10.0"))
    full = run_cli("run", str(config), "--out", str(tmp_path / "full"), cwd=tmp_path)
    config.write_text(SMALL.format(kind="step", tau="10.0") + '\n[output]\nobservables = ["damping_torque"]\napproximations = ["exact", "second_order"]\n')
    part = run_cli("run", str(config), "--out", str(tmp_path / "part"), cwd=tmp_path)
    assert full.returncode == 0 and part.returncode == 0, part.stderr
    rows = {which: {r["observable"]: r for r in json.loads((tmp_path / which / "results.json").read_text())["summary"]} for which in ("full", "part")}
    assert list(rows["part"]) == ["damping_torque"]
    assert set(rows["part"]["damping_torque"]) == {"observable", "unit", "t_peak_fs", "exact_at_peak", "second_order_at_peak", "second_order_relative_error"}
    for key in ("exact_at_peak", "second_order_at_peak"):
        np.testing.assert_allclose(rows["part"]["damping_torque"][key], rows["full"]["damping_torque"][key], rtol=1e-12, atol=0)
    header = (tmp_path / "part" / "timeseries.csv").read_text().splitlines()[0]
    assert "damping_torque_second_order" in header and "strong_exchange" not in header and "current_density" not in header
    results = json.loads((tmp_path / "part" / "results.json").read_text())
    assert results["route"] == "rays" and results["config"]["output"]["observables"] == ["damping_torque"]


@pytest.mark.slow  # a float32 copy of the run compiled
def test_float32_run_agrees_with_float64(tmp_path, run_cli):
    config = tmp_path / "small.toml"
    config.write_text(SMALL.format(kind="ramp", tau="10.0"))
    summaries = {}
    for precision in ("float64", "float32"):
        completed = run_cli("run", str(config), "--out", str(tmp_path / precision), "--precision", precision, cwd=tmp_path)
        assert completed.returncode == 0, completed.stderr
        summaries[precision] = {
            row["observable"]: row for row in json.loads((tmp_path / precision / "results.json").read_text())["summary"]
        }
    for name in ("damping_torque", "field_like_torque", "spin_force_density", "current_density"):
        exact64 = summaries["float64"][name]["exact_at_peak"]
        exact32 = summaries["float32"][name]["exact_at_peak"]
        scale = max(abs(x) for x in exact64)
        assert max(abs(a - b) for a, b in zip(exact32, exact64)) < 1e-4 * scale, name


@pytest.mark.parametrize("kind,tau", [("sinusoid", "inf"), ("step", "5.0")])
def test_drive_kinds_and_no_relaxation_run(tmp_path, kind, tau, run_cli):
    config = tmp_path / "c.toml"
    config.write_text(SMALL.format(kind=kind, tau=tau))
    completed = run_cli("run", str(config), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["config"]["drive"]["kind"] == kind
    assert results["config"]["relaxation"]["tau_fs"] == ("inf" if tau == "inf" else float(tau))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("[model]\nalhpa = 1\n", ["[model]", "alhpa", "allowed"]),
        ("[drive]\nefield_V_per_m = -3.0\n", ["efield_V_per_m", "-3.0", "allowed"]),
        ("[time]\nnum_steps = 'many'\n", ["num_steps", "'many'", "integer"]),
        ("[model]\nmass_ratio = 0\n", ["mass_ratio", "allowed: [0.001"]),
        ("[drive]\nkind = 'square'\n", ["kind", "'square'", "'step'"]),
        ("[plots]\nx = 1\n", ["[plots]", "allowed"]),
        ("[model\n", ["not valid TOML"]),
        ("[model]\nj_ex_eV = 0.05\nalpha_eV_nm = 0.3\n[ensemble]\nfermi_energy_eV = -0.06\n", ["fermi_energy", "k = 0"]),
        ("[relaxation]\ntau_fs = -1.0\n", ["tau_fs", "-1.0"]),
        ("[output]\nobservables = ['torque']\n", ["[output] observables", "'torque'", "allowed", "damping_torque"]),
        ("[output]\napproximations = ['first_order']\n", ["[output] approximations", "'first_order'", "second_order"]),
        ("[output]\napproximations = ['second_order']\n", ["[output] approximations", "'exact'"]),
        ("[output]\nobservables = []\n", ["[output] observables", "[]", "allowed"]),
        ("[output]\nplots = 1\n", ["[output]", "plots", "allowed: observables, approximations"]),
    ],
)
def test_bad_config_exits_2_with_one_clear_line(tmp_path, text, expected, run_cli):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    completed = run_cli("run", str(config), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])


def test_missing_config_file_is_a_clear_error(tmp_path, run_cli):
    completed = run_cli("run", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert completed.returncode == 2
    assert "nope.toml" in completed.stderr and "does not exist" in completed.stderr


def test_default_config_command_prints_the_embedded_default(tmp_path, run_cli):
    from jaxsot.cli._config import DEFAULT_RUN_TOML, RunConfig, parse_run_config

    completed = run_cli("default-config", cwd=tmp_path)
    assert completed.returncode == 0
    assert completed.stdout == DEFAULT_RUN_TOML
    # The embedded file spells out every default of the option objects.
    assert parse_run_config(DEFAULT_RUN_TOML) == RunConfig()


# ------------------------------------------------------------------------------------------------
# One error path (in-process): the user's mistakes exit 2 with one line; anything else is a bug (3).


def _in_process(argv, capsys):
    from jaxsot.cli import main

    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    return status, capsys.readouterr().err.strip().splitlines()


def test_unexpected_errors_are_reported_as_bugs_and_memory_errors_as_the_users(tmp_path, capsys, monkeypatch):
    import jaxsot.cli.run

    def broken(*args, **kwargs):
        raise RuntimeError("something inside went wrong")

    monkeypatch.setattr(jaxsot.cli.run, "check_run", broken)
    status, lines = _in_process(["run", "--out", str(tmp_path / "o")], capsys)
    assert status == 3 and len(lines) == 1
    assert "internal error (RuntimeError: something inside went wrong)" in lines[0] and "bug" in lines[0]

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(jaxsot.cli.run, "check_run", exhausted)
    status, lines = _in_process(["run", "--out", str(tmp_path / "o")], capsys)
    assert status == 2 and len(lines) == 1 and "out of memory" in lines[0]
    # --debug shows the real thing (the traceback) and keeps the exit status
    status, lines = _in_process(["--debug", "run", "--out", str(tmp_path / "o")], capsys)
    assert status == 2 and "MemoryError" in "\n".join(lines) and "out of memory" in lines[-1]


def test_fit_checks_out_before_any_work(tmp_path, capsys, monkeypatch):
    import jaxsot.fit

    (tmp_path / "data.csv").write_text("phi_M [deg],rho_ratio [1]\n0,1.0\n30,1.01\n60,1.02\n")
    (tmp_path / "taken").write_text("a file")

    def must_not_run(*args, **kwargs):
        raise AssertionError("the fit ran before --out was checked")

    monkeypatch.setattr(jaxsot.fit, "fit", must_not_run)
    status, lines = _in_process(["fit", str(tmp_path / "data.csv"), "--out", str(tmp_path / "taken")], capsys)
    assert status == 2 and len(lines) == 1 and "--out" in lines[0] and "existing file" in lines[0]
    status, lines = _in_process(["synth", str(tmp_path / "taken" / "s.csv")], capsys)
    assert status == 2 and len(lines) == 1 and "does not exist" in lines[0]


def test_run_output_names_are_those_simulate_computes():
    # The config is checked before JAX starts, from lists kept in the CLI: they must be simulate's own.
    import jaxsot
    from jaxsot.cli._config_run import RUN_APPROXIMATIONS, RUN_OBSERVABLES

    assert set(RUN_OBSERVABLES) == set(jaxsot.UNITS)
    from jaxsot._dynamics._observables import OBSERVABLE_APPROXIMATIONS

    assert set(RUN_APPROXIMATIONS) == {a for forms in OBSERVABLE_APPROXIMATIONS.values() for a in forms}

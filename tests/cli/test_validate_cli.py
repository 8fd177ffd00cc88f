"""`jaxsot validate` called in-process (the subprocess smoke test is in test_smoke.py).

The quantum comparison runs on the small configuration below with the layer checks off; the layer
checks run once with `--quick`, and again under six planted physics bugs, each of which must fail a row.
"""

import json

import jax
import pytest

from jaxsot.cli import main
from jaxsot.cli._config import DEFAULT_VALIDATE_TOML, ConfigError, ValidateConfig, parse_validate_config

# Slow tier: jaxsot validate --quick with planted bugs, each recompiled.
pytestmark = pytest.mark.slow

SMALL_VALIDATE = """\
[ensemble]
num_phi = 16
num_r = 4
[time]
t_end_fs = 30.0
num_steps = 31
[scan]
num_points = 7
adiabaticity_min = 1.0e-3
adiabaticity_max = 3.0e-2
fit_max = 3.0e-2
steps_per_period = 96
ramp_periods = 40.0
window_periods = 6.0
[crossover]
ratio_min = 0.2
ratio_max = 6.0
num_points = 3
num_r = 12
ramp_periods = 16.0
window_periods = 4.0
max_angle_rad = 0.6
[layers]
checks = "none"
"""
# The scan and crossover sizes are those of quantum/test_quantum.py (7 targets, 96 steps per period over
# 40 + 6 periods; 3 ratios up to 6, num_r = 12, 16 + 4 periods, max angle 0.6): the same compiled programs.


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The full command: layer checks (here only the contour check, the rest run in quick_run below) and
    the quantum comparison."""
    import contextlib
    import io

    from jaxsot._validation import _checks

    folder = tmp_path_factory.mktemp("validate")
    config = folder / "small.toml"
    config.write_text(SMALL_VALIDATE.replace('checks = "none"', 'checks = "all"'))
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(_checks, "CHECKS", {"contours": _checks.CHECKS["contours"]})
        status = main(["validate", str(config), "--out", str(folder / "out")])
    return status, folder / "out", printed.getvalue()


def test_validate_end_to_end_passes_and_writes_every_output(small_run, capsys):
    status, out, printed = small_run
    assert status == 0
    assert all(len(line) <= 100 for line in printed.splitlines()), max(printed.splitlines(), key=len)
    assert "3/3 layer checks and" in " ".join(printed.split()) and "quantum checks passed" in printed
    for name in ("config.toml", "results.json", "scan.csv", "ensemble.csv", "crossover.csv"):
        assert (out / name).stat().st_size > 0, name
    for name in ("adiabaticity.png", "ensemble.png", "crossover.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["scan"]["num_points"] == 7 and results["config"]["model"]["j_ex_eV"] == 1.0
    rows = {row["check"]: row for row in results["table"]}
    assert rows["state: T2 = -dsigma/dt exact vs semiclassical"]["ok"]
    assert rows["M||z: sea T2 exact vs closed form"]["value"] < 2e-3
    kinds = [row["kind"] for row in results["table"]]
    assert set(kinds) == {"check", "finding"} and kinds.count("finding") == 2
    assert all(row["ok"] for row in results["table"])
    header = (out / "crossover.csv").read_text().splitlines()[0]
    assert "alpha_kF_over_J" in header and "exact_damping_like_torque" in header
    written = parse_validate_config((out / "config.toml").read_text())
    assert written.scan.num_points == 7 and written.crossover.num_r == 12 and written.layers.checks == "all"
    assert [row["layer"] for row in results["layers"]] == ["contours"] * 3
    assert all(row["ok"] and row["error"] <= row["tolerance"] < 1e-3 for row in results["layers"])


def test_validate_exits_1_and_names_the_failed_checks_for_a_step_field(tmp_path, capsys):
    """A field switched on abruptly leaves every state ringing: the adiabatic checks must fail."""
    config = tmp_path / "step.toml"
    config.write_text(SMALL_VALIDATE.replace("[ensemble]", "[drive]\nkind = 'step'\n[ensemble]"))
    status = main(["validate", str(config), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert status == 1
    assert "check(s) failed" in printed and "sea: T2 exact vs semiclassical" in printed.split("check(s) failed")[1]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    failed = [row["check"] for row in results["table"] if not row["ok"]]
    assert "sea: T2 exact vs semiclassical" in failed and len(failed) >= 3


@pytest.mark.parametrize(
    "text,expected",
    [
        ("[scan]\nadiabaticity_min = 0.5\nadiabaticity_max = 0.1\n", ["adiabaticity_min", "0.5", "allowed"]),
        ("[crossover]\nfermi_energy_eV = -1.0\n", ["fermi_energy_eV", "-1.0", "allowed"]),
    ],
)
def test_validate_bad_config_exits_2_with_one_line(tmp_path, capsys, text, expected):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(config), "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])
    assert not (tmp_path / "o").exists()


def test_validate_default_config_round_trips(capsys):
    assert main(["default-config", "validate"]) == 0
    assert capsys.readouterr().out == DEFAULT_VALIDATE_TOML
    assert parse_validate_config(DEFAULT_VALIDATE_TOML) == ValidateConfig()


@pytest.mark.parametrize(
    "text,expected",
    [
        ("[scan]\nband = 0\n", ["[scan] band", "0", "allowed"]),
        ("[drive]\nkind = 'square'\n", ["kind", "'square'", "'smooth_ramp'"]),
        ("[numerics]\nmax_angle_rad = 3.0\n", ["max_angle_rad", "3.0", "allowed"]),
        ("[crossover]\nnum_r = 'many'\n", ["num_r", "'many'", "integer"]),
        ("[quantum]\nx = 1\n", ["[quantum]", "allowed"]),
    ],
)
def test_validate_config_errors_are_one_line(text, expected):
    with pytest.raises(ConfigError) as error:
        parse_validate_config(text)
    message = str(error.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("quick")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["validate", "--quick", "--out", str(folder / "out")])
    return status, printed.getvalue(), folder / "out"


def test_validate_quick_covers_every_layer_and_states_each_reference(quick_run):
    status, printed, out = quick_run
    assert status == 0, printed
    assert all(len(line) <= 100 for line in printed.splitlines()), max(printed.splitlines(), key=len)
    results = json.loads((out / "results.json").read_text())
    rows = results["layers"]
    assert {row["layer"] for row in rows} == {"contours", "shift", "quantum", "transport", "llg", "energy", "measure"}
    for row in rows:
        assert row["ok"] and row["reference"] and 0.0 <= row["error"] <= row["tolerance"], row
        # A 1e-3 error in any layer must fail: every tolerance is below it.
        assert row["tolerance"] < 1e-3, row
        assert row["check"][:40] in printed and row["reference"][:30] in printed
    assert "16/16 layer checks passed" in printed


def _plant(monkeypatch, bug):
    """Plant one physics bug by replacing the function or constant involved (the six of the first mutation audit, and the
    precession rate of its first row)."""
    import equinox as eqx

    from jaxsot._core._model import RashbaFerromagnet
    from jaxsot._dynamics import _simulate
    from jaxsot._fermi import _rays  # the ray solver and its compiled callers
    from jaxsot._llg import _torque
    from jaxsot._measure import _fields, _lockin

    if bug == "rashba sign":
        def field(self, kx, ky):
            m = self.magnetization
            return (-self.alpha * ky - self.j_ex * m[0], self.alpha * kx - self.j_ex * m[1], -self.j_ex * m[2] + 0.0 * kx)

        monkeypatch.setattr(RashbaFerromagnet, "field", field)
    elif bug == "tau x 1.01 in the sea shift":
        original = _simulate.integrate_shift_jit
        monkeypatch.setattr(_simulate, "integrate_shift_jit", lambda d, t, tau, n: original(d, t, 1.01 * tau, n))
    elif bug == "damping-like and field-like swapped in the LLG source":
        response = _torque.electron_response

        def swapped(torque, m):
            out = dict(response(torque, m))
            out["damping_like"], out["field_like"] = out["field_like"], out["damping_like"]
            return out

        monkeypatch.setattr(_torque, "electron_response", swapped)
    elif bug == "1 % error in the SI conversion of the effective fields":
        monkeypatch.setattr(_fields, "MU0", 1.01 * _fields.MU0)
    elif bug == "lock-in R_2w sign flipped":
        run = _lockin._run
        monkeypatch.setattr(_lockin, "_run", lambda *a: eqx.tree_at(lambda s: s.r_2w, run(*a), -run(*a).r_2w))
    elif bug == "electron precession rate halved":
        from jaxsot._quantum import _integrator

        monkeypatch.setattr(_integrator, "HBAR", 2.0 * _integrator.HBAR)  # Bloch rate 2/hbar -> 1/hbar
    elif bug == "contour radius 1e-6 short":
        ray = _rays.ray_contour

        def short(model, fermi_energy, s, num):
            c = ray(model, fermi_energy, s, num)
            radius = c.radius - 1e-6
            return c._replace(radius=radius, k=c.k * (radius / c.radius)[:, None])

        monkeypatch.setattr(_rays, "ray_contour", short)
    jax.clear_caches()  # the jitted functions retrace with the planted code


PLANTED = {
    # bug: (the quick checks run for it, the rows that must fail)
    "rashba sign": (("contours", "shift"), {"Fermi radii, Rashba, M general, both bands", "T2 = -dS/dt(t), M || z"}),
    "tau x 1.01 in the sea shift": (("shift",), {"rigid shift Delta k(t), step field, tau = 10 fs"}),
    "damping-like and field-like swapped in the LLG source": (
        ("energy",), {"damping-like power / extra Joule heat", "spin-force loss / (kappa n_p x damping-like power)"}),
    "1 % error in the SI conversion of the effective fields": (
        ("effective fields",), {"B_FL^s strong exchange, 1e11 A/m^2", "B_DL^s strong exchange, 1e11 A/m^2"}),
    "lock-in R_2w sign flipped": (("lock-in",), {"lock-in R_2w (LLG, j0 sin wt, demodulated)"}),
    "contour radius 1e-6 short": (("contours",), {"Fermi radii, Rashba, M general, both bands"}),
    "electron precession rate halved": (("quantum spinor",), {"spinor precession, E = 0, 10 fs steps"}),
}


@pytest.mark.parametrize("bug", list(PLANTED))
def test_each_planted_bug_fails_validate_quick(bug, tmp_path, monkeypatch, capsys):
    """`jaxsot validate --quick` exits 1 and names the failed rows. Only the checks of the bug's layer run
    here (the others pass or fail alike; tests/mutation/run_mutations.py runs all of them per mutation)."""
    from jaxsot._validation import _checks

    names, expected = PLANTED[bug]
    monkeypatch.setattr(_checks, "CHECKS", {name: _checks.CHECKS[name] for name in names})
    _plant(monkeypatch, bug)
    try:
        status = main(["validate", "--quick", "--out", str(tmp_path / "out")])
    finally:
        monkeypatch.undo()
        jax.clear_caches()
    printed = " ".join(capsys.readouterr().out.split())  # wrapped at 100 columns: compare words
    assert status == 1
    failed = {row["check"] for row in json.loads((tmp_path / "out" / "results.json").read_text())["layers"] if not row["ok"]}
    assert expected <= failed, (bug, failed)
    assert "check(s) failed" in printed and all(name in printed.split("check(s) failed")[1] for name in expected)


def test_validate_layers_refuses_what_it_cannot_check():
    import jaxsot

    with pytest.raises(ValueError, match="only = 'contour' is not a check; allowed: 'contours'"):
        jaxsot.validate_layers(only="contour")
    with pytest.raises(ValueError, match="quick = 'yes'"):
        jaxsot.validate_layers(quick="yes")
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="needs float64"):
            jaxsot.validate_layers(quick=True, only=("contours",))
    finally:
        jax.config.update("jax_enable_x64", True)

"""`jaxsot validate` called in-process (the subprocess smoke test is in test_smoke.py)."""

import json

import pytest

from jaxsot.cli import main
from jaxsot.cli._config import DEFAULT_VALIDATE_TOML, ConfigError, ValidateConfig, parse_validate_config

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
"""
# The scan and crossover sizes are those of quantum/test_quantum.py (7 targets, 96 steps per period over
# 40 + 6 periods; 3 ratios up to 6, num_r = 12, 16 + 4 periods, max angle 0.6): the same compiled programs.


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("validate")
    config = folder / "small.toml"
    config.write_text(SMALL_VALIDATE)
    status = main(["validate", str(config), "--out", str(folder / "out")])
    return status, folder / "out"


def test_validate_end_to_end_passes_and_writes_every_output(small_run, capsys):
    status, out = small_run
    assert status == 0
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
    assert written.scan.num_points == 7 and written.crossover.num_r == 12


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

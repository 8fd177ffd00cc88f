"""One subprocess smoke test per command: the installed entry point starts, parses, and exits as documented.

Everything else about the commands is tested in-process (test_*_cli.py), which saves JAX's start-up
and compilation per call; these few make sure `python -m jaxsot` and the console script still work.
"""

import subprocess
import sys

import pytest

TINY_RUN = """\
[ensemble]
num_phi = 16
num_r = 4
[time]
t_end_fs = 10.0
num_steps = 6
"""


def jaxsot_process(*args, cwd):
    return subprocess.run([sys.executable, "-m", "jaxsot", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_version_and_help(tmp_path, run_cli):
    import jaxsot

    completed = jaxsot_process("--version", cwd=tmp_path)
    assert completed.returncode == 0 and completed.stdout.strip() == f"jaxsot {jaxsot.__version__}"
    completed = run_cli("--help", cwd=tmp_path)  # the same parser; the process start is tested just above
    assert completed.returncode == 0
    for command in ("run", "sweep", "llg", "validate", "fit", "synth", "default-config"):
        assert command in completed.stdout


@pytest.mark.slow  # a fresh interpreter that compiles a run
def test_run_smoke(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY_RUN)
    completed = jaxsot_process("run", "tiny.toml", "--out", "out", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "out" / "results.json").stat().st_size > 0 and "damping_torque" in completed.stdout


@pytest.mark.parametrize(
    "command,text,words",
    [
        ("sweep", "[sweep]\nmode = 'spiral'\n", ["mode", "'spiral'", "allowed"]),
        ("llg", "[magnet]\ngilbert = -0.5\n", ["gilbert", "-0.5", "allowed"]),
        ("validate", "[scan]\nband = 0\n", ["band", "0", "allowed"]),
    ],
)
def test_config_commands_refuse_bad_input_with_one_line(tmp_path, command, text, words):
    (tmp_path / "bad.toml").write_text(text)
    completed = jaxsot_process(command, "bad.toml", "--out", "out", cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jaxsot: error: "), completed.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.slow  # two fresh interpreters, one compiling a synth
def test_synth_then_fit_refuses_a_malformed_file(tmp_path):
    completed = jaxsot_process("synth", "data.csv", "--points", "8", "--model", "strong_exchange", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "data.csv").read_text().count("\n") >= 8
    (tmp_path / "bad.csv").write_text("phi_M [deg],rho_ratio [1]\n0,1.0\n")
    completed = jaxsot_process("fit", "bad.csv", "--out", "out", cwd=tmp_path)
    assert completed.returncode == 2 and "bad.csv" in completed.stderr and len(completed.stderr.strip().splitlines()) == 1


def test_default_config_prints_a_parseable_default(tmp_path):
    from jaxsot.cli._config import DEFAULT_SWEEP_TOML

    completed = jaxsot_process("default-config", "sweep", cwd=tmp_path)
    assert completed.returncode == 0 and completed.stdout == DEFAULT_SWEEP_TOML

"""Never damage what the user has: special files are neither written nor read, inputs are
never overwritten, an output folder holds one complete run (staged, published in one rename, with a
provenance manifest), sweep chunks are checked on --resume, fits compute in the precision they
report, nothing blocks. In-process (`run_cli`) except where a real kill is the point.
"""

import contextlib
import fcntl
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

# Slow tier: real runs published and interrupted (subprocesses: kill, signals, file-size limit).
pytestmark = pytest.mark.slow

TINY_RUN = """\
[ensemble]
num_phi = 16
num_r = 4
[time]
t_end_fs = 10.0
num_steps = 6
"""
# 16 x 4 nodes and 6 steps: the shape of the other in-process runs (one compilation per session).
TINY_SWEEP = """\
[ensemble]
num_phi = 16
num_r = 4
[time]
t_end_fs = 20.0
num_steps = 3
[sweep]
chunk_points = 1
[sweep.parameters]
alpha_eV_nm = [0.02, 0.05, 0.08]
"""
GOOD_CSV = """\
# fermi_energy [eV] = 1.5
phi_M [deg],E [V/m],rho_ratio [1],T_DL_y [1/(m^2 s)]
0,1e5,1.03,2.3e28
30,1e5,1.02,2.1e28
60,1e5,1.01,1.9e28
90,1e5,1.00,1.7e28
"""


_PROGRESS_LINE = re.compile(r"^(\S.* \.\.\.|\s+.*: done in [0-9.]+ s)$")


def one_line(result, *fragments, status=2):
    # A failure after some work may follow that work's progress lines (off a terminal: one line at
    # the start and one at the end of each stage); the error itself is one line.
    lines = [line for line in result.stderr.strip().splitlines() if not _PROGRESS_LINE.match(line)]
    assert result.returncode == status, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("jaxsot: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


class Stop(BaseException):
    """Raised where a command would start computing (so refusals are checked without any work)."""


@pytest.fixture
def no_work(monkeypatch):
    """Stop every command where its computation would start (set_precision)."""
    import jaxsot.cli.fit
    import jaxsot.cli.llg
    import jaxsot.cli.run
    import jaxsot.cli.sweep
    import jaxsot.cli.validate

    def stop(*args, **kwargs):
        raise Stop

    for module in (jaxsot.cli.run, jaxsot.cli.sweep, jaxsot.cli.llg, jaxsot.cli.validate, jaxsot.cli.fit):
        monkeypatch.setattr(module, "set_precision", stop)
    for module in (jaxsot.cli.run, jaxsot.cli.sweep):
        monkeypatch.setattr(module, "use_cpu_cores_as_devices", lambda: None)


def accepted(run_cli, *args, cwd):
    with pytest.raises(Stop):
        run_cli(*args, cwd=cwd)


@pytest.fixture(scope="module")
def published(tmp_path_factory, run_cli):
    """A tiny `jaxsot run` published into out/ (umask 027), and its files' bytes."""
    call_cli = run_cli

    folder = tmp_path_factory.mktemp("published")
    (folder / "c.toml").write_text(TINY_RUN)
    old = os.umask(0o027)
    try:
        result = call_cli("run", "c.toml", "--out", "out", cwd=folder)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    return folder, {p.name: p.read_bytes() for p in (folder / "out").iterdir()}


def snapshot(out: pathlib.Path) -> dict:
    return {p.name: p.read_bytes() for p in out.iterdir()}


def leftovers(folder: pathlib.Path) -> list:
    return sorted(p.name for p in folder.iterdir() if ".jaxsot-" in p.name)


# ------------------------------------------------------------------------------------------------
# 1. Only regular files are replaced; permissions follow the umask.


def test_special_files_are_never_replaced_by_synth(tmp_path, run_cli, no_work):
    os.mkfifo(tmp_path / "fifo.csv")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock.csv"))
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "victim.csv").write_text("precious")
    (tmp_path / "link.csv").symlink_to(tmp_path / "victim.csv")
    cases = {
        "/dev/null": "a character device", "fifo.csv": "a FIFO", "sock.csv": "a socket", "folder.csv": "a folder",
        "link.csv": "a symbolic link",
    }
    try:
        for target, kind in cases.items():
            for force in ([], ["--force"]):
                one_line(run_cli("synth", target, "--points", "4", *force, cwd=tmp_path), f"output {target!r} is {kind}")
            if target != "/dev/null":
                hall = run_cli("synth", target, "--kind", "harmonic-hall", "--force", cwd=tmp_path)
                one_line(hall, f"output {target!r} is {kind}")
    finally:
        server.close()
    assert pathlib.Path("/dev/null").is_char_device()
    assert (tmp_path / "victim.csv").read_text() == "precious" and (tmp_path / "link.csv").is_symlink()


def test_existing_data_needs_force_and_outputs_follow_the_umask(tmp_path, run_cli):
    data = tmp_path / "d.csv"
    data.write_text("measured")
    one_line(run_cli("synth", "d.csv", "--points", "4", "--model", "strong_exchange", cwd=tmp_path), "already exists", "--force")
    assert data.read_text() == "measured"
    old = os.umask(0o002)
    try:
        result = run_cli("synth", "d.csv", "--points", "4", "--model", "strong_exchange", "--force", cwd=tmp_path)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert data.read_text().startswith("# synthetic data") and data.stat().st_mode & 0o777 == 0o664


def test_library_writer_refuses_a_folder_naming_it(tmp_path):
    from jaxsot.fit import read_csv, write_csv

    (tmp_path / "good.csv").write_text(GOOD_CSV)
    curve, _ = read_csv(tmp_path / "good.csv")
    (tmp_path / "into").mkdir()
    with pytest.raises(ValueError, match="into' is a folder"):
        write_csv(tmp_path / "into", curve)
    assert leftovers(tmp_path) == [] and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------------------------------------
# 2. Inputs are sacred: a file a command reads is never inside the folder it replaces.


@pytest.mark.parametrize("command", ["run", "llg", "validate"])
def test_a_config_inside_out_is_refused(tmp_path, run_cli, no_work, command):
    (tmp_path / "o").mkdir()
    config = tmp_path / "o" / "config.toml"
    config.write_text("# my commented config\n")
    one_line(run_cli(command, "o/config.toml", "--out", "o", cwd=tmp_path), "'o/config.toml' is inside --out 'o'")
    assert config.read_text() == "# my commented config\n"


def test_fit_data_inside_out_is_refused(tmp_path, run_cli, no_work):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "fit.csv").write_text(GOOD_CSV)
    one_line(run_cli("fit", "o/fit.csv", "--out", "o", cwd=tmp_path), "'o/fit.csv' is inside --out 'o'")
    assert (tmp_path / "o" / "fit.csv").read_text() == GOOD_CSV


def test_a_new_sweep_does_not_write_over_its_config_or_foreign_files(tmp_path, run_cli, no_work):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "config.toml").write_text(TINY_SWEEP)
    one_line(run_cli("sweep", "o/config.toml", "--out", "o", cwd=tmp_path), "is the config.toml a new sweep writes")
    (tmp_path / "s.toml").write_text(TINY_SWEEP)
    one_line(run_cli("sweep", "s.toml", "--out", "o", cwd=tmp_path), "holds config.toml but no manifest.json")
    assert (tmp_path / "o" / "config.toml").read_text() == TINY_SWEEP


def test_a_resumed_sweep_refuses_a_planted_folder_before_any_work(sweep_baseline, tmp_path, run_cli, no_work):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(sweep_baseline / "base", out)
    (out / "summary.csv").unlink()
    (out / "summary.csv").mkdir()
    one_line(run_cli("sweep", str(sweep_baseline / "s.toml"), "--out", "out", "--resume", cwd=tmp_path),
             "'out/summary.csv' is a folder, where the sweep writes a file")


def test_folders_with_foreign_files_are_refused_before_the_run(tmp_path, run_cli, no_work):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "notes.txt").write_text("mine")
    for command in (["run"], ["llg"], ["validate"]):
        one_line(run_cli(*command, "--out", "o", cwd=tmp_path), "--out 'o' holds 'notes.txt'", "no earlier jaxsot run")
    (tmp_path / "o" / "notes.txt").unlink()
    (tmp_path / "o" / "results.json").mkdir()  # planted: found before the run, named as the user's path
    one_line(run_cli("run", "--out", "o", cwd=tmp_path), "'results.json'")
    assert leftovers(tmp_path) == [] and (tmp_path / "o" / "results.json").is_dir()


def test_a_planted_folder_in_a_published_run_is_named(published, tmp_path, run_cli, no_work):
    folder, _ = published
    out = tmp_path / "copy"
    out.mkdir()
    for name in ("jaxsot-run.json", "config.toml"):
        (out / name).write_bytes((folder / "out" / name).read_bytes())
    (out / "results.json").mkdir()
    one_line(run_cli("run", "--out", "copy", cwd=tmp_path), "'copy/results.json' is a folder, not the file jaxsot wrote")


def test_symlinked_out_is_refused(tmp_path, run_cli, no_work):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    one_line(run_cli("run", "--out", "link", cwd=tmp_path), "is a symbolic link")


# ------------------------------------------------------------------------------------------------
# 3. An output folder is one run.


def test_a_published_run_has_a_manifest_and_umask_permissions(published):
    folder, files = published
    manifest = json.loads(files["jaxsot-run.json"])
    assert manifest["command"] == "run"
    assert set(manifest["files"]) == set(files) - {"jaxsot-run.json"}
    import hashlib

    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest() and entry["bytes"] == len(files[name])
    for path in (folder / "out").iterdir():
        assert path.stat().st_mode & 0o777 == 0o640, path  # umask 027, not mkstemp's 0600
    assert (folder / "out").stat().st_mode & 0o777 == 0o750
    assert leftovers(folder) == []


def _fail_after_first_file(monkeypatch, module, error):
    """Make the second file write of `module` raise `error` (the first one is staged already)."""
    import jaxsot.cli._common as common

    real = common.atomic_output
    count = {"n": 0}

    @contextlib.contextmanager
    def failing(path, mode="w"):
        count["n"] += 1
        if count["n"] == 2:
            raise error
        with real(path, mode) as file:
            yield file

    monkeypatch.setattr(common, "atomic_output", failing)


@pytest.mark.parametrize("error,status,fragment", [
    (OSError(28, "No space left on device"), 2, "No space left on device"),
    (KeyboardInterrupt(), 130, "interrupted"),
    ("terminated", 143, "terminated"),
])
def test_a_failed_run_leaves_the_previous_folder_whole(published, tmp_path, run_cli, monkeypatch, error, status, fragment):
    from jaxsot.cli._common import Terminated

    folder, files = published
    work = tmp_path / "w"
    work.mkdir()
    (work / "out").mkdir()
    for name, data in files.items():
        (work / "out" / name).write_bytes(data)
    (work / "c.toml").write_text(TINY_RUN.replace("num_steps = 6", "num_steps = 7"))
    _fail_after_first_file(monkeypatch, None, Terminated("SIGTERM") if error == "terminated" else error)
    result = run_cli("run", "c.toml", "--out", "out", cwd=work)
    assert result.returncode == status and fragment in result.stderr, result.stderr
    assert snapshot(work / "out") == files  # the previous run, whole
    assert leftovers(work) == []


def test_disk_full_names_the_users_path(tmp_path, run_cli, monkeypatch):
    import jaxsot.cli._common as common

    (tmp_path / "c.toml").write_text(TINY_RUN)
    real = common.atomic_output

    @contextlib.contextmanager
    def full(path, mode="w"):
        with real(path, mode) as file:
            if pathlib.Path(path).name == "timeseries.csv":
                raise OSError(28, "No space left on device")
            yield file

    monkeypatch.setattr(common, "atomic_output", full)
    one_line(run_cli("run", "c.toml", "--out", "o", cwd=tmp_path), "No space left on device", "'o/timeseries.csv'")
    assert not (tmp_path / "o").exists() and leftovers(tmp_path) == []


def test_a_file_size_limit_is_an_error_naming_the_file(tmp_path, run_cli):
    resource = pytest.importorskip("resource")
    (tmp_path / "c.toml").write_text(TINY_RUN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.getsignal(signal.SIGXFSZ)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # pytest's own writes in between must not kill it
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, hard))
    try:
        result = run_cli("run", "c.toml", "--out", "o", cwd=tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    one_line(result, "File too large", "'o/torques.png'")  # the figure is the one file above 20 kB
    assert not (tmp_path / "o").exists() and leftovers(tmp_path) == []


def test_a_second_run_on_the_same_out_is_refused_by_the_lock(tmp_path, run_cli, no_work):
    lock = tmp_path / ".o.jaxsot-lock"
    handle = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        os.write(handle, b"4242\n")
        one_line(run_cli("run", "--out", "o", cwd=tmp_path), "in use by another jaxsot process", "pid 4242")
    finally:
        os.close(handle)
    os.unlink(lock)
    accepted(run_cli, "run", "--out", "o", cwd=tmp_path)
    assert leftovers(tmp_path) == [] and not (tmp_path / "o").exists()  # the folder it created, empty, is removed


KILL_AFTER_FIRST_FILE = """\
import os, signal, sys
import jaxsot.cli._common as common
real = common.write_table_csv
def write_then_die(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
import jaxsot.cli.run
jaxsot.cli.run.write_table_csv = write_then_die
from jaxsot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_kill_9_mid_run_keeps_the_previous_folder_and_the_next_run_cleans_up(published, tmp_path, run_cli, monkeypatch):
    folder, files = published
    (tmp_path / "out").mkdir()
    for name, data in files.items():
        (tmp_path / "out" / name).write_bytes(data)
    (tmp_path / "c.toml").write_text(TINY_RUN)
    env = dict(os.environ, JAXSOT_COMPILATION_CACHE="0", JAX_PLATFORMS="cpu")
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_FILE, "run", "c.toml", "--out", "out"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert snapshot(tmp_path / "out") == files
    assert [n for n in leftovers(tmp_path) if "stage" in n]  # the killed run's staging folder, never published
    import jaxsot.cli.run

    monkeypatch.setattr(jaxsot.cli.run, "set_precision", lambda *a: (_ for _ in ()).throw(Stop()))
    accepted(run_cli, "run", "c.toml", "--out", "out", cwd=tmp_path)  # the next run removes it (it holds the lock)
    assert leftovers(tmp_path) == [] and snapshot(tmp_path / "out") == files


# ------------------------------------------------------------------------------------------------
# 4. Sweep chunks are verified on --resume.


@pytest.fixture(scope="module")
def sweep_baseline(tmp_path_factory, run_cli):
    call_cli = run_cli

    folder = tmp_path_factory.mktemp("sweep")
    (folder / "s.toml").write_text(TINY_SWEEP)
    result = call_cli("sweep", "s.toml", "--out", "base", "--no-progress", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def _damage(chunks: pathlib.Path, how: str) -> str:
    one, two = chunks / "chunk_000001.npz", chunks / "chunk_000002.npz"
    if how == "flipped":
        data = bytearray(one.read_bytes())
        data[len(data) // 2] ^= 0xFF
        one.write_bytes(bytes(data))
    elif how == "truncated":
        one.write_bytes(one.read_bytes()[: one.stat().st_size // 2])
    elif how == "empty":
        one.write_bytes(b"")
    elif how == "copied":  # another chunk's file over this one
        one.write_bytes((chunks / "chunk_000000.npz").read_bytes())
    elif how == "copied-with-record":
        one.write_bytes((chunks / "chunk_000000.npz").read_bytes())
        (chunks / "chunk_000001.json").write_bytes((chunks / "chunk_000000.json").read_bytes())
    elif how == "no-record":
        (chunks / "chunk_000001.json").unlink()
    two.unlink()  # and one chunk never finished
    return {"flipped": "is damaged", "truncated": "is damaged", "empty": "is damaged", "copied": "is damaged",
            "copied-with-record": "has the record of another chunk", "no-record": "has no readable checksum record"}[how]


@pytest.mark.parametrize("how", ["flipped", "truncated", "empty", "copied", "copied-with-record", "no-record"])
def test_resume_recomputes_damaged_chunks_and_matches_bit_for_bit(sweep_baseline, tmp_path, run_cli, how):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(sweep_baseline / "base", out)
    for name in ("sweep.nc", "summary.csv", "run.json"):
        (out / name).unlink()
    reason = _damage(out / "chunks", how)
    result = run_cli("sweep", str(sweep_baseline / "s.toml"), "--out", str(out), "--resume", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"chunk 1 (chunks/chunk_000001.npz) {reason}" in result.stdout, result.stdout
    assert json.loads((out / "run.json").read_text())["computed_chunks"] == [1, 2]
    assert (out / "sweep.nc").read_bytes() == (sweep_baseline / "base" / "sweep.nc").read_bytes()
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["index"] for c in manifest["chunks"]] == [0, 1, 2] and all(len(c["sha256"]) == 64 for c in manifest["chunks"])


def test_sweep_refuses_a_file_size_limit_below_its_netcdf_before_any_work(sweep_baseline, tmp_path, run_cli, no_work):
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
    try:
        result = run_cli("sweep", str(sweep_baseline / "s.toml"), "--out", "o", cwd=tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    one_line(result, "sweep.nc", "file-size limit", "ulimit -f")


# ------------------------------------------------------------------------------------------------
# 5. A float64 fit computes in float64; a fit with non-finite results exits 1.


def test_a_float64_fit_gives_values_that_float32_cannot_hold(tmp_path, run_cli):
    made = run_cli("synth", "d.csv", "--points", "8", "--model", "strong_exchange", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    result = run_cli("fit", "d.csv", "--model", "strong_exchange", "--restarts", "1", "--max-steps", "40", "--no-plot",
                     "--out", "f", "--report-every", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "f" / "results.json").read_text())
    assert results["precision"] == "float64"
    for name in results["free"]:
        value = results["parameters"][name]
        assert float(np.float32(value)) != value, (name, value)  # a float32 fit gives float32 numbers only


def test_fit_exits_1_when_results_are_not_finite(tmp_path, run_cli, monkeypatch):
    import jaxsot.cli.fit

    (tmp_path / "good.csv").write_text(GOOD_CSV)
    real = jaxsot.cli.fit._write_outputs
    monkeypatch.setattr(jaxsot.cli.fit, "_write_outputs", lambda *a, **k: real(*a, **k) + ["loss = nan"])
    import jaxsot.fit

    monkeypatch.setattr(jaxsot.fit, "fit", _fake_fit)
    result = run_cli("fit", "good.csv", "--no-plot", "--out", "f", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "not finite" in result.stdout and (tmp_path / "f" / "results.json").is_file()


def _fake_fit(curves, fermi_energy, **kwargs):
    import types

    n, c = curves[0].values.shape
    return types.SimpleNamespace(
        predictions=[np.ones((n, c))], residuals=[np.zeros((n, c))], sigmas=[np.ones((n, c))], trace=np.ones((1, 2)),
        stage2_trace=None, notes=[], summary=lambda: "fake",
        to_dict=lambda: {"predictions": 0, "residuals": 0, "sigmas": 0, "trace": 0, "stage2_trace": 0},
    )


# ------------------------------------------------------------------------------------------------
# 9. Nothing blocks: special input files, a coordinator that never answers.


@contextlib.contextmanager
def deadline(seconds):
    def expired(*_):
        raise AssertionError(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_fifo_and_device_inputs_are_refused_without_blocking(tmp_path, run_cli, no_work):
    os.mkfifo(tmp_path / "pipe")
    with deadline(60):
        for command in ("run", "sweep", "llg", "validate"):
            one_line(run_cli(command, "pipe", cwd=tmp_path), "config file 'pipe' is a FIFO")
            one_line(run_cli(command, "/dev/zero", cwd=tmp_path), "is a character device")
        one_line(run_cli("fit", "pipe", cwd=tmp_path), "'pipe' is not a regular file")


def test_a_coordinator_that_never_answers_times_out_and_releases_the_lock(tmp_path, run_cli, no_work):
    (tmp_path / "s.toml").write_text(TINY_SWEEP)
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with deadline(60):
        for rank, fragment in ((1, "process 0 was not reached"), (0, "1 of 2 processes arrived")):
            result = run_cli("sweep", "s.toml", "--out", "o", "--num-processes", "2", "--process-id", str(rank),
                             "--coordinator", f"127.0.0.1:{port}", "--coordinator-timeout", "1", cwd=tmp_path)
            one_line(result, fragment, "--coordinator-timeout 1 s")
    accepted(run_cli, "sweep", "s.toml", "--out", "o", cwd=tmp_path)  # the lock went with the failed run
    one_line(run_cli("sweep", "s.toml", "--coordinator", "::::", "--num-processes", "2", "--process-id", "0", cwd=tmp_path),
             "is not host:port")


# ------------------------------------------------------------------------------------------------
# 11. Smaller command-line cases.


def test_empty_free_and_columns_are_refused(tmp_path, run_cli, no_work):
    (tmp_path / "good.csv").write_text(GOOD_CSV)
    one_line(run_cli("fit", "good.csv", "--free", "", cwd=tmp_path), "--free ''")
    one_line(run_cli("synth", "s.csv", "--columns", "", cwd=tmp_path), "--columns ''")


def test_debug_does_not_change_the_exit_status(tmp_path, run_cli):
    (tmp_path / "bad.toml").write_text("[model]\nalpha_eV_nm = 1979-05-27\n")
    plain = run_cli("run", "bad.toml", cwd=tmp_path)
    debug = run_cli("--debug", "run", "bad.toml", cwd=tmp_path)
    line = one_line(plain, "alpha_eV_nm = 1979-05-27 is a date; allowed: a number")
    assert debug.returncode == 2 and "Traceback" in debug.stderr and debug.stderr.strip().splitlines()[-1] == line


def test_a_newline_in_a_config_name_is_shown_escaped(tmp_path, run_cli):
    (tmp_path / "a\nb.toml").write_text("[model]\nalpha_eV_nm = true\n")
    one_line(run_cli("run", "a\nb.toml", cwd=tmp_path), "a\\nb.toml: [model] alpha_eV_nm")


def test_an_out_folder_made_by_another_process_meanwhile_is_used(tmp_path, monkeypatch):
    # The processes of one distributed sweep create the shared --out at the same moment: the one
    # that loses the race finds a folder where it saw none and must carry on with it, not stop.
    from jaxsot.cli._output import prepare_out

    target = tmp_path / "shared-out"
    real_mkdir = pathlib.Path.mkdir

    def other_process_first(self, *args, **kwargs):
        if self == target:
            real_mkdir(self)
            raise FileExistsError(17, "File exists", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", other_process_first)
    assert prepare_out(target, staged=False) == target
    assert target.is_dir()
    # a file appearing there instead is still refused, naming the option
    other = tmp_path / "file-out"

    def file_appears(self, *args, **kwargs):
        if self == other:
            other.write_text("x")
            raise FileExistsError(17, "File exists", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", file_appears)
    with pytest.raises(Exception, match="--out .*cannot be created"):
        prepare_out(other, staged=False)

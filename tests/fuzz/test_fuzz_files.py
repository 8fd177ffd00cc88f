"""Fuzzing data files, output paths and command-line options (in-process, no compilation), and the
safety of what the commands write: atomic files that a planted link cannot redirect, temporaries
removed, strict JSON, CSV cells that cannot shift columns or run as formulas, the sweep lock.
"""

import csv
import json
import math
import os
import pathlib
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_helpers import assert_one_line_error, record

FUZZ = settings(derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False

GOOD_CSV = """\
# fermi_energy [eV] = 1.5
phi_M [deg],E [V/m],rho_ratio [1],T_DL_y [1/(m^2 s)]
0,1e5,1.03,2.3e28
30,1e5,1.02,2.1e28
60,1e5,1.01,1.9e28
90,1e5,1.00,1.7e28
"""
SMALL_SWEEP = """\
[ensemble]
num_phi = 16
num_r = 4
[time]
t_end_fs = 20.0
num_steps = 3
[sweep.parameters]
alpha_eV_nm = [0.02, 0.05]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz-files")
    (path / "good.csv").write_text(GOOD_CSV)
    (path / "sweep.toml").write_text(SMALL_SWEEP)
    (path / "a-file").write_text("x")
    return path


# ------------------------------------------------------------------------------------------------
# Fit data files.

CSV_CASES = [
    # (file text, fragments of the error line)
    (GOOD_CSV.replace("= 1.5", "= 1e6"), ["fermi_energy", "1e6 [eV] is out of range", "[-100, 100] [eV]"]),
    (GOOD_CSV.replace("0,1e5,1.03", "0,1e13,1.03"), ["line 3, column 'E'", "1e13 [V/m]", "1e+09"]),
    (GOOD_CSV.replace("0,1e5,1.03", "0,1e5,0"), ["column 'rho_ratio'", "out of range"]),
    (GOOD_CSV.replace("2.3e28", "1e300"), ["column 'T_DL_y'", "1e300"]),
    (GOOD_CSV.replace("0,1e5,1.03", "1e9,1e5,1.03"), ["column 'phi_M'"]),
    (GOOD_CSV.replace("0,1e5,1.03", "nan,1e5,1.03"), ["line 3", "not finite"]),
    (GOOD_CSV.replace("0,1e5,1.03", "0,,1.03"), ["line 3", "is not a number"]),
    (GOOD_CSV.replace("0,1e5,1.03", "0,1e5"), ["line 3", "cells"]),
    (GOOD_CSV.replace("phi_M [deg]", "phi_M [furlong]"), ["unit [furlong]", "allowed: [deg], [rad]"]),
    (GOOD_CSV.replace("phi_M [deg]", "colour [1]"), ["column 'colour' is not allowed"]),
    ("# fermi_energy [eV] = 1.5\n", ["no header row"]),
    ("phi_M [deg],rho_ratio [1],sigma_rho_ratio [1]\n0,1.0,1e-3\n30,1.01,-1e-3\n60,1.02,1e-3\n", ["line 3", "a sigma is <= 0"]),
    (
        "phi_M [deg],rho_ratio [1],sigma_rho_ratio [1]\n0,1.0,1e-20\n30,1.01,1e-3\n60,1.02,1e-3\n",
        ["column 'sigma_rho_ratio'", "1e-20", "1e-12 of the column's largest"],
    ),
    (
        "# E [V/m] = 1e5\nphi_M [deg],t [fs],T_DL_y [1/(nm^2 fs)]\n0,-5,1e-5\n0,0,1e-5\n0,5,1e-5\n",
        ["column 't'", "-5 [fs] is out of range"],
    ),
    ("# E [V/m] = 1e99\n" + GOOD_CSV.replace(",E [V/m]", "").replace(",1e5", ""), ["line 1, column 'E'", "1e99"]),
]


@pytest.mark.parametrize("text,fragments", CSV_CASES, ids=[f"csv-{i}" for i in range(len(CSV_CASES))])
def test_bad_data_file_is_refused_naming_file_line_and_column(cli, folder, text, fragments):
    path = folder / "bad.csv"
    path.write_text(text)
    status, lines = cli("fit", path, "--out", folder / "fit-out", suite="fit data files")
    assert_one_line_error(status, lines, "bad.csv", *fragments)


@pytest.mark.parametrize(
    "data,fragments",
    [
        (b"\xef\xbb\xbf" + GOOD_CSV.encode(), None),  # a spreadsheet's byte-order mark is accepted
        (GOOD_CSV.encode().replace(b"# fermi", b"# caf\xe9 fermi"), ["not UTF-8", "0xe9"]),
        (b"\x00\x01\x02binary", ["NUL bytes"]),
    ],
    ids=["bom", "latin1", "binary"],
)
def test_data_file_encodings(cli, folder, data, fragments):
    path = folder / "encoded.csv"
    path.write_bytes(data)
    status, lines = cli("fit", path, "--out", folder / "fit-out", suite="fit data files")
    if fragments is None:
        assert status == "accepted", lines
    else:
        assert_one_line_error(status, lines, "encoded.csv", *fragments)


def test_huge_data_files_are_refused_before_they_are_converted(cli, folder):
    rows = folder / "million.csv"
    with open(rows, "w") as handle:
        handle.write("phi_M [deg],rho_ratio [1]\n")
        handle.write("1,1.0\n" * 1_000_000)
    status, lines = cli("fit", rows, "--out", folder / "fit-out", suite="fit data files")
    assert_one_line_error(status, lines, "million.csv", "more than 100000 data rows")
    sparse = folder / "sparse.csv"
    with open(sparse, "wb") as handle:
        handle.truncate(65 << 20)  # 65 MiB of zeros without writing them
    status, lines = cli("fit", sparse, "--out", folder / "fit-out", suite="fit data files")
    assert_one_line_error(status, lines, "sparse.csv", "larger than 64 MiB")
    status, lines = cli("fit", folder, "--out", folder / "fit-out", suite="fit data files")
    assert_one_line_error(status, lines, "is not a regular file")


HEADERS = st.sampled_from(
    ["phi_M [deg]", "phi_M [rad]", "theta_M [deg]", "E [V/m]", "E [kV/cm]", "t [fs]", "rho_ratio [1]",
     "T_DL_y [1/(m^2 s)]", "T_FL_z [1/(nm^2 fs)]", "sigma [1]", "sigma_rho_ratio [1]", "phi_M", "x [y]", "", "E [V]"]
)
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-400, 400).map(lambda x: f"{x:.6g}"),
    st.integers(-10, 10).map(str),
    st.sampled_from(["", " ", "abc", "1e400", "-0", "0x10", "1_000", '"3"', "1,5", "∞", "1e-320"]),
)
SETTINGS = st.sampled_from(["", "# fermi_energy [eV] = 0.5\n", "# fermi_energy [meV] = 1e9\n", "# E [V/m] = 1e5\n",
                            "# theta_M [deg] = 45\n", "# T [K] = 300\n", "# fermi_energy [eV] = nan\n"])


VALID_HEADERS = st.sampled_from([
    ["phi_M [deg]", "rho_ratio [1]"],
    ["phi_M [deg]", "E [V/m]", "T_DL_y [1/(m^2 s)]"],
    ["phi_M [rad]", "rho_ratio [1]", "sigma_rho_ratio [1]"],
    ["phi_M [deg]", "t [fs]", "E [V/m]", "T_FL_z [1/(nm^2 fs)]"],
])
PLAIN_CELLS = st.one_of(st.floats(0.01, 10.0).map(lambda x: f"{x:.6g}"), st.integers(1, 12).map(str))


@settings(FUZZ, max_examples=150)
@given(header=st.one_of(VALID_HEADERS, st.lists(HEADERS, min_size=1, max_size=5)), comment=SETTINGS, data=st.data())
def test_fit_data_files(cli, folder, header, comment, data):
    # Mostly rows as long as the header, with plain numbers, and here and there a bad cell or row.
    width = st.one_of(st.just(len(header)), st.just(len(header)), st.integers(1, 5))
    row = width.flatmap(lambda n: st.lists(st.one_of(PLAIN_CELLS, PLAIN_CELLS, PLAIN_CELLS, CELLS), min_size=n, max_size=n))
    rows = data.draw(st.lists(row, min_size=0, max_size=6))

    _check_data_file(cli, folder, comment + ",".join(header) + "\n" + "".join(",".join(row) + "\n" for row in rows))


@settings(FUZZ, max_examples=80)
@given(header=VALID_HEADERS, data=st.data())
def test_fit_data_files_near_valid(cli, folder, header, data):
    # Well-formed files of 3 to 8 rows in which one cell may be replaced by anything.
    rows = data.draw(st.lists(st.lists(PLAIN_CELLS, min_size=len(header), max_size=len(header)), min_size=3, max_size=8))
    if data.draw(st.booleans()):
        r, c = data.draw(st.integers(0, len(rows) - 1)), data.draw(st.integers(0, len(header) - 1))
        rows[r][c] = data.draw(CELLS)
    _check_data_file(cli, folder, ",".join(header) + "\n" + "".join(",".join(row) + "\n" for row in rows))


def _check_data_file(cli, folder, text):
    from jaxsot.fit import read_csv

    path = folder / "fuzz.csv"
    path.write_text(text)
    status, lines = cli("fit", path, "--out", folder / "fit-out", suite="fit data files")
    if status != "accepted":
        assert_one_line_error(status, lines, str(path))
        return
    # Accepted: every value is finite and inside the documented ranges (internal units).
    curve, settings_ = read_csv(path)
    values = np.asarray(curve.values)
    assert curve.num_points >= 3 and np.all(np.isfinite(values))
    assert np.all(np.abs(np.asarray(curve.phi)) <= 4 * math.pi + 1e-12)
    assert np.all(np.abs(np.asarray(curve.efield)) <= 1.0)
    for j, name in enumerate(curve.columns):
        assert (0 < values[:, j].min() and values[:, j].max() <= 1e3) if name == "rho_ratio" else np.all(np.abs(values[:, j]) <= 1e10)
    if curve.sigma_known:
        assert np.all(np.asarray(curve.sigma) > 0)
    if curve.kind == "transient":
        assert 0 <= np.min(curve.time) and np.max(curve.time) <= 1e7
    assert all(-100 <= v <= 100 for v in settings_.values())


# ------------------------------------------------------------------------------------------------
# Output paths: checked (created and probed) before any work, one line naming the option.


def _bad_outs(folder):
    outs = [
        (folder / "a-file", "is an existing file"),
        (folder / "a-file" / "under", "cannot be created"),
        ("/proc/jaxsot-fuzz", "cannot be created"),
        ("/proc", "not writable"),
        ("", "is empty"),
        ("bad\x00name", "NUL"),
        (folder / ("x" * 300), "cannot be created"),
    ]
    if not ROOT:  # root may write anywhere: a read-only folder only stops other users
        readonly = folder / "readonly"
        readonly.mkdir(exist_ok=True)
        readonly.chmod(0o555)
        outs.append((readonly, "not writable"))
        outs.append((readonly / "sub", "cannot be created"))
    return outs


COMMANDS = {
    "run": lambda f: ["run"],
    "sweep": lambda f: ["sweep", f / "sweep.toml"],
    "llg": lambda f: ["llg"],
    "validate": lambda f: ["validate"],
    "fit": lambda f: ["fit", f / "good.csv"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_out_is_refused_before_any_work(cli, folder, command):
    for out, fragment in _bad_outs(folder):
        status, lines = cli(*COMMANDS[command](folder), "--out", out, suite="--out paths")
        assert_one_line_error(status, lines, "--out", fragment)


def test_bad_synth_output_is_refused_before_any_work(cli, folder):
    cases = [
        (folder, "is a folder"),
        (folder / "missing" / "s.csv", "does not exist"),
        (folder / "a-file" / "s.csv", "does not exist"),
        ("", "not a usable file path"),
        ("/proc/s.csv", "cannot write"),
    ]
    for output, fragment in cases:
        status, lines = cli("synth", output, suite="--out paths")
        assert_one_line_error(status, lines, "output", fragment)


# ------------------------------------------------------------------------------------------------
# Command-line options of fit and synth.

SYNTH_OPTIONS = {
    # option: documented range check (`jaxsot synth --help` and the fit parameter ranges)
    "--alpha": lambda x: 1e-4 <= abs(x) <= 10,
    "--j-ex": lambda x: 1e-3 <= x <= 100,
    "--mass-ratio": lambda x: 0 < x <= 100,
    "--tau": lambda x: 1e-3 <= x <= 1e7,
    "--fermi-energy": lambda x: -100 <= x <= 100,
    "--noise": lambda x: 0 <= x <= 10,
    "--theta-deg": lambda x: 0 <= x <= 180,
    "--efield": lambda x: 1 <= abs(x) <= 1e9,
    "--t-end": lambda x: 0 < x <= 1e7,
    "--points": lambda x: float(x).is_integer() and 3 <= x <= 100_000,
    "--seed": lambda x: float(x).is_integer() and 0 <= x <= 2**32 - 1,
}
OPTION_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1e3, 1e3).map(repr),
    st.integers(-5, 10**7).map(str),
    st.sampled_from(["", "abc", "1e400", "-0", "0x10", "1,5", "nan", "-inf", "3"]),
)


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


@settings(FUZZ, max_examples=120)
@given(option=st.sampled_from(sorted(SYNTH_OPTIONS)), text=OPTION_TEXT)
def test_synth_options(cli, folder, option, text):
    status, lines = cli("synth", folder / "synth.csv", f"{option}={text}", suite="fit/synth options")
    value = _number(text)
    is_int = option in ("--points", "--seed")
    parses = value is not None and (not is_int or text.strip().lstrip("-").isdigit())
    if status == "accepted":
        assert parses and math.isfinite(value) and SYNTH_OPTIONS[option](value), (option, text)
    else:
        assert_one_line_error(status, lines, option)


FIT_OPTIONS = {
    "--restarts": (1, 1024), "--max-steps": (1, 1_000_000), "--num": (8, 65536), "--seed": (0, 2**32 - 1), "--report-every": (0, 10**6),
}


@settings(FUZZ, max_examples=80)
@given(option=st.sampled_from(sorted(FIT_OPTIONS)), text=OPTION_TEXT)
def test_fit_options(cli, folder, option, text):
    status, lines = cli("fit", folder / "good.csv", f"{option}={text}", "--out", folder / "fit-out", suite="fit/synth options")
    low, high = FIT_OPTIONS[option]
    valid = text.strip().lstrip("-").isdigit() and low <= int(text) <= high
    if status == "accepted":
        assert valid, (option, text)
    else:
        # A valid count can still be refused by the work limit (restarts x max-steps x num); it names the options.
        assert_one_line_error(status, lines, option)


@pytest.mark.parametrize(
    "arguments,fragments",
    [
        (["--guess", "alpha=0"], ["--guess alpha = 0", "|value| >= 0.0001"]),
        (["--guess", "tau=1e-300"], ["--guess tau = 1e-300"]),
        (["--guess", "j_ex=nan"], ["--guess", "not a finite number"]),
        (["--guess", "alpha=0.05,alpha=0.06"], ["alpha twice"]),
        (["--guess", "colour=1"], ["colour=1", "allowed: name=value"]),
        (["--bounds", "tau=5:1"], ["low < high"]),
        (["--bounds", "j_ex=0:2"], ["--bounds j_ex = 0"]),
        (["--free", "alpha,,nope"], ["--free", "allowed"]),
        (["--fermi-energy", "1e6"], ["--fermi-energy = 1e+06"]),
        (["--max-memory-GB", "1e5"], ["--max-memory-GB = 100000", "this machine"]),
        (["--max-state-steps", "10"], ["--max-state-steps = 10", "state-steps"]),
        (["--num", "65536", "--restarts", "1024", "--max-steps", "1000000"], ["--max-state-steps", "--num 65536"]),
    ],
)
def test_fit_option_cases(cli, folder, arguments, fragments):
    status, lines = cli("fit", folder / "good.csv", *arguments, "--out", folder / "fit-out", suite="fit/synth options")
    assert_one_line_error(status, lines, *fragments)


def test_argparse_errors_are_one_line(cli, folder):
    for argv in (["run", "--precision", "float16"], ["fit"], ["synth"], ["nope"], ["sweep", "--num-processes", "x"],
                 ["fit", "good.csv", "--restarts", "1.5"], ["run", "a", "b"]):
        status, lines = cli(*argv, suite="fit/synth options")
        assert_one_line_error(status, lines, "--help")  # argparse's message, on one line, pointing to the help
        assert "usage:" not in lines[0]


# ------------------------------------------------------------------------------------------------
# Sweep folders: corrupted manifest, the lock, temporaries.


@pytest.mark.parametrize("content", [b"{", b"", b"\xff\xfe", b"[]", b'{"chunk_points": "x"}', b'{"chunk_points": 0}'])
def test_corrupted_manifest_is_named(cli, folder, content):
    out = folder / "corrupt"
    out.mkdir(exist_ok=True)
    (out / "manifest.json").write_bytes(content)
    status, lines = cli("sweep", folder / "sweep.toml", "--out", out, "--resume", suite="sweep folders")
    assert_one_line_error(status, lines, "manifest.json", "cannot be read as a jaxsot sweep manifest")


def test_a_second_sweep_on_the_same_out_is_refused_naming_the_lock(cli, folder):
    from jaxsot.cli._common import hold_lock

    out = folder / "locked"
    out.mkdir(exist_ok=True)
    with hold_lock(out):
        status, lines = cli("sweep", folder / "sweep.toml", "--out", out, "--resume", suite="sweep folders")
        assert_one_line_error(status, lines, "in use by another jaxsot process", str(out / ".lock"), f"pid {os.getpid()}")
    status, _ = cli("sweep", folder / "sweep.toml", "--out", out, "--resume", suite="sweep folders")
    assert status == "accepted"  # the lock went with its holder


def test_temporaries_are_removed_on_failure_and_after_a_kill(folder):
    from jaxsot.cli._sweep_store import atomic_save_npz, remove_temporaries

    chunks = folder / "chunks"
    chunks.mkdir(exist_ok=True)
    with pytest.raises(Exception):
        atomic_save_npz(chunks / "chunk_000000.npz", {"bad": np.asarray([lambda: 1], dtype=object)})
    assert sorted(p.name for p in chunks.iterdir()) == []
    (chunks / ".chunk_000001.npz.99999.tmp").write_bytes(b"PK torn")  # what a kill -9 leaves
    (chunks / "chunk_000002.npz").write_bytes(b"kept")
    assert remove_temporaries(chunks) == 1
    assert sorted(p.name for p in chunks.iterdir()) == ["chunk_000002.npz"]
    record("writers", "temporaries removed")


# ------------------------------------------------------------------------------------------------
# Writers: a planted link does not redirect a write; strict JSON; quoted, defused CSV cells.


def _plant(out: pathlib.Path, name: str) -> pathlib.Path:
    victim = out / f"victim-{name}"
    victim.write_text("precious")
    link = out / name
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(victim)
    return victim


def test_planted_links_do_not_redirect_writes(folder):
    from jaxsot.cli._common import write_json, write_table_csv, write_text
    from jaxsot.cli._sweep_store import atomic_write_bytes
    from jaxsot.fit._csv import read_csv, write_csv

    out = folder / "planted"
    out.mkdir(exist_ok=True)
    writers = {
        "results.json": lambda p: write_json(p, {"a": 1.0}),
        "config.toml": lambda p: write_text(p, "x = 1\n"),
        "timeseries.csv": lambda p: write_table_csv(p, {"t [fs]": np.arange(3.0)}),
        "manifest.json": lambda p: atomic_write_bytes(p, b"{}"),
        "synth.csv": lambda p: write_csv(p, read_csv(folder / "good.csv")[0]),
    }
    for name, write in writers.items():
        # The temporary names of earlier versions (predictable) and of a naive writer.
        victims = [_plant(out, f"{name}.tmp"), _plant(out, f".{name}.{os.getpid()}.tmp")]
        write(out / name)
        assert (out / name).is_file() and not (out / name).is_symlink(), name
        assert all(v.read_text() == "precious" for v in victims), name
        leftovers = [p.name for p in out.iterdir() if p.name.startswith(f".{name}.") and not p.is_symlink()]
        assert leftovers == [], leftovers
        record("writers", "planted link ignored")


def test_results_json_is_strict_and_lists_non_finite_values(folder):
    import jax.numpy as jnp

    from jaxsot.cli._common import write_json

    path = folder / "strict.json"
    found = write_json(path, {
        "a": float("nan"), "b": [1.0, float("inf")], "c": np.float32("nan"), "d": jnp.asarray([1.0, jnp.inf]),
        "e": {"f": np.asarray(2.5)}, "g": np.int64(3),
    })

    def refuse(constant):
        raise AssertionError(f"{constant} in strict JSON")

    data = json.loads(path.read_text(), parse_constant=refuse)
    assert data["a"] is None and data["b"] == [1.0, None] and data["c"] is None and data["d"] == [1.0, None]
    assert data["e"]["f"] == 2.5 and data["g"] == 3
    assert sorted(found) == sorted(data["non_finite_values"]) and len(found) == 4
    record("writers", "strict JSON")


@pytest.mark.parametrize("name", ["x,=1+1.csv", "=HYPERLINK(1).csv", "+cmd.csv", '"quoted".csv', "@sum.csv", "-1.csv"])
def test_fit_csv_cells_are_quoted_and_defused(folder, name):
    from jaxsot.cli.fit import _write_outputs
    from jaxsot.fit import read_csv

    data = folder / name
    data.write_text(GOOD_CSV)
    curve, _ = read_csv(data)
    n, c = curve.values.shape
    result = types.SimpleNamespace(
        predictions=[np.ones((n, c))], residuals=[np.zeros((n, c))], sigmas=[np.ones((n, c))],
        trace=np.ones((2, 3)), stage2_trace=None,
        to_dict=lambda: {"predictions": 0, "residuals": 0, "sigmas": 0, "trace": 0, "stage2_trace": 0, "loss": float("nan")},
    )
    args = types.SimpleNamespace(data=[str(data)])
    out = folder / "fit-csv"
    out.mkdir(exist_ok=True)
    non_finite = _write_outputs(out, result, [curve], args, 1.5, 0.1)
    assert non_finite == ["loss = nan"]
    with open(out / "fit.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert all(len(row) == 10 for row in rows)
    label = rows[1][0]
    assert label == (f"'{name}" if name[0] in "=+-@" else name)
    record("writers", "fit.csv label quoted")


def test_sweep_outputs_with_non_finite_values_are_counted_and_plots_skip_them(folder):
    import xarray as xr

    from jaxsot.cli._config import PlotSpec, parse_sweep_config
    from jaxsot.cli._sweep_store import non_finite_points, write_outputs

    config = parse_sweep_config(SMALL_SWEEP + "[sweep]\non_invalid = \"nan\"\n")
    alpha = np.asarray([0.02, 0.05, 0.1])
    error = np.asarray([0.1, np.nan, np.inf])  # point 1: NaN, point 2: inf (and eta is NaN at every point)
    dataset = xr.Dataset(
        {
            "status": (("alpha_eV_nm",), np.asarray([0, 0, 0], np.int8)),
            "damping_torque_error_strong_exchange": (("alpha_eV_nm",), error, {"units": "1"}),
            "eta": (("alpha_eV_nm",), np.asarray([np.nan, np.nan, np.nan]), {"units": "1"}),
        },
        coords={"alpha_eV_nm": ("alpha_eV_nm", alpha, {"units": "eV nm"})},
    )
    assert non_finite_points(dataset) == 3
    dataset["status"][2] = 1  # a point that could not be computed is NaN by design, not counted
    assert non_finite_points(dataset) == 2
    out = folder / "nan-sweep"
    out.mkdir(exist_ok=True)
    config = type(config)(**{**config.__dict__, "plots": (
        PlotSpec(variable="damping_torque_error_strong_exchange", x="alpha_eV_nm"), PlotSpec(variable="eta", x="alpha_eV_nm"),
    )})
    logged = []
    written = write_outputs(config, out, dataset, log=logged.append)
    assert "plots/01_damping_torque_error_strong_exchange_vs_alpha_eV_nm.png" in written  # the finite values, plotted
    assert not (out / "plots" / "02_eta_vs_alpha_eV_nm.png").exists()  # nothing finite: skipped, and said so
    assert any("02_eta_vs_alpha_eV_nm.png not written" in line for line in logged)
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[1].startswith("damping_torque_error_strong_exchange,1,1.0000000000e-01,")  # finite values only
    assert len(summary) == 2  # eta has no finite value: no row
    record("writers", "non-finite sweep outputs counted and skipped")


# ------------------------------------------------------------------------------------------------
# Data-integrity regressions (the end-to-end cases are in tests/cli/test_integrity.py): special files are
# neither written nor read, inputs inside --out are refused, empty option values are refused.


def _special_files(folder):
    import socket

    fifo, sock = folder / "special-fifo", folder / "special-sock"
    if not fifo.exists():
        os.mkfifo(fifo)
    if not sock.exists():
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(sock))
        server.close()
    return {"/dev/null": "a character device", "/dev/full": "a character device", fifo: "a FIFO", sock: "a socket",
            folder: "a folder"}


def test_special_output_files_are_refused_with_and_without_force(cli, folder):
    for target, kind in _special_files(folder).items():
        for extra in ([], ["--force"], ["--force", "--kind", "transient"]):
            status, lines = cli("synth", target, *extra, suite="special files, inputs, empty options")
            assert_one_line_error(status, lines, "output", kind)


@pytest.mark.parametrize("command", ["run", "sweep", "llg", "validate"])
def test_special_config_files_are_refused_before_reading(cli, folder, command):
    for target, kind in _special_files(folder).items():
        if target == folder:
            continue
        status, lines = cli(command, target, suite="special files, inputs, empty options")
        assert_one_line_error(status, lines, "config file", kind)


def test_special_data_files_are_refused_before_reading(cli, folder):
    for target in list(_special_files(folder))[:4]:
        status, lines = cli("fit", target, "--out", folder / "fit-out", suite="special files, inputs, empty options")
        assert_one_line_error(status, lines, "not a regular file")


@pytest.mark.parametrize("command", ["run", "llg", "validate", "fit"])
def test_inputs_inside_out_are_refused(cli, folder, command):
    out = folder / f"inside-{command}"
    out.mkdir(exist_ok=True)
    name = "fit.csv" if command == "fit" else "config.toml"
    (out / name).write_text(GOOD_CSV if command == "fit" else "")
    status, lines = cli(command, out / name, "--out", out, suite="special files, inputs, empty options")
    assert_one_line_error(status, lines, "is inside --out", "replaces")
    assert (out / name).read_text() == (GOOD_CSV if command == "fit" else "")


def test_existing_synth_output_needs_force(cli, folder):
    status, lines = cli("synth", folder / "good.csv", suite="special files, inputs, empty options")
    assert_one_line_error(status, lines, "already exists", "--force")
    status, _ = cli("synth", folder / "good.csv", "--force", suite="special files, inputs, empty options")
    assert status == "accepted" and (folder / "good.csv").read_text() == GOOD_CSV


@pytest.mark.parametrize("argv,fragment", [
    (["fit", "{good}", "--free", ""], "--free ''"),
    (["fit", "{good}", "--free", " , "], "--free ' , '"),
    (["synth", "{new}", "--columns", ""], "--columns ''"),
    (["synth", "{new}", "--columns", ","], "--columns ','"),
    (["sweep", "{sweep}", "--coordinator", "::::", "--num-processes", "2", "--process-id", "0"], "is not host:port"),
    (["sweep", "{sweep}", "--coordinator", "host:99999", "--num-processes", "2", "--process-id", "0"], "is not host:port"),
    (["sweep", "{sweep}", "--coordinator-timeout", "0"], "--coordinator-timeout = 0"),
])
def test_empty_and_malformed_option_values_are_refused(cli, folder, argv, fragment):
    paths = {"{good}": folder / "good.csv", "{new}": folder / "new.csv", "{sweep}": folder / "sweep.toml"}
    status, lines = cli(*[paths.get(a, a) for a in argv], "--out" if argv[0] != "synth" else "--seed",
                        folder / "opt-out" if argv[0] != "synth" else "0", suite="special files, inputs, empty options")
    assert_one_line_error(status, lines, fragment)


def test_debug_keeps_exit_status_2(cli, folder):
    bad = folder / "date.toml"
    bad.write_text("[model]\nalpha_eV_nm = 1979-05-27\n")
    for argv in (["run", bad], ["--debug", "run", bad]):
        status, lines = cli(*argv, suite="special files, inputs, empty options")
        assert status == 2 and lines[-1].endswith("alpha_eV_nm = 1979-05-27 is a date; allowed: a number"), lines

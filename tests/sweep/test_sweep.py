"""Parameter sweeps: physics against `simulate`, the CLI end to end (chunks, kill -9 and resume,
config-change refusal, NetCDF labels and units), 4 forced host devices, and 2 processes joined by
jax.distributed on localhost.

The CLI runs in subprocesses where a real process is needed (kill -9 and resume, forced host devices
that must be set before jax is imported, jax.distributed) and in-process otherwise (`run_cli`). The
subprocesses share one persistent compilation cache (the test session's, see conftest.py, or a
module-local one when that is off; the session's JAXSOT_COMPILATION_CACHE=0 is lifted for them), so
the program compiled by the first is loaded by the others: the suite tests behaviour, not the compiler.
"""

import json
import math
import os
import signal
import socket
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import jaxsot
from jaxsot.sweep import _compute as sweep_compute
from jaxsot.cli._config import DEFAULT_SWEEP_TOML, ConfigError, parse_sweep_config, sweep_identity
from jaxsot.cli._sweep_store import identity_changes, internal_points, sweep_points

SMALL = """\
[model]
alpha_eV_nm = 0.05
j_ex_eV = 1.0
theta_deg = 60.0
phi_deg = 30.0

[ensemble]
fermi_energy_eV = {fermi}
num_phi = 16
num_r = 4

[drive]
kind = "step"
efield_V_per_m = 1.0e5

[relaxation]
tau_fs = 10.0

[time]
t_end_fs = 20.0
num_steps = 3

[sweep]
mode = "grid"
chunk_points = 4

[sweep.parameters]
alpha_eV_nm = [0.02, 0.05, 0.1]
theta_deg = [0.0, 45.0, 90.0, 135.0]

[output]
observables = ["damping_torque", "spin_force_density", "field_like_torque", "current_density"]

[[output.plots]]
variable = "damping_torque_error_strong_exchange"
x = "alpha_eV_nm"
hue = "theta_deg"
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    environment = dict(os.environ)
    environment.pop("XLA_FLAGS", None)
    environment["JAX_PLATFORMS"] = "cpu"
    environment["JAXSOT_COMPILATION_CACHE"] = "1"  # conftest switches it off for the in-process CLI
    # The session's persistent cache when it is on (conftest), else one of this module's own.
    environment.setdefault("JAX_COMPILATION_CACHE_DIR", str(tmp_path_factory.mktemp("jax-cache")))
    return environment


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "small.toml"
    path.write_text(SMALL.format(fermi=1.5))
    return path


def sweep_cli(*args, env, cwd, extra=None):
    environment = dict(env, **(extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "jaxsot", "sweep", *args, "--no-progress"],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=240,
    )


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, env, config_file):
    """An uninterrupted single-device run of the small sweep."""
    folder = tmp_path_factory.mktemp("baseline")
    completed = sweep_cli(str(config_file), "--out", str(folder / "out"), env=env, cwd=folder)
    assert completed.returncode == 0, completed.stderr
    return folder / "out"


def open_nc(path):
    with xr.open_dataset(path, engine="h5netcdf") as dataset:
        return dataset.load()


def assert_same_results(actual, expected):
    """Equal to rounding: a device's share compiles to a program with another loop length, whose
    fusions may round differently (~1e-16 relative); the structure (NaN pattern) must be identical."""
    assert set(actual.data_vars) == set(expected.data_vars)
    for name in expected.data_vars:
        a, b = actual[name].values, expected[name].values
        assert np.array_equal(np.isfinite(a), np.isfinite(b)), name
        scale = float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0))
        np.testing.assert_allclose(a, b, rtol=0.0, atol=1e-13 * scale, err_msg=name)


# ------------------------------------------------------------------------------------------------
# Library: the sweep computes what simulate computes, point by point.


# The observables the CLI sweeps of this module store (SMALL's [output] observables): the library calls
# below select the same ones, so they and the in-process CLI sweeps share one compiled program.
STORED = ("damping_torque", "spin_force_density", "field_like_torque", "current_density")
LIBRARY_POINTS = {
    "alpha": np.array([0.05, 0.1, 0.05, 0.02]),
    "j_ex": np.array([1.0, 1.0, 1.0, 1.0]),
    "theta": np.array([1.0, 0.3, 1.0, 2.0]),
    "phi": np.array([0.5, 0.0, 0.5, 1.0]),
    "fermi_energy": np.array([1.5, 0.5, -3.0, 1.5]),  # both bands; lower band only; no electrons; both bands
    "efield": 1e-4,
    "efield_direction": np.array([0.0, 0.7, 0.0, 0.3]),
    "tau": np.array([10.0, np.inf, 10.0, 10.0]),
}


def test_sweep_observables_equal_simulate_per_point_and_mark_invalid_points():
    # Four points and three times: the shapes of the in-process CLI sweeps (chunks of 4 points), one compilation.
    points = LIBRARY_POINTS
    times = jnp.linspace(0.0, 20.0, 3)
    with pytest.raises(ValueError, match="sweep point 2 .*no electrons"):
        sweep_compute.sweep_observables(points, times, num_phi=16, num_r=4)
    result = sweep_compute.sweep_observables(points, times, num_phi=16, num_r=4, invalid="nan", observables=STORED)
    # Only the selected observables come back (spin_force_per_electron and spin_density_change are not computed).
    assert sorted(result) == sorted(
        [f"{name}_{a}" for name in STORED for a in sweep_compute.OBSERVABLES[name][0]]
        + [f"{name}_error_{a}" for name in STORED for a in sweep_compute.OBSERVABLES[name][0] if a != "exact"]
        + ["band_density", "eta", "min_splitting", "status"])
    with pytest.raises(ValueError, match="observables = .*'spin_rate' is not allowed"):
        sweep_compute.sweep_observables(points, times, num_phi=16, num_r=4, invalid="nan", observables=["spin_rate"])
    assert result["status"].tolist() == [0, 0, 1, 0]
    assert np.all(np.isnan(result["damping_torque_exact"][2]))
    assert result["band_density"][1, 1] == 0.0  # E_F = 0.5 eV < J: the upper band is empty
    for i in (0, 1, 3):
        model = jaxsot.RashbaFerromagnet.from_angles(points["alpha"][i], 1.0, points["theta"][i], points["phi"][i])
        angle = points["efield_direction"][i]
        drive = jaxsot.StepDrive(jnp.array([math.cos(angle), math.sin(angle)]) * 1e-4)
        tau = None if math.isinf(points["tau"][i]) else points["tau"][i]
        reference = jaxsot.simulate(model, points["fermi_energy"][i], drive, times, tau=tau, num_phi=16, num_r=4)
        for name in ("damping_torque", "field_like_torque", "spin_force_density", "current_density"):
            for approx, series in reference.observables[name].items():
                np.testing.assert_allclose(result[f"{name}_{approx}"][i], series, rtol=1e-11, atol=1e-14 * float(np.max(np.abs(series))))
            if "strong_exchange" in reference.observables[name]:
                assert result[f"{name}_error_strong_exchange"][i] == pytest.approx(
                    reference.relative_error(name, "strong_exchange"), rel=1e-9
                )
        np.testing.assert_allclose(result["band_density"][i], reference.band_densities, rtol=1e-12)


def test_sweep_status_agrees_with_the_library_checks():
    rng = np.random.default_rng(3)
    count = 40
    points = {
        "alpha": rng.uniform(0.01, 0.3, count),
        "j_ex": rng.uniform(0.02, 1.0, count),
        "theta": np.where(np.arange(count) < 15, math.pi / 2, rng.uniform(0.0, math.pi, count)),
        "phi": rng.uniform(0.0, 6.0, count),
        "fermi_energy": rng.uniform(-1.2, 2.0, count),
        "efield": 1e-4,
    }
    status = sweep_compute.sweep_status(points)
    assert len(set(status.tolist())) >= 3  # the sample exercises several outcomes
    for i in range(count):
        model = jaxsot.RashbaFerromagnet.from_angles(points["alpha"][i], points["j_ex"][i], points["theta"][i], points["phi"][i])
        # Sweeps run the ray route: its preconditions, as the library's fermi_sea_status checks them
        # (occupied_bands accepts any sea now, through the mesh route).
        try:
            statuses = [jaxsot.fermi_sea_status(model, points["fermi_energy"][i], s) for s in (-1, 1)]
            expected = 1 if all(status_s == "empty" for status_s in statuses) else 0
        except ValueError as error:
            text = str(error)
            expected = 4 if "star-shaped" in text else 2 if "band -1" in text else 3
        assert status[i] == expected, (i, str(status[i]), expected)


def test_sweep_inputs_are_checked_with_clear_errors():
    times = jnp.linspace(0.0, 10.0, 2)
    base = {"alpha": 0.05, "j_ex": 1.0, "theta": 1.0, "phi": 0.0, "fermi_energy": 1.5, "efield": 1e-4}
    with pytest.raises(ValueError, match=r"points\['j_ex'\]\[1\] = -1.0 eV is out of range"):
        sweep_compute.sweep_status(dict(base, j_ex=np.array([1.0, -1.0])))
    with pytest.raises(ValueError, match="lacks the required parameter 'efield'"):
        sweep_compute.sweep_status({k: v for k, v in base.items() if k != "efield"})
    with pytest.raises(ValueError, match="drive = 'pulse' is not allowed"):
        sweep_compute.sweep_observables(base, times, drive="pulse")
    with pytest.raises(ValueError, match="times"):
        sweep_compute.sweep_observables(base, jnp.array([0.0, 0.0, 1.0]))


# ------------------------------------------------------------------------------------------------
# Configuration.


def test_sweep_config_grid_random_and_one_line_errors():
    config = parse_sweep_config(SMALL.format(fermi=1.5))
    swept, shape = sweep_points(config)
    assert shape == (3, 4)
    assert swept["alpha_eV_nm"].reshape(shape)[:, 0].tolist() == [0.02, 0.05, 0.1]
    assert swept["theta_deg"].reshape(shape)[0].tolist() == [0.0, 45.0, 90.0, 135.0]
    random = parse_sweep_config(
        '[sweep]\nmode = "random"\nnum_points = 500\nseed = 7\n[sweep.parameters]\n'
        'alpha_eV_nm = { low = 0.01, high = 0.2, scale = "log" }\ntau_fs = { low = 1.0, high = 100.0 }\n'
    )
    values, shape = sweep_points(random)
    assert shape == (500,)
    assert 0.01 <= values["alpha_eV_nm"].min() and values["alpha_eV_nm"].max() <= 0.2
    # Log-uniform: about half the draws below the geometric mean.
    assert 0.4 < np.mean(values["alpha_eV_nm"] < math.sqrt(0.01 * 0.2)) < 0.6
    assert np.array_equal(values["tau_fs"], sweep_points(random)[0]["tau_fs"])  # seeded
    bad = {
        "alpha_eV_nm = [0.05, 50.0]": "alpha_eV_nm = 50.0 is out of range",
        "num_phi = [16, 32]": "num_phi cannot be swept",
        "ramp_time_fs = [1.0, 2.0]": "has no effect with [drive] kind = 'step'",
        "alpha_eV_nm = { start = 0.0, stop = 0.1, num = 3, scale = \"log\" }": "needs start > 0",
        "alpha_eV_nm = [0.05, 0.05]": "repeated values",
    }
    for line, message in bad.items():
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")) as info:
            parse_sweep_config(f"[sweep.parameters]\n{line}\n")
        assert "\n" not in str(info.value)


def test_the_embedded_default_sweep_parses_and_is_valid_everywhere():
    config = parse_sweep_config(DEFAULT_SWEEP_TOML)
    swept, shape = sweep_points(config)
    assert shape == (6, 4, 3)
    points = internal_points(config, swept)
    assert not sweep_compute.sweep_status(points).any()
    assert points["efield"][0] == pytest.approx(1e-4) and points["theta"].max() == pytest.approx(math.pi / 2)


def test_identity_ignores_chunking_and_names_changes():
    a = parse_sweep_config(SMALL.format(fermi=1.5))
    b = parse_sweep_config(SMALL.format(fermi=1.5).replace("chunk_points = 4", "chunk_points = 0"))
    c = parse_sweep_config(SMALL.format(fermi=1.2))
    assert sweep_identity(a, "float64") == sweep_identity(b, "float64")
    assert sweep_identity(a, "float64") != sweep_identity(a, "float32")
    changes = identity_changes(sweep_identity(a, "float64"), sweep_identity(c, "float64"))
    assert changes == ["run.ensemble.fermi_energy_eV (1.5 -> 1.2)"]


# ------------------------------------------------------------------------------------------------
# The CLI, end to end.


@pytest.mark.slow  # needs the baseline sweep subprocess
def test_netcdf_round_trip_has_labelled_axes_units_and_the_right_values(baseline):
    dataset = open_nc(baseline / "sweep.nc")
    assert dataset["damping_torque_exact"].dims == ("alpha_eV_nm", "theta_deg", "time", "xyz")
    assert dataset["damping_torque_error_strong_exchange"].dims == ("alpha_eV_nm", "theta_deg")
    assert dataset["alpha_eV_nm"].values.tolist() == [0.02, 0.05, 0.1]
    assert dataset["theta_deg"].values.tolist() == [0.0, 45.0, 90.0, 135.0]
    assert dataset["time"].values.tolist() == [0.0, 10.0, 20.0]
    assert dataset["alpha_eV_nm"].attrs["units"] == "eV nm"
    assert dataset["theta_deg"].attrs["units"] == "deg"
    assert dataset["time"].attrs["units"] == "fs"
    assert dataset["damping_torque_exact"].attrs["units"] == "1/(nm^2 fs)"
    assert dataset["spin_force_density_exact"].attrs["units"] == "eV/nm^3"
    assert dataset.attrs["fixed_j_ex_eV"] == 1.0 and dataset.attrs["precision"] == "float64"
    assert "spin_force_per_electron_exact" not in dataset  # not among the configured observables
    assert int(dataset["status"].max()) == 0
    # The value at a labelled grid point is simulate's for that point (SI inputs converted).
    model = jaxsot.RashbaFerromagnet.from_angles(0.1, 1.0, math.radians(135.0), math.radians(30.0))
    times = jnp.linspace(0.0, 20.0, 3)
    reference = jaxsot.simulate(model, 1.5, jaxsot.StepDrive(jnp.array([1e-4, 0.0])), times, tau=10.0, num_phi=16, num_r=4)
    stored = dataset["damping_torque_exact"].sel(alpha_eV_nm=0.1, theta_deg=135.0).values
    np.testing.assert_allclose(stored, reference.observables["damping_torque"]["exact"], rtol=1e-10)
    summary = (baseline / "summary.csv").read_text().splitlines()
    assert summary[0] == "variable,units,min,median,max,argmax"
    assert any(line.startswith("damping_torque_error_strong_exchange,1,") for line in summary)
    assert (baseline / "plots" / "01_damping_torque_error_strong_exchange_vs_alpha_eV_nm.png").read_bytes()[:4] == b"\x89PNG"


# A simulated crash: this wrapper makes `jaxsot sweep` SIGKILL itself right after its first chunk file
# is written (the shipped package has no such hook).
KILL_AFTER_FIRST_CHUNK = """\
import os, signal, sys
import jaxsot.cli.sweep as sweep
save = sweep.save_chunk
def save_then_die(*args, **kwargs):
    save(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
sweep.save_chunk = save_then_die
from jaxsot.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow  # subprocesses: a sweep killed with SIGKILL and resumed
def test_kill_9_then_resume_recomputes_nothing_and_gives_the_same_file(tmp_path, env, config_file, baseline, run_cli):
    out = tmp_path / "out"
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_FIRST_CHUNK, "sweep", str(config_file), "--out", str(out), "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    assert killed.returncode == -signal.SIGKILL
    first = out / "chunks" / "chunk_000000.npz"
    assert first.is_file() and not (out / "chunks" / "chunk_000001.npz").exists() and not (out / "sweep.nc").exists()
    stamp = first.stat().st_mtime_ns
    # What a kill in the middle of a write leaves behind: a partial temporary file.
    (out / "chunks" / ".chunk_000001.npz.99999.tmp").write_bytes(b"PK\x03\x04 torn")
    again = run_cli("sweep", str(config_file), "--out", str(out), "--no-progress", cwd=tmp_path)  # refused: no process needed
    assert again.returncode == 2 and "already holds a sweep" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    resumed = sweep_cli(str(config_file), "--out", str(out), "--resume", env=env, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 3 chunks already written" in resumed.stdout
    assert json.loads((out / "run.json").read_text())["computed_chunks"] == [1, 2]
    assert first.stat().st_mtime_ns == stamp
    assert (out / "sweep.nc").read_bytes() == (baseline / "sweep.nc").read_bytes()


@pytest.mark.slow  # needs the baseline sweep subprocess
def test_resume_with_a_changed_config_is_refused(tmp_path, baseline, run_cli):
    changed = tmp_path / "changed.toml"
    changed.write_text(SMALL.format(fermi=1.2))
    completed = run_cli("sweep", str(changed), "--out", str(baseline), "--resume", cwd=tmp_path)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "configuration differs" in lines[0] and "fermi_energy_eV (1.5 -> 1.2)" in lines[0]
    precision = run_cli("sweep", str(baseline / "config.toml"), "--out", str(baseline), "--resume", "--precision", "float32", cwd=tmp_path)
    assert precision.returncode == 2 and "precision ('float64' -> 'float32')" in precision.stderr


def test_bad_sweep_config_exits_2_with_one_line(tmp_path, run_cli):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.format(fermi=1.5).replace("[0.02, 0.05, 0.1]", "[0.02, 20.0]"))
    completed = run_cli("sweep", str(bad), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "alpha_eV_nm = 20.0 is out of range" in lines[0] and "Traceback" not in completed.stderr
    # A grid point whose Fermi sea is not supported is refused before anything is computed.
    annular = tmp_path / "annular.toml"
    annular.write_text(SMALL.format(fermi=-0.99).replace("j_ex_eV = 1.0", "j_ex_eV = 0.01"))
    refused = run_cli("sweep", str(annular), "--out", str(tmp_path / "annular"), cwd=tmp_path)
    assert refused.returncode == 2 and "cannot be computed" in refused.stderr
    assert not (tmp_path / "annular" / "manifest.json").exists()  # nothing written: fix it and run again


def test_invalid_points_are_stored_as_nan_with_their_status_when_asked(tmp_path, run_cli):
    config = tmp_path / "nan.toml"
    text = SMALL.format(fermi=1.5).replace('mode = "grid"', 'mode = "grid"\non_invalid = "nan"')
    text = text.replace("theta_deg = [0.0, 45.0, 90.0, 135.0]", "fermi_energy_eV = [-3.0, 0.5, 1.5, 3.0]")
    config.write_text(text.replace('hue = "theta_deg"', 'hue = "fermi_energy_eV"'))
    completed = run_cli("sweep", str(config), "--out", str(tmp_path / "out"), "--no-progress", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "3 points could not be computed" in completed.stdout
    dataset = open_nc(tmp_path / "out" / "sweep.nc")
    assert dataset["status"].sel(fermi_energy_eV=-3.0).values.tolist() == [1, 1, 1]  # below both bands
    assert int(dataset["status"].sel(fermi_energy_eV=[0.5, 1.5, 3.0]).max()) == 0
    assert np.all(np.isnan(dataset["damping_torque_exact"].sel(fermi_energy_eV=-3.0).values))
    assert np.all(np.isfinite(dataset["damping_torque_exact"].sel(fermi_energy_eV=0.5).values))
    upper = dataset["band_density"].sel(band="upper")
    assert np.all(upper.sel(fermi_energy_eV=0.5).values == 0.0) and np.all(upper.sel(fermi_energy_eV=3.0).values > 0.0)


@pytest.mark.slow  # a fresh interpreter with four forced host devices
def test_four_forced_host_devices_give_the_single_device_results(tmp_path, env, config_file, baseline):
    out = tmp_path / "out"
    completed = sweep_cli(
        str(config_file), "--out", str(out), env=env, cwd=tmp_path,
        extra={"XLA_FLAGS": "--xla_force_host_platform_device_count=4"},
    )
    assert completed.returncode == 0, completed.stderr
    assert "4 local device(s)" in completed.stdout
    assert len(json.loads((out / "run.json").read_text())["devices"]) == 4
    assert_same_results(open_nc(out / "sweep.nc"), open_nc(baseline / "sweep.nc"))


@pytest.mark.slow  # two jax.distributed processes
def test_two_processes_with_jax_distributed_on_localhost(tmp_path, env, config_file, baseline):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "out"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "jaxsot", "sweep", str(config_file), "--out", str(out), "--no-progress",
             "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", str(rank)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [p.communicate(timeout=240) for p in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
    assert "process 0 of 2" in outputs[0][0]
    runs = [json.loads((out / f"run.process{rank}.json").read_text()) for rank in (0, 1)]
    assert runs[0]["computed_chunks"] == [0, 2] and runs[1]["computed_chunks"] == [1]
    assert_same_results(open_nc(out / "sweep.nc"), open_nc(baseline / "sweep.nc"))


"""`jaxsot sweep --coordinator` with a [model] of another kind: the configuration is checked without
building the model (no JAX array, so jax.distributed.initialize can still run), the model is built and
every point checked once the processes have joined, and two processes on localhost merge the same
results as one process (1e-12); the ray-route bound of the work is checked before JAX starts.
"""

import json
import math
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import jaxsot
from jaxsot.cli import _model_config
from jaxsot.cli._config import ConfigError, parse_sweep_config
from jaxsot.cli._sweep_kinds import default_kind_sweep_toml
from jaxsot.cli._sweep_kinds_work import check_kind_work, plan_kind_sweep

# Slow tier: jax.distributed sweep processes on localhost.
pytestmark = pytest.mark.slow

# A user's model ("python:" kind: its sweepable keys are its parameter names, known only once it is
# built), three points in chunks of one: process 0 computes chunks 0 and 2, process 1 chunk 1.
USER = """\
[model]
kind = "python:jaxsot._models._ti_surface:TISurfaceFerromagnet"
hbar_v = 0.33
j_ex = 0.12
kinetic = 0.5
theta_deg = 30.0
phi_deg = 20.0

[ensemble]
fermi_energy_eV = 0.3
num_phi = 16
num_r = 4

[drive]
kind = "step"
efield_V_per_m = 1.0e5
direction_deg = 30.0

[relaxation]
tau_fs = 10.0

[time]
t_end_fs = 20.0
num_steps = 3

[sweep]
mode = "grid"
chunk_points = 1

[sweep.parameters]
j_ex = [0.1, 0.12, 0.15]

[output]
observables = ["damping_torque", "field_like_torque", "spin_density_change"]
"""


@pytest.mark.parametrize("kind", ["ti-surface", "rashba-dresselhaus", "square-lattice", "tight-binding", "python"])
def test_the_configuration_is_checked_without_building_the_model(kind, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model was built (JAX's backend would start before jax.distributed.initialize)")

    text = USER if kind == "python" else default_kind_sweep_toml(kind)
    monkeypatch.setattr(_model_config, "build_model", refuse)
    config = parse_sweep_config(text, kind, build=False)
    assert check_kind_work(config, kind) > 0.0
    with pytest.raises(AssertionError, match="the model was built"):
        parse_sweep_config(text, kind)


def test_a_user_models_keys_are_narrowed_to_its_parameter_names_once_it_is_built():
    # Unbuilt, every numeric key may be an axis; the parse after jax.distributed.initialize refuses one
    # that is not a parameter name of the model (a massless TI cone keeps kinetic = 0), naming the allowed ones.
    text = USER.replace("kinetic = 0.5", "kinetic = 0.0").replace("j_ex = [0.1, 0.12, 0.15]", "kinetic = [0.0, 0.5]")
    assert [a.name for a in parse_sweep_config(text, "user", build=False).axes] == ["kinetic"]
    with pytest.raises(ConfigError, match=r"kinetic is not a key of \[model\] kind = 'python:.*allowed: hbar_v, j_ex, theta_deg"):
        parse_sweep_config(text, "user")


def test_a_non_finite_point_is_refused_by_model_points_naming_it():
    # The configuration's ranges keep inf/NaN out; the plan's one guard is jaxsot.sweep.model_points.
    import dataclasses

    config = parse_sweep_config(USER, "user")
    axis = dataclasses.replace(config.axes[0], values=(0.1, math.nan, 0.15))
    config = dataclasses.replace(config, axes=(axis,))
    with pytest.raises(ConfigError, match=r"\[sweep.parameters\]: parameters\['j_ex'\]\[1\] = nan is not finite; allowed: finite values"):
        plan_kind_sweep(config, "user")


def test_two_processes_on_localhost_sweep_a_users_model_like_one_process(tmp_path, run_cli):
    (tmp_path / "user.toml").write_text(USER)
    single = run_cli("sweep", "user.toml", "--out", "one", "--no-progress", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    root = str(pathlib.Path(jaxsot.__file__).parents[1])  # this checkout's jaxsot in the child processes
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=os.pathsep.join(p for p in [root, env.get("PYTHONPATH", "")] if p))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "jaxsot", "sweep", "user.toml", "--out", "two", "--no-progress",
             "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", str(rank)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
    assert "process 0 of 2" in outputs[0][0]
    runs = [json.loads((tmp_path / "two" / f"run.process{rank}.json").read_text()) for rank in (0, 1)]
    assert runs[0]["computed_chunks"] == [0, 2] and runs[1]["computed_chunks"] == [1]
    with xr.open_dataset(tmp_path / "one" / "sweep.nc") as one, xr.open_dataset(tmp_path / "two" / "sweep.nc") as two:
        assert set(one.data_vars) == set(two.data_vars) and "damping_torque_exact" in one.data_vars
        np.testing.assert_array_equal(two["j_ex"].values, [0.1, 0.12, 0.15])
        for name in one.data_vars:
            expected, got = one[name].values, two[name].values
            if np.issubdtype(expected.dtype, np.floating):
                scale = max(float(np.nanmax(np.abs(expected))), 1e-300)
                np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * scale, err_msg=name)
            else:
                np.testing.assert_array_equal(got, expected, err_msg=name)
        assert np.all(np.isfinite(two["damping_torque_exact"].values)) and two["route"].values.tolist() == [0, 0, 0]

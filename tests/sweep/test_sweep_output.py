"""`jaxsot sweep` [output] approximations: only the chosen columns are computed and stored, and the
values kept are those of the full sweep (in-process runs of a 2-point sweep)."""

import numpy as np
import pytest
import xarray as xr

CONFIG = """\
[ensemble]
fermi_energy_eV = 1.5
num_phi = 16
num_r = 4

[time]
t_end_fs = 20.0
num_steps = 3

[sweep]
mode = "grid"

[sweep.parameters]
alpha_eV_nm = [0.02, 0.05]

[output]
observables = ["damping_torque"]
"""


def test_sweep_output_approximations_store_only_those_with_the_full_values(tmp_path, run_cli):
    full = tmp_path / "full.toml"
    full.write_text(CONFIG)
    part = tmp_path / "part.toml"
    part.write_text(CONFIG + 'approximations = ["exact", "second_order"]\n')
    for name in ("full", "part"):
        done = run_cli("sweep", str(tmp_path / f"{name}.toml"), "--out", str(tmp_path / name), "--no-progress", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "full" / "sweep.nc") as a, xr.open_dataset(tmp_path / "part" / "sweep.nc") as b:
        assert "damping_torque_strong_exchange" in a and "damping_torque_strong_exchange" not in b
        for variable in ("damping_torque_exact", "damping_torque_second_order", "damping_torque_error_second_order"):
            np.testing.assert_allclose(b[variable].values, a[variable].values, rtol=1e-12, atol=0)


def test_sweep_output_approximations_refuse_unknown_names_in_one_line(tmp_path, run_cli):
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG + 'approximations = ["first_order"]\n')
    done = run_cli("sweep", str(bad), "--out", str(tmp_path / "o"), "--no-progress", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "[output] approximations" in lines[0] and "'first_order'" in lines[0] and "strong_exchange" in lines[0], done.stderr


@pytest.mark.slow  # another chunk shape compiled
def test_sweep_chunk_sub_batches_report_progress_and_equal_one_call():
    import jax
    import jax.numpy as jnp

    import jaxsot.sweep as sweep_api
    from jaxsot.cli.sweep import _compute_chunk

    points = sweep_api.normalize_points({"alpha": np.linspace(0.02, 0.08, 5), "j_ex": 1.0, "theta": 1.0, "phi": 0.5,
                                         "fermi_energy": 1.5, "efield": 1e-4})
    status, upper = sweep_api.sea_checks(points)
    assert not status.any()
    times = jnp.linspace(0.0, 20.0, 3)
    settings = dict(drive="step", num_phi=16, num_r=4, substeps=4, batch_points=1, devices=tuple(jax.local_devices()[:1]),
                    state_chunk=1024, selection=None)
    updates = []
    meter = type("Meter", (), {"update": lambda self, done, total: updates.append((done, total))})()
    take = np.arange(5)
    split = _compute_chunk(sweep_api, points, upper, take, times, settings, meter)
    whole = sweep_api.compute_points(points, upper, times, **settings)
    assert updates == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    for key, value in whole.items():
        np.testing.assert_allclose(split[key], value, rtol=1e-12, atol=1e-300)  # another program shape: rounding only

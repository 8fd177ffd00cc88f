"""`jaxsot sweep` [output] approximations: only the chosen columns are computed and stored, and the
values kept are those of the full sweep (in-process runs of a 2-point sweep)."""

import numpy as np
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

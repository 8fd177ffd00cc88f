"""`jaxsot sweep` with a [model] of another kind: every point equals `jaxsot.simulate` of the model built
here from its constructor (an independent route: no config parsing, no sweep code) to 1e-12, for a TI
surface (ray route) and the square-lattice model (mesh route); a deleted chunk is recomputed alone on
--resume with the same file; the refusals (a key the kind lacks, a closed form, a bad value, a point
that cannot be computed) are one line before any work; every kind's default sweep parses.

The CLI runs in this process (`run_cli`), with small seas and three output times.
"""

import dataclasses
import json
import math
import shutil

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import jaxsot
from jaxsot.cli._config import ConfigError, parse_sweep_config
from jaxsot.cli._model_config import KIND_SCHEMAS, KINDS, build_model

# Slow tier: sweeps of every model kind (one program per kind).
pytestmark = pytest.mark.slow

TI = """\
[model]
kind = "ti-surface"
hbar_v_eV_nm = 0.33
j_ex_eV = 0.12
kinetic_eV_nm2 = 0.5
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
chunk_points = 2

[sweep.parameters]
fermi_energy_eV = [0.25, 0.35]
j_ex_eV = [0.1, 0.15]

[output]
observables = ["damping_torque", "field_like_torque", "spin_density_change"]
"""
OBSERVABLES = ("damping_torque", "field_like_torque", "spin_density_change")


def _direction(theta_deg, phi_deg):
    t, p = math.radians(theta_deg), math.radians(phi_deg)
    return jnp.asarray([math.sin(t) * math.cos(p), math.sin(t) * math.sin(p), math.cos(t)])


def _simulate(model, fermi_energy, direction_deg=30.0):
    # E = 1e5 V/m = 1e-4 V/nm along direction_deg; the same times, tau and sea sizes as the config.
    angle = math.radians(direction_deg)
    drive = jaxsot.StepDrive(jnp.asarray([math.cos(angle), math.sin(angle)]) * 1e-4)
    return jaxsot.simulate(model, fermi_energy, drive, jnp.linspace(0.0, 20.0, 3), tau=10.0, num_phi=16, num_r=4,
                           observables=list(OBSERVABLES), approximations=["exact"])


def _assert_equal_to(result, dataset, where):
    for name in OBSERVABLES:
        expected = np.asarray(result.observables[name]["exact"])
        got = dataset[f"{name}_exact"].sel(where).values
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max(), err_msg=f"{name} {where}")
    np.testing.assert_allclose(dataset["band_density"].sel(where).values, np.asarray(result.band_densities), rtol=1e-12)
    assert int(dataset["route"].sel(where)) == jaxsot.sweep.ROUTE_CODES[result.route]


@pytest.fixture(scope="module")
def ti_sweep(tmp_path_factory, run_cli):
    folder = tmp_path_factory.mktemp("ti")
    (folder / "ti.toml").write_text(TI)
    done = run_cli("sweep", "ti.toml", "--out", "out", "--no-progress", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_ti_surface_sweep_equals_simulate_of_the_model_built_directly(ti_sweep):
    with xr.open_dataset(ti_sweep / "out" / "sweep.nc") as dataset:
        dataset = dataset.load()
    assert dataset.attrs["model_kind"] == "ti-surface" and "eta" not in dataset
    assert "damping_torque_second_order" not in dataset and "damping_torque_error_strong_exchange" not in dataset
    assert dataset["j_ex_eV"].attrs["units"] == "eV" and dataset["fermi_energy_eV"].attrs["units"] == "eV"
    assert dataset.attrs["fixed_hbar_v_eV_nm"] == 0.33 and dataset.attrs["fixed_kinetic_eV_nm2"] == 0.5
    for j_ex in (0.1, 0.15):
        model = jaxsot.TISurfaceFerromagnet(0.33, j_ex, _direction(30.0, 20.0), kinetic=0.5).astype(jnp.float64)
        for fermi in (0.25, 0.35):
            _assert_equal_to(_simulate(model, fermi), dataset, {"j_ex_eV": j_ex, "fermi_energy_eV": fermi})
    summary = (ti_sweep / "out" / "summary.csv").read_text()
    assert "damping_torque_exact,1/(nm^2 fs)" in summary and "route" not in summary and "fermi_energy_eV=" in summary
    assert sorted(p.name for p in (ti_sweep / "out" / "plots").iterdir()) == ["01_damping_torque_exact_vs_fermi_energy_eV.png"]


def test_a_deleted_chunk_alone_is_recomputed_on_resume_and_the_file_is_the_same(ti_sweep, tmp_path, run_cli):
    out = tmp_path / "out"
    shutil.copytree(ti_sweep / "out", out)
    for name in ("sweep.nc", "summary.csv", "run.json", "chunks/chunk_000001.npz"):
        (out / name).unlink()  # killed while chunk 1 was computed: it and the merged files are missing
    done = run_cli("sweep", str(ti_sweep / "ti.toml"), "--out", str(out), "--resume", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "resuming: 1 of 2 chunks already written, 1 to compute here" in done.stdout
    assert json.loads((out / "run.json").read_text())["computed_chunks"] == [1]
    assert (out / "sweep.nc").read_bytes() == (ti_sweep / "out" / "sweep.nc").read_bytes()
    # A changed fixed model parameter is another sweep: --resume is refused, naming it.
    changed = tmp_path / "changed.toml"
    changed.write_text(TI.replace("hbar_v_eV_nm = 0.33", "hbar_v_eV_nm = 0.3"))
    done = run_cli("sweep", str(changed), "--out", str(out), "--resume", "--no-progress", cwd=tmp_path)
    assert done.returncode == 2 and "run.model.hbar_v_eV_nm (0.33 -> 0.3)" in done.stderr, done.stderr


def test_sweeping_theta_alone_keeps_the_configured_phi_from_the_pole(tmp_path, run_cli):
    # The [model] M at the pole (theta = 0) has no azimuth of its own: phi_deg = 30 must come from the table.
    text = TI.replace("theta_deg = 30.0\nphi_deg = 20.0", "theta_deg = 0.0\nphi_deg = 30.0")
    text = text.replace("fermi_energy_eV = [0.25, 0.35]\nj_ex_eV = [0.1, 0.15]", "theta_deg = [90.0]")
    (tmp_path / "theta.toml").write_text(text)
    done = run_cli("sweep", "theta.toml", "--out", "out", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "out" / "sweep.nc") as dataset:
        dataset = dataset.load()
    model = jaxsot.TISurfaceFerromagnet(0.33, 0.12, _direction(90.0, 30.0), kinetic=0.5).astype(jnp.float64)
    _assert_equal_to(_simulate(model, 0.3), dataset, {"theta_deg": 90.0})


def test_the_direction_of_m_sweeps_through_with_magnetization_and_equals_simulate(tmp_path, run_cli):
    text = TI.replace("fermi_energy_eV = [0.25, 0.35]\nj_ex_eV = [0.1, 0.15]", "theta_deg = [0.0, 60.0]\nphi_deg = [20.0, 110.0]")
    (tmp_path / "angles.toml").write_text(text)
    done = run_cli("sweep", "angles.toml", "--out", "out", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "out" / "sweep.nc") as dataset:
        dataset = dataset.load()
    assert dataset["theta_deg"].attrs["units"] == "deg" and dataset.attrs["fixed_j_ex_eV"] == 0.12
    for theta in (0.0, 60.0):
        for phi in (20.0, 110.0):
            model = jaxsot.TISurfaceFerromagnet(0.33, 0.12, _direction(theta, phi), kinetic=0.5).astype(jnp.float64)
            _assert_equal_to(_simulate(model, 0.3), dataset, {"theta_deg": theta, "phi_deg": phi})
    # M turned: the in-plane component of M changes the damping-like torque (not a copy of one point).
    t2 = dataset["damping_torque_exact"].isel(time=-1).values
    assert np.abs(t2[1, 0] - t2[1, 1]).max() > 1e-3 * np.abs(t2).max()


def test_random_points_of_a_kind_are_stored_with_their_values_and_equal_simulate(tmp_path, run_cli):
    text = TI.replace('mode = "grid"', 'mode = "random"\nnum_points = 3\nseed = 7').replace(
        "fermi_energy_eV = [0.25, 0.35]\nj_ex_eV = [0.1, 0.15]", "j_ex_eV = { low = 0.1, high = 0.2 }")
    (tmp_path / "random.toml").write_text(text)
    done = run_cli("sweep", "random.toml", "--out", "out", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "out" / "sweep.nc") as dataset:
        dataset = dataset.load()
    j_values = dataset["j_ex_eV"].values
    assert dataset["j_ex_eV"].dims == ("point",) and len(set(j_values)) == 3 and np.all((0.1 <= j_values) & (j_values <= 0.2))
    for point, j_ex in enumerate(j_values):
        model = jaxsot.TISurfaceFerromagnet(0.33, float(j_ex), _direction(30.0, 20.0), kinetic=0.5).astype(jnp.float64)
        _assert_equal_to(_simulate(model, 0.3), dataset, {"point": point})


def test_square_lattice_default_sweep_runs_the_mesh_route_and_equals_simulate(tmp_path, run_cli):
    text = run_cli("default-config", "sweep", "--model", "square-lattice", cwd=tmp_path).stdout
    assert 'kind = "square-lattice"' in text and "lam_eV = [0.05, 0.1]" in text
    (tmp_path / "sq.toml").write_text(text)
    done = run_cli("sweep", "sq.toml", "--out", "out", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "out" / "sweep.nc") as dataset:
        dataset = dataset.load()
    assert dataset["lam_eV"].attrs["units"] == "eV" and dataset["route"].values.tolist() == [1, 1]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["chunk_points"] == 2  # chunk_points = 0: min(P, 8)
    nodes = 0
    for lam in (0.05, 0.1):
        model = jaxsot.SquareLatticeRashbaFerromagnet(1.0, 0.4, lam, 0.3, _direction(0.0, 0.0)).astype(jnp.float64)
        _assert_equal_to(_simulate(model, 0.5, direction_deg=0.0), dataset, {"lam_eV": lam})
        nodes += _mesh_states(model, 0.5)
    # The throughput counts the mesh nodes each point evaluated (sea nodes + Fermi-line nodes at the
    # 2 shift nodes per step), not the 2 x 16 x 4 + 4 x 16 = 192 states of the ray route.
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["state_steps_computed"] == nodes * 3 and nodes != 2 * 192, (info["state_steps_computed"], nodes)
    assert info["states_per_point"] is None and json.loads((tmp_path / "out" / "manifest.json").read_text())["states_per_point"] is None
    rate = nodes * 3 / info["compute_seconds"]
    assert info["state_steps_per_second"] == pytest.approx(rate, rel=1e-12)
    assert f"{rate:.3g} state-steps/s" in done.stdout, done.stdout


def _mesh_states(model, fermi_energy):
    """States per time step of the mesh route, counted from the library's node sets (no simulate)."""
    from jaxsot._fermi._route import sea_ensemble

    e_f = jnp.asarray(fermi_energy, jnp.float64)
    sea, contour, *_ = sea_ensemble(model, e_f, jaxsot.occupied_bands(model, e_f), "mesh")
    return int(sea[0].shape[0]) + 2 * int(contour[0].shape[0])  # the contour at the 2 Gauss nodes of the shift


def _refused(run_cli, tmp_path, text, *parts):
    (tmp_path / "bad.toml").write_text(text)
    done = run_cli("sweep", "bad.toml", "--out", "o", "--no-progress", cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    assert not (tmp_path / "o").exists()  # nothing written: refused before any work


@pytest.mark.parametrize("change, parts", [
    (("j_ex_eV = [0.1, 0.15]", "alpha_eV_nm = [0.1, 0.15]"),
     ["[sweep.parameters] alpha_eV_nm is not a key of [model] kind = 'ti-surface'",
      "allowed: hbar_v_eV_nm, j_ex_eV, kinetic_eV_nm2, theta_deg, phi_deg, fermi_energy_eV"]),
    (("j_ex_eV = [0.1, 0.15]", "tau_fs = [5.0, 10.0]"),
     ["tau_fs is not a key of [model] kind = 'ti-surface' (a drive or relaxation key: swept for kind = 'rashba' only)"]),
    (("j_ex_eV = [0.1, 0.15]", "theta_deg = [0.0, 190.0]"), ["[sweep.parameters] theta_deg = 190.0 is out of range", "[0, 180]"]),
    (('observables = ["damping_torque"', 'approximations = ["exact", "strong_exchange"]\nobservables = ["damping_torque"'),
     ["[output] approximations", "strong_exchange", "kind = 'ti-surface' has exact results only", "allowed: [\"exact\"]"]),
    (("j_ex_eV = [0.1, 0.15]", "j_ex_eV = [0.1, -0.15]"), ["[sweep.parameters] j_ex_eV = -0.15 is out of range", "[0.001, 100]"]),
    (("fermi_energy_eV = [0.25, 0.35]", "fermi_energy_eV = [0.25, -3.0]"),
     ["sweep point 2 (fermi_energy_eV = -3, j_ex_eV = 0.1)", "kind = 'ti-surface' cannot be computed", "no electrons"]),
])
def test_refusals_are_one_line_before_any_work(run_cli, tmp_path, change, parts):
    _refused(run_cli, tmp_path, TI.replace(*change), *parts)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "rashba"])
def test_each_kinds_default_sweep_parses_with_its_own_keys(kind, run_cli, tmp_path):
    from jaxsot.cli._sweep_kinds import KIND_KEYS

    done = run_cli("default-config", "sweep", "--model", kind, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = parse_sweep_config(done.stdout, "default")
    assert config.approximations == ("exact",) and config.axes
    model = build_model(config.run.model, jnp.float64)
    schema = {f.name for f in dataclasses.fields(KIND_SCHEMAS[kind])}
    for key, (name, _) in KIND_KEYS[kind].items():  # every sweepable key is a [model] key and a model parameter
        assert key in schema and name in jaxsot.parameter_names(model), (kind, key, name)
    assert max(len(line) for line in done.stdout.splitlines()) <= 100


def test_llg_and_validate_defaults_still_refuse_other_kinds(run_cli, tmp_path):
    done = run_cli("default-config", "validate", "--model", "ti-surface", cwd=tmp_path)
    assert done.returncode == 2 and "Rashba ferromagnet" in done.stderr and "validate" in done.stderr


def _user_model(text):
    text = text.replace('kind = "ti-surface"', 'kind = "python:jaxsot._models._ti_surface:TISurfaceFerromagnet"')
    return text.replace("hbar_v_eV_nm", "hbar_v").replace("kinetic_eV_nm2", "kinetic").replace("j_ex_eV = 0.12", "j_ex = 0.12")


def test_a_users_own_model_sweeps_its_parameter_names(tmp_path):
    text = _user_model(TI)
    config = parse_sweep_config(text.replace("j_ex_eV = [0.1, 0.15]", "j_ex = [0.1, 0.15]"), "user")
    assert [a.name for a in config.axes] == ["fermi_energy_eV", "j_ex"]
    with pytest.raises(ConfigError, match=r"j_ex_eV is not a key of \[model\] kind = 'python:.*allowed: hbar_v, j_ex, kinetic, theta_deg, phi_deg, fermi_energy_eV"):
        parse_sweep_config(text, "user")


def test_a_point_the_models_constructor_refuses_is_named_with_its_values(run_cli, tmp_path):
    # A user's model has no schema ranges: its constructor checks every point (j_ex >= 0) before any work.
    text = _user_model(TI).replace("j_ex_eV = [0.1, 0.15]", "j_ex = [0.1, -0.15]")
    _refused(run_cli, tmp_path, text, "sweep point 1 (fermi_energy_eV = 0.25, j_ex = -0.15)", "cannot be computed", "j_ex")


@pytest.mark.parametrize("precision, start_x64", [("float64", False), ("float32", True)])
def test_every_point_is_checked_in_the_precision_of_the_compute(run_cli, tmp_path, monkeypatch, precision, start_x64):
    # The check must not run in whatever precision the process started with (a fresh process: float32)
    # but in --precision: a point near a threshold is then judged as it is computed. The sweep is
    # refused at its last point (no electrons), so nothing is computed.
    import jax

    seen = []
    occupied_bands = jaxsot.occupied_bands

    def spy(model, fermi_energy, *args, **kwargs):
        leaves = [leaf for leaf in jax.tree_util.tree_leaves(model) if hasattr(leaf, "dtype")]
        seen.append({str(leaf.dtype) for leaf in leaves} | {str(jnp.asarray(fermi_energy).dtype)})
        return occupied_bands(model, fermi_energy, *args, **kwargs)

    monkeypatch.setattr(jaxsot, "occupied_bands", spy)
    jax.config.update("jax_enable_x64", start_x64)  # put back to float64 by run_cli
    text = TI.replace("fermi_energy_eV = [0.25, 0.35]", "fermi_energy_eV = [0.25, -3.0]")
    (tmp_path / "bad.toml").write_text(text)
    done = run_cli("sweep", "bad.toml", "--out", "o", "--no-progress", "--precision", precision, cwd=tmp_path)
    assert done.returncode == 2 and "no electrons" in done.stderr, done.stderr
    assert len(seen) == 3 and all(kinds == {precision} for kinds in seen), seen


def test_on_invalid_nan_stores_points_without_electrons_as_nan_and_computes_the_others(ti_sweep, tmp_path, run_cli):
    # Chunks of 3: the first holds points 0, 1 (computed) and 2 (not), the second point 3 alone (not).
    text = TI.replace('mode = "grid"', 'mode = "grid"\non_invalid = "nan"').replace("chunk_points = 2", "chunk_points = 3").replace(
        "fermi_energy_eV = [0.25, 0.35]", "fermi_energy_eV = [0.25, -3.0]")
    (tmp_path / "nan.toml").write_text(text)
    done = run_cli("sweep", "nan.toml", "--out", "out", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "note: 2 points could not be computed (NaN; see the status variable): 2 x no electrons" in done.stdout, done.stdout
    with xr.open_dataset(tmp_path / "out" / "sweep.nc") as dataset:
        dataset = dataset.load()
    with xr.open_dataset(ti_sweep / "out" / "sweep.nc") as reference:
        reference = reference.load()
    assert dataset.attrs["invalid_points"] == 2 and dataset.attrs["non_finite_points"] == 0
    # Only the two valid points are evaluated (the second chunk, all invalid, computes nothing): each the
    # ray route's 2 bands x 16 x 4 sea nodes + 2 shifts x 2 bands x 16 contour nodes, at 3 times.
    assert json.loads((tmp_path / "out" / "run.json").read_text())["state_steps_computed"] == 2 * (2 * 16 * 4 + 2 * 2 * 16) * 3
    assert dataset["status"].attrs["flag_meanings"].startswith("ok no_electrons")
    for j_ex in (0.1, 0.15):
        bad, good = {"fermi_energy_eV": -3.0, "j_ex_eV": j_ex}, {"fermi_energy_eV": 0.25, "j_ex_eV": j_ex}
        assert int(dataset["status"].sel(bad)) == 1 and int(dataset["route"].sel(bad)) == -1
        assert int(dataset["status"].sel(good)) == 0 and int(dataset["route"].sel(good)) == 0
        for name in OBSERVABLES:  # a computed point: the values of the sweep without the bad points (= simulate)
            assert np.isnan(dataset[f"{name}_exact"].sel(bad).values).all()
            np.testing.assert_array_equal(dataset[f"{name}_exact"].sel(good).values, reference[f"{name}_exact"].sel(good).values)
    # The summary leaves the NaN points out: its values are those of the computed points.
    summary = (tmp_path / "out" / "summary.csv").read_text()
    assert "nan" not in summary.lower() and "fermi_energy_eV=0.25" in summary
    # Every point invalid: refused before any work, naming why.
    _refused(run_cli, tmp_path, text.replace("[0.25, -3.0]", "[-3.0, -2.0]"), "none of the 4 sweep points can be computed", "no electrons")


def test_a_fresh_process_splits_the_cores_into_devices_before_the_model_is_built(tmp_path):
    # The [model] is built when the configuration is read (JAX's backend starts there): the cores
    # must already be devices then, as for `jaxsot run`, or the sweep runs on one core.
    import os
    import subprocess
    import sys

    (tmp_path / "ti.toml").write_text(TI)
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run([sys.executable, "-m", "jaxsot", "sweep", "ti.toml", "--out", "out", "--no-progress"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert len(info["devices"]) == max(1, min(os.cpu_count() or 1, 16)), info["devices"]
    assert info["precision"] == "float64"

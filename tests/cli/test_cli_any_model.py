"""The command line for any [model] kind: the mass-ratio range shared with the library, `jaxsot fit`
of paper-unit tables for other kinds (and its refusals), and `jaxsot sweep` over a model's named
parameters."""

import math

import pytest

import jaxsot
from jaxsot.cli._config import ConfigError, parse_run_config
from jaxsot.cli._config_llg import parse_llg_config


# ------------------------------------------------------------------------------------------------
# The mass-ratio range: one source (the library's), so the CLI refuses exactly what the library does.

MASS_LOW, MASS_HIGH = 1.0e-3, 100.0  # the documented range, written out (not read from the code under test)


@pytest.mark.parametrize("value", [MASS_LOW * 0.5, MASS_HIGH * 1.5])
def test_mass_ratio_outside_the_library_range_is_refused_by_every_cli_surface(value, run_cli, tmp_path):
    with pytest.raises(ValueError, match="mass_ratio"):
        jaxsot.RashbaFerromagnet(0.05, 1.0, [0.0, 0.0, 1.0], value)
    with pytest.raises(ConfigError, match=rf"mass_ratio = {value:g}.*allowed: \[0\.001, 100\]"):
        parse_run_config(f"[model]\nmass_ratio = {value!r}\n", "run.toml")
    with pytest.raises(ConfigError, match=rf"mass_ratio = {value:g}.*allowed: \[0\.001, 100\]"):
        parse_run_config(f'[model]\nkind = "rashba-dresselhaus"\nmass_ratio = {value!r}\n', "rd.toml")
    with pytest.raises(ConfigError, match=rf"mass_ratio = {value:g}.*allowed: \[0\.001, 100\]"):
        parse_llg_config(f"[electrons]\nmass_ratio = {value!r}\n", "llg.toml")
    completed = run_cli("synth", str(tmp_path / "s.csv"), "--mass-ratio", repr(value), "--points", "5", cwd=tmp_path)
    assert completed.returncode == 2 and "--mass-ratio" in completed.stderr and "[0.001, 100]" in completed.stderr
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("value", [MASS_LOW, MASS_HIGH])
def test_mass_ratio_at_the_ends_of_the_range_is_accepted_by_cli_and_library(value):
    config = parse_run_config(f"[model]\nmass_ratio = {value!r}\n", "run.toml")
    assert config.model.mass_ratio == value
    assert math.isclose(float(jaxsot.RashbaFerromagnet(0.05, 1.0, [0.0, 0.0, 1.0], value).mass_ratio), value)


# ------------------------------------------------------------------------------------------------
# `jaxsot fit` / `jaxsot synth` with another [model] kind: refusals before any work.


def test_st_fmr_synth_with_another_kind_is_refused_in_one_line(run_cli, tmp_path):
    # Harmonic Hall synthesis takes any kind (tests/cli/test_fit_hall_kinds.py); ST-FMR the Rashba ferromagnet only.
    completed = run_cli("synth", str(tmp_path / "h.csv"), "--kind", "st-fmr", "--model-kind", "ti-surface", cwd=tmp_path)
    assert completed.returncode == 2
    line = completed.stderr.strip()
    assert "\n" not in line and "'ti-surface'" in line and "kind = 'rashba'" in line
    assert not (tmp_path / "h.csv").exists()


def test_fit_free_names_of_another_kind_are_checked(run_cli, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("phi_M [deg],T_DL_y [1/(nm^2 fs)]\n0,1e-5\n90,2e-5\n180,1e-5\n")
    completed = run_cli("fit", str(data), "--model-kind", "ti-surface", "--free", "alpha", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert completed.returncode == 2 and "hbar_v, j_ex, kinetic, tau" in completed.stderr
    completed = run_cli("fit", str(data), "--model-kind", "ti-surface", "--guess", "kinetic=-1", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert completed.returncode == 2 and "kinetic = -1 is out of range" in completed.stderr


def test_sweep_model_refuses_an_out_of_range_point_before_any_work():
    import jax.numpy as jnp
    import numpy as np

    model = jaxsot.TISurfaceFerromagnet(0.3, 0.1, [0.0, 0.0, 1.0], kinetic=0.05)
    with pytest.raises(ValueError, match=r"sweep point 2 \(j_ex = -0.05\).*j_ex.*-0.05"):
        jaxsot.sweep_model(model, 0.3, jaxsot.StepDrive(jnp.asarray([1e-4, 0.0])), np.linspace(0.0, 1.0, 3),
                           {"j_ex": [0.1, 0.05, -0.05]}, tau=10.0, progress=lambda done, total: pytest.fail("work started"))

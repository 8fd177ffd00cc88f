"""The command line for any [model] kind: the mass-ratio range shared with the library, `jaxsot fit`
of paper-unit tables for other kinds (and its refusals), and `jaxsot sweep` over a model's named
parameters (issue 19, items 4-6)."""

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

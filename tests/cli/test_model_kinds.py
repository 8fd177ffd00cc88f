"""[model] kind = ... in `jaxsot run` configurations: every shipped kind, a user's own model by import path,
the commented defaults of `jaxsot default-config run --model KIND`, and one-line errors before any work."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot.cli._config import ConfigError, DEFAULT_RUN_TOML, parse_run_config
from jaxsot.cli._model_config import KINDS, build_model, with_model_kind

# Slow tier: runs of every model kind (one program per kind).
pytestmark = pytest.mark.slow

SMALL = """
[ensemble]
fermi_energy_eV = 0.3
num_phi = 16
num_r = 4

[time]
t_end_fs = 20.0
num_steps = 11
"""


def _with_model(model_toml):
    return model_toml + SMALL


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "rashba"])
def test_each_default_model_table_parses_and_builds(kind, run_cli, tmp_path):
    completed = run_cli("default-config", "run", "--model", kind, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert f'kind = "{kind}"' in completed.stdout
    config = parse_run_config(completed.stdout, "default")
    model = build_model(config.model, jnp.float64)
    assert isinstance(model, jaxsot.TwoBandModel) and not jaxsot.has_paper_forms(model)
    from jaxsot.cli._preflight import check_run

    check_run(config, "default")  # the default's Fermi seas are supported (the pre-check of `jaxsot run`)
    # the written config.toml round-trips
    from jaxsot.cli._config import config_to_toml

    again = parse_run_config(config_to_toml(config), "again")
    assert again == config


def test_tight_binding_default_is_the_square_lattice_model():
    tb = build_model(parse_run_config(with_model_kind(DEFAULT_RUN_TOML, "tight-binding")).model, jnp.float64)
    sq = jaxsot.SquareLatticeRashbaFerromagnet(1.0, 0.4, 0.1, 0.3, [0.0, 0.0, 1.0])
    k = np.random.default_rng(1).uniform(-5.0, 5.0, (6, 2))
    for kx, ky in k:
        for s in (-1, 1):
            np.testing.assert_allclose(float(jaxsot.band_energy(tb, jnp.asarray([kx, ky]), s)),
                                       float(jaxsot.band_energy(sq, jnp.asarray([kx, ky]), s)), rtol=1e-12, atol=1e-12)


def test_ti_surface_run_reports_exact_results_only(run_cli, tmp_path):
    config = tmp_path / "ti.toml"
    config.write_text(_with_model('[model]\nkind = "ti-surface"\nhbar_v_eV_nm = 0.3\nj_ex_eV = 0.1\nkinetic_eV_nm2 = 0.05\ntheta_deg = 30.0\n'))
    completed = run_cli("run", str(config), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "TISurfaceFerromagnet" in completed.stdout and "exact results only" in completed.stdout
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    text = json.dumps(results)
    assert "strong_exchange_at_peak" not in text
    assert "ti-surface" in (tmp_path / "out" / "config.toml").read_text()


def test_user_model_by_import_path_equals_the_shipped_kind():
    path = "python:jaxsot._models._ti_surface:TISurfaceFerromagnet"
    user = parse_run_config(_with_model(f'[model]\nkind = "{path}"\nhbar_v = 0.3\nj_ex = 0.1\nkinetic = 0.05\ntheta_deg = 30.0\n'))
    shipped = parse_run_config(_with_model('[model]\nkind = "ti-surface"\nhbar_v_eV_nm = 0.3\nj_ex_eV = 0.1\nkinetic_eV_nm2 = 0.05\ntheta_deg = 30.0\n'))
    a, b = build_model(user.model, jnp.float64), build_model(shipped.model, jnp.float64)
    k = jnp.asarray([0.7, -0.2])
    np.testing.assert_allclose(float(jaxsot.band_energy(a, k, -1)), float(jaxsot.band_energy(b, k, -1)), rtol=1e-14)


@pytest.mark.parametrize(
    "model_toml, match",
    [
        ('kind = "graphene"', "kind = 'graphene' is not allowed; allowed: 'rashba', 'ti-surface'"),
        ('kind = "ti-surface"\nkinetic_eV_nm2 = 0.0', r"kinetic_eV_nm2 = 0.0 is out of range; allowed: \(0, 100\]"),
        ('kind = "ti-surface"\nalpha_eV_nm = 0.05', "unknown key 'alpha_eV_nm'; allowed: kind, hbar_v_eV_nm"),
        ('kind = "square-lattice"\nt_eV = -1.0', r"t_eV = -1.0 is out of range"),
        ('kind = "rashba-dresselhaus"\nbeta_eV_nm = "x"', "beta_eV_nm = 'x' is a string; allowed: a number"),
        ('kind = "tight-binding"\n[[model.hoppings]]\ncell = [0, 0]\nreal_eV = [[0.0, 1.0], [0.0, 0.0]]', "not hermitian"),
        ('kind = "tight-binding"\n[[model.hoppings]]\ncell = [1]\nreal_eV = [[0.0, 0.0], [0.0, 0.0]]', r"hoppings\[0\].cell"),
        ('kind = "python:no_such_module_h19:Model"', "cannot import 'no_such_module_h19'"),
        ('kind = "python:jaxsot:Magnet"', "is not a jaxsot.TwoBandModel subclass"),
        ('kind = "ti-surface"\ntheta_deg = 200.0', r"theta_deg = 200.0 is out of range; allowed: \[0, 180\]"),
    ],
)
def test_bad_model_tables_fail_in_one_line(model_toml, match):
    with pytest.raises(ConfigError, match=match) as error:
        parse_run_config(_with_model("[model]\n" + model_toml + "\n"), "bad.toml")
    assert "\n" not in str(error.value) and str(error.value).startswith("bad.toml: [model]")


def test_bad_fermi_energy_for_a_model_kind_is_refused_before_work(run_cli, tmp_path):
    config = tmp_path / "low.toml"
    config.write_text(_with_model('[model]\nkind = "square-lattice"\n').replace("fermi_energy_eV = 0.3", "fermi_energy_eV = -1.0"))
    completed = run_cli("run", str(config), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert completed.returncode == 2
    assert "fermi_energy_eV = -1" in completed.stderr and "square-lattice" in completed.stderr
    assert not (tmp_path / "out" / "results.json").exists()


@pytest.mark.parametrize("which", ["run", "sweep", "llg", "validate"])
def test_every_default_config_fits_a_100_column_terminal(which, run_cli, tmp_path):
    kinds = KINDS if which != "validate" else ("rashba",)
    for kind in kinds:
        completed = run_cli("default-config", which, "--model", kind, cwd=tmp_path)
        assert completed.returncode == 0, completed.stderr
        wide = [line for line in completed.stdout.splitlines() if len(line) > 100]
        assert not wide, f"default-config {which} --model {kind}: {wide}"


def test_default_config_validate_refuses_other_kinds(run_cli, tmp_path):
    # (`default-config llg --model KIND` prints [electrons] of the kind: tests/cli/test_llg_default_kinds.py.)
    completed = run_cli("default-config", "validate", "--model", "ti-surface", cwd=tmp_path)
    assert completed.returncode == 2 and "Rashba ferromagnet" in completed.stderr and "validate" in completed.stderr


LLG_TI = """
[electrons]
kind = "ti-surface"
hbar_v_eV_nm = 0.3
j_ex_eV = 0.1
kinetic_eV_nm2 = 0.1
fermi_energy_eV = 0.3

[current]
j_A_per_m2 = 1.0e12

[torque]
num_contour = 16

[time]
t_end_ns = 0.005
num_save = 5
rtol = 1.0e-6
"""


def test_llg_with_a_model_kind_uses_the_model_torque(run_cli, tmp_path):
    from jaxsot.cli._config import parse_llg_config
    from jaxsot.cli.llg import build_llg_inputs

    config = parse_llg_config(LLG_TI, "ti.toml")
    magnet, torque, m0, settings, derived = build_llg_inputs(config, jnp.float64)
    assert isinstance(torque, jaxsot.ModelTorque) and isinstance(torque.model, jaxsot.TISurfaceFerromagnet)
    # tau: the film of resistivity rho0 carries j = E/rho0 (Boltzmann conductance of the exact bands).
    sigma = jaxsot.conductivity(torque.model.with_magnetization(jnp.asarray([0.0, 0.0, 1.0])), 0.3, derived["tau_fs"], 64)
    sheet_siemens = float(sigma[0, 0]) * 1.602176634e-19 / 1e-15
    np.testing.assert_allclose(sheet_siemens, 1e-9 / 2e-7, rtol=1e-6)
    path = tmp_path / "ti.toml"
    path.write_text(LLG_TI)
    completed = run_cli("llg", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "no closed forms for this model" in completed.stdout and "nan" not in completed.stdout.lower()
    again = parse_llg_config((tmp_path / "out" / "config.toml").read_text(), "again")
    assert again == config


@pytest.mark.parametrize(
    "change, match",
    [
        (('[torque]\n', '[torque]\nmethod = "strong_exchange"\n'), "closed form of the Rashba ferromagnet"),
        (("fermi_energy_eV = 0.3", "fermi_energy_eV = 0.3\ntheta_deg = 10.0"), "M is the magnet's direction"),
        (("kinetic_eV_nm2 = 0.1", "kinetic_eV_nm2 = 0.1\nalpha_eV_nm = 0.05"), "unknown key 'alpha_eV_nm'"),
    ],
)
def test_llg_model_kind_errors(change, match):
    from jaxsot.cli._config import parse_llg_config

    with pytest.raises(ConfigError, match=match):
        parse_llg_config(LLG_TI.replace(*change), "bad.toml")

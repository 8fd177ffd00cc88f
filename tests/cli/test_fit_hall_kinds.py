"""`jaxsot synth --kind harmonic-hall` for another [model] kind, in process: the file equals the library's every-order
harmonic Hall signals of the same model built here from its configuration defaults (written out, not read from the
CLI), the refusals are one line each, and `jaxsot fit --model-kind` of the synthesized file recovers the truth."""

import json
import math
import re

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot.cli import main
from jaxsot.fit._hall_csv import read_hall_csv

# Slow tier: harmonic Hall synth and fit of a TI surface (compile-heavy).
pytestmark = pytest.mark.slow

# `jaxsot default-config run --model ti-surface` values, written out: hbar_v [eV nm], j_ex [eV], kinetic [eV nm^2].
TI_DEFAULTS = {"hbar_v": 0.33, "j_ex": 0.05, "kinetic": 0.05}
FERMI, TAU, RHO0, CURRENT = 0.3, 10.0, 2.0e-7, 1.0e11
HALL = {"anisotropy_field": 0.05, "r_ahe": 1.0, "r_phe": 0.3, "r_ane": 0.002}
SYNTH = ["--kind", "harmonic-hall", "--fermi-energy", str(FERMI), "--tau", str(TAU), "--angles", "6", "--fields", "0.1,0.25",
         "--easy-axis", "x", "--anisotropy-field", str(HALL["anisotropy_field"]), "--r-ahe", "1", "--r-phe", "0.3",
         "--r-ane", str(HALL["r_ane"])]


@pytest.fixture(scope="module")
def ti_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "ti.csv"
    assert main(["synth", str(path), *SYNTH, "--model-kind", "ti-surface", "--noise", "0"]) == 0
    return path


def test_synth_of_the_ti_surface_is_the_library_signal_of_that_model(ti_file):
    data = read_hall_csv(ti_file)
    model = jaxsot.TISurfaceFerromagnet(TI_DEFAULTS["hbar_v"], TI_DEFAULTS["j_ex"], [0.0, 0.0, 1.0], kinetic=TI_DEFAULTS["kinetic"])
    magnet = jaxsot.Magnet(1.0, 1.0, 1.0, anisotropy_field=HALL["anisotropy_field"], easy_axis=(1.0, 0.0, 0.0))
    torque = jaxsot.ModelTorque(model, FERMI, jnp.asarray([RHO0 * CURRENT * 1e-9, 0.0]), TAU)
    phi = np.tile(np.linspace(0.0, 2.0 * math.pi, 6, endpoint=False), 2)
    field = np.repeat([0.1, 0.25], 6)
    np.testing.assert_allclose(data.phi_h, phi, rtol=0, atol=1e-12)
    readout = {k: v for k, v in HALL.items() if k != "anisotropy_field"}
    ref = jaxsot.harmonic_hall(magnet, torque, RHO0, phi, field, m_start=data.settings(bands=(-1, 1)).m_start, phases=16, **readout)
    # The file keeps 10 significant digits: 1e-9 relative is its resolution.
    np.testing.assert_allclose(data.r_1w, np.asarray(ref.r_1w), rtol=1e-9, atol=0)
    np.testing.assert_allclose(data.r_2w, np.asarray(ref.r_2w), rtol=1e-9, atol=0)
    # The torques carry a good part of R_2w, not only the thermal term r_ane cos(phi_H).
    assert np.ptp(data.r_2w - HALL["r_ane"] * np.cos(phi)) > 0.2 * np.ptp(data.r_2w)
    truth = next(line for line in ti_file.read_text().splitlines() if line.startswith("# truth"))
    assert "hbar_v = 0.33 eV nm" in truth and "kinetic = 0.05 eV nm^2" in truth and "alpha" not in truth


def test_synth_of_another_kind_takes_its_config_values(tmp_path):
    config = tmp_path / "m.toml"
    config.write_text('[model]\nkind = "ti-surface"\nhbar_v_eV_nm = 0.3\n')
    path = tmp_path / "c.csv"
    assert main(["synth", str(path), *SYNTH, "--config", str(config), "--noise", "0"]) == 0
    truth = next(line for line in path.read_text().splitlines() if line.startswith("# truth"))
    assert "hbar_v = 0.3 eV nm" in truth and "j_ex = 0.05 eV" in truth


@pytest.mark.parametrize("extra, message", [
    (["--model-kind", "ti-surface", "--model", "strong_exchange"], r"--model strong_exchange .*'ti-surface'.*allowed: --model exact"),
    (["--model-kind", "nonsense"], r"--model-kind: invalid choice: 'nonsense'"),
    (["--config", "{bad}"], r"hbar_v_eV_nm = 0.0 is out of range; allowed"),
    (["--model-kind", "ti-surface", "--fermi-energy", "nan"], r"--fermi-energy = nan is out of range"),
])
def test_synth_refusals_of_another_kind_are_one_line(tmp_path, capsys, extra, message):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nkind = "ti-surface"\nhbar_v_eV_nm = 0.0\n')
    extra = [str(bad) if e == "{bad}" else e for e in extra]
    with pytest.raises(SystemExit) as stop:
        main(["synth", str(tmp_path / "x.csv"), *SYNTH, *extra])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and re.search(message, err), err
    assert not (tmp_path / "x.csv").exists()


def test_st_fmr_synth_of_another_kind_is_still_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["synth", str(tmp_path / "s.csv"), "--kind", "st-fmr", "--model-kind", "ti-surface"])
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'ti-surface'" in err and "kind = 'rashba'" in err
    assert not (tmp_path / "s.csv").exists()


def test_round_trip_synth_then_fit_of_the_ti_surface(tmp_path, capsys):
    """Noisy synthesized data (every order) fitted at first order with --model-kind: hbar_v and tau within 2 SE."""
    path = tmp_path / "noisy.csv"
    assert main(["synth", str(path), *SYNTH, "--model-kind", "ti-surface", "--noise", "0.003", "--seed", "2"]) == 0
    free = "hbar_v,tau,anisotropy_field,r_phe"
    assert main(["fit", str(path), "--out", str(tmp_path / "fit"), "--model-kind", "ti-surface", "--restarts", "1",
                 "--free", free, "--guess", f"hbar_v=0.3,tau=7,r_ahe=1,r_ane={HALL['r_ane']}", "--no-plot"]) == 0
    results = json.loads((tmp_path / "fit" / "results.json").read_text())
    truth = {"hbar_v": TI_DEFAULTS["hbar_v"], "tau": TAU, "anisotropy_field": HALL["anisotropy_field"], "r_phe": 0.3}
    for name in free.split(","):
        error = results["standard_errors"][name]
        assert math.isfinite(error) and abs(results["parameters"][name] - truth[name]) < 2.0 * error, name
    assert "TISurfaceFerromagnet" in capsys.readouterr().out


def test_synth_of_the_rashba_ferromagnet_takes_a_config_model_table(tmp_path):
    """A Rashba [model] table of --config gives the truth (with it, --alpha etc. are refused: tests/cli/test_synth_model_flags.py)."""
    config = tmp_path / "r.toml"
    config.write_text("[model]\nalpha_eV_nm = 0.04\nj_ex_eV = 0.9\n")
    path = tmp_path / "r.csv"
    assert main(["synth", str(path), "--kind", "harmonic-hall", "--config", str(config),
                 "--model", "strong_exchange", "--angles", "4", "--fields", "0.1"]) == 0
    truth = next(line for line in path.read_text().splitlines() if line.startswith("# truth"))
    assert "alpha = 0.04 eV nm" in truth and "j_ex = 0.9 eV" in truth and "mass_ratio = 1," in truth

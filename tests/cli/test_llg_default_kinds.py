"""`jaxsot default-config llg --model KIND`: a commented default `jaxsot llg` configuration whose [electrons] table is
the kind's model at the values of `jaxsot default-config run --model KIND` (the same schema, so the same numbers),
that `jaxsot llg` parses for every shipped kind; the Rashba-Dresselhaus one runs (shortened in time)."""

import dataclasses

import numpy as np
import pytest

from jaxsot.cli import main
from jaxsot.cli._config import parse_llg_config, parse_run_config
from jaxsot.cli._model_config import KINDS

# Slow tier: a shortened llg run per model kind (compile-heavy).
pytestmark = pytest.mark.slow

OTHER_KINDS = [k for k in KINDS if k != "rashba"]


def _printed(capsys, *argv):
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_llg_default_of_each_kind_parses_with_the_run_defaults_of_that_kind(kind, capsys):
    text = _printed(capsys, "default-config", "llg", "--model", kind)
    assert f'kind = "{kind}"' in text and "[electrons]" in text and "[model]" not in text
    assert text.count("#") > 10  # commented: units, ranges, what the file is
    config = parse_llg_config(text, f"{kind}.toml")
    run = parse_run_config(_printed(capsys, "default-config", "run", "--model", kind), "run.toml")
    electrons = config.electrons.model
    assert type(electrons) is type(run.model)
    same = [f.name for f in dataclasses.fields(run.model) if f.name not in ("theta_deg", "phi_deg")]
    assert all(getattr(electrons, n) == getattr(run.model, n) for n in same), kind
    # Everything else is the Rashba llg default.
    rashba = parse_llg_config(_printed(capsys, "default-config", "llg"), "rashba.toml")
    assert dataclasses.replace(config, electrons=rashba.electrons) == rashba


def test_llg_default_of_the_rashba_dresselhaus_interface_runs(tmp_path, capsys):
    text = _printed(capsys, "default-config", "llg", "--model", "rashba-dresselhaus")
    short = (text.replace("t_end_ns = 0.5", "t_end_ns = 0.005").replace("num_save = 501", "num_save = 5")
             .replace("num_contour = 64", "num_contour = 16"))
    assert short != text
    path = tmp_path / "rd.toml"
    path.write_text(short)
    assert main(["llg", str(path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "RashbaDresselhausFerromagnet" in out and "nan" not in out.lower()
    saved = parse_llg_config((tmp_path / "out" / "config.toml").read_text(), "again")
    assert saved == parse_llg_config(short, "rd.toml")
    m = np.loadtxt(tmp_path / "out" / "timeseries.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3))
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, rtol=1e-6)
    assert np.linalg.norm(m[-1] - m[0]) > 1e-3  # the magnet moves under the model's torque and the fields

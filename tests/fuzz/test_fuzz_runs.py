"""Accepted boundary configurations of `jaxsot run`, computed to the end at a tiny size: exit 0 and
finite results (the fuzz cases in test_fuzz_config.py stop before the work)."""

import json
import math

import pytest

from fuzz_helpers import record

# ------------------------------------------------------------------------------------------------
# Accepted boundary configurations, run to the end at a tiny size: finite results, status 0.

TINY = """\
[ensemble]
num_phi = 16
num_r = 4
[time]
t_end_fs = 10.0
num_steps = 6
"""


@pytest.mark.slow  # runs computed to the end at boundary parameters (J = 1e-3 eV: ~115 s wall cold)
@pytest.mark.parametrize(
    "extra",
    [
        "[model]\nj_ex_eV = 0.001\n",  # the smallest J
        "[model]\nalpha_eV_nm = -0.0001\n",  # the smallest |alpha|, negative
        "[relaxation]\ntau_fs = 0.5\n",  # tau at the shift's integration step t_end/(num_steps-1)/4
    ],
    ids=["j-min", "alpha-min", "tau-at-step"],
)
def test_boundary_runs_give_finite_results(tmp_path, extra, capsys, monkeypatch):
    import jaxsot.cli.run
    from jaxsot.cli import main

    monkeypatch.setattr(jaxsot.cli.run, "use_cpu_cores_as_devices", lambda: None)  # no XLA_FLAGS for the session
    config = tmp_path / "edge.toml"
    config.write_text(TINY + extra)
    out = tmp_path / "out"
    status = main(["run", str(config), "--out", str(out)])
    results = json.loads((out / "results.json").read_text())
    record("run end to end", f"exit {status}")
    assert status == 0, capsys.readouterr().out[-2000:]
    assert "non_finite_values" not in results
    for row in results["summary"]:
        assert all(math.isfinite(x) for x in row["exact_at_peak"]), row

"""`jaxsot llg` called in-process (the subprocess smoke test is in test_smoke.py)."""

import csv
import json

import numpy as np
import pytest
from scipy.optimize import brentq


SMALL_LLG = """\
[current]
j_A_per_m2 = 3.0e11
pulse_ns = 0.05

[torque]
method = "strong_exchange"

[time]
t_end_ns = 0.1
num_save = 51
"""


@pytest.mark.slow  # a full jaxsot llg run compiled
def test_cli_llg_end_to_end(tmp_path, run_cli):
    (tmp_path / "small.toml").write_text(SMALL_LLG)
    completed = run_cli("llg", "small.toml", "--out", "out", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    out = tmp_path / "out"
    for name in ("config.toml", "results.json", "timeseries.csv", "llg.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["torque"]["method"] == "strong_exchange"
    assert results["derived"]["tau_fs"] == pytest.approx(27.7, rel=0.01)
    assert results["result"]["energy_ledger_error_J_per_m2"] < 1e-6 * max(abs(v) for v in results["result"]["work_J_per_m2"].values())
    with open(out / "timeseries.csv") as handle:
        rows = list(csv.DictReader(handle))
    t = np.array([float(r["t [ns]"]) for r in rows])
    power = np.array([float(r["electron_spin_force_power [W/m^2]"]) for r in rows])
    m = np.array([[float(r[f"M_{c} [1]"]) for c in "xyz"] for r in rows])
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-12)
    assert np.all(power[t < 0.049] < 0) and np.all(power[t > 0.051] == 0)  # the 0.05 ns current pulse
    assert "energy ledger" in completed.stdout and "integration accuracy" in completed.stdout
    check = results["result"]["energy_transfer_check"]
    # Strong-exchange torques against the exact-band AMR route differ at O((alpha k_F/J)^2): the
    # tolerance is twice that square, k_F the lower band's radius at M || z (default electrons: brentq here).
    k_f = brentq(lambda k: 0.0380998212 * k * k - np.sqrt(0.05**2 * k * k + 1.0) - 1.5, 0.0, 100.0, xtol=1e-14)
    assert check["tolerance"] == pytest.approx(2 * (0.05 * k_f) ** 2, rel=1e-9)
    assert check["passed"]
    # Each torque on its own (the product alone would pass a damping-like x2 with a field-like x0.5);
    # measured at alpha k_F/J = 0.41: damping-like 1.140, field-like 1.019, i.e. 0.83 and 0.11 times
    # (alpha k_F/J)^2 (at alpha k_F/J = 0.17: 0.83 and 0.12: the coefficients of the (alpha k_F/J)^2 law of
    # the strong-exchange torque, so these bounds do not depend on the point).
    assert 0.75 < (check["damping_like_ratio"] - 1.0) / (0.05 * k_f) ** 2 < 0.9
    assert 0.05 < (check["field_like_ratio"] - 1.0) / (0.05 * k_f) ** 2 < 0.2
    assert "damping-like power" in completed.stdout and "passed" in completed.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text("[magnet]\ngilbert = -0.5\n")
    completed = run_cli("llg", str(bad), "--out", "bad", cwd=tmp_path)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "gilbert" in lines[0] and "-0.5" in lines[0] and "allowed" in lines[0]

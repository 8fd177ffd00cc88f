"""`jaxsot synth` with a [model] table (--config, or another --model-kind at its defaults): the table
holds the model's values, so --alpha / --j-ex / --mass-ratio are refused in one line naming the flag
and the [model] key to edit (never silently ignored); without a table they set the Rashba model.
"""

import pytest

RASHBA = "[model]\nalpha_eV_nm = 0.04\nj_ex_eV = 0.9\n"
TI = '[model]\nkind = "ti-surface"\nhbar_v_eV_nm = 0.33\nj_ex_eV = 0.12\n'


def _one_line(done):
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("kind", ["steady", "transient", "harmonic-hall"])
@pytest.mark.parametrize("flag, value, key", [("--alpha", "0.07", "alpha_eV_nm"), ("--j-ex", "0.5", "j_ex_eV"),
                                              ("--mass-ratio", "2", "mass_ratio")])
def test_a_rashba_config_table_refuses_the_model_flags_naming_its_key(run_cli, tmp_path, kind, flag, value, key):
    (tmp_path / "r.toml").write_text(RASHBA)
    line = _one_line(run_cli("synth", "d.csv", "--kind", kind, "--config", "r.toml", flag, value, cwd=tmp_path))
    assert f"{flag} {float(value):g} with [model] kind = 'rashba' (r.toml [model])" in line, line
    assert f"so {flag} would not be used; allowed: {key} in that [model] table (and no {flag})" in line, line
    assert not (tmp_path / "d.csv").exists()


def test_another_kind_names_its_own_key_or_the_keys_it_has(run_cli, tmp_path):
    (tmp_path / "ti.toml").write_text(TI)
    line = _one_line(run_cli("synth", "d.csv", "--config", "ti.toml", "--j-ex", "0.2", cwd=tmp_path))
    assert "--j-ex 0.2 with [model] kind = 'ti-surface' (ti.toml [model])" in line and "allowed: j_ex_eV in that [model] table" in line
    line = _one_line(run_cli("synth", "d.csv", "--model-kind", "ti-surface", "--alpha", "0.07", cwd=tmp_path))
    assert "(--model-kind ti-surface)" in line, line
    assert ("[model] kind = 'ti-surface' has no alpha_eV_nm; its keys: hbar_v_eV_nm, j_ex_eV, kinetic_eV_nm2, in the [model] "
            "table of a --config file (and no --alpha)") in line, line
    assert not (tmp_path / "d.csv").exists()


def test_without_a_table_the_flags_set_the_rashba_truth(run_cli, tmp_path):
    done = run_cli("synth", "d.csv", "--alpha", "0.07", "--j-ex", "0.8", "--mass-ratio", "1.5", "--points", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    truth = next(line for line in (tmp_path / "d.csv").read_text().splitlines() if line.startswith("# truth"))
    assert "alpha = 0.07 eV nm" in truth and "j_ex = 0.8 eV" in truth and "mass_ratio = 1.5" in truth, truth
    # The table's values, when no flag is given (the default flag values do not count as given).
    (tmp_path / "r.toml").write_text(RASHBA)
    done = run_cli("synth", "e.csv", "--config", "r.toml", "--points", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    truth = next(line for line in (tmp_path / "e.csv").read_text().splitlines() if line.startswith("# truth"))
    assert "alpha = 0.04 eV nm" in truth and "j_ex = 0.9 eV" in truth, truth

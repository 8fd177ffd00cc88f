"""Fuzzing the configuration files of `jaxsot run | sweep | llg | validate` (in-process, no compilation).

Every input ends in one of two ways: exit 2 with one line naming the file and the key (or the
rule or limit that refused it), or it is accepted, and then it lies in the documented range. The
documented ranges (the comments of each key in the config.toml a command writes) are written out
below as an independent statement of the contract, not read from the schema; the commands are stopped where
their computation would start (conftest.py), so accepting costs no compilation. A few accepted
boundary configurations are also run to the end at a tiny size: their results must be finite.
"""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from fuzz_helpers import assert_one_line_error

FUZZ = settings(derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def real(low=-math.inf, high=math.inf, *, low_open=False, min_abs=0.0, inf_ok=False):
    """Oracle of a float key: a number in [low, high] ((low, high] if low_open), |x| >= min_abs."""

    def ok(x):
        if not is_number(x) or math.isnan(x):
            return False
        if math.isinf(x):
            return inf_ok and x > 0
        return (x > low if low_open else x >= low) and x <= high and abs(x) >= min_abs

    return ok


def integer(low, high):
    return lambda x: isinstance(x, int) and not isinstance(x, bool) and low <= x <= high


def _default_drude_tau():
    """tau [fs] of the default llg config (alpha 0.05 eV nm, J 1 eV, E_F 1.5 eV, t_F 1 nm, rho0 2e-7 ohm m,
    m = m_e): m t_F/(rho0 e^2 n), n = sum of k_F^2/(4 pi) over the occupied bands at M || z, whose Fermi
    wave numbers are roots of hbar^2 k^2/2m -+ sqrt(J^2 + alpha^2 k^2) = E_F (scipy's brentq, CODATA SI)."""
    hbar, m_e, e = 1.054571817e-34, 9.1093837015e-31, 1.602176634e-19
    c = hbar**2 / (2 * m_e) / e * 1e18  # eV nm^2
    alpha, j_ex, e_f = 0.05, 1.0, 1.5
    density = 0.0
    for s in (-1, 1):
        def excess(k, s=s):
            return c * k * k + s * math.hypot(j_ex, alpha * k) - e_f
        if excess(0.0) < 0:
            density += brentq(excess, 0.0, 100.0) ** 2 / (4 * math.pi) * 1e18  # 1/m^2
    return m_e * 1e-9 / (2e-7 * e**2 * density) * 1e15


DRUDE_TAU = _default_drude_tau()

# Documented ranges (the key comments of the config.toml the commands write).
RUN_RANGES = {
    ("model", "alpha_eV_nm"): real(-10, 10, min_abs=1e-4),
    ("model", "j_ex_eV"): real(1e-3, 100),
    ("model", "theta_deg"): real(0, 180),
    ("model", "phi_deg"): real(-360, 360),
    ("model", "mass_ratio"): real(1e-3, 100),  # lighter: the sea shrinks to k = 0 and the torques underflow
    ("ensemble", "fermi_energy_eV"): real(-100, 100),
    ("ensemble", "num_phi"): integer(8, 1_000_000),
    ("ensemble", "num_r"): integer(2, 1024),
    ("drive", "efield_V_per_m"): real(1e-3, 1e9),  # smaller: every observable underflows
    ("drive", "direction_deg"): real(-360, 360),
    ("relaxation", "tau_fs"): real(1e-3, inf_ok=True),
    ("time", "t_end_fs"): real(1e-3, 1e7),  # shorter: every observable is zero
    ("time", "num_steps"): integer(2, 10_000_000),
    ("limits", "max_state_steps"): real(1, 1e18),
    ("limits", "max_memory_GB"): real(0, 1e6),
}
LLG_RANGES = {
    ("electrons", "alpha_eV_nm"): real(-10, 10, min_abs=1e-4),
    ("electrons", "j_ex_eV"): real(1e-3, 100),
    ("electrons", "mass_ratio"): real(1e-3, 100),
    ("electrons", "fermi_energy_eV"): real(-100, 100),
    # Derived: |E| = rho0 |j| >= 1e-3 V/m (default rho0 = 2e-7 ohm m, j = 3e11 A/m^2) and the Drude time
    # tau = m t_F/(rho0 e^2 n) in [1e-3, 1e9] fs, proportional to t_F/rho0 (DRUDE_TAU at the defaults).
    ("current", "j_A_per_m2"): real(-1e14, 1e14, min_abs=1e-3 / 2e-7),
    ("current", "rho0_ohm_m"): lambda x: real(0, 1e-2, low_open=True)(x) and x * 3e11 >= 1e-3 and 1e-3 <= DRUDE_TAU * 2e-7 / x <= 1e9,
    ("current", "pulse_ns"): real(0, low_open=True, inf_ok=True),
    ("magnet", "ms_T"): real(0, 10, low_open=True),
    ("magnet", "thickness_nm"): lambda x: real(0, 1e4, low_open=True)(x) and 1e-3 <= DRUDE_TAU * x <= 1e9,
    ("magnet", "gilbert"): real(0, 10),
    ("magnet", "demag_x"): lambda x: is_number(x) and x == 0,  # the default N_y = 0, N_z = 1: the sum must stay 1
    ("magnet", "demag_z"): lambda x: is_number(x) and x in (0, 1),  # 0: all three 0, shape anisotropy off
    ("time", "t_end_ns"): real(0, 1e6, low_open=True),
    ("time", "num_save"): integer(2, 10_000_000),
    ("time", "rtol"): real(0, 1e-2, low_open=True),
    ("torque", "num_contour"): integer(8, 65536),
    ("events", "switch_threshold"): real(-1, 1, low_open=True),
    ("limits", "max_memory_GB"): real(0, 1e6),
}
VALIDATE_RANGES = {
    ("model", "alpha_eV_nm"): real(-10, 10, min_abs=1e-4),
    ("model", "j_ex_eV"): real(1e-3, 100),
    ("ensemble", "num_phi"): integer(8, 1_000_000),
    ("relaxation", "tau_fs"): real(1e-3, inf_ok=True),
    ("numerics", "max_angle_rad"): real(0, 1.5, low_open=True),
    ("scan", "band"): lambda x: isinstance(x, int) and not isinstance(x, bool) and x in (-1, 1),
    ("scan", "adiabaticity_min"): real(0, 1, low_open=True),
    ("scan", "num_points"): integer(2, 200),
    ("scan", "steps_per_period"): integer(8, 100_000),
    ("scan", "ramp_periods"): real(1, 1e4),
    ("crossover", "alpha_eV_nm"): real(-10, 10, min_abs=1e-4),
    ("crossover", "fermi_energy_eV"): real(0, 100, low_open=True),
    ("crossover", "ratio_max"): real(0, 1e4, low_open=True),
    ("crossover", "num_points"): integer(2, 200),
}
# What a sweep stores, by exact name (docs: sweeps): <observable>_<approximation>, the relative
# errors <observable>_error_<approximation>, and three per-point quantities.
STORED = {
    "damping_torque": ("exact", "second_order", "strong_exchange"),
    "field_like_torque": ("exact", "strong_exchange"),
    "spin_force_density": ("exact", "second_order", "strong_exchange"),
    "spin_force_per_electron": ("exact", "second_order", "strong_exchange"),
    "spin_density_change": ("exact",),
    "current_density": ("exact", "strong_exchange"),
}
PLOTTABLE = sorted(
    [f"{o}_{a}" for o, approx in STORED.items() for a in approx]
    + [f"{o}_error_{a}" for o, approx in STORED.items() for a in approx if a != "exact"]
    + ["eta", "min_splitting", "band_density"]
)


def toml(value) -> str:
    """A Python value as TOML (floats: nan, inf; strings: basic strings with JSON escapes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-200.0, 200.0),  # mostly inside the documented ranges
    st.integers(min_value=-5, max_value=300),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, 0.0, -0.0, 1, -1, 2, 1e-300, -1e-300, 1e-4, 1e-3, 0.5, 1.5, 180.0, 1e4, 1e9, 1e300, 2**63, 10**7]),
)
ANYTHING = st.one_of(
    NUMBERS,
    NUMBERS,
    st.text(max_size=6),
    st.booleans(),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-config")


def _write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def _mutation_case(cli, folder, command, ranges, section, key, value, base=""):
    text = f"{base}\n[{section}]\n{key} = {toml(value)}\n" if base else f"[{section}]\n{key} = {toml(value)}\n"
    config = _write(folder, f"{command}.toml", text)
    status, lines = cli(command, config, "--out", folder / f"out-{command}", suite=f"{command} config")
    valid = ranges[(section, key)](value)
    if status == "accepted":
        assert valid, (section, key, value)
    else:
        assert_one_line_error(status, lines, f"{command}.toml", key)
        assert "allowed" in lines[0]
    return status


@settings(FUZZ, max_examples=150)
@given(choice=st.sampled_from(sorted(RUN_RANGES)), value=ANYTHING)
def test_run_config_one_key(cli, folder, choice, value):
    _mutation_case(cli, folder, "run", RUN_RANGES, *choice, value)


@settings(FUZZ, max_examples=70)
@given(choice=st.sampled_from(sorted(LLG_RANGES)), value=ANYTHING)
def test_llg_config_one_key(cli, folder, choice, value):
    _mutation_case(cli, folder, "llg", LLG_RANGES, *choice, value)


@settings(FUZZ, max_examples=90)
@given(choice=st.sampled_from(sorted(VALIDATE_RANGES)), value=ANYTHING)
def test_validate_config_one_key(cli, folder, choice, value):
    _mutation_case(cli, folder, "validate", VALIDATE_RANGES, *choice, value)


SWEEP_BASE = """\
[ensemble]
num_phi = 16
num_r = 4
[time]
t_end_fs = 20.0
num_steps = 3
"""
SWEPT = {key: RUN_RANGES[key] for key in [("model", "alpha_eV_nm"), ("model", "j_ex_eV"), ("model", "theta_deg"),
                                          ("drive", "efield_V_per_m"), ("relaxation", "tau_fs")]}


@settings(FUZZ, max_examples=80)
@given(
    choice=st.sampled_from(sorted(SWEPT)),
    values=st.lists(st.one_of(NUMBERS, st.text(max_size=3), st.booleans()), min_size=1, max_size=3),
)
def test_sweep_parameter_values(cli, folder, choice, values):
    _, key = choice
    text = f"{SWEEP_BASE}[sweep.parameters]\n{key} = {toml(values)}\n"
    config = _write(folder, "sweep.toml", text)
    status, lines = cli("sweep", config, "--out", folder / "out-sweep", suite="sweep config")
    # Relaxation faster than the shift's integration step (t_end/(num_steps-1)/4 = 2.5 fs) is refused.
    rule = (lambda v: v >= 2.5) if key == "tau_fs" else (lambda v: True)
    valid = all(SWEPT[choice](v) and rule(v) for v in values) and len(set(values)) == len(values)
    if status == "accepted":
        assert valid, values
    else:
        assert_one_line_error(status, lines, "sweep.toml")
        assert key in lines[0] or "sweep point" in lines[0], lines[0]  # a point names its swept values


@settings(FUZZ, max_examples=60)
@given(
    variable=st.one_of(
        st.sampled_from(PLOTTABLE),
        st.builds(lambda name, tail: name + tail, st.sampled_from(PLOTTABLE), st.sampled_from(["_bogus", "x", "_", "s"])),
        st.builds(lambda name, n: name[:n], st.sampled_from(PLOTTABLE), st.integers(1, 12)),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
    ),
    time_index=st.integers(-5, 5),
)
def test_sweep_plot_variables_must_exist_exactly(cli, folder, variable, time_index):
    text = (
        f"{SWEEP_BASE}[sweep.parameters]\nalpha_eV_nm = [0.02, 0.05]\n"
        f"[[output.plots]]\nvariable = {toml(variable)}\nx = \"alpha_eV_nm\"\ntime_index = {time_index}\n"
    )
    config = _write(folder, "plots.toml", text)
    status, lines = cli("sweep", config, "--out", folder / "out-plots", suite="sweep config")
    valid = variable in PLOTTABLE and -3 <= time_index <= 2  # 3 time steps
    if status == "accepted":
        assert valid, (variable, time_index)
    else:
        assert not valid
        assert_one_line_error(status, lines, "plots.toml", "[[output.plots]] #1")


# ------------------------------------------------------------------------------------------------
# The cases of the issue, and the rules around them, one by one.

CASES = [
    # (command, config text, fragments of the error line); "memory" cases set [limits] max_memory_GB = 1
    ("sweep", "sweep = 3\n", ["sweep = 3", "a table [sweep]"]),
    ("sweep", "[sweep.parameters]\nalpha_eV_nm = [0.02, 0.05]\n[[output.plots]]\nvariable = \"damping_torque_bogus\"\nx = \"alpha_eV_nm\"\n",
     ["damping_torque_bogus", "is not stored", "damping_torque_exact"]),
    ("sweep", "[output]\nplots = 3\n[sweep.parameters]\nalpha_eV_nm = [0.02]\n", ["plots = 3"]),
    ("sweep", "output = 1\n[sweep.parameters]\nalpha_eV_nm = [0.02]\n", ["output = 1", "a table [output]"]),
    ("sweep", "[sweep]\nparameters = 2\n", ["parameters = 2"]),
    ("sweep", "[sweep.parameters]\nalpha_eV_nm = [0.02, 0.05]\ntheta_deg = [0.0, 90.0]\n[[output.plots]]\nvariable = \"eta\"\nx = \"alpha_eV_nm\"\nhue = \"alpha_eV_nm\"\n",
     ["hue = 'alpha_eV_nm' is also x"]),
    ("sweep", "[sweep.parameters]\nalpha_eV_nm = [0.0, 0.05]\n", ["[sweep.parameters] alpha_eV_nm = 0.0", "|value| >= 0.0001"]),
    ("sweep", "[sweep]\nmode = \"random\"\nnum_points = 8\n[sweep.parameters]\nalpha_eV_nm = {low = -0.1, high = 0.1}\n",
     ["alpha_eV_nm", "one side of zero"]),
    ("sweep", "[sweep]\nmode = \"random\"\nnum_points = 8\n[sweep.parameters]\ntau_fs = {low = 1.0, high = inf}\n", ["tau_fs", "finite low and high"]),
    ("sweep", "[sweep.parameters]\nalpha_eV_nm = {start = 0.01, stop = 0.2, num = 10000}\ntheta_deg = {start = 0.0, stop = 90.0, num = 10000}\n",
     ["100000000 points", "max_state_steps"]),
    ("sweep", "[time]\nnum_steps = 241\n[sweep.parameters]\ntau_fs = [0.01, 10.0]\n", ["tau_fs = 0.01", "integration step", "num_steps"]),
    ("sweep", "[output]\nobservables = [\"damping_torque\", \"damping_torque\"]\n[sweep.parameters]\nalpha_eV_nm = [0.02]\n", ["repeats"]),
    ("run", "[ensemble]\nnum_phi = 1000000\nnum_r = 1024\n", ["num_phi = 1000000", "num_r = 1024", "max_state_steps"]),
    ("run", "[time]\nnum_steps = 10000000\n[limits]\nmax_memory_GB = 1.0\n", ["10000000 time steps", "max_memory_GB = 1", "num_steps"]),
    ("run", "[model]\nj_ex_eV = 0.0\n", ["[model] j_ex_eV = 0.0", "[0.001, 100]"]),
    ("run", "[model]\nalpha_eV_nm = 0.0\n", ["[model] alpha_eV_nm = 0.0", "relative errors are undefined"]),
    ("run", "[relaxation]\ntau_fs = 1e-300\n", ["tau_fs = 1e-300", "[0.001, inf]"]),
    ("run", "[relaxation]\ntau_fs = 0.01\n", ["tau_fs = 0.01", "integration step"]),
    ("run", "[drive]\nkind = \"sinusoid\"\nfrequency_THz = 5000.0\n", ["frequency_THz = 5000", "num_steps"]),
    ("run", "[model]\nj_ex_eV = 0.05\nalpha_eV_nm = 0.3\n[ensemble]\nfermi_energy_eV = -0.06\n", ["fermi_energy_eV = -0.06", "k = 0"]),
    ("run", "[ensemble]\nfermi_energy_eV = -50.0\n", ["fermi_energy_eV = -50", "no electrons"]),
    ("run", "[limits]\nmax_memory_GB = 1000000.0\n", ["max_memory_GB = 1e+06", "this machine"]),
    ("run", "model = 3\n", ["model = 3", "a table [model]"]),
    ("run", "[model]\nalpha_eV_nm = 0.05\nj_ex_eV = 1 2\n", ["bad-run.toml: line 3, column", "in [model] at key 'j_ex_eV'", "not valid TOML"]),
    ("run", "[model\nalpha_eV_nm = 1\n", ["bad-run.toml: line 1", "not valid TOML"]),
    ("run", "[model]\nalpha_eV_nm = \n", ["line 2", "at key 'alpha_eV_nm'"]),
    ("run", "[plots]\nx = 1\n", ["unknown section [plots]"]),
    ("run", "[time]\nnum_steps = 1e7\n", ["num_steps = 10000000.0", "an integer"]),
    ("validate", "[model]\nj_ex_eV = 0.0\n", ["j_ex_eV = 0.0"]),
    ("validate", "[relaxation]\ntau_fs = 1e-300\n", ["tau_fs = 1e-300"]),
    ("validate", "[scan]\nsteps_per_period = 100000\nramp_periods = 1e4\n[limits]\nmax_memory_GB = 1.0\n",
     ["the scan", "steps_per_period", "max_memory_GB"]),
    ("validate", "[scan]\nband = 1\n[ensemble]\nfermi_energy_eV = 0.2\n", ["[scan] band = 1 is empty"]),
    ("validate", "[scan]\nfit_max = 1e-6\n", ["fit_max"]),
    ("validate", "[crossover]\nalpha_eV_nm = 0.0\n", ["[crossover] alpha_eV_nm = 0.0"]),
    ("validate", "[crossover]\nratio_min = 30.0\n", ["[crossover] ratio_min = 30.0", "ratio_min < ratio_max"]),
    ("validate", "[scan]\nadiabaticity_min = 0.05\n", ["fit_max", "adiabaticity_min"]),
    ("llg", "[magnet]\ndemag_x = 1.0\ndemag_z = 1.0\n", ["demag_x + demag_y + demag_z", "= 2", "sum to 1"]),
    ("llg", "[electrons]\nalpha_eV_nm = 0.5\n", ["eta = m alpha^2/(hbar^2 J)", "eta < 1"]),
    ("llg", "[electrons]\nfermi_energy_eV = 0.99\n", ["fermi_energy_eV = 0.99", "for some direction of M"]),
    ("llg", "[electrons]\nfermi_energy_eV = -5.0\n", ["fermi_energy_eV = -5", "no electrons"]),
    ("llg", "[electrons]\nalpha_eV_nm = 0.0\n", ["alpha_eV_nm = 0.0", "no spin-orbit torque"]),
    ("llg", "[time]\nnum_save = 10000000\n[limits]\nmax_memory_GB = 1.0\n", ["num_save = 10000000", "max_memory_GB"]),
    # Values that used to fail after the work, naming no key: refused before it, with the range.
    ("run", "[model]\nmass_ratio = 1e-300\n", ["[model] mass_ratio = 1e-300", "[0.001, 100]"]),
    ("run", "[drive]\nefield_V_per_m = 1e-300\n", ["[drive] efield_V_per_m = 1e-300", "[0.001, 1e+09]"]),
    ("run", "[time]\nt_end_fs = 1e-300\n", ["[time] t_end_fs = 1e-300", "[0.001, 1e+07]"]),
    ("sweep", "[sweep.parameters]\nefield_V_per_m = [1e-300, 1e5]\n", ["efield_V_per_m = 1e-300", "0.001"]),
    ("llg", "[current]\nj_A_per_m2 = 0\n", ["[current] j_A_per_m2 = 0", "no spin-orbit torque", "|j_A_per_m2| >= 5e+03"]),
    ("llg", "[current]\nj_A_per_m2 = 1e-300\n", ["rho0_ohm_m = 2e-07", "j_A_per_m2 = 1e-300", "|E| >= 0.001 V/m"]),
    ("llg", "[magnet]\nthickness_nm = 1e-300\n", ["[magnet] thickness_nm = 1e-300", "Drude time", "0.001 fs <= tau <= 1e+09 fs"]),
    ("llg", "[current]\nrho0_ohm_m = 3.5e-15\n", ["rho0_ohm_m = 3.5e-15", "tau = m t_F/(rho0 e^2 n) = 1.58e+09 fs"]),
    ("llg", "[current]\nrho0_ohm_m = 1e-15\n", ["rho0_ohm_m = 1e-15", "|E| = rho0 |j| = 0.0003 V/m"]),
    ("llg", "[electrons]\nmass_ratio = 1e-300\n", ["[electrons] mass_ratio = 1e-300", "[0.001, 100]"]),
]


@pytest.mark.parametrize("command,text,fragments", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_reported_case_is_refused_in_one_line(cli, folder, command, text, fragments):
    config = _write(folder, f"bad-{command}.toml", text)
    status, lines = cli(command, config, "--out", folder / "out-case", suite=f"{command} config")
    assert_one_line_error(status, lines, *fragments)


ENCODINGS = [
    (b"\xef\xbb\xbf[model]\nalpha_eV_nm = 0.05\n", None),  # a UTF-8 byte-order mark is accepted
    (b"\xff\xfe[\x00m\x00", ["holds NUL bytes"]),
    (b"[model]\n# caf\xe9\n", ["is not UTF-8 text", "0xe9"]),
    (b"\x89PNG\r\n\x1a\n....", ["is not UTF-8 text"]),
    (b"[model]\nalpha_eV_nm = 0.05\n" + b"# padding\n" * 120_000, ["larger than 1024 KiB"]),
]


@pytest.mark.parametrize("command", ["run", "sweep", "llg", "validate"])
@pytest.mark.parametrize("data,fragments", ENCODINGS, ids=["bom", "utf16", "latin1", "png", "huge"])
def test_config_encodings(cli, folder, command, data, fragments):
    if command == "sweep" and fragments is None:
        data += b"[sweep.parameters]\nalpha_eV_nm = [0.02]\n"
    if command == "llg" and fragments is None:
        data = data.replace(b"[model]", b"[electrons]")
    path = folder / f"enc-{command}.toml"
    path.write_bytes(data)
    status, lines = cli(command, path, "--out", folder / f"out-enc-{command}", suite=f"{command} config")
    if fragments is None:
        assert status == "accepted", lines
    else:
        assert_one_line_error(status, lines, f"enc-{command}.toml", *fragments)


@pytest.mark.parametrize("command", ["run", "sweep", "llg", "validate"])
def test_config_path_is_missing_or_a_folder(cli, folder, command):
    status, lines = cli(command, folder / "missing.toml", "--out", folder / "o", suite=f"{command} config")
    assert_one_line_error(status, lines, "missing.toml", "does not exist")
    status, lines = cli(command, folder, "--out", folder / "o", suite=f"{command} config")
    assert_one_line_error(status, lines, "is a folder")

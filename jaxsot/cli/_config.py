"""Configuration files for the CLI: TOML -> frozen option objects, with one-line errors.

Units are part of every key name (SI or the field's customary unit); conversion to the internal
eV / nm / fs / V/nm happens in `jaxsot._cli`, at the boundary.
"""

import dataclasses
import math
import re
import tomllib
from typing import Any
from ..constants import G_ELECTRON, HBAR2_OVER_2ME



class ConfigError(ValueError):
    """A bad configuration: the message names the key, the value and what is allowed."""


def _option(default, *, low=None, high=None, low_open=False, choices=None, doc="", allow_inf=False, min_abs=None, why=""):
    """A config key: default, allowed range [low, high] ((low, high] with low_open), choices, and
    min_abs: |value| must be at least this (a range that excludes zero; `why` says why)."""
    return dataclasses.field(
        default=default,
        metadata={
            "low": low, "high": high, "low_open": low_open, "choices": choices, "doc": doc, "allow_inf": allow_inf,
            "min_abs": min_abs, "why": why,
        },
    )


# Shared lower bounds: the documented ranges are the ones that give finite, meaningful results.
ALPHA_MIN = 1.0e-4
"""Smallest |alpha| [eV nm] (1e-3 eV A): without Rashba coupling every torque and spin force vanishes,
and the relative errors of the approximations (approx - exact)/exact are undefined."""
J_EX_MIN = 1.0e-3
"""Smallest exchange J [eV] (1 meV): the strong-exchange forms and eta = m alpha^2/(hbar^2 J) divide by J."""
TAU_MIN = 1.0e-3
"""Shortest relaxation time tau [fs] (1 as): far below any physical momentum relaxation time."""
MASS_RATIO_MIN = 1.0e-3
"""Smallest m*/m_e: lighter masses make hbar^2 k^2/2m so large that the Fermi sea shrinks towards k = 0
and the torques (proportional to m) underflow to zero."""
EFIELD_MIN = 1.0e-3
"""Smallest |E| [V/m] (also rho0 |j| of `jaxsot llg`): every observable is linear in E, and far below this
it underflows (to 0 in float32), leaving no torque and undefined relative errors."""
T_END_MIN = 1.0e-3
"""Shortest simulated interval [fs] (1 as): the sea barely moves below it and the observables are zero at
every time (undefined relative errors)."""
LLG_TAU_RANGE = (1.0e-3, 1.0e9)
"""Allowed Drude time tau = m t_F/(rho0 e^2 n) [fs] of `jaxsot llg`, derived from thickness, rho0 and the bands."""
_ALPHA_WHY = "without Rashba coupling the torques vanish and the approximations' relative errors are undefined"


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    alpha_eV_nm: float = _option(
        0.05, low=-10.0, high=10.0, min_abs=ALPHA_MIN, why=_ALPHA_WHY,
        doc="Rashba coupling [eV nm] (0.05 eV nm = 0.5 eV A)",
    )
    j_ex_eV: float = _option(1.0, low=J_EX_MIN, high=100.0, doc="exchange coupling J [eV]")
    theta_deg: float = _option(60.0, low=0.0, high=180.0, doc="polar angle of M from +z [deg]")
    phi_deg: float = _option(30.0, low=-360.0, high=360.0, doc="azimuth of M from +x [deg]")
    mass_ratio: float = _option(1.0, low=MASS_RATIO_MIN, high=100.0, doc="effective mass m*/m_e")


@dataclasses.dataclass(frozen=True)
class EnsembleOptions:
    fermi_energy_eV: float = _option(1.5, low=-100.0, high=100.0, doc="Fermi energy E_F [eV] (bands are eps = c k^2 +- Omega)")
    num_phi: int = _option(128, low=8, high=1_000_000, doc="rays (contour points) per band")
    num_r: int = _option(16, low=2, high=1024, doc="Gauss-Legendre radial nodes per ray (Fermi-sea states)")


@dataclasses.dataclass(frozen=True)
class DriveOptions:
    kind: str = _option("step", choices=("step", "ramp", "sinusoid"), doc="field switch-on at t = 0")
    efield_V_per_m: float = _option(1.0e5, low=EFIELD_MIN, high=1.0e9, doc="field amplitude [V/m]")
    direction_deg: float = _option(0.0, low=-360.0, high=360.0, doc="in-plane angle of E from +x [deg]")
    ramp_time_fs: float = _option(10.0, low=0.0, high=1.0e7, low_open=True, doc="ramp duration (kind = ramp) [fs]")
    frequency_THz: float = _option(10.0, low=0.0, high=1.0e4, low_open=True, doc="frequency (kind = sinusoid) [THz]")
    phase_deg: float = _option(0.0, low=-360.0, high=360.0, doc="phase (kind = sinusoid) [deg]")


@dataclasses.dataclass(frozen=True)
class RelaxationOptions:
    tau_fs: float = _option(
        10.0, low=TAU_MIN, allow_inf=True,
        doc="momentum relaxation time [fs] (run, sweep: also >= t_end_fs/(num_steps - 1)/4); inf = no relaxation",
    )


@dataclasses.dataclass(frozen=True)
class TimeOptions:
    t_end_fs: float = _option(60.0, low=T_END_MIN, high=1.0e7, doc="end of the simulated interval [fs]")
    num_steps: int = _option(241, low=2, high=10_000_000, doc="number of output times, t = 0 .. t_end")


MAX_STATE_STEPS = 1.0e11
"""Default work limit (state-steps): about an hour of one CPU core at ~3e7 state-steps/s."""


@dataclasses.dataclass(frozen=True)
class LimitOptions:
    max_state_steps: float = _option(
        MAX_STATE_STEPS, low=1.0, high=1.0e18,
        doc="work limit: states x time steps (x points); 1e11 is about an hour of one CPU core; raise it for longer runs",
    )
    max_memory_GB: float = _option(
        0.0, low=0.0, high=1.0e6, doc="planned memory limit [GB]; 0 = half of this machine's memory (at most all of it)",
    )


@dataclasses.dataclass(frozen=True)
class RunConfig:
    model: ModelOptions = dataclasses.field(default_factory=ModelOptions)
    ensemble: EnsembleOptions = dataclasses.field(default_factory=EnsembleOptions)
    drive: DriveOptions = dataclasses.field(default_factory=DriveOptions)
    relaxation: RelaxationOptions = dataclasses.field(default_factory=RelaxationOptions)
    time: TimeOptions = dataclasses.field(default_factory=TimeOptions)
    limits: LimitOptions = dataclasses.field(default_factory=LimitOptions)


LIMITS_TOML = """\
[limits]
max_state_steps = 1.0e11  # work: states x time steps (x points); about an hour of one CPU core
max_memory_GB = 0.0       # planned memory [GB]; 0 = half of this machine's memory
"""


DEFAULT_RUN_TOML = """\
# jaxsot run: the embedded default configuration. Units are in the key names.
# Parameters: Rashba coupling 0.5 eV A and s-d exchange 1 eV, the orders of magnitude estimated
# for Pt/Co/AlOx-type Rashba ferromagnets (Miron et al., Nat. Mater. 9, 230 (2010); Manchon and
# Zhang, Phys. Rev. B 79, 094422 (2009)); free-electron mass; E = 1e5 V/m; tau = 10 fs.

[model]
alpha_eV_nm = 0.05
j_ex_eV = 1.0
theta_deg = 60.0
phi_deg = 30.0
mass_ratio = 1.0

[ensemble]
fermi_energy_eV = 1.5
num_phi = 128
num_r = 16

[drive]
kind = "step"
efield_V_per_m = 1.0e5
direction_deg = 0.0

[relaxation]
tau_fs = 10.0

[time]
t_end_fs = 60.0
num_steps = 241

""" + LIMITS_TOML


def _type_name(value: Any) -> str:
    import datetime

    if isinstance(value, (datetime.date, datetime.time)):  # TOML dates and times: 'a date', not 'datetime.date(...)'
        return {datetime.datetime: "a date-time", datetime.date: "a date", datetime.time: "a time"}[type(value)]
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _allowed_range(meta: dict) -> str:
    low, high = meta.get("low"), meta.get("high")
    left = f"{'(' if meta.get('low_open') else '['}{low:g}" if low is not None else "(-inf"
    right = f"{high:g}]" if high is not None else ("inf]" if meta.get("allow_inf") else "inf)")
    text = f"{left}, {right}"
    if meta.get("min_abs"):
        text += f" with |value| >= {meta['min_abs']:g}"
    return text


def _check_value(section: str, field: dataclasses.Field, value: Any) -> Any:
    key = f"[{section}] {field.name}"
    meta = field.metadata
    if field.type is int or field.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} = {_show(value)} is {_type_name(value)}; allowed: an integer")
    elif field.type is float or field.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} = {_show(value)} is {_type_name(value)}; allowed: a number")
        value = float(value)
        if math.isnan(value):
            raise ConfigError(f"{key} = nan is not allowed; allowed: a number in {_allowed_range(meta)}")
    elif field.type is bool or field.type == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key} = {_show(value)} is {_type_name(value)}; allowed: true or false")
    elif field.type is str or field.type == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {_show(value)} is {_type_name(value)}; allowed: a string")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{key} = {value!r} is not allowed; allowed: {', '.join(map(repr, meta['choices']))}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None or high is not None or meta.get("min_abs"):
        too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
        too_high = high is not None and value > high
        infinite_ok = meta.get("allow_inf") and value == math.inf
        near_zero = bool(meta.get("min_abs")) and abs(value) < meta["min_abs"]
        if (too_low or too_high or near_zero or (isinstance(value, float) and math.isinf(value))) and not infinite_ok:
            why = f" ({meta['why']})" if near_zero and meta.get("why") else ""
            raise ConfigError(f"{key} = {value!r} is out of range; allowed: {_allowed_range(meta)}{why}")
    return value


def _show(value: Any) -> str:
    import datetime

    text = value.isoformat() if isinstance(value, (datetime.date, datetime.time)) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _build(cls, section: str, table: Any):
    if not isinstance(table, dict):
        raise ConfigError(f"{section} = {_show(table)} is {_type_name(table)}; allowed: a table [{section}] with keys "
                          f"{', '.join(f.name for f in dataclasses.fields(cls))}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise ConfigError(f"[{section}] unknown key {key!r}; allowed: {', '.join(fields)}")
    values = {name: _check_value(section, field, table[name]) for name, field in fields.items() if name in table}
    return cls(**values)


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]*?)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def toml_error_message(error: tomllib.TOMLDecodeError, text: str, source: str) -> str:
    """One line for a TOML syntax error: the file, line and column, the section and key there, and the line."""
    message = str(error)
    match = _POSITION.search(message)
    if not match:
        return f"{source}: not valid TOML: {message}; allowed: TOML syntax (toml.io)"
    reason = message[: match.start()]
    line_no, column = int(match.group(1)), int(match.group(2))
    lines = text.splitlines()
    section = ""
    for previous in lines[: line_no - 1]:
        header = _HEADER.match(previous)
        if header and not previous.lstrip().startswith("#"):
            section = header.group(1)
    line = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
    where = []
    header = _HEADER.match(line)
    if header:
        where.append(f"in the header of [{header.group(1)}]")
    else:
        if section:
            where.append(f"in [{section}]")
        key = _KEY.match(line)
        if key:
            where.append(f"at key {key.group(1).strip()!r}")
    snippet = line.strip()
    snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
    context = f" {' '.join(where)}" if where else ""
    return (
        f"{source}: line {line_no}, column {column}{context}: not valid TOML: {reason} (the line reads {snippet!r}); "
        "allowed: TOML syntax (toml.io), e.g. key = 1.5 under a [section] header"
    )


def _load_toml(text: str, source: str, allowed_sections) -> dict:
    """TOML text -> dict, refusing invalid TOML and unknown sections in one line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(toml_error_message(error, text, source)) from None
    for name in data:
        if name not in allowed_sections:
            raise ConfigError(f"unknown section [{name}]; allowed: {', '.join(f'[{s}]' for s in allowed_sections)}")
    return data


def _parse_sections(text: str, source: str, config_cls, build=None):
    """Build a config dataclass whose fields are option sections (each a frozen dataclass).

    build(default_section, name, table) makes one section; by default missing keys take the
    section class's defaults.
    """
    sections = {f.name: f.default_factory for f in dataclasses.fields(config_cls)}
    data = _load_toml(text, source, list(sections))
    if build is None:
        return config_cls(**{name: _build(type(factory()), name, data.get(name, {})) for name, factory in sections.items()})
    return config_cls(**{name: build(factory(), name, data.get(name, {})) for name, factory in sections.items()})


class named_errors:
    """Context: a ConfigError raised inside gets the config's source as a prefix ("file.toml: [model] ...")."""

    def __init__(self, source: str):
        self.source = source

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, ConfigError) and not str(error).startswith(f"{self.source}:"):
            raise ConfigError(f"{self.source}: {error}") from None
        return False


SHIFT_SUBSTEPS = 4
"""RK4 substeps per output interval of the sea's rigid shift (`jaxsot.simulate` and sweeps)."""


def check_run_rules(run: RunConfig, swept: dict | None = None) -> None:
    """Cross-field rules of the run sections (also the fixed part of a sweep).

    swept: {config key: (smallest, largest value)} of swept keys, checked at their extremes.
    - tau_fs >= the RK4 step of the shift, t_end_fs/(num_steps - 1)/4: a relaxation faster than
      the step makes the explicit integration of hbar dDelta k/dt = qE - hbar Delta k/tau unstable
      (it ends in inf/NaN);
    - a sinusoidal drive needs at least two output intervals per period (else it is not resolved).
    """
    swept = swept or {}

    def value(key, which):
        if key in swept:
            return swept[key][which], f"[sweep.parameters] {key}"
        section = SWEEPABLE[key]
        return getattr(getattr(run, section), key), f"[{section}] {key}"

    t = run.time
    interval = t.t_end_fs / (t.num_steps - 1)
    step = interval / SHIFT_SUBSTEPS
    tau, name = value("tau_fs", 0)
    if math.isfinite(tau) and tau < step:
        raise ConfigError(
            f"{name} = {tau:g} fs is shorter than the integration step of the sea's shift, [time] t_end_fs/(num_steps - 1)/"
            f"{SHIFT_SUBSTEPS} = {step:.4g} fs; allowed: tau_fs >= {step:.4g} (or a larger [time] num_steps, or tau_fs = inf)"
        )
    if run.drive.kind == "sinusoid":
        frequency, name = value("frequency_THz", 1)
        needed = math.ceil(2.0 * frequency * 1e-3 * t.t_end_fs) + 1
        if t.num_steps < needed:
            raise ConfigError(
                f"{name} = {frequency:g} needs two time steps per period over [time] t_end_fs = {t.t_end_fs:g}: "
                f"[time] num_steps = {t.num_steps} is below {needed}; allowed: num_steps >= {needed}, or a lower frequency"
            )


def parse_run_config(text: str, source: str = "config") -> RunConfig:
    """Parse and validate a `jaxsot run` TOML text. Raises ConfigError with one clear line that
    starts with the source (file name) and names the section and key."""
    with named_errors(source):
        config = _parse_sections(text, source, RunConfig, build=_run_section)
        check_run_rules(config)
    return config


def _run_section(default, name, table):
    """One run section; [model] by its kind (cli._model_config: the shipped models and "python:...")."""
    if name == "model":
        from ._model_config import parse_model_table

        return parse_model_table(name, table)
    return _build(type(default), name, table)


def config_to_toml(config: RunConfig) -> str:
    """The full configuration (defaults filled in) as TOML text, for the results folder; each key's
    comment gives its unit and the range the commands accept."""
    lines = []
    for section in dataclasses.fields(config):
        from ._model_config import is_kind_options, model_table_toml

        if is_kind_options(getattr(config, section.name)):  # another model kind ([model], llg [electrons])
            lines.append(model_table_toml(getattr(config, section.name), section.name))
            continue
        lines.append(f"[{section.name}]")
        for field in dataclasses.fields(getattr(config, section.name)):
            value = getattr(getattr(config, section.name), field.name)
            if isinstance(value, str):
                text = f'"{value}"'
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, float) and math.isinf(value):
                text = "inf"
            else:
                text = repr(value)
            meta = field.metadata
            if meta.get("choices"):
                allowed = f"; allowed: {', '.join(map(repr, meta['choices']))}"
            elif meta.get("low") is not None or meta.get("high") is not None:
                allowed = f"; allowed: {_allowed_range(meta)}"
            else:
                allowed = ""
            lines.append(f"{field.name} = {text}  # {meta['doc']}{allowed}")
        lines.append("")
    return "\n".join(lines)


def config_to_dict(config: RunConfig) -> dict:
    """Plain nested dict (JSON-ready; inf written as the string "inf")."""
    raw = dataclasses.asdict(config)
    return {
        section: {key: ("inf" if isinstance(v, float) and math.isinf(v) else v) for key, v in table.items()}
        for section, table in raw.items()
    }


# ------------------------------------------------------------------------------------------------
# `jaxsot sweep`: the run sections give the fixed values; [sweep] and [sweep.parameters] say what
# varies; [output] what is stored and plotted. Swept values are range-checked like fixed ones.

SWEEPABLE = {
    **{f.name: "model" for f in dataclasses.fields(ModelOptions)},
    "fermi_energy_eV": "ensemble",
    "efield_V_per_m": "drive",
    "direction_deg": "drive",
    "ramp_time_fs": "drive",
    "frequency_THz": "drive",
    "phase_deg": "drive",
    "tau_fs": "relaxation",
}
"""Sweepable keys -> the section of the run configuration that holds their fixed value."""

SWEEP_OBSERVABLES = (
    "damping_torque",
    "field_like_torque",
    "spin_force_density",
    "spin_force_per_electron",
    "spin_density_change",
    "current_density",
)
_DRIVE_ONLY = {"ramp_time_fs": "ramp", "frequency_THz": "sinusoid", "phase_deg": "sinusoid"}


@dataclasses.dataclass(frozen=True)
class SweepAxis:
    """One swept key: grid `values`, or a random range [low, high] with a linear or log scale."""

    name: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    scale: str = "linear"


@dataclasses.dataclass(frozen=True)
class SweepOptions:
    mode: str = _option("grid", choices=("grid", "random"), doc="grid: every combination; random: num_points random draws")
    num_points: int = _option(64, low=1, high=100_000_000, doc="number of points (mode = random)")
    seed: int = _option(0, low=0, high=2**32 - 1, doc="random seed (mode = random)")
    chunk_points: int = _option(0, low=0, high=100_000_000, doc="points per chunk file; 0 = sized to the device memory")
    batch_points: int = _option(0, low=0, high=100_000_000, doc="points vectorized together per device; 0 = automatic")
    on_invalid: str = _option("error", choices=("error", "nan"), doc="points whose Fermi sea is not supported: refuse, or store NaN")


@dataclasses.dataclass(frozen=True)
class PlotSpec:
    """A line plot of one stored variable against the axis `x`, one line per value of `hue`."""

    variable: str
    x: str
    hue: str = ""
    time_index: int = -1


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    sweep: SweepOptions = dataclasses.field(default_factory=SweepOptions)
    axes: tuple = ()
    observables: tuple = SWEEP_OBSERVABLES
    plots: tuple = ()


DEFAULT_SWEEP_TOML = """\
# jaxsot sweep: the embedded default configuration. Units are in the key names.
# Fixed values use the sections and keys of `jaxsot run`; [sweep.parameters] overrides some of them
# with a list of values, or {start, stop, num, scale = "linear" | "log"} (mode = "grid"), or
# {low, high, scale} (mode = "random").
# This default: the approximation errors of the papers' second-order and strong-exchange forms over
# Rashba coupling, magnetization angle and Fermi energy (J = 1 eV, tau = 10 fs, step field 1e5 V/m).

[model]
alpha_eV_nm = 0.05
j_ex_eV = 1.0
theta_deg = 60.0
phi_deg = 30.0
mass_ratio = 1.0

[ensemble]
fermi_energy_eV = 1.5
num_phi = 64
num_r = 8

[drive]
kind = "step"
efield_V_per_m = 1.0e5
direction_deg = 0.0

[relaxation]
tau_fs = 10.0

[time]
t_end_fs = 30.0
num_steps = 7

[limits]
max_state_steps = 1.0e11  # work: points x states x time steps; about an hour of one CPU core
max_memory_GB = 0.0       # planned host memory [GB]; 0 = half of this machine's memory

[sweep]
mode = "grid"
chunk_points = 0     # 0: sized to the device memory
on_invalid = "error"

[sweep.parameters]
alpha_eV_nm = { start = 0.01, stop = 0.2, num = 6, scale = "log" }
theta_deg = [0.0, 30.0, 60.0, 90.0]
fermi_energy_eV = [0.5, 1.5, 3.0]

[output]
observables = ["damping_torque", "field_like_torque", "spin_force_density", "spin_force_per_electron", "spin_density_change", "current_density"]

[[output.plots]]
variable = "damping_torque_error_strong_exchange"
x = "alpha_eV_nm"
hue = "theta_deg"

[[output.plots]]
variable = "spin_force_per_electron_exact"
x = "theta_deg"
hue = "alpha_eV_nm"
time_index = 0
"""


def _field_of(name: str) -> tuple[str, dataclasses.Field]:
    section = SWEEPABLE[name]
    cls = type(getattr(RunConfig(), section))
    return section, {f.name: f for f in dataclasses.fields(cls)}[name]


def _check_type(key: str, value: Any, kind: type) -> Any:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key} = {_show(value)} is {_type_name(value)}; allowed: an integer")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{key} = {_show(value)} is {_type_name(value)}; allowed: a number")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{key} = {_show(value)} is {_type_name(value)}; allowed: a string")
    return float(value) if kind is float else value


def _axis(name: str, spec: Any, mode: str) -> SweepAxis:
    key = f"[sweep.parameters] {name}"
    if name not in SWEEPABLE:
        raise ConfigError(f"{key} cannot be swept; allowed: {', '.join(SWEEPABLE)}")
    section, field = _field_of(name)
    checked = lambda v: _check_value("sweep.parameters", field, _check_type(key, v, float))  # noqa: E731
    if mode == "grid":
        if isinstance(spec, list):
            if not spec:
                raise ConfigError(f"{key} = [] is empty; allowed: a non-empty list of numbers")
            if len(spec) > 1_000_000:
                raise ConfigError(f"{key} has {len(spec)} values; allowed: at most 1000000")
            values = tuple(checked(v) for v in spec)
        elif isinstance(spec, dict):
            allowed = {"start", "stop", "num", "scale"}
            if set(spec) - allowed or not {"start", "stop", "num"} <= set(spec):
                raise ConfigError(f"{key} = {_show(spec)}; allowed: a list of numbers or {{start, stop, num, scale}}")
            start, stop = _check_type(f"{key}.start", spec["start"], float), _check_type(f"{key}.stop", spec["stop"], float)
            num = _check_type(f"{key}.num", spec["num"], int)
            if not 1 <= num <= 1_000_000:
                raise ConfigError(f"{key}.num = {num} is out of range; allowed: [1, 1000000]")
            scale = spec.get("scale", "linear")
            if scale not in ("linear", "log"):
                raise ConfigError(f"{key}.scale = {_show(scale)} is not allowed; allowed: 'linear', 'log'")
            if scale == "log" and not (start > 0 and stop > 0):
                raise ConfigError(f"{key}: scale = 'log' needs start > 0 and stop > 0; got {start:g}, {stop:g}")
            start, stop = checked(start), checked(stop)
            if math.isinf(start) or math.isinf(stop):
                raise ConfigError(f"{key}: start = {start:g}, stop = {stop:g}; allowed: finite start and stop")
            if num == 1:
                values = (start,)
            elif scale == "log":
                values = tuple(start * (stop / start) ** (i / (num - 1)) for i in range(num))
            else:
                values = tuple(start + (stop - start) * i / (num - 1) for i in range(num))
            values = tuple(checked(v) for v in values)  # e.g. a linear range through alpha = 0
        else:
            raise ConfigError(f"{key} = {_show(spec)}; allowed (mode = grid): a list of numbers or {{start, stop, num, scale}}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{key} has repeated values; allowed: distinct values")
        return SweepAxis(name, values=values)
    if not isinstance(spec, dict) or set(spec) - {"low", "high", "scale"} or not {"low", "high"} <= set(spec):
        raise ConfigError(f"{key} = {_show(spec)}; allowed (mode = random): {{low, high, scale}}")
    low, high = checked(spec["low"]), checked(spec["high"])
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise ConfigError(f"{key}.scale = {_show(scale)} is not allowed; allowed: 'linear', 'log'")
    if math.isinf(low) or math.isinf(high):
        raise ConfigError(f"{key}: low = {low:g}, high = {high:g}; allowed: finite low and high (mode = random)")
    if not low < high or (scale == "log" and low <= 0):
        raise ConfigError(f"{key}: low = {low:g}, high = {high:g}; allowed: low < high (and low > 0 for scale = 'log')")
    floor = field.metadata.get("min_abs")
    if floor and low < floor and high > -floor:
        raise ConfigError(
            f"{key}: the range [{low:g}, {high:g}] includes values with |{name}| < {floor:g}; allowed: a range on one side "
            f"of zero ({field.metadata['why']})"
        )
    return SweepAxis(name, low=low, high=high, scale=scale)


def plot_variables(observables) -> tuple[str, ...]:
    """The variables a sweep with these observables stores, by their exact names (what a plot may show)."""
    from ..sweep import _compute

    return tuple(
        name for name, (kind, observable, _) in _compute.output_names().items()
        if name != "status" and (kind == "point" or observable in observables)
    )


def _table(data: dict, name: str, what: str) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{name} = {_show(value)} is {_type_name(value)}; allowed: a table [{name}] ({what})")
    return value


def parse_sweep_config(text: str, source: str = "config") -> SweepConfig:
    """Parse and validate a `jaxsot sweep` TOML text. Raises ConfigError with one clear line that
    starts with the source (file name) and names the section and key."""
    with named_errors(source):
        return _parse_sweep(text, source)


def _parse_sweep(text: str, source: str) -> SweepConfig:
    run_sections = [f.name for f in dataclasses.fields(RunConfig)]
    data = _load_toml(text, source, run_sections + ["sweep", "output"])
    run = RunConfig(**{
        f.name: _build(type(f.default_factory()), f.name, data.get(f.name, {}))
        for f in dataclasses.fields(RunConfig)
    })
    sweep_table = dict(_table(data, "sweep", "mode, num_points, ... and [sweep.parameters]"))
    parameters = sweep_table.pop("parameters", {})
    options = _build(SweepOptions, "sweep", sweep_table)
    if not isinstance(parameters, dict):
        raise ConfigError(f"[sweep] parameters = {_show(parameters)} is {_type_name(parameters)}; allowed: a table [sweep.parameters]")
    if not parameters:
        raise ConfigError("[sweep.parameters] is missing or empty; allowed: one or more swept keys, e.g. alpha_eV_nm = [0.02, 0.05]")
    axes = tuple(_axis(name, spec, options.mode) for name, spec in parameters.items())
    for axis in axes:
        kind = _DRIVE_ONLY.get(axis.name)
        if kind is not None and run.drive.kind != kind:
            raise ConfigError(
                f"[sweep.parameters] {axis.name} has no effect with [drive] kind = {run.drive.kind!r}; allowed: kind = {kind!r}"
            )
    if options.mode == "grid":
        total = math.prod(len(a.values) for a in axes)
        if total > 100_000_000:
            raise ConfigError(f"[sweep.parameters] make {total} grid points; allowed: at most 100000000")
    extremes = {
        a.name: (min(a.values), max(a.values)) if options.mode == "grid" else (a.low, a.high) for a in axes
    }
    check_run_rules(run, extremes)
    output = _table(data, "output", "observables, plots")
    if set(output) - {"observables", "plots"}:
        raise ConfigError(f"[output] has unknown keys {sorted(set(output) - {'observables', 'plots'})}; allowed: observables, plots")
    observables = output.get("observables", list(SWEEP_OBSERVABLES))
    if (
        not isinstance(observables, list) or not observables
        or any(not isinstance(o, str) or o not in SWEEP_OBSERVABLES for o in observables)
    ):
        raise ConfigError(f"[output] observables = {_show(observables)}; allowed: a non-empty list from {', '.join(SWEEP_OBSERVABLES)}")
    if len(set(observables)) != len(observables):
        raise ConfigError(f"[output] observables = {_show(observables)} repeats a name; allowed: each observable once")
    plot_specs = output.get("plots", [])
    if not isinstance(plot_specs, list):
        raise ConfigError(f"[output] plots = {_show(plot_specs)} is {_type_name(plot_specs)}; allowed: [[output.plots]] tables")
    if len(plot_specs) > 100:
        raise ConfigError(f"[output] has {len(plot_specs)} plots; allowed: at most 100")
    stored = plot_variables(observables)
    plots = []
    for index, spec in enumerate(plot_specs):
        key = f"[[output.plots]] #{index + 1}"
        if not isinstance(spec, dict) or set(spec) - {"variable", "x", "hue", "time_index"} or not {"variable", "x"} <= set(spec):
            raise ConfigError(f"{key} = {_show(spec)}; allowed: a table with variable, x and optional hue, time_index")
        plot = PlotSpec(
            variable=_check_type(f"{key} variable", spec["variable"], str),
            x=_check_type(f"{key} x", spec["x"], str),
            hue=_check_type(f"{key} hue", spec.get("hue", ""), str),
            time_index=_check_type(f"{key} time_index", spec.get("time_index", -1), int),
        )
        names = [a.name for a in axes] if options.mode == "grid" else []
        for role in ("x", "hue"):
            value = getattr(plot, role)
            if value and value not in names:
                raise ConfigError(f"{key} {role} = {value!r} is not a grid axis; allowed: {', '.join(names) or 'none (mode = random)'}")
        if plot.hue and plot.hue == plot.x:
            raise ConfigError(f"{key} hue = {plot.hue!r} is also x; allowed: another grid axis, or no hue")
        if plot.variable not in stored:
            raise ConfigError(
                f"{key} variable = {_show(plot.variable)} is not stored; allowed (exact names, from [output] observables): "
                f"{', '.join(stored)}"
            )
        if not -run.time.num_steps <= plot.time_index < run.time.num_steps:
            raise ConfigError(f"{key} time_index = {plot.time_index} is out of range; allowed: [{-run.time.num_steps}, {run.time.num_steps - 1}]")
        plots.append(plot)
    return SweepConfig(run=run, sweep=options, axes=axes, observables=tuple(observables), plots=tuple(plots))


def sweep_identity(config: SweepConfig, precision: str) -> dict:
    """What a finished chunk depends on (JSON-ready): a resume is refused when any of it changed.

    chunk_points, batch_points, plots and [limits] are left out: they change neither the results nor
    (for chunk_points, whose resolved value is kept in the manifest) which points a chunk holds.
    """
    sweep = dataclasses.asdict(config.sweep)
    for key in ("chunk_points", "batch_points"):
        sweep.pop(key)
    if config.sweep.mode == "grid":
        sweep.pop("num_points")
        sweep.pop("seed")
    axes = [{k: ("inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in dataclasses.asdict(a).items()} for a in config.axes]
    for axis in axes:
        axis["values"] = [("inf" if isinstance(v, float) and math.isinf(v) else v) for v in axis["values"]]
    run = config_to_dict(config.run)
    run.pop("limits")  # how much work is allowed does not change the results
    return {
        "run": run,
        "sweep": sweep,
        "axes": axes,
        "observables": list(config.observables),
        "precision": precision,
    }


# ------------------------------------------------------------------------------------------------
# `jaxsot llg`: macrospin LLG driven by the electron ensemble's spin-orbit torque (jaxsot._llg).
# SI / customary units in the key names; converted in jaxsot._llg_cli.


@dataclasses.dataclass(frozen=True)
class LlgElectronOptions:
    alpha_eV_nm: float = _option(
        0.05, low=-10.0, high=10.0, min_abs=ALPHA_MIN,
        why="without Rashba coupling there is no spin-orbit torque, and the energy-transfer check divides by it",
        doc="Rashba coupling [eV nm] (0.05 eV nm = 0.5 eV A)",
    )
    j_ex_eV: float = _option(1.0, low=J_EX_MIN, high=100.0, doc="exchange coupling J [eV]; eta = m alpha^2/(hbar^2 J) < 1")
    mass_ratio: float = _option(1.0, low=MASS_RATIO_MIN, high=100.0, doc="effective mass m*/m_e")
    fermi_energy_eV: float = _option(1.5, low=-100.0, high=100.0, doc="Fermi energy E_F [eV]")


@dataclasses.dataclass(frozen=True)
class LlgCurrentOptions:
    j_A_per_m2: float = _option(3.0e11, low=-1.0e14, high=1.0e14, doc="current density in the magnetic film [A/m^2]")
    direction_deg: float = _option(0.0, low=-360.0, high=360.0, doc="in-plane angle of the current from +x [deg]")
    rho0_ohm_m: float = _option(2.0e-7, low=0.0, high=1.0e-2, low_open=True, doc="resistivity rho0 [ohm m]; E = rho0 j")
    pulse_ns: float = _option(math.inf, low=0.0, low_open=True, allow_inf=True, doc="current on for 0 <= t < pulse_ns [ns]; inf = DC")


@dataclasses.dataclass(frozen=True)
class LlgMagnetOptions:
    ms_T: float = _option(1.0, low=0.0, high=10.0, low_open=True, doc="mu0 M_s [T] (1 T: M_s = 7.96e5 A/m)")
    thickness_nm: float = _option(1.0, low=0.0, high=1.0e4, low_open=True, doc="magnetic film thickness d [nm] (carries the current)")
    gilbert: float = _option(0.05, low=0.0, high=10.0, doc="Gilbert damping alpha_G")
    g_factor: float = _option(G_ELECTRON, low=0.0, high=10.0, low_open=True, doc="g factor (gamma = g mu_B/hbar)")
    anisotropy_T: float = _option(0.05, low=-100.0, high=100.0, doc="uniaxial anisotropy field B_K = 2 K_u/M_s [T] (< 0: easy plane)")
    easy_theta_deg: float = _option(90.0, low=0.0, high=180.0, doc="easy axis polar angle from +z [deg]")
    easy_phi_deg: float = _option(90.0, low=-360.0, high=360.0, doc="easy axis azimuth from +x [deg]")
    demag_x: float = _option(0.0, low=0.0, high=1.0, doc="demagnetizing factor N_x")
    demag_y: float = _option(0.0, low=0.0, high=1.0, doc="demagnetizing factor N_y")
    demag_z: float = _option(1.0, low=0.0, high=1.0, doc="demagnetizing factor N_z (thin film: 1); N_x + N_y + N_z = 1, or all 0")


@dataclasses.dataclass(frozen=True)
class LlgFieldOptions:
    b_T: float = _option(0.0, low=0.0, high=100.0, doc="external field mu0 H [T]")
    theta_deg: float = _option(90.0, low=0.0, high=180.0, doc="field polar angle from +z [deg]")
    phi_deg: float = _option(90.0, low=-360.0, high=360.0, doc="field azimuth from +x [deg]")


@dataclasses.dataclass(frozen=True)
class LlgInitialOptions:
    theta_deg: float = _option(80.0, low=0.0, high=180.0, doc="initial M polar angle from +z [deg]")
    phi_deg: float = _option(80.0, low=-360.0, high=360.0, doc="initial M azimuth from +x [deg]")


@dataclasses.dataclass(frozen=True)
class LlgTorqueOptions:
    method: str = _option("exact", choices=("exact", "strong_exchange"), doc="electron torque: exact bands or strong-exchange closed form")
    num_contour: int = _option(64, low=8, high=65536, doc="rays per Fermi contour (method = exact)")
    field_like: bool = _option(True, doc="include the field-like torque T1")
    damping_like: bool = _option(True, doc="include the damping-like torque T2 (hbar k' = qE)")


@dataclasses.dataclass(frozen=True)
class LlgTimeOptions:
    t_end_ns: float = _option(0.5, low=0.0, high=1.0e6, low_open=True, doc="end of the simulated interval [ns]")
    num_save: int = _option(501, low=2, high=10_000_000, doc="number of saved times, t = 0 .. t_end")
    rtol: float = _option(1.0e-7, low=0.0, high=1.0e-2, low_open=True, doc="relative tolerance of the adaptive integrator")


@dataclasses.dataclass(frozen=True)
class LlgEventOptions:
    switch: bool = _option(False, doc="stop when M reverses along the easy axis (M.u crosses switch_threshold)")
    switch_threshold: float = _option(-0.5, low=-1.0, high=1.0, low_open=True, doc="switching threshold on M.u (u toward the initial side)")
    stop_rate_per_ns: float = _option(0.0, low=0.0, high=1.0e6, doc="stop when |dM/dt| < this [1/ns]; 0 = off")


@dataclasses.dataclass(frozen=True)
class LlgConfig:
    electrons: LlgElectronOptions = dataclasses.field(default_factory=LlgElectronOptions)
    current: LlgCurrentOptions = dataclasses.field(default_factory=LlgCurrentOptions)
    magnet: LlgMagnetOptions = dataclasses.field(default_factory=LlgMagnetOptions)
    field: LlgFieldOptions = dataclasses.field(default_factory=LlgFieldOptions)
    initial: LlgInitialOptions = dataclasses.field(default_factory=LlgInitialOptions)
    torque: LlgTorqueOptions = dataclasses.field(default_factory=LlgTorqueOptions)
    time: LlgTimeOptions = dataclasses.field(default_factory=LlgTimeOptions)
    events: LlgEventOptions = dataclasses.field(default_factory=LlgEventOptions)
    limits: LimitOptions = dataclasses.field(default_factory=LimitOptions)


DEFAULT_LLG_TOML = """\
# jaxsot llg: the embedded default configuration. Units are in the key names.
# An in-plane magnet (easy axis y, thin-film shape anisotropy) switched by the spin-orbit torque of
# the Rashba electrons: current 3e11 A/m^2 along x in the 1 nm film, rho0 = 2e-7 ohm m (E = 6e4 V/m).
# Electrons as in `jaxsot run` (alpha = 0.5 eV A, J = 1 eV, E_F = 1.5 eV, both bands occupied).

[electrons]
alpha_eV_nm = 0.05
j_ex_eV = 1.0
mass_ratio = 1.0
fermi_energy_eV = 1.5

[current]
j_A_per_m2 = 3.0e11
direction_deg = 0.0
rho0_ohm_m = 2.0e-7
pulse_ns = inf

[magnet]
ms_T = 1.0
thickness_nm = 1.0
gilbert = 0.05
anisotropy_T = 0.05
easy_theta_deg = 90.0
easy_phi_deg = 90.0
demag_x = 0.0
demag_y = 0.0
demag_z = 1.0

[field]
b_T = 0.0

[initial]
theta_deg = 80.0
phi_deg = 80.0

[torque]
method = "exact"
num_contour = 64
field_like = true
damping_like = true

[time]
t_end_ns = 0.5
num_save = 501
rtol = 1.0e-7

[events]
switch = false
switch_threshold = -0.5
stop_rate_per_ns = 0.0

""" + LIMITS_TOML


DEMAG_TOLERANCE = 1e-6
"""How far N_x + N_y + N_z may be from 1 (rounding of decimal inputs)."""


def check_llg_rules(config: LlgConfig) -> None:
    """Cross-field rules of `jaxsot llg`:
    - demagnetizing factors: the trace of the demagnetizing tensor of any body is 1 (or all 0:
      shape anisotropy switched off);
    - eta = m alpha^2/(hbar^2 J) < 1: otherwise the lower band is a 'Mexican hat' whose Fermi sea
      can be annular, which the torque's contour construction does not support.
    """
    mg = config.magnet
    total = mg.demag_x + mg.demag_y + mg.demag_z
    switched_off = mg.demag_x == mg.demag_y == mg.demag_z == 0.0
    if abs(total - 1.0) > DEMAG_TOLERANCE and not switched_off:
        raise ConfigError(
            f"[magnet] demag_x + demag_y + demag_z = {mg.demag_x:g} + {mg.demag_y:g} + {mg.demag_z:g} = {total:g}; "
            "allowed: factors in [0, 1] that sum to 1 (thin film: 0, 0, 1; sphere: 1/3 each), or all 0 (no shape anisotropy)"
        )
    e = config.electrons
    if not isinstance(e, LlgElectronOptions):  # another model kind: exact bands only, bands checked when parsed
        if config.torque.method != "exact":
            raise ConfigError(
                f"[torque] method = {config.torque.method!r} is a closed form of the Rashba ferromagnet; [electrons] kind = "
                f"{_kind_of(e)!r} has none; allowed: method = \"exact\""
            )
        return
    eta = e.mass_ratio * e.alpha_eV_nm**2 / (2.0 * HBAR2_OVER_2ME * e.j_ex_eV)
    if eta >= 1.0:
        raise ConfigError(
            f"[electrons] alpha_eV_nm = {e.alpha_eV_nm:g}, j_ex_eV = {e.j_ex_eV:g}, mass_ratio = {e.mass_ratio:g} give "
            f"eta = m alpha^2/(hbar^2 J) = {eta:.3g}; allowed: eta < 1 (a stronger exchange or a weaker Rashba coupling)"
        )
    _check_llg_drive(config)


def _check_llg_drive(config: LlgConfig) -> None:
    """Derived quantities of `jaxsot llg`: the field E = rho0 j and the Drude time tau = m t_F/(rho0 e^2 n)."""
    e, c, mg = config.electrons, config.current, config.magnet
    if c.j_A_per_m2 == 0.0:
        raise ConfigError(
            "[current] j_A_per_m2 = 0: without a current there is no spin-orbit torque (and no current direction); "
            f"allowed: |j_A_per_m2| >= {EFIELD_MIN / c.rho0_ohm_m:.3g} (|E| = rho0 |j| >= {EFIELD_MIN:g} V/m) up to 1e14"
        )
    efield = c.rho0_ohm_m * abs(c.j_A_per_m2)
    if not efield >= EFIELD_MIN:
        raise ConfigError(
            f"[current] rho0_ohm_m = {c.rho0_ohm_m:g} and j_A_per_m2 = {c.j_A_per_m2:g} give |E| = rho0 |j| = {efield:.3g} V/m; "
            f"allowed: |E| >= {EFIELD_MIN:g} V/m (the torques are linear in E and underflow below it)"
        )
    import numpy as onp

    from .._fermi._circular import circular_densities
    from ..constants import ELECTRON_MASS_KG, ELEMENTARY_CHARGE_C

    n_lower, n_upper = circular_densities(
        onp.float64(e.alpha_eV_nm), onp.float64(e.j_ex_eV), onp.float64(e.mass_ratio), onp.float64(e.fermi_energy_eV), xp=onp
    )
    density = float(n_lower + n_upper) * 1e18  # 1/m^2
    if not density > 0.0:
        return  # no electrons: refused with its own message where the bands are built
    with onp.errstate(all="ignore"):
        tau_fs = e.mass_ratio * ELECTRON_MASS_KG * mg.thickness_nm * 1e-9 / (c.rho0_ohm_m * ELEMENTARY_CHARGE_C**2 * density) * 1e15
    low, high = LLG_TAU_RANGE
    if not low <= tau_fs <= high:
        raise ConfigError(
            f"[magnet] thickness_nm = {mg.thickness_nm:g} and [current] rho0_ohm_m = {c.rho0_ohm_m:g} give the Drude time "
            f"tau = m t_F/(rho0 e^2 n) = {tau_fs:.3g} fs; allowed: {low:g} fs <= tau <= {high:g} fs"
        )


def _kind_of(electrons) -> str:
    from ._model_config import model_kind

    return model_kind(electrons.model)


def _llg_section(default, name, table):
    """One llg section; [electrons] with kind = another model goes to cli._model_config."""
    if name == "electrons" and isinstance(table, dict) and table.get("kind", "rashba") != "rashba":
        from ._model_config import parse_llg_electrons

        return parse_llg_electrons(name, table)
    if name == "electrons" and isinstance(table, dict):
        table = {k: v for k, v in table.items() if k != "kind"}
    return _build(type(default), name, table)


def parse_llg_config(text: str, source: str = "config") -> LlgConfig:
    """Parse and validate a `jaxsot llg` TOML text. Raises ConfigError with one clear line that
    starts with the source (file name) and names the section and key."""
    with named_errors(source):
        config = _parse_sections(text, source, LlgConfig, build=_llg_section)
        check_llg_rules(config)
    return config



# ---------------------------------------------------------------------------------------------
# `jaxsot validate`: the quantum check (exact spinor dynamics vs the semiclassical picture).


@dataclasses.dataclass(frozen=True)
class ValidateDriveOptions:
    kind: str = _option(
        "smooth_ramp", choices=("smooth_ramp", "ramp", "step", "sinusoid"),
        doc="field switch-on at t = 0: smooth_ramp (C-infinity), ramp (sin^2), step, sinusoid",
    )
    efield_V_per_m: float = _option(1.0e5, low=0.0, high=1.0e9, low_open=True, doc="field amplitude [V/m]")
    direction_deg: float = _option(0.0, low=-360.0, high=360.0, doc="in-plane angle of E from +x [deg]")
    ramp_time_fs: float = _option(20.0, low=0.0, high=1.0e7, low_open=True, doc="ramp duration (smooth_ramp, ramp) [fs]")
    frequency_THz: float = _option(10.0, low=0.0, high=1.0e4, low_open=True, doc="frequency (kind = sinusoid) [THz]")
    phase_deg: float = _option(0.0, low=-360.0, high=360.0, doc="phase (kind = sinusoid) [deg]")


@dataclasses.dataclass(frozen=True)
class QuantumNumericsOptions:
    max_angle_rad: float = _option(
        0.4, low=0.0, high=1.5, low_open=True,
        doc="largest precession angle 2 Omega h/hbar per Magnus step (relative error <~3e-3 angle^4)",
    )


@dataclasses.dataclass(frozen=True)
class ScanOptions:
    band: int = _option(-1, choices=(-1, 1), doc="band of the scanned state: -1 lower, +1 upper")
    k_angle_deg: float = _option(30.0, low=-360.0, high=360.0, doc="the state sits on the Fermi contour of `band` at this angle [deg]")
    adiabaticity_min: float = _option(1.0e-5, low=0.0, high=1.0, low_open=True, doc="smallest epsilon = hbar|db/dt|/Omega^2")
    adiabaticity_max: float = _option(0.1, low=0.0, high=10.0, low_open=True, doc="largest epsilon")
    num_points: int = _option(9, low=2, high=200, doc="epsilon values (log-spaced)")
    fit_max: float = _option(1.0e-2, low=0.0, high=10.0, low_open=True, doc="fit the error orders over epsilon <= fit_max")
    steps_per_period: int = _option(128, low=8, high=100_000, doc="Magnus steps per precession period pi hbar/Omega")
    ramp_periods: float = _option(40.0, low=1.0, high=1.0e4, doc="smooth switch-on duration [precession periods]")
    window_periods: float = _option(10.0, low=0.5, high=1.0e4, doc="comparison window after the ramp [precession periods]")


@dataclasses.dataclass(frozen=True)
class CrossoverOptions:
    alpha_eV_nm: float = _option(
        0.008, low=-10.0, high=10.0, min_abs=ALPHA_MIN, why="J = |alpha| k_F/ratio would vanish",
        doc="Rashba coupling of the M || z crossover [eV nm] (J is varied)",
    )
    fermi_energy_eV: float = _option(1.0, low=0.0, high=100.0, low_open=True, doc="E_F [eV]; k_F = sqrt(2 m E_F)/hbar")
    ratio_min: float = _option(0.05, low=0.0, high=1.0e4, low_open=True, doc="smallest alpha k_F/J")
    ratio_max: float = _option(20.0, low=0.0, high=1.0e4, low_open=True, doc="largest alpha k_F/J")
    num_points: int = _option(7, low=2, high=200, doc="alpha k_F/J values (log-spaced)")
    num_phi: int = _option(8, low=4, high=100_000, doc="angles per band")
    num_r: int = _option(16, low=2, high=10_000, doc="graded radial nodes per band")
    ramp_periods: float = _option(20.0, low=1.0, high=1.0e4, doc="smooth switch-on [periods pi hbar/J of the slowest states]")
    window_periods: float = _option(5.0, low=0.5, high=1.0e4, doc="averaging window after the ramp [periods pi hbar/J]")
    max_angle_rad: float = _option(0.5, low=0.0, high=1.5, low_open=True, doc="largest precession angle per Magnus step")


@dataclasses.dataclass(frozen=True)
class LayerCheckOptions:
    checks: str = _option(
        "all", choices=("all", "quick", "none"),
        doc="layer checks against independent routes (jaxsot.validate_layers): all, the quick subset, or none",
    )


@dataclasses.dataclass(frozen=True)
class ValidateConfig:
    model: ModelOptions = dataclasses.field(default_factory=ModelOptions)
    ensemble: EnsembleOptions = dataclasses.field(default_factory=lambda: EnsembleOptions(num_phi=64, num_r=8))
    drive: ValidateDriveOptions = dataclasses.field(default_factory=ValidateDriveOptions)
    relaxation: RelaxationOptions = dataclasses.field(default_factory=RelaxationOptions)
    time: TimeOptions = dataclasses.field(default_factory=TimeOptions)
    numerics: QuantumNumericsOptions = dataclasses.field(default_factory=QuantumNumericsOptions)
    scan: ScanOptions = dataclasses.field(default_factory=ScanOptions)
    crossover: CrossoverOptions = dataclasses.field(default_factory=CrossoverOptions)
    layers: LayerCheckOptions = dataclasses.field(default_factory=LayerCheckOptions)
    limits: LimitOptions = dataclasses.field(default_factory=LimitOptions)


DEFAULT_VALIDATE_TOML = """\
# jaxsot validate: exact spinor dynamics of every k-state vs the semiclassical picture.
# [model]..[time]: the ensemble comparison (as in `jaxsot run`, with a smooth switch-on);
# [scan]: one state, errors vs the adiabaticity epsilon = hbar|db/dt|/Omega^2;
# [crossover]: M || z, ensemble damping-like torques vs alpha k_F/J (J varied);
# [layers]: every layer (contours ... fit) against an independent route (fixed small problems).

[model]
alpha_eV_nm = 0.05
j_ex_eV = 1.0
theta_deg = 60.0
phi_deg = 30.0
mass_ratio = 1.0

[ensemble]
fermi_energy_eV = 1.5
num_phi = 64
num_r = 8

[drive]
kind = "smooth_ramp"
efield_V_per_m = 1.0e5
direction_deg = 0.0
ramp_time_fs = 20.0

[relaxation]
tau_fs = 10.0

[time]
t_end_fs = 60.0
num_steps = 241

[numerics]
max_angle_rad = 0.4

[scan]
band = -1
k_angle_deg = 30.0
adiabaticity_min = 1.0e-5
adiabaticity_max = 0.1
num_points = 9
fit_max = 1.0e-2
steps_per_period = 128
ramp_periods = 40.0
window_periods = 10.0

[crossover]
alpha_eV_nm = 0.008
fermi_energy_eV = 1.0
ratio_min = 0.05
ratio_max = 20.0
num_points = 7
num_phi = 8
num_r = 16
ramp_periods = 20.0
window_periods = 5.0
max_angle_rad = 0.5

[layers]
checks = "all"

""" + LIMITS_TOML


def _build_over(default, section: str, table: Any):
    """Like _build, but keys missing from the table keep the values of `default` (not the class defaults)."""
    built = _build(type(default), section, table)
    return dataclasses.replace(default, **{key: getattr(built, key) for key in table})


def check_validate_rules(config: ValidateConfig) -> None:
    """Cross-field rules of `jaxsot validate`: ordered ranges, at least two scan points to fit the
    error orders, and a resolved sinusoidal drive (two output intervals per period)."""
    scan, crossover, t = config.scan, config.crossover, config.time
    if not scan.adiabaticity_min < scan.adiabaticity_max:
        raise ConfigError(
            f"[scan] adiabaticity_min = {scan.adiabaticity_min!r} is not below adiabaticity_max = "
            f"{scan.adiabaticity_max!r}; allowed: adiabaticity_min < adiabaticity_max"
        )
    ratio = scan.adiabaticity_max / scan.adiabaticity_min
    fitted = sum(
        scan.adiabaticity_min * ratio ** (i / (scan.num_points - 1)) <= scan.fit_max * (1 + 1e-12) for i in range(scan.num_points)
    )
    if fitted < 2:
        raise ConfigError(
            f"[scan] fit_max = {scan.fit_max!r} keeps {fitted} of the num_points = {scan.num_points} epsilon values in "
            f"adiabaticity_min..adiabaticity_max = [{scan.adiabaticity_min:g}, {scan.adiabaticity_max:g}] (log-spaced) to fit the "
            "error orders; allowed: values with at least 2 of them <= fit_max"
        )
    if not crossover.ratio_min < crossover.ratio_max:
        raise ConfigError(
            f"[crossover] ratio_min = {crossover.ratio_min!r} is not below ratio_max = {crossover.ratio_max!r}; "
            "allowed: ratio_min < ratio_max"
        )
    if config.drive.kind == "sinusoid":
        needed = math.ceil(2.0 * config.drive.frequency_THz * 1e-3 * t.t_end_fs) + 1
        if t.num_steps < needed:
            raise ConfigError(
                f"[drive] frequency_THz = {config.drive.frequency_THz:g} needs two time steps per period over [time] t_end_fs = "
                f"{t.t_end_fs:g}: [time] num_steps = {t.num_steps} is below {needed}; allowed: num_steps >= {needed}, or a lower frequency"
            )


def parse_validate_config(text: str, source: str = "config") -> ValidateConfig:
    """Parse and validate a `jaxsot validate` TOML text. Raises ConfigError with one clear line that
    starts with the source (file name) and names the section and key."""
    with named_errors(source):
        config = _parse_sections(text, source, ValidateConfig, build=_build_over)
        check_validate_rules(config)
    return config


# Shared with cli._model_config (the per-kind [model] schemas): the section builder and key checks.
build_section, check_value, option, show_value, type_name, allowed_range = _build, _check_value, _option, _show, _type_name, _allowed_range

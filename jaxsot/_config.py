"""Configuration files for the CLI: TOML -> frozen option objects, with one-line errors.

Units are part of every key name (SI or the field's customary unit); conversion to the internal
eV / nm / fs / V/nm happens in `jaxsot._cli`, at the boundary.
"""

import dataclasses
import math
import tomllib
from typing import Any


class ConfigError(ValueError):
    """A bad configuration: the message names the key, the value and what is allowed."""


def _option(default, *, low=None, high=None, low_open=False, choices=None, doc=""):
    return dataclasses.field(
        default=default,
        metadata={"low": low, "high": high, "low_open": low_open, "choices": choices, "doc": doc},
    )


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    alpha_eV_nm: float = _option(0.05, low=-10.0, high=10.0, doc="Rashba coupling [eV nm] (0.05 eV nm = 0.5 eV A)")
    j_ex_eV: float = _option(1.0, low=0.0, high=100.0, doc="exchange coupling J [eV]")
    theta_deg: float = _option(60.0, low=0.0, high=180.0, doc="polar angle of M from +z [deg]")
    phi_deg: float = _option(30.0, low=-360.0, high=360.0, doc="azimuth of M from +x [deg]")
    mass_ratio: float = _option(1.0, low=0.0, high=100.0, low_open=True, doc="effective mass m*/m_e")


@dataclasses.dataclass(frozen=True)
class EnsembleOptions:
    fermi_energy_eV: float = _option(1.5, low=-100.0, high=100.0, doc="Fermi energy E_F [eV] (bands are eps = c k^2 +- Omega)")
    num_phi: int = _option(128, low=8, high=1_000_000, doc="rays (contour points) per band")
    num_r: int = _option(16, low=2, high=1024, doc="Gauss-Legendre radial nodes per ray (Fermi-sea states)")


@dataclasses.dataclass(frozen=True)
class DriveOptions:
    kind: str = _option("step", choices=("step", "ramp", "sinusoid"), doc="field switch-on at t = 0")
    efield_V_per_m: float = _option(1.0e5, low=0.0, high=1.0e9, low_open=True, doc="field amplitude [V/m]")
    direction_deg: float = _option(0.0, low=-360.0, high=360.0, doc="in-plane angle of E from +x [deg]")
    ramp_time_fs: float = _option(10.0, low=0.0, high=1.0e7, low_open=True, doc="ramp duration (kind = ramp) [fs]")
    frequency_THz: float = _option(10.0, low=0.0, high=1.0e4, low_open=True, doc="frequency (kind = sinusoid) [THz]")
    phase_deg: float = _option(0.0, low=-360.0, high=360.0, doc="phase (kind = sinusoid) [deg]")


@dataclasses.dataclass(frozen=True)
class RelaxationOptions:
    tau_fs: float = _option(10.0, low=0.0, low_open=True, doc="momentum relaxation time [fs]; inf = no relaxation")


@dataclasses.dataclass(frozen=True)
class TimeOptions:
    t_end_fs: float = _option(60.0, low=0.0, high=1.0e7, low_open=True, doc="end of the simulated interval [fs]")
    num_steps: int = _option(241, low=2, high=10_000_000, doc="number of output times, t = 0 .. t_end")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    model: ModelOptions = dataclasses.field(default_factory=ModelOptions)
    ensemble: EnsembleOptions = dataclasses.field(default_factory=EnsembleOptions)
    drive: DriveOptions = dataclasses.field(default_factory=DriveOptions)
    relaxation: RelaxationOptions = dataclasses.field(default_factory=RelaxationOptions)
    time: TimeOptions = dataclasses.field(default_factory=TimeOptions)


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
"""


def _check_value(section: str, field: dataclasses.Field, value: Any) -> Any:
    key = f"[{section}] {field.name}"
    meta = field.metadata
    if field.type is int or field.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} = {value!r} has type {type(value).__name__}; allowed: an integer")
    elif field.type is float or field.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} = {value!r} has type {type(value).__name__}; allowed: a number")
        value = float(value)
        if math.isnan(value):
            raise ConfigError(f"{key} = nan is not allowed; allowed: a finite number")
    elif field.type is str or field.type == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {value!r} has type {type(value).__name__}; allowed: a string")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{key} = {value!r} is not allowed; allowed: {', '.join(map(repr, meta['choices']))}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None or high is not None:
        too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
        too_high = high is not None and value > high
        infinite_ok = field.name == "tau_fs" and value == math.inf
        if (too_low or too_high or (isinstance(value, float) and math.isinf(value))) and not infinite_ok:
            left = f"{'(' if meta.get('low_open') else '['}{low:g}" if low is not None else "(-inf"
            right = f"{high:g}]" if high is not None else "inf]"
            raise ConfigError(f"{key} = {value!r} is out of range; allowed: {left}, {right}")
    return value


def _build(cls, section: str, table: Any):
    if not isinstance(table, dict):
        raise ConfigError(f"[{section}] must be a table; got {type(table).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise ConfigError(f"[{section}] unknown key {key!r}; allowed: {', '.join(fields)}")
    values = {name: _check_value(section, field, table[name]) for name, field in fields.items() if name in table}
    return cls(**values)


def parse_run_config(text: str, source: str = "config") -> RunConfig:
    """Parse and validate a `jaxsot run` TOML text. Raises ConfigError with one clear line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    sections = {f.name: f.default_factory for f in dataclasses.fields(RunConfig)}
    for name in data:
        if name not in sections:
            raise ConfigError(f"unknown section [{name}]; allowed: {', '.join(f'[{s}]' for s in sections)}")
    built = {name: _build(type(factory()), name, data.get(name, {})) for name, factory in sections.items()}
    return RunConfig(**built)


def config_to_toml(config: RunConfig) -> str:
    """The full configuration (defaults filled in) as TOML text, for the results folder."""
    lines = []
    for section in dataclasses.fields(config):
        lines.append(f"[{section.name}]")
        for field in dataclasses.fields(getattr(config, section.name)):
            value = getattr(getattr(config, section.name), field.name)
            if isinstance(value, str):
                text = f'"{value}"'
            elif isinstance(value, float) and math.isinf(value):
                text = "inf"
            else:
                text = repr(value)
            lines.append(f"{field.name} = {text}  # {field.metadata['doc']}")
        lines.append("")
    return "\n".join(lines)


def config_to_dict(config: RunConfig) -> dict:
    """Plain nested dict (JSON-ready; inf written as the string "inf")."""
    raw = dataclasses.asdict(config)
    return {
        section: {key: ("inf" if isinstance(v, float) and math.isinf(v) else v) for key, v in table.items()}
        for section, table in raw.items()
    }

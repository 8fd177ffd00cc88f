"""Configuration files for the CLI: TOML -> frozen option objects, with one-line errors.

Units are part of every key name (SI or the field's customary unit); conversion to the internal
eV / nm / fs / V/nm happens in `jaxsot._cli`, at the boundary.
"""

import dataclasses
import math
import tomllib
from typing import Any
from ..constants import G_ELECTRON



class ConfigError(ValueError):
    """A bad configuration: the message names the key, the value and what is allowed."""


def _option(default, *, low=None, high=None, low_open=False, choices=None, doc="", allow_inf=False):
    return dataclasses.field(
        default=default,
        metadata={"low": low, "high": high, "low_open": low_open, "choices": choices, "doc": doc, "allow_inf": allow_inf},
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
    elif field.type is bool or field.type == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key} = {value!r} has type {type(value).__name__}; allowed: true or false")
    elif field.type is str or field.type == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {value!r} has type {type(value).__name__}; allowed: a string")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{key} = {value!r} is not allowed; allowed: {', '.join(map(repr, meta['choices']))}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None or high is not None:
        too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
        too_high = high is not None and value > high
        infinite_ok = (field.name == "tau_fs" or meta.get("allow_inf")) and value == math.inf
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


def _load_toml(text: str, source: str, allowed_sections) -> dict:
    """TOML text -> dict, refusing invalid TOML and unknown sections in one line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
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


def parse_run_config(text: str, source: str = "config") -> RunConfig:
    """Parse and validate a `jaxsot run` TOML text. Raises ConfigError with one clear line."""
    return _parse_sections(text, source, RunConfig)


def config_to_toml(config: RunConfig) -> str:
    """The full configuration (defaults filled in) as TOML text, for the results folder."""
    lines = []
    for section in dataclasses.fields(config):
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
        raise ConfigError(f"{key} = {value!r} has type {type(value).__name__}; allowed: an integer")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{key} = {value!r} has type {type(value).__name__}; allowed: a number")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{key} = {value!r} has type {type(value).__name__}; allowed: a string")
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
            values = tuple(checked(v) for v in spec)
        elif isinstance(spec, dict):
            allowed = {"start", "stop", "num", "scale"}
            if set(spec) - allowed or not {"start", "stop", "num"} <= set(spec):
                raise ConfigError(f"{key} = {spec!r}; allowed: a list of numbers or {{start, stop, num, scale}}")
            start, stop = checked(spec["start"]), checked(spec["stop"])
            num = _check_type(f"{key}.num", spec["num"], int)
            if not 1 <= num <= 1_000_000:
                raise ConfigError(f"{key}.num = {num} is out of range; allowed: [1, 1000000]")
            scale = spec.get("scale", "linear")
            if scale not in ("linear", "log"):
                raise ConfigError(f"{key}.scale = {scale!r} is not allowed; allowed: 'linear', 'log'")
            if scale == "log" and not (start > 0 and stop > 0):
                raise ConfigError(f"{key}: scale = 'log' needs start > 0 and stop > 0; got {start:g}, {stop:g}")
            if num == 1:
                values = (start,)
            elif scale == "log":
                values = tuple(start * (stop / start) ** (i / (num - 1)) for i in range(num))
            else:
                values = tuple(start + (stop - start) * i / (num - 1) for i in range(num))
        else:
            raise ConfigError(f"{key} = {spec!r}; allowed (mode = grid): a list of numbers or {{start, stop, num, scale}}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{key} has repeated values; allowed: distinct values")
        return SweepAxis(name, values=values)
    if not isinstance(spec, dict) or set(spec) - {"low", "high", "scale"} or not {"low", "high"} <= set(spec):
        raise ConfigError(f"{key} = {spec!r}; allowed (mode = random): {{low, high, scale}}")
    low, high = checked(spec["low"]), checked(spec["high"])
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise ConfigError(f"{key}.scale = {scale!r} is not allowed; allowed: 'linear', 'log'")
    if not low < high or (scale == "log" and low <= 0):
        raise ConfigError(f"{key}: low = {low:g}, high = {high:g}; allowed: low < high (and low > 0 for scale = 'log')")
    return SweepAxis(name, low=low, high=high, scale=scale)


def parse_sweep_config(text: str, source: str = "config") -> SweepConfig:
    """Parse and validate a `jaxsot sweep` TOML text. Raises ConfigError with one clear line."""
    run_sections = [f.name for f in dataclasses.fields(RunConfig)]
    data = _load_toml(text, source, run_sections + ["sweep", "output"])
    run_tables = {name: data[name] for name in run_sections if name in data}
    run = RunConfig(**{
        f.name: _build(type(f.default_factory()), f.name, run_tables.get(f.name, {}))
        for f in dataclasses.fields(RunConfig)
    })
    sweep_table = dict(data.get("sweep", {}))
    if not isinstance(sweep_table, dict):
        raise ConfigError("[sweep] must be a table")
    parameters = sweep_table.pop("parameters", {})
    options = _build(SweepOptions, "sweep", sweep_table)
    if not isinstance(parameters, dict) or not parameters:
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
    output = data.get("output", {})
    if not isinstance(output, dict) or set(output) - {"observables", "plots"}:
        raise ConfigError(f"[output] has unknown keys {sorted(set(output) - {'observables', 'plots'})}; allowed: observables, plots")
    observables = output.get("observables", list(SWEEP_OBSERVABLES))
    if not isinstance(observables, list) or not observables or any(o not in SWEEP_OBSERVABLES for o in observables):
        raise ConfigError(f"[output] observables = {observables!r}; allowed: a non-empty list from {', '.join(SWEEP_OBSERVABLES)}")
    plots = []
    for index, spec in enumerate(output.get("plots", [])):
        key = f"[[output.plots]] #{index + 1}"
        if not isinstance(spec, dict) or set(spec) - {"variable", "x", "hue", "time_index"} or not {"variable", "x"} <= set(spec):
            raise ConfigError(f"{key} = {spec!r}; allowed: a table with variable, x and optional hue, time_index")
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
        stored = plot.variable in ("eta", "min_splitting", "band_density") or any(
            plot.variable.startswith(f"{name}_") for name in observables
        )
        if not stored:
            raise ConfigError(f"{key} variable = {plot.variable!r} is not stored; allowed: a variable of a listed observable")
        if not -run.time.num_steps <= plot.time_index < run.time.num_steps:
            raise ConfigError(f"{key} time_index = {plot.time_index} is out of range; allowed: [{-run.time.num_steps}, {run.time.num_steps - 1}]")
        plots.append(plot)
    return SweepConfig(run=run, sweep=options, axes=axes, observables=tuple(observables), plots=tuple(plots))


def sweep_identity(config: SweepConfig, precision: str) -> dict:
    """What a finished chunk depends on (JSON-ready): a resume is refused when any of it changed.

    chunk_points, batch_points and plots are left out: they change neither the results nor (for
    chunk_points, whose resolved value is kept in the manifest) which points a chunk holds.
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
    return {
        "run": config_to_dict(config.run),
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
    alpha_eV_nm: float = _option(0.05, low=-10.0, high=10.0, doc="Rashba coupling [eV nm] (0.05 eV nm = 0.5 eV A)")
    j_ex_eV: float = _option(1.0, low=0.0, high=100.0, low_open=True, doc="exchange coupling J [eV]")
    mass_ratio: float = _option(1.0, low=0.0, high=100.0, low_open=True, doc="effective mass m*/m_e")
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
    demag_z: float = _option(1.0, low=0.0, high=1.0, doc="demagnetizing factor N_z (thin film: 1)")


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
"""


def parse_llg_config(text: str, source: str = "config") -> LlgConfig:
    """Parse and validate a `jaxsot llg` TOML text. Raises ConfigError with one clear line."""
    return _parse_sections(text, source, LlgConfig)



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
    alpha_eV_nm: float = _option(0.008, low=-10.0, high=10.0, doc="Rashba coupling of the M || z crossover [eV nm] (J is varied)")
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
class ValidateConfig:
    model: ModelOptions = dataclasses.field(default_factory=ModelOptions)
    ensemble: EnsembleOptions = dataclasses.field(default_factory=lambda: EnsembleOptions(num_phi=64, num_r=8))
    drive: ValidateDriveOptions = dataclasses.field(default_factory=ValidateDriveOptions)
    relaxation: RelaxationOptions = dataclasses.field(default_factory=RelaxationOptions)
    time: TimeOptions = dataclasses.field(default_factory=TimeOptions)
    numerics: QuantumNumericsOptions = dataclasses.field(default_factory=QuantumNumericsOptions)
    scan: ScanOptions = dataclasses.field(default_factory=ScanOptions)
    crossover: CrossoverOptions = dataclasses.field(default_factory=CrossoverOptions)


DEFAULT_VALIDATE_TOML = """\
# jaxsot validate: exact spinor dynamics of every k-state vs the semiclassical picture.
# [model]..[time]: the ensemble comparison (as in `jaxsot run`, with a smooth switch-on);
# [scan]: one state, errors vs the adiabaticity epsilon = hbar|db/dt|/Omega^2;
# [crossover]: M || z, ensemble damping-like torques vs alpha k_F/J (J varied).

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
"""


def _build_over(default, section: str, table: Any):
    """Like _build, but keys missing from the table keep the values of `default` (not the class defaults)."""
    built = _build(type(default), section, table)
    return dataclasses.replace(default, **{key: getattr(built, key) for key in table})


def parse_validate_config(text: str, source: str = "config") -> ValidateConfig:
    """Parse and validate a `jaxsot validate` TOML text. Raises ConfigError with one clear line."""
    config = _parse_sections(text, source, ValidateConfig, build=_build_over)
    scan, crossover = config.scan, config.crossover
    if not scan.adiabaticity_min < scan.adiabaticity_max:
        raise ConfigError(
            f"[scan] adiabaticity_min = {scan.adiabaticity_min!r} is not below adiabaticity_max = "
            f"{scan.adiabaticity_max!r}; allowed: adiabaticity_min < adiabaticity_max"
        )
    if not crossover.ratio_min < crossover.ratio_max:
        raise ConfigError(
            f"[crossover] ratio_min = {crossover.ratio_min!r} is not below ratio_max = {crossover.ratio_max!r}; "
            "allowed: ratio_min < ratio_max"
        )
    return config

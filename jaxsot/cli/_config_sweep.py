"""The `jaxsot sweep` configuration: the run sections plus [sweep], [[axes]] / [random], [output]."""

import dataclasses
import math
from typing import Any
from ._config_schema import ConfigError, option, type_name, check_value, show_value, build_section, load_toml, named_errors
from ._config_run import RUN_APPROXIMATIONS, SWEEPABLE, RunConfig, check_run_rules, config_to_dict, parse_name_list
from ._model_config import model_kind, parse_model_table
from ._sweep_kinds import axis_field, check_approximations, stored_kind_names


# ------------------------------------------------------------------------------------------------
# `jaxsot sweep`: the run sections give the fixed values; [sweep] and [sweep.parameters] say what
# varies; [output] what is stored and plotted. Swept values are range-checked like fixed ones.

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
    mode: str = option("grid", choices=("grid", "random"), doc="grid: every combination; random: num_points random draws")
    num_points: int = option(64, low=1, high=100_000_000, doc="number of points (mode = random)")
    seed: int = option(0, low=0, high=2**32 - 1, doc="random seed (mode = random)")
    chunk_points: int = option(0, low=0, high=100_000_000, doc="points per chunk file; 0 = sized to the device memory")
    batch_points: int = option(0, low=0, high=100_000_000, doc="points vectorized together per device; 0 = automatic")
    on_invalid: str = option("error", choices=("error", "nan"), doc="points whose Fermi sea is not supported: refuse, or store NaN")


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
    approximations: tuple = RUN_APPROXIMATIONS


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
observables = [
  "damping_torque", "field_like_torque", "spin_force_density", "spin_force_per_electron",
  "spin_density_change", "current_density",
]

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


def run_field_of(name: str) -> tuple[str, dataclasses.Field]:
    section = SWEEPABLE[name]
    cls = type(getattr(RunConfig(), section))
    return section, {f.name: f for f in dataclasses.fields(cls)}[name]


def check_type(key: str, value: Any, kind: type) -> Any:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key} = {show_value(value)} is {type_name(value)}; allowed: an integer")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{key} = {show_value(value)} is {type_name(value)}; allowed: a number")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{key} = {show_value(value)} is {type_name(value)}; allowed: a string")
    return float(value) if kind is float else value


def _axis(name: str, spec: Any, mode: str, field: dataclasses.Field | None = None) -> SweepAxis:
    """One [sweep.parameters] entry; `field` range-checks it (default: the run key's own, for the Rashba sweep)."""
    key = f"[sweep.parameters] {name}"
    if field is None:
        if name not in SWEEPABLE:
            raise ConfigError(f"{key} cannot be swept; allowed: {', '.join(SWEEPABLE)}")
        section, field = run_field_of(name)
    checked = lambda v: check_value("sweep.parameters", field, check_type(key, v, float))  # noqa: E731
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
                raise ConfigError(f"{key} = {show_value(spec)}; allowed: a list of numbers or {{start, stop, num, scale}}")
            start, stop = check_type(f"{key}.start", spec["start"], float), check_type(f"{key}.stop", spec["stop"], float)
            num = check_type(f"{key}.num", spec["num"], int)
            if not 1 <= num <= 1_000_000:
                raise ConfigError(f"{key}.num = {num} is out of range; allowed: [1, 1000000]")
            scale = spec.get("scale", "linear")
            if scale not in ("linear", "log"):
                raise ConfigError(f"{key}.scale = {show_value(scale)} is not allowed; allowed: 'linear', 'log'")
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
            raise ConfigError(f"{key} = {show_value(spec)}; allowed (mode = grid): a list of numbers or {{start, stop, num, scale}}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{key} has repeated values; allowed: distinct values")
        return SweepAxis(name, values=values)
    if not isinstance(spec, dict) or set(spec) - {"low", "high", "scale"} or not {"low", "high"} <= set(spec):
        raise ConfigError(f"{key} = {show_value(spec)}; allowed (mode = random): {{low, high, scale}}")
    low, high = checked(spec["low"]), checked(spec["high"])
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise ConfigError(f"{key}.scale = {show_value(scale)} is not allowed; allowed: 'linear', 'log'")
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


def plot_variables(observables, approximations=RUN_APPROXIMATIONS, kind: str = "rashba") -> tuple[str, ...]:
    """The variables a sweep with these observables and approximations stores, by their exact names (what a plot may show)."""
    from .. import sweep as sweep_api

    if kind != "rashba":
        return tuple(name for name in stored_kind_names(observables) if name != "status")

    try:
        selection = sweep_api.select_sweep_observables(list(observables), list(approximations))
    except ValueError as error:
        raise ConfigError(f"[output] observables = {list(observables)!r}, approximations = {list(approximations)!r}: {error}") from None
    return tuple(
        name for name, (kind, observable, _) in sweep_api.output_names(selection).items()
        if name != "status" and (kind == "point" or observable in observables)
    )


def config_table(data: dict, name: str, what: str) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{name} = {show_value(value)} is {type_name(value)}; allowed: a table [{name}] ({what})")
    return value


def parse_sweep_config(text: str, source: str = "config", *, build: bool = True) -> SweepConfig:
    """Parse and validate a `jaxsot sweep` TOML text. Raises ConfigError with one clear line that
    starts with the source (file name) and names the section and key.

    build: False checks every key, type and range without building the [model] of another kind (so
    JAX's backend does not start: `jaxsot sweep --coordinator` initializes jax.distributed after this
    parse); parse again with build=True afterwards for the model's own checks (its constructor, and
    the parameter names of a "python:" model)."""
    with named_errors(source):
        return _parse_sweep(text, source, build)


def _parse_sweep(text: str, source: str, build: bool = True) -> SweepConfig:
    run_sections = [f.name for f in dataclasses.fields(RunConfig) if f.name != "output"]
    data = load_toml(text, source, run_sections + ["sweep", "output"])
    run = RunConfig(**{
        # [model] of any kind (cli._model_config); a table without kind is the Rashba ferromagnet's, as before.
        f.name: parse_model_table(f.name, data.get(f.name, {}), build=build) if f.name == "model" else
        build_section(type(f.default_factory()), f.name, data.get(f.name, {}))
        for f in dataclasses.fields(RunConfig) if f.name != "output"  # a sweep's [output] is its own (below)
    })
    material = model_kind(run.model)  # not `kind`: the drive check below reuses that name
    sweep_table = dict(config_table(data, "sweep", "mode, num_points, ... and [sweep.parameters]"))
    parameters = sweep_table.pop("parameters", {})
    options = build_section(SweepOptions, "sweep", sweep_table)
    if not isinstance(parameters, dict):
        raise ConfigError(f"[sweep] parameters = {show_value(parameters)} is {type_name(parameters)}; allowed: a table [sweep.parameters]")
    if not parameters:
        raise ConfigError("[sweep.parameters] is missing or empty; allowed: one or more swept keys, e.g. alpha_eV_nm = [0.02, 0.05]")
    if material == "rashba":
        axes = tuple(_axis(name, spec, options.mode) for name, spec in parameters.items())
    else:
        axes = tuple(_axis(name, spec, options.mode, axis_field(run.model, name, build)) for name, spec in parameters.items())
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
    output = config_table(data, "output", "observables, approximations, plots")
    if set(output) - {"observables", "approximations", "plots"}:
        raise ConfigError(
            f"[output] has unknown keys {sorted(set(output) - {'observables', 'approximations', 'plots'})}; allowed: observables, approximations, plots"
        )
    approximations = parse_name_list("output", "approximations", output.get("approximations", list(RUN_APPROXIMATIONS)), RUN_APPROXIMATIONS)
    if material != "rashba":
        approximations = check_approximations(material, output)
    observables = output.get("observables", list(SWEEP_OBSERVABLES))
    if (
        not isinstance(observables, list) or not observables
        or any(not isinstance(o, str) or o not in SWEEP_OBSERVABLES for o in observables)
    ):
        raise ConfigError(f"[output] observables = {show_value(observables)}; allowed: a non-empty list from {', '.join(SWEEP_OBSERVABLES)}")
    if len(set(observables)) != len(observables):
        raise ConfigError(f"[output] observables = {show_value(observables)} repeats a name; allowed: each observable once")
    plot_specs = output.get("plots", [])
    if not isinstance(plot_specs, list):
        raise ConfigError(f"[output] plots = {show_value(plot_specs)} is {type_name(plot_specs)}; allowed: [[output.plots]] tables")
    if len(plot_specs) > 100:
        raise ConfigError(f"[output] has {len(plot_specs)} plots; allowed: at most 100")
    stored = plot_variables(observables, approximations, material)
    plots = []
    for index, spec in enumerate(plot_specs):
        key = f"[[output.plots]] #{index + 1}"
        if not isinstance(spec, dict) or set(spec) - {"variable", "x", "hue", "time_index"} or not {"variable", "x"} <= set(spec):
            raise ConfigError(f"{key} = {show_value(spec)}; allowed: a table with variable, x and optional hue, time_index")
        plot = PlotSpec(
            variable=check_type(f"{key} variable", spec["variable"], str),
            x=check_type(f"{key} x", spec["x"], str),
            hue=check_type(f"{key} hue", spec.get("hue", ""), str),
            time_index=check_type(f"{key} time_index", spec.get("time_index", -1), int),
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
                f"{key} variable = {show_value(plot.variable)} is not stored; allowed (exact names, from [output] observables): "
                f"{', '.join(stored)}"
            )
        if not -run.time.num_steps <= plot.time_index < run.time.num_steps:
            raise ConfigError(f"{key} time_index = {plot.time_index} is out of range; allowed: [{-run.time.num_steps}, {run.time.num_steps - 1}]")
        plots.append(plot)
    return SweepConfig(run=run, sweep=options, axes=axes, observables=tuple(observables), plots=tuple(plots),
                       approximations=approximations)


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
    run.pop("output")  # the run's [output] default; a sweep's stored observables are listed below
    return {
        "run": run,
        "sweep": sweep,
        "axes": axes,
        "observables": list(config.observables),
        # Only when narrowed: the identity of a sweep without the key (older folders) stays the same.
        **({} if config.approximations == RUN_APPROXIMATIONS else {"approximations": list(config.approximations)}),
        "precision": precision,
    }

"""The `jaxsot run` configuration: [model], [ensemble], [drive], [relaxation], [time], [limits]."""

import dataclasses
import math
from ._config_schema import ConfigError, option, allowed_range, build_section, parse_sections, named_errors
from ._model_config import TAU_MIN, EFIELD_MIN, T_END_MIN, ModelOptions, MAX_STATE_STEPS


@dataclasses.dataclass(frozen=True)
class EnsembleOptions:
    fermi_energy_eV: float = option(1.5, low=-100.0, high=100.0, doc="Fermi energy E_F [eV] (bands are eps = c k^2 +- Omega)")
    num_phi: int = option(128, low=8, high=1_000_000, doc="rays (contour points) per band")
    num_r: int = option(16, low=2, high=1024, doc="Gauss-Legendre radial nodes per ray (Fermi-sea states)")


@dataclasses.dataclass(frozen=True)
class DriveOptions:
    kind: str = option("step", choices=("step", "ramp", "sinusoid"), doc="field switch-on at t = 0")
    efield_V_per_m: float = option(1.0e5, low=EFIELD_MIN, high=1.0e9, doc="field amplitude [V/m]")
    direction_deg: float = option(0.0, low=-360.0, high=360.0, doc="in-plane angle of E from +x [deg]")
    ramp_time_fs: float = option(10.0, low=0.0, high=1.0e7, low_open=True, doc="ramp duration (kind = ramp) [fs]")
    frequency_THz: float = option(10.0, low=0.0, high=1.0e4, low_open=True, doc="frequency (kind = sinusoid) [THz]")
    phase_deg: float = option(0.0, low=-360.0, high=360.0, doc="phase (kind = sinusoid) [deg]")


@dataclasses.dataclass(frozen=True)
class RelaxationOptions:
    tau_fs: float = option(
        10.0, low=TAU_MIN, allow_inf=True,
        doc="momentum relaxation time [fs] (run, sweep: also >= t_end_fs/(num_steps - 1)/4); inf = no relaxation",
    )


@dataclasses.dataclass(frozen=True)
class TimeOptions:
    t_end_fs: float = option(60.0, low=T_END_MIN, high=1.0e7, doc="end of the simulated interval [fs]")
    num_steps: int = option(241, low=2, high=10_000_000, doc="number of output times, t = 0 .. t_end")


@dataclasses.dataclass(frozen=True)
class LimitOptions:
    max_state_steps: float = option(
        MAX_STATE_STEPS, low=1.0, high=1.0e18,
        doc="work limit: states x time steps (x points); 1e11 is about an hour of one CPU core; raise it for longer runs",
    )
    max_memory_GB: float = option(
        0.0, low=0.0, high=1.0e6, doc="planned memory limit [GB]; 0 = half of this machine's memory (at most all of it)",
    )


RUN_OBSERVABLES = (
    "spin_density", "spin_density_change", "spin_rate", "damping_torque", "field_like_torque",
    "spin_force_density", "spin_force_per_electron", "current_density",
)
"""The observables of `jaxsot.simulate` (the keys of `jaxsot.UNITS`; a test keeps them equal), listed
here so a config is checked before JAX starts."""

RUN_APPROXIMATIONS = ("exact", "second_order", "strong_exchange")
"""The approximation columns `jaxsot.simulate` computes where defined."""


@dataclasses.dataclass(frozen=True)
class OutputOptions:
    """[output] of `jaxsot run`: what is computed and written (default: everything)."""

    observables: tuple = RUN_OBSERVABLES
    approximations: tuple = RUN_APPROXIMATIONS


def parse_name_list(section: str, key: str, value, allowed: tuple) -> tuple:
    """A non-empty list of distinct names from `allowed`, or ConfigError in one line naming the value and the allowed list."""
    if not isinstance(value, list) or not value or any(not isinstance(v, str) for v in value):
        raise ConfigError(f"[{section}] {key} = {value!r} is not a non-empty list of names; allowed: a list from {', '.join(allowed)}")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ConfigError(f"[{section}] {key} has {unknown[0]!r}, not an allowed name; allowed: a list from {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise ConfigError(f"[{section}] {key} = {value!r} repeats a name; allowed: each name once, from {', '.join(allowed)}")
    return tuple(value)


def parse_output_table(table: dict) -> OutputOptions:
    """[output] of `jaxsot run`: observables and approximations (each a list of names; default all)."""
    unknown = sorted(set(table) - {"observables", "approximations"})
    if unknown:
        raise ConfigError(f"[output] has unknown keys {unknown}; allowed: observables, approximations")
    observables = parse_name_list("output", "observables", table.get("observables", list(RUN_OBSERVABLES)), RUN_OBSERVABLES)
    approximations = parse_name_list(
        "output", "approximations", table.get("approximations", list(RUN_APPROXIMATIONS)), RUN_APPROXIMATIONS
    )
    if "exact" not in approximations:
        raise ConfigError(
            f"[output] approximations = {list(approximations)!r} lacks 'exact' (the reference of the summary and of the "
            f"relative errors); allowed: a list from {', '.join(RUN_APPROXIMATIONS)} that includes 'exact'"
        )
    return OutputOptions(observables, approximations)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    model: ModelOptions = dataclasses.field(default_factory=ModelOptions)
    ensemble: EnsembleOptions = dataclasses.field(default_factory=EnsembleOptions)
    drive: DriveOptions = dataclasses.field(default_factory=DriveOptions)
    relaxation: RelaxationOptions = dataclasses.field(default_factory=RelaxationOptions)
    time: TimeOptions = dataclasses.field(default_factory=TimeOptions)
    limits: LimitOptions = dataclasses.field(default_factory=LimitOptions)
    output: OutputOptions = dataclasses.field(default_factory=OutputOptions)


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


SHIFT_SUBSTEPS = 4
"""RK4 substeps per output interval of the sea's rigid shift (`jaxsot.simulate` and sweeps)."""


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
        config = parse_sections(text, source, RunConfig, build=_run_section)
        check_run_rules(config)
    return config


def _run_section(default, name, table):
    """One run section; [model] by its kind (cli._model_config: the shipped models and "python:...")."""
    if name == "model":
        from ._model_config import parse_model_table

        return parse_model_table(name, table)
    if name == "output":
        return parse_output_table(table)
    return build_section(type(default), name, table)


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
            elif isinstance(value, tuple):
                text = "[" + ", ".join(f'"{v}"' for v in value) + "]"
            else:
                text = repr(value)
            meta = field.metadata
            if not meta:  # [output]: lists of names
                lines.append(f"{field.name} = {text}")
                continue
            if meta.get("choices"):
                allowed = f"; allowed: {', '.join(map(repr, meta['choices']))}"
            elif meta.get("low") is not None or meta.get("high") is not None:
                allowed = f"; allowed: {allowed_range(meta)}"
            else:
                allowed = ""
            lines.append(f"{field.name} = {text}  # {meta['doc']}{allowed}")
        lines.append("")
    return "\n".join(lines)


def config_to_dict(config: RunConfig) -> dict:
    """Plain nested dict (JSON-ready; inf written as the string "inf")."""
    raw = dataclasses.asdict(config)
    return {
        section: {key: ("inf" if isinstance(v, float) and math.isinf(v) else list(v) if isinstance(v, tuple) else v) for key, v in table.items()}
        for section, table in raw.items()
    }

"""The `jaxsot validate` configuration: [drive], [numerics], [scan], [crossover], [layers]."""

import dataclasses
import math
from typing import Any
from ._config_schema import ConfigError, option, build_section, parse_sections, named_errors
from ._model_config import ALPHA_MIN, ModelOptions
from ._config_run import EnsembleOptions, RelaxationOptions, TimeOptions, LimitOptions, LIMITS_TOML



# ---------------------------------------------------------------------------------------------
# `jaxsot validate`: the quantum check (exact spinor dynamics vs the semiclassical picture).


@dataclasses.dataclass(frozen=True)
class ValidateDriveOptions:
    kind: str = option(
        "smooth_ramp", choices=("smooth_ramp", "ramp", "step", "sinusoid"),
        doc="field switch-on at t = 0: smooth_ramp (C-infinity), ramp (sin^2), step, sinusoid",
    )
    efield_V_per_m: float = option(1.0e5, low=0.0, high=1.0e9, low_open=True, doc="field amplitude [V/m]")
    direction_deg: float = option(0.0, low=-360.0, high=360.0, doc="in-plane angle of E from +x [deg]")
    ramp_time_fs: float = option(20.0, low=0.0, high=1.0e7, low_open=True, doc="ramp duration (smooth_ramp, ramp) [fs]")
    frequency_THz: float = option(10.0, low=0.0, high=1.0e4, low_open=True, doc="frequency (kind = sinusoid) [THz]")
    phase_deg: float = option(0.0, low=-360.0, high=360.0, doc="phase (kind = sinusoid) [deg]")


@dataclasses.dataclass(frozen=True)
class QuantumNumericsOptions:
    max_angle_rad: float = option(
        0.4, low=0.0, high=1.5, low_open=True,
        doc="largest precession angle 2 Omega h/hbar per Magnus step (relative error <~3e-3 angle^4)",
    )


@dataclasses.dataclass(frozen=True)
class ScanOptions:
    band: int = option(-1, choices=(-1, 1), doc="band of the scanned state: -1 lower, +1 upper")
    k_angle_deg: float = option(30.0, low=-360.0, high=360.0, doc="the state sits on the Fermi contour of `band` at this angle [deg]")
    adiabaticity_min: float = option(1.0e-5, low=0.0, high=1.0, low_open=True, doc="smallest epsilon = hbar|db/dt|/Omega^2")
    adiabaticity_max: float = option(0.1, low=0.0, high=10.0, low_open=True, doc="largest epsilon")
    num_points: int = option(9, low=2, high=200, doc="epsilon values (log-spaced)")
    fit_max: float = option(1.0e-2, low=0.0, high=10.0, low_open=True, doc="fit the error orders over epsilon <= fit_max")
    steps_per_period: int = option(128, low=8, high=100_000, doc="Magnus steps per precession period pi hbar/Omega")
    ramp_periods: float = option(40.0, low=1.0, high=1.0e4, doc="smooth switch-on duration [precession periods]")
    window_periods: float = option(10.0, low=0.5, high=1.0e4, doc="comparison window after the ramp [precession periods]")


@dataclasses.dataclass(frozen=True)
class CrossoverOptions:
    alpha_eV_nm: float = option(
        0.008, low=-10.0, high=10.0, min_abs=ALPHA_MIN, why="J = |alpha| k_F/ratio would vanish",
        doc="Rashba coupling of the M || z crossover [eV nm] (J is varied)",
    )
    fermi_energy_eV: float = option(1.0, low=0.0, high=100.0, low_open=True, doc="E_F [eV]; k_F = sqrt(2 m E_F)/hbar")
    ratio_min: float = option(0.05, low=0.0, high=1.0e4, low_open=True, doc="smallest alpha k_F/J")
    ratio_max: float = option(20.0, low=0.0, high=1.0e4, low_open=True, doc="largest alpha k_F/J")
    num_points: int = option(7, low=2, high=200, doc="alpha k_F/J values (log-spaced)")
    num_phi: int = option(8, low=4, high=100_000, doc="angles per band")
    num_r: int = option(16, low=2, high=10_000, doc="graded radial nodes per band")
    ramp_periods: float = option(20.0, low=1.0, high=1.0e4, doc="smooth switch-on [periods pi hbar/J of the slowest states]")
    window_periods: float = option(5.0, low=0.5, high=1.0e4, doc="averaging window after the ramp [periods pi hbar/J]")
    max_angle_rad: float = option(0.5, low=0.0, high=1.5, low_open=True, doc="largest precession angle per Magnus step")


@dataclasses.dataclass(frozen=True)
class LayerCheckOptions:
    checks: str = option(
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
    """Like build_section, but keys missing from the table keep the values of `default` (not the class defaults)."""
    built = build_section(type(default), section, table)
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
        config = parse_sections(text, source, ValidateConfig, build=_build_over)
        check_validate_rules(config)
    return config

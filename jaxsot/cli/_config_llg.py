"""The `jaxsot llg` configuration: [electrons], [current], [magnet], [field], [initial], [torque], [time], [events]."""

import dataclasses
import math
from ..constants import G_ELECTRON, HBAR2_OVER_2ME
from ._config_schema import ConfigError, option, build_section, parse_sections, named_errors
from ._model_config import ALPHA_MIN, J_EX_MIN, MASS_RATIO_MAX, MASS_RATIO_MIN, EFIELD_MIN, LLG_TAU_RANGE
from ._config_run import LimitOptions, LIMITS_TOML


# ------------------------------------------------------------------------------------------------
# `jaxsot llg`: macrospin LLG driven by the electron ensemble's spin-orbit torque (jaxsot._llg).
# SI / customary units in the key names; converted in jaxsot._llg_cli.


@dataclasses.dataclass(frozen=True)
class LlgElectronOptions:
    alpha_eV_nm: float = option(
        0.05, low=-10.0, high=10.0, min_abs=ALPHA_MIN,
        why="without Rashba coupling there is no spin-orbit torque, and the energy-transfer check divides by it",
        doc="Rashba coupling [eV nm] (0.05 eV nm = 0.5 eV A)",
    )
    j_ex_eV: float = option(1.0, low=J_EX_MIN, high=100.0, doc="exchange coupling J [eV]; eta = m alpha^2/(hbar^2 J) < 1")
    mass_ratio: float = option(1.0, low=MASS_RATIO_MIN, high=MASS_RATIO_MAX, doc="effective mass m*/m_e")
    fermi_energy_eV: float = option(1.5, low=-100.0, high=100.0, doc="Fermi energy E_F [eV]")


@dataclasses.dataclass(frozen=True)
class LlgCurrentOptions:
    j_A_per_m2: float = option(3.0e11, low=-1.0e14, high=1.0e14, doc="current density in the magnetic film [A/m^2]")
    direction_deg: float = option(0.0, low=-360.0, high=360.0, doc="in-plane angle of the current from +x [deg]")
    rho0_ohm_m: float = option(2.0e-7, low=0.0, high=1.0e-2, low_open=True, doc="resistivity rho0 [ohm m]; E = rho0 j")
    pulse_ns: float = option(math.inf, low=0.0, low_open=True, allow_inf=True, doc="current on for 0 <= t < pulse_ns [ns]; inf = DC")


@dataclasses.dataclass(frozen=True)
class LlgMagnetOptions:
    ms_T: float = option(1.0, low=0.0, high=10.0, low_open=True, doc="mu0 M_s [T] (1 T: M_s = 7.96e5 A/m)")
    thickness_nm: float = option(1.0, low=0.0, high=1.0e4, low_open=True, doc="magnetic film thickness d [nm] (carries the current)")
    gilbert: float = option(0.05, low=0.0, high=10.0, doc="Gilbert damping alpha_G")
    g_factor: float = option(G_ELECTRON, low=0.0, high=10.0, low_open=True, doc="g factor (gamma = g mu_B/hbar)")
    anisotropy_T: float = option(0.05, low=-100.0, high=100.0, doc="uniaxial anisotropy field B_K = 2 K_u/M_s [T] (< 0: easy plane)")
    easy_theta_deg: float = option(90.0, low=0.0, high=180.0, doc="easy axis polar angle from +z [deg]")
    easy_phi_deg: float = option(90.0, low=-360.0, high=360.0, doc="easy axis azimuth from +x [deg]")
    demag_x: float = option(0.0, low=0.0, high=1.0, doc="demagnetizing factor N_x")
    demag_y: float = option(0.0, low=0.0, high=1.0, doc="demagnetizing factor N_y")
    demag_z: float = option(1.0, low=0.0, high=1.0, doc="demagnetizing factor N_z (thin film: 1); N_x + N_y + N_z = 1, or all 0")


@dataclasses.dataclass(frozen=True)
class LlgFieldOptions:
    b_T: float = option(0.0, low=0.0, high=100.0, doc="external field mu0 H [T]")
    theta_deg: float = option(90.0, low=0.0, high=180.0, doc="field polar angle from +z [deg]")
    phi_deg: float = option(90.0, low=-360.0, high=360.0, doc="field azimuth from +x [deg]")


@dataclasses.dataclass(frozen=True)
class LlgInitialOptions:
    theta_deg: float = option(80.0, low=0.0, high=180.0, doc="initial M polar angle from +z [deg]")
    phi_deg: float = option(80.0, low=-360.0, high=360.0, doc="initial M azimuth from +x [deg]")


@dataclasses.dataclass(frozen=True)
class LlgTorqueOptions:
    method: str = option("exact", choices=("exact", "strong_exchange"), doc="electron torque: exact bands or strong-exchange closed form")
    num_contour: int = option(64, low=8, high=65536, doc="rays per Fermi contour (method = exact)")
    field_like: bool = option(True, doc="include the field-like torque T1")
    damping_like: bool = option(True, doc="include the damping-like torque T2 (hbar k' = qE)")


@dataclasses.dataclass(frozen=True)
class LlgTimeOptions:
    t_end_ns: float = option(0.5, low=0.0, high=1.0e6, low_open=True, doc="end of the simulated interval [ns]")
    num_save: int = option(501, low=2, high=10_000_000, doc="number of saved times, t = 0 .. t_end")
    rtol: float = option(1.0e-7, low=0.0, high=1.0e-2, low_open=True, doc="relative tolerance of the adaptive integrator")


@dataclasses.dataclass(frozen=True)
class LlgEventOptions:
    switch: bool = option(False, doc="stop when M reverses along the easy axis (M.u crosses switch_threshold)")
    switch_threshold: float = option(-0.5, low=-1.0, high=1.0, low_open=True, doc="switching threshold on M.u (u toward the initial side)")
    stop_rate_per_ns: float = option(0.0, low=0.0, high=1.0e6, doc="stop when |dM/dt| < this [1/ns]; 0 = off")


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
# the Rashba electrons: current 3e11 A/m^2 along x in the 1 nm film, rho0 = 2e-7 ohm m
# (E = 6e4 V/m).
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
    return build_section(type(default), name, table)


def parse_llg_config(text: str, source: str = "config") -> LlgConfig:
    """Parse and validate a `jaxsot llg` TOML text. Raises ConfigError with one clear line that
    starts with the source (file name) and names the section and key."""
    with named_errors(source):
        config = parse_sections(text, source, LlgConfig, build=_llg_section)
        check_llg_rules(config)
    return config


LLG_KIND_FERMI_EV = {"ti-surface": 0.3, "rashba-dresselhaus": 1.5, "square-lattice": 0.5, "tight-binding": 0.5}
"""E_F [eV] of `jaxsot default-config llg --model KIND`: each kind's default model keeps the same occupied bands
for every direction of M there (the check `jaxsot llg` makes before any work)."""


def default_llg_toml(kind: str) -> str:
    """The default `jaxsot llg` configuration with [electrons] of another shipped model kind (its [model] keys at the
    `jaxsot default-config run --model KIND` values, without theta_deg/phi_deg: M is the magnet's, and E_F)."""
    from ._model_config import default_model_toml

    if kind == "rashba":
        return DEFAULT_LLG_TOML
    start, end = DEFAULT_LLG_TOML.index("[electrons]"), DEFAULT_LLG_TOML.index("[current]")
    header = DEFAULT_LLG_TOML[:start].replace(
        "# Electrons as in `jaxsot run` (alpha = 0.5 eV A, J = 1 eV, E_F = 1.5 eV, both bands occupied).",
        f"# Electrons: {kind} (the values of `default-config run --model {kind}`;\n# exact torques).")
    header = header.replace("the Rashba electrons", "these electrons")
    table = [line for line in default_model_toml(kind).splitlines() if not line.startswith(("theta_deg", "phi_deg"))]
    table = [line.replace("[model]", "[electrons]").replace("[[model.", "[[electrons.") for line in table]
    fermi = f"fermi_energy_eV = {LLG_KIND_FERMI_EV[kind]!r}  # Fermi energy E_F [eV]: the same bands occupied for every M"
    # Before the tight-binding lattice and hoppings: a key after [[electrons.hoppings]] would belong to the last hopping.
    at = next((i for i, line in enumerate(table) if line.startswith("lattice_vectors_nm")), len(table))
    return header + "\n".join(table[:at] + [fermi] + table[at:]) + "\n\n" + DEFAULT_LLG_TOML[end:]

"""The [model] table of the configuration files: which electron model, and its parameters.

`kind` names the model: "rashba" (the default; the keys of `ModelOptions`, with the papers' closed
forms), "ti-surface", "rashba-dresselhaus", "square-lattice", "tight-binding", or a user's own
`jaxsot.TwoBandModel` subclass by import path, "python:package.module:ClassName". Every kind takes
the direction of M as theta_deg, phi_deg; units are in the key names. Each kind's keys, defaults and
allowed ranges are one schema here (`KIND_SCHEMAS`); `parse_model_table` checks them and then builds
the model once (its own checks, e.g. the hermiticity of tight-binding hoppings), so every error is
reported before any work. The other kinds have no closed forms: the commands report exact results.
"""

import dataclasses
import importlib
import math
from typing import Any

from .._core._model import MASS_RATIO_RANGE
from ._config_schema import ConfigError, allowed_range, build_section, check_value, option, show_value, type_name


# Shared lower bounds: the documented ranges are the ones that give finite, meaningful results.
ALPHA_MIN = 1.0e-4
"""Smallest |alpha| [eV nm] (1e-3 eV A): without Rashba coupling every torque and spin force vanishes,
and the relative errors of the approximations (approx - exact)/exact are undefined."""
J_EX_MIN = 1.0e-3
"""Smallest exchange J [eV] (1 meV): the strong-exchange forms and eta = m alpha^2/(hbar^2 J) divide by J."""
TAU_MIN = 1.0e-3
"""Shortest relaxation time tau [fs] (1 as): far below any physical momentum relaxation time."""
MASS_RATIO_MIN, MASS_RATIO_MAX = MASS_RATIO_RANGE
"""Allowed m*/m_e, the library's `MASS_RATIO_RANGE` (one source, so the CLI and RashbaFerromagnet agree):
lighter masses make hbar^2 k^2/2m so large that the Fermi sea shrinks towards k = 0 and the torques
(proportional to m) underflow to zero; outside it the band scales leave the range the ray bounds and
meshes are built for."""
EFIELD_MIN = 1.0e-3
"""Smallest |E| [V/m] (also rho0 |j| of `jaxsot llg`): every observable is linear in E, and far below this
it underflows (to 0 in float32), leaving no torque and undefined relative errors."""
T_END_MIN = 1.0e-3
"""Shortest simulated interval [fs] (1 as): the sea barely moves below it and the observables are zero at
every time (undefined relative errors)."""
LLG_TAU_RANGE = (1.0e-3, 1.0e9)
"""Allowed Drude time tau = m t_F/(rho0 e^2 n) [fs] of `jaxsot llg`, derived from thickness, rho0 and the bands."""
ALPHA_WHY = "without Rashba coupling the torques vanish and the approximations' relative errors are undefined"


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    alpha_eV_nm: float = option(
        0.05, low=-10.0, high=10.0, min_abs=ALPHA_MIN, why=ALPHA_WHY,
        doc="Rashba coupling [eV nm] (0.05 eV nm = 0.5 eV A)",
    )
    j_ex_eV: float = option(1.0, low=J_EX_MIN, high=100.0, doc="exchange coupling J [eV]")
    theta_deg: float = option(60.0, low=0.0, high=180.0, doc="polar angle of M from +z [deg]")
    phi_deg: float = option(30.0, low=-360.0, high=360.0, doc="azimuth of M from +x [deg]")
    mass_ratio: float = option(1.0, low=MASS_RATIO_MIN, high=MASS_RATIO_MAX, doc="effective mass m*/m_e")


MAX_STATE_STEPS = 1.0e11
"""Default work limit (state-steps): about an hour of one CPU core at ~3e7 state-steps/s."""


KINDS = ("rashba", "ti-surface", "rashba-dresselhaus", "square-lattice", "tight-binding")
"""The shipped model kinds; "python:module:Class" names a user's own model."""

_ANGLES = (
    ("theta_deg", float, option(0.0, low=0.0, high=180.0, doc="polar angle of M from +z [deg]")),
    ("phi_deg", float, option(0.0, low=-360.0, high=360.0, doc="azimuth of M from +x [deg]")),
)


def _schema(kind, *entries):
    fields = [("kind", str, option(kind, choices=(kind,), doc="model kind"))]
    fields += [(name, float, spec) for name, spec in entries] + list(_ANGLES)
    return dataclasses.make_dataclass(f"{kind.title().replace('-', '')}ModelOptions", fields, frozen=True)


KIND_SCHEMAS = {
    "ti-surface": _schema(
        "ti-surface",
        ("hbar_v_eV_nm", option(0.33, low=-10.0, high=10.0, min_abs=1e-4, doc="Dirac velocity times hbar [eV nm]",
                                 why="without it there is no spin-orbit coupling and no torque")),
        ("j_ex_eV", option(0.05, low=1e-3, high=100.0, doc="exchange coupling J [eV]")),
        ("kinetic_eV_nm2", option(0.05, low=0.0, high=100.0, low_open=True,
                                   doc="coefficient c of the k^2 term [eV nm^2] (> 0: a bounded Fermi sea)")),
    ),
    "rashba-dresselhaus": _schema(
        "rashba-dresselhaus",
        ("alpha_eV_nm", option(0.05, low=-10.0, high=10.0, doc="Rashba coupling [eV nm]")),
        ("beta_eV_nm", option(0.02, low=-10.0, high=10.0, doc="linear Dresselhaus coupling [eV nm]")),
        ("j_ex_eV", option(1.0, low=1e-3, high=100.0, doc="exchange coupling J [eV]")),
        ("mass_ratio", option(1.0, low=MASS_RATIO_MIN, high=MASS_RATIO_MAX, doc="effective mass m*/m_e")),
    ),
    "square-lattice": _schema(
        "square-lattice",
        ("t_eV", option(1.0, low=0.0, high=100.0, low_open=True, doc="nearest-neighbour hopping t [eV]")),
        ("a_nm", option(0.4, low=0.0, high=100.0, low_open=True, doc="lattice constant a [nm]")),
        ("lam_eV", option(0.1, low=-100.0, high=100.0, doc="spin-orbit (Rashba) hopping lambda [eV]")),
        ("j_ex_eV", option(0.3, low=1e-3, high=100.0, doc="exchange coupling J [eV]")),
    ),
    "tight-binding": _schema(
        "tight-binding",
        ("j_ex_eV", option(0.3, low=1e-3, high=100.0, doc="exchange coupling J [eV]")),
    ),
}

_TIGHT_BINDING_EXTRA = ("lattice_vectors_nm", "hoppings")


@dataclasses.dataclass(frozen=True)
class TightBindingOptions:
    """[model] kind = "tight-binding": the schema's scalars plus the lattice and the hoppings (checked)."""

    scalars: Any
    lattice_vectors_nm: tuple
    hoppings: tuple  # ((n1, n2), ((re, re), (re, re)), ((im, im), (im, im))) per given cell


@dataclasses.dataclass(frozen=True)
class PythonModelOptions:
    """[model] kind = "python:module:Class": the class's keyword arguments (numbers or arrays) and M."""

    kind: str
    parameters: tuple  # ((name, value), ...)
    theta_deg: float
    phi_deg: float


def model_kind(options) -> str:
    """The kind of parsed [model] options ("rashba" for `ModelOptions`)."""
    if isinstance(options, ModelOptions):
        return "rashba"
    if isinstance(options, TightBindingOptions):
        return "tight-binding"
    return options.kind


def _matrix(section, index, name, value):
    where = f"[{section}] hoppings[{index}].{name}"
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(r, list) and len(r) == 2 for r in value)):
        raise ConfigError(f"{where} = {show_value(value)} is {type_name(value)}; allowed: a 2x2 array of numbers [eV], e.g. [[0.0, 0.0], [0.0, 0.0]]")
    for row in value:
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ConfigError(f"{where} holds {show_value(x)}; allowed: finite numbers [eV]")
    return tuple(tuple(float(x) for x in row) for row in value)


def _tight_binding(section, table):
    scalars = {k: v for k, v in table.items() if k not in _TIGHT_BINDING_EXTRA}
    options = build_section(KIND_SCHEMAS["tight-binding"], section, scalars)
    lattice = table.get("lattice_vectors_nm", [[0.4, 0.0], [0.0, 0.4]])
    if not (isinstance(lattice, list) and len(lattice) == 2 and all(isinstance(r, list) and len(r) == 2 for r in lattice)
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for r in lattice for x in r)):
        raise ConfigError(f"[{section}] lattice_vectors_nm = {show_value(lattice)}; allowed: [[a1x, a1y], [a2x, a2y]] in nm (finite numbers)")
    hoppings = table.get("hoppings")
    if not isinstance(hoppings, list) or not hoppings or not all(isinstance(h, dict) for h in hoppings):
        raise ConfigError(
            f"[{section}] hoppings = {show_value(hoppings)}; allowed: an array of tables [[{section}.hoppings]] with "
            "cell = [n1, n2], real_eV = [[..], [..]] and (optional) imag_eV = [[..], [..]]"
        )
    parsed = []
    for index, hop in enumerate(hoppings):
        unknown = set(hop) - {"cell", "real_eV", "imag_eV"}
        if unknown:
            raise ConfigError(f"[{section}] hoppings[{index}] unknown key {sorted(unknown)[0]!r}; allowed: cell, real_eV, imag_eV")
        cell = hop.get("cell")
        if not (isinstance(cell, list) and len(cell) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in cell)):
            raise ConfigError(f"[{section}] hoppings[{index}].cell = {show_value(cell)}; allowed: two integers [n1, n2] (R = n1 a1 + n2 a2)")
        real = _matrix(section, index, "real_eV", hop.get("real_eV"))
        imag = _matrix(section, index, "imag_eV", hop.get("imag_eV", [[0.0, 0.0], [0.0, 0.0]]))
        parsed.append((tuple(cell), real, imag))
    return TightBindingOptions(options, tuple(tuple(float(x) for x in r) for r in lattice), tuple(parsed))


def _python(section, kind, table):
    path = kind[len("python:"):]
    if path.count(":") != 1 or not all(path.split(":")):
        raise ConfigError(f"[{section}] kind = {kind!r}; allowed: \"python:package.module:ClassName\"")
    angles = {}
    for name, _, spec in _ANGLES:
        field = dataclasses.field(default=spec.default, metadata=spec.metadata)
        field.name, field.type = name, float
        angles[name] = check_value(section, field, table[name]) if name in table else spec.default
    parameters = []
    for key, value in table.items():
        if key in ("kind", "theta_deg", "phi_deg"):
            continue
        if isinstance(value, (str, dict)) or isinstance(value, bool):
            raise ConfigError(f"[{section}] {key} = {show_value(value)} is {type_name(value)}; allowed: a number or an array of numbers")
        parameters.append((key, _freeze(value)))
    return PythonModelOptions(kind, tuple(parameters), angles["theta_deg"], angles["phi_deg"])


def _freeze(value):
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _thaw(value):
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


def parse_model_table(section: str, table: Any, *, build: bool = True):
    """[model] table -> options: `ModelOptions` (kind "rashba" or no kind), a `KIND_SCHEMAS` dataclass,
    `TightBindingOptions` or `PythonModelOptions`; the model is built once here, so its own checks run
    before any work. Raises ConfigError naming the key, the value and what is allowed.

    build: False checks the keys, types and ranges only and builds nothing (no JAX array is made, so
    JAX's backend does not start: a distributed sweep must call jax.distributed.initialize first); the
    caller parses again with build=True once JAX may start, which runs the model's own checks."""
    if not isinstance(table, dict):
        return build_section(ModelOptions, section, table)
    kind = table.get("kind", "rashba")
    if not isinstance(kind, str):
        raise ConfigError(f"[{section}] kind = {show_value(kind)} is {type_name(kind)}; allowed: {', '.join(map(repr, KINDS))} or \"python:module:Class\"")
    if kind == "rashba":
        options = build_section(ModelOptions, section, {k: v for k, v in table.items() if k != "kind"})
        return options
    if kind == "tight-binding":
        options = _tight_binding(section, table)
    elif kind.startswith("python:"):
        options = _python(section, kind, table)
    elif kind in KIND_SCHEMAS:
        options = build_section(KIND_SCHEMAS[kind], section, table)
    else:
        raise ConfigError(f"[{section}] kind = {kind!r} is not allowed; allowed: {', '.join(map(repr, KINDS))} or \"python:module:Class\"")
    if not build:
        return options
    try:
        build_model(options, None)
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(f"[{section}] kind = {kind!r}: {error}") from None
    return options


def _direction(theta_deg, phi_deg):
    theta, phi = math.radians(theta_deg), math.radians(phi_deg)
    return [math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)]


def build_model(options, dtype):
    """Parsed [model] options -> the `jaxsot.TwoBandModel` (dtype: None = JAX's default float)."""
    import jax.numpy as jnp
    import numpy as onp

    import jaxsot

    def x(value):
        return jnp.asarray(value, dtype) if dtype is not None else jnp.asarray(value, float)

    kind = model_kind(options)
    if kind == "rashba":
        return jaxsot.RashbaFerromagnet.from_angles(
            x(options.alpha_eV_nm), x(options.j_ex_eV), x(math.radians(options.theta_deg)), x(math.radians(options.phi_deg)),
            x(options.mass_ratio),
        )
    if kind == "tight-binding":
        s = options.scalars
        hoppings = {}
        for cell, real, imag in options.hoppings:
            matrix = onp.asarray(real) + 1j * onp.asarray(imag)
            if cell in hoppings:
                raise ConfigError(f"[model] hoppings: cell {list(cell)} appears twice; allowed: each R once (-R is added as H(R)^dagger)")
            hoppings[cell] = matrix
        for cell, matrix in list(hoppings.items()):
            partner = (-cell[0], -cell[1])
            if partner not in hoppings:
                hoppings[partner] = matrix.conj().T
        lattice = onp.asarray(options.lattice_vectors_nm, dtype=onp.dtype(dtype) if dtype is not None else float)
        return jaxsot.TightBindingModel.from_hoppings(lattice, hoppings, x(s.j_ex_eV), x(_direction(s.theta_deg, s.phi_deg)))
    m = x(_direction(options.theta_deg, options.phi_deg))
    if kind == "ti-surface":
        return jaxsot.TISurfaceFerromagnet(x(options.hbar_v_eV_nm), x(options.j_ex_eV), m, kinetic=x(options.kinetic_eV_nm2))
    if kind == "rashba-dresselhaus":
        return jaxsot.RashbaDresselhausFerromagnet(x(options.alpha_eV_nm), x(options.beta_eV_nm), x(options.j_ex_eV), m, x(options.mass_ratio))
    if kind == "square-lattice":
        return jaxsot.SquareLatticeRashbaFerromagnet(x(options.t_eV), x(options.a_nm), x(options.lam_eV), x(options.j_ex_eV), m)
    module_name, class_name = kind[len("python:"):].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"[model] kind = {kind!r}: cannot import {module_name!r} ({error}); allowed: an importable module (on PYTHONPATH)") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, jaxsot.TwoBandModel)):
        raise ConfigError(f"[model] kind = {kind!r}: {module_name}.{class_name} is not a jaxsot.TwoBandModel subclass; allowed: one")
    parameters = {name: (x(_thaw(value)) if not isinstance(value, int) else value) for name, value in options.parameters}
    try:
        return cls(**parameters, magnetization=m)
    except TypeError as error:
        raise ConfigError(f"[model] kind = {kind!r}: {class_name}(...) refused the parameters ({error}); allowed: its keyword arguments") from None


def describe_model(options, model) -> str:
    """One line naming the model and its parameters, for the terminal."""
    kind = model_kind(options)
    if kind == "tight-binding":
        values = {"j_ex_eV": options.scalars.j_ex_eV, "hoppings": len(options.hoppings)}
    elif kind.startswith("python:"):
        values = dict(options.parameters)
    else:
        values = {f.name: getattr(options, f.name) for f in dataclasses.fields(options) if f.name not in ("kind", "theta_deg", "phi_deg")}
    text = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in values.items())
    direction = ", ".join(f"{float(c):.3f}" for c in model.magnetization) if hasattr(model, "magnetization") else "?"
    return f"model: {kind} ({type(model).__name__}), {text}, M = ({direction}); exact results only (no closed forms for this model)"


def default_model_toml(kind: str) -> str:
    """A commented [model] table for `kind` (its schema's defaults and ranges)."""
    if kind == "rashba":
        raise ValueError("the Rashba [model] table is the command's own default")
    schema = KIND_SCHEMAS[kind]
    lines = ["[model]"]
    for field in dataclasses.fields(schema):
        value = field.default
        text = f'"{value}"' if isinstance(value, str) else repr(value)
        meta = field.metadata
        allowed = f"; allowed: {allowed_range(meta)}" if meta.get("low") is not None or meta.get("high") is not None else ""
        line = f"{field.name} = {text}  # {meta['doc']}{allowed}"
        # A terminal is 100 columns wide: a long comment goes on its own line above the key.
        lines += [line] if len(line) <= 100 else [f"# {meta['doc']}{allowed}", f"{field.name} = {text}"]
    if kind == "tight-binding":
        lines += [
            "lattice_vectors_nm = [[0.4, 0.0], [0.0, 0.4]]  # primitive vectors a1, a2 as rows [nm]",
            "# One spinful orbital: H(k) = sum_R H(R) e^{ik.R} - J M.sigma. Give one of each pair +-R;",
            "# H(-R) = H(R)^dagger is added. H(R) = real_eV + i imag_eV (2x2, spin space) [eV]. This example",
            "# is the square-lattice Rashba ferromagnet (kind = \"square-lattice\") with t = 1 eV,",
            "# lambda = 0.1 eV: H(x) = -t + (i lambda/2) sigma_y, H(y) = -t - (i lambda/2) sigma_x, on-site 4t.",
            "[[model.hoppings]]",
            "cell = [0, 0]",
            "real_eV = [[4.0, 0.0], [0.0, 4.0]]",
            "[[model.hoppings]]",
            "cell = [1, 0]",
            "real_eV = [[-1.0, 0.05], [-0.05, -1.0]]",
            "[[model.hoppings]]",
            "cell = [0, 1]",
            "real_eV = [[-1.0, 0.0], [0.0, -1.0]]",
            "imag_eV = [[0.0, -0.05], [-0.05, 0.0]]",
        ]
    return "\n".join(lines) + "\n"


def with_model_kind(default_toml: str, kind: str) -> str:
    """A command's default TOML with its [model] table replaced by the commented default of `kind`."""
    if kind == "rashba":
        return default_toml
    lines = default_toml.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "[model]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return "".join(lines[:start]) + default_model_toml(kind) + "\n" + "".join(lines[end:])


def _toml_value(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def model_table_toml(options, section: str = "model") -> str:
    """The resolved [model] table of another kind as TOML text (for config.toml in the results folder)."""
    if isinstance(options, LlgModelElectrons):
        text = model_table_toml(options.model, section)
        lines = [line for line in text.splitlines() if not line.startswith(("theta_deg", "phi_deg"))]
        return "\n".join(lines[:1] + [f"fermi_energy_eV = {options.fermi_energy_eV!r}"] + lines[1:]) + "\n"
    kind = model_kind(options)
    if kind == "tight-binding":
        s = options.scalars
        lines = [f"[{section}]", 'kind = "tight-binding"', f"j_ex_eV = {s.j_ex_eV!r}", f"theta_deg = {s.theta_deg!r}",
                 f"phi_deg = {s.phi_deg!r}", f"lattice_vectors_nm = {_toml_value(options.lattice_vectors_nm)}"]
        for cell, real, imag in options.hoppings:
            lines += [f"[[{section}.hoppings]]", f"cell = {_toml_value(cell)}", f"real_eV = {_toml_value(real)}", f"imag_eV = {_toml_value(imag)}"]
        return "\n".join(lines) + "\n"
    if kind.startswith("python:"):
        lines = [f"[{section}]", f"kind = {_toml_value(kind)}"] + [f"{k} = {_toml_value(v)}" for k, v in options.parameters]
        return "\n".join(lines + [f"theta_deg = {options.theta_deg!r}", f"phi_deg = {options.phi_deg!r}"]) + "\n"
    lines = [f"[{section}]"] + [f"{f.name} = {_toml_value(getattr(options, f.name))}  # {f.metadata['doc']}" for f in dataclasses.fields(options)]
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class LlgModelElectrons:
    """[electrons] of `jaxsot llg` with kind = another model: its [model]-style options and E_F [eV]."""

    model: Any
    fermi_energy_eV: float


_LLG_FERMI = ("fermi_energy_eV", float, option(1.5, low=-100.0, high=100.0, doc="Fermi energy E_F [eV]"))


def parse_llg_electrons(section: str, table: dict):
    """[electrons] of `jaxsot llg` with a kind other than "rashba": the model's keys (as in [model],
    without theta_deg/phi_deg: M is the magnet's) and fermi_energy_eV. The model's occupied bands
    must be the same for every direction of M (checked here with `jaxsot.ModelTorque`)."""
    import jaxsot

    for key in ("theta_deg", "phi_deg"):
        if key in table:
            raise ConfigError(f"[{section}] unknown key {key!r}: M is the magnet's direction ([initial]); allowed: the model's keys and fermi_energy_eV")
    name, kind, spec = _LLG_FERMI
    field = dataclasses.field(default=spec.default, metadata=spec.metadata)
    field.name, field.type = name, kind
    fermi = check_value(section, field, table[name]) if name in table else spec.default
    options = parse_model_table(section, {k: v for k, v in table.items() if k != name})
    try:
        jaxsot.ModelTorque(build_model(options, None), fermi, (1e-4, 0.0), 1.0, num=16)
    except ValueError as error:
        raise ConfigError(f"[{section}] fermi_energy_eV = {fermi:g} with kind = {model_kind(options)!r}: {error}") from None
    return LlgModelElectrons(options, fermi)


def is_kind_options(value) -> bool:
    """True for the options of a model kind other than "rashba" (written by `model_table_toml`)."""
    return isinstance(value, (TightBindingOptions, PythonModelOptions, LlgModelElectrons)) or type(value) in KIND_SCHEMAS.values()


FIT_PARAMETERS = {
    "rashba": (("alpha", "eV nm"), ("j_ex", "eV"), ("mass_ratio", "1"), ("tau", "fs")),
    "ti-surface": (("hbar_v", "eV nm"), ("j_ex", "eV"), ("kinetic", "eV nm^2"), ("tau", "fs")),
    "rashba-dresselhaus": (("alpha", "eV nm"), ("beta", "eV nm"), ("j_ex", "eV"), ("mass_ratio", "1"), ("tau", "fs")),
    "square-lattice": (("t", "eV"), ("a", "nm"), ("lam", "eV"), ("j_ex", "eV"), ("tau", "fs")),
}
"""Per [model] kind: the names `jaxsot fit --free` may vary (jaxsot.parameter_names plus tau) and their units."""

"""`jaxsot sweep` with a [model] of another kind than "rashba" (ti-surface, rashba-dresselhaus,
square-lattice, tight-binding, "python:module:Class"): its keys as sweep axes, the check of every
point before any work, chunks through `jaxsot.sweep.sweep_model(indices=...)`, and the names and
units of the swept keys for the merged file, summary and plots.

The Rashba sweep keeps its own point-vectorized program (`jaxsot.sweep.compute_points`); another
kind runs `jaxsot.simulate` per point with the Fermi-sea route chosen for that point (stored as the
"route" variable), and has exact results only: the papers' closed forms are Rashba-specific.
"""

import dataclasses
import math

from ._config_run import EnsembleOptions, SWEEPABLE
from ._config_schema import ConfigError
from ._model_config import KIND_SCHEMAS, model_kind

# Config key of each shipped kind -> (parameter of the model, `jaxsot.parameter_names`; unit). The
# units are those of the key names, which are the models' internal units (factor 1).
KIND_KEYS = {
    "ti-surface": {"hbar_v_eV_nm": ("hbar_v", "eV nm"), "j_ex_eV": ("j_ex", "eV"), "kinetic_eV_nm2": ("kinetic", "eV nm^2")},
    "rashba-dresselhaus": {
        "alpha_eV_nm": ("alpha", "eV nm"), "beta_eV_nm": ("beta", "eV nm"), "j_ex_eV": ("j_ex", "eV"), "mass_ratio": ("mass_ratio", "1"),
    },
    "square-lattice": {"t_eV": ("t", "eV"), "a_nm": ("a", "nm"), "lam_eV": ("lam", "eV"), "j_ex_eV": ("j_ex", "eV")},
    "tight-binding": {"j_ex_eV": ("j_ex", "eV")},
}
ANGLE_KEYS = {"theta_deg": ("theta", "deg"), "phi_deg": ("phi", "deg")}
"""The direction of M, every kind's [model] keys: swept through `with_magnetization` (in rad)."""
FERMI_KEY = "fermi_energy_eV"
KIND_CHUNK_POINTS = 8
"""Points per chunk of another kind with [sweep] chunk_points = 0: each point is its own `jaxsot.simulate`
(a second or more on a CPU), so the device-memory sizing of the vectorized Rashba sweep does not apply."""
KIND_APPROXIMATIONS = ("exact",)
"""The approximation columns of a sweep of another kind (no closed forms)."""
ROUTE_ATTRS = {"units": "1", "long_name": "Fermi-sea route of the point (jaxsot.fermi_sea_route)",
               "flag_values": (-1, 0, 1), "flag_meanings": "not_computed rays mesh"}
KIND_STATUS = {
    0: "ok",
    1: "no electrons: E_F lies below both bands (jaxsot.occupied_bands)",
    2: "the model refuses the point's values (its constructor's check)",
}
"""Status codes of the points of a sweep of another kind (the "status" variable; 0: computed)."""


def is_kind_sweep(config) -> bool:
    """True when the sweep's [model] is another kind than "rashba"."""
    return model_kind(config.run.model) != "rashba"


def _python_keys(options, build: bool = True) -> dict:
    """A user's model: the numeric keys of its [model] table that are `jaxsot.parameter_names` of the
    model (build=False: every numeric key, unchecked: the names need the model, which starts JAX)."""
    numeric = {key: (key, "") for key, value in options.parameters if isinstance(value, (int, float))}
    if not build:
        return numeric
    import jaxsot

    from ._model_config import build_model

    names = set(jaxsot.parameter_names(build_model(options, None)))
    return {key: value for key, value in numeric.items() if key in names}


def sweep_keys(options, build: bool = True) -> dict:
    """{config key: (parameter name, unit, config field, factor to the parameter's unit)} a sweep of
    this [model] may vary: the model's keys, the angles of M, E_F last. build=False (a user's model):
    its numeric keys without building it (`parse_sweep_config(build=False)`; the parse with the
    model built narrows them to its parameter names)."""
    kind = model_kind(options)
    # The angles' fields (ranges) are those of every shipped kind's schema.
    fields = {f.name: f for f in dataclasses.fields(KIND_SCHEMAS["ti-surface"]) if f.name in ANGLE_KEYS}
    if kind.startswith("python:"):
        keys = _python_keys(options, build)
        for key in keys:  # no schema: any finite number (the model's constructor checks each point)
            field = dataclasses.field(default=0.0, metadata={"doc": f"{key} of {kind}"})
            field.name, field.type = key, float
            fields[key] = field
    else:
        keys = KIND_KEYS[kind]
        fields.update({f.name: f for f in dataclasses.fields(KIND_SCHEMAS[kind])})
    fermi = {f.name: f for f in dataclasses.fields(EnsembleOptions)}[FERMI_KEY]
    out = {key: (name, unit, fields[key], 1.0) for key, (name, unit) in keys.items()}
    out.update({key: (name, unit, fields[key], math.pi / 180.0) for key, (name, unit) in ANGLE_KEYS.items()})
    out[FERMI_KEY] = ("fermi_energy", "eV", fermi, 1.0)
    return out


def axis_field(options, name: str, build: bool = True):
    """The config field that range-checks the axis `name`; ConfigError naming the key, the kind and the
    allowed keys (build: as in `sweep_keys`)."""
    keys = sweep_keys(options, build)
    if name not in keys:
        kind = model_kind(options)
        other = " (a drive or relaxation key: swept for kind = 'rashba' only)" if SWEEPABLE.get(name, "model") != "model" else ""
        raise ConfigError(
            f"[sweep.parameters] {name} is not a key of [model] kind = {kind!r}{other}; allowed: {', '.join(keys)}"
        )
    return keys[name][2]


def check_approximations(kind: str, output: dict) -> tuple:
    """[output] approximations of another kind: exact only; one line when a closed form is asked for."""
    asked = output.get("approximations", list(KIND_APPROXIMATIONS))
    if isinstance(asked, list) and any(isinstance(a, str) and a != "exact" for a in asked):
        others = [a for a in asked if a != "exact"]
        raise ConfigError(
            f"[output] approximations = {asked!r}: {', '.join(map(str, others))} is one of the papers' closed forms of the "
            f"Rashba ferromagnet; [model] kind = {kind!r} has exact results only; allowed: [\"exact\"] (or no approximations key)"
        )
    return KIND_APPROXIMATIONS


def stored_kind_names(observables) -> dict:
    """{variable: (kind, observable, approximation)} a sweep of another kind stores, in output order."""
    from .. import sweep as sweep_api

    names = sweep_api.output_names(sweep_api.select_sweep_observables(list(observables), list(KIND_APPROXIMATIONS)))
    names.pop("eta", None)  # eta = m alpha^2/(hbar^2 J) is the Rashba ferromagnet's
    names["route"] = ("point", "route", None)
    return names


def axis_meta(config) -> dict:
    """{swept key: (unit, long name)} for the coordinates of the merged file."""
    keys = sweep_keys(config.run.model)
    return {k: (unit, (field.metadata.get("doc") or k).split(" [")[0]) for k, (_, unit, field, _) in keys.items()}


def fixed_kind_values(config) -> dict:
    """{config key: value} of the fixed scalars: the model's keys, E_F and the drive / relaxation keys."""
    options = config.run.model
    if model_kind(options).startswith("python:"):
        values = {k: v for k, v in options.parameters if isinstance(v, (int, float))}
        values.update(theta_deg=options.theta_deg, phi_deg=options.phi_deg)
    else:
        scalars = options.scalars if hasattr(options, "scalars") else options
        values = {f.name: getattr(scalars, f.name) for f in dataclasses.fields(scalars) if f.name != "kind"}
    values[FERMI_KEY] = config.run.ensemble.fermi_energy_eV
    for key, section in SWEEPABLE.items():
        if section in ("drive", "relaxation"):
            values[key] = getattr(getattr(config.run, section), key)
    return {k: float(v) for k, v in values.items()}


def describe(config) -> str:
    """One line naming the model kind and that the results are exact only."""
    return f"model: [model] kind = {model_kind(config.run.model)!r}; exact results only (no closed forms for this model)"


# Per kind: (E_F [eV], [sweep.parameters] lines, plotted x, hue) of the small default sweep.
_DEFAULT_SWEEPS = {
    "ti-surface": (0.3, ["fermi_energy_eV = [0.2, 0.3]", "j_ex_eV = [0.05, 0.1]"], "fermi_energy_eV", "j_ex_eV"),
    "rashba-dresselhaus": (1.5, ["beta_eV_nm = [0.0, 0.02, 0.04]", "fermi_energy_eV = [0.5, 1.5]"], "beta_eV_nm", "fermi_energy_eV"),
    "square-lattice": (0.5, ["lam_eV = [0.05, 0.1]"], "lam_eV", ""),
    "tight-binding": (0.5, ["j_ex_eV = [0.2, 0.3]"], "j_ex_eV", ""),
}


def default_kind_sweep_toml(kind: str) -> str:
    """`jaxsot default-config sweep --model KIND`: a small commented sweep of that kind (a few points,
    a modest sea) that runs in well under a minute on two CPU cores."""
    from ._model_config import default_model_toml

    fermi, axes, x, hue = _DEFAULT_SWEEPS[kind]
    allowed = ", ".join(list(KIND_KEYS[kind]) + list(ANGLE_KEYS) + [FERMI_KEY])
    plot = [f'[[output.plots]]', 'variable = "damping_torque_exact"', f'x = "{x}"'] + ([f'hue = "{hue}"'] if hue else [])
    return "\n".join([
        f"# jaxsot sweep of a [model] kind = \"{kind}\": the embedded default configuration.",
        "# Units are in the key names. The fixed values use the sections and keys of `jaxsot run`;",
        "# [sweep.parameters] may vary this kind's [model] keys, the direction of M and the Fermi energy:",
        f"# {allowed}.",
        "# Each point runs jaxsot.simulate with the Fermi-sea route chosen for it (rays, or the k-space mesh;",
        "# stored as `route`); exact results only: the papers' closed forms are the Rashba ferromagnet's.",
        "",
        default_model_toml(kind).rstrip("\n"),
        "",
        "[ensemble]",
        f"fermi_energy_eV = {fermi!r}",
        "num_phi = 16  # rays per band of the ray route",
        "num_r = 4",
        "",
        "[drive]",
        'kind = "step"',
        "efield_V_per_m = 1.0e5",
        "direction_deg = 0.0",
        "",
        "[relaxation]",
        "tau_fs = 10.0",
        "",
        "[time]",
        "t_end_fs = 20.0",
        "num_steps = 3",
        "",
        "[limits]",
        "max_state_steps = 1.0e11  # work: points x states x time steps; about an hour of one CPU core",
        "max_memory_GB = 0.0       # planned host memory [GB]; 0 = half of this machine's memory",
        "",
        "[sweep]",
        'mode = "grid"',
        "chunk_points = 0     # 0: 8 points per chunk (each point is one simulate)",
        "",
        "[sweep.parameters]",
        *axes,
        "",
        "[output]",
        'observables = ["damping_torque", "field_like_torque", "spin_density_change"]',
        "",
        *plot,
        "",
    ])

"""`jaxsot fit` and `jaxsot synth` for any [model] kind: which model (--model-kind, or the [model]
table of a --config file with the schema of `jaxsot run`), the names --free/--guess/--bounds take
(`FIT_PARAMETERS`), and their range checks (the [model] schema's ranges, one line naming the option).

The paper-unit tables (AMR, torques, transients) fit any kind through `jaxsot.fit.fit(..., model=)`;
harmonic Hall fits take a shipped kind by --model-kind and harmonic Hall synthesis any kind (--model-kind or
--config); ST-FMR fits and synthesis take the Rashba ferromagnet only (`ST_FMR_KIND_REFUSAL`).
"""

import dataclasses
import math

from ._common import UsageError, parse_pairs, read_config_text
from ._config_schema import ConfigError, load_toml, named_errors
from ._model_config import FIT_PARAMETERS, KIND_SCHEMAS, ModelOptions, build_model, model_kind, parse_model_table

FIT_KEYS = {
    "alpha": "alpha_eV_nm", "beta": "beta_eV_nm", "hbar_v": "hbar_v_eV_nm", "j_ex": "j_ex_eV", "kinetic": "kinetic_eV_nm2",
    "mass_ratio": "mass_ratio", "t": "t_eV", "a": "a_nm", "lam": "lam_eV",
}
"""Fit name (`jaxsot.parameter_names`) -> its [model] key (the key carries the unit)."""

ST_FMR_KIND_REFUSAL = ("ST-FMR fits and synthesis take the Rashba ferromagnet only (kind = 'rashba'); harmonic "
                       "Hall fits and synthesis take any shipped kind by --model-kind")
"""One line for the data kinds that do not take other [model] kinds."""

TAU_RANGE = (1.0e-3, 1.0e7)
"""Allowed tau [fs] of --guess (the range of `jaxsot synth --tau`)."""


def free_help() -> str:
    """The --free help: each kind's fit-able names with units, and the defaults per data kind."""
    kinds = "; ".join(f"{kind}: " + ", ".join(f"{n} [{u}]" for n, u in names) for kind, names in FIT_PARAMETERS.items())
    return (
        "comma-separated fitted parameters, names of the [model] kind (--model-kind / --config) -- " + kinds + ". "
        "Default for AMR/torque tables: alpha,j_ex (rashba) or every parameter of the kind but tau (other kinds), "
        "plus tau when a curve has T_FL columns or is a transient; ST-FMR spectra: alpha,tau,gilbert"
    )


def resolve_model(args) -> tuple[str, object, str]:
    """(kind, [model] options or None, where the kind came from) of --model-kind and --config.

    None options: the Rashba ferromagnet of the defaults (the fit's own guesses). Raises ConfigError
    for a bad file or table (naming the key) and UsageError when --model-kind and the file disagree.
    """
    given = getattr(args, "model_kind", None)
    path = getattr(args, "config", None)
    if path is None:
        kind = given or "rashba"
        options = None if kind == "rashba" else parse_model_table("model", {"kind": kind})
        return kind, options, f"--model-kind {kind}" if given else "default"
    text, source = read_config_text(path, "")
    with named_errors(source):
        data = load_toml(text, source, ["model"])
        if "model" not in data:
            raise ConfigError("no [model] table; allowed: a [model] table as in `jaxsot run` (kind and the model's keys)")
        options = parse_model_table("model", data["model"])
    kind = model_kind(options)
    if given is not None and given != kind:
        raise UsageError(f"--model-kind {given} but {source} has [model] kind = {kind!r}; allowed: the same kind, or one of the two")
    return kind, options, f"{source} [model]"


def refuse_kind_for(kind: str, source: str, data_kind: str) -> None:
    """Harmonic Hall / ST-FMR data with another kind: one line naming what is supported."""
    if data_kind == "harmonic Hall fit":  # any shipped kind, by --model-kind (its [model] defaults start the fit)
        if source.endswith("[model]"):
            raise UsageError("--config with harmonic Hall data: the Hall fit takes the model from --model-kind and its "
                             "starting values from --guess; allowed: --model-kind KIND --guess NAME=VALUE,...")
        return
    if kind != "rashba":
        raise UsageError(f"{data_kind} data with [model] kind = {kind!r} ({source}): {ST_FMR_KIND_REFUSAL}")
    if source.endswith("[model]"):
        raise UsageError(f"--config with {data_kind} data: these take the Rashba model's values from the command line "
                         "(--guess for a fit, --alpha/--j-ex/--mass-ratio for synth); allowed: no --config")


def fit_names(kind: str, model) -> tuple:
    """The names --free/--guess/--bounds take for this kind (a user's model: its `parameter_names` and tau)."""
    if kind in FIT_PARAMETERS:
        return tuple(name for name, _ in FIT_PARAMETERS[kind])
    import jaxsot

    return tuple(jaxsot.parameter_names(model)) + ("tau",)


def _field(kind: str, name: str):
    schema = ModelOptions if kind == "rashba" else KIND_SCHEMAS.get(kind)
    key = FIT_KEYS.get(name)
    if schema is None or key is None:
        return None
    return {f.name: f for f in dataclasses.fields(schema)}.get(key)


def _check(option: str, kind: str, name: str, value: float, *, bound: bool) -> None:
    if name == "tau":
        low, high, low_open, floor = TAU_RANGE[0], TAU_RANGE[1], False, None
        if bound:
            low, low_open = 0.0, True
    else:
        field = _field(kind, name)
        if field is None:
            return
        meta = field.metadata
        low, high, low_open, floor = meta.get("low"), meta.get("high"), meta.get("low_open"), meta.get("min_abs")
        if bound:
            floor = None  # bounds may straddle zero where the guess may not
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high) or (floor is not None and abs(value) < floor) or not math.isfinite(value):
        text = f"{'(' if low_open else '['}{low:g}, {high:g}]" + (f" with |value| >= {floor:g}" if floor else "")
        raise UsageError(f"{option} {name} = {value:g} is out of range for kind {kind!r}; allowed: {text}")


def parse_kind_pairs(option: str, text, kind: str, names: tuple, *, ranges: bool = False) -> dict:
    """--guess (name=value) or --bounds (name=low:high) for this kind's names, each value range-checked."""
    from ..fit._csv import FitDataError

    out = parse_pairs(option, text, names, ranges=ranges, error=FitDataError)
    for name, value in out.items():
        for number in (value if ranges else (value,)):
            _check(option, kind, name, number, bound=ranges)
    return out


def electron_model(kind: str, options, dtype):
    """The model of the resolved kind in `dtype` (None: the fit's default Rashba ferromagnet)."""
    if options is None:
        return None
    return build_model(options, dtype)

"""`hall_loss`: the harmonic Hall fit's loss as a pure function of a parameter dict, for the Rashba ferromagnet
("exact" / "strong_exchange") or any `TwoBandModel` by its named parameters (as `fit_harmonic_hall(..., model=)`)."""

import functools

import jax
import jax.numpy as jnp
import numpy as onp

from .._core import check_count, check_finite
from .._core._model import RashbaFerromagnet, TwoBandModel
from .._core._params import model_parameters, parameter_names
from .._measure import HALL_DEFAULTS
from ._forward import ModelSpec
from ._hall_data import HALL_FIT_PARAMETERS, HallNames, sigma_of, values_of
from ._hall_model import HallStatic, as_data_list, build_blocks, check_names, default_guess, predictions, settle_box


def hall_loss(data, guess=None, *, model="exact", num: int = 64):
    """The fit's loss as a pure, jitted function of a full parameter dict: loss(params) -> scalar.

    loss = mean(r^2)/2 over every value of every data set, r = (prediction - value)/sigma (sigma = 1 for
    data without sigma), at first order in the current (`fit_harmonic_hall`'s default forward model). The
    exact model's occupied bands are those at `guess` (defaults as `fit_harmonic_hall`). Differentiate with
    jax.grad (a dict of derivatives, one per name of params).

    Args:
        data: a HallData, a FieldData or a list of them.
        guess: {name: value} fixing the exact model's occupied bands (default: `fit_harmonic_hall`'s guess);
            names as params.
        model: "exact" (default) or "strong_exchange" (the Rashba ferromagnet, names HALL_FIT_PARAMETERS), or
            any `jaxsot.TwoBandModel` with `with_magnetization` (exact bands): a `RashbaFerromagnet` fills the
            guess of alpha, j_ex, mass_ratio; any other model takes its own names (`jaxsot.parameter_names`,
            e.g. hbar_v, j_ex, kinetic of `TISurfaceFerromagnet`) and tau in place of alpha, j_ex,
            mass_ratio, tau, its own values as the default guess (as `fit_harmonic_hall(..., model=)`).
        num: rays per Fermi contour (>= 8).

    Returns:
        loss(params): the scalar loss of a parameter dict {name: value} with names from HALL_FIT_PARAMETERS
        (Rashba) or, for another model, its own names, tau and the magnet and Hall names; names not given
        take the guess's values. An unknown name raises ValueError naming the allowed ones.

    Raises:
        ValueError: bad data, model, num or guess names, or occupied bands that change with M at the guess.
    """
    data = as_data_list(data, None)
    num = check_count("num", num, minimum=8)
    spec, names, model_guess = None, None, {}
    if isinstance(model, TwoBandModel):
        if type(model) is RashbaFerromagnet:
            model_guess = {n: float(v) for n, v in model_parameters(model).items()}
        else:
            spec = ModelSpec(model, parameter_names(model), "rays")
            names = HallNames(electrons=spec.names + ("tau",), model_names=spec.names, model=type(model).__name__)
        model = "exact"
    elif model not in ("exact", "strong_exchange"):
        raise ValueError(f"model = {model!r} is not allowed; allowed: 'exact', 'strong_exchange', or a jaxsot.TwoBandModel")
    allowed = names.all if names is not None else HALL_FIT_PARAMETERS
    guess = dict(guess or {})
    check_names("guess", guess, allowed)
    for name, value in guess.items():
        check_finite(f"guess[{name!r}]", value)
    values = {**default_guess(data, spec.model if spec is not None else None), **model_guess, **guess}
    bands = settle_box(values, data, model, (), [], [], [], spec)  # nothing free: the bands at the guess
    dtype = jnp.result_type(float)
    sigmas = [sigma_of(d) if d.sigma_known else onp.ones(values_of(d).shape) for d in data]
    # The direct Fermi-contour route (no interpolation check to pay for): the loss may be evaluated anywhere.
    blocks, kinds = build_blocks(data, model, num, bands, sigmas, values, dtype, "first", spec, polar=False)
    static = HallStatic(kinds=kinds, free=(), transform=())
    # Module-level and compiled once per shape (a closure jitted here would compile on every call).
    defaults = {n: values[n] for n in allowed if n in values}
    return functools.partial(_checked_loss, blocks=blocks, static=static, allowed=tuple(allowed), defaults=defaults)


def _checked_loss(params, *, blocks, static, allowed, defaults):
    # The names are dict keys, concrete under jit/grad/vmap: checked here, before the compiled loss.
    if not isinstance(params, dict):
        raise ValueError(f"params is a {type(params).__name__}; allowed: a dict with names from {', '.join(allowed)}")
    check_names("params", params, allowed)
    return _hall_mean_square_loss({**defaults, **params}, blocks=blocks, static=static)


@functools.partial(jax.jit, static_argnames=("static",))
def _hall_mean_square_loss(params, *, blocks, static):
    # Names added after a caller's dict was written (e.g. r_ohe) take their defaults.
    params = {"r_1w_offset": 0.0, "r_2w_offset": 0.0, **HALL_DEFAULTS, **params}
    r = jnp.concatenate([((p - b["values"]) / b["sigma"]).ravel() for p, b in zip(predictions(params, blocks, static), blocks)])
    return 0.5 * jnp.mean(r * r)

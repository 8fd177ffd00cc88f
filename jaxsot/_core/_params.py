"""A model's named scalar parameters: read them and replace them by name (sweeps and fits use this)."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp

from ._model import TwoBandModel


def _scalar_fields(model) -> tuple:
    names = []
    for field in dataclasses.fields(model):
        if field.metadata.get("static", False):
            continue
        value = getattr(model, field.name, None)
        if isinstance(value, (int, float, jax.Array)) and not isinstance(value, bool):
            if jnp.shape(value) == () and jnp.issubdtype(jnp.result_type(value), jnp.floating):
                names.append(field.name)
    return tuple(names)


def parameter_names(model) -> tuple:
    """The names of the scalar real parameters of `model` that sweeps and fits may vary.

    Default: every non-static field of the model that holds one real floating number (for
    `RashbaFerromagnet`: alpha, j_ex, mass_ratio; for `TISurfaceFerromagnet`: hbar_v, j_ex, kinetic;
    the magnetization is not a parameter: the layers that turn M use `with_magnetization`). A model
    narrows the set by defining a method `parameter_names()` (the massless TI cone keeps kinetic = 0).

    Args:
        model: any `jaxsot.TwoBandModel`.

    Returns:
        The names, in the model's field order.

    Raises:
        ValueError: when `model` is not a TwoBandModel.
    """
    if not isinstance(model, TwoBandModel):
        raise ValueError(f"model is a {type(model).__name__}; allowed: a jaxsot.TwoBandModel")
    own = getattr(type(model), "parameter_names", None)
    if callable(own):
        return tuple(own(model))
    return _scalar_fields(model)


def model_parameters(model) -> dict:
    """The scalar parameters of `model` by name: {name: 0-d array in the model's units}.

    Args:
        model: any `jaxsot.TwoBandModel`.

    Returns:
        A dict from each name of `parameter_names(model)` to its value (0-d array).
    """
    return {name: getattr(model, name) for name in parameter_names(model)}


def replace_parameters(model, **values):
    """The same model with the named scalar parameters replaced (traceable and differentiable).

    No re-validation: the values are used as given, so a sweep or a fit can pass traced numbers;
    the callers check ranges on concrete values before calling (the CLI does, naming the key).

    Args:
        model: any `jaxsot.TwoBandModel`.
        values: name = new value, a real scalar (Python number or 0-d array, concrete or traced)
            for a name in `parameter_names(model)`; cast to the field's dtype.

    Returns:
        A model of the same type with those fields replaced.

    Raises:
        ValueError: for a name that is not a parameter of the model (naming the allowed names) or a
            value that is not a scalar.
    """
    allowed = parameter_names(model)
    unknown = [name for name in values if name not in allowed]
    if unknown:
        raise ValueError(
            f"{unknown[0]} is not a parameter of {type(model).__name__}; allowed: {', '.join(allowed)}"
        )
    for name, value in values.items():
        if jnp.shape(value) != ():
            raise ValueError(f"{name} has shape {jnp.shape(value)}; allowed: one real number (shape ())")
    if not values:
        return model
    names = tuple(values)
    replacement = tuple(jnp.asarray(values[name], jnp.result_type(getattr(model, name))) for name in names)
    return eqx.tree_at(lambda m: tuple(getattr(m, name) for name in names), model, replacement)

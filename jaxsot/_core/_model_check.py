"""A check of a `TwoBandModel`'s members, run once per model type and structure when it is first used.

A model written by a user (a subclass of `jaxsot.TwoBandModel`) reaches the library only through
`kinetic_energy`, `field`, `spin_orbit_field` and `mass`. A member of the wrong shape would fail deep
inside a kernel ("not enough values to unpack", an IndexError) or, worse, broadcast into a result of
the wrong shape, and a complex field would have its imaginary part dropped. `check_model` evaluates
each member once on a probe wave vector with `jax.eval_shape` (no computation, traced models too)
and raises one ValueError naming the member and what was expected:

- `kinetic_energy(kx, ky)`: one real scalar [eV];
- `field(kx, ky)`, `spin_orbit_field(kx, ky)`: a tuple of 3 real scalars [eV] (a k-independent
  component may be a Python float such as 0.0);
- `mass`: a property (not a method) holding one real scalar [eV fs^2/nm^2], > 0 and finite when
  the model's values are concrete.

The result is cached by (type, pytree structure, leaf shapes and dtypes): the same kind of model is
checked once per process; the positivity of a concrete `mass` is checked on every call (a scalar).
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as onp

_CHECKED: set = set()
"""Keys of the model structures whose members have been checked (see `_key`)."""

_PROBE = (0.3125, -0.1875)
"""The probe wave vector (kx, ky) [1/nm] at which the members are evaluated (shapes only)."""


def _key(model):
    leaves, treedef = jax.tree_util.tree_flatten(model)
    shapes = tuple((tuple(jnp.shape(leaf)), str(jnp.result_type(leaf))) for leaf in leaves)
    return type(model), treedef, shapes


def _describe(value) -> str:
    if isinstance(value, jax.ShapeDtypeStruct):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} entr{'y' if len(value) == 1 else 'ies'}"
    return f"a {type(value).__name__}"


def _scalar_problem(value):
    """None when `value` (an eval_shape output) is one real number, else what it is."""
    if not isinstance(value, jax.ShapeDtypeStruct):
        return _describe(value)
    if value.shape != ():
        return f"an array of shape {value.shape}"
    if not (jnp.issubdtype(value.dtype, jnp.floating) or jnp.issubdtype(value.dtype, jnp.integer)):
        return f"dtype {value.dtype}"
    return None


def check_model(model) -> None:
    """Raise ValueError unless `model` is a `TwoBandModel` whose members have the shapes of the
    interface (module docstring); cached per model structure. Works on traced models (shapes and
    dtypes only; the sign of `mass` is checked when it is concrete)."""
    from ._model import TwoBandModel

    if not isinstance(model, TwoBandModel):
        raise ValueError(
            f"model is a {type(model).__name__}; allowed: a jaxsot.TwoBandModel (e.g. jaxsot.RashbaFerromagnet)"
        )
    name = type(model).__name__
    key = _key(model)
    if key not in _CHECKED:
        _check_members(model, name)
        _CHECKED.add(key)
    _check_mass_value(model, name)


def _check_members(model, name: str) -> None:
    mass_attribute = inspect.getattr_static(type(model), "mass", None)
    try:
        mass_value = getattr(model, "mass", None)
    except ValueError:
        mass_value = None  # the model's own refusal (no mass, e.g. a massless cone): not a member error
    if inspect.isfunction(mass_attribute) or callable(mass_value):
        raise ValueError(
            f"{name}.mass is a method; expected a property (@property def mass(self)) holding one positive "
            "real number [eV fs^2/nm^2]"
        )
    dtype = model.dtype
    kx, ky = jnp.asarray(_PROBE[0], dtype), jnp.asarray(_PROBE[1], dtype)

    def shapes(member):
        try:
            return jax.eval_shape(lambda m, x, y: member(m, x, y), model, kx, ky)
        except Exception as error:  # a member that cannot be evaluated at all
            raise ValueError(
                f"{name}.{member.__name__}(kx, ky) failed on scalar kx, ky ({type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}); expected {_EXPECTED[member.__name__]}"
            ) from None

    energy = shapes(type(model).kinetic_energy)
    problem = _scalar_problem(energy)
    if problem is not None:
        raise ValueError(f"{name}.kinetic_energy(kx, ky) returned {problem}; expected {_EXPECTED['kinetic_energy']}")
    for member in (type(model).field, type(model).spin_orbit_field):
        out = shapes(member)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise ValueError(f"{name}.{member.__name__}(kx, ky) returned {_describe(out)}; expected {_EXPECTED[member.__name__]}")
        for index, component in enumerate(out):
            problem = _scalar_problem(component)
            if problem is not None:
                raise ValueError(
                    f"{name}.{member.__name__}(kx, ky)[{index}] is {problem}; expected {_EXPECTED[member.__name__]}"
                )
    try:
        mass = jax.eval_shape(lambda m: m.mass, model)
    except ValueError:
        return  # the model's own refusal: it has no mass (a massless cone); the spin force says so where it needs one
    except Exception as error:
        raise ValueError(f"{name}.mass failed ({type(error).__name__}: {error}); expected {_EXPECTED['mass']}") from None
    problem = _scalar_problem(mass)
    if problem is not None:
        raise ValueError(f"{name}.mass is {problem}; expected {_EXPECTED['mass']}")


def _check_mass_value(model, name: str) -> None:
    with jax.ensure_compile_time_eval():  # concrete also inside a function under jit
        try:
            mass = model.mass
        except ValueError:
            return  # a model without a mass refuses it itself (e.g. a massless Dirac cone)
        if isinstance(mass, jax.core.Tracer):
            return
        value = onp.asarray(mass, dtype=float)
    if not (onp.isfinite(value) and value > 0.0):
        raise ValueError(f"{name}.mass = {float(value)!r} is not allowed; expected {_EXPECTED['mass']}")


_EXPECTED = {
    "kinetic_energy": "one real number eps0(k) [eV] for scalar kx, ky",
    "field": "a tuple of 3 real numbers (bx, by, bz) [eV] for scalar kx, ky (a k-independent component may be a float)",
    "spin_orbit_field": "a tuple of 3 real numbers [eV] for scalar kx, ky (a k-independent component may be a float)",
    "mass": "one positive finite real number m [eV fs^2/nm^2] (a property)",
}

"""Input checks for the public API: clear errors that name the parameter, its value and what is allowed.

Checks run only on concrete values. Under `jax.jit`, `jax.grad` or `jax.vmap` the values are
tracers and the checks are skipped (the caller is then responsible for valid inputs).
"""

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as onp


def is_concrete(*values: Any) -> bool:
    """True when none of the values (or pytree leaves) is a JAX tracer."""
    leaves = jax.tree_util.tree_leaves(values)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def check_finite(name: str, value: Any) -> None:
    """Raise ValueError if any entry of a concrete value is NaN or infinite."""
    if not is_concrete(value):
        return
    array = onp.asarray(value)
    if not onp.all(onp.isfinite(array)):
        raise ValueError(f"{name} = {_show(array)} is not finite; allowed: finite real numbers")


def check_range(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
) -> None:
    """Raise ValueError unless every entry lies in the given interval (and is finite)."""
    if not is_concrete(value):
        return
    check_finite(name, value)
    array = onp.asarray(value)
    bad = onp.zeros(array.shape, dtype=bool)
    if low is not None:
        bad |= array < low if low_inclusive else array <= low
    if high is not None:
        bad |= array > high if high_inclusive else array >= high
    if onp.any(bad):
        left = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        right = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        suffix = f" {unit}" if unit else ""
        raise ValueError(f"{name} = {_show(array)}{suffix} is out of range; allowed: {left}, {right}{suffix}")


def check_band(band: Any) -> int:
    """Return the band index as a Python int, or raise ValueError unless it is +1 or -1."""
    if isinstance(band, jax.core.Tracer):
        raise TypeError("band must be a Python int (+1 upper, -1 lower), not a traced value")
    try:
        value = int(band)
    except (TypeError, ValueError):
        raise ValueError(f"band = {band!r} is not allowed; allowed: +1 (upper) or -1 (lower)") from None
    if value not in (1, -1) or value != band:
        raise ValueError(f"band = {band!r} is not allowed; allowed: +1 (upper) or -1 (lower)")
    return value


def check_count(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    """Return a Python int or raise ValueError if it is not an integer in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, (int, onp.integer)):
        raise ValueError(f"{name} = {value!r} is not an integer; allowed: integers >= {minimum}")
    upper = "" if maximum is None else f" and <= {maximum}"
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} = {value} is out of range; allowed: integers >= {minimum}{upper}")
    return int(value)


def check_shape(name: str, value: Any, core: tuple[int, ...]) -> None:
    """Raise ValueError unless the trailing dimensions of `value` equal `core`."""
    shape = tuple(onp.shape(value))
    if shape[len(shape) - len(core):] != core or len(shape) < len(core):
        raise ValueError(f"{name} has shape {shape}; allowed: (..., {', '.join(map(str, core))})")


def check_times(times):
    """Return `times` as an array, or raise ValueError unless it is a finite, strictly increasing (T,) array [fs], T >= 2."""
    times = jnp.asarray(times)
    if times.ndim != 1 or times.shape[0] < 2:
        raise ValueError(f"times has shape {times.shape}; allowed: (T,) with T >= 2")
    check_finite("times", times)
    if not bool(jnp.all(jnp.diff(times) > 0)):
        raise ValueError("times is not strictly increasing; allowed: a strictly increasing 1D array [fs]")
    return times


def check_tau(tau):
    """Return tau, or raise ValueError unless it is None (no relaxation) or finite and > 0 [fs]."""
    if tau is not None:
        check_range("tau", tau, low=0.0, low_inclusive=False, unit="fs")
    return tau


def float_dtype(*arrays):
    """The floating dtype the library computes in for these inputs: theirs, or JAX's default float."""
    dtype = jnp.result_type(*arrays)
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)


def _show(array: onp.ndarray) -> str:
    if array.ndim == 0:
        return repr(float(array)) if math.isfinite(float(array)) else str(float(array))
    if array.size <= 6:
        return onp.array2string(array, separator=", ")
    bad = array[~onp.isfinite(array)] if not onp.all(onp.isfinite(array)) else array.ravel()[:3]
    return f"array of shape {array.shape} containing {bad.ravel()[:3]}"

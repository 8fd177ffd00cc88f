"""Input checks for the public API: clear errors that name the parameter, its value and what is allowed.

Concrete values (Python numbers, NumPy arrays, JAX arrays that are not tracers, also when they are
captured by a function under `jax.jit`) are checked on the host and refused with a ValueError. Under
`jax.jit`, `jax.grad` or `jax.vmap` a traced value's dtype (and shape, where a function expects one)
is checked while tracing, and its values by a traced check (`equinox.error_if`) that raises when
the compiled program runs, with the same message: the value checks return the value, and a caller
must use the returned value for the traced check to stay in the program. Every check refuses
strings, None, booleans and complex numbers where real numbers are expected, with a ValueError
(never a TypeError from deeper down).
"""

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp


def is_concrete(*values: Any) -> bool:
    """True when none of the values (or pytree leaves) is a JAX tracer."""
    leaves = jax.tree_util.tree_leaves(values)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def traced_check(value: Any, bad: Any, message: str):
    """`value` with a run-time check: raises (under jit: an equinox runtime error carrying `message`)
    when the traced boolean `bad` is true. Use the returned value, or the check is dropped."""
    return eqx.error_if(value, bad, message)


def _finite_or_guard(name: str, value: Any, core_message: str = "allowed: finite real numbers"):
    """A traced `value` with a run-time check that every entry is finite."""
    array = jnp.asarray(value)
    if not jnp.issubdtype(array.dtype, jnp.floating):
        return value
    return traced_check(value, jnp.logical_not(jnp.all(jnp.isfinite(array))), f"{name} is not finite; {core_message}")


def check_real(name: str, value: Any) -> onp.ndarray | None:
    """Raise ValueError unless `value` holds real numbers (ints or floats): strings, None, booleans,
    complex numbers and other objects are refused. Returns the concrete value as a NumPy array, or
    None for a traced value (whose dtype is still checked)."""
    if not is_concrete(value):
        dtype = getattr(value, "dtype", None)
        if dtype is not None and (jnp.issubdtype(dtype, jnp.complexfloating) or jnp.issubdtype(dtype, jnp.bool_)):
            raise ValueError(f"{name} has dtype {dtype}; allowed: real numbers (a float or integer dtype)")
        return None
    if isinstance(value, (str, bytes)) or value is None:
        raise ValueError(f"{name} = {value!r} is not a number; allowed: finite real numbers")
    try:
        array = onp.asarray(value)
    except (TypeError, ValueError):  # ragged nested lists and similar
        raise ValueError(f"{name} = {_brief(value)} is not a regular array of numbers; allowed: finite real numbers") from None
    if array.dtype == bool:
        raise ValueError(f"{name} = {_brief(value)} is a boolean; allowed: finite real numbers")
    if onp.issubdtype(array.dtype, onp.complexfloating):
        raise ValueError(f"{name} = {_brief(value)} is complex; allowed: finite real numbers")
    if not (onp.issubdtype(array.dtype, onp.integer) or onp.issubdtype(array.dtype, onp.floating)):
        raise ValueError(f"{name} = {_brief(value)} is not a number (dtype {array.dtype}); allowed: finite real numbers")
    return array


def check_finite(name: str, value: Any):
    """Raise ValueError unless a concrete value holds only finite real numbers (no NaN or inf; no
    strings, booleans or complex numbers, see `check_real`). Returns `value`; a traced one with a
    run-time finiteness check (use the returned value)."""
    array = check_real(name, value)
    if array is None:
        return _finite_or_guard(name, value)
    if not onp.all(onp.isfinite(array)):
        raise ValueError(f"{name} = {_show(array)} is not finite; allowed: finite real numbers")
    return value


def check_real_scalar(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
):
    """Raise ValueError unless a concrete value is one finite real number in the interval.

    A Python int or float, a NumPy scalar or a 0-d array; arrays with a shape, strings, None,
    booleans and complex numbers are refused (the message names the parameter). Traced values
    (under jit/grad/vmap): the dtype is checked while tracing, the range when the program runs
    (use the returned value). Returns `value`.
    """
    array = check_real(name, value)
    if array is None:
        return check_range(name, value, low=low, high=high, low_inclusive=low_inclusive, high_inclusive=high_inclusive, unit=unit)
    if array.ndim != 0:
        raise ValueError(f"{name} has shape {array.shape}; allowed: one number (a scalar, shape ())")
    check_range(name, array, low=low, high=high, low_inclusive=low_inclusive, high_inclusive=high_inclusive, unit=unit)
    return value


def unit_vector(name: str, vector: Any):
    """vector / |vector| for a real (3,) direction, as a JAX array; ValueError for a zero, non-finite
    or complex vector or another shape.

    The vector is first divided by its largest |component|, so that |v|^2 neither overflows
    (components up to the largest float) nor underflows (down to the smallest subnormal): e.g.
    [1e200, 1e200, 0] -> [0.7071, 0.7071, 0]. A concrete vector is normalized in float64 NumPy and
    returned in its own floating dtype (JAX's default float for integers); a traced one in JAX,
    with the scale held fixed for differentiation (the result does not depend on it).
    """
    array = check_real(name, vector)
    if array is None:  # traced
        direction = jnp.asarray(vector)
        if direction.shape != (3,):
            raise ValueError(f"{name} has shape {direction.shape}; allowed: (3,)")
        if not jnp.issubdtype(direction.dtype, jnp.floating):
            direction = direction.astype(jnp.result_type(float))
        # No run-time check here: the library normalizes traced directions inside its own hot loops
        # (the LLG right-hand side, sweeps under shard_map), where M is a unit vector by construction.
        scale = jax.lax.stop_gradient(jnp.max(jnp.abs(direction)))
        scaled = direction / jnp.where(scale > 0, scale, 1.0)
        return scaled / jnp.sqrt(jnp.sum(scaled * scaled))
    if array.shape != (3,):
        raise ValueError(f"{name} has shape {array.shape}; allowed: (3,)")
    if not onp.all(onp.isfinite(array)):
        raise ValueError(f"{name} = {_show(array)} is not finite; allowed: finite real numbers")
    values = array.astype(onp.float64)
    scale = float(onp.max(onp.abs(values)))
    if not scale > 0.0:
        raise ValueError(f"{name} = {values.tolist()} has zero length; allowed: any non-zero 3-vector")
    scaled = values / scale
    unit = scaled / math.sqrt(float(onp.sum(scaled * scaled)))
    if onp.issubdtype(array.dtype, onp.floating):
        dtype = jax.dtypes.canonicalize_dtype(array.dtype)
    else:
        dtype = jnp.result_type(float)
    with jax.ensure_compile_time_eval():  # concrete also when built inside a function under jit
        return jnp.asarray(unit).astype(dtype)


def check_states(name: str, value: Any, core: tuple[int, ...] = (2,), unit: str = "") -> None:
    """Raise ValueError unless `value` is an array of finite real numbers of shape (..., *core).

    For the per-state entry points: k (..., 2) [1/nm], efield (..., 2) [V/nm], forces (..., 2).
    NaN or inf entries are refused here with their position, rather than propagating into results
    (and into warnings about the band touching point that would not apply). Traced values: the
    shape and dtype are checked while tracing, the values when the program runs (use the returned
    value). Returns `value`.
    """
    check_real(name, value)
    check_shape(name, value, core)
    if not is_concrete(value):
        return _finite_or_guard(name, value)
    if isinstance(value, jax.Array):
        # Checked where the array lives (no copy of a large device array to the host); evaluated
        # now also when a function under jit captured the array (no tracer to convert to bool).
        with jax.ensure_compile_time_eval():
            if bool(jnp.all(jnp.isfinite(value))):
                return value
    array = onp.asarray(value)
    finite = onp.isfinite(array)
    if not onp.all(finite):
        where = tuple(int(i) for i in onp.argwhere(~finite)[0])
        suffix = f" {unit}" if unit else ""
        raise ValueError(
            f"{name}{list(where)} = {array[where]}{suffix} is not finite ({int(onp.sum(~finite))} such entries in shape "
            f"{array.shape}); allowed: finite real numbers"
        )
    return value


WAVE_VECTOR_EXPONENT = 0.25
"""|k| <= finfo(dtype).max ** WAVE_VECTOR_EXPONENT [1/nm] (1.2e77 in float64, 4.3e9 in float32): beyond
it the squares and cubes inside the band kernels (k^2, |b|^3 in the spin force) overflow."""


def wave_vector_limit(dtype) -> float:
    """The largest |k| component [1/nm] the per-state functions accept in `dtype` (`WAVE_VECTOR_EXPONENT`)."""
    return float(jnp.finfo(dtype).max) ** WAVE_VECTOR_EXPONENT


def check_wave_vectors(name: str, value: Any):
    """`check_states` for wave vectors (..., 2) [1/nm], and every |component| <= `wave_vector_limit` of
    the computing dtype (larger ones overflow to inf/NaN). Returns `value` (traced: with a run-time check)."""
    dtype = float_dtype(jnp.result_type(value))
    limit = wave_vector_limit(dtype)
    if not is_concrete(value):
        check_real(name, value)
        check_shape(name, value, (2,))
        # One reduction for both checks (NaN <= limit is false): ~10 % of a spin-force evaluation otherwise.
        message = f"{name} is not finite or has a component with |k| > {limit:.3g} 1/nm; allowed: finite |kx|, |ky| <= {limit:.3g} 1/nm"
        return traced_check(value, jnp.logical_not(jnp.all(jnp.abs(jnp.asarray(value)) <= limit)), message)
    value = check_states(name, value)
    with jax.ensure_compile_time_eval():
        largest = float(jnp.max(jnp.abs(jnp.asarray(value)))) if jnp.size(value) else 0.0
    if largest > limit:
        raise ValueError(f"{name} has a component {largest:.3g} 1/nm; allowed: |kx|, |ky| <= {limit:.3g} 1/nm in {jnp.dtype(dtype).name} (larger values overflow)")
    return value


def check_temperature(name: str, value: Any) -> float:
    """Return a temperature [K] as a float, or raise ValueError unless it is one finite real number >= 0.

    (T = 0 is the step occupation.) A traced value is returned with a run-time range check.
    """
    value = check_real_scalar(name, value, low=0.0, unit="K")
    return float(value) if is_concrete(value) else value


def check_demag(name: str, value: Any, *, allow_off: bool = True, tolerance: float = 1e-6) -> None:
    """Raise ValueError unless demagnetizing factors (..., 3) = (N_x, N_y, N_z) are each in [0, 1]
    and sum to 1 (to `tolerance`): the trace of the demagnetizing tensor of any body is 1.
    allow_off: also accept (0, 0, 0), i.e. no shape anisotropy at all (a modelling choice)."""
    check_shape(name, value, (3,))
    value = check_range(name, value, low=0.0, high=1.0)
    if not is_concrete(value):
        total = jnp.sum(jnp.asarray(value), axis=-1)
        good = jnp.abs(total - 1.0) <= tolerance
        if allow_off:
            good |= jnp.all(jnp.asarray(value) == 0.0, axis=-1)
        return traced_check(value, jnp.logical_not(jnp.all(good)), f"{name} do not sum to 1; allowed: factors in [0, 1] with N_x + N_y + N_z = 1")
    factors = onp.asarray(value, dtype=float)
    total = factors.sum(axis=-1)
    good = onp.abs(total - 1.0) <= tolerance
    if allow_off:
        good |= onp.all(factors == 0.0, axis=-1)
    if not onp.all(good):
        index = tuple(int(i) for i in onp.argwhere(~onp.atleast_1d(good))[0]) if factors.ndim > 1 else ()
        row = factors[index] if index else factors
        raise ValueError(
            f"{name}{list(index) if index else ''} = {_show(row)} sums to {float(onp.atleast_1d(total)[index or 0]):g}; "
            f"allowed: factors in [0, 1] with N_x + N_y + N_z = 1 (thin film: (0, 0, 1)){' or (0, 0, 0)' if allow_off else ''}"
        )
    return value


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
    """Raise ValueError unless every entry lies in the given interval (and is a finite real number).

    Returns `value`; a traced one with a run-time check of the same (use the returned value)."""
    return check_range_with(value, name, value, low=low, high=high, low_inclusive=low_inclusive,
                            high_inclusive=high_inclusive, unit=unit)


def check_range_with(
    carrier: Any,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
):
    """`check_range(name, value)` whose run-time check (for a traced `value`) travels with `carrier`,
    which is returned: for a function that goes on with another input than `value` itself."""
    left = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
    right = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
    suffix = f" {unit}" if unit else ""
    if check_real(name, value) is None:
        array = jnp.asarray(value)
        bad = jnp.logical_not(jnp.isfinite(array)) if jnp.issubdtype(array.dtype, jnp.floating) else jnp.zeros(array.shape, bool)
        if low is not None:
            bad |= array < low if low_inclusive else array <= low
        if high is not None:
            bad |= array > high if high_inclusive else array >= high
        return traced_check(carrier, jnp.any(bad), f"{name} is out of range or not finite; allowed: {left}, {right}{suffix}")
    check_finite(name, value)
    array = onp.asarray(value)
    bad = onp.zeros(array.shape, dtype=bool)
    if low is not None:
        bad |= array < low if low_inclusive else array <= low
    if high is not None:
        bad |= array > high if high_inclusive else array >= high
    if onp.any(bad):
        raise ValueError(f"{name} = {_show(array)}{suffix} is out of range; allowed: {left}, {right}{suffix}")
    return carrier


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
    check_real("times", times)
    if not is_concrete(times):
        times = jnp.asarray(times)
        if times.ndim != 1 or times.shape[0] < 2:
            raise ValueError(f"times has shape {times.shape}; allowed: (T,) with T >= 2")
        bad = jnp.logical_not(jnp.all(jnp.isfinite(times)) & jnp.all(jnp.diff(times) > 0))
        return traced_check(times, bad, "times is not finite and strictly increasing; allowed: a strictly increasing 1D array [fs]")
    # Concrete (also when captured by a function under jit): checked now, on the host.
    with jax.ensure_compile_time_eval():
        times = jnp.asarray(times)
    if times.ndim != 1 or times.shape[0] < 2:
        raise ValueError(f"times has shape {times.shape}; allowed: (T,) with T >= 2")
    check_finite("times", times)
    if not onp.all(onp.diff(onp.asarray(times)) > 0):
        raise ValueError("times is not strictly increasing; allowed: a strictly increasing 1D array [fs]")
    return times


def check_tau(tau):
    """Return tau, or raise ValueError unless it is None (no relaxation) or finite and > 0 [fs]."""
    if tau is not None:
        tau = check_range("tau", tau, low=0.0, low_inclusive=False, unit="fs")
    return tau


def as_float(value: Any, dtype):
    """jnp.asarray(value, dtype) that stays concrete for a concrete value, also inside a function
    under jit that captured it (so that the checks which need values can still run)."""
    with jax.ensure_compile_time_eval():
        return jnp.asarray(value, dtype)


def float_dtype(*arrays):
    """The floating dtype the library computes in for these inputs: theirs, or JAX's default float."""
    dtype = jnp.result_type(*arrays)
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _show(array: onp.ndarray) -> str:
    if array.ndim == 0:
        return repr(float(array)) if math.isfinite(float(array)) else str(float(array))
    if array.size <= 6:
        return onp.array2string(array, separator=", ")
    bad = array[~onp.isfinite(array)] if not onp.all(onp.isfinite(array)) else array.ravel()[:3]
    return f"array of shape {array.shape} containing {bad.ravel()[:3]}"

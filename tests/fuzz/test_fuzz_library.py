"""Fuzzing the library's entry checks: the model's fields, the magnetization's normalization, drives,
k/E arrays and temperatures. Every input gives a ValueError that names the parameter, or a value
that agrees with an independent reference (math.hypot, which neither overflows nor underflows).
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_helpers import record

import jaxsot
from jaxsot._core import check_states, check_temperature

FUZZ = settings(derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SCALARS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-10.0, 10.0),
    st.integers(-3, 3),
    st.booleans(),
    st.complex_numbers(max_magnitude=2.0),
    st.text(max_size=3),
    st.none(),
    st.lists(st.floats(0.01, 1.0), min_size=1, max_size=2).map(np.asarray),
    st.sampled_from([np.float64(0.05), np.float32(0.5), np.asarray(0.3), np.asarray([0.2]), np.int64(2), np.bool_(True)]),
)


def _is_real_scalar(x):
    if isinstance(x, (bool, np.bool_, str, complex)) or x is None:
        return False
    array = np.asarray(x)
    return array.ndim == 0 and (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating))


@settings(FUZZ, max_examples=200)
@given(field=st.sampled_from(["alpha", "j_ex", "mass_ratio"]), value=SCALARS)
def test_model_scalar_fields(field, value):
    arguments = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0}
    arguments[field] = value
    valid = _is_real_scalar(value) and math.isfinite(float(value)) and (
        field == "alpha" or (float(value) >= 0 if field == "j_ex" else float(value) > 0)
    )
    try:
        model = jaxsot.RashbaFerromagnet(arguments["alpha"], arguments["j_ex"], [0.0, 0.0, 1.0], arguments["mass_ratio"])
    except ValueError as error:
        assert not valid, (field, value, error)
        assert str(error).startswith(field) and "allowed" in str(error) and "\n" not in str(error)
        record("library", f"{field}: ValueError")
        return
    assert valid, (field, value)
    assert float(getattr(model, field)) == float(value)
    record("library", f"{field}: accepted")


COMPONENTS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),  # the whole float64 range, subnormals included
    st.sampled_from([0.0, -0.0, 1e308, -1.7e308, 5e-324, 1e-300, 1e200, 1.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(FUZZ, max_examples=250)
@given(vector=st.lists(COMPONENTS, min_size=3, max_size=3))
def test_magnetization_is_normalized_without_overflow(vector):
    finite = all(math.isfinite(x) for x in vector)
    try:
        model = jaxsot.RashbaFerromagnet(0.05, 1.0, vector)
    except ValueError as error:
        assert not finite or all(x == 0 for x in vector), (vector, error)
        assert str(error).startswith("magnetization") and "allowed" in str(error)
        record("library", "magnetization: ValueError")
        return
    assert finite and any(x != 0 for x in vector)
    # Reference: scale by the largest |component| (exact in binary floating point), then math.hypot.
    largest = max(abs(x) for x in vector)
    scaled = [x / largest for x in vector]
    length = math.hypot(*scaled)
    expected = np.asarray([x / length for x in scaled])
    got = np.asarray(model.magnetization)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)
    assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-15
    record("library", "magnetization: normalized")


@pytest.mark.parametrize(
    "vector",
    [[1j, 0, 0], [True, False, False], "abc", [[1.0, 0.0], [0.0]], [1.0, 0.0], None, np.zeros((1, 3))],
    ids=["complex", "bool", "string", "ragged", "short", "none", "2d"],
)
def test_magnetization_of_the_wrong_kind(vector):
    with pytest.raises(ValueError, match="^magnetization") as info:
        jaxsot.RashbaFerromagnet(0.05, 1.0, vector)
    assert "\n" not in str(info.value)
    record("library", "magnetization: ValueError")


def test_reported_model_cases():
    model = jaxsot.RashbaFerromagnet(0.05, 1, [1e200, 1e200, 0])
    np.testing.assert_allclose(np.asarray(model.magnetization), [math.sqrt(0.5), math.sqrt(0.5), 0.0], rtol=1e-15)
    for alpha in (1j, True, np.asarray([0.05, 0.1]), "0.05"):
        with pytest.raises(ValueError, match="^alpha"):
            jaxsot.RashbaFerromagnet(alpha, 1.0, [0, 0, 1])
    # J = 0 is allowed (exact bands); eta is then inf, as documented.
    assert math.isinf(float(jaxsot.RashbaFerromagnet(0.05, 0.0, [0, 0, 1]).eta))
    record("library", "reported cases")


@settings(FUZZ, max_examples=80)
@given(
    kind=st.sampled_from(["step", "ramp", "sinusoid"]),
    value=st.one_of(SCALARS, st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=3)),
)
def test_drive_parameters(kind, value):
    amplitude = [1e-4, 0.0]
    try:
        if kind == "step":
            jaxsot.StepDrive(value)
            name = "amplitude"
        elif kind == "ramp":
            jaxsot.RampDrive(amplitude, value)
            name = "ramp_time"
        else:
            jaxsot.SinusoidDrive(amplitude, value)
            name = "frequency"
    except ValueError as error:
        assert str(error).split(" ")[0] in ("amplitude", "ramp_time", "frequency"), error
        record("library", "drive: ValueError")
        return
    if kind == "step":
        array = np.asarray(value)
        assert array.shape == (2,) and np.all(np.isfinite(array)), value
    else:
        assert _is_real_scalar(value) and float(value) > 0 and math.isfinite(float(value)), (name, value)
    record("library", "drive: accepted")


@settings(FUZZ, max_examples=80)
@given(
    shape=st.sampled_from([(2,), (3, 2), (2, 2, 2), (3,), (2, 3)]),
    bad=st.sampled_from([None, math.nan, math.inf, -math.inf]),
    position=st.integers(0, 7),
)
def test_states_are_finite_real_arrays_of_2_vectors(shape, bad, position):
    k = np.arange(int(np.prod(shape)), dtype=float).reshape(shape)
    if bad is not None:
        k.reshape(-1)[position % k.size] = bad
    try:
        check_states("k", k)
    except ValueError as error:
        assert shape[-1] != 2 or bad is not None
        assert str(error).startswith("k") and "allowed" in str(error)
        record("library", "states: ValueError")
        return
    assert shape[-1] == 2 and bad is None
    record("library", "states: accepted")


@settings(FUZZ, max_examples=60)
@given(value=SCALARS)
def test_temperature(value):
    try:
        result = check_temperature("temperature", value)
    except ValueError as error:
        assert str(error).startswith("temperature") and "allowed" in str(error)
        assert not (_is_real_scalar(value) and math.isfinite(float(value)) and float(value) >= 0)
        record("library", "temperature: ValueError")
        return
    assert _is_real_scalar(value) and float(value) >= 0 and result == float(value)
    record("library", "temperature: accepted")

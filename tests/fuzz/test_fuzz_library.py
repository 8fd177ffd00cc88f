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
        field == "alpha"
        or (float(value) >= 0 if field == "j_ex" else 1e-3 <= float(value) <= 100.0)  # documented m*/m_e range
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


# ------------------------------------------------------------------------------------------------
# Reported cases: NaN/inf without a word, and unclear errors for a misused TwoBandModel (a user's own).

import jax.numpy as jnp  # noqa: E402

from jaxsot.fit import Curve, read_hall_csv  # noqa: E402

MODEL = jaxsot.RashbaFerromagnet(0.05, 1.0, [1.0, 0.0, 0.0])
EFIELD = np.array([1e-4, 0.0])


class _Custom(jaxsot.TwoBandModel):
    """A valid user model (Dresselhaus-like, k-independent components as Python floats)."""

    beta: float = 0.04

    def kinetic_energy(self, kx, ky):
        return 0.038 * (kx * kx + ky * ky)

    def field(self, kx, ky):
        return self.beta * kx, -self.beta * ky, -0.8

    def spin_orbit_field(self, kx, ky):
        return self.beta * kx, -self.beta * ky, 0.0

    @property
    def mass(self):
        return 5.6856301


class _TwoComponentField(_Custom):
    def field(self, kx, ky):
        return self.beta * kx, -self.beta * ky


class _ComplexField(_Custom):
    def field(self, kx, ky):
        return self.beta * kx + 0.1j, -self.beta * ky, -0.8


class _VectorKinetic(_Custom):
    def kinetic_energy(self, kx, ky):
        return jnp.stack([kx * kx, ky * ky])


class _MassMethod(_Custom):
    def mass(self):  # a method, not a property
        return 5.6856301


class _ShortSpinOrbit(_Custom):
    def spin_orbit_field(self, kx, ky):
        return (self.beta * kx,)


class _NegativeMass(_Custom):
    @property
    def mass(self):
        return -1.0


class _ArrayMass(_Custom):
    @property
    def mass(self):
        return jnp.ones(2)


BAD_MODELS = [
    (_TwoComponentField, r"^_TwoComponentField\.field\(kx, ky\) returned a tuple of 2 entries; expected a tuple of 3 real numbers"),
    (_ComplexField, r"^_ComplexField\.field\(kx, ky\)\[0\] is dtype complex128; expected a tuple of 3 real numbers"),
    (_VectorKinetic, r"^_VectorKinetic\.kinetic_energy\(kx, ky\) returned an array of shape \(2,\); expected one real number"),
    (_MassMethod, r"^_MassMethod\.mass is a method; expected a property"),
    (_ShortSpinOrbit, r"^_ShortSpinOrbit\.spin_orbit_field\(kx, ky\) returned a tuple of 1 entry; expected a tuple of 3"),
    (_NegativeMass, r"^_NegativeMass\.mass = -1\.0 is not allowed; expected one positive finite real number"),
    (_ArrayMass, r"^_ArrayMass\.mass is an array of shape \(2,\); expected one positive finite real number"),
]
USES = {
    "band_energy": lambda m: jaxsot.band_energy(m, np.array([0.3, 0.1]), -1),
    "field_like_torque": lambda m: jaxsot.field_like_torque(m, np.array([0.3, 0.1]), -1),
    "spin_force": lambda m: jaxsot.spin_force(m, np.array([0.3, 0.1]), -1, EFIELD),
    "fermi_contour": lambda m: jaxsot.fermi_contour(m, 0.5, -1, 16),
    "simulate": lambda m: jaxsot.simulate(m, 0.5, jaxsot.StepDrive(EFIELD), np.linspace(0.0, 4.0, 3), num_phi=8, num_r=2),
}


@pytest.mark.parametrize("use", sorted(USES))
@pytest.mark.parametrize("cls,message", BAD_MODELS, ids=[c.__name__ for c, _ in BAD_MODELS])
def test_misdefined_model_members_are_named_in_one_line(cls, message, use):
    with pytest.raises(ValueError, match=message) as info:
        USES[use](cls())
    assert "\n" not in str(info.value)
    record("library", "custom model: ValueError")


def test_a_valid_custom_model_with_float_components_is_accepted_and_checked_once():
    from jaxsot._core import _model_check

    model = _Custom()
    energy = float(jaxsot.band_energy(model, np.array([0.3, 0.1]), -1))
    # Reference: the lower eigenvalue of the 2x2 Hamiltonian eps0 + b.sigma (NumPy).
    b = (0.04 * 0.3, -0.04 * 0.1, -0.8)
    h = 0.038 * 0.1 * np.eye(2) + np.array([[b[2], b[0] - 1j * b[1]], [b[0] + 1j * b[1], -b[2]]])
    assert energy == pytest.approx(np.linalg.eigvalsh(h)[0], rel=1e-14)
    assert _model_check._key(model) in _model_check._CHECKED
    record("library", "custom model: accepted")


STRONG_EXCHANGE = [jaxsot.spin_force_strong_exchange, jaxsot.damping_torque_strong_exchange]


@pytest.mark.parametrize("function", STRONG_EXCHANGE, ids=lambda f: f.__name__)
def test_strong_exchange_forms_need_exchange_and_the_paper_model(function):
    with pytest.raises(ValueError, match=rf"^j_ex = 0\.0 with {function.__name__}: .*allowed: j_ex > 0"):
        function(jaxsot.RashbaFerromagnet(0.05, 0.0, [1.0, 0.0, 0.0]), EFIELD)
    with pytest.raises(ValueError, match=rf"^{function.__name__} needs model\.j_ex, which model = _Custom does not have"):
        function(_Custom(), EFIELD)
    record("library", "strong exchange: ValueError")


def test_second_order_forms_on_a_custom_model_name_the_missing_member():
    with pytest.raises(ValueError, match=r"^spin_force_second_order needs model\.\w+, which model = _Custom does not have"):
        jaxsot.spin_force_second_order(_Custom(), np.array([0.3, 0.1]), -1, EFIELD)
    record("library", "second order: ValueError")


@settings(FUZZ, max_examples=40)
@given(exponent=st.floats(0.0, 300.0), sign=st.sampled_from([1.0, -1.0]), component=st.integers(0, 1))
def test_wave_vectors_beyond_the_overflow_limit_are_refused(exponent, sign, component):
    k = np.array([0.2, 0.1])
    k[component] = sign * 10.0**exponent
    limit = np.finfo(np.float64).max ** 0.25  # written out: sqrt(sqrt(max float64)) = 1.16e77
    try:
        energy = float(jaxsot.band_energy(MODEL, k, -1))
    except ValueError as error:
        assert abs(k[component]) > limit, (k, error)
        assert str(error).startswith("k has a component") and "allowed: |kx|, |ky| <=" in str(error)
        record("library", "k range: ValueError")
        return
    assert abs(k[component]) <= limit and math.isfinite(energy), (k, energy)
    # Reference: the lower 2x2 eigenvalue hbar^2 k^2/2m - |alpha (k x z) - J M| in float64 (scaled: no overflow).
    kx, ky = k
    omega = math.hypot(0.05 * ky - 1.0, 0.05 * kx)
    assert energy == pytest.approx(0.0380998212 * (kx * kx + ky * ky) - omega, rel=1e-7)
    record("library", "k range: accepted")


def test_mismatched_shapes_name_both():
    with pytest.raises(ValueError, match=r"^k has shape \(3, 2\) and efield has shape \(4, 2\); allowed: shapes \(\.\.\., 2\)"):
        jaxsot.spin_force(MODEL, np.ones((3, 2)), -1, np.ones((4, 2)))
    record("library", "shapes: ValueError")


def test_fermi_energy_must_be_one_number():
    with pytest.raises(ValueError, match=r"^fermi_energy has shape \(2,\); allowed: one number"):
        jaxsot.fermi_contour(MODEL, np.array([0.5, 0.6]), -1)
    with pytest.raises(ValueError, match=r"^fermi_energy has shape \(2,\)"):
        jaxsot.ensemble_spin_force(MODEL, np.array([0.5, 0.6]), EFIELD)
    record("library", "fermi_energy: ValueError")


MAGNET = jaxsot.Magnet(1.0, 1.0, 0.01)
TORQUE = jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, (1e-4, 0.0), 10.0, method="strong_exchange")


def test_effective_fields_at_zero_m_and_along_y():
    with pytest.raises(ValueError, match=r"^m = \[0, 0, 0\] has zero length"):
        jaxsot.effective_fields(MAGNET, TORQUE, np.zeros(3), 2e-7)
    with pytest.raises(ValueError, match=r"^m\[1\] = \[0, 0, 0\] has zero length"):
        jaxsot.effective_fields(MAGNET, TORQUE, np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]), 2e-7)
    # M = +y_j: the scalar projections are undefined there (NaN) and a warning says so; the vectors are defined.
    with pytest.warns(RuntimeWarning, match="along \\+-y_j"):
        fields = jaxsot.effective_fields(MAGNET, TORQUE, np.array([0.0, 1.0, 0.0]), 2e-7, methods=("strong_exchange",))
    assert math.isnan(float(fields.strong_exchange.damping_like_scalar))
    assert np.all(np.isfinite(np.asarray(fields.strong_exchange.damping_like)))
    record("library", "effective_fields: ValueError / warned")


@pytest.mark.parametrize(
    "arguments,message",
    [
        ((1e-12, 0.0, 1.0), r"^ms_tesla = 0\.0 T is out of range; allowed: \(0, inf\) T"),
        ((float("nan"), 1.0, 1.0), r"^field_per_current = nan is not finite"),
        ((1e-12, 1.0, -1.0), r"^thickness = -1\.0 nm is out of range"),
    ],
)
def test_sot_efficiency_refuses_zero_magnet_and_nan(arguments, message):
    with pytest.raises(ValueError, match=message):
        jaxsot.sot_efficiency(*arguments)
    record("library", "sot_efficiency: ValueError")


def test_sot_efficiency_value():
    # xi = (2e/hbar) M_s t_F b, SI, written out: 2 e/hbar = 1.8971e15 1/(V s), M_s = 1 T/mu0, t_F = 1 nm.
    mu0 = 1.25663706212e-6
    expected = 2 * 1.602176634e-19 / 1.054571817e-34 * (1.0 / mu0) * 1e-9 * 1e-12
    assert float(jaxsot.sot_efficiency(1e-12, 1.0, 1.0)) == pytest.approx(expected, rel=1e-9)
    record("library", "sot_efficiency: accepted")


@pytest.mark.parametrize(
    "thickness,rho0,message",
    [
        (1.0, 0.0, r"^rho0 = 0\.0 ohm m is out of range"),
        (-1.0, 2e-7, r"^thickness = -1\.0 nm is out of range"),
        (5e-324, 2e-7, r"^tau = 0\.0 fs from thickness = 5e-324 nm"),
        (1.0, float("inf"), r"^rho0 = inf ohm m is not finite|^rho0 = inf is not finite"),
    ],
)
def test_drude_tau_refuses_what_gives_no_positive_finite_tau(thickness, rho0, message):
    with pytest.raises(ValueError, match=message):
        jaxsot.drude_tau(0.05, 1.0, 1.5, thickness, rho0)
    record("library", "drude_tau: ValueError")


def test_simulate_names_the_real_cause():
    times = np.linspace(0.0, 4.0, 3)
    with pytest.raises(ValueError, match=r"^tau = 1e-300 fs is shorter than the integration step of the shift"):
        jaxsot.simulate(MODEL, 0.5, jaxsot.StepDrive(EFIELD), times, tau=1e-300, num_phi=8, num_r=2)
    with pytest.raises(ValueError, match=r"^drive\(t\) returned \[nan, 0\.0\] V/nm at t = 0 fs"):
        jaxsot.simulate(MODEL, 0.5, lambda t: jnp.array([jnp.nan, 0.0]), times, num_phi=8, num_r=2)
    record("library", "simulate: ValueError")


def test_torque_coefficients_of_order_zero():
    coefficients = jaxsot.torque_coefficients(MAGNET, TORQUE, 2e-7, method="strong_exchange", order=0, num_theta=4, num_phi=8)
    assert set(coefficients.as_dict()) == {"F0", "D0"}
    # Strong exchange: b_DL = D0 (M x y) exactly, so order 0 is exact; compare with the field at one M.
    fields = jaxsot.effective_fields(MAGNET, TORQUE, np.array([0.6, 0.0, 0.8]), 2e-7, methods=("strong_exchange",))
    assert coefficients.as_dict()["D0"] == pytest.approx(float(fields.strong_exchange.damping_like_per_current), rel=1e-9)
    record("library", "torque_coefficients: accepted")


def test_curve_refuses_complex_values_and_sigma():
    phi = np.linspace(0.0, 3.0, 8)
    with pytest.raises(ValueError, match=r"^values = .* is complex"):
        Curve(["rho_ratio"], np.ones(8) + 1e-3j, phi=phi, theta=1.0)
    with pytest.raises(ValueError, match=r"^sigma = .* is complex"):
        Curve(["rho_ratio"], np.ones(8), phi=phi, theta=1.0, sigma=np.ones(8) * (1 + 1j))
    record("library", "fit.Curve: ValueError")


HALL_HEAD = "# fermi_energy [eV] = 1.5\n# j0 [A/m^2] = 1e11\n# rho0 [ohm m] = 2e-7\n"


def _hall_file(folder, settings, r_2w=("-1.2e-4", "-1e-4", "1e-4", "1.2e-4")):
    text = HALL_HEAD + settings + "phi_H [deg],B [T],R_1w [ohm],R_2w [ohm]\n"
    text += "".join(f"{30 * i},0.1,0.97,{r}\n" for i, r in enumerate(r_2w))
    path = folder / "hall.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "settings,r_2w,message",
    [
        ("# ms [T] = 1e-300\n# thickness [nm] = 1\n", None, r"'ms': 1e-300 \[T\] is out of range; allowed: \[0\.001, 10\] \[T\]"),
        ("# ms [T] = 1\n# thickness [nm] = 1e-300\n", None, r"'thickness': 1e-300 \[nm\] is out of range; allowed: \[0\.01, 10000\]"),
        ("# ms [T] = 1\n# thickness [nm] = 1\n", ("0", "0", "0", "0"), r"column 'R_2w' is zero in every row; without sigma columns"),
    ],
)
def test_hall_files_refuse_what_the_fit_cannot_use(tmp_path, settings, r_2w, message):
    path = _hall_file(tmp_path, settings, *([r_2w] if r_2w else []))
    with pytest.raises(ValueError, match=message) as info:
        read_hall_csv(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    record("library", "hall file: ValueError")


def test_hall_file_easy_axis_is_normalized_without_overflow(tmp_path):
    data = read_hall_csv(_hall_file(tmp_path, "# ms [T] = 1\n# thickness [nm] = 1\n# easy_axis [1] = 0 1e300 1e300\n"))
    np.testing.assert_allclose(data.easy_axis, [0.0, math.sqrt(0.5), math.sqrt(0.5)], rtol=1e-15)
    record("library", "hall file: accepted")


def test_all_zero_field_table_is_refused(tmp_path):
    path = tmp_path / "fields.csv"
    path.write_text(
        "# fermi_energy [eV] = 1.5\n# rho0 [ohm m] = 2e-7\n# ms [T] = 1\n# thickness [nm] = 1\n# j0 [A/m^2] = 1e11\n"
        "theta_M [deg],B_DL [T],B_FL [T]\n0,0,0\n30,0,0\n60,0,0\n"
    )
    with pytest.raises(ValueError, match=r"column 'B_DL' is zero in every row"):
        read_hall_csv(path)
    record("library", "hall file: ValueError")


def test_fit_torque_coefficients_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"^m has shape \(5, 3\), weights \(4,\), b_fl \(5, 3\), b_dl \(5, 3\); allowed"):
        jaxsot.fit_torque_coefficients(np.ones((5, 3)), np.ones(4), np.ones((5, 3)), np.ones((5, 3)))
    record("library", "shapes: ValueError")


def test_torque_coefficients_grid_through_y_gives_no_warning(recwarn):
    # num_theta odd: the grid holds M = +-y_j (cos theta = 0, phi = 90 deg), harmless for the vector projection.
    jaxsot.torque_coefficients(MAGNET, TORQUE, 2e-7, method="strong_exchange", order=1, num_theta=5, num_phi=8)
    assert not [w for w in recwarn if "along +-y_j" in str(w.message)]
    record("library", "torque_coefficients: accepted")

"""jaxsot.simulate: the rigidly shifted, relaxing Fermi sea in time.

References: closed forms of hbar dDelta k/dt = qE - hbar Delta k/tau, scipy solve_ivp, the
contour route of jaxsot.ensemble_* at t = 0, an independent NumPy Fermi-contour flux (brentq radii,
implicit-function line elements) of the shifted sea at later times, and an independent NumPy
Fermi-sea quadrature of the spin, B_so x spin and velocity over the shifted sea.

All simulations share one compiled shape (both bands occupied, 41 times, num_phi = 32, num_r = 8),
so `evolve_block` compiles once for the module.
"""

import math

import jax
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import jaxsot

TIMES = np.linspace(0.0, 40.0, 41)  # fs
TAU = 10.0  # fs
EF = 1.0  # eV, both bands occupied
SMALL_E = np.array([1e-4, 5e-5])  # V/nm; Delta k ~ 1.7e-3 /nm ~ 3e-4 k_F
SETTINGS = dict(num_phi=32, num_r=8)


def _simulate(model, drive, tau=TAU, fermi_energy=EF, **extra):
    return jaxsot.simulate(model, fermi_energy, drive, TIMES, tau=tau, **SETTINGS, **extra)


@pytest.fixture(scope="module")
def step_result(general):
    return _simulate(general.model, jaxsot.StepDrive(SMALL_E))


def _exact(result, name):
    return np.asarray(result.observables[name]["exact"])


# ------------------------------------------------------------------------------------------------
# The rigid shift Delta k(t).


def test_step_with_relaxation_shift_closed_form(step_result, ref):
    # Delta k = (qE tau/hbar)(1 - exp(-t/tau)), k' = (qE/hbar) exp(-t/tau), q = -1.
    decay = np.exp(-TIMES / TAU)[:, None]
    expected = ref.CHARGE * SMALL_E * TAU / ref.HBAR * (1 - decay)
    shift = np.asarray(step_result.delta_k)
    # RK4 (4 substeps, h = 0.25 fs): global error ~ (h/tau)^4/120 ~ 3e-9 of the amplitude; measured 1.2e-9.
    assert np.max(np.abs(shift - expected)) < 1e-8 * np.max(np.abs(expected))
    # k' = qE/hbar - Delta k/tau inherits the absolute error of Delta k (divided by tau).
    k_rate = np.asarray(step_result.k_rate)
    expected_rate = ref.CHARGE * SMALL_E / ref.HBAR * decay
    assert np.max(np.abs(k_rate - expected_rate)) < 1e-8 * np.max(np.abs(expected_rate))
    np.testing.assert_allclose(np.asarray(step_result.efield), np.broadcast_to(SMALL_E, (41, 2)), rtol=0, atol=0)
    np.testing.assert_array_equal(np.asarray(step_result.times), TIMES)


def test_step_without_relaxation_grows_linearly(general, ref):
    result = _simulate(general.model, jaxsot.StepDrive(SMALL_E), tau=None)
    expected = ref.CHARGE * SMALL_E[None, :] * TIMES[:, None] / ref.HBAR
    np.testing.assert_allclose(np.asarray(result.delta_k), expected, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(np.asarray(result.k_rate), np.broadcast_to(ref.CHARGE * SMALL_E / ref.HBAR, (41, 2)), rtol=1e-14)
    # Without relaxation k' is constant, so T2 stays near its t = 0 value (changes only at O(Delta k)).
    torque = _exact(result, "damping_torque")
    assert np.max(np.linalg.norm(torque - torque[0], axis=-1)) < 1e-2 * np.linalg.norm(torque[0])


def test_sinusoid_drive_vs_solve_ivp(general, ref):
    frequency, phase = 0.05, 0.3  # 1/fs (50 THz), rad
    drive = jaxsot.SinusoidDrive(SMALL_E, frequency, phase)

    def rhs(t, y):
        return ref.CHARGE * SMALL_E * math.sin(2 * math.pi * frequency * t + phase) / ref.HBAR - y / TAU

    solution = solve_ivp(rhs, (0.0, 40.0), [0.0, 0.0], t_eval=TIMES, method="DOP853", rtol=1e-12, atol=1e-16)
    expected = solution.y.T
    errors = {}
    for substeps in (4, 16):
        result = _simulate(general.model, drive, substeps=substeps)
        errors[substeps] = np.max(np.abs(np.asarray(result.delta_k) - expected)) / np.max(np.abs(expected))
        efield = SMALL_E[None, :] * np.sin(2 * math.pi * frequency * TIMES + phase)[:, None]
        np.testing.assert_allclose(np.asarray(result.efield), efield, rtol=1e-12, atol=1e-18)
    # Measured 7.7e-9 (4 substeps) and 3.4e-11 (16): fourth order, (16/4)^4 = 256.
    assert errors[4] < 5e-8
    assert errors[16] < errors[4] / 50


def test_drives_take_a_plain_python_time():
    # E(t) at a Python float t (as a user evaluates a drive by hand) equals the closed forms.
    assert np.array_equal(np.asarray(jaxsot.StepDrive(SMALL_E)(0.5)), np.asarray(SMALL_E))
    assert not np.any(np.asarray(jaxsot.StepDrive(SMALL_E)(-0.5)))
    sinusoid = jaxsot.SinusoidDrive(SMALL_E, 0.01)
    np.testing.assert_allclose(np.asarray(sinusoid(3.0)), np.asarray(SMALL_E) * math.sin(2.0 * math.pi * 0.01 * 3.0), rtol=1e-12)
    assert not np.any(np.asarray(sinusoid(-3.0)))


def test_ramp_drive_values():
    drive = jaxsot.RampDrive(SMALL_E, 8.0)
    t = np.array([-1.0, 0.0, 2.0, 4.0, 8.0, 20.0])
    values = np.asarray(jax.vmap(drive)(t))
    expected = SMALL_E[None, :] * (np.sin(0.5 * math.pi * np.clip(t / 8.0, 0, 1)) ** 2)[:, None]
    np.testing.assert_allclose(values, expected, rtol=1e-14, atol=1e-20)
    with pytest.raises(ValueError, match="ramp_time"):
        jaxsot.RampDrive(SMALL_E, 0.0)
    with pytest.raises(ValueError, match="frequency"):
        jaxsot.SinusoidDrive(SMALL_E, -1.0)
    with pytest.raises(ValueError, match="amplitude"):
        jaxsot.StepDrive(np.zeros(3))


@pytest.mark.parametrize(
    "build, bad",
    [
        (lambda x: jaxsot.RampDrive(SMALL_E, x), "ramp_time"),
        (lambda x: jaxsot.SinusoidDrive(SMALL_E, x, 0.3), "frequency"),
        (lambda x: jaxsot.SinusoidDrive(SMALL_E, 1e-3, x), "phase"),
        (lambda x: jaxsot.StepDrive(SMALL_E * x), "amplitude"),
        (lambda x: jaxsot.SmoothRampDrive(SMALL_E * x, 8.0), "amplitude"),
        (lambda x: jaxsot.SmoothRampDrive(SMALL_E, x), "ramp_time"),
    ],
)
def test_drives_check_traced_parameters_when_the_program_runs(build, bad):
    # The constructors' checks of traced inputs stay in the program (their return values were once dropped);
    # a valid traced value gives the drive built from the concrete one.
    t = np.float64(3.0)
    at = jax.jit(lambda x: build(x)(t))
    np.testing.assert_array_equal(np.asarray(at(2.0)), np.asarray(build(2.0)(t)))
    values = [float("nan")] + ([-1.0] if bad in ("ramp_time", "frequency") else [])
    for value in values:
        with pytest.raises(Exception, match=f"{bad} is (out of range or )?not finite"):
            jax.block_until_ready(at(value))


# ------------------------------------------------------------------------------------------------
# Rates: the sea route of simulate against contour routes.


def test_rates_at_t0_match_the_ensemble_contour_route(step_result, general, ref):
    # At t = 0 the sea is unshifted and k' = qE/hbar: simulate's Fermi-sea sums = ensemble contour route.
    torque = np.asarray(jaxsot.ensemble_damping_torque(general.model, EF, SMALL_E, 128))
    force = np.asarray(jaxsot.ensemble_spin_force(general.model, EF, SMALL_E, 128))
    assert ref.relative_error(_exact(step_result, "damping_torque")[0], torque) < 1e-9
    assert ref.relative_error(_exact(step_result, "spin_force_density")[0], force) < 1e-9
    np.testing.assert_allclose(_exact(step_result, "spin_rate")[0], -torque, rtol=1e-9, atol=1e-9 * np.linalg.norm(torque))


def _shifted_contour_flux(p, fermi_energy, shift, kdot, ref, num=64):
    """Independent contour route for a sea shifted by `shift` and accelerated by k':
    dS/dt = sum_s oint spin_s(k0 + shift) (n.k') dl/(2pi)^2,
    F density = (m/hbar^2) sum_s oint grad(s Omega)(k0 + shift) (n.hbar k') dl/(2pi)^2,
    with k0 on the unshifted contour (brentq radii), n and dl from the closed-form gradient."""
    spin_rate, force = np.zeros(3), np.zeros(2)
    phi = 2 * math.pi * np.arange(num) / num
    for s in (-1, 1):
        if ref.closed_energy(p, np.zeros(2), s) >= fermi_energy:
            continue
        radius = np.array([ref.fermi_radius(p, fermi_energy, s, x) for x in phi])
        direction = np.stack([np.cos(phi), np.sin(phi)], -1)
        tangent = np.stack([-np.sin(phi), np.cos(phi)], -1)
        k0 = radius[:, None] * direction
        grad = ref.closed_energy_gradient(p, k0, s)
        dr = -radius * np.sum(tangent * grad, -1) / np.sum(direction * grad, -1)
        dl = np.hypot(radius, dr) * (2 * math.pi / num)
        normal = grad / np.linalg.norm(grad, axis=-1, keepdims=True)
        flux = (normal @ kdot) * dl / (2 * math.pi) ** 2
        q = k0 + shift
        spin_rate += flux @ ref.closed_spin(p, q, s)
        grad_s_omega = ref.closed_energy_gradient(p, q, s) - 2 * p.c * q
        force += p.mass / ref.HBAR * (flux @ grad_s_omega)
    return spin_rate, force


def test_rates_of_the_shifted_sea_match_an_independent_contour_flux(general, ref):
    # A larger field so that the shift matters: Delta k(40 fs) ~ 0.05 /nm ~ 1e-2 k_F.
    efield = 30 * SMALL_E
    result = _simulate(general.model, jaxsot.StepDrive(efield))
    shift = np.asarray(result.delta_k)
    kdot = np.asarray(result.k_rate)
    torque = _exact(result, "damping_torque")
    force = _exact(result, "spin_force_density")
    for i in (0, 5, 20, 40):
        rate_ref, force_ref = _shifted_contour_flux(general, EF, shift[i], kdot[i], ref)
        assert ref.relative_error(torque[i], -rate_ref) < 1e-9
        assert ref.relative_error(force[i], force_ref) < 1e-9
        if i == 40:
            # The shift is visible: the unshifted sea (E_eff = hbar k'/q) differs by far more than 1e-9.
            unshifted, _ = _shifted_contour_flux(general, EF, np.zeros(2), kdot[i], ref)
            assert ref.relative_error(-unshifted, torque[i]) > 1e-5
            e_eff = ref.HBAR * kdot[i] / ref.CHARGE
            contour = np.asarray(jaxsot.ensemble_damping_torque(general.model, EF, e_eff, 64))
            assert ref.relative_error(contour, -unshifted) < 1e-9


# ------------------------------------------------------------------------------------------------
# Levels: spin density change, field-like torque, current.


def _sea_sums(p, fermi_energy, shift, ref):
    """sum_s int_{sea + shift} (spin, alpha (k x z) x spin, v) d^2k/(2pi)^2 on jaxsot.fermi_sea_nodes (float64)."""
    spin, b_cross_spin, velocity = np.zeros(3), np.zeros(3), np.zeros(2)
    for s in jaxsot.occupied_bands(p.model, fermi_energy):
        k, area = jaxsot.fermi_sea_nodes(p.model, fermi_energy, s, num_phi=128, num_r=16)
        q = np.asarray(k) + shift
        area = np.asarray(area) / (2 * math.pi) ** 2
        sigma = ref.closed_spin(p, q, s)
        b_so = np.stack([p.alpha * q[:, 1], -p.alpha * q[:, 0], np.zeros(len(q))], -1)
        spin += area @ sigma
        b_cross_spin += area @ np.cross(b_so, sigma)
        velocity += area @ ref.closed_velocity(p, q, s)
    return spin, b_cross_spin, velocity


def test_levels_match_a_direct_fermi_sea_integral(step_result, general, ref):
    shift = np.asarray(step_result.delta_k[-1])
    spin1, bxs1, v1 = _sea_sums(general, EF, shift, ref)
    spin0, bxs0, v0 = _sea_sums(general, EF, np.zeros(2), ref)
    # Spin density change S(Delta k) - S_eq (measured agreement ~4e-12).
    assert ref.relative_error(_exact(step_result, "spin_density_change")[-1], spin1 - spin0) < 1e-8
    assert ref.relative_error(_exact(step_result, "spin_density")[-1], spin1) < 1e-10
    # Field-like torque T1 = (2/hbar) <B_so x sigma>, current-induced part (paper eq. 5).
    assert ref.relative_error(_exact(step_result, "field_like_torque")[-1], 2 / ref.HBAR * (bxs1 - bxs0)) < 1e-8
    # Current density j = q sum int v (the unshifted sea carries none).
    assert np.linalg.norm(v0) < 1e-12 * np.linalg.norm(v1)
    assert ref.relative_error(_exact(step_result, "current_density")[-1], ref.CHARGE * v1) < 1e-8


def test_field_like_torque_is_exchange_cross_spin_change(step_result, general, ref):
    change = _exact(step_result, "spin_density_change")
    expected = 2 * general.j_ex / ref.HBAR * np.cross(general.m, change)
    np.testing.assert_allclose(_exact(step_result, "field_like_torque"), expected, rtol=1e-12, atol=1e-14 * np.abs(expected).max())
    assert np.all(np.asarray(step_result.observables["spin_density_change"]["exact"][0]) == 0)


def test_band_densities_and_per_electron_force(step_result, general, ref):
    densities = np.asarray(step_result.band_densities)
    np.testing.assert_allclose(densities, [ref.sea_density(general, EF, -1, 64), ref.sea_density(general, EF, 1, 64)], rtol=1e-12)
    np.testing.assert_allclose(
        _exact(step_result, "spin_force_per_electron"), _exact(step_result, "spin_force_density") / densities.sum(), rtol=1e-14
    )


# ------------------------------------------------------------------------------------------------
# Step response: T2 decays with k', T1 builds up with Delta k.


def _step_response_deviation(result):
    torque = _exact(result, "damping_torque")
    decay = np.exp(-TIMES / TAU)[:, None]
    t2_dev = np.max(np.linalg.norm(torque - torque[0] * decay, axis=-1)) / np.linalg.norm(torque[0])
    field_like = _exact(result, "field_like_torque")
    build = (1 - np.exp(-TIMES / TAU))[1:, None]
    per_build = field_like[1:] / build
    t1_dev = np.max(np.linalg.norm(per_build - per_build[-1], axis=-1)) / np.linalg.norm(per_build[-1])
    return t2_dev, t1_dev


def test_step_response_decay_and_build_up(step_result, general):
    # To first order in E: T2(t) = T2(0) exp(-t/tau) and T1(t) = T1_inf (1 - exp(-t/tau)).
    # Measured deviations (relative): 2.8e-5 (T2) and 6.9e-6 (T1) at |E| = 1.1e-4 V/nm; a ten times
    # smaller field gives ten times smaller deviations: they are second order in E.
    t2_dev, t1_dev = _step_response_deviation(step_result)
    assert t2_dev < 1e-4 and t1_dev < 3e-5
    weak = _simulate(general.model, jaxsot.StepDrive(0.1 * SMALL_E))
    weak_t2, weak_t1 = _step_response_deviation(weak)
    assert 8 < t2_dev / weak_t2 < 12
    assert 8 < t1_dev / weak_t1 < 12
    # T1 is non-zero and builds up from zero; T2(0) is non-zero.
    assert np.linalg.norm(_exact(step_result, "field_like_torque")[0]) == 0
    assert np.linalg.norm(_exact(step_result, "field_like_torque")[-1]) > 0


def test_approximation_errors_fall_with_alpha(ref):
    # Ensemble relative errors of the approximations vs the exact sea sums, alpha = 0.04, 0.02, 0.01
    # (alpha k_F/J = 0.5, 0.25, 0.13). Measured orders (log-log slope): ~2.0 for every approximation
    # (e.g. damping torque: second order 8.7e-2 -> 5.3e-3, strong exchange 0.147 -> 8.7e-3).
    m = ref.angles_to_vector(1.0, 0.5)
    alphas = [0.04, 0.02, 0.01]
    names = [
        ("damping_torque", "second_order"),
        ("damping_torque", "strong_exchange"),
        ("spin_force_density", "second_order"),
        ("spin_force_density", "strong_exchange"),
        ("field_like_torque", "strong_exchange"),
        ("current_density", "strong_exchange"),
    ]
    errors = {name: [] for name in names}
    for alpha in alphas:
        result = _simulate(jaxsot.RashbaFerromagnet(alpha, 0.5, m), jaxsot.StepDrive(SMALL_E))
        for name in names:
            errors[name].append(result.relative_error(*name))
    for name in names:
        values = np.array(errors[name])
        assert np.all(np.diff(values) < 0), name
        slope = np.polyfit(np.log(alphas), np.log(values), 1)[0]
        assert abs(slope - 2.0) < 0.2, (name, slope)
    assert errors[("damping_torque", "strong_exchange")][-1] < 1e-2


# ------------------------------------------------------------------------------------------------
# Symmetry under M -> -M.


def test_magnetization_reversal_in_time(general, ref):
    # M -> -M maps the sea to its inversion k -> -k, with spin -> -spin. Hence, exactly:
    #   T2_{-M}(E) = -T2_M(-E), F_{-M}(E) = -F_M(-E), (S - S_eq)_{-M}(E) = -(S - S_eq)_M(-E),
    #   T1_{-M}(E) = T1_M(-E).
    # To first order in E, T2 and F are even in M and T1 is odd in M.
    reversed_ = ref.make_case("reversed", general.alpha, general.j_ex, -general.m)
    plus = _simulate(general.model, jaxsot.StepDrive(SMALL_E))
    minus = _simulate(reversed_.model, jaxsot.StepDrive(SMALL_E))
    plus_reversed_field = _simulate(general.model, jaxsot.StepDrive(-SMALL_E))
    for name, sign in (("damping_torque", -1), ("spin_force_density", -1), ("spin_density_change", -1), ("field_like_torque", 1)):
        a = _exact(minus, name)
        b = sign * _exact(plus_reversed_field, name)
        assert np.max(np.abs(a - b)) < 1e-10 * np.max(np.abs(b)), name
    # First order in E (Delta k/k_F ~ 3e-4): even / odd.
    assert ref.relative_error(_exact(minus, "damping_torque"), _exact(plus, "damping_torque")) < 1e-3
    assert ref.relative_error(_exact(minus, "spin_force_density"), _exact(plus, "spin_force_density")) < 1e-3
    assert ref.relative_error(_exact(minus, "field_like_torque")[1:], -_exact(plus, "field_like_torque")[1:]) < 1e-3


# ------------------------------------------------------------------------------------------------
# Validation, degeneracy notes and compilation.


def test_simulate_rejects_bad_inputs(general):
    drive = jaxsot.StepDrive(SMALL_E)
    with pytest.raises(ValueError, match="times"):
        jaxsot.simulate(general.model, EF, drive, np.array([0.0, 2.0, 1.0]), **SETTINGS)
    with pytest.raises(ValueError, match="times"):
        jaxsot.simulate(general.model, EF, drive, np.array([0.0, 1.0, 1.0]), **SETTINGS)
    with pytest.raises(ValueError, match="times"):
        jaxsot.simulate(general.model, EF, drive, np.array([0.0]), **SETTINGS)
    with pytest.raises(ValueError, match="times"):
        jaxsot.simulate(general.model, EF, drive, np.array([0.0, float("nan"), 2.0]), **SETTINGS)
    for tau in (0.0, -5.0, float("nan")):
        with pytest.raises(ValueError, match="tau"):
            jaxsot.simulate(general.model, EF, drive, TIMES, tau=tau, **SETTINGS)
    with pytest.raises(ValueError, match="fermi_energy"):
        jaxsot.simulate(general.model, -0.6, drive, TIMES, **SETTINGS)
    with pytest.raises(ValueError, match="num_phi"):
        jaxsot.simulate(general.model, EF, drive, TIMES, num_phi=2, num_r=8)


@pytest.mark.slow  # pays for the mesh route alone (~18 CPU-s cold)
def test_band_touching_inside_the_sea_is_reported(in_plane):
    # In-plane M: k* = (J/alpha)(z x M), |k*| = 10 /nm, eps(k*) = c |k*|^2 = 3.81 eV < E_F = 4.5 eV.
    point = np.asarray(jaxsot.degeneracy_point(in_plane.model))
    np.testing.assert_allclose(point, 10.0 * np.array([-in_plane.m[1], in_plane.m[0]]), rtol=1e-14)
    result = _simulate(in_plane.model, jaxsot.StepDrive(SMALL_E), fermi_energy=4.5)
    assert len(result.notes) > 0
    assert any("k*" in note or "band touching" in note for note in result.notes)
    # Never silent NaN: every observable is finite, or a note says which are not.
    for name, values in result.observables.items():
        for key, value in values.items():
            if not np.all(np.isfinite(np.asarray(value))):
                assert any("non-finite" in note and name in note for note in result.notes), (name, key)
    # Below eps(k*) there is nothing to report.
    quiet = _simulate(in_plane.model, jaxsot.StepDrive(SMALL_E), fermi_energy=EF)
    assert quiet.notes == ()


class CompileCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1


def test_simulate_does_not_recompile_for_the_same_shapes(general, ref):
    other = ref.make_case("other", 0.07, 0.4, [0.1, -0.6, 0.5]).model
    _simulate(general.model, jaxsot.StepDrive(SMALL_E))
    cache = jaxsot._dynamics._engine.evolve_block._cache_size()
    counter = CompileCounter()
    jax.monitoring.register_event_duration_secs_listener(counter)
    try:
        result = _simulate(other, jaxsot.StepDrive(3 * SMALL_E))
    finally:
        jax.monitoring.unregister_event_duration_listener(counter)
    assert jaxsot._dynamics._engine.evolve_block._cache_size() == cache
    assert counter.count == 0
    assert np.all(np.isfinite(_exact(result, "damping_torque")))


# ------------------------------------------------------------------------------------------------
# Pay only for what is asked: observables= / approximations=.


def test_a_selection_returns_the_full_sets_values_and_evaluates_only_what_it_needs(step_result, general):
    drive = jaxsot.StepDrive(SMALL_E)
    chosen = _simulate(general.model, drive, observables=("damping_torque", "current_density"),
                       approximations=("exact", "strong_exchange"))
    assert {name: sorted(values) for name, values in chosen.observables.items()} == {
        "current_density": ["exact", "strong_exchange"], "damping_torque": ["exact", "strong_exchange"]}
    for name, values in chosen.observables.items():
        for approx, series in values.items():
            full = np.asarray(step_result.observables[name][approx])
            np.testing.assert_allclose(series, full, rtol=1e-12, atol=1e-13 * np.max(np.abs(full)))
    assert chosen.relative_error("current_density", "strong_exchange") == pytest.approx(
        step_result.relative_error("current_density", "strong_exchange"), rel=1e-9)
    with pytest.raises(ValueError, match="observable 'spin_rate' was not computed"):
        chosen.relative_error("spin_rate", "second_order")
    # The exact damping torque alone is one jvp of the spin per state: no Hessian-vector product (spin
    # force), no second-order forms and no contour pass in the program (traced and lowered, not compiled).
    sea, contour, _ = jaxsot._dynamics._observables.ensemble_nodes(general.model, EF, (-1, 1), 32, 8)
    shift = np.zeros((4, 2))
    text = {}
    for label, parts in (("rate", (("rate",), ())), ("all", None)):
        text[label] = jaxsot._dynamics._engine.evolve_block.lower(
            general.model, sea, contour, shift, shift, chunk=512, parts=parts).as_text()
    assert text["rate"].count("stablehlo.while") < text["all"].count("stablehlo.while")  # no contour-level scans
    assert text["rate"].count("stablehlo.sqrt") < text["all"].count("stablehlo.sqrt")
    assert len(text["rate"]) < 0.6 * len(text["all"])


def test_bad_selections_are_refused(general):
    drive = jaxsot.StepDrive(SMALL_E)
    with pytest.raises(ValueError, match="observables = .*'torque' is not allowed; allowed: names from spin_density"):
        _simulate(general.model, drive, observables=("torque",))
    with pytest.raises(ValueError, match="approximations = .*'first_order' is not allowed"):
        _simulate(general.model, drive, approximations=("first_order",))
    with pytest.raises(ValueError, match="leave nothing to compute"):
        _simulate(general.model, drive, observables=("spin_density_change",), approximations=("second_order",))

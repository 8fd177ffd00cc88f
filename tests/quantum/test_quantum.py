"""Quantum check (jaxsot._quantum): exact spinor dynamics of k-states against independent references.

References: scipy solve_ivp (DOP853, rtol = atol = 1e-12) of the Bloch equation d sigma/dt = (2/hbar)
b(k(t)) x sigma together with hbar dDelta k/dt = qE(t) - hbar Delta k/tau (drives written out in
NumPy); the closed-form free precession about a constant b; the per-state semiclassical functions of
jaxsot._bands; the first-order formula of docs/theory/quantum.md written with numpy.cross; for M || z, a scipy
quadrature of the per-state formulas over the circular seas and the closed forms derived in
`circular_sea_torques`; `jaxsot.simulate` for the semiclassical ensemble sums.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

import jaxsot

E_SMALL = np.array([1e-3, 4e-4])  # V/nm
K_STATES = np.array([[1.0, 0.3], [0.2, -2.0], [-3.0, 1.5]])  # 1/nm


def smooth_step_numpy(x):
    x = np.clip(x, 0.0, 1.0)
    f = lambda y: np.where(y > 0, np.exp(-1.0 / np.where(y > 0, y, 1.0)), 0.0)  # noqa: E731
    return f(x) / (f(x) + f(1.0 - x))


def numpy_drive(kind, amplitude, t):
    """E(t) [V/nm] written out independently of jaxsot._drives."""
    if kind == "step":
        return amplitude * (t >= 0)
    if kind == "ramp":  # sin^2 over 8 fs
        return amplitude * np.sin(0.5 * np.pi * np.clip(t / 8.0, 0.0, 1.0)) ** 2
    if kind == "sinusoid":  # 30 THz, phase 0.4
        return amplitude * (t >= 0) * np.sin(2 * np.pi * 0.03 * t + 0.4)
    if kind == "smooth":  # C-infinity switch over 6 fs
        return amplitude * smooth_step_numpy(t / 6.0)
    raise ValueError(kind)


def jaxsot_drive(kind, amplitude):
    if kind == "step":
        return jaxsot.StepDrive(amplitude)
    if kind == "ramp":
        return jaxsot.RampDrive(amplitude, 8.0)
    if kind == "sinusoid":
        return jaxsot.SinusoidDrive(amplitude, 0.03, 0.4)
    return jaxsot.SmoothRampDrive(amplitude, 6.0)


def scipy_bloch(ref, p, k0, sigma0, kind, amplitude, tau, times):
    """Independent reference: [Delta k, sigma] by DOP853 at rtol = atol = 1e-12."""
    inverse_tau = 0.0 if tau is None else 1.0 / tau

    def rhs(t, y):
        dk, sigma = y[:2], y[2:]
        kdot = ref.CHARGE * numpy_drive(kind, amplitude, t) / ref.HBAR - dk * inverse_tau
        b = ref.exchange_field(p, k0 + dk)
        return np.concatenate([kdot, 2.0 / ref.HBAR * np.cross(b, sigma)])

    y0 = np.concatenate([[0.0, 0.0], sigma0])
    solution = solve_ivp(rhs, (times[0], times[-1]), y0, method="DOP853", rtol=1e-12, atol=1e-12, t_eval=times)
    assert solution.success
    return solution.y[:2].T, solution.y[2:].T


# ------------------------------------------------------------------------------------------------
# One state: the integrator.


@pytest.mark.parametrize(
    "kind,tau,band", [("step", None, -1), ("ramp", 5.0, 1), ("sinusoid", 7.0, -1), ("smooth", None, 1)]
)
def test_trajectory_matches_scipy(general, ref, kind, tau, band):
    times = np.linspace(0.0, 24.0, 49)
    drive = jaxsot_drive(kind, E_SMALL)
    if kind == "smooth":  # the ramp_time keyword builds the same SmoothRampDrive from a field array
        spin = jaxsot.exact_spin_trajectory(general.model, K_STATES, band, E_SMALL, times, ramp_time=6.0, tau=tau, substeps=8)
    else:
        spin = jaxsot.exact_spin_trajectory(general.model, K_STATES, band, drive, times, tau=tau, substeps=8)
    spin = np.asarray(spin)
    assert spin.shape == (3, 49, 3)
    for i, k0 in enumerate(K_STATES):
        sigma0 = ref.eig_spin(general, k0, band)
        _, expected = scipy_bloch(ref, general, k0, sigma0, kind, E_SMALL, tau, times)
        # Magnus-4 with theta = 2 Omega h/hbar ~ 0.1: error ~ 1e-12 here; the reference is good to ~1e-11.
        assert np.max(np.abs(spin[i] - expected)) < 1e-8, (kind, i)
        # The field changes the spin by ~ alpha |Delta k|/Omega ~ 1e-3: the comparison is not trivial.
        assert np.max(np.abs(expected - sigma0)) > 1e-4


def test_norm_is_preserved_over_a_long_run(general):
    # 1e5 Magnus steps of 0.02 fs through a sinusoid field with relaxation.
    times = np.linspace(0.0, 2000.0, 2001)
    drive = jaxsot.SinusoidDrive(np.array([3e-3, -1e-3]), 0.004)
    spin = np.asarray(jaxsot.exact_spin_trajectory(general.model, K_STATES[0], -1, drive, times, tau=20.0, substeps=50))
    assert spin.shape == (2001, 3)
    assert np.max(np.abs(np.linalg.norm(spin, axis=-1) - 1.0)) < 1e-12
    assert np.max(np.abs(spin - spin[0])) > 1e-3  # it moved


def test_time_independent_hamiltonian_precesses_exactly_at_two_omega(general, ref):
    # E = 0: b is constant, so sigma rotates about b at 2 Omega/hbar. The exponential integrator is
    # exact for constant b at any step: here 10 fs steps, a rotation of ~15 rad each.
    k0 = K_STATES[1]
    b = ref.exchange_field(general, k0)
    omega = np.linalg.norm(b)
    n = b / omega
    start = np.array([0.3, -0.8, 0.52])
    start /= np.linalg.norm(start)
    period = math.pi * ref.HBAR / omega
    times = np.sort(np.concatenate([np.linspace(0.0, 100.0, 11), [period]]))  # non-uniform is allowed
    spin = np.asarray(
        jaxsot.exact_spin_trajectory(general.model, k0, -1, np.zeros(2), times, initial_spin=start)
    )
    angle = 2.0 * omega * times / ref.HBAR
    parallel = n * (n @ start)
    expected = (
        parallel[None]
        + np.cos(angle)[:, None] * (start - parallel)[None]
        + np.sin(angle)[:, None] * np.cross(n, start)[None]
    )
    assert np.max(np.abs(spin - expected)) < 1e-12
    # One full period pi hbar/Omega brings the spin back.
    assert np.max(np.abs(spin[times == period][0] - start)) < 1e-12


def test_magnus_error_is_fourth_order_and_below_the_stated_constant(general, ref):
    # Smooth switch-on over 6 fs, then a constant field; error relative to the field-induced change.
    amplitude = 10 * E_SMALL
    times = np.linspace(0.0, 24.0, 49)  # 0.5 fs intervals
    runs = {
        substeps: np.asarray(
            jaxsot.exact_spin_trajectory(general.model, K_STATES, -1, amplitude, times, ramp_time=6.0, substeps=substeps)
        )
        for substeps in (4, 8)
    }
    for i, k0 in enumerate(K_STATES):
        omega = np.linalg.norm(ref.exchange_field(general, k0))
        sigma0 = ref.eig_spin(general, k0, -1)
        _, expected = scipy_bloch(ref, general, k0, sigma0, "smooth", amplitude, None, times)
        first = np.linalg.norm(np.asarray(jaxsot.nonadiabatic_spin_first_order(general.model, k0, -1, amplitude)))
        errors = []
        for substeps, spin in runs.items():
            theta = 2.0 * omega * (0.5 / substeps) / ref.HBAR
            error = np.max(np.abs(spin[i] - expected))
            assert error < jaxsot._quantum.INTEGRATION_ERROR_CONSTANT * theta**4 * first, (i, substeps)
            errors.append(error)
        assert 10.0 < errors[0] / errors[1] < 24.0, i  # fourth order: 2^4 = 16


def test_step_field_rings_at_two_omega_around_the_first_order_spin(along_z, ref):
    # M || z, state on the x axis, E along x: k moves radially... choose E along y so Omega stays
    # constant to first order; the band eigenstate at t = 0 misses delta sigma_1 and precesses about b.
    k0 = np.array([3.0, 0.0])
    amplitude = np.array([0.0, 2e-3])
    omega = np.linalg.norm(ref.exchange_field(along_z, k0))
    times = np.linspace(0.0, 200.0, 4001)
    result = jaxsot.compare_spin_dynamics(along_z.model, k0, -1, amplitude, times, substeps=2)
    exact = np.asarray(result.observables["nonadiabatic_spin"]["exact"])
    first = np.asarray(result.observables["nonadiabatic_spin"]["first_order"])
    ringing = exact - first
    # Amplitude: |delta sigma_1| (the state starts delta sigma_1 away from the adiabatic one).
    np.testing.assert_allclose(np.max(np.linalg.norm(ringing, axis=-1)[10:]), np.linalg.norm(first[0]), rtol=0.05)
    spectrum = np.abs(np.fft.rfft(ringing[:, 0] - ringing[:, 0].mean()))
    frequency = np.fft.rfftfreq(times.size, times[1] - times[0])[np.argmax(spectrum)] * 2.0 * np.pi
    np.testing.assert_allclose(frequency, 2.0 * omega / ref.HBAR, rtol=0.01)
    # Averaged over whole ringing periods the exact rate is the semiclassical one.
    period = math.pi * ref.HBAR / omega
    window = times <= 40 * period
    exact_rate = np.asarray(result.observables["spin_rate"]["exact"])[window].mean(axis=0)
    sc_rate = np.asarray(result.observables["spin_rate"]["semiclassical"])[window].mean(axis=0)
    assert np.linalg.norm(exact_rate - sc_rate) < 0.03 * np.linalg.norm(sc_rate)


def test_batched_equals_looped(general):
    times = np.linspace(0.0, 24.0, 49)
    drive = jaxsot_drive("ramp", E_SMALL)
    batched = np.asarray(jaxsot.exact_spin_trajectory(general.model, K_STATES, 1, drive, times, tau=5.0, substeps=8))
    looped = np.stack(
        [np.asarray(jaxsot.exact_spin_trajectory(general.model, k, 1, drive, times, tau=5.0, substeps=8)) for k in K_STATES]
    )
    np.testing.assert_allclose(batched, looped, rtol=0, atol=1e-14)
    nested = np.asarray(jaxsot.exact_spin_trajectory(general.model, K_STATES[None], 1, drive, times, tau=5.0, substeps=8))
    assert nested.shape == (1, 3, 49, 3)
    np.testing.assert_array_equal(nested[0], batched)


@pytest.mark.slow  # compile-heavy (~10 CPU-s cold)
def test_torque_decomposition_and_semiclassical_parts(general, ref):
    times = np.linspace(0.0, 12.0, 25)
    result = jaxsot.compare_spin_dynamics(general.model, K_STATES, -1, E_SMALL, times, substeps=2)
    obs = {n: {a: np.asarray(v) for a, v in d.items()} for n, d in result.observables.items()}
    exact = obs["exchange_torque"]["exact"]
    total = obs["field_like_torque"]["exact"] + obs["damping_torque"]["exact"]
    # T = T1 + T2: an identity of the Bloch equation, computed here from independent pieces.
    assert np.max(np.abs(exact - total)) < 1e-12 * np.max(np.abs(exact))
    k = K_STATES[:, None, :] + np.asarray(result.delta_k)[None]
    np.testing.assert_allclose(obs["spin"]["semiclassical"], ref.closed_spin(general, k, -1), rtol=0, atol=1e-13)
    np.testing.assert_allclose(
        obs["field_like_torque"]["semiclassical"], np.asarray(jaxsot.field_like_torque(general.model, k, -1)), rtol=0, atol=1e-12
    )
    # No relaxation: k' = qE/hbar at every t > 0, so T2_sc is jaxsot.damping_torque of the state at k(t).
    np.testing.assert_allclose(
        obs["damping_torque"]["semiclassical"][:, 1:],
        np.asarray(jaxsot.damping_torque(general.model, k[:, 1:], -1, E_SMALL)),
        rtol=1e-12,
        atol=1e-18,
    )
    assert np.all(np.abs(np.linalg.norm(obs["spin"]["exact"], axis=-1) - 1) < 1e-13)


def test_first_order_formula_matches_the_written_out_form(general, ref):
    k = ref_k = K_STATES
    for band in (-1, 1):
        first = np.asarray(jaxsot.nonadiabatic_spin_first_order(general.model, k, band, E_SMALL))
        b = ref.exchange_field(general, ref_k)
        omega = np.linalg.norm(b, axis=-1, keepdims=True)
        e_cross_z = np.array([E_SMALL[1], -E_SMALL[0], 0.0])
        # docs/theory/quantum.md: lower band -(e alpha/(2 Omega^3)) b x (E x z); upper band the opposite.
        expected = band * general.alpha / (2 * omega**3) * np.cross(b, e_cross_z)
        np.testing.assert_allclose(first, expected, rtol=1e-13, atol=0)
        # (2/hbar) b x delta sigma_1 is the semiclassical ds/dt = -T2 (jaxsot._bands, autodiff).
        rate = 2.0 / ref.HBAR * np.cross(b, first)
        np.testing.assert_allclose(rate, -np.asarray(jaxsot.damping_torque(general.model, k, band, E_SMALL)), rtol=1e-12)
    eps = np.asarray(jaxsot.adiabaticity(general.model, k, E_SMALL))
    np.testing.assert_allclose(eps, general.alpha * np.linalg.norm(E_SMALL) / np.linalg.norm(b, axis=-1) ** 2, rtol=1e-13)


@pytest.fixture(scope="module")
def scans(general):
    k0 = np.array([4.0, 1.5])
    targets = np.geomspace(1e-5, 1e-2, 7)
    options = dict(steps_per_period=96, ramp_periods=40.0, window_periods=6.0, fit_max=1e-2)
    generic = jaxsot.adiabaticity_scan(general.model, k0, -1, targets, direction=(1.0, 0.0), **options)
    tangential = jaxsot.adiabaticity_scan(general.model, k0, -1, targets, direction="tangential", **options)
    return k0, generic, tangential


@pytest.mark.slow  # compile-heavy: exact spinor scans and ensembles
def test_adiabatic_limit_reproduces_semiclassical_rate_with_measured_order(scans):
    _, generic, tangential = scans
    np.testing.assert_allclose(generic.adiabaticity[:4], generic.target[:4], rtol=0.05)
    order, prefactor = generic.orders["spin_rate"]
    assert 0.9 < order < 1.1 and 0.1 < prefactor < 10
    # The deviation is the first-order correction d(delta sigma_1)/dt: with it, second order.
    assert 1.8 < generic.orders["spin_rate_first_order"][0] < 2.2
    # Strongly adiabatic: semiclassical ds/dt within a few epsilon.
    assert generic.errors["spin_rate"][0] < 5 * generic.adiabaticity[0]
    # Moving along Omega = const the first-order correction vanishes: second order from the start.
    assert 1.8 < tangential.orders["spin_rate"][0] < 2.2
    assert np.all(tangential.errors["spin_rate"][3:6] < 0.1 * generic.errors["spin_rate"][3:6])


@pytest.mark.slow  # compile-heavy: exact spinor scans and ensembles
def test_nonadiabatic_spin_follows_the_first_order_formula(scans, general, ref):
    k0, generic, _ = scans
    assert 0.9 < generic.orders["nonadiabatic_spin"][0] < 1.1
    assert 1.8 < generic.orders["nonadiabatic_spin_second_order"][0] < 2.2
    assert generic.errors["nonadiabatic_spin"][0] < 5 * generic.adiabaticity[0]
    assert 0.85 < generic.orders["exchange_torque_first_order"][0] < 1.15
    # The papers' T1_sc + T2_sc misses (2/hbar) B_so x delta sigma_1: a plateau, not an error -> 0.
    b_so = general.alpha * np.array([k0[1], -k0[0], 0.0])
    b = ref.exchange_field(general, k0)
    kdot = ref.CHARGE * np.array([1.0, 0.0]) / ref.HBAR
    bdot = general.alpha * np.array([kdot[1], -kdot[0], 0.0])
    first = -(-1) * ref.HBAR / (2 * np.linalg.norm(b) ** 3) * np.cross(b, bdot)
    rate = 2.0 / ref.HBAR * np.cross(b, first)
    plateau = np.linalg.norm(2.0 / ref.HBAR * np.cross(b_so, first)) / np.linalg.norm(rate)
    np.testing.assert_allclose(generic.errors["exchange_torque_papers"][:3], plateau, rtol=0.1)
    assert abs(generic.orders["exchange_torque_papers"][0]) < 0.1


# ------------------------------------------------------------------------------------------------
# M || z closed forms and the strong-Rashba crossover.


def _quadrature_torques(ref, p, fermi_energy, efield, radii):
    """Independent: sum over the sea of the per-state formulas (scipy quad in k, Gauss in angle)."""
    kdot = ref.CHARGE * efield / ref.HBAR
    bdot = p.alpha * np.array([kdot[1], -kdot[0], 0.0])
    phi, wphi = np.polynomial.legendre.leggauss(24)
    phi, wphi = np.pi * (phi + 1.0), np.pi * wphi
    totals = {"T2": np.zeros(3), "DL": np.zeros(3), "dS": np.zeros(3)}

    def integrand(k, s, what, component):
        kx, ky = k * np.cos(phi), k * np.sin(phi)
        b = np.stack([p.alpha * ky, -p.alpha * kx, -p.j_ex * p.m[2] + 0 * kx], -1)
        omega = np.linalg.norm(b, axis=-1, keepdims=True)
        if what == "T2":  # -ds/dt = -s (bdot - b^ (b^.bdot))/Omega
            value = -s * (bdot - b * (b @ bdot)[:, None] / omega**2) / omega
        else:
            first = -(s * ref.HBAR / (2 * omega**3)) * np.cross(b, bdot)
            value = first if what == "dS" else 2 * p.j_ex / ref.HBAR * np.cross(p.m, first)
        return k * (wphi @ value[:, component])

    for s, (k_in, k_out) in radii.items():
        for what in totals:
            for c in range(2):
                totals[what][c] += quad(integrand, k_in, k_out, args=(s, what, c), epsabs=0, epsrel=1e-12, limit=200)[0] / (4 * np.pi**2)
    return totals


@pytest.mark.parametrize(
    "alpha,j_ex,mz,fermi_energy",
    [(0.05, 0.5, 1.0, 1.0), (0.05, 0.5, -1.0, 0.2), (0.3, 0.05, 1.0, -0.06), (0.01, 0.002, 1.0, 1.0)],
    ids=["both-bands", "lower-only-M-down", "mexican-hat-annulus", "strong-rashba"],
)
def test_mz_closed_form_against_quadrature(ref, alpha, j_ex, mz, fermi_energy):
    p = ref.make_case("mz", alpha, j_ex, [0.0, 0.0, mz])
    efield = np.array([1e-4, 3e-5])
    forms = jaxsot.circular_sea_torques(p.model, fermi_energy, efield)
    for s, (k_in, k_out) in forms["radii"].items():
        for k in (k_in, k_out):
            if k > 0:
                assert abs(ref.closed_energy(p, np.array([k, 0.0]), s) - fermi_energy) < 1e-12
        assert ref.closed_energy(p, np.array([0.5 * (k_in + k_out), 0.0]), s) < fermi_energy
    totals = _quadrature_torques(ref, p, fermi_energy, efield, forms["radii"])
    for what, key in (("T2", "damping_torque"), ("DL", "damping_like_torque"), ("dS", "nonadiabatic_spin_density")):
        scale = np.max(np.abs(forms[key]))
        assert scale > 0 and np.max(np.abs(totals[what] - forms[key])) < 1e-9 * scale, what


def test_mz_universal_crossover_forms(ref):
    # Both bands occupied: exact closed forms in x = alpha k_F/J, k_F = sqrt(2 m E_F)/hbar.
    fermi_energy, alpha = 1.0, 0.008
    k_f = math.sqrt(fermi_energy / ref.HBAR2_OVER_2ME)
    efield = np.array([1e-4, 0.0])
    scale = ref.ELECTRON_MASS * alpha / (math.pi * ref.HBAR**3) * np.linalg.norm(efield)  # |T2_0|
    for x in (0.05, 0.5, 1.0, 3.0, 30.0):
        j_ex = alpha * k_f / x
        p = ref.make_case("mz", alpha, j_ex, [0.0, 0.0, 1.0])
        forms = jaxsot.circular_sea_torques(p.model, fermi_energy, efield)
        eta = ref.ELECTRON_MASS * alpha**2 / (ref.HBAR**2 * j_ex)
        # E along x: E x z = -y, and T2_0 = -(e m alpha/(pi hbar^3))(E x z) points along +y.
        np.testing.assert_allclose(forms["damping_torque"][1] / scale, (2 + x * x) / (2 * (1 + x * x)), rtol=1e-11)
        np.testing.assert_allclose(forms["damping_like_torque"][1] / scale, 1 / (1 + x * x), rtol=1e-11)
        np.testing.assert_allclose(forms["strong_exchange"][1] / scale, math.sqrt(1 + x * x + eta * eta), rtol=1e-11)


@pytest.mark.slow  # compile-heavy: exact spinor scans and ensembles
def test_exact_ensemble_crossover_matches_closed_forms():
    crossover = jaxsot.strong_rashba_crossover(
        0.008, 1.0, [0.2, 1.0, 6.0], num_phi=8, num_r=12, ramp_periods=16.0, window_periods=4.0, max_angle=0.6
    )
    n = crossover.normalized
    x = crossover.ratio
    np.testing.assert_allclose(n["closed_damping_torque"], (2 + x**2) / (2 * (1 + x**2)), rtol=1e-11)
    for name, closed in (
        ("semiclassical_damping_torque", "closed_damping_torque"),
        ("exact_damping_torque", "closed_damping_torque"),
        ("exact_damping_like_torque", "closed_damping_like_torque"),
        ("first_order_damping_like_torque", "closed_damping_like_torque"),
    ):
        np.testing.assert_allclose(n[name], n[closed], rtol=2e-3, err_msg=name)
    # Strong Rashba: T2 stays near half the strong-exchange value, the damping-like torque is gone.
    assert n["exact_damping_torque"][-1] > 0.5 and n["exact_damping_like_torque"][-1] < 0.03
    assert np.all(crossover.adiabaticity < 1e-2)


# ------------------------------------------------------------------------------------------------
# Ensembles.

ENSEMBLE_TIMES = np.linspace(0.0, 40.0, 41)
ENSEMBLE = dict(num_phi=32, num_r=8)


@pytest.fixture(scope="module")
def ensemble(general):
    drive = jaxsot.RampDrive(np.array([1e-4, 5e-5]), 10.0)
    exact = jaxsot.exact_simulate(general.model, 1.0, drive, ENSEMBLE_TIMES, tau=10.0, **ENSEMBLE)
    semiclassical = jaxsot.simulate(general.model, 1.0, drive, ENSEMBLE_TIMES, tau=10.0, **ENSEMBLE)
    return drive, exact, semiclassical


@pytest.mark.slow  # compile-heavy: exact spinor scans and ensembles
def test_ensemble_semiclassical_sums_are_the_simulate_pipeline(ensemble):
    _, exact, sim = ensemble
    for name in ("damping_torque", "spin_density_change", "field_like_torque"):
        ours = np.asarray(exact.observables[name]["semiclassical"])
        theirs = np.asarray(sim.observables[name]["exact"])
        # Same nodes; Delta k from Gauss quadrature here, from RK4 in simulate (error ~1e-9).
        assert np.max(np.abs(ours - theirs)) < 1e-7 * np.max(np.abs(theirs)), name
    # simulate's RK4 (4 substeps of 0.25 fs) is good to ~5e-8 here; ours is exact to rounding.
    np.testing.assert_allclose(np.asarray(exact.delta_k), np.asarray(sim.delta_k), rtol=0, atol=2e-7 * np.max(np.abs(np.asarray(sim.delta_k))))


@pytest.mark.slow  # compile-heavy: exact spinor scans and ensembles
def test_ensemble_exact_agrees_in_the_adiabatic_regime(ensemble):
    _, exact, _ = ensemble
    assert exact.notes == () and exact.substeps >= 2
    assert float(np.max(exact.adiabaticity)) < 1e-4
    obs = exact.observables
    # T = T1 + T2 holds for the sums too (exchange torque from S, T2 from the rates).
    t = np.asarray(obs["exchange_torque"]["exact"])
    np.testing.assert_allclose(t, np.asarray(obs["field_like_torque"]["exact"]) + np.asarray(obs["damping_torque"]["exact"]), atol=1e-14 * np.max(np.abs(t)))
    # J = 0.5 eV and a 10 fs sin^2 ramp with tau = 10 fs: the adiabatic series in epsilon ~ 1e-5 AND in
    # hbar/(Omega T) ~ 0.1 (the field and k' change on T ~ 10 fs). Each added order must help:
    err = exact.relative_error
    sc_rate, first_rate = err("damping_torque", "semiclassical"), err("damping_torque", "first_order")
    assert 0.03 < sc_rate < 0.3 and first_rate < 0.5 * sc_rate
    assert err("spin_density_change", "first_order") < 0.3 * err("spin_density_change", "semiclassical") < 0.03
    assert err("nonadiabatic_spin_density", "second_order") < 0.5 * err("nonadiabatic_spin_density", "first_order") < 0.1
    # T1 (~ shift) and, after the sea sum, the papers' T1 + T2 are within 1 %.
    assert err("field_like_torque", "semiclassical") < 5e-3
    assert err("exchange_torque", "semiclassical") < 1e-2


@pytest.mark.slow  # compile-heavy (~8 CPU-s cold)
def test_ensemble_sum_equals_loop_over_compare_spin_dynamics(general):
    k0, area = jaxsot.fermi_sea_nodes(general.model, 1.0, -1, num_phi=8, num_r=2)
    k0, area = np.asarray(k0)[:3], np.asarray(area)[:3]
    nodes = (k0, area, -np.ones(3))
    times = np.linspace(0.0, 12.0, 25)
    result = jaxsot.exact_simulate(general.model, 1.0, E_SMALL, times, nodes=nodes, substeps=2, chunk=2, block_steps=10)
    per_state = jaxsot.compare_spin_dynamics(general.model, k0, -1, E_SMALL, times, substeps=2)
    measure = area[:, None, None] / (2 * np.pi) ** 2
    for name, ours in (("damping_torque", "damping_torque"), ("nonadiabatic_spin_density", "nonadiabatic_spin")):
        for approx in ("exact", "first_order"):
            summed = np.sum(measure * np.asarray(per_state.observables[ours][approx]), axis=0)
            np.testing.assert_allclose(np.asarray(result.observables[name][approx]), summed, rtol=1e-11, atol=1e-22)


@pytest.mark.slow  # compile-heavy: exact spinor scans and ensembles
def test_float32_ensemble_keeps_its_precision(general, ensemble):
    drive, exact64, _ = ensemble
    model32 = general.model.astype(np.float32)
    # The same quadrature nodes (computed in float64, rounded to float32).
    nodes = [jaxsot.fermi_sea_nodes(general.model, 1.0, band, **ENSEMBLE) for band in (-1, 1)]
    nodes = tuple(
        np.concatenate(x).astype(np.float32)
        for x in ([n[0] for n in nodes], [n[1] for n in nodes], [np.full(n[1].shape, b) for n, b in zip(nodes, (-1, 1))])
    )
    exact32 = jaxsot.exact_simulate(
        model32, np.float32(1.0), drive, ENSEMBLE_TIMES.astype(np.float32), tau=10.0, nodes=nodes, substeps=exact64.substeps
    )
    assert exact32.observables["damping_torque"]["exact"].dtype == np.float32
    for name in ("damping_torque", "nonadiabatic_spin_density", "spin_density_change"):
        a = np.asarray(exact32.observables[name]["exact"], float)
        b = np.asarray(exact64.observables[name]["exact"])
        # Deviations sigma - sigma0 are carried, never formed from unit vectors: ~1e-4 relative in f32.
        assert np.max(np.abs(a - b)) < 2e-3 * np.max(np.abs(b)), name


# ------------------------------------------------------------------------------------------------
# Input checks.


def test_bad_inputs_raise_clear_errors(general, along_z):
    times = np.linspace(0.0, 1.0, 3)
    with pytest.raises(ValueError, match="band = 0"):
        jaxsot.exact_spin_trajectory(general.model, K_STATES, 0, E_SMALL, times)
    with pytest.raises(ValueError, match="times is not strictly increasing"):
        jaxsot.exact_spin_trajectory(general.model, K_STATES, -1, E_SMALL, times[::-1])
    with pytest.raises(ValueError, match="ramp_time"):
        jaxsot.exact_spin_trajectory(general.model, K_STATES, -1, jaxsot.StepDrive(E_SMALL), times, ramp_time=2.0)
    with pytest.raises(ValueError, match="substeps = 0"):
        jaxsot.exact_spin_trajectory(general.model, K_STATES, -1, E_SMALL, times, substeps=0)
    with pytest.raises(ValueError, match="tau"):
        jaxsot.exact_spin_trajectory(general.model, K_STATES, -1, E_SMALL, times, tau=-1.0)
    with pytest.raises(ValueError, match="efield has shape"):
        jaxsot.exact_spin_trajectory(general.model, K_STATES, -1, np.ones(3), times)
    with pytest.raises(ValueError, match="not along z"):
        jaxsot.circular_sea_torques(general.model, 1.0, E_SMALL)
    with pytest.raises(ValueError, match="below both bands"):
        jaxsot.circular_sea_torques(along_z.model, -5.0, E_SMALL)


def test_state_at_the_band_touching_point_warns(in_plane, ref):
    point = np.asarray(jaxsot.degeneracy_point(in_plane.model))
    assert np.linalg.norm(ref.exchange_field(in_plane, point)) < 1e-12
    with pytest.warns(RuntimeWarning, match="band touching"):
        spin = np.asarray(jaxsot.exact_spin_trajectory(in_plane.model, point, -1, E_SMALL, np.linspace(0.0, 1.0, 3)))
    # Never a silent garbage spin: nan, or (when Omega rounds to a tiny non-zero value) a unit vector.
    norms = np.linalg.norm(spin, axis=-1)
    assert np.all(np.isnan(norms)) or np.all(np.abs(norms - 1) < 1e-12)


# ------------------------------------------------------------------------------------------------
# The command line.

def test_fermi_point_is_on_the_contour(general, ref):
    for band, angle in ((-1, 0.3), (1, 2.0), (-1, -2.5)):
        k = jaxsot.fermi_point(general.model, ref.EF_BOTH, band, angle)
        np.testing.assert_allclose(np.linalg.norm(k), ref.fermi_radius(general, ref.EF_BOTH, band, angle), rtol=1e-13)
        np.testing.assert_allclose(math.atan2(k[1], k[0]), angle, atol=1e-14)


@pytest.mark.slow  # compile-heavy: exact spinor scans and ensembles
def test_exact_simulate_takes_the_mesh_route():
    # M || z: the band densities of the mesh nodes against the closed-form disks; the exact sea
    # response on the mesh nodes against the ray nodes' (two independent quadratures of one sum).
    model = jaxsot.RashbaFerromagnet(0.1, 0.05, [0.0, 0.0, 1.0])
    times = np.linspace(0.0, 4.0, 3)
    run = dict(substeps=2, semiclassical=False, block_steps=4)
    mesh = jaxsot.exact_simulate(model, 0.1, E_SMALL, times, route="mesh", **run)
    rays = jaxsot.exact_simulate(model, 0.1, E_SMALL, times, route="rays", num_phi=64, num_r=12, **run)
    closed = np.array(jaxsot.fit.circular_densities(0.1, 0.05, 1.0, 0.1, xp=np))
    np.testing.assert_allclose(np.asarray(mesh.band_densities), closed, rtol=1e-6)
    mesh_nodes = sum(jaxsot.fermi_sea_nodes(model, 0.1, s, route="mesh")[0].shape[0] for s in (-1, 1))
    assert mesh.num_states == mesh_nodes and rays.num_states == 2 * 64 * 12
    torque_mesh = np.asarray(mesh.observables["damping_torque"]["exact"])
    torque_rays = np.asarray(rays.observables["damping_torque"]["exact"])
    scale = np.max(np.abs(torque_rays))
    assert scale > 0 and np.max(np.abs(torque_mesh - torque_rays)) < 1e-4 * scale
    with pytest.raises(ValueError, match="route"):
        jaxsot.exact_simulate(model, 0.1, E_SMALL, times, route="polar", **run)

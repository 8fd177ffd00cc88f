"""Tests of `jaxsot.fit`: forward models against the library's independent routes, gradients against
finite differences, recovery of known synthetic truths within the reported standard errors,
identifiability flags, batched = looped restarts, CSV round trips (the CLI is tested in tests/cli).

References: an independent NumPy contour flux (brentq radii, closed-form spins: conftest.py) for the
exact torques; `contour_response` / `amr_ratio` / the strong-exchange closed forms (other library
routes), `jaxsot.simulate` (time integration), central finite differences, and the known parameters
of synthetic data.
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
import jaxsot.fit as jf
from jaxsot._ensemble._transport import contour_response

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}
EF_LOWER = 0.5  # only the lower band: AMR + torques identify alpha, J and tau (mass fixed)
STEADY = ("rho_ratio", "T_DL_x", "T_DL_y", "T_FL_z")
BOUNDS = {"alpha": (0.02, 0.1), "j_ex": (0.6, 2.0), "tau": (2.0, 50.0)}
GUESS = {"alpha": 0.04, "j_ex": 1.2, "tau": 8.0}
HBAR = 0.6582119569


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = jf.fit(*args, **kwargs)
    return result, caught


# ---------------------------------------------------------------------------------------------
# Forward models


@pytest.mark.parametrize("fermi_energy", [1.5, 0.5])
def test_forward_models_match_library_routes(fermi_energy, ref):
    theta, phi, efield = 1.0, 0.5, 1e-4
    model = jaxsot.RashbaFerromagnet.from_angles(TRUTH["alpha"], TRUTH["j_ex"], theta, phi)
    columns = jf.TORQUE_COLUMNS + ("rho_ratio",)
    curve = jf.Curve(columns, np.zeros((3, 7)), theta=[theta, theta, math.pi / 2], phi=[phi, phi, 0.3], efield=efield)
    exact = np.asarray(jf.predict(curve, TRUTH, fermi_energy))
    # Independent NumPy route (brentq contours, closed-form spins; conftest.contour_spin_flux):
    # T2 = -dS/dt with k' = qE/hbar, T1 = (2J/hbar) M x delta S with Delta k = k' tau.
    case = ref.make_case("fit", TRUTH["alpha"], TRUTH["j_ex"], ref.angles_to_vector(theta, phi))
    kdot = ref.CHARGE * np.array([efield, 0.0]) / ref.HBAR
    t2 = -ref.contour_spin_flux(case, fermi_energy, kdot)
    t1 = 2 * TRUTH["j_ex"] / ref.HBAR * np.cross(case.m, ref.contour_spin_flux(case, fermi_energy, kdot * TRUTH["tau"]))
    reference = np.concatenate([t2, t1])
    assert np.max(np.abs(exact[0, :6] - reference)) < 1e-11 * np.max(np.abs(reference))  # measured ~1e-15
    in_plane = jaxsot.RashbaFerromagnet.from_angles(0.05, 1.0, math.pi / 2, 0.3)
    assert abs(exact[2, 6] - float(jaxsot.amr_ratio(in_plane, fermi_energy, num=64))) < 1e-13
    assert exact[2, 6] - 1.0 > 0.01  # the AMR is there to be fitted
    # Strong exchange: the closed forms of SpinOrbitTorque(method="strong_exchange").
    closed = np.asarray(jf.predict(curve, TRUTH, fermi_energy, model="strong_exchange"))
    torque = jaxsot.SpinOrbitTorque(0.05, 1.0, fermi_energy, jnp.array([efield, 0.0]), 10.0, method="strong_exchange")
    response = jaxsot.electron_response(torque, model.magnetization)
    reference = np.concatenate([response["damping_like"], response["field_like"]])
    assert np.max(np.abs(closed[0, :6] - reference)) < 1e-12 * np.max(np.abs(reference))
    # ... and differ from the exact bands by O((alpha k_F/J)^2), not more.
    assert 1e-3 < np.max(np.abs(closed[0, :6] - exact[0, :6])) / np.max(np.abs(exact[0, :6])) < 0.15


@pytest.mark.slow  # the fit's flux program compiled beside the library's
def test_contour_fluxes_match_contour_response():
    model = jaxsot.RashbaFerromagnet.from_angles(0.08, 0.7, 0.7, 2.0, mass_ratio=0.6)
    shift, kdot = jnp.array([1e-3, -2e-3]), jnp.array([3e-4, 1e-4])
    flux, conductance, densities = jf.contour_fluxes(model, 1.2, (-1, 1), 64)
    reference = contour_response(model, 1.2, shift, kdot, (-1, 1), 64)
    assert np.allclose(flux @ shift, reference["spin_shift"], rtol=1e-12, atol=0)
    assert np.allclose(flux @ kdot, reference["spin_rate"], rtol=1e-12, atol=0)
    assert np.allclose(conductance, reference["conductivity_per_tau"], rtol=1e-12, atol=1e-15)
    assert np.allclose(densities, reference["densities"], rtol=1e-12)
    # The M || z closed-form densities of the strong-exchange model.
    along_z = jaxsot.RashbaFerromagnet(0.08, 0.7, [0.0, 0.0, 1.0], 0.6)
    _, _, exact_densities = jf.contour_fluxes(along_z, 1.2, (-1, 1), 64)
    assert np.allclose(jf.circular_densities(0.08, 0.7, 0.6, 1.2), exact_densities, rtol=1e-10)


def test_transient_forward_model_matches_simulate():
    """Step field at t = 0, constant tau: T2 e^(-t/tau) and T1 (1 - e^(-t/tau)) vs the time integration."""
    efield, times = 1e-5, np.linspace(0.0, 40.0, 41)  # small E: simulate is exact in E, the fit model first order
    model = jaxsot.RashbaFerromagnet.from_angles(0.05, 0.5, 1.0, 0.5)
    result = jaxsot.simulate(model, 1.0, jaxsot.StepDrive(jnp.array([efield, 0.0])), jnp.asarray(times), tau=10.0,
                             num_phi=32, num_r=8)
    curve = jf.Curve(jf.TORQUE_COLUMNS, np.zeros((41, 6)), theta=1.0, phi=0.5, efield=efield, time=times)
    predicted = np.asarray(jf.predict(curve, {**TRUTH, "j_ex": 0.5}, 1.0))
    for block, name in ((slice(0, 3), "damping_torque"), (slice(3, 6), "field_like_torque")):
        reference = np.asarray(result.observables[name]["exact"])
        assert np.max(np.abs(predicted[:, block] - reference)) < 1e-5 * np.max(np.abs(reference))
    assert np.max(np.abs(predicted[0, 3:])) == 0.0 and np.max(np.abs(predicted[0, :3])) > 0.0


def test_gradients_match_finite_differences():
    # Data away from the model (rho_ratio 1, torques 0) with sigmas that weigh every column alike.
    sigma = np.array([1e-3, 1e-6, 1e-6, 1e-5])
    steady = jf.Curve(STEADY, np.tile([1.0, 0.0, 0.0, 0.0], (6, 1)), phi=np.linspace(0.1, 3.0, 6), theta=1.2, efield=1e-4,
                      sigma=np.tile(sigma, (6, 1)))
    transient = jf.Curve(("T_DL_y", "T_FL_z"), np.zeros((5, 2)), phi=0.4, efield=1e-4, time=np.linspace(0, 30, 5),
                         sigma=np.tile([1e-6, 1e-5], (5, 1)))
    point = {"alpha": 0.06, "j_ex": 0.8, "mass_ratio": 0.9, "tau": 12.0}
    as_arrays = lambda p: {k: jnp.asarray(v) for k, v in p.items()}  # noqa: E731  (one compiled signature)
    for model in ("exact", "strong_exchange"):
        loss = jf.make_loss([steady, transient], 1.5, point, model=model)
        gradient = jax.grad(loss)(as_arrays(point))
        for name in jf.PARAMETERS:
            h = 1e-5 * point[name]
            up, down = dict(point), dict(point)
            up[name] += h
            down[name] -= h
            difference = (float(loss(as_arrays(up))) - float(loss(as_arrays(down)))) / (2 * h)
            assert abs(difference) > 1e-3 * float(loss(as_arrays(point))) / point[name], (model, name)  # not flat
            assert abs(float(gradient[name]) - difference) <= 1e-6 * abs(difference), (model, name)


# ---------------------------------------------------------------------------------------------
# Fits of synthetic data


@pytest.mark.slow  # a full fit compiled (optimizer and Jacobian)
def test_recovers_known_parameters_within_reported_uncertainty():
    """8 noise seeds x 3 parameters: z = (fit - truth)/SE must look standard normal."""
    z = []
    for seed in range(8):
        curve = jf.synthesize(TRUTH, EF_LOWER, columns=STEADY, num_points=48, noise=0.02, seed=100 + seed)
        result, _ = quiet_fit(curve, EF_LOWER, guess=GUESS, bounds=BOUNDS, restarts=2, seed=seed)
        assert result.free == ("alpha", "j_ex", "tau") and all(result.identifiable.values())
        assert result.restarts[result.best]["status"].startswith("converged")
        z += [(result.parameters[n] - TRUTH[n]) / result.standard_errors[n] for n in result.free]
        assert 0.6 < result.reduced_chi2 < 1.5
    z = np.asarray(z)
    assert np.max(np.abs(z)) < 3.5
    assert np.mean(np.abs(z) < 2.0) >= 0.8  # ~95 % expected
    assert 0.5 < np.sqrt(np.mean(z**2)) < 1.6  # SEs neither far too small nor far too large


@pytest.mark.slow  # a full fit compiled (optimizer and Jacobian)
def test_unknown_noise_is_estimated_from_the_residuals():
    known = jf.synthesize(TRUTH, EF_LOWER, columns=STEADY, num_points=48, noise=0.02, seed=7)
    unknown = jf.Curve(known.columns, known.values, phi=known.phi, theta=known.theta, efield=known.efield)
    with_sigma, _ = quiet_fit(known, EF_LOWER, guess=GUESS, bounds=BOUNDS, restarts=2)
    without, _ = quiet_fit(unknown, EF_LOWER, guess=GUESS, bounds=BOUNDS, restarts=2)
    assert not without.noise_known and without.stage2_trace is not None
    assert abs(without.reduced_chi2 - 1.0) < 0.02  # sigma estimated per column: chi^2/dof = 1 (before the refit moved)
    true_sigma = np.asarray(known.sigma)[0]
    estimated = np.array([without.noise[unknown.label][c] for c in STEADY])
    assert np.all(np.abs(estimated / true_sigma - 1.0) < 0.3)
    for name in with_sigma.free:
        assert abs(without.parameters[name] - with_sigma.parameters[name]) < 0.5 * with_sigma.standard_errors[name]
        assert 0.6 < without.standard_errors[name] / with_sigma.standard_errors[name] < 1.4


def test_amr_alone_flags_eta_and_reports_no_alpha_or_j():
    """One band, strong exchange: rho/rho0 = 1 + eta cos^2 depends on alpha and J only through eta."""
    curve = jf.synthesize(TRUTH, EF_LOWER, columns=("rho_ratio",), num_points=40, noise=0.01, seed=3, model="strong_exchange")
    result, caught = quiet_fit(curve, EF_LOWER, model="strong_exchange", restarts=3)
    assert result.free == ("alpha", "j_ex")  # tau does not enter the AMR
    flags = [w for w in caught if issubclass(w.category, jf.IdentifiabilityWarning)]
    assert len(flags) == 1 and "cannot separate alpha, j_ex" in str(flags[0].message)
    assert not any(result.identifiable.values())
    assert all(math.isinf(result.standard_errors[n]) for n in result.free)
    determined = [d for d in result.directions if d["determined"]]
    assert len(determined) == 1 and determined[0]["known"].startswith("eta")
    exponents = determined[0]["exponents"]
    assert abs(exponents["alpha"] / exponents["j_ex"] + 2.0) < 1e-6
    eta, eta_se = result.derived["eta"]
    true_eta = 5.6856301 * 0.05**2 / (HBAR**2 * 1.0)
    assert 0 < eta_se < 0.01 * eta and abs(eta - true_eta) < 4 * eta_se
    assert "not identif" in result.summary()
    assert max(map(len, result.summary().splitlines())) <= 100  # the CLI prints it on a terminal


@pytest.fixture(scope="module")
def closed_form_fit():
    """Strong-exchange data and its batched L-BFGS fit (2 restarts), shared by the next tests."""
    curve = jf.synthesize(TRUTH, EF_LOWER, columns=STEADY, num_points=30, noise=0.02, seed=11, model="strong_exchange")
    options = dict(model="strong_exchange", guess=GUESS, bounds=BOUNDS, restarts=2, seed=5)
    result, _ = quiet_fit(curve, EF_LOWER, batched=True, **options)
    return curve, options, result


@pytest.mark.slow  # a full fit compiled (optimizer and Jacobian)
def test_restarts_batched_equal_looped(closed_form_fit):
    curve, options, batched = closed_form_fit
    looped, _ = quiet_fit(curve, EF_LOWER, batched=False, **options)
    for a, b in zip(batched.restarts, looped.restarts):
        # The vmapped and the single program round differently (by the host's vector width), so a
        # stopping test within rounding of its threshold may fire one step apart (seen on an AMD EPYC
        # host: 20 vs 19 steps, "loss change" both, ends 2e-11 apart); the path and the end may not.
        assert a["start"] == b["start"] and abs(a["steps"] - b["steps"]) <= 1 and a["status"] == b["status"]
        for name in batched.free:
            assert abs(a["end"][name] - b["end"][name]) <= 1e-9 * abs(b["end"][name])
    common = min(min(a["steps"], b["steps"]) for a, b in zip(batched.restarts, looped.restarts))
    np.testing.assert_allclose(np.asarray(batched.trace)[:, :common], np.asarray(looped.trace)[:, :common], rtol=1e-9)
    # Different starts ended at one optimum.
    ends = np.array([[r["end"][n] for n in batched.free] for r in batched.restarts])
    assert np.ptp(ends[:, 0]) < 1e-6 * ends[0, 0] and batched.restarts[0]["start"] != batched.restarts[1]["start"]


@pytest.mark.slow  # a full fit compiled (optimizer and Jacobian)
def test_adam_reaches_the_lbfgs_optimum_and_bounds_hold(closed_form_fit):
    curve, options, lbfgs = closed_form_fit
    adam, _ = quiet_fit(curve, EF_LOWER, **{**options, "restarts": 1}, optimizer="adam", max_steps=1000, learning_rate=0.1)
    for name in lbfgs.free:
        assert abs(adam.parameters[name] - lbfgs.parameters[name]) < 0.1 * lbfgs.standard_errors[name]
    # Bounds that exclude the truth (traced: no recompilation): the fit stays inside and says so.
    narrow = {"alpha": (0.02, 0.045), "j_ex": (0.6, 2.0), "tau": (2.0, 50.0)}
    pinned, caught = quiet_fit(curve, EF_LOWER, **{**options, "bounds": narrow})
    assert 0.02 < pinned.parameters["alpha"] <= 0.045
    assert any("alpha" in str(w.message) and "upper bound" in str(w.message) for w in caught)


def test_bad_fit_inputs_are_refused():
    curve = jf.synthesize(TRUTH, EF_LOWER, columns=("rho_ratio",), num_points=5, noise=0.01, seed=0, model="strong_exchange")
    cases = [
        (dict(free=("alpha", "gamma")), "free"),
        (dict(guess={"beta": 1.0}), "beta"),
        (dict(bounds={"alpha": (0.06, 0.1)}), "do not contain the guess"),
        (dict(bounds={"tau": (1.0, 20.0)}, free=("alpha",)), "not a free parameter"),
        (dict(model="kubo"), "model"),
        (dict(restarts=0), "restarts"),
    ]
    for options, words in cases:
        with pytest.raises(ValueError, match=words):
            jf.fit(curve, EF_LOWER, **options)
    # 5 values, 4 free parameters: allowed when the noise is known. The fit runs, reports all four and
    # flags what the AMR alone cannot identify.
    allowed, caught = quiet_fit(curve, EF_LOWER, free=("alpha", "j_ex", "mass_ratio", "tau"), model="strong_exchange", restarts=1)
    assert allowed.free == ("alpha", "j_ex", "mass_ratio", "tau")
    assert all(math.isfinite(allowed.parameters[n]) for n in allowed.free)
    assert any(issubclass(w.category, jf.IdentifiabilityWarning) for w in caught)
    unknown = jf.Curve("rho_ratio", curve.values[:3], phi=curve.phi[:3])
    with pytest.raises(ValueError, match="at least 4"):
        jf.fit(unknown, EF_LOWER, free=("alpha", "j_ex", "tau"))
    with pytest.raises(ValueError, match="one band regime"):
        jf.fit(curve, EF_LOWER, bounds={"j_ex": (0.3, 2.0)})  # J < E_F occupies the upper band
    with pytest.raises(ValueError, match="at least 3"):
        jf.Curve("rho_ratio", [1.0, 1.01], phi=[0.0, 1.0])
    with pytest.raises(ValueError, match="efield"):
        jf.Curve("T_DL_y", [1.0, 1.01, 1.0], phi=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="column 'T_XY' is not allowed"):
        jf.Curve("T_XY", [1.0, 1.01, 1.0], phi=[0.0, 1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# Files and the command line


def test_csv_round_trip_in_si_units(tmp_path):
    curve = jf.synthesize(TRUTH, EF_LOWER, columns=STEADY, num_points=12, noise=0.01, seed=1, model="strong_exchange")
    path = tmp_path / "data.csv"
    jf.write_csv(path, curve, units="si", settings={"fermi_energy": EF_LOWER})
    header = path.read_text().splitlines()[1]
    assert "T_DL_x [1/(m^2 s)]" in header and "E [V/m]" in header
    back, settings = jf.read_csv(path)
    assert settings == {"fermi_energy": EF_LOWER}
    assert back.columns == curve.columns and back.sigma_known
    np.testing.assert_allclose(back.values, curve.values, rtol=1e-9)
    np.testing.assert_allclose(back.sigma, curve.sigma, rtol=1e-9)
    np.testing.assert_allclose(back.efield, curve.efield, rtol=1e-12)
    np.testing.assert_allclose(back.phi, curve.phi, rtol=1e-9, atol=1e-12)
    # 1/(m^2 s) = 1e-33 /(nm^2 fs): the file holds values of order 1e28.
    first = path.read_text().splitlines()[2].split(",")
    assert 1e20 < abs(float(first[header.split(",").index("T_FL_z [1/(m^2 s)]")])) < 1e32

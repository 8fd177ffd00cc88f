"""Harmonic Hall signals of non-Rashba models: `jaxsot.harmonic_hall` and `lockin_harmonics` with a `ModelTorque`.

References, NumPy/SciPy only (tests/model_reference.py): the current-induced fields of the sea from its spin
response (NumPy eigh spins, Gauss-Legendre area integral, finite-difference k derivatives), the quasi-static
macrospin equilibrium by scipy minimize + root in spherical angles, and the Hall readout and lock-in
harmonics written out in NumPy (`harmonic_hall_first_order`: R_2w from the equilibria at +-step of the
current). The time-domain lock-in route (LLG under j0 sin wt, diffrax, demodulated over whole periods, no
equilibrium solved) checks the every-order quasi-static route; the Rashba ferromagnet as a ModelTorque
checks the general route against the Rashba parameter route.
"""

import importlib.util
import math
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot

# Slow tier: Hall signals of other models (compile-heavy).
pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("model_reference", pathlib.Path(__file__).parents[1] / "model_reference.py")
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)

RHO0, CURRENT, TAU = 2.0e-7, 1.0e11, 10.0
EFIELD = np.array([RHO0 * CURRENT * 1e-9, 0.0])  # V/nm along +x
HALL = dict(r_ahe=1.0, r_phe=0.3, r_ane=0.002, oersted_field=1e-4, r_ohe=0.01)

CASES = {
    # TI surface with a k^2 term (c > 0), both bands; in-plane magnet with its easy axis along the current.
    "ti-surface": (
        _reference.ti_hamiltonian,
        {"hbar_v": 0.3, "j_ex": 0.1, "kinetic": 0.05},
        0.3,
        lambda p: jaxsot.TISurfaceFerromagnet(p["hbar_v"], p["j_ex"], [0.0, 0.0, 1.0], kinetic=p["kinetic"]),
        dict(anisotropy_field=0.05, easy_axis=(1.0, 0.0, 0.0), demag=(0.0, 0.0, 1.0)),
        ([0.8, 2.6], [0.1, 0.15], [math.pi / 2, 1.3]),
    ),
    # Square lattice at low filling (k_F a ~ 0.8: star-shaped seas); perpendicular magnet, oblique fields.
    "square-lattice": (
        _reference.lattice_hamiltonian,
        {"t": 1.0, "a": 0.4, "lam": 0.1, "j_ex": 0.3},
        0.45,
        lambda p: jaxsot.SquareLatticeRashbaFerromagnet(p["t"], p["a"], p["lam"], p["j_ex"], [0.0, 0.0, 1.0]),
        dict(anisotropy_field=1.5, easy_axis=(0.0, 0.0, 1.0), demag=(0.0, 0.0, 1.0)),
        ([0.5, 2.0], [0.2, 0.3], [1.4, 1.2]),
    ),
}


def _torque(name, num=64, **options):
    _, p, fermi_energy, build, _, _ = CASES[name]
    return jaxsot.ModelTorque(build(p), fermi_energy, jnp.asarray(EFIELD), TAU, num=num, **options)


def _magnet(name):
    return jaxsot.Magnet(1.0, 1.0, 1.0, **CASES[name][4])


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_order_signals_match_a_numpy_scipy_macrospin(name):
    h_of_m, p, fermi_energy, _, magnet_options, (phi, field, theta) = CASES[name]
    got = jaxsot.harmonic_hall(_magnet(name), _torque(name), RHO0, np.asarray(phi), np.asarray(field),
                               theta_h=np.asarray(theta), **HALL)
    assert bool(np.all(np.asarray(got.converged)))
    magnet = {**magnet_options, "ms_tesla": 1.0}
    u = np.asarray(magnet["easy_axis"])
    y = np.array([0.0, 1.0, 0.0])
    for i in range(len(phi)):
        b_ext = field[i] * np.array([math.sin(theta[i]) * math.cos(phi[i]), math.sin(theta[i]) * math.sin(phi[i]), math.cos(theta[i])])
        start = b_ext / np.linalg.norm(b_ext) + 0.1 * u

        def b_so(m):
            b_fl, b_dl = _reference.current_fields(h_of_m, p, fermi_energy, m, EFIELD, TAU, 1.0, 1.0)
            return b_fl + b_dl + HALL["oersted_field"] * y

        r_1w, r_2w, m0 = _reference.harmonic_hall_first_order(
            b_ext, magnet, b_so, HALL["r_ahe"], HALL["r_phe"], HALL["r_ane"], HALL["r_ohe"], start)
        np.testing.assert_allclose(np.asarray(got.m_eq[i]), m0, rtol=0, atol=1e-10)
        b_fl, b_dl = _reference.current_fields(h_of_m, p, fermi_energy, m0, EFIELD, TAU, 1.0, 1.0)
        scale = max(np.abs(b_fl).max(), np.abs(b_dl).max())
        np.testing.assert_allclose(np.asarray(got.b_fl[i]), b_fl, rtol=0, atol=1e-6 * scale)
        np.testing.assert_allclose(np.asarray(got.b_dl[i]), b_dl, rtol=0, atol=1e-6 * scale)
        assert float(got.r_1w[i]) == pytest.approx(r_1w, rel=0, abs=1e-10)
        assert float(got.r_2w[i]) == pytest.approx(r_2w, rel=1e-6)
        # The torques carry the signal: R_2w is not the thermal term alone.
        assert abs(r_2w - HALL["r_ane"] * m0[0]) > 1e-3 * abs(r_2w) and scale > 1e-5


def test_every_order_route_matches_the_time_domain_lockin():
    name = "ti-surface"
    phi, field, theta = (np.asarray(x) for x in CASES[name][5])
    magnet, torque = _magnet(name), _torque(name, num=32)
    every = jaxsot.harmonic_hall(magnet, torque, RHO0, phi, field, theta_h=theta, phases=16, **HALL)
    first = jaxsot.harmonic_hall(magnet, torque, RHO0, phi, field, theta_h=theta, **HALL)
    lock = jaxsot.lockin_harmonics(magnet, torque, phi, field, theta_h=theta, frequency=1.5e7, periods=1,
                                   settle_periods=1, samples_per_period=32, **HALL)
    assert bool(np.all(np.asarray(lock.success))) and bool(np.all(np.asarray(every.converged)))
    np.testing.assert_allclose(np.asarray(lock.m_start), np.asarray(first.m_eq), rtol=0, atol=1e-12)
    r_2w = np.asarray(every.r_2w)
    np.testing.assert_allclose(np.asarray(lock.r_2w), r_2w, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(lock.r_1w), np.asarray(every.r_1w), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(lock.r_3w), np.asarray(every.r_3w), rtol=0, atol=1e-3 * np.abs(r_2w).min())
    # The lock-in's lag is O(w tau_r) in the quadratures; the first order misses O((B_SO/B_eff)^2) relative.
    assert np.all(np.abs(np.asarray(lock.r_2w_quadrature)) < 0.05 * np.abs(r_2w))
    np.testing.assert_allclose(np.asarray(first.r_2w), r_2w, rtol=1e-3)


def test_rashba_model_torque_equals_the_rashba_parameter_route_and_dtype_follows_the_torque():
    rashba = jaxsot.RashbaFerromagnet(0.03, 0.8, [0.0, 0.0, 1.0], 0.9)
    magnet = jaxsot.Magnet(1.0, 1.2, 0.1, anisotropy_field=1.5)
    phi, field, theta = np.array([0.3, 2.0]), np.array([0.2, 0.3]), np.array([1.4, 1.1])
    general = jaxsot.harmonic_hall(magnet, jaxsot.ModelTorque(rashba, 1.2, jnp.asarray(EFIELD), TAU, num=32), RHO0, phi,
                                   field, theta_h=theta, **HALL)
    specific = jaxsot.harmonic_hall(
        magnet, jaxsot.SpinOrbitTorque(0.03, 0.8, 1.2, jnp.asarray(EFIELD), TAU, mass_ratio=0.9, method="exact", num=32),
        RHO0, phi, field, theta_h=theta, **HALL)
    for key in ("r_1w", "r_2w", "b_fl", "b_dl", "dm"):
        a, b = np.asarray(getattr(general, key)), np.asarray(getattr(specific, key))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * np.abs(b).max(), err_msg=key)
    single = jaxsot.ModelTorque(rashba.astype(jnp.float32), jnp.float32(1.2), jnp.asarray(EFIELD, jnp.float32),
                                jnp.float32(TAU), num=32)
    low = jaxsot.harmonic_hall(magnet, single, RHO0, phi, field, theta_h=theta, **HALL)
    assert low.r_2w.dtype == jnp.float32 and low.m_eq.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(low.r_2w), np.asarray(specific.r_2w), rtol=1e-3)


def test_model_torque_errors_name_the_problem():
    name = "ti-surface"
    magnet, torque = _magnet(name), _torque(name, num=16)
    with pytest.raises(ValueError, match="closed forms of the Rashba ferromagnet"):
        jaxsot.harmonic_hall(magnet, torque, RHO0, 0.0, 0.1, r_ahe=1.0, method="strong_exchange")
    with pytest.raises(ValueError, match="phases = 6"):
        jaxsot.harmonic_hall(magnet, torque, RHO0, 0.0, 0.1, r_ahe=1.0, phases=6)
    with pytest.raises(ValueError, match="r_phe"):
        jaxsot.harmonic_hall(magnet, torque, RHO0, 0.0, 0.1, r_ahe=1.0, r_phe=float("nan"))
    with pytest.raises(ValueError, match="torque is a dict"):
        jaxsot.harmonic_hall(magnet, {}, RHO0, 0.0, 0.1, r_ahe=1.0)
    with pytest.raises(ValueError, match="torque is a dict"):
        jaxsot.lockin_harmonics(magnet, {}, 0.0, 0.1, r_ahe=1.0, frequency=1e7)
    sideways = jaxsot.ModelTorque(CASES[name][3](CASES[name][1]), 0.3, jnp.asarray([0.0, 2e-5]), TAU, num=16)
    with pytest.raises(ValueError, match="efield"):
        jaxsot.harmonic_hall(magnet, sideways, RHO0, 0.0, 0.1, r_ahe=1.0)


def test_jit_vmap_and_gradients_in_the_model_parameters():
    """jax.jit and jax.vmap of harmonic_hall with captured and traced torques; jax.grad in the magnet's, the
    torque's and the model's own parameters (tau, B_K, hbar_v) against central finite differences."""
    import equinox as eqx
    import jax

    name = "ti-surface"
    torque, magnet = _torque(name, num=16), _magnet(name)
    phi, field, theta = (np.asarray(x) for x in CASES[name][5])

    def r_2w(tau, anisotropy_field, hbar_v):
        t = eqx.tree_at(lambda t: (t.tau, t.model.hbar_v), torque, (tau, hbar_v))
        m = eqx.tree_at(lambda m: m.anisotropy_field, magnet, anisotropy_field)
        return jaxsot.harmonic_hall(m, t, RHO0, phi, field, theta_h=theta, **HALL).r_2w

    point = (jnp.asarray(TAU), jnp.asarray(0.05), jnp.asarray(0.3))
    eager = np.asarray(r_2w(*point))
    np.testing.assert_allclose(np.asarray(jax.jit(r_2w)(*point)), eager, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda: r_2w(*point))()), eager, rtol=1e-12)
    batch = jax.vmap(r_2w)(*(jnp.stack([x, 1.1 * x]) for x in point))
    np.testing.assert_allclose(np.asarray(batch[0]), eager, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(batch[1]), np.asarray(r_2w(*(1.1 * x for x in point))), rtol=1e-12)
    grads = jax.grad(lambda *a: jnp.sum(r_2w(*a)), argnums=(0, 1, 2))(*point)
    for i, step in enumerate((1e-3, 1e-6, 1e-5)):
        up = [x + step * (i == k) for k, x in enumerate(point)]
        down = [x - step * (i == k) for k, x in enumerate(point)]
        fd = float(jnp.sum(r_2w(*up)) - jnp.sum(r_2w(*down))) / (2 * step)
        assert abs(fd) > 0 and float(grads[i]) == pytest.approx(fd, rel=1e-6)

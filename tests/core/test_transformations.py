"""Every public function under jax.jit, jax.grad and jax.vmap, with captured concrete arrays and traced ones.

Each case is a function f(x) of one argument (the others are captured from the enclosing scope, as
concrete JAX arrays). It is evaluated four more ways and compared with the eager value f(x):
jit of a function that captures x too (every input concrete inside a trace), jit with x traced,
vmap over two values of x (against two eager calls), and the gradient of a scalar of f against
central finite differences of eager calls (an independent route). A check that needs values must
run on the captured concrete inputs while tracing and as a run-time check on traced ones: invalid
input raises under jit, with the message of the eager call.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot

# Slow tier: ~1300 compilations (eager vmap/grad of every public function); the fast tier keeps the eager references in core/test_model.py.
pytestmark = pytest.mark.slow

MODEL = jaxsot.RashbaFerromagnet(0.05, 1.0, jnp.array([0.6, 0.0, 0.8]))
K = jnp.array([[0.5, 0.1], [0.2, -0.3], [-0.4, 0.25]])  # 1/nm
E = jnp.array([1e-4, 5e-5])  # V/nm
EF = jnp.asarray(0.5)  # eV, lower band only
EF_BOTH = jnp.asarray(1.5)  # eV, both bands
TIMES = jnp.linspace(0.0, 8.0, 5)  # fs
MAGNET = jaxsot.Magnet(1.0, 1.0, 0.01)
TORQUE = jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, jnp.array([1e-4, 0.0]), 10.0, method="strong_exchange")


class TwoBandTest(jaxsot.TwoBandModel):
    """A non-Rashba test model: H = c k^2 + beta (kx sigma_x - ky sigma_y) - J sigma_z (Dresselhaus-like)."""

    beta: float = 0.04
    j_ex: float = 0.8

    def kinetic_energy(self, kx, ky):
        return 0.038 * (kx * kx + ky * ky)

    def field(self, kx, ky):
        return self.beta * kx, -self.beta * ky, -self.j_ex + 0.0 * kx

    def spin_orbit_field(self, kx, ky):
        return self.beta * kx, -self.beta * ky, 0.0

    @property
    def mass(self):
        return 5.6856301


CUSTOM = TwoBandTest()


def _sum(tree):
    return sum(jnp.sum(leaf) for leaf in jax.tree_util.tree_leaves(tree))


# name -> (f, x, other x for vmap, finite-difference step or None: no gradient case)
CASES = {
    "band_energy": (lambda k: jaxsot.band_energy(MODEL, k, -1), K, K * 0.9, 1e-6),
    "spin_splitting": (lambda k: jaxsot.spin_splitting(MODEL, k), K, K * 0.9, 1e-6),
    "band_spin": (lambda k: jaxsot.band_spin(MODEL, k, 1), K, K * 0.9, 1e-6),
    "band_velocity": (lambda k: jaxsot.band_velocity(MODEL, k, -1), K, K * 0.9, 1e-6),
    "field_like_torque": (lambda k: jaxsot.field_like_torque(MODEL, k, -1), K, K * 0.9, 1e-6),
    "spin_force (k traced)": (lambda k: jaxsot.spin_force(MODEL, k, -1, E), K, K * 0.9, 1e-6),
    "spin_force (E traced)": (lambda e: jaxsot.spin_force(MODEL, K, -1, e), E, E * 2.0, 1e-9),
    "spin_force_second_order": (lambda k: jaxsot.spin_force_second_order(MODEL, k, 1, E), K, K * 0.9, 1e-6),
    "damping_torque": (lambda k: jaxsot.damping_torque(MODEL, k, -1, E), K, K * 0.9, 1e-6),
    "damping_torque_second_order": (lambda k: jaxsot.damping_torque_second_order(MODEL, k, -1, E), K, K * 0.9, 1e-6),
    "spin_force_strong_exchange": (lambda e: jaxsot.spin_force_strong_exchange(MODEL, e), E, E * 2.0, 1e-9),
    "damping_torque_strong_exchange": (lambda e: jaxsot.damping_torque_strong_exchange(MODEL, e), E, E * 2.0, 1e-9),
    "damping_torque_from_spin_force": (lambda f: jaxsot.damping_torque_from_spin_force(MODEL, f), E, E * 2.0, 1e-9),
    "custom model: spin_force": (lambda k: jaxsot.spin_force(CUSTOM, k, -1, E), K, K * 0.9, 1e-6),
    "model under vmap: band_energy": (
        lambda a: jaxsot.band_energy(jaxsot.RashbaFerromagnet(a, 1.0, jnp.array([1.0, 0.0, 0.0])), K, -1),
        jnp.asarray(0.05), jnp.asarray(0.07), 1e-7,
    ),
    "ensemble_spin_force (E traced)": (lambda e: jaxsot.ensemble_spin_force(MODEL, EF, e, 64, bands=(-1,)), E, E * 2.0, 1e-9),
    "ensemble_damping_torque (E_F traced)": (
        lambda ef: jaxsot.ensemble_damping_torque(MODEL, ef, E, 64, bands=(-1,)), EF, EF + 0.1, 1e-6,
    ),
    "conductivity (tau traced)": (lambda tau: jaxsot.conductivity(MODEL, EF, tau, 64, bands=(-1,)), jnp.asarray(10.0), jnp.asarray(20.0), 1e-4),
    "joule_heating (E traced)": (lambda e: jaxsot.joule_heating(MODEL, EF, e, 10.0, 64, bands=(-1,)), E, E * 2.0, 1e-9),
    "amr_ratio (E_F traced)": (lambda ef: jaxsot.amr_ratio(MODEL, ef, num=64, bands=(-1,)), EF, EF + 0.1, 1e-6),
    "fermi_contour (E_F traced)": (lambda ef: jaxsot.fermi_contour(MODEL, ef, -1, 32), EF, EF + 0.1, 1e-6),
    "electron_density (E_F traced)": (lambda ef: jaxsot.electron_density(MODEL, ef, -1, 32), EF, EF + 0.1, 1e-6),
    "fermi_dirac (energy traced)": (lambda x: jaxsot.fermi_dirac(x, 0.5, 300.0), jnp.asarray(0.49), jnp.asarray(0.52), 1e-6),
    "simulate (E_F traced, times captured)": (
        lambda ef: jaxsot.simulate(MODEL, ef, jaxsot.StepDrive(E), TIMES, tau=5.0, num_phi=8, num_r=2, bands=(-1, 1))
        .observables["spin_force_density"]["exact"],
        EF_BOTH, EF_BOTH + 0.1, 1e-6,
    ),
    "simulate (tau traced)": (
        lambda tau: jaxsot.simulate(MODEL, EF_BOTH, jaxsot.StepDrive(E), TIMES, tau=tau, num_phi=8, num_r=2, bands=(-1, 1))
        .observables["field_like_torque"]["exact"],
        jnp.asarray(5.0), jnp.asarray(7.0), 1e-4,
    ),
    "effective_fields (m traced)": (
        lambda m: jaxsot.effective_fields(MAGNET, TORQUE, m, 2e-7, methods=("strong_exchange",)).strong_exchange.damping_like,
        jnp.array([0.6, 0.0, 0.8]), jnp.array([0.0, 0.6, 0.8]), 1e-7,
    ),
    "effective_fields (rho0 traced)": (
        lambda rho0: jaxsot.effective_fields(MAGNET, TORQUE, jnp.array([0.6, 0.0, 0.8]), rho0, methods=("strong_exchange",))
        .strong_exchange.damping_like_per_current,
        jnp.asarray(2e-7), jnp.asarray(3e-7), 1e-13,
    ),
    "sot_efficiency (b traced)": (lambda b: jaxsot.sot_efficiency(b, 1.0, 1.0), jnp.asarray(1e-12), jnp.asarray(2e-12), None),
    "drude_tau (rho0 traced)": (lambda rho0: jaxsot.drude_tau(0.05, 1.0, 1.5, 1.0, rho0), jnp.asarray(2e-7), jnp.asarray(3e-7), 1e-13),
}


def _close(actual, expected):
    for a, b in zip(jax.tree_util.tree_leaves(actual), jax.tree_util.tree_leaves(expected)):
        b = np.asarray(b)
        scale = float(np.max(np.abs(b))) if b.size else 0.0  # components that cancel to ~0 agree to rounding of the largest
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-9, atol=1e-12 * scale + 1e-300)


@pytest.fixture(scope="module")
def eager():
    return {}


@pytest.mark.parametrize("name", sorted(CASES))
def test_jit_with_captured_and_traced_arguments_equals_eager(name, eager):
    f, x, _, _ = CASES[name]
    expected = f(x)
    _close(jax.jit(lambda: f(x))(), expected)  # every input concrete, captured by the traced function
    _close(jax.jit(f)(x), expected)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_equals_eager_calls(name):
    f, x, other, _ = CASES[name]
    batched = jax.vmap(f)(jnp.stack([x, other]))
    for i, value in enumerate((x, other)):
        _close(jax.tree_util.tree_map(lambda leaf: leaf[i], batched), f(value))


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][3] is not None))
def test_grad_equals_finite_differences(name):
    f, x, _, step = CASES[name]
    scale = 1.0 + 0.1 * jnp.arange(x.size, dtype=x.dtype).reshape(x.shape)  # a direction that mixes the entries

    def scalar(t):
        return _sum(f(x + t * scale * step))

    derivative = jax.grad(scalar)(0.0)
    reference = (scalar(1.0) - scalar(-1.0)) / 2.0
    np.testing.assert_allclose(float(derivative), float(reference), rtol=2e-5, atol=1e-12 * abs(float(scalar(0.0))) + 1e-300)


# Invalid input: refused eagerly with a ValueError, while tracing when the bad value is captured
# (ValueError), and at run time under jit when it is traced (the same message).
INVALID = {
    "k NaN": (lambda k: jaxsot.spin_force(MODEL, k, -1, E), jnp.array([[jnp.nan, 0.1]]), "k"),
    "k beyond the overflow limit": (lambda k: jaxsot.band_energy(MODEL, k, -1), jnp.array([1e160, 0.0]), "k"),
    "E NaN": (lambda e: jaxsot.damping_torque(MODEL, K, -1, e), jnp.array([jnp.nan, 0.0]), "efield"),
    "E_F NaN (fermi_contour)": (lambda ef: jaxsot.fermi_contour(MODEL, ef, -1, 32), jnp.asarray(jnp.nan), "fermi_energy"),
    "E_F NaN (ensemble)": (lambda ef: jaxsot.ensemble_spin_force(MODEL, ef, E, 64, bands=(-1,)), jnp.asarray(jnp.nan), "fermi_energy"),
    "E_F NaN (simulate)": (
        lambda ef: jaxsot.simulate(MODEL, ef, jaxsot.StepDrive(E), TIMES, num_phi=8, num_r=2, bands=(-1,)).min_splitting,
        jnp.asarray(jnp.nan), "fermi_energy",
    ),
    "tau < 0 (conductivity)": (lambda tau: jaxsot.conductivity(MODEL, EF, tau, 64, bands=(-1,)), jnp.asarray(-1.0), "tau"),
    "times not increasing": (
        lambda t: jaxsot.simulate(MODEL, EF, jaxsot.StepDrive(E), t, num_phi=8, num_r=2, bands=(-1,)).min_splitting,
        jnp.array([0.0, 2.0, 1.0]), "times",
    ),
    "m = 0": (
        lambda m: jaxsot.effective_fields(MAGNET, TORQUE, m, 2e-7, methods=("strong_exchange",)).strong_exchange.damping_like,
        jnp.zeros(3), "m",
    ),
    "rho0 = 0 (drude_tau)": (lambda rho0: jaxsot.drude_tau(0.05, 1.0, 1.5, 1.0, rho0), jnp.asarray(0.0), "rho0"),
    "ms = 0 (sot_efficiency)": (lambda ms: jaxsot.sot_efficiency(1e-12, ms, 1.0), jnp.asarray(0.0), "ms_tesla"),
    "J = 0 (strong exchange)": (
        lambda j: jaxsot.spin_force_strong_exchange(jaxsot.RashbaFerromagnet(0.05, j, jnp.array([1.0, 0.0, 0.0])), E),
        jnp.asarray(0.0), "j_ex",
    ),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_input_raises_eagerly_captured_and_traced(name):
    f, bad, word = INVALID[name]
    with pytest.raises(ValueError, match=word) as eager_error:
        f(bad)
    with pytest.raises(ValueError, match=word):
        jax.jit(lambda: f(bad))()
    with pytest.raises(Exception, match=word) as traced_error:
        jax.block_until_ready(jax.jit(f)(bad))
    assert not isinstance(traced_error.value, (TypeError, jax.errors.TracerBoolConversionError))
    assert re.split(r"[\[ =]", str(eager_error.value))[0] in str(traced_error.value)  # the same parameter named


def test_nan_drive_raises_under_jit_and_eagerly():
    def drive(t):
        return jnp.array([jnp.nan, 0.0]) * t

    with pytest.raises(ValueError, match=r"drive\(t\) returned \[nan, 0.0\] V/nm at t = 0 fs"):
        jaxsot.simulate(MODEL, EF, drive, TIMES, num_phi=8, num_r=2)
    with pytest.raises(Exception, match=r"drive\(t\) returned a non-finite field"):
        jax.block_until_ready(
            jax.jit(lambda ef: jaxsot.simulate(MODEL, ef, drive, TIMES, num_phi=8, num_r=2, bands=(-1,)).min_splitting)(EF)
        )


# Every input concrete (captured, or a model built from constants inside the traced function): the
# occupied bands are found as in an eager call, so `bands` is not needed under jit.
CONCRETE_ONLY = {
    "ensemble_spin_force": lambda: jaxsot.ensemble_spin_force(MODEL, EF, E, 64),
    "conductivity": lambda: jaxsot.conductivity(MODEL, EF_BOTH, 10.0, 64),
    "band_polarization": lambda: jaxsot.band_polarization(MODEL, EF_BOTH, 64),
    "amr_ratio": lambda: jaxsot.amr_ratio(MODEL, EF, num=64),
    "amr_strong_exchange": lambda: jaxsot.amr_strong_exchange(MODEL, EF, num=64),
    "model built inside": lambda: jaxsot.ensemble_damping_torque(jaxsot.RashbaFerromagnet(0.05, 1.0, [0.0, 0.6, 0.8]), 0.5, E, 64),
}


@pytest.mark.parametrize("name", sorted(CONCRETE_ONLY))
def test_concrete_inputs_under_jit_need_no_bands(name):
    f = CONCRETE_ONLY[name]
    _close(jax.jit(f)(), f())


def test_circular_sea_torques_with_captured_inputs_under_jit_vmap_grad():
    # A host closed form: captured concrete inputs give the eager constant under every transformation;
    # traced inputs are refused with a message naming what is allowed.
    model = jaxsot.RashbaFerromagnet(0.1, 0.05, [0.0, 0.0, 1.0])
    efield = jnp.array([1e-3, 0.0])
    eager = np.asarray(jaxsot.circular_sea_torques(model, 0.1, efield)["damping_torque"])
    assert np.max(np.abs(eager)) > 0

    def scaled(x):
        return jaxsot.circular_sea_torques(model, 0.1, efield)["damping_torque"] * x

    _close(jax.jit(scaled)(2.0), 2.0 * eager)
    _close(jax.vmap(scaled)(jnp.array([1.0, 3.0])), np.stack([eager, 3.0 * eager]))
    _close(jax.grad(lambda x: scaled(x)[1])(2.0), eager[1])
    with pytest.raises(ValueError, match="circular_sea_torques got traced inputs"):
        jax.jit(lambda ef: jaxsot.circular_sea_torques(model, ef, efield)["damping_torque"])(0.1)


def test_touching_report_and_point_with_a_captured_model_under_jit():
    # In-plane M = x: the bands touch at k* = (J/alpha)(z x M) = (0, 10) /nm, inside the sea at E_F = 4.5 eV.
    model = jaxsot.RashbaFerromagnet(0.05, 0.5, jnp.array([1.0, 0.0, 0.0]))
    fermi_energy = jnp.asarray(4.5)
    seen = {}

    def uses_both(x):
        seen["report"] = jaxsot.band_touching_report(model, fermi_energy)
        return x + jaxsot.degeneracy_point(model)[1]

    assert float(jax.jit(uses_both)(1.0)) == pytest.approx(11.0, rel=1e-12)
    assert seen["report"] == jaxsot.band_touching_report(model, fermi_energy)
    assert "inside the Fermi sea" in seen["report"]

"""RashbaFerromagnet: validation, normalization, from_angles, pytree behaviour under jit/grad/vmap."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import RashbaFerromagnet


def test_constants_match_contract(ref):
    # CODATA 2018: hbar = 0.6582119569 eV fs, hbar^2/2m_e = 0.0380998212 eV nm^2, m_e = 5.6856301 eV fs^2/nm^2.
    assert jaxsot.constants.HBAR == 0.6582119569
    assert jaxsot.constants.HBAR2_OVER_2ME == 0.0380998212
    assert jaxsot.constants.ELECTRON_MASS == pytest.approx(5.6856301, rel=1e-8)
    assert jaxsot.constants.CARRIER_CHARGE == -1.0
    model = RashbaFerromagnet(0.05, 0.5, [0.0, 0.0, 1.0], 0.3)
    assert float(model.mass) == pytest.approx(0.3 * 5.6856301, rel=1e-8)
    assert float(model.kinetic_coefficient) == pytest.approx(0.0380998212 / 0.3, rel=1e-14)
    # eta = m alpha^2 / (hbar^2 J)
    assert float(model.eta) == pytest.approx(0.3 * ref.ELECTRON_MASS * 0.05**2 / (ref.HBAR**2 * 0.5), rel=1e-14)


GOOD = dict(alpha=0.05, j_ex=0.5, magnetization=[0.0, 0.0, 1.0], mass_ratio=1.0)


@pytest.mark.parametrize(
    "bad, name",
    [
        (dict(alpha=float("nan")), "alpha"),
        (dict(alpha=float("inf")), "alpha"),
        (dict(alpha=-float("inf")), "alpha"),
        (dict(j_ex=-0.1), "j_ex"),
        (dict(j_ex=float("nan")), "j_ex"),
        (dict(mass_ratio=0.0), "mass_ratio"),
        (dict(mass_ratio=-1.0), "mass_ratio"),
        (dict(mass_ratio=float("inf")), "mass_ratio"),
        (dict(magnetization=[0.0, 0.0, 0.0]), "magnetization"),
        (dict(magnetization=[1.0, 0.0]), "magnetization"),
        (dict(magnetization=[[1.0, 0.0, 0.0]]), "magnetization"),
        (dict(magnetization=[float("nan"), 0.0, 1.0]), "magnetization"),
        (dict(magnetization=[0.0, float("inf"), 1.0]), "magnetization"),
    ],
)
def test_invalid_parameters_raise_naming_the_parameter(bad, name):
    kwargs = dict(GOOD, **bad)
    with pytest.raises(ValueError) as info:
        RashbaFerromagnet(**kwargs)
    assert name in str(info.value)


@pytest.mark.parametrize("mass_ratio", [9.9e-4, 100.5, 1e6])
def test_mass_ratio_outside_its_range_is_refused_eagerly_and_traced(mass_ratio):
    from jaxsot._core._model import MASS_RATIO_RANGE

    assert MASS_RATIO_RANGE == (1e-3, 100.0)
    with pytest.raises(ValueError, match=r"mass_ratio = .* out of range; allowed: \[0.001, 100\]"):
        RashbaFerromagnet(0.05, 0.5, [0.0, 0.0, 1.0], mass_ratio)

    def built(m):
        return RashbaFerromagnet(0.05, 0.5, jnp.array([0.0, 0.0, 1.0]), m).mass_ratio

    with pytest.raises(Exception, match="mass_ratio is out of range"):
        jax.block_until_ready(jax.jit(built)(mass_ratio))
    with pytest.raises(Exception, match="mass_ratio is out of range"):
        jax.block_until_ready(jax.vmap(built)(jnp.array([1.0, mass_ratio])))
    # The ends of the range are allowed, and the check keeps the field differentiable.
    assert float(jax.jit(built)(1e-3)) == pytest.approx(1e-3) and float(built(100.0)) == 100.0
    assert float(jax.grad(built)(2.0)) == 1.0


@pytest.mark.parametrize(
    "alpha, j_ex, match",
    [(0.05, -0.1, r"j_ex is out of range or not finite; allowed: \[0, inf\) eV"),
     (float("nan"), 0.5, r"alpha is out of range or not finite"),
     (0.05, float("inf"), r"j_ex is out of range or not finite"),
     (-float("inf"), 0.5, r"alpha is out of range or not finite")],
)
def test_traced_alpha_and_j_ex_are_checked_when_the_program_runs(alpha, j_ex, match):
    # The constructor's checks of traced alpha and j_ex stay in the compiled program (they were once dropped:
    # only mass_ratio's survived), under jit and vmap alike.
    def built(a, j):
        model = RashbaFerromagnet(a, j, jnp.array([0.0, 0.0, 1.0]), 1.0)
        return model.alpha + model.j_ex

    with pytest.raises(Exception, match=match):
        jax.block_until_ready(jax.jit(built)(alpha, j_ex))
    with pytest.raises(Exception, match=match):
        jax.block_until_ready(jax.vmap(built)(jnp.array([0.05, alpha]), jnp.array([0.5, j_ex])))


def test_traced_valid_values_build_the_same_model(ref):
    # Valid traced values: the same fields as the eager model (M to rounding: a traced M is normalized in JAX),
    # bands equal to eigh of H(k), the same numbers bit for bit as the fits' unchecked builder, and the checks
    # leave the fields differentiable (d alpha/d alpha = 1).
    from jaxsot._core._model import unchecked_rashba

    k = jnp.array([[1.3, -0.4], [0.0, 2.0], [-2.5, 0.7]])
    m = [0.6, 0.0, 0.8]

    def fields(build):
        @jax.jit
        def traced(alpha, j_ex):
            model = build(alpha, j_ex, jnp.asarray(m), 0.7)
            return model.alpha, model.j_ex, model.mass_ratio, model.magnetization, jaxsot.band_energy(model, k, -1)

        return [np.asarray(x) for x in traced(-0.05, 0.0)]

    checked, unchecked = fields(RashbaFerromagnet), fields(unchecked_rashba)
    for a, b in zip(checked, unchecked):
        np.testing.assert_array_equal(a, b)
    alpha, j_ex, mass_ratio, direction, energy = checked
    eager = RashbaFerromagnet(-0.05, 0.0, m, 0.7)
    assert float(alpha) == float(eager.alpha) and float(j_ex) == float(eager.j_ex) and float(mass_ratio) == 0.7
    np.testing.assert_allclose(direction, np.asarray(eager.magnetization), rtol=1e-15, atol=1e-16)
    case = ref.make_case("traced", -0.05, 0.0, m, 0.7)
    np.testing.assert_allclose(energy, ref.eig_energy(case, np.asarray(k), -1), rtol=1e-13, atol=1e-13)
    assert float(jax.grad(lambda a: RashbaFerromagnet(a, 0.5, jnp.asarray(m)).alpha)(0.05)) == 1.0


def test_traced_angles_of_from_angles_are_checked_when_the_program_runs():
    built = jax.jit(lambda theta: RashbaFerromagnet.from_angles(0.05, 0.5, theta, 0.0).magnetization)
    np.testing.assert_allclose(np.asarray(built(0.5)), [math.sin(0.5), 0.0, math.cos(0.5)], rtol=1e-15, atol=1e-16)
    with pytest.raises(Exception, match="theta is out of range or not finite"):
        jax.block_until_ready(built(float("nan")))


@pytest.mark.parametrize("alpha,j_ex,m", [(0.05, 0.0, [0.0, 0.0, 1.0]), (0.0, 0.5, [1.0, 0.0, 0.0]), (-0.05, 0.5, [1.0, 0.0, 0.0])])
def test_valid_edge_values_are_accepted(alpha, j_ex, m, ref):
    # j_ex = 0 (no exchange), alpha = 0 (no Rashba) and alpha < 0 are allowed by the contract (j_ex >= 0),
    # and the model built from them is that Hamiltonian: its bands are the eigenvalues of the 2x2 H(k).
    model = RashbaFerromagnet(alpha, j_ex, m)
    assert float(model.alpha) == alpha and float(model.j_ex) == j_ex
    case = ref.make_case("edge", alpha, j_ex, m)
    k = np.array([[1.3, -0.4], [0.0, 2.0], [-2.5, 0.7]])
    for band in (-1, 1):
        np.testing.assert_allclose(np.asarray(jaxsot.band_energy(model, k, band)), ref.eig_energy(case, k, band), rtol=1e-13, atol=1e-13)
    # The edge cases' own closed forms: no exchange, splitting alpha |k|; no Rashba, J (flat in k).
    expected = abs(alpha) * np.linalg.norm(k, axis=-1) if j_ex == 0.0 else None
    if alpha == 0.0:
        expected = np.full(3, j_ex)
    if expected is not None:
        np.testing.assert_allclose(np.asarray(jaxsot.spin_splitting(model, k)), expected, rtol=1e-13)


@pytest.mark.parametrize("vector", [[0.0, 0.0, 2.0], [1.0, 2.0, 2.0], [-3.0, 0.5, 1e-3], [1e-8, 0.0, 0.0]])
def test_non_unit_magnetization_is_normalized(vector, ref):
    model = RashbaFerromagnet(0.05, 0.5, vector)
    expected = np.asarray(vector) / np.linalg.norm(vector)
    np.testing.assert_allclose(np.asarray(model.magnetization), expected, rtol=1e-14, atol=1e-15)
    # The physics sees only the direction: energies equal the eigenvalues for the unit vector.
    k = np.array([[1.3, -0.4], [-2.0, 3.1]])
    p = ref.make_case("unit", 0.05, 0.5, expected)
    for band in (-1, 1):
        np.testing.assert_allclose(
            np.asarray(jaxsot.band_energy(model, k, band)), ref.eig_energy(p, k, band), rtol=1e-13, atol=1e-14
        )


@pytest.mark.parametrize("theta, phi", [(1.0, 0.5), (0.0, 1.3), (0.5 * math.pi, 0.0), (0.5 * math.pi, 0.3), (2.5, -2.0)])
def test_from_angles(theta, phi):
    model = RashbaFerromagnet.from_angles(0.05, 0.5, theta, phi, mass_ratio=0.7)
    expected = np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])
    np.testing.assert_allclose(np.asarray(model.magnetization), expected, rtol=1e-14, atol=1e-15)
    assert float(model.alpha) == 0.05 and float(model.j_ex) == 0.5 and float(model.mass_ratio) == 0.7


def test_from_angles_rejects_non_finite_angles():
    with pytest.raises(ValueError, match="theta"):
        RashbaFerromagnet.from_angles(0.05, 0.5, float("nan"), 0.0)
    with pytest.raises(ValueError, match="phi"):
        RashbaFerromagnet.from_angles(0.05, 0.5, 1.0, float("inf"))


def test_model_is_a_pytree(general):
    leaves, treedef = jax.tree_util.tree_flatten(general.model)
    assert len(leaves) == 4
    rebuilt = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(x) * 1.0 for x in leaves])
    assert isinstance(rebuilt, RashbaFerromagnet)
    np.testing.assert_array_equal(np.asarray(rebuilt.magnetization), np.asarray(general.model.magnetization))


def test_jit_over_model(general, ref, random_k):
    energy = jax.jit(lambda model, k: jaxsot.band_energy(model, k, -1))
    np.testing.assert_allclose(
        np.asarray(energy(general.model, random_k)), ref.eig_energy(general, random_k, -1), rtol=1e-13, atol=1e-14
    )
    # A different model with the same structure goes through the same compiled function.
    other = ref.make_case("other", 0.11, 0.3, [0.2, -0.5, 0.4])
    np.testing.assert_allclose(
        np.asarray(energy(other.model, random_k)), ref.eig_energy(other, random_k, -1), rtol=1e-13, atol=1e-14
    )


@pytest.mark.parametrize("band", [-1, 1])
def test_grad_of_band_energy_wrt_alpha_and_j_ex(band, general, ref):
    k = np.array([2.1, -1.2])
    m = general.m

    def energy_of(alpha, j_ex):
        return jaxsot.band_energy(RashbaFerromagnet(alpha, j_ex, m), k, band)

    d_alpha, d_j = jax.grad(energy_of, argnums=(0, 1))(0.05, 0.5)
    h = 1e-6

    def eig(alpha, j_ex):
        return float(ref.eig_energy(ref.make_case("fd", alpha, j_ex, m), k, band))

    fd_alpha = (eig(0.05 + h, 0.5) - eig(0.05 - h, 0.5)) / (2 * h)
    fd_j = (eig(0.05, 0.5 + h) - eig(0.05, 0.5 - h)) / (2 * h)
    # Central differences of eigh eigenvalues: truncation ~h^2 ~ 1e-12, rounding ~1e-16/h ~ 1e-10.
    assert float(d_alpha) == pytest.approx(fd_alpha, rel=1e-7)
    assert float(d_j) == pytest.approx(fd_j, rel=1e-7)


def test_grad_of_spin_force_wrt_alpha(general, ref):
    k = np.array([2.1, -1.2])
    efield = np.array([1e-3, -4e-4])

    def force_x(alpha):
        return jaxsot.spin_force(RashbaFerromagnet(alpha, 0.5, general.m), k, -1, efield)[0]

    g = float(jax.grad(force_x)(0.05))
    h = 1e-6
    fd = (
        ref.closed_spin_force(ref.make_case("p", 0.05 + h, 0.5, general.m), k, -1, efield)[0]
        - ref.closed_spin_force(ref.make_case("m", 0.05 - h, 0.5, general.m), k, -1, efield)[0]
    ) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-6)


def test_vmap_over_a_batch_of_models(general, ref):
    alphas = jnp.linspace(0.01, 0.2, 5)
    m = jnp.asarray(general.m)
    models = jax.vmap(lambda a: RashbaFerromagnet(a, 0.5, m))(alphas)
    assert models.alpha.shape == (5,)
    k = jnp.array([[1.0, 2.0], [-0.5, 0.3]])
    efield = jnp.array([1e-3, 0.0])
    energies = jax.vmap(lambda model: jaxsot.band_energy(model, k, -1))(models)
    forces = jax.vmap(lambda model: jaxsot.spin_force(model, k, 1, efield))(models)
    assert energies.shape == (5, 2) and forces.shape == (5, 2, 2)
    for i, alpha in enumerate(np.asarray(alphas)):
        p = ref.make_case("batch", float(alpha), 0.5, general.m)
        np.testing.assert_allclose(np.asarray(energies[i]), ref.eig_energy(p, k, -1), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(np.asarray(forces[i]), ref.closed_spin_force(p, k, 1, efield), rtol=1e-10, atol=1e-18)

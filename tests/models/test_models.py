"""The shipped models against independent references: energies and spins from numpy.linalg.eigh of the
2x2 H(k) written out in NumPy, velocities from central differences of the eigenvalues, exact touching
points checked on the NumPy H, the tight-binding constructor against the square-lattice model and a
hand-written triangular-lattice Bloch sum, ray bounds against eigh on rays, and the input checks."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
import model_references as ref
from shipped_cases import CASES, M_GENERAL, M_IN_PLANE, TRIANGULAR, case, triangular_hoppings  # noqa: F401 (case: fixture)

RNG = np.random.default_rng(18)
K = RNG.uniform(-4.0, 4.0, size=(12, 2))


def test_bands_and_spins_match_eigh(case):
    for s in (-1, 1):
        got = np.asarray(jaxsot.band_energy(case.model, jnp.asarray(K), s))
        want = np.array([ref.energy(case.hamiltonian, q, s) for q in K])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        spins = np.asarray(jaxsot.band_spin(case.model, jnp.asarray(K), s))
        np.testing.assert_allclose(spins, [ref.spin(case.hamiltonian, q, s) for q in K], atol=1e-10)


def test_velocities_match_differences_of_eigh(case):
    for s in (-1, 1):
        got = np.asarray(jaxsot.band_velocity(case.model, jnp.asarray(K[:5]), s))
        want = np.array([ref.velocity(case.hamiltonian, q, s) for q in K[:5]])
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_field_change_is_the_field_difference_without_cancellation(case):
    model = case.model
    for dk in ([1e-3, -2e-3], [0.7, 0.4]):
        got = model.field_change(jnp.asarray(1.1), jnp.asarray(-0.6), dk[0], dk[1])
        after, before = model.field(1.1 + dk[0], -0.6 + dk[1]), model.field(1.1, -0.6)
        for g, a, b in zip(got, after, before):
            assert float(g) == pytest.approx(float(a - b), rel=1e-9, abs=1e-14)
    # The exchange part plus the spin-orbit part is the whole field.
    so, ex, total = model.spin_orbit_field(0.8, 0.3), model.exchange_field(), model.field(0.8, 0.3)
    for a, b, c in zip(so, ex, total):
        assert float(a + b) == pytest.approx(float(c), abs=1e-14)


def test_lattice_models_are_periodic_and_declare_their_lattice(case):
    lattice = getattr(case.model, "lattice_vectors", None)
    if case.lattice is None:
        assert lattice is None
        return
    np.testing.assert_allclose(np.asarray(lattice), case.lattice, rtol=1e-15)
    reciprocal = 2 * math.pi * np.linalg.inv(case.lattice).T
    np.testing.assert_allclose(case.lattice @ reciprocal.T, 2 * math.pi * np.eye(2), atol=1e-12)
    shifted = K[:4] + reciprocal[0] - 2 * reciprocal[1]
    for s in (-1, 1):
        np.testing.assert_allclose(jaxsot.band_energy(case.model, shifted, s), jaxsot.band_energy(case.model, K[:4], s), atol=1e-12)


@pytest.mark.parametrize("name", ["ti", "rd"])
def test_continuum_ray_bounds_hold_on_every_ray(name):
    case = CASES[name]
    for fermi_energy in (-0.3, 0.2, 1.5):
        for s in (-1.0, 1.0):
            bound = float(case.model.ray_bound(fermi_energy, s))
            assert math.isfinite(bound)
            for angle in np.linspace(0.0, 2 * math.pi, 48, endpoint=False):
                k = bound * np.array([math.cos(angle), math.sin(angle)])
                assert ref.energy(case.hamiltonian, k, s) >= fermi_energy - 1e-12
    # A massless cone: the upper band is bounded, the lower band's sea is not, and sea quantities say so.
    massless = CASES["ti_massless"].model
    bound = float(massless.ray_bound(0.2, 1.0))
    for angle in np.linspace(0.0, 2 * math.pi, 48, endpoint=False):
        k = bound * np.array([math.cos(angle), math.sin(angle)])
        assert ref.energy(CASES["ti_massless"].hamiltonian, k, 1) >= 0.2 - 1e-12
    with pytest.raises(ValueError, match="massless Dirac cone is unbounded below"):
        massless.ray_bound(0.2, -1.0)
    with pytest.raises(ValueError, match="massless Dirac cone is unbounded below"):
        jaxsot.electron_density(massless, 0.2, 1)
    with pytest.raises(ValueError, match="massless Dirac cone"):
        jax.jit(lambda m, k: jaxsot.kernels.spin_force_components(m, k[0], k[1], -1.0, 1e-3, 0.0))(massless, jnp.ones(2))


def test_exact_touching_points_are_zeros_of_the_numpy_field():
    models = {
        "ti": (jaxsot.TISurfaceFerromagnet(0.33, 0.05, M_IN_PLANE), lambda k: ref.ti_hamiltonian(k, 0.33, 0.05, M_IN_PLANE, 0.0)),
        "rd": (jaxsot.RashbaDresselhausFerromagnet(0.05, 0.02, 0.5, M_IN_PLANE), lambda k: ref.rd_hamiltonian(k, 0.05, 0.02, 0.5, M_IN_PLANE, 1.0)),
        "square": (jaxsot.SquareLatticeRashbaFerromagnet(0.5, 0.4, 0.3, 0.2, M_IN_PLANE), lambda k: ref.square_hamiltonian(k, 0.5, 0.4, 0.3, 0.2, M_IN_PLANE)),
    }
    counts = {"ti": 1, "rd": 1, "square": 4}
    for name, (model, hamiltonian) in models.items():
        points = model.touching_points()
        assert len(points) == counts[name], name
        for point in points:
            gap = np.diff(np.linalg.eigvalsh(hamiltonian(point)))[0]
            assert gap < 1e-12, (name, point, gap)
        assert model.touching_point() is not None and "k* = [" in model.touching_description()
    # The report names the deepest point in the sea: at E_F = 1.5 eV one of the square lattice's four,
    # k* a = (asin(-J My/lam), asin(J Mx/lam)) with eps = eps0(k*) = 0.25 eV (the others: >= 2.2 eV).
    deepest = np.array([math.asin(-0.2 * M_IN_PLANE[1] / 0.3), math.asin(0.2 * M_IN_PLANE[0] / 0.3)]) / 0.4
    report = jaxsot.band_touching_report(models["square"][0], 1.5)
    assert f"k* = {np.round(deepest, 4).tolist()}" in report and "1 of the 4 touching points" in report
    assert jaxsot.band_touching_report(models["square"][0], 0.1) is None
    # Out-of-plane M opens a gap J |M_z| everywhere: no touching points, and the description says so.
    tilted = jaxsot.TISurfaceFerromagnet(0.33, 0.05, M_GENERAL)
    assert len(tilted.touching_points()) == 0 and tilted.touching_point() is None
    assert f"{0.05 * abs(M_GENERAL[2]):.3g} eV" in tilted.touching_description()
    # lam < J |M_x|: the square lattice's bands never touch (sin cannot reach J Mx/lam).
    assert len(jaxsot.SquareLatticeRashbaFerromagnet(0.5, 0.4, 0.1, 0.2, [1.0, 0.0, 0.0]).touching_points()) == 0
    # The persistent spin helix |alpha| = |beta|: a touching line, left to the search.
    assert jaxsot.RashbaDresselhausFerromagnet(0.05, 0.05, 0.5, M_IN_PLANE).touching_points() is None


def test_tight_binding_reproduces_the_square_lattice_model():
    t, a, lam, j_ex = 0.5, 0.4, 0.1, 0.2
    hoppings = {(0, 0): 4 * t * ref.IDENTITY}
    # eps0 = -2t (cos kx a + cos ky a): -t on each neighbour; lam sin(ky a) sigma_x from +-i lam/2 on (0, +-1).
    hoppings[(1, 0)] = -t * ref.IDENTITY + 0.5j * lam * ref.SIGMA[1]
    hoppings[(-1, 0)] = hoppings[(1, 0)].conj().T
    hoppings[(0, 1)] = -t * ref.IDENTITY - 0.5j * lam * ref.SIGMA[0]
    hoppings[(0, -1)] = hoppings[(0, 1)].conj().T
    tb = jaxsot.TightBindingModel.from_hoppings(a * np.eye(2), hoppings, j_ex=j_ex, magnetization=M_GENERAL)
    square = jaxsot.SquareLatticeRashbaFerromagnet(t, a, lam, j_ex, M_GENERAL)
    efield = jnp.asarray([0.01, -0.02])
    for s in (-1, 1):
        np.testing.assert_allclose(jaxsot.band_energy(tb, K, s), jaxsot.band_energy(square, K, s), atol=1e-13)
        np.testing.assert_allclose(jaxsot.band_velocity(tb, K, s), jaxsot.band_velocity(square, K, s), atol=1e-13)
        np.testing.assert_allclose(jaxsot.spin_force(tb, K[:4], s, efield), jaxsot.spin_force(square, K[:4], s, efield), rtol=1e-11, atol=1e-16)
        np.testing.assert_allclose(jaxsot.damping_torque(tb, K, s, efield), jaxsot.damping_torque(square, K, s, efield), rtol=1e-11, atol=1e-16)
    assert float(tb.mass) == pytest.approx(float(square.mass), rel=1e-14)
    for a_, b_ in zip(tb.exchange_field(), square.exchange_field()):
        assert float(a_) == pytest.approx(float(b_), abs=1e-15)


def test_tight_binding_on_a_triangular_lattice_matches_the_bloch_sum():
    case = CASES["triangular"]
    model = case.model
    # Complex (non-real) third-neighbour hopping and an on-site field: every coefficient kind is used.
    assert np.any(np.asarray(model.sin_energy) != 0) and np.any(np.asarray(model.sin_field) != 0)
    for s in (-1, 1):
        want = [ref.energy(case.hamiltonian, q, s) for q in K]
        np.testing.assert_allclose(jaxsot.band_energy(model, K, s), want, atol=1e-12)
    # The Gamma-point mass from the second difference of eps0 = tr H/2 of the Bloch sum.
    hessian = ref.kinetic_hessian(case.hamiltonian, [0.0, 0.0])
    assert float(model.mass) == pytest.approx(ref.HBAR**2 / (0.5 * np.trace(hessian)), rel=1e-8)


def test_tight_binding_checks_its_hoppings():
    good = triangular_hoppings()
    missing = {key: value for key, value in good.items() if key != (-2, 0)}
    with pytest.raises(ValueError, match=r"R = \(2, 0\) but not -R = \(-2, 0\)"):
        jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, missing)
    wrong = dict(good)
    wrong[(-2, 0)] = good[(2, 0)]  # not the conjugate transpose
    with pytest.raises(ValueError, match=r"H\(-R\) != H\(R\)\^dagger for R = \(-2, 0\)|H\(-R\) != H\(R\)\^dagger for R = \(2, 0\)"):
        jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, wrong)
    onsite = dict(good)
    onsite[(0, 0)] = np.array([[0.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="on-site matrix H\\(0\\) is not hermitian"):
        jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, onsite)
    with pytest.raises(ValueError, match="not a lattice vector"):
        jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, {(0.5, 0): np.eye(2)})
    with pytest.raises(ValueError, match=r"hoppings\[\(0, 0\)\] has shape \(3, 3\)"):
        jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, {(0, 0): np.eye(3)})
    with pytest.raises(ValueError, match="lattice_vectors .* parallel"):
        jaxsot.TightBindingModel.from_hoppings([[1.0, 0.0], [2.0, 0.0]], good)
    with pytest.raises(ValueError, match="j_ex = -0.1"):
        jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, good, j_ex=-0.1)
    with pytest.raises(ValueError, match=r"hoppings\[\(0, 0\)\] is traced"):
        jax.vmap(lambda t: jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, {(0, 0): t * np.eye(2)}))(jnp.ones(2))


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: jaxsot.TISurfaceFerromagnet(0.3, 0.05, [0, 0, 1], kinetic=-1.0), "kinetic = -1"),
        (lambda: jaxsot.TISurfaceFerromagnet("fast", 0.05, [0, 0, 1]), "hbar_v"),
        (lambda: jaxsot.RashbaDresselhausFerromagnet(0.05, float("nan"), 0.5, [0, 0, 1]), "beta"),
        (lambda: jaxsot.RashbaDresselhausFerromagnet(0.05, 0.02, 0.5, [0, 0, 1], mass_ratio=0.0), "mass_ratio = 0"),
        (lambda: jaxsot.SquareLatticeRashbaFerromagnet(0.0, 0.4, 0.1, 0.2, [0, 0, 1]), "t = 0"),
        (lambda: jaxsot.SquareLatticeRashbaFerromagnet(0.5, -0.4, 0.1, 0.2, [0, 0, 1]), "a = -0.4"),
        (lambda: jaxsot.SquareLatticeRashbaFerromagnet(0.5, 0.4, 0.1, 0.2, [0, 0, 0]), "magnetization"),
    ],
)
def test_constructors_name_the_bad_parameter(build, match):
    with pytest.raises(ValueError, match=match):
        build()


TRACED_BUILDS = {
    "ti": (lambda v: jaxsot.TISurfaceFerromagnet(v["hbar_v"], v["j_ex"], M_GENERAL, kinetic=v["kinetic"]),
           {"hbar_v": 0.33, "j_ex": 0.05, "kinetic": 0.08}),
    "rd": (lambda v: jaxsot.RashbaDresselhausFerromagnet(v["alpha"], v["beta"], v["j_ex"], M_GENERAL, mass_ratio=v["mass_ratio"]),
           {"alpha": 0.05, "beta": 0.02, "j_ex": 0.5, "mass_ratio": 0.8}),
    "square": (lambda v: jaxsot.SquareLatticeRashbaFerromagnet(v["t"], v["a"], v["lam"], v["j_ex"], M_GENERAL),
               {"t": 0.5, "a": 0.4, "lam": 0.1, "j_ex": 0.2}),
    "triangular": (lambda v: jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, triangular_hoppings(), j_ex=v["j_ex"],
                                                                    magnetization=M_GENERAL), {"j_ex": 0.15}),
}
TRACED_BAD = [(name, field, bad) for name, (_, good) in TRACED_BUILDS.items() for field in good
              for bad in ([float("nan"), -0.1] if field in ("j_ex", "t", "a", "kinetic", "mass_ratio") else [float("nan")])]


@pytest.mark.parametrize("name, field, bad", TRACED_BAD)
def test_constructors_check_traced_parameters_when_the_program_runs(name, field, bad):
    # Every checked scalar of every shipped model keeps its check when traced (the checks' return values were
    # once dropped: a traced j_ex < 0 or a NaN went through silently); valid traced values give the bands of
    # the NumPy Hamiltonian.
    build, good = TRACED_BUILDS[name]
    energies = jax.jit(lambda v: jaxsot.band_energy(build(v), K, -1))
    np.testing.assert_allclose(np.asarray(energies(good)), [ref.energy(CASES[name].hamiltonian, k, -1) for k in K],
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(Exception, match=f"{field} is out of range or not finite"):
        jax.block_until_ready(energies({**good, field: bad}))


def test_models_turn_their_magnetization_and_differentiate():
    from jaxsot._core._model import with_magnetization

    for case in CASES.values():
        turned = with_magnetization(case.model, jnp.asarray([0.0, 0.0, 1.0]))
        change = [float(a - b) for a, b in zip(turned.exchange_field(), case.model.exchange_field())]
        np.testing.assert_allclose(change, float(case.model.j_ex) * (M_GENERAL - np.array([0.0, 0.0, 1.0])), atol=1e-15)
    # d eps_-/d lam of the square lattice at one k: autodiff through the model vs a central difference.
    k = np.asarray([1.2, -0.4])

    def lower(lam):
        return jaxsot.band_energy(jaxsot.SquareLatticeRashbaFerromagnet(0.5, 0.4, lam, 0.2, M_GENERAL), k, -1)

    step = 1e-6
    want = (ref.energy(lambda q: ref.square_hamiltonian(q, 0.5, 0.4, 0.1 + step, 0.2, M_GENERAL), k, -1)
            - ref.energy(lambda q: ref.square_hamiltonian(q, 0.5, 0.4, 0.1 - step, 0.2, M_GENERAL), k, -1)) / (2 * step)
    assert float(jax.grad(lower)(0.1)) == pytest.approx(want, rel=1e-7)
    assert float(jax.jit(lower)(0.1)) == pytest.approx(ref.energy(lambda q: ref.square_hamiltonian(q, 0.5, 0.4, 0.1, 0.2, M_GENERAL), k, -1), abs=1e-13)


@pytest.mark.slow  # the engine compiled per model (~11 CPU-s cold)
def test_exact_overrides_agree_with_the_generic_interface_through_the_engine():
    # The shipped Rashba-Dresselhaus model (proven ray bound, exact field change) against the same
    # Hamiltonian through the generic TwoBandModel defaults only, in the contour, sea and exact-spinor layers.
    model = CASES["rd"].model

    class Generic(jaxsot.TwoBandModel):
        inner: jaxsot.RashbaDresselhausFerromagnet

        def kinetic_energy(self, kx, ky):
            return self.inner.kinetic_energy(kx, ky)

        def field(self, kx, ky):
            return self.inner.field(kx, ky)

        def spin_orbit_field(self, kx, ky):
            return self.inner.spin_orbit_field(kx, ky)

        @property
        def mass(self):
            return self.inner.mass

    generic = Generic(model)
    fermi_energy = 1.0
    for s in (-1, 1):
        assert float(jaxsot.electron_density(model, fermi_energy, s, num=64)) == pytest.approx(
            float(jaxsot.electron_density(generic, fermi_energy, s, num=64)), rel=1e-12)
    times = jnp.linspace(0.0, 20.0, 3)
    efield = jnp.asarray([0.002, 0.0])
    a = jaxsot.exact_simulate(model, fermi_energy, efield, times, num_phi=16, num_r=4, substeps=8, semiclassical=False)
    b = jaxsot.exact_simulate(generic, fermi_energy, efield, times, num_phi=16, num_r=4, substeps=8, semiclassical=False)
    for name in ("damping_torque", "spin_density_change"):
        x, y = np.asarray(a.observables[name]["exact"]), np.asarray(b.observables[name]["exact"])
        assert np.max(np.abs(y)) > 0
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-9 * np.max(np.abs(y)))

"""The mesh route: lattice models over their Brillouin zone, pockets, annuli, Dirac points in the sea,
traced checks, error estimates.

References (independent of jaxsot): closed-form band energies (checked against numpy eigh), root
finding (scipy brentq) on k_x slices integrated by scipy quad, fine NumPy midpoint grids, polynomial
moments of a triangle, and the exact half-filling sum rule of the lattice model.
"""

import functools
import itertools
import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from mesh_models import (  # noqa: F401 (lattice, ti: fixtures)
    A_LAT,
    C_TI,
    J_TI,
    LAM,
    M_LAT,
    M_TI,
    V_TI,
    eigh_energy,
    lattice_density,
    lattice_energy,
    lattice_model,
    ti_energy,
    ti_model,
    lattice,
    ti,
)

import jaxsot
from jaxsot._fermi import _mesh, _mesh_concrete

LATTICE_FILLINGS = (-1.9, -1.2, 0.0, 0.9)  # lower band only; both below, at and above half filling


@functools.lru_cache(maxsize=None)
def _lattice_reference(fermi_energy, s, lam=LAM):
    return lattice_density(fermi_energy, s, lam)


def test_radon_rule_is_exact_to_degree_five():
    p = np.array([[0.3, -0.2], [1.7, 0.4], [0.1, 1.1]])
    nodes, weights = _mesh.triangle_nodes(jnp.asarray(p[None]), jnp.asarray([1.0]))
    nodes, weights = np.asarray(nodes[0]), np.asarray(weights[0])
    # Reference: the exact mean of x^i y^j over the triangle, from the barycentric moments
    # mean(l0^a l1^b l2^c) = 2 a! b! c! / (a + b + c + 2)!, expanding x = sum_v l_v x_v factor by factor.
    def mean_monomial(i, j):
        total = 0.0
        for picks in itertools.product(range(3), repeat=i + j):
            coeff = np.prod([p[v, 0] for v in picks[:i]]) * np.prod([p[v, 1] for v in picks[i:]])
            a, b, c = (picks.count(v) for v in range(3))
            total += coeff * 2 * math.factorial(a) * math.factorial(b) * math.factorial(c) / math.factorial(a + b + c + 2)
        return total

    for i in range(6):
        for j in range(6 - i):
            want = mean_monomial(i, j)
            got = np.sum(weights * nodes[:, 0] ** i * nodes[:, 1] ** j)
            assert got == pytest.approx(want, rel=1e-13, abs=1e-15)
    # A degree-6 monomial is not integrated exactly by the rule: the moment test above can fail.
    assert abs(np.sum(weights * nodes[:, 0] ** 6) - mean_monomial(6, 0)) > 1e-6 * mean_monomial(6, 0)


def test_closed_form_energies_match_eigh():
    k = np.array([[1.3, -2.2], [0.4, 0.9]])
    for s in (-1, 1):
        for kx, ky in k:
            b = np.array([LAM * math.sin(ky * A_LAT) - 0.2 * M_LAT[0], -LAM * math.sin(kx * A_LAT) - 0.2 * M_LAT[1], -0.2 * M_LAT[2]])
            e0 = -1.0 * (math.cos(kx * A_LAT) + math.cos(ky * A_LAT))
            assert lattice_energy(kx, ky, s) == pytest.approx(eigh_energy((e0, b), s), abs=1e-13)
            b = np.array([-V_TI * ky - J_TI * M_TI[0], V_TI * kx - J_TI * M_TI[1], -J_TI * M_TI[2]])
            assert ti_energy(kx, ky, s) == pytest.approx(eigh_energy((0.5 * (kx * kx + ky * ky), b), s), abs=1e-13)


@pytest.mark.slow  # the lattice mesh at four fillings (~50 s wall cold); fermi/test_contour.py's Mexican hat keeps the mesh route in the fast tier
@pytest.mark.parametrize("fermi_energy", LATTICE_FILLINGS)
def test_lattice_densities_at_any_filling(lattice, fermi_energy):
    assert jaxsot.fermi_sea_route(lattice, fermi_energy) == "mesh"
    bands = jaxsot.occupied_bands(lattice, fermi_energy)
    assert bands == ((-1,) if fermi_energy < -1.5 else (-1, 1))
    total = 0.0
    for s in (-1, 1):
        got = float(jaxsot.electron_density(lattice, fermi_energy, s))
        want = _lattice_reference(fermi_energy, s) if s in bands else 0.0
        assert got == pytest.approx(want, rel=2e-7, abs=1e-12)
        total += got
    if fermi_energy == 0.0:
        # eps_+(-k - Q) = -eps_-(k) (Q = (pi/a, pi/a)): at E_F = 0 the two bands hold exactly one band, 1/a^2.
        assert total == pytest.approx(1.0 / A_LAT**2, rel=1e-9)


@pytest.mark.slow  # the lattice mesh compiled (~25 CPU-s cold)
def test_lattice_fermi_line_crosses_the_zone_boundary(lattice):
    # Above half filling the lower band's Fermi line is open across the zone boundary; its points
    # lie on the Fermi level and inside the zone, and the lengths sum to a finite line.
    k, dl, normal = jaxsot.fermi_contour_normals(lattice, 0.9, -1)
    k, dl, normal = np.asarray(k), np.asarray(dl), np.asarray(normal)
    assert np.max(np.abs(lattice_energy(k[:, 0], k[:, 1], -1) - 0.9)) < 1e-6
    assert np.all(np.abs(k) <= math.pi / A_LAT + 1e-12)
    assert np.any(np.abs(k[:, 0]) > 0.99 * math.pi / A_LAT)
    # Normals point up the band: a small step along them raises eps.
    step = k + 1e-4 * normal
    assert np.all(lattice_energy(step[:, 0], step[:, 1], -1) > 0.9)
    # dn/dE_F = oint dl/|grad eps| / (2 pi)^2, against a central difference of the slice reference.
    _, _, _, extras, _ = jaxsot._fermi._route.sea_ensemble(lattice, jnp.asarray(0.9), (-1,), "mesh")
    dos = float(jnp.sum(extras[0] / extras[1])) / (2 * math.pi) ** 2
    h = 1e-3
    fd = (_lattice_reference(0.9 + h, -1) - _lattice_reference(0.9 - h, -1)) / (2 * h)
    assert dos == pytest.approx(fd, rel=1e-5)


@pytest.mark.slow  # compiles the default-mesh value_and_grad program
def test_lattice_under_jit_and_grad(lattice):
    # The failure: traced calls with bands given ran the rays (density 8.29 instead of 2.35,
    # NaN and a zero gradient from E_F = 0). The mesh route is the same traced or not.
    def density(e_f, lam):
        model = lattice_model(lam=lam)
        return jaxsot.electron_density(model, e_f, -1)

    # One program for the value and the gradient (jit of value_and_grad, called at two points): an
    # eager jax.grad runs the mesh op by op, ~1000 one-op compilations.
    traced = jax.jit(jax.value_and_grad(density, argnums=(0, 1)))
    value = float(traced(-1.2, LAM)[0])
    assert value == pytest.approx(_lattice_reference(-1.2, -1), rel=2e-7)
    d_ef, d_lam = (float(x) for x in traced(0.0, LAM)[1])
    h = 1e-3
    fd_ef = (_lattice_reference(h, -1) - _lattice_reference(-h, -1)) / (2 * h)
    fd_lam = (_lattice_reference(0.0, -1, LAM + h) - _lattice_reference(0.0, -1, LAM - h)) / (2 * h)
    assert d_ef == pytest.approx(fd_ef, rel=1e-4)
    assert d_lam == pytest.approx(fd_lam, rel=1e-3)
    assert abs(d_lam) > 0.1
    # At E_F = -1.2 eV the sea stays off the zone's edges and the mesh covers only the part that holds
    # it (`mesh_domain`): its sub-cell is piecewise constant, the derivatives come from the weights.
    d_ef, d_lam = (float(x) for x in traced(-1.2, LAM)[1])
    fd_ef = (_lattice_reference(-1.2 + h, -1) - _lattice_reference(-1.2 - h, -1)) / (2 * h)
    fd_lam = (_lattice_reference(-1.2, -1, LAM + h) - _lattice_reference(-1.2, -1, LAM - h)) / (2 * h)
    assert d_ef == pytest.approx(fd_ef, rel=1e-4)
    assert d_lam == pytest.approx(fd_lam, rel=1e-3)


@pytest.mark.slow  # the lattice mesh compiled (~11 CPU-s cold)
def test_rays_refuse_a_lattice_and_an_unbounded_sea_is_an_error(lattice):
    with pytest.raises(ValueError, match="route = 'rays' is not allowed for the lattice model"):
        jaxsot.electron_density(lattice, -1.2, -1, route="rays")
    dirac = ti_model(kinetic=0.0)  # eps_- = -hbar v |k - k*|: the lower sea fills the whole plane
    with pytest.raises(ValueError, match="unbounded"):
        jaxsot.electron_density(dirac, 0.01, -1)
    with pytest.raises(ValueError, match="route = 'sideways' is not allowed"):
        jaxsot.electron_density(lattice, -1.2, -1, route="sideways")


def test_ti_pocket_away_from_the_origin(ti):
    # In-plane M = x moves the Dirac point to k* = (0, -J/hbar v); 3 meV above it the upper band is a
    # small pocket around k* that does not contain k = 0.
    ky_star = -J_TI / V_TI
    fermi_energy = 0.5 * ky_star**2 + 0.003
    with pytest.raises(ValueError, match="does not contain k = 0"):
        jaxsot.electron_density(ti, fermi_energy, 1, route="rays")
    assert jaxsot.fermi_sea_route(ti, fermi_energy) == "mesh"
    got = float(jaxsot.electron_density(ti, fermi_energy, 1))
    # Reference: the pocket is star-shaped about the cone tip k*: brentq radii on rays from k*, and
    # the area (1/2) int r^2 dphi by quad.
    def radius(phi):
        c, s = math.cos(phi), math.sin(phi)
        return brentq(lambda q: ti_energy(q * c, ky_star + q * s, 1) - fermi_energy, 0.0, 0.1, xtol=1e-16, rtol=1e-15)

    want = quad(lambda phi: 0.5 * radius(phi) ** 2, 0, 2 * math.pi, epsabs=0, epsrel=1e-13, limit=200)[0] / (2 * math.pi) ** 2
    assert want > 0
    assert got == pytest.approx(want, rel=1e-6)  # measured 8e-8


@pytest.mark.slow  # compiles the mesh route at the default mesh
def test_ti_spin_density_with_the_dirac_point_in_the_sea(ti):
    ky_star = -J_TI / V_TI
    fermi_energy = 0.5 * ky_star**2 + 0.003
    spin = lambda model, kx, ky, s, fx, fy: jnp.stack(jaxsot.kernels.spin(model, kx, ky, s))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the estimate is below the stated tolerance: no warning
        result = jaxsot.fermi_sea_integral(ti, fermi_energy, spin, tolerance=1e-5)
    assert result.route == "mesh"
    value, error = np.asarray(result.value), np.asarray(result.error)
    # Reference: a 4000^2 midpoint grid over the lower sea's box (|k| < 1 /nm), the band spin s b/|b|.
    n, half = 4000, 1.0
    axis = -half + (np.arange(n) + 0.5) * (2 * half / n)
    want = np.zeros(3)
    for chunk in np.array_split(axis, 8):
        kx, ky = np.meshgrid(chunk, axis, indexing="ij")
        b = np.stack([-V_TI * ky - J_TI * M_TI[0], V_TI * kx - J_TI * M_TI[1], -J_TI * M_TI[2] + 0 * kx])
        om = np.linalg.norm(b, axis=0)
        for s in (-1, 1):
            occupied = ti_energy(kx, ky, s) < fermi_energy
            want += np.sum(s * b / om * occupied, axis=(1, 2))
    want *= (2 * half / n) ** 2 / (2 * math.pi) ** 2
    scale = np.linalg.norm(want)
    assert scale > 1e-4
    assert np.linalg.norm(value - want) < 2e-4 * scale  # the grid's own error (step edges) ~1e-4
    # The estimate (two resolutions) is small and not zero (measured 1.8e-6 relative).
    assert 0 < np.max(error) < 1e-5 * scale
    with pytest.warns(RuntimeWarning, match="error estimate .* exceeds tolerance"):
        jaxsot.fermi_sea_integral(ti, fermi_energy, spin, tolerance=1e-15)


def _ti_radius(phi, s, fermi_energy, ky_star):
    """Distance from the Dirac point k* = (0, ky*) to the Fermi line of band s along phi: with
    q = k - k*, |b| = hbar v |q| and eps_s = C |k* + q|^2 + s hbar v |q| is quadratic in r = |q|
    (a stable root of C r^2 + (2 C ky* sin phi + s hbar v) r + C ky*^2 - E_F = 0, constant < 0)."""
    b = 2 * C_TI * ky_star * math.sin(phi) + s * V_TI
    c = C_TI * ky_star**2 - fermi_energy
    root = math.sqrt(b * b - 4 * C_TI * c)
    return -2 * c / (b + root) if b >= 0 else (-b + root) / (2 * C_TI)


def _ti_spin_reference(fermi_energy, ky_star):
    """sum_s int_sea s b/|b| d^2k/(2 pi)^2 of the TI seas, star-shaped about k*: the polar integral
    int dphi s (-sin phi, cos phi, 0) r(phi)^2 / 2 of the closed-form radii by quad."""
    want = np.zeros(3)
    for s in (-1, 1):
        for i, f in enumerate((lambda p: -math.sin(p), math.cos)):
            integrand = lambda p: f(p) * 0.5 * _ti_radius(p, s, fermi_energy, ky_star) ** 2  # noqa: E731
            want[i] += s * quad(integrand, 0, 2 * math.pi, epsabs=1e-13, epsrel=1e-13, limit=200)[0]
    return want / (2 * math.pi) ** 2


@pytest.mark.slow  # compiles the mesh route at the default mesh
@pytest.mark.parametrize("above", (0.003, 0.03))
def test_ti_spin_density_to_1e_6_at_the_default_mesh(ti, above):
    # The goal (1e-6 relative at the default resolution) for the Dirac point inside both seas.
    ky_star = -J_TI / V_TI
    fermi_energy = C_TI * ky_star**2 + above
    spin = lambda model, kx, ky, s, fx, fy: jnp.stack(jaxsot.kernels.spin(model, kx, ky, s))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the estimate is below the default tolerance 1e-6: no warning
        result = jaxsot.fermi_sea_integral(ti, fermi_energy, spin)
    assert result.route == "mesh"
    # Reference: both seas are star-shaped about k*, where s b/|b| = s (-sin phi, cos phi, 0); the
    # polar integral int dphi s (-sin phi, cos phi) r(phi)^2 / 2 of the closed-form radii by quad.
    want = _ti_spin_reference(fermi_energy, ky_star)
    scale = np.linalg.norm(want)
    assert scale > 1e-3
    value = np.asarray(result.value)
    # Measured 7.1e-8 and 7.4e-8, estimates 4.2e-7 and 6.0e-7 (before the degree-5 rule near the
    # Dirac point: 4.2e-7 and 2.2e-7, estimates 1.8e-6 and 2.5e-6, above the default tolerance).
    assert np.linalg.norm(value - want) <= 1e-6 * scale
    assert 0 < np.max(np.asarray(result.error)) <= 1e-6 * scale


@pytest.mark.slow  # compiles the mesh route at the default mesh, with its extra levels
def test_fermi_sea_sum_on_the_mesh_without_line_nodes(ti, monkeypatch):
    # fermi_sea_sum asks the concrete mesh route for the sea only (the Fermi-line nodes are neither
    # computed nor copied): the same sea as with them, here with the extra levels run near the Dirac
    # point, against the closed-form radii of the test above.
    ky_star = -J_TI / V_TI
    fermi_energy = C_TI * ky_star**2 + 0.003
    spin = lambda model, kx, ky, s, fx, fy: jnp.stack(jaxsot.kernels.spin(model, kx, ky, s))  # noqa: E731
    extra = []  # the bands whose extra levels ran
    run_extra = _mesh_concrete.extra_levels_jit
    monkeypatch.setattr(_mesh_concrete, "extra_levels_jit", lambda *args, **kw: extra.append(args[4]) or run_extra(*args, **kw))
    value = np.asarray(jaxsot.fermi_sea_sum(ti, fermi_energy, spin, route="mesh"))
    assert extra
    want = _ti_spin_reference(fermi_energy, ky_star)
    scale = np.linalg.norm(want)
    assert np.linalg.norm(value - want) <= 1e-6 * scale
    from jaxsot._fermi._route import sea_ensemble

    e_f = jnp.asarray(fermi_energy, ti.dtype)
    with_line = sea_ensemble(ti, e_f, (-1, 1), "mesh")
    sea_only = sea_ensemble(ti, e_f, (-1, 1), "mesh", line=False)
    assert with_line[1] is not None and sea_only[1] is None and sea_only[3] is None
    for a, b in zip(jax.tree_util.tree_leaves((with_line[0], with_line[2])), jax.tree_util.tree_leaves((sea_only[0], sea_only[2]))):
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow  # compiles the mesh route at the default mesh
def test_ti_pocket_under_jit_at_the_default_budget(ti):
    # The pocket 3 meV above the Dirac point refines up to 148 triangles at one extra level: traced
    # calls refused it at the earlier default budget (4 cells per extra level, 128).
    ky_star = -J_TI / V_TI
    fermi_energy = C_TI * ky_star**2 + 0.003
    got = float(jax.jit(lambda e: jaxsot.electron_density(ti, e, 1, route="mesh"))(fermi_energy))
    # Reference: the pocket's area (1/2) int r(phi)^2 dphi about k* from the closed-form radii.
    integrand = lambda p: 0.5 * _ti_radius(p, 1, fermi_energy, ky_star) ** 2  # noqa: E731
    want = quad(integrand, 0, 2 * math.pi, epsabs=0, epsrel=1e-13, limit=200)[0] / (2 * math.pi) ** 2
    assert got == pytest.approx(want, rel=1e-6)


@pytest.mark.slow  # compiles the mesh route at the default mesh
def test_simulate_a_lattice_model(lattice):
    times = np.linspace(0.0, 20.0, 11)
    drive = jaxsot.StepDrive(np.array([2e-4, -1e-4]))
    result = jaxsot.simulate(lattice, -1.2, drive, times, tau=15.0)
    assert result.route == "mesh"
    np.testing.assert_allclose(np.asarray(result.band_densities), [_lattice_reference(-1.2, -1), _lattice_reference(-1.2, 1)], rtol=2e-7)
    # The sea's spin change (flux through the moving Fermi line) is the time integral of the sea
    # sum of ds/dt at the moved nodes: two different formulas.
    rate = np.asarray(result.observables["spin_rate"]["exact"])
    change = np.asarray(result.observables["spin_density_change"]["exact"])
    integral = np.concatenate([[np.zeros(3)], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(times)[:, None], 0)])
    assert np.max(np.abs(change)) > 0
    np.testing.assert_allclose(integral, change, atol=2e-3 * np.max(np.abs(change)))


@pytest.mark.slow  # mesh and ray routes compiled under jit and grad
def test_traced_calls_enforce_the_ray_preconditions(ref):
    # A Mexican-hat annulus: eagerly the rays refuse it; traced, the check runs at run time.
    p = ref.make_case("hat", 0.3, 0.05, [0.0, 0.0, 1.0])
    f = jax.jit(lambda e: jaxsot.electron_density(p.model, e, -1, route="rays"))
    with pytest.raises(Exception, match="not star-shaped|did not converge"):
        jax.block_until_ready(f(-0.06))
    # Through the mesh the traced value and gradient are finite and agree with the eager ones.
    # (One program for both: an eager jax.grad would run the mesh op by op.)
    value, slope = (float(x) for x in jax.jit(jax.value_and_grad(lambda e: jaxsot.electron_density(p.model, e, -1, route="mesh")))(-0.06))
    assert value == pytest.approx(float(jaxsot.electron_density(p.model, -0.06, -1)), rel=1e-12)
    assert math.isfinite(slope) and slope > 0
    # Bands given under tracing but wrong: the band left out is occupied.
    with pytest.raises(Exception, match="occupied but not in `bands`"):
        jax.block_until_ready(
            jax.jit(lambda e: jaxsot.conductivity(ref.make_case("g", 0.05, 0.5, [0.0, 0.0, 1.0]).model, e, 1.0, bands=(-1,)))(1.0)
        )


def _near_touching_case(ref):
    # In-plane M = x: the bands touch at k* = (0, J/alpha) = (0, 3.33) /nm; E_F 10 meV above eps(k*),
    # so the touching point lies inside the lower band's sea (min/max Omega there ~1e-4).
    p = ref.make_case("near touching", 0.3, 1.0, [1.0, 0.0, 0.0])
    return p, p.c * (p.j_ex / p.alpha) ** 2 + 0.01


def test_rays_refuse_a_near_touching_sea_eagerly_naming_distance_and_error(ref):
    p, fermi_energy = _near_touching_case(ref)
    with pytest.raises(ValueError, match="route = 'rays' is not allowed") as caught:
        jaxsot.electron_density(p.model, fermi_energy, -1, route="rays")
    message = str(caught.value)
    number = r"([-+0-9.e]+)"
    omega, kx, ky, distance = (
        float(x) for x in re.search(rf"Omega = {number} eV .* at k = \[{number}, {number}\] 1/nm, {number} eV below", message).groups()
    )
    # The named Omega and distance below E_F against the closed form at the named k (b = (alpha ky - J, -alpha kx, 0)).
    b = np.array([p.alpha * ky - p.j_ex, -p.alpha * kx])
    assert omega == pytest.approx(np.linalg.norm(b), rel=1e-2, abs=1e-5)
    assert distance == pytest.approx(fermi_energy - (p.c * (kx * kx + ky * ky) - np.linalg.norm(b)), rel=1e-2, abs=1e-5)
    assert 0 < omega < 0.01 and 0 < distance < 0.02
    assert float(re.search(r"expected relative error ~([-+0-9.e]+)", message).group(1)) > 1e-5
    # Other ray-route functions refuse it too; "auto" takes the mesh.
    with pytest.raises(ValueError, match="near band touching"):
        jaxsot.fermi_contour(p.model, fermi_energy, -1, route="rays")
    assert jaxsot.fermi_sea_route(p.model, fermi_energy) == "mesh"


@pytest.mark.slow  # compiles the mesh route at the default mesh
def test_rays_refuse_a_near_touching_sea_under_jit_and_grad(ref):
    p, fermi_energy = _near_touching_case(ref)
    f = lambda e: jaxsot.electron_density(p.model, e, -1, route="rays")  # noqa: E731
    with pytest.raises(Exception, match=r"near band touching .* min/max Omega over the sea < 1e-3"):
        jax.block_until_ready(jax.jit(f)(fermi_energy))
    with pytest.raises(Exception, match="near band touching"):
        jax.block_until_ready(jax.grad(f)(fermi_energy))
    # Traced "auto" of a continuum model is the ray route with the same check (here under vmap).
    with pytest.raises(Exception, match="near band touching"):
        jax.block_until_ready(jax.vmap(lambda e: jaxsot.electron_density(p.model, e, -1))(jnp.full(2, fermi_energy)))


@pytest.mark.slow  # the near-touching estimate compiled (~8 CPU-s cold)
def test_the_default_rashba_sea_is_not_refused(ref):
    # `jaxsot run`'s defaults (alpha = 0.05 eV nm, J = 1 eV, theta = 60, phi = 30 deg, E_F = 1.5 eV):
    # Omega stays above 0.4 of its largest value over the sea; rays eagerly, under jit and grad.
    p = ref.make_case("run defaults", 0.05, 1.0, ref.angles_to_vector(math.radians(60.0), math.radians(30.0)))
    eager = float(jaxsot.electron_density(p.model, 1.5, -1, route="rays"))
    assert jaxsot.fermi_sea_route(p.model, 1.5) == "rays"
    assert float(jax.jit(lambda e: jaxsot.electron_density(p.model, e, -1, route="rays"))(1.5)) == pytest.approx(eager, rel=1e-12)
    # dn/dE_F = (1/(2 pi)^2) oint dl/|grad eps| against a finite difference of the eager density.
    slope = float(jax.grad(lambda e: jaxsot.electron_density(p.model, e, -1, route="rays"))(1.5))
    step = 1e-5
    fd = (float(jaxsot.electron_density(p.model, 1.5 + step, -1, route="rays")) - float(jaxsot.electron_density(p.model, 1.5 - step, -1, route="rays"))) / (2 * step)
    assert slope == pytest.approx(fd, rel=1e-6)


@pytest.mark.slow  # compiles the mesh route at the default mesh
def test_the_near_touching_estimate_under_vmap_matches_each_lane(ref):
    # The batched rule of `near_estimate` (one cond on any(near)) against the unbatched estimate of
    # each lane: the estimate where near, exactly 0 elsewhere, with a batched or an unbatched model.
    from jaxsot._fermi import _route

    p, fermi_energy = _near_touching_case(ref)
    energies = jnp.asarray([fermi_energy, fermi_energy + 0.02, fermi_energy + 0.05])
    want = np.array([float(_route.ray_spin_change(p.model, e)) for e in energies])
    assert np.all(want > 1e-6)
    for near in ([False, True, False], [False, False, False], [True, True, True]):
        near = jnp.asarray(near)
        got = np.asarray(jax.jit(jax.vmap(_route.near_estimate, in_axes=(0, None, 0)))(near, p.model, energies))
        np.testing.assert_allclose(got, np.where(np.asarray(near), want, 0.0), rtol=1e-9, atol=0)  # batched rounding: 2e-12
    # Batched model, unbatched predicate.
    models = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), p.model)
    got = np.asarray(jax.vmap(_route.near_estimate, in_axes=(None, 0, None))(jnp.asarray(True), models, energies[0]))
    np.testing.assert_allclose(got, [want[0], want[0]], rtol=1e-9)

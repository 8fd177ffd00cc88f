"""Fermi contours, Fermi-sea nodes and electron densities.

References: eigh energies on the returned points, scipy brentq radii on rays, scipy quad of
r(phi)^2/2 (area) and of sqrt(r^2 + r'^2) (perimeter, r' from the implicit-function theorem with
the closed-form gradient), the shoelace formula, and closed forms for M || z.
"""

import math

import jax
import numpy as np
import pytest
from scipy.integrate import quad

import jaxsot

CONFIGS = [(1.0, -1), (1.0, 1), (0.2, -1)]  # (E_F, band): both bands at 1 eV, lower only at 0.2 eV


def _radius_derivative(p, fermi_energy, band, phi, ref):
    """dr/dphi = -r (t . grad eps)/(n . grad eps) on the contour (implicit-function theorem)."""
    r = ref.fermi_radius(p, fermi_energy, band, phi)
    n = np.array([math.cos(phi), math.sin(phi)])
    t = np.array([-math.sin(phi), math.cos(phi)])
    g = ref.closed_energy_gradient(p, r * n, band)
    return r, -r * (t @ g) / (n @ g)


@pytest.mark.parametrize("fermi_energy, band", CONFIGS)
def test_contour_points_lie_on_the_fermi_level(case, fermi_energy, band, ref):
    k, dl = jaxsot.fermi_contour(case.model, fermi_energy, band, num=64)
    k, dl = np.asarray(k), np.asarray(dl)
    assert k.shape == (64, 2) and dl.shape == (64,)
    np.testing.assert_allclose(ref.eig_energy(case, k, band), fermi_energy, rtol=0, atol=1e-10)
    # Points lie on equally spaced rays and their radii are the brentq roots on those rays.
    phi = 2 * math.pi * np.arange(64) / 64
    np.testing.assert_allclose(np.arctan2(k[:, 1], k[:, 0]) % (2 * math.pi), phi, atol=1e-12)
    radii = np.array([ref.fermi_radius(case, fermi_energy, band, x) for x in phi])
    np.testing.assert_allclose(np.linalg.norm(k, axis=-1), radii, rtol=1e-12)
    assert np.all(dl > 0)


@pytest.mark.parametrize("fermi_energy, band", CONFIGS)
def test_contour_normals(case, fermi_energy, band, ref):
    k, dl, normal = jaxsot.fermi_contour_normals(case.model, fermi_energy, band, num=32)
    g = ref.closed_energy_gradient(case, np.asarray(k), band)
    np.testing.assert_allclose(np.asarray(normal), g / np.linalg.norm(g, axis=-1, keepdims=True), atol=1e-12)
    # Outward: the normal points away from k = 0 (star-shaped sea).
    assert np.all(np.sum(np.asarray(normal) * np.asarray(k), axis=-1) > 0)


@pytest.mark.parametrize("fermi_energy, band", CONFIGS)
def test_circular_contour_for_m_along_z(along_z, fermi_energy, band, ref):
    k_f = ref.circular_fermi_radius(along_z, fermi_energy, band)
    k, dl = jaxsot.fermi_contour(along_z.model, fermi_energy, band, num=48)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(k), axis=-1), k_f, rtol=1e-13)
    assert float(np.sum(dl)) == pytest.approx(2 * math.pi * k_f, rel=1e-13)
    density = float(jaxsot.electron_density(along_z.model, fermi_energy, band, num=48))
    assert density == pytest.approx(k_f**2 / (4 * math.pi), rel=1e-13)


def test_in_plane_contour_is_not_a_circle(in_plane, ref):
    for fermi_energy, band in CONFIGS:
        k, dl = jaxsot.fermi_contour(in_plane.model, fermi_energy, band, num=64)
        radius = np.linalg.norm(np.asarray(k), axis=-1)
        # The sea is displaced from k = 0 along the z x M axis: radii vary by more than a percent.
        assert (radius.max() - radius.min()) / radius.mean() > 1e-2
        # Perimeter from quad of sqrt(r^2 + r'^2) with brentq radii.
        perimeter = quad(
            lambda phi: math.hypot(*_radius_derivative(in_plane, fermi_energy, band, phi, ref)),
            0.0,
            2 * math.pi,
            epsabs=0,
            epsrel=1e-12,
            limit=200,
        )[0]
        assert float(np.sum(dl)) == pytest.approx(perimeter, rel=1e-11)
        # The contour's centroid is off the origin, on the z x M axis (eps is even under reflection
        # across that axis, k -> k - 2 (k.M_par) M_par for in-plane M).
        centroid = np.sum(np.asarray(k) * np.asarray(dl)[:, None], 0) / np.sum(dl)
        assert np.linalg.norm(centroid) > 1e-2 * radius.mean()
        assert abs(centroid @ in_plane.m[:2]) < 1e-10 * np.linalg.norm(centroid)


@pytest.mark.parametrize("fermi_energy, band", CONFIGS)
def test_area_and_density_against_quad(case, fermi_energy, band, ref):
    area = quad(lambda phi: 0.5 * ref.fermi_radius(case, fermi_energy, band, phi) ** 2, 0, 2 * math.pi, epsabs=0, epsrel=1e-13, limit=200)[0]
    density = float(jaxsot.electron_density(case.model, fermi_energy, band, num=64))
    assert density == pytest.approx(area / (2 * math.pi) ** 2, rel=1e-12)
    # Shoelace area of the fine polygon through the contour points converges (O(1/num^2)).
    k, _ = jaxsot.fermi_contour(case.model, fermi_energy, band, num=512)
    x, y = np.asarray(k).T
    shoelace = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    assert shoelace == pytest.approx(area, rel=1e-4)
    assert shoelace < area  # an inscribed polygon of a convex contour


def test_spectral_convergence_of_contour_sums(ref):
    # A strongly distorted contour: alpha = 0.15 eV nm, J = 0.5 eV, in-plane M, lower band at 0.2 eV.
    p = ref.make_case("distorted", 0.15, 0.5, ref.angles_to_vector(0.5 * math.pi, 0.3))

    def g(k):
        return np.exp(0.3 * k[:, 0]) * np.cos(0.2 * k[:, 1]) + k[:, 0] ** 2

    def contour_sum(num):
        k, dl = jaxsot.fermi_contour(p.model, 0.2, -1, num=num, route="rays")
        return float(np.sum(g(np.asarray(k)) * np.asarray(dl)))

    exact = contour_sum(512)
    errors = [abs(contour_sum(n) - exact) / abs(exact) for n in (16, 32, 64)]
    # Exponential convergence: each doubling gains far more than the 4x of a second-order rule.
    # Measured (radii 2.75..6.69 /nm): 1.4e-5 (16), 1.1e-8 (32), 2.5e-14 (64), 1.9e-16 (128).
    assert errors[0] < 1e-4
    assert errors[1] < 1e-2 * errors[0]
    assert errors[2] < 1e-12
    # The 512-point sum agrees with an adaptive quad of g(k(phi)) |dk/dphi|.
    def integrand(phi):
        r, dr = _radius_derivative(p, 0.2, -1, phi, ref)
        k = r * np.array([[math.cos(phi), math.sin(phi)]])
        return float(g(k)[0]) * math.hypot(r, dr)

    reference = quad(integrand, 0, 2 * math.pi, epsabs=0, epsrel=1e-12, limit=200)[0]
    assert exact == pytest.approx(reference, rel=1e-11)


@pytest.mark.parametrize("fermi_energy, band", CONFIGS)
def test_fermi_sea_nodes_integrate_over_the_sea(general, fermi_energy, band, ref):
    k, area = jaxsot.fermi_sea_nodes(general.model, fermi_energy, band, num_phi=64, num_r=12)
    k, area = np.asarray(k), np.asarray(area)
    assert k.shape == (64 * 12, 2) and area.shape == (64 * 12,)
    # Every node is inside the sea.
    assert np.all(ref.closed_energy(general, k, band) < fermi_energy)
    # Area and the second moment int kx^2 d^2k = int r^4 cos^2(phi)/4 dphi, against quad.
    total = quad(lambda phi: 0.5 * ref.fermi_radius(general, fermi_energy, band, phi) ** 2, 0, 2 * math.pi, epsrel=1e-13, limit=200)[0]
    moment = quad(
        lambda phi: 0.25 * ref.fermi_radius(general, fermi_energy, band, phi) ** 4 * math.cos(phi) ** 2,
        0,
        2 * math.pi,
        epsrel=1e-13,
        limit=200,
    )[0]
    assert float(np.sum(area)) == pytest.approx(total, rel=1e-12)
    assert float(np.sum(area * k[:, 0] ** 2)) == pytest.approx(moment, rel=1e-11)


@pytest.mark.parametrize("fermi_energy, band", CONFIGS)
def test_grad_of_electron_density(general, fermi_energy, band, ref):
    m = general.m

    def density(alpha, j_ex, e_f):
        return jaxsot.electron_density(jaxsot.RashbaFerromagnet(alpha, j_ex, m), e_f, band, num=64)

    grads = jax.grad(density, argnums=(0, 1, 2))(0.05, 0.5, fermi_energy)
    h = 1e-5
    point = np.array([0.05, 0.5, fermi_energy])
    for i in range(3):
        step = np.zeros(3)
        step[i] = h
        plus, minus = point + step, point - step
        fd = (
            ref.sea_density(ref.make_case("p", plus[0], plus[1], m), plus[2], band, num=64)
            - ref.sea_density(ref.make_case("m", minus[0], minus[1], m), minus[2], band, num=64)
        ) / (2 * h)
        # Central difference of the brentq/trapezoid density: truncation ~h^2, rounding ~1e-16/h.
        assert float(grads[i]) == pytest.approx(fd, rel=1e-7, abs=1e-9)
    assert abs(float(grads[2])) > 0.1  # dn/dE_F = density of states, far from zero


def test_empty_upper_band(along_z):
    # M || z: eps_+ >= J = 0.5 eV, so at E_F = 0.2 eV the upper band is empty.
    with pytest.raises(ValueError, match="empty"):
        jaxsot.fermi_contour(along_z.model, 0.2, 1, num=32)
    with pytest.raises(ValueError):
        jaxsot.fermi_sea_nodes(along_z.model, 0.2, 1, num_phi=32, num_r=4)
    assert float(jaxsot.electron_density(along_z.model, 0.2, 1, num=32)) == 0.0
    assert jaxsot.occupied_bands(along_z.model, 0.2) == (-1,)
    assert jaxsot.occupied_bands(along_z.model, 1.0) == (-1, 1)
    with pytest.raises(ValueError, match="fermi_energy"):
        jaxsot.occupied_bands(along_z.model, -0.6)  # below both bands (lower-band minimum eps_-(0) = -J = -0.5 eV)


@pytest.mark.parametrize("fermi_energy", [-0.0501, -0.06, -0.3])
def test_mexican_hat_annulus_goes_through_the_mesh(fermi_energy, ref):
    # alpha^2/(2c) = 1.18 eV > J = 0.05 eV: the lower band has a ring minimum and eps_-(0) = -J is a
    # local maximum; just below -J the sea is an annulus that does not contain k = 0.
    p = ref.make_case("hat", 0.3, 0.05, [0.0, 0.0, 1.0])
    # The rays refuse it, naming the cause and the route that works.
    with pytest.raises(ValueError, match="does not contain k = 0.*mesh"):
        jaxsot.fermi_contour(p.model, fermi_energy, -1, num=32, route="rays")
    assert jaxsot.fermi_sea_route(p.model, fermi_energy) == "mesh"
    # Closed form: c u^2 - ... eps_- = c k^2 - sqrt(J^2 + alpha^2 k^2) = E_F has the roots
    # u = k^2 = [(2 c E_F + alpha^2) +- sqrt(...)] / (2 c^2); the annulus lies between them.
    c, a, j = p.c, p.alpha, p.j_ex
    b = 2 * c * fermi_energy + a * a
    disc = b * b - 4 * c * c * (fermi_energy**2 - j * j)
    u_out, u_in = (b + math.sqrt(disc)) / (2 * c * c), (b - math.sqrt(disc)) / (2 * c * c)
    want = (u_out - u_in) / (4 * math.pi)
    got = float(jaxsot.electron_density(p.model, fermi_energy, -1))
    assert got == pytest.approx(want, rel=1e-6)  # measured 3.8e-7 at -0.06 eV (default MeshOptions)
    # The Fermi line is two circles: every point at radius sqrt(u_in) or sqrt(u_out), total length
    # 2 pi (k_in + k_out), each circle's length on its own (default MeshOptions). The inner circle
    # (k_in = 0.11 /nm at -0.06 eV) spans a few finest triangles; refined cut triangles next to it
    # have children whose edge the line crosses twice, which are refined too (before: 0.640 of
    # its 0.713 /nm lost that way).
    k, dl = jaxsot.fermi_contour(p.model, fermi_energy, -1)
    k, dl = np.asarray(k), np.asarray(dl)
    r = np.linalg.norm(k, axis=-1)
    k_in, k_out = math.sqrt(u_in), math.sqrt(u_out)
    on_circle = np.minimum(abs(r - k_in), abs(r - k_out))
    assert np.max(on_circle) < 1e-4 * k_out
    inner = r < 0.5 * (k_in + k_out)
    # At -0.0501 eV the hole has k_in = 0.011 /nm, inside one finest triangle (h ~ 0.03 /nm).
    assert float(np.sum(dl[inner])) == pytest.approx(2 * math.pi * k_in, rel=2e-5)  # measured 3.6e-7 at -0.06 eV
    assert float(np.sum(dl[~inner])) == pytest.approx(2 * math.pi * k_out, rel=1e-6)


def test_contour_input_validation(general):
    with pytest.raises(ValueError, match="num"):
        jaxsot.fermi_contour(general.model, 1.0, -1, num=4)
    with pytest.raises(ValueError, match="fermi_energy"):
        jaxsot.fermi_contour(general.model, float("nan"), -1, num=32)
    with pytest.raises(ValueError, match="band"):
        jaxsot.fermi_contour(general.model, 1.0, 0, num=32)


# ------------------------------------------------------------------------------------------------
# The one root solver (`ray_contour`): robustness near the band touching, NaN on failure, derivatives.


def _touching_case(ref):
    # In-plane M = x: the bands touch at k* = (J/alpha) z x M = (0, J/alpha), eps(k*) = c (J/alpha)^2.
    # With E_F 0.3 eV below that, rays near phi = pi/2 pass close to the cone tip of the lower band,
    # where eps_- is concave: plain Newton from the upper bound leaves the bracket and fails on one
    # of the 64 rays (measured: NaN, even with 100 steps); the safeguarded solve bisects there.
    p = ref.make_case("touching", 0.3, 1.0, [1.0, 0.0, 0.0])
    return p, p.c * (p.j_ex / p.alpha) ** 2 - 0.3


def test_ray_contour_near_the_band_touching_matches_brentq(ref):
    from jaxsot._fermi._contour import contour_points

    p, fermi_energy = _touching_case(ref)
    assert jaxsot.fermi_sea_status(p.model, fermi_energy, -1) == "occupied"
    contour = contour_points(p.model, jax.numpy.asarray(fermi_energy), -1.0, 64)
    phi = 2 * math.pi * np.arange(64) / 64
    radii = np.array([ref.fermi_radius(p, fermi_energy, -1, x) for x in phi])
    np.testing.assert_allclose(np.asarray(contour.radius), radii, rtol=1e-12)
    # Normals and |grad eps| against the closed-form gradient at the brentq points.
    k = radii[:, None] * np.stack([np.cos(phi), np.sin(phi)], -1)
    g = ref.closed_energy_gradient(p, k, -1)
    np.testing.assert_allclose(np.asarray(contour.normal) * np.asarray(contour.gradient_norm)[:, None], g, rtol=1e-10, atol=1e-12)


def test_ray_contour_is_nan_where_there_is_no_root(along_z):
    from jaxsot._fermi._contour import contour_points

    # M || z, E_F = 0.2 eV < J: the upper band is empty, g(r) = eps_+ - E_F > 0 on every ray.
    contour = contour_points(along_z.model, jax.numpy.asarray(0.2), 1.0, 16)
    assert np.all(np.isnan(np.asarray(contour.radius)))
    assert np.all(np.isnan(np.asarray(contour.dl)))


def test_ray_contour_traced_band_sign_and_forward_mode(general, ref):
    from jaxsot._fermi._contour import ray_contour

    model, fermi_energy = general.model, jax.numpy.asarray(ref.EF_BOTH)
    # A traced band sign (one copy of the solve for both bands, as in the fit) gives each band's contour.
    radii = jax.jit(jax.vmap(lambda s: ray_contour(model, fermi_energy, s, 32).radius))(jax.numpy.asarray([-1.0, 1.0]))
    phi = 2 * math.pi * np.arange(32) / 32
    for row, band in zip(np.asarray(radii), (-1, 1)):
        np.testing.assert_allclose(row, [ref.fermi_radius(general, ref.EF_BOTH, band, x) for x in phi], rtol=1e-12)
    # Forward mode through the solve: dr/dE_F = 1/(n . grad eps) on each ray (implicit-function theorem).
    _, tangent = jax.jvp(lambda e: ray_contour(model, e, -1.0, 32).radius, (fermi_energy,), (jax.numpy.ones_like(fermi_energy),))
    expected = []
    for x in phi:
        n = np.array([math.cos(x), math.sin(x)])
        r = ref.fermi_radius(general, ref.EF_BOTH, -1, x)
        expected.append(1.0 / (n @ ref.closed_energy_gradient(general, r * n, -1)))
    np.testing.assert_allclose(np.asarray(tangent), expected, rtol=1e-10)

"""Fermi contours, Fermi-sea quadrature and electron densities (docs: Theory > Ensembles and dynamics).

The occupied region of band s at T = 0, {eps_s(k) < E_F}, is described on rays from k = 0:
k(phi) = r(phi) (cos phi, sin phi). r(phi) comes from one root solver, `ray_contour` (Newton from
a safe upper bound, bisection where Newton would leave the bracket, and a final Newton step whose
derivative is the implicit-function one), so contours are differentiable in the model and in E_F;
every contour of the package (ensembles, transport, LLG, fit, sweeps) is computed by it. A uniform
phi grid with the trapezoid rule is spectrally accurate for these smooth periodic integrands. The
ray description requires the Fermi sea to contain k = 0 and to be star-shaped about it;
`fermi_sea_status` checks that on concrete inputs and explains what is not supported.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._bands._arrays import spin_splitting
from .._bands._kernels import energy
from .._bands._touching import exchange_scale
from .._bands._touching_search import touching_report
from .._core._checks import check_band, check_count, check_finite, check_real_scalar, float_dtype, is_concrete
from .._core._model_check import check_model
from .._core._model import TwoBandModel
from ..constants import AREA_MEASURE


MAX_ROOT_STEPS = 100
"""Iteration cap of the safeguarded Newton solve in `ray_contour` (bisection alone needs ~50 in float64)."""

RESIDUAL_TOLERANCE = 1e-6
"""|eps_s(k) - E_F| above this times (|E_F| + J) marks a contour point as not converged (NaN)."""

PROBE_RAYS = 96
PROBE_RADII = 600


def outer_radius(model, fermi_energy):
    """A radius beyond which eps_s(k) > E_F for both bands [1/nm]: the lower band's `ray_bound`, with a margin.

    eps_+ >= eps_-, so the lower band's bound covers both. Traceable.
    """
    return model.ray_bound(fermi_energy, -1.0) * 1.01 + 1e-6


SEA_EMPTY, SEA_OCCUPIED, SEA_NO_ORIGIN, SEA_NOT_STAR = 0, 1, 2, 3
"""Codes of `classify_seas`: empty band; occupied and star-shaped about k = 0 (supported); the
sea does not contain k = 0; a ray from k = 0 crosses the Fermi level more than once."""


def origin_energy(model, s):
    """eps_s(k = 0) [eV] (traceable)."""
    zero = jnp.zeros((), model.dtype)
    return energy(model, zero, zero, s)


PROBE_FRACTIONS = onp.linspace(0.0, 1.0, PROBE_RADII)
"""Radii of the probe grid as fractions of `outer_radius`."""


def probe_directions(xp=onp):
    """(cos phi, sin phi) of the PROBE_RAYS probe rays, shaped (PROBE_RAYS, 1) to broadcast against radii."""
    phi = onp.linspace(0.0, 2.0 * onp.pi, PROBE_RAYS, endpoint=False)
    return xp.asarray(onp.cos(phi)[:, None]), xp.asarray(onp.sin(phi)[:, None])


def classify_seas(eps, fermi_energy, origin, *, xp=onp):
    """The test of `fermi_sea_status` on band energies sampled on the probe grid.

    eps: (..., PROBE_RAYS, PROBE_RADII) eps_s [eV] on rays from k = 0 out to `outer_radius`;
    fermi_energy, origin: (...) E_F and eps_s(0) [eV]. xp: numpy or jax.numpy.
    Returns: (codes (...) int8 `SEA_*`, band minimum on the grid (...) [eV], most crossings of the
        Fermi level on one ray (...) int).
    """
    below = eps < fermi_energy[..., None, None]
    empty = ~xp.any(below, axis=(-2, -1))
    no_origin = origin >= fermi_energy
    crossings = xp.sum(below[..., :-1] != below[..., 1:], axis=-1)
    not_star = xp.any(crossings != 1, axis=-1)
    codes = xp.where(empty, SEA_EMPTY, xp.where(no_origin, SEA_NO_ORIGIN, xp.where(not_star, SEA_NOT_STAR, SEA_OCCUPIED)))
    return codes.astype(xp.int8), eps.min(axis=(-2, -1)), crossings.max(axis=-1)


@jax.jit
def probe_sea(model, fermi_energy, s):
    cos, sin = probe_directions(jnp)
    radius = outer_radius(model, fermi_energy) * jnp.asarray(PROBE_FRACTIONS, fermi_energy.dtype)[None, :]
    eps = energy(model, radius * cos, radius * sin, s)
    return classify_seas(eps, fermi_energy, origin_energy(model, s), xp=jnp)


def fermi_sea_status(model: TwoBandModel, fermi_energy, band: int) -> str:
    """Classify the T = 0 Fermi sea of one band: "occupied" or "empty", checking the ray route's preconditions.

    For a lattice model (`TwoBandModel.lattice_vectors`) only emptiness is decided (the minimum of
    the band over its Brillouin zone); its seas always go through the mesh route. For a continuum
    model this raises ValueError, with what is allowed, when the sea is occupied but cannot be
    described on rays from k = 0: it does not contain k = 0 (an annulus, a pocket away from k = 0,
    or an upper band occupied only near a band touching), or a ray crosses the Fermi level more than
    once (`classify_seas` on PROBE_RAYS x PROBE_RADII energies out to `outer_radius`). Such seas are
    integrated by the mesh route (route = "auto" or "mesh" of the public sea functions). Concrete
    inputs only (returns "occupied" without checking under tracing; the public functions attach
    traced checks instead).

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV].
        band: +1 (upper) or -1 (lower).

    Returns:
        "occupied" or "empty".

    Raises:
        ValueError: a continuum sea that the rays cannot describe (the message names why).
    """
    from ._route import band_occupied_on_grid

    s = check_band(band)
    check_finite("fermi_energy", fermi_energy)
    if not is_concrete(model, fermi_energy):
        return "occupied"
    e_f = float(fermi_energy)
    with jax.ensure_compile_time_eval():  # concrete inputs captured by a function under jit
        if model.lattice_vectors is not None:
            return "occupied" if band_occupied_on_grid(model, e_f, s) else "empty"
        code, minimum, most = (onp.asarray(x) for x in probe_sea(model, jnp.asarray(e_f, model.dtype), jnp.asarray(float(s), model.dtype)))
        eps_origin = float(origin_energy(model, float(s)))
    if code == SEA_EMPTY:
        return "occupied" if band_occupied_on_grid(model, e_f, s) else "empty"
    if code == SEA_NO_ORIGIN:
        raise ValueError(
            f"fermi_energy = {e_f:g} eV: the Fermi sea of band {s:+d} does not contain k = 0 "
            f"(eps_{s:+d}(0) = {eps_origin:g} eV, band minimum ~ {float(minimum):.4g} eV: an annulus, a pocket away "
            f"from k = 0, or a sea around a band touching), so the ray route does not apply; allowed: route = 'auto' "
            f"or 'mesh' of the sea functions (any sea), or fermi_energy > {eps_origin:g} eV for the rays"
        )
    if code == SEA_NOT_STAR and int(most) <= 1:
        raise ValueError(
            f"fermi_energy = {e_f:g} eV: a ray from k = 0 never crosses the Fermi level of band {s:+d} within the "
            "model's ray_bound: the sea is unbounded, or the bands are periodic (a lattice model must declare "
            "lattice_vectors to be integrated over its Brillouin zone); allowed: a bounded sea, or lattice_vectors"
        )
    if code == SEA_NOT_STAR:
        raise ValueError(
            f"fermi_energy = {e_f:g} eV: the Fermi sea of band {s:+d} is not star-shaped about k = 0 "
            f"(a ray from k = 0 crosses the Fermi level {int(most)} times), so the ray route does not apply; "
            "allowed: route = 'auto' or 'mesh' of the sea functions (any sea)"
        )
    return "occupied"


def _band_status(model, fermi_energy, s) -> str:
    """"occupied" or "empty" for any sea (no ray preconditions; concrete inputs)."""
    from ._route import band_occupied_on_grid

    with jax.ensure_compile_time_eval():  # concrete inputs captured by a function under jit
        if model.lattice_vectors is None:
            code, _, _ = probe_sea(model, jnp.asarray(float(fermi_energy), model.dtype), jnp.asarray(float(s), model.dtype))
            if int(code) != SEA_EMPTY:
                return "occupied"
        return "occupied" if band_occupied_on_grid(model, float(fermi_energy), s) else "empty"


def occupied_bands(model: TwoBandModel, fermi_energy, bands=None) -> tuple[int, ...]:
    """The bands (-1 lower, +1 upper) with a non-empty Fermi sea at E_F (any sea topology).

    Which bands are occupied is a discrete choice that traced values cannot make: inside
    `jax.grad`, `jax.jit` or `jax.vmap` pass `bands` explicitly (e.g. (-1,) or (-1, 1), found
    once on concrete values with this function); the sea functions then check them with traced
    checks. Given `bands` are checked against the model when the values are concrete, and
    returned sorted. A band is occupied when its minimum (grid over the Brillouin zone or the
    sea's bounding box, polished by Newton steps) lies below E_F.
    """
    if bands is not None:
        chosen = tuple(sorted({check_band(b) for b in bands}))
        if not chosen:
            raise ValueError("bands = () is not allowed; allowed: a non-empty subset of (-1, 1)")
        if is_concrete(model, fermi_energy):
            actual = occupied_bands(model, fermi_energy)
            if chosen != actual:
                raise ValueError(
                    f"bands = {chosen} does not match the occupied bands {actual} at fermi_energy = "
                    f"{float(fermi_energy):g} eV; allowed: {actual}"
                )
        return chosen
    if not is_concrete(model, fermi_energy):
        raise ValueError(
            "bands = None with traced inputs (inside jax.grad, jax.jit or jax.vmap): which bands are occupied "
            "cannot be decided from traced values; allowed: pass bands explicitly, e.g. bands=(-1,) or (-1, 1) "
            "(jaxsot.occupied_bands on concrete values tells which)"
        )
    check_finite("fermi_energy", fermi_energy)
    bands = tuple(s for s in (-1, 1) if _band_status(model, fermi_energy, s) == "occupied")
    if not bands:
        raise ValueError(
            f"fermi_energy = {float(fermi_energy):g} eV lies below both bands: no electrons; "
            "allowed: a Fermi energy above the lower band's minimum"
        )
    return bands


class FermiContour(NamedTuple):
    """The Fermi contour of one band on `num` equally spaced rays phi_j = 2 pi j/num (`ray_contour`).

    k (num, 2) [1/nm]; dl (num,) trapezoid line weights [1/nm] (sum g dl ~ oint g dl, spectrally
    accurate); normal (num, 2) outward unit normals grad eps/|grad eps|; gradient_norm (num,)
    |grad eps| = hbar |v| [eV nm]; radius (num,) r(phi_j) [1/nm]. NaN where the root did not converge.
    """

    k: Array
    dl: Array
    normal: Array
    gradient_norm: Array
    radius: Array


def _residual_tolerance(dtype):
    return max(RESIDUAL_TOLERANCE, 64.0 * float(jnp.finfo(dtype).eps))


def ray_contour(model, fermi_energy, s, num: int) -> FermiContour:
    """The exact Fermi contour eps_s(k) = E_F of band s on `num` rays from k = 0: the one root solver.

    On the ray k = r (cos phi, sin phi), g(r) = eps_s(r) - E_F, bracketed by g(0) = s J - E_F < 0 (the
    sea contains k = 0) and g(r_u) >= 0 (the model's `ray_bound`, doubled on any ray where it is not
    above E_F). Newton starts from r_u, where g is
    convex on [root, r_u] away from the band touching, so it descends monotonically (quadratic
    convergence, ~6-10 steps); a Newton step that leaves the bracket [low, high] (near the band
    touching, where Omega has a kink, or where the slope vanishes) is replaced by bisection, so every
    ray converges like bisection at worst (at most MAX_ROOT_STEPS steps; iterations stop when every
    ray has converged to a few ulps). The iterations see no gradients (stop_gradient); one final
    Newton step from the converged root, r = r0 - g(r0)/stop_gradient(g'(r0)), moves the value by
    ~0 and carries the implicit-function derivative dr/dp = -(dg/dp)/(dg/dr), so the contour is
    differentiable (jax.grad, jvp) in the model and E_F. A residual |g(r0)| above
    RESIDUAL_TOLERANCE (|E_F| + J) (or 64 ulp in float32) is returned as NaN, never as a silently
    wrong contour (e.g. an empty band).

    Traceable (jit/vmap/grad; s may be a traced float); `num` is static. The ray description
    requires a star-shaped sea about k = 0 (`fermi_sea_status` checks that on concrete inputs).
    Returns a `FermiContour` in the model's dtype.
    """
    dtype = model.dtype
    phi = jnp.arange(num, dtype=dtype) * (2.0 * jnp.pi / num)
    cos, sin = jnp.cos(phi), jnp.sin(phi)
    frozen_model = jax.lax.stop_gradient(model)
    frozen_ef = jax.lax.stop_gradient(fermi_energy)

    def ray_energy(m, r, c, sn):
        return energy(m, r * c, r * sn, s)

    value_and_slope = jax.vmap(jax.value_and_grad(ray_energy, argnums=1), in_axes=(None, 0, 0, 0))
    tolerance = 8.0 * float(jnp.finfo(dtype).eps)

    def unconverged(state):
        active, _, _, _, count = state
        return (count < MAX_ROOT_STEPS) & jnp.any(active)

    def safeguarded_newton(state):
        active, r, low, high, count = state
        value, slope = value_and_slope(frozen_model, r, cos, sin)
        value = value - frozen_ef
        below = value < 0.0
        low = jnp.where(below, r, low)
        high = jnp.where(below, high, r)
        newton = r - value / slope
        # NaN (zero or undefined slope) fails the comparisons and falls back to bisection too.
        inside = (newton >= low) & (newton <= high)
        new = jnp.where(inside, newton, 0.5 * (low + high))
        # A converged ray is frozen: the result does not depend on the other rays (or vmap lanes).
        new = jnp.where(active, new, r)
        converged = (jnp.abs(new - r) <= tolerance * r) | (high - low <= tolerance * high)
        return active & ~converged, new, low, high, count + 1

    bound = frozen_model.ray_bound(frozen_ef, s)
    high = jnp.broadcast_to(bound, (num,)).astype(dtype)

    def still_below(state):
        radius, count = state
        return jnp.any(jax.vmap(ray_energy, in_axes=(None, 0, 0, 0))(frozen_model, radius, cos, sin) < frozen_ef) & (count < 200)

    def widen(state):
        radius, count = state
        below = jax.vmap(ray_energy, in_axes=(None, 0, 0, 0))(frozen_model, radius, cos, sin) < frozen_ef
        return jnp.where(below, 2.0 * radius, radius), count + 1

    if not model.ray_bound_is_safe:
        # A bound that is not above E_F on some ray (a loose generic `ray_bound`) is doubled there.
        high, _ = jax.lax.while_loop(still_below, widen, (high, 0))
    start = (jnp.ones(num, bool), high, jnp.zeros(num, dtype), high, jnp.asarray(0))
    _, root, _, _, _ = jax.lax.while_loop(unconverged, safeguarded_newton, start)
    root = jax.lax.stop_gradient(root)

    grad_energy = jax.vmap(jax.grad(energy, argnums=(1, 2)), in_axes=(None, 0, 0, None))
    gx, gy = grad_energy(frozen_model, root * cos, root * sin, s)
    radial_slope = gx * cos + gy * sin
    residual = jax.vmap(ray_energy, in_axes=(None, 0, 0, 0))(model, root, cos, sin) - fermi_energy
    # The implicit-function step (see the docstring): its value moves by ~0.
    radius = root - residual / radial_slope
    exchange = frozen_model.exchange_field()
    scale = jnp.abs(frozen_ef) + jnp.sqrt(exchange[0] ** 2 + exchange[1] ** 2 + exchange[2] ** 2)
    ok = jnp.abs(jax.lax.stop_gradient(residual)) <= _residual_tolerance(dtype) * scale
    radius = jnp.where(ok, radius, jnp.nan)

    kx, ky = radius * cos, radius * sin
    gx, gy = grad_energy(model, kx, ky, s)
    radial_slope = gx * cos + gy * sin
    tangential_slope = -gx * sin + gy * cos
    dr_dphi = -radius * tangential_slope / radial_slope
    dl = jnp.sqrt(radius**2 + dr_dphi**2) * (2.0 * jnp.pi / num)
    norm = jnp.sqrt(gx**2 + gy**2)
    return FermiContour(jnp.stack([kx, ky], -1), dl, jnp.stack([gx / norm, gy / norm], -1), norm, radius)


def contour_density(radius: Float[Array, " num"]) -> Float[Array, ""]:
    """Electron density of one band [1/nm^2] from its contour radii on equally spaced rays.

    The sea's area (1/2) oint r(phi)^2 dphi (trapezoid rule, spectrally accurate) times the measure
    AREA_MEASURE = 1/(2 pi)^2 (no spin factor 2: the bands are spin-split). Traceable.
    """
    num = radius.shape[0]
    return 0.5 * jnp.sum(radius**2) * (2.0 * jnp.pi / num) * AREA_MEASURE


@functools.partial(jax.jit, static_argnums=(3,))
def contour_points(model, fermi_energy, s, num):
    """`ray_contour` compiled, for concrete callers (s static). Returns a `FermiContour`."""
    return ray_contour(model, fermi_energy, s, num)


def _checked_inputs(model, fermi_energy, band, num, name="num"):
    s = check_band(band)
    num = check_count(name, num, minimum=8)
    check_model(model)
    fermi_energy = check_real_scalar("fermi_energy", fermi_energy, unit="eV")
    dtype = float_dtype(jnp.asarray(fermi_energy), model.dtype)
    return s, num, model.astype(dtype), jnp.asarray(fermi_energy, dtype)


def _band_route(model, fermi_energy, s, route, mesh):
    """(route that runs, occupied?) for one band of the public single-band functions.

    Concrete inputs: emptiness from `occupied_bands`' test, then `choose_route`; an explicit
    route = "rays" checks the ray preconditions (`fermi_sea_status` raises with the reason).
    Traced inputs: the route from `choose_route` (its checks are attached to the result)."""
    from ._mesh import check_mesh_options
    from ._route import check_route, choose_route

    check_route(route)
    check_mesh_options(mesh)
    if not is_concrete(model, fermi_energy):
        return choose_route(model, fermi_energy, (s,), route), True
    if _band_status(model, fermi_energy, s) == "empty":
        return choose_route(model, fermi_energy, (s,), "mesh" if route == "auto" else route), False
    chosen = choose_route(model, fermi_energy, (s,), route)
    if chosen == "rays":
        fermi_sea_status(model, fermi_energy, s)
    return chosen, True


def _mesh_band(model, fermi_energy, s, mesh):
    from ._route import sea_ensemble

    return sea_ensemble(model, fermi_energy, (s,), "mesh", mesh=mesh, all_bands=False)


def _empty_band_error(s, fermi_energy):
    return ValueError(
        f"band = {s:+d} is empty at fermi_energy = {float(fermi_energy):g} eV: it has no Fermi contour or sea; "
        "allowed: a band that is occupied (see jaxsot.occupied_bands)"
    )


def fermi_contour(
    model: TwoBandModel, fermi_energy, band: int, num: int = 256, *, route: str = "auto", mesh=None
) -> tuple[Float[Array, "num 2"], Float[Array, " num"]]:
    """Points on the Fermi line eps_band(k) = E_F and their line weights: sum(g(k) * dl) ~ oint g dl.

    Ray route: a root solve on `num` equally spaced rays from k = 0, spectrally accurate (trapezoid
    rule in the ray angle). Mesh route (lattice models, pockets, annuli, open lines crossing the zone
    boundary, ...): three Gauss points on the parabolic arc of every triangle cut by the line
    (`jaxsot.MeshOptions`; O(h^4)), in no particular order; then `num` is not used. Differentiable in
    the model and E_F on both routes.

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV].
        band: +1 or -1.
        num: number of rays (>= 8; ray route).
        route: "auto" (default: `jaxsot.fermi_sea_route`), "rays" or "mesh".
        mesh: `jaxsot.MeshOptions` (or an int number of coarse cells) of the mesh route.

    Returns:
        k (M, 2) [1/nm] and dl (M,) [1/nm] (M = num on the ray route).

    Raises:
        ValueError: the band is empty at E_F, or route = "rays" on a sea the rays cannot describe.
    """
    s, num, model, fermi_energy = _checked_inputs(model, fermi_energy, band, num)
    chosen, occupied = _band_route(model, fermi_energy, s, route, mesh)
    if not occupied:
        raise _empty_band_error(s, fermi_energy)
    if chosen == "mesh":
        _, contour, _, extras, _ = _mesh_band(model, fermi_energy, s, mesh)
        return contour[0], extras[0]
    if not is_concrete(model, fermi_energy):
        from ._route import checked_ray_nodes

        _, contour, _, extras, _ = checked_ray_nodes(model, fermi_energy, (s,), num, 2, all_bands=False)
        return contour[0], extras[0]
    contour = contour_points(model, fermi_energy, float(s), num)
    return contour.k, contour.dl


def fermi_contour_normals(model: TwoBandModel, fermi_energy, band: int, num: int = 256, *, route: str = "auto", mesh=None):
    """Like `fermi_contour`, plus the outward unit normals grad eps/|grad eps| (M, 2) (same arguments)."""
    s, num, model, fermi_energy = _checked_inputs(model, fermi_energy, band, num)
    chosen, occupied = _band_route(model, fermi_energy, s, route, mesh)
    if not occupied:
        raise _empty_band_error(s, fermi_energy)
    if chosen == "mesh" or not is_concrete(model, fermi_energy):
        if chosen == "mesh":
            _, contour, _, extras, _ = _mesh_band(model, fermi_energy, s, mesh)
        else:
            from ._route import checked_ray_nodes

            _, contour, _, extras, _ = checked_ray_nodes(model, fermi_energy, (s,), num, 2, all_bands=False)
        dl = extras[0]
        normal = contour[1] / jnp.where(dl > 0, dl, 1.0)[:, None]
        return contour[0], dl, normal
    contour = contour_points(model, fermi_energy, float(s), num)
    return contour.k, contour.dl, contour.normal


@functools.partial(jax.jit, static_argnums=(3, 4))
def sea_nodes(model, fermi_energy, s, num_phi, num_r):
    """Compiled polar nodes (k (num_phi num_r, 2), area) of band s's sea (s, num_phi, num_r static)."""
    return polar_sea_nodes(ray_contour(model, fermi_energy, s, num_phi).radius, num_r)


def polar_sea_nodes(radius, num_r):
    """Polar Gauss-Legendre nodes (num_phi * num_r, 2) and areas of a star-shaped sea r < radius(phi).

    radius: (num_phi,) [1/nm] on equally spaced rays phi_j = 2 pi j/num_phi (traceable).
    """
    num_phi = radius.shape[0]
    dtype = radius.dtype
    nodes, weights = onp.polynomial.legendre.leggauss(num_r)
    t = jnp.asarray(0.5 * (nodes + 1.0), dtype)
    w = jnp.asarray(0.5 * weights, dtype)
    phi = jnp.arange(num_phi, dtype=dtype) * (2.0 * jnp.pi / num_phi)
    r = radius[:, None] * t[None, :]
    k = jnp.stack([r * jnp.cos(phi)[:, None], r * jnp.sin(phi)[:, None]], -1)
    # d^2k = r dr dphi with dr = radius dt.
    area = r * radius[:, None] * w[None, :] * (2.0 * jnp.pi / num_phi)
    return k.reshape(-1, 2), area.reshape(-1)


def fermi_sea_nodes(
    model: TwoBandModel, fermi_energy, band: int, num_phi: int = 128, num_r: int = 16, *, route: str = "auto", mesh=None
):
    """Quadrature nodes for integrals over the T = 0 Fermi sea of one band: sum(g(k) * w) ~ int_sea g d^2k.

    Ray route: polar Gauss-Legendre on the star-shaped sea, spectrally accurate in angle and
    Gauss-accurate in radius for smooth g (num_phi * num_r nodes). Mesh route: the adaptive triangle
    mesh (module `_mesh`; lattice models over their Brillouin zone, any sea topology; O(h^4)).

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV].
        band: +1 or -1.
        num_phi: rays (>= 8; ray route).
        num_r: radial nodes per ray (>= 2; ray route).
        route: "auto" (default), "rays" or "mesh".
        mesh: `jaxsot.MeshOptions` of the mesh route.

    Returns:
        k (N, 2) [1/nm] and w (N,) [1/nm^2] (weights; on the mesh route the parabolic segments along
        the Fermi line may carry negative weights).

    Raises:
        ValueError: the band is empty, or route = "rays" on a sea the rays cannot describe.
    """
    s, num_phi, model, fermi_energy = _checked_inputs(model, fermi_energy, band, num_phi, "num_phi")
    num_r = check_count("num_r", num_r, minimum=2)
    chosen, occupied = _band_route(model, fermi_energy, s, route, mesh)
    if not occupied:
        raise _empty_band_error(s, fermi_energy)
    if chosen == "mesh":
        sea, _, _, _, _ = _mesh_band(model, fermi_energy, s, mesh)
        return sea[0], sea[1]
    if not is_concrete(model, fermi_energy):
        from ._route import checked_ray_nodes

        sea, _, _, _, _ = checked_ray_nodes(model, fermi_energy, (s,), num_phi, num_r, all_bands=False)
        return sea[0], sea[1]
    return sea_nodes(model, fermi_energy, float(s), num_phi, num_r)


def electron_density(model: TwoBandModel, fermi_energy, band: int, num: int = 256, *, route: str = "auto", mesh=None) -> Float[Array, ""]:
    """T = 0 electron density of one band [1/nm^2]: (area of the Fermi sea)/(2 pi)^2.

    No spin factor 2: the bands are spin-split. An empty band gives 0. Ray route: the area
    (1/2) oint r(phi)^2 dphi, spectrally accurate; mesh route: the sum of the mesh weights (any sea,
    lattice models over their Brillouin zone). Differentiable; under tracing the route's
    preconditions are checked at run time (`equinox.error_if`).

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV].
        band: +1 or -1.
        num: rays (ray route).
        route: "auto" (default), "rays" or "mesh".
        mesh: `jaxsot.MeshOptions` of the mesh route.

    Returns:
        n (scalar) [1/nm^2].
    """
    s, num, model, fermi_energy = _checked_inputs(model, fermi_energy, band, num)
    chosen, occupied = _band_route(model, fermi_energy, s, route, mesh)
    if not occupied:
        return jnp.zeros((), fermi_energy.dtype)
    if chosen == "mesh":
        _, _, densities, _, _ = _mesh_band(model, fermi_energy, s, mesh)
        return densities[0 if s < 0 else 1]
    if not is_concrete(model, fermi_energy):
        from ._route import checked_ray_nodes

        _, _, densities, _, _ = checked_ray_nodes(model, fermi_energy, (s,), num, 2, all_bands=False)
        return densities[0 if s < 0 else 1]
    return contour_density(contour_points(model, fermi_energy, float(s), num).radius)


def band_touching_report(model: TwoBandModel, fermi_energy) -> str | None:
    """A sentence when a band touching point k* lies in or near an occupied Fermi sea, else None.

    The model's own touching points (`touching_points()` / `touching_point()`), else those found by
    a grid + Newton search of |b(k)| over the zone or the sea's bounding square. Near k* (Omega -> 0)
    velocities and spin forces diverge; per-band sea integrals become inaccurate even though the sum
    over both bands stays finite.
    """
    with jax.ensure_compile_time_eval():  # concrete inputs captured by a function under jit
        return touching_report(model, fermi_energy, exchange_scale(model))

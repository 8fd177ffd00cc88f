"""Which Fermi-sea route runs: the exact ray solver or the general mesh (docs: Theory > Brillouin-zone
and Fermi-sea integration).

- "rays": `ray_contour` on equally spaced rays from k = 0 with polar Gauss-Legendre sea nodes;
  spectrally accurate, but only for a continuum sea that contains k = 0 and is star-shaped about it.
- "mesh": the adaptively refined triangle mesh of `_mesh` (any topology, lattice models over their
  Brillouin zone, O(h^4)).
- "auto" (the default of every public sea function): "mesh" for a lattice model; for a continuum
  model "rays" when every occupied sea passes the ray test (`fermi_sea_status`: probe rays, then the grid
  test `star_violation`) and no band touching
  lies in or near the sea (the splitting Omega on the probe grid of the sea stays above
  NEAR_TOUCHING_RATIO of its largest value there), else "mesh". Under tracing the choice cannot look
  at values: "auto" is "rays" for a continuum model, whose preconditions are then enforced by
  traced checks (`ray_checks`, `equinox.error_if`), and "mesh" for a lattice model.
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as onp

from .._bands._kernels import energy, spin, splitting
from .._core._checks import is_concrete
from ..constants import AREA_MEASURE
from . import _mesh, _mesh_concrete
from ._guard import branched_guard
from ._guard import guard as guard
from ._occupation import PROBE_FRACTIONS, SEA_EMPTY, SEA_NOT_STAR, SEA_OCCUPIED, classify_seas, star_violation, occupied_bands, probe_directions, probe_star
from ._occupation import band_minimum as band_minimum
from ._occupation import fermi_sea_status
from ._occupation import band_occupied_on_grid as band_occupied_on_grid
from ._rays import contour_density, origin_energy, outer_radius, polar_sea_nodes, ray_contour

ROUTES = ("auto", "rays", "mesh")

NEAR_TOUCHING_RATIO = 0.1
""""auto" leaves the rays when min Omega < NEAR_TOUCHING_RATIO max Omega over the probed sea: a band
touching (or a small gap) in or near the sea makes the integrands vary on a scale the polar nodes do
not resolve."""


def check_route(route) -> str:
    """Validate the `route` argument of the public sea functions."""
    if route not in ROUTES:
        raise ValueError(f"route = {route!r} is not allowed; allowed: 'auto', 'rays' or 'mesh'")
    return route


def is_lattice(model) -> bool:
    return model.lattice_vectors is not None


@jax.jit
def _probe_splitting(model, fermi_energy):
    """(min Omega, max Omega) over the probe grid points inside the lower band's sea, the probe point
    k (2,) [1/nm] of the smallest Omega and eps_- there [eV] (traceable)."""
    cos, sin = probe_directions(jnp)
    radius = outer_radius(model, fermi_energy) * jnp.asarray(PROBE_FRACTIONS, fermi_energy.dtype)[None, :]
    kx, ky = radius * cos, radius * sin
    lower = energy(model, kx, ky, -1.0)
    inside = lower < fermi_energy
    split = splitting(model, kx, ky)
    omega = jnp.where(inside, split, jnp.inf)
    where = jnp.argmin(omega)
    high = jnp.max(jnp.where(inside, split, -jnp.inf))
    k = jnp.stack([kx.reshape(-1)[where], ky.reshape(-1)[where]])
    return jnp.min(omega), high, k, lower.reshape(-1)[where]


def near_touching(model, fermi_energy) -> bool:
    """True when a band touching (or a small gap) lies in or near the Fermi sea (concrete inputs)."""
    low, high, _, _ = _probe_splitting(model, jnp.asarray(fermi_energy, model.dtype))
    low, high = float(low), float(high)
    return bool(high > 0 and low < NEAR_TOUCHING_RATIO * high)


RAYS_TOLERANCE = 1e-6
"""route = "rays" on a near-touching sea (min Omega < NEAR_TOUCHING_RATIO max Omega) is refused when the
ray route's error estimate (`ray_spin_change`) exceeds this (the default tolerance of the sea integrals):
a gap of a few % of the largest splitting is still resolved spectrally (measured 3e-10 at 5.9 %),
a touching point within 0.1 eV of E_F is not (2e-4 to 5e-3, not shrinking with more rays)."""


def ray_spin_change(model, fermi_energy, num_phi=128, num_r=16):
    """|S(num_phi, num_r) - S(num_phi/2, num_r/2)| / |S| of the lower band's sea spin density on the ray
    route (inf when a root does not converge): the ray route's error estimate near a band touching
    (measured against the mesh it has the right order: 0.3x to 4x the true error). Traceable."""
    values = []
    for phi, r in ((num_phi, num_r), (num_phi // 2, num_r // 2)):
        k, area = polar_sea_nodes(ray_contour(model, fermi_energy, -1.0, phi).radius, r)
        sx, sy, sz = spin(model, k[:, 0], k[:, 1], -1.0)
        values.append(jnp.stack([area @ sx, area @ sy, area @ sz]))
    scale = jnp.linalg.norm(values[0])
    change = jnp.linalg.norm(values[0] - values[1]) / jnp.where(scale > 0, scale, 1.0)
    return jnp.where(jnp.isfinite(change), change, jnp.inf)


_ray_spin_change_jit = jax.jit(ray_spin_change)


def near_touching_error(model, fermi_energy):
    """The ValueError of route = "rays" on a sea with a near band touching (concrete inputs), else None.

    Refused when min Omega < NEAR_TOUCHING_RATIO max Omega on the probe grid of the sea and the ray
    route's error estimate (`ray_spin_change`) exceeds RAYS_TOLERANCE. The message names the smallest
    splitting Omega, where it lies, its distance eps_- - E_F from the Fermi level, and the estimate."""
    fermi_energy = jnp.asarray(fermi_energy, model.dtype)
    low, high, k, lower = (onp.asarray(x, onp.float64) for x in _probe_splitting(model, fermi_energy))
    low, high = float(low), float(high)
    if not (high > 0 and low < NEAR_TOUCHING_RATIO * high):
        return None
    estimate = float(_ray_spin_change_jit(model, fermi_energy))
    if estimate <= RAYS_TOLERANCE:
        return None
    distance = float(lower) - float(fermi_energy)
    expected = (
        f"expected relative error ~{estimate:.2g} (the lower band's spin density at 64 x 8 vs 128 x 16 polar nodes; "
        "it need not shrink with more rays)"
        if math.isfinite(estimate)
        else "expected error: unbounded (a ray root does not converge)"
    )
    return ValueError(
        f"route = 'rays' is not allowed at fermi_energy = {float(fermi_energy):g} eV: the bands come within "
        f"Omega = {low:.3g} eV of each other at k = {onp.round(k, 4).tolist()} 1/nm, {abs(distance):.3g} eV "
        f"{'below' if distance < 0 else 'above'} the Fermi level (min/max Omega over the sea {low / high:.3g} < "
        f"NEAR_TOUCHING_RATIO = {NEAR_TOUCHING_RATIO:g}), a near band touching the polar nodes do not resolve: "
        f"{expected} > RAYS_TOLERANCE = {RAYS_TOLERANCE:g}; allowed: route='mesh' or 'auto' (refined near touchings)"
    )


def _sea_code(model, fermi_energy, s) -> int:
    code, _, _, _ = probe_star(model, jnp.asarray(fermi_energy, model.dtype), jnp.asarray(float(s), model.dtype))
    return int(code)


def rays_apply(model, fermi_energy, bands) -> bool:
    """True when the ray route applies to every band of `bands` (concrete inputs; continuum model)."""
    for s in bands:
        if _sea_code(model, fermi_energy, s) != SEA_OCCUPIED:
            return False
    return not near_touching(model, fermi_energy)


def choose_route(model, fermi_energy, bands, route: str) -> str:
    """The route that runs ("rays" or "mesh") for `route` ("auto", "rays", "mesh"); see the module docstring."""
    check_route(route)
    if is_lattice(model):
        if route == "rays":
            raise ValueError(
                f"route = 'rays' is not allowed for the lattice model {type(model).__name__}: rays from k = 0 "
                "do not know its Brillouin zone; allowed: 'auto' or 'mesh'"
            )
        return "mesh"
    if route == "rays" and is_concrete(model, fermi_energy):
        with jax.ensure_compile_time_eval():
            for s in bands:
                fermi_sea_status(model, fermi_energy, s)  # raises, naming the cause, for a sea the rays cannot describe
            error = near_touching_error(model, fermi_energy)
        if error is not None:
            raise error
    if route != "auto":
        return route
    if not is_concrete(model, fermi_energy):
        return "rays"
    with jax.ensure_compile_time_eval():  # concrete inputs captured by a function under jit
        return "rays" if rays_apply(model, fermi_energy, bands) else "mesh"


def fermi_sea_route(model, fermi_energy, route: str = "auto", bands=None) -> str:
    """The Fermi-sea route that `route` selects for this model and Fermi energy: "rays" or "mesh".

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV].
        route: "auto" (default), "rays" or "mesh".
        bands: the occupied bands (default: `jaxsot.occupied_bands`).

    Returns:
        "rays" (exact ray solver, continuum star-shaped seas without a nearby band touching) or
        "mesh" (adaptive triangle mesh: lattice models and every other sea). "auto" tests star-shapedness
        on the probe rays and on a grid of the sea's bounding box (`fermi_sea_status`); structure finer
        than that grid can escape it (and the mesh's coarse cells): raise `MeshOptions.cells` for such bands.

    Raises:
        ValueError: for an unknown route, or route = "rays" with a lattice model.
    """
    bands = occupied_bands(model, fermi_energy, bands)
    return choose_route(model, fermi_energy, bands, route)


def _estimate_if(near, model, fermi_energy):
    # The estimate (two more ray solves) runs only on a near-touching sea.
    zero = lambda m, e: jnp.zeros((), jnp.result_type(e, m.dtype))  # noqa: E731
    return jax.lax.cond(near, ray_spin_change, zero, model, fermi_energy)


@jax.custom_batching.custom_vmap
def near_estimate(near, model, fermi_energy):
    """`ray_spin_change` where `near`, else 0 (traceable). Under vmap a `lax.cond` on a batched
    predicate runs both branches (measured: the estimate made a vmapped ray-route sum 1.4x slower on
    seas far from any touching); the batched rule runs the batched estimate once, only when any
    lane is near a touching."""
    return _estimate_if(near, model, fermi_energy)


@near_estimate.def_vmap
def _near_estimate_batched(axis_size, in_batched, near, model, fermi_energy):
    near_batched, model_batched, ef_batched = in_batched
    axes = (jax.tree_util.tree_map(lambda b: 0 if b else None, model_batched), 0 if ef_batched else None)
    if not near_batched:
        near = jnp.broadcast_to(near, (axis_size,))
    dtype = jnp.result_type(fermi_energy, model.dtype)

    def batched(model, fermi_energy):
        return jnp.broadcast_to(jax.vmap(ray_spin_change, in_axes=axes)(model, fermi_energy), (axis_size,))

    estimate = jax.lax.cond(jnp.any(near), batched, lambda m, e: jnp.zeros((axis_size,), dtype), model, fermi_energy)
    return jnp.where(near, estimate, 0.0), True


def ray_checks(model, fermi_energy, bands, value, *, all_bands=True):
    """`value` (any pytree) with traced checks of the ray route's preconditions attached (`guard`).

    Under jit/grad/vmap the eager checks cannot run; these raise at run time when an occupied band's
    sea is not star-shaped about k = 0 or does not contain it (the probe rays and the grid test
    `star_violation` of `fermi_sea_status`), when a band left out of `bands`
    is occupied (the same probe grid; only with `all_bands`, for the functions
    that sum over every occupied band), or when the bands come near touching in or near the sea
    (min Omega < NEAR_TOUCHING_RATIO max Omega on that grid and the error estimate `ray_spin_change`
    above RAYS_TOLERANCE, as eager route = "rays" refuses). Concrete inputs return `value` unchanged."""
    if is_concrete(model, fermi_energy):
        return value
    cos, sin = probe_directions(jnp)
    dtype = jnp.result_type(fermi_energy, model.dtype)
    radius = outer_radius(model, fermi_energy) * jnp.asarray(PROBE_FRACTIONS, dtype)[None, :]
    for s in (-1, 1):
        eps = energy(model, radius * cos, radius * sin, float(s))
        code, _, _ = classify_seas(eps, fermi_energy, origin_energy(model, float(s)), xp=jnp)
        if s in bands:
            frozen = jax.lax.stop_gradient((model, jnp.asarray(fermi_energy, dtype), eps))
            pocket, _ = star_violation(frozen[0], frozen[1], float(s), frozen[2])
            code = jnp.where(pocket, SEA_NOT_STAR, code)
            value = guard(
                value,
                code != SEA_OCCUPIED,
                f"jaxsot ray route (traced): the Fermi sea of band {s:+d} is empty, does not contain k = 0 or is not "
                "star-shaped about it; allowed: route='mesh' (any sea), or the bands that jaxsot.occupied_bands gives",
            )
        elif all_bands:
            value = guard(
                value,
                code != SEA_EMPTY,
                f"jaxsot (traced): band {s:+d} is occupied but not in `bands`; allowed: the bands that "
                "jaxsot.occupied_bands gives on concrete values",
            )
    frozen_model, frozen_ef = jax.lax.stop_gradient((model, jnp.asarray(fermi_energy, dtype)))
    low, high, _, _ = _probe_splitting(frozen_model, frozen_ef)
    ratio = low / jnp.where(high > 0, high, 1.0)
    near = (high > 0) & (ratio < NEAR_TOUCHING_RATIO)
    estimate = near_estimate(near, frozen_model, frozen_ef)
    index = jnp.searchsorted(jnp.asarray(TRACED_RATIO_BINS, ratio.dtype), ratio) * len(TRACED_ERROR_SPANS)
    index = index + jnp.searchsorted(jnp.asarray(TRACED_ERROR_BINS, ratio.dtype), estimate)
    return branched_guard(value, near & (estimate > RAYS_TOLERANCE), index, TRACED_NEAR_MESSAGES)


TRACED_RATIO_BINS = (1e-3, 1e-2)
"""Bins of min/max Omega that the traced near-touching message names (no values can be printed there)."""

TRACED_ERROR_BINS = (1e-5, 1e-4, 1e-3)
"""Bins of the ray route's error estimate that the traced near-touching message names."""

TRACED_RATIO_SPANS = ("< 1e-3", "in [1e-3, 1e-2)", f"in [1e-2, {NEAR_TOUCHING_RATIO:g})")
TRACED_ERROR_SPANS = (f"in ({RAYS_TOLERANCE:g}, 1e-5)", "in [1e-5, 1e-4)", "in [1e-4, 1e-3)", ">= 1e-3 (or a root did not converge)")

TRACED_NEAR_MESSAGES = tuple(
    f"jaxsot ray route (traced): near band touching in or near the Fermi sea, min/max Omega over the sea {span} "
    f"(< NEAR_TOUCHING_RATIO = {NEAR_TOUCHING_RATIO:g}): the polar nodes do not resolve the spin texture there; "
    f"expected relative error {error} (the lower band's spin density at 64 x 8 vs 128 x 16 polar nodes; above "
    f"RAYS_TOLERANCE = {RAYS_TOLERANCE:g}); the same call on concrete inputs names Omega and its distance from the "
    "Fermi level; allowed: route='mesh'"
    for span in TRACED_RATIO_SPANS
    for error in TRACED_ERROR_SPANS
)


NONCONVERGED_MESSAGE = (
    "jaxsot ray route: a Fermi-contour root did not converge (NaN): a band in `bands` is empty, or its sea is "
    "unbounded (the band stays below E_F at large k) or not star-shaped about k = 0; allowed: a bounded sea with "
    "route='mesh', or the bands that jaxsot.occupied_bands gives"
)


def ray_nodes(model, fermi_energy, bands, num_phi, num_r):
    """The ray route's sea (k, area, sign), contour (k, normal*dl, sign), densities (2,), extras
    (dl, |grad eps|) and stats, in the layout of `_mesh.mesh_nodes` (traceable)."""
    sea_k, sea_w, sea_s, line_k, line_ndl, line_s, line_dl, line_g = [], [], [], [], [], [], [], []
    densities = {-1: jnp.zeros((), fermi_energy.dtype), 1: jnp.zeros((), fermi_energy.dtype)}
    for s in bands:
        contour = ray_contour(model, fermi_energy, float(s), num_phi)
        k, area = polar_sea_nodes(contour.radius, num_r)
        sea_k.append(k)
        sea_w.append(area)
        sea_s.append(jnp.full(area.shape, float(s), area.dtype))
        line_k.append(contour.k)
        line_ndl.append(contour.normal * contour.dl[:, None])
        line_s.append(jnp.full(contour.dl.shape, float(s), contour.dl.dtype))
        line_dl.append(contour.dl)
        line_g.append(contour.gradient_norm)
        densities[s] = contour_density(contour.radius)
    sea = tuple(jnp.concatenate(x) for x in (sea_k, sea_w, sea_s))
    contour = tuple(jnp.concatenate(x) for x in (line_k, line_ndl, line_s))
    radius_ok = jnp.all(jnp.isfinite(jnp.concatenate(line_dl)))
    stats = {"overflow": jnp.zeros((), bool), "unbounded": jnp.zeros((), bool), "nonfinite": ~radius_ok}
    return sea, contour, jnp.stack([densities[-1], densities[1]]), (jnp.concatenate(line_dl), jnp.concatenate(line_g)), stats


def checked_ray_nodes(model, fermi_energy, bands, num_phi, num_r, all_bands=True):
    """`ray_nodes` with the traced precondition checks and a NaN check (a root that did not converge)
    attached to every output."""
    sea, contour, densities, extras, stats = ray_nodes(model, fermi_energy, bands, num_phi, num_r)
    out = guard((sea, contour, densities, extras), stats["nonfinite"], NONCONVERGED_MESSAGE)
    sea, contour, densities, extras = ray_checks(model, fermi_energy, bands, out, all_bands=all_bands)
    return sea, contour, densities, extras, stats


@functools.partial(jax.jit, static_argnames=("bands", "num_phi", "num_r"))
def _ray_nodes_jit(model, fermi_energy, bands, num_phi, num_r):
    return ray_nodes(model, fermi_energy, bands, num_phi, num_r)


def sea_ensemble(model, fermi_energy, bands, route, *, num_phi=128, num_r=16, mesh=None, compact=True, all_bands=True, line=True, allow_hidden=False):
    """The states of the T = 0 seas of `bands` and of their Fermi lines on the chosen route.

    Args:
        model: any `TwoBandModel` (in the working dtype).
        fermi_energy: E_F [eV] (array in the working dtype).
        bands: static tuple of occupied bands.
        route: "rays" or "mesh" (from `choose_route`).
        num_phi: rays per band (ray route).
        num_r: radial Gauss-Legendre nodes (ray route).
        mesh: `MeshOptions` (mesh route).
        compact: drop zero-weight mesh nodes (concrete inputs only).
        all_bands: under tracing, also check that no band outside `bands` is occupied.
        line: False when only the sea is used: on the concrete mesh route the Fermi-line nodes are then
            neither computed nor copied, and contour and extras are None.
        allow_hidden: the mesh route does not refuse a pocket or hole hidden between its coarse vertices
            (the coarser resolution of an error estimate, whose miss the estimate then shows).

    Returns:
        (sea (k (N, 2), weight (N,), sign (N,)), contour (k (M, 2), normal*dl (M, 2), sign (M,)),
        band densities (2,) [1/nm^2], extras (dl (M,), |grad eps| (M,)), stats dict).
    """
    concrete = is_concrete(model, fermi_energy)
    if route == "rays":
        if concrete:
            return _ray_nodes_jit(model, fermi_energy, bands, num_phi, num_r)
        return checked_ray_nodes(model, fermi_energy, bands, num_phi, num_r, all_bands)
    mesh = _mesh.check_mesh_options(mesh)
    if concrete:
        sea, contour, densities, extras, stats, _ = _mesh_concrete.concrete_mesh_nodes(
            model, fermi_energy, bands, mesh, compact=compact, line=line, allow_hidden=allow_hidden
        )
        return sea, contour, densities, extras, stats
    return _mesh.mesh_nodes(model, fermi_energy, bands, mesh, checked=True, all_bands=all_bands, allow_hidden=allow_hidden)


class SeaIntegral(NamedTuple):
    """A Fermi-sea integral with its error estimate (`jaxsot.fermi_sea_integral`).

    value: the pytree of fn summed over the seas, per area (fn's units per nm^2); error: the same
    pytree, |value - value at the coarser resolution| (an estimate, not a bound: on smooth seas it is
    about the coarser result's error, and the finer one's is typically 16x smaller on the mesh route,
    O(h^4); where the two resolutions agree by chance, as measured near a gapped band touching inside
    the sea, it can be several times smaller than the true error); route: "rays" or "mesh";
    num_nodes: quadrature nodes of the finer resolution (all bands)."""

    value: object
    error: object
    route: str
    num_nodes: int


def _sum_over_nodes(model, sea, fn):
    k, weight, sign = sea
    zero = jnp.zeros((), weight.dtype)
    values = jax.vmap(lambda kx, ky, s: fn(model, kx, ky, s, zero, zero))(k[:, 0], k[:, 1], sign)
    return jax.tree_util.tree_map(lambda v: jnp.tensordot(weight, v, axes=(0, 0)) * AREA_MEASURE, values)


def _line_sum(model, contour, dl, fn):
    k, normal_dl, sign = contour
    normal = normal_dl / jnp.where(dl > 0, dl, 1.0)[:, None]
    values = jax.vmap(lambda kx, ky, s, nx, ny: fn(model, kx, ky, s, nx, ny))(k[:, 0], k[:, 1], sign, normal[:, 0], normal[:, 1])
    return jax.tree_util.tree_map(lambda v: jnp.tensordot(dl, v, axes=(0, 0)) * AREA_MEASURE, values)


def _two_resolutions(what, model, fermi_energy, fn, bands, route, mesh, num_phi, num_r, tolerance, line):
    import warnings

    from .._core._checks import check_count, check_finite, float_dtype
    check_finite("fermi_energy", fermi_energy)
    if not callable(fn):
        raise ValueError(f"fn = {fn!r} is not callable; allowed: a function of (model, kx, ky, s, ., .) -> pytree")
    num_phi = check_count("num_phi", num_phi, minimum=16)
    num_r = check_count("num_r", num_r, minimum=4)
    if tolerance is not None and not (isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool) and tolerance > 0):
        raise ValueError(f"tolerance = {tolerance!r} is not allowed; allowed: None or a number > 0")
    if not is_concrete(model, fermi_energy):
        raise ValueError(
            f"{what} needs concrete inputs (its error estimate compares two resolutions on the host); allowed: "
            "concrete values, or jaxsot.fermi_sea_sum / the sea functions with route= under jax.grad/jit"
        )
    mesh = _mesh.check_mesh_options(mesh)
    dtype = float_dtype(jnp.asarray(fermi_energy), model.dtype)
    model = model.astype(dtype)
    fermi_energy = jnp.asarray(fermi_energy, dtype)
    bands = occupied_bands(model, fermi_energy, bands)
    chosen = choose_route(model, fermi_energy, bands, route)
    results = []
    for fine in (True, False):
        if chosen == "mesh":
            nodes = sea_ensemble(model, fermi_energy, bands, "mesh", mesh=mesh if fine else mesh.coarser(), allow_hidden=not fine)
        else:
            phi, r = (num_phi, num_r) if fine else (num_phi // 2, num_r // 2)
            nodes = sea_ensemble(model, fermi_energy, bands, "rays", num_phi=phi, num_r=r)
        sea, contour, _, extras, _ = nodes
        if line:
            results.append((_line_sum_jit(model, contour, extras[0], fn), int(contour[0].shape[0])))
        else:
            results.append((_sea_sum_jit(model, sea, fn), int(sea[0].shape[0])))
    (value, count), (coarse, _) = results
    error = jax.tree_util.tree_map(lambda a, b: jnp.abs(a - b), value, coarse)
    if tolerance is not None:
        scale = max((float(jnp.max(jnp.abs(v))) for v in jax.tree_util.tree_leaves(value)), default=0.0)
        worst = max((float(jnp.max(e)) for e in jax.tree_util.tree_leaves(error)), default=0.0)
        if not worst <= tolerance * scale:
            relative = worst / scale if scale > 0 else float("inf")
            warnings.warn(
                f"{what}: error estimate {worst:.3g} (relative {relative:.3g}) exceeds tolerance = {tolerance:g} on the "
                f"{chosen} route with {count} nodes; allowed: a finer resolution (mesh=jaxsot.MeshOptions(cells=..., "
                "levels=...) or more num_phi, num_r)",
                RuntimeWarning,
                stacklevel=3,
            )
    return SeaIntegral(value, error, chosen, count)


_sea_sum_jit = jax.jit(_sum_over_nodes, static_argnums=(2,))
_line_sum_jit = jax.jit(_line_sum, static_argnums=(3,))


def fermi_sea_integral(
    model,
    fermi_energy,
    fn,
    *,
    bands=None,
    route: str = "auto",
    mesh=None,
    num_phi: int = 128,
    num_r: int = 16,
    tolerance: float | None = 1e-6,
) -> SeaIntegral:
    """sum_s int_sea fn(state) d^2k/(2 pi)^2 at T = 0 with an error estimate from two resolutions.

    The integral is computed on the chosen route at the given resolution and again at a coarser
    one (mesh: half the coarse cells, `MeshOptions.coarser`; rays: half the rays and radial nodes);
    their difference is the reported error. A RuntimeWarning with the estimate fires when it exceeds
    `tolerance` times the largest |value|.

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV] (concrete).
        fn: fn(model, kx, ky, s, fx, fy) -> pytree for one state (as `jaxsot.fermi_sea_sum`; fx = fy = 0).
        bands: the occupied bands (default `jaxsot.occupied_bands`).
        route: "auto" (default), "rays" or "mesh".
        mesh: `jaxsot.MeshOptions` of the mesh route.
        num_phi: rays (ray route, >= 16).
        num_r: radial nodes (ray route, >= 4).
        tolerance: relative tolerance of the warning (None: no warning).

    Returns:
        `SeaIntegral` (value, error, route, num_nodes).

    Raises:
        ValueError: bad arguments, traced inputs, or a sea that no route can integrate (an unbounded
            continuum sea).
    """
    return _two_resolutions("fermi_sea_integral", model, fermi_energy, fn, bands, route, mesh, num_phi, num_r, tolerance, False)


def fermi_line_integral(
    model,
    fermi_energy,
    fn,
    *,
    bands=None,
    route: str = "auto",
    mesh=None,
    num_phi: int = 256,
    tolerance: float | None = 1e-6,
) -> SeaIntegral:
    """sum_s oint_{eps_s = E_F} fn(state, normal) dl/(2 pi)^2 at T = 0 with an error estimate.

    Fermi-line integrals (fluxes, conductivities, densities of states) on the chosen route at the
    given resolution and a coarser one (as `fermi_sea_integral`); their difference is the error.

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV] (concrete).
        fn: fn(model, kx, ky, s, nx, ny) -> pytree for one point of the Fermi line, with (nx, ny)
            the outward unit normal grad eps/|grad eps| (e.g. `1/|grad eps|` for the density of states).
        bands: the occupied bands (default `jaxsot.occupied_bands`).
        route: "auto" (default), "rays" or "mesh".
        mesh: `jaxsot.MeshOptions` of the mesh route.
        num_phi: rays (ray route, >= 16).
        tolerance: relative tolerance of the warning (None: no warning).

    Returns:
        `SeaIntegral` (value per nm [fn's units / nm], error, route, number of line nodes).

    Raises:
        ValueError: bad arguments, traced inputs, or a sea that no route can integrate.
    """
    return _two_resolutions("fermi_line_integral", model, fermi_energy, fn, bands, route, mesh, num_phi, 4, tolerance, True)

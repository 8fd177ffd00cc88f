"""Fermi contours, Fermi-sea quadrature nodes and electron densities of one band: the public entry points
(docs: Theory > Ensembles and dynamics). The ray solver lives in `_rays`, the occupation and ray-precondition
checks in `_occupation`, the traced guards in `_guard`, the route choice in `_route`; their names stay
importable from here.

The occupied region of band s at T = 0, {eps_s(k) < E_F}, is described on rays from k = 0:
k(phi) = r(phi) (cos phi, sin phi). r(phi) comes from one root solver, `ray_contour` (Newton from
a safe upper bound, bisection where Newton would leave the bracket, and a final Newton step whose
derivative is the implicit-function one), so contours are differentiable in the model and in E_F;
every contour of the package (ensembles, transport, LLG, fit, sweeps) is computed by it. A uniform
phi grid with the trapezoid rule is spectrally accurate for these smooth periodic integrands. The
ray description requires the Fermi sea to contain k = 0 and to be star-shaped about it;
`fermi_sea_status` checks that on concrete inputs and explains what is not supported.
"""

import jax.numpy as jnp
from jaxtyping import Array, Float
from .._core._checks import check_band, check_count, check_real_scalar, float_dtype, is_concrete
from .._core._model_check import check_model
from .._core._model import TwoBandModel
from ._guard import band_touching_report as band_touching_report
from ._mesh import check_mesh_options
from ._occupation import PROBE_FRACTIONS as PROBE_FRACTIONS
from ._occupation import PROBE_RADII as PROBE_RADII
from ._occupation import PROBE_RAYS as PROBE_RAYS
from ._occupation import SEA_EMPTY as SEA_EMPTY
from ._occupation import SEA_NO_ORIGIN as SEA_NO_ORIGIN
from ._occupation import SEA_NOT_STAR as SEA_NOT_STAR
from ._occupation import SEA_OCCUPIED as SEA_OCCUPIED
from ._occupation import band_status
from ._occupation import classify_seas as classify_seas
from ._occupation import fermi_sea_status as fermi_sea_status
from ._occupation import occupied_bands as occupied_bands
from ._occupation import probe_directions as probe_directions
from ._occupation import probe_sea as probe_sea
from ._rays import MAX_ROOT_STEPS as MAX_ROOT_STEPS
from ._rays import RESIDUAL_TOLERANCE as RESIDUAL_TOLERANCE
from ._rays import FermiContour as FermiContour
from ._rays import contour_density as contour_density
from ._rays import contour_points as contour_points
from ._rays import origin_energy as origin_energy
from ._rays import outer_radius as outer_radius
from ._rays import polar_sea_nodes as polar_sea_nodes
from ._rays import ray_contour as ray_contour
from ._rays import sea_nodes as sea_nodes
from ._route import check_route, checked_ray_nodes, choose_route, sea_ensemble


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
    check_route(route)
    check_mesh_options(mesh)
    if not is_concrete(model, fermi_energy):
        return choose_route(model, fermi_energy, (s,), route), True
    if band_status(model, fermi_energy, s) == "empty":
        return choose_route(model, fermi_energy, (s,), "mesh" if route == "auto" else route), False
    chosen = choose_route(model, fermi_energy, (s,), route)
    if chosen == "rays":
        fermi_sea_status(model, fermi_energy, s)
    return chosen, True


def _mesh_band(model, fermi_energy, s, mesh):
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
        _, contour, _, extras, _ = checked_ray_nodes(model, fermi_energy, (s,), num, 2, all_bands=False)
        return contour[0], extras[0]
    contour = contour_points(model, fermi_energy, float(s), num)
    return contour.k, contour.dl


def fermi_contour_normals(model: TwoBandModel, fermi_energy, band: int, num: int = 256, *, route: str = "auto", mesh=None):
    """Like `fermi_contour`, plus the outward unit normals grad eps/|grad eps| of the Fermi line.

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV].
        band: +1 or -1.
        num: number of rays (>= 8; ray route).
        route: "auto" (default: `jaxsot.fermi_sea_route`), "rays" or "mesh".
        mesh: `jaxsot.MeshOptions` (or an int number of coarse cells) of the mesh route.

    Returns:
        k (M, 2) [1/nm], dl (M,) [1/nm] and normal (M, 2) (unit vectors; M = num on the ray route).

    Raises:
        ValueError: the band is empty at E_F, or route = "rays" on a sea the rays cannot describe.
    """
    s, num, model, fermi_energy = _checked_inputs(model, fermi_energy, band, num)
    chosen, occupied = _band_route(model, fermi_energy, s, route, mesh)
    if not occupied:
        raise _empty_band_error(s, fermi_energy)
    if chosen == "mesh" or not is_concrete(model, fermi_energy):
        if chosen == "mesh":
            _, contour, _, extras, _ = _mesh_band(model, fermi_energy, s, mesh)
        else:
                _, contour, _, extras, _ = checked_ray_nodes(model, fermi_energy, (s,), num, 2, all_bands=False)
        dl = extras[0]
        normal = contour[1] / jnp.where(dl > 0, dl, 1.0)[:, None]
        return contour[0], dl, normal
    contour = contour_points(model, fermi_energy, float(s), num)
    return contour.k, contour.dl, contour.normal


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
        _, _, densities, _, _ = checked_ray_nodes(model, fermi_energy, (s,), num, 2, all_bands=False)
        return densities[0 if s < 0 else 1]
    return contour_density(contour_points(model, fermi_energy, float(s), num).radius)



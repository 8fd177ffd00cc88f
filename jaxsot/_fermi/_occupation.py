"""Which bands are occupied, and whether the ray route can describe their seas (concrete checks).

`fermi_sea_status` classifies one band's sea on a probe grid of rays (`classify_seas`, shared with
the sweeps); `occupied_bands` decides which bands hold electrons for any sea topology (the band
minimum over the mesh domain, `band_minimum`).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as onp
from .._bands._kernels import energy
from .._core._checks import check_band, check_finite, is_concrete
from .._core._model import TwoBandModel
from ._mesh import domain
from ._rays import origin_energy, outer_radius


PROBE_RAYS = 96
PROBE_RADII = 600


SEA_EMPTY, SEA_OCCUPIED, SEA_NO_ORIGIN, SEA_NOT_STAR = 0, 1, 2, 3
"""Codes of `classify_seas`: empty band; occupied and star-shaped about k = 0 (supported); the
sea does not contain k = 0; a ray from k = 0 crosses the Fermi level more than once."""


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


STAR_GRID_CELLS = 128
STAR_GRID_MARGIN = 0.02
"""The grid test of star-shapedness (`star_violation`): every point of a STAR_GRID_CELLS x
STAR_GRID_CELLS grid of the sea's bounding box must be occupied exactly when it lies inside the
boundary interpolated between the probe rays, up to STAR_GRID_MARGIN of the radius plus 1.5 grid
spacings. It finds what the PROBE_RAYS rays step over: a pocket, a hole or a dent between two probe
rays that holds a grid point."""


def star_violation(model, fermi_energy, s, eps):
    """(violated, k (2,) [1/nm]) of the grid test of star-shapedness about k = 0 for band s (traceable).

    eps: (PROBE_RAYS, PROBE_RADII) eps_s on the probe rays (`probe_sea`), whose first crossings of E_F
    give the boundary r_i of the sea on each ray, linearly interpolated in the angle between rays.
    violated: a point of the STAR_GRID_CELLS^2 grid of the mesh domain (the sea's bounding box) is
    occupied (eps_s < E_F) beyond that boundary, or empty inside it, by more than the margin
    (STAR_GRID_MARGIN r + 1.5 grid spacings): a pocket, hole or dent between the probe rays. On a
    star-shaped sea the interpolated boundary is off by O(r'' dphi^2) ~ 5e-4 r'', far inside the
    margin. k: the violating grid point nearest to k = 0 (NaN when none)."""
    dtype = jnp.result_type(fermi_energy, model.dtype)
    outer = outer_radius(model, fermi_energy)
    crossed = eps >= fermi_energy
    first = jnp.where(jnp.any(crossed, -1), jnp.argmax(crossed, -1), PROBE_RADII - 1)
    boundary = outer * jnp.asarray(PROBE_FRACTIONS, dtype)[first]  # (PROBE_RAYS,)
    origin, basis = domain(model, fermi_energy)
    u = (jnp.arange(STAR_GRID_CELLS, dtype=dtype) + 0.5) / STAR_GRID_CELLS
    grid = (origin + u[:, None, None] * basis[0] + u[None, :, None] * basis[1]).reshape(-1, 2)
    kx, ky = grid[:, 0], grid[:, 1]
    occupied = energy(model, kx, ky, s) < fermi_energy
    position = jnp.mod(jnp.arctan2(ky, kx), 2.0 * jnp.pi) * (PROBE_RAYS / (2.0 * jnp.pi))
    lower = jnp.floor(position)
    weight = position - lower
    i0 = lower.astype(jnp.int32) % PROBE_RAYS
    radius = (1.0 - weight) * boundary[i0] + weight * boundary[(i0 + 1) % PROBE_RAYS]
    spacing = jnp.max(jnp.linalg.norm(basis, axis=1)) / STAR_GRID_CELLS
    margin = STAR_GRID_MARGIN * radius + 1.5 * spacing
    norm = jnp.sqrt(kx * kx + ky * ky)
    wrong = (occupied & (norm > radius + margin)) | (~occupied & (norm < radius - margin))
    nearest = jnp.argmin(jnp.where(wrong, norm, jnp.inf))
    violated = jnp.any(wrong)
    return violated, jnp.where(violated, grid[nearest], jnp.nan)


@jax.jit
def probe_sea(model, fermi_energy, s):
    """(code `SEA_*`, band minimum on the probe grid [eV], most crossings on a probe ray) of band s from
    the probe rays alone (`classify_seas`; traceable): enough to tell an empty band."""
    return classify_seas(_probe_energies(model, fermi_energy, s), fermi_energy, origin_energy(model, s), xp=jnp)


def _probe_energies(model, fermi_energy, s):
    """eps_s (PROBE_RAYS, PROBE_RADII) on the probe rays out to `outer_radius` (traceable)."""
    cos, sin = probe_directions(jnp)
    radius = outer_radius(model, fermi_energy) * jnp.asarray(PROBE_FRACTIONS, fermi_energy.dtype)[None, :]
    return energy(model, radius * cos, radius * sin, s)


@jax.jit
def probe_star(model, fermi_energy, s):
    """`probe_sea` and, for a sea the rays pass, the grid test (`star_violation`), which turns
    SEA_OCCUPIED into SEA_NOT_STAR: (code, minimum, most crossings, k (2,) [1/nm] of the grid test's
    violation or NaN). The test of the ray route's preconditions (traceable)."""
    eps = _probe_energies(model, fermi_energy, s)
    code, minimum, most = classify_seas(eps, fermi_energy, origin_energy(model, s), xp=jnp)
    violated, where = star_violation(model, fermi_energy, s, eps)
    pocket = (code == SEA_OCCUPIED) & violated
    return jnp.where(pocket, jnp.int8(SEA_NOT_STAR), code), minimum, most, jnp.where(pocket, where, jnp.nan)


def fermi_sea_status(model: TwoBandModel, fermi_energy, band: int) -> str:
    """Classify the T = 0 Fermi sea of one band: "occupied" or "empty", checking the ray route's preconditions.

    For a lattice model (`TwoBandModel.lattice_vectors`) only emptiness is decided (the minimum of
    the band over its Brillouin zone); its seas always go through the mesh route. For a continuum
    model this raises ValueError, with what is allowed, when the sea is occupied but cannot be
    described on rays from k = 0: it does not contain k = 0 (an annulus, a pocket away from k = 0,
    or an upper band occupied only near a band touching), or a ray crosses the Fermi level more than
    once (`classify_seas` on PROBE_RAYS x PROBE_RADII energies out to `outer_radius`), or a point
    of a STAR_GRID_CELLS^2 grid of the sea's bounding box is occupied outside the boundary interpolated
    between the probe rays, or empty inside it (`star_violation`: a pocket, hole or dent between them). Such seas are
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
    s = check_band(band)
    check_finite("fermi_energy", fermi_energy)
    if not is_concrete(model, fermi_energy):
        return "occupied"
    e_f = float(fermi_energy)
    with jax.ensure_compile_time_eval():  # concrete inputs captured by a function under jit
        if model.lattice_vectors is not None:
            return "occupied" if band_occupied_on_grid(model, e_f, s) else "empty"
        code, minimum, most, pocket = (onp.asarray(x) for x in probe_star(model, jnp.asarray(e_f, model.dtype), jnp.asarray(float(s), model.dtype)))
    if code == SEA_EMPTY:
        if not band_occupied_on_grid(model, e_f, s):
            return "empty"
        code = SEA_NO_ORIGIN  # pockets between the probe rays, none at k = 0 (the probes start there)
        minimum = band_minimum(model, jnp.asarray(e_f, model.dtype), float(s), 96)
    if code == SEA_NO_ORIGIN:
        with jax.ensure_compile_time_eval():  # for the message only (an eager call costs ~3 ms)
            eps_origin = float(origin_energy(model, float(s)))
        raise ValueError(
            f"fermi_energy = {e_f:g} eV: the Fermi sea of band {s:+d} does not contain k = 0 "
            f"(eps_{s:+d}(0) = {eps_origin:g} eV, band minimum ~ {float(minimum):.4g} eV: an annulus, a pocket away "
            f"from k = 0, or a sea around a band touching), so the ray route does not apply; allowed: route = 'auto' "
            f"or 'mesh' of the sea functions (any sea), or fermi_energy > {eps_origin:g} eV for the rays"
        )
    if code == SEA_NOT_STAR and onp.all(onp.isfinite(pocket)):
        with jax.ensure_compile_time_eval():
            at = jnp.asarray(pocket, model.dtype)
            inside = "occupied outside" if float(energy(model, at[0], at[1], float(s))) < e_f else "empty inside"
        raise ValueError(
            f"fermi_energy = {e_f:g} eV: the Fermi sea of band {s:+d} is not star-shaped about k = 0 as the probe rays "
            f"see it: at k = {onp.round(pocket, 4).tolist()} 1/nm the band is {inside} the sea's boundary on the probe "
            "rays (a pocket, hole or dent between them, found by the grid test), so the ray route does not apply; "
            "allowed: route = 'auto' or 'mesh' of the sea functions (any sea)"
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


def band_status(model, fermi_energy, s) -> str:
    """"occupied" or "empty" for any sea (no ray preconditions; concrete inputs)."""
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

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV] (scalar).
        bands: None (decide on concrete values), or the occupied bands to use and check, e.g. (-1,)
            or (-1, 1) (required under tracing).

    Returns:
        The occupied bands, sorted (a non-empty tuple of -1 and/or 1).

    Raises:
        ValueError: both bands empty, `bands` not matching the occupied bands (concrete inputs), or
            bands = None with traced inputs.
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
    bands = tuple(s for s in (-1, 1) if band_status(model, fermi_energy, s) == "occupied")
    if not bands:
        raise ValueError(
            f"fermi_energy = {float(fermi_energy):g} eV lies below both bands: no electrons; "
            "allowed: a Fermi energy above the lower band's minimum"
        )
    return bands




def band_occupied_on_grid(model, fermi_energy, s, cells: int = 96) -> bool:
    """True when band s has a state below E_F: the minimum of eps_s on a cells x cells grid of the mesh
    domain, polished by Newton steps from the grid minimum (concrete inputs)."""
    return float(band_minimum(model, jnp.asarray(fermi_energy, model.dtype), float(s), cells)) < float(fermi_energy)


@functools.partial(jax.jit, static_argnums=(2, 3))
def band_minimum(model, fermi_energy, s, cells):
    """min eps_s [eV] over the mesh domain: grid minimum, then damped Newton steps from it (traceable)."""
    origin, basis = domain(model, fermi_energy)
    u = (jnp.arange(cells, dtype=fermi_energy.dtype) + 0.5) / cells
    grid = origin + u[:, None, None] * basis[0] + u[None, :, None] * basis[1]
    eps = energy(model, grid[..., 0], grid[..., 1], s)
    flat = jnp.argmin(eps)
    start = grid.reshape(-1, 2)[flat]

    def band_energy(k):
        return energy(model, k[0], k[1], s)

    def newton(k, _):
        g = jax.grad(band_energy)(k)
        h = jax.hessian(band_energy)(k)
        step = jnp.linalg.solve(h + 1e-12 * jnp.eye(2, dtype=k.dtype), g)
        trial = k - step
        # Keep a step only where it lowers the energy (a saddle or a cone tip would send Newton away).
        better = jnp.isfinite(band_energy(trial)) & (band_energy(trial) < band_energy(k))
        return jnp.where(better, trial, k), None

    polished, _ = jax.lax.scan(newton, start, None, length=20)
    return jnp.minimum(jnp.min(eps), band_energy(polished))

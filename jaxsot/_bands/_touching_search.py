"""Band touching points of any two-band model: |b(k)| minimized by a grid and Newton's method on |b|^2.

The bands eps_s = eps0 + s|b| touch where b(k) = 0. A model may name its touching points exactly
(`touching_points()` returning every point, or `touching_point()` one); otherwise they are searched
for: |b|^2 is sampled on a SEARCH_GRID x SEARCH_GRID grid over the first Brillouin zone's primitive
cell (lattice models, `lattice_vectors`) or over the square that holds the Fermi sea (continuum
models, from `ray_bound`), its local minima start a damped Newton iteration on g(k) = |b(k)|^2
(gradient and Hessian by autodiff; near a touching point b is linear, g quadratic and Newton
converges in a step or two), and the minima with |b| <= touching_tolerance x |b|-scale are kept.
Concrete models only; the result is NumPy.
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as onp
from .._core._checks import is_concrete
from .._core._model import RashbaFerromagnet
from ._kernels import energy, splitting

SEARCH_GRID = 64
"""Grid points per direction of the coarse |b|^2 scan."""

SEARCH_CANDIDATES = 24
"""At most this many local minima of the grid start a Newton iteration (the smallest |b| first)."""

NEWTON_STEPS = 40
"""Damped Newton steps per candidate (a touching point needs a few; a gapped minimum more)."""

REGION_MARGIN = 1.2
"""A continuum model's search square reaches REGION_MARGIN times the Fermi sea's outer radius."""

NEAR_FERMI_LEVEL = 0.05
"""A touching point within this fraction of the exchange scale of E_F counts as near the Fermi sea."""


def touching_tolerance(dtype) -> float:
    """|b| <= this times the |b| scale counts as a touching point: 8 sqrt(eps) of the dtype."""
    return 8.0 * math.sqrt(float(jnp.finfo(dtype).eps))


class TouchingSearch(NamedTuple):
    """The result of `find_touching_points` (NumPy)."""

    points: onp.ndarray
    """(n, 2) touching points [1/nm] (|b| below the tolerance), lattice points in the cell centred on k = 0."""
    splitting: onp.ndarray
    """(n,) Omega = |b| [eV] at each point (zero to the tolerance)."""
    smallest: float
    """The smallest Omega [eV] found in the region (the gap floor when n = 0)."""
    region: str
    """'Brillouin zone' or the continuum square searched, for messages."""


def _search_dtype(model):
    return jnp.float64 if jax.config.read("jax_enable_x64") else model.dtype


@functools.partial(jax.jit, static_argnums=(3,))
def _grid_squares(model, origin, basis, num):
    """|b|^2 on origin + (i/num) basis[0] + (j/num) basis[1], shape (num, num)."""
    steps = jnp.arange(num, dtype=origin.dtype) / num
    k = origin + steps[:, None, None] * basis[0] + steps[None, :, None] * basis[1]
    bx, by, bz = model.field(k[..., 0], k[..., 1])
    return bx * bx + by * by + bz * bz


def _squared_splitting(model, k):
    bx, by, bz = model.field(k[0], k[1])
    return bx * bx + by * by + bz * bz


@jax.jit
def _newton(model, starts):
    """Damped Newton (Levenberg-Marquardt shift of the Hessian) on |b|^2 from each start (n, 2)."""
    value_and_gradient = jax.value_and_grad(lambda k: _squared_splitting(model, k))
    hessian = jax.hessian(lambda k: _squared_splitting(model, k))

    def one(start):
        def step(_, state):
            k, shift = state
            g, gradient = value_and_gradient(k)
            h = hessian(k)
            size = jnp.abs(h[0, 0]) + jnp.abs(h[1, 1]) + jnp.finfo(k.dtype).tiny
            trial = k - jnp.linalg.solve(h + shift * size * jnp.eye(2, dtype=k.dtype), gradient)
            accept = _squared_splitting(model, trial) < g
            k = jnp.where(accept & jnp.all(jnp.isfinite(trial)), trial, k)
            shift = jnp.where(accept, jnp.maximum(shift * 0.1, 1e-12), jnp.minimum(shift * 10.0, 1e12))
            return k, shift

        k, _ = jax.lax.fori_loop(0, NEWTON_STEPS, step, (start, jnp.asarray(1e-6, start.dtype)))
        return k, jnp.sqrt(_squared_splitting(model, k))

    return jax.vmap(one)(starts)


def _region(model, fermi_energy):
    """(origin, basis (2, 2), reciprocal (2, 2) or None, description), or None when nothing bounds the search."""
    lattice = getattr(model, "lattice_vectors", None)
    if lattice is not None:
        reciprocal = 2.0 * onp.pi * onp.linalg.inv(onp.asarray(lattice, onp.float64)).T  # rows b_i, a_i.b_j = 2 pi delta_ij
        origin = -0.5 * (reciprocal[0] + reciprocal[1])
        return origin, reciprocal, reciprocal, "Brillouin zone"
    if fermi_energy is None:
        return None
    if unbounded_sea_error(model, fermi_energy) is not None:
        return None
    radius = float(model.ray_bound(jnp.asarray(float(fermi_energy), model.dtype), -1.0)) * REGION_MARGIN
    return onp.array([-radius, -radius]), 2.0 * radius * onp.eye(2), None, f"|kx|, |ky| <= {radius:.4g} 1/nm"


BOUND_CHECK_RAYS = 64
"""Rays on which `unbounded_sea_error` tests the lower band at the model's `ray_bound`."""


def unbounded_sea_error(model, fermi_energy) -> ValueError | None:
    """The ValueError for a continuum model whose lower band lies below E_F at its `ray_bound` on one of
    BOUND_CHECK_RAYS rays (an unbounded Fermi sea: the generic bound stops doubling at a huge radius),
    else None (concrete inputs; None for a lattice model)."""
    if getattr(model, "lattice_vectors", None) is not None:
        return None
    e_f = float(fermi_energy)
    radius = float(model.ray_bound(jnp.asarray(e_f, model.dtype), -1.0))
    phi = onp.arange(BOUND_CHECK_RAYS) * (2.0 * onp.pi / BOUND_CHECK_RAYS)
    if math.isfinite(radius) and radius > 0:
        kx, ky = (jnp.asarray(radius * f(phi), model.dtype) for f in (onp.cos, onp.sin))
        eps = onp.asarray(energy(model, kx, ky, -1.0), onp.float64)
        if onp.all(onp.isfinite(eps)) and onp.all(eps >= e_f):
            return None
    return ValueError(
        f"fermi_energy = {e_f:g} eV: the lower band of {type(model).__name__} stays below E_F out to |k| = "
        f"{radius:.3g} 1/nm (its ray_bound) on some direction: the Fermi sea is unbounded, so no region holds "
        "its band touchings or its states; allowed: a model whose bands rise above E_F at large k (e.g. a "
        "positive k^2 term in eps0), or lattice_vectors for a periodic model"
    )


def _local_minima(squares, periodic):
    """Flat indices of the grid's local minima (<= all 8 neighbours), smallest first."""
    padded = squares if periodic else onp.pad(squares, 1, constant_values=onp.inf)
    is_minimum = onp.ones(padded.shape, bool)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                is_minimum &= padded <= onp.roll(onp.roll(padded, dx, 0), dy, 1)
    if not periodic:
        is_minimum = is_minimum[1:-1, 1:-1]
    flat = onp.flatnonzero(is_minimum)
    return flat[onp.argsort(squares.reshape(-1)[flat])]


def find_touching_points(model, fermi_energy=None) -> TouchingSearch:
    """Search the zone (lattice) or the Fermi sea's bounding square (continuum) for b(k) = 0.

    Args:
        model: a concrete `TwoBandModel`.
        fermi_energy: E_F [eV], which sets a continuum model's search square (the lower band's
            `ray_bound` times REGION_MARGIN); unused for a lattice model (`lattice_vectors`).

    Returns:
        A `TouchingSearch`: every distinct touching point found (lattice ones mapped into the
        reciprocal cell centred on k = 0) with its Omega, and the smallest Omega found.

    Raises:
        ValueError: for a continuum model without a Fermi energy, or whose lower band's sea is unbounded
            (`unbounded_sea_error`).
    """
    region = _region(model, fermi_energy)
    if region is None and fermi_energy is not None:
        raise unbounded_sea_error(model, fermi_energy)
    if region is None:
        raise ValueError(
            f"fermi_energy = {fermi_energy!r}: a continuum model's touching search needs a finite Fermi sea "
            "(its `ray_bound`); allowed: a Fermi energy at which the lower band's sea is bounded"
        )
    origin, basis, reciprocal, description = region
    dtype = _search_dtype(model)
    model = model.astype(dtype)
    squares = onp.asarray(_grid_squares(model, jnp.asarray(origin, dtype), jnp.asarray(basis, dtype), SEARCH_GRID), onp.float64)
    periodic = reciprocal is not None
    order = _local_minima(squares, periodic)[:SEARCH_CANDIDATES]
    steps = onp.arange(SEARCH_GRID) / SEARCH_GRID
    i, j = onp.unravel_index(order, squares.shape)
    starts = origin + steps[i, None] * basis[0] + steps[j, None] * basis[1]
    found, omega = (onp.asarray(x, onp.float64) for x in _newton(model, jnp.asarray(starts, dtype)))
    scale = max(math.sqrt(float(onp.max(squares))), 1e-300)
    keep = omega <= touching_tolerance(dtype) * scale
    if periodic:  # into the cell centred on k = 0
        fractional = found @ onp.linalg.inv(reciprocal)
        found = (fractional - onp.floor(fractional + 0.5)) @ reciprocal
    smallest = float(onp.min(omega)) if len(omega) else math.sqrt(float(onp.min(squares)))
    spacing = float(onp.max(onp.linalg.norm(basis, axis=1))) / SEARCH_GRID
    points, values = [], []
    for point, value in sorted(zip(found[keep], omega[keep]), key=lambda pair: pair[1]):
        distances = [_distance(point, other, reciprocal) for other in points]
        if all(d > 1e-3 * spacing for d in distances):
            points.append(point)
            values.append(value)
    return TouchingSearch(onp.asarray(points).reshape(-1, 2), onp.asarray(values), smallest, description)


def _distance(p, q, reciprocal):
    if reciprocal is None:
        return float(onp.linalg.norm(p - q))
    fractional = (p - q) @ onp.linalg.inv(reciprocal)
    return float(onp.linalg.norm((fractional - onp.round(fractional)) @ reciprocal))


def locate_touching(model, start):
    """The touching point reached by Newton's method on |b|^2 from `start` (2,) [1/nm], or None (a gap).

    For the band-touching warning of a model that does not name its touching points."""
    start = onp.asarray(start, onp.float64)
    if not onp.all(onp.isfinite(start)):
        return None
    dtype = _search_dtype(model)
    model = model.astype(dtype)
    found, omega = (onp.asarray(x, onp.float64) for x in _newton(model, jnp.asarray(start[None, :], dtype)))
    scale = math.sqrt(sum(float(c) ** 2 for c in model.exchange_field())) or 1.0
    return found[0] if omega[0] <= touching_tolerance(dtype) * scale else None


def known_touching_points(model):
    """The model's own touching points, (n, 2) NumPy [1/nm] (n = 0: none), or None when it does not know.

    A model method `touching_points()` returning an array lists every point (None: unknown); else
    `touching_point()` names one; the Rashba ferromagnet's (`degeneracy_point`) is complete."""
    method = getattr(model, "touching_points", None)
    if callable(method):
        points = method()
        if points is not None:
            return onp.asarray(points, onp.float64).reshape(-1, 2)
    point = model.touching_point()
    if point is not None:
        return onp.asarray(point, onp.float64).reshape(-1, 2)
    return onp.zeros((0, 2)) if isinstance(model, RashbaFerromagnet) else None


def touching_points(model, fermi_energy=None):
    """Every band touching point [1/nm], (n, 2) NumPy: the model's own (`known_touching_points`), else searched.

    Concrete models only; a continuum model whose search region is unbounded gives none."""
    known = known_touching_points(model)
    if known is not None:
        return known
    try:
        return find_touching_points(model, fermi_energy).points
    except ValueError:
        return onp.zeros((0, 2))


def touching_report(model, fermi_energy, exchange) -> str | None:
    """A sentence when a band touching point lies in or near an occupied Fermi sea, else None.

    Args:
        model: a `TwoBandModel`; concrete (None is returned under tracing).
        fermi_energy: E_F [eV].
        exchange: the exchange scale [eV] that sets "near" (NEAR_FERMI_LEVEL times it).

    Near a touching point (Omega -> 0) velocities and spin forces diverge; per-band sea integrals
    become inaccurate even though the sum over both bands stays finite.
    """
    if not is_concrete(model, fermi_energy):
        return None
    e_f = float(fermi_energy)
    points = touching_points(model, e_f)
    how = "" if known_touching_points(model) is not None else "found by a search of |b(k)|; "
    hits = []
    for point in points:
        point = jnp.asarray(point, model.dtype)
        gap = float(splitting(model, point[0], point[1]))
        lower = float(energy(model, point[0], point[1], -1.0))
        if lower < e_f or abs(lower - e_f) < NEAR_FERMI_LEVEL * exchange:
            hits.append((lower, gap, onp.asarray(point, onp.float64)))
    if not hits:
        return None
    lower, gap, point = min(hits, key=lambda hit: hit[0])  # the deepest in the sea
    others = f"; {len(hits)} of the {len(points)} touching points lie in or near the sea" if len(points) > 1 else ""
    return (
        f"the band touching point k* = {onp.round(point, 4).tolist()} 1/nm ({how}Omega = {gap:.2g} eV, "
        f"eps = {lower:.4g} eV) lies {'inside' if lower < e_f else 'near'} the Fermi sea "
        f"(E_F = {e_f:g} eV): spin forces diverge there and per-band results are inaccurate{others}"
    )

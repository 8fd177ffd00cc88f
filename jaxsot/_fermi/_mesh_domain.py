"""The mesh route's integration domain: the reciprocal-lattice cell of a lattice model (zoomed to the
part that holds the sea when it can be), or the box that holds a continuum model's sea."""

import jax
import jax.numpy as jnp

from .._bands._kernels import energy
from ._rays import outer_radius


def domain(model, fermi_energy):
    """(origin (2,), basis (2, 2) rows e1, e2) [1/nm] of the integration cell origin + u1 e1 + u2 e2, u in [0, 1]^2.

    Lattice model: the reciprocal-lattice cell centred on k = 0 (b_i from a_i . b_j = 2 pi delta_ij).
    Continuum: the box [-R, R]^2, R = `outer_radius`. Traceable.
    """
    dtype = jnp.result_type(fermi_energy, model.dtype)
    lattice = model.lattice_vectors
    if lattice is not None:
        a = jnp.asarray(lattice, dtype)
        b = 2.0 * jnp.pi * jnp.linalg.inv(a).T  # rows b1, b2
        return -0.5 * (b[0] + b[1]), b
    radius = outer_radius(model, fermi_energy) * 1.02
    return jnp.stack([-radius, -radius]), jnp.stack([jnp.stack([2.0 * radius, 0.0 * radius]), jnp.stack([0.0 * radius, 2.0 * radius])])


SCOUT_FACTOR = 4
"""Scout points per coarse cell and axis (`hidden_features`): a pocket or hole that lies between the
coarse vertices, where no refinement criterion sees it, is found when it holds one of them."""


ZOOM_MARGIN = 2
"""Probe spacings of empty margin around a lattice model's occupied region when the mesh zooms to it."""


def mesh_domain(model, fermi_energy, cells: int):
    """(origin (2,), basis (2, 2)) [1/nm] of the mesh route: `domain`, zoomed for a lattice model whose
    occupied region lies inside the reciprocal-lattice cell.

    A small pocket (a band edge near E_F) covers a few coarse cells of the whole zone, so its Fermi line
    would be resolved several times worse, relative to its size, than a continuum sea of the same shape
    in its own box. The lower band's sea contains every occupied state (eps_+ >= eps_-); it is probed on
    SCOUT_FACTOR * cells + 1 points per axis of the cell (the scout's spacing). A probe point counts
    when it is occupied or E_F lies within the band's change to its neighbours (first-order reach: a
    valley whose bottom lies between probe points just below E_F is kept). When the counted points with
    ZOOM_MARGIN spacings around them stay off the cell's edges, the mesh covers only that
    sub-parallelogram (the same u-range on both bands and at every level). Outside it the band is above
    E_F by more than its change over a probe spacing at every probe point; a sea integral is the
    same over any region that holds the sea, and the Fermi line lies inside. A sea reaching the cell's
    edge (large fillings, open Fermi lines, pockets at the zone corners) keeps the whole cell. The
    u-range is piecewise constant in the parameters (no gradient flows through it): derivatives see a
    sub-cell fixed in reduced coordinates, as the whole cell is. Continuum: `domain`. Traceable."""
    origin, basis = domain(model, fermi_energy)
    if model.lattice_vectors is None:
        return origin, basis
    count = SCOUT_FACTOR * cells
    u = jnp.arange(count + 1, dtype=origin.dtype) / count
    probe = origin + u[:, None, None] * basis[0] + u[None, :, None] * basis[1]
    eps = jax.lax.stop_gradient(energy(model, probe[..., 0], probe[..., 1], -1.0))
    # First-order reach, as the mesh's refinement uses: a point whose energy is within its change over
    # one probe spacing of E_F may have the sea next to it (a valley whose bottom lies between probe
    # points, just below E_F); its neighbourhood stays in the mesh.
    padded = jnp.pad(eps, 1, mode="edge")
    step = jnp.max(jnp.stack([jnp.abs(padded[1 + i : count + 2 + i, 1 + j : count + 2 + j] - eps)
                              for i in (-1, 0, 1) for j in (-1, 0, 1)]), 0)
    counted = eps - fermi_energy <= step
    index = jnp.arange(count + 1)
    limits = []
    for along in (jnp.any(counted, 1), jnp.any(counted, 0)):
        low = jnp.min(jnp.where(along, index, count)) - ZOOM_MARGIN
        high = jnp.max(jnp.where(along, index, 0)) + ZOOM_MARGIN
        limits.append((low, high))
    inside = jnp.any(counted) & jnp.all(jnp.stack([(low > 0) & (high < count) for low, high in limits]))
    (low1, high1), (low2, high2) = [(jnp.where(inside, low, 0) / count, jnp.where(inside, high, count) / count) for low, high in limits]
    low1, high1, low2, high2 = (x.astype(origin.dtype) for x in (low1, high1, low2, high2))
    zoomed_origin = origin + low1 * basis[0] + low2 * basis[1]
    return zoomed_origin, jnp.stack([(high1 - low1) * basis[0], (high2 - low2) * basis[1]])

"""Conforming closure of the mesh route's selective refinement (`_mesh`).

At the levels that refine only flagged triangles (the finest main level's decision for the extra
levels, and each extra level) the mesh is non-conforming: a refined triangle T and its unrefined
neighbour N share an edge that T's children split at the exact midpoint value of eps while N sees
the cubic Hermite interpolant of eps along the whole edge. Where the Fermi line crosses that edge
transversally the two disagree on the root by O(h^4) only. Where the line runs (nearly) along the
edge they can disagree about which side of E_F the edge lies on, and both T's children and N then
take a chord of the line along the edge: a piece of the Fermi line (O(h)) is counted twice, or
missed. `close_refinement` also refines N across every edge of a flagged triangle that the line runs
along, so that both sides of such an edge see the same (exact) midpoint value.

Neighbours are matched through their edge midpoints: all triangles of a level have the same size,
so in the domain coordinates u (k = origin + u1 e1 + u2 e2) every edge midpoint lies on the lattice
of spacing h/2, h the largest |du| component of the edge (its leg); two triangles share an edge
exactly when their rounded midpoint indices agree. One lexicographic sort of the 3T edges finds
the pairs (no buffer: nothing can be dropped, and the added neighbours count against the level's
refinement budget like any flagged triangle, whose overflow is refused).
"""

import jax
import jax.numpy as jnp

from ._triangle_rules import dot2

ALONG_FACTOR = 1e-2
"""An edge of length L is taken as lying along the Fermi line when both its end energies are within
ALONG_FACTOR |grad eps| L of E_F (|grad eps| the larger of the two end gradients), i.e. the line runs
within ~ALONG_FACTOR L of the edge at an angle below ~2 ALONG_FACTOR. The coarse and fine sides
disagree about the side only within the Hermite error |eps''''| L^4 / 384 of E_F, a fraction
|eps''''| L^3 / (384 |grad eps|) << ALONG_FACTOR of |grad eps| L on a mesh that resolves the band;
outside the criterion the line crosses at an angle >~ ALONG_FACTOR and the root mismatch stays
O(|eps''''| L^4 / (ALONG_FACTOR |grad eps|)) = O(h^4). A larger factor only refines more neighbours."""

EDGES = ((0, 1), (1, 2), (2, 0))


def along_edges(p, e, g, fermi_energy):
    """(T, 3) True for the edges (0-1, 1-2, 2-0) of triangles p (T, 3, 2) with vertex energies e (T, 3)
    and gradients g (T, 3, 2) that the Fermi line runs along (`ALONG_FACTOR`)."""
    gnorm = jnp.sqrt(dot2(g, g))
    flags = []
    for a, b in EDGES:
        d = p[:, b] - p[:, a]
        length = jnp.sqrt(dot2(d, d))
        reach = ALONG_FACTOR * jnp.maximum(gnorm[:, a], gnorm[:, b]) * length
        flags.append((jnp.abs(e[:, a] - fermi_energy) <= reach) & (jnp.abs(e[:, b] - fermi_energy) <= reach))
    return jnp.stack(flags, -1)


def edge_keys(p, valid, origin, basis):
    """Integer-valued midpoint indices (3T,), (3T,) of the edges of same-size triangles p (T, 3, 2) in
    the domain coordinates (`_mesh.domain`); invalid triangles get keys that match nothing."""
    p = jax.lax.stop_gradient(p)
    inverse = jax.lax.stop_gradient(jnp.linalg.inv(basis))
    u = (p - jax.lax.stop_gradient(origin)) @ inverse  # (T, 3, 2)
    ends = jnp.roll(u, -1, axis=-2)
    leg = jnp.max(jnp.abs(ends - u), -1)  # (T, 3): h of every edge of the level
    leg = jnp.where(leg > 0, leg, 1.0)
    index = jnp.round((u + ends) / leg[..., None])  # 2 u_mid / h
    unique = -1.0 - jnp.arange(index.shape[0] * 3, dtype=index.dtype).reshape(-1, 3)
    first = jnp.where(valid[:, None], index[..., 0], unique)
    second = jnp.where(valid[:, None], index[..., 1], 0.0)
    return first.reshape(-1), second.reshape(-1)


def close_refinement(p, e, g, valid, refine, fermi_energy, origin, basis):
    """The refinement flags (T,) `refine` plus the valid neighbours across the edges of refined
    triangles that the Fermi line runs along (`along_edges`): the conforming closure (module
    docstring). p (T, 3, 2) same-size triangles of one level, e (T, 3), g (T, 3, 2) band energies and
    gradients at their vertices, valid (T,), origin (2,) and basis (2, 2) of `_mesh.domain`. Traceable."""
    triangles = p.shape[0]
    along = along_edges(p, e, g, fermi_energy) & valid[:, None]
    candidate = (along & (refine & valid)[:, None]).reshape(-1)

    def closed(refine):
        first, second = edge_keys(p, valid, origin, basis)
        order = jnp.lexsort((second, first))
        same = (first[order][1:] == first[order][:-1]) & (second[order][1:] == second[order][:-1])
        flagged = candidate[order]
        # A shared edge appears twice among the 3T sorted edges, side by side: mark each partner.
        mark = jnp.zeros(3 * triangles, bool)
        mark = mark.at[order[1:]].max(same & flagged[:-1])
        mark = mark.at[order[:-1]].max(same & flagged[1:])
        return refine | (jnp.any(mark.reshape(triangles, 3), -1) & valid)

    # The sort of all 3T edges runs only where some flagged triangle has an edge along the line (rare).
    return jax.lax.cond(jnp.any(candidate), closed, lambda refine: refine, refine)

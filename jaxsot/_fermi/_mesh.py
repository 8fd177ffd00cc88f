"""The general Fermi-sea route: an adaptively refined triangle mesh of the Brillouin zone or of a box
(docs: Theory > Brillouin-zone and Fermi-sea integration).

Any occupied region {eps_s(k) < E_F} of any `TwoBandModel` (pockets, annuli, holes, several pieces,
open Fermi lines crossing the zone boundary, Dirac points inside the sea) is integrated on triangles:

- the domain is the reciprocal-lattice cell k = (u1 - 1/2) b1 + (u2 - 1/2) b2 of a lattice model
  (`TwoBandModel.lattice_vectors`; periodic integrands integrate over it as over the first zone), or
  the part of it that holds the sea when the sea stays off the cell's edges (`mesh_domain`),
  or the box [-R, R]^2 of a continuum model with R beyond the outer Fermi line (`outer_radius`,
  checked on the box edge: an unbounded continuum sea is refused);
- an n x n grid of cells, two triangles each; a triangle is refined (split into four) when the Fermi
  level is within first-order reach of its vertices (|eps_i - E_F| <= |grad eps_i| D, D its longest
  edge: this also catches a pocket of a nearly quadratic band whose minimum lies between vertices) or
  when the bands may touch inside it (Omega_i <= |grad Omega_i| D), `levels` times, with static
  budgets of refined triangles; a pocket or hole between coarse vertices that nothing refines (a dip
  narrower than the cells) is found on a SCOUT_FACTOR x finer scout grid and refused
  (`hidden_features`), never integrated as a whole cell;
- a triangle that is not refined lies on one side of the Fermi level and contributes the 7-point
  degree-5 Radon rule; a triangle cut by the Fermi line at the finest level is split along the chord
  between the two edge roots (found on the cubic Hermite interpolant of eps along the edge, from
  the vertex values and gradients: O(h^4) roots), each piece integrated by the Radon rule, plus the
  parabolic segment between the chord and the Fermi line, (2/3) chord * sagitta, with the sagitta
  from one Newton step at the chord midpoint and its node at the segment's centroid (2/5 sagitta);
  at the finest main level only the cut triangles take that rule, gathered into a fixed buffer
  (`_mesh_cut`, a share CUT_SHARE of the padded triangles; an overflow is refused, never dropped);
- where only flagged triangles are refined (the extra levels and the finest main level's choice of
  them), the neighbour across an edge that the Fermi line runs along is refined too (`_mesh_closure`):
  the mesh stays conforming there, and a piece of the line along that edge is not counted twice.

The sea error is O(h^4) in the finest cut-triangle size h, and the cost grows like 1/h (only the
triangles along the line are refined). Fermi-line integrals use three Gauss points on each parabolic
arc. Every array shape is static: the route is traceable (jit, vmap, grad; the weights depend
continuously on the model through the vertex energies and roots) and the refinement budget is
enforced with `equinox.error_if` under tracing.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as onp

from ..constants import AREA_MEASURE
from ._guard import guard
from ._mesh_domain import SCOUT_FACTOR as SCOUT_FACTOR, domain as domain, mesh_domain as mesh_domain
from . import _mesh_cut
from .._bands._kernels import energy
from ._mesh_cut import band, cut_capacity, edge_crossed_twice, evaluate, gathered_cut
from ._mesh_closure import close_refinement
from ._triangle_rules import area, dot2, longest_edge, triangle_nodes, whole_nodes

NEAR_FACTOR = 0.6
"""A triangle is refined when |eps_i - E_F| <= NEAR_FACTOR |grad eps_i| D at a vertex (D its longest
edge): a quadratic extremum within D of a vertex differs from it by at most |grad eps_i| D / 2."""

CLOSE_FACTOR = 3.0
"""A whole triangle at a fine level with Omega_i <= CLOSE_FACTOR |grad Omega_i| D at a vertex (the
children of the triangles refined near a band touching) takes the degree-5 rule: the band spin
b/|b| turns by O(1) across it, and the degree-2 rule there left an O(h^2) error from every level
(4e-7 of the TI surface spin density at the defaults, 2e-6 at half the cells; 7e-8 and 4e-7 with it)."""

CLOSE_CAP_FACTOR = 8
"""At most CLOSE_CAP_FACTOR * cells such triangles per level take the degree-5 rule (static shapes; a
Dirac point in the TI sea needs ~60 at the defaults)."""

DEFAULT_CELLS = 32
"""Coarse cells per side of the mesh (two triangles each)."""

DEFAULT_LEVELS = 3
"""Refinement levels of the triangles along the Fermi line and near band touchings."""

DEFAULT_EXTRA_LEVELS = 8
"""Further refinement levels only where the line is not yet resolved (see SAGITTA_RATIO), near band
touchings and near extrema or saddles of the band at the Fermi level (small pockets, van Hove points)."""


class MeshBand(NamedTuple):
    """The mesh quadrature of one band's T = 0 sea and Fermi line (static shapes, zero weights padded).

    sea_k (N, 2) [1/nm], sea_weight (N,) [1/nm^2] (sum g w ~ int_sea g d^2k); line_k (M, 2),
    line_normal_dl (M, 2) [1/nm] (outward normal times line weight), line_dl (M,) [1/nm],
    line_gradient (M,) |grad eps| [eV nm]; overflow: a refinement budget was exceeded (bool);
    unbounded: a continuum sea reaches the box edge (bool); min_splitting: smallest Omega [eV] on
    the mesh vertices; cut: number of triangles cut by the Fermi line at the finest level; refined:
    (levels,) numbers of triangles flagged for refinement at each level; cut_overflow: more cut
    triangles than the buffer of a level holds (`_mesh_cut.CUT_SHARE`; the cut weights are then NaN);
    hidden: the scout grid found a pocket or hole between coarse vertices that nothing refines (bool,
    `hidden_features`), hidden_k (2,) [1/nm] the centre of such a coarse cell (NaN when none).
    """

    sea_k: jax.Array
    sea_weight: jax.Array
    line_k: jax.Array
    line_normal_dl: jax.Array
    line_dl: jax.Array
    line_gradient: jax.Array
    overflow: jax.Array
    unbounded: jax.Array
    min_splitting: jax.Array
    cut: jax.Array
    refined: jax.Array
    cut_overflow: jax.Array
    hidden: jax.Array
    hidden_k: jax.Array


def default_budget(cells: int, levels: int, extra: int = 0) -> tuple:
    """Static numbers of triangles refined at each level (parents): ~ a band along the Fermi line for
    the `levels` main levels, then 8 cells for each of the `extra` levels (few triangles there; a TI
    pocket 3 meV above its Dirac point needs 148 at one level: traced calls overflowed at 4 cells)."""
    budget, parents = [], 2 * cells * cells
    base = 24 * cells
    for level in range(levels):
        cap = min(parents, base * 2**level)
        budget.append(int(cap))
        parents = 4 * cap
    budget += [int(min(parents, 8 * cells))] * min(extra, 1) + [int(8 * cells)] * max(extra - 1, 0)
    return tuple(budget)


def _flags(p, data, fermi_energy, s):
    """(straddle, refine, touch, extremum, close) per triangle for band s.

    straddle: the vertices lie on both sides of E_F; refine: straddle, or E_F within first-order reach
    of a vertex (NEAR_FACTOR), or a possible band touching in an occupied or nearly occupied triangle;
    touch: that last condition alone; extremum: E_F within reach and the linear interpolant's
    gradient much smaller than the vertex gradients (a minimum, maximum or saddle of eps inside), or
    an edge crossed twice by the Fermi line (`edge_crossed_twice`); close: within CLOSE_FACTOR reach
    of a band touching."""
    e, g = band(data, s)
    size = longest_edge(p)[:, None]
    gnorm = jnp.sqrt(dot2(g, g))
    reach = NEAR_FACTOR * gnorm * size
    below = e < fermi_energy
    straddle = jnp.any(below, -1) & ~jnp.all(below, -1)
    near = jnp.any(jnp.abs(e - fermi_energy) <= reach, -1)
    omega, grad_omega = data[..., 1], data[..., 4:6]
    omega_reach = jnp.sqrt(dot2(grad_omega, grad_omega)) * size
    may_touch = jnp.any(omega <= omega_reach, -1)
    close = jnp.any(omega <= CLOSE_FACTOR * omega_reach, -1)
    relevant = jnp.min(e - reach, -1) < fermi_energy
    touch = may_touch & relevant
    d1, d2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    det = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    de1, de2 = e[:, 1] - e[:, 0], e[:, 2] - e[:, 0]
    gx = (de1 * d2[:, 1] - de2 * d1[:, 1]) / det
    gy = (d1[:, 0] * de2 - d2[:, 0] * de1) / det
    extremum = near & (jnp.sqrt(gx * gx + gy * gy) < 0.5 * jnp.maximum(jnp.maximum(gnorm[:, 0], gnorm[:, 1]), gnorm[:, 2]))
    extremum = extremum | (near & ~straddle & edge_crossed_twice(p, e, g, fermi_energy))
    return straddle, straddle | near | touch, touch, extremum, close


def _children(model, p, data):
    """The four children (4K, 3, 2) of triangles p (K, 3, 2) and their vertex data."""
    mid = 0.5 * (p + jnp.roll(p, -1, axis=-2))  # m01, m12, m20
    mdata = evaluate(model, mid)
    p0, p1, p2 = p[:, 0], p[:, 1], p[:, 2]
    m01, m12, m20 = mid[:, 0], mid[:, 1], mid[:, 2]
    d0, d1, d2 = data[:, 0], data[:, 1], data[:, 2]
    e01, e12, e20 = mdata[:, 0], mdata[:, 1], mdata[:, 2]
    points = [(p0, m01, m20), (m01, p1, m12), (m20, m12, p2), (m01, m12, m20)]
    values = [(d0, e01, e20), (e01, d1, e12), (e20, e12, d2), (e01, e12, e20)]
    new_p = jnp.concatenate([jnp.stack(t, 1) for t in points])
    new_d = jnp.concatenate([jnp.stack(t, 1) for t in values])
    return new_p, new_d


def pick_flagged(refine, cap, p, data):
    """The first `cap` (static) triangles flagged `refine`: their p and data, used (cap,), overflow, count."""
    (chosen,) = jnp.nonzero(refine, size=cap, fill_value=0)
    count = jnp.sum(refine)
    return p[chosen], data[chosen], jnp.arange(cap) < count, count > cap, count


def hidden_features(model, fermi_energy, s, origin, basis, e_vertex, refine):
    """(hidden, k (2,)): a coarse cell whose four corners lie on one side of E_F, neither of whose two
    triangles is refined at level 0, but one of whose SCOUT_FACTOR^2 interior scout points lies on the
    other side (a pocket or hole the mesh would not integrate at all; exact evidence); k the centre of
    the first such cell [1/nm] (NaN when none). e_vertex: (cells+1, cells+1) eps_s at the coarse
    vertices; refine: (2 cells^2,) level-0 flags in `main_levels`' triangle order. Traceable."""
    cells = e_vertex.shape[0] - 1
    below = e_vertex < fermi_energy
    corners = jnp.stack([below[:-1, :-1], below[1:, :-1], below[:-1, 1:], below[1:, 1:]])
    all_below, none_below = jnp.all(corners, 0), ~jnp.any(corners, 0)
    count = cells * SCOUT_FACTOR
    u = (jnp.arange(count, dtype=e_vertex.dtype) + 0.5) / count
    scout = origin + u[:, None, None] * basis[0] + u[None, :, None] * basis[1]
    inside = (energy(model, scout[..., 0], scout[..., 1], s) < fermi_energy).reshape(cells, SCOUT_FACTOR, cells, SCOUT_FACTOR)
    any_inside, all_inside = jnp.any(inside, (1, 3)), jnp.all(inside, (1, 3))
    refined = (refine[: cells * cells] | refine[cells * cells :]).reshape(cells, cells)
    cell = ~refined & ((all_below & ~all_inside) | (none_below & any_inside))
    first = jnp.argmax(cell.reshape(-1))
    centre = origin + ((first // cells + 0.5) / cells) * basis[0] + ((first % cells + 0.5) / cells) * basis[1]
    hidden = jnp.any(cell)
    return hidden, jnp.where(hidden, centre, jnp.nan)


def main_levels(model, fermi_energy, s, cells, levels, budget, extra):
    """The coarse grid and the `levels` main levels of `mesh_band`: the sea parts [(k, weight)] of the
    levels above the finest, the finest level's part (sea k, weight, line k, normal*dl, dl, |grad eps|,
    cut count, cut overflow), its refinement flags, triangles and data, overflow, counts,
    min_splitting, unbounded and the scout's (hidden, k) (`hidden_features`)."""
    dtype = jnp.result_type(fermi_energy, model.dtype)
    origin, basis = mesh_domain(model, fermi_energy, cells)
    u = jnp.arange(cells + 1, dtype=dtype) / cells
    grid = origin + u[:, None, None] * basis[0] + u[None, :, None] * basis[1]  # (n+1, n+1, 2)
    vdata = evaluate(model, grid)
    i, j = onp.meshgrid(onp.arange(cells), onp.arange(cells), indexing="ij")
    i, j = i.ravel(), j.ravel()
    tri_index = onp.concatenate(
        [onp.stack([onp.stack([i, j], -1), onp.stack([i + 1, j], -1), onp.stack([i + 1, j + 1], -1)], 1),
         onp.stack([onp.stack([i, j], -1), onp.stack([i + 1, j + 1], -1), onp.stack([i, j + 1], -1)], 1)]
    )
    p = grid[tri_index[..., 0], tri_index[..., 1]]
    data = vdata[tri_index[..., 0], tri_index[..., 1]]
    valid = jnp.ones(p.shape[0], bool)
    min_splitting = jnp.min(vdata[..., 1])
    close_cap = CLOSE_CAP_FACTOR * cells

    unbounded = jnp.zeros((), bool)
    if model.lattice_vectors is None:
        # The sea must stay inside the box: every band energy on the box edge above E_F.
        e_lower, _ = band(vdata, -1.0)
        edge = jnp.concatenate([e_lower[0], e_lower[-1], e_lower[:, 0], e_lower[:, -1]])
        unbounded = jnp.any(edge <= fermi_energy)

    flags = _flags(p, data, fermi_energy, s)
    e_vertex, _ = band(vdata, s)
    scout = hidden_features(model, fermi_energy, s, origin, basis, e_vertex, flags[1])

    sea, counts = [], []
    overflow = jnp.zeros((), bool)
    for level in range(levels):
        _, refine, _, _, close = flags if level == 0 else _flags(p, data, fermi_energy, s)
        refine = refine & valid
        e, _ = band(data, s)
        occupied = valid & ~refine & jnp.all(e < fermi_energy, -1)
        if level == 0:
            nodes, weights = triangle_nodes(p, area(p) * occupied)
        else:
            nodes, weights = whole_nodes(p, area(p) * occupied, close, close_cap)
        sea.append((nodes.reshape(-1, 2), weights.reshape(-1)))
        p, data, used, over, count = pick_flagged(refine, budget[level], p, data)
        p, data = _children(model, p, data)
        valid = used[None, :].repeat(4, 0).reshape(-1)
        overflow = overflow | over
        counts.append(count)
        min_splitting = jnp.minimum(min_splitting, jnp.min(jnp.where(valid[:, None], data[..., 1], jnp.inf)))
    # Without main levels the finest level is the coarse grid, whose size no budget sets: no buffer.
    capacity = cut_capacity(p.shape[0]) if levels > 0 else None
    out, refine = _finest(model, fermi_energy, s, close_cap, p, data, valid, extra > 0, capacity, origin, basis)
    return sea, out, refine, p, data, overflow, counts, min_splitting, unbounded, scout


def _finest(model, fermi_energy, s, close_cap, p, data, valid, allow_refine, capacity, origin, basis):
    """Cut-triangle treatment of the triangles that are kept (gathered into `capacity` slots, None:
    all), the refinement flags of the rest, and whether the cut triangles overflowed the slots."""
    straddle, _, touch, extremum, close = _flags(p, data, fermi_energy, s)
    e, g = band(data, s)
    index, used, cut_over, under, cut = gathered_cut(model, p, data, valid & straddle, fermi_energy, s, capacity)
    cnodes, cweights, lk, ndl, dl, gradient = cut
    refine = valid & (touch | under | extremum) & allow_refine
    refine = close_refinement(p, e, g, valid, refine, fermi_energy, origin, basis)
    keep = valid & ~refine
    whole = keep & ~straddle & jnp.all(e < fermi_energy, -1)
    nodes, weights = whole_nodes(p, area(p) * whole, close, close_cap)
    kept = keep[index] & used
    out = (
        jnp.concatenate([nodes, cnodes.reshape(-1, 2)]),
        jnp.concatenate([weights, (cweights * kept[:, None]).reshape(-1)]),
        lk.reshape(-1, 2),
        (ndl * kept[:, None, None]).reshape(-1, 2),
        (dl * kept[:, None]).reshape(-1),
        gradient.reshape(-1),
        jnp.sum(keep & straddle),
        cut_over,
    )
    return out, refine


def extra_levels_run(model, fermi_energy, s, cells, extra, picked, smallest):
    """The `extra` extra levels of `mesh_band` from the triangles picked (`pick_flagged`) at the finest main
    level: (overflow, smallest Omega, stacked level outputs (`_finest`'s, one row per level), counts
    of the levels after the first)."""
    close_cap = CLOSE_CAP_FACTOR * cells
    origin, basis = mesh_domain(model, fermi_energy, cells)  # the closure's edge keys (`_mesh_closure.edge_keys`)
    p, data, used, _, _ = picked
    cap = used.shape[0]
    p, data = _children(model, p, data)
    valid = used[None, :].repeat(4, 0).reshape(-1)

    # The extra levels have one shape (4 * cap triangles): one compiled scan body.
    def level(p, data, valid, index):
        out, refine = _finest(model, fermi_energy, s, close_cap, p, data, valid, index < extra - 1, None, origin, basis)
        p, data, used, over, count = pick_flagged(refine, cap, p, data)
        p, data = _children(model, p, data)
        return (p, data, used[None, :].repeat(4, 0).reshape(-1), over), (out, count)

    def skipped(p, data, valid, index):
        # Nothing flagged at the level before: every output is zero weight (same shapes).
        shapes = jax.eval_shape(level, p, data, valid, index)
        return jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)

    def body(state, index):
        p, data, valid, overflow, smallest = state
        smallest = jnp.minimum(smallest, jnp.min(jnp.where(valid[:, None], data[..., 1], jnp.inf)))
        # A level where nothing was flagged is skipped (under vmap both branches run).
        (p, data, valid, over), (out, count) = jax.lax.cond(jnp.any(valid), level, skipped, p, data, valid, index)
        return (p, data, valid, overflow | over, smallest), (out, count)

    state = (p, data, valid, jnp.zeros((), bool), smallest)
    (_, _, _, over, smallest), (stacked, counts) = jax.lax.scan(body, state, jnp.arange(extra))
    return over, smallest, stacked, counts


def flatten_levels(stacked):
    """The stacked outputs of `extra_levels_run` as one part (the layout of `_finest`'s output)."""
    return tuple(x.reshape((-1,) + x.shape[2:]) if x.ndim > 1 else (jnp.any(x) if x.dtype == bool else jnp.sum(x)) for x in stacked)


def mesh_band(model, fermi_energy, s, cells: int, levels: int, budget: tuple, extra: int = 0) -> MeshBand:
    """The mesh quadrature of band s's T = 0 Fermi sea (module docstring). Traceable; cells, levels,
    extra (further levels where the line is under-resolved, near touchings and extrema), budget
    (parents refined per level, levels + extra entries, `default_budget`) static; s a Python float."""
    sea, out, refine, p, data, overflow, counts, min_splitting, unbounded, scout = main_levels(
        model, fermi_energy, s, cells, levels, budget, extra
    )
    sea_k, sea_w = [k for k, _ in sea], [w for _, w in sea]
    line_k, line_ndl, line_dl, line_g = [], [], [], []
    parts = [out]
    if extra > 0:
        cap = budget[levels]

        def levels_run(refine, p, data, smallest):
            picked = pick_flagged(refine, cap, p, data)
            over, smallest, stacked, counts = extra_levels_run(model, fermi_energy, s, cells, extra, picked, smallest)
            return picked[3] | over, picked[4], smallest, stacked, counts

        def none_run(refine, p, data, smallest):
            # Nothing flagged at the finest main level (a star-shaped sea): no extra level runs, and
            # the first one's children are not evaluated either.
            shapes = jax.eval_shape(levels_run, refine, p, data, smallest)
            zeros = jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
            return (zeros[0], zeros[1], smallest) + tuple(zeros[3:])

        over, count, min_splitting, stacked, extra_counts = jax.lax.cond(
            jnp.any(refine), levels_run, none_run, refine, p, data, min_splitting
        )
        overflow = overflow | over
        counts.append(count)
        parts.append(flatten_levels(stacked))
        counts += [extra_counts[i] for i in range(extra - 1)]
    for part in parts:
        sea_k.append(part[0])
        sea_w.append(part[1])
        line_k.append(part[2])
        line_ndl.append(part[3])
        line_dl.append(part[4])
        line_g.append(part[5])
    cut = sum(part[6] for part in parts)
    cut_overflow = jnp.any(jnp.stack([part[7] for part in parts]))
    return MeshBand(
        jnp.concatenate(sea_k), jnp.concatenate(sea_w), jnp.concatenate(line_k), jnp.concatenate(line_ndl),
        jnp.concatenate(line_dl), jnp.concatenate(line_g), overflow, unbounded, min_splitting, cut,
        jnp.stack(counts) if counts else jnp.zeros((0,), int), cut_overflow, scout[0], scout[1],
    )


class MeshOptions(NamedTuple):
    """Resolution of the mesh route (`jaxsot.MeshOptions`).

    cells: coarse cells per side (two triangles each); levels: refinements of every triangle near
    the Fermi line and near band touchings; extra_levels: further refinements only where the line
    is not yet resolved (sagitta > SAGITTA_RATIO chord: small pockets, sharp bends), near band
    touchings and near extrema or saddles of the band at E_F; budget: triangles refined per level
    (levels + extra_levels ints; None: `default_budget`, doubled automatically on concrete inputs
    when exceeded). The error estimate (`jaxsot.fermi_sea_integral`) repeats the integral with
    cells // 2."""

    cells: int = DEFAULT_CELLS
    levels: int = DEFAULT_LEVELS
    budget: tuple | None = None
    extra_levels: int = DEFAULT_EXTRA_LEVELS

    def resolved_budget(self) -> tuple:
        if self.budget is not None:
            return tuple(self.budget)
        return default_budget(self.cells, self.levels, self.extra_levels)

    def coarser(self) -> "MeshOptions":
        """Half the coarse cells, same levels (the second resolution of the error estimate)."""
        cells = max(self.cells // 2, 4)
        budget = None if self.budget is None else tuple(max(b // 2, 1) for b in self.budget)
        return MeshOptions(cells, self.levels, budget, self.extra_levels)


def check_mesh_options(mesh) -> MeshOptions:
    """Validate `mesh` (None, a MeshOptions or an int number of cells)."""
    if mesh is None:
        return MeshOptions()
    if isinstance(mesh, int) and not isinstance(mesh, bool):
        mesh = MeshOptions(cells=mesh)
    if not isinstance(mesh, MeshOptions):
        raise ValueError(f"mesh = {mesh!r} is not allowed; allowed: None, an int (coarse cells per side) or jaxsot.MeshOptions")
    if not (isinstance(mesh.cells, int) and 4 <= mesh.cells <= 4096):
        raise ValueError(f"mesh.cells = {mesh.cells!r} is not allowed; allowed: an int in [4, 4096]")
    if not (isinstance(mesh.levels, int) and 0 <= mesh.levels <= 16):
        raise ValueError(f"mesh.levels = {mesh.levels!r} is not allowed; allowed: an int in [0, 16]")
    if not (isinstance(mesh.extra_levels, int) and 0 <= mesh.extra_levels <= 24):
        raise ValueError(f"mesh.extra_levels = {mesh.extra_levels!r} is not allowed; allowed: an int in [0, 24]")
    if mesh.budget is not None:
        budget = tuple(mesh.budget)
        count = mesh.levels + mesh.extra_levels
        if len(budget) != count or not all(isinstance(b, int) and b >= 1 for b in budget):
            raise ValueError(f"mesh.budget = {mesh.budget!r} is not allowed; allowed: None or {count} positive ints")
    return mesh


HIDDEN_MESSAGE = (
    "a pocket or hole of the Fermi sea lies between the coarse mesh vertices, where no refinement "
    f"criterion sees it (found on a {SCOUT_FACTOR}x finer scout grid), so the mesh would leave it out; "
    f"allowed: jaxsot.MeshOptions(cells=...) at least {SCOUT_FACTOR}x the current cells"
)


def mesh_nodes(model, fermi_energy, bands: tuple, mesh: MeshOptions, *, checked: bool = True, all_bands: bool = True, allow_hidden: bool = False):
    """Sea (k, weight, sign), contour (k, normal*dl, sign), band densities (2,), line extras and stats
    of the mesh route for `bands` (traceable; bands and mesh static). With checked, a refinement or cut-buffer
    budget overflow, an unbounded continuum sea or (with all_bands) an occupied band left out of
    `bands` raises (`equinox.error_if` on every output, also under jit/grad), and so does a pocket or
    hole hidden between the coarse vertices (`hidden_features`) unless `allow_hidden`."""
    budget = mesh.resolved_budget()
    sea_k, sea_w, sea_s, line_k, line_ndl, line_s, line_dl, line_g = [], [], [], [], [], [], [], []
    densities = {-1: jnp.zeros((), fermi_energy.dtype), 1: jnp.zeros((), fermi_energy.dtype)}
    overflow = jnp.zeros((), bool)
    cut_overflow = jnp.zeros((), bool)
    unbounded = jnp.zeros((), bool)
    hidden = jnp.zeros((), bool)
    smallest = jnp.asarray(jnp.inf, fermi_energy.dtype)
    missing = jnp.zeros((), bool)
    if checked and all_bands:
        origin, basis = domain(model, fermi_energy)
        u = (jnp.arange(2 * mesh.cells, dtype=fermi_energy.dtype) + 0.5) / (2 * mesh.cells)
        grid = origin + u[:, None, None] * basis[0] + u[None, :, None] * basis[1]
        for s in (-1, 1):
            if s not in bands:
                eps, _ = band(evaluate(model, grid), float(s))
                missing = missing | jnp.any(eps < fermi_energy)
    for s in bands:
        result = mesh_band(model, fermi_energy, float(s), mesh.cells, mesh.levels, budget, mesh.extra_levels)
        sea_k.append(result.sea_k)
        sea_w.append(result.sea_weight)
        sea_s.append(jnp.full(result.sea_weight.shape, float(s), result.sea_weight.dtype))
        line_k.append(result.line_k)
        line_ndl.append(result.line_normal_dl)
        line_s.append(jnp.full(result.line_dl.shape, float(s), result.line_dl.dtype))
        line_dl.append(result.line_dl)
        line_g.append(result.line_gradient)
        densities[s] = jnp.sum(result.sea_weight) * AREA_MEASURE
        overflow = overflow | result.overflow
        cut_overflow = cut_overflow | result.cut_overflow
        unbounded = unbounded | result.unbounded
        hidden = hidden | result.hidden
        smallest = jnp.minimum(smallest, result.min_splitting)
    sea = tuple(jnp.concatenate(x) for x in (sea_k, sea_w, sea_s))
    contour = tuple(jnp.concatenate(x) for x in (line_k, line_ndl, line_s))
    extras = (jnp.concatenate(line_dl), jnp.concatenate(line_g))
    densities = jnp.stack([densities[-1], densities[1]])
    if checked:
        outputs = (sea, contour, densities, extras)
        outputs = guard(
            outputs,
            overflow,
            "jaxsot mesh route: the refinement budget (mesh.budget) was exceeded; allowed: a larger "
            "jaxsot.MeshOptions(budget=...) or call on concrete inputs (the budget then grows automatically)",
        )
        outputs = guard(
            outputs,
            cut_overflow,
            "jaxsot mesh route: more triangles are cut by the Fermi line than the cut-triangle buffer holds "
            f"(a share {_mesh_cut.CUT_SHARE:g} of the finest level's padded triangles, 4 x mesh.budget of the level above); "
            "allowed: a larger jaxsot.MeshOptions(budget=...) or call on concrete inputs (the budget then grows "
            "automatically)",
        )
        outputs = guard(
            outputs,
            unbounded,
            "jaxsot mesh route: the Fermi sea of this continuum model reaches the edge of the bounding box "
            "(the model's ray_bound): the sea is unbounded or the bound is wrong; allowed: a model whose "
            "bands grow beyond ray_bound, or a lattice model (lattice_vectors)",
        )
        outputs = guard(
            outputs,
            hidden & ~allow_hidden,
            f"jaxsot mesh route (traced): {HIDDEN_MESSAGE}; the same call on concrete inputs names where",
        )
        outputs = guard(
            outputs,
            missing,
            "jaxsot mesh route (traced): a band left out of `bands` is occupied; allowed: the bands that "
            "jaxsot.occupied_bands gives on concrete values",
        )
        sea, contour, densities, extras = outputs
    stats = {"overflow": overflow, "cut_overflow": cut_overflow, "unbounded": unbounded, "hidden": hidden, "min_splitting": smallest}
    return sea, contour, densities, extras, stats

"""The mesh route on concrete inputs (`_mesh`): compiled programs, the budget that grows until it
suffices, and the zero-weight nodes dropped on the host.

On a concrete call the extra refinement levels run as a second program, and only for a band whose
finest main level flagged a triangle: on a star-shaped sea none is flagged, and the padded outputs of
the skipped levels (half the sea nodes and three quarters of the line nodes of a band at the
defaults, all zero weight) are neither filled nor copied. The programs return their parts unjoined
(no concatenation of padded arrays on the device); the host keeps the nonzero-weight nodes of each
part, in the order of `_mesh.mesh_band`'s outputs. Traced calls take `_mesh.mesh_nodes` (one
program, the extra levels behind a `lax.cond`).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as onp

from ..constants import AREA_MEASURE
from ._mesh import HIDDEN_MESSAGE, MeshOptions, main_levels, pick_flagged, extra_levels_run, flatten_levels


@functools.partial(jax.jit, static_argnames=("bands", "mesh", "line"))
def mesh_nodes_jit(model, fermi_energy, bands, mesh, line=True):
    """The coarse grid and main levels of `bands` (static tuple) compiled: per band, the sea parts
    [(k, weight)], the finest level's line part (k, normal*dl, dl, |grad eps|; () without `line`),
    the triangles picked for the extra levels (`_mesh.pick_flagged`), whether any was flagged, and the
    stats (overflow, cut_overflow, unbounded, min_splitting, hidden, hidden k)."""
    budget = mesh.resolved_budget()
    out = []
    for s in bands:
        sea, finest, refine, p, data, overflow, _, smallest, unbounded, scout = main_levels(
            model, fermi_energy, float(s), mesh.cells, mesh.levels, budget, mesh.extra_levels
        )
        picked = pick_flagged(refine, budget[mesh.levels], p, data)[:3] if mesh.extra_levels > 0 else ()
        flagged = jnp.any(refine)
        # A pick overflow happens only with flagged triangles, whose extra levels then run.
        overflow = overflow | (jnp.sum(refine) > budget[mesh.levels] if mesh.extra_levels > 0 else False)
        sea = list(sea) + [finest[:2]]
        stats = (overflow, finest[7], unbounded, smallest) + scout
        out.append((sea, finest[2:6] if line else (), picked, flagged, stats))
    return out


@functools.partial(jax.jit, static_argnames=("s", "mesh"))
def extra_levels_jit(model, fermi_energy, picked, smallest, s, mesh):
    """The extra levels of band s (`_mesh.extra_levels_run`) from the triangles `mesh_nodes_jit` picked:
    (sea part (k, weight), line part (k, normal*dl, dl, |grad eps|), overflow, cut_overflow, min_splitting)."""
    used = picked[2]
    count = jnp.sum(used)
    picked = tuple(picked) + (jnp.zeros((), bool), count)
    over, smallest, stacked, _ = extra_levels_run(model, fermi_energy, s, mesh.cells, mesh.extra_levels, picked, smallest)
    part = flatten_levels(stacked)
    return part[:2], part[2:6], over, part[7], smallest


def _run(model, fermi_energy, bands, mesh, line=True):
    """Both programs (the second for the flagged bands only): per band (sea parts, line parts (none
    without `line`)) as NumPy arrays, and the stats dict."""
    # One transfer of what the host reads (NumPy on the host: eager jax operations on the stats cost
    # more than the finest level); the picked triangles, the extra levels' input, stay on the device.
    main = mesh_nodes_jit(model, fermi_energy, bands, mesh, line)
    host = jax.device_get([(sea, part, flagged, stats) for sea, part, _, flagged, stats in main])
    result, overflow, cut_overflow, unbounded, smallest, hidden = [], False, False, False, [], []
    for s, (sea, part, flagged, stats), (_, _, picked, _, _) in zip(bands, host, main):
        sea, lines = list(sea), [part] if line else []
        over, cut_over, outside, low, scout, where = stats
        if bool(scout):
            hidden.append((s, where))
        overflow, cut_overflow, unbounded = overflow | bool(over), cut_overflow | bool(cut_over), unbounded | bool(outside)
        if bool(flagged):
            extra_sea, extra_line, over, cut_over, low = jax.device_get(
                extra_levels_jit(model, fermi_energy, picked, low, float(s), mesh)
            )
            sea.append(extra_sea)
            lines += [extra_line] if line else []
            overflow, cut_overflow = overflow | bool(over), cut_overflow | bool(cut_over)
        smallest.append(low)
        result.append((sea, lines))
    dtype = jnp.result_type(fermi_energy, model.dtype)
    stats = {
        "overflow": onp.bool_(overflow),
        "cut_overflow": onp.bool_(cut_overflow),
        "unbounded": onp.bool_(unbounded),
        "hidden": onp.bool_(bool(hidden)),
        "hidden_at": tuple(hidden),  # (band, coarse cell centre) of each band with a hidden pocket or hole
        "min_splitting": onp.min(onp.asarray(smallest, dtype)) if smallest else onp.asarray(onp.inf, dtype),
    }
    return result, stats


def concrete_mesh_nodes(model, fermi_energy, bands: tuple, mesh: MeshOptions, *, compact: bool = True, line: bool = True, allow_hidden: bool = False):
    """`_mesh.mesh_nodes` on concrete inputs: the budget is doubled (up to 4 times) until it suffices;
    an unbounded continuum sea raises ValueError, and so does a pocket or hole hidden between the coarse
    vertices (`_mesh.hidden_features`) unless `allow_hidden`; zero-weight nodes are dropped when `compact`.
    Returns (sea, contour, densities, extras, stats, mesh used), in `mesh_nodes`' layout (without
    `compact`, the padded nodes of the extra levels of a band that needs none are left out; without
    `line`, contour and extras are None: the line nodes are neither computed nor copied)."""
    for _ in range(5):
        result, stats = _run(model, fermi_energy, bands, mesh, line)
        if bool(stats["unbounded"]):
            raise ValueError(
                f"fermi_energy = {float(fermi_energy):g} eV: the Fermi sea of this continuum model reaches the edge "
                "of the box [-R, R]^2 bounded by the model's ray_bound: the sea is unbounded (the bands do not "
                "grow above E_F at large k) or ray_bound is wrong; allowed: a Fermi energy with a bounded sea, or "
                "a lattice model (lattice_vectors) integrated over its Brillouin zone"
            )
        if bool(stats["hidden"]) and not allow_hidden:
            s, where = stats["hidden_at"][0]
            raise ValueError(
                f"mesh.cells = {mesh.cells}, fermi_energy = {float(fermi_energy):g} eV: {HIDDEN_MESSAGE} (band {s:+d}, "
                f"in the coarse cell centred on k = {onp.round(onp.asarray(where, float), 4).tolist()} 1/nm)"
            )
        if not (bool(stats["overflow"]) or bool(stats["cut_overflow"])):
            break
        mesh = MeshOptions(mesh.cells, mesh.levels, tuple(2 * b for b in mesh.resolved_budget()), mesh.extra_levels)
    else:
        raise ValueError(f"mesh route: refinement budget {mesh.resolved_budget()} still exceeded; allowed: fewer levels or cells")
    # On the host with NumPy: one eager jax gather per array cost more than the mesh's finest level.
    sea_parts, line_parts, totals = [], [], {-1: 0.0, 1: 0.0}
    for s, (sea, lines) in zip(bands, result):
        sea_parts += [(k, w, float(s)) for k, w in sea]
        line_parts += [(k, ndl, float(s), dl, g) for k, ndl, dl, g in lines]
        totals[s] = onp.sum(onp.concatenate([w for _, w in sea]))
    sea = _gather(sea_parts, 1, compact)
    densities = onp.array([totals[-1], totals[1]], sea[1].dtype) * AREA_MEASURE
    if not line:
        sea, densities = jax.device_put((tuple(sea), densities))
        return sea, None, densities, None, stats, mesh
    line = _gather(line_parts, 3, compact)
    # One transfer of every output (one jnp.asarray each cost ~50 us).
    sea, line, densities = jax.device_put((tuple(sea), tuple(line), densities))
    return sea, line[:3], densities, line[3:], stats, mesh


def _gather(parts, key, compact):
    """The columns of `parts` (tuples of arrays and a band sign) at the nonzero entries of column `key`
    (all entries without `compact`), joined over the parts into preallocated arrays; one zero-weight
    node of the first part when none is nonzero (shapes of zero length trip some consumers)."""
    keeps = [onp.flatnonzero(part[key]) if compact else None for part in parts]
    counts = [part[key].shape[0] if keep is None else keep.shape[0] for part, keep in zip(parts, keeps)]
    if sum(counts) == 0:
        keeps, counts = [onp.zeros(1, onp.intp)] + [onp.zeros(0, onp.intp)] * (len(parts) - 1), [1] + [0] * (len(parts) - 1)
    dtype = parts[0][key].dtype
    columns = [onp.empty((sum(counts),) + onp.shape(x)[1:], dtype) for x in parts[0]]
    start = 0
    for part, keep, count in zip(parts, keeps, counts):
        for x, column in zip(part, columns):
            if isinstance(x, float) or keep is None:  # the band sign, or every entry
                column[start : start + count] = x
            else:
                onp.take(x, keep, axis=0, out=column[start : start + count], mode="clip")  # in range: no buffering
        start += count
    return columns

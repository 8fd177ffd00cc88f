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
from ._mesh import MeshOptions, main_levels, pick_flagged, extra_levels_run, flatten_levels


@functools.partial(jax.jit, static_argnames=("bands", "mesh"))
def mesh_nodes_jit(model, fermi_energy, bands, mesh):
    """The coarse grid and main levels of `bands` (static tuple) compiled: per band, the sea parts
    [(k, weight)], the finest level's line part (k, normal*dl, dl, |grad eps|), the triangles picked
    for the extra levels (`_mesh.pick_flagged`), whether any was flagged, and the stats (overflow,
    cut_overflow, unbounded, min_splitting)."""
    budget = mesh.resolved_budget()
    out = []
    for s in bands:
        sea, finest, refine, p, data, overflow, _, smallest, unbounded = main_levels(
            model, fermi_energy, float(s), mesh.cells, mesh.levels, budget, mesh.extra_levels
        )
        picked = pick_flagged(refine, budget[mesh.levels], p, data)[:3] if mesh.extra_levels > 0 else ()
        flagged = jnp.any(refine)
        # A pick overflow happens only with flagged triangles, whose extra levels then run.
        overflow = overflow | (jnp.sum(refine) > budget[mesh.levels] if mesh.extra_levels > 0 else False)
        sea = list(sea) + [finest[:2]]
        stats = (overflow, finest[7], unbounded, smallest)
        out.append((sea, finest[2:6], picked, flagged, stats))
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


def _run(model, fermi_energy, bands, mesh):
    """Both programs (the second for the flagged bands only): per band (sea parts, line parts) as NumPy
    arrays, and the stats dict."""
    # One transfer of everything (NumPy on the host: eager jax operations on the stats cost more than
    # the finest level).
    main = jax.device_get(mesh_nodes_jit(model, fermi_energy, bands, mesh))
    result, overflow, cut_overflow, unbounded, smallest = [], False, False, False, []
    for s, (sea, line, picked, flagged, stats) in zip(bands, main):
        sea, line = list(sea), [line]
        over, cut_over, outside, low = stats
        overflow, cut_overflow, unbounded = overflow | bool(over), cut_overflow | bool(cut_over), unbounded | bool(outside)
        if bool(flagged):
            extra_sea, extra_line, over, cut_over, low = jax.device_get(
                extra_levels_jit(model, fermi_energy, picked, low, float(s), mesh)
            )
            sea.append(extra_sea)
            line.append(extra_line)
            overflow, cut_overflow = overflow | bool(over), cut_overflow | bool(cut_over)
        smallest.append(low)
        result.append((sea, line))
    dtype = jnp.result_type(fermi_energy, model.dtype)
    stats = {
        "overflow": onp.bool_(overflow),
        "cut_overflow": onp.bool_(cut_overflow),
        "unbounded": onp.bool_(unbounded),
        "min_splitting": onp.min(onp.asarray(smallest, dtype)) if smallest else onp.asarray(onp.inf, dtype),
    }
    return result, stats


def concrete_mesh_nodes(model, fermi_energy, bands: tuple, mesh: MeshOptions, *, compact: bool = True):
    """`_mesh.mesh_nodes` on concrete inputs: the budget is doubled (up to 4 times) until it suffices;
    an unbounded continuum sea raises ValueError; zero-weight nodes are dropped when `compact`.
    Returns (sea, contour, densities, extras, stats, mesh used), in `mesh_nodes`' layout (without
    `compact`, the padded nodes of the extra levels of a band that needs none are left out)."""
    for _ in range(5):
        result, stats = _run(model, fermi_energy, bands, mesh)
        if bool(stats["unbounded"]):
            raise ValueError(
                f"fermi_energy = {float(fermi_energy):g} eV: the Fermi sea of this continuum model reaches the edge "
                "of the box [-R, R]^2 bounded by the model's ray_bound: the sea is unbounded (the bands do not "
                "grow above E_F at large k) or ray_bound is wrong; allowed: a Fermi energy with a bounded sea, or "
                "a lattice model (lattice_vectors) integrated over its Brillouin zone"
            )
        if not (bool(stats["overflow"]) or bool(stats["cut_overflow"])):
            break
        mesh = MeshOptions(mesh.cells, mesh.levels, tuple(2 * b for b in mesh.resolved_budget()), mesh.extra_levels)
    else:
        raise ValueError(f"mesh route: refinement budget {mesh.resolved_budget()} still exceeded; allowed: fewer levels or cells")
    # On the host with NumPy: one eager jax gather per array cost more than the mesh's finest level.
    sea, line, totals = [], [], {-1: 0.0, 1: 0.0}
    for s, (sea_parts, line_parts) in zip(bands, result):
        band_weights = []
        for k, w in sea_parts:
            keep = onp.flatnonzero(w) if compact else slice(None)
            sea.append((k[keep], w[keep], onp.full(w[keep].shape, float(s), w.dtype)))
            band_weights.append(w)
        totals[s] = onp.sum(onp.concatenate(band_weights))
        for k, ndl, dl, g in line_parts:
            keep = onp.flatnonzero(dl) if compact else slice(None)
            line.append((k[keep], ndl[keep], onp.full(dl[keep].shape, float(s), dl.dtype), dl[keep], g[keep]))
    sea = [onp.concatenate(x) for x in zip(*sea)]
    line = [onp.concatenate(x) for x in zip(*line)]
    if sea[0].shape[0] == 0:
        # Keep one zero-weight node (shapes of zero length trip some consumers).
        first = result[0][0][0]
        sea = [first[0][:1], first[1][:1], onp.full((1,), float(bands[0]), sea[1].dtype)]
    if line[0].shape[0] == 0:
        first = [x[:1] for x in result[0][1][0]]
        line = [first[0], first[1], onp.full((1,), float(bands[0]), first[2].dtype), first[2], first[3]]
    dtype = sea[1].dtype
    densities = jnp.asarray(onp.array([totals[-1], totals[1]], dtype) * AREA_MEASURE)
    sea = tuple(jnp.asarray(x) for x in sea)
    contour = tuple(jnp.asarray(x) for x in line[:3])
    extras = tuple(jnp.asarray(x) for x in line[3:])
    return sea, contour, densities, extras, stats, mesh

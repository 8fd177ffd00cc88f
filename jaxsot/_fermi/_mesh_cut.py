"""The cut triangles of the mesh route (`_mesh`): vertex data of the bands, the treatment of a triangle
cut by the Fermi line (chord between the Hermite edge roots, parabolic segment, three Gauss points on
the arc), and the fixed-size buffer that gathers the cut triangles of a level before that treatment.

At the finest level most padded triangles are not cut (measured on the Rashba sea of `jaxsot run`:
1564 of 24,576 per band); the cut-triangle rule (edge roots, two model evaluations per node of the
line) is the costly step, so it runs on the cut triangles only, gathered into `CUT_SHARE` of the
level's padded triangles. More cut triangles than that set `overflow` (`_mesh.mesh_nodes` raises it
under tracing, concrete calls double the budget, which sizes the buffer) and make the cut weights
NaN, so an unchecked call cannot return a wrong finite number.
"""

import jax
import jax.numpy as jnp

from ._triangle_rules import GAUSS3_T, GAUSS3_W, area, dot2, hermite_root, safe_norm, triangle_nodes

SAGITTA_RATIO = 0.003
"""A cut triangle whose sagitta exceeds this fraction of its chord (a pocket or a bend spanning few
triangles) is refined further, within the extra levels."""

CUT_SHARE = 0.25
"""The buffer of cut triangles holds this share of a level's padded triangles (the budget of the
level above times 4 children: cut = at most budget parents' worth of children)."""


def cut_capacity(triangles: int) -> int:
    """Static size of the cut-triangle buffer of a level with `triangles` padded triangles."""
    return max(1, int(CUT_SHARE * triangles))


def point_data(model, kx, ky):
    """(eps0, Omega, grad eps0 (2), grad Omega (2)) at one k (scalars); grad Omega = 0 where Omega = 0."""

    def fields(qx, qy):
        bx, by, bz = model.field(qx, qy)
        return model.kinetic_energy(qx, qy), bx, by, bz

    one, zero = jnp.ones_like(kx), jnp.zeros_like(kx)
    (e0, bx, by, bz), dx = jax.jvp(fields, (kx, ky), (one, zero))
    _, dy = jax.jvp(fields, (kx, ky), (zero, one))
    omega2 = bx * bx + by * by + bz * bz
    positive = omega2 > 0
    omega = jnp.sqrt(jnp.where(positive, omega2, 1.0))
    omega = jnp.where(positive, omega, 0.0)
    inverse = jnp.where(positive, 1.0 / jnp.where(positive, omega, 1.0), 0.0)
    gox = (bx * dx[1] + by * dx[2] + bz * dx[3]) * inverse
    goy = (bx * dy[1] + by * dy[2] + bz * dy[3]) * inverse
    return jnp.stack([e0, omega, dx[0], dy[0], gox, goy], -1)


def evaluate(model, points):
    """Vertex data (..., 6) of `point_data` at points (..., 2)."""
    flat = points.reshape(-1, 2)
    data = jax.vmap(point_data, in_axes=(None, 0, 0))(model, flat[:, 0], flat[:, 1])
    return data.reshape(points.shape[:-1] + (6,))


def band(data, s):
    """eps_s (...) and grad eps_s (..., 2) from vertex data."""
    return data[..., 0] + s * data[..., 1], data[..., 2:4] + s * data[..., 4:6]


def edge_crossed_twice(p, e, g, fermi_energy):
    """True for triangles (T,) with an edge whose cubic Hermite interpolant of eps (vertex values and
    gradients) crosses E_F although both its ends lie on one side: the Fermi line bulges across the
    edge, between the vertices (a small hole or pocket, or a child of a refined cut triangle next to a
    strongly curved line), and the triangle would be taken as whole, losing an arc of the line."""
    t = jnp.asarray([0.25, 0.5, 0.75], p.dtype)
    h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
    crossed = jnp.zeros(p.shape[0], bool)
    for a, b in ((0, 1), (1, 2), (2, 0)):
        d = p[:, b] - p[:, a]
        ea, eb = e[:, a], e[:, b]
        da, db = dot2(g[:, a], d), dot2(g[:, b], d)
        h = h00 * ea[:, None] + h10 * da[:, None] + h01 * eb[:, None] + h11 * db[:, None]
        side = (ea < fermi_energy)[:, None]
        crossed = crossed | (((ea < fermi_energy) == (eb < fermi_energy)) & jnp.any((h < fermi_energy) != side, -1))
    return crossed


def cut_triangles(model, p, data, fermi_energy, s):
    """Sea nodes (T, 10, 2), weights (T, 10), line nodes (T, 3, 2), normal*dl (T, 3, 2), dl (T, 3) and
    |grad eps| (T, 3) of triangles cut by the Fermi line (zero weights for triangles that are not cut)."""
    e, g = band(data, s)
    below = e < fermi_energy
    count = jnp.sum(below, -1)
    straddle = (count == 1) | (count == 2)
    # The lone vertex is the one on its own side of the Fermi level.
    lone_is_below = count == 1
    lone = jnp.argmax(jnp.where(lone_is_below[:, None], below, ~below), -1)
    idx = jnp.stack([lone, (lone + 1) % 3, (lone + 2) % 3], -1)
    pa, pb, pc = (jnp.take_along_axis(p, idx[:, i, None, None], 1)[:, 0] for i in range(3))
    ea, eb, ec = (jnp.take_along_axis(e, idx[:, i, None], 1)[:, 0] for i in range(3))
    ga, gb, gc = (jnp.take_along_axis(g, idx[:, i, None, None], 1)[:, 0] for i in range(3))

    def root(p_from, e_from, g_from, p_to, e_to, g_to):
        d = p_to - p_from
        t = hermite_root(e_from, jnp.sum(g_from * d, -1), e_to, jnp.sum(g_to * d, -1), fermi_energy)
        # Non-straddling triangles get a harmless midpoint (their weights are zero below).
        t = jnp.where(straddle, t, 0.5)
        return p_from + t[:, None] * d

    def roots(pa, pb, pc):
        return root(pa, ea, ga, pb, eb, gb), root(pa, ea, ga, pc, ec, gc)

    def midpoints(pa, pb, pc):
        # What `root` gives every triangle that is not cut (bit for bit).
        return pa + 0.5 * (pb - pa), pa + 0.5 * (pc - pa)

    # The cond keeps the roots (five Newton steps each) computed once, in memory: XLA fused them into
    # every consumer (the pieces' nodes, the segment, the line nodes) and recomputed them for each
    # output element (the CPU compiler drops optimization barriers).
    q1, q2 = jax.lax.cond(jnp.any(straddle), roots, midpoints, pa, pb, pc)
    pieces = jnp.stack(
        [jnp.stack([pa, q1, q2], 1), jnp.stack([q1, pb, pc], 1), jnp.stack([q1, pc, q2], 1)], 1
    )  # (T, 3 pieces, 3, 2)
    lone_occupied = lone_is_below
    occupied = jnp.stack([lone_occupied, ~lone_occupied, ~lone_occupied], -1) & straddle[:, None]
    areas = area(pieces) * occupied
    nodes, weights = triangle_nodes(pieces.reshape(-1, 3, 2), areas.reshape(-1), fine=True)
    nodes = nodes.reshape(p.shape[0], 9, 2)
    weights = weights.reshape(p.shape[0], 9)

    # Parabolic segment between the chord q1-q2 and the Fermi line: sagitta by a Newton step.
    mid = 0.5 * (q1 + q2)
    mdata = evaluate(model, mid)
    em, gm = band(mdata, s)
    gnorm = safe_norm(gm)
    denominator = jnp.where(gnorm > 0, gnorm, 1.0)
    unit = gm / denominator[:, None]
    chord = q2 - q1
    length = safe_norm(chord)
    # The sagitta is at most of the order of the triangle: a Newton step beyond it (a kink, a
    # vanishing gradient) is clipped to the chord length.
    sagitta = jnp.clip(jnp.where(gnorm > 0, (fermi_energy - em) / denominator, 0.0), -length, length)
    sagitta = jnp.where(straddle, sagitta, 0.0)
    segment_node = mid + 0.4 * sagitta[:, None] * unit
    segment_weight = (2.0 / 3.0) * length * sagitta
    nodes = jnp.concatenate([nodes, segment_node[:, None]], 1)
    weights = jnp.concatenate([weights, segment_weight[:, None]], 1)

    # Fermi line: three Gauss points on the parabola q1 + tau chord + 4 tau (1 - tau) sagitta unit.
    tau = jnp.asarray(GAUSS3_T, p.dtype)[None, :, None]
    w = jnp.asarray(GAUSS3_W, p.dtype)[None, :]
    bulge = (sagitta[:, None] * unit)[:, None, :]
    line_k = q1[:, None] + tau * chord[:, None] + 4.0 * tau * (1.0 - tau) * bulge
    tangent = chord[:, None] + 4.0 * (1.0 - 2.0 * tau) * bulge
    speed = safe_norm(tangent)
    normal = jnp.stack([tangent[..., 1], -tangent[..., 0]], -1)
    orientation = jnp.sign(jnp.sum(normal * gm[:, None], -1))
    normal = normal * jnp.where(orientation == 0, 1.0, orientation)[..., None]
    dl = speed * w * straddle[:, None]
    normal_dl = normal * (w * straddle[:, None])[..., None]
    ldata = evaluate(model, line_k)
    _, lg = band(ldata, s)
    line_gradient = safe_norm(lg)
    under = straddle & (jnp.abs(sagitta) > SAGITTA_RATIO * length)
    return nodes, weights, line_k, normal_dl, dl, line_gradient, under




def gathered_cut(model, p, data, cut, fermi_energy, s, capacity):
    """`cut_triangles` of the triangles flagged `cut` (T,) only, gathered into `capacity` (static) slots.

    Returns (index (C,) of the triangles in the slots, used (C,), overflow (more than C cut
    triangles), under (T,) the `cut_triangles` flag scattered back, and the `cut_triangles` outputs
    for the slots, C = capacity). With `capacity` None every triangle takes a slot (no gather).
    On overflow the slots' weights are NaN: a caller that skips the check gets NaN, not a wrong sum."""
    triangles = p.shape[0]
    if capacity is None or capacity >= triangles:
        index, used, overflow = jnp.arange(triangles), jnp.ones(triangles, bool), jnp.zeros((), bool)
    else:
        count = jnp.sum(cut)
        (index,) = jnp.nonzero(cut, size=capacity, fill_value=0)
        used, overflow = jnp.arange(capacity) < count, count > capacity
    nodes, weights, line_k, normal_dl, dl, gradient, under = cut_triangles(model, p[index], data[index], fermi_energy, s)
    nan = jnp.asarray(jnp.nan, weights.dtype)
    weights, normal_dl, dl = (jnp.where(overflow, nan, x) for x in (weights, normal_dl, dl))
    under = jnp.zeros(triangles, bool).at[index].max(under & used)
    return index, used, overflow, under, (nodes, weights, line_k, normal_dl, dl, gradient)

"""Quadrature rules of the mesh route (`_mesh`): Radon's degree-5 and the degree-2 rule on triangles,
three Gauss points on arcs, and the edge root of the Fermi level on the cubic Hermite interpolant.
Pure array functions (no model)."""

import math

import jax.numpy as jnp
import numpy as onp

# Radon's 7-point rule, exact for polynomials of degree 5 on a triangle (barycentric points, weights
# summing to 1).
_A1, _A2 = (6.0 - math.sqrt(15.0)) / 21.0, (6.0 + math.sqrt(15.0)) / 21.0
_W1, _W2 = (155.0 - math.sqrt(15.0)) / 1200.0, (155.0 + math.sqrt(15.0)) / 1200.0
RADON_POINTS = onp.array(
    [
        [1 / 3, 1 / 3, 1 / 3],
        [_A1, _A1, 1 - 2 * _A1],
        [_A1, 1 - 2 * _A1, _A1],
        [1 - 2 * _A1, _A1, _A1],
        [_A2, _A2, 1 - 2 * _A2],
        [_A2, 1 - 2 * _A2, _A2],
        [1 - 2 * _A2, _A2, _A2],
    ]
)
RADON_WEIGHTS = onp.array([9 / 40, _W1, _W1, _W1, _W2, _W2, _W2])

# The 3-point degree-2 rule (midpoints of the medians), for the small triangles along the Fermi line:
# there are O(1/h) of them of size h, so its O(h^5) error per triangle adds up to the O(h^4) of the
# line itself.
STRANG_POINTS = onp.array([[2 / 3, 1 / 6, 1 / 6], [1 / 6, 2 / 3, 1 / 6], [1 / 6, 1 / 6, 2 / 3]])
STRANG_WEIGHTS = onp.array([1 / 3, 1 / 3, 1 / 3])

GAUSS3_T = 0.5 * (onp.array([-math.sqrt(0.6), 0.0, math.sqrt(0.6)]) + 1.0)
GAUSS3_W = 0.5 * onp.array([5 / 9, 8 / 9, 5 / 9])

HERMITE_NEWTON_STEPS = 5
"""Newton steps for the edge root on the cubic Hermite interpolant (from the linear root)."""


def triangle_nodes(p, weight, fine=False):
    """Rule nodes (T, q, 2) and weights (T, q) of triangles p (T, 3, 2) scaled by weight (T,) (e.g.
    area * occupied): Radon's 7 points, or with `fine` (small triangles along the line) 3 points."""
    points, weights = (STRANG_POINTS, STRANG_WEIGHTS) if fine else (RADON_POINTS, RADON_WEIGHTS)
    # Written out over the three vertices: as an einsum it was a small library dot, slower on CPU.
    bary = jnp.asarray(points, p.dtype)
    nodes = bary[None, :, 0, None] * p[:, None, 0] + bary[None, :, 1, None] * p[:, None, 1] + bary[None, :, 2, None] * p[:, None, 2]
    return nodes, weight[:, None] * jnp.asarray(weights, p.dtype)[None, :]


def whole_nodes(p, weight, close, cap):
    """Nodes (N, 2) and weights (N,) of the whole triangles p (T, 3, 2) at a fine level: the 3-point rule,
    and Radon's 7 points for up to `cap` (static) triangles flagged `close` to a band touching (those
    beyond the cap keep the 3-point rule: a coarser answer, not a wrong one)."""
    (chosen,) = jnp.nonzero(close & (weight != 0), size=cap, fill_value=0)
    used = jnp.arange(cap) < jnp.sum(close & (weight != 0))
    radon = jnp.zeros(p.shape[0], bool).at[chosen].max(used)
    nodes, weights = triangle_nodes(p, weight * ~radon, fine=True)
    cnodes, cweights = triangle_nodes(p[chosen], weight[chosen] * used)
    return jnp.concatenate([nodes.reshape(-1, 2), cnodes.reshape(-1, 2)]), jnp.concatenate([weights.reshape(-1), cweights.reshape(-1)])


def dot2(a, b):
    """a . b over a last axis of length 2, written out: XLA's CPU reduction over such a short axis (a
    library fusion) cost ~10x the elementwise form on the mesh's arrays; same value bit for bit."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]


def safe_norm(v):
    """|v| over the last axis with a finite gradient at v = 0 (masked lanes must not give NaN gradients)."""
    square = dot2(v, v)
    positive = square > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, square, 1.0)), 0.0)


def area(p):
    d1, d2 = p[..., 1, :] - p[..., 0, :], p[..., 2, :] - p[..., 0, :]
    return 0.5 * jnp.abs(d1[..., 0] * d2[..., 1] - d1[..., 1] * d2[..., 0])


def longest_edge(p):
    edges = p - jnp.roll(p, 1, axis=-2)
    length = jnp.sqrt(dot2(edges, edges))
    return jnp.maximum(jnp.maximum(length[..., 0], length[..., 1]), length[..., 2])


def hermite_root(e_a, d_a, e_b, d_b, fermi_energy):
    """t in [0, 1] with H(t) = E_F on the cubic Hermite interpolant of eps along an edge (linear fallback)."""
    # Safe divisions throughout: masked-out lanes (triangles not cut) must not give NaN gradients.
    span = e_b - e_a
    linear = jnp.clip((fermi_energy - e_a) / jnp.where(span == 0, 1.0, span), 0.0, 1.0)

    def value(t):
        t2, t3 = t * t, t * t * t
        return (2 * t3 - 3 * t2 + 1) * e_a + (t3 - 2 * t2 + t) * d_a + (-2 * t3 + 3 * t2) * e_b + (t3 - t2) * d_b

    def slope(t):
        t2 = t * t
        return (6 * t2 - 6 * t) * e_a + (3 * t2 - 4 * t + 1) * d_a + (-6 * t2 + 6 * t) * e_b + (3 * t2 - 2 * t) * d_b

    t = linear
    for _ in range(HERMITE_NEWTON_STEPS):
        dv = slope(t)
        safe = jnp.where(dv == 0, 1.0, dv)
        t = jnp.clip(t - jnp.where(dv == 0, 0.0, (value(t) - fermi_energy) / safe), 0.0, 1.0)
    scale = jnp.abs(e_b - e_a)
    good = jnp.abs(value(t) - fermi_energy) <= 1e-6 * scale
    return jnp.where(good, t, linear)

"""The ray root solver of the Fermi contours (docs: Theory > Ensembles and dynamics).

The occupied region of band s at T = 0, {eps_s(k) < E_F}, is described on rays from k = 0:
k(phi) = r(phi) (cos phi, sin phi). r(phi) comes from one root solver, `ray_contour` (Newton from
a safe upper bound, bisection where Newton would leave the bracket, and a final Newton step whose
derivative is the implicit-function one), so contours are differentiable in the model and in E_F;
every ray contour of the package (ensembles, transport, LLG, fit, sweeps) is computed by it. A uniform
phi grid with the trapezoid rule is spectrally accurate for these smooth periodic integrands. The
ray description requires the Fermi sea to contain k = 0 and to be star-shaped about it
(`_occupation.fermi_sea_status` checks that on concrete inputs). This module imports no other
module of `_fermi` (the bottom of its import graph).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._bands._kernels import energy
from ..constants import AREA_MEASURE


MAX_ROOT_STEPS = 100
"""Iteration cap of the safeguarded Newton solve in `ray_contour` (bisection alone needs ~50 in float64)."""

RESIDUAL_TOLERANCE = 1e-6
"""|eps_s(k) - E_F| above this times (|E_F| + J) marks a contour point as not converged (NaN)."""

def outer_radius(model, fermi_energy):
    """A radius beyond which eps_s(k) > E_F for both bands [1/nm]: the lower band's `ray_bound`, with a margin.

    eps_+ >= eps_-, so the lower band's bound covers both. Traceable.
    """
    return model.ray_bound(fermi_energy, -1.0) * 1.01 + 1e-6


def origin_energy(model, s):
    """eps_s(k = 0) [eV] (traceable)."""
    zero = jnp.zeros((), model.dtype)
    return energy(model, zero, zero, s)


class FermiContour(NamedTuple):
    """The Fermi contour of one band on `num` equally spaced rays phi_j = 2 pi j/num (`ray_contour`).

    k (num, 2) [1/nm]; dl (num,) trapezoid line weights [1/nm] (sum g dl ~ oint g dl, spectrally
    accurate); normal (num, 2) outward unit normals grad eps/|grad eps|; gradient_norm (num,)
    |grad eps| = hbar |v| [eV nm]; radius (num,) r(phi_j) [1/nm]. NaN where the root did not converge.
    """

    k: Array
    dl: Array
    normal: Array
    gradient_norm: Array
    radius: Array


def _residual_tolerance(dtype):
    return max(RESIDUAL_TOLERANCE, 64.0 * float(jnp.finfo(dtype).eps))


def ray_contour(model, fermi_energy, s, num: int) -> FermiContour:
    """The exact Fermi contour eps_s(k) = E_F of band s on `num` rays from k = 0: the one root solver.

    On the ray k = r (cos phi, sin phi), g(r) = eps_s(r) - E_F, bracketed by g(0) = s J - E_F < 0 (the
    sea contains k = 0) and g(r_u) >= 0 (the model's `ray_bound`, doubled on any ray where it is not
    above E_F). Newton starts from r_u, where g is
    convex on [root, r_u] away from the band touching, so it descends monotonically (quadratic
    convergence, ~6-10 steps); a Newton step that leaves the bracket [low, high] (near the band
    touching, where Omega has a kink, or where the slope vanishes) is replaced by bisection, so every
    ray converges like bisection at worst (at most MAX_ROOT_STEPS steps; iterations stop when every
    ray has converged to a few ulps). The iterations see no gradients (stop_gradient); one final
    Newton step from the converged root, r = r0 - g(r0)/stop_gradient(g'(r0)), moves the value by
    ~0 and carries the implicit-function derivative dr/dp = -(dg/dp)/(dg/dr), so the contour is
    differentiable (jax.grad, jvp) in the model and E_F. A residual |g(r0)| above
    RESIDUAL_TOLERANCE (|E_F| + J) (or 64 ulp in float32) is returned as NaN, never as a silently
    wrong contour (e.g. an empty band).

    Traceable (jit/vmap/grad; s may be a traced float); `num` is static. The ray description
    requires a star-shaped sea about k = 0 (`fermi_sea_status` checks that on concrete inputs).
    Returns a `FermiContour` in the model's dtype.
    """
    dtype = model.dtype
    phi = jnp.arange(num, dtype=dtype) * (2.0 * jnp.pi / num)
    cos, sin = jnp.cos(phi), jnp.sin(phi)
    frozen_model = jax.lax.stop_gradient(model)
    frozen_ef = jax.lax.stop_gradient(fermi_energy)

    def ray_energy(m, r, c, sn):
        return energy(m, r * c, r * sn, s)

    value_and_slope = jax.vmap(jax.value_and_grad(ray_energy, argnums=1), in_axes=(None, 0, 0, 0))
    tolerance = 8.0 * float(jnp.finfo(dtype).eps)

    def unconverged(state):
        active, _, _, _, count = state
        return (count < MAX_ROOT_STEPS) & jnp.any(active)

    def safeguarded_newton(state):
        active, r, low, high, count = state
        value, slope = value_and_slope(frozen_model, r, cos, sin)
        value = value - frozen_ef
        below = value < 0.0
        low = jnp.where(below, r, low)
        high = jnp.where(below, high, r)
        newton = r - value / slope
        # NaN (zero or undefined slope) fails the comparisons and falls back to bisection too.
        inside = (newton >= low) & (newton <= high)
        new = jnp.where(inside, newton, 0.5 * (low + high))
        # A converged ray is frozen: the result does not depend on the other rays (or vmap lanes).
        new = jnp.where(active, new, r)
        converged = (jnp.abs(new - r) <= tolerance * r) | (high - low <= tolerance * high)
        return active & ~converged, new, low, high, count + 1

    bound = frozen_model.ray_bound(frozen_ef, s)
    high = jnp.broadcast_to(bound, (num,)).astype(dtype)

    def still_below(state):
        radius, count = state
        return jnp.any(jax.vmap(ray_energy, in_axes=(None, 0, 0, 0))(frozen_model, radius, cos, sin) < frozen_ef) & (count < 200)

    def widen(state):
        radius, count = state
        below = jax.vmap(ray_energy, in_axes=(None, 0, 0, 0))(frozen_model, radius, cos, sin) < frozen_ef
        return jnp.where(below, 2.0 * radius, radius), count + 1

    if not model.ray_bound_is_safe:
        # A bound that is not above E_F on some ray (a loose generic `ray_bound`) is doubled there.
        high, _ = jax.lax.while_loop(still_below, widen, (high, 0))
    start = (jnp.ones(num, bool), high, jnp.zeros(num, dtype), high, jnp.asarray(0))
    _, root, _, _, _ = jax.lax.while_loop(unconverged, safeguarded_newton, start)
    root = jax.lax.stop_gradient(root)

    grad_energy = jax.vmap(jax.grad(energy, argnums=(1, 2)), in_axes=(None, 0, 0, None))
    gx, gy = grad_energy(frozen_model, root * cos, root * sin, s)
    radial_slope = gx * cos + gy * sin
    residual = jax.vmap(ray_energy, in_axes=(None, 0, 0, 0))(model, root, cos, sin) - fermi_energy
    # The implicit-function step (see the docstring): its value moves by ~0.
    radius = root - residual / radial_slope
    exchange = frozen_model.exchange_field()
    scale = jnp.abs(frozen_ef) + jnp.sqrt(exchange[0] ** 2 + exchange[1] ** 2 + exchange[2] ** 2)
    ok = jnp.abs(jax.lax.stop_gradient(residual)) <= _residual_tolerance(dtype) * scale
    radius = jnp.where(ok, radius, jnp.nan)

    kx, ky = radius * cos, radius * sin
    gx, gy = grad_energy(model, kx, ky, s)
    radial_slope = gx * cos + gy * sin
    tangential_slope = -gx * sin + gy * cos
    dr_dphi = -radius * tangential_slope / radial_slope
    dl = jnp.sqrt(radius**2 + dr_dphi**2) * (2.0 * jnp.pi / num)
    norm = jnp.sqrt(gx**2 + gy**2)
    return FermiContour(jnp.stack([kx, ky], -1), dl, jnp.stack([gx / norm, gy / norm], -1), norm, radius)


def contour_density(radius: Float[Array, " num"]) -> Float[Array, ""]:
    """Electron density of one band [1/nm^2] from its contour radii on equally spaced rays.

    The sea's area (1/2) oint r(phi)^2 dphi (trapezoid rule, spectrally accurate) times the measure
    AREA_MEASURE = 1/(2 pi)^2 (no spin factor 2: the bands are spin-split). Traceable.
    """
    num = radius.shape[0]
    return 0.5 * jnp.sum(radius**2) * (2.0 * jnp.pi / num) * AREA_MEASURE


@functools.partial(jax.jit, static_argnums=(3,))
def contour_points(model, fermi_energy, s, num):
    """`ray_contour` compiled, for concrete callers (s static). Returns a `FermiContour`."""
    return ray_contour(model, fermi_energy, s, num)


@functools.partial(jax.jit, static_argnums=(3, 4))
def sea_nodes(model, fermi_energy, s, num_phi, num_r):
    """Compiled polar nodes (k (num_phi num_r, 2), area) of band s's sea (s, num_phi, num_r static)."""
    return polar_sea_nodes(ray_contour(model, fermi_energy, s, num_phi).radius, num_r)


def polar_sea_nodes(radius, num_r):
    """Polar Gauss-Legendre nodes (num_phi * num_r, 2) and areas of a star-shaped sea r < radius(phi).

    radius: (num_phi,) [1/nm] on equally spaced rays phi_j = 2 pi j/num_phi (traceable).
    """
    num_phi = radius.shape[0]
    dtype = radius.dtype
    nodes, weights = onp.polynomial.legendre.leggauss(num_r)
    t = jnp.asarray(0.5 * (nodes + 1.0), dtype)
    w = jnp.asarray(0.5 * weights, dtype)
    phi = jnp.arange(num_phi, dtype=dtype) * (2.0 * jnp.pi / num_phi)
    r = radius[:, None] * t[None, :]
    k = jnp.stack([r * jnp.cos(phi)[:, None], r * jnp.sin(phi)[:, None]], -1)
    # d^2k = r dr dphi with dr = radius dt.
    area = r * radius[:, None] * w[None, :] * (2.0 * jnp.pi / num_phi)
    return k.reshape(-1, 2), area.reshape(-1)

"""The macrospin's energy minimum on the sphere: the one equilibrium solver of the LLG and measurement layers.

Energy per moment e(M) = -B_ext.M - (1/2) M.A.M with the stiffness A = B_K u u^T - mu0 M_s N [T], so that
B_0(M) = B_ext + A M is `conventional_field` (external + uniaxial + shape). A minimum is found by a damped
(saddle-free) Newton iteration on the sphere: in a tangent basis E = (e1, e2) of M, gradient
g = -E^T B_0 and Hessian H = -E^T A E + (M.B_0) 1 (the second term is the sphere's curvature), step
-|H|^-1 g limited to 0.3 rad, with a push along a negative-curvature direction at a saddle. The Newton
loop is not differentiated; one Newton step from the converged M carries the implicit-function
derivative dM0/dp = -E H^-1 dg/dp (`equilibrium`). Users: the harmonic Hall layer (`jaxsot._measure`)
and the lock-in route's start state.
"""

import jax
import jax.numpy as jnp

from ._magnet import Magnet

_NEWTON_STEPS = 60
_MAX_STEP = 0.3  # rad per Newton step (trust region on the sphere)
_GRADIENT_TOLERANCE = 1e-9  # |g| relative to the field scale for "converged" (float64)


def anisotropy_matrix(anisotropy_field, easy_axis, ms_tesla, demag):
    """A = B_K u u^T - mu0 M_s diag(N) (3, 3) [T], so that B_0(M) = B_ext + A M (`jaxsot.conventional_field`).

    Args:
        anisotropy_field: uniaxial anisotropy field B_K [T].
        easy_axis: uniaxial axis u (3,) (normalized here).
        ms_tesla: mu0 M_s [T].
        demag: demagnetizing factors (N_x, N_y, N_z) (3,).

    Returns: A, shape (3, 3) [T].
    """
    u = jnp.asarray(easy_axis)
    u = u / jnp.sqrt(u @ u)
    return anisotropy_field * jnp.outer(u, u) - ms_tesla * jnp.diag(jnp.asarray(demag))


def magnet_stiffness(magnet: Magnet):
    """The stiffness A (3, 3) [T] of one `Magnet` (`anisotropy_matrix` of its fields): B_0 = B_ext + A M."""
    return anisotropy_matrix(magnet.anisotropy_field, magnet.easy_axis, magnet.ms_tesla, magnet.demag)


def tangent_basis(m):
    """(3, 2) orthonormal basis E of the plane perpendicular to the unit vector m (3,) (from the axis least aligned with m)."""
    eye = jnp.eye(3, dtype=m.dtype)
    a = jnp.abs(m)
    axis = jnp.where(a[0] <= jnp.minimum(a[1], a[2]), eye[0], jnp.where(a[1] <= a[2], eye[1], eye[2]))
    e1 = axis - m * (m @ axis)
    e1 = e1 / jnp.sqrt(e1 @ e1)
    return jnp.stack([e1, jnp.cross(m, e1)], -1)


def gradient_hessian(m, b_ext, stiffness):
    """Tangent basis E (3, 2), energy gradient g = -E^T B_0 (2,) and Hessian H (2, 2) [T] at m (3,) on the sphere,
    B_0 = b_ext + stiffness m (module docstring)."""
    basis = tangent_basis(m)
    b0 = b_ext + stiffness @ m
    g = -basis.T @ b0
    h = -basis.T @ stiffness @ basis + (m @ b0) * jnp.eye(2, dtype=m.dtype)
    return basis, g, h


def _retract(m, basis, v):
    """Exponential map on the sphere: move m by the tangent vector E v (angle |v|)."""
    t = basis @ v
    angle = jnp.sqrt(t @ t)
    safe = jnp.where(angle > 0.0, angle, 1.0)
    return jnp.cos(angle) * m + jnp.where(angle > 0.0, jnp.sin(angle) / safe, 1.0) * t


def relax(b_ext, stiffness, m_start):
    """Energy minimum of e(M) = -B_ext.M - M.A.M/2 on the sphere reached from m_start (one point).

    Not differentiated (the caller applies the implicit-function step, `equilibrium`); jit/vmap-friendly,
    at most 60 saddle-free Newton steps.

    Args:
        b_ext: external field (3,) [T].
        stiffness: A (3, 3) [T] (`anisotropy_matrix`).
        m_start: start direction (3,) (normalized here).

    Returns: (m (3,), converged): a local minimum (gradient below 1e-9 of the field scale, positive
        Hessian) or the last iterate with converged = False.
    """
    b_ext, stiffness, m = (jax.lax.stop_gradient(x) for x in (b_ext, stiffness, m_start))
    m = m / jnp.sqrt(m @ m)
    scale = jnp.sqrt(b_ext @ b_ext) + jnp.sqrt(jnp.sum(stiffness**2)) + 1e-30
    floor = 1e-6 * scale

    def step(_, m):
        basis, g, h = gradient_hessian(m, b_ext, stiffness)
        evals, evecs = jnp.linalg.eigh(h)
        gc = evecs.T @ g
        # Saddle-free Newton: downhill along every eigen-direction; pure Newton near a minimum.
        coeff = -gc / jnp.maximum(jnp.abs(evals), floor)
        # At a saddle or maximum with (numerically) no gradient, step off along the negative curvature.
        coeff = coeff + jnp.where((evals < 0.0) & (jnp.abs(gc) < 1e-3 * floor), _MAX_STEP, 0.0)
        v = evecs @ coeff
        size = jnp.sqrt(v @ v)
        v = v * jnp.minimum(1.0, _MAX_STEP / jnp.where(size > 0.0, size, 1.0))
        m = _retract(m, basis, v)
        return m / jnp.sqrt(m @ m)

    tolerance = max(_GRADIENT_TOLERANCE, 200.0 * float(jnp.finfo(m.dtype).eps))  # float32: ~2e-5

    def done(m):
        _, g, h = gradient_hessian(m, b_ext, stiffness)
        return (jnp.sqrt(g @ g) <= 1e-3 * tolerance * scale) & (jnp.linalg.eigvalsh(h)[0] > 0.0)

    # Stop early once converged well below the tolerance (Newton: one more step would not change M);
    # under vmap the loop runs until the slowest point is done.
    _, m = jax.lax.while_loop(
        lambda carry: (carry[0] < _NEWTON_STEPS) & ~done(carry[1]), lambda carry: (carry[0] + 1, step(carry[0], carry[1])), (0, m)
    )
    _, g, h = gradient_hessian(m, b_ext, stiffness)
    converged = (jnp.sqrt(g @ g) <= tolerance * scale) & (jnp.linalg.eigvalsh(h)[0] > 0.0)
    return m, converged


def equilibrium(b_ext, stiffness, m_start):
    """Differentiable equilibrium M0 (3,), its tangent basis E (3, 2), Hessian H (2, 2) and `converged`.

    `relax` finds the minimum; one Newton step from it, M0 = M* - E H^-1 g (g ~ 0, so the value is
    unchanged), carries the implicit-function derivative dM0/dp = -E H^-1 dg/dp to b_ext and A.

    Args:
        b_ext: external field (3,) [T].
        stiffness: A (3, 3) [T] (`anisotropy_matrix`).
        m_start: start direction (3,) of the descent (selects the branch of a hysteretic magnet).

    Returns: (M0, E, H, converged).
    """
    m_star, converged = relax(b_ext, stiffness, m_start)
    basis, g, h = gradient_hessian(m_star, b_ext, stiffness)
    # Normalized step, not the exponential map: smooth (finite derivatives) at a step of exactly zero.
    m0 = m_star + basis @ -jnp.linalg.solve(h, g)
    m0 = m0 / jnp.sqrt(m0 @ m0)
    basis, _, h = gradient_hessian(m0, b_ext, stiffness)
    return m0, basis, h, converged

"""Pieces shared by the shipped models: the in-plane test of M, a quadratic ray bound, touching texts."""

import jax.numpy as jnp
import numpy as onp
from .._core._model import IN_PLANE_ULPS


def is_in_plane(magnetization) -> bool:
    """True when |M_z| <= IN_PLANE_ULPS eps(dtype) (concrete M): the bands of b = B_so(k) - J M can touch."""
    tolerance = IN_PLANE_ULPS * float(jnp.finfo(jnp.asarray(magnetization).dtype).eps)
    return abs(float(magnetization[2])) <= tolerance


def quadratic_ray_bound(kinetic, slope, j_ex, fermi_energy, s):
    """Root r_u of c r^2 - slope r + s J = E_F [1/nm]: a bound when eps0 = c k^2 and |B_so(k)| <= slope |k|.

    Omega <= J + slope r (s = -1) and Omega >= J - slope r (s = +1), so eps_s >= c r^2 - slope r + s J.
    kinetic c [eV nm^2] > 0, slope [eV nm] >= 0, J [eV] >= 0; traceable (s may be traced).
    """
    budget = jnp.maximum(fermi_energy - s * j_ex, 0.0)
    return (slope + jnp.sqrt(slope * slope + 4.0 * kinetic * budget)) / (2.0 * kinetic)


def points_text(points) -> str:
    """'[kx, ky]' lists of touching points [1/nm] for messages."""
    return ", ".join(f"[{x + 0.0:.6g}, {y + 0.0:.6g}]" for x, y in onp.asarray(points, onp.float64).reshape(-1, 2))


def touching_text(points, gap_floor: float, what: str) -> str:
    """Names the touching points, or says the bands never touch (Omega >= gap_floor > 0)."""
    if len(points):
        return f"point(s) k* = {points_text(points)} 1/nm ({what})"
    return f"(none: Omega >= {gap_floor:.3g} eV everywhere, {what})"

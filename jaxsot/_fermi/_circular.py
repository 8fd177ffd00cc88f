"""M || z: the Fermi seas in closed form (circular contours; docs: Theory > Ensembles and dynamics).

With M = +-z the bands are eps_s(k) = c k^2 + s sqrt(J^2 + alpha^2 k^2) (c = hbar^2/2m), isotropic,
so each Fermi sea is a disk 0 <= k < k_out or, for a "Mexican-hat" lower band (eta > 1) below
eps_-(0) = -J, an annulus k_in < k < k_out. With u = k^2, eps_s = E_F squares to
c^2 u^2 - (2 c E_F + alpha^2) u + E_F^2 - J^2 = 0, whose roots must satisfy s (E_F - c u) >= 0.
"""

import math

import jax.numpy as jnp
from ..constants import AREA_MEASURE, HBAR2_OVER_2ME


def circular_fermi_seas(alpha, j_ex, mass_ratio, fermi_energy, *, xp=jnp):
    """Squared radii (k_in^2, k_out^2) of the T = 0 Fermi seas of both bands for M = +-z [1/nm^2].

    Lower band (s = -1): occupied when the larger root u_+ > 0 (a disk for E_F > -J; an annulus
    between the roots u_- < u < u_+ when E_F < -J and u_- > 0, the Mexican hat). Upper band
    (s = +1): a disk of radius^2 u_- when E_F > J, else empty. An empty band has k_in^2 = k_out^2 = 0.

    Args:
        alpha [eV nm], j_ex [eV] (> 0), mass_ratio m*/m_e, fermi_energy [eV]: scalars or arrays
            that broadcast (batch dims ...); traceable and differentiable (jit/vmap/grad).
        xp: the array namespace: jax.numpy (default), or numpy for host float64 arithmetic
            regardless of JAX's float64 setting.
    Returns: (inner, outer), each (..., 2) with [..., 0] the lower and [..., 1] the upper band.
    """
    c = HBAR2_OVER_2ME / mass_ratio
    b = 2.0 * c * fermi_energy + alpha**2
    disc = 4.0 * c**2 * j_ex**2 + 4.0 * c * fermi_energy * alpha**2 + alpha**4
    root = xp.sqrt(xp.maximum(disc, 0.0))
    high = (b + root) / (2.0 * c**2)
    low = (b - root) / (2.0 * c**2)
    real = disc >= 0.0
    lower_occupied = real & (high > 0.0)
    lower_outer = xp.where(lower_occupied, high, 0.0)
    lower_inner = xp.where(lower_occupied & (fermi_energy < -j_ex) & (low > 0.0), low, 0.0)
    upper_outer = xp.where((fermi_energy > j_ex) & (low > 0.0), low, 0.0)
    zero = xp.zeros_like(upper_outer)
    return xp.stack([lower_inner, zero], -1), xp.stack([lower_outer, upper_outer], -1)


def circular_densities(alpha, j_ex, mass_ratio, fermi_energy, *, xp=jnp):
    """(n_lower, n_upper) [1/nm^2] for M || z in closed form (as `SpinOrbitTorque.n_lower`, `n_upper`).

    n_s = pi (k_out^2 - k_in^2) AREA_MEASURE = (k_out^2 - k_in^2)/(4 pi) from `circular_fermi_seas`
    (no spin factor 2: the bands are spin-split). Traceable and differentiable (jit/vmap/grad).

    Args:
        alpha: Rashba constant [eV nm] (scalar or array; batch dims ... broadcast with the others).
        j_ex: exchange energy J [eV] (> 0).
        mass_ratio: effective mass m*/m_e.
        fermi_energy: E_F [eV].
        xp: the array namespace: jax.numpy (default), or numpy for host float64 arithmetic.

    Returns:
        (n_lower, n_upper) [1/nm^2], each of the broadcast shape (...).
    """
    inner, outer = circular_fermi_seas(alpha, j_ex, mass_ratio, fermi_energy, xp=xp)
    densities = (outer - inner) * (math.pi * AREA_MEASURE)
    return densities[..., 0], densities[..., 1]

"""The strong-exchange closed forms of the whole Fermi sea (J >> alpha k_F; paper eq. 13, 14, 18, A1).

To first order in alpha k/J each state's ds/dt and spin force do not depend on k, only on its band s
(docs: Theory > Limits and approximations): ds/dt = s (alpha/J) P_perp(k' x z), F_so = -s eta (I - w w^T) hbar k'
(w = z x M, eta = m alpha^2/(hbar^2 J)). Sums over the T = 0 sea are therefore the band densities
times these per-state values, with the polarization n_p = n_lower - n_upper. simulate, sweeps, the
LLG torque source, transport and the fit take their strong-exchange sea sums from here.
"""

import jax.numpy as jnp
from jaxtyping import Array, Float
from ..constants import CARRIER_CHARGE, HBAR


def _cross_z(v):
    """v x z for in-plane v (..., 2) -> (..., 3)."""
    return jnp.stack([v[..., 1], -v[..., 0], jnp.zeros_like(v[..., 0])], -1)


def _column(x):
    return jnp.expand_dims(jnp.asarray(x), -1)


def strong_exchange_response(model, band_densities, force, shift, magnetization=None) -> dict:
    """Per-area response of the T = 0 sea accelerated by hbar k' = force and shifted by Delta k = shift.

    With n_p = n_lower - n_upper, n = n_lower + n_upper (paper eq. 13/14 summed over the sea, eq. A1):
        "spin_shift"        delta S = -n_p (alpha/J) (Delta k x z) (3,) [1/nm^2] (unprojected conservative form);
        "spin_rate"         dS/dt = -n_p (alpha/J) P_perp(k' x z), P_perp = I - M M^T (3,) [1/(nm^2 fs)] (= -T2);
        "field_like"        T1 = (2J/hbar) M x delta S = (2 alpha n_p/hbar) (Delta k x z) x M (3,) [1/(nm^2 fs)];
        "spin_force_density" -n_p eta (I - w w^T) hbar k', w = z x M (2,) [eV/nm^3];
        "current"           j = q n hbar Delta k/m (2,) [e/(fs nm)] (rigid shift of parabolic-mass bands);
        "spin_force_power"  P_sf = -n_p (alpha^2/J) [(M.Delta k)(M.k') + M_z^2 Delta k.k'] [eV/(nm^2 fs)]
            (shift.(I - w w^T).k' written without the cancellation near M || w).

    Args (batch dims ... broadcast; jit/vmap/grad-friendly):
        model: RashbaFerromagnet (alpha, J, mass, eta; its magnetization unless `magnetization` is given).
        band_densities: (n_lower, n_upper) (..., 2) [1/nm^2].
        force: hbar k' (..., 2) [eV/nm] (= qE while the field accelerates the sea).
        shift: Delta k (..., 2) [1/nm].
        magnetization: unit M (..., 3) to use instead of the model's (e.g. one per data row).
    Returns: a dict of the arrays above with the broadcast batch shape.
    """
    alpha, j_ex, mass, eta = model.alpha, model.j_ex, model.mass, model.eta
    magnetization = model.magnetization if magnetization is None else magnetization
    m = jnp.asarray(magnetization)
    force = jnp.asarray(force)
    shift = jnp.asarray(shift)
    n_lower, n_upper = band_densities[..., 0], band_densities[..., 1]
    polarization = n_lower - n_upper
    kdot = force / HBAR
    w = jnp.stack([-m[..., 1], m[..., 0]], -1)
    w_dot_kdot = jnp.sum(kdot * w, -1)
    # ds/dt per state = s (alpha/J) [k' x z - M (w . k')] (paper eq. 14 with T2 = -ds/dt); M.(k' x z) = w.k'.
    per_state_rate = _column(alpha / j_ex) * (_cross_z(kdot) - _column(w_dot_kdot) * m)
    projected = force - _column(jnp.sum(force * w, -1)) * w
    spin_shift = -_column(polarization * alpha / j_ex) * _cross_z(shift)
    m_shift = jnp.sum(m[..., :2] * shift, -1)
    m_kdot = jnp.sum(m[..., :2] * kdot, -1)
    power = -polarization * alpha**2 / j_ex * (m_shift * m_kdot + m[..., 2] ** 2 * jnp.sum(shift * kdot, -1))
    return {
        "spin_shift": spin_shift,
        "spin_rate": -_column(polarization) * per_state_rate,
        "field_like": _column(2.0 * alpha / HBAR * polarization) * jnp.cross(_cross_z(shift), m),
        "spin_force_density": -_column(polarization * eta) * projected,
        "current": _column(CARRIER_CHARGE * HBAR / mass * (n_lower + n_upper)) * shift,
        "spin_force_power": power,
    }


def strong_exchange_amr(polarization_ratio, eta, magnetization, direction) -> Float[Array, "..."]:
    """rho(M)/rho0 = 1 + p eta [(M.e)^2 + M_z^2] along the current direction e (paper eq. 18, general M).

    p = (n_lower - n_upper)/(n_lower + n_upper), eta = m alpha^2/(hbar^2 J); rho0: M in-plane and
    perpendicular to e. Args broadcast: magnetization (..., 3) unit M, direction (..., 2) unit e.
    Returns (...) (dimensionless).
    """
    m = jnp.asarray(magnetization)
    along = jnp.sum(m[..., :2] * direction, -1)
    return 1.0 + polarization_ratio * eta * (along**2 + m[..., 2] ** 2)

"""Spin-torque ferromagnetic resonance (ST-FMR): the rectified mixing voltage of a macrospin driven by an
RF current, from the microscopic parameters (docs: Theory > Spin-torque FMR).

Measurement model. Strip along x carrying I(t) = I_rf cos(w t) (current density j(t) = j_rf cos w t, the
amplitude j_rf in HallSettings.current_density), external field B at azimuth phi_H (in-plane, usually 45
deg). The RF current exerts the current-induced fields of `_fields.py` at the amplitude, b = B_FL(M0) +
B_DL(M0) + B_Oe y (B_Oe: the Oersted field of the current in other layers, an input), on the equilibrium
M0 (`_hall.equilibrium`, the j = 0 minimum). Linearized LLG about M0 in the tangent basis E = (e1, e2 =
M0 x e1), v = E^T dM, B_0 = B_ext + A M (A the anisotropy/demagnetizing matrix of `_hall.py`),
h = M0.B_0 and the energy Hessian H = -E^T A E + h 1:

    dM/dt = -gamma M x (B_0 + b(t)) + alpha_G M x dM/dt
    => (i w (1 - alpha_G R) - gamma R H) v = -gamma R E^T b,     R = [[0, -1], [1, 0]] (E^T (M0 x w) = R E^T w),

for b(t) = Re(b e^{i w t}) and dM = Re(E v e^{i w t}). Readout: anisotropic magnetoresistance
R(M) = R_0 + Delta R_AMR (M.x)^2, so dR(t) = 2 Delta R_AMR (M0.x) (dM(t).x), and the rectified voltage is
the time average of I(t) dR(t):

    V_mix = (1/2) I_rf Re(dR_hat) = I_rf Delta R_AMR (M0.x) Re(x.E v)        [V]

with I_rf = j_rf x width x thickness (the `current` argument). gamma = g mu_B/hbar with g = 2.0023.

Near resonance V_mix = S F_S + A F_A with F_S = D^2/((B - B_r)^2 + D^2), F_A = D (B - B_r)/((B - B_r)^2 + D^2);
for an in-plane magnet (M along the field, M_eff = mu0 M_s - B_K,perp) the Kittel resonance
(w/gamma)^2 = B_r (B_r + M_eff), the half width D = alpha_G w/gamma (field-swept, to leading order in
alpha_G), S from the out-of-plane (damping-like) field, A from the in-plane (field-like + Oersted) one, and the
standard ratio analysis (Liu et al., PRL 106, 036601 (2011)):
    B_DL/(B_FL + B_Oe) = (S/A) sqrt(1 + M_eff/B_r)   (B_DL^s, B_FL^s the scalar fields of `_fields.py`).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float

from .._core import check_range
from ..constants import G_ELECTRON, HBAR, MU_B_EV_PER_T
from ._fields import efficiency, moment_per_area, sot_field_vectors
from .._llg._equilibrium import anisotropy_matrix, equilibrium
from ._hall import HallSettings, check_hall_params, field_direction, param_arrays

GAMMA = G_ELECTRON * MU_B_EV_PER_T / HBAR
"""Gyromagnetic ratio g mu_B/hbar [rad/(fs T)] (g = 2.0023)."""


class StFmrSignals(eqx.Module):
    """ST-FMR spectrum at N field points (module docstring).

    Fields: v_mix (N,) [V]: rectified mixing voltage; m_eq (N, 3): equilibrium M0; b_sot (N, 3) [T]: the
    RF current-induced field at M0 and the amplitude (B_FL + B_DL + B_Oe y); dm (N, 3) complex: the
    precession amplitude (dM = Re(dm e^{i w t})); converged (N,) bool.
    """

    v_mix: Float[Array, "N"]
    m_eq: Float[Array, "N 3"]
    b_sot: Float[Array, "N 3"]
    dm: Array
    converged: Array


@jax.jit
def _spectrum(params, settings, omega, gilbert, r_amr, current):
    dtype = settings.phi_h.dtype
    stiffness = anisotropy_matrix(params["anisotropy_field"], settings.easy_axis, settings.ms_tesla, settings.demag)
    moment = moment_per_area(settings.ms_tesla, settings.thickness)
    y = jnp.asarray([0.0, 1.0, 0.0], dtype)
    rotation = jnp.asarray([[0.0, -1.0], [1.0, 0.0]], dtype)

    def one(phi_h, theta_h, field, m_start):
        b_ext = field * field_direction(theta_h, phi_h) + settings.bias_field
        m0, basis, h, converged = equilibrium(b_ext, stiffness, m_start)
        b_fl, b_dl = sot_field_vectors(
            params["alpha"], params["j_ex"], params["mass_ratio"], params["tau"], settings.fermi_energy, settings.efield,
            m0, moment, method=settings.model, bands=settings.bands, num=settings.num,
            field_like=settings.field_like, damping_like=settings.damping_like,
        )
        b = b_fl + b_dl + params["oersted_field"] * y
        matrix = 1j * omega * (jnp.eye(2, dtype=dtype) - gilbert * rotation) - GAMMA * rotation @ h
        v = jnp.linalg.solve(matrix, -GAMMA * rotation @ (basis.T @ b) + 0j)
        dm = basis @ v
        v_mix = current * r_amr * m0[0] * jnp.real(dm[0])
        return StFmrSignals(v_mix=jnp.where(converged, v_mix, jnp.nan), m_eq=m0, b_sot=b, dm=dm, converged=converged)

    return jax.vmap(one)(settings.phi_h, settings.theta_h, settings.field, settings.m_start)


def st_fmr_spectrum(params: dict, settings: HallSettings, *, frequency, gilbert, r_amr, current) -> StFmrSignals:
    """The rectified ST-FMR voltage V_mix(B) from the microscopic parameters (module docstring).

    Args:
        params: dict with names from `jaxsot.HALL_PARAMETERS` (the Hall resistances are not used): alpha [eV nm],
            j_ex [eV], mass_ratio, tau [fs], anisotropy_field [T] (along settings.easy_axis), oersted_field [T]
            (along +y at the RF amplitude).
        settings: `jaxsot.HallSettings`: the field points (N,) (phi_h, field, theta_h), the sample, and the RF
            current density amplitude j_rf as current_density [A/m^2].
        frequency: RF frequency f [Hz] (> 0).
        gilbert: Gilbert damping alpha_G (> 0).
        r_amr: anisotropic magnetoresistance Delta R_AMR [ohm] (R = R_0 + Delta R_AMR (M.x)^2).
        current: RF current amplitude I_rf [A] (j_rf x width x thickness of the conducting layers).

    Returns:
        StFmrSignals: v_mix (N,) [V], m_eq, b_sot, dm, converged.

    Raises:
        ValueError: a non-positive frequency, damping or current, or bad params/settings.
    """
    if not isinstance(settings, HallSettings):
        raise ValueError(f"settings is a {type(settings).__name__}; allowed: jaxsot.HallSettings")
    check_range("frequency", frequency, low=0.0, low_inclusive=False, unit="Hz")
    check_range("gilbert", gilbert, low=0.0, low_inclusive=False)
    check_range("current", current, low=0.0, low_inclusive=False, unit="A")
    params = param_arrays(check_hall_params({"r_ahe": 0.0, **params}), settings)
    dtype = settings.phi_h.dtype
    omega = jnp.asarray(2.0 * math.pi * frequency * 1e-15, dtype)  # rad/fs
    return _spectrum(params, settings, omega, jnp.asarray(gilbert, dtype), jnp.asarray(r_amr, dtype), jnp.asarray(current, dtype))


def lorentzian_fit(field, v_mix):
    """Fit V = S F_S + A F_A + C (module docstring) to a field-swept spectrum (NumPy, scipy least squares).

    Args:
        field: (N,) fields [T] (one resonance, swept through it).
        v_mix: (N,) voltages [V].

    Returns:
        dict: symmetric S, antisymmetric A [V], resonance field B_r [T], half width D [T], offset C [V].
    """
    from scipy.optimize import least_squares

    field, v_mix = onp.asarray(field, float), onp.asarray(v_mix, float)
    scale = float(onp.max(onp.abs(v_mix))) or 1.0
    centre = float(field[onp.argmax(onp.abs(v_mix))])
    width = 0.05 * float(onp.ptp(field)) or 1e-3

    def model(p):
        s, a, b_r, d, c = p
        den = (field - b_r) ** 2 + d**2
        return s * d**2 / den + a * d * (field - b_r) / den + c

    fit = least_squares(lambda p: (model(p) - v_mix) / scale, [v_mix[onp.argmax(onp.abs(v_mix))], 0.0, centre, width, 0.0],
                        x_scale=[scale, scale, width, width, scale], xtol=1e-15, ftol=1e-15, gtol=1e-15)
    s, a, b_r, d, c = fit.x
    if d < 0:
        d, a = -d, -a
    return {"S": float(s), "A": float(a), "B_r": float(b_r), "D": float(d), "C": float(c)}


def ratio_analysis(symmetric, antisymmetric, resonance_field, m_eff):
    """The standard ST-FMR ratio: B_DL/(B_FL + B_Oe) = (S/A) sqrt(1 + M_eff/B_r) (in-plane magnet).

    Args:
        symmetric: amplitude S of the symmetric Lorentzian [V].
        antisymmetric: amplitude A of the antisymmetric Lorentzian [V].
        resonance_field: resonance field B_r [T].
        m_eff: effective magnetization mu0 M_eff [T].

    Returns: the ratio of the damping-like to the in-plane (field-like + Oersted) field [1].
    """
    return symmetric / antisymmetric * math.sqrt(1.0 + m_eff / resonance_field)


def ratio_efficiency(ratio, oersted_field, current_density, ms_tesla, thickness):
    """xi_DL from the ratio analysis when the in-plane field is taken as the Oersted field alone (the usual
    assumption for heavy-metal bilayers): xi = (2e/hbar) M_s t_F (ratio B_Oe)/j [1]."""
    return float(efficiency(ratio * oersted_field / current_density, ms_tesla, thickness))

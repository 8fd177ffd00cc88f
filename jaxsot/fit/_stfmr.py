"""Fits of ST-FMR spectra V_mix(B): the microscopic parameters (through `jaxsot.st_fmr_spectrum`) with
standard errors and identifiability, and the standard Lorentzian/ratio analysis of xi_DL
(docs: Theory > Spin-torque FMR).

Fit. Whitened residuals r = (V_model - V)/sigma in z = log|x| of the free parameters (signs fixed by the
guess), minimized by scipy's trust-region least squares with the Jacobian from `jax.jacfwd` of the
jitted spectrum; covariance (J_z^T J_z)^+ (scaled by the reduced chi^2 when sigma is not given).
Identifiability: `jaxsot.fit.analyze` in log axes with the model's combinations. What one spectrum
determines: the symmetric part fixes B_DL (alpha n_p/J for strong exchange), the antisymmetric part
B_FL + B_Oe, the resonance M_eff (anisotropy), the width alpha_G, the amplitude Delta R_AMR I_rf^2: with
J and B_Oe fixed, alpha and tau are determined; with B_Oe free, tau and B_Oe are not separated (only
B_FL + B_Oe is).
"""

import math

import jax
import jax.numpy as jnp
import numpy as onp

from .._measure import HallSettings, st_fmr_spectrum
from .._measure._stfmr import lorentzian_fit, ratio_analysis, ratio_efficiency
from ._driver import fit_statistics, noise_factor
from ._forward import require_concrete
from ._identify import analyze

ST_FMR_PARAMETERS = ("alpha", "j_ex", "mass_ratio", "tau", "anisotropy_field", "oersted_field", "gilbert", "r_amr")
"""Parameters `fit_st_fmr` can vary (units: eV nm, eV, 1, fs, T, T, 1, ohm)."""

_LINEAR = ("oersted_field", "anisotropy_field")

_KNOWN = (
    ({"alpha": 1.0, "j_ex": -1.0}, "alpha/J (damping-like field, strong exchange)"),
    ({"alpha": 1.0, "tau": 1.0}, "alpha tau (field-like field, strong exchange)"),
    ({"j_ex": 1.0, "tau": 1.0}, "J tau = hbar |B_FL|/(2 |B_DL|)"),
)


def fit_st_fmr(field, v_mix, settings: HallSettings, *, frequency, current, guess, free=("alpha", "tau", "gilbert"),
               sigma=None, max_relative_error=0.5) -> dict:
    """Fit the microscopic (and magnet) parameters to one field-swept ST-FMR spectrum.

    Args:
        field: (N,) field magnitudes [T] (the settings' field points; phi_h and the rest from settings).
        v_mix: (N,) measured rectified voltages [V].
        settings: `jaxsot.HallSettings` of the sweep (field points, sample, RF current density j_rf).
        frequency: RF frequency [Hz].
        current: RF current amplitude [A].
        guess: {name: value} for every name of ST_FMR_PARAMETERS the model needs (alpha, j_ex, tau,
            anisotropy_field, oersted_field, gilbert, r_amr; mass_ratio default 1): start of the free ones,
            value of the fixed ones. A free parameter keeps the sign of its guess (non-zero).
        free: names to fit.
        sigma: (N,) or scalar standard deviation [V] (None: estimated from the residuals).
        max_relative_error: identifiability threshold (`jaxsot.fit.analyze`).

    Returns:
        dict: parameters, standard_errors, identifiable, physical and directions (`analyze`), chi2, dof,
        reduced_chi2, derived (B_DL, B_FL per current density j_rf [T], xi_DL, xi_FL), prediction (N,).

    Raises:
        ValueError: unknown or missing names, a zero guess for a free name, or shapes that do not match.
    """
    require_concrete("fit_st_fmr", guess if isinstance(guess, dict) else {}, label="guess", field=field, v_mix=v_mix,
                     loss="jaxsot.st_fmr_spectrum (the spectrum; a loss of it is traceable)")
    from scipy.optimize import least_squares

    field = onp.asarray(field, float)
    v_mix = onp.asarray(v_mix, float)
    if field.shape != v_mix.shape or field.ndim != 1:
        raise ValueError(f"field {field.shape} and v_mix {v_mix.shape}; allowed: two (N,) arrays")
    values = {"mass_ratio": 1.0, **guess}
    unknown = sorted(set(values) - set(ST_FMR_PARAMETERS)) + sorted(set(free) - set(ST_FMR_PARAMETERS))
    if unknown:
        raise ValueError(f"unknown names {unknown}; allowed: {', '.join(ST_FMR_PARAMETERS)}")
    missing = [n for n in ST_FMR_PARAMETERS if n not in values]
    if missing:
        raise ValueError(f"guess is missing {missing}; required: every name of {', '.join(ST_FMR_PARAMETERS)}")
    zero = [n for n in free if values[n] == 0.0]
    if zero:
        raise ValueError(f"guess {zero[0]} = 0 for a free parameter; allowed: a non-zero start (its sign is kept)")
    free = tuple(free)
    sign = onp.array([math.copysign(1.0, values[n]) for n in free])
    # Signed fields that may be ~0 (the Oersted field, the anisotropy) live on linear axes x = s z; the others
    # on log axes x = sign exp(z), so that power-law combinations are directions.
    log_axes = onp.array([n not in _LINEAR for n in free])
    scale = onp.array([abs(values[n]) for n in free])
    weights = onp.ones_like(v_mix) if sigma is None else 1.0 / onp.broadcast_to(onp.asarray(sigma, float), v_mix.shape)
    settings_here = HallSettings(settings.phi_h, field, theta_h=settings.theta_h, fermi_energy=settings.fermi_energy,
                                 current_density=settings.current_density, rho0=settings.rho0, ms_tesla=settings.ms_tesla,
                                 thickness=settings.thickness, easy_axis=settings.easy_axis, demag=settings.demag,
                                 bias_field=settings.bias_field, model=settings.model, num=settings.num,
                                 bands=settings.bands or None, field_like=settings.field_like, damping_like=settings.damping_like)

    def physical(z):
        return jnp.where(log_axes, sign * jnp.exp(jnp.where(log_axes, z, 0.0)), scale * z)

    def spectrum(z):
        x = physical(z)
        p = {**values, **{n: x[i] for i, n in enumerate(free)}}
        hall = {n: p[n] for n in ("alpha", "j_ex", "mass_ratio", "tau", "anisotropy_field", "oersted_field")}
        return st_fmr_spectrum(hall, settings_here, frequency=frequency, gilbert=p["gilbert"], r_amr=p["r_amr"],
                               current=current).v_mix

    residual = jax.jit(lambda z: (spectrum(z) - v_mix) * weights)
    jacobian = jax.jit(jax.jacfwd(lambda z: (spectrum(z) - v_mix) * weights))
    z0 = onp.where(log_axes, onp.log(scale), sign)
    fit = least_squares(lambda z: onp.asarray(residual(z)), z0, jac=lambda z: onp.asarray(jacobian(z)), method="trf",
                        xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=200)
    z = fit.x
    r = onp.asarray(residual(z))
    jz = onp.asarray(jacobian(z))
    chi2, dof, reduced = fit_statistics(r, len(free))
    x = onp.asarray(physical(jnp.asarray(z)))
    dxdz = onp.where(log_axes, x, scale)
    analysis = analyze(jz / dxdz[None, :], onp.where(log_axes, onp.abs(x), x), list(free), log_axes,
                       max_relative_error=max_relative_error, known=_KNOWN)
    errors = onp.asarray(analysis["standard_errors"]) * math.sqrt(noise_factor(reduced, dof, sigma is None))
    parameters = {**values, **{n: float(v) for n, v in zip(free, x)}}
    # Derived at the resonance (the middle of the sweep): scalar fields per j_rf and the efficiencies.
    out = st_fmr_spectrum({n: parameters[n] for n in ("alpha", "j_ex", "mass_ratio", "tau", "anisotropy_field", "oersted_field")},
                          settings_here, frequency=frequency, gilbert=parameters["gilbert"], r_amr=parameters["r_amr"], current=current)
    return {
        "parameters": parameters,
        "free": free,
        "standard_errors": {n: float(e) for n, e in zip(free, errors)},
        "identifiable": {n: bool(ok) for n, ok in zip(free, analysis["identifiable"])},
        "physical": analysis["physical"],
        "directions": analysis["directions"],
        "chi2": chi2,
        "dof": dof,
        "reduced_chi2": reduced,
        "prediction": onp.asarray(out.v_mix),
    }


def st_fmr_ratio_efficiency(field, v_mix, *, m_eff, oersted_field, current_density, ms_tesla, thickness) -> dict:
    """xi_DL directly from a spectrum: Lorentzian fit (S, A, B_r, D), ratio B_DL/B_in-plane =
    (S/A) sqrt(1 + M_eff/B_r), and xi = (2e/hbar) M_s t_F (ratio B_Oe)/j with the in-plane field taken as the
    Oersted field alone (the convention of heavy-metal bilayers: a field-like torque makes it wrong by the
    factor (B_FL + B_Oe)/B_Oe).

    Args:
        field: field magnitudes, shape (N,) [T].
        v_mix: rectified voltages, shape (N,) [V].
        m_eff: effective magnetization mu0 M_eff [T].
        oersted_field: Oersted field B_Oe at the RF amplitude [T].
        current_density: RF current density j_rf [A/m^2].
        ms_tesla: saturation magnetization mu0 M_s [T].
        thickness: film thickness t_F [nm].

    Returns: {"lorentzian": S, A, B_r, D, C; "ratio"; "xi_DL"}.
    """
    shape = lorentzian_fit(field, v_mix)
    ratio = ratio_analysis(shape["S"], shape["A"], shape["B_r"], m_eff)
    return {"lorentzian": shape, "ratio": ratio,
            "xi_DL": ratio_efficiency(ratio, oersted_field, current_density, ms_tesla, thickness)}

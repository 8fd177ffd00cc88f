"""Independent SI references for the measurement tests (jaxsot._measure): written out with NumPy here.

Strong-exchange effective fields (J >> alpha k_F), from the papers' closed forms (eq. 14, A1) with the
torque-to-magnet conversion T_SO = -kappa P_perp T, kappa = g mu_B/(2 M_s d), and T_SO = -gamma M x B:
    B_FL = -alpha n_p e E tau/(M_s d hbar) y,       B_DL = -alpha n_p e E/(2 M_s d J) (M x y)
(current along x, E = rho0 j, n_p = n_lower - n_upper at M || z from brentq Fermi radii). Derivation:
B_fl = -(alpha n_p/(n_mu mu_B)) (Delta k x z) with Delta k = -e E tau/hbar x, Delta k x z = (e E tau/hbar) y,
n_mu mu_B = M_s d; T_DL = a_J M x (M x y), a_J = kappa n_p (alpha/J) e E/hbar, B_DL = (1/gamma) M x T_DL =
-(a_J/gamma) M x y and kappa/gamma = hbar/(2 M_s d).
"""

import math
import types

import numpy as np
import pytest

E_C = 1.602176634e-19  # C
HBAR_SI = 1.054571817e-34  # J s
MU0 = 1.25663706212e-6  # T m/A
HBAR2_OVER_2ME = 0.0380998212  # eV nm^2


def band_densities(alpha, j_ex, fermi_energy, mass_ratio=1.0):
    """(n_lower, n_upper) [1/nm^2] at M || z from scipy brentq of c k^2 + s sqrt(alpha^2 k^2 + J^2) = E_F."""
    from scipy.optimize import brentq

    c = HBAR2_OVER_2ME / mass_ratio
    out = []
    for s in (-1.0, 1.0):
        def g(k, s=s):
            return c * k * k + s * math.sqrt(alpha**2 * k * k + j_ex**2) - fermi_energy

        out.append(0.0 if g(0.0) >= 0.0 else brentq(g, 0.0, 100.0, xtol=1e-15, rtol=1e-15) ** 2 / (4.0 * math.pi))
    return tuple(out)


def strong_fields_si(alpha, j_ex, fermi_energy, tau, j, rho0, ms_tesla, thickness, mass_ratio=1.0):
    """Strong-exchange scalar fields (B_FL^s, B_DL^s) [T] at current density j [A/m^2] (docstring above)."""
    n_lower, n_upper = band_densities(alpha, j_ex, fermi_energy, mass_ratio)
    n_p = (n_lower - n_upper) * 1e18  # 1/m^2
    alpha_si = alpha * E_C * 1e-9  # J m
    j_si = j_ex * E_C  # J
    efield = rho0 * j  # V/m
    moment = ms_tesla / MU0 * thickness * 1e-9  # A (moment per area)
    b_fl = -alpha_si * n_p * E_C * efield * tau * 1e-15 / (moment * HBAR_SI)
    b_dl = -alpha_si * n_p * E_C * efield / (2.0 * moment * j_si)
    return b_fl, b_dl


def perpendicular_reference(field, phi_h, bk_eff, b_fl, b_dl, b_oe, r_ahe, r_phe, r_ane, branch=1.0):
    """R_1w, R_2w of a perpendicular macrospin (uniaxial B_K,eff along z) in an in-plane field B < B_K,eff.

    Independent derivation in spherical coordinates: M0 in the vertical plane of the field with
    sin(theta0) = B/B_K,eff (branch +1: M_z > 0, -1: M_z < 0); energy curvatures along e_theta and e_phi,
    e_thth = B_K,eff cos^2(theta0), e_phph = (1/sin^2) d^2e/dphi^2 = B/sin(theta0) = B_K,eff; a field b
    tilts M by dM = e_theta (b.e_theta)/e_thth + e_phi (b.e_phi)/e_phph; R_2w = grad R_H . dM/2 + R_ANE M_x.
    Strong-exchange fields b = (B_FL + B_Oe) y + B_DL (M x y). Arrays broadcast.
    """
    phi = np.asarray(phi_h, dtype=float)
    s = np.asarray(field, dtype=float) / bk_eff
    theta = np.arcsin(s) if branch > 0 else math.pi - np.arcsin(s)
    m = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta) + 0 * phi], -1)
    e_t = np.stack([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta) + 0 * phi], -1)
    e_p = np.stack([-np.sin(phi), np.cos(phi), 0.0 * phi], -1)
    y = np.array([0.0, 1.0, 0.0])
    b = (b_fl + b_oe) * y + b_dl * np.cross(m, y)
    dm = e_t * (np.sum(b * e_t, -1) / (bk_eff * np.cos(theta) ** 2))[..., None] + e_p * (np.sum(b * e_p, -1) / bk_eff)[..., None]
    grad = np.stack([r_phe * m[..., 1], r_phe * m[..., 0], r_ahe + 0 * phi], -1)
    r_1w = r_ahe * m[..., 2] + r_phe * m[..., 0] * m[..., 1]
    r_2w = 0.5 * np.sum(grad * dm, -1) + r_ane * m[..., 0]
    return r_1w, r_2w


@pytest.fixture(scope="session")
def si():
    """Namespace of the SI references above."""
    return types.SimpleNamespace(
        E_C=E_C,
        HBAR_SI=HBAR_SI,
        MU0=MU0,
        band_densities=band_densities,
        strong_fields_si=strong_fields_si,
        perpendicular_reference=perpendicular_reference,
    )

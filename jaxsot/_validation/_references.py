"""Independent references for `jaxsot.validate_layers`: plain NumPy, no jaxsot code.

Nothing here imports the package: the constants are written out again (CODATA 2018, the values of
`jaxsot.constants`) on purpose, so that a wrong constant or a wrong kernel in the library shows up as
a disagreement instead of cancelling out. Each function states the closed form it implements.
"""

import math

import numpy as onp

# CODATA 2018, written out (not imported from jaxsot.constants: a reference must not share them).
HBAR = 0.6582119569  # eV fs
HBAR2_OVER_2ME = 0.0380998212  # eV nm^2
ELECTRON_MASS = HBAR * HBAR / (2.0 * HBAR2_OVER_2ME)  # eV fs^2/nm^2
E_CHARGE = 1.602176634e-19  # C
HBAR_SI = 1.054571817e-34  # J s
MU0_SI = 1.25663706212e-6  # T m/A
MU_B_EV_PER_T = 5.7883818060e-5  # eV/T
MU_B_J_PER_T = 9.2740100783e-24  # J/T


def exchange_field(alpha, j_ex, m, k):
    """b(k) = (alpha k_y - J M_x, -alpha k_x - J M_y, -J M_z) (paper eq. 1 with the Hamiltonian's sign); k (..., 2)."""
    k = onp.asarray(k, dtype=float)
    return onp.stack([alpha * k[..., 1] - j_ex * m[0], -alpha * k[..., 0] - j_ex * m[1],
                      -j_ex * m[2] + 0.0 * k[..., 0]], axis=-1)


def band_energy(alpha, j_ex, m, mass_ratio, k, s):
    """eps_s(k) = hbar^2 k^2/(2m) + s |b(k)| [eV]."""
    k = onp.asarray(k, dtype=float)
    c = HBAR2_OVER_2ME / mass_ratio
    return c * onp.sum(k * k, axis=-1) + s * onp.linalg.norm(exchange_field(alpha, j_ex, m, k), axis=-1)


def band_spin(alpha, j_ex, m, k, s):
    """Band spin <sigma> = s b/|b| of band s (..., 3)."""
    b = exchange_field(alpha, j_ex, m, k)
    return s * b / onp.linalg.norm(b, axis=-1, keepdims=True)


def rashba_dresselhaus_energy(alpha, beta, j_ex, m, k, s):
    """eps_s(k) = hbar^2 k^2/(2 m_e) + s |b|, b = (alpha k_y + beta k_x - J M_x, -alpha k_x - beta k_y - J M_y, -J M_z)."""
    k = onp.asarray(k, dtype=float)
    b = onp.stack([alpha * k[..., 1] + beta * k[..., 0] - j_ex * m[0], -alpha * k[..., 0] - beta * k[..., 1] - j_ex * m[1],
                   -j_ex * m[2] + 0.0 * k[..., 0]], axis=-1)
    return HBAR2_OVER_2ME * onp.sum(k * k, axis=-1) + s * onp.linalg.norm(b, axis=-1)


def bisection_radii(energy, fermi_energy, phi, steps=200):
    """r(phi) with energy(r cos phi, r sin phi) = E_F by plain bisection on each ray (vectorized over phi).

    energy: k (..., 2) -> eps (...) [eV]. Bracket [0, r_hi] with eps(0) < E_F and r_hi doubled until
    eps(r_hi) > E_F on every ray.
    """
    phi = onp.asarray(phi, dtype=float)
    direction = onp.stack([onp.cos(phi), onp.sin(phi)], -1)
    low = onp.zeros_like(phi)
    high = onp.ones_like(phi)
    while onp.any(energy(high[:, None] * direction) < fermi_energy):
        high = onp.where(energy(high[:, None] * direction) < fermi_energy, 2 * high, high)
    for _ in range(steps):
        mid = 0.5 * (low + high)
        below = energy(mid[:, None] * direction) < fermi_energy
        low, high = onp.where(below, mid, low), onp.where(below, high, mid)
        if onp.all(high - low <= 4e-16 * high):
            break
    return 0.5 * (low + high)


def circular_radius(alpha, j_ex, mass_ratio, fermi_energy, s):
    """M || z: k_s from c k^2 + s sqrt(alpha^2 k^2 + J^2) = E_F (bisection); 0.0 for an empty band."""
    c = HBAR2_OVER_2ME / mass_ratio

    def g(k):
        return c * k * k + s * math.sqrt(alpha * alpha * k * k + j_ex * j_ex) - fermi_energy

    if g(0.0) >= 0.0:
        return 0.0
    low, high = 0.0, 1.0
    while g(high) < 0.0:
        high *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if g(mid) < 0.0 else (low, mid)
    return 0.5 * (low + high)


def circular_densities(alpha, j_ex, mass_ratio, fermi_energy):
    """(n_lower, n_upper) = k_s^2/(4 pi) [1/nm^2] at M || z."""
    return tuple(circular_radius(alpha, j_ex, mass_ratio, fermi_energy, s) ** 2 / (4 * math.pi) for s in (-1, 1))


def circular_spin_flux(alpha, j_ex, mass_ratio, fermi_energy, vector):
    """M || z: sum_s oint spin_s (n . v) dl/(2 pi)^2 = (alpha/(4 pi)) (v x z) sum_s s k_s^2/Omega_s (3,).

    With v = k' this is dS/dt of the accelerated sea (T2 = -dS/dt); with v = Delta k the spin of the
    rigidly shifted sea, delta S (tests/README.md derives it).
    """
    total = 0.0
    for s in (-1, 1):
        k = circular_radius(alpha, j_ex, mass_ratio, fermi_energy, s)
        if k > 0.0:
            total += s * k * k / math.sqrt(alpha * alpha * k * k + j_ex * j_ex)
    v = onp.asarray(vector, dtype=float)
    return alpha / (4 * math.pi) * onp.array([v[1], -v[0], 0.0]) * total


def boltzmann_conductivity_z(alpha, j_ex, mass_ratio, fermi_energy, tau):
    """M || z: sigma_xx = sigma_yy = tau sum_s k_s |v_s|/(4 pi hbar), |v_s| = (2 c k_s + s alpha^2 k_s/Omega_s)/hbar.

    Constant-tau Boltzmann on circular contours (sigma = (e^2 tau/hbar) sum_s oint v v/|v| dl/(2 pi)^2);
    [e^2/(eV fs)]. At alpha = 0 it is Drude, (n_lower + n_upper) e^2 tau/m.
    """
    c = HBAR2_OVER_2ME / mass_ratio
    total = 0.0
    for s in (-1, 1):
        k = circular_radius(alpha, j_ex, mass_ratio, fermi_energy, s)
        if k > 0.0:
            omega = math.sqrt(alpha * alpha * k * k + j_ex * j_ex)
            total += k * (2 * c * k + s * alpha * alpha * k / omega) / HBAR
    return tau * total / (4 * math.pi * HBAR)


def gamma(g_factor):
    """Gyromagnetic ratio g mu_B/hbar [rad/(fs T)]."""
    return g_factor * MU_B_EV_PER_T / HBAR


def moment_density(ms_tesla, thickness):
    """n_mu = M_s d/mu_B [mu_B/nm^2] (M_s = ms_tesla/mu0 in A/m, d in nm)."""
    return ms_tesla / MU0_SI * thickness * 1e-9 / MU_B_J_PER_T * 1e-18


def strong_damping_rate(alpha, j_ex, mass_ratio, fermi_energy, efield, ms_tesla, thickness, g_factor):
    """a_J [1/fs]: the strong-exchange damping-like torque dM/dt = a_J M x (M x y) for E = efield x.

    T2 = n_p (e alpha/(hbar J)) M x (M x (E x z)) (paper eq. 14 summed over the bands, n_p = n_lower - n_upper)
    and dM/dt = -kappa P_perp T2, kappa = g/(2 n_mu); E x z = -E y.
    """
    n_lower, n_upper = circular_densities(alpha, j_ex, mass_ratio, fermi_energy)
    kappa = g_factor / (2.0 * moment_density(ms_tesla, thickness))
    return kappa * (n_lower - n_upper) * alpha * efield / (HBAR * j_ex)


def strong_fields_si(alpha, j_ex, mass_ratio, fermi_energy, tau, current, rho0, ms_tesla, thickness):
    """Strong-exchange scalar fields (B_FL^s, B_DL^s) [T] for a current density `current` [A/m^2] along x, SI.

    B_FL = -alpha n_p e E tau/(M_s d hbar) y, B_DL = -alpha n_p e E/(2 M_s d J) (M x y), E = rho0 j:
    the electron torques (paper eq. 14, A1) as T_SO = -gamma M x B with T_SO = -kappa P_perp T.
    """
    n_lower, n_upper = circular_densities(alpha, j_ex, mass_ratio, fermi_energy)
    n_p = (n_lower - n_upper) * 1e18  # 1/m^2
    alpha_si = alpha * E_CHARGE * 1e-9  # J m
    efield = rho0 * current  # V/m
    moment = ms_tesla / MU0_SI * thickness * 1e-9  # A (moment per area)
    b_fl = -alpha_si * n_p * E_CHARGE * efield * tau * 1e-15 / (moment * HBAR_SI)
    b_dl = -alpha_si * n_p * E_CHARGE * efield / (2.0 * moment * j_ex * E_CHARGE)
    return b_fl, b_dl


def perpendicular_hall(field, phi_h, bk_eff, b_fl, b_dl, b_oe, r_ahe, r_phe, r_ane):
    """Quasi-static R_1w, R_2w [ohm] of a perpendicular macrospin (M_z > 0) in an in-plane field B < B_K,eff.

    M0 in the vertical plane of the field, sin(theta0) = B/B_K,eff; energy curvatures B_K,eff cos^2(theta0)
    (polar) and B_K,eff (azimuthal); a small field b tilts M by e_theta (b.e_theta)/(B_K,eff cos^2) +
    e_phi (b.e_phi)/B_K,eff; R_H = R_AHE M_z + R_PHE M_x M_y, R_2w = grad R_H . dM/2 + R_ANE M_x with
    b = (B_FL + B_Oe) y + B_DL (M x y) at the current amplitude.
    """
    phi = onp.asarray(phi_h, dtype=float)
    theta = onp.arcsin(onp.asarray(field, dtype=float) / bk_eff)
    m = onp.stack([onp.sin(theta) * onp.cos(phi), onp.sin(theta) * onp.sin(phi), onp.cos(theta) + 0 * phi], -1)
    e_t = onp.stack([onp.cos(theta) * onp.cos(phi), onp.cos(theta) * onp.sin(phi), -onp.sin(theta) + 0 * phi], -1)
    e_p = onp.stack([-onp.sin(phi), onp.cos(phi), 0.0 * phi], -1)
    y = onp.array([0.0, 1.0, 0.0])
    b = (b_fl + b_oe) * y + b_dl * onp.cross(m, y)
    dm = (e_t * (onp.sum(b * e_t, -1) / (bk_eff * onp.cos(theta) ** 2))[..., None]
          + e_p * (onp.sum(b * e_p, -1) / bk_eff)[..., None])
    grad = onp.stack([r_phe * m[..., 1], r_phe * m[..., 0], r_ahe + 0 * phi], -1)
    r_1w = r_ahe * m[..., 2] + r_phe * m[..., 0] * m[..., 1]
    r_2w = 0.5 * onp.sum(grad * dm, -1) + r_ane * m[..., 0]
    return r_1w, r_2w


def exponential_fit(t, log_amplitude):
    """Least-squares slope of log_amplitude(t) (a growth or decay rate)."""
    t = onp.asarray(t, dtype=float)
    design = onp.stack([t, onp.ones_like(t)], -1)
    return float(onp.linalg.lstsq(design, onp.asarray(log_amplitude, dtype=float), rcond=None)[0][0])

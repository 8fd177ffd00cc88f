"""Independent NumPy references for the layers driven by any TwoBandModel (tests/llg, tests/measure).

Written from the models' definitions with NumPy only (nothing from jaxsot): H(k) = eps0 + b.sigma as
2x2 matrices, band energies from numpy.linalg.eigvalsh, band spins from numpy.linalg.eigh. The spin
response of the Fermi sea, A = sum_s int_sea d<sigma>_s/dk d^2k/(2 pi)^2 (3 x 2) [1/nm], is an area
integral on a polar Gauss-Legendre grid (radii of the contours by bisection), with the k derivatives
by central finite differences (the library uses contour fluxes and autodiff instead). Where both bands
are occupied, <sigma>_+ = -<sigma>_- cancels the lower band inside the upper sea, so only the annulus
between the two contours is integrated (it avoids a band touching point inside the upper sea).
Loaded by path (`load`), since the test folders are not packages.
"""

import math

import numpy as np

HBAR = 0.6582119569  # eV fs
C_KIN = 0.0380998212  # hbar^2/2m_e [eV nm^2]
PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)
EFIELD = np.array([1.0e-3, 0.4e-3])  # V/nm
TAU = 10.0  # fs
MU_B_J = 9.2740100783e-24
MU0 = 1.25663706212e-6
GAMMA_PER_FS_T = 2.0 * 5.7883818060e-5 / HBAR  # g mu_B/hbar with g = 2 [rad/(fs T)]


def rd_hamiltonian(p, m):
    """H(k) for k (..., 2): Rashba + Dresselhaus, written from its definition."""

    def h(kx, ky):
        bx = p["alpha"] * ky + p["beta"] * kx - p["j_ex"] * m[0]
        by = -p["alpha"] * kx - p["beta"] * ky - p["j_ex"] * m[1]
        bz = -p["j_ex"] * m[2] + 0.0 * kx
        return C_KIN * (kx**2 + ky**2), (bx, by, bz)

    return h


def lattice_hamiltonian(p, m):
    """H(k) of the square-lattice Rashba ferromagnet, written from its definition."""

    def h(kx, ky):
        a = p["a"]
        eps0 = 2.0 * p["t"] * (2.0 - np.cos(kx * a) - np.cos(ky * a))
        return eps0, (p["lam"] * np.sin(ky * a) - p["j_ex"] * m[0], -p["lam"] * np.sin(kx * a) - p["j_ex"] * m[1], -p["j_ex"] * m[2] + 0.0 * kx)

    h.r_max = 0.75 * np.pi / p["a"]  # inside the first zone
    return h


def matrices(h, kx, ky):
    eps0, b = h(kx, ky)
    return eps0[..., None, None] * np.eye(2) + sum(bi[..., None, None] * PAULI[i] for i, bi in enumerate(b))


def band_spins(h, kx, ky, index):
    """<sigma> (..., 3) of eigenvector `index` (0 lower, 1 upper) from numpy.linalg.eigh."""
    _, vectors = np.linalg.eigh(matrices(h, kx, ky))
    v = vectors[..., :, index]
    return np.stack([np.real(np.einsum("...i,ij,...j->...", v.conj(), PAULI[i], v)) for i in range(3)], -1)


def spin_response(h, fermi_energy, num_phi=48, num_r=32, step=1e-5):
    """A (3, 2) [1/nm]: sum over occupied bands of the sea integral of d<sigma>/dk, per (2 pi)^2."""
    phi = 2.0 * np.pi * np.arange(num_phi) / num_phi
    cos, sin = np.cos(phi), np.sin(phi)
    nodes, weights = np.polynomial.legendre.leggauss(num_r)
    radii = []
    for index in (0, 1):
        def energy(r):
            return np.linalg.eigvalsh(matrices(h, r * cos, r * sin))[:, index]

        if energy(np.zeros(num_phi)).min() >= fermi_energy:
            radii.append(np.zeros(num_phi))
            continue
        low, high = np.zeros(num_phi), np.full(num_phi, getattr(h, "r_max", 20.0))
        assert np.all(energy(high) > fermi_energy)
        for _ in range(80):
            mid = 0.5 * (low + high)
            below = energy(mid) < fermi_energy
            low, high = np.where(below, mid, low), np.where(below, high, mid)
        radii.append(0.5 * (low + high))
    inner, outer = radii[1], radii[0]  # upper band's contour inside the lower band's
    r = inner[:, None] + 0.5 * (outer - inner)[:, None] * (nodes[None, :] + 1.0)
    w = 0.5 * (outer - inner)[:, None] * weights[None, :] * r * (2.0 * np.pi / num_phi)
    kx, ky = r * cos[:, None], r * sin[:, None]
    total = np.zeros((3, 2))
    for j, (dx, dy) in enumerate(((step, 0.0), (0.0, step))):
        derivative = (band_spins(h, kx + dx, ky + dy, 0) - band_spins(h, kx - dx, ky - dy, 0)) / (2.0 * step)
        total[:, j] = np.einsum("pr,pri->i", w, derivative)
    return total / (2.0 * np.pi) ** 2


def ti_hamiltonian(p, m):
    """H(k) of the TI surface with exchange: c k^2 + hbar v (kx sigma_y - ky sigma_x) - J M.sigma."""

    def h(kx, ky):
        return p["kinetic"] * (kx**2 + ky**2), (-p["hbar_v"] * ky - p["j_ex"] * m[0], p["hbar_v"] * kx - p["j_ex"] * m[1], -p["j_ex"] * m[2] + 0.0 * kx)

    return h


def reference_torques(h_of_m, p, fermi_energy, m):
    """(T1, T2, delta S) of the sea at M = m, E = EFIELD, tau = TAU (q = -e: k' = -E/hbar)."""
    a = spin_response(h_of_m(p, m), fermi_energy)
    kdot = -EFIELD / HBAR
    spin_shift = a @ (kdot * TAU)
    return 2.0 * p["j_ex"] / HBAR * np.cross(m, spin_shift), -a @ kdot, spin_shift




# ---------------------------------------------------------------------------------------------
# Harmonic Hall of a macrospin driven by any model (tests/measure): quasi-static equilibrium by SciPy.

MU_B_EV = 5.7883818060e-5  # eV/T


def _direction(angles):
    theta, phi = angles
    return np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


def _direction_jacobian(angles):
    """dM/d(theta, phi), shape (3, 2)."""
    theta, phi = angles
    return np.array([
        [np.cos(theta) * np.cos(phi), -np.sin(theta) * np.sin(phi)],
        [np.cos(theta) * np.sin(phi), np.sin(theta) * np.cos(phi)],
        [-np.sin(theta), 0.0],
    ])


def macrospin_minimum(b_ext, anisotropy_field, easy_axis, ms_tesla, demag, m_start):
    """Energy minimum of e(M) = -b.M - (B_K/2)(u.M)^2 + (mu0 M_s/2) M.N.M over the sphere (SciPy, spherical angles).

    BFGS from m_start, polished by scipy.optimize.root on the angular gradient; asserts a minimum
    (positive finite-difference Hessian in the angles). Returns the unit vector M (3,).
    """
    from scipy.optimize import minimize, root

    u = np.asarray(easy_axis, float) / np.linalg.norm(easy_axis)
    n = np.asarray(demag, float)

    def energy(angles):
        m = _direction(angles)
        return -b_ext @ m - 0.5 * anisotropy_field * (u @ m) ** 2 + 0.5 * ms_tesla * (n @ (m * m))

    def gradient(angles):
        m = _direction(angles)
        de_dm = -b_ext - anisotropy_field * (u @ m) * u + ms_tesla * n * m
        return de_dm @ _direction_jacobian(angles)

    m0 = np.asarray(m_start, float) / np.linalg.norm(m_start)
    # Angles away from the poles (the chart is singular there): tilt the chart if needed.
    start = np.array([np.arccos(np.clip(m0[2], -1.0, 1.0)), np.arctan2(m0[1], m0[0])])
    assert 1e-3 < start[0] < np.pi - 1e-3, "start too close to a pole of the angular chart"
    first = minimize(energy, start, jac=gradient, method="BFGS", options={"gtol": 1e-12, "maxiter": 2000})
    polished = root(gradient, first.x, tol=1e-15)
    angles = polished.x
    assert np.linalg.norm(gradient(angles)) < 1e-12 * (np.linalg.norm(b_ext) + abs(anisotropy_field) + ms_tesla)
    step = 1e-5
    hessian = np.array([[(gradient(angles + step * np.eye(2)[j]) - gradient(angles - step * np.eye(2)[j]))[i] / (2 * step)
                         for j in range(2)] for i in range(2)])
    assert np.all(np.linalg.eigvalsh(0.5 * (hessian + hessian.T)) > 0.0), "not an energy minimum"
    return _direction(angles)


def current_fields(h_of_m, p, fermi_energy, m, efield, tau, ms_tesla, thickness):
    """(B_FL, B_DL) (3,) each [T] of the sea at M = m under E = efield (2,) [V/nm], tau [fs] (q = -e).

    B_FL = (J/(M_s d)) P_perp delta S and B_DL = (hbar/(2 M_s d)) M x dS/dt, with delta S = A Delta k,
    dS/dt = A k' from `spin_response` (A: NumPy eigh spins, area integral) and M_s d [eV/(T nm^2)].
    """
    a = spin_response(h_of_m(p, m), fermi_energy)
    kdot = -np.asarray(efield, float) / HBAR
    spin_shift, spin_rate = a @ (kdot * tau), a @ kdot
    moment = ms_tesla / MU0 * thickness * 1e-9 / MU_B_J * 1e-18 * MU_B_EV
    b_fl = p["j_ex"] / moment * (spin_shift - m * (m @ spin_shift))
    b_dl = HBAR / (2.0 * moment) * np.cross(m, spin_rate)
    return b_fl, b_dl



TABLE_THETA = np.array([0.4, 0.9, 1.3, 1.57, 2.0, 2.6])
TABLE_PHI = np.array([0.0, 0.7, 2.0, 3.0, 4.0, 5.5])


def noisy_field_table(h_of_m, p, fermi_energy, efield, noise=0.01, seed=5):
    """(values (6, 2), sigma (6, 2)) of an effective-field table (columns B_DL, B_FL [T]; M_s = 1 T, d = 1 nm) at
    the six directions TABLE_THETA, TABLE_PHI of M: B_DL along M x y and B_FL along y's part perpendicular to M,
    from `current_fields`, plus Gaussian noise of `noise` times each column's largest |value|."""
    y, rows = np.array([0.0, 1.0, 0.0]), []
    for t, f in zip(TABLE_THETA, TABLE_PHI):
        m = np.array([math.sin(t) * math.cos(f), math.sin(t) * math.sin(f), math.cos(t)])
        b_fl, b_dl = current_fields(h_of_m, p, fermi_energy, m, efield, p["tau"], 1.0, 1.0)
        perp, mxy = y - m * (m @ y), np.cross(m, y)
        rows.append([b_dl @ mxy / (mxy @ mxy), b_fl @ perp / (perp @ perp)])
    clean = np.asarray(rows)
    sigma = noise * np.abs(clean).max(0) * np.ones_like(clean)
    return clean + sigma * np.random.default_rng(seed).normal(size=clean.shape), sigma

def harmonic_hall_first_order(b_ext, magnet, b_so, r_ahe, r_phe, r_ane, r_ohe, m_start, step=1e-2):
    """(R_1w, R_2w, M0) of the quasi-static macrospin to first order in the current, written out here.

    magnet: dict anisotropy_field, easy_axis, ms_tesla, demag. b_so(m) -> the current-induced field (3,) [T]
    at the amplitude. M(s) at the instantaneous current s = sin(wt) is the equilibrium in B_ext + s B_SO;
    to first order in s only B_SO(M0) enters, a constant field, so M(+-step) are energy minima of
    e(M) - (+-step) B_SO(M0).M. Hall readout V/I0 = [R_H(M(s)) + R_OHE B_z] s + 2 R_ANE M_x(s) s^2 with
    R_H = R_AHE M_z + R_PHE M_x M_y; lock-in: R_1w = R_H(M0) + R_OHE B_z, R_2w = (1/2) dR_H/ds + R_ANE M0_x,
    dR_H/ds by a central difference (error O(step^2 |B_SO|^2/B_eff^2)).
    """
    m0 = macrospin_minimum(b_ext, m_start=m_start, **magnet)
    field = b_so(m0)
    m_up = macrospin_minimum(b_ext + step * field, m_start=m0, **magnet)
    m_down = macrospin_minimum(b_ext - step * field, m_start=m0, **magnet)

    def r_h(m):
        return r_ahe * m[2] + r_phe * m[0] * m[1]

    r_1w = r_h(m0) + r_ohe * b_ext[2]
    r_2w = 0.5 * (r_h(m_up) - r_h(m_down)) / (2.0 * step) + r_ane * m0[0]
    return r_1w, r_2w, m0

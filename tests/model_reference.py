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



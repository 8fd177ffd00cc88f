"""Independent NumPy references for the shipped models: each 2x2 H(k) written out from its docstring
formula (Pauli matrices, no jaxsot), its eigenvalues by numpy.linalg.eigh, and Hamilton trajectories
by a small RK4 in NumPy."""

import math

import numpy as np

HBAR = 0.6582119569  # eV fs
C_KIN = 0.0380998212  # hbar^2/2m_e [eV nm^2]
SIGMA = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)
IDENTITY = np.eye(2, dtype=complex)


def pauli(b):
    return np.einsum("i,ijk->jk", np.asarray(b, complex), SIGMA)


def ti_hamiltonian(k, hbar_v, j_ex, m, kinetic):
    kx, ky = k
    return kinetic * (kx**2 + ky**2) * IDENTITY + hbar_v * (kx * SIGMA[1] - ky * SIGMA[0]) - j_ex * pauli(m)


def rd_hamiltonian(k, alpha, beta, j_ex, m, mass_ratio):
    kx, ky = k
    kinetic = C_KIN / mass_ratio * (kx**2 + ky**2)
    return kinetic * IDENTITY + alpha * (ky * SIGMA[0] - kx * SIGMA[1]) + beta * (kx * SIGMA[0] - ky * SIGMA[1]) - j_ex * pauli(m)


def square_hamiltonian(k, t, a, lam, j_ex, m):
    kx, ky = k
    eps0 = -2 * t * (math.cos(kx * a) + math.cos(ky * a)) + 4 * t
    return eps0 * IDENTITY + lam * (math.sin(ky * a) * SIGMA[0] - math.sin(kx * a) * SIGMA[1]) - j_ex * pauli(m)


def bloch_hamiltonian(k, lattice, hoppings, j_ex, m):
    """sum_R H(R) exp(i k.R) - J M.sigma, R = n1 a1 + n2 a2 (the hand-written Bloch sum)."""
    h = -j_ex * pauli(m)
    for (n1, n2), matrix in hoppings.items():
        r = n1 * np.asarray(lattice[0]) + n2 * np.asarray(lattice[1])
        h = h + np.asarray(matrix, complex) * np.exp(1j * (k[0] * r[0] + k[1] * r[1]))
    return h


def energy(hamiltonian, k, s):
    return np.linalg.eigvalsh(hamiltonian(np.asarray(k, float)))[0 if s < 0 else 1]


def spin(hamiltonian, k, s):
    _, vectors = np.linalg.eigh(hamiltonian(np.asarray(k, float)))
    psi = vectors[:, 0 if s < 0 else 1]
    return np.real([psi.conj() @ SIGMA[i] @ psi for i in range(3)])


def velocity(hamiltonian, k, s, step=1e-5):
    """Central differences of the eigh eigenvalue / hbar [nm/fs]."""
    k = np.asarray(k, float)
    out = []
    for e in np.eye(2):
        out.append((energy(hamiltonian, k + step * e, s) - energy(hamiltonian, k - step * e, s)) / (2 * step * HBAR))
    return np.array(out)


def kinetic_hessian(hamiltonian, k, step=1e-3):
    """Hess of eps0 = tr H/2 by central differences [eV nm^2] (fourth order)."""
    k = np.asarray(k, float)

    def eps0(q):
        return 0.5 * np.real(np.trace(hamiltonian(q)))

    def second(e1, e2):
        def d(h):
            return (eps0(k + h * (e1 + e2)) - eps0(k + h * (e1 - e2)) - eps0(k - h * (e1 - e2)) + eps0(k - h * (e1 + e2))) / (4 * h * h)

        return (4 * d(step) - d(2 * step)) / 3

    ex, ey = np.eye(2)
    hxy = second(ex, ey)
    return np.array([[second(ex, ex), hxy], [hxy, second(ey, ey)]])


def trajectory_acceleration(hamiltonian, k0, s, force, h=0.2, substeps=4):
    """r''(0) [nm/fs^2] of the Hamilton trajectory r' = grad eps_s(k)/hbar, hbar k' = force.

    r(t) by RK4 from r(0) = 0 forward and backward to +-h and +-2h; the second differences at h
    and 2h, Richardson-extrapolated (error O(h^4))."""
    k0, force = np.asarray(k0, float), np.asarray(force, float)

    def rate(t):
        return velocity(hamiltonian, k0 + force * t / HBAR, s)

    def position(t_end):
        r, t, dt = np.zeros(2), 0.0, t_end / substeps
        for _ in range(substeps):
            k1 = rate(t)
            k2 = rate(t + dt / 2)
            k4 = rate(t + dt)
            r = r + dt / 6 * (k1 + 4 * k2 + k4)  # RK4 for r' = v(t) (k2 = k3: no r dependence)
            t += dt
        return r

    def second_difference(step):
        return (position(step) + position(-step)) / step**2

    return (4 * second_difference(h) - second_difference(2 * h)) / 3

"""How well the two-resolution error estimate of `jaxsot.fermi_sea_integral` tracks the true error.

A custom continuum model with a tilted, anisotropic, gapped Dirac cone inside both Fermi seas,
H = c k^2 + w kx + (-hbar v_y ky, hbar v_x kx, 0).sigma - J M.sigma, is integrated on the mesh route
at several numbers of coarse cells. The integrand is (1, s b/|b|): the density and the spin density.
Reference: both seas are star-shaped about the cone's centre k0 (where the k-dependent part of b
cancels the in-plane exchange), so the polar integral about k0 with scipy brentq radii, Gauss-Legendre
in the radius (split near k0, where the spin turns over the gap's length) and the trapezoid rule in the
angle (periodic: spectral) is independent of the mesh.

Prints one row per resolution: the true error, the estimate and their ratio (largest component,
relative to the largest |value|). Usage: python benchmarks/bench_estimate.py [--cells 16 32 64 128]
(~1-3 minutes per resolution on 2 cores; the finer ones dominate).
"""

import argparse
import math
import os
import platform
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

import jaxsot  # noqa: E402

C, V_X, V_Y, TILT, J_EX = 0.08, 0.33, 0.2, 0.1, 0.05  # eV nm^2, eV nm, eV nm, eV nm, eV
THETA, PHI, FERMI = 1.2, 0.4, 0.1  # rad, rad, eV
M = np.array([math.sin(THETA) * math.cos(PHI), math.sin(THETA) * math.sin(PHI), math.cos(THETA)])


class TiltedDirac(jaxsot.TwoBandModel):
    v_x: jax.Array
    v_y: jax.Array
    tilt: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return C * (kx * kx + ky * ky) + self.tilt * kx

    def spin_orbit_field(self, kx, ky):
        return -self.v_y * ky, self.v_x * kx, 0.0 * kx

    def field(self, kx, ky):
        return tuple(b - self.j_ex * self.magnetization[i] for i, b in enumerate(self.spin_orbit_field(kx, ky)))

    @property
    def mass(self):
        return jaxsot.constants.HBAR**2 / (2 * C)


def integrand(model, kx, ky, s, fx, fy):
    b = jnp.stack(model.field(kx, ky))
    return jnp.concatenate([jnp.ones(1), s * b / jnp.linalg.norm(b)])


def _field(kx, ky):
    return np.array([-V_Y * ky - J_EX * M[0], V_X * kx - J_EX * M[1], -J_EX * M[2] + 0 * kx])


def _energy(kx, ky, s):
    return C * (kx * kx + ky * ky) + TILT * kx + s * np.linalg.norm(_field(kx, ky), axis=0)


def reference(num_angles=1024, num_radial=48):
    """(density, spin x, y, z) [1/nm^2] by the polar integral about k0 (module docstring)."""
    k0 = np.array([J_EX * M[1] / V_X, -J_EX * M[0] / V_Y])
    x, w = np.polynomial.legendre.leggauss(num_radial)
    total = np.zeros(4)
    for s in (-1, 1):
        if _energy(*k0, s) >= FERMI:
            continue
        for angle in np.arange(num_angles) * 2 * math.pi / num_angles:
            u = np.array([math.cos(angle), math.sin(angle)])
            radii = np.linspace(0, 20, 4001)
            e = _energy(k0[0] + radii * u[0], k0[1] + radii * u[1], s) - FERMI
            crossing = np.nonzero(np.diff(np.sign(e)))[0]
            assert len(crossing) == 1, "the sea must be star-shaped about k0"
            edge = brentq(lambda r: _energy(k0[0] + r * u[0], k0[1] + r * u[1], s) - FERMI,
                          radii[crossing[0]], radii[crossing[0] + 1], xtol=1e-15, rtol=1e-15)
            for a, b in ((0, 0.05 * edge), (0.05 * edge, 0.3 * edge), (0.3 * edge, edge)):
                r = 0.5 * (b - a) * x + 0.5 * (b + a)
                weight = 0.5 * (b - a) * w * r
                field = _field(k0[0] + r * u[0], k0[1] + r * u[1])
                spin = s * field / np.linalg.norm(field, axis=0)
                total += np.concatenate([[weight.sum()], spin @ weight]) * (2 * math.pi / num_angles)
    return total / (2 * math.pi) ** 2


def _cpu():
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[16, 32, 64, 128])
    args = parser.parse_args()
    want = reference()
    check = reference(num_angles=512, num_radial=32)
    print(f"{_cpu()}, load average {os.getloadavg()[0]:.1f}, reference {want} (self-check at half the nodes: {np.max(np.abs(want - check)):.1e})")
    model = TiltedDirac(jnp.asarray(V_X), jnp.asarray(V_Y), jnp.asarray(TILT), jnp.asarray(J_EX), jnp.asarray(M))
    scale = np.max(np.abs(want))
    print("| cells | nodes | true error | estimate | estimate / true | seconds |")
    print("|---|---|---|---|---|---|")
    for cells in args.cells:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = jaxsot.fermi_sea_integral(model, FERMI, integrand, route="mesh", mesh=cells, tolerance=None)
        seconds = time.perf_counter() - start
        true = np.max(np.abs(np.asarray(result.value) - want)) / scale
        estimate = np.max(np.asarray(result.error)) / scale
        print(f"| {cells} | {result.num_nodes} | {true:.1e} | {estimate:.1e} | {estimate / true:.2f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()

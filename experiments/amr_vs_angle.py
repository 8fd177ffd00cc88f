"""Claim (paper eq. 18): rho/rho0 = 1 + eta cos^2(theta_EM), the AMR of the spin force.

jaxsot: the constant-tau Boltzmann resistivity with the exact bands (jaxsot.amr_ratio, current along
x) while M rotates in-plane (phi from E), in the x-z plane (theta from z) and in the y-z plane (theta
from z), against the strong-exchange form 1 + p eta [(M.e)^2 + M_z^2] (docs: Theory > Energy, Joule heating and AMR; p the band
polarization): in-plane 1 + p eta cos^2 phi, x-z plane no AMR, y-z plane 1 + p eta M_z^2.
Two Rashba couplings (alpha k_F/J = 0.16 and 0.44, J = 1 eV, E_F = 1.5 eV, both bands occupied).
Writes experiments/figures/amr_vs_angle.png and prints the agreement.
"""

import math
import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402

J_EX, FERMI_ENERGY, NUM = 1.0, 1.5, 128
ROTATIONS = {
    "in-plane (phi from E || x)": lambda a, x: jaxsot.RashbaFerromagnet.from_angles(a, J_EX, math.pi / 2, x),
    "x-z plane (theta from z)": lambda a, x: jaxsot.RashbaFerromagnet.from_angles(a, J_EX, x, 0.0),
    "y-z plane (theta from z)": lambda a, x: jaxsot.RashbaFerromagnet.from_angles(a, J_EX, x, math.pi / 2),
}


def sweep(alpha, build, angles):
    rows = []
    for angle in angles:
        model = build(alpha, angle)
        rows.append((float(jaxsot.amr_ratio(model, FERMI_ENERGY, (1.0, 0.0), NUM)), float(jaxsot.amr_strong_exchange(model, FERMI_ENERGY, (1.0, 0.0), NUM))))
    return onp.array(rows)


def main():
    angles = onp.linspace(0.0, math.pi, 25)
    figure, axes = plt.subplots(1, 3, figsize=(14, 4.2), sharey=True)
    for alpha, style in ((0.02, "-"), (0.05, "--")):
        k_f = float(onp.max(onp.linalg.norm(onp.asarray(jaxsot.fermi_contour(jaxsot.RashbaFerromagnet(alpha, J_EX, [1.0, 0, 0]), FERMI_ENERGY, -1, 64)[0]), axis=-1)))
        model = jaxsot.RashbaFerromagnet(alpha, J_EX, [1.0, 0, 0])
        p, eta = float(jaxsot.band_polarization(model, FERMI_ENERGY)), float(model.eta)
        print(f"alpha = {alpha} eV nm: alpha k_F/J = {alpha * k_f / J_EX:.3f}, eta = {eta:.4g}, p = {p:.4f}, p eta = {p * eta:.4g}")
        for ax, (name, build) in zip(axes, ROTATIONS.items()):
            rows = sweep(alpha, build, angles)
            amplitude = p * eta
            error = onp.max(onp.abs(rows[:, 0] - rows[:, 1])) / amplitude
            swing = (rows[:, 0].max() - rows[:, 0].min()) / amplitude
            print(f"  {name:<28} max |exact - closed| = {error:.4f} p eta; exact swing = {swing:.4f} p eta")
            ax.plot(onp.degrees(angles), (rows[:, 0] - 1.0) / amplitude, style, color="C0", label=f"exact bands, alpha = {alpha}")
            ax.plot(onp.degrees(angles), (rows[:, 1] - 1.0) / amplitude, "o" if style == "-" else "x", ms=3, color="C1",
                    label=f"1 + p eta [(M.e)^2 + M_z^2], alpha = {alpha}")
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("angle [deg]")
            ax.grid(alpha=0.3)
    axes[0].set_ylabel("(rho/rho0 - 1) / (p eta)")
    axes[0].legend(fontsize=7)
    figure.suptitle("AMR from the constant-tau Boltzmann conductivity (J = 1 eV, E_F = 1.5 eV, E || x)")
    figure.tight_layout()
    out = pathlib.Path(__file__).parent / "figures" / "amr_vs_angle.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

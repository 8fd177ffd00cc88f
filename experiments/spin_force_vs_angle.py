"""Claim: the spin force is F = eta e (E.M) M (paper eq. 13/14), parallel to M, with strength set by the E-M angle.

Docs (Theory > Hamilton's equations and the spin force): that reduced form holds only for in-plane M; in general the strong-exchange force is
-s e eta (I - w w^T) E = e eta [M_z^2 E + (M.E) M_par] (lower band). This script computes the exact
spin force per electron of the T = 0 Fermi sea (ensemble_spin_force / n, both routes of jaxsot are
exact) while M rotates (a) in-plane (phi from x, E along x) and (b) in the x-z plane (theta from z),
and compares it with the general strong-exchange form and with the paper's reduced form.
Writes experiments/figures/spin_force_vs_angle.png and prints the agreement numbers.
"""

import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402

ALPHA, J_EX, FERMI_ENERGY = 0.02, 1.0, 0.5  # alpha k_F / J ~ 0.1: the strong-exchange regime, lower band only
EFIELD = jnp.array([1e-4, 0.0])  # V/nm along x


def per_electron(model):
    force = jaxsot.ensemble_spin_force(model, FERMI_ENERGY, EFIELD, 256)
    density = sum(jaxsot.electron_density(model, FERMI_ENERGY, b, 256) for b in jaxsot.occupied_bands(model, FERMI_ENERGY))
    return onp.asarray(force / density)


def reduced_paper_form(model):
    m = onp.asarray(model.magnetization)
    e_dot_m = float(EFIELD[0]) * m[0] + float(EFIELD[1]) * m[1]
    return float(model.eta) * e_dot_m * m[:2]  # eta e (E.M) M, e = 1 in eV/nm per V/nm


def sweep(kind, angles):
    rows = []
    for angle in angles:
        if kind == "in-plane":
            model = jaxsot.RashbaFerromagnet.from_angles(ALPHA, J_EX, onp.pi / 2, angle)
        else:
            model = jaxsot.RashbaFerromagnet.from_angles(ALPHA, J_EX, angle, 0.0)
        exact = per_electron(model)
        general = onp.asarray(jaxsot.spin_force_strong_exchange(model, EFIELD, band=-1))
        rows.append((exact, general, reduced_paper_form(model)))
    return onp.array(rows)  # (n, 3, 2)


def main():
    angles = onp.linspace(0.0, onp.pi, 37)
    in_plane = sweep("in-plane", angles)
    xz = sweep("x-z", angles)
    scale = float(jaxsot.RashbaFerromagnet(ALPHA, J_EX, [1.0, 0, 0]).eta) * float(EFIELD[0])

    def deviation(rows, column):
        return onp.max(onp.linalg.norm(rows[:, column] - rows[:, 0], axis=-1)) / scale

    print("spin force per electron, units of eta e |E|; lower band only, alpha k_F/J ~",
          f"{ALPHA * float(onp.linalg.norm(jaxsot.fermi_contour(jaxsot.RashbaFerromagnet(ALPHA, J_EX, [0, 0, 1.0]), FERMI_ENERGY, -1, 64)[0][0])) / J_EX:.3f}")
    print(f"in-plane M: max |exact - general strong-exchange| = {deviation(in_plane, 1):.4f}")
    print(f"in-plane M: max |exact - eta e (E.M) M|          = {deviation(in_plane, 2):.4f}")
    print(f"x-z plane M: max |exact - general strong-exchange| = {deviation(xz, 1):.4f}")
    print(f"x-z plane M: max |exact - eta e (E.M) M|          = {deviation(xz, 2):.4f}")
    force = in_plane[:, 0]
    parallel = onp.abs(force[:, 0] * onp.sin(angles) - force[:, 1] * onp.cos(angles))
    print(f"in-plane M: max |F x M| / |F|max (direction along M) = {parallel.max() / onp.linalg.norm(in_plane[:, 0], axis=-1).max():.4f}")

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    degrees = onp.degrees(angles)
    for ax, rows, label in ((axes[0], in_plane, "M in plane, angle phi from E || x"), (axes[1], xz, "M in x-z plane, theta from z")):
        for component, color in ((0, "C0"), (1, "C1")):
            ax.plot(degrees, rows[:, 0, component] / scale, "-", color=color, label=f"F_{'xy'[component]} exact")
            ax.plot(degrees, rows[:, 1, component] / scale, "o", ms=3, color=color, label=f"F_{'xy'[component]} strong exchange (general M)")
            ax.plot(degrees, rows[:, 2, component] / scale, ":", color=color, label=f"F_{'xy'[component]} eta e (E.M) M")
        ax.set_xlabel(label + " [deg]")
        ax.set_ylabel("spin force per electron / (eta e |E|)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle("Spin force vs magnetization angle (alpha = 0.02 eV nm, J = 1 eV, E_F = 0.5 eV)")
    figure.tight_layout()
    out = pathlib.Path(__file__).parent / "figures" / "spin_force_vs_angle.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

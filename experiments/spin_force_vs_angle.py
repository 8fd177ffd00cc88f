"""Claim: the spin force is F = eta e (E.M) M (paper eq. 13/14), parallel to M, with strength set by the E-M angle.

Docs (Theory > Hamilton's equations and the spin force): that reduced form holds only for in-plane M; in general the strong-exchange force is
-s e eta (I - w w^T) E = e eta [M_z^2 E + (M.E) M_par] (lower band). This script computes the exact
spin force per electron of the T = 0 Fermi sea (ensemble_spin_force / n, both routes of jaxsot are
exact) while M rotates (a) in-plane (phi from x, E along x) and (b) in the x-z plane (theta from z),
and compares it with the general strong-exchange form and with the paper's reduced form.
Writes experiments/figures/spin_force_vs_angle.png and prints the agreement numbers.
"""


import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot.constants import ELEMENTARY_CHARGE_C  # noqa: E402

ALPHA, J_EX, FERMI_ENERGY = 0.02, 1.0, 0.5  # alpha k_F / J ~ 0.1: the strong-exchange regime, lower band only
EFIELD = jnp.array([1e-4, 0.0])  # V/nm along x (1e5 V/m)
EV_PER_NM_IN_N = ELEMENTARY_CHARGE_C / 1e-9  # a force of 1 eV/nm in newton


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

    plot(onp.degrees(angles), in_plane / scale, xz / scale, scale)


def plot(degrees, in_plane, xz, scale):
    """Both rotations, forces in units of eta e |E| (left axis) and in attonewton (right axis)."""
    plt = _figure_style.pyplot()
    attonewton = scale * EV_PER_NM_IN_N * 1e18  # eta e |E| in aN
    figure, axes = plt.subplots(1, 2, figsize=(12.5, 5.4))
    panels = (
        (axes[0], in_plane, r"in-plane angle $\varphi$ of $\mathbf{M}$ from $\mathbf{E} \parallel \hat{x}$ [deg]",
         r"$\mathbf{M}$ rotating in the film plane"),
        (axes[1], xz, r"polar angle $\theta$ of $\mathbf{M}$ from $\hat{z}$, $\mathbf{M}$ in the x-z plane [deg]",
         r"$\mathbf{M}$ rotating through the film normal (x-z plane)"),
    )
    for ax, rows, xlabel, title in panels:
        for component, color in ((0, "C0"), (1, "C3")):
            name = "xy"[component]
            # The three routes coincide in the left panel: a wide pale line under open markers under a thin dashed line.
            ax.plot(degrees, rows[:, 0, component], "-", color=color, lw=4.5, alpha=0.35,
                    label=rf"$F_{name}$ exact (Fermi sea)")
            ax.plot(degrees, rows[:, 1, component], "o", color=color, mfc="none", ms=7, mew=1.3, markevery=2,
                    label=rf"$F_{name}$ strong exchange, any $\mathbf{{M}}$: $e\eta[M_z^2\mathbf{{E}} + (\mathbf{{M}}\cdot\mathbf{{E}})\mathbf{{M}}_\parallel]$")
            ax.plot(degrees, rows[:, 2, component], "--", color=color, lw=1.4,
                    label=rf"$F_{name}$ papers' eq. 13: $\eta e(\mathbf{{E}}\cdot\mathbf{{M}})\mathbf{{M}}$")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("spin force per electron\n" r"$F_i\,/\,\eta e|\mathbf{E}|$ (dimensionless)")
        ax.set_title(title)
        ax.set_xticks(range(0, 181, 30))
        right = ax.secondary_yaxis("right", functions=(lambda f: f * attonewton, lambda f: f / attonewton))
        right.set_ylabel(r"$F_i$ at $|\mathbf{E}| = 10^5$ V/m [aN]")
    handles, labels = axes[0].get_legend_handles_labels()
    _figure_style.figure_legend(figure, handles, labels, ncol=2)
    figure.suptitle(rf"Spin force on the conduction electrons vs the direction of $\mathbf{{M}}$""\n"
                    rf"$\alpha$ = {ALPHA} eV nm, $J$ = {J_EX:g} eV, $E_F$ = {FERMI_ENERGY} eV (lower band only, $\alpha k_F/J$ = 0.13),"
                    r" $\mathbf{E} \parallel \hat{x}$")
    out = _figure_style.save(figure, "spin_force_vs_angle.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Claim (paper eq. 18): rho/rho0 = 1 + eta cos^2(theta_EM), the AMR of the spin force.

jaxsot: the constant-tau Boltzmann resistivity with the exact bands (jaxsot.amr_ratio, current along
x) while M rotates in-plane (phi from E), in the x-z plane (theta from z) and in the y-z plane (theta
from z), against the strong-exchange form 1 + p eta [(M.e)^2 + M_z^2] (docs: Theory > Energy, Joule heating and AMR; p the band
polarization): in-plane 1 + p eta cos^2 phi, x-z plane no AMR, y-z plane 1 + p eta M_z^2.
Two Rashba couplings (alpha k_F/J = 0.16 and 0.44, J = 1 eV, E_F = 1.5 eV, both bands occupied).
Writes experiments/figures/amr_vs_angle.png and prints the agreement.
"""

import math

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
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
    curves = {}  # (alpha, rotation) -> (exact, closed) / (p eta), and alpha -> (alpha k_F/J, p eta)
    for alpha in (0.02, 0.05):
        k_f = float(onp.max(onp.linalg.norm(onp.asarray(jaxsot.fermi_contour(jaxsot.RashbaFerromagnet(alpha, J_EX, [1.0, 0, 0]), FERMI_ENERGY, -1, 64)[0]), axis=-1)))
        model = jaxsot.RashbaFerromagnet(alpha, J_EX, [1.0, 0, 0])
        p, eta = float(jaxsot.band_polarization(model, FERMI_ENERGY)), float(model.eta)
        print(f"alpha = {alpha} eV nm: alpha k_F/J = {alpha * k_f / J_EX:.3f}, eta = {eta:.4g}, p = {p:.4f}, p eta = {p * eta:.4g}")
        curves[alpha] = (alpha * k_f / J_EX, p * eta)
        for name, build in ROTATIONS.items():
            rows = sweep(alpha, build, angles)
            amplitude = p * eta
            error = onp.max(onp.abs(rows[:, 0] - rows[:, 1])) / amplitude
            swing = (rows[:, 0].max() - rows[:, 0].min()) / amplitude
            print(f"  {name:<28} max |exact - closed| = {error:.4f} p eta; exact swing = {swing:.4f} p eta")
            curves[(alpha, name)] = ((rows[:, 0] - 1.0) / amplitude, (rows[:, 1] - 1.0) / amplitude)
    plot(onp.degrees(angles), curves)


def plot(degrees, curves):
    """Three rotations side by side; exact bands (lines) and the strong-exchange form (markers), both alphas."""
    plt = _figure_style.pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(15, 5.3), sharey=True)
    titles = {
        "in-plane (phi from E || x)": (r"$\mathbf{M}$ in the film plane", r"angle $\varphi$ of $\mathbf{M}$ from $\mathbf{E} \parallel \hat{x}$ [deg]"),
        "x-z plane (theta from z)": (r"$\mathbf{M}$ in the x-z plane (contains $\mathbf{E}$ and $\hat{z}$)", r"polar angle $\theta$ of $\mathbf{M}$ [deg]"),
        "y-z plane (theta from z)": (r"$\mathbf{M}$ in the y-z plane ($\perp \mathbf{E}$)", r"polar angle $\theta$ of $\mathbf{M}$ [deg]"),
    }
    styles = {  # alpha -> (exact line, closed-form markers): open circles around small crosses where they coincide
        0.02: (dict(ls="-", color="C0"), dict(ls="none", marker="o", ms=8, mfc="none", mew=1.3, color="C1")),
        0.05: (dict(ls="--", color="C2", lw=2.2), dict(ls="none", marker="x", ms=6, mew=1.5, color="k")),
    }
    for ax, (name, (title, xlabel)) in zip(axes, titles.items()):
        for alpha, (line, marker) in styles.items():
            ratio, amplitude = curves[alpha]
            exact, closed = curves[(alpha, name)]
            ax.plot(degrees, exact, label=rf"exact bands, $\alpha$ = {alpha} eV nm ($\alpha k_F/J$ = {ratio:.2f}, $p\eta$ = {amplitude:.2g})", **line)
            ax.plot(degrees, closed, label=rf"strong exchange $\rho/\rho_0 = 1 + p\eta[(\mathbf{{M}}\cdot\hat{{e}})^2 + M_z^2]$, $\alpha$ = {alpha} eV nm", **marker)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_xticks(range(0, 181, 30))
    axes[0].set_ylabel(r"AMR $(\rho_{xx}/\rho_0 - 1)\,/\,p\eta$ (dimensionless)")
    handles, labels = axes[0].get_legend_handles_labels()
    _figure_style.figure_legend(figure, handles, labels, ncol=2)
    figure.suptitle(r"Anisotropic magnetoresistance of the spin force: constant-$\tau$ Boltzmann resistivity, current along $x$" "\n"
                    rf"$J$ = {J_EX:g} eV, $E_F$ = {FERMI_ENERGY} eV (both bands; $p$ = band polarization, $\eta = m\alpha^2/\hbar^2 J$)")
    out = _figure_style.save(figure, "amr_vs_angle.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

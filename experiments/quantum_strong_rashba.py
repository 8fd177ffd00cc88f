"""Claim checked (papers, end of section III): "in a strong Rashba limit ... the damping torque will
also quickly disappear".

M || z, both bands occupied (alpha = 0.008 eV nm, E_F = 1 eV, J varied so that alpha k_F/J runs from
0.05 to 20, k_F = sqrt(2 m E_F)/hbar). For every J the whole sea is evolved exactly (every state a
spinor, jaxsot.strong_rashba_crossover) under a field switched on smoothly and held, and compared with
the semiclassical sea sum and the closed forms of jaxsot.circular_sea_torques, normalized by the
strong-exchange value T2_0 = -(e m alpha/(pi hbar^3))(E x z):
    T2 = -dS/dt:                                (2 + x^2) / (2 (1 + x^2))   -> 1/2
    damping-like exchange torque (2J/hbar) M x delta S:   1 / (1 + x^2)     -> 0
    papers' eq. 14 summed over the sea:         sqrt(1 + x^2 + eta^2)       (grows)
Writes experiments/figures/quantum_strong_rashba.png and prints the table.
"""

import math

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot.constants import ELECTRON_MASS, HBAR  # noqa: E402


def main():
    ratios = onp.geomspace(0.05, 20.0, 9)
    result = jaxsot.strong_rashba_crossover(0.008, 1.0, ratios, estimate_error=True)
    n = result.normalized
    keys = ["closed_damping_torque", "semiclassical_damping_torque", "exact_damping_torque",
            "closed_damping_like_torque", "exact_damping_like_torque", "closed_strong_exchange"]
    print(f"{'x=akF/J':>8} {'J [eV]':>9} " + " ".join(f"{k[:24]:>24}" for k in keys) + f" {'max eps':>9} {'int.err':>8}")
    for i, x in enumerate(result.ratio):
        print(f"{x:8.3g} {result.j_ex[i]:9.3g} " + " ".join(f"{n[k][i]:24.6f}" for k in keys)
              + f" {result.adiabaticity[i]:9.1e} {result.integration_error[i]:8.1e}")
    t2 = onp.max(onp.abs(n["exact_damping_torque"] / n["closed_damping_torque"] - 1))
    dl = onp.max(onp.abs(n["exact_damping_like_torque"] / n["closed_damping_like_torque"] - 1))
    print(f"exact vs closed form: T2 within {t2:.1e}, damping-like exchange torque within {dl:.1e} (relative)")
    plot(result)


def plot(crossover):
    """Normalized torques vs alpha k_F/J (bottom axis) and J (top axis); closed forms as lines.

    The same content as `jaxsot validate`'s crossover figure, drawn here with the experiments' style.
    """
    plt = _figure_style.pyplot()
    x = crossover.ratio
    dense = onp.geomspace(x.min(), x.max(), 200)
    n = crossover.normalized
    figure, ax = plt.subplots(figsize=(12.5, 5.8))
    # At small x all curves meet at 1: drawn back to front (large open markers behind small filled ones).
    styles = (
        ("closed_strong_exchange", dict(ls=":", marker="^", ms=9, mfc="none", mew=1.3, color="k", lw=1.4, zorder=2),
         rf"papers' eq. 14 summed over the sea, $\sqrt{{1 + x^2 + \eta^2}}$ (= {n['closed_strong_exchange'][-1]:.0f} at $x$ = {x[-1]:.0f})"),
        ("semiclassical_damping_torque", dict(ls="none", marker="s", ms=12, mfc="none", mew=1.4, color="C0", zorder=3),
         r"$T_2$ semiclassical sea sum"),
        ("exact_damping_like_torque", dict(ls="none", marker="D", ms=7, color="C3", zorder=4),
         r"$(2J/\hbar)\,\mathbf{M}\times\delta\mathbf{S}$ exact spinors"),
        ("exact_damping_torque", dict(ls="none", marker="o", ms=6.5, color="C0", mec="w", mew=0.8, zorder=5), r"$T_2$ exact spinors"),
    )
    ax.semilogx(dense, (2 + dense**2) / (2 * (1 + dense**2)), "-", color="C0",
                label=r"$T_2 = -d\mathbf{S}/dt$, closed form $(2 + x^2)/(2(1 + x^2))$")
    ax.semilogx(dense, 1 / (1 + dense**2), "-", color="C3",
                label=r"damping-like exchange torque $(2J/\hbar)\,\mathbf{M}\times\delta\mathbf{S}$, closed form $1/(1 + x^2)$")
    for name, style, label in styles:
        ax.semilogx(x, n[name], label=label, **style)
    ax.axhline(0.5, color="gray", lw=0.8)
    ax.text(x.min(), 0.5, r" $T_2 \to 1/2$", va="bottom", ha="left", color="0.35")
    ax.set_ylim(-0.05, 1.6)
    ax.set_xlabel(r"Rashba-to-exchange ratio $x = \alpha k_F/J$ (dimensionless)")
    ax.set_ylabel(r"torque along $\mathbf{E}\times\hat{z}$ in units of $T_{2,0}$" "\n(dimensionless)")
    # alpha k_F is fixed and J varies: J = alpha k_F / x on the top axis.
    akf = float(x[0] * crossover.j_ex[0])
    top = ax.secondary_xaxis("top", functions=(lambda r: akf / onp.maximum(r, 1e-300), lambda j: akf / onp.maximum(j, 1e-300)))
    top.set_xlabel(r"exchange splitting $J$ [eV] ($\alpha k_F$ fixed)")
    ax.grid(alpha=0.3, which="both")
    _figure_style.legend_right(ax, fontsize=10)
    # T2_0 = e m alpha |E| / (pi hbar^3) at 1e5 V/m, with the torque per magnet on a 1 nm, 1 T film.
    t20 = ELECTRON_MASS * crossover.alpha * 1e-4 / (math.pi * HBAR**3)  # 1/(nm^2 fs)
    kappa = float(jaxsot.Magnet(1.0, 1.0, 0.0).torque_area)
    figure.suptitle(r"Strong-Rashba limit: the damping-like torque on $\mathbf{M}$ vanishes, $T_2 = -d\mathbf{S}/dt$ does not" "\n"
                    rf"$\mathbf{{M}} \parallel \hat{{z}}$, both bands, $E_F$ = {crossover.fermi_energy:g} eV, $\alpha$ = {crossover.alpha:g} eV nm, "
                    r"$J$ varied; unit " rf"$T_{{2,0}} = e m \alpha |\mathbf{{E}}|/(\pi\hbar^3)$ = {_figure_style.sci(t20)} nm$^{{-2}}$ fs$^{{-1}}$ "
                    rf"at $|\mathbf{{E}}| = 10^5$ V/m" "\n"
                    rf"($\kappa T_{{2,0}}$ = {kappa * t20 * 1e6:.2g} ns$^{{-1}}$ on a 1 nm, $\mu_0 M_s$ = 1 T magnet)")
    out = _figure_style.save(figure, "quantum_strong_rashba.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

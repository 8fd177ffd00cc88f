"""Claim checked: the semiclassical spin dynamics (band following, ds/dt = s db^/dt, the spin force)
is the adiabatic limit of the exact spinor dynamics, and the deviation is controlled by the
adiabaticity epsilon = hbar |db/dt| / Omega^2 (docs: Theory > Quantum check).

One state on the lower-band Fermi contour of the default model (alpha = 0.05 eV nm, J = 1 eV,
E_F = 1.5 eV, M at theta = 60 deg, phi = 30 deg). For each epsilon the field is switched on with the
C-infinity ramp over 40 precession periods and held for 10 (jaxsot.adiabaticity_scan); the errors of
the semiclassical quantities are measured after the ramp and fitted to c epsilon^p. Two field
directions: along x (generic) and perpendicular to grad Omega (Omega stays constant, the first-order
correction d(delta sigma_1)/dt vanishes). Writes experiments/figures/quantum_adiabaticity.png.
"""

import math

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot.constants import V_PER_M_PER_V_PER_NM  # noqa: E402

FERMI_ENERGY = 1.5


def main():
    model = jaxsot.RashbaFerromagnet.from_angles(0.05, 1.0, math.radians(60.0), math.radians(30.0))
    k0 = jaxsot.fermi_point(model, FERMI_ENERGY, -1, math.radians(30.0))
    targets = onp.geomspace(1e-5, 1e-1, 9)
    generic = jaxsot.adiabaticity_scan(model, k0, -1, targets, direction=(1.0, 0.0), estimate_error=True)
    tangential = jaxsot.adiabaticity_scan(model, k0, -1, targets, direction="tangential", estimate_error=True)
    print(f"state k0 = ({k0[0]:.4f}, {k0[1]:.4f}) /nm, band -1, Omega = {generic.splitting:.4f} eV, ramp {generic.ramp_time:.1f} fs")
    names = list(generic.errors)
    print(f"{'epsilon':>9} " + " ".join(f"{n[:22]:>22}" for n in names) + f" {'floor':>9}")
    for i, eps in enumerate(generic.adiabaticity):
        print(f"{eps:9.2e} " + " ".join(f"{generic.errors[n][i]:22.3e}" for n in names) + f" {generic.integration_error[i]:9.1e}")
    for n in names:
        p, c = generic.orders[n]
        print(f"E along x: {n:32s} order {p:5.2f}, error ~ {c:.3g} eps^{p:.2f}")
    p, c = tangential.orders["spin_rate"]
    print(f"E tangent to Omega = const: spin_rate order {p:.2f} (c = {c:.3g}); first-order correction vanishes there")

    plot(generic, tangential)


def plot(generic, tangential):
    """Errors vs epsilon (bottom axis) and vs the field amplitude (top axis), log-log."""
    plt = _figure_style.pyplot()
    figure, ax = plt.subplots(figsize=(12, 6.2))
    # Pairs of curves nearly coincide (first-order pair, second-order pair): filled small markers on solid
    # lines vs large open markers on dashed lines.
    labels = {
        "spin_rate": (r"$T_2$: exact vs semiclassical", dict(ls="-", marker="o", ms=5, color="C0")),
        "nonadiabatic_spin": (r"$\delta\sigma$: exact vs first order $\delta\sigma_1$",
                              dict(ls="--", marker="s", ms=11, mfc="none", mew=1.4, lw=1.3, color="C2")),
        "spin_rate_first_order": (r"$T_2$: exact vs semiclassical $+\,d\delta\sigma_1/dt$", dict(ls="-", marker="^", ms=5, color="C3")),
        "nonadiabatic_spin_second_order": (r"$\delta\sigma$: exact vs $\delta\sigma_1 + \delta\sigma_2$",
                                           dict(ls="--", marker="D", ms=10, mfc="none", mew=1.4, lw=1.3, color="C1")),
        "exchange_torque_papers": (r"$(2J/\hbar)\,\mathbf{M}\times\sigma$ vs papers' $T_1 + T_2$", dict(ls="-", marker="x", ms=7, color="C4")),
    }
    for name, (label, style) in labels.items():
        p, _ = generic.orders[name]
        suffix = f" (order {p:.2f})" if name != "exchange_torque_papers" else " (plateau: does not vanish)"
        ax.loglog(generic.adiabaticity, generic.errors[name], label=label + suffix, **style)
    p, _ = tangential.orders["spin_rate"]
    ax.loglog(tangential.adiabaticity, tangential.errors["spin_rate"], ":", marker="v", ms=6, color="C5",
              label=rf"$T_2$ with $\mathbf{{E}}$ tangent to $\Omega$ = const (order {p:.2f})")
    ax.loglog(generic.adiabaticity, generic.integration_error, color="0.5", lw=1.0, label="integration error (step doubling)")
    ax.set_xlabel(r"adiabaticity $\varepsilon = \hbar\,|d\hat{b}/dt|\,/\,\Omega^2$ (dimensionless)")
    ax.set_ylabel("relative error after the switch-on\n(dimensionless)")
    ax.grid(alpha=0.3, which="both")
    # epsilon grows with the field amplitude (linearly up to ~1e-3, then slower as k moves during the
    # window): a top axis in V/m, interpolated in log-log between the scan points, constant ratio beyond.
    eps = onp.log(onp.asarray(generic.adiabaticity))
    field = onp.log(onp.asarray(generic.efield) * V_PER_M_PER_V_PER_NM)
    top = ax.secondary_xaxis("top", functions=(
        lambda e: e * onp.exp(onp.interp(onp.log(onp.maximum(e, 1e-300)), eps, field - eps)),
        lambda f: f * onp.exp(onp.interp(onp.log(onp.maximum(f, 1e-300)), field, eps - field))))
    top.set_xlabel(r"field amplitude $|\mathbf{E}|$ (along $x$) [V/m]")
    _figure_style.legend_right(ax)
    ax.set_title(rf"One state: lower band, $\mathbf{{k}}_0$ = ({generic.k0[0]:.2f}, {generic.k0[1]:.2f}) nm$^{{-1}}$, "
                 rf"$\Omega$ = {generic.splitting:.2f} eV; field ramped on over {generic.ramp_time:.0f} fs", fontsize=11)
    figure.suptitle(r"Exact spinor dynamics vs semiclassical band following ($\alpha$ = 0.05 eV nm, $J$ = 1 eV, $E_F$ = 1.5 eV, "
                    r"$\mathbf{M}$ at $\theta$ = 60$\degree$, $\varphi$ = 30$\degree$)")
    out = _figure_style.save(figure, "quantum_adiabaticity.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Claim checked: the semiclassical Fermi-sea torques of `jaxsot run` (T2 = -dS/dt decaying with tau,
T1 building up) are what the exact spinor dynamics of every state gives, once the switch-on is
smooth; a step field makes every state ring at 2 Omega/hbar around the adiabatic solution.

Default model of `jaxsot run` (alpha = 0.05 eV nm, J = 1 eV, E_F = 1.5 eV, E = 1e5 V/m along x,
tau = 10 fs), 64 x 8 nodes per band; three drives: step, sin^2 ramp (10 fs), C-infinity ramp (10 fs).
Prints the relative errors of the semiclassical and first-order sums; writes
experiments/figures/quantum_ensemble.png.
"""

import math

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import matplotlib.lines  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot.constants import V_PER_M_PER_V_PER_NM  # noqa: E402


def main():
    model = jaxsot.RashbaFerromagnet.from_angles(0.05, 1.0, math.radians(60.0), math.radians(30.0))
    field = jnp.array([1e-4, 0.0])
    times = jnp.linspace(0.0, 60.0, 481)
    drives = {
        "step": jaxsot.StepDrive(field),
        "sin^2 ramp 10 fs": jaxsot.RampDrive(field, 10.0),
        "smooth ramp 10 fs": jaxsot.SmoothRampDrive(field, 10.0),
    }
    panels = {}
    for name, drive in drives.items():
        result = jaxsot.exact_simulate(model, 1.5, drive, times, tau=10.0, num_phi=64, num_r=8, estimate_error=True)
        errors = {a: result.relative_error("damping_torque", a) for a in ("semiclassical", "first_order")}
        late = {a: result.relative_error("damping_torque", a, window=(15.0, 60.0)) for a in ("semiclassical", "first_order")}
        print(f"{name:>18}: T2 relative error, semiclassical {errors['semiclassical']:.3g} (t > 15 fs: {late['semiclassical']:.3g}), "
              f"first order {errors['first_order']:.3g} (t > 15 fs: {late['first_order']:.3g}); "
              f"T1 {result.relative_error('field_like_torque', 'semiclassical'):.2g}; "
              f"substeps {result.substeps}, integration error {float(result.integration_error):.1e}")
        series = {a: onp.asarray(result.observables["damping_torque"][a]) for a in ("exact", "semiclassical", "first_order")}
        drive_x = onp.asarray(jax.vmap(drive)(result.times))[:, 0]  # V/nm
        panels[name] = (onp.asarray(result.times), series, drive_x)
    plot(panels)


def plot(panels):
    """T2(t) for each drive: exact spinors (wide pale), semiclassical (dashed), first order (dotted, markers)."""
    plt = _figure_style.pyplot()
    kappa = float(jaxsot.Magnet(1.0, 1.0, 0.0).torque_area)  # nm^2
    unit = 1e-5  # nm^-2 fs^-1 on the axis
    figure, axes = plt.subplots(2, 3, figsize=(15, 7.6), sharex=True, sharey="row", height_ratios=(1, 3.2))
    titles = {"step": "field switched on as a step", "sin^2 ramp 10 fs": r"$\sin^2$ ramp over 10 fs",
              "smooth ramp 10 fs": r"smooth ($C^\infty$) ramp over 10 fs"}
    colors = ("C0", "C3", "C2")
    for k, (name, (t, series, drive_x)) in enumerate(panels.items()):
        top, ax = axes[0, k], axes[1, k]
        top.plot(t, drive_x * V_PER_M_PER_V_PER_NM / 1e5, color="k", lw=1.5)
        top.set_title(titles[name])
        for c, color in enumerate(colors):
            ax.plot(t, series["exact"][:, c] / unit, "-", color=color, lw=3.5, alpha=0.45)
            ax.plot(t, series["semiclassical"][:, c] / unit, "--", color=color, lw=1.4)
            ax.plot(t, series["first_order"][:, c] / unit, ":", color=color, lw=1.6, marker="o", ms=4.5, mfc="none",
                    markevery=(8 * c + 4, 24))
        ax.set_xlabel(r"time $t$ [fs]")
    axes[0, 0].set_ylabel(r"$E_x$ [$10^5$ V/m]")
    axes[1, 0].set_ylabel(r"damping-like torque $T_2 = -dS/dt$" "\n" r"[$10^{-5}$ nm$^{-2}$ fs$^{-1}$]")
    scale = unit * kappa * 1e6  # plotted value -> kappa T2 in 1/ns
    right = axes[1, 2].secondary_yaxis("right", functions=(lambda x: x * scale, lambda y: y / scale))
    right.set_ylabel(r"$\kappa T_2$ on a 1 nm, $\mu_0 M_s$ = 1 T magnet [ns$^{-1}$]")
    line = matplotlib.lines.Line2D
    handles = [line([], [], color=c, lw=2.5, label=f"${n}$ component") for c, n in zip(colors, "xyz")]
    handles += [
        line([], [], color="0.3", lw=3.5, alpha=0.45, label="exact spinors (every state)"),
        line([], [], color="0.3", ls="--", lw=1.4, label="semiclassical sea sum"),
        line([], [], color="0.3", ls=":", lw=1.6, marker="o", ms=4.5, mfc="none", label=r"semiclassical $+\,d\delta\mathbf{S}_1/dt$ (first order)"),
    ]
    _figure_style.figure_legend(figure, handles, ncol=6, fontsize=10)
    figure.suptitle(r"Fermi sea after switching on $\mathbf{E} \parallel \hat{x}$: exact spinor dynamics vs the semiclassical torque" "\n"
                    r"$\alpha$ = 0.05 eV nm, $J$ = 1 eV, $E_F$ = 1.5 eV, $\tau$ = 10 fs, $\mathbf{M}$ at $\theta$ = 60$\degree$, $\varphi$ = 30$\degree$")
    out = _figure_style.save(figure, "quantum_ensemble.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

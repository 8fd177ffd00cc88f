"""Claim (papers' section II): after a field step the damping-like torque T2 (from k') decays while the
field-like torque T1 (from the shift Delta k) builds up, both with the relaxation time tau.

jaxsot.simulate evolves the Fermi sea (Hamilton's equations, constant-tau rigid shift) after E is
switched on at t = 0. Closed forms beside it: hbar dDelta k/dt = qE - hbar Delta k/tau gives
k'(t) = (qE/hbar) e^(-t/tau) and Delta k(t) = (qE tau/hbar)(1 - e^(-t/tau)), so in the strong-exchange
limit T2(t) = T2(0) e^(-t/tau) and T1(t) = T1(inf)(1 - e^(-t/tau)) with T2(0) = n_p (alpha/J) P_perp(k'(0) x z)
and T1(inf) = (2 alpha n_p/hbar)(Delta k(inf) x z) x M. The right axis converts to the rate on a
1 nm, mu0 M_s = 1 T magnet, kappa T with kappa = g mu_B/(2 M_s d) (dM/dt = -kappa P_perp T; docs: Theory > Magnetization dynamics).
Writes experiments/figures/transient_step.png and prints the agreement.
"""

import math

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import matplotlib.lines  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot.constants import AMPERE_PER_M_PER_E_PER_FS_NM  # noqa: E402

ALPHA, J_EX, FERMI_ENERGY, TAU = 0.02, 1.0, 1.5, 10.0  # eV nm, eV, eV, fs (alpha k_F/J = 0.17)
EFIELD = jnp.asarray([1e-4, 0.0])  # V/nm = 1e5 V/m along x
THETA, PHI = math.radians(60.0), math.radians(30.0)


def main():
    model = jaxsot.RashbaFerromagnet.from_angles(ALPHA, J_EX, THETA, PHI)
    times = jnp.linspace(0.0, 60.0, 241)
    result = jaxsot.simulate(model, FERMI_ENERGY, jaxsot.StepDrive(EFIELD), times, tau=TAU, num_phi=64, num_r=12)
    t = onp.asarray(times)
    t2 = onp.asarray(result.observables["damping_torque"]["exact"])
    t1 = onp.asarray(result.observables["field_like_torque"]["exact"])
    # Closed forms (strong exchange) with the exponentials of the constant-tau shift.
    m = onp.asarray(model.magnetization)
    n_l, n_u = (float(x) for x in result.band_densities)
    n_p = n_l - n_u
    kdot0 = -onp.asarray(EFIELD) / jaxsot.constants.HBAR
    cross_z = onp.array([kdot0[1], -kdot0[0], 0.0])
    t2_closed0 = n_p * ALPHA / J_EX * (cross_z - m * (m @ cross_z))
    t1_closed_inf = 2 * ALPHA * n_p / jaxsot.constants.HBAR * onp.cross(cross_z * TAU, m)
    decay = onp.exp(-t / TAU)
    t2_closed = t2_closed0[None, :] * decay[:, None]
    t1_closed = t1_closed_inf[None, :] * (1.0 - decay)[:, None]

    # Time constants fitted to the exact series.
    norm2 = onp.linalg.norm(t2, axis=-1)
    fit_t2 = -1.0 / onp.polyfit(t[1:], onp.log(norm2[1:]), 1)[0]
    norm1 = onp.linalg.norm(t1, axis=-1)
    fit_t1 = -1.0 / onp.polyfit(t[1:-1], onp.log(1.0 - norm1[1:-1] / norm1[-1] * (1 - math.exp(-60.0 / TAU))), 1)[0]
    e2 = onp.max(onp.linalg.norm(t2 - t2_closed, axis=-1)) / onp.max(norm2)
    e1 = onp.max(onp.linalg.norm(t1 - t1_closed, axis=-1)) / onp.max(norm1)
    print(f"alpha = {ALPHA} eV nm, J = {J_EX} eV, E_F = {FERMI_ENERGY} eV, tau = {TAU} fs, E = 1e5 V/m, {result.num_states} states")
    print(f"T2: fitted decay time {fit_t2:.4f} fs (tau = {TAU}); max |exact - closed form| = {e2:.4f} of max |T2|")
    print(f"T1: fitted rise time  {fit_t1:.4f} fs; max |exact - closed form| = {e1:.4f} of max |T1|")
    print(f"|T2(0)| / |T1(inf)| = {norm2[0] / norm1[-1]:.4g} (closed form hbar/(2 J tau) x geometry = {onp.linalg.norm(t2_closed0) / onp.linalg.norm(t1_closed_inf):.4g})")

    # Drude sheet current of the rigid shift at E, for the SI reading of the field: j = (n e^2 tau/m) E.
    sheet = (n_l + n_u) * TAU / float(model.mass) * float(EFIELD[0]) * AMPERE_PER_M_PER_E_PER_FS_NM  # A/m
    plot(t, t2, t2_closed, t1, t1_closed, sheet)


def plot(t, t2, t2_closed, t1, t1_closed, sheet):
    """Exact (lines) and closed-form (markers) T2 and T1, with the rate on a 1 nm, 1 T magnet on the right axis."""
    plt = _figure_style.pyplot()
    kappa = float(jaxsot.Magnet(1.0, 1.0, 0.0).torque_area)  # nm^2
    figure, axes = plt.subplots(1, 2, figsize=(13, 5.4))
    panels = (
        (axes[0], t2, t2_closed, 1e-5, "damping-like torque $T_2 = -dS/dt$", "T_2",
         r"$T_2$ decays: $T_2(0)\,e^{-t/\tau}$"),
        (axes[1], t1, t1_closed, 1e-4, r"field-like torque $T_1 = (2J/\hbar)\,\mathbf{M}\times\delta\mathbf{S}$", "T_1",
         r"$T_1$ builds up: $T_1(\infty)\,(1 - e^{-t/\tau})$"),
    )
    for ax, exact, closed, unit, quantity, symbol, title in panels:
        for c, color in zip(range(3), ("C0", "C3", "C2")):
            ax.plot(t, exact[:, c] / unit, "-", color=color)
            ax.plot(t[::8], closed[::8, c] / unit, "o", ms=6, mfc="none", mew=1.3, color=color)
        ax.axvline(TAU, color="gray", lw=1.0, ls=":")
        ax.text(TAU, 0.98, r" $t = \tau$", transform=ax.get_xaxis_transform(), va="top", ha="left", color="0.3")
        ax.set_title(title)
        ax.set_xlabel(r"time $t$ after the field step [fs]")
        exponent = round(onp.log10(unit))
        ax.set_ylabel(quantity + "\n" + rf"[$10^{{{exponent}}}$ nm$^{{-2}}$ fs$^{{-1}}$]")
        scale = unit * kappa * 1e6  # plotted value -> kappa T in 1/ns
        right = ax.secondary_yaxis("right", functions=(lambda x, s=scale: x * s, lambda y, s=scale: y / s))
        right.set_ylabel(rf"$\kappa {symbol}$ on a 1 nm, $\mu_0 M_s$ = 1 T magnet [ns$^{{-1}}$]")
    line = matplotlib.lines.Line2D
    handles = [line([], [], color=c, label=f"${n}$ component") for c, n in zip(("C0", "C3", "C2"), "xyz")]
    handles += [line([], [], color="k", label="exact Fermi sea (jaxsot.simulate)"),
                line([], [], color="k", ls="none", marker="o", mfc="none", mew=1.3, label="strong-exchange closed form")]
    _figure_style.figure_legend(figure, handles, ncol=5)
    figure.suptitle(rf"Torques after a field step at $t = 0$: $|\mathbf{{E}}| = 10^5$ V/m along $x$ (Drude current "
                    rf"{sheet:.0f} A/m, i.e. {_figure_style.sci(sheet / 1e-9)} A/m$^2$ in 1 nm)" "\n"
                    rf"$\alpha$ = {ALPHA} eV nm, $J$ = {J_EX:g} eV, $E_F$ = {FERMI_ENERGY} eV ($\alpha k_F/J$ = 0.17), "
                    rf"$\tau$ = {TAU:g} fs, $\mathbf{{M}}$ at $\theta$ = 60$\degree$, $\varphi$ = 30$\degree$")
    out = _figure_style.save(figure, "transient_step.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

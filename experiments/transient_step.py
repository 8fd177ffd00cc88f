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
import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402

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

    kappa = float(jaxsot.Magnet(1.0, 1.0, 0.0).torque_area)  # nm^2
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    for ax, exact, closed, title in ((axes[0], t2, t2_closed, "damping-like T2 = -dS/dt"), (axes[1], t1, t1_closed, "field-like T1 = (2J/hbar) M x delta S")):
        for c, color in zip(range(3), ("C0", "C1", "C2")):
            ax.plot(t, exact[:, c], "-", color=color, label=f"{'xyz'[c]} exact (simulate)")
            ax.plot(t[::8], closed[::8, c], "o", ms=3, color=color, label=f"{'xyz'[c]} closed form")
        ax.axvline(TAU, color="gray", lw=0.8, ls=":")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("t [fs] (dotted: tau)")
        ax.set_ylabel("torque density [1/(nm^2 fs)]")
        ax.grid(alpha=0.3)
        right = ax.secondary_yaxis("right", functions=(lambda x: x * kappa * 1e6, lambda y: y / (kappa * 1e6)))
        right.set_ylabel("kappa x torque on a 1 nm, 1 T magnet [1/ns]")
    axes[0].legend(fontsize=7, ncol=2)
    figure.suptitle(f"Field step at t = 0: T2 decays and T1 builds up with tau = {TAU:g} fs (alpha = {ALPHA} eV nm, J = 1 eV, M at 60 deg, 30 deg)")
    figure.tight_layout()
    out = pathlib.Path(__file__).parent / "figures" / "transient_step.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

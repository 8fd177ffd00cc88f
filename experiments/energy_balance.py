"""Claim (paper eq. 15-17): the spin-force damping takes energy from the magnet at the rate
-(1/e) j.F_so = -eta rho0 (M.j)^2, and this energy is the extra Joule heating (1/e) j.F_so of the current.

Setting of the paper: the magnet feels only the spin-orbit torque (no anisotropy, shape or external
field; H_eff = H_fl) and Gilbert damping. jaxsot integrates the LLG with the exact-band electron torque
recomputed at every M (jaxsot.simulate_llg, method "exact") and evaluates along the trajectory:
- the magnet side: P_G (Gilbert) and P_DL,fl (the damping-like torque against the field-like field),
  with the closed forms -n_mu mu_B alpha_G gamma |M x B_eff|^2 and kappa n_p x (-p eta rho0 [(M.j)^2 + M_z^2 j^2])
  (eq. 15/16 for general M, per area, in jaxsot's SI-consistent conversion, kappa = g mu_B/(2 M_s d));
- the electron side: the spin-force power on the current P_sf (extra Joule heat -P_sf, eq. 17) and the
  extra Joule heat from the exact Boltzmann resistivity, (rho(M) - rho0) j^2 (the AMR);
- the balance P_DL,fl = kappa n_p P_sf. The same run with the strong-exchange torque, where B_fl is
constant and E_M = -n_mu mu_B B_fl.M is the magnetic energy, checks E_M(t) - E_M(0) = int (P_G + P_DL) dt.
Writes experiments/figures/energy_balance.png and prints the agreement.
"""


import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot.constants import J_PER_M2_PER_EV_PER_NM2, MU_B_EV_PER_T, WATT_PER_M2_PER_INTERNAL  # noqa: E402

ALPHA, J_EX, FERMI_ENERGY = 0.02, 1.0, 1.5  # alpha k_F/J = 0.17
J_SI, RHO0 = 1.0e12, 2.0e-7  # A/m^2, ohm m -> E = 2e5 V/m
THICKNESS, MS = 1.0, 1.0  # nm, T
T_END, NUM_SAVE = 1.0e6, 201  # fs


def drude_tau(n_total):
    """tau = m d/(rho0 e^2 n) [fs] (the `jaxsot llg` convention), n in 1/nm^2."""
    return 9.1093837015e-31 * THICKNESS * 1e-9 / (RHO0 * 1.602176634e-19**2 * n_total * 1e18) * 1e15


def main():
    magnet = jaxsot.Magnet(MS, THICKNESS, 0.02, demag=(0.0, 0.0, 0.0))
    efield = jnp.asarray([RHO0 * J_SI * 1e-9, 0.0])
    probe = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI_ENERGY, efield, 10.0)
    tau = drude_tau(float(probe.n_lower + probe.n_upper))
    m0 = jnp.asarray([0.6, 0.3, 0.74])
    runs = {}
    for method in ("strong_exchange", "exact"):
        torque = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI_ENERGY, efield, tau, method=method, num=64)
        result = jaxsot.simulate_llg(magnet, torque, m0, T_END, num_save=NUM_SAVE, rtol=1e-9, atol=1e-11)
        rates = {k: onp.asarray(v) for k, v in jaxsot.llg_diagnostics(magnet, torque, result.m).items()}
        runs[method] = (torque, result, rates)

    torque, result, rates = runs["exact"]
    t_ns = onp.asarray(result.times) * 1e-6
    m = onp.asarray(result.m)
    work = onp.asarray(result.work)
    kappa = float(magnet.torque_area)
    kappa_np = kappa * rates["polarization"]
    moment = float(magnet.moment_density) * MU_B_EV_PER_T
    # Closed forms of eq. 15/16 (general M), strong-exchange coefficients, along the exact trajectory.
    n_l, n_u = float(torque.n_lower), float(torque.n_upper)
    eta = float(torque.eta)
    mass = jaxsot.RashbaFerromagnet(ALPHA, J_EX, [0, 0, 1.0]).mass
    sigma0 = (n_l + n_u) * tau / float(mass)  # Drude sheet conductance, e/(V fs)
    j = sigma0 * onp.asarray(efield)  # sheet current, e/(fs nm)
    p = (n_l - n_u) / (n_l + n_u)
    sf_closed = -p * eta / sigma0 * ((m[:, :2] @ j) ** 2 + m[:, 2] ** 2 * (j @ j))
    b_eff = rates["conventional_field"] + rates["field_like_field"]
    gilbert_closed = -moment * 0.02 * float(magnet.gamma) * onp.sum(onp.cross(m, b_eff) ** 2, axis=-1)
    # Exact Boltzmann AMR route for the extra Joule heat at the same current: (rho(M) - rho0) j^2.
    reference = jaxsot.RashbaFerromagnet(ALPHA, J_EX, [0.0, 1.0, 0.0])
    rho0 = onp.asarray(jaxsot.resistivity(reference, FERMI_ENERGY, tau, 64))
    amr_extra = []
    for x in m:
        model = jaxsot.RashbaFerromagnet(ALPHA, J_EX, x)
        sigma = onp.asarray(jaxsot.conductivity(model, FERMI_ENERGY, tau, 64))
        current = sigma @ onp.asarray(efield)
        amr_extra.append(current @ (onp.linalg.inv(sigma) - rho0) @ current)
    amr_extra = onp.asarray(amr_extra)

    def rel(a, b):
        return float(onp.max(onp.abs(a - b)) / onp.max(onp.abs(b)))

    print(f"alpha = {ALPHA} eV nm, J = {J_EX} eV, E_F = {FERMI_ENERGY} eV; j = {J_SI:.3g} A/m^2, rho0 = {RHO0:g} ohm m, tau = {tau:.4g} fs")
    print(f"magnet: mu0 M_s = {MS} T, d = {THICKNESS} nm, alpha_G = 0.02, kappa = {kappa:.4g} nm^2, kappa n_p = {float(onp.mean(kappa_np)):.4f}")
    for method, (tq, res, rt) in runs.items():
        w = onp.asarray(res.work)
        line = f"{method:>15}: W_DL,fl / (kappa n_p W_sf) = {w[-1, 1] / (kappa * float(onp.mean(rt['polarization'])) * w[-1, 4]):.5f}"
        if method == "strong_exchange":  # B_fl is constant: E_M = -n_mu mu_B B_fl.M is the magnetic energy
            em = rt["magnetic_energy"]
            line += f"; E_M(t) - E_M(0) - int (P_G + P_DL) dt = {onp.max(onp.abs(em - em[0] - w[:, :3].sum(1))) / onp.max(onp.abs(w[:, 0])):.1e} of |int P_G|"
        print(line)
    print("exact torque, along the trajectory (max deviation / max magnitude):")
    print(f"  P_DL,fl vs kappa n_p x eq. 16 closed form:            {rel(rates['power_spin_force'], kappa_np * sf_closed):.4f}")
    print(f"  P_DL,fl / (kappa n_p) vs electron spin-force power:   {rel(rates['power_spin_force'] / kappa_np, rates['spin_force_power']):.4f}")
    print(f"  extra Joule -P_sf vs AMR route (rho(M) - rho0) j^2:   {rel(-rates['spin_force_power'], amr_extra):.4f}")
    print(f"  P_G vs -n_mu mu_B alpha_G gamma |M x B_eff|^2:         {rel(rates['power_gilbert'], gilbert_closed):.4f}")
    print(f"  spin-force share of the magnet's loss at t_end:      {work[-1, 1] / (work[-1, 0] + work[-1, 1]):.4f}")
    print(f"  magnet loss W_DL,fl / extra Joule W_sf at t_end:     {work[-1, 1] / work[-1, 4]:.4f} (the papers' equality would be 1)")

    plot(t_ns, m, rates, gilbert_closed, kappa_np * sf_closed, amr_extra, work, kappa)


def plot(t_ns, m, rates, gilbert_closed, spin_force_closed, amr_extra, work, kappa):
    """Four panels: M(t), the magnet's loss rates, the electrons' extra Joule heat, the cumulative energies."""
    plt = _figure_style.pyplot()
    kw = WATT_PER_M2_PER_INTERNAL * 1e-3  # eV/(nm^2 fs) -> kW/m^2
    uj = J_PER_M2_PER_EV_PER_NM2 * 1e6  # eV/nm^2 -> uJ/m^2
    every = 8  # closed forms as sparse open markers over the lines
    figure, axes = plt.subplots(2, 2, figsize=(14, 10.5), sharex=True)
    ax = axes[0, 0]
    for c, (name, style) in enumerate((("x", "-"), ("y", "--"), ("z", "-."))):
        ax.plot(t_ns, m[:, c], style, color=f"C{c}", label=f"$M_{name}$")
    ax.set_title(r"(a) magnetization: damped precession about $\mathbf{B}_{\rm fl} \parallel -\hat{y}$")
    ax.set_ylabel(r"direction of $\mathbf{M}$, components $M_i$" "\n(dimensionless)")
    _figure_style.legend_right(ax)
    ax = axes[0, 1]
    ax.plot(t_ns, rates["power_gilbert"] * kw, "-", color="C0", label=r"$P_G$, Gilbert damping (exact-band torque)")
    ax.plot(t_ns[::every], gilbert_closed[::every] * kw, "o", mfc="none", mew=1.3, color="C0",
            label=r"$-n_\mu \mu_B \alpha_G \gamma\,|\mathbf{M}\times\mathbf{B}_{\rm eff}|^2$")
    ax.plot(t_ns, rates["power_spin_force"] * kw, "-", color="C3", label=r"$P_{\rm DL,fl}$, damping-like torque (exact-band)")
    ax.plot(t_ns[::every], spin_force_closed[::every] * kw, "s", mfc="none", mew=1.3, color="C3",
            label=r"$\kappa n_p \times (-p\eta\rho_0[(\mathbf{M}\cdot\mathbf{j})^2 + M_z^2 j^2])$, eq. 15/16")
    ax.set_title("(b) magnet: rate of change of its energy")
    ax.set_ylabel(r"power per area [kW m$^{-2}$]")
    _figure_style.legend_below(ax, ncol=1, offset=0.06)
    ax = axes[1, 0]
    ax.plot(t_ns, -rates["spin_force_power"] * kw, "-", color="C2", lw=3.0, alpha=0.6,
            label=r"extra Joule heat $-P_{\rm sf}$ (spin force on the current)")
    ax.plot(t_ns[::every], amr_extra[::every] * kw, "o", mfc="none", mew=1.3, color="k",
            label=r"$(\rho(\mathbf{M}) - \rho_0)\,j^2$ (exact Boltzmann AMR)")
    ax.plot(t_ns, -rates["power_spin_force"] / rates["polarization"] / kappa * kw, "--", color="C3", lw=1.4,
            label=r"magnet's spin-force loss $/\,\kappa n_p$")
    ax.set_title("(c) electrons: extra Joule heating (eq. 17)")
    ax.set_ylabel(r"power per area [kW m$^{-2}$]")
    ax.set_xlabel(r"time $t$ [ns]")
    _figure_style.legend_below(ax, ncol=1, offset=0.16)
    ax = axes[1, 1]
    polarization = float(onp.mean(rates["polarization"]))
    ax.plot(t_ns, work[:, 0] * uj, "-", color="C0", label=r"$\int P_G\,dt$ (Gilbert)")
    ax.plot(t_ns, work[:, 1] * uj, "-", color="C3", lw=3.0, alpha=0.6, label=r"$\int P_{\rm DL,fl}\,dt$ (magnet, spin force)")
    ax.plot(t_ns, kappa * polarization * work[:, 4] * uj, "--", color="k", lw=1.3, marker="s", mfc="none", markevery=16,
            label=r"$\kappa n_p \int P_{\rm sf}\,dt$ (electrons, rescaled)")
    ax.set_title("(d) energy exchanged since $t = 0$")
    ax.set_ylabel(r"energy per area [$\mu$J m$^{-2}$]")
    ax.set_xlabel(r"time $t$ [ns]")
    _figure_style.legend_below(ax, ncol=1, offset=0.16)
    figure.suptitle(rf"Energy transfer with the exact-band torque: $\alpha$ = {ALPHA} eV nm ($\alpha k_F/J$ = 0.17), "
                    rf"$j$ = {_figure_style.sci(J_SI, 1)} A/m$^2$ along $x$, $\rho_0$ = {_figure_style.sci(RHO0, 1)} $\Omega$ m" "\n"
                    rf"magnet: $d$ = {THICKNESS:g} nm, $\mu_0 M_s$ = {MS:g} T, $\alpha_G$ = 0.02, only spin-orbit torque and Gilbert damping")
    out = _figure_style.save(figure, "energy_balance.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

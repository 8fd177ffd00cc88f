"""Switching diagram (current vs field) of an in-plane magnet driven by the Rashba spin-orbit torque.

jaxsot.simulate_llg on the batched path: one vmapped, adaptive (diffrax Tsit5) solve over a grid of
current densities j (along x) and external fields B_y (along the easy axis y), strong-exchange torque,
each trajectory stopped by the switching event (M_y < -0.5, root-found) or the stop criterion
(|dM/dt| < 1e-3 /ns). The field-like torque is the field B_fl = -(alpha n_p/(n_mu mu_B)) (Delta k x z),
along -y for j along +x, so a Stoner-Wohlfarth reversal from +y needs B_y + B_fl(j) < -B_K; the
damping-like torque (a_J ~ 1 % of gamma B_fl here) shifts that line slightly. A few grid points near the
line are rerun with the exact-band torque. Writes experiments/figures/llg_switching_diagram.png.
"""

import time

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import matplotlib.colors  # noqa: E402
import matplotlib.lines  # noqa: E402
import matplotlib.patches  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402

ALPHA, J_EX, FERMI_ENERGY = 0.05, 1.0, 1.5
RHO0, THICKNESS = 2.0e-7, 1.0  # ohm m, nm
B_K = 0.05  # T
CURRENTS = onp.linspace(-3e11, 3e11, 41)  # A/m^2
FIELDS = onp.linspace(-0.2, 0.1, 41)  # T


def drude_tau(n_total):
    return 9.1093837015e-31 * THICKNESS * 1e-9 / (RHO0 * 1.602176634e-19**2 * n_total * 1e18) * 1e15


def diagram(method, currents, fields, damping_like=True, paired=False):
    """Switched (bool) over the grid currents x fields (paired: the pairs (currents[i], fields[i]))."""
    j_grid, b_grid = (currents, fields) if paired else onp.meshgrid(currents, fields, indexing="ij")
    efield = jnp.stack([jnp.asarray(RHO0 * j_grid * 1e-9), jnp.zeros(j_grid.shape)], -1)
    probe = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI_ENERGY, jnp.zeros(2), 10.0)
    tau = drude_tau(float(probe.n_lower + probe.n_upper))
    torque = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI_ENERGY, efield, tau, method=method, damping_like=damping_like, num=32)
    field = jnp.stack([jnp.zeros(b_grid.shape), jnp.asarray(b_grid), jnp.zeros(b_grid.shape)], -1)
    magnet = jaxsot.Magnet(1.0, THICKNESS, 0.05, anisotropy_field=B_K, easy_axis=(0, 1, 0), external_field=field)
    started = time.perf_counter()
    result = jaxsot.simulate_llg(
        magnet, torque, jnp.asarray([0.02, 1.0, 0.01]), 5.0e6, num_save=2, rtol=1e-6, atol=1e-8,
        switch_axis=(0, 1, 0), switch_threshold=-0.5, stop_rate=1e-9, ledger=False, max_steps=50_000,
    )
    elapsed = time.perf_counter() - started
    assert bool(jnp.all(result.success))
    coefficient = float(jaxsot.strong_exchange_coefficients(jaxsot.Magnet(1.0, THICKNESS, 0.05), jaxsot.SpinOrbitTorque(
        ALPHA, J_EX, FERMI_ENERGY, jnp.asarray([RHO0 * 1e12 * 1e-9, 0.0]), tau))["field_like_field"][1])  # T per 1e12 A/m^2
    return onp.asarray(result.switched), result, elapsed, coefficient


def main():
    switched, result, elapsed, per_current = diagram("strong_exchange", CURRENTS, FIELDS)
    count = switched.size
    steps = onp.asarray(result.num_steps)
    print(f"{count} trajectories (strong exchange) in {elapsed:.1f} s incl. compile: {count / elapsed:.1f} trajectories/s; "
          f"steps per trajectory median {int(onp.median(steps))}, max {int(steps.max())}")
    print(f"field-like field B_fl = {per_current:.4f} T per 1e12 A/m^2 along y")
    # Stoner-Wohlfarth line: switched when B_y + B_fl(j) < -B_K.
    expected = FIELDS[None, :] + per_current * CURRENTS[:, None] / 1e12 < -B_K
    disagree = int(onp.sum(expected != switched))
    print(f"grid points where the LLG outcome differs from the Stoner-Wohlfarth line B_y + B_fl(j) = -B_K: {disagree} of {count}")
    off, _, _, _ = diagram("strong_exchange", CURRENTS, FIELDS, damping_like=False)
    print(f"grid points that change when the damping-like torque T2 is switched off: {int(onp.sum(off != switched))}")
    # Exact-band torque at points next to its own line: its field-like field differs from the
    # strong-exchange one at alpha k_F/J = 0.44 (fields just above/below the exact threshold). The
    # exact spin accumulation is ~ c(M) P_perp y: its coefficient c is read off at M = x.
    probe = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI_ENERGY, jnp.zeros(2), 10.0)
    tau = drude_tau(float(probe.n_lower + probe.n_upper))
    exact_torque = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI_ENERGY, jnp.asarray([RHO0 * 1e12 * 1e-9, 0.0]), tau, method="exact")
    exact_per_current = float(jaxsot.llg_diagnostics(jaxsot.Magnet(1.0, THICKNESS, 0.05), exact_torque, jnp.asarray([1.0, 0.0, 0.0]))["field_like_field"][1])
    print(f"exact-band field-like field (y component at M = x): {exact_per_current:.4f} T per 1e12 A/m^2 ({exact_per_current / per_current - 1:+.3f} relative)")
    picks_j = onp.array([-2e11, 1e11, 2.5e11])
    picks_b = -B_K - exact_per_current * picks_j / 1e12
    spots = []
    for j_value, b_value in zip(picks_j, picks_b):
        for db in (-0.004, 0.004):
            spots.append((j_value, b_value + db))
    spots = onp.array(spots)
    exact, exact_result, exact_time, _ = diagram("exact", spots[:, 0], spots[:, 1], paired=True)
    se, _, _, _ = diagram("strong_exchange", spots[:, 0], spots[:, 1], paired=True)
    print(f"exact-band torque ({len(spots)} trajectories, 32 rays per band) in {exact_time:.1f} s: switched {exact.tolist()}, "
          f"strong exchange {se.tolist()} (4 mT below/above the exact line)")

    plot(switched, per_current, exact_per_current, spots, exact)


def plot(switched, per_current, exact_per_current, spots, exact):
    """Outcome map (current density x field) with the Stoner-Wohlfarth lines and the exact-band spot checks."""
    plt = _figure_style.pyplot()
    figure, ax = plt.subplots(figsize=(10.5, 6.0))
    unit_j = 1e11  # A/m^2 on the axis
    extent = [CURRENTS[0] / unit_j, CURRENTS[-1] / unit_j, FIELDS[0] * 1e3, FIELDS[-1] * 1e3]
    colors = matplotlib.colors.ListedColormap(["#c6dbef", "#fcbba1"])  # not switched, switched
    ax.imshow(switched.T.astype(float), origin="lower", extent=extent, aspect="auto", cmap=colors, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    j_line = CURRENTS / 1e12
    ax.plot(CURRENTS / unit_j, (-B_K - per_current * j_line) * 1e3, "k--", lw=1.6)
    ax.plot(CURRENTS / unit_j, (-B_K - exact_per_current * j_line) * 1e3, ":", color="0.2", lw=2.0)
    done = onp.asarray(exact, bool)
    ax.plot(spots[done, 0] / unit_j, spots[done, 1] * 1e3, "o", ms=8, mfc="w", mec="k", mew=1.5)
    ax.plot(spots[~done, 0] / unit_j, spots[~done, 1] * 1e3, "o", ms=8, mfc="k", mec="k")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel(r"current density $j_x$ [$10^{11}$ A m$^{-2}$]")
    ax.set_ylabel(r"external field $B_y$ along the easy axis [mT]")
    ax.set_title(f"{switched.size} LLG trajectories in one batch, strong-exchange torque", fontsize=11.5)
    patch, line = matplotlib.patches.Patch, matplotlib.lines.Line2D
    handles = [
        patch(facecolor="#fcbba1", edgecolor="0.5", label=r"switched: $M_y$ crossed $-0.5$"),
        patch(facecolor="#c6dbef", edgecolor="0.5", label=r"not switched ($\mathbf{M}$ stays near $+\hat{y}$)"),
        line([], [], color="k", ls="--", lw=1.6,
             label="Stoner-Wohlfarth line\n" rf"$B_y + B_{{\rm fl}}(j) = -B_K$, $B_{{\rm fl}}$ = {per_current * 1e3:.0f} mT" "\n"
                   r"per $10^{12}$ A m$^{-2}$ (strong exchange)"),
        line([], [], color="0.2", ls=":", lw=2.0, label=f"same line with the exact-band\n$B_{{\\rm fl}}$ = {exact_per_current * 1e3:.0f} mT per $10^{{12}}$ A m$^{{-2}}$"),
        line([], [], ls="none", marker="o", ms=8, mfc="w", mec="k", mew=1.5, label="exact-band torque: switched"),
        line([], [], ls="none", marker="o", ms=8, mfc="k", mec="k", label="exact-band torque: not switched"),
    ]
    _figure_style.legend_right(ax, handles=handles)
    figure.suptitle(r"Current-induced switching of an in-plane magnet starting along $+\hat{y}$" "\n"
                    rf"easy axis $y$, $B_K$ = {B_K * 1e3:.0f} mT, $\mu_0 M_s$ = 1 T, $d$ = {THICKNESS:g} nm, $\alpha_G$ = 0.05; "
                    rf"$\alpha$ = {ALPHA} eV nm, $J$ = {J_EX:g} eV, $E_F$ = {FERMI_ENERGY} eV, $\rho_0$ = {_figure_style.sci(RHO0, 1)} $\Omega$ m",
                    fontsize=12)
    out = _figure_style.save(figure, "llg_switching_diagram.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

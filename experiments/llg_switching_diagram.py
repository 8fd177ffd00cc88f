"""Switching diagram (current vs field) of an in-plane magnet driven by the Rashba spin-orbit torque.

jaxsot.simulate_llg on the batched path: one vmapped, adaptive (diffrax Tsit5) solve over a grid of
current densities j (along x) and external fields B_y (along the easy axis y), strong-exchange torque,
each trajectory stopped by the switching event (M_y < -0.5, root-found) or the stop criterion
(|dM/dt| < 1e-3 /ns). The field-like torque is the field B_fl = -(alpha n_p/(n_mu mu_B)) (Delta k x z),
along -y for j along +x, so a Stoner-Wohlfarth reversal from +y needs B_y + B_fl(j) < -B_K; the
damping-like torque (a_J ~ 1 % of gamma B_fl here) shifts that line slightly. A few grid points near the
line are rerun with the exact-band torque. Writes experiments/figures/llg_switching_diagram.png.
"""

import pathlib
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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

    figure, ax = plt.subplots(figsize=(6.5, 5.2))
    extent = [CURRENTS[0] / 1e12, CURRENTS[-1] / 1e12, FIELDS[0], FIELDS[-1]]
    ax.imshow(switched.T.astype(float), origin="lower", extent=extent, aspect="auto", cmap="coolwarm", vmin=-0.3, vmax=1.3)
    line = -B_K - per_current * CURRENTS / 1e12
    ax.plot(CURRENTS / 1e12, line, "k--", lw=1.2, label="Stoner-Wohlfarth: B_y + B_fl(j) = -B_K")
    ax.plot(CURRENTS / 1e12, -B_K - exact_per_current * CURRENTS / 1e12, "k:", lw=1.2, label="same with the exact-band B_fl")
    ax.scatter(spots[:, 0] / 1e12, spots[:, 1], c=["w" if s else "k" for s in exact], edgecolors="k", s=30, label="exact-band torque (white: switched)")
    ax.set_ylim(FIELDS[0], FIELDS[-1])
    ax.set_xlabel("current density j [1e12 A/m^2] (along x)")
    ax.set_ylabel("external field B_y [T]")
    ax.set_title("Switching from +y (red: switched), strong-exchange torque, 41 x 41 batch", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    out = pathlib.Path(__file__).parent / "figures" / "llg_switching_diagram.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Harmonic Hall signals of the Rashba ferromagnet: what a lock-in measures, from the microscopic model.

Hall bar with j(t) = j0 sin(w t) along x, j0 = 1e11 A/m^2, rho0 = 2e-7 ohm m, t_F = 1 nm, mu0 M_s = 1 T;
R_AHE = 1 ohm, R_PHE = 0.1 ohm. Electrons: alpha = 0.05 eV nm, J = 1 eV, E_F = 1.5 eV (both bands,
alpha k_F/J = 0.41), tau from the Drude relation tau = m t_F/(rho0 e^2 n) (as `jaxsot llg`). jaxsot
(`jaxsot._measure`) computes the SOT fields B_FL(M), B_DL(M) from the exact bands and from the strong-exchange
closed forms, the quasi-static equilibrium M0(B) with its first-order response to the current
(implicit-function theorem), and R_1w = R_H(M0), R_2w = grad R_H . dM/2 (lock-in reference sin(w t);
R_2w is the amplitude of -cos(2 w t)). Two magnets, in-plane fields at four magnitudes vs phi_H:
- perpendicular: B_K = 1.5 T along z (B_K,eff = B_K - mu0 M_s = 0.5 T), fields below B_K,eff;
- in-plane: easy axis along x, B_K = 0.02 T, thin-film shape (easy plane), fields above B_K.
The time-domain route (LLG under the AC current, demodulated like a lock-in) is run at a few points
as a check. Writes experiments/figures/harmonic_hall.png and prints the numbers.
"""

import math
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
from jaxsot import REFERENCE_CURRENT, drude_tau, effective_fields, harmonic_hall, lockin_harmonics  # noqa: E402

ALPHA, J_EX, FERMI = 0.05, 1.0, 1.5
RHO0, CURRENT, MS, THICKNESS = 2.0e-7, 1.0e11, 1.0, 1.0
HALL = dict(r_ahe=1.0, r_phe=0.1)
MAGNETS = {
    "perpendicular (B_K,eff = 0.5 T)": (dict(anisotropy_field=1.5), (0.05, 0.1, 0.2, 0.3)),
    "in-plane (easy x, B_K = 0.02 T)": (dict(anisotropy_field=0.02, easy_axis=(1.0, 0.0, 0.0)), (0.05, 0.1, 0.2, 0.4)),
}


def main():
    started = time.perf_counter()
    tau = float(drude_tau(ALPHA, J_EX, FERMI, THICKNESS, RHO0))
    efield = jnp.asarray([RHO0 * CURRENT * 1e-9, 0.0])
    torques = {m: jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI, efield, tau, method=m, num=64) for m in ("exact", "strong_exchange")}
    print(f"alpha = {ALPHA} eV nm, J = {J_EX} eV, E_F = {FERMI} eV, tau (Drude) = {tau:.3f} fs, j0 = {CURRENT:.0e} A/m^2")
    magnet = jaxsot.Magnet(MS, THICKNESS, 0.05)
    probes = onp.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, math.sqrt(0.5), math.sqrt(0.5)]])
    fields = effective_fields(magnet, torques["exact"], probes, RHO0)
    per = REFERENCE_CURRENT * 1e3
    print("effective fields per 1e11 A/m^2 [mT] and efficiencies (B_FL^s along y, B_DL^s along M x y):")
    for i, name in enumerate(("M = z", "M = x", "M = (y + z)/sqrt2")):
        e, s = fields.exact, fields.strong_exchange
        print(
            f"  {name:<18} B_FL exact {float(e.field_like_per_current[i]) * per:8.4f} (strong {float(s.field_like_per_current[i]) * per:8.4f}), "
            f"B_DL exact {float(e.damping_like_per_current[i]) * per:8.5f} (strong {float(s.damping_like_per_current[i]) * per:8.5f}); "
            f"xi_FL {float(e.field_like_efficiency[i]):.4f}, xi_DL {float(e.damping_like_efficiency[i]):.5f} "
            f"(strong {float(s.field_like_efficiency[i]):.4f}, {float(s.damping_like_efficiency[i]):.5f})"
        )

    phi = onp.linspace(0.0, 2.0 * math.pi, 73)
    figure, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True)
    checks = []
    for row, (label, (kwargs, magnitudes)) in enumerate(MAGNETS.items()):
        mag = jaxsot.Magnet(MS, THICKNESS, 1.0, **kwargs)
        for k, b in enumerate(magnitudes):
            out = {m: harmonic_hall(mag, torques[m], RHO0, phi, b, **HALL) for m in torques}
            assert bool(jnp.all(out["exact"].converged))
            r1, r2 = onp.asarray(out["exact"].r_1w), onp.asarray(out["exact"].r_2w)
            r2s = onp.asarray(out["strong_exchange"].r_2w)
            axes[row, 0].plot(onp.degrees(phi), r1, color=f"C{k}", label=f"B = {b} T")
            axes[row, 1].plot(onp.degrees(phi), r2 * 1e3, color=f"C{k}", label=f"B = {b} T, exact")
            axes[row, 1].plot(onp.degrees(phi), r2s * 1e3, "--", color=f"C{k}", lw=1)
            print(
                f"{label}, B = {b} T: max |R_2w| exact {onp.max(onp.abs(r2)) * 1e3:.4f} mohm, strong exchange "
                f"{onp.max(onp.abs(r2s)) * 1e3:.4f} mohm (exact/strong {onp.max(onp.abs(r2)) / onp.max(onp.abs(r2s)):.3f})"
            )
        # Time-domain check at B = magnitudes[2], four angles (exact torque in the LLG; alpha_G = 1).
        b = magnitudes[2]
        angles = onp.radians([20.0, 110.0, 200.0, 290.0])
        quasi = harmonic_hall(mag, torques["exact"], RHO0, angles, b, **HALL)
        lock = lockin_harmonics(mag, torques["exact"], angles, b, frequency=1.5e7, periods=2, settle_periods=1, **HALL)
        axes[row, 1].plot(onp.degrees(angles), onp.asarray(lock.r_2w) * 1e3, "kx", ms=8, label=f"time domain (lock-in), B = {b} T")
        rel = onp.abs(onp.asarray(lock.r_2w) - onp.asarray(quasi.r_2w)) / onp.abs(onp.asarray(quasi.r_2w))
        # The quasi-static harmonics are first order in j0; the rest of the difference is O((B_SO/B_stiffness)^2):
        # a quarter of the current leaves 1/16 of it.
        quarter = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI, efield / 4.0, tau, method="exact", num=64)
        quasi_q = harmonic_hall(mag, quarter, RHO0, angles, b, **HALL)
        lock_q = lockin_harmonics(mag, quarter, angles, b, frequency=1.5e7, periods=2, settle_periods=1, **HALL)
        rel_q = onp.abs(onp.asarray(lock_q.r_2w) - onp.asarray(quasi_q.r_2w)) / onp.abs(onp.asarray(quasi_q.r_2w))
        checks.append((label, b, float(onp.max(rel)), float(onp.max(onp.abs(onp.asarray(lock.r_1w) - onp.asarray(quasi.r_1w)))), float(onp.max(rel_q))))
        axes[row, 0].set_ylabel(f"R_1w [ohm]\n{label}")
        axes[row, 1].set_ylabel("R_2w [mohm]")
        axes[row, 0].legend(fontsize=8)
        axes[row, 1].legend(fontsize=7)
        for ax in axes[row]:
            ax.grid(alpha=0.3)
    for label, b, rel, abs1, rel_q in checks:
        print(
            f"time domain vs quasi-static ({label}, B = {b} T, 4 angles, 15 MHz): max |dR_2w|/|R_2w| = {rel:.1e} at j0, "
            f"{rel_q:.1e} at j0/4; max |dR_1w| = {abs1:.1e} ohm at j0"
        )
    for ax in axes[1]:
        ax.set_xlabel("phi_H [deg]")
    axes[0, 1].set_title("solid: exact bands, dashed: strong exchange", fontsize=10)
    figure.suptitle(f"harmonic Hall, j0 = 1e11 A/m^2, alpha k_F/J = 0.41, tau = {tau:.1f} fs", fontsize=11)
    figure.tight_layout()
    out = pathlib.Path(__file__).parent / "figures" / "harmonic_hall.png"
    out.parent.mkdir(exist_ok=True)
    figure.savefig(out, dpi=110)
    print(f"wrote {out} ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()

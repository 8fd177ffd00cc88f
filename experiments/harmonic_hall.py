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
import time

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import matplotlib.lines  # noqa: E402
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
    checks, rows = [], {}
    for label, (kwargs, magnitudes) in MAGNETS.items():
        mag = jaxsot.Magnet(MS, THICKNESS, 1.0, **kwargs)
        curves = []
        for b in magnitudes:
            out = {m: harmonic_hall(mag, torques[m], RHO0, phi, b, **HALL) for m in torques}
            assert bool(jnp.all(out["exact"].converged))
            r1, r2 = onp.asarray(out["exact"].r_1w), onp.asarray(out["exact"].r_2w)
            r2s = onp.asarray(out["strong_exchange"].r_2w)
            curves.append((b, r1, r2, r2s))
            print(
                f"{label}, B = {b} T: max |R_2w| exact {onp.max(onp.abs(r2)) * 1e3:.4f} mohm, strong exchange "
                f"{onp.max(onp.abs(r2s)) * 1e3:.4f} mohm (exact/strong {onp.max(onp.abs(r2)) / onp.max(onp.abs(r2s)):.3f})"
            )
        # Time-domain check at B = magnitudes[2], four angles (exact torque in the LLG; alpha_G = 1).
        b = magnitudes[2]
        angles = onp.radians([20.0, 110.0, 200.0, 290.0])
        quasi = harmonic_hall(mag, torques["exact"], RHO0, angles, b, **HALL)
        lock = lockin_harmonics(mag, torques["exact"], angles, b, frequency=1.5e7, periods=2, settle_periods=1, **HALL)
        rel = onp.abs(onp.asarray(lock.r_2w) - onp.asarray(quasi.r_2w)) / onp.abs(onp.asarray(quasi.r_2w))
        # The quasi-static harmonics are first order in j0; the rest of the difference is O((B_SO/B_stiffness)^2):
        # a quarter of the current leaves 1/16 of it.
        quarter = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI, efield / 4.0, tau, method="exact", num=64)
        quasi_q = harmonic_hall(mag, quarter, RHO0, angles, b, **HALL)
        lock_q = lockin_harmonics(mag, quarter, angles, b, frequency=1.5e7, periods=2, settle_periods=1, **HALL)
        rel_q = onp.abs(onp.asarray(lock_q.r_2w) - onp.asarray(quasi_q.r_2w)) / onp.abs(onp.asarray(quasi_q.r_2w))
        checks.append((label, b, float(onp.max(rel)), float(onp.max(onp.abs(onp.asarray(lock.r_1w) - onp.asarray(quasi.r_1w)))), float(onp.max(rel_q))))
        rows[label] = (curves, (b, onp.degrees(angles), onp.asarray(lock.r_2w)))
    for label, b, rel, abs1, rel_q in checks:
        print(
            f"time domain vs quasi-static ({label}, B = {b} T, 4 angles, 15 MHz): max |dR_2w|/|R_2w| = {rel:.1e} at j0, "
            f"{rel_q:.1e} at j0/4; max |dR_1w| = {abs1:.1e} ohm at j0"
        )
    at_z = (float(fields.exact.field_like_per_current[0]) * per, float(fields.exact.damping_like_per_current[0]) * per)
    out = plot(onp.degrees(phi), rows, tau, at_z)
    print(f"wrote {out} ({time.perf_counter() - started:.1f} s)")


def plot(phi_deg, rows, tau, at_z):
    """2 x 2: R_1w and R_2w vs the field angle, perpendicular (top) and in-plane (bottom) magnet."""
    plt = _figure_style.pyplot()
    figure, axes = plt.subplots(2, 2, figsize=(15, 9.5), sharex=True)
    line = matplotlib.lines.Line2D
    titles = {
        "perpendicular (B_K,eff = 0.5 T)": r"perpendicular magnet, $B_{K,\rm eff} = B_K - \mu_0 M_s$ = 0.5 T",
        "in-plane (easy x, B_K = 0.02 T)": r"in-plane magnet, easy axis $x$, $B_K$ = 20 mT",
    }
    for row, (label, (curves, (b_check, check_deg, check_r2))) in enumerate(rows.items()):
        left, right = axes[row]
        handles = []
        for k, (b, r1, r2, r2s) in enumerate(curves):
            # Curves of neighbouring fields nearly coincide (in-plane R_1w): wider lines underneath.
            color, width = f"C{k}", (3.6, 2.7, 2.0, 1.4)[k]
            left.plot(phi_deg, r1, "-", color=color, lw=width)
            right.plot(phi_deg, r2 * 1e3, "-", color=color, lw=width)
            right.plot(phi_deg, r2s * 1e3, "--", color=color, lw=1.2)
            handles.append(line([], [], color=color, lw=width, label=f"$B$ = {b * 1e3:.0f} mT"))
        right.plot(check_deg, check_r2 * 1e3, "kx", ms=10, mew=2.0)
        handles += [
            line([], [], color="k", label="exact bands"),
            line([], [], color="k", ls="--", lw=1.2, label=r"strong exchange ($R_{2\omega}$)"),
            line([], [], color="k", ls="none", marker="x", ms=10, mew=2.0,
                 label=f"time-domain LLG + lock-in,\n$B$ = {b_check * 1e3:.0f} mT, 15 MHz"),
        ]
        left.set_ylabel(r"first harmonic $R_{1\omega}$ [$\Omega$]")
        right.set_ylabel(r"second harmonic $R_{2\omega}$ [m$\Omega$]")
        left.set_title(titles[label] + r": $R_{1\omega}$")
        right.set_title(titles[label] + r": $R_{2\omega}$")
        _figure_style.legend_right(right, handles=handles, title="both panels of the row")
    for ax in axes[1]:
        ax.set_xlabel(r"in-plane field angle $\varphi_H$ from the current ($x$) [deg]")
        ax.set_xticks(range(0, 361, 90))
    b_fl, b_dl = at_z
    figure.suptitle(r"Harmonic Hall signals, $j(t) = j_0 \sin\omega t$ along $x$, $j_0 = 10^{11}$ A/m$^2$, "
                    r"$R_{\rm AHE}$ = 1 $\Omega$, $R_{\rm PHE}$ = 0.1 $\Omega$" "\n"
                    rf"$\alpha$ = {ALPHA} eV nm, $J$ = {J_EX:g} eV, $E_F$ = {FERMI} eV ($\alpha k_F/J$ = 0.41), Drude $\tau$ = {tau:.1f} fs; "
                    rf"at $\mathbf{{M}} \parallel \hat{{z}}$: $B_{{\rm FL}}$ = {b_fl:.1f} mT, $B_{{\rm DL}}$ = {b_dl:.2f} mT per $10^{{11}}$ A/m$^2$")
    return _figure_style.save(figure, "harmonic_hall.png")


if __name__ == "__main__":
    main()

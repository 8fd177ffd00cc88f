"""Anisotropic torque coefficients of the Rashba ferromagnet: how the higher angular orders grow with alpha k_F/J.

Harmonic-measurement analyses (Garello et al., Nat. Nanotech. 8, 587 (2013)) expand the spin-orbit
torques over the direction of M in powers of sin^2(theta) = |z x M|^2. jaxsot (`jaxsot._measure`) writes
the current-induced fields per current density as (current along x, y = z x x)

    b_FL = P_perp y [F0 + F2 s^2 + F4 s^4 + ...] + (z x M)(M.x) [G2 + G4 s^2 + ...]
    b_DL = (M x y)  [D0 + D2 s^2 + D4 s^4 + ...] + M x (z x M)(M.x) [H2 + H4 s^2 + ...]

(T_X = -gamma M x b_X j; a complete basis for this symmetry, docs: Theory > Harmonic Hall) and projects
the exact-band fields (`effective_fields`, Fermi-contour fluxes) on it by least squares over a sphere
grid. Claim checked: the strong-exchange limit (J >> alpha k_F, the papers' eq. 14/A1) has only F0, D0;
the exact bands add higher orders that grow as (alpha k_F/J)^2 (s^2 terms) and (alpha k_F/J)^4 (s^4).
J = 1 eV, E_F = 1.5 eV (both bands), tau = 10 fs, rho0 = 2e-7 ohm m, 1 nm, mu0 M_s = 1 T.
Writes experiments/figures/torque_harmonics.png and prints the table.
"""

import math

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot import REFERENCE_CURRENT, effective_fields, torque_coefficients  # noqa: E402

J_EX, FERMI, TAU, RHO0, CURRENT = 1.0, 1.5, 10.0, 2.0e-7, 1.0e11
ALPHAS = (0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1)
ORDER = 3
HBAR = 0.6582119569  # eV fs


def fermi_wavevector(alpha):
    """Lower-band k_F at M || z [1/nm] from its density n = k_F^2/(4 pi)."""
    torque = jaxsot.SpinOrbitTorque(alpha, J_EX, FERMI, (1.0, 0.0), TAU)
    return math.sqrt(4.0 * math.pi * float(torque.n_lower))


def main():
    magnet = jaxsot.Magnet(1.0, 1.0, 0.05)
    efield = jnp.asarray([RHO0 * CURRENT * 1e-9, 0.0])
    rows, strong_rows = [], []
    for alpha in ALPHAS:
        torque = jaxsot.SpinOrbitTorque(alpha, J_EX, FERMI, efield, TAU, method="exact", num=64)
        exact = torque_coefficients(magnet, torque, RHO0, order=ORDER, num_theta=12, num_phi=16)
        c, residual = exact.as_dict(), float(exact.field_like_residual)
        s = torque_coefficients(magnet, torque, RHO0, method="strong_exchange", order=ORDER).as_dict()
        x = alpha * fermi_wavevector(alpha) / J_EX
        rows.append((alpha, x, c, residual))
        higher = max(abs(v) for k, v in s.items() if k not in ("F0", "D0"))
        strong_rows.append((s["F0"], s["D0"], higher / abs(s["F0"])))

    per = REFERENCE_CURRENT * 1e3  # mT per 1e11 A/m^2
    print(f"J = {J_EX} eV, E_F = {FERMI} eV, tau = {TAU} fs, rho0 = {RHO0} ohm m, 1 nm, mu0 M_s = 1 T; order N = {ORDER}")
    print("| alpha [eV nm] | alpha k_F/J | F0 [mT/1e11 A/m^2] | F0 strong | F2/F0 | F4/F0 | G2/F0 | G4/F0 | D0 [mT/1e11] | D2/D0 | H2/D0 | D0/F0 x 2J tau/hbar | residual |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (alpha, x, c, residual), (f0s, _, _) in zip(rows, strong_rows):
        print(
            f"| {alpha:g} | {x:.3f} | {c['F0'] * per:.4g} | {f0s * per:.4g} | {c['F2'] / c['F0']:.3e} | {c['F4'] / c['F0']:.3e} | "
            f"{c['G2'] / c['F0']:.3e} | {c['G4'] / c['F0']:.3e} | {c['D0'] * per:.4g} | {c['D2'] / c['D0']:.3e} | {c['H2'] / c['D0']:.3e} | "
            f"{c['D0'] / c['F0'] * 2 * J_EX * TAU / HBAR:.6f} | {residual:.1e} |"
        )
    print(f"strong exchange: max |higher-order coefficient|/|F0| over all alpha = {max(r[2] for r in strong_rows):.1e} (only F0, D0)")
    xs = onp.array([r[1] for r in rows])
    f2 = onp.array([abs(r[2]["F2"] / r[2]["F0"]) for r in rows])
    f4 = onp.array([abs(r[2]["F4"] / r[2]["F0"]) for r in rows])
    g2 = onp.array([abs(r[2]["G2"] / r[2]["F0"]) for r in rows])
    small = xs < 0.2
    slope2 = onp.polyfit(onp.log(xs[small]), onp.log(f2[small]), 1)[0]
    slope4 = onp.polyfit(onp.log(xs[small]), onp.log(f4[small]), 1)[0]
    print(f"fitted orders below alpha k_F/J = 0.2: F2/F0 ~ (alpha k_F/J)^{slope2:.2f}, F4/F0 ~ (alpha k_F/J)^{slope4:.2f}")
    print(f"F2/F0 / (alpha k_F/J)^2 = {', '.join(f'{v:.3f}' for v in f2 / xs**2)}")

    # Angular dependence of the field-like field along e_theta (the anisotropic part) at phi = 90 deg, and
    # of its e_phi part at phi = 0, normalized by the strong-exchange value.
    theta = onp.linspace(0.0, math.pi, 61)
    angular = {}
    for alpha in (0.02, 0.06, 0.1):
        torque = jaxsot.SpinOrbitTorque(alpha, J_EX, FERMI, efield, TAU, method="exact", num=64)
        m_t = onp.stack([onp.zeros_like(theta), onp.sin(theta), onp.cos(theta)], -1)  # phi = 90 deg
        m_p = onp.stack([onp.sin(theta), onp.zeros_like(theta), onp.cos(theta)], -1)  # phi = 0
        res = effective_fields(magnet, torque, onp.concatenate([m_t, m_p]), RHO0)
        fl, se = onp.asarray(res.exact.field_like), onp.asarray(res.strong_exchange.field_like)
        e_theta = onp.stack([onp.zeros_like(theta), onp.cos(theta), -onp.sin(theta)], -1)
        e_phi = onp.array([0.0, 1.0, 0.0])
        with onp.errstate(invalid="ignore", divide="ignore"):
            ratio_t = onp.sum(fl[:61] * e_theta, -1) / onp.sum(se[:61] * e_theta, -1)
        ratio_p = (fl[61:] @ e_phi) / (se[61:] @ e_phi)
        f0_strong = dict(zip(ALPHAS, (r[0] for r in strong_rows)))[alpha] * per  # mT per 1e11 A/m^2
        angular[alpha] = (alpha * fermi_wavevector(alpha) / J_EX, f0_strong, ratio_t, ratio_p)
    f4_sign = onp.array([onp.sign(r[2]["F4"] / r[2]["F0"]) for r in rows])
    plot(xs, f2, g2, f4, f4_sign, onp.degrees(theta), angular)


def plot(xs, f2, g2, f4, f4_sign, theta_deg, angular):
    """Left: higher-order / lowest-order coefficients vs alpha k_F/J; right: B_FL(theta) exact / strong exchange."""
    plt = _figure_style.pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(14, 7.6))
    ax = axes[0]
    # |F2/F0| and |G2/F0| nearly coincide (G2 = -F2 at small alpha): filled circles vs large open squares.
    ax.loglog(xs, f2, "o-", color="C0", ms=6, label=r"$|F_2/F_0|$: $s^2$ term of the $P_\perp\hat{y}$ structure")
    ax.loglog(xs, g2, "s--", color="C1", ms=12, mfc="none", mew=1.4, lw=1.3,
              label=r"$|G_2/F_0|$: $(\hat{z}\times\mathbf{M})(\mathbf{M}\cdot\hat{x})$ structure")
    # F4 changes sign near alpha k_F/J = 0.6 (where the order-3 expansion stops converging): open markers.
    ax.loglog(xs, f4, "-", color="C2")
    ax.loglog(xs[f4_sign > 0], f4[f4_sign > 0], "^", color="C2", ms=7, label=r"$|F_4/F_0|$: $s^4$ term ($F_4/F_0 > 0$)")
    ax.loglog(xs[f4_sign < 0], f4[f4_sign < 0], "^", color="C2", ms=8, mfc="none", mew=1.4, label=r"$|F_4/F_0|$ where $F_4/F_0 < 0$")
    ax.loglog(xs, f2[2] * (xs / xs[2]) ** 2, ":", color="k", lw=1.2, label=r"slope 2: $\propto (\alpha k_F/J)^2$")
    ax.loglog(xs, f4[2] * (xs / xs[2]) ** 4, "-.", color="k", lw=1.2, label=r"slope 4: $\propto (\alpha k_F/J)^4$")
    ax.set_xlabel(r"Rashba-to-exchange ratio $\alpha k_F/J$ (dimensionless)")
    ax.set_xticks([0.05, 0.1, 0.2, 0.5, 1.0], ["0.05", "0.1", "0.2", "0.5", "1"])
    ax.set_ylabel("higher-order / lowest-order coefficient\n(dimensionless)")
    ax.set_title(r"Exact bands ($D_n/D_0 = F_n/F_0$; strong exchange: all zero)", fontsize=11.5)
    ax.grid(alpha=0.3, which="both")
    _figure_style.legend_below(ax, ncol=1, offset=0.15)
    ax = axes[1]
    strong = []
    for k, ((ratio, f0_strong, ratio_t, ratio_p), color) in enumerate(zip(angular.values(), ("C0", "C1", "C2"))):
        ax.plot(theta_deg, ratio_t, "-", color=color, label=rf"$\alpha k_F/J$ = {ratio:.2f}: $\hat{{e}}_\theta$ part, $\mathbf{{M}}$ in y-z")
        ax.plot(theta_deg, ratio_p, "--", color=color, lw=2.2, marker="o", ms=5, mfc="none", markevery=(3 * k + 2, 10),
                label=rf"$\alpha k_F/J$ = {ratio:.2f}: $\hat{{e}}_\varphi$ part, $\mathbf{{M}}$ in x-z")
        strong.append(f"{abs(f0_strong):.0f}")
    ax.set_xlabel(r"polar angle $\theta$ of $\mathbf{M}$ [deg]")
    ax.set_ylabel(r"field-like field $B_{\rm FL}$: exact / strong exchange" "\n(dimensionless)")
    ax.set_xticks(range(0, 181, 30))
    ax.set_title("Angular dependence of the field-like field\n" r"(strong exchange: $|B_{\rm FL}|$ = " + ", ".join(strong)
                 + r" mT per $10^{11}$ A/m$^2$)", fontsize=11.5)
    _figure_style.legend_below(ax, ncol=3, offset=0.15, fontsize=9.5)
    figure.suptitle(rf"Anisotropic spin-orbit torque coefficients: $J$ = {J_EX:g} eV, $E_F$ = {FERMI} eV (both bands), $\tau$ = {TAU:g} fs, "
                    rf"$j$ = $10^{{11}}$ A/m$^2$ along $x$" "\n"
                    rf"$\rho_0$ = {_figure_style.sci(RHO0, 1)} $\Omega$ m, film $d$ = 1 nm, $\mu_0 M_s$ = 1 T; "
                    r"fields per current $b_{\rm FL} = P_\perp\hat{y}\,[F_0 + F_2 s^2 + F_4 s^4] + (\hat{z}\times\mathbf{M})(\mathbf{M}\cdot\hat{x})[G_2 + \dots]$, "
                    r"$s = \sin\theta$")
    out = _figure_style.save(figure, "torque_harmonics.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Claim: the second-order (paper eq. 12) and strong-exchange (eq. 13/14) forms approach the exact
result as alpha k_F / J -> 0.

Sweeps alpha over two decades at fixed J, E_F and a general M direction, computes the relative error
of the ensemble damping-like torque T2 and of the spin-force density (exact: contour route) against
the approximations summed over the sea (second order: Fermi-sea quadrature of eq. 12; strong exchange:
n_s times the k-independent eq. 13/14), and fits the order p in error ~ (alpha k_F/J)^p.
Writes experiments/figures/approximation_error.png and prints the fitted orders.
"""


import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402

J_EX, FERMI_ENERGY, THETA, PHI = 1.0, 1.5, 1.0, 0.5  # both bands occupied
EFIELD = jnp.array([1e-4, 0.0])


def errors(alpha):
    model = jaxsot.RashbaFerromagnet.from_angles(alpha, J_EX, THETA, PHI)
    times = jnp.array([0.0, 1e-3])
    result = jaxsot.simulate(model, FERMI_ENERGY, jaxsot.StepDrive(EFIELD), times, num_phi=128, num_r=24)
    radius = max(
        float(jnp.max(jnp.linalg.norm(jaxsot.fermi_contour(model, FERMI_ENERGY, b, 128)[0], axis=-1)))
        for b in jaxsot.occupied_bands(model, FERMI_ENERGY)
    )
    row = {"ratio": alpha * radius / J_EX}
    for name in ("damping_torque", "spin_force_density"):
        for approx in ("second_order", "strong_exchange"):
            row[f"{name}/{approx}"] = result.relative_error(name, approx)
    return row


LABELS = {  # key of `errors` -> (legend label, style)
    "damping_torque/second_order": (r"damping-like torque $T_2$, second order (eq. 12)", dict(color="C0", ls="-", marker="o", ms=5)),
    "spin_force_density/second_order": (r"spin-force density, second order (eq. 12)",
                                        dict(color="C0", ls="--", marker="s", ms=10, mfc="none", mew=1.3, lw=1.2)),
    "damping_torque/strong_exchange": (r"damping-like torque $T_2$, strong exchange (eq. 13/14)", dict(color="C3", ls="-", marker="^", ms=5)),
    "spin_force_density/strong_exchange": (r"spin-force density, strong exchange (eq. 13/14)",
                                           dict(color="C3", ls="--", marker="D", ms=10, mfc="none", mew=1.3, lw=1.2)),
}


def main():
    alphas = onp.geomspace(0.002, 0.1, 12)
    rows = [errors(a) for a in alphas]
    ratio = onp.array([r["ratio"] for r in rows])
    keys = [k for k in rows[0] if k != "ratio"]
    print(f"{'alpha k_F/J':>12} " + " ".join(f"{k:>34}" for k in keys))
    for r in rows:
        print(f"{r['ratio']:12.4g} " + " ".join(f"{r[k]:34.3e}" for k in keys))
    small = ratio < 0.1
    curves = {}
    for key in keys:
        values = onp.array([r[key] for r in rows])
        order = onp.polyfit(onp.log(ratio[small]), onp.log(values[small]), 1)[0]
        print(f"fitted order of {key} for alpha k_F/J < 0.1: {order:.3f}")
        curves[key] = (values, order)
    plot(alphas, ratio, curves)


def plot(alphas, ratio, curves):
    """Relative errors vs alpha k_F/J (bottom axis) and alpha (top axis), log-log."""
    plt = _figure_style.pyplot()
    figure, ax = plt.subplots(figsize=(8.2, 7.4))
    for key, (label, style) in LABELS.items():
        values, order = curves[key]
        ax.loglog(ratio, values, label=f"{label}: order {order:.2f}", **style)
    # The errors of T2 and of the spin-force density agree within 3-6 % (T2 follows from the spin force,
    # damping_torque_from_spin_force): open markers around the filled ones keep both visible.
    guide = curves["damping_torque/second_order"][0][0] * (ratio / ratio[0]) ** 2
    ax.loglog(ratio, guide / 3, ":", color="0.4", lw=1.2, label=r"slope 2: $\propto (\alpha k_F/J)^2$ (shifted down 3x)")
    ax.set_xlabel(r"Rashba-to-exchange ratio $\alpha k_F/J$ (dimensionless; largest $k_F$ of the occupied bands)")
    ax.set_ylabel(r"relative error $|X_{\rm approx} - X_{\rm exact}|\,/\,|X_{\rm exact}|$" "\n(largest over time; dimensionless)")
    # k_F changes little with alpha: alpha = c (alpha k_F/J)^p is a smooth map for the top axis.
    power, log_c = onp.polyfit(onp.log(ratio), onp.log(alphas), 1)
    top = ax.secondary_xaxis("top", functions=(lambda x: onp.exp(log_c) * x**power, lambda a: (a / onp.exp(log_c)) ** (1 / power)))
    top.set_xlabel(r"Rashba coupling $\alpha$ [eV nm]")
    top.set_xticks([0.002, 0.005, 0.01, 0.02, 0.05, 0.1], ["0.002", "0.005", "0.01", "0.02", "0.05", "0.1"])
    ax.grid(alpha=0.3, which="both")
    ax.set_xticks([0.02, 0.05, 0.1, 0.2, 0.5, 1.0], ["0.02", "0.05", "0.1", "0.2", "0.5", "1"])
    _figure_style.legend_below(ax, ncol=1, offset=0.14)
    ax.set_title(r"Error of the papers' approximations vs the exact bands" "\n"
                 r"$J$ = 1 eV, $E_F$ = 1.5 eV (both bands), $\mathbf{M}$ at $\theta$ = 57$\degree$, $\varphi$ = 29$\degree$",
                 fontsize=11.5)
    out = _figure_style.save(figure, "approximation_error.png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

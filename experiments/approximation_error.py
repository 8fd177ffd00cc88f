"""Claim: the second-order (paper eq. 12) and strong-exchange (eq. 13/14) forms approach the exact
result as alpha k_F / J -> 0.

Sweeps alpha over two decades at fixed J, E_F and a general M direction, computes the relative error
of the ensemble damping-like torque T2 and of the spin-force density (exact: contour route) against
the approximations summed over the sea (second order: Fermi-sea quadrature of eq. 12; strong exchange:
n_s times the k-independent eq. 13/14), and fits the order p in error ~ (alpha k_F/J)^p.
Writes experiments/figures/approximation_error.png and prints the fitted orders.
"""

import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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


def main():
    alphas = onp.geomspace(0.002, 0.1, 12)
    rows = [errors(a) for a in alphas]
    ratio = onp.array([r["ratio"] for r in rows])
    keys = [k for k in rows[0] if k != "ratio"]
    figure, ax = plt.subplots(figsize=(6.5, 4.5))
    print(f"{'alpha k_F/J':>12} " + " ".join(f"{k:>34}" for k in keys))
    for r in rows:
        print(f"{r['ratio']:12.4g} " + " ".join(f"{r[k]:34.3e}" for k in keys))
    small = ratio < 0.1
    for key, marker in zip(keys, "osD^"):
        values = onp.array([r[key] for r in rows])
        order = onp.polyfit(onp.log(ratio[small]), onp.log(values[small]), 1)[0]
        print(f"fitted order of {key} for alpha k_F/J < 0.1: {order:.3f}")
        ax.loglog(ratio, values, marker + "-", ms=4, label=f"{key} (order {order:.2f})")
    ax.set_xlabel("alpha k_F / J (largest over the occupied contours)")
    ax.set_ylabel("relative error vs exact")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    ax.set_title("Approximation error of the papers' forms (J = 1 eV, E_F = 1.5 eV)", fontsize=9)
    figure.tight_layout()
    out = pathlib.Path(__file__).parent / "figures" / "approximation_error.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

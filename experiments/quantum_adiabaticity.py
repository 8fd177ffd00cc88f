"""Claim checked: the semiclassical spin dynamics (band following, ds/dt = s db^/dt, the spin force)
is the adiabatic limit of the exact spinor dynamics, and the deviation is controlled by the
adiabaticity epsilon = hbar |db/dt| / Omega^2 (docs: Theory > Quantum check).

One state on the lower-band Fermi contour of the default model (alpha = 0.05 eV nm, J = 1 eV,
E_F = 1.5 eV, M at theta = 60 deg, phi = 30 deg). For each epsilon the field is switched on with the
C-infinity ramp over 40 precession periods and held for 10 (jaxsot.adiabaticity_scan); the errors of
the semiclassical quantities are measured after the ramp and fitted to c epsilon^p. Two field
directions: along x (generic) and perpendicular to grad Omega (Omega stays constant, the first-order
correction d(delta sigma_1)/dt vanishes). Writes experiments/figures/quantum_adiabaticity.png.
"""

import math
import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402

FERMI_ENERGY = 1.5


def main():
    model = jaxsot.RashbaFerromagnet.from_angles(0.05, 1.0, math.radians(60.0), math.radians(30.0))
    k0 = jaxsot.fermi_point(model, FERMI_ENERGY, -1, math.radians(30.0))
    targets = onp.geomspace(1e-5, 1e-1, 9)
    generic = jaxsot.adiabaticity_scan(model, k0, -1, targets, direction=(1.0, 0.0), estimate_error=True)
    tangential = jaxsot.adiabaticity_scan(model, k0, -1, targets, direction="tangential", estimate_error=True)
    print(f"state k0 = ({k0[0]:.4f}, {k0[1]:.4f}) /nm, band -1, Omega = {generic.splitting:.4f} eV, ramp {generic.ramp_time:.1f} fs")
    names = list(generic.errors)
    print(f"{'epsilon':>9} " + " ".join(f"{n[:22]:>22}" for n in names) + f" {'floor':>9}")
    for i, eps in enumerate(generic.adiabaticity):
        print(f"{eps:9.2e} " + " ".join(f"{generic.errors[n][i]:22.3e}" for n in names) + f" {generic.integration_error[i]:9.1e}")
    for n in names:
        p, c = generic.orders[n]
        print(f"E along x: {n:32s} order {p:5.2f}, error ~ {c:.3g} eps^{p:.2f}")
    p, c = tangential.orders["spin_rate"]
    print(f"E tangent to Omega = const: spin_rate order {p:.2f} (c = {c:.3g}); first-order correction vanishes there")

    figure, ax = plt.subplots(figsize=(6.8, 4.8))
    labels = {
        "spin_rate": ("T2 exact vs semiclassical", "o-"),
        "spin_rate_first_order": ("T2 exact vs semiclassical + d(delta sigma_1)/dt", "s-"),
        "nonadiabatic_spin": ("delta sigma vs first-order delta sigma_1", "D--"),
        "nonadiabatic_spin_second_order": ("delta sigma vs delta sigma_1 + delta sigma_2", "^--"),
        "exchange_torque_papers": ("(2J/hbar) M x sigma vs papers' T1 + T2", "x-"),
    }
    for name, (label, style) in labels.items():
        p, _ = generic.orders[name]
        suffix = f" (order {p:.2f})" if name != "exchange_torque_papers" else " (plateau)"
        ax.loglog(generic.adiabaticity, generic.errors[name], style, ms=4, label=label + suffix)
    p, _ = tangential.orders["spin_rate"]
    ax.loglog(tangential.adiabaticity, tangential.errors["spin_rate"], "v:", ms=4, label=f"T2, E tangent to Omega = const (order {p:.2f})")
    ax.loglog(generic.adiabaticity, generic.integration_error, color="gray", lw=0.8, label="integration error (step doubling)")
    ax.set_xlabel("adiabaticity epsilon = hbar |db/dt| / Omega^2")
    ax.set_ylabel("relative error after the switch-on")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6.5)
    ax.set_title("One state: exact spinor vs semiclassical band following", fontsize=9)
    figure.tight_layout()
    out = pathlib.Path(__file__).parent / "figures" / "quantum_adiabaticity.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Claim checked: the semiclassical Fermi-sea torques of `jaxsot run` (T2 = -dS/dt decaying with tau,
T1 building up) are what the exact spinor dynamics of every state gives, once the switch-on is
smooth; a step field makes every state ring at 2 Omega/hbar around the adiabatic solution.

Default model of `jaxsot run` (alpha = 0.05 eV nm, J = 1 eV, E_F = 1.5 eV, E = 1e5 V/m along x,
tau = 10 fs), 64 x 8 nodes per band; three drives: step, sin^2 ramp (10 fs), C-infinity ramp (10 fs).
Prints the relative errors of the semiclassical and first-order sums; writes
experiments/figures/quantum_ensemble.png.
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


def main():
    model = jaxsot.RashbaFerromagnet.from_angles(0.05, 1.0, math.radians(60.0), math.radians(30.0))
    field = jnp.array([1e-4, 0.0])
    times = jnp.linspace(0.0, 60.0, 481)
    drives = {
        "step": jaxsot.StepDrive(field),
        "sin^2 ramp 10 fs": jaxsot.RampDrive(field, 10.0),
        "smooth ramp 10 fs": jaxsot.SmoothRampDrive(field, 10.0),
    }
    figure, axes = plt.subplots(1, 3, figsize=(14, 4.2), sharey=True)
    for ax, (name, drive) in zip(axes, drives.items()):
        result = jaxsot.exact_simulate(model, 1.5, drive, times, tau=10.0, num_phi=64, num_r=8, estimate_error=True)
        errors = {a: result.relative_error("damping_torque", a) for a in ("semiclassical", "first_order")}
        late = {a: result.relative_error("damping_torque", a, window=(15.0, 60.0)) for a in ("semiclassical", "first_order")}
        print(f"{name:>18}: T2 relative error, semiclassical {errors['semiclassical']:.3g} (t > 15 fs: {late['semiclassical']:.3g}), "
              f"first order {errors['first_order']:.3g} (t > 15 fs: {late['first_order']:.3g}); "
              f"T1 {result.relative_error('field_like_torque', 'semiclassical'):.2g}; "
              f"substeps {result.substeps}, integration error {float(result.integration_error):.1e}")
        t = onp.asarray(result.times)
        for approx, style in (("exact", "-"), ("semiclassical", "--"), ("first_order", ":")):
            series = onp.asarray(result.observables["damping_torque"][approx])
            for c, color in ((0, "C0"), (1, "C1"), (2, "C2")):
                ax.plot(t, series[:, c], style, color=color, lw=1.1, label=f"{'xyz'[c]} {approx.replace('_', ' ')}")
        ax.set_title(f"T2 = -dS/dt, {name}", fontsize=9)
        ax.set_xlabel("t [fs]")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("1/(nm^2 fs)")
    axes[0].legend(fontsize=6, ncol=3)
    figure.suptitle("Fermi sea (tau = 10 fs): exact spinors (solid), semiclassical (dashed), first order (dotted)", fontsize=10)
    figure.tight_layout()
    out = pathlib.Path(__file__).parent / "figures" / "quantum_ensemble.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Claim checked (papers, end of section III): "in a strong Rashba limit ... the damping torque will
also quickly disappear".

M || z, both bands occupied (alpha = 0.008 eV nm, E_F = 1 eV, J varied so that alpha k_F/J runs from
0.05 to 20, k_F = sqrt(2 m E_F)/hbar). For every J the whole sea is evolved exactly (every state a
spinor, jaxsot.strong_rashba_crossover) under a field switched on smoothly and held, and compared with
the semiclassical sea sum and the closed forms of jaxsot.circular_sea_torques, normalized by the
strong-exchange value T2_0 = -(e m alpha/(pi hbar^3))(E x z):
    T2 = -dS/dt:                                (2 + x^2) / (2 (1 + x^2))   -> 1/2
    damping-like exchange torque (2J/hbar) M x delta S:   1 / (1 + x^2)     -> 0
    papers' eq. 14 summed over the sea:         sqrt(1 + x^2 + eta^2)       (grows)
Writes experiments/figures/quantum_strong_rashba.png and prints the table.
"""

import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot.cli.validate import crossover_axes  # noqa: E402  (the same figure as `jaxsot validate`)


def main():
    ratios = onp.geomspace(0.05, 20.0, 9)
    result = jaxsot.strong_rashba_crossover(0.008, 1.0, ratios, estimate_error=True)
    n = result.normalized
    keys = ["closed_damping_torque", "semiclassical_damping_torque", "exact_damping_torque",
            "closed_damping_like_torque", "exact_damping_like_torque", "closed_strong_exchange"]
    print(f"{'x=akF/J':>8} {'J [eV]':>9} " + " ".join(f"{k[:24]:>24}" for k in keys) + f" {'max eps':>9} {'int.err':>8}")
    for i, x in enumerate(result.ratio):
        print(f"{x:8.3g} {result.j_ex[i]:9.3g} " + " ".join(f"{n[k][i]:24.6f}" for k in keys)
              + f" {result.adiabaticity[i]:9.1e} {result.integration_error[i]:8.1e}")
    t2 = onp.max(onp.abs(n["exact_damping_torque"] / n["closed_damping_torque"] - 1))
    dl = onp.max(onp.abs(n["exact_damping_like_torque"] / n["closed_damping_like_torque"] - 1))
    print(f"exact vs closed form: T2 within {t2:.1e}, damping-like exchange torque within {dl:.1e} (relative)")
    figure, _ = crossover_axes(plt, result)
    out = pathlib.Path(__file__).parent / "figures" / "quantum_strong_rashba.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

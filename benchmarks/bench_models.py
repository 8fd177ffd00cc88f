"""Speed of the non-Rashba paths against the Rashba path at equal state counts (one run, interleaved).

What is timed: one evaluation of the electron torques at a magnetization M, `jaxsot.electron_response`
(jitted), the work of one LLG right-hand side and of one `jaxsot.effective_fields` direction: the
exact-band Fermi-contour fluxes of both bands with `num` rays each. Reference: the Rashba ferromagnet
through `jaxsot.SpinOrbitTorque(method="exact")` (its own fast path). Compared: the same Rashba model
through the generic `jaxsot.ModelTorque`, and `ModelTorque` with the Rashba-Dresselhaus, TI-surface
(c > 0) and square-lattice models, at the same `num` (equal state counts: 2 bands x num contour points).
Calls are interleaved (reference, model 1, model 2, ..., reference, ...) so that every ratio comes from
the same minutes of a loaded machine; figures are medians of wall-clock times after a compile call.

    python benchmarks/bench_models.py               # num = 64, 256; 15 repeats
    python benchmarks/bench_models.py --quick       # num = 64; 5 repeats
"""

import argparse
import os
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import jaxsot  # noqa: E402

J_EX, FERMI = 0.5, 0.8
EFIELD = jnp.asarray([1e-4, 0.0])
M = jnp.asarray([0.6, -0.48, 0.64])


def sources(num):
    z = [0.0, 0.0, 1.0]
    return {
        "Rashba, SpinOrbitTorque (reference)": jaxsot.SpinOrbitTorque(0.05, J_EX, FERMI, EFIELD, 10.0, method="exact", num=num),
        "Rashba, ModelTorque": jaxsot.ModelTorque(jaxsot.RashbaFerromagnet(0.05, J_EX, z), FERMI, EFIELD, 10.0, num=num),
        "Rashba-Dresselhaus": jaxsot.ModelTorque(jaxsot.RashbaDresselhausFerromagnet(0.05, 0.02, J_EX, z), FERMI, EFIELD, 10.0, num=num),
        "TI surface (c > 0)": jaxsot.ModelTorque(jaxsot.TISurfaceFerromagnet(0.3, J_EX, z, kinetic=0.1), FERMI, EFIELD, 10.0, num=num),
        "square lattice": jaxsot.ModelTorque(jaxsot.SquareLatticeRashbaFerromagnet(0.61, 0.25, 0.2, J_EX, z), FERMI, EFIELD, 10.0, num=num),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (64,) if args.quick else (64, 256)
    repeats = 5 if args.quick else 15
    response = jax.jit(jaxsot.electron_response)
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min); {os.cpu_count()} CPUs; jax {jax.__version__} on {jax.default_backend()}")
    for num in sizes:
        torques = sources(num)
        for torque in torques.values():
            jax.block_until_ready(response(torque, M))  # compile
        times = {name: [] for name in torques}
        for _ in range(repeats):
            for name, torque in torques.items():
                start = time.perf_counter()
                jax.block_until_ready(response(torque, M))
                times[name].append(time.perf_counter() - start)
        reference = statistics.median(times["Rashba, SpinOrbitTorque (reference)"])
        print(f"\nnum = {num} rays per contour (2 bands: {2 * num} contour states)")
        print(f"{'electron source':<38} {'median [ms]':>12} {'ratio to reference':>19}")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:<38} {1e3 * median:12.3f} {median / reference:19.2f}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()

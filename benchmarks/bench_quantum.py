"""Benchmark: the exact (spinor) Fermi-sea pipeline next to the semiclassical one of `simulate`.

Both run the same ensemble (the T = 0 sea of both bands on num_phi x num_r polar Gauss-Legendre
nodes, default model of `jaxsot run`) for the same number of time steps, and the timed calls are the
compiled cores (compile excluded, medians of interleaved repeats):

  semiclassical: jaxsot._dynamics._engine.evolve_block (what `simulate` runs per block): per state and step
                 the spin, the spin force (Hessian-vector product), ds/dt (jvp) and their
                 second-order forms at k0 + Delta k(t), plus the contour fluxes of the levels
                 (2 x num_phi contour states per band); state-steps counted over all of them.
  exact:         jaxsot._quantum._ensemble.ensemble_block(semiclassical=False) with one Magnus-4 step per
                 output step (one exact rotation per state and step) and the per-area sums of
                 sigma - sigma0 and d sigma/dt (everything T, T1, T2 and S - S_eq are built from).
  exact + side-by-side: the same with semiclassical=True (band spin, ds/dt, delta sigma_1 and its
                 rate, delta sigma_2 summed in the same pass) - what `jaxsot validate` runs.

Prints a table (N, dtype, Mss/s of each, ratio semiclassical/exact time per state-step). Mss/s =
1e6 state-steps per second. Usage: python benchmarks/bench_quantum.py [--quick]
"""

import argparse
import math
import platform
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot._dynamics import _engine, _shift, _simulate  # noqa: E402
from jaxsot.constants import HBAR  # noqa: E402
from jaxsot._quantum import _ensemble as quantum_ensemble  # noqa: E402

STEPS = 256
FERMI_ENERGY = 1.5


def _setup(dtype, num_phi, num_r):
    model = jaxsot.RashbaFerromagnet.from_angles(0.05, 1.0, math.radians(60.0), math.radians(30.0)).astype(dtype)
    times = jnp.linspace(0.0, 64.0, STEPS, dtype=dtype)
    drive = jaxsot.RampDrive(jnp.asarray([1e-4, 0.0], dtype), jnp.asarray(20.0, dtype))
    fermi = jnp.asarray(FERMI_ENERGY, dtype)
    bands = jaxsot.occupied_bands(model, fermi)
    sea, contour, _ = _simulate.ensemble_nodes(model, fermi, bands, num_phi, num_r)
    _, shift, k_rate = jax.jit(_shift.integrate_shift, static_argnums=(3,))(drive, times, 10.0, 4)
    force = HBAR * k_rate
    chunk = min(2048, int(sea[0].shape[0]))
    schedule = quantum_ensemble.build_schedule(drive, times, 10.0, 1)
    states = quantum_ensemble.chunk_states(*sea, chunk)
    delta = jnp.zeros(states[0].shape[:2] + (3,), dtype)
    n_sea = int(sea[0].shape[0])
    n_semiclassical = n_sea + len(_shift.SHIFT_NODES) * int(contour[0].shape[0])

    def semiclassical():
        return _engine.evolve_block(model, sea, contour, shift, force, chunk=chunk)

    def exact():
        return quantum_ensemble.ensemble_block(model, states, delta, schedule, semiclassical=False)[1]

    def side_by_side():
        return quantum_ensemble.ensemble_block(model, states, delta, schedule, semiclassical=True)[1]

    return {"semiclassical": (semiclassical, n_semiclassical), "exact": (exact, n_sea), "side_by_side": (side_by_side, n_sea)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = [(64, 8), (128, 32)] if args.quick else [(64, 8), (128, 32), (256, 128)]
    print(f"jax {jax.__version__} on {jax.default_backend()}, {platform.processor() or platform.machine()}, "
          f"{jax.local_device_count()} device(s); {STEPS} steps; medians of {args.repeats}")
    header = f"{'N (sea)':>8} {'dtype':>8} {'semiclassical':>14} {'exact':>10} {'exact+sc':>10} {'ratio exact/sc':>15} {'ratio exact+sc/sc':>18}"
    print(header)
    print(f"{'':>8} {'':>8} {'Mss/s':>14} {'Mss/s':>10} {'Mss/s':>10} {'(time/state-step)':>15}")
    print("-" * len(header))
    rows = []
    for num_phi, num_r in sizes:
        for dtype in (jnp.float64, jnp.float32):
            cases = _setup(dtype, num_phi, num_r)
            rates = {}
            # Interleave the repeats of the three pipelines (the machine is noisy).
            timings = {name: [] for name in cases}
            for name, (fn, _) in cases.items():
                jax.block_until_ready(fn())
            for _ in range(args.repeats):
                for name, (fn, _) in cases.items():
                    start = time.perf_counter()
                    jax.block_until_ready(fn())
                    timings[name].append(time.perf_counter() - start)
            for name, (_, count) in cases.items():
                rates[name] = count * STEPS / statistics.median(timings[name]) / 1e6
            n_sea = cases["exact"][1]
            ratio = rates["semiclassical"] / rates["exact"]
            ratio_sc = rates["semiclassical"] / rates["side_by_side"]
            rows.append((n_sea, jnp.dtype(dtype).name, rates, ratio, ratio_sc))
            print(f"{n_sea:>8} {jnp.dtype(dtype).name:>8} {rates['semiclassical']:>14.1f} {rates['exact']:>10.1f} "
                  f"{rates['side_by_side']:>10.1f} {ratio:>15.2f} {ratio_sc:>18.2f}")
    print("ratio = (exact seconds per state-step) / (semiclassical seconds per state-step); goal <= 3")
    return rows


if __name__ == "__main__":
    main()

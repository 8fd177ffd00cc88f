"""Pay only for what is asked: the cost of each observable / approximation column of `jaxsot.simulate`
against the full set, in one run.

    python benchmarks/bench_select.py            # every column, 5 interleaved repeats (~2-4 min)
    python benchmarks/bench_select.py --quick    # the main selections only, 3 repeats

Each selection is `jaxsot.simulate(..., observables=(name,), approximations=(approx,))` on the same
ensemble (the default `jaxsot run` model: alpha = 0.05 eV nm, J = 0.5 eV, M at theta = 1, phi = 0.3,
E_F = 1 eV, both bands; num_phi x num_r polar nodes per band) and the same step drive and time grid,
one device, float64. A warm-up call compiles every selection first; then the timed calls go round
all selections (the same minutes for all: ratios are what to read on a shared machine). Figures are
medians of the per-call wall clock and of the process CPU time; "/ full" divides by the full set's
median in the same run. Every selection is checked against the full set's values (relative 1e-12).
"""

import argparse
import os
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot._dynamics._observables import OBSERVABLE_APPROXIMATIONS  # noqa: E402


def selections(quick):
    rows = [("full set (default)", None, None), ("exact damping torque only", ("damping_torque",), ("exact",)),
            ("every exact column", None, ("exact",)), ("strong-exchange columns only", None, ("strong_exchange",))]
    if quick:
        return rows
    for name, approximations in OBSERVABLE_APPROXIMATIONS.items():
        rows.append((f"{name} (all its columns)", (name,), None))
        if len(approximations) > 1:
            rows += [(f"{name} {approx}", (name,), (approx,)) for approx in approximations]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--num-phi", type=int, default=128)
    parser.add_argument("--num-r", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    print(f"jax {jax.__version__} on {jax.default_backend()} ({jax.local_device_count()} device), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    model = jaxsot.RashbaFerromagnet.from_angles(0.05, 0.5, 1.0, 0.3)
    times = jnp.linspace(0.0, 0.25 * (args.steps - 1), args.steps)
    drive = jaxsot.StepDrive(jnp.array([1e-3, 4e-4]))

    def run(observables, approximations):
        result = jaxsot.simulate(model, 1.0, drive, times, tau=10.0, num_phi=args.num_phi, num_r=args.num_r,
                                 block_steps=args.steps, observables=observables, approximations=approximations)
        return jax.block_until_ready(result)

    rows = selections(args.quick)
    full = run(None, None)
    compile_s = {}
    for label, observables, approximations in rows:
        start = time.perf_counter()
        result = run(observables, approximations)
        compile_s[label] = time.perf_counter() - start
        for name, values in result.observables.items():
            for approx, series in values.items():
                reference = onp.asarray(full.observables[name][approx])
                onp.testing.assert_allclose(series, reference, rtol=1e-12, atol=1e-12 * onp.max(onp.abs(reference)))
    wall = {label: [] for label, _, _ in rows}
    cpu = {label: [] for label, _, _ in rows}
    for _ in range(repeats):
        for label, observables, approximations in rows:
            start, start_cpu = time.perf_counter(), time.process_time()
            run(observables, approximations)
            wall[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - start_cpu)
    base = statistics.median(wall[rows[0][0]])
    base_cpu = statistics.median(cpu[rows[0][0]])
    states = 2 * args.num_phi * args.num_r
    print(f"\n{states} sea states + {4 * args.num_phi} contour states, {args.steps} steps, medians of {repeats} calls\n")
    print("| selection | wall [ms] | / full | CPU [ms] | / full (CPU) | first call [s] (compile incl.) |")
    print("|---|---|---|---|---|---|")
    for label, _, _ in rows:
        w, c = statistics.median(wall[label]), statistics.median(cpu[label])
        print(f"| {label} | {w * 1e3:.1f} | {w / base:.2f} | {c * 1e3:.1f} | {c / base_cpu:.2f} | {compile_s[label]:.2f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

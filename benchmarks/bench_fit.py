"""Benchmark of `jaxsot.fit`: cost of one gradient vs one forward evaluation of the loss, and the time
to fit a 200-point AMR + torque data set (exact bands) on this machine.

    python benchmarks/bench_fit.py            # prints the tables recorded in benchmarks/README.md
    python benchmarks/bench_fit.py --quick    # fewer repetitions

Forward = the jitted loss mean(r^2)/2 over every value (all contour solves included); gradient =
jax.grad of it with respect to all four parameters (implicit-function derivatives of the contours).
Forward and gradient calls alternate (same load for both on a shared machine); min and median
of the repeats after a warm-up (compile excluded); the fit times include
compilation (first fit in the process) or not (a second data set with the same shapes).
"""

import argparse
import os
import statistics
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import jaxsot.fit as jf  # noqa: E402

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}


def paired_times(functions, arg, repeats):
    """Interleaved timings of several functions (each call alternates, so all see the same load on a
    shared machine): per function (min, median) seconds, and the median of the per-round ratios to the first."""
    for fn in functions:
        jax.block_until_ready(fn(arg))  # warm-up (compile)
    rounds = []
    for _ in range(repeats):
        row = []
        for fn in functions:
            start = time.perf_counter()
            jax.block_until_ready(fn(arg))
            row.append(time.perf_counter() - start)
        rounds.append(row)
    columns = list(zip(*rounds))
    stats = [(min(c), statistics.median(c)) for c in columns]
    ratios = [statistics.median(r[i] / r[0] for r in rounds) for i in range(len(functions))]
    return stats, ratios


def data_sets(fermi_energy):
    steady = dict(num_points=200, noise=0.01, seed=1)
    return {
        "AMR (rho_ratio), 200 rows": [jf.synthesize(TRUTH, fermi_energy, columns=("rho_ratio",), **steady)],
        "torques (T_DL_x, T_DL_y, T_FL_z), 200 rows": [
            jf.synthesize(TRUTH, fermi_energy, columns=("T_DL_x", "T_DL_y", "T_FL_z"), **steady)
        ],
        "AMR + torques, 200 rows x 4 columns": [jf.synthesize(TRUTH, fermi_energy, columns=("rho_ratio", "T_DL_x", "T_DL_y", "T_FL_z"), **steady)],
        "transient (T_DL_y, T_FL_z), 200 times": [
            jf.synthesize(TRUTH, fermi_energy, columns=("T_DL_y", "T_FL_z"), phi=0.5, time=jnp.linspace(0.0, 60.0, 200), noise=0.01)
        ],
    }


def gradient_cost(repeats):
    print("| E_F [eV] | data | model | forward [ms] min / median | gradient [ms] min / median | gradient / forward (median of paired rounds) |")
    print("|---|---|---|---|---|---|")
    for fermi_energy in (0.5, 1.5):
        for name, curves in data_sets(fermi_energy).items():
            for model in ("exact", "strong_exchange"):
                loss = jf.make_loss(curves, fermi_energy, TRUTH, model=model)
                point = {k: jnp.asarray(v) for k, v in TRUTH.items()}
                (forward, gradient), ratios = paired_times([loss, jax.jit(jax.grad(loss))], point, repeats)
                print(f"| {fermi_energy:g} | {name} | {model} | {forward[0] * 1e3:.2f} / {forward[1] * 1e3:.2f} | "
                      f"{gradient[0] * 1e3:.2f} / {gradient[1] * 1e3:.2f} | {ratios[1]:.2f} |")


def fit_time():
    print("\n| E_F [eV] | data | restarts | first fit [s] (compile incl.) | second fit [s] | iterations (best) | max rel. error vs truth / SE |")
    print("|---|---|---|---|---|---|---|")
    columns = ("rho_ratio", "T_DL_x", "T_DL_y", "T_FL_z")
    for fermi_energy in (0.5, 1.5):
        for restarts in (4,):
            times = []
            for seed in (1, 2):
                curve = jf.synthesize(TRUTH, fermi_energy, columns=columns, num_points=200, noise=0.01, seed=seed)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = jf.fit(curve, fermi_energy, guess={"alpha": 0.03, "j_ex": 0.7 if fermi_energy > 1 else 1.4, "tau": 20.0},
                                    restarts=restarts)
                times.append(time.perf_counter() - start)
            z = max(abs(result.parameters[n] - TRUTH[n]) / result.standard_errors[n] for n in result.free)
            print(f"| {fermi_energy:g} | AMR + torques, 200 rows x 4 columns | {restarts} | {times[0]:.1f} | {times[1]:.1f} | "
                  f"{result.restarts[result.best]['steps']} | {z:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    gradient_cost(5 if args.quick else 20)
    fit_time()
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

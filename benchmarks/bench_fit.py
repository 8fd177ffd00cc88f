"""Benchmark of `jaxsot.fit`: cost of one gradient vs one forward evaluation of the loss, and the time
to fit a 200-point AMR + torque data set (exact bands) on this machine.

    python benchmarks/bench_fit.py            # prints the tables recorded in benchmarks/README.md
    python benchmarks/bench_fit.py --quick    # fewer repetitions
    python benchmarks/bench_fit.py --cli-only --before /tmp/old   # the how-to's `jaxsot fit`, this tree vs
                                              # another checkout (git archive REF | tar -x -C /tmp/old)

Forward = the jitted loss mean(r^2)/2 over every value (all contour solves included); gradient =
jax.grad of it with respect to all four parameters (implicit-function derivatives of the contours).
Forward and gradient calls alternate (same load for both on a shared machine); min and median
of the repeats after a warm-up (compile excluded); the fit times include
compilation (first fit in the process) or not (a second data set with the same shapes).
"""

import argparse
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
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


def _command(tree, args, cache, cwd):
    """Run `python -m jaxsot args` from `tree` with its own compilation cache: (wall s, CPU s of the child)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "JAX_COMPILATION_CACHE_DIR": str(cache), "MPLBACKEND": "Agg"}
    env.pop("JAXSOT_COMPILATION_CACHE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jaxsot", *args], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli_fit_times(trees, rounds):
    """The how-to's example (`jaxsot synth data.csv --fermi-energy 0.5 --noise 0.01`, then `jaxsot fit
    data.csv --out fit/`), each tree in turn: cold (empty persistent compilation cache) and twice warm."""
    here = pathlib.Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        _command(here, ["synth", "data.csv", "--fermi-energy", "0.5", "--noise", "0.01"], work / "synth-cache", work)
        results = {name: {"cold": [], "warm": []} for name in trees}
        for r in range(rounds):
            for name, tree in trees.items():  # interleaved: both trees see the same minutes
                cache = work / f"cache-{name}-{r}"
                for kind in ("cold", "warm", "warm"):
                    results[name][kind].append(_command(tree, ["fit", "data.csv", "--out", f"fit-{name}"], cache, work))
    print("\n| tree | `jaxsot fit` cold: wall / CPU [s] | warm: wall / CPU [s] (median) |")
    print("|---|---|---|")
    for name, times in results.items():
        cold = [f"{w:.1f} / {c:.1f}" for w, c in times["cold"]]
        wall = statistics.median(w for w, _ in times["warm"])
        cpu = statistics.median(c for _, c in times["warm"])
        print(f"| {name} | {', '.join(cold)} | {wall:.1f} / {cpu:.1f} |")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cli-only", action="store_true", help="only the how-to's `jaxsot fit` (cold and warm cache)")
    parser.add_argument("--before", help="another checkout of jaxsot to time the `jaxsot fit` example against")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the `jaxsot fit` example (default 2)")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    if not args.cli_only:
        gradient_cost(5 if args.quick else 20)
        fit_time()
    trees = {"this tree": pathlib.Path(__file__).resolve().parents[1]}
    if args.before:
        trees = {"before": pathlib.Path(args.before).resolve(), **trees}
    cli_fit_times(trees, args.rounds)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

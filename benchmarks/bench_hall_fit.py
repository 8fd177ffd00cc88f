"""Benchmark of a full harmonic Hall fit (`jaxsot.fit.fit_harmonic_hall`): 4 field magnitudes x 72 angles
(288 points, R_1w and R_2w), compile included and warm, the exact model's direct route (one Fermi-contour
solve per point) against its interpolated route (the flux tensor from a few solves at Chebyshev nodes in
M_z, `jaxsot._measure._polar`) in the same run, and the loss gradient vs one loss evaluation.

    python benchmarks/bench_hall_fit.py            # every row, each configuration in a fresh process
    python benchmarks/bench_hall_fit.py --quick    # strong exchange and the exact model's fast route only

Data: the quasi-static forward model (perpendicular magnet, mu0 M_s = 1 T, B_K = 1.5 T, in-plane fields
0.05-0.3 T; alpha = 0.05 eV nm, J = 1 eV, tau = 3 fs, E_F = 1.5 eV, both bands; R_AHE = 1, R_PHE = 0.3 ohm)
plus 0.5 % Gaussian noise with sigma given (the time-domain route would take minutes for 288 exact points).
Fit: free alpha, J, tau, B_K, R_AHE, R_PHE (the default), 4 restarts, from the default start (alpha 0.05,
J 1, tau 10 fs, B_K and the Hall coefficients from least squares), first order or every order in the
current. "cold" = wall time of the first fit_harmonic_hall call in a fresh Python process (tracing, XLA
compilation, restarts, standard errors, derived fields; no persistent compile cache); "warm" = the same fit
again in that process. "route": direct (jaxsot.fit._hall_model.POLAR_ROUTE = False) or interpolated with the
node count the fit chose (when the interpolant misses its tolerance somewhere in the parameter box: "restarts on
the interpolant (N nodes), direct polish", the interpolant accurate at the guess); "max |diff|/SE" = the largest difference of a fitted value from the direct
route's over its standard error (rows after a direct row of the same orders). "gradient / loss" = median
ratio of paired jitted jax.grad(loss) and loss calls (20 rounds, after the warm-up).
The load average (other jobs on the machine) is printed before and after.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time


def child(model, optimizer, route, orders):
    import warnings

    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as onp

    from jaxsot import HallSettings, hall_bands, harmonic_hall_forward
    from jaxsot.fit import _hall, _hall_model
    from jaxsot.fit._hall import HallData, fit_harmonic_hall, hall_loss

    _hall_model.POLAR_ROUTE = route == "fast"
    chosen = []
    choose = _hall_model.polar_nodes_of
    _hall_model.polar_nodes_of = lambda *a, **k: chosen.append(choose(*a, **k)) or chosen[-1]
    explored = []
    explore = _hall_model.exploration_nodes
    _hall.exploration_nodes = lambda *a, **k: explored.append(explore(*a, **k)) or explored[-1]
    truth = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 3.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}
    phi = onp.tile(onp.linspace(0.0, 2.0 * math.pi, 72, endpoint=False), 4)
    field = onp.repeat([0.05, 0.1, 0.2, 0.3], 72)
    settings = HallSettings(phi, field, fermi_energy=1.5, current_density=1e11, rho0=2e-7, ms_tesla=1.0, thickness=1.0, model=model,
                            bands=hall_bands(truth, 1.5) if model == "exact" else None)
    r_1w, r_2w = (onp.asarray(r) for r in harmonic_hall_forward(truth, settings))
    rng = onp.random.default_rng(0)
    s_1w, s_2w = 0.005 * onp.ptp(r_1w), 0.005 * onp.ptp(r_2w)
    data = HallData.from_settings(r_1w + s_1w * rng.normal(size=288), r_2w + s_2w * rng.normal(size=288), settings,
                                  sigma_1w=s_1w, sigma_2w=s_2w)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit_harmonic_hall(data, model=model, optimizer=optimizer, restarts=4, orders=orders)
        times.append(time.perf_counter() - start)
    steps = [r["steps"] for r in result.restarts]
    nodes = [int(n) for n in (chosen[-1] if chosen else [])]
    exploring = [int(n) for n in (explored[-1].values() if explored else [])]
    ratio = float("nan")
    if orders == "first":
        loss = hall_loss(data, truth, model=model)
        gradient = jax.jit(jax.grad(loss))
        point = {k: jax.numpy.asarray(v) for k, v in {**result.parameters, "alpha": 0.051}.items()}
        for fn in (loss, gradient):
            jax.block_until_ready(fn(point))
        ratios = []
        for _ in range(20):
            t0 = time.perf_counter()
            jax.block_until_ready(loss(point))
            t1 = time.perf_counter()
            jax.block_until_ready(gradient(point))
            t2 = time.perf_counter()
            ratios.append((t2 - t1) / (t1 - t0))
        ratio = statistics.median(ratios)
    print(json.dumps({"cold_s": times[0], "warm_s": times[1], "steps": steps, "reduced_chi2": result.reduced_chi2, "ratio": ratio,
                      "nodes": nodes, "exploring": exploring, "parameters": result.parameters,
                      "errors": result.standard_errors}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    import jax

    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("4 field magnitudes x 72 angles = 288 points (576 values), float64, 4 restarts, fresh process per row\n")
    print("| model | orders | optimizer | route | cold fit [s] | warm fit [s] | iterations per restart | max abs diff / SE | gradient / loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    configurations = [("strong_exchange", "lm", "direct", "first"), ("exact", "lm", "direct", "first"), ("exact", "lm", "fast", "first"),
                      ("exact", "lm", "direct", "all"), ("exact", "lm", "fast", "all"), ("strong_exchange", "lbfgs", "direct", "first")]
    if args.quick:
        configurations = [c for c in configurations if c[0] == "strong_exchange" and c[1] == "lm" or c[2] == "fast"]
    direct = {}
    for model, optimizer, route, orders in configurations:
        out = subprocess.run([sys.executable, __file__, "--child", model, optimizer, route, orders], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        if route == "direct":
            direct[(model, optimizer, orders)] = row
        reference = direct.get((model, optimizer, orders))
        diff = "-" if reference is None or route == "direct" else f"{max(abs(row['parameters'][n] - reference['parameters'][n]) / reference['errors'][n] for n in row['errors']):.1e}"
        shown = route if route == "direct" or model != "exact" else f"interpolated, {', '.join(map(str, row['nodes']))} nodes"
        if route == "fast" and model == "exact" and not any(row["nodes"]) and row["exploring"]:
            shown = f"restarts on the interpolant ({', '.join(map(str, row['exploring']))} nodes), direct polish"
        if model != "exact":
            shown = "closed forms"
        ratio = "-" if math.isnan(row["ratio"]) else f"{row['ratio']:.2f}"
        print(f"| {model} | {orders} | {optimizer} | {shown} | {row['cold_s']:.1f} | {row['warm_s']:.1f} | {', '.join(map(str, row['steps']))} | "
              f"{diff} | {ratio} |", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

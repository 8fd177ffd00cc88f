"""Macrospin LLG throughput: trajectories per second on the batched (vmapped) path of jaxsot.simulate_llg.

Problem: the in-plane magnet of `jaxsot llg` (mu0 M_s = 1 T, d = 1 nm, alpha_G = 0.05, B_K = 0.05 T
along y, thin-film shape), random current densities |j| < 3e11 A/m^2 along x (rho0 = 2e-7 ohm m) and
random fields B_y in [-0.2, 0.1] T, initial M near +y, integrated for 1 ns (diffrax Tsit5, PID
control, rtol 1e-7) without events (every trajectory runs to t_end, so the count of steps is
comparable) and without the energy ledger. float64. Each figure is the best of `--repeats` timed
calls after one warm-up call (compile excluded; compile time printed separately).

    python benchmarks/bench_llg.py                    # 1e4 strong-exchange + 64 exact-ensemble trajectories
    python benchmarks/bench_llg.py --strong 1000 --exact 16 --num 32 64
"""

import argparse
import json
import time


def build(count, method, num, seed=0):
    import jax.numpy as jnp
    import numpy as onp

    import jaxsot

    rng = onp.random.default_rng(seed)
    current = rng.uniform(-3e11, 3e11, count)
    field = rng.uniform(-0.2, 0.1, count)
    efield = jnp.stack([jnp.asarray(2e-7 * current * 1e-9), jnp.zeros(count)], -1)
    torque = jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, efield, 27.7, method=method, num=num)
    magnet = jaxsot.Magnet(
        1.0, 1.0, 0.05, anisotropy_field=0.05, easy_axis=(0, 1, 0),
        external_field=jnp.stack([jnp.zeros(count), jnp.asarray(field), jnp.zeros(count)], -1),
    )
    return magnet, torque, jnp.asarray([0.05, 1.0, 0.02])


def measure(count, method, num, repeats):
    import jax
    import numpy as onp

    import jaxsot

    magnet, torque, m0 = build(count, method, num)
    kwargs = dict(num_save=2, rtol=1e-7, atol=1e-9, ledger=False, max_steps=100_000)
    started = time.perf_counter()
    result = jaxsot.simulate_llg(magnet, torque, m0, 1.0e6, **kwargs)
    jax.block_until_ready(result.m)
    first = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = jaxsot.simulate_llg(magnet, torque, m0, 1.0e6, **kwargs)
        jax.block_until_ready(result.m)
        times.append(time.perf_counter() - started)
    best = min(times)
    steps = onp.asarray(result.num_steps) + onp.asarray(result.num_rejected)
    return {
        "method": method,
        "trajectories": count,
        "contour_points_per_band": num if method == "exact" else None,
        "seconds": best,
        "trajectories_per_s": count / best,
        "compile_plus_first_call_s": first,
        "steps_per_trajectory_median": float(onp.median(steps)),
        "steps_per_trajectory_max": int(steps.max()),
        "rhs_evaluations_per_s": float(onp.sum(steps)) * 6 / best,  # Tsit5: 6 new stages per step (FSAL)
        "all_succeeded": bool(onp.all(onp.asarray(result.success))),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strong", type=int, default=10_000, help="strong-exchange trajectories (default 1e4)")
    parser.add_argument("--exact", type=int, default=64, help="exact-ensemble trajectories (default 64)")
    parser.add_argument("--num", type=int, nargs="+", default=[32, 64], help="contour points per band for the exact torque")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)
    print(f"jax {jax.__version__} on {jax.default_backend()} ({jax.devices()[0].device_kind}), float64")
    rows = [measure(args.strong, "strong_exchange", 64, args.repeats)]
    for num in args.num:
        rows.append(measure(args.exact, "exact", num, args.repeats))
    for row in rows:
        ensemble = "closed form" if row["method"] == "strong_exchange" else f"{2 * row['contour_points_per_band']} contour states (2 bands)"
        print(
            f"{row['method']:>15} {ensemble:<28} {row['trajectories']:>6} traj: {row['trajectories_per_s']:10.1f} traj/s, "
            f"{row['rhs_evaluations_per_s']:.3g} RHS/s, steps median {row['steps_per_trajectory_median']:.0f} "
            f"(max {row['steps_per_trajectory_max']}), first call {row['compile_plus_first_call_s']:.1f} s, ok {row['all_succeeded']}"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()

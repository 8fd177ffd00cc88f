"""Sweep throughput: state-steps per second vs states per point, vs devices, float32 vs float64.

A state-step is one state of one sweep point evaluated at one time step (sea nodes of both bands
plus the contour nodes of the levels: `jaxsot.sweep.states_per_point`). Each figure is the
median of `--repeats` timed calls after one warm-up call (compile excluded; compile time is
printed separately). Host-side checks (`sweep_status`, ~2 ms per distinct Fermi sea) are not
in the timed part.

    python benchmarks/bench_sweep.py                 # vs N and vs forced host devices (CPU)
    python benchmarks/bench_sweep.py --gpu           # on a CUDA machine: float32/float64 + roofline

Devices on a CPU are forced with XLA_FLAGS=--xla_force_host_platform_device_count=D in a child
process (it must be set before jax is imported). On a 2-core machine D > 2 cannot be faster than
D = 2: the efficiency column divides the speed-up by min(D, cores).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def measure(num_points, num_phi, num_r, steps, precision, repeats, batch_points=None):
    import jax

    jax.config.update("jax_enable_x64", precision == "float64")
    import jax.numpy as jnp
    import numpy as onp

    import jaxsot.sweep as _sweep

    rng = onp.random.default_rng(0)
    points = _sweep.normalize_points(
        {
            "alpha": rng.uniform(0.02, 0.08, num_points),
            "j_ex": 1.0,
            "theta": rng.uniform(0.0, 1.5, num_points),
            "phi": rng.uniform(0.0, 6.0, num_points),
            "fermi_energy": 1.5,
            "efield": 1e-4,
            "tau": 10.0,
        }
    )
    status, upper = _sweep.sea_checks(points)
    assert not status.any()
    dtype = jnp.float64 if precision == "float64" else jnp.float32
    times = jnp.linspace(0.0, 30.0, steps, dtype=dtype)
    devices = tuple(jax.local_devices())
    platform = devices[0].platform
    if batch_points is None:
        batch_points = 1 if platform == "cpu" else -(-num_points // len(devices))
    settings = dict(
        drive="step", num_phi=num_phi, num_r=num_r, substeps=4, batch_points=batch_points,
        devices=devices, state_chunk=_sweep.default_state_chunk(platform),
    )

    def call():
        out = _sweep.compute_points(points, upper, times, **settings)
        return out["damping_torque_exact"]

    started = time.perf_counter()
    call()
    compile_s = time.perf_counter() - started
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    seconds = statistics.median(timings)
    state_steps = num_points * _sweep.states_per_point(num_phi, num_r) * steps
    return {
        "precision": precision,
        "devices": len(devices),
        "platform": platform,
        "num_points": num_points,
        "states_per_point": _sweep.states_per_point(num_phi, num_r),
        "steps": steps,
        "seconds": seconds,
        "first_call_s": compile_s,
        "state_steps_per_s": state_steps / seconds,
    }


def child(args):
    result = measure(args.points, args.num_phi, args.num_r, args.steps, args.precision, args.repeats)
    print("RESULT " + json.dumps(result), flush=True)


def run_child(devices, args):
    environment = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
    command = [
        sys.executable, __file__, "--child", "--points", str(args.points), "--num-phi", "64", "--num-r", "8",
        "--steps", str(args.steps), "--precision", "float64", "--repeats", str(args.repeats),
    ]
    output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gpu", action="store_true", help="GPU run: float32/float64 and the bandwidth roofline")
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--num-phi", type=int, default=64)
    parser.add_argument("--num-r", type=int, default=8)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--precision", default="float64")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bandwidth", type=float, default=3.35e12, help="GPU memory bandwidth [B/s] for the roofline (H100 SXM: 3.35e12)")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    cores = os.cpu_count() or 1
    if args.gpu:
        print("| precision | points | states/point | steps | state-steps/s | bytes/state-step | roofline fraction |")
        print("|---|---|---|---|---|---|---|")
        for precision in ("float32", "float64"):
            for points, num_phi, num_r in ((4096, 64, 8), (16384, 64, 8), (4096, 128, 16)):
                r = measure(points, num_phi, num_r, args.steps, precision, args.repeats)
                # Minimal traffic when states are re-read every step: k (2), weight (1), band (1).
                per_state_step = 4 * (4 if precision == "float32" else 8)
                roofline = args.bandwidth / per_state_step
                print(
                    f"| {precision} | {points} | {r['states_per_point']} | {args.steps} | {r['state_steps_per_s']:.3g} "
                    f"| {per_state_step} | {r['state_steps_per_s'] / roofline:.2%} |", flush=True,
                )
        return
    print(f"## vs states per point (1 device, {args.points} points, {args.steps} steps)\n")
    print("| precision | num_phi x num_r | states/point | state-steps/s | first call [s] |")
    print("|---|---|---|---|---|")
    for precision in ("float64", "float32"):
        for num_phi, num_r in ((16, 4), (64, 8), (128, 16), (256, 16)):
            r = measure(args.points, num_phi, num_r, args.steps, precision, args.repeats)
            print(
                f"| {precision} | {num_phi} x {num_r} | {r['states_per_point']} | {r['state_steps_per_s']:.3g} | {r['first_call_s']:.1f} |",
                flush=True,
            )
    print(f"\n## vs forced host devices (float64, 64 x 8, {args.points} points, {args.steps} steps; {cores} cores)\n")
    print("| devices | state-steps/s | speed-up | efficiency per core |")
    print("|---|---|---|---|")
    base = None
    for devices in (1, 2, 4):
        r = run_child(devices, args)
        base = base or r["state_steps_per_s"]
        speedup = r["state_steps_per_s"] / base
        print(f"| {devices} | {r['state_steps_per_s']:.3g} | {speedup:.2f} | {speedup / min(devices, cores):.0%} |", flush=True)


if __name__ == "__main__":
    main()

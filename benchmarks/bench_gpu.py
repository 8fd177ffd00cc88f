"""GPU throughput: the ensemble pipeline, the public per-state functions and a sweep, against the roofline.

    python benchmarks/bench_gpu.py            # on a CUDA machine (~2-4 min)
    python benchmarks/bench_gpu.py --quick    # smaller sizes, 3 repeats (< 1 min)
    python benchmarks/bench_gpu.py --allow-cpu --quick   # exercise the script on a CPU (tiny sizes)

Without a GPU the script prints why and exits with status 2 (nothing was measured), unless
--allow-cpu is given.

What is timed (medians of --repeats calls after a warm-up call; compile time printed separately):
- pipeline: `jaxsot._dynamics._engine.chunked_sums(sea_step, ...)`, the per-time-block sea sums of
  `jaxsot.simulate` (spin, ds/dt by jvp, F_so by a Hessian-vector product, second-order forms,
  10 weighted sums and min Omega per state-step), N random states x T steps, in one chunk of all
  states (chunk = N) and, at one size, with simulate's default chunk; state-steps/s.
- public: `band_energy`, `band_velocity`, `spin_force`, `band_spin` of N states under one jax.jit
  with the outputs summed, and the same four calls eagerly (outputs returned); states/s.
- sweep: `jaxsot.sweep_observables` for P points x (num_phi x num_r sea nodes + contour nodes) x T
  steps with all points of the device in one batch; state-steps/s.

Roofline. For each row: min(peak FLOP/s / flops, HBM bandwidth / bytes) with the peaks of the
device from the vendor data sheets (table DEVICE_PEAKS, by `jax.devices()[0].device_kind`; an
unknown device gives n/a) and per-item counts: pipeline per state-step ~120 flops (the autodiff
graph; ~68 minimal) and 24 B (float64) / 12 B (float32) when k, weight and band are re-read every
step; public per state, k read four times and 8 outputs written (128 B / 64 B) and ~250 flops;
sweep as the pipeline. The percentage reached is printed next to it. Target: >= 1e11 float32
state-steps/s for the pipeline on an H100/H200.
"""

import argparse
import functools
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

NO_GPU_STATUS = 2

# Vendor data-sheet peaks (not measured here): HBM bandwidth [B/s], FP64 and FP32 vector (non-tensor)
# FLOP/s. Matched against device_kind in this order (first substring found).
DEVICE_PEAKS = (
    ("H200", dict(bandwidth=4.8e12, float64=34e12, float32=67e12)),
    ("H100 PCIe", dict(bandwidth=2.0e12, float64=26e12, float32=51e12)),
    ("H100", dict(bandwidth=3.35e12, float64=34e12, float32=67e12)),  # SXM5
    ("A100-SXM4-40GB", dict(bandwidth=1.555e12, float64=9.7e12, float32=19.5e12)),
    ("A100", dict(bandwidth=2.0e12, float64=9.7e12, float32=19.5e12)),  # 80 GB
    ("L4", dict(bandwidth=0.3e12, float64=0.47e12, float32=30.3e12)),
    ("V100", dict(bandwidth=0.9e12, float64=7.8e12, float32=15.7e12)),  # SXM2
)

# Per-item work: (flops, bytes per float64 item, bytes per float32 item).
PIPELINE_WORK = (120, 24, 12)  # per state-step
PUBLIC_WORK = (250, 128, 64)  # per state: energy + velocity + F_so + spin
TARGET_FLOAT32 = 1e11  # pipeline state-steps/s on H100/H200

MODEL = dict(alpha=0.05, j_ex=0.5, theta=1.0, phi=0.3, mass_ratio=1.0)
EFIELD = (1e-3, 4e-4)
TAU, TIME_STEP, HBAR = 10.0, 0.25, 0.6582119569


def device_peaks(kind):
    for name, peaks in DEVICE_PEAKS:
        if name.lower() in kind.lower():
            return name, peaks
    return None, None


def roofline(peaks, work, dtype_name):
    """Items/s bound for (flops, bytes64, bytes32) per item, or None for an unknown device."""
    if peaks is None:
        return None
    flops, bytes64, bytes32 = work
    size = bytes64 if dtype_name == "float64" else bytes32
    return min(peaks[dtype_name] / flops, peaks["bandwidth"] / size)


def fmt(value):
    return "n/a" if value is None else f"{value:.3g}"


def fraction(row):
    return "n/a" if row["roofline"] is None else f"{row['rate'] / row['roofline']:.1%}"


def timed(call, repeats):
    import jax

    started = time.perf_counter()
    jax.block_until_ready(call())
    first = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - started)
    return statistics.median(times), first


def pipeline_rows(sizes, steps, dtype_name, repeats, default_chunk):
    import inspect

    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxsot
    from jaxsot._dynamics._engine import chunked_sums, sea_step

    dtype = jnp.dtype(dtype_name)
    model = jaxsot.RashbaFerromagnet.from_angles(**MODEL).astype(dtype)
    t = np.arange(steps) * TIME_STEP
    q_e = -np.asarray(EFIELD)
    decay = np.exp(-t / TAU)
    force = jnp.asarray(q_e[None, :] * decay[:, None], dtype)
    shift = jnp.asarray(q_e[None, :] * TAU / HBAR * (1.0 - decay[:, None]), dtype)
    simulate_chunk = inspect.signature(jaxsot.simulate).parameters["chunk"].default
    rows = []
    for n in sizes:
        key = jax.random.PRNGKey(n)
        k = jax.random.uniform(key, (n, 2), dtype, -3.0, 3.0)
        weight = jax.random.uniform(jax.random.fold_in(key, 1), (n,), dtype)
        sign = jnp.where(jax.random.bernoulli(jax.random.fold_in(key, 2), 0.5, (n,)), 1.0, -1.0).astype(dtype)
        chunks = [n] + ([simulate_chunk] if default_chunk and n == sizes[0] and simulate_chunk < n else [])
        for chunk in chunks:
            run = jax.jit(functools.partial(chunked_sums, sea_step, chunk=chunk))
            seconds, first = timed(functools.partial(run, model, k, weight, sign, shift, force), repeats)
            rows.append(dict(what=f"pipeline, chunk {chunk}", n=n, steps=steps, rate=n * steps / seconds, first=first, work=PIPELINE_WORK))
        del k, weight, sign
    return rows


def public_rows(sizes, dtype_name, repeats):
    import jax
    import jax.numpy as jnp

    import jaxsot

    dtype = jnp.dtype(dtype_name)
    model = jaxsot.RashbaFerromagnet.from_angles(**MODEL).astype(dtype)
    efield = jnp.asarray(EFIELD, dtype)

    def four(model, k, efield):
        return (
            jaxsot.band_energy(model, k, -1),
            jaxsot.band_velocity(model, k, -1),
            jaxsot.spin_force(model, k, -1, efield),
            jaxsot.band_spin(model, k, -1),
        )

    summed = jax.jit(lambda model, k, efield: [x.sum(0) for x in four(model, k, efield)])
    rows = []
    for n in sizes:
        k = jax.random.uniform(jax.random.PRNGKey(n), (n, 2), dtype, -3.0, 3.0)
        seconds, first = timed(functools.partial(summed, model, k, efield), repeats)
        rows.append(dict(what="public, jit + sums", n=n, steps=1, rate=n / seconds, first=first, work=PUBLIC_WORK))
        seconds, first = timed(functools.partial(four, model, k, efield), repeats)
        rows.append(dict(what="public, eager (checked)", n=n, steps=1, rate=n / seconds, first=first, work=PUBLIC_WORK))
        del k
    return rows


def sweep_rows(points_list, num_phi, num_r, steps, dtype_name, repeats):
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxsot
    from jaxsot.sweep._compute import states_per_point

    rows = []
    times = jnp.linspace(0.0, 30.0, steps, dtype=jnp.dtype(dtype_name))
    for count in points_list:
        rng = np.random.default_rng(count)
        points = {
            "alpha": rng.uniform(0.02, 0.08, count),
            "j_ex": 1.0,
            "theta": rng.uniform(0.0, 1.5, count),
            "phi": rng.uniform(0.0, 6.0, count),
            "fermi_energy": 1.5,
            "efield": 1e-4,
            "tau": 10.0,
        }
        batch = -(-count // len(jax.local_devices()))
        call = functools.partial(jaxsot.sweep_observables, points, times, num_phi=num_phi, num_r=num_r, batch_points=batch)
        seconds, first = timed(call, repeats)
        work = count * states_per_point(num_phi, num_r) * steps
        rows.append(dict(what=f"sweep {num_phi}x{num_r}", n=count, steps=steps, rate=work / seconds, first=first, work=PIPELINE_WORK))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, 3 repeats")
    parser.add_argument("--allow-cpu", action="store_true", help="run on a CPU too (tiny sizes: checks the script, not a GPU figure)")
    parser.add_argument("--repeats", type=int, help="timed calls per row (default 5; 3 with --quick)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)  # float32 rows stay float32 (explicit dtypes)
    devices = jax.devices()
    gpu = devices[0].platform == "gpu"
    if not gpu and not args.allow_cpu:
        print(
            f"bench_gpu.py: no GPU found (jax backend '{jax.default_backend()}', devices: "
            f"{', '.join(d.device_kind for d in devices)}); this benchmark needs a CUDA GPU "
            f"(pip install -e .[cuda]). Nothing was measured; exit status {NO_GPU_STATUS}. "
            "Use --allow-cpu to exercise the script on this machine.",
            file=sys.stderr,
        )
        return NO_GPU_STATUS
    kind = devices[0].device_kind
    name, peaks = device_peaks(kind)
    repeats = args.repeats or (3 if args.quick else 5)
    if gpu:
        pipe_sizes = [1 << 20, 1 << 22] if args.quick else [1 << 20, 1 << 22, 1 << 24]
        pipe_steps = 64
        public_sizes = [1 << 20] if args.quick else [1 << 20, 1 << 24]
        sweep_points, num_phi, num_r, sweep_steps = ([1024] if args.quick else [4096, 16384]), 64, 8, 64
    else:  # --allow-cpu: only checks that every path runs
        pipe_sizes, pipe_steps, public_sizes = [1 << 12], 4, [1 << 12]
        sweep_points, num_phi, num_r, sweep_steps = [4], 16, 4, 8
    print(f"device: {kind} ({len(devices)} device(s)); peaks: {name or 'n/a (unknown device: roofline n/a)'} {peaks or ''}")
    print(f"jax {jax.__version__}; repeats {repeats}\n", flush=True)
    rows = []
    for dtype_name in args.dtypes:
        for row in (
            pipeline_rows(pipe_sizes, pipe_steps, dtype_name, repeats, default_chunk=True)
            + public_rows(public_sizes, dtype_name, repeats)
            + sweep_rows(sweep_points, num_phi, num_r, sweep_steps, dtype_name, repeats)
        ):
            row["dtype"] = dtype_name
            row["roofline"] = roofline(peaks, row["work"], dtype_name)
            rows.append(row)
            print(
                f"  {dtype_name} {row['what']}, N = {row['n']}: {row['rate']:.3g}/s ({fraction(row)} of "
                f"roofline {fmt(row['roofline'])}; first call {row['first']:.2f} s)",
                flush=True,
            )
    print("\n| what | dtype | N (points for sweeps) | steps | items/s | roofline items/s | % of roofline | first call [s] |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['what']} | {r['dtype']} | {r['n']} | {r['steps']} | {r['rate']:.3g} | {fmt(r['roofline'])} | "
            f"{fraction(r)} | {r['first']:.2f} |"
        )
    best = max((r["rate"] for r in rows if r["dtype"] == "float32" and r["what"].startswith("pipeline")), default=math.nan)
    if name in ("H100", "H100 PCIe", "H200"):
        verdict = "met" if best >= TARGET_FLOAT32 else "NOT met"
        print(f"\ntarget >= {TARGET_FLOAT32:.0e} float32 pipeline state-steps/s on {name}: {verdict} (best {best:.3g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

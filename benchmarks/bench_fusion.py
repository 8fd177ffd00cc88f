"""The ensemble pipeline vs a fused compiled kernel of the same per-state-step work.

One run, interleaved (one column busy at a time), medians of wall-clock and process CPU time:

- pipeline: `jaxsot._dynamics._engine.chunked_sums(sea_step, ...)` (what `simulate` runs) over N
  states and `--steps` time steps, float64, simulate's default chunk; M state-steps/s.
- fused strict / fused fast-math: the same per-state-step work as one loop (`numba.njit`,
  fastmath=False / True; `public_reference.numba_pipeline_call`), single-threaded.

Then what XLA-CPU made of the pipeline, read from its compiled HLO: the number of fusions (each
one loop over the chunk's states) and the bytes they write per state, against the fused kernel's
one loop that writes nothing per state but its sums. Results are checked against each other
(1e-9 relative, else exit status 1).

    python benchmarks/bench_fusion.py              # N = 1e5, 8 steps, 5 repeats
    python benchmarks/bench_fusion.py --sizes 1e4 1e6 --repeats 3
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from public_reference import make_drive, make_states, model_numbers, numba_pipeline_call  # noqa: E402
from bench_public import MODEL, default_chunk  # noqa: E402

DTYPE_BYTES = {"f64": 8, "f32": 4, "s32": 4, "s64": 8, "pred": 1}


def pipeline_call(n, steps):
    import jax

    jax.config.update("jax_enable_x64", True)
    import functools

    import jax.numpy as jnp

    import jaxsot
    from jaxsot._dynamics._engine import chunked_sums, sea_step

    model = jaxsot.RashbaFerromagnet.from_angles(**MODEL).astype(jnp.float64)
    k, weight, sign = make_states(n, np.float64)
    shift, force = make_drive(steps, np.float64)
    chunk = min(default_chunk(), n)
    fn = jax.jit(functools.partial(chunked_sums, sea_step, chunk=chunk))
    args = (model, jnp.asarray(k), jnp.asarray(weight), jnp.asarray(sign), jnp.asarray(shift), jnp.asarray(force))
    hlo = fn.lower(*args).compile().as_text()

    def run():
        sums, _ = fn(*args)
        return np.asarray(sums, np.float64)

    return run, hlo, chunk


def fusion_census(hlo, chunk):
    """(fusions, bytes written per state by fusions whose output has a dimension of the chunk)."""
    count, written = 0, 0
    for line in hlo.splitlines():
        match = re.match(r"\s*(ROOT )?%\S+ = (\(?[^=]*?\)?) fusion\(", line)
        if not match:
            continue
        count += 1
        for dtype, dims in re.findall(r"(f64|f32|s32|s64|pred)\[([0-9,]*)\]", match.group(2)):
            sizes = [int(d) for d in dims.split(",") if d]
            if chunk in sizes:
                written += DTYPE_BYTES[dtype] * int(np.prod(sizes)) // chunk
    return count, written


def timed(call, repeats):
    wall, cpu = [], []
    result = call()  # compile / warm up
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return result, statistics.median(wall), statistics.median(cpu)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5], help="numbers of states (default 1e5)")
    parser.add_argument("--steps", type=int, default=8, help="time steps per call (default 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per column (default 5)")
    args = parser.parse_args(argv)
    model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    name = next((line.split(":", 1)[1].strip() for line in model.splitlines() if line.startswith("Model name")), "?")
    print(f"{name}, {os.cpu_count()} CPUs; load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n| N | pipeline | fused strict | fused fast-math | pipeline / strict | pipeline / fast-math | fusions | bytes written per state |")
    print("|---|---|---|---|---|---|---|---|")
    status = 0
    for n in (int(x) for x in args.sizes):
        run, hlo, chunk = pipeline_call(n, args.steps)
        p = model_numbers(np.float64)
        k, weight, sign = make_states(n, np.float64)
        shift, force = make_drive(args.steps, np.float64)
        columns = {"pipeline": run}
        for label, fastmath in (("strict", False), ("fast", True)):
            columns[label] = numba_pipeline_call(p, k, weight, sign, shift, force, fastmath)
        results, rates = {}, {}
        for label, call in columns.items():
            out, wall, cpu = timed(call, args.repeats)
            results[label] = np.asarray(out[0] if isinstance(out, tuple) else out, np.float64).reshape(-1)
            rates[label] = (n * args.steps / wall / 1e6, n * args.steps / cpu / 1e6)
        for label in ("strict", "fast"):
            a, b = results["pipeline"], results[label][: results["pipeline"].size]
            if np.max(np.abs(a - b)) > 1e-9 * np.max(np.abs(a)):
                print(f"MISMATCH pipeline vs fused {label}: {np.max(np.abs(a - b)):.3g}")
                status = 1
        count, written = fusion_census(hlo, chunk)
        r = {key: f"{w:.3g} ({c:.3g})" for key, (w, c) in rates.items()}
        ratio = lambda key: f"{rates['pipeline'][0] / rates[key][0]:.2f} ({rates['pipeline'][1] / rates[key][1]:.2f})"  # noqa: E731
        print(f"| {n:.0e} | {r['pipeline']} | {r['strict']} | {r['fast']} | {ratio('strict')} | {ratio('fast')} | {count} | {written} |")
    print(f"\nM state-steps/s, wall-clock (CPU time); load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return status


if __name__ == "__main__":
    sys.exit(main())

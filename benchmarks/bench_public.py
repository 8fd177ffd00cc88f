"""Public per-state functions vs the ensemble pipeline vs NumPy vs a fused compiled (numba) kernel.

One table, all columns measured in the same run, interleaved (one process busy at a time), medians:

- public, jit: `band_energy`, `band_velocity`, `spin_force`, `band_spin` of N random states (lower
  band, one field) under ONE `jax.jit`, each output summed over the states (what a user writing an
  ensemble average does); M states/s.
- public, eager: the same four calls without an enclosing jit, outputs returned (each call checks
  for states near the band touching point); M states/s.
- previous: the jit workload with the kernel in one vmap and no fusion boundary (the implementation
  before the boundary was added: `evaluate(..., PLAIN)`, what the public functions do on a GPU).
- pipeline: `jaxsot._dynamics._engine.chunked_sums(sea_step, ...)` with simulate's default chunk
  over N states and `--steps` time steps (spin, ds/dt by jvp, F_so by a Hessian-vector product,
  their second-order forms, 10 weighted sums and min Omega per state-step); M state-steps/s.
- NumPy: closed forms of the public workload (energy, velocity, F_so, spin, summed), vectorized.
- numba fm / numba strict: the public workload as one fused loop (`numba.njit`, fastmath=True /
  False, error_model="numpy"), and `pipe fm` / `pipe strict` the pipeline's per-state-step work
  as one fused loop (the closed forms of bench_ensemble.numpy_sums, without the min of Omega,
  which keeps LLVM from vectorizing), single-threaded.

Ratios in the summary come from the same rows; throughputs are printed from wall-clock and from
process CPU-time medians (the latter discount waiting for a core on a loaded machine). Every
result is checked against float64 closed forms on the same inputs (float64: 1e-9 relative, else
exit status 1). Opt-in columns: `--chunked C...` runs the public workload as a user would for
ensemble sums (lax.map over blocks of C states, the four calls and their sums inside a block),
`--variants V...` the pipeline under other XLA-CPU flags (VARIANTS; one worker process per flag
set, since XLA reads its flags when it starts).

    python benchmarks/bench_public.py                 # N = 1e4, 1e5, 1e6, float64 and float32 (~1-3 min)
    python benchmarks/bench_public.py --quick         # N = 1e4, 1e5, 3 repeats (< 30 s)
    python benchmarks/bench_public.py --sizes 1e6 --variants noynn fastmath vw512 noemit noxnn fm512 noconc --chunked 4096

numba is an optional dependency (`pip install -e .[bench]`); without it those columns say n/a.
"""

import argparse
import datetime
import functools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # steady single-threaded NumPy reference

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from public_reference import (  # noqa: E402 (the NumPy and numba references, inputs and constants)
    BAND,
    EFIELD,
    MODEL,
    make_drive,
    make_states,
    model_numbers,
    numba_pipeline_call,
    numba_public_call,
    numpy_public,
)

VARIANTS = {
    "default": "",
    "noynn": "--xla_cpu_experimental_ynn_fusion_type=",
    "fastmath": "--xla_cpu_enable_fast_math=true",
    "vw512": "--xla_cpu_prefer_vector_width=512",
    "noemit": "--xla_cpu_use_fusion_emitters=false",
    "noxnn": "--xla_cpu_experimental_xnn_fusion_type=",
    "fm512": "--xla_cpu_enable_fast_math=true --xla_cpu_prefer_vector_width=512",
    "noconc": "--xla_cpu_enable_concurrency_optimized_scheduler=false",
}


# ---------------------------------------------------------------------------------------------
# JAX side (worker processes).


def _jax_setup():
    import jax

    jax.config.update("jax_enable_x64", True)  # float32 inputs stay float32 (explicit dtypes)
    return jax


def default_chunk():
    import inspect

    import jaxsot

    return inspect.signature(jaxsot.simulate).parameters["chunk"].default


def public_sums_jax(model, k, efield, functions):
    """The four outputs summed over the states (float64 host vector of 8, as numpy_public)."""
    import jax.numpy as jnp

    energy, velocity, force, spin = functions(model, k, efield)
    return jnp.concatenate([energy.sum(keepdims=True), velocity.sum(0), force.sum(0), spin.sum(0)])


def make_jax_calls(n, dtype_name, steps, chunked):
    """name -> (callable returning host results, work units per call) for one configuration."""
    jax = _jax_setup()
    import jax.numpy as jnp

    import jaxsot
    from jaxsot._bands._arrays import PLAIN, evaluate
    from jaxsot._bands._kernels import energy, spin, spin_force_components, velocity
    from jaxsot._dynamics._engine import chunked_sums, sea_step

    dtype = np.dtype(dtype_name)
    model = jaxsot.RashbaFerromagnet.from_angles(**MODEL).astype(jnp.dtype(dtype_name))
    k_host, weight, sign = make_states(n, dtype)
    k = jnp.asarray(k_host)
    efield = jnp.asarray(np.asarray(EFIELD, dtype))
    calls = {}

    def public(model, k, efield):
        return (
            jaxsot.band_energy(model, k, BAND),
            jaxsot.band_velocity(model, k, BAND),
            jaxsot.spin_force(model, k, BAND, efield),
            jaxsot.band_spin(model, k, BAND),
        )

    def previous(model, k, efield):
        # One vmap of each kernel, no fusion boundary (PLAIN): the implementation before this one.
        s = float(BAND)
        f = -efield
        return (
            evaluate(lambda m, a, b: energy(m, a, b, s), model, k, None, PLAIN)[0],
            evaluate(lambda m, a, b: velocity(m, a, b, s), model, k, None, PLAIN)[0],
            evaluate(lambda m, a, b, fx, fy: spin_force_components(m, a, b, s, fx, fy), model, k, f, PLAIN)[0],
            evaluate(lambda m, a, b: spin(m, a, b, s), model, k, None, PLAIN)[0],
        )

    def chunked_sums_public(model, k, efield, chunk):
        # What a user can write for ensemble sums: lax.map over blocks of `chunk` states, the four
        # public calls and their sums inside each block (no N-sized intermediate at all); the
        # n % chunk remaining states in one more call.
        whole = k.shape[0] - k.shape[0] % chunk
        blocks = k[:whole].reshape(-1, chunk, 2)
        sums = jax.lax.map(lambda block: public_sums_jax(model, block, efield, public), blocks).sum(0)
        if whole < k.shape[0]:
            sums = sums + public_sums_jax(model, k[whole:], efield, public)
        return sums

    summed = jax.jit(functools.partial(public_sums_jax, functions=public))
    calls["public_jit"] = (lambda: np.asarray(summed(model, k, efield), np.float64), n)

    def eager():
        outs = public(model, k, efield)
        jax.block_until_ready(outs)
        return outs

    calls["public_eager"] = (eager, n)
    old = jax.jit(functools.partial(public_sums_jax, functions=previous))
    calls["previous"] = (lambda: np.asarray(old(model, k, efield), np.float64), n)
    for chunk in chunked:
        fn = jax.jit(functools.partial(chunked_sums_public, chunk=min(chunk, n)))
        calls[f"chunk{chunk}"] = (lambda fn=fn: np.asarray(fn(model, k, efield), np.float64), n)

    shift, force = (jnp.asarray(x) for x in make_drive(steps, dtype))
    chunk = min(default_chunk(), n)
    pipeline = jax.jit(functools.partial(chunked_sums, sea_step, chunk=chunk))
    pipe_args = (model, k, jnp.asarray(weight), jnp.asarray(sign), shift, force)

    def run_pipeline():
        sums, smallest = pipeline(*pipe_args)
        return np.asarray(sums, np.float64), float(smallest)

    calls["pipeline"] = (run_pipeline, n * steps)
    return calls


def worker():
    """Serve setup/run/result requests over stdin/stdout, one JSON object per line."""
    jax = _jax_setup()
    out = sys.stdout
    sys.stdout = sys.stderr  # keep the protocol channel clean
    calls = {}
    for line in sys.stdin:
        request = json.loads(line)
        command = request["cmd"]
        if command == "setup":
            calls = make_jax_calls(request["n"], request["dtype"], request["steps"], request["chunked"])
            first = {}
            for name, (call, _) in calls.items():
                start = time.perf_counter()
                jax.block_until_ready(call())
                first[name] = time.perf_counter() - start
            reply = {"first_s": first, "work": {name: work for name, (_, work) in calls.items()}}
        elif command == "run":
            call = calls[request["name"]][0]
            cpu, wall = time.process_time(), time.perf_counter()
            jax.block_until_ready(call())
            reply = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
        elif command == "result":
            value = calls[request["name"]][0]()
            if request["name"] == "pipeline":
                reply = {"sums": value[0].tolist(), "smallest": value[1]}
            elif request["name"] == "public_eager":
                energy, velocity, force, spin = (np.asarray(v, np.float64) for v in value)
                parts = [[energy.sum()], velocity.sum(0), force.sum(0), spin.sum(0)]
                reply = {"sums": np.concatenate(parts).tolist()}
            else:
                reply = {"sums": value.tolist()}
        elif command == "quit":
            break
        else:
            reply = {"error": f"unknown command {command!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class Worker:
    def __init__(self, variant):
        env = dict(os.environ)
        flags = " ".join(x for x in (env.get("XLA_FLAGS", ""), VARIANTS[variant]) if x)
        if flags:
            env["XLA_FLAGS"] = flags
        self.variant = variant
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, text=True,
        )

    def ask(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.variant} exited (code {self.process.wait()})")
        return json.loads(line)

    def close(self):
        try:
            self.ask(cmd="quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.process.wait(timeout=60)


# ---------------------------------------------------------------------------------------------
# Driver.


def relative_error(reference, other):
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    scale = np.max(np.abs(reference), axis=0)
    return float(np.max(np.abs(other - reference) / np.where(scale > 0, scale, 1.0)))


def machine_description():
    lines = [f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}"]
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        lines += [x for x in lscpu.splitlines() if x.split(":")[0] in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache")]
    except (OSError, subprocess.CalledProcessError):
        lines.append(f"cpu: {platform.processor()} ({os.cpu_count()} logical CPUs)")
    import jax

    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"
    lines.append(f"python {platform.python_version()}, jax {jax.__version__}, numpy {np.__version__}, numba {numba_version}")
    lines.append(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return lines


def run_configuration(n, dtype_name, steps, repeats, workers, chunked):
    dtype = np.dtype(dtype_name)
    p = model_numbers(dtype)
    k, weight, sign = make_states(n, dtype)
    shift, force = make_drive(steps, dtype)
    row = {"n": n, "dtype": dtype_name, "steps": steps}
    local = {"numpy": (lambda: numpy_public(p, k), n)}
    for fastmath, tag in ((True, "fm"), (False, "strict")):
        public_call = numba_public_call(p, k, fastmath)
        pipe_call = numba_pipeline_call(p, k, weight, sign, shift, force, fastmath)
        if public_call is not None:
            local[f"numba_{tag}"] = (public_call, n)
            local[f"pipe_{tag}"] = (pipe_call, n * steps)
    for call, _ in local.values():
        call()  # compile (numba) and warm the allocator
    remote = {}
    for variant, w in workers.items():
        reply = w.ask(cmd="setup", n=n, dtype=dtype_name, steps=steps, chunked=chunked if variant == "default" else [])
        names = list(reply["work"]) if variant == "default" else ["pipeline"]
        for name in names:
            remote[name if variant == "default" else f"pipeline_{variant}"] = (w, name, reply["work"][name])
            row[f"compile_s_{name if variant == 'default' else 'pipeline_' + variant}"] = reply["first_s"][name]
    columns = list(local) + list(remote)
    wall = {c: [] for c in columns}
    cpu = {c: [] for c in columns}
    for _ in range(repeats):
        for c in columns:
            if c in local:
                t, u = time.perf_counter(), time.process_time()
                local[c][0]()
                wall[c].append(time.perf_counter() - t)
                cpu[c].append(time.process_time() - u)
            else:
                w, name, _ = remote[c]
                reply = w.ask(cmd="run", name=name)
                wall[c].append(reply["wall_s"])
                cpu[c].append(reply["cpu_s"])
    for c in columns:
        work = local[c][1] if c in local else remote[c][2]
        row[c] = work / statistics.median(wall[c]) / 1e6
        row[f"{c}_cpu"] = work / statistics.median(cpu[c]) / 1e6
    # Agreement with float64 closed forms evaluated on the same (possibly float32) inputs: NumPy
    # for the public workload, bench_ensemble.numpy_sums for the pipeline.
    from bench_ensemble import numpy_sums

    k64 = k.astype(np.float64)
    reference = numpy_public(p, k64)
    params = {"alpha": p["alpha"], "j_ex": p["j_ex"], "magnetization": list(p["m"]), "mass": p["mass"]}
    pipe_reference = numpy_sums(params, k64, weight.astype(np.float64), sign.astype(np.float64),
                                shift.astype(np.float64), force.astype(np.float64))[0]
    checks = {"numpy": relative_error(reference, local["numpy"][0]())}
    for c in columns:
        if c in remote:
            w, name, _ = remote[c]
            sums = w.ask(cmd="result", name=name)["sums"]
            checks[c] = relative_error(pipe_reference if name == "pipeline" else reference, sums)
        elif c != "numpy":
            value = local[c][0]()
            checks[c] = relative_error(pipe_reference, value[0]) if c.startswith("pipe") else relative_error(reference, value)
    row["agreement"] = checks
    return row


def fmt(x):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def print_tables(rows, variants, chunked):
    public_cols = ["public_jit", "public_eager", "previous", *[f"chunk{c}" for c in chunked], "numpy", "numba_fm", "numba_strict"]
    pipe_cols = ["pipeline", *[f"pipeline_{v}" for v in variants], "pipe_fm", "pipe_strict"]
    header = ["N", "dtype", *public_cols, *pipe_cols]
    for title, suffix in (("wall-clock", ""), ("CPU time of the process (all its threads)", "_cpu")):
        print(f"Throughput, medians of {title} (public workload: M states/s; pipeline: M state-steps/s)\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in rows:
            cells = (fmt(r.get(c + suffix)) for c in public_cols + pipe_cols)
            print("| " + " | ".join([f"{r['n']:.0e}", r["dtype"], *cells]) + " |")
        print()
    print("Ratios from the same rows (wall-clock medians; CPU-time medians in parentheses)\n")
    ratios = [
        ("public jit / pipeline", "public_jit", "pipeline"),
        ("public eager / pipeline", "public_eager", "pipeline"),
        ("public jit / NumPy", "public_jit", "numpy"),
        ("public jit / previous", "public_jit", "previous"),
        ("public jit / numba fm", "public_jit", "numba_fm"),
        ("pipeline / pipe fm", "pipeline", "pipe_fm"),
        ("pipeline / pipe strict", "pipeline", "pipe_strict"),
        *[(f"pipeline {v} / pipeline", f"pipeline_{v}", "pipeline") for v in variants],
    ]
    header = ["N", "dtype", *(name for name, _, _ in ratios)]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = []
        for _, a, b in ratios:
            if r.get(a) is None or r.get(b) is None:
                cells.append("n/a")
            else:
                cells.append(f"{r[a] / r[b]:.2f} ({r[a + '_cpu'] / r[b + '_cpu']:.2f})")
        print("| " + " | ".join([f"{r['n']:.0e}", r["dtype"], *cells]) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1e4 and 1e5, 3 repeats, no variants (< 30 s)")
    parser.add_argument("--sizes", type=float, nargs="+", help="numbers of states (default 1e4 1e5 1e6)")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--steps", type=int, default=8, help="pipeline time steps per call (default 8)")
    parser.add_argument("--repeats", type=int, help="timed calls per column (default 7; 3 with --quick)")
    parser.add_argument("--variants", nargs="*", default=[], help=f"pipeline under XLA flags: {sorted(set(VARIANTS) - {'default'})}")
    parser.add_argument("--chunked", type=int, nargs="*", default=[], help="also time the public workload in lax.map chunks of these sizes")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in (args.sizes or ([1e4, 1e5] if args.quick else [1e4, 1e5, 1e6]))]
    repeats = args.repeats or (3 if args.quick else 7)
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; allowed: {sorted(set(VARIANTS) - {'default'})}")
    variants = [v for v in args.variants if v != "default"]

    _jax_setup()
    description = machine_description()
    print("\n".join(description))
    print(f"pipeline: {args.steps} steps per call, chunk {default_chunk()} (simulate's default); repeats {repeats}\n", flush=True)
    started = time.perf_counter()
    workers = {name: Worker(name) for name in ["default", *variants]}
    rows = []
    try:
        for dtype_name in args.dtypes:
            for n in sizes:
                rows.append(run_configuration(n, dtype_name, args.steps, repeats, workers, args.chunked))
                r = rows[-1]
                print(f"  done N = {n:.0e} {dtype_name}: public jit {fmt(r['public_jit'])}, pipeline {fmt(r['pipeline'])}, "
                      f"NumPy {fmt(r['numpy'])}, numba fm {fmt(r.get('numba_fm'))} ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        for w in workers.values():
            w.close()
    print(f"\ntotal time {time.perf_counter() - started:.0f} s; load average at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print_tables(rows, variants, args.chunked)
    worst = {}
    for r in rows:
        for name, error in r["agreement"].items():
            worst[(r["dtype"], name)] = max(worst.get((r["dtype"], name), 0.0), error)
    print("\nlargest relative difference from the closed forms: " + ", ".join(f"{d} {c}: {e:.1e}" for (d, c), e in sorted(worst.items())))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": description, "rows": rows}, handle, indent=1)
    # float64: every implementation within 1e-9 of the closed forms (sums of 1e4-1e6 terms).
    failed = [key for key, error in worst.items() if key[0] == "float64" and not error <= 1e-9]
    if failed:
        print(f"AGREEMENT FAILED (float64 > 1e-9): {failed}")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker()
    else:
        sys.exit(main())

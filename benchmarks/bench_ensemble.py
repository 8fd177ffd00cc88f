"""Ensemble throughput of the exact spin-force pipeline: JAX vs a NumPy closed-form reference.

A state-step is one Fermi-sea state evaluated at one time step. Per state-step the JAX pipeline
(`jaxsot._dynamics._engine.chunked_sums(sea_step, ...)`, the sea part of what `jaxsot.simulate` runs per
time block, with simulate's default chunk) evaluates the spin s b/|b|, ds/dt by a jvp, the spin
force by a Hessian-vector product of s*Omega, the second-order closed forms of both, and adds the
10 weighted components into per-step sums, plus the running minimum of Omega. The NumPy reference
computes the same 10 sums and min Omega from closed forms, vectorized over states, with a Python
loop over time steps; the benchmark checks that both agree (float64: relative 1e-9 per component).

    python benchmarks/bench_ensemble.py            # N = 1e3 .. 1e6, float64 and float32 (~4-6 min)
    python benchmarks/bench_ensemble.py --quick    # fewer steps and repeats, no memory/variants (< 1 min)
    python benchmarks/bench_ensemble.py --sizes 1e4 1e6 --dtypes float64 --steps 10 --repeats 7

Method. Every JAX configuration runs in its own worker process (the XLA flags of a variant must be
set before jax starts): `default` (plain flags: what a user gets), and the variants `noynn`
(XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=, i.e. XLA-CPU's experimental YNN fusions off)
and `2dev` (XLA_FLAGS=--xla_force_host_platform_device_count=2: the library's multi-device path
`jaxsot._dynamics._engine.sharded_sea_sums`, as `simulate` and `jaxsot run` use it: states split over two
CPU devices by shard_map, one psum at the end). The parent runs NumPy itself and interleaves the timed calls
(NumPy, default, noynn, 2dev, NumPy, ...), one process busy at a time, so all columns of a row come
from the same minutes of a noisy machine; figures are medians of wall-clock times ("ratio (CPU
time)" divides process CPU times instead, which discounts the time a process waited for a core
on a loaded machine). Compile time = first call minus the steady-state median. Peak memory =
peak resident set size (VmHWM) of a fresh process that loads the states and makes one call
(JAX: compile included), next to the same figure right after the imports (baseline).
"""

import argparse
import datetime
import functools
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# NumPy's BLAS (OpenBLAS) spreads the 10 weighted sums (weight @ v) of every step over both cores;
# on this shared 2-core VM that made the reference 3-15x slower whenever other jobs ran (threads
# waiting on a descheduled sibling). One BLAS thread is the faster, steadier reference; set
# OPENBLAS_NUM_THREADS yourself to override. It does not affect XLA.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

HBAR = 0.6582119569  # eV fs, as jaxsot.constants.HBAR (NumPy processes do not import jax)

# One model for every process (rebuilt from these numbers, so every process has the same bits):
# alpha 0.05 eV nm, J 0.5 eV, M tilted (theta 1, phi 0.3), E_F 0.8 eV: both bands occupied, no
# band touching in the sea. Drive: step field E along (1, 0.4) mV/nm with tau = 10 fs relaxation.
MODEL = dict(alpha=0.05, j_ex=0.5, theta=1.0, phi=0.3, mass_ratio=1.0)
FERMI_ENERGY = 0.8
EFIELD = (1e-3, 4e-4)
TAU = 10.0
TIME_STEP = 0.25

VARIANTS = {
    "default": "",
    "noynn": "--xla_cpu_experimental_ynn_fusion_type=",
    "2dev": "--xla_force_host_platform_device_count=2",
}


# ---------------------------------------------------------------------------------------------
# NumPy reference (closed forms).


def numpy_sums(params, k0, weight, sign, shift, force):
    """Per-step weighted sums of [ds/dt (3), F (2), ds/dt 2nd (3), F 2nd (2)] and min Omega.

    Closed forms (docs: Theory > Hamilton's equations and the spin force), b = alpha (k x z) - J M, Omega = |b|:
      ds/dt = (s/Omega) [bdot - b_hat (b_hat . bdot)],   bdot = alpha (k' x z), k' = f/hbar
      F     = s (m/hbar^2)(alpha^2/Omega) [f - u (u.f)/Omega^2],   u = z x b = alpha k - J (z x M)
      ds/dt 2nd = (s alpha/Omega) [k' x z - (J^2/Omega^2) M (w.k')],   w = z x M
      F 2nd     = s (m alpha^2/(hbar^2 Omega)) [f - (J^2/Omega^2) w (w.f)]
    All in the dtype of k0 (scalars are cast, so float32 stays float32).
    """
    dt = k0.dtype.type
    alpha, j_ex = dt(params["alpha"]), dt(params["j_ex"])
    mx, my, mz = (dt(x) for x in params["magnetization"])
    hbar = dt(HBAR)
    force_scale = dt(params["mass"] * params["alpha"] ** 2 / HBAR**2)
    j2 = j_ex * j_ex
    wx, wy = -my, mx
    bz = -j_ex * mz
    k0x, k0y = np.ascontiguousarray(k0[:, 0]), np.ascontiguousarray(k0[:, 1])
    steps = shift.shape[0]
    sums = np.empty((steps, 10), k0.dtype)
    smallest = np.inf
    for t in range(steps):
        kx = k0x + shift[t, 0]
        ky = k0y + shift[t, 1]
        fx, fy = force[t, 0], force[t, 1]
        kdx, kdy = fx / hbar, fy / hbar
        bx = alpha * ky - j_ex * mx
        by = -alpha * kx - j_ex * my
        omega = np.sqrt(bx * bx + by * by + bz * bz)
        inverse = 1.0 / omega
        s_over = sign * inverse  # s / Omega
        inverse2 = inverse * inverse
        # exact ds/dt: bdot = alpha (kdy, -kdx, 0)
        bdx, bdy = alpha * kdy, -alpha * kdx
        along = (bx * bdx + by * bdy) * inverse2  # (b_hat . bdot) / Omega
        rate = (s_over * (bdx - bx * along), s_over * (bdy - by * along), s_over * (-bz * along))
        # exact F: u = (-by, bx)
        ux, uy = -by, bx
        u_dot_f = (ux * fx + uy * fy) * inverse2
        f_scale = s_over * force_scale
        spin_force = (f_scale * (fx - ux * u_dot_f), f_scale * (fy - uy * u_dot_f))
        # second order
        j2_inverse2 = j2 * inverse2
        p_rate = j2_inverse2 * (wx * kdx + wy * kdy)
        sa = s_over * alpha
        rate2 = (sa * (kdy - p_rate * mx), sa * (-kdx - p_rate * my), sa * (-p_rate * mz))
        p_force = j2_inverse2 * (wx * fx + wy * fy)
        spin_force2 = (f_scale * (fx - p_force * wx), f_scale * (fy - p_force * wy))
        for i, v in enumerate((*rate, *spin_force, *rate2, *spin_force2)):
            sums[t, i] = weight @ v
        smallest = min(smallest, float(omega.min()))
    return sums, smallest


def model_params(model):
    return {
        "alpha": float(model.alpha),
        "j_ex": float(model.j_ex),
        "magnetization": [float(x) for x in model.magnetization],
        "mass": float(model.mass),
    }


# ---------------------------------------------------------------------------------------------
# Inputs.


def sea_grid(n):
    """(num_phi, num_r) with 2 num_phi num_r = n states (both bands) where possible.

    num_r is the divisor of n/2 nearest sqrt(n/20) (about 10 angles per radius on each band).
    """
    half = max(n // 2, 16)
    target = math.sqrt(half / 10.0)
    divisors = [d for d in range(2, int(math.isqrt(half)) + 1) if half % d == 0 and half // d >= 8]
    if divisors:
        num_r = min(divisors, key=lambda d: abs(d - target))
        return half // num_r, num_r
    num_r = max(2, round(target))
    return max(8, round(half / num_r)), num_r


def build_inputs(n, dtype_name, steps, directory):
    """Fermi-sea states of both bands and a (steps, 2) drive; saved to an .npz for the workers."""
    import jax.numpy as jnp

    import jaxsot

    dtype = jnp.dtype(dtype_name)
    model = jaxsot.RashbaFerromagnet.from_angles(**MODEL).astype(dtype)
    num_phi, num_r = sea_grid(n)
    ks, ws, ss = [], [], []
    for band in jaxsot.occupied_bands(model, FERMI_ENERGY):
        k, area = jaxsot.fermi_sea_nodes(model, jnp.asarray(FERMI_ENERGY, dtype), band, num_phi, num_r)
        ks.append(np.asarray(k))
        ws.append(np.asarray(area))
        ss.append(np.full(area.shape, float(band), dtype))
    # Step field with relaxation, closed form: f(t) = hbar k' = qE exp(-t/tau) (q = -e),
    # Delta k(t) = (qE tau/hbar)(1 - exp(-t/tau)).
    t = np.arange(steps, dtype=np.float64) * TIME_STEP
    q_e = -np.asarray(EFIELD)
    decay = np.exp(-t / TAU)
    force = (q_e[None, :] * decay[:, None]).astype(dtype)
    shift = (q_e[None, :] * TAU / HBAR * (1.0 - decay[:, None])).astype(dtype)
    path = os.path.join(directory, f"states_{n}_{dtype_name}_{steps}.npz")
    np.savez(
        path, k=np.concatenate(ks), weight=np.concatenate(ws), sign=np.concatenate(ss), shift=shift, force=force
    )
    return path, model_params(model), (num_phi, num_r)


def load_inputs(path):
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


# ---------------------------------------------------------------------------------------------
# JAX side (runs in worker and memory processes).


def _jax_setup():
    import jax

    jax.config.update("jax_enable_x64", True)  # float32 inputs stay float32 (explicit dtypes)
    return jax


def default_chunk():
    import inspect

    import jaxsot

    return inspect.signature(jaxsot.simulate).parameters["chunk"].default


def make_jax_call(inputs, dtype_name, variant):
    """A no-argument callable that runs the jitted pipeline once and returns its outputs."""
    jax = _jax_setup()
    import jax.numpy as jnp

    import jaxsot
    from jaxsot._dynamics._engine import chunked_sums, sea_step

    model = jaxsot.RashbaFerromagnet.from_angles(**MODEL).astype(jnp.dtype(dtype_name))
    k, weight, sign = inputs["k"], inputs["weight"], inputs["sign"]
    shift, force = jnp.asarray(inputs["shift"]), jnp.asarray(inputs["force"])
    chunk = default_chunk()
    if variant != "2dev":
        chunk = min(chunk, k.shape[0])  # as simulate does

        @functools.partial(jax.jit, static_argnames="chunk")
        def pipeline(model, k, weight, sign, shift, force, *, chunk):
            return chunked_sums(sea_step, model, k, weight, sign, shift, force, chunk)

        args = (model, jnp.asarray(k), jnp.asarray(weight), jnp.asarray(sign), shift, force)
        return lambda: pipeline(*args, chunk=chunk)

    # The library's own multi-device path, as `simulate` (and `jaxsot run`) use it: states split
    # over the devices by shard_map, each device scans its own chunks, one psum/pmin at the end.
    from jaxsot._dynamics._engine import sharded_sea_sums

    devices = tuple(jax.devices()[:2])

    @jax.jit
    def pipeline(model, k, weight, sign, shift, force):
        return sharded_sea_sums(model, (k, weight, sign), shift, force, chunk, devices)

    args = (model, jnp.asarray(k), jnp.asarray(weight), jnp.asarray(sign), shift, force)
    return lambda: pipeline(*args)


def worker(variant):
    """Serve timed calls over stdin/stdout, one JSON object per line."""
    jax = _jax_setup()
    call = None
    out = sys.stdout
    sys.stdout = sys.stderr  # keep the protocol channel clean
    for line in sys.stdin:
        request = json.loads(line)
        command = request["cmd"]
        if command == "setup":
            call = make_jax_call(load_inputs(request["path"]), request["dtype"], variant)
            start = time.perf_counter()
            jax.block_until_ready(call())
            reply = {"first_s": time.perf_counter() - start, "devices": len(jax.devices())}
        elif command == "run":
            cpu, wall = time.process_time(), time.perf_counter()
            jax.block_until_ready(call())
            reply = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
        elif command == "result":
            sums, smallest = call()
            reply = {"sums": np.asarray(sums, np.float64).tolist(), "smallest": float(smallest)}
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
            [sys.executable, os.path.abspath(__file__), "--worker", variant],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
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
# Peak memory (fresh process per configuration).


def _max_rss_mb():
    """Peak resident set size of this process [MiB].

    VmHWM from /proc/self/status: on Linux ru_maxrss (getrusage) of a child started by
    fork + exec starts at the parent's peak (the benchmark parent holds the 1e6-state inputs), so
    it would report the parent's memory; VmHWM belongs to the child's own address space.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def memory_child(implementation, path, dtype_name):
    if implementation == "jax":
        jax = _jax_setup()
        import jaxsot  # noqa: F401  (imports counted in the baseline)
    baseline = _max_rss_mb()
    inputs = load_inputs(path)
    if implementation == "jax":
        jax.block_until_ready(make_jax_call(inputs, dtype_name, "default")())
    else:
        params = json.loads(os.environ["BENCH_MODEL_PARAMS"])
        numpy_sums(params, inputs["k"], inputs["weight"], inputs["sign"], inputs["shift"], inputs["force"])
    print(json.dumps({"baseline_mb": baseline, "peak_mb": _max_rss_mb()}))


def measure_memory(implementation, path, dtype_name, params):
    env = dict(os.environ, BENCH_MODEL_PARAMS=json.dumps(params))
    command = [sys.executable, os.path.abspath(__file__), "--memory-child", implementation, path, dtype_name]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Driver.


def agreement(reference, other):
    """max over the 10 components of max_t |other - reference| / max_t |reference|."""
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    scale = np.max(np.abs(reference), axis=0)
    return float(np.max(np.max(np.abs(other - reference), axis=0) / np.where(scale > 0, scale, 1.0)))


def default_steps(n, target):
    return max(2, int(round(target / n)))


def machine_description():
    lines = [f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}"]
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        lines += lscpu.splitlines()[:20]
    except (OSError, subprocess.CalledProcessError):
        lines.append(f"cpu: {platform.processor()} ({os.cpu_count()} logical CPUs)")
    import jax

    lines.append(f"python {platform.python_version()}, jax {jax.__version__}, numpy {np.__version__}")
    lines.append(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~10x fewer state-steps, 3 repeats, no memory or variants")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e3, 1e4, 1e5, 1e6], help="numbers of states N")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--steps", type=int, nargs="+", help="time steps per call (one value, or one per size)")
    parser.add_argument("--repeats", type=int, help="timed calls per configuration (default 5; 3 with --quick)")
    parser.add_argument("--variants", nargs="*", help="JAX variants besides default (default: noynn 2dev; none with --quick)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    sizes = [int(x) for x in args.sizes]
    target = 3e6 if args.quick else 3e7  # state-steps per call: NumPy ~1-2 s per call at the default
    if args.steps is None:
        steps = [default_steps(n, target) for n in sizes]
    elif len(args.steps) == 1:
        steps = args.steps * len(sizes)
    elif len(args.steps) == len(sizes):
        steps = args.steps
    else:
        parser.error("--steps takes one value or one per size")
    repeats = args.repeats or (3 if args.quick else 5)
    variants = args.variants if args.variants is not None else ([] if args.quick else ["noynn", "2dev"])
    unknown = set(variants) - set(VARIANTS) - {"default"}
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; allowed: {sorted(set(VARIANTS) - {'default'})}")
    variants = [v for v in variants if v != "default"]
    with_memory = not (args.quick or args.no_memory)

    _jax_setup()
    description = machine_description()
    print("\n".join(description), flush=True)
    print(f"JAX chunk (simulate's default): {default_chunk()}; repeats: {repeats}; variants: {variants or 'none'}")

    workers = {name: Worker(name) for name in ["default", *variants]}
    rows = []
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="bench_ensemble_") as directory:
            for dtype_name in args.dtypes:
                for n, num_steps in zip(sizes, steps):
                    rows.append(
                        run_configuration(n, dtype_name, num_steps, repeats, workers, directory, with_memory)
                    )
                    print_row(rows[-1], variants, flush=True)
    finally:
        for w in workers.values():
            w.close()
    print(f"\ntotal time {time.perf_counter() - started:.0f} s; load average at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print_table(rows, variants, with_memory)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": description, "rows": rows}, handle, indent=1)
    failed = [r for r in rows if r["dtype"] == "float64" and not r["agree_default"] <= 1e-9]
    if failed:
        print(f"AGREEMENT FAILED (float64 JAX vs NumPy > 1e-9) for N = {[r['n'] for r in failed]}")
        return 1
    return 0


def run_configuration(n, dtype_name, steps, repeats, workers, directory, with_memory):
    path, params, grid = build_inputs(n, dtype_name, steps, directory)
    inputs = load_inputs(path)
    states = inputs["k"].shape[0]
    row = {"n": states, "dtype": dtype_name, "steps": steps, "grid": grid}
    for name, w in workers.items():
        reply = w.ask(cmd="setup", path=path, dtype=dtype_name)
        row[f"first_s_{name}"] = reply["first_s"]
    reference_args = (params, inputs["k"], inputs["weight"], inputs["sign"], inputs["shift"], inputs["force"])
    # Warm NumPy's allocator (the first calls of a size page-fault fresh memory) before timing.
    numpy_sums(params, inputs["k"], inputs["weight"], inputs["sign"], inputs["shift"][:2], inputs["force"][:2])
    times = {"numpy": [], **{name: [] for name in workers}}
    cpu = {name: [] for name in times}
    reference = None
    for _ in range(repeats):
        wall, clock = time.perf_counter(), time.process_time()
        reference = numpy_sums(*reference_args)
        times["numpy"].append(time.perf_counter() - wall)
        cpu["numpy"].append(time.process_time() - clock)
        for name, w in workers.items():
            reply = w.ask(cmd="run")
            times[name].append(reply["wall_s"])
            cpu[name].append(reply["cpu_s"])
    state_steps = states * steps
    for name, values in times.items():
        median = statistics.median(values)
        row[f"mss_{name}"] = state_steps / median / 1e6
        row[f"mss_cpu_{name}"] = state_steps / statistics.median(cpu[name]) / 1e6
        row[f"wall_s_{name}"] = values
        row[f"util_{name}"] = statistics.median(cpu[name]) / median
    for name, w in workers.items():
        row[f"compile_s_{name}"] = row[f"first_s_{name}"] - statistics.median(times[name])
        result = w.ask(cmd="result")
        row[f"agree_{name}"] = agreement(reference[0], result["sums"])
        row[f"min_omega_diff_{name}"] = abs(result["smallest"] - reference[1]) / reference[1]
        row[f"ratio_{name}"] = row[f"mss_{name}"] / row["mss_numpy"]
        row[f"ratio_cpu_{name}"] = row[f"mss_cpu_{name}"] / row["mss_cpu_numpy"]
    if with_memory:
        for implementation in ("jax", "numpy"):
            memory = measure_memory(implementation, path, dtype_name, params)
            row[f"peak_mb_{implementation}"] = memory["peak_mb"]
            row[f"baseline_mb_{implementation}"] = memory["baseline_mb"]
    os.remove(path)
    return row


def print_row(row, variants, flush=False):
    extra = "".join(f", {v} {row[f'mss_{v}']:.1f} Mss/s" for v in variants)
    memory = ""
    if "peak_mb_jax" in row:
        memory = f", peak MB jax {row['peak_mb_jax']:.0f} numpy {row['peak_mb_numpy']:.0f}"
    print(
        f"N={row['n']} {row['dtype']} steps={row['steps']}: JAX {row['mss_default']:.1f} Mss/s, "
        f"NumPy {row['mss_numpy']:.1f} Mss/s, ratio {row['ratio_default']:.2f}, compile "
        f"{row['compile_s_default']:.2f} s, agreement {row['agree_default']:.1e}{extra}{memory}",
        flush=flush,
    )


def print_table(rows, variants, with_memory):
    head = ["N", "dtype", "steps", "JAX Mss/s", "NumPy Mss/s", "ratio", "ratio (CPU time)", "compile s"]
    if with_memory:
        head += ["peak MB JAX (base)", "peak MB NumPy (base)"]
    head += ["JAX vs NumPy"]
    names = {"noynn": "no-YNN flag", "2dev": "2 devices"}
    for v in variants:
        head += [f"{names.get(v, v)} Mss/s", f"{names.get(v, v)} / JAX"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [
            f"{r['n']:.0e}".replace("e+0", "e"),
            r["dtype"],
            str(r["steps"]),
            f"{r['mss_default']:.1f}",
            f"{r['mss_numpy']:.1f}",
            f"{r['ratio_default']:.2f}",
            f"{r['ratio_cpu_default']:.2f}",
            f"{r['compile_s_default']:.2f}",
        ]
        if with_memory:
            cells += [
                f"{r['peak_mb_jax']:.0f} ({r['baseline_mb_jax']:.0f})",
                f"{r['peak_mb_numpy']:.0f} ({r['baseline_mb_numpy']:.0f})",
            ]
        cells += [f"{r['agree_default']:.1e}"]
        for v in variants:
            cells += [f"{r[f'mss_{v}']:.1f}", f"{r[f'mss_{v}'] / r['mss_default']:.2f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    elif len(sys.argv) > 4 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())

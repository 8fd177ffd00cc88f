"""jaxsot sweep: run a sweep chunk by chunk (atomic chunk files, resume, several processes), then merge.
"""

import contextlib
import dataclasses
import json
import math
import pathlib
import time

import numpy as onp
from ._config import SHIFT_SUBSTEPS, ConfigError, SweepConfig, sweep_identity
from ._sweep_store import FORMAT_VERSION, atomic_write_bytes, auto_chunk_points, check_new_sweep_folder, check_sweep_targets, chunk_path, identity_changes, identity_hash, merge, record_chunk_checksums, remove_temporaries, save_chunk, stored_names, verify_chunks, write_outputs
from ._common import UsageError, check_file_size_limit, hold_lock, rendezvous, prepare_out, read_config_text, set_precision, use_cpu_cores_as_devices
from ._progress import Status, say
from ._config import DEFAULT_SWEEP_TOML, parse_sweep_config
from ._preflight import SweepPlan, check_disk, plan_sweep
from ._sweep_kinds import KIND_CHUNK_POINTS, KIND_STATUS, describe, is_kind_sweep
from ._sweep_kinds_work import check_kind_work, compute_kind_chunk, plan_kind_sweep


# ------------------------------------------------------------------------------------------------
# The driver.


@dataclasses.dataclass
class SweepRun:
    """What `run_sweep` did (for the CLI and the tests)."""

    out: pathlib.Path
    num_points: int
    num_chunks: int
    chunk_points: int
    computed_chunks: list
    skipped_chunks: int
    seconds: float
    state_steps: float
    merged: bool
    invalid_points: int
    non_finite_points: int = 0



SUB_BATCHES = 8
"""Most progress updates within a chunk: its points are computed in up to this many equal sub-batches."""


def _compute_chunk(sweep_api, points, upper, take, times, settings, meter):
    """One chunk, in equal sub-batches of whole device batches (same shapes: one compilation), with
    meter.update after each. A GPU chunk is one device batch (the vectorization width a GPU needs),
    so it is not split; on CPUs (one point per device batch) progress moves within the chunk. Points
    are independent: the values equal those of one call to rounding (a resumed sweep has the same
    sub-batches, so it still equals the uninterrupted one bit for bit)."""
    width = len(settings["devices"]) * settings["batch_points"]
    parts = max(1, min(SUB_BATCHES, len(take) // width))
    size = -(-len(take) // parts)
    size = -(-size // width) * width
    pieces = []
    for first in range(0, len(take), size):
        index = take[onp.minimum(onp.arange(first, first + size), len(take) - 1)]
        piece = sweep_api.compute_points({k: v[index] for k, v in points.items()}, upper[index], times, **settings)
        pieces.append({k: v[: min(size, len(take) - first)] for k, v in piece.items()})
        meter.update(min(first + size, len(take)), len(take))
    return {k: onp.concatenate([piece[k] for piece in pieces]) for k in pieces[0]}

def _distributed():
    import jax

    return jax.process_index(), jax.process_count()


def _barrier(name: str) -> None:
    import jax

    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def _agree(value: int) -> int:
    """Process 0's value, on every process (jax.distributed broadcast)."""
    import jax

    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(onp.asarray(value, onp.int64)))


def check_resume(config: SweepConfig, out, precision: str, resume: bool) -> dict | None:
    """The manifest of the sweep in `out` if it may be resumed, None if there is none.

    Raises UsageError when `out` holds a sweep and resume is False, or when its manifest cannot
    be read; ConfigError when its configuration, precision or chunk size differ (naming what
    changed). Cheap: no JAX needed.
    """
    out = pathlib.Path(out)
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        return None
    if not resume:
        raise UsageError(
            f"--out {str(out)!r} already holds a sweep (manifest.json); allowed: --resume to finish it, or a new --out"
        )
    try:
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8"))
        chunk_points = int(manifest["chunk_points"])
        if chunk_points < 1 or not isinstance(manifest.get("identity_hash"), str):
            raise ValueError("bad values")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        reason = error.strerror if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
        raise UsageError(
            f"{str(manifest_path)!r} cannot be read as a jaxsot sweep manifest ({reason}); allowed: a manifest written by "
            "jaxsot sweep, or a new --out"
        ) from None
    identity = sweep_identity(config, precision)
    if manifest.get("identity_hash") != identity_hash(identity):
        stored = manifest.get("identity", {})
        changes = identity_changes(stored if isinstance(stored, dict) else {}, identity)
        raise ConfigError(
            f"cannot resume {str(out)!r}: the configuration differs from the one it was started with at "
            f"{'; '.join(changes[:4]) or 'its identity'}; allowed: the same configuration and precision, or a new --out"
        )
    if config.sweep.chunk_points and config.sweep.chunk_points != chunk_points:
        raise ConfigError(
            f"[sweep] chunk_points = {config.sweep.chunk_points} differs from the {chunk_points} the sweep in "
            f"{str(out)!r} was started with; allowed: {chunk_points} or 0 (automatic)"
        )
    return manifest


def run_sweep(
    config: SweepConfig,
    out,
    *,
    config_text: str,
    precision: str = "float64",
    resume: bool = False,
    progress: bool = True,
    log=print,
    plan: SweepPlan | None = None,
) -> SweepRun:
    """Compute (or finish) a sweep into the folder `out` and merge it (process 0).

    plan: the checked points (`plan_sweep`); made here when not given. Raises ConfigError when a
    point cannot be computed, when `out` already holds a sweep and resume is False, or when resume
    is True and the stored sweep was made with another configuration (naming what changed).
    """
    import jax
    import jax.numpy as jnp

    from .. import sweep as sweep_api

    out = pathlib.Path(out)
    rank, size = _distributed()
    identity = sweep_identity(config, precision)
    digest = identity_hash(identity)
    manifest_path = out / "manifest.json"
    plan = plan or (plan_kind_sweep(config, "config", precision) if is_kind_sweep(config) else plan_sweep(config, "config"))
    swept, shape, points, status, upper = plan.swept, plan.shape, plan.points, plan.status, plan.upper
    num_points = int(math.prod(shape))
    dtype = jnp.float64 if precision == "float64" else jnp.float32
    steps = config.run.time.num_steps
    states = sweep_api.states_per_point(config.run.ensemble.num_phi, config.run.ensemble.num_r)
    devices = jax.local_devices()

    # Points whose Fermi sea is not supported (on_invalid = "nan") are computed with a valid
    # stand-in and stored as NaN with their status.
    bad = onp.flatnonzero(status != 0)
    good = onp.flatnonzero(status == 0)
    if bad.size:
        points = {k: onp.where(status == 0, v, v[good[0]]) for k, v in points.items()}
        upper = onp.where(status == 0, upper, upper[good[0]])

    manifest = check_resume(config, out, precision, resume)
    if manifest is not None:
        chunk_points = int(manifest["chunk_points"])
    else:
        if resume:
            log(f"nothing to resume in {out}: starting the sweep")
        if config.sweep.chunk_points:
            chunk_points = config.sweep.chunk_points
        elif is_kind_sweep(config):  # one simulate per point: chunks of a few points keep an interruption cheap
            chunk_points = min(num_points, KIND_CHUNK_POINTS)
        else:
            chunk_points = auto_chunk_points(num_points, states, steps, jnp.dtype(dtype).itemsize, devices)
        chunk_points = _agree(chunk_points)
    num_chunks = -(-num_points // chunk_points)
    _barrier("jaxsot-sweep-checked")
    if rank == 0:
        (out / "chunks").mkdir(parents=True, exist_ok=True)
        # Temporaries of a killed run (the other processes wait at the next barrier; the lock
        # keeps other sweeps out of this folder).
        removed = remove_temporaries(out / "chunks") + remove_temporaries(out)
        if removed:
            log(f"removed {removed} temporary file(s) left by an interrupted run")
        if not manifest_path.is_file():
            atomic_write_bytes(out / "config.toml", config_text.encode())
            manifest = {
                "format": FORMAT_VERSION,
                "identity_hash": digest,
                "identity": identity,
                "num_points": num_points,
                "shape": list(shape),
                "chunk_points": chunk_points,
                "num_chunks": num_chunks,
                # Another kind's states per point depend on the point and its route (None: see run.json).
                "states_per_point": None if is_kind_sweep(config) else states,
                "num_steps": steps,
            }
            atomic_write_bytes(manifest_path, json.dumps(manifest, indent=2, allow_nan=False).encode())
    _barrier("jaxsot-sweep-manifest")

    mine = [i for i in range(num_chunks) if i % size == rank]
    # Every stored chunk is checked against its checksum, index and identity; a damaged or
    # misplaced one is computed again (and named).
    done, damaged = verify_chunks(out, num_chunks, digest, chunk_points, num_points)
    for index, reason in damaged.items():
        if index in mine:
            log(f"chunk {index} ({chunk_path(out, index).relative_to(out)}) {reason}: computing it again")
    todo = [i for i in mine if i not in done]
    if done:
        log(f"resuming: {len(done)} of {num_chunks} chunks already written, {len(todo)} to compute here")
    batch = config.sweep.batch_points or (1 if devices[0].platform == "cpu" else -(-chunk_points // len(devices)))
    keep = stored_names(config)
    times = jnp.linspace(0.0, config.run.time.t_end_fs, steps, dtype=dtype)
    settings = dict(
        drive=config.run.drive.kind,
        num_phi=config.run.ensemble.num_phi,
        num_r=config.run.ensemble.num_r,
        substeps=SHIFT_SUBSTEPS,
        batch_points=batch,
        devices=tuple(devices),
        state_chunk=sweep_api.default_state_chunk(devices[0].platform),
        selection=None if is_kind_sweep(config) else
        sweep_api.select_sweep_observables(config.observables, config.approximations),  # only the stored observables are computed
    )
    kinds = is_kind_sweep(config)
    started = time.perf_counter()
    computed = []
    chunk_seconds = None  # measured on a chunk after the first (the first one compiles)
    state_steps = 0.0
    for count, index in enumerate(todo, start=1):
        start, stop = index * chunk_points, min((index + 1) * chunk_points, num_points)
        # Every chunk has chunk_points points (the last one padded): one compilation per sweep.
        take = onp.minimum(onp.arange(start, start + chunk_points), stop - 1)
        label = f"sweep chunk {len(done) + count}/{num_chunks}" + (" (compiles first)" if count == 1 else "")
        with Status(label, quiet=not progress or rank != 0, expected_s=chunk_seconds, done=(len(done) + count - 1) / num_chunks,
                    share=1.0 / num_chunks, lines=count == 1 or count == len(todo)) as meter:
            if kinds:  # another [model] kind: simulate per point (sweep_model), no padding needed
                chunk = compute_kind_chunk(config, plan, onp.arange(start, stop), times, devices, meter)
                # The states each point evaluated on the route that ran (a mesh-route point its
                # mesh nodes), not the ray-route count of the Rashba sweep.
                state_steps += float(chunk.pop("num_states")) * steps
            else:
                chunk = _compute_chunk(sweep_api, points, upper, take, times, settings, meter)
                state_steps += float(chunk_points * states * steps)
        chunk_seconds = meter.seconds if count > 1 or len(todo) == 1 else None
        arrays = {k: v[: stop - start] for k, v in chunk.items() if k in keep}
        invalid_here = status[start:stop] != 0
        for value in arrays.values():
            if onp.issubdtype(value.dtype, onp.floating):  # not the route codes of another kind (-1 there)
                value[invalid_here] = onp.nan  # their stand-in results are not theirs
        arrays["status"] = status[start:stop]
        arrays["identity_hash"] = onp.asarray(digest)
        arrays["start"] = onp.asarray(start)
        save_chunk(out, index, arrays, digest)
        computed.append(index)
    seconds = time.perf_counter() - started
    _barrier("jaxsot-sweep-computed")
    merged = False
    non_finite = 0
    if rank == 0:
        verified, damaged = verify_chunks(out, num_chunks, digest, chunk_points, num_points)
        missing = sorted(set(range(num_chunks)) - verified)
        if missing:
            raise RuntimeError(f"chunks {missing[:5]} of {out} are missing after the sweep; run again with --resume")
        record_chunk_checksums(out, num_chunks)
        dataset = merge(config, out, num_chunks, swept, shape, precision, digest)
        non_finite = int(dataset.attrs["non_finite_points"])
        write_outputs(config, out, dataset, log=log)
        merged = True
    result = SweepRun(
        out=out,
        num_points=num_points,
        num_chunks=num_chunks,
        chunk_points=chunk_points,
        computed_chunks=computed,
        skipped_chunks=len([i for i in mine if i in done]),
        seconds=seconds,
        state_steps=state_steps,
        merged=merged,
        invalid_points=int(bad.size),
        non_finite_points=non_finite,
    )
    info = {
        "process": rank,
        "processes": size,
        "devices": [str(d) for d in devices],
        "backend": jax.default_backend(),
        "precision": precision,
        "computed_chunks": computed,
        "skipped_chunks": result.skipped_chunks,
        "compute_seconds": seconds,
        "state_steps_computed": result.state_steps,
        "state_steps_per_second": result.state_steps / seconds if seconds > 0 and computed else None,
        "states_per_point": None if kinds else states,  # another kind: per point and route (in state_steps_computed)
        "num_steps": steps,
        "num_points": num_points,
        "chunk_points": chunk_points,
        "non_finite_points": non_finite if rank == 0 else None,
    }
    name = "run.json" if size == 1 else f"run.process{rank}.json"
    atomic_write_bytes(out / name, json.dumps(info, indent=2, allow_nan=False).encode())
    _barrier("jaxsot-sweep-merged")
    return result




def register(commands) -> None:
    """Add the `sweep` subcommand to an argparse subparsers object."""
    sweep = commands.add_parser("sweep", help="parameter sweep of ensemble torques, forces and approximation errors (chunked, resumable)")
    sweep.add_argument("config", nargs="?", help="TOML sweep configuration (default: the embedded one; see `jaxsot default-config sweep`)")
    sweep.add_argument("--out", default="jaxsot-sweep", help="output folder (default: ./jaxsot-sweep)")
    sweep.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out (finished chunks are kept)")
    sweep.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating-point precision (default float64)")
    sweep.add_argument("--no-progress", "--quiet", action="store_true", help="no progress lines on stderr")
    group = sweep.add_argument_group("several processes / hosts (jax.distributed)")
    group.add_argument("--coordinator", help="address:port of process 0, e.g. 10.0.0.1:1234 (all processes give the same)")
    group.add_argument("--num-processes", type=int, help="total number of processes")
    group.add_argument("--process-id", type=int, help="this process's index, 0 .. num-processes - 1")
    group.add_argument("--distributed-auto", action="store_true", help="jax.distributed.initialize() with cluster auto-detection (SLURM, ...)")
    group.add_argument("--coordinator-timeout", type=float, default=60.0,
                       help="seconds to wait for all processes to reach the coordinator before giving up (default 60)")


def _lock_name(rank: int) -> str:
    # One lock per process index: the processes of one distributed sweep share --out, while a
    # second sweep (or a second copy of a process) into the same folder is refused.
    return ".lock" if rank == 0 else f".lock.process{rank}"


def main(args) -> int:
    """`jaxsot sweep` with parsed arguments; returns the exit status (1: some computed points are not finite)."""
    # Before the configuration is parsed: it builds a [model] of another kind, which starts JAX's
    # backend, and the cores must be devices by then (the same device policy as `jaxsot run`).
    use_cpu_cores_as_devices()
    text, source = read_config_text(args.config, DEFAULT_SWEEP_TOML)
    # Several processes: jax.distributed.initialize must run before JAX's backend starts, so the
    # [model] of another kind is checked here without being built (keys, types, ranges); it is
    # built, with its own checks and every point's, once the processes have joined (below).
    joined_later = args.coordinator is not None or args.distributed_auto
    config = parse_sweep_config(text, source, build=not joined_later)
    distributed = [args.coordinator, args.num_processes, args.process_id]
    if any(v is not None for v in distributed) and not all(v is not None for v in distributed):
        raise UsageError("--coordinator, --num-processes and --process-id go together; allowed: all three or none")
    if args.num_processes is not None and not 1 <= args.num_processes <= 65536:
        raise UsageError(f"--num-processes = {args.num_processes} is out of range; allowed: [1, 65536]")
    if args.num_processes is not None and not 0 <= args.process_id < args.num_processes:
        raise UsageError(f"--process-id = {args.process_id} is out of range; allowed: [0, {args.num_processes - 1}]")
    # Before JAX starts: every point's values and Fermi sea, work and memory, --out, its lock and
    # a stored sweep's identity.
    if not 1.0 <= args.coordinator_timeout <= 86400.0:
        raise UsageError(f"--coordinator-timeout = {args.coordinator_timeout:g} is out of range; allowed: [1, 86400] s")
    if args.coordinator is not None:
        host, colon, port = args.coordinator.rpartition(":")
        if not colon or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536 or host.count(":") > 0 and not host.startswith("["):
            raise UsageError(f"--coordinator {args.coordinator!r} is not host:port; allowed: e.g. 10.0.0.1:1234 or [::1]:1234")
    if not is_kind_sweep(config):
        plan = plan_sweep(config, source)
        disk = plan.disk
    else:  # each point's checks evaluate the model in JAX: after jax.distributed.initialize when distributed
        disk = check_kind_work(config, source)
        plan = None if joined_later else plan_kind_sweep(config, source, args.precision)
    out = prepare_out(args.out, staged=False)  # a sweep folder is resumable: written in place, chunk by chunk
    if not (out / "manifest.json").is_file():
        check_disk(out, disk, "the chunks and sweep.nc")
        check_new_sweep_folder(out, args.config)
    check_file_size_limit(disk / 2.0, "sweep.nc", out / "sweep.nc")
    check_sweep_targets(out)
    with contextlib.ExitStack() as stack:
        rank = args.process_id if args.process_id is not None else (None if args.distributed_auto else 0)
        if rank is not None:
            stack.enter_context(hold_lock(out, _lock_name(rank)))
        check_resume(config, out, args.precision, args.resume)
        import jax

        if args.coordinator is not None:
            timeout = math.ceil(args.coordinator_timeout)
            rendezvous(args.coordinator, args.num_processes, args.process_id, args.coordinator_timeout)
            try:
                jax.distributed.initialize(args.coordinator, num_processes=args.num_processes, process_id=args.process_id,
                                           initialization_timeout=timeout)
            except Exception as error:  # noqa: BLE001 - JAX raises several kinds; the lock is released on the way out
                raise UsageError(
                    f"--coordinator {args.coordinator}: process {args.process_id} of {args.num_processes} could not join within "
                    f"--coordinator-timeout {timeout} s ({str(error).splitlines()[0][:160] if str(error) else type(error).__name__}); "
                    "allowed: start every process with the same --coordinator, or a longer --coordinator-timeout"
                ) from None
        elif args.distributed_auto:
            try:
                jax.distributed.initialize(initialization_timeout=math.ceil(args.coordinator_timeout))
            except Exception as error:  # noqa: BLE001 - no cluster detected, or a process could not join
                raise UsageError(
                    f"--distributed-auto: jax.distributed.initialize() found no cluster to join or could not join it "
                    f"({str(error).splitlines()[0][:160] if str(error) else type(error).__name__}); allowed: run under a "
                    "cluster JAX detects (SLURM, Open MPI, ...), or --coordinator/--num-processes/--process-id"
                ) from None
            stack.enter_context(hold_lock(out, _lock_name(jax.process_index())))
        set_precision(args.precision)
        if plan is None:  # another kind, several processes: build the model now (its checks), then check every point
            config = parse_sweep_config(text, source)
            plan = plan_kind_sweep(config, source, args.precision)

        import jaxsot

        quiet = jax.process_index() != 0
        log = (lambda *a, **k: None) if quiet else (lambda *a, **k: say(" ".join(map(str, a))))
        log(f"jaxsot {jaxsot.__version__} sweep ({source}), precision {args.precision}, jax {jax.__version__}")
        log(f"  {jax.default_backend()}: {jax.local_device_count()} local device(s), "
            f"process {jax.process_index()} of {jax.process_count()}")
        if is_kind_sweep(config):
            log(f"  {describe(config)}")
        header = f"# resolved from: {source}\n" if args.config is None else ""
        result = run_sweep(
            config, out, config_text=header + text, precision=args.precision, resume=args.resume,
            progress=not args.no_progress, log=log, plan=plan,
        )
    rate = f", {result.state_steps / result.seconds:.3g} state-steps/s" if result.computed_chunks and result.seconds > 0 else ""
    log(
        f"{result.num_points} points in {result.num_chunks} chunks of {result.chunk_points}: computed {len(result.computed_chunks)}, "
        f"kept {result.skipped_chunks} in {result.seconds:.2f} s{rate}"
    )
    if result.invalid_points:
        reasons = ""
        if is_kind_sweep(config):  # the Rashba codes are named in the status variable's attributes
            codes = plan.status[plan.status != 0].tolist()
            reasons = ": " + "; ".join(f"{codes.count(c)} x {KIND_STATUS[c]}" for c in sorted(set(codes)))
        log(f"note: {result.invalid_points} points could not be computed (NaN; see the status variable){reasons}")
    if result.merged:
        log(f"wrote {out / 'sweep.nc'} (+ summary.csv, plots/, manifest.json, run.json)")
    if result.non_finite_points:
        log(f"jaxsot sweep: {result.non_finite_points} computed point(s) (status 0) have NaN or inf values "
            "(sweep.nc attribute non_finite_points; left out of summary.csv and the plots)")
        return 1
    return 0

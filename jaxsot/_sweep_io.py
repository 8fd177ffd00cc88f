"""Host-side driver of `jaxsot sweep`: points from a config, chunks on disk, resume, merge, outputs.

The physics is `jaxsot._sweep.sweep_observables`; this module only decides which points go into
which chunk, writes every finished chunk atomically (temporary file, fsync, rename: a chunk file
either exists whole or not at all, even after kill -9), skips finished chunks on `--resume`,
refuses to resume under a changed configuration, splits chunks over processes when
`jax.distributed` is initialized, and merges the chunks into one NetCDF file (xarray Dataset, the
field's convention for labelled N-d arrays: one dimension per swept parameter, coordinates and
units as attributes) with a summary table and plots.

Layout of an output folder:
    config.toml        the configuration text used
    manifest.json      what the chunks depend on (its hash), the chunk layout
    chunks/chunk_NNNNNN.npz   finished chunks (points [i*chunk_points, (i+1)*chunk_points))
    sweep.nc           the merged Dataset (deterministic: same inputs, same bytes)
    summary.csv        one row per variable: range over the sweep and where its maximum is
    plots/*.png        the configured slices
    run.json           timing, throughput, devices, which chunks this run computed
"""

import dataclasses
import hashlib
import json
import math
import os
import pathlib
import signal
import sys
import time

import numpy as onp

from ._config import SWEEPABLE, ConfigError, SweepConfig, sweep_identity

FORMAT_VERSION = 1
KILL_HOOK = "JAXSOT_SWEEP_KILL_AFTER_CHUNKS"
"""Test hook: SIGKILL this process right after it has written that many chunks (a simulated crash)."""

# Config key -> (internal parameter of jaxsot._sweep, factor to internal units, unit, description).
_CONVERSIONS = {
    "alpha_eV_nm": ("alpha", 1.0, "eV nm", "Rashba coupling alpha"),
    "j_ex_eV": ("j_ex", 1.0, "eV", "exchange coupling J"),
    "theta_deg": ("theta", math.pi / 180.0, "deg", "polar angle of M from +z"),
    "phi_deg": ("phi", math.pi / 180.0, "deg", "azimuth of M from +x"),
    "mass_ratio": ("mass_ratio", 1.0, "1", "effective mass m*/m_e"),
    "fermi_energy_eV": ("fermi_energy", 1.0, "eV", "Fermi energy E_F"),
    "efield_V_per_m": ("efield", 1.0e-9, "V/m", "electric field amplitude |E|"),
    "direction_deg": ("efield_direction", math.pi / 180.0, "deg", "in-plane angle of E from +x"),
    "tau_fs": ("tau", 1.0, "fs", "momentum relaxation time tau"),
    "ramp_time_fs": ("ramp_time", 1.0, "fs", "ramp duration"),
    "frequency_THz": ("frequency", 1.0e-3, "THz", "drive frequency"),
    "phase_deg": ("phase", math.pi / 180.0, "deg", "drive phase"),
}
assert set(_CONVERSIONS) == set(SWEEPABLE)


# ------------------------------------------------------------------------------------------------
# Points.


def sweep_points(config: SweepConfig) -> tuple[dict, tuple]:
    """The swept values of every point in config units, and the grid shape.

    Returns ({key: (P,) float64}, shape): shape is the grid shape (one entry per axis, C order of
    the flattened points) or (P,) for mode = random (uniform or log-uniform draws, seeded).
    """
    if config.sweep.mode == "grid":
        grids = onp.meshgrid(*[onp.asarray(a.values, onp.float64) for a in config.axes], indexing="ij")
        shape = tuple(len(a.values) for a in config.axes)
        return {a.name: g.ravel() for a, g in zip(config.axes, grids)}, shape
    rng = onp.random.default_rng(config.sweep.seed)
    count = config.sweep.num_points
    values = {}
    for axis in config.axes:
        u = rng.random(count)
        if axis.scale == "log":
            values[axis.name] = onp.exp(math.log(axis.low) + u * (math.log(axis.high) - math.log(axis.low)))
        else:
            values[axis.name] = axis.low + u * (axis.high - axis.low)
    return values, (count,)


def fixed_values(config: SweepConfig) -> dict:
    """{config key: value} for every sweepable key, from the run sections (before sweeping)."""
    return {key: float(getattr(getattr(config.run, section), key)) for key, section in SWEEPABLE.items()}


def internal_points(config: SweepConfig, swept: dict) -> dict:
    """{jaxsot._sweep parameter: (P,) array} in internal units (eV, nm, fs, rad, V/nm)."""
    count = len(next(iter(swept.values())))
    out = {}
    for key, value in fixed_values(config).items():
        name, factor, _, _ = _CONVERSIONS[key]
        column = swept.get(key, onp.full(count, value))
        out[name] = onp.asarray(column, onp.float64) * factor
    return out


# ------------------------------------------------------------------------------------------------
# Chunk layout, identity, atomic files.


def identity_hash(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _flatten(prefix, value, out):
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, item, out)
    else:
        out[prefix] = value
    return out


def identity_changes(old: dict, new: dict) -> list[str]:
    """'key (old -> new)' for every leaf that differs between two identities."""
    a, b = _flatten("", old, {}), _flatten("", new, {})
    return [f"{k} ({a.get(k, 'absent')!r} -> {b.get(k, 'absent')!r})" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _atomic_write_bytes(path: pathlib.Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _atomic_save_npz(path: pathlib.Path, arrays: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        onp.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    # The rename is durable only once the directory entry is on disk.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def chunk_path(out: pathlib.Path, index: int) -> pathlib.Path:
    return out / "chunks" / f"chunk_{index:06d}.npz"


def finished_chunks(out: pathlib.Path, num_chunks: int, digest: str) -> set[int]:
    """Chunks whose file exists and belongs to this sweep (temporary files are ignored)."""
    done = set()
    for index in range(num_chunks):
        path = chunk_path(out, index)
        if not path.is_file():
            continue
        try:
            with onp.load(path) as data:
                if str(data["identity_hash"]) == digest:
                    done.add(index)
        except (OSError, ValueError, KeyError):
            pass  # unreadable: computed again
    return done


def auto_chunk_points(num_points: int, states: int, steps: int, itemsize: int, devices) -> int:
    """Points per chunk: as many as fit in a quarter of each device's memory, at most ~20 s of work.

    Memory per point and device: ~60 live values per state of the vectorized block plus ~40
    outputs per time step. Chunks are a multiple of the device count (equal shares).
    """
    n = len(devices)
    platform = devices[0].platform
    stats = {}
    try:
        stats = devices[0].memory_stats() or {}
    except Exception:  # noqa: BLE001 - memory_stats is not implemented on every backend
        stats = {}
    if "bytes_limit" in stats:
        memory = int(stats["bytes_limit"])
    else:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // n
    live_states = states if platform != "cpu" else min(states, 2048)
    per_point = itemsize * (60 * live_states + 40 * steps)
    by_memory = max(1, memory // 4 // per_point) if platform != "cpu" else 1 << 40
    rate = 3.0e7 if platform == "cpu" else 5.0e9  # state-steps per second and device, nominal
    by_time = max(1, int(20.0 * rate / (states * steps)))
    per_device = max(1, min(by_memory, by_time, -(-num_points // n)))
    return per_device * n


# ------------------------------------------------------------------------------------------------
# Progress.


class Progress:
    """A one-line progress bar on stderr: chunks, state-steps per second, ETA."""

    def __init__(self, total: int, done: int, state_steps_per_chunk: float, stream=None):
        self.total, self.done, self.start_done = total, done, done
        self.per_chunk = state_steps_per_chunk
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.last_print = 0.0
        self.tty = self.stream.isatty()

    def update(self, done: int) -> None:
        self.done = done
        elapsed = time.perf_counter() - self.started
        computed = self.done - self.start_done
        rate = computed * self.per_chunk / elapsed if elapsed > 0 else 0.0
        remaining = self.total - self.done
        eta = remaining * elapsed / computed if computed else float("nan")
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if math.isfinite(eta) else "--:--:--"
        line = (
            f"sweep [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} chunks "
            f"{rate:.3g} state-steps/s ETA {eta_text}"
        )
        now = time.perf_counter()
        if self.tty:
            print("\r" + line, end="", file=self.stream, flush=True)
        elif now - self.last_print > 10.0 or self.done == self.total or computed == 1:
            print(line, file=self.stream, flush=True)
            self.last_print = now

    def close(self) -> None:
        if self.tty:
            print(file=self.stream, flush=True)


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

    Raises ConfigError when `out` holds a sweep and resume is False, or when its configuration,
    precision or chunk size differ (naming what changed). Cheap: no JAX needed.
    """
    out = pathlib.Path(out)
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        return None
    if not resume:
        raise ConfigError(
            f"--out {str(out)!r} already holds a sweep (manifest.json); allowed: --resume to finish it, or a new --out"
        )
    manifest = json.loads(manifest_path.read_text())
    identity = sweep_identity(config, precision)
    if manifest.get("identity_hash") != identity_hash(identity):
        changes = identity_changes(manifest.get("identity", {}), identity)
        raise ConfigError(
            f"cannot resume {str(out)!r}: the configuration differs from the one it was started with at "
            f"{'; '.join(changes[:4]) or 'its identity'}; allowed: the same configuration and precision, or a new --out"
        )
    chunk_points = int(manifest["chunk_points"])
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
) -> SweepRun:
    """Compute (or finish) a sweep into the folder `out` and merge it (process 0).

    Raises ConfigError when `out` already holds a sweep and resume is False, or when resume is
    True and the stored sweep was made with another configuration (naming what changed).
    """
    import jax
    import jax.numpy as jnp

    from . import _sweep

    out = pathlib.Path(out)
    rank, size = _distributed()
    identity = sweep_identity(config, precision)
    digest = identity_hash(identity)
    manifest_path = out / "manifest.json"
    swept, shape = sweep_points(config)
    num_points = int(math.prod(shape))
    dtype = jnp.float64 if precision == "float64" else jnp.float32
    steps = config.run.time.num_steps
    states = _sweep.states_per_point(config.run.ensemble.num_phi, config.run.ensemble.num_r)
    devices = jax.local_devices()

    # Validate every point on the host before anything is computed or written.
    points = internal_points(config, swept)
    try:
        _sweep._check_values(points)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    status, upper = _sweep._sea_checks(points)
    bad = onp.flatnonzero(status != 0)
    if bad.size and config.sweep.on_invalid == "error":
        i = int(bad[0])
        where = ", ".join(f"{k} = {swept[k][i]:g}" for k in swept)
        raise ConfigError(
            f"sweep point {i} ({where}) cannot be computed: {_sweep.STATUS_MESSAGES[int(status[i])]} "
            f"({bad.size} of {num_points} points); allowed: other ranges, or [sweep] on_invalid = \"nan\""
        )
    good = onp.flatnonzero(status == 0)
    if good.size == 0:
        raise ConfigError(f"none of the {num_points} sweep points can be computed: {_sweep.STATUS_MESSAGES[int(status[0])]}")
    if bad.size:
        points = {k: onp.where(status == 0, v, v[good[0]]) for k, v in points.items()}
        upper = onp.where(status == 0, upper, upper[good[0]])

    manifest = check_resume(config, out, precision, resume)
    if manifest is not None:
        chunk_points = int(manifest["chunk_points"])
    else:
        if resume:
            log(f"nothing to resume in {out}: starting the sweep")
        chunk_points = config.sweep.chunk_points or auto_chunk_points(
            num_points, states, steps, jnp.dtype(dtype).itemsize, devices
        )
        chunk_points = _agree(chunk_points)
    num_chunks = -(-num_points // chunk_points)
    _barrier("jaxsot-sweep-checked")
    if rank == 0:
        (out / "chunks").mkdir(parents=True, exist_ok=True)
        if not manifest_path.is_file():
            _atomic_write_bytes(out / "config.toml", config_text.encode())
            manifest = {
                "format": FORMAT_VERSION,
                "identity_hash": digest,
                "identity": identity,
                "num_points": num_points,
                "shape": list(shape),
                "chunk_points": chunk_points,
                "num_chunks": num_chunks,
                "states_per_point": states,
                "num_steps": steps,
            }
            _atomic_write_bytes(manifest_path, json.dumps(manifest, indent=2).encode())
    _barrier("jaxsot-sweep-manifest")

    mine = [i for i in range(num_chunks) if i % size == rank]
    done = finished_chunks(out, num_chunks, digest)
    todo = [i for i in mine if i not in done]
    if done:
        log(f"resuming: {len(done)} of {num_chunks} chunks already written, {len(todo)} to compute here")
    batch = config.sweep.batch_points or (1 if devices[0].platform == "cpu" else -(-chunk_points // len(devices)))
    keep = _stored_names(config)
    times = jnp.linspace(0.0, config.run.time.t_end_fs, steps, dtype=dtype)
    settings = dict(
        drive=config.run.drive.kind,
        num_phi=config.run.ensemble.num_phi,
        num_r=config.run.ensemble.num_r,
        substeps=4,
        batch_points=batch,
        devices=tuple(devices),
        state_chunk=_sweep.default_state_chunk(devices[0].platform),
    )
    kill_after = int(os.environ.get(KILL_HOOK, "0") or 0)
    bar = Progress(num_chunks, len(done), chunk_points * states * steps) if progress else None
    started = time.perf_counter()
    computed = []
    for count, index in enumerate(todo, start=1):
        start, stop = index * chunk_points, min((index + 1) * chunk_points, num_points)
        # Every chunk has chunk_points points (the last one padded): one compilation per sweep.
        take = onp.minimum(onp.arange(start, start + chunk_points), stop - 1)
        chunk = _sweep._compute({k: v[take] for k, v in points.items()}, upper[take], times, **settings)
        arrays = {k: v[: stop - start] for k, v in chunk.items() if k in keep}
        invalid_here = status[start:stop] != 0
        for value in arrays.values():
            value[invalid_here] = onp.nan  # their stand-in results are not theirs
        arrays["status"] = status[start:stop]
        arrays["identity_hash"] = onp.asarray(digest)
        arrays["start"] = onp.asarray(start)
        _atomic_save_npz(chunk_path(out, index), arrays)
        computed.append(index)
        if bar:
            bar.update(len(done) + count if size == 1 else len(done) + count * size)
        if kill_after and count >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    if bar:
        bar.close()
    seconds = time.perf_counter() - started
    _barrier("jaxsot-sweep-computed")
    merged = False
    if rank == 0:
        missing = sorted(set(range(num_chunks)) - finished_chunks(out, num_chunks, digest))
        if missing:
            raise RuntimeError(f"chunks {missing[:5]} of {out} are missing after the sweep; run again with --resume")
        dataset = merge(config, out, num_chunks, swept, shape, precision, digest)
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
        state_steps=float(len(computed) * chunk_points * states * steps),
        merged=merged,
        invalid_points=int(bad.size),
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
        "states_per_point": states,
        "num_steps": steps,
        "num_points": num_points,
        "chunk_points": chunk_points,
    }
    name = "run.json" if size == 1 else f"run.process{rank}.json"
    _atomic_write_bytes(out / name, json.dumps(info, indent=2).encode())
    _barrier("jaxsot-sweep-merged")
    return result


def _stored_names(config: SweepConfig) -> set:
    from . import _sweep

    names = set()
    for variable, (kind, observable, _) in _sweep.output_names().items():
        if kind == "point" or observable in config.observables:
            names.add(variable)
    return names


# ------------------------------------------------------------------------------------------------
# Merge into a labelled Dataset, and the outputs derived from it.


def merge(config: SweepConfig, out: pathlib.Path, num_chunks: int, swept: dict, shape: tuple, precision: str, digest: str):
    """Concatenate the chunk files into an xarray Dataset and write sweep.nc atomically."""
    import xarray as xr

    from . import _sweep
    from ._dynamics import UNITS

    parts = {}
    for index in range(num_chunks):
        with onp.load(chunk_path(out, index)) as data:
            for key in data.files:
                if key not in ("identity_hash", "start"):
                    parts.setdefault(key, []).append(data[key])
    arrays = {k: onp.concatenate(v) for k, v in parts.items()}

    if config.sweep.mode == "grid":
        dims = tuple(a.name for a in config.axes)
        coords = {
            a.name: (a.name, onp.asarray(a.values), {"units": _CONVERSIONS[a.name][2], "long_name": _CONVERSIONS[a.name][3]})
            for a in config.axes
        }
    else:
        dims = ("point",)
        coords = {"point": ("point", onp.arange(shape[0]))}
        for key, values in swept.items():
            coords[key] = ("point", values, {"units": _CONVERSIONS[key][2], "long_name": _CONVERSIONS[key][3]})
    steps = config.run.time.num_steps
    coords["time"] = ("time", onp.linspace(0.0, config.run.time.t_end_fs, steps), {"units": "fs", "long_name": "time after switch-on"})
    coords["xyz"] = ("xyz", onp.array(["x", "y", "z"]))
    coords["xy"] = ("xy", onp.array(["x", "y"]))
    coords["band"] = ("band", onp.array(["lower", "upper"]))

    names = _sweep.output_names()
    variables = {}
    for key in sorted(arrays, key=lambda k: list(names).index(k)):
        kind, observable, approx = names[key]
        value = arrays[key]
        if kind == "series":
            components = _sweep.OBSERVABLES[observable][1]
            var_dims = dims + ("time", components)
            attrs = {"units": UNITS[observable], "long_name": f"{observable.replace('_', ' ')} ({approx.replace('_', ' ')})"}
        elif kind == "error":
            var_dims = dims
            attrs = {
                "units": "1",
                "long_name": f"relative error of the {approx.replace('_', ' ')} {observable.replace('_', ' ')}",
                "definition": "max_t |approx - exact| / max_t |exact| (Euclidean norm over components)",
            }
        elif key == "band_density":
            var_dims = dims + ("band",)
            attrs = {"units": _sweep.POINT_QUANTITIES[key][0], "long_name": _sweep.POINT_QUANTITIES[key][1]}
        elif key == "status":
            var_dims = dims
            attrs = {
                "units": "1",
                "long_name": "0: computed; otherwise why not (NaN values)",
                "flag_values": onp.arange(len(_sweep.STATUS_MESSAGES), dtype=onp.int8),
                "flag_meanings": "ok no_electrons lower_sea_without_k0 upper_sea_without_k0 sea_not_star_shaped",
                "flag_descriptions": "; ".join(f"{k}: {m}" for k, m in _sweep.STATUS_MESSAGES.items()),
            }
        else:
            var_dims = dims
            attrs = {"units": _sweep.POINT_QUANTITIES[key][0], "long_name": _sweep.POINT_QUANTITIES[key][1]}
        value = value.reshape(shape + value.shape[1:])
        variables[key] = (var_dims, value, attrs)

    fixed = {
        f"fixed_{key}": value for key, value in fixed_values(config).items() if key not in {a.name for a in config.axes}
    }
    attrs = {
        "title": "jaxsot sweep: ensemble spin-orbit torques and spin forces of a Rashba ferromagnet",
        "conventions": "internal units: eV, nm, fs, V/nm; parameter coordinates in the units of the config keys",
        "jaxsot_sweep_format": FORMAT_VERSION,
        "precision": precision,
        "identity_hash": digest,
        "sweep_mode": config.sweep.mode,
        "drive_kind": config.run.drive.kind,
        "num_phi": config.run.ensemble.num_phi,
        "num_r": config.run.ensemble.num_r,
        "invalid_points": int(onp.sum(arrays["status"] != 0)),
        **fixed,
    }
    from . import __version__

    attrs["jaxsot_version"] = __version__
    dataset = xr.Dataset({k: v for k, v in variables.items()}, coords=coords, attrs=attrs)
    path = out / "sweep.nc"
    tmp = out / f".sweep.nc.{os.getpid()}.tmp"
    dataset.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)
    return dataset


def summary_rows(dataset) -> list[dict]:
    """One row per stored variable: min, median and max of its magnitude and where the max is.

    Series are reduced to |value| (norm over components) at every time; errors are used as they are.
    """
    rows = []
    sweep_dims = [d for d in dataset["status"].dims]
    for name, variable in dataset.data_vars.items():
        if name == "status":
            continue
        values = variable
        for component in ("xyz", "xy", "band"):
            if component in values.dims:
                values = (values**2).sum(component) ** 0.5 if component != "band" else values.sum("band")
        if "time" in values.dims:
            values = values.max("time")
        data = onp.asarray(values.values, dtype=onp.float64)
        finite = onp.isfinite(data)
        if not finite.any():
            continue
        flat = onp.where(finite, data, -onp.inf)
        where = onp.unravel_index(int(onp.argmax(flat)), data.shape)
        location = {d: values[d].values[i].item() for d, i in zip(sweep_dims, where) if d in values.coords and d != "point"}
        if "point" in sweep_dims:
            location = {"point": int(where[0])}
        rows.append(
            {
                "variable": name,
                "units": variable.attrs.get("units", ""),
                "min": float(onp.min(data[finite])),
                "median": float(onp.median(data[finite])),
                "max": float(onp.max(data[finite])),
                "argmax": " ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in location.items()),
            }
        )
    return rows


def _plot(dataset, spec, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variable = dataset[spec.variable]
    label = spec.variable
    if "time" in variable.dims:
        variable = variable.isel(time=spec.time_index)
        label += f" at t = {float(variable['time']):g} fs"
    for component in ("xyz", "xy"):
        if component in variable.dims:
            variable = (variable**2).sum(component) ** 0.5
            label = f"|{label}|"
    if "band" in variable.dims:
        variable = variable.sum("band")
    fixed = {}
    for dim in variable.dims:
        if dim not in (spec.x, spec.hue):
            index = variable.sizes[dim] // 2
            fixed[dim] = float(variable[dim].values[index])
            variable = variable.isel({dim: index})
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    hues = variable[spec.hue].values if spec.hue else [None]
    for hue in hues:
        line = variable.sel({spec.hue: hue}) if spec.hue else variable
        axis.plot(variable[spec.x].values, line.transpose(spec.x).values, "o-", ms=3, label=None if hue is None else f"{spec.hue} = {hue:.4g}")
    if spec.x in ("alpha_eV_nm", "efield_V_per_m", "tau_fs") and onp.all(variable[spec.x].values > 0):
        axis.set_xscale("log")
    data = onp.asarray(variable.values, dtype=float)
    if spec.variable.count("_error_") and onp.all(data[onp.isfinite(data)] > 0):
        axis.set_yscale("log")
    axis.set_xlabel(f"{spec.x} [{dataset[spec.x].attrs.get('units', '')}]")
    axis.set_ylabel(f"[{dataset[spec.variable].attrs.get('units', '')}]")
    title = label + ("\n" + ", ".join(f"{k} = {v:g}" for k, v in fixed.items()) if fixed else "")
    axis.set_title(title, fontsize=9)
    axis.grid(alpha=0.3)
    if spec.hue:
        axis.legend(fontsize=7)
    figure.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    figure.savefig(tmp, dpi=100)
    plt.close(figure)
    os.replace(tmp, path)


def write_outputs(config: SweepConfig, out: pathlib.Path, dataset, log=print) -> list[str]:
    """summary.csv (printed too) and the plots; returns the names written."""
    rows = summary_rows(dataset)
    header = f"{'variable':<44} {'units':<12} {'min':>11} {'median':>11} {'max':>11}  where max"
    log(header)
    log("-" * len(header))
    for row in rows:
        log(f"{row['variable']:<44} {row['units']:<12} {row['min']:11.4e} {row['median']:11.4e} {row['max']:11.4e}  {row['argmax']}")
    lines = ["variable,units,min,median,max,argmax"]
    lines += [f"{r['variable']},{r['units']},{r['min']:.10e},{r['median']:.10e},{r['max']:.10e},{r['argmax']}" for r in rows]
    _atomic_write_bytes(out / "summary.csv", ("\n".join(lines) + "\n").encode())
    written = ["sweep.nc", "summary.csv"]
    specs = list(config.plots)
    if not specs and config.sweep.mode == "grid":
        from ._config import PlotSpec

        first = next((r["variable"] for r in rows if "_error_" in r["variable"]), rows[0]["variable"])
        axes = [a.name for a in config.axes]
        specs = [PlotSpec(variable=first, x=axes[0], hue=axes[1] if len(axes) > 1 else "")]
    if specs:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            log("matplotlib is not installed: no plots written (pip install 'jaxsot[plots]')")
            return written
        (out / "plots").mkdir(exist_ok=True)
        for index, spec in enumerate(specs, start=1):
            name = f"plots/{index:02d}_{spec.variable}_vs_{spec.x}.png"
            _plot(dataset, spec, out / name)
            written.append(name)
    return written

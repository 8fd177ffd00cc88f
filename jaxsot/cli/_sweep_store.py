"""Sweep storage: points from the config, chunk files (`_sweep_chunks`, re-exported here), resume identity,
merge to NetCDF, summary and plots.
"""

import csv
import hashlib
import io
import json
import math
import os
import pathlib

import numpy as onp
from . import _figures
from ._common import UsageError, shown
from ._config import SWEEPABLE, SweepConfig
from ._sweep_chunks import TEMPORARY_SUFFIX as TEMPORARY_SUFFIX
from ._sweep_chunks import atomic_save_npz as atomic_save_npz
from ._sweep_chunks import atomic_write_bytes as atomic_write_bytes
from ._sweep_chunks import checksum_path as checksum_path
from ._sweep_chunks import chunk_path as chunk_path
from ._sweep_chunks import record_chunk_checksums as record_chunk_checksums
from ._sweep_chunks import remove_temporaries as remove_temporaries
from ._sweep_chunks import save_chunk as save_chunk
from ._sweep_chunks import verify_chunks as verify_chunks



FORMAT_VERSION = 1

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




SWEEP_FILES = ("config.toml", "manifest.json", "chunks", "sweep.nc", "summary.csv", "plots", "run.json")


def check_sweep_targets(out: pathlib.Path) -> None:
    """Before any work: every file a sweep writes in `out` is absent or a regular file (or a link,
    which is replaced, never followed); `chunks` and `plots` are folders. UsageError otherwise."""
    from ._common import special_file_kind

    for name in SWEEP_FILES:
        path = out / name
        if not os.path.lexists(path):
            continue
        kind = special_file_kind(os.lstat(path).st_mode)
        expected = "a folder" if name in ("chunks", "plots") else None
        if kind not in (expected, "a symbolic link"):
            raise UsageError(
                f"{shown(str(path))} is {kind or 'a file'}, where the sweep writes "
                f"{'a folder' if expected else 'a file'}; allowed: remove it, or another --out"
            )


def check_new_sweep_folder(out: pathlib.Path, config_path) -> None:
    """Before a new sweep (no manifest.json): refuse to write over files of the same names that no
    jaxsot sweep wrote, and over the configuration file being read (config.toml in --out)."""
    if config_path is not None and os.path.realpath(config_path) == os.path.realpath(out / "config.toml"):
        raise UsageError(
            f"config file {shown(config_path)} is the config.toml a new sweep writes in --out {shown(out)}; "
            "allowed: a configuration outside --out, or --resume of the sweep it belongs to"
        )
    check_sweep_targets(out)
    present = [name for name in SWEEP_FILES if os.path.lexists(out / name)]
    if present:
        raise UsageError(
            f"--out {shown(out)} holds {', '.join(present)} but no manifest.json of a jaxsot sweep; a new sweep would "
            "write over them; allowed: a new or empty folder"
        )


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


def stored_names(config: SweepConfig) -> set:
    from .. import sweep as sweep_api
    from ._sweep_kinds import is_kind_sweep, stored_kind_names

    if is_kind_sweep(config):
        return set(stored_kind_names(config.observables))

    selection = sweep_api.select_sweep_observables(list(config.observables), list(config.approximations))
    return set(sweep_api.output_names(selection))


# ------------------------------------------------------------------------------------------------
# Merge into a labelled Dataset, and the outputs derived from it.


def merge(config: SweepConfig, out: pathlib.Path, num_chunks: int, swept: dict, shape: tuple, precision: str, digest: str):
    """Concatenate the chunk files into an xarray Dataset and write sweep.nc atomically."""
    import xarray as xr

    from .. import sweep as sweep_api
    from .. import UNITS

    parts = {}
    for index in range(num_chunks):
        with onp.load(chunk_path(out, index)) as data:
            for key in data.files:
                if key not in ("identity_hash", "start"):
                    parts.setdefault(key, []).append(data[key])
    arrays = {k: onp.concatenate(v) for k, v in parts.items()}

    from ._sweep_kinds import KIND_STATUS, ROUTE_ATTRS, axis_meta, fixed_kind_values, is_kind_sweep

    kinds = is_kind_sweep(config)
    # {key: (unit, long name)} of the swept keys: the run keys' for the Rashba sweep, the [model] kind's otherwise.
    meta = axis_meta(config) if kinds else {k: (v[2], v[3]) for k, v in _CONVERSIONS.items()}
    if config.sweep.mode == "grid":
        dims = tuple(a.name for a in config.axes)
        coords = {
            a.name: (a.name, onp.asarray(a.values), {"units": meta[a.name][0], "long_name": meta[a.name][1]})
            for a in config.axes
        }
    else:
        dims = ("point",)
        coords = {"point": ("point", onp.arange(shape[0]))}
        for key, values in swept.items():
            coords[key] = ("point", values, {"units": meta[key][0], "long_name": meta[key][1]})
    steps = config.run.time.num_steps
    coords["time"] = ("time", onp.linspace(0.0, config.run.time.t_end_fs, steps), {"units": "fs", "long_name": "time after switch-on"})
    coords["xyz"] = ("xyz", onp.array(["x", "y", "z"]))
    coords["xy"] = ("xy", onp.array(["x", "y"]))
    coords["band"] = ("band", onp.array(["lower", "upper"]))

    names = {**sweep_api.output_names(), "route": ("point", "route", None)}
    variables = {}
    for key in sorted(arrays, key=lambda k: list(names).index(k)):
        kind, observable, approx = names[key]
        value = arrays[key]
        if kind == "series":
            components = sweep_api.SWEEP_OBSERVABLES[observable][1]
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
            attrs = {"units": sweep_api.POINT_QUANTITIES[key][0], "long_name": sweep_api.POINT_QUANTITIES[key][1]}
        elif key == "status":
            var_dims = dims
            codes = KIND_STATUS if kinds else sweep_api.STATUS_MESSAGES
            attrs = {
                "units": "1",
                "long_name": "0: computed; otherwise why not (NaN values)",
                "flag_values": onp.arange(len(codes), dtype=onp.int8),
                "flag_meanings": "ok no_electrons model_refuses_point" if kinds else
                "ok no_electrons lower_sea_without_k0 upper_sea_without_k0 sea_not_star_shaped",
                "flag_descriptions": "; ".join(f"{k}: {m}" for k, m in codes.items()),
            }
        elif key == "route":
            var_dims = dims
            attrs = {k: (onp.asarray(v, dtype=onp.int8) if k == "flag_values" else v) for k, v in ROUTE_ATTRS.items()}
        else:
            var_dims = dims
            attrs = {"units": sweep_api.POINT_QUANTITIES[key][0], "long_name": sweep_api.POINT_QUANTITIES[key][1]}
        value = value.reshape(shape + value.shape[1:])
        variables[key] = (var_dims, value, attrs)

    fixed = {
        f"fixed_{key}": value for key, value in (fixed_kind_values if kinds else fixed_values)(config).items()
        if key not in {a.name for a in config.axes}
    }
    from ._model_config import model_kind, model_table_toml

    attrs = {
        "title": "jaxsot sweep: ensemble spin-orbit torques and spin forces of " + (
            f"the [model] kind {model_kind(config.run.model)!r} (exact results only)" if kinds else "a Rashba ferromagnet"
        ),
        **({"model_kind": model_kind(config.run.model), "model_table": model_table_toml(config.run.model)} if kinds else {}),
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
    from .. import __version__

    attrs["jaxsot_version"] = __version__
    dataset = xr.Dataset({k: v for k, v in variables.items()}, coords=coords, attrs=attrs)
    dataset.attrs["non_finite_points"] = non_finite_points(dataset)
    # Built in memory and written as plain bytes: a full disk or a file-size limit is then an
    # ordinary error naming sweep.nc (HDF5 writing to a file that cannot grow may crash).
    atomic_write_bytes(out / "sweep.nc", bytes(dataset.to_netcdf(engine="h5netcdf")))
    return dataset


def non_finite_points(dataset) -> int:
    """Points computed (status 0) whose stored values include NaN or inf."""
    status = dataset["status"]
    bad = onp.zeros(status.shape, dtype=bool)
    for name, variable in dataset.data_vars.items():
        if name == "status":
            continue
        values = onp.asarray(variable.values, dtype=onp.float64)
        extra = tuple(range(status.ndim, values.ndim))
        bad |= ~onp.isfinite(values).all(axis=extra) if extra else ~onp.isfinite(values)
    return int(onp.sum(bad & (onp.asarray(status.values) == 0)))


def summary_rows(dataset) -> list[dict]:
    """One row per stored variable: min, median and max of its magnitude and where the max is.

    Series are reduced to |value| (norm over components) at every time; errors are used as they are.
    """
    rows = []
    sweep_dims = [d for d in dataset["status"].dims]
    for name, variable in dataset.data_vars.items():
        if name in ("status", "route"):  # codes, not quantities
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


def write_outputs(config: SweepConfig, out: pathlib.Path, dataset, log=print) -> list[str]:
    """summary.csv (printed too) and the plots; returns the names written."""
    rows = summary_rows(dataset)
    # At most 100 columns: where the maximum lies goes on its own indented line.
    header = f"{'variable':<44} {'units':<12} {'min':>11} {'median':>11} {'max':>11}"
    log(header)
    log(f"{'':4}where max")
    log("-" * len(header))
    for row in rows:
        log(f"{row['variable']:<44} {row['units']:<12} {row['min']:11.4e} {row['median']:11.4e} {row['max']:11.4e}")
        log(f"{'':4}{row['argmax']}"[:100])
    text = io.StringIO()
    table = csv.writer(text, lineterminator="\n")
    table.writerow(["variable", "units", "min", "median", "max", "argmax"])
    for r in rows:
        table.writerow([r["variable"], r["units"], f"{r['min']:.10e}", f"{r['median']:.10e}", f"{r['max']:.10e}", r["argmax"]])
    atomic_write_bytes(out / "summary.csv", text.getvalue().encode())
    written = ["sweep.nc", "summary.csv"]
    specs = list(config.plots)
    if not specs and config.sweep.mode == "grid" and rows:
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
            if _figures.sweep_plot(dataset, spec, out / name):
                written.append(name)
            else:
                log(f"note: {name} not written: {spec.variable} has no finite value")
    return written

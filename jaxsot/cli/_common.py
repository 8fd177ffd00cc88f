"""Plumbing shared by the CLI subcommands: option objects -> library inputs, and result files.

No physics here; physics modules never import this file.
"""

import contextlib
import json
import math
import os
import pathlib
import sys
import tempfile
from typing import NoReturn

from ._config import ConfigError

REPORT_BUGS = "this is a bug in jaxsot: please report it with the command and the traceback (--debug)"
MAX_CONFIG_BYTES = 1 << 20
"""Largest configuration file read (1 MiB; the embedded defaults are ~2 kB)."""


class UsageError(ValueError):
    """A bad command-line argument or path (--out, data files): the message names it and what is allowed."""


def fail(message: str, status: int = 2) -> NoReturn:
    """Print one line `jaxsot: error: ...` on stderr and exit with `status` (2: the user's input)."""
    line = " ".join(str(message).split())  # one line, whatever the message held
    print(f"jaxsot: error: {line}", file=sys.stderr)
    raise SystemExit(status)


def os_error_text(error: OSError) -> str:
    """'reason: path' for an OSError (without the errno prefix)."""
    reason = error.strerror or str(error)
    return f"{reason}: {error.filename!r}" if error.filename else reason


def prepare_out(path, option: str = "--out") -> pathlib.Path:
    """Create the output folder (with parents) and check that files can be created in it, before
    any work. Raises UsageError naming the option, the path and why (an existing file, a path under
    a file, no permission, a read-only or special file system)."""
    out = pathlib.Path(path)
    if not str(path).strip():
        raise UsageError(f"{option} is empty; allowed: a folder path")
    if "\x00" in str(path):
        raise UsageError(f"{option} {str(path)!r} contains a NUL character; allowed: a folder path")
    try:
        if out.exists() and not out.is_dir():
            raise UsageError(f"{option} {str(path)!r} is an existing file, not a folder; allowed: a new or existing folder")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"{option} {str(path)!r} cannot be created ({os_error_text(error)}); allowed: a folder path you can write to"
        ) from None
    try:
        handle, probe = tempfile.mkstemp(dir=out, prefix=".jaxsot-write-test-", suffix=".tmp")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(
            f"{option} {str(path)!r} is not writable ({error.strerror or error}); allowed: a folder you can write to"
        ) from None
    return out


def check_output_file(path, option: str) -> pathlib.Path:
    """Check a single output file path before any work: its folder exists and is writable, and the
    path is not a folder. Raises UsageError."""
    file = pathlib.Path(path)
    if not str(path).strip() or "\x00" in str(path):
        raise UsageError(f"{option} {str(path)!r} is not a usable file path; allowed: a file path")
    folder = file.parent
    try:
        if file.is_dir():
            raise UsageError(f"{option} {str(path)!r} is a folder; allowed: a file path")
        if not folder.is_dir():
            raise UsageError(f"{option} {str(path)!r}: the folder {str(folder)!r} does not exist; allowed: a file in an existing folder")
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".jaxsot-write-test-", suffix=".tmp")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(
            f"{option} {str(path)!r}: cannot write in {str(folder)!r} ({error.strerror or error}); allowed: a writable folder"
        ) from None
    return file


@contextlib.contextmanager
def hold_lock(folder: pathlib.Path, name: str = ".lock"):
    """Hold an exclusive lock on `folder/name` (fcntl.flock) for the duration of the block.

    A second process that asks for the same lock gets UsageError at once (no waiting). The lock
    goes with the process (also after kill -9); the lock file stays (it holds the last owner's pid).
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield None
        return
    path = pathlib.Path(folder) / name
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as error:
        raise UsageError(f"cannot create the lock file {str(path)!r} ({os_error_text(error)})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(handle, 32, 0).decode(errors="replace").strip()
            raise UsageError(
                f"{str(folder)!r} is in use by another jaxsot process (lock {str(path)!r} is held"
                f"{', pid ' + owner if owner.isdigit() else ''}); allowed: wait for it to finish, or another --out"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(handle)  # releases the lock


def set_precision(precision: str):
    """Switch JAX to float64 or float32 for this process (the CLI chooses; the library follows inputs)."""
    import jax

    jax.config.update("jax_enable_x64", precision == "float64")
    import jax.numpy as jnp

    return jnp.float64 if precision == "float64" else jnp.float32


def enable_compilation_cache() -> str | None:
    """Keep compiled programs between runs in JAX's persistent cache (the second `jaxsot run` skips
    most of its compilation). The folder is $JAX_COMPILATION_CACHE_DIR, else ~/.cache/jaxsot/jax;
    JAXSOT_COMPILATION_CACHE=0 switches it off. Returns the folder, or None when off."""
    if os.environ.get("JAXSOT_COMPILATION_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    import jax

    folder = os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(pathlib.Path.home() / ".cache" / "jaxsot" / "jax")
    try:
        pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable home: run without the cache rather than fail
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return folder


def use_cpu_cores_as_devices() -> None:
    """Expose each CPU core as a JAX device, so ensembles and sweeps split their work over the cores.

    Must run before JAX starts its backend; an XLA_FLAGS setting of the user's wins. GPUs are
    unaffected (the flag only concerns the host platform).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        count = max(1, min(os.cpu_count() or 1, 16))
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


@contextlib.contextmanager
def atomic_output(path: pathlib.Path, mode: str = "w"):
    """Write `path` atomically: into an unpredictable, exclusively created temporary file in the same
    folder (so a planted link cannot redirect the write), then rename; removed again on failure."""
    path = pathlib.Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode) as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_text(path: pathlib.Path, text: str) -> None:
    """Write a text file atomically (see `atomic_output`)."""
    with atomic_output(path) as file:
        file.write(text)


def _finite_or_null(value, where: str, found: list):
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # NumPy / JAX scalars and arrays -> Python numbers and lists
    if isinstance(value, float) and not math.isfinite(value):
        found.append(f"{where} = {value}")
        return None
    if isinstance(value, dict):
        return {str(k): _finite_or_null(v, f"{where}.{k}" if where else str(k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    if isinstance(value, complex):
        found.append(f"{where} = {value} (complex)")
        return None
    if isinstance(value, pathlib.PurePath):
        return str(value)
    return value


def write_json(path: pathlib.Path, payload: dict) -> list[str]:
    """Write strict JSON atomically: a non-finite number becomes null and is listed under
    "non_finite_values" (never a bare NaN/Infinity); NumPy/JAX values become plain numbers.
    Returns that list."""
    found: list[str] = []
    clean = _finite_or_null(payload, "", found)
    if found:
        clean["non_finite_values"] = clean.get("non_finite_values", []) + found
    write_text(path, json.dumps(clean, indent=2, allow_nan=False) + "\n")
    return found


def save_figure(figure, path: pathlib.Path, dpi: int = 130) -> None:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    suffix = pathlib.Path(path).suffix.lstrip(".") or "png"
    try:
        with atomic_output(path, "wb") as file:
            figure.savefig(file, dpi=dpi, format=suffix)
    finally:
        plt.close(figure)


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None (with a message) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written (pip install 'jaxsot[plots]')")
        return None
    return plt



def read_config_text(path: str | None, default_text: str) -> tuple[str, str]:
    """(TOML text, where it came from) for a config path, or the embedded default.

    UTF-8 with or without a byte-order mark; at most MAX_CONFIG_BYTES. Raises ConfigError naming
    the file for a missing file, a folder, an unreadable, binary or non-UTF-8 file.
    """
    if path is None:
        return default_text, "embedded default"
    if not path or "\x00" in path:
        raise ConfigError(f"config file {path!r} is not a usable path; allowed: a TOML file")
    file = pathlib.Path(path)
    try:
        if not file.exists():
            raise ConfigError(f"config file {str(path)!r} does not exist; allowed: a TOML file (see `jaxsot default-config`)")
        if file.is_dir():
            raise ConfigError(f"config file {str(path)!r} is a folder; allowed: a TOML file")
        with open(file, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"config file {str(path)!r} cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {str(path)!r} is larger than {MAX_CONFIG_BYTES // 1024} KiB; allowed: a TOML configuration")
    if b"\x00" in data:
        raise ConfigError(f"config file {str(path)!r} holds NUL bytes (a binary file?); allowed: a UTF-8 TOML text file")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (some editors write one) is not part of the TOML
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start}); "
            "allowed: a UTF-8 TOML text file"
        ) from None
    return text, str(file)


def model_from_options(options, dtype):
    """ModelOptions (alpha_eV_nm, j_ex_eV, theta_deg, phi_deg, mass_ratio) -> RashbaFerromagnet; another
    [model] kind -> its model (cli._model_config.build_model)."""
    import jax.numpy as jnp

    import jaxsot
    from ._model_config import build_model, model_kind

    if model_kind(options) != "rashba":
        return build_model(options, dtype)

    return jaxsot.RashbaFerromagnet.from_angles(
        jnp.asarray(options.alpha_eV_nm, dtype),
        jnp.asarray(options.j_ex_eV, dtype),
        jnp.asarray(math.radians(options.theta_deg), dtype),
        jnp.asarray(math.radians(options.phi_deg), dtype),
        jnp.asarray(options.mass_ratio, dtype),
    )


def drive_from_options(options, dtype):
    """Drive options (kind, efield_V_per_m, direction_deg, ...) -> (drive E(t) [V/nm], unit direction)."""
    import jax.numpy as jnp

    import jaxsot
    from ..constants import V_PER_M_PER_V_PER_NM

    angle = math.radians(options.direction_deg)
    direction = (math.cos(angle), math.sin(angle))
    amplitude = jnp.asarray([direction[0], direction[1]], dtype) * (options.efield_V_per_m / V_PER_M_PER_V_PER_NM)
    if options.kind == "step":
        drive = jaxsot.StepDrive(amplitude)
    elif options.kind == "ramp":
        drive = jaxsot.RampDrive(amplitude, jnp.asarray(options.ramp_time_fs, dtype))
    elif options.kind == "smooth_ramp":
        drive = jaxsot.SmoothRampDrive(amplitude, jnp.asarray(options.ramp_time_fs, dtype))
    else:
        drive = jaxsot.SinusoidDrive(
            amplitude,
            jnp.asarray(options.frequency_THz * 1e-3, dtype),
            jnp.asarray(math.radians(options.phase_deg), dtype),
        )
    return drive, direction


def times_from_options(time_options, dtype):
    """TimeOptions -> the output times t = 0 .. t_end [fs], shape (num_steps,)."""
    import jax.numpy as jnp

    return jnp.linspace(0.0, time_options.t_end_fs, time_options.num_steps, dtype=dtype)


def tau_from_options(relaxation_options):
    """RelaxationOptions -> tau [fs], or None for tau_fs = inf (no relaxation)."""
    return None if math.isinf(relaxation_options.tau_fs) else relaxation_options.tau_fs


def write_table_csv(path: pathlib.Path, columns: dict) -> list[str]:
    """Write columns {"name [unit]": (T,) or (T, d) array} atomically; d > 1 gets _x/_y/_z suffixes.

    Returns the names of columns with non-finite values (written as nan/inf; say so in a note)."""
    import numpy as onp

    names, blocks = [], []
    for label, block in columns.items():
        block = onp.asarray(block, dtype=float)
        block = block[:, None] if block.ndim == 1 else block
        base, bracket, unit = label.partition(" [")
        suffixes = ["x", "y", "z"][: block.shape[1]] if block.shape[1] > 1 else [""]
        names += [f"{base}{'_' + s if s else ''}{bracket}{unit}" for s in suffixes]
        blocks.append(block)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate column names in {path.name}: {sorted(n for n in set(names) if names.count(n) > 1)}")
    table = onp.concatenate(blocks, axis=1)
    with atomic_output(path) as file:
        onp.savetxt(file, table, delimiter=",", header=",".join(names), comments="", fmt="%.10e")
    finite = onp.isfinite(table).all(axis=0)
    return [name for name, ok in zip(names, finite) if not ok]


def run_metadata(precision: str, source: str, config) -> dict:
    """The provenance block every results.json starts with (config: option objects or a plain dict)."""
    import jax

    import jaxsot

    from ._config import config_to_dict

    return {
        "jaxsot_version": jaxsot.__version__,
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "devices": jax.local_device_count(),
        "precision": precision,
        "config_source": source,
        "config": config if isinstance(config, dict) else config_to_dict(config),
    }


def parse_pairs(option, text, names, *, ranges=False, error=UsageError):
    """Parse an option like `alpha=0.05,j_ex=1` (or, ranges=True, `alpha=0.01:0.2`) with names from `names`:
    a dict of floats (or (low, high) pairs); one-line `error`s naming the option and the item."""
    out = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise error(f"{option} {item!r} is not allowed; allowed: name=value with name in {', '.join(names)}")
        if name in out:
            raise error(f"{option} gives {name} twice; allowed: each parameter once")
        try:
            if ranges:
                low, colon, high = value.partition(":")
                if not colon:
                    raise ValueError
                out[name] = (float(low), float(high))
                if not all(math.isfinite(v) for v in out[name]) or not out[name][0] < out[name][1]:
                    raise ValueError
            else:
                out[name] = float(value)
                if not math.isfinite(out[name]):
                    raise ValueError
        except ValueError:
            raise error(f"{option} {item!r}: {value!r} is not {'low:high with low < high' if ranges else 'a finite number'}") from None
    return out

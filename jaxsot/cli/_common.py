"""Plumbing shared by the CLI subcommands: option objects -> library inputs, and result files.

The path checks (`_paths`), the output folder as one run (`_output`) and the process setup (`_process`)
live in their own modules and are re-exported here, where the subcommands import them from.
No physics here; physics modules never import this file.
"""

import json
import math
import pathlib
import sys
from typing import NoReturn

from ._config import ConfigError
from ._paths import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from ._paths import UsageError as UsageError
from ._paths import check_file_size_limit as check_file_size_limit
from ._paths import check_input_file as check_input_file
from ._paths import check_output_file as check_output_file
from ._paths import file_mode as file_mode
from ._paths import hold_lock as hold_lock
from ._paths import os_error_text as os_error_text
from ._paths import read_regular_file as read_regular_file
from ._paths import shown as shown
from ._paths import special_file_kind as special_file_kind
from ._output import MANIFEST as MANIFEST
from ._output import Terminated as Terminated
from ._output import atomic_output as atomic_output
from ._output import output_session as output_session
from ._output import prepare_out as prepare_out
from ._output import read_manifest as read_manifest
from ._process import enable_compilation_cache as enable_compilation_cache
from ._process import rendezvous as rendezvous
from ._process import set_precision as set_precision
from ._process import use_cpu_cores_as_devices as use_cpu_cores_as_devices

REPORT_BUGS = "this is a bug in jaxsot: please report it with the command and the traceback (--debug)"


def fail(message: str, status: int = 2) -> NoReturn:
    """Print one line `jaxsot: error: ...` on stderr and exit with `status` (2: the user's input)."""
    line = " ".join(str(message).split())  # one line, whatever the message held
    print(f"jaxsot: error: {line}", file=sys.stderr)
    raise SystemExit(status)


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
    file = check_input_file(path, "config file")  # a FIFO or device is refused before it is opened
    try:
        data = read_regular_file(file, MAX_CONFIG_BYTES)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ConfigError(f"config file {shown(path)} cannot be read ({reason})") from None
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
    return text, shown(file)[1:-1] if not str(file).isprintable() else str(file)


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

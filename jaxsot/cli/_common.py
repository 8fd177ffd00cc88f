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


def fail(message: str, status: int = 2) -> NoReturn:
    """Print one line `jaxsot: error: ...` on stderr and exit with `status` (2: the user's input)."""
    print(f"jaxsot: error: {message}", file=sys.stderr)
    raise SystemExit(status)


def set_precision(precision: str):
    """Switch JAX to float64 or float32 for this process (the CLI chooses; the library follows inputs)."""
    import jax

    jax.config.update("jax_enable_x64", precision == "float64")
    import jax.numpy as jnp

    return jnp.float64 if precision == "float64" else jnp.float32


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
    if isinstance(value, float) and not math.isfinite(value):
        found.append(f"{where} = {value}")
        return None
    if isinstance(value, dict):
        return {k: _finite_or_null(v, f"{where}.{k}" if where else str(k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    return value


def write_json(path: pathlib.Path, payload: dict) -> list[str]:
    """Write strict JSON atomically: a non-finite number becomes null and is listed under
    "non_finite_values" (never a bare NaN/Infinity). Returns that list."""
    found: list[str] = []
    clean = _finite_or_null(payload, "", found)
    if found:
        clean["non_finite_values"] = found
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
    """(TOML text, where it came from) for a --config path, or the embedded default."""
    if path is None:
        return default_text, "embedded default"
    file = pathlib.Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {path!r} does not exist")
    return file.read_text(), str(file)


def model_from_options(options, dtype):
    """ModelOptions (alpha_eV_nm, j_ex_eV, theta_deg, phi_deg, mass_ratio) -> RashbaFerromagnet."""
    import jax.numpy as jnp

    import jaxsot

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


def write_table_csv(path: pathlib.Path, columns: dict) -> None:
    """Write columns {"name [unit]": (T,) or (T, d) array} atomically; d > 1 gets _x/_y/_z suffixes."""
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
    with atomic_output(path) as file:
        onp.savetxt(file, onp.concatenate(blocks, axis=1), delimiter=",", header=",".join(names), comments="", fmt="%.10e")


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

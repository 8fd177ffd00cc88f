"""Plumbing shared by the CLI subcommands: option objects -> library inputs, and result files.

No physics here; physics modules never import this file.
"""

import math
import pathlib

from ._config import ConfigError


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
    from jaxsot._constants import V_PER_M_PER_V_PER_NM

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


def write_csv(path: pathlib.Path, columns: dict) -> None:
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
    tmp = path.with_suffix(".csv.tmp")
    onp.savetxt(tmp, onp.concatenate(blocks, axis=1), delimiter=",", header=",".join(names), comments="", fmt="%.10e")
    tmp.replace(path)


def run_metadata(precision: str, source: str, config) -> dict:
    """The provenance block every results.json starts with."""
    import jax

    import jaxsot

    from ._config import config_to_dict

    return {
        "jaxsot_version": jaxsot.__version__,
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "precision": precision,
        "config_source": source,
        "config": config_to_dict(config),
    }

"""Parameter sweeps: ensemble observables for many (model, E_F, drive, tau) points at once.

A sweep point is one set of scalars (the keys of `SWEEP_PARAMETERS`, internal units). For each
point the T = 0 Fermi sea of both bands is evolved on the time grid exactly as `jaxsot.simulate`
does (same kernels: autodiff spin rate and Hessian-vector-product spin force on polar
Gauss-Legendre nodes, levels from Fermi-contour fluxes, the papers' approximations alongside),
and the per-area observables come back as arrays with a leading point axis.

Layout of the computation (docs: Benchmarks):
- per point: `lax.scan` over time inside, all the point's states vectorized (as in simulate);
- per device: `lax.map` over its points, `batch_points` of them vectorized together (1 on a CPU,
  where a point's intermediates then stay in cache; thousands on a GPU, to fill it);
- over devices: `shard_map` on a 1-D mesh over the point axis. Points are independent, so there is
  no cross-device reduction at all: inputs and outputs are split along points.

Everything on the point axis is a traced array, so one compilation serves the whole sweep. The
checks that need concrete values (is each Fermi sea described on rays from k = 0?) are done on
the host, vectorized over points, by `sweep_status` (the probe: `_seacheck`) before anything is computed: the library's
`fermi_sea_status` is skipped for tracers. This module is pure computation: files, chunks and
resume live in the command-line layer (`jaxsot.cli`).
"""

import functools
import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as onp
from jax.sharding import Mesh, PartitionSpec
from .._core._checks import check_count
from .._core._drives import RampDrive, SinusoidDrive, StepDrive
from .._core._model import RashbaFerromagnet
from .._dynamics._engine import evolve_block
from .._dynamics._observables import assemble_observables, engine_parts, ensemble_nodes, full_columns, relative_error, select_observables
from .._dynamics._shift import SHIFT_NODES, integrate_shift
from ..constants import HBAR
from ._seacheck import sea_checks


SWEEP_PARAMETERS = {
    "alpha": ("eV nm", None, "Rashba coupling"),
    "j_ex": ("eV", None, "exchange coupling J"),
    "theta": ("rad", None, "polar angle of M from +z"),
    "phi": ("rad", None, "azimuth of M from +x"),
    "mass_ratio": ("1", 1.0, "effective mass m*/m_e"),
    "fermi_energy": ("eV", None, "Fermi energy E_F"),
    "efield": ("V/nm", None, "field amplitude |E|"),
    "efield_direction": ("rad", 0.0, "in-plane angle of E from +x"),
    "tau": ("fs", math.inf, "momentum relaxation time (inf: none)"),
    "ramp_time": ("fs", 10.0, "ramp duration (drive 'ramp')"),
    "frequency": ("1/fs", 0.01, "frequency (drive 'sinusoid')"),
    "phase": ("rad", 0.0, "phase (drive 'sinusoid')"),
}
"""Sweepable parameters: name -> (internal unit, default or None if required, description)."""

DRIVES = ("step", "ramp", "sinusoid")

# Observables with their approximations and component labels ("xyz" 3-vectors, "xy" in-plane).
OBSERVABLES = {
    "damping_torque": (("exact", "second_order", "strong_exchange"), "xyz"),
    "field_like_torque": (("exact", "strong_exchange"), "xyz"),
    "spin_force_density": (("exact", "second_order", "strong_exchange"), "xy"),
    "spin_force_per_electron": (("exact", "second_order", "strong_exchange"), "xy"),
    "spin_density_change": (("exact",), "xyz"),
    "current_density": (("exact", "strong_exchange"), "xy"),
}
"""Time-dependent observables of a sweep: name -> (approximations, components). Units: `jaxsot.UNITS`."""

SWEEP_OBSERVABLES = OBSERVABLES
"""The public name of `OBSERVABLES`: name -> (approximations, components "xyz" or "xy")."""

POINT_QUANTITIES = {
    "band_density": ("1/nm^2", "electron density per band (lower, upper)"),
    "eta": ("1", "eta = m alpha^2/(hbar^2 J)"),
    "min_splitting": ("eV", "smallest Omega over all sampled states and times"),
}
"""Per-point scalars (band_density has a trailing (lower, upper) axis)."""

STATUS_MESSAGES = {
    0: "ok",
    1: "no electrons: E_F lies below the lower band",
    2: "the lower band's Fermi sea does not contain k = 0 (annular 'Mexican-hat' sea)",
    3: "the upper band's Fermi sea does not contain k = 0 (occupied only near the band touching k*)",
    4: "a Fermi sea is not star-shaped about k = 0 (a ray crosses the Fermi level more than once)",
}
"""Codes of `sweep_status`: only status 0 points can be computed."""

def states_per_point(num_phi: int, num_r: int) -> int:
    """States evaluated per point and time step: sea nodes of both bands + contour nodes at 2 shifts.

    The same count as `SimulationResult.num_states` with both bands occupied (an empty upper band
    is still evaluated, with zero weight, so every point costs the same).

    Args:
        num_phi: rays per band.
        num_r: radial nodes per ray.

    Returns:
        The number of states of one point.
    """
    return 2 * num_phi * num_r + len(SHIFT_NODES) * 2 * num_phi


# ------------------------------------------------------------------------------------------------
# Host-side checks (NumPy, float64, vectorized over points).


def normalize_points(points: Mapping, required: bool = True) -> dict:
    """Sweep points as {name: (P,) float64} with every `SWEEP_PARAMETERS` key (defaults filled in).

    Args:
        points: {name: (P,) array or scalar} in internal units (keys of `SWEEP_PARAMETERS`).
        required: when False, a missing required parameter is NaN instead of an error (plans that
            only look at some columns).

    Returns:
        {name: (P,) float64 array} for every key of `SWEEP_PARAMETERS`.

    Raises:
        ValueError: an unknown or missing name, or shapes that do not broadcast to one axis (P,).
    """
    return _as_points(points, required)


def _as_points(points: Mapping, required=True) -> dict:
    unknown = sorted(set(points) - set(SWEEP_PARAMETERS))
    if unknown:
        raise ValueError(f"points has unknown parameter(s) {unknown}; allowed: {', '.join(SWEEP_PARAMETERS)}")
    arrays = {}
    for name, (unit, default, _) in SWEEP_PARAMETERS.items():
        if name in points:
            arrays[name] = onp.asarray(points[name], dtype=onp.float64)
        elif default is not None or not required:
            arrays[name] = onp.asarray(math.nan if default is None else default)
        else:
            raise ValueError(f"points lacks the required parameter {name!r} [{unit}]")
    try:
        shape = onp.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = {k: v.shape for k, v in arrays.items()}
        raise ValueError(f"points: parameter shapes {shapes} do not broadcast; allowed: (P,) or scalars") from None
    if len(shape) != 1:
        raise ValueError(f"points: parameters broadcast to shape {shape}; allowed: one point axis (P,)")
    return {k: onp.broadcast_to(v, shape) for k, v in arrays.items()}


def check_point_values(p: dict) -> None:
    """Range checks of every parameter with the name, the offending value, its point and the range.

    Args:
        p: normalized points (`normalize_points`).

    Raises:
        ValueError: naming the first parameter, point index and value out of its range.
    """
    rules = {
        "alpha": (None, None, False),
        "j_ex": (0.0, None, True),
        "theta": (None, None, False),
        "phi": (None, None, False),
        "mass_ratio": (0.0, None, False),
        "fermi_energy": (None, None, False),
        "efield": (0.0, None, False),
        "efield_direction": (None, None, False),
        "tau": (0.0, None, False),
        "ramp_time": (0.0, None, False),
        "frequency": (0.0, None, False),
        "phase": (None, None, False),
    }
    for name, (low, _, inclusive) in rules.items():
        value = p[name]
        finite = onp.isfinite(value) | ((name == "tau") & (value == math.inf))
        bad = ~finite
        if low is not None:
            bad |= (value < low) if inclusive else (value <= low)
        if onp.any(bad):
            index = int(onp.flatnonzero(bad)[0])
            unit = SWEEP_PARAMETERS[name][0]
            allowed = "finite" if low is None else f"{'[' if inclusive else '('}{low:g}, inf{']' if name == 'tau' else ')'}"
            raise ValueError(
                f"points[{name!r}][{index}] = {float(value[index])!r} {unit} is out of range; allowed: {allowed} {unit}"
            )


def sweep_status(points: Mapping) -> onp.ndarray:
    """Which sweep points can be computed: (P,) int8 codes, 0 = ok (meanings in `STATUS_MESSAGES`).

    The test of `jaxsot.fermi_sea_status` (the same probe rays, radii and `classify_seas`, with the Rashba energies in NumPy float64: no compilation) applied to
    both bands of every point, once per distinct (alpha, J, theta, phi, mass_ratio, E_F): drive
    parameters do not change the Fermi sea (cost ~1-3 ms per distinct sea). Also range-checks every
    parameter (ValueError naming the parameter, the point index, the value and the allowed range).

    Args:
        points: {name: (P,) array or scalar} in internal units (see `SWEEP_PARAMETERS`).

    Returns: status codes, shape (P,) int8.
    """
    p = _as_points(points)
    check_point_values(p)
    return sea_checks(p)[0]


# ------------------------------------------------------------------------------------------------
# The per-point computation (traced: every argument may be a tracer).


def _drive(kind, amplitude, p):
    if kind == "step":
        return StepDrive(amplitude)
    if kind == "ramp":
        return RampDrive(amplitude, p["ramp_time"])
    return SinusoidDrive(amplitude, p["frequency"], p["phase"])


def _state_chunk(count: int, limit: int) -> int:
    """The largest divisor of count not above limit (no padding), or limit if that is tiny."""
    if count <= limit:
        return count
    best = max(d for d in range(1, limit + 1) if count % d == 0)
    return best if best >= limit // 4 else limit


def _point_observables(p, upper, times, *, drive, num_phi, num_r, substeps, state_chunk, selection=None):
    """The observables of one point: {name: array}; p holds traced scalars, upper is 0/1 (occupied).

    selection: None (all of OBSERVABLES), or `select_observables` pairs: only those are computed."""
    model = RashbaFerromagnet.from_angles(p["alpha"], p["j_ex"], p["theta"], p["phi"], p["mass_ratio"])
    fermi_energy = p["fermi_energy"]
    amplitude = p["efield"] * jnp.stack([jnp.cos(p["efield_direction"]), jnp.sin(p["efield_direction"])])
    efield, shift, k_rate = integrate_shift(_drive(drive, amplitude, p), times, p["tau"], substeps)
    force = HBAR * k_rate

    sea, contour, band_densities = ensemble_nodes(model, fermi_energy, (-1, 1), num_phi, num_r, upper_occupied=upper)
    # The sums of `simulate` (`evolve_block`), each node set in one chunk (no padding of the small contour set).
    parts = engine_parts(selection)
    rates, levels, smallest = evolve_block(
        model, sea, contour, shift, force,
        chunk=_state_chunk(sea[0].shape[0], state_chunk), contour_chunk=_state_chunk(contour[0].shape[0], state_chunk),
        parts=parts,
    )
    rates, levels = full_columns(model, rates, levels, parts)
    observables = assemble_observables(model, rates, levels, band_densities, force, shift, selection=selection)
    out = {}
    for name, kind in output_names(selection).items():
        if kind[0] == "series":
            out[name] = observables[kind[1]][kind[2]]
        elif kind[0] == "error":
            out[name] = relative_error(observables[kind[1]][kind[2]], observables[kind[1]]["exact"])
    out["band_density"] = band_densities
    out["eta"] = model.eta
    out["min_splitting"] = smallest
    return out


def default_state_chunk(platform: str) -> int:
    """States of one point vectorized together by default: 1024 on CPUs, all of them elsewhere.

    1024 as in `simulate`: from 2048 states XLA-CPU splits a float32 loop over two threads, which
    halved float32 throughput (benchmarks/README.md).

    Args:
        platform: a jax device's platform ("cpu", "gpu", "tpu").

    Returns:
        The default `state_chunk`.
    """
    return 1024 if platform == "cpu" else 1 << 30


def select_sweep_observables(observables=None, approximations=None):
    """The (observable, approximations) pairs a choice selects from `SWEEP_OBSERVABLES`.

    Args:
        observables: names from `SWEEP_OBSERVABLES`, or None for all.
        approximations: of "exact", "second_order", "strong_exchange", or None for all.

    Returns:
        A hashable selection for `output_names` and `compute_points`.

    Raises:
        ValueError: an unknown name (naming it and the allowed ones) or an empty selection.
    """
    return select_observables(observables, approximations, available={k: v[0] for k, v in OBSERVABLES.items()})


def output_names(selection=None) -> dict:
    """{variable: (kind, observable, approximation)} for every array `sweep_observables` returns.

    kind is "series" ((P, T, d) values), "error" ((P,) relative errors max_t|a - e|/max_t|e|, present
    when the exact column is computed too) or "point" ((P,) or (P, 2) per-point quantities).

    Args:
        selection: None (all observables), or `select_sweep_observables`' pairs.

    Returns:
        The dict above, in output order.
    """
    names = {}
    chosen = {k: v[0] for k, v in OBSERVABLES.items()} if selection is None else dict(selection)
    for name, (approximations, _) in OBSERVABLES.items():
        for approx in chosen.get(name, ()):
            names[f"{name}_{approx}"] = ("series", name, approx)
            if approx != "exact" and "exact" in chosen[name]:
                names[f"{name}_error_{approx}"] = ("error", name, approx)
    for name in POINT_QUANTITIES:
        names[name] = ("point", name, None)
    names["status"] = ("point", "status", None)
    return names


@functools.lru_cache(maxsize=16)
def _compiled(devices: tuple, drive: str, num_phi: int, num_r: int, substeps: int, batch_points: int, state_chunk: int,
              selection=None):
    """One jitted, sharded function per device set and static setting."""

    def local(params, upper, times):
        def one(x):
            return _point_observables(
                x[0], x[1], times, drive=drive, num_phi=num_phi, num_r=num_r, substeps=substeps,
                state_chunk=state_chunk, selection=selection,
            )

        return jax.lax.map(one, (params, upper), batch_size=batch_points)

    mesh = Mesh(onp.asarray(devices), ("points",))
    points, replicated = PartitionSpec("points"), PartitionSpec()
    # Each device maps over its own points; outputs stay split along points: no collective at all.
    # check_vma=False: the library's scans start from constant (unvarying) carries, which is fine
    # here because nothing is ever reduced across the mesh.
    sharded = jax.shard_map(
        local, mesh=mesh, in_specs=(points, points, replicated), out_specs=points, check_vma=False
    )
    return jax.jit(sharded)


def compute_points(points: dict, upper: onp.ndarray, times, *, drive, num_phi, num_r, substeps, batch_points, devices, state_chunk,
                   selection=None):
    """Evaluate already validated points (numpy, any P) padded to the device count; numpy out.

    The computation of `sweep_observables` without its checks: callers that check once and then
    evaluate many chunks (the command line) call this per chunk.

    Args:
        points: normalized points whose `sea_checks` status is 0 ({name: (P,) array}).
        upper: (P,) upper band occupied (from `sea_checks`).
        times: (T,) increasing times [fs]; its dtype is the dtype of the computation.
        drive: "step", "ramp" or "sinusoid".
        num_phi: rays per band.
        num_r: radial nodes per ray.
        substeps: RK4 substeps of the rigid shift per interval.
        batch_points: points vectorized together per device.
        devices: the devices the points are split over.
        state_chunk: most states of one point vectorized at a time.
        selection: `select_sweep_observables` pairs, or None for all.

    Returns:
        {variable: NumPy array} as `output_names(selection)` (without "status").
    """
    count = next(iter(points.values())).shape[0]
    n_dev = len(devices)
    per_device = -(-count // n_dev)
    padded = per_device * n_dev
    dtype = times.dtype
    # Padding repeats the last point: valid inputs, results dropped below.
    index = onp.minimum(onp.arange(padded), count - 1)
    params = {k: jnp.asarray(v[index], dtype) for k, v in points.items()}
    mask = jnp.asarray(upper[index], dtype)
    function = _compiled(tuple(devices), drive, num_phi, num_r, substeps, min(batch_points, per_device), state_chunk, selection)
    result = function(params, mask, times)
    return {k: onp.array(v[:count]) for k, v in result.items()}


def sweep_observables(
    points: Mapping,
    times,
    *,
    drive: str = "step",
    num_phi: int = 64,
    num_r: int = 8,
    substeps: int = 4,
    batch_points: int = 1,
    devices=None,
    invalid: str = "raise",
    state_chunk: int | None = None,
    observables=None,
    approximations=None,
) -> dict:
    """Ensemble observables for many sweep points at once (vectorized, sharded over devices).

    Each point is what `jaxsot.simulate(model, E_F, drive, times, tau=tau, num_phi=num_phi,
    num_r=num_r, substeps=substeps)` computes for its own model and drive, evaluated with one
    compiled program for all points. Points are split over `devices` along the point axis with
    `shard_map` (no cross-device communication).

    Args:
        points: {name: (P,) array or scalar} with the keys of `SWEEP_PARAMETERS` in internal units
            (alpha [eV nm], j_ex [eV], theta/phi [rad], mass_ratio, fermi_energy [eV], efield [V/nm],
            efield_direction [rad], tau [fs] (inf: no relaxation), ramp_time [fs], frequency [1/fs],
            phase [rad]); the optional ones take their defaults.
        times: (T,) strictly increasing [fs], the field switched on at times[0] = 0 as in simulate;
            its dtype is the dtype of the computation.
        drive: "step", "ramp" or "sinusoid" (`jaxsot.StepDrive` etc. with amplitude
            efield * (cos, sin)(efield_direction)).
        num_phi: rays per band (`states_per_point` states in all).
        num_r: radial Gauss-Legendre nodes per ray.
        substeps: RK4 substeps for the rigid shift per time interval.
        batch_points: points vectorized together on each device (1 suits CPUs; large on GPUs).
        devices: a sequence of devices (default: `jax.local_devices()`).
        state_chunk: most states of one point vectorized at a time (default 1024 on CPUs, where
            larger blocks fall out of cache (docs: Benchmarks), unlimited elsewhere).
        invalid: "raise" (ValueError naming the first point that cannot be computed) or "nan"
            (such points are returned as NaN with their code in "status").
        observables: names to compute (damping_torque, field_like_torque, spin_force_density,
            spin_force_per_electron, spin_density_change, current_density), or None for all. Only
            what the choice needs is evaluated (e.g. the exact damping torque alone: no spin force,
            no contour levels, no second-order or strong-exchange forms); the values kept are those
            of the full set.
        approximations: of "exact", "second_order", "strong_exchange", or None for all.

    Returns: {variable: array} with the names of `output_names(selection)`: series (P, T, 3 or 2),
        relative errors (P,), band_density (P, 2), eta (P,), min_splitting (P,), status (P,) int8.
        Units: `jaxsot.UNITS` for observables, `POINT_QUANTITIES` for the rest.
    """
    if drive not in DRIVES:
        raise ValueError(f"drive = {drive!r} is not allowed; allowed: {', '.join(map(repr, DRIVES))}")
    selection = select_sweep_observables(observables, approximations)
    if invalid not in ("raise", "nan"):
        raise ValueError(f"invalid = {invalid!r} is not allowed; allowed: 'raise' or 'nan'")
    num_phi = check_count("num_phi", num_phi, minimum=8)
    num_r = check_count("num_r", num_r, minimum=2)
    substeps = check_count("substeps", substeps, minimum=1)
    batch_points = check_count("batch_points", batch_points, minimum=1)
    times = jnp.asarray(times)
    if times.ndim != 1 or times.shape[0] < 2 or not jnp.issubdtype(times.dtype, jnp.floating):
        raise ValueError(f"times has shape {times.shape} and dtype {times.dtype}; allowed: (T,) floats with T >= 2")
    host_times = onp.asarray(times)
    if not onp.all(onp.isfinite(host_times)) or not onp.all(onp.diff(host_times) > 0):
        raise ValueError("times is not finite and strictly increasing; allowed: a strictly increasing (T,) array [fs]")
    p = _as_points(points)
    check_point_values(p)
    status, upper = sea_checks(p)
    bad = onp.flatnonzero(status != 0)
    if bad.size and invalid == "raise":
        i = int(bad[0])
        where = ", ".join(f"{k} = {float(p[k][i]):g}" for k in ("alpha", "j_ex", "theta", "phi", "fermi_energy"))
        raise ValueError(
            f"sweep point {i} ({where}) cannot be computed: {STATUS_MESSAGES[int(status[i])]}; "
            f"{bad.size} of {status.size} points are affected; allowed: points with status 0 (see jaxsot.sweep_status)"
        )
    good = onp.flatnonzero(status == 0)
    if good.size == 0:
        raise ValueError(f"none of the {status.size} sweep points can be computed (codes {sorted(set(status.tolist()))})")
    if bad.size:
        # Compute a valid stand-in at the invalid points (same shapes, one compilation), then blank them.
        p = {k: onp.where(status == 0, v, v[good[0]]) for k, v in p.items()}
        upper = onp.where(status == 0, upper, upper[good[0]])
    devices = tuple(jax.local_devices() if devices is None else devices)
    if state_chunk is None:
        state_chunk = default_state_chunk(devices[0].platform)
    state_chunk = check_count("state_chunk", state_chunk, minimum=1)
    result = compute_points(
        p, upper, times, drive=drive, num_phi=num_phi, num_r=num_r, substeps=substeps,
        batch_points=batch_points, devices=devices, state_chunk=state_chunk, selection=selection,
    )
    if bad.size:
        for value in result.values():
            value[bad] = onp.nan
    result["status"] = status
    return result

"""Checks every command runs after parsing and before any work: the Fermi seas the inputs ask for,
and a resource estimate (work in state-steps, memory, disk) against [limits] and this machine.

All of it is host-side NumPy and arithmetic: a refusal costs milliseconds and never compiles
anything. Errors are ConfigError (config keys) or UsageError (command-line options), one line
naming the keys, the numbers and what is allowed.

The estimates are deliberately simple upper-end figures (bytes per state, per time step, per
stored value); they are there to refuse inputs that cannot finish (hundreds of GB, years of work)
before anything starts, not to predict run times. Calibration of `jaxsot run` (peak RSS, float64,
JAX on CPU, 2-core VM at load average ~5.7): 0.52 GB for 16 x 4 sea nodes and 6 steps; +0.09 GB
for 40001 steps (~2.2 kB per step); +0.02 GB for 2048 x 64 x 2 sea nodes (~70 B per state). The
figures of the other commands are conservative estimates from their array sizes (not measured).
"""

import dataclasses
import math
import os
import pathlib
import shutil

from ._common import UsageError
from ._config import ConfigError, named_errors

CPU_STATE_STEPS_PER_SECOND = 3.0e7
"""Nominal throughput of one CPU core (state-steps per second), for the hours quoted in messages."""
BASE_BYTES = 1.0e9
"""JAX, XLA and the compiled programs: resident memory before any array of the run."""
RUN_BYTES_PER_STATE = 200.0
"""Memory per Fermi-sea / contour state of `jaxsot run` (nodes, weights, chunked intermediates):
~3x the measured ~70 B."""
RUN_BYTES_PER_STEP = 4000.0
"""Memory per output time of `jaxsot run` (observables x approximations, host copies, the CSV
table): ~2x the measured ~2.2 kB."""
CSV_BYTES_PER_VALUE = 17.0
"""Characters per number in the CSV files (%.10e and a comma)."""
SWEEP_BYTES_PER_VALUE = 8.0 * 4
"""Host memory per stored sweep value at the merge: chunk arrays, the concatenation, the Dataset
and the NetCDF writer's buffer (float64)."""
SWEEP_BYTES_PER_POINT = 8.0 * 12 * 6
"""Host memory per sweep point for its parameters (12 columns) and their checks."""
QUANTUM_BYTES_PER_STEP = 8.0 * 80
"""Memory per Magnus step of one scanned state's full trajectory (spinor, schedule, observables)."""
QUANTUM_SCHEDULE_BYTES_PER_STEP = 8.0 * 32
"""Memory per Magnus step of a Fermi-sea schedule (Delta k, k', E at the Gauss nodes) and its sums."""
LLG_BYTES_PER_SAVE = 8.0 * 60 * 4
"""Memory per saved LLG time (~60 columns, result arrays, diagnostics, the CSV table)."""
LLG_MAX_STEPS = 200_000
"""The integrator's step budget in `jaxsot llg` (simulate_llg's max_steps)."""
LLG_STAGES = 7
"""Torque evaluations per accepted step of the adaptive integrator (Dormand-Prince 5(4))."""
FIT_BYTES_PER_CONTOUR_POINT = 8.0 * 150
"""Memory per contour point, row and restart of a fit (root solves, their derivatives, vmap)."""
MAX_DATA_ROWS = 100_000
"""Most data rows a fit reads (all files together), and the most `jaxsot synth --points`."""


def machine_memory() -> int | None:
    """Bytes of memory this process may use: physical memory (os.sysconf), lowered by a cgroup
    limit when one is set; None when neither is known."""
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = pathlib.Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) > 0:
            total = int(text) if total is None else min(total, int(text))
    return total


def _gb(value: float) -> str:
    return f"{value / 1e9:.3g} GB"


def memory_budget(max_memory_gb: float, key: str = "[limits] max_memory_GB") -> tuple[float, str]:
    """(bytes a run may plan to use, how that was decided). Raises ConfigError/UsageError when the
    requested limit is above this machine's memory."""
    machine = machine_memory()
    error = ConfigError if key.startswith("[") else UsageError
    if max_memory_gb > 0:
        if machine is not None and max_memory_gb * 1e9 > machine:
            raise error(f"{key} = {max_memory_gb:g} is above this machine's {_gb(machine)}; allowed: at most {machine / 1e9:.3g}")
        return max_memory_gb * 1e9, f"{key} = {max_memory_gb:g}"
    if machine is None:
        return math.inf, "unknown machine memory"
    return machine / 2, f"half of this machine's {_gb(machine)} ({key} = 0)"


def check_resources(
    *, work: float, work_text: str, memory: float, memory_text: str, fix: str, max_state_steps: float,
    max_memory_gb: float, work_key: str = "[limits] max_state_steps", memory_key: str = "[limits] max_memory_GB",
) -> None:
    """Refuse work above the work limit and planned memory above the memory budget (one line each)."""
    error = ConfigError if work_key.startswith("[") else UsageError
    if work > max_state_steps:
        hours = work / CPU_STATE_STEPS_PER_SECOND / 3600.0
        raise error(
            f"{work_text} = {work:.3g} state-steps (~{hours:.3g} h of one CPU core), above {work_key} = {max_state_steps:.3g}; "
            f"allowed: {fix}, or a larger {work_key}"
        )
    budget, how = memory_budget(max_memory_gb, memory_key)
    if memory > budget:
        raise error(f"{memory_text} needs about {_gb(memory)}, above {how}: {_gb(budget)}; allowed: {fix}, or a larger {memory_key}")


def check_disk(out: pathlib.Path, need: float, what: str, option: str = "--out") -> None:
    """Refuse when the estimated output files do not fit in the free space of the output folder."""
    try:
        free = shutil.disk_usage(out).free
    except OSError:
        return
    if need > free:
        raise UsageError(f"{what} need about {_gb(need)} on disk; {option} {str(out)!r} has {_gb(free)} free; allowed: fewer values, or another {option}")


# ------------------------------------------------------------------------------------------------
# Fermi seas (NumPy, the host check of `jaxsot.sweep_status`).


def _status(points: dict):
    """(status codes, upper band occupied) of points {internal name: (P,) array}; range errors as ConfigError."""
    import numpy as onp

    from .. import sweep as sweep_api

    full = _defaults({k: onp.atleast_1d(onp.asarray(v, onp.float64)) for k, v in points.items()})
    try:
        sweep_api.check_point_values(full)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return sweep_api.sea_checks(full)


def _defaults(arrays: dict) -> dict:
    import numpy as onp

    from .. import sweep as sweep_api

    count = max(len(v) for v in arrays.values())
    out = {}
    for name, (_, default, _) in sweep_api.SWEEP_PARAMETERS.items():
        value = arrays.get(name, onp.asarray([default if default is not None else 1.0]))
        out[name] = onp.broadcast_to(value, (count,)).astype(onp.float64)
    return out


def _sea_message(code: int) -> str:
    from .. import sweep as sweep_api

    return sweep_api.STATUS_MESSAGES[int(code)]


def _model_point(model, fermi_energy) -> dict:
    return {
        "alpha": model.alpha_eV_nm, "j_ex": model.j_ex_eV, "theta": math.radians(model.theta_deg),
        "phi": math.radians(model.phi_deg), "mass_ratio": model.mass_ratio, "fermi_energy": fermi_energy,
        "efield": 1e-4,
    }


def _check_model_sea(model, fermi_energy: float) -> bool:
    """Refuse a [model] + fermi_energy_eV whose Fermi sea is not supported; True when the upper band is occupied."""
    from ._model_config import build_model, model_kind

    if model_kind(model) != "rashba":  # another kind: the library's own check of the seas (concrete values)
        import jaxsot

        try:
            return 1 in jaxsot.occupied_bands(build_model(model, None), fermi_energy)
        except ValueError as error:
            raise ConfigError(f"[ensemble] fermi_energy_eV = {fermi_energy:g} with [model] kind = {model_kind(model)!r} cannot be computed: {error}") from None
    status, upper = _status(_model_point(model, fermi_energy))
    if status[0] != 0:
        raise ConfigError(
            f"[ensemble] fermi_energy_eV = {fermi_energy:g} with [model] alpha_eV_nm = {model.alpha_eV_nm:g}, j_ex_eV = "
            f"{model.j_ex_eV:g}, theta_deg = {model.theta_deg:g}, phi_deg = {model.phi_deg:g}, mass_ratio = {model.mass_ratio:g} "
            f"cannot be computed: {_sea_message(status[0])}; allowed: another Fermi energy or model"
        )
    return bool(upper[0])


# ------------------------------------------------------------------------------------------------
# Per command.


def run_states(num_phi: int, num_r: int) -> int:
    """States per time step of `jaxsot run` and of a sweep point (sea nodes + contour nodes at 2 shifts)."""
    return 2 * num_phi * num_r + 2 * 2 * num_phi


def check_run(config, source: str) -> dict:
    """Sea and resources of `jaxsot run`; returns the estimate {work, memory, disk}."""
    with named_errors(source):
        _check_model_sea(config.model, config.ensemble.fermi_energy_eV)
        states = run_states(config.ensemble.num_phi, config.ensemble.num_r)
        steps = config.time.num_steps
        work = float(states) * steps
        memory = BASE_BYTES + states * RUN_BYTES_PER_STATE + steps * RUN_BYTES_PER_STEP
        check_resources(
            work=work, memory=memory, max_state_steps=config.limits.max_state_steps, max_memory_gb=config.limits.max_memory_GB,
            work_text=f"[ensemble] num_phi = {config.ensemble.num_phi}, num_r = {config.ensemble.num_r} ({states} states) x "
                      f"[time] num_steps = {steps}",
            memory_text=f"{states} states x {steps} time steps",
            fix="a smaller [ensemble] num_phi / num_r or [time] num_steps",
        )
    return {"work": work, "memory": memory, "disk": steps * 90 * CSV_BYTES_PER_VALUE}


def sweep_size(config) -> tuple[int, int, int, int]:
    """(points, states per point, time steps, stored values per point) of a sweep configuration."""
    from .. import sweep as sweep_api

    if config.sweep.mode == "grid":
        points = math.prod(len(a.values) for a in config.axes)
    else:
        points = config.sweep.num_points
    steps = config.run.time.num_steps
    stored = 6  # band_density (2), eta, min_splitting, status, one spare
    for name in config.observables:
        approximations, components = sweep_api.SWEEP_OBSERVABLES[name]
        stored += len(approximations) * steps * len(components) + (len(approximations) - 1)
    return points, run_states(config.run.ensemble.num_phi, config.run.ensemble.num_r), steps, stored


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """The points of a sweep, checked: swept values (config units), grid shape, internal values,
    Fermi-sea status (0 ok) and whether the upper band is occupied, per point."""

    swept: dict
    shape: tuple
    points: dict
    status: object
    upper: object
    disk: float


def plan_sweep(config, source: str) -> SweepPlan:
    """Resources first (from the sizes alone), then every point's values and Fermi sea (NumPy)."""
    import numpy as onp

    from ._sweep_store import internal_points, sweep_points

    with named_errors(source):
        points, states, steps, stored = sweep_size(config)
        limits = config.run.limits
        work = float(points) * states * steps
        memory = BASE_BYTES + points * (SWEEP_BYTES_PER_POINT + stored * SWEEP_BYTES_PER_VALUE)
        if config.sweep.chunk_points:
            chunk = min(config.sweep.chunk_points, points)
            memory += chunk * 8.0 * (60 * min(states, 2048) + 40 * steps + stored)
        size = " x ".join(str(len(a.values)) for a in config.axes) if config.sweep.mode == "grid" else f"{points}"
        fix = "fewer [sweep.parameters] values / num_points, a smaller [ensemble] num_phi / num_r or [time] num_steps, fewer [output] observables"
        check_resources(
            work=work, memory=memory, max_state_steps=limits.max_state_steps, max_memory_gb=limits.max_memory_GB,
            work_text=f"{size} = {points} points x {states} states x [time] num_steps = {steps}",
            memory_text=f"{points} points x {stored} stored values" + (
                f" (and chunks of [sweep] chunk_points = {config.sweep.chunk_points})" if config.sweep.chunk_points else ""
            ),
            fix=fix,
        )
        swept, shape = sweep_points(config)
        internal = internal_points(config, swept)
        from .. import sweep as sweep_api

        try:
            sweep_api.check_point_values(internal)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        status, upper = sweep_api.sea_checks(internal)
        bad = onp.flatnonzero(status != 0)
        count = int(status.size)
        if bad.size and config.sweep.on_invalid == "error":
            i = int(bad[0])
            where = ", ".join(f"{k} = {swept[k][i]:g}" for k in swept)
            raise ConfigError(
                f"sweep point {i} ({where}) cannot be computed: {sweep_api.STATUS_MESSAGES[int(status[i])]} "
                f"({bad.size} of {count} points); allowed: other ranges, or [sweep] on_invalid = \"nan\""
            )
        if bad.size == count:
            raise ConfigError(f"none of the {count} sweep points can be computed: {sweep_api.STATUS_MESSAGES[int(status[0])]}")
    return SweepPlan(swept, shape, internal, status, upper, disk=2.0 * points * stored * 8.0)


def _check_llg_bands(e) -> None:
    """The Rashba [electrons]: the same occupied bands for every probe direction of M."""
    import numpy as onp

    from .._llg._magnet import PROBE_DIRECTIONS

    directions = onp.asarray(PROBE_DIRECTIONS, float)
    theta = onp.arccos(onp.clip(directions[:, 2], -1.0, 1.0))
    phi = onp.arctan2(directions[:, 1], directions[:, 0])
    n = len(directions)
    status, upper = _status({
        "alpha": onp.full(n, e.alpha_eV_nm), "j_ex": onp.full(n, e.j_ex_eV), "theta": theta, "phi": phi,
        "mass_ratio": onp.full(n, e.mass_ratio), "fermi_energy": onp.full(n, e.fermi_energy_eV), "efield": onp.full(n, 1e-4),
    })
    if onp.any(status != 0):
        code = int(status[onp.flatnonzero(status != 0)[0]])
        allowed = (
            f"fermi_energy_eV above the lower band's bottom (about -j_ex_eV = {-e.j_ex_eV:g})" if code == 1 else
            f"fermi_energy_eV > j_ex_eV = {e.j_ex_eV:g} (both bands for every M) or below the upper band's bottom for every M"
        )
        raise ConfigError(
            f"[electrons] fermi_energy_eV = {e.fermi_energy_eV:g} with alpha_eV_nm = {e.alpha_eV_nm:g}, j_ex_eV = {e.j_ex_eV:g}: "
            f"{_sea_message(code)} for some direction of M; allowed: {allowed}"
        )
    if len(set(upper.tolist())) != 1:
        raise ConfigError(
            f"[electrons] fermi_energy_eV = {e.fermi_energy_eV:g}: the upper band is occupied for some directions of M only; "
            f"allowed: fermi_energy_eV > j_ex_eV = {e.j_ex_eV:g} (both bands) or below the upper band's bottom for every M"
        )


def check_llg(config, source: str) -> dict:
    """Bands for every direction of M (the torque needs the same occupied bands for all) and resources."""
    import numpy as onp

    from .._llg._magnet import PROBE_DIRECTIONS

    with named_errors(source):
        e = config.electrons
        if hasattr(e, "alpha_eV_nm"):  # the Rashba [electrons]; another kind was checked when parsed (ModelTorque)
            _check_llg_bands(e)
        t = config.torque
        states = 2 * t.num_contour if t.method == "exact" else 1
        work = float(LLG_MAX_STEPS) * LLG_STAGES * states
        saves = config.time.num_save
        memory = BASE_BYTES + saves * LLG_BYTES_PER_SAVE + states * RUN_BYTES_PER_STATE * LLG_STAGES
        check_resources(
            work=work, memory=memory, max_state_steps=config.limits.max_state_steps, max_memory_gb=config.limits.max_memory_GB,
            work_text=f"at most {LLG_MAX_STEPS} steps x {LLG_STAGES} stages x [torque] num_contour = {t.num_contour} x 2 bands",
            memory_text=f"[time] num_save = {saves} saved times", fix="a smaller [time] num_save or [torque] num_contour",
        )
    return {"work": work, "memory": memory, "disk": saves * 45 * CSV_BYTES_PER_VALUE}


def _largest_radius(alpha, j_ex, mass_ratio, fermi_energy) -> float:
    """An upper bound of |k| on the Fermi sea [1/nm] (the bound `sweep_status` probes to)."""
    from ..constants import HBAR2_OVER_2ME

    c = HBAR2_OVER_2ME / mass_ratio
    budget = max(j_ex + fermi_energy, 0.0)
    return (abs(alpha) + math.sqrt(alpha * alpha + 4.0 * c * budget)) / (2.0 * c)


def check_validate(config, source: str) -> dict:
    """Seas of the ensemble, the scanned state's band, the crossover, and resources of all three parts."""
    import numpy as onp

    from ..constants import HBAR, HBAR2_OVER_2ME

    with named_errors(source):
        model, e = config.model, config.ensemble
        upper = _check_model_sea(model, e.fermi_energy_eV)
        if config.scan.band == 1 and not upper:
            raise ConfigError(
                f"[scan] band = 1 is empty at [ensemble] fermi_energy_eV = {e.fermi_energy_eV:g}; allowed: band = -1, or "
                f"fermi_energy_eV above the upper band's bottom (> j_ex_eV = {model.j_ex_eV:g} for M || z)"
            )
        cross = config.crossover
        ratios = onp.geomspace(cross.ratio_min, cross.ratio_max, cross.num_points)
        k_fermi = math.sqrt(cross.fermi_energy_eV * model.mass_ratio / HBAR2_OVER_2ME)
        j_values = abs(cross.alpha_eV_nm) * k_fermi / ratios
        status, _ = _status({
            "alpha": onp.full(ratios.size, cross.alpha_eV_nm), "j_ex": j_values, "theta": onp.zeros(ratios.size),
            "phi": onp.zeros(ratios.size), "mass_ratio": onp.full(ratios.size, model.mass_ratio),
            "fermi_energy": onp.full(ratios.size, cross.fermi_energy_eV), "efield": onp.full(ratios.size, 1e-4),
        })
        if onp.any(status != 0):
            i = int(onp.flatnonzero(status != 0)[0])
            raise ConfigError(
                f"[crossover] alpha k_F/J = {ratios[i]:.4g} (J = {j_values[i]:.4g} eV, between ratio_min and ratio_max; "
                f"alpha_eV_nm = {cross.alpha_eV_nm:g}, fermi_energy_eV = {cross.fermi_energy_eV:g}) cannot be computed: "
                f"{_sea_message(status[i])}; allowed: a smaller ratio_max or alpha_eV_nm"
            )

        # Work and memory of the three parts (they run one after the other).
        t = config.time
        states = 2 * e.num_phi * e.num_r
        omega = model.j_ex_eV + abs(model.alpha_eV_nm) * _largest_radius(model.alpha_eV_nm, model.j_ex_eV, model.mass_ratio, e.fermi_energy_eV)
        interval = t.t_end_fs / (t.num_steps - 1)
        # Floats throughout: a tiny max_angle_rad gives astronomically many steps (refused below), not an overflow.
        substeps = max(1.0, math.ceil(min(2.0 * omega * interval / (HBAR * config.numerics.max_angle_rad), 1e300)))
        sea_steps = (t.num_steps - 1) * substeps
        sea_work = float(states) * sea_steps
        sea_memory = states * RUN_BYTES_PER_STATE + sea_steps * QUANTUM_SCHEDULE_BYTES_PER_STEP + t.num_steps * RUN_BYTES_PER_STEP
        scan = config.scan
        scan_steps = math.ceil((scan.ramp_periods + scan.window_periods) * scan.steps_per_period) + 1
        scan_work = 2.0 * scan.num_points * scan_steps
        scan_memory = 2.0 * scan.num_points * scan_steps * QUANTUM_BYTES_PER_STEP
        cross_states = 2 * cross.num_phi * cross.num_r
        k_max = _largest_radius(cross.alpha_eV_nm, float(j_values.min()), model.mass_ratio, cross.fermi_energy_eV)
        ratio_top = abs(cross.alpha_eV_nm) * k_max / float(j_values.min())
        cross_steps = min(
            2.0 * math.pi * (cross.ramp_periods + cross.window_periods) * math.sqrt(1.0 + ratio_top**2) / cross.max_angle_rad,
            1e300,
        ) + 1
        cross_work = float(cross.num_points) * cross_states * cross_steps
        cross_memory = cross.num_points * (cross_steps * QUANTUM_SCHEDULE_BYTES_PER_STEP + cross_states * RUN_BYTES_PER_STATE)
        work = sea_work + scan_work + cross_work
        parts = {"the ensemble": sea_memory, "the scan": scan_memory, "the crossover": cross_memory}
        largest = max(parts, key=parts.get)
        check_resources(
            work=work, memory=BASE_BYTES + parts[largest], max_state_steps=config.limits.max_state_steps,
            max_memory_gb=config.limits.max_memory_GB,
            work_text=(
                f"ensemble {states} states ([ensemble] num_phi x num_r x 2) x {sea_steps:.3g} Magnus steps ([time] num_steps = "
                f"{t.num_steps}, t_end_fs = {t.t_end_fs:g}, [numerics] max_angle_rad = {config.numerics.max_angle_rad:g}) + scan "
                f"2 x [scan] num_points = {scan.num_points} x {scan_steps} steps ((ramp_periods + window_periods) x "
                f"steps_per_period) + crossover [crossover] num_points = {cross.num_points} x {cross_states} states (num_phi x "
                f"num_r x 2) x {cross_steps:.3g} steps (ramp_periods, window_periods, max_angle_rad, ratio_max)"
            ),
            memory_text=(
                f"{largest} (scan: [scan] num_points = {scan.num_points} x {scan_steps} steps; ensemble: {sea_steps:.3g} steps; "
                f"crossover: [crossover] num_points = {cross.num_points} x {cross_steps:.3g} steps)"
            ),
            fix="smaller [scan] steps_per_period / ramp_periods / window_periods / num_points, [time] t_end_fs, "
                "[ensemble] num_phi / num_r, or [crossover] sizes",
        )
    disk = (scan.num_points * 40 + t.num_steps * 80 + cross.num_points * 20) * CSV_BYTES_PER_VALUE
    return {"work": work, "memory": BASE_BYTES + parts[largest], "disk": disk}


def check_fit_size(rows: int, num: int, restarts: int, max_steps: int, max_state_steps: float, max_memory_gb: float) -> None:
    """Resources of `jaxsot fit`: contour points x rows x restarts x iterations."""
    work = float(rows) * 2 * num * restarts * max_steps * 3  # value and gradient ~ 3 evaluations
    memory = BASE_BYTES + float(rows) * 2 * num * restarts * FIT_BYTES_PER_CONTOUR_POINT
    check_resources(
        work=work, memory=memory, max_state_steps=max_state_steps, max_memory_gb=max_memory_gb,
        work_text=f"{rows} data rows x 2 bands x --num {num} x --restarts {restarts} x --max-steps {max_steps} x 3",
        memory_text=f"{rows} data rows x --num {num} x --restarts {restarts}",
        fix="fewer data rows (thin the data), a smaller --num, --restarts or --max-steps",
        work_key="--max-state-steps", memory_key="--max-memory-GB",
    )


def check_synth_size(points: int, num: int, max_state_steps: float, max_memory_gb: float) -> None:
    """Resources of `jaxsot synth`: one forward evaluation per row."""
    if points > MAX_DATA_ROWS:
        raise UsageError(f"--points {points} is above {MAX_DATA_ROWS}, the most rows `jaxsot fit` reads; allowed: 3 to {MAX_DATA_ROWS}")
    work = float(points) * 2 * num
    memory = BASE_BYTES + float(points) * 2 * num * FIT_BYTES_PER_CONTOUR_POINT
    check_resources(
        work=work, memory=memory, max_state_steps=max_state_steps, max_memory_gb=max_memory_gb,
        work_text=f"--points {points} x 2 bands x {num} contour points", memory_text=f"--points {points}",
        fix="fewer --points", work_key="--max-state-steps", memory_key="--max-memory-GB",
    )

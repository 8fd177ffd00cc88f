"""`jaxsot run`: switch on a field, evolve the Fermi sea, compare the exact result with the papers' approximations.

Config -> option objects (cli._config.RunConfig) -> `jaxsot.simulate` -> a printed table,
results.json, timeseries.csv and torques.png. No physics here.
"""

import math
import pathlib
import time
import warnings

from . import _figures
from ._progress import Status, say
from ._common import (
    prepare_out,
    drive_from_options,
    model_from_options,
    read_config_text,
    run_metadata,
    set_precision,
    tau_from_options,
    times_from_options,
    use_cpu_cores_as_devices,
    write_json,
    write_table_csv,
    write_text,
)
from ._config import DEFAULT_RUN_TOML, RunConfig, config_to_toml, parse_run_config
from ._config_run import RUN_APPROXIMATIONS, RUN_OBSERVABLES
from ._preflight import check_disk, check_run

OBSERVABLE_ORDER = (
    "damping_torque",
    "field_like_torque",
    "spin_force_density",
    "spin_force_per_electron",
    "spin_rate",
    "spin_density_change",
    "current_density",
)
APPROXIMATIONS = ("second_order", "strong_exchange")
# Axis labels (quantity, mathtext) for the figure; units come from jaxsot.UNITS.


def register(commands) -> None:
    """Add the `run` subcommand to an argparse subparsers object."""
    run = commands.add_parser("run", help="evolve the Fermi sea under a field and compare with the papers' approximations")
    run.add_argument("config", nargs="?", help="TOML configuration (default: the embedded one; see `jaxsot default-config`)")
    run.add_argument("--out", default="jaxsot-out", help="output folder (default: ./jaxsot-out)")
    run.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating-point precision (default float64)")
    run.add_argument("--quiet", action="store_true", help="no progress line on stderr")


def read_config(path: str | None) -> tuple[RunConfig, str]:
    """Parse a run configuration file (or the embedded default): (config, where it came from)."""
    text, source = read_config_text(path, DEFAULT_RUN_TOML)
    return parse_run_config(text, source), source


def build_inputs(config: RunConfig, dtype):
    """Option objects (SI / customary units) -> (model, drive, times, tau) in eV, nm, fs, V/nm."""
    drive, _ = drive_from_options(config.drive, dtype)
    return (
        model_from_options(config.model, dtype),
        drive,
        times_from_options(config.time, dtype),
        tau_from_options(config.relaxation),
    )


def _derived(model, fermi_energy, num_phi):
    import numpy as onp

    import jaxsot

    if not jaxsot.has_paper_forms(model):
        return {"bands": {("lower" if b < 0 else "upper"): {"density_per_nm2": float(jaxsot.electron_density(model, fermi_energy, b, num_phi))}
                          for b in jaxsot.occupied_bands(model, fermi_energy)}}
    rows = {"eta": float(model.eta), "bands": {}}
    for band in jaxsot.occupied_bands(model, fermi_energy):
        k, _ = jaxsot.fermi_contour(model, fermi_energy, band, num_phi)
        radius = onp.linalg.norm(onp.asarray(k), axis=-1)
        name = "lower" if band < 0 else "upper"
        rows["bands"][name] = {
            "density_per_nm2": float(jaxsot.electron_density(model, fermi_energy, band, num_phi)),
            "k_F_mean_per_nm": float(radius.mean()),
            "alpha_kF_over_J_max": float(abs(float(model.alpha)) * radius.max() / float(model.j_ex))
            if float(model.j_ex) > 0
            else math.inf,
        }
    return rows


def _format(value: float) -> str:
    return f"{value:11.4e}" if math.isfinite(value) else "   nan(!)  "


def summary_rows(result) -> list[dict]:
    """One row per observable: the exact value at its peak, the approximations there, their relative errors."""
    import numpy as onp

    from jaxsot import UNITS

    rows = []
    for name in OBSERVABLE_ORDER:
        if name not in result.observables:  # left out by [output] observables
            continue
        values = result.observables[name]
        exact = onp.asarray(values["exact"])
        magnitude = onp.linalg.norm(exact, axis=-1)
        peak = int(onp.nanargmax(magnitude)) if onp.any(onp.isfinite(magnitude)) else 0
        row = {
            "observable": name,
            "unit": UNITS[name],
            "t_peak_fs": float(result.times[peak]),
            "exact_at_peak": [float(x) for x in exact[peak]],
        }
        for approx in APPROXIMATIONS:
            if approx in values:
                row[f"{approx}_at_peak"] = [float(x) for x in onp.asarray(values[approx])[peak]]
                row[f"{approx}_relative_error"] = result.relative_error(name, approx)
        rows.append(row)
    return rows


def state_count(num_states: int, num_phi: int, num_r: int, num_bands: int) -> str:
    """Where the states of `jaxsot run` come from: Fermi-sea nodes plus contour nodes."""
    sea = num_phi * num_r * num_bands
    contour = num_states - sea
    levels = contour // max(num_phi * num_bands, 1)
    return (f"states: {sea} Fermi-sea nodes ({num_phi} angles x {num_r} radii x {num_bands} band"
            f"{'s' if num_bands > 1 else ''}) + {contour} Fermi-contour nodes ({num_phi} points x {num_bands} band"
            f"{'s' if num_bands > 1 else ''} x {levels} quadrature levels of the rigid shift)")


def print_table(rows: list[dict]) -> None:
    """The comparison table of `jaxsot run`."""
    header = f"{'observable':<24} {'unit':<12} {'|exact|':>11} {'|2nd order|':>11} {'|strong ex|':>11} {'err 2nd':>9} {'err strong':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        norm = lambda v: math.sqrt(sum(x * x for x in v))  # noqa: E731
        cells = [_format(norm(row["exact_at_peak"]))]
        errors = []
        for approx in APPROXIMATIONS:
            if f"{approx}_at_peak" in row:
                cells.append(_format(norm(row[f"{approx}_at_peak"])))
                errors.append(f"{row[f'{approx}_relative_error']:9.2%}")
            else:
                cells.append(f"{'-':>11}")
                errors.append(f"{'-':>9}")
        print(f"{row['observable']:<24} {row['unit']:<12} {' '.join(cells)} {errors[0]} {errors[1]:>10}")
    print("(values at the time of the exact peak; errors: max_t |approx - exact| / max_t |exact|;")
    print(" spin_rate = dS/dt = -damping_torque by definition, so those two rows have the same magnitudes)")


def _write_timeseries(path: pathlib.Path, result) -> None:
    import numpy as onp

    from jaxsot import UNITS
    from jaxsot.constants import AMPERE_PER_M_PER_E_PER_FS_NM, V_PER_M_PER_V_PER_NM

    columns = {
        "t [fs]": onp.asarray(result.times),
        "E [V/m]": onp.asarray(result.efield) * V_PER_M_PER_V_PER_NM,
        "delta_k [1/nm]": onp.asarray(result.delta_k),
    }
    for name, values in result.observables.items():
        for approx, series in values.items():
            columns[f"{name}_{approx} [{UNITS[name]}]"] = onp.asarray(series)
    if "current_density" in result.observables:
        current = onp.asarray(result.observables["current_density"]["exact"])
        columns["current_density_exact_SI [A/m]"] = current * AMPERE_PER_M_PER_E_PER_FS_NM
    return write_table_csv(path, columns)


def main(args) -> int:
    """`jaxsot run` with parsed arguments; returns the exit status (1: some results are not finite)."""
    # Everything the user gave is checked before JAX starts: config, Fermi sea, resources, --out.
    config, source = read_config(args.config)
    estimate = check_run(config, source)
    out = prepare_out(args.out, inputs=[args.config])  # staged: published whole when the command returns
    check_disk(out, estimate["disk"], "timeseries.csv and results.json")
    use_cpu_cores_as_devices()
    dtype = set_precision(args.precision)
    write_text(out / "config.toml", f"# resolved from: {source}\n" + config_to_toml(config))

    import jax

    import jaxsot

    started = time.perf_counter()
    model, drive, times, tau = build_inputs(config, dtype)
    fermi_energy = config.ensemble.fermi_energy_eV
    derived = _derived(model, fermi_energy, config.ensemble.num_phi)
    print(
        f"jaxsot {jaxsot.__version__} run ({source}), precision {args.precision}, jax {jax.__version__} "
        f"on {jax.default_backend()} ({jax.local_device_count()} device{'s' if jax.local_device_count() > 1 else ''})"
    )
    if "eta" not in derived:  # another [model] kind: exact results only
        from ._model_config import describe_model

        print(describe_model(config.model, model))
    else:
        print(
            f"model: alpha = {config.model.alpha_eV_nm:g} eV nm, J = {config.model.j_ex_eV:g} eV, "
            f"M = ({', '.join(f'{float(x):.3f}' for x in model.magnetization)}), m*/m_e = {config.model.mass_ratio:g}"
        )
        print(f"  eta = m alpha^2/(hbar^2 J) = {derived['eta']:.4g}")
    for name, band in derived["bands"].items():
        if "k_F_mean_per_nm" not in band:
            print(f"  {name} band: n = {band['density_per_nm2']:.4g} /nm^2")
            continue
        print(
            f"  {name} band: n = {band['density_per_nm2']:.4g} /nm^2, <k_F> = {band['k_F_mean_per_nm']:.4g} /nm, "
            f"max alpha k_F/J = {band['alpha_kF_over_J_max']:.3g}"
        )

    with Status("  evolving the Fermi sea", quiet=getattr(args, "quiet", False)) as status:
        result = jaxsot.simulate(
            model,
            fermi_energy,
            drive,
            times,
            tau=tau,
            num_phi=config.ensemble.num_phi,
            num_r=config.ensemble.num_r,
            progress=status.update,
            # None for the full default set: exactly the computation of a run without [output].
            observables=None if config.output.observables == RUN_OBSERVABLES else config.output.observables,
            approximations=None if config.output.approximations == RUN_APPROXIMATIONS else config.output.approximations,
        )
    elapsed = time.perf_counter() - started
    print(f"  {result.num_states} states x {times.shape[0]} steps in {elapsed:.2f} s (compile included)")
    say(f"  {state_count(result.num_states, config.ensemble.num_phi, config.ensemble.num_r, len(derived['bands']))}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = summary_rows(result)
    notes = list(result.notes) + [str(w.message) for w in caught]
    print()
    print_table(rows)
    for note in notes:
        say(f"note: {note}")

    payload = {
        **run_metadata(args.precision, source, config),
        "units": {
            "time": "fs",
            "energy": "eV",
            "length": "nm",
            "efield": "V/nm internally; V/m in the config and timeseries.csv",
            **jaxsot.UNITS,
        },
        "derived": derived,
        "band_densities_per_nm2": {"lower": float(result.band_densities[0]), "upper": float(result.band_densities[1])},
        "num_states": result.num_states,
        "route": result.route,
        "min_splitting_eV": float(result.min_splitting),
        "summary": rows,
        "notes": notes,
        "runtime_s": elapsed,
    }
    bad_columns = _write_timeseries(out / "timeseries.csv", result)
    if bad_columns:
        payload["notes"] = notes = notes + [
            f"timeseries.csv: non-finite values (nan/inf) in {len(bad_columns)} column(s): {', '.join(bad_columns[:6])}"
        ]
    non_finite = write_json(out / "results.json", payload)
    plotted = _figures.run_torques(out / "torques.png", result)
    written = ["config.toml", "results.json", "timeseries.csv"] + (["torques.png"] if plotted else [])
    print(f"\nwrote {', '.join(str(out / name) for name in written)}")
    if non_finite or bad_columns:
        shown = "; ".join(non_finite[:3]) or f"timeseries.csv columns {', '.join(bad_columns[:3])}"
        print(f"jaxsot run: {len(non_finite)} value(s) of results.json are not finite (written as null and listed under "
              f"non_finite_values){' and timeseries.csv has nan/inf' if bad_columns else ''}: {shown}")
        return 1
    return 0

"""The `jaxsot` command line: config file -> option objects -> library calls -> files and plots.

A thin layer: all physics is in the library. Bad input exits with status 2 and one line that
names the key, the value and what is allowed (no traceback).
"""

import argparse
import json
import math
import os
import pathlib
import sys
import time
import warnings
from typing import NoReturn

from ._cli_common import drive_from_options, model_from_options, read_config_text, run_metadata, tau_from_options, times_from_options
from ._config import DEFAULT_RUN_TOML, ConfigError, RunConfig, config_to_toml, parse_run_config
from ._config import DEFAULT_SWEEP_TOML, parse_sweep_config
from ._config import DEFAULT_LLG_TOML, parse_llg_config
from ._config import DEFAULT_VALIDATE_TOML, parse_validate_config

_OBSERVABLE_ORDER = (
    "damping_torque",
    "field_like_torque",
    "spin_force_density",
    "spin_force_per_electron",
    "spin_rate",
    "spin_density_change",
    "current_density",
)
_APPROXIMATIONS = ("second_order", "strong_exchange")


def _fail(message: str, status: int = 2) -> NoReturn:
    print(f"jaxsot: error: {message}", file=sys.stderr)
    raise SystemExit(status)


def _read_config(path: str | None) -> tuple[RunConfig, str]:
    text, source = read_config_text(path, DEFAULT_RUN_TOML)
    return parse_run_config(text, source), source


def _set_precision(precision: str):
    import jax

    jax.config.update("jax_enable_x64", precision == "float64")
    import jax.numpy as jnp

    return jnp.float64 if precision == "float64" else jnp.float32


def _build_inputs(config: RunConfig, dtype):
    """Convert option objects (SI / customary units) to library objects (eV, nm, fs, V/nm)."""
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


def _summary(result) -> list[dict]:
    import numpy as onp

    rows = []
    for name in _OBSERVABLE_ORDER:
        values = result.observables[name]
        exact = onp.asarray(values["exact"])
        magnitude = onp.linalg.norm(exact, axis=-1)
        peak = int(onp.nanargmax(magnitude)) if onp.any(onp.isfinite(magnitude)) else 0
        row = {
            "observable": name,
            "unit": _units()[name],
            "t_peak_fs": float(result.times[peak]),
            "exact_at_peak": [float(x) for x in exact[peak]],
        }
        for approx in _APPROXIMATIONS:
            if approx in values:
                row[f"{approx}_at_peak"] = [float(x) for x in onp.asarray(values[approx])[peak]]
                row[f"{approx}_relative_error"] = result.relative_error(name, approx)
        rows.append(row)
    return rows


def _units():
    from jaxsot import UNITS

    return UNITS


def _print_table(rows: list[dict]) -> None:
    header = f"{'observable':<24} {'unit':<12} {'|exact|':>11} {'|2nd order|':>11} {'|strong ex|':>11} {'err 2nd':>9} {'err strong':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        norm = lambda v: math.sqrt(sum(x * x for x in v))  # noqa: E731
        cells = [_format(norm(row["exact_at_peak"]))]
        errors = []
        for approx in _APPROXIMATIONS:
            if f"{approx}_at_peak" in row:
                cells.append(_format(norm(row[f"{approx}_at_peak"])))
                errors.append(f"{row[f'{approx}_relative_error']:9.2%}")
            else:
                cells.append(f"{'-':>11}")
                errors.append(f"{'-':>9}")
        print(f"{row['observable']:<24} {row['unit']:<12} {' '.join(cells)} {errors[0]} {errors[1]:>10}")
    print("(values at the time of the exact peak; errors: max_t |approx - exact| / max_t |exact|)")


def _write_timeseries(path: pathlib.Path, result) -> None:
    import numpy as onp

    from jaxsot._constants import AMPERE_PER_M_PER_E_PER_FS_NM, V_PER_M_PER_V_PER_NM

    columns = {
        "t [fs]": onp.asarray(result.times)[:, None],
        "E [V/m]": onp.asarray(result.efield) * V_PER_M_PER_V_PER_NM,
        "delta_k [1/nm]": onp.asarray(result.delta_k),
    }
    units = _units()
    for name, values in result.observables.items():
        for approx, series in values.items():
            columns[f"{name}_{approx} [{units[name]}]"] = onp.asarray(series)
    current = onp.asarray(result.observables["current_density"]["exact"])
    columns["current_density_exact [A/m]"] = current * AMPERE_PER_M_PER_E_PER_FS_NM
    names, blocks = [], []
    for label, block in columns.items():
        base, unit = label.rsplit(" [", 1)
        suffixes = ["x", "y", "z"][: block.shape[1]] if block.shape[1] > 1 else [""]
        names += [f"{base}{'_' + s if s else ''} [{unit}" for s in suffixes]
        blocks.append(block)
    table = onp.concatenate(blocks, axis=1)
    tmp = path.with_suffix(".csv.tmp")
    onp.savetxt(tmp, table, delimiter=",", header=",".join(names), comments="", fmt="%.10e")
    tmp.replace(path)


def _plot(path: pathlib.Path, result) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written (pip install 'jaxsot[plots]')")
        return False
    import numpy as onp

    units = _units()
    t = onp.asarray(result.times)
    panels = ("damping_torque", "field_like_torque", "spin_force_density", "current_density")
    titles = ("damping-like torque T2 = -dS/dt", "field-like torque T1 (current-induced)", "spin-force density", "current density")
    styles = {"exact": "-", "second_order": "--", "strong_exchange": ":"}
    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, name, title in zip(axes.ravel(), panels, titles):
        for approx, series in result.observables[name].items():
            series = onp.asarray(series)
            for component, color in zip(range(series.shape[1]), ("C0", "C1", "C2")):
                label = f"{'xyz'[component]} {approx.replace('_', ' ')}"
                ax.plot(t, series[:, component], styles[approx], color=color, label=label, lw=1.4)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(units[name])
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("t [fs]")
    axes[0, 0].legend(fontsize=7, ncol=3)
    axes[0, 1].legend(fontsize=7, ncol=2)
    figure.suptitle("jaxsot run: exact (solid), second order (dashed), strong exchange (dotted)")
    figure.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    tmp.replace(path)
    return True


def _use_cpu_cores_as_devices() -> None:
    """Expose each CPU core as a JAX device so `simulate` can split the sea over them.

    Must run before JAX starts its backend; an XLA_FLAGS setting of the user's wins. GPUs are
    unaffected (the flag only concerns the host platform).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        count = max(1, min(os.cpu_count() or 1, 16))
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def _run(args) -> int:
    config, source = _read_config(args.config)
    _use_cpu_cores_as_devices()
    dtype = _set_precision(args.precision)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.toml").write_text(f"# resolved from: {source}\n" + config_to_toml(config))

    import jax
    import numpy as onp

    import jaxsot

    started = time.perf_counter()
    model, drive, times, tau = _build_inputs(config, dtype)
    fermi_energy = config.ensemble.fermi_energy_eV
    derived = _derived(model, fermi_energy, config.ensemble.num_phi)
    print(
        f"jaxsot {jaxsot.__version__} run ({source}), precision {args.precision}, jax {jax.__version__} "
        f"on {jax.default_backend()} ({jax.local_device_count()} device{'s' if jax.local_device_count() > 1 else ''})"
    )
    print(
        f"model: alpha = {config.model.alpha_eV_nm:g} eV nm, J = {config.model.j_ex_eV:g} eV, "
        f"M = ({', '.join(f'{float(x):.3f}' for x in model.magnetization)}), m*/m_e = {config.model.mass_ratio:g}, "
        f"eta = m alpha^2/(hbar^2 J) = {derived['eta']:.4g}"
    )
    for name, band in derived["bands"].items():
        print(
            f"  {name} band: n = {band['density_per_nm2']:.4g} /nm^2, <k_F> = {band['k_F_mean_per_nm']:.4g} /nm, "
            f"max alpha k_F/J = {band['alpha_kF_over_J_max']:.3g}"
        )

    def progress(done, total):
        print(f"\r  evolving: {done}/{total} time steps ({done / total:5.1%})", end="", flush=True)

    result = jaxsot.simulate(
        model,
        fermi_energy,
        drive,
        times,
        tau=tau,
        num_phi=config.ensemble.num_phi,
        num_r=config.ensemble.num_r,
        progress=progress,
    )
    elapsed = time.perf_counter() - started
    print(f"\n  {result.num_states} states x {times.shape[0]} steps in {elapsed:.2f} s (compile included)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = _summary(result)
    notes = list(result.notes) + [str(w.message) for w in caught]
    print()
    _print_table(rows)
    for note in notes:
        print(f"note: {note}")

    payload = {
        **run_metadata(args.precision, source, config),
        "units": {
            "time": "fs",
            "energy": "eV",
            "length": "nm",
            "efield": "V/nm internally; V/m in the config and timeseries.csv",
            **{name: unit for name, unit in _units().items()},
        },
        "derived": derived,
        "band_densities_per_nm2": {"lower": float(result.band_densities[0]), "upper": float(result.band_densities[1])},
        "num_states": result.num_states,
        "min_splitting_eV": float(result.min_splitting),
        "summary": rows,
        "notes": notes,
        "runtime_s": elapsed,
    }
    _write_timeseries(out / "timeseries.csv", result)
    text = json.dumps(payload, indent=2, allow_nan=True)
    tmp = out / "results.json.tmp"
    tmp.write_text(text)
    tmp.replace(out / "results.json")
    plotted = _plot(out / "torques.png", result)
    written = ["config.toml", "results.json", "timeseries.csv"] + (["torques.png"] if plotted else [])
    print(f"\nwrote {', '.join(str(out / name) for name in written)}")
    if not all(math.isfinite(float(x)) for x in onp.ravel(onp.asarray(result.observables["damping_torque"]["exact"]))):
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxsot", description="Semiclassical spin-orbit torque in Rashba ferromagnets (JAX).")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="evolve the Fermi sea under a field and compare with the papers' approximations")
    run.add_argument("config", nargs="?", help="TOML configuration (default: the embedded one; see `jaxsot default-config`)")
    run.add_argument("--out", default="jaxsot-out", help="output folder (default: ./jaxsot-out)")
    run.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating-point precision (default float64)")
    default = commands.add_parser("default-config", help="print an embedded default configuration (of `jaxsot run` or `jaxsot sweep`)")
    default.add_argument("which", nargs="?", choices=("run", "sweep", "llg", "validate"), default="run", help="which command's default (default: run)")
    llg = commands.add_parser("llg", help="macrospin LLG driven by the electrons' spin-orbit torque (time series, energy ledger, plots)")
    llg.add_argument("config", nargs="?", help="TOML configuration (default: the embedded one; see `jaxsot default-config llg`)")
    llg.add_argument("--out", default="jaxsot-llg", help="output folder (default: ./jaxsot-llg)")
    llg.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating-point precision (default float64)")
    sweep = commands.add_parser("sweep", help="parameter sweep of ensemble torques, forces and approximation errors (chunked, resumable)")
    sweep.add_argument("config", nargs="?", help="TOML sweep configuration (default: the embedded one; see `jaxsot default-config sweep`)")
    sweep.add_argument("--out", default="jaxsot-sweep", help="output folder (default: ./jaxsot-sweep)")
    sweep.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out (finished chunks are kept)")
    sweep.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating-point precision (default float64)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    group = sweep.add_argument_group("several processes / hosts (jax.distributed)")
    group.add_argument("--coordinator", help="address:port of process 0, e.g. 10.0.0.1:1234 (all processes give the same)")
    group.add_argument("--num-processes", type=int, help="total number of processes")
    group.add_argument("--process-id", type=int, help="this process's index, 0 .. num-processes - 1")
    group.add_argument("--distributed-auto", action="store_true", help="jax.distributed.initialize() with cluster auto-detection (SLURM, ...)")
    validate = commands.add_parser("validate", help="quantum check: exact spinor dynamics of every k-state vs the semiclassical picture")
    validate.add_argument("config", nargs="?", help="TOML configuration (default: the embedded one; see `jaxsot default-config validate`)")
    validate.add_argument("--out", default="jaxsot-validate", help="output folder (default: ./jaxsot-validate)")
    validate.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating-point precision (default float64)")
    from ._fit_io import add_fit_commands

    add_fit_commands(commands)  # `jaxsot fit` and `jaxsot synth`
    return parser


def _sweep(args) -> int:
    text, source = read_config_text(args.config, DEFAULT_SWEEP_TOML)
    config = parse_sweep_config(text, source)
    distributed = [args.coordinator, args.num_processes, args.process_id]
    if any(v is not None for v in distributed) and not all(v is not None for v in distributed):
        raise ConfigError("--coordinator, --num-processes and --process-id go together; allowed: all three or none")
    if args.num_processes is not None and not 0 <= args.process_id < args.num_processes:
        raise ConfigError(f"--process-id = {args.process_id} is out of range; allowed: [0, {args.num_processes - 1}]")
    from ._sweep_io import check_resume

    check_resume(config, args.out, args.precision, args.resume)  # refuse early, before JAX starts
    import jax

    if args.coordinator is not None:
        jax.distributed.initialize(args.coordinator, num_processes=args.num_processes, process_id=args.process_id)
    elif args.distributed_auto:
        jax.distributed.initialize()
    _set_precision(args.precision)

    import jaxsot
    from ._sweep_io import run_sweep

    quiet = jax.process_index() != 0
    log = (lambda *a, **k: None) if quiet else print
    log(
        f"jaxsot {jaxsot.__version__} sweep ({source}), precision {args.precision}, jax {jax.__version__} on "
        f"{jax.default_backend()}: {jax.local_device_count()} local device(s), process {jax.process_index()} of {jax.process_count()}"
    )
    header = f"# resolved from: {source}\n" if args.config is None else ""
    result = run_sweep(
        config, args.out, config_text=header + text, precision=args.precision, resume=args.resume,
        progress=not args.no_progress, log=log,
    )
    rate = f", {result.state_steps / result.seconds:.3g} state-steps/s" if result.computed_chunks and result.seconds > 0 else ""
    log(
        f"{result.num_points} points in {result.num_chunks} chunks of {result.chunk_points}: computed {len(result.computed_chunks)}, "
        f"kept {result.skipped_chunks} in {result.seconds:.2f} s{rate}"
    )
    if result.invalid_points:
        log(f"note: {result.invalid_points} points could not be computed (NaN; see the status variable)")
    if result.merged:
        log(f"wrote {pathlib.Path(args.out) / 'sweep.nc'} (+ summary.csv, plots/, manifest.json, run.json)")
    return 0


def _llg(args) -> int:
    text, source = read_config_text(args.config, DEFAULT_LLG_TOML)
    config = parse_llg_config(text, source)
    dtype = _set_precision(args.precision)
    from ._llg_cli import run_llg

    return run_llg(config, pathlib.Path(args.out), args.precision, source, dtype)


def _validate(args) -> int:
    text, source = read_config_text(args.config, DEFAULT_VALIDATE_TOML)
    config = parse_validate_config(text, source)
    dtype = _set_precision(args.precision)
    from ._cli_validate import run_validate

    return run_validate(config, source, pathlib.Path(args.out), args.precision, dtype)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "default-config":
            defaults = {"sweep": DEFAULT_SWEEP_TOML, "llg": DEFAULT_LLG_TOML, "validate": DEFAULT_VALIDATE_TOML}
            print(defaults.get(args.which, DEFAULT_RUN_TOML), end="")
            return 0
        if args.command == "llg":
            return _llg(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command in ("fit", "synth"):
            from ._fit_io import run_fit_command

            _set_precision("float64")  # fits and their uncertainties need float64
            return run_fit_command(args)
        if args.command == "validate":
            return _validate(args)
        return _run(args)
    except ConfigError as error:
        _fail(f"config: {error}")
    except ValueError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        print("\njaxsot: interrupted; files written so far are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

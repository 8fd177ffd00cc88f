"""jaxsot fit / jaxsot synth: the command-line layer over jaxsot.fit (argparse, output files, plots).
"""

import argparse
import csv
import io
import math
import pathlib
import sys
import time
import warnings
from ..fit._csv import CSV_FORMAT, FitDataError, read_csv, write_csv
from . import _figures
from ._common import UsageError, parse_pairs, check_output_file, prepare_out, run_metadata, set_precision, write_json, write_text
from ._config import ALPHA_MIN, J_EX_MIN, MASS_RATIO_MAX, MASS_RATIO_MIN, MAX_STATE_STEPS, TAU_MIN
from ._fit_kinds import electron_model, fit_names, free_help, parse_kind_pairs, refuse_kind_for, resolve_model
from ._fit_report import print_fit_report
from ._progress import Status, say
from ._preflight import MAX_DATA_ROWS, check_fit_size, check_synth_size


# ---------------------------------------------------------------------------------------------
# Command line: `jaxsot fit` and `jaxsot synth` (parsers added by jaxsot._cli).


def register(commands) -> None:
    """Add the `fit` and `synth` subcommands to the `jaxsot` argument parser."""
    from ..fit import DEFAULT_GUESS, MODELS, OPTIMIZERS

    fit = commands.add_parser(
        "fit",
        help="fit alpha, J, mass ratio, tau to measured curves (AMR, torques, transients) with uncertainties",
        description="Fit the model parameters to CSV data by autodiff (L-BFGS or optax Adam, restarts batched "
        "with vmap); print values with standard errors and what the data can identify; write results.json, "
        "fit.csv, trace.csv and fit.png under --out.\n\n" + CSV_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("data", nargs="+", help="CSV data file(s); each file is one curve (format below)")
    fit.add_argument("--model", choices=MODELS, default="exact", help="forward model: exact bands (default) or the strong-exchange closed forms")
    fit.add_argument("--out", default="jaxsot-fit", help="output folder (default: ./jaxsot-fit)")
    fit.add_argument("--fermi-energy", type=float, help="E_F [eV] (default: the files' '# fermi_energy [eV] = ...', else 1.5)")
    fit.add_argument("--free", help=free_help())
    guesses = ", ".join(f"{k}={v:g}" for k, v in DEFAULT_GUESS.items())
    fit.add_argument("--guess", help=f"start / fixed values, e.g. alpha=0.05,j_ex=1 (units as in --free; default rashba: {guesses}; "
                     "other kinds: the [model] values and tau=10)")
    _kind_options(fit, "the electron model of AMR/torque tables")
    fit.add_argument("--bounds", help="bounds of free parameters, e.g. alpha=0.01:0.2,tau=1:100 (default: guess/3..3 guess, tau guess/10..10 guess)")
    fit.add_argument("--optimizer", choices=OPTIMIZERS + ("lm",), default=None,
                     help="optimizer: lbfgs (default) or adam; harmonic Hall data: lm (Levenberg-Marquardt, default) or lbfgs")
    fit.add_argument("--restarts", type=int, default=4, help="restarts batched with vmap (default 4)")
    fit.add_argument("--max-steps", type=int, help="iterations per restart (default 200 L-BFGS, 2000 Adam)")
    fit.add_argument("--seed", type=int, default=0, help="seed of the random restarts (default 0)")
    fit.add_argument("--num", type=int, default=64, help="rays per Fermi contour (default 64)")
    fit.add_argument("--no-plot", action="store_true", help="do not write fit.png")
    fit.add_argument("--report-every", type=int, default=25, help="print each restart's loss every N iterations (default 25; 0: quiet)")
    _limit_options(fit)

    synth = commands.add_parser(
        "synth",
        help="write synthetic data (forward model + Gaussian noise) in the `jaxsot fit` CSV format",
        description="Synthetic data to test a fit set-up: the forward model at the given parameters plus "
        "Gaussian noise (a fraction of each column's peak-to-peak range), written with '# truth' comments.\n\n"
        + CSV_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    synth.add_argument("output", help="CSV file to write (a new file; an existing one only with --force)")
    synth.add_argument("--force", action="store_true", help="replace an existing regular file at the output path")
    synth.add_argument("--kind", choices=("steady", "transient", "harmonic-hall", "st-fmr"), default="steady",
                       help="vs angle of M (default), vs time after a field step, harmonic Hall field sweeps (R_1w, R_2w), "
                       "or an ST-FMR spectrum V_mix(B)")
    synth.add_argument("--columns", help="comma-separated observables (default steady: rho_ratio,T_DL_x,T_DL_y,T_FL_z; transient: T_DL_y,T_FL_z)")
    # The Rashba values of the default model; with a [model] table (--config, or another --model-kind)
    # the table holds the values, and these flags are refused naming its key (never silently ignored).
    model_flag = " (not with a [model] table: edit its {} instead)"
    synth.add_argument("--alpha", type=float, default=DEFAULT_GUESS["alpha"], action=_ModelFlag,
                       help="Rashba coupling [eV nm] (default 0.05)" + model_flag.format("alpha_eV_nm"))
    synth.add_argument("--j-ex", type=float, default=DEFAULT_GUESS["j_ex"], action=_ModelFlag,
                       help="exchange J [eV] (default 1)" + model_flag.format("j_ex_eV"))
    synth.add_argument("--mass-ratio", type=float, default=DEFAULT_GUESS["mass_ratio"], action=_ModelFlag,
                       help="m*/m_e (default 1)" + model_flag.format("mass_ratio"))
    synth.add_argument("--tau", type=float, default=DEFAULT_GUESS["tau"], help="relaxation time [fs] (default 10)")
    synth.add_argument("--fermi-energy", type=float, default=1.5, help="E_F [eV] (default 1.5)")
    synth.add_argument("--points", type=int, default=200, help="rows (default 200)")
    synth.add_argument("--noise", type=float, default=0.01, help="noise std as a fraction of each column's range (default 0.01)")
    synth.add_argument("--unknown-noise", action="store_true", help="do not write sigma columns (the fit then estimates the noise)")
    synth.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    synth.add_argument("--theta-deg", type=float, default=90.0, help="polar angle of M [deg] (default 90: in-plane)")
    synth.add_argument("--phi-deg", type=float, default=30.0, help="azimuth of M [deg] for --kind transient (default 30)")
    synth.add_argument("--efield", type=float, default=1e5, help="field along x [V/m] (default 1e5)")
    synth.add_argument("--t-end", type=float, default=60.0, help="last time [fs] for --kind transient (default 60)")
    synth.add_argument("--units", choices=("internal", "si"), default="internal", help="torques in 1/(nm^2 fs) (default) or 1/(m^2 s)")
    synth.add_argument("--model", choices=MODELS, default="exact", help="forward model (default exact)")
    _kind_options(synth, "the data (--kind steady, transient, harmonic-hall; another kind than rashba takes --tau "
                  "and its [model] values in place of --alpha, --j-ex, --mass-ratio, exact bands only)")
    _limit_options(synth)
    from ._fit_hall import register_options

    register_options(fit, synth)  # harmonic Hall data and synthesis


class _ModelFlag(argparse.Action):
    """Stores the number and records that the flag was given (args.model_flags: option -> value)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.model_flags = {**getattr(namespace, "model_flags", {}), option_string: values}


MODEL_FLAG_KEYS = {"--alpha": "alpha_eV_nm", "--j-ex": "j_ex_eV", "--mass-ratio": "mass_ratio"}
"""The synth flags of the Rashba model's values and the [model] key that holds each."""


def refuse_model_flags(args, kind: str, options, source: str) -> None:
    """One line when --alpha / --j-ex / --mass-ratio are given with a [model] table (a --config file, or
    another --model-kind at its defaults): the table's values are the model's, so the flag would be
    ignored; the line names the flag and the [model] key to edit (or the kind's keys when it has none)."""
    given = getattr(args, "model_flags", {})
    if options is None or not given:
        return
    from ._sweep_kinds import KIND_KEYS

    option, value = next(iter(given.items()))
    key = MODEL_FLAG_KEYS[option]
    if kind == "rashba":
        keys = list(MODEL_FLAG_KEYS.values())
    elif kind.startswith("python:"):
        keys = [name for name, _ in options.parameters]
    else:
        keys = list(KIND_KEYS[kind])
    where = "that [model] table" if source.endswith("[model]") else "the [model] table of a --config file"
    if key in keys:
        allowed = f"{key} in {where} (and no {option})"
    else:
        allowed = f"[model] kind = {kind!r} has no {key}; its keys: {', '.join(keys)}, in {where} (and no {option})"
    raise UsageError(f"{option} {value:g} with [model] kind = {kind!r} ({source}): the [model] table gives the model's values, "
                     f"so {option} would not be used; allowed: {allowed}")


def _kind_options(parser, what: str) -> None:
    from ._model_config import FIT_PARAMETERS

    parser.add_argument("--model-kind", choices=tuple(FIT_PARAMETERS), default=None,
                        help=f"[model] kind of {what}, at its `jaxsot default-config run --model KIND` values "
                             "(default rashba, or the kind of --config)")
    parser.add_argument("--config", help="TOML file with a [model] table as in `jaxsot run` (kind and the model's keys; "
                                         "theta_deg/phi_deg are not used: M comes from the data rows)")


def _limit_options(parser) -> None:
    parser.add_argument("--max-state-steps", type=float, default=MAX_STATE_STEPS,
                        help=f"work limit (contour points x rows x restarts x iterations; default {MAX_STATE_STEPS:g}, about an hour of one CPU core)")
    parser.add_argument("--max-memory-GB", type=float, default=0.0,
                        help="planned memory limit [GB] (default 0: half of this machine's memory)")


# Allowed values of the numeric options: (low, high, low inclusive, |value| floor, unit).
_RANGES = {
    "alpha": (-10.0, 10.0, True, ALPHA_MIN, "eV nm"),
    "j_ex": (J_EX_MIN, 100.0, True, None, "eV"),
    "mass_ratio": (MASS_RATIO_MIN, MASS_RATIO_MAX, True, None, ""),
    "tau": (TAU_MIN, 1.0e7, True, None, "fs"),
    "fermi_energy": (-100.0, 100.0, True, None, "eV"),
    "noise": (0.0, 10.0, True, None, "of each column's range"),
    "theta_deg": (0.0, 180.0, True, None, "deg"),
    "phi_deg": (-360.0, 360.0, True, None, "deg"),
    "efield": (-1.0e9, 1.0e9, True, 1.0, "V/m"),
    "t_end": (0.0, 1.0e7, False, None, "fs"),
    "max_state_steps": (1.0, 1.0e18, True, None, "state-steps"),
    "max_memory_GB": (0.0, 1.0e6, True, None, "GB"),
}
_COUNTS = {
    "points": (3, MAX_DATA_ROWS), "restarts": (1, 1024), "max_steps": (1, 1_000_000), "seed": (0, 2**32 - 1),
    "num": (8, 65536), "report_every": (0, 1_000_000),
}


def _check_number(option: str, value: float, name: str) -> float:
    low, high, inclusive, floor, unit = _RANGES[name]
    suffix = f" {unit}" if unit else ""
    too_low = value < low if inclusive else value <= low
    if not math.isfinite(value) or too_low or value > high or (floor is not None and abs(value) < floor):
        text = f"{'[' if inclusive else '('}{low:g}, {high:g}]" + (f" with |value| >= {floor:g}" if floor is not None else "")
        raise UsageError(f"{option} = {value:g} is out of range; allowed: {text}{suffix}")
    return value


def _check_options(args, names) -> None:
    """Range checks of the numeric options (argparse checked their types): one line naming the option."""
    for name in names:
        value = getattr(args, name, None)
        if value is None:
            continue
        option = "--" + name.replace("_", "-")
        if name in _COUNTS:
            low, high = _COUNTS[name]
            if not low <= value <= high:
                raise UsageError(f"{option} = {value} is out of range; allowed: {low} to {high}")
        else:
            _check_number(option, value, name)


def _pairs(option, text, *, ranges=False):
    from ..fit import PARAMETERS

    out = parse_pairs(option, text, PARAMETERS, ranges=ranges, error=FitDataError)
    for name, value in out.items():
        for number in (value if ranges else (value,)):
            if not (ranges and name == "alpha"):  # alpha bounds may straddle 0 (the guess may not)
                _check_number(f"{option} {name}", number, name)
    return out


def main(args) -> int:
    """`jaxsot fit` and `jaxsot synth` with parsed arguments; returns the exit status."""
    if args.command == "synth":
        return _synth(args)
    return _fit(args)


def _synth(args) -> int:
    kind, model_options, kind_source = resolve_model(args)
    if args.kind == "st-fmr":
        refuse_kind_for(kind, kind_source, args.kind)
    refuse_model_flags(args, kind, model_options, kind_source)
    if args.kind == "harmonic-hall":  # any kind: its [model] values (--model-kind defaults or --config) are the truth
        from ._fit_hall import run_synth_hall

        return run_synth_hall(args, kind, model_options)
    if args.kind == "st-fmr":
        from ._stfmr import run_synth_st_fmr

        return run_synth_st_fmr(args)
    from ..fit import COLUMNS

    _check_options(args, ("alpha", "j_ex", "mass_ratio", "tau", "fermi_energy", "points", "noise", "seed", "theta_deg",
                          "phi_deg", "efield", "t_end", "max_state_steps", "max_memory_GB"))
    default = "rho_ratio,T_DL_x,T_DL_y,T_FL_z" if args.kind == "steady" else "T_DL_y,T_FL_z"
    columns = tuple(c.strip() for c in (default if args.columns is None else args.columns).split(",") if c.strip())
    unknown = [c for c in columns if c not in COLUMNS]
    if not columns or unknown or len(set(columns)) != len(columns):
        raise UsageError(f"--columns {args.columns!r}: allowed: distinct names from {', '.join(COLUMNS)}")
    if args.kind == "transient" and "rho_ratio" in columns:
        raise UsageError("--columns rho_ratio with --kind transient; allowed: torque columns only (AMR is a steady quantity)")
    check_synth_size(args.points, 64, args.max_state_steps, args.max_memory_GB)
    check_output_file(args.output, "output", force=args.force)
    set_precision("float64")  # fits and their uncertainties need float64

    import numpy as onp

    from ..fit import synthesize
    from ..fit._forward import parameter_unit

    params = {"alpha": args.alpha, "j_ex": args.j_ex, "mass_ratio": args.mass_ratio, "tau": args.tau}
    truth = dict(params)
    model = None
    if kind != "rashba":
        if args.model != "exact":
            raise UsageError(f"--model {args.model} is a closed form of the Rashba ferromagnet; [model] kind {kind!r} ({kind_source}) "
                             "has none; allowed: --model exact")
        model = electron_model(kind, model_options, None)
        params = {"tau": args.tau}
        import jaxsot

        truth = {**{k: float(v) for k, v in jaxsot.model_parameters(model).items()}, "tau": args.tau}
    elif model_options is not None:  # a Rashba [model] table: its values are the truth (--alpha etc. refused above)
        params = {"alpha": model_options.alpha_eV_nm, "j_ex": model_options.j_ex_eV, "mass_ratio": model_options.mass_ratio, "tau": args.tau}
        truth = dict(params)
    efield = args.efield * 1e-9
    if args.kind == "steady":
        curve = synthesize(params, args.fermi_energy, columns=columns, theta=math.radians(args.theta_deg), efield=efield,
                           num_points=args.points, noise=args.noise, known_noise=not args.unknown_noise, seed=args.seed,
                           model=model, method=args.model)
    else:
        times = onp.linspace(0.0, args.t_end, args.points)
        curve = synthesize(params, args.fermi_energy, columns=columns, theta=math.radians(args.theta_deg),
                           phi=math.radians(args.phi_deg), efield=efield, time=times, noise=args.noise,
                           known_noise=not args.unknown_noise, seed=args.seed, model=model, method=args.model)
    comments = [
        f"synthetic data from jaxsot synth ({args.kind}, [model] kind {kind}, model {args.model}, noise {args.noise:g} of each "
        f"column's range, seed {args.seed})",
        "truth: " + ", ".join(f"{k} = {v:g} {parameter_unit(k)}" for k, v in truth.items()),
    ]
    write_csv(args.output, curve, units=args.units, comments=comments, settings={"fermi_energy": args.fermi_energy})
    say(f"wrote {args.output}: {curve.num_points} rows, columns {', '.join(curve.columns)}, E_F = {args.fermi_energy:g} eV")
    return 0


def _fit(args) -> int:
    from ..fit import PARAMETERS
    from ..fit._hall_csv import hall_csv_kind

    # Refusals come first (nothing computed, nothing compiled); the data are read again once JAX
    # computes in float64 (below, and in run_fit_hall), so a fit never runs on float32 arrays.
    kind, model_options, kind_source = resolve_model(args)
    if any(hall_csv_kind(path) for path in args.data):
        refuse_kind_for(kind, kind_source, "harmonic Hall fit")
        from ._fit_hall import run_fit_hall

        return run_fit_hall(args)
    from ._stfmr import is_st_fmr_file

    if any(is_st_fmr_file(path) for path in args.data):
        refuse_kind_for(kind, kind_source, "ST-FMR")
        from ._stfmr import run_fit_st_fmr

        return run_fit_st_fmr(args)
    args.optimizer = args.optimizer or "lbfgs"
    if args.optimizer == "lm":
        raise UsageError("--optimizer lm is for harmonic Hall data; allowed for AMR and torque curves: lbfgs, adam")

    # Everything is checked before any work: options, data files, sizes, --out.
    _check_options(args, ("restarts", "max_steps", "seed", "num", "report_every", "fermi_energy", "max_state_steps", "max_memory_GB"))
    started = time.perf_counter()
    if len(args.data) > 100:
        raise UsageError(f"{len(args.data)} data files; allowed: at most 100")
    if len(set(args.data)) != len(args.data):
        raise FitDataError(f"a data file is given twice ({', '.join(args.data)}); allowed: each file once")
    if kind != "rashba" and args.model != "exact":
        raise UsageError(f"--model {args.model} is a closed form of the Rashba ferromagnet; [model] kind {kind!r} "
                         f"({kind_source}) has none; allowed: --model exact")
    names = PARAMETERS if kind == "rashba" else fit_names(kind, electron_model(kind, model_options, None))
    free = tuple(n.strip() for n in args.free.split(",") if n.strip()) if args.free is not None else None
    if free is not None and (not free or any(n not in names for n in free) or len(set(free)) != len(free)):
        raise UsageError(f"--free {args.free!r}: allowed for [model] kind {kind!r}: distinct names from {', '.join(names)}")
    if kind == "rashba":
        guess = _pairs("--guess", args.guess)
        bounds = _pairs("--bounds", args.bounds, ranges=True)
    else:
        guess = parse_kind_pairs("--guess", args.guess, kind, names)
        bounds = parse_kind_pairs("--bounds", args.bounds, kind, names, ranges=True)
    curves, energies = [], {}
    names = [pathlib.Path(n).name for n in args.data]
    rows = 0
    for given, name in zip(args.data, names):
        # Labels name the curves in the report: the file name, or the path as given when names clash.
        curve, settings = read_csv(given, label=name if names.count(name) == 1 else given, max_rows=MAX_DATA_ROWS - rows)
        rows += curve.num_points
        curves.append(curve)
        if "fermi_energy" in settings:
            energies[given] = settings["fermi_energy"]
    if args.fermi_energy is not None:
        fermi_energy, source = args.fermi_energy, "--fermi-energy"
    elif energies:
        values = set(energies.values())
        if len(values) > 1:
            raise FitDataError(f"the files give different fermi_energy values {sorted(values)} eV; allowed: one (or pass --fermi-energy)")
        fermi_energy, source = values.pop(), "data file"
    else:
        fermi_energy, source = 1.5, "default (set --fermi-energy or '# fermi_energy [eV] = ...')"
    max_steps = args.max_steps or (200 if args.optimizer == "lbfgs" else 2000)
    check_fit_size(rows, args.num, args.restarts, max_steps, args.max_state_steps, args.max_memory_GB)
    out = prepare_out(args.out, inputs=args.data)
    set_precision("float64")  # fits and their uncertainties need float64
    # Read again now that JAX computes in float64: arrays made before are float32 (checked above).
    curves = [read_csv(given, label=c.label)[0] for given, c in zip(args.data, curves)]

    from ..fit import FitWarning, fit
    import jax

    import jaxsot

    say(f"jaxsot {jaxsot.__version__} fit, float64, jax {jax.__version__} on {jax.default_backend()}")
    for c in curves:
        say(f"  {c.label}: {c.num_points} rows, {c.kind}, columns {', '.join(c.columns)}, "
            f"noise {'given' if c.sigma_known else 'unknown (estimated)'}")
    say(f"  E_F = {fermi_energy:g} eV ({source}), [model] kind {kind} ({kind_source}), model {args.model}, "
        f"optimizer {args.optimizer}, {args.restarts} restarts")
    import jax.numpy as jnp

    model = electron_model(kind, model_options, jnp.float64)
    # None: the Rashba ferromagnet of the fit's own guesses (the default path, as before --model-kind)
    forward = {"model": args.model} if model is None else {"model": model, "method": args.model}
    say("  fitting: the compilations, then the loss per restart:")
    sys.stdout.flush()
    # A line when each compilation starts and ends; on a terminal a status line counts the seconds between.
    with warnings.catch_warnings(record=True) as caught, Status("fitting", lines=False) as status:
        warnings.simplefilter("always", FitWarning)
        result = fit(
            curves, fermi_energy, free=free, guess=guess, bounds=bounds, **forward, optimizer=args.optimizer,
            restarts=args.restarts, max_steps=args.max_steps, seed=args.seed, num=args.num, report_every=args.report_every,
            progress=lambda text: status.say(f"  {text}"),
        )
    elapsed = time.perf_counter() - started
    print_fit_report(result, caught)
    non_finite = _write_outputs(out, result, curves, args, fermi_energy, elapsed)
    written = ["results.json", "fit.csv", "trace.csv"]
    from ..fit import COLUMN_UNITS

    if not args.no_plot and _figures.fit(out / "fit.png", result, curves, _x_axis, COLUMN_UNITS):
        written.append("fit.png")
    print()
    say(f"fit in {elapsed:.1f} s (compile included); wrote {', '.join(str(out / n) for n in written)}")
    if non_finite:
        say(f"note: {len(non_finite)} value(s) of results.json are not finite (written as null and listed under "
            f"non_finite_values): {'; '.join(non_finite[:3])}")
        return 1  # like `jaxsot run`: the files are written, the exit status says they hold nulls
    return 0


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula: one starting with = + - @ (or a
    tab / carriage return) gets a leading apostrophe (the OWASP 'CSV injection' defence)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _x_axis(curve):
    """(label, values) for plotting a curve: t, or the setting that varies (phi_M, theta_M, E), or the row."""
    import numpy as onp

    if curve.kind == "transient":
        return "t [fs]", onp.asarray(curve.time)
    for label, values in (("phi_M [deg]", onp.degrees(curve.phi)), ("theta_M [deg]", onp.degrees(curve.theta)),
                          ("E [V/m]", onp.asarray(curve.efield) * 1e9)):
        values = onp.asarray(values)
        if onp.ptp(values) > 0:
            return label, values
    return "row", onp.arange(curve.num_points)


def _write_outputs(out, result, curves, args, fermi_energy, elapsed):
    import numpy as onp

    from ..fit import COLUMN_UNITS, PARAMETER_UNITS
    from ..fit._forward import parameter_unit

    payload = {**run_metadata("float64", "command line", {"argv": vars(args) | {"data": list(args.data)}}), **result.to_dict()}
    for key in ("predictions", "residuals", "sigmas", "trace", "stage2_trace"):
        payload.pop(key)
    payload.update(
        {
            "files": list(args.data),
            "units": {**PARAMETER_UNITS, **{n: parameter_unit(n) for n in getattr(result, "parameters", {})}, **{c: COLUMN_UNITS[c] for c in COLUMN_UNITS},
                      "eta": "1"},
            "runtime_s": elapsed,
            "fermi_energy_eV": fermi_energy,
        }
    )
    non_finite = write_json(out / "results.json", payload)
    # csv.writer quotes cells with commas, quotes or line breaks (a file named 'x,=1+1.csv' stays one
    # cell) and text cells are defused against spreadsheet formulas (`spreadsheet_safe`).
    text = io.StringIO()
    table = csv.writer(text, lineterminator="\n")
    table.writerow(["curve", "row", "column", "unit", "x_label", "x", "value", "sigma", "fit", "normalized_residual"])
    for curve, prediction, residual, sigma in zip(curves, result.predictions, result.residuals, result.sigmas):
        label, x = _x_axis(curve)
        for j, column in enumerate(curve.columns):
            for i in range(curve.num_points):
                table.writerow([
                    spreadsheet_safe(curve.label), i, column, COLUMN_UNITS[column], label, f"{x[i]:.10g}",
                    f"{float(curve.values[i, j]):.10g}", f"{sigma[i, j]:.6g}", f"{prediction[i, j]:.10g}", f"{residual[i, j]:.6g}",
                ])
    write_text(out / "fit.csv", text.getvalue())
    trace = onp.asarray(result.trace)
    header = ["iteration"] + [f"restart_{i}" for i in range(trace.shape[0])]
    columns = list(trace)
    if result.stage2_trace is not None:
        header.append("refit_with_estimated_noise")  # the refits' iterations one after the other
        columns.append(onp.asarray(result.stage2_trace))
    length = max(len(c) for c in columns)
    columns = [onp.arange(length, dtype=float)] + [onp.pad(onp.asarray(c, float), (0, length - len(c)), constant_values=onp.nan) for c in columns]
    rows = [",".join(header)] + [
        ",".join([str(int(row[0]))] + ["" if not onp.isfinite(v) else f"{v:.12g}" for v in row[1:]]) for row in onp.stack(columns, -1)
    ]
    write_text(out / "trace.csv", "\n".join(rows) + "\n")
    return non_finite


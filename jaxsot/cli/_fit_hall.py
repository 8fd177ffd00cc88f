"""`jaxsot fit` on harmonic Hall data and `jaxsot synth --kind harmonic-hall` (called from `jaxsot.cli.fit`).

`jaxsot fit` hands files whose header has R_1w/R_2w (field sweeps) or B_DL/B_FL/xi_DL/xi_FL (field tables)
columns to `run_fit_hall`; `jaxsot synth --kind harmonic-hall` to `run_synth_hall`. Same output files as
the other fits: results.json (strict JSON), fit.csv, trace.csv and fit.png under --out.
"""

import csv
import io
import math
import pathlib
import time
import warnings

from . import _figures
from ._common import (
    UsageError,
    parse_pairs,
    check_output_file,
    prepare_out,
    run_metadata,
    set_precision,
    write_json,
    write_text,
)
from ._preflight import MAX_DATA_ROWS, check_fit_size
from ._fit_report import print_fit_report
from ._progress import Status, say

HALL_KIND = "harmonic-hall"
HALL_FREE_HELP = (
    "alpha (eV nm; 0.05), j_ex (eV; 1), mass_ratio (1; 1), tau (fs; 10), anisotropy_field (T; from the data: "
    "mu0 M_s + 2 max B for a perpendicular easy axis, else 0.05, then scanned), r_ahe (ohm; max |R_1w|, then least "
    "squares), r_phe (ohm; 0, least squares), r_ane (ohm; 0: thermal term R_ANE M_x of R_2w), oersted_field "
    "(T; 0: along +y at j0), r_ohe (ohm/T; 0: ordinary Hall R_OHE B_z in R_1w), r_ane_field (ohm/T; 0: R_ANE(B) = r_ane + "
    "r_ane_field |B|), r_1w_offset (ohm; 0), r_2w_offset (ohm; 0). Another electron model (--model-kind): its own "
    "names (e.g. hbar_v, j_ex, kinetic for ti-surface; start: the model's defaults) and tau replace alpha, j_ex, "
    "mass_ratio, tau"
)
"""The free-able harmonic Hall parameters with units and defaults (`jaxsot fit --help`)."""
"""The `jaxsot synth --kind` value of harmonic Hall data."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNITS = {"R_1w": "ohm", "R_2w": "ohm", "B_DL": "T", "B_FL": "T", "xi_DL": "1", "xi_FL": "1"}


def register_options(fit_parser, synth_parser) -> None:
    """Add the harmonic Hall file format to `jaxsot fit --help` and the `--kind harmonic-hall` options to synth."""
    from ..fit._hall_csv import HALL_CSV_FORMAT

    fit_parser.epilog = ((fit_parser.epilog or "") + "\n\n" + HALL_CSV_FORMAT).strip("\n")
    hall = fit_parser.add_argument_group(
        "harmonic Hall data",
        "files with R_1w/R_2w (or X_1w/Y_2w, or B_DL/B_FL/xi) columns. --free, --guess and --bounds take these "
        "names (unit; start or fixed value when not given): " + HALL_FREE_HELP + ". Default --free: alpha, j_ex, "
        "tau, anisotropy_field, r_ahe, r_phe, and r_ane for an in-plane easy axis (field tables: alpha, j_ex, tau).",
    )
    action = fit_parser._option_string_actions.get("--free")
    if action is not None and "harmonic Hall" not in (action.help or ""):
        action.help = (action.help or "") + "; harmonic Hall data: names and defaults under 'harmonic Hall data' below"
    hall.add_argument("--orders", choices=("first", "all"), default="first",
                      help="harmonic Hall forward model: first order in the current (default, fast) or every order "
                      "(the quasi-static equilibrium at 16 current phases: R_1w with its O(j0^2) part, R_2w beyond linear response)")
    group = synth_parser.add_argument_group(
        "--kind harmonic-hall",
        "field sweeps R_1w, R_2w at every order in the current plus Gaussian noise (--noise: fraction of each "
        "column's peak-to-peak range); also uses --alpha, --j-ex, --mass-ratio, --tau, --fermi-energy, --model, "
        "--seed, --unknown-noise, and --model-kind / --config for another electron model (its [model] values replace "
        "--alpha, --j-ex, --mass-ratio; exact bands). --route quasi-static (default): the macrospin equilibrium at each current phase, "
        "Fourier-demodulated (seconds in all); --route time-domain: the LLG under j0 sin(2 pi f t) demodulated "
        "like a lock-in (~0.2 s per row for --model strong_exchange, ~2 s per row for exact bands, 2-core VM).",
    )
    from ._stfmr import register_options as register_st_fmr

    register_st_fmr(synth_parser)
    group.add_argument("--anisotropy-field", type=float, default=1.5, help="uniaxial anisotropy field B_K [T] (default 1.5)")
    group.add_argument("--r-ahe", type=float, default=1.0, help="anomalous Hall resistance [ohm] (default 1)")
    group.add_argument("--r-phe", type=float, default=0.3, help="planar Hall resistance [ohm] (default 0.3)")
    group.add_argument("--r-ane", type=float, default=0.0, help="anomalous Nernst term of R_2w [ohm] (default 0)")
    group.add_argument("--oersted-field", type=float, default=0.0, help="Oersted field along +y at j0 [T] (default 0)")
    group.add_argument("--current-density", type=float, default=1e11, help="current density amplitude j0 [A/m^2] (default 1e11)")
    group.add_argument("--rho0", type=float, default=2e-7, help="resistivity [ohm m] (default 2e-7)")
    group.add_argument("--ms", type=float, default=1.0, help="mu0 M_s [T] (default 1)")
    group.add_argument("--thickness", type=float, default=1.0, help="magnet thickness [nm] (default 1)")
    group.add_argument("--easy-axis", default="z", help="easy axis: x, y, z or 'ux,uy,uz' (default z: perpendicular)")
    group.add_argument("--fields", default="0.1,0.25", help="comma-separated field magnitudes [T] (default 0.1,0.25)")
    group.add_argument("--angles", type=int, default=24, help="field angles phi_H per magnitude, uniform over 360 deg (default 24)")
    group.add_argument("--theta-h-deg", type=float, default=90.0, help="polar angle of the field [deg] (default 90: in plane)")
    group.add_argument("--route", choices=("quasi-static", "time-domain"), default="quasi-static",
                       help="quasi-static equilibrium at each current phase (default, fast) or the time-domain LLG")
    group.add_argument("--phases", type=int, default=16, help="current phases per period of the quasi-static route (multiple of 4; default 16)")
    group.add_argument("--signals", choices=("resistance", "lockin-rms", "lockin-peak"), default="resistance",
                       help="columns written: R_1w, R_2w [ohm] with '# j0' (default), or the lock-in outputs X_1w, Y_2w [V] "
                       "(reference in phase with the current) with '# current_rms' (lockin-rms: rms outputs and current) "
                       "or '# current_peak' (lockin-peak) and '# width'")
    group.add_argument("--width", type=float, default=10.0, help="Hall bar width [um] for --signals lockin-* (default 10)")
    group.add_argument("--frequency", type=float, default=1.5e7, help="drive frequency [Hz] of the time-domain route (default 1.5e7)")
    group.add_argument("--gilbert", type=float, default=1.0, help="Gilbert damping of the time-domain route (default 1: fast relaxation)")


# ---------------------------------------------------------------------------------------------
# Option parsing helpers.


def _float_list(option, text):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{option} {text!r}: allowed: comma-separated numbers") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise UsageError(f"{option} {text!r}: allowed: one or more finite numbers")
    return values


def _axis(text):
    axes = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}
    word = text.strip().lower()
    if word.lstrip("+-") in axes:
        sign = -1.0 if word.startswith("-") else 1.0
        return tuple(sign * v for v in axes[word.lstrip("+-")])
    values = _float_list("--easy-axis", text)
    if len(values) != 3 or not any(values):
        raise UsageError(f"--easy-axis {text!r}: allowed: x, y, z, -x, -y, -z or three numbers 'ux,uy,uz' (not all zero)")
    return tuple(values)




def _check(option, value, low, high, *, low_inclusive=True, unit=""):
    too_low = value < low if low_inclusive else value <= low
    if not math.isfinite(value) or too_low or value > high:
        raise UsageError(f"{option} = {value:g} is out of range; allowed: {'[' if low_inclusive else '('}{low:g}, {high:g}]{' ' + unit if unit else ''}")


def _count(option, value, low, high):
    if not low <= value <= high:
        raise UsageError(f"{option} = {value} is out of range; allowed: {low} to {high}")


# ---------------------------------------------------------------------------------------------
# jaxsot synth --kind harmonic-hall


def run_synth_hall(args, kind: str = "rashba", model_options=None) -> int:
    """Write a synthetic harmonic Hall field sweep (quasi-static or time-domain route + noise) to args.output.

    kind, model_options: the resolved [model] (`_fit_kinds.resolve_model`): "rashba" takes --alpha, --j-ex,
    --mass-ratio (or a Rashba [model] table of --config); another kind its [model] values (its
    `jaxsot default-config run --model KIND` defaults, or the --config table), exact bands only.
    """
    for option, value, low, high, inclusive, unit in (
        ("--alpha", args.alpha, -10.0, 10.0, True, "eV nm"), ("--j-ex", args.j_ex, 0.0, 100.0, False, "eV"),
        ("--mass-ratio", args.mass_ratio, 0.0, 100.0, False, ""), ("--tau", args.tau, 0.0, 1e7, False, "fs"),
        ("--fermi-energy", args.fermi_energy, -100.0, 100.0, True, "eV"), ("--noise", args.noise, 0.0, 10.0, True, "of the range"),
        ("--anisotropy-field", args.anisotropy_field, -100.0, 100.0, True, "T"), ("--r-ahe", args.r_ahe, -1e9, 1e9, True, "ohm"),
        ("--r-phe", args.r_phe, -1e9, 1e9, True, "ohm"), ("--r-ane", args.r_ane, -1e9, 1e9, True, "ohm"),
        ("--oersted-field", args.oersted_field, -10.0, 10.0, True, "T"),
        ("--current-density", args.current_density, 0.0, 1e14, False, "A/m^2"), ("--rho0", args.rho0, 0.0, 1.0, False, "ohm m"),
        ("--ms", args.ms, 0.0, 10.0, False, "T"), ("--thickness", args.thickness, 0.0, 1e4, False, "nm"),
        ("--theta-h-deg", args.theta_h_deg, 0.0, 180.0, True, "deg"), ("--frequency", args.frequency, 0.0, 1e15, False, "Hz"),
        ("--gilbert", args.gilbert, 0.0, 100.0, False, ""), ("--width", args.width, 0.0, 1e5, False, "um"),
    ):
        _check(option, value, low, high, low_inclusive=inclusive, unit=unit)
    if kind == "rashba" and args.alpha == 0.0:
        raise UsageError("--alpha = 0; allowed: a non-zero Rashba coupling (either sign)")
    if kind != "rashba" and args.model != "exact":
        raise UsageError(f"--model {args.model} is a closed form of the Rashba ferromagnet; [model] kind {kind!r} has none; "
                         "allowed: --model exact")
    fields = _float_list("--fields", args.fields)
    for b in fields:
        _check("--fields", b, 0.0, 100.0, low_inclusive=False, unit="T")
    _count("--angles", args.angles, 3, MAX_DATA_ROWS)
    _count("--phases", args.phases, 8, 4096)
    if args.phases % 4:
        raise UsageError(f"--phases = {args.phases}; allowed: a multiple of 4 from 8 to 4096")
    rows = args.angles * len(fields)
    _count("--fields x --angles", rows, 3, MAX_DATA_ROWS)
    easy_axis = _axis(args.easy_axis)
    check_output_file(args.output, "output", force=args.force)
    set_precision("float64")

    import numpy as onp

    from jaxsot import HallSettings, hall_bands

    from ..fit._hall import synthesize_hall
    from ..fit._hall_csv import write_hall_csv

    readout = {"anisotropy_field": args.anisotropy_field, "r_ahe": args.r_ahe, "r_phe": args.r_phe, "r_ane": args.r_ane,
               "oersted_field": args.oersted_field}
    electrons, model = _synth_electrons(args, kind, model_options)
    params = {**electrons, **readout}
    if model is None:
        bands = hall_bands(params, args.fermi_energy) if args.model == "exact" else None
    else:
        bands = _model_bands(model, params, args.fermi_energy)
    phi = onp.tile(onp.linspace(0.0, 2.0 * math.pi, args.angles, endpoint=False), len(fields))
    field = onp.repeat(fields, args.angles)
    settings = HallSettings(
        phi, field, theta_h=math.radians(args.theta_h_deg), fermi_energy=args.fermi_energy, current_density=args.current_density,
        rho0=args.rho0, ms_tesla=args.ms, thickness=args.thickness, easy_axis=easy_axis, model=args.model, bands=bands,
    )
    torque = args.model if model is None else f"[model] kind {kind} ({type(model).__name__}, exact bands)"
    started = time.perf_counter()
    if args.route == "time-domain":
        say(f"integrating the LLG under the AC current at {rows} field points ({torque} torque, f = {args.frequency:g} Hz) ...")
        how = f"time-domain LLG + lock-in demodulation, f = {args.frequency:g} Hz, gilbert = {args.gilbert:g}"
    else:
        say(f"solving the quasi-static equilibrium at {args.phases} current phases at {rows} field points ({torque} torque) ...")
        how = f"quasi-static equilibrium at {args.phases} current phases, every order in the current"
    # On a terminal a status line shows the elapsed time and the compilations while it works.
    with Status("synthesizing", lines=False):
        data = synthesize_hall(params, settings, noise=args.noise, known_noise=not args.unknown_noise, seed=args.seed,
                               route=args.route, phases=args.phases, frequency=args.frequency, gilbert=args.gilbert,
                               label=pathlib.Path(args.output).name, model=model)
    comments = [
        f"synthetic harmonic Hall data from jaxsot synth --kind {HALL_KIND} ({how}, "
        f"{torque} torque; noise {args.noise:g} of each column's range, seed {args.seed})",
        "truth: " + ", ".join(f"{k} = {v:g} {_unit(k)}".rstrip() for k, v in params.items()),
    ]
    lockin = None
    if args.signals != "resistance":
        kind = args.signals.split("-")[1]
        lockin = {"width": args.width * 1e3, "current": kind, "output": kind}
        comments.append(f"lock-in outputs X_1w, Y_2w ({kind}), reference in phase with the current sin wt: "
                        f"R_1w = {'sqrt(2) ' if kind == 'rms' else ''}X_1w/I, R_2w = -{'sqrt(2) ' if kind == 'rms' else ''}Y_2w/I (I peak)")
    write_hall_csv(args.output, data, comments=comments, lockin=lockin)
    say(f"wrote {args.output}: {rows} rows (R_1w, R_2w), E_F = {args.fermi_energy:g} eV, in {time.perf_counter() - started:.1f} s")
    return 0


def _synth_electrons(args, kind, model_options):
    """({name: value} of the electrons, the model or None) of `jaxsot synth --kind harmonic-hall`.

    None: the Rashba ferromagnet of --alpha, --j-ex, --mass-ratio (a Rashba [model] table of --config replaces
    them); another kind: its model in float64 with its named parameters and --tau."""
    if kind == "rashba":
        if model_options is None:
            return {"alpha": args.alpha, "j_ex": args.j_ex, "mass_ratio": args.mass_ratio, "tau": args.tau}, None
        return {"alpha": model_options.alpha_eV_nm, "j_ex": model_options.j_ex_eV, "mass_ratio": model_options.mass_ratio,
                "tau": args.tau}, None
    import jax.numpy as jnp

    import jaxsot

    from ._model_config import build_model

    model = build_model(model_options, jnp.float64)
    return {**{n: float(v) for n, v in jaxsot.model_parameters(model).items()}, "tau": args.tau}, model


def _model_bands(model, params, fermi_energy):
    """The occupied bands of another kind at E_F (the same for every probe direction of M, else one line)."""
    from .._core._params import parameter_names
    from .._llg._magnet import PROBE_DIRECTIONS
    from ..fit._forward import ModelSpec, general_bands_at

    try:
        return general_bands_at(ModelSpec(model, parameter_names(model), "rays"), params, fermi_energy, PROBE_DIRECTIONS)
    except ValueError as error:
        raise UsageError(f"--fermi-energy {fermi_energy:g}: {error}") from None


def _unit(name: str) -> str:
    """The unit of a truth value in the synthesized file's comment ("" for dimensionless)."""
    from ..fit._forward import parameter_unit
    from ..fit._hall_data import HALL_FIT_UNITS

    unit = HALL_FIT_UNITS.get(name) or parameter_unit(name)
    return "" if unit in (None, "1") else unit


# ---------------------------------------------------------------------------------------------
# jaxsot fit on harmonic Hall files


def run_fit_hall(args) -> int:
    """Fit harmonic Hall sweeps and/or field tables (all of args.data); write the usual outputs under args.out."""
    from ..fit._csv import FitDataError
    from ..fit._hall import HALL_OPTIMIZERS, hall_fit_names
    from ..fit._hall_csv import hall_csv_kind, read_hall_csv

    started = time.perf_counter()
    optimizer = getattr(args, "optimizer", None) or "lm"
    if optimizer not in HALL_OPTIMIZERS:
        raise UsageError(f"--optimizer {optimizer} with harmonic Hall data; allowed: {', '.join(HALL_OPTIMIZERS)}")
    _count("--restarts", args.restarts, 1, 1024)
    if args.max_steps is not None:
        _count("--max-steps", args.max_steps, 1, 1_000_000)
    _count("--seed", args.seed, 0, 2**32 - 1)
    _count("--num", args.num, 8, 65536)
    if args.fermi_energy is not None:
        _check("--fermi-energy", args.fermi_energy, -100.0, 100.0, unit="eV")
    if len(args.data) > 100:
        raise UsageError(f"{len(args.data)} data files; allowed: at most 100")
    if len(set(args.data)) != len(args.data):
        raise FitDataError(f"a data file is given twice ({', '.join(args.data)}); allowed: each file once")
    # Another electron model (`--model-kind`, when the parser has it): its own parameter names, exact bands only.
    model_kind = getattr(args, "model_kind", None) or "rashba"
    electron_model = None
    if model_kind != "rashba":
        from ._model_config import build_model, parse_model_table

        electron_model = build_model(parse_model_table("model", {"kind": model_kind}), None)
        if args.model not in (None, "exact"):
            raise UsageError(f"--model {args.model} is a closed form of the Rashba ferromagnet; --model-kind {model_kind} has none; "
                             "allowed: --model exact")
    allowed = hall_fit_names(electron_model)
    free = tuple(n.strip() for n in args.free.split(",") if n.strip()) if args.free is not None else None
    if free is not None and (not free or any(n not in allowed for n in free) or len(set(free)) != len(free)):
        raise UsageError(f"--free {args.free!r}: allowed: distinct names from {', '.join(allowed)}")
    guess = parse_pairs("--guess", args.guess, allowed)
    bounds = parse_pairs("--bounds", args.bounds, allowed, ranges=True)
    names = [pathlib.Path(n).name for n in args.data]
    data, rows = [], 0
    for given, name in zip(args.data, names):
        if hall_csv_kind(given) is None and pathlib.Path(given).is_file():
            raise FitDataError(f"{given}: not harmonic Hall data (no R_1w/R_2w or B_DL/B_FL/xi columns); allowed: harmonic Hall "
                               "files only in one fit (AMR and torque curves are fitted separately)")
        label = name if names.count(name) == 1 else given
        item = read_hall_csv(given, fermi_energy=args.fermi_energy, label=label, max_rows=MAX_DATA_ROWS - rows)
        items = item if isinstance(item, list) else [item]  # a current column: one sweep per amplitude
        rows += sum(d.num_points for d in items)
        data.append((given, label))
    max_steps = args.max_steps or 200
    check_fit_size(rows, args.num, args.restarts, max_steps, args.max_state_steps, args.max_memory_GB)
    out = prepare_out(args.out, inputs=args.data)
    set_precision("float64")
    if electron_model is not None:  # again in float64 (built above in JAX's default float to check the names)
        electron_model = build_model(parse_model_table("model", {"kind": model_kind}), None)
    # Read again now that JAX computes in float64 (arrays made before may be float32; checked above).
    data = [read_hall_csv(given, fermi_energy=args.fermi_energy, label=label) for given, label in data]
    data = [d for item in data for d in (item if isinstance(item, list) else [item])]

    import jax

    import jaxsot

    from ..fit import FitWarning
    from ..fit._hall import fit_harmonic_hall

    say(f"jaxsot {jaxsot.__version__} fit (harmonic Hall), float64, jax {jax.__version__} on {jax.default_backend()}")
    for item in data:
        kind = "field sweep R_1w, R_2w" if hasattr(item, "r_1w") else f"field table {', '.join(item.columns)}"
        say(f"  {item.label}: {item.num_points} rows, {kind}, E_F = {item.fermi_energy:g} eV, "
            f"noise {'given' if item.sigma_known else 'unknown (estimated)'}")
    orders = getattr(args, "orders", "first")
    model_text = args.model if electron_model is None else type(electron_model).__name__ + " (exact bands)"
    report_every = getattr(args, "report_every", 0)
    say(f"  model {model_text}, {orders} order{'s' if orders == 'all' else ''} in the current, optimizer {optimizer}, "
        f"{args.restarts} restarts; compiling the model and its Jacobian, then fitting"
        + (" (loss per iteration):" if report_every else ""))
    with warnings.catch_warnings(record=True) as caught, Status("fitting (harmonic Hall)", quiet=report_every == 0, lines=False) as status:
        warnings.simplefilter("always", FitWarning)
        result = fit_harmonic_hall(data, free=free, guess=guess, bounds=bounds, model=args.model if electron_model is None else electron_model, num=args.num, optimizer=optimizer,
                                   orders=orders, restarts=args.restarts, max_steps=max_steps, seed=args.seed,
                                   report_every=report_every, progress=status.say)
    elapsed = time.perf_counter() - started
    print_fit_report(result, caught)
    from ..fit._hall import hall_linearity

    linearity = hall_linearity(data)
    if linearity is not None:
        change, error = linearity["relative_change"], linearity["relative_change_error"]
        say("linearity in the current (rms of R_2w / j0 per sweep): " + ", ".join(
            f"{j:.3g} A/m^2: {r:.4g}" for j, r in zip(linearity["current_density"], linearity["r2w_per_current"]))
            + f" ohm/(A/m^2); R_2w/j0 = c0 + c1 j0 changes by {change:+.2%}"
            + (f" +- {error:.2%}" if math.isfinite(error) else "") + " at the largest current"
            + (" (not linear: fit with --orders all)" if abs(change) > 0.01 else ""))
    non_finite = _write_outputs(out, result, data, args, elapsed)
    written = ["results.json", "fit.csv", "trace.csv"]
    if not args.no_plot and _figures.fit_hall(out / "fit.png", result, data, _x_of, _UNITS):
        written.append("fit.png")
    print()
    say(f"fit in {elapsed:.1f} s (compile included); wrote {', '.join(str(out / n) for n in written)}")
    if non_finite:
        say(f"note: {len(non_finite)} value(s) of results.json are not finite (written as null, listed under non_finite_values)")
        return 1  # like `jaxsot run`
    return 0


def _safe(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (leading apostrophe)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _x_of(item):
    """(label, values) of a data set's rows for tables and plots."""
    import numpy as onp

    if hasattr(item, "r_1w"):
        return "phi_H [deg]", onp.degrees(item.phi_h)
    return "row", onp.arange(item.num_points, dtype=float)


def _write_outputs(out, result, data, args, elapsed):
    import numpy as onp

    payload = {**run_metadata("float64", "command line", {"argv": vars(args) | {"data": list(args.data)}}), **result.to_dict()}
    for key in ("predictions", "residuals", "trace"):
        payload.pop(key)
    from ..fit._hall import hall_linearity

    payload.update({"files": list(args.data), "runtime_s": elapsed, "kind": "harmonic Hall", "linearity": hall_linearity(data)})
    non_finite = write_json(out / "results.json", payload)
    text = io.StringIO()
    table = csv.writer(text, lineterminator="\n")
    table.writerow(["data", "row", "column", "unit", "x_label", "x", "B [T]", "value", "sigma", "fit", "normalized_residual"])
    for item, label, columns, prediction, residual in zip(data, result.labels, result.columns, result.predictions, result.residuals):
        x_label, x = _x_of(item)
        field = item.field if hasattr(item, "field") else onp.full(item.num_points, onp.nan)
        values = onp.stack([item.r_1w, item.r_2w], -1) if hasattr(item, "r_1w") else item.values
        noise = result.noise[label]
        for j, column in enumerate(columns):
            s = noise[column]
            for i in range(item.num_points):
                table.writerow([_safe(label), i, column, _UNITS[column], x_label, f"{x[i]:.10g}",
                                "" if not onp.isfinite(field[i]) else f"{field[i]:.10g}", f"{values[i, j]:.10g}",
                                f"{(s if isinstance(s, float) else s[i]):.6g}", f"{prediction[i, j]:.10g}", f"{residual[i, j]:.6g}"])
    write_text(out / "fit.csv", text.getvalue())
    trace = onp.asarray(result.trace)
    header = ["iteration"] + [f"restart_{i}" for i in range(trace.shape[0])]
    lines = [",".join(header)]
    last = int(onp.max(onp.sum(onp.isfinite(trace), axis=1))) if trace.size else 0
    for step in range(last):
        lines.append(",".join([str(step)] + ["" if not onp.isfinite(v) else f"{v:.12g}" for v in trace[:, step]]))
    write_text(out / "trace.csv", "\n".join(lines) + "\n")
    return non_finite


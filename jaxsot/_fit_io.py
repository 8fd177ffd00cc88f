"""Files for `jaxsot.fit`: the CSV data format, and the `jaxsot fit` / `jaxsot synth` commands.

All unit conversions of the fitting code happen here, at the boundary; `jaxsot._fit` works in
eV, nm, fs, V/nm. Nothing in the physics modules imports this file.
"""

import argparse
import csv
import json
import math
import pathlib
import re
import time
import warnings

CSV_FORMAT = """\
CSV data format (jaxsot fit / jaxsot synth / jaxsot.fit.read_csv)

One header row of `name [unit]` cells, then one row per data point, comma-separated. Lines that
start with '#' are comments; a comment `# name [unit] = value` sets a value for every row
(fermi_energy, or any setting column below). One file is one curve: all its observable columns
share the rows' settings; give several files to fit several curves together.

settings (per row, or constant in a `# name [unit] = value` comment):
  phi_M [deg|rad]       azimuth of M from the current / field direction x (required)
  theta_M [deg|rad]     polar angle of M from z (default 90 deg: in-plane M)
  E [V/m|V/nm|kV/cm|MV/m]  applied field along x (required for torque columns)
  t [fs|ps|ns|s]        time after the field step at t = 0: makes the file a transient
  fermi_energy [eV|meV] (comment only) E_F; `--fermi-energy` overrides it
observables (at least one):
  rho_ratio [1]         AMR, rho_xx(M)/rho_xx(M0) with M0 in-plane and perpendicular to x
  T_DL_x, T_DL_y, T_DL_z [1/(nm^2 fs)|1/(m^2 s)]  damping-like torque density T2 = -dS/dt
  T_FL_x, T_FL_y, T_FL_z [1/(nm^2 fs)|1/(m^2 s)]  field-like torque density T1
uncertainties (optional; without them the noise is estimated per column from the residuals):
  sigma_<observable> [unit of that observable] for every observable of the file (or none), or
  `sigma [unit]` when there is one observable

Example (AMR and a damping-like torque vs the in-plane angle of M, SI torques):
  # fermi_energy [eV] = 0.5
  phi_M [deg],E [V/m],rho_ratio [1],sigma_rho_ratio [1],T_DL_y [1/(m^2 s)],sigma_T_DL_y [1/(m^2 s)]
  0,1e5,1.0316,0.0003,2.35e+28,2e+26
  ...

Rows with missing, non-numeric or non-finite cells, unknown columns or units, and files with
fewer than 3 rows are refused with one line naming the file, line, column and what is allowed.
"""

_ANGLE = {"deg": math.pi / 180.0, "rad": 1.0}
_FIELD = {"V/nm": 1.0, "V/m": 1e-9, "kV/cm": 1e-4, "MV/m": 1e-3}
_TIME = {"fs": 1.0, "ps": 1e3, "ns": 1e6, "s": 1e15}
_TORQUE = {"1/(nm^2 fs)": 1.0, "1/(m^2 s)": 1e-33}  # 1/(m^2 s) = 1e-18 /nm^2 x 1e-15 /fs
_RATIO = {"1": 1.0}
_ENERGY = {"eV": 1.0, "meV": 1e-3}

_SETTINGS = {"phi_M": _ANGLE, "theta_M": _ANGLE, "E": _FIELD, "t": _TIME}
_COMMENT_ONLY = {"fermi_energy": _ENERGY}
_HEADER_CELL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[([^\]]*)\]\s*$")
_COMMENT_SETTING = re.compile(r"^#\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[([^\]]*)\]\s*=\s*(\S+)\s*$")


class FitDataError(ValueError):
    """A malformed data file or fit option: one line naming the file, line, column and what is allowed."""


def _units_of(name):
    from ._fit import COLUMNS

    if name in _SETTINGS:
        return _SETTINGS[name]
    if name in COLUMNS:
        return _RATIO if name == "rho_ratio" else _TORQUE
    return None


def _normalize_unit(unit: str) -> str:
    return re.sub(r"[\s*·]", "", unit)


def _factor(path, name, unit, table, where):
    wanted = _normalize_unit(unit)
    for allowed, factor in table.items():
        if _normalize_unit(allowed) == wanted:
            return factor
    raise FitDataError(
        f"{path}: {where}: unit [{unit}] of {name!r} is not allowed; allowed: {', '.join(f'[{u}]' for u in table)}"
    )


def _number(path, line, column, text):
    try:
        value = float(text)
    except ValueError:
        raise FitDataError(f"{path}: line {line}, column {column!r}: {text.strip()!r} is not a number; allowed: decimal numbers") from None
    if not math.isfinite(value):
        raise FitDataError(
            f"{path}: line {line}, column {column!r}: {text.strip()} is not finite; allowed: finite numbers (fix or remove the row)"
        )
    return value


def read_csv(path, *, label: str | None = None):
    """Read one data file (`CSV_FORMAT`) into a `jaxsot.fit.Curve`, converted to internal units.

    Returns (curve, settings): settings holds values from `# name [unit] = value` comments that
    are not columns (fermi_energy [eV] when given). Raises FitDataError (a ValueError) with one
    line naming the file, line and column.
    """
    import numpy as onp

    from ._fit import COLUMNS, MIN_POINTS, Curve

    path = pathlib.Path(path)
    if not path.is_file():
        raise FitDataError(f"data file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is not part of the header
    except (OSError, UnicodeDecodeError) as error:
        raise FitDataError(f"{path}: cannot be read as text ({error.__class__.__name__})") from None
    constants, settings = {}, {}
    header, header_line, rows = None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = _COMMENT_SETTING.match(stripped)
            if match:
                name, unit, value = match.groups()
                table = _COMMENT_ONLY.get(name) or _SETTINGS.get(name)
                if table is None:
                    continue  # a free-form note such as "# T [K] = 300"
                factor = _factor(path, name, unit, table, f"line {number}")
                target = settings if name in _COMMENT_ONLY else constants
                target[name] = _number(path, number, name, value) * factor
            continue
        cells = next(csv.reader([line]))
        if header is None:
            header, header_line = cells, number
            continue
        rows.append((number, cells))
    if header is None:
        raise FitDataError(f"{path}: no header row; allowed: one row of 'name [unit]' cells (see `jaxsot fit --help`)")

    columns = []  # (name, factor)
    for cell in header:
        match = _HEADER_CELL.match(cell)
        if not match:
            raise FitDataError(
                f"{path}: line {header_line}: header cell {cell.strip()!r} is not 'name [unit]'; allowed: e.g. 'phi_M [deg]', "
                "'rho_ratio [1]', 'T_DL_y [1/(nm^2 fs)]'"
            )
        name, unit = match.groups()
        table = _units_of(name)
        if table is None and name.startswith("sigma"):
            target = name[len("sigma_"):] if name.startswith("sigma_") else None
            table = _units_of(target) if target in COLUMNS else (None if target else "pending")
        if table is None:
            allowed = list(_SETTINGS) + list(COLUMNS) + [f"sigma_{c}" for c in COLUMNS] + ["sigma"]
            raise FitDataError(f"{path}: line {header_line}: column {name!r} is not allowed; allowed: {', '.join(allowed)}")
        if any(name == existing for existing, _, _ in columns):
            raise FitDataError(f"{path}: line {header_line}: column {name!r} appears twice; allowed: each column once")
        columns.append((name, unit, table))
    observables = [name for name, _, _ in columns if name in COLUMNS]
    if not observables:
        raise FitDataError(f"{path}: no observable column; allowed: one or more of {', '.join(f'{c} [unit]' for c in COLUMNS)}")
    resolved = []
    for name, unit, table in columns:
        if table == "pending":  # a bare `sigma`: the unit of the single observable
            if len(observables) != 1:
                raise FitDataError(
                    f"{path}: line {header_line}: column 'sigma' is ambiguous with {len(observables)} observables; "
                    f"allowed: sigma_<observable> (e.g. sigma_{observables[0]})"
                )
            name, table = f"sigma_{observables[0]}", _units_of(observables[0])
        resolved.append((name, _factor(path, name, unit, table, f"line {header_line}")))
    names = [name for name, _ in resolved]
    for name in names:
        if name.startswith("sigma_") and name[len("sigma_"):] not in observables:
            raise FitDataError(f"{path}: line {header_line}: column {name!r} has no observable {name[6:]!r}; allowed: sigma columns of observables in the file")

    table = []
    for number, cells in rows:
        if len(cells) != len(resolved):
            raise FitDataError(f"{path}: line {number}: {len(cells)} cells; allowed: {len(resolved)}, one per header column")
        table.append([_number(path, number, header[i].strip(), cell) * resolved[i][1] for i, cell in enumerate(cells)])
    if len(table) < MIN_POINTS:
        raise FitDataError(f"{path}: {len(table)} data rows; allowed: at least {MIN_POINTS} (too few points to fit)")
    data = onp.asarray(table, dtype=float)
    column = {name: data[:, i] for i, name in enumerate(names)}

    def setting(name, default=None):
        if name in column and name in constants:
            raise FitDataError(f"{path}: {name!r} is both a column and a '# {name} [...] = value' comment; allowed: one of them")
        return column.get(name, constants.get(name, default))

    phi = setting("phi_M")
    if phi is None:
        raise FitDataError(f"{path}: column 'phi_M [deg]' is missing; allowed: a column or a '# phi_M [deg] = value' comment")
    torques = [name for name in observables if name != "rho_ratio"]
    efield = setting("E")
    if torques and efield is None:
        raise FitDataError(
            f"{path}: column 'E [V/m]' is missing: the torque columns {', '.join(torques)} need the applied field; allowed: a "
            "column or a '# E [V/m] = value' comment"
        )
    times = setting("t")
    if times is not None and "rho_ratio" in observables:
        raise FitDataError(f"{path}: 'rho_ratio' with a time column 't'; allowed: transients of torque columns only")
    sigma = None
    if any(f"sigma_{name}" in column for name in observables):
        missing = [name for name in observables if f"sigma_{name}" not in column]
        if missing:
            raise FitDataError(f"{path}: sigma columns for some observables only (none for {', '.join(missing)}); allowed: all or none")
        sigma = onp.stack([column[f"sigma_{name}"] for name in observables], -1)
        if onp.any(sigma <= 0.0):
            row = rows[int(onp.flatnonzero(onp.any(sigma <= 0.0, axis=1))[0])][0]
            raise FitDataError(f"{path}: line {row}: a sigma is <= 0; allowed: positive uncertainties")
    try:
        curve = Curve(
            tuple(observables),
            onp.stack([column[name] for name in observables], -1),
            phi=phi,
            theta=setting("theta_M", math.pi / 2),
            efield=efield,
            time=times,
            sigma=sigma,
            label=label or path.name,
        )
    except ValueError as error:
        raise FitDataError(f"{path}: {error}") from None
    return curve, settings


def write_csv(path, curve, *, units: str = "internal", comments=(), settings: dict | None = None) -> None:
    """Write a Curve in `CSV_FORMAT` (torques in 1/(nm^2 fs) or, units="si", 1/(m^2 s); E in V/m).

    Args:
        comments: lines written as '# ...' before the header. settings: {name: value} written as
            '# name [unit] = value' (fermi_energy [eV]).
    """
    import numpy as onp

    if units not in ("internal", "si"):
        raise ValueError(f"units = {units!r} is not allowed; allowed: 'internal' or 'si'")
    torque_unit = "1/(nm^2 fs)" if units == "internal" else "1/(m^2 s)"
    cells = {
        "phi_M [deg]": onp.degrees(onp.asarray(curve.phi)),
        "theta_M [deg]": onp.degrees(onp.asarray(curve.theta)),
    }
    if any(name != "rho_ratio" for name in curve.columns):
        cells["E [V/m]"] = onp.asarray(curve.efield) * 1e9
    if curve.kind == "transient":
        cells["t [fs]"] = onp.asarray(curve.time)
    values, sigma = onp.asarray(curve.values), onp.asarray(curve.sigma)
    for j, name in enumerate(curve.columns):
        unit, factor = ("1", 1.0) if name == "rho_ratio" else (torque_unit, 1.0 / _TORQUE[torque_unit])
        cells[f"{name} [{unit}]"] = values[:, j] * factor
        if curve.sigma_known:
            cells[f"sigma_{name} [{unit}]"] = sigma[:, j] * factor
    path = pathlib.Path(path)
    lines = [f"# {line}" for line in comments]
    for name, value in (settings or {}).items():
        lines.append(f"# {name} [eV] = {value:.10g}" if name == "fermi_energy" else f"# {name} = {value}")
    lines.append(",".join(cells))
    table = onp.stack(list(cells.values()), -1)
    lines += [",".join(f"{x:.10g}" for x in row) for row in table]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------
# Command line: `jaxsot fit` and `jaxsot synth` (parsers added by jaxsot._cli).


def add_fit_commands(commands) -> None:
    """Add the `fit` and `synth` subcommands to the `jaxsot` argument parser."""
    from ._fit import DEFAULT_GUESS, MODELS, OPTIMIZERS

    fit = commands.add_parser(
        "fit",
        help="fit alpha, J, mass ratio, tau to measured curves (AMR, torques, transients) with uncertainties",
        description="Fit the model parameters to CSV data by autodiff (optax L-BFGS or Adam, restarts batched "
        "with vmap); print values with standard errors and what the data can identify; write results.json, "
        "fit.csv, trace.csv and fit.png under --out.\n\n" + CSV_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("data", nargs="+", help="CSV data file(s); each file is one curve (format below)")
    fit.add_argument("--model", choices=MODELS, default="exact", help="forward model: exact bands (default) or the strong-exchange closed forms")
    fit.add_argument("--out", default="jaxsot-fit", help="output folder (default: ./jaxsot-fit)")
    fit.add_argument("--fermi-energy", type=float, help="E_F [eV] (default: the files' '# fermi_energy [eV] = ...', else 1.5)")
    fit.add_argument("--free", help="comma-separated fitted parameters (default: alpha,j_ex and tau when the data depend on it)")
    guesses = ", ".join(f"{k}={v:g}" for k, v in DEFAULT_GUESS.items())
    fit.add_argument("--guess", help=f"start / fixed values, e.g. alpha=0.05,j_ex=1 (eV nm, eV, 1, fs; default {guesses})")
    fit.add_argument("--bounds", help="bounds of free parameters, e.g. alpha=0.01:0.2,tau=1:100 (default: guess/3..3 guess, tau guess/10..10 guess)")
    fit.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs", help="optax optimizer (default lbfgs)")
    fit.add_argument("--restarts", type=int, default=4, help="restarts batched with vmap (default 4)")
    fit.add_argument("--max-steps", type=int, help="iterations per restart (default 200 L-BFGS, 2000 Adam)")
    fit.add_argument("--seed", type=int, default=0, help="seed of the random restarts (default 0)")
    fit.add_argument("--num", type=int, default=64, help="rays per Fermi contour (default 64)")
    fit.add_argument("--no-plot", action="store_true", help="do not write fit.png")

    synth = commands.add_parser(
        "synth",
        help="write synthetic data (forward model + Gaussian noise) in the `jaxsot fit` CSV format",
        description="Synthetic data to test a fit set-up: the forward model at the given parameters plus "
        "Gaussian noise (a fraction of each column's peak-to-peak range), written with '# truth' comments.\n\n"
        + CSV_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    synth.add_argument("output", help="CSV file to write")
    synth.add_argument("--kind", choices=("steady", "transient"), default="steady", help="vs angle of M (default) or vs time after a field step")
    synth.add_argument("--columns", help="comma-separated observables (default steady: rho_ratio,T_DL_x,T_DL_y,T_FL_z; transient: T_DL_y,T_FL_z)")
    synth.add_argument("--alpha", type=float, default=DEFAULT_GUESS["alpha"], help="Rashba coupling [eV nm] (default 0.05)")
    synth.add_argument("--j-ex", type=float, default=DEFAULT_GUESS["j_ex"], help="exchange J [eV] (default 1)")
    synth.add_argument("--mass-ratio", type=float, default=DEFAULT_GUESS["mass_ratio"], help="m*/m_e (default 1)")
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


def _pairs(option, text, *, ranges=False):
    from ._fit import PARAMETERS

    out = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in PARAMETERS:
            raise FitDataError(f"{option} {item!r} is not allowed; allowed: name=value with name in {', '.join(PARAMETERS)}")
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
            shape = "low:high with low < high" if ranges else "a finite number"
            raise FitDataError(f"{option} {item!r}: {value!r} is not {shape}") from None
    return out


def run_fit_command(args) -> int:
    """Entry point of `jaxsot fit` and `jaxsot synth` (the CLI has already chosen float64)."""
    if args.command == "synth":
        return _synth(args)
    return _fit(args)


def _synth(args) -> int:
    import numpy as onp

    from ._fit import synthesize

    from ._validation import check_count

    check_count("--points", args.points, minimum=3)
    params = {"alpha": args.alpha, "j_ex": args.j_ex, "mass_ratio": args.mass_ratio, "tau": args.tau}
    default = "rho_ratio,T_DL_x,T_DL_y,T_FL_z" if args.kind == "steady" else "T_DL_y,T_FL_z"
    columns = tuple(c.strip() for c in (args.columns or default).split(",") if c.strip())
    efield = args.efield * 1e-9
    if args.kind == "steady":
        curve = synthesize(params, args.fermi_energy, columns=columns, theta=math.radians(args.theta_deg), efield=efield,
                           num_points=args.points, noise=args.noise, known_noise=not args.unknown_noise, seed=args.seed,
                           model=args.model)
    else:
        if not args.t_end > 0:
            raise FitDataError(f"--t-end = {args.t_end:g} fs is out of range; allowed: > 0")
        times = onp.linspace(0.0, args.t_end, args.points)
        curve = synthesize(params, args.fermi_energy, columns=columns, theta=math.radians(args.theta_deg),
                           phi=math.radians(args.phi_deg), efield=efield, time=times, noise=args.noise,
                           known_noise=not args.unknown_noise, seed=args.seed, model=args.model)
    comments = [
        f"synthetic data from jaxsot synth ({args.kind}, model {args.model}, noise {args.noise:g} of each column's range, seed {args.seed})",
        "truth: " + ", ".join(f"{k} = {v:g}" for k, v in params.items()) + " (eV nm, eV, 1, fs)",
    ]
    write_csv(args.output, curve, units=args.units, comments=comments, settings={"fermi_energy": args.fermi_energy})
    print(f"wrote {args.output}: {curve.num_points} rows, columns {', '.join(curve.columns)}, E_F = {args.fermi_energy:g} eV")
    return 0


def _fit(args) -> int:
    from ._fit import FitWarning, fit

    started = time.perf_counter()
    curves, energies = [], {}
    if len(set(args.data)) != len(args.data):
        raise FitDataError(f"a data file is given twice ({', '.join(args.data)}); allowed: each file once")
    names = [pathlib.Path(n).name for n in args.data]
    for given, name in zip(args.data, names):
        # Labels name the curves in the report: the file name, or the path as given when names clash.
        curve, settings = read_csv(given, label=name if names.count(name) == 1 else given)
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
    free = tuple(n.strip() for n in args.free.split(",") if n.strip()) if args.free else None
    guess = _pairs("--guess", args.guess)
    bounds = _pairs("--bounds", args.bounds, ranges=True)
    import jax

    import jaxsot

    print(f"jaxsot {jaxsot.__version__} fit, float64, jax {jax.__version__} on {jax.default_backend()}")
    for c in curves:
        print(f"  {c.label}: {c.num_points} rows, {c.kind}, columns {', '.join(c.columns)}, "
              f"noise {'given' if c.sigma_known else 'unknown (estimated)'}")
    print(f"  E_F = {fermi_energy:g} eV ({source}), model {args.model}, optimizer {args.optimizer}, {args.restarts} restarts")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        result = fit(
            curves, fermi_energy, free=free, guess=guess, bounds=bounds, model=args.model, optimizer=args.optimizer,
            restarts=args.restarts, max_steps=args.max_steps, seed=args.seed, num=args.num,
        )
    elapsed = time.perf_counter() - started
    print()
    print(result.summary())
    for note in result.notes:
        print(f"note: {note}")
    for w in caught:
        if not issubclass(w.category, FitWarning):
            print(f"warning: {w.message}")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _write_outputs(out, result, curves, args, fermi_energy, elapsed)
    written = ["results.json", "fit.csv", "trace.csv"]
    if not args.no_plot and _plot(out / "fit.png", result, curves):
        written.append("fit.png")
    print(f"\nfit in {elapsed:.1f} s (compile included); wrote {', '.join(str(out / n) for n in written)}")
    return 0


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

    from ._fit import COLUMN_UNITS, PARAMETER_UNITS

    payload = result.to_dict()
    for key in ("predictions", "residuals", "sigmas", "trace", "stage2_trace"):
        payload.pop(key)
    payload.update(
        {
            "files": list(args.data),
            "units": {**PARAMETER_UNITS, **{c: COLUMN_UNITS[c] for c in COLUMN_UNITS}, "eta": "1"},
            "runtime_s": elapsed,
            "fermi_energy_eV": fermi_energy,
        }
    )
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=True))
    tmp.replace(out / "results.json")
    lines = ["curve,row,column,unit,x_label,x,value,sigma,fit,normalized_residual"]
    for curve, prediction, residual, sigma in zip(curves, result.predictions, result.residuals, result.sigmas):
        label, x = _x_axis(curve)
        for j, column in enumerate(curve.columns):
            for i in range(curve.num_points):
                lines.append(
                    f"{curve.label},{i},{column},{COLUMN_UNITS[column]},{label},{x[i]:.10g},{float(curve.values[i, j]):.10g},"
                    f"{sigma[i, j]:.6g},{prediction[i, j]:.10g},{residual[i, j]:.6g}"
                )
    (out / "fit.csv").write_text("\n".join(lines) + "\n")
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
    (out / "trace.csv").write_text("\n".join(rows) + "\n")


def _plot(path, result, curves) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written (pip install 'jaxsot[plots]')")
        return False
    import numpy as onp

    from ._fit import COLUMN_UNITS

    panels = [(c, j, p, sg) for c, p, sg in zip(curves, result.predictions, result.sigmas) for j in range(len(c.columns))]
    count = len(panels) + 1
    cols = min(3, count)
    rows = -(-count // cols)
    figure, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.5 * rows), squeeze=False)
    axes = axes.ravel()
    for ax, (curve, j, prediction, sigmas) in zip(axes, panels):
        label, x = _x_axis(curve)
        order = onp.argsort(x)
        values = onp.asarray(curve.values)[:, j]
        column = curve.columns[j]
        ax.errorbar(x, values, yerr=sigmas[:, j], fmt="o", ms=2.5, lw=0.8, color="C0", alpha=0.6, label="data")
        ax.plot(x[order], prediction[order, j], "-", color="C3", lw=1.6, label="fit")
        ax.set_xlabel(label)
        ax.set_ylabel(f"{column} [{COLUMN_UNITS[column]}]")
        ax.set_title(curve.label, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    ax = axes[len(panels)]
    trace = onp.asarray(result.trace)
    floor = onp.nanmin(trace)
    for i, series in enumerate(trace):
        ax.semilogy(series - floor + 1e-16 * max(abs(floor), 1.0), lw=1.2, label=f"restart {i}" + (" (best)" if i == result.best else ""))
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss - min loss")
    ax.set_title("convergence", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    for extra in axes[count:]:
        extra.axis("off")
    text = ", ".join(
        f"{n} = {result.parameters[n]:.4g} +- {result.standard_errors[n]:.2g}" if result.identifiable[n] else f"{n}: not identifiable"
        for n in result.free
    )
    figure.suptitle(f"jaxsot fit: {text}", fontsize=10)
    figure.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    tmp.replace(path)
    return True

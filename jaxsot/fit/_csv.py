"""Data files for fits: CSV with 'name [unit]' header cells and '# name [unit] = value' settings (read_csv, write_csv).
"""

import contextlib
import csv
import math
import os
import pathlib
import re
import stat
import tempfile
from ._curves import COLUMNS, Curve, MIN_POINTS

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
So are values outside these ranges (in internal units; the message gives the file's unit):
  fermi_energy -100..100 eV; |E| <= 1 V/nm (1e9 V/m); t 0..1e7 fs; |phi_M|, |theta_M| <= 720 deg;
  rho_ratio in (0, 1000]; |torque| <= 1e10 1/(nm^2 fs) (1e43 1/(m^2 s));
  sigma > 0 and >= 1e-12 of the largest |value| of its column (float64 cannot resolve less) and
  >= 1e-30 in internal units;
and files larger than 64 MiB or with more than 100000 data rows (thin the data).
"""

_ANGLE = {"deg": math.pi / 180.0, "rad": 1.0}
_FIELD = {"V/nm": 1.0, "V/m": 1e-9, "kV/cm": 1e-4, "MV/m": 1e-3}
_TIME = {"fs": 1.0, "ps": 1e3, "ns": 1e6, "s": 1e15}
_TORQUE = {"1/(nm^2 fs)": 1.0, "1/(m^2 s)": 1e-33}  # 1/(m^2 s) = 1e-18 /nm^2 x 1e-15 /fs
_RATIO = {"1": 1.0}
_ENERGY = {"eV": 1.0, "meV": 1e-3}

_SETTINGS = {"phi_M": _ANGLE, "theta_M": _ANGLE, "E": _FIELD, "t": _TIME}
_COMMENT_ONLY = {"fermi_energy": _ENERGY}
HEADER_CELL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[([^\]]*)\]\s*$")
_COMMENT_SETTING = re.compile(r"^#\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[([^\]]*)\]\s*=\s*(\S+)\s*$")


class FitDataError(ValueError):
    """A malformed data file or fit option: one line naming the file, line, column and what is allowed."""


MAX_BYTES = 64 << 20
"""Largest data file read (64 MiB)."""
MAX_ROWS = 100_000
"""Most data rows of one file (the fit's memory grows with rows x contour points x restarts)."""
_FOUR_PI = 4.0 * math.pi
# Allowed values in internal units: name -> (low, high, low exclusive).
_BOUNDS = {
    "phi_M": (-_FOUR_PI, _FOUR_PI, False),
    "theta_M": (-_FOUR_PI, _FOUR_PI, False),
    "E": (-1.0, 1.0, False),
    "t": (0.0, 1.0e7, False),
    "fermi_energy": (-100.0, 100.0, False),
    "rho_ratio": (0.0, 1.0e3, True),
}
_TORQUE_BOUND = 1.0e10
_SIGMA_RELATIVE_FLOOR = 1e-12
_SIGMA_FLOOR = 1e-30


def _bounds(name):
    if name in _BOUNDS:
        return _BOUNDS[name]
    if name in COLUMNS:
        return (-_TORQUE_BOUND, _TORQUE_BOUND, False)
    return None


def _check_bounds(path, where, name, text, value, unit, factor):
    """Refuse a value (internal units) outside `_BOUNDS`, quoting it and the range in the file's unit."""
    check_bounds(path, where, name, text, value, unit, factor, _bounds(name))


def _units_of(name):

    if name in _SETTINGS:
        return _SETTINGS[name]
    if name in COLUMNS:
        return _RATIO if name == "rho_ratio" else _TORQUE
    return None


def _normalize_unit(unit: str) -> str:
    return re.sub(r"[\s*·]", "", unit)


def unit_factor(path, where, name, unit, table):
    """The factor to internal units of `unit` from `table` ({unit: factor}; spaces, * and · ignored),
    or FitDataError naming the file, the place, the column and the allowed units."""
    wanted = _normalize_unit(unit)
    for allowed, factor in table.items():
        if _normalize_unit(allowed) == wanted:
            return factor
    shown = ", ".join(f"[{u}]" for u in table if u or len(table) == 1)
    raise FitDataError(f"{path}: {where}: unit [{unit}] of {name!r} is not allowed; allowed: {shown}")


def parse_number(path, where, column, text):
    """float(text), or FitDataError naming the file, the place ('line N'), the column and what is allowed."""
    try:
        value = float(text)
    except ValueError:
        raise FitDataError(f"{path}: {where}, column {column!r}: {text.strip()!r} is not a number; allowed: decimal numbers") from None
    if not math.isfinite(value):
        raise FitDataError(
            f"{path}: {where}, column {column!r}: {text.strip()} is not finite; allowed: finite numbers (fix or remove the row)"
        )
    return value


def _number(path, line, column, text):
    return parse_number(path, f"line {line}", column, text)


def check_bounds(path, where, name, text, value, unit, factor, bounds):
    """Refuse a value (internal units) outside bounds = (low, high, low exclusive) or None, quoting it and the
    range in the file's unit."""
    if bounds is None:
        return
    low, high, exclusive = bounds
    if (value <= low if exclusive else value < low) or value > high:
        left = "(" if exclusive else "["
        raise FitDataError(
            f"{path}: {where}, column {name!r}: {text.strip()} [{unit}] is out of range; allowed: "
            f"{left}{low / factor:.6g}, {high / factor:.6g}] [{unit}]"
        )


SETTING_LINE = re.compile(r"^#\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[([^\]]*)\]\s*=\s*(.*?)\s*$")
"""A '# name [unit] = value' settings line (groups: name, unit, value)."""


def scan_lines(path, text, *, max_rows=None, setting_line=SETTING_LINE):
    """The lines of a data file in order, classified: ("setting", N, (name, unit, value)) for a comment matching
    `setting_line`, ("header", N, cells) for the first other non-blank line, ("row", N, cells) after it; blank
    lines and other comments (free text) are skipped. More than max_rows rows: FitDataError naming the file."""
    header_seen, rows = False, 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = setting_line.match(stripped)
            if match:
                yield "setting", line_number, match.groups()
            continue
        cells = next(csv.reader([line]), [])
        if not header_seen:
            header_seen = True
            yield "header", line_number, cells
            continue
        if max_rows is not None and rows >= max_rows:
            raise FitDataError(f"{path}: more than {max_rows} data rows; allowed: at most {max_rows} (thin the data)")
        rows += 1
        yield "row", line_number, cells


def read_data_text(path) -> str:
    """The text of a data file, or FitDataError with one line naming it: a usable path to an existing
    regular file of at most MAX_BYTES, no NUL bytes, UTF-8 (a byte-order mark is accepted)."""
    if not str(path) or "\x00" in str(path):
        raise FitDataError(f"data file {str(path)!r} is not a usable path; allowed: a CSV file")
    path = pathlib.Path(path)
    try:
        if not path.exists():
            raise FitDataError(f"data file {str(path)!r} does not exist")
        if not path.is_file():
            raise FitDataError(f"data file {str(path)!r} is not a regular file; allowed: a CSV file")
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO swapped in: never waited on
        with os.fdopen(handle, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise FitDataError(f"data file {str(path)!r} is not a regular file; allowed: a CSV file")
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise FitDataError(f"{path}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_BYTES:
        raise FitDataError(f"{path}: larger than {MAX_BYTES >> 20} MiB; allowed: smaller files (thin the data)")
    if b"\x00" in data:
        raise FitDataError(f"{path}: holds NUL bytes (a binary file?); allowed: a UTF-8 CSV text file")
    try:
        return data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not part of the header
    except UnicodeDecodeError as error:
        raise FitDataError(
            f"{path}: not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start}); allowed: a UTF-8 CSV file"
        ) from None


def read_csv(path, *, label: str | None = None, max_rows: int = MAX_ROWS):
    """Read one data file (`CSV_FORMAT`) into a `jaxsot.fit.Curve`, converted to internal units.

    Args:
        path: the data file (str or path-like).
        label: name of the curve in reports and plots (default: the file name).
        max_rows: most data rows accepted (refused beyond, before they are converted).

    Returns: (curve, settings): settings holds values from `# name [unit] = value` comments that
        are not columns (fermi_energy [eV] when given).

    Raises:
        FitDataError: (a ValueError) with one line naming the file, line and column.
    """
    import numpy as onp

    text = read_data_text(path)
    path = pathlib.Path(path)
    constants, settings = {}, {}
    header, header_line, rows = None, 0, []
    for kind, number, content in scan_lines(path, text, max_rows=max_rows, setting_line=_COMMENT_SETTING):
        if kind == "setting":
            name, unit, value = content
            table = _COMMENT_ONLY.get(name) or _SETTINGS.get(name)
            if table is None:
                continue  # a free-form note such as "# T [K] = 300"
            factor = unit_factor(path, f"line {number}", name, unit, table)
            target = settings if name in _COMMENT_ONLY else constants
            target[name] = _number(path, number, name, value) * factor
            _check_bounds(path, f"line {number}", name, value, target[name], unit, factor)
        elif kind == "header":
            header, header_line = content, number
        else:
            rows.append((number, content))
    if header is None:
        raise FitDataError(f"{path}: no header row; allowed: one row of 'name [unit]' cells (see `jaxsot fit --help`)")

    columns = []  # (name, factor)
    for cell in header:
        match = HEADER_CELL.match(cell)
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
        resolved.append((name, unit_factor(path, f"line {header_line}", name, unit, table)))
    names = [name for name, _ in resolved]
    for name in names:
        if name.startswith("sigma_") and name[len("sigma_"):] not in observables:
            raise FitDataError(f"{path}: line {header_line}: column {name!r} has no observable {name[6:]!r}; allowed: sigma columns of observables in the file")

    units = [unit for _, unit, _ in columns]
    table = []
    for number, cells in rows:
        if len(cells) != len(resolved):
            raise FitDataError(f"{path}: line {number}: {len(cells)} cells; allowed: {len(resolved)}, one per header column")
        values = [_number(path, number, header[i].strip(), cell) * resolved[i][1] for i, cell in enumerate(cells)]
        for i, value in enumerate(values):
            _check_bounds(path, f"line {number}", resolved[i][0], cells[i], value, units[i], resolved[i][1])
        table.append(values)
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
        values = onp.stack([column[name] for name in observables], -1)
        floor = onp.maximum(_SIGMA_RELATIVE_FLOOR * onp.max(onp.abs(values), axis=0), _SIGMA_FLOOR)
        small = sigma < floor[None, :]
        if onp.any(small):
            r, c = (int(i[0]) for i in onp.nonzero(small))
            raise FitDataError(
                f"{path}: line {rows[r][0]}, column 'sigma_{observables[c]}': {sigma[r, c]:.3g} (internal units) is below "
                f"{floor[c]:.3g}; allowed: sigma >= 1e-12 of the column's largest |value| (float64 resolution) and >= 1e-30"
            )
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
        path: the file to write (str or path-like).
        curve: the Curve (internal units).
        units: "internal" or "si".
        comments: lines written as '# ...' before the header.
        settings: {name: value} written as '# name [unit] = value' (fermi_energy [eV]).
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
    lines = [f"# {' '.join(str(line).split())}" for line in comments]  # one comment line each
    for name, value in (settings or {}).items():
        lines.append(f"# {name} [eV] = {value:.10g}" if name == "fermi_energy" else f"# {name} = {value}")
    lines.append(",".join(cells))
    table = onp.stack(list(cells.values()), -1)
    lines += [",".join(f"{x:.10g}" for x in row) for row in table]
    write_atomically(path, "\n".join(lines) + "\n")


def write_atomically(path: pathlib.Path, text: str) -> None:
    """Write text via an exclusively created temporary with an unpredictable name in the same
    folder (a planted link cannot redirect it), renamed over `path`; removed if anything fails.

    Only a regular file (or a symbolic link, which is replaced, never followed) is ever replaced: a
    folder, FIFO, device or socket at `path` raises ValueError naming it. Permissions follow the
    umask. A failed write (disk full, file-size limit) raises OSError naming `path`."""
    path = pathlib.Path(path)
    if os.path.lexists(path):
        mode = os.lstat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
            raise ValueError(f"{str(path)!r} is {kind}; allowed: a regular file path")
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        mask = os.umask(0o022)
        os.umask(mask)
        os.fchmod(handle, 0o666 & ~mask)  # like any Unix tool, not mkstemp's 0600
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.errno:
            raise OSError(error.errno, error.strerror, str(path)) from None
        raise

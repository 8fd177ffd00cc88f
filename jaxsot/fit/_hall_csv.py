"""Data files for harmonic Hall fits: R_1w/R_2w sweeps and tables of SOT fields (read_hall_csv; the writer,
write_hall_csv, is in `_hall_csv_write` and re-exported here).

Same conventions as `jaxsot.fit.read_csv`: 'name [unit]' header cells, '# name [unit] = value' settings,
one-line FitDataError messages naming the file, line and column. Converted to internal units (rad, T, ohm,
A/m^2, ohm m, nm, eV) into `HallData` / `FieldData` (`jaxsot.fit`'s harmonic Hall fit).
"""

import math
import pathlib
import re

import numpy as onp

from ._csv import HEADER_CELL, FitDataError, check_bounds, parse_number, read_data_text, scan_lines, unit_factor
from ._hall_csv_write import LOCKIN_OUTPUTS
from ._hall_csv_write import write_hall_csv as write_hall_csv
from ._hall_data import FIELD_COLUMNS, MIN_ROWS, FieldData, HallData

HALL_CSV_FORMAT = """\
Harmonic Hall data (jaxsot fit: files whose header has R_1w/R_2w or B_DL/B_FL/xi_DL/xi_FL columns;
jaxsot.fit.read_hall_csv)

A. Field sweeps (one file = one sweep of one sample; several files are fitted together):
  phi_H [deg|rad]     in-plane angle of the applied field from the current direction x (required)
  B [T|mT]            field magnitude (required)
  theta_H [deg|rad]   polar angle of the field from the film normal z (default 90 deg: in plane)
  R_1w [ohm|mohm]     first harmonic Hall resistance (in phase with the current)      (required)
  R_2w [ohm|mohm]     second harmonic: amplitude of -cos(2wt) (lock-in reference sin wt) (required)
  sigma_R_1w, sigma_R_2w [unit of R]   standard deviations (both or neither; without them the fit
                      estimates the noise per column from the residuals)
  branch [1]          +1 / -1: which magnetization state (M along +u or -u) a row starts from (default +1)
  j0 [A/m^2], current_peak [A] or current_rms [A]  the current amplitude of each row (instead of the setting):
                      the rows at each amplitude become one sweep, and the sweeps are fitted jointly
  or, instead of R_1w and R_2w, the lock-in outputs with the reference in phase with the current sin wt:
  X_1w, Y_2w [V|mV|uV|nV]  in-phase first harmonic and quadrature second harmonic (with sigma_X_1w,
                      sigma_Y_2w); R_1w = a X_1w/I0, R_2w = -a Y_2w/I0, I0 the peak current, a = sqrt 2
                      for rms outputs (setting lockin_output, default rms), 1 for peak outputs.
                      Y_1w, X_2w, X_3w, Y_3w [V] may be present (read, not fitted).
B. Tables of effective fields or efficiencies (at given M and current density):
  theta_M [deg|rad]   polar angle of M from z (required; column or setting), phi_M [deg|rad] (default 0)
  B_DL, B_FL [T|mT|uT]  scalar damping-like / field-like fields at the row's current density
                      (projections on M x y and P_perp y; B_FL > 0 along +y), and/or
  xi_DL, xi_FL [1]    SOT efficiencies (2e/hbar) M_s t_F B/j
  j [A/m^2|A/cm^2|MA/cm^2]  current density of the row (or the setting j0); needed for B columns
  sigma_<column> [unit]     standard deviations (all or none)
Settings, as '# name [unit] = value' lines before the header (a column of the same name is not allowed):
  fermi_energy [eV|meV]     E_F (required; `--fermi-energy` overrides)
  j0 [A/m^2|A/cm^2|MA/cm^2] current density amplitude (peak: j(t) = j0 sin wt), or (required for A)
  current_peak [A|mA|uA]    the peak current I0, or
  current_rms [A|mA|uA]     the rms current I0/sqrt 2 (one of j0, current_peak, current_rms; the two
                            currents need width: j0 = I0/(width x current_thickness); lock-in columns need one)
  width [nm|um|mm]          Hall bar width (with current_peak / current_rms)
  current_thickness [nm]    thickness that carries the current (default: thickness)
  lockin_output [1] = rms   the lock-in's amplitude convention: rms (default) or peak
  hm_thickness [nm], hm_resistivity [ohm m|uohm cm]  a heavy-metal layer under the magnet (both or neither):
                            the report adds the bilayer efficiencies xi (heavy-metal current density
                            j_HM = rho0 j0/hm_resistivity); with current_peak/rms the layers share the current
  rho0 [ohm m|uohm cm]      resistivity of the film (E = rho0 j)              (required)
  ms [T]                    mu0 M_s                                           (required)
  thickness [nm]            magnetic film thickness t_F                       (required)
  easy_axis [1] = z         uniaxial anisotropy axis: x, y, z, -x, ... or three numbers 'ux uy uz' (default z)
  demag [1] = 0 0 1         demagnetizing factors N_x N_y N_z (default thin film 0 0 1)
  bias_field [T|mT] = 0 0 0 constant field added to the swept one (default 0)
  branch [1] = 1            as the column
  phi_H, theta_H, B, theta_M, phi_M: a value for every row
Other comment lines are free text; a '# name [unit] = value' line with an unknown name is refused.

Example (perpendicular magnet, in-plane field sweeps):
  # fermi_energy [eV] = 1.5
  # j0 [A/m^2] = 1e11
  # rho0 [ohm m] = 2e-7
  # ms [T] = 1
  # thickness [nm] = 1
  # easy_axis [1] = z
  phi_H [deg],B [T],R_1w [ohm],R_2w [ohm],sigma_R_1w [ohm],sigma_R_2w [ohm]
  0,0.1,0.9795,-0.00012,0.002,2e-5
  ...

Refused with one line naming the file, line and column: missing or unknown columns or settings, units
not listed above, non-numeric or non-finite cells, rows with a wrong number of cells, fewer than 3 rows,
sigma <= 0 (or below 1e-12 of its column's largest |value|), branch other than +-1, M = +-y in a field
table, and values outside: |angles| <= 720 deg, |B| <= 100 T, |R| <= 1e9 ohm, j in (0, 1e14] A/m^2,
rho0 in (0, 1] ohm m, ms in [0.001, 10] T, thickness in [0.01, 1e4] nm, |fermi_energy| <= 100 eV,
|B_DL|, |B_FL| <= 100 T, |xi| <= 1e6; an observable column that is zero in every row when there are no
sigma columns (its noise cannot be estimated); files over 64 MiB or 100000 rows. easy_axis is normalized
(any finite non-zero scale).
"""
"""The harmonic Hall file format (printed by `jaxsot fit --help`)."""

MAX_ROWS = 100_000
"""Most data rows of one file."""

_ANGLE = {"deg": math.pi / 180.0, "rad": 1.0}
_TESLA = {"T": 1.0, "mT": 1e-3}
_SOT_FIELD = {"T": 1.0, "mT": 1e-3, "uT": 1e-6}
_OHM = {"ohm": 1.0, "Ohm": 1.0, "Ω": 1.0, "mohm": 1e-3, "mOhm": 1e-3, "mΩ": 1e-3}
_CURRENT = {"A/m^2": 1.0, "A/cm^2": 1e4, "MA/cm^2": 1e10}
_RESISTIVITY = {"ohm m": 1.0, "Ohm m": 1.0, "uohm cm": 1e-8, "µohm cm": 1e-8, "μohm cm": 1e-8}
_ENERGY = {"eV": 1.0, "meV": 1e-3}
_LENGTH = {"nm": 1.0}
_WIDTH = {"nm": 1.0, "um": 1e3, "µm": 1e3, "μm": 1e3, "mm": 1e6}
_AMPERE = {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6, "μA": 1e-6}
_VOLT = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6, "μV": 1e-6, "nV": 1e-9}
_ONE = {"1": 1.0, "": 1.0}

# name -> (unit table, (low, high, low exclusive) in internal units or None)
_HALL_COLUMNS = {
    "phi_H": (_ANGLE, (-4 * math.pi, 4 * math.pi, False)),
    "theta_H": (_ANGLE, (-4 * math.pi, 4 * math.pi, False)),
    "B": (_TESLA, (-100.0, 100.0, False)),
    "R_1w": (_OHM, (-1e9, 1e9, False)),
    "R_2w": (_OHM, (-1e9, 1e9, False)),
    "branch": (_ONE, None),
    # Per-row current amplitudes: the rows at each amplitude become one sweep (fitted jointly).
    "j0": (_CURRENT, (0.0, 1e14, True)),
    "current_peak": (_AMPERE, (0.0, 10.0, True)),
    "current_rms": (_AMPERE, (0.0, 10.0, True)),
}
# Lock-in outputs (volts): X_1w and Y_2w are fitted (R_1w = a X_1w/I0, R_2w = -a Y_2w/I0, a = sqrt 2 for rms
# outputs); the other quadratures and the third harmonic are read and checked, not fitted.
_LOCKIN_COLUMNS = {name: (_VOLT, (-1e3, 1e3, False)) for name in ("X_1w", "Y_1w", "X_2w", "Y_2w", "X_3w", "Y_3w")}
_LOCKIN_OBSERVABLES = ("X_1w", "Y_2w")
_FIELD_TABLE_COLUMNS = {
    "theta_M": (_ANGLE, (-4 * math.pi, 4 * math.pi, False)),
    "phi_M": (_ANGLE, (-4 * math.pi, 4 * math.pi, False)),
    "j": (_CURRENT, (0.0, 1e14, True)),
    "B_DL": (_SOT_FIELD, (-100.0, 100.0, False)),
    "B_FL": (_SOT_FIELD, (-100.0, 100.0, False)),
    "xi_DL": (_ONE, (-1e6, 1e6, False)),
    "xi_FL": (_ONE, (-1e6, 1e6, False)),
}
_SCALAR_SETTINGS = {
    "fermi_energy": (_ENERGY, (-100.0, 100.0, False)),
    "j0": (_CURRENT, (0.0, 1e14, True)),
    "rho0": (_RESISTIVITY, (0.0, 1.0, True)),
    # Lower bounds: the fields scale as 1/(M_s t_F); far below these the forward model overflows.
    "ms": (_TESLA, (1e-3, 10.0, False)),
    "thickness": (_LENGTH, (1e-2, 1e4, False)),
    "current_peak": (_AMPERE, (0.0, 10.0, True)),
    "current_rms": (_AMPERE, (0.0, 10.0, True)),
    "width": (_WIDTH, (0.0, 1e8, True)),
    "current_thickness": (_LENGTH, (0.0, 1e4, True)),
    "hm_thickness": (_LENGTH, (0.0, 1e4, True)),
    "hm_resistivity": (_RESISTIVITY, (0.0, 1.0, True)),
}
_VECTOR_SETTINGS = {"easy_axis": _ONE, "demag": _ONE, "bias_field": _TESLA}
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}
_OBSERVABLES = {"hall": ("R_1w", "R_2w"), "fields": FIELD_COLUMNS}


def _header_names(text) -> list:
    for line_kind, _, cells in scan_lines(None, text):
        if line_kind == "header":
            return [match.group(1) if match else cell.strip() for cell in cells for match in [HEADER_CELL.match(cell)]]
    return []


def hall_csv_kind(path):
    """'hall' (R_1w/R_2w columns), 'fields' (B_DL/B_FL/xi_DL/xi_FL columns) or None, from a file's header.

    For dispatching `jaxsot fit`; an unreadable file gives None (the reader then reports why).

    Args:
        path: the data file (str or path-like).

    Returns:
        'hall', 'fields' or None.
    """
    try:
        names = _header_names(read_data_text(path))
    except FitDataError:
        return None
    if any(n in _OBSERVABLES["hall"] or n in _LOCKIN_OBSERVABLES for n in names):
        return "hall"
    if any(n in FIELD_COLUMNS for n in names):
        return "fields"
    return None


def _vector_setting(path, where, name, text, factor):
    word = text.strip().lower()
    if name == "easy_axis" and word.lstrip("+-") in _AXES:
        sign = -1.0 if word.startswith("-") else 1.0
        return tuple(sign * v for v in _AXES[word.lstrip("+-")])
    parts = [p for p in re.split(r"[\s,;()]+", text.strip()) if p]
    if len(parts) != 3:
        allowed = "x, y, z, -x, -y, -z or three numbers" if name == "easy_axis" else "three numbers, e.g. '0 0 1'"
        raise FitDataError(f"{path}: {where}, setting {name!r}: {text.strip()!r}; allowed: {allowed}")
    values = tuple(parse_number(path, where, name, p) * factor for p in parts)
    if name == "easy_axis" and not any(values):
        raise FitDataError(f"{path}: {where}, setting 'easy_axis': (0, 0, 0); allowed: a non-zero vector")
    if name == "easy_axis":
        # Normalized here, scaled by the largest |component| first: (0, 0, 1e300) is z, not (0, 0, inf)/inf.
        largest = max(abs(v) for v in values)
        scaled = [v / largest for v in values]
        length = math.hypot(*scaled)
        values = tuple(v / length for v in scaled)
    if name == "demag" and not all(0.0 <= v <= 1.0 for v in values):
        raise FitDataError(f"{path}: {where}, setting 'demag': {text.strip()}; allowed: each factor in [0, 1]")
    if name == "bias_field" and not all(abs(v) <= 100.0 for v in values):
        raise FitDataError(f"{path}: {where}, setting 'bias_field': {text.strip()}; allowed: |components| <= 100 T")
    return values


def read_hall_csv(path, *, fermi_energy=None, label: str | None = None, max_rows: int = MAX_ROWS):
    """Read a harmonic Hall sweep or a table of SOT fields (`HALL_CSV_FORMAT`) into HallData / FieldData.

    Args:
        path: the data file (str or path-like).
        fermi_energy: E_F [eV] overriding the file's setting (required when the file has none).
        label: name in reports (default: the file name).
        max_rows: most data rows accepted.

    Returns:
        A HallData (field sweep) or FieldData (field table); a list of HallData, one per amplitude, for a
        sweep whose current column (j0, current_peak or current_rms) holds several amplitudes.

    Raises:
        FitDataError: (a ValueError) with one line naming the file, line and column.
    """
    text = read_data_text(path)
    path = pathlib.Path(path)
    names = _header_names(text)
    lockin = any(n in _LOCKIN_OBSERVABLES for n in names)
    kind = "hall" if lockin or any(n in _OBSERVABLES["hall"] for n in names) else "fields" if any(n in FIELD_COLUMNS for n in names) else None
    if not names:
        raise FitDataError(f"{path}: no header row; allowed: one row of 'name [unit]' cells (see `jaxsot fit --help`)")
    if lockin and any(n in _OBSERVABLES["hall"] for n in names):
        raise FitDataError(f"{path}: both R_1w/R_2w and lock-in X_1w/Y_2w columns; allowed: one form (resistances or lock-in voltages)")
    if kind is None:
        raise FitDataError(f"{path}: no observable column; allowed: R_1w and R_2w [ohm] or X_1w and Y_2w [V] (field sweeps), or one or more of "
                           f"{', '.join(FIELD_COLUMNS)} (field tables)")
    table_of = ({**_HALL_COLUMNS, **_LOCKIN_COLUMNS} if lockin else _HALL_COLUMNS) if kind == "hall" else _FIELD_TABLE_COLUMNS
    observables = _LOCKIN_OBSERVABLES if lockin else _OBSERVABLES[kind]
    row_settings = {n: spec for n, spec in table_of.items() if n not in observables and n not in _LOCKIN_COLUMNS}
    lockin_output = None
    settings, vectors, rows, header, header_line = {}, {}, [], None, 0
    for line_kind, number, content in scan_lines(path, text, max_rows=max_rows):
        where = f"line {number}"
        if line_kind == "header":
            header, header_line = content, number
            continue
        if line_kind == "row":
            rows.append((number, content))
            continue
        name, unit, value = content
        if header is not None:
            raise FitDataError(f"{path}: {where}: setting {name!r} after the header; allowed: settings before the header row")
        if name in settings or name in vectors:
            raise FitDataError(f"{path}: {where}: setting {name!r} given twice; allowed: once")
        if name == "lockin_output" and kind == "hall":
            if value.strip().lower() not in LOCKIN_OUTPUTS:
                raise FitDataError(f"{path}: {where}, setting 'lockin_output': {value.strip()!r}; allowed: rms or peak")
            lockin_output = value.strip().lower()
            continue
        if name in _VECTOR_SETTINGS and kind == "hall":
            vectors[name] = _vector_setting(path, where, name, value, unit_factor(path, where, name, unit, _VECTOR_SETTINGS[name]))
        elif name in _SCALAR_SETTINGS or name in row_settings:
            table, bounds = _SCALAR_SETTINGS.get(name) or row_settings[name]
            factor = unit_factor(path, where, name, unit, table)
            settings[name] = parse_number(path, where, name, value) * factor
            check_bounds(path, where, name, value, settings[name], unit, factor, bounds)
        else:
            # dict.fromkeys: the current settings are row columns too; each name once.
            allowed = list(dict.fromkeys(list(_SCALAR_SETTINGS) + (list(_VECTOR_SETTINGS) + ["lockin_output"] if kind == "hall" else [])
                                         + list(row_settings)))
            raise FitDataError(f"{path}: {where}: setting {name!r} is not allowed in a {'field sweep' if kind == 'hall' else 'field table'}; "
                               f"allowed: {', '.join(allowed)}")

    columns = []  # (name, unit, factor, bounds)
    for cell in header:
        match = HEADER_CELL.match(cell)
        if not match:
            raise FitDataError(f"{path}: line {header_line}: header cell {cell.strip()!r} is not 'name [unit]'; allowed: e.g. "
                               "'phi_H [deg]', 'R_2w [ohm]'")
        name, unit = match.groups()
        target = name[len("sigma_"):] if name.startswith("sigma_") else None
        if name in table_of:
            table, bounds = table_of[name]
        elif target in observables:
            table, bounds = table_of[target][0], None
        else:
            allowed = list(table_of) + [f"sigma_{o}" for o in observables]
            raise FitDataError(f"{path}: line {header_line}: column {name!r} is not allowed in a "
                               f"{'field sweep' if kind == 'hall' else 'field table'}; allowed: {', '.join(allowed)}")
        if any(name == c[0] for c in columns):
            raise FitDataError(f"{path}: line {header_line}: column {name!r} appears twice; allowed: each column once")
        if name in settings:
            raise FitDataError(f"{path}: {name!r} is both a column and a '# {name} [...] = value' setting; allowed: one of them")
        columns.append((name, unit, unit_factor(path, f"line {header_line}", name, unit, table), bounds))
    names = [c[0] for c in columns]
    present = [o for o in observables if o in names]
    if kind == "hall" and len(present) < 2:
        missing = [o for o in observables if o not in names][0]
        both = "X_1w and Y_2w [V] columns (lock-in outputs)" if lockin else "R_1w and R_2w columns"
        raise FitDataError(f"{path}: column '{missing} [{'V' if lockin else 'ohm'}]' is missing; allowed: both {both}")
    sigmas = [f"sigma_{o}" for o in present]
    given = [s for s in sigmas if s in names]
    if given and len(given) != len(sigmas):
        lacking = [s for s in sigmas if s not in names]
        raise FitDataError(f"{path}: column {lacking[0]!r} is missing; allowed: sigma columns for all observables or none")
    for name in names:
        if name.startswith("sigma_") and name[6:] not in present:
            raise FitDataError(f"{path}: line {header_line}: column {name!r} has no observable {name[6:]!r}")

    data = []
    for number, cells in rows:
        if len(cells) != len(columns):
            raise FitDataError(f"{path}: line {number}: {len(cells)} cells; allowed: {len(columns)}, one per header column")
        row = []
        for (name, unit, factor, bounds), cell in zip(columns, cells):
            value = parse_number(path, f"line {number}", name, cell) * factor
            check_bounds(path, f"line {number}", name, cell, value, unit, factor, bounds)
            if name == "branch" and value not in (1.0, -1.0):
                raise FitDataError(f"{path}: line {number}, column 'branch': {cell.strip()}; allowed: 1 or -1")
            row.append(value)
        data.append(row)
    if len(data) < MIN_ROWS:
        raise FitDataError(f"{path}: {len(data)} data rows; allowed: at least {MIN_ROWS} (too few points to fit)")
    table = onp.asarray(data, float)
    column = {name: table[:, i] for i, name in enumerate(names)}
    line_of = [number for number, _ in rows]
    if given:
        sigma = onp.stack([column[s] for s in sigmas], -1)
        values = onp.stack([column[o] for o in present], -1)
        floor = onp.maximum(1e-12 * onp.max(onp.abs(values), axis=0), 1e-300)
        bad = onp.argwhere(sigma < floor[None, :])
        if bad.size:
            r, c = bad[0]
            raise FitDataError(f"{path}: line {line_of[r]}, column {sigmas[c]!r}: {sigma[r, c]:.3g} (internal units) is "
                               f"{'<= 0' if sigma[r, c] <= 0.0 else 'below 1e-12 of the largest |value| of its column'}; "
                               "allowed: positive uncertainties")

    if not given:
        for name in present:
            if not onp.any(column[name] != 0.0):
                raise FitDataError(
                    f"{path}: column {name!r} is zero in every row; without sigma columns the fit estimates each "
                    f"column's noise from its values, which a zero column does not have; allowed: a column with "
                    f"non-zero values, or sigma columns for all observables"
                )

    def value_of(name, default=None, required=None):
        if name in column:
            return column[name]
        if name in settings:
            return settings[name]
        if required:
            raise FitDataError(f"{path}: {required} is missing; allowed: {name} as a column or a '# {name} [...] = value' setting")
        return default

    if fermi_energy is not None:
        settings["fermi_energy"] = float(fermi_energy)
    for name, unit in (("fermi_energy", "eV"), ("rho0", "ohm m"), ("ms", "T"), ("thickness", "nm")):
        if name not in settings:
            raise FitDataError(f"{path}: setting '{name}' is missing; allowed: a line '# {name} [{unit}] = value' before the header"
                               + (" (or --fermi-energy)" if name == "fermi_energy" else ""))
    common = dict(fermi_energy=settings["fermi_energy"], rho0=settings["rho0"], ms_tesla=settings["ms"],
                  thickness=settings["thickness"], label=label or path.name)
    if ("hm_thickness" in settings) != ("hm_resistivity" in settings):
        missing = "hm_resistivity" if "hm_thickness" in settings else "hm_thickness"
        raise FitDataError(f"{path}: setting {missing!r} is missing; allowed: hm_thickness and hm_resistivity together (a heavy-metal layer)")
    try:
        if kind == "hall":
            current_density, r_1w, r_2w, sigma_1w, sigma_2w = _hall_signals(path, settings, column, lockin, lockin_output)
            rows_of = {"phi_h": value_of("phi_H", required="the field angle phi_H"),
                       "field": value_of("B", required="the field magnitude B"), "theta_h": value_of("theta_H", math.pi / 2),
                       "r_1w": r_1w, "r_2w": r_2w, "sigma_1w": sigma_1w, "sigma_2w": sigma_2w, "branch": value_of("branch", 1.0)}
            fixed = dict(hm_thickness=settings.get("hm_thickness"), hm_resistivity=settings.get("hm_resistivity"),
                         easy_axis=vectors.get("easy_axis", (0.0, 0.0, 1.0)), demag=vectors.get("demag", (0.0, 0.0, 1.0)),
                         bias_field=vectors.get("bias_field", (0.0, 0.0, 0.0)), **common)
            if onp.ndim(current_density) == 0:
                return HallData(current_density=current_density, **rows_of, **fixed)
            return _sweeps_by_current(path, current_density, rows_of, fixed, line_of)
        if any(c.startswith("B_") for c in present) and "j" not in column and "j0" not in settings:
            raise FitDataError(f"{path}: the current density is missing for {', '.join(c for c in present if c.startswith('B_'))}; "
                               "allowed: a column 'j [A/m^2]' or a line '# j0 [A/m^2] = value'")
        theta, phi = value_of("theta_M", required="the direction of M (theta_M)"), value_of("phi_M", 0.0)
        my = onp.broadcast_to(onp.sin(theta) * onp.sin(phi), (len(data),))
        if onp.any(onp.abs(my) > 1.0 - 1e-9):
            r = int(onp.flatnonzero(onp.abs(my) > 1.0 - 1e-9)[0])
            raise FitDataError(f"{path}: line {line_of[r]}: M = +-y (theta_M = 90 deg, phi_M = +-90 deg); allowed: M away from +-y "
                               "(the scalar fields are projections on M x y and P_perp y, which vanish there)")
        return FieldData(
            columns=tuple(present), values=onp.stack([column[c] for c in present], -1), theta_m=theta, phi_m=phi,
            current_density=value_of("j", settings.get("j0", 1e11)),
            sigma=onp.stack([column[s] for s in sigmas], -1) if given else None, **common,
        )
    except FitDataError:
        raise
    except ValueError as error:
        raise FitDataError(f"{path}: {error}") from None


def _sweeps_by_current(path, current_density, rows_of, fixed, line_of):
    """One HallData per distinct per-row current amplitude (in order of first appearance), or one HallData when
    every row has the same; labels 'name (j0 = ... A/m^2)'."""
    amplitudes = list(dict.fromkeys(current_density.tolist()))
    if len(amplitudes) == 1:
        return HallData(current_density=amplitudes[0], **rows_of, **fixed)
    sweeps = []
    for amplitude in amplitudes:
        mask = current_density == amplitude
        if int(onp.sum(mask)) < MIN_ROWS:
            first = line_of[int(onp.flatnonzero(mask)[0])]
            raise FitDataError(f"{path}: line {first}: {int(onp.sum(mask))} rows at current density {amplitude:.6g} A/m^2; "
                               f"allowed: at least {MIN_ROWS} rows per current amplitude")
        rows = {k: (v[mask] if onp.ndim(v) == 1 else v) for k, v in rows_of.items()}
        sweeps.append(HallData(current_density=amplitude, **rows,
                               **{**fixed, "label": f"{fixed['label']} (j0 = {amplitude:.4g} A/m^2)"}))
    return sweeps


def _hall_signals(path, settings, column, lockin, lockin_output):
    """(j0 [A/m^2], R_1w, R_2w, sigma_1w, sigma_2w) [ohm] from the resistance or lock-in columns and the current settings.

    Current: '# j0' (current density amplitude), or '# current_peak' / '# current_rms' [A] with the bar's
    '# width' and the conducting thickness ('# current_thickness', default the magnet's 'thickness'):
    j0 = I0/(width x thickness), I0 = current_peak = sqrt(2) current_rms (with a heavy-metal layer, thickness
    + hm_thickness rho0/hm_resistivity: the layers in parallel). Lock-in columns (reference in
    phase with the current sin wt): R_1w = a X_1w/I0, R_2w = -a Y_2w/I0 (a = sqrt 2 for rms outputs, the
    default '# lockin_output [1] = rms'; 1 for peak).
    """
    # A current column (one amplitude per row) or setting; arrays flow through unchanged (elementwise).
    settings = {**settings, **{n: column[n] for n in ("j0", "current_peak", "current_rms") if n in column}}
    given = [n for n in ("j0", "current_peak", "current_rms") if n in settings]
    if len(given) > 1:
        raise FitDataError(f"{path}: settings {', '.join(given)} all give the current; allowed: one of j0, current_peak, current_rms")
    if not given:
        raise FitDataError(f"{path}: the current is missing; allowed: a line '# j0 [A/m^2] = value' (current density amplitude), "
                           "or '# current_peak [A] = value' / '# current_rms [A] = value' with '# width [um] = value'")
    for name in ("width", "current_thickness"):
        if name in settings and given[0] == "j0":
            raise FitDataError(f"{path}: setting {name!r} with j0; allowed: width and current_thickness only with current_peak or current_rms")
    current = None
    if given[0] == "j0":
        current_density = settings["j0"]
    else:
        current = settings["current_peak"] if given[0] == "current_peak" else math.sqrt(2.0) * settings["current_rms"]
        if "width" not in settings:
            raise FitDataError(f"{path}: setting 'width' is missing; allowed: '# width [um] = value' (the Hall bar's width, "
                               f"to turn {given[0]} into a current density)")
        # A heavy-metal layer conducts in parallel at the same E: it carries t_HM/rho_HM of the sheet conductance.
        thickness = settings.get("current_thickness", settings["thickness"])
        if "hm_thickness" in settings and "hm_resistivity" in settings:
            thickness = thickness + settings["hm_thickness"] * settings["rho0"] / settings["hm_resistivity"]
        area = settings["width"] * thickness * 1e-18  # m^2
        current_density = current / area
        outside = ~((onp.asarray(current_density) > 0.0) & (onp.asarray(current_density) <= 1e14))
        if onp.any(outside):
            shown = onp.ravel(current_density)[int(onp.flatnonzero(onp.ravel(outside))[0])]
            raise FitDataError(f"{path}: the current density {shown:.4g} A/m^2 ({given[0]} over width x thickness) is out "
                               "of range; allowed: (0, 1e14] A/m^2")
    if not lockin:
        if lockin_output is not None:
            raise FitDataError(f"{path}: setting 'lockin_output' without X_1w/Y_2w columns; allowed: only with lock-in columns")
        return current_density, column["R_1w"], column["R_2w"], column.get("sigma_R_1w"), column.get("sigma_R_2w")
    if current is None:
        raise FitDataError(f"{path}: lock-in columns X_1w/Y_2w with j0; allowed: '# current_peak [A]' or '# current_rms [A]' "
                           "(the voltages are divided by the current) with '# width [um]'")
    a = math.sqrt(2.0) if (lockin_output or "rms") == "rms" else 1.0
    sigma = [column.get(f"sigma_{n}") for n in _LOCKIN_OBSERVABLES]
    return (current_density, a * column["X_1w"] / current, -a * column["Y_2w"] / current,
            None if sigma[0] is None else a * sigma[0] / current, None if sigma[1] is None else a * sigma[1] / current)

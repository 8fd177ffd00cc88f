"""ST-FMR spectrum files (read_st_fmr_csv): the format `jaxsot synth --kind st-fmr` writes, for `jaxsot fit`
and `jaxsot.fit.fit_st_fmr`. Same conventions as the other data files: '# name [unit] = value' settings,
'name [unit]' header cells, one-line FitDataError messages naming the file, line and column.
"""

import math

import numpy as onp

from ._csv import HEADER_CELL, FitDataError, read_data_text, scan_lines, unit_factor

ST_FMR_SETTINGS = {
    "frequency": ({"GHz": 1e9, "Hz": 1.0, "MHz": 1e6}, True),
    "phi_H": ({"deg": math.pi / 180.0, "rad": 1.0}, True),
    "j_rf": ({"A/m^2": 1.0, "A/cm^2": 1e4, "MA/cm^2": 1e10}, True),
    "current_peak": ({"A": 1.0, "mA": 1e-3}, True),
    "fermi_energy": ({"eV": 1.0, "meV": 1e-3}, True),
    "rho0": ({"ohm m": 1.0, "uohm cm": 1e-8}, True),
    "ms": ({"T": 1.0}, True),
    "thickness": ({"nm": 1.0}, True),
    "m_eff": ({"T": 1.0, "mT": 1e-3}, False),
}
"""Settings of an ST-FMR file ('# name [unit] = value'): {name: (units, required)}."""


def read_st_fmr_csv(path) -> dict:
    """Read an ST-FMR spectrum: settings (ST_FMR_SETTINGS, internal units: Hz, rad, A/m^2, A, eV, ohm m, T, nm)
    and columns `B [T|mT]`, `V_mix [V|mV|uV]`, optional `sigma_V_mix`.

    Args:
        path: the CSV file (a regular UTF-8 text file).

    Returns: {"field", "v_mix", "sigma" (None if absent), "settings"}.

    Raises:
        FitDataError: one line naming the file, line and column.
    """
    text = read_data_text(path)
    columns = {"B": {"T": 1.0, "mT": 1e-3}, "V_mix": {"V": 1.0, "mV": 1e-3, "uV": 1e-6}, "sigma_V_mix": {"V": 1.0, "mV": 1e-3, "uV": 1e-6}}
    settings, header, rows = {}, None, []

    def number(where, name, text_value):
        try:
            value = float(text_value)
        except ValueError:
            raise FitDataError(f"{path}: {where}, column {name!r}: {text_value.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise FitDataError(f"{path}: {where}, column {name!r}: {text_value.strip()} is not finite; allowed: finite numbers")
        return value

    for line_kind, line_number, content in scan_lines(path, text):
        where = f"line {line_number}"
        if line_kind == "setting":
            name, unit, value = content
            if name not in ST_FMR_SETTINGS:
                raise FitDataError(f"{path}: {where}: setting {name!r} is not allowed; allowed: {', '.join(ST_FMR_SETTINGS)}")
            factor = unit_factor(path, where, name, unit, ST_FMR_SETTINGS[name][0])
            settings[name] = number(where, name, value) * factor
        elif line_kind == "header":
            header = []
            for c in content:
                match = HEADER_CELL.match(c)
                if not match or match.group(1) not in columns:
                    raise FitDataError(f"{path}: {where}: header cell {c.strip()!r}; allowed: 'B [T]', 'V_mix [V]', 'sigma_V_mix [V]'")
                header.append((match.group(1), unit_factor(path, where, match.group(1), match.group(2), columns[match.group(1)])))
        else:
            if len(content) != len(header):
                raise FitDataError(f"{path}: {where}: {len(content)} cells; allowed: {len(header)}, one per header column")
            rows.append([number(where, name, c) * factor for (name, factor), c in zip(header, content)])
    names = [n for n, _ in (header or [])]
    for name in ("B", "V_mix"):
        if name not in names:
            raise FitDataError(f"{path}: column '{name}' is missing; allowed: columns 'B [T]', 'V_mix [V]' (and 'sigma_V_mix [V]')")
    missing = [n for n, (_, required) in ST_FMR_SETTINGS.items() if required and n not in settings]
    if missing:
        raise FitDataError(f"{path}: setting {missing[0]!r} is missing; allowed: a line '# {missing[0]} [unit] = value' before the header")
    if len(rows) < 8:
        raise FitDataError(f"{path}: {len(rows)} data rows; allowed: at least 8 (a resonance needs points on both sides)")
    table = onp.asarray(rows, float)
    column = {n: table[:, i] for i, n in enumerate(names)}
    sigma = column.get("sigma_V_mix")
    if sigma is not None and not onp.all(sigma > 0.0):
        raise FitDataError(f"{path}: column 'sigma_V_mix' has values <= 0; allowed: positive uncertainties")
    return {"field": column["B"], "v_mix": column["V_mix"], "sigma": sigma, "settings": settings}

"""Writing harmonic Hall data files (write_hall_csv): HallData sweeps (as resistances or as a lock-in records
them) and FieldData tables, in the format that `read_hall_csv` reads (`HALL_CSV_FORMAT`)."""

import math
import pathlib

import numpy as onp

from ._csv import write_atomically
from ._hall_data import FieldData, HallData

# The amplitude conventions of a current setting and of a lock-in's outputs.
LOCKIN_OUTPUTS = ("rms", "peak")


def _fmt(x) -> str:
    return f"{float(x):.10g}"


def write_hall_csv(path, data, *, comments=(), lockin: dict | None = None) -> None:
    """Write HallData or FieldData in `HALL_CSV_FORMAT` (SI units: deg, T, ohm, A/m^2, ohm m; fields in mT).

    Args:
        path: file to write (atomically).
        data: HallData or FieldData.
        comments: free-text lines written as '# ...' first (e.g. the truth of synthetic data).
        lockin: None (R_1w, R_2w columns and '# j0'), or for a field sweep written as a lock-in records it:
            {"width": Hall bar width [nm], "current": "rms" or "peak" (the current setting written),
            "output": "rms" or "peak" (the lock-in's amplitude convention)}: columns X_1w, Y_2w [V] with
            X_1w = R_1w I0/a, Y_2w = -R_2w I0/a (a = sqrt 2 for rms outputs), I0 = j0 x width x thickness.
    """
    lines = [f"# {' '.join(str(c).split())}" for c in comments]
    lines += [f"# fermi_energy [eV] = {_fmt(data.fermi_energy)}", f"# rho0 [ohm m] = {_fmt(data.rho0)}",
              f"# ms [T] = {_fmt(data.ms_tesla)}", f"# thickness [nm] = {_fmt(data.thickness)}"]
    if lockin is not None and not isinstance(data, HallData):
        raise ValueError("lockin is given for a field table; allowed: lock-in columns for field sweeps (HallData) only")
    if isinstance(data, HallData) and lockin is not None:
        unknown = sorted(set(lockin) - {"width", "current", "output"})
        if unknown or "width" not in lockin or lockin.get("current", "rms") not in LOCKIN_OUTPUTS or lockin.get("output", "rms") not in LOCKIN_OUTPUTS:
            raise ValueError(f"lockin = {lockin!r}; allowed: {{'width': nm > 0, 'current': 'rms'|'peak', 'output': 'rms'|'peak'}}")
        width = float(lockin["width"])
        if not width > 0.0:
            raise ValueError(f"lockin['width'] = {width}; allowed: > 0 nm")
        conducting = data.thickness + (0.0 if data.hm_thickness is None else data.hm_thickness * data.rho0 / data.hm_resistivity)
        current = data.current_density * width * conducting * 1e-18  # peak current [A] (both layers)
        a = math.sqrt(2.0) if lockin.get("output", "rms") == "rms" else 1.0
        if lockin.get("current", "rms") == "rms":
            lines.append(f"# current_rms [A] = {_fmt(current / math.sqrt(2.0))}")
        else:
            lines.append(f"# current_peak [A] = {_fmt(current)}")
        lines += [f"# width [um] = {_fmt(width * 1e-3)}", f"# lockin_output [1] = {lockin.get('output', 'rms')}"]
    if isinstance(data, HallData):
        if lockin is None:
            lines.append(f"# j0 [A/m^2] = {_fmt(data.current_density)}")
        if data.hm_thickness is not None:
            lines += [f"# hm_thickness [nm] = {_fmt(data.hm_thickness)}", f"# hm_resistivity [ohm m] = {_fmt(data.hm_resistivity)}"]
        lines += [f"# easy_axis [1] = {' '.join(_fmt(v) for v in data.easy_axis)}",
                  f"# demag [1] = {' '.join(_fmt(v) for v in data.demag)}",
                  f"# bias_field [T] = {' '.join(_fmt(v) for v in data.bias_field)}"]
        cells = {"phi_H [deg]": onp.degrees(data.phi_h), "B [T]": data.field, "theta_H [deg]": onp.degrees(data.theta_h)}
        if onp.all(data.branch == data.branch[0]):
            lines.append(f"# branch [1] = {int(data.branch[0])}")
        else:
            cells["branch [1]"] = data.branch
        if lockin is None:
            cells.update({"R_1w [ohm]": data.r_1w, "R_2w [ohm]": data.r_2w})
            if data.sigma_known:
                cells.update({"sigma_R_1w [ohm]": data.sigma_1w, "sigma_R_2w [ohm]": data.sigma_2w})
        else:
            cells.update({"X_1w [V]": data.r_1w * current / a, "Y_2w [V]": -data.r_2w * current / a})
            if data.sigma_known:
                cells.update({"sigma_X_1w [V]": data.sigma_1w * current / a, "sigma_Y_2w [V]": data.sigma_2w * current / a})
    elif isinstance(data, FieldData):
        cells = {"theta_M [deg]": onp.degrees(data.theta_m), "phi_M [deg]": onp.degrees(data.phi_m), "j [A/m^2]": data.current_density}
        scale = {"B_DL": ("mT", 1e3), "B_FL": ("mT", 1e3), "xi_DL": ("1", 1.0), "xi_FL": ("1", 1.0)}
        for j, name in enumerate(data.columns):
            unit, factor = scale[name]
            cells[f"{name} [{unit}]"] = data.values[:, j] * factor
        if data.sigma_known:
            for j, name in enumerate(data.columns):
                unit, factor = scale[name]
                cells[f"sigma_{name} [{unit}]"] = data.sigma[:, j] * factor
    else:
        raise ValueError(f"data is a {type(data).__name__}; allowed: jaxsot.fit.HallData or FieldData")
    lines.append(",".join(cells))
    table = onp.stack([onp.broadcast_to(onp.asarray(v, float), (data.num_points,)) for v in cells.values()], -1)
    lines += [",".join(_fmt(x) for x in row) for row in table]
    write_atomically(pathlib.Path(path), "\n".join(lines) + "\n")

"""Float32 against float64 for the default sweep (`jaxsot default-config sweep`).

Runs `jaxsot sweep` twice (the precision is process-wide in JAX, so each in its own process) and
compares every stored variable: for the time series, max |f32 - f64| over the whole sweep divided
by max |f64| (the variable's scale), and the median and worst point-wise relative error of the
vector norms; for the relative-error variables, the largest absolute difference.

    python experiments/sweep_float32_error.py [--out DIR]
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import xarray as xr


def run(out: pathlib.Path, precision: str) -> xr.Dataset:
    subprocess.run(
        [sys.executable, "-m", "jaxsot", "sweep", "--out", str(out), "--precision", precision, "--no-progress"],
        check=True, capture_output=True, text=True,
    )
    with xr.open_dataset(out / "sweep.nc", engine="h5netcdf") as dataset:
        return dataset.load()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="folder for the two sweeps (default: a temporary one)")
    args = parser.parse_args()
    folder = pathlib.Path(args.out or tempfile.mkdtemp(prefix="jaxsot-f32-"))
    double, single = run(folder / "float64", "float64"), run(folder / "float32", "float32")
    print(f"default sweep: {double.sizes}")
    print(f"{'variable':<46} {'max|d|/max|f64|':>16} {'median rel':>11} {'max rel':>10}")
    worst_series = 0.0
    for name, variable in double.data_vars.items():
        if name == "status":
            continue
        a, b = single[name].values.astype(np.float64), variable.values
        if "_error_" in name:
            print(f"{name:<46} {np.max(np.abs(a - b)):16.2e} {'(abs)':>11}")
            continue
        scale = np.max(np.abs(b))
        global_error = np.max(np.abs(a - b)) / scale
        component = [d for d in variable.dims if d in ("xyz", "xy", "band")]
        if component:
            na = np.linalg.norm(a, axis=variable.dims.index(component[0]))
            nb = np.linalg.norm(b, axis=variable.dims.index(component[0]))
        else:
            na, nb = a, b
        keep = nb > 1e-6 * np.max(nb)
        relative = np.abs(na - nb)[keep] / nb[keep]
        if "_exact" in name or "_second_order" in name or "strong_exchange_sums" in name:
            worst_series = max(worst_series, global_error)
        print(f"{name:<46} {global_error:16.2e} {np.median(relative):11.2e} {np.max(relative):10.2e}")
    print(f"\nworst time series, max|f32 - f64| / max|f64|: {worst_series:.2e}")


if __name__ == "__main__":
    main()

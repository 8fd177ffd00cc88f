"""Harmonic Hall files with a per-row current column (jaxsot.fit._hall_csv): the rows at each amplitude become
one sweep and the sweeps are fitted jointly.

Data: `jaxsot.harmonic_hall_all_orders` (the equilibrium solved at each current phase and demodulated, not the
first-order response the fit uses) at two amplitudes, with Gaussian noise of stated sigma; its dropped
nonlinear part (here <= 3e-6 ohm in R_1w, 1e-10 ohm in R_2w, computed for these settings) is far below the
noise.
"""

import math
import warnings

import numpy as np
import pytest

from jaxsot import HallSettings, harmonic_hall_all_orders
from jaxsot.fit import FitDataError, HallData, fit_harmonic_hall
from jaxsot.fit._hall_csv import read_hall_csv

# Slow tier: harmonic Hall fits at several currents (compile-heavy).
pytestmark = pytest.mark.slow

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "tau": 10.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}
HEAD = "# fermi_energy [eV] = 1.5\n# rho0 [ohm m] = 2e-7\n# ms [T] = 1\n# thickness [nm] = 1\n"
AMPLITUDES = (5e9, 1e10)  # A/m^2
SIGMA = (2e-5, 2e-8)  # ohm


def two_current_file(tmp_path):
    rng = np.random.default_rng(7)
    # Two field magnitudes: one alone cannot separate r_ahe, r_phe and the anisotropy field in R_1w.
    phi = np.tile(np.radians(np.arange(0, 360, 30.0)), 2)
    field = np.repeat([0.1, 0.3], 12)
    lines = [HEAD + "phi_H [deg],B [T],j0 [MA/cm^2],R_1w [ohm],R_2w [ohm],sigma_R_1w [ohm],sigma_R_2w [ohm]"]
    for j0 in AMPLITUDES:
        settings = HallSettings(phi, field, fermi_energy=1.5, current_density=j0, rho0=2e-7, ms_tesla=1.0, thickness=1.0,
                                model="strong_exchange")
        every = harmonic_hall_all_orders(TRUTH, settings)
        r_1w = np.asarray(every.r_1w) + SIGMA[0] * rng.standard_normal(phi.size)
        r_2w = np.asarray(every.r_2w) + SIGMA[1] * rng.standard_normal(phi.size)
        lines += [f"{math.degrees(p):.12g},{f},{j0 * 1e-10:.12g},{a:.15g},{b:.15g},{SIGMA[0]},{SIGMA[1]}"
                  for p, f, a, b in zip(phi, field, r_1w, r_2w)]
    path = tmp_path / "two_currents.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_current_column_splits_into_sweeps_fitted_jointly(tmp_path):
    sweeps = read_hall_csv(two_current_file(tmp_path))
    assert isinstance(sweeps, list) and len(sweeps) == 2 and all(isinstance(s, HallData) for s in sweeps)
    assert [s.current_density for s in sweeps] == pytest.approx(list(AMPLITUDES), rel=1e-12)  # MA/cm^2 = 1e10 A/m^2
    assert [s.num_points for s in sweeps] == [24, 24]
    assert sweeps[0].label == "two_currents.csv (j0 = 5e+09 A/m^2)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_harmonic_hall(sweeps, free=("alpha", "tau", "anisotropy_field", "r_ahe", "r_phe"),
                                   guess={"alpha": 0.04, "tau": 8.0, "j_ex": 1.0}, model="strong_exchange", restarts=1)
    assert len(result.labels) == 2
    for name in ("alpha", "tau", "anisotropy_field", "r_ahe", "r_phe"):
        error = result.standard_errors[name]
        assert 0.0 < error < 0.3 * abs(TRUTH[name]), name
        assert abs(result.parameters[name] - TRUTH[name]) < 4.0 * error, (name, result.parameters[name], error)


def test_current_column_forms(tmp_path):
    rows = "\n".join(f"{a},0.1,{i},0.9,1e-3" for a, i in ((0, 1), (90, 1), (180, 1), (0, 2), (90, 2), (180, 2)))
    path = tmp_path / "rms.csv"
    path.write_text(HEAD + "# width [um] = 10\nphi_H [deg],B [T],current_rms [mA],R_1w [ohm],R_2w [ohm]\n" + rows + "\n")
    first, second = read_hall_csv(path)
    # j0 = sqrt(2) I_rms/(width x thickness), by hand: 1 mA rms over 10 um x 1 nm.
    assert first.current_density == pytest.approx(math.sqrt(2.0) * 1e-3 / (10e-6 * 1e-9), rel=1e-12)
    assert second.current_density == pytest.approx(2.0 * first.current_density, rel=1e-12)
    # One amplitude in every row: one sweep, as with the setting.
    path.write_text(HEAD + "phi_H [deg],B [T],j0 [A/m^2],R_1w [ohm],R_2w [ohm]\n0,0.1,1e11,0.9,1e-3\n90,0.1,1e11,0.8,2e-3\n"
                    "180,0.1,1e11,-0.9,1e-3\n")
    single = read_hall_csv(path)
    assert isinstance(single, HallData) and single.current_density == 1e11


@pytest.mark.parametrize("text, message", [
    (HEAD + "phi_H [deg],B [T],j0 [A/m^2],R_1w [ohm],R_2w [ohm]\n0,0.1,1e11,0.9,1e-3\n90,0.1,1e11,0.8,2e-3\n"
     "180,0.1,1e11,-0.9,1e-3\n0,0.1,2e11,0.9,1e-3\n", "line 9: 1 rows at current density 2e+11 A/m^2; allowed: at least 3 rows"),
    (HEAD + "# j0 [A/m^2] = 1e11\nphi_H [deg],B [T],j0 [A/m^2],R_1w [ohm],R_2w [ohm]\n0,0.1,1e11,0.9,1e-3\n",
     "'j0' is both a column and a '# j0 [...] = value' setting"),
    (HEAD + "# current_peak [A] = 1e-3\n# width [um] = 5\nphi_H [deg],B [T],j0 [A/m^2],R_1w [ohm],R_2w [ohm]\n"
     "0,0.1,1e11,0.9,1e-3\n90,0.1,1e11,0.8,2e-3\n180,0.1,1e11,-0.9,1e-3\n", "one of j0, current_peak, current_rms"),
])
def test_current_column_refusals(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(FitDataError, match="bad.csv: ") as caught:
        read_hall_csv(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)

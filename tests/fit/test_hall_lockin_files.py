"""Harmonic Hall files in the lock-in's own terms: current as peak or rms, X/Y outputs (jaxsot.fit._hall_csv).

Reference, written out by hand here: a lock-in referenced to the current I(t) = I0 sin wt reads, for the
signal V(t) = A1 sin wt - A2 cos 2wt (R_1w = A1/I0, R_2w = A2/I0), X_1w = A1/sqrt 2 and Y_2w = -A2/sqrt 2 in
rms outputs (X_n + iY_n = the rms phasor of harmonic n against sin(n wt)); the rms current is I0/sqrt 2;
j0 = I0/(width x thickness).
"""

import math

import numpy as np
import pytest

from jaxsot.fit import FitDataError
from jaxsot.fit._hall_csv import hall_csv_kind, read_hall_csv

# Slow tier: harmonic Hall fits of lock-in files (compile-heavy).
pytestmark = pytest.mark.slow

HEAD = """\
# fermi_energy [eV] = 1.5
# rho0 [ohm m] = 2e-7
# ms [T] = 1
# thickness [nm] = 2
"""
A1 = np.array([0.98, 0.95, -0.97, 0.9])  # ohm
A2 = np.array([1e-3, -2e-3, 1.5e-3, 4e-4])  # ohm


def lockin_file(current_line, output="rms", width="# width [um] = 5\n", extra=""):
    i0 = 2e-3  # peak current [A]
    a = math.sqrt(2.0) if output == "rms" else 1.0
    # A numerically sampled lock-in: X_n, Y_n from V(t) by quadrature against sin(n wt), cos(n wt).
    t = 2 * math.pi * np.arange(256) / 256
    rows = []
    for k, (a1, a2) in enumerate(zip(A1 * i0, A2 * i0)):
        v = a1 * np.sin(t) - a2 * np.cos(2 * t)
        x1 = 2 * np.mean(v * np.sin(t)) / a
        y2 = 2 * np.mean(v * np.cos(2 * t)) / a
        rows.append(f"{90 * k},0.1,{x1 * 1e3:.12g},{y2 * 1e3:.12g}")
    return (HEAD + current_line + width + f"# lockin_output [1] = {output}\n" + extra
            + "phi_H [deg],B [T],X_1w [mV],Y_2w [mV]\n" + "\n".join(rows) + "\n")


@pytest.mark.parametrize("current_line, output", [("# current_rms [mA] = 1.414213562373095\n", "rms"),
                                                  ("# current_peak [A] = 2e-3\n", "peak"),
                                                  ("# current_peak [A] = 2e-3\n", "rms")])
def test_lockin_outputs_and_current_conventions(tmp_path, current_line, output):
    path = tmp_path / "lockin.csv"
    path.write_text(lockin_file(current_line, output))
    data = read_hall_csv(path)
    assert hall_csv_kind(path) == "hall"
    np.testing.assert_allclose(data.r_1w, A1, rtol=1e-10)
    np.testing.assert_allclose(data.r_2w, A2, rtol=1e-10)
    assert data.current_density == pytest.approx(2e-3 / (5e-6 * 2e-9), rel=1e-12)  # 2e11 A/m^2


def test_current_from_peak_current_with_resistance_columns(tmp_path):
    text = (HEAD + "# current_rms [A] = 1e-3\n# width [um] = 10\n# current_thickness [nm] = 5\n"
            "phi_H [deg],B [T],R_1w [ohm],R_2w [ohm]\n0,0.1,1,0.001\n90,0.1,1,0.002\n180,0.1,1,-0.001\n")
    (tmp_path / "r.csv").write_text(text)
    data = read_hall_csv(tmp_path / "r.csv")
    assert data.current_density == pytest.approx(math.sqrt(2.0) * 1e-3 / (10e-6 * 5e-9), rel=1e-12)


BAD = {
    "two_currents": (lockin_file("# current_rms [A] = 1e-3\n# j0 [A/m^2] = 1e11\n"), "one of j0, current_peak, current_rms"),
    "no_width": (lockin_file("# current_peak [A] = 1e-3\n", width=""), "setting 'width' is missing"),
    "lockin_with_j0": (lockin_file("# j0 [A/m^2] = 1e11\n", width=""), "lock-in columns X_1w/Y_2w with j0"),
    "bad_output": (lockin_file("# current_peak [A] = 1e-3\n", output="amplitude"), "setting 'lockin_output': 'amplitude'"),
    "mixed": (lockin_file("# current_peak [A] = 1e-3\n").replace("Y_2w [mV]", "R_2w [ohm]"), "both R_1w/R_2w and lock-in"),
    "only_x": (lockin_file("# current_peak [A] = 1e-3\n").replace("Y_2w [mV]", "Y_1w [mV]"), "column 'Y_2w [V]' is missing"),
    "volt_unit": (lockin_file("# current_peak [A] = 1e-3\n").replace("X_1w [mV]", "X_1w [ohm]"), "unit [ohm] of 'X_1w'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_lockin_files_give_one_clear_line(tmp_path, case):
    text, fragment = BAD[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text)
    with pytest.raises(FitDataError) as error:
        read_hall_csv(path)
    message = str(error.value)
    assert "\n" not in message and f"{case}.csv" in message and fragment in message, message


def test_synth_writes_lockin_columns_at_every_order(tmp_path):
    """`jaxsot synth --kind harmonic-hall --signals lockin-rms` (in-process): the file reads back to the
    every-order harmonics of the quasi-static route (not the first-order ones), through X/Y and the rms current."""
    import jax

    from jaxsot import HallSettings, harmonic_hall_all_orders, harmonic_hall_forward
    from jaxsot.cli import _fit_hall
    from jaxsot.cli._main import parser

    top = parser()
    commands = next(a for a in top._actions if hasattr(a, "choices") and isinstance(a.choices, dict) and "fit" in a.choices).choices
    if "--anisotropy-field" not in commands["synth"]._option_string_actions:
        _fit_hall.register_options(commands["fit"], commands["synth"])
    out = tmp_path / "lockin.csv"
    args = top.parse_args(["synth", str(out), "--kind", "harmonic-hall", "--model", "strong_exchange", "--noise", "0",
                           "--fields", "0.1", "--angles", "4", "--signals", "lockin-rms", "--width", "5"])
    assert _fit_hall.run_synth_hall(args) == 0
    text = out.read_text()
    assert "# current_rms [A]" in text and "X_1w [V]" in text and "R_1w" not in text.split("\n")[-3]
    data = read_hall_csv(out)
    assert jax.config.jax_enable_x64  # the CLI and the test suite run in float64
    params = {"alpha": 0.05, "j_ex": 1.0, "tau": 10.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}
    settings = HallSettings(data.phi_h, data.field, fermi_energy=1.5, current_density=data.current_density, rho0=2e-7,
                            ms_tesla=1.0, thickness=1.0, model="strong_exchange")
    every = harmonic_hall_all_orders(params, settings)
    first_1w, _ = harmonic_hall_forward(params, settings)
    assert data.current_density == pytest.approx(1e11, rel=1e-9)
    np.testing.assert_allclose(data.r_1w, every.r_1w, rtol=1e-8)
    np.testing.assert_allclose(data.r_2w, every.r_2w, rtol=1e-8)
    assert np.max(np.abs(data.r_1w - np.asarray(first_1w))) > 1e-6


def test_bilayer_current_share_and_efficiencies(tmp_path):
    """Heavy metal (t_HM = 4 nm, rho_HM = 1e-6 ohm m) beside the film (t_F = 2 nm, rho0 = 2e-7 ohm m): at one E
    the sheet currents are t/rho, so I0 = w E (t_F/rho0 + t_HM/rho_HM) and j0 = E/rho0; j_HM = rho0 j0/rho_HM."""
    from jaxsot.fit._hall import HallData, _derived  # noqa: F401  (the report's derived quantities)

    text = lockin_file("# current_peak [A] = 2e-3\n", extra="# hm_thickness [nm] = 4\n# hm_resistivity [uohm cm] = 100\n")
    (tmp_path / "bilayer.csv").write_text(text)
    data = read_hall_csv(tmp_path / "bilayer.csv")
    e = 2e-3 / (5e-6 * (2e-9 / 2e-7 + 4e-9 / 1e-6))  # V/m
    assert data.current_density == pytest.approx(e / 2e-7, rel=1e-12)
    assert data.hm_thickness == 4.0 and data.hm_resistivity == pytest.approx(1e-6)
    np.testing.assert_allclose(data.r_2w, A2, rtol=1e-10)  # the voltages are divided by the total current
    (tmp_path / "half.csv").write_text(text.replace("# hm_resistivity [uohm cm] = 100\n", ""))
    with pytest.raises(FitDataError, match="hm_resistivity"):
        read_hall_csv(tmp_path / "half.csv")


def test_linearity_report_recovers_a_quadratic_departure():
    """R_2w = f(phi) (j + k j^2) exactly: R_2w/j = c0 (1 + k j), so the report's relative change at the largest
    current is k j_max; a linear signal gives 0; one current gives no report."""
    from jaxsot.fit._hall import HallData, hall_linearity

    phi = np.linspace(0.0, 2 * math.pi, 12, endpoint=False)
    shape = 1e-14 * (np.cos(phi) + 0.3 * np.sin(2 * phi))
    common = dict(phi_h=phi, field=0.1, r_1w=np.ones(12), fermi_energy=1.5, rho0=2e-7, ms_tesla=1.0, thickness=1.0)
    k = 2e-13
    sweeps = [HallData(r_2w=shape * (j + k * j * j), current_density=j, sigma_1w=1e-3, sigma_2w=1e-6, **common)
              for j in (5e10, 1e11, 2e11)]
    report = hall_linearity(sweeps)
    assert report["relative_change"] == pytest.approx(k * 2e11, rel=1e-9)
    assert math.isfinite(report["relative_change_error"]) and report["relative_change_error"] > 0.0
    linear = [HallData(r_2w=shape * j, current_density=j, **common) for j in (5e10, 2e11)]
    assert abs(hall_linearity(linear)["relative_change"]) < 1e-12
    assert hall_linearity(linear[:1]) is None

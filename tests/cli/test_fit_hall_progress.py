"""What `jaxsot fit` shows while it works and how wide it writes: the harmonic Hall fit reports the
compilation, each Levenberg-Marquardt restart's iterations (loss, elapsed time), the polish and the derived fields;
`--report-every 0` is quiet; every printed line of a harmonic Hall fit and of a paper-unit fit is <= 100 columns,
with long output paths wrapped. In process (capsys); the iteration counting of `HallProgress` against a hand-made
sequence of residuals."""

import math
import re

import numpy as np
import pytest

import jaxsot
from jaxsot import HallSettings
from jaxsot.cli import main
from jaxsot.fit._hall import HallData
from jaxsot.fit._hall_csv import write_hall_csv
from jaxsot.fit._hall_progress import HallProgress

# Slow tier: three small harmonic Hall fits, each compiled.
pytestmark = pytest.mark.slow

WIDTH = 100
TRUTH = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}


@pytest.fixture(scope="module")
def hall_file(tmp_path_factory):
    phi = np.tile(np.linspace(0.0, 2 * math.pi, 8, endpoint=False), 2)
    field = np.repeat([0.1, 0.25], 8)
    settings = HallSettings(phi, field, fermi_energy=1.5, current_density=1e11, rho0=2e-7, ms_tesla=1.0, thickness=1.0,
                            bands=jaxsot.hall_bands(TRUTH, 1.5), num=32)
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(TRUTH, settings))
    rng = np.random.default_rng(1)
    s_1w, s_2w = 1e-4, 0.01 * float(np.ptp(r_2w))
    data = HallData.from_settings(r_1w + s_1w * rng.normal(size=16), r_2w + s_2w * rng.normal(size=16), settings,
                                  sigma_1w=s_1w, sigma_2w=s_2w)
    path = tmp_path_factory.mktemp("hall") / "a_rather_long_file_name_of_harmonic_hall_data_for_the_width_check.csv"
    write_hall_csv(path, data)
    return path


def _long_out(tmp_path, name):
    # A long output folder: the "wrote <paths>" line would be ~3 x 120 columns unwrapped.
    return str(tmp_path / ("results_of_the_fit_in_a_deliberately_long_folder_name_" * 2 + name))


def test_hall_fit_reports_compilation_iterations_and_elapsed_time_within_100_columns(hall_file, tmp_path, capsys):
    assert main(["fit", str(hall_file), "--out", _long_out(tmp_path, "h"), "--num", "32", "--restarts", "2",
                 "--report-every", "5", "--no-plot"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, max(lines, key=len)
    progress = [line for line in lines if re.search(r"\(\d+\.\d s\)$", line)]
    text = "\n".join(progress)
    assert "compiling the model's residuals and Jacobian" in text and re.search(r"^  compiled \(", text, re.M)
    for restart in ("1/2", "2/2"):
        assert re.search(rf"^  restart {restart} iteration +0: loss \S+ \(", text, re.M), restart
        assert re.search(rf"^  restart {restart}: loss \S+ after \d+ iterations?, ", text, re.M), restart
    assert "polish of restart" in text and "derived fields" in text
    # Elapsed times never decrease along the lines.
    seconds = [float(re.search(r"\((\d+\.\d) s\)$", line).group(1)) for line in progress]
    assert seconds == sorted(seconds) and len(progress) >= 8
    assert "results.json" in out and "fit.csv" in out  # the wrapped "wrote" line keeps every path


def test_hall_fit_is_quiet_with_report_every_zero(hall_file, tmp_path, capsys):
    assert main(["fit", str(hall_file), "--out", str(tmp_path / "q"), "--num", "32", "--restarts", "1",
                 "--report-every", "0", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert not re.search(r"iteration +\d", out) and "compiling the model's residuals" not in out and "parameter" in out


def test_paper_unit_fit_lines_are_within_100_columns(tmp_path, capsys):
    data = tmp_path / "a_rather_long_file_name_of_amr_and_torque_curves_for_the_width_check_of_the_fit.csv"
    assert main(["synth", str(data), "--points", "8"]) == 0
    assert main(["fit", str(data), "--out", _long_out(tmp_path, "p"), "--num", "16", "--restarts", "1", "--max-steps", "30",
                 "--report-every", "10", "--no-plot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, max(lines, key=len)
    assert any(line.startswith("  iteration    0: loss") for line in lines)


def test_progress_counts_accepted_steps_as_iterations():
    written = []
    progress = HallProgress(2, written.append, gap=math.inf)
    evaluate = progress.wrap(lambda x: (np.asarray(x, float), None))
    evaluate([3.0])  # outside a run: the compilation lines only
    assert [w.rsplit(" (", 1)[0] for w in written] == ["  compiling the model's residuals and Jacobian (first evaluation) ...",
                                                      "  compiled"]
    written.clear()
    progress.begin("restart 1/1")
    for r in ([2.0], [2.5], [1.0], [1.5], [0.5], [0.25]):  # chi^2 4, 6.25 (rejected), 1, 2.25 (rejected), 0.25, 0.0625
        evaluate(r)
    progress.end(0.03125, 3, "converged (gradient)")
    shown = [w.rsplit(" (", 1)[0] for w in written]
    # Iterations 0, 1, 2, 3 are the accepted steps; every 2nd is written, with loss chi^2/(2N), N = 1.
    assert shown == ["  restart 1/1 iteration    0: loss 2", "  restart 1/1 iteration    2: loss 0.125",
                     "  restart 1/1: loss 0.03125 after 3 iterations, converged (gradient)"]
    assert all(re.search(r"\(\d+\.\d s\)$", w) for w in written)
    quiet = []
    silent = HallProgress(0, quiet.append)
    silent.wrap(lambda x: (np.asarray(x, float), None))([1.0])
    assert quiet == []

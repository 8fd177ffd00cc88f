"""The command line's figures (jaxsot/cli/_figures.py) meet the experiments' standard.

Each figure is drawn from small synthetic inputs of the shapes the commands pass (no physics is
computed here) and checked the way a reader would look at it: every axis names a quantity and a unit
(or says dimensionless), no axis carries an offset multiplier ("1e-5" above it), text is readable at
slide size, legends and titles lie inside the figure and legends off the data, fits show residuals,
and the specific faults once seen are gone (a symlog power axis, "3e+11 A/m^2" in a title, raw
legend values such as "0.01821", the file name as every panel's title, R_2w at 0.0075 ohm).
"""

import types

import matplotlib
import pytest

# Slow tier: renders each command-line figure twice (matplotlib).
pytestmark = pytest.mark.slow

matplotlib.use("Agg")
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest

from jaxsot.cli import _figures

_UNIT = ("[", "(dimensionless)", "(unit)")


def _text_boxes(figure):
    figure.canvas.draw()
    return figure.canvas.get_renderer()


def check_standard(figure, min_font=10.0):
    """The checks every CLI figure passes; returns the axes that hold data."""
    renderer = _text_boxes(figure)
    page = figure.bbox
    data_axes = [ax for ax in figure.axes if ax.lines or ax.collections]
    assert data_axes, "no axes with data"
    for ax in data_axes:
        xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
        shared_bottom = not xlabel and any(
            other is not ax and other.get_xlabel() and ax in other.get_shared_x_axes().get_siblings(other)
            for other in figure.axes
        )
        assert xlabel or shared_bottom, f"x axis without a label in {ax.get_title()!r}"
        assert ylabel and any(u in ylabel for u in _UNIT), f"y label without a unit: {ylabel!r}"
        if xlabel:
            assert any(u in xlabel for u in _UNIT) or xlabel == "iteration", f"x label without a unit: {xlabel!r}"
        for axis in (ax.xaxis, ax.yaxis):
            assert axis.get_offset_text().get_text() == "", f"offset multiplier on {ylabel!r}"
            for tick in axis.get_ticklabels():
                assert tick.get_fontsize() >= min_font
        assert ax.yaxis.label.get_fontsize() >= 11
        legend = ax.get_legend()
        if legend is not None:
            box = legend.get_window_extent(renderer)
            assert not box.overlaps(ax.get_window_extent(renderer)) or ax.get_title() == "convergence", (
                f"legend on the data of {ylabel!r}"
            )
    texts = [t for t in figure.texts] + [ax.title for ax in figure.axes] + [l for l in figure.legends]
    for text in texts:
        box = text.get_window_extent(renderer)
        if box.width and box.height:
            assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1 and box.y1 <= page.y1 + 1 and box.y0 >= page.y0 - 1, (
                f"clipped: {getattr(text, 'get_text', lambda: 'legend')()!r}"
            )
    return data_axes


def check_saved(write, path, min_width=1200):
    assert write(path) is True
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width >= min_width and height >= 500, (width, height)


def _series(t, scale, phase=0.0):
    return np.stack([scale * np.exp(-t / 10.0), 0.5 * scale * np.cos(t / 7 + phase), 0 * t], -1)


# ---------------------------------------------------------------------------------------------
# helpers


def test_unit_scale_and_si_text():
    factor, label = _figures.unit_scale(np.array([1.2e-5, -3e-6]), "nm⁻² fs⁻¹")
    assert factor == pytest.approx(1e6) and label == "[10⁻⁶ nm⁻² fs⁻¹]"
    assert _figures.unit_scale(np.array([0.5, 20.0]), "T") == (1.0, "[T]")
    assert _figures.unit_scale(np.array([7.5e-3]), "Ω")[1] == "[10⁻³ Ω]"
    assert _figures.unit_scale(np.array([3.0e7, np.nan]), "W/m²") == (1e-6, "[10⁶ W/m²]")
    assert _figures.si_text(3e11, "A/m²") == "3 × 10¹¹ A/m²"
    assert _figures.si_text(1.5e-4, "T") == "1.5 × 10⁻⁴ T"
    assert _figures.si_text(0.05, "T") == "0.05 T"


# ---------------------------------------------------------------------------------------------
# one test per figure


def test_run_torques(tmp_path):
    t = np.linspace(0.0, 40.0, 41)
    forms = lambda s: {"exact": _series(t, s), "second_order": _series(t, 1.05 * s), "strong_exchange": _series(t, 0.9 * s)}
    result = types.SimpleNamespace(times=t, observables={
        "damping_torque": forms(1.1e-5), "field_like_torque": forms(3.4e-4),
        "spin_force_density": forms(2e-6), "current_density": forms(0.02),
    })
    figure = _figures.build_run_torques(plt, result)
    axes = check_standard(figure)
    assert any("10⁻⁶" in ax.get_ylabel() for ax in axes)  # the scale in the unit, not above the axis
    plt.close(figure)
    check_saved(lambda p: _figures.run_torques(p, result), tmp_path / "torques.png")


def test_llg_powers_linear_and_title_in_si(tmp_path):
    t = np.linspace(0.0, 2.0, 400)
    m = np.stack([np.sin(5 * t) * 0.3, np.cos(t) * 0.9, 0.3 + 0 * t], -1)
    powers = {"Gilbert damping P_G": -1e7 * np.cos(40 * t) ** 2, "spin-force loss P_DL,fl": -2e3 * np.sin(40 * t),
              "damping-like torque vs B₀": 5e5 * np.cos(40 * t), "field-like torque P_FL": 3e6 * np.sin(40 * t)}
    figure = _figures.build_llg(plt, t, m, powers, "strong_exchange", 3e11)
    axes = check_standard(figure)
    assert all(ax.get_yscale() == "linear" for ax in axes)  # no symlog over oscillating curves
    assert "3 × 10¹¹ A/m²" in figure._suptitle.get_text() and "e+11" not in figure._suptitle.get_text()
    assert len(axes) == 1 + len(powers)  # each power on its own scale
    plt.close(figure)
    check_saved(lambda p: _figures.llg(p, t, m, powers, "exact", 3e11), tmp_path / "llg.png")


def test_validate_ensemble(tmp_path):
    t = np.linspace(0.0, 30.0, 61)
    ensemble = types.SimpleNamespace(times=t, observables={
        "damping_torque": {"exact": _series(t, 2e-5), "semiclassical": _series(t, 1.9e-5), "first_order": _series(t, 2e-5)},
        "field_like_torque": {"exact": _series(t, 4e-4), "semiclassical": _series(t, 4e-4)},
        "nonadiabatic_spin_density": {"exact": _series(t, 3e-7), "first_order": _series(t, 3e-7),
                                      "second_order": _series(t, 3e-7)},
    })
    figure = _figures.build_validate_ensemble(plt, ensemble)
    check_standard(figure)
    plt.close(figure)
    check_saved(lambda p: _figures.validate_ensemble(p, ensemble), tmp_path / "ensemble.png")


@pytest.fixture(scope="module")
def sweep_dataset():
    xr = pytest.importorskip("xarray")
    alpha = np.array([0.01, 0.018, 0.032, 0.06, 0.11, 0.2])
    theta = np.array([0.0, 30.0, 60.0, 90.0])
    error = (alpha[:, None] / 0.01) ** 2 * 1e-3 * (1 + theta[None, :] / 90.0)
    torque = np.stack([1e-5 * alpha[:, None] * (1 + 0 * theta[None, :]) / 0.01821, 0 * error, 0 * error], -1)
    return xr.Dataset(
        {"damping_torque_error_strong_exchange": (("alpha_eV_nm", "theta_deg"), error, {"units": "1"}),
         "damping_torque_exact": (("alpha_eV_nm", "theta_deg", "xyz"), torque, {"units": "1/(nm^2 fs)"})},
        coords={"alpha_eV_nm": ("alpha_eV_nm", alpha, {"units": "eV nm"}),
                "theta_deg": ("theta_deg", theta + 0.01821, {"units": "deg"})},
    )


def test_sweep_plot(tmp_path, sweep_dataset):
    spec = types.SimpleNamespace(variable="damping_torque_exact", x="alpha_eV_nm", hue="theta_deg", time_index=0)
    figure = _figures.build_sweep_plot(plt, sweep_dataset, spec)
    (ax,) = check_standard(figure)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0] == "polar angle theta = 0.0182 deg" or labels[0].endswith("= 0.0182 deg"), labels
    assert "10⁻³" in ax.get_ylabel() or "10⁻⁶" in ax.get_ylabel()
    plt.close(figure)
    spec = types.SimpleNamespace(variable="damping_torque_error_strong_exchange", x="alpha_eV_nm", hue="theta_deg",
                                 time_index=0)
    figure = _figures.build_sweep_plot(plt, sweep_dataset, spec)
    (ax,) = check_standard(figure)
    assert ax.get_yscale() == "log"  # positive errors over more than two decades
    plt.close(figure)
    check_saved(lambda p: _figures.sweep_plot(sweep_dataset, spec, p), tmp_path / "slice.png", min_width=1100)


def _fit_result(predictions, sigmas, free=("alpha", "j_ex", "tau")):
    return types.SimpleNamespace(
        predictions=predictions, sigmas=sigmas, free=free, best=1,
        parameters={n: 0.05 for n in free}, standard_errors={n: 1e-3 for n in free},
        identifiable={n: n != "tau" for n in free},
        trace=np.array([np.geomspace(10.0, 0.51, 40), np.geomspace(8.0, 0.5, 40)]),
        labels=["hall.csv"], columns=[("R_1w", "R_2w")],
    )


def test_fit_with_residuals(tmp_path):
    phi = np.linspace(0.0, 2 * np.pi, 30)
    values = np.stack([1 + 0.01 * np.cos(phi), 2e-5 * np.sin(phi)], -1)
    curve = types.SimpleNamespace(columns=("rho_ratio", "T_DL_x"), values=values + 1e-4, label="data.csv")
    result = _fit_result([values], [np.full_like(values, 1e-4)])
    x_axis = lambda c: ("phi_M [deg]", np.degrees(phi))
    units = {"rho_ratio": "1", "T_DL_x": "1/(nm^2 fs)"}
    figure = _figures.build_fit(plt, result, [curve], x_axis, units)
    axes = check_standard(figure)
    residuals = [ax for ax in axes if ax.get_ylabel().startswith("(data − fit)")]
    assert len(residuals) == 2
    assert not any("data.csv" in ax.get_title() for ax in figure.axes)  # named once, in the figure title
    assert figure._suptitle.get_text().count("data.csv") == 1
    loss = next(ax for ax in axes if ax.get_title() == "convergence")
    assert min(np.min(line.get_ydata()) for line in loss.lines) > 0.4  # the loss itself, no 1e-16 floor
    plt.close(figure)
    check_saved(lambda p: _figures.fit(p, result, [curve], x_axis, units), tmp_path / "fit.png")


def test_fit_hall_units_and_title(tmp_path):
    phi = np.linspace(0.0, 2 * np.pi, 24)
    field = np.repeat([0.05, 0.1], 12)
    r1, r2 = 0.2 * np.sin(2 * phi), 7.5e-3 * np.cos(phi)
    item = types.SimpleNamespace(r_1w=r1, r_2w=r2, phi_h=phi, field=field, num_points=24,
                                 sigma_1w=np.full(24, 1e-3), sigma_2w=np.full(24, 1e-4))
    result = _fit_result([np.stack([r1, r2], -1)], None, free=("alpha", "j_ex", "tau", "r_ahe", "r_phe", "ms_tesla"))
    x_of = lambda d: ("field azimuth phi_H [deg]", np.degrees(d.phi_h))
    units = {"R_1w": "ohm", "R_2w": "ohm"}
    figure = _figures.build_fit_hall(plt, result, [item], x_of, units)
    axes = check_standard(figure)
    assert any("[10⁻³ Ω]" in ax.get_ylabel() for ax in axes)  # R_2w in milliohm, not 0.0075 ohm
    assert len([ax for ax in axes if ax.get_ylabel().startswith("(data − fit)")]) == 2
    plt.close(figure)
    check_saved(lambda p: _figures.fit_hall(p, result, [item], x_of, units), tmp_path / "fit_hall.png")


def test_validate_adiabaticity_and_crossover(tmp_path):
    eps = np.geomspace(1e-5, 0.2, 9)
    scan = lambda p: types.SimpleNamespace(
        adiabaticity=eps, integration_error=np.full_like(eps, 6e-9),
        errors={n: c * eps**p for n, c in (("spin_rate", 1.0), ("spin_rate_first_order", 1.1),
                                           ("nonadiabatic_spin", 1.06), ("exchange_torque_papers", 0.36))},
        orders={n: (float(p), 1.0) for n in ("spin_rate", "spin_rate_first_order", "nonadiabatic_spin",
                                             "exchange_torque_papers")},
    )
    figure = _figures.build_validate_adiabaticity(plt, scan(1.0), scan(2.0))
    (ax,) = check_standard(figure)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    plt.close(figure)
    x = np.geomspace(0.05, 20.0, 8)
    closed = (2 + x**2) / (2 * (1 + x**2))
    crossover = types.SimpleNamespace(ratio=x, fermi_energy=1.0, alpha=0.008, normalized={
        "closed_strong_exchange": np.sqrt(1 + x**2), "semiclassical_damping_torque": closed,
        "exact_damping_like_torque": 1 / (1 + x**2), "exact_damping_torque": closed})
    figure = _figures.build_validate_crossover(plt, crossover)
    check_standard(figure)
    plt.close(figure)
    generic, tangential = scan(1.0), scan(2.0)
    t = np.linspace(0.0, 30.0, 61)
    ensemble = types.SimpleNamespace(times=t, observables={
        name: {"exact": _series(t, 1e-5)} for name in ("damping_torque", "field_like_torque", "nonadiabatic_spin_density")})
    assert _figures.validate_figures(tmp_path, generic, tangential, ensemble, crossover) == [
        "adiabaticity.png", "ensemble.png", "crossover.png"]
    for name in ("adiabaticity.png", "ensemble.png", "crossover.png"):
        assert matplotlib.image.imread(tmp_path / name).shape[1] >= 1200

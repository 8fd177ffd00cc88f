"""The command line's figures, one function per figure, drawn to the experiments' standard.

Every axis names its quantity and unit; a power of ten goes into the unit ("[10⁻⁶ nm⁻² fs⁻¹]"), never
into an offset multiplier above the axis; legends sit outside the data; fonts are readable on a slide
(figures are 12-16 inches wide at 110 dpi, text 11-13 pt); fits show their residuals; log scales only
for positive quantities spanning decades, linear otherwise. `build_*` functions return the matplotlib
figure (the tests inspect it); the others save it atomically (`save_figure`) and return whether a
figure was written (False when matplotlib is missing). The style helpers (`_figure_style`) and the
fit figures (`_figures_fit`) live in their own modules and are re-exported here.
"""

import math
import pathlib
import textwrap

from ._common import pyplot
from ._figure_style import DPI as DPI
from ._figure_style import STYLE as STYLE
from ._figure_style import outside_legend as _outside_legend
from ._figure_style import power_of_ten as power_of_ten
from ._figure_style import save_styled as _save
from ._figure_style import scaled as scaled
from ._figure_style import si_text as si_text
from ._figure_style import styled as styled
from ._figure_style import unit_scale as unit_scale
from ._figures_fit import build_fit as build_fit
from ._figures_fit import build_fit_hall as build_fit_hall
from ._figures_fit import fit as fit
from ._figures_fit import fit_hall as fit_hall


# ---------------------------------------------------------------------------------------------
# jaxsot run: torques.png

_RUN_PANELS = {
    "damping_torque": ("damping-like torque T₂ = −dS/dt", "nm⁻² fs⁻¹"),
    "field_like_torque": ("field-like torque T₁", "nm⁻² fs⁻¹"),
    "spin_force_density": ("spin-force density F_so", "eV nm⁻³"),
    "current_density": ("current density j", "e fs⁻¹ nm⁻¹"),
}
_FORM_STYLES = {"exact": ("-", 2.6), "second_order": ("--", 1.8), "strong_exchange": (":", 2.2)}
_COMPONENT_COLORS = ("C0", "C1", "C2")


@styled
def build_run_torques(plt, result):
    import numpy as onp
    from matplotlib.lines import Line2D

    from ..constants import AMPERE_PER_M_PER_E_PER_FS_NM

    t = onp.asarray(result.times, dtype=float)
    figure, axes = plt.subplots(2, 2, figsize=(13, 8.5), sharex=True, layout="constrained")
    for ax, (name, (quantity, unit)) in zip(axes.ravel(), _RUN_PANELS.items()):
        forms = result.observables.get(name, {})
        everything = onp.concatenate([onp.asarray(s, dtype=float).ravel() for s in forms.values()]) if forms else onp.zeros(1)
        factor, label = unit_scale(everything, unit)
        for form, series in forms.items():
            series = onp.asarray(series, dtype=float)
            series = onp.where(onp.isfinite(series), series, onp.nan)  # gaps, never a crash
            style, width = _FORM_STYLES.get(form, ("-.", 1.5))
            for component in range(series.shape[1]):
                column = series[:, component]
                if not onp.isfinite(column).any() or onp.allclose(onp.nan_to_num(column), 0.0):
                    continue  # e.g. the z component of an in-plane vector
                ax.plot(t, column * factor, style, color=_COMPONENT_COLORS[component], lw=width)
        ax.set_ylabel(f"{quantity}\n{label}")
        if name == "current_density":
            si = ax.secondary_yaxis("right", functions=(lambda x, f=factor: x / f * AMPERE_PER_M_PER_E_PER_FS_NM,
                                                        lambda x, f=factor: x * f / AMPERE_PER_M_PER_E_PER_FS_NM))
            si.set_ylabel("j [A/m]")
    for ax in axes[1]:
        ax.set_xlabel("time t [fs]")
    handles = [Line2D([], [], color="k", ls=s, lw=w, label=f.replace("_", " ")) for f, (s, w) in _FORM_STYLES.items()]
    handles += [Line2D([], [], color=c, lw=2.4, label=f"{axis} component") for c, axis in zip(_COMPONENT_COLORS, "xyz")]
    _outside_legend(figure, axes.ravel(), handles, ncol=6)
    figure.suptitle("jaxsot run: exact bands beside the papers' second-order and strong-exchange forms")
    return figure


def run_torques(path, result) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    return _save(plt, build_run_torques(plt, result), path)


# ---------------------------------------------------------------------------------------------
# jaxsot llg: llg.png


@styled
def build_llg(plt, t_ns, m, powers, method, current):
    """M(t) on top; each power of the energy ledger in its own panel, linear, with its own scale."""
    import numpy as onp

    names = list(powers)
    rows = 1 + math.ceil(len(names) / 2)
    figure = plt.figure(figsize=(13, 3.2 * rows + 0.8), layout="constrained")
    grid = figure.add_gridspec(rows, 2)
    top = figure.add_subplot(grid[0, :])
    for i, (name, style) in enumerate(zip("xyz", ("-", "--", "-."))):
        top.plot(t_ns, m[:, i], style, lw=2.2, label=f"M_{name}")
    top.set_ylabel("magnetization\ndirection M (unit)")
    top.set_ylim(-1.08, 1.08)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    panels = []
    for k, name in enumerate(names):
        ax = figure.add_subplot(grid[1 + k // 2, k % 2], sharex=top)
        values, unit = scaled(powers[name], "W/m²")
        ax.plot(t_ns, values, color=f"C{k}", lw=1.8)
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_ylabel(f"power {unit}")
        ax.set_title(name, loc="left")
        panels.append(ax)
    for ax in panels[-2:]:
        ax.set_xlabel("time t [ns]")
    figure.suptitle(f"jaxsot llg: {method.replace('_', ' ')} torque, current density j = {si_text(current, 'A/m²')}")
    return figure


def llg(path, t_ns, m, powers, method, current) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    return _save(plt, build_llg(plt, t_ns, m, powers, method, current), path)


# ---------------------------------------------------------------------------------------------
# jaxsot validate: ensemble.png

_ENSEMBLE_PANELS = (
    ("damping_torque", "damping-like torque T₂ = −dS/dt", "nm⁻² fs⁻¹"),
    ("field_like_torque", "field-like torque T₁ − T₁,eq", "nm⁻² fs⁻¹"),
    ("nonadiabatic_spin_density", "non-adiabatic spin S − S_band", "nm⁻²"),
)
_ENSEMBLE_STYLES = {"exact": dict(ls="-", lw=2.8), "semiclassical": dict(ls="--", lw=1.8),
                    "first_order": dict(ls=":", lw=2.4), "second_order": dict(ls="-.", lw=1.5)}


@styled
def build_validate_ensemble(plt, ensemble):
    import numpy as onp
    from matplotlib.lines import Line2D

    t = onp.asarray(ensemble.times, dtype=float)
    figure, axes = plt.subplots(1, 3, figsize=(16, 5.6), layout="constrained")
    present = []
    for ax, (name, quantity, unit) in zip(axes, _ENSEMBLE_PANELS):
        forms = ensemble.observables[name]
        factor, label = unit_scale(onp.concatenate([onp.asarray(s, dtype=float).ravel() for s in forms.values()]), unit)
        for form, series in forms.items():
            present.append(form)
            series = onp.asarray(series, dtype=float)
            for c, color in enumerate(_COMPONENT_COLORS):
                ax.plot(t, series[:, c] * factor, color=color, **_ENSEMBLE_STYLES.get(form, dict(ls="-", lw=1)))
        ax.set_ylabel(f"{quantity}\n{label}")
        ax.set_xlabel("time t [fs]")
    handles = [Line2D([], [], color="k", label=f.replace("_", " "), **_ENSEMBLE_STYLES[f]) for f in _ENSEMBLE_STYLES
               if f in present]
    handles += [Line2D([], [], color=c, lw=2.4, label=f"{axis} component") for c, axis in zip(_COMPONENT_COLORS, "xyz")]
    _outside_legend(figure, axes, handles, ncol=len(handles))
    figure.suptitle("Fermi sea: exact spinors beside the semiclassical (band-following) result and its corrections")
    return figure


def validate_ensemble(path, ensemble) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    return _save(plt, build_validate_ensemble(plt, ensemble), path)


# ---------------------------------------------------------------------------------------------
# jaxsot sweep: plots/NN_*.png


@styled
def build_sweep_plot(plt, dataset, spec):
    """One slice of a sweep: spec.variable against spec.x, one line per value of spec.hue, every other
    swept axis at its middle value. None when no value is finite. A log y axis only for positive values
    spanning more than two decades; legend values with three significant digits and their unit."""
    import numpy as onp


    variable = dataset[spec.variable]
    quantity = describe_variable(spec.variable)
    when = ""
    if "time" in variable.dims:
        variable = variable.isel(time=spec.time_index)
        when = f" at t = {float(variable['time']):g} fs"
    for component in ("xyz", "xy"):
        if component in variable.dims:
            variable = (variable**2).sum(component) ** 0.5
            quantity = f"magnitude of the {quantity}"
    if "band" in variable.dims:
        variable = variable.sum("band")
    fixed = {}
    for dim in variable.dims:
        if dim not in (spec.x, spec.hue):
            index = variable.sizes[dim] // 2
            fixed[dim] = float(variable[dim].values[index])
            variable = variable.isel({dim: index})
    data = onp.asarray(variable.values, dtype=float)
    finite = data[onp.isfinite(data)]
    if finite.size == 0:
        return None
    variable = variable.copy(data=onp.where(onp.isfinite(data), data, onp.nan))
    unit = dataset[spec.variable].attrs.get("units", "")
    unit = "" if unit == "1" else unit
    log_y = bool(onp.all(finite > 0)) and finite.max() / finite.min() > 100.0
    factor, label = (1.0, f"[{unit}]" if unit else "(dimensionless)") if log_y else unit_scale(finite, unit)
    x = onp.asarray(variable[spec.x].values, dtype=float)
    figure, ax = plt.subplots(figsize=(11.5 if spec.hue else 8.5, 5.8), layout="constrained")
    hues = variable[spec.hue].values if spec.hue else [None]
    hue_unit = dataset[spec.hue].attrs.get("units", "") if spec.hue else ""
    markers = "osD^vP*X"
    for k, hue in enumerate(hues):
        line = variable.sel({spec.hue: hue}) if spec.hue else variable
        legend = None if hue is None else f"{describe_axis(spec.hue)} = {float(hue):.3g} {hue_unit}".strip()
        ax.plot(x, onp.asarray(line.transpose(spec.x).values, dtype=float) * factor, marker=markers[k % len(markers)],
                ms=6.5, lw=1.8, label=legend)
    if spec.x in ("alpha_eV_nm", "efield_V_per_m", "tau_fs") and onp.all(x > 0):
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    x_unit = dataset[spec.x].attrs.get("units", "")
    ax.set_xlabel(f"{describe_axis(spec.x)} " + (f"[{x_unit}]" if x_unit not in ("", "1") else "(dimensionless)"))
    ax.set_ylabel("\n".join(textwrap.wrap(quantity, 40)) + f"\n{label}")
    fixed_text = ", ".join(f"{describe_axis(k)} = {v:.3g} {dataset[k].attrs.get('units', '')}".strip() for k, v in fixed.items())
    ax.set_title("\n".join(textwrap.wrap(f"jaxsot sweep{when}" + (f"; {fixed_text}" if fixed_text else ""), 80)))
    ax.grid(True, which="both", alpha=0.3)
    if spec.hue:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return figure


def sweep_plot(dataset, spec, path) -> bool:
    """Write one sweep slice; False when matplotlib is missing or no value is finite (nothing written)."""
    plt = pyplot()
    if plt is None:
        return False
    figure = build_sweep_plot(plt, dataset, spec)
    return figure is not None and _save(plt, figure, path)

# ---------------------------------------------------------------------------------------------
# jaxsot validate: adiabaticity.png and crossover.png (ensemble.png above)

_ADIABATICITY_LABELS = {
    "spin_rate": r"$T_2$ exact vs semiclassical",
    "spin_rate_first_order": r"$T_2$ exact vs semiclassical + $d\,\delta\sigma_1/dt$",
    "nonadiabatic_spin": r"$\delta\sigma$ vs first order $\delta\sigma_1$",
    "exchange_torque_papers": r"exchange torque vs papers' $T_1 + T_2$",
}


@styled
def build_validate_adiabaticity(plt, generic, tangential):
    """Errors of the semiclassical picture for one state vs the adiabaticity (log-log: both span decades)."""
    # Curves that coincide (T2 and delta sigma share their first-order error) are told apart by
    # marker, fill and width, drawn back (large open) to front (small filled).
    styles = (dict(marker="o", ms=10, mfc="none", lw=2.8), dict(marker="s", ms=7, lw=1.8),
              dict(marker="D", ms=5, mfc="white", lw=1.2, ls="--"), dict(marker="^", ms=7, lw=1.6))
    figure, ax = plt.subplots(figsize=(13, 6), layout="constrained")
    eps = generic.adiabaticity
    for (name, label), style in zip(_ADIABATICITY_LABELS.items(), styles):
        order, _ = generic.orders[name]
        ax.loglog(eps, generic.errors[name], label=f"{label} (order {order:.2f})", **style)
    order, _ = tangential.orders["spin_rate"]
    ax.loglog(tangential.adiabaticity, tangential.errors["spin_rate"], "v-.", ms=7, lw=1.6,
              label=rf"$T_2$, $\mathbf{{E}}$ tangent to $\Omega$ = const (order {order:.2f})")
    ax.loglog(eps, generic.integration_error, ":", color="gray", lw=1.8, label="integration error estimate")
    ax.set_xlabel(r"adiabaticity $\epsilon = \hbar\,|d\mathbf{b}/dt|/\Omega^2$ (dimensionless)")
    ax.set_ylabel("relative error, max over the window\n(dimensionless)")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    ax.set_title("One state: exact spinor vs semiclassical (smooth switch-on)")
    return figure


@styled
def build_validate_crossover(plt, crossover):
    """The strong-Rashba figure: normalized torques vs alpha k_F/J, closed forms as lines."""
    import numpy as onp

    x = crossover.ratio
    dense = onp.geomspace(x.min(), x.max(), 200)
    n = crossover.normalized
    figure, ax = plt.subplots(figsize=(13.5, 6), layout="constrained")
    ax.semilogx(dense, (2 + dense**2) / (2 * (1 + dense**2)), "-", color="C0", lw=2.0,
                label=r"$T_2 = -d\mathbf{S}/dt$, closed form $(2 + x^2)/(2(1 + x^2))$")
    ax.semilogx(dense, 1 / (1 + dense**2), "-", color="C3", lw=2.0,
                label=r"$(2J/\hbar)\,\mathbf{M}\times\delta\mathbf{S}$, closed form $1/(1 + x^2)$")
    # Drawn back (large open markers) to front (small filled ones): where they coincide all stay visible.
    ax.semilogx(x, n["closed_strong_exchange"], ls=":", marker="^", ms=10, mfc="none", color="k", lw=1.6,
                label=r"papers' eq. 14 summed, $\sqrt{1 + x^2 + \eta^2}$")
    ax.semilogx(x, n["semiclassical_damping_torque"], ls="none", marker="s", ms=13, mfc="none", mew=1.5, color="C0",
                label=r"$T_2$ semiclassical (sea sum)")
    ax.semilogx(x, n["exact_damping_like_torque"], ls="none", marker="D", ms=8, color="C3",
                label=r"$(2J/\hbar)\,\mathbf{M}\times\delta\mathbf{S}$ exact spinors")
    ax.semilogx(x, n["exact_damping_torque"], ls="none", marker="o", ms=7, color="C0", mec="w", mew=0.8,
                label=r"$T_2$ exact spinors")
    ax.axhline(0.5, color="gray", lw=0.8)
    ax.set_ylim(-0.05, 1.6)
    ax.set_xlabel(r"Rashba-to-exchange ratio $x = \alpha k_F/J$ (dimensionless)")
    ax.set_ylabel("torque along $\\mathbf{E}\\times\\hat{z}$ / $T_{2,0}$\n(dimensionless)")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    ax.set_title(rf"$\mathbf{{M}} \parallel \hat{{z}}$, both bands, $E_F$ = {crossover.fermi_energy:g} eV, "
                 rf"$\alpha$ = {crossover.alpha:g} eV nm; $T_{{2,0}} = e m \alpha |\mathbf{{E}}|/(\pi\hbar^3)$")
    return figure


def validate_figures(out, generic, tangential, ensemble, crossover) -> list[str]:
    """adiabaticity.png, ensemble.png and crossover.png of `jaxsot validate`; the names written."""
    plt = pyplot()
    if plt is None:
        return []
    out = pathlib.Path(out)
    _save(plt, build_validate_adiabaticity(plt, generic, tangential), out / "adiabaticity.png")
    _save(plt, build_validate_ensemble(plt, ensemble), out / "ensemble.png")
    _save(plt, build_validate_crossover(plt, crossover), out / "crossover.png")
    return ["adiabaticity.png", "ensemble.png", "crossover.png"]


# Sweep variables and swept keys in words, for the sweep plots.
_AXIS_NAMES = {
    "alpha_eV_nm": r"Rashba coupling $\alpha$",
    "j_ex_eV": r"exchange $J$",
    "theta_deg": r"polar angle of $\mathbf{M}$, $\theta$",
    "phi_deg": r"azimuth of $\mathbf{M}$, $\phi$",
    "mass_ratio": r"effective mass $m^*/m_e$",
    "fermi_energy_eV": r"Fermi energy $E_F$",
    "efield_V_per_m": r"electric field $|\mathbf{E}|$",
    "direction_deg": r"direction of $\mathbf{E}$ from $x$",
    "tau_fs": r"relaxation time $\tau$",
    "ramp_time_fs": "ramp time",
    "frequency_THz": "drive frequency",
    "phase_deg": "drive phase",
    # the keys of the other [model] kinds (jaxsot sweep with [model] kind = ...)
    "hbar_v_eV_nm": r"Dirac velocity $\hbar v$",
    "kinetic_eV_nm2": r"$k^2$ coefficient $c$",
    "beta_eV_nm": r"Dresselhaus coupling $\beta$",
    "t_eV": r"hopping $t$",
    "a_nm": r"lattice constant $a$",
    "lam_eV": r"spin-orbit hopping $\lambda$",
}
_OBSERVABLE_NAMES = {
    "damping_torque": r"damping-like torque $T_2$",
    "field_like_torque": r"field-like torque $T_1$",
    "spin_force_density": r"spin-force density $F_{so}$",
    "spin_force_per_electron": "spin force per electron",
    "spin_density_change": r"spin density change $\delta S$",
    "current_density": r"current density $j$",
    "band_density": "electron density",
    "eta": r"$\eta = m\alpha^2/(\hbar^2 J)$",
    "min_splitting": r"smallest band splitting $\Omega$",
}
_FORMS = {"exact": "exact", "second_order": "second order (eq. 12)", "strong_exchange": "strong exchange (eq. 13/14)"}


def describe_variable(name: str) -> str:
    """A sweep variable in words: 'damping_torque_error_strong_exchange' -> 'relative error of the
    damping-like torque T2, strong exchange (eq. 13/14)'."""
    for base, words in sorted(_OBSERVABLE_NAMES.items(), key=lambda item: -len(item[0])):
        if name == base:
            return words
        if name.startswith(base + "_"):
            rest = name[len(base) + 1 :]
            if rest.startswith("error_"):
                return f"relative error of the {words}, {_FORMS.get(rest[6:], rest[6:])}"
            return f"{words}, {_FORMS.get(rest, rest.replace('_', ' '))}"
    return name.replace("_", " ")


def describe_axis(name: str) -> str:
    """A swept key in words, e.g. 'alpha_eV_nm' -> 'Rashba coupling alpha'."""
    return _AXIS_NAMES.get(name, name.replace("_", " "))

"""`jaxsot validate`: every layer against an independent route, and the quantum check, from the command line.

A thin layer like `jaxsot run`: option objects (jaxsot._config.ValidateConfig) -> library calls
(`jaxsot.validate_layers`, jaxsot._quantum) -> printed tables (lines <= 100 columns), results.json,
CSV files and figures. No physics here. `--quick`: the quick subset of the layer checks only.
"""

import math
import pathlib
import sys
import textwrap
import time
from .._quantum._scans import INTEGRATION_ERROR_CONSTANT
from ..constants import HBAR
from ._figures import validate_figures
from ._common import write_json, write_text, drive_from_options, model_from_options, run_metadata, tau_from_options, times_from_options, write_table_csv
from ._config import ValidateConfig, config_to_toml
from ._common import prepare_out, read_config_text, set_precision
from ._config import DEFAULT_VALIDATE_TOML, parse_validate_config
from ._preflight import check_disk, check_validate


_ORDER_TOLERANCE = 0.25


def _inputs(config: ValidateConfig, dtype):
    """Option objects (SI / customary units) -> library objects (eV, nm, fs, V/nm)."""
    drive, direction = drive_from_options(config.drive, dtype)
    model = model_from_options(config.model, dtype)
    return model, drive, times_from_options(config.time, dtype), tau_from_options(config.relaxation), direction


def _scan_state(model, config: ValidateConfig):
    """The scanned state: the point of the Fermi contour of `band` on the ray at k_angle_deg."""
    import jaxsot

    band = config.scan.band
    fermi_energy = config.ensemble.fermi_energy_eV
    if band not in jaxsot.occupied_bands(model, fermi_energy):
        raise ValueError(
            f"[scan] band = {band} is empty at fermi_energy_eV = {fermi_energy:g}; allowed: an occupied band "
            f"({', '.join(str(b) for b in jaxsot.occupied_bands(model, fermi_energy))})"
        )
    return jaxsot.fermi_point(model, fermi_energy, band, math.radians(config.scan.k_angle_deg))


def _order_row(check, scan, name, expected_order, regime):
    order, prefactor = scan.orders[name]
    errors = scan.errors[name]
    fit = f"order {order:.2f} (c = {prefactor:.2g})" if math.isfinite(order) else "order n/a (< 2 points above the floor)"
    measured = f"err {errors[0]:.1e}..{errors[-1]:.1e}; {fit}"
    ok = math.isfinite(order) and abs(order - expected_order) < _ORDER_TOLERANCE
    expected = f"order {expected_order:g}"
    return {"check": check, "regime": regime, "measured": measured, "expected": expected, "ok": ok,
            "value": order, "expected_value": expected_order, "kind": "check"}


def _value_row(check, regime, value, expected, ok, text=None, kind="check"):
    """A table row. kind "check": a property the physics must have; kind "finding": a documented
    failure of the papers' formula, reproduced here (ok = the finding reproduced, within its bound)."""
    return {"check": check, "regime": regime, "measured": text or f"{value:.3g}", "expected": expected,
            "ok": bool(ok), "value": float(value), "kind": kind}


WIDTH = 100
"""Terminal lines of `jaxsot validate` stay within this many columns."""


def _say(text: str, indent: str = "  ") -> None:
    """Print a paragraph wrapped to WIDTH columns (continuation lines indented)."""
    for paragraph in text.split("\n"):
        print(textwrap.fill(paragraph, WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False))


def _print_table(rows):
    """The quantum table: the check and its verdict on one line, measured / expected / regime below."""
    print(f"{'check (quantum vs semiclassical)':<70} {'ok':>8}")
    print("-" * 79)
    for row in rows:
        verdict = ("yes" if row["ok"] else "NO") if row["kind"] == "check" else ("finding" if row["ok"] else "NOT REPRODUCED")
        print(f"{row['check']:<70} {verdict:>8}")
        _say(f"    measured {row['measured']}; expected {row['expected']}; {row['regime']}", indent="    ")


def _print_layer_table(rows):
    """The layer table: check, error, tolerance and verdict on one line, the reference below."""
    print(f"{'layer':<9} {'check':<56} {'error':>8} {'tolerance':>9} {'ok':>3}")
    print("-" * 89)
    for row in rows:
        print(f"{row.layer:<9} {row.check[:56]:<56} {row.error:>8.1e} {row.tolerance:>9.0e} {'yes' if row.ok else 'NO':>3}")
        detail = f"; {row.detail}" if row.detail else ""
        _say(f"          vs {row.reference}{detail}", indent="          ")


def _layer_rows(config: ValidateConfig, quick: bool, precision: str):
    """Run `jaxsot.validate_layers` as configured (None when not asked for); one stderr line per check."""
    import jaxsot

    mode = "quick" if quick else config.layers.checks
    if mode == "none":
        return None
    if precision == "float32":
        print("note: the layer checks need float64 (tolerances down to 1e-10): not run with --precision float32")
        return None

    def progress(name, seconds):
        print(f"  layer check {name}: {seconds:.1f} s", file=sys.stderr, flush=True)

    return jaxsot.validate_layers(quick=(mode == "quick"), progress=progress)


def run_quick(config: ValidateConfig, source: str, out: pathlib.Path, precision: str) -> int:
    """`jaxsot validate --quick`: the quick subset of the layer checks only. Returns the exit status."""
    import jax

    import jaxsot

    started = time.perf_counter()
    _say(f"jaxsot {jaxsot.__version__} validate --quick ({source}), precision {precision}, jax {jax.__version__} "
         f"on {jax.default_backend()}: layer checks (quick subset), no quantum comparison")
    layers = _layer_rows(config, True, precision)
    if layers is None:
        print("jaxsot validate: --quick runs the layer checks, which need --precision float64")
        return 1
    print()
    _print_layer_table(layers)
    elapsed = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    payload = {**run_metadata(precision, source, config), "quick": True,
               "layers": [row.as_dict() for row in layers], "runtime_s": elapsed}
    write_json(out / "results.json", payload)
    write_text(out / "config.toml", f"# resolved from: {source}\n" + config_to_toml(config))
    failed = [f"{row.layer}: {row.check}" for row in layers if not row.ok]
    print(f"\n{len(layers) - len(failed)}/{len(layers)} layer checks passed; {elapsed:.1f} s")
    _say(f"wrote config.toml, results.json to {out}")
    if failed:
        _say(f"jaxsot validate: {len(failed)} check(s) failed: " + "; ".join(failed))
        return 1
    return 0


def run_validate(config: ValidateConfig, source: str, out: pathlib.Path, precision: str, dtype) -> int:
    """Run the layer checks and the three quantum comparisons, print the tables, write the files.
    Returns the exit status."""
    import jax
    import numpy as onp

    import jaxsot

    started = time.perf_counter()
    _say(f"jaxsot {jaxsot.__version__} validate ({source}), precision {precision}, jax {jax.__version__} on {jax.default_backend()}")
    layers = _layer_rows(config, False, precision)
    if layers is not None:
        print()
        _print_layer_table(layers)
        print()
    model, drive, times, tau, direction = _inputs(config, dtype)
    fermi_energy = config.ensemble.fermi_energy_eV

    # 1. One state, errors vs epsilon (field along the configured direction, and tangential).
    scan = config.scan
    k0 = _scan_state(model, config)
    targets = onp.geomspace(scan.adiabaticity_min, scan.adiabaticity_max, scan.num_points)
    options = dict(ramp_periods=scan.ramp_periods, window_periods=scan.window_periods,
                   steps_per_period=scan.steps_per_period, fit_max=scan.fit_max)
    generic = jaxsot.adiabaticity_scan(model, k0, scan.band, targets, direction=direction, **options)
    tangential = jaxsot.adiabaticity_scan(model, k0, scan.band, targets, direction="tangential", **options)
    _say(f"state: band {scan.band:+d}, k0 = ({k0[0]:.4g}, {k0[1]:.4g}) /nm on the Fermi contour, Omega = {generic.splitting:.4g} eV; "
         f"epsilon {targets[0]:.1e}..{targets[-1]:.1e}  [{time.perf_counter() - started:.1f} s]")

    # 2. The Fermi sea of the configured model.
    ensemble = jaxsot.exact_simulate(
        model, fermi_energy, drive, times, tau=tau, num_phi=config.ensemble.num_phi, num_r=config.ensemble.num_r,
        max_angle=config.numerics.max_angle_rad,
    )
    eps_sea = float(onp.nanmax(onp.asarray(ensemble.adiabaticity)))
    bound = INTEGRATION_ERROR_CONSTANT * config.numerics.max_angle_rad**4
    _say(f"sea: {ensemble.num_states} states x {times.shape[0]} steps ({ensemble.substeps} Magnus steps each), "
         f"max epsilon {eps_sea:.2e}, integration error <~ {bound:.1e} (relative)  [{time.perf_counter() - started:.1f} s]")

    # 3. The strong-Rashba crossover, M || z.
    cross = config.crossover
    ratios = onp.geomspace(cross.ratio_min, cross.ratio_max, cross.num_points)
    crossover = jaxsot.strong_rashba_crossover(
        cross.alpha_eV_nm, cross.fermi_energy_eV, ratios, mass_ratio=config.model.mass_ratio, direction=direction,
        num_phi=cross.num_phi, num_r=cross.num_r, ramp_periods=cross.ramp_periods, window_periods=cross.window_periods,
        max_angle=cross.max_angle_rad,
    )
    _say(f"crossover: M || z, alpha k_F/J = {ratios[0]:.3g}..{ratios[-1]:.3g}, max epsilon {crossover.adiabaticity.max():.1e}, "
         f"integration error <~ {INTEGRATION_ERROR_CONSTANT * cross.max_angle_rad**4:.1e}  [{time.perf_counter() - started:.1f} s]\n")

    ratio_squared = max(
        float(onp.max(onp.linalg.norm(onp.asarray(jaxsot.fermi_contour(model, fermi_energy, band, 64)[0]), axis=-1)))
        * abs(float(model.alpha)) / float(model.j_ex)
        for band in jaxsot.occupied_bands(model, fermi_energy)
    ) ** 2
    rows = _rows(generic, tangential, ensemble, crossover, tau, config, ratio_squared)
    _print_table(rows)
    for note in ensemble.notes:
        _say(f"note: {note}")
    if precision == "float32":
        _say("note: float32 limits the per-state errors to a ~1e-4 floor and the small non-adiabatic sums (strong Rashba) "
              "to ~1e-2: the order fits and the crossover checks need --precision float64")
    _say(
        "\nT2 = -dS/dt, T1 = (2/hbar) <B_so x sigma>, exchange torque (2J/hbar) M x S = T1 + T2 (exact identity);"
        "\nthe damping-like exchange torque (2J/hbar) M x delta S comes from the non-adiabatic spin delta S = S - S_band."
        "\nIntrinsic (clean-limit) results: vertex corrections from disorder can cancel the intrinsic damping-like torque."
    )

    elapsed = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    bad_columns = {}
    bad_columns["scan.csv"] = write_table_csv(out / "scan.csv", {
        "epsilon_field_direction": generic.adiabaticity,
        **{f"{k}_field_direction": v for k, v in generic.errors.items()},
        "integration_error_field_direction": generic.integration_error,
        "epsilon_tangential": tangential.adiabaticity,
        **{f"{k}_tangential": v for k, v in tangential.errors.items()},
    })
    bad_columns["crossover.csv"] = write_table_csv(out / "crossover.csv", {
        "alpha_kF_over_J": crossover.ratio, "j_ex_eV": crossover.j_ex, "efield_V_per_nm": crossover.efield,
        **crossover.normalized, "max_epsilon": crossover.adiabaticity,
    })
    series = {"t_fs": onp.asarray(ensemble.times)}
    for name, values in ensemble.observables.items():
        for approx, v in values.items():
            for c in range(3):
                series[f"{name}_{approx}_{'xyz'[c]}"] = onp.asarray(v)[:, c]
    series["max_epsilon"] = onp.asarray(ensemble.adiabaticity)
    bad_columns["ensemble.csv"] = write_table_csv(out / "ensemble.csv", series)
    bad_columns = {name: columns for name, columns in bad_columns.items() if columns}
    figures = validate_figures(out, generic, tangential, ensemble, crossover)
    payload = {
        **run_metadata(precision, source, config),
        "units": {"time": "fs", "energy": "eV", "length": "nm", "efield": "V/nm internally, V/m in the config",
                  "ensemble torques": "1/(nm^2 fs)", "errors": "relative (dimensionless)",
                  "crossover": "torque along E x z / (e m alpha |E| / (pi hbar^3))"},
        "table": rows,
        "layers": None if layers is None else [row.as_dict() for row in layers],
        "scan": {
            "k0_per_nm": [float(x) for x in k0], "band": scan.band, "splitting_eV": generic.splitting,
            "ramp_time_fs": generic.ramp_time,
            "field_direction": _scan_dict(generic), "tangential": _scan_dict(tangential),
        },
        "ensemble": {
            "num_states": ensemble.num_states, "substeps": ensemble.substeps,
            "max_epsilon": eps_sea, "integration_error_bound": bound,
            "relative_errors": {f"{n}/{a}": ensemble.relative_error(n, a) for n, v in ensemble.observables.items()
                                for a in v if a != "exact"},
            "notes": list(ensemble.notes),
        },
        "crossover": {
            "alpha_kF_over_J": crossover.ratio.tolist(), "j_ex_eV": crossover.j_ex.tolist(),
            "efield_V_per_nm": crossover.efield.tolist(), "max_epsilon": crossover.adiabaticity.tolist(),
            "normalized": {k: v.tolist() for k, v in crossover.normalized.items()},
        },
        "runtime_s": elapsed,
    }
    if bad_columns:
        payload["csv_columns_with_nan_or_inf"] = bad_columns
    non_finite = write_json(out / "results.json", payload)
    write_text(out / "config.toml", f"# resolved from: {source}\n" + config_to_toml(config))
    written = ["config.toml", "results.json", "scan.csv", "ensemble.csv", "crossover.csv", *figures]
    checks = [r for r in rows if r["kind"] == "check"]
    findings = [r for r in rows if r["kind"] == "finding"]
    failed = [f"{row.layer}: {row.check}" for row in layers or () if not row.ok]
    failed += [r["check"] for r in rows if not r["ok"]]
    layer_text = "" if layers is None else f"{sum(row.ok for row in layers)}/{len(layers)} layer checks and "
    _say(f"\n{layer_text}{sum(r['ok'] for r in checks)}/{len(checks)} quantum checks passed, {sum(r['ok'] for r in findings)}/"
         f"{len(findings)} findings on the papers' formulas reproduced; {elapsed:.1f} s")
    _say(f"wrote {', '.join(written)} to {out}")
    finite = all(bool(onp.all(onp.isfinite(onp.asarray(v["exact"])))) for v in ensemble.observables.values())
    if not finite:
        failed.append("the exact ensemble observables are not finite")
    for name, columns in bad_columns.items():
        _say(f"note: {name} has nan/inf in {len(columns)} column(s): {', '.join(columns[:4])}")
    if non_finite:  # e.g. an error order that could not be fitted: null in the file, listed, and said here
        _say(f"note: {len(non_finite)} value(s) of results.json are not finite (written as null and listed under "
             f"non_finite_values): {'; '.join(non_finite[:3])}")
    if failed:
        _say(f"jaxsot validate: {len(failed)} check(s) failed: " + "; ".join(failed))
        return 1
    return 0


def _scan_dict(scan):
    return {
        "epsilon": scan.adiabaticity.tolist(), "efield_V_per_nm": scan.efield.tolist(),
        "errors": {k: v.tolist() for k, v in scan.errors.items()},
        "orders": {k: {"order": p, "prefactor": c} for k, (p, c) in scan.orders.items()},
        "integration_error": scan.integration_error.tolist(),
    }


def _rows(generic, tangential, ensemble, crossover, tau, config, ratio_squared) -> list[dict]:
    """The table: ratio_squared = max (alpha k_F/J)^2 over the sea's contours (bound of the papers' identification)."""
    import numpy as onp

    from ..constants import ELECTRON_MASS

    regime = f"state, eps {generic.adiabaticity[0]:.0e}..{generic.adiabaticity[-1]:.0e}"
    rows = [
        _order_row("state: T2 = -dsigma/dt exact vs semiclassical", generic, "spin_rate", 1, regime),
        _order_row("state: T2 exact vs semiclassical + d(delta sigma_1)/dt", generic, "spin_rate_first_order", 2, regime),
        _order_row("state: delta sigma vs first-order formula", generic, "nonadiabatic_spin", 1, regime),
        _order_row("state: delta sigma vs first + second order", generic, "nonadiabatic_spin_second_order", 2, regime),
        _order_row("state: (2J/hbar) M x sigma vs band + first order", generic, "exchange_torque_first_order", 1, regime),
        _order_row("state, E tangent to Omega = const: T2 exact vs sc", tangential, "spin_rate", 2, regime),
    ]
    plateau = generic.errors["exchange_torque_papers"][0]
    rows.append(_value_row("state: exchange torque vs papers' T1 + T2 (adiabatic)", regime, plateau,
                           "~ alpha k/Omega, does not vanish", plateau > 10 * generic.errors["spin_rate"][0], kind="finding"))
    eps = float(onp.nanmax(onp.asarray(ensemble.adiabaticity)))
    relax = "no relaxation" if tau is None else f"tau {tau:g} fs"
    sea = f"sea, eps<={eps:.0e}, {relax}"
    err = ensemble.relative_error
    hint = "" if tau is None else f" + hbar/(2 Omega tau) ~ {HBAR / (2 * float(config.model.j_ex_eV) * tau):.0e}"
    rows += [
        _value_row("sea: T2 exact vs semiclassical", sea, err("damping_torque", "semiclassical"),
                   f"O(eps){hint}", err("damping_torque", "semiclassical") < 0.1),
        _value_row("sea: T2 exact vs semiclassical + first order", sea, err("damping_torque", "first_order"),
                   "small vs the row above", err("damping_torque", "first_order") < max(1e-2, err("damping_torque", "semiclassical"))),
        _value_row("sea: T1 - T1_eq exact vs semiclassical", sea, err("field_like_torque", "semiclassical"),
                   "small (T1 ~ shift)", err("field_like_torque", "semiclassical") < 0.05),
        _value_row("sea: delta S = S - S_band vs first order", sea, err("nonadiabatic_spin_density", "first_order"),
                   f"O(eps){hint}", err("nonadiabatic_spin_density", "first_order") < 0.1),
        _value_row("sea: delta S vs first + second order", sea, err("nonadiabatic_spin_density", "second_order"),
                   "small vs the row above", err("nonadiabatic_spin_density", "second_order") < 1e-2),
        _value_row("sea: exchange torque vs papers' T1 + T2", sea, err("exchange_torque", "semiclassical"),
                   "small after the sea sum", err("exchange_torque", "semiclassical") < 0.05),
        _value_row("sea: (2J/hbar) M x delta S vs T2_sc (papers' identification)", sea,
                   err("damping_like_torque", "semiclassical"), f"<= (alpha k_F/J)^2 = {ratio_squared:.2g}",
                   err("damping_like_torque", "semiclassical") <= ratio_squared),
    ]
    n = crossover.normalized
    x = crossover.ratio
    t2 = onp.max(onp.abs(n["exact_damping_torque"] / n["closed_damping_torque"] - 1))
    dl = onp.max(onp.abs(n["exact_damping_like_torque"] / n["closed_damping_like_torque"] - 1))
    cross = f"M||z, alpha k_F/J {x[0]:.2g}..{x[-1]:.2g}"
    c = config.crossover
    eta = config.model.mass_ratio * ELECTRON_MASS * c.alpha_eV_nm**2 / (HBAR**2 * float(crossover.j_ex[-1]))
    papers = float(onp.sqrt(1 + x[-1] ** 2 + eta**2))
    rows += [
        _value_row("M||z: sea T2 exact vs closed form", cross, t2, "< 1e-3", t2 < 1e-3),
        _value_row("M||z: (2J/hbar) M x delta S exact vs closed form", cross, dl, "< 1e-3", dl < 1e-3),
        _value_row(f"strong Rashba: T2 / strong-exchange value at x = {x[-1]:.3g}", cross, n["exact_damping_torque"][-1],
                   f"(2+x^2)/(2(1+x^2)) = {(2 + x[-1]**2) / (2 * (1 + x[-1]**2)):.3g} -> 1/2",
                   abs(n["exact_damping_torque"][-1] - (2 + x[-1]**2) / (2 * (1 + x[-1]**2))) < 1e-2),
        _value_row(f"strong Rashba: damping-like torque / s.e. value, x = {x[-1]:.3g}", cross,
                   n["exact_damping_like_torque"][-1], f"1/(1+x^2) = {1 / (1 + x[-1]**2):.2g} -> 0",
                   abs(n["exact_damping_like_torque"][-1] - 1 / (1 + x[-1]**2)) < 1e-2 / (1 + x[-1]**2) + 1e-4),
        _value_row(f"strong Rashba: papers' eq. 14 summed / s.e. value, x = {x[-1]:.3g}", cross,
                   n["closed_strong_exchange"][-1], f"sqrt(1+x^2+eta^2) = {papers:.3g}: grows, fails",
                   abs(n["closed_strong_exchange"][-1] / papers - 1) < 1e-6 and papers > 2, kind="finding"),
    ]
    return rows


def register(commands) -> None:
    """Add the `validate` subcommand to an argparse subparsers object."""
    validate = commands.add_parser(
        "validate", help="every layer against an independent route, and the quantum check: exact spinor dynamics of every "
        "k-state vs the semiclassical picture (exit 1 if a check fails)"
    )
    validate.add_argument("config", nargs="?", help="TOML configuration (default: the embedded one; see `jaxsot default-config validate`)")
    validate.add_argument("--out", default="jaxsot-validate", help="output folder (default: ./jaxsot-validate)")
    validate.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating-point precision (default float64)")
    validate.add_argument("--quick", action="store_true",
                          help="only the quick subset of the layer checks (no quantum comparison; float64)")


def main(args) -> int:
    """`jaxsot validate` with parsed arguments; returns the exit status (1 when a check fails)."""
    text, source = read_config_text(args.config, DEFAULT_VALIDATE_TOML)
    config = parse_validate_config(text, source)
    estimate = check_validate(config, source)  # Fermi seas, scanned band, work and memory: before JAX starts
    out = prepare_out(args.out, inputs=[args.config])  # staged: published whole when the command returns
    check_disk(out, estimate["disk"], "the CSV files and results.json")
    dtype = set_precision(args.precision)
    if args.quick:
        return run_quick(config, source, out, args.precision)
    return run_validate(config, source, out, args.precision, dtype)

"""`jaxsot synth --kind st-fmr`: a synthetic spin-torque FMR spectrum V_mix(B) (called from `jaxsot.cli.fit`).

The spectrum is `jaxsot.st_fmr_spectrum` (linearized macrospin under the RF current, microscopic B_DL/B_FL
plus the Oersted field, AMR readout) plus Gaussian noise, written as CSV: settings as '# name [unit] = value'
lines, columns `B [T]`, `V_mix [V]` (and `sigma_V_mix [V]`). Fit it with `jaxsot.fit.fit_st_fmr`, or get
xi_DL from the Lorentzian ratio with `jaxsot.fit.st_fmr_ratio_efficiency`.
"""

import math
import time

from ._common import UsageError, check_output_file, set_precision, write_text
from ._progress import say
from ._model_config import MASS_RATIO_MAX, MASS_RATIO_MIN

KIND = "st-fmr"


def register_options(synth_parser) -> None:
    """Add the `--kind st-fmr` options to `jaxsot synth`."""
    group = synth_parser.add_argument_group(
        "--kind st-fmr",
        "a field-swept ST-FMR spectrum V_mix(B) of an in-plane magnet (linearized LLG under the RF current j_rf = "
        "--current-density, microscopic fields + --oersted-field, AMR readout) plus Gaussian noise; also uses --alpha, "
        "--j-ex, --mass-ratio, --tau, --fermi-energy, --model, --rho0, --ms, --thickness, --points (field points, "
        "default 200), --noise, --seed, --unknown-noise. 200 fields take ~5 ms after compilation.",
    )
    group.add_argument("--rf-frequency", type=float, default=10.0, help="RF frequency [GHz] (default 10)")
    group.add_argument("--fmr-damping", type=float, default=0.01, help="Gilbert damping of the magnet (default 0.01)")
    group.add_argument("--r-amr", type=float, default=0.5, help="anisotropic magnetoresistance Delta R_AMR [ohm] (default 0.5)")
    group.add_argument("--rf-current", type=float, default=1e-3, help="RF current amplitude [A] (default 1e-3)")
    group.add_argument("--phi-h-deg", type=float, default=45.0, help="in-plane field angle from the current [deg] (default 45)")
    group.add_argument("--perpendicular-anisotropy", type=float, default=0.0,
                       help="perpendicular uniaxial anisotropy field [T] (M_eff = mu0 M_s - this; default 0)")


def _check(option, value, low, high, *, low_inclusive=True, unit=""):
    too_low = value < low if low_inclusive else value <= low
    if not math.isfinite(value) or too_low or value > high:
        raise UsageError(f"{option} = {value:g} is out of range; allowed: {'[' if low_inclusive else '('}{low:g}, {high:g}]"
                         f"{' ' + unit if unit else ''}")


def run_synth_st_fmr(args) -> int:
    """Write a synthetic ST-FMR spectrum to args.output."""
    for option, value, low, high, inclusive, unit in (
        ("--alpha", args.alpha, -10.0, 10.0, True, "eV nm"), ("--j-ex", args.j_ex, 0.0, 100.0, False, "eV"),
        ("--mass-ratio", args.mass_ratio, MASS_RATIO_MIN, MASS_RATIO_MAX, True, ""), ("--tau", args.tau, 0.0, 1e7, False, "fs"),
        ("--fermi-energy", args.fermi_energy, -100.0, 100.0, True, "eV"), ("--noise", args.noise, 0.0, 10.0, True, "of the range"),
        ("--rf-frequency", args.rf_frequency, 0.0, 1e4, False, "GHz"), ("--fmr-damping", args.fmr_damping, 0.0, 10.0, False, ""),
        ("--r-amr", args.r_amr, -1e9, 1e9, True, "ohm"), ("--rf-current", args.rf_current, 0.0, 10.0, False, "A"),
        ("--phi-h-deg", args.phi_h_deg, -360.0, 360.0, True, "deg"), ("--oersted-field", args.oersted_field, -10.0, 10.0, True, "T"),
        ("--current-density", args.current_density, 0.0, 1e14, False, "A/m^2"), ("--rho0", args.rho0, 0.0, 1.0, False, "ohm m"),
        ("--ms", args.ms, 0.0, 10.0, False, "T"), ("--thickness", args.thickness, 0.0, 1e4, False, "nm"),
        ("--perpendicular-anisotropy", args.perpendicular_anisotropy, -100.0, 100.0, True, "T"),
    ):
        _check(option, value, low, high, low_inclusive=inclusive, unit=unit)
    if args.alpha == 0.0:
        raise UsageError("--alpha = 0; allowed: a non-zero Rashba coupling (either sign)")
    m_eff = args.ms - args.perpendicular_anisotropy
    if m_eff <= 0.0:
        raise UsageError(f"--ms - --perpendicular-anisotropy = {m_eff:g} T; allowed: > 0 (an in-plane magnet)")
    if not 3 <= args.points <= 100_000:
        raise UsageError(f"--points = {args.points} is out of range; allowed: 3 to 100000")
    check_output_file(args.output, "output", force=args.force)
    set_precision("float64")

    import numpy as onp

    from jaxsot import HallSettings, hall_bands, st_fmr_spectrum
    from jaxsot._measure._stfmr import GAMMA

    started = time.perf_counter()
    w_over_g = 2.0 * math.pi * args.rf_frequency * 1e9 * 1e-15 / GAMMA
    b_res = (-m_eff + math.sqrt(m_eff**2 + 4.0 * w_over_g**2)) / 2.0  # Kittel, in-plane
    width = max(args.fmr_damping * w_over_g, 1e-4)
    field = onp.linspace(max(b_res - 12.0 * width, 0.2 * b_res), b_res + 12.0 * width, args.points)
    params = {"alpha": args.alpha, "j_ex": args.j_ex, "mass_ratio": args.mass_ratio, "tau": args.tau,
              "anisotropy_field": args.perpendicular_anisotropy, "oersted_field": args.oersted_field}
    settings = HallSettings(
        math.radians(args.phi_h_deg), field, fermi_energy=args.fermi_energy, current_density=args.current_density, rho0=args.rho0,
        ms_tesla=args.ms, thickness=args.thickness, easy_axis=(0.0, 0.0, 1.0), model=args.model,
        bands=hall_bands({**params, "r_ahe": 0.0}, args.fermi_energy) if args.model == "exact" else None,
    )
    out = st_fmr_spectrum(params, settings, frequency=args.rf_frequency * 1e9, gilbert=args.fmr_damping, r_amr=args.r_amr,
                          current=args.rf_current)
    v = onp.asarray(out.v_mix)
    if not onp.all(onp.isfinite(v)):
        raise UsageError("the equilibrium did not converge at some field; allowed: settings with an in-plane saturated magnet")
    sigma = args.noise * float(onp.ptp(v))
    noisy = v + sigma * onp.random.default_rng(args.seed).normal(size=v.shape)
    lines = [
        f"# synthetic ST-FMR spectrum from jaxsot synth --kind {KIND} ({args.model} torque; noise {args.noise:g} of the range, seed {args.seed})",
        "# truth: " + ", ".join(f"{k} = {val:g}" for k, val in params.items()) + f", gilbert = {args.fmr_damping:g}, r_amr = {args.r_amr:g}"
        " (eV nm, eV, 1, fs, T, T, 1, ohm)",
        f"# frequency [GHz] = {args.rf_frequency:.10g}", f"# phi_H [deg] = {args.phi_h_deg:.10g}",
        f"# j_rf [A/m^2] = {args.current_density:.10g}", f"# current_peak [A] = {args.rf_current:.10g}",
        f"# fermi_energy [eV] = {args.fermi_energy:.10g}", f"# rho0 [ohm m] = {args.rho0:.10g}", f"# ms [T] = {args.ms:.10g}",
        f"# thickness [nm] = {args.thickness:.10g}", f"# m_eff [T] = {m_eff:.10g}",
    ]
    known = not args.unknown_noise and sigma > 0.0
    lines.append("B [T],V_mix [V]" + (",sigma_V_mix [V]" if known else ""))
    for b, value in zip(field, noisy):
        lines.append(f"{b:.10g},{value:.10g}" + (f",{sigma:.6g}" if known else ""))
    write_text(__import__("pathlib").Path(args.output), "\n".join(lines) + "\n")
    say(f"wrote {args.output}: {args.points} fields around the Kittel resonance B_r = {b_res:.4g} T "
          f"(f = {args.rf_frequency:g} GHz, M_eff = {m_eff:g} T), in {time.perf_counter() - started:.1f} s")
    return 0


def is_st_fmr_file(path) -> bool:
    """Whether a data file's header has a V_mix column (an ST-FMR spectrum); unreadable files give False.

    Read through the one data-file reader (regular files only, size-limited, never a FIFO or device)."""
    from ..fit._csv import FitDataError, read_data_text

    try:
        text = read_data_text(path)
    except FitDataError:
        return False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return any(cell.strip().split("[")[0].strip() == "V_mix" for cell in stripped.split(","))
    return False


def run_fit_st_fmr(args) -> int:
    """`jaxsot fit spectrum.csv` for an ST-FMR spectrum: fit_st_fmr + the ratio analysis; results.json under --out."""
    from ..fit._csv import FitDataError
    from ._common import parse_pairs, prepare_out, write_json

    if len(args.data) != 1:
        raise UsageError(f"{len(args.data)} ST-FMR files; allowed: one spectrum per fit")
    set_precision("float64")
    from ..fit._stfmr import ST_FMR_PARAMETERS, fit_st_fmr, st_fmr_ratio_efficiency
    from ..fit._stfmr_csv import read_st_fmr_csv

    started = time.perf_counter()
    free = tuple(n.strip() for n in args.free.split(",") if n.strip()) if args.free else ("alpha", "tau", "gilbert")
    if not free or any(n not in ST_FMR_PARAMETERS for n in free) or len(set(free)) != len(free):
        raise UsageError(f"--free {args.free!r}: allowed: distinct names from {', '.join(ST_FMR_PARAMETERS)}")
    given = parse_pairs("--guess", args.guess, ST_FMR_PARAMETERS)
    spectrum = read_st_fmr_csv(args.data[0])
    s = spectrum["settings"]
    if args.fermi_energy is not None:
        s["fermi_energy"] = args.fermi_energy
    m_eff = s.get("m_eff", s["ms"])
    guess = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0, "anisotropy_field": s["ms"] - m_eff,
             "oersted_field": 0.0, "gilbert": 0.01, "r_amr": 0.5, **given}
    out = prepare_out(args.out)

    from jaxsot import HallSettings, hall_bands

    settings = HallSettings(s["phi_H"], spectrum["field"], fermi_energy=s["fermi_energy"], current_density=s["j_rf"], rho0=s["rho0"],
                            ms_tesla=s["ms"], thickness=s["thickness"], easy_axis=(0.0, 0.0, 1.0), model=args.model, num=args.num,
                            bands=hall_bands({**guess, "r_ahe": 0.0}, s["fermi_energy"]) if args.model == "exact" else None)
    say(f"fitting {args.data[0]}: {len(spectrum['field'])} fields, f = {s['frequency'] / 1e9:g} GHz, model {args.model}, free {', '.join(free)}")
    try:
        result = fit_st_fmr(spectrum["field"], spectrum["v_mix"], settings, frequency=s["frequency"], current=s["current_peak"],
                            guess=guess, free=free, sigma=spectrum["sigma"])
    except ValueError as error:
        raise FitDataError(f"{args.data[0]}: {error}") from None
    for name in free:
        se = result["standard_errors"][name]
        text = f"{se:.3g}" if result["identifiable"][name] else "not determined"
        say(f"  {name:<16} {result['parameters'][name]:12.6g} +- {text}")
    for d in result["physical"]:
        if d["determined"] or d.get("given", True):
            say(f"  {d['combination']:<24} {'determined' if d['determined'] else 'NOT determined'} [{d['label']}]")
    ratio = st_fmr_ratio_efficiency(spectrum["field"], spectrum["v_mix"], m_eff=m_eff, oersted_field=guess["oersted_field"] or 1.0,
                                    current_density=s["j_rf"], ms_tesla=s["ms"], thickness=s["thickness"])
    say(f"  Lorentzian: B_r = {ratio['lorentzian']['B_r'] * 1e3:.5g} mT, half width {ratio['lorentzian']['D'] * 1e3:.4g} mT, "
          f"S/A = {ratio['lorentzian']['S'] / ratio['lorentzian']['A']:.5g}; B_DL/(B_FL + B_Oe) = {ratio['ratio']:.5g}")
    say(f"  reduced chi^2 = {result['reduced_chi2']:.4g} ({'known noise' if spectrum['sigma'] is not None else 'noise estimated'})")
    payload = {"kind": "st-fmr", "file": args.data[0], "model": args.model, "free": list(free), "parameters": result["parameters"],
               "standard_errors": result["standard_errors"], "identifiable": result["identifiable"],
               "physical": result["physical"], "chi2": result["chi2"], "dof": result["dof"], "reduced_chi2": result["reduced_chi2"],
               "lorentzian": ratio["lorentzian"], "ratio_dl_over_in_plane": ratio["ratio"], "runtime_s": time.perf_counter() - started}
    non_finite = write_json(out / "results.json", payload)
    say(f"wrote {out / 'results.json'} in {time.perf_counter() - started:.1f} s")
    if non_finite:
        say(f"note: {len(non_finite)} value(s) of results.json are not finite (written as null)")
    return 0

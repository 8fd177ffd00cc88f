"""`jaxsot llg`: config (SI) -> Magnet / SpinOrbitTorque (internal units) -> simulate_llg -> files and plots.

SI conversions at this boundary (the library works in eV, nm, fs, V/nm, T):
- E = rho0 j [V/m] -> V/nm (x 1e-9), along the current direction.
- The current flows in the magnetic film of thickness d: sheet current j d, sheet conductance d/rho0.
  The momentum relaxation time follows from Drude with the band densities at M || z,
  tau = m d/(rho0 e^2 (n_lower + n_upper)), so that the rigid shift Delta k = qE tau/hbar carries j.
- Times in ns in the files (1 ns = 1e6 fs), rates in 1/ns, powers in W/m^2, energies in J/m^2.
"""

import math
import pathlib
import time
from ..constants import J_PER_M2_PER_EV_PER_NM2
from . import _figures
from ._progress import Status, say
from ._common import run_metadata, write_json, write_table_csv, write_text
from ._common import prepare_out, read_config_text, set_precision
from ._config import DEFAULT_LLG_TOML, parse_llg_config
from ._preflight import check_disk, check_llg



def _direction(theta_deg, phi_deg):
    theta, phi = math.radians(theta_deg), math.radians(phi_deg)
    return [math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)]


def build_llg_inputs(config, dtype):
    """Option objects -> (magnet, torque, m0, settings dict, derived dict), internal units."""
    import jax.numpy as jnp

    from .._llg import Magnet, SpinOrbitTorque, drude_tau

    e, c, mg = config.electrons, config.current, config.magnet
    efield_v_per_m = c.rho0_ohm_m * c.j_A_per_m2
    angle = math.radians(c.direction_deg)
    efield = jnp.asarray([math.cos(angle), math.sin(angle)], dtype) * (efield_v_per_m * 1e-9)
    t = config.torque
    if not hasattr(e, "alpha_eV_nm"):  # another [electrons] kind: any TwoBandModel, exact bands
        from .._llg import ModelTorque, transport_tau
        from ._model_config import build_model

        model = build_model(e.model, dtype)
        tau_s = transport_tau(model, e.fermi_energy_eV, mg.thickness_nm, c.rho0_ohm_m, (math.cos(angle), math.sin(angle)), t.num_contour) * 1e-15
        torque = ModelTorque(model, jnp.asarray(e.fermi_energy_eV, dtype), efield, jnp.asarray(tau_s * 1e15, dtype),
                             field_like=t.field_like, damping_like=t.damping_like, num=t.num_contour)
    else:
        torque = None
    # The library's Drude conversion (closed-form M || z densities; the total density's dependence on
    # the direction of M is O((alpha k_F/J)^2) and ignored there, as documented).
    tau_s = tau_s if torque is not None else float(drude_tau(e.alpha_eV_nm, e.j_ex_eV, e.fermi_energy_eV, mg.thickness_nm, c.rho0_ohm_m, e.mass_ratio)) * 1e-15
    torque = torque if torque is not None else SpinOrbitTorque(
        jnp.asarray(e.alpha_eV_nm, dtype),
        jnp.asarray(e.j_ex_eV, dtype),
        jnp.asarray(e.fermi_energy_eV, dtype),
        efield,
        jnp.asarray(tau_s * 1e15, dtype),
        mass_ratio=jnp.asarray(e.mass_ratio, dtype),
        method=t.method,
        field_like=t.field_like,
        damping_like=t.damping_like,
        num=t.num_contour,
    )
    f = config.field
    easy = _direction(mg.easy_theta_deg, mg.easy_phi_deg)
    magnet = Magnet(
        jnp.asarray(mg.ms_T, dtype),
        jnp.asarray(mg.thickness_nm, dtype),
        jnp.asarray(mg.gilbert, dtype),
        anisotropy_field=jnp.asarray(mg.anisotropy_T, dtype),
        easy_axis=jnp.asarray(easy, dtype),
        demag=jnp.asarray([mg.demag_x, mg.demag_y, mg.demag_z], dtype),
        external_field=jnp.asarray([f.b_T * x for x in _direction(f.theta_deg, f.phi_deg)], dtype),
        g_factor=jnp.asarray(mg.g_factor, dtype),
    )
    m0 = _direction(config.initial.theta_deg, config.initial.phi_deg)
    side = 1.0 if sum(a * b for a, b in zip(m0, easy)) >= 0 else -1.0
    ev = config.events
    settings = {
        "t_end": config.time.t_end_ns * 1e6,
        "num_save": config.time.num_save,
        "rtol": config.time.rtol,
        "atol": config.time.rtol * 1e-2,
        "current_off": None if math.isinf(c.pulse_ns) else c.pulse_ns * 1e6,
        "switch_axis": [side * x for x in easy] if ev.switch else None,
        "switch_threshold": ev.switch_threshold,
        "stop_rate": ev.stop_rate_per_ns * 1e-6 if ev.stop_rate_per_ns > 0 else None,
    }
    derived = {
        "efield_V_per_m": efield_v_per_m,
        "tau_fs": tau_s * 1e15,
    }
    if hasattr(torque, "n_lower"):
        derived.update({"n_lower_per_nm2": float(torque.n_lower), "n_upper_per_nm2": float(torque.n_upper)})
    else:
        from .._fermi import electron_density

        up = torque.model.with_magnetization(jnp.asarray([0.0, 0.0, 1.0], torque.model.dtype))
        densities = {s: float(electron_density(up, e.fermi_energy_eV, s, t.num_contour)) if s in torque.bands else 0.0 for s in (-1, 1)}
        derived.update({"n_lower_per_nm2": densities[-1], "n_upper_per_nm2": densities[1]})
    return magnet, torque, jnp.asarray(m0, dtype), settings, derived


def run_llg(config, out: pathlib.Path, precision: str, source: str, dtype, quiet: bool = False) -> int:
    """The body of `jaxsot llg` (after the config is parsed and the precision set)."""
    import jax
    import numpy as onp

    import jaxsot

    from ._config import config_to_toml
    from .._llg import WORK_COLUMNS, llg_diagnostics, simulate_llg, strong_exchange_coefficients
    from ..constants import WATT_PER_M2_PER_INTERNAL

    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "config.toml", f"# resolved from: {source}\n" + config_to_toml(config))
    started = time.perf_counter()
    magnet, torque, m0, settings, derived = build_llg_inputs(config, dtype)
    notes = []
    if precision == "float32":
        settings["rtol"] = max(settings["rtol"], 1e-5)
        settings["atol"] = max(settings["atol"], 1e-7)
    general = not hasattr(torque, "alpha")  # another [electrons] kind: exact results only
    nan3 = [math.nan] * 3
    coefficients = (
        {"field_like_field": nan3, "damping_like_rate": math.nan, "kappa_np": float(magnet.torque_area) * (derived["n_lower_per_nm2"] - derived["n_upper_per_nm2"])}
        if general else {k: onp.asarray(v).tolist() for k, v in strong_exchange_coefficients(magnet, torque).items()}
    )
    derived.update(
        {
            "gamma_rad_per_ns_T": float(magnet.gamma) * 1e6,
            "moment_density_muB_per_nm2": float(magnet.moment_density),
            "kappa_nm2": float(magnet.torque_area),
            "eta": math.nan if general else float(torque.eta),
            "band_polarization_p": (derived["n_lower_per_nm2"] - derived["n_upper_per_nm2"])
            / (derived["n_lower_per_nm2"] + derived["n_upper_per_nm2"]),
            "strong_exchange_field_like_field_T": coefficients["field_like_field"],
            "strong_exchange_damping_like_rate_per_ns": coefficients["damping_like_rate"] * 1e6,
            "kappa_n_p": coefficients["kappa_np"],
        }
    )
    print(f"jaxsot {jaxsot.__version__} llg ({source}), precision {precision}, jax {jax.__version__} on {jax.default_backend()}")
    if general:
        from ._model_config import describe_model

        say(f"electrons: {describe_model(config.electrons.model, torque.model).split(', M = ')[0]}, E_F = "
              f"{config.electrons.fermi_energy_eV:g} eV, p = {derived['band_polarization_p']:.4g}; torque: exact (no closed forms for this model)")
    else:
        say(
            f"electrons: alpha = {config.electrons.alpha_eV_nm:g} eV nm, J = {config.electrons.j_ex_eV:g} eV, E_F = "
            f"{config.electrons.fermi_energy_eV:g} eV, eta = {derived['eta']:.4g}, p = {derived['band_polarization_p']:.4g}; "
            f"torque: {config.torque.method}"
        )
    say(
        f"current: j = {config.current.j_A_per_m2:.4g} A/m^2, E = rho0 j = {derived['efield_V_per_m']:.4g} V/m, "
        f"tau ({'Boltzmann, exact bands' if general else 'Drude'}) = {derived['tau_fs']:.4g} fs"
    )
    b_fl = coefficients["field_like_field"]
    if general:
        for key in ("eta", "strong_exchange_field_like_field_T", "strong_exchange_damping_like_rate_per_ns"):
            derived.pop(key)
        say(f"magnet: n_mu = {derived['moment_density_muB_per_nm2']:.4g} mu_B/nm^2, kappa = {derived['kappa_nm2']:.4g} nm^2, "
              f"kappa n_p = {derived['kappa_n_p']:.4g}")
    else:
        say(
            f"magnet: n_mu = {derived['moment_density_muB_per_nm2']:.4g} mu_B/nm^2, kappa = {derived['kappa_nm2']:.4g} nm^2, "
            f"kappa n_p = {derived['kappa_n_p']:.4g}; strong-exchange B_fl = ({', '.join(f'{x:.4g}' for x in b_fl)}) T, "
            f"a_J = {derived['strong_exchange_damping_like_rate_per_ns']:.4g} /ns"
        )
    with Status("  integrating the LLG", quiet=quiet):
        result = simulate_llg(magnet, torque, m0, **settings)
    valid = onp.asarray(result.valid)
    times = onp.asarray(result.times)[valid]
    m = onp.asarray(result.m)[valid]
    t_all = onp.concatenate([times, [float(result.t_final)]])
    m_all = onp.concatenate([m, onp.asarray(result.m_final)[None]])
    work = onp.concatenate([onp.asarray(result.work)[valid], onp.asarray(result.work_final)[None]])
    off = settings["current_off"]
    on = onp.ones_like(t_all) if off is None else (t_all < off).astype(float)
    with Status("  energy ledger along the trajectory", quiet=quiet):
        rates = {k: onp.asarray(v) for k, v in llg_diagnostics(magnet, torque, m_all, on).items()}
    elapsed = time.perf_counter() - started
    energy0 = rates["conventional_energy"]
    ledger_error = float(onp.max(onp.abs(energy0 - energy0[0] - work[:, :4].sum(axis=1))))
    ledger_scale = float(onp.max(onp.abs(work[:, :4]))) or 1.0
    switched = bool(result.switched)
    say(
        f"  {int(result.num_steps)} accepted steps ({int(result.num_rejected)} rejected) to t = {float(result.t_final) * 1e-6:.4g} ns "
        f"in {elapsed:.2f} s (compile included); max | |M| - 1 | before renormalization = {float(result.norm_error):.2g}"
    )
    if settings["switch_axis"] is not None:
        print(f"  switched: {'yes, at t = ' + format(float(result.t_final) * 1e-6, '.4g') + ' ns' if switched else 'no'}")
    print(f"  final M = ({', '.join(f'{x:.4f}' for x in m_all[-1])})")
    joule = J_PER_M2_PER_EV_PER_NM2
    print("  energy ledger [J/m^2] (time integrals):")
    for name, value in zip(WORK_COLUMNS, work[-1]):
        print(f"    {name:<22} {value * joule: .4e}")
    say(f"    E_0(t) - E_0(0) - sum of the magnet's columns: {ledger_error * joule:.2e} (relative {ledger_error / ledger_scale:.1e}; "
        "integration accuracy: it closes for any torque)", indent="      ")
    with Status("  energy transfer check", quiet=quiet):
        transfer = _transfer_check(magnet, torque, m_all, on, config)
    if transfer is not None:
        verdict = "passed" if transfer["passed"] else "FAILED"
        say(f"  energy transfer (physics check, {transfer['samples']} samples), each within "
            f"{transfer['tolerance']:.2g} of 1 (2 (alpha k_F/J)^2, + |E_F|/(E_F + 2J) for one band): {verdict}\n"
            f"    damping-like power (torque-force relation) / extra Joule heat (Boltzmann AMR) = "
            f"{transfer['damping_like_ratio']:.4f}\n"
            f"    magnet's spin-force loss / (kappa n_p x damping-like power) = {transfer['field_like_ratio']:.4f}\n"
            f"    their product, spin-force loss / (kappa n_p x extra Joule heat) = {transfer['ratio']:.4f}")
    elif general:
        notes.append("energy transfer check not applied: its identities (torque-force relation, strong-exchange "
                     "expansion) are the Rashba ferromagnet's")
    if not bool(result.success):
        notes.append("the integrator did not finish (max_steps reached or a non-finite torque)")
    for note in notes:
        say(f"note: {note}")

    power = WATT_PER_M2_PER_INTERNAL
    columns = {
        "t [ns]": t_all * 1e-6,
        "M [1]": m_all,
        "field_like_field [T]": rates["field_like_field"],
        "conventional_field [T]": rates["conventional_field"],
        "dMdt_field_like [1/ns]": rates["field_like"] * 1e6,
        "dMdt_damping_like [1/ns]": rates["damping_like"] * 1e6,
        "power_gilbert [W/m^2]": rates["power_gilbert"] * power,
        "power_spin_force [W/m^2]": rates["power_spin_force"] * power,
        "power_damping_conventional [W/m^2]": rates["power_damping_conventional"] * power,
        "power_field_like [W/m^2]": rates["power_field_like"] * power,
        "electron_spin_force_power [W/m^2]": rates["spin_force_power"] * power,
        "conventional_energy [J/m^2]": energy0 * joule,
        **{f"work_{name} [J/m^2]": work[:, i] * joule for i, name in enumerate(WORK_COLUMNS)},
    }
    bad_columns = write_table_csv(out / "timeseries.csv", columns)
    if bad_columns:
        notes.append(f"timeseries.csv: non-finite values (nan/inf) in {len(bad_columns)} column(s): {', '.join(bad_columns[:6])}")
    payload = {
        **run_metadata(precision, source, config),
        "units": {"time": "ns in files (fs internally)", "field": "T", "power": "W/m^2", "energy": "J/m^2"},
        "derived": derived,
        "result": {
            "t_final_ns": float(result.t_final) * 1e-6,
            "m_final": m_all[-1].tolist(),
            "switched": switched,
            "stopped": bool(result.stopped),
            "success": bool(result.success),
            "accepted_steps": int(result.num_steps),
            "rejected_steps": int(result.num_rejected),
            "norm_error": float(result.norm_error),
            "work_J_per_m2": {name: float(v * joule) for name, v in zip(WORK_COLUMNS, work[-1])},
            "energy_ledger_error_J_per_m2": ledger_error * joule,
            "energy_ledger_note": "integration accuracy (the ledger integrates the same dM/dt; it closes for any torque)",
            "energy_transfer_check": transfer,
        },
        "notes": notes,
        "runtime_s": elapsed,
    }
    non_finite = write_json(out / "results.json", payload)
    plotted = _figures.llg(
        out / "llg.png",
        t_all * 1e-6,
        m_all,
        {
            r"Gilbert damping $P_G$": rates["power_gilbert"] * power,
            r"spin-force loss $P_{DL,fl}$": rates["power_spin_force"] * power,
            r"damping-like torque vs $\mathbf{B}_0$": rates["power_damping_conventional"] * power,
            r"field-like torque $P_{FL}$": rates["power_field_like"] * power,
        },
        config.torque.method,
        config.current.j_A_per_m2,
    )
    written = ["config.toml", "results.json", "timeseries.csv"] + (["llg.png"] if plotted else [])
    print(f"\nwrote {', '.join(str(out / name) for name in written)}")
    if non_finite or bad_columns:
        print(f"jaxsot llg: results are not finite (null in results.json, listed under non_finite_values): "
              f"{'; '.join(non_finite[:3]) or ', '.join(bad_columns[:3])}")
        return 1
    return 0 if bool(result.success) and (transfer is None or transfer["passed"]) else 1


def _transfer_check(magnet, torque, m, on, config, samples: int = 12):
    """`jaxsot.energy_transfer_check` on samples of the trajectory with the current on (None when it
    does not apply: a torque part switched off, or no sample with the current on)."""
    import numpy as onp

    from .. import energy_transfer_check

    if not (config.torque.field_like and config.torque.damping_like):
        return None
    if not hasattr(torque, "alpha"):
        return None  # another [electrons] kind: the identities behind the check are the Rashba ferromagnet's
    index = onp.flatnonzero(on > 0)
    if index.size == 0:
        return None
    index = index[onp.unique(onp.linspace(0, index.size - 1, min(samples, index.size)).astype(int))]
    check = energy_transfer_check(magnet, torque, m[index])
    # One relation per torque, each within the O((alpha k_F/J)^2) deviation of the strong-exchange
    # expansion behind them (one band: plus the density term) (docs: Theory > Energy transfer and AMR); the product ratio alone would
    # pass a damping-like torque x2 with a field-like field x0.5.
    return {
        "damping_like_ratio": check["damping_like_ratio"],
        "field_like_ratio": check["field_like_ratio"],
        "ratio": check["ratio"],
        "tolerance": check["tolerance"],
        "passed": bool(check["passed"]),
        "samples": int(index.size),
        "what": ("damping_like_ratio: power of the spin force that the damping-like torque implies (torque-force "
                 "relation) / extra Joule heat from the exact-band Boltzmann AMR; field_like_ratio: magnet's "
                 "spin-force loss P_DL,fl / (kappa n_p x that power); ratio: their product; tolerance "
                 "2 (alpha k_F/J)^2 (+ |E_F|/(E_F + 2J) with one band occupied)"),
    }


def register(commands) -> None:
    """Add the `llg` subcommand to an argparse subparsers object."""
    llg = commands.add_parser("llg", help="macrospin LLG driven by the electrons' spin-orbit torque (time series, energy ledger, plots)")
    llg.add_argument("config", nargs="?", help="TOML configuration (default: the embedded one; see `jaxsot default-config llg`)")
    llg.add_argument("--out", default="jaxsot-llg", help="output folder (default: ./jaxsot-llg)")
    llg.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating-point precision (default float64)")
    llg.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def main(args) -> int:
    """`jaxsot llg` with parsed arguments; returns the exit status."""
    text, source = read_config_text(args.config, DEFAULT_LLG_TOML)
    config = parse_llg_config(text, source)
    estimate = check_llg(config, source)  # bands for every M, work and memory: before JAX starts
    out = prepare_out(args.out, inputs=[args.config])  # staged: published whole when the command returns
    check_disk(out, estimate["disk"], "timeseries.csv and results.json")
    dtype = set_precision(args.precision)
    return run_llg(config, out, args.precision, source, dtype, quiet=getattr(args, "quiet", False))

"""`synthesize_hall`: synthetic harmonic Hall data at every order in the current (quasi-static or time-domain
route), for the Rashba ferromagnet or any `TwoBandModel`, plus Gaussian noise."""

import jax.numpy as jnp
import numpy as onp

from .._core import check_count, check_range
from .._core._model import RashbaFerromagnet, TwoBandModel
from .._core._params import model_parameters, parameter_names, replace_parameters
from .._llg import Magnet, ModelTorque, SpinOrbitTorque
from .._measure import HALL_DEFAULTS, HALL_PARAMETERS, HallSettings, harmonic_hall_all_orders, lockin_harmonics
from .._measure._hall import check_model_hall_params, model_hall_names, param_arrays
from .._measure._harmonic import cast_floats, model_all_orders
from .._measure._quasistatic import check_phases
from ._forward import require_concrete
from ._hall_data import HallData, OFFSETS, SYNTH_ROUTES
from ._hall_model import check_names


def synthesize_hall(
    params: dict,
    settings: HallSettings,
    *,
    noise: float = 0.0,
    sigma=None,
    known_noise: bool = True,
    seed: int = 0,
    route: str = "quasi-static",
    phases: int = 16,
    frequency: float = 1.5e7,
    gilbert: float = 1.0,
    periods: int = 2,
    settle_periods: int = 1,
    samples_per_period: int = 64,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    label: str = "synthetic",
    model=None,
) -> HallData:
    """Synthetic harmonic Hall data at every order in the current plus Gaussian noise.

    Two routes, both free of the first-order expansion of the fit's default forward model:
    route = "quasi-static" (default): `jaxsot.harmonic_hall_all_orders`, the macrospin equilibrium at
    each of `phases` current phases, Fourier-demodulated (milliseconds per field point);
    route = "time-domain": `jaxsot.lockin_harmonics`, the LLG integrated under j(t) = j0 sin(2 pi f t) and
    demodulated like a lock-in (~0.2 s per field point with strong-exchange torques, ~2 s with exact bands
    on a 2-core VM); at the default f = 15 MHz and gilbert = 1 its in-phase harmonics differ from the
    quasi-static ones by ~(w tau_r)^2 ~ 1e-6 relative (the magnet's lag).

    Args:
        params: {name: value} from HALL_FIT_PARAMETERS (alpha, j_ex, tau, anisotropy_field, r_ahe required;
            HALL_DEFAULTS and zero offsets otherwise).
        settings: `jaxsot.HallSettings`: field points, sample, model ("exact" / "strong_exchange" torque), num;
            its m_start is the start of the j = 0 energy descent.
        noise: standard deviation as a fraction of each column's peak-to-peak range (not with sigma).
        sigma: (sigma_1w, sigma_2w) [ohm] absolute standard deviations (not with noise).
        known_noise: write the sigmas into the data (else the fit estimates them).
        seed: noise seed (>= 0).
        route: "quasi-static" or "time-domain" (above).
        phases: current phases per period (quasi-static route).
        frequency: current frequency f [Hz] (time-domain route, as `lockin_harmonics`).
        gilbert: Gilbert damping of the LLG (time-domain route).
        periods: demodulated current periods (time-domain route).
        settle_periods: periods integrated before demodulation (time-domain route).
        samples_per_period: samples per period of the lock-in (time-domain route).
        rtol: relative tolerance of the LLG integration (time-domain route).
        atol: absolute tolerance of the LLG integration (time-domain route).
        label: name of the data in reports.
        model: None (the Rashba ferromagnet of params), a `RashbaFerromagnet` (its alpha, j_ex, mass_ratio fill
            the missing ones), or any other `TwoBandModel` with `with_magnetization` (exact bands): params then
            take tau, any of its `jaxsot.parameter_names` (the others keep the model's values) and the magnet
            and Hall names, as `jaxsot.harmonic_hall_forward(..., model=)`.

    Returns:
        HallData (label `label`).

    Raises:
        ValueError: when the equilibrium or the integration failed at some row (naming it), or for an unknown route.
    """
    require_concrete("synthesize_hall", params, loss="jaxsot.fit.hall_loss")
    if not isinstance(settings, HallSettings):
        raise ValueError(f"settings is a {type(settings).__name__}; allowed: jaxsot.HallSettings")
    torque = None
    if model is not None and not isinstance(model, TwoBandModel):
        raise ValueError(f"model is a {type(model).__name__}; allowed: a jaxsot.TwoBandModel or None (the Rashba ferromagnet)")
    if isinstance(model, TwoBandModel) and type(model) is RashbaFerromagnet:
        params = {**{n: float(v) for n, v in model_parameters(model).items()}, **params}
    elif model is not None:
        torque, p = _general_torque(params, settings, model)
    if torque is None:
        check_names("params", params)
        p = {**HALL_DEFAULTS, "r_1w_offset": 0.0, "r_2w_offset": 0.0, **params}
        missing = [n for n in ("alpha", "j_ex", "tau", "anisotropy_field", "r_ahe") if n not in p]
        if missing:
            raise ValueError(f"params is missing {missing}; required: alpha, j_ex, tau, anisotropy_field, r_ahe")
    check_range("noise", noise, low=0.0)
    if sigma is not None and noise:
        raise ValueError("noise and sigma are both given; allowed: one of them")
    seed = check_count("seed", seed, minimum=0)
    if route not in SYNTH_ROUTES:
        raise ValueError(f"route = {route!r} is not allowed; allowed: {', '.join(map(repr, SYNTH_ROUTES))}")
    if route == "quasi-static" and torque is not None:
        readout = param_arrays({k: p[k] for k in HALL_PARAMETERS[4:]}, settings)
        out = model_all_orders(readout, torque, settings, check_phases(phases))
        success, r_1w, r_2w = out.converged, out.r_1w, out.r_2w
        failure = "the quasi-static equilibrium did not converge (the current switches the magnet, or raise phases)"
    elif route == "quasi-static":
        out = harmonic_hall_all_orders({k: p[k] for k in HALL_PARAMETERS}, settings, phases=phases)
        success, r_1w, r_2w = out.converged, out.r_1w, out.r_2w
        failure = "the quasi-static equilibrium did not converge (the current switches the magnet, or raise phases)"
    else:
        r_1w, r_2w, success = _time_domain(p, settings, frequency, gilbert, periods, settle_periods, samples_per_period, rtol, atol,
                                           torque)
        failure = "the LLG integration failed (raise max_steps)"
    if not bool(jnp.all(success)):
        bad = int(onp.flatnonzero(~onp.asarray(success))[0])
        raise ValueError(f"{failure} at row {bad} (phi_h = {float(settings.phi_h[bad]):.4g} rad, "
                         f"B = {float(settings.field[bad]):.4g} T); allowed: settings where it succeeds")
    r_1w = onp.asarray(r_1w) + p["r_1w_offset"]
    r_2w = onp.asarray(r_2w) + p["r_2w_offset"]
    if sigma is None:
        s_1w, s_2w = noise * onp.ptp(r_1w), noise * onp.ptp(r_2w)
    else:
        s_1w, s_2w = (float(s) for s in sigma)
    rng = onp.random.default_rng(seed)
    r_1w = r_1w + s_1w * rng.normal(size=r_1w.shape)
    r_2w = r_2w + s_2w * rng.normal(size=r_2w.shape)
    keep = known_noise and s_1w > 0.0 and s_2w > 0.0
    return HallData.from_settings(r_1w, r_2w, settings, sigma_1w=s_1w if keep else None, sigma_2w=s_2w if keep else None,
                                  label=label)


def _general_torque(params, settings, model):
    """(ModelTorque at the params' values, the full parameter dict) of a general model for `synthesize_hall`."""
    names = parameter_names(model)
    check_names("params", params, model_hall_names(model) + OFFSETS)
    values = check_model_hall_params({k: v for k, v in params.items() if k not in OFFSETS}, model)
    p = {**HALL_DEFAULTS, "r_1w_offset": 0.0, "r_2w_offset": 0.0, **values, **params}
    if settings.model != "exact":
        raise ValueError(f"settings.model = {settings.model!r}: the strong-exchange fields are closed forms of the Rashba "
                         f"ferromagnet; model = {type(model).__name__} has none; allowed: 'exact'")
    dtype = settings.phi_h.dtype
    electrons = replace_parameters(model.astype(dtype), **{n: float(values[n]) for n in names if n in values})
    torque = ModelTorque(electrons, settings.fermi_energy, settings.efield, float(values["tau"]), num=settings.num,
                         field_like=settings.field_like, damping_like=settings.damping_like)
    return cast_floats(torque, dtype), p


def _time_domain(p, settings, frequency, gilbert, periods, settle_periods, samples_per_period, rtol, atol, torque=None):
    magnet = Magnet(settings.ms_tesla, settings.thickness, gilbert, anisotropy_field=p["anisotropy_field"],
                    easy_axis=settings.easy_axis, demag=settings.demag, external_field=settings.bias_field)
    efield = jnp.stack([settings.rho0 * settings.current_density * 1e-9, jnp.zeros_like(settings.rho0)])
    torque = torque if torque is not None else SpinOrbitTorque(p["alpha"], p["j_ex"], settings.fermi_energy, efield, p["tau"], mass_ratio=p["mass_ratio"],
                             method=settings.model, num=settings.num, field_like=settings.field_like,
                             damping_like=settings.damping_like)
    signals = lockin_harmonics(
        magnet, torque, settings.phi_h, settings.field, theta_h=settings.theta_h, r_ahe=p["r_ahe"], r_phe=p["r_phe"],
        r_ane=p["r_ane"], oersted_field=p["oersted_field"], r_ohe=p["r_ohe"], r_ane_field=p["r_ane_field"], frequency=frequency, periods=periods,
        settle_periods=settle_periods, samples_per_period=samples_per_period, m_start=settings.m_start, rtol=rtol, atol=atol,
    )
    return signals.r_1w, signals.r_2w, signals.success

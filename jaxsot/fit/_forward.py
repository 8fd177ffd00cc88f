"""Forward models of the fit: pure, differentiable functions of the parameters (AMR, steady and transient torques).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as onp
from .._bands._arrays import accelerating_force
from .._core._checks import check_count, check_finite, check_range
from .._core._model import RashbaFerromagnet
from .._ensemble._strong import strong_exchange_amr, strong_exchange_response
from .._ensemble._fluxes import contour_fluxes
from .._fermi._circular import circular_densities
from .._fermi._contour import occupied_bands
from ..constants import CARRIER_CHARGE, HBAR
from ._curves import Curve, MIN_POINTS, MODELS, PARAMETERS, REFERENCE_M, TORQUE_COLUMNS, unit_directions



# ---------------------------------------------------------------------------------------------
# Forward models.


def _rho_xx(conductance):
    return conductance[1, 1] / (conductance[0, 0] * conductance[1, 1] - conductance[0, 1] * conductance[1, 0])


def predict_many(params, specs, arrays_list, fermi_energy, bands, num, model_kind):
    """Predictions [(N_i, K_i)] of several curves from their settings (theta, phi, efield, time); traceable.

    specs: ((columns, kind), ...) static. With the exact bands, the rows of all curves (and the rho0
    row) go through one vmap of the contour solve: one copy of its graph to compile, however many curves.
    """
    dtype = arrays_list[0][0].dtype
    alpha = jnp.asarray(params["alpha"], dtype)
    j_ex = jnp.asarray(params["j_ex"], dtype)
    mass_ratio = jnp.asarray(params["mass_ratio"], dtype)
    tau = jnp.asarray(params["tau"], dtype)
    fermi_energy = jnp.asarray(fermi_energy, dtype)
    ms = [unit_directions(theta, phi) for theta, phi, _, _ in arrays_list]
    want_amr = any("rho_ratio" in columns for columns, _ in specs)
    if model_kind == "exact":

        def response(direction):
            model = RashbaFerromagnet(alpha, j_ex, direction, mass_ratio)
            flux, conductance, _ = contour_fluxes(model, fermi_energy, bands, num)
            return flux, _rho_xx(conductance)

        rows = ms + ([jnp.asarray(REFERENCE_M, dtype)[None, :]] if want_amr else [])
        flux_all, rho_all = jax.vmap(response)(jnp.concatenate(rows))
        rho0 = rho_all[-1]
    else:
        # The strong-exchange closed forms with the M || z band densities (M-independent at this order).
        reference = RashbaFerromagnet(alpha, j_ex, jnp.asarray(REFERENCE_M, dtype), mass_ratio)
        densities = jnp.stack(circular_densities(alpha, j_ex, mass_ratio, fermi_energy))
        polarization_ratio = (densities[0] - densities[1]) / (densities[0] + densities[1])
    outputs, offset = [], 0
    for (columns, kind), (theta, phi, efield, time), m in zip(specs, arrays_list, ms):
        n = m.shape[0]
        force = accelerating_force(jnp.stack([efield, jnp.zeros_like(efield)], -1))  # hbar k' = qE (N, 2), E along x
        kdot = force / HBAR
        out = {}
        if model_kind == "exact":
            flux, rho = flux_all[offset : offset + n], rho_all[offset : offset + n]
            offset += n
            if "rho_ratio" in columns:
                out["rho_ratio"] = rho / rho0
            rate = jnp.einsum("nij,nj->ni", flux, kdot)  # dS/dt of the accelerated sea, (N, 3)
        else:
            if "rho_ratio" in columns:
                out["rho_ratio"] = strong_exchange_amr(polarization_ratio, reference.eta, m, jnp.asarray([1.0, 0.0], dtype))
            rate = strong_exchange_response(reference, densities, force, kdot * tau, magnetization=m)["spin_rate"]
        if any(name in TORQUE_COLUMNS for name in columns):
            damping = -rate
            field_like = 2.0 * j_ex / HBAR * tau * jnp.cross(m, rate)  # (2J/hbar) M x (A Delta k), Delta k = k' tau
            if kind == "transient":
                # Constant-tau rigid shift after a step at t = 0: k' ~ e^(-t/tau), Delta k ~ 1 - e^(-t/tau).
                on = time >= 0.0
                decay = jnp.where(on, jnp.exp(-jnp.where(on, time, 0.0) / tau), 0.0)
                damping = damping * decay[:, None]
                field_like = field_like * jnp.where(on, 1.0 - decay, 0.0)[:, None]
            for i, axis in enumerate("xyz"):
                out[f"T_DL_{axis}"] = damping[:, i]
                out[f"T_FL_{axis}"] = field_like[:, i]
        outputs.append(jnp.stack([out[name] for name in columns], -1))
    return outputs


def _predict_arrays(params, columns, kind, arrays, fermi_energy, bands, num, model_kind):
    """Predictions (N, K) of one curve from its setting arrays (theta, phi, efield, time); traceable."""
    return predict_many(params, ((columns, kind),), (arrays,), fermi_energy, bands, num, model_kind)[0]


def curve_arrays(curve):
    return (curve.theta, curve.phi, curve.efield, curve.time)


def check_params(params, require=PARAMETERS) -> dict:
    if not isinstance(params, dict):
        raise ValueError(f"params = {params!r} is not a dict; allowed: a dict with keys {', '.join(PARAMETERS)}")
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"parameter {unknown[0]!r} is not allowed; allowed: {', '.join(PARAMETERS)}")
    missing = [name for name in require if name not in params]
    if missing:
        raise ValueError(f"parameter {missing[0]!r} is missing; allowed: a dict with keys {', '.join(PARAMETERS)}")
    check_finite("alpha", params["alpha"])
    if float(params["alpha"]) == 0.0:
        raise ValueError("alpha = 0.0 eV nm is not allowed; allowed: a non-zero Rashba coupling (either sign)")
    check_range("j_ex", params["j_ex"], low=0.0, low_inclusive=False, unit="eV")
    check_range("mass_ratio", params["mass_ratio"], low=0.0, low_inclusive=False)
    check_range("tau", params["tau"], low=0.0, low_inclusive=False, unit="fs")
    return {name: float(params[name]) for name in PARAMETERS}


def check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} = {value!r} is not allowed; allowed: {', '.join(map(repr, allowed))}")


def distinct_polar(curves) -> list:
    """The distinct polar angles of M in the data (+ pi/2 for rho0): the bands depend on M only through M_z."""
    angles = {round(math.pi / 2, 9)}
    for curve in curves:
        angles.update(round(float(x), 9) for x in onp.unique(onp.abs(onp.cos(onp.asarray(curve.theta)))))
    cosines = sorted(angles)
    if len(cosines) > 6:  # extremes and a few between: the band set changes monotonically with |M_z|
        cosines = [cosines[int(round(i))] for i in onp.linspace(0, len(cosines) - 1, 6)]
    return cosines


def bands_at(params, fermi_energy, cosines) -> tuple:
    """Occupied bands for every |M_z| in `cosines`; ValueError when they differ or a sea is unsupported."""
    found = set()
    for cz in cosines:
        cz = min(cz, 1.0)
        direction = onp.array([math.sqrt(max(1.0 - cz * cz, 0.0)), 0.0, cz])
        model = RashbaFerromagnet(params["alpha"], params["j_ex"], direction, params["mass_ratio"])
        found.add(occupied_bands(model, fermi_energy))
    if len(found) != 1:
        raise ValueError(
            f"fermi_energy = {fermi_energy:g} eV: the occupied bands change with the direction of M in the data "
            f"({sorted(found)}) at alpha = {params['alpha']:g} eV nm, j_ex = {params['j_ex']:g} eV; allowed: "
            "fermi_energy clearly above j_ex (both bands) or below the upper band's bottom for every M"
        )
    return found.pop()


def predict(curve: Curve, params: dict, fermi_energy, *, model: str = "exact", num: int = 64) -> jax.Array:
    """The forward model of a curve: predictions (N, K) at its settings, internal units (module docstring).

    Args:
        curve: `Curve` (only its settings and column names are used).
        params: dict with alpha [eV nm], j_ex [eV], mass_ratio, tau [fs] (concrete, checked here).
        fermi_energy: E_F [eV]. model: "exact" (exact bands) or "strong_exchange" (closed forms).
        num: rays per Fermi contour (64 gives ~1e-10 relative accuracy for these smooth contours).
    """
    if not isinstance(curve, Curve):
        raise ValueError(f"curve = {type(curve).__name__}; allowed: a jaxsot.fit.Curve")
    values = check_params(params)
    check_finite("fermi_energy", fermi_energy)
    check_choice("model", model, MODELS)
    num = check_count("num", num, minimum=8)
    bands = bands_at(values, float(fermi_energy), distinct_polar([curve]))
    return _predict_jit(values, curve.columns, curve.kind, curve_arrays(curve), float(fermi_energy), bands, num, model)


@functools.partial(jax.jit, static_argnums=(1, 2, 4, 5, 6, 7))
def _predict_jit(params, columns, kind, arrays, fermi_energy, bands, num, model_kind):
    return _predict_arrays(params, columns, kind, arrays, fermi_energy, bands, num, model_kind)


# ---------------------------------------------------------------------------------------------
# Synthetic data.


def synthesize(
    params: dict,
    fermi_energy,
    *,
    columns=("rho_ratio", "T_DL_x", "T_DL_y", "T_FL_z"),
    phi=None,
    theta=math.pi / 2,
    efield=1.0e-4,
    time=None,
    num_points: int = 200,
    noise: float = 0.01,
    known_noise: bool = True,
    seed: int = 0,
    model: str = "exact",
    num: int = 64,
    label: str = "synthetic",
) -> Curve:
    """A `Curve` of the forward model at `params` plus Gaussian noise, to test a fit set-up.

    Args:
        params: true parameters (dict: alpha [eV nm], j_ex [eV], mass_ratio, tau [fs]).
        fermi_energy: E_F [eV]. columns: observables (`COLUMNS`).
        phi: azimuths of M [rad], (N,); default: N points over [0, 2 pi) (steady) or 0 (transient).
        theta: polar angle(s) of M [rad]. efield: E along x [V/nm] (1e-4 V/nm = 1e5 V/m).
        time: (N,) times after the field step [fs] for a transient, or None (steady state).
        num_points: N when phi/time are not given (>= 3).
        noise: standard deviation of the noise as a fraction of each column's peak-to-peak
            range (its signal; rho_ratio ~ 1 varies by ~p eta), >= 0.
        known_noise: store sigma in the curve (True) or leave it unknown (estimated by the fit).
        seed: NumPy random seed.
    Returns: Curve with values = prediction + noise.
    """
    truth = check_params(params)
    check_range("noise", noise, low=0.0)
    num_points = check_count("num_points", num_points, minimum=MIN_POINTS)
    seed = check_count("seed", seed, minimum=0)
    columns = (columns,) if isinstance(columns, str) else tuple(columns)
    dtype = jnp.result_type(float)
    if time is not None:
        time = onp.asarray(time, dtype=float)
        n = time.shape[0]
        phi = 0.0 if phi is None else phi
    else:
        n = num_points if phi is None else int(onp.size(phi))
        if phi is None:
            phi = onp.arange(n) * (2.0 * math.pi / n)
    template = Curve(
        columns, onp.zeros((n, len(columns))), phi=onp.asarray(phi, float), theta=theta, efield=efield, time=time, label=label
    )
    template = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), template)
    clean = onp.asarray(predict(template, truth, fermi_energy, model=model, num=num))
    if not onp.all(onp.isfinite(clean)):
        raise ValueError("the forward model gave non-finite values at these parameters (a contour did not converge)")
    span = onp.ptp(clean, axis=0)
    scale = onp.where(span > 0.0, span, onp.max(onp.abs(clean), axis=0))
    sigma = noise * onp.where(scale > 0.0, scale, 1.0)
    rng = onp.random.default_rng(seed)
    values = clean + sigma[None, :] * rng.standard_normal(clean.shape)
    stored_sigma = onp.broadcast_to(sigma, clean.shape) if (known_noise and noise > 0.0) else None
    return Curve(
        columns,
        values,
        phi=template.phi,
        theta=template.theta,
        efield=template.efield,
        time=None if time is None else template.time,
        sigma=stored_sigma,
        label=label,
    )



"""Forward models of the fit: pure, differentiable functions of the parameters (AMR, steady and transient torques).
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from .._bands._arrays import accelerating_force
from .._core._checks import check_count, check_finite, check_range, is_concrete
from .._core._model import RashbaFerromagnet, TwoBandModel, unchecked_rashba, with_magnetization
from .._core._params import model_parameters, parameter_names, replace_parameters
from .._ensemble._transport import band_fluxes
from .._fermi._route import choose_route
from .._ensemble._strong import strong_exchange_amr, strong_exchange_response
from .._ensemble._fluxes import contour_fluxes
from .._fermi._circular import circular_densities
from .._fermi._contour import occupied_bands
from ..constants import CARRIER_CHARGE, HBAR
from ._mesh_budget import size_mesh
from ._mesh_flux import mesh_fluxes
from ._curves import Curve, MIN_POINTS, MODELS, PARAMETERS, REFERENCE_M, TORQUE_COLUMNS, unit_directions



# ---------------------------------------------------------------------------------------------
# Forward models.


def _rho_xx(conductance):
    return conductance[1, 1] / (conductance[0, 0] * conductance[1, 1] - conductance[0, 1] * conductance[1, 0])


def _torque_columns(rate, field_like, time, tau, kind):
    """T_DL_x..T_FL_z columns from dS/dt (N, 3) and the steady field-like torque (N, 3)."""
    damping = -rate
    if kind == "transient":
        # Constant-tau rigid shift after a step at t = 0: k' ~ e^(-t/tau), Delta k ~ 1 - e^(-t/tau).
        on = time >= 0.0
        decay = jnp.where(on, jnp.exp(-jnp.where(on, time, 0.0) / tau), 0.0)
        damping = damping * decay[:, None]
        field_like = field_like * jnp.where(on, 1.0 - decay, 0.0)[:, None]
    columns = {}
    for i, axis in enumerate("xyz"):
        columns[f"T_DL_{axis}"] = damping[:, i]
        columns[f"T_FL_{axis}"] = field_like[:, i]
    return columns


def predict_many(params, specs, arrays_list, fermi_energy, bands, num, model_kind):
    """Predictions [(N_i, K_i)] of several curves from their settings (theta, phi, efield, time); traceable.

    specs: ((columns, kind), ...) static. With the exact bands, the rows of all curves (and the rho0
    row) go through one vmap of the contour solve: one copy of its graph to compile, however many curves.
    The model is built without its traced checks (`unchecked_rashba`), so that the program holds no host
    callback and JAX's persistent cache keeps it: every caller verifies the values on the host first
    (`predict`: `check_params` and `bands_at`; `fit`: `settle_box` at every corner of the parameter box).
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
            model = unchecked_rashba(alpha, j_ex, direction, mass_ratio)
            flux, conductance, _ = contour_fluxes(model, fermi_energy, bands, num)
            return flux, _rho_xx(conductance)

        rows = ms + ([jnp.asarray(REFERENCE_M, dtype)[None, :]] if want_amr else [])
        flux_all, rho_all = jax.vmap(response)(jnp.concatenate(rows))
        rho0 = rho_all[-1]
    else:
        # The strong-exchange closed forms with the M || z band densities (M-independent at this order).
        reference = unchecked_rashba(alpha, j_ex, jnp.asarray(REFERENCE_M, dtype), mass_ratio)
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
            field_like = 2.0 * j_ex / HBAR * tau * jnp.cross(m, rate)  # (2J/hbar) M x (A Delta k), Delta k = k' tau
            out.update(_torque_columns(rate, field_like, time, tau, kind))
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


def require_concrete(function: str, params, *, label: str = "params", loss: str = "jaxsot.fit.make_loss (Rashba ferromagnet)",
                     **named) -> None:
    """ValueError naming the first traced input of `function` (values of the dict `params`, called `label`, then `named`): it checks the
    values, chooses the occupied bands and the Fermi-sea route on the host, so it takes concrete values
    (`loss`: the traceable alternative named in the message)."""
    values = dict(params) if isinstance(params, dict) else {}
    found = [f"{label}[{k!r}]" for k, v in values.items() if not is_concrete(v)] + [k for k, v in named.items() if not is_concrete(v)]
    if found:
        raise ValueError(
            f"{found[0]} is traced (inside jax.jit, jax.grad or jax.vmap); {function} checks its inputs and chooses the "
            "occupied bands and the Fermi-sea route on the host. Allowed: concrete values (a jitted, differentiable loss "
            f"of the same forward model: {loss})"
        )


def predict(curve: Curve, params: dict, fermi_energy, *, model=None, method: str = "exact", num: int = 64) -> jax.Array:
    """The forward model of a curve: predictions (N, K) at its settings, internal units (module docstring).

    Args:
        curve: `Curve` (only its settings and column names are used).
        params: parameter values (concrete, checked here). Rashba ferromagnet (model None or a
            `RashbaFerromagnet`): alpha [eV nm], j_ex [eV], mass_ratio, tau [fs] (with a model
            given, its own values fill the missing model parameters). Any other model: tau [fs]
            and any of `jaxsot.parameter_names(model)` (the others keep the model's values).
        fermi_energy: E_F [eV].
        model: the electron model, any `jaxsot.TwoBandModel` (its magnetization is not used: the
            curve's rows set M); None: the Rashba ferromagnet of `params`. The old spelling
            model = "exact" | "strong_exchange" is read as `method`.
        method: "exact" (exact bands) or "strong_exchange" (the papers' closed forms, Rashba
            ferromagnet only; other models refuse it in one line).
        num: rays per Fermi contour (64 gives ~1e-10 relative accuracy for these smooth contours).

    Returns:
        Predictions (N, K) in the curve's column order [1 for rho_ratio, 1/(nm^2 fs) for torques].
    """
    if not isinstance(curve, Curve):
        raise ValueError(f"curve = {type(curve).__name__}; allowed: a jaxsot.fit.Curve")
    require_concrete("predict", params, fermi_energy=fermi_energy)
    model, method = split_model_method(model, method)
    check_model_method(model, method)
    check_finite("fermi_energy", fermi_energy)
    num = check_count("num", num, minimum=8)
    if not is_rashba(model):
        values = check_general_params(params, parameter_names(model), model)
        directions = sample_directions([curve])
        spec, bands = make_spec(model, float(fermi_energy), directions, values)
        spec = size_mesh(spec, [values], float(fermi_energy), bands, directions)
        return _predict_general_jit(values, curve.columns, curve.kind, curve_arrays(curve), float(fermi_energy), bands, num, spec)
    if model is not None and isinstance(params, dict):
        params = {**{n: float(v) for n, v in model_parameters(model).items()}, **params}
    values = check_params(params)
    bands = bands_at(values, float(fermi_energy), distinct_polar([curve]))
    return _predict_jit(values, curve.columns, curve.kind, curve_arrays(curve), float(fermi_energy), bands, num, method)


@functools.partial(jax.jit, static_argnums=(1, 2, 4, 5, 6, 7))
def _predict_jit(params, columns, kind, arrays, fermi_energy, bands, num, model_kind):
    return _predict_arrays(params, columns, kind, arrays, fermi_energy, bands, num, model_kind)


# ---------------------------------------------------------------------------------------------
# Any TwoBandModel: the same observables from the model's own bands (exact only).

_FLAT = 1e-6  # a column whose peak-to-peak range is below this fraction of its size is flat (`synthesize`)
TRANSPORT_PARAMETERS = ("tau",)
"""Parameters of the transport (not of the model) that every fit may vary."""

MODEL_PARAMETER_UNITS = {
    "alpha": "eV nm", "beta": "eV nm", "hbar_v": "eV nm", "j_ex": "eV", "mass_ratio": "1", "kinetic": "eV nm^2",
    "t": "eV", "a": "nm", "lam": "eV", "onsite_energy": "eV", "tau": "fs",
}
"""Units of the named parameters of the shipped models (a user's own model's names read "model units")."""


def parameter_unit(name: str) -> str:
    """The unit of a fit parameter name (`MODEL_PARAMETER_UNITS`; "model units" for other names)."""
    return MODEL_PARAMETER_UNITS.get(name, "model units")


class ModelSpec(eqx.Module):
    """What a fit of a general `TwoBandModel` varies: the model (its values of the parameters that
    stay fixed), the names of its parameters (`jaxsot.parameter_names`) and the Fermi-sea route.

    A frozen pytree: the model travels as traced data, the names, the route and the mesh budget are static.
    """

    model: TwoBandModel
    names: tuple = eqx.field(static=True)
    route: str = eqx.field(static=True)  # "rays" (ray contours) or "mesh" (lattice models, other seas)
    budget: tuple | None = eqx.field(static=True, default=None)  # the mesh route's budget (`size_mesh`); None: default

    @property
    def parameters(self) -> tuple:
        """The names a fit may vary: the model's, then the transport ones (tau)."""
        return self.names + TRANSPORT_PARAMETERS


def is_rashba(model) -> bool:
    """True for the Rashba ferromagnet (the path with the papers' closed forms)."""
    return model is None or type(model) is RashbaFerromagnet


def check_model_method(model, method) -> None:
    """A TwoBandModel and a method it has: the closed forms exist for the Rashba ferromagnet only."""
    if model is not None and not isinstance(model, TwoBandModel):
        raise ValueError(f"model is a {type(model).__name__}; allowed: a jaxsot.TwoBandModel (or None: the Rashba ferromagnet)")
    check_choice("method", method, MODELS)
    if not is_rashba(model) and method != "exact":
        raise ValueError(
            f"method = {method!r} is a closed form of the Rashba ferromagnet; model = {type(model).__name__} has none; "
            "allowed: method = 'exact'"
        )


def split_model_method(model, method):
    """(model, method) with the old spelling model = "exact" | "strong_exchange" (the method) accepted."""
    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(
                f"model = {model!r} is not allowed; allowed: a jaxsot.TwoBandModel, or a method name "
                f"({', '.join(map(repr, MODELS))}; the old spelling of method =)"
            )
        if method != "exact":
            raise ValueError(f"model = {model!r} and method = {method!r}: give the method once; allowed: method = {model!r}")
        return None, model
    return model, method


def check_general_params(params, spec_names, model, require_tau=True) -> dict:
    """Concrete {name: float} of the model's parameters (given ones over the model's own) and tau."""
    allowed = tuple(spec_names) + TRANSPORT_PARAMETERS
    if not isinstance(params, dict):
        raise ValueError(f"params = {params!r} is not a dict; allowed: a dict with keys from {', '.join(allowed)}")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"parameter {unknown[0]!r} is not a parameter of {type(model).__name__}; allowed: {', '.join(allowed)}")
    if require_tau and "tau" not in params:
        raise ValueError(f"parameter 'tau' is missing; allowed: a dict with tau [fs] and any of {', '.join(spec_names)}")
    values = {name: float(v) for name, v in model_parameters(model).items() if name in spec_names}
    for name, value in params.items():
        check_finite(name, value)
        values[name] = float(value)
    if "tau" in values:
        check_range("tau", values["tau"], low=0.0, low_inclusive=False, unit="fs")
    return values


def general_model(spec: ModelSpec, params, dtype):
    """The spec's model in `dtype` with its named parameters from `params` (traceable)."""
    model = spec.model.astype(dtype)
    return replace_parameters(model, **{name: jnp.asarray(params[name], dtype) for name in spec.names if name in params})


def sample_directions(curves, limit: int = 8) -> onp.ndarray:
    """Directions of M (R, 3) at which the host checks the occupied bands: the reference M0 and up to
    `limit` of the data's (all of them when fewer): a general model's bands may depend on all of M.
    M0 only when some curve has rho_ratio (an in-plane M may close a Dirac gap: the mesh route)."""
    amr = any("rho_ratio" in curve.columns for curve in curves)
    rows = [onp.asarray(REFERENCE_M, float)] if amr else []
    found = []
    for curve in curves:
        theta = onp.broadcast_to(onp.asarray(curve.theta, float), onp.shape(curve.values)[:1])
        phi = onp.broadcast_to(onp.asarray(curve.phi, float), onp.shape(curve.values)[:1])
        found.append(onp.asarray(unit_directions(jnp.asarray(theta), jnp.asarray(phi))))
    found = onp.unique(onp.round(onp.concatenate(found), 9), axis=0)
    if len(found) > limit:
        found = found[onp.round(onp.linspace(0, len(found) - 1, limit)).astype(int)]
    return onp.concatenate([onp.stack(rows), found]) if rows else found


def general_bands_at(spec: ModelSpec, values: dict, fermi_energy, directions) -> tuple:
    """Occupied bands of the spec's model at `values` for every direction; ValueError when they differ."""
    model = general_model(spec, values, jnp.result_type(float))
    found = set()
    for direction in directions:
        found.add(occupied_bands(with_magnetization(model, jnp.asarray(direction, model.dtype)), fermi_energy))
    if len(found) != 1:
        shown = ", ".join(f"{n} = {values[n]:.4g}" for n in spec.names)
        raise ValueError(
            f"fermi_energy = {fermi_energy:g} eV: the occupied bands change with the direction of M in the data "
            f"({sorted(found)}) at {shown}; allowed: a Fermi energy where the same bands are occupied for every M"
        )
    return found.pop()


def make_spec(model, fermi_energy, directions, values=None) -> tuple:
    """(`ModelSpec`, occupied bands) of a general model: its parameter names and the route its seas
    take, decided on the host at `values` (default: the model's own) for every direction."""
    names = parameter_names(model)
    spec = ModelSpec(model, names, "rays")
    values = {n: float(v) for n, v in model_parameters(model).items()} if values is None else values
    bands = general_bands_at(spec, values, fermi_energy, directions)
    base = general_model(spec, values, jnp.result_type(float))
    routes = {choose_route(with_magnetization(base, jnp.asarray(d, base.dtype)), fermi_energy, bands, "auto") for d in directions}
    return ModelSpec(model, names, "rays" if routes == {"rays"} else "mesh"), bands


def general_response(model, fermi_energy, bands, num, route, budget=None):
    """(A (3, 2) [1/nm], sigma/tau (2, 2)) of the T = 0 sea of any model at its M; traceable (budget:
    the mesh route's static budget, `size_mesh`)."""
    dtype = model.dtype
    if route == "rays":
        signs = jnp.asarray([float(s) for s in bands], dtype)
        fluxes = jax.vmap(lambda s: band_fluxes(model, fermi_energy, s, num))(signs)
        return jnp.sum(fluxes.spin, 0), CARRIER_CHARGE**2 * jnp.sum(fluxes.conductance, 0)
    # The mesh's own derivative is not traced: `mesh_fluxes` differentiates by the transport theorem.
    return mesh_fluxes(model, fermi_energy, bands, budget)


def predict_general(params, specs, arrays_list, fermi_energy, bands, num, spec: ModelSpec):
    """`predict_many` for any model (exact bands): [(N_i, K_i)] predictions; traceable.

    Field-like torque T1 = (2/hbar) h x (A Delta k) with h = -(the exchange part of b) at each M
    (h = J M for the shipped models), damping-like T2 = -A k', rho_ratio = rho_xx(M)/rho_xx(M0).
    """
    dtype = arrays_list[0][0].dtype
    model = general_model(spec, params, dtype)
    tau = jnp.asarray(params["tau"], dtype)
    fermi_energy = jnp.asarray(fermi_energy, dtype)
    ms = [unit_directions(theta, phi) for theta, phi, _, _ in arrays_list]
    want_amr = any("rho_ratio" in columns for columns, _ in specs)

    def response(direction):
        turned = with_magnetization(model, direction)
        flux, conductance = general_response(turned, fermi_energy, bands, num, spec.route, spec.budget)
        return flux, _rho_xx(conductance), -jnp.stack(turned.exchange_field())

    rows = ms + ([jnp.asarray(REFERENCE_M, dtype)[None, :]] if want_amr else [])
    flux_all, rho_all, h_all = jax.vmap(response)(jnp.concatenate(rows))
    rho0 = rho_all[-1]
    outputs, offset = [], 0
    for (columns, kind), (theta, phi, efield, time), m in zip(specs, arrays_list, ms):
        n = m.shape[0]
        force = accelerating_force(jnp.stack([efield, jnp.zeros_like(efield)], -1))
        kdot = force / HBAR
        flux, rho, h = flux_all[offset : offset + n], rho_all[offset : offset + n], h_all[offset : offset + n]
        offset += n
        out = {}
        if "rho_ratio" in columns:
            out["rho_ratio"] = rho / rho0
        rate = jnp.einsum("nij,nj->ni", flux, kdot)
        field_like = 2.0 / HBAR * tau * jnp.cross(h, rate)
        out.update(_torque_columns(rate, field_like, time, tau, kind))
        outputs.append(jnp.stack([out[name] for name in columns], -1))
    return outputs


@functools.partial(jax.jit, static_argnums=(1, 2, 4, 5, 6))
def _predict_general_jit(params, columns, kind, arrays, fermi_energy, bands, num, spec):
    return predict_general(params, ((columns, kind),), (arrays,), fermi_energy, bands, num, spec)[0]


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
    model=None,
    method: str = "exact",
    num: int = 64,
    label: str = "synthetic",
) -> Curve:
    """A `Curve` of the forward model at `params` plus Gaussian noise, to test a fit set-up.

    Args:
        params: true parameters, as for `predict`: alpha [eV nm], j_ex [eV], mass_ratio, tau [fs]
            for the Rashba ferromagnet; tau [fs] and any of `jaxsot.parameter_names(model)` for
            another model.
        fermi_energy: E_F [eV].
        columns: observables (`COLUMNS`), a name or a sequence of names.
        phi: azimuths of M [rad], (N,); default: N points over [0, 2 pi) (steady) or 0 (transient).
        theta: polar angle(s) of M [rad], scalar or (N,).
        efield: E along x [V/nm] (1e-4 V/nm = 1e5 V/m), scalar or (N,).
        time: (N,) times after the field step [fs] for a transient, or None (steady state).
        num_points: N when phi/time are not given (>= 3).
        noise: standard deviation of the noise as a fraction of each column's peak-to-peak
            range (its signal; rho_ratio ~ 1 varies by ~p eta), or of its largest |value| where the
            range is below 1e-6 of it (a column flat in these rows), >= 0.
        known_noise: store sigma in the curve (True) or leave it unknown (estimated by the fit).
        seed: NumPy random seed (>= 0).
        model: the electron model, any `jaxsot.TwoBandModel` (None: the Rashba ferromagnet of
            `params`), as for `predict`.
        method: "exact" or "strong_exchange" (Rashba ferromagnet only), as for `predict`.
        num: rays per Fermi contour, as for `predict`.
        label: the curve's name in reports.

    Returns:
        A `Curve` with values = prediction + noise (and sigma when `known_noise`).
    """
    require_concrete("synthesize", params, fermi_energy=fermi_energy)
    model, method = split_model_method(model, method)
    check_model_method(model, method)
    if is_rashba(model):
        if model is not None and isinstance(params, dict):
            params = {**{n: float(v) for n, v in model_parameters(model).items()}, **params}
        truth = check_params(params)
    else:
        truth = check_general_params(params, parameter_names(model), model)
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
    clean = onp.asarray(predict(template, truth, fermi_energy, model=model, method=method, num=num))
    if not onp.all(onp.isfinite(clean)):
        raise ValueError("the forward model gave non-finite values at these parameters (a contour did not converge)")
    span = onp.ptp(clean, axis=0)
    size = onp.max(onp.abs(clean), axis=0)
    # A column flat up to quadrature rounding (the TI surface's T_DL_y at one theta: in-plane M only shifts the
    # cone) has no signal to scale by: 1 % of a 1e-10 span would weight it 1e8 times too much.
    scale = onp.where(span > _FLAT * size, span, size)
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



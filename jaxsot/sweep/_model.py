"""Sweeps of any `TwoBandModel` over its named parameters (`jaxsot.sweep_model`).

The Rashba sweep (`sweep_observables`) evaluates every point in one compiled, point-vectorized
program because its Fermi seas are always handled by the ray route. A general model's seas are not:
a lattice model needs the Brillouin-zone mesh, and a continuum model leaves the rays where its sea
is annular, not star-shaped or near a band touching. So each point here goes through
`jaxsot.simulate` with the route chosen for that point (`fermi_sea_route`, concrete values: the
ray route's preconditions are tested, not assumed) and the route that ran is recorded per point.
Points whose node sets have equal shapes (every ray-route point of a sweep) share one compilation.

Resume: `indices` evaluates a subset of the points (a chunk), so a caller that stores finished
chunks (the command line does) recomputes nothing after an interruption.
"""

import inspect
from collections.abc import Callable, Mapping

import jax.numpy as jnp
import numpy as onp

from .._core._checks import check_count
from .._core._model import with_magnetization
from .._core._params import parameter_names, replace_parameters
from .._dynamics._simulate import simulate

MODEL_SWEEP_EXTRA = ("fermi_energy", "theta", "phi")
"""Sweepable names besides the model's own parameters (`jaxsot.parameter_names`): E_F [eV] and the
direction of M, polar angle theta from +z and azimuth phi from +x [rad] (set by `with_magnetization`)."""
MODEL_ANGLES = ("theta", "phi")

ROUTE_CODES = {"rays": 0, "mesh": 1}
"""Per-point route codes in the "route" output of `sweep_model`."""


def model_points(model, parameters: Mapping) -> dict:
    """{name: (P,) float64} from `parameters` broadcast to one point axis, names and values checked.

    Args:
        model: any `jaxsot.TwoBandModel` (its `parameter_names` are the allowed names, with fermi_energy,
            theta and phi).
        parameters: {name: (P,) array or scalar} in the model's units (fermi_energy [eV], theta and
            phi [rad]).

    Returns:
        {name: (P,) float64 array}, every array of the same length P >= 1.

    Raises:
        ValueError: for an unknown name (listing the allowed ones), no names, values that are not
            finite, shapes that do not broadcast to one axis, theta outside [0, pi], or one angle of
            M swept for a model without a `magnetization` field.
    """
    allowed = tuple(parameter_names(model)) + MODEL_SWEEP_EXTRA
    if not isinstance(parameters, Mapping) or not parameters:
        raise ValueError(f"parameters = {parameters!r} is not allowed; allowed: a non-empty dict with keys from {', '.join(allowed)}")
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        raise ValueError(
            f"parameters has unknown name(s) {unknown} for {type(model).__name__}; allowed: {', '.join(allowed)}"
        )
    arrays = {name: onp.asarray(value, dtype=onp.float64) for name, value in parameters.items()}
    try:
        shape = onp.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = {k: v.shape for k, v in arrays.items()}
        raise ValueError(f"parameters: shapes {shapes} do not broadcast; allowed: (P,) arrays or scalars") from None
    if len(shape) > 1:
        raise ValueError(f"parameters broadcast to shape {shape}; allowed: one point axis (P,)")
    shape = shape or (1,)
    arrays = {k: onp.broadcast_to(v, shape) for k, v in arrays.items()}
    for name, value in arrays.items():
        bad = onp.flatnonzero(~onp.isfinite(value))
        if bad.size:
            raise ValueError(f"parameters[{name!r}][{int(bad[0])}] = {float(value[bad[0]])!r} is not finite; allowed: finite values")
    if "theta" in arrays:
        bad = onp.flatnonzero((arrays["theta"] < 0.0) | (arrays["theta"] > onp.pi))
        if bad.size:
            raise ValueError(f"parameters['theta'][{int(bad[0])}] = {float(arrays['theta'][bad[0]])!r} is out of range; "
                             "allowed: [0, pi] (the polar angle of M from +z)")
    if len(set(arrays) & set(MODEL_ANGLES)) == 1 and not hasattr(model, "magnetization"):
        raise ValueError(f"parameters sweeps one angle of M, but {type(model).__name__} has no `magnetization` to take the "
                         "other from; allowed: both theta and phi")
    return arrays


def model_at_point(model, values: Mapping, dtype=None):
    """The model at one sweep point: its named parameters replaced and M turned to the point's angles.

    Args:
        model: any `jaxsot.TwoBandModel`.
        values: {name: scalar} of the point (`model_points` names; "fermi_energy" is ignored here),
            theta and phi [rad] turning M through `model.with_magnetization` (an angle not given is
            read from the model's M; at the poles, M = +-z, its azimuth is undefined and taken as 0,
            so give both angles there).
        dtype: dtype of the replaced values and of M (None: JAX's default float).

    Returns:
        The model of the same type at the point (no re-validation: see `check_point`).
    """
    values = {k: v for k, v in values.items() if k != "fermi_energy"}
    angles = {k: float(values.pop(k)) for k in MODEL_ANGLES if k in values}
    point_model = replace_parameters(model, **{k: jnp.asarray(v, dtype) for k, v in values.items()})
    if not angles:
        return point_model
    if len(angles) == 1:
        m = onp.asarray(model.magnetization, dtype=onp.float64)
        m = m / onp.linalg.norm(m)
        angles = {"theta": float(onp.arccos(onp.clip(m[2], -1.0, 1.0))), "phi": float(onp.arctan2(m[1], m[0])), **angles}
    theta, phi = angles["theta"], angles["phi"]
    direction = onp.asarray([onp.sin(theta) * onp.cos(phi), onp.sin(theta) * onp.sin(phi), onp.cos(theta)])
    return with_magnetization(point_model, jnp.asarray(direction, dtype))


def check_point(model, values: Mapping, index: int = 0) -> None:
    """Run the model's constructor again on one point's values (`replace_parameters` does not check).

    A model whose constructor arguments are all fields of the same name (every shipped continuum
    and square-lattice model) is rebuilt with the point's values, so its own range checks run and
    name the parameter, the value and the allowed range; other models (e.g. TightBindingModel)
    are left to the engine's checks.

    Args:
        model: any `jaxsot.TwoBandModel`.
        values: {parameter name: value} of the point, in the model's units.
        index: the point's index (named in the error).

    Raises:
        ValueError: "sweep point i (name = value, ...): <the constructor's message>".
    """
    params = [p for n, p in inspect.signature(type(model).__init__).parameters.items() if n != "self"]
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or not hasattr(model, p.name) for p in params):
        return
    arguments = {p.name: getattr(model, p.name) for p in params}
    arguments.update({k: float(v) for k, v in values.items()})
    try:
        type(model)(**arguments)
    except ValueError as error:
        where = ", ".join(f"{k} = {float(v):g}" for k, v in values.items())
        raise ValueError(f"sweep point {index} ({where}): {error}") from None


def sweep_model(
    model,
    fermi_energy,
    drive: Callable,
    times,
    parameters: Mapping,
    *,
    tau=None,
    num_phi: int = 64,
    num_r: int = 8,
    substeps: int = 4,
    route: str = "auto",
    mesh=None,
    observables=None,
    approximations=None,
    indices=None,
    devices=None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The observables of `jaxsot.simulate` for `model` with its named parameters swept.

    Point i is `simulate(replace_parameters(model, **{name: parameters[name][i]}), E_F_i, drive,
    times, ...)`, with `E_F_i = parameters["fermi_energy"][i]` when swept, else `fermi_energy`, and
    M turned to (theta_i, phi_i) when an angle is swept. The
    Fermi-sea route is chosen per point (`route="auto"`: rays where every occupied sea is star-shaped
    about k = 0 without a nearby band touching, else the mesh; always the mesh for a lattice model)
    and recorded per point. Each point's states are split over `devices` as in simulate.

    Args:
        model: any `jaxsot.TwoBandModel` (continuum or lattice).
        fermi_energy: E_F [eV] of the points that do not sweep "fermi_energy".
        drive: callable t [fs] -> E(t) (2,) [V/nm] (e.g. `jaxsot.StepDrive`).
        times: (T,) increasing output times [fs]; its dtype is the dtype of the computation.
        parameters: {name: (P,) array or scalar}: names from `jaxsot.parameter_names(model)`,
            "fermi_energy" [eV], or the direction of M, "theta" (polar, [0, pi]) and "phi" (azimuth)
            [rad] (set by `model.with_magnetization`; an angle not given is the model's own), values
            in the model's units; arrays broadcast to one point axis (P,).
        tau: momentum relaxation time [fs] (> 0), or None for none.
        num_phi: rays / angular nodes per band of the ray route (>= 8).
        num_r: radial nodes per ray of the ray route (>= 2).
        substeps: RK4 substeps of the rigid shift per output interval (>= 1).
        route: "auto" (default), "rays" or "mesh": as in `jaxsot.simulate`, per point.
        mesh: `jaxsot.MeshOptions` of the mesh route (None: defaults).
        observables: names of `jaxsot.UNITS` to compute, or None for all (as in simulate).
        approximations: of "exact", "second_order", "strong_exchange", or None for all.
        indices: the point indices to evaluate (a chunk, for resumable runs), or None for all.
        devices: devices each point's states are split over (default: all local devices).
        progress: called as progress(points_done, points_total) after each point.

    Returns:
        {variable: array} over the evaluated points (N = len(indices), or P): "<observable>_<approximation>"
        (N, T, d) for every computed column (units `jaxsot.UNITS`), "band_density" (N, 2) [1/nm^2]
        (lower, upper), "min_splitting" (N,) [eV], "route" (N,) int8 (`ROUTE_CODES`: 0 rays, 1 mesh),
        "num_states" (N,) int64 (states evaluated per time step, `SimulationResult.num_states`: sea and
        contour nodes of the route that ran, so a mesh-route point counts its mesh nodes), "index"
        (N,) int64 (the point indices) and one (N,) entry per swept parameter (its values).

    Raises:
        ValueError: for an unknown parameter name (listing the allowed names), a point simulate
            refuses (the message names the point and its values), or bad indices.
    """
    points = model_points(model, parameters)
    count = next(iter(points.values())).shape[0]
    if indices is None:
        indices = onp.arange(count)
    indices = onp.asarray(indices)
    if indices.ndim != 1 or not onp.issubdtype(indices.dtype, onp.integer) or (indices.size and (indices.min() < 0 or indices.max() >= count)):
        raise ValueError(f"indices = {indices!r} is not allowed; allowed: a 1-D integer array of point indices in [0, {count})")
    num_phi = check_count("num_phi", num_phi, minimum=8)
    num_r = check_count("num_r", num_r, minimum=2)
    substeps = check_count("substeps", substeps, minimum=1)
    times = jnp.asarray(times)
    dtype = times.dtype if jnp.issubdtype(times.dtype, jnp.floating) else jnp.float32
    for i in indices.tolist():  # every point's values through the model's own checks, before any work
        check_point(model, {k: v[i] for k, v in points.items() if k not in MODEL_SWEEP_EXTRA}, i)
    columns: dict = {}
    for done, i in enumerate(indices.tolist(), start=1):
        values = {k: v[i] for k, v in points.items()}
        e_f = values.pop("fermi_energy", fermi_energy)
        try:
            point_model = model_at_point(model, values, dtype)
            result = simulate(
                point_model, e_f, drive, times, tau=tau, num_phi=num_phi, num_r=num_r, substeps=substeps,
                route=route, mesh=mesh, observables=observables, approximations=approximations, devices=devices,
            )
        except ValueError as error:
            where = ", ".join(f"{k} = {float(v[i]):g}" for k, v in points.items())
            raise ValueError(f"sweep point {i} ({where}): {error}") from None
        row = {f"{name}_{approx}": value for name, forms in result.observables.items() for approx, value in forms.items()}
        row["band_density"] = result.band_densities
        row["min_splitting"] = result.min_splitting
        for name, value in row.items():
            columns.setdefault(name, []).append(onp.asarray(value))
        columns.setdefault("route", []).append(ROUTE_CODES[result.route])
        columns.setdefault("num_states", []).append(result.num_states)
        if progress is not None:
            progress(done, int(indices.size))
    out = {name: onp.stack(values) for name, values in columns.items() if name not in ("route", "num_states")}
    out["route"] = onp.asarray(columns.get("route", []), dtype=onp.int8)
    out["num_states"] = onp.asarray(columns.get("num_states", []), dtype=onp.int64)
    out["index"] = indices.astype(onp.int64)
    for name, value in points.items():
        out[name] = value[indices]
    return out


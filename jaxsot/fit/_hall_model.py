"""Harmonic Hall fit model: whitened residuals of every data set (pure, jit/vmap/grad-friendly in the parameter
dict), the set-up of parameters, guesses, bounds and traced blocks (`hall_loss` and `synthesize_hall` live in
`_hall_loss` and `_hall_synth`)."""

import dataclasses
import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp

from .._core._model import RashbaFerromagnet
from .._core._params import model_parameters
from .._llg import Magnet, ModelTorque, SpinOrbitTorque
from .._llg._magnet import PROBE_DIRECTIONS
from .._measure import (
    HALL_DEFAULTS,
    HALL_PARAMETERS,
    REFERENCE_CURRENT,
    effective_fields,
    hall_bands,
    harmonic_hall_forward,
    harmonic_hall_all_orders,
)
from .._measure._fields import effective_fields_kernel, model_field_vectors, moment_per_area
from .._measure._hall import check_hall_params, hall_points, model_hall_torque, param_arrays, rashba_points, with_model_parameters
from .._measure._polar import DEFAULT_TOLERANCE, interpolation_errors, polar_nodes_for
from .._measure._quasistatic import DEFAULT_PHASES, all_orders_points, rashba_all_orders
from ._curves import DEFAULT_GUESS
from ._forward import general_bands_at, general_model
from ._hall_data import FieldData, HALL_FIT_PARAMETERS, HallData, HallNames, LINEAR, MICROSCOPIC, RASHBA_NAMES, values_of
from ._optimize import free_to_params, is_log_scale, minimize_start, minimize_steps, to_physical


POLAR_ROUTE = True
"""Whether the Rashba ferromagnet's exact-model Hall blocks may take the interpolated flux tensor
(`polar_nodes_of`); False forces the direct route (one Fermi-contour solve per point: benchmarks, checks)."""


@dataclasses.dataclass(frozen=True)
class HallStatic:
    """What the compiled residuals and optimizer are specialized on (hashable); data and bounds are traced."""

    kinds: tuple  # per data set: ("hall", orders, polar nodes or model names) or ("fields", columns, model[, model names])
    free: tuple
    transform: tuple
    max_steps: int = 200
    gtol: float = 1e-9
    ftol: float = 1e-13
    report_every: int = 0
    # False: the Rashba Hall blocks call the forward kernels without traced input checks (`verify_box` checked every
    # value the fit can reach on the host), so the compiled program holds no host callback and JAX's persistent
    # cache keeps it. Static: a program traced without checks is never reused where checks are needed.
    checked: bool = True
    # Data set indices whose interpolated Rashba Hall block (polar nodes > 0, checked False) also holds the direct route,
    # chosen at run time by the block's traced bool "direct" (`_polar.switched_flux`): the restarts (interpolant)
    # and the polish (direct route) then share one compiled program instead of two.
    switchable: tuple = ()


def _field_predictions(params, block, columns, model, names=None, checked=True):
    """(N, K) predictions of a FieldData block: B^s = b(M) j [T] or xi(M) [1]; names: a general model's
    parameter names (its ModelTorque in the block), None for the Rashba ferromagnet; checked=False (Rashba):
    `effective_fields`' kernel without its traced checks (FieldData checked M and rho0, `verify_box` the params)."""
    if names is not None:
        torque = with_model_parameters(block["torque"], params, names)
    else:
        torque = eqx.tree_at(
            lambda t: (t.alpha, t.j_ex, t.tau, t.mass_ratio), block["torque"],
            (params["alpha"], params["j_ex"], params["tau"], params["mass_ratio"]),
        )
    if checked or names is not None:
        out = effective_fields(block["magnet"], torque, block["m"], block["rho0"], methods=(model,))
    else:
        out = effective_fields_kernel(block["magnet"], torque, block["m"], block["rho0"], (model,), checked=False)
    fields = out.exact if model == "exact" else out.strong_exchange
    table = {
        "B_DL": fields.damping_like_per_current * block["current"],
        "B_FL": fields.field_like_per_current * block["current"],
        "xi_DL": fields.damping_like_efficiency,
        "xi_FL": fields.field_like_efficiency,
    }
    return jnp.stack([table[c] for c in columns], -1)


def predictions(params, blocks, static):
    """Model values (N, K) of every data set (list), from a full parameter dict."""
    out = []
    for i, (kind, block) in enumerate(zip(static.kinds, blocks)):
        if kind[0] == "hall" and not isinstance(kind[2], int):
            r_1w, r_2w = _general_hall(params, block, kind[1], kind[2])
            out.append(jnp.stack([r_1w + params["r_1w_offset"], r_2w + params["r_2w_offset"]], -1))
        elif kind[0] == "hall":
            hall = {k: params[k] for k in HALL_PARAMETERS}
            if not static.checked:  # the public functions' kernels, without their traced checks
                arrays = param_arrays(hall, block["settings"])
                direct = block["direct"] if i in static.switchable and kind[2] else None
                signals = (rashba_all_orders(arrays, block["settings"], DEFAULT_PHASES, kind[2], checked=False, direct=direct)
                           if kind[1] == "all" else rashba_points(arrays, block["settings"], kind[2], checked=False, direct=direct))
                r_1w, r_2w = signals.r_1w, signals.r_2w
            elif kind[1] == "all":
                out_all = harmonic_hall_all_orders(hall, block["settings"], polar_nodes=kind[2])
                r_1w, r_2w = out_all.r_1w, out_all.r_2w
            else:
                r_1w, r_2w = harmonic_hall_forward(hall, block["settings"], polar_nodes=kind[2])
            out.append(jnp.stack([r_1w + params["r_1w_offset"], r_2w + params["r_2w_offset"]], -1))
        else:
            out.append(_field_predictions(params, block, kind[1], kind[2], kind[3] if len(kind) > 3 else None, static.checked))
    return out


def _general_hall(params, block, orders, names):
    """(R_1w, R_2w) of a general model's Hall block (its ModelTorque in the block, parameters by name)."""
    settings = block["settings"]
    torque = with_model_parameters(block["torque"], params, names)
    hall = {k: params[k] for k in HALL_PARAMETERS[4:]}
    moment = moment_per_area(settings.ms_tesla, settings.thickness)
    if orders == "all":
        out = all_orders_points(hall, torque, lambda p, t, m: model_field_vectors(t, m, moment), settings, DEFAULT_PHASES)
        return out.r_1w, out.r_2w
    signals = hall_points(hall, settings, lambda m: model_field_vectors(torque, m, moment))
    return signals.r_1w, signals.r_2w


def _residuals(params, blocks, static):
    """Whitened residuals (prediction - value)/sigma of every data set, concatenated (N_total,)."""
    return jnp.concatenate(
        [((p - b["values"]) / b["sigma"]).ravel() for p, b in zip(predictions(params, blocks, static), blocks)]
    )


def _loss(u, data, static):
    blocks, box = data
    r = _residuals(to_physical(u, box, static), blocks, static)
    return 0.5 * jnp.mean(r * r)


@functools.partial(jax.jit, static_argnums=(2,))
def _start_batched(u0, data, static):
    fun = functools.partial(_loss, data=data, static=static)
    return jax.vmap(lambda u: minimize_start(fun, u, static))(u0)


@functools.partial(jax.jit, static_argnums=(3,))
def _steps_batched(carry, data, stop, static):
    fun = functools.partial(_loss, data=data, static=static)
    return jax.vmap(lambda c: minimize_steps(fun, c, stop, static), out_axes=(0, 0))(carry)


def run_batched(u0, data, static, every: int = 0, report=None):
    """L-BFGS runs (`jaxsot.fit`'s optax optimizer) from each start u0 (R, p), batched with vmap:
    (u, loss, steps, status, trace (R, max_steps)) as `_optimize.minimize`.

    every > 0: the runs stop every `every` iterations and report(trace, first, stop) is called from Python with
    the losses so far (iterations [first, stop) are new): the compiled program has no host callback (JAX's
    persistent cache keeps it), and it is the same program whatever `every` (static.report_every stays 0).
    """
    static = dataclasses.replace(static, report_every=0)
    carry = _start_batched(u0, data, static)
    first, stop = 0, (every if every > 0 else static.max_steps)
    while True:
        carry, result = _steps_batched(carry, data, jnp.asarray(stop, jnp.int32), static)
        if report is not None:
            report(onp.asarray(result[4]), first, min(stop, static.max_steps))
        if stop >= static.max_steps or onp.all(onp.asarray(result[3]) >= 0):
            return result
        first, stop = stop, stop + every


@functools.partial(jax.jit, static_argnums=(2,))
def residuals_and_jacobian(x, data, static):
    """Whitened residuals (N,) and their Jacobian (N, p) in the physical free parameters x."""
    blocks, box = data
    fun = lambda z: _residuals(free_to_params(z, box, static), blocks, static)
    return fun(x), jax.jacfwd(fun)(x)


def check_names(what, names, allowed=HALL_FIT_PARAMETERS):
    bad = [n for n in names if n not in allowed]
    if bad:
        raise ValueError(f"{what} names {bad[0]!r}; allowed: {', '.join(allowed)}")


def as_data_list(data, settings):
    if isinstance(data, (HallData, FieldData)):
        data = [data]
    elif isinstance(data, tuple) and len(data) == 2 and settings is not None:
        data = [HallData.from_settings(data[0], data[1], settings, label="hall")]
    data = list(data) if isinstance(data, (list, tuple)) else None
    if not data or not all(isinstance(d, (HallData, FieldData)) for d in data):
        raise ValueError(
            "data must be a HallData, a FieldData, a list of them, or (r_1w, r_2w) with settings = a jaxsot.HallSettings"
        )
    return data


def default_free(data, names: HallNames = RASHBA_NAMES) -> tuple:
    """The parameters `fit_harmonic_hall` fits when free is None, for a list of HallData / FieldData
    (a general model: all its named parameters and tau, instead of alpha, j_ex, tau)."""
    has_hall = any(isinstance(d, HallData) for d in data)
    electrons = names.electrons if names.general else ("alpha", "j_ex", "tau")
    free = electrons + (("anisotropy_field", "r_ahe", "r_phe") if has_hall else ())
    if has_hall and all(_in_plane(d) for d in data if isinstance(d, HallData)):
        # In-plane magnets: the thermal (anomalous Nernst / spin Seebeck) term R_ANE M_x has the angular
        # dependence of the damping-like term (cos phi): leaving it out would bias B_DL.
        free = free + ("r_ane",)
    return free


def _in_plane(data) -> bool:
    """Whether a HallData's easy axis lies in the film plane (|u_z| < 0.5): an in-plane magnet."""
    u = onp.asarray(data.easy_axis, float)
    return abs(u[2]) < 0.5 * float(onp.linalg.norm(u))


def default_guess(data, model=None) -> dict:
    """Starting values: jaxsot.fit's DEFAULT_GUESS for the electrons (a general model: its own values and
    DEFAULT_GUESS's tau), HALL_DEFAULTS, and scales from the data."""
    # anisotropy_field and r_ahe = 0 are placeholders: without a Hall curve nothing depends on them.
    guess = {**DEFAULT_GUESS, **HALL_DEFAULTS, "anisotropy_field": 0.0, "r_ahe": 0.0, "r_1w_offset": 0.0, "r_2w_offset": 0.0}
    if model is not None:
        electrons = {n: float(v) for n, v in model_parameters(model).items()}
        guess = {**electrons, "tau": guess["tau"], **{k: v for k, v in guess.items() if k not in MICROSCOPIC}}
    hall = [d for d in data if isinstance(d, HallData)]
    if hall:
        r_1w = onp.concatenate([d.r_1w for d in hall])
        top = float(onp.max(onp.abs(r_1w)))
        # R_1w ~ r_ahe M_z: the largest |R_1w| with the sign of the mean (refined by least squares later).
        guess["r_ahe"] = math.copysign(max(top, 1e-12), float(onp.mean(r_1w)) or 1.0)
        first = hall[0]
        u = onp.asarray(first.easy_axis) / onp.linalg.norm(first.easy_axis)
        b_max = float(max(onp.max(onp.abs(d.field)) for d in hall))
        # Perpendicular magnets: B_K,eff = B_K - mu0 M_s above the largest in-plane field; in-plane magnets: small.
        guess["anisotropy_field"] = first.ms_tesla + 2.0 * b_max if abs(u[2]) > 0.5 else 0.05
    return guess


def default_bounds(name, guess, data, names: HallNames = RASHBA_NAMES) -> tuple:
    hall = [d for d in data if isinstance(d, HallData)]
    if name in names.model_names:
        # A general model's own parameter: a factor 3 either way (one-signed), +-1 model unit about zero.
        return tuple(sorted((guess / 3.0, guess * 3.0))) if guess != 0.0 else (-1.0, 1.0)
    r_1w = max([float(onp.max(onp.abs(d.r_1w))) for d in hall] or [1.0])
    r_2w = max([float(onp.max(onp.abs(d.r_2w))) for d in hall] or [1.0])
    if name in ("alpha", "j_ex", "mass_ratio"):
        return tuple(sorted((guess / 3.0, guess * 3.0)))
    if name == "tau":
        return tuple(sorted((guess / 10.0, guess * 10.0)))
    if name in ("anisotropy_field", "r_ahe") and guess != 0.0:
        return tuple(sorted((guess / 10.0, guess * 10.0)))
    b_max = max([float(onp.max(onp.abs(d.field))) for d in hall] or [1.0]) or 1.0
    scale = {"r_phe": 3.0 * r_1w, "r_1w_offset": 3.0 * r_1w, "r_ohe": 3.0 * r_1w / b_max, "r_ane": 3.0 * r_2w, "r_ane_field": 3.0 * r_2w / b_max, "r_2w_offset": 3.0 * r_2w,
             "oersted_field": 0.1, "anisotropy_field": 10.0, "r_ahe": 3.0 * r_1w}[name]
    scale = max(scale, 2.0 * abs(guess), 1e-12)
    return (guess - scale, guess + scale)


def depended_names(data, electrons=MICROSCOPIC) -> set:
    names = set(electrons)
    if any(isinstance(d, HallData) for d in data):
        names |= set(HALL_FIT_PARAMETERS)
    return names


def _bands(values, data, model, spec=None):
    """Occupied bands per data set at `values` (exact model; `jaxsot.hall_bands`), () for strong exchange;
    a general model's (`ModelSpec`) at the probe directions of M (its bands may depend on all of M)."""
    if spec is not None:
        return [general_bands_at(spec, values, d.fermi_energy, PROBE_DIRECTIONS) for d in data]
    if model != "exact":
        return [() for _ in data]
    return [hall_bands({k: values[k] for k in HALL_PARAMETERS}, d.fermi_energy) for d in data]


class SettledBands(list):
    """The occupied bands per data set (a list, as before), and the parameter points of the settled box (the guess,
    the corners of the electrons' bounds and interior probes) where `build_blocks` checks the interpolated flux tensor."""

    def __init__(self, bands, points):
        super().__init__(bands)
        self.points = points


def _corner(values, free, varied, lower, upper, corner):
    point = dict(values)
    for bit, i in enumerate(varied):
        point[free[i]] = upper[i] if (corner >> bit) & 1 else lower[i]
    return point


def polar_nodes_of(points, data, bands, model, num, spec=None):
    """Per data set: the Chebyshev node count of the interpolated flux tensor (`jaxsot._measure._polar`) whose
    R_1w/R_2w inputs match the direct route to DEFAULT_TOLERANCE at every point (guess, box corners, interior probes),
    0 (the direct route) for FieldData, strong exchange, a general model (no rotation symmetry assumed), or when
    no count of the ladder reaches the tolerance (e.g. few rays: their own anisotropy); POLAR_ROUTE = False: 0."""
    if not POLAR_ROUTE or model != "exact" or spec is not None:
        return [0 for _ in data]
    return [polar_nodes_for(points, d.fermi_energy, bands=b, num=num)[0] if isinstance(d, HallData) else 0
            for d, b in zip(data, bands)]


def exploration_nodes(values, data, bands, model, num, kinds) -> dict:
    """{data set index: node count} for the Rashba Hall data sets on the direct route (kind nodes 0) whose
    interpolated flux tensor matches the direct route to DEFAULT_TOLERANCE at the guess `values` (though not at
    every probe of the box): the fit's restarts may explore on it; {} without such data sets or POLAR_ROUTE off."""
    if not POLAR_ROUTE or model != "exact":
        return {}
    out = {}
    for i, (kind, d, b) in enumerate(zip(kinds, data, bands)):
        if kind[0] == "hall" and isinstance(kind[2], int) and not kind[2]:
            nodes = polar_nodes_for([values], d.fermi_energy, bands=b, num=num)[0]
            if nodes:
                out[i] = nodes
    return out


def direct_where_inexact(static, params, data, bands, num):
    """(static, switched): `static` with the direct route for every data set whose interpolated flux tensor
    misses DEFAULT_TOLERANCE at `params` (the best fit; the nodes were chosen at the guess and probes of the
    box), and the indices of those data sets. A switchable data set (`HallStatic.switchable`, polished on the
    direct route through its traced flag) is switched only at every order, where the flag's route still iterates on
    the interpolant (`all_orders_points`' continuation: exact to O(error^2) only within the tolerance)."""
    kinds, switched, switchable = list(static.kinds), [], list(static.switchable)
    for i, (kind, d, b) in enumerate(zip(static.kinds, data, bands)):
        if kind[0] != "hall" or not kind[2] or (i in switchable and kind[1] != "all"):
            continue
        error = interpolation_errors(float(params["alpha"]), float(params["j_ex"]), float(params.get("mass_ratio", 1.0)),
                                     float(d.fermi_energy), bands=b, num=num, ladder=(kind[2],))[kind[2]]
        if not error <= DEFAULT_TOLERANCE:
            kinds[i], switched = kind[:2] + (0,), switched + [i]
            switchable = [j for j in switchable if j != i]
    return (dataclasses.replace(static, kinds=tuple(kinds), switchable=tuple(switchable)) if switched else static), switched


def settle_box(values, data, model, free, lower, upper, given, spec=None):
    """Bands at the guess; narrow default (not given) bounds of alpha, j_ex, mass_ratio (a general model's
    named parameters) until every corner of the box has the same occupied bands (the compiled exact model is
    specialized on them)."""
    try:
        bands = _bands(values, data, model, spec)
    except ValueError as error:
        raise ValueError(f"at the guess: {error}") from None
    varied = [i for i, n in enumerate(free) if n in (spec.names if spec is not None else ("alpha", "j_ex", "mass_ratio"))]
    if model != "exact" or not varied:
        return SettledBands(bands, [values])
    for _ in range(40):
        failure = None
        for corner in range(2 ** len(varied)):
            point = _corner(values, free, varied, lower, upper, corner)
            try:
                ok = _bands(point, data, model, spec) == bands
                message = f"the occupied bands differ at {show_point(point, free)} from those at the guess {bands}"
            except ValueError as error:
                ok, message = False, f"at {show_point(point, free)}: {error}"
            if not ok:
                failure = (point, message)
                break
        if failure is None:
            corners = [_corner(values, free, varied, lower, upper, c) for c in range(2 ** len(varied))]
            return SettledBands(bands, [values] + corners + _axis_probes(values, free, varied, lower, upper))
        point, message = failure
        adjustable = [i for i in varied if not given[i] and point[free[i]] != values[free[i]]]
        if not adjustable:
            raise ValueError(f"{message}; allowed: bounds within one band regime (narrow the bounds of "
                             f"{', '.join(free[i] for i in varied)})")
        for i in adjustable:
            g = values[free[i]]
            if point[free[i]] == lower[i]:
                lower[i] = math.copysign(math.sqrt(abs(lower[i] * g)), g) if is_log_scale(lower[i], upper[i]) else 0.5 * (lower[i] + g)
            else:
                upper[i] = math.copysign(math.sqrt(abs(upper[i] * g)), g) if is_log_scale(lower[i], upper[i]) else 0.5 * (upper[i] + g)
    raise ValueError(message)


def _axis_probes(values, free, varied, lower, upper, count=5):
    """Interior points of the box along each varied axis (the others at the guess): the interpolated flux
    tensor's error peaks inside a box (where alpha k_F ~ J), not only at its corners."""
    points = []
    for i in varied:
        lo, hi = lower[i], upper[i]
        for t in (onp.arange(1, count + 1) / (count + 1)):
            value = math.copysign(abs(lo) ** (1 - t) * abs(hi) ** t, lo) if is_log_scale(lo, hi) else lo + t * (hi - lo)
            points.append({**values, free[i]: float(value)})
    return points


def verify_box(values, free, lower, upper, model):
    """Check on the host every value of the Rashba forward model's inputs that the fit can reach: the fixed values
    and both ends of every free parameter's box (each check is an interval of one parameter, so the two points of
    all lower and all upper ends cover the box), with the checks of `jaxsot.harmonic_hall_forward` and, for the
    exact model, of `jaxsot.RashbaFerromagnet` (mass_ratio in MASS_RATIO_RANGE). The fit's compiled residuals then
    run without traced checks (`HallStatic.checked`). ValueError naming the parameter, its bounds and the range."""
    fixed = {n: values[n] for n in HALL_PARAMETERS if n in values}
    for end in (lower, upper):
        point = {**fixed, **{n: v for n, v in zip(free, end) if n in HALL_PARAMETERS}}
        try:
            point = check_hall_params(point)
            if model == "exact":
                RashbaFerromagnet(point["alpha"], point["j_ex"], (0.0, 0.0, 1.0), point["mass_ratio"])
        except ValueError as error:
            box = ", ".join(f"{n} in [{lo:g}, {hi:g}]" for n, lo, hi in zip(free, lower, upper))
            raise ValueError(f"the fit's parameter box ({box}) reaches a value the forward model refuses: {error}") from None


def best_on_direct_route(x_end, losses, rows, best, info, reporter, evaluate) -> int:
    """The best restart by its loss on the direct route, for restarts that ran on the interpolated flux tensor.

    The interpolant is within its tolerance at the guess, not everywhere in the box: nearly tied basins may rank
    differently on it than on the direct route. Each distinct end point of a restart with a finite loss is evaluated
    once on the direct route (`evaluate`: residuals and Jacobian, the polish's compiled program; its loss
    |r|^2/(2N) as the restarts'); rows gain "direct_loss" (NaN where not evaluated). Returns the index of the
    lowest finite direct loss (`best`, the interpolant's choice, when none is finite) and says so in `info` when
    the two choices differ."""
    reporter.stage("the restarts' end points on the direct Fermi-contour route")
    seen = {}
    direct = onp.full(len(rows), onp.nan)
    for i, x in enumerate(x_end):
        if not onp.isfinite(losses[i]):
            continue
        key = onp.asarray(x, float).tobytes()
        if key not in seen:
            r = evaluate(x)[0]
            seen[key] = 0.5 * float(r @ r) / r.size if onp.all(onp.isfinite(r)) else math.inf
        direct[i] = seen[key]
    for row, value in zip(rows, direct):
        row["direct_loss"] = float(value)
    if not onp.any(onp.isfinite(direct)):
        return best
    chosen = int(onp.nanargmin(onp.where(onp.isfinite(direct), direct, onp.nan)))
    if chosen != best and direct[chosen] < direct[best]:
        info.append(f"restart {chosen + 1} chosen by its loss on the direct route ({direct[chosen]:.6g}; "
                    f"{losses[chosen]:.6g} on the interpolated flux tensor) over restart {best + 1}, the best on the "
                    f"interpolant ({losses[best]:.6g}; {direct[best]:.6g} on the direct route)")
        return chosen
    return best


def linear_start(values, free, lower, upper, guess, evaluate, info, reporter) -> dict:
    """The first restart's start: linear least squares for the free linear Hall coefficients without a given guess,
    over a scan of the anisotropy field (when free without a given guess); returns the updated values."""
    linear = [i for i, n in enumerate(free) if n in LINEAR and n not in guess]
    scan = "anisotropy_field" in free and "anisotropy_field" not in guess
    if not linear and not scan:
        return values
    x0 = onp.array([values[n] for n in free])
    candidates = [None]
    if scan:
        i = free.index("anisotropy_field")
        lo, hi = lower[i], upper[i]
        t = onp.linspace(0.04, 0.96, 8)
        grid = onp.exp(onp.log(lo) + (onp.log(hi) - onp.log(lo)) * t) if is_log_scale(lo, hi) else lo + (hi - lo) * t
        candidates = [x0[i]] + list(grid)
    best = None
    reporter.stage(f"first start: linear least squares{' over a scan of the anisotropy field' if scan else ''}")
    for b_k in candidates:
        x = x0.copy()
        if b_k is not None:
            x[free.index("anisotropy_field")] = b_k
        r, jac = evaluate(x)
        if not (onp.all(onp.isfinite(r)) and onp.all(onp.isfinite(jac))):
            continue
        if linear:
            # Residuals are affine in the linear coefficients: one Gauss-Newton step is their exact least squares.
            step = onp.linalg.lstsq(jac[:, linear], -r, rcond=None)[0]
            x[linear] += step
            r = r + jac[:, linear] @ step
        cost = float(r @ r)
        if best is None or cost < best[0]:
            best = (cost, x)
    if best is None:
        return values
    x = best[1]
    out = dict(values)
    for i, name in enumerate(free):
        # Keep the start strictly inside the box (a start on a bound has no gradient in the sigmoid coordinates).
        lo, hi = lower[i], upper[i]
        margin = 1e-3 * (hi - lo)
        out[name] = float(min(max(x[i], lo + margin), hi - margin))
    moved = [n for i, n in enumerate(free) if i in linear or (scan and n == "anisotropy_field")]
    info.append("first start from linear least squares in " + ", ".join(moved) + (" (anisotropy field scanned over its box)" if scan else "")
                + ": " + show_point(out, moved))
    return out


def show_point(point, names):
    return "(" + ", ".join(f"{n} = {point[n]:.4g}" for n in names) + ")"


def build_blocks(data, model, num, bands, sigmas, values, dtype, orders="first", spec=None, polar=True):
    """The traced data of every data set (pytrees) and the static kinds (spec: a general model's `ModelSpec`;
    polar=False: the direct route, without checking the interpolated flux tensor)."""
    if spec is not None:
        return _general_blocks(data, num, bands, sigmas, values, dtype, orders, spec)
    blocks, kinds = [], []
    nodes = polar_nodes_of(getattr(bands, "points", None) or [values], data, bands, model, num) if polar else [0] * len(data)
    for d, b, sigma, n in zip(data, bands, sigmas, nodes):
        observed = jnp.asarray(values_of(d), dtype)
        if isinstance(d, HallData):
            blocks.append({"settings": d.settings(model=model, num=num, bands=b if model == "exact" else None),
                           "values": observed, "sigma": jnp.asarray(sigma, dtype)})
            kinds.append(("hall", orders, n))
        else:
            efield = jnp.asarray([d.rho0 * REFERENCE_CURRENT * 1e-9, 0.0], dtype)
            torque = SpinOrbitTorque(
                jnp.asarray(values["alpha"], dtype), jnp.asarray(values["j_ex"], dtype), jnp.asarray(d.fermi_energy, dtype), efield,
                jnp.asarray(values["tau"], dtype), mass_ratio=jnp.asarray(values["mass_ratio"], dtype), method=model, num=num,
            )
            magnet = Magnet(jnp.asarray(d.ms_tesla, dtype), jnp.asarray(d.thickness, dtype), jnp.asarray(0.0, dtype))
            blocks.append({"torque": torque, "magnet": magnet, "m": jnp.asarray(d.m, dtype), "rho0": jnp.asarray(d.rho0, dtype),
                           "current": jnp.asarray(d.current_density, dtype), "values": observed, "sigma": jnp.asarray(sigma, dtype)})
            kinds.append(("fields", d.columns, model))
    return tuple(blocks), tuple(kinds)


def _general_blocks(data, num, bands, sigmas, values, dtype, orders, spec):
    """Blocks of a general model: each carries a `ModelTorque` at the guess (the host check of its bands),
    whose tau and named parameters each evaluation replaces."""
    model = general_model(spec, values, dtype)
    blocks, kinds = [], []
    for d, b, sigma in zip(data, bands, sigmas):
        observed = jnp.asarray(values_of(d), dtype)
        if isinstance(d, HallData):
            settings = d.settings(model="exact", num=num, bands=b)
            blocks.append({"settings": settings, "torque": model_hall_torque(model, settings), "values": observed,
                           "sigma": jnp.asarray(sigma, dtype)})
            kinds.append(("hall", orders, spec.names))
        else:
            efield = jnp.asarray([d.rho0 * REFERENCE_CURRENT * 1e-9, 0.0], dtype)
            torque = ModelTorque(model, jnp.asarray(d.fermi_energy, dtype), efield, jnp.asarray(values["tau"], dtype), num=num)
            magnet = Magnet(jnp.asarray(d.ms_tesla, dtype), jnp.asarray(d.thickness, dtype), jnp.asarray(0.0, dtype))
            blocks.append({"torque": torque, "magnet": magnet, "m": jnp.asarray(d.m, dtype), "rho0": jnp.asarray(d.rho0, dtype),
                           "current": jnp.asarray(d.current_density, dtype), "values": observed, "sigma": jnp.asarray(sigma, dtype)})
            kinds.append(("fields", d.columns, "exact", spec.names))
    return tuple(blocks), tuple(kinds)

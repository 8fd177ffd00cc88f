"""The optimizer: bounded reparameterization, optax L-BFGS/Adam, batched restarts, Gauss-Newton Jacobians.
"""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as onp
import optax
from .._core._checks import check_count, check_finite
from ._curves import Curve, MODELS
from ._forward import bands_at, check_choice, check_params, curve_arrays, distinct_polar, predict_many



# ---------------------------------------------------------------------------------------------
# Parameter transforms and the static description of a fit.


@dataclasses.dataclass(frozen=True)
class Static:
    """What the compiled loss and optimizer are specialized on (hashable). Data, bounds, fixed
    values and E_F are traced arrays (`make_box`), so a new data set or new bounds reuse the compilation."""

    curves: tuple  # ((columns, kind), ...)
    free: tuple
    transform: tuple  # per free parameter: 1 log box > 0, -1 log box < 0, 0 linear box
    bands: tuple
    num: int
    model: str
    optimizer: str = "lbfgs"
    max_steps: int = 200
    learning_rate: float = 0.05
    gtol: float = 1e-9
    ftol: float = 1e-13
    report_every: int = 0  # > 0: print the loss every so many iterations (jax.debug.callback)


def is_log_scale(lower, upper=None) -> bool:
    """Log transform for a box on one side of zero (positive parameters; alpha may be negative)."""
    return lower > 0.0 or (upper is not None and upper < 0.0)


def transform_kind(lower, upper) -> int:
    return (1 if lower > 0.0 else -1) if is_log_scale(lower, upper) else 0


def make_box(lower, upper, fixed: dict, fermi_energy, dtype) -> dict:
    """The traced part of a fit's set-up: bounds (p,), fixed parameter values, E_F."""
    return {
        "lower": jnp.asarray(lower, dtype).reshape(-1),
        "upper": jnp.asarray(upper, dtype).reshape(-1),
        "fixed": {name: jnp.asarray(value, dtype) for name, value in fixed.items()},
        "fermi_energy": jnp.asarray(fermi_energy, dtype),
    }


def to_physical(u, box, static):
    """Unconstrained u (p,) -> dict of all parameters (free ones inside their bounds)."""
    params = dict(box["fixed"])
    for i, name in enumerate(static.free):
        lo, hi = box["lower"][i], box["upper"][i]
        t = jax.nn.sigmoid(u[i])
        kind = static.transform[i]
        if kind:
            a, b = jnp.log(jnp.abs(lo)), jnp.log(jnp.abs(hi))
            params[name] = kind * jnp.exp(a + (b - a) * t)
        else:
            params[name] = lo + (hi - lo) * t
    return params


def to_unconstrained(values: dict, free, lower, upper) -> onp.ndarray:
    u = []
    for i, name in enumerate(free):
        lo, hi = lower[i], upper[i]
        x = float(values[name])
        if is_log_scale(lo, hi):
            t = (math.log(abs(x)) - math.log(abs(lo))) / (math.log(abs(hi)) - math.log(abs(lo)))
        else:
            t = (x - lo) / (hi - lo)
        t = min(max(t, 1e-12), 1.0 - 1e-12)
        u.append(math.log(t) - math.log1p(-t))
    return onp.asarray(u)


def free_to_params(x, box, static):
    """Physical free values x (p,) -> dict of all parameters."""
    params = dict(box["fixed"])
    for i, name in enumerate(static.free):
        params[name] = x[i]
    return params


def curve_residuals(params, curves, fermi_energy, static):
    """Whitened residuals (prediction - value)/sigma of every curve, concatenated (N_total,)."""
    predictions = predict_many(params, static.curves, [arrays for _, _, arrays in curves], fermi_energy,
                                static.bands, static.num, static.model)
    return jnp.concatenate([((p - values) / sigma).ravel() for p, (values, sigma, _) in zip(predictions, curves)])


def _loss(u, data, static):
    """mean(r^2)/2 at unconstrained u; data = (curve arrays, box)."""
    curves, box = data
    r = curve_residuals(to_physical(u, box, static), curves, box["fermi_energy"], static)
    return 0.5 * jnp.mean(r * r)


# ---------------------------------------------------------------------------------------------
# Optimizer: optax inside a while_loop; one run per restart, restarts batched with vmap.


def _report(step, value, every):
    # Called once per restart and iteration (the restarts run together under vmap).
    if int(step) % every == 0:
        print(f"  iteration {int(step):4d}: loss {float(value):.6g}", flush=True)


def _run_one(u0, data, static):
    """One optimization from u0 (p,): (u, loss, steps, status, trace (max_steps,))."""
    return minimize(functools.partial(_loss, data=data, static=static), u0, static)


def minimize(fun, u0, static):
    """Minimize fun(u) from u0 (p,) in a while_loop (jit/vmap-able): (u, loss, steps, status, trace (max_steps,)).

    static: hashable options with max_steps, gtol, ftol, report_every and, optionally, optimizer
    ("lbfgs" default, or "adam" with learning_rate). Status codes: the module's stopping criteria
    (0 small gradient, 1 small change, 2 max_steps, 3 non-finite loss, 4 stalled).
    """
    dtype = u0.dtype
    if getattr(static, "optimizer", "lbfgs") != "adam":
        solver = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(fun)
    else:
        schedule = optax.exponential_decay(static.learning_rate, transition_steps=max(static.max_steps // 4, 1), decay_rate=0.3)
        solver = optax.adam(schedule)
        plain = jax.value_and_grad(fun)
        value_and_grad = lambda u, state: plain(u)  # noqa: E731
    state = solver.init(u0)
    trace = jnp.full((static.max_steps,), jnp.nan, dtype)

    def cond(carry):
        _, _, step, _, status, _ = carry
        return (step < static.max_steps) & (status < 0)

    def body(carry):
        u, state, step, previous, _, trace = carry
        value, grad = value_and_grad(u, state=state)
        gnorm = jnp.max(jnp.abs(grad))
        trace = trace.at[step].set(value)
        if static.report_every > 0:
            # The host decides what to print: under vmap a traced condition would run both branches.
            jax.debug.callback(functools.partial(_report, every=static.report_every), step, value)
        small_grad = gnorm <= static.gtol * (1.0 + jnp.abs(value))
        small_change = (step > 0) & (jnp.abs(previous - value) <= static.ftol * (1.0 + jnp.abs(value)))
        # No decrease with a gradient far from zero is a failed line search, not an optimum.
        stalled = small_change & (gnorm > 1e4 * static.gtol * (1.0 + jnp.abs(value)))
        bad = ~jnp.isfinite(value)
        status = jnp.where(bad, 3, jnp.where(small_grad, 0, jnp.where(stalled, 4, jnp.where(small_change, 1, -1))))
        status = status.astype(jnp.int32)
        if getattr(static, "optimizer", "lbfgs") != "adam":
            updates, new_state = solver.update(grad, state, u, value=value, grad=grad, value_fn=fun)
        else:
            updates, new_state = solver.update(grad, state, u)
        new_u = optax.apply_updates(u, updates)
        # A finished run keeps the point its criteria were met at.
        keep = status >= 0
        u = jnp.where(keep, u, new_u)
        state = jax.tree_util.tree_map(lambda old, new: jnp.where(keep, old, new), state, new_state)
        return u, state, step + 1, value, status, trace

    start = (u0, state, jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, dtype), jnp.asarray(-1, jnp.int32), trace)
    u, _, steps, _, status, trace = jax.lax.while_loop(cond, body, start)
    status = jnp.where(status < 0, 2, status).astype(jnp.int32)
    return u, fun(u), steps, status, trace


@functools.partial(jax.jit, static_argnums=(2,))
def run_batched(u0, data, static):
    return jax.vmap(_run_one, in_axes=(0, None, None))(u0, data, static)


@functools.partial(jax.jit, static_argnums=(2,))
def run_single(u0, data, static):
    return _run_one(u0, data, static)


@functools.partial(jax.jit, static_argnums=(2,))
def residuals_and_jacobian(x, data, static):
    """Whitened residuals (N,) and their Jacobian (N, p) in the physical free parameters."""
    curves, box = data
    fun = lambda z: curve_residuals(free_to_params(z, box, static), curves, box["fermi_energy"], static)  # noqa: E731
    return fun(x), jax.jacfwd(fun)(x)


@functools.partial(jax.jit, static_argnums=(2,))
def physical_batch(u, box, static):
    return jax.vmap(lambda v: jnp.stack([to_physical(v, box, static)[name] for name in static.free]))(u)


def make_loss(curves, fermi_energy, reference: dict, *, model: str = "exact", num: int = 64):
    """The fit's loss as a pure, jitted function of the parameter dict: loss(params) -> scalar.

    loss = mean(((prediction - value)/sigma)^2)/2 over every value of every curve (sigma = 1 for
    curves without sigma). Differentiate it with `jax.grad` (a dict of the four derivatives),
    vmap it over a batch of parameter dicts, etc.

    Args:
        curves: a Curve or a list of them.
        fermi_energy: Fermi energy E_F [eV].
        reference: a parameter dict at which the occupied bands are determined on the host
            (the function is valid in that band regime: `jaxsot.occupied_bands`).
        model: "exact" or an approximation, as in `predict`.
        num: rays per Fermi contour, as in `predict`.

    Returns: loss(params) -> scalar (dimensionless), jitted.
    """
    curves = [curves] if isinstance(curves, Curve) else list(curves)
    if not curves or not all(isinstance(c, Curve) for c in curves):
        raise ValueError("curves must be a jaxsot.fit.Curve or a non-empty list of them")
    values = check_params(reference)
    check_finite("fermi_energy", fermi_energy)
    check_choice("model", model, MODELS)
    num = check_count("num", num, minimum=8)
    bands = bands_at(values, float(fermi_energy), distinct_polar(curves))
    static = Static(curves=tuple((c.columns, c.kind) for c in curves), free=(), transform=(), bands=tuple(bands), num=num, model=model)
    data = tuple((c.values, c.sigma, curve_arrays(c)) for c in curves)
    # A module-level compiled function with the data as arguments: losses of the same shapes share
    # one compilation (a closure jitted here would compile anew for every make_loss call).
    return functools.partial(_mean_square_loss, data=data, fermi_energy=float(fermi_energy), static=static)


@functools.partial(jax.jit, static_argnames=("fermi_energy", "static"))
def _mean_square_loss(params, *, data, fermi_energy, static):
    r = curve_residuals(params, data, fermi_energy, static)
    return 0.5 * jnp.mean(r * r)

"""The optimizer: bounded reparameterization, L-BFGS (or optax Adam), batched restarts, Gauss-Newton Jacobians.
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
from ._forward import bands_at, check_choice, check_params, curve_arrays, distinct_polar, predict_general, predict_many



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
    report_every: int = 0  # > 0: `run_batched` reports every so many iterations (segments, no callback)


def is_log_scale(lower, upper=None) -> bool:
    """Log transform for a box on one side of zero (positive parameters; alpha may be negative)."""
    return lower > 0.0 or (upper is not None and upper < 0.0)


def transform_kind(lower, upper) -> int:
    return (1 if lower > 0.0 else -1) if is_log_scale(lower, upper) else 0


def make_box(lower, upper, fixed: dict, fermi_energy, dtype, spec=None) -> dict:
    """The traced part of a fit's set-up: bounds (p,), fixed parameter values, E_F and, for a model
    other than the Rashba ferromagnet, its `ModelSpec` (the model travels as traced data)."""
    box = {
        "lower": jnp.asarray(lower, dtype).reshape(-1),
        "upper": jnp.asarray(upper, dtype).reshape(-1),
        "fixed": {name: jnp.asarray(value, dtype) for name, value in fixed.items()},
        "fermi_energy": jnp.asarray(fermi_energy, dtype),
    }
    if spec is not None:
        box["spec"] = spec
    return box


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


def curve_residuals(params, curves, fermi_energy, static, spec=None):
    """Whitened residuals (prediction - value)/sigma of every curve, concatenated (N_total,).

    spec: the `ModelSpec` of a general model (None: the Rashba ferromagnet's forward models)."""
    arrays = [arrays for _, _, arrays in curves]
    if spec is not None:
        predictions = predict_general(params, static.curves, arrays, fermi_energy, static.bands, static.num, spec)
    else:
        predictions = predict_many(params, static.curves, arrays, fermi_energy, static.bands, static.num, static.model)
    return jnp.concatenate([((p - values) / sigma).ravel() for p, (values, sigma, _) in zip(predictions, curves)])


def _loss(u, data, static):
    """mean(r^2)/2 at unconstrained u; data = (curve arrays, box)."""
    curves, box = data
    r = curve_residuals(to_physical(u, box, static), curves, box["fermi_energy"], static, box.get("spec"))
    return 0.5 * jnp.mean(r * r)


# ---------------------------------------------------------------------------------------------
# Optimizers in a while_loop, one run per restart, restarts batched with vmap: optax (Adam; L-BFGS for
# `minimize`, which the harmonic Hall fit uses) and the curve fit's own L-BFGS (`lbfgs_steps`, below).


def _solver(fun, static):
    """(optax transformation, value_and_grad(u, state)) of static.optimizer."""
    if getattr(static, "optimizer", "lbfgs") != "adam":
        return optax.lbfgs(), optax.value_and_grad_from_state(fun)
    schedule = optax.exponential_decay(static.learning_rate, transition_steps=max(static.max_steps // 4, 1), decay_rate=0.3)
    plain = jax.value_and_grad(fun)
    return optax.adam(schedule), lambda u, state: plain(u)


def minimize_start(fun, u0, static):
    """The start of `minimize_steps`: the carry (u, optimizer state, step, previous loss, status, trace)."""
    dtype = u0.dtype
    solver, _ = _solver(fun, static)
    trace = jnp.full((static.max_steps,), jnp.nan, dtype)
    return (u0, solver.init(u0), jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, dtype), jnp.asarray(-1, jnp.int32), trace)


def minimize_steps(fun, carry, stop, static):
    """Iterate `minimize` from carry until the criteria hold, max_steps, or iteration `stop` (traced int).

    Returns (carry, (u, loss, steps, status, trace)) (the second as `minimize`'s result at that point).
    Running a fit in segments of iterations lets the caller report progress from Python: a host
    callback inside the compiled loop would keep JAX's persistent cache from storing the program.
    """
    solver, value_and_grad = _solver(fun, static)

    def cond(carry):
        _, _, step, _, status, _ = carry
        return (step < jnp.minimum(static.max_steps, stop)) & (status < 0)

    def body(carry):
        u, state, step, previous, _, trace = carry
        value, grad = value_and_grad(u, state=state)
        gnorm = jnp.max(jnp.abs(grad))
        trace = trace.at[step].set(value)
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

    carry = jax.lax.while_loop(cond, body, carry)
    u, _, steps, _, status, trace = carry
    done = (status >= 0) | (steps >= static.max_steps)
    status = jnp.where(done, jnp.where(status < 0, 2, status), -1).astype(jnp.int32)
    return carry, (u, fun(u), steps, status, trace)


def minimize(fun, u0, static):
    """Minimize fun(u) from u0 (p,) in a while_loop (jit/vmap-able): (u, loss, steps, status, trace (max_steps,)).

    static: hashable options with max_steps, gtol, ftol and, optionally, optimizer ("lbfgs" default,
    or "adam" with learning_rate). Status codes: the module's stopping criteria (0 small gradient,
    1 small change, 2 max_steps, 3 non-finite loss, 4 stalled). No progress output: the program has
    no host callback (JAX's persistent cache keeps it); for progress, run `minimize_steps` in
    segments and report between them from Python (`run_batched`, `_hall_model.run_batched`).
    """
    _, result = minimize_steps(fun, minimize_start(fun, u0, static), static.max_steps, static)
    return result


# L-BFGS with one loss-and-gradient evaluation per loop iteration. optax's L-BFGS evaluates the
# loss and its gradient at three places of its loop (the stored-value fallback, the zoom line
# search's interval search and its zoom): XLA compiles each copy of the forward model and its
# gradient separately, and under vmap (batched restarts) a cond runs both branches, so every
# iteration paid for all three. Here every loop iteration evaluates one trial point; a state
# machine accepts it (sufficient decrease: a new L-BFGS iteration) or backtracks along the line.
_MEMORY = 10  # (s, y) pairs, as optax.lbfgs
_ARMIJO = 1e-4  # sufficient-decrease constant
_MAX_EVALUATIONS = 20  # per allowed iteration: the loop ends after max_steps * this many evaluations
_MIN_STEP = 1e-12  # a line search below this step length has failed


def _two_loop(g, s_mem, y_mem, rho, count, newest):
    """-H g from the L-BFGS memory (rows of s_mem, y_mem; `count` valid pairs, `newest` the last index)."""
    m = s_mem.shape[0]
    order = (newest - jnp.arange(m)) % m  # newest first
    valid = jnp.arange(m) < count

    def first(q, i):
        j = order[i]
        a = jnp.where(valid[i], rho[j] * (s_mem[j] @ q), 0.0)
        return q - a * y_mem[j], a

    q, alphas = jax.lax.scan(first, g, jnp.arange(m))
    s_new, y_new = s_mem[newest], y_mem[newest]
    gamma = jnp.where(count > 0, (s_new @ y_new) / jnp.maximum(y_new @ y_new, 1e-300), 1.0)
    r = gamma * q

    def second(r, i):
        j = order[m - 1 - i]
        b = rho[j] * (y_mem[j] @ r)
        return r + jnp.where(valid[m - 1 - i], alphas[m - 1 - i] - b, 0.0) * s_mem[j], None

    r, _ = jax.lax.scan(second, r, jnp.arange(m))
    return -r


def lbfgs_start(u0, static):
    """The carry of `lbfgs_steps` before the first evaluation (at u0)."""
    dtype = u0.dtype
    p = u0.shape[0]
    zero = jnp.zeros((), dtype)
    return {
        "u": u0, "f": jnp.asarray(jnp.inf, dtype), "g": jnp.zeros_like(u0), "d": jnp.zeros_like(u0), "t": zero,
        "s": jnp.zeros((_MEMORY, p), dtype), "y": jnp.zeros((_MEMORY, p), dtype), "rho": jnp.zeros((_MEMORY,), dtype),
        "count": jnp.zeros((), jnp.int32), "newest": jnp.asarray(_MEMORY - 1, jnp.int32),
        "step": jnp.zeros((), jnp.int32), "evaluations": jnp.zeros((), jnp.int32),
        "status": jnp.asarray(-1, jnp.int32), "trace": jnp.full((static.max_steps,), jnp.nan, dtype),
    }


def lbfgs_steps(fun, carry, stop, static):
    """L-BFGS iterations of fun from carry until the criteria hold, max_steps, or iteration `stop` (traced).

    Stopping criteria and status codes as `minimize` (checked at every accepted point, the loss
    change against the previous accepted point). Returns (carry, (u, loss, steps, status, trace)).
    """
    value_and_grad = jax.value_and_grad(fun)
    max_evaluations = static.max_steps * _MAX_EVALUATIONS

    def cond(c):
        return (c["status"] < 0) & (c["step"] < jnp.minimum(static.max_steps, stop)) & (c["evaluations"] < max_evaluations)

    def body(c):
        x = c["u"] + c["t"] * c["d"]
        value, grad = value_and_grad(x)
        fresh = c["evaluations"] == 0
        slope = c["g"] @ c["d"]
        finite = jnp.isfinite(value) & jnp.all(jnp.isfinite(grad))
        accept = fresh | (finite & (value <= c["f"] + _ARMIJO * c["t"] * slope))
        # Accepted: a new iteration at x (memory update, criteria, next direction).
        s_vec, y_vec = x - c["u"], grad - c["g"]
        sy = s_vec @ y_vec
        store = accept & ~fresh & (sy > 1e-10 * jnp.sqrt((s_vec @ s_vec) * (y_vec @ y_vec)))
        newest = jnp.where(store, (c["newest"] + 1) % _MEMORY, c["newest"])
        s_mem = jnp.where(store, c["s"].at[newest].set(s_vec), c["s"])
        y_mem = jnp.where(store, c["y"].at[newest].set(y_vec), c["y"])
        rho = jnp.where(store, c["rho"].at[newest].set(1.0 / jnp.where(store, sy, 1.0)), c["rho"])
        count = jnp.where(store, jnp.minimum(c["count"] + 1, _MEMORY), c["count"])
        gnorm = jnp.max(jnp.abs(grad))
        small_grad = gnorm <= static.gtol * (1.0 + jnp.abs(value))
        small_change = ~fresh & (jnp.abs(c["f"] - value) <= static.ftol * (1.0 + jnp.abs(value)))
        stalled = small_change & (gnorm > 1e4 * static.gtol * (1.0 + jnp.abs(value)))
        status_here = jnp.where(~finite, 3, jnp.where(small_grad, 0, jnp.where(stalled, 4, jnp.where(small_change, 1, -1))))
        direction = _two_loop(grad, s_mem, y_mem, rho, count, newest)
        descent = direction @ grad < 0.0
        direction = jnp.where(descent, direction, -grad)
        # Without curvature information the first step is scaled to move u by at most 1.
        first_step = jnp.where((count > 0) & descent, 1.0, jnp.minimum(1.0, 1.0 / jnp.maximum(jnp.max(jnp.abs(grad)), 1e-300)))
        # Rejected: backtrack to the minimizer of the quadratic through f, slope and the trial value.
        t = c["t"]
        curvature = value - c["f"] - slope * t
        t_quad = jnp.where(finite & (curvature > 0), -slope * t * t / (2.0 * jnp.where(curvature > 0, curvature, 1.0)), 0.1 * t)
        t_back = jnp.clip(t_quad, 0.1 * t, 0.5 * t)
        failed = ~accept & (t_back * jnp.max(jnp.abs(c["d"])) < _MIN_STEP)
        # A failed line search at a small gradient is the optimum to rounding (no decrease left: status
        # 1, as a loss change below ftol); else it restarts from steepest descent with an empty
        # memory, and fails for good (stalled) without one.
        flat = jnp.max(jnp.abs(c["g"])) <= 1e4 * static.gtol * (1.0 + jnp.abs(c["f"]))
        restart = failed & ~flat & (c["count"] > 0)
        steepest = -c["g"]
        new = dict(c)
        new["evaluations"] = c["evaluations"] + 1
        new["u"] = jnp.where(accept, x, c["u"])
        new["f"] = jnp.where(accept, value, c["f"])
        new["g"] = jnp.where(accept, grad, c["g"])
        new["d"] = jnp.where(accept, direction, jnp.where(restart, steepest, c["d"]))
        restart_step = jnp.minimum(1.0, 1.0 / jnp.maximum(jnp.max(jnp.abs(c["g"])), 1e-300))
        new["t"] = jnp.where(accept, first_step, jnp.where(restart, restart_step, t_back))
        new["s"], new["y"], new["rho"] = s_mem, y_mem, rho
        new["count"] = jnp.where(restart, 0, count)
        new["newest"] = newest
        new["trace"] = jnp.where(accept, c["trace"].at[c["step"]].set(value), c["trace"])
        new["step"] = jnp.where(accept, c["step"] + 1, c["step"])
        status = jnp.where(accept, status_here, jnp.where(failed & ~restart, jnp.where(flat, 1, 4), -1))
        new["status"] = status.astype(jnp.int32)
        return new

    carry = jax.lax.while_loop(cond, body, carry)
    limit = (carry["step"] >= static.max_steps) | (carry["evaluations"] >= max_evaluations)
    status = jnp.where(carry["status"] >= 0, carry["status"], jnp.where(limit, 2, -1)).astype(jnp.int32)
    return carry, (carry["u"], carry["f"], carry["step"], status, carry["trace"])


def _start(u0, data, static):
    if static.optimizer == "lbfgs":
        return lbfgs_start(u0, static)
    return minimize_start(functools.partial(_loss, data=data, static=static), u0, static)


def _steps(carry, data, stop, static):
    fun = functools.partial(_loss, data=data, static=static)
    if static.optimizer == "lbfgs":
        return lbfgs_steps(fun, carry, stop, static)
    return minimize_steps(fun, carry, stop, static)


@functools.partial(jax.jit, static_argnums=(2,))
def _start_batched(u0, data, static):
    return jax.vmap(_start, in_axes=(0, None, None))(u0, data, static)


@functools.partial(jax.jit, static_argnums=(3,))
def _steps_batched(carry, data, stop, static):
    return jax.vmap(_steps, in_axes=(0, None, None, None))(carry, data, stop, static)


_start_single = jax.jit(_start, static_argnums=(2,))
_steps_single = jax.jit(_steps, static_argnums=(3,))


def run_batched(u0, data, static, *, batched=True, report=None):
    """Optimize from each start u0 (R, p) (vmapped; batched=False: one run after another, u0 (p,)).

    Returns (u, loss, steps, status, trace) as `minimize`, batched over the starts. With
    static.report_every > 0, the runs stop every report_every iterations and `report(trace, first,
    stop)` (default: print the loss of each start at every report_every-th iteration) is called from
    Python: the compiled program has no host callback, so JAX's persistent cache keeps it, and it
    is the same program whatever report_every (one cache entry).
    """
    every = static.report_every
    static = dataclasses.replace(static, report_every=0)
    start, steps_fn = (_start_batched, _steps_batched) if batched else (_start_single, _steps_single)
    carry = start(u0, data, static)
    first, stop = 0, (every + 1 if every > 0 else static.max_steps)
    while True:
        carry, result = steps_fn(carry, data, jnp.asarray(stop, jnp.int32), static)
        status = onp.asarray(result[3])
        if every > 0:
            (report or _print_progress)(onp.asarray(result[4]), first, min(stop, static.max_steps), every)
        if onp.all(status >= 0) or stop >= static.max_steps:
            return result
        first, stop = stop, stop + every


def _print_progress(trace, first, stop, every):
    """Print the loss of each run at the iterations that are multiples of `every` in [first, stop)."""
    trace = trace.reshape(-1, trace.shape[-1])
    for step in range(-(-first // every) * every, stop, every):
        values = trace[:, step]
        if onp.any(onp.isfinite(values)):
            text = ", ".join("--" if not onp.isfinite(v) else f"{v:.6g}" for v in values)
            print(f"  iteration {step:4d}: loss {text}", flush=True)


def run_single(u0, data, static):
    return run_batched(u0, data, static, batched=False)


@functools.partial(jax.jit, static_argnums=(2,))
def residuals_and_jacobian(x, data, static):
    """Whitened residuals (N,) and their Jacobian (N, p) in the physical free parameters."""
    curves, box = data
    def fun(z):
        r = curve_residuals(free_to_params(z, box, static), curves, box["fermi_energy"], static, box.get("spec"))
        return r, r

    # has_aux: the residuals come from the same trace as the Jacobian (one trace of the forward model).
    jacobian, residuals = jax.jacfwd(fun, has_aux=True)(x)
    return residuals, jacobian


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


def optimizer_programs(batched: bool) -> tuple:
    """The jitted (start, steps) functions that `run_batched` calls, for compiling them ahead (`_fit_compile`)."""
    return (_start_batched, _steps_batched) if batched else (_start_single, _steps_single)

"""LLG integration: diffrax Tsit5 with adaptive PID steps, |M| renormalized after every step, batches and events.
"""

import dataclasses
import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Bool, Float
from .._core._checks import check_count, check_finite, check_range, check_shape, float_dtype
from ..constants import CARRIER_CHARGE, HBAR, MU_B_EV_PER_T
from ._magnet import Magnet, unit_vectors
from ._torque import ModelTorque, SpinOrbitTorque, cross_z, llg_rates




# ---------------------------------------------------------------------------------------------
# Integrator: diffrax Tsit5 with adaptive PID step control and renormalization of M after each step.


@functools.cache
def _renormalized_solver_class():
    """The solver wrapper below, defined on first use: diffrax costs ~0.6 s to import, which
    `import jaxsot` should not pay before an LLG is solved."""
    import diffrax

    class _Renormalized(diffrax.AbstractAdaptiveSolver, diffrax.AbstractWrappedSolver):
        """Wraps an adaptive explicit solver and projects M back to the unit sphere after every step.

        The vector field depends on M/|M| only and is tangent to the sphere, so the projection removes
        the O(tolerance) radial drift without changing the error control or the FSAL stage.
        """

        solver: diffrax.AbstractSolver

        @property
        def term_structure(self):
            return self.solver.term_structure

        @property
        def interpolation_cls(self):  # pyright: ignore
            return self.solver.interpolation_cls

        @property
        def term_compatible_contr_kwargs(self):
            return self.solver.term_compatible_contr_kwargs

        def order(self, terms):
            return self.solver.order(terms)

        def strong_order(self, terms):
            return self.solver.strong_order(terms)

        def error_order(self, terms):
            return self.solver.error_order(terms)

        def init(self, terms, t0, t1, y0, args):
            return self.solver.init(terms, t0, t1, y0, args)

        def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
            y1, error, dense, state, result = self.solver.step(terms, t0, t1, y0, args, solver_state, made_jump)
            m = y1[:3]
            y1 = jnp.concatenate([m / jnp.sqrt(m @ m), y1[3:]])
            return y1, error, dense, state, result

        def func(self, terms, t0, y0, args):
            return self.solver.func(terms, t0, y0, args)

    return _Renormalized


def _vector_field(t, y, args):
    magnet, torque, current_off, ledger = args
    on = (t < current_off).astype(y.dtype)
    rates = llg_rates(magnet, torque, y[:3], on)
    if not ledger:
        return rates["dmdt"]
    powers = [rates["power_gilbert"], rates["power_spin_force"], rates["power_damping_conventional"], rates["power_field_like"], rates["spin_force_power"]]
    return jnp.concatenate([rates["dmdt"], jnp.stack(powers)])


WORK_COLUMNS = ("gilbert", "spin_force", "damping_conventional", "field_like", "electron_spin_force")
"""Columns of `LlgResult.work` [eV/nm^2]: time integrals of P_G, P_DL,fl, P_DL,0, P_FL and P_sf (`llg_rates`)."""


def _solve_one(magnet, torque, m0, times, t_end, current_off, switch_axis, switch_threshold, stop_rate, rtol, atol, static):
    import diffrax
    import optimistix as optx

    max_steps, ledger, use_switch, use_stop, pulse, progress = static
    # State: M (3,), then (ledger) the time integrals of the powers in WORK_COLUMNS; one flat array
    # keeps the compiled graph small.
    y0 = m0 / jnp.sqrt(m0 @ m0)
    if ledger:
        y0 = jnp.concatenate([y0, jnp.zeros(len(WORK_COLUMNS), m0.dtype)])
    args = (magnet, torque, current_off, ledger)
    term = diffrax.ODETerm(lambda t, y, a: _vector_field(t, y, a))

    def switch_value(y):
        return (y[:3] / jnp.sqrt(y[:3] @ y[:3])) @ switch_axis - switch_threshold

    def stop_value(t, y, args):
        return jnp.sqrt(jnp.sum(_vector_field(t, y, args)[:3] ** 2)) / stop_rate - 1.0

    def condition(t, y, args, **kwargs):
        # One real condition, the smaller of the two; the event is its downward zero crossing, located
        # by bisection on the dense output (robust where Newton is not: the crossing is bracketed).
        values = ([switch_value(y)] if use_switch else []) + ([stop_value(t, y, args)] if use_stop else [])
        return values[0] if len(values) == 1 else jnp.minimum(values[0], values[1])

    event = None
    if use_switch or use_stop:
        # flip=True: the condition falls through zero (direction=False). Given, not detected: detection
        # checks for a sign change in every lane of a vmapped batch, and the lanes without an event
        # (root placed at the step's end by diffrax) would raise "root not contained" in a batch.
        event = diffrax.Event(condition, root_finder=optx.Bisection(rtol=1e-12, atol=1e-9, flip=True), direction=False)
    controller = diffrax.PIDController(
        rtol=rtol,
        atol=atol,
        norm=lambda error: optx.rms_norm(error[:3]),
        jump_ts=jnp.stack([current_off]) if pulse else None,
    )
    solution = diffrax.diffeqsolve(
        term,
        _renormalized_solver_class()(diffrax.Tsit5()),
        t0=jnp.zeros((), m0.dtype),
        t1=t_end,
        dt0=None,
        y0=y0,
        args=args,
        saveat=diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=times), diffrax.SubSaveAt(t1=True)]),
        stepsize_controller=controller,
        event=event,
        max_steps=max_steps,
        throw=False,
        # A text meter on stdout (diffrax's own): long single trajectories then show their progress.
        progress_meter=diffrax.TextProgressMeter(minimum_increase=0.1) if progress else diffrax.NoProgressMeter(),
    )
    (ts, ts_final), (ys, ys_final) = solution.ts, solution.ys
    fired = jnp.asarray(False) if solution.event_mask is None else jnp.asarray(solution.event_mask)
    switch_fired = jnp.asarray(False)
    if use_switch:
        switch_fired = fired & (switch_value(ys_final[0]) <= 1e-6)
    stop_fired = fired & ~switch_fired
    return {
        "ts": jnp.concatenate([ts, ts_final]),
        "m": jnp.concatenate([ys[:, :3], ys_final[:, :3]]),
        "work": jnp.concatenate([ys[:, 3:], ys_final[:, 3:]]) if ledger else None,
        "success": (solution.result == diffrax.RESULTS.successful) | (solution.result == diffrax.RESULTS.event_occurred),
        "num_steps": solution.stats["num_accepted_steps"],
        "num_rejected": solution.stats["num_rejected_steps"],
        "switch_fired": switch_fired,
        "stop_fired": stop_fired,
    }


@functools.partial(jax.jit, static_argnums=(11, 12))
def _solve_batch(magnet, torque, m0, times, t_end, current_off, switch_axis, switch_threshold, stop_rate, rtol, atol, static, chunk):
    """vmap over trajectories; batches larger than `chunk` run as lax.map over chunks of `chunk`.

    Chunking keeps the vectorized intermediates in cache and lets each chunk's while loop stop at
    its own slowest trajectory (docs: Benchmarks).
    """

    def solve(mag, tor, m):
        return jax.vmap(_solve_one, in_axes=(0, 0, 0, None, None, None, None, None, None, None, None, None))(
            mag, tor, m, times, t_end, current_off, switch_axis, switch_threshold, stop_rate, rtol, atol, static
        )

    size = m0.shape[0]
    if size <= chunk:
        return solve(magnet, torque, m0)
    count = -(-size // chunk)
    padded = count * chunk

    def split(x):
        x = jnp.concatenate([x, jnp.broadcast_to(x[:1], (padded - size,) + x.shape[1:])])
        return x.reshape((count, chunk) + x.shape[1:])

    out = jax.lax.map(lambda args: solve(*args), jax.tree_util.tree_map(split, (magnet, torque, m0)))
    return jax.tree_util.tree_map(lambda x: x.reshape((padded,) + x.shape[2:])[:size], out)


class LlgResult(eqx.Module):
    """Trajectories of `simulate_llg`; B = batch shape (() for one trajectory), T = num_save.

    Fields:
        times (T,) [fs]: the requested save times (a trajectory stopped by an event has valid = False after it);
        m (B..., T, 3): M(t), normalized; valid (B..., T): saved before the trajectory ended;
        work (B..., T, 5) [eV/nm^2] or None: time integrals of the powers in WORK_COLUMNS;
        t_final (B...) [fs], m_final (B..., 3), work_final (B..., 5) or None: the end of each trajectory
            (t_end, or the event time);
        switched (B...): the switching event fired; stopped (B...): the stop criterion fired;
        success (B...): the solver finished (False: max_steps exceeded or a non-finite torque);
        num_steps, num_rejected (B...): accepted / rejected adaptive steps;
        norm_error: max | |M| - 1 | of the saved states before normalization (integrator check).
    """

    times: Float[Array, "T"]
    m: Float[Array, "... T 3"]
    valid: Bool[Array, "... T"]
    work: Float[Array, "... T 5"] | None
    t_final: Float[Array, "..."]
    m_final: Float[Array, "... 3"]
    work_final: Float[Array, "... 5"] | None
    switched: Bool[Array, "..."]
    stopped: Bool[Array, "..."]
    success: Bool[Array, "..."]
    num_steps: Array
    num_rejected: Array
    norm_error: Float[Array, ""]


def _batch_shape(module, core_ndims):
    shapes = []
    for field in dataclasses.fields(module):
        if field.name not in core_ndims:
            continue
        value = getattr(module, field.name)
        core = core_ndims[field.name]
        shapes.append(tuple(value.shape[: value.ndim - core]))
    return shapes


def _broadcast_module(module, core_ndims, batch, size, dtype):
    names = [f.name for f in dataclasses.fields(module) if f.name in core_ndims]
    values = []
    for name in names:
        value = jnp.asarray(getattr(module, name)).astype(dtype)
        core = value.shape[value.ndim - core_ndims[name]:] if core_ndims[name] else ()
        values.append(jnp.broadcast_to(value, batch + core).reshape((size,) + core))
    return eqx.tree_at(lambda mod: [getattr(mod, n) for n in names], module, values)


def simulate_llg(
    magnet: Magnet,
    torque: SpinOrbitTorque,
    m0,
    t_end,
    *,
    num_save: int = 201,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    max_steps: int = 200_000,
    current_off=None,
    switch_axis=None,
    switch_threshold: float = 0.0,
    stop_rate=None,
    ledger: bool = True,
    chunk: int = 256,
    progress: bool = False,
) -> LlgResult:
    """Integrate the macrospin LLG with the electron spin-orbit torque (module docstring; paper eq. 3/4/16).

    diffrax Tsit5 (5th order) with a PID step-size controller on the M components (rtol, atol), and
    M renormalized to |M| = 1 after every step. Every field of `magnet` and `torque` and `m0` may carry
    leading batch dimensions; they are broadcast together and the trajectories run as one vmapped
    solve (batched = looped, tested). Units: time fs, fields T.

    Args:
        magnet: the macrospin (Magnet), fields may be batched.
        torque: the electron source: SpinOrbitTorque (Rashba ferromagnet, fields may be batched) or
            ModelTorque (any TwoBandModel, exact bands at the current M; its model is shared by the batch).
        m0: initial magnetization direction, shape (..., 3) (normalized here).
        t_end: end time [fs] (> 0).
        num_save: number of saved times, evenly spaced from t = 0 to t_end (>= 2).
        rtol: relative tolerance of the step-size controller on the M components.
        atol: absolute tolerance of the step-size controller on the M components.
        max_steps: most solver steps per trajectory (diffrax's max_steps).
        current_off: time [fs] at which the current switches off (a pulse), None: always on.
        switch_axis: (3,) axis of the switching event: stop when M.axis falls below switch_threshold
            (downward crossing, located by bisection on the dense output). None: no switching event.
        switch_threshold: value of M.switch_axis that ends the run (in [-1, 1]).
        stop_rate: stop when |dM/dt| falls below stop_rate [1/fs] (relaxed; located the same way; a
            trajectory that starts below it never stops). None: no stop criterion.
        ledger: also integrate the energy ledger (WORK_COLUMNS).
        chunk: trajectories per vectorized chunk (larger batches run chunk after chunk).
        progress: print diffrax's text progress meter (fraction of t_end reached) while solving.

    Returns: LlgResult.
    """
    check_range("t_end", t_end, low=0.0, low_inclusive=False, unit="fs")
    num_save = check_count("num_save", num_save, minimum=2)
    max_steps = check_count("max_steps", max_steps, minimum=16)
    chunk = check_count("chunk", chunk, minimum=1)
    check_range("rtol", rtol, low=0.0, low_inclusive=False)
    check_range("atol", atol, low=0.0, low_inclusive=False)
    check_shape("m0", m0, (3,))
    m0 = unit_vectors("m0", m0)
    if not isinstance(magnet, Magnet):
        raise ValueError(f"magnet is a {type(magnet).__name__}; allowed: jaxsot.Magnet")
    if not isinstance(torque, (SpinOrbitTorque, ModelTorque)):
        raise ValueError(f"torque is a {type(torque).__name__}; allowed: jaxsot.SpinOrbitTorque or jaxsot.ModelTorque")
    if current_off is not None:
        check_range("current_off", current_off, low=0.0, unit="fs")
    if stop_rate is not None:
        check_range("stop_rate", stop_rate, low=0.0, low_inclusive=False, unit="1/fs")
    check_finite("switch_threshold", switch_threshold)

    leaves = [x for x in jax.tree_util.tree_leaves((magnet, torque)) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
    dtype = jnp.result_type(m0.dtype, *leaves)
    core_torque = type(torque)._CORE_NDIM
    shapes = _batch_shape(magnet, Magnet._CORE_NDIM) + _batch_shape(torque, core_torque) + [m0.shape[:-1]]
    try:
        batch = tuple(onp.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"the batch dimensions {shapes} of magnet, torque and m0 do not broadcast; allowed: broadcastable leading shapes") from None
    size = int(onp.prod(batch)) if batch else 1
    magnet_b = _broadcast_module(magnet, Magnet._CORE_NDIM, batch, size, dtype)
    torque_b = _broadcast_module(torque, core_torque, batch, size, dtype)
    if isinstance(torque_b, ModelTorque):
        # One electron model for the whole batch: its leaves are repeated so that every lane has one.
        model = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (size,) + x.shape), torque.model.astype(dtype))
        torque_b = eqx.tree_at(lambda t: t.model, torque_b, model)
    m0_b = jnp.broadcast_to(m0.astype(dtype), batch + (3,)).reshape(size, 3)

    t_end = jnp.asarray(t_end, dtype)
    times = jnp.linspace(0.0, t_end, num_save, dtype=dtype)
    pulse = current_off is not None and math.isfinite(float(current_off))
    off = jnp.asarray(float(current_off) if pulse else math.inf, dtype)
    if switch_axis is not None:
        axis = unit_vectors("switch_axis", switch_axis).astype(dtype)
        if axis.shape != (3,):
            raise ValueError(f"switch_axis has shape {axis.shape}; allowed: (3,)")
    else:
        axis = jnp.zeros(3, dtype)
    static = (max_steps, bool(ledger), switch_axis is not None, stop_rate is not None, pulse, bool(progress))
    out = _solve_batch(
        magnet_b,
        torque_b,
        m0_b,
        times,
        t_end,
        off,
        axis,
        jnp.asarray(switch_threshold, dtype),
        jnp.asarray(stop_rate if stop_rate is not None else 0.0, dtype),
        jnp.asarray(rtol, dtype),
        jnp.asarray(atol, dtype),
        static,
        chunk,
    )
    ts = out["ts"]  # (size, T + 1): the save times then t1
    raw = out["m"]
    valid = jnp.isfinite(ts[:, :-1])
    norms = jnp.sqrt(jnp.sum(raw**2, -1))
    finite = jnp.isfinite(norms)
    norm_error = jnp.max(jnp.where(finite, jnp.abs(norms - 1.0), 0.0))
    m = raw / jnp.where(finite, norms, 1.0)[..., None]

    def shaped(x, core=()):
        return x.reshape(batch + core)

    work = out["work"]
    return LlgResult(
        times=times,
        m=shaped(m[:, :-1], (num_save, 3)),
        valid=shaped(valid, (num_save,)),
        work=None if work is None else shaped(work[:, :-1], (num_save, len(WORK_COLUMNS))),
        t_final=shaped(ts[:, -1]),
        m_final=shaped(m[:, -1], (3,)),
        work_final=None if work is None else shaped(work[:, -1], (len(WORK_COLUMNS),)),
        switched=shaped(out["switch_fired"]),
        stopped=shaped(out["stop_fired"]),
        success=shaped(out["success"]),
        num_steps=shaped(out["num_steps"]),
        num_rejected=shaped(out["num_rejected"]),
        norm_error=norm_error,
    )


def llg_diagnostics(magnet: Magnet, torque: SpinOrbitTorque, m, current_on=True) -> dict:
    """`llg_rates` for one (unbatched) magnet and torque over magnetizations m (..., 3) (jitted, vmapped).

    Args:
        magnet: the macrospin (one instance, not batched).
        torque: the electron source (one instance, not batched).
        m: magnetization directions, shape (..., 3) (normalized here).
        current_on: bool/0-1, broadcast against m's leading dimensions (e.g. a pulse along a trajectory).

    Returns: the dict of `llg_rates`, every entry with the leading dimensions of m.
    """
    check_shape("m", m, (3,))
    m = jnp.asarray(m)
    flat = m.reshape(-1, 3)
    on = jnp.broadcast_to(jnp.asarray(current_on, flat.dtype), m.shape[:-1]).reshape(-1)
    out = _diagnostics_impl(magnet, torque, flat, on)
    return {k: v.reshape(m.shape[:-1] + v.shape[1:]) for k, v in out.items()}


@jax.jit
def _diagnostics_impl(magnet, torque, m, on):
    return jax.vmap(lambda x, o: llg_rates(magnet, torque, x, o))(m, on)


def strong_exchange_coefficients(magnet: Magnet, torque: SpinOrbitTorque) -> dict:
    """Closed-form torque coefficients of the strong-exchange source (single instance, internal units).

    Args:
        magnet: the macrospin (one instance).
        torque: the electron source (one instance; its closed forms need the Rashba ferromagnet).

    Returns: "field_like_field" B_fl = -(alpha n_p/(n_mu mu_B)) (Delta k x z) (3,) [T] (paper eq. A1);
    "damping_like_rate" a_J = kappa n_p (alpha/J) |k'| [1/fs] and "polarization_axis" p = (k' x z)/|k'| (3,)
    with T_DL = a_J M x (M x p); "kappa_np" = kappa n_p (the magnet-loss / extra-Joule ratio).
    """
    if isinstance(torque, ModelTorque):
        raise ValueError(
            f"strong_exchange_coefficients is a closed form of the Rashba ferromagnet; torque.model = "
            f"{type(torque.model).__name__} has none; allowed: a jaxsot.SpinOrbitTorque"
        )
    dtype = float_dtype(torque.efield, magnet.ms_tesla)
    kdot = CARRIER_CHARGE * jnp.asarray(torque.efield, dtype) / HBAR
    shift = kdot * torque.tau
    n_p = torque.n_lower - torque.n_upper
    moment = magnet.moment_density * MU_B_EV_PER_T
    speed = jnp.sqrt(kdot @ kdot)
    return {
        "field_like_field": -torque.alpha * n_p / moment * cross_z(shift),
        "damping_like_rate": magnet.torque_area * n_p * torque.alpha / torque.j_ex * speed,
        "polarization_axis": cross_z(kdot) / speed,
        "kappa_np": magnet.torque_area * n_p,
    }

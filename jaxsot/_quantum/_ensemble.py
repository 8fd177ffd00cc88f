"""Quantum check for the Fermi sea: every state of the sea evolved exactly (exact_simulate).
"""

import functools
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._core._checks import check_count, check_finite, check_range, check_shape, check_tau, check_times, float_dtype, is_concrete
from .._core._model import RashbaFerromagnet
from .._dynamics._observables import ensemble_nodes
from .._fermi._contour import band_touching_report, occupied_bands
from .._fermi._mesh import check_mesh_options
from .._fermi._route import check_route, choose_route, sea_ensemble
from ..constants import AREA_MEASURE, HBAR
from .._bands._kernels import splitting
from ._integrator import (
    advance,
    build_schedule,
    exact_observables,
    field_slope,
    node_field_change,
    semiclassical_observables,
    state_constants,
)
from ._states import resolve_drive, window_mask



UNITS = {
    "spin": "1",
    "spin_rate": "1/fs",
    "torque": "1/fs",
    "spin_density": "1/nm^2",
    "spin_density_rate": "1/(nm^2 fs)",
    "torque_density": "1/(nm^2 fs)",
}
"""Units of the quantum-check outputs: per state (spin, spin_rate, torque) and per area."""




# ---------------------------------------------------------------------------------------------
# Ensembles: the Fermi sea, every state exact.

# Per-state sums of `ensemble_block`, in this order: delta = sigma - sigma0 (3), d sigma/dt (3);
# with semiclassical=True also s(b^ - b^0) (3), ds/dt (3), delta sigma_1 (3), d delta sigma_1/dt (3),
# delta sigma_2 (3).


def chunk_states(k0, weight, sign, chunk):
    n = k0.shape[0]
    pad = -(-n // chunk) * chunk - n
    k0 = jnp.concatenate([k0, jnp.broadcast_to(k0[:1], (pad, 2))]).reshape(-1, chunk, 2)
    weight = jnp.concatenate([weight, jnp.zeros((pad,), weight.dtype)]).reshape(-1, chunk)
    sign = jnp.concatenate([sign, jnp.broadcast_to(sign[:1], (pad,))]).reshape(-1, chunk)
    return k0, weight, sign


@functools.partial(jax.jit, static_argnames=("semiclassical",))
def ensemble_block(model, states, delta, block, *, semiclassical):
    """Advance every state through one block of output times and return the weighted sums.

    states = (k0 (C, chunk, 2), weight (C, chunk), sign (C, chunk)); delta (C, chunk, 3) is the
    carried deviation sigma - sigma0. Loop order as in `simulate`: chunks outside, time inside, with
    the XLA-CPU layout lessons of `_dynamics.chunked_sums`: components stay separate (chunk,)
    arrays summed by one (components, chunk) @ (chunk,) product per step; Omega is reduced by a
    running elementwise minimum, once per chunk; the model enters the time loop as a scanned input.
    Returns new delta, sums (B, 6 [+ 15]) per area, and the smallest Omega over states and times
    (inf without semiclassical).
    """
    k_all, w_all, s_all = states
    dtype = delta.dtype
    steps = block.step.shape[0]
    step_models = jax.tree_util.tree_map(lambda leaf: jnp.broadcast_to(leaf, (steps,) + leaf.shape), model)

    def over_chunk(lowest_all, data):
        k_c, w_c, s_c, d_c = data
        kx_c, ky_c = k_c[:, 0], k_c[:, 1]
        b0, sigma0, omega0 = jax.vmap(lambda kx, ky, s: state_constants(model, kx, ky, s))(kx_c, ky_c, s_c)

        def over_time(carry, x):
            d, lowest = carry
            nodes, h, dk, v, acc, step_model = x
            # The field change depends on k0 only for a non-affine b(k): vmap leaves it unbatched otherwise.
            d = jax.vmap(
                lambda kx, ky, b, s0, dd: advance(b, s0, dd, node_field_change(step_model, kx, ky, nodes), h)
            )(kx_c, ky_c, b0, sigma0, d)
            rate = jax.vmap(
                lambda kx, ky, b, s0, dd: exact_observables(b, s0, dd, step_model.field_change(kx, ky, dk[0], dk[1]))
            )(kx_c, ky_c, b0, sigma0, d)
            values = (*d, *rate)
            if semiclassical:
                sc, _, omega = jax.vmap(
                    lambda kx, ky, s, b, o: semiclassical_observables(
                        step_model, kx, ky, s, b, o, dk[0], dk[1], v[0], v[1], acc[0], acc[1]
                    )
                )(kx_c, ky_c, s_c, b0, omega0)
                values = values + tuple(sc)
                lowest = jnp.minimum(lowest, omega)
            return (d, lowest), jnp.stack(values) @ w_c

        d0 = (d_c[:, 0], d_c[:, 1], d_c[:, 2])
        xs = (block.nodes, block.step, block.shift, block.k_rate, block.k_accel, step_models)
        start = (d0, jnp.full(kx_c.shape, jnp.inf, dtype))
        (d_end, lowest), sums = jax.lax.scan(over_time, start, xs)
        return jnp.minimum(lowest_all, jnp.min(lowest)), (jnp.stack(d_end, axis=-1), sums)

    lowest, (delta, sums) = jax.lax.scan(over_chunk, jnp.asarray(jnp.inf, dtype), (k_all, w_all, s_all, delta))
    return delta, jnp.sum(sums, axis=0) * AREA_MEASURE, lowest


@jax.jit
def _equilibrium(model, states):
    k_all, w_all, s_all = states
    _, sigma0, omega0 = jax.vmap(jax.vmap(lambda kx, ky, s: state_constants(model, kx, ky, s)))(
        k_all[..., 0], k_all[..., 1], s_all
    )
    spin = jnp.stack(sigma0, axis=-1)
    return jnp.einsum("cn,cnj->j", w_all, spin) * AREA_MEASURE, jnp.min(omega0)


def _slice_schedule(schedule, start, stop, size):
    # Pad with zero-length intervals (identity rotations): the carried spins stay exact.
    index = jnp.arange(start, start + size)
    valid = index < stop
    index = jnp.minimum(index, stop - 1)

    def take(x):
        return x[index]

    block = jax.tree_util.tree_map(take, schedule)
    return eqx.tree_at(lambda b: b.step, block, jnp.where(valid, block.step, 0.0))


def _sea_nodes(model, fermi_energy, num_phi, num_r):
    # The semiclassical ensemble's nodes (`simulate`): (k (N, 2), area (N,), band sign (N,)).
    sea, _, _ = ensemble_nodes(model, fermi_energy, occupied_bands(model, fermi_energy), num_phi, num_r)
    return sea


class ExactSimulationResult(eqx.Module):
    """The Fermi sea evolved exactly (every state a spinor) next to the semiclassical sea, per area.

    Fields (T = len(times)):
        times (T,) [fs]; efield (T, 2) [V/nm]; delta_k (T, 2) [1/nm]; k_rate (T, 2) [1/(nm fs)];
        band_densities (2,) [1/nm^2] (lower, upper) of the nodes; equilibrium_spin (3,) [1/nm^2];
        observables: {name: {"exact" | "semiclassical" | "first_order": (T, 3)}} per area
            (units: `jaxsot.QUANTUM_UNITS`; sums over the states of the `SpinComparison` quantities):
            spin_density_change S - S_eq; spin_rate dS/dt; damping_torque T2 = -dS/dt;
            field_like_torque T1 - T1_eq (current-induced); exchange_torque (2J/hbar) M x (S - S_eq)
            (semiclassical: T1_sc + T2_sc, the papers' eq. 6); nonadiabatic_spin_density S - S_sc
            (first_order: sum of delta sigma_1; second_order: + delta sigma_2);
            damping_like_torque (2J/hbar) M x (S - S_sc) (semiclassical: T2_sc, the papers' identification).
            With semiclassical=False only "exact" entries of the first five.
        adiabaticity (T,): hbar |alpha| |k'(t)|/Omega_min^2, Omega_min the smallest splitting over states
            and times: a bound of the max over states of epsilon = hbar |db/dt|/Omega^2 (nan without semiclassical);
        min_splitting: smallest Omega over states and times (at t = 0 only without semiclassical) [eV];
        integration_error: estimated max relative error of the exact T2 (step doubling; nan if not asked);
        num_states; substeps: Magnus steps per output interval; notes: sentences about degeneracies or accuracy.
    """

    times: Array
    efield: Array
    delta_k: Array
    k_rate: Array
    band_densities: Array
    equilibrium_spin: Array
    observables: dict
    adiabaticity: Array
    min_splitting: Array
    integration_error: Array
    num_states: int = eqx.field(static=True)
    substeps: int = eqx.field(static=True)
    notes: tuple = eqx.field(static=True)

    def relative_error(self, name: str, approx: str, window=None, reference: str = "exact") -> float:
        """max_t |approx - reference| / max_t |reference| over times in window = (t0, t1) [fs]."""
        mask = onp.asarray(window_mask(self.times, window))
        values = self.observables[name]
        diff = onp.linalg.norm(onp.asarray(values[approx]) - onp.asarray(values[reference]), axis=-1)[mask]
        scale = onp.linalg.norm(onp.asarray(values[reference]), axis=-1)[mask]
        return float(diff.max() / scale.max()) if scale.max() > 0 else float("nan")

    def window_mean(self, name: str, approx: str, window=None) -> onp.ndarray:
        """Time average (trapezoid) of an observable over window = (t0, t1) [fs]; shape (3,)."""
        mask = onp.asarray(window_mask(self.times, window))
        t = onp.asarray(self.times)[mask]
        values = onp.asarray(self.observables[name][approx])[mask]
        if t.size < 2:
            return values.mean(axis=0)
        return onp.trapezoid(values, t, axis=0) / (t[-1] - t[0])


def exact_simulate(
    model: RashbaFerromagnet,
    fermi_energy,
    drive,
    times: Float[Array, "T"],
    *,
    ramp_time=None,
    tau=None,
    num_phi: int = 128,
    num_r: int = 16,
    route: str = "auto",
    mesh=None,
    nodes=None,
    substeps: int | None = None,
    max_angle: float = 0.4,
    semiclassical: bool = True,
    estimate_error: bool = False,
    block_steps: int = 256,
    chunk: int = 2048,
    progress: Callable[[int, int], None] | None = None,
) -> ExactSimulationResult:
    """Evolve the T = 0 Fermi sea with the exact spinor dynamics of every state, per area.

    The ensemble and the drive are those of `simulate`: the sea of every occupied band on
    num_phi x num_r polar Gauss-Legendre nodes (or `nodes`), every state starting in its band at
    times[0] and following k(t) = k0 + Delta k(t), hbar dDelta k/dt = qE(t) - hbar Delta k/tau.
    Each state's <sigma> is integrated as in `exact_spin_trajectory`; with semiclassical=True the
    band-following quantities are summed at the same k(t) in the same pass (`ExactSimulationResult`).
    Sums are formed from deviations (sigma - sigma0, s(b^ - b^0)), never as differences of large sums.

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        drive: a drive callable (as in `simulate`) or a constant in-plane field, shape (2,) [V/nm]
            (step at t = 0, or smooth ramp with ramp_time).
        times: output times, shape (T,), increasing [fs].
        ramp_time: switch-on time of a constant field with `smooth_step` [fs] > 0, or None (step).
        tau: momentum relaxation time [fs] (> 0), or None for no relaxation.
        num_phi: angular nodes of the Fermi sea per band (as in `simulate`).
        num_r: radial Gauss-Legendre nodes per angle (as in `simulate`).
        route: "auto" (default), "rays" or "mesh" (`jaxsot.fermi_sea_route`, as in `simulate`): the
            sea on num_phi x num_r polar nodes, or on the triangle mesh's nodes (lattice models,
            pockets, annuli, band touchings in the sea; weights may be negative on the Fermi-line
            segments). Not used with `nodes`.
        mesh: `jaxsot.MeshOptions` of the mesh route.
        nodes: optional (k (N, 2), weight (N,) [1/nm^2], band sign (N,)) replacing the default sea
            quadrature (sum weight * f ~ integral of f d^2k).
        substeps: Magnus steps per output interval (accuracy: see `exact_spin_trajectory`); None
            chooses the fewest that keep the precession angle per step 2 Omega h/hbar <= max_angle
            [rad] for every state (Omega bounded by Omega(k0) + |db/dk| max|Delta k|); the relative
            error of the field-induced quantities is then <~ 3e-3 max_angle^4 (8e-5 for 0.4).
        max_angle: largest precession angle per step when substeps is None [rad].
        semiclassical: also sum the semiclassical and first-order quantities (side by side); False is
            the bare exact pipeline (the benchmark's "exact" column).
        estimate_error: repeat with 2 * substeps and report the estimated relative error of T2.
        block_steps: time steps per compiled block (as in `simulate`).
        chunk: states per vectorized chunk (as in `simulate`).
        progress: called as progress(steps_done, steps_total) after each block (as in `simulate`).

    Returns: ExactSimulationResult.
    """
    check_finite("fermi_energy", fermi_energy)
    check_route(route)
    mesh = check_mesh_options(mesh)
    if substeps is not None:
        substeps = check_count("substeps", substeps, minimum=1)
    check_range("max_angle", max_angle, low=0.0, high=3.0, low_inclusive=False, unit="rad")
    num_phi = check_count("num_phi", num_phi, minimum=8)
    num_r = check_count("num_r", num_r, minimum=2)
    block_steps = check_count("block_steps", block_steps, minimum=1)
    chunk = check_count("chunk", chunk, minimum=1)
    check_tau(tau)
    times = check_times(times)
    drive = resolve_drive(drive, ramp_time)
    dtype = float_dtype(times)
    times = times.astype(dtype)
    model = model.astype(dtype)
    fermi_energy = jnp.asarray(fermi_energy, dtype)
    if nodes is None:
        bands = occupied_bands(model, fermi_energy)
        if choose_route(model, fermi_energy, bands, route) == "rays":
            k0, weight, sign = _sea_nodes(model, fermi_energy, num_phi, num_r)
        else:
            (k0, weight, sign), _, _, _, _ = sea_ensemble(model, fermi_energy, bands, "mesh", mesh=mesh)
    else:
        k0, weight, sign = (jnp.asarray(x, dtype) for x in nodes)
        check_shape("nodes[0]", k0, (2,))
        if k0.ndim != 2 or weight.shape != k0.shape[:1] or sign.shape != k0.shape[:1]:
            raise ValueError(
                f"nodes have shapes {k0.shape}, {weight.shape}, {sign.shape}; allowed: (N, 2), (N,), (N,)"
            )
        if is_concrete(sign) and not bool(jnp.all(jnp.abs(sign) == 1.0)):
            raise ValueError("nodes[2] (band signs) contains values other than +1/-1; allowed: +1 (upper), -1 (lower)")
    num_states = int(k0.shape[0])
    auto = substeps is None
    if auto:
        substeps = _auto_substeps(model, k0, times, max_angle, 0.0)
    chunk = min(chunk, num_states)
    states = chunk_states(k0, weight, sign, chunk)
    densities = jnp.stack([jnp.sum(jnp.where(sign < 0, weight, 0.0)), jnp.sum(jnp.where(sign > 0, weight, 0.0))])
    densities = densities * AREA_MEASURE

    def run(count):
        schedule = build_schedule(drive, times, tau, count)
        steps = times.shape[0]
        block = min(block_steps, steps)
        delta = jnp.zeros(states[0].shape[:2] + (3,), dtype)
        sums, lowest = [], jnp.asarray(jnp.inf, dtype)
        for start in range(0, steps, block):
            stop = min(start + block, steps)
            piece = _slice_schedule(schedule, start, stop, block)
            delta, s_, o_ = ensemble_block(model, states, delta, piece, semiclassical=semiclassical)
            sums.append(s_[: stop - start])
            lowest = jnp.minimum(lowest, o_)
            if progress is not None:
                progress(stop, steps)
        return schedule, jnp.concatenate(sums), lowest

    if auto:
        # Omega grows by at most |alpha| max|Delta k| along the run: check the choice on the actual shift.
        shift = float(jnp.max(jnp.linalg.norm(build_schedule(drive, times, tau, substeps).shift, axis=-1)))
        substeps = _auto_substeps(model, k0, times, max_angle, shift)
    schedule, sums, lowest = run(substeps)
    spin_eq, omega_initial = _equilibrium(model, states)
    smallest = jnp.minimum(omega_initial, lowest)
    # max over states of epsilon at each t, bounded with the smallest Omega of the run (exact when the
    # smallest splitting and the largest |k'| meet; a per-step reduction is slow on XLA-CPU).
    eps = HBAR * _largest_slope(model, k0) * jnp.linalg.norm(schedule.k_rate, axis=-1) / smallest**2
    observables = _ensemble_observables(model, sums, semiclassical)
    error = jnp.asarray(jnp.nan, dtype)
    if estimate_error:
        _, fine, _ = run(2 * substeps)
        t2 = sums[:, 3:6]
        error = jnp.max(jnp.abs(fine[:, 3:6] - t2)) * (16.0 / 15.0) / jnp.max(jnp.abs(t2))
    notes = _ensemble_notes(model, fermi_energy, smallest, observables, nodes is None)
    return ExactSimulationResult(
        times=times,
        efield=schedule.efield,
        delta_k=schedule.shift,
        k_rate=schedule.k_rate,
        band_densities=densities,
        equilibrium_spin=spin_eq,
        observables=observables,
        adiabaticity=eps if semiclassical else jnp.full(eps.shape, jnp.nan, dtype),
        min_splitting=smallest,
        integration_error=error,
        num_states=num_states,
        substeps=substeps,
        notes=notes,
    )


@jax.jit
def _largest_slope(model, k0):
    """max over the states of |db/dk| [eV nm] (`field_slope`; |alpha| for Rashba), at the initial k."""
    return jnp.max(jax.vmap(lambda kx, ky: field_slope(model, kx, ky))(k0[:, 0], k0[:, 1]))


@jax.jit
def _largest_splitting(model, k0):
    return jnp.max(jax.vmap(lambda kx, ky: splitting(model, kx, ky))(k0[:, 0], k0[:, 1]))


def _auto_substeps(model, k0, times, max_angle, shift):
    """Fewest substeps with 2 Omega_max h/hbar <= max_angle, Omega_max <= max Omega(k0) + |db/dk| shift."""
    k0 = jnp.asarray(k0)
    omega = float(_largest_splitting(model, k0)) + float(_largest_slope(model, k0)) * shift
    interval = float(onp.max(onp.diff(onp.asarray(times, float))))
    return max(1, int(math.ceil(2.0 * omega * interval / (HBAR * float(max_angle)))))


def _ensemble_observables(model, sums, semiclassical):
    g = 2.0 / HBAR
    # (2J/hbar) M x x for Rashba: the torque of minus the exchange field.
    exchange = -jnp.broadcast_to(jnp.stack(model.exchange_field()), sums[:, :3].shape)

    def exch(x):
        return g * jnp.cross(exchange, x)

    change, rate = sums[:, 0:3], sums[:, 3:6]
    torque = exch(change)
    obs = {
        "spin_density_change": {"exact": change},
        "spin_rate": {"exact": rate},
        "damping_torque": {"exact": -rate},
        # T = T1 + T2 (identity of the Bloch equation), so T1 - T1_eq = T + dS/dt.
        "field_like_torque": {"exact": torque + rate},
        "exchange_torque": {"exact": torque},
    }
    if not semiclassical:
        return obs
    band, sc_rate, first, first_rate = sums[:, 6:9], sums[:, 9:12], sums[:, 12:15], sums[:, 15:18]
    second = sums[:, 18:21]
    sc_torque = exch(band)  # = T1_sc - T1_eq for band states
    first_change = band + first
    first_rate_total = sc_rate + first_rate
    obs["spin_density_change"].update(semiclassical=band, first_order=first_change)
    obs["spin_rate"].update(semiclassical=sc_rate, first_order=first_rate_total)
    obs["damping_torque"].update(semiclassical=-sc_rate, first_order=-first_rate_total)
    obs["field_like_torque"].update(semiclassical=sc_torque, first_order=exch(first_change) + first_rate_total)
    obs["exchange_torque"].update(semiclassical=sc_torque - sc_rate, first_order=exch(first_change))
    obs["nonadiabatic_spin_density"] = {"exact": change - band, "first_order": first, "second_order": first + second}
    obs["damping_like_torque"] = {"exact": exch(change - band), "first_order": exch(first), "semiclassical": -sc_rate}
    return obs


def _ensemble_notes(model, fermi_energy, smallest, observables, default_nodes) -> tuple:
    notes = []
    if default_nodes:
        report = band_touching_report(model, fermi_energy)
        if report:
            notes.append(report)
    if float(smallest) <= 0.0:
        notes.append("a state sits at the band touching point (Omega = 0): its band spin is undefined (nan)")
    bad = sorted({n for n, v in observables.items() for a, x in v.items() if not bool(jnp.all(jnp.isfinite(x)))})
    if bad:
        notes.append(f"non-finite values in: {', '.join(bad)} (states at the band touching)")
    return tuple(notes)



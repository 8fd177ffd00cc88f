"""Time evolution of the Fermi-sea ensemble with Hamilton's equations (PHYSICS.md "Ensembles").

Every occupied state moves by hbar k' = qE(t) - hbar Delta k/tau (constant-tau rigid shift of the
sea; tau = None: no relaxation), so k(t) = k0 + Delta k(t) with one Delta k for all states.
Per state and time step the kernel evaluates the spin (b/|b|), the spin force by a Hessian-vector
product and ds/dt by a jvp, with their second-order closed forms, and accumulates the per-area
sums. The ensemble is the T = 0 Fermi sea on polar Gauss-Legendre nodes (rates: dS/dt, T2,
spin-force density); levels (S(t) - S_eq, T1, current) come from Fermi-contour fluxes integrated
over the shift, which avoids subtracting two large sums (float32 cancellation, PERFORMANCE.md).
The loop order is chunks of states outside, `lax.scan` over time inside, so the intermediates of a
chunk stay in cache (PERFORMANCE.md items 2 and 6).
"""

import functools
import math
import warnings
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jax.sharding import Mesh, PartitionSpec
from jaxtyping import Array, Float

from ._bands import DEGENERACY_THRESHOLD, _float_dtype, _spin_splitting_gradient, spin, spin_rate_second_order_components
from ._bands import spin_force_second_order_components, splitting, velocity
from ._constants import CARRIER_CHARGE, HBAR
from ._contour import _contour_impl, _sea_nodes_impl, band_touching_report, occupied_bands
from ._model import RashbaFerromagnet
from ._validation import check_count, check_finite, check_range, is_concrete

_AREA_MEASURE = 1.0 / (2.0 * math.pi) ** 2
# Two-node Gauss-Legendre in the shift fraction lambda: error ~ (|Delta k|/k_F)^4 relative.
_SHIFT_NODES = (0.5 - 0.5 / math.sqrt(3.0), 0.5 + 0.5 / math.sqrt(3.0))
_SHIFT_WEIGHTS = (0.5, 0.5)

UNITS = {
    "spin_density": "1/nm^2",
    "spin_density_change": "1/nm^2",
    "spin_rate": "1/(nm^2 fs)",
    "damping_torque": "1/(nm^2 fs)",
    "field_like_torque": "1/(nm^2 fs)",
    "spin_force_density": "eV/nm^3",
    "spin_force_per_electron": "eV/nm",
    "current_density": "e/(fs nm)",
}
"""Units of the observables in `SimulationResult.observables` (internal units)."""



FLOAT32_RESOLUTION = 1e-5
"""Float32 ensemble sums agree with float64 to ~3e-6 of each component's peak (default run):
relative differences below this are not resolved in float32."""


class SimulationResult(eqx.Module):
    """Time series of the driven Fermi sea, per area (all occupied bands).

    Fields (T = len(times)):
        times (T,) [fs]; efield (T, 2) [V/nm]; delta_k (T, 2) [1/nm] (rigid shift);
        k_rate (T, 2) [1/(nm fs)] (k' of every state);
        band_densities (2,) [1/nm^2]: (lower, upper);
        observables: {name: {"exact": (T, d), "second_order": (T, d), "strong_exchange": (T, d)}}
            (an approximation is present only where it is defined; units in `jaxsot.UNITS`):
            spin_density S(t), spin_density_change S - S_eq, spin_rate dS/dt, damping_torque T2 = -dS/dt,
            field_like_torque T1 (current-induced: (2J/hbar) M x (S - S_eq), paper eq. 5),
            spin_force_density, spin_force_per_electron, current_density j = q sum v.
        min_splitting: smallest Omega over every sampled state and time [eV];
        notes: sentences about degenerate points or accuracy (empty when all is well).
    """

    times: Float[Array, "T"]
    efield: Float[Array, "T 2"]
    delta_k: Float[Array, "T 2"]
    k_rate: Float[Array, "T 2"]
    band_densities: Float[Array, "2"]
    observables: dict
    min_splitting: Float[Array, ""]
    num_states: int = eqx.field(static=True)
    notes: tuple = eqx.field(static=True)

    def relative_error(self, name: str, approximation: str) -> float:
        """max_t |approx(t) - exact(t)| / max_t |exact(t)| (Euclidean norm over components)."""
        values = self.observables[name]
        exact = onp.asarray(values["exact"])
        approx = onp.asarray(values[approximation])
        scale = onp.max(onp.linalg.norm(exact, axis=-1))
        if not scale > 0:
            raise ValueError(f"observable {name!r} is zero at every time: a relative error is undefined")
        error = float(onp.max(onp.linalg.norm(approx - exact, axis=-1)) / scale)
        if exact.dtype == onp.float32 and error < FLOAT32_RESOLUTION:
            warnings.warn(
                f"relative error of {name} ({approximation}) = {error:.2g} is below the float32 resolution of the "
                f"ensemble sums (~{FLOAT32_RESOLUTION:g}, measured against float64): rerun in float64",
                RuntimeWarning,
                stacklevel=2,
            )
        return error


def _integrate_shift(drive, times, tau, substeps):
    """RK4 for hbar dDelta k/dt = qE(t) - hbar Delta k/tau, Delta k(times[0]) = 0."""
    inverse_tau = jnp.zeros((), times.dtype) if tau is None else 1.0 / jnp.asarray(tau, times.dtype)

    def rate(t, shift):
        return CARRIER_CHARGE * drive(t).astype(times.dtype) / HBAR - shift * inverse_tau

    def interval(shift, bounds):
        t0, t1 = bounds
        h = (t1 - t0) / substeps

        def rk4(i, y):
            t = t0 + i * h
            a = rate(t, y)
            b = rate(t + 0.5 * h, y + 0.5 * h * a)
            c = rate(t + 0.5 * h, y + 0.5 * h * b)
            d = rate(t + h, y + h * c)
            return y + h / 6.0 * (a + 2 * b + 2 * c + d)

        new = jax.lax.fori_loop(0, substeps, rk4, shift)
        return new, new

    start = jnp.zeros(2, times.dtype)
    _, rest = jax.lax.scan(interval, start, (times[:-1], times[1:]))
    shift = jnp.concatenate([start[None], rest])
    efield = jax.vmap(drive)(times).astype(times.dtype)
    k_rate = jax.vmap(rate)(times, shift)
    return efield, shift, k_rate


# filter_jit: `drive` may be an equinox Module or any plain jax-traceable function.
_integrate_shift_jit = eqx.filter_jit(_integrate_shift)


def _sea_kernel(model, kx, ky, s, fx, fy):
    """Per state: ((ds/dt (3), F_so (2), ds/dt 2nd order (3), F 2nd order (2)), Omega), all scalars."""

    def spin_and_gradient(qx, qy):
        return _spin_splitting_gradient(model, qx, qy, s), spin(model, qx, qy, s)

    (_, _), (hessian_f, spin_derivative_f) = jax.jvp(spin_and_gradient, (kx, ky), (fx, fy))
    force_scale = model.mass / HBAR**2
    values = (
        spin_derivative_f[0] / HBAR,
        spin_derivative_f[1] / HBAR,
        spin_derivative_f[2] / HBAR,
        hessian_f[0] * force_scale,
        hessian_f[1] * force_scale,
        *spin_rate_second_order_components(model, kx, ky, s, fx, fy),
        *spin_force_second_order_components(model, kx, ky, s, fx, fy),
    )
    return values, splitting(model, kx, ky)


def _level_kernel(model, kx, ky, s):
    """Per state: ((spin (3), velocity (2)), Omega) for the contour flux of levels, all scalars."""
    return (*spin(model, kx, ky, s), *velocity(model, kx, ky, s)), splitting(model, kx, ky)


def _chunked_sums(kernel, model, k0, weight, sign, shift, drive_force, chunk):
    """sum_i weight_i(t) * kernel(k0_i + shift(t), drive_force(t)) for every t, and min Omega.

    weight: (N,) fixed weights or (N, 2) normals dotted with the shift at each t (contour levels).

    The layout below was measured on XLA-CPU (benchmarks/README.md: for N = 1e6 float64, 1.7x the
    previous layout at chunk 1024 and 2.9x at 2048, the previous default, with no throughput cliff
    for chunks above ~2e3 states). Per state-step XLA-CPU runs one loop per fusion (~20), so what
    counts is how many arrays each step writes and how often Omega and divisions are evaluated:
    - kx and ky are split into contiguous columns before the time loop: slicing the (chunk, 2)
      array inside the step made every fusion read with stride 2, and cost an extra Omega;
    - the model enters the time loop as a scanned input (one copy per step), not as a loop
      constant: as a constant, XLA hoists each copy of a model-derived scalar in the autodiff
      graph (alpha, J Mx, ...) out of the loop separately, can then no longer merge the copies,
      and evaluates Omega 5 times and 9 divisions per state-step instead of once and 6;
    - the kernel returns a tuple of (chunk,) components; each is written into its row of a
      (components, chunk) buffer carried through the time loop, which XLA does in place inside
      the fusion that computes it, and one buffer @ weight product per step gives the sums
      (stacking the components instead was a separate copy of all of them, ~15 % of a step, and a
      stacked (chunk, components) kernel result a transposing copy besides);
    - min Omega is an elementwise running minimum over the time steps, reduced once per chunk: a
      reduction of Omega at every step was lowered to a slow fusion for chunks >= 4096 states.
    """
    n = k0.shape[0]
    steps = shift.shape[0]
    size = 10 if kernel is _sea_step else 5
    chunk = min(chunk, n)
    step_models = jax.tree_util.tree_map(lambda leaf: jnp.broadcast_to(leaf, (steps,) + leaf.shape), model)

    def over_chunk(carry, first):
        totals, smallest = carry
        # Chunks are sliced from the inputs in place (a padded, reshaped copy of them cost ~1/3 of
        # a 3-step call at N = 1e6); the last chunk is moved back to end at state n, and its states
        # that the previous chunk has already counted get weight 0.
        begin = jnp.minimum(first, n - chunk)
        k_chunk = jax.lax.dynamic_slice_in_dim(k0, begin, chunk)
        s_chunk = jax.lax.dynamic_slice_in_dim(sign, begin, chunk)
        w_chunk = jax.lax.dynamic_slice_in_dim(weight, begin, chunk)
        fresh = begin + jnp.arange(chunk) >= first
        w_chunk = jnp.where(fresh.reshape((chunk,) + (1,) * (weight.ndim - 1)), w_chunk, 0)
        kx_chunk, ky_chunk = k_chunk[:, 0], k_chunk[:, 1]

        def over_time(state, x):
            lowest, rows = state
            dk, f, step_model = x
            values, omega = jax.vmap(kernel, in_axes=(None, 0, 0, 0, None, None, None, None))(
                step_model, kx_chunk, ky_chunk, s_chunk, dk[0], dk[1], f[0], f[1]
            )
            for i, value in enumerate(values):
                rows = jax.lax.dynamic_update_index_in_dim(rows, value, i, 0)
            w = w_chunk if w_chunk.ndim == 1 else w_chunk @ dk
            return (jnp.minimum(lowest, omega), rows), rows @ w

        start_time = (jnp.full((chunk,), jnp.inf, shift.dtype), jnp.zeros((size, chunk), shift.dtype))
        (lowest, _), sums = jax.lax.scan(over_time, start_time, (shift, drive_force, step_models))
        return (totals + sums, jnp.minimum(smallest, jnp.min(lowest))), None

    start = (jnp.zeros((steps, size), shift.dtype), jnp.asarray(jnp.inf, shift.dtype))
    (totals, smallest), _ = jax.lax.scan(over_chunk, start, jnp.arange(0, n, chunk))
    return totals, smallest


def _sea_step(model, kx, ky, s, dkx, dky, fx, fy):
    return _sea_kernel(model, kx + dkx, ky + dky, s, fx, fy)


def _level_step(model, kx, ky, s, dkx, dky, lam, _unused):
    return _level_kernel(model, kx + lam * dkx, ky + lam * dky, s)


def _sharded_sea_sums(model, sea, shift, force, chunk, devices):
    """`_chunked_sums` of the sea with its states split over `devices` (PERFORMANCE.md item 3).

    Each device scans its own chunks of states over all time steps and the partial sums meet in
    one psum (and one pmin) at the end: plain jit on sharded inputs would all-reduce every step.
    """
    sea_k, sea_area, sea_sign = sea
    if len(devices) == 1:
        return _chunked_sums(_sea_step, model, sea_k, sea_area, sea_sign, shift, force, chunk)
    n = sea_k.shape[0]
    pad = -n % len(devices)
    # Padding states repeat a real state with zero weight: finite values that add nothing.
    sea_k = jnp.concatenate([sea_k, jnp.broadcast_to(sea_k[:1], (pad, 2))])
    sea_area = jnp.concatenate([sea_area, jnp.zeros((pad,), sea_area.dtype)])
    sea_sign = jnp.concatenate([sea_sign, jnp.broadcast_to(sea_sign[:1], (pad,))])
    local_chunk = min(chunk, sea_k.shape[0] // len(devices))

    def local(model, k0, area, sign, shift, force):
        totals, smallest = _chunked_sums(_sea_step, model, k0, area, sign, shift, force, local_chunk)
        return jax.lax.psum(totals, "states"), jax.lax.pmin(smallest, "states")

    mesh = Mesh(onp.asarray(devices), ("states",))
    states, replicated = PartitionSpec("states"), PartitionSpec()
    # check_vma=False: the scans start from constant carries; the only cross-device step is the
    # explicit psum/pmin above.
    sharded = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(replicated, states, states, states, replicated, replicated),
        out_specs=(replicated, replicated),
        check_vma=False,
    )
    return sharded(model, sea_k, sea_area, sea_sign, shift, force)


@functools.partial(jax.jit, static_argnames=("chunk", "devices"))
def _evolve_block(model, sea, contour, shift, force, *, chunk, devices=None):
    """Sums for one block of time steps: sea rates (T, 10) and contour levels (T, 5).

    devices: a tuple of devices to split the sea states over (None: the default device only).
    """
    devices = devices or (jax.devices()[0],)
    rates, smallest_sea = _sharded_sea_sums(model, sea, shift, force, chunk, devices)
    contour_k, contour_normal_dl, contour_sign = contour
    levels = jnp.zeros((shift.shape[0], 5), shift.dtype)
    smallest = smallest_sea
    for lam, w in zip(_SHIFT_NODES, _SHIFT_WEIGHTS):
        # The flux of the levels through the contour moving from k0 to k0 + lam*Delta k.
        lam_column = jnp.full((shift.shape[0], 2), lam, shift.dtype)
        sums, small = _chunked_sums(
            # The contour has far fewer states than the sea: padding it to the sea's chunk would
            # multiply the level work.
            _level_step, model, contour_k, contour_normal_dl, contour_sign, shift, lam_column,
            min(chunk, contour_k.shape[0]),
        )
        levels = levels + w * sums
        smallest = jnp.minimum(smallest, small)
    return rates * _AREA_MEASURE, levels * _AREA_MEASURE, smallest


def _ensemble_nodes(model, fermi_energy, bands, num_phi, num_r):
    sea_k, sea_area, sea_sign = [], [], []
    contour_k, contour_weight, contour_sign, densities = [], [], [], {-1: 0.0, 1: 0.0}
    for s in bands:
        k, area = _sea_nodes_impl(model, fermi_energy, float(s), num_phi, num_r)
        sea_k.append(k)
        sea_area.append(area)
        sea_sign.append(jnp.full(area.shape, float(s), area.dtype))
        kc, dl, normal, radius = _contour_impl(model, fermi_energy, float(s), num_phi)
        contour_k.append(kc)
        contour_weight.append(normal * dl[:, None])
        contour_sign.append(jnp.full(dl.shape, float(s), dl.dtype))
        densities[s] = 0.5 * jnp.sum(radius**2) * (2.0 * jnp.pi / num_phi) * _AREA_MEASURE
    sea = tuple(jnp.concatenate(x) for x in (sea_k, sea_area, sea_sign))
    contour = tuple(jnp.concatenate(x) for x in (contour_k, contour_weight, contour_sign))
    return sea, contour, jnp.stack([densities[-1], densities[1]]).astype(sea[1].dtype)


def _strong_exchange(model, band_densities, force, shift):
    """Closed forms (k-independent per state, so the sea sum is n_s times the per-state value)."""
    n_lower, n_upper = band_densities[0], band_densities[1]
    m = model.magnetization
    w = jnp.stack([-m[1], m[0]])
    kdot = force / HBAR
    w_dot_kdot = kdot @ w
    kdot_cross_z = jnp.stack([kdot[:, 1], -kdot[:, 0], jnp.zeros_like(kdot[:, 0])], -1)
    polarization = n_lower - n_upper
    # ds/dt per state = s (alpha/J) [k' x z - M (w . k')] (paper eq. 14 with T2 = -ds/dt).
    per_state_rate = model.alpha / model.j_ex * (kdot_cross_z - w_dot_kdot[:, None] * m[None, :])
    spin_rate = -polarization * per_state_rate
    projected = force - (force @ w)[:, None] * w[None, :]
    force_density = -polarization * model.eta * projected
    shift_cross_z = jnp.stack([shift[:, 1], -shift[:, 0], jnp.zeros_like(shift[:, 0])], -1)
    field_like = 2.0 * model.alpha / HBAR * polarization * jnp.cross(shift_cross_z, m[None, :])
    total = n_lower + n_upper
    current = CARRIER_CHARGE * HBAR / model.mass * total * shift
    return spin_rate, force_density, field_like, current


def simulate(
    model: RashbaFerromagnet,
    fermi_energy,
    drive: Callable,
    times: Float[Array, "T"],
    *,
    tau=None,
    num_phi: int = 128,
    num_r: int = 16,
    substeps: int = 4,
    block_steps: int = 256,
    chunk: int = 1024,
    progress: Callable[[int, int], None] | None = None,
    bands: tuple[int, ...] | None = None,
    devices=None,
) -> SimulationResult:
    """Evolve the T = 0 Fermi sea under a drive and return per-area time series.

    Hamilton's equations for every state: r' = grad eps/hbar, hbar k' = qE(t) - hbar Delta k/tau
    (PHYSICS.md "Ensembles"; the papers' section II dynamical state). The sea is sampled by
    num_phi x num_r polar Gauss-Legendre nodes per occupied band and the contour by num_phi points;
    the state count is `result.num_states`.

    Args:
        fermi_energy: E_F [eV]. drive: callable t [fs] -> E(t) (2,) [V/nm] (StepDrive, RampDrive,
            SinusoidDrive or any jax-traceable function). times: (T,) increasing [fs], Delta k = 0 at
            times[0]. tau: relaxation time [fs] (> 0) or None for none.
        substeps: RK4 substeps per interval for Delta k. block_steps: time steps per compiled block
            (progress is reported between blocks). chunk: states per vectorized chunk (1024 keeps a
            step's intermediates in cache; from 2048 states XLA-CPU splits some float32 loops over
            threads, which halved float32 throughput on 2 cores: benchmarks/README.md).
        progress: called as progress(steps_done, steps_total) after each block.
        bands: the occupied bands, e.g. (-1,) or (-1, 1); needed under jax.grad/jit (traced models),
            found from the model otherwise (`jaxsot.occupied_bands`).
        devices: devices to split the Fermi-sea states over (default: all local devices of the
            default backend). On CPU, expose the cores as devices with
            XLA_FLAGS=--xla_force_host_platform_device_count=N before JAX starts (`jaxsot run`
            does this); results agree with one device to rounding (the order of the final sum).
    Returns: SimulationResult (dtype of `times`).
    """
    check_finite("fermi_energy", fermi_energy)
    times = jnp.asarray(times)
    if times.ndim != 1 or times.shape[0] < 2:
        raise ValueError(f"times has shape {times.shape}; allowed: (T,) with T >= 2")
    check_finite("times", times)
    if not bool(jnp.all(jnp.diff(times) > 0)):
        raise ValueError("times is not strictly increasing; allowed: a strictly increasing 1D array [fs]")
    if tau is not None:
        check_range("tau", tau, low=0.0, low_inclusive=False, unit="fs")
    num_phi = check_count("num_phi", num_phi, minimum=8)
    num_r = check_count("num_r", num_r, minimum=2)
    substeps = check_count("substeps", substeps, minimum=1)
    block_steps = check_count("block_steps", block_steps, minimum=1)
    chunk = check_count("chunk", chunk, minimum=1)
    dtype = _float_dtype(times)
    if not jnp.issubdtype(times.dtype, jnp.floating):
        times = times.astype(dtype)
    model = model.astype(dtype)
    fermi_energy = jnp.asarray(fermi_energy, dtype)
    bands = occupied_bands(model, fermi_energy, bands)

    tau = None if tau is None else jnp.asarray(tau, dtype)  # an array: no recompile per tau value
    efield, shift, k_rate = _integrate_shift_jit(drive, times, tau, substeps)
    force = HBAR * k_rate
    sea, contour, band_densities = _ensemble_nodes(model, fermi_energy, bands, num_phi, num_r)
    num_states = int(sea[0].shape[0] + len(_SHIFT_NODES) * contour[0].shape[0])
    chunk = min(chunk, int(sea[0].shape[0]))

    devices = tuple(jax.local_devices()) if devices is None else tuple(devices)
    if not devices:
        raise ValueError("devices = () is not allowed; allowed: a non-empty sequence of jax devices")
    steps = times.shape[0]
    block = min(block_steps, steps)
    rate_blocks, level_blocks, smallest = [], [], jnp.inf
    for start in range(0, steps, block):
        stop = min(start + block, steps)
        # Pad the last block to the same shape: one compilation for the whole run.
        index = jnp.minimum(jnp.arange(start, start + block), steps - 1)
        rates, levels, small = _evolve_block(
            model, sea, contour, shift[index], force[index], chunk=chunk, devices=devices
        )
        rate_blocks.append(rates[: stop - start])
        level_blocks.append(levels[: stop - start])
        smallest = jnp.minimum(smallest, small)
        if progress is not None:
            progress(stop, steps)
    rates = jnp.concatenate(rate_blocks)
    levels = jnp.concatenate(level_blocks)

    spin_equilibrium = _equilibrium_spin(model, sea)
    spin_change = levels[:, :3]
    current = CARRIER_CHARGE * levels[:, 3:5]
    strong_rate, strong_force, strong_field_like, strong_current = _strong_exchange(model, band_densities, force, shift)
    exchange = 2.0 * model.j_ex / HBAR
    field_like = exchange * jnp.cross(jnp.broadcast_to(model.magnetization, spin_change.shape), spin_change)
    total_density = jnp.sum(band_densities)
    observables = {
        "spin_density": {"exact": spin_equilibrium[None, :] + spin_change},
        "spin_density_change": {"exact": spin_change},
        "spin_rate": {"exact": rates[:, 0:3], "second_order": rates[:, 5:8], "strong_exchange": strong_rate},
        "damping_torque": {"exact": -rates[:, 0:3], "second_order": -rates[:, 5:8], "strong_exchange": -strong_rate},
        "field_like_torque": {"exact": field_like, "strong_exchange": strong_field_like},
        "spin_force_density": {
            "exact": rates[:, 3:5],
            "second_order": rates[:, 8:10],
            "strong_exchange": strong_force,
        },
        "spin_force_per_electron": {
            "exact": rates[:, 3:5] / total_density,
            "second_order": rates[:, 8:10] / total_density,
            "strong_exchange": strong_force / total_density,
        },
        "current_density": {"exact": current, "strong_exchange": strong_current},
    }
    notes = _notes(model, fermi_energy, smallest, observables)
    return SimulationResult(
        times=times,
        efield=efield,
        delta_k=shift,
        k_rate=k_rate,
        band_densities=band_densities,
        observables=observables,
        min_splitting=jnp.asarray(smallest),
        num_states=num_states,
        notes=notes,
    )


@jax.jit
def _equilibrium_spin(model, sea):
    k, area, sign = sea
    sx, sy, sz = jax.vmap(lambda kx, ky, s: spin(model, kx, ky, s))(k[:, 0], k[:, 1], sign)
    return jnp.stack([area @ sx, area @ sy, area @ sz]) * _AREA_MEASURE


def _notes(model, fermi_energy, smallest, observables) -> tuple:
    if not is_concrete(model, fermi_energy, smallest):
        return ()  # under jax.grad / jit tracing nothing can be inspected
    notes = []
    report = band_touching_report(model, fermi_energy)
    if report:
        notes.append(report)
    j_ex = float(model.j_ex)
    if float(smallest) < DEGENERACY_THRESHOLD * max(j_ex, 1e-300):
        notes.append(
            f"a sampled state came within Omega = {float(smallest):.3g} eV of the band touching "
            f"(< {DEGENERACY_THRESHOLD:g} J): velocities and spin forces are large or divergent there"
        )
    bad = [name for name, values in observables.items() for key, v in values.items() if not bool(jnp.all(jnp.isfinite(v)))]
    if bad:
        notes.append(f"non-finite values in: {', '.join(sorted(set(bad)))} (states at the band touching)")
    return tuple(notes)

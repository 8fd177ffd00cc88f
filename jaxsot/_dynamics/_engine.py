"""The sum engine: per-state kernels summed over chunks of states and time steps, on one or several devices.

The loop order is chunks of states outside, lax.scan over time inside, so the intermediates of a
chunk stay in cache; several devices each scan their own states and meet in one psum at the end
(docs: Benchmarks, what the measurements showed).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as onp
from jax.sharding import Mesh, PartitionSpec
from .._bands._kernels import spin, spin_force_from_hessian_product, spin_force_second_order_components, spin_rate_second_order_components, spin_splitting_gradient, splitting, velocity
from .._core._model import has_paper_forms
from ..constants import AREA_MEASURE, HBAR
from ._shift import SHIFT_NODES, SHIFT_WEIGHTS



SEA_PARTS = ("rate", "force", "rate_second_order", "force_second_order")
"""The sea sums `evolve_block` can compute: ds/dt (3), F_so (2) and their second-order forms (3, 2)."""
LEVEL_PARTS = ("spin", "velocity")
"""The contour-level sums: S - S_eq (3) and sum v (2)."""
PART_SIZES = {"rate": 3, "force": 2, "rate_second_order": 3, "force_second_order": 2, "spin": 3, "velocity": 2}


def sea_parts_of(model, parts=SEA_PARTS) -> tuple:
    """The parts a model can give (the second-order forms only with `has_paper_forms`), in SEA_PARTS order."""
    return tuple(p for p in SEA_PARTS if p in parts and (p in ("rate", "force") or has_paper_forms(model)))


def part_size(parts) -> int:
    return sum(PART_SIZES[p] for p in parts)


def _sea_kernel(model, kx, ky, s, fx, fy, parts=SEA_PARTS):
    """Per state: ((ds/dt (3), F_so (2) [, ds/dt 2nd order (3), F 2nd order (2)]), Omega), all scalars.

    The second-order forms are the Rashba ferromagnet's (`has_paper_forms`); other models give 5 values.
    parts: the subset of SEA_PARTS to evaluate (the others cost nothing: a rate without the force
    is one jvp of the spin, no Hessian-vector product). F_so = M0(k) a_so with the local mass tensor
    of eps0 (`spin_force_from_hessian_product`: m/hbar^2 times the product for parabolic eps0)."""
    if "rate" in parts and "force" in parts:

        def spin_and_gradient(qx, qy):
            return spin_splitting_gradient(model, qx, qy, s), spin(model, qx, qy, s)

        (_, _), (hessian_f, spin_derivative_f) = jax.jvp(spin_and_gradient, (kx, ky), (fx, fy))
    elif "rate" in parts:
        _, spin_derivative_f = jax.jvp(lambda qx, qy: spin(model, qx, qy, s), (kx, ky), (fx, fy))
    elif "force" in parts:
        _, hessian_f = jax.jvp(lambda qx, qy: spin_splitting_gradient(model, qx, qy, s), (kx, ky), (fx, fy))
    values = ()
    if "rate" in parts:
        values += (spin_derivative_f[0] / HBAR, spin_derivative_f[1] / HBAR, spin_derivative_f[2] / HBAR)
    if "force" in parts:
        values += spin_force_from_hessian_product(model, kx, ky, hessian_f[0], hessian_f[1])
    if has_paper_forms(model):
        if "rate_second_order" in parts:
            values += tuple(spin_rate_second_order_components(model, kx, ky, s, fx, fy))
        if "force_second_order" in parts:
            values += tuple(spin_force_second_order_components(model, kx, ky, s, fx, fy))
    return values, splitting(model, kx, ky)


def _level_kernel(model, kx, ky, s):
    """Per state: ((spin (3), velocity (2)), Omega) for the contour flux of levels, all scalars."""
    return (*spin(model, kx, ky, s), *velocity(model, kx, ky, s)), splitting(model, kx, ky)


def chunked_sums(kernel, model, k0, weight, sign, shift, drive_force, chunk, size=None):
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
    if size is None:  # the built-in kernels: 10 (5 without the papers' forms) sea rates, or 5 contour levels
        size = (10 if has_paper_forms(model) else 5) if kernel is sea_step else 5
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


def sea_step(model, kx, ky, s, dkx, dky, fx, fy):
    return _sea_kernel(model, kx + dkx, ky + dky, s, fx, fy)


def level_step(model, kx, ky, s, dkx, dky, lam, _unused):
    return _level_kernel(model, kx + lam * dkx, ky + lam * dky, s)


@functools.lru_cache(maxsize=None)
def sea_step_for(parts: tuple):
    """`sea_step` restricted to `parts` (one function per subset: jit caches by identity)."""
    if tuple(parts) == SEA_PARTS:
        return sea_step

    def step(model, kx, ky, s, dkx, dky, fx, fy):
        return _sea_kernel(model, kx + dkx, ky + dky, s, fx, fy, parts)

    return step


@functools.lru_cache(maxsize=None)
def level_step_for(parts: tuple):
    """`level_step` restricted to `parts` (a subset of LEVEL_PARTS)."""
    if tuple(parts) == LEVEL_PARTS:
        return level_step

    def step(model, kx, ky, s, dkx, dky, lam, _unused):
        qx, qy = kx + lam * dkx, ky + lam * dky
        values = (spin(model, qx, qy, s) if "spin" in parts else ()) + (velocity(model, qx, qy, s) if "velocity" in parts else ())
        return tuple(values), splitting(model, qx, qy)

    return step


def sharded_sea_sums(model, sea, shift, force, chunk, devices, kernel=None, size=None):
    """`chunked_sums` of the sea with its states split over `devices` (docs: Benchmarks).

    Each device scans its own chunks of states over all time steps and the partial sums meet in
    one psum (and one pmin) at the end: plain jit on sharded inputs would all-reduce every step.
    """
    kernel = sea_step if kernel is None else kernel
    sea_k, sea_area, sea_sign = sea
    if len(devices) == 1:
        return chunked_sums(kernel, model, sea_k, sea_area, sea_sign, shift, force, chunk, size)
    n = sea_k.shape[0]
    pad = -n % len(devices)
    # Padding states repeat a real state with zero weight: finite values that add nothing.
    sea_k = jnp.concatenate([sea_k, jnp.broadcast_to(sea_k[:1], (pad, 2))])
    sea_area = jnp.concatenate([sea_area, jnp.zeros((pad,), sea_area.dtype)])
    sea_sign = jnp.concatenate([sea_sign, jnp.broadcast_to(sea_sign[:1], (pad,))])
    local_chunk = min(chunk, sea_k.shape[0] // len(devices))

    def local(model, k0, area, sign, shift, force):
        totals, smallest = chunked_sums(kernel, model, k0, area, sign, shift, force, local_chunk, size)
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


@functools.partial(jax.jit, static_argnames=("chunk", "devices", "contour_chunk", "parts"))
def evolve_block(model, sea, contour, shift, force, *, chunk, devices=None, contour_chunk=None, parts=None):
    """Per-area sums for a block of time steps: sea rates (T, 10 or 5), contour levels (T, 5), min Omega.

    The one summation of `simulate` and of sweeps (`jaxsot.sweep_observables`). sea: (k0 (N, 2),
    area (N,), band sign (N,)); contour: (k0 (M, 2), normal * dl (M, 2), band sign (M,)) (as from
    `ensemble_nodes`); shift Delta k (T, 2) [1/nm]; force hbar k' (T, 2) [eV/nm].
    Rates (T, 10): dS/dt (3), spin-force density (2), and their second-order forms (3, 2) (the
    last five only for a model with `has_paper_forms`);
    levels (T, 5): S - S_eq (3), sum v (2) (`contour_level_sums`); both times AREA_MEASURE.
    chunk: sea states per vectorized chunk; contour_chunk: contour states per chunk (default
    min(chunk, M)); devices: a tuple of devices to split the sea states over (None: the default
    device only).
    parts: None (everything), or (sea parts, level parts): subsets of SEA_PARTS and LEVEL_PARTS;
    then rates and levels hold only those parts' columns, in SEA_PARTS / LEVEL_PARTS order (an
    empty subset skips its whole pass, and min Omega comes from the other node set).
    """
    devices = devices or (jax.devices()[0],)
    sea_parts, level_parts = (SEA_PARTS, LEVEL_PARTS) if parts is None else parts
    sea_parts = sea_parts_of(model, sea_parts)
    dtype = shift.dtype
    rates = jnp.zeros((shift.shape[0], 0), dtype)
    levels = jnp.zeros((shift.shape[0], 0), dtype)
    smallest = jnp.asarray(jnp.inf, dtype)
    if sea_parts:
        size = None if parts is None else part_size(sea_parts)
        rates, smallest = sharded_sea_sums(model, sea, shift, force, chunk, devices, kernel=sea_step_for(sea_parts), size=size)
    if level_parts:
        # The contour has far fewer states than the sea: padding it to the sea's chunk would multiply
        # the level work.
        contour_chunk = min(chunk, contour[0].shape[0]) if contour_chunk is None else contour_chunk
        levels, smallest_levels = contour_level_sums(model, contour, shift, contour_chunk, tuple(level_parts))
        smallest = jnp.minimum(smallest, smallest_levels)
    return rates * AREA_MEASURE, levels * AREA_MEASURE, smallest


def contour_level_sums(model, contour, shift, chunk, parts=LEVEL_PARTS):
    """Level sums (T, 5): S(t) - S_eq (3) and sum v (2) of the sea shifted by Delta k(t), and min Omega.

    The change of a sea integral under the shift is the flux of the integrand through the contour
    moving from k0 to k0 + lam Delta k, integrated over lam in [0, 1] with the two-node
    Gauss-Legendre rule SHIFT_NODES (error ~ (|Delta k|/k_F)^4 relative). contour: (k0 (N, 2),
    normal * dl (N, 2), band sign (N,)); shift (T, 2) [1/nm]; chunk: states per vectorized chunk.
    Sums are without the measure AREA_MEASURE (the caller applies it).
    """
    contour_k, contour_normal_dl, contour_sign = contour
    size = part_size(parts)
    levels = jnp.zeros((shift.shape[0], size), shift.dtype)
    smallest = jnp.asarray(jnp.inf, shift.dtype)
    for lam, w in zip(SHIFT_NODES, SHIFT_WEIGHTS):
        lam_column = jnp.full((shift.shape[0], 2), lam, shift.dtype)
        sums, small = chunked_sums(level_step_for(parts), model, contour_k, contour_normal_dl, contour_sign, shift, lam_column, chunk, size)
        levels = levels + w * sums
        smallest = jnp.minimum(smallest, small)
    return levels, smallest

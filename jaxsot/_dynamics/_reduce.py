"""Custom ensemble observables: any per-state function summed over the Fermi sea with the engine of `simulate`.

`fermi_sea_sum(model, E_F, fn)` evaluates a user function of one state over the polar Gauss-Legendre
nodes of the T = 0 Fermi sea of every occupied band and sums it with the measure d^2k/(2 pi)^2, at
equilibrium or, under a drive, over the rigidly shifted sea at each time (the constant-tau shift of
`simulate`). It runs on the same chunked, time-blocked and device-sharded engine as `simulate`'s
built-in observables, so a user observable costs what a built-in one costs. The per-state scalar
kernels of `jaxsot.kernels` (band energy, spin, velocity, spin force, ds/dt, ...) are the building
blocks. Docs: Tutorials > Custom observables.
"""

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._bands._kernels import splitting
from .._core._checks import as_float, check_count, check_finite, check_real_scalar, check_tau, check_times, float_dtype, is_concrete
from .._core._model_check import check_model
from .._fermi import occupied_bands
from .._fermi._mesh import check_mesh_options
from .._fermi._route import choose_route, sea_ensemble
from ..constants import AREA_MEASURE, HBAR
from ._engine import sharded_sea_sums
from ._observables import ensemble_nodes
from ._shift import integrate_shift_jit


def _flat_kernel(fn: Callable, shapes: tuple):
    """fn(model, kx, ky, s, fx, fy) -> pytree  as the engine's step kernel: a tuple of scalars and Omega."""

    def step(model, kx, ky, s, dkx, dky, fx, fy):
        qx, qy = kx + dkx, ky + dky
        leaves = jax.tree_util.tree_leaves(fn(model, qx, qy, s, fx, fy))
        scalars = []
        for leaf, shape in zip(leaves, shapes):
            flat = jnp.reshape(jnp.asarray(leaf), (-1,))
            scalars += [flat[i] for i in range(math.prod(shape))]
        return tuple(scalars), splitting(model, qx, qy)

    return step


@functools.partial(jax.jit, static_argnames=("fn", "shapes", "bands", "num_phi", "num_r", "chunk", "devices"))
def _sea_sums(model, fermi_energy, shift, force, *, fn, shapes, bands, num_phi, num_r, chunk, devices, sea=None):
    if sea is None:
        sea, _, _ = ensemble_nodes(model, fermi_energy, bands, num_phi, num_r)
    size = sum(math.prod(shape) for shape in shapes)
    totals, smallest = sharded_sea_sums(model, sea, shift, force, chunk, devices, kernel=_flat_kernel(fn, shapes), size=size)
    return totals * AREA_MEASURE, smallest


def fermi_sea_sum(
    model,
    fermi_energy,
    fn: Callable,
    *,
    drive: Callable | None = None,
    times=None,
    tau=None,
    bands=None,
    num_phi: int = 128,
    num_r: int = 16,
    substeps: int = 4,
    chunk: int = 2048,
    devices=None,
    route: str = "auto",
    mesh=None,
):
    """Sum a per-state function over the T = 0 Fermi sea: sum_s int d^2k/(2 pi)^2 fn(state) (per area).

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        fn: fn(model, kx, ky, s, fx, fy) -> a pytree of arrays for ONE state: k = (kx, ky) [1/nm]
            scalars, s the band sign (+1.0 upper / -1.0 lower, a float), and f = (fx, fy) = hbar k'
            [eV/nm] the force driving the state (0 without a drive). Write it with the scalar
            kernels of `jaxsot.kernels` (e.g. `kernels.spin(model, kx, ky, s)`) and jax.numpy;
            it is traced once and vmapped over the states. Leaves may be scalars or small arrays.
        drive: None (equilibrium sea), or a field E(t) [V/nm] (StepDrive, RampDrive, ...): then the
            sea is rigidly shifted by Delta k(t) from hbar dDelta k/dt = qE - hbar Delta k/tau, as in
            `simulate`, and fn is evaluated at k0 + Delta k(t) with f = hbar dDelta k/dt.
        times: output times, shape (T,), increasing [fs]; required with a drive.
        tau: momentum relaxation time [fs] (> 0), or None for no relaxation.
        bands: occupied bands (needed under jax.grad/jit; found from the model otherwise).
        num_phi: rays of the Fermi sea per band (as in `simulate`).
        num_r: radial Gauss-Legendre nodes per ray (as in `simulate`).
        substeps: RK4 substeps of the shift per output interval.
        chunk: states per vectorized chunk.
        devices: devices to split the states over (default: all local devices, as `simulate`).
        route: "auto" (default), "rays" or "mesh" (`jaxsot.fermi_sea_route`): any sea of any model
            (lattice models over their Brillouin zone) through the mesh route, whose nodes are moved
            by Delta k(t) under a drive as the rays' are.
        mesh: `jaxsot.MeshOptions` of the mesh route.

    Returns: the pytree of fn with every leaf summed: shape leaf.shape at equilibrium, (T,) +
        leaf.shape with a drive; units: fn's units per nm^2.
    """
    check_model(model)
    fermi_energy = check_real_scalar("fermi_energy", fermi_energy, unit="eV")
    num_phi = check_count("num_phi", num_phi, minimum=8)
    num_r = check_count("num_r", num_r, minimum=2)
    substeps = check_count("substeps", substeps, minimum=1)
    chunk = check_count("chunk", chunk, minimum=1)
    if not callable(fn):
        raise ValueError(f"fn = {fn!r} is not callable; allowed: fn(model, kx, ky, s, fx, fy) -> pytree")
    bands = tuple(occupied_bands(model, fermi_energy, bands))
    mesh = check_mesh_options(mesh)
    chosen = choose_route(model, fermi_energy, bands, route)
    devices = tuple(jax.local_devices()) if devices is None else tuple(devices)
    if not devices:
        raise ValueError("devices = () is not allowed; allowed: a non-empty sequence of jax devices")
    if drive is None:
        if times is not None or tau is not None:
            raise ValueError("times and tau go with a drive; allowed: drive=None with times=None and tau=None")
        dtype = float_dtype(jnp.asarray(fermi_energy), model.dtype)
        shift = jnp.zeros((1, 2), dtype)
        force = jnp.zeros((1, 2), dtype)
    else:
        if times is None:
            raise ValueError("times = None with a drive; allowed: a (T,) strictly increasing array [fs]")
        times = check_times(times)
        check_tau(tau)
        dtype = float_dtype(times, model.dtype)
        times = times.astype(dtype)
        _, shift, k_rate = integrate_shift_jit(drive, times, tau, substeps)
        force = HBAR * k_rate
    model = model.astype(dtype)
    fermi_energy = as_float(fermi_energy, dtype)
    zero = jnp.zeros((), dtype)
    example = jax.eval_shape(fn, model, zero, zero, zero, zero, zero)
    leaves, treedef = jax.tree_util.tree_flatten(example)
    shapes = tuple(tuple(leaf.shape) for leaf in leaves)
    sea = None
    if chosen == "mesh" or not is_concrete(model, fermi_energy):
        sea, _, _, _, _ = sea_ensemble(model, fermi_energy, bands, chosen, num_phi=num_phi, num_r=num_r, mesh=mesh, line=False)
    totals, _ = _sea_sums(
        model, fermi_energy, shift, force, fn=fn, shapes=shapes, bands=bands, num_phi=num_phi, num_r=num_r,
        chunk=chunk, devices=devices, sea=sea,
    )
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        block = totals[:, start : start + size].reshape((totals.shape[0],) + shape)
        out.append(block[0] if drive is None else block)
        start += size
    return jax.tree_util.tree_unflatten(treedef, out)

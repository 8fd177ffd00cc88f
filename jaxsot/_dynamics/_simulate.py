"""Time evolution of the Fermi-sea ensemble with Hamilton's equations (docs: Theory > Ensembles and dynamics).

Every occupied state moves by hbar k' = qE(t) - hbar Delta k/tau (constant-tau rigid shift of the
sea; tau = None: no relaxation), so k(t) = k0 + Delta k(t) with one Delta k for all states.
Per state and time step the kernel evaluates the spin (b/|b|), the spin force by a Hessian-vector
product and ds/dt by a jvp, with their second-order closed forms, and accumulates the per-area
sums. The ensemble is the T = 0 Fermi sea on polar Gauss-Legendre nodes (rates: dS/dt, T2,
spin-force density); levels (S(t) - S_eq, T1, current) come from Fermi-contour fluxes integrated
over the shift, which avoids subtracting two large sums (float32 cancellation).
"""

import functools
import warnings
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._bands._arrays import DEGENERACY_THRESHOLD, check_sea_local_mass, sea_mass_defect, sea_mass_message
from .._bands._kernels import spin
from .._bands._touching import exchange_scale
from .._core._checks import as_float, check_count, check_finite, check_real_scalar, check_tau, check_times, float_dtype, is_concrete, traced_check
from .._core._model_check import check_model
from .._core._model import RashbaFerromagnet, TwoBandModel, has_paper_forms
from .._fermi._contour import band_touching_report, occupied_bands
from .._fermi._mesh import check_mesh_options
from .._fermi._route import choose_route, sea_ensemble
from ..constants import AREA_MEASURE, HBAR
from ._engine import evolve_block
from ._observables import assemble_observables, engine_parts, ensemble_nodes, full_columns, relative_error, select_observables
from ._shift import SHIFT_NODES, integrate_shift_jit



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
        min_splitting: smallest Omega over every sampled state and time [eV] (with `observables=` /
            `approximations=`: over the node sets evaluated, inf when none was needed);
        notes: sentences about degenerate points or accuracy (empty when all is well);
        route: the Fermi-sea route that ran, "rays" or "mesh" (`jaxsot.fermi_sea_route`).
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
    route: str = eqx.field(static=True, default="rays")

    def relative_error(self, name: str, approximation: str) -> float:
        """max_t |approx(t) - exact(t)| / max_t |exact(t)| (Euclidean norm over components; `relative_error`)."""
        if name not in self.observables:
            raise ValueError(f"observable {name!r} was not computed; allowed: {', '.join(self.observables)}")
        values = self.observables[name]
        if "exact" not in values:
            raise ValueError(f"the exact {name!r} was not computed (approximations=...): a relative error needs it")
        if approximation not in values:
            available = [key for key in values if key != "exact"]
            raise ValueError(
                f"approximation = {approximation!r} is not available for {name!r}; allowed: {available} "
                "(the papers' approximations exist for the Rashba ferromagnet only)"
            )
        exact = jnp.asarray(values["exact"])
        if not float(jnp.max(jnp.abs(exact))) > 0:
            raise ValueError(f"observable {name!r} is zero at every time: a relative error is undefined")
        error = float(relative_error(jnp.asarray(values[approximation]), exact))
        if exact.dtype == jnp.float32 and error < FLOAT32_RESOLUTION:
            warnings.warn(
                f"relative error of {name} ({approximation}) = {error:.2g} is below the float32 resolution of the "
                f"ensemble sums (~{FLOAT32_RESOLUTION:g}, measured against float64): rerun in float64",
                RuntimeWarning,
                stacklevel=2,
            )
        return error


def simulate(
    model: TwoBandModel,
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
    observables=None,
    approximations=None,
    route: str = "auto",
    mesh=None,
) -> SimulationResult:
    """Evolve the T = 0 Fermi sea under a drive and return per-area time series.

    Hamilton's equations for every state: r' = grad eps/hbar, hbar k' = qE(t) - hbar Delta k/tau
    (docs: Theory > Ensembles and dynamics; the papers' section II dynamical state). The sea is sampled by
    num_phi x num_r polar Gauss-Legendre nodes per occupied band and the contour by num_phi points;
    the state count is `result.num_states`.

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        drive: callable t [fs] -> E(t), shape (2,) [V/nm] (StepDrive, RampDrive, SinusoidDrive or
            any jax-traceable function).
        times: output times, shape (T,), increasing [fs]; Delta k = 0 at times[0].
        tau: momentum relaxation time [fs] (> 0), or None for no relaxation.
        num_phi: angular nodes of the Fermi sea and points of the contour per band (>= 8).
        num_r: radial Gauss-Legendre nodes of the Fermi sea per angle (>= 2).
        substeps: RK4 substeps per output interval for Delta k (>= 1).
        block_steps: time steps per compiled block; progress is reported between blocks (>= 1).
        chunk: states per vectorized chunk (1024 keeps a step's intermediates in cache; from 2048
            states XLA-CPU splits some float32 loops over threads, which halved float32 throughput
            on 2 cores: benchmarks/README.md).
        progress: called as progress(steps_done, steps_total) after each block.
        bands: the occupied bands, e.g. (-1,) or (-1, 1); needed under jax.grad/jit (traced models),
            found from the model otherwise (`jaxsot.occupied_bands`).
        devices: devices to split the Fermi-sea states over (default: all local devices of the
            default backend). On CPU, expose the cores as devices with
            XLA_FLAGS=--xla_force_host_platform_device_count=N before JAX starts (`jaxsot run`
            does this); results agree with one device to rounding (the order of the final sum).
        observables: names of the observables to compute (keys of `jaxsot.UNITS`), or None for all.
            Only what they need is evaluated: e.g. ("damping_torque",) sums ds/dt over the sea and
            skips the spin force (a Hessian-vector product per state) and the contour levels.
        approximations: of "exact", "second_order", "strong_exchange", or None for all: the columns
            to compute for each observable (where defined). The full set is the default; a selection
            returns the same values for what it keeps.
        route: "auto" (default), "rays" or "mesh" (`jaxsot.fermi_sea_route`): the rays sample the
            sea on num_phi x num_r polar nodes; the mesh route (lattice models over their Brillouin
            zone, pockets, annuli, band touchings in the sea) on its triangle-rule nodes and
            Fermi-line nodes, and the rigidly shifted sea is the same node set moved by Delta k(t)
            (the occupation of k - Delta k), its levels the flux through the moving Fermi line.
        mesh: `jaxsot.MeshOptions` of the mesh route.

    Returns: SimulationResult (dtype of `times`); `result.route` names the route that ran.
    Raises:
        ValueError: an unknown observable or approximation, or a selection that leaves nothing;
            the spin force requested for a model whose occupied sea reaches a singular Hess eps0
            (an inflection line of a lattice band: F_so diverges there).
    """
    check_model(model)
    fermi_energy = check_real_scalar("fermi_energy", fermi_energy, unit="eV")
    times = check_times(times)
    tau = check_tau(tau)
    num_phi = check_count("num_phi", num_phi, minimum=8)
    num_r = check_count("num_r", num_r, minimum=2)
    substeps = check_count("substeps", substeps, minimum=1)
    block_steps = check_count("block_steps", block_steps, minimum=1)
    chunk = check_count("chunk", chunk, minimum=1)
    selection = select_observables(observables, approximations, has_paper_forms(model))
    parts = engine_parts(selection)
    dtype = float_dtype(times)
    if not jnp.issubdtype(times.dtype, jnp.floating):
        times = times.astype(dtype)
    model = model.astype(dtype)
    fermi_energy = as_float(fermi_energy, dtype)
    mesh = check_mesh_options(mesh)
    bands = occupied_bands(model, fermi_energy, bands)
    chosen = choose_route(model, fermi_energy, bands, route)

    _check_tau_resolved(times, tau, substeps)
    tau = None if tau is None else jnp.asarray(tau, dtype)  # an array: no recompile per tau value
    efield, shift, k_rate = integrate_shift_jit(drive, times, tau, substeps)
    shift, k_rate = _check_drive_values(times, efield, (shift, k_rate))
    force = HBAR * k_rate
    if chosen == "rays" and is_concrete(model, fermi_energy):
        sea, contour, band_densities = ensemble_nodes(model, fermi_energy, bands, num_phi, num_r)
    else:
        sea, contour, band_densities, _, _ = sea_ensemble(model, fermi_energy, bands, chosen, num_phi=num_phi, num_r=num_r, mesh=mesh)
    # F_so needs the local mass of eps0 in the whole sea (nothing to check for parabolic eps0). Asked
    # for by name, a sea without it is refused (traced: through the weights every sea sum uses); in
    # the default full set, the spin-force columns become NaN with a note and the rest stands.
    mass_defect = None
    if parts is not None and "force" in parts[0]:
        sea = (sea[0], check_sea_local_mass(model, sea, sea[1], "simulate (spin_force_density)"), sea[2])
    elif parts is None:
        mass_defect, _ = sea_mass_defect(model, sea)
    num_states = int(sea[0].shape[0] + len(SHIFT_NODES) * contour[0].shape[0])
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
        rates, levels, small = evolve_block(
            model, sea, contour, shift[index], force[index], chunk=chunk, devices=devices, parts=parts
        )
        rate_blocks.append(rates[: stop - start])
        level_blocks.append(levels[: stop - start])
        smallest = jnp.minimum(smallest, small)
        if progress is not None:
            progress(stop, steps)
    rates = jnp.concatenate(rate_blocks)
    levels = jnp.concatenate(level_blocks)

    wants_equilibrium = selection is None or "spin_density" in dict(selection)
    spin_equilibrium = _equilibrium_spin(model, sea) if wants_equilibrium else None
    observables = _assemble_compiled(model, rates, levels, band_densities, force, shift, spin_equilibrium, selection, parts)
    mass_note = ()
    if mass_defect is not None and not (is_concrete(mass_defect) and not bool(mass_defect)):
        for name in ("spin_force_density", "spin_force_per_electron"):
            # A product, not a select: under grad a NaN value then has a NaN gradient, never a zero one.
            observables[name]["exact"] = observables[name]["exact"] * jnp.where(mass_defect, jnp.nan, 1.0)
        if is_concrete(mass_defect):
            mass_note = (sea_mass_message(model, "spin_force_density, spin_force_per_electron set to NaN"),)
    notes = mass_note + _notes(model, fermi_energy, smallest, observables, explained=set() if not mass_note else {"spin_force_density", "spin_force_per_electron"})
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
        route=chosen,
    )


def _check_tau_resolved(times, tau, substeps):
    """ValueError unless tau is at least the shift's integration step min(diff(times))/substeps (RK4 on
    the relaxation rate 1/tau is unstable far below it: the shift, and every observable, become NaN)."""
    if tau is None or not is_concrete(times, tau):
        return
    with jax.ensure_compile_time_eval():
        step = float(jnp.min(jnp.diff(jnp.asarray(times)))) / substeps
    if float(tau) < step * (1.0 - 1e-9):  # rounding of the times (linspace)
        raise ValueError(
            f"tau = {float(tau):g} fs is shorter than the integration step of the shift, min(diff(times))/substeps = "
            f"{step:g} fs; allowed: tau >= {step:g} fs (or finer times / more substeps)"
        )


def _check_drive_values(times, efield, carrier):
    """ValueError (traced: a run-time error carried by `carrier`, returned) when the drive returned a
    non-finite field at some time."""
    message = "drive(t) returned a non-finite field; allowed: a drive returning finite (2,) fields [V/nm] at every time"
    if not is_concrete(efield):
        return traced_check(carrier, jnp.logical_not(jnp.all(jnp.isfinite(efield))), message)
    with jax.ensure_compile_time_eval():
        finite = onp.all(onp.isfinite(onp.asarray(efield)), axis=-1)
    if not finite.all():
        index = int(onp.argmin(finite))
        raise ValueError(
            f"drive(t) returned {onp.asarray(efield)[index].tolist()} V/nm at t = {float(onp.asarray(times)[index]):g} fs, "
            "which is not finite; allowed: a drive returning finite (2,) fields [V/nm] at every time"
        )
    return carrier


# One compilation instead of ~40 op-by-op ones (each ~20 ms on the CPU) for a fresh process.
@functools.partial(jax.jit, static_argnums=(7, 8))
def _assemble_compiled(model, rates, levels, band_densities, force, shift, spin_equilibrium, selection, parts):
    rates, levels = full_columns(model, rates, levels, parts)
    return assemble_observables(model, rates, levels, band_densities, force, shift, spin_equilibrium, selection)


@jax.jit
def _equilibrium_spin(model, sea):
    k, area, sign = sea
    sx, sy, sz = jax.vmap(lambda kx, ky, s: spin(model, kx, ky, s))(k[:, 0], k[:, 1], sign)
    return jnp.stack([area @ sx, area @ sy, area @ sz]) * AREA_MEASURE


def _notes(model, fermi_energy, smallest, observables, explained=frozenset()) -> tuple:
    if not is_concrete(model, fermi_energy, smallest):
        return ()  # under jax.grad / jit tracing nothing can be inspected
    notes = []
    report = band_touching_report(model, fermi_energy)
    if report:
        notes.append(report)
    j_ex = exchange_scale(model)
    if float(smallest) < DEGENERACY_THRESHOLD * max(j_ex, 1e-300):
        notes.append(
            f"a sampled state came within Omega = {float(smallest):.3g} eV of the band touching "
            f"(< {DEGENERACY_THRESHOLD:g} J): velocities and spin forces are large or divergent there"
        )
    bad = [
        name for name, values in observables.items() for key, v in values.items()
        if name not in explained and not bool(jnp.all(jnp.isfinite(v)))
    ]
    if bad:
        near = float(smallest) < DEGENERACY_THRESHOLD * max(j_ex, 1e-300)
        cause = "states at the band touching" if near else (
            f"not the band touching: the smallest splitting sampled is {float(smallest):.3g} eV; an overflow from "
            "the model's parameters or the drive's size"
        )
        notes.append(f"non-finite values in: {', '.join(sorted(set(bad)))} ({cause})")
    return tuple(notes)

"""Ensemble torques and spin-force densities of the Fermi sea (docs: Theory > Ensembles and dynamics).

Two independent routes for the response of the T = 0 Fermi sea (all occupied bands) accelerated
rigidly by hbar k' = qE:
- "contour": by the divergence theorem, d/dt of a Fermi-sea integral is a Fermi-contour flux,
  d/dt sum_s int_sea g_s d^2k/(2pi)^2 = sum_s oint g_s (n . k') dl/(2pi)^2 (n the outward normal).
  The spin-force density is the flux of m v_spin: (m/hbar^2) oint grad(s Omega) (n . hbar k') dl,
  for parabolic eps0 (one mass m); with a k-dependent mass tensor M0(k) of eps0 it is no flux, and
  the force density is the sum of F_so over the sea's quadrature nodes of the same route.
- "fermi_sea": the per-state quantity (autodiff ds/dt, Hessian-vector-product spin force) summed
  over a k-grid with Fermi-Dirac occupation at temperature T; it tends to the contour route as T->0.
Densities are per area with the measure d^2k/(2pi)^2 (no spin factor 2).
"""

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float
from .._bands._arrays import accelerating_force, check_sea_local_mass
from .._bands._kernels import energy, has_parabolic_kinetic_energy, spin, spin_force_components, spin_rate_components, spin_splitting_gradient
from .._core._checks import as_float, check_count, check_finite, check_range, check_real_scalar, check_shape, check_temperature, float_dtype, is_concrete
from .._core._model_check import check_model
from .._core._model import RashbaFerromagnet, TwoBandModel
from .._fermi._contour import occupied_bands, outer_radius
from .._fermi._mesh import check_mesh_options, domain
from .._fermi._route import NONCONVERGED_MESSAGE, choose_route, guard, ray_checks, sea_ensemble
from ..constants import AREA_MEASURE, BOLTZMANN_EV_PER_K, HBAR
from ._transport import band_fluxes


@functools.partial(jax.jit, static_argnums=(3, 4))
def _contour_route(model, fermi_energy, force, bands, num):
    """(dS/dt (3,), spin-force density (2,)) of the sea accelerated by hbar k' = force, as contour fluxes."""
    kdot = force / HBAR
    spin_rate = jnp.zeros(3, force.dtype)
    force_density = jnp.zeros(2, force.dtype)
    for s in bands:
        sf = float(s)
        fluxes = band_fluxes(model, fermi_energy, sf, num)
        spin_rate = spin_rate + fluxes.spin @ kdot
        k, contour = fluxes.contour.k, fluxes.contour
        flux = (contour.normal @ kdot) * contour.dl * AREA_MEASURE
        gx, gy = jax.vmap(lambda kx, ky: spin_splitting_gradient(model, kx, ky, sf))(k[:, 0], k[:, 1])
        # The flux of m v_spin = (m/hbar^2) grad(s Omega) hbar: `flux` already carries k' = f/hbar.
        force_density = force_density + model.mass / HBAR**2 * HBAR * jnp.stack([gx @ flux, gy @ flux])
    return spin_rate, force_density


def line_route(model, contour, force):
    """(dS/dt (3,), spin-force density (2,)) as fluxes through any Fermi-line nodes (the mesh route's).

    contour: (k (M, 2), normal * dl (M, 2), band sign (M,)); force: hbar k' (2,) [eV/nm]. Traceable."""
    k, normal_dl, sign = contour
    kdot = force / HBAR
    flux = (normal_dl @ kdot) * AREA_MEASURE
    spins = jnp.stack(jax.vmap(lambda kx, ky, s: spin(model, kx, ky, s))(k[:, 0], k[:, 1], sign), -1)
    gx, gy = jax.vmap(lambda kx, ky, s: spin_splitting_gradient(model, kx, ky, s))(k[:, 0], k[:, 1], sign)
    force_density = model.mass / HBAR**2 * HBAR * jnp.stack([gx @ flux, gy @ flux])
    return spins.T @ flux, force_density


_line_route_jit = jax.jit(line_route)


def sea_force_route(model, sea, force):
    """The spin-force density sum_s int_sea F_so d^2k/(2pi)^2 [eV/nm^3] over quadrature nodes (any eps0).

    sea: (k (N, 2), weight (N,) [1/nm^2], sign (N,)); force: hbar k' (2,) [eV/nm]. F_so = M0(k) a_so
    per node (`spin_force_components`); nodes of zero weight (padding) contribute nothing. Traceable."""
    k, weight, sign = sea
    values = jax.vmap(lambda kx, ky, s: jnp.stack(spin_force_components(model, kx, ky, s, force[0], force[1])))(
        k[:, 0], k[:, 1], sign
    )
    return jnp.where(weight[:, None] > 0, values, 0.0).T @ weight * AREA_MEASURE


_sea_force_route_jit = jax.jit(sea_force_route)


def _checked_contour_route(model, fermi_energy, force, bands, num):
    out = _contour_route(model, fermi_energy, force, bands, num)
    finite = jnp.all(jnp.isfinite(out[0])) & jnp.all(jnp.isfinite(out[1]))
    return ray_checks(model, fermi_energy, bands, guard(out, ~finite, NONCONVERGED_MESSAGE))


def fermi_dirac(energy_ev, fermi_energy, temperature_k):
    """Fermi-Dirac occupation f(E) = 1 / (exp((E - E_F)/k_B T) + 1) (a step at T = 0).

    Args:
        energy_ev: state energies E [eV], any shape.
        fermi_energy: E_F [eV], a scalar or broadcastable against `energy_ev`.
        temperature_k: T [K], a concrete Python or NumPy scalar >= 0 (at T = 0 the occupation is
            the step E < E_F).

    Returns:
        Occupations in [0, 1], the shape of `energy_ev` broadcast with `fermi_energy`, in the
        floating dtype of `energy_ev`.
    """
    temperature_k = check_temperature("temperature_k", temperature_k)
    kt = BOLTZMANN_EV_PER_K * temperature_k
    if temperature_k == 0:
        return jnp.asarray(jnp.asarray(energy_ev) < fermi_energy).astype(float_dtype(jnp.asarray(energy_ev)))
    return 0.5 * (1.0 - jnp.tanh((energy_ev - fermi_energy) / (2.0 * kt)))


MASS_CHECK_GRID = 128
"""The "fermi_sea" method's check of the local mass M0 over the occupied states uses at most this many
k-grid points per axis (the same domain as the sum)."""


def _grid_sea(model, fermi_energy, temperature_k, grid, dtype):
    """(k (2 N, 2), occupation (2 N,), sign (2 N,)) of both bands on the "fermi_sea" k-grid (traceable)."""
    kx, ky, _ = _grid_points(model, fermi_energy, temperature_k, grid, dtype)
    k = jnp.concatenate([jnp.stack([kx, ky], -1)] * 2)
    sign = jnp.concatenate([jnp.full(kx.shape, s, dtype) for s in (-1.0, 1.0)])
    occupation = fermi_dirac(energy(model, k[:, 0], k[:, 1], sign), fermi_energy, temperature_k)
    return k, occupation, sign


_grid_sea_jit = jax.jit(_grid_sea, static_argnums=(2, 3, 4))


def _grid_points(model, fermi_energy, temperature_k, grid, dtype):
    """(kx (N,), ky (N,), cell area) of the "fermi_sea" method's k-grid, N = grid^2 (traceable)."""
    kt = BOLTZMANN_EV_PER_K * temperature_k
    if model.lattice_vectors is None:
        # Occupations below e^-40 are dropped: integrate out to eps = E_F + 40 kT.
        half_width = outer_radius(model, fermi_energy + 40.0 * kt)
        spacing = 2.0 * half_width / grid
        # Cell midpoints: the k-grid never lands exactly on the band touching point by construction.
        axis = -half_width + spacing * (jnp.arange(grid, dtype=dtype) + 0.5)
        kx, ky = [a.ravel() for a in jnp.meshgrid(axis, axis, indexing="ij")]
        cell_area = spacing**2
    else:
        # A lattice model: the midpoint rule on the reciprocal-lattice cell (spectral for periodic integrands).
        origin, basis = domain(model, fermi_energy)
        u = (jnp.arange(grid, dtype=dtype) + 0.5) / grid
        points = origin + u[:, None, None] * basis[0] + u[None, :, None] * basis[1]
        kx, ky = points[..., 0].ravel(), points[..., 1].ravel()
        cell_area = jnp.abs(jnp.linalg.det(basis)) / grid**2
    return kx, ky, cell_area


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _fermi_sea_route(model, fermi_energy, force, temperature_k, grid, chunk):
    dtype = force.dtype
    kx, ky, cell_area = _grid_points(model, fermi_energy, temperature_k, grid, dtype)
    fx, fy = force[0], force[1]

    def per_state(qx, qy):
        rate = jnp.zeros(3, dtype)
        density = jnp.zeros(2, dtype)
        for s in (-1.0, 1.0):
            occupation = fermi_dirac(energy(model, qx, qy, s), fermi_energy, temperature_k)
            rate = rate + occupation * jnp.stack(spin_rate_components(model, qx, qy, s, fx, fy))
            density = density + occupation * jnp.stack(spin_force_components(model, qx, qy, s, fx, fy))
        return jnp.concatenate([rate, density])

    values = jax.lax.map(lambda q: per_state(q[0], q[1]), jnp.stack([kx, ky], -1), batch_size=chunk)
    total = jnp.sum(values, axis=0) * cell_area * AREA_MEASURE
    return total[:3], total[3:]


def _ensemble(model, fermi_energy, efield, num, method, temperature, grid, bands, route="auto", mesh=None, force_density=False):
    check_model(model)
    check_shape("efield", efield, (2,))
    efield = check_finite("efield", efield)
    fermi_energy = check_real_scalar("fermi_energy", fermi_energy, unit="eV")
    efield = jnp.asarray(efield)
    if efield.shape != (2,):
        raise ValueError(f"efield has shape {efield.shape}; allowed: (2,)")
    dtype = float_dtype(efield, jnp.asarray(fermi_energy))
    model = model.astype(dtype)
    fermi_energy = as_float(fermi_energy, dtype)
    force = accelerating_force(efield.astype(dtype))
    if method == "contour":
        num = check_count("num", num, minimum=8)
        mesh = check_mesh_options(mesh)
        bands = occupied_bands(model, fermi_energy, bands)
        chosen = choose_route(model, fermi_energy, bands, route)
        concrete = is_concrete(model, fermi_energy, force)
        if force_density and not has_parabolic_kinetic_energy(model):
            # M0(k) varies over the sea: the force density is a sea sum on the chosen route's nodes.
            sea = sea_ensemble(model, fermi_energy, bands, chosen, num_phi=num, mesh=mesh)[0]
            density = (_sea_force_route_jit if concrete else sea_force_route)(model, sea, force)
            return None, check_sea_local_mass(model, sea, density, "ensemble_spin_force")
        if chosen == "mesh":
            _, contour, _, _, _ = sea_ensemble(model, fermi_energy, bands, "mesh", mesh=mesh)
            return (_line_route_jit if concrete else line_route)(model, contour, force)
        if not is_concrete(model, fermi_energy):
            return _checked_contour_route(model, fermi_energy, force, bands, num)
        return _contour_route(model, fermi_energy, force, bands, num)
    if method == "fermi_sea":
        check_range("temperature", temperature, low=0.0, unit="K")
        grid = check_count("grid", grid, minimum=16)
        occupied_bands(model, fermi_energy, bands)
        rate, density = _fermi_sea_route(model, fermi_energy, force, float(temperature), grid, 16384)
        if force_density and not has_parabolic_kinetic_energy(model):
            # Across an inflection line of eps0 the grid sum of F_so has no limit: refused, as on the contour route.
            sea = (_grid_sea_jit if is_concrete(model, fermi_energy) else _grid_sea)(
                model, fermi_energy, float(temperature), min(grid, MASS_CHECK_GRID), dtype
            )
            density = check_sea_local_mass(model, sea, density, "ensemble_spin_force")
        return rate, density
    raise ValueError(f"method = {method!r} is not allowed; allowed: 'contour' or 'fermi_sea'")


def ensemble_damping_torque(
    model: TwoBandModel,
    fermi_energy,
    efield: Float[Array, "2"],
    num: int = 256,
    *,
    method: str = "contour",
    temperature: float = 0.0,
    grid: int = 512,
    bands: tuple[int, ...] | None = None,
    route: str = "auto",
    mesh=None,
) -> Float[Array, "3"]:
    """Damping-like torque density T2 = -dS/dt of the Fermi sea accelerated by qE [1/(nm^2 fs)].

    S is the spin density per area of all occupied bands (measure d^2k/(2pi)^2). Paper eq. 7/11
    summed over the sea (docs: Theory > Ensembles and dynamics).

    Args:
        model: any `TwoBandModel` (continuum or lattice).
        fermi_energy: E_F [eV], a scalar.
        efield: in-plane electric field (Ex, Ey), shape (2,) [V/nm]; its dtype sets the result's.
        num: points per Fermi contour, >= 8 (method "contour", ray route).
        method: "contour" (T = 0, divergence theorem, spectrally accurate on the ray route) or
            "fermi_sea" (a k-grid of grid x grid cell midpoints with Fermi-Dirac weights at
            `temperature`).
        temperature: T [K] >= 0 of the Fermi-Dirac weights (method "fermi_sea" only).
        grid: k-grid points per axis, >= 16 (method "fermi_sea" only).
        bands: the occupied bands, e.g. (-1,) or (-1, 1); found from the model when None, and
            required under jax.grad/jit/vmap with traced inputs.
        route: method "contour" only: "auto" (default), "rays" or "mesh" (`jaxsot.fermi_sea_route`;
            the mesh route's Fermi-line nodes serve lattice models and seas the rays cannot describe).
        mesh: `jaxsot.MeshOptions` of the mesh route, or None for its defaults.

    Returns:
        T2 = -dS/dt, shape (3,) [1/(nm^2 fs)], in the dtype of `efield`.
    """
    spin_rate, _ = _ensemble(model, fermi_energy, efield, num, method, temperature, grid, bands, route, mesh)
    return -spin_rate


def ensemble_spin_force(
    model: TwoBandModel,
    fermi_energy,
    efield: Float[Array, "2"],
    num: int = 256,
    *,
    method: str = "contour",
    temperature: float = 0.0,
    grid: int = 512,
    bands: tuple[int, ...] | None = None,
    route: str = "auto",
    mesh=None,
) -> Float[Array, "2"]:
    """Spin-force density sum_s int_sea F_so d^2k/(2pi)^2 of the accelerated sea [eV/nm^3].

    The force per electron times electrons per area, with F_so = M0 r'' - hbar k' (M0 the local
    mass tensor of the band-independent part eps0; the papers' m r'' - hbar k' for parabolic eps0).
    For parabolic eps0 (one mass m) the method "contour" takes it as the Fermi-line flux of
    (m/hbar^2) grad(s Omega); for any other eps0 it is the sum of M0(k) a_so over the sea's
    quadrature nodes of the same route (rays: num x 16 polar nodes per band; mesh: its triangle rule).

    Args:
        model: any `TwoBandModel` with a bounded Fermi sea (`jaxsot.spin_force` says where the
            spin force is defined).
        fermi_energy: E_F [eV], a scalar.
        efield: in-plane electric field (Ex, Ey), shape (2,) [V/nm]; its dtype sets the result's.
        num: points per Fermi contour, >= 8 (method "contour", ray route).
        method: "contour" (T = 0, divergence theorem) or "fermi_sea" (k-grid with Fermi-Dirac
            weights), as in `ensemble_damping_torque`.
        temperature: T [K] >= 0 of the Fermi-Dirac weights (method "fermi_sea" only).
        grid: k-grid points per axis, >= 16 (method "fermi_sea" only).
        bands: the occupied bands, e.g. (-1,) or (-1, 1); required under jax.grad/jit/vmap with
            traced inputs.
        route: method "contour" only: "auto" (default), "rays" or "mesh".
        mesh: `jaxsot.MeshOptions` of the mesh route, or None for its defaults.

    Returns:
        The spin-force density, shape (2,) [eV/nm^3], in the dtype of `efield`.

    Raises:
        ValueError: a model whose occupied sea reaches a singular or sign-changing Hess eps0 (the
            inflection lines of a lattice band, where F_so diverges; both methods, "fermi_sea" on
            at most MASS_CHECK_GRID^2 points of its k-grid; traced: a runtime error), or a massless
            eps0 (no spin force at all).
    """
    _, density = _ensemble(model, fermi_energy, efield, num, method, temperature, grid, bands, route, mesh, force_density=True)
    return density

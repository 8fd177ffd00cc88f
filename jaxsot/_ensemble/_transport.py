"""Constant-tau Boltzmann transport, anisotropic magnetoresistance and the Joule side of the energy balance.

Docs: Theory > Energy, Joule heating and AMR; paper section IV (2018 numbering: eq. 15-18).

Conductivity (derivation). In the constant-tau Boltzmann model the steady distribution of band s is
the equilibrium one rigidly shifted by Delta k = qE tau/hbar (the `simulate` model at t >> tau):
f_s(k) = f0(eps_s(k - Delta k)). To first order, delta f = -(Delta k . hbar v) d f0/d eps, and at
T = 0, -d f0/d eps = delta(eps - E_F). The sheet current j = q sum_s int v f d^2k/(2 pi)^2 becomes a
Fermi-contour integral (d^2k = dl d eps/|grad eps|, |grad eps| = hbar |v|):

    j = q sum_s oint v (v . Delta k) / |v| dl/(2 pi)^2 = sigma E,
    sigma_ij = (e^2 tau / hbar) sum_s oint v_i v_j / |v| dl/(2 pi)^2
             = (e^2 tau / hbar^2) sum_s oint |grad eps_s| n_i n_j dl/(2 pi)^2,        (n = grad eps/|grad eps|)

with the exact bands (no expansion in alpha k/J). For a parabolic band this is Drude, n e^2 tau/m.
Integrating by parts, sigma_ij = (e^2 tau/hbar^2) sum_s int_sea d^2 eps_s/dk_i dk_j d^2k/(2 pi)^2
(the inverse-mass form, used as the independent reference in the tests). Units: sigma in e^2/(eV fs)
= e/(V fs) = 1.602e-4 S per square (SIEMENS_PER_INTERNAL); resistivity rho = sigma^-1 (2x2) in V fs/e.

AMR (paper eq. 18). With current along the in-plane unit vector e, rho_ee = e . sigma^-1 . e. The
strong-exchange expansion of the bands, eps_s = c k^2 + s [J - alpha w.k + (alpha^2/2J) k.(I - w w^T).k]
(w = z x M), gives the inverse mass (1/m)[I + s eta (I - w w^T)] per band, hence
rho_ee/rho0 = 1 + p eta [(M.e)^2 + M_z^2],  p = (n_lower - n_upper)/(n_lower + n_upper),
rho0 = rho_ee for M in-plane and perpendicular to e (there (M.e)^2 + M_z^2 = 0). In-plane M:
1 + p eta cos^2(theta_EM) (the paper's eq. 18 with p = 1); M in the y-z plane (e = x): 1 + p eta M_z^2;
M in the x-z plane: no AMR at this order (the residual is O(eta (alpha k_F/J)^2)).

Joule heating (paper eq. 17): Q = j.E per area. The spin force F_so = (m/hbar^2) Hess(s Omega) . qE acts
on the drifting electrons; its power on the current is the part of sum_states v . F_so that is even
in E: P_sf = sum_s oint (n . Delta k) (v . F_so) dl/(2 pi)^2 (the flux of v . F_so through the
shifted contour). P_sf < 0: the spin force drags the current, and the extra Joule heat -P_sf is the
AMR, -P_sf = (rho - rho0) j^2 to first order in eta. In the strong-exchange limit
P_sf = -p eta rho0_sheet [(M.j)^2 + M_z^2 j^2] (docs: Theory > Energy, Joule heating and AMR; the paper's (M.j)^2 is the M_z = 0 case).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float
from .._bands._arrays import accelerating_force
from .._bands._kernels import spin, spin_force_components
from .._core._checks import as_float, check_count, check_finite, check_range, check_range_with, check_real_scalar, check_shape, float_dtype, is_concrete, traced_check
from .._core._model_check import check_model
from .._core._model import RashbaFerromagnet, TwoBandModel, has_paper_forms, require_paper_forms, with_magnetization
from .._fermi._contour import FermiContour, contour_density, occupied_bands, ray_contour
from .._fermi._mesh import check_mesh_options
from .._fermi._route import NONCONVERGED_MESSAGE, choose_route, guard, ray_checks, sea_ensemble
from ..constants import AREA_MEASURE, CARRIER_CHARGE, ELEMENTARY_CHARGE_C, HBAR
from ._strong import strong_exchange_amr, strong_exchange_response


SIEMENS_PER_INTERNAL = ELEMENTARY_CHARGE_C / 1.0e-15
"""Sheet conductance: 1 e/(V fs) = 1.602e-4 S (multiply an internal conductance to get siemens)."""

OHM_PER_INTERNAL = 1.0 / SIEMENS_PER_INTERNAL
"""Sheet resistance: 1 V fs/e = 6241.5 ohm."""



class BandFluxes(NamedTuple):
    """First-order Fermi-contour fluxes of one band (`band_fluxes`), per area (measure AREA_MEASURE).

    contour: its `FermiContour`; spin: A_s (3, 2) [1/nm], S(sea shifted by Delta k) - S_eq = A_s Delta k
    and dS/dt = A_s k'; conductance: sigma_s/(q^2 tau) (2, 2) [1/(eV fs^2)]; density: n_s [1/nm^2].
    """

    contour: FermiContour
    spin: Array
    conductance: Array
    density: Array


def band_fluxes(model, fermi_energy, s, num: int) -> BandFluxes:
    """The linear response of band s's T = 0 Fermi sea as fluxes through its exact Fermi contour.

    By the divergence theorem a sea integral of g changes under a rigid shift Delta k (or a rate k')
    by the flux oint g (n . Delta k) dl, so with the measure AREA_MEASURE = 1/(2 pi)^2:
        A_s = oint spin_s(k) n^T dl/(2 pi)^2 (3, 2) [1/nm],
        sigma_s/(q^2 tau) = (1/hbar^2) oint |grad eps_s| n n^T dl/(2 pi)^2 (2, 2) (module docstring),
        n_s = (1/2) oint r(phi)^2 dphi/(2 pi)^2 [1/nm^2].
    Traceable (jit/vmap/grad; s may be a traced band sign, `num` static); gradients are the
    implicit-function gradients of `ray_contour`.
    """
    contour = ray_contour(model, fermi_energy, s, num)
    k, normal = contour.k, contour.normal
    weight = contour.dl * AREA_MEASURE
    spins = jnp.stack(jax.vmap(lambda kx, ky: spin(model, kx, ky, s))(k[:, 0], k[:, 1]), -1)
    spin_flux = spins.T @ (normal * weight[:, None])
    conductance = jnp.einsum("n,ni,nj->ij", contour.gradient_norm * weight, normal, normal) / HBAR**2
    return BandFluxes(contour, spin_flux, conductance, contour_density(contour.radius))


def contour_response(model, fermi_energy, shift, kdot, bands: tuple, num: int) -> dict:
    """Linear response of the T = 0 Fermi sea (all `bands`) as Fermi-contour fluxes; jit/vmap-friendly.

    Args:
        model: RashbaFerromagnet (any M). fermi_energy [eV]. shift: rigid shift Delta k (2,) [1/nm].
        kdot: k' (2,) [1/(nm fs)] that accelerates each state (the spin force uses hbar k').
        bands: static tuple of occupied bands (-1, +1). num: static rays per band.
    Returns a dict (per area, measure d^2k/(2 pi)^2; `band_fluxes` summed over the bands):
        "spin_shift": S(sea shifted by Delta k) - S_eq = A Delta k (3,) [1/nm^2] (first order in Delta k),
        "spin_rate": dS/dt of the sea accelerated by k', A k' (3,) [1/(nm^2 fs)] (= -T2),
        "current": q sum v of the shifted sea = q hbar (sigma/(q^2 tau)) Delta k (2,) [e/(fs nm)]
            (v = grad eps/hbar, so oint v (n . Delta k) dl = hbar oint |grad eps|/hbar^2 n n^T dl Delta k),
        "conductivity_per_tau": sigma/tau (2, 2) [e^2/(eV fs^2)],
        "spin_force_power": sum_s oint (n . Delta k)(v . F_so(hbar k')) dl/(2pi)^2 [eV/(nm^2 fs)],
        "densities": (n_lower, n_upper) [1/nm^2].
    """
    dtype = shift.dtype
    spin_flux = jnp.zeros((3, 2), dtype)
    conductance = jnp.zeros((2, 2), dtype)
    power = jnp.zeros((), dtype)
    densities = {-1: jnp.zeros((), dtype), 1: jnp.zeros((), dtype)}
    force = HBAR * kdot
    for s in bands:
        sf = float(s)
        fluxes = band_fluxes(model, fermi_energy, sf, num)
        spin_flux = spin_flux + fluxes.spin
        conductance = conductance + fluxes.conductance
        densities[s] = fluxes.density
        k, normal = fluxes.contour.k, fluxes.contour.normal
        shift_flux = (normal @ shift) * fluxes.contour.dl * AREA_MEASURE
        velocity = normal * (fluxes.contour.gradient_norm / HBAR)[:, None]
        fx, fy = jax.vmap(lambda kx, ky: spin_force_components(model, kx, ky, sf, force[0], force[1]))(k[:, 0], k[:, 1])
        power = power + shift_flux @ (velocity[:, 0] * fx + velocity[:, 1] * fy)
    return {
        "spin_shift": spin_flux @ shift,
        "spin_rate": spin_flux @ kdot,
        "current": CARRIER_CHARGE * HBAR * (conductance @ shift),
        "conductivity_per_tau": CARRIER_CHARGE**2 * conductance,
        "spin_force_power": power,
        "densities": jnp.stack([densities[-1], densities[1]]),
    }


def line_response(model, contour, extras, densities, shift, kdot) -> dict:
    """`contour_response` from any Fermi-line nodes (the mesh route's, or the rays'); traceable.

    contour: (k (M, 2), normal * dl (M, 2), band sign (M,)); extras: (dl (M,), |grad eps| (M,));
    densities: (n_lower, n_upper) (2,). The fluxes are those of `band_fluxes` written as sums over
    line nodes: A = sum spin (n dl)^T, sigma/(q^2 tau) = sum |grad eps| (n dl)(n dl)^T/dl / hbar^2.
    """
    k, normal_dl, sign = contour
    dl, gradient = extras
    safe_dl = jnp.where(dl > 0, dl, 1.0)
    weight = normal_dl * AREA_MEASURE
    spins = jnp.stack(jax.vmap(lambda kx, ky, s: spin(model, kx, ky, s))(k[:, 0], k[:, 1], sign), -1)
    spin_flux = spins.T @ weight
    conductance = jnp.einsum("n,ni,nj->ij", gradient / safe_dl * AREA_MEASURE, normal_dl, normal_dl) / HBAR**2
    force = HBAR * kdot
    shift_flux = weight @ shift
    normal = normal_dl / safe_dl[:, None]
    velocity = normal * (gradient / HBAR)[:, None]
    fx, fy = jax.vmap(lambda kx, ky, s: spin_force_components(model, kx, ky, s, force[0], force[1]))(k[:, 0], k[:, 1], sign)
    power = shift_flux @ (velocity[:, 0] * fx + velocity[:, 1] * fy)
    return {
        "spin_shift": spin_flux @ shift,
        "spin_rate": spin_flux @ kdot,
        "current": CARRIER_CHARGE * HBAR * (conductance @ shift),
        "conductivity_per_tau": CARRIER_CHARGE**2 * conductance,
        "spin_force_power": power,
        "densities": densities,
    }


@functools.partial(jax.jit, static_argnums=(4, 5))
def _response_impl(model, fermi_energy, shift, kdot, bands, num):
    return contour_response(model, fermi_energy, shift, kdot, bands, num)


_line_response_jit = jax.jit(line_response)


def _checked_rays_response(model, fermi_energy, shift, kdot, bands, num):
    response = contour_response(model, fermi_energy, shift, kdot, bands, num)
    finite = jnp.all(jnp.isfinite(response["conductivity_per_tau"])) & jnp.all(jnp.isfinite(response["densities"]))
    response = guard(response, ~finite, NONCONVERGED_MESSAGE)
    return ray_checks(model, fermi_energy, bands, response)


def _prepare(model, fermi_energy, efield=None, tau=None, num=256, bands=None):
    check_model(model)
    fermi_energy = check_real_scalar("fermi_energy", fermi_energy, unit="eV")
    num = check_count("num", num, minimum=8)
    arrays = [jnp.asarray(fermi_energy)]
    if efield is not None:
        check_shape("efield", efield, (2,))
        fermi_energy = check_range_with(fermi_energy, "efield", efield)  # the run-time check travels with E_F
        if jnp.shape(efield) != (2,):
            raise ValueError(f"efield has shape {jnp.shape(efield)}; allowed: (2,)")
        arrays.append(jnp.asarray(efield))
    if tau is not None:
        fermi_energy = check_range_with(fermi_energy, "tau", tau, low=0.0, low_inclusive=False, unit="fs")
        arrays.append(jnp.asarray(tau))
    dtype = float_dtype(*arrays, model.dtype)
    model = model.astype(dtype)
    bands = occupied_bands(model, fermi_energy, bands)
    return model, as_float(fermi_energy, dtype), bands, num, dtype


def _response(model, fermi_energy, efield, tau, num, bands=None, route="auto", mesh=None):
    mesh = check_mesh_options(mesh)
    model, fermi_energy, bands, num, dtype = _prepare(model, fermi_energy, efield, tau, num, bands)
    efield = jnp.zeros(2, dtype) if efield is None else jnp.asarray(efield, dtype)
    tau = jnp.ones((), dtype) if tau is None else jnp.asarray(tau, dtype)
    kdot = accelerating_force(efield) / HBAR
    chosen = choose_route(model, fermi_energy, bands, route)
    if chosen == "mesh":
        _, contour, densities, extras, _ = sea_ensemble(model, fermi_energy, bands, "mesh", mesh=mesh)
        respond = _line_response_jit if is_concrete(model, fermi_energy, kdot) else line_response
        return respond(model, contour, extras, densities, kdot * tau, kdot), tau
    if not is_concrete(model, fermi_energy):
        return _checked_rays_response(model, fermi_energy, kdot * tau, kdot, bands, num), tau
    return _response_impl(model, fermi_energy, kdot * tau, kdot, bands, num), tau


def conductivity(model: TwoBandModel, fermi_energy, tau, num: int = 256, bands=None, *, route: str = "auto", mesh=None) -> Float[Array, "2 2"]:
    """Constant-tau Boltzmann sheet conductance tensor with the exact bands, T = 0 [e/(V fs)].

    sigma_ij = (e^2 tau/hbar) sum_s oint v_i v_j/|v| dl/(2 pi)^2 over the Fermi contours of all
    occupied bands (module docstring for the derivation). Multiply by SIEMENS_PER_INTERNAL for S.

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        tau: momentum relaxation time [fs] (> 0).
        num: rays per Fermi contour (spectral accuracy; ray route).
        bands: the occupied bands, e.g. (-1,) or (-1, 1); required under jax.grad/jit/vmap,
            found from the model otherwise (`jaxsot.occupied_bands`).
        route: "auto" (default), "rays" or "mesh" (`jaxsot.fermi_sea_route`; lattice models and
            seas the rays cannot describe go through the mesh).
        mesh: `jaxsot.MeshOptions` of the mesh route (None: the defaults).

    Returns: (2, 2), symmetric (no Berry-curvature term in this model).
    """
    response, tau = _response(model, fermi_energy, None, tau, num, bands, route, mesh)
    return response["conductivity_per_tau"] * tau


def resistivity(model: TwoBandModel, fermi_energy, tau, num: int = 256, bands=None, *, route: str = "auto", mesh=None) -> Float[Array, "2 2"]:
    """Sheet resistivity tensor rho = sigma^-1 [V fs/e] (OHM_PER_INTERNAL converts to ohm).

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        tau: momentum relaxation time [fs] (> 0).
        num: rays per Fermi contour (spectral accuracy).
        bands: the occupied bands, e.g. (-1,) or (-1, 1); required under jax.grad/jit/vmap,
            found from the model otherwise (`jaxsot.occupied_bands`).
        route: "auto" (default), "rays" or "mesh" (`jaxsot.fermi_sea_route`; lattice models and
            seas the rays cannot describe go through the mesh).
        mesh: `jaxsot.MeshOptions` of the mesh route (None: the defaults).

    Returns: (2, 2) [V fs/e].
    """
    return jnp.linalg.inv(conductivity(model, fermi_energy, tau, num, bands, route=route, mesh=mesh))


def _unit_direction(direction, dtype):
    direction = check_finite("direction", direction)
    with jax.ensure_compile_time_eval():  # a concrete direction stays concrete under an outer jit
        direction = jnp.asarray(direction, dtype)
        if direction.shape != (2,):
            raise ValueError(f"direction has shape {direction.shape}; allowed: (2,) in-plane vector")
        norm = jnp.linalg.norm(direction)
        message = "direction = [0, 0] has zero length; allowed: any non-zero in-plane vector"
        if not is_concrete(norm):
            direction = traced_check(direction, jnp.logical_not(norm > 0.0), message)
        elif not float(norm) > 0.0:
            raise ValueError(message)
    return direction / norm


def amr_ratio(model: TwoBandModel, fermi_energy, direction=(1.0, 0.0), num: int = 256, bands=None, *, route: str = "auto", mesh=None) -> Float[Array, ""]:
    """rho(M)/rho0 along the current direction e from the exact-band Boltzmann conductivity (paper eq. 18).

    rho = e . sigma^-1(M) . e; rho0 is the same with M in-plane and perpendicular to e (M0 = z x e),
    where the strong-exchange AMR vanishes. tau cancels. Compare with `amr_strong_exchange`.

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        direction: in-plane current direction, shape (2,) (normalized here).
        num: rays per Fermi contour (spectral accuracy).
        bands: the occupied bands, e.g. (-1,) or (-1, 1); required under jax.grad/jit/vmap
            (every function here takes it: `jaxsot.occupied_bands` finds it on concrete values).
        route: "auto" (default), "rays" or "mesh" (as `conductivity`).
        mesh: `jaxsot.MeshOptions` of the mesh route (None: the defaults).

    Returns: a scalar (dimensionless).
    """
    dtype = float_dtype(jnp.asarray(fermi_energy), model.dtype)
    with jax.ensure_compile_time_eval():  # concrete inputs stay concrete under an outer jit (checkable)
        e = _unit_direction(direction, dtype)
        reference = with_magnetization(model, jnp.stack([-e[1], e[0], jnp.zeros((), dtype)]))
    values = []
    for m in (model, reference):
        rho = resistivity(m, fermi_energy, 1.0, num, bands, route=route, mesh=mesh)
        values.append(e @ rho @ e)
    return values[0] / values[1]


def band_polarization(model: TwoBandModel, fermi_energy, num: int = 256, bands=None, *, route: str = "auto", mesh=None) -> Float[Array, ""]:
    """p = (n_lower - n_upper)/(n_lower + n_upper) at the model's M (exact Fermi seas).

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        num: rays per Fermi contour (spectral accuracy).
        bands: the occupied bands, e.g. (-1,) or (-1, 1); required under jax.grad/jit/vmap,
            found from the model otherwise (`jaxsot.occupied_bands`).
        route: "auto" (default), "rays" or "mesh" (as `conductivity`).
        mesh: `jaxsot.MeshOptions` of the mesh route (None: the defaults).

    Returns: a scalar (dimensionless).
    """
    response, _ = _response(model, fermi_energy, None, None, num, bands, route, mesh)
    n_lower, n_upper = response["densities"][0], response["densities"][1]
    return (n_lower - n_upper) / (n_lower + n_upper)


def amr_strong_exchange(model: RashbaFerromagnet, fermi_energy, direction=(1.0, 0.0), num: int = 256, bands=None, *, route: str = "auto", mesh=None) -> Float[Array, ""]:
    """Strong-exchange AMR, 1 + p eta [(M.e)^2 + M_z^2] (paper eq. 18 for general M, with the band polarization p).

    In-plane M: 1 + p eta cos^2(theta_EM). p from the exact Fermi seas at the reference M0 = z x e of
    rho0 (p itself varies with M at O((alpha k_F/J)^2); a constant p keeps the closed form's x-z
    rotation exactly flat).

    Args:
        model: the Rashba ferromagnet (the closed form needs the papers' forms, `has_paper_forms`).
        fermi_energy: Fermi energy E_F [eV].
        direction: in-plane current direction, shape (2,) (normalized here).
        num: rays per Fermi contour for p (spectral accuracy).
        bands: the occupied bands, e.g. (-1,) or (-1, 1); required under jax.grad/jit/vmap,
            found from the model otherwise (`jaxsot.occupied_bands`).
        route: "auto" (default), "rays" or "mesh" (as `conductivity`).
        mesh: `jaxsot.MeshOptions` of the mesh route (None: the defaults).

    Returns: a scalar (dimensionless).
    """
    require_paper_forms(model, "amr_strong_exchange")
    dtype = float_dtype(jnp.asarray(fermi_energy), model.dtype)
    with jax.ensure_compile_time_eval():  # concrete inputs stay concrete under an outer jit (checkable)
        e = _unit_direction(direction, dtype)
        m = model.magnetization.astype(dtype)
        reference = with_magnetization(model, jnp.stack([-e[1], e[0], jnp.zeros((), dtype)]))
    p = band_polarization(reference, fermi_energy, num, bands, route=route, mesh=mesh)
    return strong_exchange_amr(p, model.eta, m, e)


def joule_heating(model: TwoBandModel, fermi_energy, efield, tau, num: int = 256, bands=None, *, route: str = "auto", mesh=None) -> dict:
    """Joule heating and the spin-force power of the steady current (paper eq. 17), per area.

    The sea is shifted by Delta k = qE tau/hbar (steady state) and each electron is accelerated by
    hbar k' = qE between collisions (the force the spin force responds to, paper eq. 9-13).

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        efield: in-plane electric field, shape (2,) [V/nm].
        tau: momentum relaxation time [fs] (> 0).
        num: rays per Fermi contour (spectral accuracy).
        bands: the occupied bands, e.g. (-1,) or (-1, 1); required under jax.grad/jit/vmap,
            found from the model otherwise (`jaxsot.occupied_bands`).
        route: "auto" (default), "rays" or "mesh" (`jaxsot.fermi_sea_route`; lattice models and
            seas the rays cannot describe go through the mesh).
        mesh: `jaxsot.MeshOptions` of the mesh route (None: the defaults).

    Returns a dict of scalars/vectors in eV/(nm^2 fs) (WATT_PER_M2_PER_INTERNAL converts to W/m^2):
        "current": sheet current j (2,) [e/(fs nm)];
        "joule": j . E (total Joule heating, eq. 17 with the exact bands);
        "spin_force_power": P_sf = <v . F_so> (< 0: the spin force drags the current);
        "extra_joule": -P_sf, the spin-force term of eq. 17, (1/e) j . F_so with the papers' signs;
        "extra_joule_strong_exchange": -P_sf of the strong-exchange closed forms with the exact band
            densities, n_p (alpha^2/J) [(M.Delta k)(M.k') + M_z^2 Delta k.k'] = p eta rho0 [(M.j)^2 + M_z^2 j^2]
            with rho0 = 1/sigma_Drude, sigma_Drude = e^2 tau (n_lower + n_upper)/m and j = sigma_Drude E
            (the general-M form of eq. 16, docs: Theory > Energy, Joule heating and AMR); only for a
            model with the papers' forms (`has_paper_forms`).
    """
    response, tau = _response(model, fermi_energy, efield, tau, num, bands, route, mesh)
    dtype = tau.dtype
    efield = jnp.asarray(efield, dtype)
    current = response["current"]
    model = model.astype(dtype)
    result = {
        "current": current,
        "joule": current @ efield,
        "spin_force_power": response["spin_force_power"],
        "extra_joule": -response["spin_force_power"],
    }
    if has_paper_forms(model):
        force = accelerating_force(efield)
        strong = strong_exchange_response(model, response["densities"], force, force * tau / HBAR)
        result["extra_joule_strong_exchange"] = -strong["spin_force_power"]
    return result



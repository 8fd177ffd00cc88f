"""From the Fermi sea to per-area observables: the nodes of the sea and its contour, and the assembly
of the engine's sums into the observables with the papers' approximations (docs: Theory > Ensembles
and dynamics). `simulate` and sweeps (`jaxsot.sweep_observables`) both go through these functions.
"""

import functools

import jax
import jax.numpy as jnp
from .._core._model import has_paper_forms
from .._ensemble._strong import strong_exchange_response
from .._fermi._contour import contour_density, polar_sea_nodes, ray_contour
from ..constants import CARRIER_CHARGE, HBAR


@functools.partial(jax.jit, static_argnames=("bands", "num_phi", "num_r"))
def ensemble_nodes(model, fermi_energy, bands, num_phi, num_r, upper_occupied=None):
    """The states of the T = 0 sea of `bands` and of their Fermi contours, from one root solve per band.

    Args:
        model: RashbaFerromagnet. fermi_energy: E_F [eV]. bands: static tuple of occupied bands.
        num_phi: rays per band (contour points and sea angles). num_r: radial Gauss-Legendre nodes.
        upper_occupied: None, or a traced 0/1 flag with bands = (-1, 1) (sweeps): when 0, the upper
            band's nodes are the lower band's with zero weight, so every point has the same shapes
            and cost and nothing non-finite (an empty band's contour is NaN) enters the sums.
    Returns:
        sea: (k (N, 2) [1/nm], area (N,) [1/nm^2], band sign (N,)), N = len(bands) num_phi num_r
            (polar Gauss-Legendre nodes; measure AREA_MEASURE not included);
        contour: (k (M, 2), normal * dl (M, 2) [1/nm], band sign (M,)), M = len(bands) num_phi;
        band_densities: (n_lower, n_upper) (2,) [1/nm^2] (0 for a band not in `bands`).
    """
    sea_k, sea_area, sea_sign, contour_k, contour_weight, contour_sign = [], [], [], [], [], []
    densities = {-1: 0.0, 1: 0.0}
    for s in bands:
        contour = ray_contour(model, fermi_energy, float(s), num_phi)
        k, area = polar_sea_nodes(contour.radius, num_r)
        kc, weight = contour.k, contour.normal * contour.dl[:, None]
        density = contour_density(contour.radius)
        if s > 0 and upper_occupied is not None:
            occupied = upper_occupied > 0
            k = jnp.where(occupied, k, sea_k[0])
            area = jnp.where(occupied, area, 0.0)
            kc = jnp.where(occupied, kc, contour_k[0])
            weight = jnp.where(occupied, weight, 0.0)
            density = jnp.where(occupied, density, 0.0)
        sea_k.append(k)
        sea_area.append(area)
        sea_sign.append(jnp.full(area.shape, float(s), area.dtype))
        contour_k.append(kc)
        contour_weight.append(weight)
        contour_sign.append(jnp.full(contour.dl.shape, float(s), contour.dl.dtype))
        densities[s] = density
    sea = tuple(jnp.concatenate(x) for x in (sea_k, sea_area, sea_sign))
    contour = tuple(jnp.concatenate(x) for x in (contour_k, contour_weight, contour_sign))
    return sea, contour, jnp.stack([densities[-1], densities[1]]).astype(sea[1].dtype)


def assemble_observables(model, rates, levels, band_densities, force, shift, spin_equilibrium=None) -> dict:
    """The per-area observables of the driven sea from the engine's sums, with the papers' approximations.

    Args (T time steps; traceable):
        model: RashbaFerromagnet. rates: (T, 10) sea sums times AREA_MEASURE (dS/dt (3), spin-force
            density (2), their second-order forms (3, 2)); levels: (T, 5) contour sums times
            AREA_MEASURE (S - S_eq (3), sum v (2)) (`evolve_block`). band_densities: (n_lower, n_upper)
            (2,) [1/nm^2]. force: hbar k' (T, 2) [eV/nm]. shift: Delta k (T, 2) [1/nm].
        spin_equilibrium: S_eq (3,) [1/nm^2], or None to leave out "spin_density".
    Returns: {name: {"exact": (T, d), "second_order": (T, d), "strong_exchange": (T, d)}} (an
        approximation only where it is defined; units in `jaxsot.UNITS`): spin_density S(t),
        spin_density_change S - S_eq, spin_rate dS/dt, damping_torque T2 = -dS/dt, field_like_torque
        T1 = (2J/hbar) M x (S - S_eq) (paper eq. 5), spin_force_density, spin_force_per_electron
        (density / (n_lower + n_upper)), current_density j = q sum v. The strong-exchange column is
        `strong_exchange_response` (paper eq. 13/14/A1 with the exact band densities). A model
        without the papers' forms (`has_paper_forms`: another `TwoBandModel`) gets "exact" only.
    """
    spin_change = levels[:, :3]
    current = CARRIER_CHARGE * levels[:, 3:5]
    # (2J/hbar) M x (S - S_eq): the torque of minus the model's exchange field (-J M).
    exchange = -jnp.broadcast_to(jnp.stack(model.exchange_field()), spin_change.shape)
    field_like = (2.0 / HBAR) * jnp.cross(exchange, spin_change)
    total = jnp.sum(band_densities)
    observables = {}
    if spin_equilibrium is not None:
        observables["spin_density"] = {"exact": spin_equilibrium[None, :] + spin_change}
    if not has_paper_forms(model):
        observables.update(
            {
                "spin_density_change": {"exact": spin_change},
                "spin_rate": {"exact": rates[:, 0:3]},
                "damping_torque": {"exact": -rates[:, 0:3]},
                "field_like_torque": {"exact": field_like},
                "spin_force_density": {"exact": rates[:, 3:5]},
                "spin_force_per_electron": {"exact": rates[:, 3:5] / total},
                "current_density": {"exact": current},
            }
        )
        return observables
    strong = strong_exchange_response(model, band_densities, force, shift)
    observables.update(
        {
            "spin_density_change": {"exact": spin_change},
            "spin_rate": {"exact": rates[:, 0:3], "second_order": rates[:, 5:8], "strong_exchange": strong["spin_rate"]},
            "damping_torque": {
                "exact": -rates[:, 0:3],
                "second_order": -rates[:, 5:8],
                "strong_exchange": -strong["spin_rate"],
            },
            "field_like_torque": {"exact": field_like, "strong_exchange": strong["field_like"]},
            "spin_force_density": {
                "exact": rates[:, 3:5],
                "second_order": rates[:, 8:10],
                "strong_exchange": strong["spin_force_density"],
            },
            "spin_force_per_electron": {
                "exact": rates[:, 3:5] / total,
                "second_order": rates[:, 8:10] / total,
                "strong_exchange": strong["spin_force_density"] / total,
            },
            "current_density": {"exact": current, "strong_exchange": strong["current"]},
        }
    )
    return observables


def relative_error(approx, exact):
    """max_t |approx(t) - exact(t)| / max_t |exact(t)| (Euclidean norm over the last axis); traceable.

    approx, exact: (T, d). NaN or inf when exact is zero at every time (callers that need a
    message check that first, as `SimulationResult.relative_error` does).
    """
    scale = jnp.max(jnp.linalg.norm(exact, axis=-1))
    return jnp.max(jnp.linalg.norm(approx - exact, axis=-1)) / scale


def observable_errors(observables: dict) -> dict:
    """{name: {approximation: relative_error(approximation, exact)}} for every approximation in
    `assemble_observables`' output (exact-only observables get an empty dict); traceable."""
    return {
        name: {approx: relative_error(series, table["exact"]) for approx, series in table.items() if approx != "exact"}
        for name, table in observables.items()
    }

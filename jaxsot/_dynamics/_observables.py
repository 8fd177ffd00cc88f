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


APPROXIMATIONS = ("exact", "second_order", "strong_exchange")
"""The approximation columns of the observables, in output order."""

OBSERVABLE_APPROXIMATIONS = {
    "spin_density": ("exact",),
    "spin_density_change": ("exact",),
    "spin_rate": APPROXIMATIONS,
    "damping_torque": APPROXIMATIONS,
    "field_like_torque": ("exact", "strong_exchange"),
    "spin_force_density": APPROXIMATIONS,
    "spin_force_per_electron": APPROXIMATIONS,
    "current_density": ("exact", "strong_exchange"),
}
"""Every observable of `simulate` with the approximations defined for it (the Rashba ferromagnet;
a model without the papers' forms has "exact" only)."""

# What each (observable, approximation) needs from the engine: sea parts, level parts (`evolve_block`).
_NEEDS = {
    ("spin_density", "exact"): ((), ("spin",)),
    ("spin_density_change", "exact"): ((), ("spin",)),
    ("spin_rate", "exact"): (("rate",), ()),
    ("damping_torque", "exact"): (("rate",), ()),
    ("spin_rate", "second_order"): (("rate_second_order",), ()),
    ("damping_torque", "second_order"): (("rate_second_order",), ()),
    ("field_like_torque", "exact"): ((), ("spin",)),
    ("spin_force_density", "exact"): (("force",), ()),
    ("spin_force_per_electron", "exact"): (("force",), ()),
    ("spin_force_density", "second_order"): (("force_second_order",), ()),
    ("spin_force_per_electron", "second_order"): (("force_second_order",), ()),
    ("current_density", "exact"): ((), ("velocity",)),
}


def select_observables(observables=None, approximations=None, paper_forms: bool = True, available=None):
    """The (observable, approximations) pairs to compute, checked: a static tuple, or None for everything.

    Args:
        observables: names from `OBSERVABLE_APPROXIMATIONS` (or `available`), or None for all.
        approximations: names from APPROXIMATIONS, or None for all.
        paper_forms: the model has the papers' approximations (`has_paper_forms`).
        available: {name: approximations} to choose from (default OBSERVABLE_APPROXIMATIONS).
    Returns: None when nothing is left out, else ((name, (approximation, ...)), ...) in table order.
    Raises: ValueError naming the parameter, the bad value and what is allowed, or when the
        choice leaves nothing to compute.
    """
    table = OBSERVABLE_APPROXIMATIONS if available is None else available
    if observables is None and approximations is None:
        return None
    names = tuple(table) if observables is None else _names("observables", observables, tuple(table))
    approx = APPROXIMATIONS if approximations is None else _names("approximations", approximations, APPROXIMATIONS)
    chosen = []
    for name in table:
        if name in names:
            have = tuple(a for a in table[name] if a in approx and (paper_forms or a == "exact"))
            if have:
                chosen.append((name, have))
    everything = tuple((n, tuple(a for a in table[n] if paper_forms or a == "exact")) for n in table)
    if tuple(chosen) == everything:
        return None  # the full set: the default program
    if not chosen:
        raise ValueError(
            f"observables = {observables!r} with approximations = {approximations!r} leave nothing to compute; allowed: "
            f"approximations defined for the observables ({', '.join(f'{n}: {list(table[n])}' for n in names)}"
            f"{'' if paper_forms else '; this model has exact only'})"
        )
    return tuple(chosen)


def _names(parameter, value, allowed):
    if isinstance(value, str):
        value = (value,)
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(f"{parameter} = {value!r} is not a sequence of names; allowed: names from {', '.join(allowed)}") from None
    bad = [v for v in value if v not in allowed]
    if bad or not value:
        raise ValueError(f"{parameter} = {value!r}: {repr(bad[0]) if bad else 'empty'} is not allowed; allowed: names from {', '.join(allowed)}")
    return value


def engine_parts(selection):
    """(sea parts, level parts) of `evolve_block` that `selection` needs (None: everything)."""
    if selection is None:
        return None
    from ._engine import LEVEL_PARTS, SEA_PARTS

    sea, levels = set(), set()
    for name, approximations in selection:
        for approx in approximations:
            need_sea, need_levels = _NEEDS.get((name, approx), ((), ()))
            sea.update(need_sea)
            levels.update(need_levels)
    return tuple(p for p in SEA_PARTS if p in sea), tuple(p for p in LEVEL_PARTS if p in levels)


def full_columns(model, rates, levels, parts):
    """The engine's selected columns placed in the full layout ((T, 10) rates, (T, 5) levels), NaN elsewhere."""
    if parts is None:
        return rates, levels
    from ._engine import LEVEL_PARTS, SEA_PARTS, PART_SIZES, sea_parts_of

    def spread(values, order, chosen, width):
        out = jnp.full((values.shape[0], width), jnp.nan, values.dtype)
        offset, start = 0, 0
        for part in order:
            size = PART_SIZES[part]
            if part in chosen:
                out = out.at[:, start : start + size].set(values[:, offset : offset + size])
                offset += size
            start += size
        return out

    return spread(rates, SEA_PARTS, sea_parts_of(model, parts[0]), 10), spread(levels, LEVEL_PARTS, parts[1], 5)


def assemble_observables(model, rates, levels, band_densities, force, shift, spin_equilibrium=None, selection=None) -> dict:
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
        selection: None (all), or `select_observables`' pairs: only those observables and
        approximations are returned (and the strong-exchange forms are evaluated only if asked for).
    """
    if selection is not None:
        wanted = dict(selection)
        strong_forms = any("strong_exchange" in a for a in wanted.values())
        full = _assemble(model, rates, levels, band_densities, force, shift, spin_equilibrium, strong_forms=strong_forms)
        return {name: {a: full[name][a] for a in wanted[name] if a in full[name]} for name in wanted if name in full}
    return _assemble(model, rates, levels, band_densities, force, shift, spin_equilibrium)


def _assemble(model, rates, levels, band_densities, force, shift, spin_equilibrium=None, strong_forms=True) -> dict:
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
    if strong_forms:
        strong = strong_exchange_response(model, band_densities, force, shift)
    else:  # not asked for: placeholders that the selection drops
        nan3 = jnp.full(spin_change.shape, jnp.nan, spin_change.dtype)
        strong = {"spin_rate": nan3, "field_like": nan3, "spin_force_density": nan3[:, :2], "current": nan3[:, :2]}
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

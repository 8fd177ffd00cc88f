"""The mesh route's static budget in fits, chosen on the host (`jaxsot.fit._mesh_flux` runs unchecked).

A fit's program holds no traced check (a host callback would keep JAX's persistent cache from
storing it), so the mesh's static budgets (triangles refined per level, the cut-triangle buffer)
are sized here before the program is built, at the points the fit may reach: the guess and every
corner of the parameter box. A point inside the box that still overflows gives NaN
(`mesh_fluxes`), and the fit names it (`mesh_overflow_at`).
"""

import jax
import jax.numpy as jnp
import numpy as onp

from .._core._model import with_magnetization
from .._core._params import replace_parameters
from .._fermi._mesh import MeshOptions
from ._mesh_flux import mesh_overflow


MESH_HEADROOM = 0.8
"""`size_mesh` takes a budget under which every sampled point fits in this share of it (25 % to spare
for the points between them)."""

MESH_DOUBLINGS = 6
"""`size_mesh` doubles the default budget at most this many times."""


def _mesh_models(spec, points, directions):
    """The spec's models at every (point, direction), stacked into one batch (leading axis)."""
    dtype = jnp.result_type(float)
    base = spec.model.astype(dtype)

    def at(point):  # as `_forward.general_model`
        return replace_parameters(base, **{name: jnp.asarray(point[name], dtype) for name in spec.names if name in point})

    models = [with_magnetization(at(point), jnp.asarray(direction, dtype)) for point in points for direction in directions]
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *models)


def mesh_overflow_at(spec, points, fermi_energy, bands, directions, budget=None) -> onp.ndarray:
    """(P,) bools: whether the mesh route at each point {name: value} overflows `budget` (default the
    spec's) for some direction of M (a refinement level or the cut-triangle buffer; host, concrete)."""
    budget = tuple(budget or spec.budget or MeshOptions().resolved_budget())
    batch = _mesh_models(spec, points, directions)
    flags = mesh_overflow(batch, jnp.asarray(fermi_energy, jnp.result_type(float)), tuple(bands), budget)
    return onp.asarray(flags).reshape(len(points), len(directions)).any(-1)


def size_mesh(spec, points, fermi_energy, bands, directions):
    """The spec with a mesh budget that holds, with room to spare, at every point {name: value} and direction.

    The fit's mesh runs without traced checks (`mesh_fluxes`), so its static budget is chosen here,
    on the host: the default, doubled until `MESH_HEADROOM` of it suffices at every sampled point (a
    fit samples the guess and every corner of its box). A spec on the ray route is returned as is.

    Args:
        spec: the `_forward.ModelSpec`.
        points: list of {name: value} dicts of the spec's parameters (missing names keep the model's).
        fermi_energy: E_F [eV].
        bands: occupied band signs.
        directions: directions of M (R, 3) to check at each point.

    Returns:
        The spec, with `budget` set when the route is the mesh.

    Raises:
        ValueError: when even the largest budget overflows at some point, naming it.
    """
    if spec.route != "mesh":
        return spec
    budget = MeshOptions().resolved_budget()
    for _ in range(MESH_DOUBLINGS + 1):
        probe = tuple(max(1, int(MESH_HEADROOM * b)) for b in budget)
        over = mesh_overflow_at(spec, points, fermi_energy, bands, directions, probe)
        if not over.any():
            return type(spec)(spec.model, spec.names, spec.route, budget)
        budget = tuple(2 * b for b in budget)
    point = points[int(onp.argmax(over))]
    raise ValueError(
        f"the mesh route's refinement budget still overflows at {show_values(spec, point)} (E_F = {float(fermi_energy):g} eV) "
        f"after {MESH_DOUBLINGS} doublings: the Fermi line there is too long or too fine for the mesh; allowed: "
        "parameter bounds (or values) away from it"
    )


def show_values(spec, point) -> str:
    """'(name = value, ...)' of the spec's parameters given in `point`."""
    return "(" + ", ".join(f"{n} = {float(point[n]):.6g}" for n in spec.names if n in point) + ")"


def box_points(values: dict, free, lower, upper) -> list:
    """The guess `values` and every corner of the box of the free parameters other than tau (which
    does not move the bands), as {name: value} dicts: the points a fit sizes its mesh budget at."""
    varied = [i for i, name in enumerate(free) if name != "tau"]
    points = [dict(values)]
    for corner in range(2 ** len(varied)):
        point = dict(values)
        for bit, i in enumerate(varied):
            point[free[i]] = upper[i] if (corner >> bit) & 1 else lower[i]
        points.append(point)
    return points


def overflow_sentence(spec, points, fermi_energy, bands, directions) -> str:
    """'' or a sentence naming the first point {name: value} where the spec's mesh budget overflows."""
    if spec.route != "mesh" or not points:
        return ""
    over = mesh_overflow_at(spec, points, fermi_energy, bands, directions)
    if not over.any():
        return ""
    point = points[int(onp.argmax(over))]
    return (
        f"the mesh route's refinement budget (sized at the guess and the corners of the bounds) overflows at "
        f"{show_values(spec, point)} inside the bounds (E_F = {float(fermi_energy):g} eV), where the loss is NaN; "
        "allowed: narrower bounds around that point, or bounds whose corners include it"
    )

"""The fit's Fermi-line fluxes on the mesh route, with a derivative that does not differentiate the mesh.

The mesh route (`jaxsot._fermi._mesh`) refines triangles level by level (nonzero selections, a scan
of extra levels with a cond); differentiating that program (reverse mode for L-BFGS, forward mode
for the Gauss-Newton Jacobian) made a program 5-6 times the forward's size, and a paper-unit fit
of a TI surface spent minutes compiling it (docs: Benchmarks). Here the derivative of each flux is
the transport theorem of a contour integral, evaluated on the same line nodes:

    F_j(p) = oint_{eps_s(k, p) = E_F} f(k, p) n_j dl,
    dF_j = oint [ (df/dp dp) n_j + (d_j f) v_n ] dl,   v_n = -(d eps_s/dp dp - dE_F)/|grad eps_s|,

(the contour moves along its normal by v_n; the flux through the thin strip between the old and the
new contour is the divergence theorem's d_j f v_n, and f need not be smooth inside the sea, e.g. at
a band touching). f = <sigma>_s gives A (3, 2), f = d_i eps_s gives sigma/tau (2, 2). The mesh
itself is computed once, without derivatives; the tangent is a sum over its line nodes of
pointwise derivatives (jvp in the model, gradients in k), linear in the tangents, so reverse mode
and jacfwd both work. The bands run through one `lax.map` of `mesh_band` (one copy of the mesh
program), and so do the points of a vmapped caller (the fit's directions of M, `_line_nodes`' batching
rule): under vmap the mesh's cond on whether an extra refinement level has anything to refine became
a select, so every point ran all 8 extra levels; mapped, each runs only the levels it needs.

A lattice model whose parameters move its `lattice_vectors` A (the square lattice's `a`) moves its
Brillouin zone too: at a fixed k the bands are then not periodic in the moved zone, and a Fermi line
that crosses the zone edge would gain a term from the moving edge. The theorem is therefore taken on
the fixed torus of reduced coordinates u, k = 2 pi A^-1 u: at fixed u, dk = X k with
X = -A^-1 dA, so every pointwise derivative gains grad_k(.) . X k, and the line element transforms
as d(n dl) = (tr X - X^T)(n dl). Second derivatives are not provided (the nodes are held fixed).

The mesh's budgets (triangles refined per level, the cut-triangle buffer) are static and unchecked
here (a traced check would be a host callback in every fit program): a point that exceeds them gives
NaN fluxes, never a wrong finite number (an exceeded refinement budget alone would drop triangles).
The callers size the budget on the host first (`_mesh_budget.size_mesh`, at every corner of a fit's
box) and name the point when a run still meets one (`mesh_overflow`).
"""

import functools

import jax
import jax.numpy as jnp

from .._bands._kernels import energy, spin
from .._fermi._mesh import MeshOptions, mesh_band
from ..constants import AREA_MEASURE, CARRIER_CHARGE, HBAR


def _line_nodes_of(model, fermi_energy, bands, budget=None):
    """Line nodes k (M, 2), normal*dl (M, 2), band sign (M,), dl (M,), |grad eps| (M,) of every band in
    `bands` (budget: the mesh's static refinement budget, None the default); NaN weights where a
    budget is exceeded (module docstring)."""
    mesh = MeshOptions()
    budget = mesh.resolved_budget() if budget is None else tuple(budget)
    dtype = jnp.result_type(fermi_energy, model.dtype)
    signs = jnp.asarray([float(s) for s in bands], dtype)

    def one(s):
        band = mesh_band(model, fermi_energy, s, mesh.cells, mesh.levels, budget, mesh.extra_levels)
        spoiled = jnp.where(band.overflow | band.cut_overflow | band.hidden, jnp.nan, 1.0).astype(band.line_dl.dtype)
        return band.line_k, band.line_normal_dl * spoiled, band.line_dl * spoiled, band.line_gradient

    # lax.map, not vmap: the extra levels' cond stays a cond for each band.
    k, normal_dl, dl, gradient = jax.lax.map(one, signs)
    sign = jnp.broadcast_to(signs[:, None], dl.shape)
    return k.reshape(-1, 2), normal_dl.reshape(-1, 2), sign.reshape(-1), dl.reshape(-1), gradient.reshape(-1)


@functools.lru_cache(maxsize=None)
def _mapped_line_nodes(bands, budget):
    """`_line_nodes_of` for static `bands`, batched by `lax.map` over the batch (never differentiated: the
    mesh is held fixed in `mesh_fluxes`' derivative)."""

    @jax.custom_batching.custom_vmap
    def nodes(model, fermi_energy):
        return _line_nodes_of(model, fermi_energy, bands, budget)

    @nodes.def_vmap
    def _batched(axis_size, in_batched, model, fermi_energy):
        model_batched, energy_batched = in_batched
        leaves, treedef = jax.tree_util.tree_flatten(model)
        flags = treedef.flatten_up_to(model_batched)
        mapped = [leaf for leaf, b in zip(leaves, flags) if b]
        energies = fermi_energy if energy_batched else jnp.broadcast_to(fermi_energy, (axis_size,))

        def point(xs):
            row, energy = xs
            row = iter(row)
            return nodes(treedef.unflatten([next(row) if b else leaf for leaf, b in zip(leaves, flags)]), energy)

        out = jax.lax.map(point, (mapped, energies))
        return out, jax.tree_util.tree_map(lambda _: True, out)

    return nodes


def _line_nodes(model, fermi_energy, bands, budget=None):
    """Line nodes k (M, 2), normal*dl (M, 2), band sign (M,), dl (M,), |grad eps| (M,) of every band in `bands`
    (under vmap: one point after the other, `_mapped_line_nodes`)."""
    return _mapped_line_nodes(tuple(bands), None if budget is None else tuple(budget))(model, fermi_energy)


def _fluxes(model, nodes):
    """(A (3, 2) [1/nm], sigma/tau (2, 2)) as sums over line nodes (as `line_response`)."""
    k, normal_dl, sign, dl, gradient = nodes
    safe_dl = jnp.where(dl > 0, dl, 1.0)
    spins = jnp.stack(jax.vmap(lambda kx, ky, s: spin(model, kx, ky, s))(k[:, 0], k[:, 1], sign), -1)
    flux = spins.T @ (normal_dl * AREA_MEASURE)
    conductance = jnp.einsum("n,ni,nj->ij", gradient / safe_dl * AREA_MEASURE, normal_dl, normal_dl) / HBAR**2
    return flux, CARRIER_CHARGE**2 * conductance


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def mesh_fluxes(model, fermi_energy, bands, budget=None):
    """(A (3, 2) [1/nm], sigma/tau (2, 2)) of the T = 0 sea of `bands` on the mesh route (module docstring).

    Args:
        model: any `TwoBandModel` at its M (its leaves may carry tangents).
        fermi_energy: E_F [eV], scalar (may carry a tangent).
        bands: static tuple of occupied band signs.
        budget: static tuple of triangles refined per mesh level (`MeshOptions.budget`), None: the default.

    Returns:
        (A, sigma/tau): spin flux (3, 2) [1/nm] and conductivity per tau (2, 2) [e^2/(eV fs^2)]; NaN
        where the budget or the cut-triangle buffer is exceeded.
    """
    return _fluxes(model, _line_nodes(model, fermi_energy, bands, budget))


@functools.partial(jax.jit, static_argnums=(2, 3))
def mesh_overflow(models, fermi_energy, bands, budget):
    """Whether the mesh of `bands` exceeds `budget` (a refinement level or the cut-triangle buffer), (B,) bools.

    Args:
        models: a batch of `TwoBandModel`s (leaves with a leading axis B, one model type), each at its M.
        fermi_energy: E_F [eV], scalar.
        bands: static tuple of occupied band signs.
        budget: static tuple of triangles refined per mesh level (`MeshOptions.budget`).

    Returns:
        (B,) bool, True where some band's mesh overflows.
    """
    mesh = MeshOptions()

    def one(model):
        flags = [mesh_band(model, fermi_energy, float(s), mesh.cells, mesh.levels, tuple(budget), mesh.extra_levels) for s in bands]
        return jnp.any(jnp.stack([f.overflow | f.cut_overflow for f in flags]))

    return jax.vmap(one)(models)


def _point(model, kx, ky, s):
    """(spin (3,), d_k spin (3, 2), eps, grad eps (2,), Hessian of eps (2, 2)) at one line node."""
    def spin_of(q):
        return jnp.stack(spin(model, q[0], q[1], s))

    def eps_of(q):
        return energy(model, q[0], q[1], s)

    q = jnp.stack([kx, ky])
    return spin_of(q), jax.jacfwd(spin_of)(q), jax.grad(eps_of)(q), jax.hessian(eps_of)(q)


@mesh_fluxes.defjvp
def _mesh_fluxes_jvp(bands, budget, primals, tangents):
    model, fermi_energy = primals
    model_dot, energy_dot = tangents
    nodes = jax.lax.stop_gradient(_line_nodes(model, fermi_energy, bands, budget))
    out = _fluxes(model, nodes)
    k, normal_dl, sign, dl, _ = nodes

    def moved(kx, ky, s):
        # d spin/dp dp, d eps/dp dp and d(grad eps)/dp dp at a fixed k: jvp in the model's leaves.
        def fields(m):
            q = jnp.stack([kx, ky])
            return jnp.stack(spin(m, kx, ky, s)), energy(m, kx, ky, s), jax.grad(lambda r: energy(m, r[0], r[1], s))(q)

        return jax.jvp(fields, (model,), (model_dot,))[1]

    spins, dspin, grad, hessian = jax.vmap(lambda kx, ky, s: _point(model, kx, ky, s))(k[:, 0], k[:, 1], sign)
    spin_dot, eps_dot, grad_dot = jax.vmap(moved)(k[:, 0], k[:, 1], sign)
    normal_dl_dot = jnp.zeros_like(normal_dl)
    if model.lattice_vectors is not None:  # the zone moves with A: derivatives at fixed reduced u (module docstring)
        lattice_dot = jax.jvp(lambda m: m.lattice_vectors, (model,), (model_dot,))[1]
        strain = -jnp.linalg.solve(model.lattice_vectors, lattice_dot)
        shift = k @ strain.T
        spin_dot = spin_dot + jnp.einsum("nij,nj->ni", dspin, shift)
        eps_dot = eps_dot + jnp.sum(grad * shift, -1)
        grad_dot = grad_dot + jnp.einsum("nij,nj->ni", hessian, shift)
        normal_dl_dot = normal_dl @ (jnp.trace(strain) * jnp.eye(2, dtype=k.dtype) - strain.T).T
    # Nodes of uncut triangles have dl = 0 (and zero normal*dl): no contribution, even where a
    # derivative there is not finite (a padded node at a band touching).
    cut = dl > 0

    def keep(x):
        return jnp.where(cut.reshape((-1,) + (1,) * (x.ndim - 1)), x, 0.0)

    spins, dspin, grad, hessian, spin_dot, eps_dot, grad_dot = map(keep, (spins, dspin, grad, hessian, spin_dot, eps_dot, grad_dot))
    norm = jnp.sqrt(jnp.sum(grad * grad, -1))
    speed = jnp.where(cut, -(eps_dot - energy_dot) / jnp.where(norm > 0, norm, 1.0), 0.0) * dl
    flux_dot = (spin_dot.T @ normal_dl + jnp.einsum("nij,n->ij", dspin, speed) + spins.T @ normal_dl_dot) * AREA_MEASURE
    conductance_dot = (grad_dot.T @ normal_dl + jnp.einsum("nij,n->ij", hessian, speed) + grad.T @ normal_dl_dot) * AREA_MEASURE / HBAR**2
    return out, (flux_dot, CARRIER_CHARGE**2 * conductance_dot)

"""The Rashba ferromagnet's Fermi-sea flux tensor A(M), interpolated in cos(theta) = M_z (the fits' fast route).

`contour_fluxes` gives the (3, 2) tensor A with S(sea shifted by Delta k) - S_eq = A Delta k and dS/dt = A k'
(`_fields.sot_field_vectors`); the harmonic Hall forward models need it at every field point's
magnetization, and at every continuation step of the every-order route: one Fermi-contour solve (per
occupied band) each time, plus its tangents in jax.jacfwd. This module replaces those solves by a
few per evaluation.

Symmetry. Turning k, the spin and M together about z leaves the Rashba ferromagnet's Hamiltonian
unchanged, so A is covariant: A(R M) = R A(M) R_2^T for every rotation R about z (R_2 its in-plane
2 x 2 block). With n = (M_x, M_y) and J the in-plane rotation by +90 degrees (J n = (-M_y, M_x)), every
covariant A is
    A_xy-block = a I + b J + c n n^T + d n (J n)^T,     A_z-row = e n^T + f (J n)^T,
with a, ..., f smooth functions of M_z alone (six functions for the six entries). At M = (s, 0, c)
(s = sin theta, c = cos theta) the entries give them back:
    a = A_yy,  b = A_yx,  c = (A_xx - A_yy)/s^2,  d = (A_xy + A_yx)/s^2,  e = A_zx/s,  f = A_zy/s.

Interpolation. The six functions are sampled at `nodes` Chebyshev points of the first kind in M_z
(none at the poles, where the divisions by s are singular), each a Fermi-contour solve at (s, 0, c),
and evaluated anywhere by their Chebyshev series (three-term recurrence: finite derivatives at the
poles too). The functions are analytic in M_z while the occupied bands do not change, so the error
falls geometrically with `nodes` (about a decade per 1.5 nodes for alpha = 0.05 eV nm, J = 1 eV,
E_F = 1.5 eV: 3e-9 at 16 nodes, 2e-13 at 24). The ray quadrature of `contour_fluxes` is covariant only
up to its own discretization error (rays at fixed angles; ~1e-8 relative at num = 16, ~1e-14 at 64),
which the check below includes.

Route selection (`polar_nodes_for`, on the host at concrete parameters): A at 64 probe nodes (and its
Chebyshev series) and, independently, the direct `contour_fluxes` at fixed check directions spread over
the sphere (poles, near-pole and random azimuths); the smallest node count of NODE_LADDER whose
interpolant reproduces the direct A at every check direction to `tolerance` (relative to max |A|) is
chosen, 0 (the direct route) when none does. Gradients follow the nodes' implicit-function gradients
and the series' derivative in M_z.
"""

import math

import jax
import jax.numpy as jnp
import numpy as onp

from .._core import check_count
from ._fields import rashba_model
from .._ensemble._fluxes import contour_fluxes

NODE_LADDER = (12, 16, 20, 24, 32, 40, 48, 64)
"""Node counts `polar_nodes_for` tries, smallest first."""

DEFAULT_TOLERANCE = 5e-10
"""Largest accepted max |A_interpolated - A_direct| / max |A_direct| at the check directions."""

_PROBE_NODES = 64


def check_polar_nodes(polar_nodes) -> int:
    """polar_nodes as an int: 0 (the direct route) or 4..128 Chebyshev nodes; ValueError otherwise."""
    polar_nodes = check_count("polar_nodes", polar_nodes, minimum=0, maximum=128)
    if 0 < polar_nodes < 4:
        raise ValueError(f"polar_nodes = {polar_nodes} is not allowed; allowed: 0 (the direct route) or 4 to 128 nodes")
    return polar_nodes


def chebyshev_nodes(nodes: int):
    """cos(theta) at the Chebyshev points of the first kind, cos(pi (k + 1/2)/nodes), k = 0..nodes-1 (NumPy)."""
    return onp.cos(math.pi * (onp.arange(nodes) + 0.5) / nodes)


def _series_matrix(nodes: int):
    """(nodes, nodes) matrix taking values at `chebyshev_nodes(nodes)` to Chebyshev coefficients (NumPy)."""
    k = onp.arange(nodes)
    t = onp.cos(onp.outer(k, math.pi * (k + 0.5) / nodes))  # t[j, i] = T_j(c_i)
    matrix = (2.0 / nodes) * t
    matrix[0] *= 0.5
    return matrix


def _node_directions(c):
    return onp.stack([onp.sqrt(1.0 - c**2), onp.zeros_like(c), c], -1)


def _functions(flux, s):
    """The six coefficient functions (..., 6) from A (..., 3, 2) at M = (s, 0, c) (module docstring)."""
    return jnp.stack([flux[..., 1, 1], flux[..., 1, 0], (flux[..., 0, 0] - flux[..., 1, 1]) / s**2,
                      (flux[..., 0, 1] + flux[..., 1, 0]) / s**2, flux[..., 2, 0] / s, flux[..., 2, 1] / s], -1)


def _assemble(g, m):
    """A (..., 3, 2) at unit magnetizations m (..., 3) from the six functions g (..., 6) at their M_z."""
    a, b, c, d, e, f = (g[..., i] for i in range(6))
    nx, ny = m[..., 0], m[..., 1]
    row_x = jnp.stack([a + c * nx * nx - d * nx * ny, -b + c * nx * ny + d * nx * nx], -1)
    row_y = jnp.stack([b + c * ny * nx - d * ny * ny, a + c * ny * ny + d * ny * nx], -1)
    row_z = jnp.stack([e * nx - f * ny, e * ny + f * nx], -1)
    return jnp.stack([row_x, row_y, row_z], -2)


def _fluxes(alpha, j_ex, mass_ratio, fermi_energy, bands, num, m, checked=True):
    """The direct A (K, 3, 2) at unit magnetizations m (K, 3): one `contour_fluxes` per direction."""
    return jax.vmap(lambda mi: contour_fluxes(rashba_model(alpha, j_ex, mi, mass_ratio, checked), fermi_energy, tuple(bands),
                                              num)[0])(m)


def flux_table(alpha, j_ex, mass_ratio, fermi_energy, *, bands: tuple, num: int, nodes: int, checked: bool = True):
    """Chebyshev coefficients (nodes, 6) of A's six coefficient functions of M_z (traceable, differentiable).

    Args:
        alpha: Rashba coupling [eV nm] (scalar).
        j_ex: exchange coupling J [eV] (scalar).
        mass_ratio: m*/m_e (scalar).
        fermi_energy: E_F [eV] (scalar).
        bands: static tuple of occupied bands.
        num: static rays per Fermi contour.
        nodes: static number of Chebyshev nodes (>= 2).
        checked: static; False: without the model's traced range checks (`_fields.rashba_model`), for callers
            that verified the values on the host.

    Returns:
        (nodes, 6) coefficients for `flux_at`.
    """
    dtype = jnp.result_type(alpha, float)
    c = chebyshev_nodes(nodes)
    flux = _fluxes(alpha, j_ex, mass_ratio, fermi_energy, bands, num, jnp.asarray(_node_directions(c), dtype), checked)
    g = _functions(flux, jnp.asarray(onp.sqrt(1.0 - c**2), dtype))
    return jnp.asarray(_series_matrix(nodes), dtype) @ g


def switched_table(alpha, j_ex, mass_ratio, fermi_energy, *, bands: tuple, num: int, nodes: int, checked: bool = True,
                   direct=None):
    """`flux_table`, or with `direct` (a traced bool) the table under `jax.lax.cond`: zeros when direct is true (the
    node solves are skipped at run time). One compiled program then serves the interpolated and the direct route
    (`switched_flux`), the route chosen by data instead of by a static argument (the fits' compile time)."""
    make = lambda: flux_table(alpha, j_ex, mass_ratio, fermi_energy, bands=bands, num=num, nodes=nodes, checked=checked)
    if direct is None:
        return make()
    dtype = jnp.result_type(alpha, float)
    return jax.lax.cond(direct, lambda: jnp.zeros((nodes, 6), dtype), make)


def switched_flux(table, m, direct, alpha, j_ex, mass_ratio, fermi_energy, *, bands: tuple, num: int, checked: bool = True):
    """A (3, 2) at the unit magnetization m (3,): `flux_at(table, m)`, or with `direct` (a traced bool, unbatched) under
    `jax.lax.cond` the direct `contour_fluxes` solve at m where direct is true (as `_fields.sot_field_vectors` with
    flux=None) and the interpolant elsewhere; only the chosen branch runs."""
    if direct is None:
        return flux_at(table, m)
    return jax.lax.cond(direct, lambda: contour_fluxes(rashba_model(alpha, j_ex, m, mass_ratio, checked), fermi_energy, tuple(bands),
                                                       num)[0],
                        lambda: flux_at(table, m))


def flux_at(table, m):
    """A (3, 2) at the unit magnetization m (3,) from a `flux_table` (traceable, differentiable in both)."""
    return _assemble(_clenshaw(table, m[2]), m)


def _clenshaw(table, z):
    """sum_k table[k] T_k(z) (6,) by Clenshaw's recurrence in a lax.scan (a small graph to compile inside the
    every-order route's Newton steps, whatever the node count)."""

    def step(carry, row):
        b1, b2 = carry
        return (row + 2.0 * z * b1 - b2, b1), None

    zero = jnp.zeros_like(table[0])
    (b1, b2), _ = jax.lax.scan(step, (zero, zero), table[:0:-1])
    return table[0] + z * b1 - b2


def check_directions():
    """Fixed directions (40, 3) where `polar_nodes_for` compares with the direct route: the poles, near-pole,
    the equator and random azimuths (seeded: the same every call)."""
    rng = onp.random.default_rng(20261205)
    m = rng.normal(size=(32, 3))
    fixed = onp.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [1e-3, 2e-3, 1.0], [-2e-3, 1e-3, -1.0],
                       [0.6, 0.8, 0.0], [-1.0, 0.0, 0.0], [0.3, -0.2, 0.93], [0.1, 0.7, -0.7]])
    m = onp.concatenate([fixed, m])
    return m / onp.linalg.norm(m, axis=-1, keepdims=True)


def _probe(alpha, j_ex, mass_ratio, fermi_energy, bands, num, dtype):
    rashba_model(alpha, j_ex, (0.0, 0.0, 1.0), mass_ratio)  # the model's checks, on the host (concrete values)
    c = chebyshev_nodes(_PROBE_NODES)
    m = onp.concatenate([_node_directions(c), check_directions()])
    args = [jnp.asarray(x, dtype) for x in (alpha, j_ex, mass_ratio, fermi_energy)]
    flux = onp.asarray(_probe_fluxes(*args, jnp.asarray(m, dtype), tuple(bands), int(num)), float)
    return flux[:_PROBE_NODES], flux[_PROBE_NODES:]


# Only `_probe` calls it, after the model's checks on the host: no traced checks (host callbacks), so JAX's
# persistent cache keeps the program.
_probe_fluxes = jax.jit(lambda alpha, j_ex, mass_ratio, ef, m, bands, num: _fluxes(alpha, j_ex, mass_ratio, ef, bands, num, m,
                                                                                   checked=False),
                        static_argnums=(5, 6))


def interpolation_errors(alpha, j_ex, mass_ratio, fermi_energy, *, bands: tuple, num: int, ladder=NODE_LADDER) -> dict:
    """{nodes: max |A_interpolated - A_direct| / max |A_direct|} over `check_directions` (host, concrete).

    The interpolant of each node count is built from the 64-node probe series (its values at the smaller
    node sets); the direct A at the check directions is an independent `contour_fluxes` solve at each.
    """
    dtype = jnp.result_type(float)
    probe, direct = _probe(alpha, j_ex, mass_ratio, fermi_energy, bands, num, dtype)
    c64 = chebyshev_nodes(_PROBE_NODES)
    series = _series_matrix(_PROBE_NODES) @ onp.asarray(_functions(probe, onp.sqrt(1.0 - c64**2)))
    m = check_directions()
    scale = float(onp.max(onp.abs(direct)))
    out = {}
    for nodes in ladder:
        c = chebyshev_nodes(nodes)
        values = onp.polynomial.chebyshev.chebval(c, series).T  # (nodes, 6)
        table = _series_matrix(nodes) @ values
        g = onp.polynomial.chebyshev.chebval(m[:, 2], table).T
        flux = onp.asarray(_assemble(g, m))
        out[nodes] = float(onp.max(onp.abs(flux - direct))) / scale if scale > 0.0 else math.inf
    return out


def polar_nodes_for(points, fermi_energy, *, bands: tuple, num: int, tolerance: float = DEFAULT_TOLERANCE):
    """(nodes, error): the smallest NODE_LADDER count whose interpolated A matches the direct one to `tolerance`
    at every parameter point (dicts with alpha, j_ex, mass_ratio), or (0, error of the largest count): the
    direct route. Host function (concrete values); float32 JAX never reaches the tolerance (direct route).
    """
    worst = {n: 0.0 for n in NODE_LADDER}
    for p in points:
        errors = interpolation_errors(float(p["alpha"]), float(p["j_ex"]), float(p.get("mass_ratio", 1.0)), float(fermi_energy),
                                      bands=bands, num=num)
        worst = {n: max(worst[n], e) if math.isfinite(e) else math.inf for n, e in errors.items()}
    for nodes in NODE_LADDER:
        if worst[nodes] <= tolerance:
            return nodes, worst[nodes]
    return 0, worst[NODE_LADDER[-1]]

"""The mesh route's fluxes in fits (`jaxsot.fit._mesh_flux`): values as the mesh route's `line_response`, and
derivatives by the transport theorem against the ray route's implicit-function derivatives (an independent route)
where both routes hold (a TI surface with M near z: the Dirac gap keeps the rays valid), and against central
finite differences on a square lattice whose Fermi lines cross the moving zone edge."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot._core._model import with_magnetization
from jaxsot._ensemble._transport import line_response
from jaxsot._fermi._mesh import MeshOptions, mesh_nodes
from jaxsot.fit._forward import ModelSpec, general_model, general_response

# Slow tier: mesh-route fit derivatives (compile-heavy).
pytestmark = pytest.mark.slow

jax.config.update("jax_enable_x64", True)

MODEL = jaxsot.TISurfaceFerromagnet(0.33, 0.05, np.array([0.0, 0.0, 1.0]), kinetic=0.05)
SPEC = ModelSpec(MODEL, ("hbar_v", "j_ex", "kinetic"), "mesh")
FERMI_ENERGY, BANDS, THETA = 0.2, (-1, 1), 0.3
DIRECTION = np.array([math.sin(THETA) * math.cos(0.7), math.sin(THETA) * math.sin(0.7), math.cos(THETA)])
X0 = jnp.asarray([0.33, 0.05, 0.05])


def _model(x):
    return with_magnetization(general_model(SPEC, dict(zip(SPEC.names, x)), jnp.float64), jnp.asarray(DIRECTION))


def _flat(flux, conductance):
    return jnp.concatenate([flux.ravel(), conductance.ravel()])


def test_mesh_fluxes_equal_the_mesh_routes_line_response():
    def line(x):
        model = _model(x)
        _, contour, densities, extras, _ = mesh_nodes(model, jnp.asarray(FERMI_ENERGY), BANDS, MeshOptions(), checked=False)
        columns = [line_response(model, contour, extras, densities, jnp.eye(2)[j], jnp.zeros(2)) for j in range(2)]
        return _flat(jnp.stack([c["spin_shift"] for c in columns], -1), columns[0]["conductivity_per_tau"])

    expected = jax.jit(line)(X0)
    got = jax.jit(lambda x: _flat(*general_response(_model(x), jnp.asarray(FERMI_ENERGY), BANDS, 64, "mesh")))(X0)
    assert float(jnp.max(jnp.abs(got - expected))) <= 1e-13 * float(jnp.max(jnp.abs(expected)))


def test_mesh_flux_derivatives_match_the_ray_routes_in_forward_and_reverse_mode():
    def response(x, route):
        return _flat(*general_response(_model(x), jnp.asarray(FERMI_ENERGY), BANDS, 128, route))

    rays = jax.jit(jax.jacfwd(lambda x: response(x, "rays")))(X0)
    mesh = jax.jit(jax.jacfwd(lambda x: response(x, "mesh")))(X0)
    scale = jnp.max(jnp.abs(rays), 0)
    # The two routes' values agree to ~3e-8 of the largest; their derivatives to a few 1e-6 (the mesh's O(h^4)).
    assert float(jnp.max(jnp.abs(mesh - rays) / scale)) < 2e-5
    weights = jnp.arange(1.0, 11.0)
    reverse = jax.jit(jax.grad(lambda x: response(x, "mesh") @ weights))(X0)
    assert float(jnp.max(jnp.abs(reverse - weights @ mesh))) <= 1e-12 * float(jnp.max(jnp.abs(reverse)))


def test_lattice_flux_derivatives_match_finite_differences_when_the_fermi_line_crosses_the_zone_edge():
    # A square lattice at E_F = 5 t: the pockets sit around the zone corner, so the Fermi lines cross
    # the zone edge, which moves with the lattice constant a (the derivative in a needs the moving
    # zone; t, lam, j_ex and E_F do not move it). Reference: central finite differences of the values.
    lattice = jaxsot.SquareLatticeRashbaFerromagnet(1.0, 0.4, 0.3, 0.2, np.array([0.6, 0.3, 0.74]) / math.sqrt(0.9976))
    spec = ModelSpec(lattice, ("t", "a", "lam", "j_ex"), "mesh")
    fermi_energy = 5.0
    bands = jaxsot.occupied_bands(lattice.astype(jnp.float64), fermi_energy)

    def response(x):
        model = general_model(spec, dict(zip(spec.names, x[:4])), jnp.float64)
        return _flat(*general_response(model, x[4], bands, 64, "mesh"))

    x0 = jnp.asarray([1.0, 0.4, 0.3, 0.2, fermi_energy])
    value = jax.jit(response)
    jacobian = np.asarray(jax.jit(jax.jacfwd(response))(x0))
    for i in range(5):
        step = 1e-4 * float(x0[i])
        central = np.asarray(value(x0.at[i].add(step)) - value(x0.at[i].add(-step))) / (2 * step)
        scale = max(np.max(np.abs(central)), np.max(np.abs(jacobian[:, i])))
        assert np.max(np.abs(jacobian[:, i] - central)) <= 1e-5 * scale, (i, jacobian[:, i], central)
    # In two dimensions the flux per area of a lattice scaled by a changes as A ~ 1/a at fixed t:
    # exact dA/da = -A/a on the spin flux, and sigma/tau is independent of a.
    flux = np.asarray(value(x0))[:6]
    np.testing.assert_allclose(jacobian[:6, 1], -flux / 0.4, rtol=1e-5, atol=1e-5 * np.max(np.abs(flux)) / 0.4)

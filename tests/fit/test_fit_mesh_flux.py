"""The mesh route's fluxes in fits (`jaxsot.fit._mesh_flux`): values as the mesh route's `line_response`, and
derivatives by the transport theorem against the ray route's implicit-function derivatives (an independent route)
where both routes hold (a TI surface with M near z: the Dirac gap keeps the rays valid)."""

import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxsot
from jaxsot._core._model import with_magnetization
from jaxsot._ensemble._transport import line_response
from jaxsot._fermi._mesh import MeshOptions, mesh_nodes
from jaxsot.fit._forward import ModelSpec, general_model, general_response

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

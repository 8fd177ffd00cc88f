"""The cut-triangle buffer of the mesh route's finest level (`jaxsot/_fermi/_mesh_cut.py`): only the
triangles cut by the Fermi line take the cut-triangle rule, gathered into a fixed share of the padded
triangles. The gathered result must be the full treatment's to rounding (under jit, grad and vmap), and
more cut triangles than the buffer holds must never give a silent wrong number.

References: the full treatment (every padded triangle through the cut-triangle rule, the code before
the buffer) and root finding on k_x slices (scipy brentq + quad, `mesh_models.lattice_density`).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mesh_models import lattice, lattice_density  # noqa: F401 (lattice: fixture)

from jaxsot._fermi import _mesh, _mesh_concrete, _mesh_cut

# Slow tier: ~145 CPU-s cold (the full cut-triangle treatment compiled under jit(vmap(value_and_grad))).
pytestmark = pytest.mark.slow

# Square lattice at half filling and around it: the longest Fermi lines of the lattice model.
ENERGIES = (-0.5, 0.0, 0.5)
MESH = _mesh.MeshOptions(cells=8, levels=2, budget=(128, 256, 512), extra_levels=1)


def _densities(model, fermi_energy, checked=True):
    return _mesh.mesh_nodes(model, fermi_energy, (-1, 1), MESH, checked=checked)[2]


def _traced(model):
    """(densities (3, 2), d n_- / d E_F (3,)) through jit(vmap) over ENERGIES, traced afresh: one
    program for both (value_and_grad), so each treatment compiles once."""

    def value_and_slope(e):
        densities = _densities(model, e)
        return densities[0], densities

    (_, values), grads = jax.jit(jax.vmap(jax.value_and_grad(value_and_slope, has_aux=True)))(jnp.asarray(ENERGIES))
    return np.asarray(values), np.asarray(grads)


@pytest.fixture(scope="module")
def gathered(lattice):
    """`_traced` at the shipped CUT_SHARE, computed once for the tests below (a compile of its own)."""
    return _traced(lattice)


def test_gathered_cut_triangles_give_the_full_treatment(lattice, gathered, monkeypatch):
    budget = MESH.resolved_budget()
    padded = 4 * budget[MESH.levels - 1]
    capacity = _mesh_cut.cut_capacity(padded)
    assert capacity < padded
    band = jax.jit(_mesh.mesh_band, static_argnums=(2, 3, 4, 5, 6))
    for e in ENERGIES:
        finest = band(lattice, jnp.asarray(e), -1.0, MESH.cells, MESH.levels, budget[: MESH.levels], 0)
        # Many cut triangles: the buffer is well used, not trivially empty.
        assert 0.3 * capacity < int(finest.cut) <= capacity
        assert not bool(finest.cut_overflow)
    # The density is the independent check that both are right, not only equal.
    for (n_minus, _), e in zip(gathered[0], ENERGIES):
        assert n_minus == pytest.approx(lattice_density(e, -1), rel=1e-5)
    monkeypatch.setattr(_mesh_cut, "CUT_SHARE", 1.0)  # every padded triangle takes a slot: the full treatment
    assert _mesh_cut.cut_capacity(padded) == padded
    full = _traced(lattice)
    for got, want in zip(gathered, full):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
        assert np.all(np.isfinite(got)) and np.all(want != 0)


def test_cut_buffer_overflow_is_never_a_silent_wrong_number(lattice, gathered, monkeypatch):
    fermi_energy = jnp.asarray(0.0)
    expected = gathered[0][ENERGIES.index(0.0)]  # the same mesh at the shipped share
    monkeypatch.setattr(_mesh_cut, "CUT_SHARE", 0.05)  # 51 slots for ~200 cut triangles
    # Traced and checked (the public functions): a clear error.
    with pytest.raises(Exception, match="more triangles are cut by the Fermi line than the cut-triangle buffer holds"):
        jax.block_until_ready(jax.jit(lambda e: _densities(lattice, e))(fermi_energy))
    # Unchecked: the stats say so and the densities are NaN, not a finite wrong number.
    _, _, densities, _, stats = jax.jit(lambda e: _mesh.mesh_nodes(lattice, e, (-1, 1), MESH, checked=False))(fermi_energy)
    assert bool(stats["cut_overflow"]) and not bool(stats["overflow"])
    assert np.all(np.isnan(np.asarray(densities)))
    # Concrete: the budget (which sizes the buffer) doubles until the cut triangles fit; same result.
    _mesh_concrete.mesh_nodes_jit.clear_cache()  # a program compiled before the patch would hold the larger buffer
    *out, used = _mesh_concrete.concrete_mesh_nodes(lattice, fermi_energy, (-1, 1), MESH)
    assert used.resolved_budget()[0] >= 4 * MESH.resolved_budget()[0]
    assert not bool(out[4]["cut_overflow"])
    np.testing.assert_allclose(np.asarray(out[2]), expected, rtol=1e-12, atol=0)


def test_without_main_levels_the_coarse_grid_takes_no_buffer(lattice):
    # levels = 0: the finest level is the coarse grid, which no budget sizes (doubling the budget
    # could never make a buffer fit): every triangle takes the cut-triangle rule, as before the buffer.
    band = jax.jit(_mesh.mesh_band, static_argnums=(2, 3, 4, 5, 6))(lattice, jnp.asarray(-1.2), -1.0, 4, 0, (), 0)
    assert int(band.cut) > _mesh_cut.cut_capacity(2 * 4 * 4)  # a buffer of the usual share would overflow
    assert not bool(band.cut_overflow)
    *out, used = _mesh_concrete.concrete_mesh_nodes(lattice, jnp.asarray(-1.2), (-1, 1), _mesh.MeshOptions(4, 0, extra_levels=0))
    assert used.resolved_budget() == ()
    assert float(out[2][0]) == pytest.approx(lattice_density(-1.2, -1), rel=2e-3)

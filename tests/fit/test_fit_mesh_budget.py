"""The mesh route's budget in paper-unit fits of lattice models (`jaxsot.fit._mesh_budget`): a Fermi line
longer than the default budget holds is sized on the host, never dropped or turned into NaN silently.

Reference: a tight-binding model whose only hoppings reach the second neighbour along x and y (lattice
constant a) is the square-lattice Rashba ferromagnet of lattice constant 2a folded into the zone of a:
H(k) is that model's at the same k, and the zone of a holds four copies of that model's zone, so A and
sigma/tau (sums over the zone) are 4 times those of `SquareLatticeRashbaFerromagnet(a = 2a)` at E_F + 4t
(its eps0 carries + 4t): the torques are 4 times and rho_xx(M)/rho_xx(M0) is equal. The folded lines are four times as long as the square lattice's
on the same mesh: near E_F = 0 (the van Hove energy) they exceed the default refinement budget.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
import jaxsot.fit as jf
from jaxsot._fermi._mesh import MeshOptions
from jaxsot.fit._forward import make_spec, sample_directions
from jaxsot.fit._mesh_budget import mesh_overflow_at, size_mesh

# Slow tier: fits through the mesh route (compile-heavy).
pytestmark = pytest.mark.slow

jax.config.update("jax_enable_x64", True)

T, A, LAM, J = 1.0, 0.4, 0.3, 0.2
COLUMNS = ("rho_ratio", "T_DL_x", "T_DL_y", "T_DL_z", "T_FL_x", "T_FL_y", "T_FL_z")
M0 = np.array([0.0, 0.0, 1.0])


def _folded(j_ex=J):
    """H(k) = -2t (cos 2kx a + cos 2ky a) + lam (sin 2ky a, -sin 2kx a, 0) - J M (hoppings at +-2a x, +-2a y)."""
    sx = np.array([[0, 1], [1, 0]], complex)
    sy = np.array([[0, -1j], [1j, 0]])
    hoppings = {}
    for cell, pauli, sign in (((2, 0), sy, 1.0), ((0, 2), sx, -1.0)):
        h = -T * np.eye(2) + 0.5j * LAM * sign * pauli
        hoppings[cell] = h
        hoppings[(-cell[0], -cell[1])] = h.conj().T
    return jaxsot.TightBindingModel.from_hoppings(A * np.eye(2), hoppings, j_ex, M0)


def test_folded_lattice_predictions_need_more_than_the_default_budget_and_match_the_square_lattice():
    fermi_energy = -1.0
    curve = jf.Curve(COLUMNS, np.zeros((3, 7)), phi=np.array([0.3, 1.2, 2.0]), theta=1.0, efield=1.0e-4)
    folded = _folded()
    directions = sample_directions([curve])
    spec, bands = make_spec(folded, fermi_energy, directions)
    assert spec.route == "mesh"
    # The premise: the default budget overflows at these values (the fit's unchecked mesh dropped triangles).
    assert mesh_overflow_at(spec, [{"j_ex": J}], fermi_energy, bands, directions, MeshOptions().resolved_budget()).all()
    got = np.asarray(jf.predict(curve, {"tau": 10.0}, fermi_energy, model=folded))
    square = jaxsot.SquareLatticeRashbaFerromagnet(T, 2 * A, LAM, J, M0)
    expected = np.array(jf.predict(curve, {"tau": 10.0}, fermi_energy + 4 * T, model=square))
    expected[:, 1:] *= 4.0
    assert np.all(np.isfinite(got))
    # rho_ratio against itself, the torques against the largest torque (T_DL_x is 1e-2 of it).
    error = np.abs(got - expected)
    assert np.max(error[:, 0]) < 1e-6
    assert np.max(error[:, 1:]) < 1e-6 * np.max(np.abs(expected[:, 1:])), np.max(error[:, 1:], 0)


def test_the_sized_budget_leaves_room_at_every_sampled_point():
    fermi_energy = 0.0
    folded = _folded()
    directions = np.array([[math.sin(1.0), 0.0, math.cos(1.0)]])
    spec, bands = make_spec(folded, fermi_energy, directions)
    points = [{"j_ex": 0.1}, {"j_ex": 0.3}]
    sized = size_mesh(spec, points, fermi_energy, bands, directions)
    default = MeshOptions().resolved_budget()
    assert sized.budget is not None and sized.budget != default
    assert not mesh_overflow_at(sized, points, fermi_energy, bands, directions).any()
    # 25 % to spare: four fifths of the budget still hold; half of it (the previous doubling) did not.
    four_fifths = tuple(int(0.8 * b) for b in sized.budget)
    assert not mesh_overflow_at(sized, points, fermi_energy, bands, directions, four_fifths).any()
    half = tuple(int(0.4 * b) for b in sized.budget)
    assert mesh_overflow_at(sized, points, fermi_energy, bands, directions, half).any()


def test_the_fit_samples_the_corners_and_names_a_point_that_still_overflows():
    from jaxsot.fit._mesh_budget import box_points, overflow_sentence

    points = box_points({"j_ex": 0.2, "tau": 10.0}, ("j_ex", "tau"), [0.1, 1.0], [0.3, 100.0])
    assert [p["j_ex"] for p in points] == [0.2, 0.1, 0.3] and all(p["tau"] == 10.0 for p in points)
    directions = np.array([[math.sin(1.0), 0.0, math.cos(1.0)]])
    spec, bands = make_spec(_folded(), 0.0, directions)  # default budget: overflows at E_F = 0
    sentence = overflow_sentence(spec, [{"j_ex": 0.15, "tau": 10.0}], 0.0, bands, directions)
    assert "j_ex = 0.15" in sentence and "narrower bounds" in sentence

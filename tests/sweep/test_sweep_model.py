"""`jaxsot.sweep_model`: sweeps of any model's named parameters, against the independent NumPy spin
response of tests/model_reference.py (eigh spins and finite differences over a polar sea grid).

Under a step field E switched on at t = 0 with relaxation time tau, every state's k is shifted by
Delta k(t) = -(E/hbar) tau (1 - exp(-t/tau)) (q = -e), and to first order in E the spin density
change is A Delta k(t), A the reference's sea response (3 x 2) [1/nm]. A TI surface (continuum, ray
route) and the square-lattice Rashba ferromagnet (lattice, mesh route) are each swept over one of
their parameters at two points; every point is compared with the reference built for its values.
"""

import importlib.util
import math
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot

# Slow tier: mesh-route and TI sweeps compiled (~26 CPU-s cold); sweep/test_sweep.py keeps the library sweep in the fast tier.
pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("model_reference", pathlib.Path(__file__).parents[1] / "model_reference.py")
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

M = np.array([math.sin(1.0) * math.cos(0.5), math.sin(1.0) * math.sin(0.5), math.cos(1.0)])
M_TI = np.array([math.sin(0.3) * math.cos(0.5), math.sin(0.3) * math.sin(0.5), math.cos(0.3)])
EFIELD = np.array([1.0e-4, 0.4e-4])  # V/nm: small, so the first-order response is the reference
TAU = 10.0
TIMES = jnp.asarray([0.0, 5.0, 15.0, 40.0])


def _expected(h, fermi_energy):
    a = ref.spin_response(h, fermi_energy)
    t = np.asarray(TIMES)[:, None]
    shift = -(EFIELD / ref.HBAR) * TAU * (1.0 - np.exp(-t / TAU))
    return shift @ a.T  # (T, 3)


def _check(out, references):
    got = out["spin_density_change_exact"]
    assert got.shape == (len(references), TIMES.shape[0], 3)
    for i, expected in enumerate(references):
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got[i], expected, rtol=0, atol=5e-3 * scale)


def test_sweep_model_ti_surface_over_j_ex_matches_reference_route_per_point():
    # J = 0.12: a gap of 0.23 eV, rays; J = 0.02: Omega nearly touches zero at the cone, the mesh.
    model = jaxsot.TISurfaceFerromagnet(0.33, 0.05, M_TI, kinetic=0.5).astype(jnp.float64)
    values = [0.12, 0.02]
    out = jaxsot.sweep_model(
        model, 0.3, jaxsot.StepDrive(jnp.asarray(EFIELD)), TIMES, {"j_ex": values}, tau=TAU,
        num_phi=64, num_r=12, observables=["spin_density_change"], approximations=["exact"],
    )
    references = [_expected(ref.ti_hamiltonian({"hbar_v": 0.33, "j_ex": j, "kinetic": 0.5}, M_TI), 0.3) for j in values]
    _check(out, references)
    assert out["route"].tolist() == [jaxsot.sweep.ROUTE_CODES["rays"], jaxsot.sweep.ROUTE_CODES["mesh"]]
    np.testing.assert_array_equal(out["j_ex"], values)


def test_sweep_model_square_lattice_over_lam_and_fermi_energy_matches_reference():
    model = jaxsot.SquareLatticeRashbaFerromagnet(0.5, 0.4, 0.1, 0.2, M).astype(jnp.float64)
    points = {"lam": [0.1, 0.15], "fermi_energy": [0.3, 0.5]}
    out = jaxsot.sweep_model(
        model, 0.0, jaxsot.StepDrive(jnp.asarray(EFIELD)), TIMES, points, tau=TAU,
        observables=["spin_density_change"], approximations=["exact"],
    )
    references = [
        _expected(ref.lattice_hamiltonian({"t": 0.5, "a": 0.4, "lam": lam, "j_ex": 0.2}, M), e_f)
        for lam, e_f in zip(points["lam"], points["fermi_energy"])
    ]
    _check(out, references)
    assert out["route"].tolist() == [jaxsot.sweep.ROUTE_CODES["mesh"]] * 2


def test_sweep_model_refuses_unknown_name_listing_allowed():
    model = jaxsot.TISurfaceFerromagnet(0.33, 0.05, M, kinetic=0.08)
    with pytest.raises(ValueError, match=r"unknown name\(s\) \['alpha'\].*allowed: hbar_v, j_ex, kinetic, fermi_energy"):
        jaxsot.sweep_model(model, 0.2, jaxsot.StepDrive(jnp.asarray(EFIELD)), TIMES, {"alpha": [0.1]})


def test_sweep_model_indices_evaluate_a_chunk_only():
    model = jaxsot.TISurfaceFerromagnet(0.33, 0.05, M, kinetic=0.08).astype(jnp.float64)
    drive = jaxsot.StepDrive(jnp.asarray(EFIELD))
    kwargs = dict(tau=TAU, num_phi=16, num_r=4, observables=["spin_density_change"], approximations=["exact"])
    full = jaxsot.sweep_model(model, 0.2, drive, TIMES, {"j_ex": [0.05, 0.07, 0.09]}, **kwargs)
    part = jaxsot.sweep_model(model, 0.2, drive, TIMES, {"j_ex": [0.05, 0.07, 0.09]}, indices=[2], **kwargs)
    assert part["index"].tolist() == [2]
    np.testing.assert_allclose(part["spin_density_change_exact"][0], full["spin_density_change_exact"][2], rtol=1e-12)
    with pytest.raises(ValueError, match=r"indices .* allowed: a 1-D integer array of point indices in \[0, 3\)"):
        jaxsot.sweep_model(model, 0.2, drive, TIMES, {"j_ex": [0.05, 0.07, 0.09]}, indices=[3], **kwargs)

"""Effective fields, efficiencies and angular torque coefficients of non-Rashba models (jaxsot.ModelTorque).

References: the Fermi-sea spin response of tests/model_reference.py (NumPy eigh area integrals), turned
into fields with B_FL = (J/(M_s d)) P_perp delta S and B_DL = (hbar/(2 M_s d)) M x dS/dt, and the
efficiency xi = (2e/hbar) M_s t_F B/j written in SI here.
"""

import importlib.util
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot

# Slow tier: brute-force NumPy sea references of non-Rashba models (compile-heavy).
pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("model_reference", pathlib.Path(__file__).parents[1] / "model_reference.py")
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)

HBAR = _reference.HBAR
MU0 = 1.25663706212e-6
MU_B_J = 9.2740100783e-24
MU_B_EV = 5.7883818060e-5
E_C = 1.602176634e-19
HBAR_SI = 1.054571817e-34
RHO0 = 2.0e-7  # ohm m
TI = {"hbar_v": 0.3, "j_ex": 0.1, "kinetic": 0.05}
TI_FERMI = 0.3  # both bands; the lower sea is bounded by the k^2 term


@pytest.fixture(scope="module")
def ti_setup():
    model = jaxsot.TISurfaceFerromagnet(TI["hbar_v"], TI["j_ex"], [0.0, 0.0, 1.0], kinetic=TI["kinetic"])
    torque = jaxsot.ModelTorque(model, TI_FERMI, jnp.asarray(_reference.EFIELD), _reference.TAU, num=64)
    magnet = jaxsot.Magnet(1.2, 1.5, 0.05)
    return torque, magnet


def test_ti_surface_fields_and_efficiencies_match_the_numpy_sea(ti_setup):
    torque, magnet = ti_setup
    directions = np.asarray([[0.0, 0.0, 1.0], [0.6, -0.48, 0.64], [0.8, 0.6, 0.0]])
    result = jaxsot.effective_fields(magnet, torque, jnp.asarray(directions), RHO0)
    moment = 1.2 / MU0 * 1.5e-9 / MU_B_J * 1e-18 * MU_B_EV  # M_s d [eV/(T nm^2)]
    e = _reference.EFIELD
    current = np.linalg.norm(e) * 1e9 / RHO0
    x = e / np.linalg.norm(e)
    y = np.array([-x[1], x[0], 0.0])
    for i, m in enumerate(directions):
        _, t2, spin_shift = _reference.reference_torques(_reference.ti_hamiltonian, TI, TI_FERMI, m)
        b_fl = TI["j_ex"] / moment * (spin_shift - m * (m @ spin_shift))
        b_dl = HBAR / (2.0 * moment) * np.cross(m, -t2)
        np.testing.assert_allclose(np.asarray(result.exact.field_like[i]), b_fl, rtol=0, atol=1e-7 * np.abs(b_fl).max())
        np.testing.assert_allclose(np.asarray(result.exact.damping_like[i]), b_dl, rtol=0, atol=1e-7 * np.abs(b_dl).max())
        scalar_dl = b_dl @ np.cross(m, y) / (1.0 - (m @ y) ** 2)
        xi = 2.0 * E_C / HBAR_SI * (1.2 / MU0) * 1.5e-9 * scalar_dl / current
        np.testing.assert_allclose(float(result.exact.damping_like_efficiency[i]), xi, rtol=1e-6)
    # Exact results only: the strong-exchange entries are NaN, and asking for them says why.
    assert np.all(np.isnan(np.asarray(result.strong_exchange.field_like)))
    with pytest.raises(ValueError, match="closed form of the Rashba ferromagnet"):
        jaxsot.effective_fields(magnet, torque, jnp.asarray(directions), RHO0, methods=("strong_exchange",))


def test_model_route_reproduces_the_rashba_angular_coefficients():
    rashba = jaxsot.RashbaFerromagnet(0.05, 0.5, [0.0, 0.0, 1.0])
    efield = jnp.asarray([1e-3, 0.0])
    magnet = jaxsot.Magnet(1.0, 1.0, 0.05)
    general = jaxsot.torque_coefficients(magnet, jaxsot.ModelTorque(rashba, 1.0, efield, 10.0, num=32), RHO0, order=1, num_theta=4, num_phi=8)
    specific = jaxsot.torque_coefficients(
        magnet, jaxsot.SpinOrbitTorque(0.05, 0.5, 1.0, efield, 10.0, method="exact", num=32), RHO0, order=1, num_theta=4, num_phi=8
    )
    for a, b in ((general.field_like, specific.field_like), (general.damping_like, specific.damping_like),
                 (general.damping_like_azimuthal, specific.damping_like_azimuthal)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-9 * float(jnp.max(jnp.abs(b))))
    with pytest.raises(ValueError, match="closed form of the Rashba ferromagnet"):
        jaxsot.torque_coefficients(magnet, jaxsot.ModelTorque(rashba, 1.0, efield, 10.0, num=32), RHO0, method="strong_exchange")

"""The energy-transfer physics check (paper eq. 15-17) passes with the right torques and fails with wrong ones.

Independent route: the extra Joule heat (rho(M) - rho0) j^2 from the Boltzmann resistivity of the
exact bands, against the magnet's spin-force loss from the LLG torques. The integration ledger of
`simulate_llg` closes for any torque; this check must not.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot

MAGNETIZATIONS = np.array([[0.6, 0.3, 0.74], [0.9, 0.1, 0.3], [0.3, -0.5, 0.8], [-0.7, 0.2, -0.4]])


@pytest.fixture(scope="module")
def setup():
    magnet = jaxsot.Magnet(1.0, 1.0, 0.02, demag=(0.0, 0.0, 0.0))
    efield = jnp.asarray([2e-4, 0.0])  # V/nm: 2e5 V/m
    torque = jaxsot.SpinOrbitTorque(0.02, 1.0, 1.5, efield, 30.0, method="exact", num=64)  # alpha k_F/J = 0.17
    m = MAGNETIZATIONS / np.linalg.norm(MAGNETIZATIONS, axis=1, keepdims=True)
    rates = jaxsot.llg_diagnostics(magnet, torque, jnp.asarray(m))
    return magnet, torque, m, rates


def test_right_torques_transfer_kappa_np_times_the_extra_joule_heat(setup):
    magnet, torque, m, _ = setup
    check = jaxsot.energy_transfer_check(magnet, torque, m)
    # Leading order in alpha k_F/J = 0.17: corrections ~ (alpha k_F/J)^2 ~ 3 %.
    assert abs(check["ratio"] - 1.0) < 0.01
    np.testing.assert_allclose(check["magnet_loss"], check["joule_route"], rtol=0.01)
    assert np.all(check["magnet_loss"] < 0.0)  # the magnet loses energy through the spin force


@pytest.mark.parametrize("scale_dl,scale_fl", [(-3.0, 1.0), (1.0, 0.5), (2.0, 1.0)])
def test_wrong_torques_fail_the_check(setup, scale_dl, scale_fl):
    magnet, torque, m, rates = setup
    check = jaxsot.energy_transfer_check(
        magnet, torque, m,
        damping_like=scale_dl * rates["damping_like"],
        field_like_field=scale_fl * rates["field_like_field"],
    )
    assert abs(check["ratio"] - scale_dl * scale_fl) < 0.02 * abs(scale_dl * scale_fl)
    assert abs(check["ratio"] - 1.0) > 0.4


def test_ledger_closes_even_for_a_wrong_torque_so_it_is_only_an_accuracy_figure():
    """E_M(t) - E_M(0) = int (P_G + P_DL) dt holds for whatever torque the LLG integrates (here two currents, one 3x and reversed)."""
    magnet = jaxsot.Magnet(1.0, 1.0, 0.02, demag=(0.0, 0.0, 0.0))
    for efield in (jnp.asarray([2e-4, 0.0]), jnp.asarray([-6e-4, 0.0])):  # the second is 3x and reversed
        torque = jaxsot.SpinOrbitTorque(0.02, 1.0, 1.5, efield, 30.0, method="strong_exchange")
        # num_save = 2001: the compiled configuration of the single-magnet runs in test_llg.py (t_end, rtol, atol are traced).
        result = jaxsot.simulate_llg(magnet, torque, jnp.asarray([0.6, 0.3, 0.74]), 2e5, num_save=2001, rtol=1e-9, atol=1e-11)
        rates = jaxsot.llg_diagnostics(magnet, torque, result.m)
        energy = np.asarray(rates["magnetic_energy"])
        work = np.asarray(result.work)
        closure = np.max(np.abs(energy - energy[0] - work[:, :3].sum(1))) / np.max(np.abs(work[:, 0]))
        assert closure < 1e-6

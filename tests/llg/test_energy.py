"""The energy-transfer physics check (paper eq. 15-17) passes with the right torques and fails with wrong ones.

Independent route: the extra Joule heat (rho(M) - rho0) j^2 from the Boltzmann resistivity of the
exact bands, against the magnet's spin-force loss from the LLG torques. The integration ledger of
`simulate_llg` closes for any torque; this check must not.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot

# Slow tier: LLG runs with planted torques (~107 s wall cold); llg/test_llg.py keeps the LLG core in the fast tier.
pytestmark = pytest.mark.slow

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
    # Leading order in alpha k_F/J = 0.17: corrections ~ (alpha k_F/J)^2 ~ 3 % (measured 0.2 %).
    assert abs(check["ratio"] - 1.0) < 0.01
    np.testing.assert_allclose(check["magnet_loss"], check["joule_route"], rtol=0.01)
    assert np.all(check["magnet_loss"] < 0.0)  # the magnet loses energy through the spin force
    # Per torque (measured 1.0069 and 0.9911), within the physics tolerance 2 (alpha k_F/J)^2 (both bands
    # occupied), k_F written out here; the measured coefficients of (alpha k_F/J)^2 are 0.26 and 0.34.
    k_f = ref_lower_radius(0.02, 1.0, 1.5)
    assert check["tolerance"] == pytest.approx(2 * (0.02 * k_f / 1.0) ** 2, rel=1e-10)
    assert check["passed"]
    assert 0.2 < (check["damping_like_ratio"] - 1.0) / (0.02 * k_f) ** 2 < 0.3
    assert -0.4 < (check["field_like_ratio"] - 1.0) / (0.02 * k_f) ** 2 < -0.3
    # The product ratio is their product up to the variation of n_p with M over the samples (measured 1e-6).
    assert check["ratio"] == pytest.approx(check["damping_like_ratio"] * check["field_like_ratio"], rel=1e-5)


def ref_lower_radius(alpha, j_ex, fermi_energy):
    """Lower-band Fermi radius at M || z: brentq of c k^2 - sqrt(alpha^2 k^2 + J^2) = E_F."""
    from scipy.optimize import brentq

    c = 0.0380998212
    return brentq(lambda k: c * k * k - np.sqrt(alpha**2 * k * k + j_ex**2) - fermi_energy, 0.0, 100.0, xtol=1e-14)


@pytest.fixture
def planted_torques(monkeypatch):
    """Plant wrong torques in the LLG's torque source (`electron_response`), not in the check's arguments."""
    import jax

    from jaxsot._llg import _torque

    original = _torque.electron_response

    def plant(scale_dl, scale_fl):
        def wrong(torque, m):
            out = dict(original(torque, m))
            out["damping_like"] = scale_dl * out["damping_like"]
            out["field_like"] = scale_fl * out["field_like"]
            out["spin_shift"] = scale_fl * out["spin_shift"]  # B_fl = J delta S/(n_mu mu_B)
            return out

        monkeypatch.setattr(_torque, "electron_response", wrong)
        jax.clear_caches()  # llg_diagnostics is jitted: retrace with the planted source

    yield plant
    monkeypatch.undo()
    jax.clear_caches()


@pytest.mark.parametrize("scale_dl,scale_fl", [(2.0, 0.5), (-3.0, 1.0), (1.0, 0.5), (1.0, 1.1), (0.9, 1.0)])
def test_wrong_torques_fail_the_check(setup, planted_torques, scale_dl, scale_fl):
    magnet, torque, m, _ = setup
    planted_torques(scale_dl, scale_fl)
    rates = jaxsot.llg_diagnostics(magnet, torque, jnp.asarray(m))
    np.testing.assert_allclose(rates["damping_like"], scale_dl * np.asarray(setup[3]["damping_like"]), rtol=1e-12)
    check = jaxsot.energy_transfer_check(magnet, torque, m)
    assert not check["passed"]
    # Each relation sees its own torque: measured 1.0069 (DL) and 0.9911 (FL) with the right torques.
    assert abs(check["damping_like_ratio"] / 1.0069 - scale_dl) < 1e-3 * abs(scale_dl)
    assert abs(check["field_like_ratio"] / 0.9911 - scale_fl) < 1e-3 * abs(scale_fl)
    if (scale_dl, scale_fl) == (2.0, 0.5):
        assert abs(check["ratio"] - 1.0) < 0.01  # the product ratio alone passes this pair


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


def test_traced_inputs_are_refused_clearly(setup):
    magnet, torque, m, _ = setup
    with pytest.raises(ValueError, match="traced inputs"):
        jax.jit(lambda mm: jaxsot.energy_transfer_check(magnet, torque, mm)["ratio"])(jnp.asarray(m))

"""Custom ensemble observables (`jaxsot.fermi_sea_sum`) against independent references.

References: brentq/trapezoid densities (conftest), the M || z closed form of the equilibrium spin
density, and a NumPy sum of the eigenvector spin over the rigidly shifted sea with the closed-form
shift of a step field with relaxation.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import kernels

AREA_MEASURE = 1.0 / (2.0 * math.pi) ** 2


def test_density_of_every_occupied_band(general, ref):
    out = jaxsot.fermi_sea_sum(general.model, ref.EF_BOTH, lambda m, kx, ky, s, fx, fy: jnp.ones_like(kx), num_phi=64, num_r=8)
    expected = sum(ref.sea_density(general, ref.EF_BOTH, band) for band in (-1, 1))
    assert float(out) == pytest.approx(expected, rel=1e-9)


def test_equilibrium_spin_density_for_m_along_z(along_z, ref):
    """S_z = sum_s (-s) (J/alpha^2)(sqrt(alpha^2 k_s^2 + J^2) - J)/(2 pi): spin_z = -s J/Omega integrated in closed form."""

    def spin_and_band_z(m, kx, ky, s, fx, fy):
        sx, sy, sz = kernels.spin(m, kx, ky, s)
        return {"spin": jnp.stack([sx, sy, sz]), "upper_only": jnp.where(s > 0, sz, 0.0)}

    out = jaxsot.fermi_sea_sum(along_z.model, ref.EF_BOTH, spin_and_band_z, num_phi=32, num_r=16)
    alpha, j_ex = along_z.alpha, along_z.j_ex
    per_band = {
        s: -s * (j_ex / alpha**2) * (math.sqrt(alpha**2 * ref.circular_fermi_radius(along_z, ref.EF_BOTH, s) ** 2 + j_ex**2) - j_ex)
        / (2.0 * math.pi)
        for s in (-1, 1)
    }
    np.testing.assert_allclose(np.asarray(out["spin"]), [0.0, 0.0, per_band[-1] + per_band[1]], rtol=1e-10, atol=1e-14)
    assert float(out["upper_only"]) == pytest.approx(per_band[1], rel=1e-10)


def test_driven_sea_sum_equals_a_numpy_sum_over_the_shifted_sea(general, ref):
    efield = np.array([2e-3, -1e-3])  # V/nm
    tau = 8.0
    times = np.linspace(0.0, 24.0, 7)
    out = jaxsot.fermi_sea_sum(
        general.model, ref.EF_BOTH, lambda m, kx, ky, s, fx, fy: jnp.stack(kernels.spin(m, kx, ky, s)),
        drive=jaxsot.StepDrive(jnp.asarray(efield)), times=jnp.asarray(times), tau=tau, num_phi=32, num_r=8, substeps=8,
    )
    # hbar dDelta k/dt = qE - hbar Delta k/tau from Delta k(0) = 0, q = -e.
    shifts = (ref.CHARGE * efield * tau / ref.HBAR)[None, :] * (1.0 - np.exp(-times / tau))[:, None]
    expected = np.zeros((len(times), 3))
    for band in (-1, 1):
        k, area = (np.asarray(x) for x in jaxsot.fermi_sea_nodes(general.model, ref.EF_BOTH, band, 32, 8))
        for i, shift in enumerate(shifts):
            spins = np.array([ref.eig_spin(general, q + shift, band) for q in k])
            expected[i] += (spins * area[:, None]).sum(0) * AREA_MEASURE
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


def test_refuses_bad_inputs(general, ref):
    with pytest.raises(ValueError, match="fn"):
        jaxsot.fermi_sea_sum(general.model, ref.EF_BOTH, "spin")
    with pytest.raises(ValueError, match="times"):
        jaxsot.fermi_sea_sum(general.model, ref.EF_BOTH, lambda *a: a[1], drive=jaxsot.StepDrive(jnp.zeros(2)))

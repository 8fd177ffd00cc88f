"""A switching event in a batch where some trajectories never switch (regression: the event root
find used to raise "root not contained in [lower, upper]" for the lanes without an event)."""

import jax.numpy as jnp
import numpy as onp

import jaxsot
import pytest

# Slow tier: a batch of LLG runs with switch events (compile-heavy).
pytestmark = pytest.mark.slow


def test_switch_event_without_stop_rate_over_a_mixed_batch():
    magnet = jaxsot.Magnet(1.0, 1.0, 0.1, anisotropy_field=0.05, easy_axis=(0, 1, 0))
    currents = jnp.asarray([[4e-5, 0.0], [1e-5, 0.0], [3e-5, 0.0]])  # V/nm
    # Easy-axis (Stoner-Wohlfarth) reversal needs a field-like field |B_fl| > B_K = 0.05 T.
    fields = onp.array(
        [float(jaxsot.strong_exchange_coefficients(magnet, jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, c, 28.0))["field_like_field"][1]) for c in currents]
    )
    expected = onp.abs(fields) > 0.05
    assert expected.tolist() == [True, False, True]
    m0 = jnp.asarray([0.05, 1.0, 0.02])
    kwargs = dict(num_save=11, switch_axis=(0, 1, 0), switch_threshold=-0.5, ledger=False)
    batch = jaxsot.simulate_llg(magnet, jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, currents, 28.0), m0, 5.0e6, **kwargs)
    assert onp.asarray(batch.success).all()
    assert onp.asarray(batch.switched).tolist() == expected.tolist()
    m_final = onp.asarray(batch.m_final)
    t_final = onp.asarray(batch.t_final)
    # Switched lanes stop on the crossing M_y = -0.5; the others run to the end without crossing it.
    onp.testing.assert_allclose(m_final[expected, 1], -0.5, atol=1e-6)
    assert (t_final[expected] < 5.0e6).all() and (t_final[~expected] == 5.0e6).all()
    assert (m_final[~expected, 1] > -0.5).all()
    # The stronger current switches sooner.
    assert t_final[0] < t_final[2]

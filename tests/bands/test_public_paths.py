"""The per-state functions on each of their paths: eager (checked for the band touching), inside a
caller's jit (behind a fusion boundary on the CPU), under vmap and grad; and the one band-touching
warning shared with the quantum layer.

References: the closed forms of the NumPy reference namespace (conftest.py) and central finite
differences of them; nothing here is computed by the code under test.
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot._bands._touching import DEGENERACY_THRESHOLD, in_plane_tolerance

EFIELD = np.array([2e-3, -7e-4])  # V/nm


def _closed_forms(ref, p, k, band, efield):
    """energy, velocity, spin, F_so of the NumPy reference for states k (..., 2)."""
    return (
        ref.closed_energy(p, k, band),
        ref.closed_velocity(p, k, band),
        ref.closed_spin(p, k, band),
        ref.closed_spin_force(p, k, band, efield),
    )


def _public(model, k, band, efield):
    return (
        jaxsot.band_energy(model, k, band),
        jaxsot.band_velocity(model, k, band),
        jaxsot.band_spin(model, k, band),
        jaxsot.spin_force(model, k, band, efield),
    )


@pytest.mark.parametrize("band", [-1, 1])
def test_inside_jit_and_vmap_the_values_are_the_closed_forms(general, ref, random_k, band):
    expected = _closed_forms(ref, general, random_k, band, EFIELD)
    jitted = jax.jit(lambda m, k, e: _public(m, k, band, e))(general.model, random_k, EFIELD)
    mapped = jax.vmap(lambda q: _public(general.model, q, band, EFIELD))(jnp.asarray(random_k))
    # vmap over models as well: the fusion boundary's predicate is then unbatched.
    two = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), general.model)
    per_model = jax.vmap(lambda m: _public(m, random_k, band, EFIELD))(two)
    for name, out in (("jit", jitted), ("vmap over k", mapped)):
        for value, reference in zip(out, expected):
            np.testing.assert_allclose(np.asarray(value), reference, rtol=1e-12, atol=1e-14 * np.abs(reference).max(), err_msg=name)
    for value, reference in zip(per_model, expected):
        np.testing.assert_allclose(np.asarray(value), np.broadcast_to(reference, (2,) + reference.shape), rtol=1e-12, atol=1e-14 * np.abs(reference).max())


def test_summed_inside_jit_over_many_states(general, ref):
    # The benchmark's workload at test size: four outputs summed in the caller's jit (the sums sit
    # outside the fusion boundary) against the NumPy closed forms summed in float64.
    k = np.random.default_rng(11).uniform(-3.0, 3.0, (3000, 2))
    sums = jax.jit(lambda m, k: [x.sum(0) for x in _public(m, k, -1, EFIELD)])(general.model, k)
    for value, reference in zip(sums, _closed_forms(ref, general, k, -1, EFIELD)):
        np.testing.assert_allclose(np.asarray(value), reference.sum(0), rtol=1e-11)


def test_jit_keeps_float32(general, random_k):
    out = jax.jit(lambda k, e: _public(general.model, k, -1, e))(random_k.astype(np.float32), EFIELD.astype(np.float32))
    assert {x.dtype for x in out} == {jnp.dtype(jnp.float32)}
    strong = jax.jit(lambda e: jaxsot.spin_force_strong_exchange(general.model, e))(EFIELD.astype(np.float32))
    assert strong.dtype == jnp.float32


def test_gradient_with_respect_to_the_model_matches_finite_differences(general, ref, random_k):
    def total(alpha):
        model = jaxsot.RashbaFerromagnet(alpha, general.j_ex, general.m, general.mass_ratio)
        return jnp.sum(jaxsot.spin_force(model, random_k, -1, EFIELD) ** 2) + jnp.sum(jaxsot.band_velocity(model, random_k, -1))

    def reference(alpha):
        p = ref.make_case("fd", alpha, general.j_ex, general.m, general.mass_ratio)
        return np.sum(ref.closed_spin_force(p, random_k, -1, EFIELD) ** 2) + np.sum(ref.closed_velocity(p, random_k, -1))

    step = 1e-6
    expected = (reference(general.alpha + step) - reference(general.alpha - step)) / (2 * step)
    assert float(jax.grad(total)(general.alpha)) == pytest.approx(expected, rel=1e-6)


def test_gradient_with_respect_to_k_is_hbar_times_the_velocity(general, ref, random_k):
    gradient = jax.vmap(jax.grad(lambda q: jaxsot.band_energy(general.model, q, 1)))(jnp.asarray(random_k))
    np.testing.assert_allclose(np.asarray(gradient), ref.HBAR * ref.closed_velocity(general, random_k, 1), rtol=1e-12)


def test_strong_exchange_forms_broadcast_over_fields(general, ref):
    # (3, 2) fields at once: eq. 13 against F = s eta (I - w w^T) f, f = qE, w = z x M; eq. 14
    # against one field at a time.
    fields = np.random.default_rng(12).uniform(-1e-3, 1e-3, (3, 2))
    eta = general.mass * general.alpha**2 / (ref.HBAR**2 * general.j_ex)
    w = np.array([-general.m[1], general.m[0]])
    f = ref.CHARGE * fields
    for band in (-1, 1):
        force = np.asarray(jaxsot.spin_force_strong_exchange(general.model, fields, band))
        np.testing.assert_allclose(force, band * eta * (f - np.outer(f @ w, w)), rtol=1e-13)
    torque = np.asarray(jaxsot.damping_torque_strong_exchange(general.model, fields, 1))
    for i in range(3):
        np.testing.assert_allclose(torque[i], np.asarray(jaxsot.damping_torque_strong_exchange(general.model, fields[i], 1)), rtol=1e-15)


# ------------------------------------------------------------------------------------------------
# The band-touching warning.


def _messages(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def test_regular_states_do_not_warn(general, random_k):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _public(general.model, random_k, -1, EFIELD)
        jaxsot.damping_torque(general.model, random_k, 1, EFIELD)


def test_one_warning_for_the_bands_and_the_quantum_layer(in_plane):
    point = np.asarray(jaxsot.degeneracy_point(in_plane.model))
    bands = _messages(lambda: jaxsot.band_spin(in_plane.model, np.stack([point, point + 1.0]), -1))
    quantum = _messages(lambda: jaxsot.exact_spin_trajectory(in_plane.model, point, -1, EFIELD, np.linspace(0.0, 1.0, 3)))
    assert len(bands) == 1 and len(quantum) == 1
    for message, what in ((bands[0], "band_spin"), (quantum[0], "exact_spin_trajectory")):
        assert message.startswith(f"{what}: 1 state(s) with Omega < {DEGENERACY_THRESHOLD:g} J, at or near the band touching point k*")
    k_star = in_plane.j_ex / in_plane.alpha * np.array([-in_plane.m[1], in_plane.m[0]])
    assert f"[{k_star[0]:.6g}, {k_star[1]:.6g}]" in bands[0]


def test_float32_in_plane_magnetization_is_recognized(in_plane):
    # cos(pi/2) in float32 is -4.4e-8: an absolute |M_z| <= 1e-12 test would miss the touching point.
    theta = np.float32(0.5 * math.pi)
    model = jaxsot.RashbaFerromagnet.from_angles(np.float32(in_plane.alpha), np.float32(in_plane.j_ex), theta, np.float32(0.3))
    assert model.magnetization.dtype == jnp.float32 and 1e-8 < abs(float(model.magnetization[2])) < in_plane_tolerance(jnp.float32)
    assert in_plane_tolerance(jnp.float64) < 1e-15
    k_star = (in_plane.j_ex / in_plane.alpha * np.array([-in_plane.m[1], in_plane.m[0]])).astype(np.float32)
    messages = _messages(lambda: jaxsot.band_velocity(model, k_star, -1))
    assert len(messages) == 1 and "band touching point k*" in messages[0] and "closest approach" not in messages[0]
    # A tilted M (M_z = 1e-4) has no touching point; the closest approach is still reported.
    tilted = jaxsot.RashbaFerromagnet.from_angles(in_plane.alpha, in_plane.j_ex, 0.5 * math.pi - 1e-4, 0.3)
    messages = _messages(lambda: jaxsot.band_velocity(tilted, k_star.astype(np.float64), -1))
    assert len(messages) == 1 and "closest approach" in messages[0] and f"{in_plane.j_ex * 1e-4:.3g} eV" in messages[0]


def test_non_finite_inputs_are_refused_and_zero_exchange_is_reported(general):
    # NaN/inf states or fields are refused up front, naming the entry (not a NaN result with a warning).
    with pytest.raises(ValueError, match=r"efield\[0\] = nan is not finite"):
        jaxsot.spin_force(general.model, np.array([[1.0, 2.0], [0.5, 0.1]]), -1, np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"k\[0, 0\] = inf is not finite"):
        jaxsot.band_spin(general.model, np.array([[np.inf, 0.0], [0.5, 0.1]]), -1)
    # J = 0: the threshold DEGENERACY_THRESHOLD * J is 0, but Omega = alpha |k| = 0 at k = 0 is still reported.
    no_exchange = jaxsot.RashbaFerromagnet(0.05, 0.0, [1.0, 0.0, 0.0])
    messages = _messages(lambda: jaxsot.band_velocity(no_exchange, np.zeros((3, 2)), -1))
    assert len(messages) == 1 and messages[0].startswith("band_velocity: 3 state(s)")


def test_a_single_state_against_a_batch_of_fields_is_checked_per_field(in_plane):
    point = np.asarray(jaxsot.degeneracy_point(in_plane.model))
    fields = np.random.default_rng(13).uniform(-1e-3, 1e-3, (4, 2))
    messages = _messages(lambda: jaxsot.damping_torque(in_plane.model, point, -1, fields))
    assert len(messages) == 1 and messages[0].startswith("damping_torque: 4 state(s)")


def test_no_warning_and_no_error_under_tracing(in_plane):
    point = jnp.asarray(jaxsot.degeneracy_point(in_plane.model))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jax.jit(lambda k: jaxsot.spin_force(in_plane.model, k, -1, EFIELD))(point)


def test_the_traced_check_of_k_copies_no_state(general):
    # The run-time check of a traced k rides on a scalar that the kernel multiplies into k: the
    # compiled program holds no copy of an array with a dimension of N (a check returning k out of
    # its conditional made XLA copy every state, ~1.3x slower under jit), and still refuses.
    n = 1237  # a size no other array of the program has
    k = jnp.asarray(np.random.default_rng(5).uniform(-3.0, 3.0, (n, 2)))

    def four(q):
        return sum(jnp.sum(x) for x in _public(general.model, q, -1, EFIELD))

    hlo = jax.jit(four).lower(k).compile().as_text()
    copies = [line for line in hlo.splitlines() if " copy(" in line and str(n) in line.split("copy(")[0]]
    assert copies == [], copies
    for bad in (np.nan, 1e200):
        with pytest.raises(Exception, match="k is not finite or has a component with"):
            jax.block_until_ready(jax.jit(four)(k.at[7, 1].set(bad)))
    with pytest.raises(Exception, match="k is not finite or has a component with"):
        jax.block_until_ready(jax.vmap(lambda q: jaxsot.band_energy(general.model, q, 1))(k.at[3, 0].set(np.inf)))

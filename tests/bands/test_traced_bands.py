"""Band occupancy under tracing: a clear error without `bands`, exact gradients with it.

Regression for a silent failure: under jax.grad the occupancy check was skipped and both bands
were assumed occupied, which gave NaN or wrong gradients when the upper band is empty.
References: central finite differences of the same functions on concrete values.

The gradients run as jax.jit(jax.grad(f)): the same tracing of the model (the occupancy is not
visible, `bands` decides), one compiled program instead of an eager grad's hundreds of op-by-op
compilations (the simulate case: 13 -> 5 CPU-s cold). Eager jax.grad of these functions, with
traced inputs, is checked in core/test_transformations.py; the refusal below stays eager.
"""

import jax
import jax.numpy as jnp
import pytest

import jaxsot

EFIELD = jnp.array([1e-4, 0.0])


def model_at(alpha):
    return jaxsot.RashbaFerromagnet.from_angles(alpha, 1.0, 1.0, 0.5)


def central_difference(function, x, step=1e-6):
    return (function(x + step) - function(x - step)) / (2 * step)


def test_occupied_bands_refuses_to_guess_under_tracing():
    with pytest.raises(ValueError, match="bands"):
        jax.grad(lambda a: jaxsot.ensemble_damping_torque(model_at(a), 0.5, EFIELD)[1])(0.05)


def test_given_bands_are_checked_against_the_model():
    with pytest.raises(ValueError, match=r"does not match the occupied bands \(-1,\)"):
        jaxsot.ensemble_damping_torque(model_at(0.05), 0.5, EFIELD, bands=(-1, 1))
    with pytest.raises(ValueError, match="band"):
        jaxsot.occupied_bands(model_at(0.05), 0.5, bands=(0,))


@pytest.mark.parametrize("fermi_energy,bands", [(0.5, (-1,)), (1.5, (-1, 1))])
def test_gradient_of_ensemble_torque_matches_finite_differences(fermi_energy, bands):
    def torque(alpha):
        return jaxsot.ensemble_damping_torque(model_at(alpha), fermi_energy, EFIELD, 128, bands=bands)[1]

    gradient = jax.jit(jax.grad(torque))(0.05)
    reference = central_difference(lambda a: jaxsot.ensemble_damping_torque(model_at(a), fermi_energy, EFIELD, 128)[1], 0.05)
    assert jnp.isfinite(gradient)
    assert gradient == pytest.approx(float(reference), rel=1e-6)


@pytest.mark.slow  # a gradient through simulate compiled
def test_gradient_through_simulate_with_only_the_lower_band():
    times = jnp.linspace(0.0, 20.0, 11)

    def torque(alpha, bands=None):
        result = jaxsot.simulate(
            model_at(alpha), 0.5, jaxsot.StepDrive(EFIELD), times, tau=5.0, num_phi=16, num_r=4, bands=bands
        )
        return result.observables["damping_torque"]["exact"][3, 1]

    gradient = jax.jit(jax.grad(lambda a: torque(a, (-1,))))(0.05)
    reference = central_difference(torque, 0.05)
    assert gradient == pytest.approx(float(reference), rel=1e-6)


@pytest.mark.slow  # a traced gradient compiled
def test_gradient_of_amr_ratio_with_only_the_lower_band():
    def ratio(alpha, bands=None):
        model = jaxsot.RashbaFerromagnet.from_angles(alpha, 1.0, jnp.pi / 2, 0.3)
        return jaxsot.amr_ratio(model, 0.5, num=128, bands=bands)

    gradient = jax.jit(jax.grad(lambda a: ratio(a, (-1,))))(0.05)
    reference = central_difference(ratio, 0.05)
    assert jnp.isfinite(gradient)
    assert gradient == pytest.approx(float(reference), rel=1e-5)

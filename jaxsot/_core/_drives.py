"""Electric-field drives E(t) [V/nm] for the time evolution (docs: Theory > Ensembles and dynamics)."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float
from ._checks import check_finite, check_real_scalar



def _amplitude(amplitude):
    amplitude = jnp.asarray(check_finite("amplitude", amplitude))  # traced: with its run-time check
    if amplitude.shape != (2,):
        raise ValueError(f"amplitude has shape {amplitude.shape}; allowed: (2,) in-plane field [V/nm]")
    return amplitude


class StepDrive(eqx.Module):
    """E(t) = amplitude for t >= 0 (switched on at t = 0).

    Args:
        amplitude: in-plane field after the switch-on, shape (2,) [V/nm].
    """

    amplitude: Float[Array, "2"]

    def __init__(self, amplitude):
        self.amplitude = _amplitude(amplitude)

    def __call__(self, t):
        return self.amplitude * jnp.asarray(t >= 0).astype(self.amplitude.dtype)


class RampDrive(eqx.Module):
    """Smooth switch-on E(t) = amplitude sin^2(pi t / (2 ramp_time)) for 0 <= t < ramp_time, then amplitude.

    E and dE/dt are continuous.

    Args:
        amplitude: in-plane field after the ramp, shape (2,) [V/nm].
        ramp_time: duration of the ramp [fs], > 0.
    """

    amplitude: Float[Array, "2"]
    ramp_time: Float[Array, ""]

    def __init__(self, amplitude, ramp_time):
        ramp_time = check_real_scalar("ramp_time", ramp_time, low=0.0, low_inclusive=False, unit="fs")
        self.amplitude = _amplitude(amplitude)
        self.ramp_time = jnp.asarray(ramp_time)

    def __call__(self, t):
        phase = jnp.clip(t / self.ramp_time, 0.0, 1.0)
        return self.amplitude * jnp.sin(0.5 * jnp.pi * phase) ** 2


class SinusoidDrive(eqx.Module):
    """E(t) = amplitude sin(2 pi frequency t + phase) for t >= 0.

    Args:
        amplitude: in-plane field amplitude, shape (2,) [V/nm].
        frequency: frequency [1/fs] (1 THz = 1e-3 /fs), > 0.
        phase: phase at t = 0 [rad].
    """

    amplitude: Float[Array, "2"]
    frequency: Float[Array, ""]
    phase: Float[Array, ""]

    def __init__(self, amplitude, frequency, phase=0.0):
        frequency = check_real_scalar("frequency", frequency, low=0.0, low_inclusive=False, unit="1/fs")
        phase = check_real_scalar("phase", phase, unit="rad")
        self.amplitude = _amplitude(amplitude)
        self.frequency = jnp.asarray(frequency)
        self.phase = jnp.asarray(phase)

    def __call__(self, t):
        on = jnp.asarray(t >= 0).astype(self.amplitude.dtype)
        return self.amplitude * on * jnp.sin(2.0 * jnp.pi * self.frequency * t + self.phase)

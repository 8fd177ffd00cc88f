"""Rigid shift of the Fermi sea: hbar dDelta k/dt = qE(t) - hbar Delta k/tau (constant-tau relaxation).

Docs: Theory > Ensembles and dynamics.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from .._bands._arrays import accelerating_force
from ..constants import HBAR



# Two-node Gauss-Legendre in the shift fraction lambda: error ~ (|Delta k|/k_F)^4 relative.
SHIFT_NODES = (0.5 - 0.5 / math.sqrt(3.0), 0.5 + 0.5 / math.sqrt(3.0))
SHIFT_WEIGHTS = (0.5, 0.5)


def integrate_shift(drive, times, tau, substeps):
    """RK4 for hbar dDelta k/dt = qE(t) - hbar Delta k/tau, Delta k(times[0]) = 0."""
    inverse_tau = jnp.zeros((), times.dtype) if tau is None else 1.0 / jnp.asarray(tau, times.dtype)

    def rate(t, shift):
        return accelerating_force(drive(t).astype(times.dtype)) / HBAR - shift * inverse_tau

    def interval(shift, bounds):
        t0, t1 = bounds
        h = (t1 - t0) / substeps

        def rk4(i, y):
            t = t0 + i * h
            a = rate(t, y)
            b = rate(t + 0.5 * h, y + 0.5 * h * a)
            c = rate(t + 0.5 * h, y + 0.5 * h * b)
            d = rate(t + h, y + h * c)
            return y + h / 6.0 * (a + 2 * b + 2 * c + d)

        new = jax.lax.fori_loop(0, substeps, rk4, shift)
        return new, new

    start = jnp.zeros(2, times.dtype)
    _, rest = jax.lax.scan(interval, start, (times[:-1], times[1:]))
    shift = jnp.concatenate([start[None], rest])
    efield = jax.vmap(drive)(times).astype(times.dtype)
    k_rate = jax.vmap(rate)(times, shift)
    return efield, shift, k_rate


# filter_jit: `drive` may be an equinox Module or any plain jax-traceable function.
integrate_shift_jit = eqx.filter_jit(integrate_shift)

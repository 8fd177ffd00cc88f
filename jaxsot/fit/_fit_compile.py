"""Compile the fit's programs ahead of their first call, so a caller can say when compilation ends.

A paper-unit fit spends its first seconds (minutes for a mesh-route model, before the fluxes' own
derivative) in XLA's compiler, inside the first call of the optimizer: from outside, compilation and
optimization are one silent call. Lowering and compiling the same function with the same arguments
first (`jax.jit(...).lower(...).compile()`) fills the compiled function's cache, so the call that
follows runs without compiling again, and `progress` hears when each compilation starts and ends.
"""

import dataclasses
import time

import jax.numpy as jnp

from ._optimize import optimizer_programs, residuals_and_jacobian


def compile_ahead(u0, data, static, batched, progress) -> None:
    """Compile the optimizer's start and steps for starts u0 ((R, p) batched, else (p,)); two lines to `progress`.

    Args:
        u0: the unconstrained starts, (R, p) when batched, else one start (p,).
        data: (curve arrays, box) as `run_batched` takes them.
        static: the fit's `Static` (report_every is ignored: `run_batched` compiles without it).
        batched: the restarts run together (vmap) or one after another.
        progress: callable(text) given the lines.
    """
    static = dataclasses.replace(static, report_every=0)
    start, steps = optimizer_programs(batched)
    what = "the forward model, its gradient and the optimizer"
    progress(f"compiling {what} ...")
    began = time.perf_counter()
    carry = start(u0, data, static)
    steps.lower(carry, data, jnp.asarray(static.max_steps, jnp.int32), static).compile()
    progress(f"compiled {what} in {time.perf_counter() - began:.1f} s; optimizing")


def compile_ahead_jacobian(x, data, static, progress) -> None:
    """Compile the residuals and Jacobian of the standard errors at x (p,); two lines to `progress`.

    Args:
        x: physical free parameters (p,).
        data: (curve arrays, box).
        static: the fit's `Static`.
        progress: callable(text) given the lines.
    """
    progress("compiling the Jacobian of the standard errors ...")
    began = time.perf_counter()
    residuals_and_jacobian.lower(x, data, static).compile()
    progress(f"compiled the Jacobian in {time.perf_counter() - began:.1f} s")

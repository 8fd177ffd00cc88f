"""Benchmark of the harmonic Hall forward model (`jaxsot._measure.harmonic_hall_forward`): cost of one
gradient vs one forward evaluation, 4 field magnitudes x 72 field angles (288 points).

    python benchmarks/bench_hall.py            # 20 paired rounds per configuration
    python benchmarks/bench_hall.py --quick    # 5 rounds

Forward = the jitted fit loss mean(((R - data)/sigma)^2)/2 over the 288 R_1w and 288 R_2w values of a
perpendicular magnet (B_K = 1.5 T, in-plane fields 0.05-0.3 T); every point runs the saddle-free Newton
equilibrium (60 steps), the electron response at M0 (exact bands: one Fermi-contour solve per occupied
band and point, 64 rays) and the implicit-function response. Gradient = jax.grad of that loss with respect
to all nine parameters. Compile = the first call (trace + XLA compile + one run). Forward and gradient
calls alternate (same load for both); min and median after the warm-up; the ratio is the median of the
per-round ratios. The load average is printed before and after.
"""

import argparse
import math
import os
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as onp  # noqa: E402

from jaxsot import HallSettings, harmonic_hall_forward  # noqa: E402

PARAMS = {
    "alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 27.7, "anisotropy_field": 1.5,
    "r_ahe": 1.0, "r_phe": 0.1, "r_ane": 1e-3, "oersted_field": 1e-4,
}


def make_loss(model, fermi_energy, bands):
    phi = onp.tile(onp.linspace(0.0, 2.0 * math.pi, 72, endpoint=False), 4)
    field = onp.repeat([0.05, 0.1, 0.2, 0.3], 72)
    settings = HallSettings(
        phi, field, fermi_energy=fermi_energy, current_density=1e11, rho0=2e-7, ms_tesla=1.0, thickness=1.0,
        model=model, bands=bands,
    )
    truth = {k: jnp.asarray(v) for k, v in PARAMS.items()}
    r_1w, r_2w = jax.jit(harmonic_hall_forward)(truth, settings)
    rng = onp.random.default_rng(0)
    data_1w = r_1w + 1e-4 * rng.normal(size=r_1w.shape)
    data_2w = r_2w + 1e-5 * rng.normal(size=r_2w.shape)

    @jax.jit
    def loss(params):
        p_1w, p_2w = harmonic_hall_forward(params, settings)
        return 0.5 * jnp.mean(jnp.concatenate([((p_1w - data_1w) / 1e-4) ** 2, ((p_2w - data_2w) / 1e-5) ** 2]))

    return loss, {k: jnp.asarray(v * 1.01) for k, v in PARAMS.items()}


def measure(model, fermi_energy, bands, repeats):
    loss, point = make_loss(model, fermi_energy, bands)
    gradient = jax.jit(jax.grad(loss))
    compile_times = []
    for fn in (loss, gradient):
        start = time.perf_counter()
        jax.block_until_ready(fn(point))
        compile_times.append(time.perf_counter() - start)
    rounds = []
    for _ in range(repeats):
        row = []
        for fn in (loss, gradient):
            start = time.perf_counter()
            jax.block_until_ready(fn(point))
            row.append(time.perf_counter() - start)
        rounds.append(row)
    forward, grad = zip(*rounds)
    ratio = statistics.median(g / f for f, g in rounds)
    return compile_times, (min(forward), statistics.median(forward)), (min(grad), statistics.median(grad)), ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("4 field magnitudes x 72 angles = 288 points, float64\n")
    print("| model | E_F [eV] (bands) | compile forward / gradient [s] | forward [ms] min / median | gradient [ms] min / median | gradient / forward |")
    print("|---|---|---|---|---|---|")
    for model, fermi_energy, bands in (("strong_exchange", 1.5, (-1, 1)), ("exact", 1.5, (-1, 1)), ("exact", 0.5, (-1,))):
        (c_f, c_g), forward, grad, ratio = measure(model, fermi_energy, bands, repeats)
        print(
            f"| {model} | {fermi_energy:g} ({'both' if len(bands) == 2 else 'lower'}) | {c_f:.1f} / {c_g:.1f} | "
            f"{forward[0] * 1e3:.2f} / {forward[1] * 1e3:.2f} | {grad[0] * 1e3:.2f} / {grad[1] * 1e3:.2f} | {ratio:.2f} |"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

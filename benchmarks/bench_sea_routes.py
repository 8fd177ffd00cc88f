"""Fermi-sea routes: the general mesh route against the exact ray route, and the mesh's convergence.

Two tables, measured in one run (docs: Benchmarks, "Fermi-sea routes"):

1. Speed at equal accuracy on a star-shaped sea (the Rashba ferromagnet of `jaxsot run`, alpha =
   0.05 eV nm, J = 0.5 eV, M at theta = 1, phi = 0.3, E_F = 1 eV, both bands): the spin density
   sum_s int_sea s b/|b| d^2k/(2 pi)^2 through the public `jaxsot.fermi_sea_sum` with route="rays"
   and route="mesh". Reference: the rays at num_phi = 512, num_r = 64 (spectrally converged). For
   each mesh resolution, the cheapest ray resolution of a ladder whose error is at most the mesh's
   is timed beside it (median of interleaved calls after a warm-up call that compiles); ratio =
   mesh time / ray time.
2. Convergence of the mesh: the lower- and upper-band densities of a square-lattice Rashba
   ferromagnet (t = 0.5 eV, a = 0.4 nm, lambda = 0.1 eV, J = 0.2 eV) at E_F = -1.2 eV against
   root finding on k_x slices (scipy brentq + quad), the relative error against the finest
   triangle size, and the fitted order (slope of log error against log h).

3. The traced near-touching check of the ray route under jax.vmap: a jitted, vmapped
   `jaxsot.fermi_sea_sum` (spin density, route "auto" = rays with traced checks, 64 x 8 nodes) over
   32 magnetization directions of the Rashba ferromagnet, far from any touching. "cond" is the
   earlier check (`lax.cond` on the batched predicate: under vmap both branches, so the error
   estimate always ran), "custom_vmap" the current one (one cond on any(near)), "estimate removed"
   the same sum without the estimate, "no traced checks" without any traced precondition check
   (the probe grids of the star-shape and near-touching tests dominate what is left); then the
   estimate alone over the same 32 models. Medians of interleaved calls.

    python benchmarks/bench_sea_routes.py            # all tables (~2-10 min on a loaded 2-core VM)
    python benchmarks/bench_sea_routes.py --quick    # fewer resolutions and repeats

Exit status 1 when a check fails (a mesh result off the reference by more than 1e-5 relative).
"""

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from scipy.integrate import quad  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

import jaxsot  # noqa: E402

T_HOP, A_LAT, LAM, J_LAT = 0.5, 0.4, 0.1, 0.2
M_LAT = np.array([math.sin(1.0) * math.cos(0.5), math.sin(1.0) * math.sin(0.5), math.cos(1.0)])


class SquareLatticeRashba(jaxsot.TwoBandModel):
    """eps0 = -2t (cos kx a + cos ky a), b = lam (sin ky a, -sin kx a, 0) - J M, lattice constant a."""

    t: jax.Array
    a: jax.Array
    lam: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return -2.0 * self.t * (jnp.cos(kx * self.a) + jnp.cos(ky * self.a))

    def field(self, kx, ky):
        m = self.magnetization
        return (self.lam * jnp.sin(ky * self.a) - self.j_ex * m[0], -self.lam * jnp.sin(kx * self.a) - self.j_ex * m[1], -self.j_ex * m[2] + 0.0 * kx)

    def spin_orbit_field(self, kx, ky):
        return self.lam * jnp.sin(ky * self.a), -self.lam * jnp.sin(kx * self.a), 0.0 * kx

    @property
    def mass(self):
        return 1.0 + 0.0 * self.t

    @property
    def lattice_vectors(self):
        return self.a * jnp.eye(2)


def lattice_energy(kx, ky, s):
    e0 = -2 * T_HOP * (np.cos(kx * A_LAT) + np.cos(ky * A_LAT))
    bx = LAM * np.sin(ky * A_LAT) - J_LAT * M_LAT[0]
    by = -LAM * np.sin(kx * A_LAT) - J_LAT * M_LAT[1]
    return e0 + s * np.sqrt(bx**2 + by**2 + (J_LAT * M_LAT[2]) ** 2)


def slice_density(fermi_energy, s, samples=400):
    """Independent reference: quad over k_x of the occupied k_y length (brentq between sign changes)."""
    g = math.pi / A_LAT

    def length(x):
        y = np.linspace(-g, g, samples + 1)
        f = lattice_energy(x, y, s) - fermi_energy
        cuts = [-g]
        for i in range(samples):
            if f[i] * f[i + 1] < 0:
                cuts.append(brentq(lambda q: lattice_energy(x, q, s) - fermi_energy, y[i], y[i + 1], xtol=1e-15, rtol=1e-15))
        cuts.append(g)
        return sum(b - a for a, b in zip(cuts[:-1], cuts[1:]) if lattice_energy(x, 0.5 * (a + b), s) < fermi_energy)

    return quad(length, -g, g, limit=500, epsabs=0.0, epsrel=1e-11)[0] / (2 * math.pi) ** 2


def spin(model, kx, ky, s, fx, fy):
    return jnp.stack(jaxsot.kernels.spin(model, kx, ky, s))


def timed(call, repeats):
    jax.block_until_ready(call())  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed_table(quick):
    model = jaxsot.RashbaFerromagnet.from_angles(0.05, 0.5, 1.0, 0.3)
    fermi_energy = 1.0
    reference = np.asarray(jaxsot.fermi_sea_sum(model, fermi_energy, spin, num_phi=512, num_r=64, route="rays"))
    scale = np.linalg.norm(reference)
    ladder = [(16, 4), (24, 6), (32, 8), (48, 8), (64, 12), (96, 16), (128, 16)]
    ray_errors = {}
    for num_phi, num_r in ladder:
        value = np.asarray(jaxsot.fermi_sea_sum(model, fermi_energy, spin, num_phi=num_phi, num_r=num_r, route="rays"))
        ray_errors[(num_phi, num_r)] = np.linalg.norm(value - reference) / scale
    meshes = [jaxsot.MeshOptions(16, 2), jaxsot.MeshOptions(16, 3), jaxsot.MeshOptions()]
    if quick:
        meshes = meshes[1:]
    repeats = 3 if quick else 7
    rows, ok = [], True
    for mesh in meshes:
        value = np.asarray(jaxsot.fermi_sea_sum(model, fermi_energy, spin, route="mesh", mesh=mesh))
        error = np.linalg.norm(value - reference) / scale
        ok &= error < 1e-5
        rays = next((r for r in ladder if ray_errors[r] <= error), ladder[-1])
        from jaxsot._fermi._route import sea_ensemble

        nodes = int(sea_ensemble(model, jnp.asarray(fermi_energy), (-1, 1), "mesh", mesh=mesh)[0][0].shape[0])
        # Interleaved: mesh, rays, mesh, rays, ...
        t_mesh, t_rays = [], []
        for _ in range(2):
            t_mesh.append(timed(lambda: jaxsot.fermi_sea_sum(model, fermi_energy, spin, route="mesh", mesh=mesh), repeats))
            t_rays.append(timed(lambda: jaxsot.fermi_sea_sum(model, fermi_energy, spin, num_phi=rays[0], num_r=rays[1], route="rays"), repeats))
        tm, tr = min(t_mesh), min(t_rays)
        rows.append(
            (f"mesh cells={mesh.cells} levels={mesh.levels}", nodes, error, tm, f"rays {rays[0]}x{rays[1]}", 2 * rays[0] * rays[1], ray_errors[rays], tr, tm / tr)
        )
    print("\nSpeed at equal accuracy (spin density of the Rashba ferromagnet, E_F = 1 eV, both bands):")
    print("| mesh route | nodes | error | time [ms] | ray route at <= that error | nodes | error | time [ms] | mesh / rays |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.1e} | {1e3 * r[3]:.2f} | {r[4]} | {r[5]} | {r[6]:.1e} | {1e3 * r[7]:.2f} | {r[8]:.1f} |")
    return ok


def convergence_table(quick):
    model = SquareLatticeRashba(*(jnp.asarray(x) for x in (T_HOP, A_LAT, LAM, J_LAT)), jnp.asarray(M_LAT))
    fermi_energy = -1.2
    reference = np.array([slice_density(fermi_energy, s) for s in (-1, 1)])
    settings = [(8, 1), (8, 2), (8, 3), (16, 3)] if quick else [(8, 0), (8, 1), (8, 2), (8, 3), (16, 3), (16, 4)]
    rows, ok = [], True
    from jaxsot._fermi._mesh import mesh_domain
    from jaxsot._fermi._route import sea_ensemble

    for cells, levels in settings:
        mesh = jaxsot.MeshOptions(cells, levels, extra_levels=0)
        sea, _, densities, _, _ = sea_ensemble(model, jnp.asarray(fermi_energy), (-1, 1), "mesh", mesh=mesh)
        error = np.abs(np.asarray(densities) - reference) / reference
        # The mesh covers the part of the zone that holds the sea (`mesh_domain`): h from its side.
        _, basis = mesh_domain(model, jnp.asarray(fermi_energy), cells)
        h = float(jnp.linalg.norm(basis[0])) / cells / 2**levels
        rows.append((cells, levels, h, int(sea[0].shape[0]), error))
        ok &= bool(np.all(error < 1e-5)) or levels < 2
    print("\nConvergence of the mesh route (square-lattice Rashba ferromagnet, E_F = -1.2 eV, no extra levels):")
    print("| cells | levels | finest h [1/nm] | nodes | rel. error n_- | rel. error n_+ | order (n_-) |")
    print("|---|---|---|---|---|---|---|")
    for i, (cells, levels, h, nodes, error) in enumerate(rows):
        order = ""
        if i > 0 and rows[i - 1][2] != h and error[0] > 0 and rows[i - 1][4][0] > 0:
            order = f"{math.log(rows[i - 1][4][0] / error[0]) / math.log(rows[i - 1][2] / h):.1f}"
        print(f"| {cells} | {levels} | {h:.3g} | {nodes} | {error[0]:.1e} | {error[1]:.1e} | {order} |")
    return ok


def vmap_check_table(quick):
    from jaxsot._fermi import _route

    thetas = jnp.linspace(0.2, 2.9, 32)

    def total(theta):
        model = jaxsot.RashbaFerromagnet.from_angles(0.05, 0.5, theta, 0.3)
        return jaxsot.fermi_sea_sum(model, 1.0, spin, num_phi=64, num_r=8, bands=(-1, 1))

    current, checks = _route.near_estimate, _route.ray_checks
    variants = {
        "cond (before)": (_route._estimate_if, checks),
        "custom_vmap (now)": (current, checks),
        "estimate removed": (lambda near, model, e: jnp.zeros((), jnp.result_type(e, model.dtype)), checks),
        "no traced checks": (current, lambda model, e, bands, value, all_bands=True: value),
    }
    calls, values = {}, {}
    for name, (estimate, check) in variants.items():
        _route.near_estimate, _route.ray_checks = estimate, check
        try:
            calls[name] = jax.jit(jax.vmap(total))
            values[name] = np.asarray(calls[name](thetas))  # compiles with this variant
        finally:
            _route.near_estimate, _route.ray_checks = current, checks

    # The estimate alone, vmapped over the same 32 models: every sea far from a touching, or one near.
    def alone(estimate):
        def one(theta, near):
            return estimate(near, jaxsot.RashbaFerromagnet.from_angles(0.05, 0.5, theta, 0.3), jnp.asarray(1.0))

        return jax.jit(jax.vmap(one))

    far, one_near = jnp.zeros(32, bool), jnp.arange(32) == 3
    for name, estimate in (("cond (before)", _route._estimate_if), ("custom_vmap (now)", current)):
        f = alone(estimate)
        calls[f"estimate alone, {name}, all far"] = lambda f=f: f(thetas, far)
        calls[f"estimate alone, {name}, one near"] = lambda f=f: f(thetas, one_near)
        values[f"estimate alone, {name}, one near"] = np.asarray(f(thetas, one_near))
    repeats = 3 if quick else 7
    times = {name: [] for name in calls}
    for _ in range(2):
        for name, call in calls.items():
            times[name].append(timed((lambda c=call: c(thetas)) if name in variants else call, repeats))
    floor = min(times["estimate removed"])
    print("\nTraced near-touching check under vmap (32 directions, 64 x 8 nodes per band, both bands):")
    print("| jit(vmap(fermi_sea_sum)) | time [ms] | / estimate removed | max abs difference |")
    print("|---|---|---|---|")
    for name in variants:
        t = min(times[name])
        diff = float(np.max(np.abs(values[name] - values["estimate removed"])))
        print(f"| {name} | {1e3 * t:.2f} | {t / floor:.2f} | {diff:.1e} |")
    print("| the estimate alone (vmapped over the 32 models) | time [ms] | | |")
    for name in calls:
        if name.startswith("estimate alone"):
            print(f"| {name[16:]} | {1e3 * min(times[name]):.2f} | | |")
    same = all(np.array_equal(values[name], values["estimate removed"]) for name in variants)
    a, b = (values[f"estimate alone, {n}, one near"] for n in ("cond (before)", "custom_vmap (now)"))
    return same and np.array_equal(a, b) and np.all(np.delete(a, 3) == 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer resolutions and repeats")
    parser.add_argument("--vmap-check", action="store_true", help="only the table of the traced check under vmap")
    parser.add_argument("--convergence", action="store_true", help="only the convergence table")
    args = parser.parse_args()
    if args.convergence:
        print(f"load average at start: {os.getloadavg()}")
        ok = convergence_table(args.quick)
        print(f"load average at end: {os.getloadavg()}")
        sys.exit(0 if ok else 1)
    if args.vmap_check:
        print(f"load average at start: {os.getloadavg()}")
        ok = vmap_check_table(args.quick)
        print(f"load average at end: {os.getloadavg()}")
        sys.exit(0 if ok else 1)
    print(f"load average at start: {os.getloadavg()}")
    ok = speed_table(args.quick)
    ok &= convergence_table(args.quick)
    ok &= vmap_check_table(args.quick)
    print(f"load average at end: {os.getloadavg()}")
    if not ok:
        print("FAILED: a mesh result is off its reference by more than 1e-5 relative")
        sys.exit(1)


if __name__ == "__main__":
    main()

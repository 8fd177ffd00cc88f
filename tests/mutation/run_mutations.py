"""Mutation testing: plant physics bugs one at a time in a copy of the repository and see what catches them.

For every mutation of MUTATIONS (a text replacement in one source file), the script copies the
repository's tracked and untracked-but-not-ignored files to a temporary folder once, plants the
mutation there, runs the mutation's relevant tests (`python -m pytest -x -q ...`) and
`jaxsot validate --quick`, restores the file, and prints a table: which mutations the tests and the
validator catch (non-zero exit) and which survive. A baseline row (no mutation) comes first: both
must pass there, or the table means nothing. The working tree is never modified.

    python tests/mutation/run_mutations.py                 # every mutation (slow: minutes each on 2 cores)
    python tests/mutation/run_mutations.py --list          # the curated list
    python tests/mutation/run_mutations.py --only "tau x 1.01 in the sea shift" --no-tests

Not part of the test suite (it runs the suite's pieces many times); tests/README.md keeps its last
table. A mutation whose text is no longer in its file is reported as "stale" (update the list when
the code moves).
"""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

ROOT = pathlib.Path(__file__).resolve().parents[2]


class Mutation(NamedTuple):
    name: str
    layer: str
    path: str  # file, relative to the repository root
    old: str  # text replaced (must occur exactly once)
    new: str
    tests: tuple  # pytest arguments (files, -k expressions)


MUTATIONS = (
    # The six of the first mutation audit (its first row, "Rashba sign, precession rate, spin band sign", is split up).
    Mutation("Rashba sign", "core", "jaxsot/_core/_model.py",
             "            self.alpha * ky - self.j_ex * mx,\n            -self.alpha * kx - self.j_ex * my,",
             "            -self.alpha * ky - self.j_ex * mx,\n            self.alpha * kx - self.j_ex * my,",
             ("tests/bands/test_bands.py", "-k", "eigh")),
    Mutation("tau x 1.01 in the sea shift", "dynamics", "jaxsot/_dynamics/_shift.py",
             "1.0 / jnp.asarray(tau, times.dtype)", "1.0 / (1.01 * jnp.asarray(tau, times.dtype))",
             ("tests/dynamics/test_dynamics.py", "-k", "step_with_relaxation")),
    Mutation("damping-like and field-like swapped in the LLG source", "llg", "jaxsot/_llg/_torque.py",
             'tau_fl = exchange_torque(magnet, m, electrons["field_like"]) if torque.field_like else zero\n'
             '    tau_dl = exchange_torque(magnet, m, electrons["damping_like"]) if torque.damping_like else zero',
             'tau_fl = exchange_torque(magnet, m, electrons["damping_like"]) if torque.field_like else zero\n'
             '    tau_dl = exchange_torque(magnet, m, electrons["field_like"]) if torque.damping_like else zero',
             ("tests/llg/test_energy.py",)),
    Mutation("1 % error in the SI conversion of the effective fields", "measure", "jaxsot/_measure/_fields.py",
             "n_mu = ms_tesla / MU0 *", "n_mu = 1.01 * ms_tesla / MU0 *",
             ("tests/measure/test_measure_fields.py", "-k", "si_closed_forms")),
    Mutation("lock-in R_2w sign flipped", "measure", "jaxsot/_measure/_lockin.py",
             "r_2w=-scale * jnp.sum(v * jnp.cos(2.0 * phase))", "r_2w=scale * jnp.sum(v * jnp.cos(2.0 * phase))",
             ("tests/measure/test_measure_lockin.py", "-k", "perpendicular")),
    Mutation("contour radius 1e-6 short", "fermi", "jaxsot/_fermi/_rays.py",
             "radius = jnp.where(ok, radius, jnp.nan)", "radius = jnp.where(ok, radius - 1e-6, jnp.nan)",
             ("tests/fermi/test_contour.py", "-k", "lie_on_the_fermi_level")),
    # One more per layer.
    Mutation("spin band sign", "bands", "jaxsot/_bands/_kernels.py",
             "scale = s / jnp.sqrt(bx * bx + by * by + bz * bz)", "scale = -s / jnp.sqrt(bx * bx + by * by + bz * bz)",
             ("tests/bands/test_bands.py", "-k", "spin")),
    Mutation("electron precession rate 1/hbar instead of 2/hbar", "quantum", "jaxsot/_quantum/_integrator.py",
             "wx, wy, wz = (2.0 * lin * b + w for", "wx, wy, wz = (1.0 * lin * b + w for",
             ("tests/quantum/test_quantum.py", "-k", "precesses_exactly")),
    Mutation("conductivity 0.1 % high", "transport", "jaxsot/_ensemble/_transport.py",
             'return response["conductivity_per_tau"] * tau', 'return response["conductivity_per_tau"] * (1.001 * tau)',
             ("tests/ensemble/test_transport.py", "-k", "drude")),
    Mutation("gyromagnetic ratio 0.1 % high", "llg", "jaxsot/_llg/_magnet.py",
             "return self.g_factor * MU_B_EV_PER_T / HBAR", "return 1.001 * self.g_factor * MU_B_EV_PER_T / HBAR",
             ("tests/llg/test_llg.py", "-k", "larmor")),
    Mutation("Gilbert damping term 1 % strong", "llg", "jaxsot/_llg/_torque.py",
             "dmdt = (r + a * jnp.cross(m, r)) / (1.0 + a * a)", "dmdt = (r + 1.01 * a * jnp.cross(m, r)) / (1.0 + a * a)",
             ("tests/llg/test_llg.py", "-k", "larmor")),
    Mutation("field-like field 2 % strong", "energy", "jaxsot/_llg/_torque.py",
             'b_fl = electrons["exchange"] * electrons["spin_shift"] / moment',
             'b_fl = 1.02 * electrons["exchange"] * electrons["spin_shift"] / moment',
             ("tests/llg/test_energy.py",)),
    Mutation("planar Hall term sign", "measure", "jaxsot/_measure/_hall.py",
             "return r_ahe * m[..., 2] + r_phe * m[..., 0] * m[..., 1]", "return r_ahe * m[..., 2] - r_phe * m[..., 0] * m[..., 1]",
             ("tests/measure/test_measure_hall.py", "-k", "stoner_wohlfarth")),
    Mutation("fit standard errors halved", "fit", "jaxsot/fit/_identify.py",
             "std_z = onp.sqrt(onp.maximum(onp.diag(cov_z), 0.0))", "std_z = 0.5 * onp.sqrt(onp.maximum(onp.diag(cov_z), 0.0))",
             ("tests/fit/test_fit.py", "-k", "within_reported_uncertainty")),
)


def _copy_repository(target: pathlib.Path) -> None:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _run(command, cwd, env, timeout):
    started = time.perf_counter()
    try:
        status = subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        status = "timeout"
    return status, time.perf_counter() - started


def _verdict(status, baseline: bool) -> str:
    if status == "timeout":
        return "timeout"
    if baseline:
        return "passes" if status == 0 else f"FAILS ({status})"
    return "caught" if status != 0 else "SURVIVES"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument("--only", action="append", help="run only this mutation (repeatable; by name)")
    parser.add_argument("--no-tests", action="store_true", help="skip the relevant tests")
    parser.add_argument("--no-validate", action="store_true", help="skip jaxsot validate --quick")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per command (default 1800)")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name} [{m.layer}] {m.path}: tests {' '.join(m.tests)}")
        return 0
    if args.only and len(chosen) != len(args.only):
        print(f"unknown mutation in --only {args.only}; allowed: {[m.name for m in MUTATIONS]}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="jaxsot-mutations-") as folder:
        copy = pathlib.Path(folder) / "repo"
        _copy_repository(copy)
        env = {**os.environ, "PYTHONPATH": str(copy), "JAXSOT_TEST_COMPILATION_CACHE": str(pathlib.Path(folder) / "cache")}
        for mutation in (None, *chosen):
            name = "none (baseline)" if mutation is None else mutation.name
            path = None if mutation is None else copy / mutation.path
            original = None if path is None else path.read_text()
            if mutation is not None and original.count(mutation.old) != 1:
                rows.append((name, mutation.layer, "stale", "stale", 0.0))
                continue
            # The baseline runs every chosen selection unmutated (each must pass for "caught" to mean anything).
            selections = list(dict.fromkeys(m.tests for m in chosen)) if mutation is None else [mutation.tests]
            try:
                if path is not None:
                    path.write_text(original.replace(mutation.old, mutation.new))
                test_status, test_time = ("skipped", 0.0) if args.no_tests else (0, 0.0)
                for tests in [] if args.no_tests else selections:
                    status, seconds = _run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                                           copy, env, args.timeout)
                    test_time += seconds
                    if status != 0:
                        test_status = status
                        break
                validate_status, validate_time = ("skipped", 0.0) if args.no_validate else _run(
                    [sys.executable, "-m", "jaxsot", "validate", "--quick", "--out", str(pathlib.Path(folder) / "out")],
                    copy, env, args.timeout)
            finally:
                if path is not None:
                    path.write_text(original)
            baseline = mutation is None
            test_verdict = test_status if test_status == "skipped" else _verdict(test_status, baseline)
            validate_verdict = validate_status if validate_status == "skipped" else _verdict(validate_status, baseline)
            rows.append((name, "-" if baseline else mutation.layer, test_verdict, validate_verdict, test_time + validate_time))
            print(f"  {name}: tests {test_verdict}, validate --quick {validate_verdict} "
                  f"({test_time + validate_time:.0f} s)", file=sys.stderr, flush=True)
    print("| mutation | layer | relevant tests | `jaxsot validate --quick` | time [s] |")
    print("|---|---|---|---|---|")
    for name, layer, tests, validate, seconds in rows:
        print(f"| {name} | {layer} | {tests} | {validate} | {seconds:.0f} |")
    survived = [r[0] for r in rows[1:] if "SURVIVES" in (r[2], r[3])]
    print(f"\n{len(rows) - 1} mutations; survived at least one route: {', '.join(survived) or 'none'}")
    try:
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end")
    except OSError:
        pass
    baseline_ok = rows and rows[0][2] in ("passes", "skipped") and rows[0][3] in ("passes", "skipped")
    return 0 if baseline_ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Smoke test of the minimum dependency versions: the main job on a tiny grid, an LLG step, a fit import."""

import pathlib
import subprocess
import sys

folder = pathlib.Path(sys.argv[1])
(folder / "tiny.toml").write_text("[ensemble]\nnum_phi = 16\nnum_r = 4\n[time]\nt_end_fs = 10.0\nnum_steps = 6\n")
jaxsot_cli = pathlib.Path(sys.executable).with_name("jaxsot")
subprocess.run([str(jaxsot_cli), "run", str(folder / "tiny.toml"), "--out", str(folder / "out")], check=True)
assert (folder / "out" / "results.json").stat().st_size > 0

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

import jaxsot  # noqa: E402
import jaxsot.fit  # noqa: E402, F401

magnet = jaxsot.Magnet(1.0, 1.0, 0.02)
torque = jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, jnp.array([1e-4, 0.0]), 10.0)
result = jaxsot.simulate_llg(magnet, torque, jnp.array([0.1, 1.0, 0.0]), 1e4, num_save=5)
assert bool(result.success)
# A switching event over a batch (the event root find; one lane switches, one does not).
easy = jaxsot.Magnet(1.0, 1.0, 0.1, anisotropy_field=0.05, easy_axis=(0, 1, 0))
batch = jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, jnp.array([[4e-5, 0.0], [1e-5, 0.0]]), 28.0)
events = jaxsot.simulate_llg(easy, batch, jnp.array([0.05, 1.0, 0.02]), 5e6, num_save=5, switch_axis=(0, 1, 0), switch_threshold=-0.5, ledger=False)
assert events.switched.tolist() == [True, False], events.switched
import importlib.metadata as metadata  # noqa: E402

print("minimum versions OK:", ", ".join(f"{p} {metadata.version(p)}" for p in ("jax", "jaxlib", "optax", "equinox", "diffrax")))

"""`simulate` split over several devices gives the single-device result (to rounding).

Runs in a subprocess: the number of CPU devices must be set (XLA_FLAGS) before JAX starts.
"""

import json
import os
import subprocess
import sys

import pytest

# Slow tier: fresh interpreters with two forced host devices.
pytestmark = pytest.mark.slow

SCRIPT = r"""
import json
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as onp
import jaxsot

assert jax.local_device_count() == 2, jax.local_device_count()
model = jaxsot.RashbaFerromagnet.from_angles(0.05, 1.0, 1.0, 0.5)
times = jnp.linspace(0.0, 30.0, 31)
drive = jaxsot.StepDrive(jnp.array([1e-4, 0.0]))
# 2 * 33 * 5 = 330 sea states: not a multiple of the chunk, so padding and partial chunks are used.
kwargs = dict(tau=10.0, num_phi=33, num_r=5, chunk=64)
one = jaxsot.simulate(model, 1.5, drive, times, devices=jax.local_devices()[:1], **kwargs)
two = jaxsot.simulate(model, 1.5, drive, times, **kwargs)
errors = {}
for name, values in one.observables.items():
    for approx, series in values.items():
        a, b = onp.asarray(series), onp.asarray(two.observables[name][approx])
        errors[f"{name}/{approx}"] = float(onp.max(onp.abs(a - b)) / onp.max(onp.abs(a)))
print(json.dumps({"errors": errors, "min": [float(one.min_splitting), float(two.min_splitting)]}))
"""


def test_two_devices_equal_one_device():
    environment = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    completed = subprocess.run([sys.executable, "-c", SCRIPT], env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert len(report["errors"]) >= 17
    for key, error in report["errors"].items():
        assert error < 1e-13, (key, error)
    assert report["min"][0] == report["min"][1]

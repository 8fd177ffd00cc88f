"""The macrospin's energy minimum (jaxsot._llg._equilibrium) and the one current-field assembly
(jaxsot._llg._torque.current_fields) that the LLG and the measurement layer share.

References: SciPy minimize + root of the energy in spherical angles (tests/model_reference.py), the LLG's
own torque terms (`llg_rates`: -kappa P_perp T, a different formula for the same torque: the fields must
reproduce it as -gamma M x B), and central finite differences of the energy for the stiffness.
"""

import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot._llg._equilibrium import equilibrium, magnet_stiffness, relax
from jaxsot._llg._torque import current_fields

_spec = importlib.util.spec_from_file_location("model_reference", pathlib.Path(__file__).parents[1] / "model_reference.py")
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)

MAGNETS = [
    dict(ms_tesla=1.0, anisotropy_field=1.5, easy_axis=(0.0, 0.0, 1.0), demag=(0.0, 0.0, 1.0)),
    dict(ms_tesla=0.8, anisotropy_field=0.05, easy_axis=(1.0, 0.0, 0.0), demag=(0.0, 0.0, 1.0)),
    dict(ms_tesla=1.2, anisotropy_field=-0.3, easy_axis=(0.3, -0.4, 0.866), demag=(0.1, 0.2, 0.7)),
]


@pytest.mark.slow  # relax compiled per option set (~22 s wall cold)
@pytest.mark.parametrize("options", MAGNETS)
def test_equilibrium_is_the_scipy_energy_minimum_and_the_stiffness_is_conventional_field(options):
    rng = np.random.default_rng(3)
    magnet = jaxsot.Magnet(options["ms_tesla"], 1.0, 0.1, anisotropy_field=options["anisotropy_field"],
                           easy_axis=options["easy_axis"], demag=options["demag"])
    stiffness = magnet_stiffness(magnet)
    for _ in range(3):
        b_ext = rng.normal(size=3) * 0.2
        start = b_ext / np.linalg.norm(b_ext) + 0.1 * np.asarray(options["easy_axis"]) / np.linalg.norm(options["easy_axis"])
        m0, basis, h, converged = equilibrium(jnp.asarray(b_ext), stiffness, jnp.asarray(start))
        reference = _reference.macrospin_minimum(b_ext, m_start=start, **options)
        assert bool(converged)
        np.testing.assert_allclose(np.asarray(m0), reference, rtol=0, atol=1e-10)
        assert np.all(np.linalg.eigvalsh(np.asarray(h)) > 0) and np.allclose(np.asarray(basis).T @ np.asarray(m0), 0, atol=1e-15)
        # B_0 = B_ext + A M is the LLG's conventional field (external + uniaxial + shape).
        with_field = jaxsot.Magnet(options["ms_tesla"], 1.0, 0.1, anisotropy_field=options["anisotropy_field"],
                                   easy_axis=options["easy_axis"], demag=options["demag"], external_field=b_ext)
        m = jnp.asarray(rng.normal(size=3))
        m = m / jnp.linalg.norm(m)
        np.testing.assert_allclose(np.asarray(b_ext + stiffness @ m), np.asarray(jaxsot.conventional_field(with_field, m)),
                                   rtol=0, atol=1e-14)


def test_relax_reports_a_saddle_start_and_a_field_free_magnet_converges():
    stiffness = magnet_stiffness(jaxsot.Magnet(1.0, 1.0, 0.1, anisotropy_field=1.5))
    # Starting exactly on the hard plane's saddle, the negative-curvature push still reaches a pole.
    m, converged = relax(jnp.zeros(3), stiffness, jnp.asarray([1.0, 0.0, 0.0]))
    assert bool(converged) and abs(abs(float(m[2])) - 1.0) < 1e-12


def _torques():
    efield = jnp.asarray([1e-3, 0.4e-3])
    ti = jaxsot.TISurfaceFerromagnet(0.3, 0.1, [0.0, 0.0, 1.0], kinetic=0.05)
    return {
        "rashba-exact": jaxsot.SpinOrbitTorque(0.05, 0.5, 1.0, efield, 10.0, method="exact", num=32),
        "rashba-strong": jaxsot.SpinOrbitTorque(0.05, 0.5, 1.0, efield, 10.0, method="strong_exchange"),
        "ti-surface": jaxsot.ModelTorque(ti, 0.3, efield, 10.0, num=32),
    }


@pytest.mark.slow  # exact torques per model kind (compile-heavy)
@pytest.mark.parametrize("name", ["rashba-exact", "rashba-strong", "ti-surface"])
def test_current_fields_are_the_llg_torques(name):
    torque = _torques()[name]
    magnet = jaxsot.Magnet(1.0, 1.3, 0.0)
    moment = float(magnet.moment_density) * 5.7883818060e-5
    gamma = float(magnet.gamma)
    for m in ([0.0, 0.0, 1.0], [0.6, -0.48, 0.64], [0.8, 0.6, 0.0]):
        m = jnp.asarray(m)
        rates = jaxsot.llg_rates(magnet, torque, m)
        response = jaxsot.electron_response(torque, m)
        b_fl, b_dl = current_fields(m, response["spin_shift"], -response["damping_like"], response["exchange"], moment)
        for field, term in ((b_fl, "field_like"), (b_dl, "damping_like")):
            expected = np.asarray(rates[term])
            assert np.max(np.abs(expected)) > 0
            np.testing.assert_allclose(np.asarray(-gamma * jnp.cross(m, field)), expected, rtol=0, atol=1e-12 * np.max(np.abs(expected)))
        off = current_fields(m, response["spin_shift"], -response["damping_like"], response["exchange"], moment,
                             field_like=False, damping_like=False)
        assert not np.any(np.asarray(off[0])) and not np.any(np.asarray(off[1]))

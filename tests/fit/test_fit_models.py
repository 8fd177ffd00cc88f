"""Fits of any TwoBandModel: forward values against an independent NumPy route, refusals."""

import importlib.util
import math
import re
import pathlib

import jax
import numpy as np
import pytest

import jaxsot
import jaxsot.fit as jf

# Slow tier: fits of other model kinds (compile-heavy).
pytestmark = pytest.mark.slow

jax.config.update("jax_enable_x64", True)

_SPEC = importlib.util.spec_from_file_location("model_reference", pathlib.Path(__file__).parents[1] / "model_reference.py")
reference = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(reference)

TORQUES = ("T_DL_x", "T_DL_y", "T_DL_z", "T_FL_x", "T_FL_y", "T_FL_z")


def _ti():
    return jaxsot.TISurfaceFerromagnet(0.3, 0.05, np.array([0.0, 0.0, 1.0]), kinetic=0.05)


def test_ti_surface_torques_match_the_numpy_sea_integral():
    theta, phis, efield, tau, fermi_energy = 1.0, np.array([0.7, 1.5, 2.5]), 1.0e-3, 10.0, 0.2
    curve = jf.Curve(TORQUES, np.zeros((3, 6)), phi=phis, theta=theta, efield=efield)
    # Parameters by name: hbar_v replaced through replace_parameters (the model was built with 0.3).
    model = jaxsot.TISurfaceFerromagnet(0.25, 0.05, np.array([0.0, 0.0, 1.0]), kinetic=0.05)
    out = np.asarray(jf.predict(curve, {"hbar_v": 0.3, "tau": tau}, fermi_energy, model=model))
    p = {"hbar_v": 0.3, "j_ex": 0.05, "kinetic": 0.05}
    m = np.array([math.sin(theta) * math.cos(phis[0]), math.sin(theta) * math.sin(phis[0]), math.cos(theta)])
    a = reference.spin_response(reference.ti_hamiltonian(p, m), fermi_energy)
    kdot = -np.array([efield, 0.0]) / reference.HBAR  # q = -e
    expected = np.concatenate([-a @ kdot, 2.0 * p["j_ex"] / reference.HBAR * np.cross(m, a @ kdot * tau)])
    assert np.max(np.abs(out[0] - expected)) < 1e-6 * np.max(np.abs(expected))


def test_other_models_refuse_the_rashba_closed_forms_in_one_line():
    curve = jf.Curve(("T_DL_y",), np.zeros((3, 1)), phi=np.array([0.1, 0.2, 0.3]), theta=1.0, efield=1e-3)
    for call in (
        lambda: jf.predict(curve, {"tau": 10.0}, 0.2, model=_ti(), method="strong_exchange"),
        lambda: jf.fit(curve, 0.2, model=_ti(), method="strong_exchange"),
        lambda: jf.synthesize({"tau": 10.0}, 0.2, model=_ti(), method="strong_exchange"),
    ):
        with pytest.raises(ValueError, match="closed form of the Rashba ferromagnet; model = TISurfaceFerromagnet") as info:
            call()
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="'beta' is not a parameter of TISurfaceFerromagnet"):
        jf.predict(curve, {"beta": 0.1, "tau": 10.0}, 0.2, model=_ti())
    with pytest.raises(ValueError, match="free = .* allowed: distinct names from hbar_v, j_ex, kinetic, tau"):
        jf.fit(curve, 0.2, model=_ti(), free=("alpha",))



def test_traced_parameters_are_refused_by_name_for_any_model():
    # predict/synthesize check values and choose bands and route on the host: under a transformation
    # they refuse in one line naming the traced input (not a bare ConcretizationTypeError from float()).
    curve = jf.Curve(("T_DL_y",), np.zeros((3, 1)), phi=np.array([0.1, 0.2, 0.3]), theta=1.0, efield=1e-3)
    rashba = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}
    calls = {
        "params['hbar_v']": lambda v: jf.predict(curve, {"hbar_v": v, "tau": 10.0}, 0.2, model=_ti()),
        "params['alpha']": lambda v: jf.predict(curve, {**rashba, "alpha": v}, 1.5),
        "params['tau']": lambda v: jf.synthesize({"tau": v}, 0.2, model=_ti(), num_points=3).values,
        "fermi_energy": lambda v: jf.predict(curve, rashba, v),
        "guess['hbar_v']": lambda v: jf.fit(curve, 0.2, model=_ti(), guess={"hbar_v": v}).parameters["tau"],
    }
    for name, call in calls.items():
        for transform in (jax.jacfwd, jax.jit):
            with pytest.raises(ValueError, match=rf"^{re.escape(name.strip())} is traced \(inside jax.jit, jax.grad or jax.vmap\); (predict|synthesize|fit) checks") as info:
                transform(call)(0.3)
            # One line of ours (JAX appends its traceback-filtering note under jit).
            assert str(info.value).splitlines()[0].endswith("jaxsot.fit.make_loss (Rashba ferromagnet))")

def test_rashba_dresselhaus_torques_match_the_numpy_sea_integral():
    theta, phis, efield, tau, fermi_energy = 1.2, np.array([0.4, 1.9, 3.0]), 1.0e-3, 10.0, 1.5
    p = {"alpha": 0.05, "beta": 0.02, "j_ex": 1.0, "mass_ratio": 1.0}
    model = jaxsot.RashbaDresselhausFerromagnet(0.05, 0.01, 1.0, np.array([0.0, 0.0, 1.0]), 1.0)
    curve = jf.Curve(TORQUES, np.zeros((3, 6)), phi=phis, theta=theta, efield=efield)
    out = np.asarray(jf.predict(curve, {"beta": 0.02, "tau": tau}, fermi_energy, model=model))
    for row, phi in enumerate(phis):
        m = np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])
        a = reference.spin_response(reference.rd_hamiltonian(p, m), fermi_energy)
        kdot = -np.array([efield, 0.0]) / reference.HBAR
        expected = np.concatenate([-a @ kdot, 2.0 * p["j_ex"] / reference.HBAR * np.cross(m, a @ kdot * tau)])
        assert np.max(np.abs(out[row] - expected)) < 1e-6 * np.max(np.abs(expected))


def test_rashba_dresselhaus_fit_recovers_beta_and_tau_within_their_standard_errors():
    model = jaxsot.RashbaDresselhausFerromagnet(0.05, 0.02, 1.0, np.array([0.0, 0.0, 1.0]), 1.0)
    truth = {"beta": 0.02, "tau": 10.0}
    curve = jf.synthesize(truth, 1.5, model=model, columns=("T_DL_y", "T_FL_z"), num_points=12, noise=0.01, num=32, efield=1e-3)
    result = jf.fit(curve, 1.5, model=model, free=("beta", "tau"), guess={"beta": 0.015, "tau": 7.0}, restarts=1, num=32)
    assert result.free == ("beta", "tau") and result.units["beta"] == "eV nm" and result.derived == {}
    for name, value in truth.items():
        se = result.standard_errors[name]
        assert result.identifiable[name] and 0.0 < se < 0.05 * value
        assert abs(result.parameters[name] - value) < 4.0 * se
    assert result.parameters["alpha"] == 0.05 and "beta" in result.summary()

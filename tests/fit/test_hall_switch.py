"""The harmonic Hall fit's route switch: a data set whose restarts explore on the interpolated flux tensor and whose
polish runs on the direct Fermi-contour route uses one compiled residuals-and-Jacobian program per order in the current,
the route chosen by a traced flag (`HallStatic.switchable`, `_polar.switched_flux`) instead of a static argument.

References: the direct route as a program of its own (polar nodes 0, no interpolant in it: the route the fit used
before the switch) and the public `jaxsot.harmonic_hall_forward` / `harmonic_hall_all_orders` with polar_nodes=0; the
interpolant with too few nodes (8) differs from the direct route by far more than the tolerances, so a flag that did
not switch fails. The program count is counted from the fit's calls (distinct static arguments and argument shapes)."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import HallSettings, hall_bands, harmonic_hall_all_orders, harmonic_hall_forward
from jaxsot.fit import _hall, _hall_model
from jaxsot.fit._hall_data import HALL_FIT_PARAMETERS, HallData

# Slow tier: ~2 CPU-min cold (four every-order compilations of the Hall fit).
pytestmark = pytest.mark.slow

PARAMS = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 3.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}
FREE = ("alpha", "j_ex", "tau", "anisotropy_field")


def _program_inputs(orders, nodes, direct):
    """(x, data, static) of the fit's residuals-and-Jacobian program at 6 field points: nodes > 0 with the switch
    (the flag `direct`), nodes = 0: the static direct route."""
    settings = HallSettings(np.linspace(0.0, 2.0 * math.pi, 6, endpoint=False), np.full(6, 0.1), fermi_energy=1.5, current_density=1e11,
                            rho0=2e-7, ms_tesla=1.0, thickness=1.0, model="exact", bands=hall_bands(PARAMS, 1.5), num=32)
    r_1w, r_2w = (np.asarray(r) for r in harmonic_hall_forward(PARAMS, settings))
    data = [HallData.from_settings(r_1w, r_2w, settings, sigma_1w=1e-3, sigma_2w=1e-5)]
    values = {**{n: 0.0 for n in HALL_FIT_PARAMETERS}, **PARAMS}
    blocks, _ = _hall_model.build_blocks(data, "exact", 32, [hall_bands(PARAMS, 1.5)], [np.stack([np.full(6, 1e-3), np.full(6, 1e-5)], -1)],
                                         values, jnp.float64, orders, polar=False)
    if nodes:
        blocks = tuple({**b, "direct": jnp.asarray(direct)} for b in blocks)
    static = _hall_model.HallStatic(kinds=(("hall", orders, nodes),), free=FREE, transform=(0,) * 4, checked=False,
                                    switchable=(0,) if nodes else ())
    box = {"lower": jnp.zeros(4), "upper": jnp.ones(4), "fixed": {n: jnp.asarray(v) for n, v in values.items() if n not in FREE}}
    x = jnp.asarray([0.051, 0.98, 3.2, 1.49])
    return x, (blocks, box), static, settings


def _public(orders, x, settings):
    params = {**PARAMS, **dict(zip(FREE, map(float, x)))}
    if orders == "all":
        out = harmonic_hall_all_orders(params, settings)
        return np.asarray(out.r_1w), np.asarray(out.r_2w)
    return tuple(np.asarray(r) for r in harmonic_hall_forward(params, settings))


@pytest.mark.parametrize("orders, nodes", [("first", 4), ("all", 24), ("all", 4)])
def test_the_direct_flag_gives_the_direct_route_in_the_interpolated_program(orders, nodes):
    x, data, static, settings = _program_inputs(orders, 0, None)
    r_ref, j_ref = (np.asarray(a) for a in _hall_model.residuals_and_jacobian(x, data, static))
    r_1w, r_2w = _public(orders, x, settings)
    sigma = np.asarray(data[0][0]["sigma"])
    values = np.asarray(data[0][0]["values"])
    public = np.stack([(r_1w - values[:, 0]) / sigma[:, 0], (r_2w - values[:, 1]) / sigma[:, 1]], -1).ravel()
    assert np.max(np.abs(r_ref - public)) <= 1e-9 * np.max(np.abs(public))  # the reference is the public direct route
    out = {}
    for direct in (True, False):
        x, data, static, _ = _program_inputs(orders, nodes, direct)
        out[direct] = [np.asarray(a) for a in _hall_model.residuals_and_jacobian(x, data, static)]
    (r_dir, j_dir), (r_int, j_int) = out[True], out[False]
    scale_r, scale_j = np.max(np.abs(r_ref)), np.max(np.abs(j_ref))
    error_dir, error_int = np.max(np.abs(r_dir - r_ref)), np.max(np.abs(r_int - r_ref))
    if orders == "first" or nodes == 24:
        # First order: the direct solve itself; every order within the interpolant's tolerance (24 nodes here): the
        # continuation on the interpolant and the last Newton step on the direct route, equal to O(error^2).
        assert error_dir <= 1e-10 * scale_r
        assert np.max(np.abs(j_dir - j_ref)) <= (1e-11 if orders == "first" else 1e-8) * scale_j
    if nodes == 4:
        # 4 nodes: the interpolant is far off, so the flag visibly chose the route (every order: one Newton step on
        # the direct route squares the interpolant's error).
        assert error_int > 1e-6 * scale_r
        assert error_dir <= (1e-10 * scale_r if orders == "first" else 1e-3 * error_int)


def _explored_data():
    # As tests/fit/test_hall_best_restart.py: the box J in [0.2, 1.0] eV about the guess J = 0.6 makes the interpolant miss
    # its tolerance near J = 0.3, so the restarts explore on it and the polish runs on the direct route.
    truth = {**PARAMS, "j_ex": 0.6}
    settings = HallSettings(np.linspace(0.0, 2 * math.pi, 10, endpoint=False), np.full(10, 0.1), fermi_energy=1.5,
                            current_density=1e11, rho0=2e-7, ms_tesla=1.0, thickness=1.0, model="exact",
                            bands=jaxsot.hall_bands(truth, 1.5))
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(truth, settings))
    rng = np.random.default_rng(3)
    s_2w = 0.01 * float(np.ptp(r_2w))
    return HallData.from_settings(r_1w + 1e-4 * rng.normal(size=10), r_2w + s_2w * rng.normal(size=10), settings,
                                  sigma_1w=1e-4, sigma_2w=s_2w), truth


@pytest.mark.parametrize("orders, programs", [("first", 1), ("all", 2)])
def test_an_explored_fit_compiles_one_program_per_order(orders, programs, monkeypatch):
    data, truth = _explored_data()
    real = _hall.residuals_and_jacobian
    keys = set()

    def counted(x, data, static):
        leaves, tree = jax.tree_util.tree_flatten(data)
        keys.add((static, tree, tuple((np.shape(a), np.result_type(a)) for a in leaves), np.shape(x)))
        return real(x, data, static)

    monkeypatch.setattr(_hall, "residuals_and_jacobian", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _hall.fit_harmonic_hall(data, free=("alpha", "j_ex", "tau"), guess=dict(truth), bounds={"j_ex": (0.2, 1.0)},
                                         restarts=2, max_steps=3, seed=1, orders=orders)
    assert any("restarts on the interpolated flux tensor" in note for note in result.notes)  # the explored case
    assert len(keys) == programs
    assert all(static.switchable == (0,) for static, *_ in keys)

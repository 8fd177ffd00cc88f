"""The harmonic Hall fit's compiled programs can be kept in JAX's persistent compilation cache, which refuses
any program with a host callback (`jax._src.compiler._cache_write`): the residuals-and-Jacobian program (first
order and every order, exact bands and strong exchange; of a field table), the batched L-BFGS steps and the
derived fields hold none, while the public forward model under jit keeps its traced checks (a wrong traced input
still raises) and the fit refuses a parameter box outside the forward model's ranges up front (the check-free
kernels run only on host-verified values). The reference for "no callback": the lowered program's text (a callback
is a custom call to JAX's Python callback target, present in the checked program)."""

import dataclasses
import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import HallSettings
from jaxsot.fit import _hall, _hall_model
from jaxsot.fit._hall import FieldData, HallData
from jaxsot.fit._hall_model import verify_box

# Slow tier: lowers and compiles the harmonic Hall fit's programs at first and every order.
pytestmark = pytest.mark.slow

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}


def _callbacks(lowered) -> int:
    return len(re.findall(r"callback", lowered.as_text()))


def _data(model):
    phi = np.tile(np.linspace(0.0, 2 * math.pi, 6, endpoint=False), 2)
    settings = HallSettings(phi, np.repeat([0.1, 0.25], 6), fermi_energy=1.5, current_density=1e11, rho0=2e-7, ms_tesla=1.0,
                            thickness=1.0, model=model, bands=jaxsot.hall_bands(TRUTH, 1.5) if model == "exact" else None, num=16)
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(TRUTH, settings))
    return HallData.from_settings(r_1w, r_2w, settings, sigma_1w=1e-4, sigma_2w=1e-5)


def _fit_arguments(model, monkeypatch, data=None):
    """(x, data, static) of the fit's first residuals-and-Jacobian call (the fit stops there)."""
    captured = []

    class Captured(Exception):
        pass

    def grab(x, data, static):
        captured.append((x, data, static))
        raise Captured

    monkeypatch.setattr(_hall, "residuals_and_jacobian", grab)
    with warnings.catch_warnings(), pytest.raises(Captured):
        warnings.simplefilter("ignore")
        _hall.fit_harmonic_hall(_data(model) if data is None else data, model=model, num=16, restarts=2)
    return captured[0]


@pytest.mark.parametrize("model", ["exact", "strong_exchange"])
def test_hall_fit_programs_hold_no_host_callback(model, monkeypatch):
    x, data, static = _fit_arguments(model, monkeypatch)
    assert static.checked is False  # the Rashba fit runs on its check-free kernels
    for orders in ("first", "all"):
        fit_static = dataclasses.replace(static, kinds=tuple(("hall", orders) + k[2:] for k in static.kinds))
        assert _callbacks(_hall_model.residuals_and_jacobian.lower(x, data, fit_static)) == 0, orders
        if model == "exact":
            # The same program with the checks (as the public functions trace it) does hold callbacks: the test
            # can tell the two apart.
            checked = dataclasses.replace(fit_static, checked=True)
            assert _callbacks(_hall_model.residuals_and_jacobian.lower(x, data, checked)) > 0, orders
    u0 = jnp.zeros((2, len(static.free)), x.dtype)
    carry = _hall_model._start_batched(u0, data, static)
    assert _callbacks(_hall_model._steps_batched.lower(carry, data, jnp.asarray(3, jnp.int32), static)) == 0


def test_field_table_fit_program_holds_no_host_callback(monkeypatch):
    table = FieldData(("B_DL", "B_FL"), np.array([[1e-4, -2e-3], [1.1e-4, -2.1e-3], [0.9e-4, -1.9e-3]]), theta_m=[0.0, 0.4, 0.8],
                      fermi_energy=1.5, rho0=2e-7, ms_tesla=1.0, thickness=1.0, sigma=np.full((3, 2), 1e-5))
    x, data, static = _fit_arguments("exact", monkeypatch, table)
    assert _callbacks(_hall_model.residuals_and_jacobian.lower(x, data, static)) == 0
    assert _callbacks(_hall_model.residuals_and_jacobian.lower(x, data, dataclasses.replace(static, checked=True))) > 0


def test_derived_fields_program_holds_no_host_callback():
    from jaxsot._llg import Magnet, SpinOrbitTorque
    from jaxsot.fit._hall_report import _scalar_fields

    efield = jnp.asarray([2e-7 * 1e11 * 1e-9, 0.0])
    template = SpinOrbitTorque(0.05, 1.0, 1.5, efield, 10.0, method="exact", num=16)
    micro = jnp.asarray([0.05, 1.0, 10.0, 1.0])
    lowered = _scalar_fields.lower(template, Magnet(1.0, 1.0, 0.0), jnp.asarray([[0.0, 0.0, 1.0]]), jnp.asarray(2e-7), micro, "exact")
    assert _callbacks(lowered) == 0


def test_public_forward_model_still_checks_traced_inputs():
    settings = HallSettings(np.linspace(0.0, 6.0, 4), np.full(4, 0.1), fermi_energy=1.5, current_density=1e11, rho0=2e-7,
                            ms_tesla=1.0, thickness=1.0, model="strong_exchange")
    forward = jax.jit(lambda j_ex, tau: jaxsot.harmonic_hall_forward({**TRUTH, "j_ex": j_ex, "tau": tau}, settings)[1])
    assert np.all(np.isfinite(np.asarray(forward(1.0, 10.0))))
    with pytest.raises(Exception, match="j_ex is out of range"):
        jax.block_until_ready(forward(-1.0, 10.0))
    with pytest.raises(Exception, match="tau is out of range"):
        jax.block_until_ready(forward(1.0, float("nan")))


def test_fit_refuses_a_box_outside_the_forward_model_before_compiling():
    values = {**TRUTH, "r_ane": 0.0, "oersted_field": 0.0, "r_ohe": 0.0, "r_ane_field": 0.0}
    verify_box(values, ("mass_ratio", "tau"), [0.5, 1.0], [3.0, 30.0], "exact")  # inside: no error
    with pytest.raises(ValueError, match=r"mass_ratio in \[0.0005, 3\].*mass_ratio"):
        verify_box(values, ("mass_ratio",), [5e-4], [3.0], "exact")  # below the model's MASS_RATIO_RANGE
    with pytest.raises(ValueError, match="tau"):
        verify_box(values, ("tau",), [-1.0], [30.0], "strong_exchange")
    with pytest.raises(ValueError, match="j_ex"):
        verify_box({**values, "j_ex": math.inf}, ("tau",), [1.0], [30.0], "strong_exchange")


@pytest.mark.parametrize("orders", ["first", "all"])
def test_restarts_explore_on_the_interpolant_accurate_at_the_guess_and_the_fit_ends_on_the_direct_route(orders, monkeypatch):
    # Box J in [0.2, 1.0] eV around the guess J = 0.6: the interpolated flux tensor misses its tolerance near
    # J = 0.3 (alpha k_F ~ J), so the data set is on the direct route, but it is accurate at the guess, where
    # the restarts may explore on it. The result equals the fit on the direct route throughout (POLAR_ROUTE off,
    # an independent run) far below one standard error; at every order also after the polish on the interpolant.
    truth = {**TRUTH, "j_ex": 0.6, "tau": 3.0}
    phi = np.linspace(0.0, 2 * math.pi, 10, endpoint=False)
    settings = HallSettings(phi, np.full(10, 0.1), fermi_energy=1.5, current_density=1e11, rho0=2e-7, ms_tesla=1.0,
                            thickness=1.0, model="exact", bands=jaxsot.hall_bands(truth, 1.5))
    r_1w, r_2w = (np.asarray(x) for x in jaxsot.harmonic_hall_forward(truth, settings))
    rng = np.random.default_rng(3)
    s_2w = 0.01 * float(np.ptp(r_2w))
    data = HallData.from_settings(r_1w + 1e-4 * rng.normal(size=10), r_2w + s_2w * rng.normal(size=10), settings,
                                  sigma_1w=1e-4, sigma_2w=s_2w)
    values = {**_hall_model.default_guess([data]), **truth}
    bands = _hall_model.settle_box(dict(values), [data], "exact", ("j_ex",), [0.2], [1.0], [True])
    kinds = (("hall", "first", _hall_model.polar_nodes_of(bands.points, [data], bands, "exact", 64)[0]),)
    assert kinds[0][2] == 0
    explore = _hall_model.exploration_nodes(values, [data], bands, "exact", 64, kinds)
    assert list(explore) == [0] and explore[0] > 0
    assert _hall_model.exploration_nodes({**values, "j_ex": 0.3}, [data], bands, "exact", 64, kinds) == {}
    fits, routes = {}, {True: [], False: []}
    real = _hall.residuals_and_jacobian
    for route in (True, False):
        monkeypatch.setattr(_hall_model, "POLAR_ROUTE", route)

        def recorded(x, data, static, route=route):  # the (orders, nodes) each residual program ran with (0: direct)
            kind = static.kinds[0]
            # An explored data set holds both routes in one program, chosen by its traced flag (`HallStatic.switchable`).
            direct = kind[2] == 0 or (0 in static.switchable and bool(data[0][0]["direct"]))
            routes[route].append((kind[1], 0 if direct else kind[2]))
            return real(x, data, static)

        monkeypatch.setattr(_hall, "residuals_and_jacobian", recorded)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[route] = _hall.fit_harmonic_hall(data, free=("alpha", "j_ex", "tau"), guess={n: truth[n] for n in TRUTH if n != "j_ex"}
                                                  | {"j_ex": 0.6}, bounds={"j_ex": (0.2, 1.0)}, restarts=2, orders=orders)
    assert any("restarts on the interpolated flux tensor" in n for n in fits[True].notes), fits[True].notes
    assert not any("interpolated" in n for n in fits[False].notes), fits[False].notes
    # The restarts did run on the interpolant: each Levenberg-Marquardt run evaluates its start and at least one
    # point per step, all at first order on the explored node count (none of them on the direct route).
    interpolant_calls = routes[True].count(("first", explore[0]))
    assert interpolant_calls >= sum(1 + row["steps"] for row in fits[True].restarts), (routes[True], fits[True].restarts)
    assert routes[True][-1] == (orders, 0)  # the fit ends on the direct route
    assert set(routes[False]) <= {("first", 0), (orders, 0)}, routes[False]
    # The restarts' end points, ranked on the direct route: both losses recorded, the best of the direct ones chosen.
    direct = [row["direct_loss"] for row in fits[True].restarts]
    assert fits[True].best == int(np.argmin(direct)), fits[True].restarts
    for row in fits[True].restarts:
        assert math.isclose(row["direct_loss"], row["loss"], rel_tol=1e-3), row  # the interpolant is accurate there
    assert all("direct_loss" not in row for row in fits[False].restarts)
    for name in ("alpha", "j_ex", "tau"):
        difference = abs(fits[True].parameters[name] - fits[False].parameters[name])
        assert difference <= 1e-3 * fits[False].standard_errors[name], (name, difference)


def test_lbfgs_progress_goes_through_progress_not_stdout(capsys):
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _hall.fit_harmonic_hall(_data("strong_exchange"), model="strong_exchange", optimizer="lbfgs", restarts=2,
                                         max_steps=12, report_every=4, progress=lines.append)
    assert capsys.readouterr().out == ""  # nothing printed from inside the compiled optimizer
    iterations = [line for line in lines if re.match(r"  iteration +\d+: loss ", line)]
    steps = [int(re.match(r"  iteration +(\d+)", line).group(1)) for line in iterations]
    assert steps and all(s % 4 == 0 for s in steps) and steps == sorted(steps), lines
    # Each line lists both restarts' losses at that iteration (or "--" for a run that had stopped).
    for line, step in zip(iterations, steps):
        shown = re.match(r"  iteration +\d+: loss (.*) \(\d", line).group(1).split(", ")
        trace = result.trace
        assert len(shown) == 2
        for value, row in zip(shown, trace):
            assert value == "--" or math.isclose(float(value), row[step], rel_tol=1e-5), (line, row[step])
    assert sum(bool(re.match(r"  restart \d/2: loss ", line)) for line in lines) == 2

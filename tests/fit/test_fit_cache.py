"""The paper-unit fit's compiled programs can be kept in JAX's persistent compilation cache, which refuses any
program with a host callback (`jax._src.compiler._cache_write`): the optimizer's start and steps (batched and one
start at a time) and the residuals-and-Jacobian program of the standard errors hold none, for the exact bands
and the strong-exchange closed forms. The forward model builds its Rashba model without the constructor's traced
checks (`_core._model.unchecked_rashba`) because `fit` checks every corner of its parameter box on the host
(`settle_box` builds the model there) and `predict` checks its concrete values. The reference for "no callback":
the lowered program's text (a callback is a custom call to JAX's Python callback target, present when the
checked constructor is traced instead, which the last test shows)."""

import dataclasses
import re
import warnings

import jax
import jax.numpy as jnp
import pytest

import jaxsot
import jaxsot.fit as jf
from jaxsot.fit import _fit, _forward, _optimize

# Slow tier: lowers the fit's optimizer and Jacobian programs.
pytestmark = pytest.mark.slow

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}
COLUMNS = ("rho_ratio", "T_DL_x", "T_DL_y", "T_FL_z")


def _callbacks(lowered) -> int:
    return len(re.findall(r"callback", lowered.as_text()))


def _fit_arguments(model, monkeypatch, **options):
    """(u0, data, static) of the fit's first optimizer call (the fit stops there)."""
    captured = []

    class Captured(Exception):
        pass

    def grab(u0, data, static, **_):
        captured.append((u0, data, static))
        raise Captured

    monkeypatch.setattr(_fit, "run_batched", grab)
    curve = jf.synthesize(TRUTH, 0.5, columns=COLUMNS, num_points=8, noise=0.02, seed=3, model=model, num=16)
    free = ("alpha", "j_ex", "mass_ratio", "tau")  # every traced model parameter
    with warnings.catch_warnings(), pytest.raises(Captured):
        warnings.simplefilter("ignore")
        jf.fit(curve, 0.5, model=model, num=16, restarts=2, free=free, **options)
    u0, data, static = captured[0]
    return u0, data, dataclasses.replace(static, report_every=0)


def _programs(u0, data, static):
    """The lowered start, steps (batched and single) and residuals-and-Jacobian programs."""
    stop = jnp.asarray(static.max_steps, jnp.int32)
    carry = jax.eval_shape(_optimize._start_batched, u0, data, static)
    single = jax.eval_shape(_optimize._start_single, u0[0], data, static)
    return {
        "start": _optimize._start_batched.lower(u0, data, static),
        "steps": _optimize._steps_batched.lower(carry, data, stop, static),
        "start (single)": _optimize._start_single.lower(u0[0], data, static),
        "steps (single)": _optimize._steps_single.lower(single, data, stop, static),
        "jacobian": _optimize.residuals_and_jacobian.lower(u0[0], data, static),
    }


@pytest.mark.parametrize("model", ["exact", "strong_exchange"])
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_fit_programs_hold_no_host_callback(model, optimizer, monkeypatch):
    u0, data, static = _fit_arguments(model, monkeypatch, optimizer=optimizer)
    for name, lowered in _programs(u0, data, static).items():
        assert _callbacks(lowered) == 0, name


def test_predict_program_holds_no_host_callback():
    curve = jf.Curve(COLUMNS, jnp.zeros((3, 4)), theta=[1.0, 1.0, 1.5], phi=[0.3, 0.5, 0.0], efield=1e-4)
    values = _forward.check_params(TRUTH)
    bands = _forward.bands_at(values, 0.5, _forward.distinct_polar([curve]))
    lowered = _forward._predict_jit.lower(values, curve.columns, curve.kind, _forward.curve_arrays(curve), 0.5, bands, 16, "exact")
    assert _callbacks(lowered) == 0


def test_the_checked_model_would_hold_callbacks(monkeypatch):
    # The test can tell the two apart: with the checked constructor in the forward model, the same programs that
    # evaluate the model hold callbacks (another `num`, so that no program traced above is reused from jit's cache).
    u0, data, static = _fit_arguments("exact", monkeypatch)
    monkeypatch.setattr(_forward, "unchecked_rashba", jaxsot.RashbaFerromagnet)
    programs = _programs(u0, data, dataclasses.replace(static, num=17))
    for name in ("steps", "steps (single)", "jacobian"):  # L-BFGS's start does not evaluate the model
        assert _callbacks(programs[name]) > 0, name

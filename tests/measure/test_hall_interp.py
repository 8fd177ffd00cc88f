"""The interpolated Fermi-sea flux tensor (jaxsot._measure._polar), the harmonic Hall fits' fast route,
against the direct route: one independent `contour_fluxes` solve at each magnetization.

The interpolant rests on the Rashba ferromagnet's rotation covariance A(R M) = R A(M) R_2^T and on six
functions of M_z sampled in the x-z plane only; every reference below is a direct solve at the point
itself (random azimuths, the poles), so a wrong assembly, a wrong sign of J or a wrong node map fails.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsot import HallSettings, hall_bands, harmonic_hall_forward
from jaxsot._core._model import RashbaFerromagnet
from jaxsot._ensemble._fluxes import contour_fluxes
from jaxsot._measure._polar import flux_at, flux_table, interpolation_errors, polar_nodes_for
from jaxsot._measure._quasistatic import harmonic_hall_all_orders
from jaxsot.fit import _hall_model
from jaxsot.fit._hall_data import HALL_FIT_PARAMETERS, HallData

# Slow tier: the interpolated flux tensor and its gradients (compile-heavy).
pytestmark = pytest.mark.slow

ALPHA, J_EX, FERMI = 0.05, 1.0, 1.5
PARAMS = {"alpha": ALPHA, "j_ex": J_EX, "mass_ratio": 1.0, "tau": 3.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3,
          "r_ane": 2e-3, "oersted_field": 1e-4}
BANDS = (-1, 1)


def _directions(count, seed):
    m = np.random.default_rng(seed).normal(size=(count, 3))
    m = np.concatenate([m, [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [2e-4, -1e-4, 1.0]]])
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


def _direct(m, alpha=ALPHA, j_ex=J_EX, num=64):
    solve = jax.jit(jax.vmap(lambda mi: contour_fluxes(RashbaFerromagnet(jnp.asarray(alpha), jnp.asarray(j_ex), mi, jnp.asarray(1.0)),
                                                       jnp.asarray(FERMI), BANDS, num)[0]))
    return np.asarray(solve(jnp.asarray(m)))


def _settings(phi, field, theta_h=math.pi / 2, easy_axis=(0.0, 0.0, 1.0)):
    return HallSettings(phi, field, theta_h=theta_h, fermi_energy=FERMI, current_density=1e11, rho0=2e-7, ms_tesla=1.0, thickness=1.0,
                        easy_axis=easy_axis, model="exact", bands=hall_bands(PARAMS, FERMI))


def test_flux_tensor_matches_direct_solves_at_random_directions_and_poles():
    m = _directions(24, 1)
    direct = _direct(m)
    table = flux_table(jnp.asarray(ALPHA), jnp.asarray(J_EX), jnp.asarray(1.0), jnp.asarray(FERMI), bands=BANDS, num=64, nodes=32)
    fast = np.asarray(jax.vmap(lambda mi: flux_at(table, mi))(jnp.asarray(m)))
    scale = np.max(np.abs(direct))
    assert np.max(np.abs(fast - direct)) <= 1e-12 * scale
    # The tensor is far from rotation invariant: the in-plane azimuth matters (the check is not vacuous).
    assert np.max(np.abs(direct[0] - direct[1])) > 1e-3 * scale


def test_too_few_nodes_are_seen_by_the_check():
    errors = interpolation_errors(ALPHA, J_EX, 1.0, FERMI, bands=BANDS, num=64, ladder=(8, 24))
    assert errors[8] > 1e-6 and errors[24] < 1e-11
    # Few rays: the direct route's own ray quadrature is not rotation covariant to 5e-10 -> the direct route.
    assert polar_nodes_for([PARAMS], FERMI, bands=BANDS, num=16)[0] == 0
    nodes, error = polar_nodes_for([PARAMS], FERMI, bands=BANDS, num=64)
    assert nodes == 20 and error < 5e-10


def test_hall_signals_and_gradients_match_the_direct_route():
    phi = np.linspace(0.0, 2.0 * math.pi, 9, endpoint=False)
    # Perpendicular magnet in in-plane fields (zero field: M at the pole), and an in-plane magnet in a tilted field.
    cases = [(_settings(np.tile(phi, 2), np.repeat([0.0, 0.2], 9)), PARAMS),
             (_settings(phi, 0.05, theta_h=1.2, easy_axis=(1.0, 0.0, 0.0)), {**PARAMS, "anisotropy_field": 0.02})]
    for settings, params in cases:
        direct = [np.asarray(r) for r in harmonic_hall_forward(params, settings)]
        fast = [np.asarray(r) for r in harmonic_hall_forward(params, settings, polar_nodes=24)]
        for f, d in zip(fast, direct):
            assert np.all(np.isfinite(d)) and np.max(np.abs(f - d)) <= 1e-10 * np.max(np.abs(d))

        def loss(x, nodes, settings=settings, params=params):
            r_1w, r_2w = harmonic_hall_forward({**params, "alpha": x[0], "j_ex": x[1], "anisotropy_field": x[2]}, settings,
                                               polar_nodes=nodes)
            return jnp.sum(r_2w * jnp.cos(settings.phi_h)) + 1e-3 * jnp.sum(r_1w)

        x = jnp.asarray([params["alpha"], params["j_ex"], params["anisotropy_field"]])
        # jit(grad): an eager gradient runs the forward model's outer steps op by op (one compilation each).
        g_direct, g_fast = (np.asarray(jax.jit(jax.grad(loss), static_argnums=1)(x, n)) for n in (0, 24))
        assert np.all(np.abs(g_fast - g_direct) <= 1e-8 * np.abs(g_direct))


def test_every_order_signals_match_the_direct_route():
    settings = _settings(np.linspace(0.0, 2.0 * math.pi, 6, endpoint=False), 0.1)
    direct = harmonic_hall_all_orders(PARAMS, settings, phases=8)
    fast = harmonic_hall_all_orders(PARAMS, settings, phases=8, polar_nodes=24)
    for f, d in ((fast.r_1w, direct.r_1w), (fast.r_2w, direct.r_2w)):
        assert np.max(np.abs(np.asarray(f) - np.asarray(d))) <= 1e-10 * np.max(np.abs(np.asarray(d)))


def test_fit_residuals_and_jacobian_take_the_fast_route_only_where_checked(monkeypatch):
    settings = _settings(np.linspace(0.0, 2.0 * math.pi, 12, endpoint=False), 0.1)
    r_1w, r_2w = (np.asarray(r) for r in harmonic_hall_forward(PARAMS, settings))
    data = [HallData.from_settings(r_1w, r_2w + 1e-6, settings, sigma_1w=1e-3, sigma_2w=1e-5)]
    free = ("alpha", "j_ex", "tau", "anisotropy_field")
    out = {}
    values = {**{n: 0.0 for n in HALL_FIT_PARAMETERS}, **PARAMS}
    for route in (False, True):
        monkeypatch.setattr(_hall_model, "POLAR_ROUTE", route)
        bands = _hall_model.settle_box(dict(values), data, "exact", free, [0.03, 0.8, 1.0, 1.4], [0.08, 1.2, 10.0, 1.6], [True] * 4)
        blocks, kinds = _hall_model.build_blocks(data, "exact", 64, bands, [np.stack([np.full(12, 1e-3), np.full(12, 1e-5)], -1)],
                                                 dict(values), jnp.float64)
        assert (kinds[0][2] > 0) == route
        static = _hall_model.HallStatic(kinds=kinds, free=free, transform=(0,) * 4)
        box = {"lower": jnp.zeros(4), "upper": jnp.ones(4), "fixed": {n: jnp.asarray(v) for n, v in values.items() if n not in free}}
        x = jnp.asarray([0.051, 0.98, 3.2, 1.49])
        out[route] = [np.asarray(a) for a in _hall_model.residuals_and_jacobian(x, (blocks, box), static)]
    (r_d, j_d), (r_f, j_f) = out[False], out[True]
    assert np.max(np.abs(r_f - r_d)) <= 1e-9 * np.max(np.abs(r_d))
    assert np.max(np.abs(j_f - j_d)) <= 1e-8 * np.max(np.abs(j_d))


def test_polar_nodes_refused_where_not_allowed():
    settings = _settings([0.0, 1.0], 0.1)
    for bad in (3, -1, 200, 2.5):
        with pytest.raises(ValueError, match="polar_nodes"):
            harmonic_hall_forward(PARAMS, settings, polar_nodes=bad)


def test_the_check_sees_the_error_peak_inside_a_box_and_at_the_best_fit():
    # Where alpha k_F ~ J (here J = 0.3 eV) the flux tensor is not smooth in M_z and no node count of the
    # ladder reaches the tolerance; at J = 0.15 and 0.6 a few nodes do. A box [0.15, 0.6] in J must not
    # pass on its corners alone.
    inside = interpolation_errors(ALPHA, 0.3, 1.0, FERMI, bands=BANDS, num=64, ladder=(24, 64))
    assert inside[24] > 1e-6 and inside[64] > 1e-6
    settings = _settings(np.linspace(0.0, 2.0 * math.pi, 8, endpoint=False), 0.1)
    r_1w, r_2w = (np.asarray(r) for r in harmonic_hall_forward({**PARAMS, "j_ex": 0.6}, settings))
    data = [HallData.from_settings(r_1w, r_2w, settings, sigma_1w=1e-3, sigma_2w=1e-5)]
    values = {**{n: 0.0 for n in HALL_FIT_PARAMETERS}, **PARAMS, "j_ex": 0.6}
    bands = _hall_model.settle_box(dict(values), data, "exact", ("j_ex",), [0.15], [0.6], [True])
    assert any(abs(p["j_ex"] - 0.3) < 0.05 for p in bands.points)  # interior probes, not only the corners
    assert _hall_model.polar_nodes_of(bands.points, data, bands, "exact", 64) == [0]
    # After a fit: a data set whose chosen nodes miss the tolerance at the best point goes to the direct route.
    static = _hall_model.HallStatic(kinds=(("hall", "first", 64),), free=("j_ex",), transform=(0,))
    kept, none = _hall_model.direct_where_inexact(static, {**values, "j_ex": 0.6}, data, bands, 64)
    moved, which = _hall_model.direct_where_inexact(static, {**values, "j_ex": 0.3}, data, bands, 64)
    assert kept is static and none == [] and which == [0] and moved.kinds == (("hall", "first", 0),)
    # hall_loss is evaluated wherever its caller likes: the direct route, whatever the guess would allow.
    from jaxsot.fit import hall_loss

    loss = hall_loss(data, {**values, "j_ex": 1.0})
    assert [k[2] for k in loss.keywords["static"].kinds] == [0]
    assert float(loss({**values, "j_ex": 0.6})) < 1e-20

"""SOT effective fields and efficiencies (jaxsot._measure._fields) against independent references.

References: SI closed forms of the strong-exchange fields and efficiencies (conftest.py, brentq band
densities); the exact-band fields from an independent NumPy contour flux (brentq radii, closed-form
spins: tests/conftest.py contour_spin_flux) with SI constants written out; the library's LLG route
`jaxsot.llg_rates` only for the convention T = -gamma M x B (it shares the contour solver, so it is
not a reference for the values); symmetries of
the exact model (parity in M, rotation about z); the rigid-shift identity delta S = tau dS/dt, which makes
B_DL = (hbar/(2 J tau)) M x B_FL; convergence of exact to strong exchange as (alpha k_F/J)^2.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
from jaxsot import effective_fields, sot_efficiency

J_EX, FERMI, TAU = 1.0, 1.5, 10.0  # eV, eV (both bands), fs
RHO0, CURRENT = 2.0e-7, 1.0e11  # ohm m, A/m^2
MS, THICKNESS = 1.0, 1.0  # T, nm
HBAR = 0.6582119569  # eV fs


def directions():
    rng = np.random.default_rng(3)
    m = rng.normal(size=(6, 3))
    m = np.concatenate([m, [[0, 0, 1.0], [1.0, 0, 0], [0.6, 0.0, -0.8]]])
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


def make(alpha, angle=0.0, method="exact"):
    e = RHO0 * CURRENT * 1e-9
    efield = jnp.asarray([e * math.cos(angle), e * math.sin(angle)])
    torque = jaxsot.SpinOrbitTorque(alpha, J_EX, FERMI, efield, TAU, method=method, num=64)
    return jaxsot.Magnet(MS, THICKNESS, 0.05), torque


@pytest.fixture(scope="module")
def fields():
    magnet, torque = make(0.02)
    m = directions()
    # One call: M, -M (parity) in one batch of the same shape as the rotated call below.
    return magnet, torque, m, effective_fields(magnet, torque, np.concatenate([m, -m]), RHO0)


def test_strong_exchange_matches_si_closed_forms(fields, si):
    magnet, torque, m, result = fields
    b_fl, b_dl = si.strong_fields_si(0.02, J_EX, FERMI, TAU, CURRENT, RHO0, MS, THICKNESS)
    strong = result.strong_exchange
    finite = np.abs(m[:, 1]) < 0.999
    assert float(result.current_density) == pytest.approx(CURRENT, rel=1e-12)
    np.testing.assert_allclose(np.asarray(strong.field_like_scalar)[:9][finite], b_fl, rtol=1e-8)
    np.testing.assert_allclose(np.asarray(strong.damping_like_scalar)[:9][finite], b_dl, rtol=1e-8)
    # Vectors: B_FL = B_FL^s P_perp y, B_DL = B_DL^s M x y (no other structure in this limit).
    y = np.array([0.0, 1.0, 0.0])
    mm = np.concatenate([m, -m])
    np.testing.assert_allclose(strong.field_like, b_fl * (y - mm * mm[:, 1:2]), atol=1e-12 * abs(b_fl))
    np.testing.assert_allclose(strong.damping_like, b_dl * np.cross(mm, y), atol=1e-12 * abs(b_dl))
    # Efficiencies xi = (2e/hbar) M_s t_F B/j; closed forms xi_DL = -(e^2 rho0/hbar) n_p alpha/J,
    # xi_FL = -2 alpha n_p e^2 rho0 tau/hbar^2 (SI). Tolerance 1e-8: the 10-digit hbar [eV fs] and [J s] differ by 4e-10.
    n_lower, n_upper = si.band_densities(0.02, J_EX, FERMI)
    n_p = (n_lower - n_upper) * 1e18
    alpha_si = 0.02 * si.E_C * 1e-9
    xi_dl = -(si.E_C**2 * RHO0 / si.HBAR_SI) * n_p * alpha_si / (J_EX * si.E_C)
    xi_fl = -2.0 * alpha_si * n_p * si.E_C**2 * RHO0 * TAU * 1e-15 / si.HBAR_SI**2
    assert float(strong.damping_like_efficiency[0]) == pytest.approx(xi_dl, rel=1e-8)
    assert float(strong.field_like_efficiency[0]) == pytest.approx(xi_fl, rel=1e-8)
    assert float(sot_efficiency(b_dl / CURRENT, MS, THICKNESS)) == pytest.approx(xi_dl, rel=1e-8)


def test_exact_fields_match_an_independent_numpy_contour_flux(fields, ref, si):
    """B_FL = (J/(n_mu mu_B)) P_perp delta S, B_DL = (hbar/(2 n_mu mu_B)) M x dS/dt with NumPy fluxes."""
    _, _, m, result = fields
    e = RHO0 * CURRENT * 1e-9  # V/nm
    kdot = ref.CHARGE * np.array([e, 0.0]) / ref.HBAR
    moment_ev = MS / si.MU0 * THICKNESS * 1e-9 * 1e-18 / si.E_C  # n_mu mu_B = M_s d [eV/(T nm^2)] (1 J = 1/e eV)
    for index in (0, 3, 7):  # two random directions and M = x
        mm = m[index]
        p = ref.make_case("fields", 0.02, J_EX, mm)
        spin_shift = ref.contour_spin_flux(p, FERMI, kdot * TAU, num=128)
        spin_rate = ref.contour_spin_flux(p, FERMI, kdot, num=128)
        b_fl = J_EX / moment_ev * (spin_shift - mm * (mm @ spin_shift))
        b_dl = ref.HBAR / (2 * moment_ev) * np.cross(mm, spin_rate)
        np.testing.assert_allclose(result.exact.field_like[index], b_fl, rtol=1e-9, atol=1e-12 * np.linalg.norm(b_fl))
        np.testing.assert_allclose(result.exact.damping_like[index], b_dl, rtol=1e-9, atol=1e-12 * np.linalg.norm(b_dl))


@pytest.mark.slow  # the LLG torques compiled
def test_convention_against_llg_torques(fields):
    """T_FL = -gamma M x B_FL and T_DL = -gamma M x B_DL reproduce the LLG's torques, both methods."""
    magnet, torque, m, result = fields
    for method, sot in (("exact", result.exact), ("strong_exchange", result.strong_exchange)):
        _, tor = make(0.02, method=method)
        rates = jaxsot.llg_diagnostics(magnet, tor, jnp.asarray(m))  # jitted llg_rates over the directions
        t_fl = -magnet.gamma * np.cross(m, sot.field_like[: len(m)])
        t_dl = -magnet.gamma * np.cross(m, sot.damping_like[: len(m)])
        np.testing.assert_allclose(t_fl, rates["field_like"], rtol=1e-8, atol=1e-9 * float(np.max(np.abs(rates["field_like"]))))
        np.testing.assert_allclose(t_dl, rates["damping_like"], rtol=1e-8, atol=1e-9 * float(np.max(np.abs(rates["damping_like"]))))
        # Both fields are perpendicular to M.
        mm = np.concatenate([m, -m])
        assert np.max(np.abs(np.sum(np.asarray(sot.field_like) * mm, -1))) < 1e-12 * np.max(np.abs(sot.field_like))
        assert np.max(np.abs(np.sum(np.asarray(sot.damping_like) * mm, -1))) < 1e-12 * np.max(np.abs(sot.damping_like))


def test_exact_symmetries_and_rigid_shift_identity(fields):
    magnet, torque, m, result = fields
    exact = result.exact
    b_fl, b_dl = np.asarray(exact.field_like), np.asarray(exact.damping_like)
    n = len(m)
    scale_fl, scale_dl = np.max(np.abs(b_fl)), np.max(np.abs(b_dl))
    # Parity: B_FL even, B_DL odd in M (exact bands, first order in E).
    np.testing.assert_allclose(b_fl[n:], b_fl[:n], atol=1e-9 * scale_fl)
    np.testing.assert_allclose(b_dl[n:], -b_dl[:n], atol=1e-9 * scale_dl)
    # Rigid shift: delta S = A Delta k = tau A k' = tau dS/dt, so B_DL = (hbar/(2 J tau)) M x B_FL.
    mm = np.concatenate([m, -m])
    np.testing.assert_allclose(b_dl, HBAR / (2.0 * J_EX * TAU) * np.cross(mm, b_fl), atol=1e-9 * scale_dl)
    # Rotation about z by beta of M and the current rotates both fields.
    beta = 0.7
    rot = np.array([[math.cos(beta), -math.sin(beta), 0], [math.sin(beta), math.cos(beta), 0], [0, 0, 1.0]])
    magnet, rotated = make(0.02, angle=beta)
    turned = effective_fields(magnet, rotated, np.concatenate([m, -m]) @ rot.T, RHO0)
    np.testing.assert_allclose(turned.exact.field_like, b_fl @ rot.T, atol=1e-8 * scale_fl)
    np.testing.assert_allclose(turned.exact.damping_like, b_dl @ rot.T, atol=1e-8 * scale_dl)
    # The scalar projections use the rotated current frame: unchanged.
    np.testing.assert_allclose(turned.exact.field_like_scalar, exact.field_like_scalar, rtol=1e-7)


def test_exact_tends_to_strong_exchange_as_alpha_squared(si):
    """Relative difference of the exact and strong-exchange fields falls as (alpha k_F/J)^2."""
    m = directions()
    errors = []
    for alpha in (0.01, 0.02):
        magnet, torque = make(alpha)
        result = effective_fields(magnet, torque, np.concatenate([m, -m]), RHO0)  # the fixture's shape: no recompile
        b_ex, b_se = np.asarray(result.exact.field_like), np.asarray(result.strong_exchange.field_like)
        errors.append(np.linalg.norm(b_ex - b_se) / np.linalg.norm(b_se))
    slope = math.log(errors[1] / errors[0]) / math.log(2.0)
    assert 1.9 < slope < 2.1, (errors, slope)
    assert errors[0] < 5e-3


def test_errors_name_the_problem():
    magnet, torque = make(0.02)
    with pytest.raises(ValueError, match="rho0"):
        effective_fields(magnet, torque, [0, 0, 1.0], -1.0)
    zero = jaxsot.SpinOrbitTorque(0.02, J_EX, FERMI, jnp.zeros(2), TAU)
    with pytest.raises(ValueError, match="efield"):
        effective_fields(magnet, zero, [0, 0, 1.0], RHO0)
    with pytest.raises(ValueError, match="methods"):
        effective_fields(magnet, torque, [0, 0, 1.0], RHO0, methods=("kubo",))

"""The macrospin LLG driven by the Fermi sea of non-Rashba models (jaxsot.ModelTorque).

Independent references, NumPy/SciPy only: the electron spin response of the sea from
tests/model_reference.py (an area integral of NumPy eigh spins, not the library's contour fluxes). The
torques are then T1 = (2J/hbar) M x A Delta k, T2 = -A k', and the LLG is integrated by
scipy.integrate.solve_ivp (DOP853) with these torques.
"""

import importlib.util
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import jaxsot

# Slow tier: brute-force sea sums and solve_ivp references of other models.
pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("model_reference", pathlib.Path(__file__).parents[1] / "model_reference.py")
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)
HBAR, EFIELD, TAU = _reference.HBAR, _reference.EFIELD, _reference.TAU
rd_hamiltonian, lattice_hamiltonian, reference_torques = _reference.rd_hamiltonian, _reference.lattice_hamiltonian, _reference.reference_torques

MU_B_J = 9.2740100783e-24
MU0 = 1.25663706212e-6
GAMMA_PER_FS_T = 2.0 * 5.7883818060e-5 / HBAR  # g mu_B/hbar with g = 2 [rad/(fs T)]


CASES = {
    "rashba-dresselhaus": (
        rd_hamiltonian,
        {"alpha": 0.03, "beta": 0.012, "j_ex": 0.5},
        0.7,
        lambda p, m: jaxsot.RashbaDresselhausFerromagnet(p["alpha"], p["beta"], p["j_ex"], m),
    ),
    # Low filling (k_F a ~ 0.8): the seas are star-shaped about k = 0.
    "square-lattice": (
        lattice_hamiltonian,
        {"t": 1.0, "a": 0.4, "lam": 0.1, "j_ex": 0.3},
        0.45,
        lambda p, m: jaxsot.SquareLatticeRashbaFerromagnet(p["t"], p["a"], p["lam"], p["j_ex"], m),
    ),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    h_of_m, p, fermi_energy, build = CASES[request.param]
    model = build(p, np.array([0.0, 0.0, 1.0]))
    torque = jaxsot.ModelTorque(model, fermi_energy, jnp.asarray(EFIELD), TAU, num=64)
    return request.param, h_of_m, p, fermi_energy, torque


@pytest.mark.parametrize("m", [(0.0, 0.0, 1.0), (0.6, -0.48, 0.64), (0.8, 0.6, 0.0)])
def test_model_torques_match_a_brute_force_sea_sum(case, m):
    _, h_of_m, p, fermi_energy, torque = case
    m = np.asarray(m) / np.linalg.norm(m)
    t1, t2, spin_shift = reference_torques(h_of_m, p, fermi_energy, m)
    got = jaxsot.electron_response(torque, jnp.asarray(m))
    scale = np.max(np.abs(t1))
    assert scale > 0 and np.max(np.abs(t2)) > 0
    np.testing.assert_allclose(np.asarray(got["field_like"]), t1, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(np.asarray(got["damping_like"]), t2, rtol=0, atol=1e-7 * np.max(np.abs(t2)))
    np.testing.assert_allclose(float(got["exchange"]), p["j_ex"], rtol=1e-14)
    # The LLG's field-like field is J delta S / (n_mu mu_B).
    magnet = jaxsot.Magnet(1.0, 1.0, 0.1)
    rates = jaxsot.llg_rates(magnet, torque, jnp.asarray(m))
    moment = 1.0 / MU0 * 1e-9 / MU_B_J * 1e-18 * 5.7883818060e-5
    np.testing.assert_allclose(np.asarray(rates["field_like_field"]), p["j_ex"] * spin_shift / moment, rtol=0, atol=1e-7 * np.max(np.abs(p["j_ex"] * spin_shift / moment)))


def test_llg_of_non_rashba_models_matches_scipy(case):
    name, h_of_m, p, fermi_energy, torque = case
    ms, d, gilbert, bk = 1.0, 1.0, 0.1, 0.3
    magnet = jaxsot.Magnet(ms, d, gilbert, anisotropy_field=bk, demag=(0.0, 0.0, 0.0), g_factor=2.0)
    n_mu = ms / MU0 * d * 1e-9 / MU_B_J * 1e-18  # mu_B per nm^2
    kappa = 2.0 / (2.0 * n_mu)
    m0 = np.array([0.4, 0.1, 0.9])
    m0 /= np.linalg.norm(m0)
    t_end = 2.0e4

    def rhs(_, m):
        m = m / np.linalg.norm(m)
        t1, t2, _ = reference_torques(h_of_m, p, fermi_energy, m)
        total = t1 + t2
        b0 = bk * m[2] * np.array([0.0, 0.0, 1.0])
        r = -GAMMA_PER_FS_T * np.cross(m, b0) - kappa * (total - m * (m @ total))
        return (r + gilbert * np.cross(m, r)) / (1.0 + gilbert**2)

    reference = solve_ivp(rhs, (0.0, t_end), m0, method="DOP853", rtol=1e-9, atol=1e-11)
    assert reference.success
    m_ref = reference.y[:, -1] / np.linalg.norm(reference.y[:, -1])
    result = jaxsot.simulate_llg(magnet, torque, jnp.asarray(m0), t_end, num_save=3, rtol=1e-9, atol=1e-11)
    assert bool(result.success)
    # The torque turns M by a sizable angle in t_end (a run without current would end elsewhere).
    moved = math.degrees(math.acos(min(1.0, float(m_ref @ m0))))
    assert moved > 5.0, (name, moved)
    np.testing.assert_allclose(np.asarray(result.m_final), m_ref, rtol=0, atol=2e-6)
    # The energy ledger: the conventional energy changes by the integrated powers.
    work = np.asarray(result.work_final)
    e0 = float(jaxsot.conventional_energy(magnet, result.m_final)) - float(jaxsot.conventional_energy(magnet, jnp.asarray(m0)))
    np.testing.assert_allclose(work[0] + work[1] + work[2] + work[3], e0, rtol=1e-5, atol=1e-12)


def test_model_torque_refuses_what_it_cannot_do():
    ti = jaxsot.TISurfaceFerromagnet(0.3, 0.1, [0.0, 0.0, 1.0])  # massless cone: infinite lower sea
    with pytest.raises(ValueError, match="kinetic"):
        jaxsot.ModelTorque(ti, 0.2, (1e-3, 0.0), 10.0)
    rd = jaxsot.RashbaDresselhausFerromagnet(0.03, 0.01, 0.5, [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="closed forms of the Rashba ferromagnet"):
        jaxsot.SpinOrbitTorque.from_model(rd, 0.7, (1e-3, 0.0), 10.0, method="strong_exchange")
    torque = jaxsot.SpinOrbitTorque.from_model(rd, 0.7, (1e-3, 0.0), 10.0)
    assert isinstance(torque, jaxsot.ModelTorque)
    with pytest.raises(ValueError, match="closed form of the Rashba ferromagnet"):
        jaxsot.strong_exchange_coefficients(jaxsot.Magnet(1.0, 1.0, 0.1), torque)
    # E_F just below J: for in-plane M the upper band dips below it off k = 0 (an off-centre sea).
    with pytest.raises(ValueError, match="does not contain k = 0|change as M turns"):
        jaxsot.ModelTorque(rd, 0.498, (1e-3, 0.0), 10.0)


def test_transport_tau_is_drude_for_parabolic_bands():
    # alpha = 0: two parabolic bands c k^2 -+ J, n = sum_s k_s^2/(4 pi), tau = m t_F/(rho0 e^2 n) (SI, written out).
    c, j_ex, fermi, thickness, rho0 = 0.0380998212, 0.5, 0.8, 1.5, 2e-7
    model = jaxsot.RashbaFerromagnet(0.0, j_ex, [0.0, 0.0, 1.0])
    density = sum((fermi + s * j_ex) / c / (4.0 * math.pi) for s in (1.0, -1.0) if fermi + s * j_ex > 0) * 1e18  # 1/m^2
    e, m_e = 1.602176634e-19, 9.1093837015e-31
    expected = m_e * thickness * 1e-9 / (rho0 * e**2 * density) * 1e15  # fs
    np.testing.assert_allclose(jaxsot.transport_tau(model, fermi, thickness, rho0, num=64), expected, rtol=1e-7)
    with pytest.raises(ValueError, match="concrete"):
        jax.jit(lambda ef: jaxsot.transport_tau(model, ef, thickness, rho0))(fermi)

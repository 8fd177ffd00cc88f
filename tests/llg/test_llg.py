"""Macrospin LLG with the electron spin-orbit torque (jaxsot._llg), against independent references.

References: Larmor and Kittel frequencies; the closed-form Gilbert relaxation in a static field
(tan(theta/2) decays as exp(-alpha gamma B t/(1 + alpha^2))); the linearized small-angle solution with a
constant damping-like torque; angular-momentum and energy conservation of a magnet coupled to a
precessing electron spin density (scipy solve_ivp); the strong-exchange closed forms of docs/theory
with SI constants written out here; the exact torques against a NumPy contour flux (brentq radii,
closed-form spins: conftest.contour_spin_flux). Compilations of the diffrax solve are the cost (~3-10 s each):
each test below reuses one compiled configuration for several checks.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import jaxsot

# SI / CODATA 2018, written out independently of jaxsot.
MU_B_EV = 5.7883818060e-5  # eV/T
MU_B_J = 9.2740100783e-24  # J/T
MU0 = 1.25663706212e-6  # T m/A
G = 2.00231930436
HBAR = 0.6582119569  # eV fs
GAMMA = G * MU_B_EV / HBAR  # rad/(fs T)


def moment_density(ms_tesla, thickness_nm):
    """M_s d / mu_B [1/nm^2]."""
    return ms_tesla / MU0 * thickness_nm * 1e-9 / MU_B_J * 1e-18


def zero_torque(method="strong_exchange"):
    return jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, jnp.zeros(2), 10.0, method=method)


# ------------------------------------------------------------------------------------------------
# Precession, relaxation, |M| and batching: one batched solve of four magnets without current.

BATCH_T_END = 2.0e6  # fs
BATCH_SAVE = 2001


@pytest.fixture(scope="module")
def free_batch():
    easy = np.array([0.3, 0.2, 0.93])
    magnet = jaxsot.Magnet(
        1.0,
        1.0,
        jnp.asarray([0.0, 0.0, 0.1, 0.05]),
        anisotropy_field=jnp.asarray([0.0, 0.0, 0.0, 0.3]),
        easy_axis=jnp.asarray([[0, 0, 1.0], [0, 0, 1.0], [0, 0, 1.0], easy]),
        demag=jnp.asarray([[0, 0, 0.0], [0, 0, 1.0], [0, 0, 0.0], [0, 0, 1.0]]),
        external_field=jnp.asarray([[0, 0, 0.1], [0.1, 0, 0], [0, 0, 0.1], [0.05, 0, 0]]),
    )
    theta0 = math.radians(60.0)
    m0 = jnp.asarray(
        [
            [math.sin(math.radians(30)), 0.0, math.cos(math.radians(30))],  # Larmor
            [1.0, 0.004, 0.004],  # Kittel, small angle about x
            [math.sin(theta0), 0.0, math.cos(theta0)],  # Gilbert relaxation in a field along z
            [0.2, -0.9, 0.4],  # Gilbert relaxation with anisotropy and shape
        ]
    )
    kwargs = dict(num_save=BATCH_SAVE, rtol=1e-10, atol=1e-12)  # the configuration of the small-angle test too
    batch = jaxsot.simulate_llg(magnet, zero_torque(), m0, BATCH_T_END, **kwargs)
    return magnet, m0, kwargs, batch


def test_larmor_kittel_and_gilbert_relaxation(free_batch):
    magnet, m0, _, result = free_batch
    t = np.asarray(result.times)
    m = np.asarray(result.m)
    assert result.m.shape == (4, BATCH_SAVE, 3) and bool(np.all(result.success)) and bool(np.all(result.valid))
    # |M| = 1: projected after every step; the dense output between steps drifts by ~ rtol only.
    assert float(result.norm_error) < 1e-8  # measured 1e-10 (rtol 1e-10)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(result.m_final), axis=-1), 1.0, atol=1e-14)

    # Larmor: phi advances at gamma B, theta stays.
    phi = np.unwrap(np.arctan2(m[0, :, 1], m[0, :, 0]))
    slope = np.polyfit(t, phi, 1)[0]
    assert slope == pytest.approx(GAMMA * 0.1, rel=1e-8)
    np.testing.assert_allclose(m[0, :, 2], math.cos(math.radians(30)), atol=1e-8)

    # Kittel (thin film, in-plane field B along x): omega = gamma sqrt(B (B + mu0 M_s)).
    mz = m[1, :, 2]
    crossings = np.nonzero(np.signbit(mz[:-1]) != np.signbit(mz[1:]))[0]
    times = t[crossings] - mz[crossings] * (t[crossings + 1] - t[crossings]) / (mz[crossings + 1] - mz[crossings])
    period = 2.0 * np.mean(np.diff(times))
    # Measured -1.4e-5: the amplitude (4e-3 rad) correction, O(amplitude^2).
    assert 2 * math.pi / period == pytest.approx(GAMMA * math.sqrt(0.1 * 1.1), rel=5e-5)

    # Gilbert relaxation in a static field along z (closed form).
    a = 0.1
    theta = np.arccos(np.clip(m[2, :, 2], -1, 1))
    expected = 2 * np.arctan(math.tan(math.radians(30.0)) * np.exp(-a * GAMMA * 0.1 * t / (1 + a * a)))
    np.testing.assert_allclose(theta, expected, rtol=2e-9, atol=1e-10)  # measured 1.9e-10 relative
    phi = np.unwrap(np.arctan2(m[2, :, 1], m[2, :, 0]))
    np.testing.assert_allclose(phi, GAMMA * 0.1 * t / (1 + a * a), rtol=1e-9, atol=2e-9)  # measured 1.5e-10

    # Gilbert-only relaxation lowers the magnetic energy monotonically (anisotropy + shape + field).
    for index in (2, 3):
        single = jaxsot.Magnet(
            magnet.ms_tesla, magnet.thickness, magnet.gilbert[index], anisotropy_field=magnet.anisotropy_field[index],
            easy_axis=magnet.easy_axis[index], demag=magnet.demag[index], external_field=magnet.external_field[index],
        )
        energy = np.array([float(jaxsot.conventional_energy(single, jnp.asarray(x))) for x in m[index, ::20]])
        assert np.all(np.diff(energy) <= 1e-12 * np.abs(energy).max())
        assert energy[-1] < energy[0] - 0.1 * abs(energy[0] - energy[-1]) - 1e-6


@pytest.mark.slow  # a looped LLG compiled per current
def test_batched_equals_looped(free_batch):
    magnet, m0, kwargs, batch = free_batch
    for index in (0, 3):
        single = jaxsot.Magnet(
            magnet.ms_tesla, magnet.thickness, magnet.gilbert[index], anisotropy_field=magnet.anisotropy_field[index],
            easy_axis=magnet.easy_axis[index], demag=magnet.demag[index], external_field=magnet.external_field[index],
        )
        result = jaxsot.simulate_llg(single, zero_torque(), m0[index], BATCH_T_END, **kwargs)
        assert result.m.shape == (BATCH_SAVE, 3)
        np.testing.assert_allclose(np.asarray(result.m), np.asarray(batch.m[index]), rtol=0, atol=1e-11)
        assert int(result.num_steps) == int(batch.num_steps[index])


# ------------------------------------------------------------------------------------------------
# Angular-momentum conservation: the magnet coupled to a precessing electron spin density.


def test_torque_conversion_conserves_angular_momentum_and_energy():
    ms, d, j_ex = 1.2, 0.8, 0.05  # T, nm, eV
    magnet = jaxsot.Magnet(ms, d, 0.0, demag=(0.0, 0.0, 0.0))
    n_mu = moment_density(ms, d)
    assert float(magnet.moment_density) == pytest.approx(n_mu, rel=1e-12)
    assert float(magnet.gamma) == pytest.approx(GAMMA, rel=1e-12)
    # Electron spins: dS/dt = (2/hbar)(-J M) x S (Heisenberg, docs/theory/torques.md); magnet: jaxsot's torque.

    def rhs(t, y):
        m, s = y[:3], y[3:]
        torque_density = 2 * j_ex / HBAR * np.cross(m, s)
        dm = np.asarray(jaxsot.exchange_torque(magnet, jnp.asarray(m), jnp.asarray(torque_density)))
        return np.concatenate([dm, -torque_density])

    m0 = np.array([0.0, 0.6, 0.8])
    s0 = np.array([1.5, 0.0, 2.0])  # 1/nm^2, not parallel to M
    sol = solve_ivp(rhs, (0.0, 600.0), np.concatenate([m0, s0]), method="DOP853", rtol=1e-11, atol=1e-13, t_eval=np.linspace(0, 600, 61))
    m, s = sol.y[:3].T, sol.y[3:].T
    # Per area: magnet L = -(M_s d/gamma) M (SI: hbar n_mu/g), electrons (hbar/2) S.
    hbar_si = 1.054571817e-34
    magnet_l = -(ms / MU0 * d * 1e-9) * hbar_si / (G * MU_B_J) * m  # J s / m^2
    electron_l = 0.5 * hbar_si * s * 1e18
    total = magnet_l + electron_l
    transfer = np.max(np.linalg.norm(electron_l - electron_l[0], axis=-1))
    assert transfer > 0.1 * np.linalg.norm(electron_l[0])  # the electrons' spin really moves
    assert np.max(np.linalg.norm(total - total[0], axis=-1)) < 1e-8 * transfer
    energy = -j_ex * np.sum(m * s, axis=-1)  # -J M.S per area (no other magnetic energy here)
    assert np.max(np.abs(energy - energy[0])) < 1e-8 * np.abs(energy[0])
    np.testing.assert_allclose(np.linalg.norm(m, axis=-1), 1.0, atol=1e-9)


# ------------------------------------------------------------------------------------------------
# Strong-exchange torque: small-angle solution, closed-form coefficients, energy ledger.


def _np_closed_form(ref, alpha, j_ex, fermi_energy):
    case = ref.make_case("z", alpha, j_ex, [0.0, 0.0, 1.0])
    n = [ref.circular_fermi_radius(case, fermi_energy, b) ** 2 / (4 * math.pi) for b in (-1, 1)]
    return n[0], n[1]


def test_small_angle_solution_with_a_constant_damping_like_torque_and_energy_ledger(ref):
    alpha, j_ex, ef, tau, e = 0.05, 1.0, 1.5, 2.0, 1e-3
    b_ext, gilbert = 1.0, 0.05
    torque = jaxsot.SpinOrbitTorque(alpha, j_ex, ef, jnp.asarray([e, 0.0]), tau)
    magnet = jaxsot.Magnet(1.0, 1.0, gilbert, demag=(0.0, 0.0, 0.0), external_field=(0.0, b_ext, 0.0))
    n_l, n_u = _np_closed_form(ref, alpha, j_ex, ef)
    n_p, n_mu = n_l - n_u, moment_density(1.0, 1.0)
    kappa = G / (2 * n_mu)
    kdot = abs(ref.CHARGE) * e / HBAR  # |k'| = eE/hbar; k' x z along +y for E along +x (q = -e)
    a_j = kappa * n_p * alpha / j_ex * kdot  # T_DL = a_J M x (M x p), p = +y
    b_fl = -alpha * n_p * tau * kdot / (n_mu * MU_B_EV)  # field-like field along p
    coefficients = jaxsot.strong_exchange_coefficients(magnet, torque)
    np.testing.assert_allclose(np.asarray(coefficients["polarization_axis"]), [0, 1, 0], atol=1e-15)
    assert float(coefficients["damping_like_rate"]) == pytest.approx(a_j, rel=1e-10)
    np.testing.assert_allclose(np.asarray(coefficients["field_like_field"]), [0, b_fl, 0], rtol=1e-10, atol=1e-15)

    delta0 = 1e-3  # along e1 = z; (e1, e2, p) = (z, x, y)
    t_end = 3.0e5
    # Same static configuration as the looped runs of test_batched_equals_looped (one compilation).
    result = jaxsot.simulate_llg(magnet, torque, jnp.asarray([0.0, 1.0, delta0]), t_end, num_save=BATCH_SAVE, rtol=1e-10, atol=1e-12)
    t = np.asarray(result.times)
    m = np.asarray(result.m)
    b_tot = b_ext + b_fl
    rate = ((a_j - gilbert * GAMMA * b_tot) + 1j * (GAMMA * b_tot + gilbert * a_j)) / (1 + gilbert**2)
    delta = m[:, 2] + 1j * m[:, 0]
    expected = delta0 / math.sqrt(1 + delta0**2) * np.exp(rate * t)
    assert abs(expected[-1]) < 0.5 * delta0  # net damping: a_J < alpha_G gamma B here, both visible
    error = np.max(np.abs(delta - expected))
    assert error < 1e-6 * delta0, error / delta0  # measured 9.4e-8 delta0; nonlinearity O(delta0^2) = 1e-6

    # Energy ledger along the trajectory: E_M(t) - E_M(0) = int (P_G + P_DL,fl + P_DL,0) dt.
    rates = jaxsot.llg_diagnostics(magnet, torque, result.m)
    energy = np.asarray(rates["magnetic_energy"])
    work = np.asarray(result.work)
    scale = np.max(np.abs(work[:, 0]))
    assert np.max(np.abs(energy - energy[0] - work[:, :3].sum(axis=1))) < 3e-8 * scale  # measured 3.8e-9
    # Spin-force part (paper eq. 15/16, general M): P_DL,fl = kappa n_p P_sf, P_sf = -p eta rho0 [(M.j)^2 + M_z^2 j^2].
    eta = ref.ELECTRON_MASS * alpha**2 / (HBAR**2 * j_ex)
    rho0 = ref.ELECTRON_MASS / ((n_l + n_u) * tau)
    j = np.array([e, 0.0]) / rho0
    p = n_p / (n_l + n_u)
    closed = -p * eta * rho0 * ((m[:, :2] @ j) ** 2 + m[:, 2] ** 2 * (j @ j))
    np.testing.assert_allclose(np.asarray(rates["spin_force_power"]), closed, rtol=1e-9)
    np.testing.assert_allclose(np.asarray(rates["power_spin_force"]), kappa * n_p * closed, rtol=1e-9)
    assert np.all(np.asarray(rates["power_spin_force"]) <= 0.0)
    np.testing.assert_allclose(work[:, 1], kappa * n_p * work[:, 4], rtol=1e-9, atol=1e-12 * abs(work[-1, 1]))
    # Gilbert part ~ -n_mu mu_B alpha_G gamma |M x B_eff|^2 to first order in alpha_G and a_J/(gamma B).
    b_eff = np.asarray(rates["conventional_field"]) + np.asarray(rates["field_like_field"])
    gilbert_closed = -n_mu * MU_B_EV * gilbert * GAMMA * np.sum(np.cross(m, b_eff) ** 2, axis=-1)
    np.testing.assert_allclose(np.asarray(rates["power_gilbert"]), gilbert_closed, rtol=5e-3)  # measured 1.2e-3


def test_exact_and_strong_exchange_electron_torques_converge(ref):
    errors = {}
    m = jnp.asarray(ref.angles_to_vector(1.1, 0.7))
    efield = jnp.asarray([1e-3, -5e-4])
    for alpha in (0.02, 0.01):
        out = {}
        for method in ("exact", "strong_exchange"):
            torque = jaxsot.SpinOrbitTorque(alpha, 1.0, 1.5, efield, 10.0, method=method, num=64)
            out[method] = {k: np.asarray(v) for k, v in jax.jit(jaxsot.electron_response)(torque, m).items()}
        errors[alpha] = [
            np.linalg.norm(out["exact"][k] - out["strong_exchange"][k]) / np.linalg.norm(out["strong_exchange"][k])
            for k in ("field_like", "damping_like")
        ]
        # Both exact torques against an independent NumPy contour flux (brentq radii, closed-form spins):
        # T2 = -dS/dt (k' = qE/hbar), T1 = (2J/hbar) M x delta S (Delta k = k' tau).
        case = ref.make_case("llg", alpha, 1.0, np.asarray(m))
        kdot = ref.CHARGE * np.asarray(efield) / ref.HBAR
        expected = -ref.contour_spin_flux(case, 1.5, kdot, num=128)
        np.testing.assert_allclose(out["exact"]["damping_like"], expected, rtol=1e-10, atol=1e-14 * np.linalg.norm(expected))
        expected = 2.0 / ref.HBAR * np.cross(case.m, ref.contour_spin_flux(case, 1.5, kdot * 10.0, num=128))
        np.testing.assert_allclose(out["exact"]["field_like"], expected, rtol=1e-10, atol=1e-14 * np.linalg.norm(expected))
    # Second order in alpha k_F/J (measured T1: 1.1e-2 -> 2.8e-3, T2: 1.9e-2 -> 4.8e-3).
    for k in range(2):
        assert errors[0.01][k] < 1e-2
        assert 3.0 < errors[0.02][k] / errors[0.01][k] < 5.0


@pytest.mark.slow  # exact-torque LLG trajectories (compile-heavy)
def test_exact_torque_trajectories_and_energy_balance():
    magnet = jaxsot.Magnet(1.0, 1.0, 0.05, anisotropy_field=0.05, easy_axis=(0, 1, 0), external_field=(0.02, 0.0, 0.0))
    efield = jnp.asarray([2e-4, 0.0])
    torque = jaxsot.SpinOrbitTorque(jnp.asarray([0.02, 0.01]), 1.0, 1.5, efield, 28.0, method="exact", num=32)
    result = jaxsot.simulate_llg(magnet, torque, jnp.asarray([0.1, 1.0, 0.05]), 2.0e5, num_save=41, rtol=1e-8, atol=1e-10)
    assert result.m.shape == (2, 41, 3) and bool(np.all(result.success))
    assert float(result.norm_error) < 1e-6
    work = np.asarray(result.work)
    ratios = []
    for index, alpha in enumerate((0.02, 0.01)):
        single = jaxsot.SpinOrbitTorque(alpha, 1.0, 1.5, efield, 28.0, method="exact", num=32)
        rates = jaxsot.llg_diagnostics(magnet, single, result.m[index])
        e0 = np.asarray(rates["conventional_energy"])
        scale = np.max(np.abs(work[index, :, :4]))
        # E_0(t) - E_0(0) = int (P_G + P_DL,fl + P_DL,0 + P_FL) dt, exactly, for the exact torque too.
        assert np.max(np.abs(e0 - e0[0] - work[index, :, :4].sum(axis=1))) < 1e-7 * scale  # measured 7e-9
        kappa_np = float(magnet.torque_area) * np.asarray(rates["polarization"])
        assert np.all(np.asarray(rates["power_spin_force"]) <= 1e-30)
        ratios.append(work[index, -1, 1] / (np.mean(kappa_np) * work[index, -1, 4]))
    # Magnet loss through the spin force = kappa n_p x (the spin-force power on the current) up to
    # O((alpha k_F/J)^2): measured ratios 0.980 (alpha = 0.02) and 0.993 (0.01).
    assert abs(ratios[1] - 1.0) < 0.012
    assert abs(ratios[0] - 1.0) > 2.5 * abs(ratios[1] - 1.0)


# ------------------------------------------------------------------------------------------------
# Events, a batch over currents.


@pytest.mark.slow  # a batch of LLG runs with events (compile-heavy)
def test_switching_and_stop_events_over_a_batch_of_currents():
    magnet = jaxsot.Magnet(1.0, 1.0, 0.1, anisotropy_field=0.05, easy_axis=(0, 1, 0))
    currents = jnp.asarray([[4e-5, 0.0], [2e-5, 0.0]])  # V/nm: field-like fields -0.075 T and -0.037 T along y
    torque = jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, currents, 28.0)
    fields = [float(jaxsot.strong_exchange_coefficients(magnet, jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, c, 28.0))["field_like_field"][1]) for c in currents]
    assert fields[0] < -0.05 < fields[1] < 0.0  # easy-axis (Stoner-Wohlfarth) reversal needs |B_fl| > B_K
    stop_rate = 1e-8  # 1/fs
    result = jaxsot.simulate_llg(
        magnet, torque, jnp.asarray([0.05, 1.0, 0.02]), 5.0e6, num_save=51, switch_axis=(0, 1, 0), switch_threshold=-0.5,
        stop_rate=stop_rate, ledger=False,
    )
    switched, stopped = np.asarray(result.switched), np.asarray(result.stopped)
    assert switched.tolist() == [True, False] and stopped.tolist() == [False, True]
    assert bool(np.all(result.success))
    m_final = np.asarray(result.m_final)
    assert m_final[0, 1] == pytest.approx(-0.5, abs=1e-7)  # the event time is root-found on the dense output
    assert float(result.t_final[0]) < 5.0e6 and float(result.t_final[1]) < 5.0e6
    assert not bool(np.asarray(result.valid)[0, -1])  # saved times after the event are marked invalid
    rates = jaxsot.llg_diagnostics(magnet, jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, currents[1], 28.0), m_final[1])
    assert np.linalg.norm(np.asarray(rates["dmdt"])) == pytest.approx(stop_rate, rel=1e-6)  # located by bisection too
    assert m_final[1, 1] > 0.9  # relaxed near +y, tilted by the field-like field


# ------------------------------------------------------------------------------------------------
# Bad parameters.


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ValueError, match=r"gilbert = -0.01 .*allowed: \[0"):
        jaxsot.Magnet(1.0, 1.0, -0.01)
    with pytest.raises(ValueError, match=r"ms_tesla = 0.0 .*allowed: \(0"):
        jaxsot.Magnet(0.0, 1.0, 0.01)
    with pytest.raises(ValueError, match=r"thickness = 0.0 .*allowed: \(0"):
        jaxsot.Magnet(1.0, 0.0, 0.01)
    with pytest.raises(ValueError, match="demag"):
        jaxsot.Magnet(1.0, 1.0, 0.01, demag=(0.0, 0.0, 1.5))
    with pytest.raises(ValueError, match="easy_axis"):
        jaxsot.Magnet(1.0, 1.0, 0.01, easy_axis=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="tau"):
        jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, jnp.zeros(2), 0.0)
    with pytest.raises(ValueError, match="method"):
        jaxsot.SpinOrbitTorque(0.05, 1.0, 1.5, jnp.zeros(2), 10.0, method="kubo")
    with pytest.raises(ValueError, match="j_ex"):
        jaxsot.SpinOrbitTorque(0.05, 0.0, 1.5, jnp.zeros(2), 10.0)
    with pytest.raises(ValueError, match="Mexican hat"):
        jaxsot.SpinOrbitTorque(0.5, 0.1, 1.5, jnp.zeros(2), 10.0)
    # The upper band's bottom moves between J - alpha^2/(4c) and J as M turns: refused in between.
    with pytest.raises(ValueError, match="fermi_energy"):
        jaxsot.SpinOrbitTorque(0.1, 1.0, 0.99, jnp.zeros(2), 10.0, method="exact")
    magnet, torque = jaxsot.Magnet(1.0, 1.0, 0.01), zero_torque()
    with pytest.raises(ValueError, match="t_end"):
        jaxsot.simulate_llg(magnet, torque, jnp.asarray([0, 0, 1.0]), 0.0)
    with pytest.raises(ValueError, match="m0"):
        jaxsot.simulate_llg(magnet, torque, jnp.zeros(3), 1.0)
    with pytest.raises(ValueError, match="do not broadcast"):
        jaxsot.simulate_llg(jaxsot.Magnet(1.0, 1.0, jnp.asarray([0.1, 0.2])), torque, jnp.ones((3, 3)), 1.0)


# ------------------------------------------------------------------------------------------------
# The command line, end to end.

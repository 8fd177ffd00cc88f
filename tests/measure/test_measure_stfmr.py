"""ST-FMR spectra (jaxsot._measure._stfmr) against independent references.

- Kittel: an in-plane film (M along the in-plane field, M_eff = mu0 M_s) resonates at (w/gamma)^2 =
  B_r (B_r + M_eff) with the field half width D = alpha_G w/gamma (leading order in alpha_G).
- Ratio analysis (Liu et al., PRL 106, 036601 (2011)): B_DL/(B_FL + B_Oe) = (S/A) sqrt(1 + M_eff/B_r) at
  phi_H = 45 deg, with the strong-exchange fields of conftest.py (SI closed forms).
- Time domain: scipy solve_ivp of the LLG in NumPy with the RF field b(t) = cos(wt) [(B_FL + B_Oe) y +
  B_DL (M x y)] (conftest fields), the rectified voltage < I(t) Delta R (M(t).x)^2 > over whole periods
  after the transient: no linearization, no equilibrium solver of the code under test.
"""

import math

import numpy as np
import pytest

from jaxsot import HallSettings
from jaxsot._measure._stfmr import GAMMA, lorentzian_fit, ratio_analysis, st_fmr_spectrum

ALPHA, J_EX, FERMI, TAU, RHO0 = 0.02, 1.0, 1.5, 10.0, 2e-7
FREQ, B_OE = 1e10, 2e-4
W_OVER_G = 2 * math.pi * FREQ * 1e-15 / GAMMA  # T
B_RES = (-1.0 + math.sqrt(1.0 + 4.0 * W_OVER_G**2)) / 2.0  # Kittel, M_eff = 1 T
PARAMS = {"alpha": ALPHA, "j_ex": J_EX, "tau": TAU, "anisotropy_field": 0.0, "oersted_field": B_OE}


def settings(field, current_density):
    return HallSettings(math.pi / 4, field, fermi_energy=FERMI, current_density=current_density, rho0=RHO0, ms_tesla=1.0,
                        thickness=1.0, model="strong_exchange", easy_axis=(1.0, 0.0, 0.0))


@pytest.mark.slow  # compile-heavy (~6 CPU-s cold)
def test_kittel_resonance_width_and_ratio_analysis(si):
    field = np.linspace(B_RES - 0.05, B_RES + 0.05, 200)
    out = st_fmr_spectrum(PARAMS, settings(field, 1e10), frequency=FREQ, gilbert=0.01, r_amr=0.5, current=1e-3)
    fit = lorentzian_fit(field, out.v_mix)
    assert fit["B_r"] == pytest.approx(B_RES, rel=1e-5)
    assert fit["D"] == pytest.approx(0.01 * W_OVER_G, rel=1e-3)
    b_fl, b_dl = si.strong_fields_si(ALPHA, J_EX, FERMI, TAU, 1e10, RHO0, 1.0, 1.0)
    ratio = ratio_analysis(fit["S"], fit["A"], fit["B_r"], 1.0)
    assert ratio == pytest.approx(b_dl / (b_fl + B_OE), rel=2e-3)
    # No damping-like torque: no symmetric part.
    none = st_fmr_spectrum(PARAMS, HallSettings(math.pi / 4, field, fermi_energy=FERMI, current_density=1e10, rho0=RHO0,
                                                ms_tesla=1.0, thickness=1.0, model="strong_exchange", easy_axis=(1.0, 0.0, 0.0),
                                                damping_like=False),
                           frequency=FREQ, gilbert=0.01, r_amr=0.5, current=1e-3)
    assert abs(lorentzian_fit(field, none.v_mix)["S"]) < 1e-3 * abs(fit["A"])


@pytest.mark.slow  # a time-domain LLG compiled
def test_rectified_voltage_matches_time_domain_llg(si):
    from scipy.integrate import solve_ivp

    gilbert, current, r_amr, j_rf = 0.05, 1e-3, 0.5, 1e9
    b_fl, b_dl = si.strong_fields_si(ALPHA, J_EX, FERMI, TAU, j_rf, RHO0, 1.0, 1.0)
    omega = 2 * math.pi * FREQ * 1e-15  # rad/fs
    y = np.array([0.0, 1.0, 0.0])
    fields = np.array([B_RES, B_RES + 0.02])
    out = st_fmr_spectrum({**PARAMS, "oersted_field": B_OE * j_rf / 1e10}, settings(fields, j_rf), frequency=FREQ, gilbert=gilbert,
                          r_amr=r_amr, current=current)
    period = 2 * math.pi / omega
    for i, b in enumerate(fields):
        b_ext = b * np.array([math.sqrt(0.5), math.sqrt(0.5), 0.0])

        def rates(t, m):
            m = m / np.linalg.norm(m)
            drive = math.cos(omega * t)
            b_total = b_ext - np.array([0.0, 0.0, m[2]]) + drive * ((b_fl + B_OE * j_rf / 1e10) * y + b_dl * np.cross(m, y))
            r = -GAMMA * np.cross(m, b_total)
            return (r + gilbert * np.cross(m, r)) / (1 + gilbert**2)

        settle, average = 30, 4
        t_eval = period * (settle + np.arange(average * 256) / 256)
        sol = solve_ivp(rates, (0.0, t_eval[-1]), b_ext / np.linalg.norm(b_ext), t_eval=t_eval, rtol=1e-10, atol=1e-12, method="DOP853")
        m = sol.y / np.linalg.norm(sol.y, axis=0)
        v = np.mean(current * np.cos(omega * sol.t) * r_amr * m[0] ** 2)
        assert float(out.v_mix[i]) == pytest.approx(v, rel=2e-3), (b, float(out.v_mix[i]), v)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="frequency"):
        st_fmr_spectrum(PARAMS, settings(0.1, 1e10), frequency=0.0, gilbert=0.01, r_amr=0.5, current=1e-3)
    with pytest.raises(ValueError, match="gilbert"):
        st_fmr_spectrum(PARAMS, settings(0.1, 1e10), frequency=FREQ, gilbert=-1.0, r_amr=0.5, current=1e-3)

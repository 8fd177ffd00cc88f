"""Spin-torque FMR from the microscopic model: V_mix(B), its Lorentzian parts and the ratio analysis of xi_DL.

In-plane film (mu0 M_s = 1 T, t_F = 1 nm, no in-plane anisotropy), field at phi_H = 45 deg, f = 10 GHz,
alpha_G = 0.01, RF current density j_rf = 1e10 A/m^2 (rho0 = 2e-7 ohm m), Delta R_AMR = 0.5 ohm,
I_rf = 1 mA. Electrons: strong-exchange torques with alpha = 0.02 eV nm, J = 1 eV, tau = 10 fs, E_F = 1.5 eV,
and an Oersted field B_Oe = 0.2 mT at j_rf (from a neighbouring layer). jaxsot computes V_mix(B) by the linearized
LLG (`jaxsot.st_fmr_spectrum`); a scipy time-domain LLG (no linearization) checks three fields. Left: the
spectrum and its symmetric (damping-like) and antisymmetric (field-like + Oersted) Lorentzians; right: the
ratio analysis B_DL/(B_FL + B_Oe) = (S/A) sqrt(1 + M_eff/B_r) against the model's fields, and the xi_DL an
analysis that takes the in-plane field as the Oersted field alone would report, for B_Oe from 0.1 to 10 mT.
Writes experiments/figures/st_fmr.png; prints the numbers and the time of one 200-field spectrum.
"""

import math
import time

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import numpy as onp  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from jaxsot import HallSettings, sot_efficiency, st_fmr_lorentzian_fit, st_fmr_ratio, st_fmr_spectrum  # noqa: E402
from jaxsot._measure._stfmr import GAMMA  # noqa: E402

PARAMS = {"alpha": 0.02, "j_ex": 1.0, "tau": 10.0, "anisotropy_field": 0.0, "oersted_field": 2e-4}
FREQ, GILBERT, R_AMR, CURRENT, J_RF = 1e10, 0.01, 0.5, 1e-3, 1e10


def settings(field):
    return HallSettings(math.pi / 4, field, fermi_energy=1.5, current_density=J_RF, rho0=2e-7, ms_tesla=1.0, thickness=1.0,
                        model="strong_exchange", easy_axis=(1.0, 0.0, 0.0))


def main():
    started = time.perf_counter()
    w_over_g = 2 * math.pi * FREQ * 1e-15 / GAMMA
    b_res = (-1.0 + math.sqrt(1.0 + 4.0 * w_over_g**2)) / 2.0
    field = onp.linspace(b_res - 0.04, b_res + 0.04, 200)
    s = settings(field)
    out = st_fmr_spectrum(PARAMS, s, frequency=FREQ, gilbert=GILBERT, r_amr=R_AMR, current=CURRENT)
    out.v_mix.block_until_ready()
    t0 = time.perf_counter()
    for _ in range(5):
        st_fmr_spectrum(PARAMS, s, frequency=FREQ, gilbert=GILBERT, r_amr=R_AMR, current=CURRENT).v_mix.block_until_ready()
    per_spectrum = (time.perf_counter() - t0) / 5
    v = onp.asarray(out.v_mix)
    fit = st_fmr_lorentzian_fit(field, v)
    m = onp.asarray(out.m_eq[100])
    b = onp.asarray(out.b_sot[100])
    y = onp.array([0.0, 1.0, 0.0])
    b_dl = b @ onp.cross(m, y) / (onp.cross(m, y) @ onp.cross(m, y))
    in_plane = (b @ onp.array([-m[1], m[0], 0.0])) / (onp.array([-m[1], m[0], 0.0]) @ y)
    ratio = st_fmr_ratio(fit["S"], fit["A"], fit["B_r"], 1.0)
    print(f"Kittel B_r = {b_res:.6f} T, fitted {fit['B_r']:.6f} T; half width {fit['D'] * 1e3:.4f} mT (alpha_G w/gamma = "
          f"{GILBERT * w_over_g * 1e3:.4f} mT); S = {fit['S'] * 1e6:.4f} uV, A = {fit['A'] * 1e6:.4f} uV")
    print(f"ratio analysis (S/A) sqrt(1 + M_eff/B_r) = {ratio:.6f}; model B_DL/(B_FL + B_Oe) = {b_dl / in_plane:.6f} "
          f"(B_DL = {b_dl * 1e3:.5f} mT, B_FL + B_Oe = {in_plane * 1e3:.5f} mT at j_rf)")
    print(f"one 200-field spectrum: {per_spectrum * 1e3:.2f} ms after compilation")

    # Time-domain check (scipy DOP853, no linearization) at three fields, at a tenth of the RF amplitude (the
    # precession cone at resonance, ~b/D ~ 0.1 at j_rf, would add O(cone^2) nonlinear terms of the size of S).
    small = 0.1
    omega = 2 * math.pi * FREQ * 1e-15
    period = 2 * math.pi / omega
    checks = []
    for b_field in (b_res - 0.01, b_res, b_res + 0.01):
        b_ext = b_field * onp.array([math.sqrt(0.5), math.sqrt(0.5), 0.0])
        weak = HallSettings(math.pi / 4, onp.array([b_field]), fermi_energy=1.5, current_density=small * J_RF, rho0=2e-7,
                            ms_tesla=1.0, thickness=1.0, model="strong_exchange", easy_axis=(1.0, 0.0, 0.0))
        one = st_fmr_spectrum({**PARAMS, "oersted_field": small * PARAMS["oersted_field"]}, weak, frequency=FREQ, gilbert=GILBERT,
                              r_amr=R_AMR, current=CURRENT)
        b_fl_sc = small * float(in_plane - PARAMS["oersted_field"])

        def rates(t, mm):
            mm = mm / onp.linalg.norm(mm)
            drive = math.cos(omega * t)
            total = b_ext - onp.array([0.0, 0.0, mm[2]]) + drive * small * ((b_fl_sc / small + PARAMS["oersted_field"]) * y
                                                                              + b_dl * onp.cross(mm, y))
            r = -GAMMA * onp.cross(mm, total)
            return (r + GILBERT * onp.cross(mm, r)) / (1 + GILBERT**2)

        t_eval = period * (150 + onp.arange(4 * 256) / 256)
        sol = solve_ivp(rates, (0.0, t_eval[-1]), b_ext / onp.linalg.norm(b_ext), t_eval=t_eval, rtol=1e-10, atol=1e-12, method="DOP853")
        mm = sol.y / onp.linalg.norm(sol.y, axis=0)
        reference = float(onp.mean(CURRENT * onp.cos(omega * sol.t) * R_AMR * mm[0] ** 2))
        checks.append((b_field, float(one.v_mix[0]) / small, reference / small))
        print(f"B = {b_field:.4f} T, j_rf/10: V_mix linearized {float(one.v_mix[0]) * 1e6:.6f} uV, time domain {reference * 1e6:.6f} uV "
              f"(relative difference {abs(float(one.v_mix[0]) / reference - 1):.1e})")

    # What the usual analysis reports when it takes the in-plane field as the Oersted field alone.
    oersted = onp.geomspace(1e-4, 1e-2, 9)
    reported, true_xi = [], float(sot_efficiency(b_dl / J_RF, 1.0, 1.0))
    for b_oe in oersted:
        spec = st_fmr_spectrum({**PARAMS, "oersted_field": float(b_oe)}, s, frequency=FREQ, gilbert=GILBERT, r_amr=R_AMR, current=CURRENT)
        shape = st_fmr_lorentzian_fit(field, onp.asarray(spec.v_mix))
        r = st_fmr_ratio(shape["S"], shape["A"], shape["B_r"], 1.0)
        reported.append(float(sot_efficiency(r * b_oe / J_RF, 1.0, 1.0)))
    print("xi_DL from the ratio with A taken as the Oersted field alone: " + ", ".join(
        f"B_Oe = {b * 1e3:.2g} mT: {x:.4g}" for b, x in zip(oersted, reported)) + f"; the model's xi_DL = {true_xi:.4g}")

    plt = _figure_style.pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(13.0, 5.2))
    den = (field - fit["B_r"]) ** 2 + fit["D"] ** 2
    left.plot(field * 1e3, v * 1e6, "-", color="k", lw=2.2, label="V_mix (linearized LLG)")
    left.plot(field * 1e3, fit["S"] * fit["D"] ** 2 / den * 1e6, "--", color="C3", label=f"symmetric S = {fit['S'] * 1e6:.3f} uV (damping-like)")
    left.plot(field * 1e3, fit["A"] * fit["D"] * (field - fit["B_r"]) / den * 1e6, ":", color="C0",
              label=f"antisymmetric A = {fit['A'] * 1e6:.3f} uV (field-like + Oersted)")
    left.plot([c[0] * 1e3 for c in checks], [c[2] * 1e6 for c in checks], "o", ms=8, mfc="none", color="C2", label="time-domain LLG (scipy; at j_rf/10, x10)")
    left.set_xlabel("field B [mT]")
    left.set_ylabel("V_mix [uV]")
    left.set_title(f"f = 10 GHz, phi_H = 45 deg, j_rf = 1e10 A/m^2 (B_r = {fit['B_r'] * 1e3:.2f} mT)", fontsize=10)
    _figure_style.legend_below(left, ncol=1, offset=0.16, fontsize=9)
    right.loglog(oersted * 1e3, onp.abs(reported), "o-", color="C3", label="|xi_DL| from (S/A), A taken as Oersted only")
    right.axhline(abs(true_xi), color="k", ls="--", label=f"|xi_DL| of the model ({true_xi:.3g})")
    right.axvline(abs(in_plane - PARAMS["oersted_field"]) * 1e3, color="gray", ls=":", label="|B_FL| at j_rf")
    right.set_xlabel("Oersted field B_Oe at j_rf [mT]")
    right.set_ylabel("|xi_DL| (dimensionless)")
    right.set_title("the ratio analysis holds only when B_Oe >> |B_FL|", fontsize=10)
    _figure_style.legend_below(right, ncol=1, offset=0.16, fontsize=9)
    path = _figure_style.save(figure, "st_fmr.png")
    print(f"wrote {path} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

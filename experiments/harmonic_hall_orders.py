"""Where the first-order harmonic Hall model fails: every order in the current against the linear response.

Same sample as `harmonic_hall.py` (alpha = 0.05 eV nm, J = 1 eV, E_F = 1.5 eV, both bands, tau from the Drude
relation; rho0 = 2e-7 ohm m, t_F = 1 nm, mu0 M_s = 1 T; R_AHE = 1 ohm, R_PHE = 0.1 ohm), exact bands. In-plane
magnet (easy axis x, B_K = 0.02 T, thin-film shape) and perpendicular magnet (B_K,eff = 0.5 T), in-plane
fields, 36 field angles phi_H. jaxsot's `harmonic_hall_all_orders` (the quasi-static equilibrium at 32
current phases, Fourier-demodulated) against `harmonic_hall_forward` (first order in j0):
- left: the first-order errors vs the current amplitude j0 at B = 0.05 T (in-plane) / 0.2 T (perpendicular):
  max over phi_H of |R_2w(first) - R_2w| and of |R_1w(first) - R_1w| (the O(j0^2) part of R_1w), and the
  third harmonic |R_3w|, all relative to max |R_2w|;
- middle: the same vs the field B at j0 = 3e10 and 1e11 A/m^2 (in-plane magnet);
- right: the Hall voltage over one period V_H(t)/I0 at one point, its first three harmonics, and what a
  lock-in referenced to the current reads (X at 1w, -Y at 2w, X at 3w).
The time-domain route (LLG under the AC current, lock-in demodulation; no equilibrium solved) checks the
all-orders values at two points (in-plane magnet, B = 0.1 T, j0 = 1e11 A/m^2). NaN (no point drawn): the
current switches the magnet during the period at some phi_H (no harmonics of one equilibrium branch). Prints the numbers; writes experiments/figures/harmonic_hall_orders.png.
"""

import math
import time

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot import HallSettings, drude_tau, hall_bands, harmonic_hall_all_orders, harmonic_hall_forward, lockin_harmonics  # noqa: E402

ALPHA, J_EX, FERMI = 0.05, 1.0, 1.5
RHO0, MS, THICKNESS = 2.0e-7, 1.0, 1.0
HALL = dict(r_ahe=1.0, r_phe=0.1)
PHASES = 32
MAGNETS = {
    "in-plane, B = 0.05 T": (dict(anisotropy_field=0.02, easy_axis=(1.0, 0.0, 0.0)), 0.05),
    "perpendicular, B = 0.2 T": (dict(anisotropy_field=1.5, easy_axis=(0.0, 0.0, 1.0)), 0.2),
}


def errors(params, settings):
    """(first-order R_2w error, O(j^2) part of R_1w, |R_3w|) relative to max |R_2w|, max over the points
    (NaN where the current switches the magnet at some point: no equilibrium branch over the whole period)."""
    out = harmonic_hall_all_orders(params, settings, phases=PHASES)
    if not bool(jnp.all(out.converged)):  # the current switches the magnet during the period: no harmonics
        return onp.nan, onp.nan, onp.nan
    r_1w, r_2w = (onp.asarray(x) for x in harmonic_hall_forward(params, settings))
    scale = onp.max(onp.abs(onp.asarray(out.r_2w)))
    return (onp.max(onp.abs(r_2w - onp.asarray(out.r_2w))) / scale, onp.max(onp.abs(r_1w - onp.asarray(out.r_1w))) / scale,
            onp.max(onp.abs(onp.asarray(out.r_3w))) / scale)


def main():
    started = time.perf_counter()
    tau = float(drude_tau(ALPHA, J_EX, FERMI, THICKNESS, RHO0))
    base = {"alpha": ALPHA, "j_ex": J_EX, "tau": tau, **HALL}
    bands = hall_bands({**base, "anisotropy_field": 0.02}, FERMI)
    phi = onp.linspace(0.0, 2.0 * math.pi, 36, endpoint=False)

    def settings(kwargs, field, current, angles=phi):
        return HallSettings(angles, field, fermi_energy=FERMI, current_density=current, rho0=RHO0, ms_tesla=MS,
                            thickness=THICKNESS, easy_axis=kwargs["easy_axis"], model="exact", bands=bands)

    currents = onp.geomspace(1e9, 1e12, 10)
    vs_current = {}
    for label, (kwargs, field) in MAGNETS.items():
        params = {**base, "anisotropy_field": kwargs["anisotropy_field"]}
        vs_current[label] = onp.array([errors(params, settings(kwargs, field, j)) for j in currents])
        for j, (e2, e1, e3) in zip(currents, vs_current[label]):
            print(f"{label}, j0 = {j:.2e} A/m^2: first-order R_2w error {e2:.2e}, R_1w O(j^2) part {e1:.2e}, "
                  f"|R_3w| {e3:.2e} (of max |R_2w|)")
    kwargs, _ = MAGNETS["in-plane, B = 0.05 T"]
    params = {**base, "anisotropy_field": kwargs["anisotropy_field"]}
    fields = onp.geomspace(0.03, 0.5, 9)
    vs_field = {j: onp.array([errors(params, settings(kwargs, b, j)) for b in fields]) for j in (3e10, 1e11)}
    for j, rows in vs_field.items():
        for b, (e2, e1, e3) in zip(fields, rows):
            print(f"in-plane, j0 = {j:.0e} A/m^2, B = {b:.3f} T: R_2w error {e2:.2e}, R_1w part {e1:.2e}, |R_3w| {e3:.2e}")

    # Time-domain check at two angles, in-plane magnet, B = 0.1 T, j0 = 1e11 A/m^2 (exact torque in the LLG).
    current, field = 1e11, 0.1
    angles = onp.radians([30.0, 200.0])
    quasi = harmonic_hall_all_orders(params, settings(kwargs, field, current, angles), phases=PHASES)
    first_1w, first_2w = harmonic_hall_forward(params, settings(kwargs, field, current, angles))
    efield = jnp.asarray([RHO0 * current * 1e-9, 0.0])
    torque = jaxsot.SpinOrbitTorque(ALPHA, J_EX, FERMI, efield, tau, method="exact", num=64)
    magnet = jaxsot.Magnet(MS, THICKNESS, 1.0, **kwargs)
    lock = lockin_harmonics(magnet, torque, angles, field, frequency=1.5e7, periods=2, settle_periods=1, **HALL)
    for i, a in enumerate(onp.degrees(angles)):
        print(f"time domain vs every order at phi_H = {a:.0f} deg (B = 0.1 T, j0 = 1e11): R_1w {float(lock.r_1w[i]):.8f} vs "
              f"{float(quasi.r_1w[i]):.8f} (first order {float(first_1w[i]):.8f}); R_2w {float(lock.r_2w[i]):.6e} vs "
              f"{float(quasi.r_2w[i]):.6e} (first order {float(first_2w[i]):.6e}); R_3w {float(lock.r_3w[i]):.4e} vs {float(quasi.r_3w[i]):.4e}")

    # One period of the Hall voltage at phi_H = 30 deg (in-plane magnet, B = 0.1 T, j0 = 1e11 A/m^2).
    t = 2.0 * math.pi * onp.arange(PHASES) / PHASES
    m = onp.asarray(quasi.m_phase[0])
    v = (HALL["r_ahe"] * m[:, 2] + HALL["r_phe"] * m[:, 0] * m[:, 1]) * onp.sin(t)
    r_1w, r_2w, r_3w, r_dc = (float(x[0]) for x in (quasi.r_1w, quasi.r_2w, quasi.r_3w, quasi.r_dc))
    fine = onp.linspace(0.0, 2.0 * math.pi, 400)

    plt = _figure_style.pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(17.0, 6.4))
    ax = axes[0]
    for (label, rows), color in zip(vs_current.items(), ("C0", "C3")):
        ax.loglog(currents, rows[:, 0], "o-", color=color, label=f"{label}: R_2w first-order error")
        ax.loglog(currents, rows[:, 1], "s--", color=color, label="R_1w: O(j0^2) part")
        ax.loglog(currents, rows[:, 2], "^:", color=color, label="|R_3w|")
    ax.set_xlabel("current amplitude j0 [A/m^2]")
    ax.set_ylabel("relative to max |R_2w| (dimensionless)")
    ax.set_title("first order in j0 vs every order", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    _figure_style.legend_below(ax, ncol=1, offset=0.16, fontsize=8.5)
    ax = axes[1]
    for (j, rows), color in zip(vs_field.items(), ("C0", "C2")):
        ax.loglog(fields, rows[:, 0], "o-", color=color, label=f"j0 = {j:.0e}: R_2w first-order error")
        ax.loglog(fields, rows[:, 1], "s--", color=color, label="R_1w: O(j0^2) part")
        ax.loglog(fields, rows[:, 2], "^:", color=color, label="|R_3w|")
    ax.set_xlabel("field B [T] (in-plane magnet, B_K = 0.02 T)")
    ax.set_xticks([0.03, 0.05, 0.1, 0.2, 0.5])
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylabel("relative to max |R_2w| (dimensionless)")
    ax.set_title("the first order fails at low field and high current", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    _figure_style.legend_below(ax, ncol=1, offset=0.16, fontsize=8.5)
    ax = axes[2]
    ax.plot(t, v - r_1w * onp.sin(t), "o", color="k", ms=3.5, label="V_H/I0 - R_1w sin wt (at the 32 phases)")
    ax.plot(fine, r_dc - r_2w * onp.cos(2 * fine) + r_3w * onp.sin(3 * fine), "-", color="k", lw=1.0,
            label="R_dc - R_2w cos 2wt + R_3w sin 3wt")
    ax.plot(fine, r_dc - r_2w * onp.cos(2 * fine), "--", color="C3", label=f"R_dc - R_2w cos 2wt (R_2w = {r_2w * 1e3:.3f} mohm)")
    ax.plot(fine, r_3w * onp.sin(3 * fine), "-", color="C2", label=f"R_3w sin 3wt (R_3w = {r_3w * 1e3:.4f} mohm)")
    ax.plot(fine, 1e-3 * onp.sin(fine), ":", color="gray", label="current sin wt (scaled)")
    ax.set_xlabel("w t [rad]")
    ax.set_ylabel("[ohm]")
    ax.set_title(f"one period (phi_H = 30 deg, B = 0.1 T, j0 = 1e11 A/m^2)\nR_1w = {r_1w:.4f} ohm: lock-in X at 1w", fontsize=10)
    ax.grid(alpha=0.3)
    _figure_style.legend_below(ax, ncol=1, offset=0.16, fontsize=8.5)
    path = _figure_style.save(figure, "harmonic_hall_orders.png")
    print(f"wrote {path} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

"""Claim (jaxsot.fit, harmonic Hall): a fit of measured R_1w, R_2w recovers the parameters the data determine
within its reported standard errors, and names what one Fermi energy cannot separate (J/tau).

Data from the TIME-DOMAIN route (`jaxsot.lockin_harmonics`: LLG integrated under j0 sin(2 pi f t), f = 15 MHz,
alpha_G = 1, demodulated like a lock-in), fitted with the quasi-static first-order model
(`jaxsot.harmonic_hall_forward`): the model error (O(j0^2) terms, lag) is part of the test. Perpendicular
magnet (mu0 M_s = 1 T, B_K = 1.5 T, t_F = 1 nm), in-plane fields 0.1 and 0.25 T x 24 angles, j0 = 1e11 A/m^2,
rho0 = 2e-7 ohm m, R_AHE = 1 ohm, R_PHE = 0.3 ohm; strong-exchange torque alpha = 0.05 eV nm, J = 1 eV,
tau = 3 fs, E_F = 1.5 eV (B_FL = -4.02, B_DL = -0.441 mT per 1e11 A/m^2 at M = z). The clean time-domain harmonics are
computed once; Gaussian noise of 0.1 % to 3 % of each column's peak-to-peak range is added (12 seeds per
level), and each set is fitted with the noise given (sigma columns) and unknown (estimated from the
residuals), with J known: free alpha, tau, B_K, R_AHE, R_PHE. z = (estimate - truth)/SE for those five and for
the derived B_FL, B_DL (truth from the closed forms, SI, computed here with scipy brentq band densities);
coverage = fraction of |z| < 1, < 2 (68.3 %, 95.4 % for honest error bars). Last, J free (1 % noise): the fit
must flag J/tau as undetermined while J tau and the fields stay determined; restarts from random starts end
along J tau = const.
Writes experiments/figures/hall_fit_recovery.png and prints the tables (a few minutes on 2 cores).
"""

import math
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # this folder (run as python experiments/NAME.py)
import numpy as onp
from scipy.optimize import brentq

import jaxsot.fit as jf
from jaxsot import HallSettings
from jaxsot.fit._hall import HallData, fit_harmonic_hall, synthesize_hall

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 3.0, "anisotropy_field": 1.5, "r_ahe": 1.0, "r_phe": 0.3}
FERMI_ENERGY, RHO0, J0, MS, T_F = 1.5, 2.0e-7, 1.0e11, 1.0, 1.0
FIELDS, ANGLES = (0.1, 0.25), 24
NOISE = (0.001, 0.003, 0.01, 0.03)
SEEDS = 12
FREE = ("alpha", "tau", "anisotropy_field", "r_ahe", "r_phe")
GUESS = {"alpha": 0.035, "tau": 5.0}
E_C, HBAR_SI, MU0, HBAR2_OVER_2ME = 1.602176634e-19, 1.054571817e-34, 1.25663706212e-6, 0.0380998212
DERIVED = ("B_FL per 1e11 A/m^2", "B_DL per 1e11 A/m^2")


def strong_fields_mT(alpha, j_ex, tau):
    """Closed-form strong-exchange (B_FL, B_DL) [mT] at j0 (M || z densities from brentq; SI)."""
    densities = []
    for s in (-1.0, 1.0):
        g = lambda k, s=s: HBAR2_OVER_2ME * k * k + s * math.sqrt(alpha**2 * k * k + j_ex**2) - FERMI_ENERGY
        densities.append(0.0 if g(0.0) >= 0.0 else brentq(g, 0.0, 100.0, xtol=1e-15) ** 2 / (4.0 * math.pi))
    n_p = (densities[0] - densities[1]) * 1e18
    moment = MS / MU0 * T_F * 1e-9
    common = alpha * E_C * 1e-9 * n_p * E_C * RHO0 * J0 / moment
    return -common * tau * 1e-15 / HBAR_SI * 1e3, -common / (2.0 * j_ex * E_C) * 1e3


def noisy(clean, noise, seed, known):
    rng = onp.random.default_rng(seed)
    s_1w, s_2w = noise * onp.ptp(clean.r_1w), noise * onp.ptp(clean.r_2w)
    return HallData.from_settings(
        clean.r_1w + s_1w * rng.normal(size=clean.num_points), clean.r_2w + s_2w * rng.normal(size=clean.num_points),
        SETTINGS, sigma_1w=s_1w if known else None, sigma_2w=s_2w if known else None, label=f"noise {noise:g}, seed {seed}",
    )


def run_level(clean, noise, known, reference):
    z, relative, converged, flagged, last = [], [], 0, 0, None
    for seed in range(SEEDS):
        data = noisy(clean, noise, 1000 + 100 * NOISE.index(noise) + seed + (0 if known else 50), known)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit_harmonic_hall(data, free=FREE, guess=GUESS, model="strong_exchange", restarts=2, seed=seed)
        flagged += any(issubclass(w.category, jf.IdentifiabilityWarning) for w in caught)
        converged += not any("stopped" in str(w.message) for w in caught)
        row, rel = [], []
        for name in FREE:
            row.append((result.parameters[name] - TRUTH[name]) / result.standard_errors[name])
            rel.append(result.standard_errors[name] / TRUTH[name])
        for name, truth in zip(DERIVED, reference):
            item = result.derived[name]
            row.append((item["value"] - truth) / item["standard_error"])
            rel.append(item["standard_error"] / abs(truth))
        z.append(row)
        relative.append(rel)
        last = (data, result)
    z, relative = onp.array(z), onp.array(relative)
    return {"z": z, "within1": onp.mean(onp.abs(z) < 1.0), "within2": onp.mean(onp.abs(z) < 2.0), "rms": float(onp.sqrt(onp.mean(z**2))),
            "relative": onp.median(relative, axis=0), "converged": converged, "flagged": flagged, "last": last}


def main():
    global SETTINGS
    started = time.perf_counter()
    phi = onp.tile(onp.linspace(0.0, 2.0 * math.pi, ANGLES, endpoint=False), len(FIELDS))
    field = onp.repeat(FIELDS, ANGLES)
    SETTINGS = HallSettings(phi, field, fermi_energy=FERMI_ENERGY, current_density=J0, rho0=RHO0, ms_tesla=MS, thickness=T_F,
                            model="strong_exchange")
    clean = synthesize_hall(TRUTH, SETTINGS, label="clean")
    reference = strong_fields_mT(TRUTH["alpha"], TRUTH["j_ex"], TRUTH["tau"])
    print(f"time-domain harmonics at {clean.num_points} field points: {time.perf_counter() - started:.1f} s; "
          f"closed-form B_FL = {reference[0]:.4f} mT, B_DL = {reference[1]:.4f} mT per 1e11 A/m^2")
    names = list(FREE) + ["B_FL", "B_DL"]
    print("\nnoise | sigma | within 1 SE | within 2 SE | rms z | converged | flagged | median relative SE: " + ", ".join(names))
    levels, all_z = {}, []
    for noise in NOISE:
        for known in (True, False):
            out = run_level(clean, noise, known, reference)
            levels[(noise, known)] = out
            all_z.append(out["z"])
            print(f"{noise:6.3f} | {'given' if known else 'estim.'} | {out['within1']:6.1%} | {out['within2']:6.1%} | {out['rms']:5.2f} | "
                  f"{out['converged']}/{SEEDS} | {out['flagged']} | " + ", ".join(f"{r:.2e}" for r in out["relative"]), flush=True)
    z = onp.concatenate(all_z)
    print(f"\nall levels: {z.size} estimates, {onp.mean(onp.abs(z) < 1):.1%} within 1 SE (68.3 % expected), "
          f"{onp.mean(onp.abs(z) < 2):.1%} within 2 SE (95.4 %), rms z = {onp.sqrt(onp.mean(z ** 2)):.2f}")
    print("mean z per noise level (sigma given / estimated): " + ", ".join(names))
    for noise in NOISE:
        print(f"  {noise:6.3f}: " + "; ".join(f"{levels[(noise, True)]['z'][:, j].mean():+.2f} / {levels[(noise, False)]['z'][:, j].mean():+.2f}"
                                         for j in range(len(names))))
    for j, name in enumerate(names):
        print(f"  {name:<17} within 1 SE {onp.mean(onp.abs(z[:, j]) < 1):6.1%}, within 2 SE {onp.mean(onp.abs(z[:, j]) < 2):6.1%}, "
              f"mean z {onp.mean(z[:, j]):+.2f}")

    # J free at 1 % noise: J/tau is not determined, J tau is.
    data = noisy(clean, 0.01, 7, True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        free_j = fit_harmonic_hall(data, model="strong_exchange", restarts=8, seed=1, guess={"alpha": 0.04, "j_ex": 1.4, "tau": 5.0})
    flagged = [str(w.message) for w in caught if issubclass(w.category, jf.IdentifiabilityWarning)]
    print("\nJ free (1 % noise, sigma given):")
    print(free_j.summary())
    print(f"IdentifiabilityWarning: {'yes' if flagged else 'NO'}")
    ends = onp.array([[r["end"]["j_ex"], r["end"]["tau"], r["loss"]] for r in free_j.restarts])
    best_loss = ends[:, 2].min()
    near = ends[(ends[:, 2] - best_loss) * 2 * data.num_points * 2 < 1.0]
    print(f"restarts within chi^2 + 1 of the best: {len(near)}/{len(ends)}; their J from {near[:, 0].min():.3g} to {near[:, 0].max():.3g} eV, "
          f"tau from {near[:, 1].min():.3g} to {near[:, 1].max():.3g} fs, J tau from {(near[:, 0] * near[:, 1]).min():.4g} to "
          f"{(near[:, 0] * near[:, 1]).max():.4g} eV fs (truth 3)")

    plt = _figure_style.pyplot()
    figure, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax = axes[0, 0]
    grid = onp.linspace(-4, 4, 200)
    ax.hist(onp.clip(z.ravel(), -4, 4), bins=32, density=True, alpha=0.6, color="C0", label=f"{z.size} fits' z")
    ax.plot(grid, onp.exp(-grid**2 / 2) / math.sqrt(2 * math.pi), "k-", label="N(0, 1)")
    ax.set_xlabel("z = (estimate - truth)/SE (dimensionless)")
    ax.set_ylabel("density")
    ax.set_title("(a) reported errors vs actual errors")
    _figure_style.legend_right(ax)
    ax = axes[0, 1]
    for j, name in enumerate(names):
        ax.loglog(NOISE, [levels[(n, True)]["relative"][j] for n in NOISE], "o-", label=name, lw=1.4)
    ax.set_xlabel("noise [fraction of each column's range]")
    ax.set_ylabel("median relative SE (dimensionless)")
    ax.set_title("(b) standard errors grow with the noise")
    _figure_style.legend_right(ax)
    ax = axes[1, 0]
    example, result = levels[(0.01, True)]["last"]
    for k, b in enumerate(FIELDS):
        mask = example.field == b
        ax.plot(onp.degrees(example.phi_h[mask]), example.r_2w[mask] * 1e3, "o", ms=4, color=f"C{k}", label=f"data, B = {b} T")
        ax.plot(onp.degrees(example.phi_h[mask]), result.predictions[0][mask, 1] * 1e3, "-", color=f"C{k}", label=f"fit, B = {b} T")
    ax.set_xlabel(r"field angle $\phi_H$ [deg]")
    ax.set_ylabel(r"$R_{2\omega}$ [m$\Omega$]")
    ax.set_title("(c) time-domain data (1 % noise) and the quasi-static fit")
    _figure_style.legend_right(ax)
    ax = axes[1, 1]
    ax.plot(ends[:, 0], ends[:, 1], "o", color="C0", ms=8, label="restart ends (8 random starts)")
    j_line = onp.linspace(0.4, 3.0, 100)
    ax.plot(j_line, 3.0 / j_line, "k--", label=r"$J\tau$ = 3 eV fs (truth)")
    ax.plot([TRUTH["j_ex"]], [TRUTH["tau"]], "r*", ms=14, label="truth")
    ax.set_xlabel("J [eV]")
    ax.set_ylabel(r"$\tau$ [fs]")
    ax.set_title("(d) J free: the restarts end along J tau = const")
    _figure_style.legend_right(ax)
    out = _figure_style.save(figure, "hall_fit_recovery.png")
    print(f"\nwrote {out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

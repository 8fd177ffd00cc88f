"""Claim (jaxsot.fit): the fit recovers known parameters from noisy data within its reported
standard errors, at every noise level, and says when the data cannot separate parameters.

Synthetic data from the exact-band forward models (alpha = 0.05 eV nm, J = 1 eV, m = m_e fixed,
tau = 10 fs, E_F = 0.5 eV: only the lower band, where AMR + torques identify alpha, J and tau):
60 in-plane angles of M, columns rho_ratio, T_DL_x, T_DL_y, T_FL_z, Gaussian noise of 0.3 % to 10 %
of each column's range, 12 seeds per level, fitted with the noise given (sigma columns) and with it
unknown (estimated from the residuals). For each fit z = (estimate - truth)/SE; the coverage is the
fraction of |z| < 1 and |z| < 2 (68.3 % and 95.4 % for honest error bars). Last, an AMR curve alone
(1 % noise), which fixes eta = m alpha^2/(hbar^2 J) but not alpha and J: the fit must flag it, and
restarts from different starts end anywhere on the line eta = const.
Writes experiments/figures/fit_recovery.png and prints the tables (timing: experiments/README.md).
"""

import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import matplotlib.lines  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot.fit as jf  # noqa: E402

TRUTH = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}
FERMI_ENERGY = 0.5
COLUMNS = ("rho_ratio", "T_DL_x", "T_DL_y", "T_FL_z")
NOISE = (0.003, 0.01, 0.03, 0.1)
SEEDS = 12
POINTS = 60
GUESS = {"alpha": 0.035, "j_ex": 1.3, "tau": 6.0}
BOUNDS = {"alpha": (0.01, 0.12), "j_ex": (0.6, 3.0), "tau": (1.0, 100.0)}
FREE = ("alpha", "j_ex", "tau")
HBAR, ELECTRON_MASS = 0.6582119569, 5.6856301


def run_level(noise, known):
    rows = []
    for seed in range(SEEDS):
        # Independent noise draws at every level (the same draw scaled would repeat the same z).
        draw = 1000 + 100 * NOISE.index(noise) + seed
        curve = jf.synthesize(TRUTH, FERMI_ENERGY, columns=COLUMNS, num_points=POINTS, noise=noise, known_noise=known, seed=draw)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = jf.fit(curve, FERMI_ENERGY, free=FREE, guess=GUESS, bounds=BOUNDS, restarts=2, seed=seed)
        rows.append(
            {
                "estimate": [result.parameters[n] for n in FREE],
                "se": [result.standard_errors[n] for n in FREE],
                "flagged": any(issubclass(w.category, jf.IdentifiabilityWarning) for w in caught),
                "converged": result.restarts[result.best]["status"].startswith("converged"),
            }
        )
    estimate = onp.array([r["estimate"] for r in rows])
    se = onp.array([r["se"] for r in rows])
    truth = onp.array([TRUTH[n] for n in FREE])
    return {
        "estimate": estimate,
        "se": se,
        "z": (estimate - truth) / se,
        "flagged": sum(r["flagged"] for r in rows),
        "converged": sum(r["converged"] for r in rows),
    }


def amr_alone():
    curve = jf.synthesize(TRUTH, FERMI_ENERGY, columns=("rho_ratio",), num_points=POINTS, noise=0.01, seed=7)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = jf.fit(curve, FERMI_ENERGY, free=("alpha", "j_ex"), guess=GUESS, bounds={k: BOUNDS[k] for k in ("alpha", "j_ex")},
                        restarts=8, seed=3)
    flags = [str(w.message) for w in caught if issubclass(w.category, jf.IdentifiabilityWarning)]
    return result, flags


def main():
    started = time.perf_counter()
    results = {}
    for known in (True, False):
        for noise in NOISE:
            results[(known, noise)] = run_level(noise, known)
    truth = onp.array([TRUTH[n] for n in FREE])
    print(f"E_F = {FERMI_ENERGY} eV, truth {TRUTH}, {POINTS} rows x {len(COLUMNS)} columns, {SEEDS} seeds per level")
    print(f"{'noise':>6} {'sigma':>8} | {'median SE/truth (alpha, J, tau)':>34} | {'mean z':>22} | {'|z|<1':>6} {'|z|<2':>6} | conv flagged")
    for (known, noise), r in results.items():
        rel = onp.median(r["se"] / truth, axis=0)
        z = r["z"]
        print(
            f"{noise:6.3f} {'given' if known else 'estim.':>8} | {' '.join(f'{x:10.2e}' for x in rel):>34} | "
            f"{' '.join(f'{x:+6.2f}' for x in z.mean(0)):>22} | {onp.mean(onp.abs(z) < 1):6.2f} {onp.mean(onp.abs(z) < 2):6.2f} | "
            f"{r['converged']:4d} {r['flagged']:4d}"
        )
    pooled = onp.concatenate([r["z"].ravel() for r in results.values()])
    print(f"pooled over {pooled.size} estimates: |z| < 1: {onp.mean(onp.abs(pooled) < 1):.3f} (0.683), "
          f"|z| < 2: {onp.mean(onp.abs(pooled) < 2):.3f} (0.954), rms z = {onp.sqrt(onp.mean(pooled**2)):.2f}")

    amr, flags = amr_alone()
    eta = amr.derived["eta"][0]
    print(f"\nAMR alone (exact bands, 1 % noise): flagged = {bool(flags)}; identifiable: {amr.identifiable}; directions:")
    for d in amr.directions:
        truth_value = onp.prod([TRUTH[n] ** d["exponents"][n] for n in ("alpha", "j_ex")])
        value = f"{d['value']:.5g} (truth {truth_value:.5g}, z = {(d['value'] / truth_value - 1) / d['relative_error']:+.2f})" \
            if d["determined"] else "--"
        print(f"  {d['combination']:<18} = {value}, relative error {d['relative_error']:.3g}, "
              f"{'determined' if d['determined'] else 'NOT determined'} {d['known'] or ''}")
    ends = onp.array([[r["end"]["alpha"], r["end"]["j_ex"]] for r in amr.restarts])
    spread = onp.ptp(onp.log(ends), axis=0)
    eta_ends = ELECTRON_MASS * ends[:, 0] ** 2 / (HBAR**2 * ends[:, 1])
    print(f"  8 restarts end at alpha {ends[:, 0].min():.4f}..{ends[:, 0].max():.4f}, J {ends[:, 1].min():.3f}..{ends[:, 1].max():.3f} "
          f"(log spread {spread[0]:.2f}, {spread[1]:.2f}) with eta within {onp.ptp(eta_ends) / eta:.1e} of each other")

    out = plot(results, eta, ends, pooled)
    print(f"\nwrote {out} in {time.perf_counter() - started:.0f} s")


NAMES = {  # parameter -> (words, symbol, unit)
    "alpha": ("Rashba coupling", r"\alpha", "eV nm"),
    "j_ex": ("exchange splitting", "J", "eV"),
    "tau": ("relaxation time", r"\tau", "fs"),
}


def plot(results, eta, ends, pooled):
    """Estimates +- SE per parameter, coverage vs noise, the AMR-only degeneracy line, and a summary."""
    plt = _figure_style.pyplot()
    figure, axes = plt.subplots(2, 3, figsize=(16, 10))
    axes = axes.ravel()
    styles = {True: dict(color="C0", marker="o", label=r"noise $\sigma$ given to the fit"),
              False: dict(color="C1", marker="s", label=r"noise $\sigma$ estimated from the residuals")}
    for k, name in enumerate(FREE):
        ax = axes[k]
        words, symbol, unit = NAMES[name]
        for offset, known in ((-0.04, True), (0.04, False)):
            style = styles[known]
            for noise in NOISE:
                r = results[(known, noise)]
                x = noise * 10 ** (offset + 0.015 * (onp.arange(SEEDS) - SEEDS / 2))
                ax.errorbar(x, r["estimate"][:, k] / TRUTH[name] - 1.0, yerr=r["se"][:, k] / TRUTH[name], fmt=style["marker"], ms=3,
                            lw=0.8, color=style["color"], mfc="none" if not known else style["color"])
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("noise level (fraction of each column's range)")
        ax.set_ylabel(rf"${symbol}_{{\rm fit}}/{symbol}_{{\rm true}} - 1$ (dimensionless)")
        ax.set_title(f"({'abc'[k]}) {words} ${symbol}$ = {TRUTH[name]:g} {unit}: estimate $\\pm$ SE", fontsize=11.5)
    ax = axes[3]
    for known, (marker, ls, fill) in ((True, ("o", "-", "full")), (False, ("s", "--", "none"))):
        one = [onp.mean(onp.abs(results[(known, n)]["z"]) < 1) for n in NOISE]
        two = [onp.mean(onp.abs(results[(known, n)]["z"]) < 2) for n in NOISE]
        label = "given" if known else "estimated"
        size = 6 if known else 11  # open squares around the filled circles where both coincide
        ax.plot(NOISE, one, ls=ls, marker=marker, ms=size, mfc=None if known else "none", mew=1.4, color="C2",
                label=rf"$|z| < 1$, $\sigma$ {label}")
        ax.plot(NOISE, two, ls=ls, marker=marker, ms=size, mfc=None if known else "none", mew=1.4, color="C3",
                label=rf"$|z| < 2$, $\sigma$ {label}")
    ax.axhline(0.683, color="C2", lw=1.0, ls=":", label="expected 0.683 (Gaussian)")
    ax.axhline(0.954, color="C3", lw=1.0, ls=":", label="expected 0.954 (Gaussian)")
    ax.set_xscale("log")
    ax.set_ylim(0.3, 1.05)
    ax.set_xlabel("noise level (fraction of each column's range)")
    ax.set_ylabel("coverage: fraction with $|z| < 1$ or $2$\n" r"$z$ = (estimate $-$ truth)/SE (dimensionless)")
    ax.set_title(f"(d) coverage of the reported SE ({SEEDS * 3} estimates per point)", fontsize=11.5)
    _figure_style.legend_below(ax, ncol=2, offset=0.2, fontsize=9.5)
    ax = axes[4]
    line = onp.linspace(0.6, 3.0, 100)
    ax.plot(onp.sqrt(eta * HBAR**2 * line / ELECTRON_MASS), line, "-", color="C0", label=r"$\eta = m\alpha^2/(\hbar^2 J)$ = fitted value")
    ax.plot(ends[:, 0], ends[:, 1], "o", ms=8, mfc="none", mew=1.5, color="C3", label="8 restarts: end points")
    ax.plot([TRUTH["alpha"]], [TRUTH["j_ex"]], "k*", ms=13, label="truth")
    ax.set_xlabel(r"Rashba coupling $\alpha$ [eV nm]")
    ax.set_ylabel(r"exchange splitting $J$ [eV]")
    ax.set_title(r"(e) AMR curve alone: only $\eta$ is determined (flagged)", fontsize=11.5)
    _figure_style.legend_below(ax, ncol=1, offset=0.2, fontsize=9.5)
    ax = axes[5]
    ax.axis("off")
    handles = [matplotlib.lines.Line2D([], [], ls="none", ms=6, mew=1.3, mfc="none" if not known else style["color"], **{
        k: v for k, v in style.items() if k != "label"}, label=style["label"]) for known, style in styles.items()]
    ax.legend(handles=handles, loc="upper left", title="panels (a)-(c)", fontsize=10)
    lines = [f"truth: alpha = {TRUTH['alpha']} eV nm, J = {TRUTH['j_ex']} eV,", f"tau = {TRUTH['tau']} fs (m = m_e fixed), E_F = {FERMI_ENERGY} eV",
             f"{POINTS} angles x columns", f"  {', '.join(COLUMNS)}", f"{SEEDS} noise draws per level", "",
             "pooled coverage of the reported SE:",
             f"  |z| < 1: {onp.mean(onp.abs(pooled) < 1):.3f} (0.683 expected)", f"  |z| < 2: {onp.mean(onp.abs(pooled) < 2):.3f} (0.954 expected)",
             f"  rms z = {onp.sqrt(onp.mean(pooled**2)):.2f} over {pooled.size} estimates"]
    ax.text(0.02, 0.62, "\n".join(lines), va="top", family="monospace", fontsize=10.5, transform=ax.transAxes)
    figure.suptitle(r"jaxsot.fit: recovery of known parameters from synthetic AMR + torque data (exact bands, $E_F$ = 0.5 eV)")
    return _figure_style.save(figure, "fit_recovery.png")


if __name__ == "__main__":
    main()

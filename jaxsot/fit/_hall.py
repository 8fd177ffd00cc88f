"""Harmonic Hall fits: the microscopic parameters from measured R_1w, R_2w curves and from tables of SOT
fields or efficiencies (docs: Theory > Harmonic Hall, "Fitting harmonic Hall data").

Data (plain NumPy containers, internal units: angles rad, fields T, resistances ohm):
- `HallData`: N rows of a field sweep (phi_H, B, theta_H) with the lock-in harmonics R_1w, R_2w and the
  sample's settings (E_F, j0, rho0, mu0 M_s, t_F, easy axis, demagnetizing factors, bias field, branch).
  Forward model: `jaxsot.harmonic_hall_forward` (quasi-static macrospin, implicit-function response,
  lock-in convention R_2w = amplitude of -cos 2wt), plus optional constant offsets r_1w_offset,
  r_2w_offset (a misaligned Hall cross, a constant thermal voltage).
- `FieldData`: N rows of effective fields B_DL^s, B_FL^s [T] at the current density j of each row, or
  efficiencies xi_DL, xi_FL, at given directions M. Forward model: `jaxsot.effective_fields` (the
  projections B_FL^s = B_FL.(P_perp y)/|P_perp y|^2, B_DL^s = B_DL.(M x y)/|M x y|^2, xi = (2e/hbar) M_s t_F B^s/j).
Any `TwoBandModel` (`model=`): the same data, with the model's named parameters and tau in place of alpha, j_ex,
mass_ratio, tau (exact bands: `jaxsot.harmonic_hall_forward(..., model=)` and `jaxsot.effective_fields` of its
`ModelTorque`). Several data sets are fitted together; they share every parameter (one sample; each has its own settings,
so data at several Fermi energies enter one fit).

Fit. Whitened residuals r = (prediction - data)/sigma of every column, loss mean(r^2)/2. Free parameters are
reparameterized inside their bounds (log box x = exp(log lo + (log hi - log lo) sigmoid(u)) for a box on one
side of zero, else linear), minimized with optax L-BFGS in a `lax.while_loop`, restarts batched with
`jax.vmap` (as `jaxsot.fit.fit`). Before the restarts, the parameters that enter the signals linearly
(r_ahe, r_phe, r_ane and the offsets: R_1w = r_ahe M_z + r_phe M_x M_y, R_2w = grad R_H . dM/2 + r_ane M_x)
are solved by linear least squares at the guess (and, when anisotropy_field is free without a given guess,
at 8 values of it across its box, keeping the best): the first restart starts there. Unknown noise: each
column's spread weights the restarts, then sigma is estimated per column from the residuals,
sigma_c^2 = RSS_c/(N_c - p N_c/N), and the best point is refitted until the estimate settles.

Uncertainty and identifiability. Gauss-Newton at the optimum: J = dr/dx (jax.jacfwd); covariance
(J^T J)^+ (scaled by the reduced chi^2 when the noise was estimated), pseudo-inverse in coordinates log|x|
(one-signed boxes) or x/scale (signed ones, whose value may be ~0). The electron parameters are analysed by
name in log coordinates with `jaxsot.fit.analyze` (power-law combinations such as 'j_ex tau' are
directions) after profiling out the magnet and Hall parameters: their Jacobian columns are projected out,
J_e' = (1 - P_n) J_e, so the covariance of the analysed parameters is the marginal one (Schur complement). What harmonic Hall data
determine in this model: R_1w fixes r_ahe, r_phe and the anisotropy field; R_2w fixes the fields B_FL, B_DL
at the measured M. Since B_DL = (hbar/(2 J tau)) M x B_FL exactly (constant-tau rigid shift, exact bands
too), the two fields fix J tau and one more combination of alpha, J, tau, m (for strong exchange with both
bands B_DL ~ m alpha, B_FL ~ m alpha J tau); the exact bands' angular dependence ((alpha k_F/J)^2) separates
J from tau only weakly. The summary names the determined and undetermined combinations and `derived` gives
the fields, efficiencies and J tau with propagated standard errors.
"""

import collections
import dataclasses
import math
import warnings

import jax.numpy as jnp
import numpy as onp

from .._core import check_count, check_finite, check_range
from .._core._model import RashbaFerromagnet, TwoBandModel
from .._core._params import model_parameters, parameter_names
from .._measure import HallSettings
from ._curves import FitWarning
from ._forward import ModelSpec, require_concrete
from ._driver import column_scale, estimated_sigmas, fit_statistics, noise_factor, relative_change, result_blocks
from ._hall_data import (
    HALL_FIT_PARAMETERS,
    HALL_FIT_UNITS,
    HALL_OPTIMIZERS,
    HALL_ORDERS,
    HallData,
    HallNames,
    RASHBA_NAMES,
    columns_of,
    sigma_of,
    values_of,
)
from ._hall_model import (
    HallStatic,
    as_data_list,
    best_on_direct_route,
    linear_start,
    build_blocks,
    check_names,
    default_bounds,
    default_guess,
    depended_names,
    direct_where_inexact,
    exploration_nodes,
    residuals_and_jacobian,
    run_batched,
    settle_box,
    show_point,
    default_free,
    verify_box,
)
from ._hall_progress import HallProgress
from ._hall_report import HallFitResult, derived_quantities, model_note, fit_notes, separability_notes, uncertainty
from ._levmar import LM_TOL, STATUS, hold_last, levenberg_marquardt, x_of_u
from ._optimize import to_unconstrained, transform_kind

# Re-exported: callers and tests import these from `jaxsot.fit._hall`, where they lived before the split.
from ._hall_data import FIELD_COLUMN_UNITS as FIELD_COLUMN_UNITS
from ._hall_data import FIELD_COLUMNS as FIELD_COLUMNS
from ._hall_data import MIN_ROWS as MIN_ROWS
from ._hall_data import SYNTH_ROUTES as SYNTH_ROUTES
from ._hall_data import FieldData as FieldData
from ._hall_loss import hall_loss as hall_loss
from ._hall_synth import synthesize_hall as synthesize_hall


_NOISE_ROUNDS = 6


def hall_linearity(data) -> dict | None:
    """Linearity of the second harmonic in the current over sweeps at several current amplitudes.

    For each HallData (one current amplitude j0 each) the amplitude a = rms over rows of R_2w; in the linear
    (first-order) regime a/j0 is constant. Least squares of a/j0 = c0 + c1 j0 over the sweeps (weights from
    sigma_2w when given).

    Args:
        data: a HallData or a list of them (FieldData entries are ignored).

    Returns: None with fewer than two distinct currents, else {"current_density" [A/m^2], "r2w_per_current" [ohm/(A/m^2)],
    "standard_error" (of each ratio; NaN without sigma), "intercept" c0, "slope" c1, "relative_change"
    c1 j_max/c0 (the fraction by which R_2w/j0 at the largest current departs from the linear limit),
    "relative_change_error" (NaN without sigma or with two currents)}.
    """
    sweeps = [d for d in (data if isinstance(data, (list, tuple)) else [data]) if isinstance(d, HallData)]
    currents = onp.array([d.current_density for d in sweeps], float)
    if len(set(currents.tolist())) < 2:
        return None
    ratio, error = [], []
    for d in sweeps:
        a = float(onp.sqrt(onp.mean(d.r_2w**2)))
        ratio.append(a / d.current_density)
        # d a/d R_i = R_i/(N a): first-order error propagation of the rms.
        error.append(float(onp.sqrt(onp.sum((d.r_2w * d.sigma_2w) ** 2))) / (d.num_points * a * d.current_density)
                     if d.sigma_known and a > 0.0 else math.nan)
    ratio, error = onp.asarray(ratio), onp.asarray(error)
    weights = 1.0 / error**2 if onp.all(onp.isfinite(error)) else onp.ones_like(ratio)
    design = onp.stack([onp.ones_like(currents), currents], -1)
    normal = design.T @ (design * weights[:, None])
    c0, c1 = onp.linalg.solve(normal, design.T @ (weights * ratio))
    change = c1 * currents.max() / c0
    change_error = math.nan
    if onp.all(onp.isfinite(error)) and len(currents) > 2:
        cov = onp.linalg.inv(normal)
        g = onp.array([-c1 * currents.max() / c0**2, currents.max() / c0])
        change_error = float(math.sqrt(max(g @ cov @ g, 0.0)))
    return {"current_density": currents.tolist(), "r2w_per_current": ratio.tolist(), "standard_error": error.tolist(),
            "intercept": float(c0), "slope": float(c1), "relative_change": float(change), "relative_change_error": change_error}


def hall_fit_names(model=None) -> tuple:
    """The names `fit_harmonic_hall(..., model=model)` may free, guess and bound: HALL_FIT_PARAMETERS for the
    Rashba ferromagnet (None, a method name or a `RashbaFerromagnet`); for any other `TwoBandModel` its named
    parameters (`jaxsot.parameter_names`), tau, then the magnet and Hall names and the offsets.

    Args:
        model: None, "exact", "strong_exchange" or a `jaxsot.TwoBandModel`.

    Returns: the names, in the fit's order.
    """
    if not isinstance(model, TwoBandModel) or type(model) is RashbaFerromagnet:
        return HALL_FIT_PARAMETERS
    names = parameter_names(model)
    return HallNames(electrons=names + ("tau",), model_names=names, model=type(model).__name__).all


def fit_harmonic_hall(
    data,
    settings: HallSettings | None = None,
    *,
    free=None,
    guess=None,
    bounds=None,
    model=None,
    num: int = 64,
    optimizer: str = "lm",
    restarts: int = 4,
    max_steps: int = 200,
    seed: int = 0,
    gtol: float = 1e-9,
    ftol: float | None = None,
    rcond: float = 1e-9,
    max_relative_error: float = 0.5,
    report_every: int = 0,
    orders: str = "first",
    progress=None,
) -> HallFitResult:
    """Fit microscopic, magnet and Hall parameters to harmonic Hall curves and/or SOT field tables.

    Args:
        data: a `HallData`, a `FieldData`, or a list of them (fitted together, every parameter shared);
            or arrays (r_1w, r_2w) [ohm] with `settings`.
        settings: a `jaxsot.HallSettings` for array data (its model is the default `model`).
        free: names from HALL_FIT_PARAMETERS to fit (default alpha, j_ex, tau, and with Hall curves
            anisotropy_field, r_ahe, r_phe, plus r_ane when every sweep has an in-plane easy axis); the
            others are fixed at `guess`.
        guess: {name: start / fixed value} (defaults: jaxsot.fit.DEFAULT_GUESS, HALL_DEFAULTS, offsets 0,
            r_ahe and the anisotropy field from the data's scale, refined by least squares before the fit).
        bounds: {name: (lower, upper)} for free names (default: alpha, j_ex, mass_ratio guess/3..3 guess;
            tau, anisotropy_field, r_ahe guess/10..10 guess; signed coefficients guess +- 3 max|R|; the
            default sides of alpha, j_ex, mass_ratio narrowed to stay in one band regime).
        model: the electron model: "exact" (Rashba ferromagnet, Fermi-contour fluxes, default) or "strong_exchange"
            (its closed forms); None: the settings' model, else "exact"; or any `jaxsot.TwoBandModel` with
            `with_magnetization` (exact bands; its magnetization is not used): a `RashbaFerromagnet` fills the
            guess of alpha, j_ex, mass_ratio (the same route as "exact"); any other model's named parameters
            (`jaxsot.parameter_names(model)`, e.g. hbar_v, j_ex, kinetic of `TISurfaceFerromagnet`) and tau
            become the electron names of free, guess and bounds (default free: all of them, and the magnet and
            Hall names), analysed for identifiability by those names; its own values are the default guess.
        num: rays per Fermi contour (>= 8).
        optimizer: "lm" (default): Levenberg-Marquardt in the reparameterized coordinates, on the jitted
            residuals and Jacobian that also give the standard errors (one compilation), restarts one after
            the other; "lbfgs": optax L-BFGS with the restarts batched with vmap (as `jaxsot.fit.fit`; a
            second, larger compilation). Either way the best point is polished by Levenberg-Marquardt.
        restarts: runs; the first from the (refined) guess, the others with the electron parameters seeded
            uniform in their (log-)box.
        max_steps: iterations per run.
        seed: seed of the restarts' random starts (>= 0).
        gtol: L-BFGS gradient criterion (as `jaxsot.fit.fit`).
        ftol: L-BFGS loss-change criterion (default 1e-13); for "lm", the chi^2 decrease of the Gauss-Newton
            step below which a run stops (default 1e-8).
        rcond: relative singular-value cut of the pseudo-inverse (`jaxsot.fit.analyze`), in [0, 1].
        max_relative_error: relative standard error above which a combination is reported undetermined (> 0).
        report_every: print each restart's loss every so many iterations and, with "lm", at least once a second
            while it iterates, with the compilation, the polish and the noise refits (0: quiet).
        orders: "first" (default): `jaxsot.harmonic_hall_forward`, first order in the current (fast);
            "all": `jaxsot.harmonic_hall_all_orders`, every order (R_1w with its O(j0^2) part, R_2w beyond
            linear response), ~30 x 4 field evaluations per point instead of one (16 phases).
        progress: where the progress lines of report_every go: a callable taking one line of text (default: print).

    Returns:
        HallFitResult. Warns `IdentifiabilityWarning` naming the combinations the data do not fix (e.g.
        'j_ex tau^-1') and `FitWarning` for bounds, convergence and chi^2; the sentences are in `notes`.
        Fits need float64 (jax_enable_x64).

    Raises:
        ValueError: naming the argument, its value and what is allowed.
    """
    require_concrete("fit_harmonic_hall", guess or {}, label="guess", loss="jaxsot.fit.hall_loss")
    data = as_data_list(data, settings)
    names, spec, model_guess = RASHBA_NAMES, None, {}
    if isinstance(model, TwoBandModel):
        if type(model) is RashbaFerromagnet:
            model_guess = {n: float(v) for n, v in model_parameters(model).items()}
            model = "exact"
        else:
            spec = ModelSpec(model, parameter_names(model), "rays")
            names = HallNames(electrons=spec.names + ("tau",), model_names=spec.names, model=type(model).__name__)
            model = "exact"
    if model is None:
        model = settings.model if isinstance(settings, HallSettings) else "exact"
    if model not in ("exact", "strong_exchange"):
        raise ValueError(f"model = {model!r} is not allowed; allowed: 'exact', 'strong_exchange', or a jaxsot.TwoBandModel")
    fit_names = names.all
    num = check_count("num", num, minimum=8)
    if orders not in HALL_ORDERS:
        raise ValueError(f"orders = {orders!r} is not allowed; allowed: {', '.join(map(repr, HALL_ORDERS))}")
    if optimizer not in HALL_OPTIMIZERS:
        raise ValueError(f"optimizer = {optimizer!r} is not allowed; allowed: {', '.join(map(repr, HALL_OPTIMIZERS))}")
    if ftol is None:
        ftol = LM_TOL if optimizer == "lm" else 1e-13
    restarts = check_count("restarts", restarts, minimum=1, maximum=1024)
    max_steps = check_count("max_steps", max_steps, minimum=1)
    seed = check_count("seed", seed, minimum=0)
    report_every = check_count("report_every", report_every, minimum=0)
    for name, value in (("gtol", gtol), ("ftol", ftol)):
        check_range(name, value, low=0.0)
    check_range("rcond", rcond, low=0.0, high=1.0)
    check_range("max_relative_error", max_relative_error, low=0.0, low_inclusive=False)
    labels = [d.label for d in data]
    labels = [f"{lab}#{i}" if labels.count(lab) > 1 else lab for i, lab in enumerate(labels)]

    depends = depended_names(data, names.electrons)
    has_hall = any(isinstance(d, HallData) for d in data)
    guess = dict(guess or {})
    check_names("guess", guess, fit_names)
    values = {**default_guess(data, spec.model if spec is not None else None), **model_guess}
    for name, value in guess.items():
        check_finite(f"guess[{name!r}]", value)
        values[name] = float(value)
    for name in ("tau",) if names.general else ("j_ex", "tau", "mass_ratio"):
        check_range(f"guess[{name!r}]", values[name], low=0.0, low_inclusive=False, unit=HALL_FIT_UNITS[name])
    if not names.general and values["alpha"] == 0.0:
        raise ValueError("guess['alpha'] = 0 eV nm; allowed: a non-zero Rashba coupling (either sign)")
    if free is None:
        free = default_free(data, names)
    free = (free,) if isinstance(free, str) else tuple(free)
    check_names("free", free, fit_names)
    if not free or len(set(free)) != len(free):
        raise ValueError(f"free = {free!r}; allowed: distinct names from {', '.join(fit_names)}")
    unused = [n for n in free if n not in depends]
    if unused:
        raise ValueError(f"free names {unused[0]!r}, on which no data set depends (the Hall parameters need HallData); "
                         f"allowed: {', '.join(n for n in fit_names if n in depends)}")
    free = tuple(n for n in fit_names if n in free)
    bounds = dict(bounds or {})
    check_names("bounds", bounds, fit_names)
    lower, upper, given = [], [], []
    for name in free:
        if name in bounds:
            lo, hi = (float(b) for b in bounds[name])
            check_finite(f"bounds[{name!r}]", [lo, hi])
            if not lo < values[name] < hi:
                raise ValueError(f"bounds[{name!r}] = ({lo:g}, {hi:g}) {names.unit(name)} do not contain the guess "
                                 f"{values[name]:g}; allowed: lower < guess < upper")
            if name in (("tau",) if names.general else ("j_ex", "tau", "mass_ratio")) and not lo > 0.0:
                raise ValueError(f"bounds[{name!r}] = ({lo:g}, {hi:g}); allowed: lower > 0 for {name}")
        else:
            lo, hi = default_bounds(name, values[name], data, names)
        lower.append(lo)
        upper.append(hi)
        given.append(name in bounds)
    for name in bounds:
        if name not in free:
            raise ValueError(f"bounds for {name!r}: it is not free; allowed: bounds for {', '.join(free)}")
    bands = settle_box(values, data, model, free, lower, upper, given, spec)
    if spec is None:
        verify_box(values, free, lower, upper, model)

    total = sum(d.num_points * len(columns_of(d)) for d in data)
    noise_known = all(d.sigma_known for d in data)
    if total < len(free) + (0 if noise_known else 1):
        raise ValueError(f"the data have {total} values for {len(free)} free parameters; allowed: more values than parameters")
    dtype = jnp.result_type(float)
    notes = []
    if dtype != jnp.float64:
        notes.append((FitWarning, "JAX runs in float32: fits need float64 (switch on JAX's jax_enable_x64 option before "
                                  "creating arrays); gradients and standard errors are unreliable in float32"))
    sigmas = [sigma_of(d) if d.sigma_known else onp.broadcast_to(column_scale(values_of(d)), values_of(d).shape) for d in data]
    blocks, kinds = build_blocks(data, model, num, bands, sigmas, values, dtype, orders, spec)
    static = HallStatic(kinds=kinds, free=free, transform=tuple(transform_kind(lo, hi) for lo, hi in zip(lower, upper)),
                     max_steps=max_steps, gtol=float(gtol), ftol=float(ftol), checked=spec is not None)

    def box_with(vals):
        return {"lower": jnp.asarray(lower, dtype), "upper": jnp.asarray(upper, dtype),
                "fixed": {n: jnp.asarray(vals[n], dtype) for n in fit_names if n not in free}}

    box = box_with(values)

    def with_sigmas(sigs, direct=True):
        # direct: the switchable data sets (`HallStatic.switchable`) on the direct route (the polish) or on the
        # interpolated flux tensor (False: the restarts); one compiled program for both.
        return tuple({**b, "sigma": jnp.asarray(s, dtype), **({"direct": jnp.asarray(direct)} if i in switchable else {})}
                     for i, (b, s) in enumerate(zip(blocks, sigs))), box

    switchable = ()

    info = []
    # Every order: the linear start and the restarts explore the first-order loss (one field evaluation per point
    # instead of ~30 x 4), and the best point is then polished at every order below (the first-order optimum
    # lies within a few Gauss-Newton steps of the every-order one).
    static_restarts = static
    if orders == "all":
        static_restarts = dataclasses.replace(static, kinds=tuple(("hall", "first") + k[2:] if k[0] == "hall" else k for k in kinds))
        info.append("restarts at first order in the current; the best point refitted at every order")
    # A data set on the direct route because the interpolated flux tensor misses its tolerance somewhere in the box
    # (e.g. where alpha k_F ~ J): the restarts explore on the interpolant that is accurate at the guess, ~10x faster,
    # and only the best point is polished on the direct route (as the every-order fit refits at every order). The best
    # restart is chosen by its loss on the direct route (`best_on_direct_route`): the interpolant may rank nearly
    # tied basins otherwise away from the guess.
    explore = exploration_nodes(values, data, bands, model, num, static_restarts.kinds) if spec is None else []
    if explore:
        # The explored data sets keep their node count in every program, with the route chosen by a traced flag
        # (`HallStatic.switchable`): the restarts and the direct polish share one compiled program per order.
        switchable = tuple(sorted(explore))

        def switch(st):
            return dataclasses.replace(st, switchable=switchable, kinds=tuple(
                k[:2] + (explore[i],) if i in explore else k for i, k in enumerate(st.kinds)))

        static_restarts, static = switch(static_restarts), switch(static)
        info.append(f"data set(s) {', '.join(str(i + 1) for i in explore)}: restarts on the interpolated flux tensor "
                    f"({', '.join(str(n) for n in explore.values())} nodes, within its tolerance at the guess, not everywhere "
                    "in the box); the best point polished on the direct Fermi-contour route")
    reporter = HallProgress(report_every, progress)
    data_now = with_sigmas(sigmas)
    data_restarts = with_sigmas(sigmas, direct=False)

    @reporter.wrap
    def evaluate_restarts(x):
        return tuple(onp.asarray(a) for a in residuals_and_jacobian(jnp.asarray(x, dtype), data_restarts, static_restarts))

    start = linear_start(values, free, lower, upper, guess, evaluate_restarts, info, reporter)
    rng = onp.random.default_rng(seed)
    u_guess = to_unconstrained(start, free, lower, upper)
    # Restarts explore the electrons' box; the magnet and Hall parameters, which R_1w pins down, start at the
    # least-squares start (random anisotropy fields would land on other magnetization states).
    randomized = onp.array([n in names.electrons for n in free])
    starts = [u_guess]
    for t in rng.uniform(0.05, 0.95, (restarts - 1, len(free))):
        starts.append(onp.where(randomized, onp.log(t) - onp.log1p(-t), u_guess))
    u0 = onp.stack(starts)

    recent = collections.OrderedDict()

    def evaluate_now(x):
        # The last points of the polish are asked for again (the best point's residuals and Jacobian): at every
        # order one evaluation costs seconds. Keyed by the route (`static`) and the weights (`data_now`) in use.
        key = (static, id(data_now), onp.asarray(x, float).tobytes())
        if key in recent and recent[key][0] is data_now:
            return recent[key][1]
        out = tuple(onp.asarray(a) for a in residuals_and_jacobian(jnp.asarray(x, dtype), data_now, static))
        recent[key] = (data_now, out)
        while len(recent) > 8:
            recent.popitem(last=False)
        return out

    # The same compiled program as the restarts' at first order; every order: the model at every order.
    evaluate = reporter.wrap(evaluate_now, "the every-order model" if orders == "all" else
                             "the direct Fermi-contour route" if explore else "")

    if explore and orders != "first":
        # The restarts' basins are compared at first order (as they were explored), on the direct route: the restarts'
        # program with the direct flag.
        evaluate_first_order_direct = reporter.wrap(
            lambda x: tuple(onp.asarray(a) for a in residuals_and_jacobian(jnp.asarray(x, dtype), data_now, static_restarts)),
            "the first-order model on the direct Fermi-contour route")

    box_args = (onp.asarray(lower), onp.asarray(upper), static.transform)

    def lm_run(label, u_start, function, tol):
        reporter.begin(label)
        out = levenberg_marquardt(u_start, function, *box_args, max_steps, tol)
        reporter.end(out[1], out[2], STATUS[int(out[3])])
        return out

    if optimizer == "lm":
        runs = [lm_run(f"restart {i + 1}/{restarts}", u0[i], evaluate_restarts, ftol) for i in range(restarts)]
        u, losses, steps, status, trace = (onp.stack(z) for z in zip(*runs))
    else:
        reporter.say(f"L-BFGS: {restarts} restarts batched (compiling the optimizer first)")
        u, losses, steps, status, trace = (onp.asarray(z) for z in run_batched(jnp.asarray(u0, dtype), data_restarts, static_restarts,
                                                                               report_every, reporter.iterations))
        for i in range(restarts):
            reporter.say(f"restart {i + 1}/{restarts}: loss {float(losses[i]):.6g} after {int(steps[i])} iterations, "
                         f"{STATUS[int(status[i])]}")
    trace = hold_last(trace, losses)
    if not onp.any(onp.isfinite(losses)):
        raise ValueError("every restart gave a non-finite loss (an equilibrium or a Fermi contour did not converge); "
                         "narrow the bounds or give a better guess")
    best = int(onp.nanargmin(onp.where(onp.isfinite(losses), losses, onp.nan)))
    x_start = onp.stack([x_of_u(v, *box_args)[0] for v in u0])
    x_end = onp.stack([x_of_u(v, *box_args)[0] for v in u])
    restart_rows = [{"start": dict(zip(free, map(float, x_start[i]))), "end": dict(zip(free, map(float, x_end[i]))),
                     "loss": float(losses[i]), "steps": int(steps[i]), "status": STATUS[int(status[i])]} for i in range(restarts)]
    if explore:
        best = best_on_direct_route(x_end, losses, restart_rows, best, info, reporter,
                                    evaluate if orders == "first" else evaluate_first_order_direct)
    # Gauss-Newton polish of the best point (for L-BFGS, whose line search stalls on the stiff directions
    # far below one standard error), and the refits with the estimated noise.
    u_polish = u[best]
    if explore and orders == "all":
        # Every order on the direct route costs seconds per evaluation: converge on the interpolant first, so
        # that the direct polish starts within a step or two of its optimum.
        # The polish's program with the direct flag off.
        data_mid = with_sigmas(sigmas, direct=False)
        evaluate_mid = reporter.wrap(lambda x: tuple(onp.asarray(a) for a in residuals_and_jacobian(jnp.asarray(x, dtype), data_mid,
                                                                                                      static)),
                                     "the every-order model on the interpolated flux tensor")
        u_polish = lm_run(f"polish of restart {best + 1} at every order on the interpolated flux tensor", u_polish,
                          evaluate_mid, LM_TOL)[0]
    u_best, _, _, final_status, _ = lm_run(f"polish of restart {best + 1} (Gauss-Newton)", u_polish, evaluate, LM_TOL)
    if not noise_known:
        # Self-consistent weights: sigma per column from the residuals (dof-corrected), refit from the best point.
        for round_ in range(_NOISE_ROUNDS):
            residual, _ = evaluate(x_of_u(u_best, *box_args)[0])
            previous = sigmas
            sigmas = estimated_sigmas([values_of(d) for d in data], [d.sigma_known for d in data], sigmas, residual, len(free))
            data_now = with_sigmas(sigmas)
            u_best, _, _, final_status, _ = lm_run(f"refit {round_ + 1} with the estimated noise", u_best, evaluate, LM_TOL)
            change = relative_change(sigmas, previous)
            if change < 1e-3:
                break
        if change >= 1e-3:
            notes.append((FitWarning, f"the noise estimate still changed by {change:.2g} after {_NOISE_ROUNDS} refits"))
    if final_status >= 2:
        notes.append((FitWarning, f"the Gauss-Newton polish of the best point stopped: {STATUS[final_status]} "
                                  "(raise max_steps, or the loss is not smooth there)"))
    x_best = x_of_u(u_best, *box_args)[0]
    if spec is None and model == "exact":
        static, switched = direct_where_inexact(static, {**values, **dict(zip(free, map(float, x_best)))}, data, bands, num)
        if switched:  # `evaluate` reads `static` when called: the direct route from here on
            info.append(f"data set(s) {', '.join(str(i + 1) for i in switched)}: the interpolated flux tensor missed its "
                        "tolerance at the best fit; polished again on the direct Fermi-contour route")
            u_best, _, _, final_status, _ = lm_run("polish on the direct route", u_best, evaluate, LM_TOL)
            x_best = x_of_u(u_best, *box_args)[0]
    residual, jacobian = evaluate(x_best)
    if not onp.all(onp.isfinite(residual)) or not onp.all(onp.isfinite(jacobian)):
        raise ValueError("the model is not finite at the best fit (an equilibrium did not converge at some rows); "
                         "check the branch and the field range, or narrow the bounds")
    chi2, dof, reduced = fit_statistics(residual, len(free))
    params = {**values, **{n: float(v) for n, v in zip(free, x_best)}}
    analysis = uncertainty(jacobian, x_best, free, lower, upper, rcond, max_relative_error, names.electrons)
    factor = noise_factor(reduced, dof, not any(d.sigma_known for d in data))
    analysis["covariance"] = analysis["covariance"] * factor
    analysis["standard_errors"] = analysis["standard_errors"] * math.sqrt(factor)
    reporter.say("derived fields B_DL, B_FL and efficiencies at the best fit (compiling them) ...")
    derived, derived_at = derived_quantities(params, free, analysis, data, model, num, bands, dtype, spec)
    reporter.say("done")
    fit_notes(notes, analysis, free, params, lower, upper, noise_known, reduced, dof, names)
    separability_notes(notes, jacobian, free)
    if not names.general:
        model_note(notes, model, free, params, lower, upper,
                   poor=noise_known and dof > 0 and reduced > 1.0 + 4.0 * math.sqrt(2.0 / dof))

    predicted, residual_blocks, noise_used = result_blocks([values_of(d) for d in data], sigmas, residual,
                                                           [columns_of(d) for d in data], labels)
    for category, text in notes:
        warnings.warn(text, category, stacklevel=2)
    return HallFitResult(
        parameters=params,
        free=free,
        standard_errors={n: float(s) for n, s in zip(free, analysis["standard_errors"])},
        identifiable={n: bool(b) for n, b in zip(free, analysis["identifiable"])},
        analysed=analysis["analysed"],
        covariance=analysis["covariance"],
        correlation=analysis["correlation"],
        directions=analysis["directions"],
        physical=analysis["physical"],
        condition_number=analysis["condition_number"],
        derived=derived,
        chi2=chi2,
        dof=dof,
        reduced_chi2=reduced,
        noise_known=noise_known,
        noise=noise_used,
        predictions=predicted,
        residuals=residual_blocks,
        columns=[list(columns_of(d)) for d in data],
        labels=labels,
        restarts=restart_rows,
        best=best,
        trace=onp.asarray(trace),
        bounds={n: (lo, hi) for n, lo, hi in zip(free, lower, upper)},
        notes=tuple(info + [text for _, text in notes]),
        settings={**({"electron_model": names.model, "names": list(fit_names),
                     "units": {n: names.unit(n) for n in fit_names}} if names.general else {}),
                  "model": model, "orders": orders, "optimizer": optimizer, "num": num, "bands": [list(b) for b in bands], "restarts": restarts, "max_steps": max_steps,
                  "seed": seed, "derived_at": derived_at, "fermi_energies": [d.fermi_energy for d in data]},
    )


_derived = derived_quantities  # the name tests import from here

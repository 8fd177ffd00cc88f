"""fit(): the driver that chooses bounds, runs the optimizer, estimates the noise and reports (FitResult).

Parameter fitting by autodiff through the forward models (the engine behind `jaxsot.fit`).

Parameters: alpha [eV nm], j_ex [eV], mass_ratio [1], tau [fs], as a dict (a pytree). Fixed
experimental settings: E_F [eV] for the whole fit; per data point the direction of M (theta from
z, phi from the current/field direction x) [rad], the in-plane field E along x [V/nm] and, for
transients, the time t after the field step [fs].

Forward models (pure functions of the parameter dict; jit/vmap/grad-friendly). For each point the
T = 0 Fermi contours of the occupied bands are found on rays and the linear response is a
contour flux (divergence theorem, as `jaxsot._transport.contour_response` and the "exact" method of
`jaxsot.electron_response`; tested against both):
    A_ij = sum_s oint <sigma>_i n_j dl/(2 pi)^2                                  (3, 2) [1/nm]
    sigma/tau = (e^2/hbar^2) sum_s oint |grad eps| n n^T dl/(2 pi)^2             (2, 2)
    S(sea shifted by Delta k) - S_eq = A Delta k,  dS/dt (sea accelerated by k') = A k'.
- AMR, column rho_ratio: rho_xx(M)/rho_xx(M0), rho = (sigma/tau)^-1, M0 = z x x = y (tau cancels;
  `jaxsot.amr_ratio` with the current along x).
- Steady torques (the LLG's electron response; T1 with the steady shift Delta k = qE tau/hbar, T2
  with the acceleration k' = qE/hbar of the papers' dynamical state):
  T_DL = T2 = -A k',  T_FL = T1 = (2J/hbar) M x (A Delta k)  [1/(nm^2 fs)].
- Transients after a field step at t = 0 (constant-tau rigid shift, docs: Theory > Ensembles and dynamics):
  k'(t) = (qE/hbar) e^(-t/tau), Delta k(t) = (qE tau/hbar)(1 - e^(-t/tau)), so
  T_DL(t) = T2 e^(-t/tau), T_FL(t) = T1 (1 - e^(-t/tau)) (zero for t < 0). This is what
  `jaxsot.simulate` integrates, to first order in E (its Delta k/k_F ~ 1e-4 at 1e5 V/m; tested).
- model = "strong_exchange": the closed forms (J >> alpha k_F) with the M || z band densities
  n_s (as `SpinOrbitTorque(method="strong_exchange")`): rho_ratio = 1 + p eta [(M.x)^2 + M_z^2],
  T2 = n_p (alpha/J) P_perp(k' x z), S - S_eq = -n_p (alpha/J)(Delta k x z), p = n_p/n, n_p = n_lower - n_upper.

Gradients. The ray radius of each contour point comes from a Newton solve that is not
differentiated (stop_gradient), followed by one Newton step from the converged root whose
derivative is the implicit-function one, dr/dp = -(d eps/dp)/(d eps/dr) (as `jaxsot.fermi_contour`):
reverse mode through the unrolled solve costs ~20 forward evaluations, this costs ~3.

Fitting. Residuals r = (prediction - data)/sigma; the loss is mean(r^2)/2. Free parameters are
reparameterized inside their bounds, x = exp(log lo + (log hi - log lo) sigmoid(u)) (lo > 0:
positivity and bounds at once, uniform in log x), else x = lo + (hi - lo) sigmoid(u). optax
L-BFGS (two-loop recursion, memory 10, Armijo backtracking: one loss-and-gradient evaluation per
loop iteration, `_optimize.lbfgs_steps`) or optax Adam, in a `lax.while_loop` with gradient / loss-change criteria;
restarts are batched with `jax.vmap`. Standard errors from the Gauss-Newton matrix J^T W J at
the optimum (W = 1/sigma^2; with unknown noise sigma is estimated per column from the residuals,
which is the reduced-chi^2 scaling), identifiability from its eigen-decomposition in log
coordinates, where a power-law combination such as eta = m alpha^2/(hbar^2 J) is a direction.
"""


import math
import warnings

import jax.numpy as jnp
import numpy as onp
from .._core._checks import check_count, check_finite, check_range
from ._curves import Curve, DEFAULT_GUESS, FitWarning, OPTIMIZERS, PARAMETERS
from .._core._params import model_parameters
from ._driver import STATUS, column_scale, estimated_sigmas, fit_statistics, noise_factor, relative_change, result_blocks
from ._fit_bounds import default_bounds, settle_box
from ._fit_result import FitResult, eta_with_error, fit_notes, unique_labels
from ._forward import (
    TRANSPORT_PARAMETERS,
    bands_at,
    check_choice,
    check_general_params,
    check_model_method,
    check_params,
    curve_arrays,
    distinct_polar,
    general_bands_at,
    is_rashba,
    make_spec,
    parameter_unit,
    require_concrete,
    sample_directions,
    split_model_method,
)
from ._identify import analyze
from ._mesh_budget import box_points, overflow_sentence, size_mesh
from ._fit_compile import compile_ahead, compile_ahead_jacobian
from ._optimize import Static, is_log_scale, make_box, physical_batch, residuals_and_jacobian, run_batched, run_single, to_unconstrained, transform_kind

_NOISE_ROUNDS = 6  # refits with the re-estimated noise (unknown sigma), at most
# Any model's field-like torque is (2J/hbar) M x (A Delta k) with Delta k ~ tau: J tau is its scale, J/tau the
# direction torque data fix only through J's other roles (the gap J M_z; docs: How-to > jaxsot fit).
_GENERAL_KNOWN = (
    ({"j_ex": 1.0, "tau": 1.0}, "J tau (field-like torque)"),
    ({"j_ex": 1.0, "tau": -1.0}, "J/tau (only through J's gap, e.g. J M_z)"),
)


def fit(
    curves,
    fermi_energy,
    *,
    free=None,
    guess=None,
    bounds=None,
    model=None,
    method: str = "exact",
    optimizer: str = "lbfgs",
    restarts: int = 4,
    max_steps: int | None = None,
    seed: int = 0,
    num: int = 64,
    batched: bool = True,
    learning_rate: float = 0.05,
    gtol: float = 1e-9,
    ftol: float = 1e-13,
    rcond: float = 1e-9,
    max_relative_error: float = 0.5,
    report_every: int = 0,
    progress=None,
) -> FitResult:
    """Fit model parameters to one or several curves by autodiff gradients (module docstring).

    Unknown noise (curves without sigma): the restarts use each column's spread as weights; then
    sigma is estimated per column from the residuals, sigma_c^2 = RSS_c/(N_c - p N_c/N), and the
    best point is refitted with it, repeated until sigma changes by < 0.1 % (at most 6 times).

    Args:
        curves: a `Curve` or a list of them (each with its own forward model).
        fermi_energy: E_F [eV] (a fixed experimental setting).
        free: names of the fitted parameters (default Rashba: alpha, j_ex, and tau when some
            curve depends on it: T_FL columns or transients; other models: every name of
            `jaxsot.parameter_names(model)` and tau when some curve depends on it); the others
            are fixed at `guess`.
        guess: {name: starting / fixed value} (defaults: `DEFAULT_GUESS`, or the model's own
            values and tau = 10 fs for a given model).
        bounds: {name: (lower, upper)} for free parameters (default: guess/3 .. 3 guess, tau
            guess/10 .. 10 guess, shrunk towards the guess until one band regime holds in the box;
            given bounds are checked and refused if they cross a band regime).
        model: the electron model, any `jaxsot.TwoBandModel` (its parameters are varied by name
            through `jaxsot.replace_parameters`, its M by the curves' rows); None: the Rashba
            ferromagnet. A string is the old spelling of `method`.
        method: "exact" or "strong_exchange" (the papers' closed forms; Rashba ferromagnet only).
        optimizer: "lbfgs" or "adam".
        restarts: optimizations run together (vmap); the first starts at the guess, the others
            at seeded random points uniform in the (log-)box.
        max_steps: iterations per run (default 200 for L-BFGS, 2000 for Adam).
        seed: seed of the random restarts (>= 0).
        num: rays per Fermi contour (>= 8).
        batched: False loops over the restarts (same result; for testing and memory).
        learning_rate: Adam's initial step.
        gtol: stop when max|d loss/d u| <= gtol (1 + loss).
        ftol: stop when the loss changes by <= ftol (1 + loss) between iterations (reported as a
            stall, not convergence, if the gradient is still 1e4 gtol or more).
        rcond: identifiability threshold on the Gauss-Newton eigenvalues (`analyze`).
        max_relative_error: a direction is determined below this relative error (`analyze`).
        report_every: print each restart's loss every so many iterations (0: quiet).
        progress: None, or a callable(text) given one line when each compilation starts and ends (the
            optimizer's program, then the Jacobian of the standard errors), so a caller is not left
            without news while XLA compiles.

    Returns:
        A `FitResult` (values and standard errors by name, determined combinations). Warns
        (`IdentifiabilityWarning`, `FitWarning`) when parameters are not identifiable, sit at a
        bound, or a run did not converge; the same sentences are in `notes`.
    """
    require_concrete("fit", guess or {}, label="guess", fermi_energy=fermi_energy)
    curves = [curves] if isinstance(curves, Curve) else list(curves)
    if not curves or not all(isinstance(c, Curve) for c in curves):
        raise ValueError("curves must be a jaxsot.fit.Curve or a non-empty list of them")
    check_finite("fermi_energy", fermi_energy)
    fermi_energy = float(fermi_energy)
    model, method = split_model_method(model, method)
    check_model_method(model, method)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    restarts = check_count("restarts", restarts, minimum=1, maximum=1024)
    if max_steps is None:
        max_steps = 200 if optimizer == "lbfgs" else 2000
    max_steps = check_count("max_steps", max_steps, minimum=1)
    seed = check_count("seed", seed, minimum=0)
    num = check_count("num", num, minimum=8)
    check_range("learning_rate", learning_rate, low=0.0, low_inclusive=False)
    check_range("gtol", gtol, low=0.0)
    check_range("ftol", ftol, low=0.0)
    check_range("rcond", rcond, low=0.0, high=1.0)
    check_range("max_relative_error", max_relative_error, low=0.0, low_inclusive=False)

    rashba = is_rashba(model)
    spec = None
    if rashba:
        names = PARAMETERS
        values = dict(DEFAULT_GUESS)
        if model is not None:
            values.update({n: float(v) for n, v in model_parameters(model).items()})
        for name, value in (guess or {}).items():
            if name not in PARAMETERS:
                raise ValueError(f"guess for {name!r} is not allowed; allowed: {', '.join(PARAMETERS)}")
            values[name] = value
        values = check_params(values)
        depends = {name for curve in curves for name in curve.depends_on()}
        default_free = ("alpha", "j_ex", "tau")
        cosines = distinct_polar(curves)

        def bands_of(point):
            return bands_at(point, fermi_energy, cosines)
    else:
        model_names = tuple(model_parameters(model))
        names = model_names + TRANSPORT_PARAMETERS
        values = check_general_params({"tau": DEFAULT_GUESS["tau"], **dict(guess or {})}, model_names, model)
        depends = set(model_names) | {n for curve in curves for n in curve.depends_on() if n == "tau"}
        default_free = names
        directions = sample_directions(curves)
        spec, _ = make_spec(model, fermi_energy, directions, values)

        def bands_of(point):
            return general_bands_at(spec, point, fermi_energy, directions)
    if free is None:
        free = tuple(name for name in default_free if name in depends)
    free = (free,) if isinstance(free, str) else tuple(free)
    if not free or len(set(free)) != len(free) or any(name not in names for name in free):
        raise ValueError(f"free = {free!r} is not allowed; allowed: distinct names from {', '.join(names)}")
    free = tuple(name for name in names if name in free)  # canonical order
    bounds = dict(bounds or {})
    for name in bounds:
        if name not in free:
            raise ValueError(f"bounds for {name!r}: it is not a free parameter; allowed: bounds for {', '.join(free)}")
    lower, upper, given = [], [], []
    for name in free:
        if name in bounds:
            lo, hi = (float(b) for b in bounds[name])
            check_finite(f"bounds[{name!r}]", [lo, hi])
            if not lo < values[name] < hi:
                raise ValueError(
                    f"bounds[{name!r}] = ({lo:g}, {hi:g}) {parameter_unit(name)} do not contain the guess {values[name]:g}; "
                    "allowed: lower < guess < upper"
                )
            if (name in ("j_ex", "mass_ratio", "tau") if rashba else name == "tau") and not lo > 0.0:
                raise ValueError(f"bounds[{name!r}] = ({lo:g}, {hi:g}) {parameter_unit(name)}: allowed: lower > 0 for {name}")
            given.append(True)
        else:
            lo, hi = default_bounds(name, values[name])
            given.append(False)
        lower.append(lo)
        upper.append(hi)
    notes = []
    bands = settle_box(bands_of, fermi_energy, free, lower, upper, given, values)
    if spec is not None:  # the mesh route runs unchecked: its budget holds at the guess and every corner
        spec = size_mesh(spec, box_points(values, free, lower, upper), fermi_energy, bands, directions)
    shrunk = [name for i, name in enumerate(free) if not given[i] and (lower[i], upper[i]) != default_bounds(name, values[name])]
    info = []  # sentences that need no action (kept in notes, not warned)
    if shrunk:
        info.append(f"default bounds of {', '.join(shrunk)} were narrowed to stay in one band regime "
                    f"(occupied bands: {', '.join(f's = {int(b):+d}' for b in bands)})")

    total = sum(c.values.size for c in curves)
    noise_known = all(c.sigma_known for c in curves)
    if total < len(free) + (0 if noise_known else 1):
        raise ValueError(
            f"the data have {total} values for {len(free)} free parameters; allowed: at least "
            f"{len(free) + (0 if noise_known else 1)} (more points than parameters{'' if noise_known else ', to estimate the noise'})"
        )
    for name in free:
        if name not in depends:
            info.append(f"no curve depends on {name} (tau enters only through T_FL columns and transients)")

    dtype = curves[0].values.dtype
    if any(c.values.dtype != dtype for c in curves):
        raise ValueError(f"the curves mix dtypes {sorted({str(c.values.dtype) for c in curves})}; allowed: one float dtype")
    if dtype != jnp.float64:
        notes.append((FitWarning, f"the data are {dtype}: fits need float64 (switch on JAX's jax_enable_x64 option "
                                  "before creating arrays); gradients and standard errors are unreliable in float32"))
    box = make_box(lower, upper, {n: values[n] for n in names if n not in free}, fermi_energy, dtype, spec)
    static = Static(
        curves=tuple((c.columns, c.kind) for c in curves),
        free=free,
        transform=tuple(transform_kind(lo, hi) for lo, hi in zip(lower, upper)),
        bands=tuple(bands),
        num=num,
        model=method,
        optimizer=optimizer,
        max_steps=max_steps,
        learning_rate=float(learning_rate),
        gtol=float(gtol),
        ftol=float(ftol),
        report_every=check_count("report_every", report_every, minimum=0),
    )

    def data_with(sigmas):
        return tuple((c.values, jnp.asarray(s, dtype), curve_arrays(c)) for c, s in zip(curves, sigmas)), box

    sigmas = [c.sigma if c.sigma_known else jnp.broadcast_to(jnp.asarray(column_scale(c.values), dtype), c.values.shape) for c in curves]
    rng = onp.random.default_rng(seed)
    u_guess = to_unconstrained(values, free, lower, upper)
    starts = [u_guess] + [
        onp.log(t) - onp.log1p(-t) for t in rng.uniform(0.05, 0.95, size=(restarts - 1, len(free)))
    ]
    u0 = jnp.asarray(onp.stack(starts), dtype)
    data = data_with(sigmas)
    if progress is not None:
        compile_ahead(u0 if batched else u0[0], data, static, batched, progress)
    if batched:
        u, losses, steps, status, trace = run_batched(u0, data, static)
    else:
        runs = [run_single(u0[i], data, static) for i in range(restarts)]
        u, losses, steps, status, trace = (jnp.stack(parts) for parts in zip(*runs))
    losses = onp.asarray(losses)
    best = int(onp.nanargmin(onp.where(onp.isfinite(losses), losses, onp.nan))) if onp.any(onp.isfinite(losses)) else 0
    x_start = onp.asarray(physical_batch(u0, box, static))
    x_end = onp.asarray(physical_batch(u, box, static))
    failed = [{**values, **dict(zip(free, map(float, x_end[i])))} for i in range(restarts) if not onp.isfinite(losses[i])]
    overflow = overflow_sentence(spec, failed, fermi_energy, bands, directions) if spec is not None else ""
    if not onp.isfinite(losses[best]):
        raise ValueError(f"every restart gave a non-finite loss: {overflow}" if overflow else
                         "every restart gave a non-finite loss (a Fermi contour did not converge); narrow the bounds")
    if overflow:
        notes.append((FitWarning, f"a restart was dropped: {overflow}"))
    restart_rows = [
        {
            "start": dict(zip(free, map(float, x_start[i]))),
            "end": dict(zip(free, map(float, x_end[i]))),
            "loss": float(losses[i]),
            "steps": int(steps[i]),
            "status": STATUS[int(status[i])],
        }
        for i in range(restarts)
    ]
    u_best = u[best]
    stage2_trace = None
    if not noise_known:
        # Unknown noise: estimate sigma per column from the residuals (dof-corrected) and refit from
        # the best point with those weights, until the estimate settles (a self-consistent weighted
        # least squares; one round is not enough when the first weights were far off).
        traces = []
        for _ in range(_NOISE_ROUNDS):
            x = onp.asarray(physical_batch(u_best[None, :], box, static))[0]
            residual, _ = residuals_and_jacobian(jnp.asarray(x, dtype), data, static)
            previous = sigmas
            estimated = estimated_sigmas([onp.asarray(c.values) for c in curves], [c.sigma_known for c in curves],
                                         sigmas, onp.asarray(residual), len(free))
            # The estimates in the data's dtype (the stated sigmas as given).
            sigmas = [s if c.sigma_known else jnp.asarray(s, c.values.dtype) for c, s in zip(curves, estimated)]
            data = data_with(sigmas)
            if batched:
                # The same compiled program as the restarts (copies of one start): no second compilation.
                u2, _, _, status2, trace2 = (x[0] for x in run_batched(jnp.tile(u_best, (restarts, 1)), data, static))
            else:
                u2, _, _, status2, trace2 = run_single(u_best, data, static)
            u_best = u2
            traces.append(onp.asarray(trace2)[onp.isfinite(onp.asarray(trace2))])
            change = relative_change(sigmas, previous)
            if change < 1e-3:
                break
        stage2_trace = onp.concatenate(traces)
        if int(status2) >= 2:
            notes.append((FitWarning, f"the refit with the estimated noise stopped: {STATUS[int(status2)]}"))
        if change >= 1e-3:
            notes.append((FitWarning, f"the noise estimate still changed by {change:.2g} after {_NOISE_ROUNDS} refits"))
    x_best = onp.asarray(physical_batch(u_best[None, :], box, static))[0]
    if progress is not None:
        compile_ahead_jacobian(jnp.asarray(x_best, dtype), data, static, progress)
    residual, jacobian = residuals_and_jacobian(jnp.asarray(x_best, dtype), data, static)
    residual, jacobian = onp.asarray(residual), onp.asarray(jacobian)
    chi2, dof, reduced = fit_statistics(residual, len(free))
    log_axes = onp.array([is_log_scale(lo, hi) for lo, hi in zip(lower, upper)])
    # Another model: its own names, so the Rashba labels (m alpha J tau, ...) are not offered; J tau and J/tau by name.
    known = () if rashba else _GENERAL_KNOWN
    result = analyze(jacobian, x_best, list(free), log_axes, rcond=rcond, max_relative_error=max_relative_error, known=known)
    # Unknown noise: covariance scaled by the reduced chi^2 (= 1 up to rounding with the per-column estimate).
    factor = noise_factor(reduced, dof, not any(c.sigma_known for c in curves))
    result["covariance"] = result["covariance"] * factor
    result["standard_errors"] = result["standard_errors"] * math.sqrt(factor)
    params = dict(values)
    params.update({name: float(v) for name, v in zip(free, x_best)})

    fit_notes(notes, result, free, params, lower, upper, restart_rows, best, noise_known, reduced, dof, total)
    derived = {"eta": eta_with_error(params, free, result)} if rashba else {}
    used_sigmas = [onp.asarray(sigma) for sigma in sigmas]
    predictions, residual_blocks, noise_used = result_blocks([onp.asarray(c.values) for c in curves], used_sigmas, residual,
                                                             [c.columns for c in curves], unique_labels(curves))
    for category, note in notes:
        warnings.warn(note, category, stacklevel=2)
    return FitResult(
        parameters=params,
        free=free,
        standard_errors={n: float(s) for n, s in zip(free, result["standard_errors"])},
        identifiable={n: bool(b) for n, b in zip(free, result["identifiable"])},
        covariance=result["covariance"],
        correlation=result["correlation"],
        directions=result["directions"],
        condition_number=result["condition_number"],
        derived=derived,
        chi2=chi2,
        dof=dof,
        reduced_chi2=reduced,
        noise_known=noise_known,
        noise=noise_used,
        sigmas=used_sigmas,
        predictions=predictions,
        residuals=residual_blocks,
        restarts=restart_rows,
        best=best,
        trace=onp.asarray(trace),
        stage2_trace=stage2_trace,
        bounds={n: (lo, hi) for n, lo, hi in zip(free, lower, upper)},
        notes=tuple(info + [text for _, text in notes]),
        settings={"fermi_energy": fermi_energy, "model": method, "method": method,
                  "model_type": "RashbaFerromagnet" if model is None else type(model).__name__,
                  "optimizer": optimizer, "num": num, "bands": list(bands),
                  "restarts": restarts, "max_steps": max_steps, "seed": seed, "route": "rays" if spec is None else spec.route},
        units={name: parameter_unit(name) for name in names},
        physical=[] if rashba else [d for d in result["physical"] if d["given"]],
    )

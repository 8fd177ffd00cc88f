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

import dataclasses
import math
import warnings

import jax.numpy as jnp
import numpy as onp
from .._core._checks import check_count, check_finite, check_range
from ..constants import ELECTRON_MASS, HBAR
from ._curves import Curve, DEFAULT_GUESS, FitWarning, IdentifiabilityWarning, MODELS, OPTIMIZERS, PARAMETERS, PARAMETER_UNITS
from .._core._params import model_parameters
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
    sample_directions,
    split_model_method,
)
from ._identify import analyze
from ._optimize import Static, is_log_scale, make_box, physical_batch, residuals_and_jacobian, run_batched, run_single, to_unconstrained, transform_kind

_NOISE_ROUNDS = 6  # refits with the re-estimated noise (unknown sigma), at most
_STATUS = (
    "converged (gradient)",
    "converged (loss change)",
    "stopped at max_steps",
    "non-finite loss",
    "stalled (no decrease, gradient not small)",
)




# ---------------------------------------------------------------------------------------------
# The fit driver.


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Outcome of `fit` (plain Python / NumPy; `to_dict` gives JSON-ready data).

    Args:
        parameters: {name: value} for every parameter (fixed ones as given) [`units`].
        free: names that were fitted.
        standard_errors: {free name: SE} (inf: not identifiable).
        identifiable: {free name: bool}.
        covariance: (p, p) over `free`.
        correlation: (p, p) over `free`.
        directions: principal directions of the Gauss-Newton matrix in log coordinates (strongest
            first): {"combination", "exponents", "relative_error", "determined", "known"}.
        condition_number: of the Gauss-Newton matrix (log coordinates).
        derived: Rashba ferromagnet: {"eta": (value, SE)}, eta = m alpha^2/(hbar^2 J) (SE inf
            when not identifiable); other models: {}.
        chi2: chi^2 at the optimum with the noise used (known, or estimated).
        dof: degrees of freedom (values - free parameters).
        reduced_chi2: chi2/dof.
        noise_known: every curve had sigma.
        noise: {curve label: {column: sigma used (a number when the same for every row, else a list)}}.
        sigmas: the noise used, one (N, K) array per curve.
        predictions: one (N, K) array per curve.
        residuals: whitened, one (N, K) array per curve.
        restarts: per restart {"start", "end" (dicts), "loss", "steps", "status"}.
        best: index of the best restart.
        trace: (restarts, max_steps) loss per iteration (NaN after the end).
        stage2_trace: losses of the refits with the estimated noise, or None (known noise).
        bounds: {free name: (lower, upper)}.
        notes: sentences (warnings, bounds, convergence).
        settings: fermi_energy, method (also under "model", the old name), model_type (the
            model's class name), optimizer, num, bands, restarts, max_steps, seed, route.
        units: {name: unit} of every parameter (`jaxsot.fit.PARAMETER_UNITS` names and the models').
    """

    parameters: dict
    free: tuple
    standard_errors: dict
    identifiable: dict
    covariance: onp.ndarray
    correlation: onp.ndarray
    directions: list
    condition_number: float
    derived: dict
    chi2: float
    dof: int
    reduced_chi2: float
    noise_known: bool
    noise: dict
    sigmas: list
    predictions: list
    residuals: list
    restarts: list
    best: int
    trace: onp.ndarray
    stage2_trace: onp.ndarray | None
    bounds: dict
    notes: tuple
    settings: dict
    units: dict = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """A text table: value +- SE per parameter, determined combinations, chi^2, notes."""
        lines = [f"{'parameter':<11} {'value':>12} {'std error':>12} {'rel.':>8}  unit"]
        for name in self.parameters:
            value = self.parameters[name]
            unit = self.units.get(name) or parameter_unit(name)
            if name not in self.free:
                lines.append(f"{name:<11} {value:12.6g} {'(fixed)':>12} {'':>8}  {unit}")
            elif not self.identifiable[name]:
                lines.append(f"{name:<11} {'--':>12} {'not identif.':>12} {'':>8}  {unit}  (start-dependent: {value:.4g})")
            else:
                se = self.standard_errors[name]
                lines.append(f"{name:<11} {value:12.6g} {se:12.3g} {se / abs(value):8.2%}  {unit}")
        if "eta" in self.derived:
            eta, eta_se = self.derived["eta"]
            eta_text = f"{eta:.6g} +- {eta_se:.3g}" if math.isfinite(eta_se) else f"{eta:.6g} (not determined)"
            near = [d for d in self.directions if d["determined"] and (d["known"] or "").startswith("eta")]
            if not math.isfinite(eta_se) and near:
                eta_text = (f"{eta:.6g} (determined only approximately: the data fix {near[0]['combination']} below, "
                            f"relative error {near[0]['relative_error']:.2g})")
            lines.append(f"eta = m alpha^2/(hbar^2 J) = {eta_text}")
        lines.append(f"chi^2 = {self.chi2:.4g}, dof = {self.dof}, reduced chi^2 = {self.reduced_chi2:.4g} "
                     f"({'known noise' if self.noise_known else 'noise estimated from the residuals'})")
        lines.append(f"condition number (log parameters) = {self.condition_number:.3g}")
        for d in self.directions:
            flag = "determined" if d["determined"] else "NOT determined"
            rel = f"{d['relative_error']:.3g}" if math.isfinite(d["relative_error"]) else "inf"
            known = f"  [{d['known']}]" if d["known"] else ""
            value = f"{d['value']:<11.5g}" if d["determined"] else f"{'--':<11}"
            lines.append(f"  {d['combination']:<34} = {value} relative error {rel:>9}  {flag}{known}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready (inf/nan kept as floats)."""

        def clean(value):
            if isinstance(value, dict):
                return {str(k): clean(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [clean(v) for v in value]
            if isinstance(value, onp.ndarray):
                return clean(value.tolist())
            if isinstance(value, (onp.floating, onp.integer, onp.bool_)):
                return value.item()
            return value

        return {field.name: clean(getattr(self, field.name)) for field in dataclasses.fields(self)}


def column_scale(values) -> onp.ndarray:
    """Initial weights for unknown noise: the spread of each column (its signal), never zero."""
    values = onp.asarray(values)
    spread = onp.std(values, axis=0)
    fallback = onp.maximum(onp.max(onp.abs(values), axis=0), 1e-300)
    return onp.where(spread > 1e-12 * fallback, spread, fallback)


def _box_failure(bands_of, fermi_energy, free, lower, upper, values, bands):
    """First corner of the box whose Fermi seas differ from `bands` or are unsupported: (point, message) or None.

    tau does not change the bands: only the corners in alpha, j_ex and mass_ratio are checked.
    """
    varied = [i for i, name in enumerate(free) if name != "tau"]
    for corner in range(2 ** len(varied)):
        point = dict(values)
        for bit, i in enumerate(varied):
            point[free[i]] = upper[i] if (corner >> bit) & 1 else lower[i]
        try:
            here = bands_of(point)
        except ValueError as error:
            return point, f"at the corner {_show_point(point, free)} of the parameter bounds: {error}"
        if here != bands:
            return point, (
                f"the occupied bands differ inside the parameter bounds ({bands} at the guess, {here} at "
                f"{_show_point(point, free)}, E_F = {fermi_energy:g} eV); allowed: bounds within one band regime "
                f"(narrow the bounds of {', '.join(n for n in free if n != 'tau')})"
            )
    return None


def _point_ok(bands_of, point, bands):
    try:
        return bands_of(point) == bands
    except ValueError:
        return False


def _settle_box(bands_of, fermi_energy, free, lower, upper, given, values):
    """Check the box on the host; narrow the default (not given) sides that leave the guess's band regime.

    Returns the occupied bands. A failing corner is traced to the parameters whose move from the
    guess breaks it; only those sides are narrowed (geometrically towards the guess).
    """
    try:
        bands = bands_of(values)
    except ValueError as error:
        raise ValueError(f"at the guess {_show_point(values, free)}: {error}") from None
    for _ in range(60):
        failure = _box_failure(bands_of, fermi_energy, free, lower, upper, values, bands)
        if failure is None:
            return bands
        point, message = failure
        adjustable = [i for i, name in enumerate(free) if not given[i] and name != "tau" and point[name] != values[name]]
        if not adjustable:
            raise ValueError(message)
        culprits = [i for i in adjustable if _point_ok(bands_of, {**point, free[i]: values[free[i]]}, bands)]
        for i in culprits or adjustable:
            g = values[free[i]]
            side = 0 if point[free[i]] == lower[i] else 1
            bound = (lower, upper)[side]
            if is_log_scale(lower[i], upper[i]):
                bound[i] = math.copysign(math.sqrt(bound[i] * g), g)
            else:
                bound[i] = 0.5 * (bound[i] + g)
    raise ValueError(message)


def _show_point(point, names):
    return "(" + ", ".join(f"{n} = {point[n]:.4g}" for n in names) + ")"


def _default_bounds(name, guess):
    if guess == 0.0:
        raise ValueError(f"guess for {name!r} is 0: the default bounds (guess/3 .. 3 guess) are empty; allowed: give bounds={{{name!r}: (lower, upper)}}")
    factor = 10.0 if name == "tau" else 3.0
    return tuple(sorted((guess / factor, guess * factor)))


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

    Returns:
        A `FitResult` (values and standard errors by name, determined combinations). Warns
        (`IdentifiabilityWarning`, `FitWarning`) when parameters are not identifiable, sit at a
        bound, or a run did not converge; the same sentences are in `notes`.
    """
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
            lo, hi = _default_bounds(name, values[name])
            given.append(False)
        lower.append(lo)
        upper.append(hi)
    notes = []
    bands = _settle_box(bands_of, fermi_energy, free, lower, upper, given, values)
    shrunk = [name for i, name in enumerate(free) if not given[i] and (lower[i], upper[i]) != _default_bounds(name, values[name])]
    info = []  # sentences that need no action (kept in notes, not warned)
    if shrunk:
        info.append(f"default bounds of {', '.join(shrunk)} were narrowed to stay in one band regime {tuple(bands)}")

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
    if batched:
        u, losses, steps, status, trace = run_batched(u0, data, static)
    else:
        runs = [run_single(u0[i], data, static) for i in range(restarts)]
        u, losses, steps, status, trace = (jnp.stack(parts) for parts in zip(*runs))
    losses = onp.asarray(losses)
    best = int(onp.nanargmin(onp.where(onp.isfinite(losses), losses, onp.nan))) if onp.any(onp.isfinite(losses)) else 0
    if not onp.isfinite(losses[best]):
        raise ValueError("every restart gave a non-finite loss (a Fermi contour did not converge); narrow the bounds")
    x_start = onp.asarray(physical_batch(u0, box, static))
    x_end = onp.asarray(physical_batch(u, box, static))
    restart_rows = [
        {
            "start": dict(zip(free, map(float, x_start[i]))),
            "end": dict(zip(free, map(float, x_end[i]))),
            "loss": float(losses[i]),
            "steps": int(steps[i]),
            "status": _STATUS[int(status[i])],
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
            sigmas = _estimated_sigmas(curves, sigmas, onp.asarray(residual), len(free))
            data = data_with(sigmas)
            if batched:
                # The same compiled program as the restarts (copies of one start): no second compilation.
                u2, _, _, status2, trace2 = (x[0] for x in run_batched(jnp.tile(u_best, (restarts, 1)), data, static))
            else:
                u2, _, _, status2, trace2 = run_single(u_best, data, static)
            u_best = u2
            traces.append(onp.asarray(trace2)[onp.isfinite(onp.asarray(trace2))])
            change = max(float(onp.max(onp.abs(onp.asarray(new) / onp.asarray(old) - 1.0))) for new, old in zip(sigmas, previous))
            if change < 1e-3:
                break
        stage2_trace = onp.concatenate(traces)
        if int(status2) >= 2:
            notes.append((FitWarning, f"the refit with the estimated noise stopped: {_STATUS[int(status2)]}"))
        if change >= 1e-3:
            notes.append((FitWarning, f"the noise estimate still changed by {change:.2g} after {_NOISE_ROUNDS} refits"))
    x_best = onp.asarray(physical_batch(u_best[None, :], box, static))[0]
    residual, jacobian = residuals_and_jacobian(jnp.asarray(x_best, dtype), data, static)
    residual, jacobian = onp.asarray(residual), onp.asarray(jacobian)
    chi2 = float(residual @ residual)
    dof = int(total - len(free))
    reduced = chi2 / dof if dof > 0 else math.nan
    log_axes = onp.array([is_log_scale(lo, hi) for lo, hi in zip(lower, upper)])
    result = analyze(jacobian, x_best, list(free), log_axes, rcond=rcond, max_relative_error=max_relative_error)
    if not any(c.sigma_known for c in curves) and dof > 0:
        # Covariance scaled by the reduced chi^2 (= 1 up to rounding with the per-column estimate).
        factor = math.sqrt(reduced)
        result["covariance"] = result["covariance"] * reduced
        result["standard_errors"] = result["standard_errors"] * factor
    params = dict(values)
    params.update({name: float(v) for name, v in zip(free, x_best)})

    _notes_for(notes, result, free, params, lower, upper, restart_rows, best, noise_known, reduced, dof, total)
    derived = {"eta": _eta_with_error(params, free, result)} if rashba else {}
    predictions, residual_blocks, offset = [], [], 0
    noise_used, used_sigmas = {}, []
    for curve, sigma, label in zip(curves, sigmas, _unique_labels(curves)):
        size = curve.values.size
        block = residual[offset : offset + size].reshape(curve.values.shape)
        predictions.append(onp.asarray(curve.values) + block * onp.asarray(sigma))  # r = (prediction - value)/sigma
        residual_blocks.append(block)
        offset += size
        sigma = onp.asarray(sigma)
        used_sigmas.append(sigma)
        # One number per column when it is the same for every row (estimated noise, or uniform sigma).
        noise_used[label] = {
            col: float(sigma[0, j]) if onp.all(sigma[:, j] == sigma[0, j]) else sigma[:, j].tolist()
            for j, col in enumerate(curve.columns)
        }
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
    )


def _unique_labels(curves) -> list:
    """Curve labels, made distinct with '#i' where they clash (keys of FitResult.noise)."""
    labels = [c.label for c in curves]
    return [f"{label}#{i}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def column_noise(block, num_free, total, values) -> onp.ndarray:
    """Per-column noise (K,) from the raw residuals block (N, K) of one data set: sigma_c^2 = RSS_c/(N - p N/N_total)
    with p free parameters over N_total values in all, floored at 1e-12 of the column's scale (`column_scale(values)`)."""
    n = block.shape[0]
    dof = n - num_free * n / total
    estimate = onp.sqrt(onp.sum(block**2, axis=0) / max(dof, 1e-12))
    return onp.maximum(estimate, 1e-12 * column_scale(values))


def _estimated_sigmas(curves, sigmas, residual, num_free):
    """Per-column noise of the curves without sigma from the residuals, sigma_c^2 = RSS_c/(N_c - p N_c/N).

    Curves with sigma keep it. Returns one (N, K) array per curve (raw units).
    """
    total = residual.size
    out, offset = [], 0
    for curve, sigma, label in zip(curves, sigmas, _unique_labels(curves)):
        size = curve.values.size
        block = residual[offset : offset + size].reshape(curve.values.shape) * onp.asarray(sigma)
        offset += size
        if curve.sigma_known:
            out.append(sigma)
            continue
        estimate = column_noise(block, num_free, total, onp.asarray(curve.values))
        out.append(jnp.broadcast_to(jnp.asarray(estimate, curve.values.dtype), curve.values.shape))
    return out


def _eta_with_error(params, free, result):
    eta = params["mass_ratio"] * ELECTRON_MASS * params["alpha"] ** 2 / (HBAR**2 * params["j_ex"])
    # d log eta / d log x: exponents (2, -1, 1) for alpha, j_ex, mass_ratio.
    exponents = {"alpha": 2.0, "j_ex": -1.0, "mass_ratio": 1.0}
    gradient = onp.array([exponents.get(n, 0.0) * eta / params[n] for n in free])
    if not onp.any(gradient):
        return (float(eta), 0.0)
    covariance = result["covariance"]
    if not onp.all(onp.isfinite(result["standard_errors"])[gradient != 0.0]):
        # eta may still be determined along the non-null directions: project on them.
        vectors, null = result["eigenvectors"], result["null"]
        g_log = gradient * result["scale"]  # d eta / d z
        # eta is determined only if it has no component along a null direction (with the exact bands
        # the determined combination is e.g. alpha^2.04 J^-1, and eta drifts along the valley).
        if onp.any(null) and onp.linalg.norm(vectors[:, null].T @ g_log) > 1e-3 * onp.linalg.norm(g_log):
            return (float(eta), math.inf)
    variance = float(gradient @ covariance @ gradient)
    return (float(eta), math.sqrt(max(variance, 0.0)))


def _notes_for(notes, result, free, params, lower, upper, restarts, best, noise_known, reduced, dof, total):
    """Append (warning category, sentence) pairs about identifiability, bounds, convergence, chi^2."""
    bad = [d for d in result["directions"] if not d["determined"]]
    if bad:
        good = [d for d in result["directions"] if d["determined"]]
        unknown = [n for n, ok in zip(free, result["identifiable"]) if not ok]
        determined = "; ".join(
            f"{d['combination']} = {d['value']:.5g} (relative error {d['relative_error']:.2g}{', ' + d['known'] if d['known'] else ''})"
            for d in good
        ) or "nothing"
        weak = "; ".join(
            f"{d['combination']} (relative error {'inf' if not math.isfinite(d['relative_error']) else format(d['relative_error'], '.2g')})"
            for d in bad
        )
        notes.append((
            IdentifiabilityWarning,
            f"the data cannot separate {', '.join(unknown) or 'the free parameters'}: not identifiable along {weak} "
            f"(condition number {result['condition_number']:.3g}); determined: {determined}. Fix some parameters "
            "(--free / free=) or add curves that depend on them differently",
        ))
    for i, name in enumerate(free):
        lo, hi = lower[i], upper[i]
        x = params[name]
        if is_log_scale(lo, hi):
            position = math.log(x / lo) / math.log(hi / lo)
        else:
            position = (x - lo) / (hi - lo)
        if position < 1e-3 or position > 1.0 - 1e-3:
            which = "lower" if position < 0.5 else "upper"
            notes.append((FitWarning, f"{name} = {x:.4g} {parameter_unit(name)} is at its {which} bound ({lo:g}, {hi:g}): widen the bounds"))
    status = restarts[best]["status"]
    if status not in _STATUS[:2]:
        notes.append((FitWarning, f"the best restart did not converge: {status} (raise max_steps)"))
    # Loss differences in chi^2 units; only with known noise are the restarts' weights the final ones.
    best_loss = restarts[best]["loss"]
    for i, r in enumerate(restarts):
        if i == best or not noise_known:
            continue
        delta = (r["loss"] - best_loss) * 2.0 * total
        far = [
            (n, abs(r["end"][n] - params[n]) / result["standard_errors"][k])
            for k, n in enumerate(free)
            if result["identifiable"][k] and abs(r["end"][n] - params[n]) > 2.0 * result["standard_errors"][k]
        ]
        if delta < 1.0 and far:
            where = ", ".join(f"{n} = {r['end'][n]:.4g} ({z:.1f} SE away)" for n, z in far)
            notes.append((
                FitWarning,
                f"restart {i} reached an equally good fit (chi^2 higher by {delta:.2g}) at {where}: the loss has more than "
                "one minimum; the standard errors describe the best one only",
            ))
            break
    if noise_known and dof > 0 and reduced > 1.0 + 4.0 * math.sqrt(2.0 / dof):
        notes.append((
            FitWarning,
            f"reduced chi^2 = {reduced:.3g} is well above 1 for {dof} degrees of freedom: the stated sigma is too small "
            "or the model does not describe the data; standard errors assume the stated sigma",
        ))

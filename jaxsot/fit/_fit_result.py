"""The outcome of `fit` (FitResult) and what is derived from the optimum: eta and its error, the notes."""

import dataclasses
import math
import textwrap

import numpy as onp

from ..constants import ELECTRON_MASS, HBAR
from ._curves import FitWarning, IdentifiabilityWarning
from ._driver import REPORT_WIDTH, STATUS, report_lines
from ._forward import parameter_unit
from ._optimize import is_log_scale



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
        physical: a model other than the Rashba ferromagnet: its named combinations of the free parameters
            (J tau of the field-like torque, J/tau), each {"combination", "label", "exponents", "value",
            "relative_error", "determined", "given"} (`analyze`'s "physical"); the Rashba ferromagnet: [].
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
    physical: list = dataclasses.field(default_factory=list)

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
            lines.extend(textwrap.wrap(f"eta = m alpha^2/(hbar^2 J) = {eta_text}", REPORT_WIDTH, subsequent_indent="    "))
        lines.append(f"chi^2 = {self.chi2:.4g}, dof = {self.dof}, reduced chi^2 = {self.reduced_chi2:.4g} "
                     f"({'known noise' if self.noise_known else 'noise estimated from the residuals'})")
        lines.append(f"condition number (log parameters) = {self.condition_number:.3g}")
        for d in self.directions:
            flag = "determined" if d["determined"] else "NOT determined"
            rel = f"{d['relative_error']:.3g}" if math.isfinite(d["relative_error"]) else "inf"
            value = f"{d['value']:<11.5g}" if d["determined"] else f"{'--':<11}"
            lines.extend(report_lines(f"  {d['combination']:<34} = {value} relative error {rel:>9}  {flag}", d["known"] or ""))
        if self.physical:
            lines.append("named combinations:")
            for d in self.physical:
                flag = "determined" if d["determined"] else "NOT determined"
                rel = f"{d['relative_error']:.3g}" if math.isfinite(d["relative_error"]) else "inf"
                value = f"{d['value']:<11.5g}" if d["determined"] else f"{'--':<11}"
                lines.extend(report_lines(f"  {d['combination']:<34} = {value} relative error {rel:>9}  {flag}", d["label"]))
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

def unique_labels(curves) -> list:
    """Curve labels, made distinct with '#i' where they clash (keys of FitResult.noise).

    Args:
        curves: list of `Curve`.

    Returns:
        list of str, one per curve.
    """
    labels = [c.label for c in curves]
    return [f"{label}#{i}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def eta_with_error(params, free, result) -> tuple:
    """eta = m alpha^2/(hbar^2 J) of the Rashba ferromagnet and its standard error from the fit's covariance.

    Args:
        params: {name: value} at the optimum (alpha [eV nm], j_ex [eV], mass_ratio [1]).
        free: names of the fitted parameters (the covariance's order).
        result: the `analyze` dict of the fit (covariance, standard_errors, eigenvectors, null, scale).

    Returns:
        (eta, SE), eta dimensionless: SE inf when eta has a component along a not-determined direction.
    """
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


def fit_notes(notes, result, free, params, lower, upper, restarts, best, noise_known, reduced, dof, total):
    """Append (warning category, sentence) pairs about identifiability, bounds, convergence, chi^2.

    Args:
        notes: list the pairs are appended to (in place).
        result: the `analyze` dict of the fit (directions, identifiable, standard_errors, condition_number).
        free: names of the fitted parameters.
        params: {name: value} at the optimum.
        lower: lower bounds of the free parameters.
        upper: upper bounds of the free parameters.
        restarts: the FitResult.restarts rows.
        best: index of the best restart.
        noise_known: every curve had sigma.
        reduced: reduced chi^2.
        dof: degrees of freedom.
        total: number of data values.
    """
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
    if status not in STATUS[:2]:
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

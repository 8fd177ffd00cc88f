"""Harmonic Hall fit report: `HallFitResult`, the Gauss-Newton uncertainty and identifiability analysis, the derived
fields and efficiencies with propagated errors, and the notes (bounds, chi^2, model, separability of non-SOT terms)."""

import dataclasses
import functools
import math
import textwrap

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp

from .._core import RashbaFerromagnet, check_range
from .._llg import Magnet, ModelTorque, SpinOrbitTorque
from .._measure import HALL_PARAMETERS, REFERENCE_CURRENT, effective_fields
from .._measure._fields import effective_fields_kernel
from .._measure._hall import with_model_parameters
from ..constants import HBAR
from ._curves import FitWarning, IdentifiabilityWarning
from ._driver import REPORT_WIDTH, report_lines
from ._forward import general_model
from ._hall_data import HALL_FIT_PARAMETERS, HALL_FIT_UNITS, HallData, MICROSCOPIC, RASHBA_NAMES
from ._identify import analyze
from ._optimize import is_log_scale


_KNOWN = (
    ({"j_ex": 1.0, "tau": 1.0}, "J tau = hbar |B_FL|/(2 |B_DL|)"),
    ({"j_ex": 1.0, "tau": -1.0}, "J/tau: not fixed by B_DL/B_FL"),
    ({"alpha": 1.0, "j_ex": -1.0}, "alpha/J (damping-like field, strong exchange)"),
    ({"alpha": 1.0, "tau": 1.0}, "alpha tau (field-like field, strong exchange)"),
    ({"alpha": 1.0, "mass_ratio": 1.0}, "m alpha (B_DL with both bands)"),
    ({"alpha": 1.0, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 1.0}, "m alpha J tau (B_FL with both bands)"),
)


@dataclasses.dataclass(frozen=True)
class HallFitResult:
    """Outcome of `fit_harmonic_hall` (plain Python / NumPy; `to_dict` is strict-JSON-safe).

    Attributes:
        parameters: {name: value} for every name of HALL_FIT_PARAMETERS (fixed ones as given) [HALL_FIT_UNITS]; for
            another model (`fit_harmonic_hall(model=...)`), its names `settings["names"]` [`settings["units"]`].
        free: fitted names.
        standard_errors: {free name: standard error} (inf: not determined).
        identifiable: {free name: whether the data determine it}.
        analysed: free electron parameters analysed by name in log coordinates (the magnet and Hall
            parameters profiled out of that analysis; their errors come from the full covariance).
        covariance: (p, p) covariance over `free` (physical units).
        correlation: (p, p) correlation matrix over `free`.
        directions: principal directions of the profiled Gauss-Newton matrix of `analysed` (strongest first):
            {"combination" (e.g. 'j_ex tau'), "exponents", "value", "relative_error", "determined", "known"}.
        condition_number: condition number of that matrix.
        derived: {name: {"value", "standard_error", "unit"}}: the fields B_FL^s, B_DL^s per 1e11 A/m^2 and the
            efficiencies at the first data set's E_F and easy axis (M = z if the axis is +-y), and J tau.
        chi2: chi^2 at the optimum with the noise used.
        dof: degrees of freedom (values - free parameters).
        reduced_chi2: chi2/dof.
        noise_known: whether every data set had sigma.
        noise: {label: {column: sigma used (a number when uniform, else a list)}}.
        predictions: model values, one (N, K) array per data set.
        residuals: whitened residuals (prediction - value)/sigma, one (N, K) array per data set.
        columns: the column names of each data set.
        labels: the data sets' names (unique).
        restarts: per restart {"start", "end", "loss", "steps", "status"}; "direct_loss" too when the restarts
            ran on the interpolated flux tensor ("loss" is then on the interpolant; the best is chosen by "direct_loss").
        best: index of the best restart.
        trace: (restarts, max_steps) loss per iteration (after a run stops its final loss repeats: no NaN).
        bounds: {free name: (lower, upper)}.
        notes: sentences (identifiability, bounds, convergence, chi^2).
        settings: model, orders, optimizer, num, bands, restarts, max_steps, seed, derived_at, fermi_energies.
        physical: the model's own combinations of the analysed parameters (J tau, m alpha, alpha/J, ...; rational
            exponents) with "combination", "label", "exponents", "value", "relative_error", "determined".
    """

    parameters: dict
    free: tuple
    standard_errors: dict
    identifiable: dict
    analysed: tuple
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
    predictions: list
    residuals: list
    columns: list
    labels: list
    restarts: list
    best: int
    trace: onp.ndarray
    bounds: dict
    notes: tuple
    settings: dict
    physical: list = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        """A text table: value +- SE per parameter, the determined combinations, derived fields, chi^2."""
        lines = [f"{'parameter':<17} {'value':>12} {'std error':>12} {'rel.':>8}  unit"]
        units = self.settings.get("units", HALL_FIT_UNITS)
        for name in self.settings.get("names", HALL_FIT_PARAMETERS):
            value, unit = self.parameters[name], units[name]
            if name not in self.free:
                if name in HALL_PARAMETERS[4:] + ("r_1w_offset", "r_2w_offset") and not any(k == "R_1w" for c in self.columns for k in c):
                    continue  # no Hall curve: the Hall parameters play no part
                lines.append(f"{name:<17} {value:12.6g} {'(fixed)':>12} {'':>8}  {unit}")
            elif not self.identifiable[name]:
                lines.append(f"{name:<17} {'--':>12} {'not determ.':>12} {'':>8}  {unit}  (start-dependent: {value:.4g})")
            else:
                se = self.standard_errors[name]
                rel = f"{se / abs(value):8.2%}" if value != 0.0 else f"{'':>8}"
                lines.append(f"{name:<17} {value:12.6g} {se:12.3g} {rel}  {unit}")
        profiled = [n for n in self.free if n not in self.analysed]
        if self.physical:
            lines.append(f"the model's combinations of {', '.join(self.analysed)}" +
                         (f" ({', '.join(profiled)} profiled out):" if profiled else ":"))
            for d in self.physical:
                if not (d["determined"] or d.get("given", True)):
                    continue
                flag = "determined" if d["determined"] else "NOT determined"
                rel = f"{d['relative_error']:.3g}" if math.isfinite(d["relative_error"]) else "inf"
                value = f"{d['value']:<11.6g}" if d["determined"] else f"{'--':<11}"
                lines.extend(report_lines(f"  {d['combination']:<34} = {value} relative error {rel:>9}  {flag}", d["label"]))
        if self.directions:
            lines.append(f"principal directions of {', '.join(self.analysed)} (log axes" +
                         (f"; {', '.join(profiled)} profiled out):" if profiled else "):"))
            for d in self.directions:
                flag = "determined" if d["determined"] else "NOT determined"
                rel = f"{d['relative_error']:.3g}" if math.isfinite(d["relative_error"]) else "inf"
                value = f"{d['value']:<11.6g}" if d["determined"] and math.isfinite(d["value"]) else f"{'--':<11}"
                lines.extend(report_lines(f"  {d['combination']:<34} = {value} relative error {rel:>9}  {flag}", d["known"] or ""))
        if self.derived:
            where = self.settings.get("derived_at", "")
            lines.append(f"derived ({where}):")
            for name, item in self.derived.items():
                se = item["standard_error"]
                text = f"+- {se:.3g}" if math.isfinite(se) else "(not determined)"
                lines.append(f"  {name:<24} = {item['value']:12.6g} {text} {item['unit']}")
        lines.append(f"chi^2 = {self.chi2:.4g}, dof = {self.dof}, reduced chi^2 = {self.reduced_chi2:.4g} "
                     f"({'known noise' if self.noise_known else 'noise estimated from the residuals'})")
        # Headings with many names or a long derived-at text: wrapped to the terminal budget (table rows stay whole).
        out = []
        for line in lines:
            if len(line) > REPORT_WIDTH and not line.startswith(" "):
                out.extend(textwrap.wrap(line, REPORT_WIDTH, subsequent_indent="    ", break_on_hyphens=False))
            else:
                out.append(line)
        return "\n".join(out)

    def to_dict(self) -> dict:
        """Strict-JSON-safe dict: arrays become lists, non-finite numbers become None and their paths are
        listed under "non_finite_values" (json.dumps(..., allow_nan=False) succeeds)."""
        found = []

        def clean(value, where):
            if isinstance(value, dict):
                return {str(k): clean(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [clean(v, f"{where}[{i}]") for i, v in enumerate(value)]
            if isinstance(value, onp.ndarray):
                return clean(value.tolist(), where)
            if isinstance(value, (onp.floating, onp.integer, onp.bool_)):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                found.append(f"{where} = {value}")
                return None
            return value

        out = {f.name: clean(getattr(self, f.name), f.name) for f in dataclasses.fields(self)}
        out["units"] = dict(self.settings.get("units", HALL_FIT_UNITS))
        out["non_finite_values"] = found
        return out


def uncertainty(jacobian, x, free, lower, upper, rcond, max_relative_error, electrons=MICROSCOPIC) -> dict:
    """Covariance of every free parameter, and `analyze` of the one-signed ones with the others profiled out."""
    log = onp.array([is_log_scale(lo, hi) for lo, hi in zip(lower, upper)])
    # Analysis coordinates: log|x| for one-signed parameters, x/s with s the box scale for signed ones (whose
    # value may be ~0, so |x| is no scale).
    scale = onp.where(log, onp.abs(x), (onp.asarray(upper) - onp.asarray(lower)) / 6.0)
    jz = jacobian * scale[None, :]
    fisher = jz.T @ jz
    w, v = onp.linalg.eigh(fisher)
    null = w <= rcond * max(float(w[-1]), 1e-300)
    inverse = onp.where(null, 0.0, 1.0 / onp.where(null, 1.0, w))
    cov_z = (v * inverse[None, :]) @ v.T
    null_weight = onp.sum(v[:, null] ** 2, axis=1) if onp.any(null) else onp.zeros(len(x))
    se = onp.where(null_weight > 1e-6, onp.inf, onp.sqrt(onp.maximum(onp.diag(cov_z), 0.0)) * scale)
    covariance = cov_z * scale[:, None] * scale[None, :]
    # The electrons' parameters are analysed by name; the magnet and Hall parameters (pinned by R_1w, or
    # signed) are profiled out, so the named combinations read as powers of alpha, j_ex, mass_ratio, tau.
    electrons = onp.array([n in electrons for n in free]) & log
    analysed = tuple(n for n, e in zip(free, electrons) if e)
    interest = onp.flatnonzero(electrons)
    nuisance = onp.flatnonzero(~electrons)
    relative = onp.where(log, se / onp.where(x != 0.0, onp.abs(x), 1.0), 0.0)
    identifiable = onp.isfinite(se) & (relative <= max_relative_error)
    directions, condition, physical = [], math.nan, []
    if interest.size:
        j_i = jacobian[:, interest]
        if nuisance.size:
            j_n = jacobian[:, nuisance]
            j_i = j_i - j_n @ onp.linalg.lstsq(j_n, j_i, rcond=None)[0]
        result = analyze(j_i, x[interest], list(analysed), onp.ones(interest.size, bool), rcond=rcond,
                         max_relative_error=max_relative_error, known=_KNOWN)
        physical = result["physical"]
        se[interest] = result["standard_errors"]
        identifiable[interest] = result["identifiable"]
        directions, condition = result["directions"], result["condition_number"]
        for d in directions:
            d["known"] = d["known"] or _known(d["exponents"], analysed)
    with onp.errstate(invalid="ignore", divide="ignore"):
        sd = onp.sqrt(onp.diag(covariance))
        correlation = covariance / onp.outer(sd, sd)
    return {"covariance": covariance, "standard_errors": se, "identifiable": identifiable, "analysed": analysed,
            "directions": directions, "physical": physical, "condition_number": condition, "null_vectors": v[:, null], "scale": scale,
            "correlation": onp.where(onp.isfinite(correlation), correlation, onp.nan)}


def _known(exponents, names):
    e = onp.array([exponents[n] for n in names], float)
    for pattern, label in _KNOWN:
        p = onp.array([pattern.get(n, 0.0) for n in names])
        if onp.count_nonzero(p) < 2 or not onp.any(e):
            continue
        if abs(p @ e) / (onp.linalg.norm(p) * onp.linalg.norm(e)) > 0.995:
            return label
    return None


@functools.partial(jax.jit, static_argnums=(5,))
def _scalar_fields(template, magnet, m, rho0, micro, model):
    """(B_FL^s, B_DL^s) [mT per 1e11 A/m^2] and (xi_FL, xi_DL) at the one M of m (1, 3), electrons micro =
    (alpha, j_ex, tau, mass_ratio) put into the torque `template` (`jaxsot.effective_fields` kernel without its
    traced checks, so JAX's persistent cache keeps the program: `derived_quantities` checks every input on the host)."""
    torque = eqx.tree_at(lambda t: (t.alpha, t.j_ex, t.tau, t.mass_ratio), template, tuple(micro))
    out = effective_fields_kernel(magnet, torque, m, rho0, (model,), checked=False)
    f = out.exact if model == "exact" else out.strong_exchange
    per = REFERENCE_CURRENT * 1e3  # T/(A/m^2) -> mT per 1e11 A/m^2
    return jnp.stack([f.field_like_per_current[0] * per, f.damping_like_per_current[0] * per,
                      f.field_like_efficiency[0], f.damping_like_efficiency[0]])


@eqx.filter_jit
def _general_scalar_fields(template, magnet, m, rho0, params, names):
    """`_scalar_fields` of a general model: its ModelTorque `template` with tau and the named parameters of params."""
    out = effective_fields(magnet, with_model_parameters(template, params, names), m, rho0, methods=("exact",))
    per = REFERENCE_CURRENT * 1e3
    f = out.exact
    return jnp.stack([f.field_like_per_current[0] * per, f.damping_like_per_current[0] * per,
                      f.field_like_efficiency[0], f.damping_like_efficiency[0]])


def derived_quantities(params, free, analysis, data, model, num, bands, dtype, spec=None):
    """Fields per 1e11 A/m^2 [mT], efficiencies and J tau [eV fs] at the first data set, with propagated SEs
    (a general model, `spec`: the fields and efficiencies)."""
    d = data[0]
    if isinstance(d, HallData):
        u = onp.asarray(d.easy_axis) / onp.linalg.norm(d.easy_axis)
    else:
        u = d.m[0]
    if abs(u[1]) > 1.0 - 1e-6:
        u = onp.array([0.0, 0.0, 1.0])
    efield = jnp.asarray([d.rho0 * REFERENCE_CURRENT * 1e-9, 0.0], dtype)
    magnet = Magnet(d.ms_tesla, d.thickness, 0.0)
    m = jnp.asarray(u, dtype)[None, :]
    rho0 = jnp.asarray(d.rho0, dtype)
    electrons = MICROSCOPIC
    if spec is not None:
        electrons = spec.names + ("tau",)
        template = ModelTorque(general_model(spec, params, dtype), d.fermi_energy, efield, params["tau"], num=num)

        def quantities(p):
            q = {n: jnp.asarray(p[n], dtype) for n in electrons}
            return onp.asarray(_general_scalar_fields(template, magnet, m, rho0, q, spec.names))
    else:
        template = SpinOrbitTorque(params["alpha"], params["j_ex"], d.fermi_energy, efield, params["tau"],
                                   mass_ratio=params["mass_ratio"], method=model, num=num)

    def rashba_quantities(p):
        # `_scalar_fields` runs without traced checks: the inputs checked here, on the host.
        RashbaFerromagnet(p["alpha"], p["j_ex"], u, p["mass_ratio"])
        check_range("tau", p["tau"], low=0.0, low_inclusive=False, unit="fs")
        check_range("rho0", d.rho0, low=0.0, low_inclusive=False, unit="ohm m")
        j_tau = p["j_ex"] * p["tau"]
        micro = jnp.asarray([p[n] for n in ("alpha", "j_ex", "tau", "mass_ratio")], dtype)
        return onp.concatenate([onp.asarray(_scalar_fields(template, magnet, m, rho0, micro, model)), [j_tau, HBAR / (2.0 * j_tau)]])

    # Central differences in the free electron parameters (the Hall and magnet parameters do not enter):
    # a forward-only compilation is ~3x cheaper than forward-mode through the contour solve, and the
    # contour is converged far below the 1e-5 relative step.
    if spec is None:
        quantities = rashba_quantities
    value = quantities(params)
    gradient = onp.zeros((value.size, len(free)))
    for i, name in enumerate(free):
        if name in electrons:
            h = 1e-5 * abs(params[name])
            up, down = quantities({**params, name: params[name] + h}), quantities({**params, name: params[name] - h})
            gradient[:, i] = (up - down) / (2.0 * h)
    covariance, scale, null = analysis["covariance"], analysis["scale"], analysis["null_vectors"]
    names = ("B_FL per 1e11 A/m^2", "B_DL per 1e11 A/m^2", "xi_FL", "xi_DL", "j_ex tau", "hbar/(2 j_ex tau)")[:value.size]
    units = ("mT", "mT", "1 (film current density)", "1 (film current density)", "eV fs", "1 (= |B_DL/B_FL|)")[:value.size]
    if isinstance(d, HallData) and d.hm_thickness is not None:
        # Bilayer convention: the same E drives j_HM = E/rho_HM in the heavy metal, so xi_HM = xi (j/j_HM).
        ratio = d.hm_resistivity / d.rho0
        value = onp.concatenate([value, value[2:4] * ratio])
        gradient = onp.concatenate([gradient, gradient[2:4] * ratio])
        names = names + ("xi_FL (heavy-metal current density)", "xi_DL (heavy-metal current density)")
        units = units + ("1", "1")
    out = {}
    for name, unit, v, g in zip(names, units, value, gradient):
        g_z = g * scale
        if null.shape[1] and onp.linalg.norm(null.T @ g_z) > 1e-3 * max(onp.linalg.norm(g_z), 1e-300):
            se = math.inf  # the quantity moves along a direction the data do not fix
        else:
            se = math.sqrt(max(float(g @ covariance @ g), 0.0))
        out[name] = {"value": float(v), "standard_error": se, "unit": unit}
    where = (f"M = ({u[0]:.3g}, {u[1]:.3g}, {u[2]:.3g}), E_F = {d.fermi_energy:g} eV, rho0 = {d.rho0:g} ohm m, "
             f"{type(spec.model).__name__ + ' (exact)' if spec is not None else model}")
    if isinstance(d, HallData) and d.hm_thickness is not None:
        share = (d.hm_thickness / d.hm_resistivity) / (d.hm_thickness / d.hm_resistivity + d.thickness / d.rho0)
        where += (f"; heavy metal {d.hm_thickness:g} nm, {d.hm_resistivity:g} ohm m: j_HM/j = {d.rho0 / d.hm_resistivity:.4g}, "
                  f"{share:.1%} of the current")
    return out, where


def fit_notes(notes, analysis, free, params, lower, upper, noise_known, reduced, dof, names=RASHBA_NAMES):
    bad = [d for d in analysis["directions"] if not d["determined"]]
    undetermined = [n for n, ok in zip(free, analysis["identifiable"]) if not ok]
    if bad or undetermined:
        # The model's own combinations (J tau, m alpha ...) where determined; principal directions otherwise.
        named = [d for d in analysis.get("physical", []) if d["determined"]]
        good = "; ".join(f"{d['combination']} = {d['value']:.6g} (relative error {d['relative_error']:.3g}, {d['label']})" for d in named)
        if len(named) < sum(d["determined"] for d in analysis["directions"]):
            good = "; ".join(([good] if good else []) + [
                f"{d['combination']} = {d['value']:.6g} (relative error {d['relative_error']:.3g}"
                f"{', ' + d['known'] if d['known'] else ''})" for d in analysis["directions"] if d["determined"]][len(named):])
        good = good or "nothing"
        weak = "; ".join(f"{d['combination']} (relative error "
                         f"{'inf' if not math.isfinite(d['relative_error']) else format(d['relative_error'], '.2g')})" for d in bad)
        notes.append((IdentifiabilityWarning,
                      f"the data cannot separate {', '.join(undetermined) or 'the free parameters'}: not determined along "
                      f"{weak or 'a direction of the signed coefficients'}; determined: {good}. Harmonic Hall data fix the "
                      f"fields B_FL and B_DL, and B_DL/B_FL = hbar/(2 J tau) in this model: fix some of "
                      f"{', '.join(names.electrons)} (free=) or add data at other Fermi energies"))
    for i, name in enumerate(free):
        lo, hi, x = lower[i], upper[i], params[name]
        position = math.log(x / lo) / math.log(hi / lo) if is_log_scale(lo, hi) else (x - lo) / (hi - lo)
        if position < 1e-3 or position > 1.0 - 1e-3:
            which = "lower" if position < 0.5 else "upper"
            notes.append((FitWarning, f"{name} = {x:.4g} {names.unit(name)} is at its {which} bound ({lo:g}, {hi:g}): widen the bounds"))
    if noise_known and dof > 0 and reduced > 1.0 + 4.0 * math.sqrt(2.0 / dof):
        notes.append((FitWarning, f"reduced chi^2 = {reduced:.3g} is well above 1 for {dof} degrees of freedom: the stated "
                                  "sigma is too small or the model does not describe the data"))


def model_note(notes, model, free, params, lower, upper, poor=False):
    """With the exact bands, J pushed to its upper bound (or alpha to its lower one), or a chi^2 well above
    its expectation, can mean the data show no (alpha k_F/J)^2 angular dependence of the torques: then the
    strong-exchange model is the consistent one."""
    if model != "exact":
        return
    pushed = []
    for name, side in (("j_ex", "upper"), ("alpha", "lower")):
        if name not in free:
            continue
        i = free.index(name)
        lo, hi, x = lower[i], upper[i], params[name]
        position = math.log(x / lo) / math.log(hi / lo) if is_log_scale(lo, hi) else (x - lo) / (hi - lo)
        if (side == "upper" and position > 1.0 - 1e-3) or (side == "lower" and position < 1e-3):
            pushed.append(f"{name} at its {side} bound")
    if pushed:
        notes.append((FitWarning, f"{' and '.join(pushed)} with the exact bands: the residuals show torques without the "
                                  "exact bands' (alpha k_F/J)^2 angular dependence, which the fit can only mimic by "
                                  "making alpha k_F/J small; --model strong_exchange (model='strong_exchange'), or a fit "
                                  "of a field table (B_DL, B_FL columns), is the consistent model for these data"))
    elif poor and any(n in free for n in MICROSCOPIC):
        notes.append((FitWarning, "the exact-band model does not describe these data (chi^2 well above 1): if the torques "
                                  "do not change with the angle of M (no (alpha k_F/J)^2 dependence), --model "
                                  "strong_exchange (model='strong_exchange') is the consistent model; compare its chi^2"))


_NON_SOT = {
    "r_ane": "the thermal term R_ANE M_x (anomalous Nernst / spin Seebeck) and the damping-like field both go as "
             "cos(phi_H) for an in-plane magnet; only their field dependence differs (B_DL: 1/(B + B_d), R_ANE: "
             "constant): add sweeps at other field magnitudes, or fix r_ane",
    "r_ane_field": "the field-dependent thermal term R_ANE,B |B| M_x and the damping-like field both go as cos(phi_H) "
                   "for an in-plane magnet and both fall or grow with |B|: sweeps over a wide range of field "
                   "magnitudes (B_DL/(B + B_d) against a straight line) separate them; else fix r_ane_field",
    "oersted_field": "the Oersted field and the field-like field have the same symmetry (even in M, along y): "
                     "harmonic Hall data cannot tell them apart; fix oersted_field (from the current in the "
                     "non-magnetic layers) or the field-like parameters",
    "r_ohe": "the ordinary Hall term R_OHE B_z and the anomalous Hall term R_AHE M_z are separated only by how M_z "
             "and B_z differ over the sweep: add tilted-field sweeps (theta_H) across saturation, or fix r_ohe",
    "r_2w_offset": "a constant R_2w offset is separated from the torques and the thermal term only by their angle "
                   "dependence: sweep the full 360 deg of phi_H",
}


_SEPARATION = 0.999  # R^2 of a term's Jacobian column on the others above which it is reported inseparable


def separability_notes(notes, jacobian, free):
    """A note for each free non-SOT term whose effect the other free parameters reproduce (R^2 > 0.999)."""
    jacobian = onp.asarray(jacobian, float)
    for i, name in enumerate(free):
        if name not in _NON_SOT or len(free) < 2:
            continue
        column = jacobian[:, i]
        others = onp.delete(jacobian, i, axis=1)
        norm = float(column @ column)
        if not norm > 0.0:
            continue
        fitted = others @ onp.linalg.lstsq(others, column, rcond=None)[0]
        explained = float(fitted @ fitted) / norm
        if explained > _SEPARATION:
            notes.append((IdentifiabilityWarning, f"{name} cannot be separated by these data (the other free parameters "
                                                  f"reproduce {explained:.4%} of its effect): {_NON_SOT[name]}"))

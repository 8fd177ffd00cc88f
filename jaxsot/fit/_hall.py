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
Several data sets are fitted together; they share every parameter (one sample; each has its own settings,
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

import dataclasses
import functools
import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp

from .._core import check_count, check_finite, check_range
from .._llg import Magnet, SpinOrbitTorque
from .._measure import (
    HALL_DEFAULTS,
    HALL_PARAMETER_UNITS,
    HALL_PARAMETERS,
    REFERENCE_CURRENT,
    HallSettings,
    effective_fields,
    hall_bands,
    harmonic_hall_forward,
    harmonic_hall_all_orders,
    lockin_harmonics,
)
from ..constants import HBAR
from ._curves import DEFAULT_GUESS, FitWarning, IdentifiabilityWarning
from ._identify import analyze
from ._fit import column_noise, column_scale
from ._optimize import free_to_params, is_log_scale, minimize, to_physical, to_unconstrained, transform_kind

HALL_FIT_PARAMETERS = HALL_PARAMETERS + ("r_1w_offset", "r_2w_offset")
"""Parameters `fit_harmonic_hall` can vary: those of `jaxsot.harmonic_hall_forward` and two constant offsets."""

HALL_FIT_UNITS = {**HALL_PARAMETER_UNITS, "r_1w_offset": "ohm", "r_2w_offset": "ohm"}
"""Units of HALL_FIT_PARAMETERS (internal: eV nm, eV, 1, fs, T, ohm)."""

FIELD_COLUMNS = ("B_DL", "B_FL", "xi_DL", "xi_FL")
"""Observables of a `FieldData` table: scalar SOT fields [T] at the row's current density, efficiencies [1]."""

FIELD_COLUMN_UNITS = {"B_DL": "T", "B_FL": "T", "xi_DL": "1", "xi_FL": "1"}
"""Internal units of FIELD_COLUMNS (files may give the fields in mT or uT)."""

MICROSCOPIC = ("alpha", "j_ex", "mass_ratio", "tau")
LINEAR = ("r_ahe", "r_phe", "r_ane", "r_ohe", "r_1w_offset", "r_2w_offset")
"""Parameters that enter R_1w, R_2w linearly (solved by least squares for the first start)."""

HALL_ORDERS = ("first", "all")
"""Forward models of `fit_harmonic_hall`: first order in the current (default) or every order."""

SYNTH_ROUTES = ("quasi-static", "time-domain")
"""Routes of `synthesize_hall`: equilibrium at each current phase (default) or the LLG in time (a lock-in)."""

MIN_ROWS = 3
HALL_OPTIMIZERS = ("lm", "lbfgs")
"""Optimizers of `fit_harmonic_hall`: Levenberg-Marquardt on the Jacobian (default) or optax L-BFGS (vmapped restarts)."""
_NOISE_ROUNDS = 6
_LM_TOL = 1e-8  # chi^2 decrease of the Gauss-Newton step below which the polish stops
_STATUS = (
    "converged (gradient)",
    "converged (loss change)",
    "stopped at max_steps",
    "non-finite loss",
    "stalled (no decrease, gradient not small)",
)
_KNOWN = (
    ({"j_ex": 1.0, "tau": 1.0}, "J tau = hbar |B_FL|/(2 |B_DL|)"),
    ({"j_ex": 1.0, "tau": -1.0}, "J/tau: not fixed by B_DL/B_FL"),
    ({"alpha": 1.0, "j_ex": -1.0}, "alpha/J (damping-like field, strong exchange)"),
    ({"alpha": 1.0, "tau": 1.0}, "alpha tau (field-like field, strong exchange)"),
    ({"alpha": 1.0, "mass_ratio": 1.0}, "m alpha (B_DL with both bands)"),
    ({"alpha": 1.0, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 1.0}, "m alpha J tau (B_FL with both bands)"),
)


# ---------------------------------------------------------------------------------------------
# Data containers.


def _vector(name, value, size, dtype=float):
    array = onp.asarray(value, dtype)
    if array.ndim == 0:
        array = onp.full((size,), float(array))
    if array.shape != (size,):
        raise ValueError(f"{name} has shape {array.shape}; allowed: a scalar or ({size},), one value per row")
    if not onp.all(onp.isfinite(array)):
        raise ValueError(f"{name} has non-finite values; allowed: finite numbers")
    return array


def _sigma(name, value, size):
    if value is None:
        return None
    array = _vector(name, value, size)
    if not onp.all(array > 0.0):
        raise ValueError(f"{name} has values <= 0 (first: {array[array <= 0.0][0]:g}); allowed: positive uncertainties")
    return array


def _three(name, value):
    array = onp.asarray(value, float)
    if array.shape != (3,) or not onp.all(onp.isfinite(array)):
        raise ValueError(f"{name} = {value!r}; allowed: three finite numbers")
    return tuple(float(v) for v in array)


def _positive(name, value, unit):
    check_range(name, value, low=0.0, low_inclusive=False, unit=unit)
    return float(value)


@dataclasses.dataclass(frozen=True, eq=False)
class HallData:
    """One harmonic Hall sweep: N rows of field settings and lock-in harmonics, with the sample's settings.

    Args (internal units):
        phi_h: field azimuth from the current direction x [rad], (N,) or scalar.
        field: field magnitude B [T], (N,) or scalar. theta_h: field polar angle from z [rad] (default pi/2).
        r_1w, r_2w: (N,) first and second harmonic Hall resistances [ohm] (lock-in convention of
            `jaxsot.harmonic_hall_forward`: R_2w is the amplitude of -cos 2wt).
        sigma_1w, sigma_2w: (N,) or scalar standard deviations [ohm], or None (noise estimated by the fit).
        fermi_energy [eV], current_density j0 [A/m^2] (> 0), rho0 [ohm m] (> 0), ms_tesla mu0 M_s [T] (> 0),
        thickness t_F [nm] (> 0), easy_axis (3,), demag (3,), bias_field (3,) [T]: as `jaxsot.HallSettings`.
        branch: +1 or -1 per row (or scalar): the energy descent starts from the field direction tilted
            by 0.1 towards branch * u (the magnet's hysteresis branch; +1 is `HallSettings`' default).
        field_like, damping_like: include B_FL / B_DL in the forward model.
        label: name used in reports (the file name).
        hm_thickness [nm], hm_resistivity [ohm m]: a heavy-metal layer beside the magnetic film (both or
            neither), in parallel at the same E: j_HM = rho0 j0/hm_resistivity. Only the bilayer efficiencies
            xi_HM = (2e/hbar) M_s t_F B/j_HM of the report use them (the model's current is the film's j0).
    Raises ValueError naming the argument, its value and what is allowed.
    """

    phi_h: onp.ndarray
    field: onp.ndarray
    r_1w: onp.ndarray
    r_2w: onp.ndarray
    fermi_energy: float
    current_density: float
    rho0: float
    ms_tesla: float
    thickness: float
    theta_h: onp.ndarray = math.pi / 2
    sigma_1w: onp.ndarray | None = None
    sigma_2w: onp.ndarray | None = None
    easy_axis: tuple = (0.0, 0.0, 1.0)
    demag: tuple = (0.0, 0.0, 1.0)
    bias_field: tuple = (0.0, 0.0, 0.0)
    branch: onp.ndarray = 1.0
    field_like: bool = True
    damping_like: bool = True
    label: str = "hall"
    hm_thickness: float | None = None
    hm_resistivity: float | None = None

    def __post_init__(self):
        r_1w = onp.atleast_1d(onp.asarray(self.r_1w, float))
        n = r_1w.shape[0]
        if r_1w.ndim != 1 or n < MIN_ROWS:
            raise ValueError(f"r_1w has shape {r_1w.shape}; allowed: (N,) with N >= {MIN_ROWS} rows")
        put = functools.partial(object.__setattr__, self)
        for name in ("phi_h", "field", "r_1w", "r_2w", "theta_h", "branch"):
            put(name, _vector(name, getattr(self, name), n))
        if not onp.all(onp.abs(self.branch) == 1.0):
            raise ValueError(f"branch has values {sorted(set(self.branch.tolist()) - {1.0, -1.0})}; allowed: +1 or -1")
        put("sigma_1w", _sigma("sigma_1w", self.sigma_1w, n))
        put("sigma_2w", _sigma("sigma_2w", self.sigma_2w, n))
        if (self.sigma_1w is None) != (self.sigma_2w is None):
            raise ValueError("sigma_1w and sigma_2w: one is None; allowed: both (known noise) or neither (estimated)")
        check_finite("fermi_energy", self.fermi_energy)
        put("fermi_energy", float(self.fermi_energy))
        put("current_density", _positive("current_density", self.current_density, "A/m^2"))
        put("rho0", _positive("rho0", self.rho0, "ohm m"))
        put("ms_tesla", _positive("ms_tesla", self.ms_tesla, "T"))
        put("thickness", _positive("thickness", self.thickness, "nm"))
        if (self.hm_thickness is None) != (self.hm_resistivity is None):
            raise ValueError("hm_thickness and hm_resistivity: one is None; allowed: both (a heavy-metal layer) or neither")
        if self.hm_thickness is not None:
            put("hm_thickness", _positive("hm_thickness", self.hm_thickness, "nm"))
            put("hm_resistivity", _positive("hm_resistivity", self.hm_resistivity, "ohm m"))
        for name in ("easy_axis", "demag", "bias_field"):
            put(name, _three(name, getattr(self, name)))
        if not any(self.easy_axis):
            raise ValueError("easy_axis = (0, 0, 0); allowed: a non-zero 3-vector")
        if not all(0.0 <= d <= 1.0 for d in self.demag):
            raise ValueError(f"demag = {self.demag}; allowed: each factor in [0, 1]")
        put("field_like", bool(self.field_like))
        put("damping_like", bool(self.damping_like))
        put("label", str(self.label))

    @property
    def num_points(self) -> int:
        return int(self.r_1w.shape[0])

    @property
    def sigma_known(self) -> bool:
        return self.sigma_1w is not None

    def m_start(self) -> onp.ndarray:
        """(N, 3) start of the energy descent: field direction + 0.1 branch u, normalized (u at zero field)."""
        s = onp.sin(self.theta_h)
        direction = onp.stack([s * onp.cos(self.phi_h), s * onp.sin(self.phi_h), onp.cos(self.theta_h)], -1)
        b_ext = self.field[:, None] * direction + onp.asarray(self.bias_field)[None, :]
        norm = onp.linalg.norm(b_ext, axis=-1, keepdims=True)
        u = onp.asarray(self.easy_axis) / onp.linalg.norm(self.easy_axis)
        start = b_ext / onp.where(norm > 0.0, norm, 1.0) + 0.1 * self.branch[:, None] * u[None, :]
        return start / onp.linalg.norm(start, axis=-1, keepdims=True)

    def settings(self, *, model: str = "exact", num: int = 64, bands=None) -> HallSettings:
        """The `jaxsot.HallSettings` of these rows (model, rays per contour, occupied bands of the exact model)."""
        dtype = jnp.result_type(float)
        return HallSettings(
            jnp.asarray(self.phi_h, dtype), jnp.asarray(self.field, dtype), theta_h=jnp.asarray(self.theta_h, dtype),
            fermi_energy=self.fermi_energy, current_density=self.current_density, rho0=self.rho0, ms_tesla=self.ms_tesla,
            thickness=self.thickness, easy_axis=self.easy_axis, demag=self.demag, bias_field=self.bias_field,
            m_start=jnp.asarray(self.m_start(), dtype), model=model, num=num, bands=bands,
            field_like=self.field_like, damping_like=self.damping_like,
        )

    @classmethod
    def from_settings(cls, r_1w, r_2w, settings: HallSettings, *, sigma_1w=None, sigma_2w=None, label="hall"):
        """HallData from arrays and a `jaxsot.HallSettings` (its m_start becomes a branch: sign of M.u)."""
        if not isinstance(settings, HallSettings):
            raise ValueError(f"settings is a {type(settings).__name__}; allowed: jaxsot.HallSettings")
        u = onp.asarray(settings.easy_axis)
        branch = onp.where(onp.asarray(settings.m_start) @ u >= 0.0, 1.0, -1.0)
        return cls(
            phi_h=onp.asarray(settings.phi_h), field=onp.asarray(settings.field), theta_h=onp.asarray(settings.theta_h),
            r_1w=r_1w, r_2w=r_2w, sigma_1w=sigma_1w, sigma_2w=sigma_2w, fermi_energy=float(settings.fermi_energy),
            current_density=float(settings.current_density), rho0=float(settings.rho0), ms_tesla=float(settings.ms_tesla),
            thickness=float(settings.thickness), easy_axis=tuple(u.tolist()), demag=tuple(onp.asarray(settings.demag).tolist()),
            bias_field=tuple(onp.asarray(settings.bias_field).tolist()), branch=branch, field_like=settings.field_like,
            damping_like=settings.damping_like, label=label,
        )


@dataclasses.dataclass(frozen=True, eq=False)
class FieldData:
    """A table of measured SOT fields or efficiencies: N rows at given M directions and current densities.

    Args (internal units):
        columns: names from `FIELD_COLUMNS` (B_DL, B_FL [T]: the scalar fields of `jaxsot.effective_fields`
            at the row's current density; xi_DL, xi_FL [1]: efficiencies, independent of j).
        values: (N, K) [T or 1]. sigma: (N, K) standard deviations or None (estimated by the fit).
        theta_m, phi_m: direction of M at each row [rad] (polar from z, azimuth from the current x); M = +-y
            is refused (the scalar projections are undefined there).
        current_density: j [A/m^2] per row or scalar (> 0; only B columns depend on it).
        fermi_energy [eV], rho0 [ohm m], ms_tesla [T], thickness [nm]: the sample (E = rho0 j along x).
        label: name used in reports.
    """

    columns: tuple
    values: onp.ndarray
    theta_m: onp.ndarray
    fermi_energy: float
    rho0: float
    ms_tesla: float
    thickness: float
    phi_m: onp.ndarray = 0.0
    current_density: onp.ndarray = REFERENCE_CURRENT
    sigma: onp.ndarray | None = None
    label: str = "fields"

    def __post_init__(self):
        put = functools.partial(object.__setattr__, self)
        columns = (self.columns,) if isinstance(self.columns, str) else tuple(self.columns)
        if not columns or len(set(columns)) != len(columns) or any(c not in FIELD_COLUMNS for c in columns):
            raise ValueError(f"columns = {columns!r}; allowed: distinct names from {', '.join(FIELD_COLUMNS)}")
        put("columns", columns)
        values = onp.asarray(self.values, float)
        if values.ndim == 1 and len(columns) == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(columns) or values.shape[0] < MIN_ROWS:
            raise ValueError(f"values has shape {values.shape}; allowed: (N, {len(columns)}) with N >= {MIN_ROWS}")
        if not onp.all(onp.isfinite(values)):
            raise ValueError("values has non-finite entries; allowed: finite numbers")
        put("values", values)
        n = values.shape[0]
        for name in ("theta_m", "phi_m", "current_density"):
            put(name, _vector(name, getattr(self, name), n))
        if not onp.all(self.current_density > 0.0):
            raise ValueError("current_density has values <= 0; allowed: positive current densities [A/m^2]")
        my = onp.sin(self.theta_m) * onp.sin(self.phi_m)
        if onp.any(onp.abs(my) > 1.0 - 1e-9):
            raise ValueError("theta_m, phi_m give M = +-y in some rows; allowed: M away from +-y (B^s is undefined there)")
        if self.sigma is not None:
            sigma = onp.asarray(self.sigma, float)
            if sigma.ndim == 1 and len(columns) == 1:
                sigma = sigma[:, None]
            sigma = onp.broadcast_to(sigma, values.shape).copy() if sigma.ndim == 2 and sigma.shape[0] == n else sigma
            if sigma.shape != values.shape or not onp.all(onp.isfinite(sigma)) or not onp.all(sigma > 0.0):
                raise ValueError(f"sigma has shape {sigma.shape} or values <= 0; allowed: ({n}, {len(columns)}) positive numbers")
            put("sigma", sigma)
        check_finite("fermi_energy", self.fermi_energy)
        put("fermi_energy", float(self.fermi_energy))
        put("rho0", _positive("rho0", self.rho0, "ohm m"))
        put("ms_tesla", _positive("ms_tesla", self.ms_tesla, "T"))
        put("thickness", _positive("thickness", self.thickness, "nm"))
        put("label", str(self.label))

    @property
    def num_points(self) -> int:
        return int(self.values.shape[0])

    @property
    def sigma_known(self) -> bool:
        return self.sigma is not None

    @property
    def m(self) -> onp.ndarray:
        s = onp.sin(self.theta_m)
        return onp.stack([s * onp.cos(self.phi_m), s * onp.sin(self.phi_m), onp.cos(self.theta_m)], -1)


def _columns_of(data) -> tuple:
    return ("R_1w", "R_2w") if isinstance(data, HallData) else data.columns


def _values_of(data) -> onp.ndarray:
    return onp.stack([data.r_1w, data.r_2w], -1) if isinstance(data, HallData) else data.values


def _sigma_of(data):
    if not data.sigma_known:
        return None
    return onp.stack([data.sigma_1w, data.sigma_2w], -1) if isinstance(data, HallData) else data.sigma


# ---------------------------------------------------------------------------------------------
# Forward models and residuals (pure, jit/vmap/grad-friendly in the parameter dict).


@dataclasses.dataclass(frozen=True)
class _Static:
    """What the compiled residuals and optimizer are specialized on (hashable); data and bounds are traced."""

    kinds: tuple  # per data set: ("hall", orders) or ("fields", columns, model)
    free: tuple
    transform: tuple
    max_steps: int = 200
    gtol: float = 1e-9
    ftol: float = 1e-13
    report_every: int = 0


def _field_predictions(params, block, columns, model):
    """(N, K) predictions of a FieldData block: B^s = b(M) j [T] or xi(M) [1]."""
    torque = eqx.tree_at(
        lambda t: (t.alpha, t.j_ex, t.tau, t.mass_ratio), block["torque"],
        (params["alpha"], params["j_ex"], params["tau"], params["mass_ratio"]),
    )
    out = effective_fields(block["magnet"], torque, block["m"], block["rho0"], methods=(model,))
    fields = out.exact if model == "exact" else out.strong_exchange
    table = {
        "B_DL": fields.damping_like_per_current * block["current"],
        "B_FL": fields.field_like_per_current * block["current"],
        "xi_DL": fields.damping_like_efficiency,
        "xi_FL": fields.field_like_efficiency,
    }
    return jnp.stack([table[c] for c in columns], -1)


def predictions(params, blocks, static):
    """Model values (N, K) of every data set (list), from a full parameter dict."""
    out = []
    for kind, block in zip(static.kinds, blocks):
        if kind[0] == "hall":
            hall = {k: params[k] for k in HALL_PARAMETERS}
            if kind[1] == "all":
                out_all = harmonic_hall_all_orders(hall, block["settings"])
                r_1w, r_2w = out_all.r_1w, out_all.r_2w
            else:
                r_1w, r_2w = harmonic_hall_forward(hall, block["settings"])
            out.append(jnp.stack([r_1w + params["r_1w_offset"], r_2w + params["r_2w_offset"]], -1))
        else:
            out.append(_field_predictions(params, block, kind[1], kind[2]))
    return out


def _residuals(params, blocks, static):
    """Whitened residuals (prediction - value)/sigma of every data set, concatenated (N_total,)."""
    return jnp.concatenate(
        [((p - b["values"]) / b["sigma"]).ravel() for p, b in zip(predictions(params, blocks, static), blocks)]
    )


def _loss(u, data, static):
    blocks, box = data
    r = _residuals(to_physical(u, box, static), blocks, static)
    return 0.5 * jnp.mean(r * r)


def _run_one(u0, data, static):
    """One L-BFGS run from u0 (p,): (u, loss, steps, status, trace (max_steps,)), jaxsot.fit's optimizer."""
    return minimize(functools.partial(_loss, data=data, static=static), u0, static)


@functools.partial(jax.jit, static_argnums=(2,))
def _run_batched(u0, data, static):
    return jax.vmap(_run_one, in_axes=(0, None, None))(u0, data, static)


@functools.partial(jax.jit, static_argnums=(2,))
def _residuals_and_jacobian(x, data, static):
    """Whitened residuals (N,) and their Jacobian (N, p) in the physical free parameters x."""
    blocks, box = data
    fun = lambda z: _residuals(free_to_params(z, box, static), blocks, static)
    return fun(x), jax.jacfwd(fun)(x)


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


def _hold_last(trace, losses):
    """Traces (restarts, max_steps) without NaN: after a run stops its final loss repeats (inf for a run whose
    start was not finite)."""
    trace = onp.array(trace, float)
    for row, final in zip(trace, onp.asarray(losses, float)):
        finite = onp.flatnonzero(onp.isfinite(row))
        fill = row[finite[-1]] if finite.size else (final if math.isfinite(final) else math.inf)
        row[(finite[-1] + 1) if finite.size else 0:] = fill
    return trace


def _x_of_u(u, lower, upper, transform):
    """Physical x (p,) and dx/du (p,) of unconstrained u (NumPy; the same map as `to_physical`)."""
    # The logistic function without overflow for large |u| (exp(-u) overflows below u ~ -709).
    u = onp.asarray(u, float)
    t = onp.where(u >= 0.0, 1.0 / (1.0 + onp.exp(-onp.abs(u))), onp.exp(-onp.abs(u)) / (1.0 + onp.exp(-onp.abs(u))))
    x, dxdu = onp.empty_like(t), onp.empty_like(t)
    for i, kind in enumerate(transform):
        if kind:
            a, b = math.log(abs(lower[i])), math.log(abs(upper[i]))
            x[i] = kind * math.exp(a + (b - a) * t[i])
            dxdu[i] = x[i] * (b - a) * t[i] * (1.0 - t[i])
        else:
            x[i] = lower[i] + (upper[i] - lower[i]) * t[i]
            dxdu[i] = (upper[i] - lower[i]) * t[i] * (1.0 - t[i])
    return x, dxdu


def _levenberg_marquardt(u, evaluate, lower, upper, transform, max_steps, tol):
    """Levenberg-Marquardt in the unconstrained coordinates u (bounds hold by construction).

    evaluate(x) -> (whitened residuals (N,), Jacobian (N, p) in x), one compiled function shared with the
    standard errors. Step (A + lam diag A) du = -g with A = J_u^T J_u, g = J_u^T r, J_u = J_x dx/du; a step is
    kept when chi^2 = |r|^2 falls (lam /= 3), else lam *= 4. Converged when the undamped Gauss-Newton step
    would lower chi^2 by less than `tol` (chi^2 units: the point is within ~sqrt(tol) standard errors of the
    minimum of the linearized problem). Returns (u, loss = chi^2/(2N), steps, status as _STATUS, trace).
    """
    u = onp.asarray(u, float)
    trace = onp.full((max_steps,), onp.nan)
    x, dxdu = _x_of_u(u, lower, upper, transform)
    r, jx = evaluate(x)
    if not (onp.all(onp.isfinite(r)) and onp.all(onp.isfinite(jx))):
        return u, math.inf, 0, 3, trace
    chi2, lam, status, step = float(r @ r), 1e-3, 2, 0
    for step in range(max_steps):
        trace[step] = 0.5 * chi2 / r.size
        j = jx * dxdu[None, :]
        gauss_newton = onp.linalg.lstsq(j, -r, rcond=None)[0]
        if chi2 - float(onp.sum((r + j @ gauss_newton) ** 2)) <= tol:
            status = 0
            break
        g, a = j.T @ r, j.T @ j
        diag = onp.maximum(onp.diag(a), 1e-12 * max(float(onp.max(onp.diag(a))), 1e-300))
        accepted = False
        while lam <= 1e12:
            delta = onp.linalg.solve(a + lam * onp.diag(diag), -g)
            x_new, dxdu_new = _x_of_u(u + delta, lower, upper, transform)
            r_new, jx_new = evaluate(x_new)
            chi2_new = float(r_new @ r_new) if onp.all(onp.isfinite(r_new)) and onp.all(onp.isfinite(jx_new)) else math.inf
            if chi2_new < chi2:
                accepted = True
                break
            lam *= 4.0
        if not accepted:
            status = 4
            break
        decrease = chi2 - chi2_new
        u, dxdu, r, jx, chi2, lam = u + delta, dxdu_new, r_new, jx_new, chi2_new, max(lam / 3.0, 1e-12)
        if decrease <= 1e-15 * chi2:
            status = 1
            break
    else:
        step = max_steps
    return u, 0.5 * chi2 / r.size, step + (status != 2), status, trace


# ---------------------------------------------------------------------------------------------
# Set-up: parameters, guesses, bounds, blocks.


def _check_names(what, names):
    bad = [n for n in names if n not in HALL_FIT_PARAMETERS]
    if bad:
        raise ValueError(f"{what} names {bad[0]!r}; allowed: {', '.join(HALL_FIT_PARAMETERS)}")


def _as_list(data, settings):
    if isinstance(data, (HallData, FieldData)):
        data = [data]
    elif isinstance(data, tuple) and len(data) == 2 and settings is not None:
        data = [HallData.from_settings(data[0], data[1], settings, label="hall")]
    data = list(data) if isinstance(data, (list, tuple)) else None
    if not data or not all(isinstance(d, (HallData, FieldData)) for d in data):
        raise ValueError(
            "data must be a HallData, a FieldData, a list of them, or (r_1w, r_2w) with settings = a jaxsot.HallSettings"
        )
    return data


def default_free(data) -> tuple:
    """The parameters `fit_harmonic_hall` fits when free is None, for a list of HallData / FieldData."""
    has_hall = any(isinstance(d, HallData) for d in data)
    free = ("alpha", "j_ex", "tau") + (("anisotropy_field", "r_ahe", "r_phe") if has_hall else ())
    if has_hall and all(_in_plane(d) for d in data if isinstance(d, HallData)):
        # In-plane magnets: the thermal (anomalous Nernst / spin Seebeck) term R_ANE M_x has the angular
        # dependence of the damping-like term (cos phi): leaving it out would bias B_DL.
        free = free + ("r_ane",)
    return free


def _in_plane(data) -> bool:
    """Whether a HallData's easy axis lies in the film plane (|u_z| < 0.5): an in-plane magnet."""
    u = onp.asarray(data.easy_axis, float)
    return abs(u[2]) < 0.5 * float(onp.linalg.norm(u))


def _default_guess(data) -> dict:
    """Starting values: jaxsot.fit's DEFAULT_GUESS for the electrons, HALL_DEFAULTS, and scales from the data."""
    # anisotropy_field and r_ahe = 0 are placeholders: without a Hall curve nothing depends on them.
    guess = {**DEFAULT_GUESS, **HALL_DEFAULTS, "anisotropy_field": 0.0, "r_ahe": 0.0, "r_1w_offset": 0.0, "r_2w_offset": 0.0}
    hall = [d for d in data if isinstance(d, HallData)]
    if hall:
        r_1w = onp.concatenate([d.r_1w for d in hall])
        top = float(onp.max(onp.abs(r_1w)))
        # R_1w ~ r_ahe M_z: the largest |R_1w| with the sign of the mean (refined by least squares later).
        guess["r_ahe"] = math.copysign(max(top, 1e-12), float(onp.mean(r_1w)) or 1.0)
        first = hall[0]
        u = onp.asarray(first.easy_axis) / onp.linalg.norm(first.easy_axis)
        b_max = float(max(onp.max(onp.abs(d.field)) for d in hall))
        # Perpendicular magnets: B_K,eff = B_K - mu0 M_s above the largest in-plane field; in-plane magnets: small.
        guess["anisotropy_field"] = first.ms_tesla + 2.0 * b_max if abs(u[2]) > 0.5 else 0.05
    return guess


def _default_bounds(name, guess, data) -> tuple:
    hall = [d for d in data if isinstance(d, HallData)]
    r_1w = max([float(onp.max(onp.abs(d.r_1w))) for d in hall] or [1.0])
    r_2w = max([float(onp.max(onp.abs(d.r_2w))) for d in hall] or [1.0])
    if name in ("alpha", "j_ex", "mass_ratio"):
        return tuple(sorted((guess / 3.0, guess * 3.0)))
    if name == "tau":
        return tuple(sorted((guess / 10.0, guess * 10.0)))
    if name in ("anisotropy_field", "r_ahe") and guess != 0.0:
        return tuple(sorted((guess / 10.0, guess * 10.0)))
    b_max = max([float(onp.max(onp.abs(d.field))) for d in hall] or [1.0]) or 1.0
    scale = {"r_phe": 3.0 * r_1w, "r_1w_offset": 3.0 * r_1w, "r_ohe": 3.0 * r_1w / b_max, "r_ane": 3.0 * r_2w, "r_2w_offset": 3.0 * r_2w,
             "oersted_field": 0.1, "anisotropy_field": 10.0, "r_ahe": 3.0 * r_1w}[name]
    scale = max(scale, 2.0 * abs(guess), 1e-12)
    return (guess - scale, guess + scale)


def _depends(data) -> set:
    names = set(MICROSCOPIC)
    if any(isinstance(d, HallData) for d in data):
        names |= set(HALL_FIT_PARAMETERS)
    return names


def _bands(values, data, model):
    """Occupied bands per data set at `values` (exact model; `jaxsot.hall_bands`), () for strong exchange."""
    if model != "exact":
        return [() for _ in data]
    return [hall_bands({k: values[k] for k in HALL_PARAMETERS}, d.fermi_energy) for d in data]


def _settle_box(values, data, model, free, lower, upper, given):
    """Bands at the guess; narrow default (not given) bounds of alpha, j_ex, mass_ratio until every corner of
    the box has the same occupied bands (the compiled exact model is specialized on them)."""
    try:
        bands = _bands(values, data, model)
    except ValueError as error:
        raise ValueError(f"at the guess: {error}") from None
    varied = [i for i, n in enumerate(free) if n in ("alpha", "j_ex", "mass_ratio")]
    if model != "exact" or not varied:
        return bands
    for _ in range(40):
        failure = None
        for corner in range(2 ** len(varied)):
            point = dict(values)
            for bit, i in enumerate(varied):
                point[free[i]] = upper[i] if (corner >> bit) & 1 else lower[i]
            try:
                ok = _bands(point, data, model) == bands
                message = f"the occupied bands differ at {_show(point, free)} from those at the guess {bands}"
            except ValueError as error:
                ok, message = False, f"at {_show(point, free)}: {error}"
            if not ok:
                failure = (point, message)
                break
        if failure is None:
            return bands
        point, message = failure
        adjustable = [i for i in varied if not given[i] and point[free[i]] != values[free[i]]]
        if not adjustable:
            raise ValueError(f"{message}; allowed: bounds within one band regime (narrow the bounds of alpha, j_ex, mass_ratio)")
        for i in adjustable:
            g = values[free[i]]
            if point[free[i]] == lower[i]:
                lower[i] = math.copysign(math.sqrt(abs(lower[i] * g)), g) if is_log_scale(lower[i], upper[i]) else 0.5 * (lower[i] + g)
            else:
                upper[i] = math.copysign(math.sqrt(abs(upper[i] * g)), g) if is_log_scale(lower[i], upper[i]) else 0.5 * (upper[i] + g)
    raise ValueError(message)


def _show(point, names):
    return "(" + ", ".join(f"{n} = {point[n]:.4g}" for n in names) + ")"


def _blocks(data, model, num, bands, sigmas, values, dtype, orders="first"):
    """The traced data of every data set (pytrees) and the static kinds."""
    blocks, kinds = [], []
    for d, b, sigma in zip(data, bands, sigmas):
        observed = jnp.asarray(_values_of(d), dtype)
        if isinstance(d, HallData):
            blocks.append({"settings": d.settings(model=model, num=num, bands=b if model == "exact" else None),
                           "values": observed, "sigma": jnp.asarray(sigma, dtype)})
            kinds.append(("hall", orders))
        else:
            efield = jnp.asarray([d.rho0 * REFERENCE_CURRENT * 1e-9, 0.0], dtype)
            torque = SpinOrbitTorque(
                jnp.asarray(values["alpha"], dtype), jnp.asarray(values["j_ex"], dtype), jnp.asarray(d.fermi_energy, dtype), efield,
                jnp.asarray(values["tau"], dtype), mass_ratio=jnp.asarray(values["mass_ratio"], dtype), method=model, num=num,
            )
            magnet = Magnet(jnp.asarray(d.ms_tesla, dtype), jnp.asarray(d.thickness, dtype), jnp.asarray(0.0, dtype))
            blocks.append({"torque": torque, "magnet": magnet, "m": jnp.asarray(d.m, dtype), "rho0": jnp.asarray(d.rho0, dtype),
                           "current": jnp.asarray(d.current_density, dtype), "values": observed, "sigma": jnp.asarray(sigma, dtype)})
            kinds.append(("fields", d.columns, model))
    return tuple(blocks), tuple(kinds)


# ---------------------------------------------------------------------------------------------
# Result.


@dataclasses.dataclass(frozen=True)
class HallFitResult:
    """Outcome of `fit_harmonic_hall` (plain Python / NumPy; `to_dict` is strict-JSON-safe).

    Fields:
        parameters: {name: value} for every name of HALL_FIT_PARAMETERS (fixed ones as given) [HALL_FIT_UNITS].
        free: fitted names. standard_errors: {free name: SE} (inf: not determined). identifiable: {free: bool}.
        analysed: free electron parameters analysed by name in log coordinates (the magnet and Hall
            parameters profiled out of that analysis; their errors come from the full covariance).
        covariance, correlation: (p, p) over `free` (physical units).
        physical: the model's own combinations of the analysed parameters (J tau, m alpha, alpha/J, ...; rational
            exponents) with "combination", "label", "exponents", "value", "relative_error", "determined".
        directions: principal directions of the profiled Gauss-Newton matrix of `analysed` (strongest first):
            {"combination" (e.g. 'j_ex tau'), "exponents", "value", "relative_error", "determined", "known"}.
        condition_number: of that matrix.
        derived: {name: {"value", "standard_error", "unit"}}: the fields B_FL^s, B_DL^s per 1e11 A/m^2 and the
            efficiencies at the first data set's E_F and easy axis (M = z if the axis is +-y), and J tau.
        chi2, dof, reduced_chi2: at the optimum with the noise used. noise_known: every data set had sigma.
        noise: {label: {column: sigma used (a number when uniform, else a list)}}.
        predictions, residuals (whitened): one (N, K) array per data set; columns: per data set.
        restarts: per restart {"start", "end", "loss", "steps", "status"}; best: its index.
        trace: (restarts, max_steps) loss per iteration (after a run stops its final loss repeats: no NaN). bounds: {free: (lower, upper)}.
        notes: sentences (identifiability, bounds, convergence, chi^2). settings: model, num, bands, ...
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
        for name in HALL_FIT_PARAMETERS:
            value, unit = self.parameters[name], HALL_FIT_UNITS[name]
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
                lines.append(f"  {d['combination']:<34} = {value} relative error {rel:>9}  {flag}  [{d['label']}]")
        if self.directions:
            lines.append(f"principal directions of {', '.join(self.analysed)} (log axes" +
                         (f"; {', '.join(profiled)} profiled out):" if profiled else "):"))
            for d in self.directions:
                flag = "determined" if d["determined"] else "NOT determined"
                rel = f"{d['relative_error']:.3g}" if math.isfinite(d["relative_error"]) else "inf"
                value = f"{d['value']:<11.6g}" if d["determined"] and math.isfinite(d["value"]) else f"{'--':<11}"
                known = f"  [{d['known']}]" if d["known"] else ""
                lines.append(f"  {d['combination']:<34} = {value} relative error {rel:>9}  {flag}{known}")
        if self.derived:
            where = self.settings.get("derived_at", "")
            lines.append(f"derived ({where}):")
            for name, item in self.derived.items():
                se = item["standard_error"]
                text = f"+- {se:.3g}" if math.isfinite(se) else "(not determined)"
                lines.append(f"  {name:<24} = {item['value']:12.6g} {text} {item['unit']}")
        lines.append(f"chi^2 = {self.chi2:.4g}, dof = {self.dof}, reduced chi^2 = {self.reduced_chi2:.4g} "
                     f"({'known noise' if self.noise_known else 'noise estimated from the residuals'})")
        return "\n".join(lines)

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
        out["units"] = dict(HALL_FIT_UNITS)
        out["non_finite_values"] = found
        return out


# ---------------------------------------------------------------------------------------------
# The fit driver.


def fit_harmonic_hall(
    data,
    settings: HallSettings | None = None,
    *,
    free=None,
    guess=None,
    bounds=None,
    model: str | None = None,
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
        model: "exact" (Fermi-contour fluxes, default) or "strong_exchange". num: rays per contour.
        optimizer: "lm" (default): Levenberg-Marquardt in the reparameterized coordinates, on the jitted
            residuals and Jacobian that also give the standard errors (one compilation), restarts one after
            the other; "lbfgs": optax L-BFGS with the restarts batched with vmap (as `jaxsot.fit.fit`; a
            second, larger compilation). Either way the best point is polished by Levenberg-Marquardt.
        restarts: runs; the first from the (refined) guess, the others with the electron parameters seeded
            uniform in their (log-)box. max_steps: iterations per run. gtol, ftol: L-BFGS criteria (as
            `jaxsot.fit.fit`, ftol default 1e-13); for "lm", ftol is the chi^2 decrease of the Gauss-Newton
            step below which a run stops (default 1e-8).
        rcond, max_relative_error: identifiability thresholds (`jaxsot.fit.analyze`).
        report_every: print each restart's loss every so many iterations (0: quiet).
        orders: "first" (default): `jaxsot.harmonic_hall_forward`, first order in the current (fast);
            "all": `jaxsot.harmonic_hall_all_orders`, every order (R_1w with its O(j0^2) part, R_2w beyond
            linear response), ~30 x 4 field evaluations per point instead of one (16 phases).
    Returns: HallFitResult. Warns `IdentifiabilityWarning` naming the combinations the data do not fix
    (e.g. 'j_ex tau^-1') and `FitWarning` for bounds, convergence and chi^2; the sentences are in `notes`.
    Fits need float64 (jax_enable_x64).
    """
    data = _as_list(data, settings)
    if model is None:
        model = settings.model if isinstance(settings, HallSettings) else "exact"
    if model not in ("exact", "strong_exchange"):
        raise ValueError(f"model = {model!r} is not allowed; allowed: 'exact', 'strong_exchange'")
    num = check_count("num", num, minimum=8)
    if orders not in HALL_ORDERS:
        raise ValueError(f"orders = {orders!r} is not allowed; allowed: {', '.join(map(repr, HALL_ORDERS))}")
    if optimizer not in HALL_OPTIMIZERS:
        raise ValueError(f"optimizer = {optimizer!r} is not allowed; allowed: {', '.join(map(repr, HALL_OPTIMIZERS))}")
    if ftol is None:
        ftol = _LM_TOL if optimizer == "lm" else 1e-13
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

    depends = _depends(data)
    has_hall = any(isinstance(d, HallData) for d in data)
    guess = dict(guess or {})
    _check_names("guess", guess)
    values = _default_guess(data)
    for name, value in guess.items():
        check_finite(f"guess[{name!r}]", value)
        values[name] = float(value)
    for name in ("j_ex", "tau", "mass_ratio"):
        check_range(f"guess[{name!r}]", values[name], low=0.0, low_inclusive=False, unit=HALL_FIT_UNITS[name])
    if values["alpha"] == 0.0:
        raise ValueError("guess['alpha'] = 0 eV nm; allowed: a non-zero Rashba coupling (either sign)")
    if free is None:
        free = default_free(data)
    free = (free,) if isinstance(free, str) else tuple(free)
    _check_names("free", free)
    if not free or len(set(free)) != len(free):
        raise ValueError(f"free = {free!r}; allowed: distinct names from {', '.join(HALL_FIT_PARAMETERS)}")
    unused = [n for n in free if n not in depends]
    if unused:
        raise ValueError(f"free names {unused[0]!r}, on which no data set depends (the Hall parameters need HallData); "
                         f"allowed: {', '.join(n for n in HALL_FIT_PARAMETERS if n in depends)}")
    free = tuple(n for n in HALL_FIT_PARAMETERS if n in free)
    bounds = dict(bounds or {})
    _check_names("bounds", bounds)
    lower, upper, given = [], [], []
    for name in free:
        if name in bounds:
            lo, hi = (float(b) for b in bounds[name])
            check_finite(f"bounds[{name!r}]", [lo, hi])
            if not lo < values[name] < hi:
                raise ValueError(f"bounds[{name!r}] = ({lo:g}, {hi:g}) {HALL_FIT_UNITS[name]} do not contain the guess "
                                 f"{values[name]:g}; allowed: lower < guess < upper")
            if name in ("j_ex", "tau", "mass_ratio") and not lo > 0.0:
                raise ValueError(f"bounds[{name!r}] = ({lo:g}, {hi:g}); allowed: lower > 0 for {name}")
        else:
            lo, hi = _default_bounds(name, values[name], data)
        lower.append(lo)
        upper.append(hi)
        given.append(name in bounds)
    for name in bounds:
        if name not in free:
            raise ValueError(f"bounds for {name!r}: it is not free; allowed: bounds for {', '.join(free)}")
    bands = _settle_box(values, data, model, free, lower, upper, given)

    total = sum(d.num_points * len(_columns_of(d)) for d in data)
    noise_known = all(d.sigma_known for d in data)
    if total < len(free) + (0 if noise_known else 1):
        raise ValueError(f"the data have {total} values for {len(free)} free parameters; allowed: more values than parameters")
    dtype = jnp.result_type(float)
    notes = []
    if dtype != jnp.float64:
        notes.append((FitWarning, "JAX runs in float32: fits need float64 (switch on JAX's jax_enable_x64 option before "
                                  "creating arrays); gradients and standard errors are unreliable in float32"))
    sigmas = [_sigma_of(d) if d.sigma_known else onp.broadcast_to(column_scale(_values_of(d)), _values_of(d).shape) for d in data]
    blocks, kinds = _blocks(data, model, num, bands, sigmas, values, dtype, orders)
    static = _Static(kinds=kinds, free=free, transform=tuple(transform_kind(lo, hi) for lo, hi in zip(lower, upper)),
                     max_steps=max_steps, gtol=float(gtol), ftol=float(ftol), report_every=report_every)

    def box_with(vals):
        return {"lower": jnp.asarray(lower, dtype), "upper": jnp.asarray(upper, dtype),
                "fixed": {n: jnp.asarray(vals[n], dtype) for n in HALL_FIT_PARAMETERS if n not in free}}

    box = box_with(values)

    def with_sigmas(sigs):
        return tuple({**b, "sigma": jnp.asarray(s, dtype)} for b, s in zip(blocks, sigs)), box

    info = []
    start = _linear_start(values, free, lower, upper, guess, with_sigmas(sigmas), static, dtype, info)
    rng = onp.random.default_rng(seed)
    u_guess = to_unconstrained(start, free, lower, upper)
    # Restarts explore the electrons' box; the magnet and Hall parameters, which R_1w pins down, start at the
    # least-squares start (random anisotropy fields would land on other magnetization states).
    randomized = onp.array([n in MICROSCOPIC for n in free])
    starts = [u_guess]
    for t in rng.uniform(0.05, 0.95, (restarts - 1, len(free))):
        starts.append(onp.where(randomized, onp.log(t) - onp.log1p(-t), u_guess))
    u0 = onp.stack(starts)
    data_now = with_sigmas(sigmas)

    def evaluate(x):
        return tuple(onp.asarray(a) for a in _residuals_and_jacobian(jnp.asarray(x, dtype), data_now, static))

    box_args = (onp.asarray(lower), onp.asarray(upper), static.transform)
    if optimizer == "lm":
        runs = [_levenberg_marquardt(u0[i], evaluate, *box_args, max_steps, ftol) for i in range(restarts)]
        u, losses, steps, status, trace = (onp.stack(z) for z in zip(*runs))
    else:
        u, losses, steps, status, trace = (onp.asarray(z) for z in _run_batched(jnp.asarray(u0, dtype), data_now, static))
    trace = _hold_last(trace, losses)
    if not onp.any(onp.isfinite(losses)):
        raise ValueError("every restart gave a non-finite loss (an equilibrium or a Fermi contour did not converge); "
                         "narrow the bounds or give a better guess")
    best = int(onp.nanargmin(onp.where(onp.isfinite(losses), losses, onp.nan)))
    x_start = onp.stack([_x_of_u(v, *box_args)[0] for v in u0])
    x_end = onp.stack([_x_of_u(v, *box_args)[0] for v in u])
    restart_rows = [{"start": dict(zip(free, map(float, x_start[i]))), "end": dict(zip(free, map(float, x_end[i]))),
                     "loss": float(losses[i]), "steps": int(steps[i]), "status": _STATUS[int(status[i])]} for i in range(restarts)]
    # Gauss-Newton polish of the best point (for L-BFGS, whose line search stalls on the stiff directions
    # far below one standard error), and the refits with the estimated noise.
    u_best, _, _, final_status, _ = _levenberg_marquardt(u[best], evaluate, *box_args, max_steps, _LM_TOL)
    if not noise_known:
        # Self-consistent weights: sigma per column from the residuals (dof-corrected), refit from the best point.
        for _ in range(_NOISE_ROUNDS):
            residual, _ = evaluate(_x_of_u(u_best, *box_args)[0])
            previous = sigmas
            sigmas = _estimated_sigmas(data, sigmas, residual, len(free))
            data_now = with_sigmas(sigmas)
            u_best, _, _, final_status, _ = _levenberg_marquardt(u_best, evaluate, *box_args, max_steps, _LM_TOL)
            change = max(float(onp.max(onp.abs(onp.asarray(a) / onp.asarray(b) - 1.0))) for a, b in zip(sigmas, previous))
            if change < 1e-3:
                break
        if change >= 1e-3:
            notes.append((FitWarning, f"the noise estimate still changed by {change:.2g} after {_NOISE_ROUNDS} refits"))
    if final_status >= 2:
        notes.append((FitWarning, f"the Gauss-Newton polish of the best point stopped: {_STATUS[final_status]} "
                                  "(raise max_steps, or the loss is not smooth there)"))
    x_best = _x_of_u(u_best, *box_args)[0]
    residual, jacobian = evaluate(x_best)
    if not onp.all(onp.isfinite(residual)) or not onp.all(onp.isfinite(jacobian)):
        raise ValueError("the model is not finite at the best fit (an equilibrium did not converge at some rows); "
                         "check the branch and the field range, or narrow the bounds")
    chi2 = float(residual @ residual)
    dof = int(total - len(free))
    reduced = chi2 / dof if dof > 0 else math.nan
    params = {**values, **{n: float(v) for n, v in zip(free, x_best)}}
    analysis = _uncertainty(jacobian, x_best, free, lower, upper, rcond, max_relative_error)
    if not any(d.sigma_known for d in data) and dof > 0:
        analysis["covariance"] = analysis["covariance"] * reduced
        analysis["standard_errors"] = analysis["standard_errors"] * math.sqrt(reduced)
    derived, derived_at = _derived(params, free, analysis, data, model, num, bands, dtype)
    _notes(notes, analysis, free, params, lower, upper, noise_known, reduced, dof)
    _separability_notes(notes, jacobian, free)
    _model_note(notes, model, free, params, lower, upper,
                poor=noise_known and dof > 0 and reduced > 1.0 + 4.0 * math.sqrt(2.0 / dof))

    predicted, residual_blocks, noise_used, offset = [], [], {}, 0
    for d, s, label in zip(data, sigmas, labels):
        size = d.num_points * len(_columns_of(d))
        block = residual[offset: offset + size].reshape(d.num_points, -1)
        residual_blocks.append(block)
        offset += size
        s = onp.asarray(s)
        predicted.append(_values_of(d) + block * s)  # r = (prediction - value)/sigma
        noise_used[label] = {c: float(s[0, j]) if onp.all(s[:, j] == s[0, j]) else s[:, j].tolist() for j, c in enumerate(_columns_of(d))}
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
        columns=[list(_columns_of(d)) for d in data],
        labels=labels,
        restarts=restart_rows,
        best=best,
        trace=onp.asarray(trace),
        bounds={n: (lo, hi) for n, lo, hi in zip(free, lower, upper)},
        notes=tuple(info + [text for _, text in notes]),
        settings={"model": model, "orders": orders, "optimizer": optimizer, "num": num, "bands": [list(b) for b in bands], "restarts": restarts, "max_steps": max_steps,
                  "seed": seed, "derived_at": derived_at, "fermi_energies": [d.fermi_energy for d in data]},
    )


def _linear_start(values, free, lower, upper, guess, data, static, dtype, info) -> dict:
    """The first restart's start: linear least squares for the free linear Hall coefficients without a given guess,
    over a scan of the anisotropy field (when free without a given guess); returns the updated values."""
    linear = [i for i, n in enumerate(free) if n in LINEAR and n not in guess]
    scan = "anisotropy_field" in free and "anisotropy_field" not in guess
    if not linear and not scan:
        return values
    x0 = onp.array([values[n] for n in free])
    candidates = [None]
    if scan:
        i = free.index("anisotropy_field")
        lo, hi = lower[i], upper[i]
        t = onp.linspace(0.04, 0.96, 8)
        grid = onp.exp(onp.log(lo) + (onp.log(hi) - onp.log(lo)) * t) if is_log_scale(lo, hi) else lo + (hi - lo) * t
        candidates = [x0[i]] + list(grid)
    best = None
    for b_k in candidates:
        x = x0.copy()
        if b_k is not None:
            x[free.index("anisotropy_field")] = b_k
        r, jac = (onp.asarray(a) for a in _residuals_and_jacobian(jnp.asarray(x, dtype), data, static))
        if not (onp.all(onp.isfinite(r)) and onp.all(onp.isfinite(jac))):
            continue
        if linear:
            # Residuals are affine in the linear coefficients: one Gauss-Newton step is their exact least squares.
            step = onp.linalg.lstsq(jac[:, linear], -r, rcond=None)[0]
            x[linear] += step
            r = r + jac[:, linear] @ step
        cost = float(r @ r)
        if best is None or cost < best[0]:
            best = (cost, x)
    if best is None:
        return values
    x = best[1]
    out = dict(values)
    for i, name in enumerate(free):
        # Keep the start strictly inside the box (a start on a bound has no gradient in the sigmoid coordinates).
        lo, hi = lower[i], upper[i]
        margin = 1e-3 * (hi - lo)
        out[name] = float(min(max(x[i], lo + margin), hi - margin))
    moved = [n for i, n in enumerate(free) if i in linear or (scan and n == "anisotropy_field")]
    info.append("first start from linear least squares in " + ", ".join(moved) + (" (anisotropy field scanned over its box)" if scan else "")
                + ": " + _show(out, moved))
    return out


def _estimated_sigmas(data, sigmas, residual, num_free):
    """Per-column noise of the data sets without sigma, sigma_c^2 = RSS_c/(N_c - p N_c/N); others keep theirs."""
    total = residual.size
    out, offset = [], 0
    for d, s in zip(data, sigmas):
        shape = (d.num_points, len(_columns_of(d)))
        block = residual[offset: offset + shape[0] * shape[1]].reshape(shape) * onp.asarray(s)
        offset += shape[0] * shape[1]
        if d.sigma_known:
            out.append(s)
            continue
        out.append(onp.broadcast_to(column_noise(block, num_free, total, _values_of(d)), shape))
    return out


def _uncertainty(jacobian, x, free, lower, upper, rcond, max_relative_error) -> dict:
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
    electrons = onp.array([n in MICROSCOPIC for n in free]) & log
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
    (alpha, j_ex, tau, mass_ratio) put into the torque `template` (`jaxsot.effective_fields`)."""
    torque = eqx.tree_at(lambda t: (t.alpha, t.j_ex, t.tau, t.mass_ratio), template, tuple(micro))
    out = effective_fields(magnet, torque, m, rho0, methods=(model,))
    f = out.exact if model == "exact" else out.strong_exchange
    per = REFERENCE_CURRENT * 1e3  # T/(A/m^2) -> mT per 1e11 A/m^2
    return jnp.stack([f.field_like_per_current[0] * per, f.damping_like_per_current[0] * per,
                      f.field_like_efficiency[0], f.damping_like_efficiency[0]])


def _derived(params, free, analysis, data, model, num, bands, dtype):
    """Fields per 1e11 A/m^2 [mT], efficiencies and J tau [eV fs] at the first data set, with propagated SEs."""
    d = data[0]
    if isinstance(d, HallData):
        u = onp.asarray(d.easy_axis) / onp.linalg.norm(d.easy_axis)
    else:
        u = d.m[0]
    if abs(u[1]) > 1.0 - 1e-6:
        u = onp.array([0.0, 0.0, 1.0])
    efield = jnp.asarray([d.rho0 * REFERENCE_CURRENT * 1e-9, 0.0], dtype)
    template = SpinOrbitTorque(params["alpha"], params["j_ex"], d.fermi_energy, efield, params["tau"],
                               mass_ratio=params["mass_ratio"], method=model, num=num)
    magnet = Magnet(d.ms_tesla, d.thickness, 0.0)
    m = jnp.asarray(u, dtype)[None, :]

    rho0 = jnp.asarray(d.rho0, dtype)

    def quantities(p):
        j_tau = p["j_ex"] * p["tau"]
        micro = jnp.asarray([p[n] for n in ("alpha", "j_ex", "tau", "mass_ratio")], dtype)
        return onp.concatenate([onp.asarray(_scalar_fields(template, magnet, m, rho0, micro, model)), [j_tau, HBAR / (2.0 * j_tau)]])

    # Central differences in the free electron parameters (the Hall and magnet parameters do not enter):
    # a forward-only compilation is ~3x cheaper than forward-mode through the contour solve, and the
    # contour is converged far below the 1e-5 relative step.
    value = quantities(params)
    gradient = onp.zeros((value.size, len(free)))
    for i, name in enumerate(free):
        if name in MICROSCOPIC:
            h = 1e-5 * abs(params[name])
            up, down = quantities({**params, name: params[name] + h}), quantities({**params, name: params[name] - h})
            gradient[:, i] = (up - down) / (2.0 * h)
    covariance, scale, null = analysis["covariance"], analysis["scale"], analysis["null_vectors"]
    names = ("B_FL per 1e11 A/m^2", "B_DL per 1e11 A/m^2", "xi_FL", "xi_DL", "j_ex tau", "hbar/(2 j_ex tau)")
    units = ("mT", "mT", "1 (film current density)", "1 (film current density)", "eV fs", "1 (= |B_DL/B_FL|)")
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
    where = f"M = ({u[0]:.3g}, {u[1]:.3g}, {u[2]:.3g}), E_F = {d.fermi_energy:g} eV, rho0 = {d.rho0:g} ohm m, {model}"
    if isinstance(d, HallData) and d.hm_thickness is not None:
        share = (d.hm_thickness / d.hm_resistivity) / (d.hm_thickness / d.hm_resistivity + d.thickness / d.rho0)
        where += (f"; heavy metal {d.hm_thickness:g} nm, {d.hm_resistivity:g} ohm m: j_HM/j = {d.rho0 / d.hm_resistivity:.4g}, "
                  f"{share:.1%} of the current")
    return out, where


def _notes(notes, analysis, free, params, lower, upper, noise_known, reduced, dof):
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
                      "fields B_FL and B_DL, and B_DL/B_FL = hbar/(2 J tau) in this model: fix some of alpha, j_ex, tau, "
                      "mass_ratio (free=) or add data at other Fermi energies"))
    for i, name in enumerate(free):
        lo, hi, x = lower[i], upper[i], params[name]
        position = math.log(x / lo) / math.log(hi / lo) if is_log_scale(lo, hi) else (x - lo) / (hi - lo)
        if position < 1e-3 or position > 1.0 - 1e-3:
            which = "lower" if position < 0.5 else "upper"
            notes.append((FitWarning, f"{name} = {x:.4g} {HALL_FIT_UNITS[name]} is at its {which} bound ({lo:g}, {hi:g}): widen the bounds"))
    if noise_known and dof > 0 and reduced > 1.0 + 4.0 * math.sqrt(2.0 / dof):
        notes.append((FitWarning, f"reduced chi^2 = {reduced:.3g} is well above 1 for {dof} degrees of freedom: the stated "
                                  "sigma is too small or the model does not describe the data"))


def _model_note(notes, model, free, params, lower, upper, poor=False):
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
    "oersted_field": "the Oersted field and the field-like field have the same symmetry (even in M, along y): "
                     "harmonic Hall data cannot tell them apart; fix oersted_field (from the current in the "
                     "non-magnetic layers) or the field-like parameters",
    "r_ohe": "the ordinary Hall term R_OHE B_z and the anomalous Hall term R_AHE M_z are separated only by how M_z "
             "and B_z differ over the sweep: add tilted-field sweeps (theta_H) across saturation, or fix r_ohe",
    "r_2w_offset": "a constant R_2w offset is separated from the torques and the thermal term only by their angle "
                   "dependence: sweep the full 360 deg of phi_H",
}
_SEPARATION = 0.999  # R^2 of a term's Jacobian column on the others above which it is reported inseparable


def _separability_notes(notes, jacobian, free):
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


# ---------------------------------------------------------------------------------------------
# The loss as a function (gradient checks, benchmarks) and synthetic data from the time-domain route.


def hall_loss(data, guess=None, *, model: str = "exact", num: int = 64):
    """The fit's loss as a pure, jitted function of a full parameter dict: loss(params) -> scalar.

    loss = mean(r^2)/2 over every value of every data set, r = (prediction - value)/sigma (sigma = 1 for
    data without sigma). The exact model's occupied bands are those at `guess` (full dict, defaults as
    `fit_harmonic_hall`). Differentiate with jax.grad (a dict of derivatives for all HALL_FIT_PARAMETERS).
    """
    data = _as_list(data, None)
    values = {**_default_guess(data), **(guess or {})}
    dtype = jnp.result_type(float)
    sigmas = [_sigma_of(d) if d.sigma_known else onp.ones(_values_of(d).shape) for d in data]
    blocks, kinds = _blocks(data, model, num, _bands(values, data, model), sigmas, values, dtype)
    static = _Static(kinds=kinds, free=(), transform=())
    # Module-level and compiled once per shape (a closure jitted here would compile on every call).
    return functools.partial(_hall_mean_square_loss, blocks=blocks, static=static)


@functools.partial(jax.jit, static_argnames=("static",))
def _hall_mean_square_loss(params, *, blocks, static):
    # Names added after a caller's dict was written (e.g. r_ohe) take their defaults.
    params = {**{n: 0.0 for n in ("r_1w_offset", "r_2w_offset")}, **HALL_DEFAULTS, **params}
    r = _residuals(params, blocks, static)
    return 0.5 * jnp.mean(r * r)


def synthesize_hall(
    params: dict,
    settings: HallSettings,
    *,
    noise: float = 0.0,
    sigma=None,
    known_noise: bool = True,
    seed: int = 0,
    route: str = "quasi-static",
    phases: int = 16,
    frequency: float = 1.5e7,
    gilbert: float = 1.0,
    periods: int = 2,
    settle_periods: int = 1,
    samples_per_period: int = 64,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    label: str = "synthetic",
) -> HallData:
    """Synthetic harmonic Hall data at every order in the current plus Gaussian noise.

    Two routes, both free of the first-order expansion of the fit's default forward model:
    route = "quasi-static" (default): `jaxsot.harmonic_hall_all_orders`, the macrospin equilibrium at
    each of `phases` current phases, Fourier-demodulated (milliseconds per field point);
    route = "time-domain": `jaxsot.lockin_harmonics`, the LLG integrated under j(t) = j0 sin(2 pi f t) and
    demodulated like a lock-in (~0.2 s per field point with strong-exchange torques, ~2 s with exact bands
    on a 2-core VM); at the default f = 15 MHz and gilbert = 1 its in-phase harmonics differ from the
    quasi-static ones by ~(w tau_r)^2 ~ 1e-6 relative (the magnet's lag).

    Args:
        params: {name: value} from HALL_FIT_PARAMETERS (alpha, j_ex, tau, anisotropy_field, r_ahe required;
            HALL_DEFAULTS and zero offsets otherwise).
        settings: `jaxsot.HallSettings`: field points, sample, model ("exact" / "strong_exchange" torque), num;
            its m_start is the start of the j = 0 energy descent.
        noise: standard deviation as a fraction of each column's peak-to-peak range, or
        sigma: (sigma_1w, sigma_2w) [ohm] absolute standard deviations (not both).
        known_noise: write the sigmas into the data (else the fit estimates them). seed: noise seed.
        route: "quasi-static" or "time-domain" (above). phases: current phases per period (quasi-static).
        frequency [Hz], gilbert, periods, settle_periods, samples_per_period, rtol, atol: `lockin_harmonics`
            (time-domain route only).
    Returns: HallData (label `label`). Raises ValueError when the equilibrium or the integration failed at
        some row (naming it), or for an unknown route.
    """
    if not isinstance(settings, HallSettings):
        raise ValueError(f"settings is a {type(settings).__name__}; allowed: jaxsot.HallSettings")
    _check_names("params", params)
    p = {**HALL_DEFAULTS, "r_1w_offset": 0.0, "r_2w_offset": 0.0, **params}
    missing = [n for n in ("alpha", "j_ex", "tau", "anisotropy_field", "r_ahe") if n not in p]
    if missing:
        raise ValueError(f"params is missing {missing}; required: alpha, j_ex, tau, anisotropy_field, r_ahe")
    check_range("noise", noise, low=0.0)
    if sigma is not None and noise:
        raise ValueError("noise and sigma are both given; allowed: one of them")
    seed = check_count("seed", seed, minimum=0)
    if route not in SYNTH_ROUTES:
        raise ValueError(f"route = {route!r} is not allowed; allowed: {', '.join(map(repr, SYNTH_ROUTES))}")
    if route == "quasi-static":
        out = harmonic_hall_all_orders({k: p[k] for k in HALL_PARAMETERS}, settings, phases=phases)
        success, r_1w, r_2w = out.converged, out.r_1w, out.r_2w
        failure = "the quasi-static equilibrium did not converge (the current switches the magnet, or raise phases)"
    else:
        r_1w, r_2w, success = _time_domain(p, settings, frequency, gilbert, periods, settle_periods, samples_per_period, rtol, atol)
        failure = "the LLG integration failed (raise max_steps)"
    if not bool(jnp.all(success)):
        bad = int(onp.flatnonzero(~onp.asarray(success))[0])
        raise ValueError(f"{failure} at row {bad} (phi_h = {float(settings.phi_h[bad]):.4g} rad, "
                         f"B = {float(settings.field[bad]):.4g} T); allowed: settings where it succeeds")
    r_1w = onp.asarray(r_1w) + p["r_1w_offset"]
    r_2w = onp.asarray(r_2w) + p["r_2w_offset"]
    if sigma is None:
        s_1w, s_2w = noise * onp.ptp(r_1w), noise * onp.ptp(r_2w)
    else:
        s_1w, s_2w = (float(s) for s in sigma)
    rng = onp.random.default_rng(seed)
    r_1w = r_1w + s_1w * rng.normal(size=r_1w.shape)
    r_2w = r_2w + s_2w * rng.normal(size=r_2w.shape)
    keep = known_noise and s_1w > 0.0 and s_2w > 0.0
    return HallData.from_settings(r_1w, r_2w, settings, sigma_1w=s_1w if keep else None, sigma_2w=s_2w if keep else None,
                                  label=label)


def _time_domain(p, settings, frequency, gilbert, periods, settle_periods, samples_per_period, rtol, atol):
    magnet = Magnet(settings.ms_tesla, settings.thickness, gilbert, anisotropy_field=p["anisotropy_field"],
                    easy_axis=settings.easy_axis, demag=settings.demag, external_field=settings.bias_field)
    efield = jnp.stack([settings.rho0 * settings.current_density * 1e-9, jnp.zeros_like(settings.rho0)])
    torque = SpinOrbitTorque(p["alpha"], p["j_ex"], settings.fermi_energy, efield, p["tau"], mass_ratio=p["mass_ratio"],
                             method=settings.model, num=settings.num, field_like=settings.field_like,
                             damping_like=settings.damping_like)
    signals = lockin_harmonics(
        magnet, torque, settings.phi_h, settings.field, theta_h=settings.theta_h, r_ahe=p["r_ahe"], r_phe=p["r_phe"],
        r_ane=p["r_ane"], oersted_field=p["oersted_field"], r_ohe=p["r_ohe"], frequency=frequency, periods=periods,
        settle_periods=settle_periods, samples_per_period=samples_per_period, m_start=settings.m_start, rtol=rtol, atol=atol,
    )
    return signals.r_1w, signals.r_2w, signals.success

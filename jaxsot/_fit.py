"""Parameter fitting by autodiff through the forward models (the engine behind `jaxsot.fit`).

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
- Transients after a field step at t = 0 (constant-tau rigid shift, PHYSICS.md "Ensembles"):
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
L-BFGS (zoom line search) or Adam, in a `lax.while_loop` with gradient / loss-change criteria;
restarts are batched with `jax.vmap`. Standard errors from the Gauss-Newton matrix J^T W J at
the optimum (W = 1/sigma^2; with unknown noise sigma is estimated per column from the residuals,
which is the reduced-chi^2 scaling), identifiability from its eigen-decomposition in log
coordinates, where a power-law combination such as eta = m alpha^2/(hbar^2 J) is a direction.
"""

import dataclasses
import functools
import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
import optax

from ._bands import energy, spin
from ._constants import CARRIER_CHARGE, ELECTRON_MASS, HBAR, HBAR2_OVER_2ME
from ._contour import occupied_bands
from ._model import RashbaFerromagnet
from ._validation import check_count, check_finite, check_range

PARAMETERS = ("alpha", "j_ex", "mass_ratio", "tau")
"""Names of the model parameters a fit can vary, in this order."""

PARAMETER_UNITS = {"alpha": "eV nm", "j_ex": "eV", "mass_ratio": "1", "tau": "fs"}

DEFAULT_GUESS = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}
"""Starting values when none is given (the defaults of `jaxsot run`)."""

TORQUE_COLUMNS = tuple(f"T_{kind}_{axis}" for kind in ("DL", "FL") for axis in "xyz")
COLUMNS = ("rho_ratio",) + TORQUE_COLUMNS
"""Observable names: rho_ratio (AMR rho/rho0) and the components of T_DL = T2, T_FL = T1."""

COLUMN_UNITS = {"rho_ratio": "1", **{name: "1/(nm^2 fs)" for name in TORQUE_COLUMNS}}

MODELS = ("exact", "strong_exchange")
OPTIMIZERS = ("lbfgs", "adam")
MIN_POINTS = 3
"""Fewest rows a curve may have."""

_MEASURE = 1.0 / (2.0 * math.pi) ** 2
_NEWTON_STEPS = 12
_RESIDUAL_TOLERANCE = 1e-6  # relative to |E_F| + J; a worse root is returned as NaN, never silently
_M0 = (0.0, 1.0, 0.0)  # rho0: M in-plane and perpendicular to the current (x), where the AMR vanishes
_NOISE_ROUNDS = 6  # refits with the re-estimated noise (unknown sigma), at most
_STATUS = (
    "converged (gradient)",
    "converged (loss change)",
    "stopped at max_steps",
    "non-finite loss",
    "stalled (no decrease, gradient not small)",
)


class FitWarning(UserWarning):
    """A fit finished but something about it needs attention (bounds, convergence, chi^2)."""


class IdentifiabilityWarning(FitWarning):
    """The data cannot separate some parameters: only combinations of them are determined."""


# ---------------------------------------------------------------------------------------------
# Data: one curve = rows of settings and one or more observable columns.


class Curve(eqx.Module):
    """Measured (or synthetic) data: N rows of settings and K observable columns, internal units.

    Args:
        columns: names of the K observables, from `COLUMNS` (rho_ratio; T_DL_x ... T_FL_z).
        values: (N, K) measured values [1 for rho_ratio, 1/(nm^2 fs) for torques].
        phi: azimuth of M from the current/field direction x [rad], scalar or (N,).
        theta: polar angle of M from z [rad], scalar or (N,) (default pi/2: in-plane M).
        efield: field E along x [V/nm], scalar or (N,); required (non-zero) for torque columns.
        time: times after the field step at t = 0 [fs], (N,): makes the curve a transient
            (torque columns only). None: steady state.
        sigma: (N, K) standard deviations of the values (same units), or None (unknown noise:
            estimated per column from the residuals of the fit).
        label: a name used in reports (e.g. the file name).

    Raises ValueError naming the argument, its value and what is allowed.
    """

    values: jax.Array
    sigma: jax.Array
    theta: jax.Array
    phi: jax.Array
    efield: jax.Array
    time: jax.Array
    columns: tuple = eqx.field(static=True)
    kind: str = eqx.field(static=True)
    sigma_known: bool = eqx.field(static=True)
    label: str = eqx.field(static=True)

    def __init__(self, columns, values, *, phi, theta=math.pi / 2, efield=None, time=None, sigma=None, label="data"):
        columns = (columns,) if isinstance(columns, str) else tuple(columns)
        for name in columns:
            if name not in COLUMNS:
                raise ValueError(f"column {name!r} is not allowed; allowed: {', '.join(COLUMNS)}")
        if not columns or len(set(columns)) != len(columns):
            raise ValueError(f"columns = {columns!r}: allowed: one or more distinct names from {', '.join(COLUMNS)}")
        values = jnp.asarray(values)
        if not jnp.issubdtype(values.dtype, jnp.floating):
            values = values.astype(jnp.result_type(float))
        if values.ndim == 1 and len(columns) == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(columns):
            raise ValueError(f"values has shape {values.shape}; allowed: (N, {len(columns)}) for columns {columns}")
        n = values.shape[0]
        if n < MIN_POINTS:
            raise ValueError(f"the curve {label!r} has {n} rows; allowed: at least {MIN_POINTS}")
        check_finite("values", values)
        dtype = values.dtype

        def per_row(name, value, default=None):
            if value is None:
                value = default
            check_finite(name, value)
            array = jnp.asarray(value, dtype)
            if array.ndim == 0:
                array = jnp.full((n,), array, dtype)
            if array.shape != (n,):
                raise ValueError(f"{name} has shape {array.shape}; allowed: a scalar or ({n},), one value per row")
            return array

        self.phi = per_row("phi", phi)
        self.theta = per_row("theta", theta)
        self.efield = per_row("efield", efield, 0.0)
        self.time = per_row("time", time, 0.0)
        torques = [name for name in columns if name in TORQUE_COLUMNS]
        if time is not None and "rho_ratio" in columns:
            raise ValueError("column 'rho_ratio' with a time column: allowed: transients of torque columns only")
        if torques and bool(jnp.any(self.efield == 0.0)):
            raise ValueError(
                f"efield is zero in some rows of a curve with torque columns {torques}; allowed: the applied field E "
                "[V/nm] of every row (non-zero)"
            )
        if sigma is None:
            self.sigma = jnp.ones_like(values)
            self.sigma_known = False
        else:
            sigma = jnp.asarray(sigma, dtype)
            if sigma.ndim == 1 and len(columns) == 1:
                sigma = sigma[:, None]
            if sigma.shape != values.shape:
                raise ValueError(f"sigma has shape {sigma.shape}; allowed: {values.shape} like values")
            check_range("sigma", sigma, low=0.0, low_inclusive=False)
            self.sigma = sigma
            self.sigma_known = True
        self.values = values
        self.columns = columns
        self.kind = "steady" if time is None else "transient"
        self.label = str(label)

    @property
    def num_points(self) -> int:
        """Rows N (each row may carry several observables)."""
        return int(self.values.shape[0])

    @property
    def magnetization(self) -> jax.Array:
        """Unit vectors M of the rows, (N, 3)."""
        return _directions(self.theta, self.phi)

    def depends_on(self) -> tuple:
        """The parameters this curve's forward model depends on (tau only through T_FL or transients)."""
        names = ["alpha", "j_ex", "mass_ratio"]
        if self.kind == "transient" or any(c.startswith("T_FL") for c in self.columns):
            names.append("tau")
        return tuple(names)


def _directions(theta, phi):
    return jnp.stack([jnp.sin(theta) * jnp.cos(phi), jnp.sin(theta) * jnp.sin(phi), jnp.cos(theta)], -1)


# ---------------------------------------------------------------------------------------------
# Forward models.


def _ray_radius(model, fermi_energy, s, num):
    """Fermi-contour radii on `num` rays by Newton (the start and convergence of `_transport._ray_contour`).

    Starts from the upper bound r_u of c r^2 - |alpha| r + s J = E_F (eps_s(r_u) >= E_F) and
    converges monotonically on the convex side; a residual above 1e-6 (|E_F| + J) gives NaN.
    """
    dtype = model.alpha.dtype
    phi = jnp.arange(num, dtype=dtype) * (2.0 * jnp.pi / num)
    cos, sin = jnp.cos(phi), jnp.sin(phi)
    c = model.kinetic_coefficient
    a = jnp.abs(model.alpha)
    budget = jnp.maximum(fermi_energy - s * model.j_ex, 0.0)
    start = (a + jnp.sqrt(a * a + 4.0 * c * budget)) / (2.0 * c)
    value_and_slope = jax.vmap(jax.value_and_grad(lambda r, cs, sn: energy(model, r * cs, r * sn, s)))

    def newton(_, r):
        value, slope = value_and_slope(r, cos, sin)
        return jnp.maximum(r - (value - fermi_energy) / slope, 0.0)

    radius = jax.lax.fori_loop(0, _NEWTON_STEPS, newton, jnp.full((num,), 1.0, dtype) * start)
    eps = jax.vmap(energy, in_axes=(None, 0, 0, None))(model, radius * cos, radius * sin, s)
    ok = jnp.abs(eps - fermi_energy) <= _RESIDUAL_TOLERANCE * (jnp.abs(fermi_energy) + model.j_ex)
    return jnp.where(ok, radius, jnp.nan)


def _band_fluxes(model, fermi_energy, s, num):
    """One band: A (3, 2) [1/nm], sigma/tau without e^2 (2, 2) [1/(eV fs^2)], density [1/nm^2]."""
    frozen = jax.lax.stop_gradient
    root = frozen(_ray_radius(frozen(model), frozen(fermi_energy), s, num))
    dtype = root.dtype
    phi = jnp.arange(num, dtype=dtype) * (2.0 * jnp.pi / num)
    cos, sin = jnp.cos(phi), jnp.sin(phi)
    grad_energy = jax.vmap(jax.grad(energy, argnums=(1, 2)), in_axes=(None, 0, 0, None))
    gx, gy = grad_energy(frozen(model), root * cos, root * sin, s)
    slope = gx * cos + gy * sin
    # One Newton step from the converged root: its value moves by ~0 and its derivative is the
    # implicit-function derivative, so nothing is differentiated through the iterations.
    eps = jax.vmap(energy, in_axes=(None, 0, 0, None))(model, root * cos, root * sin, s)
    radius = root - (eps - fermi_energy) / slope
    kx, ky = radius * cos, radius * sin
    gx, gy = grad_energy(model, kx, ky, s)
    dr_dphi = -radius * (-gx * sin + gy * cos) / (gx * cos + gy * sin)
    weight = jnp.sqrt(radius**2 + dr_dphi**2) * (2.0 * jnp.pi / num) * _MEASURE
    grad_norm = jnp.sqrt(gx * gx + gy * gy)
    normal = jnp.stack([gx, gy], -1) / grad_norm[:, None]
    spins = jnp.stack(jax.vmap(lambda qx, qy: spin(model, qx, qy, s))(kx, ky), -1)
    flux_matrix = spins.T @ (normal * weight[:, None])
    conductance = jnp.einsum("n,ni,nj->ij", grad_norm * weight, normal, normal) / HBAR**2
    density = 0.5 * jnp.sum(radius**2) * (2.0 * jnp.pi / num) * _MEASURE
    return flux_matrix, conductance, density


def contour_fluxes(model: RashbaFerromagnet, fermi_energy, bands: tuple, num: int):
    """Linear response of the T = 0 Fermi sea at the model's M, summed over `bands`; jit/vmap/grad-friendly.

    Args:
        model: RashbaFerromagnet. fermi_energy [eV]. bands: static tuple of occupied bands
            (check them on the host: `jaxsot.occupied_bands`). num: static rays per band.
    Returns:
        A (3, 2) [1/nm]: S(shifted sea) - S_eq = A Delta k and dS/dt = A k' (first order);
        sigma/tau (2, 2) [e^2/(eV fs^2)]: the constant-tau Boltzmann sheet conductance per tau;
        densities (2,) [1/nm^2]: (n_lower, n_upper).
    Gradients are implicit-function gradients of the contour (no differentiation of the solve).
    """
    dtype = model.alpha.dtype
    # The band sign is a traced value: one copy of the contour graph for both bands (compile time).
    signs = jnp.asarray([float(s) for s in bands], dtype)
    flux, conductance, density = jax.vmap(lambda s: _band_fluxes(model, fermi_energy, s, num))(signs)
    densities = jnp.zeros(2, dtype).at[jnp.asarray([0 if s < 0 else 1 for s in bands])].set(density)
    return jnp.sum(flux, 0), CARRIER_CHARGE**2 * jnp.sum(conductance, 0), densities


def circular_densities(alpha, j_ex, mass_ratio, fermi_energy):
    """(n_lower, n_upper) [1/nm^2] for M || z in closed form (as `SpinOrbitTorque.n_lower`, `n_upper`).

    k_F^2 = x solves c x + s sqrt(alpha^2 x + J^2) = E_F; n = x/(4 pi).
    """
    c = HBAR2_OVER_2ME / mass_ratio
    b = 2.0 * c * fermi_energy + alpha**2
    root = jnp.sqrt(jnp.maximum(4.0 * c**2 * j_ex**2 + 4.0 * c * fermi_energy * alpha**2 + alpha**4, 0.0))
    lower = jnp.where(fermi_energy > -j_ex, (b + root) / (2.0 * c**2), 0.0)
    upper = jnp.where(fermi_energy > j_ex, (b - root) / (2.0 * c**2), 0.0)
    return lower / (4.0 * math.pi), upper / (4.0 * math.pi)


def _rho_xx(conductance):
    return conductance[1, 1] / (conductance[0, 0] * conductance[1, 1] - conductance[0, 1] * conductance[1, 0])


def _cross_z_rows(v):
    """v x z for in-plane rows v (N, 2) -> (N, 3)."""
    return jnp.stack([v[:, 1], -v[:, 0], jnp.zeros_like(v[:, 0])], -1)


def _predict_many(params, specs, arrays_list, fermi_energy, bands, num, model_kind):
    """Predictions [(N_i, K_i)] of several curves from their settings (theta, phi, efield, time); traceable.

    specs: ((columns, kind), ...) static. With the exact bands, the rows of all curves (and the rho0
    row) go through one vmap of the contour solve: one copy of its graph to compile, however many curves.
    """
    dtype = arrays_list[0][0].dtype
    alpha = jnp.asarray(params["alpha"], dtype)
    j_ex = jnp.asarray(params["j_ex"], dtype)
    mass_ratio = jnp.asarray(params["mass_ratio"], dtype)
    tau = jnp.asarray(params["tau"], dtype)
    fermi_energy = jnp.asarray(fermi_energy, dtype)
    ms = [_directions(theta, phi) for theta, phi, _, _ in arrays_list]
    want_amr = any("rho_ratio" in columns for columns, _ in specs)
    if model_kind == "exact":

        def response(direction):
            model = RashbaFerromagnet(alpha, j_ex, direction, mass_ratio)
            flux, conductance, _ = contour_fluxes(model, fermi_energy, bands, num)
            return flux, _rho_xx(conductance)

        rows = ms + ([jnp.asarray(_M0, dtype)[None, :]] if want_amr else [])
        flux_all, rho_all = jax.vmap(response)(jnp.concatenate(rows))
        rho0 = rho_all[-1]
    else:
        n_lower, n_upper = circular_densities(alpha, j_ex, mass_ratio, fermi_energy)
        n_p = n_lower - n_upper
    outputs, offset = [], 0
    for (columns, kind), (theta, phi, efield, time), m in zip(specs, arrays_list, ms):
        n = m.shape[0]
        kdot = jnp.stack([CARRIER_CHARGE * efield / HBAR, jnp.zeros_like(efield)], -1)  # (N, 2), E along x
        out = {}
        if model_kind == "exact":
            flux, rho = flux_all[offset : offset + n], rho_all[offset : offset + n]
            offset += n
            if "rho_ratio" in columns:
                out["rho_ratio"] = rho / rho0
            rate = jnp.einsum("nij,nj->ni", flux, kdot)  # dS/dt of the accelerated sea, (N, 3)
        else:
            if "rho_ratio" in columns:
                eta = mass_ratio * ELECTRON_MASS * alpha**2 / (HBAR**2 * j_ex)
                out["rho_ratio"] = 1.0 + n_p / (n_lower + n_upper) * eta * (m[:, 0] ** 2 + m[:, 2] ** 2)
            v = _cross_z_rows(kdot)
            rate = -n_p * alpha / j_ex * (v - m * jnp.sum(m * v, -1, keepdims=True))
        if any(name in TORQUE_COLUMNS for name in columns):
            damping = -rate
            field_like = 2.0 * j_ex / HBAR * tau * jnp.cross(m, rate)  # (2J/hbar) M x (A Delta k), Delta k = k' tau
            if kind == "transient":
                # Constant-tau rigid shift after a step at t = 0: k' ~ e^(-t/tau), Delta k ~ 1 - e^(-t/tau).
                on = time >= 0.0
                decay = jnp.where(on, jnp.exp(-jnp.where(on, time, 0.0) / tau), 0.0)
                damping = damping * decay[:, None]
                field_like = field_like * jnp.where(on, 1.0 - decay, 0.0)[:, None]
            for i, axis in enumerate("xyz"):
                out[f"T_DL_{axis}"] = damping[:, i]
                out[f"T_FL_{axis}"] = field_like[:, i]
        outputs.append(jnp.stack([out[name] for name in columns], -1))
    return outputs


def _predict_arrays(params, columns, kind, arrays, fermi_energy, bands, num, model_kind):
    """Predictions (N, K) of one curve from its setting arrays (theta, phi, efield, time); traceable."""
    return _predict_many(params, ((columns, kind),), (arrays,), fermi_energy, bands, num, model_kind)[0]


def _curve_arrays(curve):
    return (curve.theta, curve.phi, curve.efield, curve.time)


def _check_params(params, require=PARAMETERS) -> dict:
    if not isinstance(params, dict):
        raise ValueError(f"params = {params!r} is not a dict; allowed: a dict with keys {', '.join(PARAMETERS)}")
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"parameter {unknown[0]!r} is not allowed; allowed: {', '.join(PARAMETERS)}")
    missing = [name for name in require if name not in params]
    if missing:
        raise ValueError(f"parameter {missing[0]!r} is missing; allowed: a dict with keys {', '.join(PARAMETERS)}")
    check_finite("alpha", params["alpha"])
    if float(params["alpha"]) == 0.0:
        raise ValueError("alpha = 0.0 eV nm is not allowed; allowed: a non-zero Rashba coupling (either sign)")
    check_range("j_ex", params["j_ex"], low=0.0, low_inclusive=False, unit="eV")
    check_range("mass_ratio", params["mass_ratio"], low=0.0, low_inclusive=False)
    check_range("tau", params["tau"], low=0.0, low_inclusive=False, unit="fs")
    return {name: float(params[name]) for name in PARAMETERS}


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} = {value!r} is not allowed; allowed: {', '.join(map(repr, allowed))}")


def _distinct_polar(curves) -> list:
    """The distinct polar angles of M in the data (+ pi/2 for rho0): the bands depend on M only through M_z."""
    angles = {round(math.pi / 2, 9)}
    for curve in curves:
        angles.update(round(float(x), 9) for x in onp.unique(onp.abs(onp.cos(onp.asarray(curve.theta)))))
    cosines = sorted(angles)
    if len(cosines) > 6:  # extremes and a few between: the band set changes monotonically with |M_z|
        cosines = [cosines[int(round(i))] for i in onp.linspace(0, len(cosines) - 1, 6)]
    return cosines


def _bands_at(params, fermi_energy, cosines) -> tuple:
    """Occupied bands for every |M_z| in `cosines`; ValueError when they differ or a sea is unsupported."""
    found = set()
    for cz in cosines:
        cz = min(cz, 1.0)
        direction = onp.array([math.sqrt(max(1.0 - cz * cz, 0.0)), 0.0, cz])
        model = RashbaFerromagnet(params["alpha"], params["j_ex"], direction, params["mass_ratio"])
        found.add(occupied_bands(model, fermi_energy))
    if len(found) != 1:
        raise ValueError(
            f"fermi_energy = {fermi_energy:g} eV: the occupied bands change with the direction of M in the data "
            f"({sorted(found)}) at alpha = {params['alpha']:g} eV nm, j_ex = {params['j_ex']:g} eV; allowed: "
            "fermi_energy clearly above j_ex (both bands) or below the upper band's bottom for every M"
        )
    return found.pop()


def predict(curve: Curve, params: dict, fermi_energy, *, model: str = "exact", num: int = 64) -> jax.Array:
    """The forward model of a curve: predictions (N, K) at its settings, internal units (module docstring).

    Args:
        curve: `Curve` (only its settings and column names are used).
        params: dict with alpha [eV nm], j_ex [eV], mass_ratio, tau [fs] (concrete, checked here).
        fermi_energy: E_F [eV]. model: "exact" (exact bands) or "strong_exchange" (closed forms).
        num: rays per Fermi contour (64 gives ~1e-10 relative accuracy for these smooth contours).
    """
    if not isinstance(curve, Curve):
        raise ValueError(f"curve = {type(curve).__name__}; allowed: a jaxsot.fit.Curve")
    values = _check_params(params)
    check_finite("fermi_energy", fermi_energy)
    _check_choice("model", model, MODELS)
    num = check_count("num", num, minimum=8)
    bands = _bands_at(values, float(fermi_energy), _distinct_polar([curve]))
    return _predict_jit(values, curve.columns, curve.kind, _curve_arrays(curve), float(fermi_energy), bands, num, model)


def make_loss(curves, fermi_energy, reference: dict, *, model: str = "exact", num: int = 64):
    """The fit's loss as a pure, jitted function of the parameter dict: loss(params) -> scalar.

    loss = mean(((prediction - value)/sigma)^2)/2 over every value of every curve (sigma = 1 for
    curves without sigma). Differentiate it with `jax.grad` (a dict of the four derivatives),
    vmap it over a batch of parameter dicts, etc.

    Args:
        curves: a Curve or a list of them. fermi_energy: E_F [eV].
        reference: a parameter dict at which the occupied bands are determined on the host
            (the function is valid in that band regime: `jaxsot.occupied_bands`).
        model, num: as in `predict`.
    """
    curves = [curves] if isinstance(curves, Curve) else list(curves)
    if not curves or not all(isinstance(c, Curve) for c in curves):
        raise ValueError("curves must be a jaxsot.fit.Curve or a non-empty list of them")
    values = _check_params(reference)
    check_finite("fermi_energy", fermi_energy)
    _check_choice("model", model, MODELS)
    num = check_count("num", num, minimum=8)
    bands = _bands_at(values, float(fermi_energy), _distinct_polar(curves))
    static = _Static(curves=tuple((c.columns, c.kind) for c in curves), free=(), transform=(), bands=tuple(bands), num=num, model=model)
    data = tuple((c.values, c.sigma, _curve_arrays(c)) for c in curves)
    fermi_energy = float(fermi_energy)

    @jax.jit
    def loss(params):
        r = _residuals(params, data, fermi_energy, static)
        return 0.5 * jnp.mean(r * r)

    return loss


@functools.partial(jax.jit, static_argnums=(1, 2, 4, 5, 6, 7))
def _predict_jit(params, columns, kind, arrays, fermi_energy, bands, num, model_kind):
    return _predict_arrays(params, columns, kind, arrays, fermi_energy, bands, num, model_kind)


# ---------------------------------------------------------------------------------------------
# Synthetic data.


def synthesize(
    params: dict,
    fermi_energy,
    *,
    columns=("rho_ratio", "T_DL_x", "T_DL_y", "T_FL_z"),
    phi=None,
    theta=math.pi / 2,
    efield=1.0e-4,
    time=None,
    num_points: int = 200,
    noise: float = 0.01,
    known_noise: bool = True,
    seed: int = 0,
    model: str = "exact",
    num: int = 64,
    label: str = "synthetic",
) -> Curve:
    """A `Curve` of the forward model at `params` plus Gaussian noise, to test a fit set-up.

    Args:
        params: true parameters (dict: alpha [eV nm], j_ex [eV], mass_ratio, tau [fs]).
        fermi_energy: E_F [eV]. columns: observables (`COLUMNS`).
        phi: azimuths of M [rad], (N,); default: N points over [0, 2 pi) (steady) or 0 (transient).
        theta: polar angle(s) of M [rad]. efield: E along x [V/nm] (1e-4 V/nm = 1e5 V/m).
        time: (N,) times after the field step [fs] for a transient, or None (steady state).
        num_points: N when phi/time are not given (>= 3).
        noise: standard deviation of the noise as a fraction of each column's peak-to-peak
            range (its signal; rho_ratio ~ 1 varies by ~p eta), >= 0.
        known_noise: store sigma in the curve (True) or leave it unknown (estimated by the fit).
        seed: NumPy random seed.
    Returns: Curve with values = prediction + noise.
    """
    truth = _check_params(params)
    check_range("noise", noise, low=0.0)
    num_points = check_count("num_points", num_points, minimum=MIN_POINTS)
    seed = check_count("seed", seed, minimum=0)
    columns = (columns,) if isinstance(columns, str) else tuple(columns)
    dtype = jnp.result_type(float)
    if time is not None:
        time = onp.asarray(time, dtype=float)
        n = time.shape[0]
        phi = 0.0 if phi is None else phi
    else:
        n = num_points if phi is None else int(onp.size(phi))
        if phi is None:
            phi = onp.arange(n) * (2.0 * math.pi / n)
    template = Curve(
        columns, onp.zeros((n, len(columns))), phi=onp.asarray(phi, float), theta=theta, efield=efield, time=time, label=label
    )
    template = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), template)
    clean = onp.asarray(predict(template, truth, fermi_energy, model=model, num=num))
    if not onp.all(onp.isfinite(clean)):
        raise ValueError("the forward model gave non-finite values at these parameters (a contour did not converge)")
    span = onp.ptp(clean, axis=0)
    scale = onp.where(span > 0.0, span, onp.max(onp.abs(clean), axis=0))
    sigma = noise * onp.where(scale > 0.0, scale, 1.0)
    rng = onp.random.default_rng(seed)
    values = clean + sigma[None, :] * rng.standard_normal(clean.shape)
    stored_sigma = onp.broadcast_to(sigma, clean.shape) if (known_noise and noise > 0.0) else None
    return Curve(
        columns,
        values,
        phi=template.phi,
        theta=template.theta,
        efield=template.efield,
        time=None if time is None else template.time,
        sigma=stored_sigma,
        label=label,
    )


# ---------------------------------------------------------------------------------------------
# Parameter transforms and the static description of a fit.


@dataclasses.dataclass(frozen=True)
class _Static:
    """What the compiled loss and optimizer are specialized on (hashable). Data, bounds, fixed
    values and E_F are traced arrays (`_box`), so a new data set or new bounds reuse the compilation."""

    curves: tuple  # ((columns, kind), ...)
    free: tuple
    transform: tuple  # per free parameter: 1 log box > 0, -1 log box < 0, 0 linear box
    bands: tuple
    num: int
    model: str
    optimizer: str = "lbfgs"
    max_steps: int = 200
    learning_rate: float = 0.05
    gtol: float = 1e-9
    ftol: float = 1e-13


def _is_log(lower, upper=None) -> bool:
    """Log transform for a box on one side of zero (positive parameters; alpha may be negative)."""
    return lower > 0.0 or (upper is not None and upper < 0.0)


def _transform(lower, upper) -> int:
    return (1 if lower > 0.0 else -1) if _is_log(lower, upper) else 0


def _box(lower, upper, fixed: dict, fermi_energy, dtype) -> dict:
    """The traced part of a fit's set-up: bounds (p,), fixed parameter values, E_F."""
    return {
        "lower": jnp.asarray(lower, dtype).reshape(-1),
        "upper": jnp.asarray(upper, dtype).reshape(-1),
        "fixed": {name: jnp.asarray(value, dtype) for name, value in fixed.items()},
        "fermi_energy": jnp.asarray(fermi_energy, dtype),
    }


def _to_physical(u, box, static):
    """Unconstrained u (p,) -> dict of all parameters (free ones inside their bounds)."""
    params = dict(box["fixed"])
    for i, name in enumerate(static.free):
        lo, hi = box["lower"][i], box["upper"][i]
        t = jax.nn.sigmoid(u[i])
        kind = static.transform[i]
        if kind:
            a, b = jnp.log(jnp.abs(lo)), jnp.log(jnp.abs(hi))
            params[name] = kind * jnp.exp(a + (b - a) * t)
        else:
            params[name] = lo + (hi - lo) * t
    return params


def _to_unconstrained(values: dict, free, lower, upper) -> onp.ndarray:
    u = []
    for i, name in enumerate(free):
        lo, hi = lower[i], upper[i]
        x = float(values[name])
        if _is_log(lo, hi):
            t = (math.log(abs(x)) - math.log(abs(lo))) / (math.log(abs(hi)) - math.log(abs(lo)))
        else:
            t = (x - lo) / (hi - lo)
        t = min(max(t, 1e-12), 1.0 - 1e-12)
        u.append(math.log(t) - math.log1p(-t))
    return onp.asarray(u)


def _free_to_params(x, box, static):
    """Physical free values x (p,) -> dict of all parameters."""
    params = dict(box["fixed"])
    for i, name in enumerate(static.free):
        params[name] = x[i]
    return params


def _residuals(params, curves, fermi_energy, static):
    """Whitened residuals (prediction - value)/sigma of every curve, concatenated (N_total,)."""
    predictions = _predict_many(params, static.curves, [arrays for _, _, arrays in curves], fermi_energy,
                                static.bands, static.num, static.model)
    return jnp.concatenate([((p - values) / sigma).ravel() for p, (values, sigma, _) in zip(predictions, curves)])


def _loss(u, data, static):
    """mean(r^2)/2 at unconstrained u; data = (curve arrays, box)."""
    curves, box = data
    r = _residuals(_to_physical(u, box, static), curves, box["fermi_energy"], static)
    return 0.5 * jnp.mean(r * r)


# ---------------------------------------------------------------------------------------------
# Optimizer: optax inside a while_loop; one run per restart, restarts batched with vmap.


def _run_one(u0, data, static):
    """One optimization from u0 (p,): (u, loss, steps, status, trace (max_steps,))."""
    fun = functools.partial(_loss, data=data, static=static)
    dtype = u0.dtype
    if static.optimizer == "lbfgs":
        solver = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(fun)
    else:
        schedule = optax.exponential_decay(static.learning_rate, transition_steps=max(static.max_steps // 4, 1), decay_rate=0.3)
        solver = optax.adam(schedule)
        plain = jax.value_and_grad(fun)
        value_and_grad = lambda u, state: plain(u)  # noqa: E731
    state = solver.init(u0)
    trace = jnp.full((static.max_steps,), jnp.nan, dtype)

    def cond(carry):
        _, _, step, _, status, _ = carry
        return (step < static.max_steps) & (status < 0)

    def body(carry):
        u, state, step, previous, _, trace = carry
        value, grad = value_and_grad(u, state=state)
        gnorm = jnp.max(jnp.abs(grad))
        trace = trace.at[step].set(value)
        small_grad = gnorm <= static.gtol * (1.0 + jnp.abs(value))
        small_change = (step > 0) & (jnp.abs(previous - value) <= static.ftol * (1.0 + jnp.abs(value)))
        # No decrease with a gradient far from zero is a failed line search, not an optimum.
        stalled = small_change & (gnorm > 1e4 * static.gtol * (1.0 + jnp.abs(value)))
        bad = ~jnp.isfinite(value)
        status = jnp.where(bad, 3, jnp.where(small_grad, 0, jnp.where(stalled, 4, jnp.where(small_change, 1, -1))))
        status = status.astype(jnp.int32)
        if static.optimizer == "lbfgs":
            updates, new_state = solver.update(grad, state, u, value=value, grad=grad, value_fn=fun)
        else:
            updates, new_state = solver.update(grad, state, u)
        new_u = optax.apply_updates(u, updates)
        # A finished run keeps the point its criteria were met at.
        keep = status >= 0
        u = jnp.where(keep, u, new_u)
        state = jax.tree_util.tree_map(lambda old, new: jnp.where(keep, old, new), state, new_state)
        return u, state, step + 1, value, status, trace

    start = (u0, state, jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, dtype), jnp.asarray(-1, jnp.int32), trace)
    u, _, steps, _, status, trace = jax.lax.while_loop(cond, body, start)
    status = jnp.where(status < 0, 2, status).astype(jnp.int32)
    return u, fun(u), steps, status, trace


@functools.partial(jax.jit, static_argnums=(2,))
def _run_batched(u0, data, static):
    return jax.vmap(_run_one, in_axes=(0, None, None))(u0, data, static)


@functools.partial(jax.jit, static_argnums=(2,))
def _run_single(u0, data, static):
    return _run_one(u0, data, static)


@functools.partial(jax.jit, static_argnums=(2,))
def _residuals_and_jacobian(x, data, static):
    """Whitened residuals (N,) and their Jacobian (N, p) in the physical free parameters."""
    curves, box = data
    fun = lambda z: _residuals(_free_to_params(z, box, static), curves, box["fermi_energy"], static)  # noqa: E731
    return fun(x), jax.jacfwd(fun)(x)


@functools.partial(jax.jit, static_argnums=(2,))
def _physical_batch(u, box, static):
    return jax.vmap(lambda v: jnp.stack([_to_physical(v, box, static)[name] for name in static.free]))(u)


# ---------------------------------------------------------------------------------------------
# Uncertainty and identifiability.


def _format_exponent(value: float) -> tuple:
    """(text, value shown): small-denominator fractions when close (2, -1, 1/2), else two decimals."""
    for denominator in (1, 2, 3):
        if abs(value * denominator - round(value * denominator)) < 0.03 * denominator:
            numerator = int(round(value * denominator))
            return (str(numerator) if denominator == 1 else f"{numerator}/{denominator}"), numerator / denominator
    return f"{value:.2f}", round(value, 2)


def _combination(vector, names, log_axes):
    """Name a direction of the (log-)parameter space as a power law, e.g. 'alpha^2 j_ex^-1'.

    Returns (text, exponents as shown, factor): the direction is factor * exponents (before rounding).
    """
    vector = onp.asarray(vector, float)
    top = onp.max(onp.abs(vector))
    # Normalize by the smallest significant component (so eta reads alpha^2 j_ex^-1); tiny ones are dropped.
    big = onp.abs(vector) >= 0.2 * top
    vector = onp.where(onp.abs(vector) >= 0.02 * top, vector, 0.0)
    smallest = onp.min(onp.abs(vector[big]))
    exponents = vector / smallest
    # Prefer a positive exponent on the first parameter that appears (sign of a direction is free).
    first = onp.flatnonzero(big)[0]
    if exponents[first] < 0:
        exponents = -exponents
    factor = smallest * (1.0 if vector[first] > 0 else -1.0)
    terms, shown = [], []
    for name, e, is_log in zip(names, exponents, log_axes):
        text, value = _format_exponent(e) if e != 0.0 else ("0", 0.0)
        shown.append(value)
        if value == 0.0:
            continue
        label = name if is_log else f"exp({name}/{name}_0)"
        terms.append(label if text == "1" else f"{label}^{text}")
    return " ".join(terms), onp.asarray(shown), factor


_KNOWN = (
    ({"alpha": 2.0, "j_ex": -1.0, "mass_ratio": 1.0}, "eta = m alpha^2/(hbar^2 J)"),
    ({"alpha": 2.0, "mass_ratio": 1.0}, "m alpha^2 (AMR with both bands: p eta ~ m alpha^2/(hbar^2 E_F))"),
    ({"alpha": 1.0, "mass_ratio": 1.0}, "m alpha (damping-like torque with both bands)"),
    ({"alpha": 1.0, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 1.0}, "m alpha J tau (field-like torque with both bands)"),
)


def _known_name(exponents, names):
    """A physical name for a combination that matches a known one restricted to the free names.

    Only patterns that keep at least two free parameters are named (a single parameter is its own name).
    """
    exponents = onp.asarray(exponents, float)
    for pattern, label in _KNOWN:
        restricted = onp.array([pattern.get(n, 0.0) for n in names])
        if onp.count_nonzero(restricted) < 2:
            continue
        cosine = abs(restricted @ exponents) / (onp.linalg.norm(restricted) * onp.linalg.norm(exponents))
        if cosine > 0.995:
            return label
    return None


def analyze(jacobian, x, names, log_axes, *, rcond=1e-9, max_relative_error=0.5) -> dict:
    """Standard errors, correlations and identifiability from whitened residual Jacobians.

    Args:
        jacobian: (N, p) d r/d x of the whitened residuals r in the physical parameters x (p,).
        names: the p parameter names. log_axes: per parameter, analyse in log x (positive
            parameters, so power-law combinations are directions) or in x.
        rcond: eigenvalues below rcond * max of the Gauss-Newton matrix count as exactly null.
        max_relative_error: a direction (log coordinates: a relative error) or parameter whose
            standard deviation exceeds this is reported as not determined by the data.
    Returns a dict (NumPy): covariance (p, p) in x, standard_errors (p,) (inf where a parameter
    has a component along a null direction), correlation (p, p), identifiable (p,) bool,
    eigenvalues/eigenvectors of the Gauss-Newton matrix in the analysis coordinates z (log|x|, or
    x/|x|), null (eigenvalues counted as exactly 0), scale (dx/dz), condition_number, and
    directions, strongest first: dicts with "combination" (a power law such as 'alpha^2 j_ex^-1'),
    "exponents", "value" (of that power law at x), "relative_error" (its standard deviation),
    "determined" (std of the unit direction <= max_relative_error), "known" (a physical name or None).
    """
    jacobian = onp.asarray(jacobian, float)
    x = onp.asarray(x, float)
    log_axes = onp.asarray(log_axes, bool)
    # dx/dz with z = log|x| (a box on one side of 0) or z = x/|x_opt|; SEs use |dx/dz|.
    scale = onp.where(log_axes, x, onp.where(x != 0.0, onp.abs(x), 1.0))
    jz = jacobian * scale[None, :]
    fisher = jz.T @ jz
    eigenvalues, eigenvectors = onp.linalg.eigh(fisher)
    top = max(float(eigenvalues[-1]), 1e-300)
    null = eigenvalues <= rcond * top
    inverse = onp.where(null, 0.0, 1.0 / onp.where(null, 1.0, eigenvalues))
    cov_z = (eigenvectors * inverse[None, :]) @ eigenvectors.T
    null_weight = onp.sum(eigenvectors[:, null] ** 2, axis=1) if onp.any(null) else onp.zeros(len(x))
    std_z = onp.sqrt(onp.maximum(onp.diag(cov_z), 0.0))
    std_z = onp.where(null_weight > 1e-6, onp.inf, std_z)
    covariance = cov_z * scale[:, None] * scale[None, :]
    with onp.errstate(invalid="ignore", divide="ignore"):
        correlation = cov_z / onp.outer(onp.sqrt(onp.diag(cov_z)), onp.sqrt(onp.diag(cov_z)))
    correlation = onp.where(onp.isfinite(correlation), correlation, onp.nan)
    directions = []
    for i in onp.argsort(-eigenvalues):
        std = math.inf if null[i] else 1.0 / math.sqrt(eigenvalues[i])
        text, exponents, factor = _combination(eigenvectors[:, i], names, log_axes)
        directions.append(
            {
                "combination": text,
                "exponents": {n: float(e) for n, e in zip(names, exponents)},
                # std of log(combination) = relative error of the combination
                "relative_error": std / abs(factor) if math.isfinite(std) else math.inf,
                # value of the power law at the optimum (log axes only), units = product of the parameters'
                "value": float(onp.prod(onp.abs(x) ** exponents)) if onp.all(log_axes | (exponents == 0)) else math.nan,
                "eigenvalue": float(eigenvalues[i]),
                # judged on the unit direction (the exponents' normalization is arbitrary)
                "determined": bool(math.isfinite(std) and std <= max_relative_error),
                "known": _known_name(exponents, names),
            }
        )
    finite = eigenvalues[~null]
    condition = float(top / finite.min()) if finite.size and not onp.any(null) else math.inf
    return {
        "covariance": covariance,
        "standard_errors": std_z * onp.abs(scale),
        "relative_errors": std_z,
        "correlation": correlation,
        "identifiable": onp.isfinite(std_z) & (std_z <= max_relative_error),
        "eigenvalues": eigenvalues,
        "eigenvectors": eigenvectors,
        "condition_number": condition,
        "directions": directions,
        "null": null,
        "scale": scale,
    }


# ---------------------------------------------------------------------------------------------
# The fit driver.


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Outcome of `fit` (plain Python / NumPy; `to_dict` gives JSON-ready data).

    Fields:
        parameters: {name: value} for all four parameters (fixed ones as given) [PARAMETER_UNITS].
        free: names that were fitted. standard_errors: {free name: SE} (inf: not identifiable).
        identifiable: {free name: bool}. covariance, correlation: (p, p) over `free`.
        directions: principal directions of the Gauss-Newton matrix in log coordinates (strongest
            first): {"combination", "exponents", "relative_error", "determined", "known"}.
        condition_number: of the Gauss-Newton matrix (log coordinates).
        derived: {"eta": (value, SE)}, eta = m alpha^2/(hbar^2 J) (SE inf when not identifiable).
        chi2, dof, reduced_chi2: at the optimum with the noise used (known, or estimated).
        noise_known: every curve had sigma. noise: {curve label: {column: sigma used (a number
            when the same for every row, else a list)}}; sigmas: the same as one (N, K) array per curve.
        predictions: one (N, K) array per curve. residuals: whitened, one (N, K) array per curve.
        restarts: per restart {"start", "end" (dicts), "loss", "steps", "status"}. best: its index.
        trace: (restarts, max_steps) loss per iteration (NaN after the end); stage2_trace when the
            noise was estimated (a second run from the best restart with the estimated sigma).
        bounds: {free name: (lower, upper)}. notes: sentences (warnings, bounds, convergence).
        settings: fermi_energy, model, optimizer, num, bands.
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

    def summary(self) -> str:
        """A text table: value +- SE per parameter, determined combinations, chi^2, notes."""
        lines = [f"{'parameter':<11} {'value':>12} {'std error':>12} {'rel.':>8}  unit"]
        for name in PARAMETERS:
            value = self.parameters[name]
            unit = PARAMETER_UNITS[name]
            if name not in self.free:
                lines.append(f"{name:<11} {value:12.6g} {'(fixed)':>12} {'':>8}  {unit}")
            elif not self.identifiable[name]:
                lines.append(f"{name:<11} {'--':>12} {'not identif.':>12} {'':>8}  {unit}  (start-dependent: {value:.4g})")
            else:
                se = self.standard_errors[name]
                lines.append(f"{name:<11} {value:12.6g} {se:12.3g} {se / abs(value):8.2%}  {unit}")
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


def _column_scale(values) -> onp.ndarray:
    """Initial weights for unknown noise: the spread of each column (its signal), never zero."""
    values = onp.asarray(values)
    spread = onp.std(values, axis=0)
    fallback = onp.maximum(onp.max(onp.abs(values), axis=0), 1e-300)
    return onp.where(spread > 1e-12 * fallback, spread, fallback)


def _box_failure(fermi_energy, free, lower, upper, values, cosines, bands):
    """First corner of the box whose Fermi seas differ from `bands` or are unsupported: (point, message) or None.

    tau does not change the bands: only the corners in alpha, j_ex and mass_ratio are checked.
    """
    varied = [i for i, name in enumerate(free) if name != "tau"]
    for corner in range(2 ** len(varied)):
        point = dict(values)
        for bit, i in enumerate(varied):
            point[free[i]] = upper[i] if (corner >> bit) & 1 else lower[i]
        try:
            here = _bands_at(point, fermi_energy, cosines)
        except ValueError as error:
            return point, f"at the corner {_show_point(point, free)} of the parameter bounds: {error}"
        if here != bands:
            return point, (
                f"the occupied bands differ inside the parameter bounds ({bands} at the guess, {here} at "
                f"{_show_point(point, free)}, E_F = {fermi_energy:g} eV); allowed: bounds within one band regime "
                "(narrow the bounds of j_ex, alpha or mass_ratio)"
            )
    return None


def _point_ok(point, fermi_energy, cosines, bands):
    try:
        return _bands_at(point, fermi_energy, cosines) == bands
    except ValueError:
        return False


def _settle_box(curves, fermi_energy, free, lower, upper, given, values):
    """Check the box on the host; narrow the default (not given) sides that leave the guess's band regime.

    Returns the occupied bands. A failing corner is traced to the parameters whose move from the
    guess breaks it; only those sides are narrowed (geometrically towards the guess).
    """
    cosines = _distinct_polar(curves)
    try:
        bands = _bands_at(values, fermi_energy, cosines)
    except ValueError as error:
        raise ValueError(f"at the guess {_show_point(values, free)}: {error}") from None
    for _ in range(60):
        failure = _box_failure(fermi_energy, free, lower, upper, values, cosines, bands)
        if failure is None:
            return bands
        point, message = failure
        adjustable = [i for i, name in enumerate(free) if not given[i] and name != "tau" and point[name] != values[name]]
        if not adjustable:
            raise ValueError(message)
        culprits = [i for i in adjustable if _point_ok({**point, free[i]: values[free[i]]}, fermi_energy, cosines, bands)]
        for i in culprits or adjustable:
            g = values[free[i]]
            side = 0 if point[free[i]] == lower[i] else 1
            bound = (lower, upper)[side]
            if _is_log(lower[i], upper[i]):
                bound[i] = math.copysign(math.sqrt(bound[i] * g), g)
            else:
                bound[i] = 0.5 * (bound[i] + g)
    raise ValueError(message)


def _show_point(point, names):
    return "(" + ", ".join(f"{n} = {point[n]:.4g}" for n in names) + ")"


def _default_bounds(name, guess):
    factor = {"alpha": 3.0, "j_ex": 3.0, "mass_ratio": 3.0, "tau": 10.0}[name]
    return tuple(sorted((guess / factor, guess * factor)))


def fit(
    curves,
    fermi_energy,
    *,
    free=None,
    guess=None,
    bounds=None,
    model: str = "exact",
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
) -> FitResult:
    """Fit model parameters to one or several curves by autodiff gradients (module docstring).

    Args:
        curves: a `Curve` or a list of them (each with its own forward model).
        fermi_energy: E_F [eV] (a fixed experimental setting).
        free: names of the fitted parameters (default: alpha, j_ex, and tau when some curve
            depends on it: T_FL columns or transients); the others are fixed at `guess`.
        guess: {name: starting / fixed value} (defaults: `DEFAULT_GUESS`).
        bounds: {name: (lower, upper)} for free parameters (default: guess/3 .. 3 guess, tau
            guess/10 .. 10 guess, shrunk towards the guess until one band regime holds in the box;
            given bounds are checked and refused if they cross a band regime).
        model: "exact" or "strong_exchange" forward models. optimizer: "lbfgs" or "adam".
        restarts: optimizations run together (vmap); the first starts at the guess, the others
            at seeded random points uniform in the (log-)box. max_steps: iterations per run
            (default 200 for L-BFGS, 2000 for Adam). batched: False loops over the restarts
            (same result; for testing and memory). learning_rate: Adam's initial step.
        gtol: stop when max|d loss/d u| <= gtol (1 + loss); ftol: when the loss changes by
            <= ftol (1 + loss) between iterations (reported as a stall, not convergence, if the
            gradient is still 1e4 gtol or more).
    Unknown noise (curves without sigma): the restarts use each column's spread as weights; then
    sigma is estimated per column from the residuals, sigma_c^2 = RSS_c/(N_c - p N_c/N), and the
    best point is refitted with it, repeated until sigma changes by < 0.1 % (at most 6 times).
        rcond, max_relative_error: identifiability thresholds (`analyze`).
    Returns: FitResult. Warns (`IdentifiabilityWarning`, `FitWarning`) when parameters are not
    identifiable, sit at a bound, or a run did not converge; the same sentences are in `notes`.
    """
    curves = [curves] if isinstance(curves, Curve) else list(curves)
    if not curves or not all(isinstance(c, Curve) for c in curves):
        raise ValueError("curves must be a jaxsot.fit.Curve or a non-empty list of them")
    check_finite("fermi_energy", fermi_energy)
    fermi_energy = float(fermi_energy)
    _check_choice("model", model, MODELS)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
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

    values = dict(DEFAULT_GUESS)
    for name, value in (guess or {}).items():
        if name not in PARAMETERS:
            raise ValueError(f"guess for {name!r} is not allowed; allowed: {', '.join(PARAMETERS)}")
        values[name] = value
    values = _check_params(values)
    depends = {name for curve in curves for name in curve.depends_on()}
    if free is None:
        free = tuple(name for name in ("alpha", "j_ex", "tau") if name in depends)
    free = (free,) if isinstance(free, str) else tuple(free)
    if not free or len(set(free)) != len(free) or any(name not in PARAMETERS for name in free):
        raise ValueError(f"free = {free!r} is not allowed; allowed: distinct names from {', '.join(PARAMETERS)}")
    free = tuple(name for name in PARAMETERS if name in free)  # canonical order
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
                    f"bounds[{name!r}] = ({lo:g}, {hi:g}) {PARAMETER_UNITS[name]} do not contain the guess {values[name]:g}; "
                    "allowed: lower < guess < upper"
                )
            if name != "alpha" and not lo > 0.0:
                raise ValueError(f"bounds[{name!r}] = ({lo:g}, {hi:g}) {PARAMETER_UNITS[name]}: allowed: lower > 0 for {name}")
            given.append(True)
        else:
            lo, hi = _default_bounds(name, values[name])
            given.append(False)
        lower.append(lo)
        upper.append(hi)
    notes = []
    bands = _settle_box(curves, fermi_energy, free, lower, upper, given, values)
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
    box = _box(lower, upper, {n: values[n] for n in PARAMETERS if n not in free}, fermi_energy, dtype)
    static = _Static(
        curves=tuple((c.columns, c.kind) for c in curves),
        free=free,
        transform=tuple(_transform(lo, hi) for lo, hi in zip(lower, upper)),
        bands=tuple(bands),
        num=num,
        model=model,
        optimizer=optimizer,
        max_steps=max_steps,
        learning_rate=float(learning_rate),
        gtol=float(gtol),
        ftol=float(ftol),
    )

    def data_with(sigmas):
        return tuple((c.values, jnp.asarray(s, dtype), _curve_arrays(c)) for c, s in zip(curves, sigmas)), box

    sigmas = [c.sigma if c.sigma_known else jnp.broadcast_to(jnp.asarray(_column_scale(c.values), dtype), c.values.shape) for c in curves]
    rng = onp.random.default_rng(seed)
    u_guess = _to_unconstrained(values, free, lower, upper)
    starts = [u_guess] + [
        onp.log(t) - onp.log1p(-t) for t in rng.uniform(0.05, 0.95, size=(restarts - 1, len(free)))
    ]
    u0 = jnp.asarray(onp.stack(starts), dtype)
    data = data_with(sigmas)
    if batched:
        u, losses, steps, status, trace = _run_batched(u0, data, static)
    else:
        runs = [_run_single(u0[i], data, static) for i in range(restarts)]
        u, losses, steps, status, trace = (jnp.stack(parts) for parts in zip(*runs))
    losses = onp.asarray(losses)
    best = int(onp.nanargmin(onp.where(onp.isfinite(losses), losses, onp.nan))) if onp.any(onp.isfinite(losses)) else 0
    if not onp.isfinite(losses[best]):
        raise ValueError("every restart gave a non-finite loss (a Fermi contour did not converge); narrow the bounds")
    x_start = onp.asarray(_physical_batch(u0, box, static))
    x_end = onp.asarray(_physical_batch(u, box, static))
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
            x = onp.asarray(_physical_batch(u_best[None, :], box, static))[0]
            residual, _ = _residuals_and_jacobian(jnp.asarray(x, dtype), data, static)
            previous = sigmas
            sigmas = _estimated_sigmas(curves, sigmas, onp.asarray(residual), len(free))
            data = data_with(sigmas)
            if batched:
                # The same compiled program as the restarts (copies of one start): no second compilation.
                u2, _, _, status2, trace2 = (x[0] for x in _run_batched(jnp.tile(u_best, (restarts, 1)), data, static))
            else:
                u2, _, _, status2, trace2 = _run_single(u_best, data, static)
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
    x_best = onp.asarray(_physical_batch(u_best[None, :], box, static))[0]
    residual, jacobian = _residuals_and_jacobian(jnp.asarray(x_best, dtype), data, static)
    residual, jacobian = onp.asarray(residual), onp.asarray(jacobian)
    chi2 = float(residual @ residual)
    dof = int(total - len(free))
    reduced = chi2 / dof if dof > 0 else math.nan
    log_axes = onp.array([_is_log(lo, hi) for lo, hi in zip(lower, upper)])
    result = analyze(jacobian, x_best, list(free), log_axes, rcond=rcond, max_relative_error=max_relative_error)
    if not any(c.sigma_known for c in curves) and dof > 0:
        # Covariance scaled by the reduced chi^2 (= 1 up to rounding with the per-column estimate).
        factor = math.sqrt(reduced)
        result["covariance"] = result["covariance"] * reduced
        result["standard_errors"] = result["standard_errors"] * factor
    params = dict(values)
    params.update({name: float(v) for name, v in zip(free, x_best)})

    _notes_for(notes, result, free, params, lower, upper, restart_rows, best, noise_known, reduced, dof, total)
    derived = {"eta": _eta_with_error(params, free, result)}
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
        settings={"fermi_energy": fermi_energy, "model": model, "optimizer": optimizer, "num": num, "bands": list(bands),
                  "restarts": restarts, "max_steps": max_steps, "seed": seed},
    )


def _unique_labels(curves) -> list:
    """Curve labels, made distinct with '#i' where they clash (keys of FitResult.noise)."""
    labels = [c.label for c in curves]
    return [f"{label}#{i}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


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
        n = block.shape[0]
        dof = n - num_free * n / total
        estimate = onp.sqrt(onp.sum(block**2, axis=0) / max(dof, 1e-12))
        floor = 1e-12 * _column_scale(onp.asarray(curve.values))
        out.append(jnp.broadcast_to(jnp.asarray(onp.maximum(estimate, floor), curve.values.dtype), curve.values.shape))
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
        if _is_log(lo, hi):
            position = math.log(x / lo) / math.log(hi / lo)
        else:
            position = (x - lo) / (hi - lo)
        if position < 1e-3 or position > 1.0 - 1e-3:
            which = "lower" if position < 0.5 else "upper"
            notes.append((FitWarning, f"{name} = {x:.4g} {PARAMETER_UNITS[name]} is at its {which} bound ({lo:g}, {hi:g}): widen the bounds"))
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

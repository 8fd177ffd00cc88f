"""Forward models of the fit: pure, differentiable functions of the parameters (AMR, steady and transient torques).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as onp
from .._bands._kernels import energy, spin
from .._core._checks import check_count, check_finite, check_range
from .._core._model import RashbaFerromagnet
from .._fermi._contour import occupied_bands
from ..constants import AREA_MEASURE, CARRIER_CHARGE, ELECTRON_MASS, HBAR, HBAR2_OVER_2ME
from ._curves import Curve, MIN_POINTS, MODELS, PARAMETERS, REFERENCE_M, TORQUE_COLUMNS, unit_directions



# ---------------------------------------------------------------------------------------------
# Forward models.

NEWTON_STEPS = 12
RESIDUAL_TOLERANCE = 1e-6  # relative to |E_F| + J; a worse root is returned as NaN, never silently



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

    radius = jax.lax.fori_loop(0, NEWTON_STEPS, newton, jnp.full((num,), 1.0, dtype) * start)
    eps = jax.vmap(energy, in_axes=(None, 0, 0, None))(model, radius * cos, radius * sin, s)
    ok = jnp.abs(eps - fermi_energy) <= RESIDUAL_TOLERANCE * (jnp.abs(fermi_energy) + model.j_ex)
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
    weight = jnp.sqrt(radius**2 + dr_dphi**2) * (2.0 * jnp.pi / num) * AREA_MEASURE
    grad_norm = jnp.sqrt(gx * gx + gy * gy)
    normal = jnp.stack([gx, gy], -1) / grad_norm[:, None]
    spins = jnp.stack(jax.vmap(lambda qx, qy: spin(model, qx, qy, s))(kx, ky), -1)
    flux_matrix = spins.T @ (normal * weight[:, None])
    conductance = jnp.einsum("n,ni,nj->ij", grad_norm * weight, normal, normal) / HBAR**2
    density = 0.5 * jnp.sum(radius**2) * (2.0 * jnp.pi / num) * AREA_MEASURE
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


def predict_many(params, specs, arrays_list, fermi_energy, bands, num, model_kind):
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
    ms = [unit_directions(theta, phi) for theta, phi, _, _ in arrays_list]
    want_amr = any("rho_ratio" in columns for columns, _ in specs)
    if model_kind == "exact":

        def response(direction):
            model = RashbaFerromagnet(alpha, j_ex, direction, mass_ratio)
            flux, conductance, _ = contour_fluxes(model, fermi_energy, bands, num)
            return flux, _rho_xx(conductance)

        rows = ms + ([jnp.asarray(REFERENCE_M, dtype)[None, :]] if want_amr else [])
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
    return predict_many(params, ((columns, kind),), (arrays,), fermi_energy, bands, num, model_kind)[0]


def curve_arrays(curve):
    return (curve.theta, curve.phi, curve.efield, curve.time)


def check_params(params, require=PARAMETERS) -> dict:
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


def check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} = {value!r} is not allowed; allowed: {', '.join(map(repr, allowed))}")


def distinct_polar(curves) -> list:
    """The distinct polar angles of M in the data (+ pi/2 for rho0): the bands depend on M only through M_z."""
    angles = {round(math.pi / 2, 9)}
    for curve in curves:
        angles.update(round(float(x), 9) for x in onp.unique(onp.abs(onp.cos(onp.asarray(curve.theta)))))
    cosines = sorted(angles)
    if len(cosines) > 6:  # extremes and a few between: the band set changes monotonically with |M_z|
        cosines = [cosines[int(round(i))] for i in onp.linspace(0, len(cosines) - 1, 6)]
    return cosines


def bands_at(params, fermi_energy, cosines) -> tuple:
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
    values = check_params(params)
    check_finite("fermi_energy", fermi_energy)
    check_choice("model", model, MODELS)
    num = check_count("num", num, minimum=8)
    bands = bands_at(values, float(fermi_energy), distinct_polar([curve]))
    return _predict_jit(values, curve.columns, curve.kind, curve_arrays(curve), float(fermi_energy), bands, num, model)


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
    truth = check_params(params)
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



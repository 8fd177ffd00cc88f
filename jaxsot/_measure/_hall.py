"""Harmonic Hall signals of a macrospin driven by an AC current (docs: Theory > Harmonic Hall signals).

Measurement model. Hall bar: current I(t) = I0 sin(w t) along x (current density j(t) = j0 sin(w t),
E = rho0 j), Hall voltage along y, interface normal z. External field of magnitude B at polar angle
theta_H (from z) and azimuth phi_H (from x), plus an optional constant bias. Hall resistance

    R_H(M) = R_AHE M_z + R_PHE M_x M_y (+ R_OHE B_z)          [ohm]

(anomalous and planar Hall effects; R_PHE M_x M_y = (R_PHE/2) sin^2(theta) sin(2 phi); the ordinary Hall
effect R_OHE B_z of the applied field's z component adds to R_1w only: it does not depend on M).

Quasi-static macrospin. The drive is slow compared with the magnet's relaxation (kHz against GHz), so
M(t) is the equilibrium of the LLG at the instantaneous current: the torque balance
    M x [B_0(M) + j/j0 B_SO(M)] = 0,  B_0 = B_ext + B_K (u.M) u - mu0 M_s N M,
    B_SO = B_FL(M) + B_DL(M) + B_Oe y      (current-induced fields at the amplitude j0, `_fields.py`)
(the Gilbert damping drops out of a stationary state). At j = 0 it is a minimum of the energy
e(M) = -B_ext.M - (1/2) M.A.M, A = B_K u u^T - mu0 M_s N, found by a damped (saddle-free) Newton
iteration on the sphere from M_start: in a tangent basis E = (e1, e2) of M, gradient g = -E^T B_0 and
Hessian H = -E^T A E + (M.B_0) 1 (the second term is the sphere's curvature), step -|H|^-1 g limited to
0.3 rad, with a push along a negative-curvature direction at a saddle (`jaxsot._llg._equilibrium`, the
solver the LLG layer shares). The implicit-function theorem
then gives M(j) to first order: linearizing E^T P_perp(M) [B_0(M) + (j/j0) B_SO] = 0 about M0,
    -g - H v + (j/j0) E^T B_SO(M0) = 0,   so   dM = E H^-1 E^T B_SO(M0)   (M = M0 + (j/j0) dM + O(j^2)).
Gradients with respect to every parameter: the Newton loop is not differentiated (stop_gradient); one
Newton step from the converged M carries the implicit derivative dM0/dp = -E H^-1 dg/dp, and dM is an
explicit function of M0 and the parameters.

Harmonics. V_H(t) = R_H(M(t)) I(t) with s = sin(w t):
    V_H = I0 [R_H(M0) s + (grad R_H . dM) s^2 + O(j0^2 s^3)],   s^2 = (1 - cos 2wt)/2.
Lock-in convention (reference sin(w t) in phase with the current):
    R_1w = (1/I0) (2/T) int V_H sin(w t) dt        (in phase, first harmonic)
    R_2w = -(1/I0) (2/T) int V_H cos(2 w t) dt     (amplitude of -cos(2wt), the 90-degree second harmonic)
so that, to leading order in j0,
    R_1w = R_H(M0),   R_2w = (1/2) grad R_H(M0) . dM + R_ANE M0_x,
    grad R_H = (R_PHE M_y, R_PHE M_x, R_AHE).
R_2w > 0 when R_H grows with a positive current. The O(j0^2) corrections of R_1w (from s^3) and the
third harmonic are not modelled. Thermal term (optional): a Joule-heating temperature gradient along z
gives an anomalous-Nernst Hall voltage V_th = (2 R_ANE/I0) M_x I(t)^2, i.e. R_ANE M0_x in R_2w (R_ANE is
the size of that term at the drive amplitude; it scales as I0, like the SOT part). Optional field
dependence (`harmonic_hall(..., r_ane_field=...)`, `lockin_harmonics`): R_ANE(B) = R_ANE + R_ANE,B |B_ext|,
the linear suppression of a spin-Seebeck (magnon) contribution by the applied field; the anomalous
Nernst part of a metallic magnet is field independent.

Electron source. B_FL(M), B_DL(M) come from any `TwoBandModel` whose magnetization is turned by
`with_magnetization`: `harmonic_hall_forward(params, settings)` is the Rashba ferromagnet's
differentiable forward model (parameters by name, for fits); `jaxsot.harmonic_hall(magnet, torque, ...)`
(`_harmonic.py`) takes a `SpinOrbitTorque` or a `ModelTorque` (TI surface, Rashba-Dresselhaus,
lattice models, a user's model: exact bands). `hall_points` is the one readout for both.
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .._core import check_count, check_finite, check_range, check_shape, float_dtype, is_concrete
from .._core._model import RashbaFerromagnet, TwoBandModel
from .._core._params import model_parameters, parameter_names, replace_parameters
from .._llg import ModelTorque, SpinOrbitTorque
from .._llg._equilibrium import anisotropy_matrix as anisotropy_matrix
from .._llg._equilibrium import equilibrium as equilibrium
from .._llg._equilibrium import gradient_hessian as gradient_hessian
from .._llg._equilibrium import relax as relax
from .._llg._equilibrium import tangent_basis as tangent_basis
from ._fields import METHODS, model_field_vectors, moment_per_area, sot_field_vectors
from ._polar import check_polar_nodes, switched_flux, switched_table

HALL_PARAMETERS = ("alpha", "j_ex", "mass_ratio", "tau", "anisotropy_field", "r_ahe", "r_phe", "r_ane", "oersted_field", "r_ohe",
                   "r_ane_field")
"""Parameters of `harmonic_hall_forward` (the ones a fit can vary), in this order."""

HALL_PARAMETER_UNITS = {
    "alpha": "eV nm",
    "j_ex": "eV",
    "mass_ratio": "1",
    "tau": "fs",
    "anisotropy_field": "T",
    "r_ahe": "ohm",
    "r_phe": "ohm",
    "r_ane": "ohm",
    "oersted_field": "T",
    "r_ohe": "ohm/T",
    "r_ane_field": "ohm/T",
}

HALL_DEFAULTS = {"mass_ratio": 1.0, "r_phe": 0.0, "r_ane": 0.0, "oersted_field": 0.0, "r_ohe": 0.0, "r_ane_field": 0.0}
"""Values used for parameters missing from the dict; the others are required."""

def thermal_coefficient(params, b_ext):
    """The thermal term's R_ANE at the applied field b_ext (3,) [T]: r_ane + r_ane_field |B_ext| [ohm].

    The field term is optional (`harmonic_hall(..., r_ane_field=...)`): params without "r_ane_field" give
    r_ane itself. Finite derivatives at B_ext = 0.
    """
    if "r_ane_field" not in params:
        return params["r_ane"]
    b2 = b_ext @ b_ext
    magnitude = jnp.where(b2 > 0.0, jnp.sqrt(jnp.where(b2 > 0.0, b2, 1.0)), 0.0)
    return params["r_ane"] + params["r_ane_field"] * magnitude


def hall_resistance(m, r_ahe, r_phe):
    """Hall resistance R_H(M) = R_AHE M_z + R_PHE M_x M_y [ohm] (current along x, Hall voltage along y).

    Args:
        m: unit magnetizations, shape (..., 3).
        r_ahe: anomalous Hall resistance R_AHE [ohm] (broadcasts with m[..., 0]).
        r_phe: planar Hall resistance R_PHE [ohm] (broadcasts with m[..., 0]).

    Returns: R_H, shape (...,) [ohm].
    """
    m = jnp.asarray(m)
    return r_ahe * m[..., 2] + r_phe * m[..., 0] * m[..., 1]


def field_direction(theta_h, phi_h):
    """Unit vector (..., 3) of a field at polar angle theta_h (from z) and azimuth phi_h (from x) [rad]."""
    theta_h, phi_h = jnp.broadcast_arrays(jnp.asarray(theta_h), jnp.asarray(phi_h))
    s = jnp.sin(theta_h)
    return jnp.stack([s * jnp.cos(phi_h), s * jnp.sin(phi_h), jnp.cos(theta_h)], -1)


def default_start(b_ext, easy_axis):
    """Default M_start: the field direction tilted towards +u by 0.1 (u itself at zero field); (..., 3)."""
    b_ext = jnp.asarray(b_ext)
    norm = jnp.sqrt(jnp.sum(b_ext**2, -1, keepdims=True))
    start = b_ext / jnp.where(norm > 0.0, norm, 1.0) + 0.1 * jnp.asarray(easy_axis, b_ext.dtype)
    return start / jnp.sqrt(jnp.sum(start**2, -1, keepdims=True))


class HallSettings(eqx.Module):
    """Fixed settings of a harmonic Hall measurement (the non-fitted inputs of `harmonic_hall_forward`).

    Args:
        phi_h: field azimuth from the current direction x [rad], broadcast with field and theta_h to (N,).
        field: field magnitude B [T], broadcast to (N,).
        theta_h: field polar angle from z [rad] (default pi/2: in-plane field), broadcast to (N,).
        fermi_energy: E_F [eV].
        current_density: amplitude j0 [A/m^2] (E0 = rho0 j0 along x).
        rho0: resistivity [ohm m] (> 0).
        ms_tesla: mu0 M_s [T] (> 0).
        thickness: magnet thickness t_F [nm] (> 0).
        easy_axis: uniaxial axis u (3,) (default z: perpendicular; (1, 0, 0): in-plane along the current).
        demag: demagnetizing factors (N_x, N_y, N_z), each in [0, 1] (default thin film (0, 0, 1)).
        bias_field: constant field added to the swept one (3,) [T].
        m_start: (3,) or (N, 3) start of the energy descent (the branch of a hysteretic magnet), default
            `default_start` (the field direction tilted towards +u).
        model: "exact" or "strong_exchange" (electron response, `_fields.sot_field_vectors`).
        num: rays per Fermi contour (exact, >= 8).
        bands: occupied bands (exact; `hall_bands(params, fermi_energy)`).
        field_like: include B_FL.
        damping_like: include B_DL.

    Raises:
        ValueError: naming the argument, its value and the allowed range.
    """

    phi_h: Float[Array, "N"]
    theta_h: Float[Array, "N"]
    field: Float[Array, "N"]
    m_start: Float[Array, "N 3"]
    fermi_energy: Float[Array, ""]
    current_density: Float[Array, ""]
    rho0: Float[Array, ""]
    ms_tesla: Float[Array, ""]
    thickness: Float[Array, ""]
    easy_axis: Float[Array, "3"]
    demag: Float[Array, "3"]
    bias_field: Float[Array, "3"]
    model: str = eqx.field(static=True)
    num: int = eqx.field(static=True)
    bands: tuple = eqx.field(static=True)
    field_like: bool = eqx.field(static=True)
    damping_like: bool = eqx.field(static=True)

    def __init__(
        self,
        phi_h,
        field,
        *,
        theta_h=math.pi / 2,
        fermi_energy,
        current_density,
        rho0,
        ms_tesla,
        thickness,
        easy_axis=(0.0, 0.0, 1.0),
        demag=(0.0, 0.0, 1.0),
        bias_field=(0.0, 0.0, 0.0),
        m_start=None,
        model="exact",
        num=64,
        bands=None,
        field_like=True,
        damping_like=True,
    ):
        for name, value in (("phi_h", phi_h), ("field", field), ("theta_h", theta_h), ("fermi_energy", fermi_energy), ("current_density", current_density)):
            check_finite(name, value)
        check_range("rho0", rho0, low=0.0, low_inclusive=False, unit="ohm m")
        check_range("ms_tesla", ms_tesla, low=0.0, low_inclusive=False, unit="T")
        check_range("thickness", thickness, low=0.0, low_inclusive=False, unit="nm")
        check_range("demag", demag, low=0.0, high=1.0)
        check_shape("demag", demag, (3,))
        check_shape("easy_axis", easy_axis, (3,))
        check_shape("bias_field", bias_field, (3,))
        check_finite("bias_field", bias_field)
        check_finite("easy_axis", easy_axis)
        if model not in METHODS:
            raise ValueError(f"model = {model!r} is not allowed; allowed: {', '.join(map(repr, METHODS))}")
        self.num = check_count("num", num, minimum=8)
        if model == "exact":
            if bands is None:
                raise ValueError("bands = None with model = 'exact'; allowed: a tuple of occupied bands, e.g. hall_bands(params, fermi_energy)")
            bands = tuple(int(b) for b in bands)
            if not bands or any(b not in (-1, 1) for b in bands) or len(set(bands)) != len(bands):
                raise ValueError(f"bands = {bands!r} is not allowed; allowed: (-1,), (1,) or (-1, 1)")
        dtype = float_dtype(jnp.asarray(phi_h), jnp.asarray(field), jnp.asarray(theta_h), jnp.asarray(rho0))
        phi_h, field, theta_h = (jnp.asarray(x, dtype) for x in (phi_h, field, theta_h))
        shape = jnp.broadcast_shapes(phi_h.shape, field.shape, theta_h.shape)
        if len(shape) > 1:
            raise ValueError(f"phi_h, field and theta_h broadcast to shape {shape}; allowed: scalars or one dimension (N,)")
        size = shape[0] if shape else 1
        self.phi_h, self.field, self.theta_h = (jnp.broadcast_to(x, shape).reshape(size) for x in (phi_h, field, theta_h))
        u = jnp.asarray(easy_axis, dtype)
        norm = jnp.sqrt(u @ u)
        if is_concrete(norm) and not float(norm) > 0.0:
            raise ValueError("easy_axis = (0, 0, 0); allowed: a non-zero 3-vector (normalized here)")
        self.easy_axis = u / norm
        self.demag = jnp.asarray(demag, dtype)
        self.bias_field = jnp.asarray(bias_field, dtype)
        if m_start is None:
            b_ext = self.field[:, None] * field_direction(self.theta_h, self.phi_h) + self.bias_field
            m_start = default_start(b_ext, self.easy_axis)
        check_shape("m_start", m_start, (3,))
        check_finite("m_start", m_start)
        m_start = jnp.broadcast_to(jnp.asarray(m_start, dtype), (size, 3))
        norms = jnp.sqrt(jnp.sum(m_start**2, -1, keepdims=True))
        if is_concrete(norms) and not bool(jnp.all(norms > 0.0)):
            raise ValueError("m_start has a zero-length vector; allowed: non-zero 3-vectors (normalized here)")
        self.m_start = m_start / norms
        self.fermi_energy, self.current_density, self.rho0, self.ms_tesla, self.thickness = (
            jnp.asarray(x, dtype) for x in (fermi_energy, current_density, rho0, ms_tesla, thickness)
        )
        self.model = model
        self.bands = bands if model == "exact" else ()
        self.field_like = bool(field_like)
        self.damping_like = bool(damping_like)

    @property
    def efield(self):
        """E0 = rho0 j0 along x [V/nm], shape (2,)."""
        e = self.rho0 * self.current_density * 1e-9
        return jnp.stack([e, jnp.zeros_like(e)])


class HallSignals(eqx.Module):
    """Quasi-static harmonic Hall signals at N field points (module docstring for the conventions).

    Fields:
        r_1w, r_2w (N,) [ohm]: first (in-phase) and second (amplitude of -cos 2wt) harmonic Hall resistances
            (NaN where the equilibrium did not converge);
        m_eq (N, 3): equilibrium M0 at j = 0; dm (N, 3): first-order change of M at the amplitude j0
            (M = M0 + (j/j0) dm + O(j^2));
        b_sot (N, 3) [T]: B_FL + B_DL + B_Oe y at M0 and j0; b_fl, b_dl (N, 3) [T]: its parts;
        converged (N,) bool.
    """

    r_1w: Float[Array, "N"]
    r_2w: Float[Array, "N"]
    m_eq: Float[Array, "N 3"]
    dm: Float[Array, "N 3"]
    b_sot: Float[Array, "N 3"]
    b_fl: Float[Array, "N 3"]
    b_dl: Float[Array, "N 3"]
    converged: Bool[Array, "N"]


def check_hall_params(params) -> dict:
    """The parameter dict with defaults filled in (`HALL_DEFAULTS`); ValueError for unknown or missing names."""
    if not isinstance(params, dict):
        raise ValueError(f"params is a {type(params).__name__}; allowed: a dict with keys from {HALL_PARAMETERS}")
    unknown = sorted(set(params) - set(HALL_PARAMETERS))
    if unknown:
        raise ValueError(f"params has unknown names {unknown}; allowed: {', '.join(HALL_PARAMETERS)}")
    missing = [n for n in HALL_PARAMETERS if n not in params and n not in HALL_DEFAULTS]
    if missing:
        raise ValueError(f"params is missing {missing}; required: alpha, j_ex, tau, anisotropy_field, r_ahe")
    out = {**HALL_DEFAULTS, **params}
    # The returned values carry the traced checks (under jit/grad/vmap): a discarded one would be dropped.
    for name in ("j_ex", "tau", "mass_ratio"):
        out[name] = check_range(name, out[name], low=0.0, low_inclusive=False, unit=HALL_PARAMETER_UNITS[name])
    for name in HALL_PARAMETERS:
        out[name] = check_finite(name, out[name])
    return out


def hall_bands(params, fermi_energy) -> tuple:
    """Occupied bands of the Rashba ferromagnet (alpha, j_ex, mass_ratio of params) at E_F, checked for every M.

    Uses `jaxsot.SpinOrbitTorque`'s check (concrete values).

    Args:
        params: dict with names from `HALL_PARAMETERS` (alpha, j_ex, mass_ratio are used).
        fermi_energy: E_F [eV].

    Returns: the occupied bands, (-1,), (1,) or (-1, 1).

    Raises:
        ValueError: the occupied bands change as M turns, eta >= 1, or bad params.
    """
    p = check_hall_params(params)
    probe = SpinOrbitTorque(p["alpha"], p["j_ex"], fermi_energy, (1.0, 0.0), 1.0, mass_ratio=p["mass_ratio"])
    return probe.bands


@functools.partial(jax.jit, static_argnames=("polar_nodes", "checked"))
def rashba_points(params, settings: HallSettings, polar_nodes: int = 0, checked: bool = True, direct=None) -> HallSignals:
    """First-order signals of the Rashba ferromagnet of `params` (arrays, `param_arrays`) at the settings' points;
    polar_nodes > 0 (exact model): the sea's flux tensor interpolated in M_z from that many solves (`_polar.py`);
    checked=False (static: its own compiled program): without the model's traced range checks
    (`_fields.rashba_model`), for callers that verified params on the host (the Hall fit's parameter box);
    direct (polar_nodes > 0): None, or a traced bool choosing the direct route at run time (`_polar.switched_flux`)."""
    return hall_points(params, settings, rashba_fields(params, settings, polar_nodes, checked, direct))


def rashba_fields(params, settings: HallSettings, polar_nodes: int = 0, checked: bool = True, direct=None):
    """m (3,) -> (B_FL, B_DL) of the Rashba ferromagnet of params at the amplitude j0 (traceable): every m its own
    Fermi-contour solve (polar_nodes = 0, or the strong-exchange closed forms), or `_polar.flux_at` of one
    `flux_table` of polar_nodes solves (exact model); with a traced bool `direct`, either of the two at run time."""
    p = params
    moment = moment_per_area(settings.ms_tesla, settings.thickness)
    efield = settings.efield
    table = None
    electrons = (p["alpha"], p["j_ex"], p["mass_ratio"], settings.fermi_energy)
    if polar_nodes and settings.model == "exact":
        table = switched_table(*electrons, bands=settings.bands, num=settings.num, nodes=polar_nodes, checked=checked, direct=direct)

    def fields(m0):
        flux = None if table is None else switched_flux(table, m0, direct, *electrons, bands=tuple(settings.bands), num=settings.num,
                                                        checked=checked)
        return sot_field_vectors(
            p["alpha"], p["j_ex"], p["mass_ratio"], p["tau"], settings.fermi_energy, efield, m0, moment,
            method=settings.model, bands=settings.bands, num=settings.num,
            field_like=settings.field_like, damping_like=settings.damping_like,
            flux=flux, checked=checked,
        )

    return fields


def hall_points(params, settings: HallSettings, fields) -> HallSignals:
    """The first-order signals at the settings' field points for any electron source (traceable).

    Args:
        params: dict of arrays with anisotropy_field, r_ahe, r_phe, r_ane, oersted_field, r_ohe (others unused).
        settings: the measurement (`HallSettings`).
        fields: m (3,) -> (B_FL, B_DL) (3,) each [T] at the amplitude j0 (the electron source).

    Returns: HallSignals.
    """
    dtype = settings.phi_h.dtype
    p = params
    stiffness = anisotropy_matrix(p["anisotropy_field"], settings.easy_axis, settings.ms_tesla, settings.demag)
    y = jnp.asarray([0.0, 1.0, 0.0], dtype)

    def one(phi_h, theta_h, field, m_start):
        b_ext = field * field_direction(theta_h, phi_h) + settings.bias_field
        m0, basis, h, converged = equilibrium(b_ext, stiffness, m_start)
        b_fl, b_dl = fields(m0)
        b_sot = b_fl + b_dl + p["oersted_field"] * y
        dm = basis @ jnp.linalg.solve(h, basis.T @ b_sot)
        grad_r = jnp.stack([p["r_phe"] * m0[1], p["r_phe"] * m0[0], p["r_ahe"]])
        r_1w = hall_resistance(m0, p["r_ahe"], p["r_phe"]) + p["r_ohe"] * b_ext[2]
        r_2w = 0.5 * grad_r @ dm + thermal_coefficient(p, b_ext) * m0[0]
        nan = jnp.asarray(jnp.nan, dtype)
        return HallSignals(
            r_1w=jnp.where(converged, r_1w, nan),
            r_2w=jnp.where(converged, r_2w, nan),
            m_eq=m0,
            dm=dm,
            b_sot=b_sot,
            b_fl=b_fl,
            b_dl=b_dl,
            converged=converged,
        )

    return jax.vmap(one)(settings.phi_h, settings.theta_h, settings.field, settings.m_start)


def harmonic_hall_forward(params: dict, settings: HallSettings, *, model=None, polar_nodes: int = 0):
    """Predicted (R_1w, R_2w) (N,) each [ohm] at the settings' field points, for the Rashba ferromagnet or any model.

    A pure, differentiable forward model for fitting (module docstring: quasi-static macrospin, implicit
    function theorem, lock-in convention). Points whose equilibrium did not converge are NaN.
    jit/vmap/grad-friendly in params (jax.jit(harmonic_hall_forward) compiles once per settings structure;
    with a general `model`, the model and the settings' Fermi energy must be concrete: its occupied bands
    are checked on the host at the model's own values).

    Args:
        params: dict with names from HALL_PARAMETERS (units in HALL_PARAMETER_UNITS; missing optional
            ones from HALL_DEFAULTS): alpha [eV nm], j_ex [eV], mass_ratio, tau [fs] (the electron model),
            anisotropy_field B_K [T] (uniaxial, along settings.easy_axis; the shape anisotropy mu0 M_s N
            comes on top), r_ahe, r_phe, r_ane [ohm], oersted_field [T] (along +y at the amplitude),
            r_ohe [ohm/T] (ordinary Hall effect, R_OHE B_z in R_1w), r_ane_field [ohm/T] (field dependence of
            the thermal term, R_ANE(B) = r_ane + r_ane_field |B_ext|; default 0). With a general `model`: tau,
            any of `jaxsot.parameter_names(model)` (the others keep the model's values) and the magnet and
            Hall names above (`model_hall_names(model)`).
        settings: the measurement (`HallSettings`: field points, sample, current, electron method).
        model: None (the Rashba ferromagnet of params), a `RashbaFerromagnet` (its alpha, j_ex, mass_ratio
            fill the missing ones: the same route), or any other `TwoBandModel` with `with_magnetization`
            (exact bands, `settings.model` must be "exact"; its magnetization is not used).
        polar_nodes: 0 (default): one Fermi-contour solve at every point's M0; n >= 4 (the Rashba ferromagnet's
            exact model; the fits' fast route): the sea's flux tensor from n solves at Chebyshev nodes in M_z,
            interpolated through the model's rotation symmetry about z (`jaxsot._measure._polar`; choose n with
            `polar_nodes_for`, which measures the difference from the direct route). No effect with strong exchange.

    Returns: (R_1w, R_2w), each (N,) [ohm].

    Raises:
        ValueError: unknown or missing parameter names, values out of range, or a model without the members.
    """
    if model is not None and not isinstance(model, TwoBandModel):
        raise ValueError(f"model is a {type(model).__name__}; allowed: a jaxsot.TwoBandModel or None (the Rashba ferromagnet)")
    polar_nodes = check_polar_nodes(polar_nodes)
    if model is None or type(model) is RashbaFerromagnet:
        if model is not None and isinstance(params, dict):
            params = {**{n: v for n, v in model_parameters(model).items()}, **params}
        signals = rashba_points(_as_arrays(check_hall_params(params), settings), settings, polar_nodes)
        return signals.r_1w, signals.r_2w
    if polar_nodes:
        raise ValueError(f"polar_nodes = {polar_nodes} with model = {type(model).__name__}: the interpolation rests on the Rashba "
                         "ferromagnet's rotation symmetry about z; allowed: polar_nodes = 0 (the direct route)")
    if settings.model != "exact":
        raise ValueError(f"settings.model = {settings.model!r}: the strong-exchange fields are closed forms of the Rashba "
                         f"ferromagnet; model = {type(model).__name__} has none; allowed: 'exact'")
    names = parameter_names(model)
    values = check_model_hall_params(params, model)
    torque = model_hall_torque(model, settings)
    signals = _general_points(_as_arrays(values, settings), torque, names, settings)
    return signals.r_1w, signals.r_2w


def model_hall_names(model) -> tuple:
    """The parameter names of the harmonic Hall forward model of any `TwoBandModel`: the model's named
    parameters (`jaxsot.parameter_names`), tau, then the magnet and Hall names of HALL_PARAMETERS."""
    return tuple(parameter_names(model)) + ("tau",) + HALL_PARAMETERS[4:]


def check_model_hall_params(params, model) -> dict:
    """Params of a general model's Hall forward model with defaults (HALL_DEFAULTS); ValueError naming bad names."""
    allowed = model_hall_names(model)
    if not isinstance(params, dict):
        raise ValueError(f"params is a {type(params).__name__}; allowed: a dict with keys from {', '.join(allowed)}")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"params has unknown names {unknown} for {type(model).__name__}; allowed: {', '.join(allowed)}")
    missing = [n for n in ("tau", "anisotropy_field", "r_ahe") if n not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; required: tau, anisotropy_field, r_ahe")
    out = {**{k: v for k, v in HALL_DEFAULTS.items() if k in allowed}, **params}
    out["tau"] = check_range("tau", out["tau"], low=0.0, low_inclusive=False, unit="fs")
    for name in out:
        out[name] = check_finite(name, out[name])
    return out


def model_hall_torque(model, settings: HallSettings):
    """The `ModelTorque` of a general model at the settings' E_F and E0 (host check of its occupied bands);
    its tau and named parameters are replaced per evaluation (`with_model_parameters`)."""
    torque = ModelTorque(model, settings.fermi_energy, settings.efield, 1.0, num=settings.num,
                         field_like=settings.field_like, damping_like=settings.damping_like)
    dtype = settings.phi_h.dtype
    return jax.tree_util.tree_map(lambda x: x.astype(dtype) if eqx.is_array(x) and jnp.issubdtype(x.dtype, jnp.floating) else x,
                                  torque)


def with_model_parameters(torque, params, names):
    """The ModelTorque with tau and its model's named parameters from params (traceable, differentiable)."""
    model = replace_parameters(torque.model, **{n: params[n] for n in names if n in params})
    return eqx.tree_at(lambda t: (t.model, t.tau), torque, (model, jnp.asarray(params["tau"], torque.tau.dtype)))


@eqx.filter_jit
def _general_points(params, torque, names, settings):
    torque = with_model_parameters(torque, params, names)
    moment = moment_per_area(settings.ms_tesla, settings.thickness)
    return hall_points(params, settings, lambda m: model_field_vectors(torque, m, moment))


def _as_arrays(params, settings):
    # One dtype, no weak types: Python floats and arrays then share one compiled `rashba_points`.
    dtype = settings.phi_h.dtype
    return {k: jnp.asarray(v, dtype) for k, v in params.items()}


def param_arrays(params, settings):
    """The parameter dict as arrays of the settings' dtype (no weak types: one compiled program for all)."""
    return _as_arrays(params, settings)

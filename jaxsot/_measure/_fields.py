"""Spin-orbit-torque effective fields B_DL(M), B_FL(M) and SOT efficiencies (docs: Theory > Harmonic Hall signals).

Geometry. The current density j flows along the in-plane unit vector x_j = E/|E| (x of a Hall bar),
z is the interface normal and y_j = z x x_j (y of the Hall bar). E = rho0 j (rho0 [ohm m]).

Convention. The spin-orbit part of the LLG (`jaxsot.llg_rates`),
    T_SO = dM/dt|_SO = -kappa P_perp (T1 + T2),   kappa = g mu_B/(2 M_s d),
is written as the precession of the unit magnetization M about an effective field,
    T_SO = -gamma M x B_SO,   B_SO = B_FL + B_DL,   B_X = (1/gamma) M x T_X  (X = FL, DL),
the one field perpendicular to M with that torque (a part along M exerts none):
    -gamma M x ((1/gamma) M x T) = -M (M.T) + T = T for T perpendicular to M.
With kappa/gamma = hbar/(2 n_mu mu_B) (n_mu mu_B = M_s d, the moment per area):
    B_FL = (1/gamma) M x (-kappa P_perp T1) = (J/(n_mu mu_B)) P_perp delta S          [T]
    B_DL = (1/gamma) M x (-kappa P_perp T2) = (hbar/(2 n_mu mu_B)) M x dS/dt          [T]
(T1 = (2J/hbar) M x delta S, delta S the spin of the sea shifted by Delta k = qE tau/hbar; T2 = -dS/dt
of the sea accelerated by k' = qE/hbar: `jaxsot.electron_response`). B_FL comes from T1 and is even
in M, B_DL from T2 and is odd in M (tests/measure: exactly, for the exact bands too).

Scalar fields are the projections on the lowest-order angular structures (`_angular.py`):
    B_FL^s = B_FL . (P_perp y_j)/|P_perp y_j|^2,     B_DL^s = B_DL . (M x y_j)/|M x y_j|^2,
so that B_FL = B_FL^s P_perp y_j and B_DL = B_DL^s (M x y_j) exactly in the strong-exchange limit.
B_FL^s > 0: the field-like field points along +y_j. B_DL^s > 0: T_DL = -gamma B_DL^s M x (M x y_j) =
gamma B_DL^s P_perp y_j turns M towards +y_j. Both are NaN at M = +-y_j, where the structures vanish.

Per current density b = B^s/j [T/(A/m^2)] (multiply by 1e11 for T per 1e11 A/m^2); the torques are
linear in E, so b does not depend on j. SOT efficiency (SI): xi = (2e/hbar) M_s t_F b.

Strong-exchange closed forms (J >> alpha k_F, n_p = n_lower - n_upper at M || z; SI):
    B_FL^s/j = -alpha n_p e rho0 tau/(M_s t_F hbar),  xi_FL = -2 alpha n_p e^2 rho0 tau/hbar^2,
    B_DL^s/j = -alpha n_p e rho0/(2 M_s t_F J),       xi_DL = -(e^2 rho0/hbar) n_p alpha/J;
with the Drude time of `jaxsot llg`, tau = m t_F/(rho0 e^2 n), xi_FL = -2 alpha p m t_F/hbar^2 (p = n_p/n).
"""


import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float

from .._core import RashbaFerromagnet, check_finite, check_range, check_shape, float_dtype, is_concrete
from .._core._checks import traced_check
from .._core._model import unchecked_rashba
from .._llg import Magnet, ModelTorque, SpinOrbitTorque, electron_response
from .._llg._torque import cross_z, current_fields
from .._ensemble._fluxes import contour_fluxes
from .._fermi._circular import circular_densities
from ..constants import (
    CARRIER_CHARGE,
    HBAR,
    MU0,
    MU_B_EV_PER_T,
    MU_B_J_PER_T,
)

METHODS = ("exact", "strong_exchange")
"""Electron-response methods: exact bands (Fermi-contour fluxes) or the strong-exchange closed forms."""

REFERENCE_CURRENT = 1.0e11
"""Current density [A/m^2] used in reports: fields "per 1e11 A/m^2" are b * REFERENCE_CURRENT [T]."""

# 2e/hbar in SI, 1/(V s): hbar = HBAR [eV fs] = HBAR * 1e-15 e [J s].
_TWO_E_OVER_HBAR_SI = 2.0 / (HBAR * 1.0e-15)


def moment_per_area(ms_tesla, thickness):
    """n_mu mu_B = M_s d, the magnet's moment per area [eV/(T nm^2)] (`jaxsot.Magnet.moment_density` x mu_B).

    ms_tesla: mu0 M_s [T]; thickness: d [nm]. Broadcasts.
    """
    n_mu = ms_tesla / MU0 * (thickness * 1e-9) / MU_B_J_PER_T * 1e-18  # mu_B per nm^2
    return n_mu * MU_B_EV_PER_T


def efficiency(field_per_current, ms_tesla, thickness):
    """SOT efficiency xi = (2e/hbar) M_s t_F b (dimensionless, SI).

    Broadcasts its arguments.

    Args:
        field_per_current: effective field per current density b [T/(A/m^2)].
        ms_tesla: saturation magnetization mu0 M_s [T].
        thickness: ferromagnet thickness t_F [nm].

    Returns: xi (dimensionless).
    """
    return _TWO_E_OVER_HBAR_SI * (ms_tesla / MU0) * (thickness * 1e-9) * field_per_current


def sot_efficiency(field_per_current, ms_tesla, thickness):
    """SOT efficiency xi = (2e/hbar) M_s t_F b (dimensionless, SI) of a field per current density b.

    Args:
        field_per_current: b = B^s/j [T/(A/m^2)], any shape (finite).
        ms_tesla: mu0 M_s [T], > 0 (an efficiency needs a magnet: M_s = 0 has no defined xi).
        thickness: t_F [nm], > 0.
    Returns: xi, broadcast shape of the inputs.
    Raises: ValueError for non-finite b or M_s, t_F <= 0 (traced inputs: at run time).
    """
    field_per_current = check_finite("field_per_current", field_per_current)
    ms_tesla = check_range("ms_tesla", ms_tesla, low=0.0, low_inclusive=False, unit="T")
    thickness = check_range("thickness", thickness, low=0.0, low_inclusive=False, unit="nm")
    return efficiency(jnp.asarray(field_per_current), ms_tesla, thickness)


def sot_field_vectors(
    alpha,
    j_ex,
    mass_ratio,
    tau,
    fermi_energy,
    efield,
    m,
    moment,
    *,
    method: str,
    bands: tuple = (),
    num: int = 64,
    field_like: bool = True,
    damping_like: bool = True,
    flux=None,
    checked: bool = True,
):
    """The current-induced fields (B_FL, B_DL) at one magnetization, (3,) each [T]; jit/vmap/grad-friendly.

    Args:
        alpha [eV nm], j_ex [eV], mass_ratio [1], tau [fs], fermi_energy [eV]: the electron model (scalars).
        efield: in-plane E (2,) [V/nm]. m: unit magnetization (3,). moment: n_mu mu_B = M_s d [eV/(T nm^2)]
        (`moment_per_area`). method: "exact" (Fermi-contour fluxes of the exact bands, `jaxsot.fit.contour_fluxes`,
        implicit-function gradients) or "strong_exchange" (closed forms, paper eq. 14 and A1). bands: static
        tuple of the occupied bands (exact method; `SpinOrbitTorque.bands`). num: rays per contour (exact).
        field_like, damping_like: include T1 / T2. flux: the sea's flux tensor A (3, 2) at m (exact method) when
        already known (`_polar.flux_at`, the interpolated route); None: solved here. checked: False leaves out the
        model's traced range checks (`rashba_model`); only for callers that verified the values on the host.
    Returns: (B_FL, B_DL), both perpendicular to m (module docstring):
        B_FL = (J/(n_mu mu_B)) P_perp delta S, B_DL = (hbar/(2 n_mu mu_B)) M x dS/dt.
    """
    dtype = m.dtype
    kdot = CARRIER_CHARGE * jnp.asarray(efield, dtype) / HBAR  # k' = qE/hbar [1/(nm fs)]
    shift = kdot * tau  # Delta k = qE tau/hbar [1/nm]
    if method == "strong_exchange":
        n_lower, n_upper = circular_densities(alpha, j_ex, mass_ratio, fermi_energy)
        n_p = n_lower - n_upper
        spin_shift = -n_p * alpha / j_ex * cross_z(shift)
        spin_rate = -n_p * alpha / j_ex * cross_z(kdot)
    elif method == "exact":
        if flux is None:
            flux, _, _ = contour_fluxes(rashba_model(alpha, j_ex, m, mass_ratio, checked), fermi_energy, tuple(bands), num)
        spin_shift, spin_rate = flux @ shift, flux @ kdot
    else:
        raise ValueError(f"method = {method!r} is not allowed; allowed: {', '.join(map(repr, METHODS))}")
    return current_fields(m, spin_shift, spin_rate, j_ex, moment, field_like=field_like, damping_like=damping_like)


def rashba_model(alpha, j_ex, m, mass_ratio, checked: bool = True) -> RashbaFerromagnet:
    """`RashbaFerromagnet(alpha, j_ex, m, mass_ratio)`; checked=False: the same model (M normalized the same way)
    without the constructor's traced checks of alpha, j_ex and mass_ratio, whose `equinox.error_if` is a host callback that
    keeps JAX's persistent cache from storing the program. Only for callers that verified the values on the host
    beforehand (the harmonic Hall fit checks its whole parameter box); `checked` must be a static argument of
    every jitted function between such a caller and this one, so that no cache mixes the two programs."""
    if checked:
        return RashbaFerromagnet(alpha, j_ex, m, mass_ratio)
    return unchecked_rashba(alpha, j_ex, m, mass_ratio)


def model_field_vectors(torque, m, moment):
    """(B_FL, B_DL) (3,) each [T] of a `ModelTorque` at one unit magnetization m (exact bands; traceable).

    The same fields as `sot_field_vectors`: B_FL = (J/(n_mu mu_B)) P_perp delta S and
    B_DL = (hbar/(2 n_mu mu_B)) M x dS/dt, from `jaxsot.electron_response` of the model with M = m
    (J read from the model, `jaxsot._llg.exchange_coupling`).
    """
    response = electron_response(torque, m)
    return current_fields(m, response["spin_shift"], -response["damping_like"], response["exchange"], moment,
                          field_like=torque.field_like, damping_like=torque.damping_like)


def _safe_ratio(numerator, denominator):
    """numerator/denominator, NaN where the denominator vanishes (with finite gradients elsewhere)."""
    small = denominator <= 1e-12
    return jnp.where(small, jnp.nan, numerator / jnp.where(small, 1.0, denominator))


def project_fields(b_fl, b_dl, m, current_direction):
    """Scalar projections (B_FL^s, B_DL^s) on P_perp y_j and M x y_j (module docstring); shapes (...,).

    Args: b_fl, b_dl, m (..., 3); current_direction x_j (2,) or (3,) in-plane unit vector.
    NaN where M = +-y_j.
    """
    x = jnp.asarray(current_direction)[..., :2]
    y = jnp.stack([-x[1], x[0], jnp.zeros_like(x[0])]).astype(m.dtype)  # z x x_j
    my = m @ y
    norm2 = 1.0 - my**2  # |P_perp y|^2 = |M x y|^2
    fl = _safe_ratio(jnp.sum(b_fl * (y - m * my[..., None]), -1), norm2)
    dl = _safe_ratio(jnp.sum(b_dl * jnp.cross(m, y), -1), norm2)
    return fl, dl


class SotFields(eqx.Module):
    """Current-induced fields of one method at magnetizations M (shape (..., 3) -> batch ...).

    Fields:
        field_like, damping_like (..., 3) [T]: B_FL, B_DL at the current density `current_density`.
        field_like_scalar, damping_like_scalar (...) [T]: B_FL^s, B_DL^s (projections, module docstring).
        field_like_per_current, damping_like_per_current (...) [T/(A/m^2)]: B^s/j (x 1e11: T per 1e11 A/m^2).
        field_like_efficiency, damping_like_efficiency (...): xi = (2e/hbar) M_s t_F B^s/j (SI).
    """

    field_like: Float[Array, "... 3"]
    damping_like: Float[Array, "... 3"]
    field_like_scalar: Float[Array, "..."]
    damping_like_scalar: Float[Array, "..."]
    field_like_per_current: Float[Array, "..."]
    damping_like_per_current: Float[Array, "..."]
    field_like_efficiency: Float[Array, "..."]
    damping_like_efficiency: Float[Array, "..."]


class EffectiveFields(eqx.Module):
    """Result of `effective_fields`: the exact-band and the strong-exchange fields side by side.

    Fields: exact, strong_exchange (SotFields); current_density j = |E|/rho0 [A/m^2] (scalar);
    current_direction x_j (2,); m (..., 3) the unit magnetizations.
    """

    exact: SotFields
    strong_exchange: SotFields
    current_density: Float[Array, ""]
    current_direction: Float[Array, "2"]
    m: Float[Array, "... 3"]


def effective_fields(magnet: Magnet, torque, m, rho0, *, methods=None) -> EffectiveFields:
    """SOT effective fields and efficiencies at magnetizations m, exact bands and strong exchange.

    Args:
        magnet: `jaxsot.Magnet` (uses ms_tesla, thickness; one instance, no batch dimensions).
        torque: `jaxsot.SpinOrbitTorque` (alpha, j_ex, E_F, efield = rho0 j, tau, mass_ratio, bands, num,
            field_like, damping_like; its `method` is not used: both methods are evaluated), or a
            `jaxsot.ModelTorque` (any TwoBandModel: exact bands only, M turned by
            `with_magnetization`). One instance.
        m: magnetization directions (..., 3) (normalized here).
        rho0: resistivity [ohm m] (> 0): j = |E|/rho0 with E in V/m.
        methods: which of "exact", "strong_exchange" to evaluate (the other's entries are NaN);
            default both for a SpinOrbitTorque, ("exact",) for a ModelTorque.
    Returns: EffectiveFields (module docstring for the convention and the projections).
    jit/grad-friendly in every float of magnet, torque, m and rho0 (use eqx.filter_grad for the modules).
    Raises ValueError for a zero current, bad shapes, unknown methods, or "strong_exchange" (a closed
    form of the Rashba ferromagnet) with a ModelTorque.
    """
    check_shape("m", m, (3,))
    m = _check_directions(check_finite("m", m))
    rho0 = check_range("rho0", rho0, low=0.0, low_inclusive=False, unit="ohm m")
    general = isinstance(torque, ModelTorque)
    if methods is None:
        methods = ("exact",) if general else METHODS
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"methods contains {method!r}; allowed: {', '.join(map(repr, METHODS))}")
    if general and "strong_exchange" in methods:
        raise ValueError(
            f"methods contains 'strong_exchange', a closed form of the Rashba ferromagnet; torque.model = "
            f"{type(torque.model).__name__} has none; allowed: methods=('exact',)"
        )
    if not isinstance(magnet, Magnet):
        raise ValueError(f"magnet is a {type(magnet).__name__}; allowed: jaxsot.Magnet")
    if not isinstance(torque, (SpinOrbitTorque, ModelTorque)):
        raise ValueError(f"torque is a {type(torque).__name__}; allowed: jaxsot.SpinOrbitTorque or jaxsot.ModelTorque")
    scalars = (("torque.fermi_energy", torque.fermi_energy),) if general else (("torque.alpha", torque.alpha),)
    batched = [n for n, x in scalars + (("torque.tau", torque.tau), ("magnet.ms_tesla", magnet.ms_tesla),
                                        ("magnet.thickness", magnet.thickness)) if jnp.ndim(x) != 0]
    if batched or jnp.ndim(torque.efield) != 1:
        raise ValueError(f"{(batched or ['torque.efield'])[0]} has batch dimensions; allowed: one instance (use jax.vmap for batches)")
    dtype = float_dtype(jnp.asarray(m), torque.tau, magnet.ms_tesla)
    e_norm = jnp.sqrt(jnp.sum(jnp.asarray(torque.efield) ** 2))
    if is_concrete(e_norm) and not float(e_norm) > 0.0:
        raise ValueError("torque.efield = (0, 0): the fields per current density need a current; allowed: a non-zero efield")
    _warn_along_y(m, torque.efield)
    return effective_fields_kernel(magnet, torque, jnp.asarray(m, dtype), jnp.asarray(rho0, dtype), tuple(methods))


def _check_directions(m):
    """`m`, or ValueError for a zero-length row (no direction; traced: at run time)."""
    message = "m has a zero-length row; allowed: non-zero magnetization directions (..., 3) (normalized here)"
    if not is_concrete(m):
        norms = jnp.sum(jnp.asarray(m) ** 2, axis=-1)
        return traced_check(m, jnp.logical_not(jnp.all(norms > 0.0)), message)
    with jax.ensure_compile_time_eval():
        norms = onp.sum(onp.asarray(m, dtype=float) ** 2, axis=-1)
    if not onp.all(norms > 0.0):
        index = tuple(int(i) for i in onp.argwhere(~(onp.atleast_1d(norms) > 0.0))[0]) if onp.ndim(norms) else ()
        raise ValueError(f"m{list(index) if index else ''} = [0, 0, 0] has zero length; allowed: non-zero magnetization directions (..., 3)")
    return m


def _warn_along_y(m, direction):
    """The scalar projections are undefined (NaN) at M = +-y_j (module docstring): say so for concrete inputs."""
    if not is_concrete(m, direction):
        return
    with jax.ensure_compile_time_eval():
        unit = onp.asarray(m, dtype=float).reshape(-1, 3)
        unit = unit / onp.linalg.norm(unit, axis=-1, keepdims=True)
        x = onp.asarray(direction, dtype=float)
        x = x / onp.linalg.norm(x)
        along = onp.abs(1.0 - (unit @ onp.array([-x[1], x[0], 0.0])) ** 2) <= 1e-12
    if onp.any(along):
        warnings.warn(
            f"effective_fields: {int(onp.sum(along))} of the m lie along +-y_j = z x E/|E|, where the scalar fields "
            "(field_like_scalar, damping_like_scalar, per current, efficiencies) are undefined and NaN; the vector "
            "fields (field_like, damping_like) are defined there",
            RuntimeWarning,
            stacklevel=3,
        )


@eqx.filter_jit
def effective_fields_kernel(magnet, torque, m, rho0, methods, checked=True):
    """`effective_fields` after its input checks (m (..., 3) and rho0 arrays of one dtype, methods a tuple);
    checked=False (a Python bool: static, its own program): the Rashba model without its traced range checks
    (`rashba_model`), for callers that verified every input on the host."""
    dtype = m.dtype
    m = m / jnp.linalg.norm(m, axis=-1, keepdims=True)
    efield = jnp.asarray(torque.efield, dtype)
    e_norm = jnp.sqrt(efield @ efield)
    current = e_norm * 1e9 / rho0  # A/m^2 (E in V/m)
    direction = efield / e_norm
    moment = moment_per_area(magnet.ms_tesla, magnet.thickness)
    flat = m.reshape(-1, 3)

    def one(method):
        def at(mi):
            if isinstance(torque, ModelTorque):
                return model_field_vectors(torque, mi, moment)
            return sot_field_vectors(
                torque.alpha, torque.j_ex, torque.mass_ratio, torque.tau, torque.fermi_energy, efield, mi, moment,
                method=method, bands=torque.bands, num=torque.num,
                field_like=torque.field_like, damping_like=torque.damping_like, checked=checked,
            )

        if method in methods:
            b_fl, b_dl = jax.vmap(at)(flat)
        else:
            b_fl = b_dl = jnp.full(flat.shape, jnp.nan, dtype)
        fl, dl = project_fields(b_fl, b_dl, flat, direction)
        batch = m.shape[:-1]
        return SotFields(
            field_like=b_fl.reshape(m.shape),
            damping_like=b_dl.reshape(m.shape),
            field_like_scalar=fl.reshape(batch),
            damping_like_scalar=dl.reshape(batch),
            field_like_per_current=(fl / current).reshape(batch),
            damping_like_per_current=(dl / current).reshape(batch),
            field_like_efficiency=efficiency(fl / current, magnet.ms_tesla, magnet.thickness).reshape(batch),
            damping_like_efficiency=efficiency(dl / current, magnet.ms_tesla, magnet.thickness).reshape(batch),
        )

    return EffectiveFields(
        exact=one("exact"),
        strong_exchange=one("strong_exchange"),
        current_density=current,
        current_direction=direction,
        m=m,
    )

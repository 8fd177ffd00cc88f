"""Harmonic Hall signals at every order in the current: the quasi-static equilibrium at each current phase.

`harmonic_hall_forward` (`_hall.py`) linearizes M(j) about the zero-current equilibrium, so it gives
R_1w and R_2w to leading order in j0 and no third harmonic. Here the same quasi-static macrospin (the
drive is slow against the magnet's relaxation) is solved without that expansion: at each of K uniform
phases w t_k = 2 pi k/K of the drive s_k = sin(w t_k) the magnetization is the equilibrium of

    M x [B_0(M) + s_k B_SO(M)] = 0,     B_SO = B_FL(M) + B_DL(M) + B_Oe y   (fields at the amplitude j0),

followed by continuation in s from the zero-current minimum M0 (s = 0) to s = +1 and to s = -1 (the
equilibrium depends on t only through s, so the K phases need the L + 1 = K/4 + 1 values |s| of one
quarter period on each branch). At each s, four Newton steps on the tangent components of the torque
balance, started from the previous phase's M, with the exact 2 x 2 Jacobian from forward-mode autodiff
(the current-induced fields depend on M; the damping-like one is not a gradient, so this is a root, not an
energy minimum), each step limited to 0.3 rad, on inputs with their derivatives stopped; one more
Newton step from each converged M, vmapped over the phases, carries the implicit-function derivative
dM/dp = -J^-1 dF/dp for jax.grad and jax.jacfwd. A phase whose torque
residual before the last of the four steps exceeds 1e-9 of the field scale, or whose state is not an energy minimum in
the instantaneous total field (the current-induced field frozen), marks the point not converged (NaN): the
current switched the magnet or the continuation step was too large (raise `phases`).

Hall voltage per I0 with the thermal term of `_hall.py` (V_th = 2 R_ANE M_x I(t)^2/I0):
    v(t_k) = [R_H(M(s_k)) + R_OHE B_z] s_k + 2 R_ANE M_x(s_k) s_k^2,
and its Fourier components, exact for harmonics below K/2 (the uniform-sample sums are the trapezoid rule
of a periodic function; M(s) is analytic in s, so aliasing falls like (B_SO/B_eff)^(K-2)):
    R_1w = (2/K) sum v sin(w t_k),  R_2w = -(2/K) sum v cos(2 w t_k),  R_3w = (2/K) sum v sin(3 w t_k),
    R_dc = (1/K) sum v.
R_1w and R_2w are those of `_hall.py` (a lock-in referenced to the current's phase: R_1w its X output at 1w,
R_2w minus its Y output at 2w, both over the current); R_3w is the X output at 3w over the current. To
leading order R_1w = R_H(M0), R_2w = grad R_H . dM/2 + R_ANE M0_x (`harmonic_hall_forward`),
R_3w = -(1/4) c_3 with c_3 the s^3 coefficient of v; the differences from the first-order result are
O((B_SO/B_eff)^2) relative.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Bool, Float

from .._core import check_count
from ._fields import moment_per_area, sot_field_vectors
from .._llg._equilibrium import anisotropy_matrix, equilibrium, gradient_hessian, tangent_basis
from ._polar import check_polar_nodes, flux_at, flux_table, switched_flux
from ._hall import HallSettings, check_hall_params, field_direction, hall_resistance, param_arrays, thermal_coefficient

DEFAULT_PHASES = 16
"""Current phases per period of `harmonic_hall_all_orders` (harmonics up to 7w are exact up to aliasing)."""

_NEWTON_STEPS = 4  # Newton steps per continuation step (quadratic convergence from the previous phase's M)
_MAX_STEP = 0.3  # rad per Newton step
_CONVERGED = 1e-9  # torque residual relative to the field scale for "converged"


class HallHarmonics(eqx.Module):
    """Harmonic Hall signals at every order in the current (module docstring for the conventions).

    Fields:
        r_1w, r_2w, r_3w, r_dc (N,) [ohm]: the harmonics of V_H/I0 (NaN where an equilibrium did not converge);
        m_phase (N, K, 3): M at the drive phases w t_k = 2 pi k/K (s_k = sin(w t_k));
        converged (N,) bool: every phase converged (the zero-current minimum and the torque balances).
    """

    r_1w: Float[Array, "N"]
    r_2w: Float[Array, "N"]
    r_3w: Float[Array, "N"]
    r_dc: Float[Array, "N"]
    m_phase: Float[Array, "N K 3"]
    converged: Bool[Array, "N"]


def _phase_index(phases):
    """For each phase k: (branch, j) with s_k = branch_sign * sin(2 pi j/K), j in 0..K/4 (NumPy, static)."""
    quarter = phases // 4
    branch, index = [], []
    for k in range(phases):
        if k <= quarter:
            branch.append(0), index.append(k)
        elif k <= 2 * quarter:
            branch.append(0), index.append(2 * quarter - k)
        elif k <= 3 * quarter:
            branch.append(1), index.append(k - 2 * quarter)
        else:
            branch.append(1), index.append(4 * quarter - k)
    return onp.asarray(branch), onp.asarray(index)


def _newton_step(m, s, b_of, stiffness, b_ext, scale):
    """One damped Newton step on the torque balance M x [B_0(M) + s B_SO(M)] = 0 from m (3,): (M, converged at m)."""
    basis = tangent_basis(m)

    def torque(v):
        # Tangent components of the torque balance at M(v) = normalize(m + E v), in m's fixed basis.
        mv = m + basis @ v
        mv = mv / jnp.sqrt(mv @ mv)
        b_so = b_of(mv)
        t = basis.T @ jnp.cross(mv, stiffness @ mv + b_ext + s * b_so)
        return t, (t, b_so)

    jac, (residual, b_so) = jax.jacfwd(torque, has_aux=True)(jnp.zeros(2, m.dtype))
    v = -jnp.linalg.solve(jac, residual)
    size = jnp.sqrt(v @ v)
    v = v * jnp.minimum(1.0, _MAX_STEP / jnp.where(size > 0.0, size, 1.0))
    m_new = m + basis @ v
    # A stable state: the energy in the instantaneous total field (current-induced field frozen) is a minimum.
    _, _, h = gradient_hessian(m, b_ext + s * b_so, stiffness)
    ok = (jnp.sqrt(residual @ residual) <= _CONVERGED * scale) & (jnp.linalg.eigvalsh(jax.lax.stop_gradient(h))[0] > 0.0)
    return m_new / jnp.sqrt(m_new @ m_new), ok


def _solve_phase(m, s, b_of, stiffness, b_ext, scale):
    """Equilibrium near m (3,) by _NEWTON_STEPS damped Newton steps (not differentiated): (M, converged)."""
    return jax.lax.fori_loop(0, _NEWTON_STEPS, lambda _, carry: _newton_step(carry[0], s, b_of, stiffness, b_ext, scale),
                             (m, jnp.asarray(False)))


def _rashba_fields(settings, checked=True, direct=None):
    """B_FL, B_DL of the Rashba ferromagnet of params p at m (`sot_field_vectors`); the source: None (every m its
    own Fermi-contour solve) or a `_polar.flux_table` (the interpolated flux tensor); with a traced bool `direct`
    (and a table), either of the two at run time (`_polar.switched_flux`)."""

    def fields(p, source, m):
        moment = moment_per_area(settings.ms_tesla, settings.thickness)
        flux = None
        if source is not None:
            flux = (flux_at(source, m) if direct is None else
                    switched_flux(source, m, direct, p["alpha"], p["j_ex"], p["mass_ratio"], settings.fermi_energy,
                                  bands=tuple(settings.bands), num=settings.num, checked=checked))
        return sot_field_vectors(
            p["alpha"], p["j_ex"], p["mass_ratio"], p["tau"], settings.fermi_energy, settings.efield, m, moment,
            method=settings.model, bands=settings.bands, num=settings.num,
            field_like=settings.field_like, damping_like=settings.damping_like,
            flux=flux, checked=checked,
        )

    return fields


def _point(p, source, fields, continuation, settings, phases, phi_h, theta_h, field, m_start):
    dtype = settings.phi_h.dtype
    stiffness = anisotropy_matrix(p["anisotropy_field"], settings.easy_axis, settings.ms_tesla, settings.demag)
    y = jnp.asarray([0.0, 1.0, 0.0], dtype)
    b_ext = field * field_direction(theta_h, phi_h) + settings.bias_field
    m0, _, _, converged = equilibrium(b_ext, stiffness, m_start)
    scale = jnp.sqrt(b_ext @ b_ext) + jnp.sqrt(jnp.sum(stiffness**2))

    def total(p, source, fields=fields):
        def b_of(m):
            b_fl, b_dl = fields(p, source, m)
            return b_fl + b_dl + p["oersted_field"] * y

        return b_of

    quarter = phases // 4
    s_values = jnp.sin(2.0 * math.pi * jnp.arange(1, quarter + 1, dtype=dtype) / phases)
    # The continuation runs on frozen inputs (no derivatives through the Newton iterations, which would
    # multiply the cost of jax.jacfwd by their number); one Newton step per solution from the converged
    # state, vmapped over the phases, then carries the implicit-function derivative.
    frozen = jax.lax.stop_gradient((p, stiffness, b_ext, m0, source))
    b_frozen = total(frozen[0], frozen[4], continuation)

    def chain(sign):
        def step(m, s):
            m_new, ok = _solve_phase(m, sign * s, b_frozen, frozen[1], frozen[2], scale)
            return m_new, (m_new, ok)

        _, (ms, oks) = jax.lax.scan(step, frozen[3], s_values)
        return ms, jnp.all(oks)

    # Both branches (s > 0 and s < 0) in one traced program.
    (m_pos, m_neg), (ok_pos, ok_neg) = jax.vmap(chain)(jnp.asarray([1.0, -1.0], dtype))
    b_live = total(p, source)
    if continuation is fields:
        final = jax.vmap(lambda m, s: _newton_step(m, s, b_live, stiffness, b_ext, scale)[0])
    else:
        # The last step's residual with `fields` at m; its Jacobian in M from the continuation's fields (the field's
        # M-derivative enters the Jacobian scaled by B_SO/B_eff): `fields` only at m, never differentiated in M inside the
        # step, which keeps the direct route's nested derivatives out of the compiled program.
        b_cheap = total(p, source, continuation)

        def corrected(m):
            offset = b_live(m) - b_cheap(m)
            return lambda mv: b_cheap(mv) + offset

        final = jax.vmap(lambda m, s: _newton_step(m, s, corrected(m), stiffness, b_ext, scale)[0])
    # Both branches' last steps in one vmap: one copy of the fields' derivatives in the compiled program.
    last = final(jnp.concatenate([m_pos, m_neg]), jnp.concatenate([s_values, -s_values]))
    m_pos = jnp.concatenate([m0[None], last[:quarter]])
    m_neg = jnp.concatenate([m0[None], last[quarter:]])
    branch, index = _phase_index(phases)
    m_phase = jnp.where(jnp.asarray(branch)[:, None] == 0, m_pos[index], m_neg[index])
    phase = 2.0 * math.pi * jnp.arange(phases, dtype=dtype) / phases
    s = jnp.sin(phase)
    r_th = thermal_coefficient(p, b_ext)
    v = (hall_resistance(m_phase, p["r_ahe"], p["r_phe"]) + p["r_ohe"] * b_ext[2]) * s + 2.0 * r_th * m_phase[:, 0] * s**2
    scale_k = 2.0 / phases
    ok = converged & ok_pos & ok_neg
    nan = jnp.asarray(jnp.nan, dtype)
    signals = (scale_k * jnp.sum(v * s), -scale_k * jnp.sum(v * jnp.cos(2.0 * phase)), scale_k * jnp.sum(v * jnp.sin(3.0 * phase)), jnp.mean(v))
    r_1w, r_2w, r_3w, r_dc = (jnp.where(ok, x, nan) for x in signals)
    return HallHarmonics(r_1w=r_1w, r_2w=r_2w, r_3w=r_3w, r_dc=r_dc, m_phase=m_phase, converged=ok)


def all_orders_points(params, source, fields, settings, phases, continuation=None):
    """Every-order signals at the settings' field points for any electron source (traceable).

    Args:
        params: dict of arrays with anisotropy_field, r_ahe, r_phe, r_ane, oersted_field, r_ohe (and optionally
            r_ane_field, `thermal_coefficient`).
        source: pytree of the electron source's inputs (differentiated like params; None for the Rashba dict).
        fields: (params, source, m (3,)) -> (B_FL, B_DL) (3,) each [T] at the amplitude j0.
        settings: the measurement (`HallSettings`).
        phases: current phases per period K (static).
        continuation: the fields (same signature) for the continuation's Newton iterations, when not `fields`; the last
            (implicit-function) Newton step of every phase takes its residual from `fields` at the continuation's
            solution M_c and its Jacobian in M from `continuation` (`fields`(M_c) - `continuation`(M_c) added as a
            constant). From M_c, within delta of the solution with `fields`, that step lands within O(delta (epsilon +
            delta)) of it, epsilon the relative error of the Jacobian (the two fields' M-derivatives differ by their
            error times B_SO/B_eff); the Hall fit: the interpolated flux tensor for the iterations, the direct route for
            the last step's residual.

    Returns: HallHarmonics.
    """
    one = lambda *a: _point(params, source, fields, fields if continuation is None else continuation, settings, phases, *a)
    return jax.vmap(one)(settings.phi_h, settings.theta_h, settings.field, settings.m_start)


@eqx.filter_jit
def rashba_all_orders(params, settings, phases, polar_nodes=0, checked=True, direct=None):
    """Every-order signals of the Rashba ferromagnet of `params` (arrays, `param_arrays`) at the settings' points;
    polar_nodes > 0 (exact model): the flux tensor interpolated from that many solves per evaluation (`_polar.py`),
    computed once outside the points' and phases' loops; checked=False (a Python bool, static under
    `equinox.filter_jit`): without the model's traced range checks, for callers that verified params on the host;
    direct (polar_nodes > 0): None, or a traced bool choosing the direct route at run time (`_polar.switched_flux`) for the
    last Newton step of every phase (`all_orders_points`' continuation: the interpolant)."""
    table = None
    if polar_nodes and settings.model == "exact":
        table = flux_table(params["alpha"], params["j_ex"], params["mass_ratio"], settings.fermi_energy, bands=settings.bands,
                           num=settings.num, nodes=polar_nodes, checked=checked)
    if table is None or direct is None:
        return all_orders_points(params, table, _rashba_fields(settings, checked), settings, phases)
    # The direct route chosen at run time: the continuation's Newton iterations (the bulk of the work, and of the
    # compiled program) on the interpolant either way, the last Newton step of every phase on the chosen route.
    return all_orders_points(params, table, _rashba_fields(settings, checked, direct), settings, phases,
                             continuation=_rashba_fields(settings, checked))


def check_phases(phases) -> int:
    """phases as an int, or ValueError unless it is a multiple of 4, >= 8."""
    phases = check_count("phases", phases, minimum=8)
    if phases % 4:
        raise ValueError(f"phases = {phases} is not allowed; allowed: a multiple of 4, >= 8")
    return phases


def harmonic_hall_all_orders(params: dict, settings: HallSettings, *, phases: int = DEFAULT_PHASES,
                             polar_nodes: int = 0) -> HallHarmonics:
    """Harmonic Hall signals R_1w, R_2w, R_3w at every order in the current (module docstring).

    The quasi-static macrospin of `harmonic_hall_forward` (same parameters, settings and lock-in
    convention) solved at each current phase instead of linearized in j0. Differentiable in params
    (implicit-function step); jit/vmap-friendly. About 30 (phases/4) evaluations of the current-induced
    fields (with their M-derivative) per field point against one for `harmonic_hall_forward`.

    Args:
        params: dict with names from `jaxsot.HALL_PARAMETERS` (units `HALL_PARAMETER_UNITS`; missing optional
            ones from `HALL_DEFAULTS`).
        settings: `jaxsot.HallSettings` (field points (N,), sample, current amplitude j0, electron model).
        phases: current phases per period K (a multiple of 4, >= 8): harmonics below K/2 are exact up to
            aliasing of order (B_SO/B_eff)^(K-2).
        polar_nodes: 0 (default): a Fermi-contour solve at every M of every phase and Newton step; n >= 4 (exact
            model; the fits' fast route): the flux tensor from n solves per evaluation, interpolated in M_z
            (`harmonic_hall_forward`). No effect with strong exchange.

    Returns:
        HallHarmonics: r_1w, r_2w, r_3w, r_dc (N,) [ohm], m_phase (N, K, 3), converged (N,).

    Raises:
        ValueError: unknown or missing parameter names, a settings object of another type, or phases not a
            multiple of 4 >= 8.
    """
    if not isinstance(settings, HallSettings):
        raise ValueError(f"settings is a {type(settings).__name__}; allowed: jaxsot.HallSettings")
    phases = check_phases(phases)
    return rashba_all_orders(param_arrays(check_hall_params(params), settings), settings, phases, check_polar_nodes(polar_nodes))

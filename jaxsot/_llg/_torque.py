"""The electron ensemble as the source of the spin-orbit torque on the magnet, and the LLG right-hand side.

Electron torque density -> unit magnetization: dM/dt = -kappa P_perp (T1 + T2), kappa = g mu_B/(2 M_s d)
(derivation and sign: the jaxsot._llg package docstring and docs: Theory > Magnetization dynamics (LLG)).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._core._checks import check_count, check_finite, check_range, check_shape, is_concrete
from .._core._model import RashbaFerromagnet, TwoBandModel, with_magnetization
from .._bands._arrays import accelerating_force
from .._ensemble._strong import strong_exchange_response
from .._ensemble._transport import contour_response
from .._fermi._circular import circular_densities
from .._fermi._contour import occupied_bands
from ..constants import HBAR, HBAR2_OVER_2ME, MU_B_EV_PER_T
from ._magnet import METHODS, Magnet, PROBE_DIRECTIONS, as_float, conventional_energy, conventional_field


class SpinOrbitTorque(eqx.Module):
    """The electron ensemble as the source of the spin-orbit torque on the magnet (batchable pytree).

    Args:
        alpha: Rashba coupling [eV nm].
        j_ex: exchange energy J [eV] (> 0).
        fermi_energy: Fermi energy E_F [eV].
        efield: applied in-plane field E (..., 2) [V/nm] (E = rho0 j; the CLI takes j and rho0).
        tau: momentum relaxation time [fs] (> 0): Delta k = qE tau/hbar.
        mass_ratio: m*/m_e (> 0).
        method: "exact" (Fermi-contour fluxes of the exact bands at the current M) or
            "strong_exchange" (closed forms, paper eq. 13/14 and A1).
        field_like: include the field-like torque T1 (module docstring).
        damping_like: include the damping-like torque T2 (module docstring).
        num: rays per Fermi contour for method "exact" (>= 8; 64 gives ~1e-10 relative here).

    The occupied bands must not change as M turns (E_F > J or only the lower band for every M), and
    the lower band must not be a "Mexican hat" (eta < 1); ValueError otherwise. n_lower, n_upper are
    the M || z band densities (closed form), used by the strong-exchange forms.
    """

    alpha: Float[Array, "..."]
    j_ex: Float[Array, "..."]
    fermi_energy: Float[Array, "..."]
    efield: Float[Array, "... 2"]
    tau: Float[Array, "..."]
    mass_ratio: Float[Array, "..."]
    n_lower: Float[Array, "..."]
    n_upper: Float[Array, "..."]
    method: str = eqx.field(static=True)
    field_like: bool = eqx.field(static=True)
    damping_like: bool = eqx.field(static=True)
    num: int = eqx.field(static=True)
    bands: tuple = eqx.field(static=True)

    _CORE_NDIM = {
        "alpha": 0,
        "j_ex": 0,
        "fermi_energy": 0,
        "efield": 1,
        "tau": 0,
        "mass_ratio": 0,
        "n_lower": 0,
        "n_upper": 0,
    }

    def __init__(
        self,
        alpha,
        j_ex,
        fermi_energy,
        efield,
        tau,
        *,
        mass_ratio=1.0,
        method="strong_exchange",
        field_like=True,
        damping_like=True,
        num=64,
    ):
        check_range("alpha", alpha, unit="eV nm")
        check_range("j_ex", j_ex, low=0.0, low_inclusive=False, unit="eV")
        check_finite("fermi_energy", fermi_energy)
        check_finite("efield", efield)
        check_shape("efield", efield, (2,))
        check_range("tau", tau, low=0.0, low_inclusive=False, unit="fs")
        check_range("mass_ratio", mass_ratio, low=0.0, low_inclusive=False)
        if method not in METHODS:
            raise ValueError(f"method = {method!r} is not allowed; allowed: {', '.join(map(repr, METHODS))}")
        self.num = check_count("num", num, minimum=8)
        self.alpha, self.j_ex, self.fermi_energy = as_float(alpha), as_float(j_ex), as_float(fermi_energy)
        self.efield, self.tau, self.mass_ratio = as_float(efield), as_float(tau), as_float(mass_ratio)
        self.method = method
        self.field_like = bool(field_like)
        self.damping_like = bool(damping_like)
        self.bands = _checked_bands(self.alpha, self.j_ex, self.mass_ratio, self.fermi_energy)
        self.n_lower, self.n_upper = circular_densities(self.alpha, self.j_ex, self.mass_ratio, self.fermi_energy)

    @classmethod
    def from_model(cls, model: TwoBandModel, fermi_energy, efield, tau, **options):
        """The torque source with the band parameters of `model` (its magnetization is not used).

        A `RashbaFerromagnet` gives a `SpinOrbitTorque` (exact or strong-exchange methods); any other
        `TwoBandModel` gives a `ModelTorque` (exact bands only: `method="strong_exchange"`, a closed
        form of the Rashba ferromagnet, raises ValueError).
        """
        if isinstance(model, RashbaFerromagnet):
            return cls(model.alpha, model.j_ex, fermi_energy, efield, tau, mass_ratio=model.mass_ratio, **options)
        method = options.pop("method", "exact")
        if method != "exact":
            raise ValueError(
                f"method = {method!r}: the strong-exchange torques are closed forms of the Rashba ferromagnet; "
                f"model = {type(model).__name__} has none; allowed: 'exact'"
            )
        options.pop("mass_ratio", None)
        return ModelTorque(model, fermi_energy, efield, tau, **options)

    @property
    def eta(self):
        """eta = m alpha^2/(hbar^2 J) (dimensionless)."""
        return self.alpha**2 / (2.0 * HBAR2_OVER_2ME / self.mass_ratio * self.j_ex)


def _checked_bands(alpha, j_ex, mass_ratio, fermi_energy) -> tuple:
    """The occupied bands, identical for every M and every batch element (concrete inputs)."""
    if not is_concrete(alpha, j_ex, mass_ratio, fermi_energy):
        raise ValueError("SpinOrbitTorque must be built from concrete values (outside jit), to check the occupied bands")
    arrays = onp.broadcast_arrays(*(onp.asarray(x, dtype=float) for x in (alpha, j_ex, mass_ratio, fermi_energy)))
    combos = sorted(set(zip(*(a.ravel().tolist() for a in arrays))))

    def cases():
        for a, j, mr, ef in combos:
            eta = a * a / (2.0 * HBAR2_OVER_2ME / mr * j)
            if eta >= 1.0:
                raise ValueError(
                    f"alpha = {a:g} eV nm, j_ex = {j:g} eV: eta = m alpha^2/(hbar^2 J) = {eta:.3g} makes the lower band a "
                    "'Mexican hat' (annular Fermi sea); allowed: eta < 1 (stronger exchange or weaker Rashba coupling)"
                )
            turn = lambda direction, a=a, j=j, mr=mr: RashbaFerromagnet(a, j, onp.asarray(direction), mr)
            hint = f"fermi_energy > j_ex = {j:g} eV (both bands) or below the upper band's bottom for every M"
            yield ef, turn, hint

    return _probe_bands(cases(), "", " (split the batch at fermi_energy = j_ex)")


def _probe_bands(cases, subject, split_hint) -> tuple:
    """The one set of occupied bands over the probe directions of M and every case (E_F, turn, hint).

    `turn(direction)` is the electron model with M along the direction; ValueError (with the case's
    `hint` as the allowed range) when the occupied bands change as M turns, or when two cases differ.
    """
    found = None
    for ef, turn, hint in cases:
        per_direction = {occupied_bands(turn(direction), ef) for direction in PROBE_DIRECTIONS}
        if len(per_direction) != 1:
            raise ValueError(
                f"fermi_energy = {ef:g} eV: the occupied bands {subject}change as M turns ({sorted(per_direction)}); "
                f"allowed: {hint}"
            )
        (bands,) = per_direction
        if found is not None and bands != found:
            raise ValueError(f"the batch mixes occupied bands {found} and {bands}; allowed: one set of occupied bands per batch{split_hint}")
        found = bands
    return tuple(found)


class ModelTorque(eqx.Module):
    """The Fermi sea of any `TwoBandModel` as the source of the spin-orbit torque on the magnet (pytree).

    The model's M is replaced by the magnet's current direction through `model.with_magnetization`
    at every evaluation, and the torques are those of the exact bands (Fermi-contour fluxes, as
    `SpinOrbitTorque(method="exact")`): T1 = (2J/hbar) M x delta S of the sea shifted by
    Delta k = qE tau/hbar and T2 = -dS/dt of the sea accelerated by k' = qE/hbar (paper eq. 4-7,
    `jaxsot.ensemble_damping_torque`). J is read from the model by autodiff, J = -(1/3) tr db/dM of
    its exchange field (`exchange_coupling`): the model must couple M as b = ... - J M.

    Args:
        model: the electron model (`jaxsot.TwoBandModel` with `with_magnetization`; its own M is not used).
        fermi_energy: E_F [eV] (may carry batch dimensions).
        efield: applied in-plane field E (..., 2) [V/nm].
        tau: momentum relaxation time [fs] (> 0).
        field_like: include T1.
        damping_like: include T2.
        num: rays per Fermi contour (>= 8).

    Raises:
        ValueError: the model is not a TwoBandModel, does not provide `with_magnetization`, does not
            couple M isotropically (b = ... - J M with J > 0), or its occupied bands change as M turns
            or a Fermi sea is not star-shaped about k = 0 (`jaxsot.fermi_sea_status`) at one of the
            probe directions of M; or a parameter out of range.
    """

    model: TwoBandModel
    fermi_energy: Float[Array, "..."]
    efield: Float[Array, "... 2"]
    tau: Float[Array, "..."]
    field_like: bool = eqx.field(static=True)
    damping_like: bool = eqx.field(static=True)
    num: int = eqx.field(static=True)
    bands: tuple = eqx.field(static=True)
    method: str = eqx.field(static=True)

    _CORE_NDIM = {"fermi_energy": 0, "efield": 1, "tau": 0}

    def __init__(self, model, fermi_energy, efield, tau, *, field_like=True, damping_like=True, num=64):
        if not isinstance(model, TwoBandModel):
            raise ValueError(f"model is a {type(model).__name__}; allowed: a jaxsot.TwoBandModel")
        check_finite("fermi_energy", fermi_energy)
        check_finite("efield", efield)
        check_shape("efield", efield, (2,))
        check_range("tau", tau, low=0.0, low_inclusive=False, unit="fs")
        self.num = check_count("num", num, minimum=8)
        self.model = model
        self.fermi_energy, self.efield, self.tau = as_float(fermi_energy), as_float(efield), as_float(tau)
        self.field_like = bool(field_like)
        self.damping_like = bool(damping_like)
        self.method = "exact"
        self.bands = _checked_model_bands(model, self.fermi_energy)


def exchange_coupling(model: TwoBandModel, m: Float[Array, "3"]) -> Float[Array, ""]:
    """J [eV] of a model whose field holds -J M: J = -(1/3) tr d(exchange field)/dM at M = m (autodiff).

    The magnet feels the electrons through this coupling: the electron energy changes with M by
    -J S.dM, so their torque density is T = (2J/hbar) M x S. Traceable.
    """
    jacobian = jax.jacfwd(lambda v: jnp.stack(with_magnetization(model, v).exchange_field()))(m)
    return -jnp.trace(jacobian) / 3.0


def _checked_model_bands(model, fermi_energy) -> tuple:
    """The occupied bands of `model`, identical for every probe direction of M and every E_F (concrete)."""
    if not is_concrete(model, fermi_energy):
        raise ValueError("ModelTorque must be built from concrete values (outside jit), to check the occupied bands")
    dtype = model.dtype
    turn = lambda direction: with_magnetization(model, jnp.asarray(direction, dtype))
    hint = "a Fermi energy at which the same bands are occupied for every M"
    energies = sorted(set(onp.asarray(fermi_energy, dtype=float).ravel().tolist()))
    found = _probe_bands(((ef, turn, hint) for ef in energies), f"of {type(model).__name__} ", "")
    jacobian = onp.asarray(jax.jacfwd(lambda v: jnp.stack(with_magnetization(model, v).exchange_field()))(jnp.asarray(PROBE_DIRECTIONS[5], dtype)))
    j_ex = -onp.trace(jacobian) / 3.0
    if not (j_ex > 0.0 and onp.allclose(jacobian, -j_ex * onp.eye(3), rtol=0.0, atol=1e-9 * abs(j_ex))):
        raise ValueError(
            f"model = {type(model).__name__}: d(exchange field)/dM = {onp.round(jacobian, 12).tolist()} eV; the torque "
            "on the magnet needs b = ... - J M with J > 0 (an isotropic exchange coupling); allowed: such a model "
            "(e.g. j_ex > 0)"
        )
    return tuple(found)


def model_at(torque, m):
    """The electron model of `torque` (`SpinOrbitTorque` or `ModelTorque`) with magnetization m."""
    if isinstance(torque, ModelTorque):
        return with_magnetization(torque.model, jnp.asarray(m, torque.model.dtype))
    return RashbaFerromagnet(torque.alpha, torque.j_ex, m, mass_ratio=torque.mass_ratio)



# ---------------------------------------------------------------------------------------------
# Electron torques at magnetization m (single instance; jit/vmap-friendly).


def cross_z(v):
    """v x z for an in-plane v (2,) -> (3,)."""
    return jnp.stack([v[1], -v[0], jnp.zeros_like(v[0])])


def _perp(m, v):
    return v - m * (m @ v)


def current_fields(m, spin_shift, spin_rate, coupling, moment, *, field_like=True, damping_like=True):
    """The current-induced fields (B_FL, B_DL) (3,) each [T] on M from the electrons' spin response, one instance.

    The one assembly of these fields for every electron source, shared by `jaxsot.effective_fields` and
    the harmonic Hall routes; the LLG's spin-orbit torque (`llg_rates`, -kappa P_perp (T1 + T2)) equals
    -gamma M x (B_FL + B_DL):
        B_FL = (J/(n_mu mu_B)) P_perp delta S,     B_DL = (hbar/(2 n_mu mu_B)) M x dS/dt.

    Args:
        m: unit magnetization (3,).
        spin_shift: delta S (3,) [1/nm^2], the spin of the sea shifted by Delta k = qE tau/hbar.
        spin_rate: dS/dt (3,) [1/(nm^2 fs)] of the sea accelerated by k' = qE/hbar (T2 = -dS/dt).
        coupling: exchange coupling J [eV] of the electrons to M.
        moment: n_mu mu_B = M_s d, the magnet's moment per area [eV/(T nm^2)].
        field_like: include B_FL (else zeros).
        damping_like: include B_DL (else zeros).

    Returns: (B_FL, B_DL), both perpendicular to m.
    """
    zero = jnp.zeros(3, m.dtype)
    b_fl = coupling / moment * _perp(m, spin_shift) if field_like else zero
    b_dl = HBAR / (2.0 * moment) * jnp.cross(m, spin_rate) if damping_like else zero
    return b_fl, b_dl


def electron_response(torque, m: Float[Array, "3"]) -> dict:
    """Electron torque densities and the spin-force power at magnetization m (unit 3-vector), one instance.

    Args:
        torque: the electron ensemble (one instance, not batched): a `SpinOrbitTorque` (Rashba
            ferromagnet) or a `ModelTorque` (any TwoBandModel, exact bands).
        m: magnetization direction, shape (3,) (unit vector).

    Returns a dict (per area):
        "field_like" T1 = (2J/hbar) M x delta S (3,) [1/(nm^2 fs)];
        "damping_like" T2 = -dS/dt (3,) [1/(nm^2 fs)] (k' = qE/hbar);
        "spin_shift" delta S (3,) [1/nm^2] (strong exchange: the unprojected conservative form);
        "spin_force_power" P_sf [eV/(nm^2 fs)]; "current" j (2,) [e/(fs nm)];
        "polarization" n_p = n_lower - n_upper [1/nm^2];
        "exchange" the coupling J [eV] (a `ModelTorque` reads it from the model, `exchange_coupling`).
    """
    dtype = m.dtype
    force = accelerating_force(torque.efield.astype(dtype))
    kdot = force / HBAR
    shift = kdot * torque.tau
    if isinstance(torque, ModelTorque):
        model = with_magnetization(torque.model, m.astype(torque.model.dtype)).astype(m.dtype)
        response = contour_response(model, torque.fermi_energy.astype(m.dtype), shift, kdot, torque.bands, torque.num)
        j_ex = exchange_coupling(torque.model.astype(m.dtype), m)
        n_p = response["densities"][0] - response["densities"][1]
    elif torque.method == "strong_exchange":
        j_ex = torque.j_ex
        model = RashbaFerromagnet(torque.alpha, j_ex, m, torque.mass_ratio)
        response = strong_exchange_response(model, jnp.stack([torque.n_lower, torque.n_upper]), force, shift)
        n_p = torque.n_lower - torque.n_upper
    else:
        j_ex = torque.j_ex
        model = RashbaFerromagnet(torque.alpha, j_ex, m, torque.mass_ratio)
        response = contour_response(model, torque.fermi_energy, shift, kdot, torque.bands, torque.num)
        n_p = response["densities"][0] - response["densities"][1]
    return {
        "field_like": 2.0 * j_ex / HBAR * jnp.cross(m, response["spin_shift"]),
        "damping_like": -response["spin_rate"],
        "spin_shift": response["spin_shift"],
        "spin_force_power": response["spin_force_power"],
        "current": response["current"],
        "polarization": n_p,
        "exchange": j_ex,
    }


def exchange_torque(magnet: Magnet, m: Float[Array, "3"], torque_density: Float[Array, "3"]) -> Float[Array, "3"]:
    """dM/dt on the unit magnetization from an electron torque density T = (2J/hbar) M x S [1/(nm^2 fs)].

    dM/dt = -kappa P_perp T, kappa = g mu_B/(2 M_s d) = g/(2 n_mu) [nm^2] (module docstring: angular
    momentum (hbar/2) T per area and time goes to the magnet, whose angular momentum is -(hbar n_mu/g) M).
    Single instance.

    Args:
        magnet: the macrospin (M_s, thickness, g factor).
        m: magnetization direction, shape (3,) (unit vector).
        torque_density: electron torque density T, shape (3,) [1/(nm^2 fs)].

    Returns: dM/dt, shape (3,) [1/fs].
    """
    m = m / jnp.sqrt(m @ m)
    return -magnet.torque_area * _perp(m, torque_density)


def llg_rates(magnet: Magnet, torque, m: Float[Array, "3"], current_on=True) -> dict:
    """Every term of the LLG and of the energy balance at magnetization m, one instance (jit/vmap-friendly).

    Args:
        magnet: the macrospin (M_s, thickness, anisotropy, Gilbert damping).
        torque: the electron ensemble (one instance, not batched): `SpinOrbitTorque` or `ModelTorque`
            (any TwoBandModel).
        m: magnetization direction, shape (3,) (normalized here).
        current_on: 0/1 or bool, the current's switch.

    Returns a dict:
        "dmdt" (3,) [1/fs]; "precession" -gamma M x B_0, "field_like" -kappa P_perp T1,
        "damping_like" -kappa P_perp T2 (3,) [1/fs]; "conventional_field" B_0, "field_like_field" B_fl (3,) [T];
        powers [eV/(nm^2 fs)]: "power_gilbert" P_G = -n_mu mu_B alpha_G B_eff.(M x dM/dt),
        "power_spin_force" P_DL,fl = -n_mu mu_B B_fl.T_DL (the damping-like torque against B_fl, paper
        eq. 15 second term), "power_damping_conventional" -n_mu mu_B B_0.T_DL, "power_field_like"
        n_mu mu_B B_fl.dM/dt, "spin_force_power" P_sf (electrons, Joule side);
        energies [eV/nm^2]: "conventional_energy" E_0, "magnetic_energy" E_0 - n_mu mu_B B_fl.M (the
        papers' E_M; a conserved form only for strong exchange, where B_fl does not depend on M);
        "polarization" n_p [1/nm^2].
    Identities: dE_0/dt = P_G + P_DL,fl + P_DL,0 + P_FL (any method); for strong exchange
    dE_M/dt = P_G + P_DL,fl + P_DL,0.
    """
    m = m / jnp.sqrt(m @ m)
    on = jnp.asarray(current_on, m.dtype)
    moment = magnet.moment_density * MU_B_EV_PER_T  # eV/T per nm^2
    b0 = conventional_field(magnet, m)
    electrons = electron_response(torque, m)
    zero = jnp.zeros(3, m.dtype)
    tau_fl = exchange_torque(magnet, m, electrons["field_like"]) if torque.field_like else zero
    tau_dl = exchange_torque(magnet, m, electrons["damping_like"]) if torque.damping_like else zero
    b_fl = electrons["exchange"] * electrons["spin_shift"] / moment if torque.field_like else zero
    tau_fl, tau_dl, b_fl = on * tau_fl, on * tau_dl, on * b_fl
    precession = -magnet.gamma * jnp.cross(m, b0)
    r = precession + tau_fl + tau_dl
    a = magnet.gilbert
    dmdt = (r + a * jnp.cross(m, r)) / (1.0 + a * a)
    b_eff = b0 + b_fl
    return {
        "dmdt": dmdt,
        "precession": precession,
        "field_like": tau_fl,
        "damping_like": tau_dl,
        "conventional_field": b0,
        "field_like_field": b_fl,
        "power_gilbert": -moment * a * (b_eff @ jnp.cross(m, dmdt)),
        "power_spin_force": -moment * (b_fl @ tau_dl),
        "power_damping_conventional": -moment * (b0 @ tau_dl),
        "power_field_like": moment * (b_fl @ dmdt),
        "spin_force_power": on * electrons["spin_force_power"],
        "conventional_energy": conventional_energy(magnet, m),
        "magnetic_energy": conventional_energy(magnet, m) - moment * (b_fl @ m),
        "polarization": electrons["polarization"],
    }



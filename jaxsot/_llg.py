"""Macrospin Landau-Lifshitz-Gilbert dynamics driven by the Rashba electron ensemble (paper eq. 3/4/16).

PHYSICS.md "Energy transfer and AMR". The magnet is one unit vector M (its magnetization, i.e. the
direction of its magnetic moment); the conduction electrons are the Rashba ferromagnet of
`RashbaFerromagnet`, H = hbar^2 k^2/2m + alpha (k x z).sigma - J M.sigma, evaluated at the current M.

LLG (Gilbert form, paper eq. 3/4):

    dM/dt = -gamma M x B_0 + alpha_G M x dM/dt + T_SO,
    B_0 = B_ext + B_K (u.M) u - mu0 M_s (N M)              [T]  (external, uniaxial, shape anisotropy)

solved explicitly as dM/dt = (R + alpha_G M x R)/(1 + alpha_G^2), R = -gamma M x B_0 + T_SO.
gamma = g mu_B/hbar [rad/(fs T)]. Magnetic energy per area, E_0 = n_mu mu_B [-B_ext.M - (B_K/2)(u.M)^2
+ (mu0 M_s/2) M.N.M], n_mu = M_s d/mu_B the magnet's moment per area [mu_B/nm^2].

Electron spin density -> torque on the unit magnetization (derivation). Per area the electrons carry
spin angular momentum (hbar/2) S, S = sum <sigma> d^2k/(2 pi)^2 [1/nm^2]. Their exchange precession is
dS/dt|_ex = (2/hbar)(-J M) x S = -T, with the electron torque density T = (2J/hbar) M x S = T1 + T2
[1/(nm^2 fs)] (PHYSICS.md, paper eq. 4-7: T1 = (2/hbar)<B_so x sigma>, T2 = -dS/dt). The magnet's
angular momentum per area is L = -(M_s d/gamma) M = -(hbar n_mu/g) M (moment antiparallel to angular
momentum, gamma > 0). Conservation of the total, dL/dt = -(hbar/2) dS/dt|_ex = (hbar/2) T, gives

    T_SO = dM/dt|_SO = -(g/(2 n_mu)) P_perp T = -kappa P_perp (T1 + T2),   kappa = g mu_B/(2 M_s d)  [nm^2]

(P_perp removes the part along M, which is higher order and would change |M|). The same follows from
the energy: -J M.S per area is an exchange field B_el = J S/(n_mu mu_B) on M, and -gamma M x B_el =
-kappa (2J/hbar) M x S. The papers add T to dM/dt with a + sign and no conversion, as if the magnet
were one electron spin ("Sign" below); tests/test_llg.py checks kappa by angular-momentum conservation.
Typical kappa: mu0 M_s = 1 T, d = 1 nm gives n_mu = 85.8 mu_B/nm^2 and kappa = 0.0117 nm^2.

The electron response at magnetization M (t >> tau, adiabatic: tau ~ 10 fs << magnet time scales):
- T1 (field-like): the steady shift Delta k = qE tau/hbar of the Fermi sea changes S by delta S;
  T1 = (2J/hbar) M x delta S. It is a field B_fl = J delta S/(n_mu mu_B) on M.
- T2 (damping-like, optional): each electron is accelerated by hbar k' = qE between collisions (the
  papers' dynamical state, eq. 9-14, and the intrinsic Kubo result of PHYSICS.md); T2 = -dS/dt of the
  sea accelerated by qE. (In the relaxed rigid-shift picture of section II, k' -> 0 and T2 vanishes in
  the steady state: set damping_like=False.) Disorder vertex corrections can cancel this intrinsic
  damping-like torque (spin-independent short-range scatterers); the model does not include them.
- method "exact": delta S and dS/dt are Fermi-contour fluxes of the exact bands, recomputed at every
  right-hand-side evaluation at the current M (num rays per occupied band).
- method "strong_exchange": closed forms (J >> alpha k_F), with n_p = n_lower - n_upper:
  delta S = -n_p (alpha/J) P_perp(Delta k x z), T2 = n_p (alpha/J) P_perp(k' x z) (paper eq. 14), so
  T1 is a constant field B_fl = -(alpha n_p/(n_mu mu_B)) (Delta k x z) (paper eq. A1) and
  T_SO = -gamma M x B_fl + a_J M x (M x p), p = (k' x z)/|k'|, a_J = kappa n_p (alpha/J) |k'|.

Sign. With H = -J M.sigma the conduction spins align with M; M being the magnetization, their
moments are antiparallel to the magnet's. Conservation then gives the minus sign above; the papers'
"+T" together with a dissipative "+gamma_G M x dM/dt" fits neither reading of M (as magnetization or
as spin direction) and is not used.

Not included: the drag of the equilibrium spin density S_eq(M) by a moving M (a T2 = -dS_eq/dt from
dM/dt, not from E), which would renormalize gamma and alpha_G by ~1/(1 - kappa n_p) (~5 % for the
defaults); measured gamma, M_s and alpha_G usually contain it. Nor the equilibrium (current-free)
torque (2J/hbar) M x S_eq, an electronic anisotropy that belongs to B_K.

Integration: diffrax Tsit5 with a PID controller on M (rtol, atol), M renormalized after every step
(`_Renormalized`); batches are vmapped in chunks; events (switching, stop criterion) are one real
condition located by bisection on the dense output.

Energy (paper eq. 15/16). With B_eff = B_0 + B_fl, -n_mu mu_B B_eff . dM/dt = P_G + P_DL exactly, with
P_G = -n_mu mu_B alpha_G B_eff.(M x dM/dt) (Gilbert, ~ -n_mu mu_B alpha_G gamma |M x B_eff|^2) and
P_DL = -n_mu mu_B B_eff.T_DL (damping-like), split into the papers' spin-force part (against B_fl) and
the part against B_0. In the strong-exchange limit B_fl is constant, E_mag = E_0 - n_mu mu_B B_fl.M is
the magnetic energy and dE_mag/dt = P_G + P_DL. Its spin-force part is
P_DL,fl = kappa J delta S . T2 = kappa n_p P_sf, P_sf = -p eta rho0 [(M.j)^2 + M_z^2 j^2] (per area) the
spin-force power on the current (`jaxsot.joule_heating`): the magnet's loss equals the extra Joule heat
-P_sf of eq. 17 times kappa n_p = g n_p/(2 n_mu), the ratio of the polarized electrons' angular momentum
to the magnet's. The papers' equality is the case kappa n_p = 1; the rest of the extra Joule heat is
supplied by the source (it exists for a fixed M: it is the AMR).
"""

import dataclasses
import functools
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
import optimistix as optx
from jaxtyping import Array, Bool, Float

from ._bands import _float_dtype
from ._constants import CARRIER_CHARGE, G_ELECTRON, HBAR, HBAR2_OVER_2ME, MU0, MU_B_EV_PER_T, MU_B_J_PER_T
from ._contour import occupied_bands
from ._model import RashbaFerromagnet
from ._transport import contour_response
from ._validation import check_count, check_finite, check_range, check_shape, is_concrete


METHODS = ("strong_exchange", "exact")

_PROBE_DIRECTIONS = (
    (0.0, 0.0, 1.0),
    (0.0, 0.0, -1.0),
    (1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0),
    (-0.6, 0.8, 0.0),
    (0.5, 0.5, 0.7071067811865476),
)


def _float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))


def _unit_vectors(name, value):
    check_finite(name, value)
    check_shape(name, value, (3,))
    value = _float(value)
    norm = jnp.sqrt(jnp.sum(value * value, axis=-1, keepdims=True))
    if is_concrete(norm) and not bool(jnp.all(norm > 0.0)):
        raise ValueError(f"{name} has a zero-length vector; allowed: non-zero 3-vectors (normalized here)")
    return value / norm


class Magnet(eqx.Module):
    """Macrospin parameters (an immutable pytree; every field may carry leading batch dimensions).

    Args:
        ms_tesla: mu0 M_s [T] (> 0), saturation magnetization times mu0 (1 T is M_s = 7.96e5 A/m).
        thickness: magnet thickness d [nm] (> 0).
        gilbert: Gilbert damping alpha_G (>= 0; the papers' gamma_G).
        anisotropy_field: uniaxial anisotropy field B_K = 2 K_u/M_s [T] (< 0: easy plane).
        easy_axis: uniaxial axis u, shape (..., 3), normalized here.
        demag: diagonal demagnetizing factors (N_x, N_y, N_z), each in [0, 1] (thin film: (0, 0, 1)).
        external_field: B_ext [T], shape (..., 3).
        g_factor: g (> 0); gamma = g mu_B/hbar.

    Raises ValueError naming the parameter, its value and the allowed range.
    """

    ms_tesla: Float[Array, "..."]
    thickness: Float[Array, "..."]
    gilbert: Float[Array, "..."]
    anisotropy_field: Float[Array, "..."]
    easy_axis: Float[Array, "... 3"]
    demag: Float[Array, "... 3"]
    external_field: Float[Array, "... 3"]
    g_factor: Float[Array, "..."]

    _CORE_NDIM = {
        "ms_tesla": 0,
        "thickness": 0,
        "gilbert": 0,
        "anisotropy_field": 0,
        "easy_axis": 1,
        "demag": 1,
        "external_field": 1,
        "g_factor": 0,
    }

    def __init__(
        self,
        ms_tesla,
        thickness,
        gilbert,
        *,
        anisotropy_field=0.0,
        easy_axis=(0.0, 0.0, 1.0),
        demag=(0.0, 0.0, 1.0),
        external_field=(0.0, 0.0, 0.0),
        g_factor=G_ELECTRON,
    ):
        check_range("ms_tesla", ms_tesla, low=0.0, low_inclusive=False, unit="T")
        check_range("thickness", thickness, low=0.0, low_inclusive=False, unit="nm")
        check_range("gilbert", gilbert, low=0.0)
        check_range("anisotropy_field", anisotropy_field, unit="T")
        check_range("demag", demag, low=0.0, high=1.0)
        check_shape("demag", demag, (3,))
        check_finite("external_field", external_field)
        check_shape("external_field", external_field, (3,))
        check_range("g_factor", g_factor, low=0.0, low_inclusive=False)
        self.ms_tesla = _float(ms_tesla)
        self.thickness = _float(thickness)
        self.gilbert = _float(gilbert)
        self.anisotropy_field = _float(anisotropy_field)
        self.easy_axis = _unit_vectors("easy_axis", easy_axis)
        self.demag = _float(demag)
        self.external_field = _float(external_field)
        self.g_factor = _float(g_factor)

    @property
    def gamma(self):
        """Gyromagnetic ratio gamma = g mu_B/hbar [rad/(fs T)]."""
        return self.g_factor * MU_B_EV_PER_T / HBAR

    @property
    def moment_density(self):
        """n_mu = M_s d/mu_B, the magnet's moment per area [mu_B/nm^2]."""
        return self.ms_tesla / MU0 * (self.thickness * 1e-9) / MU_B_J_PER_T * 1e-18

    @property
    def torque_area(self):
        """kappa = g/(2 n_mu) = g mu_B/(2 M_s d) [nm^2]: dM/dt = -kappa P_perp T for an electron torque density T."""
        return self.g_factor / (2.0 * self.moment_density)


def conventional_field(magnet: Magnet, m: Float[Array, "3"]) -> Float[Array, "3"]:
    """B_0(M) = B_ext + B_K (u.M) u - mu0 M_s (N M) [T] (external + uniaxial + shape), single magnet."""
    u = magnet.easy_axis
    return magnet.external_field + magnet.anisotropy_field * (u @ m) * u - magnet.ms_tesla * magnet.demag * m


def conventional_energy(magnet: Magnet, m: Float[Array, "3"]) -> Float[Array, ""]:
    """E_0(M) = n_mu mu_B [-B_ext.M - (B_K/2)(u.M)^2 + (mu0 M_s/2) M.N.M] [eV/nm^2]; B_0 = -dE_0/dM/(n_mu mu_B)."""
    u = magnet.easy_axis
    density = -magnet.external_field @ m - 0.5 * magnet.anisotropy_field * (u @ m) ** 2 + 0.5 * magnet.ms_tesla * (magnet.demag @ (m * m))
    return magnet.moment_density * MU_B_EV_PER_T * density


def _circular_densities(alpha, j_ex, mass_ratio, fermi_energy):
    """(n_lower, n_upper) [1/nm^2] for M || z in closed form: c x + s sqrt(alpha^2 x + J^2) = E_F, x = k_F^2."""
    c = HBAR2_OVER_2ME / mass_ratio
    b = 2.0 * c * fermi_energy + alpha**2
    disc = 4.0 * c**2 * j_ex**2 + 4.0 * c * fermi_energy * alpha**2 + alpha**4
    root = jnp.sqrt(jnp.maximum(disc, 0.0))
    lower = jnp.where(fermi_energy > -j_ex, (b + root) / (2.0 * c**2), 0.0)
    upper = jnp.where(fermi_energy > j_ex, (b - root) / (2.0 * c**2), 0.0)
    return lower / (4.0 * math.pi), upper / (4.0 * math.pi)


class SpinOrbitTorque(eqx.Module):
    """The electron ensemble as the source of the spin-orbit torque on the magnet (batchable pytree).

    Args:
        alpha: Rashba coupling [eV nm]. j_ex: exchange J [eV] (> 0). fermi_energy: E_F [eV].
        efield: applied in-plane field E (..., 2) [V/nm] (E = rho0 j; the CLI takes j and rho0).
        tau: momentum relaxation time [fs] (> 0): Delta k = qE tau/hbar.
        mass_ratio: m*/m_e (> 0).
        method: "exact" (Fermi-contour fluxes of the exact bands at the current M) or
            "strong_exchange" (closed forms, paper eq. 13/14 and A1).
        field_like, damping_like: include T1 / T2 (module docstring).
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
        self.alpha, self.j_ex, self.fermi_energy = _float(alpha), _float(j_ex), _float(fermi_energy)
        self.efield, self.tau, self.mass_ratio = _float(efield), _float(tau), _float(mass_ratio)
        self.method = method
        self.field_like = bool(field_like)
        self.damping_like = bool(damping_like)
        self.bands = _checked_bands(self.alpha, self.j_ex, self.mass_ratio, self.fermi_energy)
        self.n_lower, self.n_upper = _circular_densities(self.alpha, self.j_ex, self.mass_ratio, self.fermi_energy)

    @classmethod
    def from_model(cls, model: RashbaFerromagnet, fermi_energy, efield, tau, **options) -> "SpinOrbitTorque":
        """The torque source with the band parameters of `model` (its magnetization is not used)."""
        return cls(model.alpha, model.j_ex, fermi_energy, efield, tau, mass_ratio=model.mass_ratio, **options)

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
    found = None
    for a, j, mr, ef in combos:
        eta = a * a / (2.0 * HBAR2_OVER_2ME / mr * j)
        if eta >= 1.0:
            raise ValueError(
                f"alpha = {a:g} eV nm, j_ex = {j:g} eV: eta = m alpha^2/(hbar^2 J) = {eta:.3g} makes the lower band a "
                "'Mexican hat' (annular Fermi sea); allowed: eta < 1 (stronger exchange or weaker Rashba coupling)"
            )
        per_direction = set()
        for direction in _PROBE_DIRECTIONS:
            model = RashbaFerromagnet(a, j, onp.asarray(direction), mr)
            per_direction.add(occupied_bands(model, ef))
        if len(per_direction) != 1:
            raise ValueError(
                f"fermi_energy = {ef:g} eV: the occupied bands change as M turns ({sorted(per_direction)}); "
                f"allowed: fermi_energy > j_ex = {j:g} eV (both bands) or below the upper band's bottom for every M"
            )
        (bands,) = per_direction
        if found is not None and bands != found:
            raise ValueError(
                f"the batch mixes occupied bands {found} and {bands}; allowed: one set of occupied bands per batch "
                "(split the batch at fermi_energy = j_ex)"
            )
        found = bands
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# Electron torques at magnetization m (single instance; jit/vmap-friendly).


def _cross_z(v):
    """v x z for an in-plane v (2,) -> (3,)."""
    return jnp.stack([v[1], -v[0], jnp.zeros_like(v[0])])


def _perp(m, v):
    return v - m * (m @ v)


def electron_response(torque: SpinOrbitTorque, m: Float[Array, "3"]) -> dict:
    """Electron torque densities and the spin-force power at magnetization m (unit 3-vector), one instance.

    Returns a dict (per area):
        "field_like" T1 = (2J/hbar) M x delta S (3,) [1/(nm^2 fs)];
        "damping_like" T2 = -dS/dt (3,) [1/(nm^2 fs)] (k' = qE/hbar);
        "spin_shift" delta S (3,) [1/nm^2] (strong exchange: the unprojected conservative form);
        "spin_force_power" P_sf [eV/(nm^2 fs)]; "current" j (2,) [e/(fs nm)];
        "polarization" n_p = n_lower - n_upper [1/nm^2].
    """
    dtype = m.dtype
    kdot = CARRIER_CHARGE * torque.efield.astype(dtype) / HBAR
    shift = kdot * torque.tau
    alpha, j_ex = torque.alpha, torque.j_ex
    if torque.method == "strong_exchange":
        n_p = torque.n_lower - torque.n_upper
        spin_shift = -n_p * alpha / j_ex * _cross_z(shift)
        spin_rate = -n_p * alpha / j_ex * _perp(m, _cross_z(kdot))
        # shift.(I - w w^T).kdot written as (M.shift)(M.kdot) + M_z^2 shift.kdot: no cancellation near M || w.
        power = -n_p * alpha**2 / j_ex * ((m[:2] @ shift) * (m[:2] @ kdot) + m[2] ** 2 * (shift @ kdot))
        mass = HBAR**2 / (2.0 * HBAR2_OVER_2ME / torque.mass_ratio)
        current = CARRIER_CHARGE * (torque.n_lower + torque.n_upper) * HBAR * shift / mass
    else:
        model = RashbaFerromagnet(alpha, j_ex, m, torque.mass_ratio)
        response = contour_response(model, torque.fermi_energy, shift, kdot, torque.bands, torque.num)
        spin_shift, spin_rate = response["spin_shift"], response["spin_rate"]
        power, current = response["spin_force_power"], response["current"]
        n_p = response["densities"][0] - response["densities"][1]
    return {
        "field_like": 2.0 * j_ex / HBAR * jnp.cross(m, spin_shift),
        "damping_like": -spin_rate,
        "spin_shift": spin_shift,
        "spin_force_power": power,
        "current": current,
        "polarization": n_p,
    }


def exchange_torque(magnet: Magnet, m: Float[Array, "3"], torque_density: Float[Array, "3"]) -> Float[Array, "3"]:
    """dM/dt on the unit magnetization from an electron torque density T = (2J/hbar) M x S [1/(nm^2 fs)].

    dM/dt = -kappa P_perp T, kappa = g mu_B/(2 M_s d) = g/(2 n_mu) [nm^2] (module docstring: angular
    momentum (hbar/2) T per area and time goes to the magnet, whose angular momentum is -(hbar n_mu/g) M).
    Single instance; returns (3,) [1/fs].
    """
    m = m / jnp.sqrt(m @ m)
    return -magnet.torque_area * _perp(m, torque_density)


def llg_rates(magnet: Magnet, torque: SpinOrbitTorque, m: Float[Array, "3"], current_on=True) -> dict:
    """Every term of the LLG and of the energy balance at magnetization m, one instance (jit/vmap-friendly).

    Args:
        m: (3,) magnetization direction (normalized here). current_on: 0/1 or bool (the current's switch).
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
    b_fl = torque.j_ex * electrons["spin_shift"] / moment if torque.field_like else zero
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


# ---------------------------------------------------------------------------------------------
# Integrator: diffrax Tsit5 with adaptive PID step control and renormalization of M after each step.


class _Renormalized(diffrax.AbstractAdaptiveSolver, diffrax.AbstractWrappedSolver):
    """Wraps an adaptive explicit solver and projects M back to the unit sphere after every step.

    The vector field depends on M/|M| only and is tangent to the sphere, so the projection removes
    the O(tolerance) radial drift without changing the error control or the FSAL stage.
    """

    solver: diffrax.AbstractSolver

    @property
    def term_structure(self):
        return self.solver.term_structure

    @property
    def interpolation_cls(self):  # pyright: ignore
        return self.solver.interpolation_cls

    @property
    def term_compatible_contr_kwargs(self):
        return self.solver.term_compatible_contr_kwargs

    def order(self, terms):
        return self.solver.order(terms)

    def strong_order(self, terms):
        return self.solver.strong_order(terms)

    def error_order(self, terms):
        return self.solver.error_order(terms)

    def init(self, terms, t0, t1, y0, args):
        return self.solver.init(terms, t0, t1, y0, args)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        y1, error, dense, state, result = self.solver.step(terms, t0, t1, y0, args, solver_state, made_jump)
        m = y1[:3]
        y1 = jnp.concatenate([m / jnp.sqrt(m @ m), y1[3:]])
        return y1, error, dense, state, result

    def func(self, terms, t0, y0, args):
        return self.solver.func(terms, t0, y0, args)


def _vector_field(t, y, args):
    magnet, torque, current_off, ledger = args
    on = (t < current_off).astype(y.dtype)
    rates = llg_rates(magnet, torque, y[:3], on)
    if not ledger:
        return rates["dmdt"]
    powers = [rates["power_gilbert"], rates["power_spin_force"], rates["power_damping_conventional"], rates["power_field_like"], rates["spin_force_power"]]
    return jnp.concatenate([rates["dmdt"], jnp.stack(powers)])


WORK_COLUMNS = ("gilbert", "spin_force", "damping_conventional", "field_like", "electron_spin_force")
"""Columns of `LlgResult.work` [eV/nm^2]: time integrals of P_G, P_DL,fl, P_DL,0, P_FL and P_sf (`llg_rates`)."""


def _solve_one(magnet, torque, m0, times, t_end, current_off, switch_axis, switch_threshold, stop_rate, rtol, atol, static):
    max_steps, ledger, use_switch, use_stop, pulse = static
    # State: M (3,), then (ledger) the time integrals of the powers in WORK_COLUMNS; one flat array
    # keeps the compiled graph small.
    y0 = m0 / jnp.sqrt(m0 @ m0)
    if ledger:
        y0 = jnp.concatenate([y0, jnp.zeros(len(WORK_COLUMNS), m0.dtype)])
    args = (magnet, torque, current_off, ledger)
    term = diffrax.ODETerm(lambda t, y, a: _vector_field(t, y, a))

    def switch_value(y):
        return (y[:3] / jnp.sqrt(y[:3] @ y[:3])) @ switch_axis - switch_threshold

    def stop_value(t, y, args):
        return jnp.sqrt(jnp.sum(_vector_field(t, y, args)[:3] ** 2)) / stop_rate - 1.0

    def condition(t, y, args, **kwargs):
        # One real condition, the smaller of the two; the event is its downward zero crossing, located
        # by bisection on the dense output (robust where Newton is not: the crossing is bracketed).
        values = ([switch_value(y)] if use_switch else []) + ([stop_value(t, y, args)] if use_stop else [])
        return values[0] if len(values) == 1 else jnp.minimum(values[0], values[1])

    event = None
    if use_switch or use_stop:
        event = diffrax.Event(condition, root_finder=optx.Bisection(rtol=1e-12, atol=1e-9), direction=False)
    controller = diffrax.PIDController(
        rtol=rtol,
        atol=atol,
        norm=lambda error: optx.rms_norm(error[:3]),
        jump_ts=jnp.stack([current_off]) if pulse else None,
    )
    solution = diffrax.diffeqsolve(
        term,
        _Renormalized(diffrax.Tsit5()),
        t0=jnp.zeros((), m0.dtype),
        t1=t_end,
        dt0=None,
        y0=y0,
        args=args,
        saveat=diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=times), diffrax.SubSaveAt(t1=True)]),
        stepsize_controller=controller,
        event=event,
        max_steps=max_steps,
        throw=False,
    )
    (ts, ts_final), (ys, ys_final) = solution.ts, solution.ys
    fired = jnp.asarray(False) if solution.event_mask is None else jnp.asarray(solution.event_mask)
    switch_fired = jnp.asarray(False)
    if use_switch:
        switch_fired = fired & (switch_value(ys_final[0]) <= 1e-6)
    stop_fired = fired & ~switch_fired
    return {
        "ts": jnp.concatenate([ts, ts_final]),
        "m": jnp.concatenate([ys[:, :3], ys_final[:, :3]]),
        "work": jnp.concatenate([ys[:, 3:], ys_final[:, 3:]]) if ledger else None,
        "success": (solution.result == diffrax.RESULTS.successful) | (solution.result == diffrax.RESULTS.event_occurred),
        "num_steps": solution.stats["num_accepted_steps"],
        "num_rejected": solution.stats["num_rejected_steps"],
        "switch_fired": switch_fired,
        "stop_fired": stop_fired,
    }


@functools.partial(jax.jit, static_argnums=(11, 12))
def _solve_batch(magnet, torque, m0, times, t_end, current_off, switch_axis, switch_threshold, stop_rate, rtol, atol, static, chunk):
    """vmap over trajectories; batches larger than `chunk` run as lax.map over chunks of `chunk`.

    Chunking keeps the vectorized intermediates in cache and lets each chunk's while loop stop at
    its own slowest trajectory (PERFORMANCE.md item 6).
    """

    def solve(mag, tor, m):
        return jax.vmap(_solve_one, in_axes=(0, 0, 0, None, None, None, None, None, None, None, None, None))(
            mag, tor, m, times, t_end, current_off, switch_axis, switch_threshold, stop_rate, rtol, atol, static
        )

    size = m0.shape[0]
    if size <= chunk:
        return solve(magnet, torque, m0)
    count = -(-size // chunk)
    padded = count * chunk

    def split(x):
        x = jnp.concatenate([x, jnp.broadcast_to(x[:1], (padded - size,) + x.shape[1:])])
        return x.reshape((count, chunk) + x.shape[1:])

    out = jax.lax.map(lambda args: solve(*args), jax.tree_util.tree_map(split, (magnet, torque, m0)))
    return jax.tree_util.tree_map(lambda x: x.reshape((padded,) + x.shape[2:])[:size], out)


class LlgResult(eqx.Module):
    """Trajectories of `simulate_llg`; B = batch shape (() for one trajectory), T = num_save.

    Fields:
        times (T,) [fs]: the requested save times (a trajectory stopped by an event has valid = False after it);
        m (B..., T, 3): M(t), normalized; valid (B..., T): saved before the trajectory ended;
        work (B..., T, 5) [eV/nm^2] or None: time integrals of the powers in WORK_COLUMNS;
        t_final (B...) [fs], m_final (B..., 3), work_final (B..., 5) or None: the end of each trajectory
            (t_end, or the event time);
        switched (B...): the switching event fired; stopped (B...): the stop criterion fired;
        success (B...): the solver finished (False: max_steps exceeded or a non-finite torque);
        num_steps, num_rejected (B...): accepted / rejected adaptive steps;
        norm_error: max | |M| - 1 | of the saved states before normalization (integrator check).
    """

    times: Float[Array, "T"]
    m: Float[Array, "... T 3"]
    valid: Bool[Array, "... T"]
    work: Float[Array, "... T 5"] | None
    t_final: Float[Array, "..."]
    m_final: Float[Array, "... 3"]
    work_final: Float[Array, "... 5"] | None
    switched: Bool[Array, "..."]
    stopped: Bool[Array, "..."]
    success: Bool[Array, "..."]
    num_steps: Array
    num_rejected: Array
    norm_error: Float[Array, ""]


def _batch_shape(module, core_ndims):
    shapes = []
    for field in dataclasses.fields(module):
        if field.name not in core_ndims:
            continue
        value = getattr(module, field.name)
        core = core_ndims[field.name]
        shapes.append(tuple(value.shape[: value.ndim - core]))
    return shapes


def _broadcast_module(module, core_ndims, batch, size, dtype):
    names = [f.name for f in dataclasses.fields(module) if f.name in core_ndims]
    values = []
    for name in names:
        value = jnp.asarray(getattr(module, name)).astype(dtype)
        core = value.shape[value.ndim - core_ndims[name]:] if core_ndims[name] else ()
        values.append(jnp.broadcast_to(value, batch + core).reshape((size,) + core))
    return eqx.tree_at(lambda mod: [getattr(mod, n) for n in names], module, values)


def simulate_llg(
    magnet: Magnet,
    torque: SpinOrbitTorque,
    m0,
    t_end,
    *,
    num_save: int = 201,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    max_steps: int = 200_000,
    current_off=None,
    switch_axis=None,
    switch_threshold: float = 0.0,
    stop_rate=None,
    ledger: bool = True,
    chunk: int = 256,
) -> LlgResult:
    """Integrate the macrospin LLG with the electron spin-orbit torque (module docstring; paper eq. 3/4/16).

    diffrax Tsit5 (5th order) with a PID step-size controller on the M components (rtol, atol), and
    M renormalized to |M| = 1 after every step. Every field of `magnet` and `torque` and `m0` may carry
    leading batch dimensions; they are broadcast together and the trajectories run as one vmapped
    solve (batched = looped, tested). Units: time fs, fields T.

    Args:
        magnet: Magnet. torque: SpinOrbitTorque. m0: initial M (..., 3) (normalized here).
        t_end: end time [fs] (> 0). num_save: saved times, t = 0 .. t_end (>= 2).
        current_off: time [fs] at which the current switches off (a pulse), None: always on.
        switch_axis: (3,) axis of the switching event: stop when M.axis falls below switch_threshold
            (downward crossing, located by bisection on the dense output). None: no switching event.
        stop_rate: stop when |dM/dt| falls below stop_rate [1/fs] (relaxed; located the same way; a
            trajectory that starts below it never stops). None: no stop criterion.
        ledger: also integrate the energy ledger (WORK_COLUMNS).
        chunk: trajectories per vectorized chunk (larger batches run chunk after chunk).
    Returns: LlgResult.
    """
    check_range("t_end", t_end, low=0.0, low_inclusive=False, unit="fs")
    num_save = check_count("num_save", num_save, minimum=2)
    max_steps = check_count("max_steps", max_steps, minimum=16)
    chunk = check_count("chunk", chunk, minimum=1)
    check_range("rtol", rtol, low=0.0, low_inclusive=False)
    check_range("atol", atol, low=0.0, low_inclusive=False)
    check_shape("m0", m0, (3,))
    m0 = _unit_vectors("m0", m0)
    if not isinstance(magnet, Magnet):
        raise ValueError(f"magnet is a {type(magnet).__name__}; allowed: jaxsot.Magnet")
    if not isinstance(torque, SpinOrbitTorque):
        raise ValueError(f"torque is a {type(torque).__name__}; allowed: jaxsot.SpinOrbitTorque")
    if current_off is not None:
        check_range("current_off", current_off, low=0.0, unit="fs")
    if stop_rate is not None:
        check_range("stop_rate", stop_rate, low=0.0, low_inclusive=False, unit="1/fs")
    check_finite("switch_threshold", switch_threshold)

    leaves = [x for x in jax.tree_util.tree_leaves((magnet, torque)) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
    dtype = jnp.result_type(m0.dtype, *leaves)
    shapes = _batch_shape(magnet, Magnet._CORE_NDIM) + _batch_shape(torque, SpinOrbitTorque._CORE_NDIM) + [m0.shape[:-1]]
    try:
        batch = tuple(onp.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"the batch dimensions {shapes} of magnet, torque and m0 do not broadcast; allowed: broadcastable leading shapes") from None
    size = int(onp.prod(batch)) if batch else 1
    magnet_b = _broadcast_module(magnet, Magnet._CORE_NDIM, batch, size, dtype)
    torque_b = _broadcast_module(torque, SpinOrbitTorque._CORE_NDIM, batch, size, dtype)
    m0_b = jnp.broadcast_to(m0.astype(dtype), batch + (3,)).reshape(size, 3)

    t_end = jnp.asarray(t_end, dtype)
    times = jnp.linspace(0.0, t_end, num_save, dtype=dtype)
    pulse = current_off is not None and math.isfinite(float(current_off))
    off = jnp.asarray(float(current_off) if pulse else math.inf, dtype)
    if switch_axis is not None:
        axis = _unit_vectors("switch_axis", switch_axis).astype(dtype)
        if axis.shape != (3,):
            raise ValueError(f"switch_axis has shape {axis.shape}; allowed: (3,)")
    else:
        axis = jnp.zeros(3, dtype)
    static = (max_steps, bool(ledger), switch_axis is not None, stop_rate is not None, pulse)
    out = _solve_batch(
        magnet_b,
        torque_b,
        m0_b,
        times,
        t_end,
        off,
        axis,
        jnp.asarray(switch_threshold, dtype),
        jnp.asarray(stop_rate if stop_rate is not None else 0.0, dtype),
        jnp.asarray(rtol, dtype),
        jnp.asarray(atol, dtype),
        static,
        chunk,
    )
    ts = out["ts"]  # (size, T + 1): the save times then t1
    raw = out["m"]
    valid = jnp.isfinite(ts[:, :-1])
    norms = jnp.sqrt(jnp.sum(raw**2, -1))
    finite = jnp.isfinite(norms)
    norm_error = jnp.max(jnp.where(finite, jnp.abs(norms - 1.0), 0.0))
    m = raw / jnp.where(finite, norms, 1.0)[..., None]

    def shaped(x, core=()):
        return x.reshape(batch + core)

    work = out["work"]
    return LlgResult(
        times=times,
        m=shaped(m[:, :-1], (num_save, 3)),
        valid=shaped(valid, (num_save,)),
        work=None if work is None else shaped(work[:, :-1], (num_save, len(WORK_COLUMNS))),
        t_final=shaped(ts[:, -1]),
        m_final=shaped(m[:, -1], (3,)),
        work_final=None if work is None else shaped(work[:, -1], (len(WORK_COLUMNS),)),
        switched=shaped(out["switch_fired"]),
        stopped=shaped(out["stop_fired"]),
        success=shaped(out["success"]),
        num_steps=shaped(out["num_steps"]),
        num_rejected=shaped(out["num_rejected"]),
        norm_error=norm_error,
    )


def llg_diagnostics(magnet: Magnet, torque: SpinOrbitTorque, m, current_on=True) -> dict:
    """`llg_rates` for one (unbatched) magnet and torque over magnetizations m (..., 3) (jitted, vmapped).

    current_on: bool/0-1, broadcast against m's leading dimensions (e.g. a pulse along a trajectory).
    """
    check_shape("m", m, (3,))
    m = jnp.asarray(m)
    flat = m.reshape(-1, 3)
    on = jnp.broadcast_to(jnp.asarray(current_on, flat.dtype), m.shape[:-1]).reshape(-1)
    out = _diagnostics_impl(magnet, torque, flat, on)
    return {k: v.reshape(m.shape[:-1] + v.shape[1:]) for k, v in out.items()}


@jax.jit
def _diagnostics_impl(magnet, torque, m, on):
    return jax.vmap(lambda x, o: llg_rates(magnet, torque, x, o))(m, on)


def strong_exchange_coefficients(magnet: Magnet, torque: SpinOrbitTorque) -> dict:
    """Closed-form torque coefficients of the strong-exchange source (single instance, internal units).

    Returns: "field_like_field" B_fl = -(alpha n_p/(n_mu mu_B)) (Delta k x z) (3,) [T] (paper eq. A1);
    "damping_like_rate" a_J = kappa n_p (alpha/J) |k'| [1/fs] and "polarization_axis" p = (k' x z)/|k'| (3,)
    with T_DL = a_J M x (M x p); "kappa_np" = kappa n_p (the magnet-loss / extra-Joule ratio).
    """
    dtype = _float_dtype(torque.efield, magnet.ms_tesla)
    kdot = CARRIER_CHARGE * jnp.asarray(torque.efield, dtype) / HBAR
    shift = kdot * torque.tau
    n_p = torque.n_lower - torque.n_upper
    moment = magnet.moment_density * MU_B_EV_PER_T
    speed = jnp.sqrt(kdot @ kdot)
    return {
        "field_like_field": -torque.alpha * n_p / moment * _cross_z(shift),
        "damping_like_rate": magnet.torque_area * n_p * torque.alpha / torque.j_ex * speed,
        "polarization_axis": _cross_z(kdot) / speed,
        "kappa_np": magnet.torque_area * n_p,
    }

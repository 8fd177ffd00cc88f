"""The momentum relaxation time tau of a film from its measured resistivity rho0 (drude_tau, transport_tau).

What `jaxsot llg` uses to turn a film's resistivity into the constant-tau rigid shift of the Fermi sea,
Delta k = qE tau/hbar, so that the sheet current is j = E/rho0.
"""

import jax
import jax.numpy as jnp
import numpy as onp
from .._core._checks import check_finite, check_range, is_concrete, traced_check
from .._core._model import TwoBandModel, with_magnetization
from .._ensemble._transport import SIEMENS_PER_INTERNAL, conductivity
from .._fermi._circular import circular_densities
from ..constants import ELECTRON_MASS_KG, ELEMENTARY_CHARGE_C


def drude_tau(alpha, j_ex, fermi_energy, thickness, rho0, mass_ratio=1.0):
    """Momentum relaxation time from the film's resistivity, tau = m t_F/(rho0 e^2 n) [fs] (what `jaxsot llg` uses).

    n = n_lower + n_upper at M || z (closed form), the sheet current j t_F then carries E = rho0 j with the
    rigid shift Delta k = qE tau/hbar. Differentiable.

    Args:
        alpha: Rashba coupling [eV nm].
        j_ex: exchange energy J [eV].
        fermi_energy: Fermi energy E_F [eV].
        thickness: film thickness t_F [nm].
        rho0: film resistivity [ohm m].
        mass_ratio: effective mass m*/m_e.

    Returns: tau [fs].

    Raises:
        ValueError: no band is occupied; thickness, rho0 or mass_ratio <= 0 or not finite; tau not a
            positive finite number (over- or underflow from extreme inputs). Concrete inputs raise at
            once; traced inputs get the same checks at run time.
    """
    alpha = check_finite("alpha", alpha)
    j_ex = check_finite("j_ex", j_ex)
    fermi_energy = check_finite("fermi_energy", fermi_energy)
    thickness = check_range("thickness", thickness, low=0.0, low_inclusive=False, unit="nm")
    rho0 = check_range("rho0", rho0, low=0.0, low_inclusive=False, unit="ohm m")
    mass_ratio = check_range("mass_ratio", mass_ratio, low=0.0, low_inclusive=False)
    tau = _drude_tau(alpha, j_ex, fermi_energy, thickness, rho0, mass_ratio)
    message = "tau = m t_F/(rho0 e^2 n) is 0 or not finite (over- or underflow of thickness, rho0, mass_ratio); allowed: inputs giving 0 < tau < inf"
    if not is_concrete(tau):
        return traced_check(tau, jnp.logical_not(jnp.all(jnp.isfinite(tau) & (tau > 0))), message)
    with jax.ensure_compile_time_eval():
        bad = not bool(jnp.all(jnp.isfinite(tau) & (tau > 0)))
    if bad:
        raise ValueError(
            f"tau = {onp.asarray(tau).tolist()} fs from thickness = {thickness} nm, rho0 = {rho0} ohm m, mass_ratio = "
            f"{mass_ratio}: tau = m t_F/(rho0 e^2 n) must be a positive finite number; allowed: inputs giving 0 < tau < inf"
        )
    return tau


def _drude_tau(alpha, j_ex, fermi_energy, thickness, rho0, mass_ratio):
    n_lower, n_upper = circular_densities(alpha, j_ex, mass_ratio, fermi_energy)
    density = (n_lower + n_upper) * 1e18  # 1/m^2
    if is_concrete(density) and not bool(jnp.all(density > 0.0)):
        raise ValueError(f"fermi_energy = {fermi_energy} eV lies below both bands (no electrons); allowed: fermi_energy > -j_ex")
    tau_s = mass_ratio * ELECTRON_MASS_KG * thickness * 1e-9 / (rho0 * ELEMENTARY_CHARGE_C**2 * density)
    return tau_s * 1e15


def transport_tau(model: TwoBandModel, fermi_energy, thickness, rho0, direction=(1.0, 0.0), num: int = 256):
    """Momentum relaxation time [fs] at which the film's Boltzmann conductance equals thickness/rho0.

    sigma(tau) = tau sigma_1 (constant-tau Boltzmann, exact bands at M || z, along the current
    direction e), so tau = (t_F/rho0)/(e.sigma_1.e): the rigid shift Delta k = qE tau/hbar then
    carries the current j = E/rho0. For a parabolic band this is Drude, m t_F/(rho0 e^2 n)
    (`drude_tau`, which the Rashba path of `jaxsot llg` uses). Concrete inputs.

    Args:
        model: any TwoBandModel (its M is set to +z here).
        fermi_energy: E_F [eV].
        thickness: film thickness t_F [nm] (> 0).
        rho0: resistivity [ohm m] (> 0).
        direction: in-plane current direction (2,).
        num: rays per Fermi contour.

    Returns:
        tau [fs] (a float).

    Raises:
        ValueError: for traced inputs, a thickness or rho0 out of range, or a Fermi sea that is
            not supported (`jaxsot.occupied_bands`).
    """
    check_range("thickness", thickness, low=0.0, low_inclusive=False, unit="nm")
    check_range("rho0", rho0, low=0.0, low_inclusive=False, unit="ohm m")
    if not is_concrete(model, fermi_energy, thickness, rho0, direction):
        raise ValueError(
            "transport_tau needs concrete values (it finds the occupied bands); allowed: call it outside jit/grad/vmap "
            "and pass the resulting tau in"
        )
    e = onp.asarray(direction, dtype=float)
    e = e / onp.linalg.norm(e)
    up = with_magnetization(model, jnp.asarray([0.0, 0.0, 1.0], model.dtype))
    sigma_1 = float(e @ onp.asarray(conductivity(up, fermi_energy, 1.0, num)) @ e) * SIEMENS_PER_INTERNAL  # S per fs
    return (thickness * 1e-9 / rho0) / sigma_1

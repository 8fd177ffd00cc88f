"""Energy transfer between the magnet and the current (paper eq. 15-17): a physics check that a wrong torque fails.

Two different figures are easy to confuse:
- the energy *ledger* of `simulate_llg` (`LlgResult.work`) integrates the powers of the same dM/dt
  that moves M, so E(t) - E(0) = int P dt holds for any torque, right or wrong: it measures the
  integration accuracy, not the physics;
- `energy_transfer_check` compares the magnet's loss through the spin force, computed from the
  torques the LLG uses, with the extra Joule heat of the electrons computed by an independent
  route (the constant-tau Boltzmann resistivity of the exact bands, i.e. the AMR). A damping-like
  torque of the wrong size or sign, or a wrong field-like field, breaks the agreement.
Docs: Theory > Energy transfer and AMR.
"""

import jax.numpy as jnp
import numpy as onp

from .._core import check_shape
from .._ensemble import conductivity
from ..constants import MU_B_EV_PER_T
from ._magnet import Magnet
from ._solver import llg_diagnostics
from ._torque import SpinOrbitTorque, model_at


def energy_transfer_check(
    magnet: Magnet,
    torque: SpinOrbitTorque,
    m,
    *,
    damping_like=None,
    field_like_field=None,
    num: int = 64,
) -> dict:
    """The magnet's spin-force loss against kappa n_p times the extra Joule heat, at magnetizations m.

    The magnet loses energy through the damping-like torque acting against the field-like field,
    P_DL,fl = -n_mu mu_B B_fl . T_DL (paper eq. 15/16, `llg_rates`). Angular-momentum bookkeeping
    (docs: Theory > Magnetization dynamics (LLG)) makes this kappa n_p times the spin-force power on the
    current, and that power is the extra Joule heat of the AMR (paper eq. 17/18), which this function
    computes independently of the torques: (rho(M) - rho0) j^2 per area with the Boltzmann sheet
    resistivity of the exact bands, j = sigma(M) E, rho0 at M0 = z x E/|E| (no AMR there).

    Args:
        magnet, torque: one (unbatched) magnet and electron source (`SpinOrbitTorque`, or `ModelTorque`
            for any TwoBandModel); torque.method is used as given.
        m: (N, 3) magnetizations (normalized here), e.g. samples of an LLG trajectory.
        damping_like, field_like_field: optional (N, 3) overrides of the LLG's damping-like torque
            T_DL [1/fs] and field-like field B_fl [T] (to check torques computed elsewhere; the
            tests use them to show that wrong torques fail).
        num: rays per Fermi contour of the Boltzmann route.
    Returns a dict of NumPy arrays/floats: "magnet_loss" P_DL,fl (N,) and "joule_route"
    -kappa n_p (rho(M) - rho0) j^2 (N,) [eV/(nm^2 fs)], and "ratio" = sum(magnet_loss)/sum(joule_route)
    over the samples (1 up to O((alpha k_F/J)^2) corrections; 1.009 measured on the energy_balance
    experiment at alpha k_F/J = 0.17).
    """
    check_shape("m", m, (3,))
    m = jnp.asarray(m)
    m = m / jnp.linalg.norm(m, axis=-1, keepdims=True)
    rates = llg_diagnostics(magnet, torque, m)
    t_dl = rates["damping_like"] if damping_like is None else jnp.asarray(damping_like)
    b_fl = rates["field_like_field"] if field_like_field is None else jnp.asarray(field_like_field)
    moment = magnet.moment_density * MU_B_EV_PER_T
    magnet_loss = onp.asarray(-moment * jnp.sum(b_fl * t_dl, axis=-1))
    efield = onp.asarray(torque.efield, dtype=float)
    direction = efield / onp.linalg.norm(efield)
    reference = model_at(torque, onp.asarray([-direction[1], direction[0], 0.0]))
    rho0 = onp.linalg.inv(onp.asarray(conductivity(reference, torque.fermi_energy, torque.tau, num)))
    extra = []
    for direction_m in onp.asarray(m):
        model = model_at(torque, direction_m)
        sigma = onp.asarray(conductivity(model, torque.fermi_energy, torque.tau, num))
        current = sigma @ efield
        extra.append(current @ (onp.linalg.inv(sigma) - rho0) @ current)
    kappa_np = float(magnet.torque_area) * onp.asarray(rates["polarization"])
    joule_route = -kappa_np * onp.asarray(extra)
    return {"magnet_loss": magnet_loss, "joule_route": joule_route, "ratio": float(magnet_loss.sum() / joule_route.sum())}

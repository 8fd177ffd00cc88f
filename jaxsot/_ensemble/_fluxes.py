"""Linear response of the Fermi sea from Fermi-contour fluxes (the exact route of the fit and of the
effective fields)."""

import jax
import jax.numpy as jnp

from .._core._model import RashbaFerromagnet
from ..constants import CARRIER_CHARGE
from ._transport import band_fluxes


def contour_fluxes(model: RashbaFerromagnet, fermi_energy, bands: tuple, num: int):
    """Linear response of the T = 0 Fermi sea at the model's M, summed over `bands`; jit/vmap/grad-friendly.

    Args:
        model: the Rashba ferromagnet (its M is the magnetization of the response).
        fermi_energy: E_F [eV], a scalar.
        bands: static tuple of occupied bands, e.g. (-1, 1) (check them on the host with
            `jaxsot.occupied_bands`).
        num: static number of rays per band on the Fermi contour.

    Returns:
        A tuple (A, sigma/tau, densities): A (3, 2) [1/nm] with S(shifted sea) - S_eq = A Delta k and
        dS/dt = A k' (first order); sigma/tau (2, 2) [e^2/(eV fs^2)], the constant-tau Boltzmann
        sheet conductance per tau; densities (2,) [1/nm^2], (n_lower, n_upper).

    Gradients are implicit-function gradients of the contour (no differentiation of the solve).
    """
    dtype = model.alpha.dtype
    # The band sign is a traced value: one copy of the contour graph for both bands (compile time).
    signs = jnp.asarray([float(s) for s in bands], dtype)
    fluxes = jax.vmap(lambda s: band_fluxes(model, fermi_energy, s, num))(signs)
    flux, conductance, density = fluxes.spin, fluxes.conductance, fluxes.density
    densities = jnp.zeros(2, dtype).at[jnp.asarray([0 if s < 0 else 1 for s in bands])].set(density)
    return jnp.sum(flux, 0), CARRIER_CHARGE**2 * jnp.sum(conductance, 0), densities

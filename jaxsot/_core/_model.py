"""The Rashba ferromagnet model (docs: Theory > Model, units and conventions; paper eq. 1)."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float
from ..constants import ELECTRON_MASS, HBAR, HBAR2_OVER_2ME
from ._checks import check_real_scalar, unit_vector



class TwoBandModel(eqx.Module):
    """The interface between a model and the rest of jaxsot: H(k) = eps0(k) + b(k)·sigma.

    Bands, Fermi contours, ensembles, time evolution and the quantum check reach the Hamiltonian
    only through these methods (one state, scalar components k = (kx, ky) [1/nm], scalars out):
    the exact bands are eps_s = eps0 + s |b|, the band spin s b/|b|, and every derivative (velocity,
    spin force, spin rate) is autodiff of them. Another two-band Hamiltonian plugs in by subclassing
    this and providing the three methods and `mass`; the closed-form approximations of the papers
    (second order, strong exchange) and the Rashba-specific Fermi-sea bounds stay specific to
    `RashbaFerromagnet`.
    """

    @abc.abstractmethod
    def kinetic_energy(self, kx, ky):
        """eps0(k) [eV], the spin-independent part of H."""

    @abc.abstractmethod
    def field(self, kx, ky):
        """b(k) = (bx, by, bz) [eV], the field coupled to sigma."""

    @abc.abstractmethod
    def spin_orbit_field(self, kx, ky):
        """The k-dependent (spin-orbit) part of b(k) [eV], (3 scalars): its torque on the spin is T1."""


class RashbaFerromagnet(TwoBandModel):
    """Two-dimensional Rashba ferromagnet, H = hbar^2 k^2/2m + alpha (k x z).sigma - J M.sigma.

    An immutable pytree, differentiable in every float field (use it under `jax.grad`,
    `jax.vmap` over a batch of models, `jax.jit`).

    Args:
        alpha: Rashba coupling [eV nm] (0.005 to 0.2 is typical; 1 eV A = 0.1 eV nm). alpha = 0
            is allowed for single-state quantities; the torque-force identity divides by it.
        j_ex: exchange coupling J [eV], >= 0. J = 0 is allowed (no exchange) for the exact bands;
            then `eta` is inf and the strong-exchange forms (expansions in alpha k/J) do not apply.
        magnetization: direction M, shape (3,); normalized here (it must not be zero). Any finite
            scale works: the vector is divided by its largest component before its length is
            taken, so [1e200, 1e200, 0] and [1e-300, 0, 0] give their directions.
        mass_ratio: effective mass m*/m_e, > 0.

    Checks (on concrete values): alpha, j_ex and mass_ratio are single finite real numbers
    (a Python/NumPy scalar or a 0-d array: no arrays with a shape, strings, booleans or complex
    numbers), j_ex >= 0, mass_ratio > 0, magnetization a finite real non-zero 3-vector. Raises
    ValueError naming the field, its value and the allowed range. For a batch of models, build
    them under `jax.vmap` (traced fields are not value-checked).
    """

    alpha: Float[Array, ""]
    j_ex: Float[Array, ""]
    magnetization: Float[Array, "3"]
    mass_ratio: Float[Array, ""]

    def __init__(self, alpha, j_ex, magnetization, mass_ratio=1.0):
        check_real_scalar("alpha", alpha, unit="eV nm")
        check_real_scalar("j_ex", j_ex, low=0.0, unit="eV")
        check_real_scalar("mass_ratio", mass_ratio, low=0.0, low_inclusive=False)
        self.alpha = jnp.asarray(alpha)
        self.j_ex = jnp.asarray(j_ex)
        self.magnetization = unit_vector("magnetization", magnetization)
        self.mass_ratio = jnp.asarray(mass_ratio)

    @classmethod
    def from_angles(cls, alpha, j_ex, theta, phi, mass_ratio=1.0) -> "RashbaFerromagnet":
        """Build the model with M = (sin theta cos phi, sin theta sin phi, cos theta).

        Args:
            theta: polar angle of M from +z [rad].
            phi: azimuth of M from +x [rad].
        """
        check_real_scalar("theta", theta, unit="rad")
        check_real_scalar("phi", phi, unit="rad")
        theta = jnp.asarray(theta)
        phi = jnp.asarray(phi)
        direction = jnp.stack(
            [jnp.sin(theta) * jnp.cos(phi), jnp.sin(theta) * jnp.sin(phi), jnp.cos(theta) + 0.0 * phi]
        )
        return cls(alpha, j_ex, direction, mass_ratio)

    @property
    def mass(self) -> Float[Array, ""]:
        """Effective mass m [eV fs^2 / nm^2]."""
        return self.mass_ratio * ELECTRON_MASS

    @property
    def kinetic_coefficient(self) -> Float[Array, ""]:
        """hbar^2 / (2 m) [eV nm^2]."""
        return HBAR2_OVER_2ME / self.mass_ratio

    @property
    def eta(self) -> Float[Array, ""]:
        """eta = m alpha^2 / (hbar^2 J), the dimensionless spin-force / AMR strength (paper eq. 13/14).

        inf for J = 0 (and alpha != 0): the strong-exchange limit does not exist without exchange."""
        return self.mass * self.alpha**2 / (HBAR**2 * self.j_ex)

    def kinetic_energy(self, kx, ky):
        """eps0(k) = hbar^2 k^2/2m [eV]."""
        return self.kinetic_coefficient * (kx * kx + ky * ky)

    def field(self, kx, ky):
        """b(k) = alpha (k x z) - J M = (alpha ky - J Mx, -alpha kx - J My, -J Mz) [eV] (paper eq. 1)."""
        mx, my, mz = self.magnetization[0], self.magnetization[1], self.magnetization[2]
        return (
            self.alpha * ky - self.j_ex * mx,
            -self.alpha * kx - self.j_ex * my,
            -self.j_ex * mz + 0.0 * kx,
        )

    def spin_orbit_field(self, kx, ky):
        """B_so = alpha (k x z) = (alpha ky, -alpha kx, 0) [eV] (paper eq. 5)."""
        return self.alpha * ky, -self.alpha * kx, 0.0 * kx

    def astype(self, dtype) -> "RashbaFerromagnet":
        """The same model with every field cast to `dtype` (no re-validation; differentiable)."""
        return _cast(self, dtype)


def _cast(model: RashbaFerromagnet, dtype) -> RashbaFerromagnet:
    # tree_map rebuilds the pytree without calling __init__: no re-normalization or checks.
    return jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf).astype(dtype), model)


def degeneracy_point(model: RashbaFerromagnet):
    """The band-touching point k* = (J/alpha)(z x M) [1/nm], shape (2,), or None.

    It exists only when M_z = 0 (and alpha != 0); Omega(k*) = 0 there and velocities and spin
    forces diverge (docs: Theory > Model, units and conventions). Concrete models only.
    """
    mx, my, mz = (float(x) for x in model.magnetization)
    alpha = float(model.alpha)
    # M_z = 0 to the precision of the model's dtype (cos 90 deg is -4.4e-8 in float32).
    tolerance = 4.0 * float(jnp.finfo(jnp.asarray(model.magnetization).dtype).eps)
    if alpha == 0.0 or abs(mz) > tolerance:
        return None
    scale = float(model.j_ex) / alpha
    return jnp.asarray([-my * scale, mx * scale])


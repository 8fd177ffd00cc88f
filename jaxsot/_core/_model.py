"""The Rashba ferromagnet model (docs: Theory > Model, units and conventions; paper eq. 1)."""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from ..constants import ELECTRON_MASS, HBAR, HBAR2_OVER_2ME
from ._checks import check_real_scalar, unit_vector



MASS_RATIO_RANGE = (1.0e-3, 100.0)
"""Allowed effective mass m*/m_e of `RashbaFerromagnet` (inclusive): outside it the band scales
(c = hbar^2/2m* against alpha and J) leave the range the ray bounds and meshes are built for."""

PROBE_RAYS_FOR_BOUND = 64
"""Rays on which the generic `TwoBandModel.ray_bound` searches for the outer edge of the Fermi sea."""


class TwoBandModel(eqx.Module):
    """The interface between a model and the rest of jaxsot: H(k) = eps0(k) + b(k)·sigma.

    Bands, Fermi contours, ensembles, time evolution and the quantum check reach the Hamiltonian
    only through these methods (one state, scalar components k = (kx, ky) [1/nm], scalars out):
    the exact bands are eps_s = eps0 + s |b|, the band spin s b/|b|, and every derivative (velocity,
    spin force, spin rate) is autodiff of them. Another two-band Hamiltonian plugs in by subclassing
    this and providing `kinetic_energy`, `field`, `spin_orbit_field` and `mass`; the other methods
    have generic defaults that a model may replace by exact or faster forms (the Rashba ferromagnet
    does). The closed-form approximations of the papers (second order, strong exchange, M || z)
    stay specific to `RashbaFerromagnet`.

    Fermi seas: a lattice model declares `lattice_vectors` and is integrated over its Brillouin
    zone; a continuum model's seas must be bounded (eps_s above E_F beyond `ray_bound`). Seas of any
    shape go through the mesh route; the exact ray route serves seas that contain k = 0 and are
    star-shaped about it (`jaxsot.fermi_sea_route`, docs: Theory > Brillouin-zone and Fermi-sea
    integration).
    """

    ray_bound_is_safe: ClassVar[bool] = False
    """True when `ray_bound` is a proven bound (eps_s >= E_F beyond it on every ray): the contour
    solver then skips its bracket-widening pass."""

    @abc.abstractmethod
    def kinetic_energy(self, kx, ky):
        """eps0(k) [eV], the spin-independent part of H."""

    @abc.abstractmethod
    def field(self, kx, ky):
        """b(k) = (bx, by, bz) [eV], the field coupled to sigma."""

    @abc.abstractmethod
    def spin_orbit_field(self, kx, ky):
        """The k-dependent (spin-orbit) part of b(k) [eV], (3 scalars): its torque on the spin is T1."""

    @property
    @abc.abstractmethod
    def mass(self):
        """The mass m [eV fs^2/nm^2] of the spin force F_so = m r'' - hbar k'."""

    @property
    def dtype(self):
        """The floating dtype of the model's parameters (the library computes in it)."""
        leaves = [leaf for leaf in jax.tree_util.tree_leaves(self) if jnp.issubdtype(jnp.result_type(leaf), jnp.floating)]
        return jnp.result_type(*leaves) if leaves else jnp.result_type(float)

    def astype(self, dtype) -> "TwoBandModel":
        """The same model with every field cast to `dtype` (no re-validation; differentiable)."""
        # tree_map rebuilds the pytree without calling __init__: no re-normalization or checks.
        # A concrete model stays concrete inside a traced function (its checks need values).
        with jax.ensure_compile_time_eval():
            return jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf).astype(dtype), self)

    def exchange_field(self):
        """The k-independent part of b, b(k) - B_so(k) [eV] (3 scalars): -J M for the Rashba ferromagnet.

        The field-like torque on the magnetization is (2/hbar) times the spin change crossed with
        minus this field; its size sets the scale of the band-touching test."""
        field = self.field(0.0, 0.0)
        spin_orbit = self.spin_orbit_field(0.0, 0.0)
        return tuple(b - so for b, so in zip(field, spin_orbit))

    def field_change(self, kx, ky, dkx, dky):
        """b(k + dk) - b(k) [eV] (3 scalars), the field change of a state whose wave vector moved by dk.

        Default: the difference of two `field` calls. A model whose b is affine in k replaces it with
        the exact linear form, free of the cancellation between two large fields (J >> alpha dk); a
        component that is identically zero may be returned as the Python float 0.0.
        """
        after = self.field(kx + dkx, ky + dky)
        before = self.field(kx, ky)
        return tuple(a - b for a, b in zip(after, before))

    def ray_bound(self, fermi_energy, s):
        """A radius r_u [1/nm] with eps_s(r khat) >= E_F at r = r_u on every ray from k = 0.

        The outer end of the Fermi-contour solver's bracket and of the Fermi-sea probes. Default:
        doubling from 1/nm until eps_s > E_F on PROBE_RAYS_FOR_BOUND rays, times 1.5 (the contour
        solver also doubles any ray still below E_F, so the bound need not be tight or exact).
        Traceable; s may be a traced band sign.
        """
        dtype = jnp.result_type(fermi_energy, self.dtype)
        phi = jnp.arange(PROBE_RAYS_FOR_BOUND, dtype=dtype) * (2.0 * jnp.pi / PROBE_RAYS_FOR_BOUND)
        cos, sin = jnp.cos(phi), jnp.sin(phi)

        def below(radius):
            kx, ky = radius * cos, radius * sin
            bx, by, bz = self.field(kx, ky)
            eps = self.kinetic_energy(kx, ky) + s * jnp.sqrt(bx * bx + by * by + bz * bz)
            return jnp.any(eps < fermi_energy)

        def double(state):
            radius, count = state
            return 2.0 * radius, count + 1

        radius, _ = jax.lax.while_loop(
            lambda state: below(state[0]) & (state[1] < 200), double, (jnp.ones((), dtype), 0)
        )
        return 1.5 * radius

    @property
    def lattice_vectors(self):
        """The primitive lattice vectors a1, a2 as the rows of a (2, 2) array [nm], or None (continuum).

        A lattice model returns them (its `kinetic_energy` and `field` are then periodic under the
        reciprocal vectors b_i, a_i . b_j = 2 pi delta_ij) and every Fermi-sea and Fermi-line
        quantity is integrated over its Brillouin zone (the mesh route, docs: Theory > Brillouin-zone
        and Fermi-sea integration). Default None: a continuum model, whose Fermi seas must be bounded."""
        return None

    def touching_point(self):
        """A wave vector k* (2,) [1/nm] where the bands touch (b(k*) = 0), or None (none known).

        Concrete models only. Default None: a model that knows its touching points names one here
        so that `jaxsot.band_touching_report` can say whether it lies in the Fermi sea; the per-state
        band-touching warning works without it (it tests Omega itself)."""
        return None

    def touching_description(self) -> str:
        """Text naming where the bands touch (b(k) = 0), for warnings; concrete models."""
        return "point where b(k) = 0"

    def with_magnetization(self, magnetization) -> "TwoBandModel":
        """The same model with the magnetization direction M replaced (no re-validation; traceable).

        How M enters the model, stated once: every layer that turns M (the LLG, effective fields,
        angular torque coefficients, AMR) calls this and nothing else. Default: replaces a
        `magnetization` (3,) field; a model whose M enters otherwise overrides this method.

        Args:
            magnetization: the new direction M, shape (3,), a unit vector (not normalized here).

        Returns:
            The model with M replaced (same type, same other fields).

        Raises:
            ValueError: for a model without a `magnetization` field that does not override this method.
        """
        return _replace_magnetization(self, magnetization)


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
        mass_ratio: effective mass m*/m_e, in MASS_RATIO_RANGE = [1e-3, 100].

    Checks (on concrete values): alpha, j_ex and mass_ratio are single finite real numbers
    (a Python/NumPy scalar or a 0-d array: no arrays with a shape, strings, booleans or complex
    numbers), j_ex >= 0, mass_ratio in MASS_RATIO_RANGE, magnetization a finite real non-zero
    3-vector. Traced alpha, j_ex and mass_ratio (under jit/grad/vmap) are checked when the program
    runs (finite, and the same ranges): an `equinox` run-time error naming the field. Raises
    ValueError naming the field, its value and the allowed range. For a batch of models, build
    them under `jax.vmap`.
    """

    alpha: Float[Array, ""]
    j_ex: Float[Array, ""]
    magnetization: Float[Array, "3"]
    mass_ratio: Float[Array, ""]
    ray_bound_is_safe: ClassVar[bool] = True  # `rashba_ray_bound` is a proven bound

    def __init__(self, alpha, j_ex, magnetization, mass_ratio=1.0):
        # The returned values carry the run-time checks when the inputs are traced (dropped otherwise).
        alpha = check_real_scalar("alpha", alpha, unit="eV nm")
        j_ex = check_real_scalar("j_ex", j_ex, low=0.0, unit="eV")
        mass_ratio = check_real_scalar("mass_ratio", mass_ratio, low=MASS_RATIO_RANGE[0], high=MASS_RATIO_RANGE[1])
        with jax.ensure_compile_time_eval():  # a model built from constants inside jit stays concrete (checkable)
            self.alpha, self.j_ex, self.mass_ratio = jnp.asarray(alpha), jnp.asarray(j_ex), jnp.asarray(mass_ratio)
        self.magnetization = unit_vector("magnetization", magnetization)

    @classmethod
    def from_angles(cls, alpha, j_ex, theta, phi, mass_ratio=1.0) -> "RashbaFerromagnet":
        """Build the model with M = (sin theta cos phi, sin theta sin phi, cos theta).

        Args:
            theta: polar angle of M from +z [rad].
            phi: azimuth of M from +x [rad].
        """
        theta = jnp.asarray(check_real_scalar("theta", theta, unit="rad"))
        phi = jnp.asarray(check_real_scalar("phi", phi, unit="rad"))
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

    def exchange_field(self):
        """-J M [eV] (3 scalars), the exchange part of b."""
        return tuple(-self.j_ex * self.magnetization[i] for i in range(3))

    def field_change(self, kx, ky, dkx, dky):
        """alpha (dk x z) = (alpha dky, -alpha dkx, 0) [eV]: exact, b is affine in k.

        The z component is the Python float 0.0, a structural zero the quantum integrator skips."""
        return self.alpha * dky, -self.alpha * dkx, 0.0

    def ray_bound(self, fermi_energy, s):
        """The closed-form bracket `rashba_ray_bound` [1/nm] (traceable)."""
        return rashba_ray_bound(self.alpha, self.j_ex, self.mass_ratio, fermi_energy, s)

    def touching_point(self):
        """k* = (J/alpha)(z x M) when M is in-plane, else None (`degeneracy_point`)."""
        return degeneracy_point(self)

    def touching_description(self) -> str:
        """Names k* = (J/alpha)(z x M), or the closest approach when M_z != 0."""
        mx, my, mz = (float(x) for x in onp.asarray(self.magnetization, onp.float64))
        alpha, j_ex = float(self.alpha), float(self.j_ex)
        if alpha == 0.0:
            return "(alpha = 0: Omega = J |M| everywhere)"
        where = f"k* = (J/alpha)(z x M) = [{-my * j_ex / alpha + 0.0:.6g}, {mx * j_ex / alpha + 0.0:.6g}] 1/nm"
        tolerance = IN_PLANE_ULPS * float(jnp.finfo(self.magnetization.dtype).eps)
        if abs(mz) <= tolerance:
            return f"point {where}"
        return f"point (closest approach {where}, where Omega = J |M_z| = {j_ex * abs(mz):.3g} eV)"


IN_PLANE_ULPS = 4
"""|M_z| <= IN_PLANE_ULPS * eps(dtype) counts as in-plane M (the bands touch at k*).

A tolerance in units of the dtype's eps, not an absolute one: in float32, cos(pi/2) rounds to
-4.4e-8, so an |M_z| <= 1e-12 test would call a model built with theta = pi/2 out of plane.
"""


def rashba_ray_bound(alpha, j_ex, mass_ratio, fermi_energy, s, *, xp=jnp):
    """A radius r_u with eps_s(r_u khat) >= E_F on every ray [1/nm]: the root of c r^2 - |alpha| r + s J = E_F.

    Omega <= J + |alpha| r (s = -1) and Omega >= J - |alpha| r (s = +1), so eps_s >= c r^2 - |alpha| r + s J
    (c = hbar^2/2m). Arguments broadcast (batch dims ...); traceable (s may be a traced band sign);
    xp: jax.numpy (default) or numpy for host float64.
    """
    c = HBAR2_OVER_2ME / mass_ratio
    a = xp.abs(alpha)
    budget = xp.maximum(fermi_energy - s * j_ex, 0.0)
    return (a + xp.sqrt(a * a + 4.0 * c * budget)) / (2.0 * c)


def unchecked_rashba(alpha, j_ex, magnetization, mass_ratio) -> RashbaFerromagnet:
    """`RashbaFerromagnet(alpha, j_ex, magnetization, mass_ratio)` without the constructor's traced value checks.

    The same model (fields in the values' dtypes, M normalized by the same `unit_vector`), built by replacing
    the fields of a concrete template: no `equinox.error_if`, whose host callback keeps JAX's persistent
    compilation cache from storing the program. Only for callers that verified every value the program can
    reach on the host beforehand (the fits check their whole parameter box); a wrong value is not caught here.

    Args:
        alpha: Rashba coupling [eV nm], concrete or traced.
        j_ex: exchange coupling J [eV], >= 0.
        magnetization: direction M, shape (3,); normalized here.
        mass_ratio: effective mass m*/m_e, in MASS_RATIO_RANGE.

    Returns:
        The `RashbaFerromagnet`.
    """
    template = RashbaFerromagnet(0.05, 1.0, (0.0, 0.0, 1.0), 1.0)  # concrete, checked on the host
    return eqx.tree_at(lambda t: (t.alpha, t.j_ex, t.magnetization, t.mass_ratio), template,
                       (jnp.asarray(alpha), jnp.asarray(j_ex), unit_vector("magnetization", magnetization),
                        jnp.asarray(mass_ratio)))


def with_magnetization(model, magnetization):
    """`model.with_magnetization(magnetization)`: the same model with M replaced (traceable).

    For quantities defined by turning M (the LLG, effective fields, the AMR reference)."""
    if not isinstance(model, TwoBandModel):
        raise ValueError(f"model is a {type(model).__name__}; allowed: a jaxsot.TwoBandModel")
    return model.with_magnetization(magnetization)


def _replace_magnetization(model, magnetization):
    """The default `TwoBandModel.with_magnetization`: replace the `magnetization` field."""
    if not hasattr(model, "magnetization"):
        raise ValueError(
            f"model = {type(model).__name__} has no magnetization field, so the layers that turn M (LLG, "
            "effective fields, angular torque coefficients, AMR) cannot use it; allowed: a model with a "
            "`magnetization` (3,) field, or one that implements TwoBandModel.with_magnetization(m)"
        )
    return eqx.tree_at(lambda m: m.magnetization, model, jnp.asarray(magnetization, jnp.result_type(model.magnetization)))


def require_paper_forms(model, what: str) -> None:
    """Raise ValueError naming `what` when `model` has no closed forms of the papers."""
    if not has_paper_forms(model):
        raise ValueError(
            f"{what} is a closed form of the Rashba ferromagnet; model = {type(model).__name__} has none; "
            "allowed: a jaxsot.RashbaFerromagnet"
        )


def has_paper_forms(model) -> bool:
    """True when the papers' approximations (second order, strong exchange) exist for `model`.

    They are closed forms of the Rashba ferromagnet; for another `TwoBandModel` the layers report
    the exact results only.

    Args:
        model: any `TwoBandModel`.
    """
    return isinstance(model, RashbaFerromagnet)


def degeneracy_point(model: RashbaFerromagnet):
    """The band-touching point k* = (J/alpha)(z x M) [1/nm], shape (2,), or None.

    It exists only when M_z = 0 (and alpha != 0); Omega(k*) = 0 there and velocities and spin
    forces diverge (docs: Theory > Model, units and conventions). Concrete models only.

    Args:
        model: the Rashba ferromagnet (concrete values).

    Returns: k* of shape (2,) [1/nm], or None when the bands do not touch.
    """
    with jax.ensure_compile_time_eval():  # concrete values captured by a function under jit
        mx, my, mz = (float(x) for x in model.magnetization)
        alpha = float(model.alpha)
    # M_z = 0 to the precision of the model's dtype (cos 90 deg is -4.4e-8 in float32).
    tolerance = IN_PLANE_ULPS * float(jnp.finfo(jnp.asarray(model.magnetization).dtype).eps)
    if alpha == 0.0 or abs(mz) > tolerance:
        return None
    scale = float(model.j_ex) / alpha
    return jnp.asarray([-my * scale, mx * scale])


"""Harmonic Hall fit data: `HallData` (field sweeps with lock-in harmonics), `FieldData` (tables of SOT fields or
efficiencies), the names and units `fit_harmonic_hall` varies and fits, and their input checks (see `_hall.py`)."""

import dataclasses
import functools
import math

import jax.numpy as jnp
import numpy as onp

from .._core import check_finite, check_range
from ._forward import parameter_unit
from .._measure import HALL_PARAMETER_UNITS, HALL_PARAMETERS, REFERENCE_CURRENT, HallSettings


HALL_FIT_PARAMETERS = HALL_PARAMETERS + ("r_1w_offset", "r_2w_offset")
"""Parameters `fit_harmonic_hall` can vary: those of `jaxsot.harmonic_hall_forward` and two constant offsets."""


HALL_FIT_UNITS = {**HALL_PARAMETER_UNITS, "r_1w_offset": "ohm", "r_2w_offset": "ohm"}
"""Units of HALL_FIT_PARAMETERS (internal: eV nm, eV, 1, fs, T, ohm)."""


FIELD_COLUMNS = ("B_DL", "B_FL", "xi_DL", "xi_FL")
"""Observables of a `FieldData` table: scalar SOT fields [T] at the row's current density, efficiencies [1]."""


FIELD_COLUMN_UNITS = {"B_DL": "T", "B_FL": "T", "xi_DL": "1", "xi_FL": "1"}
"""Internal units of FIELD_COLUMNS (files may give the fields in mT or uT)."""


MICROSCOPIC = ("alpha", "j_ex", "mass_ratio", "tau")

OFFSETS = ("r_1w_offset", "r_2w_offset")


@dataclasses.dataclass(frozen=True)
class HallNames:
    """The names a harmonic Hall fit varies: the electrons' (Rashba: MICROSCOPIC; any model: its
    `jaxsot.parameter_names` and tau), then the magnet and Hall names and the offsets.

    Args:
        electrons: names of the electron model's parameters, tau included.
        model_names: the names replaced in a general model (`jaxsot.replace_parameters`); () for the Rashba route.
        model: the general model's class name ("" for the Rashba route).
    """

    electrons: tuple = MICROSCOPIC
    model_names: tuple = ()
    model: str = ""

    @property
    def all(self) -> tuple:
        """Every name, in the fit's order (HALL_FIT_PARAMETERS for the Rashba route)."""
        return self.electrons + HALL_PARAMETERS[4:] + OFFSETS

    @property
    def general(self) -> bool:
        return bool(self.model)

    def unit(self, name) -> str:
        """The unit of a name (HALL_FIT_UNITS, else the shipped models' units, else "model units")."""
        return HALL_FIT_UNITS.get(name) or parameter_unit(name)


RASHBA_NAMES = HallNames()


LINEAR = ("r_ahe", "r_phe", "r_ane", "r_ohe", "r_ane_field", "r_1w_offset", "r_2w_offset")
"""Parameters that enter R_1w, R_2w linearly (solved by least squares for the first start)."""


HALL_ORDERS = ("first", "all")
"""Forward models of `fit_harmonic_hall`: first order in the current (default) or every order."""


SYNTH_ROUTES = ("quasi-static", "time-domain")
"""Routes of `synthesize_hall`: equilibrium at each current phase (default) or the LLG in time (a lock-in)."""


MIN_ROWS = 3


HALL_OPTIMIZERS = ("lm", "lbfgs")
"""Optimizers of `fit_harmonic_hall`: Levenberg-Marquardt on the Jacobian (default) or optax L-BFGS (vmapped restarts)."""


def _vector(name, value, size, dtype=float):
    array = onp.asarray(value, dtype)
    if array.ndim == 0:
        array = onp.full((size,), float(array))
    if array.shape != (size,):
        raise ValueError(f"{name} has shape {array.shape}; allowed: a scalar or ({size},), one value per row")
    if not onp.all(onp.isfinite(array)):
        raise ValueError(f"{name} has non-finite values; allowed: finite numbers")
    return array


def _sigma(name, value, size):
    if value is None:
        return None
    array = _vector(name, value, size)
    if not onp.all(array > 0.0):
        raise ValueError(f"{name} has values <= 0 (first: {array[array <= 0.0][0]:g}); allowed: positive uncertainties")
    return array


def _three(name, value):
    array = onp.asarray(value, float)
    if array.shape != (3,) or not onp.all(onp.isfinite(array)):
        raise ValueError(f"{name} = {value!r}; allowed: three finite numbers")
    return tuple(float(v) for v in array)


def _positive(name, value, unit):
    check_range(name, value, low=0.0, low_inclusive=False, unit=unit)
    return float(value)


@dataclasses.dataclass(frozen=True, eq=False)
class HallData:
    """One harmonic Hall sweep: N rows of field settings and lock-in harmonics, with the sample's settings.

    Args:
        phi_h: field azimuth from the current direction x [rad], shape (N,) or scalar.
        field: field magnitude B [T], shape (N,) or scalar.
        r_1w: first harmonic Hall resistance [ohm], shape (N,) (in phase with the current).
        r_2w: second harmonic Hall resistance [ohm], shape (N,) (lock-in convention of
            `jaxsot.harmonic_hall_forward`: the amplitude of -cos 2wt).
        fermi_energy: Fermi energy E_F [eV].
        current_density: current density amplitude j0 [A/m^2] (> 0; peak: j(t) = j0 sin wt).
        rho0: film resistivity [ohm m] (> 0).
        ms_tesla: saturation magnetization mu0 M_s [T] (> 0).
        thickness: magnetic film thickness t_F [nm] (> 0).
        theta_h: field polar angle from z [rad], shape (N,) or scalar (default pi/2: in plane).
        sigma_1w: standard deviations of r_1w [ohm], shape (N,) or scalar, or None (noise estimated by the fit).
        sigma_2w: standard deviations of r_2w [ohm], shape (N,) or scalar, or None (with sigma_1w).
        easy_axis: uniaxial anisotropy axis, shape (3,) (as `jaxsot.HallSettings`).
        demag: demagnetizing factors N_x, N_y, N_z, shape (3,) (as `jaxsot.HallSettings`).
        bias_field: constant field added to the swept one [T], shape (3,).
        branch: +1 or -1 per row, shape (N,) or scalar: the energy descent starts from the field direction
            tilted by 0.1 towards branch * u (the magnet's hysteresis branch; +1 is `HallSettings`' default).
        field_like: whether the forward model includes the field-like field B_FL.
        damping_like: whether the forward model includes the damping-like field B_DL.
        label: name used in reports (the file name).
        hm_thickness: thickness of a heavy-metal layer beside the magnetic film [nm] (with hm_resistivity, or
            None): the layers conduct in parallel at the same E, j_HM = rho0 j0/hm_resistivity. Only the
            bilayer efficiencies xi_HM = (2e/hbar) M_s t_F B/j_HM of the report use it.
        hm_resistivity: resistivity of that heavy-metal layer [ohm m] (with hm_thickness, or None).

    Raises:
        ValueError: naming the argument, its value and what is allowed.
    """

    phi_h: onp.ndarray
    field: onp.ndarray
    r_1w: onp.ndarray
    r_2w: onp.ndarray
    fermi_energy: float
    current_density: float
    rho0: float
    ms_tesla: float
    thickness: float
    theta_h: onp.ndarray = math.pi / 2
    sigma_1w: onp.ndarray | None = None
    sigma_2w: onp.ndarray | None = None
    easy_axis: tuple = (0.0, 0.0, 1.0)
    demag: tuple = (0.0, 0.0, 1.0)
    bias_field: tuple = (0.0, 0.0, 0.0)
    branch: onp.ndarray = 1.0
    field_like: bool = True
    damping_like: bool = True
    label: str = "hall"
    hm_thickness: float | None = None
    hm_resistivity: float | None = None

    def __post_init__(self):
        r_1w = onp.atleast_1d(onp.asarray(self.r_1w, float))
        n = r_1w.shape[0]
        if r_1w.ndim != 1 or n < MIN_ROWS:
            raise ValueError(f"r_1w has shape {r_1w.shape}; allowed: (N,) with N >= {MIN_ROWS} rows")
        put = functools.partial(object.__setattr__, self)
        for name in ("phi_h", "field", "r_1w", "r_2w", "theta_h", "branch"):
            put(name, _vector(name, getattr(self, name), n))
        if not onp.all(onp.abs(self.branch) == 1.0):
            raise ValueError(f"branch has values {sorted(set(self.branch.tolist()) - {1.0, -1.0})}; allowed: +1 or -1")
        put("sigma_1w", _sigma("sigma_1w", self.sigma_1w, n))
        put("sigma_2w", _sigma("sigma_2w", self.sigma_2w, n))
        if (self.sigma_1w is None) != (self.sigma_2w is None):
            raise ValueError("sigma_1w and sigma_2w: one is None; allowed: both (known noise) or neither (estimated)")
        check_finite("fermi_energy", self.fermi_energy)
        put("fermi_energy", float(self.fermi_energy))
        put("current_density", _positive("current_density", self.current_density, "A/m^2"))
        put("rho0", _positive("rho0", self.rho0, "ohm m"))
        put("ms_tesla", _positive("ms_tesla", self.ms_tesla, "T"))
        put("thickness", _positive("thickness", self.thickness, "nm"))
        if (self.hm_thickness is None) != (self.hm_resistivity is None):
            raise ValueError("hm_thickness and hm_resistivity: one is None; allowed: both (a heavy-metal layer) or neither")
        if self.hm_thickness is not None:
            put("hm_thickness", _positive("hm_thickness", self.hm_thickness, "nm"))
            put("hm_resistivity", _positive("hm_resistivity", self.hm_resistivity, "ohm m"))
        for name in ("easy_axis", "demag", "bias_field"):
            put(name, _three(name, getattr(self, name)))
        if not any(self.easy_axis):
            raise ValueError("easy_axis = (0, 0, 0); allowed: a non-zero 3-vector")
        if not all(0.0 <= d <= 1.0 for d in self.demag):
            raise ValueError(f"demag = {self.demag}; allowed: each factor in [0, 1]")
        put("field_like", bool(self.field_like))
        put("damping_like", bool(self.damping_like))
        put("label", str(self.label))

    @property
    def num_points(self) -> int:
        return int(self.r_1w.shape[0])

    @property
    def sigma_known(self) -> bool:
        return self.sigma_1w is not None

    def m_start(self) -> onp.ndarray:
        """(N, 3) start of the energy descent: field direction + 0.1 branch u, normalized (u at zero field)."""
        s = onp.sin(self.theta_h)
        direction = onp.stack([s * onp.cos(self.phi_h), s * onp.sin(self.phi_h), onp.cos(self.theta_h)], -1)
        b_ext = self.field[:, None] * direction + onp.asarray(self.bias_field)[None, :]
        norm = onp.linalg.norm(b_ext, axis=-1, keepdims=True)
        u = onp.asarray(self.easy_axis) / onp.linalg.norm(self.easy_axis)
        start = b_ext / onp.where(norm > 0.0, norm, 1.0) + 0.1 * self.branch[:, None] * u[None, :]
        return start / onp.linalg.norm(start, axis=-1, keepdims=True)

    def settings(self, *, model: str = "exact", num: int = 64, bands=None) -> HallSettings:
        """The `jaxsot.HallSettings` of these rows (model, rays per contour, occupied bands of the exact model)."""
        dtype = jnp.result_type(float)
        return HallSettings(
            jnp.asarray(self.phi_h, dtype), jnp.asarray(self.field, dtype), theta_h=jnp.asarray(self.theta_h, dtype),
            fermi_energy=self.fermi_energy, current_density=self.current_density, rho0=self.rho0, ms_tesla=self.ms_tesla,
            thickness=self.thickness, easy_axis=self.easy_axis, demag=self.demag, bias_field=self.bias_field,
            m_start=jnp.asarray(self.m_start(), dtype), model=model, num=num, bands=bands,
            field_like=self.field_like, damping_like=self.damping_like,
        )

    @classmethod
    def from_settings(cls, r_1w, r_2w, settings: HallSettings, *, sigma_1w=None, sigma_2w=None, label="hall"):
        """HallData from arrays and a `jaxsot.HallSettings` (its m_start becomes a branch: sign of M.u)."""
        if not isinstance(settings, HallSettings):
            raise ValueError(f"settings is a {type(settings).__name__}; allowed: jaxsot.HallSettings")
        u = onp.asarray(settings.easy_axis)
        branch = onp.where(onp.asarray(settings.m_start) @ u >= 0.0, 1.0, -1.0)
        return cls(
            phi_h=onp.asarray(settings.phi_h), field=onp.asarray(settings.field), theta_h=onp.asarray(settings.theta_h),
            r_1w=r_1w, r_2w=r_2w, sigma_1w=sigma_1w, sigma_2w=sigma_2w, fermi_energy=float(settings.fermi_energy),
            current_density=float(settings.current_density), rho0=float(settings.rho0), ms_tesla=float(settings.ms_tesla),
            thickness=float(settings.thickness), easy_axis=tuple(u.tolist()), demag=tuple(onp.asarray(settings.demag).tolist()),
            bias_field=tuple(onp.asarray(settings.bias_field).tolist()), branch=branch, field_like=settings.field_like,
            damping_like=settings.damping_like, label=label,
        )


@dataclasses.dataclass(frozen=True, eq=False)
class FieldData:
    """A table of measured SOT fields or efficiencies: N rows at given M directions and current densities.

    Args:
        columns: names from `FIELD_COLUMNS` (B_DL, B_FL [T]: the scalar fields of `jaxsot.effective_fields`
            at the row's current density; xi_DL, xi_FL [1]: efficiencies, independent of j).
        values: measured values, shape (N, K) for K columns [T or 1].
        theta_m: polar angle of M from z at each row [rad], shape (N,) or scalar.
        fermi_energy: Fermi energy E_F [eV].
        rho0: film resistivity [ohm m] (E = rho0 j along x).
        ms_tesla: saturation magnetization mu0 M_s [T].
        thickness: magnetic film thickness t_F [nm].
        phi_m: azimuth of M from the current direction x [rad], shape (N,) or scalar; M = +-y is refused
            (the scalar projections are undefined there).
        current_density: j [A/m^2] per row, shape (N,) or scalar (> 0; only B columns depend on it).
        sigma: standard deviations, shape (N, K), or None (estimated by the fit).
        label: name used in reports.
    """

    columns: tuple
    values: onp.ndarray
    theta_m: onp.ndarray
    fermi_energy: float
    rho0: float
    ms_tesla: float
    thickness: float
    phi_m: onp.ndarray = 0.0
    current_density: onp.ndarray = REFERENCE_CURRENT
    sigma: onp.ndarray | None = None
    label: str = "fields"

    def __post_init__(self):
        put = functools.partial(object.__setattr__, self)
        columns = (self.columns,) if isinstance(self.columns, str) else tuple(self.columns)
        if not columns or len(set(columns)) != len(columns) or any(c not in FIELD_COLUMNS for c in columns):
            raise ValueError(f"columns = {columns!r}; allowed: distinct names from {', '.join(FIELD_COLUMNS)}")
        put("columns", columns)
        values = onp.asarray(self.values, float)
        if values.ndim == 1 and len(columns) == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(columns) or values.shape[0] < MIN_ROWS:
            raise ValueError(f"values has shape {values.shape}; allowed: (N, {len(columns)}) with N >= {MIN_ROWS}")
        if not onp.all(onp.isfinite(values)):
            raise ValueError("values has non-finite entries; allowed: finite numbers")
        put("values", values)
        n = values.shape[0]
        for name in ("theta_m", "phi_m", "current_density"):
            put(name, _vector(name, getattr(self, name), n))
        if not onp.all(self.current_density > 0.0):
            raise ValueError("current_density has values <= 0; allowed: positive current densities [A/m^2]")
        my = onp.sin(self.theta_m) * onp.sin(self.phi_m)
        if onp.any(onp.abs(my) > 1.0 - 1e-9):
            raise ValueError("theta_m, phi_m give M = +-y in some rows; allowed: M away from +-y (B^s is undefined there)")
        if self.sigma is not None:
            sigma = onp.asarray(self.sigma, float)
            if sigma.ndim == 1 and len(columns) == 1:
                sigma = sigma[:, None]
            sigma = onp.broadcast_to(sigma, values.shape).copy() if sigma.ndim == 2 and sigma.shape[0] == n else sigma
            if sigma.shape != values.shape or not onp.all(onp.isfinite(sigma)) or not onp.all(sigma > 0.0):
                raise ValueError(f"sigma has shape {sigma.shape} or values <= 0; allowed: ({n}, {len(columns)}) positive numbers")
            put("sigma", sigma)
        check_finite("fermi_energy", self.fermi_energy)
        put("fermi_energy", float(self.fermi_energy))
        put("rho0", _positive("rho0", self.rho0, "ohm m"))
        put("ms_tesla", _positive("ms_tesla", self.ms_tesla, "T"))
        put("thickness", _positive("thickness", self.thickness, "nm"))
        put("label", str(self.label))

    @property
    def num_points(self) -> int:
        return int(self.values.shape[0])

    @property
    def sigma_known(self) -> bool:
        return self.sigma is not None

    @property
    def m(self) -> onp.ndarray:
        s = onp.sin(self.theta_m)
        return onp.stack([s * onp.cos(self.phi_m), s * onp.sin(self.phi_m), onp.cos(self.theta_m)], -1)


def columns_of(data) -> tuple:
    return ("R_1w", "R_2w") if isinstance(data, HallData) else data.columns


def values_of(data) -> onp.ndarray:
    return onp.stack([data.r_1w, data.r_2w], -1) if isinstance(data, HallData) else data.values


def sigma_of(data):
    if not data.sigma_known:
        return None
    return onp.stack([data.sigma_1w, data.sigma_2w], -1) if isinstance(data, HallData) else data.sigma

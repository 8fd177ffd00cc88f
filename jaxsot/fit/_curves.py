"""Measured curves: names, units and the Curve container (internal units eV, nm, fs, V/nm).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from .._core._checks import check_finite, check_range, check_real



PARAMETERS = ("alpha", "j_ex", "mass_ratio", "tau")
"""Names of the model parameters a fit can vary, in this order."""

PARAMETER_UNITS = {"alpha": "eV nm", "j_ex": "eV", "mass_ratio": "1", "tau": "fs"}

DEFAULT_GUESS = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}
"""Starting values when none is given (the defaults of `jaxsot run`)."""

TORQUE_COLUMNS = tuple(f"T_{kind}_{axis}" for kind in ("DL", "FL") for axis in "xyz")
COLUMNS = ("rho_ratio",) + TORQUE_COLUMNS
"""Observable names: rho_ratio (AMR rho/rho0) and the components of T_DL = T2, T_FL = T1."""

COLUMN_UNITS = {"rho_ratio": "1", **{name: "1/(nm^2 fs)" for name in TORQUE_COLUMNS}}

MODELS = ("exact", "strong_exchange")
OPTIMIZERS = ("lbfgs", "adam")
MIN_POINTS = 3
"""Fewest rows a curve may have."""

REFERENCE_M = (0.0, 1.0, 0.0)  # rho0: M in-plane and perpendicular to the current (x), where the AMR vanishes


class FitWarning(UserWarning):
    """A fit finished but something about it needs attention (bounds, convergence, chi^2)."""


class IdentifiabilityWarning(FitWarning):
    """The data cannot separate some parameters: only combinations of them are determined."""


# ---------------------------------------------------------------------------------------------
# Data: one curve = rows of settings and one or more observable columns.


class Curve(eqx.Module):
    """Measured (or synthetic) data: N rows of settings and K observable columns, internal units.

    Args:
        columns: names of the K observables, from `COLUMNS` (rho_ratio; T_DL_x ... T_FL_z).
        values: (N, K) measured values [1 for rho_ratio, 1/(nm^2 fs) for torques].
        phi: azimuth of M from the current/field direction x [rad], scalar or (N,).
        theta: polar angle of M from z [rad], scalar or (N,) (default pi/2: in-plane M).
        efield: field E along x [V/nm], scalar or (N,); required (non-zero) for torque columns.
        time: times after the field step at t = 0 [fs], (N,): makes the curve a transient
            (torque columns only). None: steady state.
        sigma: (N, K) standard deviations of the values (same units), or None (unknown noise:
            estimated per column from the residuals of the fit).
        label: a name used in reports (e.g. the file name).

    Raises ValueError naming the argument, its value and what is allowed.
    """

    values: jax.Array
    sigma: jax.Array
    theta: jax.Array
    phi: jax.Array
    efield: jax.Array
    time: jax.Array
    columns: tuple = eqx.field(static=True)
    kind: str = eqx.field(static=True)
    sigma_known: bool = eqx.field(static=True)
    label: str = eqx.field(static=True)

    def __init__(self, columns, values, *, phi, theta=math.pi / 2, efield=None, time=None, sigma=None, label="data"):
        columns = (columns,) if isinstance(columns, str) else tuple(columns)
        for name in columns:
            if name not in COLUMNS:
                raise ValueError(f"column {name!r} is not allowed; allowed: {', '.join(COLUMNS)}")
        if not columns or len(set(columns)) != len(columns):
            raise ValueError(f"columns = {columns!r}: allowed: one or more distinct names from {', '.join(COLUMNS)}")
        check_real("values", values)  # complex values are refused, not cast (which drops the imaginary parts)
        values = jnp.asarray(values)
        if not jnp.issubdtype(values.dtype, jnp.floating):
            values = values.astype(jnp.result_type(float))
        if values.ndim == 1 and len(columns) == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(columns):
            raise ValueError(f"values has shape {values.shape}; allowed: (N, {len(columns)}) for columns {columns}")
        n = values.shape[0]
        if n < MIN_POINTS:
            raise ValueError(f"the curve {label!r} has {n} rows; allowed: at least {MIN_POINTS}")
        check_finite("values", values)
        dtype = values.dtype

        def per_row(name, value, default=None):
            if value is None:
                value = default
            check_finite(name, value)
            array = jnp.asarray(value, dtype)
            if array.ndim == 0:
                array = jnp.full((n,), array, dtype)
            if array.shape != (n,):
                raise ValueError(f"{name} has shape {array.shape}; allowed: a scalar or ({n},), one value per row")
            return array

        self.phi = per_row("phi", phi)
        self.theta = per_row("theta", theta)
        self.efield = per_row("efield", efield, 0.0)
        self.time = per_row("time", time, 0.0)
        torques = [name for name in columns if name in TORQUE_COLUMNS]
        if time is not None and "rho_ratio" in columns:
            raise ValueError("column 'rho_ratio' with a time column: allowed: transients of torque columns only")
        if torques and bool(jnp.any(self.efield == 0.0)):
            raise ValueError(
                f"efield is zero in some rows of a curve with torque columns {torques}; allowed: the applied field E "
                "[V/nm] of every row (non-zero)"
            )
        if sigma is None:
            self.sigma = jnp.ones_like(values)
            self.sigma_known = False
        else:
            check_real("sigma", sigma)
            sigma = jnp.asarray(sigma, dtype)
            if sigma.ndim == 1 and len(columns) == 1:
                sigma = sigma[:, None]
            if sigma.shape != values.shape:
                raise ValueError(f"sigma has shape {sigma.shape}; allowed: {values.shape} like values")
            check_range("sigma", sigma, low=0.0, low_inclusive=False)
            self.sigma = sigma
            self.sigma_known = True
        self.values = values
        self.columns = columns
        self.kind = "steady" if time is None else "transient"
        self.label = str(label)

    @property
    def num_points(self) -> int:
        """Rows N (each row may carry several observables)."""
        return int(self.values.shape[0])

    @property
    def magnetization(self) -> jax.Array:
        """Unit vectors M of the rows, (N, 3)."""
        return unit_directions(self.theta, self.phi)

    def depends_on(self) -> tuple:
        """The parameters this curve's forward model depends on (tau only through T_FL or transients)."""
        names = ["alpha", "j_ex", "mass_ratio"]
        if self.kind == "transient" or any(c.startswith("T_FL") for c in self.columns):
            names.append("tau")
        return tuple(names)


def unit_directions(theta, phi):
    return jnp.stack([jnp.sin(theta) * jnp.cos(phi), jnp.sin(theta) * jnp.sin(phi), jnp.cos(theta)], -1)



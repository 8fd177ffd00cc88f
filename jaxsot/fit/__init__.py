"""Fit the model parameters (alpha, J, effective mass, tau) to measured curves by autodiff.

Workflow::

    # run with JAX_ENABLE_X64=1 in the environment: fits need float64
    import jaxsot.fit as jf

    curves = jf.read_csv("amr_and_torques.csv")     # or jf.Curve(...) from arrays, internal units
    result = jf.fit(curves, fermi_energy=0.5, free=("alpha", "j_ex", "tau"))
    print(result.summary())                         # values +- standard errors, identifiable combinations
    result.parameters, result.standard_errors, result.correlation, result.directions

Curves and forward models (internal units eV, nm, fs, V/nm; E along x, M at theta from z and
phi from x):
- ``rho_ratio``: AMR rho_xx(M)/rho_xx(M0) from the constant-tau Boltzmann conductivity with the
  exact bands (`jaxsot.amr_ratio`); independent of tau.
- ``T_DL_x|y|z``, ``T_FL_x|y|z`` (steady): the damping-like torque T2 = -dS/dt of the sea
  accelerated by qE and the field-like torque T1 = (2J/hbar) M x delta S of the sea shifted by
  qE tau/hbar [1/(nm^2 fs)] (the LLG's `jaxsot.electron_response`, exact method).
- the same columns with times (a transient after a field step at t = 0): T2 e^(-t/tau) and
  T1 (1 - e^(-t/tau)), the constant-tau rigid-shift solution that `jaxsot.simulate` integrates.
- ``model="strong_exchange"``: the papers' closed forms (eq. 13/14/18 with the band polarization).

`fit` minimizes mean(((model - data)/sigma)^2)/2 with L-BFGS (or optax Adam) on gradients from
`jax.grad` through the contour solves (implicit-function derivatives), with positivity and bounds
by reparameterization and several restarts batched with `jax.vmap`. Standard errors come from
the Gauss-Newton matrix J^T W J at the optimum (noise estimated from the residuals when the data
have no sigma); directions of that matrix the data do not determine are reported, by name
(e.g. ``alpha^2 j_ex^-1``, i.e. eta = m alpha^2/(hbar^2 J) for an AMR curve with one band), with an
`IdentifiabilityWarning`, and the affected parameters get no standard error.

CSV files (`read_csv`, `write_csv`, `jaxsot fit`, `jaxsot synth`): see `CSV_FORMAT`.
"""

from ._curves import COLUMN_UNITS as COLUMN_UNITS
from ._curves import COLUMNS as COLUMNS
from ._curves import DEFAULT_GUESS as DEFAULT_GUESS
from ._curves import MIN_POINTS as MIN_POINTS
from ._curves import MODELS as MODELS
from ._curves import OPTIMIZERS as OPTIMIZERS
from ._curves import PARAMETER_UNITS as PARAMETER_UNITS
from ._curves import PARAMETERS as PARAMETERS
from ._curves import TORQUE_COLUMNS as TORQUE_COLUMNS
from ._curves import Curve as Curve
from ._fit_result import FitResult as FitResult
from ._curves import FitWarning as FitWarning
from ._curves import IdentifiabilityWarning as IdentifiabilityWarning
from ._identify import analyze as analyze
from ._forward import circular_densities as circular_densities
from ._forward import contour_fluxes as contour_fluxes
from ._fit import fit as fit
from ._optimize import make_loss as make_loss
from ._forward import predict as predict
from ._forward import synthesize as synthesize
from ._hall_data import FIELD_COLUMN_UNITS as FIELD_COLUMN_UNITS
from ._hall_data import FIELD_COLUMNS as FIELD_COLUMNS
from ._hall_data import HALL_FIT_PARAMETERS as HALL_FIT_PARAMETERS
from ._hall_data import HALL_FIT_UNITS as HALL_FIT_UNITS
from ._hall_data import HALL_OPTIMIZERS as HALL_OPTIMIZERS
from ._hall_data import FieldData as FieldData
from ._hall_data import HallData as HallData
from ._hall_report import HallFitResult as HallFitResult
from ._hall import fit_harmonic_hall as fit_harmonic_hall
from ._hall import hall_linearity as hall_linearity
from ._hall_loss import hall_loss as hall_loss
from ._hall_synth import synthesize_hall as synthesize_hall
from ._stfmr import ST_FMR_PARAMETERS as ST_FMR_PARAMETERS
from ._stfmr import fit_st_fmr as fit_st_fmr
from ._stfmr import st_fmr_ratio_efficiency as st_fmr_ratio_efficiency

import importlib as _importlib

_CSV_NAMES = {
    "CSV_FORMAT": "._csv",
    "FitDataError": "._csv",
    "read_csv": "._csv",
    "write_csv": "._csv",
    "HALL_CSV_FORMAT": "._hall_csv",
    "hall_csv_kind": "._hall_csv",
    "read_hall_csv": "._hall_csv",
    "write_hall_csv": "._hall_csv",
    "read_st_fmr_csv": "._stfmr_csv",
}


def __getattr__(name):
    # The CSV readers and writers are file code: they load on first use, not with `import jaxsot.fit`.
    if name in _CSV_NAMES:
        return getattr(_importlib.import_module(_CSV_NAMES[name], __name__), name)
    raise AttributeError(f"module 'jaxsot.fit' has no attribute {name!r}")


__all__ = [
    "HALL_CSV_FORMAT",
    "hall_csv_kind",
    "read_hall_csv",
    "write_hall_csv",
    "FIELD_COLUMN_UNITS",
    "FIELD_COLUMNS",
    "HALL_FIT_PARAMETERS",
    "HALL_FIT_UNITS",
    "HALL_OPTIMIZERS",
    "FieldData",
    "HallData",
    "HallFitResult",
    "fit_harmonic_hall",
    "hall_linearity",
    "hall_loss",
    "synthesize_hall",
    "ST_FMR_PARAMETERS",
    "fit_st_fmr",
    "read_st_fmr_csv",
    "st_fmr_ratio_efficiency",
    "COLUMNS",
    "COLUMN_UNITS",
    "CSV_FORMAT",
    "Curve",
    "DEFAULT_GUESS",
    "FitDataError",
    "FitResult",
    "FitWarning",
    "IdentifiabilityWarning",
    "MIN_POINTS",
    "MODELS",
    "OPTIMIZERS",
    "PARAMETERS",
    "PARAMETER_UNITS",
    "TORQUE_COLUMNS",
    "analyze",
    "circular_densities",
    "contour_fluxes",
    "fit",
    "make_loss",
    "predict",
    "read_csv",
    "synthesize",
    "write_csv",
]

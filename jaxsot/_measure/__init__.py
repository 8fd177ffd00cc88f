"""From measured signals to microscopic parameters: SOT effective fields and efficiencies, anisotropic
torque coefficients, and harmonic Hall signals (docs: Theory > Harmonic Hall signals).

- `_fields`: B_FL(M), B_DL(M) from the electron response (exact bands or strong exchange), per current
  density, and the SOT efficiencies xi = (2e/hbar) M_s t_F B/j.
- `_angular`: the fields expanded over the direction of M (powers of sin^2 theta, two structures per torque).
- `_hall`: quasi-static macrospin equilibrium under an AC current, implicit-function response and the
  lock-in harmonics R_1w, R_2w; `harmonic_hall_forward(params, settings)` is the differentiable forward model.
- `_harmonic`: `harmonic_hall(magnet, torque, ...)`, the object interface for any electron source
  (`SpinOrbitTorque` or a `ModelTorque` of any TwoBandModel), first order or every order in the current.
- `_quasistatic`: the same quasi-static macrospin solved at each current phase (every order in j0):
  R_1w, R_2w, R_3w at any amplitude (`harmonic_hall_all_orders`).
- `_stfmr`: spin-torque FMR, the rectified mixing voltage of the linearized LLG under an RF current with
  AMR readout, its Lorentzian decomposition and the standard ratio analysis.
- `_lockin`: the time-domain check (LLG under j0 sin(w t), demodulated like a lock-in), any electron source.

The macrospin's energy minimum is the LLG layer's (`jaxsot._llg._equilibrium`).
"""

from ._angular import TorqueCoefficients as TorqueCoefficients
from ._angular import angular_fields as angular_fields
from ._angular import fit_torque_coefficients as fit_torque_coefficients
from ._angular import sphere_grid as sphere_grid
from ._angular import torque_coefficients as torque_coefficients
from ._fields import REFERENCE_CURRENT as REFERENCE_CURRENT
from ._fields import EffectiveFields as EffectiveFields
from ._fields import SotFields as SotFields
from ._fields import effective_fields as effective_fields
from ._fields import sot_efficiency as sot_efficiency
from ._hall import HALL_DEFAULTS as HALL_DEFAULTS
from ._hall import HALL_PARAMETER_UNITS as HALL_PARAMETER_UNITS
from ._hall import HALL_PARAMETERS as HALL_PARAMETERS
from ._hall import HallSettings as HallSettings
from ._hall import HallSignals as HallSignals
from ._hall import hall_bands as hall_bands
from ._hall import hall_resistance as hall_resistance
from ._harmonic import harmonic_hall as harmonic_hall
from ._hall import harmonic_hall_forward as harmonic_hall_forward
from ._quasistatic import DEFAULT_PHASES as DEFAULT_PHASES
from ._quasistatic import HallHarmonics as HallHarmonics
from ._quasistatic import harmonic_hall_all_orders as harmonic_hall_all_orders
from ._stfmr import StFmrSignals as StFmrSignals
from ._stfmr import lorentzian_fit as st_fmr_lorentzian_fit
from ._stfmr import ratio_analysis as st_fmr_ratio
from ._stfmr import st_fmr_spectrum as st_fmr_spectrum
from ._lockin import LockinSignals as LockinSignals
from ._lockin import lockin_harmonics as lockin_harmonics

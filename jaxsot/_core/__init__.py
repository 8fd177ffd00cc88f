"""Core: the model (a two-band Hamiltonian H = eps0(k) + b(k)·sigma), drives, input checks and dtypes."""

from ._checks import check_band as check_band
from ._checks import check_count as check_count
from ._checks import check_demag as check_demag
from ._checks import check_finite as check_finite
from ._checks import check_range as check_range
from ._checks import check_real as check_real
from ._checks import check_real_scalar as check_real_scalar
from ._checks import check_shape as check_shape
from ._checks import check_states as check_states
from ._checks import check_tau as check_tau
from ._checks import check_temperature as check_temperature
from ._checks import check_times as check_times
from ._checks import float_dtype as float_dtype
from ._checks import is_concrete as is_concrete
from ._checks import unit_vector as unit_vector
from ._drives import RampDrive as RampDrive
from ._drives import SinusoidDrive as SinusoidDrive
from ._drives import StepDrive as StepDrive
from ._model import RashbaFerromagnet as RashbaFerromagnet
from ._model import TwoBandModel as TwoBandModel
from ._model import degeneracy_point as degeneracy_point
from ._model import has_paper_forms as has_paper_forms
from ._params import model_parameters as model_parameters
from ._params import parameter_names as parameter_names
from ._params import replace_parameters as replace_parameters

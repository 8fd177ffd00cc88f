"""Parameter sweeps: the observables of `jaxsot.simulate` at many parameter points, chunked and sharded over devices.

The files of `jaxsot sweep` (chunks, NetCDF, resume) are written by the command-line layer; this
package only computes.
"""

from ._compute import POINT_QUANTITIES as POINT_QUANTITIES
from ._compute import STATUS_MESSAGES as STATUS_MESSAGES
from ._compute import SWEEP_OBSERVABLES as SWEEP_OBSERVABLES
from ._compute import SWEEP_PARAMETERS as SWEEP_PARAMETERS
from ._compute import check_point_values as check_point_values
from ._compute import compute_points as compute_points
from ._compute import default_state_chunk as default_state_chunk
from ._compute import normalize_points as normalize_points
from ._compute import output_names as output_names
from ._compute import select_sweep_observables as select_sweep_observables
from ._compute import states_per_point as states_per_point
from ._compute import sweep_observables as sweep_observables
from ._compute import sweep_status as sweep_status
from ._seacheck import sea_checks as sea_checks
from ._model import ROUTE_CODES as ROUTE_CODES
from ._model import check_point as check_point
from ._model import model_at_point as model_at_point
from ._model import model_points as model_points
from ._model import sweep_model as sweep_model

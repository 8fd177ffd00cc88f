"""Parameter sweeps: the observables of `jaxsot.simulate` at many parameter points, chunked and sharded over devices.

The files of `jaxsot sweep` (chunks, NetCDF, resume) are written by the command-line layer; this
package only computes.
"""

from ._compute import SWEEP_PARAMETERS as SWEEP_PARAMETERS
from ._compute import sweep_observables as sweep_observables
from ._compute import sweep_status as sweep_status
from ._model import ROUTE_CODES as ROUTE_CODES
from ._model import model_points as model_points
from ._model import sweep_model as sweep_model

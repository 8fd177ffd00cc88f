"""jaxsot: semiclassical spin-orbit torque in Rashba ferromagnets, in JAX.

Units: eV, nm, fs, V/nm (see `jaxsot.constants`). The library follows the dtype of its inputs;
enable float64 with `jax.config.update("jax_enable_x64", True)` before creating arrays.
"""

from . import _constants as constants
from ._bands import accelerating_force as accelerating_force
from ._bands import band_energy as band_energy
from ._bands import band_spin as band_spin
from ._bands import band_velocity as band_velocity
from ._bands import damping_torque as damping_torque
from ._bands import damping_torque_from_spin_force as damping_torque_from_spin_force
from ._bands import damping_torque_second_order as damping_torque_second_order
from ._bands import damping_torque_strong_exchange as damping_torque_strong_exchange
from ._bands import field_like_torque as field_like_torque
from ._bands import spin_force as spin_force
from ._bands import spin_force_second_order as spin_force_second_order
from ._bands import spin_force_strong_exchange as spin_force_strong_exchange
from ._bands import spin_splitting as spin_splitting
from ._contour import band_touching_report as band_touching_report
from ._contour import electron_density as electron_density
from ._contour import fermi_contour as fermi_contour
from ._contour import fermi_contour_normals as fermi_contour_normals
from ._contour import fermi_sea_nodes as fermi_sea_nodes
from ._contour import fermi_sea_status as fermi_sea_status
from ._contour import occupied_bands as occupied_bands
from ._drives import RampDrive as RampDrive
from ._drives import SinusoidDrive as SinusoidDrive
from ._drives import StepDrive as StepDrive
from ._dynamics import UNITS as UNITS
from ._dynamics import SimulationResult as SimulationResult
from ._dynamics import simulate as simulate
from ._ensemble import ensemble_damping_torque as ensemble_damping_torque
from ._ensemble import ensemble_spin_force as ensemble_spin_force
from ._ensemble import fermi_dirac as fermi_dirac
from ._model import RashbaFerromagnet as RashbaFerromagnet
from ._model import degeneracy_point as degeneracy_point

__version__ = "0.1.0"

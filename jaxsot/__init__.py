"""jaxsot: semiclassical spin-orbit torque in Rashba ferromagnets, in JAX.

Units: eV, nm, fs, V/nm (see `jaxsot.constants`). The library follows the dtype of its inputs;
for float64, switch on JAX's `jax_enable_x64` option (jax.config) before creating arrays.
"""

from . import _constants as constants
from . import fit as fit  # parameter fitting (a public module: jaxsot.fit.fit, .Curve, .read_csv, ...)
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
from ._llg import WORK_COLUMNS as LLG_WORK_COLUMNS
from ._llg import LlgResult as LlgResult
from ._llg import Magnet as Magnet
from ._llg import SpinOrbitTorque as SpinOrbitTorque
from ._llg import conventional_energy as conventional_energy
from ._llg import conventional_field as conventional_field
from ._llg import electron_response as electron_response
from ._llg import exchange_torque as exchange_torque
from ._llg import llg_diagnostics as llg_diagnostics
from ._llg import llg_rates as llg_rates
from ._llg import simulate_llg as simulate_llg
from ._llg import strong_exchange_coefficients as strong_exchange_coefficients
from ._model import RashbaFerromagnet as RashbaFerromagnet
from ._model import degeneracy_point as degeneracy_point
from ._quantum import SCAN_ERRORS as SCAN_ERRORS
from ._quantum import UNITS as QUANTUM_UNITS
from ._quantum import AdiabaticityScan as AdiabaticityScan
from ._quantum import ExactSimulationResult as ExactSimulationResult
from ._quantum import RashbaCrossover as RashbaCrossover
from ._quantum import SmoothRampDrive as SmoothRampDrive
from ._quantum import SpinComparison as SpinComparison
from ._quantum import adiabaticity as adiabaticity
from ._quantum import adiabaticity_scan as adiabaticity_scan
from ._quantum import circular_sea_nodes as circular_sea_nodes
from ._quantum import circular_sea_torques as circular_sea_torques
from ._quantum import compare_spin_dynamics as compare_spin_dynamics
from ._quantum import exact_simulate as exact_simulate
from ._quantum import exact_spin_trajectory as exact_spin_trajectory
from ._quantum import fermi_point as fermi_point
from ._quantum import fit_order as fit_order
from ._quantum import nonadiabatic_spin_first_order as nonadiabatic_spin_first_order
from ._quantum import smooth_step as smooth_step
from ._quantum import strong_rashba_crossover as strong_rashba_crossover
from ._sweep import SWEEP_PARAMETERS as SWEEP_PARAMETERS
from ._sweep import sweep_observables as sweep_observables
from ._sweep import sweep_status as sweep_status
from ._transport import amr_ratio as amr_ratio
from ._transport import amr_strong_exchange as amr_strong_exchange
from ._transport import band_polarization as band_polarization
from ._transport import conductivity as conductivity
from ._transport import joule_heating as joule_heating
from ._transport import resistivity as resistivity

__version__ = "0.1.0"

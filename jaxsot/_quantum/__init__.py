"""Quantum check: exact spinor dynamics of every k-state beside the semiclassical (band-following) picture."""

from ._crossover import RashbaCrossover as RashbaCrossover
from ._crossover import circular_sea_nodes as circular_sea_nodes
from ._crossover import circular_sea_torques as circular_sea_torques
from ._crossover import fermi_point as fermi_point
from ._crossover import strong_rashba_crossover as strong_rashba_crossover
from ._ensemble import UNITS as UNITS
from ._ensemble import ExactSimulationResult as ExactSimulationResult
from ._ensemble import exact_simulate as exact_simulate
from ._scans import INTEGRATION_ERROR_CONSTANT as INTEGRATION_ERROR_CONSTANT
from ._integrator import SmoothRampDrive as SmoothRampDrive
from ._integrator import smooth_step as smooth_step
from ._scans import SCAN_ERRORS as SCAN_ERRORS
from ._scans import AdiabaticityScan as AdiabaticityScan
from ._scans import adiabaticity_scan as adiabaticity_scan
from ._scans import fit_order as fit_order
from ._states import SpinComparison as SpinComparison
from ._states import adiabaticity as adiabaticity
from ._states import compare_spin_dynamics as compare_spin_dynamics
from ._states import exact_spin_trajectory as exact_spin_trajectory
from ._states import nonadiabatic_spin_first_order as nonadiabatic_spin_first_order

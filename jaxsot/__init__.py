"""jaxsot: semiclassical spin-orbit torque in Rashba ferromagnets, in JAX.

Units: eV, nm, fs, V/nm (see `jaxsot.constants`). The library follows the dtype of its inputs;
for float64, switch on JAX's `jax_enable_x64` option (jax.config) before creating arrays.

The package reads as the pipeline (docs: Architecture): `_core` (model, drives, input checks) ->
`_bands` (single states) -> `_fermi` (contours and seas) -> `_ensemble` (ensemble routes,
transport) -> `_dynamics` (time evolution) -> `_quantum` (exact spinor check) and `_llg`
(magnetization dynamics); `fit` and `sweep` are public namespaces; `cli` is the command line.
`jaxsot.fit` is imported on first use, and nothing here loads the command-line or file code.
"""

import importlib

from . import constants as constants
from . import kernels as kernels  # per-state scalar kernels for custom observables (fermi_sea_sum)
from ._bands import accelerating_force as accelerating_force
from ._bands import anomalous_acceleration as anomalous_acceleration
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
from ._core import RampDrive as RampDrive
from ._core import RashbaFerromagnet as RashbaFerromagnet
from ._core import SinusoidDrive as SinusoidDrive
from ._core import StepDrive as StepDrive
from ._core import TwoBandModel as TwoBandModel
from ._core import degeneracy_point as degeneracy_point
from ._core import has_paper_forms as has_paper_forms
from ._core import model_parameters as model_parameters
from ._core import parameter_names as parameter_names
from ._core import replace_parameters as replace_parameters
from ._dynamics import UNITS as UNITS
from ._dynamics import SimulationResult as SimulationResult
from ._dynamics import fermi_sea_sum as fermi_sea_sum
from ._dynamics import simulate as simulate
from ._ensemble import amr_ratio as amr_ratio
from ._ensemble import amr_strong_exchange as amr_strong_exchange
from ._ensemble import band_polarization as band_polarization
from ._ensemble import conductivity as conductivity
from ._ensemble import ensemble_damping_torque as ensemble_damping_torque
from ._ensemble import ensemble_spin_force as ensemble_spin_force
from ._ensemble import fermi_dirac as fermi_dirac
from ._ensemble import joule_heating as joule_heating
from ._ensemble import resistivity as resistivity
from ._fermi import band_touching_report as band_touching_report
from ._fermi import electron_density as electron_density
from ._fermi import fermi_contour as fermi_contour
from ._fermi import fermi_contour_normals as fermi_contour_normals
from ._fermi import fermi_sea_nodes as fermi_sea_nodes
from ._fermi import fermi_sea_status as fermi_sea_status
from ._fermi import occupied_bands as occupied_bands
from ._fermi import MeshOptions as MeshOptions
from ._fermi import fermi_sea_route as fermi_sea_route
from ._fermi import SeaIntegral as SeaIntegral
from ._fermi import fermi_sea_integral as fermi_sea_integral
from ._fermi import fermi_line_integral as fermi_line_integral
from ._llg import WORK_COLUMNS as LLG_WORK_COLUMNS
from ._llg import LlgResult as LlgResult
from ._llg import Magnet as Magnet
from ._llg import ModelTorque as ModelTorque
from ._llg import SpinOrbitTorque as SpinOrbitTorque
from ._llg import conventional_energy as conventional_energy
from ._llg import conventional_field as conventional_field
from ._llg import drude_tau as drude_tau
from ._llg import electron_response as electron_response
from ._llg import energy_transfer_check as energy_transfer_check
from ._llg import exchange_torque as exchange_torque
from ._llg import llg_diagnostics as llg_diagnostics
from ._llg import llg_rates as llg_rates
from ._llg import simulate_llg as simulate_llg
from ._llg import strong_exchange_coefficients as strong_exchange_coefficients
from ._llg import transport_tau as transport_tau
from ._models import RashbaDresselhausFerromagnet as RashbaDresselhausFerromagnet
from ._models import SquareLatticeRashbaFerromagnet as SquareLatticeRashbaFerromagnet
from ._models import TightBindingModel as TightBindingModel
from ._models import TISurfaceFerromagnet as TISurfaceFerromagnet
from ._measure import angular_fields as angular_fields
from ._measure import effective_fields as effective_fields
from ._measure import EffectiveFields as EffectiveFields
from ._measure import fit_torque_coefficients as fit_torque_coefficients
from ._measure import hall_bands as hall_bands
from ._measure import HALL_DEFAULTS as HALL_DEFAULTS
from ._measure import HALL_PARAMETER_UNITS as HALL_PARAMETER_UNITS
from ._measure import HALL_PARAMETERS as HALL_PARAMETERS
from ._measure import hall_resistance as hall_resistance
from ._measure import HallSettings as HallSettings
from ._measure import HallSignals as HallSignals
from ._measure import harmonic_hall as harmonic_hall
from ._measure import harmonic_hall_forward as harmonic_hall_forward
from ._measure import harmonic_hall_all_orders as harmonic_hall_all_orders
from ._measure import HallHarmonics as HallHarmonics
from ._measure import lockin_harmonics as lockin_harmonics
from ._measure import st_fmr_spectrum as st_fmr_spectrum
from ._measure import st_fmr_lorentzian_fit as st_fmr_lorentzian_fit
from ._measure import st_fmr_ratio as st_fmr_ratio
from ._measure import StFmrSignals as StFmrSignals
from ._measure import LockinSignals as LockinSignals
from ._measure import REFERENCE_CURRENT as REFERENCE_CURRENT
from ._measure import sot_efficiency as sot_efficiency
from ._measure import SotFields as SotFields
from ._measure import sphere_grid as sphere_grid
from ._measure import torque_coefficients as torque_coefficients
from ._measure import TorqueCoefficients as TorqueCoefficients
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
from ._validation import ValidationRow as ValidationRow
from ._validation import validate_layers as validate_layers
from .sweep import SWEEP_PARAMETERS as SWEEP_PARAMETERS
from .sweep import sweep_model as sweep_model
from .sweep import sweep_observables as sweep_observables
from .sweep import sweep_status as sweep_status

__version__ = "0.1.0"

_LAZY_MODULES = ("fit",)


def __getattr__(name):
    # `jaxsot.fit` (optax, the optimizer) loads on first use, so that `import jaxsot` stays light.
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'jaxsot' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY_MODULES))

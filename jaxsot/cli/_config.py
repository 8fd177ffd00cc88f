"""Configuration files for the CLI: TOML -> frozen option objects, with one-line errors.

One module per command's schema, sharing `_config_schema` (the option fields, their checks and the
TOML reading): `_config_run`, `_config_sweep`, `_config_llg`, `_config_validate`, and the [model]
table of every model kind in `_model_config`. This module gathers their public names for the
commands.
"""

from ._config_schema import ConfigError as ConfigError
from ._config_schema import option as option
from ._config_schema import type_name as type_name
from ._config_schema import allowed_range as allowed_range
from ._config_schema import check_value as check_value
from ._config_schema import show_value as show_value
from ._config_schema import build_section as build_section
from ._config_schema import toml_error_message as toml_error_message
from ._config_schema import load_toml as load_toml
from ._config_schema import parse_sections as parse_sections
from ._config_schema import named_errors as named_errors
from ._model_config import ALPHA_MIN as ALPHA_MIN
from ._model_config import J_EX_MIN as J_EX_MIN
from ._model_config import TAU_MIN as TAU_MIN
from ._model_config import MASS_RATIO_MIN as MASS_RATIO_MIN
from ._model_config import MASS_RATIO_MAX as MASS_RATIO_MAX
from ._model_config import EFIELD_MIN as EFIELD_MIN
from ._model_config import T_END_MIN as T_END_MIN
from ._model_config import LLG_TAU_RANGE as LLG_TAU_RANGE
from ._model_config import ALPHA_WHY as ALPHA_WHY
from ._model_config import ModelOptions as ModelOptions
from ._model_config import MAX_STATE_STEPS as MAX_STATE_STEPS
from ._config_run import EnsembleOptions as EnsembleOptions
from ._config_run import DriveOptions as DriveOptions
from ._config_run import RelaxationOptions as RelaxationOptions
from ._config_run import TimeOptions as TimeOptions
from ._config_run import LimitOptions as LimitOptions
from ._config_run import RunConfig as RunConfig
from ._config_run import LIMITS_TOML as LIMITS_TOML
from ._config_run import DEFAULT_RUN_TOML as DEFAULT_RUN_TOML
from ._config_run import SHIFT_SUBSTEPS as SHIFT_SUBSTEPS
from ._config_run import check_run_rules as check_run_rules
from ._config_run import parse_run_config as parse_run_config
from ._config_run import config_to_toml as config_to_toml
from ._config_run import config_to_dict as config_to_dict
from ._config_run import SWEEPABLE as SWEEPABLE
from ._config_sweep import SWEEP_OBSERVABLES as SWEEP_OBSERVABLES
from ._config_sweep import SweepAxis as SweepAxis
from ._config_sweep import SweepOptions as SweepOptions
from ._config_sweep import PlotSpec as PlotSpec
from ._config_sweep import SweepConfig as SweepConfig
from ._config_sweep import DEFAULT_SWEEP_TOML as DEFAULT_SWEEP_TOML
from ._config_sweep import run_field_of as run_field_of
from ._config_sweep import check_type as check_type
from ._config_sweep import plot_variables as plot_variables
from ._config_sweep import config_table as config_table
from ._config_sweep import parse_sweep_config as parse_sweep_config
from ._config_sweep import sweep_identity as sweep_identity
from ._config_llg import LlgElectronOptions as LlgElectronOptions
from ._config_llg import LlgCurrentOptions as LlgCurrentOptions
from ._config_llg import LlgMagnetOptions as LlgMagnetOptions
from ._config_llg import LlgFieldOptions as LlgFieldOptions
from ._config_llg import LlgInitialOptions as LlgInitialOptions
from ._config_llg import LlgTorqueOptions as LlgTorqueOptions
from ._config_llg import LlgTimeOptions as LlgTimeOptions
from ._config_llg import LlgEventOptions as LlgEventOptions
from ._config_llg import LlgConfig as LlgConfig
from ._config_llg import DEFAULT_LLG_TOML as DEFAULT_LLG_TOML
from ._config_llg import DEMAG_TOLERANCE as DEMAG_TOLERANCE
from ._config_llg import check_llg_rules as check_llg_rules
from ._config_llg import parse_llg_config as parse_llg_config
from ._config_validate import ValidateDriveOptions as ValidateDriveOptions
from ._config_validate import QuantumNumericsOptions as QuantumNumericsOptions
from ._config_validate import ScanOptions as ScanOptions
from ._config_validate import CrossoverOptions as CrossoverOptions
from ._config_validate import LayerCheckOptions as LayerCheckOptions
from ._config_validate import ValidateConfig as ValidateConfig
from ._config_validate import DEFAULT_VALIDATE_TOML as DEFAULT_VALIDATE_TOML
from ._config_validate import check_validate_rules as check_validate_rules
from ._config_validate import parse_validate_config as parse_validate_config

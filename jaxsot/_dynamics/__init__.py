"""Dynamics: the rigid shift of the sea under a drive, the chunked/sharded sum engine, simulate()."""

from ._simulate import UNITS as UNITS
from ._simulate import SimulationResult as SimulationResult
from ._simulate import simulate as simulate
from ._reduce import fermi_sea_sum as fermi_sea_sum

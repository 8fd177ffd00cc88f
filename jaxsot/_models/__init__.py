"""Shipped two-band models: a TI surface state, Rashba + Dresselhaus, a square lattice, and a tight-binding constructor."""

from ._rashba_dresselhaus import RashbaDresselhausFerromagnet as RashbaDresselhausFerromagnet
from ._square_lattice import SquareLatticeRashbaFerromagnet as SquareLatticeRashbaFerromagnet
from ._ti_surface import TISurfaceFerromagnet as TISurfaceFerromagnet
from ._tight_binding import TightBindingModel as TightBindingModel

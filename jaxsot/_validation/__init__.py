"""Layer-by-layer validation against independent routes (`jaxsot validate`; docs: How-to > Validate)."""

from ._checks import CHECKS as CHECKS
from ._checks import ValidationRow as ValidationRow
from ._checks import validate_layers as validate_layers

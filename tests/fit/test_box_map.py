"""The Levenberg-Marquardt fits' map from unconstrained u to a parameter inside its box (`x_of_u`, the
harmonic Hall fit) never leaves the box, not even by a rounding step (the host checks cover the box's
ends only): log boxes on either side of zero and linear boxes, u from deep negative to deep positive
saturation. Without the clip, exp(log(100)) gave 100.00000000000004."""

import numpy as np
import pytest

from jaxsot.fit._levmar import x_of_u
from jaxsot.fit._optimize import transform_kind

BOXES = [(0.5, 100.0), (1e-3, 100.0), (-100.0, -0.5), (0.05, 3.0), (-2.0, 5.0)]
U = np.concatenate([np.linspace(-800.0, 800.0, 401), np.linspace(-60.0, 60.0, 1201)])


@pytest.mark.parametrize("lower, upper", BOXES)
def test_every_u_maps_into_the_closed_box(lower, upper):
    kind = transform_kind(lower, upper)
    numpy_x = np.array([x_of_u([u], [lower], [upper], (kind,))[0][0] for u in U])
    assert np.all((numpy_x >= lower) & (numpy_x <= upper)), (numpy_x.min(), numpy_x.max())
    # saturation reaches the ends themselves
    assert numpy_x[0] == pytest.approx(lower, rel=1e-15) and numpy_x[400] == pytest.approx(upper, rel=1e-15)

"""The sweeps' Fermi-sea pre-check on the host: which points can be computed (both bands' seas of every
distinct Rashba model probed on rays in NumPy float64, no compilation; `sea_checks`).
"""

import numpy as onp
from .._core._model import rashba_ray_bound
from .._fermi._contour import PROBE_FRACTIONS, SEA_EMPTY, SEA_NO_ORIGIN, SEA_NOT_STAR, classify_seas, probe_directions
from ..constants import HBAR2_OVER_2ME


def _magnetization(theta, phi):
    return onp.stack([onp.sin(theta) * onp.cos(phi), onp.sin(theta) * onp.sin(phi), onp.cos(theta)], -1)


def host_ray_energy(alpha, j_ex, mx, my, mz, mass_ratio, radius, cos, sin, s):
    """eps_s(r (cos phi, sin phi)) of the Rashba ferromagnet [eV] in NumPy float64 (no compilation); arguments broadcast.

    Omega^2 = alpha^2 r^2 - 2 alpha J r (sin phi M_x - cos phi M_y) + J^2 |M|^2 on the ray: the energies of
    the Hamiltonian, in a few full-size array operations, for many parameter points at once.
    """
    c = HBAR2_OVER_2ME / mass_ratio
    ray = sin * mx - cos * my
    omega2 = (alpha * radius) ** 2 + j_ex * j_ex * (mx * mx + my * my + mz * mz) - (2.0 * alpha * j_ex * radius) * ray
    return c * radius * radius + s * onp.sqrt(onp.maximum(omega2, 0.0))


def sea_status_codes(alpha, j_ex, magnetization, mass_ratio, fermi_energy, s, batch: int = 32):
    """`classify_seas` for arrays of Rashba models, vectorized in NumPy float64 on the host.

    Each sea is probed on PROBE_RAYS rays x PROBE_RADII radii out to the Rashba `outer_radius`
    (`rashba_ray_bound` of the lower band with the same margin).
    Args: alpha, j_ex, mass_ratio, fermi_energy (U,); magnetization (U, 3) unit M; s: band sign.
        batch: models per vectorized block (memory ~ batch * PROBE_RAYS * PROBE_RADII doubles).
    Returns: (codes (U,) int8 `SEA_*`, band minimum on the probe grid (U,) [eV], most crossings (U,) int).
    """
    alpha, j_ex, mass_ratio, fermi_energy = (onp.asarray(x, dtype=onp.float64) for x in (alpha, j_ex, mass_ratio, fermi_energy))
    m = onp.asarray(magnetization, dtype=onp.float64)
    cos, sin = probe_directions()
    parts = []
    for start in range(0, alpha.shape[0], batch):
        sl = slice(start, start + batch)
        a, j, mr, e_f = (x[sl, None, None] for x in (alpha, j_ex, mass_ratio, fermi_energy))
        mx, my, mz = (m[sl, i, None, None] for i in range(3))
        radius = (rashba_ray_bound(a, j, mr, e_f, -1.0, xp=onp) * 1.01 + 1e-6) * PROBE_FRACTIONS
        eps = host_ray_energy(a, j, mx, my, mz, mr, radius, cos, sin, s)
        parts.append(classify_seas(eps, fermi_energy[sl], s * j_ex[sl]))
    return tuple(onp.concatenate(column) for column in zip(*parts))


def sea_checks(p: dict) -> tuple[onp.ndarray, onp.ndarray]:
    """(status (P,) int8, upper band occupied (P,) bool), one probe per distinct Fermi sea.

    Args:
        p: normalized, range-checked points (`normalize_points`, `check_point_values`).

    Returns:
        (status codes of `STATUS_MESSAGES` (P,) int8, upper band occupied (P,) bool).
    """
    sea_keys = onp.stack([p[k] for k in ("alpha", "j_ex", "theta", "phi", "mass_ratio", "fermi_energy")], -1)
    unique, inverse = onp.unique(sea_keys, axis=0, return_inverse=True)
    inverse = onp.ravel(inverse)
    alpha, j_ex, theta, phi, mass_ratio, fermi_energy = unique.T
    m = _magnetization(theta, phi)
    lower = sea_status_codes(alpha, j_ex, m, mass_ratio, fermi_energy, -1.0)[0]
    upper = sea_status_codes(alpha, j_ex, m, mass_ratio, fermi_energy, 1.0)[0]
    status = onp.zeros(unique.shape[0], dtype=onp.int8)
    status = onp.where(upper == SEA_NOT_STAR, 4, status)
    status = onp.where(upper == SEA_NO_ORIGIN, 3, status)
    status = onp.where(lower == SEA_NOT_STAR, 4, status)
    status = onp.where(lower == SEA_NO_ORIGIN, 2, status)
    status = onp.where(lower == SEA_EMPTY, 1, status)
    return status[inverse].astype(onp.int8), (upper != SEA_EMPTY)[inverse]

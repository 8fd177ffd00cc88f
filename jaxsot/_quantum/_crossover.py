"""M || z: closed forms for the whole sea and the strong-Rashba crossover (exact spinors vs closed forms).
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp
from .._core._checks import check_band, check_count, check_finite, check_range, check_shape, is_concrete
from .._core._model import RashbaFerromagnet
from .._fermi._circular import circular_densities, circular_fermi_seas
from .._bands._kernels import energy as band_energy
from .._fermi._contour import fermi_sea_status
from ..constants import AREA_MEASURE, CARRIER_CHARGE, HBAR
from ._ensemble import chunk_states, ensemble_block
from ._integrator import SmoothRampDrive, build_schedule_traced



# ---------------------------------------------------------------------------------------------
# M || z: closed forms for the whole sea, and the strong-Rashba crossover.


def _circular_radii(model, fermi_energy):
    """{band: (k_in, k_out)} of the occupied annuli/disks for M = +-z (numpy floats) [1/nm].

    The closed form `circular_fermi_seas` in host float64 (the lower band is an annulus when
    E_F < -J, the Mexican hat); empty bands are left out.
    """
    inner, outer = circular_fermi_seas(
        float(model.alpha), float(model.j_ex), float(model.mass_ratio), float(fermi_energy), xp=onp
    )
    return {s: (math.sqrt(inner[i]), math.sqrt(outer[i])) for i, s in enumerate((-1, 1)) if outer[i] > 0.0}


def _check_along_z(model):
    m = onp.asarray(model.magnetization, float)
    if abs(abs(m[2]) - 1.0) > 1e-12:
        raise ValueError(
            f"magnetization = {onp.round(m, 6).tolist()} is not along z; allowed: M = +z or -z "
            "(the closed forms need circular Fermi contours)"
        )
    if float(model.alpha) == 0.0 or not float(model.j_ex) > 0.0:
        raise ValueError(
            f"alpha = {float(model.alpha):g} eV nm, j_ex = {float(model.j_ex):g} eV; allowed: alpha != 0 and j_ex > 0"
        )
    return float(onp.sign(m[2]))


def circular_sea_torques(model: RashbaFerromagnet, fermi_energy, efield) -> dict:
    """Closed forms for the whole T = 0 sea when M = +-z, for hbar k' = qE (constant field, adiabatic).

    With Omega(k) = sqrt(J^2 + alpha^2 k^2), circular contours (a disk, or an annulus k_in < k < k_out
    for a Mexican-hat lower band), k' = qE/hbar and the measure d^2k/(2 pi)^2 (derivation: the sea
    integral of (k'.grad) s b^ is the contour flux oint s b^ (k'.n) dl; the others are radial integrals
    of the per-state first-order formula, int_0^k k dk/Omega^3 = (1/J - 1/Omega)/alpha^2):
        T2 (semiclassical, = -dS/dt)    = -alpha (k' x z) sum_s s [k^2/Omega]_in^out / (4 pi)
        delta S_1 (non-adiabatic spin)  = (hbar J m_z alpha/2) k' sum_s s I_s,
        (2J/hbar) M x delta S_1         = -alpha J^2 (k' x z) sum_s s I_s,
        I_s = [1/Omega(k_in) - 1/Omega(k_out)] / (2 pi alpha^2).
    For two disks (both bands occupied) and q = -e:
        T2 = (e alpha/hbar)(n_+/Omega_+ - n_-/Omega_-)(E x z),
        (2J/hbar) M x delta S_1 = (e J^2/(2 pi alpha hbar))(1/Omega_- - 1/Omega_+)(E x z),
    both -> (e alpha/(hbar J))(n_+ - n_-)(E x z) = -(e m alpha/(pi hbar^3))(E x z) in the strong-exchange
    limit (paper eq. 14 summed). For J -> 0 (strong Rashba) T2 -> -(e m alpha/(2 pi hbar^3))(E x z), half
    the strong-exchange value, while the damping-like exchange torque vanishes as (J/alpha k_F)^2.

    Requires M = +-z, alpha != 0, J > 0.

    Args:
        model: the Rashba ferromagnet with M = +-z.
        fermi_energy: Fermi energy E_F [eV].
        efield: in-plane electric field, shape (2,) [V/nm].

    Returns: dict of numpy arrays (float64): "damping_torque", "damping_like_torque" [1/(nm^2 fs)],
        "nonadiabatic_spin_density" [1/nm^2], "strong_exchange" (paper eq. 14 summed over the sea)
        [1/(nm^2 fs)] (3,); "band_densities" (lower, upper) [1/nm^2]; "radii" {band: (k_in, k_out)}.
    """
    if not is_concrete(model, fermi_energy, efield):
        # A host float64 closed form (numpy): traced inputs have no values to evaluate it with.
        raise ValueError(
            "circular_sea_torques got traced inputs (model, fermi_energy or efield inside jax.jit, jax.grad or "
            "jax.vmap); allowed: concrete values, also captured by a traced function (the result is then a constant)"
        )
    m_z = _check_along_z(model)
    check_finite("fermi_energy", fermi_energy)
    check_shape("efield", efield, (2,))
    check_finite("efield", efield)
    efield = onp.asarray(efield, float)
    radii = _circular_radii(model, fermi_energy)
    if not radii:
        raise ValueError(f"fermi_energy = {float(fermi_energy):g} eV lies below both bands; allowed: an occupied sea")
    alpha, j = float(model.alpha), float(model.j_ex)
    kdot = CARRIER_CHARGE * efield / HBAR  # hbar k' = qE, in host float64 (numpy, not jax arrays)
    kdot_cross_z = onp.array([kdot[1], -kdot[0], 0.0])

    def omega(k):
        return math.sqrt(j * j + alpha * alpha * k * k)

    flux, first = 0.0, 0.0
    # The measure AREA_MEASURE times the angular integrals: pi for the flux (int cos^2), 2 pi otherwise.
    for s, (k_in, k_out) in radii.items():
        flux += s * (k_out**2 / omega(k_out) - k_in**2 / omega(k_in)) * (math.pi * AREA_MEASURE)
        first += s * (1.0 / omega(k_in) - 1.0 / omega(k_out)) * (2.0 * math.pi * AREA_MEASURE) / alpha**2
    densities = dict(zip((-1, 1), circular_densities(alpha, j, float(model.mass_ratio), float(fermi_energy), xp=onp)))
    spin = 0.5 * HBAR * j * m_z * alpha * first * onp.array([kdot[0], kdot[1], 0.0])
    m = onp.array([0.0, 0.0, m_z])
    e_cross_z = onp.array([efield[1], -efield[0], 0.0])
    polarization = densities[1] - densities[-1]
    # Paper eq. 14 per state, -s (e alpha/(hbar J)) M x (M x (E x z)), summed with the band densities.
    strong = -polarization * (alpha / (HBAR * j)) * onp.cross(m, onp.cross(m, e_cross_z))
    return {
        "damping_torque": -alpha * flux * kdot_cross_z,
        "damping_like_torque": -alpha * j * j * first * kdot_cross_z,
        "nonadiabatic_spin_density": spin,
        "strong_exchange": strong,
        "band_densities": onp.array([densities[-1], densities[1]]),
        "radii": radii,
    }


def circular_sea_nodes(model: RashbaFerromagnet, fermi_energy, num_phi: int = 8, num_r: int = 16):
    """Quadrature nodes for the circular seas of M = +-z, graded near k = 0 (for `exact_simulate`).

    Radius k = (J/|alpha|) sinh(v), Gauss-Legendre in v over [asinh(|alpha| k_in/J), asinh(|alpha| k_out/J)]
    and uniform in angle: the integrands of the first-order torques (~ J^2/Omega^3) are smooth in v
    even when alpha k_F >> J, where they are concentrated within J/|alpha| of k = 0.

    Args:
        model: the Rashba ferromagnet with M = +-z.
        fermi_energy: Fermi energy E_F [eV].
        num_phi: equally spaced angles.
        num_r: Gauss-Legendre nodes in v per angle and band.

    Returns: (k (N, 2) [1/nm], weight (N,) [1/nm^2], band sign (N,)), numpy float64.
    """
    _check_along_z(model)
    num_phi = check_count("num_phi", num_phi, minimum=4)
    num_r = check_count("num_r", num_r, minimum=2)
    scale = float(model.j_ex) / abs(float(model.alpha))
    x, w = onp.polynomial.legendre.leggauss(num_r)
    phi = (onp.arange(num_phi) + 0.5) * (2.0 * math.pi / num_phi)
    ks, ws, ss = [], [], []
    for s, (k_in, k_out) in sorted(_circular_radii(model, fermi_energy).items()):
        v0, v1 = math.asinh(k_in / scale), math.asinh(k_out / scale)
        v = v0 + 0.5 * (x + 1.0) * (v1 - v0)
        radius = scale * onp.sinh(v)
        # d^2k = k dk dphi, dk = scale cosh(v) dv.
        radial = radius * scale * onp.cosh(v) * 0.5 * (v1 - v0) * w
        k = radius[None, :, None] * onp.stack([onp.cos(phi), onp.sin(phi)], -1)[:, None, :]
        ks.append(k.reshape(-1, 2))
        ws.append(onp.broadcast_to(radial[None, :] * (2.0 * math.pi / num_phi), (num_phi, num_r)).reshape(-1))
        ss.append(onp.full(num_phi * num_r, float(s)))
    return onp.concatenate(ks), onp.concatenate(ws), onp.concatenate(ss)


class RashbaCrossover(eqx.Module):
    """Result of `strong_rashba_crossover` (numpy; P points). All torques are vectors (P, 3) [1/(nm^2 fs)]
    and, in `normalized`, their components along E x z divided by that of the strong-exchange limit
    T2_0 = -(e m alpha/(pi hbar^3))(E x z) (paper eq. 14 summed over two occupied bands):

        ratio (P,): alpha k_F/J with k_F = sqrt(2 m E_F)/hbar; j_ex (P,) [eV]; efield (P,) [V/nm];
        closed: {"damping_torque", "damping_like_torque", "strong_exchange"} from `circular_sea_torques`;
        semiclassical_damping_torque: window mean of the semiclassical sea sum of -ds/dt;
        exact_damping_torque: window mean of the exact -dS/dt;
        exact_damping_like_torque: window mean of (2J/hbar) M x (S_exact - S_band);
        first_order_damping_like_torque: window mean of (2J/hbar) M x sum delta sigma_1;
        normalized: {name: (P,)} of the above; adiabaticity (P,): max epsilon over states and times;
        integration_error (P,): relative step-doubling estimate for the exact T2 (nan if not asked).
    """

    ratio: onp.ndarray
    j_ex: onp.ndarray
    efield: onp.ndarray
    closed: dict
    semiclassical_damping_torque: onp.ndarray
    exact_damping_torque: onp.ndarray
    exact_damping_like_torque: onp.ndarray
    first_order_damping_like_torque: onp.ndarray
    normalized: dict
    adiabaticity: onp.ndarray
    integration_error: onp.ndarray
    alpha: float
    fermi_energy: float


@functools.partial(jax.jit, static_argnames=("chunk", "substeps"))
def _crossover_impl(models, nodes, amplitudes, ramp_times, times, *, chunk, substeps):
    def one(model, node, amplitude, ramp_time, t):
        schedule = build_schedule_traced(SmoothRampDrive(amplitude, ramp_time), t, 0.0, substeps)
        states = chunk_states(*node, chunk)
        delta = jnp.zeros(states[0].shape[:2] + (3,), t.dtype)
        _, sums, lowest = ensemble_block(model, states, delta, schedule, semiclassical=True)
        eps = HBAR * jnp.abs(model.alpha) * jnp.max(jnp.linalg.norm(schedule.k_rate, axis=-1)) / lowest**2
        return sums, eps

    return jax.vmap(one)(models, nodes, amplitudes, ramp_times, times)


def strong_rashba_crossover(
    alpha,
    fermi_energy,
    ratios,
    *,
    mass_ratio=1.0,
    direction=(1.0, 0.0),
    num_phi: int = 8,
    num_r: int = 16,
    ramp_periods: float = 20.0,
    window_periods: float = 5.0,
    max_angle: float = 0.5,
    shift_fraction: float = 0.01,
    estimate_error: bool = False,
) -> RashbaCrossover:
    """Ensemble T2 (semiclassical and exact) and the damping-like exchange torque vs alpha k_F/J, M = z.

    For each ratio x, J = alpha k_F/x (k_F = sqrt(2 m E_F)/hbar) and the whole sea (both bands when
    E_F > J) is evolved exactly on `circular_sea_nodes` under a field switched on with the C-infinity
    ramp over ramp_periods periods pi hbar/J of the slowest states (Omega >= J, reached at k = 0) and
    held for window_periods such periods; results are window means (the residual ringing averages out).
    The amplitude is set so the sea shifts by shift_fraction * k_F over the run (linear response; all
    results are proportional to E). The step keeps the precession angle per step 2 Omega_max h/hbar
    <= max_angle (relative error <~ 3e-3 max_angle^4). All points run in one vmapped, jitted call.

    Args:
        alpha: Rashba coupling [eV nm].
        fermi_energy: Fermi energy E_F [eV].
        ratios: values of alpha k_F/J, shape (P,), > 0.
        mass_ratio: effective mass m*/m_e.
        direction: in-plane direction of the field, shape (2,) (normalized here).
        num_phi: angles of `circular_sea_nodes`.
        num_r: radial nodes of `circular_sea_nodes` per angle and band.
        ramp_periods: length of the C-infinity switch-on, in periods pi hbar/J.
        window_periods: length of the averaging window after the ramp, in periods pi hbar/J.
        max_angle: largest precession angle per step 2 Omega_max h/hbar [rad].
        shift_fraction: shift of the sea over the run, as a fraction of k_F (linear response).
        estimate_error: also run with two Magnus steps per output interval and report the
            estimated relative error of T2 (a second compiled pass).

    Returns: RashbaCrossover.
    """
    check_range("alpha", alpha, unit="eV nm")
    check_finite("fermi_energy", fermi_energy)
    check_range("ratios", ratios, low=0.0, low_inclusive=False)
    check_range("max_angle", max_angle, low=0.0, high=2.0, low_inclusive=False, unit="rad")
    check_range("shift_fraction", shift_fraction, low=0.0, high=0.2, low_inclusive=False)
    check_range("ramp_periods", ramp_periods, low=1.0, unit="periods")
    check_range("window_periods", window_periods, low=0.5, unit="periods")
    alpha = float(alpha)
    if alpha == 0.0:
        raise ValueError("alpha = 0.0 eV nm is not allowed; allowed: alpha != 0")
    fermi_energy = float(fermi_energy)
    if not fermi_energy > 0.0:
        raise ValueError(f"fermi_energy = {fermi_energy:g} eV is out of range; allowed: (0, inf) eV (k_F = sqrt(2 m E_F)/hbar)")
    ratios = onp.atleast_1d(onp.asarray(ratios, float))
    direction = onp.asarray(direction, float)
    if direction.shape != (2,) or not onp.linalg.norm(direction) > 0:
        raise ValueError(f"direction = {direction.tolist()} is not allowed; allowed: a non-zero in-plane 2-vector")
    unit = direction / onp.linalg.norm(direction)
    probe = RashbaFerromagnet(alpha, 1.0, onp.array([0.0, 0.0, 1.0]), mass_ratio)
    c = float(probe.kinetic_coefficient)
    mass = float(probe.mass)
    k_fermi = math.sqrt(fermi_energy / c)
    j_values = abs(alpha) * k_fermi / ratios
    models, nodes, amplitudes, ramps, grids, omegas = [], [], [], [], [], []
    count = None
    plans = []
    for j in j_values:
        model = RashbaFerromagnet(alpha, float(j), onp.array([0.0, 0.0, 1.0]), mass_ratio)
        node = circular_sea_nodes(model, fermi_energy, num_phi, num_r)
        k_max = float(onp.max(onp.linalg.norm(node[0], axis=-1)))
        omega_max = math.sqrt(j * j + (alpha * k_max) ** 2)
        period = math.pi * HBAR / j
        total = (ramp_periods + window_periods) * period
        plans.append((model, node, period, total))
        need = int(math.ceil(2.0 * omega_max * total / (HBAR * max_angle)))
        count = need if count is None else max(count, need)
    for model, node, period, total in plans:
        ramp = ramp_periods * period
        # Delta k(end) = (|E|/hbar)(total - ramp/2) for the symmetric switch.
        field = shift_fraction * k_fermi * HBAR / (total - 0.5 * ramp)
        models.append(model)
        nodes.append(node)
        amplitudes.append(field * unit)
        ramps.append(ramp)
        grids.append(onp.linspace(0.0, total, count + 1))
    stacked = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *models)
    node_arrays = tuple(jnp.asarray(onp.stack([n[i] for n in nodes])) for i in range(3))
    amplitudes = onp.stack(amplitudes)
    grids = onp.stack(grids)
    chunk = int(node_arrays[0].shape[1])
    args = (stacked, node_arrays, jnp.asarray(amplitudes), jnp.asarray(ramps), jnp.asarray(grids))
    sums, eps = _crossover_impl(*args, chunk=chunk, substeps=1)
    error = onp.full(ratios.shape, onp.nan)
    if estimate_error:
        fine, _ = _crossover_impl(*args, chunk=chunk, substeps=2)
        t2, t2_fine = onp.asarray(sums)[:, :, 3:6], onp.asarray(fine)[:, :, 3:6]
        error = onp.max(onp.abs(t2_fine - t2), axis=(1, 2)) * (16.0 / 15.0) / onp.max(onp.abs(t2), axis=(1, 2))
    sums = onp.asarray(sums)
    results = {"sc": [], "exact": [], "dl": [], "first": []}
    closed = {"damping_torque": [], "damping_like_torque": [], "strong_exchange": []}
    reference = []
    for i, (model, node, period, total) in enumerate(plans):
        t = grids[i]
        mask = t >= ramps[i]
        weights = onp.zeros_like(t)
        tw = t[mask]
        weights[mask] = onp.gradient(tw) if tw.size > 1 else 1.0
        weights /= weights.sum()

        def mean(x):
            return (weights[:, None] * x).sum(axis=0)

        j = float(model.j_ex)
        g = 2.0 * j / HBAR
        m = onp.array([0.0, 0.0, 1.0])
        change, rate, band, sc_rate, first = (sums[i][:, a:a + 3] for a in (0, 3, 6, 9, 12))
        results["sc"].append(mean(-sc_rate))
        results["exact"].append(mean(-rate))
        results["dl"].append(mean(g * onp.cross(m, change - band)))
        results["first"].append(mean(g * onp.cross(m, first)))
        forms = circular_sea_torques(model, fermi_energy, amplitudes[i])
        for key in closed:
            closed[key].append(forms[key])
        e_cross_z = onp.array([amplitudes[i][1], -amplitudes[i][0], 0.0])
        reference.append(-(mass * alpha / (math.pi * HBAR**3)) * e_cross_z)
    reference = onp.stack(reference)
    results = {k: onp.stack(v) for k, v in results.items()}
    closed = {k: onp.stack(v) for k, v in closed.items()}
    along = onp.array([unit[1], -unit[0], 0.0])

    def normalize(x):
        return (x @ along) / (reference @ along)

    normalized = {f"closed_{k}": normalize(v) for k, v in closed.items()}
    normalized.update(
        semiclassical_damping_torque=normalize(results["sc"]),
        exact_damping_torque=normalize(results["exact"]),
        exact_damping_like_torque=normalize(results["dl"]),
        first_order_damping_like_torque=normalize(results["first"]),
    )
    return RashbaCrossover(
        ratio=ratios,
        j_ex=j_values,
        efield=onp.linalg.norm(amplitudes, axis=-1),
        closed=closed,
        semiclassical_damping_torque=results["sc"],
        exact_damping_torque=results["exact"],
        exact_damping_like_torque=results["dl"],
        first_order_damping_like_torque=results["first"],
        normalized=normalized,
        adiabaticity=onp.asarray(eps),
        integration_error=error,
        alpha=alpha,
        fermi_energy=fermi_energy,
    )


@functools.partial(jax.jit, static_argnums=(4,))
def _ray_energy(model, radius, cos, sin, s):
    return band_energy(model, radius * cos, radius * sin, s)


def fermi_point(model: RashbaFerromagnet, fermi_energy, band: int, angle) -> onp.ndarray:
    """The point of the Fermi contour eps_band(k) = E_F on the ray at `angle` [rad] from k = 0 [1/nm].

    Bisection on one compiled band energy (for choosing a state to study, e.g. in
    `adiabaticity_scan`). Requires the band's sea to contain k = 0 (see `fermi_sea_status`).

    Args:
        model: the two-band model (a RashbaFerromagnet or another TwoBandModel).
        fermi_energy: Fermi energy E_F [eV].
        band: +1 (upper) or -1 (lower).
        angle: direction of the ray from k = 0 [rad].

    Returns: k, shape (2,) [1/nm], numpy float64.
    """
    s = check_band(band)
    check_finite("fermi_energy", fermi_energy)
    check_finite("angle", angle)
    if fermi_sea_status(model, fermi_energy, s) == "empty":
        raise ValueError(
            f"band = {s:+d} is empty at fermi_energy = {float(fermi_energy):g} eV; allowed: an occupied band"
        )
    cos, sin = math.cos(float(angle)), math.sin(float(angle))
    direction = onp.array([cos, sin])

    def energy(r):
        return float(_ray_energy(model, r, cos, sin, float(s))) - float(fermi_energy)

    low, high = 0.0, 1.0
    while energy(high) < 0.0:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if energy(middle) < 0.0 else (low, middle)
        if high - low <= 1e-15 * high:
            break
    return 0.5 * (low + high) * direction

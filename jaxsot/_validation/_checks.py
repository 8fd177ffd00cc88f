"""`jaxsot.validate_layers`: one check per layer, each against a route that shares no code with it.

Every check runs the library on a small, fixed problem and compares with a reference from
`_references.py` (plain NumPy: bisection, closed forms, written-out constants) or with known
parameters (the fit). Tolerances sit between the measured agreement (listed with each check) and
1e-3, so that a 1e-3 error in any layer fails at least one row; `jaxsot validate` prints them and
exits 1 when one fails. Docs: How-to > Validate an installation.
"""

import math
import time
from typing import Callable, NamedTuple

import numpy as onp

from . import _references as ref


class ValidationRow(NamedTuple):
    """One row of `validate_layers`.

    layer: "contours", "shift", "quantum", "transport", "llg", "energy", "measure" or "fit". check: what is
    compared. reference: the independent route. error: the measured relative error (or |ratio - 1|).
    tolerance: the bound it must stay below. ok: error <= tolerance (and finite). detail: values.
    """

    layer: str
    check: str
    reference: str
    error: float
    tolerance: float
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        """The row as a plain dict (for JSON)."""
        return self._asdict()


def _row(layer, check, reference, error, tolerance, detail=""):
    error = float(error)
    return ValidationRow(layer, check, reference, error, float(tolerance), bool(math.isfinite(error) and error <= tolerance), detail)


def _relative(value, reference):
    value, reference = onp.asarray(value, dtype=float), onp.asarray(reference, dtype=float)
    return float(onp.max(onp.abs(value - reference)) / onp.max(onp.abs(reference)))


# Shared problem: the Rashba ferromagnet of the tests (both bands occupied), M general and M || z.
ALPHA, J_EX, FERMI = 0.05, 0.5, 1.0
M_GENERAL = (math.sin(1.0) * math.cos(0.5), math.sin(1.0) * math.sin(0.5), math.cos(1.0))


def _rashba_dresselhaus(alpha, beta, j_ex, m):
    """A Rashba-Dresselhaus ferromagnet through the `TwoBandModel` interface only (a non-Rashba model for
    the generic contour solver; free-electron mass)."""
    import jax.numpy as jnp

    import jaxsot

    class RashbaDresselhaus(jaxsot.TwoBandModel):
        alpha: jnp.ndarray
        beta: jnp.ndarray
        j_ex: jnp.ndarray
        magnetization: jnp.ndarray

        def kinetic_energy(self, kx, ky):
            return ref.HBAR2_OVER_2ME * (kx * kx + ky * ky)

        def field(self, kx, ky):
            so = self.spin_orbit_field(kx, ky)
            return tuple(b - self.j_ex * self.magnetization[i] for i, b in enumerate(so))

        def spin_orbit_field(self, kx, ky):
            return self.alpha * ky + self.beta * kx, -self.alpha * kx - self.beta * ky, 0.0 * kx

        @property
        def mass(self):
            return ref.ELECTRON_MASS + 0.0 * self.alpha

    return RashbaDresselhaus(jnp.asarray(alpha), jnp.asarray(beta), jnp.asarray(j_ex), jnp.asarray(m))


def check_contours(quick: bool) -> list:
    """Fermi contours (ray solver) vs plain bisection on the same rays, for the Rashba ferromagnet and a
    Rashba-Dresselhaus model (generic interface); densities vs k_F^2/(4 pi)."""
    import jaxsot

    num = 32 if quick else 128
    m = onp.asarray(M_GENERAL)
    phi = 2 * math.pi * onp.arange(num) / num
    rows = []
    for name, model, energy in (
        ("Rashba, M general,", jaxsot.RashbaFerromagnet(ALPHA, J_EX, list(M_GENERAL)),
         lambda k, s: ref.band_energy(ALPHA, J_EX, m, 1.0, k, s)),
        ("Rashba-Dresselhaus (beta 0.02),", _rashba_dresselhaus(ALPHA, 0.02, J_EX, m),
         lambda k, s: ref.rashba_dresselhaus_energy(ALPHA, 0.02, J_EX, m, k, s)),
    ):
        errors = []
        for band in (-1, 1):
            k, _ = jaxsot.fermi_contour(model, FERMI, band, num)
            radius = onp.linalg.norm(onp.asarray(k), axis=-1)
            expected = ref.bisection_radii(lambda q, band=band: energy(q, band), FERMI, phi)
            errors.append(_relative(radius, expected))
        rows.append(_row("contours", f"Fermi radii, {name} both bands", "NumPy bisection on the rays",
                         max(errors), 1e-10, f"{num} rays"))
    along_z = jaxsot.RashbaFerromagnet(ALPHA, J_EX, [0.0, 0.0, 1.0])
    density = [float(jaxsot.electron_density(along_z, FERMI, band, num)) for band in (-1, 1)]
    expected = ref.circular_densities(ALPHA, J_EX, 1.0, FERMI)
    rows.append(_row("contours", "band densities, M || z", "k_F^2/(4 pi), k_F by bisection",
                     _relative(density, expected), 1e-10, f"n = {density[0]:.6g}, {density[1]:.6g} /nm^2"))
    return rows


def check_shift(quick: bool) -> list:
    """The driven sea (`simulate`, step field, relaxation): shift, T2 and T1 vs the closed-form step response."""
    import jax.numpy as jnp

    import jaxsot

    tau, efield = 10.0, onp.array([1e-6, 5e-7])  # E small: the quadratic response is ~|Delta k|/k_F ~ 1e-6
    times = jnp.linspace(0.0, 3 * tau, 13 if quick else 41)
    model = jaxsot.RashbaFerromagnet(ALPHA, J_EX, [0.0, 0.0, 1.0])
    result = jaxsot.simulate(model, FERMI, jaxsot.StepDrive(jnp.asarray(efield)), times, tau=tau,
                             num_phi=16 if quick else 32, num_r=4 if quick else 8)
    t = onp.asarray(times)
    decay = onp.exp(-t / tau)
    kdot0 = -efield / ref.HBAR  # q = -e
    shift = kdot0[None, :] * tau * (1.0 - decay)[:, None]
    rows = [_row("shift", "rigid shift Delta k(t), step field, tau = 10 fs", "(qE tau/hbar)(1 - exp(-t/tau))",
                 _relative(result.delta_k, shift), 1e-6, f"{len(t)} times to 3 tau, RK4")]
    rate = ref.circular_spin_flux(ALPHA, J_EX, 1.0, FERMI, kdot0)
    t2 = -rate[None, :] * decay[:, None]
    rows.append(_row("shift", "T2 = -dS/dt(t), M || z", "-(alpha/4pi)(k' x z) sum_s s k_s^2/Omega_s, k'~exp(-t/tau)",
                     _relative(result.observables["damping_torque"]["exact"], t2), 1e-5, ""))
    spin_shift = ref.circular_spin_flux(ALPHA, J_EX, 1.0, FERMI, kdot0 * tau)
    t1 = (2 * J_EX / ref.HBAR) * onp.cross([0.0, 0.0, 1.0], spin_shift)[None, :] * (1.0 - decay)[:, None]
    rows.append(_row("shift", "T1 = (2J/hbar) M x (S - S_eq)(t), M || z", "same flux with Delta k(t)",
                     _relative(result.observables["field_like_torque"]["exact"], t1), 1e-5, ""))
    return rows


def check_spinor(quick: bool) -> list:
    """The exact spinor integrator (quantum check) at E = 0: precession about b(k0) at 2 Omega/hbar."""
    import jax.numpy as jnp

    import jaxsot

    model = jaxsot.RashbaFerromagnet(ALPHA, J_EX, list(M_GENERAL))
    k0 = onp.array([2.0, -1.0])
    b = ref.exchange_field(ALPHA, J_EX, onp.asarray(M_GENERAL), k0)
    omega = float(onp.linalg.norm(b))
    n = b / omega
    start = onp.array([0.3, -0.8, 0.52]) / onp.linalg.norm([0.3, -0.8, 0.52])
    times = onp.linspace(0.0, 100.0, 11)
    spin = onp.asarray(jaxsot.exact_spin_trajectory(model, jnp.asarray(k0), -1, jnp.zeros(2), jnp.asarray(times),
                                                    initial_spin=jnp.asarray(start)))
    angle = 2.0 * omega * times / ref.HBAR  # Bloch equation d sigma/dt = (2/hbar) b x sigma
    parallel = n * (n @ start)
    expected = (parallel[None] + onp.cos(angle)[:, None] * (start - parallel)[None]
                + onp.sin(angle)[:, None] * onp.cross(n, start)[None])
    return [_row("quantum", "spinor precession, E = 0, 10 fs steps", "rotation about b at 2 Omega/hbar (Rodrigues)",
                 float(onp.max(onp.abs(spin - expected))), 1e-10, f"Omega = {omega:.6g} eV, {angle[-1]:.4g} rad")]


def check_transport(quick: bool) -> list:
    """Boltzmann conductivity vs Drude (alpha = 0) and vs the M || z closed form."""
    import jaxsot

    tau, num = 10.0, 32 if quick else 128
    rows = []
    for alpha, name, reference in ((0.0, "sigma, alpha = 0 (two shifted parabolas)", "Drude (n_- + n_+) e^2 tau/m"),
                                   (ALPHA, "sigma, Rashba, M || z", "tau sum_s k_s |v_s|/(4 pi hbar)")):
        model = jaxsot.RashbaFerromagnet(alpha, J_EX, [0.0, 0.0, 1.0])
        sigma = onp.asarray(jaxsot.conductivity(model, FERMI, tau, num))
        if alpha == 0.0:
            expected = sum(ref.circular_densities(0.0, J_EX, 1.0, FERMI)) * tau / ref.ELECTRON_MASS
        else:
            expected = ref.boltzmann_conductivity_z(alpha, J_EX, 1.0, FERMI, tau)
        rows.append(_row("transport", name, reference, _relative(sigma, expected * onp.eye(2)), 1e-10,
                         f"sigma_xx = {sigma[0, 0]:.6g} e^2/(eV fs)"))
    return rows


def _precession_magnet(jaxsot, gilbert, anisotropy, axis, external):
    return jaxsot.Magnet(1.0, 1.0, gilbert, anisotropy_field=anisotropy, easy_axis=axis, demag=(0.0, 0.0, 0.0),
                         external_field=external, g_factor=2.0)


def check_llg_precession(quick: bool) -> list:
    """Small-angle precession: frequency and linewidth of `simulate_llg` vs Kittel (uniaxial along z, B || z)."""
    import jax.numpy as jnp

    import jaxsot

    gilbert, b_k, b_ext, theta0 = 0.02, 0.3, 0.2, 1e-3
    magnet = _precession_magnet(jaxsot, gilbert, b_k, (0.0, 0.0, 1.0), (0.0, 0.0, b_ext))
    torque = jaxsot.SpinOrbitTorque(0.02, 1.0, 1.5, jnp.zeros(2), 10.0)  # no current
    omega = ref.gamma(2.0) * (b_ext + b_k) / (1 + gilbert**2)  # Kittel (LL form of the Gilbert equation)
    width = gilbert * omega
    periods = 4 if quick else 10
    t_end = periods * 2 * math.pi / omega
    m0 = jnp.asarray([math.sin(theta0), 0.0, math.cos(theta0)])
    result = jaxsot.simulate_llg(magnet, torque, m0, t_end, num_save=40 * periods + 1, rtol=1e-10, atol=1e-13)
    t, m = onp.asarray(result.times), onp.asarray(result.m)
    phase = onp.unwrap(onp.angle(m[:, 0] + 1j * m[:, 1]))
    measured_omega = abs(ref.exponential_fit(t, phase))
    measured_width = -ref.exponential_fit(t, onp.log(onp.hypot(m[:, 0], m[:, 1])))
    return [
        _row("llg", "precession frequency, B || K || z, 1 mrad", "Kittel gamma (B + B_K)/(1 + a_G^2)",
             abs(measured_omega / omega - 1), 1e-5, f"{measured_omega * 1e6 / (2 * math.pi):.6g} GHz"),
        _row("llg", "precession linewidth (decay rate)", "a_G x Kittel frequency",
             abs(measured_width / width - 1), 1e-5, f"{measured_width * 1e6:.6g} /ns"),
    ]


def check_llg_switching(quick: bool) -> list:
    """Damping-like switching threshold: zero growth of a small tilt about +y vs a_J(j_c) = a_G gamma B_K."""
    import jax.numpy as jnp

    import jaxsot

    gilbert, b_k, tilt = 0.05, 0.05, 1e-4
    alpha, j_ex, fermi = 0.02, 1.0, 1.5
    magnet = _precession_magnet(jaxsot, gilbert, b_k, (0.0, 1.0, 0.0), (0.0, 0.0, 0.0))
    slope = ref.strong_damping_rate(alpha, j_ex, 1.0, fermi, 1.0, 1.0, 1.0, 2.0)  # a_J per V/nm
    critical = gilbert * ref.gamma(2.0) * b_k / slope  # E_c [V/nm]: a_J = a_G gamma B_K (isotropic stiffness)
    fields = onp.array([0.5, 1.5]) * critical
    torque = jaxsot.SpinOrbitTorque(alpha, j_ex, fermi, jnp.asarray([[e, 0.0] for e in fields]), 10.0,
                                    method="strong_exchange", field_like=False)
    rate = gilbert * ref.gamma(2.0) * b_k / (1 + gilbert**2)
    t_end = (2.0 if quick else 4.0) / (0.5 * rate)
    m0 = jnp.asarray([tilt, math.sqrt(1 - tilt**2), 0.0])
    result = jaxsot.simulate_llg(magnet, torque, m0, t_end, num_save=201, rtol=1e-10, atol=1e-14)
    t, m = onp.broadcast_to(onp.asarray(result.times), onp.asarray(result.m).shape[:2]), onp.asarray(result.m)
    growth = [ref.exponential_fit(t[i], onp.log(onp.hypot(m[i, :, 0], m[i, :, 2]))) for i in range(2)]
    measured = fields[0] - growth[0] * (fields[1] - fields[0]) / (growth[1] - growth[0])
    error = abs(measured / critical - 1) if onp.isfinite(measured) else math.inf
    return [_row("llg", "switching threshold E_c (zero growth), in-plane u || y", "a_J(E_c) = a_G gamma B_K, a_J of eq. 14",
                 error, 1e-4, f"E_c = {critical * 1e9:.6g} V/m; growth {growth[0]:.3g}, {growth[1]:.3g} /fs")]


def check_energy(quick: bool) -> list:
    """`energy_transfer_check` per torque at alpha k_F/J = 0.017 (both bands), within 2 (alpha k_F/J)^2."""
    import jax.numpy as jnp

    import jaxsot

    m = onp.array([[0.6, 0.3, 0.74], [0.9, 0.1, 0.3], [0.3, -0.5, 0.8], [-0.7, 0.2, -0.4]])
    m = m / onp.linalg.norm(m, axis=1, keepdims=True)
    magnet = jaxsot.Magnet(1.0, 1.0, 0.02, demag=(0.0, 0.0, 0.0))
    torque = jaxsot.SpinOrbitTorque(0.002, 1.0, 1.5, jnp.asarray([2e-4, 0.0]), 30.0, method="exact", num=32 if quick else 64)
    check = jaxsot.energy_transfer_check(magnet, torque, m if not quick else m[:2], num=32 if quick else 64)
    tolerance = check["tolerance"]
    return [
        _row("energy", "damping-like power / extra Joule heat", "Boltzmann AMR of the exact bands",
             abs(check["damping_like_ratio"] - 1), tolerance, f"ratio {check['damping_like_ratio']:.6f}; tol 2 (alpha k_F/J)^2"),
        _row("energy", "spin-force loss / (kappa n_p x damping-like power)", "the power above (the T_DL scale cancels)",
             abs(check["field_like_ratio"] - 1), tolerance, f"ratio {check['field_like_ratio']:.6f}; tol 2 (alpha k_F/J)^2"),
    ]


def check_fields(quick: bool) -> list:
    """`effective_fields` (strong exchange) vs the SI closed forms, B_FL and B_DL."""
    import jax.numpy as jnp

    import jaxsot

    rho0, current, tau = 2.0e-7, 1.0e11, 10.0
    magnet = jaxsot.Magnet(1.0, 1.0, 0.05)
    torque = jaxsot.SpinOrbitTorque(0.02, 1.0, 1.5, jnp.asarray([rho0 * current * 1e-9, 0.0]), tau)
    m = onp.array([[0.6, 0.3, 0.74], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    result = jaxsot.effective_fields(magnet, torque, m / onp.linalg.norm(m, axis=1, keepdims=True), rho0,
                                     methods=("strong_exchange",))
    b_fl, b_dl = ref.strong_fields_si(0.02, 1.0, 1.0, 1.5, tau, current, rho0, 1.0, 1.0)
    strong = result.strong_exchange
    return [
        _row("measure", "B_FL^s strong exchange, 1e11 A/m^2", "SI closed form -alpha n_p e E tau/(M_s d hbar)",
             _relative(strong.field_like_scalar, onp.full(3, b_fl)), 1e-8, f"{b_fl * 1e3:.6g} mT"),
        _row("measure", "B_DL^s strong exchange, 1e11 A/m^2", "SI closed form -alpha n_p e E/(2 M_s d J)",
             _relative(strong.damping_like_scalar, onp.full(3, b_dl)), 1e-8, f"{b_dl * 1e3:.6g} mT"),
    ]


def check_lockin(quick: bool) -> list:
    """Time-domain lock-in R_2w (LLG + demodulation) vs the quasi-static closed form of a perpendicular magnet."""
    import jax.numpy as jnp

    import jaxsot

    rho0, current, tau = 2.0e-7, 1.0e11, 10.0
    hall = dict(r_ahe=1.0, r_phe=0.3, r_ane=0.01, oersted_field=1e-3)
    magnet = jaxsot.Magnet(1.0, 1.0, 1.0, anisotropy_field=1.5)  # B_K,eff = 1.5 - 1.0 T (demag z)
    torque = jaxsot.SpinOrbitTorque(0.02, 1.0, 1.5, jnp.asarray([rho0 * current * 1e-9, 0.0]), tau)
    phi, field = onp.array([0.5, 2.0])[:1 if quick else 2], onp.array([0.2, 0.3])[:1 if quick else 2]
    lock = jaxsot.lockin_harmonics(magnet, torque, phi, field, frequency=1.5e7, periods=2, settle_periods=1,
                                   samples_per_period=64, **hall)
    b_fl, b_dl = ref.strong_fields_si(0.02, 1.0, 1.0, 1.5, tau, current, rho0, 1.0, 1.0)
    _, r_2w = ref.perpendicular_hall(field, phi, 0.5, b_fl, b_dl, hall["oersted_field"], hall["r_ahe"], hall["r_phe"], hall["r_ane"])
    return [_row("measure", "lock-in R_2w (LLG, j0 sin wt, demodulated)", "quasi-static closed form, perpendicular",
                 _relative(lock.r_2w, r_2w), 5e-4, f"R_2w = {float(r_2w[0]) * 1e3:.5g} mOhm (w tau_r ~ 1e-2)")]


def check_fit(quick: bool) -> list:
    """`jaxsot.fit` recovers known parameters from noiseless synthetic data (strong-exchange model)."""
    import warnings

    import jaxsot.fit as jf

    truth = {"alpha": 0.05, "j_ex": 1.0, "mass_ratio": 1.0, "tau": 10.0}
    curve = jf.synthesize(truth, 0.5, columns=("rho_ratio", "T_DL_x", "T_DL_y", "T_FL_z"), num_points=12, noise=0.0,
                          model="strong_exchange")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = jf.fit(curve, 0.5, model="strong_exchange", guess={"alpha": 0.04, "j_ex": 1.2, "tau": 8.0},
                        bounds={"alpha": (0.02, 0.1), "j_ex": (0.6, 2.0), "tau": (2.0, 50.0)}, restarts=1)
    error = max(abs(result.parameters[n] / truth[n] - 1) for n in result.free)
    return [_row("fit", "fit of noiseless data: alpha, J, tau", "the known parameters (0.05 eV nm, 1 eV, 10 fs)",
                 error, 1e-6, ", ".join(f"{n} {result.parameters[n]:.8g}" for n in result.free))]


CHECKS = {
    "contours": (check_contours, True),
    "shift": (check_shift, True),
    "quantum spinor": (check_spinor, True),
    "transport": (check_transport, True),
    "llg precession": (check_llg_precession, True),
    "llg switching": (check_llg_switching, False),
    "energy": (check_energy, True),
    "effective fields": (check_fields, True),
    "lock-in": (check_lockin, True),
    "fit": (check_fit, False),
}
"""name -> (check function, part of the quick subset)."""


def validate_layers(quick: bool = False, progress: Callable[[str, float], None] | None = None, only=None) -> list:
    """Run the layer checks (module docstring) and return their rows.

    Args:
        quick: only the quick subset (every check but the switching threshold and the fit, at smaller
            sizes; seconds once compiled) instead of all checks.
        progress: called as progress(name, seconds) after each check.
        only: names of checks to run (keys of `jaxsot._validation.CHECKS`: "contours", "shift",
            "quantum spinor", "transport", "llg precession", "llg switching", "energy", "effective fields", "lock-in",
            "fit"), or None for all (of the quick subset when quick).
    Returns: list of ValidationRow, in the order of CHECKS.
    Raises:
        ValueError: JAX runs in float32 (the tolerances, down to 1e-10, need float64:
            `jax.config.update("jax_enable_x64", True)` before creating arrays; the CLI does it), or a
            name in `only` is not a check.
    """
    import jax

    if not isinstance(quick, bool):
        raise ValueError(f"quick = {quick!r} is not allowed; allowed: True or False (a Python bool: validate_layers "
                         "runs fixed problems and is not traceable by jax.jit/grad/vmap)")
    if not jax.config.read("jax_enable_x64"):
        raise ValueError("validate_layers needs float64: jax_enable_x64 is off; allowed: "
                         "jax.config.update('jax_enable_x64', True) before any array is created")
    if only is not None:
        only = (only,) if isinstance(only, str) else tuple(only)
        unknown = [name for name in only if name not in CHECKS]
        if unknown:
            raise ValueError(f"only = {unknown[0]!r} is not a check; allowed: {', '.join(map(repr, CHECKS))}")
    rows = []
    for name, (function, in_quick) in CHECKS.items():
        if (only is not None and name not in only) or (only is None and quick and not in_quick):
            continue
        started = time.perf_counter()
        rows += function(quick)
        if progress is not None:
            progress(name, time.perf_counter() - started)
    return rows

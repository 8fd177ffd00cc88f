"""Shared fixtures and independent NumPy/SciPy references for the jaxsot physics tests.

The library never enables float64 itself; the tests do, once, here (before any array is made).
Every reference below is written from the theory pages (docs/theory) with NumPy/SciPy only (2x2 matrices, closed
forms, root solves); nothing is imported from jaxsot except in the fixtures that build models.
"""

import contextlib
import dataclasses
import io
import json
import math
import types

import os
import pathlib

# The developer loop: compiled programs persist between test runs in <repo>/.jax-test-cache (JAX's
# persistent compilation cache, content-addressed: a changed program, JAX version or flag gets a
# new entry, so a stale program is never used). A fresh clone (CI) compiles everything once; the
# runs after it skip XLA compilation. Subprocesses inherit it through the environment.
# JAXSOT_TEST_COMPILATION_CACHE=0 switches it off (or names another folder).
_TEST_CACHE = os.environ.get("JAXSOT_TEST_COMPILATION_CACHE", str(pathlib.Path(__file__).resolve().parents[1] / ".jax-test-cache"))
if _TEST_CACHE.strip().lower() not in ("0", "false", "no", "off", ""):
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _TEST_CACHE
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
if _TEST_CACHE.strip().lower() not in ("0", "false", "no", "off", ""):
    jax.config.update("jax_compilation_cache_dir", _TEST_CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
# The in-process CLI leaves JAX's cache settings to the session above (its own ~/.cache folder stays unused).
os.environ["JAXSOT_COMPILATION_CACHE"] = "0"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

import jaxsot  # noqa: E402
from jaxsot.cli import main  # noqa: E402

# Constants written out (CODATA 2018, docs/theory/model.md), not imported from jaxsot.
HBAR = 0.6582119569  # eV fs
HBAR2_OVER_2ME = 0.0380998212  # eV nm^2
ELECTRON_MASS = HBAR**2 / (2.0 * HBAR2_OVER_2ME)  # eV fs^2 / nm^2, = 5.6856301 (checked in test_model)
CHARGE = -1.0  # q in units of e

ALPHA = 0.05  # eV nm
J_EX = 0.5  # eV
MASS_RATIO = 1.0
EF_BOTH = 1.0  # eV, both bands occupied
EF_LOWER = 0.2  # eV, only the lower band occupied (upper band starts at J = 0.5 eV for M || z)

PAULI = np.array(
    [
        [[0.0, 1.0], [1.0, 0.0]],
        [[0.0, -1.0j], [1.0j, 0.0]],
        [[1.0, 0.0], [0.0, -1.0]],
    ]
)


@dataclasses.dataclass(frozen=True)
class Case:
    """A model together with its plain-float parameters for the NumPy references."""

    name: str
    model: jaxsot.RashbaFerromagnet
    alpha: float
    j_ex: float
    m: np.ndarray  # unit 3-vector
    mass_ratio: float = 1.0

    @property
    def c(self):
        return HBAR2_OVER_2ME / self.mass_ratio

    @property
    def mass(self):
        return ELECTRON_MASS * self.mass_ratio


def angles_to_vector(theta, phi):
    return np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])


def make_case(name, alpha, j_ex, m, mass_ratio=1.0):
    m = np.asarray(m, dtype=float)
    m = m / np.linalg.norm(m)
    return Case(name, jaxsot.RashbaFerromagnet(alpha, j_ex, m, mass_ratio), alpha, j_ex, m, mass_ratio)


# ------------------------------------------------------------------------------------------------
# Independent references (NumPy / SciPy).


def hamiltonian(p, k):
    """H = c k^2 I + b.sigma, b = (alpha ky - J Mx, -alpha kx - J My, -J Mz)."""
    kx, ky = float(k[0]), float(k[1])
    b = exchange_field(p, k)
    return p.c * (kx * kx + ky * ky) * np.eye(2) + np.einsum("i,ijk->jk", b, PAULI)


def exchange_field(p, k):
    k = np.asarray(k, dtype=float)
    return np.stack(
        [
            p.alpha * k[..., 1] - p.j_ex * p.m[0],
            -p.alpha * k[..., 0] - p.j_ex * p.m[1],
            -p.j_ex * p.m[2] + 0.0 * k[..., 0],
        ],
        axis=-1,
    )


def _band_index(band):
    return 0 if band == -1 else 1


def eig_energy(p, k, band):
    """Band energy from numpy.linalg.eigh of the 2x2 H(k); k (..., 2)."""
    k = np.asarray(k, dtype=float)
    flat = k.reshape(-1, 2)
    out = np.array([np.linalg.eigh(hamiltonian(p, q))[0][_band_index(band)] for q in flat])
    return out.reshape(k.shape[:-1])


def eig_spin(p, k, band):
    """<psi|sigma|psi> of the eigh eigenvector of the band; k (..., 2) -> (..., 3)."""
    k = np.asarray(k, dtype=float)
    flat = k.reshape(-1, 2)
    out = []
    for q in flat:
        _, vectors = np.linalg.eigh(hamiltonian(p, q))
        psi = vectors[:, _band_index(band)]
        out.append(np.real(np.einsum("i,aij,j->a", psi.conj(), PAULI, psi)))
    return np.array(out).reshape(k.shape[:-1] + (3,))


def closed_energy(p, k, band):
    """Vectorized closed form c k^2 + s |b| (checked against eigh in test_bands)."""
    k = np.asarray(k, dtype=float)
    return p.c * np.sum(k * k, axis=-1) + band * np.linalg.norm(exchange_field(p, k), axis=-1)


def closed_spin(p, k, band):
    b = exchange_field(p, k)
    return band * b / np.linalg.norm(b, axis=-1, keepdims=True)


def closed_velocity(p, k, band):
    """v = (2 c k + s alpha u / Omega)/hbar, u = alpha k - J (z x M) (grad Omega = alpha u/Omega)."""
    k = np.asarray(k, dtype=float)
    u = np.stack([p.alpha * k[..., 0] + p.j_ex * p.m[1], p.alpha * k[..., 1] - p.j_ex * p.m[0]], -1)
    omega = np.linalg.norm(exchange_field(p, k), axis=-1)[..., None]
    return (2.0 * p.c * k + band * p.alpha * u / omega) / HBAR


def closed_energy_gradient(p, k, band):
    return HBAR * closed_velocity(p, k, band)


def closed_spin_force(p, k, band, efield):
    """F = s (m/hbar^2)(alpha^2/Omega)[f - u (u.f)/Omega^2], f = qE = -E, u = z x b."""
    k = np.asarray(k, dtype=float)
    f = CHARGE * np.broadcast_to(np.asarray(efield, dtype=float), k.shape)
    b = exchange_field(p, k)
    omega = np.linalg.norm(b, axis=-1)[..., None]
    u = np.stack([-b[..., 1], b[..., 0]], -1)  # z x b
    u_dot_f = np.sum(u * f, axis=-1, keepdims=True)
    return band * p.mass / HBAR**2 * p.alpha**2 / omega * (f - u * u_dot_f / omega**2)


def fermi_radius(p, fermi_energy, band, phi):
    """r(phi) with eps_band(r cos phi, r sin phi) = E_F by scipy brentq (closed-form energy)."""
    direction = np.array([math.cos(phi), math.sin(phi)])

    def g(r):
        return float(closed_energy(p, r * direction, band)) - fermi_energy

    high = 1.0
    while g(high) < 0.0:
        high *= 2.0
    return brentq(g, 0.0, high, xtol=1e-15, rtol=1e-15, maxiter=400)


def circular_fermi_radius(p, fermi_energy, band):
    """M || z: brentq of c k^2 + s sqrt(alpha^2 k^2 + J^2) = E_F."""
    return brentq(
        lambda k: p.c * k * k + band * math.sqrt(p.alpha**2 * k * k + p.j_ex**2) - fermi_energy,
        0.0,
        100.0,
        xtol=1e-15,
        rtol=1e-15,
        maxiter=400,
    )


def sea_density(p, fermi_energy, band, num=256):
    """Electron density (1/2) oint r(phi)^2 dphi / (2 pi)^2 with brentq radii and the trapezoid rule."""
    phi = 2.0 * math.pi * np.arange(num) / num
    radius = np.array([fermi_radius(p, fermi_energy, band, x) for x in phi])
    return 0.5 * np.sum(radius**2) * (2.0 * math.pi / num) / (2.0 * math.pi) ** 2


def contour_spin_flux(p, fermi_energy, vector, num=256):
    """sum_s oint spin_s(k) (n . v) dl/(2 pi)^2 over the occupied Fermi contours (3,), NumPy only.

    brentq radii r(phi) on `num` rays, r'(phi) = -(d eps/d phi)/(d eps/d r) from the closed-form energy
    gradient (implicit-function theorem), n dl = (r cos + r' sin, r sin - r' cos) dphi, closed-form spin
    s b/|b|, trapezoid rule. With v = k' it is dS/dt of the accelerated sea (T2 = -dS/dt); with
    v = Delta k the spin delta S of the rigidly shifted sea (first order). Shares no code with jaxsot.
    """
    v = np.asarray(vector, dtype=float)
    phi = 2.0 * math.pi * np.arange(num) / num
    cos, sin = np.cos(phi), np.sin(phi)
    total = np.zeros(3)
    for s in (-1, 1):
        if closed_energy(p, np.zeros(2), s) >= fermi_energy:
            continue
        r = np.array([fermi_radius(p, fermi_energy, s, x) for x in phi])
        k = np.stack([r * cos, r * sin], -1)
        grad = closed_energy_gradient(p, k, s)
        d_r = grad[:, 0] * cos + grad[:, 1] * sin
        d_phi = r * (-grad[:, 0] * sin + grad[:, 1] * cos)
        r_prime = -d_phi / d_r
        flux = v[0] * (r * cos + r_prime * sin) + v[1] * (r * sin - r_prime * cos)
        total += (closed_spin(p, k, s) * flux[:, None]).sum(0) * (2.0 * math.pi / num)
    return total / (2.0 * math.pi) ** 2


def rotation_z(beta):
    c, s = math.cos(beta), math.sin(beta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def relative_error(value, reference):
    value = np.asarray(value, dtype=float)
    reference = np.asarray(reference, dtype=float)
    return float(np.linalg.norm(value - reference) / np.linalg.norm(reference))


REFERENCE = types.SimpleNamespace(
    HBAR=HBAR,
    HBAR2_OVER_2ME=HBAR2_OVER_2ME,
    ELECTRON_MASS=ELECTRON_MASS,
    CHARGE=CHARGE,
    ALPHA=ALPHA,
    J_EX=J_EX,
    EF_BOTH=EF_BOTH,
    EF_LOWER=EF_LOWER,
    make_case=make_case,
    angles_to_vector=angles_to_vector,
    hamiltonian=hamiltonian,
    exchange_field=exchange_field,
    eig_energy=eig_energy,
    eig_spin=eig_spin,
    closed_energy=closed_energy,
    closed_spin=closed_spin,
    closed_velocity=closed_velocity,
    closed_energy_gradient=closed_energy_gradient,
    closed_spin_force=closed_spin_force,
    fermi_radius=fermi_radius,
    circular_fermi_radius=circular_fermi_radius,
    sea_density=sea_density,
    contour_spin_flux=contour_spin_flux,
    rotation_z=rotation_z,
    relative_error=relative_error,
)


# XLA:CPU maps memory for every compiled program, and one process running the whole suite holds
# thousands of them: past Linux's vm.max_map_count (65530 by default) an mmap fails inside XLA and the
# process dies with a segmentation fault (seen at ~85 % of the suite). Dropping JAX's in-memory caches
# when the count grows frees those programs; later tests reload them from the persistent cache above.
_MAP_LIMIT = 30000


def _mapped_regions() -> int:
    try:
        with open("/proc/self/maps", "rb") as maps:
            return sum(1 for _ in maps)
    except OSError:  # not Linux: no such limit to stay under
        return 0


@pytest.fixture(autouse=True)
def _bounded_memory_maps():
    yield
    if _mapped_regions() > _MAP_LIMIT:
        import gc

        jax.clear_caches()
        gc.collect()


@pytest.fixture(scope="session")
def ref():
    """Namespace of the independent NumPy/SciPy references and constants."""
    return REFERENCE


@pytest.fixture(scope="session")
def general():
    """General M: theta = 1.0 rad from +z, phi = 0.5 rad from +x."""
    return make_case("general", ALPHA, J_EX, angles_to_vector(1.0, 0.5), MASS_RATIO)


@pytest.fixture(scope="session")
def along_z():
    """M || z: circular Fermi contours, closed forms available."""
    return make_case("along_z", ALPHA, J_EX, [0.0, 0.0, 1.0], MASS_RATIO)


@pytest.fixture(scope="session")
def in_plane():
    """In-plane M (phi = 0.3 rad): M_z = 0, non-circular contours, band touching at k* = (J/alpha)(z x M)."""
    return make_case("in_plane", ALPHA, J_EX, angles_to_vector(0.5 * math.pi, 0.3), MASS_RATIO)


@pytest.fixture(scope="session", params=["general", "along_z", "in_plane"])
def case(request, general, along_z, in_plane):
    """Each of the three standard models in turn."""
    return {"general": general, "along_z": along_z, "in_plane": in_plane}[request.param]


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(20240611)


@pytest.fixture(scope="session")
def random_k():
    """12 fixed random wave vectors in the disk |k| < 7 /nm (beyond both Fermi radii at E_F = 1 eV)."""
    generator = np.random.default_rng(7)
    radius = 7.0 * np.sqrt(generator.uniform(0.02, 1.0, 12))
    angle = generator.uniform(0.0, 2.0 * math.pi, 12)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], -1)


# ---------------------------------------------------------------------------------------------
# One fresh interpreter for the checks that need one (a new process costs an import of JAX).

FRESH_INTERPRETER_SCRIPT = """
import json, sys
import jaxsot
report = {"modules_after_import": sorted(sys.modules)}
# The fit namespace loads its CSV readers on use (test_architecture.py).
import jaxsot.fit as jf
files = ("jaxsot.fit._csv", "jaxsot.fit._hall_csv")
before = [f in sys.modules for f in files]
jf.read_csv; jf.read_hall_csv
report["fit_lazy_csv"] = [*before, *[f in sys.modules for f in files], any(m.startswith("jaxsot.cli") for m in sys.modules)]
# Without x64, importing and using jaxsot keeps float32 everywhere (bands/test_bands.py).
import jax, numpy as np
model = jaxsot.RashbaFerromagnet(0.05, 0.5, [0.3, 0.2, 0.9])
k = np.array([[1.0, 2.0], [0.5, -0.1]])
outs = [
    jaxsot.band_energy(model, k, -1),
    jaxsot.spin_force(model, k, -1, np.array([1e-3, 0.0])),
    jaxsot.damping_torque(model, k, 1, np.array([1e-3, 0.0])),
    jaxsot.ensemble_damping_torque(model, 1.0, np.array([1e-3, 0.0]), 16),
]
report["float64_dtypes"] = [bool(jax.config.read("jax_enable_x64")), sorted({str(o.dtype) for o in outs}), str(model.alpha.dtype)]
print(json.dumps(report))
"""


@pytest.fixture(scope="session")
def fresh_interpreter():
    """What a fresh interpreter (no x64, nothing imported) reports: one process for all such checks.

    Order inside: `import jaxsot` (its sys.modules), then `import jaxsot.fit` and its lazy CSV readers,
    then float32 computations without x64.
    """
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-c", FRESH_INTERPRETER_SCRIPT], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# The command line called in this process (no JAX start-up per call).


def call_cli(*args, cwd):
    """`jaxsot ARGS` in this process, in folder `cwd`: (returncode, stdout, stderr) like subprocess.run.

    The command chooses its precision and device flags for the process; they are put back afterwards
    (the test session runs in float64), as are the working directory and XLA_FLAGS.
    """
    stdout, stderr = io.StringIO(), io.StringIO()
    previous_dir, previous_flags = os.getcwd(), os.environ.get("XLA_FLAGS")
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = main(list(args))
            except SystemExit as stop:
                status = stop.code
    finally:
        os.chdir(previous_dir)
        if previous_flags is None:
            os.environ.pop("XLA_FLAGS", None)
        else:
            os.environ["XLA_FLAGS"] = previous_flags
        jax.config.update("jax_enable_x64", True)
    return types.SimpleNamespace(returncode=status, stdout=stdout.getvalue(), stderr=stderr.getvalue())


@pytest.fixture(scope="session")
def run_cli():
    """`call_cli` as a fixture."""
    return call_cli

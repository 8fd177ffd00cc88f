"""The spin force of every band shape, F_so = M0(k) r'' - hbar k' with M0 = hbar^2 [Hess eps0]^-1, and the
anomalous acceleration a_so = r'' - Hess(eps0) k'/hbar, against Hamilton trajectories: r(t) by RK4 of
r' = grad eps_s/hbar (eigh eigenvalues, central differences) along hbar k' = f, r''(0) by second
differences in t, M0 from second differences of eps0 = tr H/2 of the NumPy Hamiltonian."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot
import model_references as ref
from shipped_cases import CASES, case  # noqa: F401 (case: fixture)

K0 = np.array([1.3, -0.7])  # 1/nm: away from the square lattice's singular lines |k a| = pi/2 (at 3.93 /nm)
EFIELD = np.array([0.02, -0.01])  # V/nm; hbar k' = -E [eV/nm]


def test_spin_force_is_m0_r_double_dot_minus_hbar_k_dot_on_every_shipped_model(case):
    force = -EFIELD
    for s in (-1, 1):
        acceleration = ref.trajectory_acceleration(case.hamiltonian, K0, s, force, h=1.0)
        hessian = ref.kinetic_hessian(case.hamiltonian, K0)
        anomalous = np.asarray(jaxsot.anomalous_acceleration(case.model, K0, s, EFIELD))
        want_anomalous = acceleration - hessian @ force / ref.HBAR**2
        np.testing.assert_allclose(anomalous, want_anomalous, rtol=0, atol=2e-6 * np.max(np.abs(want_anomalous)))
        if case.name == "ti_massless":
            # eps0 = 0: all of r'' is anomalous, and there is no mass to make a force of it.
            np.testing.assert_allclose(anomalous, acceleration, rtol=0, atol=2e-6 * np.max(np.abs(acceleration)))
            with pytest.raises(ValueError, match="massless Dirac cone.*jaxsot.anomalous_acceleration"):
                jaxsot.spin_force(case.model, K0, s, EFIELD)
            continue
        want = ref.HBAR**2 * np.linalg.solve(hessian, acceleration) - force
        got = np.asarray(jaxsot.spin_force(case.model, K0, s, EFIELD))
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * np.max(np.abs(want)))
        assert np.max(np.abs(want)) > 1e-3 * np.max(np.abs(force))  # not the trivial zero


def test_a_reference_mass_is_not_the_spin_force_of_a_lattice():
    # The band-bottom mass times a_so (the parabolic formula) misses the lattice's own curvature by ~10 %
    # at this k: the local mass tensor is what makes F_so = M0 r'' - hbar k' hold.
    case = CASES["square"]
    got = np.asarray(jaxsot.spin_force(case.model, K0, -1, EFIELD))
    naive = float(case.model.mass) * np.asarray(jaxsot.anomalous_acceleration(case.model, K0, -1, EFIELD))
    assert np.max(np.abs(got - naive)) > 0.05 * np.max(np.abs(got))


def test_parabolic_models_keep_the_papers_force_exactly():
    # M0 = m I: F_so = m a_so, and a model without the parabolic declaration (the generic path
    # inverting Hess eps0) gives the same numbers.
    case = CASES["rd"]
    k = np.array([[1.3, -0.7], [-2.0, 0.4]])
    for s in (-1, 1):
        force = np.asarray(jaxsot.spin_force(case.model, k, s, EFIELD))
        mass_times = float(case.model.mass) * np.asarray(jaxsot.anomalous_acceleration(case.model, k, s, EFIELD))
        np.testing.assert_allclose(force, mass_times, rtol=1e-13)

    class Undeclared(type(case.model)):
        kinetic_is_parabolic = False

    undeclared = Undeclared(0.05, 0.02, 0.5, np.asarray(case.model.magnetization), mass_ratio=0.8)
    np.testing.assert_allclose(jaxsot.spin_force(undeclared, k, -1, EFIELD), jaxsot.spin_force(case.model, k, -1, EFIELD), rtol=1e-12)


def test_singular_inverse_mass_is_refused_eagerly_and_under_jit():
    model = CASES["square"].model
    line = np.array([math.pi / (2 * 0.4), 0.3])  # cos(kx a) = 0: d2 eps0/dkx2 = 0
    with pytest.raises(ValueError, match=r"no local mass of eps0 at 1 state\(s\).*jaxsot.anomalous_acceleration"):
        jaxsot.spin_force(model, np.stack([K0, line]), -1, EFIELD)
    with pytest.raises(Exception, match="no local mass of eps0"):
        jax.block_until_ready(jax.jit(lambda k: jaxsot.spin_force(model, k, -1, EFIELD))(jnp.asarray(line)))
    # The anomalous acceleration stays finite there.
    assert np.all(np.isfinite(np.asarray(jaxsot.anomalous_acceleration(model, line, -1, EFIELD))))
    # Traced and eager agree away from the lines; grad through the lattice spin force is finite.
    eager = np.asarray(jaxsot.spin_force(model, K0, -1, EFIELD))
    np.testing.assert_allclose(jax.jit(lambda k: jaxsot.spin_force(model, k, -1, EFIELD))(jnp.asarray(K0)), eager, rtol=1e-13)
    gradient = jax.grad(lambda e: jaxsot.spin_force(model, K0, -1, e)[0])(jnp.asarray(EFIELD))
    # F_so is linear in E: grad(F_x) . E = F_x.
    assert float(np.asarray(gradient) @ EFIELD) == pytest.approx(float(eager[0]), rel=1e-12)

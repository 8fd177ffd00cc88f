"""The general spin force F_so = M0(k) a_so leaves the Rashba ferromagnet's force as it was: the papers'
(m/hbar^2) Hess(s Omega) . f bit for bit, and the same numbers (to 1e-12) through the generic path that
inverts Hess eps0 for a model that does not declare its band parabolic. Lattice and Dirac models:
tests/models/test_spin_force.py (against Hamilton trajectories)."""

import jax
import jax.numpy as jnp
import numpy as np

import jaxsot

HBAR = 0.6582119569
C_KIN = 0.0380998212
ALPHA, J_EX = 0.05, 0.5
M_DIR = np.array([np.sin(1.0) * np.cos(0.5), np.sin(1.0) * np.sin(0.5), np.cos(1.0)])
K = np.random.default_rng(7).uniform(-3.0, 3.0, size=(16, 2))
EFIELD = np.array([1e-3, -4e-4])


class PlainRashba(jaxsot.TwoBandModel):
    """The Rashba ferromagnet through the generic interface: no parabolic declaration."""

    alpha: jax.Array
    j_ex: jax.Array
    magnetization: jax.Array

    def kinetic_energy(self, kx, ky):
        return C_KIN * (kx * kx + ky * ky)

    def field(self, kx, ky):
        m = self.magnetization
        return self.alpha * ky - self.j_ex * m[0], -self.alpha * kx - self.j_ex * m[1], -self.j_ex * m[2] + 0.0 * kx

    def spin_orbit_field(self, kx, ky):
        return self.alpha * ky, -self.alpha * kx, 0.0 * kx

    @property
    def mass(self):
        return HBAR**2 / (2 * C_KIN) + 0.0 * self.alpha


def test_rashba_spin_force_is_the_papers_hessian_product_bit_for_bit():
    model = jaxsot.RashbaFerromagnet(ALPHA, J_EX, M_DIR)
    f = -EFIELD  # hbar k' = qE

    def papers(k, s):
        def gradient(q):
            return jax.grad(lambda p: s * jaxsot.kernels.splitting(model, p[0], p[1]))(q)

        _, h = jax.jvp(gradient, (k,), (jnp.asarray(f),))
        return model.mass / HBAR**2 * h

    for s in (-1, 1):
        got = np.asarray(jaxsot.spin_force(model, K, s, EFIELD))
        want = np.asarray(jax.vmap(lambda k: papers(k, float(s)))(jnp.asarray(K)))
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
        # m times the anomalous acceleration: the same force.
        np.testing.assert_allclose(got, float(model.mass) * np.asarray(jaxsot.anomalous_acceleration(model, K, s, EFIELD)), rtol=1e-13)


def test_the_generic_path_reproduces_the_rashba_force():
    rashba = jaxsot.RashbaFerromagnet(ALPHA, J_EX, M_DIR)
    plain = PlainRashba(jnp.asarray(ALPHA), jnp.asarray(J_EX), jnp.asarray(M_DIR))
    for s in (-1, 1):
        np.testing.assert_allclose(jaxsot.spin_force(plain, K, s, EFIELD), jaxsot.spin_force(rashba, K, s, EFIELD), rtol=1e-12)

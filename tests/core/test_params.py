"""Named model parameters: replace_parameters against models built anew by their constructors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsot


def _lower_energy(model, k=(0.3, -0.2)):
    h0 = model.kinetic_energy(*k)
    b = jnp.stack(model.field(*k))
    return h0 - jnp.linalg.norm(b)


def test_names_of_the_shipped_models():
    m = (1.0, 0.0, 0.0)
    assert jaxsot.parameter_names(jaxsot.RashbaFerromagnet(0.1, 0.5, m)) == ("alpha", "j_ex", "mass_ratio")
    assert jaxsot.parameter_names(jaxsot.TISurfaceFerromagnet(0.3, 0.05, m, kinetic=0.2)) == ("hbar_v", "j_ex", "kinetic")
    # A massless cone stays massless: kinetic is not a parameter there.
    assert jaxsot.parameter_names(jaxsot.TISurfaceFerromagnet(0.3, 0.05, m)) == ("hbar_v", "j_ex")
    assert set(jaxsot.parameter_names(jaxsot.SquareLatticeRashbaFerromagnet(0.5, 0.4, 0.1, 0.2, m))) == {"t", "a", "lam", "j_ex"}


@pytest.mark.parametrize(
    "build, name, value",
    [
        (lambda **p: jaxsot.RashbaFerromagnet(**{"alpha": 0.1, "j_ex": 0.5, "magnetization": (0.6, 0.0, 0.8), **p}), "alpha", 0.23),
        (lambda **p: jaxsot.TISurfaceFerromagnet(**{"hbar_v": 0.3, "j_ex": 0.05, "magnetization": (0.6, 0.0, 0.8), "kinetic": 0.2, **p}), "hbar_v", 0.41),
        (lambda **p: jaxsot.SquareLatticeRashbaFerromagnet(**{"t": 0.5, "a": 0.4, "lam": 0.1, "j_ex": 0.2, "magnetization": (0.6, 0.0, 0.8), **p}), "lam", 0.07),
    ],
)
def test_replace_matches_a_new_model_and_differentiates(build, name, value):
    model = build()
    replaced = jaxsot.replace_parameters(model, **{name: value})
    assert float(_lower_energy(replaced)) == pytest.approx(float(_lower_energy(build(**{name: value}))), rel=1e-14)
    assert float(jaxsot.model_parameters(replaced)[name]) == value
    # d eps / d parameter through replace_parameters vs a central difference of constructed models
    grad = jax.grad(lambda x: _lower_energy(jaxsot.replace_parameters(model, **{name: x})))(value)
    h = 1e-6
    fd = (_lower_energy(build(**{name: value + h})) - _lower_energy(build(**{name: value - h}))) / (2 * h)
    np.testing.assert_allclose(float(grad), float(fd), rtol=1e-7)


def test_replace_refuses_unknown_names_and_arrays():
    model = jaxsot.RashbaFerromagnet(0.1, 0.5, (0, 0, 1))
    with pytest.raises(ValueError, match="hbar_v is not a parameter of RashbaFerromagnet; allowed: alpha, j_ex, mass_ratio"):
        jaxsot.replace_parameters(model, hbar_v=0.3)
    with pytest.raises(ValueError, match=r"alpha has shape \(2,\)"):
        jaxsot.replace_parameters(model, alpha=jnp.ones(2))
    with pytest.raises(ValueError, match="allowed: a jaxsot.TwoBandModel"):
        jaxsot.parameter_names("rashba")

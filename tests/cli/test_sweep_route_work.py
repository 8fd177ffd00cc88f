"""[limits] max_state_steps of a sweep of another kind counts the states of the route each point takes:
a mesh-route point (the square-lattice model: always the mesh) evaluates ~100x the ray route's states,
and a sweep whose mesh points exceed the limit is refused before any work, naming the limit, the
estimate and the route; the estimate equals the states the library's mesh gives each point.
"""

import re

import jax.numpy as jnp
import pytest

import jaxsot
from jaxsot.cli._config import ConfigError, parse_sweep_config
from jaxsot.cli._sweep_kinds import default_kind_sweep_toml
from jaxsot.cli._sweep_kinds_work import plan_kind_sweep

# Slow tier: mesh-route sweep points compiled (~12 s wall cold).
pytestmark = pytest.mark.slow

# Two points (lam_eV = 0.05, 0.1) x [time] num_steps = 3; the ray route's count would be 2 x 192 x 3 = 1152.
SQUARE = default_kind_sweep_toml("square-lattice")


def _mesh_states(lam):
    """States per time step that `jaxsot.simulate` evaluates for one point (its `num_states`: sea nodes +
    Fermi-line nodes at the shift nodes), as the sweep computes it (route auto, default mesh)."""
    model = jaxsot.SquareLatticeRashbaFerromagnet(1.0, 0.4, lam, 0.3, jnp.asarray([0.0, 0.0, 1.0])).astype(jnp.float64)
    drive = jaxsot.StepDrive(jnp.asarray([1e-4, 0.0], jnp.float64))
    result = jaxsot.simulate(model, jnp.asarray(0.5, jnp.float64), drive, jnp.linspace(0.0, 20.0, 2), tau=10.0,
                             num_phi=16, num_r=4, observables=["damping_torque"], approximations=["exact"])
    assert result.route == "mesh"
    return result.num_states


def _with_limit(limit: str) -> str:
    text, count = re.subn(r"max_state_steps = \S+", f"max_state_steps = {limit}", SQUARE)
    assert count == 1
    return text


def test_mesh_points_above_the_limit_are_refused_before_any_work_naming_limit_estimate_and_route(run_cli, tmp_path):
    (tmp_path / "sq.toml").write_text(_with_limit("1.0e4"))  # above the ray-route count (1152), below the mesh's
    done = run_cli("sweep", "sq.toml", "--out", "o", "--no-progress", cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    states = [_mesh_states(0.05), _mesh_states(0.1)]
    assert min(states) > 50 * 192, states  # the mesh route's ~100x
    for part in ("0 ray-route points x 192 states", f"2 mesh-route points x ~{sum(states) / 2:.0f} states",
                 "counted on 2 of them", "[time] num_steps = 3", f"= {sum(states) * 3:.3g} state-steps",
                 "above [limits] max_state_steps = 1e+04", "allowed: fewer [sweep.parameters] values"):
        assert part in lines[0], (part, lines[0])
    assert not (tmp_path / "o").exists()  # nothing written: refused before any work


def test_mesh_points_below_the_limit_pass_although_their_static_bound_does_not():
    # The mesh's static size at the default budget (~1e6 states a point: 6e6 state-steps here) is an
    # upper bound; above the limit, the built meshes are counted (~1.2e5) and the sweep goes ahead.
    config = parse_sweep_config(_with_limit("1.0e6"), "sq")
    plan = plan_kind_sweep(config, "sq")
    assert plan.status.tolist() == [0, 0]
    with pytest.raises(ConfigError, match=r"2 mesh-route points x ~\d+ states .* above \[limits\] max_state_steps = 1e\+05"):
        plan_kind_sweep(parse_sweep_config(_with_limit("1.0e5"), "sq"), "sq")

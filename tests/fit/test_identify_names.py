"""The identifiability report in the model's names (jaxsot.fit._identify.analyze), against closed forms.

Whitened residuals built to depend on known log-combinations: the Gauss-Newton matrix in z = log x is
F = J_z^T J_z, and a combination c (exponents) has relative error sqrt(c^T F^+ c) when c is orthogonal to
the null space of F (inf otherwise), written out here with NumPy.
"""

import math

import numpy as np

from jaxsot.fit._identify import analyze


def test_j_tau_named_with_its_own_error_and_j_over_tau_undetermined():
    x = np.array([0.05, 1.3, 7.0])  # alpha, j_ex, tau
    rng = np.random.default_rng(0)
    w = rng.normal(size=(40, 2))
    # r depends on log(alpha) and log(j_ex tau) only.
    jz = np.stack([w[:, 0], w[:, 1], w[:, 1]], -1)
    out = analyze(jz / x[None, :], x, ["alpha", "j_ex", "tau"], np.ones(3, bool),
                  known=(({"j_ex": 1.0, "tau": 1.0}, "J tau"), ({"j_ex": 1.0, "tau": -1.0}, "J/tau")))
    physical = {d["label"]: d for d in out["physical"]}
    fisher = jz.T @ jz
    c = np.array([0.0, 1.0, 1.0])
    assert physical["J tau"]["combination"] == "j_ex tau" and physical["J tau"]["determined"]
    assert physical["J tau"]["value"] == math.prod([1.3, 7.0])
    assert abs(physical["J tau"]["relative_error"] - math.sqrt(c @ np.linalg.pinv(fisher) @ c)) < 1e-10
    assert not physical["J/tau"]["determined"] and math.isinf(physical["J/tau"]["relative_error"])


def test_determined_only_below_the_threshold_as_printed():
    """A direction (1, -1)/sqrt 2 with std 0.45 of the unit vector prints as alpha tau^-1 with relative error
    0.45 sqrt 2 = 0.64 > 0.5: not determined (it was labelled determined when judged on the unit vector)."""
    x = np.array([0.05, 7.0])
    u1, u2 = np.array([1.0, 1.0]) / math.sqrt(2), np.array([1.0, -1.0]) / math.sqrt(2)
    jz = np.stack([10.0 * u1, u2 / 0.45])
    out = analyze(jz / x[None, :], x, ["alpha", "tau"], np.ones(2, bool))
    weak = [d for d in out["directions"] if d["combination"] == "alpha tau^-1"][0]
    assert abs(weak["relative_error"] - 0.45 * math.sqrt(2)) < 1e-9 and not weak["determined"]
    strong = [d for d in out["directions"] if d["combination"] == "alpha tau"][0]
    assert strong["determined"] and abs(strong["relative_error"] - 0.1 * math.sqrt(2)) < 1e-9


def test_one_exponent_format_per_combination():
    x = np.array([0.05, 1.3, 7.0])
    v = np.array([1.0, 0.5, -1.37])  # 1/2 is rational, 1.37 is not: all decimals
    jz = np.outer(np.ones(3), v) + np.diag([1e-9, 1e-9, 1e-9])
    out = analyze(jz / x[None, :], x, ["alpha", "j_ex", "tau"], np.ones(3, bool))
    text = out["directions"][0]["combination"]
    assert "/" not in text and "^" in text and "." in text, text

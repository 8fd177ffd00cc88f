"""The shipped models with the parameters of the tests (tests/README.md, "Shipped models") and their
independent NumPy Hamiltonians (model_references.py). The test files import these by name (a
`conftest.py` here would share its module name with the suite's own conftest)."""

import functools
import math
from typing import NamedTuple

import numpy as np
import pytest

import jaxsot
import model_references as ref

M_GENERAL = np.array([math.sin(1.0) * math.cos(0.5), math.sin(1.0) * math.sin(0.5), math.cos(1.0)])
M_IN_PLANE = np.array([math.cos(0.3), math.sin(0.3), 0.0])
A_TRI = 0.35  # nm
TRIANGULAR = np.array([[A_TRI, 0.0], [0.5 * A_TRI, math.sqrt(3.0) / 2 * A_TRI]])


def triangular_hoppings(t=0.4, lam=0.08, t2=0.05, phase=0.7, zeeman=0.03):
    """Nearest neighbours -t + i lam (z x R^).sigma, a complex spin-flip third neighbour 2 a1, an on-site field."""
    hoppings = {(0, 0): zeeman * ref.SIGMA[2] + 0.1 * ref.IDENTITY}
    lattice = TRIANGULAR
    for cell in [(1, 0), (0, 1), (-1, 1)]:
        for sign in (1, -1):
            n = (sign * cell[0], sign * cell[1])
            r = n[0] * lattice[0] + n[1] * lattice[1]
            rhat = r / np.linalg.norm(r)
            so = np.array([-rhat[1], rhat[0], 0.0])  # z x R^
            hoppings[n] = -t * ref.IDENTITY + 1j * lam * ref.pauli(so)
    far = t2 * np.exp(1j * phase) * ref.IDENTITY + 0.02 * (1 + 0.5j) * ref.SIGMA[0]
    hoppings[(2, 0)] = far
    hoppings[(-2, 0)] = far.conj().T
    return hoppings


class Case(NamedTuple):
    name: str
    model: object
    hamiltonian: object  # k -> 2x2 complex H(k), NumPy
    lattice: object  # (2, 2) rows a1, a2, or None


def _cases():
    cases = [
        Case("ti", jaxsot.TISurfaceFerromagnet(0.33, 0.05, M_GENERAL, kinetic=0.08),
             functools.partial(ref.ti_hamiltonian, hbar_v=0.33, j_ex=0.05, m=M_GENERAL, kinetic=0.08), None),
        Case("ti_massless", jaxsot.TISurfaceFerromagnet(0.33, 0.05, M_GENERAL),
             functools.partial(ref.ti_hamiltonian, hbar_v=0.33, j_ex=0.05, m=M_GENERAL, kinetic=0.0), None),
        Case("rd", jaxsot.RashbaDresselhausFerromagnet(0.05, 0.02, 0.5, M_GENERAL, mass_ratio=0.8),
             functools.partial(ref.rd_hamiltonian, alpha=0.05, beta=0.02, j_ex=0.5, m=M_GENERAL, mass_ratio=0.8), None),
        Case("square", jaxsot.SquareLatticeRashbaFerromagnet(0.5, 0.4, 0.1, 0.2, M_GENERAL),
             functools.partial(ref.square_hamiltonian, t=0.5, a=0.4, lam=0.1, j_ex=0.2, m=M_GENERAL), 0.4 * np.eye(2)),
        Case("triangular", jaxsot.TightBindingModel.from_hoppings(TRIANGULAR, triangular_hoppings(), j_ex=0.15, magnetization=M_GENERAL),
             functools.partial(ref.bloch_hamiltonian, lattice=TRIANGULAR, hoppings=triangular_hoppings(), j_ex=0.15, m=M_GENERAL), TRIANGULAR),
    ]
    return {case.name: case for case in cases}


CASES = _cases()


@pytest.fixture(params=sorted(CASES))
def case(request):
    return CASES[request.param]

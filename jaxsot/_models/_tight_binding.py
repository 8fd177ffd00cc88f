"""A two-band model from real-space hoppings of one spinful orbital on any 2D Bravais lattice."""

import numbers

import equinox as eqx
import jax.numpy as jnp
import numpy as onp
from jaxtyping import Array, Float
from .._core._checks import check_real_scalar, is_concrete, unit_vector
from .._core._model import TwoBandModel
from ..constants import HBAR

HERMITICITY_TOLERANCE = 1e-10
"""|H(-R) - H(R)^dagger| allowed, relative to the largest hopping (Wannier data is rounded)."""

_PAULI = onp.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def _cell(key):
    if (
        not isinstance(key, tuple)
        or len(key) != 2
        or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in key)
    ):
        raise ValueError(f"hoppings key {key!r} is not a lattice vector; allowed: a pair of integers (n1, n2), R = n1 a1 + n2 a2")
    return int(key[0]), int(key[1])


def _traced(name, value):
    if not is_concrete(value):
        raise ValueError(
            f"{name} is traced (inside jit, grad or vmap); allowed: concrete values (the hermiticity check needs "
            "them): build the model outside the transformation and differentiate through its fields "
            "(cos_energy, sin_energy, cos_field, sin_field, lattice, j_ex, magnetization)"
        )


def _matrix(key, value):
    _traced(f"hoppings[{key}]", value)
    try:
        matrix = onp.asarray(value, dtype=complex)
    except (TypeError, ValueError):
        raise ValueError(f"hoppings[{key}] = {value!r} is not a 2x2 matrix of numbers; allowed: a (2, 2) complex array [eV]") from None
    if matrix.shape != (2, 2):
        raise ValueError(f"hoppings[{key}] has shape {matrix.shape}; allowed: (2, 2) [eV]")
    if not onp.all(onp.isfinite(matrix)):
        raise ValueError(f"hoppings[{key}] = {matrix.tolist()} is not finite; allowed: finite numbers [eV]")
    return matrix


def _lattice(lattice_vectors):
    _traced("lattice_vectors", lattice_vectors)
    try:
        lattice = onp.asarray(lattice_vectors)
    except (TypeError, ValueError):
        raise ValueError(f"lattice_vectors = {lattice_vectors!r} is not a (2, 2) array of numbers; allowed: rows a1, a2 [nm]") from None
    if lattice.shape != (2, 2) or not (onp.issubdtype(lattice.dtype, onp.floating) or onp.issubdtype(lattice.dtype, onp.integer)):
        raise ValueError(f"lattice_vectors has shape {lattice.shape} and dtype {lattice.dtype}; allowed: a real (2, 2) array, rows a1, a2 [nm]")
    if not onp.all(onp.isfinite(lattice)):
        raise ValueError(f"lattice_vectors = {lattice.tolist()} is not finite; allowed: finite numbers [nm]")
    lengths = onp.linalg.norm(lattice.astype(float), axis=1)
    area = abs(float(onp.linalg.det(lattice.astype(float))))
    if not area > 1e-12 * float(lengths.prod()):
        raise ValueError(
            f"lattice_vectors = {lattice.tolist()} are (nearly) parallel or zero (cell area {area:.3g} nm^2); "
            "allowed: two linearly independent rows a1, a2 [nm]"
        )
    return lattice


class TightBindingModel(TwoBandModel):
    """One spinful orbital on a 2D Bravais lattice: H(k) = sum_R H(R) e^{i k.R} - J M.sigma.

    R = n1 a1 + n2 a2 runs over the lattice vectors given as keys (n1, n2) of `hoppings`; each
    H(R) is a 2x2 complex matrix [eV] in spin space (the real-space Hamiltonian <0, s|H|R, s'>,
    as from Wannier-type data, with R = (0, 0) the on-site term) and hermiticity of H(k) requires
    H(-R) = H(R)^dagger. Writing H(R) = e_R 1 + d_R.sigma, the model is

        eps0(k) = sum_R e_R e^{i k.R},   b(k) = sum_R d_R e^{i k.R} - J M,

    both real. The k-dependent part (R != 0) is the spin-orbit field B_so; the k-independent part
    d_0 - J M is the exchange field. Every quantity is periodic under the reciprocal lattice
    (`lattice_vectors`, rows a1, a2).

    Build it with `TightBindingModel.from_hoppings` (the same arguments). An immutable pytree,
    differentiable in its fields: `lattice` (2, 2) [nm]; the stored coefficients of one R of each
    pair +-R (`cells`, static), eps0(k) = onsite_energy + sum (cos_energy cos k.R + sin_energy sin k.R)
    and B_so(k) = sum (cos_field cos k.R + sin_field sin k.R) (shapes (n,) and (n, 3) [eV]);
    `onsite_field` (3,) [eV]; `j_ex`; `magnetization`. The hoppings themselves must be concrete.

    Args:
        lattice_vectors: primitive vectors as rows, shape (2, 2) [nm], linearly independent.
        hoppings: {(n1, n2): 2x2 complex matrix [eV]}, with (-n1, -n2) present for every (n1, n2)
            and H(-R) = H(R)^dagger (to HERMITICITY_TOLERANCE times the largest entry).
        j_ex: exchange coupling J [eV], >= 0 (default 0: no exchange beyond the on-site term).
        magnetization: direction M, shape (3,); normalized here (it must not be zero). Default +z.

    Raises:
        ValueError: for a key that is not a pair of integers, a value that is not a finite 2x2
            matrix, a missing partner -R, H(-R) != H(R)^dagger (naming R and the mismatch), a
            non-hermitian on-site matrix, degenerate lattice vectors, traced hoppings or lattice
            vectors, or j_ex / magnetization out of range.
    """

    lattice: Float[Array, "2 2"]
    onsite_energy: Float[Array, ""]
    onsite_field: Float[Array, "3"]
    cos_energy: Float[Array, " n"]
    sin_energy: Float[Array, " n"]
    cos_field: Float[Array, "n 3"]
    sin_field: Float[Array, "n 3"]
    j_ex: Float[Array, ""]
    magnetization: Float[Array, "3"]
    cells: tuple = eqx.field(static=True)

    def __init__(self, lattice_vectors, hoppings, j_ex=0.0, magnetization=(0.0, 0.0, 1.0)):
        lattice = _lattice(lattice_vectors)
        j_ex = check_real_scalar("j_ex", j_ex, low=0.0, unit="eV")
        if not isinstance(hoppings, dict) or not hoppings:
            raise ValueError(f"hoppings = {hoppings!r} is not a non-empty dict; allowed: {{(n1, n2): 2x2 matrix [eV]}}")
        matrices = {}
        for key, value in hoppings.items():
            cell = _cell(key)
            if cell in matrices:
                raise ValueError(f"hoppings key {key!r} appears twice; allowed: each lattice vector (n1, n2) once")
            matrices[cell] = _matrix(cell, value)
        scale = max(float(onp.max(onp.abs(m))) for m in matrices.values())
        tolerance = HERMITICITY_TOLERANCE * max(scale, 1e-300)
        half = []
        for cell, matrix in matrices.items():
            partner = (-cell[0], -cell[1])
            if partner not in matrices:
                raise ValueError(
                    f"hoppings has R = {cell} but not -R = {partner}; allowed: both, with H(-R) = H(R)^dagger "
                    "(hermitian H(k))"
                )
            mismatch = float(onp.max(onp.abs(matrices[partner] - matrix.conj().T)))
            if mismatch > tolerance:
                what = "the on-site matrix H(0) is not hermitian" if cell == (0, 0) else f"H(-R) != H(R)^dagger for R = {cell}"
                raise ValueError(
                    f"hoppings: {what} (largest difference {mismatch:.3g} eV, H(R) = {matrix.tolist()}, "
                    f"H(-R) = {matrices[partner].tolist()}); allowed: H(-R) = H(R)^dagger to "
                    f"{HERMITICITY_TOLERANCE:g} x the largest entry"
                )
            if cell > partner:  # one of each pair +-R (the on-site term separately)
                half.append(cell)
        onsite = matrices.get((0, 0), onp.zeros((2, 2), complex))
        onsite = 0.5 * (onsite + onsite.conj().T)

        def decompose(matrix):
            # H = e 1 + d.sigma: e = tr(H)/2, d_i = tr(H sigma_i)/2.
            return 0.5 * onp.trace(matrix), 0.5 * onp.einsum("ij,aji->a", matrix, _PAULI)

        # The pair R, -R adds e_R e^{ik.R} + conj(e_R) e^{-ik.R} = 2 Re(e_R) cos k.R - 2 Im(e_R) sin k.R.
        energies, fields = zip(*(decompose(0.5 * (matrices[c] + matrices[(-c[0], -c[1])].conj().T)) for c in half)) if half else ((), ())
        energies = onp.asarray(energies, complex).reshape(-1)
        fields = onp.asarray(fields, complex).reshape(-1, 3)
        e0, d0 = decompose(onsite)
        dtype = lattice.dtype if onp.issubdtype(lattice.dtype, onp.floating) else onp.float64
        self.lattice = jnp.asarray(lattice, dtype=dtype)
        self.onsite_energy = jnp.asarray(e0.real, dtype)
        self.onsite_field = jnp.asarray(d0.real, dtype)
        self.cos_energy = jnp.asarray(2.0 * energies.real, dtype)
        self.sin_energy = jnp.asarray(-2.0 * energies.imag, dtype)
        self.cos_field = jnp.asarray(2.0 * fields.real, dtype)
        self.sin_field = jnp.asarray(-2.0 * fields.imag, dtype)
        self.j_ex = jnp.asarray(j_ex)
        self.magnetization = unit_vector("magnetization", magnetization)
        self.cells = tuple(half)

    @classmethod
    def from_hoppings(cls, lattice_vectors, hoppings, j_ex=0.0, magnetization=(0.0, 0.0, 1.0)) -> "TightBindingModel":
        """Build the model from real-space hoppings (see the class: the same arguments and checks).

        Args:
            lattice_vectors: primitive vectors as rows, shape (2, 2) [nm].
            hoppings: {(n1, n2): 2x2 complex matrix [eV]}, H(-R) = H(R)^dagger.
            j_ex: exchange coupling J [eV], >= 0.
            magnetization: direction M, shape (3,) (normalized here).

        Returns:
            The `TightBindingModel`.
        """
        return cls(lattice_vectors, hoppings, j_ex, magnetization)

    @property
    def lattice_vectors(self) -> Float[Array, "2 2"]:
        """Primitive vectors a1, a2 as rows [nm], shape (2, 2)."""
        return self.lattice

    def _phases(self, kx, ky):
        """k.R for every stored R (one of each pair), shape k.shape + (n,)."""
        cells = jnp.asarray(self.cells, self.lattice.dtype).reshape(-1, 2)
        vectors = cells @ self.lattice  # R = n1 a1 + n2 a2, (n, 2) [nm]
        kx, ky = jnp.asarray(kx), jnp.asarray(ky)
        return kx[..., None] * vectors[:, 0] + ky[..., None] * vectors[:, 1]

    def kinetic_energy(self, kx, ky):
        """eps0(k) [eV] = e_0 + sum_R (2 Re e_R cos k.R - 2 Im e_R sin k.R)."""
        theta = self._phases(kx, ky)
        return self.onsite_energy + jnp.sum(self.cos_energy * jnp.cos(theta) + self.sin_energy * jnp.sin(theta), axis=-1)

    def spin_orbit_field(self, kx, ky):
        """B_so(k) = sum_{R != 0} d_R e^{i k.R} [eV] (3 scalars)."""
        theta = self._phases(kx, ky)
        cos, sin = jnp.cos(theta), jnp.sin(theta)
        return tuple(jnp.sum(self.cos_field[:, i] * cos + self.sin_field[:, i] * sin, axis=-1) for i in range(3))

    def exchange_field(self):
        """d_0 - J M [eV] (3 scalars), the k-independent part of b."""
        return tuple(self.onsite_field[i] - self.j_ex * self.magnetization[i] for i in range(3))

    def field(self, kx, ky):
        """b(k) = B_so(k) + d_0 - J M [eV] (3 scalars)."""
        return tuple(so + ex for so, ex in zip(self.spin_orbit_field(kx, ky), self.exchange_field()))

    def field_change(self, kx, ky, dkx, dky):
        """b(k + dk) - b(k) [eV] without cancellation: cos(x + d) - cos x = -2 sin(x + d/2) sin(d/2), etc."""
        theta = self._phases(kx, ky)
        delta = self._phases(dkx, dky)
        middle, half = theta + 0.5 * delta, jnp.sin(0.5 * delta)
        dcos, dsin = -2.0 * jnp.sin(middle) * half, 2.0 * jnp.cos(middle) * half
        return tuple(jnp.sum(self.cos_field[:, i] * dcos + self.sin_field[:, i] * dsin, axis=-1) for i in range(3))

    @property
    def mass(self) -> Float[Array, ""]:
        """Band mass of eps0 at k = 0, hbar^2 / (tr Hess eps0(0)/2) [eV fs^2/nm^2] (a reference value).

        Negative when eps0 has a maximum at k = 0. The spin force does not use it: it uses the local
        mass tensor hbar^2 [Hess eps0(k)]^-1 (docs: Theory > The spin force for any band shape).

        Raises:
            ValueError: when tr Hess eps0(0) = 0 (no curvature at k = 0).
        """
        cells = jnp.asarray(self.cells, self.lattice.dtype).reshape(-1, 2)
        vectors = cells @ self.lattice
        trace = -jnp.sum(self.cos_energy * jnp.sum(vectors * vectors, axis=-1))
        if is_concrete(trace) and float(trace) == 0.0:
            raise ValueError(
                "TightBindingModel: eps0 has no curvature at k = 0 (tr Hess eps0 = 0), so no band mass there; "
                "use jaxsot.spin_force (local mass tensor) or jaxsot.anomalous_acceleration"
            )
        return HBAR**2 / (0.5 * trace)

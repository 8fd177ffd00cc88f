"""Per-state kernels of a two-band Hamiltonian H = eps0(k) + b(k)·sigma: scalars in, scalars out.

Every function takes the model and one state in scalar components (kx, ky) and returns scalars.
Scalar components, not (2,)-vectors, keep XLA-CPU out of its slow fusion path for large ensembles
(docs: Benchmarks). Derivatives come from autodiff of one energy: velocity = grad(eps)/hbar and the
spin force is a Hessian-vector product of s*Omega (jax-md style). s is the band sign as a float
(+1 upper, -1 lower); k [1/nm]; f = hbar k' = qE [eV/nm].

The spin force of any band shape (docs: Theory > The spin force for any band shape): the anomalous
acceleration a_so = r'' - Hess(eps0) k'/hbar = Hess(s Omega) f/hbar^2 exists for every model; the spin
force is F_so = M0(k) a_so with M0 = hbar^2 [Hess eps0]^-1 the local mass tensor of eps0,
i.e. F_so = M0 r'' - hbar k'. For eps0 = hbar^2 k^2/2m (M0 = m I) it is the papers' m r'' - hbar k'.

This public module re-exports the per-state kernels of `jaxsot._bands._kernels` for custom
observables (`jaxsot.fermi_sea_sum`).
"""

from ._bands._kernels import exchange_field_components as exchange_field_components
from ._bands._kernels import splitting as splitting
from ._bands._kernels import energy as energy
from ._bands._kernels import spin as spin
from ._bands._kernels import velocity as velocity
from ._bands._kernels import spin_splitting_gradient as spin_splitting_gradient
from ._bands._kernels import has_parabolic_kinetic_energy as has_parabolic_kinetic_energy
from ._bands._kernels import kinetic_hessian as kinetic_hessian
from ._bands._kernels import spin_hessian_product as spin_hessian_product
from ._bands._kernels import anomalous_acceleration_components as anomalous_acceleration_components
from ._bands._kernels import spin_force_components as spin_force_components
from ._bands._kernels import spin_force_from_hessian_product as spin_force_from_hessian_product
from ._bands._kernels import spin_rate_components as spin_rate_components
from ._bands._kernels import spin_force_second_order_components as spin_force_second_order_components
from ._bands._kernels import spin_rate_second_order_components as spin_rate_second_order_components
from ._bands._kernels import field_like_torque_components as field_like_torque_components
from ._bands._kernels import spin_force_strong_exchange_components as spin_force_strong_exchange_components
from ._bands._kernels import damping_torque_strong_exchange_components as damping_torque_strong_exchange_components

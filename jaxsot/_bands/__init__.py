"""Single states: exact band energies, velocities, spins, spin forces and torques (autodiff of one energy)."""

from ._arrays import DEGENERACY_THRESHOLD as DEGENERACY_THRESHOLD
from ._arrays import accelerating_force as accelerating_force
from ._arrays import anomalous_acceleration as anomalous_acceleration
from ._arrays import band_energy as band_energy
from ._arrays import band_spin as band_spin
from ._arrays import band_velocity as band_velocity
from ._arrays import damping_torque as damping_torque
from ._arrays import damping_torque_from_spin_force as damping_torque_from_spin_force
from ._arrays import damping_torque_second_order as damping_torque_second_order
from ._arrays import damping_torque_strong_exchange as damping_torque_strong_exchange
from ._arrays import field_like_torque as field_like_torque
from ._arrays import spin_force as spin_force
from ._arrays import spin_force_second_order as spin_force_second_order
from ._arrays import spin_force_strong_exchange as spin_force_strong_exchange
from ._arrays import spin_splitting as spin_splitting

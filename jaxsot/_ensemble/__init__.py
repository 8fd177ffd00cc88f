"""Ensembles: Fermi-contour and Fermi-sea routes, transport (conductivity, AMR, Joule heating)."""

from ._routes import ensemble_damping_torque as ensemble_damping_torque
from ._routes import ensemble_spin_force as ensemble_spin_force
from ._routes import fermi_dirac as fermi_dirac
from ._transport import amr_ratio as amr_ratio
from ._transport import amr_strong_exchange as amr_strong_exchange
from ._transport import band_polarization as band_polarization
from ._transport import conductivity as conductivity
from ._transport import joule_heating as joule_heating
from ._transport import resistivity as resistivity

"""Physical constants and unit conversions: the one unit system of jaxsot.

Internal units are eV (energy), nm (length), fs (time), V/nm (electric field) and the
elementary charge e (charge). CODATA 2018 values, one release only.
Conversions to SI happen only at the boundaries (CLI input, files).
"""

import math

HBAR = 0.6582119569
"""Reduced Planck constant [eV fs]."""

HBAR2_OVER_2ME = 0.0380998212
"""hbar^2 / (2 m_e) [eV nm^2]."""

ELECTRON_MASS = HBAR * HBAR / (2.0 * HBAR2_OVER_2ME)
"""Free-electron mass m_e [eV fs^2 / nm^2] (= 5.6856301)."""

CARRIER_CHARGE = -1.0
"""Carrier charge q in units of e (electrons: q = -e, e > 0)."""

BOLTZMANN_EV_PER_K = 8.617333262e-5
"""Boltzmann constant [eV / K]."""

ELEMENTARY_CHARGE_C = 1.602176634e-19
"""Elementary charge [C], for SI output only."""

ELECTRON_MASS_KG = 9.1093837015e-31
"""Free-electron mass [kg], for SI conversions only."""

MU_B_EV_PER_T = 5.7883818060e-5
"""Bohr magneton [eV/T]."""

MU_B_J_PER_T = 9.2740100783e-24
"""Bohr magneton [J/T]."""

MU0 = 1.25663706212e-6
"""Vacuum permeability [T m/A]."""

G_ELECTRON = 2.00231930436
"""|g| of the free electron; gamma = g mu_B/hbar = 1.7609e-4 rad/(fs T) = 1.7609e11 rad/(s T)."""

# SI conversion factors (multiply an internal value to get SI).
V_PER_M_PER_V_PER_NM = 1.0e9
"""1 V/nm = 1e9 V/m."""

AMPERE_PER_M_PER_E_PER_FS_NM = ELEMENTARY_CHARGE_C / 1.0e-15 / 1.0e-9
"""A 2D current density of 1 e/(fs nm) in A/m (about 1.602e5)."""

J_PER_M2_PER_EV_PER_NM2 = ELEMENTARY_CHARGE_C / 1.0e-18
"""An areal energy density of 1 eV/nm^2 in J/m^2."""

WATT_PER_M2_PER_INTERNAL = ELEMENTARY_CHARGE_C / 1.0e-15 / 1.0e-18
"""Power per area: 1 eV/(nm^2 fs) = 1.602e14 W/m^2."""

EV_NM_PER_EV_ANGSTROM = 0.1
"""1 eV Angstrom = 0.1 eV nm (Rashba couplings are often quoted in eV Angstrom)."""

AREA_MEASURE = 1.0 / (2.0 * math.pi) ** 2
"""d^2k/(2 pi)^2: the measure of per-area sums over k [1/(2 pi)^2]; the bands are spin-split (no factor 2)."""

"""Macrospin Landau-Lifshitz-Gilbert dynamics driven by the Rashba electron ensemble (paper eq. 3/4/16).

Docs: Theory > Magnetization dynamics. The magnet is one unit vector M (its magnetization, i.e. the
direction of its magnetic moment); the conduction electrons are the Rashba ferromagnet of
`RashbaFerromagnet`, H = hbar^2 k^2/2m + alpha (k x z).sigma - J M.sigma, evaluated at the current M
(`SpinOrbitTorque`), or any `TwoBandModel` whose M is turned by its `with_magnetization` and whose
exchange field is -J M (`ModelTorque`: the exact-band torques below, J read by autodiff).

LLG (Gilbert form, paper eq. 3/4):

    dM/dt = -gamma M x B_0 + alpha_G M x dM/dt + T_SO,
    B_0 = B_ext + B_K (u.M) u - mu0 M_s (N M)              [T]  (external, uniaxial, shape anisotropy)

solved explicitly as dM/dt = (R + alpha_G M x R)/(1 + alpha_G^2), R = -gamma M x B_0 + T_SO.
gamma = g mu_B/hbar [rad/(fs T)]. Magnetic energy per area, E_0 = n_mu mu_B [-B_ext.M - (B_K/2)(u.M)^2
+ (mu0 M_s/2) M.N.M], n_mu = M_s d/mu_B the magnet's moment per area [mu_B/nm^2].

Electron spin density -> torque on the unit magnetization (derivation). Per area the electrons carry
spin angular momentum (hbar/2) S, S = sum <sigma> d^2k/(2 pi)^2 [1/nm^2]. Their exchange precession is
dS/dt|_ex = (2/hbar)(-J M) x S = -T, with the electron torque density T = (2J/hbar) M x S = T1 + T2
[1/(nm^2 fs)] (paper eq. 4-7: T1 = (2/hbar)<B_so x sigma>, T2 = -dS/dt). The magnet's
angular momentum per area is L = -(M_s d/gamma) M = -(hbar n_mu/g) M (moment antiparallel to angular
momentum, gamma > 0). Conservation of the total, dL/dt = -(hbar/2) dS/dt|_ex = (hbar/2) T, gives

    T_SO = dM/dt|_SO = -(g/(2 n_mu)) P_perp T = -kappa P_perp (T1 + T2),   kappa = g mu_B/(2 M_s d)  [nm^2]

(P_perp removes the part along M, which is higher order and would change |M|). The same follows from
the energy: -J M.S per area is an exchange field B_el = J S/(n_mu mu_B) on M, and -gamma M x B_el =
-kappa (2J/hbar) M x S. The papers add T to dM/dt with a + sign and no conversion, as if the magnet
were one electron spin ("Sign" below); tests/test_llg.py checks kappa by angular-momentum conservation.
Typical kappa: mu0 M_s = 1 T, d = 1 nm gives n_mu = 85.8 mu_B/nm^2 and kappa = 0.0117 nm^2.

The electron response at magnetization M (t >> tau, adiabatic: tau ~ 10 fs << magnet time scales):
- T1 (field-like): the steady shift Delta k = qE tau/hbar of the Fermi sea changes S by delta S;
  T1 = (2J/hbar) M x delta S. It is a field B_fl = J delta S/(n_mu mu_B) on M.
- T2 (damping-like, optional): each electron is accelerated by hbar k' = qE between collisions (the
  papers' dynamical state, eq. 9-14, and the intrinsic Kubo result, docs: Theory > Quantum check); T2 = -dS/dt of the
  sea accelerated by qE. (In the relaxed rigid-shift picture of section II, k' -> 0 and T2 vanishes in
  the steady state: set damping_like=False.) Disorder vertex corrections can cancel this intrinsic
  damping-like torque (spin-independent short-range scatterers); the model does not include them.
- method "exact": delta S and dS/dt are Fermi-contour fluxes of the exact bands, recomputed at every
  right-hand-side evaluation at the current M (num rays per occupied band).
- method "strong_exchange": closed forms (J >> alpha k_F), with n_p = n_lower - n_upper:
  delta S = -n_p (alpha/J) P_perp(Delta k x z), T2 = n_p (alpha/J) P_perp(k' x z) (paper eq. 14), so
  T1 is a constant field B_fl = -(alpha n_p/(n_mu mu_B)) (Delta k x z) (paper eq. A1) and
  T_SO = -gamma M x B_fl + a_J M x (M x p), p = (k' x z)/|k'|, a_J = kappa n_p (alpha/J) |k'|.

Sign. With H = -J M.sigma the conduction spins align with M; M being the magnetization, their
moments are antiparallel to the magnet's. Conservation then gives the minus sign above; the papers'
"+T" together with a dissipative "+gamma_G M x dM/dt" fits neither reading of M (as magnetization or
as spin direction) and is not used.

Not included: the drag of the equilibrium spin density S_eq(M) by a moving M (a T2 = -dS_eq/dt from
dM/dt, not from E), which would renormalize gamma and alpha_G by ~1/(1 - kappa n_p) (~5 % for the
defaults); measured gamma, M_s and alpha_G usually contain it. Nor the equilibrium (current-free)
torque (2J/hbar) M x S_eq, an electronic anisotropy that belongs to B_K.

Integration: diffrax Tsit5 with a PID controller on M (rtol, atol), M renormalized after every step
(`_Renormalized`); batches are vmapped in chunks; events (switching, stop criterion) are one real
condition located by bisection on the dense output.

Energy (paper eq. 15/16). With B_eff = B_0 + B_fl, -n_mu mu_B B_eff . dM/dt = P_G + P_DL exactly, with
P_G = -n_mu mu_B alpha_G B_eff.(M x dM/dt) (Gilbert, ~ -n_mu mu_B alpha_G gamma |M x B_eff|^2) and
P_DL = -n_mu mu_B B_eff.T_DL (damping-like), split into the papers' spin-force part (against B_fl) and
the part against B_0. In the strong-exchange limit B_fl is constant, E_mag = E_0 - n_mu mu_B B_fl.M is
the magnetic energy and dE_mag/dt = P_G + P_DL. Its spin-force part is
P_DL,fl = kappa J delta S . T2 = kappa n_p P_sf, P_sf = -p eta rho0 [(M.j)^2 + M_z^2 j^2] (per area) the
spin-force power on the current (`jaxsot.joule_heating`): the magnet's loss equals the extra Joule heat
-P_sf of eq. 17 times kappa n_p = g n_p/(2 n_mu), the ratio of the polarized electrons' angular momentum
to the magnet's. The papers' equality is the case kappa n_p = 1; the rest of the extra Joule heat is
supplied by the source (it exists for a fixed M: it is the AMR)."""

from ._energy import energy_transfer_check as energy_transfer_check
from ._magnet import Magnet as Magnet
from ._magnet import conventional_energy as conventional_energy
from ._magnet import conventional_field as conventional_field
from ._relaxation import drude_tau as drude_tau
from ._relaxation import transport_tau as transport_tau
from ._solver import WORK_COLUMNS as WORK_COLUMNS
from ._solver import LlgResult as LlgResult
from ._solver import llg_diagnostics as llg_diagnostics
from ._solver import simulate_llg as simulate_llg
from ._solver import strong_exchange_coefficients as strong_exchange_coefficients
from ._torque import ModelTorque as ModelTorque
from ._torque import SpinOrbitTorque as SpinOrbitTorque
from ._torque import electron_response as electron_response
from ._torque import exchange_torque as exchange_torque
from ._torque import exchange_coupling as exchange_coupling
from ._torque import llg_rates as llg_rates

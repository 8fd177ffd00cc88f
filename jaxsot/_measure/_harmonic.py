"""Harmonic Hall signals of a `Magnet` driven by the electrons of any model (object interface of `_hall.py`).

`harmonic_hall(magnet, torque, ...)` builds the `HallSettings` of the measurement from the magnet and the
torque source and evaluates the quasi-static signals: first order in the current (`_hall.hall_points`)
or at every order (`_quasistatic.all_orders_points`, `phases` given). The current-induced fields come
from the torque source: a `SpinOrbitTorque` (Rashba ferromagnet) takes the parameter route of
`harmonic_hall_forward` (so its results are those of the forward model); a `ModelTorque` (any
`TwoBandModel` with `with_magnetization`: exact bands) gives B_FL(M), B_DL(M) of its sea turned to each M
(`_fields.model_field_vectors`). The arrays are computed in the torque's floating dtype.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as onp

from .._core import check_finite, check_range, float_dtype, is_concrete
from .._llg import Magnet, ModelTorque, SpinOrbitTorque
from ._fields import model_field_vectors, moment_per_area
from ._hall import HallSettings, check_hall_params, hall_points, param_arrays, rashba_points
from ._quasistatic import all_orders_points, check_phases, rashba_all_orders

_READOUT = ("anisotropy_field", "r_ahe", "r_phe", "r_ane", "oersted_field", "r_ohe")


def _model_fields(settings):
    def fields(p, torque, m):
        return model_field_vectors(torque, m, moment_per_area(settings.ms_tesla, settings.thickness))

    return fields


@eqx.filter_jit
def _model_points(params, torque, settings):
    fields = _model_fields(settings)
    return hall_points(params, settings, lambda m: fields(params, torque, m))


@eqx.filter_jit
def _model_all_orders(params, torque, settings, phases):
    return all_orders_points(params, torque, _model_fields(settings), settings, phases)


model_all_orders = _model_all_orders
"""Every-order signals of a `ModelTorque` (readout params as arrays, `HallSettings`, phases): `synthesize_hall`'s route."""


def cast_floats(tree, dtype):
    """Every floating array of a pytree in `dtype` (integers, bools and static fields untouched)."""
    def cast(x):
        return x.astype(dtype) if eqx.is_array(x) and jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree_util.tree_map(cast, tree)


def harmonic_hall(
    magnet: Magnet,
    torque,
    rho0,
    phi_h,
    field,
    *,
    theta_h=math.pi / 2,
    r_ahe,
    r_phe=0.0,
    r_ane=0.0,
    oersted_field=0.0,
    r_ohe=0.0,
    r_ane_field=None,
    m_start=None,
    method=None,
    phases=None,
):
    """Harmonic Hall signals of `magnet` driven by the current of `torque`, for any electron model.

    Quasi-static macrospin and lock-in convention of `harmonic_hall_forward` (docs: Theory > Harmonic
    Hall signals); jit/grad-friendly in the floats of magnet and torque (eqx.filter_jit/filter_grad).

    Args:
        magnet: `jaxsot.Magnet` (ms_tesla, thickness, anisotropy_field, easy_axis, demag; its external_field
            is a constant bias added to the swept field; gilbert and g do not enter a stationary state).
        torque: the electron source, one instance: `jaxsot.SpinOrbitTorque` (Rashba ferromagnet) or
            `jaxsot.ModelTorque` (any TwoBandModel with `with_magnetization`, exact bands). Its efield is the
            amplitude E0 = rho0 j0, along +x (the Hall bar's current); its dtype is the computation's.
        rho0: resistivity [ohm m] (> 0; j0 = E0/rho0).
        phi_h: field azimuth from the current [rad], broadcast with field and theta_h to (N,).
        field: field magnitude B [T].
        theta_h: field polar angle from z [rad] (default pi/2: in-plane).
        r_ahe: anomalous Hall resistance [ohm].
        r_phe: planar Hall resistance [ohm].
        r_ane: thermal (anomalous Nernst) term at the drive amplitude [ohm].
        oersted_field: Oersted field along +y at the amplitude [T].
        r_ohe: ordinary Hall coefficient [ohm/T] (R_OHE B_z in R_1w).
        r_ane_field: optional field dependence of the thermal term [ohm/T]: R_ANE(B) = r_ane + r_ane_field |B_ext|
            (spin-Seebeck magnon suppression, usually < 0; None: field independent).
        m_start: (3,) or (N, 3) start of the energy descent (selects the branch of a hysteretic magnet).
        method: "exact" / "strong_exchange" (default: torque.method); a ModelTorque has "exact" only.
        phases: None for the first order in the current (`harmonic_hall_forward`), or the current phases
            per period K (a multiple of 4, >= 8) for every order (`harmonic_hall_all_orders`).

    Returns:
        HallSignals (phases None) or HallHarmonics (phases given).

    Raises:
        ValueError: a magnet or torque of another type, a batched torque, efield not along +x, rho0 <= 0,
            a method the model lacks, or phases not a multiple of 4 >= 8.
    """
    if not isinstance(magnet, Magnet):
        raise ValueError(f"magnet is a {type(magnet).__name__}; allowed: jaxsot.Magnet")
    if not isinstance(torque, (SpinOrbitTorque, ModelTorque)):
        raise ValueError(f"torque is a {type(torque).__name__}; allowed: jaxsot.SpinOrbitTorque or jaxsot.ModelTorque")
    general = isinstance(torque, ModelTorque)
    if general and method not in (None, "exact"):
        raise ValueError(
            f"method = {method!r}: the strong-exchange fields are closed forms of the Rashba ferromagnet; "
            f"torque.model = {type(torque.model).__name__} has none; allowed: 'exact'"
        )
    efield = jnp.asarray(torque.efield)
    if efield.shape != (2,):
        raise ValueError(f"torque.efield has shape {efield.shape}; allowed: (2,) (one instance)")
    batched = [name for name in ("fermi_energy", "tau") if jnp.ndim(getattr(torque, name)) != 0]
    if batched:
        raise ValueError(f"torque.{batched[0]} has batch dimensions; allowed: one instance (use jax.vmap for batches)")
    if is_concrete(efield):
        # NumPy: indexing a captured array inside jax.jit would trace it.
        e_x, e_y = (float(x) for x in onp.asarray(efield))
        if not (e_x > 0.0 and e_y == 0.0):
            raise ValueError(f"torque.efield = {[e_x, e_y]} V/nm; allowed: along +x (the Hall bar's current), E_x > 0, E_y = 0")
    check_range("rho0", rho0, low=0.0, low_inclusive=False, unit="ohm m")
    if phases is not None:
        phases = check_phases(phases)
    dtype = float_dtype(torque.tau, torque.efield)
    efield = efield.astype(dtype)
    phi_h, field, theta_h, rho0 = (jnp.asarray(x, dtype) for x in (phi_h, field, theta_h, rho0))
    settings = HallSettings(
        phi_h,
        field,
        theta_h=theta_h,
        fermi_energy=torque.fermi_energy,
        current_density=efield[0] * 1e9 / rho0,
        rho0=rho0,
        ms_tesla=magnet.ms_tesla,
        thickness=magnet.thickness,
        easy_axis=magnet.easy_axis,
        demag=magnet.demag,
        bias_field=magnet.external_field,
        m_start=m_start,
        model=method or torque.method,
        num=torque.num,
        bands=torque.bands,
        field_like=torque.field_like,
        damping_like=torque.damping_like,
    )
    readout = {"anisotropy_field": magnet.anisotropy_field, "r_ahe": r_ahe, "r_phe": r_phe, "r_ane": r_ane,
               "oersted_field": oersted_field, "r_ohe": r_ohe}
    thermal = {} if r_ane_field is None else {"r_ane_field": check_finite("r_ane_field", r_ane_field)}
    if general:
        for name in _READOUT:
            check_finite(name, readout[name])
        params = param_arrays({**readout, **thermal}, settings)
        torque = cast_floats(torque, dtype)
        return _model_points(params, torque, settings) if phases is None else _model_all_orders(params, torque, settings, phases)
    rashba = {"alpha": torque.alpha, "j_ex": torque.j_ex, "mass_ratio": torque.mass_ratio, "tau": torque.tau}
    params = param_arrays({**check_hall_params({**rashba, **readout}), **thermal}, settings)
    return rashba_points(params, settings) if phases is None else rashba_all_orders(params, settings, phases)


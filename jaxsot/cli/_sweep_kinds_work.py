"""`jaxsot sweep` with a [model] of another kind, the work: every point checked before any work
(`plan_kind_sweep`) and the chunks computed by `jaxsot.sweep.sweep_model(indices=...)`
(`compute_kind_chunk`). Apart from `_sweep_kinds` (names, units, defaults) so that the configuration
modules, which import that one, do not import the command's storage and preflight modules (no cycle).
"""

import math

from ._config_run import SHIFT_SUBSTEPS
from ._config_schema import ConfigError, named_errors
from ._model_config import model_kind
from ._sweep_kinds import KIND_APPROXIMATIONS, KIND_STATUS, sweep_keys


def check_kind_work(config, source: str) -> float:
    """The sizes' check of a sweep of another kind, without JAX (before jax.distributed.initialize):
    work with the ray route's states per point (a lower bound: `plan_kind_sweep` counts each point's
    route) and memory against [limits]. Returns the disk bytes the chunks and sweep.nc take."""
    from ._preflight import BASE_BYTES, SWEEP_BYTES_PER_POINT, SWEEP_BYTES_PER_VALUE, check_resources, sweep_size

    with named_errors(source):
        points, states, steps, stored = sweep_size(config)
        work = float(points) * states * steps
        memory = BASE_BYTES + points * (SWEEP_BYTES_PER_POINT + stored * SWEEP_BYTES_PER_VALUE)
        size = " x ".join(str(len(a.values)) for a in config.axes) if config.sweep.mode == "grid" else f"{points}"
        check_resources(
            work=work, memory=memory, max_state_steps=config.run.limits.max_state_steps,
            max_memory_gb=config.run.limits.max_memory_GB,
            work_text=f"{size} = {points} points x {states} states x [time] num_steps = {steps}",
            memory_text=f"{points} points x {stored} stored values",
            fix="fewer [sweep.parameters] values / num_points, a smaller [ensemble] num_phi / num_r or [time] num_steps",
        )
    return 2.0 * points * stored * 8.0


def plan_kind_sweep(config, source: str, precision: str = "float64"):
    """Resources (from the sizes, `check_kind_work`), then every point through the model's constructor
    checks and its Fermi sea (`jaxsot.occupied_bands`, in `precision`: the precision of the compute, so
    a point near a threshold is judged as it will be computed), before any work. Returns a `SweepPlan`
    whose points are {parameter name: (P,)} and whose status holds `KIND_STATUS` codes; a point that
    cannot be computed is refused ([sweep] on_invalid = "error") or given its code (on_invalid = "nan")."""
    import jax
    import jax.numpy as jnp
    import numpy as onp

    import jaxsot

    from .. import sweep as sweep_api
    from ._model_config import build_model
    from ._preflight import SweepPlan
    from ._sweep_store import sweep_points

    disk = check_kind_work(config, source)
    with named_errors(source):
        swept, shape = sweep_points(config)
        keys = sweep_keys(config.run.model)
        internal = {keys[k][0]: onp.asarray(v, onp.float64) * keys[k][3] for k, v in swept.items()}
        swept_angles = [a for a in ("theta", "phi") if a in internal]
        if len(swept_angles) == 1:
            # The other angle from the [model] table: recovered from M it would be lost at the poles
            # (theta = 0, every kind's default, has no azimuth).
            other = "phi" if swept_angles[0] == "theta" else "theta"
            degrees = getattr(config.run.model, f"{other}_deg", None)
            if degrees is not None:
                internal[other] = onp.full(onp.shape(internal[swept_angles[0]]), math.radians(degrees))
        # The checks evaluate the model in JAX: in the precision of the compute (a point near a
        # threshold judged in float32 could pass, or fail, unlike its float64 computation), set for
        # them alone (the process switches when the work starts, after every check).
        with jax.enable_x64(precision == "float64"):
            dtype = jnp.float64 if precision == "float64" else jnp.float32
            model = build_model(config.run.model, dtype)
            try:  # names, finite values, theta in [0, pi] (the config's ranges already hold: the one guard)
                sweep_api.model_points(model, internal)
            except ValueError as error:
                raise ConfigError(f"[sweep.parameters]: {error}") from None
            fixed_fermi = config.run.ensemble.fermi_energy_eV
            count = int(onp.prod(shape))
            status = onp.zeros(count, onp.int8)
            seen, distinct = {}, {}
            keys_of = []
            for i in range(count):
                values = {k: float(v[i]) for k, v in internal.items()}
                where = ", ".join(f"{k} = {swept[k][i]:g}" for k in swept)
                key = tuple(sorted(values.items()))
                keys_of.append(key)
                if key in seen:
                    status[i] = seen[key]
                    continue
                e_f = values.pop("fermi_energy", fixed_fermi)
                code, text = 0, ""
                try:
                    sweep_api.check_point(model, {k: v for k, v in values.items() if k not in ("theta", "phi")}, i)
                except ValueError as error:
                    code, text = 2, str(error).split("): ", 1)[-1]
                if not code:
                    try:
                        bands = jaxsot.occupied_bands(sweep_api.model_at_point(model, values, dtype), jnp.asarray(e_f, dtype))
                    except ValueError as error:  # finite values: no electrons is its only refusal here
                        code, text = 1, str(error)
                    else:
                        distinct[key] = (values, e_f, tuple(bands))
                status[i] = seen[key] = code
                if code and config.sweep.on_invalid == "error":
                    raise ConfigError(f"sweep point {i} ({where}) with [model] kind = {model_kind(config.run.model)!r} cannot be "
                                      f"computed: {text}; allowed: other values, or [sweep] on_invalid = \"nan\"")
        if not onp.any(status == 0):
            raise ConfigError(f"none of the {count} sweep points can be computed: {KIND_STATUS[int(status[0])]}")
        with jax.enable_x64(precision == "float64"):
            check_route_work(config, model, dtype, [keys_of[i] for i in onp.flatnonzero(status == 0)], distinct)
    return SweepPlan(swept, shape, internal, status, status == 0, disk=disk)


MESH_SAMPLES = 3
"""Mesh-route points whose states `check_route_work` counts by building their mesh (spread over the sweep)."""


def check_route_work(config, model, dtype, keys: list, distinct: dict) -> None:
    """Refuse a sweep whose work on the routes its points take exceeds [limits] max_state_steps.

    keys: the key of every point that will be computed (repeats included: each is computed); distinct:
    {key: (values, E_F, occupied bands)}. A ray-route point counts the ray route's states (both bands);
    a mesh-route point (~100x more) first its mesh's static size (`jax.eval_shape` of the mesh route at
    the default refinement budget: an upper bound while the budget suffices); when that bound exceeds
    the limit, the states of up to `MESH_SAMPLES` mesh points are counted on their built meshes (the
    compiled mesh program is the one their `simulate` reuses) and the others take the largest count."""
    import jax
    import jax.numpy as jnp

    import jaxsot

    from .. import sweep as sweep_api
    from .._dynamics._shift import SHIFT_NODES
    from .._fermi import _mesh
    from .._fermi._route import sea_ensemble
    from ._preflight import check_resources

    ensemble, steps, limit = config.run.ensemble, config.run.time.num_steps, config.run.limits.max_state_steps
    rays = sweep_api.states_per_point(ensemble.num_phi, ensemble.num_r)
    mesh = _mesh.check_mesh_options(None)  # the sweep's simulate uses the default mesh

    def at(key):  # (model, E_F, bands) of a point, built when needed (not kept for every point)
        values, e_f, bands = distinct[key]
        return sweep_api.model_at_point(model, values, dtype), jnp.asarray(e_f, dtype), bands

    routes = {key: jaxsot.fermi_sea_route(*at(key)[:2], bands=distinct[key][2]) for key in distinct}
    on_mesh = [k for k in keys if routes[k] == "mesh"]
    ray_work = float(len(keys) - len(on_mesh)) * rays * steps
    if not on_mesh:
        return  # the sizes' check (`check_kind_work`) counted these states already
    bounds = {}
    for key in dict.fromkeys(on_mesh):
        bands = distinct[key][2]
        if bands not in bounds:
            shapes = jax.eval_shape(lambda m, e, b=bands: _mesh.mesh_nodes(m, e, b, mesh, checked=False), *at(key)[:2])
            bounds[bands] = shapes[0][0].shape[0] + len(SHIFT_NODES) * shapes[1][0].shape[0]
    if ray_work + sum(bounds[distinct[k][2]] for k in on_mesh) * float(steps) <= limit:
        return
    names = list(dict.fromkeys(on_mesh))
    spread = MESH_SAMPLES - 1  # first, middle(s) and last distinct mesh point; all of them when there are few
    picks = range(len(names)) if len(names) <= MESH_SAMPLES else sorted({(j * (len(names) - 1)) // spread for j in range(MESH_SAMPLES)})
    counted = {}
    for j in picks:
        sea, contour, *_ = sea_ensemble(*at(names[j]), "mesh", mesh=mesh)
        counted[names[j]] = int(sea[0].shape[0]) + len(SHIFT_NODES) * int(contour[0].shape[0])
    largest = max(counted.values())
    mesh_states = sum(counted.get(k, largest) for k in on_mesh)
    check_resources(
        work=ray_work + float(mesh_states) * steps, memory=0.0, max_state_steps=limit, max_memory_gb=0.0,
        work_text=(f"{len(keys)} points to compute: {len(keys) - len(on_mesh)} ray-route points x {rays} states + {len(on_mesh)} mesh-route points "
                   f"x ~{mesh_states / len(on_mesh):.0f} states (the mesh route's nodes, counted on {len(counted)} of them, the others estimated by the largest) "
                   f"x [time] num_steps = {steps}"),
        memory_text="", fix="fewer [sweep.parameters] values / num_points (mesh-route points: lattice models, and seas the rays "
        "cannot describe) or [time] num_steps",
    )


def _not_computed(config, count: int, times) -> dict:
    """The stored arrays of `count` points that are not computed: NaN values, route -1 (shapes from the names)."""
    import numpy as onp

    from .. import sweep as sweep_api
    from ._sweep_kinds import stored_kind_names

    out = {}
    for name, (kind, observable, _) in stored_kind_names(config.observables).items():
        if name == "route":
            out[name] = onp.full(count, -1, onp.int8)
        elif kind == "series":
            components = len(sweep_api.SWEEP_OBSERVABLES[observable][1])
            out[name] = onp.full((count, times.shape[0], components), onp.nan, times.dtype)
        elif name != "status":  # the command adds the status codes
            out[name] = onp.full((count, 2) if name == "band_density" else (count,), onp.nan, times.dtype)
    return out


def compute_kind_chunk(config, plan, take, times, devices, meter) -> dict:
    """The points `take` (distinct indices) through `jaxsot.sweep.sweep_model`, with meter.update per
    point. Points with a nonzero `plan.status` are not computed: their values are NaN and their route
    -1. "num_states" is the total of states per time step the computed points evaluated (on the route
    that ran), for the state-steps figure."""
    import numpy as onp

    from .. import sweep as sweep_api
    from ._common import drive_from_options, tau_from_options
    from ._model_config import build_model

    valid = plan.status[take] == 0
    out = _not_computed(config, take.size, times)
    out["num_states"] = 0
    if not valid.any():
        meter.update(take.size, take.size)
        return out
    dtype = times.dtype
    model = build_model(config.run.model, dtype)
    drive, _ = drive_from_options(config.run.drive, dtype)
    computed = sweep_api.sweep_model(
        model, config.run.ensemble.fermi_energy_eV, drive, times, plan.points, tau=tau_from_options(config.run.relaxation),
        num_phi=config.run.ensemble.num_phi, num_r=config.run.ensemble.num_r, substeps=SHIFT_SUBSTEPS,
        observables=list(config.observables), approximations=list(KIND_APPROXIMATIONS), indices=take[valid],
        devices=tuple(devices), progress=meter.update,
    )
    if valid.all():
        return {**computed, "num_states": int(onp.sum(computed["num_states"]))}
    for name, value in out.items():
        if name != "num_states":
            value[valid] = computed[name]
    out["num_states"] = int(onp.sum(computed["num_states"]))
    return out

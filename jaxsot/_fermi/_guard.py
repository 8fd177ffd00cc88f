"""Traced guards and band-touching checks of the Fermi-sea routes.

`guard` attaches an `equinox.error_if` check to every output leaf; `band_touching_report` says in a
sentence when a band touching lies in or near an occupied sea.
"""

import equinox as eqx
import jax
from .._bands._touching import exchange_scale
from .._bands._touching_search import touching_report, unbounded_sea_error
from .._core._checks import is_concrete
from .._core._model import TwoBandModel


def guard(tree, predicate, message):
    """Every array leaf of `tree` with `equinox.error_if(leaf, predicate, message)` attached: whichever
    output a caller uses, the traced check runs (a check on one leaf alone is dropped with it)."""
    return jax.tree_util.tree_map(lambda leaf: eqx.error_if(leaf, predicate, message), tree)


def branched_guard(tree, predicate, index, messages):
    """`guard` with one of several messages, `messages[index]` (`equinox.branched_error_if`), so a traced
    check can name a range of the offending value."""
    return jax.tree_util.tree_map(lambda leaf: eqx.branched_error_if(leaf, predicate, index, messages), tree)


def band_touching_report(model: TwoBandModel, fermi_energy) -> str | None:
    """A sentence when a band touching point k* lies in or near an occupied Fermi sea, else None.

    The model's own touching points (`touching_points()` / `touching_point()`), else those found by
    a grid + Newton search of |b(k)| over the zone or the sea's bounding square. Near k* (Omega -> 0)
    velocities and spin forces diverge; per-band sea integrals become inaccurate even though the sum
    over both bands stays finite. Concrete inputs (also captured concrete values under jit).

    Args:
        model: any `TwoBandModel`.
        fermi_energy: E_F [eV] (scalar).

    Returns:
        A sentence naming the touching point k* [1/nm], Omega and eps there, or None when no
        touching lies in or near an occupied sea (also None under tracing).

    Raises:
        ValueError: a continuum model whose lower band's Fermi sea is unbounded (no region to search).
    """
    with jax.ensure_compile_time_eval():  # concrete inputs captured by a function under jit
        if is_concrete(model, fermi_energy):
            error = unbounded_sea_error(model, fermi_energy)
            if error is not None:
                raise error
        return touching_report(model, fermi_energy, exchange_scale(model))

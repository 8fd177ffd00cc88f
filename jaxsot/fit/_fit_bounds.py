"""The parameter box of `fit`: default bounds, and the host-side check that one band regime holds inside it."""

import math

from ._optimize import is_log_scale


def _box_failure(bands_of, fermi_energy, free, lower, upper, values, bands):
    """First corner of the box whose Fermi seas differ from `bands` or are unsupported: (point, message) or None.

    tau does not change the bands: only the corners in alpha, j_ex and mass_ratio are checked.
    """
    varied = [i for i, name in enumerate(free) if name != "tau"]
    for corner in range(2 ** len(varied)):
        point = dict(values)
        for bit, i in enumerate(varied):
            point[free[i]] = upper[i] if (corner >> bit) & 1 else lower[i]
        try:
            here = bands_of(point)
        except ValueError as error:
            return point, f"at the corner {_show_point(point, free)} of the parameter bounds: {error}"
        if here != bands:
            return point, (
                f"the occupied bands differ inside the parameter bounds ({bands} at the guess, {here} at "
                f"{_show_point(point, free)}, E_F = {fermi_energy:g} eV); allowed: bounds within one band regime "
                f"(narrow the bounds of {', '.join(n for n in free if n != 'tau')})"
            )
    return None


def _point_ok(bands_of, point, bands):
    try:
        return bands_of(point) == bands
    except ValueError:
        return False


def settle_box(bands_of, fermi_energy, free, lower, upper, given, values):
    """Check the box on the host; narrow the default (not given) sides that leave the guess's band regime.

    A failing corner is traced to the parameters whose move from the guess breaks it; only those
    sides are narrowed (geometrically towards the guess, in place).

    Args:
        bands_of: callable {name: value} -> the occupied bands there (raises ValueError where unsupported).
        fermi_energy: E_F [eV] (for the messages).
        free: names of the free parameters, in the order of `lower`, `upper`, `given`.
        lower: list of lower bounds, narrowed in place.
        upper: list of upper bounds, narrowed in place.
        given: list of bools, whether each bound pair was given by the caller (never narrowed).
        values: {name: value} the guess of every parameter.

    Returns:
        The occupied bands at the guess (the same at every corner of the settled box).

    Raises:
        ValueError: the guess is unsupported, or a given bound leaves the guess's band regime.
    """
    try:
        bands = bands_of(values)
    except ValueError as error:
        raise ValueError(f"at the guess {_show_point(values, free)}: {error}") from None
    for _ in range(60):
        failure = _box_failure(bands_of, fermi_energy, free, lower, upper, values, bands)
        if failure is None:
            return bands
        point, message = failure
        adjustable = [i for i, name in enumerate(free) if not given[i] and name != "tau" and point[name] != values[name]]
        if not adjustable:
            raise ValueError(message)
        culprits = [i for i in adjustable if _point_ok(bands_of, {**point, free[i]: values[free[i]]}, bands)]
        for i in culprits or adjustable:
            g = values[free[i]]
            side = 0 if point[free[i]] == lower[i] else 1
            bound = (lower, upper)[side]
            if is_log_scale(lower[i], upper[i]):
                bound[i] = math.copysign(math.sqrt(bound[i] * g), g)
            else:
                bound[i] = 0.5 * (bound[i] + g)
    raise ValueError(message)


def _show_point(point, names):
    return "(" + ", ".join(f"{n} = {point[n]:.4g}" for n in names) + ")"


def default_bounds(name, guess) -> tuple:
    """The default bounds of a free parameter: guess/3 .. 3 guess (tau: guess/10 .. 10 guess).

    Args:
        name: parameter name.
        guess: its starting value (non-zero) [the parameter's unit].

    Returns:
        (lower, upper), sorted.
    """
    if guess == 0.0:
        raise ValueError(f"guess for {name!r} is 0: the default bounds (guess/3 .. 3 guess) are empty; allowed: give bounds={{{name!r}: (lower, upper)}}")
    factor = 10.0 if name == "tau" else 3.0
    return tuple(sorted((guess / factor, guess * factor)))


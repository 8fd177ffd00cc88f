"""The printed end of every fit (curves, harmonic Hall, ST-FMR): one report for every data kind."""


def print_fit_report(result, caught) -> None:
    """The printed end of a fit: the summary, its notes, and warnings other than the fit's own."""
    from ..fit import FitWarning
    from ._progress import say

    print()
    print(result.summary())
    for note in result.notes:
        say(f"note: {note}")
    for w in caught:
        if not issubclass(w.category, FitWarning):
            say(f"warning: {w.message}")

"""Shared helpers of the fuzz suite (see conftest.py): in-process CLI calls, outcome tallies, assertions."""

import collections
import contextlib
import io

OUTCOMES = collections.Counter()


class Accepted(BaseException):
    """Raised where a command would start computing (not an Exception: the CLI must not catch it)."""


def accept(*args, **kwargs):
    raise Accepted


class Cli:
    """Call `jaxsot.cli.main` in-process; the result is ("accepted", []) or (exit status, stderr lines)."""

    def __call__(self, *argv, suite: str = "cli"):
        from jaxsot.cli import main

        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                status = main([str(a) for a in argv])
            except Accepted:
                OUTCOMES[(suite, "accepted (stopped before the work)")] += 1
                return "accepted", []
            except SystemExit as exit_:
                status = exit_.code
        lines = err.getvalue().strip().splitlines()
        OUTCOMES[(suite, f"exit {status}")] += 1
        return status, lines


def record(suite: str, outcome: str) -> None:
    """Count an outcome of a library-level case."""
    OUTCOMES[(suite, outcome)] += 1


def assert_one_line_error(status, lines, *fragments):
    """Exit 2 with exactly one line `jaxsot: error: ...` that contains every fragment."""
    assert status == 2, (status, lines)
    assert len(lines) == 1 and lines[0].startswith("jaxsot: error: "), lines
    assert "Traceback" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])



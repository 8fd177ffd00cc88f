"""Helpers of the fuzz suite: the CLI called in-process, stopped where its computation would start.

Every command checks all of its input before it switches JAX's precision (`set_precision`), the
first step of the actual work. The `cli` fixture replaces that step with an `Accepted` exception,
so an accepted input costs no compilation and a refused one must have been refused before any
work. Outcomes are tallied per suite and printed at the end of the session (tests/README.md).
"""

import pytest

from fuzz_helpers import OUTCOMES, Cli, accept


@pytest.fixture(scope="module")
def cli():
    """The in-process CLI with every command stopped before its work (see the module docstring);
    module-scoped, so that the commands are whole again for the test files that follow."""
    import jaxsot.cli.fit
    import jaxsot.cli.llg
    import jaxsot.cli.run
    import jaxsot.cli.sweep
    import jaxsot.cli.validate

    patch = pytest.MonkeyPatch()
    for module in (jaxsot.cli.run, jaxsot.cli.sweep, jaxsot.cli.llg, jaxsot.cli.validate, jaxsot.cli.fit):
        patch.setattr(module, "set_precision", accept)
    for module in (jaxsot.cli.run, jaxsot.cli.sweep):  # it would set XLA_FLAGS for the whole test session
        patch.setattr(module, "use_cpu_cores_as_devices", lambda: None)
    yield Cli()
    patch.undo()


def pytest_terminal_summary(terminalreporter):
    if not OUTCOMES:
        return
    terminalreporter.section("fuzz outcomes")
    for suite in sorted({s for s, _ in OUTCOMES}):
        parts = ", ".join(f"{outcome}: {count}" for (s, outcome), count in sorted(OUTCOMES.items()) if s == suite)
        total = sum(count for (s, _), count in OUTCOMES.items() if s == suite)
        terminalreporter.write_line(f"{suite}: {total} cases ({parts})")

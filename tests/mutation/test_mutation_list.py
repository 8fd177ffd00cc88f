"""The curated mutations still apply: each planted text occurs exactly once in its source file.

run_mutations.py reports a mutation whose text has moved as "stale" and runs nothing for it, so a
refactor would silently shrink the mutation table; this check fails instead.
"""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _mutations():
    spec = importlib.util.spec_from_file_location("run_mutations", ROOT / "tests" / "mutation" / "run_mutations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MUTATIONS


def test_every_mutation_text_occurs_once_in_its_file():
    stale = [
        f"{m.name}: {m.path} has {(ROOT / m.path).read_text().count(m.old)} copies of {m.old!r}"
        for m in _mutations()
        if (ROOT / m.path).read_text().count(m.old) != 1
    ]
    assert not stale, "\n".join(stale)


def test_every_mutation_changes_its_text_and_names_existing_tests():
    for m in _mutations():
        assert m.new != m.old, m.name
        assert (ROOT / m.tests[0]).is_file(), f"{m.name}: {m.tests[0]} does not exist"

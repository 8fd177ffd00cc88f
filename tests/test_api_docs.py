"""The API reference's parameter tables are complete.

The API pages render each `::: jaxsot.NAME` entry with mkdocstrings from the Google-style docstring.
A parameter that is missing from the docstring's `Args:` section, or packed into a neighbour's entry
("k: (..., 2); efield: (2,)"), is missing from the rendered table. This test loads the package with
griffe (the loader mkdocstrings uses, with the same extension and docstring style as mkdocs.yml) and
checks that every parameter of every public callable documented in docs/api/*.md has its own entry
with a non-empty description. Classes are checked against the parameters of their constructor (for
equinox modules, their fields), documented under `Args:` or `Attributes:`.
"""

import logging
import pathlib
import re
import sys

import pytest

griffe = pytest.importorskip("griffe")

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_ENTRY = re.compile(r"^::: (?P<name>[\w.]+)", re.MULTILINE)

# Public callables whose docstrings still pack several parameters into one entry, in modules that
# were being rewritten on other branches when the check was introduced. Each entry is removed once
# its docstring has one entry per parameter (the test fails on a stale entry, so the list only
# shrinks).
KNOWN_INCOMPLETE = frozenset({
})


def _entries():
    pages = sorted((DOCS / "api").glob("*.md"))
    return sorted({m["name"] for page in pages for m in _ENTRY.finditer(page.read_text(encoding="utf-8"))})


@pytest.fixture(scope="module")
def package():
    sys.path.insert(0, str(DOCS))
    try:
        from griffe_lazy import LazyPublicNames
    finally:
        sys.path.remove(str(DOCS))
    logging.getLogger("griffe").setLevel(logging.ERROR)
    return griffe.load(
        "jaxsot",
        search_paths=[str(ROOT)],
        extensions=griffe.load_extensions(LazyPublicNames),
        docstring_parser="google",
        resolve_aliases=True,
        resolve_external=False,
    )


def _resolve(package, name):
    obj = package
    for part in name.split(".")[1:]:
        obj = obj.members[part]
    return obj.final_target if obj.is_alias else obj


def _parameters(obj):
    if obj.kind.value == "function":
        parameters = obj.parameters
    elif obj.kind.value == "class":
        init = obj.members.get("__init__")
        parameters = init.parameters if init is not None else obj.parameters
    else:
        return None
    return [p.name for p in parameters if p.name not in ("self", "cls")]


def _documented(obj):
    """name -> description of every entry of the docstring's Args / Attributes sections."""
    kinds = {griffe.DocstringSectionKind.parameters, griffe.DocstringSectionKind.other_parameters}
    if obj.kind.value == "class":
        kinds.add(griffe.DocstringSectionKind.attributes)
    documented = {}
    for section in obj.docstring.parsed if obj.docstring else ():
        if section.kind in kinds:
            for item in section.value:
                documented[item.name] = (item.description or "").strip()
    return documented


def undocumented_parameters(package):
    """{public name: [parameters without their own described entry]} over the API pages' entries."""
    offenders = {}
    for name in _entries():
        obj = _resolve(package, name)
        parameters = _parameters(obj)
        if parameters is None:  # constants and modules have no parameter table
            continue
        documented = _documented(obj)
        missing = [p for p in parameters if not documented.get(p)]
        if missing:
            offenders[name] = missing
    return offenders


def test_entries_found(package):
    entries = _entries()
    assert len(entries) > 100 and "jaxsot.simulate" in entries and "jaxsot.fit.fit" in entries
    assert _parameters(_resolve(package, "jaxsot.simulate"))[:2] == ["model", "fermi_energy"]


def test_detector_finds_packed_and_missing_parameters():
    source = '''
def packed(k, band, efield):
    """Summary.

    Args:
        k: (..., 2) [1/nm]; efield: (2,) [V/nm]; band: +1 or -1.
    """

def complete(k, band):
    """Summary.

    Args:
        k: wave vectors, shape (..., 2) [1/nm].
        band: +1 (upper) or -1 (lower).
    """
'''
    module = griffe.visit("example", pathlib.Path("example.py"), source, docstring_parser="google")
    assert _documented(module["packed"]).keys() == {"k"}
    assert [p for p in _parameters(module["packed"]) if not _documented(module["packed"]).get(p)] == [
        "band", "efield",
    ]
    assert all(_documented(module["complete"]).get(p) for p in _parameters(module["complete"]))


def test_every_parameter_has_its_own_described_entry(package):
    offenders = undocumented_parameters(package)
    new = {name: missing for name, missing in offenders.items() if name not in KNOWN_INCOMPLETE}
    assert not new, "parameters missing from the API tables (one `name: description` entry under Args:):\n" + (
        "\n".join(f"  {name}: {', '.join(missing)}" for name, missing in sorted(new.items()))
    )
    stale = sorted(KNOWN_INCOMPLETE - set(offenders))
    assert not stale, f"complete now, remove from KNOWN_INCOMPLETE: {stale}"

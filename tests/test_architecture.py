"""The layout rules of the package (docs: Architecture), checked on the source and on a fresh interpreter.

1. No module imports a name starting with `_` from another module (private *modules* are fine:
   what crosses a module boundary has a plain name and a docstring).
2. Physics never imports the command line or file code, and `import jaxsot` loads none of the
   project's CLI or file modules, nor matplotlib or xarray.
3. Every import points down the pipeline's layers, and no module imports another that imports it back.
4. No module is longer than MAX_LINES lines (one topic per file), apart from the listed exceptions.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxsot"
MODULES = sorted(PACKAGE.rglob("*.py"))
# Modules that read or write files, or parse the command line.
IO_MODULES = ("jaxsot.cli", "jaxsot.fit._csv", "jaxsot.fit._hall_csv", "jaxsot.fit._hall_csv_write", "jaxsot.fit._stfmr_csv")
PHYSICS_PACKAGES = ("_core", "_models", "_bands", "_fermi", "_ensemble", "_dynamics", "_quantum", "_llg", "_measure", "sweep", "fit")


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: pathlib.Path):
    """(imported module, imported name or None) for every import in the file, functions included."""
    importer = _module_name(path)
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = _resolve(importer, path.name == "__init__.py", node)
            for alias in node.names:
                yield module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None


def private_name_imports(modules) -> list[str]:
    found = []
    for path in modules:
        for module, name in _imports(path):
            if not module.startswith("jaxsot") or name is None:
                continue
            # `from . import _x` imports a private module, which is allowed.
            target = PACKAGE.parent / pathlib.Path(*module.split("."))
            is_module = (target / name).is_dir() or (target / f"{name}.py").exists()
            if name.startswith("_") and not name.startswith("__") and not is_module:
                found.append(f"{path.relative_to(PACKAGE.parent)}: from {module} import {name}")
    return found


def test_no_private_names_cross_module_boundaries():
    assert private_name_imports(MODULES) == []


def test_private_name_check_catches_a_violation(tmp_path):
    bad = PACKAGE / "_core" / "_probe_for_test.py"
    try:
        bad.write_text("from ._checks import _show\n")
        assert private_name_imports([bad]) == ["jaxsot/_core/_probe_for_test.py: from jaxsot._core._checks import _show"]
    finally:
        bad.unlink()


def test_physics_never_imports_cli_or_file_code():
    offenders = []
    for path in MODULES:
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] not in PHYSICS_PACKAGES or _module_name(path) in IO_MODULES:
            continue
        if relative.parts[0] == "fit" and path.name == "__init__.py":
            continue  # jaxsot.fit re-exports read_csv/write_csv lazily (see test below)
        for module, name in _imports(path):
            full = f"{module}.{name}" if name else module
            if any(full == io or full.startswith(io + ".") or module.startswith(io) for io in IO_MODULES):
                offenders.append(f"{relative}: {full}")
            if module.split(".")[0] in ("matplotlib", "xarray", "argparse", "csv", "tomllib"):
                offenders.append(f"{relative}: {module}")
    assert offenders == []


@pytest.fixture(scope="module")
def modules_after_import(fresh_interpreter):
    """sys.modules of a fresh interpreter right after `import jaxsot` (conftest.py: one process for such checks)."""
    return set(fresh_interpreter["modules_after_import"])


def test_import_jaxsot_loads_no_cli_file_or_plotting_modules(modules_after_import):
    loaded = modules_after_import
    assert "jaxsot._bands" in loaded and "jaxsot._dynamics" in loaded  # the check sees the package
    assert sorted(m for m in loaded if m.startswith(IO_MODULES)) == []
    assert sorted(m for m in loaded if m.split(".")[0] in ("matplotlib", "xarray", "h5netcdf", "optax")) == []


def test_fit_namespace_loads_csv_readers_on_use(fresh_interpreter):
    # In the fresh interpreter: import jaxsot.fit, CSV readers loaded? then jf.read_csv, jf.read_hall_csv:
    # loaded? and no jaxsot.cli module anywhere.
    assert fresh_interpreter["fit_lazy_csv"] == [False, False, True, True, False]


# ---------------------------------------------------------------------------------------------
# 3. Every arrow points down the pipeline, and no module imports another that imports it back.

# The pipeline's layers, lowest first (docs: Architecture). A package may import only packages of a
# lower rank; packages of one rank do not import each other.
LAYER_RANKS = {
    "constants": 0,
    "_core": 1,
    "_models": 2,
    "_bands": 2,
    "_fermi": 3,
    "kernels": 3,
    "_ensemble": 4,
    "_dynamics": 5,
    "_quantum": 6,
    "_llg": 6,
    "_measure": 7,
    "fit": 8,
    "sweep": 8,
    "_validation": 9,
    "cli": 10,
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "jaxsot" and parts[1] in LAYER_RANKS else None


def _module_edges(modules):
    """{importer module: set of imported jaxsot modules} (imports inside functions included)."""
    known = {_module_name(path) for path in [*MODULES, *modules]}
    edges = {}
    for path in modules:
        importer = _module_name(path)
        targets = set()
        for module, name in _imports(path):
            if not module.startswith("jaxsot"):
                continue
            full = f"{module}.{name}" if name else module
            targets.add(full if full in known else module)
        edges[importer] = targets - {importer}
    return edges


# The root package is the public face (it re-exports every layer): only the layers above the physics
# (the validation checks and the command line) may use the public API through it.
ROOT_USERS_FROM_RANK = LAYER_RANKS["_validation"]


def upward_imports(modules) -> list[str]:
    found = []
    for importer, targets in _module_edges(modules).items():
        source = _layer(importer)
        if source is None:
            continue
        if "jaxsot" in targets and LAYER_RANKS[source] < ROOT_USERS_FROM_RANK:
            found.append(f"{importer} ({source}, layer {LAYER_RANKS[source]}) imports the root package jaxsot")
        for target in sorted(targets):
            layer = _layer(target)
            if layer is not None and layer != source and LAYER_RANKS[layer] >= LAYER_RANKS[source]:
                found.append(f"{importer} ({source}, layer {LAYER_RANKS[source]}) imports {target} ({layer}, layer {LAYER_RANKS[layer]})")
    return found


def import_cycles(modules) -> list[list[str]]:
    """Cycles of the module import graph (Tarjan's strongly connected components with more than one module).

    A package's `__init__` re-exporting its own private modules is not a cycle of the pipeline: edges
    from a module to the `__init__` of its own package are left out, and so are edges to the root
    package (the public face, which only the top layers may use: `upward_imports`)."""
    edges = {importer: targets - {"jaxsot"} for importer, targets in _module_edges(modules).items()}
    for importer, targets in edges.items():
        package = importer if any(p.name == "__init__.py" and _module_name(p) == importer for p in modules) else importer.rsplit(".", 1)[0]
        edges[importer] = {t for t in targets if not (t == package or (package.startswith(t + ".") and t != "jaxsot"))}
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def test_every_import_points_down_the_pipeline():
    assert upward_imports(MODULES) == []


def test_upward_import_check_catches_a_violation():
    bad = PACKAGE / "_measure" / "_probe_for_test.py"
    try:
        bad.write_text("from ..fit import fit\n")
        assert upward_imports([bad]) == ["jaxsot._measure._probe_for_test (_measure, layer 7) imports jaxsot.fit (fit, layer 8)"]
    finally:
        bad.unlink()


# Known debt, listed so that any new cycle (or this one gone) fails the test: the Fermi-sea package's
# public functions (_contour) dispatch to the route chooser (_route), which uses the ray solver in
# _contour; splitting _contour into the ray solver and the public dispatchers removes it.
KNOWN_CYCLES = []


def test_no_import_cycles():
    assert import_cycles(MODULES) == KNOWN_CYCLES


def test_cycle_check_catches_a_cycle(tmp_path):
    first, second = PACKAGE / "_core" / "_probe_a.py", PACKAGE / "_core" / "_probe_b.py"
    try:
        first.write_text("from . import _probe_b\n")
        second.write_text("from ._probe_a import x\n")
        cycles = import_cycles([*MODULES, first, second])
        assert ["jaxsot._core._probe_a", "jaxsot._core._probe_b"] in cycles and len(cycles) == len(KNOWN_CYCLES) + 1
    finally:
        first.unlink()
        second.unlink()


def sweep_private_imports(modules) -> list[str]:
    """Imports of the sweep package's private modules (jaxsot.sweep._*) by the given files."""
    found = []
    for path in modules:
        for module, name in _imports(path):
            target = module if name is None else f"{module}.{name}"
            if module.startswith("jaxsot.sweep._") or target.startswith("jaxsot.sweep._"):
                found.append(f"{path.relative_to(PACKAGE.parent)}: {target}")
    return found


def test_cli_and_sweep_benchmark_use_only_the_public_sweep_api(tmp_path):
    # The CLI and benchmarks/bench_sweep.py are clients of `jaxsot.sweep`: what they need is public
    # (documented in docs/api/sweeps.md), so the package's internals can change freely.
    cli = sorted((PACKAGE / "cli").rglob("*.py"))
    bench = PACKAGE.parent / "benchmarks" / "bench_sweep.py"
    assert sweep_private_imports(cli + [bench]) == []
    bad = PACKAGE / "cli" / "_probe_sweep_for_test.py"
    try:
        bad.write_text("def f():\n    from ..sweep import _compute\n    import jaxsot.sweep._model\n")
        assert sweep_private_imports([bad]) == [
            "jaxsot/cli/_probe_sweep_for_test.py: jaxsot.sweep._compute",
            "jaxsot/cli/_probe_sweep_for_test.py: jaxsot.sweep._model",
        ]
    finally:
        bad.unlink()


# ---------------------------------------------------------------------------------------------
# 4. One topic per file: no module grows past the line limit unnoticed.

MAX_LINES = 560
# Modules still above the limit, each with its reason. The test fails on a new long module and on an
# entry that is no longer long (remove it), so the list only shrinks.
LONG_MODULES = {
    "_bands/_arrays.py": "one topic (the public per-state functions over one kernel each); it was being reworked "
                         "on another branch when the limit came in, split it with that work",
}


def long_modules(modules, limit: int = MAX_LINES) -> dict:
    """{path relative to the package: line count} of the modules longer than `limit` lines."""
    counts = {path.relative_to(PACKAGE).as_posix(): len(path.read_text(encoding="utf-8").splitlines()) for path in modules}
    return {name: count for name, count in counts.items() if count > limit}


def test_no_module_exceeds_the_line_limit():
    found = long_modules(MODULES)
    new = {name: count for name, count in found.items() if name not in LONG_MODULES}
    assert not new, f"modules above {MAX_LINES} lines (split them along their topics): {new}"
    stale = sorted(set(LONG_MODULES) - set(found))
    assert not stale, f"now at most {MAX_LINES} lines, remove from LONG_MODULES: {stale}"


def test_line_limit_check_catches_a_long_module():
    long, short = PACKAGE / "_core" / "_probe_long.py", PACKAGE / "_core" / "_probe_short.py"
    try:
        long.write_text("x = 0\n" * (MAX_LINES + 1))
        short.write_text("x = 0\n" * MAX_LINES)
        assert long_modules([long, short]) == {"_core/_probe_long.py": MAX_LINES + 1}
    finally:
        long.unlink()
        short.unlink()

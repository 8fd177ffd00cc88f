"""The layout rules of the package (docs: Architecture), checked on the source and on a fresh interpreter.

1. No module imports a name starting with `_` from another module (private *modules* are fine:
   what crosses a module boundary has a plain name and a docstring).
2. Physics never imports the command line or file code, and `import jaxsot` loads none of the
   project's CLI or file modules, nor matplotlib or xarray.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxsot"
MODULES = sorted(PACKAGE.rglob("*.py"))
# Modules that read or write files, or parse the command line.
IO_MODULES = ("jaxsot.cli", "jaxsot.fit._csv", "jaxsot.fit._hall_csv", "jaxsot.fit._stfmr_csv")
PHYSICS_PACKAGES = ("_core", "_bands", "_fermi", "_ensemble", "_dynamics", "_quantum", "_llg", "_measure", "sweep", "fit")


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

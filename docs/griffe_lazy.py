"""Griffe extension for the API pages: public names that a package provides lazily.

`jaxsot.fit` loads its CSV reader and writer on first use (a module `__getattr__`), so they are not
imported in `jaxsot/fit/__init__.py` and griffe's static analysis cannot see `jaxsot.fit.read_csv`.
For every public module of the package with an `__all__`, this extension imports the module, and for
each name of `__all__` that griffe did not find it adds an alias to the submodule that actually
defines the object. The `::: jaxsot.fit.read_csv` entries then resolve like any other public name,
without naming the internal module anywhere in the pages.
"""

import importlib
import sys

import griffe


def _defining_module(runtime, name, value):
    prefix = runtime.__name__ + "."
    for module_name, module in sorted(sys.modules.items()):
        if module_name.startswith(prefix) and module is not None and vars(module).get(name) is value:
            return module_name
    return None


class LazyPublicNames(griffe.Extension):
    def on_package(self, *, pkg, loader, **kwargs):  # griffe hook signature
        modules, pending = [], [pkg]
        while pending:
            module = pending.pop()
            if not any(part.startswith("_") for part in module.path.split(".")):
                modules.append(module)
                pending.extend(module.modules.values())
        for module in modules:
            try:
                runtime = importlib.import_module(module.path)
            except ImportError:
                continue
            for name in getattr(runtime, "__all__", ()):
                if name in module.members:
                    continue
                target = _defining_module(runtime, name, getattr(runtime, name))
                if target is not None:
                    module.set_member(name, griffe.Alias(name, f"{target}.{name}", parent=module))

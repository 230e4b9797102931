"""Every module's docstring examples run and print what they show (issue 14: checked examples).

One test per module, so a failure names the module; the same check as
``pytest --doctest-modules geosym``. Optional extras (``sweep`` = dask/distributed/xarray) that
are missing skip their module rather than fail.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import geosym

_MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(geosym.__path__, "geosym.")
    if ".cli" not in m.name and not m.name.endswith("__main__")
)
_EXTRAS = {"geosym.sweep": ("dask", "distributed", "xarray")}


@pytest.mark.parametrize("name", _MODULES)
def test_docstring_examples(name: str) -> None:
    for prefix, modules in _EXTRAS.items():
        if name.startswith(prefix):
            for extra in modules:
                pytest.importorskip(extra)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_public_callables_have_examples() -> None:
    """Every name in a public module's ``__all__`` that is callable documents an example."""
    import inspect
    import re

    missing = []
    for name in _MODULES:
        if name.rsplit(".", 1)[-1].startswith("_"):
            continue  # private modules
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if inspect.ismodule(obj) or not callable(obj) or not inspect.getdoc(obj):
                continue
            if getattr(obj, "__module__", name) != name:
                continue  # re-exported: checked in its own module
            if not re.search(r"^Examples\n-+$", inspect.getdoc(obj), re.M):
                missing.append(f"{name}.{attr}")
    assert not missing, f"public callables without an Examples section: {missing}"

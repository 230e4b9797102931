"""Every public callable documents a running example (issue 14: checked examples).

The examples themselves run as doctests in the default test run (``--doctest-modules`` over
``geosym/`` in pyproject.toml); this test makes sure none is missing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import geosym


def _public_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(geosym.__path__, "geosym.")
        if ".cli" not in m.name
        and not m.name.endswith("__main__")
        and not m.name.rsplit(".", 1)[-1].startswith("_")
    )


def test_public_callables_have_examples() -> None:
    """Each callable named in a public module's ``__all__`` (and defined there) has Examples."""
    missing = []
    for name in _public_modules():
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

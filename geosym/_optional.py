"""Lazy imports of optional dependencies, with one clear line when they are missing (private)."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__: list[str] = []


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` or raise :class:`ModuleNotFoundError` naming the extra to install.

    Parameters
    ----------
    module
        Module to import, e.g. ``"torch"``.
    extra
        geosym's optional extra that provides it, e.g. ``"torch"`` or ``"data"``.
    what
        What needs it, for the message (``"MLP.from_torch"``).
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"{what} needs the optional package {module!r}: pip install 'geosym[{extra}]'"
        ) from exc

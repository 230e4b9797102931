"""Estimate before allocating: one memory check for every entry point (private).

An entry point that allocates in proportion to its inputs estimates its peak (bytes) and calls
:func:`require_memory` first; the check compares the estimate with the memory this process can
still use (the smallest of the system's available memory, a cgroup limit and an address-space
rlimit) and with the user's budget (:func:`set_memory_limit` or the environment variable
``GEOSYM_MEMORY_LIMIT``, e.g. ``2G``), and raises :class:`geosym.errors.ResourceError` with one
line: what it would need, what is available, which argument to reduce.
"""

from __future__ import annotations

import os
import resource

from .errors import ResourceError

__all__ = ["set_memory_limit", "memory_limit", "available_memory", "require_memory"]

_LIMIT_VARIABLE = "GEOSYM_MEMORY_LIMIT"
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_budget: int | None = None  # set_memory_limit(); None: read GEOSYM_MEMORY_LIMIT


def _parse_size(value: int | float | str, name: str) -> int:
    """Bytes from a number or a string such as ``"512M"``, ``"2G"``, ``"2GB"``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number of bytes or a string like '2G', got {value!r}")
    if isinstance(value, str):
        text = value.strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in _UNITS else ""
        try:
            number = float(text[: len(text) - len(unit)])
        except ValueError:
            raise ValueError(
                f"{name} must be a number of bytes or a string like '512M' or '2G', got {value!r}"
            ) from None
        value = number * _UNITS[unit]
    if not isinstance(value, (int, float)) or not value > 0 or value != value:
        raise ValueError(f"{name} must be a positive number of bytes, got {value!r}")
    return int(value)


def set_memory_limit(limit: int | float | str | None) -> None:
    """Cap the memory any single geosym computation may plan to use.

    Parameters
    ----------
    limit : int, float, str or None
        Bytes, or a string with a unit (``"512M"``, ``"2G"``); None removes the cap (the
        environment variable ``GEOSYM_MEMORY_LIMIT`` then applies, if set).  The available
        memory of the machine is always a cap as well.

    Examples
    --------
    >>> import geosym as gs
    >>> gs.set_memory_limit("2G")
    >>> gs.set_memory_limit(None)
    """
    global _budget
    _budget = None if limit is None else _parse_size(limit, "limit")


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes this process can still allocate, or None when the system does not say."""
    candidates = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_path, usage_path in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        cap, used = _read_int(limit_path), _read_int(usage_path)
        if cap is not None and used is not None and cap < 1 << 60:
            candidates.append(max(cap - used, 0))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        pages = _read_int("/proc/self/statm")
        used = pages * os.sysconf("SC_PAGE_SIZE") if pages is not None else 0
        candidates.append(max(soft - used, 0))
    return min(candidates) if candidates else None


def memory_limit() -> tuple[int | None, str]:
    """(bytes, where the figure comes from): the smaller of the budget and the available memory."""
    budget = _budget
    source = "the budget set by geosym.set_memory_limit"
    if budget is None and os.environ.get(_LIMIT_VARIABLE):
        budget = _parse_size(os.environ[_LIMIT_VARIABLE], _LIMIT_VARIABLE)
        source = f"the budget {_LIMIT_VARIABLE}={os.environ[_LIMIT_VARIABLE]}"
    free = available_memory()
    if free is not None and (budget is None or free < budget):
        return free, "available"
    return budget, source


def _format_bytes(nbytes: float) -> str:
    for unit, scale in (("TiB", 2.0**40), ("GiB", 2.0**30), ("MiB", 2.0**20), ("KiB", 2.0**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B"


def require_memory(nbytes: float, what: str, reduce: str) -> None:
    """Raise :class:`ResourceError` unless ``nbytes`` fit in the memory geosym may use.

    Parameters
    ----------
    nbytes : float
        Estimated peak of the computation in bytes (floats: products of large sizes do not
        overflow).
    what : str
        The computation, e.g. ``"MLP.random with widths [40000, 40000, 1]"``.
    reduce : str
        The argument(s) to reduce, e.g. ``"the widths"``.
    """
    limit, source = memory_limit()
    if limit is None or nbytes <= limit:
        return
    where = "is available" if source == "available" else f"is {source}"
    raise ResourceError(
        f"{what} would need about {_format_bytes(nbytes)} of memory but {_format_bytes(limit)} {where}; "
        f"reduce {reduce}",
        needed=int(min(nbytes, 2**63 - 1)),
        available=int(limit),
    )

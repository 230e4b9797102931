"""What runs on a worker: one point of an experiment, its result as strict JSON, and provenance.

:func:`execute` never raises: an exception in the experiment becomes the outcome's ``error``
text (``"ValueError: ..."``), so the client decides about retries and the message reaches the
store intact whatever the exception's pickling.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..results import jsonable

__all__ = ["execute", "execute_batch", "provenance"]


@functools.lru_cache(maxsize=1)
def provenance() -> tuple[str, str | None]:
    """``(geosym version, git commit)`` of the geosym this process imported; the commit is
    ``None`` outside a git checkout and ends in ``-dirty`` with uncommitted changes.

    Examples
    --------
    >>> from geosym.sweep.task import provenance
    >>> version, commit = provenance()
    >>> import geosym; version == geosym.__version__
    True
    """
    from .. import __version__

    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():  # an installed copy: not the commit of a surrounding repo
        return __version__, None
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40", "--match=NOT-A-TAG"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        commit = out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return __version__, commit


def execute(fn: Callable[..., Any], params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Run ``fn(**params, seed=seed)``; the outcome as a small dictionary of plain values.

    Keys: ``result`` (strict JSON text of the result's ``to_dict()`` or mapping, or ``None``),
    ``error`` (``None`` or the exception's type and message), ``wall`` (seconds), ``worker``
    (host:pid), ``version`` and ``commit`` (:func:`provenance`).

    Examples
    --------
    >>> from geosym.sweep.task import execute
    >>> def double(a, seed):
    ...     return {"twice": 2 * a, "seed": seed}
    >>> outcome = execute(double, {"a": 3}, seed=7)
    >>> outcome["result"], outcome["error"]
    ('{"twice":6,"seed":7}', None)
    """
    start = time.perf_counter()
    result = error = None
    try:
        value = fn(**params, seed=seed)
        fields = value.to_dict() if hasattr(value, "to_dict") else value
        if not isinstance(fields, Mapping):
            raise TypeError(
                f"an experiment must return a mapping or a result with to_dict(), got "
                f"{type(value).__name__}"
            )
        result = json.dumps(jsonable(fields), allow_nan=False, separators=(",", ":"))
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the sweep goes on
        error = f"{type(exc).__name__}: {exc}"
    version, commit = provenance()
    return {
        "result": result,
        "error": error,
        "wall": time.perf_counter() - start,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "version": version,
        "commit": commit,
    }


def execute_batch(
    fn: Callable[..., Any], items: Sequence[tuple[Mapping[str, Any], int]]
) -> list[dict[str, Any]]:
    """:func:`execute` for each ``(params, seed)`` of ``items``, in order: several short points
    in one task, so that the scheduler's per-task cost (about 10-20 ms of CPU) is shared.

    Examples
    --------
    >>> from geosym.sweep.task import execute_batch
    >>> def double(a, seed):
    ...     return {"twice": 2 * a}
    >>> [o["result"] for o in execute_batch(double, [({"a": 1}, 0), ({"a": 2}, 1)])]
    ['{"twice":2}', '{"twice":4}']
    """
    return [execute(fn, params, seed) for params, seed in items]

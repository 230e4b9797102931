"""What every command writes: strict JSON, and the real names of the files it saves."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["jsonable", "dumps", "output_path", "PLOT_SUFFIXES"]

#: file types ``--plot`` writes (matplotlib's choice follows the suffix)
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def jsonable(obj: Any) -> Any:
    """``obj`` with NumPy scalars/arrays as Python values and every NaN or infinity as ``None``.

    ``None`` (JSON ``null``) is how a command reports "no finite value" (an infinite divergence,
    the standard error of a single seed, a plateau that was never reached).
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if hasattr(obj, "tolist") and not isinstance(obj, (int, float)):  # numpy array or scalar
        return jsonable(obj.tolist())
    if isinstance(obj, int):
        return obj
    try:
        value = float(obj)  # float, or a SymPy/mpmath number
    except (TypeError, ValueError):
        return str(obj)
    return value if math.isfinite(value) else None


def dumps(obj: Any, indent: int | None = None) -> str:
    """Strict JSON (no ``NaN``/``Infinity`` tokens) of :func:`jsonable` ``(obj)``."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


def output_path(value: str, default_name: str, flag: str, suffixes=PLOT_SUFFIXES) -> Path:
    """The file a ``--plot``/``--out`` argument really names, checked before any work is done.

    An existing folder (or a name ending in ``/``) gets ``default_name`` inside it; a name without
    a suffix gets ``suffixes[0]`` (what matplotlib and ``np.save`` would silently append); any
    other suffix outside ``suffixes`` is refused, as is a name in a missing folder.
    """
    path = Path(value)
    if path.is_dir() or value.endswith(("/", os.sep)):
        path = path / default_name
    elif not path.suffix:
        path = path.with_name(path.name + suffixes[0])
    elif path.suffix.lower() not in suffixes:
        raise ValueError(f"{flag}: {value!r} must end in {', '.join(suffixes)} or name a folder")
    if not path.parent.is_dir():
        raise ValueError(f"{flag}: folder {str(path.parent)!r} does not exist")
    return path

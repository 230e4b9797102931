"""One result contract for every geosym result.

Every public result type is a frozen dataclass that derives from :class:`Result`. The base gives

* ``to_dict()`` — a JSON-safe dictionary, built in one place (:func:`jsonable`) with one policy:
  NumPy arrays become nested lists, NumPy scalars Python numbers, SymPy numbers floats and other
  SymPy expressions their string, nested results their own ``to_dict()``, and **every
  non-finite float (NaN, +inf, -inf) becomes** ``None`` (JSON ``null``), so the output always
  passes ``json.dumps(..., allow_nan=False)``; fields declared with
  ``field(metadata={"json": False})`` are left out (large caches, callables);
* ``to_json()`` — the same as a strict JSON string;
* ``checks()`` — the acceptance checks the result declares about itself (:class:`Check`), so a
  report, a test and a user read one tolerance from one place; ``passed`` is their conjunction.

This is the pattern of :class:`scipy.optimize.OptimizeResult` / ``OdeResult``: one base for all
results, one serialisation policy.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Ratio(Result):
...     measured: float
...     theory: float
...     def checks(self):
...         return (Check("relative error", abs(self.measured / self.theory - 1), 0.05),)
>>> r = Ratio(1.02, 1.0)
>>> r.passed, r.to_json()
(True, '{"measured": 1.02, "theory": 1.0}')
>>> Ratio(float("nan"), 1.0).to_dict()
{'measured': None, 'theory': 1.0}
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["Check", "Result", "jsonable"]


@dataclasses.dataclass(frozen=True)
class Check:
    """One acceptance check a result declares: an error measure against its tolerance.

    Parameters
    ----------
    name : str
        What is compared, e.g. ``"lambda_max relative error"``.
    value : float
        The measured error (non-negative; NaN fails).
    tolerance : float
        The largest accepted value.
    why : str
        Why the tolerance is fair (finite width, sample count, solver tolerance).

    Examples
    --------
    >>> c = Check("lambda_max relative error", 0.012, 0.05, why="finite width M = 200")
    >>> c.passed
    True
    >>> print(c)
    lambda_max relative error: 0.012 <= 0.05 [ok]
    >>> Check("nan never passes", float("nan"), 1.0).to_dict()["passed"]
    False
    """

    name: str
    value: float
    tolerance: float
    why: str = ""

    @property
    def passed(self) -> bool:
        """``value <= tolerance`` (False for NaN)."""
        return bool(self.value <= self.tolerance)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary, including ``passed``."""
        return {
            "name": self.name,
            "value": jsonable(self.value),
            "tolerance": jsonable(self.tolerance),
            "passed": self.passed,
            "why": self.why,
        }

    def __str__(self) -> str:
        mark = "ok" if self.passed else "FAIL"
        return f"{self.name}: {self.value:.3g} <= {self.tolerance:.3g} [{mark}]"


class Result:
    """Base class of geosym's result dataclasses (see the module docstring for the contract).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Measured(Result):
    ...     value: float
    ...     def checks(self):
    ...         return (Check("value", abs(self.value), 0.1),)
    >>> m = Measured(0.03)
    >>> m.passed, m.to_json()
    (True, '{"value": 0.03}')
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields (non-finite floats become ``None``)."""
        if not dataclasses.is_dataclass(self):
            raise TypeError(f"{type(self).__name__} must be a dataclass or override to_dict()")
        return {
            f.name: jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata.get("json", True)
        }

    def to_json(self, **kwargs: Any) -> str:
        """Strict JSON (``allow_nan=False``) of :meth:`to_dict`; ``kwargs`` go to :func:`json.dumps`."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def checks(self) -> tuple[Check, ...]:
        """The acceptance checks this result declares (none by default)."""
        return ()

    @property
    def passed(self) -> bool:
        """True when every declared check passes."""
        return all(c.passed for c in self.checks())


def _float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _array(arr: np.ndarray) -> Any:
    if arr.dtype.kind in "biu":
        return arr.tolist()
    if arr.dtype.kind == "f":
        if arr.size and not np.isfinite(arr).all():
            out = arr.astype(object)
            out[~np.isfinite(arr)] = None
            return out.tolist()
        return arr.tolist()
    if arr.dtype.kind == "c":
        raise TypeError("complex arrays have no JSON form; pass the real and imaginary parts")
    return [jsonable(v) for v in arr.tolist()] if arr.ndim else jsonable(arr.item())


def jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types under geosym's one policy (module docstring).

    Raises
    ------
    TypeError
        For values with no faithful JSON form (complex numbers, arbitrary objects).

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"x": np.array([1.0, np.inf]), "n": np.int64(3), "ok": np.bool_(True)})
    {'x': [1.0, None], 'n': 3, 'ok': True}
    >>> import sympy as sp
    >>> jsonable(sp.Rational(1, 4)), jsonable(sp.Symbol("q") + 1)
    (0.25, 'q + 1')
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and not _is_sympy(value):
        return _float(float(value))
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, (Result, Check)):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if _is_sympy(value):
        if value.is_number and value.is_real is not False:
            try:
                return _float(float(value))
            except TypeError:
                return str(value)
        return str(value)
    raise TypeError(f"cannot convert a {type(value).__name__} to JSON")


def _is_sympy(value: Any) -> bool:
    return type(value).__module__.startswith("sympy")

"""The one result contract: strict JSON for every value kind, declared checks."""

import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import sympy as sp

from geosym.results import Check, Result, jsonable


@dataclass(frozen=True)
class _Example(Result):
    value: float
    spectrum: np.ndarray
    expr: object
    cache: object = field(default=None, metadata={"json": False})

    def checks(self):
        return (Check("value", abs(self.value), 0.5, "toy"),)


def test_non_finite_values_become_null_and_dump_strictly():
    r = _Example(float("nan"), np.array([1.0, np.inf, -np.inf]), sp.Symbol("q1") + 1)
    d = r.to_dict()
    assert d == {"value": None, "spectrum": [1.0, None, None], "expr": "q1 + 1"}
    assert json.loads(r.to_json()) == d
    assert r.passed is False  # NaN never passes a check


def test_numpy_sympy_and_nested_values():
    inner = _Example(0.25, np.arange(3), sp.Rational(1, 4))
    out = jsonable({"a": np.float32(2.5), "b": np.int64(3), "c": np.bool_(True), 1: (inner,)})
    assert out == {
        "a": 2.5,
        "b": 3,
        "c": True,
        "1": [{"value": 0.25, "spectrum": [0, 1, 2], "expr": 0.25}],
    }
    assert inner.passed and inner.checks()[0].to_dict()["passed"] is True
    json.dumps(out, allow_nan=False)


def test_unconvertible_values_are_refused():
    with pytest.raises(TypeError, match="complex"):
        jsonable(np.array([1j]))
    with pytest.raises(TypeError, match="cannot convert a object"):
        jsonable(object())

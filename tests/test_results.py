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


# ---- every public result type ------------------------------------------------------------------
def _all_result_types():
    import importlib
    import pkgutil

    import geosym

    for info in pkgutil.walk_packages(geosym.__path__, "geosym."):
        if not info.name.startswith("geosym.cli") and not info.name.endswith("__main__"):
            importlib.import_module(info.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return sorted(
        {c for c in subclasses(Result) if c.__module__.startswith("geosym.")},
        key=lambda c: f"{c.__module__}.{c.__name__}",
    )


def _hostile_value(annotation, depth=0):
    """A value of the annotated type that is as hard to serialise as the type allows: NaN and
    infinities in floats and arrays, NumPy scalars, SymPy numbers, non-string dict keys."""
    import dataclasses
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation in (float, typing.Any) or annotation is object:
        return np.float64(np.nan)
    if annotation is int:
        return np.int64(3)
    if annotation is bool:
        return np.bool_(True)
    if annotation is str:
        return "x"
    if annotation is np.ndarray or origin is np.ndarray:
        return np.array([np.inf, -np.inf, np.nan])  # length 3: UnitFisher.c
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return _hostile_value(next(a for a in args if a is not type(None)), depth)
    if origin is tuple:
        inner = args[0] if args else float
        return (_hostile_value(inner, depth), _hostile_value(inner, depth))
    if origin in (dict, typing.Mapping) or annotation is dict:
        value = args[1] if len(args) == 2 else float
        return {1.5: _hostile_value(value, depth), 2: _hostile_value(value, depth)}
    if origin is list or annotation is list:
        inner = args[0] if args else float
        return [_hostile_value(inner, depth)]
    if origin is typing.Literal:
        return args[0]
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation) and depth < 3:
        return _instance(annotation, depth + 1)
    if annotation is sp.Expr or annotation is sp.Basic:
        return sp.sqrt(2) * sp.Symbol("q")
    return sp.Float("nan")


def _instance(cls, depth=0):
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    values = {
        f.name: _hostile_value(hints[f.name], depth) for f in dataclasses.fields(cls) if f.init
    }
    obj = object.__new__(cls)  # skip __post_init__ validation: the JSON policy is under test
    for name, value in values.items():
        object.__setattr__(obj, name, value)
    for f in dataclasses.fields(cls):
        if not f.init:
            object.__setattr__(obj, f.name, None)
    return obj


@pytest.mark.parametrize("cls", _all_result_types(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_result_type_dumps_strict_json_and_round_trips(cls):
    """Every public result type (found by walking the package, so a new one is covered
    automatically) is a dataclass on the shared base whose to_dict() passes
    json.dumps(allow_nan=False) even when its fields hold NaN, infinities, NumPy and SymPy
    scalars, and reads back as the same dictionary."""
    import dataclasses

    assert dataclasses.is_dataclass(cls), f"{cls.__name__} must be a dataclass"
    d = _instance(cls).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d

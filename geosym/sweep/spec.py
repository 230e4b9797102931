"""The sweep specification: experiment, seeds and grid, parsed from TOML or given in Python.

A spec file::

    experiment = "fisher-width"
    seed = 0          # the sweep seed (required)
    seeds = 4         # repetitions per grid point (default 1)

    [grid]            # the product of these lists
    activation = ["tanh", "relu"]
    width = [50, 100, 200]

    [fixed]           # scalars shared by every point
    depth = 3

For a registered experiment (:mod:`geosym.experiments.registry`) an unknown experiment or
parameter, a value of the wrong type or a missing required parameter is refused here, before
anything runs.  Values are coerced to the declared types (``1`` becomes ``1.0`` for a float),
so the point coordinates, and hence the point seeds (:mod:`geosym.sweep.seeds`), do not
depend on how a number was written.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..experiments.registry import get_experiment
from .seeds import point_key, point_seed

__all__ = ["SweepSpec", "Point", "load_spec", "make_spec"]

_KEYS = {"experiment", "seed", "seeds", "grid", "fixed"}


@dataclass(frozen=True)
class Point:
    """One task of a sweep: grid coordinates, repetition index, stable key and seed.

    Examples
    --------
    >>> from geosym.sweep.spec import make_spec
    >>> spec = make_spec("fisher-width", {"width": [8, 16]}, seeds=2)
    >>> point = next(spec.points())
    >>> point.index, point.coords, point.rep, len(point.key)
    (0, {'width': 8}, 0, 32)
    """

    index: int
    coords: dict[str, Any]
    rep: int
    key: str
    seed: int


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the experiment, the sweep seed, repetitions, grid and fixed values.

    ``grid`` is either a mapping of axis name to values (their product; :attr:`axes` lists
    them) or a tuple of points (each a mapping of parameter name to value).

    Examples
    --------
    >>> from geosym.sweep.spec import make_spec
    >>> spec = make_spec("fisher-width", {"width": [8, 16], "depth": [2, 3]}, seeds=2)
    >>> spec.total, spec.axes
    (8, ('width', 'depth'))
    >>> next(spec.coordinates())
    {'width': 8, 'depth': 2}
    """

    experiment: str
    seed: int
    seeds: int
    grid: Mapping[str, tuple[Any, ...]] | tuple[Mapping[str, Any], ...]
    fixed: Mapping[str, Any]

    @property
    def is_product(self) -> bool:
        """True when the grid is a product of axes (a mapping)."""
        return isinstance(self.grid, Mapping)

    @property
    def axes(self) -> tuple[str, ...]:
        """Coordinate names: the grid axes, or the union of the points' keys in first-seen order."""
        if isinstance(self.grid, Mapping):
            return tuple(self.grid)
        return tuple(dict.fromkeys(k for p in self.grid for k in p))

    @property
    def total(self) -> int:
        """Number of tasks: grid points times ``seeds``."""
        n = 1
        if isinstance(self.grid, Mapping):
            for values in self.grid.values():
                n *= len(values)
        else:
            n = len(self.grid)
        return n * self.seeds

    def coordinates(self) -> Iterator[dict[str, Any]]:
        """The grid points in order (last axis fastest)."""
        if isinstance(self.grid, Mapping):
            names = list(self.grid)
            for values in itertools.product(*self.grid.values()):
                yield dict(zip(names, values, strict=True))
        else:
            for p in self.grid:
                yield dict(p)

    def points(self) -> Iterator[Point]:
        """Every task: each grid point repeated ``seeds`` times, with its key and seed."""
        index = 0
        for coords in self.coordinates():
            for rep in range(self.seeds):
                yield Point(
                    index, coords, rep, point_key(coords, rep), point_seed(self.seed, coords, rep)
                )
                index += 1

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (what the store records and compares)."""
        grid = (
            {k: list(v) for k, v in self.grid.items()}
            if isinstance(self.grid, Mapping)
            else [dict(p) for p in self.grid]
        )
        return {
            "experiment": self.experiment,
            "seed": self.seed,
            "seeds": self.seeds,
            "grid": grid,
            "fixed": dict(sorted(self.fixed.items())),
        }

    def to_json(self) -> str:
        """JSON without spaces; grid axes keep their order (it is the order of the points)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


def _integer_at_least(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{where} must be a number, string or boolean, got {value!r}")


def make_spec(
    experiment: str | Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    *,
    seed: int = 0,
    seeds: int = 1,
    fixed: Mapping[str, Any] | None = None,
) -> SweepSpec:
    """Validate and normalise a sweep (see the module docstring); raises before anything runs.

    Parameters
    ----------
    experiment : str or callable
        A registered experiment name, or a function ``fn(**params, seed=int)`` (recorded by its
        module and qualified name; its parameters are not checked).
    grid : mapping of name to list, or list of mappings
        Axes whose product is the grid, or the grid points themselves.
    seed : int
        The sweep seed (>= 0).
    seeds : int
        Repetitions per grid point (>= 1), each with its own seed.
    fixed : mapping, optional
        Scalars passed to every point.

    Examples
    --------
    >>> from geosym.sweep.spec import make_spec
    >>> spec = make_spec("fisher-width", {"activation": ["tanh", "relu"], "width": [100, 200]},
    ...                  seeds=3, fixed={"depth": 3})
    >>> spec.axes, spec.total
    (('activation', 'width'), 12)
    >>> make_spec("fisher-width", {"widht": [100]})
    Traceback (most recent call last):
    ...
    ValueError: experiment 'fisher-width' has no parameter 'widht'; its parameters: ...
    """
    seed = _integer_at_least(seed, "seed", 0)
    seeds = _integer_at_least(seeds, "seeds", 1)
    fixed = dict(fixed or {})
    exp = get_experiment(experiment) if isinstance(experiment, str) else None
    if exp is not None:
        name = exp.name
    elif callable(experiment):
        name = f"{experiment.__module__}:{experiment.__qualname__}"
    else:
        raise TypeError(f"experiment must be a registered name or a function, got {experiment!r}")

    def value(param: str, v: Any, where: str) -> Any:
        if not isinstance(param, str):
            raise TypeError(f"parameter names must be strings, got {param!r}")
        return exp.parameter(param).coerce(v) if exp else _scalar(v, where)

    fixed = {k: value(k, v, f"fixed value {k!r}") for k, v in fixed.items()}
    if isinstance(grid, Mapping):
        axes: dict[str, tuple[Any, ...]] = {}
        for k, values in grid.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise ValueError(f"grid axis {k!r} must be a non-empty list, got {values!r}")
            axes[k] = tuple(value(k, v, f"grid value of {k!r}") for v in values)
            if len(set(axes[k])) != len(axes[k]):
                raise ValueError(f"grid axis {k!r} repeats a value: {list(values)}")
        norm: Any = axes
        names = set(axes)
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)) and grid:
        norm = tuple(
            {k: value(k, v, f"grid point {i} value {k!r}") for k, v in dict(p).items()}
            for i, p in enumerate(grid)
        )
        keys = [json.dumps(p, sort_keys=True) for p in norm]
        if len(set(keys)) != len(keys):
            raise ValueError("the grid repeats a point (use seeds = N for repetitions)")
        names = {k for p in norm for k in p}
    else:
        raise TypeError("grid must be a mapping of axis -> list of values, or a non-empty list")
    both = names & set(fixed)
    if both:
        raise ValueError(f"parameter(s) {sorted(both)} are both in the grid and fixed")
    if exp is not None:
        required = {p.name for p in exp.parameters if p.default is None}
        given = set(fixed) | (
            names if isinstance(norm, dict) else set.intersection(*({*p} for p in norm))
        )
        missing = sorted(required - given)
        if missing:
            raise ValueError(f"experiment {exp.name!r} needs parameter(s) {missing}")
    return SweepSpec(name, seed, seeds, norm, fixed)


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read a TOML spec (module docstring) and validate it with :func:`make_spec`.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep.spec import load_spec
    >>> path = os.path.join(tempfile.mkdtemp(), "fisher.toml")
    >>> _ = open(path, "w").write('''
    ... experiment = "fisher-width"
    ... seed = 7
    ... seeds = 4
    ... [grid]
    ... activation = ["tanh", "erf"]
    ... width = [250, 500, 1000]
    ... [fixed]
    ... depth = 3
    ... outputs = 2
    ... ''')
    >>> spec = load_spec(path)
    >>> spec.experiment, spec.total, dict(spec.fixed)
    ('fisher-width', 24, {'depth': 3, 'outputs': 2})
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise ImportError(
                "reading TOML on Python 3.10 needs tomli: pip install tomli"
            ) from None
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{os.fspath(path)} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {os.fspath(path)}; allowed: {sorted(_KEYS)}")
    for key in ("experiment", "seed"):
        if key not in data:
            raise ValueError(f"{os.fspath(path)} has no {key!r}")
    if not isinstance(data["experiment"], str):
        raise ValueError("experiment must be a string naming a registered experiment")
    for table in ("grid", "fixed"):
        if not isinstance(data.get(table, {}), dict):
            raise ValueError(f"[{table}] must be a table")
    if not data.get("grid"):
        raise ValueError(f"{os.fspath(path)} has no [grid] table (or it is empty)")
    return make_spec(
        data["experiment"],
        data["grid"],
        seed=data["seed"],
        seeds=data.get("seeds", 1),
        fixed=data.get("fixed", {}),
    )

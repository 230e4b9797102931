"""From the store to analysis: tidy records, CSV, and an :class:`xarray.Dataset`.

Nested result mappings are flattened with dots (``theory.lambda_max``); list-valued fields are
kept as JSON text in the CSV and left out of the Dataset, which holds one value per point.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .store import Store

__all__ = ["axes", "records", "to_csv", "to_xarray"]


def axes(spec: Mapping[str, Any]) -> list[str]:
    """The coordinate names of a stored spec: grid axes, or the union of the points' keys.

    Examples
    --------
    >>> from geosym.sweep.export import axes
    >>> axes({"grid": {"width": [8, 16], "depth": [2, 3]}})
    ['width', 'depth']
    >>> axes({"grid": [{"width": 8}, {"width": 16, "depth": 3}]})
    ['width', 'depth']
    """
    grid = spec["grid"]
    return (
        list(grid) if isinstance(grid, Mapping) else list(dict.fromkeys(k for p in grid for k in p))
    )


def _flatten(fields: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in fields.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def records(store: Store) -> tuple[list[str], list[dict[str, Any]]]:
    """The finished points as flat rows — coordinates, ``rep``, ``seed``, result fields — and
    the column names in that order (result fields in first-seen order).

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep import sweep
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> run = sweep("fisher-width", {"width": [8, 16]}, seeds=2, store=path, workers=0,
    ...             progress=False)
    >>> from geosym.sweep import Store
    >>> from geosym.sweep.export import records
    >>> store = Store.open(path)
    >>> names, rows = records(store)
    >>> names[:3], len(rows)
    (['width', 'rep', 'seed'], 4)
    >>> store.close()
    """
    names = axes(store.spec)
    fields: dict[str, None] = {}
    rows = []
    for r in store.rows(("done",)):
        result = _flatten(r["result"])
        fields.update(dict.fromkeys(result))
        rows.append(
            {**{a: r["coords"].get(a) for a in names}, "rep": r["rep"], "seed": r["seed"], **result}
        )
    clash = sorted(set(fields) & {*names, "rep", "seed"})
    if clash:
        raise ValueError(f"result field(s) {clash} have the name of a grid coordinate or column")
    return [*names, "rep", "seed", *fields], rows


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, allow_nan=False)
    return value


def to_csv(store: str | os.PathLike, out: str | os.PathLike) -> int:
    """Write one CSV row per finished point (:func:`records`) to ``out``; the row count.

    Missing values (a field a point did not return, or a non-finite number) are empty cells.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep import sweep
    >>> from geosym.sweep.export import to_csv
    >>> def cube(x, seed):
    ...     return {"y": x ** 3}
    >>> folder = tempfile.mkdtemp()
    >>> store = os.path.join(folder, "cubes.sqlite")
    >>> _ = sweep(cube, {"x": [1, 2]}, store=store, workers=0, progress=False)
    >>> to_csv(store, os.path.join(folder, "cubes.csv"))
    2
    >>> print(open(os.path.join(folder, "cubes.csv")).read().splitlines()[0])
    x,rep,seed,y
    """
    with Store.open(store) as st:
        columns, rows = records(st)
    tmp = Path(f"{os.fspath(out)}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([_cell(r.get(c)) for c in columns] for r in rows)
    os.replace(tmp, out)
    return len(rows)


def _column(values: list[Any]) -> np.ndarray | None:
    """One data variable from per-point values (None = missing); None if not scalar."""
    present = [v for v in values if v is not None]
    if not present or any(isinstance(v, (list, dict)) for v in present):
        return None
    complete = len(present) == len(values)
    if all(isinstance(v, bool) for v in present):
        return (
            np.array(values, dtype=bool)
            if complete
            else np.array([np.nan if v is None else float(v) for v in values])
        )
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        if complete and all(isinstance(v, int) for v in present):
            return np.array(values, dtype=np.int64)
        return np.array([np.nan if v is None else v for v in values], dtype=float)
    return np.array(values, dtype=object)


def to_xarray(store: str | os.PathLike) -> Any:
    """The store as an :class:`xarray.Dataset`: dimensions are the grid axes (plus ``rep`` when
    ``seeds > 1``; a single ``point`` dimension when the grid is a list of points), data
    variables the scalar result fields (NaN where a point is not done), ``seed`` and ``status``.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep import sweep
    >>> from geosym.sweep.export import to_xarray
    >>> def product(a, b, seed):
    ...     return {"ab": a * b}
    >>> store = os.path.join(tempfile.mkdtemp(), "ab.sqlite")
    >>> _ = sweep(product, {"a": [1, 2, 3], "b": [10, 20]}, store=store, workers=0,
    ...           progress=False)
    >>> ds = to_xarray(store)
    >>> ds["ab"].sel(a=3, b=20).item()
    60
    """
    try:
        import xarray as xr
    except ImportError:
        raise ImportError("export to xarray needs xarray: pip install xarray") from None
    with Store.open(store) as st:
        spec = st.spec
        names = axes(spec)
        rows = list(st.rows(("done", "failed", "pending")))
    product = isinstance(spec["grid"], Mapping)
    reps = spec["seeds"] > 1
    if product:
        dims = [*names, *(["rep"] if reps else [])]
        coords: dict[str, Any] = {a: list(spec["grid"][a]) for a in names}
    else:
        dims = ["point", *(["rep"] if reps else [])]
        coords = {a: ("point", [p.get(a) for p in spec["grid"]]) for a in names}
    if reps:
        coords["rep"] = list(range(spec["seeds"]))
    shape = (tuple(len(spec["grid"][a]) for a in names) if product else (len(spec["grid"]),)) + (
        (spec["seeds"],) if reps else ()
    )
    results = [_flatten(r["result"]) if r["result"] else {} for r in rows]
    fields = list(dict.fromkeys(k for res in results for k in res))
    # rows are stored in grid order (last axis fastest, then rep): a plain reshape
    data = {"seed": [r["seed"] for r in rows], "status": [r["status"] for r in rows]}
    data.update({f: [res.get(f) for res in results] for f in fields})
    variables = {}
    for name, values in data.items():
        column = _column(values)
        if column is not None:
            variables[name] = (dims, column.reshape(shape))
    return xr.Dataset(variables, coords=coords, attrs={"spec": json.dumps(spec)})

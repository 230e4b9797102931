"""``geosym sweep plot``: one result field against one coordinate, a line per ``hue`` value.

Points that share ``x`` and ``hue`` (other grid axes, repetitions) are averaged; the error
bars are the standard error of that mean (none when there is one point).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._plot import figure
from .export import records
from .store import Store

__all__ = ["plot"]


def _sort_key(value: object) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def plot(
    store: str | os.PathLike,
    x: str,
    y: Sequence[str],
    hue: str | None = None,
    out: str | os.PathLike | None = None,
    logx: bool = False,
    logy: bool = False,
) -> Path:
    """Write a PNG of the mean of each field in ``y`` against ``x``, one line per ``hue`` value.

    Parameters
    ----------
    store : path
        A sweep store.
    x : str
        A grid coordinate (or result field) for the horizontal axis.
    y : sequence of str
        Result fields to plot.
    hue : str, optional
        A coordinate whose values get their own line.
    out : path, optional
        Default: ``STORE_STEM-Y-vs-X.png`` beside the store.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep import sweep
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> run = sweep("fisher-width", {"width": [8, 16]}, seeds=2, store=path, workers=0,
    ...             progress=False)
    >>> from geosym.sweep.plot import plot
    >>> plot(path, "width", ["lambda_max_ratio"], out=os.path.join(os.path.dirname(path), "w.png")).name
    'w.png'
    """
    y = [y] if isinstance(y, str) else list(y)
    with Store.open(store) as st:
        columns, rows = records(st)
        title = st.spec["experiment"]
    for name in (x, *y, *([hue] if hue else [])):
        if name not in columns:
            raise ValueError(f"no column {name!r} in the sweep; columns: {', '.join(columns)}")
    if not rows:
        raise ValueError(f"{store} has no finished points to plot")
    if out is None:
        p = Path(store)
        out = p.with_name(f"{p.stem}-{'-'.join(y)}-vs-{x}.png")
    with figure(out, figsize=(5.5, 3.8)) as (fig, ax):
        for field in y:
            groups: dict[tuple, list[float]] = defaultdict(list)  # (hue, x) -> values
            for r in rows:
                v = r.get(field)
                if isinstance(v, (int, float)) and r[x] is not None:
                    groups[(r[hue] if hue else None, r[x])].append(float(v))
            for h in sorted({g[0] for g in groups}, key=_sort_key):
                at = sorted((g[1] for g in groups if g[0] == h), key=_sort_key)
                vals = [np.asarray(groups[(h, xv)]) for xv in at]
                mean = [v.mean() for v in vals]
                se = [v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else 0.0 for v in vals]
                parts = [field if len(y) > 1 else "", f"{hue}={h}" if hue else ""]
                label = ", ".join(s for s in parts if s) or None
                ax.errorbar(at, mean, yerr=se, marker="o", capsize=3, label=label)
        ax.set_xlabel(x)
        ax.set_ylabel(y[0] if len(y) == 1 else "value")
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_title(f"sweep: {title}")
        if hue or len(y) > 1:
            ax.legend(fontsize=8)
    return Path(out)

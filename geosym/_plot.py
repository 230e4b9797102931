"""One way to make a figure file (private): Agg backend, tight layout, saved and closed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def figure(
    path: Any, figsize: tuple[float, float] = (5.5, 3.8), dpi: int = 120, ncols: int = 1
) -> Iterator[Any]:
    """``with figure(path) as (fig, ax): ...`` writes ``path`` as a PNG on exit.

    With ``ncols > 1``, ``ax`` is an array of that many side-by-side axes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, ncols, figsize=figsize)
    try:
        yield fig, ax
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)

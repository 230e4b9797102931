"""Regular grids carrying the squared Euclidean cost.

A :class:`Grid` stands for the cost ``M_ij = |x_i - x_j|^2`` between the points of a regular grid
spanning ``[0, extent]`` on each axis.  The cost is a sum over axes, so its Gibbs kernel
``exp(-M/reg)`` is a tensor product of 1-D kernels and can be applied one axis at a time
(Solomon et al. 2015; Peyré & Cuturi 2019, §4.3), which is what the solvers of this package do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._memory import require_memory
from ..results import Result

__all__ = ["Grid"]

#: Largest extent: the costs extent**2 (times the number of axes) stay far from overflow.
_MAX_EXTENT = 1e100


@dataclass(frozen=True)
class Grid(Result):
    """Squared Euclidean cost on a regular 1-D or 2-D grid.

    Parameters
    ----------
    shape : tuple of int
        Number of points per axis, ``(n,)`` or ``(height, width)``. Histograms on this grid
        have exactly this shape.
    extent : float, default 1.0
        The grid spans ``[0, extent]`` on every axis (``numpy.linspace(0, extent, n)``), so the
        largest cost is ``extent**2`` times the number of axes with more than one point.

    Notes
    -----
    ``M[(i1, i2), (j1, j2)] = (x_{i1} - x_{j1})^2 + (y_{i2} - y_{j2})^2``: the Gibbs kernel
    factorises, ``K = K_x ⊗ K_y``, and one application costs ``O(HW(H + W))`` instead of
    ``O(H^2 W^2)`` (Solomon et al. 2015, "Convolutional Wasserstein distances").

    Examples
    --------
    >>> from geosym.transport import Grid
    >>> g = Grid((5,))
    >>> g.size, g.max_cost
    (5, 1.0)
    >>> g.axis(0)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> g.cost_matrix()[0]
    array([0.    , 0.0625, 0.25  , 0.5625, 1.    ])
    >>> Grid((3, 4), extent=2.0).points().shape
    (12, 2)
    """

    shape: tuple[int, ...]
    extent: float = 1.0

    def __post_init__(self) -> None:
        shape = (self.shape,) if isinstance(self.shape, int | np.integer) else self.shape
        try:
            given = tuple(shape)
            shape = tuple(int(s) for s in given)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(f"shape must be a tuple of integers, got {self.shape!r}") from exc
        if any(isinstance(s, bool) or s != n for s, n in zip(given, shape, strict=True)):
            raise TypeError(f"shape must be a tuple of integers, got {self.shape!r}")
        if len(shape) not in (1, 2) or min(shape) < 1:
            raise ValueError(f"shape must have 1 or 2 positive entries, got {shape}")
        extent = float(self.extent)
        if not np.isfinite(extent) or extent <= 0:
            raise ValueError(f"extent must be a finite number > 0, got {self.extent!r}")
        if extent > _MAX_EXTENT:
            raise ValueError(
                f"extent must be at most {_MAX_EXTENT:g} (costs are extent**2 and must stay "
                f"finite in float64; rescale the problem), got {self.extent!r}"
            )
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "extent", extent)

    @property
    def ndim(self) -> int:
        """Number of axes (1 or 2)."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of grid points."""
        return int(np.prod(self.shape))

    @property
    def max_cost(self) -> float:
        """Largest entry of the cost matrix, ``extent**2`` per non-trivial axis."""
        return self.extent**2 * sum(n > 1 for n in self.shape)

    def axis(self, d: int) -> np.ndarray:
        """Coordinates of the points along axis ``d``."""
        return np.linspace(0.0, self.extent, self.shape[d])

    def axis_costs(self) -> tuple[np.ndarray, ...]:
        """The 1-D cost matrices ``(x_i - x_k)^2``, one per axis."""
        # the kernels built from them hold a few copies each (log kernel, its maximum, exp)
        require_memory(
            8.0 * 4 * sum(n * n for n in self.shape),
            f"the kernels of a grid of shape {self.shape}",
            "the grid shape (points per axis)",
        )
        return tuple(np.subtract.outer(x, x) ** 2 for x in map(self.axis, range(self.ndim)))

    def points(self) -> np.ndarray:
        """Grid points, shape ``(size, ndim)``, in row-major (C) order of the histograms."""
        mesh = np.meshgrid(*map(self.axis, range(self.ndim)), indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def cost_matrix(self) -> np.ndarray:
        """The dense ``(size, size)`` cost matrix (for small grids, tests and plans)."""
        require_memory(
            8.0 * self.size**2 * (self.ndim + 1),
            f"the dense cost matrix of a grid of shape {self.shape}",
            "the grid shape",
        )
        x = self.points()
        return ((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=-1)

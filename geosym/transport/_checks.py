"""Input checks shared by the transport functions (bad input -> ValueError/TypeError)."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ._grid import Grid

#: relative deviation of the total mass from 1 above which a histogram is normalised with a warning
MASS_RTOL = 1e-8


def as_histogram(x: object, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``x`` as a float histogram summing to 1, checking shape, sign and finiteness."""
    raw = np.asarray(x)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {raw.dtype}")
    arr = raw.astype(float)
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} has shape {arr.shape} but the cost expects {tuple(shape)}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite masses (nan or inf)")
    if np.any(arr < 0):
        raise ValueError(f"{name} has negative masses (min {arr.min():.3g}); masses must be >= 0")
    total = arr.sum()
    if total == 0:
        raise ValueError(f"{name} is all zeros: a histogram needs positive total mass")
    if abs(total - 1.0) > MASS_RTOL:
        # 15 digits: a deviation above MASS_RTOL shows (1 + 1e-6 prints as 1.000001, not 1)
        warnings.warn(f"{name} sums to {total:.15g}, not 1; normalising it", stacklevel=3)
    return arr / total


def check_reg(reg: object, name: str = "reg") -> float:
    """Return ``reg`` as a float after checking it is a finite number > 0."""
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(reg).__name__}")
    value = float(reg)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {reg!r}")
    return value


def check_cost(cost: object) -> np.ndarray | Grid:
    """Return ``cost`` as a finite 2-D float array, or the :class:`Grid` unchanged."""
    if isinstance(cost, Grid):
        return cost
    raw = np.asarray(cost)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"cost must be a 2-D array of real numbers or a Grid, got {type(cost)}")
    if raw.ndim != 2 or 0 in raw.shape:
        raise ValueError(f"cost must be a non-empty 2-D matrix or a Grid, got shape {raw.shape}")
    arr = raw.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError("cost contains non-finite entries")
    return arr


def histogram_shapes(cost: np.ndarray | Grid) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes of the source and target histograms that ``cost`` expects."""
    if isinstance(cost, Grid):
        return cost.shape, cost.shape
    return (cost.shape[0],), (cost.shape[1],)


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int after checking it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)

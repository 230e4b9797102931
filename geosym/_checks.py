"""Input validation shared by geosym modules (private).

Every check raises :class:`ValueError` or :class:`TypeError` with a message that names the
offending argument (and, where relevant, the entry or layer) and says what is expected.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

__all__: list[str] = []


def as_generator(seed: int | np.random.Generator | None, name: str = "seed") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from an int, a Generator or ``None``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, a numpy.random.Generator or None, got {type(seed).__name__}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed}")
    return np.random.default_rng(int(seed))


def positive_int(value: object, name: str, *, allow_zero: bool = False) -> int:
    """Validate a (strictly) positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} ({value!r})")
    low = 0 if allow_zero else 1
    if value < low:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} integer, got {value}")
    return int(value)


#: deepest network the mean-field recursions evaluate layer by layer (0.3-15 ms per layer)
MAX_DEPTH = 10_000


def depth(value: object) -> int:
    """Validate the number of weight layers L: an integer in 1..:data:`MAX_DEPTH`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"depth (number of weight layers L) must be an integer, got "
            f"{type(value).__name__} ({value!r})"
        )
    n = int(value)
    if n < 1:
        raise ValueError(f"depth (number of weight layers L) must be >= 1, got {n}")
    if n > MAX_DEPTH:
        raise ValueError(
            f"depth = {n} is beyond the {MAX_DEPTH} layers the mean-field recursions "
            "evaluate one by one (0.3-15 ms per layer); use a smaller depth, or "
            "MeanField.fixed_point and depth_scales for the infinitely deep limit"
        )
    return n


def layer(value: object, depth: int) -> int:
    """Validate a weight-layer index l in 1..depth."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"layer must be an integer in 1..{depth}, got {type(value).__name__} ({value!r})"
        )
    n = int(value)
    if not 1 <= n <= depth:
        raise ValueError(f"layer must be an integer in 1..{depth}, got {n}")
    return n


def alphas(value: object, depth: int) -> None:
    """Validate width ratios ``alpha_0..alpha_(L-1)`` (None: all equal): ``depth`` positive
    finite numbers."""
    if value is None:
        return
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(
            f"alphas must be a sequence of {depth} width ratios alpha_0..alpha_(L-1), "
            f"got {type(value).__name__} ({value!r})"
        )
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"alphas must be real numbers, got {value!r}") from exc
    if arr.shape != (depth,):
        raise ValueError(
            f"alphas must list the width ratios alpha_0..alpha_(L-1) of the input and hidden "
            f"layers: {depth} numbers for depth {depth}, got "
            f"{len(arr) if arr.ndim == 1 else f'shape {arr.shape}'}"
        )
    if np.any(~np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"alphas must be positive and finite, got {arr.tolist()}")


def real(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
    why: str = "",
) -> float:
    """Validate a finite real number, optionally bounded below (``strict``: ``> minimum``) and
    above (``<= maximum``; ``why`` says why, in the message)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if minimum is not None:
        if strict and not x > minimum:
            raise ValueError(f"{name} must be > {minimum}, got {x}")
        if not strict and not x >= minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {x}")
    if maximum is not None and x > maximum:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{name} must be at most {maximum:g}{reason}, got {x}")
    return x


def widths(value: object, name: str = "widths") -> tuple[int, ...]:
    """Validate ``[M_0, M_1, ..., M_L]``: at least two positive integers (depth L >= 1)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(
            f"{name} must be a sequence of layer widths [M_0, M_1, ..., M_L], got {value!r}"
        )
    items = list(value)
    if len(items) < 2:
        raise ValueError(
            f"{name} must list at least 2 widths [M_0, ..., M_L] (depth L = len({name}) - 1 >= 1), "
            f"got {items!r}"
        )
    return tuple(positive_int(m, f"{name}[{i}]") for i, m in enumerate(items))


def matrix(
    value: object, name: str, *, columns: int, rows: int | None = None, what: str = ""
) -> np.ndarray:
    """Validate a finite 2-D float array of shape ``(rows, columns)`` (rows >= 1)."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real 2-D array, got {type(value).__name__}") from exc
    hint = f" ({what})" if what else ""
    if a.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (samples, {columns}){hint}, got shape {a.shape}"
        )
    if a.shape[0] < 1:
        raise ValueError(f"{name} must contain at least one sample (row), got shape {a.shape}")
    if a.shape[1] != columns:
        raise ValueError(
            f"{name} has {a.shape[1]} columns but the network expects {columns}{hint}; "
            f"got shape {a.shape}"
        )
    if rows is not None and a.shape[0] != rows:
        raise ValueError(f"{name} has {a.shape[0]} rows but X has {rows} samples")
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(
            f"{name} contains NaN or inf (first at row {bad[0]}, column {bad[1]}); "
            "clean the data first"
        )
    return a

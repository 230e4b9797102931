"""Generated test images and profiles: rings, crosses, bars, digit-like strokes, bumps.

Everything is rasterised here (no downloads): a stroke is a polyline in the unit square
(x to the right, y downwards) drawn with the profile ``max(0, 1 − (dist/width)²)``, so the
background is exactly zero like MNIST. Images are returned as histograms (sum 1) of shape
``(size, size)``; use 28, 32 or 64 for digit-sized experiments.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ._checks import check_positive_int

__all__ = ["SHAPES", "shape", "ring", "cross", "bar", "digit", "bump"]

# digit strokes: lists of polylines in the unit square, (x, y) with y pointing down
_CIRCLE_ANGLES = np.linspace(0.0, 2.0 * np.pi, 33)
_DIGITS: dict[int, list[list[tuple[float, float]]]] = {
    0: [
        list(
            zip(0.5 + 0.2 * np.cos(_CIRCLE_ANGLES), 0.5 + 0.3 * np.sin(_CIRCLE_ANGLES), strict=True)
        )
    ],
    1: [[(0.38, 0.32), (0.55, 0.18), (0.55, 0.82)]],
    2: [[(0.3, 0.3), (0.4, 0.2), (0.6, 0.2), (0.7, 0.32), (0.65, 0.45), (0.3, 0.8), (0.72, 0.8)]],
    3: [[(0.3, 0.22), (0.66, 0.22), (0.48, 0.47), (0.68, 0.6), (0.62, 0.78), (0.3, 0.8)]],
    4: [[(0.62, 0.82), (0.62, 0.18), (0.28, 0.62), (0.75, 0.62)]],
    5: [[(0.7, 0.2), (0.36, 0.2), (0.33, 0.48), (0.6, 0.45), (0.7, 0.62), (0.6, 0.8), (0.3, 0.78)]],
    6: [
        [
            (0.65, 0.2),
            (0.4, 0.35),
            (0.32, 0.6),
            (0.45, 0.8),
            (0.65, 0.72),
            (0.62, 0.52),
            (0.34, 0.56),
        ]
    ],
    7: [[(0.28, 0.2), (0.72, 0.2), (0.42, 0.82)]],
    8: [
        list(
            zip(
                0.5 + 0.16 * np.cos(_CIRCLE_ANGLES),
                0.33 + 0.14 * np.sin(_CIRCLE_ANGLES),
                strict=True,
            )
        ),
        list(
            zip(
                0.5 + 0.19 * np.cos(_CIRCLE_ANGLES),
                0.64 + 0.17 * np.sin(_CIRCLE_ANGLES),
                strict=True,
            )
        ),
    ],
    9: [
        [
            (0.65, 0.45),
            (0.4, 0.45),
            (0.35, 0.3),
            (0.5, 0.18),
            (0.66, 0.28),
            (0.65, 0.45),
            (0.55, 0.82),
        ]
    ],
}


def _pixels(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x, y)`` in the unit square, each of shape (size, size)."""
    c = (np.arange(size) + 0.5) / size
    y, x = np.meshgrid(c, c, indexing="ij")
    return x, y


def _normalise(img: np.ndarray, what: str) -> np.ndarray:
    total = img.sum()
    if total <= 0:
        raise ValueError(f"{what} is empty at this size; make it larger or the image bigger")
    return img / total


def _strokes(polylines: list[list[tuple[float, float]]], size: int, width: float) -> np.ndarray:
    """Rasterise polylines: ``max(0, 1 − (d/width)²)`` with ``d`` the distance to the strokes."""
    x, y = _pixels(check_positive_int(size, "size"))
    dist = np.full(x.shape, np.inf)
    for line in polylines:
        pts = np.asarray(line, dtype=float)
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True):
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(dx * dx + dy * dy, 1e-300), 0, 1)
            dist = np.minimum(dist, np.hypot(x - x0 - t * dx, y - y0 - t * dy))
    return _normalise(np.maximum(0.0, 1.0 - (dist / width) ** 2), "the stroke")


def ring(
    size: int = 32,
    radius: float = 0.3,
    width: float = 0.07,
    center: tuple[float, float] = (0.5, 0.5),
) -> np.ndarray:
    """A ring of the given ``radius`` and stroke ``width`` (unit-square units).

    Examples
    --------
    >>> from geosym.transport.shapes import ring
    >>> img = ring(size=32)
    >>> img.shape, round(float(img.sum()), 12), float(img.min())  # a histogram with zero background
    ((32, 32), 1.0, 0.0)
    """
    x, y = _pixels(check_positive_int(size, "size"))
    dist = np.abs(np.hypot(x - center[0], y - center[1]) - radius)
    return _normalise(np.maximum(0.0, 1.0 - (dist / width) ** 2), "the ring")


def cross(
    size: int = 32, arm: float = 0.3, width: float = 0.07, center: tuple[float, float] = (0.5, 0.5)
) -> np.ndarray:
    """A '+' of half-length ``arm``.

    Examples
    --------
    >>> from geosym.transport.shapes import cross
    >>> img = cross(size=32)
    >>> img.shape, round(float(img.sum()), 12), float(img.min())  # a histogram with zero background
    ((32, 32), 1.0, 0.0)
    """
    cx, cy = center
    lines = [[(cx - arm, cy), (cx + arm, cy)], [(cx, cy - arm), (cx, cy + arm)]]
    return _strokes(lines, size, width)


def bar(
    size: int = 32,
    length: float = 0.6,
    width: float = 0.07,
    angle: float = 0.0,
    center: tuple[float, float] = (0.5, 0.5),
) -> np.ndarray:
    """A straight bar of the given ``length``, rotated by ``angle`` radians.

    Examples
    --------
    >>> from geosym.transport.shapes import bar
    >>> img = bar(size=32)
    >>> img.shape, round(float(img.sum()), 12), float(img.min())  # a histogram with zero background
    ((32, 32), 1.0, 0.0)
    """
    dx, dy = 0.5 * length * np.cos(angle), 0.5 * length * np.sin(angle)
    cx, cy = center
    return _strokes([[(cx - dx, cy - dy), (cx + dx, cy + dy)]], size, width)


def digit(d: int, size: int = 32, width: float = 0.07) -> np.ndarray:
    """A digit-like stroke image of ``d`` in 0..9 (hand-drawn polylines, MNIST-like zeros).

    Examples
    --------
    >>> from geosym.transport.shapes import digit
    >>> digit(3, size=28).shape
    (28, 28)
    """
    if d not in _DIGITS:
        raise ValueError(f"d must be a digit 0..9, got {d!r}")
    return _strokes(_DIGITS[d], size, width)


def bump(n: int, center: float, width: float, extent: float = 1.0) -> np.ndarray:
    """1-D Gaussian bump ``exp(−(x−center)²/(2 width²))`` on ``linspace(0, extent, n)``.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport.shapes import bump
    >>> b = bump(41, center=0.5, width=0.05)
    >>> b.shape, int(np.argmax(b)), round(float(b.sum()), 12)
    ((41,), 20, 1.0)
    """
    x = np.linspace(0.0, extent, check_positive_int(n, "n"))
    return _normalise(np.exp(-((x - center) ** 2) / (2.0 * width**2)), "the bump")


#: name -> image factory ``f(size)``, for the CLI and the docs
SHAPES: dict[str, Callable[[int], np.ndarray]] = {
    "ring": ring,
    "cross": cross,
    "bar": bar,
    "bar-diagonal": functools.partial(bar, angle=np.pi / 4),
    **{f"digit{d}": functools.partial(digit, d) for d in _DIGITS},
}


def shape(name: str, size: int = 32) -> np.ndarray:
    """The generated image ``name`` (a key of :data:`SHAPES`) at ``size × size``.

    Examples
    --------
    >>> from geosym.transport.shapes import SHAPES, shape
    >>> sorted(SHAPES)[:4]
    ['bar', 'bar-diagonal', 'cross', 'digit0']
    >>> shape("ring", size=16).shape
    (16, 16)
    """
    if name not in SHAPES:
        raise ValueError(f"unknown shape {name!r}; choose from {sorted(SHAPES)}")
    return SHAPES[name](size)

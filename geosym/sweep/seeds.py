"""Per-point keys and seeds that do not depend on order, workers or resumption.

A point is identified by its coordinates (the grid values, as a mapping) and its repetition
index ``rep``.  Its canonical text is the JSON of the coordinates with sorted keys and no
spaces (floats in Python's shortest round-trip ``repr``), which is the same on every machine
and Python version.  Its seed is

    ``SeedSequence(sweep_seed, spawn_key=(w0, w1, w2, w3, rep)).generate_state(1, uint64) >> 1``

with ``w0..w3`` the first 16 bytes of the SHA-256 of the canonical text as four 32-bit words
(NumPy's :class:`numpy.random.SeedSequence`: spawn keys give independent streams, O'Neill 2015).
The seed is a non-negative 63-bit integer, so it fits SQLite's and NumPy's ``int64``; the
chance that two of :math:`n` points share one is about :math:`n^2/2^{64}`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["canonical", "point_key", "point_seed"]


def canonical(coords: Mapping[str, Any]) -> str:
    """The canonical JSON text of a point's coordinates."""
    return json.dumps(dict(coords), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _digest(coords: Mapping[str, Any], rep: int) -> bytes:
    return hashlib.sha256(f"{canonical(coords)}#{int(rep)}".encode()).digest()


def point_key(coords: Mapping[str, Any], rep: int) -> str:
    """A stable hexadecimal key of the point (coordinates and repetition)."""
    return _digest(coords, rep).hex()[:32]


def point_seed(sweep_seed: int, coords: Mapping[str, Any], rep: int) -> int:
    """The point's seed from the sweep seed, its coordinates and repetition (module docstring)."""
    words = np.frombuffer(hashlib.sha256(canonical(coords).encode()).digest()[:16], dtype="<u4")
    ss = np.random.SeedSequence(int(sweep_seed), spawn_key=(*map(int, words), int(rep)))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))

"""Validation of covariance matrices given as numbers and/or SymPy symbols."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

__all__ = ["as_covariance", "is_numeric"]


def _entry(value: Any, i: int, j: int) -> sp.Expr:
    if isinstance(value, sp.Basic):
        expr = value
    elif isinstance(value, (bool, np.bool_)):
        raise TypeError(f"cov[{i}][{j}] is a boolean; give a number or a SymPy symbol")
    elif isinstance(value, (int, np.integer)):
        expr = sp.Integer(int(value))
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ValueError(f"cov[{i}][{j}] = {value} is not finite")
        # exact decimal value: closed forms are then evaluated without float cancellation
        expr = sp.Rational(repr(float(value)))
    elif isinstance(value, (complex, np.complexfloating)):
        raise ValueError(f"cov[{i}][{j}] = {value} is complex; a covariance is real")
    else:
        raise TypeError(
            f"cov[{i}][{j}] has type {type(value).__name__}; give numbers or SymPy symbols"
        )
    if expr.has(sp.I):
        raise ValueError(f"cov[{i}][{j}] = {expr} is complex; a covariance is real")
    if expr.has(sp.nan, sp.oo, -sp.oo, sp.zoo):
        raise ValueError(f"cov[{i}][{j}] = {expr} is not finite")
    return expr


def is_numeric(matrix: sp.Matrix) -> bool:
    """True when every entry is a number (no free symbols).

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.gaussian.covariance import is_numeric
    >>> is_numeric(sp.Matrix([[1, 0.5], [0.5, 1]])), is_numeric(sp.Matrix([[sp.Symbol("q")]]))
    (True, False)
    """
    return not matrix.free_symbols


def as_covariance(cov: Any, k: int) -> sp.ImmutableMatrix:
    """Validate ``cov`` as a k-by-k symmetric covariance and return it as an immutable SymPy matrix.

    Raises
    ------
    ValueError
        Wrong shape, non-symmetric, non-finite entries, negative variances, or (for numeric
        matrices) a negative eigenvalue beyond rounding.
    TypeError
        Entries that are neither numbers nor SymPy expressions.

    Examples
    --------
    >>> from geosym.gaussian.covariance import as_covariance
    >>> as_covariance([[1, 0.5], [0.5, 1]], 2)
    Matrix([
    [  1, 1/2],
    [1/2,   1]])
    >>> as_covariance([[1, 2], [2, 1]], 2)
    Traceback (most recent call last):
    ...
    ValueError: cov is not positive semi-definite (smallest eigenvalue -1); ...
    """
    if isinstance(cov, sp.MatrixBase):
        rows = cov.tolist()
    else:
        if k == 1 and not isinstance(cov, (list, tuple, np.ndarray)) and np.ndim(cov) == 0:
            rows = [[cov]]
        else:
            try:
                rows = [list(r) for r in cov]
                if len({len(r) for r in rows}) > 1:
                    raise ValueError(
                        f"cov must be a {k}x{k} matrix; its rows have different lengths"
                    )
            except TypeError:
                raise TypeError(
                    f"cov must be a {k}x{k} matrix (nested lists, NumPy array or SymPy Matrix)"
                ) from None
    if len(rows) != k or any(len(r) != k for r in rows):
        shape = f"{len(rows)}x{len(rows[0]) if rows else 0}"
        raise ValueError(f"cov must be {k}x{k} for {k} function(s), got {shape}")
    m = sp.ImmutableMatrix([[_entry(v, i, j) for j, v in enumerate(r)] for i, r in enumerate(rows)])
    for i in range(k):
        for j in range(i + 1, k):
            diff = sp.simplify(m[i, j] - m[j, i])
            if diff != 0 and not (
                diff.is_number and abs(float(diff)) <= 1e-12 * (1 + abs(float(m[i, j])))
            ):
                raise ValueError(
                    f"cov is not symmetric: cov[{i}][{j}] = {m[i, j]} but cov[{j}][{i}] = {m[j, i]}"
                )
    for i in range(k):
        if m[i, i].is_negative:
            raise ValueError(f"cov[{i}][{i}] = {m[i, i]} is a negative variance")
    if is_numeric(m):
        arr = np.array(m.tolist(), dtype=float)
        arr = (arr + arr.T) / 2
        eig = np.linalg.eigvalsh(arr)
        scale = max(1.0, float(np.max(np.abs(arr))))
        if eig[0] < -1e-10 * scale:
            raise ValueError(
                f"cov is not positive semi-definite (smallest eigenvalue {eig[0]:.3g}); a covariance "
                "matrix must have |cov[i][j]| <= sqrt(cov[i][i]*cov[j][j]) and more"
            )
    return m

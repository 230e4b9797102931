"""Gaussian expectations of activation functions: closed-form rules first, certified quadrature
otherwise.  See :func:`expect`."""

from .engine import DEFAULT_TOL, Expectation, expect

__all__ = ["expect", "Expectation", "DEFAULT_TOL"]

"""Gaussian expectations of activation functions: closed-form rules first, certified quadrature
otherwise.  See :func:`expect`."""

from .engine import DEFAULT_TOL, Expectation, evaluate_many, expect

__all__ = ["expect", "evaluate_many", "Expectation", "DEFAULT_TOL"]

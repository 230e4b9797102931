"""Exceptions raised by geosym.

Bad *input* raises the built-in :class:`ValueError` or :class:`TypeError` with a message that
names the argument and the fix.  Numerical *failure* (divergence, non-convergence, overflow, an
integral that cannot be certified) raises a subclass of :class:`NumericalError`, itself an
:class:`ArithmeticError`, whose message says where it happened.  A request too large for the
memory available (or for the budget set with :func:`geosym.set_memory_limit`) raises
:class:`ResourceError`, a :class:`MemoryError`, *before* anything large is allocated; its
one-line message says what it would need, what is available and which argument to reduce.

Examples
--------
>>> import geosym as gs
>>> try:
...     gs.MeanField("tanh", sigma_w2=-1.0, sigma_b2=0.0)
... except ValueError as err:
...     print(type(err).__name__)
ValueError
>>> issubclass(gs.ConvergenceError, gs.NumericalError), issubclass(gs.NumericalError, ArithmeticError)
(True, True)
"""

from __future__ import annotations

__all__ = ["NumericalError", "IntegrationError", "ConvergenceError", "ResourceError"]


class NumericalError(ArithmeticError):
    """A computation left its valid range: overflow, NaN, a singular matrix, a blown-up run.

    Examples
    --------
    >>> import geosym as gs
    >>> try:
    ...     raise gs.NumericalError("sinkhorn: NaN in the potentials after 12 iterations")
    ... except ArithmeticError as err:
    ...     print(err)
    sinkhorn: NaN in the potentials after 12 iterations
    """


class IntegrationError(NumericalError):
    """An expectation could not be computed to the requested, certified accuracy.

    Examples
    --------
    >>> import geosym as gs
    >>> issubclass(gs.IntegrationError, gs.NumericalError)
    True
    """


class ConvergenceError(NumericalError):
    """An iterative solver (root finder, Sinkhorn, ODE integrator) did not converge.

    Examples
    --------
    >>> import geosym as gs
    >>> issubclass(gs.ConvergenceError, gs.NumericalError)
    True
    """


class ResourceError(MemoryError):
    """A computation would need more memory than is available or allowed; raised before it starts.

    Attributes
    ----------
    needed, available : int
        The estimated peak in bytes, and the memory it was compared with (the smaller of the
        free memory of this process and the user's budget).

    Examples
    --------
    >>> import geosym as gs
    >>> try:
    ...     gs.nn.MLP.random([10**6, 10**6, 1], "tanh", 1.0, 0.0)  # 8 TB of weights
    ... except gs.ResourceError as exc:
    ...     print(type(exc).__name__, isinstance(exc, MemoryError), exc.needed > 10**12)
    ResourceError True True
    """

    def __init__(self, message: str, needed: int = 0, available: int = 0) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available

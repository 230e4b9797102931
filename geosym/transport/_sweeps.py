"""Sinkhorn sweeps in the log domain on scaled potentials (the inner loops of the solvers).

Shared by :func:`geosym.transport.sinkhorn` and the sharp barycenter (which warm-starts them
from one mirror-descent step to the next). See :mod:`geosym.transport.sinkhorn` for the problem.
"""

from __future__ import annotations

import numpy as np

from ..errors import NumericalError
from ._kernel import LogKernel

__all__ = ["sweeps", "symmetric_sweeps"]


def sweeps(
    kernel: LogKernel,
    log_a: np.ndarray,
    log_b: np.ndarray,
    g: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, int]:
    """Sinkhorn sweeps on scaled potentials ``F = f/λ``, ``G = g/λ``.

    With ``P_ij = a_i b_j exp(F_i + G_j − M_ij/λ)`` the row update ``F = −LSE_j(log b + G − M/λ)``
    makes the rows exact; the column update ``G' = −LSE_i(log a + F − M/λ)`` tells for free the
    column marginal of the current plan, ``b exp(G − G')``. Returns ``F, G`` of the last plan
    whose error was measured, that error, the column marginal and the number of sweeps.
    """
    b = np.exp(log_b)
    g_next = g
    for n_iter in range(1, max_iter + 1):
        g = g_next
        f = -kernel.rows(log_b + g)
        g_next = -kernel.cols(log_a + f)
        with np.errstate(over="ignore"):
            col = np.exp(log_b + g - g_next)
        err = float(np.abs(col - b).sum())
        if np.isnan(err):
            raise NumericalError(f"sinkhorn: nan in the potentials at iteration {n_iter}")
        if err <= tol:
            break
    return f, g, err, col, n_iter


def symmetric_sweeps(
    kernel: LogKernel, log_a: np.ndarray, f: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Averaged sweeps ``F ← (F + T(F))/2``, ``T(F) = −LSE_j(log a + F − M/λ)`` for ``a = b``.

    The symmetric fixed point of Sinkhorn (Feydy et al. 2019, AISTATS, eq. 25; Knight 2008);
    the plan ``a_i a_j exp(F_i + F_j − M_ij/λ)`` is symmetric with marginal ``a exp(F − T(F))``.
    """
    a = np.exp(log_a)
    f_avg = f
    for n_iter in range(1, max_iter + 1):
        f = f_avg
        f_next = -kernel.rows(log_a + f)
        with np.errstate(over="ignore"):
            marginal = np.exp(log_a + f - f_next)
        err = float(np.abs(marginal - a).sum())
        if np.isnan(err):
            raise NumericalError(f"sinkhorn: nan in the potentials at iteration {n_iter}")
        if err <= tol:
            break
        f_avg = 0.5 * (f + f_next)
    return f, err, marginal, n_iter

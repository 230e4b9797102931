r"""The exact (unregularised) fixed-support Wasserstein barycenter as a linear program.

.. math::

    \min_{q,\, P_1, \dots, P_K \ge 0} \sum_k w_k \langle M, P_k\rangle
    \quad\text{s.t.}\quad P_k 1 = p_k,\; P_k^\top 1 = q

(Anderes, Borgwardt & Miller 2016, Math. Methods Oper. Res. 84:389, eq. 2; Peyré & Cuturi
2019, Computational Optimal Transport, eq. 9.12), solved by HiGHS through
:func:`scipy.optimize.linprog`. ``K n m + m`` variables: meant for small problems (a few hundred
bins), as the reference the entropic, debiased and sharp barycenters are compared with.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import NumericalError
from ._checks import as_histogram, check_cost, histogram_shapes
from ._grid import Grid

__all__ = ["lp_barycenter"]

#: more LP variables than this is refused (HiGHS needs minutes and gigabytes beyond it)
MAX_VARIABLES = 2_000_000


def lp_barycenter(
    hists: np.ndarray, cost: np.ndarray | Grid, weights: np.ndarray | None = None
) -> np.ndarray:
    r"""The exact fixed-support W barycenter ``argmin_q Σ_k w_k W_M(p_k, q)`` (an LP).

    Parameters
    ----------
    hists : array_like, shape (K,) + source shape
        Input histograms on the rows of ``cost`` (each normalised to sum 1).
    cost : array_like, shape (n, m), or Grid
        Cost matrix, or a :class:`Grid` (squared Euclidean cost between its points); the
        barycenter lives on its columns.
    weights : array_like, shape (K,), optional
        Barycentric weights (uniform by default; normalised to sum 1).

    Returns
    -------
    numpy.ndarray
        The barycenter ``q`` (target shape, sums to 1). When the LP has several solutions,
        the vertex HiGHS returns.

    Raises
    ------
    ValueError
        Bad shapes or weights, or a problem with more than 2 000 000 LP variables.
    NumericalError
        HiGHS did not report an optimal solution.

    Examples
    --------
    The barycenter of two Diracs two bins apart is the Dirac half-way:

    >>> import numpy as np
    >>> from geosym.transport import Grid
    >>> from geosym.transport.lp import lp_barycenter
    >>> p = np.zeros((2, 5)); p[0, 1] = p[1, 3] = 1.0
    >>> lp_barycenter(p, Grid((5,))).round(12)
    array([0., 0., 1., 0., 0.])
    """
    from scipy.optimize import linprog

    cost = check_cost(cost)
    src_shape, dst_shape = histogram_shapes(cost)
    matrix = cost.cost_matrix() if isinstance(cost, Grid) else np.asarray(cost, dtype=float)
    hists = np.asarray(hists)
    if hists.ndim != len(src_shape) + 1:
        raise ValueError(f"hists must have shape (K,) + {src_shape}, got {hists.shape}")
    p = np.stack([as_histogram(h, f"hists[{k}]", src_shape).ravel() for k, h in enumerate(hists)])
    n_in, (n, m) = len(p), matrix.shape
    if weights is None:
        weights = np.full(n_in, 1.0 / n_in)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n_in,) or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(f"weights must be {n_in} non-negative numbers, not all 0; got {weights!r}")
    w = w / w.sum()
    n_vars = n_in * n * m + m
    if n_vars > MAX_VARIABLES:
        raise ValueError(
            f"the LP has {n_vars} variables (limit {MAX_VARIABLES}); use barycenter() instead"
        )
    # plan k is flattened row-major: P_k[i, j] at k n m + i m + j; q at the end
    rows = sp.kron(sp.identity(n), np.ones((1, m)))  # P 1
    cols = sp.kron(np.ones((1, n)), sp.identity(m))  # Pᵀ 1
    blocks = sp.block_diag([sp.vstack([rows, cols])] * n_in)
    minus_q = sp.vstack([sp.csr_matrix((n, m)), -sp.identity(m)] * n_in)
    a_eq = sp.hstack([blocks, minus_q]).tocsr()
    b_eq = np.concatenate([np.concatenate([pk, np.zeros(m)]) for pk in p])
    c = np.concatenate([wk * matrix.ravel() for wk in w] + [np.zeros(m)])
    res = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0:
        raise NumericalError(f"lp_barycenter: HiGHS did not solve the LP ({res.message})")
    q = np.maximum(res.x[-m:], 0.0)
    return (q / q.sum()).reshape(dst_shape)

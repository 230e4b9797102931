r"""Quadrature nodes and weights: the one place geosym makes them.

* :func:`gauss_legendre` -- Gauss--Legendre on :math:`[-1, 1]` (weight 1), in floats and, for
  reference values, in mpmath at any precision (:func:`gauss_legendre_mp`),
* :func:`gauss_hermite` -- probabilists' Gauss--Hermite for :math:`z\sim\mathcal N(0, 1)`, weights
  normalised to sum to one, and its tensor product :func:`gauss_hermite_rule` for
  :math:`z\sim\mathcal N(0, I_k)`,
* :func:`gauss_rayleigh` -- Gauss for the radial weight :math:`re^{-r^2/2}` (a 2-D standard
  normal in polar coordinates),
* :func:`cholesky_clipped` -- pivot-free Cholesky factors of a batch of positive *semi*-definite
  covariances (a zero pivot drops its direction),
* :func:`nested_gauss_hermite` -- :math:`E[\prod_j f_j(u_j)]`, :math:`u\sim\mathcal N(0, C)`, for a
  batch of covariances, by a tensor Gauss--Hermite rule nested along the Cholesky factor, and
  :func:`gauss_hermite_2d` for the two-variable case with broadcastable covariance entries.

An :math:`n`-point Gauss rule integrates polynomials of degree up to :math:`2n-1` exactly (see
Golub & Welsch 1969); for the Gaussian weight the tensor rule does so in each variable.  The
rules are fixed functions of the covariance, which keeps the right-hand side of an adaptive ODE
solver smooth.  Node arrays are cached and read-only: callers share them.

Examples
--------
>>> import numpy as np
>>> from geosym.gaussian.nodes import gauss_hermite, nested_gauss_hermite
>>> x, w = gauss_hermite(5)
>>> round(float(w @ x**4), 12)  # E[z^4] = 3
3.0
>>> cov = np.array([[1.0, 0.5], [0.5, 2.0]])
>>> round(float(nested_gauss_hermite((lambda u: u, lambda u: u), cov, 4)), 12)  # E[u1 u2]
0.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

import mpmath
import numpy as np

__all__ = [
    "cholesky_clipped",
    "covariance_from_upper",
    "gauss_hermite",
    "gauss_hermite_2d",
    "gauss_hermite_rule",
    "gauss_legendre",
    "gauss_legendre_mp",
    "gauss_rayleigh",
    "nested_gauss_hermite",
]

ArrayFunc = Callable[[np.ndarray], np.ndarray]


def _check_count(n: Any) -> int:
    """``n`` as a node count: TypeError for a non-integer, ValueError for ``n < 1``."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n (number of nodes) must be a positive integer, got {n!r}")
    if n < 1:
        raise ValueError(f"n (number of nodes) must be a positive integer, got {n}")
    return int(n)


@cache
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = w.flags.writeable = False
    return x, w


def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Gauss--Legendre nodes and weights on :math:`[-1, 1]` (cached, read-only).

    Parameters
    ----------
    n : int
        Number of nodes; the rule is exact for polynomials of degree :math:`\le 2n-1`.

    Returns
    -------
    x, w : numpy.ndarray, shape (n,)
        :math:`\int_{-1}^1 f(x)\,dx \approx \sum_j w_j f(x_j)`; the weights sum to 2.  The
        same arrays as :func:`numpy.polynomial.legendre.leggauss`.

    Examples
    --------
    >>> from geosym.gaussian.nodes import gauss_legendre
    >>> x, w = gauss_legendre(3)
    >>> round(float(w @ x**4), 12)  # int_{-1}^{1} x^4 dx = 2/5
    0.4
    >>> gauss_legendre(3)[0] is x
    True
    """
    return _gauss_legendre(_check_count(n))


@cache
def _gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    x.flags.writeable = w.flags.writeable = False
    return x, w


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Probabilists' Gauss--Hermite nodes and weights for :math:`z\sim\mathcal N(0, 1)`.

    Parameters
    ----------
    n : int
        Number of nodes; :math:`E[p(z)]` is exact for polynomials of degree :math:`\le 2n-1`.

    Returns
    -------
    x, w : numpy.ndarray, shape (n,)
        :math:`E[f(z)] \approx \sum_j w_j f(x_j)`; the weights of
        :func:`numpy.polynomial.hermite_e.hermegauss` divided by their sum, so they sum to 1
        exactly.  Cached and read-only.

    Examples
    --------
    >>> from geosym.gaussian.nodes import gauss_hermite
    >>> x, w = gauss_hermite(4)
    >>> round(float(w @ x**6), 12)  # E[z^6] = 15
    15.0
    """
    return _gauss_hermite(_check_count(n))


@cache
def _tensor_gauss_hermite(k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = gauss_hermite(n)
    grids = np.meshgrid(*([x] * k), indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=-1)
    wgrid = np.meshgrid(*([w] * k), indexing="ij")
    weights = np.prod(np.stack([g.ravel() for g in wgrid], axis=-1), axis=-1)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def gauss_hermite_rule(k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Tensor-product Gauss–Hermite rule for :math:`\mathbb E[F(z)]`, :math:`z\sim N(0, I_k)`.

    Parameters
    ----------
    k : int
        Dimension (1..4).
    n : int
        Nodes per dimension (:func:`gauss_hermite`).

    Returns
    -------
    nodes : numpy.ndarray, shape (n**k, k)
    weights : numpy.ndarray, shape (n**k,)
        :math:`\mathbb E[F(z)] \approx \sum_j w_j F(x_j)`; the weights sum to 1. Both arrays are
        cached and read-only. For :math:`u\sim N(0, C)` map the nodes by a square root
        :math:`S` of :math:`C` (``u = nodes @ S.T``).

    Examples
    --------
    >>> from geosym.gaussian.nodes import gauss_hermite_rule
    >>> x, w = gauss_hermite_rule(2, 10)
    >>> round(float(w @ (x[:, 0] ** 2 * x[:, 1] ** 2)), 12)  # E[z1^2 z2^2] = 1
    1.0
    """
    if k not in (1, 2, 3, 4):
        raise ValueError(f"k must be 1, 2, 3 or 4, got {k}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    return _tensor_gauss_hermite(int(k), int(n))


@cache
def _gauss_rayleigh(n: int) -> tuple[np.ndarray, np.ndarray]:
    xg, wg = gauss_legendre(60)
    edges = np.linspace(0.0, 14.0, 57)
    lo, hi = edges[:-1, None], edges[1:, None]
    x = (0.5 * (lo + hi) + 0.5 * (hi - lo) * xg).ravel()
    w = (0.5 * (hi - lo) * wg).ravel() * x * np.exp(-0.5 * x * x)
    alpha, beta = np.zeros(n), np.zeros(n)
    p_prev, p = np.zeros_like(x), np.full_like(x, 1.0 / np.sqrt(w.sum()))
    for j in range(n):
        alpha[j] = np.sum(w * x * p * p)
        q = (x - alpha[j]) * p - (beta[j] * p_prev if j else 0.0)
        nrm = np.sqrt(np.sum(w * q * q))
        if j + 1 < n:
            beta[j + 1] = nrm
        p_prev, p = p, q / nrm
    lam, vec = np.linalg.eigh(np.diag(alpha) + np.diag(beta[1:], 1) + np.diag(beta[1:], -1))
    wr = vec[0] ** 2 / np.sum(vec[0] ** 2)
    lam.setflags(write=False)
    wr.setflags(write=False)
    return lam, wr


@lru_cache(maxsize=16)
def _gauss_legendre_mp(n: int, dps: int) -> tuple[tuple, tuple]:
    x0, _ = gauss_legendre(n)
    xs, ws = [], []
    with mpmath.workdps(dps):
        for xi in x0:
            x = mpmath.mpf(float(xi))
            for _ in range(100):
                p0, p1 = mpmath.mpf(1), x  # Legendre recurrence: p1 = P_n(x), dp = P_n'(x)
                for m in range(2, n + 1):
                    p0, p1 = p1, ((2 * m - 1) * x * p1 - (m - 1) * p0) / m
                dp = n * (x * p1 - p0) / (x * x - 1)
                dx = p1 / dp
                x -= dx
                if abs(dx) < mpmath.mpf(10) ** (-dps - 2):
                    break
            xs.append(x)
            ws.append(2 / ((1 - x * x) * dp * dp))
    return tuple(xs), tuple(ws)


def gauss_rayleigh(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""n-point Gauss rule for the Rayleigh weight :math:`r e^{-r^2/2}` on :math:`[0, \infty)`.

    The radial rule of a 2-D standard normal in polar coordinates (mass 1).  Recurrence
    coefficients by the discretised Stieltjes procedure on a composite Gauss--Legendre
    discretisation of [0, 14] (tail < 1e-42), nodes and weights by Golub & Welsch (1969).
    Exact for :math:`r^k`, :math:`k \le 2n-1`, to rounding; cached and read-only.

    Examples
    --------
    >>> from geosym.gaussian.nodes import gauss_rayleigh
    >>> r, w = gauss_rayleigh(6)
    >>> round(float(w @ r**2), 12)  # E[r^2] = E[z1^2 + z2^2] = 2
    2.0
    """
    return _gauss_rayleigh(_check_count(n))


def gauss_legendre_mp(n: int, dps: int) -> tuple[tuple, tuple]:
    """n-point Gauss--Legendre nodes and weights on [-1, 1] as mpmath numbers at ``dps`` digits.

    :func:`gauss_legendre`'s nodes polished by Newton's method on the Legendre recurrence;
    cached (16 rules).

    Examples
    --------
    >>> import mpmath
    >>> from geosym.gaussian.nodes import gauss_legendre_mp
    >>> x, w = gauss_legendre_mp(3, 30)
    >>> with mpmath.workdps(30):  # the nodes are 0 and +-sqrt(3/5)
    ...     print(mpmath.nstr(x[2] ** 2 - mpmath.mpf(3) / 5, 3))
    0.0
    """
    return _gauss_legendre_mp(_check_count(n), int(dps))


def cholesky_clipped(cov: np.ndarray) -> np.ndarray:
    r"""Pivot-free lower Cholesky factors of a batch ``cov`` (B, d, d) of PSD matrices.

    Pivots below ``1e-13 * trace`` count as zero and their direction is dropped (the column
    below a zero pivot is set to 0), which is exact for PSD matrices: a repeated variable, or
    one that is a combination of the earlier ones, gets no independent node direction, and
    :math:`L L^\top = C` still holds.

    Parameters
    ----------
    cov : numpy.ndarray, shape (B, d, d)
        Symmetric positive semi-definite matrices.

    Returns
    -------
    numpy.ndarray, shape (B, d, d)
        Lower-triangular factors :math:`L` with :math:`LL^\top = C` (to rounding).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.nodes import cholesky_clipped
    >>> C = np.array([[[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 2.0]]])  # u2 = u1
    >>> L = cholesky_clipped(C)[0]
    >>> L[:, 1].tolist()  # the repeated variable has no direction of its own
    [0.0, 0.0, 0.0]
    >>> bool(np.allclose(L @ L.T, C[0]))
    True
    """
    B, d = cov.shape[:2]
    scale = np.maximum(np.abs(np.diagonal(cov, axis1=1, axis2=2)).sum(axis=1), 1e-300)
    factor = np.zeros_like(cov)
    for j in range(d):
        v = cov[:, j, j] - np.sum(factor[:, j, :j] ** 2, axis=1)
        pivot = np.sqrt(np.where(v > 1e-13 * scale, v, 0.0))
        factor[:, j, j] = pivot
        ok = pivot > 0.0
        for i in range(j + 1, d):
            num = cov[:, i, j] - np.sum(factor[:, i, :j] * factor[:, j, :j], axis=1)
            factor[:, i, j] = np.where(ok, num / np.where(ok, pivot, 1.0), 0.0)
    return factor


def nested_gauss_hermite(
    funcs: Sequence[ArrayFunc],
    cov: np.ndarray,
    n: int,
    chunk: int = 4_000_000,
) -> np.ndarray:
    r"""Vectorised :math:`E[\prod_{j=1}^d f_j(u_j)]`, :math:`u\sim\mathcal N(0, C)`, for a batch
    of covariances.

    Tensor Gauss--Hermite rule with ``n`` nodes per dimension, nested along the Cholesky factor
    :math:`u = L\xi` (:func:`cholesky_clipped`): :math:`f_j` is evaluated on :math:`n^j` points
    only, and the sum over :math:`\xi_j` is taken as soon as no later factor depends on it.  Exact
    when :math:`\prod_j f_j(u_j)` is a polynomial of degree :math:`\le 2n-1` in each
    :math:`\xi_j`.  A singular covariance (a zero pivot) is handled exactly by dropping that
    direction.  The rule is a fixed function of :math:`C` (smooth where the pivots are positive).

    Parameters
    ----------
    funcs : sequence of d callables
        Elementwise functions; ``funcs[j](u)`` must return a float array of ``u``'s shape.
    cov : array_like, shape (..., d, d)
        Covariances (symmetric PSD).
    n : int
        Nodes per dimension.
    chunk : int
        Batches are processed in chunks of at most ``chunk`` grid points (memory bound).

    Returns
    -------
    numpy.ndarray, shape ``cov.shape[:-2]``

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.nodes import nested_gauss_hermite
    >>> C = np.array([[2.0, 0.6, 0.1], [0.6, 1.0, 0.3], [0.1, 0.3, 1.5]])
    >>> ident = (lambda u: u,) * 3
    >>> sq = (lambda u: u**2,) * 2
    >>> round(float(nested_gauss_hermite(sq, C[:2, :2], 3)), 12)  # C11 C22 + 2 C12^2
    2.72
    >>> abs(float(nested_gauss_hermite(ident, C, 4))) < 1e-15  # odd moments vanish
    True
    """
    cov = np.asarray(cov, dtype=float)
    lead, d = cov.shape[:-2], cov.shape[-1]
    flat = cov.reshape(-1, d, d)
    x, w = gauss_hermite(n)
    out = np.empty(flat.shape[0])
    step = max(1, chunk // n**d)
    for s in range(0, flat.shape[0], step):
        factor = cholesky_clipped(flat[s : s + step])
        b = factor.shape[0]
        r = None
        for j in range(d - 1, -1, -1):  # innermost (most nodes) first
            u = 0.0
            for i in range(j + 1):
                axes = [1] * (j + 1)
                axes[i] = n
                u = u + factor[:, j, i].reshape((b,) + (1,) * (j + 1)) * x.reshape(axes)
            f = funcs[j](np.broadcast_to(u, (b,) + (n,) * (j + 1)))
            r = (f if r is None else f * r) @ w
        out[s : s + step] = r
    return out.reshape(lead)


def gauss_hermite_2d(
    f1: ArrayFunc, f2: ArrayFunc, c11: Any, c12: Any, c22: Any, n: int
) -> np.ndarray:
    r"""Vectorised :math:`E[f_1(u_1) f_2(u_2)]` for broadcastable covariance entries.

    :func:`nested_gauss_hermite` on the covariances
    :math:`\begin{pmatrix} c_{11} & c_{12}\\ c_{12} & c_{22}\end{pmatrix}`; the result has the
    broadcast shape of the entries.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.nodes import gauss_hermite_2d
    >>> sq = lambda u: u**2
    >>> gauss_hermite_2d(sq, sq, 1.0, np.array([0.0, 0.5]), 1.0, 3).round(12)  # 1 + 2 c12^2
    array([1. , 1.5])
    """
    c11, c12, c22 = np.broadcast_arrays(*(np.asarray(c, float) for c in (c11, c12, c22)))
    cov = np.stack([np.stack([c11, c12], -1), np.stack([c12, c22], -1)], -2)
    return nested_gauss_hermite((f1, f2), cov, n)


def covariance_from_upper(entries: np.ndarray, k: int) -> np.ndarray:
    """(B, k(k+1)/2) upper-triangle entries (row-major) to (B, k, k) symmetric matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.nodes import covariance_from_upper
    >>> covariance_from_upper(np.array([[1.0, 0.5, 2.0]]), 2)
    array([[[1. , 0.5],
            [0.5, 2. ]]])
    """
    iu = np.triu_indices(k)
    out = np.empty((entries.shape[0], k, k))
    out[:, iu[0], iu[1]] = entries
    out[:, iu[1], iu[0]] = entries
    return out

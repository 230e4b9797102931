"""Information geometry of the entropic transport cost C_λ.

Functions of histograms ``(p, q)``, a cost (matrix or :class:`Grid`) and ``reg`` = λ, built on
the potentials returned by :func:`sinkhorn` (Amari, Karakida & Oizumi 2018, Information Geometry
1:13-37, "AKO"; :ref:`theory-transport`):

- ``C_λ(p, q) = max_{α,β} <α,p> + <β,q> − ψ_λ(α, β)`` is the Legendre dual of the convex
  ``ψ_λ(α,β) = λ Σ_ij exp((α_i + β_j − M_ij)/λ) − λ``, so ``(α, β) = ∇C_λ`` are the natural
  and ``(p, q)`` the expectation coordinates of the exponential family of optimal plans (AKO §3);
- its Bregman divergence is ``λ · KL`` between optimal plans (AKO §3);
- the W↔KL family ``D_λ`` (AKO's one-parameter family), the Sinkhorn divergence (Feydy et al. 2019) and the
  Riemannian metric (AKO §4) follow.

Extra keyword arguments (``tol``, ``max_iter``, ``eps_scaling``, ``on_fail``) go to
:func:`sinkhorn`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sps
from scipy.optimize import linprog

from ..errors import NumericalError
from ._checks import as_histogram, check_cost, check_reg, histogram_shapes
from ._grid import Grid
from .sinkhorn import SinkhornResult, sinkhorn

__all__ = [
    "entropic_cost",
    "entropic_cost_gradient",
    "plan_divergence",
    "ako_divergence",
    "sinkhorn_divergence",
    "metric",
    "unregularized_ot",
]


def entropic_cost(
    p: np.ndarray, q: np.ndarray, cost: np.ndarray | Grid, reg: float, **solver: Any
) -> float:
    r"""The entropy-relaxed transport cost ``C_λ(p, q)`` (AKO 2018, eq. 1; Cuturi 2013, eq. 2).

    .. math:: C_λ(p, q) = \min_{P \in U(p,q)} \langle M, P\rangle - λ H(P)
                        = \langle α, p\rangle + \langle β, q\rangle .

    Not a divergence: ``C_λ(p, p) ≠ 0`` and ``q ↦ C_λ(p, q)`` is minimal at a blurred ``q``
    (AKO 2018, abstract: it "is not minimized at p = q").

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import Grid
    >>> p = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    >>> q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    >>> from geosym.transport import entropic_cost
    >>> round(entropic_cost(p, q, Grid((5,)), reg=0.05), 6)
    -0.064491
    """
    return sinkhorn(p, q, cost, reg, **solver).value


def entropic_cost_gradient(
    p: np.ndarray, q: np.ndarray, cost: np.ndarray | Grid, reg: float, **solver: Any
) -> tuple[np.ndarray, np.ndarray]:
    r"""The gradient ``∇C_λ(p, q) = (α, β)``: the Sinkhorn potentials (AKO 2018, §3).

    By Legendre duality with ``ψ_λ``, ``∂C_λ/∂p = α`` and ``∂C_λ/∂q = β`` along directions that
    keep the masses equal; the pair is defined up to ``(α + c, β − c)``. Entries on zero-mass
    bins are ``-inf`` (the entropy has infinite slope at 0).

    Returns
    -------
    (alpha, beta) : tuple of numpy.ndarray
        Shapes of ``p`` and ``q``.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import Grid
    >>> p = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    >>> q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    >>> from geosym.transport import entropic_cost_gradient
    >>> alpha, beta = entropic_cost_gradient(p, q, Grid((5,)), reg=0.05)
    >>> round(float(alpha @ p + beta @ q), 6)  # = C_λ(p, q): Legendre duality
    -0.064491
    """
    res = sinkhorn(p, q, cost, reg, **solver)
    return res.alpha, res.beta


def _bregman(res: SinkhornResult, ref: SinkhornResult, p: np.ndarray, q: np.ndarray) -> float:
    """``<α − α', p> + <β − β', q>``: ``λ KL(P ‖ P')`` for plans with marginals ``(p, q)``."""
    total = 0.0
    for pot, pot_ref, mass in ((res.alpha, ref.alpha, p), (res.beta, ref.beta, q)):
        keep = mass > 0
        if not np.all(np.isfinite(pot_ref[keep])):
            return float("inf")
        total += float(np.dot(pot[keep] - pot_ref[keep], mass[keep]))
    return total


#: Above this multiple of the largest cost, sinkhorn_divergence uses its large-reg expansion.
_LARGE_REG = 1e2
_DENSE_EXPANSION = 4_000_000  # largest n*n for which the expansion forms the dense cost


def _histograms(
    cost: np.ndarray | Grid, reg: float, **hists: np.ndarray
) -> tuple[np.ndarray | Grid, float, list[np.ndarray]]:
    cost = check_cost(cost)
    reg = check_reg(reg)
    src, dst = histogram_shapes(cost)
    if src != dst:
        raise ValueError(f"cost must be square (source = target space), got shapes {src}, {dst}")
    return cost, reg, [as_histogram(h, name, src) for name, h in hists.items()]


def plan_divergence(
    a: np.ndarray,
    b: np.ndarray,
    a_ref: np.ndarray,
    b_ref: np.ndarray,
    cost: np.ndarray | Grid,
    reg: float,
    **solver: Any,
) -> float:
    r"""Bregman divergence of ``C_λ`` on ``S × S`` = ``λ · KL`` between optimal plans (AKO 2018, §3).

    .. math::

        B_λ[(a,b):(a',b')] = C_λ(a,b) - C_λ(a',b') - \langle ∇C_λ(a',b'), (a-a', b-b')\rangle
                          = λ\, \mathrm{KL}(P^*_λ(a,b) \,\|\, P^*_λ(a',b'))
                          = \langle α-α', a\rangle + \langle β-β', b\rangle

    (AKO 2018, the canonical divergence of the dually flat manifold of optimal plans; the
    overall scaling used there is not confirmed). ``+inf`` when ``a'`` or ``b'``
    vanishes where ``a`` or ``b`` does not.

    Returns
    -------
    float
        Non-negative, zero iff ``(a, b) = (a', b')``.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import Grid
    >>> p = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    >>> q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    >>> from geosym.transport import plan_divergence
    >>> round(plan_divergence(p, q, q, p, Grid((5,)), reg=0.05), 6)
    0.124241
    >>> plan_divergence(p, q, p, q, Grid((5,)), reg=0.05)
    0.0
    """
    cost, reg, (a, b, a_ref, b_ref) = _histograms(cost, reg, a=a, b=b, a_ref=a_ref, b_ref=b_ref)
    res = sinkhorn(a, b, cost, reg, **solver)
    ref = sinkhorn(a_ref, b_ref, cost, reg, **solver)
    return _bregman(res, ref, a, b)


def ako_divergence(
    p: np.ndarray, q: np.ndarray, cost: np.ndarray | Grid, reg: float, **solver: Any
) -> float:
    r"""The one-parameter family ``D_λ[p : q]`` joining Wasserstein and KL (AKO 2018).

    .. math::

        D_λ[p:q] = \frac{1}{1+λ} B_λ[(p,q):(p,p)]
                 = \frac{λ}{1+λ}\, \mathrm{KL}(P^*_λ(p,q) \,\|\, P^*_λ(p,p)),

    with ``D_λ → C_0(p, q)`` (the unregularised OT cost, ``W_2^2`` for a squared distance) as
    ``λ → 0`` and ``D_λ → KL(q ‖ p)`` as ``λ → ∞``. This is the construction described in the
    abstract of Amari, Karakida & Oizumi 2018 (normalising factor ``λ/(1+λ)``); the exact
    normalisation and argument order of the paper are not confirmed; :ref:`theory-transport`).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import Grid
    >>> p = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    >>> q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    >>> from geosym.transport import ako_divergence
    >>> round(ako_divergence(p, q, Grid((5,)), reg=0.05), 6)
    0.034222
    """
    cost, reg, (p, q) = _histograms(cost, reg, p=p, q=q)
    res = sinkhorn(p, q, cost, reg, **solver)
    ref = sinkhorn(p, p, cost, reg, **solver)
    return _bregman(res, ref, p, q) / (1.0 + reg)


def sinkhorn_divergence(
    p: np.ndarray, q: np.ndarray, cost: np.ndarray | Grid, reg: float, **solver: Any
) -> float:
    r"""The Sinkhorn divergence ``S_λ(p, q) = C_λ(p,q) − ½ C_λ(p,p) − ½ C_λ(q,q)``.

    Feydy, Séjourné, Vialard, Amari, Trouvé & Peyré 2019 (AISTATS, eq. 3); the value does not
    depend on the entropy's reference measure (:ref:`theory-transport`). Non-negative and zero iff ``p = q``
    for costs with a positive universal kernel; ``S_λ → W`` as ``λ → 0`` and
    ``S_λ → −½ (p−q)ᵀ M (p−q)`` (an MMD with kernel ``−M``) as ``λ → ∞``.

    For ``reg`` above ``100`` times the largest cost, where the three dual values (each of
    size ``reg``) cancel to a small difference and lose digits (reg = 1e12 returned 0.1367
    for an exact 0.16), the value is the two-term large-``reg`` expansion instead, from
    :math:`C_\lambda(p,q) = p^\top M q - \|\Pi_{pq} M\|^2_{p\otimes q}/(2\lambda)
    + O(\lambda^{-2})` (second-order expansion of the dual's exponential;
    :math:`\Pi_{pq}` removes the row and column means under :math:`p\otimes q`): relative
    error :math:`O((\max M/\lambda)^2)` (a 20-point grid at the switch: the expansion
    and the dual values differ by 2e-7 relative, mostly rounding of the latter).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import Grid
    >>> p = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    >>> q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    >>> from geosym.transport import sinkhorn_divergence
    >>> round(sinkhorn_divergence(p, q, Grid((5,)), reg=0.05), 6)
    0.029141
    >>> sinkhorn_divergence(p, p, Grid((5,)), reg=0.05)
    0.0
    """
    cost, reg, (p, q) = _histograms(cost, reg, p=p, q=q)
    max_cost = cost.max_cost if isinstance(cost, Grid) else float(np.max(cost))
    n = p.size
    if reg > _LARGE_REG * max_cost and n * n <= _DENSE_EXPANSION:
        matrix = cost.cost_matrix() if isinstance(cost, Grid) else np.asarray(cost, float)
        a, b = p.ravel(), q.ravel()

        def value(u: np.ndarray, v: np.ndarray) -> float:
            centred = matrix - (matrix @ v)[:, None] - (u @ matrix)[None, :] + u @ matrix @ v
            return float(u @ matrix @ v - np.einsum("i,ij,j->", u, centred**2, v) / (2 * reg))

        return value(a, b) - 0.5 * (value(a, a) + value(b, b))
    cross = sinkhorn(p, q, cost, reg, **solver).value
    self_p = sinkhorn(p, p, cost, reg, **solver).value
    self_q = sinkhorn(q, q, cost, reg, **solver).value
    return cross - 0.5 * (self_p + self_q)


def metric(p: np.ndarray, cost: np.ndarray | Grid, reg: float, **solver: Any) -> np.ndarray:
    r"""Riemannian metric induced by ``q ↦ C_λ(p, q)`` at ``q = p`` (AKO 2018, §4).

    .. math::

        g_λ(p)[u, u] = λ\, u^\top L_λ(p)^{+} u, \qquad
        L_λ(p) = \mathrm{diag}(p) - P^\top \mathrm{diag}(p)^{-1} P, \quad P = P^*_λ(p, p),

    for tangent vectors ``Σ u = 0``: the Schur complement of ``∇²ψ_λ`` (AKO 2018, §4, the
    Riemannian metric of the dually flat structure). It tends to ``λ ×`` the Fisher metric
    ``Σ u_i²/p_i`` as ``λ → ∞`` and to twice the Otto–W₂ metric as ``λ → 0`` (checked
    numerically, :ref:`theory-transport`).
    ``L`` has the null vector ``1``; ``L⁺ = (L + 11ᵀ/n)⁻¹ − 11ᵀ/n``.

    Parameters
    ----------
    p : array_like
        Strictly positive histogram (the metric is infinite across zero-mass bins).

    Returns
    -------
    numpy.ndarray
        Symmetric ``(n, n)`` matrix ``G`` with ``g(u, u) = uᵀ G u`` for ``Σ u = 0``
        (grid histograms flattened in C order).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import Grid, metric
    >>> G = metric(np.array([0.1, 0.2, 0.4, 0.2, 0.1]), Grid((5,)), reg=0.05)
    >>> G.shape, bool(np.allclose(G, G.T))
    ((5, 5), True)
    >>> u = np.array([1.0, -1.0, 0.0, 0.0, 0.0])  # a tangent vector: sum(u) = 0
    >>> round(float(u @ G @ u), 6)
    1.158574
    """
    cost, reg, (p,) = _histograms(cost, reg, p=p)
    if np.any(p <= 0):
        raise ValueError("p must be strictly positive for metric(): the metric is infinite there")
    plan = sinkhorn(p, p, cost, reg, **solver).plan
    flat = p.ravel()
    schur = np.diag(flat) - plan.T @ (plan / flat[:, None])
    schur = 0.5 * (schur + schur.T)
    ones = np.full(schur.shape, 1.0 / flat.size)
    return reg * (np.linalg.inv(schur + ones) - ones)


def unregularized_ot(p: np.ndarray, q: np.ndarray, cost: np.ndarray | Grid) -> float:
    r"""The exact transport cost ``C_0(p, q) = min_{P ∈ U(p,q)} <M, P>`` by linear programming.

    The ``λ → 0`` limit of :func:`entropic_cost`, :func:`ako_divergence` and
    :func:`sinkhorn_divergence` (``W_2^2`` for a squared Euclidean cost; Peyré & Cuturi 2019,
    §3.1). Solved with scipy's HiGHS on ``n·m`` variables: meant for ``n·m`` up to ~10⁵.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import Grid
    >>> p = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    >>> q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    >>> from geosym.transport import unregularized_ot
    >>> round(unregularized_ot(p, q, Grid((5,))), 6)
    0.0375
    """
    cost = check_cost(cost)
    src, dst = histogram_shapes(cost)
    p, q = as_histogram(p, "p", src), as_histogram(q, "q", dst)
    matrix = cost.cost_matrix() if isinstance(cost, Grid) else cost
    n, m = matrix.shape
    rows = sps.kron(sps.eye(n), np.ones((1, m)))
    cols = sps.kron(np.ones((1, n)), sps.eye(m))
    res = linprog(
        matrix.ravel(),
        A_eq=sps.vstack([rows, cols]).tocsr(),
        b_eq=np.r_[p.ravel(), q.ravel()],
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        raise NumericalError(f"unregularized_ot: linear program failed ({res.message})")
    return float(res.fun)

r"""Orthant probabilities and truncated moments of centred Gaussians, dimensions 1 to 4.

For :math:`u\sim\mathcal N(0, C)` in dimension :math:`r\le 4` this module evaluates, for a
batch of covariances at once,

* the orthant probability :math:`P_r(C) = \Pr(u > 0)`;
* the truncated first moments :math:`m_j(C) = E[u_j\,1\{u>0\}]`;
* the truncated second moments :math:`M_{ij}(C) = E[u_i u_j\,1\{u>0\}]`;
* the committee-machine integral of ReLU, :math:`I_4 = E[\Theta(u_1)\Theta(u_2)\,
  g(u_3)g(u_4)]` with :math:`g(u)=\max(u,0)` (:func:`relu_i4`), which is a truncated second
  moment over the distinct fields of its four arguments.

Formulas
--------
*Orthant probabilities* (Sheppard's arc-sine law and its sign-moment expansion): with
:math:`s_i=\mathrm{sign}(u_i)`, :math:`P_r = 2^{-r}\sum_{S} E[\prod_{i\in S}s_i]`, odd moments
vanish and :math:`E[s_is_j] = \tfrac2\pi\arcsin\rho_{ij}`, hence

.. math::

    P_2 = \tfrac14 + \tfrac{\arcsin\rho_{12}}{2\pi},\quad
    P_3 = \tfrac18 + \tfrac{1}{4\pi}\sum_{i<j}\arcsin\rho_{ij},\quad
    P_4 = \tfrac1{16} + \tfrac{1}{8\pi}\sum_{i<j}\arcsin\rho_{ij} + \tfrac1{16}E[s_1s_2s_3s_4].

The four-fold sign moment has no elementary form (Abrahamson 1964, Ann. Math. Statist. 35,
1685).  Plackett's reduction (Plackett 1954, Biometrika 41, 351: a derivative of a normal
integral with respect to a correlation is the mixed second derivative in the two variables,
also Price's theorem) gives :math:`\partial E[s_1s_2s_3s_4]/\partial\rho_{ij} =
4\,\varphi_2(0,0;\rho_{ij})\,E[s_ks_l\mid u_i=u_j=0] = \tfrac{4}{\pi^2}
\arcsin(\rho_{kl\cdot ij})/\sqrt{1-\rho_{ij}^2}`, with :math:`\{k,l\}` the complementary pair
and :math:`\rho_{kl\cdot ij}` the partial correlation.  Along the path :math:`R(t) = (1-t)I+tR`
(positive definite for :math:`t<1`, :math:`E[\cdot]=0` at :math:`t=0`)

.. math::

    E[s_1s_2s_3s_4] = \frac{4}{\pi^2}\int_0^1 \sum_{i<j}
        \frac{\rho_{ij}\,\arcsin\rho_{kl\cdot ij}(t)}{\sqrt{1-t^2\rho_{ij}^2}}\,dt ,

evaluated with a fixed tanh-sinh (double-exponential) rule (Takahasi & Mori 1974, Publ. RIMS
9, 721), which is insensitive to the inverse-square-root end-point singularity at :math:`t=1`
when some :math:`|\rho_{ij}|\to1` (coinciding fields).  A fixed rule keeps the value smooth in
:math:`C`.

*Truncated moments* (Tallis 1961, J. R. Statist. Soc. B 23, 223; in recursive form Kan &
Robotti 2017, J. Comput. Graph. Statist. 26, 930): Gaussian integration by parts,
:math:`E[u_i h(u)] = \sum_k C_{ik} E[\partial_k h(u)]`, with :math:`h = 1\{u>0\}` and
:math:`h = u_j 1\{u>0\}`, gives

.. math::

    m_j(C) = \sum_k C_{jk}\,\varphi(0; C_{kk})\,P_{r-1}(C^{(k)}), \qquad
    M_{ij}(C) = C_{ij}P_r(C) + \sum_{k\ne j} C_{ik}\,\varphi(0;C_{kk})\,m_j(C^{(k)}),

where :math:`\varphi(0;c) = (2\pi c)^{-1/2}` and :math:`C^{(k)} = C_{-k,-k} - C_{-k,k}C_{k,-k}
/C_{kk}` is the covariance of the other fields given :math:`u_k = 0`.  So :math:`M` of a 4-D
covariance needs :math:`P_4` (the one integral above) and closed-form :math:`P_3, P_2`.

Accuracy
--------
:data:`RELU_I4_ERROR` is the stated absolute error bound of :func:`relu_i4` (and of
:func:`orthant_probability` in 4-D) for covariances with unit-order diagonal; it is checked in
``tests/test_orthant.py`` against 30-digit mpmath evaluations, against an independent
nested-quadrature reference and against Monte Carlo.

Examples
--------
>>> import numpy as np
>>> from geosym.gaussian.orthant import orthant_probability, truncated_second_moment
>>> R = np.full((4, 4), 0.5) + 0.5 * np.eye(4)  # equicorrelated, rho = 1/2: P_4 = 1/5
>>> round(float(orthant_probability(R)), 12)
0.2
>>> M = truncated_second_moment(np.eye(2))  # independent: E[u^2 1{u>0}] P(u>0) = 1/4
>>> np.round(M, 6)
array([[0.25    , 0.159155],
       [0.159155, 0.25    ]])
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = [
    "COMMITTEE_I4",
    "RELU_I4_ERROR",
    "orthant_probability",
    "relu_i4",
    "relu_i4_entries",
    "truncated_first_moment",
    "truncated_second_moment",
]

#: stated absolute error bound of :func:`relu_i4`, in units of :math:`\sqrt{C_{33}C_{44}}`:
#: measured at most 1e-14 on well-conditioned covariances and 8e-8 where fields nearly coincide
#: (``tests/test_orthant.py``)
RELU_I4_ERROR = 1e-7

_PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


@cache
def _tanh_sinh(h: float = 1.0 / 16.0, xmax: float = 3.3) -> tuple[np.ndarray, np.ndarray]:
    r"""Tanh-sinh nodes on (0, 1) as ``(t, 1 - t)`` pairs and weights (cached, read-only).

    :math:`t = (1+\tanh(\tfrac\pi2\sinh x))/2`, :math:`x = kh`, :math:`|x|\le x_{\max}`;
    :math:`1-t` is returned separately (computed without cancellation).
    """
    x = np.arange(-int(xmax / h), int(xmax / h) + 1) * h
    s = 0.5 * np.pi * np.sinh(x)
    one_minus_t = 1.0 / (1.0 + np.exp(2.0 * s))
    t = 1.0 / (1.0 + np.exp(-2.0 * s))
    w = h * 0.25 * np.pi * np.cosh(x) / np.cosh(s) ** 2
    nodes = np.stack([t, one_minus_t])
    nodes.flags.writeable = w.flags.writeable = False
    return nodes, w


def _check(cov: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    c = np.asarray(cov, dtype=float)
    if c.ndim < 2 or c.shape[-1] != c.shape[-2] or c.shape[-1] not in dims:
        raise ValueError(
            f"cov must have shape (..., r, r) with r in {dims}, got shape {np.shape(cov)}"
        )
    if not np.isfinite(c).all():
        raise ValueError("cov has non-finite entries")
    if not (np.diagonal(c, axis1=-2, axis2=-1) > 0).all():
        raise ValueError("cov must have positive variances (diagonal entries)")
    return c


def _corr(c: np.ndarray) -> np.ndarray:
    """Correlation matrices of a batch (..., r, r); a zero variance gives zero correlations."""
    d = np.sqrt(np.maximum(np.diagonal(c, axis1=-2, axis2=-1), 0.0))
    den = d[..., :, None] * d[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(den > 0, c / np.where(den > 0, den, 1.0), 0.0)
    return np.clip(rho, -1.0, 1.0)


# -- double-double arithmetic (Dekker 1971, Numer. Math. 18, 224): the conditional covariances
# of nearly coinciding fields are small differences of O(1) products; carrying them as
# unevaluated sums hi + lo keeps their relative accuracy, hence that of the correlations.
_SPLIT = 134217729.0  # 2^27 + 1


def _two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    t = _SPLIT * b
    bh = t - (t - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def _dd_mul(ah: np.ndarray, al: np.ndarray, bh: np.ndarray, bl: np.ndarray) -> tuple:
    p, e = _two_prod(ah, bh)
    return _two_sum(p, e + (ah * bl + al * bh))


def _dd_sub(ah: np.ndarray, al: np.ndarray, bh: np.ndarray, bl: np.ndarray) -> tuple:
    s, e = _two_sum(ah, -bh)
    return _two_sum(s, e + (al - bl))


def _dd_div(ah: np.ndarray, al: np.ndarray, bh: np.ndarray, bl: np.ndarray) -> tuple:
    q = ah / bh
    rh, rl = _dd_sub(ah, al, *_dd_mul(q, np.zeros_like(q), bh, bl))
    return _two_sum(q, (rh + rl) / bh)


def _det2_dd(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> tuple:
    """``a d - b c`` as a double-double (exact products)."""
    return _dd_sub(*_two_prod(a, d), *_two_prod(b, c))


def _det3(m: list[list[np.ndarray]]) -> np.ndarray:
    """Determinant of a 3x3 matrix of arrays, cofactor expansion in double-double."""
    out = (np.zeros_like(m[0][0]), np.zeros_like(m[0][0]))
    for col, sign in ((0, 1.0), (1, -1.0), (2, 1.0)):
        a, b = [c for c in range(3) if c != col]
        mh, ml = _det2_dd(m[1][a], m[1][b], m[2][a], m[2][b])
        ph, pl = _dd_mul(sign * m[0][col], np.zeros_like(mh), mh, ml)
        out = _dd_sub(*out, -ph, -pl)
    return out[0] + out[1]


def _sign_moment4(rho: np.ndarray) -> np.ndarray:
    r""":math:`E[s_1s_2s_3s_4]` for correlation matrices ``rho`` (..., 4, 4): Plackett path
    integral (module docstring) on the fixed tanh-sinh rule.

    The partial correlation :math:`\rho_{kl\cdot ij}(t)` is a ratio of 3x3 minors of
    :math:`R(t) = sI + tR`, :math:`s = 1-t`, written as polynomials in :math:`(s, t)` whose
    coefficients are minors of :math:`R` (computed once, in double-double): no cancellation at
    the nodes near :math:`t = 1`, where nearly coinciding fields make the minors tiny.
    """
    (t, s), w = _tanh_sinh()
    out = np.zeros(rho.shape[:-2])
    r = [[rho[..., a, b, None] for b in range(4)] for a in range(4)]
    one = np.ones_like(r[0][0])

    def principal(i: int, j: int, k: int) -> np.ndarray:
        e3 = _det3([[r[a][b] if a != b else one for b in (i, j, k)] for a in (i, j, k)])
        e2 = np.zeros_like(one)
        for a, b in ((i, j), (i, k), (j, k)):
            h, lo = _det2_dd(one, r[a][b], r[a][b], one)  # 1 - rho^2
            e2 = e2 + (h + lo)
        return t**3 * e3 + t**2 * s * e2 + 3.0 * t * s**2 + s**3

    for (i, j), (k, ll) in zip(_PAIRS, _PAIRS[::-1], strict=True):
        rij = r[i][j]
        m = [[r[a][b] if a != b else one for b in (i, j, ll)] for a in (i, j, k)]
        a0 = _det3(m)
        h1, l1 = _det2_dd(one, r[j][ll], r[k][j], r[k][ll])
        h2, l2 = _det2_dd(one, r[i][ll], r[k][i], r[k][ll])
        h, lo = _two_sum(h1, h2)
        a1 = h + (lo + l1 + l2)
        ckl = t**3 * a0 + t**2 * s * a1 + t * s**2 * r[k][ll]
        prod = np.maximum(principal(i, j, k), 0.0) * np.maximum(principal(i, j, ll), 0.0)
        a = np.abs(rij)
        den = (s + t * (1.0 - a)) * (1.0 + t * a)  # 1 - t^2 rho_ij^2 without cancellation
        with np.errstate(divide="ignore", invalid="ignore"):
            pc = np.where(prod > 0, ckl / np.sqrt(np.where(prod > 0, prod, 1.0)), 0.0)
            f = np.where(den > 0, rij * np.arcsin(np.clip(pc, -1.0, 1.0)) / np.sqrt(den), 0.0)
        out = out + f @ w
    return out * (4.0 / np.pi**2)


def _orthant(c: np.ndarray) -> np.ndarray:
    """Orthant probability for a batch (..., r, r), r in 0..4, without input checks."""
    r = c.shape[-1]
    if r == 0:
        return np.ones(c.shape[:-2])
    if r == 1:
        return np.full(c.shape[:-2], 0.5)
    rho = _corr(c)
    iu = np.triu_indices(r, 1)
    asum = np.arcsin(rho[..., iu[0], iu[1]]).sum(axis=-1)
    if r == 2:
        return 0.25 + asum / (2.0 * np.pi)
    if r == 3:
        return 0.125 + asum / (4.0 * np.pi)
    return 0.0625 + asum / (8.0 * np.pi) + _sign_moment4(rho) / 16.0


@cache
def _others(r: int) -> np.ndarray:
    """(r, r-1) indices: row k lists 0..r-1 without k."""
    return np.array([[j for j in range(r) if j != k] for k in range(r)], dtype=np.intp).reshape(
        r, r - 1
    )


def _conditionals(c: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""For each k, the covariance :math:`C^{(k)} = C_{-k,-k} - C_{-k,k}C_{k,-k}/C_{kk}` of
    the other fields given :math:`u_k=0`, as a double-double ``(hi, lo)`` of shape
    (..., r, r-1, r-1), and :math:`\varphi(0; C_{kk})` (..., r).  ``(c, lo)`` is ``C`` as a
    double-double."""
    r = c.shape[-1]
    o = _others(r)
    k = np.arange(r)
    d = np.diagonal(c, axis1=-2, axis2=-1)
    scale = np.maximum(d.max(axis=-1, keepdims=True), 1e-300)
    dpos = np.maximum(d, 1e-30 * scale)
    dlo = np.where(d > 1e-30 * scale, np.diagonal(lo, axis1=-2, axis2=-1), 0.0)
    ch, cl = c[..., o, k[:, None]], lo[..., o, k[:, None]]  # (..., r, r-1): C[o[k, a], k]
    ph, pl = _dd_mul(ch[..., :, None], cl[..., :, None], ch[..., None, :], cl[..., None, :])
    qh, ql = _dd_div(ph, pl, dpos[..., :, None, None], dlo[..., :, None, None])
    idx = (..., o[:, :, None], o[:, None, :])
    hi, lo2 = _dd_sub(c[idx], lo[idx], qh, ql)
    return hi, lo2, _INV_SQRT_2PI / np.sqrt(dpos)


def _first(c: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Truncated first moments for a batch (..., r, r) (double-double ``c + lo``)."""
    r = c.shape[-1]
    if r == 1:
        return np.sqrt(np.maximum(c[..., 0], 0.0) / (2.0 * np.pi))
    hi, lo2, phi = _conditionals(c, lo)
    return (c @ (phi * _orthant(hi))[..., None])[..., 0]


def _second(c: np.ndarray) -> np.ndarray:
    """Truncated second moments for a batch (..., r, r) without input checks."""
    r = c.shape[-1]
    p = _orthant(c)[..., None, None]
    if r == 1:
        return c * p
    hi, lo, phi = _conditionals(c, np.zeros_like(c))
    m = _first(hi, lo)  # (..., r, r-1): m_j(C^(k)) at the positions o[k]
    e = np.zeros(c.shape)
    o = _others(r)
    e[..., np.arange(r)[:, None], o] = m  # e[k, j] = m_j(C^(k)), 0 at j = k
    out = c * p + (c * phi[..., None, :]) @ e
    return 0.5 * (out + np.swapaxes(out, -1, -2))


def orthant_probability(cov: np.ndarray) -> np.ndarray:
    r"""Orthant probability :math:`\Pr(u>0)`, :math:`u\sim\mathcal N(0,C)`, dimension 1 to 4.

    Parameters
    ----------
    cov
        Covariances of shape (..., r, r), r in 1..4, positive variances; leading axes are a
        batch.

    Returns
    -------
    numpy.ndarray
        Shape ``cov.shape[:-2]``.  Closed forms for r <= 3 (Sheppard's arc-sine law); for r = 4
        the Plackett (1954) path integral on a fixed tanh-sinh rule, absolute error below
        :data:`RELU_I4_ERROR` (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.orthant import orthant_probability
    >>> float(orthant_probability(np.eye(4)))
    0.0625
    >>> C = np.array([[1.0, 0.3], [0.3, 2.0]])
    >>> bool(np.isclose(orthant_probability(C), 0.25 + np.arcsin(0.3 / np.sqrt(2)) / (2 * np.pi)))
    True
    """
    return _orthant(_check(cov, (1, 2, 3, 4)))


def truncated_first_moment(cov: np.ndarray) -> np.ndarray:
    r"""Truncated first moments :math:`E[u_j\,1\{u>0\}]` (Tallis 1961), dimension 1 to 4.

    Parameters
    ----------
    cov
        Covariances of shape (..., r, r), r in 1..4, positive variances.

    Returns
    -------
    numpy.ndarray
        Shape ``cov.shape[:-1]``: :math:`m_j = \sum_k C_{jk}\varphi(0;C_{kk})P_{r-1}(C^{(k)})`.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.orthant import truncated_first_moment
    >>> np.round(truncated_first_moment(np.eye(3)), 6)  # E[u 1{u>0}] P(u>0)^2 = 1/(4 sqrt(2 pi))
    array([0.099736, 0.099736, 0.099736])
    """
    c = _check(cov, (1, 2, 3, 4))
    return _first(c, np.zeros_like(c))


def truncated_second_moment(cov: np.ndarray) -> np.ndarray:
    r"""Truncated second moments :math:`E[u_iu_j\,1\{u>0\}]` (Tallis 1961; Kan & Robotti 2017),
    dimension 1 to 4.

    Parameters
    ----------
    cov
        Covariances of shape (..., r, r), r in 1..4, positive variances.

    Returns
    -------
    numpy.ndarray
        Shape ``cov.shape``: :math:`M_{ij} = C_{ij}P_r(C) + \sum_{k\ne j}C_{ik}\varphi(0;C_{kk})
        m_j(C^{(k)})` (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.orthant import truncated_second_moment
    >>> C = np.array([[1.0, 1.0], [1.0, 1.0]])  # u_1 = u_2: E[u^2 1{u>0}] = 1/2
    >>> np.round(truncated_second_moment(C), 12)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    return _second(_check(cov, (1, 2, 3, 4)))


def relu_i4(cov: np.ndarray, tol: float = 1e-14) -> np.ndarray:
    r"""ReLU's :math:`I_4 = E[\Theta(u_1)\Theta(u_2)\,g(u_3)g(u_4)]`, :math:`g(u)=\max(u,0)`.

    With :math:`\Theta^2=\Theta` and :math:`\Theta(u)g(u)=g(u)`, the integrand is
    :math:`u_3u_4\,1\{u>0\}` over the *distinct* fields, so :math:`I_4` is the truncated second
    moment :math:`M_{34}` (:func:`truncated_second_moment`) of the covariance of the distinct
    fields.  Fields ``a, b`` count as the same (up to a positive scale) when their correlation
    :math:`\rho_{ab} \ge 1 -` ``tol`` (e.g. the repeated indices of
    the committee ODE's :math:`I_4(i,i,c,e)`); each coincidence pattern is evaluated in its own
    dimension, for the whole batch at once.  Opposite fields (:math:`\rho_{ab}\le -1 +`
    ``tol``) give 0.  Merging changes the value by
    :math:`O(\sqrt{\mathrm{tol}})` relative (about 1e-8 at the default), below the error
    bound; unmerged near-coincident fields are handled by the double-double minors.

    Parameters
    ----------
    cov
        Covariances (..., 4, 4) of :math:`(u_1,u_2,u_3,u_4)`, positive variances.
    tol
        Relative threshold for coinciding fields.

    Returns
    -------
    numpy.ndarray
        Shape ``cov.shape[:-2]``; absolute error below :data:`RELU_I4_ERROR` times the
        scale :math:`\sqrt{C_{33}C_{44}}`.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.orthant import relu_i4
    >>> float(relu_i4(np.eye(4)))  # (1/2)(1/2)(1/sqrt(2 pi))^2
    0.039788735772973836
    >>> C = np.ones((4, 4))  # all four fields equal: E[u^2 1{u>0}] = 1/2
    >>> float(relu_i4(C))
    0.5
    """
    c = _check(cov, (4,))
    lead = c.shape[:-2]
    flat = c.reshape(-1, 4, 4)
    rho = _corr(flat)
    same = 1.0 - rho <= tol
    # u_b = -c u_a (c > 0): Theta(u_a) Theta(u_b) = 0 almost surely
    opposite = ((1.0 + rho <= tol) & ~np.eye(4, dtype=bool)).any(axis=(1, 2))
    sd = np.sqrt(np.diagonal(flat, axis1=1, axis2=2))
    first = np.argmax(same, axis=2)  # first field coinciding with each field (itself at worst)
    first = np.take_along_axis(first, first, axis=1)  # chains a~b~c point to their head
    first = np.take_along_axis(first, first, axis=1)
    patterns, group = np.unique(first, axis=0, return_inverse=True)
    out = np.zeros(flat.shape[0])
    for k, pat in enumerate(patterns):  # at most 15 coincidence patterns, not batch elements
        rows = np.flatnonzero((group.ravel() == k) & ~opposite)
        heads = np.flatnonzero(pat == np.arange(4))
        pos = np.searchsorted(heads, pat)  # position of each field's head among the heads
        sub = flat[rows][:, heads[:, None], heads[None, :]]
        # u_3 = (sd_3 / sd_head) u_head on a coincident field
        scale = sd[rows, 2] * sd[rows, 3] / (sd[rows, pat[2]] * sd[rows, pat[3]])
        out[rows] = _second(sub)[:, pos[2], pos[3]] * scale
    return out.reshape(lead)


def relu_i4_entries(
    c11: np.ndarray,
    c12: np.ndarray,
    c13: np.ndarray,
    c14: np.ndarray,
    c22: np.ndarray,
    c23: np.ndarray,
    c24: np.ndarray,
    c33: np.ndarray,
    c34: np.ndarray,
    c44: np.ndarray,
) -> np.ndarray:
    r""":func:`relu_i4` from broadcastable upper-triangle entries (the committee provider's
    kernel signature).

    Examples
    --------
    >>> from geosym.gaussian.orthant import relu_i4_entries
    >>> round(float(relu_i4_entries(1, 0, 0, 0, 1, 0, 0, 1, 0, 1)), 12)  # 1 / (8 pi)
    0.039788735773
    """
    e = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (c11, c12, c13, c14, c22, c23, c24, c33, c34, c44))
    )
    iu = np.triu_indices(4)
    cov = np.empty(e[0].shape + (4, 4))
    for x, a, b in zip(e, *iu, strict=True):
        cov[..., a, b] = cov[..., b, a] = x
    return relu_i4(cov)


#: closed-form committee-machine :math:`I_4` kernels by activation expression: (kernel of the
#: ten covariance entries, method note, absolute error bound)
COMMITTEE_I4 = {
    "Max(0, x)": (
        relu_i4_entries,
        "orthant moments: Tallis (1961) truncated second moment, 4-D orthant probability by "
        "Plackett's (1954) 1-D integral, tanh-sinh rule",
        RELU_I4_ERROR,
    )
}

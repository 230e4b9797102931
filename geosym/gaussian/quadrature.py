r"""Certified numeric fallback for Gaussian expectations :math:`\mathbb E[f_1(u_1)\cdots f_k(u_k)]`.

This module is the numeric node of geosym's Gaussian-expectation engine: it works on plain,
vectorised NumPy callables and a batch of covariance matrices, and needs no SymPy.

Schemes
-------
``k = 1, 2`` (error target ``tol``, default ``1e-10`` absolute).
    The Cholesky/conditional decomposition

    .. math::

        u_1 = \sqrt{q_{11}}\,z_1,\qquad u_2 = b\,z_1 + s\,z_2,\qquad
        b = q_{12}/\sqrt{q_{11}},\quad s = \sqrt{q_{22} - q_{12}^2/q_{11}},

    with :math:`z_1, z_2` independent standard normals, turns the expectation into the iterated
    integral :math:`\int\varphi(z_1) f_1(\sqrt{q_{11}}z_1)\,g(z_1)\,dz_1` with the inner
    expectation :math:`g(z_1) = \int\varphi(z_2) f_2(b z_1 + s z_2)\,dz_2`.

    *Smooth functions* (no ``kinks``): each 1-D integral is a trapezoidal rule in a variable
    :math:`t` related to :math:`z` by :math:`t = y + \beta\,\operatorname{asinh}(y/a)`
    (:math:`\beta = 2.5`), :math:`y = z - z_\ast`, where :math:`z_\ast` is the image of the
    activation's transition point :math:`u = 0` and :math:`a` its width in :math:`z` units
    (:math:`a = \min(1, 1/\sigma)` for a standard deviation :math:`\sigma`, rounded down to
    :math:`2^{-j/4}` so that node tables are cached). Far from :math:`z_\ast` the nodes are
    uniform (the trapezoidal rule is spectrally accurate for the Gaussian bulk); near it they
    are graded, so that the complex singularities of saturating functions (tanh: poles at
    :math:`u = \pm i\pi/2`, i.e. at distance :math:`\pi/(2\sqrt q)` in :math:`z`, the reason
    plain Gauss–Hermite degrades at large variance) move away from the real :math:`t` axis
    (to :math:`|\operatorname{Im} t|\approx(\pi/2)(a+\beta)`). The inner grid is anchored at
    :math:`u_2 = 0`, so the inner nodes in :math:`u_2` do not depend on :math:`z_1`: ``f2`` is
    evaluated once per covariance on a table, and each outer node gathers its window of the
    table and recomputes only the Gaussian weights :math:`\varphi(z_\ast(z_1) + y_k)`. For
    :math:`s < 0.35` (inner transition wider than the Gaussian, e.g. :math:`|\rho|\to1`) the
    inner rule is the uniform trapezoidal rule in :math:`z_2`. Two rules offset by half a step
    (in both variables) are evaluated; their mean (a rule of half the step) is returned and
    their difference, which estimates the error of either single rule and so bounds the
    mean's much smaller error, is the reported ``error``. The step is reduced
    (1.0, 0.8, 0.6, ...) until that bound meets ``tol``; for targets below 1e-9 an integrand
    starts at 0.8 unless step 1.0 meets the target on a probe of 64 items of a large batch
    (``_smooth_start``). Several integrands on one batch share nodes and Gaussian weights
    (:func:`gaussian_expectations`), and the weights are computed for the outer nodes
    :math:`z_1 \ge 0` only (both node sets are symmetric). The bound is conservative: measured
    errors are typically 1e-13..1e-16 when it reports 1e-10.

    *Functions with kinks or jumps, all at* :math:`u = 0` (``k = 2``; relu, step, abs, elu,
    leaky relu, ...): in polar coordinates :math:`z = r(\cos\theta, \sin\theta)` the kink
    lines :math:`u_1 = 0` and :math:`u_2 = 0` are rays from the origin, which cut the plane into
    four wedges on each of which the integrand is analytic. The radial integral is a Gauss rule
    for the weight :math:`r e^{-r^2/2}` on :math:`[0,\infty)` (exact for the polynomial growth
    of relu-like pieces), the angular one Gauss–Legendre on 8 panels shared by the wedges in
    proportion to their angles (at least one each, so nearly parallel kink lines at
    :math:`|\rho|\to1` cost nothing extra) and graded towards the rays. Levels
    (angular x radial nodes per panel) 8x13, 10x18, 12x22; the finer of two successive levels
    is returned and the reported error is their difference (the error of the coarser rule, a
    conservative estimate for the finer one) plus the rounding floor. About 2.3e3 evaluations
    of each function per covariance (two levels), ~4-6x the time of a 25-node Gauss–Hermite
    product rule. It is used for variances up to 16 (:math:`\sigma\le4`): at large variance
    pieces such as ``expm1`` of elu vary on the scale :math:`1/\sigma` in :math:`z`, which
    neither level resolves, and the two levels would agree on a wrong value. Larger variances,
    and covariances the ladder does not resolve, go on to the general scheme below.

    *Functions with kinks or jumps* (general): composite Gauss–Legendre on panels (a uniform grid of
    width 2.83 on the Gaussian bulk) whose end points include every kink: in :math:`z_1` at
    :math:`c/\sqrt{q_{11}}` for ``f1``, and at the image :math:`c/b` of a kink of ``f2``,
    graded over its smoothing width :math:`s/|b|` (which matters as :math:`|\rho|\to1`); in
    :math:`z_2` at :math:`(c - b z_1)/s`, moving with :math:`z_1`. Node counts per panel
    8, 12, 16, ... ; the finer rule is returned with the QUADPACK-style estimate
    :math:`10\,\ell_1 (|d|/\ell_1)^{3/2}` of its error (:math:`d` the difference of the two
    rules, :math:`\ell_1` the sum of absolute terms), which assumes geometric convergence of
    Gauss–Legendre on analytic pieces. At large variance the panels next to each kink are
    graded geometrically (ratio 4) down to :math:`1/\sigma` (pieces such as ``expm1`` of elu
    vary on the scale 1 in :math:`u`). This path costs ~2e4 evaluations per covariance
    (two levels; ~50-60x the time of a 25-node Gauss–Hermite product rule).

    Both schemes truncate :math:`|z| \le 8.5` (Gaussian tail :math:`< 10^{-17}`, enough for
    integrands of polynomial growth) and handle :math:`s = 0` (:math:`|\rho| = 1`), tiny
    :math:`s`, :math:`q_{11} = 0` and duplicated variables with no special casing by the
    caller.

``k = 3, 4``
    Tensor-product Gauss–Hermite (probabilists' nodes,
    :func:`~geosym.gaussian.nodes.gauss_hermite_rule`, cached) mapped by the symmetric square
    root of :math:`C` (eigenvalues clipped at 0, robust for singular :math:`C`); nodes per
    dimension are raised (k=3: 12..64, k=4: 10..32) until two
    successive resolutions agree to ``tol`` (default 1e-8). This bound is an *estimate*, not a
    certificate, and ``kinks`` are ignored: Gauss–Hermite is only as good as the integrand is
    smooth on the scale of :math:`\sqrt C` (erf-type I4 with variances ~3 needs ~32 nodes per
    dimension for 1e-8; kinked integrands converge like O(1/n) and should be reduced to
    ``k <= 2`` first, e.g. by Stein's lemma). Known gap: about 2 % of random committee-like
    4x4 covariances with variances up to ~3 do not reach 1e-8 within the default
    ``max_nodes`` (IntegrationError), and the two-resolution estimate is not a bound.

Rounding floor: a target ``tol`` below the float64 rounding floor
:math:`64\,\epsilon\,\ell_1` (e.g. :math:`\mathbb E[\mathrm{softplus}(u)^2]\approx q/2` at
:math:`q = 10^8`) cannot be met; the refinement then stops once the discretisation estimate
is at the floor, and the reported ``error`` (estimate + floor) exceeds ``tol``.

The reported ``error`` for ``k <= 2`` is an estimate built from two independent rules plus a
rounding term; it is reliable for the piecewise analytic integrands of neural-network practice,
but no black-box quadrature can certify an arbitrary callable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import mpmath
import numpy as np
from numpy.lib.stride_tricks import as_strided

from geosym.errors import IntegrationError

from .nodes import gauss_hermite_rule, gauss_legendre, gauss_legendre_mp, gauss_rayleigh

__all__ = [
    "QuadratureResult",
    "gaussian_expectation",
    "gaussian_expectations",
    "gaussian_expectation_mp",
]

ArrayFunc = Callable[[np.ndarray], np.ndarray]

_Z_MAX = 8.5  # truncation of each standard-normal variable, |z| <= _Z_MAX (tail < 1e-17)
_BETA = 2.5  # grading strength of the asinh map
_S_MIN = 0.35  # below this inner standard deviation the inner grid is uniform in z2
_STEPS = (1.0, 0.8, 0.6, 0.45, 0.34, 0.25, 0.18)  # trapezoidal steps in t, coarse to fine
_GL_NODES = (8, 12, 16, 24, 32, 48)  # Gauss-Legendre nodes per panel for the kink scheme
_GH_NODES = {3: (12, 16, 24, 32, 40, 48, 64), 4: (10, 14, 20, 26, 32)}
_CHUNK = 4_000_000  # target number of inner nodes held in memory at once
_PROBE = 64  # items on which the smooth scheme tries its coarsest step (see _smooth_start)
_PROBE_PASS = 0.75  # fraction of the probe that must pass for an integrand to start there
_CACHE_CHUNK = 1 << 17  # values per chunk where temporaries should stay in cache (1 MB)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class QuadratureResult:
    """Value, error bound and scheme of a batch of Gaussian expectations.

    Attributes
    ----------
    value : numpy.ndarray
        :math:`\\mathbb E[f_1(u_1)\\cdots f_k(u_k)]`, shape = batch shape of ``cov[..., :, :]``.
    error : numpy.ndarray
        Estimated absolute error bound, same shape (for ``k >= 3`` an estimate only).
    scheme : str
        Human-readable description of the rule that produced the numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.gaussian.quadrature import gaussian_expectation
    >>> res = gaussian_expectation([np.tanh, np.tanh], np.array([[1.0, 0.5], [0.5, 1.0]]))
    >>> round(float(res.value), 8), bool(res.error < 1e-10)
    (0.18632441, True)
    >>> res.scheme.split(" (")[0]
    'asinh-graded trapezoidal rule'
    """

    value: np.ndarray
    error: np.ndarray
    scheme: str


# --------------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------------


def _validate_funcs(funcs: Sequence, name: str = "funcs") -> int:
    """Check one sequence of 1..4 callables; return k."""
    if callable(funcs) or not isinstance(funcs, Sequence):
        raise TypeError(f"{name} must be a sequence of callables, e.g. [np.tanh, np.tanh]")
    k = len(funcs)
    if k not in (1, 2, 3, 4):
        raise ValueError(f"{name} has {k} functions; k must be 1, 2, 3 or 4")
    for i, f in enumerate(funcs):
        if not callable(f):
            raise TypeError(f"{name}[{i}] is not callable")
    return k


def _validate_cov(cov, k: int) -> np.ndarray:
    """Check a batch of k x k covariances; return it as float64, symmetrised."""
    c = np.asarray(cov, dtype=np.float64)
    if c.ndim < 2 or c.shape[-2:] != (k, k):
        raise ValueError(f"cov must have shape (..., {k}, {k}) for k={k} functions, got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("cov contains NaN or inf")
    scale = np.maximum(np.max(np.abs(c), axis=(-2, -1), initial=0.0), 1e-300)
    asym = np.max(np.abs(c - np.swapaxes(c, -1, -2)), axis=(-2, -1), initial=0.0)
    if np.any(asym > 1e-12 * scale):
        raise ValueError("cov is not symmetric (|C - C^T| > 1e-12 * max|C|)")
    c = 0.5 * (c + np.swapaxes(c, -1, -2))
    lam_min = np.linalg.eigvalsh(c)[..., 0]
    if np.any(lam_min < -1e-10 * scale):
        bad = np.unravel_index(np.argmin(lam_min / scale), lam_min.shape)
        raise ValueError(
            f"cov is indefinite: minimum eigenvalue {lam_min[bad]:.3e} at batch index {bad} "
            "(< -1e-10 * max|C|); a covariance must be positive semi-definite"
        )
    return c


def _validate_kinks(kinks, k: int) -> list[np.ndarray]:
    """Kinks of k functions (None: none) as sorted unique float arrays."""
    if kinks is None:
        return [np.zeros(0) for _ in range(k)]
    if len(kinks) != k:
        raise ValueError(f"kinks must give one sequence per function ({k}), got {len(kinks)}")
    kk = []
    for i, ki in enumerate(kinks):
        a = np.unique(np.asarray([] if ki is None else ki, dtype=np.float64).ravel())
        if not np.all(np.isfinite(a)):
            raise ValueError(f"kinks[{i}] contains NaN or inf")
        kk.append(a)
    return kk


def _call(f: ArrayFunc, x: np.ndarray, i: int) -> np.ndarray:
    """Evaluate ``f`` on ``x`` and return float64 of the same shape (broadcast if needed)."""
    with np.errstate(all="ignore"):
        y = np.asarray(f(x), dtype=np.float64)
    if y.shape != x.shape:
        y = np.broadcast_to(y, x.shape)
    return y


def _fail(cov: np.ndarray, idx: np.ndarray, err: np.ndarray, tol: float, what: str):
    """Raise IntegrationError naming the first failing covariance."""
    j = int(idx[0])
    raise IntegrationError(
        f"Gaussian expectation {what} for covariance {np.array2string(cov[j], precision=6)} "
        f"(batch item {j}, {idx.size} item(s) in total): error reached {err[0]:.3e}, "
        f"target {tol:.1e}"
    )


# --------------------------------------------------------------------------------------------
# k = 1, 2: smooth scheme, trapezoidal rule in the asinh-graded variable
# --------------------------------------------------------------------------------------------


def _asinh_map(y: np.ndarray | float, a: np.ndarray | float) -> np.ndarray:
    r"""Forward map :math:`t = y + \beta\operatorname{asinh}(y/a)` (monotone, odd)."""
    return y + _BETA * np.arcsinh(y / a)


def _a_index(a: np.ndarray) -> np.ndarray:
    """Quantise grading widths to the grid a_j = 2**(-j/4) (rounded down, j <= 63)."""
    return np.clip(np.ceil(-4.0 * np.log2(np.maximum(a, 1e-300)) - 1e-9), 0, 63).astype(np.intp)


@lru_cache(maxsize=512)
def _graded_table(j: int, h: float, shift: float, kmax: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes :math:`y_k` and :math:`dy/dt` at :math:`t_k = kh + \text{shift}`, |k| <= kmax.

    Inverts :func:`_asinh_map` for :math:`a = 2^{-j/4}` by a monotone Newton iteration in
    :math:`w = \operatorname{asinh}(y/a)` (cached, read-only).
    """
    a = 2.0 ** (-j / 4.0)
    t = np.arange(-kmax, kmax + 1) * h + shift
    # Solve a*sinh(w) + beta*w = |t| for w = asinh(y/a) >= 0: the left side is convex and
    # increasing, so Newton from the upper bound min(|t|/beta, asinh(|t|/a)) decreases
    # monotonically to the root (plain Newton in y diverges for small a).
    at = np.abs(t)
    w = np.minimum(at / _BETA, np.arcsinh(at / a))
    for _ in range(200):
        step = (a * np.sinh(w) + _BETA * w - at) / (a * np.cosh(w) + _BETA)
        w = w - step
        if np.max(np.abs(step)) <= 1e-16 * (1.0 + np.max(w)):
            break
    y = np.copysign(a * np.sinh(w), t)
    dy = 1.0 / (1.0 + _BETA / np.sqrt(a * a + y * y))
    y.setflags(write=False)
    dy.setflags(write=False)
    return y, dy


def _tables(js: np.ndarray, h: float, shift: float, kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack the cached tables of the distinct ``js``; return (rows over js grid, ...)."""
    kmax = 1 << int(np.ceil(np.log2(max(kmax, 8))))  # few distinct sizes -> cache hits
    ys = np.zeros((64, 2 * kmax + 1))
    ds = np.zeros((64, 2 * kmax + 1))
    for j in np.unique(js):
        ys[j], ds[j] = _graded_table(int(j), h, shift, kmax)
    return ys, ds


def _outer_grid(a: np.ndarray, h: float, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (incl. the normal density) of the graded rule centred at z = 0.

    ``a`` has shape (B,); returns arrays (B, N) with a common N; nodes past |z| = L keep their
    (negligible) weights.
    """
    js = _a_index(a)
    kmax = int(np.ceil(np.max(_asinh_map(_Z_MAX, 2.0 ** (-js / 4.0))) / h)) + 1
    ys, ds = _tables(js, h, shift, kmax)
    mid = ys.shape[1] // 2
    ys, ds = ys[:, mid - kmax : mid + kmax + 1], ds[:, mid - kmax : mid + kmax + 1]
    used = np.unique(js)  # weights once per grading index (at most 64 rows), then gathered
    ws = np.zeros_like(ys)
    ws[used] = (h * _INV_SQRT_2PI) * ds[used] * np.exp(-0.5 * ys[used] * ys[used])
    return ys[js], ws[js]


def _smooth_1d(fs: Sequence[ArrayFunc], q: np.ndarray, h: float, shift: float):
    """E[f(sqrt(q) z)] for each f of ``fs`` and a batch of variances ``q`` by the graded
    trapezoidal rule (nodes and weights shared); returns values and sums of |terms|, (m, B)."""
    sq = np.sqrt(q)
    a = np.minimum(1.0, 1.0 / np.maximum(sq, 1e-300))
    z, w = _outer_grid(a, h, shift)
    u = sq[:, None] * z
    val, l1 = np.empty((len(fs), q.size)), np.empty((len(fs), q.size))
    for i, f in enumerate(fs):
        terms = w * _call(f, u, 0)
        val[i], l1[i] = np.sum(terms, axis=-1), np.sum(np.abs(terms), axis=-1)
    return val, l1


def _windows(a: np.ndarray, width: int) -> np.ndarray:
    """Read-only view (B, C - width + 1, width) of the length-``width`` windows of the rows of
    a C-contiguous (B, C) array (``sliding_window_view`` without its per-call checks, which
    cost as much as the gather in the chunk loop below)."""
    s0, s1 = a.strides
    return as_strided(
        a, shape=(a.shape[0], a.shape[1] - width + 1, width), strides=(s0, s1, s1), writeable=False
    )


def _smooth_2d(
    pairs: Sequence[tuple[ArrayFunc, ArrayFunc]],
    sq1: np.ndarray,
    b: np.ndarray,
    s: np.ndarray,
    h: float,
    shift: float,
):
    """E[f1(u1) f2(u2)] for each (f1, f2) of ``pairs`` and a batch, by the graded trapezoidal
    rule in both variables; returns values and sums of |terms|, each (m, B).

    The inner rule is anchored at u2 = 0: inner nodes are u2 = s * y_k with y_k fixed per
    covariance (a cached table), so ``f2`` is evaluated once per table entry and each outer node
    only gathers a window of the table and recomputes the Gaussian weight. The nodes and the
    Gaussian weights depend on the covariance only, so they are computed once for all pairs.
    Both node sets are symmetric (``shift`` is 0 or h/2: t -> -t maps nodes to nodes), and the
    weight of the inner node -y_k at the outer node -z1 equals that of y_k at z1, so the
    weights are computed for the outer nodes z1 >= 0 only; the inner expectation at -z1 is the
    same weighted sum over the table of f2(-s y_k). For s < _S_MIN (the inner transition is
    then wider than the Gaussian) the inner rule is the uniform trapezoidal rule in z2.
    """
    m = len(pairs)
    a1 = np.minimum(1.0, 1.0 / np.maximum(np.maximum(sq1, np.abs(b)), 1e-300))
    z1, w1 = _outer_grid(a1, h, shift)  # (B, N1)
    g = np.zeros((m,) + z1.shape)  # inner expectations g(z1), one row per pair
    n1 = z1.shape[1]

    wide = s >= _S_MIN
    # ---- narrow inner transition: uniform rule in z2, nodes independent of the covariance
    idx = np.flatnonzero(~wide)
    if idx.size:
        n_half = int(np.ceil(_Z_MAX / h)) + 1
        z2 = np.arange(-n_half, n_half + 1) * h + shift
        w2 = h * _INV_SQRT_2PI * np.exp(-0.5 * z2 * z2)
        per = max(1, _CHUNK // (n1 * z2.size))
        for lo in range(0, idx.size, per):
            sel = idx[lo : lo + per]
            u2 = (b[sel, None, None] * z1[sel, :, None]) + s[sel, None, None] * z2
            for i, (_, f2) in enumerate(pairs):
                g[i, sel] = _call(f2, u2, 1) @ w2
    # ---- wide inner transition: anchored table, weights at the outer nodes z1 >= 0 only
    idx = np.flatnonzero(wide)
    if idx.size:
        half = (n1 - 1) // 2  # outer node i has t = (i - half) h + shift; z1 >= 0 for i >= half
        odd = int(round(2.0 * shift / h))  # t -> -t maps node i to 2 half - odd - i
        ss, bb = s[idx], b[idx]
        js = _a_index(np.minimum(1.0, 1.0 / ss))
        a2 = (2.0 ** (-js / 4.0))[:, None]
        zs = -(bb[:, None] * z1[idx, half:]) / ss[:, None]  # (B', N1'): image of u2 = 0 in z2
        n1p = zs.shape[1]
        k_lo = np.ceil((_asinh_map(-_Z_MAX - zs, a2) - shift) / h).astype(np.intp)
        k_hi = np.floor((_asinh_map(_Z_MAX - zs, a2) - shift) / h).astype(np.intp)
        width = int(np.max(k_hi - k_lo)) + 1
        # the mirror of a window (at -z1) reaches table index -(k_lo + width - 1) >= -kmax
        kmax = int(max(np.max(-k_lo), np.max(k_hi + width))) + 1
        ys, ds = _tables(js, h, shift, kmax)
        mid = ys.shape[1] // 2
        pos = k_lo + mid  # (B', N1'): first table column of each window
        per = max(1, _CACHE_CHUNK // (n1p * width))
        gp = np.empty((m, 2) + zs.shape)  # inner expectations at +z1 and -z1
        for lo in range(0, idx.size, per):
            sl = slice(lo, lo + per)
            c0, c1 = int(np.min(pos[sl])), int(np.max(pos[sl])) + width  # columns this chunk uses
            y = ys[js[sl], c0:c1]
            u2 = ss[sl, None] * y
            dy = ds[js[sl], c0:c1] * (h * _INV_SQRT_2PI)
            rows = np.arange(y.shape[0])[:, None]
            p = pos[sl] - c0
            zz = _windows(y, width)[rows, p]  # (B'', N1', width) gathered windows
            zz += zs[sl, :, None]
            np.multiply(zz, zz, out=zz)
            zz *= -0.5
            np.exp(zz, out=zz)
            # entries past k_hi lie beyond |z2| = L: their weights are below 1e-17, keep them
            for i, (_, f2) in enumerate(pairs):
                for sign, u in enumerate((u2, -u2)):
                    fy = _call(f2, u, 1) * dy
                    gp[i, sign, sl] = np.einsum("bij,bij->bi", zz, _windows(fy, width)[rows, p])
        g[:, idx, half:] = gp[:, 0]
        # node i < half is the mirror of node half + r with r = half - odd - i
        g[:, idx, :half] = gp[:, 1, :, 1 - odd : half + 1 - odd][..., ::-1]
    u1 = sq1[:, None] * z1
    val, l1 = np.empty((m, sq1.size)), np.empty((m, sq1.size))
    for i, (f1, _) in enumerate(pairs):
        terms = w1 * _call(f1, u1, 0) * g[i]
        val[i], l1[i] = np.sum(terms, axis=-1), np.sum(np.abs(terms), axis=-1)
    return val, l1


# --------------------------------------------------------------------------------------------
# k = 1, 2: kink scheme, composite Gauss-Legendre with moving break points
# --------------------------------------------------------------------------------------------


_UNIFORM_BP = np.linspace(-_Z_MAX, _Z_MAX, 7)  # Gaussian bulk: panels of width 17/6
# In z1 the image c/b of a kink of f2 is a kink smoothed over the width s/|b| (tiny when
# |rho| -> 1): graded break points around it, in units of that width. The kinks themselves need
# grading only at large variance: a piece such as expm1(u) (elu) varies on the scale 1 in u,
# i.e. 1/sigma in z, next to the kink (see _kink_grade).
_NO_GRADE = np.zeros(0)
_GRADE_SMOOTHED = np.array([-8.0, -3.0, -1.0, 1.0, 3.0, 8.0])


def _kink_grade(width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Graded offsets around a kink whose pieces vary on ``width`` (z units, batch array).

    Returns (scale, grade) for :func:`_break_points`: offsets +-width * 4**i (i = 0, 1, ...)
    below 1, as many levels as the smallest width of the batch needs (none when all widths
    are >= 1, the usual case); larger widths of a mixed batch clip their surplus offsets to 1.
    """
    wmin = float(np.min(width)) if width.size else 1.0
    if not wmin < 1.0:
        return np.ones_like(width), _NO_GRADE
    lev = int(np.ceil(np.log(1.0 / max(wmin, 1e-300)) / np.log(4.0)))
    g = 4.0 ** np.arange(lev)
    return width, np.concatenate([-g[::-1], g])


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den clipped to [-L, L]; den = 0 gives +-L by the sign of num (0 for num = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.sign(num) * _Z_MAX)
    return np.clip(r, -_Z_MAX, _Z_MAX)


def _break_points(
    points: list[np.ndarray], scales: list[np.ndarray], grades: list[np.ndarray]
) -> np.ndarray:
    """Sorted panel break points: uniform bulk grid plus each kink and its graded neighbours.

    ``points`` and ``scales`` are lists of arrays of a common shape (...,), ``grades`` the
    offsets (in units of the scale) used around each point; returns (..., P+1).
    """
    shape = points[0].shape if points else ()
    cols = [np.broadcast_to(_UNIFORM_BP, shape + _UNIFORM_BP.shape)]
    for p, sc, grade in zip(points, scales, grades, strict=True):
        cols.append(p[..., None])
        with np.errstate(invalid="ignore"):
            off = sc[..., None] * grade
            if grade is not _GRADE_SMOOTHED:  # kink grading: offsets at most 1 in z
                off = np.clip(off, -1.0, 1.0)
            g = p[..., None] + off
        cols.append(np.clip(np.nan_to_num(g, nan=_Z_MAX), -_Z_MAX, _Z_MAX))
    return np.sort(np.concatenate(cols, axis=-1), axis=-1)


def _panel_rule(bp: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes/weights (incl. the normal density) on panels ``bp`` (..., P+1)."""
    x, w = gauss_legendre(n)
    lo, hi = bp[..., :-1, None], bp[..., 1:, None]
    half = 0.5 * (hi - lo)
    z = (lo + half) + half * x
    wz = half * w * _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return z.reshape(bp.shape[:-1] + (-1,)), wz.reshape(bp.shape[:-1] + (-1,))


def _kink_2d(
    pairs: Sequence[tuple[ArrayFunc, ArrayFunc]],
    k1: np.ndarray,
    k2: np.ndarray,
    sq1: np.ndarray,
    b: np.ndarray,
    s: np.ndarray,
    n: int,
):
    """E[f1(u1) f2(u2)] for each (f1, f2) of ``pairs`` (common kinks) by composite
    Gauss-Legendre split at (moving) kinks; values and sums of |terms|, each (m, B)."""
    m = len(pairs)
    pts = [_safe_div(np.full_like(sq1, c), sq1) for c in k1]
    sc1, gr1 = _kink_grade(np.minimum(1.0, 1.0 / np.maximum(sq1, 1e-300)))
    scl = [sc1 for _ in k1]  # kinks of f1: graded on 1/sigma1 when sigma1 > 1
    pts += [_safe_div(np.full_like(b, c), b) for c in k2]
    width = np.where(b != 0, s / np.where(b != 0, np.abs(b), 1.0), np.inf)  # smoothing of c/b
    scl += [width for _ in k2]
    grades = [gr1] * k1.size + [_GRADE_SMOOTHED] * k2.size
    z1, w1 = _panel_rule(_break_points(pts, scl, grades), n)  # (B, N1)
    g = np.empty((m,) + z1.shape)
    sc2, gr2 = _kink_grade(np.minimum(1.0, 1.0 / np.maximum(s, 1e-300)))
    n2 = (_UNIFORM_BP.size - 1 + k2.size * (1 + gr2.size)) * n
    per = max(1, _CHUNK // (z1.shape[1] * n2))
    for lo in range(0, z1.shape[0], per):
        sl = slice(lo, lo + per)
        mu = b[sl, None] * z1[sl]  # (B', N1): conditional mean of u2
        ssl = np.broadcast_to(s[sl, None], mu.shape)
        pts2 = [_safe_div(c - mu, ssl) for c in k2]  # kinks of f2 move with z1
        sc2m = np.broadcast_to(sc2[sl, None], mu.shape)
        bp2 = _break_points(pts2, [sc2m] * k2.size, [gr2] * k2.size)
        z2, w2 = _panel_rule(bp2, n)  # (B', N1, N2)
        u2 = mu[..., None] + ssl[..., None] * z2
        for i, (_, f2) in enumerate(pairs):
            g[i, sl] = np.sum(w2 * _call(f2, u2, 1), axis=-1)
    u1 = sq1[:, None] * z1
    val, l1 = np.empty((m, sq1.size)), np.empty((m, sq1.size))
    for i, (f1, _) in enumerate(pairs):
        terms = w1 * _call(f1, u1, 0) * g[i]
        val[i], l1[i] = np.sum(terms, axis=-1), np.sum(np.abs(terms), axis=-1)
    return val, l1


# --------------------------------------------------------------------------------------------
# k = 2, kinks at 0: polar Gauss rule on the wedges between the kink lines
# --------------------------------------------------------------------------------------------

# (angular Gauss-Legendre nodes per panel, radial Gauss nodes); successive levels are compared
_POLAR_LADDER = ((8, 13), (10, 18), (12, 22))  # radial counts far apart: see _polar_stage
_POLAR_Q_MAX = 16.0  # polar rule only when both variances are <= this (sigma <= 4)
_POLAR_P = 4  # angular panels per half-plane (two adjacent wedges), so 2 * _POLAR_P in all
_POLAR_GRADE = 0.8  # panel edges x - c sin(2 pi x)/(2 pi): finer panels next to the kink rays
_POLAR_PANELS = 2 * _POLAR_P


def _polar_2d(
    pairs: Sequence[tuple[ArrayFunc, ArrayFunc]],
    sq1: np.ndarray,
    b: np.ndarray,
    s: np.ndarray,
    nt: int,
    nr: int,
    with_l1: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    r"""E[f1(u1) f2(u2)] for each (f1, f2) of ``pairs`` when all are smooth except at u = 0.

    Returns the values and (if ``with_l1``, else NaN) the sums of absolute terms, each (m, B).

    In polar coordinates :math:`z = r(\cos\theta, \sin\theta)` the kink lines
    :math:`u_1 = 0` and :math:`u_2 = 0` are rays from the origin: they cut the plane into four
    wedges (two of angle :math:`\alpha\le\pi/2`, two of :math:`\pi-\alpha`) on each of
    which the integrand is analytic. Radial rule: Gauss for the weight :math:`r e^{-r^2/2}`
    (exact for the polynomial growth of relu-like pieces); angular rule: Gauss-Legendre on
    ``2 * _POLAR_P`` panels, shared between the wedges in proportion to their angles (at least
    one each) and graded towards the kink rays, where pieces such as ``expm1`` of elu vary
    fastest. The nodes are shared by all pairs.
    """
    r, wr = gauss_rayleigh(nr)
    xt, wt = gauss_legendre(nt)
    bsz = b.size
    t2 = np.mod(np.arctan2(-b, s) + 0.5 * np.pi, np.pi) - 0.5 * np.pi  # ray u2 = 0, [-pi/2, pi/2)
    wa = t2 + 0.5 * np.pi  # angle of the wedge [-pi/2, t2]; its neighbour [t2, pi/2] has pi - wa
    # panels per wedge in proportion to its angle (at least one), edges graded towards the rays
    m1 = np.clip(np.round(_POLAR_P * wa / np.pi), 1, _POLAR_P - 1)[:, None]
    j = np.arange(_POLAR_P + 1)[None, :]

    def grade(x):
        return x - _POLAR_GRADE * np.sin(2.0 * np.pi * x) / (2.0 * np.pi)

    e = np.where(
        j <= m1,
        -0.5 * np.pi + wa[:, None] * grade(np.minimum(j / m1, 1.0)),
        t2[:, None] + (np.pi - wa)[:, None] * grade(np.clip((j - m1) / (_POLAR_P - m1), 0.0, 1.0)),
    )
    e = np.concatenate([e, e[:, 1:] + np.pi], axis=1)  # the opposite half-plane, (B, 2P + 1)
    lo, hi = e[:, :-1, None], e[:, 1:, None]
    half = 0.5 * (hi - lo)
    th = ((lo + half) + half * xt).reshape(bsz, -1)  # (B, T)
    wth = (half * (wt / (2.0 * np.pi))).reshape(bsz, -1)
    ct, st = np.cos(th), np.sin(th)
    a1 = sq1[:, None] * ct  # u1 = a1 * r
    a2 = b[:, None] * ct + s[:, None] * st  # u2 = a2 * r
    val, l1 = np.empty((len(pairs), bsz)), np.full((len(pairs), bsz), np.nan)
    per = max(1, _CACHE_CHUNK // (th.shape[1] * nr))
    for lo_i in range(0, bsz, per):
        sl = slice(lo_i, lo_i + per)
        u1, u2 = a1[sl, :, None] * r, a2[sl, :, None] * r
        for i, (f1, f2) in enumerate(pairs):
            with np.errstate(invalid="ignore", over="ignore"):
                fr = _call(f1, u1, 0) * _call(f2, u2, 1)
                val[i, sl] = np.einsum("bt,bt->b", wth[sl], fr @ wr)
                if with_l1:
                    np.abs(fr, out=fr)
                    l1[i, sl] = np.einsum("bt,bt->b", wth[sl], fr @ wr)
    return val, l1


def _polar_stage(pairs, sq1, b, s, tol: float, max_nodes: int):
    """Run the polar ladder; return (values, errors, converged mask) of shape (m, B) and the
    finest level used. An item stays in the ladder while any pair has not converged on it;
    a converged (pair, item) keeps the value of the level where it converged."""
    shape = (len(pairs), b.size)
    value, error = np.full(shape, np.nan), np.full(shape, np.inf)
    done = np.zeros(shape, dtype=bool)
    active, prev, used = np.arange(b.size), None, None
    for nt, nr in _POLAR_LADDER:
        if _POLAR_PANELS * nt * nr > max_nodes or active.size == 0:
            break
        val, l1 = _polar_2d(
            pairs, sq1[active], b[active], s[active], nt, nr, with_l1=prev is not None
        )
        used = (nt, nr)
        if prev is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                # |val - prev| is the error of the coarser rule; the finer one, returned, is
                # far more accurate (geometric convergence on the analytic wedges). The radial
                # counts of successive levels differ by >= 4: with 15 vs 16 nodes the two radial
                # errors were correlated (~1e-13 each, difference ~1e-15), which made |d|
                # underestimate the error of the finer rule.
                floor = 64.0 * np.finfo(float).eps * np.maximum(l1, np.abs(val))
                est = np.abs(val - prev)
                ok = np.isfinite(val) & ((est + floor <= tol) | (est <= floor))
            new = ok & ~done[:, active]
            value[:, active] = np.where(new, val, value[:, active])
            error[:, active] = np.where(new, est + floor, error[:, active])
            done[:, active] |= ok
            keep = ~np.all(done[:, active], axis=0)
            active, val = active[keep], val[:, keep]
        prev = val
    return value, error, done, used


# --------------------------------------------------------------------------------------------
# k = 1, 2: driver
# --------------------------------------------------------------------------------------------


def _smooth_level(pairs, k: int, sq1, b, s, h: float):
    """One level of the smooth scheme: (value, error estimate, sum of |terms|), each (m, B):
    the mean of the two half-step-shifted rules and their difference."""
    if k == 1:
        fs = [f for f, _ in pairs]
        qa, l1 = _smooth_1d(fs, sq1**2, h, 0.0)
        qb, _ = _smooth_1d(fs, sq1**2, h, 0.5 * h)
    else:
        qa, l1 = _smooth_2d(pairs, sq1, b, s, h, 0.0)
        qb, _ = _smooth_2d(pairs, sq1, b, s, h, 0.5 * h)
    with np.errstate(invalid="ignore", over="ignore"):
        return 0.5 * (qa + qb), np.abs(qa - qb), l1


def _smooth_start(pairs, k: int, sq1, b, s, tol: float) -> np.ndarray:
    """Index in ``_STEPS`` of the first level of each integrand of the smooth scheme.

    A step of 1.0 meets a target of ~1e-9 for most covariances, so looser targets start there.
    For tighter ones it depends on the function: at 1e-10 (q <= 10, |rho| <= 0.999) step 1.0
    suffices for ~95 % of covariances for tanh, swish and softplus but 28 % for GELU; an item
    that fails at 1.0 costs 1.0 + 0.8 instead of 0.8 (~1.64x), one that passes 0.64x. So for
    large batches step 1.0 is tried on a probe of ``_PROBE`` evenly spaced items per integrand,
    and an integrand starts there if at least ``_PROBE_PASS`` of the probe meets ``tol``
    (otherwise, and for small batches, at 0.8). The choice depends on the integrand and the
    batch only, so a value is the same whether computed alone or with other integrands.
    """
    m, bsz = len(pairs), sq1.size
    if tol >= 1e-9:
        return np.zeros(m, dtype=int)
    if bsz < 4 * _PROBE:
        return np.ones(m, dtype=int)
    idx = np.unique(np.linspace(0, bsz - 1, _PROBE).astype(np.intp))
    starts = np.ones(m, dtype=int)
    for j, pair in enumerate(pairs):
        val, est, l1 = _smooth_level([pair], k, sq1[idx], b[idx], s[idx], _STEPS[0])
        floor = 64.0 * np.finfo(float).eps * np.maximum(l1, np.abs(val))
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(val) & ((est + floor <= tol) | (est <= floor))
        starts[j] = 0 if np.mean(ok) >= _PROBE_PASS else 1
    return starts


def _one(x: np.ndarray) -> np.ndarray:
    return np.ones_like(x)


def _expect_12(integrands, c: np.ndarray, kinks: list[np.ndarray], tol: float, max_nodes: int):
    """Adaptive driver for k = 1, 2 on a flat batch ``c`` of shape (B, k, k).

    ``integrands`` is a list of m function sequences with the common ``kinks``; they share the
    nodes and Gaussian weights of every level. Each (integrand, item) keeps the value of the
    level where it converged, so the values are those of separate runs. Returns values and
    errors of shape (m, B) and one scheme text per integrand.
    """
    k = len(integrands[0])
    bsz = c.shape[0]
    if k == 1:
        pairs = [(fs[0], _one) for fs in integrands]
        k1, k2 = kinks[0], np.zeros(0)
        sq1 = np.sqrt(np.maximum(c[:, 0, 0], 0.0))
        b, s = np.zeros(bsz), np.zeros(bsz)
    else:
        pairs = [tuple(fs) for fs in integrands]
        k1, k2 = kinks
        q11, q12, q22 = c[:, 0, 0], c[:, 0, 1], c[:, 1, 1]
        sq1 = np.sqrt(np.maximum(q11, 0.0))
        pos = sq1 > 0
        b = np.where(pos, q12 / np.where(pos, sq1, 1.0), 0.0)
        s = np.sqrt(np.maximum(q22 - b * b, 0.0))
    smooth = k1.size == 0 and k2.size == 0
    shape = (len(pairs), bsz)
    value = np.full(shape, np.nan)
    error = np.full(shape, np.inf)
    pending = np.ones(shape, dtype=bool)
    polar_used, n_polar = None, np.zeros(len(pairs), dtype=int)
    if k == 2 and not smooth and not np.any(k1) and not np.any(k2):
        # all kinks at u = 0: polar Gauss rule on the wedges between the kink rays; items it
        # does not resolve (e.g. very large variances) go on to the composite Gauss-Legendre
        # Only for moderate variances: two levels that both miss a piece varying on the scale
        # 1/sigma << 1 in z (expm1 of elu at q = 1e8) agree to the rounding floor and would be
        # accepted; validated for elu up to q = 50, used up to _POLAR_Q_MAX.
        sel_p = np.flatnonzero(np.maximum(c[:, 0, 0], c[:, 1, 1]) <= _POLAR_Q_MAX)
        pv, pe, pd, polar_used = _polar_stage(pairs, sq1[sel_p], b[sel_p], s[sel_p], tol, max_nodes)
        value[:, sel_p] = np.where(pd, pv, value[:, sel_p])
        error[:, sel_p] = np.where(pd, pe, error[:, sel_p])
        pending[:, sel_p] = ~pd
        n_polar = np.count_nonzero(pd, axis=1)
    prev = np.full(shape, np.nan)  # kink ladder: the previous level's values
    ladder = _STEPS if smooth else _GL_NODES
    # first level of each integrand: see _smooth_start
    starts = _smooth_start(pairs, k, sq1, b, s, tol) if smooth else np.zeros(len(pairs), int)
    used = [ladder[j] for j in starts]  # finest level each integrand was computed at
    for level, par in enumerate(ladder):
        live = np.flatnonzero(starts <= level)  # integrands whose ladder has begun
        sel = np.flatnonzero(np.any(pending[live], axis=0))  # items one of them still needs
        if sel.size == 0:
            if np.all(starts <= level):
                break
            continue
        if smooth:  # nodes per dimension for a = 1/3, two shifted rules
            nodes = float(2 * (2 * _asinh_map(_Z_MAX, 1.0 / 3.0) / par + 3) ** k)
        else:
            nb = _UNIFORM_BP.size - 1
            n_out = (nb + k1.size + (1 + _GRADE_SMOOTHED.size) * k2.size) * par
            nodes = n_out * ((nb + k2.size) * par) ** (k - 1)
        if nodes > max_nodes and np.all(starts[live] < level):
            break
        if smooth:
            val, est, l1 = _smooth_level([pairs[j] for j in live], k, sq1[sel], b[sel], s[sel], par)
        else:
            val, l1 = _kink_2d(pairs, k1, k2, sq1[sel], b[sel], s[sel], int(par))
            with np.errstate(invalid="ignore", over="ignore"):
                if level == 0:
                    est = np.full(val.shape, np.inf)
                else:
                    # |val - prev| bounds the error of the coarser rule; Gauss-Legendre on
                    # analytic pieces converges geometrically, so the finer rule's error is
                    # ~ |d|^(n/n_prev) in relative terms: QUADPACK-style estimate
                    # 10 * l1 * (|d| / l1)^1.5 (never below |d| * 1e-6), not the raw |d|.
                    d = np.abs(val - prev[:, sel])
                    rel = d / np.maximum(l1, 1e-300)
                    est = np.maximum(10.0 * l1 * np.minimum(rel, 1.0) ** 1.5, 1e-6 * d)
            prev[:, sel] = val
        todo = pending[np.ix_(live, sel)]
        for j, t in zip(live, todo, strict=True):
            used[j] = par if np.any(t) else used[j]
        if not np.all(np.isfinite(val[todo])):
            badi = sel[np.any(todo & ~np.isfinite(val), axis=0)]
            raise IntegrationError(
                "non-finite integrand value (overflow or NaN from a function) for covariance "
                f"{np.array2string(c[badi[0]], precision=6)} (batch item {int(badi[0])})"
            )
        # float64 rounding floor of the sum (l1 = sum of |terms| of the outer sum): a target
        # below it is unreachable, so a discretisation estimate at the floor also counts as
        # converged; the reported error always includes the floor (it may then exceed tol).
        floor = 64.0 * np.finfo(float).eps * np.maximum(l1, np.abs(val))
        with np.errstate(invalid="ignore"):
            done = (est + floor <= tol) | (est <= floor)
        rows = np.ix_(live, sel)
        value[rows] = np.where(todo, val, value[rows])
        error[rows] = np.where(todo, est + floor, error[rows])
        pending[rows] = todo & ~done
    if np.any(pending):
        bad = np.flatnonzero(np.any(pending, axis=0))
        _fail(
            c,
            bad,
            np.max(np.where(pending, error, 0.0), axis=0)[bad],
            tol,
            "did not converge within max_nodes",
        )
    if smooth:
        return (
            value,
            error,
            [
                f"asinh-graded trapezoidal rule ({k}-D, two half-step-shifted rules, finest step {u})"
                for u in used
            ],
        )
    kinks_txt = "; ".join(f"f{i + 1}: {list(map(float, kk))}" for i, kk in enumerate(kinks))
    schemes = []
    for n_p, u in zip(n_polar, used, strict=True):
        scheme = (
            f"composite Gauss-Legendre {k}-D split at kinks ({kinks_txt}), "
            f"up to {u} nodes per panel"
        )
        if polar_used is None or not n_p:
            schemes.append(scheme)
            continue
        polar_txt = (
            f"polar Gauss rule on the wedges cut by the kinks ({kinks_txt}), "
            f"up to {polar_used[0]} angular x {polar_used[1]} radial nodes per panel"
        )
        schemes.append(
            polar_txt if n_p == bsz else f"{polar_txt} for {n_p} item(s); {scheme} for the others"
        )
    return value, error, schemes


# --------------------------------------------------------------------------------------------
# k = 3, 4: tensor Gauss-Hermite
# --------------------------------------------------------------------------------------------


def _sym_sqrt(c: np.ndarray) -> np.ndarray:
    """Symmetric square root of a batch of PSD matrices, eigenvalues clipped at 0."""
    lam, v = np.linalg.eigh(c)
    return (v * np.sqrt(np.clip(lam, 0.0, None))[..., None, :]) @ np.swapaxes(v, -1, -2)


def _gh_fixed(funcs, sqrt_c: np.ndarray, n: int) -> np.ndarray:
    """Fixed tensor Gauss-Hermite estimate for a flat batch of square roots (B, k, k)."""
    k = len(funcs)
    x, w = gauss_hermite_rule(k, n)
    out = np.empty(sqrt_c.shape[0])
    per = max(1, _CHUNK // x.shape[0])
    for lo in range(0, sqrt_c.shape[0], per):
        sl = slice(lo, lo + per)
        prod = None
        for i, f in enumerate(funcs):
            ui = x @ sqrt_c[sl, i, :].T  # (n**k, B')
            fi = _call(f, ui, i)
            prod = fi if prod is None else prod * fi
        out[sl] = w @ prod
    return out


def _expect_34(funcs, c: np.ndarray, tol: float, max_nodes: int):
    k = len(funcs)
    root = _sym_sqrt(c)
    ladder = [n for n in _GH_NODES[k] if n**k <= max_nodes] or [_GH_NODES[k][0]]
    bsz = c.shape[0]
    value = _gh_fixed(funcs, root, ladder[0])
    error = np.full(bsz, np.inf)
    active = np.arange(bsz)
    used = ladder[0]
    for n in ladder[1:]:
        used = n
        val = _gh_fixed(funcs, root[active], n)
        est = np.abs(val - value[active]) + 64.0 * np.finfo(float).eps * np.abs(val)
        value[active], error[active] = val, est
        active = active[est > tol]
        if active.size == 0:
            break
    if not np.all(np.isfinite(value)):
        bad = np.flatnonzero(~np.isfinite(value))
        raise IntegrationError(
            "non-finite integrand value (overflow or NaN from a function) for covariance "
            f"{np.array2string(c[bad[0]], precision=6)} (batch item {int(bad[0])})"
        )
    if active.size:
        _fail(c, active, error[active], tol, "did not reach the estimated tolerance")
    scheme = (
        f"tensor Gauss-Hermite {k}-D on the symmetric square root of C, {used} nodes per "
        "dimension; error estimated by comparing two resolutions (not certified)"
    )
    return value, error, scheme


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def gaussian_expectation(
    funcs: Sequence[ArrayFunc],
    cov,
    *,
    kinks: Sequence[Sequence[float] | None] | None = None,
    tol: float | None = None,
    max_nodes: int | None = None,
) -> QuadratureResult:
    r"""Compute :math:`\mathbb E[f_1(u_1)\cdots f_k(u_k)]`, :math:`u\sim N(0, C)`, for a batch of C.

    Parameters
    ----------
    funcs : sequence of callables
        ``k`` (1..4) vectorised functions ``ndarray -> ndarray`` (float64). They may be
        piecewise, with kinks or jumps, if those points are listed in ``kinks``.
    cov : array_like, shape (..., k, k)
        Symmetric positive semi-definite covariances (singular allowed, e.g. :math:`|\rho|=1`,
        zero variance, duplicated variables); the leading dimensions are a batch.
    kinks : sequence of sequences of float, optional
        Per function, the points where it is not smooth (kinks or jumps). For ``k <= 2`` the
        integral is split there (for ``f2`` at the kink's moving image :math:`(c-bz_1)/s`;
        for ``k = 2`` with all kinks at 0, along the kink rays of a polar rule).
        For ``k >= 3`` they are ignored (tensor Gauss–Hermite; use ``k <= 2`` reductions for
        kinked functions).
    tol : float, optional
        Absolute error target: default ``1e-10`` for ``k <= 2`` and ``1e-8`` for ``k >= 3``.
        For ``k <= 2`` a target below the float64 rounding floor of the result is met at that
        floor (then ``error > tol``; see the module docstring).
    max_nodes : int, optional
        Largest number of integrand evaluations per covariance the refinement may use
        (default ``1e6`` for ``k <= 2``, ``1.1e6`` for ``k >= 3``, i.e. up to 32 nodes per
        dimension for ``k = 4``).

    Returns
    -------
    QuadratureResult
        ``value`` and ``error`` of the batch shape ``cov.shape[:-2]``, and the ``scheme``.

    Raises
    ------
    ValueError
        ``k`` not in 1..4, wrong ``cov`` shape, non-symmetric or indefinite ``cov`` (minimum
        eigenvalue below ``-1e-10 * max|C|``), NaN/inf in ``cov`` or ``kinks``.
    geosym.errors.IntegrationError
        The target could not be met within ``max_nodes`` (the message names the covariance and
        the error reached) or an integrand value was not finite.

    Notes
    -----
    See the module docstring for the schemes. Vectorised over the batch: work is done on
    arrays of all covariances (chunked to bound memory), with Python loops only over
    refinement levels, panels and chunks. Several integrands on the same covariances:
    :func:`gaussian_expectations` (shared nodes and Gaussian weights).

    Examples
    --------
    >>> import numpy as np
    >>> r = gaussian_expectation([np.tanh, np.tanh], [[1.0, 0.5], [0.5, 1.0]])
    >>> round(float(r.value), 12), bool(r.error < 1e-10)
    (0.186324413203, True)
    """
    _validate_funcs(funcs)
    return gaussian_expectations(
        [funcs], cov, kinks=None if kinks is None else [kinks], tol=tol, max_nodes=max_nodes
    )[0]


def gaussian_expectations(
    integrands: Sequence[Sequence[ArrayFunc]],
    cov,
    *,
    kinks: Sequence[Sequence[Sequence[float] | None] | None] | None = None,
    tol: float | None = None,
    max_nodes: int | None = None,
) -> list[QuadratureResult]:
    r"""Several expectations :math:`\mathbb E[f^{(j)}_1(u_1)\cdots f^{(j)}_k(u_k)]`,
    j = 1..m, on one batch of covariances.

    The same as ``[gaussian_expectation(f, cov, kinks=kk, ...) for f, kk in zip(integrands,
    kinks)]`` (each value is the one a separate call returns, up to rounding in the last
    digits), but for ``k <= 2`` integrands with the same kinks share the work that depends on
    the covariance only: validation, the nodes of every refinement level and, in the smooth
    scheme, the Gaussian weights of the inner windows (the most expensive part). Used for
    kernels that are evaluated at the same covariances, e.g. :math:`\mathbb E[\phi\phi]`
    and :math:`\mathbb E[\phi'\phi']` of one mean-field layer.

    Parameters
    ----------
    integrands : sequence of m sequences of k callables
        The functions of each expectation (the same k for all).
    cov : array_like, shape (..., k, k)
        As for :func:`gaussian_expectation`.
    kinks : sequence of m kink specifications, optional
        Per integrand, what :func:`gaussian_expectation` takes as ``kinks`` (None: smooth).
    tol, max_nodes
        As for :func:`gaussian_expectation`, common to all integrands.

    Returns
    -------
    list of QuadratureResult
        One per integrand, in order.

    Examples
    --------
    >>> import numpy as np
    >>> sech2 = lambda x: 1.0 / np.cosh(x) ** 2
    >>> vc, dc = gaussian_expectations(
    ...     [[np.tanh, np.tanh], [sech2, sech2]], [[1.0, 0.5], [0.5, 1.0]])
    >>> round(float(vc.value), 12), round(float(dc.value), 12)
    (0.186324413203, 0.384747028441)
    """
    if callable(integrands) or not isinstance(integrands, Sequence) or not integrands:
        raise TypeError(
            "integrands must be a non-empty sequence of function sequences, e.g. "
            "[[np.tanh, np.tanh], [f, f]]"
        )
    ks = {_validate_funcs(fs, f"integrands[{j}]") for j, fs in enumerate(integrands)}
    if len(ks) != 1:
        raise ValueError(f"all integrands must have the same number of functions, got {sorted(ks)}")
    (k,) = ks
    if kinks is not None and len(kinks) != len(integrands):
        raise ValueError(
            f"kinks must give one specification per integrand ({len(integrands)}), got {len(kinks)}"
        )
    kk = [_validate_kinks(None if kinks is None else kinks[j], k) for j in range(len(integrands))]
    c = _validate_cov(cov, k)
    batch = c.shape[:-2]
    flat = c.reshape((-1, k, k))
    if tol is None:
        tol = 1e-10 if k <= 2 else 1e-8
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if max_nodes is None:
        max_nodes = 1_000_000 if k <= 2 else 1_100_000
    if flat.shape[0] == 0:
        empty = np.zeros(batch)
        return [QuadratureResult(empty, empty.copy(), "empty batch") for _ in integrands]
    results: list[QuadratureResult | None] = [None] * len(integrands)
    if k <= 2:
        groups: dict[tuple, list[int]] = {}  # integrands with equal kinks share a run
        for j, kj in enumerate(kk):
            groups.setdefault(tuple(tuple(a.tolist()) for a in kj), []).append(j)
        for members in groups.values():
            value, error, schemes = _expect_12(
                [list(integrands[j]) for j in members],
                flat,
                kk[members[0]],
                float(tol),
                int(max_nodes),
            )
            for row, j in enumerate(members):
                results[j] = QuadratureResult(
                    value[row].reshape(batch), error[row].reshape(batch), schemes[row]
                )
    else:
        for j, fs in enumerate(integrands):
            value, error, scheme = _expect_34(list(fs), flat, float(tol), int(max_nodes))
            results[j] = QuadratureResult(value.reshape(batch), error.reshape(batch), scheme)
    return cast("list[QuadratureResult]", results)  # every integrand got its result above


_MP_BULK = (-13, -8, -4.5, -2, 2, 4.5, 8, 13)  # Gaussian bulk panels, |z| <= 13
_MP_MAX_EVALUATIONS = 400_000  # adaptive referee budget: a few seconds in mpmath (k = 1)


def gaussian_expectation_mp(
    funcs_mp: Sequence[Callable],
    cov,
    *,
    kinks: Sequence[Sequence[float] | None] | None = None,
    precision: int = 30,
    tol: float | None = None,
    max_evaluations: int = _MP_MAX_EVALUATIONS,
) -> tuple[mpmath.mpf, mpmath.mpf]:
    r"""High-precision referee: :math:`\mathbb E[f_1(u_1)\cdots f_k(u_k)]` for ONE covariance.

    Independent of the float64 schemes: nested composite Gauss–Legendre in mpmath at
    ``precision`` digits on the conditional (Cholesky) decomposition
    :math:`u_i = \sum_{j\le i} L_{ij} z_j`, with :math:`|z_j|\le 13` (tail
    :math:`< 10^{-38}`). Panels: a Gaussian bulk grid, plus break points at every feature
    point (``u = 0``, the transition of the usual activations, and each kink) and graded
    points around it, in the current variable and as the image of later variables' feature
    points (graded on their smoothing scale, which handles :math:`|\rho|\to1`). Two rules
    (12 and 18 nodes per panel) are compared; the 18-node value is returned with their
    difference as the error estimate. Cost grows like :math:`(20\cdot\text{panels})^k`
    evaluations: about a second for ``k = 2``, minutes for ``k = 3``.

    With ``tol`` the rule is adaptive: while the error estimate exceeds
    ``tol * max(1, |value|)`` every panel is halved (oscillatory integrands such as
    :math:`\cos(20x)\tanh^2 x` need many panels), and when the next halving would exceed
    ``max_evaluations`` integrand evaluations it raises :class:`geosym.IntegrationError`
    instead of returning an uncertified value.

    Parameters
    ----------
    funcs_mp : sequence of callables
        ``k`` (1..3) functions accepting and returning :class:`mpmath.mpf`.
    cov : array_like, shape (k, k)
        One covariance (float64 entries, converted exactly).
    kinks : sequence of sequences of float, optional
        As in :func:`gaussian_expectation`.
    precision : int
        Working precision in decimal digits.
    tol : float, optional
        Error target relative to ``max(1, |value|)``; None (default) evaluates the two rules on
        the initial panels once and returns whatever error estimate they give.
    max_evaluations : int
        Budget of integrand evaluations for the adaptive refinement.

    Returns
    -------
    value, error : mpmath.mpf
        The expectation and the estimated absolute error.

    Raises
    ------
    geosym.IntegrationError
        ``tol`` given and not met within ``max_evaluations``.

    Examples
    --------
    >>> import mpmath
    >>> from geosym.gaussian.quadrature import gaussian_expectation_mp
    >>> value, err = gaussian_expectation_mp([lambda x: mpmath.tanh(x) ** 2], [[1.0]])
    >>> mpmath.nstr(value, 12), err < 1e-15  # E[tanh(u)^2], u ~ N(0, 1)
    ('0.394294490398', True)
    """
    k = len(funcs_mp)
    if k not in (1, 2, 3):
        raise ValueError(f"gaussian_expectation_mp supports k = 1, 2, 3; got {k}")
    c = np.asarray(cov, dtype=np.float64)
    if c.shape != (k, k):
        raise ValueError(f"cov must have shape ({k}, {k}) for one covariance, got {c.shape}")
    if not np.all(np.isfinite(c)) or np.max(np.abs(c - c.T)) > 1e-12 * np.max(np.abs(c)):
        raise ValueError("cov must be finite and symmetric")
    kk = [[] for _ in range(k)] if kinks is None else [list(x or []) for x in kinks]
    if len(kk) != k:
        raise ValueError(f"kinks must give one sequence per function ({k})")
    feats = [sorted({0.0, *map(float, x)}) for x in kk]
    dps = precision + 3
    with mpmath.workdps(dps):
        cm = [[mpmath.mpf(float(x)) for x in row] for row in c]
        lm = [[mpmath.mpf(0)] * k for _ in range(k)]  # lower factor, tolerant of singular C
        for i in range(k):
            for j in range(i + 1):
                acc = cm[i][j] - mpmath.fsum(lm[i][m] * lm[j][m] for m in range(j))
                if i == j:
                    lm[i][i] = mpmath.sqrt(max(acc, 0))
                elif lm[j][j] > 0:
                    lm[i][j] = acc / lm[j][j]
        # |z| <= 13 (tail < 1e-38), wider when the precision asks for a smaller tail
        zmax = max(mpmath.mpf(13), mpmath.sqrt(2 * (precision + 2) * mpmath.log(10)))

        def panels(level: int, prefix: list, split: int) -> list:
            pts = {mpmath.mpf(x) for x in _MP_BULK} | {zmax, -zmax}
            for j in range(level, k):
                lj = lm[j][level]
                if lj == 0:
                    continue
                mj = mpmath.fsum(lm[j][m] * prefix[m] for m in range(level))
                # width of the feature of u_j as seen in z_level: its own scale 1 smoothed by
                # the later variables' spread, divided by the slope lj
                rest = mpmath.sqrt(mpmath.fsum(lm[j][m] ** 2 for m in range(level + 1, j + 1)))
                scale = max(rest, mpmath.mpf(1) if j == level else rest) / abs(lj)
                scale = max(scale, mpmath.mpf(10) ** (-dps))
                # graded offsets 0, +-w, +-4w, +-16w, ... (w = scale, capped at 1) up to 4
                offs = [mpmath.mpf(0)]
                w = min(scale, mpmath.mpf(1))
                while w < 4:
                    offs += [w, -w]
                    w *= 4
                for cpt in feats[j]:
                    zc = (mpmath.mpf(cpt) - mj) / lj
                    pts.update(p for p in (zc + d for d in offs) if -zmax < p < zmax)
            edges = sorted(pts)
            return [
                lo + (hi - lo) * i / split
                for lo, hi in zip(edges[:-1], edges[1:], strict=True)
                for i in range(split)
            ] + [edges[-1]]

        evaluations = [0]

        def integrate(level: int, prefix: list, n: int, split: int) -> mpmath.mpf:
            m = mpmath.fsum(lm[level][j] * prefix[j] for j in range(level))
            sd = lm[level][level]
            f = funcs_mp[level]
            if sd == 0:  # u_level is a function of the earlier variables
                rest = (
                    integrate(level + 1, prefix + [mpmath.mpf(0)], n, split) if level + 1 < k else 1
                )
                return f(m) * rest
            xs, ws = gauss_legendre_mp(n, dps)
            pts = panels(level, prefix, split)
            evaluations[0] += n * (len(pts) - 1)
            total = []
            for lo, hi in zip(pts[:-1], pts[1:], strict=True):
                half, mid = (hi - lo) / 2, (hi + lo) / 2
                for x, w in zip(xs, ws, strict=True):
                    z = mid + half * x
                    v = f(m + sd * z)
                    if v != 0 and level + 1 < k:
                        v *= integrate(level + 1, prefix + [z], n, split)
                    total.append(w * half * v * mpmath.npdf(z))
            return mpmath.fsum(total)

        tail = 2 * mpmath.ncdf(-zmax)
        split = 1
        while True:
            evaluations[0] = 0
            coarse = integrate(0, [], 12, split)
            fine = integrate(0, [], 18, split)
            error = abs(fine - coarse) + tail
            if tol is None or error <= tol * max(1, abs(fine)):
                return +fine, error
            if evaluations[0] * 2**k > max_evaluations:
                raise IntegrationError(
                    f"the high-precision referee cannot certify this expectation: error "
                    f"estimate {mpmath.nstr(error, 3)} > target {tol:.1e} with {split} "
                    f"sub-panels per panel, and halving them again would exceed "
                    f"{max_evaluations} evaluations (max_evaluations); the integrand "
                    "oscillates or varies too fast for the referee"
                )
            split *= 2

r"""The unit-block coefficients :math:`c_k=\mathbb E_s[\phi'(rs+b)^2s^k]`, k = 0, 1, 2,
:math:`s\sim\mathcal N(0,1)`: exact truncated-Gaussian moments when :math:`\phi'^2` is piecewise
constant, the Gaussian engine for one unit, vectorised composite Gauss-Legendre for many.

They are the three numbers of the single-unit Fisher block of Amari, Karakida & Oizumi
(AISTATS 2019), :class:`geosym.natgrad.UnitFisher`; derived in :ref:`theory-natgrad`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp
from scipy import special

from ..activations import Activation, X
from ..activations import activation as _activation
from ..errors import NumericalError
from ..gaussian import expect
from ..gaussian.nodes import gauss_legendre

__all__ = ["unit_coefficients", "piecewise_constant_levels"]

_S_MAX = 9.0  # truncation of the standard normal s in the batch quadrature (tail < 1e-18)
_PANELS = 36
_LEGENDRE_12 = gauss_legendre(12)
_LEGENDRE_20 = gauss_legendre(20)


@functools.lru_cache(maxsize=64)
def piecewise_constant_levels(
    phi: Activation,
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    r"""If :math:`\phi'^2` is constant between the kinks of :math:`\phi`, return
    (kinks, levels) with ``levels[j]`` the value on the j-th interval; else None.

    Detection is numeric (values at several points in each interval agree to 1e-14), which is
    exact for ReLU, leaky ReLU, hard tanh, abs and linear.

    Examples
    --------
    >>> from geosym.activations import activation
    >>> piecewise_constant_levels(activation("relu"))  # phi'^2 = 0 below the kink, 1 above
    ((0.0,), (0.0, 1.0))
    >>> piecewise_constant_levels(activation("tanh")) is None
    True
    """
    d = phi.derivative()
    if d.expr.has(sp.DiracDelta):
        return None  # phi'^2 of a jump is not a function
    try:
        kinks = tuple(float(k) for k in phi.kinks)
    except ValueError:
        return None
    edges = (-60.0, *kinks, 60.0)
    levels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        pts = lo + (hi - lo) * np.array([1e-3, 0.11, 0.37, 0.5, 0.73, 0.97, 1 - 1e-3])
        vals = np.asarray(d(pts), dtype=float) ** 2
        if not np.all(np.isfinite(vals)) or np.ptp(vals) > 1e-14 * max(1.0, np.max(vals)):
            return None
        levels.append(float(vals[0]))
    return kinks, tuple(levels)


def _truncated_moments(z: np.ndarray) -> np.ndarray:
    r""":math:`\int_z^\infty s^k\varphi(s)ds` for k = 0, 1, 2 (shape (3, ...)); z may be ±inf."""
    z = np.asarray(z, dtype=float)
    tail = special.ndtr(-z)
    dens = np.where(np.isfinite(z), np.exp(-0.5 * np.where(np.isfinite(z), z, 0.0) ** 2), 0.0)
    dens = dens / math.sqrt(2 * math.pi)
    zd = np.where(np.isfinite(z), z * dens, 0.0)
    return np.stack([tail, dens, tail + zd])


def _coefficients_closed(levels, r: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c_k for piecewise-constant phi'^2: sums of truncated Gaussian moments (exact)."""
    kinks, vals = levels
    out = np.zeros((3, *np.broadcast(r, b).shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        # interval j of u is (kink_{j-1}, kink_j); in s it is ((k_{j-1}-b)/r, (k_j-b)/r) for r > 0
        edges_u = (-np.inf, *kinks, np.inf)
        for j, val in enumerate(vals):
            if val == 0.0:
                continue
            lo = (edges_u[j] - b) / r if np.isfinite(edges_u[j]) else np.full_like(out[0], -np.inf)
            hi = (
                (edges_u[j + 1] - b) / r
                if np.isfinite(edges_u[j + 1])
                else np.full_like(out[0], np.inf)
            )
            out += val * (_truncated_moments(lo) - _truncated_moments(hi))
    return out


def _coefficients_quadrature(
    d: Activation, kinks: Sequence[float], r, b, error_estimate: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised composite Gauss-Legendre on |s| <= 9: 36 panels of width 0.5 plus cuts at the
    kink images (k - b)/r, 12 vs 20 nodes per panel.

    Returns (c of shape (3, ...), error estimate = |difference of the two rules|). Accurate to
    ~1e-13 while the complex singularities of phi' stay >= 0.4 away in s (tanh: r <= 4).
    ``error_estimate=False``: only the 20-node rule (the same c), error returned as NaN.
    """
    rules = (_LEGENDRE_12, _LEGENDRE_20) if error_estimate else (_LEGENDRE_20,)
    r = np.asarray(r, dtype=float)
    b = np.asarray(b, dtype=float)
    shape = np.broadcast(r, b).shape
    rr, bb = np.broadcast_to(r, shape).ravel(), np.broadcast_to(b, shape).ravel()
    if not kinks:
        # smooth phi': the same nodes for every unit; moments by one (U, nodes) x (nodes, 3) product
        grid = np.linspace(-_S_MAX, _S_MAX, _PANELS + 1)
        lo, hi = grid[:-1], grid[1:]
        half = 0.5 * (hi - lo)
        results = []
        for nodes, weights in rules:
            s = ((0.5 * (hi + lo))[:, None] + half[:, None] * nodes).ravel()  # (panels * n,)
            w = (half[:, None] * weights).ravel() * np.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
            moments = np.stack([w, w * s, w * s * s], axis=1)
            out = np.empty((rr.size, 3))
            rows = max(1, 65_536 // s.size)  # cache-sized blocks of units
            for i in range(0, rr.size, rows):
                u = np.multiply.outer(rr[i : i + rows], s)
                u += bb[i : i + rows, None]
                with np.errstate(over="ignore", invalid="ignore"):
                    f = np.asarray(d(u), dtype=float)  # (units, nodes)
                f *= f
                out[i : i + rows] = f @ moments
            results.append(out.T)
        c = results[-1]
        err = np.abs(results[1] - results[0]) + 1e-15 * np.abs(c) if error_estimate else c * np.nan
        return c.reshape(3, *shape), err.reshape(3, *shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        cuts = [np.clip((k - bb) / rr, -_S_MAX, _S_MAX) for k in kinks]
    grid = np.linspace(-_S_MAX, _S_MAX, _PANELS + 1)
    edges = np.sort(
        np.concatenate(
            [
                np.broadcast_to(grid[:, None], (grid.size, rr.size)),
                np.array(cuts).reshape(-1, rr.size),
            ]
        ),
        axis=0,
    )
    results = []
    for nodes, weights in rules:
        lo, hi = edges[:-1], edges[1:]  # (panels, U)
        half = 0.5 * (hi - lo)
        s = (0.5 * (hi + lo))[..., None] + half[..., None] * nodes  # (panels, U, n)
        w = half[..., None] * weights * np.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
        with np.errstate(over="ignore", invalid="ignore"):
            f = np.asarray(d(rr[None, :, None] * s + bb[None, :, None]), dtype=float) ** 2
        fw = f * w
        results.append(
            np.stack(
                [fw.sum(axis=(0, 2)), (fw * s).sum(axis=(0, 2)), (fw * s * s).sum(axis=(0, 2))]
            )
        )
    c = results[-1]
    err = np.abs(results[1] - results[0]) + 1e-15 * np.abs(c) if error_estimate else c * np.nan
    return c.reshape(3, *shape), err.reshape(3, *shape)


def unit_coefficients(
    activation: Activation | str,
    r: Any,
    b: Any,
    *,
    engine: bool | None = None,
    error_estimate: bool = True,
) -> tuple[np.ndarray, np.ndarray, str]:
    r"""The block coefficients :math:`c_k=\mathbb E_s[\phi'(rs+b)^2 s^k]`, k = 0, 1, 2.

    Parameters
    ----------
    activation
        :math:`\phi` (Activation or spec).
    r, b : float or array
        Scale :math:`r\ge0` and offset :math:`b` (arrays broadcast: one unit per entry).
    engine
        Use :func:`geosym.expect` (one certified engine call per k; scalars only). Default:
        True for scalar input unless :math:`\phi'^2` is piecewise constant.
    error_estimate
        False: the vectorised quadrature skips its lower-order comparison rule (the same c in
        ~60 % of the time; its error entries are then NaN). Used by the NGD optimizer.

    Returns
    -------
    c : ndarray, shape (3, ...)
        :math:`(c_0, c_1, c_2)`.
    error : ndarray, shape (3, ...)
        Absolute error bound (0 for closed forms).
    method : str
        How they were obtained: ``"closed form: truncated Gaussian moments"`` when
        :math:`\phi'^2` is piecewise constant (ReLU: :math:`c_0=\Phi(b/r)`,
        :math:`c_1=\varphi(b/r)`, :math:`c_2=\Phi(b/r)-\tfrac br\varphi(b/r)`, Amari, Karakida & Oizumi 2019),
        the engine's method (closed form for erf, certified quadrature for tanh...), or
        ``"quadrature: vectorised Gauss-Legendre"`` for arrays.

    Examples
    --------
    >>> c, err, how = unit_coefficients("tanh", 1.5, 0.3)     # |w| = 1.5, b = 0.3
    >>> [round(float(x), 12) for x in c]
    [0.326228864361, -0.057309473107, 0.049775815964]
    """
    phi = _activation(activation)
    r_arr = np.asarray(r, dtype=float)
    b_arr = np.asarray(b, dtype=float)
    if np.any(~np.isfinite(r_arr)) or np.any(r_arr < 0):
        raise ValueError(f"r must be finite and >= 0, got {r}")
    if np.any(~np.isfinite(b_arr)):
        raise ValueError(f"b must be finite, got {b}")
    d = phi.derivative()
    levels = piecewise_constant_levels(phi)
    scalar = r_arr.ndim == 0 and b_arr.ndim == 0
    zero_r = r_arr == 0
    if levels is not None and engine is not True:
        c = _coefficients_closed(levels, np.where(zero_r, 1.0, r_arr), b_arr)
        err = np.zeros_like(c)
        method = "closed form: truncated Gaussian moments (piecewise-constant phi'^2)"
    elif scalar and engine is not False and not bool(zero_r):
        rr, bb = sp.Rational(repr(float(r_arr))), sp.Rational(repr(float(b_arr)))
        vals, errs, methods = [], [], []
        for k in range(3):
            e = expect(Activation(d.expr.subs(X, rr * X + bb) ** 2 * X**k, f"c{k}"), [[1]])
            vals.append(float(e))
            errs.append(float(e.error))
            methods.append(e.method)
        c, err = np.array(vals), np.array(errs)
        method = "engine: " + "; ".join(dict.fromkeys(methods))
    else:
        c, err = _coefficients_quadrature(
            d, phi.kinks, np.where(zero_r, 1.0, r_arr), b_arr, error_estimate
        )
        method = "quadrature: vectorised composite Gauss-Legendre " + (
            "(12 vs 20 nodes per panel)" if error_estimate else "(20 nodes per panel)"
        )
    if np.any(zero_r):  # u = b is constant: c = phi'(b)^2 (1, 0, 1)
        g = np.asarray(d(np.broadcast_to(b_arr, c.shape[1:])), dtype=float) ** 2
        c = np.where(zero_r, np.stack([g, 0 * g, g]), c)
        err = np.where(zero_r, 0.0, err)
    if not np.all(np.isfinite(c)):
        raise NumericalError(f"unit_coefficients: c_k of {phi.name} are not finite at r={r}, b={b}")
    return c, err, method

r"""Closed-form committee integrals of an erf mixture :math:`\sum_k a_k\,\mathrm{erf}(b_kx)`.

For an activation without a closed-form :math:`I_4` (tanh: the poles of :math:`\mathrm{sech}^2` at
:math:`\pm i\pi/2` make the 4-D Gauss--Hermite rule converge slowly) the committee integrals are
those of a tabulated erf mixture (:data:`ERF_MIXTURES`): every family is a finite sum of the erf
closed forms of Saad & Solla (1995) at scaled covariances (:func:`mixture_i4`,
:func:`mixture_2d`), with an error bound from the measured sup errors of :math:`g` and
:math:`g'` (:func:`mixture_sup_errors`).

Examples
--------
>>> from geosym import activation
>>> from geosym.committee._erf_mixture import mixture_2d, tabulated_mixture
>>> a, b = tabulated_mixture(activation("tanh"))
>>> len(a), float(mixture_2d(a, b, "I2", 1.0, 0.0, 1.0))  # odd g, independent fields
(6, 0.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..activations import Activation

__all__ = ["ERF_MIXTURES", "tabulated_mixture", "mixture_2d", "mixture_i4", "mixture_sup_errors"]

#: ``g(x) ~ sum_k a_k erf(b_k x)`` for activations without a closed-form :math:`I_4`
#: (least squares on g and g' jointly over [0, 10], b_k by variable projection).  For tanh with
#: six terms the sup errors are 4.8e-7 (g) and 8.5e-7 (g'); they are re-measured on a fine grid
#: when a provider is built (:func:`mixture_sup_errors`), not taken from this comment.
ERF_MIXTURES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "tanh(x)": (
        (0.01366603, 0.13547337, 0.33959195, 0.35314574, 0.14445337, 0.01366955),
        (0.39428613, 0.53972276, 0.73036193, 0.98149, 1.30917269, 1.75363132),
    ),
}


def tabulated_mixture(act: Activation) -> tuple[np.ndarray, np.ndarray] | None:
    """Coefficients ``(a, b)`` of the tabulated erf mixture of ``act``, or None."""
    hit = ERF_MIXTURES.get(str(act.expr))
    if hit is None:
        return None
    return np.array(hit[0]), np.array(hit[1])


def mixture_sup_errors(act: Activation, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Sup over x of |g - sum a_k erf(b_k x)| and of the derivative's error (odd g: x >= 0;
    grid of spacing 1e-3 on [0, 12] plus the tail to 60, where both sides are flat)."""
    from scipy.special import erf

    x = np.concatenate([np.linspace(0.0, 12.0, 12_001), np.linspace(12.0, 60.0, 97)])
    h = erf(b[:, None] * x).T @ a
    dh = (np.exp(-((b[:, None] * x) ** 2)) * (2 / np.sqrt(np.pi) * b)[:, None]).T @ a
    return float(np.abs(act(x) - h).max()), float(np.abs(act.derivative(1)(x) - dh).max())


def mixture_i4(a: np.ndarray, b: np.ndarray, *entries: np.ndarray) -> np.ndarray:
    r""":math:`I_4` of :math:`g(x)=\sum_k a_k\,\mathrm{erf}(b_kx)` in closed form.

    With :math:`G(y)=\mathrm{erf}(y/\sqrt2)` and :math:`s_k=\sqrt2 b_k`,
    :math:`g(x)=\sum_ka_kG(s_kx)` and :math:`g'(x)=\sum_ka_ks_kG'(s_kx)`, so

    .. math::

        I_4(C) = \sum_{k_1k_2k_3k_4} a_{k_1}s_{k_1}a_{k_2}s_{k_2}a_{k_3}a_{k_4}\,
            I_4^{G}(SCS),\qquad S=\mathrm{diag}(s_{k_1},s_{k_2},s_{k_3},s_{k_4}),

    with Saad & Solla's (1995) closed form of :math:`I_4^G` for :math:`G`, over all
    :math:`m^4` index combinations.  Exact for the mixture; for an activation it approximates, the error is at most
    :math:`2\sup|\Delta g'|\sup|g'|\,\sup|g|^2 + 2\sup|\Delta g|\,\sup|g'|^2\sup|g|`
    (to first order).  Smooth in :math:`C` on the whole PSD cone, singular covariances included.
    """
    shape = np.broadcast_shapes(*(np.shape(e) for e in entries))
    c11, c12, c13, c14, c22, c23, c24, c33, c34, c44 = (
        np.broadcast_to(np.asarray(e, float), shape).reshape(-1, 1) for e in entries
    )
    s = np.sqrt(2.0) * b
    m = len(a)
    k1, k2 = np.repeat(np.arange(m), m), np.tile(np.arange(m), m)  # ordered pairs (k1, k2)
    p1, p2 = s[k1] ** 2, s[k2] ** 2  # (pairs,): squared scales of the derivative factors
    # Scaling fields 3 and 4 by s3, s4 multiplies Lambda_0 by s3 s4 and adds s3^2 A1, s4^2 A2
    # to Lambda_4 in Lambda_1, Lambda_2: everything but the arcsin lives on (B, pairs) or
    # (B, pairs, k) arrays, and only one product and the arcsin on (B, pairs, k3, k4).
    u, v = 1.0 + c11 * p1, 1.0 + c22 * p2  # (B, pairs)
    q = p1 * p2
    lam4 = u * v - c12**2 * q
    lam0 = lam4 * c34 - u * p2 * c23 * c24 - v * p1 * c13 * c14 + q * c12 * (c13 * c24 + c14 * c23)
    a1 = lam4 * c33 - u * p2 * c23**2 - v * p1 * c13**2 + 2.0 * q * c12 * c13 * c23
    a2 = lam4 * c44 - u * p2 * c24**2 - v * p1 * c14**2 + 2.0 * q * c12 * c14 * c24
    s2 = s**2
    with np.errstate(invalid="ignore", divide="ignore"):
        z3 = s / np.sqrt(lam4[..., None] + a1[..., None] * s2)  # (B, pairs, k3)
        z4 = s / np.sqrt(lam4[..., None] + a2[..., None] * s2)  # (B, pairs, k4)
        arg = (lam0[..., None] * z3)[..., :, None] * z4[..., None, :]
        np.minimum(arg, 1.0, out=arg)  # |arg| <= 1 up to rounding (Cauchy-Schwarz)
        np.maximum(arg, -1.0, out=arg)
        val = np.arcsin(arg, out=arg)  # (B, pairs, k3, k4)
        w12 = (a[k1] * a[k2] * s[k1] * s[k2]) / np.sqrt(lam4)  # (B, pairs)
    inner = val.reshape(val.shape[0], m * m, m * m) @ np.outer(a, a).ravel()  # (B, pairs)
    out = np.sum(w12 * inner, axis=1) * (4.0 / np.pi**2)
    return out.reshape(shape)


def mixture_2d(
    a: np.ndarray, b: np.ndarray, family: str, c11: Any, c12: Any, c22: Any
) -> np.ndarray:
    r"""2-D expectations of :math:`g(x)=\sum_k a_k\,\mathrm{erf}(b_kx)` in closed form.

    ``family``: ``"I2"`` :math:`\langle g(u_1)g(u_2)\rangle`, ``"J2"``
    :math:`\langle g'(u_1)g'(u_2)\rangle` or ``"X"`` :math:`\langle g''(u_1)g(u_2)\rangle`
    (the Stein factor of :math:`I_3`), each a sum over :math:`k, l` of the erf(x/√2) closed
    forms (Saad & Solla 1995) at the covariance scaled by :math:`s_k=\sqrt2b_k`,
    :math:`s_l`; ``X`` is :math:`\partial I_3/\partial C_{12}` of that closed form.
    """
    shape = np.broadcast_shapes(np.shape(c11), np.shape(c12), np.shape(c22))
    c11, c12, c22 = (
        np.broadcast_to(np.asarray(c, float), shape).reshape(-1, 1, 1) for c in (c11, c12, c22)
    )
    s = np.sqrt(2.0) * b
    sk, sl = s[:, None], s[None, :]
    x11, x12, x22 = c11 * sk**2, c12 * (sk * sl), c22 * sl**2
    with np.errstate(invalid="ignore", divide="ignore"):
        if family == "I2":
            f = np.arcsin(np.clip(x12 / np.sqrt((1 + x11) * (1 + x22)), -1.0, 1.0))
            w = np.outer(a, a)
        elif family == "J2":
            f = 1.0 / np.sqrt((1 + x11) * (1 + x22) - x12**2)
            w = np.outer(a * s, a * s)
        else:
            f = -x12 / ((1 + x11) * np.sqrt((1 + x11) * (1 + x22) - x12**2))
            w = np.outer(a * s**2, a)
    return (2.0 / np.pi) * (f.reshape(f.shape[0], -1) @ w.ravel()).reshape(shape)

r"""Mean-field predictions for a unit in layer l of a wide random network: its Fisher block
(:func:`unit_block_prediction`) and the size of the cross-unit blocks relative to it
(:func:`offblock_ratio`). Order parameters from :class:`geosym.MeanField` (Karakida, Akaho &
Amari, AISTATS 2019); the unit block is that of Amari, Karakida & Oizumi (AISTATS 2019);
derived in :ref:`theory-natgrad`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _checks
from ..activations import Activation, X
from ..errors import NumericalError
from ..fisher import layer_widths
from ..gaussian import expect
from ..meanfield import MeanField
from ..results import Result

__all__ = ["UnitBlockPrediction", "unit_block_prediction", "OffBlockPrediction", "offblock_ratio"]


@dataclass(frozen=True)
class UnitBlockPrediction(Result):
    r"""Mean-field prediction of the Fisher block of a typical unit in layer l
    (Karakida, Akaho & Amari 2019 order parameters; Amari, Karakida & Oizumi 2019 unit block).

    The empirical FIM block of unit i of layer l is
    :math:`F_{ii}=\frac1T\sum_t\sum_k\delta^l_{k,i}(t)^2\,\tilde h^{l-1}(t)\tilde h^{l-1}(t)^\top`.
    In the wide limit (gradient independence; derived in :ref:`theory-natgrad`),
    :math:`\delta^l_{k,i}=\phi'(u_i)\beta_{k,i}` with :math:`\mathbb E\beta_{k,i}^2=\sigma_w^2\tilde q_1^{l+1}/M_l`,
    so :math:`F_{ii}\approx\beta^2\,G_i` with :math:`\beta^2=C\sigma_w^2\tilde q_1^{l+1}/M_l`
    (:math:`\beta^2=1` in the output layer, whose units see :math:`\delta=1`) and :math:`G_i` the
    unit block of :func:`unit_fisher` for inputs of per-component variance
    :math:`v=\hat q_1^{l-1}-\hat q_2^{l-1}` and mean square :math:`\hat q_2^{l-1}`. A unit's
    sample-varying pre-activation has scale :math:`r=\sqrt{q_1^l-q_2^l}`; its offset
    :math:`b'=b_i+w_i\cdot\mu` is :math:`\mathcal N(0,q_2^l)` over units. Averaged over units,
    :math:`\bar c_k=\mathbb E[\phi'(u)^2s^k]` with :math:`(u,s)` Gaussian, :math:`\mathrm{Var}\,u=q_1^l`,
    :math:`\mathrm{Var}\,s=1`, :math:`\mathrm{Cov}(u,s)=r`; :math:`\bar c_0=\mathbb E[\phi'(u)^2]`.

    Predicted entries: weight diagonal :math:`\beta^2\bar c_0(v+\mu_j^2)+\dots`, mean over the
    weight diagonal :math:`\beta^2(\bar c_0\hat q_1^{l-1}+O(1/n))`, bias entry :math:`\beta^2\bar c_0`.

    Examples
    --------
    >>> from geosym.natgrad import unit_block_prediction
    >>> pred = unit_block_prediction("tanh", 2.0, 0.1, depth=3, width=500, layer=1)
    >>> pred.fan_in, round(pred.r, 6), round(pred.c[0], 6)
    (500, 1.414214, 0.342182)
    """

    layer: int
    fan_in: int
    width: int
    beta2: float
    r: float
    offset_var: float
    input_var: float
    input_mean2: float
    c: tuple[float, float, float]
    bias_entry: float
    weight_diagonal_mean: float


def unit_block_prediction(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    width: int,
    layer: int,
    outputs: int = 1,
    alphas: Sequence[float] | None = None,
    q1_0: float = 1.0,
    q2_0: float = 0.0,
) -> UnitBlockPrediction:
    r"""Mean-field prediction of the unit Fisher block of layer ``layer`` (1..L) of a random net.

    See :class:`UnitBlockPrediction` for the formulas; order parameters from
    :class:`geosym.MeanField` (Karakida, Akaho & Amari 2019; :ref:`theory-fisher`).

    Examples
    --------
    >>> from geosym.natgrad import unit_block_prediction
    >>> pred = unit_block_prediction("tanh", 2.0, 0.1, depth=3, width=500, layer=1)
    >>> round(pred.bias_entry / pred.beta2, 6)  # = c_0 for the bias entry
    0.342182
    """
    _checks.depth(depth)
    _checks.alphas(alphas, depth)
    width = _checks.positive_int(width, "width")
    outputs = _checks.positive_int(outputs, "outputs")
    _checks.layer(layer, depth)
    mf = MeanField(activation, float(sigma_w2), float(sigma_b2))
    fwd = mf.forward(depth, alphas, q1_0, q2_0)
    bwd = mf.backward(depth, alphas, q1_0, q2_0, forward=fwd)
    ws = layer_widths(width, depth, alphas, outputs)
    l = int(layer)
    qh1, qh2 = float(fwd.qh1[l - 1]), float(fwd.qh2[l - 1])
    v = qh1 - qh2
    if l == depth:
        beta2 = 1.0
        c: tuple[float, ...] = (1.0, 0.0, 1.0)  # linear output: phi' = 1
        r = math.sqrt(max(float(fwd.q1[l]) - float(fwd.q2[l]), 0.0))
    else:
        beta2 = outputs * float(sigma_w2) * float(bwd.qt1[l + 1]) / ws[l]
        q1, q2 = float(fwd.q1[l]), float(fwd.q2[l])
        r = math.sqrt(max(q1 - q2, 0.0))
        d = mf.activation.derivative()
        d2 = Activation(d.expr**2, f"({d.name})^2")
        c = tuple(
            float(expect([d2, Activation(X**k, f"x^{k}")], [[q1, r], [r, 1.0]]))
            if k
            else float(expect(d2, [[q1]]))
            for k in range(3)
        )
    return UnitBlockPrediction(
        layer=l,
        fan_in=ws[l - 1],
        width=ws[l],
        beta2=beta2,
        r=r,
        offset_var=float(fwd.q2[l]),
        input_var=v,
        input_mean2=qh2,
        c=c,  # type: ignore[arg-type]
        bias_entry=beta2 * c[0],
        weight_diagonal_mean=beta2 * c[0] * qh1,
    )


@dataclass(frozen=True)
class OffBlockPrediction(Result):
    r"""Mean-field size of the off-block (unit i != j, same layer) Fisher terms relative to the blocks.

    ``ratio[m]`` is the predicted RMS over pairs of :math:`\|F_{ij}\|_F` divided by the mean
    of :math:`\|F_{ii}\|_F` at ``widths[m]`` (see :func:`offblock_ratio`); ``error[m]`` its
    Monte-Carlo standard error; ``kappa[m]`` the input-Gram factor
    :math:`\kappa=\mathbb E[K_{ts}^2]/\mathbb E[K_{tt}^2]` (t != s) at fan-in ``widths[m]``;
    ``coherence`` :math:`\rho=\tilde q_2^l/\tilde q_1^l`; ``backward_coherence``
    :math:`\tilde q_2^{l+1}/\tilde q_1^{l+1}` (the sample correlation of the back-propagated
    factor, 1 for the last hidden layer).

    Examples
    --------
    >>> from geosym.natgrad import offblock_ratio
    >>> off = offblock_ratio("tanh", 2.0, 0.1, depth=3, widths=[100, 1000], layer=1)
    >>> [round(r, 2) for r in off.ratio]  # does not shrink with width
    [0.6, 0.61]
    >>> round(off.coherence, 4)
    0.4983
    """

    layer: int
    widths: tuple[int, ...]
    ratio: tuple[float, ...]
    coherence: float  # qt2/qt1 of layer l
    samples: int
    outputs: int
    error: tuple[float, ...] = ()
    kappa: tuple[float, ...] = ()
    backward_coherence: float = 1.0
    mc_units: int = 0


def _input_fourth_moments(mf: MeanField, fwd: Any, layer: int) -> tuple[float, float]:
    r""":math:`(\mathbb E[h^4], \mathbb E[h_t^2h_s^2])` of one input component of ``layer``.

    Layer 1: Gaussian inputs with :math:`\hat q_1^0, \hat q_2^0` (Isserlis); deeper layers:
    :math:`h=\phi(u)` with the pre-activation variances of layer l-1 (Gaussian engine).
    """
    qh1, qh2 = float(fwd.qh1[layer - 1]), float(fwd.qh2[layer - 1])
    if layer == 1:
        return 3.0 * qh1 * qh1, qh1 * qh1 + 2.0 * qh2 * qh2
    phi = mf.activation
    sq = Activation(phi.expr**2, f"({phi.name})^2")
    q1, q2 = float(fwd.q1[layer - 1]), float(fwd.q2[layer - 1])
    m4 = float(expect(Activation(phi.expr**4, f"({phi.name})^4"), [[q1]]))
    m22 = float(expect([sq, sq], [[q1, q2], [q2, q1]]))
    return m4, m22


def offblock_ratio(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    widths: Sequence[int],
    layer: int,
    outputs: int = 1,
    samples: int = 10,
    *,
    q1_0: float = 1.0,
    q2_0: float = 0.0,
    mc_units: int | None = None,
    seed: int = 0,
) -> OffBlockPrediction:
    r"""Predicted size of the cross-unit Fisher blocks relative to the unit blocks, vs width.

    For hidden layer l < L the layer's empirical FIM has blocks
    :math:`F_{ij}=\frac1T\sum_{t}a_{ij}(t)\,\tilde h(t)\tilde h(t)^\top`,
    :math:`a_{ij}(t)=\sum_k\delta_{k,i}(t)\delta_{k,j}(t)`, :math:`\delta_{k,i}(t)=
    \phi'(u_i(t))\beta_{k,i}(t)`, so with the input Gram :math:`K_{ts}=\tilde h(t)\cdot\tilde h(s)`

    .. math::

        \|F_{ij}\|_F^2=\frac1{T^2}\sum_{t,s}a_{ij}(t)a_{ij}(s)K_{ts}^2
        \approx\frac{\overline{K_{tt}^2}}{T^2}\Big[(1-\kappa)\sum_ta_{ij}(t)^2
        +\kappa\Big(\sum_ta_{ij}(t)\Big)^2\Big],\qquad
        \kappa=\frac{\mathbb E[K_{ts}^2]}{\mathbb E[K_{tt}^2]}
        =\frac{(M\hat q_2+1)^2+M(\mathbb E[h_t^2h_s^2]-\hat q_2^2)}
        {(M\hat q_1+1)^2+M(\mathbb E[h^4]-\hat q_1^2)},

    M the fan-in, :math:`\hat q_{1,2}` the forward order parameters of the layer's input
    (Karakida, Akaho & Amari 2019, as in :class:`geosym.MeanField`), h one input component. In the
    mean-field limit :math:`u_i(t)` is Gaussian over units with variance :math:`q_1^l` and
    sample covariance :math:`q_2^l`, and :math:`\beta_{k,i}(t)` is an independent Gaussian
    with sample correlation :math:`b=\tilde q_2^{l+1}/\tilde q_1^{l+1}` (b = 1 for l = L-1:
    :math:`\beta` is then the unit's output weight), independent over k and units. With
    :math:`\bar c_0=\mathbb E[\phi'(u)^2]`, :math:`\rho=\tilde q_2^l/\tilde q_1^l` and
    :math:`\hat a(t)=\phi'(u(t))^2\sum_k\beta_k(t)^2/\bar c_0` (unit variance for
    :math:`\beta`), derived in :ref:`theory-natgrad`:

    .. math::

        R_l=\frac{\mathrm{RMS}_{i\neq j}\|F_{ij}\|_F}{\overline{\|F_{ii}\|_F}}
        =\frac{\sqrt{C\,T\,(1+\kappa(T-1)\rho^2)}}
        {\mathbb E\sqrt{(1-\kappa)\sum_t\hat a(t)^2+\kappa\big(\sum_t\hat a(t)\big)^2}}.

    The numerator is exact in this model (pairs of independent units); the denominator, the
    mean norm of one unit block, is a T-dimensional Gaussian expectation evaluated by Monte
    Carlo over ``mc_units`` virtual units (fixed ``seed``; ``error`` is its standard error).

    What an earlier version of this formula missed (it gave 20-35 % low ratios in layer 1):
    it took :math:`\kappa=1` (inputs "common to all samples") and :math:`\hat a(t)=C`
    (no unit-to-unit or sample-to-sample spread of :math:`\phi'(u)^2\beta^2`), giving
    :math:`\sqrt{(1+(T-1)\rho^2)/(CT)}`. That is close in the last hidden layer, whose inputs
    are strongly correlated post-activations (:math:`\kappa\approx(\hat q_2/\hat q_1)^2`), but
    the first layer's inputs are the raw, uncorrelated data (:math:`\hat q_2^0=0`,
    :math:`\kappa=O(1/M)`): the cross-sample part of the off-blocks is then suppressed, while
    the unit blocks keep the spread of :math:`\phi'^2\beta^2` (for ReLU :math:`\phi'^2` is 0 on
    half the samples). The finite-width term of :math:`\kappa` is what makes :math:`R_1` grow
    slightly with M at large T.

    **The leading term does not depend on the width.** In the standard parameterisation each
    cross-unit block is as large as a unit block (both :math:`O(1/M)` per entry); what is small
    is not the off-block part (the O(M) outlier :math:`\lambda_{\max}` is built coherently from
    the off-block terms). Amari, Karakida & Oizumi's "small order terms" statement (AISTATS
    2019, abstract) could not be checked against the paper's normalisation; this function
    states what the mean-field calculation gives, and
    :func:`geosym.experiments.natgrad.measure_offblock` checks it (agreement within a few per
    cent for ReLU, tanh and erf, layers 1 and 2, T = 10 and 200, widths 128-512; the residual
    is finite-width and finite-unit-sample bias of the measurement). The output layer is
    exactly block diagonal (R_L = 0).

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, depth
        The network (mean-field parameters).
    widths
        Fan-ins M at which to predict (the layer's input width).
    layer
        1..L.
    outputs, samples
        C and T.
    q1_0, q2_0
        :math:`\hat q_1^0=\|x\|^2/M_0` and :math:`\hat q_2^0=x\cdot x'/M_0` of the data
        (defaults: i.i.d. standard normal inputs, as :func:`geosym.nn.gaussian_inputs`).
    mc_units
        Virtual units of the Monte-Carlo denominator (default: about 2·10^6 / (T·C) values,
        between 2^14 and 2^17).
    seed
        Seed of that Monte Carlo.

    Examples
    --------
    >>> from geosym.natgrad import offblock_ratio
    >>> off = offblock_ratio("tanh", 2.0, 0.1, depth=3, widths=[100, 1000], layer=1)
    >>> [round(k, 5) for k in off.kappa]  # the input-Gram factor does shrink, ~1/M
    [0.00971, 0.001]
    """
    _checks.depth(depth)
    _checks.layer(layer, depth)
    outputs = _checks.positive_int(outputs, "outputs")
    T = _checks.positive_int(samples, "samples")
    ws = tuple(_checks.positive_int(m, "widths") for m in widths)
    C = outputs
    n = (
        max(1 << 14, min(1 << 17, (1 << 21) // (T * C)))
        if mc_units is None
        else _checks.positive_int(mc_units, "mc_units")
    )
    if n < 2:
        raise ValueError(f"mc_units must be at least 2, got {n}")
    mf = MeanField(activation, float(sigma_w2), float(sigma_b2))
    fwd = mf.forward(depth, None, q1_0, q2_0)
    bwd = mf.backward(depth, forward=fwd)
    if layer == depth:
        zeros = tuple(0.0 for _ in ws)
        return OffBlockPrediction(int(layer), ws, zeros, 1.0, T, C, zeros, (), 1.0, 0)
    l = int(layer)
    rho = float(bwd.qt2[l]) / float(bwd.qt1[l])
    b = min(float(bwd.qt2[l + 1]) / float(bwd.qt1[l + 1]), 1.0)
    qh1, qh2 = float(fwd.qh1[l - 1]), float(fwd.qh2[l - 1])
    m4, m22 = _input_fourth_moments(mf, fwd, l)
    kappas = tuple(
        ((m * qh2 + 1.0) ** 2 + m * (m22 - qh2 * qh2))
        / ((m * qh1 + 1.0) ** 2 + m * (m4 - qh1 * qh1))
        for m in ws
    )
    q1, q2 = float(fwd.q1[l]), float(fwd.q2[l])
    c0 = float(mf.backward_map(q1)) / float(sigma_w2)
    if not c0 > 0:
        raise NumericalError(f"offblock_ratio: E[phi'(u)^2] = {c0} at layer {l}")
    d = mf.activation.derivative()
    rng = np.random.default_rng(seed)
    sums = np.empty((2, n))  # per virtual unit: sum_t a^2 and (sum_t a)^2
    rows = max(1, (1 << 20) // (T * C))  # memory-bounded blocks of virtual units
    for i in range(0, n, rows):
        k = min(rows, n - i)
        u = math.sqrt(max(q2, 0.0)) * rng.standard_normal((k, 1))
        u = u + math.sqrt(max(q1 - q2, 0.0)) * rng.standard_normal((k, T))
        with np.errstate(over="ignore", invalid="ignore"):
            g = np.asarray(d(u), dtype=float) ** 2 / c0
        if b >= 1.0 - 1e-12:  # beta constant over samples: its sum_k beta_k^2 factors out (mean C)
            a = C * g
        else:
            beta = math.sqrt(b) * rng.standard_normal((k, C, 1))
            beta = beta + math.sqrt(1.0 - b) * rng.standard_normal((k, C, T))
            a = g * np.einsum("kct,kct->kt", beta, beta)
        sums[0, i : i + k] = np.einsum("kt,kt->k", a, a)
        sums[1, i : i + k] = a.sum(axis=1) ** 2
    if not np.all(np.isfinite(sums)):
        raise NumericalError(f"offblock_ratio: non-finite phi'(u) samples for {mf.activation.name}")
    ratios, errors = [], []
    for kap in kappas:
        norm = np.sqrt((1.0 - kap) * sums[0] + kap * sums[1])
        mean = float(norm.mean())
        value = math.sqrt(C * T * (1.0 + kap * (T - 1.0) * rho * rho)) / mean
        ratios.append(value)
        errors.append(value * float(norm.std(ddof=1)) / mean / math.sqrt(n))
    return OffBlockPrediction(l, ws, tuple(ratios), rho, T, C, tuple(errors), kappas, b, n)

r"""One-step learning rates of approximate natural-gradient methods in the wide limit
(Karakida & Osawa, "Understanding Approximate Fisher Information for Fast Convergence of
Natural Gradient Descent in Wide Neural Networks", NeurIPS 2020, arXiv:2010.00879): exact,
layer-wise, block tri-diagonal, K-FAC and unit-wise NGD (constants as in the authors' code,
``get_ng_opt_lr``; the output-layer corrections are derived in geosym, :ref:`theory-natgrad`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

import numpy as np
from scipy import special

from .. import _checks
from ..activations import Activation
from ..activations import activation as _activation
from ..meanfield import MeanField
from ..results import Result
from .coefficients import piecewise_constant_levels

__all__ = ["OneStepRates", "one_step_learning_rates", "btd_coefficient", "active_fraction"]


def btd_coefficient(depth: int) -> float | None:
    r""":math:`\mathbf 1^\top\mathcal T^{-1}\mathbf 1` for the L x L 0/1 tridiagonal band :math:`\mathcal T`.

    Block tri-diagonal NGD moves the training outputs by :math:`-\eta(\mathbf 1^\top\mathcal
    T^{-1}\mathbf 1)(f-y)` (Karakida & Osawa 2020 and the authors' code). Returns None when
    :math:`\mathcal T` is singular (L = 2 mod 3). Numerically :math:`\lceil L/3\rceil`.

    Examples
    --------
    >>> from geosym.natgrad import btd_coefficient
    >>> btd_coefficient(3), btd_coefficient(4), btd_coefficient(5)
    (1.0, 2.0, None)
    """
    _checks.depth(depth)
    Tm = np.eye(depth) + np.eye(depth, k=1) + np.eye(depth, k=-1)
    if depth % 3 == 2:
        return None
    return float(np.ones(depth) @ np.linalg.solve(Tm, np.ones(depth)))


@dataclass(frozen=True)
class OneStepRates(Result):
    r"""One-step learning rates :math:`\eta_{\rm opt}` (f = y after one step, infinite width).

    Attributes: ``exact`` = 1, ``layer`` = 1/L, ``btd`` (None when undefined), ``kfac``,
    ``kfac_authors_code`` = 1/(NL) (Karakida & Osawa's published code), ``unit``,
    ``unit_authors_code`` = 1/(γ(L-1)M) (their code; None
    when γ = 0, e.g. a constant activation, where the formula is undefined),
    ``unit_mean_field`` = T/P, ``gamma`` (fraction of active units per hidden layer, averaged).

    Examples
    --------
    >>> from geosym.natgrad import one_step_learning_rates
    >>> rates = one_step_learning_rates("relu", depth=3, width=100, samples=10)
    >>> rates.exact, round(rates.layer, 6), rates.gamma
    (1.0, 0.333333, 0.5)
    >>> round(rates.kfac, 6), round(rates.kfac_authors_code, 6)  # 1/(N(L-1)+1) here, 1/(NL) in code
    (0.047619, 0.033333)
    """

    depth: int
    width: int
    samples: int
    outputs: int
    activation: str
    gamma: float
    exact: float
    layer: float
    btd: float | None
    kfac: float
    kfac_authors_code: float
    unit: float
    unit_authors_code: float | None
    unit_mean_field: float
    n_params: int

    #: the field holding each optimizer's rate, by the names of :data:`geosym.nn.optimizers.METHODS`
    #: (block tri-diagonal NGD, ``btd``, has a rate but no optimizer in :mod:`geosym.nn`)
    METHOD_FIELDS: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "ngd": "exact",
            "ngd-layer": "layer",
            "kfac": "kfac",
            "ngd-unit": "unit",
            "ngd-unit-mf": "unit_mean_field",
        }
    )

    @property
    def kfac_ko(self) -> float:
        """Earlier name of :attr:`kfac_authors_code` (Karakida-Osawa code), kept for old code."""
        return self.kfac_authors_code

    @property
    def unit_ko(self) -> float | None:
        """Earlier name of :attr:`unit_authors_code` (Karakida-Osawa code), kept for old code."""
        return self.unit_authors_code

    def for_method(self, method: str) -> float:
        """The rate for an optimizer name of :meth:`geosym.nn.MLP.train` (:attr:`METHOD_FIELDS`).

        Examples
        --------
        >>> from geosym.natgrad import one_step_learning_rates
        >>> rates = one_step_learning_rates("relu", depth=3, width=100, samples=10)
        >>> round(rates.for_method("kfac"), 6)
        0.047619
        """
        if method not in self.METHOD_FIELDS:
            raise ValueError(
                f"no one-step rate for method {method!r}; known: {sorted(self.METHOD_FIELDS)}"
            )
        return float(getattr(self, self.METHOD_FIELDS[method]))


def active_fraction(activation: Activation | str, q: float) -> float:
    r""":math:`\gamma=P(\phi'(u)\neq0)`, :math:`u\sim\mathcal N(0,q)` (1 unless :math:`\phi'`
    vanishes on intervals).

    Examples
    --------
    >>> from geosym.natgrad.one_step import active_fraction
    >>> active_fraction("relu", 2.0), active_fraction("tanh", 2.0)
    (0.5, 1.0)
    """
    phi = _activation(activation)
    levels = piecewise_constant_levels(phi)
    if levels is None:
        return 1.0
    kinks, vals = levels
    edges = (-np.inf, *kinks, np.inf)
    sd = math.sqrt(q) if q > 0 else 1e-300
    total = 0.0
    for j, val in enumerate(vals):
        if val != 0.0:
            total += float(special.ndtr(edges[j + 1] / sd) - special.ndtr(edges[j] / sd))
    return total


def one_step_learning_rates(
    activation: Activation | str,
    depth: int,
    width: int,
    samples: int,
    outputs: int = 1,
    sigma_w2: float = 2.0,
    sigma_b2: float = 0.0,
    widths: Sequence[int] | None = None,
) -> OneStepRates:
    r"""Karakida-Osawa one-step learning rates of approximate NGD (Karakida & Osawa, NeurIPS 2020).

    With MSE loss :math:`\frac1{2N}\|f-y\|^2` and damping :math:`\to0`, each method moves the
    training outputs by :math:`\Delta f=-\eta\,\alpha(f-y)` in the wide limit, so
    :math:`\eta_{\rm opt}=1/\alpha`:

    =========================  ==============================================  ============
    method                     :math:`\alpha`                                   source
    =========================  ==============================================  ============
    exact                      1                                                paper + code
    layer block-diagonal       L                                                paper + code
    block tri-diagonal         :math:`\mathbf 1^\top\mathcal T^{-1}\mathbf 1`   paper + code
    K-FAC                      :math:`N(L-1)+1`                                 derived here
    unit-wise (measured)       :math:`\gamma\sum_{l<L}M_l/C+1`                  derived here
    unit-wise (mean-field)     :math:`P/N`                                      derived here
    =========================  ==============================================  ============

    K-FAC: each hidden layer with :math:`M_l\ge CN` and :math:`M_{l-1}+1\ge N` contributes
    :math:`N` (the factor normalisation), the linear output layer (:math:`B_L=I_C`) contributes
    1; the authors' code uses :math:`NL` (``kfac_authors_code``), which differs by the output
    layer.
    Unit-wise: hidden unit i contributes 1 on every sample where :math:`\phi'(u_i)\ne0`
    (fraction :math:`\gamma`, 1/2 for ReLU), shared among C outputs, the output layer 1; the
    code's :math:`1/(\gamma(L-1)M)` (``unit_authors_code``) is the same to :math:`O(1/M)`.
    Mean-field unit blocks (population :math:`G_i`): :math:`\mathbb E[\phi'^2\tilde h^\top
    G_i^{-1}\tilde h]=n_i+1` per unit sums to P, averaged over the N samples.

    Parameters
    ----------
    activation, depth, width, samples, outputs
        :math:`\phi`, L, M, N and C.
    sigma_w2, sigma_b2
        Used only for :math:`\gamma` (the active fraction at the layer variances).
    widths
        Full ``[M_0, ..., M_L]`` (default ``[M]*L + [C]``).

    Examples
    --------
    >>> from geosym.natgrad import one_step_learning_rates
    >>> rates = one_step_learning_rates("relu", depth=3, width=100, samples=10)
    >>> round(rates.unit, 6), round(rates.unit_mean_field, 8)
    (0.009901, 0.00049259)
    """
    _checks.depth(depth)
    M = _checks.positive_int(width, "width")
    N = _checks.positive_int(samples, "samples")
    C = _checks.positive_int(outputs, "outputs")
    phi = _activation(activation)
    ws = (
        [M] * depth + [C] if widths is None else [_checks.positive_int(m, "widths") for m in widths]
    )
    if len(ws) != depth + 1:
        raise ValueError(f"widths must have depth + 1 = {depth + 1} entries, got {len(ws)}")
    P = sum(ws[l] * (ws[l - 1] + 1) for l in range(1, depth + 1))
    hidden = ws[1:-1]
    if hidden:
        mf = MeanField(phi, float(sigma_w2), float(sigma_b2))
        fwd = mf.forward(depth)
        gam = [active_fraction(phi, float(fwd.q1[l])) for l in range(1, depth)]
        active = sum(g * m for g, m in zip(gam, hidden, strict=True))
        gamma = active / sum(hidden)
    else:
        gamma, active = 1.0, 0.0
    btd = btd_coefficient(depth)
    return OneStepRates(
        depth=depth,
        width=M,
        samples=N,
        outputs=C,
        activation=phi.name,
        gamma=gamma,
        exact=1.0,
        layer=1.0 / depth,
        btd=None if btd is None else 1.0 / btd,
        kfac=1.0 / (N * (depth - 1) + 1),
        kfac_authors_code=1.0 / (N * depth),
        unit=1.0 / (active / C + 1.0),
        unit_authors_code=1.0 / (gamma * max(depth - 1, 1) * M) if gamma > 0 else None,
        unit_mean_field=N / P,
        n_params=P,
    )

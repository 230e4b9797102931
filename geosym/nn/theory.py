r"""The mean-field Fisher theory for a given network and a given data set.

:func:`predicted_fim_statistics` reads everything the theory of Karakida, Akaho & Amari
(AISTATS 2019, main theorem; eqs. (13)-(15)) needs from an :class:`~geosym.nn.MLP` and the
inputs ``X``: the widths :math:`M_l=\alpha_lM` (M the first hidden width), the activation, the
weight and bias variances :math:`\sigma_w^2=M_{l-1}\,\mathbb E[(W^l_{ij})^2]`,
:math:`\sigma_b^2=\mathbb E[(b^l_i)^2]` (measured from the weights, or from a named
initialisation) and the input order parameters :math:`q_1^0, q_2^0` of ``X``
(:func:`geosym.data.input_statistics`), and returns :class:`geosym.FIMStatistics` with
:math:`\eta_c` and the ``torch.optim.SGD`` rate
(:meth:`~geosym.FIMStatistics.critical_learning_rate`).

>>> import numpy as np, geosym.nn as nn
>>> net = nn.MLP.random([64, 300, 300, 10], "tanh", sigma_w2=1/3, sigma_b2=0.0, seed=0)
>>> X = np.abs(np.random.default_rng(1).standard_normal((100, 64)))   # uncentred inputs
>>> st = nn.predicted_fim_statistics(net, X, init="torch-default")
>>> round(float(st.critical_learning_rate("torch-mse-mean") / st.eta_critical), 12)   # C / 2
5.0
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .. import _checks
from ..fisher import FIMStatistics, fim_statistics
from .mlp import MLP

__all__ = ["predicted_fim_statistics", "layer_variances", "INITS"]

#: Named initialisations and their :math:`(\sigma_w^2, \sigma_b^2(\text{fan-in}))`.
#: PyTorch's default ``nn.Linear`` init draws W and b from
#: :math:`U(-1/\sqrt{M_{l-1}}, 1/\sqrt{M_{l-1}})`: :math:`\sigma_w^2=1/3`,
#: :math:`\sigma_b^2=1/(3M_{l-1})`.
INITS: tuple[str, ...] = ("torch-default",)


def layer_variances(net: MLP) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-layer :math:`\sigma_w^2=M_{l-1}\,\overline{W^2}` and :math:`\sigma_b^2=\overline{b^2}`.

    Second moments about zero (the theory's weights have mean 0), ``l = 1..L``.

    Examples
    --------
    >>> from geosym.nn import MLP
    >>> net = MLP.random([200, 300, 300, 10], "tanh", 2.0, 0.1, seed=0)
    >>> sw2, sb2 = layer_variances(net)
    >>> [round(float(v), 1) for v in sw2]
    [2.0, 2.0, 2.0]
    """
    sw2 = np.array([w.shape[1] * float(np.mean(w * w)) for w in net.weights])
    sb2 = np.array([float(np.mean(b * b)) for b in net.biases])
    return sw2, sb2


def predicted_fim_statistics(
    net: MLP,
    X: Any,
    *,
    sigma_w2: float | None = None,
    sigma_b2: float | None = None,
    init: Literal["torch-default"] | None = None,
    q1_0: float | None = None,
    q2_0: float | None = None,
) -> FIMStatistics:
    r"""The mean-field FIM statistics for ``net``'s architecture on the inputs ``X``.

    Parameters
    ----------
    net
        An :class:`~geosym.nn.MLP` (e.g. from :meth:`~geosym.nn.MLP.from_torch`).
    X
        Inputs ``(T, M_0)`` (or a :class:`~geosym.data.Dataset`); T is the batch whose Fisher
        matrix is predicted and :math:`q_1^0, q_2^0` are computed from it exactly.
    sigma_w2, sigma_b2
        Override the variances. By default they are measured from the weights
        (:func:`layer_variances`) and averaged over the L layers: the theory takes one
        :math:`\sigma_w^2` and one :math:`\sigma_b^2` for all layers.
    init
        ``"torch-default"``: :math:`\sigma_w^2=1/3` and :math:`\sigma_b^2` the layer mean of
        :math:`1/(3M_{l-1})`, PyTorch's ``nn.Linear`` default (the expected values, not the
        sample ones).
    q1_0, q2_0
        Override the input statistics (default: :func:`geosym.data.input_statistics` of X).

    Returns
    -------
    FIMStatistics
        With ``width`` = :math:`M_1`, ``outputs`` = C, ``samples`` = T;
        ``critical_learning_rate("torch-mse-mean")`` is the ``torch.optim.SGD`` bound.

    Notes
    -----
    The theory assumes i.i.d. weights and an equicorrelated input Gram
    :math:`XX^\top/N_0=(q_1^0-q_2^0)I+q_2^0\mathbf 1\mathbf 1^\top`. For uncentred images the
    common mean direction dominates :math:`\lambda_{\max}` and the prediction is close; for
    centred images :math:`q_2^0\approx0` and :math:`\lambda_{\max}` comes from the leading
    principal components of the data, which the theory does not see (it underestimates
    :math:`\lambda_{\max}`; :class:`~geosym.data.InputStatistics` measures the gap).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, fim_statistics
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 300)) + 0.5 * rng.standard_normal(300)   # q2_0 > 0
    >>> net = MLP.random([300, 800, 800, 3], "tanh", 1.0, 0.0, seed=1)
    >>> theory = predicted_fim_statistics(net, X, sigma_w2=1.0, sigma_b2=0.0)
    >>> measured = fim_statistics(net, X)
    >>> round(float(theory.lambda_max / measured.lambda_max), 2)   # finite width M = 800, T = 20
    0.9
    >>> float(theory.critical_learning_rate("torch-mse-mean") / theory.eta_critical)   # C / 2
    1.5
    """
    from ..data import input_statistics

    if not isinstance(net, MLP):
        raise TypeError(f"net must be a geosym.nn.MLP, got {type(net).__name__}")
    if net.depth < 2:
        raise ValueError("predicted_fim_statistics needs a hidden layer (depth L >= 2)")
    X = net.check_inputs(getattr(X, "X", X))
    if q1_0 is None or q2_0 is None:
        stats = input_statistics(X)
        q1_0 = stats.q1_0 if q1_0 is None else q1_0
        q2_0 = stats.q2_0 if q2_0 is None else q2_0
    if init is not None:
        if init != "torch-default":
            raise ValueError(f"init must be one of {INITS} or None, got {init!r}")
        sw2_init = 1.0 / 3.0
        sb2_init = float(np.mean([1.0 / (3.0 * w.shape[1]) for w in net.weights]))
    else:
        sw2_layers, sb2_layers = layer_variances(net)
        sw2_init, sb2_init = float(sw2_layers.mean()), float(sb2_layers.mean())
    sw2 = sw2_init if sigma_w2 is None else _checks.real(sigma_w2, "sigma_w2", minimum=0.0)
    sb2 = sb2_init if sigma_b2 is None else _checks.real(sigma_b2, "sigma_b2", minimum=0.0)
    widths = net.widths
    M = widths[1]
    return fim_statistics(
        net.activation,
        sw2,
        sb2,
        depth=net.depth,
        width=M,
        outputs=widths[-1],
        samples=X.shape[0],
        alphas=[m / M for m in widths[:-1]],
        q1_0=float(q1_0),
        q2_0=float(q2_0),
    )

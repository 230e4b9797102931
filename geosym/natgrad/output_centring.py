r"""Output mean subtraction and the largest FIM eigenvalue (Karakida, Akaho & Amari, "The
Normalization Method for Alleviating Pathological Sharpness in Wide Neural Networks", NeurIPS
2019, arXiv:1906.02926); the mechanism is derived in :ref:`theory-natgrad`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..activations import Activation
from ..errors import NumericalError
from ..fisher import fim_statistics
from ..results import Result

__all__ = ["MeanSubtraction", "mean_subtraction"]


@dataclass(frozen=True)
class MeanSubtraction(Result):
    r"""Theory of output mean subtraction (Karakida, Akaho & Amari NeurIPS 2019; :ref:`theory-natgrad`).

    ``lambda_max_before`` :math:`=\alpha M(\kappa_1+(T-1)\kappa_2)/T` (C outliers),
    ``lambda_max_after`` :math:`=\alpha M(\kappa_1-\kappa_2)/T` (the mean of the remaining
    group; at finite M/T the top of that group lies above it), ``factor`` = before / after.

    Examples
    --------
    >>> from geosym.natgrad import mean_subtraction
    >>> ms = mean_subtraction("tanh", 2.0, 0.1, depth=3, width=1000, samples=10)
    >>> round(ms.lambda_max_before, 3), round(ms.lambda_max_after, 3)
    (205.618, 142.172)
    """

    lambda_max_before: float
    lambda_max_after: float
    factor: float
    kappa1: float
    kappa2: float
    alpha: float
    width: int
    samples: int


def mean_subtraction(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    width: int,
    samples: int,
    outputs: int = 1,
    alphas: Sequence[float] | None = None,
) -> MeanSubtraction:
    r"""λ_max of the FIM with and without centring the output over the batch.

    Centring :math:`\tilde f_k(t)=f_k(t)-\frac1T\sum_{t'}f_k(t')` maps the Gram to
    :math:`(I_C\otimes H)JJ^\top(I_C\otimes H)`, :math:`H=I_T-\mathbf 1\mathbf 1^\top/T`, which
    removes exactly the C outlier directions (the mean gradients): :math:`\lambda_{\max}` falls
    from :math:`O(M)` to :math:`O(M/T)` (derived in :ref:`theory-natgrad`).

    Examples
    --------
    >>> from geosym.natgrad import mean_subtraction
    >>> ms = mean_subtraction("tanh", 2.0, 0.1, depth=3, width=1000, samples=10)
    >>> round(ms.factor, 4)
    1.4463
    """
    st = fim_statistics(activation, sigma_w2, sigma_b2, depth, width, outputs, samples, alphas)
    before, after = float(st.lambda_max), float(st.lambda_2)
    if not after > 0:
        raise NumericalError("kappa1 <= kappa2: the centred spectrum is degenerate")
    return MeanSubtraction(
        before,
        after,
        before / after,
        float(st.kappa1),
        float(st.kappa2),
        float(st.alpha),
        int(width),
        int(samples),
    )

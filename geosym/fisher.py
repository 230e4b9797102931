r"""Fisher-information statistics of wide random networks (Karakida, Akaho & Amari, AISTATS 2019).

For an L-layer net with widths :math:`M_l=\alpha_l M` (l < L), C linear outputs and T i.i.d.
Gaussian inputs, the empirical FIM :math:`F = J^\top J/T` has, as :math:`M\to\infty` (Karakida, Akaho
& Amari 2019, arXiv:1806.01316, Theorem 1)

.. math::

    m_\lambda \simeq \frac{\kappa_1 C}{M},\qquad
    s_\lambda \simeq \alpha C\Big(\frac{T-1}{T}\kappa_2^2+\frac{\kappa_1^2}{T}\Big),\qquad
    \lambda_{\max}\simeq\alpha M\Big(\frac{T-1}{T}\kappa_2+\frac{\kappa_1}{T}\Big),

with :math:`\alpha=\sum_{l=1}^{L-1}\alpha_l\alpha_{l-1}` and the order-parameter sums
:math:`\kappa_1=\sum_{l=1}^{L}\frac{\alpha_{l-1}}{\alpha}\tilde q_1^l\hat q_1^{l-1}`,
:math:`\kappa_2=\sum_{l=1}^{L}\frac{\alpha_{l-1}}{\alpha}\tilde q_2^l\hat q_2^{l-1}`
(:mod:`geosym.meanfield`).  The C(T-1) eigenvalues below the C outliers sit at
:math:`\lambda_2 = \alpha M(\kappa_1-\kappa_2)/T`; all others are zero.  Gradient descent on the
squared loss is stable near a minimum for :math:`\eta < \eta_c = 2/\lambda_{\max}` (the stability
condition of gradient descent on a quadratic, as used in the same paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from . import _checks
from .activations import Activation
from .errors import NumericalError
from .latex import latex as paper_latex
from .meanfield import MeanField, is_symbolic
from .results import Result

__all__ = [
    "FIMStatistics",
    "fim_statistics",
    "order_parameter_sums",
    "layer_widths",
    "LEARNING_RATE_CONVENTIONS",
]

#: Loss conventions :meth:`FIMStatistics.critical_learning_rate` converts to.
LEARNING_RATE_CONVENTIONS: tuple[str, ...] = ("geosym", "torch-mse-mean")


@dataclass(frozen=True)
class FIMStatistics(Result):
    """Theoretical FIM eigenvalue statistics (fields broadcast over sigma arrays).

    Examples
    --------
    >>> import geosym as gs
    >>> s = gs.fim_statistics("tanh", 3.0, 0.64, depth=3, width=500, samples=10)
    >>> round(float(s.lambda_max), 4), round(float(s.eta_critical), 6), s.n_params
    (202.306, 0.009886, 501501)
    >>> s.latex().splitlines()[0].endswith("0.118615")  # kappa_1, kappa_2 first
    True
    """

    m_lambda: Any
    s_lambda: Any
    lambda_max: Any
    lambda_2: Any
    kappa1: Any
    kappa2: Any
    alpha: float
    n_params: int
    eta_critical: Any
    width: int
    depth: int
    outputs: int
    samples: int

    def critical_learning_rate(self, convention: str = "geosym") -> Any:
        r"""The largest stable constant learning rate of gradient descent, in a loss convention.

        GD on geosym's loss :math:`E=\frac1{2T}\sum_t\|f(x_t)-y_t\|^2` is stable near a minimum
        for :math:`\eta<\eta_c=2/\lambda_{\max}` (Karakida, Akaho & Amari, AISTATS 2019, §5;
        LeCun et al. 1998). ``torch.nn.MSELoss(reduction="mean")`` averages over the T·C entries:
        :math:`E_{\rm torch}=\frac1{TC}\sum_t\|f-y\|^2=\frac2CE`, so plain ``torch.optim.SGD``
        with learning rate :math:`\eta_t` takes the step :math:`\frac{2}{C}\eta_t\nabla E` and the
        same bound reads :math:`\eta_t<\frac C2\eta_c=C/\lambda_{\max}`.

        Parameters
        ----------
        convention
            ``"geosym"`` (returns :attr:`eta_critical`) or ``"torch-mse-mean"`` (returns
            :math:`\frac C2\eta_c`, the ``lr`` for ``torch.optim.SGD`` on ``MSELoss()``).

        Examples
        --------
        >>> import geosym as gs
        >>> st = gs.fim_statistics("tanh", 1.0, 0.0, depth=3, width=500, outputs=10, samples=100,
        ...                        q1_0=1.0, q2_0=0.4)
        >>> bool(st.critical_learning_rate() == st.eta_critical)
        True
        >>> round(float(st.critical_learning_rate("torch-mse-mean") / st.eta_critical), 12)
        5.0
        """
        return self.eta_critical * _convention_factor(convention, self.outputs)

    def fastest_learning_rate(self, convention: str = "geosym") -> Any:
        r"""The theory's estimate of the fastest constant learning rate, :math:`2/(\lambda_{\max}+\lambda_2)`.

        For a quadratic loss whose non-zero curvatures lie between the bulk :math:`\lambda_2` and
        :math:`\lambda_{\max}`, the rate :math:`2/(\lambda_{\max}+\lambda_2)` balances the
        slowest and the fastest mode (Nesterov 2004, Thm. 2.1.15), i.e.
        :math:`c=\eta/\eta_c=\lambda_{\max}/(\lambda_{\max}+\lambda_2)` just below 1.
        ``convention`` as in :meth:`critical_learning_rate`.

        Examples
        --------
        >>> import geosym as gs
        >>> st = gs.fim_statistics("tanh", 1.0, 0.0, depth=3, width=500, outputs=10, samples=100,
        ...                        q1_0=1.0, q2_0=0.4)
        >>> 0.9 < float(st.fastest_learning_rate() / st.eta_critical) < 1.0
        True
        """
        return 2 / (self.lambda_max + self.lambda_2) * _convention_factor(convention, self.outputs)

    def latex(self) -> str:
        r"""The statistics with their defining formulas, paper notation."""
        k1, k2 = sp.symbols("kappa1 kappa2")
        a, m, c, t = sp.Symbol("alpha"), sp.Symbol("M"), sp.Symbol("C"), sp.Symbol("T")
        formulas = [
            (r"m_\lambda", k1 * c / m, self.m_lambda),
            (r"s_\lambda", a * c * ((t - 1) / t * k2**2 + k1**2 / t), self.s_lambda),
            (r"\lambda_{\max}", a * m * ((t - 1) / t * k2 + k1 / t), self.lambda_max),
            (r"\eta_c", 2 / (a * m * ((t - 1) / t * k2 + k1 / t)), self.eta_critical),
        ]
        lines = [
            rf"\kappa_1 = {_format_value(self.kappa1)},\quad \kappa_2 = {_format_value(self.kappa2)}"
        ]
        for name, formula, value in formulas:
            lines.append(f"{name} = {paper_latex(formula)} = {_format_value(value)}")
        return "\n".join(lines)


def _convention_factor(convention: str, outputs: int) -> float:
    if convention == "geosym":
        return 1.0
    if convention == "torch-mse-mean":
        return outputs / 2
    raise ValueError(f"convention must be one of {LEARNING_RATE_CONVENTIONS}, got {convention!r}")


def _format_value(v: Any) -> str:
    if isinstance(v, sp.Basic):
        return paper_latex(v)
    arr = np.asarray(v, dtype=float)
    return f"{float(arr):.6g}" if arr.ndim == 0 else r"\text{(array)}"


def order_parameter_sums(
    mf: MeanField,
    depth: int,
    alphas: Sequence[float] | None = None,
    q1_0: Any = 1.0,
    q2_0: Any = 0.0,
) -> tuple[Any, Any, float]:
    r"""(:math:`\kappa_1`, :math:`\kappa_2`, :math:`\alpha`) from the forward/backward recursions.

    Examples
    --------
    >>> from geosym.fisher import order_parameter_sums
    >>> from geosym.meanfield import MeanField
    >>> k1, k2, alpha = order_parameter_sums(MeanField("tanh", 3.0, 0.64), depth=3)
    >>> round(float(k1), 6), round(float(k2), 6), alpha
    (0.955522, 0.118615, 2.0)
    """
    _checks.depth(depth)
    if depth < 2:
        raise ValueError("depth must be >= 2 (at least one hidden layer) for FIM statistics")
    _checks.alphas(alphas, depth)
    a = [1.0] * depth if alphas is None else [float(x) for x in alphas]
    if is_symbolic(mf.sigma_w2, mf.sigma_b2, q1_0, q2_0):
        a = [sp.Rational(repr(x)) for x in a]
    alpha = sum(a[l] * a[l - 1] for l in range(1, depth))
    fwd, bwd = mf.propagate(depth, alphas, q1_0, q2_0)
    kappa1 = sum((a[l - 1] / alpha) * bwd.qt1[l] * fwd.qh1[l - 1] for l in range(1, depth + 1))
    kappa2 = sum((a[l - 1] / alpha) * bwd.qt2[l] * fwd.qh2[l - 1] for l in range(1, depth + 1))
    return kappa1, kappa2, float(alpha)


def layer_widths(
    width: int, depth: int, alphas: Sequence[float] | None = None, outputs: int = 1
) -> list[int]:
    r"""``[M_0, ..., M_{L-1}, C]`` with :math:`M_l = \mathrm{round}(\alpha_l M)` (at least 1).

    Examples
    --------
    >>> from geosym.fisher import layer_widths
    >>> layer_widths(500, depth=3, alphas=[1.0, 2.0, 0.5], outputs=10)
    [500, 1000, 250, 10]
    """
    a = [1.0] * depth if alphas is None else [float(x) for x in alphas]
    return [max(1, int(round(x * width))) for x in a] + [outputs]


def fim_statistics(
    activation: Activation | str,
    sigma_w2: Any,
    sigma_b2: Any,
    depth: int,
    width: int,
    outputs: int = 1,
    samples: int = 1,
    alphas: Sequence[float] | None = None,
    q1_0: Any = 1.0,
    q2_0: Any = 0.0,
) -> FIMStatistics:
    r"""Mean-field FIM eigenvalue statistics of a wide random network.

    Parameters
    ----------
    activation : Activation or spec
        Hidden-layer nonlinearity (the output layer is linear).
    sigma_w2, sigma_b2 : float, array or sympy.Symbol
        Weight/bias variances; arrays broadcast (a whole grid at once); symbols give exact
        closed forms where the kernels have them (e.g. ReLU).
    depth : int
        L, the number of weight layers (L-1 hidden layers).
    width : int
        M; layer widths are :math:`M_l = \alpha_l M` for l = 0..L-1.
    outputs, samples : int
        C and T.
    alphas : sequence of L floats, optional
        :math:`\alpha_0,\dots,\alpha_{L-1}` (default all 1).
    q1_0, q2_0 : float
        Input statistics :math:`\|x\|^2/M_0` and :math:`x\cdot x'/M_0` (1 and 0 for N(0, I) inputs).

    Returns
    -------
    FIMStatistics
        ``m_lambda, s_lambda, lambda_max, lambda_2, kappa1, kappa2, alpha, n_params,
        eta_critical`` (= 2/lambda_max).

    Raises
    ------
    ValueError
        Bad arguments, or an identically zero FIM (the activation 0): no :math:`\eta_c`.
    geosym.NumericalError
        The recursions overflow (the backward signal explodes with depth).

    Examples
    --------
    >>> st = fim_statistics("relu", 2.0, 0.0, depth=3, width=1000, outputs=1, samples=20)
    >>> round(float(st.kappa1), 6), round(float(st.kappa2), 6), round(float(st.lambda_max), 2)
    (1.5, 0.342854, 801.42)
    """
    depth_ = depth
    _checks.depth(depth_)
    width = _checks.positive_int(width, "width")
    outputs = _checks.positive_int(outputs, "outputs")
    samples = _checks.positive_int(samples, "samples")
    mf = MeanField(activation, sigma_w2, sigma_b2)
    kappa1, kappa2, alpha = order_parameter_sums(mf, depth_, alphas, q1_0, q2_0)
    widths = layer_widths(width, depth_, alphas, outputs)
    n_params = int(sum(widths[l] * (widths[l - 1] + 1) for l in range(1, depth_ + 1)))
    M, C, T = width, outputs, samples
    if is_symbolic(kappa1, kappa2):
        kappa1, kappa2 = sp.simplify(kappa1), sp.simplify(kappa2)
        M_, C_, T_ = sp.Integer(M), sp.Integer(C), sp.Integer(T)
        alpha_ = sp.Rational(repr(alpha))
    else:
        M_, C_, T_, alpha_ = M, C, T, alpha
    m_lambda = kappa1 * C_ / M_
    s_lambda = alpha_ * C_ * ((T_ - 1) * kappa2**2 / T_ + kappa1**2 / T_)
    lambda_max = alpha_ * M_ * ((T_ - 1) * kappa2 / T_ + kappa1 / T_)
    lambda_2 = alpha_ * M_ * (kappa1 - kappa2) / T_
    if not is_symbolic(lambda_max) and np.any(np.asarray(lambda_max, dtype=float) == 0.0):
        raise ValueError(
            f"the Fisher information of this network is identically zero (kappa1 = kappa2 = 0: "
            f"{mf.activation.name} = {mf.activation.expr} passes no signal to the output), so "
            "lambda_max = 0 and there is no critical learning rate eta_c = 2/lambda_max; use an "
            "activation that is not identically zero"
        )
    eta_critical = 2 / lambda_max
    if not is_symbolic(lambda_max):
        for name, v in (("kappa1", kappa1), ("lambda_max", lambda_max), ("s_lambda", s_lambda)):
            arr = np.asarray(v, dtype=float)
            if np.any(~np.isfinite(arr)) or np.any(np.abs(arr) > 1e300):
                raise NumericalError(
                    f"{name} overflowed for depth {depth_} (the backward signal explodes; "
                    "reduce sigma_w2 or depth)"
                )
    return FIMStatistics(
        m_lambda=m_lambda,
        s_lambda=s_lambda,
        lambda_max=lambda_max,
        lambda_2=lambda_2,
        kappa1=kappa1,
        kappa2=kappa2,
        alpha=alpha,
        n_params=n_params,
        eta_critical=eta_critical,
        width=M,
        depth=depth_,
        outputs=C,
        samples=T,
    )

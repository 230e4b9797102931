r"""Measured Fisher-information statistics of an :class:`~geosym.nn.MLP`, via the Gram matrix.

Karakida, Akaho & Amari, "Universal Statistics of Fisher Information in Deep Neural Networks:
Mean Field Approach", AISTATS 2019 (arXiv:1806.01316), the FIM of its §2 and Theorem 1.

The empirical FIM of the Gaussian-regression model over T inputs is

.. math::

    F=\frac1T\sum_{t=1}^T\sum_{k=1}^C\nabla_\theta f_k(t)\nabla_\theta f_k(t)^\top
     =\frac1T J^\top J,\qquad J\in\mathbb R^{CT\times P}.

Its non-zero spectrum is that of :math:`JJ^\top/T`, and the CT x CT Gram matrix is assembled
layer by layer without forming J (nor the P x P matrix F):

.. math::

    (JJ^\top)_{(k,t),(k',t')}=\sum_{l=1}^{L}\big(\delta^l_k(t)\cdot\delta^l_{k'}(t')\big)
    \big(h^{l-1}(t)\cdot h^{l-1}(t')+1\big),\qquad
    \delta^l_{k,i}(t)=\frac{\partial f_k(t)}{\partial u^l_i(t)}.

Per layer this is one ``(CT, M_l) @ (M_l, CT)`` product and a Hadamard product with the tiled
T x T input Gram; the backward pass for all C outputs is one ``(CT, M_{l+1}) @ (M_{l+1}, M_l)``
product. Rows/columns are ordered output-major: index ``k * T + t``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .. import _checks
from ..errors import NumericalError
from ..results import Result
from .mlp import MLP

__all__ = [
    "MeasuredFIMStatistics",
    "fim_statistics",
    "gram_matrix",
    "jacobian",
    "measured_fim_statistics",
]


@dataclass(frozen=True)
class MeasuredFIMStatistics(Result):
    r"""FIM eigenvalue statistics measured on one finite network and data set.

    Field names match the theoretical ``geosym.fisher.FIMStatistics`` so that ratios can be
    taken field by field (Karakida et al. 2019, Theorem 1).

    Attributes
    ----------
    m_lambda
        :math:`m_\lambda=\mathrm{Tr}F/P=\mathrm{Tr}(JJ^\top)/(TP)` (theory :math:`\kappa_1C/M`).
    s_lambda
        :math:`s_\lambda=\sum_i\lambda_i^2/P=\|JJ^\top\|_F^2/(T^2P)`.
    lambda_max
        Largest eigenvalue of F.
    lambda_2
        Mean of the C(T-1) eigenvalues below the C largest (theory
        :math:`\alpha M(\kappa_1-\kappa_2)/T`); NaN when T = 1 (there are none).
    kappa1, kappa2
        Measured order-parameter constants: mean diagonal Gram entry and mean same-output,
        cross-sample (t != t') Gram entry, each divided by :math:`\alpha M` (:ref:`theory-fisher`:
        :math:`JJ^\top/M\to\alpha[\kappa_1I+\kappa_2(\mathbf 1\mathbf 1^\top-I)]\otimes I_C`).
        ``kappa2`` is NaN when T = 1.
    alpha
        :math:`\alpha=\sum_{l=1}^{L-1}M_lM_{l-1}/M^2` with the reference width ``width``
        (0 for depth L = 1, where ``kappa1``/``kappa2`` are then NaN: no hidden layer).
    eta_critical
        :math:`2/\lambda_{\max}`, the GD stability limit (Karakida, Akaho & Amari 2019).
    spectrum
        The min(CT, P) eigenvalues of :math:`JJ^\top/T`, descending: all non-zero eigenvalues of
        F (the remaining P - CT are exactly 0). Round-off negatives are clipped to 0. Read-only.
    n_params
        P.
    width
        Reference width M (default :math:`M_1`, the first hidden width).
    samples, outputs, depth, widths
        T, C, L and :math:`(M_0,\dots,M_L)`.

    Examples
    --------
    >>> from geosym.nn import MLP, gaussian_inputs
    >>> net = MLP.random([20, 30, 30, 1], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
    >>> X = gaussian_inputs(8, 20, seed=1)
    >>> from geosym.nn import fim_statistics
    >>> stats = fim_statistics(net, X)
    >>> stats.n_params, stats.samples, stats.width
    (1591, 8, 30)
    >>> round(stats.eta_critical * stats.lambda_max, 12)  # eta_c = 2 / lambda_max
    2.0
    """

    m_lambda: float
    s_lambda: float
    lambda_max: float
    lambda_2: float
    kappa1: float
    kappa2: float
    alpha: float
    eta_critical: float
    spectrum: np.ndarray = field(repr=False, compare=False)
    n_params: int
    width: int
    samples: int
    outputs: int
    depth: int
    widths: tuple[int, ...]

    def latex(self) -> str:
        r"""A small LaTeX ``tabular`` of the scalar statistics."""
        rows = [
            (r"m_\lambda", self.m_lambda),
            (r"s_\lambda", self.s_lambda),
            (r"\lambda_{\max}", self.lambda_max),
            (r"\lambda_2", self.lambda_2),
            (r"\kappa_1", self.kappa1),
            (r"\kappa_2", self.kappa2),
            (r"\eta_c=2/\lambda_{\max}", self.eta_critical),
        ]
        body = "\n".join(f"${name}$ & {value:.6g} \\\\" for name, value in rows)
        head = (
            f"% measured: L={self.depth}, M={self.width}, C={self.outputs}, "
            f"T={self.samples}, P={self.n_params}\n"
        )
        return head + "\\begin{tabular}{lr}\n" + body + "\n\\end{tabular}"


def _check_net(net: Any) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a geosym.nn.MLP, got {type(net).__name__}")
    return net


def gram_matrix(net: MLP, X: Any) -> np.ndarray:
    r"""The CT x CT Gram matrix :math:`JJ^\top`, built layer by layer.

    .. math::

        JJ^\top=\sum_{l=1}^L(\Delta_l\Delta_l^\top)\circ\big((H_{l-1}H_{l-1}^\top+1)\otimes
        \mathbf 1_C\mathbf 1_C^\top\big)

    with :math:`\Delta_l` the ``(CT, M_l)`` matrix of :math:`\delta^l_k(t)` and :math:`H_{l-1}`
    the ``(T, M_{l-1})`` matrix of :math:`h^{l-1}(t)`. Neither J nor F is formed; cost
    :math:`O(\sum_l CT\,M_lM_{l-1}+(CT)^2M_l)`, memory :math:`O((CT)^2+CT\max M_l)`.

    Returns
    -------
    ndarray
        Symmetric ``(C*T, C*T)`` matrix, index ``k * T + t``.

    Examples
    --------
    >>> from geosym.nn import MLP, gaussian_inputs
    >>> net = MLP.random([20, 30, 30, 1], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
    >>> X = gaussian_inputs(8, 20, seed=1)
    >>> import numpy as np
    >>> from geosym.nn import gram_matrix, jacobian
    >>> G = gram_matrix(net, X)
    >>> J = jacobian(net, X)
    >>> G.shape, bool(np.allclose(G, J @ J.T))
    ((8, 8), True)
    """
    net = _check_net(net)
    X = net.check_inputs(X)
    cache = net.forward(X, check=False)
    deltas = net.output_deltas(cache)
    T, C = cache.output.shape
    n = C * T
    gram = np.zeros((n, n))
    g4 = gram.reshape(C, T, C, T)
    with np.errstate(over="ignore", invalid="ignore"):
        for l, (d, h) in enumerate(zip(deltas, cache.inputs, strict=True), start=1):
            d2 = d.reshape(n, d.shape[-1])
            dd = d2 @ d2.T  # symmetric product (BLAS syrk)
            hh = h @ h.T
            hh += 1.0
            dd4 = dd.reshape(C, T, C, T)
            dd4 *= hh[None, :, None, :]
            if not np.isfinite(dd4).all():
                raise NumericalError(f"gram_matrix: the contribution of layer {l} is not finite")
            g4 += dd4
    return gram


def jacobian(net: MLP, X: Any, *, max_bytes: float = 2.0 * 2**30) -> np.ndarray:
    r"""The explicit ``(CT, P)`` Jacobian :math:`J_{(k,t),p}=\partial f_k(x(t))/\partial\theta_p`.

    Reference/baseline route only (memory CT·P·8 bytes): rows ordered ``k * T + t``, columns
    as :meth:`MLP.parameters`. Built from the same backward pass:
    :math:`\partial f_k(t)/\partial W^l_{ij}=\delta^l_{k,i}(t)h^{l-1}_j(t)`,
    :math:`\partial f_k(t)/\partial b^l_i=\delta^l_{k,i}(t)`.

    Raises
    ------
    ValueError
        If the matrix would exceed ``max_bytes`` (default 2 GiB); use :func:`gram_matrix`.

    Examples
    --------
    >>> from geosym.nn import MLP, gaussian_inputs
    >>> net = MLP.random([20, 30, 30, 1], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
    >>> X = gaussian_inputs(8, 20, seed=1)
    >>> from geosym.nn import jacobian
    >>> jacobian(net, X).shape  # (C T, P)
    (8, 1591)
    """
    net = _check_net(net)
    X = net.check_inputs(X)
    T, C, P = X.shape[0], net.n_outputs, net.n_params
    need = 8.0 * C * T * P
    if need > max_bytes:
        raise ValueError(
            f"jacobian: a {C * T} x {P} Jacobian needs {need / 2**30:.2f} GiB > max_bytes="
            f"{max_bytes / 2**30:.2f} GiB; use gram_matrix/fim_statistics(method='gram')"
        )
    cache = net.forward(X, check=False)
    deltas = net.output_deltas(cache)
    n = C * T
    out = np.empty((n, P))
    pos = 0
    for d, h in zip(deltas, cache.inputs, strict=True):
        m_out, m_in = d.shape[-1], h.shape[-1]
        blk = out[:, pos : pos + m_out * m_in].reshape(C, T, m_out, m_in)
        np.multiply(d[:, :, :, None], h[None, :, None, :], out=blk)
        pos += m_out * m_in
        out[:, pos : pos + m_out] = d.reshape(n, m_out)
        pos += m_out
    return out


def fim_statistics(
    net: MLP,
    X: Any,
    *,
    width: int | None = None,
    method: Literal["gram", "jacobian", "lanczos", "auto"] = "gram",
) -> MeasuredFIMStatistics:
    r"""Measured FIM eigenvalue statistics of ``net`` on the inputs ``X``.

    Computes, from the CT x CT Gram matrix :math:`G=JJ^\top` (:func:`gram_matrix`),

    .. math::

        m_\lambda=\frac{\mathrm{Tr}\,G}{TP},\qquad s_\lambda=\frac{\|G\|_F^2}{T^2P},\qquad
        \{\lambda_i\ne0\}=\mathrm{spec}(G)/T,

    to be compared with Karakida, Akaho & Amari (AISTATS 2019), Theorem 1:
    :math:`m_\lambda\simeq\kappa_1C/M`,
    :math:`s_\lambda\simeq\alpha C((T-1)\kappa_2^2/T+\kappa_1^2/T)`,
    :math:`\lambda_{\max}\simeq\alpha M((T-1)\kappa_2/T+\kappa_1/T)`.

    Parameters
    ----------
    net
        An :class:`~geosym.nn.MLP`.
    X
        Inputs, shape ``(T, M_0)``, finite.
    width
        Reference width M for ``alpha``, ``kappa1``, ``kappa2`` (default :math:`M_1`; use the
        same M as in the theory when hidden widths differ, :math:`M_l=\alpha_lM`).
    method
        ``"gram"`` (default, layer-wise Gram and a dense eigendecomposition), ``"jacobian"``
        (explicit J, then :math:`JJ^\top`; a baseline for tests and benchmarks, memory CT·P),
        ``"lanczos"`` (Gram built in place block by block, the C largest eigenvalues by
        Lanczos; :mod:`geosym.nn.fim_lanczos`: for T in the thousands, same statistics to
        1e-8 relative, but ``spectrum`` holds only the C largest eigenvalues) or ``"auto"``
        (``"lanczos"`` when CT > 2000, else ``"gram"``).

    Returns
    -------
    MeasuredFIMStatistics

    Examples
    --------
    >>> from geosym.nn import MLP, gaussian_inputs
    >>> net = MLP.random([20, 30, 30, 1], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
    >>> X = gaussian_inputs(8, 20, seed=1)
    >>> from geosym.nn import fim_statistics
    >>> measured = fim_statistics(net, X)
    >>> round(measured.lambda_max, 4), round(measured.m_lambda, 6)
    (19.819, 0.034345)
    >>> import geosym as gs
    >>> wide = MLP.random([200, 200, 200, 1], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
    >>> theory = gs.fim_statistics("tanh", 3.0, 0.64, depth=3, width=200, samples=20)
    >>> ratio = fim_statistics(wide, gaussian_inputs(20, 200, seed=1)).lambda_max / theory.lambda_max
    >>> f"{ratio:.2f}"  # finite width M = 200, T = 20 samples: agreement to O(1/sqrt(M))
    '1.07'
    """
    net = _check_net(net)
    X = net.check_inputs(X)
    if method == "auto":
        method = "lanczos" if X.shape[0] * net.n_outputs > 2000 else "gram"
    if method == "gram":
        gram = gram_matrix(net, X)
    elif method == "jacobian":
        J = jacobian(net, X)
        gram = J @ J.T
    elif method == "lanczos":
        from .fim_lanczos import gram_matrix_blocked

        gram = gram_matrix_blocked(net, X)
    else:
        raise ValueError(f"method must be 'gram', 'jacobian', 'lanczos' or 'auto', got {method!r}")
    widths = net.widths
    M = widths[1] if width is None else _checks.positive_int(width, "width")
    return _statistics_from_gram(
        gram, widths=widths, n_params=net.n_params, width=M, lanczos=method == "lanczos"
    )


def _dense_eigen_part(gram: np.ndarray, outputs: int, n_params: int) -> dict[str, Any]:
    n = gram.shape[0]
    T = n // outputs
    try:
        evals = np.linalg.eigvalsh(gram)[::-1] / T
    except np.linalg.LinAlgError as exc:  # pragma: no cover - LAPACK failure
        raise NumericalError(f"fim_statistics: eigvalsh of the Gram matrix failed: {exc}") from exc
    spectrum = np.clip(evals[: min(n, n_params)], 0.0, None)
    spectrum.setflags(write=False)
    if T > 1 and spectrum.size > outputs:
        lambda_2 = float(spectrum[outputs:].mean())
    else:
        lambda_2 = float("nan")
    return {"spectrum": spectrum, "lambda_2": lambda_2}


def _statistics_from_gram(
    gram: np.ndarray,
    *,
    widths: tuple[int, ...],
    n_params: int,
    width: int,
    lanczos: bool = False,
) -> MeasuredFIMStatistics:
    C = widths[-1]
    n = gram.shape[0]
    T = n // C
    P = n_params
    if not np.isfinite(gram).all():
        raise NumericalError("fim_statistics: the Gram matrix JJ^T is not finite")
    if lanczos:
        from .fim_lanczos import lanczos_eigen_part

        eigen = lanczos_eigen_part(gram, C, P)
    else:
        eigen = _dense_eigen_part(gram, C, P)
    spectrum, lambda_2 = eigen["spectrum"], eigen["lambda_2"]
    diag = np.diagonal(gram)
    trace = float(diag.sum())
    alpha = sum(widths[l] * widths[l - 1] for l in range(1, len(widths) - 1)) / width**2
    scale = alpha * width if alpha > 0 else float("nan")  # alpha = 0 only when L = 1
    g4 = gram.reshape(C, T, C, T)
    same = np.einsum("ktks->ts", g4)  # sum over k of the same-output blocks, (T, T)
    if T > 1:
        off_mean = (same.sum() - np.trace(same)) / (C * T * (T - 1))
    else:
        off_mean = float("nan")
    lam_max = float(spectrum[0])
    return MeasuredFIMStatistics(
        m_lambda=trace / (T * P),
        s_lambda=float(np.vdot(gram, gram)) / (T * T * P),
        lambda_max=lam_max,
        lambda_2=lambda_2,
        kappa1=trace / n / scale,
        kappa2=float(off_mean) / scale,
        alpha=float(alpha),
        eta_critical=2.0 / lam_max if lam_max > 0 else float("inf"),
        spectrum=spectrum,
        n_params=int(P),
        width=int(width),
        samples=int(T),
        outputs=int(C),
        depth=len(widths) - 1,
        widths=tuple(widths),
    )


#: the same function under a name that says it measures (``geosym.fim_statistics`` is the theory)
measured_fim_statistics = fim_statistics

r"""Natural-gradient optimizers for :class:`geosym.nn.MLP`: exact, layer-wise, K-FAC and unit-wise.

Each ``*_direction(net, cache, grad_output, ...)`` takes the network, its forward cache and the
output gradient :math:`g=\partial E/\partial f=(f-y)/T` (shape ``(T, C)``) of the mean squared
error :math:`E=\frac1{2T}\|f-y\|^2`, and returns the preconditioned gradient
:math:`(\hat F+\rho I)^{-1}\nabla E` as a list ``[(dW^1, db^1), ...]``; the step is
:math:`\theta\leftarrow\theta-\eta\cdot` direction. :math:`F=J^\top J/T` is the empirical Fisher
(Gauss-Newton) matrix of Karakida, Akaho & Amari (AISTATS 2019), fim.md §1.3. No P x P matrix
is formed: every inverse goes through T x T or CT x CT Gram matrices (push-through identity
:math:`(A^\top A/T+\rho I)^{-1}A^\top=A^\top(AA^\top/T+\rho I)^{-1}`) or the closed-form unit
block of :mod:`geosym.natgrad`.

Methods (Karakida & Osawa, NeurIPS 2020; fim.md §5) and their default (one-step) learning rates,
from :func:`geosym.natgrad.one_step_learning_rates`:

================  ===============================================================  =============
``"gd"``          plain gradient                                                   1/λ_max
``"ngd"``         exact: :math:`J^\top(JJ^\top+\rho T I)^{-1}(f-y)`                 1
``"ngd-layer"``   layer block-diagonal: per layer :math:`J_l^\top(J_lJ_l^\top+\rho T)^{-1}(f-y)`  1/L
``"kfac"``        :math:`(B_l+\rho_B)^{-1}\nabla_{W_l}(A_l+\rho_A)^{-1}`, A, B the K-FAC factors  1/(N(L-1)+1)
``"ngd-unit"``    unit-wise blocks, ``blocks="measured"`` (empirical unit blocks,   1/(γΣM_l/C+1)
                  T x T solves per unit) or ``blocks="mean-field"`` (closed form    T/P
                  :func:`geosym.natgrad.unit_fisher`, O(n) per unit)
================  ===============================================================  =============

``damping`` is *relative*: the multiple of the identity added to each matrix that is inverted
is ``damping`` times that matrix's mean diagonal entry (it must be > 0; defaults
:data:`METHOD_DAMPING`: 1e-6, and 1e-2 for ``"ngd-unit"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import NumericalError
from .mlp import MLP, ForwardCache

__all__ = [
    "METHODS",
    "DEFAULT_DAMPING",
    "METHOD_DAMPING",
    "gd_direction",
    "ngd_direction",
    "ngd_layer_direction",
    "kfac_direction",
    "ngd_unit_direction",
    "default_learning_rate",
    "make_step",
]

METHODS = ("gd", "ngd", "ngd-layer", "kfac", "ngd-unit")
DEFAULT_DAMPING = 1e-6
#: per-method default relative damping. Unit-wise NGD divides by delta_i(t), which is near 0 on
#: some samples; with 1e-6 the full one-step update leaves the linear regime at finite width
#: (measured, M=1024, N=64, L=3: residual 0.42 ReLU / 1.5 tanh), with 1e-2 it does not (0.09 / 0.15).
METHOD_DAMPING = {"ngd": 1e-6, "ngd-layer": 1e-6, "kfac": 1e-6, "ngd-unit": 1e-2, "gd": 0.0}
_BLOCKS = ("measured", "mean-field")
_CHUNK = 20_000_000  # max elements of a batched (units, T, T) system held at once

Updates = list[tuple[np.ndarray, np.ndarray]]


def _check_damping(damping: Any) -> float:
    if isinstance(damping, bool) or not isinstance(damping, (int, float, np.floating)):
        raise TypeError(f"damping must be a real number > 0, got {type(damping).__name__}")
    d = float(damping)
    if not (np.isfinite(d) and d > 0):
        raise ValueError(
            f"damping must be a finite number > 0 (relative to each matrix's mean diagonal), got {damping}"
        )
    return d


def _solve(A: np.ndarray, B: np.ndarray, where: str) -> np.ndarray:
    try:
        x = np.linalg.solve(A, B)
    except np.linalg.LinAlgError as exc:
        raise NumericalError(f"{where}: singular system ({exc}); increase damping") from None
    if not np.all(np.isfinite(x)):
        raise NumericalError(f"{where}: non-finite solution; increase damping")
    return x


def _augment(h: np.ndarray) -> np.ndarray:
    return np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)


def _pull_back(
    deltas: list[np.ndarray], cache: ForwardCache, v: np.ndarray, layers=None
) -> Updates:
    r""":math:`J_l^\top v` per layer from the output deltas (C, T, M_l); v has shape (C, T)."""
    out = []
    for l, (d, h) in enumerate(zip(deltas, cache.inputs, strict=True)):
        if layers is not None and l not in layers:
            out.append((np.zeros((d.shape[-1], h.shape[1])), np.zeros(d.shape[-1])))
            continue
        vv = v[l] if v.ndim == 3 else v
        e = np.einsum("kt,kti->ti", vv, d)
        out.append((e.T @ h, e.sum(axis=0)))
    return out


def _layer_gram(d: np.ndarray, h: np.ndarray) -> np.ndarray:
    """(CT, CT) Gram of one layer: (D D^T) o ((H H^T + 1) tiled over outputs)."""
    C, T, M = d.shape
    d2 = d.reshape(C * T, M)
    g = d2 @ d2.T
    hh = h @ h.T + 1.0
    g4 = g.reshape(C, T, C, T)
    g4 *= hh[None, :, None, :]
    return g


# ------------------------------------------------------------------------------- directions
def gd_direction(net: MLP, cache: ForwardCache, grad_output: np.ndarray) -> Updates:
    r"""Plain gradient :math:`\nabla E=J^\top g` (one backward pass)."""
    deltas = net.backward(cache, grad_output)
    return [(d.T @ h, d.sum(axis=0)) for d, h in zip(deltas, cache.inputs, strict=True)]


def ngd_direction(
    net: MLP, cache: ForwardCache, grad_output: np.ndarray, damping: float = DEFAULT_DAMPING
) -> Updates:
    r"""Exact damped NGD through the CT x CT Gram matrix (never a P x P inverse).

    .. math::

        (J^\top J/T+\rho I)^{-1}J^\top g = J^\top(JJ^\top+\rho T\,I)^{-1}\,T g,
        \qquad \rho = \text{damping}\cdot\overline{\mathrm{diag}(JJ^\top)}/T .

    Cost: the Gram (one batched backward pass for all C outputs, :math:`O(CT\,P)`), a CT x CT
    solve and a pull-back.

    Raises
    ------
    ValueError
        If CT > P (more residuals than parameters: :math:`JJ^\top` is singular and exact NGD
        cannot interpolate; use ``"ngd-layer"``/``"kfac"`` or fewer samples).
    """
    rho = _check_damping(damping)
    T, C = cache.output.shape
    if C * T > net.n_params:
        raise ValueError(
            f"exact NGD needs samples x outputs = {C * T} <= n_params = {net.n_params} "
            "(JJ^T is singular otherwise); use fewer samples or method='ngd-layer'/'kfac'"
        )
    deltas = net.output_deltas(cache)
    gram = sum(_layer_gram(d, h) for d, h in zip(deltas, cache.inputs, strict=True))
    n = C * T
    lam = rho * float(np.trace(gram)) / n
    rhs = (T * grad_output).T.reshape(n)  # index k*T + t
    x = _solve(gram + lam * np.eye(n), rhs, "ngd (Gram solve)")
    return _pull_back(deltas, cache, x.reshape(C, T))


def ngd_layer_direction(
    net: MLP, cache: ForwardCache, grad_output: np.ndarray, damping: float = DEFAULT_DAMPING
) -> Updates:
    r"""Layer block-diagonal NGD: :math:`J_l^\top(J_lJ_l^\top+\rho_lT\,I)^{-1}Tg` for each layer l."""
    rho = _check_damping(damping)
    T, C = cache.output.shape
    n = C * T
    deltas = net.output_deltas(cache)
    rhs = (T * grad_output).T.reshape(n)
    xs = []
    for l, (d, h) in enumerate(zip(deltas, cache.inputs, strict=True), start=1):
        g = _layer_gram(d, h)
        lam = rho * float(np.trace(g)) / n
        if not lam > 0:
            raise NumericalError(f"ngd-layer: the Gram of layer {l} is zero (dead layer)")
        xs.append(_solve(g + lam * np.eye(n), rhs, f"ngd-layer (layer {l})").reshape(C, T))
    return _pull_back(deltas, cache, np.stack(xs))


def _damped_inverse_apply(Z: np.ndarray, X: np.ndarray, rho: float, where: str) -> np.ndarray:
    r""":math:`(Z^\top Z/T+\lambda I)^{-1}X`, :math:`\lambda=\rho\cdot` mean diagonal, by the cheaper side."""
    T, m = Z.shape
    lam = rho * float(np.einsum("ti,ti->", Z, Z)) / (T * m)
    if not lam > 0:
        raise NumericalError(f"{where}: the factor is zero (dead layer)")
    if m <= T:
        return _solve(Z.T @ Z / T + lam * np.eye(m), X, where)
    small = _solve(Z @ Z.T + lam * T * np.eye(T), Z @ X, where)  # Woodbury
    return (X - Z.T @ small) / lam


def kfac_direction(
    net: MLP, cache: ForwardCache, grad_output: np.ndarray, damping: float = DEFAULT_DAMPING
) -> Updates:
    r"""K-FAC: :math:`\Delta\tilde W_l=(B_l+\rho_B I)^{-1}\nabla_{\tilde W_l}E\,(A_l+\rho_A I)^{-1}`.

    :math:`A_l=\frac1T\sum_t\tilde h^{l-1}(t)\tilde h^{l-1}(t)^\top` and
    :math:`B_l=\frac1T\sum_{t,k}\delta^l_k(t)\delta^l_k(t)^\top` (Martens & Grosse 2015; as
    analysed by Karakida & Osawa 2020). Each factor is inverted on its smaller side (direct
    solve or Woodbury through the T x T / CT x CT Gram).
    """
    rho = _check_damping(damping)
    T, C = cache.output.shape
    deltas = net.output_deltas(cache)
    grads = gd_direction(net, cache, grad_output)
    out = []
    for l, (d, h, (gw, gb)) in enumerate(zip(deltas, cache.inputs, grads, strict=True), start=1):
        Gt = np.concatenate([gw, gb[:, None]], axis=1)  # (M_l, n+1)
        left = _damped_inverse_apply(
            d.reshape(C * T, -1) * np.sqrt(C), Gt, rho, f"kfac B (layer {l})"
        )
        # note: B = (1/T) sum_{t,k} delta delta^T = (sqrt(C) D)^T (sqrt(C) D) / (C T)
        full = _damped_inverse_apply(_augment(h), left.T, rho, f"kfac A (layer {l})").T
        out.append((full[:, :-1], full[:, -1]))
    return out


def _unit_measured(
    d: np.ndarray, h: np.ndarray, g: np.ndarray, rho: float, layer: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""Empirical unit blocks :math:`F_i=\frac1T\tilde H^\top\mathrm{diag}(d_i)\tilde H`; returns
    :math:`(F_i+\rho_iI)^{-1}\nabla_i E=\tilde H^\top(\rho_iI+\mathrm{diag}(d_i)K/T)^{-1}e_i` for all units."""
    C, T, M = d.shape
    Ht = _augment(h)
    K = Ht @ Ht.T  # (T, T), shared by all units of the layer
    dsq = np.einsum("kti,kti->it", d, d)  # (M, T): sum_k delta^2
    e = np.einsum("kt,kti->it", g.T, d)  # (M, T): per-unit output-space gradient
    trace = dsq @ np.diag(K) / (T * Ht.shape[1])  # mean diagonal of each F_i
    floor = max(float(trace.mean()), 1e-300)
    lam = rho * np.maximum(trace, 1e-3 * floor)
    x = np.empty_like(e)
    step = max(1, _CHUNK // (T * T))
    eye = np.eye(T)
    for s in range(0, M, step):  # chunks of units; each chunk one batched LU solve
        sl = slice(s, s + step)
        A = dsq[sl, :, None] * K[None] / T + lam[sl, None, None] * eye
        x[sl] = _solve(A, e[sl, :, None], f"ngd-unit (layer {layer})")[..., 0]
    return x @ h, x.sum(axis=1)


def _unit_mean_field(
    net: MLP,
    l: int,
    d: np.ndarray,
    h: np.ndarray,
    u: np.ndarray | None,
    grad_w: np.ndarray,
    grad_b: np.ndarray,
    rho: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Closed-form unit blocks :math:`F_i\approx\beta_i^2G_i` (:func:`geosym.natgrad.unit_fisher`,
    Woodbury form, vectorised over units), inputs modelled as :math:`\mathcal N(\mu,\mathrm{diag}\,v)`
    with the batch mean and variance; :math:`\beta_i^2=\overline{\sum_k\delta_{k,i}^2}/\overline{\phi'(u_i)^2}`."""
    from ..natgrad import unit_coefficients

    W, b = net.weights[l], net.biases[l]
    M, n = W.shape
    mu = h.mean(axis=0)
    v = np.maximum(h.var(axis=0), 1e-12 * max(float(h.var(axis=0).max()), 1e-300))
    if u is None:  # linear output layer: phi' = 1, c = (1, 0, 1), beta = 1
        c = np.tile(np.array([[1.0], [0.0], [1.0]]), (1, M))
        r = np.sqrt((W * W) @ v)
        beta2 = np.ones(M)
    else:
        r = np.sqrt((W * W) @ v)
        c, _, _ = unit_coefficients(net.activation, r, b + W @ mu, engine=False)
        dphi2 = np.mean(np.asarray(net._dphi(u), dtype=float) ** 2, axis=0)
        dsq = np.einsum("kti,kti->i", d, d) / d.shape[1]
        beta2 = np.where(dphi2 > 0, dsq / np.where(dphi2 > 0, dphi2, 1.0), 0.0)
    c0, c1, c2 = c
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(r[:, None] > 0, v * W / r[:, None], 0.0)  # (M, n)
    scale = beta2 * c0  # F_i = beta2 * G_i; diagonal part beta2 c0 diag(v, 1)
    vbar = np.append(v, 1.0)
    floor = max(float(np.mean(scale)) * float(vbar.mean()), 1e-300)
    lam = rho * np.maximum(scale * float(vbar.mean()), 1e-3 * floor)
    dinv = 1.0 / (scale[:, None] * vbar[None, :] + lam[:, None])  # (M, n+1)
    ones = np.ones(M)
    U = np.empty((M, n + 1, 3))
    U[:, :n, 0] = mu
    U[:, n, 0] = 1.0
    U[:, :n, 1] = a
    U[:, n, 1] = 0.0
    U[:, :, 2] = 0.0
    U[:, n, 2] = 1.0
    S = np.zeros((M, 3, 3))
    S[:, 0, 0], S[:, 0, 1], S[:, 1, 0] = c0, c1, c1
    S[:, 1, 1], S[:, 2, 2] = c2 - c0, -c0 * ones
    S *= beta2[:, None, None]
    DU = dinv[:, :, None] * U
    Kc = np.swapaxes(U, 1, 2) @ DU  # batched BLAS (einsum is slow here)
    core = np.eye(3)[None] + Kc @ S
    M3 = S @ _solve(
        core, np.broadcast_to(np.eye(3), core.shape).copy(), f"ngd-unit mean-field (layer {l + 1})"
    )
    g = np.concatenate([grad_w, grad_b[:, None]], axis=1)
    proj = (np.swapaxes(DU, 1, 2) @ g[:, :, None])[:, :, 0]  # (M, 3)
    y = dinv * g - (DU @ (M3 @ proj[:, :, None]))[:, :, 0]
    return y[:, :-1], y[:, -1]


def ngd_unit_direction(
    net: MLP,
    cache: ForwardCache,
    grad_output: np.ndarray,
    damping: float = DEFAULT_DAMPING,
    blocks: str = "measured",
) -> Updates:
    r"""Unit-wise block-diagonal NGD (Amari, Karakida & Oizumi 2019; Karakida & Osawa 2020).

    ``blocks="measured"``: the empirical block of unit i,
    :math:`F_i=\frac1T\sum_t\sum_k\delta_{k,i}(t)^2\tilde h(t)\tilde h(t)^\top`, inverted
    through T x T systems (batched over the units of a layer). With damping :math:`\to0` and
    :math:`T\le M_{l-1}+1` the training outputs move by :math:`-\eta\,n_{\rm act}(t)(f-y)`
    (fim.md §5).

    ``blocks="mean-field"``: the closed-form block :math:`\beta_i^2G_i` of
    :func:`geosym.natgrad.unit_fisher` (inputs modelled as Gaussian with the batch's mean and
    variance), inverted in O(n) per unit by Woodbury; no T-dependent solve.
    """
    rho = _check_damping(damping)
    if blocks not in _BLOCKS:
        raise ValueError(f"blocks must be one of {_BLOCKS}, got {blocks!r}")
    deltas = net.output_deltas(cache)
    out: Updates = []
    if blocks == "measured":
        for l, (d, h) in enumerate(zip(deltas, cache.inputs, strict=True), start=1):
            out.append(_unit_measured(d, h, grad_output, rho, l))
        return out
    grads = [
        (np.einsum("kt,kti->ti", grad_output.T, d).T @ h, np.einsum("kt,kti->i", grad_output.T, d))
        for d, h in zip(deltas, cache.inputs, strict=True)
    ]
    L = net.depth
    for l in range(L):
        u = cache.preacts[l] if l < L - 1 else None
        out.append(_unit_mean_field(net, l, deltas[l], cache.inputs[l], u, *grads[l], rho))
    return out


# ------------------------------------------------------------------------------- glue for train
def default_learning_rate(
    net: MLP, cache: ForwardCache, method: str, blocks: str = "measured"
) -> float:
    r"""The theory's learning rate for ``method`` on this net and batch.

    ``gd``: :math:`1/\lambda_{\max}` of the measured FIM (removes the sharpest mode in one step,
    fim.md §1.6); NGD variants: the one-step rates of
    :func:`geosym.natgrad.one_step_learning_rates` for the net's widths, with the active
    fraction :math:`\gamma` measured on the batch.
    """
    from ..natgrad import one_step_learning_rates

    T, C = cache.output.shape
    if method == "gd":
        deltas = net.output_deltas(cache)
        gram = sum(_layer_gram(d, h) for d, h in zip(deltas, cache.inputs, strict=True))
        lam = float(np.linalg.eigvalsh(gram)[-1]) / T
        return 1.0 / lam
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    ws = net.widths
    rates = one_step_learning_rates(net.activation, net.depth, max(ws[1], 1), T, C, widths=ws)
    if method == "ngd-unit":
        if blocks == "mean-field":
            return T / net.n_params
        active = sum(
            float(np.mean(np.asarray(net._dphi(u)) != 0)) * u.shape[1] for u in cache.preacts[:-1]
        )
        return 1.0 / (active / C + 1.0)
    return rates.for_method(method)


def make_step(
    net: MLP,
    method: str,
    *,
    damping: float | None = None,
    blocks: str = "measured",
) -> Callable[[ForwardCache, np.ndarray], tuple[float, Updates]]:
    """A function ``(cache, Y) -> (loss, direction)`` for :meth:`MLP.train`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    rho = METHOD_DAMPING[method] if damping is None else _check_damping(damping)
    if blocks not in _BLOCKS:
        raise ValueError(f"blocks must be one of {_BLOCKS}, got {blocks!r}")
    table: dict[str, Callable[..., Updates]] = {
        "ngd": lambda c, g: ngd_direction(net, c, g, rho),
        "ngd-layer": lambda c, g: ngd_layer_direction(net, c, g, rho),
        "kfac": lambda c, g: kfac_direction(net, c, g, rho),
        "ngd-unit": lambda c, g: ngd_unit_direction(net, c, g, rho, blocks),
        "gd": lambda c, g: gd_direction(net, c, g),  # rho unused
    }
    fn = table[method]

    def step(cache: ForwardCache, Y: np.ndarray) -> tuple[float, Updates]:
        T = Y.shape[0]
        r = cache.output - Y
        loss = 0.5 * float(np.vdot(r, r)) / T
        return loss, fn(cache, r / T)

    return step

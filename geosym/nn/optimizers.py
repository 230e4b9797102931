r"""Natural-gradient optimizers for :class:`geosym.nn.MLP`: exact, layer-wise, K-FAC and unit-wise.

Each ``*_direction(net, cache, grad_output, ...)`` takes the network, its forward cache and the
output gradient :math:`g=\partial E/\partial f=(f-y)/T` (shape ``(T, C)``) of the mean squared
error :math:`E=\frac1{2T}\|f-y\|^2`, and returns the preconditioned gradient
:math:`(\hat F+\rho I)^{-1}\nabla E` as a list ``[(dW^1, db^1), ...]``; the step is
:math:`\theta\leftarrow\theta-\eta\cdot` direction. :math:`F=J^\top J/T` is the empirical Fisher
(Gauss-Newton) matrix of Karakida, Akaho & Amari (AISTATS 2019). No P x P matrix
is formed: every inverse goes through T x T or CT x CT Gram matrices (push-through identity
:math:`(A^\top A/T+\rho I)^{-1}A^\top=A^\top(AA^\top/T+\rho I)^{-1}`) or the closed-form unit
block of :mod:`geosym.natgrad`. The functions see the network only through the
:class:`~geosym.nn.network.Network` protocol.

Every method is one :class:`Method` record in :data:`METHODS` (name, direction, default
damping, default learning rate from the theory); adding a method is adding one record there.
Methods (Karakida & Osawa, NeurIPS 2020) and their default (one-step) learning rates, from
:func:`geosym.natgrad.one_step_learning_rates`:

=================  ===============================================================  =============
``"gd"``           plain gradient                                                   1/λ_max
``"ngd"``          exact: :math:`J^\top(JJ^\top+\rho T I)^{-1}(f-y)`                 1
``"ngd-layer"``    layer block-diagonal: per layer :math:`J_l^\top(J_lJ_l^\top+\rho T)^{-1}(f-y)`  1/L
``"kfac"``         :math:`(B_l+\rho_B)^{-1}\nabla_{W_l}(A_l+\rho_A)^{-1}`, A, B the K-FAC factors  1/(N(L-1)+1)
``"ngd-unit"``     unit-wise blocks, measured (empirical unit blocks, T x T systems   1/(γΣM_l/C+1)
                   sharing one Gram per layer: batched CG over all units, or
                   batched LU)
``"ngd-unit-mf"``  unit-wise blocks, mean-field (closed form                        T/P
                   :func:`geosym.natgrad.unit_fisher`, O(n) per unit); the same as
                   ``"ngd-unit"`` with ``blocks="mean-field"``
=================  ===============================================================  =============

``damping`` is *relative*: the multiple of the identity added to each matrix that is inverted
is ``damping`` times that matrix's mean diagonal entry (it must be > 0). Defaults
(:attr:`Method.damping`, also :data:`METHOD_DAMPING`): 1e-6, and 1e-2 for the unit-wise methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import NumericalError
from .network import ForwardCache, Network, Updates

__all__ = [
    "Method",
    "METHODS",
    "BLOCKS",
    "DEFAULT_DAMPING",
    "METHOD_DAMPING",
    "get_method",
    "gd_direction",
    "ngd_direction",
    "ngd_layer_direction",
    "kfac_direction",
    "ngd_unit_direction",
    "default_learning_rate",
    "make_step",
]

DEFAULT_DAMPING = 1e-6
#: the kinds of unit block of unit-wise NGD (``blocks=`` of :meth:`geosym.nn.MLP.train`)
BLOCKS = ("measured", "mean-field")
_CHUNK_DIRECT = 2_000_000  # max elements of a batched (units, T, T) system held at once
#: ngd-unit batched CG: relative residual per unit (direction error ~1e-10 measured at M=1000, T=64)
PCG_TOL = 1e-8
_MF_CHUNK = 65_536  # elements of (units, fan-in) work arrays per chunk in the mean-field blocks
_PCG_MIN_UNITS = 32  # below this many units per layer the batched direct solve is cheaper


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
def gd_direction(net: Network, cache: ForwardCache, grad_output: np.ndarray) -> Updates:
    r"""Plain gradient :math:`\nabla E=J^\top g` (one backward pass).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs, jacobian
    >>> net = MLP.random([10, 20, 20, 1], "tanh", 2.0, 0.1, seed=0)
    >>> X, Y = gaussian_inputs(8, 10, seed=1), np.zeros((8, 1))
    >>> cache = net.forward(X)
    >>> r = cache.output - Y  # residual; the MSE gradient w.r.t. the outputs is r / T
    >>> flat = lambda d: np.concatenate([np.r_[dW.ravel(), db] for dW, db in d])
    >>> J = jacobian(net, X)
    >>> from geosym.nn.optimizers import gd_direction
    >>> d = gd_direction(net, cache, r / 8)
    >>> bool(np.allclose(flat(d), J.T @ r.ravel() / 8))  # J^T g
    True
    """
    deltas = net.backward(cache, grad_output)
    return [(d.T @ h, d.sum(axis=0)) for d, h in zip(deltas, cache.inputs, strict=True)]


def ngd_direction(
    net: Network, cache: ForwardCache, grad_output: np.ndarray, damping: float = DEFAULT_DAMPING
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

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs, jacobian
    >>> net = MLP.random([10, 20, 20, 1], "tanh", 2.0, 0.1, seed=0)
    >>> X, Y = gaussian_inputs(8, 10, seed=1), np.zeros((8, 1))
    >>> cache = net.forward(X)
    >>> r = cache.output - Y  # residual; the MSE gradient w.r.t. the outputs is r / T
    >>> flat = lambda d: np.concatenate([np.r_[dW.ravel(), db] for dW, db in d])
    >>> J = jacobian(net, X)
    >>> from geosym.nn.optimizers import ngd_direction
    >>> d = flat(ngd_direction(net, cache, r / 8, damping=1e-8))
    >>> bool(np.allclose(J @ d, r.ravel(), atol=1e-6))  # moves the outputs by exactly -eta (f - y)
    True
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
    net: Network, cache: ForwardCache, grad_output: np.ndarray, damping: float = DEFAULT_DAMPING
) -> Updates:
    r"""Layer block-diagonal NGD: :math:`J_l^\top(J_lJ_l^\top+\rho_lT\,I)^{-1}Tg` for each layer l.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs, jacobian
    >>> net = MLP.random([10, 20, 20, 1], "tanh", 2.0, 0.1, seed=0)
    >>> X, Y = gaussian_inputs(8, 10, seed=1), np.zeros((8, 1))
    >>> cache = net.forward(X)
    >>> r = cache.output - Y  # residual; the MSE gradient w.r.t. the outputs is r / T
    >>> flat = lambda d: np.concatenate([np.r_[dW.ravel(), db] for dW, db in d])
    >>> J = jacobian(net, X)
    >>> from geosym.nn.optimizers import ngd_layer_direction
    >>> d = flat(ngd_layer_direction(net, cache, r / 8, damping=1e-8))
    >>> bool(np.allclose(J @ d, 3 * r.ravel(), atol=1e-5))  # L = 3 layers: one-step rate 1/L
    True
    """
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
            raise NumericalError(
                f"ngd-layer: the Gram of layer {l} is zero (dead layer: no output depends on its "
                "parameters, e.g. sigma_w2 = 0 or a constant activation)"
            )
        xs.append(_solve(g + lam * np.eye(n), rhs, f"ngd-layer (layer {l})").reshape(C, T))
    return _pull_back(deltas, cache, np.stack(xs))


def _damped_inverse_apply(Z: np.ndarray, X: np.ndarray, rho: float, where: str) -> np.ndarray:
    r""":math:`(Z^\top Z/T+\lambda I)^{-1}X`, :math:`\lambda=\rho\cdot` mean diagonal, by the cheaper side."""
    T, m = Z.shape
    lam = rho * float(np.einsum("ti,ti->", Z, Z)) / (T * m)
    if not lam > 0:
        raise NumericalError(
            f"{where}: the factor is zero (dead layer: sigma_w2 = 0 or a constant activation)"
        )
    if m <= T:
        return _solve(Z.T @ Z / T + lam * np.eye(m), X, where)
    small = _solve(Z @ Z.T + lam * T * np.eye(T), Z @ X, where)  # Woodbury
    return (X - Z.T @ small) / lam


def kfac_direction(
    net: Network, cache: ForwardCache, grad_output: np.ndarray, damping: float = DEFAULT_DAMPING
) -> Updates:
    r"""K-FAC: :math:`\Delta\tilde W_l=(B_l+\rho_B I)^{-1}\nabla_{\tilde W_l}E\,(A_l+\rho_A I)^{-1}`.

    :math:`A_l=\frac1T\sum_t\tilde h^{l-1}(t)\tilde h^{l-1}(t)^\top` and
    :math:`B_l=\frac1T\sum_{t,k}\delta^l_k(t)\delta^l_k(t)^\top` (Martens & Grosse 2015; as
    analysed by Karakida & Osawa 2020). Each factor is inverted on its smaller side (direct
    solve or Woodbury through the T x T / CT x CT Gram).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs, jacobian
    >>> net = MLP.random([10, 20, 20, 1], "tanh", 2.0, 0.1, seed=0)
    >>> X, Y = gaussian_inputs(8, 10, seed=1), np.zeros((8, 1))
    >>> cache = net.forward(X)
    >>> r = cache.output - Y  # residual; the MSE gradient w.r.t. the outputs is r / T
    >>> flat = lambda d: np.concatenate([np.r_[dW.ravel(), db] for dW, db in d])
    >>> J = jacobian(net, X)
    >>> from geosym.nn.optimizers import kfac_direction
    >>> d = flat(kfac_direction(net, cache, r / 8, damping=1e-6))
    >>> np.round(J @ d / r.ravel(), 2)[:3]  # N(L - 1) + 1 = 8 * 2 + 1: one-step rate 1/17
    array([17., 17., 17.])
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


def _unit_systems_direct(
    Kt: np.ndarray, sig: np.ndarray, lam: np.ndarray, b: np.ndarray, layer: int
) -> np.ndarray:
    r"""Rows i of the result solve :math:`(\Sigma_iK_T\Sigma_i+\lambda_iI)z_i=b_i` (batched LU, chunked)."""
    M, T = sig.shape
    z = np.empty_like(b)
    step = max(1, _CHUNK_DIRECT // (T * T))
    for s in range(0, M, step):  # chunks of units; each chunk one batched LU solve
        sl = slice(s, s + step)
        A = np.empty((len(lam[sl]), T, T))  # C order, so the reshape below is a view
        np.multiply(sig[sl, :, None], Kt[None], out=A)
        A *= sig[sl, None, :]
        A.reshape(A.shape[0], T * T)[:, :: T + 1] += lam[sl, None]
        z[sl] = _solve(A, b[sl, :, None], f"ngd-unit (layer {layer})")[..., 0]
    return z


def _unit_systems_pcg(
    Kt: np.ndarray,
    sig: np.ndarray,
    lam: np.ndarray,
    b: np.ndarray,
    maxiter: int,
    tol: float,
    eig: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Batched preconditioned CG for :math:`(\Sigma_iK_T\Sigma_i+\lambda_iI)z_i=b_i`, all units at once.

    Layout (T, M): column i is unit i (``sig``, ``b`` and the returned z). Every iteration
    applies the shared :math:`K_T` to all M units with one (T, T) x (T, M) product.
    Preconditioner: :math:`P_i=\Sigma_i\tilde K\Sigma_i+\lambda_iI` with
    :math:`\tilde K=aI+(\kappa_1-a)qq^\top` (top eigenpair :math:`(\kappa_1,q)` of :math:`K_T`, a the
    mean of its other eigenvalues), inverted by Sherman-Morrison in O(T) per unit. Returns
    ``(z, converged)``; converged means :math:`\|r_i\|\le\text{tol}\,\|b_i\|`.
    """
    w, Q = eig if eig is not None else np.linalg.eigh(Kt)
    q, top = Q[:, -1], float(w[-1])
    a = max(float(w[:-1].mean()), 0.0) if len(w) > 1 else top
    dinv = 1.0 / (a * sig * sig + lam)
    ws = sig * q[:, None]
    v = dinv * ws
    c = (top - a) / (1.0 + (top - a) * np.einsum("ti,ti->i", ws, v))
    tmp = np.empty_like(b)

    def prec(r: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.multiply(dinv, r, out=out)
        np.multiply(c * np.einsum("ti,ti->i", v, r), v, out=tmp)
        out -= tmp
        return out

    z = np.zeros_like(b)
    r = b.copy()
    thresh = tol * tol * np.einsum("ti,ti->i", b, b)
    y = prec(r, np.empty_like(b))
    p = y.copy()
    ry = np.einsum("ti,ti->i", r, y)
    done = np.einsum("ti,ti->i", r, r) <= thresh
    Ap = np.empty_like(b)
    alpha, beta = np.zeros_like(ry), np.zeros_like(ry)
    for _ in range(maxiter):
        if done.all():
            break
        np.multiply(sig, p, out=tmp)
        np.matmul(Kt, tmp, out=Ap)
        Ap *= sig
        np.multiply(lam, p, out=tmp)
        Ap += tmp
        pAp = np.einsum("ti,ti->i", p, Ap)
        np.divide(ry, pAp, out=alpha, where=pAp > 0)
        alpha[~(pAp > 0)] = 0.0
        np.multiply(alpha, p, out=tmp)
        z += tmp
        np.multiply(alpha, Ap, out=tmp)
        r -= tmp
        done = np.einsum("ti,ti->i", r, r) <= thresh
        prec(r, y)
        ry_new = np.einsum("ti,ti->i", r, y)
        np.divide(ry_new, ry, out=beta, where=ry > 0)
        beta[~(ry > 0)] = 0.0
        p *= beta
        p += y
        ry = ry_new
    return z, done


def pcg_iteration_bound(w: np.ndarray, tol: float) -> float:
    r"""A-priori PCG iteration bound :math:`\lceil\ln(2/\text{tol})/\ln\frac{\sqrt\kappa+1}{\sqrt\kappa-1}\rceil`
    with :math:`\kappa=\lambda_2/\lambda_T` of :math:`K_T` (bounds the preconditioned condition
    number of every unit's system, whatever its :math:`\Sigma_i,\lambda_i`); inf if singular.
    ``w``: the eigenvalues of :math:`K_T`, ascending."""
    if len(w) < 2:
        return 1.0
    if not w[0] > 1e-12 * w[-1]:
        return float("inf")
    kappa = max(float(w[-2] / w[0]), 1.0)
    if kappa <= 1.0 + 1e-12:
        return 1.0
    sk = np.sqrt(kappa)
    return float(np.ceil(np.log(2.0 / tol) / np.log((sk + 1.0) / (sk - 1.0))))


def measured_unit_direction(
    d: np.ndarray, h: np.ndarray, g: np.ndarray, rho: float, layer: int, solver: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    r"""Empirical unit blocks :math:`F_i=\frac1T\tilde H^\top\mathrm{diag}(s_i)\tilde H`,
    :math:`s_i(t)=\sum_k\delta_{k,i}(t)^2`; returns :math:`(F_i+\lambda_iI)^{-1}\nabla_i E
    =\tilde H^\top(\lambda_iI+\mathrm{diag}(s_i)K/T)^{-1}e_i` for all units.

    With :math:`\Sigma_i=\mathrm{diag}(\sqrt{s_i})` and :math:`e_i=\Sigma_i\tilde e_i`
    (:math:`|e_i(t)|\le\|g(t)\|\sqrt{s_i(t)}`), :math:`(\Sigma_i^2K_T+\lambda_i)^{-1}\Sigma_i
    =\Sigma_i(\Sigma_iK_T\Sigma_i+\lambda_i)^{-1}`: symmetric positive definite unit systems that
    share :math:`K_T=\tilde H\tilde H^\top/T`. ``solver``: ``"pcg"`` (batched CG over all units,
    one (T,T)x(T,M) product per iteration, residual tolerance :data:`PCG_TOL`, direct solve for
    any unit that does not converge), ``"direct"`` (batched T x T LU), ``"auto"`` (PCG when its
    a-priori iteration bound is at most T/2, i.e. when :math:`K_T` is well conditioned apart from
    its top eigenvalue: T well below the fan-in, and the layer has at least
    :data:`_PCG_MIN_UNITS` units).
    """
    C, T, M = d.shape
    Ht = _augment(h)
    K = Ht @ Ht.T  # (T, T), shared by all units of the layer
    if C == 1:  # sqrt(s_i) = |delta_i|, e_i / sqrt(s_i) = sign(delta_i) g
        sig = np.abs(d[0])  # (T, M)
        et = np.sign(d[0])
        et *= g[:, :1]
        dsq = sig * sig
    else:
        dsq = np.einsum("kti,kti->ti", d, d)  # (T, M): sum_k delta^2
        e = np.einsum("kt,kti->ti", g.T, d)  # (T, M): output-space gradient of each unit
        sig = np.sqrt(dsq)
        with np.errstate(divide="ignore", invalid="ignore"):
            et = np.where(sig > 0, e / np.where(sig > 0, sig, 1.0), 0.0)
    trace = np.diag(K) @ dsq / (T * Ht.shape[1])  # mean diagonal of each F_i
    floor = max(float(trace.mean()), 1e-300)
    lam = rho * np.maximum(trace, 1e-3 * floor)
    Kt = K / T
    eig = None
    if solver == "auto":
        if M < _PCG_MIN_UNITS:
            solver = "direct"
        else:
            eig = np.linalg.eigh(Kt)
            solver = "pcg" if pcg_iteration_bound(eig[0], PCG_TOL) <= T // 2 else "direct"
    if solver == "pcg":
        z, ok = _unit_systems_pcg(Kt, sig, lam, et, 2 * T, PCG_TOL, eig)
        if not ok.all():
            bad = np.flatnonzero(~ok)
            z[:, bad] = _unit_systems_direct(Kt, sig[:, bad].T, lam[bad], et[:, bad].T, layer).T
    elif solver == "direct":
        z = _unit_systems_direct(Kt, sig.T, lam, et.T, layer).T
    else:
        raise ValueError(f"solver must be 'auto', 'pcg' or 'direct', got {solver!r}")
    x = sig * z  # (T, M)
    if not np.all(np.isfinite(x)):
        raise NumericalError(f"ngd-unit (layer {layer}): non-finite solution; increase damping")
    return x.T @ h, x.sum(axis=0)


def _unit_mean_field(
    net: Network,
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
        c, _, _ = unit_coefficients(
            net.activation, r, b + W @ mu, engine=False, error_estimate=False
        )
        dphi2 = np.mean(np.asarray(net.activation_derivative(u), dtype=float) ** 2, axis=0)
        dsq = np.einsum("kti,kti->i", d, d) / d.shape[1]
        beta2 = np.where(dphi2 > 0, dsq / np.where(dphi2 > 0, dphi2, 1.0), 0.0)
    c0, c1, c2 = c
    rinv = np.divide(1.0, r, out=np.zeros_like(r), where=r > 0)
    scale = beta2 * c0  # F_i = beta2 * G_i; diagonal part beta2 c0 diag(v, 1)
    vbar_mean = (float(v.sum()) + 1.0) / (n + 1)
    floor = max(float(np.mean(scale)) * vbar_mean, 1e-300)
    lam = rho * np.maximum(scale * vbar_mean, 1e-3 * floor)
    db = 1.0 / (scale + lam)  # bias entry of D_i
    S = np.zeros((M, 3, 3))
    S[:, 0, 0], S[:, 0, 1], S[:, 1, 0] = c0, c1, c1
    S[:, 1, 1], S[:, 2, 2] = c2 - c0, -c0
    S *= beta2[:, None, None]
    mu2 = mu * mu
    yw_all = np.empty((M, n))
    yb_all = np.empty(M)
    eye3 = np.eye(3)
    rows = max(1, _MF_CHUNK // max(n, 1))
    # Woodbury with U_i = [(mu, 1), (a_i, 0), e_b], a_i = v * w_i / r_i, and core S_i (3 x 3):
    # (D_i^{-1} + U_i S_i U_i^T)^{-1} g = D_i g - D_i U_i S_i (I + U_i^T D_i U_i S_i)^{-1} U_i^T D_i g,
    # D_i = diag(scale_i (v, 1) + lam_i)^{-1}. Every U^T D U and U^T D g entry is a row-wise
    # reduction; units are processed in cache-sized chunks of rows (no (M, n+1, 3) stack).
    for s0 in range(0, M, rows):
        sl = slice(s0, s0 + rows)
        m = min(rows, M - s0)
        a = W[sl] * v
        a *= rinv[sl, None]
        dw = np.multiply.outer(scale[sl], v)
        dw += lam[sl, None]
        np.reciprocal(dw, out=dw)
        dbs = db[sl]
        da = dw * a
        Kc = np.zeros((m, 3, 3))
        Kc[:, 0, 0] = dw @ mu2 + dbs
        Kc[:, 0, 1] = Kc[:, 1, 0] = da @ mu
        Kc[:, 0, 2] = Kc[:, 2, 0] = dbs
        Kc[:, 1, 1] = np.einsum("ij,ij->i", da, a)
        Kc[:, 2, 2] = dbs
        Ss = S[sl]
        core = eye3[None] + Kc @ Ss
        M3 = Ss @ _solve(
            core,
            np.broadcast_to(eye3, core.shape).copy(),
            f"ngd-unit mean-field (layer {l + 1})",
        )
        yw = np.multiply(dw, grad_w[sl], out=yw_all[sl])  # D g, weight part
        yb = dbs * grad_b[sl]
        proj = np.stack([yw @ mu + yb, np.einsum("ij,ij->i", yw, a), yb], axis=1)  # U^T D g
        gam = (M3 @ proj[:, :, None])[:, :, 0]  # (m, 3)
        a *= gam[:, 1:2]
        a += np.multiply.outer(gam[:, 0], mu)
        a *= dw
        yw -= a
        yb_all[sl] = yb - dbs * (gam[:, 0] + gam[:, 2])
    return yw_all, yb_all


def ngd_unit_direction(
    net: Network,
    cache: ForwardCache,
    grad_output: np.ndarray,
    damping: float = DEFAULT_DAMPING,
    blocks: str = "measured",
) -> Updates:
    r"""Unit-wise block-diagonal NGD (Amari, Karakida & Oizumi 2019; Karakida & Osawa 2020).

    ``blocks="measured"``: the empirical block of unit i,
    :math:`F_i=\frac1T\sum_t\sum_k\delta_{k,i}(t)^2\tilde h(t)\tilde h(t)^\top`, inverted
    through T x T systems that share the layer's input Gram :math:`\tilde H\tilde H^\top`: when
    T is well below the fan-in, batched preconditioned CG over all units of the layer (one
    (T, T) x (T, M) product per iteration, relative residual :data:`PCG_TOL`), otherwise a
    batched LU solve (see :func:`measured_unit_direction`). With damping :math:`\to0` and
    :math:`T\le M_{l-1}+1` the training outputs move by :math:`-\eta\,n_{\rm act}(t)(f-y)`
    (Karakida & Osawa, NeurIPS 2020).

    ``blocks="mean-field"``: the closed-form block :math:`\beta_i^2G_i` of
    :func:`geosym.natgrad.unit_fisher` (inputs modelled as Gaussian with the batch's mean and
    variance), inverted in O(n) per unit by Woodbury (row-wise reductions over all units of a
    layer, in cache-sized chunks; a batched 3 x 3 solve per unit); no T-dependent solve.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs, jacobian
    >>> net = MLP.random([10, 20, 20, 1], "tanh", 2.0, 0.1, seed=0)
    >>> X, Y = gaussian_inputs(8, 10, seed=1), np.zeros((8, 1))
    >>> cache = net.forward(X)
    >>> r = cache.output - Y  # residual; the MSE gradient w.r.t. the outputs is r / T
    >>> flat = lambda d: np.concatenate([np.r_[dW.ravel(), db] for dW, db in d])
    >>> J = jacobian(net, X)
    >>> from geosym.nn.optimizers import ngd_unit_direction
    >>> d = ngd_unit_direction(net, cache, r / 8, damping=1e-2, blocks="measured")
    >>> [dW.shape for dW, _ in d]
    [(20, 10), (20, 20), (1, 20)]
    """
    rho = _check_damping(damping)
    if blocks not in BLOCKS:
        raise ValueError(f"blocks must be one of {BLOCKS}, got {blocks!r}")
    deltas = net.output_deltas(cache)
    out: Updates = []
    if blocks == "measured":
        for l, (d, h) in enumerate(zip(deltas, cache.inputs, strict=True), start=1):
            out.append(measured_unit_direction(d, h, grad_output, rho, l))
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


# ------------------------------------------------------------------------------- default rates
def _gd_rate(net: Network, cache: ForwardCache) -> float:
    r""":math:`1/\lambda_{\max}` of the measured FIM (removes the sharpest mode in one step)."""
    T = cache.output.shape[0]
    deltas = net.output_deltas(cache)
    with np.errstate(over="ignore", invalid="ignore"):
        gram = sum(_layer_gram(d, h) for d, h in zip(deltas, cache.inputs, strict=True))
    if not np.all(np.isfinite(gram)):
        raise NumericalError(
            f"gd learning rate: the gradient Gram matrix of this depth-{net.depth} network "
            "overflows (signals or backpropagated gradients grow geometrically with depth at "
            "this sigma_w2, e.g. like chi1^depth on the chaotic side); reduce the depth or "
            "sigma_w2"
        )
    return 1.0 / (float(np.linalg.eigvalsh(gram)[-1]) / T)


def _one_step_rate(name: str) -> Callable[[Network, ForwardCache], float]:
    """The infinite-width one-step rate of ``name`` for this net's widths and batch size."""

    def rate(net: Network, cache: ForwardCache) -> float:
        from ..natgrad import one_step_learning_rates

        T, C = cache.output.shape
        ws = net.widths
        rates = one_step_learning_rates(net.activation, net.depth, max(ws[1], 1), T, C, widths=ws)
        return rates.for_method(name)

    return rate


def _unit_measured_rate(net: Network, cache: ForwardCache) -> float:
    r""":math:`1/(\gamma\sum_{l<L}M_l/C+1)` with the active units counted on the batch."""
    C = cache.output.shape[1]
    active = sum(
        float(np.mean(np.asarray(net.activation_derivative(u)) != 0)) * u.shape[1]
        for u in cache.preacts[:-1]
    )
    return 1.0 / (active / C + 1.0)


def _unit_mean_field_rate(net: Network, cache: ForwardCache) -> float:
    """T / P: each unit's mean-field block contributes its fan-in + 1 (Karakida & Osawa 2020)."""
    return cache.output.shape[0] / net.n_params


# ------------------------------------------------------------------------------- the registry
Direction = Callable[[Network, ForwardCache, np.ndarray, float], Updates]
LearningRate = Callable[[Network, ForwardCache], float]


@dataclass(frozen=True)
class Method:
    r"""One optimizer: everything :func:`make_step` and :func:`geosym.nn.training.train` need.

    Attributes
    ----------
    name
        The name :meth:`geosym.nn.MLP.train` and ``geosym ngd --methods`` accept.
    direction
        ``direction(net, cache, grad_output, damping) -> [(dW^l, db^l), ...]``, the
        preconditioned gradient (the step is :math:`-\eta\cdot` direction).
    damping
        Default relative damping (0 for a method that inverts nothing).
    learning_rate
        ``learning_rate(net, cache) -> eta``: the theory's default rate on this net and batch.
    summary
        One line for tables and ``--help``.
    blocks
        For unit-wise methods, the kind of unit block (one of :data:`BLOCKS`), else None.
    variant_of
        The method this one is a variant of (same algorithm, other ``blocks``), else None.

    Examples
    --------
    >>> from geosym.nn import METHODS
    >>> sorted(METHODS)
    ['gd', 'kfac', 'ngd', 'ngd-layer', 'ngd-unit', 'ngd-unit-mf']
    >>> METHODS["kfac"].summary
    'K-FAC (Kronecker-factored layer blocks)'
    >>> METHODS["ngd-unit-mf"].variant_of
    'ngd-unit'
    """

    name: str
    direction: Direction
    damping: float
    learning_rate: LearningRate
    summary: str
    blocks: str | None = None
    variant_of: str | None = None


def _unit_direction(blocks: str) -> Direction:
    def direction(net: Network, cache: ForwardCache, g: np.ndarray, rho: float) -> Updates:
        return ngd_unit_direction(net, cache, g, rho, blocks)

    return direction


#: Unit-wise NGD divides by delta_i(t), which is near 0 on some samples; with damping 1e-6 the full
#: one-step update leaves the linear regime at finite width (measured, M=1024, N=64, L=3: residual
#: 0.42 ReLU / 1.5 tanh), with 1e-2 it does not (0.09 / 0.15).
_UNIT_DAMPING = 1e-2

#: Every optimizer, by name (read-only). Adding a method is adding one record here.
METHODS: Mapping[str, Method] = MappingProxyType(
    {
        m.name: m
        for m in (
            Method(
                "gd",
                lambda net, cache, g, rho: gd_direction(net, cache, g),
                0.0,
                _gd_rate,
                "gradient descent, eta = 1/lambda_max",
            ),
            Method(
                "ngd",
                ngd_direction,
                DEFAULT_DAMPING,
                _one_step_rate("ngd"),
                "exact natural gradient (CT x CT Gram solve)",
            ),
            Method(
                "ngd-layer",
                ngd_layer_direction,
                DEFAULT_DAMPING,
                _one_step_rate("ngd-layer"),
                "layer block-diagonal natural gradient",
            ),
            Method(
                "kfac",
                kfac_direction,
                DEFAULT_DAMPING,
                _one_step_rate("kfac"),
                "K-FAC (Kronecker-factored layer blocks)",
            ),
            Method(
                "ngd-unit",
                _unit_direction("measured"),
                _UNIT_DAMPING,
                _unit_measured_rate,
                "unit-wise natural gradient, measured unit blocks",
                blocks="measured",
            ),
            Method(
                "ngd-unit-mf",
                _unit_direction("mean-field"),
                _UNIT_DAMPING,
                _unit_mean_field_rate,
                "unit-wise natural gradient, mean-field closed-form unit blocks",
                blocks="mean-field",
                variant_of="ngd-unit",
            ),
        )
    }
)
#: default relative damping per method (derived from :data:`METHODS`)
METHOD_DAMPING: Mapping[str, float] = MappingProxyType({k: m.damping for k, m in METHODS.items()})


def get_method(method: str | Method, blocks: str | None = None) -> Method:
    """The :class:`Method` record of ``method`` (a name of :data:`METHODS` or a record).

    ``blocks`` (one of :data:`BLOCKS`) selects the variant of a unit-wise method with that kind of
    unit block (``get_method("ngd-unit", "mean-field")`` is ``METHODS["ngd-unit-mf"]``); methods
    without unit blocks ignore it. None keeps the method's own blocks.

    Examples
    --------
    >>> from geosym.nn.optimizers import BLOCKS, get_method
    >>> get_method("ngd-unit", "mean-field").name
    'ngd-unit-mf'
    >>> BLOCKS
    ('measured', 'mean-field')
    """
    if isinstance(method, Method):
        rec = method
    elif isinstance(method, str) and method in METHODS:
        rec = METHODS[method]
    else:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    if blocks is not None and blocks not in BLOCKS:
        raise ValueError(f"blocks must be one of {BLOCKS}, got {blocks!r}")
    if blocks is None or rec.blocks in (None, blocks):
        return rec
    family = rec.variant_of or rec.name
    return next(
        m for m in METHODS.values() if (m.variant_of or m.name) == family and m.blocks == blocks
    )


def default_learning_rate(
    net: Network, cache: ForwardCache, method: str | Method, blocks: str | None = None
) -> float:
    r"""The theory's learning rate for ``method`` on this net and batch (:attr:`Method.learning_rate`).

    ``gd``: :math:`1/\lambda_{\max}` of the measured FIM (removes the sharpest mode in one step;
    Karakida, Akaho & Amari, AISTATS 2019); NGD variants: the one-step rates of
    :func:`geosym.natgrad.one_step_learning_rates` for the net's widths, with the active
    fraction :math:`\gamma` of ``"ngd-unit"`` measured on the batch.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs, jacobian
    >>> net = MLP.random([10, 20, 20, 1], "tanh", 2.0, 0.1, seed=0)
    >>> X, Y = gaussian_inputs(8, 10, seed=1), np.zeros((8, 1))
    >>> cache = net.forward(X)
    >>> r = cache.output - Y  # residual; the MSE gradient w.r.t. the outputs is r / T
    >>> flat = lambda d: np.concatenate([np.r_[dW.ravel(), db] for dW, db in d])
    >>> J = jacobian(net, X)
    >>> from geosym.nn.optimizers import default_learning_rate
    >>> default_learning_rate(net, cache, "ngd"), round(default_learning_rate(net, cache, "ngd-layer"), 6)
    (1.0, 0.333333)
    >>> round(default_learning_rate(net, cache, "gd"), 6)  # 1 / lambda_max of this net and batch
    0.178975
    """
    return get_method(method, blocks).learning_rate(net, cache)


def make_step(
    net: Network,
    method: str | Method,
    *,
    damping: float | None = None,
    blocks: str | None = None,
) -> Callable[[ForwardCache, np.ndarray], tuple[float, Updates]]:
    """A function ``(cache, Y) -> (loss, direction)`` for :func:`geosym.nn.training.train`.

    ``damping`` None uses the method's default (:attr:`Method.damping`).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs, jacobian
    >>> net = MLP.random([10, 20, 20, 1], "tanh", 2.0, 0.1, seed=0)
    >>> X, Y = gaussian_inputs(8, 10, seed=1), np.zeros((8, 1))
    >>> cache = net.forward(X)
    >>> r = cache.output - Y  # residual; the MSE gradient w.r.t. the outputs is r / T
    >>> flat = lambda d: np.concatenate([np.r_[dW.ravel(), db] for dW, db in d])
    >>> J = jacobian(net, X)
    >>> from geosym.nn.optimizers import make_step
    >>> loss, direction = make_step(net, "ngd")(cache, Y)
    >>> round(loss, 6), len(direction)
    (0.648355, 3)
    """
    rec = get_method(method, blocks)
    rho = rec.damping if damping is None else _check_damping(damping)

    def step(cache: ForwardCache, Y: np.ndarray) -> tuple[float, Updates]:
        T = Y.shape[0]
        r = cache.output - Y
        loss = 0.5 * float(np.vdot(r, r)) / T
        return loss, rec.direction(net, cache, r / T, rho)

    return step

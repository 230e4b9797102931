r"""A small fully connected network in NumPy with exact, vectorised backpropagation.

The model is the one of Karakida, Akaho & Amari, "Universal Statistics of Fisher Information in
Deep Neural Networks: Mean Field Approach", AISTATS 2019 (PMLR 89:1032-1041, arXiv:1806.01316):

.. math::

    u^l = W^l h^{l-1} + b^l,\qquad h^l = \phi(u^l)\ (l<L),\qquad h^0 = x,\qquad f = u^L,

with widths :math:`[M_0, M_1, \dots, M_L]`, depth :math:`L` (number of weight layers), a linear
output of :math:`C = M_L` units and :math:`P = \sum_l M_l (M_{l-1}+1)` parameters. Samples are
rows: ``X`` has shape ``(T, M_0)`` and ``net(X)`` shape ``(T, C)``.

Backpropagation returns the *pre-activation sensitivities*
:math:`\delta^l = \partial(\cdot)/\partial u^l`, vectorised over samples and over any number of
leading "output directions": feeding the identity ``(C, T, C)`` gives
:math:`\delta^l_{k,i}(t) = \partial f_k(t)/\partial u^l_i(t)` for all ``k`` at once, which is
what the Gram-matrix route to the Fisher information (:mod:`geosym.nn.fim`) needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from .. import _checks
from .._memory import require_memory
from ..activations import activation as _activation
from ..errors import NumericalError
from .network import ForwardCache
from .optimizers import Method, make_step
from .training import DivergenceWarning, train

__all__ = ["MLP", "ForwardCache", "DivergenceWarning", "resolve_activation"]

ArrayFn = Callable[[np.ndarray], np.ndarray]


def resolve_activation(spec: Any) -> tuple[Any, ArrayFn, ArrayFn]:
    r"""Convert an activation spec to ``(activation, phi, dphi)``.

    Parameters
    ----------
    spec
        An ``Activation``-like object (callable on arrays and with a ``derivative()`` method)
        is used as it is; anything else (a registry name such as ``"tanh"`` or an expression
        string such as ``"x*sigmoid(x)"``) goes through :func:`geosym.activations.activation`.

    Returns
    -------
    activation, phi, dphi
        The activation object and the cached numeric callables for :math:`\phi` and
        :math:`\phi'`, both checked once on a small float64 array (same shape, finite values).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import resolve_activation
    >>> act, phi, dphi = resolve_activation("tanh")
    >>> act
    Activation('tanh', tanh(x))
    >>> phi(np.array([0.0])), dphi(np.array([0.0]))
    (array([0.]), array([1.]))
    """
    if callable(spec) and hasattr(spec, "derivative") and not isinstance(spec, str):
        act = spec
    else:
        act = _activation(spec)
    phi: ArrayFn = act
    dphi: ArrayFn = act.derivative()
    probe = np.linspace(-3.0, 3.0, 7)
    for name, fn in (("activation", phi), ("activation derivative", dphi)):
        with np.errstate(all="ignore"):
            val = np.asarray(fn(probe), dtype=np.float64)
        if val.shape != probe.shape:
            raise TypeError(
                f"{name} of {spec!r} must map an array elementwise (shape {probe.shape}), "
                f"got shape {val.shape}"
            )
        if not np.isfinite(val).all():
            raise ValueError(f"{name} of {spec!r} is not finite on [-3, 3]: {val}")
    return act, phi, dphi


class MLP:
    r"""Fully connected network with a linear output layer (Karakida et al., AISTATS 2019).

    Parameters
    ----------
    weights
        ``weights[l-1]`` is :math:`W^l` of shape ``(M_l, M_{l-1})``, ``l = 1..L``.
    biases
        ``biases[l-1]`` is :math:`b^l` of shape ``(M_l,)``.
    activation
        An ``Activation`` or anything :func:`geosym.activations.activation` accepts
        (``"tanh"``, ``"relu"``, ``"x*sigmoid(x)"``...). Applied on hidden layers only.

    Notes
    -----
    The parameter vector (:meth:`parameters`, the columns of
    :func:`geosym.nn.jacobian`) is ordered layer by layer, ``[vec(W^1), b^1, vec(W^2), b^2, ...]``
    with ``vec`` row-major. ``weights`` and ``biases`` are public lists; :meth:`train` replaces
    their entries in place.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs
    >>> net = MLP.random([20, 30, 30, 1], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
    >>> X = gaussian_inputs(8, 20, seed=1)
    >>> net.widths, net.depth, net.n_params
    ((20, 30, 30, 1), 3, 1591)
    >>> net(X).shape
    (8, 1)
    >>> Y = np.zeros((8, 1))
    >>> curve = net.train(X, Y, steps=20)  # GD at the theory's rate 1/lambda_max
    >>> bool(curve[-1] < curve[0])
    True
    """

    def __init__(
        self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], activation: Any
    ) -> None:
        if len(weights) < 1:
            raise ValueError("weights must contain at least one layer (depth L >= 1)")
        if len(biases) != len(weights):
            raise ValueError(
                f"biases has {len(biases)} entries but weights has {len(weights)} layers"
            )
        ws = [np.array(w, dtype=np.float64) for w in weights]
        bs = [np.array(b, dtype=np.float64) for b in biases]
        for l, (w, b) in enumerate(zip(ws, bs, strict=True), start=1):
            if w.ndim != 2:
                raise ValueError(f"weights of layer {l} must be 2-D, got shape {w.shape}")
            if l > 1 and w.shape[1] != ws[l - 2].shape[0]:
                raise ValueError(
                    f"weights of layer {l} have shape {w.shape}: expected "
                    f"{w.shape[0]} x {ws[l - 2].shape[0]} to follow layer {l - 1}"
                )
            if b.shape != (w.shape[0],):
                raise ValueError(
                    f"biases of layer {l} must have shape ({w.shape[0]},), got {b.shape}"
                )
            if not (np.isfinite(w).all() and np.isfinite(b).all()):
                raise ValueError(f"parameters of layer {l} contain NaN or inf")
        self.weights: list[np.ndarray] = ws
        self.biases: list[np.ndarray] = bs
        self.activation, self._phi, self._dphi = resolve_activation(activation)

    # ------------------------------------------------------------------ construction
    @classmethod
    def random(
        cls,
        widths: Sequence[int],
        activation: Any,
        sigma_w2: float,
        sigma_b2: float,
        seed: int | np.random.Generator | None = None,
    ) -> MLP:
        r"""Random network in the standard parameterisation (Karakida et al., AISTATS 2019).

        :math:`W^l_{ij}\sim\mathcal N(0,\sigma_w^2/M_{l-1})`,
        :math:`b^l_i\sim\mathcal N(0,\sigma_b^2)`, all independent, output layer included.

        Parameters
        ----------
        widths
            ``[M_0, M_1, ..., M_L]``; ``M_L`` is the number of outputs C; depth ``L =
            len(widths) - 1 >= 1``.
        activation
            ``Activation`` or spec accepted by :func:`geosym.activations.activation`.
        sigma_w2, sigma_b2
            Weight and bias variances, ``>= 0``.
        seed
            ``int``, :class:`numpy.random.Generator` or ``None``.

        Examples
        --------
        >>> net = MLP.random([784, 500, 500, 10], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
        >>> net.depth, net.n_params
        (3, 648010)
        >>> net(np.zeros((7, 784))).shape
        (7, 10)
        """
        ws = _checks.widths(widths)
        sw2 = _checks.real(sigma_w2, "sigma_w2", minimum=0.0)
        sb2 = _checks.real(sigma_b2, "sigma_b2", minimum=0.0)
        # the weights, plus one weight-sized temporary while each is drawn and scaled
        n_params = sum(float(a) * b + b for a, b in zip(ws[:-1], ws[1:], strict=True))
        require_memory(
            8.0 * (n_params + max(float(a) * b for a, b in zip(ws[:-1], ws[1:], strict=True))),
            f"MLP.random with widths {list(ws)}",
            "the widths",
        )
        rng = _checks.as_generator(seed)
        weights = []
        biases = []
        for m_in, m_out in zip(ws[:-1], ws[1:], strict=True):
            weights.append(rng.standard_normal((m_out, m_in)) * np.sqrt(sw2 / m_in))
            biases.append(rng.standard_normal(m_out) * np.sqrt(sb2))
        return cls(weights, biases, activation)

    @classmethod
    def from_torch(cls, module: Any, activations: Any = None) -> MLP:
        """Convert a ``torch.nn.Sequential`` MLP exactly (:func:`geosym.nn.torch.from_torch`)."""
        from .torch import from_torch

        return from_torch(module, activations)

    def to_torch(self, **kwargs: Any) -> Any:
        """A ``torch.nn.Sequential`` with the same weights (:func:`geosym.nn.torch.to_torch`)."""
        from .torch import to_torch

        return to_torch(self, **kwargs)

    def copy(self) -> MLP:
        """An independent copy (parameters copied, activation shared)."""
        return type(self)(self.weights, self.biases, self.activation)

    # ------------------------------------------------------------------ shape info
    @property
    def widths(self) -> tuple[int, ...]:
        """``(M_0, M_1, ..., M_L)``."""
        return (self.weights[0].shape[1], *(w.shape[0] for w in self.weights))

    @property
    def depth(self) -> int:
        """L, the number of weight layers."""
        return len(self.weights)

    @property
    def n_inputs(self) -> int:
        """M_0."""
        return self.weights[0].shape[1]

    @property
    def n_outputs(self) -> int:
        """C = M_L."""
        return self.weights[-1].shape[0]

    @property
    def n_params(self) -> int:
        r""":math:`P=\sum_{l=1}^L M_l(M_{l-1}+1)`."""
        return int(sum(w.size + b.size for w, b in zip(self.weights, self.biases, strict=True)))

    def __repr__(self) -> str:
        name = getattr(self.activation, "name", None) or repr(self.activation)
        return f"MLP(widths={list(self.widths)}, activation={name}, n_params={self.n_params})"

    # ------------------------------------------------------------------ parameters
    def parameters(self) -> np.ndarray:
        """Flat copy of all parameters, ordered ``[vec(W^1), b^1, ..., vec(W^L), b^L]``."""
        parts = []
        for w, b in zip(self.weights, self.biases, strict=True):
            parts += [w.ravel(), b]
        return np.concatenate(parts)

    def set_parameters(self, theta: np.ndarray) -> None:
        """Set all parameters from a flat vector ordered as in :meth:`parameters`."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_params,):
            raise ValueError(f"theta must have shape ({self.n_params},), got {theta.shape}")
        if not np.isfinite(theta).all():
            raise ValueError("theta contains NaN or inf")
        pos = 0
        for l, w in enumerate(self.weights):
            self.weights[l] = theta[pos : pos + w.size].reshape(w.shape).copy()
            pos += w.size
            nb = self.biases[l].size
            self.biases[l] = theta[pos : pos + nb].copy()
            pos += nb

    def activation_derivative(self, u: np.ndarray) -> np.ndarray:
        r""":math:`\phi'(u)` elementwise, as float64 (the hidden layers' activation derivative)."""
        return np.asarray(self._dphi(u), dtype=np.float64)

    # ------------------------------------------------------------------ forward / backward
    def check_inputs(self, X: Any, name: str = "X") -> np.ndarray:
        """Validate ``X`` (2-D, ``(T, M_0)``, finite) and return it as float64."""
        return _checks.matrix(X, name, columns=self.n_inputs, what="samples x input width M_0")

    def __call__(self, X: Any) -> np.ndarray:
        """Network outputs :math:`f(x(t))`, shape ``(T, C)``."""
        return self.forward(X).output

    def forward(self, X: Any, *, check: bool = True) -> ForwardCache:
        r"""Forward pass keeping :math:`h^{l}` and the pre-activations :math:`u^l`.

        Raises
        ------
        geosym.errors.NumericalError
            If a pre-activation or activation becomes non-finite; the message names the layer.
        """
        h = self.check_inputs(X) if check else X
        inputs = [h]
        preacts = []
        last = self.depth
        with np.errstate(over="ignore", invalid="ignore"):
            for l, (w, b) in enumerate(zip(self.weights, self.biases, strict=True), start=1):
                u = h @ w.T
                u += b
                if not np.isfinite(u).all():
                    raise NumericalError(
                        f"forward pass: non-finite pre-activations u^{l} at layer {l} of {last}"
                    )
                preacts.append(u)
                if l < last:
                    h = np.asarray(self._phi(u), dtype=np.float64)
                    if not np.isfinite(h).all():
                        raise NumericalError(
                            f"forward pass: activation returned NaN/inf at layer {l} of {last}"
                        )
                    inputs.append(h)
        return ForwardCache(tuple(inputs), tuple(preacts))

    def backward(self, cache: ForwardCache, grad_output: np.ndarray) -> list[np.ndarray]:
        r"""Backpropagate output sensitivities to every layer's pre-activations.

        .. math::

            \delta^L = g,\qquad
            \delta^{l} = \big(\delta^{l+1} W^{l+1}\big)\circ\phi'(u^l),

        vectorised over samples and over any leading axes of ``g`` (one BLAS product per layer).

        Parameters
        ----------
        cache
            From :meth:`forward`.
        grad_output
            :math:`g = \partial(\cdot)/\partial f`, shape ``(..., T, C)``. Pass
            ``(f - y) / T`` for the gradient of the mean squared error, or the identity
            ``(C, T, C)`` (``g[k, t, k'] = [k = k']``) for :math:`\partial f_k/\partial u^l`.

        Returns
        -------
        list of ndarray
            ``deltas[l-1]`` of shape ``(..., T, M_l)``, ``l = 1..L``.
        """
        g = np.asarray(grad_output, dtype=np.float64)
        T, C = cache.output.shape
        if g.shape[-2:] != (T, C):
            raise ValueError(f"grad_output must have shape (..., {T}, {C}), got {g.shape}")
        lead = g.shape[:-2]
        nrows = int(np.prod(lead, dtype=np.int64)) * T
        deltas = [g]
        d2 = g.reshape(nrows, C)
        with np.errstate(over="ignore", invalid="ignore"):
            for l in range(self.depth - 1, 0, -1):  # layers L-1 .. 1 (1-based)
                u = cache.preacts[l - 1]
                back = (d2 @ self.weights[l]).reshape(*lead, T, u.shape[1])
                back *= self._dphi(u)
                if not np.isfinite(back).all():
                    raise NumericalError(f"backward pass: non-finite delta at layer {l}")
                deltas.append(back)
                d2 = back.reshape(nrows, u.shape[1])
        deltas.reverse()
        return deltas

    def output_deltas(self, cache: ForwardCache) -> list[np.ndarray]:
        r""":math:`\delta^l_{k,i}(t)=\partial f_k(t)/\partial u^l_i(t)` for all outputs k at once.

        Returns ``deltas[l-1]`` of shape ``(C, T, M_l)``.
        """
        T, C = cache.output.shape
        eye = np.zeros((C, T, C))
        eye[np.arange(C), :, np.arange(C)] = 1.0
        return self.backward(cache, eye)

    # ------------------------------------------------------------------ loss / gradients
    def _targets(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
        X = self.check_inputs(X)
        Y = _checks.matrix(
            Y, "Y", columns=self.n_outputs, rows=X.shape[0], what="samples x outputs C"
        )
        return X, Y

    def loss(self, X: Any, Y: Any) -> float:
        r"""Mean squared error :math:`E=\frac1{2T}\sum_t\|f(x(t))-y(t)\|^2`."""
        X, Y = self._targets(X, Y)
        r = self.forward(X, check=False).output - Y
        return 0.5 * float(np.vdot(r, r)) / X.shape[0]

    def gradients(self, X: Any, Y: Any) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
        r"""Loss and exact gradients :math:`(\partial E/\partial W^l, \partial E/\partial b^l)`.

        :math:`\partial E/\partial W^l=\sum_t\delta^l(t)\,h^{l-1}(t)^\top` and
        :math:`\partial E/\partial b^l=\sum_t\delta^l(t)` with :math:`\delta^L=(f-y)/T`.
        """
        X, Y = self._targets(X, Y)
        cache = self.forward(X, check=False)
        return make_step(self, "gd")(cache, Y)

    # ------------------------------------------------------------------ training
    def train(
        self,
        X: Any,
        Y: Any,
        eta: float | None = None,
        steps: int = 100,
        method: str | Method = "gd",
        *,
        damping: float | None = None,
        blocks: Literal["measured", "mean-field"] | None = None,
        on_divergence: Literal["raise", "stop"] = "raise",
        divergence_factor: float = 1e6,
        stop_below: float | None = None,
        patience: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> np.ndarray:
        r"""Train in place by full-batch gradient descent (or natural gradient) on the MSE.

        :math:`\theta\leftarrow\theta-\eta\nabla_\theta E`,
        :math:`E=\frac1{2T}\sum_t\|f(x(t))-y(t)\|^2`. Near a zero-residual minimum GD
        converges iff :math:`\eta<2/\lambda_{\max}(F)` (Karakida et al., AISTATS 2019);
        above it the loss first rises ("catapult") and eventually diverges.

        Parameters
        ----------
        X, Y
            Inputs ``(T, M_0)`` and targets ``(T, C)``, finite.
        eta
            Learning rate, > 0. Default (None): the theory's value for ``method``, computed
            once on the initial network (:attr:`geosym.nn.optimizers.Method.learning_rate`:
            :math:`1/\lambda_{\max}` for GD, the Karakida-Osawa one-step rates for NGD).
        steps
            Number of steps, >= 0.
        method
            A name of :data:`geosym.nn.optimizers.METHODS` (or a
            :class:`~geosym.nn.optimizers.Method` record): ``"gd"`` (full-batch gradient
            descent) or a natural-gradient variant: ``"ngd"`` (exact, via the Gram matrix),
            ``"ngd-layer"``, ``"kfac"``, ``"ngd-unit"``, ``"ngd-unit-mf"`` (unit-wise with
            mean-field blocks, the same as ``"ngd-unit"`` with ``blocks="mean-field"``).
        damping
            Relative damping of the NGD variants (> 0). Default (None): the method's own
            (:attr:`geosym.nn.optimizers.Method.damping`): 1e-6 for ``"ngd"``,
            ``"ngd-layer"`` and ``"kfac"``; 1e-2 for ``"ngd-unit"`` and ``"ngd-unit-mf"``
            (unit-wise NGD divides by near-zero back-propagated signals on some samples).
            Ignored by ``"gd"``.
        blocks
            Unit-wise methods only: ``"measured"`` (empirical unit blocks) or ``"mean-field"``
            (closed-form unit blocks of :func:`geosym.natgrad.unit_fisher`); None (default)
            keeps the method's own (``"measured"`` for ``"ngd-unit"``). Ignored otherwise.
        on_divergence
            What to do when the loss diverges (becomes NaN/inf, overflows in the forward or
            backward pass, or exceeds ``divergence_factor`` times the larger of the initial
            loss and :math:`\frac1{2T}\|Y\|^2`, the loss of the zero predictor) at step k:

            * ``"raise"`` (default): raise :class:`geosym.errors.NumericalError` naming step k;
            * ``"stop"``: emit a :class:`DivergenceWarning` and return the curve up to step
              k - 1, i.e. an array *shorter* than ``steps + 1`` (``len(curve) - 1`` is the
              number of completed steps). Use this in learning-rate sweeps.

            In both cases the parameters are left at step k - 1, the last finite state, so the
            network never holds NaN/inf.
        divergence_factor
            Threshold factor for the divergence test (> 1).
        stop_below
            Stop as soon as the loss is <= this (e.g. a target fraction of the initial loss);
            ``steps`` is then an upper bound, and the loss curve is stored as it grows (so a
            large ``steps`` costs memory only for the steps taken).
        patience
            Stop when the loss has not decreased by a relative 1e-9 below its best for this
            many steps (converged, or stalled at the float floor).
        progress
            Called every 10 s with a one-line state ("step k of steps, loss ...").

        Returns
        -------
        ndarray
            Loss curve :math:`E_0, E_1, \dots, E_{\rm steps}` (length ``steps + 1``, the
            initial loss first; shorter after an early stop), all finite.
        """
        return train(
            self,
            X,
            Y,
            eta,
            steps,
            method,
            damping=damping,
            blocks=blocks,
            on_divergence=on_divergence,
            divergence_factor=divergence_factor,
            stop_below=stop_below,
            patience=patience,
            progress=progress,
        )

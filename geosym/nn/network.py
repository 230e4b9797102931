r"""What the optimizers and the training loop need from a network: :class:`Network`.

:mod:`geosym.nn.optimizers` and :mod:`geosym.nn.training` depend on this small protocol only,
never on :class:`geosym.nn.MLP` itself, so the network module imports the training loop and not
the other way round (no import cycle). :class:`ForwardCache` is the one value passed between a
forward pass, the backward pass and an optimizer's direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["ForwardCache", "Network", "Updates"]

#: One ``(dW^l, db^l)`` pair per weight layer ``l = 1..L`` (a gradient or a preconditioned one).
Updates = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ForwardCache:
    """Everything the backward pass needs from one forward pass.

    Attributes
    ----------
    inputs
        ``inputs[l]`` is :math:`h^l` of shape ``(T, M_l)`` for ``l = 0..L-1`` (``inputs[0]`` is X),
        i.e. the input of weight layer ``l + 1``.
    preacts
        ``preacts[l - 1]`` is :math:`u^l` of shape ``(T, M_l)`` for ``l = 1..L``.

    Examples
    --------
    >>> from geosym.nn import MLP, gaussian_inputs
    >>> net = MLP.random([20, 30, 30, 1], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
    >>> X = gaussian_inputs(8, 20, seed=1)
    >>> cache = net.forward(X)
    >>> len(cache.inputs), cache.output.shape
    (3, (8, 1))
    """

    inputs: tuple[np.ndarray, ...]
    preacts: tuple[np.ndarray, ...]

    @property
    def output(self) -> np.ndarray:
        """The network output :math:`f = u^L`, shape ``(T, C)``."""
        return self.preacts[-1]


@runtime_checkable
class Network(Protocol):
    r"""A fully connected network with a linear output layer, as the optimizers see it.

    ``weights[l-1]`` (shape ``(M_l, M_{l-1})``) and ``biases[l-1]`` are mutable lists that the
    training loop updates in place; ``activation`` is the hidden-layer :math:`\phi` (an
    ``Activation``). :class:`geosym.nn.MLP` implements it.

    Examples
    --------
    >>> from geosym.nn import MLP, Network
    >>> isinstance(MLP.random([3, 4, 1], "tanh", 1.0, 0.0, seed=0), Network)
    True
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: Any

    @property
    def widths(self) -> tuple[int, ...]: ...

    @property
    def depth(self) -> int: ...

    @property
    def n_outputs(self) -> int: ...

    @property
    def n_params(self) -> int: ...

    def check_inputs(self, X: Any, name: str = "X") -> np.ndarray: ...

    def forward(self, X: Any, *, check: bool = True) -> ForwardCache: ...

    def backward(self, cache: ForwardCache, grad_output: np.ndarray) -> list[np.ndarray]: ...

    def output_deltas(self, cache: ForwardCache) -> list[np.ndarray]: ...

    def activation_derivative(self, u: np.ndarray) -> np.ndarray: ...

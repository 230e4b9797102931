r"""Full-batch training on the mean squared error with any optimizer of :data:`~geosym.nn.optimizers.METHODS`.

:func:`train` is the loop behind :meth:`geosym.nn.MLP.train`; it sees the network only through
the :class:`~geosym.nn.network.Network` protocol. Each step is
:math:`\theta\leftarrow\theta-\eta\cdot\mathrm{direction}`, the direction of the chosen
:class:`~geosym.nn.optimizers.Method` (the plain gradient for ``"gd"``), and
:math:`E=\frac1{2T}\sum_t\|f(x(t))-y(t)\|^2`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from .. import _checks
from .._memory import require_memory
from ..errors import NumericalError
from .network import Network, Updates
from .optimizers import Method, default_learning_rate, get_method, make_step

__all__ = ["DivergenceWarning", "train"]

_FIRST_CURVE = 1 << 16  # loss-curve entries allocated up front (doubled as needed)
_STALL = 1e-9  # relative loss decrease that counts as progress for ``patience``
_REPORT_EVERY = 10.0  # seconds between progress lines


class DivergenceWarning(RuntimeWarning):
    """Training stopped early because the loss diverged (``on_divergence="stop"``).

    Examples
    --------
    >>> import warnings, numpy as np
    >>> from geosym.nn import MLP, DivergenceWarning, gaussian_inputs
    >>> net = MLP.random([10, 20, 1], "tanh", sigma_w2=1.0, sigma_b2=0.1, seed=0)
    >>> X, Y = gaussian_inputs(16, 10, seed=1), np.ones((16, 1))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     curve = net.train(X, Y, eta=100.0, steps=200, on_divergence="stop")
    >>> any(issubclass(w.category, DivergenceWarning) for w in caught)
    True
    """


def train(
    net: Network,
    X: Any,
    Y: Any,
    eta: float | None = None,
    steps: int = 100,
    method: str | Method = "gd",
    *,
    damping: float | None = None,
    blocks: str | None = None,
    on_divergence: Literal["raise", "stop"] = "raise",
    divergence_factor: float = 1e6,
    stop_below: float | None = None,
    patience: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
    """Train ``net`` in place; the arguments and the return value are those of :meth:`geosym.nn.MLP.train`.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import MLP, gaussian_inputs, train
    >>> net = MLP.random([10, 20, 1], "tanh", sigma_w2=1.0, sigma_b2=0.1, seed=0)
    >>> X, Y = gaussian_inputs(16, 10, seed=1), np.zeros((16, 1))
    >>> curve = train(net, X, Y, steps=10, method="ngd")
    >>> len(curve), bool(curve[-1] < 1e-3 * curve[0])  # exact NGD at its one-step rate
    (11, True)
    """
    X = net.check_inputs(X)
    Y = _checks.matrix(Y, "Y", columns=net.n_outputs, rows=X.shape[0], what="samples x outputs C")
    if eta is not None:
        eta = _checks.real(eta, "eta", minimum=0.0, strict=True)
    steps = _checks.positive_int(steps, "steps", allow_zero=True)
    rec = get_method(method, blocks)
    step_fn = make_step(net, rec, damping=damping)
    if eta is None:
        eta = default_learning_rate(net, net.forward(X, check=False), rec)
    if on_divergence not in ("raise", "stop"):
        raise ValueError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}")
    factor = _checks.real(divergence_factor, "divergence_factor", minimum=1.0, strict=True)

    if stop_below is not None:
        stop_below = _checks.real(stop_below, "stop_below", minimum=0.0)
    if patience is not None:
        patience = _checks.positive_int(patience, "patience")

    T = X.shape[0]
    # a run that can stop early (stop_below, patience) grows its curve as steps are taken
    early = stop_below is not None or patience is not None
    if not early:
        require_memory(8.0 * (steps + 1), f"train for {steps} steps (the loss curve)", "steps")
    curve = np.empty(min(steps + 1, _FIRST_CURVE) if early else steps + 1)
    threshold = np.inf
    prev: tuple[list[np.ndarray], list[np.ndarray]] | None = None
    best, best_at, last_report = np.inf, 0, time.perf_counter()
    for k in range(steps + 1):
        if k == curve.size:
            grown = min(2 * curve.size, steps + 1)
            require_memory(8.0 * grown, f"train for {steps} steps (the loss curve)", "steps")
            curve = np.concatenate([curve, np.empty(grown - curve.size)])
        reason = None
        grads: Updates = []
        try:
            cache = net.forward(X, check=False)
            with np.errstate(over="ignore", invalid="ignore"):
                if k < steps:
                    loss, grads = step_fn(cache, Y)
                else:  # last point of the curve: no direction needed
                    r = cache.output - Y
                    loss = 0.5 * float(np.vdot(r, r)) / T
            if not np.isfinite(loss):
                reason = f"loss is {loss}"
            elif loss > threshold:
                reason = f"loss {loss:.3g} exceeds {factor:.3g} x initial scale"
            elif not all(np.isfinite(gw).all() and np.isfinite(gb).all() for gw, gb in grads):
                reason = "non-finite gradient"
        except NumericalError as exc:
            if prev is None:  # e.g. a dead layer: the method has no first step to take
                raise NumericalError(
                    f"train: the initial network gives {rec.name} no first step: {exc}"
                ) from None
            reason = str(exc)
        if reason is not None:
            if prev is None:
                raise NumericalError(f"train: the initial network is not finite on X ({reason})")
            net.weights[:], net.biases[:] = prev
            msg = (
                f"train: {rec.name} diverged at step {k} of {steps} with eta={eta:g}: "
                f"{reason}; parameters left at step {k - 1}"
            )
            if on_divergence == "raise":
                raise NumericalError(msg)
            warnings.warn(msg, DivergenceWarning, stacklevel=3)
            return curve[:k].copy()
        curve[k] = loss
        if k == 0:
            threshold = factor * max(loss, 0.5 * float(np.vdot(Y, Y)) / T, 1e-300)
        if loss < best * (1.0 - _STALL):
            best, best_at = loss, k
        if k == steps or (stop_below is not None and loss <= stop_below):
            break
        if patience is not None and k - best_at >= patience:
            if progress is not None:
                progress(f"{rec.name}: stalled at step {k} (no gain in {patience} steps)")
            break
        if progress is not None and time.perf_counter() - last_report > _REPORT_EVERY:
            last_report = time.perf_counter()
            progress(f"{rec.name}: step {k} of {steps}, loss {loss:.3g} (best {best:.3g})")
        prev = (list(net.weights), list(net.biases))
        for l, (gw, gb) in enumerate(grads):
            net.weights[l] = net.weights[l] - eta * gw
            net.biases[l] = net.biases[l] - eta * gb
    return curve if curve.size == k + 1 else curve[: k + 1].copy()

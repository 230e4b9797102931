r"""Exact conversion between :class:`~geosym.nn.MLP` and ``torch.nn.Sequential`` MLPs.

Needs the optional extra ``pip install 'geosym[torch]'`` (imported lazily). A supported torch
model is a ``Sequential`` (nested ones are flattened, a leading ``Flatten`` is skipped) of
``Linear`` layers separated by one elementwise activation module of a single kind, ending with a
``Linear`` (geosym's MLP has a linear output, as in Karakida, Akaho & Amari, AISTATS 2019).
Weights are copied to float64 exactly (float32 values are representable in float64), so a round
trip ``MLP.from_torch(m).to_torch()`` computes the same float64 outputs as ``m.double()``.

Built-in activation modules and their geosym specs (:func:`geosym.activations.activation`):
``Tanh`` -> ``tanh``, ``ReLU`` -> ``relu``, ``GELU`` -> ``gelu`` (``approximate="tanh"``: its
tanh formula), ``SiLU`` -> ``swish``, ``ELU(alpha)`` -> ``elu(x, alpha)``, ``Softplus(beta)`` ->
``softplus(beta*x)/beta`` (torch's linear branch above ``threshold`` differs by less than
:math:`e^{-\text{threshold}}`), ``LeakyReLU(slope)`` -> ``leaky_relu(x, slope)``, ``Sigmoid`` ->
``sigmoid``, ``Identity`` -> ``linear``, and geosym's own :func:`erf_module` -> ``erf``. Other
modules: pass ``activations={ModuleType: "spec"}``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._optional import require
from .mlp import MLP

__all__ = ["from_torch", "to_torch", "erf_module", "activation_spec"]


def _torch(what: str) -> Any:
    return require("torch", "torch", what)


@functools.lru_cache(maxsize=1)
def _erf_class() -> type:
    torch = _torch("erf_module")
    module_base: Any = torch.nn.Module

    class Erf(module_base):
        """Elementwise error function, :math:`\\mathrm{erf}(x)`."""

        def forward(self, x: Any) -> Any:
            return torch.erf(x)

    Erf.__module__ = __name__
    Erf.__qualname__ = "Erf"
    return Erf


def erf_module() -> Any:
    """A ``torch.nn.Module`` computing ``torch.erf`` elementwise (torch has no ``nn.Erf``).

    Examples
    --------
    >>> import torch
    >>> float(erf_module()(torch.tensor([0.5])))
    0.5204998850822449
    """
    return _erf_class()()


def _builtin_spec(module: Any) -> str | None:
    nn = _torch("MLP.from_torch").nn
    if isinstance(module, _erf_class()):
        return "erf"
    simple = {
        nn.Tanh: "tanh",
        nn.ReLU: "relu",
        nn.SiLU: "swish",
        nn.Sigmoid: "sigmoid",
        nn.Identity: "linear",
    }
    kind = type(module)
    if kind in simple:
        return simple[kind]
    if kind is nn.GELU:
        if module.approximate == "tanh":
            return "x*(1+tanh(sqrt(2/pi)*(x+0.044715*x**3)))/2"
        return "gelu"
    if kind is nn.ELU:
        return f"elu(x, {float(module.alpha)!r})"
    if kind is nn.LeakyReLU:
        return f"leaky_relu(x, {float(module.negative_slope)!r})"
    if kind is nn.Softplus:
        beta = float(module.beta)
        return "softplus" if beta == 1.0 else f"softplus({beta!r}*x)/{beta!r}"
    return None


def activation_spec(module: Any, activations: Mapping[type, str] | None = None) -> str:
    """The geosym activation spec of a torch activation module.

    Raises
    ------
    ValueError
        Naming the module when it is neither built in nor in ``activations``.

    Examples
    --------
    >>> import torch
    >>> activation_spec(torch.nn.LeakyReLU(0.1)), activation_spec(torch.nn.Tanh())
    ('leaky_relu(x, 0.1)', 'tanh')
    """
    for kind, spec in (activations or {}).items():
        if isinstance(module, kind):
            return spec
    builtin = _builtin_spec(module)
    if builtin is None:
        raise ValueError(
            f"unsupported module {module!r} ({type(module).__name__}): MLP.from_torch takes "
            "Linear layers and elementwise activations (Tanh, ReLU, GELU, SiLU, ELU, Softplus, "
            "LeakyReLU, Sigmoid, Identity); map a custom one with "
            f"activations={{{type(module).__name__}: 'spec'}}"
        )
    return builtin


def _flatten(module: Any, nn: Any) -> list[Any]:
    if isinstance(module, nn.Sequential):
        return [m for child in module for m in _flatten(child, nn)]
    return [module]


def from_torch(module: Any, activations: Mapping[type, str] | None = None) -> MLP:
    r"""Convert a ``torch.nn.Sequential`` MLP to :class:`~geosym.nn.MLP`, weights copied exactly.

    Parameters
    ----------
    module
        ``Sequential(Linear, act, Linear, act, ..., Linear)`` (module docstring).
    activations
        ``{ModuleType: "spec"}`` for activation modules geosym does not know, e.g.
        ``{MySwish: "x*sigmoid(x)"}``; checked before the built-in table.

    Raises
    ------
    TypeError
        ``module`` is not a ``torch.nn.Sequential``.
    ValueError
        An unsupported module (named), two activations of different kinds, a missing
        activation between two ``Linear`` layers, or a non-linear output layer.

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.SiLU(), torch.nn.Linear(8, 2))
    >>> net = from_torch(m)
    >>> net.widths, net.activation.name
    ((4, 8, 2), 'swish')
    >>> x = torch.randn(5, 4)
    >>> bool((to_torch(net)(x.double()) == m.double()(x.double())).all())
    True
    """
    torch = _torch("MLP.from_torch")
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(
            f"MLP.from_torch needs a torch.nn.Sequential of Linear and activation modules, got "
            f"{type(module).__name__}"
        )
    layers = _flatten(module, nn)
    if layers and isinstance(layers[0], nn.Flatten):
        layers = layers[1:]
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    specs: list[tuple[str, Any]] = []
    expect_linear = True
    for i, m in enumerate(layers):
        if isinstance(m, nn.Linear):
            if not expect_linear:
                raise ValueError(
                    f"layer {i} ({m!r}) follows another Linear with no activation between them; "
                    "insert the activation (or merge the two linear maps)"
                )
            w = m.weight.detach().cpu().to(torch.float64).numpy().copy()
            b = (
                m.bias.detach().cpu().to(torch.float64).numpy().copy()
                if m.bias is not None
                else np.zeros(w.shape[0])
            )
            weights.append(w)
            biases.append(b)
            expect_linear = False
        else:
            spec = activation_spec(m, activations)
            if expect_linear:
                raise ValueError(
                    f"module {i} ({m!r}) is an activation where a Linear layer was expected"
                )
            specs.append((spec, m))
            expect_linear = True
    if not weights:
        raise ValueError("the Sequential contains no Linear layer")
    if expect_linear:
        raise ValueError(
            f"the last module ({specs[-1][1]!r}) is an activation: geosym's MLP has a linear "
            "output layer; drop it or move it into the loss"
        )
    kinds = {spec for spec, _ in specs}
    if len(kinds) > 1:
        raise ValueError(
            f"the hidden layers use different activations {sorted(kinds)}; geosym's MLP takes one"
        )
    spec = specs[0][0] if specs else "linear"
    return MLP(weights, biases, spec)


def _torch_activation(net: MLP, activation_module: Callable[[], Any] | None) -> Any:
    from ..activations import activation

    if activation_module is not None:
        return activation_module()
    nn = _torch("MLP.to_torch").nn
    act = net.activation
    with np.errstate(all="ignore"):  # probe the parameters of the parametric modules
        at = act(np.array([-1.0, -60.0, 0.0]))
    slope, alpha = float(-at[0]), float(-at[1])
    beta = float(np.log(2.0) / at[2]) if at[2] > 0 else 1.0
    candidates = [
        nn.Tanh,
        nn.ReLU,
        nn.SiLU,
        nn.GELU,
        functools.partial(nn.GELU, approximate="tanh"),
        nn.Sigmoid,
        nn.Identity,
        erf_module,
        functools.partial(nn.Softplus, beta=beta),
        functools.partial(nn.LeakyReLU, slope),
        functools.partial(nn.ELU, alpha),
    ]
    for make in candidates:
        module = make()
        try:
            if activation(_builtin_spec(module)) == act:
                return module
        except ValueError:  # a probed parameter that makes no valid spec (nan, inf)
            continue
    name = getattr(act, "name", repr(act))
    raise ValueError(
        f"MLP.to_torch: no torch module for the activation {name!r}; pass "
        "activation_module=<a zero-argument factory of a torch.nn.Module>"
    )


def to_torch(
    net: MLP, *, dtype: Any = None, activation_module: Callable[[], Any] | None = None
) -> Any:
    """A ``torch.nn.Sequential`` computing the same function as ``net`` (weights copied exactly).

    Parameters
    ----------
    net
        The :class:`~geosym.nn.MLP`.
    dtype
        torch dtype of the parameters (default ``torch.float64``: exact copy).
    activation_module
        Zero-argument factory of the hidden activation module, for activations without a
        built-in torch module (module docstring lists those that have one).

    Examples
    --------
    >>> from geosym.nn import MLP
    >>> model = to_torch(MLP.random([3, 5, 1], "relu", 2.0, 0.0, seed=0))
    >>> model
    Sequential(
      (0): Linear(in_features=3, out_features=5, bias=True)
      (1): ReLU()
      (2): Linear(in_features=5, out_features=1, bias=True)
    )
    """
    torch = _torch("MLP.to_torch")
    dtype = torch.float64 if dtype is None else dtype
    act = _torch_activation(net, activation_module)
    mods: list[Any] = []
    for l, (w, b) in enumerate(zip(net.weights, net.biases, strict=True), start=1):
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        mods.append(lin)
        if l < net.depth:
            mods.append(act if l == 1 else copy.deepcopy(act))
    return torch.nn.Sequential(*mods)

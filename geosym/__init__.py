"""geosym: the geometry of deep learning, derived symbolically and checked by simulation.

Four results of the information-geometry school (Karakida, Akaho, Amari and co-workers), for any
activation function:

* :func:`fim_statistics` / :class:`MeanField` — Fisher information of wide random nets;
* :mod:`geosym.natgrad` — unit-wise Fisher blocks with an explicit inverse, NGD variants;
* :mod:`geosym.committee` — learning dynamics of soft committee machines and their plateaus;
* :mod:`geosym.transport` — entropic optimal transport through information geometry;
* :mod:`geosym.nn` — the NumPy MLP every Fisher prediction is checked against;
* :mod:`geosym.data` — benchmark data sets (mnist-5k, digits) and their exact input statistics.

The foundation is :func:`activation` (a safe expression language) and :func:`expect` (Gaussian
expectations: closed-form rules first, certified quadrature otherwise).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from .errors import ConvergenceError, IntegrationError, NumericalError, ResourceError

# Names of ``__all__`` that live in a submodule, loaded on first use (PEP 562; ``latex`` and
# ``sweep``: see ``_GeosymModule``) so that ``import geosym`` and ``geosym --help`` do not pay for sympy, scipy
# and the committee integrals.
_LAZY: dict[str, str] = {
    "Activation": ".activations",
    "activation": ".activations",
    "expect": ".gaussian",
    "Expectation": ".gaussian",
    "kernels": ".meanfield",
    "MeanField": ".meanfield",
    "fim_statistics": ".fisher",
    "FIMStatistics": ".fisher",
    "unit_fisher": ".natgrad",
    "UnitFisher": ".natgrad",
    "one_step_learning_rates": ".natgrad",
    "mean_subtraction": ".natgrad",
    "CommitteeODE": ".committee",
    "sinkhorn": ".transport",
    "SinkhornResult": ".transport",
    "Grid": ".transport",
    "barycenter": ".transport",
    "set_memory_limit": "._memory",
}
_SUBPACKAGES = ("committee", "data", "experiments", "natgrad", "nn", "transport")

__all__ = [
    "Activation",
    "activation",
    "expect",
    "Expectation",
    "kernels",
    "MeanField",
    "fim_statistics",
    "FIMStatistics",
    "unit_fisher",
    "UnitFisher",
    "one_step_learning_rates",
    "mean_subtraction",
    "CommitteeODE",
    "sinkhorn",
    "SinkhornResult",
    "Grid",
    "barycenter",
    "latex",
    "sweep",
    "NumericalError",
    "IntegrationError",
    "ConvergenceError",
    "ResourceError",
    "set_memory_limit",
    "committee",
    "data",
    "experiments",
    "natgrad",
    "nn",
    "transport",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Load ``geosym.<name>`` (a subpackage, or a name re-exported from one) on first access."""
    if name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    else:
        raise AttributeError(f"module 'geosym' has no attribute {name!r}")
    globals()[name] = value  # cache: later look-ups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _function_over_submodule(name: str) -> property:
    """``geosym.<name>`` is the function ``geosym.<name>.<name>``, although a submodule of the
    same name exists.

    Importing the submodule (as the CLI does) binds it as an attribute of the package; an eager
    ``from .<name> import <name>`` used to overwrite that binding with the function, and this
    property keeps it so under lazy loading.
    """

    def get(self: types.ModuleType) -> Any:
        return getattr(importlib.import_module(f".{name}", __name__), name)

    def ignore(self: types.ModuleType, value: Any) -> None:  # the import system binding it
        pass

    return property(get, ignore)


class _GeosymModule(types.ModuleType):
    """The package module, with :func:`latex` and :func:`sweep` shadowing their submodules."""

    latex = _function_over_submodule("latex")
    sweep = _function_over_submodule("sweep")


sys.modules[__name__].__class__ = _GeosymModule

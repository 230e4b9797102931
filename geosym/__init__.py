"""geosym: the geometry of deep learning, derived symbolically and checked by simulation.

Four results of the information-geometry school (Karakida, Akaho, Amari and co-workers), for any
activation function:

* :func:`fim_statistics` / :class:`MeanField` — Fisher information of wide random nets;
* :mod:`geosym.natgrad` — unit-wise Fisher blocks with an explicit inverse, NGD variants;
* :mod:`geosym.committee` — learning dynamics of soft committee machines and their plateaus;
* :mod:`geosym.transport` — entropic optimal transport through information geometry;
* :mod:`geosym.nn` — the NumPy MLP every Fisher prediction is checked against.

The foundation is :func:`activation` (a safe expression language) and :func:`expect` (Gaussian
expectations: closed-form rules first, certified quadrature otherwise).
"""

from . import committee, experiments, natgrad, nn, transport
from .activations import Activation, activation
from .committee import CommitteeODE
from .errors import ConvergenceError, IntegrationError, NumericalError
from .fisher import FIMStatistics, fim_statistics
from .gaussian import Expectation, expect
from .latex import latex
from .meanfield import MeanField, kernels
from .natgrad import UnitFisher, mean_subtraction, one_step_learning_rates, unit_fisher
from .sweep import sweep  # the function; its modules stay importable as geosym.sweep.<module>
from .transport import Grid, SinkhornResult, barycenter, sinkhorn

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
    "sweep",
    "latex",
    "NumericalError",
    "IntegrationError",
    "ConvergenceError",
    "committee",
    "experiments",
    "natgrad",
    "nn",
    "transport",
]

__version__ = "0.1.0"

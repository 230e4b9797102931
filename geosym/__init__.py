"""geosym: the geometry of deep learning, derived symbolically and checked by simulation."""

from .activations import Activation, activation
from .errors import ConvergenceError, IntegrationError, NumericalError
from .gaussian import Expectation, expect
from .latex import latex

__all__ = [
    "Activation",
    "activation",
    "expect",
    "Expectation",
    "latex",
    "NumericalError",
    "IntegrationError",
    "ConvergenceError",
]

__version__ = "0.1.0"

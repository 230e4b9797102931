"""Theory next to simulation: one module per result, returning tidy comparison results.

This is the only place where theory modules (:mod:`geosym.fisher`, ...) and simulations
(:mod:`geosym.nn`, ...) meet; the CLI, the report, the notebooks and the tests call it.
"""

from .fisher import (
    FIMComparison,
    FIMComparisonRow,
    LRSweep,
    LRSweepRow,
    compare_fim,
    learning_rate_sweep,
)

__all__ = [
    "FIMComparison",
    "FIMComparisonRow",
    "compare_fim",
    "LRSweep",
    "LRSweepRow",
    "learning_rate_sweep",
]

"""Theory next to simulation: one module per result, returning tidy comparison results.

This is the only place where theory modules (:mod:`geosym.fisher`, ...) and simulations
(:mod:`geosym.nn`, ...) meet; the CLI, the report, the notebooks and the tests call it.
"""

from .fisher import (
    FIMComparison,
    FIMComparisonRow,
    LossMap,
    LRStudy,
    LRStudyRow,
    LRSweep,
    LRSweepRow,
    compare_fim,
    learning_rate_study,
    learning_rate_sweep,
    loss_map,
)

__all__ = [
    "FIMComparison",
    "FIMComparisonRow",
    "compare_fim",
    "LRSweep",
    "LRSweepRow",
    "learning_rate_sweep",
    "LRStudy",
    "LRStudyRow",
    "learning_rate_study",
    "LossMap",
    "loss_map",
]

from .natgrad import (  # noqa: E402
    MeanSubtractionMeasurement,
    OffBlockMeasurement,
    OneStepConvergence,
    TrainingComparison,
    UnitBlockCheck,
    measure_mean_subtraction,
    measure_offblock,
    one_step_convergence,
    training_comparison,
    unit_block_check,
)

__all__ += [
    "UnitBlockCheck",
    "unit_block_check",
    "OffBlockMeasurement",
    "measure_offblock",
    "OneStepConvergence",
    "one_step_convergence",
    "TrainingComparison",
    "training_comparison",
    "MeanSubtractionMeasurement",
    "measure_mean_subtraction",
]

"""The ε-scaling stage loop and the non-convergence report shared by the transport solvers.

ε-scaling (Schmitzer 2019, SIAM J. Sci. Comput. 41(3):A1443, §3.2; Peyré & Cuturi 2019,
Remark 4.19) solves at ``max M, max M · s, max M · s², ...`` down to ``reg``, each stage
warm-started from the potentials of the previous one. Intermediate stages stop at marginal error
:data:`STAGE_TOL` or after :data:`STAGE_MAX_ITER` iterations; the final stage gets the rest of
the iteration budget.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Literal, TypeVar

import numpy as np

from ..errors import ConvergenceError
from ._grid import Grid

#: marginal error at which an intermediate ε-scaling stage hands over to the next one
STAGE_TOL = 1e-3
#: at most this many iterations per intermediate ε-scaling stage
STAGE_MAX_ITER = 100
#: ``eps_scaling="auto"`` scales when ``reg`` is below this fraction of ``max|M|`` ...
AUTO_BELOW = 1e-3
#: ... with this factor per stage (a rectangle against a disc on a 64×64 grid at reg
#: 1e-4 · max M: ~700 sweeps to tol 1e-9 with scaling, 3320 without)
AUTO_FACTOR = 0.5

T = TypeVar("T")


def schedule(
    reg: float, eps_scaling: float | Literal["auto"] | None, cost: np.ndarray | Grid
) -> list[float]:
    """Decreasing regularisations ``max|M|, max|M|·s, ..., reg`` (or just ``[reg]``).

    ``eps_scaling="auto"`` is the factor :data:`AUTO_FACTOR` when ``reg <`` :data:`AUTO_BELOW`
    ``· max|M|`` and no scaling otherwise.
    """
    if eps_scaling is None:
        return [reg]
    scale = cost.max_cost if isinstance(cost, Grid) else float(np.abs(cost).max())
    if isinstance(eps_scaling, str):
        if eps_scaling != "auto":
            raise ValueError(
                f"eps_scaling must be a factor in (0, 1), 'auto' or None, got {eps_scaling!r}"
            )
        if reg >= AUTO_BELOW * scale:
            return [reg]
        eps_scaling = AUTO_FACTOR
    factor = float(eps_scaling)
    if not 0 < factor < 1:
        raise ValueError(f"eps_scaling must be a factor in (0, 1), got {eps_scaling!r}")
    cost_scale = max(scale, reg)
    n_stages = max(int(np.ceil(np.log(reg / cost_scale) / np.log(factor))), 0)
    return [cost_scale * factor**k for k in range(n_stages)] + [reg]


def run_stages(
    stages: list[float], max_iter: int, solve: Callable[[float, int, bool], tuple[T, int]]
) -> tuple[T, int]:
    """Run ``solve(reg, budget, final) -> (state, iterations used)`` once per ε stage.

    ``solve`` carries its warm start from stage to stage itself. An intermediate stage gets at
    most :data:`STAGE_MAX_ITER` iterations and always leaves one for the final stage, which
    therefore always runs. Returns the final stage's state and the total iteration count.
    """
    n_iter, state = 0, None
    assert stages, "at least one stage"
    for k, lam in enumerate(stages):
        final = k == len(stages) - 1
        budget = max_iter - n_iter if final else min(STAGE_MAX_ITER, max_iter - n_iter - 1)
        if budget < 1:
            continue
        state, used = solve(lam, budget, final)
        n_iter += used
    assert state is not None  # the final stage always runs (it keeps one iteration)
    return state, n_iter


def check_on_fail(on_fail: object) -> None:
    """``on_fail`` must be ``"warn"`` or ``"raise"``."""
    if on_fail not in ("warn", "raise"):
        raise ValueError(f"on_fail must be 'warn' or 'raise', got {on_fail!r}")


def report_failure(message: str, on_fail: str, stacklevel: int) -> None:
    """Raise :class:`ConvergenceError` (``on_fail="raise"``) or warn with ``RuntimeWarning``.

    ``stacklevel`` counts from the caller of this function, as in :func:`warnings.warn`.
    """
    if on_fail == "raise":
        raise ConvergenceError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=stacklevel + 1)

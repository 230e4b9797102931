"""Log-domain Sinkhorn for entropy-regularised optimal transport.

Solves (Cuturi 2013, NeurIPS; Amari, Karakida & Oizumi 2018, Information Geometry 1:13, eq. 1)

    C_λ(a, b) = min_{P ≥ 0, P1 = a, Pᵀ1 = b}  <M, P> − λ H(P),   H(P) = −Σ_ij P_ij log P_ij,

whose solution is ``P_ij = exp((α_i + β_j − M_ij)/λ)`` (AKO 2018 §3; research note ot.md eq. 2).
The iterations are Sinkhorn's alternate projections written on the potentials with a max-shifted
log-sum-exp, so that zero-mass bins (log weight −inf) and ``reg`` down to ``1e-4 · max M`` work
without underflow (Peyré & Cuturi 2019, Computational OT, §4.4; Schmitzer 2019 for ε-scaling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from .._memory import require_memory
from ..errors import NumericalError
from ..results import Check, Result
from ._checks import as_histogram, check_cost, check_positive_int, check_reg, histogram_shapes
from ._grid import Grid
from ._kernel import LogKernel
from ._stages import STAGE_TOL, check_on_fail, report_failure, run_stages, schedule

__all__ = ["SinkhornResult", "sinkhorn"]


def _support_dot(potential: np.ndarray, mass: np.ndarray) -> float:
    """``<potential, mass>`` over ``mass > 0`` (0 · (−inf) counts as 0)."""
    keep = mass > 0
    return float(np.dot(potential[keep], mass[keep]))


@dataclass(frozen=True, eq=False)
class SinkhornResult(Result):
    """Solution of the entropic transport problem between two histograms.

    ``to_dict()`` (strict JSON, :mod:`geosym.results`) holds every field but the cost, with the
    potentials as nested lists (``None`` on zero-mass bins); the plan is never serialised.

    Attributes
    ----------
    alpha, beta : numpy.ndarray
        Potentials (dual variables) in the Shannon-entropy convention of AKO 2018, eq. 3:
        ``P_ij = exp((alpha_i + beta_j - M_ij)/reg)``, shapes of ``a`` and ``b``. They are
        ``-inf`` on zero-mass bins and unique up to ``(alpha + c, beta - c)``.
    value : float
        ``C_λ = <M, P> − λ H(P)`` of the returned plan; equals ``<alpha, a> + <beta, b>`` at
        convergence (Legendre duality, AKO 2018 eq. 3).
    transport_cost : float
        ``<M, P>``, the transport cost without the entropy term (POT's ``sinkhorn2``).
    entropy : float
        ``H(P) = −Σ P log P``.
    n_iter : int
        Sinkhorn iterations (one row and one column update each), all ε stages together.
    converged : bool
        Whether ``marginal_error <= tol`` was reached.
    marginal_error : float
        ``‖Pᵀ1 − b‖₁`` of the returned plan; its row marginal is exact, except for
        self-transport (``a = b``, symmetric cost) where the plan is symmetric and both
        marginals have this error.
    reg : float
        The regularisation λ.
    tol : float
        The tolerance on ``marginal_error`` (:meth:`checks`).
    cost : numpy.ndarray or Grid
        The cost the problem was solved for.
    """

    alpha: np.ndarray
    beta: np.ndarray
    value: float
    transport_cost: float
    entropy: float
    n_iter: int
    converged: bool
    marginal_error: float
    reg: float
    tol: float
    cost: np.ndarray | Grid = field(repr=False, metadata={"json": False})

    @cached_property
    def plan(self) -> np.ndarray:
        """Dense optimal plan, shape ``(a.size, b.size)`` (grid histograms flattened, C order)."""
        require_memory(
            8.0 * 3 * self.alpha.size * self.beta.size,
            f"the dense plan of {self.alpha.size} x {self.beta.size} points",
            "the number of bins (the plan is dense: use the potentials alpha, beta instead)",
        )
        log_plan = LogKernel(self.cost, self.reg).log_dense() + (
            np.add.outer(self.alpha.ravel(), self.beta.ravel()) / self.reg
        )
        return np.exp(log_plan)

    def latex(self) -> str:
        """The value, transport cost and entropy as a LaTeX ``align*`` block."""
        return (
            "\\begin{align*}\n"
            f"C_\\lambda &= {self.value:.10g} \\\\\n"
            f"\\langle M, P\\rangle &= {self.transport_cost:.10g} \\\\\n"
            f"H(P) &= {self.entropy:.10g} \\qquad (\\lambda = {self.reg:g})\n"
            "\\end{align*}"
        )

    def checks(self) -> tuple[Check, ...]:
        """The column marginal error against the solver tolerance."""
        return (
            Check("sinkhorn marginal error ‖Pᵀ1 − b‖₁", self.marginal_error, self.tol, "solver tol"),
        )


def _is_symmetric(a: np.ndarray, b: np.ndarray, cost: np.ndarray | Grid) -> bool:
    """Self-transport ``a = b`` under a symmetric cost (solved by averaged symmetric sweeps)."""
    if not np.array_equal(a, b):
        return False
    return isinstance(cost, Grid) or np.array_equal(cost, cost.T)


def _iterate(
    kernel: LogKernel,
    log_a: np.ndarray,
    log_b: np.ndarray,
    g: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, int]:
    """Sinkhorn sweeps on scaled potentials ``F = f/λ``, ``G = g/λ``.

    With ``P_ij = a_i b_j exp(F_i + G_j − M_ij/λ)`` the row update ``F = −LSE_j(log b + G − M/λ)``
    makes the rows exact; the column update ``G' = −LSE_i(log a + F − M/λ)`` tells for free the
    column marginal of the current plan, ``b exp(G − G')``. Returns ``F, G`` of the last plan
    whose error was measured, that error, the column marginal and the number of sweeps.
    """
    b = np.exp(log_b)
    g_next = g
    for n_iter in range(1, max_iter + 1):
        g = g_next
        f = -kernel.rows(log_b + g)
        g_next = -kernel.cols(log_a + f)
        with np.errstate(over="ignore"):
            col = np.exp(log_b + g - g_next)
        err = float(np.abs(col - b).sum())
        if np.isnan(err):
            raise NumericalError(f"sinkhorn: nan in the potentials at iteration {n_iter}")
        if err <= tol:
            break
    return f, g, err, col, n_iter


def _iterate_symmetric(
    kernel: LogKernel, log_a: np.ndarray, f: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Averaged sweeps ``F ← (F + T(F))/2``, ``T(F) = −LSE_j(log a + F − M/λ)`` for ``a = b``.

    The symmetric fixed point of Sinkhorn (Feydy et al. 2019, AISTATS, eq. 25; Knight 2008);
    the plan ``a_i a_j exp(F_i + F_j − M_ij/λ)`` is symmetric with marginal ``a exp(F − T(F))``.
    """
    a = np.exp(log_a)
    f_avg = f
    for n_iter in range(1, max_iter + 1):
        f = f_avg
        f_next = -kernel.rows(log_a + f)
        with np.errstate(over="ignore"):
            marginal = np.exp(log_a + f - f_next)
        err = float(np.abs(marginal - a).sum())
        if np.isnan(err):
            raise NumericalError(f"sinkhorn: nan in the potentials at iteration {n_iter}")
        if err <= tol:
            break
        f_avg = 0.5 * (f + f_next)
    return f, err, marginal, n_iter


def sinkhorn(
    a: np.ndarray,
    b: np.ndarray,
    cost: np.ndarray | Grid,
    reg: float,
    tol: float = 1e-9,
    max_iter: int = 10_000,
    *,
    eps_scaling: float | None = None,
    on_fail: Literal["warn", "raise"] = "warn",
) -> SinkhornResult:
    r"""Entropic optimal transport between histograms ``a`` and ``b`` (log-domain Sinkhorn).

    .. math::

        C_λ(a, b) = \min_{P \in U(a, b)} \langle M, P\rangle - λ H(P), \qquad
        P_{ij} = e^{(α_i + β_j - M_{ij})/λ}

    (Cuturi 2013, eq. 2; AKO 2018, eqs. 1-3).  Each sweep sets ``α`` then ``β`` so that the row,
    then the column marginal is exact, with the soft-min ``-λ LSE_j((β_j - M_ij)/λ + log b_j)``
    (Peyré & Cuturi 2019, Remark 4.23).  On a :class:`Grid` the soft-min is applied one axis
    at a time, ``O(HW(H+W))`` per sweep instead of ``O(H²W²)``.

    Self-transport (``a`` equal to ``b``, symmetric cost) uses the averaged symmetric update
    ``α ← (α + T(α))/2`` (Feydy et al. 2019, eq. 25), which converges much faster at small λ.

    Parameters
    ----------
    a, b : array_like
        Non-negative histograms; shapes ``(n,)``, ``(m,)`` for an ``(n, m)`` cost matrix, or
        ``grid.shape`` for a :class:`Grid`. Zero bins are allowed. A total mass other than 1 is
        normalised with a warning.
    cost : array_like or Grid
        Cost matrix ``M`` or a :class:`Grid` (squared Euclidean cost on a regular grid).
    reg : float
        Regularisation λ > 0, in the units of the cost (``1e-4 · max M`` works).
    tol : float, default 1e-9
        Stop when ``‖Pᵀ1 − b‖₁ <= tol`` (the row marginal is exact after each sweep).
    max_iter : int, default 10000
        Maximum number of sweeps over all ε stages.
    eps_scaling : float in (0, 1), optional
        ε-scaling (Schmitzer 2019, §3.2): solve for ``max M, max M · s, ...`` down to ``reg``,
        warm-starting the potentials (intermediate stages stop at marginal error 1e-3).
    on_fail : {"warn", "raise"}, default "warn"
        On non-convergence, return with ``converged=False`` and a ``RuntimeWarning``, or raise
        :class:`geosym.errors.ConvergenceError`.

    Returns
    -------
    SinkhornResult
        Potentials, value, transport cost, entropy, diagnostics; ``.plan`` on request.

    Raises
    ------
    ValueError, TypeError
        Bad histograms, cost, ``reg``, ``tol`` or ``max_iter``.
    ConvergenceError
        Not converged and ``on_fail="raise"``.
    NumericalError
        nan in the iterations.
    """
    cost = check_cost(cost)
    reg = check_reg(reg)
    tol = check_reg(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    check_on_fail(on_fail)
    src_shape, dst_shape = histogram_shapes(cost)
    a = as_histogram(a, "a", src_shape)
    b = as_histogram(b, "b", dst_shape)
    stages = schedule(reg, eps_scaling, cost)

    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    symmetric = _is_symmetric(a, b, cost)
    g = np.zeros(dst_shape)  # unscaled potential, carried across ε stages

    def solve(lam: float, budget: int, final: bool):
        nonlocal g
        kernel = LogKernel(cost, lam)
        stage_tol = tol if final else max(tol, STAGE_TOL)
        if symmetric:
            g_s, err, col, used = _iterate_symmetric(kernel, log_a, g / lam, stage_tol, budget)
            f_s, row = g_s, col
        else:
            f_s, g_s, err, col, used = _iterate(kernel, log_a, log_b, g / lam, stage_tol, budget)
            row = a
        g = lam * g_s
        return (kernel, f_s, g_s, err, row, col), used

    (kernel, f_s, g_s, err, row, col), n_iter = run_stages(stages, max_iter, solve)
    converged = err <= tol
    if not converged:
        report_failure(
            f"sinkhorn did not converge in {n_iter} iterations: marginal error {err:.3g} > "
            f"tol {tol:.3g} (reg={reg:.3g}); raise max_iter or reg, or pass eps_scaling",
            on_fail,
            stacklevel=2,
        )

    alpha = reg * (log_a + f_s)
    beta = reg * (log_b + g_s)
    transport = kernel.transport_cost(log_a + f_s, log_b + g_s)
    value = _support_dot(alpha, row) + _support_dot(beta, col)
    return SinkhornResult(
        alpha=alpha,
        beta=beta,
        value=value,
        transport_cost=transport,
        entropy=(transport - value) / reg,
        n_iter=n_iter,
        converged=bool(converged),
        marginal_error=err,
        reg=reg,
        tol=tol,
        cost=cost,
    )

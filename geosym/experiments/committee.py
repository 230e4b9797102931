r"""Committee-machine ODEs next to online SGD (Saad & Solla 1995; Goldt et al. 2019).

:func:`compare_committee` runs online SGD at finite N for several seeds, integrates the ODEs of
:class:`geosym.committee.CommitteeODE` from each seed's *measured* initial overlaps, and compares
the generalisation-error curves by the median relative deviation before
the plateau exit (SGD noise makes the exit time itself fluctuate), and the plateau height
against the symmetric fixed point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._plot import figure
from ..committee import CommitteeODE, Trajectory, simulate
from ..results import Check, Result

__all__ = ["CommitteeComparison", "compare_committee"]


@dataclass(frozen=True)
class CommitteeComparison(Result):
    """ODE and SGD curves per seed, with the phase-I deviation and the plateau height.

    Examples
    --------
    >>> from geosym.experiments.committee import compare_committee
    >>> cc = compare_committee(N=100, alpha_max=10.0, seeds=1)
    >>> cc.K, cc.M, len(cc.sgd), len(cc.ode)
    (2, 2, 1, 1)
    """

    activation: str
    N: int
    K: int
    M: int
    eta: float
    eps_star: float  # symmetric fixed point of the ODE
    median_deviation: tuple[float, ...]  # per seed, phase I (before eps_g < eps*/2 in the ODE)
    plateau_height: tuple[float, ...]  # per seed: median SGD eps_g on the ODE's plateau
    sgd: tuple[Trajectory, ...] = field(repr=False, metadata={"json": False})
    ode: tuple[Trajectory, ...] = field(repr=False, metadata={"json": False})

    def checks(self) -> tuple[Check, ...]:
        """SGD follows the ODE before the plateau exit and sits at its fixed point's height.

        Deviations are :math:`O(N^{-1/2})`: tolerance 8 % below N = 1000, 5 % from N = 1000.
        """
        heights = [abs(h / self.eps_star - 1) for h in self.plateau_height if np.isfinite(h)]
        return (
            Check(
                "median relative deviation of eps_g before the exit",
                max(self.median_deviation),
                0.05 if self.N >= 1000 else 0.08,
                "O(N^-1/2) fluctuations of online SGD",
            ),
            Check(
                "|SGD plateau height / eps* - 1|",
                max(heights) if heights else float("nan"),
                0.1,
                "SGD noise on the plateau at finite N",
            ),
        )

    def plot(self, path: str) -> None:
        """eps_g against alpha: SGD (thin) and ODE from the same overlaps (dashed), log y."""
        with figure(path, figsize=(5.5, 3.8)) as (fig, ax):
            for i, (s, o) in enumerate(zip(self.sgd, self.ode, strict=True)):
                ax.plot(s.alpha, s.eps_g, color=f"C{i}", lw=0.8, label=f"SGD seed {i}")
                ax.plot(o.alpha, o.eps_g, color=f"C{i}", ls="--", label=f"ODE seed {i}")
            ax.axhline(self.eps_star, color="k", lw=0.7, ls=":", label=r"$\epsilon_g^*$")
            ax.set_yscale("log")
            ax.set_xlabel(r"$\alpha$")
            ax.set_ylabel(r"$\epsilon_g$")
            ax.set_title(f"{self.activation}: K={self.K}, M={self.M}, N={self.N}, eta={self.eta}")
            ax.legend(fontsize=7, ncol=2)


def compare_committee(
    activation: str = "erf(x/sqrt(2))",
    N: int = 500,
    K: int = 2,
    M: int = 2,
    eta: float = 0.5,
    alpha_max: float = 60.0,
    seeds: int | Sequence[int] = 2,
) -> CommitteeComparison:
    """Online SGD at input dimension N vs the ODEs started from the same measured overlaps.

    Examples
    --------
    >>> from geosym.experiments.committee import compare_committee
    >>> cc = compare_committee(N=100, alpha_max=10.0, seeds=1)
    >>> round(cc.eps_star, 4)  # the symmetric plateau of the erf SCM
    0.0147
    >>> bool(cc.median_deviation[0] < 0.1)  # SGD at N = 100 vs the ODE, before the plateau
    True
    """
    runs = simulate(activation, N, K, M, 1, eta, alpha_max, seeds)
    ode = CommitteeODE(activation, K, M, 1, eta=eta)
    eps_star = float(ode.symmetric_fixed_point().eps_g)
    ode_runs, deviations, heights = [], [], []
    for run in runs:
        traj = ode.integrate(alpha_max, init=run.initial(), alphas=run.alpha)
        ode_runs.append(traj)
        phase1 = np.ones(traj.alpha.shape, dtype=bool)
        exits = np.nonzero((traj.alpha > 0) & (traj.eps_g < eps_star / 2))[0]
        if exits.size:
            phase1[exits[0] :] = False
        rel = np.abs(run.eps_g[phase1] - traj.eps_g[phase1]) / traj.eps_g[phase1]
        deviations.append(float(np.median(rel)))
        on = phase1 & (np.abs(traj.eps_g - eps_star) < 0.05 * eps_star)
        heights.append(float(np.median(run.eps_g[on])) if np.any(on) else float("nan"))
    return CommitteeComparison(
        str(activation),
        N,
        K,
        M,
        eta,
        eps_star,
        tuple(deviations),
        tuple(heights),
        tuple(runs),
        tuple(ode_runs),
    )

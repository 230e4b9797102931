r"""Plateau studies with multiple outputs (qualitative claim of Yoshida et al. 2019).

Yoshida, Karakida, Okada & Amari (2019, J. Phys. A 52(18)) state (abstract) that singular-region
plateaus "diminish or vanish with multidimensional output"
and that "the more non-degenerative (far from one-dimensional output) the model is, the more
plateaus are alleviated".  We reproduce that claim *qualitatively* in our own model (not theirs):

* model: the L-output generalisation of the Saad-Solla SCM (:ref:`theory-committee`), activation
  :math:`g(x)=\operatorname{erf}(x/\sqrt2)`, :math:`K=M`, :math:`T=I`, teacher output vectors of
  unit length, student second layer *fixed* to the teacher's (:math:`\eta_v=0`), noiseless,
  no weight decay, :math:`\eta=0.5`;
* initial condition: :math:`Q=\tfrac12 I`, :math:`R_{in}=10^{-6}U[0,1]` (fixed seed);
* plateau length: :math:`\alpha` at which :math:`\epsilon_g` first falls below
  :math:`10^{-3}\epsilon_g(0)` (the plateau dominates this time, so differences in it are
  differences in plateau length).

:func:`output_angle_study` turns the two teacher output vectors (K = M = 2, L = 2) from
parallel (:math:`\theta=0`, equivalent to the L = 1 SCM) to orthogonal; :func:`output_dim_study`
gives M = K teacher units orthonormal-as-possible output vectors (:math:`\mathbf v^*_n=
\mathbf e_{n \bmod L}`) in :math:`L` dimensions, from L = 1 to L = M.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._plot import figure
from ..results import Result
from .ode import CommitteeODE

__all__ = [
    "AngleRow",
    "DimensionRow",
    "PlateauStudy",
    "output_angle_study",
    "output_dim_study",
    "plateau_study",
    "time_to_learn",
]

_ACT = "erf(x/sqrt(2))"


@dataclass(frozen=True)
class AngleRow(Result):
    """One teacher-output angle of :func:`output_angle_study` (K = M = L = 2).

    Examples
    --------
    >>> from geosym.committee.studies import output_angle_study
    >>> row = output_angle_study(thetas_deg=(90,), alpha_max=300.0)[0]
    >>> row.theta_deg, round(row.eps_g0, 4), row.alpha_learn < 300
    (90.0, 0.5497, True)
    """

    theta_deg: float
    alpha_learn: float  # first alpha with eps_g < 1e-3 eps_g(0); NaN if never
    eps_g0: float


@dataclass(frozen=True)
class DimensionRow(Result):
    """One output dimension of :func:`output_dim_study` (K = M).

    Examples
    --------
    >>> import math
    >>> from geosym.committee.studies import output_dim_study
    >>> row = output_dim_study(K=2, Ls=(1,), alpha_max=300.0)[0]
    >>> row.L, math.isnan(row.alpha_learn)  # L = 1: still on the plateau at alpha = 300
    (1, True)
    """

    L: int
    alpha_learn: float  # first alpha with eps_g < 1e-3 eps_g(0); NaN if never
    eps_g0: float


@dataclass(frozen=True)
class PlateauStudy(Result):
    """Both studies of :func:`plateau_study`, with a text table and a two-panel figure.

    Examples
    --------
    >>> from geosym.committee.studies import plateau_study
    >>> study = plateau_study(thetas_deg=(90,), Ls=(3,))
    >>> len(study.angle), len(study.dim), study.table().splitlines()[0]
    (1, 1, 'K=M=L=2, eta=0.5: angle between teacher output vectors')
    """

    eta: float
    angle: tuple[AngleRow, ...]
    dim: tuple[DimensionRow, ...]

    def table(self) -> str:
        """Plain-text table of both studies."""
        lines = [
            f"K=M=L=2, eta={self.eta:g}: angle between teacher output vectors",
            "  theta [deg]   alpha to eps_g < 1e-3 eps_g(0)   eps_g(0)",
        ]
        lines += [
            f"  {r.theta_deg:10.0f}   {r.alpha_learn:30.1f}   {r.eps_g0:.4f}" for r in self.angle
        ]
        lines += [
            f"K=M=3, eta={self.eta:g}: output dimension L (v*_n = e_(n mod L))",
            "  L   alpha to eps_g < 1e-3 eps_g(0)   eps_g(0)",
        ]
        lines += [f"  {r.L:1d}   {r.alpha_learn:30.1f}   {r.eps_g0:.4f}" for r in self.dim]
        return "\n".join(lines)

    def plot(self, path: str) -> None:
        """Two-panel PNG: time to learn against the output angle (left) and dimension (right)."""
        with figure(path, figsize=(9, 3.6), ncols=2) as (fig, ax):
            ax[0].plot([r.theta_deg for r in self.angle], [r.alpha_learn for r in self.angle], "o-")
            ax[0].set_xlabel(r"angle $\theta$ between $\mathbf{v}^*_1, \mathbf{v}^*_2$ [deg]")
            ax[0].set_ylabel(r"$\alpha$ to $\epsilon_g<10^{-3}\epsilon_g(0)$")
            ax[0].set_yscale("log")
            ax[0].set_title(f"K=M=L=2, $\\eta$={self.eta}")
            ax[1].plot([r.L for r in self.dim], [r.alpha_learn for r in self.dim], "s-")
            ax[1].set_xlabel("output dimension L")
            ax[1].set_xticks([r.L for r in self.dim])
            ax[1].set_yscale("log")
            ax[1].set_title(f"K=M=3, $\\eta$={self.eta}")
            fig.suptitle(r"plateau length vs output geometry (ODE, erf, $R_{in}(0)\sim10^{-6}$)")


def time_to_learn(traj: Any, fraction: float = 1e-3) -> float:
    r"""First :math:`\alpha` with :math:`\epsilon_g<\text{fraction}\cdot\epsilon_g(0)` (NaN if
    never).

    Examples
    --------
    >>> from geosym.committee import CommitteeODE
    >>> traj = CommitteeODE("erf(x/sqrt(2))", 2, 2, eta=0.5).integrate(50.0, seed=0)
    >>> round(time_to_learn(traj, fraction=0.5), 2)
    1.54
    >>> import math; math.isnan(time_to_learn(traj, fraction=0.0))
    True
    """
    below = traj.eps_g < fraction * traj.eps_g[0]
    return float(traj.alpha[int(np.argmax(below))]) if below.any() else float("nan")


def _init(K: int, M: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"Q": 0.5 * np.eye(K), "R": 1e-6 * rng.uniform(size=(K, M))}


def output_angle_study(
    thetas_deg: Any = (0, 15, 30, 45, 60, 75, 90),
    eta: float = 0.5,
    alpha_max: float = 3000.0,
    seed: int = 0,
) -> tuple[AngleRow, ...]:
    """Time to learn vs the angle between the two teacher output vectors (K = M = L = 2).

    Examples
    --------
    >>> rows = output_angle_study(thetas_deg=(60, 90), alpha_max=500.0)
    >>> [r.theta_deg for r in rows]
    [60.0, 90.0]
    >>> rows[0].alpha_learn > rows[1].alpha_learn  # orthogonal outputs learn sooner
    True
    >>> round(rows[1].eps_g0, 4)
    0.5497
    """
    rows = []
    for th in thetas_deg:
        t = np.deg2rad(float(th))
        vs = np.array([[1.0, 0.0], [np.cos(t), np.sin(t)]])
        ode = CommitteeODE(_ACT, 2, 2, 2, eta=eta, teacher_out=vs)
        init = _init(2, 2, seed) | {"V": vs}
        tr = ode.integrate(alpha_max, init=init)
        rows.append(AngleRow(float(th), time_to_learn(tr), float(tr.eps_g[0])))
    return tuple(rows)


def output_dim_study(
    K: int = 3, Ls: Any = (1, 2, 3), eta: float = 0.5, alpha_max: float = 5000.0, seed: int = 0
) -> tuple[DimensionRow, ...]:
    r"""Time to learn vs output dimension L, K = M, :math:`\mathbf v^*_n=\mathbf e_{n\bmod L}`.

    Examples
    --------
    >>> rows = output_dim_study(K=2, Ls=(1, 2), alpha_max=300.0)
    >>> [r.L for r in rows]
    [1, 2]
    >>> import math
    >>> math.isnan(rows[0].alpha_learn), rows[1].alpha_learn < 300  # L = 1 still on its plateau
    (True, True)
    """
    rows = []
    for L in Ls:
        vs = np.zeros((K, L))
        vs[np.arange(K), np.arange(K) % L] = 1.0
        ode = CommitteeODE(_ACT, K, K, L, eta=eta, teacher_out=vs)
        tr = ode.integrate(alpha_max, init=_init(K, K, seed) | {"V": vs})
        rows.append(DimensionRow(int(L), time_to_learn(tr), float(tr.eps_g[0])))
    return tuple(rows)


def plateau_study(
    thetas_deg: Any = (0, 15, 30, 45, 60, 75, 90), Ls: Any = (1, 2, 3), eta: float = 0.5
) -> PlateauStudy:
    r"""Both studies: time to learn (:math:`\epsilon_g < 10^{-3}\epsilon_g(0)`) against the
    angle between the two teacher output vectors (K = M = L = 2) and against the output
    dimension L (K = M = 3). ``.table()`` and ``.plot(path)`` show them.

    Examples
    --------
    >>> study = plateau_study(thetas_deg=(90,), Ls=(3,))
    >>> [r.theta_deg for r in study.angle], [r.L for r in study.dim]
    ([90.0], [3])
    >>> print(study.table().splitlines()[0])
    K=M=L=2, eta=0.5: angle between teacher output vectors
    """
    return PlateauStudy(
        eta, output_angle_study(thetas_deg, eta=eta), output_dim_study(Ls=Ls, eta=eta)
    )

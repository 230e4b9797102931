r"""Trajectories of committee-machine order parameters and plateau analysis.

A :class:`Trajectory` holds the order parameters of a two-layer network along learning time
:math:`\alpha = \mu/N` (examples seen per input dimension): :math:`Q_{ik}=\mathbf w_i\cdot\mathbf
w_k/N`, :math:`R_{in}=\mathbf w_i\cdot\mathbf w^*_n/N`, the student second layer :math:`V` and
the generalisation error :math:`\epsilon_g` (Saad & Solla 1995; Goldt et al. 2019).  The same
type is returned by the ODE (:meth:`CommitteeODE.integrate`) and by the SGD simulator
(:func:`simulate`), so theory and measurement can be compared point by point.

:func:`plateau` measures the symmetric-phase plateau (Saad & Solla 1995) with an operational
definition: the plateau *starts* at the first :math:`\alpha` with
:math:`|\epsilon_g-\epsilon_g^*| < 5\%\,\epsilon_g^*` and *ends* at the first later
:math:`\alpha` with :math:`\epsilon_g < \epsilon_g^*/2`, where :math:`\epsilon_g^*` is the
generalisation error at the symmetric fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..results import Result

__all__ = ["Trajectory", "Plateau", "plateau", "decay_rate"]


@dataclass(frozen=True)
class Trajectory(Result):
    """Order parameters along learning time.

    Attributes
    ----------
    alpha : ndarray, shape (n,)
        Learning time :math:`\\alpha=\\mu/N`, increasing.
    Q : ndarray, shape (n, K, K)
    R : ndarray, shape (n, K, M)
    V : ndarray, shape (n, K, L)
        Student second-layer vectors (rows :math:`\\mathbf v_i`).
    eps_g : ndarray, shape (n,)
        Generalisation error :math:`\\epsilon_g` (noiseless teacher).
    T : ndarray, shape (M, M)
        Teacher covariance used (measured, for a simulation).
    teacher_out : ndarray, shape (M, L)
        Teacher second-layer vectors :math:`\\mathbf v^*_n`.
    source : str
        ``"ode"`` or ``"sgd"``.
    meta : dict
        Settings (activation, eta, N, seed, integrator statistics, ...).

    Examples
    --------
    >>> from geosym.committee import CommitteeODE
    >>> traj = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5).integrate(300.0, seed=0)
    >>> traj.K, traj.M, traj.L, traj.source
    (2, 2, 1, 'ode')
    >>> sorted(traj.at(10.0))[:3]
    ['Q', 'R', 'V']
    >>> sorted(traj.initial())
    ['Q', 'R', 'V']
    """

    alpha: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    V: np.ndarray
    eps_g: np.ndarray
    T: np.ndarray
    teacher_out: np.ndarray
    source: str = "ode"
    meta: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default=None, repr=False, compare=False, metadata={"json": False})

    @property
    def K(self) -> int:  # noqa: N802 - paper notation
        return int(self.Q.shape[1])

    @property
    def M(self) -> int:  # noqa: N802 - paper notation
        return int(self.R.shape[2])

    @property
    def L(self) -> int:  # noqa: N802 - paper notation
        return int(self.V.shape[2])

    def at(self, alpha: float | np.ndarray) -> dict[str, np.ndarray]:
        """Order parameters at ``alpha`` by linear interpolation between stored points.

        Returns a dict with ``Q``, ``R``, ``V``, ``eps_g`` (leading axis = ``alpha``'s shape).
        """
        a = np.asarray(alpha, dtype=float)
        if np.any(a < self.alpha[0]) or np.any(a > self.alpha[-1]):
            raise ValueError(
                f"alpha must lie in [{self.alpha[0]}, {self.alpha[-1]}], the stored range"
            )
        flat = a.ravel()
        j = np.clip(np.searchsorted(self.alpha, flat, side="right") - 1, 0, len(self.alpha) - 2)
        span = self.alpha[j + 1] - self.alpha[j]
        t = np.where(span > 0, (flat - self.alpha[j]) / np.where(span > 0, span, 1.0), 0.0)

        def lerp(arr: np.ndarray) -> np.ndarray:
            tt = t.reshape((-1,) + (1,) * (arr.ndim - 1))
            out = (1 - tt) * arr[j] + tt * arr[j + 1]
            return out.reshape(a.shape + arr.shape[1:])

        return {"Q": lerp(self.Q), "R": lerp(self.R), "V": lerp(self.V), "eps_g": lerp(self.eps_g)}

    def initial(self) -> dict[str, np.ndarray]:
        """The overlaps at the first stored time, as an ``init`` dict for the ODE."""
        return {"Q": self.Q[0].copy(), "R": self.R[0].copy(), "V": self.V[0].copy()}


@dataclass(frozen=True)
class Plateau(Result):
    """Symmetric-phase plateau of a learning curve (definition in :func:`plateau`).

    ``start``/``end``/``length``/``height`` are NaN when the curve never reaches the plateau
    band (``found=False``); ``end`` is NaN when it reaches the band but never leaves it.

    Examples
    --------
    >>> from geosym.committee import CommitteeODE
    >>> traj = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5).integrate(300.0, seed=0)
    >>> from geosym.committee import plateau
    >>> p = plateau(traj)  # eps_g* of the symmetric fixed point the plateau is near
    >>> p.found, round(p.start, 1), round(p.end, 1), round(p.height, 4)
    (True, 79.8, 166.1, 0.0136)
    """

    start: float
    end: float
    height: float
    length: float
    eps_star: float
    found: bool


def plateau(
    trajectory: Trajectory,
    eps_star: float | None = None,
    *,
    band: float = 0.05,
    exit_fraction: float = 0.5,
) -> Plateau:
    r"""Locate the symmetric-phase plateau of a learning curve.

    Definition (operational; the papers do not fix one): with :math:`\epsilon_g^*` the generalisation
    error at the symmetric fixed point,

    * ``start`` is the first :math:`\alpha` with :math:`|\epsilon_g-\epsilon_g^*| <
      \text{band}\cdot\epsilon_g^*` (``band = 5%``);
    * ``end`` is the first later :math:`\alpha` with :math:`\epsilon_g <
      \text{exit\_fraction}\cdot\epsilon_g^*` (``exit_fraction = 1/2``);
    * ``length = end - start``; ``height`` is the median of :math:`\epsilon_g` over
      ``[start, end)``.

    Crossing times are linearly interpolated between stored points.  With the plateau entered
    from an asymmetry :math:`r_0` the length grows like :math:`\ln(1/r_0)/\lambda_{\max}`
    (:meth:`CommitteeFixedPoint.plateau_length`).

    Parameters
    ----------
    trajectory
        ODE or SGD trajectory.
    eps_star
        :math:`\epsilon_g^*`.  If None, that of the symmetric fixed point the trajectory's
        plateau is near, ``trajectory.model.plateau_fixed_point(trajectory)`` (available for
        ODE trajectories; the symmetric ansatz can have several solutions).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.committee import CommitteeODE, plateau
    >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5)
    >>> tr = ode.integrate(800, init={"Q": np.diag([0.3, 0.4]),
    ...                               "R": 1e-7 * np.array([[0.6, 0.7], [0.1, 0.5]])})
    >>> pl = plateau(tr)
    >>> pl.found, pl.eps_star == ode.plateau_fixed_point(tr).eps_g, bool(pl.length > 100)
    (True, True, True)
    """
    if eps_star is None:
        if trajectory.model is None:
            raise ValueError(
                "eps_star: give the fixed-point generalisation error (e.g. "
                "CommitteeODE(...).symmetric_fixed_point().eps_g) for a simulated trajectory"
            )
        eps_star = float(trajectory.model.plateau_fixed_point(trajectory).eps_g)
    eps_star = float(eps_star)
    if not eps_star > 0:
        raise ValueError(f"eps_star must be > 0, got {eps_star}")
    a, e = trajectory.alpha, trajectory.eps_g
    inside = np.abs(e - eps_star) < band * eps_star
    nan = float("nan")
    if not inside.any():
        return Plateau(nan, nan, nan, nan, eps_star, False)
    i0 = int(np.argmax(inside))
    start = _crossing(a, np.abs(e - eps_star) - band * eps_star, i0)
    below = e[i0:] < exit_fraction * eps_star
    if not below.any():
        seg = e[i0:]
        return Plateau(start, nan, float(np.median(seg)), nan, eps_star, True)
    i1 = i0 + int(np.argmax(below))
    end = _crossing(a, e - exit_fraction * eps_star, i1)
    seg = e[i0:i1] if i1 > i0 else e[i0 : i0 + 1]
    return Plateau(start, end, float(np.median(seg)), end - start, eps_star, True)


def _crossing(a: np.ndarray, f: np.ndarray, i: int) -> float:
    """Linear interpolation of the zero of ``f`` between index ``i-1`` (f>=0) and ``i`` (f<0)."""
    if i == 0 or f[i - 1] == f[i]:
        return float(a[i])
    t = f[i - 1] / (f[i - 1] - f[i])
    return float(a[i - 1] + t * (a[i] - a[i - 1]))


def decay_rate(trajectory: Trajectory, eps_range: tuple[float, float]) -> float:
    r"""Asymptotic exponential decay rate :math:`-d\ln\epsilon_g/d\alpha` after the plateau.

    Least-squares slope of :math:`\ln\epsilon_g` against :math:`\alpha` over the points after the
    last time :math:`\epsilon_g` exceeded ``eps_range[1]`` with
    ``eps_range[0] < eps_g < eps_range[1]``.

    Examples
    --------
    >>> from geosym.committee import CommitteeODE
    >>> traj = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5).integrate(300.0, seed=0)
    >>> from geosym.committee import decay_rate
    >>> round(decay_rate(traj, (1e-4, 1e-3)), 4)
    0.0433
    """
    lo, hi = eps_range
    e, a = trajectory.eps_g, trajectory.alpha
    above = np.nonzero(e >= hi)[0]
    first = above[-1] + 1 if above.size else 0
    sel = np.arange(len(e)) >= first
    sel &= (e > lo) & (e < hi)
    if sel.sum() < 3:
        raise ValueError(f"eps_range={eps_range}: fewer than 3 points of the curve in range")
    slope = np.polyfit(a[sel], np.log(e[sel]), 1)[0]
    return float(-slope)

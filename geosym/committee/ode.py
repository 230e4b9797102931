r"""Order-parameter ODEs of online SGD in two-layer teacher-student networks.

Model (Saad & Solla 1995, Phys. Rev. E 52, 4225; Goldt, Advani, Saxe, Krzakala & Zdeborová
2019, NeurIPS, Eq. (1); Yoshida, Karakida, Okada & Amari 2019, J. Phys. A 52(18)): Gaussian
inputs :math:`\mathbf x\in\mathbb R^N`, teacher
:math:`\mathbf y=\sum_{n=1}^M\mathbf v^*_n g(\rho_n)+\sigma\boldsymbol\zeta`, student
:math:`\boldsymbol\phi=\sum_{i=1}^K\mathbf v_i g(\lambda_i)` with output dimension :math:`L`,
fields :math:`\lambda_i=\mathbf w_i\cdot\mathbf x/\sqrt N`, :math:`\rho_n=\mathbf w^*_n\cdot
\mathbf x/\sqrt N`, loss :math:`\tfrac12\|\mathbf y-\boldsymbol\phi\|^2`, SGD steps
:math:`\mathbf w_i \mathrel{+}= \frac{\eta}{\sqrt N}g'(\lambda_i)(\mathbf v_i\cdot
\boldsymbol\Delta)\mathbf x - \frac{\kappa}{N}\mathbf w_i` and
:math:`\mathbf v_i \mathrel{+}= \frac{\eta_v}{N}g(\lambda_i)\boldsymbol\Delta
- \frac{\kappa}{N}\mathbf v_i`.

With :math:`D_{ij}=\mathbf v_i\cdot\mathbf v_j`, :math:`E_{in}=\mathbf v_i\cdot\mathbf v^*_n`,
:math:`A_{ic}=E_{ic}` for a teacher index :math:`c` and :math:`A_{ic}=-D_{ic}` for a student
index, the order parameters obey, as :math:`N\to\infty` (the ODEs of Saad & Solla 1995 with
the explicit second layer of Goldt et al. 2019 and the L outputs of Yoshida et al. 2019),

.. math::

    \frac{dR_{in}}{d\alpha} &= \eta\sum_c A_{ic}I_3(i,n,c) - \kappa R_{in},\\
    \frac{dQ_{ik}}{d\alpha} &= \eta\sum_c\big[A_{ic}I_3(i,k,c)+A_{kc}I_3(k,i,c)\big]
        + \eta^2\sum_{c,e}A_{ic}A_{ke}I_4(i,k,c,e) + \eta^2\sigma^2D_{ik}J_2(i,k)
        - 2\kappa Q_{ik},\\
    \frac{d\mathbf v_i}{d\alpha} &= \eta_v\Big[\sum_n\mathbf v^*_nI_2(i,n)
        - \sum_j\mathbf v_jI_2(i,j)\Big] - \kappa\mathbf v_i,

.. math::

    \epsilon_g = \tfrac12\Big[\sum_{ij}D_{ij}I_2(i,j) - 2\sum_{in}E_{in}I_2(i,n)
        + \sum_{nm}F_{nm}I_2(n,m)\Big].

The Gaussian integrals come from :class:`~geosym.committee.integrals.IntegralProvider`, batched
over all index tuples.  The ODE is integrated at tight tolerances, because the plateau exit
is driven by exponentially small asymmetries (Saad & Solla 1995; Biehl, Riegler & Wöhler
1996), with LSODA (adaptive-order
Adams, switching to BDF when the flow becomes stiff near a stable fixed point, through
:func:`scipy.integrate.odeint`; DOP853 and the other ``solve_ivp`` methods on request).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy.integrate import ODEintWarning, odeint, solve_ivp
from scipy.optimize import root

from .. import _checks
from .._memory import require_memory
from ..activations import activation as _activation
from ..errors import ConvergenceError, NumericalError
from ..results import Result
from .integrals import IntegralProvider, integral_provider
from .trajectory import Trajectory

__all__ = [
    "CommitteeODE",
    "CommitteeFixedPoint",
    "FixedPoint",
    "default_alphas",
    "random_overlaps",
]

#: Magnitude of an order parameter beyond which a run counts as blown up.
_OVERFLOW = 1e8
_MAX_PROJECTED = 1e8  # right-hand sides an integrate() may project to need: beyond, it stalled
#: LSODA rejects relative tolerances near machine precision as illegal input
_RTOL_MIN = 100 * np.finfo(float).eps
_MAX_I4 = 2_000_000  # default cap on the I4 integrals of one right-hand side
_MAX_RATE = 1e100  # learning rates, noise, weight decay: squares stay finite


def _solve(
    rhs: Any, jac: Any, y0: np.ndarray, grid: np.ndarray, method: str, rtol: float, atol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate ``y' = rhs(t, y)`` and return ``(t, y)`` at the output times ``grid``.

    ``"LSODA"`` calls ODEPACK's LSODA through :func:`scipy.integrate.odeint`, which steps and
    interpolates to the output times inside Fortran (``solve_ivp`` runs a Python loop per step:
    measured 0.36 s vs 0.42 s for erf K = M = 2 to alpha = 300, but the two drivers switch to
    BDF at different times, and for K = M = 3 to alpha = 1e4 odeint took 0.55 s vs 0.42 s);
    other methods go through ``solve_ivp``.
    """
    if method == "LSODA":
        reached = [0.0]  # the largest alpha the right-hand side was evaluated at

        def tracked(t: float, y: np.ndarray) -> np.ndarray:
            reached[0] = max(reached[0], t)
            return rhs(t, y)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ODEintWarning)
            # tcrit: LSODA must not step beyond the last output time (it would evaluate the
            # right-hand side past alpha_max, where a valid trajectory may already blow up)
            y, info = odeint(
                tracked,
                y0,
                grid,
                Dfun=jac,
                tfirst=True,
                rtol=rtol,
                atol=atol,
                full_output=True,
                mxstep=1_000_000,
                tcrit=grid[-1:],
            )
        if info["message"] != "Integration successful.":
            raise ConvergenceError(f"LSODA failed near alpha = {reached[0]:.6g}: {info['message']}")
        return grid, y.T
    kw = {"jac": jac} if method in ("BDF", "Radau") else {}
    sol = solve_ivp(
        rhs, (0.0, float(grid[-1])), y0, method=method, t_eval=grid, rtol=rtol, atol=atol, **kw
    )
    if sol.status != 0:
        raise ConvergenceError(f"{method} failed at alpha = {sol.t[-1]:.6g}: {sol.message}")
    return sol.t, sol.y


class _LeftValidRegion(Exception):
    def __init__(self, alpha: float, why: str) -> None:
        super().__init__(why)
        self.alpha = alpha
        self.why = why


def default_alphas(alpha_max: float, n_log: int = 300, n_lin: int = 400) -> np.ndarray:
    """Output grid: 0, log-spaced points from ``alpha_max*1e-4`` and a linear grid.

    Examples
    --------
    >>> from geosym.committee.ode import default_alphas
    >>> grid = default_alphas(100.0)
    >>> float(grid[0]), float(grid[1]), float(grid[-1])  # 0, log-spaced from 1e-4 * alpha_max, linear
    (0.0, 0.01, 100.0)
    """
    lo = alpha_max * 1e-4
    a = np.concatenate(
        [[0.0], np.geomspace(lo, alpha_max, n_log), np.linspace(0.0, alpha_max, n_lin + 1)]
    )
    return np.unique(a)


def random_overlaps(
    K: int,
    M: int,
    N: int,
    T: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Overlaps of a random initialisation at finite :math:`N`.

    Student weights :math:`w_{ij}\sim\mathcal N(0,1)` and teacher weights transformed so that
    :math:`\mathbf w^*\mathbf w^{*\top}/N = T` exactly; returns :math:`(Q, R)` with
    :math:`Q\approx I`, :math:`R=O(N^{-1/2})`.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.committee import random_overlaps
    >>> Q, R = random_overlaps(2, 2, 1000, np.eye(2), np.random.default_rng(0))
    >>> Q.round(3)  # ~ I
    array([[0.956, 0.059],
           [0.059, 1.046]])
    >>> bool(abs(R).max() < 5 / np.sqrt(1000))  # R = O(N^{-1/2})
    True
    """
    g = rng.standard_normal((K + M, N))
    w, ws = g[:K], g[K:]
    lt = np.linalg.cholesky(T)
    lh = np.linalg.cholesky(ws @ ws.T / N)
    ws = lt @ np.linalg.solve(lh, ws)
    return w @ w.T / N, w @ ws.T / N


@dataclass(frozen=True)
class CommitteeFixedPoint(Result):
    r"""Symmetric (unspecialised) fixed point of the ODE: all student units identical.

    Attributes
    ----------
    Q, R, V : ndarray
        Order parameters at the fixed point (:math:`Q_{ik}` is :math:`q_d` on the diagonal and
        :math:`q_o` off it; every row of R is the same).
    eps_g : float
        :math:`\epsilon_g^*`, the plateau height.
    eta : float
    residual : float
        Max-norm of the full right-hand side at the solution.

    Stability (:meth:`eigenvalues`, :meth:`escape_rate`, :attr:`stability`) refers to the full
    :math:`(Q, R)` flow of all :math:`K(K+1)/2+KM` order parameters, the second layer held at
    its fixed-point value.

    Examples
    --------
    >>> from geosym.committee import CommitteeODE
    >>> fp = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.1).symmetric_fixed_point()
    >>> fp.jacobian().shape, len(fp.eigenvalues())     # K(K+1)/2 + KM = 7 order parameters
    ((7, 7), 7)
    >>> round(fp.escape_rate(), 7) == round(float(fp.eigenvalues()[0].real), 7)
    True
    >>> fp.stability, fp.unstable_directions
    ('saddle', 3)
    >>> tr = fp.model.integrate(50, seed=0)
    >>> fp.distance(tr).shape == tr.alpha.shape
    True
    """

    Q: np.ndarray
    R: np.ndarray
    V: np.ndarray
    eps_g: float
    eta: float
    residual: float
    model: Any = field(default=None, repr=False, compare=False, metadata={"json": False})

    def jacobian(self) -> np.ndarray:
        r"""Jacobian of the :math:`(Q_{i\le k}, R)` flow at the fixed point (V held fixed).

        Central finite differences, step :math:`10^{-6}` (truncation error
        :math:`O(10^{-12})` relative, rounding :math:`O(10^{-10})`).
        """
        ode = self.model
        y0 = ode._pack(self.Q, self.R, self.V, with_v=False)
        n = y0.size
        h = 1e-6
        jac = np.empty((n, n))
        for j in range(n):  # n = K(K+1)/2 + KM columns: a loop over parameters, not samples
            e = np.zeros(n)
            e[j] = h
            fp = ode._rhs_qr(y0 + e, self.V)
            fm = ode._rhs_qr(y0 - e, self.V)
            jac[:, j] = (fp - fm) / (2 * h)
        return jac

    @cached_property
    def _eigenvalues(self) -> np.ndarray:
        ev = np.linalg.eigvals(self.jacobian())
        return ev[np.argsort(-ev.real, kind="stable")]

    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of :meth:`jacobian`, largest real part first (computed once)."""
        return self._eigenvalues.copy()

    def escape_rate(self) -> float:
        r"""Largest real part :math:`\lambda_{\max}` of the eigenvalues of the Jacobian of the
        full :math:`(Q, R)` flow at the fixed point (second layer held at its fixed-point value).

        Asymmetries grow like :math:`e^{\lambda_{\max}\alpha}`, so the plateau length from an
        initial asymmetry :math:`r_0` is :math:`\approx\ln(1/r_0)/\lambda_{\max}` (Saad & Solla
        1995; Biehl, Riegler & Wöhler 1996, J. Phys. A 29).  When the symmetric ansatz has
        several solutions, use the one the trajectory's plateau is near: :meth:`CommitteeODE.plateau_fixed_point`.
        """
        return float(self._eigenvalues[0].real)

    @property
    def unstable_directions(self) -> int:
        """Number of eigenvalues with positive real part (beyond rounding, 1e-9)."""
        return int(np.sum(self._eigenvalues.real > 1e-9))

    @property
    def stability(self) -> str:
        """``"stable"`` (every eigenvalue has negative real part), ``"saddle"`` (some positive,
        some negative), ``"unstable"`` (none negative) or ``"marginal"`` (the largest real
        part is zero to 1e-9)."""
        re = self._eigenvalues.real
        if np.all(re < -1e-9):
            return "stable"
        if self.unstable_directions == 0:
            return "marginal"
        return "saddle" if np.any(re < -1e-9) else "unstable"

    def plateau_length(self, r0: float) -> float:
        r""":math:`\ln(1/r_0)/\lambda_{\max}`: predicted plateau length for asymmetry ``r0``.

        Examples
        --------
        >>> from geosym.committee import CommitteeODE
        >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5)
        >>> round(ode.symmetric_fixed_point().plateau_length(1e-4), 1)
        268.2
        """
        return float(np.log(1.0 / r0) / self.escape_rate())

    def distance(self, trajectory: Trajectory) -> np.ndarray:
        r"""Distance of every stored state of ``trajectory`` to this fixed point.

        Frobenius norm of :math:`(Q-Q^*, R-R^*)` (and :math:`V-V^*` when the second layer is
        trained), minimised over permutations of the teacher units (M <= 6; the symmetric
        point is invariant under student permutations).
        """
        Q, R = np.asarray(trajectory.Q, float), np.asarray(trajectory.R, float)
        if Q.shape[1:] != self.Q.shape or R.shape[1:] != self.R.shape:
            raise ValueError(
                f"trajectory shapes Q{Q.shape[1:]}, R{R.shape[1:]} do not match "
                f"the fixed point's Q{self.Q.shape}, R{self.R.shape}"
            )
        dq = np.sum((Q - self.Q) ** 2, axis=(1, 2))
        if self.model is not None and self.model.trains_second_layer:
            dq = dq + np.sum((np.asarray(trajectory.V, float) - self.V) ** 2, axis=(1, 2))
        M = R.shape[2]
        perms = itertools.permutations(range(M)) if M <= 6 else [tuple(range(M))]
        dr = np.min([np.sum((R[:, :, list(p)] - self.R) ** 2, axis=(1, 2)) for p in perms], axis=0)
        return np.sqrt(dq + dr)

    def to_dict(self) -> dict[str, Any]:
        """The fields (:meth:`Result.to_dict`) plus ``escape_rate``, ``stability`` and
        ``unstable_directions`` when the model is attached."""
        d = super().to_dict()
        if isinstance(self.model, CommitteeODE):
            d["escape_rate"] = self.escape_rate()
            d["stability"] = self.stability
            d["unstable_directions"] = self.unstable_directions
        return d


#: the name before 0.2
FixedPoint = CommitteeFixedPoint


class CommitteeODE:
    r"""Order-parameter ODEs of a two-layer student (K units) learning a teacher (M units).

    Parameters
    ----------
    activation
        Spec string (``"erf(x/sqrt(2))"`` is Saad & Solla's :math:`g`), a
        :class:`geosym.Activation`, or an :class:`IntegralProvider` (e.g.
        ``integral_provider("softplus", n4=16)`` for a finer numeric :math:`I_4`; tanh's
        :math:`I_4` is a closed form through an erf mixture, error bound 2.7e-6).
    K, M
        Student and teacher hidden units.
    outputs
        Output dimension :math:`L` (Yoshida et al. 2019); second layers are :math:`K\times L` and
        :math:`M\times L`.
    eta
        First-layer learning rate :math:`\eta > 0` (SGD step :math:`\eta/\sqrt N`).
    eta_v
        Second-layer learning rate (step :math:`\eta_v/N`); 0 keeps the student second layer
        fixed.
    noise
        Output-noise standard deviation :math:`\sigma`.
    weight_decay
        :math:`\kappa`.
    teacher_cov
        :math:`T` (M×M, symmetric positive definite; default identity).
    teacher_out
        Teacher second-layer vectors, M×L (default all ones, L = 1).  A 1-D array of length M
        means L = 1.

    Notes
    -----
    Soft committee machine of Saad & Solla (1995): ``eta_v=0``, ``teacher_out`` all ones and the
    student second layer all ones.  The general equations are those of Goldt et al. (2019), and
    their L-output generalisation follows Yoshida, Karakida, Okada & Amari (2019).

    Examples
    --------
    >>> from geosym.committee import CommitteeODE
    >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5)
    >>> ode
    CommitteeODE('erf(x/sqrt(2))', K=2, M=2, outputs=1, eta=0.5, eta_v=0.0, noise=0.0, weight_decay=0.0)
    >>> traj = ode.integrate(300.0, seed=0)
    >>> round(float(traj.eps_g[0]), 4), bool(traj.eps_g[-1] < 1e-4)
    (0.6935, True)
    """

    def __init__(
        self,
        activation: Any,
        K: int,
        M: int,
        outputs: int = 1,
        *,
        eta: float,
        eta_v: float = 0.0,
        noise: float = 0.0,
        weight_decay: float = 0.0,
        teacher_cov: Any = None,
        teacher_out: Any = None,
    ) -> None:
        self.K = _checks.positive_int(K, "K")
        self.M = _checks.positive_int(M, "M")
        # the overlap, covariance and index arrays are (K + M)^2-sized, a few of each
        require_memory(
            8.0 * 8 * (self.K + self.M) ** 2,
            f"CommitteeODE with K = {self.K}, M = {self.M}",
            "K or M",
        )
        rate: dict[str, Any] = {
            "minimum": 0.0,
            "maximum": _MAX_RATE,
            "why": "its square enters the ODEs",
        }
        self.eta = _checks.real(eta, "eta", strict=True, **rate)
        self.eta_v = _checks.real(eta_v, "eta_v", **rate)
        self.noise = _checks.real(noise, "noise", **rate)
        self.weight_decay = _checks.real(weight_decay, "weight_decay", **rate)
        self.T = self._check_teacher_cov(teacher_cov)
        self.teacher_out, L = self._check_teacher_out(teacher_out, outputs)
        self.L = L
        # the integral kernels are compiled on first use (seconds for some activations), so a
        # model too large for integrate's max_integrals is refused before that work
        self._provider: IntegralProvider | None
        if isinstance(activation, IntegralProvider):
            self._provider = activation
            self.activation = activation.act
        else:
            self._provider = None
            self.activation = _activation(activation)  # TypeError/ValueError for a bad spec
        K, M = self.K, self.M
        self.P = K + M
        self._iu = np.triu_indices(K)
        ar = np.arange(self.P)
        # index arrays for the batched integrals (broadcast shapes keep small factors small)
        self._i3_idx = (np.arange(K)[:, None, None], ar[None, :, None], ar[None, None, :])
        self._i2_idx = (ar[:, None], ar[None, :])
        self._sign = np.concatenate([np.ones(K), -np.ones(M)])
        # the symmetric I4 block is rebuilt from its triangle c <= e
        cu, eu = np.triu_indices(self.P)
        self._tri_lo = cu * self.P + eu
        self._tri_up = eu * self.P + cu
        self.nfev = 0
        self._fixed_points: dict[
            tuple, tuple[CommitteeFixedPoint, ...]
        ] = {}  # symmetric_fixed_points

    @property
    def integrals(self) -> IntegralProvider:
        """The batched Gaussian integrals of this activation (built on first use)."""
        if self._provider is None:
            self._provider = integral_provider(self.activation)
        return self._provider

    # -- validation --------------------------------------------------------------------------
    def _check_teacher_cov(self, teacher_cov: Any) -> np.ndarray:
        if teacher_cov is None:
            return np.eye(self.M)
        t = np.array(teacher_cov, dtype=float)
        if t.shape != (self.M, self.M):
            raise ValueError(
                f"teacher_cov must be an M x M = {self.M} x {self.M} matrix, got shape {t.shape}"
            )
        if not np.all(np.isfinite(t)) or not np.allclose(t, t.T, rtol=1e-12, atol=1e-12):
            raise ValueError("teacher_cov must be a finite symmetric matrix")
        if np.linalg.eigvalsh(t).min() <= 0:
            raise ValueError(
                "teacher_cov must be positive definite (smallest eigenvalue "
                f"{np.linalg.eigvalsh(t).min():.3g} <= 0)"
            )
        return 0.5 * (t + t.T)

    def _check_teacher_out(self, teacher_out: Any, outputs: Any) -> tuple[np.ndarray, int]:
        L = _checks.positive_int(outputs, "outputs")
        if teacher_out is None:
            if L != 1:
                raise ValueError(
                    f"teacher_out: give the teacher's M x L output vectors when outputs = {L} > 1"
                )
            return np.ones((self.M, 1)), 1
        v = np.array(teacher_out, dtype=float)
        if v.ndim == 1:
            v = v[:, None]
        if v.shape != (self.M, L):
            raise ValueError(
                f"teacher_out must be an M x L = {self.M} x {L} array, got shape {v.shape}"
            )
        if not np.all(np.isfinite(v)):
            raise ValueError("teacher_out must be finite")
        return v, L

    @property
    def trains_second_layer(self) -> bool:
        return self.eta_v > 0

    # -- state packing -----------------------------------------------------------------------
    def _pack(
        self,
        Q: np.ndarray,
        R: np.ndarray,
        V: np.ndarray,
        with_v: bool | None = None,
    ) -> np.ndarray:
        with_v = self.trains_second_layer if with_v is None else with_v
        parts = [Q[self._iu], R.ravel()]
        if with_v:
            parts.append(V.ravel())
        return np.concatenate(parts)

    def _unpack(
        self,
        y: np.ndarray,
        V_fixed: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        K, M = self.K, self.M
        nq = len(self._iu[0])
        Q = np.empty((K, K))
        Q[self._iu] = y[:nq]
        Q.T[self._iu] = y[:nq]
        R = y[nq : nq + K * M].reshape(K, M)
        V = y[nq + K * M :].reshape(K, self.L) if V_fixed is None else V_fixed
        return Q, R, V

    def _cov(self, Q: np.ndarray, R: np.ndarray) -> np.ndarray:
        return np.block([[Q, R], [R.T, self.T]])

    # -- right-hand side ---------------------------------------------------------------------
    def derivatives(
        self,
        Q: np.ndarray,
        R: np.ndarray,
        V: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r""":math:`(dQ/d\alpha, dR/d\alpha, dV/d\alpha)` at the given order parameters.

        Cost per call (the ODE solver calls this thousands of times):

        * :math:`I_3` by Stein's lemma, :math:`I_3(i,b,c)=C_{ib}X_{ic}+C_{bc}J_{ic}` with the
          2-D integrals :math:`X_{ic}=\langle g''(u_i)g(u_c)\rangle`,
          :math:`J_{ic}=\langle g'(u_i)g'(u_c)\rangle` on :math:`K\times P` index pairs, so
          :math:`\sum_c A_{ic}I_3(i,b,c) = C_{ib}\sum_cA_{ic}X_{ic} + \sum_c A_{ic}J_{ic}C_{cb}`
          is one matrix product (no :math:`K\times P\times P` block);
        * :math:`I_4(i,k,c,e)` only for pairs :math:`i\le k` and :math:`c\le e` (symmetries),
          by :meth:`IntegralProvider.i4_tri`;
        * the covariance buffer (with its constant teacher block :math:`T`) is reused.

        Examples
        --------
        >>> from geosym.committee import CommitteeODE
        >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5)
        >>> import numpy as np
        >>> dQ, dR, dV = ode.derivatives(0.5 * np.eye(2), np.zeros((2, 2)), np.ones((2, 1)))
        >>> dQ.shape, dR.shape, dV.shape
        ((2, 2), (2, 2), (2, 1))
        """
        dQ, dR, dV = self._derivs(Q[None], R[None], V[None])
        return dQ[0], dR[0], dV[0]

    def _derivs(
        self,
        Q: np.ndarray,
        R: np.ndarray,
        V: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Batched :meth:`derivatives`: leading axis B (states) on every argument."""
        K, P = self.K, self.P
        B = Q.shape[0]
        self.nfev += B
        C = np.empty((B, P, P))
        C[:, :K, :K] = Q
        C[:, :K, K:] = R
        C[:, K:, :K] = np.swapaxes(R, 1, 2)
        C[:, K:, K:] = self.T
        ints = self.integrals
        Vs = self.teacher_out
        A = np.concatenate([-(V @ np.swapaxes(V, 1, 2)), V @ Vs.T], axis=2)  # (B, K, P)
        d = np.diagonal(C, axis1=1, axis2=2)
        Cs = C[:, :K]
        split = ints.i3_split(d[:, :K, None], Cs, d[:, None, :])
        if split is not None:
            X, J = split
            H = Cs * np.sum(A * X, axis=2)[:, :, None] + (A * J) @ C
        else:  # pragma: no cover - every engine I3 is linear in c12, c23 (Stein)
            H = np.stack(
                [np.einsum("ic,ibc->ib", A[b], ints.I3(C[b], *self._i3_idx)) for b in range(B)]
            )
        eta = self.eta
        pa, pk = self._iu
        i4, _, _ = ints.i4_tri(C, pa, pk)  # (B, npairs, n_tri)
        S = np.empty((B, len(pa), P * P))
        S[:, :, self._tri_lo] = i4
        S[:, :, self._tri_up] = i4
        w = np.einsum("bpc,bpce,bpe->bp", A[:, pa], S.reshape(B, len(pa), P, P), A[:, pk])
        W = np.empty((B, K, K))
        W[:, pa, pk] = w
        W[:, pk, pa] = w
        HK = H[:, :, :K]
        dQ = eta * (HK + np.swapaxes(HK, 1, 2)) + eta**2 * W
        if self.noise > 0:
            j2 = ints.kernels["J2"].func(d[:, :K, None], C[:, :K, :K], d[:, None, :K])
            dQ += eta**2 * self.noise**2 * (V @ np.swapaxes(V, 1, 2)) * j2
        dR = eta * H[:, :, K:]
        kappa = self.weight_decay
        if kappa > 0:
            dQ -= 2 * kappa * Q
            dR = dR - kappa * R
        if self.trains_second_layer:
            i2 = ints.kernels["I2"].func(d[:, :K, None], Cs, d[:, None, :])
            dV = self.eta_v * (i2[:, :, K:] @ Vs - i2[:, :, :K] @ V) - kappa * V
        else:
            dV = np.zeros_like(V)
        return dQ, dR, dV

    def _rhs_batch(self, Y: np.ndarray, V_fixed: np.ndarray | None) -> np.ndarray:
        """Right-hand side for a batch of packed states ``Y`` (B, n)."""
        K, M, L = self.K, self.M, self.L
        B = Y.shape[0]
        nq = len(self._iu[0])
        Q = np.empty((B, K, K))
        Q[:, self._iu[0], self._iu[1]] = Y[:, :nq]
        Q[:, self._iu[1], self._iu[0]] = Y[:, :nq]
        R = Y[:, nq : nq + K * M].reshape(B, K, M)
        if V_fixed is None:
            V = Y[:, nq + K * M :].reshape(B, K, L)
        else:
            V = np.broadcast_to(V_fixed, (B, K, L))
        dQ, dR, dV = self._derivs(Q, R, V)
        parts = [dQ[:, self._iu[0], self._iu[1]], dR.reshape(B, -1)]
        if V_fixed is None:
            parts.append(dV.reshape(B, -1))
        return np.concatenate(parts, axis=1)

    def _jacobian(self, y: np.ndarray, V_fixed: np.ndarray | None) -> np.ndarray:
        """Forward-difference Jacobian from one batched right-hand-side call (n + 1 states).

        Only the implicit part of LSODA/BDF uses it (Newton iterations); its accuracy affects
        the cost of a step, not the accuracy of the solution."""
        h = 1e-7 * np.maximum(1.0, np.abs(y))
        Y = np.vstack([y[None], y[None] + np.diag(h)])
        F = self._rhs_batch(Y, V_fixed)
        return ((F[1:] - F[0]) / h[:, None]).T

    def _rhs_qr(self, y: np.ndarray, V: np.ndarray) -> np.ndarray:
        Q, R, _ = self._unpack(y, V)
        dQ, dR, _ = self.derivatives(Q, R, V)
        return np.concatenate([dQ[self._iu], dR.ravel()])

    def eps_g(self, Q: np.ndarray, R: np.ndarray, V: np.ndarray) -> np.ndarray:
        r"""Generalisation error :math:`\epsilon_g` (noiseless teacher); batched over leading axes
        of ``Q``, ``R``, ``V``.

        Examples
        --------
        >>> from geosym.committee import CommitteeODE
        >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5)
        >>> import numpy as np
        >>> round(float(ode.eps_g(0.5 * np.eye(2), np.zeros((2, 2)), np.ones((2, 1)))), 6)
        0.54968
        """
        Q, R, V = np.asarray(Q, float), np.asarray(R, float), np.asarray(V, float)
        lead = Q.shape[:-2]
        T = np.broadcast_to(self.T, lead + self.T.shape)
        C = np.concatenate(
            [np.concatenate([Q, R], axis=-1), np.concatenate([np.swapaxes(R, -1, -2), T], axis=-1)],
            axis=-2,
        )
        Z = (
            np.concatenate(
                [V, np.broadcast_to(self.teacher_out, lead + self.teacher_out.shape)], axis=-2
            )
            * self._sign[:, None]
        )
        G = Z @ np.swapaxes(Z, -1, -2)
        a, b = self._i2_idx
        # the fast kernel (clipped arcsin): a trajectory's C may violate PSD by rounding
        # (|C_ab| a few 1e-7 above sqrt(C_aa C_bb) near Q = R = T), which the engine's
        # validated kernel rejects
        i2 = self.integrals.fast_kernels["I2"](C[..., a, a], C[..., a, b], C[..., b, b])
        return 0.5 * np.sum(G * i2, axis=(-1, -2))

    # -- initial conditions ------------------------------------------------------------------
    def _default_V(self) -> np.ndarray:
        if self.K == self.M and not self.trains_second_layer:
            return self.teacher_out.copy()
        if not self.trains_second_layer:
            return np.ones((self.K, self.L))
        raise ValueError(
            "init: give V (K x L) when the second layer is trained (eta_v > 0) or when K != M"
        )

    def _initial_state(self, init: Any, seed: Any, N: int) -> tuple[np.ndarray, ...]:
        K, M, L = self.K, self.M, self.L
        if init is None:
            rng = np.random.default_rng(seed)
            N = _checks.positive_int(N, "N")
            if N < M:
                raise ValueError(
                    f"N must be >= M = {M} for a random initialisation (the M "
                    f"teacher vectors must be independent in N dimensions), got {N}"
                )
            Q, R = random_overlaps(K, M, N, self.T, rng)
            if self.K == self.M and not self.trains_second_layer:
                V = self.teacher_out.copy()
            elif not self.trains_second_layer:
                V = np.ones((K, L))
            else:
                V = rng.standard_normal((K, L)) / np.sqrt(K)
            return Q, R, V
        if not isinstance(init, dict) or not {"Q", "R"} <= set(init):
            raise ValueError('init must be a dict {"Q": K x K, "R": K x M[, "V": K x L]}')
        Q = np.array(init["Q"], dtype=float)
        R = np.array(init["R"], dtype=float)
        V = np.array(init["V"], dtype=float) if init.get("V") is not None else self._default_V()
        if V.ndim == 1:
            V = V[:, None]
        for name, arr, shape in (("Q", Q, (K, K)), ("R", R, (K, M)), ("V", V, (K, L))):
            if arr.shape != shape:
                raise ValueError(f'init["{name}"] must have shape {shape}, got {arr.shape}')
            if not np.all(np.isfinite(arr)):
                raise ValueError(f'init["{name}"] must be finite')
        if not np.allclose(Q, Q.T, atol=1e-10):
            raise ValueError('init["Q"] must be symmetric')
        C = self._cov(0.5 * (Q + Q.T), R)
        if np.linalg.eigvalsh(C).min() < -1e-9 * max(1.0, np.abs(C).max()):
            raise ValueError(
                "init: the overlap matrix [[Q, R], [R^T, T]] must be positive "
                "semi-definite (Cauchy-Schwarz violated)"
            )
        return 0.5 * (Q + Q.T), R, V

    def _i4_cost(self) -> tuple[float, str]:
        """Closed-form-equivalent cost of the I4 integrals of one right-hand side, and a note.

        A closed form counts 1; an m-term erf mixture m^4 (its closed forms); a numeric I4 one
        unit per Gauss--Hermite point: n^r for a tuple (i, k, c, e) with r distinct fields
        (measured: a point costs 0.3 to 0.7 of an erf closed form)."""
        K, P = self.K, self.P
        prov = self.integrals
        if not prov.methods["I4"].startswith("Gauss-Hermite"):
            cost = getattr(prov, "i4_cost", 1)  # erf mixture: m^4 closed forms; ReLU: 300
            n_i4 = K * (K + 1) // 2 * (P * (P + 1) // 2)
            return float(n_i4 * cost), (
                f" (each costing about {cost} closed forms: {prov.methods['I4'][:40]}...)"
                if cost > 1
                else ""
            )
        n = float(prov.n4)
        # canonical tuples i <= k (students), c <= e (all P fields), by distinct count r
        same = n + 2 * (P - 1) * n**2 + (P - 1) * (P - 2) / 2 * n**3  # i == k
        pair = 3 * n**2 + 3 * (P - 2) * n**3 + (P - 2) * (P - 3) / 2 * n**4  # i < k
        return K * same + K * (K - 1) / 2 * pair, (
            f" by Gauss-Hermite quadrature on up to n4^4 = {n**4:.3g} points each "
            f"(n4 = {prov.n4}; no closed form for this activation)"
        )

    def _check_size(self, max_integrals: int) -> None:
        """Refuse a model whose right-hand side is too large, before computing anything."""
        K, P = self.K, self.P
        n_i4 = K * (K + 1) // 2 * (P * (P + 1) // 2)
        if n_i4 > max_integrals:  # each I4 costs at least one closed form: no need to build them
            cost, per, numeric = float(n_i4), "", False
        else:
            cost, per = self._i4_cost()
            numeric = self.integrals.methods["I4"].startswith("Gauss-Hermite")
        if cost > max_integrals:
            raise ValueError(
                f"CommitteeODE with K = {K}, M = {self.M} needs {n_i4:.3g} four-dimensional "
                f"Gaussian integrals I4{per} per right-hand side, {cost:.3g} closed-form "
                f"equivalents (an integration evaluates hundreds of right-hand sides), more "
                f"than max_integrals = {max_integrals:.3g}: reduce K or M "
                + (
                    "(K = M = 3 needs 4.9e5 with n4 = 12), or n4 of integral_provider, "
                    if numeric
                    else "(K = M = 30 needs 8.6e5 with a closed-form I4), "
                )
                + "raise max_integrals for a deliberately long run, "
                "or simulate SGD directly with geosym.committee.simulate"
            )
        # measured peak: about 140 bytes per I4 entry (erf, K = M = 50: 0.9 GB for 6.4e6)
        require_memory(160.0 * n_i4, f"CommitteeODE with K = {K}, M = {self.M}", "K or M")

    # -- integration -------------------------------------------------------------------------
    def integrate(
        self,
        alpha_max: float,
        init: Any = None,
        seed: Any = None,
        rtol: float = 1e-9,
        alphas: Any = None,
        *,
        atol: float | None = None,
        N: int = 1000,
        method: str = "LSODA",
        max_integrals: int = _MAX_I4,
    ) -> Trajectory:
        r"""Integrate the ODEs from :math:`\alpha=0` to ``alpha_max``.

        Parameters
        ----------
        alpha_max
            Final time :math:`\alpha`.
        init
            ``{"Q": K x K, "R": K x M, "V": K x L}``; ``V`` defaults to the teacher's when
            K = M and the second layer is fixed.  None: random initialisation at finite ``N``
            (:func:`random_overlaps`, student second layer :math:`\mathcal N(0,1/K)` if trained).
        seed
            Seed of the random initialisation.
        rtol, atol
            Tolerances of the integrator; ``atol`` defaults to ``1e-3*rtol``.
        method
            ``"LSODA"`` (default: variable-order Adams while the flow is non-stiff, BDF once
            the trajectory sits near a stable fixed point, where explicit methods are limited
            by stability, not accuracy; ODEPACK's LSODA via :func:`scipy.integrate.odeint`),
            or any ``solve_ivp`` method (``"DOP853"``, ``"BDF"``, ``"Radau"`` ...).  The
            implicit methods get a finite-difference Jacobian from one batched right-hand-side
            call; it is reused while the state has moved by less than
            10 % (it only enters the Newton iteration matrix, not the error control), and
            recomputed on any repeated request at the same time (a failed Newton iteration).
        alphas
            Output times (default :func:`default_alphas`).
        N
            Input dimension of the random initialisation.
        max_integrals
            Refuse (``ValueError``, before any work) when one right-hand side needs more
            four-dimensional integrals :math:`I_4` than this:
            :math:`\frac{K(K+1)}2\cdot\frac{P(P+1)}2` with :math:`P=K+M`, and an integration
            needs hundreds of right-hand sides.  Integrals are counted in closed-form
            evaluations: an :math:`m`-term erf mixture (tanh) as :math:`m^4`, a Gauss--Hermite
            :math:`I_4` (activations without a closed form: ReLU, GELU, softplus ...) as its
            :math:`n_4^r` points for a tuple of :math:`r` distinct fields.  The default (2e6:
            :math:`K=M=30` passes with a closed-form :math:`I_4`, about 0.3 s per right-hand
            side on one core; :math:`K=M=3` with a numeric one, about 5 s for
            ``integrate(1)``) keeps a run within minutes; raise it for a deliberately long run.

        Raises
        ------
        ValueError
            Bad arguments, or a model too large for ``max_integrals``.
        geosym.ResourceError
            The integrals of one right-hand side would not fit in memory.
        NumericalError
            If the trajectory leaves the valid region (non-finite values, overflow, or
            :math:`C=[[Q,R],[R^\top,T]]` not positive semi-definite); the message gives
            :math:`\alpha`.

        Examples
        --------
        >>> from geosym.committee import CommitteeODE
        >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5)
        >>> traj = ode.integrate(50.0, seed=0)
        >>> traj.source, traj.K, traj.M, traj.L
        ('ode', 2, 2, 1)
        """
        alpha_max = float(alpha_max)
        if not np.isfinite(alpha_max) or alpha_max <= 0:
            raise ValueError(f"alpha_max must be a finite number > 0, got {alpha_max!r}")
        if not (_RTOL_MIN <= rtol < 1):
            raise ValueError(
                f"rtol must lie in [{_RTOL_MIN:.3g}, 1) (100 x machine epsilon "
                f"and above), got {rtol!r}"
            )
        self._check_size(max_integrals)
        atol = 1e-3 * rtol if atol is None else float(atol)
        if not (np.isfinite(atol) and atol > 0):
            raise ValueError(f"atol must be a finite number > 0, got {atol!r}")
        Q0, R0, V0 = self._initial_state(init, seed, N)
        if alphas is None:
            grid = default_alphas(alpha_max)
        else:
            grid = np.unique(np.asarray(alphas, dtype=float))
            if grid.size == 0 or grid[0] < 0 or grid[-1] > alpha_max or grid[-1] == 0:
                raise ValueError("alphas must lie in [0, alpha_max] and include a time > 0")
            if grid[0] > 0:
                grid = np.concatenate([[0.0], grid])
        train_v = self.trains_second_layer
        V_fixed = None if train_v else V0
        y0 = self._pack(Q0, R0, V0)
        nfev0 = self.nfev
        # a run whose pace projects to more than _MAX_PROJECTED right-hand sides has stalled
        # on a stiff or exploding flow (eta = 1e6: steps of 1e-9 while |Q| creeps towards the
        # overflow bound); judged after 1000 evaluations, linear in alpha (pessimistic early)
        calls, reached = [0], [0.0]

        def spend(n: int, t: float, size: float) -> None:
            calls[0] += n
            reached[0] = max(reached[0], t)
            if calls[0] >= 1000 and calls[0] * grid[-1] > _MAX_PROJECTED * max(reached[0], 1e-300):
                raise _LeftValidRegion(
                    t,
                    f"the integrator stalled: {calls[0]} right-hand-side evaluations "
                    f"(Jacobians included) reached only alpha = {reached[0]:.3g} of "
                    f"{grid[-1]:g}, so the flow is stiff or blowing up (largest order "
                    f"parameter {size:.3g})",
                )

        def rhs(t: float, y: np.ndarray) -> np.ndarray:
            size = np.abs(y).max()
            if not size <= _OVERFLOW:  # one reduction catches both (nan compares False)
                if not np.isfinite(size):
                    raise _LeftValidRegion(t, "non-finite order parameters")
                raise _LeftValidRegion(t, f"overflow (|order parameter| > {_OVERFLOW:g})")
            spend(1, t, size)
            Q, R, V = self._unpack(y, V_fixed)
            dQ, dR, dV = self.derivatives(Q, R, V)
            out = np.concatenate([dQ[self._iu], dR.ravel()] + ([dV.ravel()] if train_v else []))
            if not np.all(np.isfinite(out)):
                raise _LeftValidRegion(
                    t,
                    "the Gaussian integrals became non-finite "
                    "(covariance no longer positive semi-definite)",
                )
            return out

        jcache: dict[str, Any] = {"y": None, "t": None, "J": None, "n": 0}

        def jac(t: float, y: np.ndarray) -> np.ndarray:
            old_y = jcache["y"]
            if (
                old_y is not None
                and t != jcache["t"]
                and np.max(np.abs(y - old_y) / np.maximum(1.0, np.abs(y))) < 0.1
            ):
                jcache["t"] = t
                return jcache["J"]
            spend(y.size + 1, t, float(np.abs(y).max()))  # one batched call of y.size states
            jcache.update(y=y.copy(), t=t, J=self._jacobian(y, V_fixed))
            jcache["n"] += 1
            return jcache["J"]

        try:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                t_out, y_out = _solve(rhs, jac, y0, grid, method, rtol, atol)
        except _LeftValidRegion as exc:
            if exc.alpha == 0 and "Gaussian integrals" in exc.why:
                hint = (
                    "this happens at the initial state, so it is the activation, not eta: "
                    "e.g. step or sign, whose derivative is a Dirac delta, give online SGD "
                    "no finite gradient; use a smooth activation"
                )
            else:
                hint = f"reduce eta (= {self.eta}) or alpha_max"
            raise NumericalError(
                f"the trajectory left the valid region at alpha = {exc.alpha:.6g}: {exc.why}; "
                f"{hint}"
            ) from None
        n = t_out.size
        Qs = np.empty((n, self.K, self.K))
        Rs = np.empty((n, self.K, self.M))
        Vs = np.empty((n, self.K, self.L))
        for j in range(n):  # loop over stored output times only
            Qs[j], Rs[j], Vs[j] = self._unpack(y_out[:, j], V_fixed)
        C = np.concatenate(
            [
                np.concatenate([Qs, Rs], -1),
                np.concatenate(
                    [np.swapaxes(Rs, 1, 2), np.broadcast_to(self.T, (n, self.M, self.M))], -1
                ),
            ],
            -2,
        )
        mins = np.linalg.eigvalsh(C)[:, 0]
        bad = mins < -1e-5 * np.maximum(1.0, np.abs(C).max(axis=(1, 2)))
        if bad.any():
            a_bad = t_out[int(np.argmax(bad))]
            raise NumericalError(
                f"the trajectory left the valid region at alpha = {a_bad:.6g}: the overlap "
                f"matrix [[Q, R], [R^T, T]] is not positive semi-definite (smallest eigenvalue "
                f"{mins[bad][0]:.3g})"
            )
        eps = self.eps_g(Qs, Rs, Vs)
        meta = {
            "activation": str(getattr(self.activation, "name", self.activation)),
            "K": self.K,
            "M": self.M,
            "L": self.L,
            "eta": self.eta,
            "eta_v": self.eta_v,
            "noise": self.noise,
            "weight_decay": self.weight_decay,
            "rtol": rtol,
            "atol": atol,
            "nfev": int(self.nfev - nfev0),
            "njev": int(jcache["n"]),
            "method": method,
            "integrals": dict(self.integrals.methods),
        }
        return Trajectory(
            alpha=t_out,
            Q=Qs,
            R=Rs,
            V=Vs,
            eps_g=eps,
            T=self.T.copy(),
            teacher_out=self.teacher_out.copy(),
            source="ode",
            meta=meta,
            model=self,
        )

    # -- symmetric fixed points --------------------------------------------------------------
    def _symmetric_system(
        self,
        guess: dict[str, Any] | None,
    ) -> tuple[Any, Any, Any, Any, np.ndarray]:
        """(build, residual, jacobian, residual_batch, x0) of the symmetric ansatz.

        Unknowns x = (q_d[, q_o], r_1..r_M[, v]); ``residual_batch`` takes rows of unknowns."""
        self._check_size(_MAX_I4)
        K, M, L = self.K, self.M, self.L
        train_v = self.trains_second_layer
        Vf = None
        if not train_v:
            Vf = (
                self._default_V()
                if guess is None or guess.get("V") is None
                else np.array(guess["V"], float).reshape(K, L)
            )
            if not np.allclose(Vf, Vf[0]):
                raise ValueError(
                    "symmetric_fixed_point: the fixed student second layer must have identical rows"
                )
        q0 = 1.0 / (2 * K - 1)
        r0 = np.full(M, 1.0 / np.sqrt(K * (2 * K - 1)))
        x0 = [q0] + ([q0] if K > 1 else []) + list(r0)
        if train_v:
            x0 += list(self.teacher_out.mean(axis=0) * M / K)
        off = 1 if K > 1 else 0

        def build(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Q, R, V of unknowns x; with a leading batch axis when x is 2-D."""
            X = np.atleast_2d(x)
            qd = X[:, 0, None, None]
            qo = X[:, 1, None, None] if K > 1 else 0.0
            Q = qo + (qd - qo) * np.eye(K)
            R = np.repeat(X[:, None, 1 + off : 1 + off + M], K, axis=1)
            V = (
                np.repeat(X[:, None, 1 + off + M :], K, axis=1)
                if train_v
                else np.broadcast_to(Vf, (X.shape[0], K, L))  # type: ignore[arg-type]  # set above
            )
            return (Q, R, V) if np.ndim(x) == 2 else (Q[0], R[0], V[0])

        def residual_batch(X: np.ndarray, eta: float) -> np.ndarray:
            Q, R, V = build(X)
            saved = self.eta
            self.eta = eta
            try:
                dQ, dR, dV = self._derivs(Q, R, V)
            finally:
                self.eta = saved
            parts = [dQ[:, 0, :2] if K > 1 else dQ[:, 0, :1], dR[:, 0]]
            if train_v:
                parts.append(dV[:, 0] * eta / self.eta_v)
            return np.concatenate(parts, axis=1) / eta

        def residual(x: np.ndarray, eta: float) -> np.ndarray:
            return residual_batch(x[None], eta)[0]

        def jacobian(x: np.ndarray, eta: float) -> np.ndarray:
            # central differences from one batched right-hand-side call (2n states)
            h = 1e-7 * np.maximum(1.0, np.abs(x))
            E = np.diag(h)
            F = residual_batch(np.vstack([x + E, x - E]), eta)
            n = x.size
            return ((F[:n] - F[n:]) / (2 * h[:, None])).T

        return build, residual, jacobian, residual_batch, np.array(x0, dtype=float)

    def _fixed_point_at(self, x: np.ndarray, build: Any) -> CommitteeFixedPoint:
        """The CommitteeFixedPoint of ansatz unknowns ``x``; raises if the full flow does not vanish."""
        Q, R, V = build(x)
        dQ, dR, dV = self.derivatives(Q, R, V)
        res = float(max(np.abs(dQ).max(), np.abs(dR).max(), np.abs(dV).max()))
        if res > 1e-8 * max(1.0, self.eta):
            raise ConvergenceError(
                f"symmetric_fixed_point: residual {res:.3g} of the full "
                "flow: the symmetric ansatz does not hold for this model"
            )
        eps = float(self.eps_g(Q, R, V))
        return CommitteeFixedPoint(Q=Q, R=R, V=V, eps_g=eps, eta=self.eta, residual=res, model=self)

    def symmetric_fixed_point(self, guess: dict[str, Any] | None = None) -> CommitteeFixedPoint:
        r"""Solve for the symmetric (unspecialised) fixed point at this :math:`\eta` that
        continues the small-:math:`\eta` one.

        Ansatz: all student units identical, :math:`Q_{ii}=q_d`, :math:`Q_{i\ne k}=q_o`,
        :math:`R_{in}=r_n`, :math:`\mathbf v_i=\mathbf v` (trained) or the fixed second layer
        (whose rows must then be equal).  The three (or more) independent components of the
        full right-hand side are solved with ``scipy.optimize.root`` (hybrid Powell), by
        continuation in :math:`\eta` from :math:`\eta\to0`, whose erf limit is
        :math:`q=1/(2K-1)`, :math:`r=1/\sqrt{K(2K-1)}` (Saad & Solla 1995, the symmetric phase).
        The full residual is checked afterwards.

        The ansatz can have several solutions at finite :math:`\eta` (erf, K = M = 2,
        :math:`\eta=0.1`: this branch, :math:`q_d=q_o`, and a second one with
        :math:`q_d>q_o` and a lower escape rate). :meth:`symmetric_fixed_points` returns all
        of them; :meth:`plateau_fixed_point` the one a trajectory's plateau is near.
        """
        build, residual, jacobian, _, x = self._symmetric_system(guess)
        etas = np.geomspace(min(1e-4, self.eta), self.eta, 12)
        with np.errstate(invalid="ignore", divide="ignore"):
            for e in etas:
                sol = root(residual, x, args=(e,), method="hybr", jac=jacobian, tol=1e-12)
                ok = np.all(np.isfinite(sol.x)) and np.abs(residual(sol.x, e)).max() < 1e-10
                if not ok:
                    raise ConvergenceError(
                        f"symmetric_fixed_point: root finding failed at eta = {e:.4g} "
                        f"({sol.message})"
                    )
                x = sol.x
        return self._fixed_point_at(x, build)

    def _physical(self, Q: np.ndarray, R: np.ndarray, tol: float = 1e-9) -> bool:
        """[[Q, R], [R^T, T]] positive semi-definite (to ``tol`` relative) with Q_ii > 0."""
        C = self._cov(Q, R)
        scale = max(1.0, float(np.abs(C).max()))
        return bool(np.all(np.diag(Q) > 0) and np.linalg.eigvalsh(C).min() >= -tol * scale)

    def symmetric_fixed_points(
        self, guess: dict[str, Any] | None = None, *, starts: int = 24, seed: int = 0
    ) -> tuple[CommitteeFixedPoint, ...]:
        r"""All solutions of the symmetric ansatz in the physical region, lowest
        :math:`\epsilon_g^*` first.

        The ansatz of :meth:`symmetric_fixed_point` (identical student units) can have more
        than one solution at finite :math:`\eta`: for erf(x/√2), K = M = 2, :math:`\eta=0.1`
        there are two, :math:`q_d=q_o` (the continuation of the small-:math:`\eta` point,
        :math:`\epsilon_g^*=0.0120858`) and :math:`q_d=0.338824`, :math:`q_o=0.332031`
        (:math:`\epsilon_g^*=0.0120852`); their escape rates differ by 1.4 %.  Which one sets a
        plateau depends on the trajectory: :meth:`plateau_fixed_point`.

        Method: hybrid-Powell root finding of the ansatz equations from the continuation
        solution and from ``starts`` random physical starting points (fixed ``seed``;
        :math:`q_d\in(0.02, 1.5)\bar T`, :math:`q_o/q_d\in(-1/(K-1), 1)`,
        :math:`r_n/\sqrt{q_dT_{nn}}\in(-1, 1)`, kept when
        :math:`C=[[Q,R],[R^\top,T]]\succeq0`).  Solutions are kept when the full flow vanishes
        (max-norm :math:`\le10^{-8}\max(1,\eta)`), :math:`C\succeq0` to :math:`10^{-9}`
        relative and :math:`Q_{ii}>0`; two count as the same when their unknowns agree to
        :math:`10^{-7}`.  A multi-start search cannot prove that no solution was missed; more
        ``starts`` make that less likely.

        Each result is a :class:`CommitteeFixedPoint` with :meth:`~CommitteeFixedPoint.escape_rate`,
        :meth:`~CommitteeFixedPoint.eigenvalues` and :attr:`~CommitteeFixedPoint.stability`.

        Examples
        --------
        >>> from geosym.committee import CommitteeODE
        >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.1)
        >>> low, cont = ode.symmetric_fixed_points()
        >>> round(low.eps_g, 7), round(cont.eps_g, 7)
        (0.0120852, 0.0120858)
        >>> round(low.escape_rate(), 7), low.stability, low.unstable_directions
        (0.0065316, 'saddle', 1)
        >>> round(cont.escape_rate(), 7), cont.unstable_directions
        (0.0066205, 3)
        """
        starts = _checks.positive_int(starts, "starts") if starts else 0
        key = (
            starts,
            int(seed),
            self.eta,
            self.eta_v,
            self.noise,
            self.weight_decay,
            self.T.tobytes(),
            self.teacher_out.tobytes(),
        )
        if guess is None and key in self._fixed_points:
            return self._fixed_points[key]
        build, _, _, residual_batch, x_cont = self._symmetric_system(guess)
        found: list[np.ndarray] = []
        try:
            found.append(self._unknowns(self.symmetric_fixed_point(guess)))
        except ConvergenceError:
            pass
        found.extend(self._newton_starts(build, residual_batch, x_cont, starts, seed))
        unique: list[np.ndarray] = []
        for x in found:
            if any(np.max(np.abs(x - u)) < 1e-7 for u in unique):
                continue
            Q, R, _ = build(x)
            if self._physical(Q, R):
                unique.append(x)
        points = []
        for x in unique:
            try:
                points.append(self._fixed_point_at(x, build))
            except ConvergenceError:
                continue
        if not points:
            raise ConvergenceError(
                "symmetric_fixed_points: no solution of the symmetric ansatz "
                f"in the physical region from {starts} starts"
            )
        result = tuple(sorted(points, key=lambda p: p.eps_g))
        if guess is None:
            self._fixed_points[key] = result
        return result

    def _physical_batch(self, Q: np.ndarray, R: np.ndarray, tol: float) -> np.ndarray:
        """Batched :meth:`_physical`: leading axis B."""
        B = Q.shape[0]
        C = np.empty((B, self.P, self.P))
        C[:, : self.K, : self.K] = Q
        C[:, : self.K, self.K :] = R
        C[:, self.K :, : self.K] = np.swapaxes(R, 1, 2)
        C[:, self.K :, self.K :] = self.T
        scale = np.maximum(1.0, np.abs(C).max(axis=(1, 2)))
        ok = np.all(np.diagonal(Q, axis1=1, axis2=2) > 0, axis=1)
        return ok & (np.linalg.eigvalsh(C)[:, 0] >= -tol * scale)

    def _newton_starts(
        self, build: Any, residual_batch: Any, x_template: np.ndarray, starts: int, seed: int
    ) -> list[np.ndarray]:
        """Damped Newton on the symmetric-ansatz equations from ``starts`` random physical
        points, all starts advanced together (one batched right-hand-side call per iteration
        for the residuals, one for the Jacobians, one for the line search)."""
        if starts == 0:
            return []
        K, M, eta = self.K, self.M, self.eta
        n = x_template.size
        off = 1 if K > 1 else 0
        rng = np.random.default_rng(seed)
        tbar = float(np.mean(np.diag(self.T)))
        draws = 8 * starts
        X = np.tile(x_template, (draws, 1))
        qd = rng.uniform(0.02, 1.5, draws) * tbar
        X[:, 0] = qd
        if K > 1:
            X[:, 1] = qd * rng.uniform(-1.0 / (K - 1), 1.0, draws)
        X[:, 1 + off : 1 + off + M] = rng.uniform(-1, 1, (draws, M)) * np.sqrt(
            qd[:, None] * np.diag(self.T)
        )
        if self.trains_second_layer:
            X[:, 1 + off + M :] *= rng.uniform(0.2, 2.0, (draws, 1))
        Q, R, _ = build(X)
        X = X[self._physical_batch(Q, R, 0.0)][:starts]

        def residuals(Y: np.ndarray) -> np.ndarray:
            """Residual rows; inf where Y is outside the physical region (or not finite)."""
            out = np.full(Y.shape, np.inf)
            good = np.all(np.isfinite(Y), axis=1) & (np.abs(Y).max(axis=1, initial=0) < 1e3)
            if good.any():
                Q, R, _ = build(Y[good])
                good[good] = self._physical_batch(Q, R, 1e-6)
            if good.any():
                try:
                    out[good] = residual_batch(Y[good], eta)
                except NumericalError:  # rare: fall back to one state at a time
                    for i in np.flatnonzero(good):
                        try:
                            out[i] = residual_batch(Y[i : i + 1], eta)[0]
                        except NumericalError:
                            pass
            return out

        F = residuals(X)
        done: list[np.ndarray] = []
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for _ in range(60):
                norm = np.abs(F).max(axis=1)
                conv = norm < 1e-12
                done.extend(X[conv])
                live = np.isfinite(norm) & ~conv
                X, F, norm = X[live], F[live], norm[live]
                if not len(X):
                    break
                S = len(X)
                h = 1e-7 * np.maximum(1.0, np.abs(X))  # (S, n); forward differences
                Fd = residuals((X[:, None] + h[:, :, None] * np.eye(n)).reshape(-1, n))
                J = np.swapaxes((Fd.reshape(S, n, n) - F[:, None]) / h[:, :, None], 1, 2)
                ok = np.all(np.isfinite(J), axis=(1, 2))
                J[~ok] = np.eye(n)
                step = -np.einsum("sij,sj->si", np.linalg.pinv(J), F)
                # backtracking, vectorised over the starts that still need a shorter step
                newX, newF = X.copy(), np.full_like(F, np.inf)
                todo = ok.copy()
                for t in 0.5 ** np.arange(8):
                    if not todo.any():
                        break
                    trial = X[todo] + t * step[todo]
                    Ft = residuals(trial)
                    good = np.abs(Ft).max(axis=1) < (1 - 1e-4 * t) * norm[todo]
                    idx = np.flatnonzero(todo)[good]
                    newX[idx], newF[idx] = trial[good], Ft[good]
                    todo[idx] = False
                X, F = newX, newF  # starts without a decrease get F = inf and are dropped
        return done

    def _unknowns(self, fp: CommitteeFixedPoint) -> np.ndarray:
        """Ansatz unknowns (q_d[, q_o], r[, v]) of a symmetric fixed point."""
        parts = [fp.Q[0, :2] if self.K > 1 else fp.Q[0, :1], fp.R[0]]
        if self.trains_second_layer:
            parts.append(fp.V[0])
        return np.concatenate(parts)

    def plateau_fixed_point(
        self, trajectory: Trajectory, fixed_points: tuple[CommitteeFixedPoint, ...] | None = None
    ) -> CommitteeFixedPoint:
        r"""The symmetric fixed point that ``trajectory``'s plateau is near.

        Among ``fixed_points`` (default :meth:`symmetric_fixed_points`), the one with the
        smallest distance of closest approach (:meth:`CommitteeFixedPoint.distance` over the stored
        states).  Use its :meth:`~CommitteeFixedPoint.escape_rate` for the plateau-length relation
        :math:`\alpha_{\rm plateau}\approx\ln(1/r_0)/\lambda_{\max}`.  When two points are
        close (erf, K = M = 2, :math:`\eta=0.1`: 0.008 apart) a trajectory can creep along the
        slow direction joining them without settling at either; compare
        ``fp.distance(trajectory).min()`` of each to see how decisive the choice is.

        Examples
        --------
        >>> import numpy as np
        >>> from geosym.committee import CommitteeODE
        >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5)
        >>> tr = ode.integrate(800, init={"Q": np.diag([0.3, 0.4]),
        ...                               "R": 1e-7 * np.array([[0.6, 0.7], [0.1, 0.5]])})
        >>> fp = ode.plateau_fixed_point(tr)
        >>> bool(fp.Q[0, 0] > fp.Q[0, 1]), fp.stability
        (True, 'saddle')
        """
        fps = self.symmetric_fixed_points() if fixed_points is None else tuple(fixed_points)
        if not fps:
            raise ValueError("plateau_fixed_point: no fixed points given")
        closest = [float(np.min(fp.distance(trajectory))) for fp in fps]
        return fps[int(np.argmin(closest))]

    def latex(self) -> str:
        """LaTeX of the ODE system with this model's integrals (see :mod:`.latex`).

        Examples
        --------
        >>> from geosym.committee import CommitteeODE
        >>> ode = CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5)
        >>> ode.latex().splitlines()[0]
        '% geosym.committee: order-parameter ODEs (N -> infinity), alpha = examples / N'
        """
        from .latex import ode_latex

        return ode_latex(self)

    def __repr__(self) -> str:
        return (
            f"CommitteeODE({getattr(self.activation, 'name', self.activation)!r}, "
            f"K={self.K}, M={self.M}, outputs={self.L}, eta={self.eta}, eta_v={self.eta_v}, "
            f"noise={self.noise}, weight_decay={self.weight_decay})"
        )

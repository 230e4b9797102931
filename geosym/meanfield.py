r"""Mean-field signal propagation in wide random networks, for any activation.

Model (Poole et al. 2016; Schoenholz et al. 2017; Karakida, Akaho & Amari 2019, arXiv:1806.01316):
:math:`u^l = W^l h^{l-1} + b^l`, :math:`W_{ij}\sim\mathcal N(0,\sigma_w^2/M_{l-1})`,
:math:`b_i\sim\mathcal N(0,\sigma_b^2)`, :math:`h^l=\phi(u^l)`.  In the wide limit

.. math::

    q_1^l = \sigma_w^2\hat q_1^{l-1}+\sigma_b^2,\quad q_2^l = \sigma_w^2\hat q_2^{l-1}+\sigma_b^2,
    \quad \hat q_1^l = \mathbb E[\phi(u)^2],\quad \hat q_2^l = \mathbb E[\phi(u_1)\phi(u_2)],

with :math:`u\sim\mathcal N(0,q_1^l)` and :math:`(u_1,u_2)` centred with variances :math:`q_1^l`
and covariance :math:`q_2^l`; backwards (sums over units, so no width ratios)

.. math::

    \tilde q_1^l = \sigma_w^2\tilde q_1^{l+1}\,\mathbb E[\phi'(u)^2],\qquad
    \tilde q_2^l = \sigma_w^2\tilde q_2^{l+1}\,\mathbb E[\phi'(u_1)\phi'(u_2)],\qquad
    \tilde q_1^L=\tilde q_2^L=1 .

The four kernels come from :func:`geosym.expect`, closed form where a rule applies and certified
quadrature otherwise; every map accepts NumPy arrays (vectorised) or SymPy symbols (closed forms).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from scipy import optimize

from . import _checks
from ._memory import require_memory
from ._plot import figure
from .activations import Activation, X
from .activations import activation as _activation
from .errors import ConvergenceError, IntegrationError, NumericalError
from .gaussian import Expectation, evaluate_many, expect
from .latex import latex as paper_latex
from .results import Result

__all__ = [
    "MeanField",
    "Kernels",
    "kernels",
    "MeanFieldFixedPoint",
    "FixedPoint",
    "DepthScales",
    "PhaseDiagram",
    "ForwardResult",
    "BackwardResult",
    "Q",
    "Q1",
    "Q2",
    "SIGMA_W2",
    "SIGMA_B2",
]

_PLAIN_ITERATIONS = 30
_Q_UNBOUNDED = 1e8
_BRACKET_STEPS = 100  # phase boundary: bracket steps per sigma_b2 row (bisection needs ~45)
_PHASE_CHUNK = 50_000  # grid points per chunk of a phase diagram
_PHASE_SECONDS = 60.0  # default time budget of a phase diagram

Q = sp.Symbol("q", positive=True)
Q1 = sp.Symbol("q1", positive=True)
Q2 = sp.Symbol("q2", real=True)
SIGMA_W2 = sp.Symbol("sigma_w2", positive=True)
SIGMA_B2 = sp.Symbol("sigma_b2", nonnegative=True)


@dataclass(frozen=True)
class Kernels:
    r"""The Gaussian kernels of one activation.

    ``V`` :math:`=\mathbb E[\phi(u)^2]`, ``Vc`` :math:`=\mathbb E[\phi(u_1)\phi(u_2)]`,
    ``D`` :math:`=\mathbb E[\phi'(u)^2]`, ``Dc`` :math:`=\mathbb E[\phi'(u_1)\phi'(u_2)]`,
    ``uVu`` :math:`=\mathbb E[u\,\phi(u)\phi'(u)] = q\,d\,\mathbb E[\phi(u)^2]/dq` (Stein), with
    :math:`u\sim\mathcal N(0,q)` and :math:`(u_1,u_2)` of variances q1, covariance q2.

    Examples
    --------
    >>> from geosym.meanfield import kernels
    >>> k = kernels("erf")
    >>> k.V.expr  # E[erf(u)^2], u ~ N(0, q)
    2*asin(q/(q + 1/2))/pi
    >>> k.D.expr  # E[erf'(u)^2]
    4/(pi*sqrt(4*q + 1))
    >>> round(float(k.evaluate("V", "q-map", 1.0)), 6)
    0.464559
    """

    activation: Activation
    V: Expectation | None
    Vc: Expectation | None
    D: Expectation | None
    Dc: Expectation | None
    uVu: Expectation | None
    undefined: dict[str, str]  # kernel name -> why it does not exist (None above)

    def _defined(self, key: str, label: str) -> Expectation:
        e = getattr(self, key)
        if e is None:
            raise ValueError(
                f"the {label} of {self.activation.name} is undefined: {self.undefined[key]}"
            )
        return e

    def evaluate(self, key: str, label: str, *args: Any) -> Any:
        """Evaluate kernel ``key`` at numbers (vectorised) or symbols (closed form only)."""
        return _evaluate(self._defined(key, label), label, *args)

    def evaluate_many(self, keys: Sequence[str], labels: Sequence[str], *args: Any) -> list[Any]:
        """:meth:`evaluate` of several kernels at the same arguments; numeric kernels on the
        same covariances share their quadrature (:func:`geosym.gaussian.evaluate_many`).

        Examples
        --------
        >>> v, d = MeanField("tanh", 1.5, 0.1).kernels.evaluate_many(
        ...     ("V", "D"), ("q-map", "backward map"), 1.0)
        >>> round(float(v), 10), round(float(d), 10)  # E[tanh(u)^2], E[tanh'(u)^2], u ~ N(0, 1)
        (0.3942944904, 0.4644029024)
        """
        exps = [self._defined(k, lab) for k, lab in zip(keys, labels, strict=True)]
        if is_symbolic(*args):
            return [_evaluate(e, lab, *args) for e, lab in zip(exps, labels, strict=True)]
        return evaluate_many(exps, *[np.asarray(a, dtype=float) for a in args])

    def items(self) -> list[tuple[str, Expectation | None]]:
        return [("V", self.V), ("Vc", self.Vc), ("D", self.D), ("Dc", self.Dc), ("uVu", self.uVu)]


def _try(functions: Any, cov: Any, undefined: dict[str, str], key: str) -> Expectation | None:
    try:
        return expect(functions, cov)
    except (ValueError, IntegrationError) as exc:  # e.g. E[delta^2] of sign' diverges
        undefined[key] = str(exc)
        return None


@functools.lru_cache(maxsize=128)
def _kernels(phi: Activation) -> Kernels:
    d = phi.derivative()
    pair = [[Q1, Q2], [Q2, Q1]]
    undefined: dict[str, str] = {}
    return Kernels(
        activation=phi,
        V=_try(Activation(phi.expr**2, f"{phi.name}^2"), [[Q]], undefined, "V"),
        Vc=_try([phi, phi], pair, undefined, "Vc"),
        D=_try(Activation(d.expr**2, f"({d.name})^2"), [[Q]], undefined, "D"),
        Dc=_try([d, d], pair, undefined, "Dc"),
        uVu=_try(
            Activation(X * phi.expr * d.expr, f"x {phi.name} {d.name}"), [[Q]], undefined, "uVu"
        ),
        undefined=undefined,
    )


def kernels(phi: Activation | str) -> Kernels:
    """The mean-field kernels of an activation (cached per activation).

    Examples
    --------
    >>> from geosym.meanfield import kernels
    >>> [name for name, _ in kernels("erf").items()]
    ['V', 'Vc', 'D', 'Dc', 'uVu']
    >>> kernels("erf") is kernels("erf")
    True
    """
    return _kernels(_activation(phi))


def is_symbolic(*args: Any) -> bool:
    """True when any argument is a SymPy object (symbols or exact numbers): closed-form mode."""
    return any(isinstance(a, sp.Basic) for a in args)


def _evaluate(e: Expectation, name: str, *args: Any) -> Any:
    """Evaluate a kernel at numbers (vectorised) or symbols (closed form only)."""
    if is_symbolic(*args):
        if e.expr is None:
            raise ValueError(
                f"{name} of {e.functions[0].name} has no closed form ({e.method}); evaluate it "
                "at numbers instead of symbols"
            )
        return e.expr.subs(dict(zip(e.symbols, args, strict=False)))
    return e.numeric()(*[np.asarray(a, dtype=float) for a in args])


def _check_variance(name: str, value: Any) -> None:
    arr = np.asarray(value, dtype=float) if not is_symbolic(value) else None
    if arr is not None and (np.any(~np.isfinite(arr)) or np.any(arr < 0)):
        raise ValueError(f"{name} must be finite and non-negative, got {value}")


@dataclass(frozen=True)
class MeanFieldFixedPoint(Result):
    """Fixed point of the q-map and the stable fixed point of the correlation map.

    Examples
    --------
    >>> from geosym import MeanField
    >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
    >>> fp = mf.fixed_point()
    >>> round(fp.q_star, 6), round(fp.chi1, 6), fp.phase, fp.stable
    (1.603785, 0.935148, 'ordered', True)
    """

    q_star: float
    c_star: float
    chi1: float
    chi_c: float  # slope of the c-map at c*
    stable: bool  # |chi_c| < 1
    phase: str  # "ordered" (chi1 < 1), "chaotic" (chi1 > 1) or "critical"


#: the name before 0.2 (kept: ``MeanField.fixed_point()`` results are these)
FixedPoint = MeanFieldFixedPoint


@dataclass(frozen=True)
class DepthScales(Result):
    r""":math:`\xi_q = -1/\ln(\partial q^{l}/\partial q^{l-1})`, :math:`\xi_c = -1/\ln\chi_{c^*}`.

    Examples
    --------
    >>> from geosym import MeanField
    >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
    >>> ds = mf.depth_scales()
    >>> round(float(ds.xi_q), 4), round(float(ds.xi_c), 4)
    (0.6649, 14.9142)
    """

    xi_q: float
    xi_c: float
    q_slope: float
    chi_c: float


@dataclass(frozen=True)
class PhaseDiagram(Result):
    """chi1 over a (sigma_w2, sigma_b2) grid; ``boundary`` is sigma_w2 at chi1 = 1 per sigma_b2.

    Where the q-map has no finite fixed point (q grows without bound) ``q_star`` is NaN and
    ``chi1`` is +inf (the chaotic side).

    Examples
    --------
    >>> from geosym import MeanField
    >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
    >>> pd = mf.phase_diagram([0.5, 1.0, 2.0, 4.0], [0.0, 0.5])
    >>> pd.chi1.shape
    (2, 4)
    >>> pd.boundary.round(4)  # sigma_w2 at chi1 = 1, per sigma_b2
    array([0.7854, 2.2337])
    """

    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    q_star: np.ndarray  # shape (len(sigma_b2), len(sigma_w2))
    chi1: np.ndarray
    boundary: np.ndarray  # shape (len(sigma_b2),), NaN where chi1 does not cross 1

    def plot(self, path: str) -> None:
        """Write a PNG of log(chi1) with the order/chaos boundary chi1 = 1."""
        with figure(path, figsize=(5, 4)) as (fig, ax):
            mesh = ax.pcolormesh(
                self.sigma_w2,
                self.sigma_b2,
                np.log(self.chi1),
                cmap="RdBu_r",
                shading="auto",
                vmin=-1,
                vmax=1,
            )
            ax.contour(self.sigma_w2, self.sigma_b2, self.chi1, levels=[1.0], colors="k")
            fig.colorbar(mesh, ax=ax, label=r"$\ln\chi_1$")
            ax.set_xlabel(r"$\sigma_w^2$")
            ax.set_ylabel(r"$\sigma_b^2$")
            ax.set_title("order (blue) / chaos (red)")


@dataclass(frozen=True)
class ForwardResult:
    r"""Per-layer forward order parameters, index l = 0..L (l = 0: input; l = L: linear output).

    ``q1[l], q2[l]`` pre-activation variance/covariance (undefined, NaN, at l = 0);
    ``qh1[l], qh2[l]`` :math:`\hat q_1^l,\hat q_2^l` of the activations h^l (for l = L the output
    is linear and these are not used).

    Examples
    --------
    >>> from geosym import MeanField
    >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
    >>> fwd = mf.forward(3)
    >>> [round(float(q), 6) for q in fwd.q1[1:]]
    [2.5, 1.754282, 1.635468]
    """

    q1: Any
    q2: Any
    qh1: Any
    qh2: Any


@dataclass(frozen=True)
class BackwardResult:
    r"""Per-layer backward order parameters :math:`\tilde q_1^l,\tilde q_2^l`, index l = 1..L (entry 0 unused).

    Examples
    --------
    >>> from geosym import MeanField
    >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
    >>> bwd = mf.backward(3)
    >>> [round(float(q), 6) for q in bwd.qt1[1:]]
    [0.690517, 0.899354, 1.0]
    """

    qt1: Any
    qt2: Any


class MeanField:
    r"""Mean-field theory of a wide random network with activation :math:`\phi`.

    Parameters
    ----------
    activation : Activation or spec
        :math:`\phi`.
    sigma_w2, sigma_b2 : float, array or sympy.Symbol
        Weight and bias variances (arrays broadcast for vectorised sweeps; symbols give closed
        forms where the kernels have them).

    Examples
    --------
    >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
    >>> round(mf.fixed_point().q_star, 10)  # root of q = (2 sigma_w2/pi) asin(2q/(1+2q)) + sigma_b2
    1.6037847224
    """

    def __init__(self, activation: Activation | str, sigma_w2: Any, sigma_b2: Any) -> None:
        self.activation = _activation(activation)
        for name, v in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2)):
            if isinstance(v, (bool, str)):
                raise TypeError(f"{name} must be a number, an array or a SymPy symbol")
            if not isinstance(v, sp.Basic):
                arr = np.asarray(v, dtype=float)
                if np.any(~np.isfinite(arr)) or np.any(arr < 0):
                    raise ValueError(f"{name} must be finite and non-negative, got {v}")
                if name == "sigma_w2" and np.any(arr == 0):
                    raise ValueError("sigma_w2 must be positive")
        self.sigma_w2 = sigma_w2
        self.sigma_b2 = sigma_b2
        self.kernels = kernels(self.activation)

    def __repr__(self) -> str:
        return (
            f"MeanField({self.activation.name!r}, sigma_w2={self.sigma_w2}, "
            f"sigma_b2={self.sigma_b2})"
        )

    # -- maps -------------------------------------------------------------------------------
    def q_map(self, q: Any) -> Any:
        r"""Length map :math:`q \mapsto \sigma_w^2\mathbb E[\phi(u)^2]+\sigma_b^2`, u ~ N(0, q).

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> round(float(mf.q_map(1.0)), 6)
        1.429118
        >>> from geosym.meanfield import Q, SIGMA_B2, SIGMA_W2
        >>> MeanField("erf", SIGMA_W2, SIGMA_B2).q_map(Q)
        sigma_b2 + 2*sigma_w2*asin(q/(q + 1/2))/pi
        """
        _check_variance("q", q)
        return self.sigma_w2 * self.kernels.evaluate("V", "q-map", q) + self.sigma_b2

    def cross_map(self, q1: Any, q2: Any) -> Any:
        r"""Covariance map :math:`\sigma_w^2\mathbb E[\phi(u_1)\phi(u_2)]+\sigma_b^2` (variances q1, covariance q2).

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> round(float(mf.cross_map(1.0, 0.5)), 6)
        0.932694
        """
        _check_variance("q1", q1)
        return self.sigma_w2 * self.kernels.evaluate("Vc", "cross map", q1, q2) + self.sigma_b2

    def backward_map(self, q: Any) -> Any:
        r""":math:`\sigma_w^2\mathbb E[\phi'(u)^2]`: the factor of :math:`\tilde q_1` per layer.

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> round(float(mf.backward_map(1.0)), 6)
        1.13882
        """
        _check_variance("q", q)
        return self.sigma_w2 * self.kernels.evaluate("D", "backward map", q)

    def backward_cross_map(self, q1: Any, q2: Any) -> Any:
        r""":math:`\sigma_w^2\mathbb E[\phi'(u_1)\phi'(u_2)]`: the factor of :math:`\tilde q_2`.

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> round(float(mf.backward_cross_map(1.0, 0.5)), 6)
        0.900316
        """
        _check_variance("q1", q1)
        return self.sigma_w2 * self.kernels.evaluate("Dc", "backward cross map", q1, q2)

    def chi1(self, q: Any = None) -> Any:
        r""":math:`\chi_1 = \sigma_w^2\mathbb E[\phi'(\sqrt{q}z)^2]`, at q* when q is None.

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> round(float(mf.chi1()), 6)  # < 1: the ordered phase
        0.935148
        """
        if q is None:
            q = self._q_star()
        return self.backward_map(q)

    def q_slope(self, q: Any) -> Any:
        r""":math:`\partial q^{l}/\partial q^{l-1} = \sigma_w^2\,d\mathbb E[\phi(u)^2]/dq`.

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> round(float(mf.q_slope(1.0)), 6)
        0.379607
        """
        return self.sigma_w2 * self.kernels.evaluate("uVu", "q-map slope", q) / q

    # -- fixed points -----------------------------------------------------------------------
    def _q_star(self, tol: float = 1e-13, max_iter: int = 200, strict: bool = True) -> np.ndarray:
        """Fixed point of the q-map by safeguarded Newton, vectorised over parameter arrays.

        Where q grows without bound (no finite fixed point) or does not converge, ``strict``
        raises; otherwise those entries are NaN (used by :meth:`phase_diagram`).
        """
        if any(isinstance(v, sp.Basic) and not v.is_number for v in (self.sigma_w2, self.sigma_b2)):
            raise ValueError("fixed points need numeric sigma_w2, sigma_b2, not symbols")
        sw2 = np.asarray(_as_float(self.sigma_w2))
        sb2 = np.asarray(_as_float(self.sigma_b2))
        shape = np.broadcast_shapes(sw2.shape, sb2.shape)
        sw2, sb2 = np.broadcast_to(sw2, shape).ravel(), np.broadcast_to(sb2, shape).ravel()
        q = sw2 + sb2
        # plain iteration first: the q-map is increasing, so it heads for the *stable* fixed
        # point (or grows without bound); Newton then polishes.
        moving = np.ones(q.shape, dtype=bool)
        for _ in range(_PLAIN_ITERATIONS):
            idx = np.nonzero(moving)[0]
            if idx.size == 0:
                break
            new = self._map_entries("q_map", sw2[idx], sb2[idx], q[idx])
            escaped = ~np.isfinite(new) | (new > _Q_UNBOUNDED)
            settled = np.abs(new - q[idx]) <= 1e-3 * (1 + np.abs(q[idx]))
            q[idx] = np.where(escaped, np.nan, new)
            moving[idx[escaped | settled]] = False
        active = np.isfinite(q)
        q[~active] = np.nan
        last = np.full(q.shape, np.inf)  # size of each entry's previous Newton step
        for _ in range(max_iter):
            idx = np.nonzero(active)[0]
            if idx.size == 0:
                break
            qa = q[idx]
            with np.errstate(all="ignore"):
                f = self._map_entries("q_map", sw2[idx], sb2[idx], qa) - qa
                slope = self._map_entries("q_slope", sw2[idx], sb2[idx], np.maximum(qa, 1e-12))
                slope = slope - 1.0
                newton = qa - f / np.where(np.abs(slope) > 1e-12, slope, -1.0)
            # where Newton points away (f > 0 with slope > 1: q is below the least fixed point
            # above it, or there is none), q at least doubles: a slow climb towards 1e8 (q-map
            # slope near 1) is then settled in a few dozen steps, not hundreds
            climb = qa + np.where(f > 0, np.maximum(f, qa), f)
            step = np.where((newton >= 0) & np.isfinite(newton), newton, climb)
            unbounded = ~np.isfinite(step) | (step > _Q_UNBOUNDED)
            moved = np.abs(step - qa)
            # converged; or stalled at the rounding noise of the q-map, where an ill-conditioned
            # fixed point (q-map slope near 1) makes Newton's step oscillate instead of shrink
            done = (moved <= tol * (1 + np.abs(qa))) | (
                (np.abs(f) <= 64 * np.finfo(float).eps * (1 + np.abs(qa))) & (moved >= last[idx])
            )
            last[idx] = moved
            q[idx] = np.where(unbounded, np.nan, step)
            active[idx[done | unbounded]] = False
        finite = np.isfinite(q) & ~active
        if np.any(finite):  # an unstable fixed point (slope > 1) means q escapes to infinity
            slope = self._map_entries(
                "q_slope", sw2[finite], sb2[finite], np.maximum(q[finite], 1e-12)
            )
            unstable = ~(slope <= 1 + 1e-9)
            q[np.nonzero(finite)[0][unstable]] = np.nan
        if strict and (np.any(active) or np.any(np.isnan(q))):
            raise ConvergenceError(
                "the q-map has no stable finite fixed point at these sigma_w2, sigma_b2: the "
                "length q grows without bound (e.g. ReLU with sigma_w2 > 2, or sigma_w2 = 2 "
                "with sigma_b2 > 0), or converges too slowly"
            )
        q[active] = np.nan
        return q.reshape(shape)

    def _map_entries(self, method: str, sw2: np.ndarray, sb2: np.ndarray, q: np.ndarray):
        """The q-map (``method="q_map"``) or its slope (``"q_slope"``) at parameters (sw2, sb2)
        and q, vectorised entry by entry without re-validating; NaN where the expectation
        cannot be certified (e.g. numeric kernels at enormous q on the chaotic side)."""

        def value(i: Any) -> np.ndarray:
            if method == "q_map":
                return sw2[i] * self.kernels.evaluate("V", "q-map", q[i]) + sb2[i]
            return sw2[i] * self.kernels.evaluate("uVu", "q-map slope", q[i]) / q[i]

        with np.errstate(all="ignore"):
            try:
                return value(slice(None))
            except IntegrationError:
                pass
            out = np.full(q.shape, np.nan)
            for i in range(q.size):  # only after a failure, to isolate the failing entries
                try:
                    out[i] = value(slice(i, i + 1))[0]
                except IntegrationError:
                    continue
            return out

    def fixed_point(self, tol: float = 1e-13, max_iter: int = 200) -> MeanFieldFixedPoint:
        """q*, the stable correlation fixed point c*, chi1 and the slope of the c-map at c*.

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> mf.fixed_point().phase
        'ordered'
        >>> MeanField("erf", sigma_w2=4.0, sigma_b2=0.0).fixed_point().phase
        'chaotic'
        """
        if np.ndim(self.sigma_w2) or np.ndim(self.sigma_b2):
            raise ValueError("fixed_point needs scalar sigma_w2, sigma_b2 (use phase_diagram)")
        for name, v in (("sigma_w2", self.sigma_w2), ("sigma_b2", self.sigma_b2)):
            if isinstance(v, sp.Basic) and not v.is_number:
                raise ValueError(
                    f"fixed_point needs a numeric {name}, got the expression {v}; substitute "
                    "numbers (the maps q_map, chi1, ... accept symbols)"
                )
        numeric = MeanField(self.activation, _as_float(self.sigma_w2), _as_float(self.sigma_b2))
        if numeric is not self and (
            isinstance(self.sigma_w2, sp.Basic) or isinstance(self.sigma_b2, sp.Basic)
        ):
            return numeric.fixed_point(tol, max_iter)
        q_star = float(self._q_star())
        chi1 = float(self.chi1(q_star))
        if q_star == 0.0 or chi1 <= 1.0:
            # ordered (or critical) phase: the stable correlation fixed point is c* = 1
            return MeanFieldFixedPoint(q_star, 1.0, chi1, chi1, chi1 < 1.0, _phase(chi1))

        def excess(c: float) -> float:  # c-map(c) - c; positive at 0, negative just below 1
            return float(self.cross_map(q_star, q_star * c)) / q_star - c

        lo, hi = 0.0, 1.0 - 1e-9
        if excess(lo) <= 0.0:
            c_star = 0.0
        elif excess(hi) >= 0.0:
            raise ConvergenceError("no correlation fixed point below 1 found in the chaotic phase")
        else:
            c_star = optimize.brentq(excess, lo, hi, xtol=tol, rtol=1e-15, maxiter=max_iter)
        chi_c = float(self.backward_cross_map(q_star, q_star * c_star))
        return MeanFieldFixedPoint(q_star, c_star, chi1, chi_c, abs(chi_c) < 1.0, _phase(chi1))

    def depth_scales(self) -> DepthScales:
        r"""Schoenholz et al. (2017, Eqs. 6 and 9) depth scales :math:`\xi_q, \xi_c` at the fixed point.

        A slope of 0 (constant activations: the signal is forgotten after one layer) gives a
        depth scale of 0, the limit of :math:`-1/\ln s` as :math:`s\to0^+`; a slope of 1 or
        more (critical or beyond) gives inf.

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> round(float(mf.depth_scales().q_slope), 6)
        0.222254
        """
        fp = self.fixed_point()
        slope = float(self.q_slope(fp.q_star))
        return DepthScales(_depth_scale(slope), _depth_scale(fp.chi_c), slope, fp.chi_c)

    def _chi1_at_fixed_point(
        self, sw2: np.ndarray, sb2: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """q* and chi1(q*) at broadcast (sw2, sb2); chi1 = +inf where q* diverges."""
        q_star = MeanField(self.activation, sw2, sb2)._q_star(strict=False)
        finite = np.isfinite(q_star)
        chi1 = np.full(q_star.shape, np.inf)  # q -> infinity: no fixed point (unbounded growth)
        sw2_full = np.broadcast_to(sw2, q_star.shape)
        chi1[finite] = MeanField(self.activation, sw2_full[finite], 0.0).backward_map(
            q_star[finite]
        )
        return q_star, chi1

    def _solve_chi1_equals_1(
        self, sb2: np.ndarray, lo: np.ndarray, hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray
    ) -> np.ndarray:
        """sigma_w2 with chi1(q*) = 1 in each bracket [lo, hi] (f = chi1 - 1: f_lo < 0 <= f_hi).

        Illinois regula falsi where both ends are finite, bisection where the upper end has no
        finite fixed point (f_hi = inf); all brackets at once."""
        lo, hi, f_lo, f_hi = lo.copy(), hi.copy(), f_lo.copy(), f_hi.copy()
        side = np.zeros(lo.shape, dtype=int)  # which end moved last: -1 lo, +1 hi
        root = np.where(f_hi == 0.0, hi, np.nan)
        for _ in range(_BRACKET_STEPS):
            open_ = np.isnan(root) & (hi - lo > 1e-13 * (1.0 + np.abs(hi)))
            if not open_.any():
                break
            i = np.nonzero(open_)[0]
            mid = 0.5 * (lo[i] + hi[i])
            with np.errstate(all="ignore"):
                secant = lo[i] - f_lo[i] * (hi[i] - lo[i]) / (f_hi[i] - f_lo[i])
            x = np.where(np.isfinite(secant) & (secant > lo[i]) & (secant < hi[i]), secant, mid)
            _, chi = self._chi1_at_fixed_point(x, sb2[i])
            f = chi - 1.0
            exact = np.abs(f) <= 1e-14
            root[i[exact]] = x[exact]
            up = f >= 0.0  # NaN (uncertifiable) counts as the ordered side
            j, k = i[up], i[~up]
            f_lo[j[side[j] == 1]] *= 0.5  # Illinois: the stale end loses half its weight
            f_hi[k[side[k] == -1]] *= 0.5
            hi[j], f_hi[j], side[j] = x[up], f[up], 1
            lo[k], f_lo[k], side[k] = x[~up], f[~up], -1
        return np.where(np.isnan(root), 0.5 * (lo + hi), root)

    def phase_diagram(
        self,
        sw2_grid: Sequence[float] | np.ndarray,
        sb2_grid: Sequence[float] | np.ndarray,
        *,
        max_seconds: float | None = _PHASE_SECONDS,
        progress: Callable[[str], None] | None = None,
    ) -> PhaseDiagram:
        r""":math:`\chi_1` over a grid (vectorised), and the order/chaos boundary :math:`\chi_1=1`.

        The boundary is not read off the grid: in each ``sigma_b2`` row the first grid interval
        where :math:`\chi_1(q^*)` reaches 1 is narrowed (Illinois regula falsi, bisection where
        an end has no finite fixed point) to relative width 1e-13 (Poole et al.
        2016, Fig. 2; Schoenholz et al. 2017, Eq. 5).  Where :math:`q^*` diverges before
        :math:`\chi_1` reaches 1 (ReLU: :math:`\sigma_w^2 = 2` for every :math:`\sigma_b^2 > 0`;
        the linear activation: :math:`\sigma_w^2 = 1`) the boundary is where the finite fixed
        point ceases to exist, located to the precision with which :math:`q^*` is still
        resolved (q* < 1e8).  NaN where :math:`\chi_1` does not cross 1 inside the grid.

        The grid is computed in chunks of ``sigma_b2`` rows (about 5e4 points each).  The
        memory is estimated before anything is allocated (:class:`geosym.ResourceError`); the
        time is projected from the first chunk, and a grid projected to take more than
        ``max_seconds`` is refused (``ValueError``) before the rest is computed.

        Parameters
        ----------
        sw2_grid, sb2_grid
            1-D grids of :math:`\sigma_w^2` (length >= 2) and :math:`\sigma_b^2`.
        max_seconds
            Time budget (default 60 s); None for no limit.
        progress
            Called with a one-line message (rows done, seconds) after each chunk once the run
            has taken more than 2 s (e.g. ``print``; the CLI prints to stderr).

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> pd = mf.phase_diagram([0.5, 1.0, 2.0, 4.0], [0.0])
        >>> round(float(pd.boundary[0]), 4)  # chi1 = 1 solved, not snapped: pi/4 for erf
        0.7854
        """
        sw2 = np.asarray(sw2_grid, dtype=float)
        sb2 = np.asarray(sb2_grid, dtype=float)
        if sw2.ndim != 1 or sb2.ndim != 1 or sw2.size < 2 or sb2.size < 1:
            raise ValueError("sw2_grid and sb2_grid must be 1-D arrays (sw2_grid of length >= 2)")
        if max_seconds is not None and not max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0 or None, got {max_seconds!r}")
        grid = f"{sb2.size} x {sw2.size} grid ({sb2.size * sw2.size:.3g} points)"
        # measured peak (ReLU, 700 x 700): about 140 bytes per grid point; 24 are kept
        rows = max(1, _PHASE_CHUNK // sw2.size)
        require_memory(
            24.0 * sw2.size * sb2.size + 200.0 * rows * sw2.size,
            f"a phase diagram on a {grid}",
            "the number of grid points",
        )
        q_star = np.empty((sb2.size, sw2.size))
        chi1 = np.empty((sb2.size, sw2.size))
        boundary = np.full(sb2.shape, np.nan)
        t0 = time.perf_counter()
        # a quarter chunk first, so that an oversized grid is refused within seconds
        starts = [0] + list(range(max(1, rows // 4), sb2.size, rows))
        for lo, hi in zip(starts, starts[1:] + [sb2.size], strict=True):
            q_star[lo:hi], chi1[lo:hi], boundary[lo:hi] = self._phase_rows(sw2, sb2[lo:hi])
            done, spent = hi, time.perf_counter() - t0
            if done == sb2.size:
                break
            if lo == 0:  # the small first chunk overstates the rate (fixed costs): 4x margin
                first, projected, margin = (done, spent), spent * sb2.size / done, 4.0
            else:
                rate = (spent - first[1]) / (done - first[0])
                projected, margin = spent + rate * (sb2.size - done), 1.0
            if max_seconds is not None and projected > margin * max_seconds:
                raise ValueError(
                    f"phase_diagram: a {grid} would take about {projected:.3g} s (projected "
                    f"from the first {done} rows in {spent:.2g} s), more than max_seconds = "
                    f"{max_seconds:g}: reduce the number of grid points, or raise max_seconds "
                    "(--max-seconds)"
                )
            if progress is not None and spent > 2.0:  # quick grids stay quiet
                progress(f"phase diagram: {done} of {sb2.size} sigma_b2 rows ({spent:.1f} s)")
        return PhaseDiagram(sw2, sb2, q_star, chi1, boundary)

    def _phase_rows(
        self, sw2: np.ndarray, sb2: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """q*, chi1 and the chi1 = 1 boundary of the rows ``sb2`` (see :meth:`phase_diagram`)."""
        q_star, chi1 = self._chi1_at_fixed_point(sw2[None, :], sb2[:, None])
        boundary = np.full(sb2.shape, np.nan)
        first = np.argmax(chi1 >= 1.0, axis=1)  # first grid point on the chaotic side
        rows = np.nonzero((chi1 >= 1.0).any(axis=1) & (first > 0))[0]
        boundary[rows] = self._solve_chi1_equals_1(
            sb2[rows],
            sw2[first[rows] - 1],
            sw2[first[rows]],
            chi1[rows, first[rows] - 1] - 1.0,
            chi1[rows, first[rows]] - 1.0,
        )
        return q_star, chi1, boundary

    # -- layer recursions -------------------------------------------------------------------
    def forward(
        self, depth: int, alphas: Sequence[float] | None = None, q1_0: Any = 1.0, q2_0: Any = 0.0
    ) -> ForwardResult:
        r"""Forward order parameters for ``depth`` = L weight layers (Karakida, Akaho & Amari 2019,
        order parameters of their Theorem 1; Poole et al. 2016, eqs. 3-5).

        ``q1_0, q2_0`` are :math:`\hat q_1^0 = \|x\|^2/M_0` and :math:`\hat q_2^0 = x\cdot x'/M_0`.
        The widths do not enter the forward recursion (averages over units); ``alphas`` is
        validated only.

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> fwd = mf.forward(2)
        >>> round(float(fwd.q1[1]), 6), round(float(fwd.qh1[1]), 6)  # q^1 = sigma_w2 * 1 + sigma_b2
        (2.5, 0.627141)
        """
        return self._propagate(depth, alphas, q1_0, q2_0, backward=False)[0]

    def backward(
        self,
        depth: int,
        alphas: Sequence[float] | None = None,
        q1_0: Any = 1.0,
        q2_0: Any = 0.0,
        forward: ForwardResult | None = None,
    ) -> BackwardResult:
        r"""Backward order parameters :math:`\tilde q_{1,2}^l`, l = L..1, with :math:`\tilde q^L = 1`.

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> [round(float(q), 6) for q in mf.backward(2).qt2[1:]]
        [0.430434, 1.0]
        """
        fwd = forward or self.forward(depth, alphas, q1_0, q2_0)
        chi1, chi2 = [np.nan] * depth, [np.nan] * depth
        maps: tuple[Any, ...] = (None, None, None, None)  # (q1, q2, chi1, chi2) of the last layer
        for layer in range(depth - 1, 0, -1):
            q1, q2 = fwd.q1[layer], fwd.q2[layer]
            if q1 is not maps[0] or q2 is not maps[1]:  # a repeated (settled) layer reuses them
                maps = (q1, q2, self.backward_map(q1), self.backward_cross_map(q1, q2))
            chi1[layer], chi2[layer] = maps[2], maps[3]
        return _backward_products(fwd, chi1, chi2)

    def propagate(
        self, depth: int, alphas: Sequence[float] | None = None, q1_0: Any = 1.0, q2_0: Any = 0.0
    ) -> tuple[ForwardResult, BackwardResult]:
        r""":meth:`forward` and :meth:`backward` in one pass (the same values, faster).

        The kernels of :math:`\phi` and :math:`\phi'` of a layer are expectations under the
        same covariances (:math:`q_1^l`, :math:`q_2^l`), so they are evaluated together
        (:meth:`Kernels.evaluate_many`: numeric kernels share their quadrature nodes and
        Gaussian weights).

        Examples
        --------
        >>> mf = MeanField("tanh", 1.5, 0.1)
        >>> fwd, bwd = mf.propagate(3)
        >>> round(float(bwd.qt1[1]), 10), round(float(bwd.qt2[1]), 10)
        (0.4326912703, 0.2517693306)
        >>> bool(bwd.qt2[1] == mf.backward(3).qt2[1])
        True
        """
        fwd, chi1, chi2 = self._propagate(depth, alphas, q1_0, q2_0, backward=True)
        return fwd, _backward_products(fwd, chi1, chi2)

    def _propagate(
        self, depth: int, alphas: Sequence[float] | None, q1_0: Any, q2_0: Any, backward: bool
    ) -> tuple[ForwardResult, list, list]:
        r"""Forward recursion; with ``backward``, also the backward factors of each layer
        (:math:`\sigma_w^2\mathbb E[\phi'^2]` and its cross version, NaN otherwise)."""
        _checks.depth(depth)
        _checks.alphas(alphas, depth)
        _check_variance("q1_0", q1_0)
        if is_symbolic(self.sigma_w2, self.sigma_b2):
            q1_0, q2_0 = _exact(q1_0), _exact(q2_0)
        symbolic = is_symbolic(self.sigma_w2, self.sigma_b2, q1_0, q2_0)
        q1, q2 = [np.nan], [np.nan]
        qh1, qh2 = [q1_0], [q2_0]
        chi1, chi2 = [np.nan] * depth, [np.nan] * depth
        k = self.kernels
        for layer in range(1, depth + 1):
            q1.append(self.sigma_w2 * qh1[-1] + self.sigma_b2)
            q2.append(self.sigma_w2 * qh2[-1] + self.sigma_b2)
            _check_finite(f"forward q1 at layer {layer}", q1[-1])
            if layer < depth and not symbolic and layer >= 2 and _settled(q1, q2):
                # the fixed point is reached to rounding: every deeper layer repeats this one
                # (the same objects, so backward() evaluates its maps once for them)
                q1[-1], q2[-1] = q1[-2], q2[-2]
                rest = depth - layer
                q1 += [q1[-1]] * rest
                q2 += [q2[-1]] * rest
                qh1 += [qh1[-1]] * rest
                qh2 += [qh2[-1]] * rest
                qh1.append(np.nan)
                qh2.append(np.nan)
                if backward:
                    chi1[layer:depth] = [chi1[layer - 1]] * rest
                    chi2[layer:depth] = [chi2[layer - 1]] * rest
                break
            if layer == depth:
                qh1.append(np.nan)
                qh2.append(np.nan)
            elif backward:
                v, d = k.evaluate_many(("V", "D"), ("q-map", "backward map"), q1[-1])
                vc, dc = k.evaluate_many(
                    ("Vc", "Dc"), ("cross map", "backward cross map"), q1[-1], q2[-1]
                )
                qh1.append(v)
                qh2.append(vc)
                chi1[layer], chi2[layer] = self.sigma_w2 * d, self.sigma_w2 * dc
            else:
                qh1.append(k.evaluate("V", "q-map", q1[-1]))
                qh2.append(k.evaluate("Vc", "cross map", q1[-1], q2[-1]))
            if layer < depth:
                _check_finite(f"forward q-hat at layer {layer}", qh1[-1])
        return ForwardResult(q1, q2, qh1, qh2), chi1, chi2

    # -- printing ---------------------------------------------------------------------------
    def latex(self) -> str:
        """LaTeX of every map (closed forms where they exist, else the defining expectation).

        Examples
        --------
        >>> from geosym import MeanField
        >>> mf = MeanField("erf", sigma_w2=2.0, sigma_b2=0.5)
        >>> first = mf.latex().splitlines()[0]
        >>> first.startswith("q^{l} = "), "arcsin" in first
        (True, True)
        """
        k = self.kernels
        sw2 = self.sigma_w2 if isinstance(self.sigma_w2, sp.Basic) else sp.Float(self.sigma_w2, 6)
        sb2 = self.sigma_b2 if isinstance(self.sigma_b2, sp.Basic) else sp.Float(self.sigma_b2, 6)
        rows = [
            ("q^{l}", k.V, lambda e: sw2 * e + sb2),
            ("q_2^{l}", k.Vc, lambda e: sw2 * e + sb2),
            (r"\tilde q_1^{l}/\tilde q_1^{l+1}", k.D, lambda e: sw2 * e),
            (r"\tilde q_2^{l}/\tilde q_2^{l+1}", k.Dc, lambda e: sw2 * e),
            (r"\chi_1(q)", k.D, lambda e: sw2 * e),
        ]
        lines = []
        for lhs, e, wrap in rows:
            if e is None:
                rhs = r"\text{undefined (divergent expectation)}"
            elif e.expr is not None:
                rhs = paper_latex(wrap(e.expr))
            else:
                rhs = paper_latex(wrap(sp.Symbol("E"))).replace("E", e.lhs_latex(), 1)
            lines.append(f"{lhs} = {rhs}")
        return "\n".join(lines)


def _backward_products(fwd: ForwardResult, chi1: list, chi2: list) -> BackwardResult:
    r""":math:`\tilde q^l = \chi^l\,\tilde q^{l+1}` from the per-layer factors ``chi[l]``
    (:math:`\sigma_w^2\mathbb E[\phi'^2]` and its cross version), l = L-1..1."""
    depth = len(fwd.q1) - 1
    qt1 = [np.nan] * (depth + 1)
    qt2 = [np.nan] * (depth + 1)
    qt1[depth] = qt2[depth] = sp.Integer(1) if is_symbolic(fwd.q1[-1]) else 1.0
    for layer in range(depth - 1, 0, -1):
        qt1[layer] = chi1[layer] * qt1[layer + 1]
        qt2[layer] = chi2[layer] * qt2[layer + 1]
        _check_finite(f"backward q-tilde at layer {layer}", qt1[layer])
    return BackwardResult(qt1, qt2)


def _as_float(value: Any) -> Any:
    return float(value) if isinstance(value, sp.Basic) else np.asarray(value, dtype=float)


def _exact(value: Any) -> Any:
    """A float as an exact SymPy rational (1.0 -> 1), for symbolic recursions."""
    if isinstance(value, sp.Basic):
        return value
    return sp.Rational(repr(float(value)))


def _depth_scale(slope: float) -> float:
    """-1/ln(slope) for 0 <= slope < 1 (0 at slope 0), inf at or beyond criticality."""
    if slope == 0.0:
        return 0.0
    return -1.0 / np.log(abs(slope)) if abs(slope) < 1 else np.inf


def _phase(chi1: float) -> str:
    if abs(chi1 - 1) < 1e-9:
        return "critical"
    return "ordered" if chi1 < 1 else "chaotic"


def _settled(q1: list[Any], q2: list[Any]) -> bool:
    """True when the last two layers agree to rounding (relative 1e-15) in q1 and q2."""
    for q in (q1, q2):
        new, old = np.asarray(q[-1], dtype=float), np.asarray(q[-2], dtype=float)
        if not np.all(np.abs(new - old) <= 1e-15 * np.abs(new)):
            return False
    return True


def _check_finite(where: str, value: Any) -> None:
    if is_symbolic(value):
        return
    arr = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(np.abs(arr) > 1e150):
        raise NumericalError(
            f"{where} overflowed (value {np.max(np.abs(arr)):.3g}); the recursion explodes for these "
            "sigma_w2, sigma_b2 at this depth"
        )

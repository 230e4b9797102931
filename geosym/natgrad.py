r"""Natural gradient in wide random networks: the unit-wise Fisher block and its explicit inverse,
mean-field predictions of the block coefficients, one-step learning rates of approximate natural
gradient methods, and the effect of output mean subtraction on :math:`\lambda_{\max}`.

References (what is taken from where; "derived in geosym" means derived here and checked
numerically, with the derivation on the :ref:`theory-natgrad` page):

* Amari, Karakida & Oizumi, "Fisher Information and Natural Gradient Learning in Random Deep
  Networks", AISTATS 2019 (arXiv:1808.07172): the FIM is unit-wise block diagonal up to
  small off-block terms; the block of a single unit is "a diagonal matrix plus a rank 2 matrix of
  weight-bias correlations" with an explicit inverse (abstract). The formulas below are derived
  in geosym (:ref:`theory-natgrad`), not transcribed from the paper.
* Karakida & Osawa, "Understanding Approximate Fisher Information for Fast Convergence of Natural
  Gradient Descent in Wide Neural Networks", NeurIPS 2020 (arXiv:2010.00879). One-step learning
  rates of exact, layer-wise, block tri-diagonal, K-FAC and unit-wise NGD (constants as in
  the authors' code, ``get_ng_opt_lr``; the output-layer corrections below are derived in
  geosym, :ref:`theory-natgrad`).
* Karakida, Akaho & Amari, "The Normalization Method for Alleviating Pathological Sharpness in
  Wide Neural Networks", NeurIPS 2019 (arXiv:1906.02926); the mean-subtraction mechanism
  is derived in :ref:`theory-natgrad`.

The single-unit block (Amari, Karakida & Oizumi 2019). For a unit :math:`u = w\cdot x + b` with input
:math:`x\sim\mathcal N(\mu, \mathrm{diag}(v))`, augmented input :math:`\tilde x = (x, 1)`,

.. math::

    G = \mathbb E[\phi'(u)^2\,\tilde x\tilde x^\top]
      = c_0(\tilde\mu\tilde\mu^\top + \bar V) + c_1(\tilde\mu a^\top + a\tilde\mu^\top)
        + (c_2 - c_0)\,a a^\top,\qquad c_k = \mathbb E_s[\phi'(rs + b')^2 s^k],

with :math:`s\sim\mathcal N(0,1)`, :math:`r = \sqrt{w^\top Vw}`, :math:`b' = b + w\cdot\mu`,
:math:`a = (Vw/r, 0)`, :math:`\tilde\mu = (\mu, 1)`, :math:`\bar V = \mathrm{diag}(v, 0)`.
For :math:`\mu = 0`, :math:`v = 1` (standard Gaussian inputs) this is
:math:`G = c_0 I + (c_2 - c_0)\bar e\bar e^\top + c_1(\bar e e_b^\top + e_b\bar e^\top)`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import sympy as sp
from scipy import special

from . import _checks
from ._memory import require_memory
from .activations import Activation, X
from .activations import activation as _activation
from .errors import NumericalError
from .fisher import fim_statistics, layer_widths
from .gaussian import expect
from .gaussian.nodes import gauss_legendre
from .latex import latex as paper_latex
from .meanfield import MeanField, _check_alphas, _check_depth
from .results import Result, jsonable

__all__ = [
    "UnitFisher",
    "unit_fisher",
    "unit_coefficients",
    "UnitBlockPrediction",
    "unit_block_prediction",
    "OffBlockPrediction",
    "offblock_ratio",
    "OneStepRates",
    "one_step_learning_rates",
    "btd_coefficient",
    "MeanSubtraction",
    "mean_subtraction",
]

#: relative threshold below which c0*c2 - c1^2 (or the Woodbury core) counts as singular
SINGULAR_RTOL = 1e-12
_S_MAX = 9.0  # truncation of the standard normal s in the batch quadrature (tail < 1e-18)
_PANELS = 36
_GL = gauss_legendre(12)
_GL2 = gauss_legendre(20)


# --------------------------------------------------------------------------------------------
# the coefficients c_k = E[phi'(r s + b)^2 s^k]
# --------------------------------------------------------------------------------------------
def _derivative(phi: Activation) -> Activation:
    return phi.derivative()


@functools.lru_cache(maxsize=64)
def _piecewise_constant_levels(
    phi: Activation,
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    r"""If :math:`\phi'^2` is constant between the kinks of :math:`\phi`, return
    (kinks, levels) with ``levels[j]`` the value on the j-th interval; else None.

    Detection is numeric (values at several points in each interval agree to 1e-14), which is
    exact for ReLU, leaky ReLU, hard tanh, abs and linear.
    """
    d = _derivative(phi)
    if d.expr.has(sp.DiracDelta):
        return None  # phi'^2 of a jump is not a function
    try:
        kinks = tuple(float(k) for k in phi.kinks)
    except ValueError:
        return None
    edges = (-60.0, *kinks, 60.0)
    levels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        pts = lo + (hi - lo) * np.array([1e-3, 0.11, 0.37, 0.5, 0.73, 0.97, 1 - 1e-3])
        vals = np.asarray(d(pts), dtype=float) ** 2
        if not np.all(np.isfinite(vals)) or np.ptp(vals) > 1e-14 * max(1.0, np.max(vals)):
            return None
        levels.append(float(vals[0]))
    return kinks, tuple(levels)


def _truncated_moments(z: np.ndarray) -> np.ndarray:
    r""":math:`\int_z^\infty s^k\varphi(s)ds` for k = 0, 1, 2 (shape (3, ...)); z may be ±inf."""
    z = np.asarray(z, dtype=float)
    tail = special.ndtr(-z)
    dens = np.where(np.isfinite(z), np.exp(-0.5 * np.where(np.isfinite(z), z, 0.0) ** 2), 0.0)
    dens = dens / math.sqrt(2 * math.pi)
    zd = np.where(np.isfinite(z), z * dens, 0.0)
    return np.stack([tail, dens, tail + zd])


def _coefficients_closed(levels, r: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c_k for piecewise-constant phi'^2: sums of truncated Gaussian moments (exact)."""
    kinks, vals = levels
    out = np.zeros((3, *np.broadcast(r, b).shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        # interval j of u is (kink_{j-1}, kink_j); in s it is ((k_{j-1}-b)/r, (k_j-b)/r) for r > 0
        edges_u = (-np.inf, *kinks, np.inf)
        for j, val in enumerate(vals):
            if val == 0.0:
                continue
            lo = (edges_u[j] - b) / r if np.isfinite(edges_u[j]) else np.full_like(out[0], -np.inf)
            hi = (
                (edges_u[j + 1] - b) / r
                if np.isfinite(edges_u[j + 1])
                else np.full_like(out[0], np.inf)
            )
            out += val * (_truncated_moments(lo) - _truncated_moments(hi))
    return out


def _coefficients_quadrature(
    d: Activation, kinks: Sequence[float], r, b, error_estimate: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised composite Gauss-Legendre on |s| <= 9: 36 panels of width 0.5 plus cuts at the
    kink images (k - b)/r, 12 vs 20 nodes per panel.

    Returns (c of shape (3, ...), error estimate = |difference of the two rules|). Accurate to
    ~1e-13 while the complex singularities of phi' stay >= 0.4 away in s (tanh: r <= 4).
    ``error_estimate=False``: only the 20-node rule (the same c), error returned as NaN.
    """
    rules = (_GL, _GL2) if error_estimate else (_GL2,)
    r = np.asarray(r, dtype=float)
    b = np.asarray(b, dtype=float)
    shape = np.broadcast(r, b).shape
    rr, bb = np.broadcast_to(r, shape).ravel(), np.broadcast_to(b, shape).ravel()
    if not kinks:
        # smooth phi': the same nodes for every unit; moments by one (U, nodes) x (nodes, 3) product
        grid = np.linspace(-_S_MAX, _S_MAX, _PANELS + 1)
        lo, hi = grid[:-1], grid[1:]
        half = 0.5 * (hi - lo)
        results = []
        for nodes, weights in rules:
            s = ((0.5 * (hi + lo))[:, None] + half[:, None] * nodes).ravel()  # (panels * n,)
            w = (half[:, None] * weights).ravel() * np.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
            moments = np.stack([w, w * s, w * s * s], axis=1)
            out = np.empty((rr.size, 3))
            rows = max(1, 65_536 // s.size)  # cache-sized blocks of units
            for i in range(0, rr.size, rows):
                u = np.multiply.outer(rr[i : i + rows], s)
                u += bb[i : i + rows, None]
                with np.errstate(over="ignore", invalid="ignore"):
                    f = np.asarray(d(u), dtype=float)  # (units, nodes)
                f *= f
                out[i : i + rows] = f @ moments
            results.append(out.T)
        c = results[-1]
        err = np.abs(results[1] - results[0]) + 1e-15 * np.abs(c) if error_estimate else c * np.nan
        return c.reshape(3, *shape), err.reshape(3, *shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        cuts = [np.clip((k - bb) / rr, -_S_MAX, _S_MAX) for k in kinks]
    grid = np.linspace(-_S_MAX, _S_MAX, _PANELS + 1)
    edges = np.sort(
        np.concatenate(
            [
                np.broadcast_to(grid[:, None], (grid.size, rr.size)),
                np.array(cuts).reshape(-1, rr.size),
            ]
        ),
        axis=0,
    )
    results = []
    for nodes, weights in rules:
        lo, hi = edges[:-1], edges[1:]  # (panels, U)
        half = 0.5 * (hi - lo)
        s = (0.5 * (hi + lo))[..., None] + half[..., None] * nodes  # (panels, U, n)
        w = half[..., None] * weights * np.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
        with np.errstate(over="ignore", invalid="ignore"):
            f = np.asarray(d(rr[None, :, None] * s + bb[None, :, None]), dtype=float) ** 2
        fw = f * w
        results.append(
            np.stack(
                [fw.sum(axis=(0, 2)), (fw * s).sum(axis=(0, 2)), (fw * s * s).sum(axis=(0, 2))]
            )
        )
    c = results[-1]
    err = np.abs(results[1] - results[0]) + 1e-15 * np.abs(c) if error_estimate else c * np.nan
    return c.reshape(3, *shape), err.reshape(3, *shape)


def unit_coefficients(
    activation: Activation | str,
    r: Any,
    b: Any,
    *,
    engine: bool | None = None,
    error_estimate: bool = True,
) -> tuple[np.ndarray, np.ndarray, str]:
    r"""The block coefficients :math:`c_k=\mathbb E_s[\phi'(rs+b)^2 s^k]`, k = 0, 1, 2.

    Parameters
    ----------
    activation
        :math:`\phi` (Activation or spec).
    r, b : float or array
        Scale :math:`r\ge0` and offset :math:`b` (arrays broadcast: one unit per entry).
    engine
        Use :func:`geosym.expect` (one certified engine call per k; scalars only). Default:
        True for scalar input unless :math:`\phi'^2` is piecewise constant.
    error_estimate
        False: the vectorised quadrature skips its lower-order comparison rule (the same c in
        ~60 % of the time; its error entries are then NaN). Used by the NGD optimizer.

    Returns
    -------
    c : ndarray, shape (3, ...)
        :math:`(c_0, c_1, c_2)`.
    error : ndarray, shape (3, ...)
        Absolute error bound (0 for closed forms).
    method : str
        How they were obtained: ``"closed form: truncated Gaussian moments"`` when
        :math:`\phi'^2` is piecewise constant (ReLU: :math:`c_0=\Phi(b/r)`,
        :math:`c_1=\varphi(b/r)`, :math:`c_2=\Phi(b/r)-\tfrac br\varphi(b/r)`, Amari, Karakida & Oizumi 2019),
        the engine's method (closed form for erf, certified quadrature for tanh...), or
        ``"quadrature: vectorised Gauss-Legendre"`` for arrays.

    Examples
    --------
    >>> c, err, how = unit_coefficients("tanh", 1.5, 0.3)     # |w| = 1.5, b = 0.3
    >>> [round(float(x), 12) for x in c]
    [0.326228864361, -0.057309473107, 0.049775815964]
    """
    phi = _activation(activation)
    r_arr = np.asarray(r, dtype=float)
    b_arr = np.asarray(b, dtype=float)
    if np.any(~np.isfinite(r_arr)) or np.any(r_arr < 0):
        raise ValueError(f"r must be finite and >= 0, got {r}")
    if np.any(~np.isfinite(b_arr)):
        raise ValueError(f"b must be finite, got {b}")
    d = _derivative(phi)
    levels = _piecewise_constant_levels(phi)
    scalar = r_arr.ndim == 0 and b_arr.ndim == 0
    zero_r = r_arr == 0
    if levels is not None and engine is not True:
        c = _coefficients_closed(levels, np.where(zero_r, 1.0, r_arr), b_arr)
        err = np.zeros_like(c)
        method = "closed form: truncated Gaussian moments (piecewise-constant phi'^2)"
    elif scalar and engine is not False and not bool(zero_r):
        rr, bb = sp.Rational(repr(float(r_arr))), sp.Rational(repr(float(b_arr)))
        vals, errs, methods = [], [], []
        for k in range(3):
            e = expect(Activation(d.expr.subs(X, rr * X + bb) ** 2 * X**k, f"c{k}"), [[1]])
            vals.append(float(e))
            errs.append(float(e.error))
            methods.append(e.method)
        c, err = np.array(vals), np.array(errs)
        method = "engine: " + "; ".join(dict.fromkeys(methods))
    else:
        c, err = _coefficients_quadrature(
            d, phi.kinks, np.where(zero_r, 1.0, r_arr), b_arr, error_estimate
        )
        method = "quadrature: vectorised composite Gauss-Legendre " + (
            "(12 vs 20 nodes per panel)" if error_estimate else "(20 nodes per panel)"
        )
    if np.any(zero_r):  # u = b is constant: c = phi'(b)^2 (1, 0, 1)
        g = np.asarray(d(np.broadcast_to(b_arr, zero_r.shape)), dtype=float) ** 2
        c = np.where(zero_r, np.stack([g, 0 * g, g]), c)
        err = np.where(zero_r, 0.0, err)
    if not np.all(np.isfinite(c)):
        raise NumericalError(f"unit_coefficients: c_k of {phi.name} are not finite at r={r}, b={b}")
    return c, err, method


# --------------------------------------------------------------------------------------------
# the unit block and its inverse
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class UnitFisher(Result):
    r"""The Fisher block of one unit, :math:`G=\mathbb E[\phi'(u)^2\tilde x\tilde x^\top]`, in closed form.

    Amari, Karakida & Oizumi (AISTATS 2019: "a diagonal matrix plus a rank 2 matrix", abstract);
    formulas in :ref:`theory-natgrad`. Built by :func:`unit_fisher`. Parameter order: :math:`(w_1..w_n, b)`.

    Attributes
    ----------
    activation : str
    n : int
        Fan-in (the block is (n+1) x (n+1)).
    w, b
        The unit's weights and bias.
    input_mean, input_var : ndarray, shape (n,)
        :math:`\mu` and the diagonal of V.
    r, offset : float
        :math:`r=\sqrt{w^\top Vw}` and :math:`b'=b+w\cdot\mu`.
    c : ndarray, shape (3,)
        :math:`c_0, c_1, c_2`.
    error : ndarray, shape (3,)
        Absolute error bounds of the c_k.
    method : str
        How the c_k were obtained.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.natgrad import unit_fisher
    >>> G = unit_fisher("tanh", [1.0, -0.5, 0.25], 0.3)
    >>> G.n, G.zero_mean, G.c.round(5)
    (3, True, array([ 0.40567, -0.08614,  0.09512]))
    >>> bool(np.allclose(G.inverse() @ G.matrix(), np.eye(4)))  # the explicit inverse
    True
    """

    activation: str
    n: int
    w: np.ndarray
    b: float
    input_mean: np.ndarray
    input_var: np.ndarray
    r: float
    offset: float
    c: np.ndarray
    error: np.ndarray
    method: str

    # -- structure ------------------------------------------------------------------------
    @property
    def zero_mean(self) -> bool:
        """True for zero-mean inputs with one common variance (the explicit-formula case).

        Examples
        --------
        >>> import numpy as np
        >>> from geosym.natgrad import unit_fisher
        >>> G = unit_fisher("tanh", [1.0, -0.5, 0.25], 0.3)
        >>> G.zero_mean
        True
        """
        return bool(not np.any(self.input_mean) and np.ptp(self.input_var) == 0.0)

    @property
    def determinant_ratio(self) -> float:
        r""":math:`(c_0c_2-c_1^2)/(c_0c_2)\in[0,1]` (Cauchy-Schwarz); 0 means singular.

        Examples
        --------
        >>> import numpy as np
        >>> from geosym.natgrad import unit_fisher
        >>> G = unit_fisher("tanh", [1.0, -0.5, 0.25], 0.3)
        >>> round(G.determinant_ratio, 6)
        0.807705
        """
        c0, c1, c2 = (float(x) for x in self.c)
        return (c0 * c2 - c1 * c1) / (c0 * c2) if c0 * c2 > 0 else 0.0

    def _a(self) -> np.ndarray:
        if self.r > 0:
            return self.input_var * self.w / self.r
        e = np.zeros(self.n)  # r = 0: c1 = 0, c2 = c0, so the direction drops out
        e[0] = 1.0
        return np.sqrt(self.input_var) * e

    def _factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(diag D, U, S) with G = diag(D) + U S U^T (U of shape (n+1, 3))."""
        c0, c1, c2 = (float(x) for x in self.c)
        dvec = c0 * np.append(self.input_var, 1.0)
        mu_t = np.append(self.input_mean, 1.0)
        a = np.append(self._a(), 0.0)
        eb = np.zeros(self.n + 1)
        eb[-1] = 1.0
        U = np.stack([mu_t, a, eb], axis=1)
        S = np.array([[c0, c1, 0.0], [c1, c2 - c0, 0.0], [0.0, 0.0, -c0]])
        return dvec, U, S

    def matrix(self) -> np.ndarray:
        """The dense (n+1) x (n+1) block G.

        Examples
        --------
        >>> import numpy as np
        >>> from geosym.natgrad import unit_fisher
        >>> G = unit_fisher("tanh", [1.0, -0.5, 0.25], 0.3)
        >>> G.matrix().shape  # (w_1, w_2, w_3, b)
        (4, 4)
        """
        require_memory(
            8.0 * 3 * (self.n + 1) ** 2, f"the dense unit Fisher block with n = {self.n}", "n"
        )
        dvec, U, S = self._factors()
        return np.diag(dvec) + U @ S @ U.T

    def _check(self, damping: float) -> None:
        if not (isinstance(damping, (int, float)) and math.isfinite(damping) and damping >= 0):
            raise ValueError(f"damping must be a finite number >= 0, got {damping!r}")
        c0 = float(self.c[0])
        scale = max(float(np.max(np.abs(self.c))), 1e-300)
        if damping > 0:
            return
        if c0 <= SINGULAR_RTOL * scale or np.min(self.input_var) <= 0:
            raise NumericalError(
                f"unit Fisher block is singular: c0 = {c0:.3g} (a dead unit: phi'(u) = 0 for "
                "almost all inputs) or zero input variance; pass damping > 0"
            )
        if self.determinant_ratio <= SINGULAR_RTOL:
            raise NumericalError(
                f"unit Fisher block is singular: c0*c2 - c1^2 = "
                f"{self.c[0] * self.c[2] - self.c[1] ** 2:.3g} (relative {self.determinant_ratio:.2g}); "
                "phi'(u)^2 is concentrated where s is nearly constant; pass damping > 0"
            )

    def _core(self, damping: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Woodbury pieces: (1/D, D^{-1}U, M3) with (G + rho I)^{-1} = diag(1/D) - (D^-1U) M3 (D^-1U)^T."""
        dvec, U, S = self._factors()
        dinv = 1.0 / (dvec + damping)
        DU = dinv[:, None] * U
        K = U.T @ DU
        core = np.eye(3) + K @ S
        cond = np.linalg.cond(core)
        if not np.isfinite(cond) or cond > 1 / SINGULAR_RTOL:
            raise NumericalError(
                f"unit Fisher block is numerically singular (Woodbury core condition {cond:.3g}); "
                "pass damping > 0"
            )
        M3 = S @ np.linalg.inv(core)
        return dinv, DU, 0.5 * (M3 + M3.T)

    def inverse(self, damping: float = 0.0) -> np.ndarray:
        r"""Dense :math:`(G+\rho I)^{-1}` by the explicit formula (no matrix inversion of size n).

        Zero-mean, common-variance inputs (Amari, Karakida & Oizumi 2019, with :math:`v` the variance):

        .. math::

            G^{-1}=\frac{I-\bar e\bar e^\top-e_be_b^\top}{vc_0}+\frac{1}{v(c_0c_2-c_1^2)}
            \big(c_0\bar e\bar e^\top-\sqrt v c_1(\bar ee_b^\top+e_b\bar e^\top)+vc_2e_be_b^\top\big);

        otherwise Woodbury on :math:`G=D+USU^\top`, :math:`D=c_0\,\mathrm{diag}(v,1)`,
        :math:`U=[\tilde\mu,a,e_b]`: :math:`G^{-1}=D^{-1}-D^{-1}U\,S(I+U^\top D^{-1}US)^{-1}U^\top D^{-1}`
        (a 3 x 3 solve).

        Raises
        ------
        geosym.errors.NumericalError
            If the block is singular (dead unit, :math:`c_0c_2\approx c_1^2`) and ``damping`` = 0.

        Examples
        --------
        >>> import numpy as np
        >>> from geosym.natgrad import unit_fisher
        >>> G = unit_fisher("tanh", [1.0, -0.5, 0.25], 0.3)
        >>> bool(np.allclose(G.inverse(damping=1e-3) @ (G.matrix() + 1e-3 * np.eye(4)), np.eye(4)))
        True
        """
        require_memory(
            8.0 * 3 * (self.n + 1) ** 2, f"the dense unit Fisher inverse with n = {self.n}", "n"
        )
        self._check(damping)
        n1 = self.n + 1
        if self.zero_mean:
            v = float(self.input_var[0])
            _, Q2 = self._explicit_2x2(damping)
            ebar = np.append(self._unit_direction(), 0.0)
            eb = np.zeros(n1)
            eb[-1] = 1.0
            out = (np.eye(n1) - np.outer(ebar, ebar) - np.outer(eb, eb)) / (v * self.c[0] + damping)
            basis = np.stack([ebar, eb], axis=1)
            return out + basis @ Q2 @ basis.T
        dinv, DU, M3 = self._core(damping)
        return np.diag(dinv) - DU @ M3 @ DU.T

    def _unit_direction(self) -> np.ndarray:
        if self.r > 0:
            return self.w / np.linalg.norm(self.w)
        e = np.zeros(self.n)
        e[0] = 1.0
        return e

    def _explicit_2x2(self, damping: float) -> tuple[float, np.ndarray]:
        """(complement eigenvalue, inverse of the block on span{e_bar, e_b}) for zero-mean inputs."""
        c0, c1, c2 = (float(x) for x in self.c)
        v = float(self.input_var[0])
        sv = math.sqrt(v)
        a11, a12, a22 = v * c2 + damping, sv * c1, c0 + damping
        det = a11 * a22 - a12 * a12
        if not det > SINGULAR_RTOL * max(a11 * a22, 1e-300):
            raise NumericalError(
                f"unit Fisher block is singular on span(w, bias): determinant {det:.3g}; pass damping > 0"
            )
        return v * c0 + damping, np.array([[a22, -a12], [-a12, a11]]) / det

    def solve(self, v: Any, damping: float = 0.0) -> np.ndarray:
        r""":math:`(G+\rho I)^{-1}v` in O(n) per vector, without forming any matrix.

        For zero-mean inputs and :math:`v=\tilde x` this is the standard-Gaussian-input case
        :math:`G^{-1}\tilde x=\frac{\tilde x-s_x\bar e-e_b}{c_0}
        +\frac{(c_0s_x-c_1)\bar e+(c_2-c_1s_x)e_b}{c_0c_2-c_1^2}`.

        Parameters
        ----------
        v : array, shape (n+1,) or (n+1, k)
            Right-hand side(s).
        damping : float
            :math:`\rho\ge0`.

        Examples
        --------
        >>> import numpy as np
        >>> from geosym.natgrad import unit_fisher
        >>> G = unit_fisher("tanh", [1.0, -0.5, 0.25], 0.3)
        >>> v = np.array([1.0, 2.0, 3.0, 4.0])
        >>> bool(np.allclose(G.matrix() @ G.solve(v), v))
        True
        """
        self._check(damping)
        y = np.asarray(v, dtype=float)
        if y.shape[0] != self.n + 1 or y.ndim > 2:
            raise ValueError(
                f"v must have shape ({self.n + 1},) or ({self.n + 1}, k), got {y.shape}"
            )
        if not np.all(np.isfinite(y)):
            raise ValueError("v must be finite (it has NaN or infinite entries)")
        if self.zero_mean:
            comp, Q2 = self._explicit_2x2(damping)
            e = self._unit_direction()
            pe = e @ y[:-1]  # component along e_bar
            pb = y[-1]
            out = y / comp
            out[:-1] -= np.multiply.outer(e, pe) / comp
            out[-1] = 0.0
            ce = Q2[0, 0] * pe + Q2[0, 1] * pb
            cb = Q2[1, 0] * pe + Q2[1, 1] * pb
            out[:-1] += np.multiply.outer(e, ce)
            out[-1] = cb
            return out
        dinv, DU, M3 = self._core(damping)
        dy = dinv.reshape((-1,) + (1,) * (y.ndim - 1)) * y
        return dy - DU @ (M3 @ (DU.T @ y))

    # -- printing -------------------------------------------------------------------------
    def latex(self) -> str:
        """LaTeX of the c_k (definition and values), G and G^{-1} with symbolic c_0, c_1, c_2.

        Examples
        --------
        >>> import numpy as np
        >>> from geosym.natgrad import unit_fisher
        >>> G = unit_fisher("tanh", [1.0, -0.5, 0.25], 0.3)
        >>> G.latex().startswith("c_k = ")
        True
        """
        c0, c1, c2 = sp.symbols("c_0 c_1 c_2")
        dphi = r"\phi'"
        lines = [
            rf"c_k = \mathbb{{E}}_s\left[{dphi}(r s + b')^2 s^k\right],\quad s\sim\mathcal N(0,1),"
            rf"\quad r = {self.r:.6g},\ b' = {self.offset:.6g}",
            rf"c_0 = {self.c[0]:.12g},\quad c_1 = {self.c[1]:.12g},\quad c_2 = {self.c[2]:.12g}"
            rf"\quad (\text{{{self.method.split(':')[0]}}})",
        ]
        if self.zero_mean:
            v = float(self.input_var[0])
            vs = "" if v == 1.0 else f"{v:.6g}"
            svs = "" if v == 1.0 else rf"\sqrt{{{v:.6g}}}\,"
            det = paper_latex(c0 * c2 - c1**2)
            lines.append(
                rf"G = {vs}{paper_latex(c0)} I_{{n}} \oplus {paper_latex(c0)}"
                rf" + {vs}({paper_latex(c2 - c0)})\,\bar e\bar e^\top"
                rf" + {svs}{paper_latex(c1)}\,(\bar e e_b^\top + e_b \bar e^\top)"
            )
            lines.append(
                rf"G^{{-1}} = \frac{{I - \bar e\bar e^\top - e_b e_b^\top}}{{{vs}{paper_latex(c0)}}}"
                rf" + \frac{{{paper_latex(c0)}\,\bar e\bar e^\top - {svs}{paper_latex(c1)}"
                rf"(\bar e e_b^\top + e_b\bar e^\top) + {vs}{paper_latex(c2)}\, e_b e_b^\top}}"
                rf"{{{vs}({det})}}"
            )
        else:
            lines.append(
                rf"G = {paper_latex(c0)}(\tilde\mu\tilde\mu^\top + \bar V) + {paper_latex(c1)}"
                rf"(\tilde\mu a^\top + a\tilde\mu^\top) + ({paper_latex(c2 - c0)})\, a a^\top,"
                r"\quad a = (Vw/r, 0)"
            )
            lines.append(
                r"G^{-1} = D^{-1} - D^{-1}U\,S\,(I_3 + U^\top D^{-1} U S)^{-1} U^\top D^{-1},"
                rf"\quad D = {paper_latex(c0)}\,\mathrm{{diag}}(v, 1),\ U = [\tilde\mu, a, e_b],\ "
                rf"S = \begin{{pmatrix}} {paper_latex(c0)} & {paper_latex(c1)} & 0\\ "
                rf"{paper_latex(c1)} & {paper_latex(c2 - c0)} & 0\\ 0 & 0 & -{paper_latex(c0)}"
                r"\end{pmatrix}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (vectors only through their norms/means).

        Examples
        --------
        >>> import numpy as np
        >>> from geosym.natgrad import unit_fisher
        >>> G = unit_fisher("tanh", [1.0, -0.5, 0.25], 0.3)
        >>> sorted(G.to_dict())[:4]
        ['activation', 'b', 'c0', 'c1']
        """
        return jsonable(
            {
                "activation": self.activation,
                "n": self.n,
                "w_norm": float(np.linalg.norm(self.w)),
                "b": self.b,
                "r": self.r,
                "offset": self.offset,
                "c0": self.c[0],
                "c1": self.c[1],
                "c2": self.c[2],
                "error": self.error,
                "determinant_ratio": self.determinant_ratio,
                "zero_mean": self.zero_mean,
                "method": self.method,
            }
        )


def _vector(value: Any, n: int, name: str, positive: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of {n} numbers") from None
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 (input variances), got min {arr.min()}")
    return arr


def unit_fisher(
    activation: Activation | str,
    w: Any,
    b: float,
    input_mean: Any = 0.0,
    input_var: Any = 1.0,
) -> UnitFisher:
    r"""The unit Fisher block :math:`G=\mathbb E[\phi'(u)^2\tilde x\tilde x^\top]` in closed form.

    Parameters
    ----------
    activation
        :math:`\phi` (Activation or spec such as ``"tanh"``, ``"relu"``, ``"x*sigmoid(x)"``).
    w : array, shape (n,)
        The unit's incoming weights.
    b : float
        Its bias.
    input_mean, input_var : float or array of shape (n,)
        Mean :math:`\mu` and variances :math:`v` of the (independent Gaussian) inputs; the
        default is :math:`x\sim\mathcal N(0,I_n)`, as in Amari, Karakida & Oizumi (2019).

    Returns
    -------
    UnitFisher
        ``.matrix()``, ``.inverse()``, ``.solve(v)`` (O(n)), ``.latex()``, ``.to_dict()``.

    Notes
    -----
    The coefficients :math:`c_k=\mathbb E[\phi'(rs+b')^2s^k]` come from
    :func:`unit_coefficients`: exact truncated-Gaussian moments when :math:`\phi'^2` is
    piecewise constant (ReLU: :math:`c_0=\Phi(b/r)`, :math:`c_1=\varphi(b/r)`,
    :math:`c_2=\Phi(b/r)-\frac br\varphi(b/r)`), otherwise :func:`geosym.expect` (closed form
    for erf, certified quadrature for tanh). Reference case (mpmath): :math:`|w|=1.5`, :math:`b=0.3`, tanh
    gives :math:`c=(0.32622886436143, -0.057309473106513, 0.04977581596369)`.

    Examples
    --------
    >>> import numpy as np
    >>> G = unit_fisher("relu", np.array([1.5, 0.0, 0.0]), 0.3)
    >>> [round(float(x), 12) for x in G.c]
    [0.579259709439, 0.391042693975, 0.501051170644]
    >>> x = np.array([0.3, -1.0, 2.0, 1.0])
    >>> bool(np.allclose(G.solve(x), np.linalg.solve(G.matrix(), x), rtol=0, atol=1e-12))
    True
    """
    phi = _activation(activation)
    try:
        w_arr = np.asarray(w, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("w must be a 1-D array of weights") from None
    if w_arr.ndim != 1 or w_arr.size < 1:
        raise ValueError(f"w must be a non-empty 1-D array, got shape {w_arr.shape}")
    if not np.all(np.isfinite(w_arr)):
        raise ValueError("w must be finite")
    if isinstance(b, bool) or not isinstance(b, (int, float, np.floating, np.integer)):
        raise TypeError(f"b must be a real number, got {type(b).__name__}")
    if not math.isfinite(float(b)):
        raise ValueError(f"b must be finite, got {b}")
    n = w_arr.size
    mu = _vector(input_mean, n, "input_mean")
    var = _vector(input_var, n, "input_var", positive=True)
    r = float(np.sqrt(np.sum(var * w_arr * w_arr)))
    offset = float(b) + float(w_arr @ mu)
    c, err, method = unit_coefficients(phi, r, offset)
    return UnitFisher(
        phi.name,
        n,
        w_arr.copy(),
        float(b),
        mu,
        var,
        r,
        offset,
        np.asarray(c, float),
        np.asarray(err, float),
        method,
    )


# --------------------------------------------------------------------------------------------
# mean-field predictions for a unit in layer l of a random net
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitBlockPrediction(Result):
    r"""Mean-field prediction of the Fisher block of a typical unit in layer l
    (Karakida, Akaho & Amari 2019 order parameters; Amari, Karakida & Oizumi 2019 unit block).

    The empirical FIM block of unit i of layer l is
    :math:`F_{ii}=\frac1T\sum_t\sum_k\delta^l_{k,i}(t)^2\,\tilde h^{l-1}(t)\tilde h^{l-1}(t)^\top`.
    In the wide limit (gradient independence; derived in :ref:`theory-natgrad`),
    :math:`\delta^l_{k,i}=\phi'(u_i)\beta_{k,i}` with :math:`\mathbb E\beta_{k,i}^2=\sigma_w^2\tilde q_1^{l+1}/M_l`,
    so :math:`F_{ii}\approx\beta^2\,G_i` with :math:`\beta^2=C\sigma_w^2\tilde q_1^{l+1}/M_l`
    (:math:`\beta^2=1` in the output layer, whose units see :math:`\delta=1`) and :math:`G_i` the
    unit block of :func:`unit_fisher` for inputs of per-component variance
    :math:`v=\hat q_1^{l-1}-\hat q_2^{l-1}` and mean square :math:`\hat q_2^{l-1}`. A unit's
    sample-varying pre-activation has scale :math:`r=\sqrt{q_1^l-q_2^l}`; its offset
    :math:`b'=b_i+w_i\cdot\mu` is :math:`\mathcal N(0,q_2^l)` over units. Averaged over units,
    :math:`\bar c_k=\mathbb E[\phi'(u)^2s^k]` with :math:`(u,s)` Gaussian, :math:`\mathrm{Var}\,u=q_1^l`,
    :math:`\mathrm{Var}\,s=1`, :math:`\mathrm{Cov}(u,s)=r`; :math:`\bar c_0=\mathbb E[\phi'(u)^2]`.

    Predicted entries: weight diagonal :math:`\beta^2\bar c_0(v+\mu_j^2)+\dots`, mean over the
    weight diagonal :math:`\beta^2(\bar c_0\hat q_1^{l-1}+O(1/n))`, bias entry :math:`\beta^2\bar c_0`.

    Examples
    --------
    >>> from geosym.natgrad import unit_block_prediction
    >>> pred = unit_block_prediction("tanh", 2.0, 0.1, depth=3, width=500, layer=1)
    >>> pred.fan_in, round(pred.r, 6), round(pred.c[0], 6)
    (500, 1.414214, 0.342182)
    """

    layer: int
    fan_in: int
    width: int
    beta2: float
    r: float
    offset_var: float
    input_var: float
    input_mean2: float
    c: tuple[float, float, float]
    bias_entry: float
    weight_diagonal_mean: float


def unit_block_prediction(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    width: int,
    layer: int,
    outputs: int = 1,
    alphas: Sequence[float] | None = None,
    q1_0: float = 1.0,
    q2_0: float = 0.0,
) -> UnitBlockPrediction:
    r"""Mean-field prediction of the unit Fisher block of layer ``layer`` (1..L) of a random net.

    See :class:`UnitBlockPrediction` for the formulas; order parameters from
    :class:`geosym.MeanField` (Karakida, Akaho & Amari 2019; :ref:`theory-fisher`).

    Examples
    --------
    >>> from geosym.natgrad import unit_block_prediction
    >>> pred = unit_block_prediction("tanh", 2.0, 0.1, depth=3, width=500, layer=1)
    >>> round(pred.bias_entry / pred.beta2, 6)  # = c_0 for the bias entry
    0.342182
    """
    _check_depth(depth)
    _check_alphas(alphas, depth)
    width = _checks.positive_int(width, "width")
    outputs = _checks.positive_int(outputs, "outputs")
    if (
        isinstance(layer, bool)
        or not isinstance(layer, (int, np.integer))
        or not 1 <= layer <= depth
    ):
        raise ValueError(f"layer must be an integer in 1..{depth}, got {layer!r}")
    mf = MeanField(activation, float(sigma_w2), float(sigma_b2))
    fwd = mf.forward(depth, alphas, q1_0, q2_0)
    bwd = mf.backward(depth, alphas, q1_0, q2_0, forward=fwd)
    ws = layer_widths(width, depth, alphas, outputs)
    l = int(layer)
    qh1, qh2 = float(fwd.qh1[l - 1]), float(fwd.qh2[l - 1])
    v = qh1 - qh2
    if l == depth:
        beta2 = 1.0
        c: tuple[float, ...] = (1.0, 0.0, 1.0)  # linear output: phi' = 1
        r = math.sqrt(max(float(fwd.q1[l]) - float(fwd.q2[l]), 0.0))
    else:
        beta2 = outputs * float(sigma_w2) * float(bwd.qt1[l + 1]) / ws[l]
        q1, q2 = float(fwd.q1[l]), float(fwd.q2[l])
        r = math.sqrt(max(q1 - q2, 0.0))
        d = mf.activation.derivative()
        d2 = Activation(d.expr**2, f"({d.name})^2")
        c = tuple(
            float(expect([d2, Activation(X**k, f"x^{k}")], [[q1, r], [r, 1.0]]))
            if k
            else float(expect(d2, [[q1]]))
            for k in range(3)
        )
    return UnitBlockPrediction(
        layer=l,
        fan_in=ws[l - 1],
        width=ws[l],
        beta2=beta2,
        r=r,
        offset_var=float(fwd.q2[l]),
        input_var=v,
        input_mean2=qh2,
        c=c,  # type: ignore[arg-type]
        bias_entry=beta2 * c[0],
        weight_diagonal_mean=beta2 * c[0] * qh1,
    )


@dataclass(frozen=True)
class OffBlockPrediction(Result):
    r"""Mean-field size of the off-block (unit i != j, same layer) Fisher terms relative to the blocks.

    ``ratio[m]`` is the predicted RMS over pairs of :math:`\|F_{ij}\|_F` divided by the mean
    of :math:`\|F_{ii}\|_F` at ``widths[m]`` (see :func:`offblock_ratio`); ``error[m]`` its
    Monte-Carlo standard error; ``kappa[m]`` the input-Gram factor
    :math:`\kappa=\mathbb E[K_{ts}^2]/\mathbb E[K_{tt}^2]` (t != s) at fan-in ``widths[m]``;
    ``coherence`` :math:`\rho=\tilde q_2^l/\tilde q_1^l`; ``backward_coherence``
    :math:`\tilde q_2^{l+1}/\tilde q_1^{l+1}` (the sample correlation of the back-propagated
    factor, 1 for the last hidden layer).

    Examples
    --------
    >>> from geosym.natgrad import offblock_ratio
    >>> off = offblock_ratio("tanh", 2.0, 0.1, depth=3, widths=[100, 1000], layer=1)
    >>> [round(r, 2) for r in off.ratio]  # does not shrink with width
    [0.6, 0.61]
    >>> round(off.coherence, 4)
    0.4983
    """

    layer: int
    widths: tuple[int, ...]
    ratio: tuple[float, ...]
    coherence: float  # qt2/qt1 of layer l
    samples: int
    outputs: int
    error: tuple[float, ...] = ()
    kappa: tuple[float, ...] = ()
    backward_coherence: float = 1.0
    mc_units: int = 0


def _input_fourth_moments(mf: MeanField, fwd: Any, layer: int) -> tuple[float, float]:
    r""":math:`(\mathbb E[h^4], \mathbb E[h_t^2h_s^2])` of one input component of ``layer``.

    Layer 1: Gaussian inputs with :math:`\hat q_1^0, \hat q_2^0` (Isserlis); deeper layers:
    :math:`h=\phi(u)` with the pre-activation variances of layer l-1 (Gaussian engine).
    """
    qh1, qh2 = float(fwd.qh1[layer - 1]), float(fwd.qh2[layer - 1])
    if layer == 1:
        return 3.0 * qh1 * qh1, qh1 * qh1 + 2.0 * qh2 * qh2
    phi = mf.activation
    sq = Activation(phi.expr**2, f"({phi.name})^2")
    q1, q2 = float(fwd.q1[layer - 1]), float(fwd.q2[layer - 1])
    m4 = float(expect(Activation(phi.expr**4, f"({phi.name})^4"), [[q1]]))
    m22 = float(expect([sq, sq], [[q1, q2], [q2, q1]]))
    return m4, m22


def offblock_ratio(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    widths: Sequence[int],
    layer: int,
    outputs: int = 1,
    samples: int = 10,
    *,
    q1_0: float = 1.0,
    q2_0: float = 0.0,
    mc_units: int | None = None,
    seed: int = 0,
) -> OffBlockPrediction:
    r"""Predicted size of the cross-unit Fisher blocks relative to the unit blocks, vs width.

    For hidden layer l < L the layer's empirical FIM has blocks
    :math:`F_{ij}=\frac1T\sum_{t}a_{ij}(t)\,\tilde h(t)\tilde h(t)^\top`,
    :math:`a_{ij}(t)=\sum_k\delta_{k,i}(t)\delta_{k,j}(t)`, :math:`\delta_{k,i}(t)=
    \phi'(u_i(t))\beta_{k,i}(t)`, so with the input Gram :math:`K_{ts}=\tilde h(t)\cdot\tilde h(s)`

    .. math::

        \|F_{ij}\|_F^2=\frac1{T^2}\sum_{t,s}a_{ij}(t)a_{ij}(s)K_{ts}^2
        \approx\frac{\overline{K_{tt}^2}}{T^2}\Big[(1-\kappa)\sum_ta_{ij}(t)^2
        +\kappa\Big(\sum_ta_{ij}(t)\Big)^2\Big],\qquad
        \kappa=\frac{\mathbb E[K_{ts}^2]}{\mathbb E[K_{tt}^2]}
        =\frac{(M\hat q_2+1)^2+M(\mathbb E[h_t^2h_s^2]-\hat q_2^2)}
        {(M\hat q_1+1)^2+M(\mathbb E[h^4]-\hat q_1^2)},

    M the fan-in, :math:`\hat q_{1,2}` the forward order parameters of the layer's input
    (Karakida, Akaho & Amari 2019, as in :class:`geosym.MeanField`), h one input component. In the
    mean-field limit :math:`u_i(t)` is Gaussian over units with variance :math:`q_1^l` and
    sample covariance :math:`q_2^l`, and :math:`\beta_{k,i}(t)` is an independent Gaussian
    with sample correlation :math:`b=\tilde q_2^{l+1}/\tilde q_1^{l+1}` (b = 1 for l = L-1:
    :math:`\beta` is then the unit's output weight), independent over k and units. With
    :math:`\bar c_0=\mathbb E[\phi'(u)^2]`, :math:`\rho=\tilde q_2^l/\tilde q_1^l` and
    :math:`\hat a(t)=\phi'(u(t))^2\sum_k\beta_k(t)^2/\bar c_0` (unit variance for
    :math:`\beta`), derived in :ref:`theory-natgrad`:

    .. math::

        R_l=\frac{\mathrm{RMS}_{i\neq j}\|F_{ij}\|_F}{\overline{\|F_{ii}\|_F}}
        =\frac{\sqrt{C\,T\,(1+\kappa(T-1)\rho^2)}}
        {\mathbb E\sqrt{(1-\kappa)\sum_t\hat a(t)^2+\kappa\big(\sum_t\hat a(t)\big)^2}}.

    The numerator is exact in this model (pairs of independent units); the denominator, the
    mean norm of one unit block, is a T-dimensional Gaussian expectation evaluated by Monte
    Carlo over ``mc_units`` virtual units (fixed ``seed``; ``error`` is its standard error).

    What an earlier version of this formula missed (it gave 20-35 % low ratios in layer 1):
    it took :math:`\kappa=1` (inputs "common to all samples") and :math:`\hat a(t)=C`
    (no unit-to-unit or sample-to-sample spread of :math:`\phi'(u)^2\beta^2`), giving
    :math:`\sqrt{(1+(T-1)\rho^2)/(CT)}`. That is close in the last hidden layer, whose inputs
    are strongly correlated post-activations (:math:`\kappa\approx(\hat q_2/\hat q_1)^2`), but
    the first layer's inputs are the raw, uncorrelated data (:math:`\hat q_2^0=0`,
    :math:`\kappa=O(1/M)`): the cross-sample part of the off-blocks is then suppressed, while
    the unit blocks keep the spread of :math:`\phi'^2\beta^2` (for ReLU :math:`\phi'^2` is 0 on
    half the samples). The finite-width term of :math:`\kappa` is what makes :math:`R_1` grow
    slightly with M at large T.

    **The leading term does not depend on the width.** In the standard parameterisation each
    cross-unit block is as large as a unit block (both :math:`O(1/M)` per entry); what is small
    is not the off-block part (the O(M) outlier :math:`\lambda_{\max}` is built coherently from
    the off-block terms). Amari, Karakida & Oizumi's "small order terms" statement (AISTATS
    2019, abstract) could not be checked against the paper's normalisation; this function
    states what the mean-field calculation gives, and
    :func:`geosym.experiments.natgrad.measure_offblock` checks it (agreement within a few per
    cent for ReLU, tanh and erf, layers 1 and 2, T = 10 and 200, widths 128-512; the residual
    is finite-width and finite-unit-sample bias of the measurement). The output layer is
    exactly block diagonal (R_L = 0).

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, depth
        The network (mean-field parameters).
    widths
        Fan-ins M at which to predict (the layer's input width).
    layer
        1..L.
    outputs, samples
        C and T.
    q1_0, q2_0
        :math:`\hat q_1^0=\|x\|^2/M_0` and :math:`\hat q_2^0=x\cdot x'/M_0` of the data
        (defaults: i.i.d. standard normal inputs, as :func:`geosym.nn.gaussian_inputs`).
    mc_units
        Virtual units of the Monte-Carlo denominator (default: about 2·10^6 / (T·C) values,
        between 2^14 and 2^17).
    seed
        Seed of that Monte Carlo.

    Examples
    --------
    >>> from geosym.natgrad import offblock_ratio
    >>> off = offblock_ratio("tanh", 2.0, 0.1, depth=3, widths=[100, 1000], layer=1)
    >>> [round(k, 5) for k in off.kappa]  # the input-Gram factor does shrink, ~1/M
    [0.00971, 0.001]
    """
    _check_depth(depth)
    if (
        isinstance(layer, bool)
        or not isinstance(layer, (int, np.integer))
        or not 1 <= layer <= depth
    ):
        raise ValueError(f"layer must be an integer in 1..{depth}, got {layer!r}")
    outputs = _checks.positive_int(outputs, "outputs")
    T = _checks.positive_int(samples, "samples")
    ws = tuple(_checks.positive_int(m, "widths") for m in widths)
    C = outputs
    n = (
        max(1 << 14, min(1 << 17, (1 << 21) // (T * C)))
        if mc_units is None
        else _checks.positive_int(mc_units, "mc_units")
    )
    if n < 2:
        raise ValueError(f"mc_units must be at least 2, got {n}")
    mf = MeanField(activation, float(sigma_w2), float(sigma_b2))
    fwd = mf.forward(depth, None, q1_0, q2_0)
    bwd = mf.backward(depth, forward=fwd)
    if layer == depth:
        zeros = tuple(0.0 for _ in ws)
        return OffBlockPrediction(int(layer), ws, zeros, 1.0, T, C, zeros, (), 1.0, 0)
    l = int(layer)
    rho = float(bwd.qt2[l]) / float(bwd.qt1[l])
    b = min(float(bwd.qt2[l + 1]) / float(bwd.qt1[l + 1]), 1.0)
    qh1, qh2 = float(fwd.qh1[l - 1]), float(fwd.qh2[l - 1])
    m4, m22 = _input_fourth_moments(mf, fwd, l)
    kappas = tuple(
        ((m * qh2 + 1.0) ** 2 + m * (m22 - qh2 * qh2))
        / ((m * qh1 + 1.0) ** 2 + m * (m4 - qh1 * qh1))
        for m in ws
    )
    q1, q2 = float(fwd.q1[l]), float(fwd.q2[l])
    c0 = float(mf.backward_map(q1)) / float(sigma_w2)
    if not c0 > 0:
        raise NumericalError(f"offblock_ratio: E[phi'(u)^2] = {c0} at layer {l}")
    d = mf.activation.derivative()
    rng = np.random.default_rng(seed)
    sums = np.empty((2, n))  # per virtual unit: sum_t a^2 and (sum_t a)^2
    rows = max(1, (1 << 20) // (T * C))  # memory-bounded blocks of virtual units
    for i in range(0, n, rows):
        k = min(rows, n - i)
        u = math.sqrt(max(q2, 0.0)) * rng.standard_normal((k, 1))
        u = u + math.sqrt(max(q1 - q2, 0.0)) * rng.standard_normal((k, T))
        with np.errstate(over="ignore", invalid="ignore"):
            g = np.asarray(d(u), dtype=float) ** 2 / c0
        if b >= 1.0 - 1e-12:  # beta constant over samples: its sum_k beta_k^2 factors out (mean C)
            a = C * g
        else:
            beta = math.sqrt(b) * rng.standard_normal((k, C, 1))
            beta = beta + math.sqrt(1.0 - b) * rng.standard_normal((k, C, T))
            a = g * np.einsum("kct,kct->kt", beta, beta)
        sums[0, i : i + k] = np.einsum("kt,kt->k", a, a)
        sums[1, i : i + k] = a.sum(axis=1) ** 2
    if not np.all(np.isfinite(sums)):
        raise NumericalError(f"offblock_ratio: non-finite phi'(u) samples for {mf.activation.name}")
    ratios, errors = [], []
    for kap in kappas:
        norm = np.sqrt((1.0 - kap) * sums[0] + kap * sums[1])
        mean = float(norm.mean())
        value = math.sqrt(C * T * (1.0 + kap * (T - 1.0) * rho * rho)) / mean
        ratios.append(value)
        errors.append(value * float(norm.std(ddof=1)) / mean / math.sqrt(n))
    return OffBlockPrediction(l, ws, tuple(ratios), rho, T, C, tuple(errors), kappas, b, n)


# --------------------------------------------------------------------------------------------
# one-step learning rates (Karakida & Osawa 2020)
# --------------------------------------------------------------------------------------------
def btd_coefficient(depth: int) -> float | None:
    r""":math:`\mathbf 1^\top\mathcal T^{-1}\mathbf 1` for the L x L 0/1 tridiagonal band :math:`\mathcal T`.

    Block tri-diagonal NGD moves the training outputs by :math:`-\eta(\mathbf 1^\top\mathcal
    T^{-1}\mathbf 1)(f-y)` (Karakida & Osawa 2020 and the authors' code). Returns None when
    :math:`\mathcal T` is singular (L = 2 mod 3). Numerically :math:`\lceil L/3\rceil`.

    Examples
    --------
    >>> from geosym.natgrad import btd_coefficient
    >>> btd_coefficient(3), btd_coefficient(4), btd_coefficient(5)
    (1.0, 2.0, None)
    """
    _check_depth(depth)
    Tm = np.eye(depth) + np.eye(depth, k=1) + np.eye(depth, k=-1)
    if depth % 3 == 2:
        return None
    return float(np.ones(depth) @ np.linalg.solve(Tm, np.ones(depth)))


@dataclass(frozen=True)
class OneStepRates(Result):
    r"""One-step learning rates :math:`\eta_{\rm opt}` (f = y after one step, infinite width).

    Attributes: ``exact`` = 1, ``layer`` = 1/L, ``btd`` (None when undefined), ``kfac``,
    ``kfac_ko`` = 1/(NL) (Karakida-Osawa code), ``unit``, ``unit_ko`` = 1/(γ(L-1)M) (code; None
    when γ = 0, e.g. a constant activation, where the formula is undefined),
    ``unit_mean_field`` = T/P, ``gamma`` (fraction of active units per hidden layer, averaged).

    Examples
    --------
    >>> from geosym.natgrad import one_step_learning_rates
    >>> rates = one_step_learning_rates("relu", depth=3, width=100, samples=10)
    >>> rates.exact, round(rates.layer, 6), rates.gamma
    (1.0, 0.333333, 0.5)
    >>> round(rates.kfac, 6), round(rates.kfac_ko, 6)  # 1/(N(L-1)+1) here, 1/(NL) in the published code
    (0.047619, 0.033333)
    """

    depth: int
    width: int
    samples: int
    outputs: int
    activation: str
    gamma: float
    exact: float
    layer: float
    btd: float | None
    kfac: float
    kfac_ko: float
    unit: float
    unit_ko: float | None
    unit_mean_field: float
    n_params: int

    #: the field holding each optimizer's rate, by the names of :data:`geosym.nn.optimizers.METHODS`
    #: (block tri-diagonal NGD, ``btd``, has a rate but no optimizer in :mod:`geosym.nn`)
    METHOD_FIELDS: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "ngd": "exact",
            "ngd-layer": "layer",
            "kfac": "kfac",
            "ngd-unit": "unit",
            "ngd-unit-mf": "unit_mean_field",
        }
    )

    def for_method(self, method: str) -> float:
        """The rate for an optimizer name of :meth:`geosym.nn.MLP.train` (:attr:`METHOD_FIELDS`).

        Examples
        --------
        >>> from geosym.natgrad import one_step_learning_rates
        >>> rates = one_step_learning_rates("relu", depth=3, width=100, samples=10)
        >>> round(rates.for_method("kfac"), 6)
        0.047619
        """
        if method not in self.METHOD_FIELDS:
            raise ValueError(
                f"no one-step rate for method {method!r}; known: {sorted(self.METHOD_FIELDS)}"
            )
        return float(getattr(self, self.METHOD_FIELDS[method]))


def active_fraction(activation: Activation | str, q: float) -> float:
    r""":math:`\gamma=P(\phi'(u)\neq0)`, :math:`u\sim\mathcal N(0,q)` (1 unless :math:`\phi'` vanishes on intervals)."""
    phi = _activation(activation)
    levels = _piecewise_constant_levels(phi)
    if levels is None:
        return 1.0
    kinks, vals = levels
    edges = (-np.inf, *kinks, np.inf)
    sd = math.sqrt(q) if q > 0 else 1e-300
    total = 0.0
    for j, val in enumerate(vals):
        if val != 0.0:
            total += float(special.ndtr(edges[j + 1] / sd) - special.ndtr(edges[j] / sd))
    return total


def one_step_learning_rates(
    activation: Activation | str,
    depth: int,
    width: int,
    samples: int,
    outputs: int = 1,
    sigma_w2: float = 2.0,
    sigma_b2: float = 0.0,
    widths: Sequence[int] | None = None,
) -> OneStepRates:
    r"""Karakida-Osawa one-step learning rates of approximate NGD (Karakida & Osawa, NeurIPS 2020).

    With MSE loss :math:`\frac1{2N}\|f-y\|^2` and damping :math:`\to0`, each method moves the
    training outputs by :math:`\Delta f=-\eta\,\alpha(f-y)` in the wide limit, so
    :math:`\eta_{\rm opt}=1/\alpha`:

    =========================  ==============================================  ============
    method                     :math:`\alpha`                                   source
    =========================  ==============================================  ============
    exact                      1                                                paper + code
    layer block-diagonal       L                                                paper + code
    block tri-diagonal         :math:`\mathbf 1^\top\mathcal T^{-1}\mathbf 1`   paper + code
    K-FAC                      :math:`N(L-1)+1`                                 derived here
    unit-wise (measured)       :math:`\gamma\sum_{l<L}M_l/C+1`                  derived here
    unit-wise (mean-field)     :math:`P/N`                                      derived here
    =========================  ==============================================  ============

    K-FAC: each hidden layer with :math:`M_l\ge CN` and :math:`M_{l-1}+1\ge N` contributes
    :math:`N` (the factor normalisation), the linear output layer (:math:`B_L=I_C`) contributes
    1; the authors' code uses :math:`NL` (``kfac_ko``), which differs by the output layer.
    Unit-wise: hidden unit i contributes 1 on every sample where :math:`\phi'(u_i)\ne0`
    (fraction :math:`\gamma`, 1/2 for ReLU), shared among C outputs, the output layer 1; the
    code's :math:`1/(\gamma(L-1)M)` (``unit_ko``) is the same to :math:`O(1/M)`.
    Mean-field unit blocks (population :math:`G_i`): :math:`\mathbb E[\phi'^2\tilde h^\top
    G_i^{-1}\tilde h]=n_i+1` per unit sums to P, averaged over the N samples.

    Parameters
    ----------
    activation, depth, width, samples, outputs
        :math:`\phi`, L, M, N and C.
    sigma_w2, sigma_b2
        Used only for :math:`\gamma` (the active fraction at the layer variances).
    widths
        Full ``[M_0, ..., M_L]`` (default ``[M]*L + [C]``).

    Examples
    --------
    >>> from geosym.natgrad import one_step_learning_rates
    >>> rates = one_step_learning_rates("relu", depth=3, width=100, samples=10)
    >>> round(rates.unit, 6), round(rates.unit_mean_field, 8)
    (0.009901, 0.00049259)
    """
    _check_depth(depth)
    M = _checks.positive_int(width, "width")
    N = _checks.positive_int(samples, "samples")
    C = _checks.positive_int(outputs, "outputs")
    phi = _activation(activation)
    ws = (
        [M] * depth + [C] if widths is None else [_checks.positive_int(m, "widths") for m in widths]
    )
    if len(ws) != depth + 1:
        raise ValueError(f"widths must have depth + 1 = {depth + 1} entries, got {len(ws)}")
    P = sum(ws[l] * (ws[l - 1] + 1) for l in range(1, depth + 1))
    hidden = ws[1:-1]
    if hidden:
        mf = MeanField(phi, float(sigma_w2), float(sigma_b2))
        fwd = mf.forward(depth)
        gam = [active_fraction(phi, float(fwd.q1[l])) for l in range(1, depth)]
        active = sum(g * m for g, m in zip(gam, hidden, strict=True))
        gamma = active / sum(hidden)
    else:
        gamma, active = 1.0, 0.0
    btd = btd_coefficient(depth)
    return OneStepRates(
        depth=depth,
        width=M,
        samples=N,
        outputs=C,
        activation=phi.name,
        gamma=gamma,
        exact=1.0,
        layer=1.0 / depth,
        btd=None if btd is None else 1.0 / btd,
        kfac=1.0 / (N * (depth - 1) + 1),
        kfac_ko=1.0 / (N * depth),
        unit=1.0 / (active / C + 1.0),
        unit_ko=1.0 / (gamma * max(depth - 1, 1) * M) if gamma > 0 else None,
        unit_mean_field=N / P,
        n_params=P,
    )


# --------------------------------------------------------------------------------------------
# mean subtraction at the output
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeanSubtraction(Result):
    r"""Theory of output mean subtraction (Karakida, Akaho & Amari NeurIPS 2019; :ref:`theory-natgrad`).

    ``lambda_max_before`` :math:`=\alpha M(\kappa_1+(T-1)\kappa_2)/T` (C outliers),
    ``lambda_max_after`` :math:`=\alpha M(\kappa_1-\kappa_2)/T` (the mean of the remaining
    group; at finite M/T the top of that group lies above it), ``factor`` = before / after.

    Examples
    --------
    >>> from geosym.natgrad import mean_subtraction
    >>> ms = mean_subtraction("tanh", 2.0, 0.1, depth=3, width=1000, samples=10)
    >>> round(ms.lambda_max_before, 3), round(ms.lambda_max_after, 3)
    (205.618, 142.172)
    """

    lambda_max_before: float
    lambda_max_after: float
    factor: float
    kappa1: float
    kappa2: float
    alpha: float
    width: int
    samples: int


def mean_subtraction(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    width: int,
    samples: int,
    outputs: int = 1,
    alphas: Sequence[float] | None = None,
) -> MeanSubtraction:
    r"""λ_max of the FIM with and without centring the output over the batch.

    Centring :math:`\tilde f_k(t)=f_k(t)-\frac1T\sum_{t'}f_k(t')` maps the Gram to
    :math:`(I_C\otimes H)JJ^\top(I_C\otimes H)`, :math:`H=I_T-\mathbf 1\mathbf 1^\top/T`, which
    removes exactly the C outlier directions (the mean gradients): :math:`\lambda_{\max}` falls
    from :math:`O(M)` to :math:`O(M/T)` (derived in :ref:`theory-natgrad`).

    Examples
    --------
    >>> from geosym.natgrad import mean_subtraction
    >>> ms = mean_subtraction("tanh", 2.0, 0.1, depth=3, width=1000, samples=10)
    >>> round(ms.factor, 4)
    1.4463
    """
    st = fim_statistics(activation, sigma_w2, sigma_b2, depth, width, outputs, samples, alphas)
    before, after = float(st.lambda_max), float(st.lambda_2)
    if not after > 0:
        raise NumericalError("kappa1 <= kappa2: the centred spectrum is degenerate")
    return MeanSubtraction(
        before,
        after,
        before / after,
        float(st.kappa1),
        float(st.kappa2),
        float(st.alpha),
        int(width),
        int(samples),
    )

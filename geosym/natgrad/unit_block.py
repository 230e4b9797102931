r"""The Fisher block of a single unit and its explicit inverse (Amari, Karakida & Oizumi,
"Fisher Information and Natural Gradient Learning in Random Deep Networks", AISTATS 2019,
arXiv:1808.07172: "a diagonal matrix plus a rank 2 matrix of weight-bias correlations" with an
explicit inverse, abstract). The formulas below are derived in geosym (:ref:`theory-natgrad`),
not transcribed from the paper.


For a unit :math:`u = w\cdot x + b` with input
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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .._memory import require_memory
from ..activations import Activation
from ..activations import activation as _activation
from ..errors import NumericalError
from ..latex import latex as paper_latex
from ..results import Result, jsonable
from .coefficients import unit_coefficients

__all__ = ["UnitFisher", "unit_fisher", "SINGULAR_RTOL"]

#: relative threshold below which c0*c2 - c1^2 (or the Woodbury core) counts as singular
SINGULAR_RTOL = 1e-12


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

    def _covariance_direction(self) -> np.ndarray:
        r"""The direction :math:`a=Vw/r` (the covariance of the input with s); any unit vector
        scaled by :math:`\sqrt v` when r = 0."""
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
        a = np.append(self._covariance_direction(), 0.0)
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

    def _check_invertible(self, damping: float) -> None:
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

    def _woodbury_pieces(self, damping: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        self._check_invertible(damping)
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
        dinv, DU, M3 = self._woodbury_pieces(damping)
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
        self._check_invertible(damping)
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
        dinv, DU, M3 = self._woodbury_pieces(damping)
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
    with np.errstate(over="ignore"):  # an overflowing r is refused by unit_coefficients
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

r"""The Gaussian-expectation engine: :func:`expect` and the :class:`Expectation` result.

:math:`\mathbb E[f_1(u_1)\cdots f_k(u_k)]` for :math:`u\sim\mathcal N(0,\Sigma)`, k = 1..4, where
the :math:`f_i` are activations and :math:`\Sigma` has numeric and/or symbolic entries.  Rules
come first (:mod:`geosym.gaussian.rules`: Wick, Stein, Dirac conditioning, Gaussian absorption,
tilting, the arc-sine law); :func:`sympy.integrate` is tried for k = 1 under a time budget; what
no rule closes becomes a certified numeric node (:mod:`geosym.gaussian.quadrature`), with the
integral split at the kinks and an absolute error bound.
"""

from __future__ import annotations

import functools
import itertools
import math
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..activations import Activation, X, activation
from ..errors import IntegrationError
from ..latex import latex as paper_latex
from .canonical import Factor, NotClosed, Term, canonical_terms
from .covariance import as_covariance, is_numeric
from .piecewise import piecewise_expectation
from .rules import _Context, _schur_remove, reduce_term

__all__ = ["Expectation", "expect", "DEFAULT_TOL"]

#: Default absolute error target of the numeric route (k <= 2).
DEFAULT_TOL = 1e-10
_INTEGRATE_BUDGET_S = 1.0
_METHODS = ("auto", "closed", "numeric")


def _safe_sqrt(z):
    z = np.asarray(z, dtype=float)
    return np.sqrt(np.where((z < 0) & (z > -1e-12 * (1 + np.abs(z))), 0.0, z))


def _safe_asin(z):
    z = np.asarray(z, dtype=float)
    return np.arcsin(np.where(np.abs(z) - 1 < 1e-12, np.clip(z, -1.0, 1.0), z))


_NUMPY_MODULE = {"sqrt": _safe_sqrt, "asin": _safe_asin}


@dataclass(frozen=True, eq=False)
class Expectation:
    r"""Result of :func:`expect`: the same interface whichever route produced it.

    Attributes
    ----------
    functions : tuple of Activation
        :math:`f_1, \dots, f_k`.
    cov : sympy.ImmutableMatrix
        The covariance :math:`\Sigma` of :math:`(u_1,\dots,u_k)`.
    expr : sympy.Expr or None
        Closed form in the entries of ``cov``; None when the value is numeric only.
    method : str
        ``"closed form: <rules>"`` or ``"quadrature: <scheme>"``.
    symbols : tuple of sympy.Symbol
        Free symbols of ``cov``, sorted by name: the arguments of :meth:`numeric`.
    error : float
        Absolute error bound: 0.0 for closed forms; for quadrature the achieved bound when
        ``cov`` is numeric, otherwise the target that every evaluation certifies (an evaluation
        that cannot meet it raises :class:`geosym.IntegrationError`).
    """

    functions: tuple[Activation, ...]
    cov: sp.ImmutableMatrix
    expr: sp.Expr | None
    method: str
    symbols: tuple[sp.Symbol, ...]
    error: float
    tol: float = DEFAULT_TOL
    _value: float | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    # -- numbers ---------------------------------------------------------------------------
    def numeric(self) -> Callable[..., np.ndarray]:
        """A NumPy function of :attr:`symbols` (in that order), vectorised with broadcasting."""
        if "numeric" in self._cache:
            return self._cache["numeric"]
        if self.expr is not None:
            fn = sp.lambdify(
                self.symbols, self.expr, modules=[_NUMPY_MODULE, "scipy", "numpy"], cse=True
            )
            fn = _checked(fn, self)
        else:
            fn = _quadrature_function(self)
        self._cache["numeric"] = fn
        return fn

    def __float__(self) -> float:
        if self.symbols:
            raise TypeError(
                f"this expectation depends on {', '.join(map(str, self.symbols))}; use "
                ".numeric()(...) to evaluate it, or give a numeric cov"
            )
        if self._value is None:
            raise IntegrationError("no value was computed")  # pragma: no cover - by construction
        return self._value

    def evalf(self, precision: int = 30) -> Any:
        """High-precision value (mpmath) for a numeric covariance: the referee path."""
        if self.symbols:
            raise TypeError("evalf needs a numeric cov; substitute the symbols first")
        if self.expr is not None:
            return sp.N(self.expr, precision)
        import mpmath

        from .quadrature import gaussian_expectation_mp

        with mpmath.workdps(precision):
            value, _err = gaussian_expectation_mp(
                [f.mpmath_function for f in self.functions],
                np.array(self.cov.tolist(), dtype=float),
                kinks=[f.kinks for f in self.functions],
                precision=precision,
            )
        return value

    # -- printing --------------------------------------------------------------------------
    def lhs_latex(self) -> str:
        """LaTeX of the expectation being computed, e.g. ``\\mathbb{E}[\\tanh(u_1)\\tanh(u_2)]``."""
        parts = []
        for i, f in enumerate(self.functions, start=1):
            parts.append(paper_latex(f.expr.subs(X, sp.Symbol(f"u{i}", real=True))))
        inner = r" \, ".join(f"\\left({p}\\right)" if len(self.functions) > 1 else p for p in parts)
        return rf"\mathbb{{E}}\left[{inner}\right]"

    def latex(self) -> str:
        """``E[...] = closed form`` or ``E[...] \\approx value`` with its error bound."""
        if self.expr is not None:
            return f"{self.lhs_latex()} = {paper_latex(self.expr)}"
        if self._value is not None:
            return rf"{self.lhs_latex()} \approx {self._value:.12g} \quad (\pm {self.error:.1e})"
        return rf"{self.lhs_latex()} \quad \text{{(certified quadrature, }}\pm {self.error:.0e})"

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "functions": [f.name for f in self.functions],
            "cov": [[str(c) for c in row] for row in self.cov.tolist()],
            "expr": None if self.expr is None else str(self.expr),
            "latex": self.latex(),
            "method": self.method,
            "symbols": [s.name for s in self.symbols],
            "error": self.error,
            "value": self._value,
        }


def _checked(fn: Callable[..., Any], e: Expectation) -> Callable[..., np.ndarray]:
    """Wrap a lambdified closed form: broadcast, and refuse to return NaN silently."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> np.ndarray:
        if len(args) != len(e.symbols):
            raise TypeError(
                f"expected {len(e.symbols)} argument(s) ({', '.join(map(str, e.symbols))}), "
                f"got {len(args)}"
            )
        arrays = [np.asarray(a, dtype=float) for a in args]
        shape = np.broadcast_shapes(*[a.shape for a in arrays]) if arrays else ()
        with np.errstate(all="ignore"):
            out = np.broadcast_to(np.asarray(fn(*arrays), dtype=float), shape)
        if not np.all(np.isfinite(out)):
            raise ValueError(
                f"{e.lhs_latex()}: the closed form is not finite at some of the given points; "
                "check that the covariance values there are positive semi-definite"
            )
        return np.array(out)

    return wrapper


def _cov_arrays(e: Expectation, args: Sequence[Any]) -> np.ndarray:
    """Numeric covariance batch (..., k, k) from symbol values."""
    if len(args) != len(e.symbols):
        raise TypeError(
            f"expected {len(e.symbols)} argument(s) ({', '.join(map(str, e.symbols))}), "
            f"got {len(args)}"
        )
    k = len(e.functions)
    arrays = [np.asarray(a, dtype=float) for a in args]
    shape = np.broadcast_shapes(*[a.shape for a in arrays]) if arrays else ()
    cov = np.empty(shape + (k, k))
    for i, j in itertools.product(range(k), repeat=2):
        entry = sp.lambdify(e.symbols, e.cov[i, j], modules="numpy")
        cov[..., i, j] = np.broadcast_to(entry(*arrays), shape)
    if not np.all(np.isfinite(cov)):
        raise ValueError("covariance values must be finite")
    return cov


def _quadrature_function(e: Expectation) -> Callable[..., np.ndarray]:
    from .quadrature import gaussian_expectation

    funcs = [f.numpy_function for f in e.functions]
    kinks = [f.kinks for f in e.functions]

    def evaluate(*args: Any, return_error: bool = False):
        cov = _cov_arrays(e, args)
        res = gaussian_expectation([_vectorised(f) for f in funcs], cov, kinks=kinks, tol=e.tol)
        return (res.value, res.error) if return_error else res.value

    return evaluate


def _vectorised(fn: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], np.ndarray]:
    def call(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        with np.errstate(all="ignore"):
            out = np.asarray(fn(z), dtype=float)
        return out if out.shape == z.shape else np.broadcast_to(out, z.shape)

    return call


# --------------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------------
def _closed_form(acts: tuple[Activation, ...], cov: sp.ImmutableMatrix) -> tuple[sp.Expr, str]:
    """Sum over canonical terms of each function (linearity), each reduced by the rules."""
    per_function = [canonical_terms(f.expr) for f in acts]
    ctx = _Context()
    ctx.rules.add("linearity")
    total = sp.Integer(0)
    sigma = sp.Matrix(cov)
    for combo in itertools.product(*per_function):
        coeff = sp.Integer(1)
        factors: list[tuple[int, Factor]] = []
        for var, (c, fac) in enumerate(combo):
            coeff *= c
            factors.append((var, fac))
        total += reduce_term(Term(coeff, tuple(factors)), sigma, ctx)
    total = _tidy(total)
    if total.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise NotClosed("the closed form is singular at this covariance")
    rules = sorted(ctx.rules - {"linearity"}) or ["linearity"]
    return total, "closed form: " + ", ".join(rules)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Cheap simplification: full ``simplify`` only for small expressions (it is slow)."""
    ops = sp.count_ops(expr)
    if ops < 25:
        simpler = sp.simplify(expr)
        return simpler if sp.count_ops(simpler) <= ops else expr
    return sp.factor_terms(expr)


class _Timeout(Exception):
    pass


def _integrate_1d(act: Activation, var: sp.Expr) -> sp.Expr | None:
    """Try ``sympy.integrate`` for k = 1 within a time budget; None if it fails or is unsafe."""
    # elementary pieces only; Piecewise (elu, hard_tanh) reliably exhausts the budget
    allowed = (sp.exp, sp.erf, sp.Heaviside, sp.Abs, sp.Max, sp.Min, sp.sign)
    if act.expr.has(sp.Piecewise) or any(
        not isinstance(f, allowed) for f in act.expr.atoms(sp.Function)
    ):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    q = sp.Dummy("q", positive=True)
    density = sp.exp(-(X**2) / (2 * q)) / sp.sqrt(2 * sp.pi * q)

    def on_alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, _INTEGRATE_BUDGET_S)
    try:
        result = sp.integrate(act.expr * density, (X, -sp.oo, sp.oo))
    except (_Timeout, Exception):  # noqa: BLE001 - integrate may raise anything; we fall back
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if result.has(sp.Integral) or result.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    if isinstance(result, sp.Piecewise):
        return None
    return result.subs(q, var)


# --------------------------------------------------------------------------------------------
# Front door
# --------------------------------------------------------------------------------------------
def _numeric_value(acts, cov, tol) -> tuple[float, float, str]:
    from .quadrature import gaussian_expectation

    arr = np.array(cov.tolist(), dtype=float)
    res = gaussian_expectation(
        [_vectorised(f.numpy_function) for f in acts], arr, kinks=[f.kinks for f in acts], tol=tol
    )
    value, error = float(res.value), float(res.error)
    if not math.isfinite(value):
        raise IntegrationError(f"the expectation is not finite at cov = {arr.tolist()}")
    return value, error, res.scheme


def _strip_deltas(acts: tuple[Activation, ...], cov: sp.ImmutableMatrix):
    """Dirac conditioning before quadrature: E[c δ(u_a) h] = c (2πΣ_aa)^(-1/2) E[h | u_a = 0].

    Returns (weight, remaining activations, conditional covariance) or None when there is no
    delta.  Only pure ``c*DiracDelta(s*x)`` functions are conditioned; a delta mixed with other
    terms cannot be integrated numerically and is reported.
    """
    for a, f in enumerate(acts):
        if not f.expr.has(sp.DiracDelta):
            continue
        if f.expr.has(sp.DiracDelta(X) ** 2) or any(
            isinstance(p, sp.Pow) and p.base.has(sp.DiracDelta)
            for p in sp.preorder_traversal(f.expr)
        ):
            raise ValueError(
                f"E[{f.name}] diverges: {f.expr} contains a power of a Dirac delta, which has no "
                "finite Gaussian expectation"
            )
        try:
            ((c, fac),) = canonical_terms(f.expr)
        except (NotClosed, ValueError):
            raise IntegrationError(
                f"{f.name} = {f.expr} contains a Dirac delta that geosym cannot integrate "
                "numerically; only c*DiracDelta(s*x) alone is supported in the numeric route"
            ) from None
        if not fac.delta or fac.power or fac.signs or fac.erfs or fac.gauss != 0 or fac.lin != 0:
            raise IntegrationError(
                f"cannot integrate {f.expr} numerically (delta times a function)"
            )
        weight = c / sp.sqrt(2 * sp.pi * cov[a, a])
        rest = acts[:a] + acts[a + 1 :]
        return weight, rest, sp.ImmutableMatrix(_schur_remove(sp.Matrix(cov), a))
    return None


@functools.lru_cache(maxsize=4096)
def _expect_cached(
    acts: tuple[Activation, ...], cov: sp.ImmutableMatrix, method: str, tol: float
) -> Expectation:
    symbols = tuple(sorted(cov.free_symbols, key=lambda s: s.name))
    numeric_cov = is_numeric(cov)
    if method in ("auto", "closed"):
        try:
            expr, how = _closed_form(acts, cov)
            value = float(expr.evalf()) if numeric_cov else None
            if value is not None and not math.isfinite(value):
                raise NotClosed("closed form is not finite here")
            return Expectation(acts, cov, expr, how, symbols, 0.0, tol, value)
        except NotClosed as why:
            reason = str(why)
        if len(acts) == 1 and cov[0, 0] != 0:
            try:
                expr = _tidy(piecewise_expectation(acts[0], cov[0, 0]))
                value = float(expr.evalf()) if numeric_cov else None
                return Expectation(
                    acts,
                    cov,
                    expr,
                    "closed form: truncated Gaussian moments",
                    symbols,
                    0.0,
                    tol,
                    value,
                )
            except NotClosed:
                pass
            expr = _integrate_1d(acts[0], cov[0, 0])
            if expr is not None:
                value = float(expr.evalf()) if numeric_cov else None
                return Expectation(
                    acts, cov, expr, "closed form: sympy.integrate", symbols, 0.0, tol, value
                )
        if method == "closed":
            raise IntegrationError(f"no closed form found: {reason}")
    stripped = _strip_deltas(acts, cov)
    if stripped is not None:
        weight, rest, cond = stripped
        inner = _expect_cached(rest, cond, method, tol) if rest else None
        if inner is None:
            expr = weight
            return Expectation(
                acts,
                cov,
                expr,
                "closed form: Dirac conditioning",
                symbols,
                0.0,
                tol,
                float(expr) if numeric_cov else None,
            )
        if inner.expr is not None:
            expr = _tidy(weight * inner.expr)
            return Expectation(
                acts,
                cov,
                expr,
                "closed form: Dirac conditioning, " + inner.method.removeprefix("closed form: "),
                symbols,
                0.0,
                tol,
                float(expr.evalf()) if numeric_cov else None,
            )
        raise IntegrationError(
            "a Dirac delta next to a function without closed form is not supported numerically"
        )
    if numeric_cov:
        value, error, scheme = _numeric_value(acts, cov, tol)
        return Expectation(acts, cov, None, f"quadrature: {scheme}", symbols, error, tol, value)
    return Expectation(
        acts,
        cov,
        None,
        "quadrature: certified adaptive rule (per evaluation)",
        symbols,
        tol,
        tol,
        None,
    )


def expect(
    functions: Sequence[Activation | str | sp.Expr] | Activation | str,
    cov: Any,
    *,
    method: str = "auto",
    tol: float = DEFAULT_TOL,
) -> Expectation:
    r"""Gaussian expectation :math:`\mathbb E[f_1(u_1)\cdots f_k(u_k)]`, :math:`u\sim\mathcal N(0,\Sigma)`.

    Parameters
    ----------
    functions : sequence of 1 to 4 activations (or specs accepted by :func:`geosym.activation`)
        A single activation means k = 1.
    cov : k-by-k matrix of numbers and/or SymPy symbols
        The covariance :math:`\Sigma`; symmetric, and positive semi-definite when numeric.
    method : {"auto", "closed", "numeric"}
        ``"auto"`` tries the closed-form rules, then (k = 1) ``sympy.integrate`` under a time
        budget, then certified quadrature; ``"closed"`` raises :class:`geosym.IntegrationError`
        instead of falling back; ``"numeric"`` forces quadrature (to cross-check closed forms).
    tol : float
        Absolute error target of the numeric route (default 1e-10 for k <= 2).

    Returns
    -------
    Expectation
        ``.expr``, ``.method``, ``.symbols``, ``.numeric()``, ``.error``, ``.latex()``,
        ``float(e)`` for numeric ``cov``.

    Examples
    --------
    >>> import sympy as sp, geosym as gs
    >>> q1, q2 = sp.symbols("q1 q2", positive=True)
    >>> gs.expect(["erf", "erf"], [[q1, q2], [q2, q1]]).expr
    2*asin(2*q2/(2*q1 + 1))/pi
    >>> round(float(gs.expect(["relu", "relu"], [[1, 0.5], [0.5, 1]])), 6)
    0.304499
    """
    if isinstance(functions, (str, Activation, sp.Basic)):
        functions = [functions]
    acts = tuple(activation(f) for f in functions)
    if not 1 <= len(acts) <= 4:
        raise ValueError(f"expect takes 1 to 4 functions, got {len(acts)}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    return _expect_cached(acts, as_covariance(cov, len(acts)), method, float(tol))

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
from .rules import ReductionContext, reduce_term, schur_remove

__all__ = ["Expectation", "expect", "evaluate_many", "DEFAULT_TOL"]

#: Default absolute error target of the numeric route (k <= 2).
DEFAULT_TOL = 1e-10
#: k = 3, 4 use tensor rules whose error is an estimate; 1e-10 is out of their reach
_DEFAULT_TOL_K34 = 1e-8
_INTEGRATE_BUDGET_S = 1.0
_METHODS = ("auto", "closed", "numeric")
#: method of an expectation evaluated by certified quadrature at every call
_PER_EVALUATION = "quadrature: certified adaptive rule (per evaluation)"


def _safe_sqrt(z):
    z = np.asarray(z, dtype=float)
    return np.sqrt(np.where((z < 0) & (z > -1e-12 * (1 + np.abs(z))), 0.0, z))


def _safe_asin(z):
    z = np.asarray(z, dtype=float)
    return np.arcsin(np.where(np.abs(z) - 1 < 1e-12, np.clip(z, -1.0, 1.0), z))


#: lambdify module of the closed forms: sqrt and arcsin tolerate rounding just outside their
#: domain (a tiny negative radicand counts as 0, |z| - 1 < 1e-12 is clipped)
GUARDED_NUMPY_FUNCTIONS = {"sqrt": _safe_sqrt, "asin": _safe_asin}


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

    Examples
    --------
    >>> import numpy as np, sympy as sp, geosym as gs
    >>> q = sp.Symbol("q1", positive=True)
    >>> e = gs.expect("relu", [[q]])
    >>> e.expr, e.symbols
    (sqrt(2)*sqrt(q1)/(2*sqrt(pi)), (q1,))
    >>> e.numeric()(np.array([1.0, 4.0])).round(6)  # sqrt(q / (2 pi))
    array([0.398942, 0.797885])
    >>> t = gs.expect(["tanh", "tanh"], [[1.0, 0.5], [0.5, 1.0]])  # no closed form
    >>> t.method.split(":")[0], round(float(t), 8), t.error < 1e-10
    ('quadrature', 0.18632441, True)
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
                self.symbols,
                self.expr,
                modules=[GUARDED_NUMPY_FUNCTIONS, "scipy", "numpy"],
                cse=True,
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
        """High-precision value for a numeric covariance: the referee path.

        Closed forms are evaluated by :func:`sympy.N`; numeric nodes by the adaptive mpmath
        rule :func:`geosym.gaussian.quadrature.gaussian_expectation_mp`, refined until its
        error estimate is below ``10**-precision * max(1, |value|)``.

        Raises
        ------
        geosym.IntegrationError
            The referee cannot reach that accuracy within its evaluation budget (e.g. a fast
            oscillating integrand); it never returns an uncertified value.
        """
        if isinstance(precision, bool) or not isinstance(precision, int) or precision < 1:
            raise ValueError(f"precision must be a positive integer (digits), got {precision!r}")
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
                tol=10.0**-precision,
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
    """Wrap a lambdified closed form: validate the covariance at every point (real, PSD),
    broadcast, and evaluate points where the formula is singular (e.g. zero variance for ReLU's
    arc-cosine kernel) by certified quadrature instead of returning NaN."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> np.ndarray:
        cov = _cov_arrays(e, args)
        arrays = [np.asarray(a, dtype=float) for a in args]
        with np.errstate(all="ignore"):
            out = np.array(np.broadcast_to(np.asarray(fn(*arrays), dtype=float), cov.shape[:-2]))
        bad = ~np.isfinite(out)
        if np.any(bad):
            from .quadrature import gaussian_expectation

            res = gaussian_expectation(
                list(e.functions),
                cov[bad],
                kinks=[f.kinks for f in e.functions],
                tol=e.tol,
            )
            out[bad] = res.value
        return out

    return wrapper


def _cov_arrays(e: Expectation, args: Sequence[Any]) -> np.ndarray:
    """Numeric covariance batch (..., k, k) from symbol values, checked to be a covariance."""
    if len(args) != len(e.symbols):
        raise TypeError(
            f"expected {len(e.symbols)} argument(s) ({', '.join(map(str, e.symbols))}), "
            f"got {len(args)}"
        )
    for name, a in zip(e.symbols, args, strict=True):
        if np.iscomplexobj(a):
            raise TypeError(f"{name} must be real, got complex values")
    k = len(e.functions)
    arrays = [np.asarray(a, dtype=float) for a in args]
    shape = np.broadcast_shapes(*[a.shape for a in arrays]) if arrays else ()
    if "entries" not in e._cache:
        e._cache["entries"] = [
            sp.lambdify(e.symbols, e.cov[i, j], modules="numpy")
            for i, j in itertools.product(range(k), repeat=2)
        ]
    cov = np.empty(shape + (k, k))
    for entry, (i, j) in zip(
        e._cache["entries"], itertools.product(range(k), repeat=2), strict=True
    ):
        cov[..., i, j] = np.broadcast_to(entry(*arrays), shape)
    if not np.all(np.isfinite(cov)):
        raise ValueError("covariance values must be finite")
    scale = np.maximum(1.0, np.max(np.abs(cov), axis=(-2, -1)))
    low = np.linalg.eigvalsh(cov)[..., 0] if k > 1 else cov[..., 0, 0]
    invalid = low < -1e-8 * scale  # rounding in ODE states, Schur complements
    if np.any(invalid):
        where = np.argwhere(invalid)[0] if invalid.ndim else ()
        values = ", ".join(
            f"{s}={np.broadcast_to(a, shape)[tuple(where)]:.6g}"
            for s, a in zip(e.symbols, arrays, strict=True)
        )
        raise ValueError(
            f"the covariance is not positive semi-definite at {values} (point {tuple(where)}); "
            "variances must be >= 0 and |covariance| <= sqrt(product of the variances)"
        )
    return cov


def _quadrature_function(e: Expectation) -> Callable[..., np.ndarray]:
    def evaluate(*args: Any, return_error: bool = False):
        ((value, error),) = _quadrature_many([e], args)
        return (value, error) if return_error else value

    return evaluate


def _quadrature_many(
    group: Sequence[Expectation], args: Sequence[Any]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(value, error) of quadrature-route expectations with one covariance and tolerance, at
    the symbol values ``args``: one :func:`~geosym.gaussian.quadrature.gaussian_expectations`
    run (shared nodes and Gaussian weights)."""
    from .quadrature import gaussian_expectations

    cov = _cov_arrays(group[0], args)
    results = gaussian_expectations(
        [list(e.functions) for e in group],
        cov,
        kinks=[[f.kinks for f in e.functions] for e in group],
        tol=group[0].tol,
    )
    return [(r.value, r.error) for r in results]


def evaluate_many(
    expectations: Sequence[Expectation], *args: Any, return_error: bool = False
) -> list[Any]:
    r"""Evaluate several expectations at the same values of their covariance symbols.

    Equivalent to ``[e.numeric()(*args) for e in expectations]`` (the same values), but
    expectations that are computed by quadrature on the same covariance matrix (e.g. the
    mean-field kernels :math:`\mathbb E[\phi(u_1)\phi(u_2)]` and
    :math:`\mathbb E[\phi'(u_1)\phi'(u_2)]`, Poole et al. 2016, eqs. 3 and 5) are integrated
    together: the covariance batch is built and checked once, and the nodes and Gaussian
    weights of the rule are shared (:func:`~geosym.gaussian.quadrature.gaussian_expectations`).
    Closed forms are evaluated as usual.

    Parameters
    ----------
    expectations : sequence of Expectation
        Results of :func:`expect` with the same :attr:`Expectation.symbols`.
    *args : numbers or arrays
        Values of those symbols, in order (broadcast together).
    return_error : bool
        Return ``(value, error)`` pairs (error bound 0 for closed forms) instead of values.

    Returns
    -------
    list
        One value array (or ``(value, error)`` pair) per expectation, in order.

    Examples
    --------
    >>> import sympy as sp
    >>> q1, q2 = sp.symbols("q1 q2")
    >>> pair = [[q1, q2], [q2, q1]]
    >>> from geosym.activations import activation
    >>> d = activation("tanh").derivative()
    >>> vc, dc = evaluate_many([expect(["tanh", "tanh"], pair), expect([d, d], pair)], 1.0, 0.5)
    >>> round(float(vc), 12), round(float(dc), 12)
    (0.186324413203, 0.384747028441)
    """
    expectations = list(expectations)
    if not all(isinstance(e, Expectation) for e in expectations):
        raise TypeError("evaluate_many takes a sequence of Expectation objects (from expect)")
    if len({e.symbols for e in expectations}) > 1:
        raise ValueError(
            "evaluate_many needs expectations with the same covariance symbols, got "
            + "; ".join(", ".join(map(str, e.symbols)) for e in expectations)
        )
    out: list[Any] = [None] * len(expectations)
    groups: dict[tuple, list[int]] = {}
    for i, e in enumerate(expectations):
        if e.method == _PER_EVALUATION:
            groups.setdefault((e.cov, e.tol), []).append(i)
        elif return_error and e.expr is None:
            out[i] = e.numeric()(*args, return_error=True)
        else:
            value = e.numeric()(*args)
            out[i] = (value, np.zeros(np.shape(value))) if return_error else value
    for members in groups.values():
        pairs = _quadrature_many([expectations[i] for i in members], args)
        for i, (value, error) in zip(members, pairs, strict=True):
            out[i] = (value, error) if return_error else value
    return out


# --------------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------------
def _closed_form(acts: tuple[Activation, ...], cov: sp.ImmutableMatrix) -> tuple[sp.Expr, str]:
    """Sum over canonical terms of each function (linearity), each reduced by the rules."""
    per_function = [canonical_terms(f.expr) for f in acts]
    ctx = ReductionContext()
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
    elementary = (sp.exp, sp.erf, sp.erfc, sp.log, sp.Abs, sp.sign)
    if any(not isinstance(f, elementary) for f in result.atoms(sp.Function)):
        return None  # e.g. meijerg/hyper: no NumPy kernel
    if isinstance(result, sp.Piecewise):
        return None
    return result.subs(q, var)


# --------------------------------------------------------------------------------------------
# Front door
# --------------------------------------------------------------------------------------------
def _numeric_value(acts, cov, tol) -> tuple[float, float, str]:
    from .quadrature import gaussian_expectation

    arr = np.array(cov.tolist(), dtype=float)
    res = gaussian_expectation(list(acts), arr, kinks=[f.kinks for f in acts], tol=tol)
    value, error = float(res.value), float(res.error)
    if not math.isfinite(value):
        raise IntegrationError(f"the expectation is not finite at cov = {arr.tolist()}")
    return value, error, res.scheme


def _delta_split(acts: tuple[Activation, ...], cov: sp.ImmutableMatrix):
    r"""Split the first function containing Dirac deltas into its regular part and its deltas.

    :math:`f_a = r + \sum_j c_j\,\delta(s_j x)` gives, by linearity and Dirac conditioning,
    :math:`\mathbb E[f_a h] = \mathbb E[r\,h] + \sum_j \frac{c_j}{|s_j|\sqrt{2\pi\Sigma_{aa}}}
    \,\mathbb E[h \mid u_a = 0]`.  Returns a list of (weight, activations, covariance) parts, or
    None when no function has a delta.  Deltas away from 0 (conditional means) are not supported
    for k >= 2.
    """
    for a, f in enumerate(acts):
        if not f.expr.has(sp.DiracDelta):
            continue
        if any(
            isinstance(p, sp.Pow) and p.base.has(sp.DiracDelta)
            for p in sp.preorder_traversal(f.expr)
        ):
            raise ValueError(
                f"E[{f.name}] diverges: {f.expr} contains a power of a Dirac delta, which has no "
                "finite Gaussian expectation"
            )
        regular, weight = sp.Integer(0), sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(f.expr)):
            if not term.has(sp.DiracDelta):
                regular += term
                continue
            try:
                ((c, fac),) = canonical_terms(term)
            except (NotClosed, ValueError):
                raise IntegrationError(
                    f"{f.name} = {f.expr}: the term {term} (a Dirac delta away from 0, a "
                    "derivative of a delta, or a delta times a function) has no numeric route"
                ) from None
            if not fac.delta or fac.power or fac.signs or fac.erfs or fac.gauss != 0 or fac.lin:
                raise IntegrationError(f"cannot integrate {term} numerically")
            weight += c
        if cov[a, a].is_zero:
            raise ValueError(
                f"E[{f.name}] diverges: a Dirac delta of a variable with zero variance"
            )
        rest = acts[:a] + acts[a + 1 :]
        parts = [
            (
                weight / sp.sqrt(2 * sp.pi * cov[a, a]),
                rest,
                sp.ImmutableMatrix(schur_remove(sp.Matrix(cov), a)),
            )
        ]
        if regular != 0:
            reg = Activation(regular, f"{f.name} (regular part)")
            parts.append((sp.Integer(1), acts[:a] + (reg,) + acts[a + 1 :], cov))
        return parts
    return None


def _combine(acts, cov, symbols, tol, parts, method: str, expect_fn) -> Expectation:
    """sum_j weight_j * E_j: closed form when every part has one, else numeric with errors."""
    inner = [(w, expect_fn(rest, c) if rest else None) for w, rest, c in parts]
    if all(e is None or e.expr is not None for _, e in inner):
        expr = _tidy(sum(w * (1 if e is None else e.expr) for w, e in inner))
        value = _value(expr) if not symbols else None
        return Expectation(
            acts, cov, expr, "closed form: Dirac conditioning, linearity", symbols, 0.0, tol, value
        )
    if not symbols:
        value = sum(float(w) * (1.0 if e is None else float(e)) for w, e in inner)
        error = sum(abs(float(w)) * (0.0 if e is None else e.error) for w, e in inner)
        return Expectation(
            acts,
            cov,
            None,
            f"quadrature + Dirac conditioning ({method})",
            symbols,
            error,
            tol,
            value,
        )
    weights = [sp.lambdify(symbols, w, modules="numpy") for w, _ in inner]

    def evaluate(*args: Any, return_error: bool = False):
        arrays = [np.asarray(a, dtype=float) for a in args]
        total: Any = 0.0
        err: Any = 0.0
        for wf, (_, e) in zip(weights, inner, strict=True):
            w = np.asarray(wf(*arrays), dtype=float)
            if e is None:
                total = total + w
                continue
            sub = [arrays[symbols.index(s)] for s in e.symbols]
            v, dv = (
                e.numeric()(*sub, return_error=True) if e.expr is None else (e.numeric()(*sub), 0.0)
            )
            total, err = total + w * v, err + np.abs(w) * dv
        return (total, err) if return_error else total

    out = Expectation(
        acts, cov, None, "quadrature + Dirac conditioning (per evaluation)", symbols, tol, tol, None
    )
    out._cache["numeric"] = evaluate
    return out


def _value(expr: sp.Expr) -> float:
    """A closed form at a numeric covariance, evaluated at 30 digits (no float cancellation)."""
    value = complex(sp.N(expr, 30))
    if abs(value.imag) > 1e-12 * (1 + abs(value.real)):
        raise NotClosed(f"the closed form is complex here ({value})")
    if not math.isfinite(value.real):
        raise NotClosed("the closed form is not finite here")
    return value.real


@functools.lru_cache(maxsize=4096)
def _expect_cached(
    acts: tuple[Activation, ...], cov: sp.ImmutableMatrix, method: str, tol: float
) -> Expectation:
    symbols = tuple(sorted(cov.free_symbols, key=lambda s: s.name))
    numeric_cov = is_numeric(cov)
    if method in ("auto", "closed"):
        try:
            expr, how = _closed_form(acts, cov)
            value = _value(expr) if numeric_cov else None
            return Expectation(acts, cov, expr, how, symbols, 0.0, tol, value)
        except NotClosed as why:
            reason = str(why)
        if len(acts) == 1 and cov[0, 0] != 0:
            try:
                expr = _tidy(piecewise_expectation(acts[0], cov[0, 0]))
                value = _value(expr) if numeric_cov else None
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
            value = None
            if expr is not None and numeric_cov:
                try:
                    value = _value(expr)
                except NotClosed:
                    expr = None  # e.g. an infinite value: let the numeric route report it
            if expr is not None:
                return Expectation(
                    acts, cov, expr, "closed form: sympy.integrate", symbols, 0.0, tol, value
                )
        if method == "closed":
            raise IntegrationError(f"no closed form found: {reason}")
    parts = _delta_split(acts, cov)
    if parts is not None:
        return _combine(
            acts, cov, symbols, tol, parts, method, lambda a, c: _expect_cached(a, c, method, tol)
        )
    if numeric_cov:
        value, error, scheme = _numeric_value(acts, cov, tol)
        return Expectation(acts, cov, None, f"quadrature: {scheme}", symbols, error, tol, value)
    return Expectation(acts, cov, None, _PER_EVALUATION, symbols, tol, tol, None)


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
    2*asin(q2/(q1 + 1/2))/pi
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
    if isinstance(tol, bool) or not (
        isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0
    ):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if len(acts) >= 3 and tol == DEFAULT_TOL:
        tol = _DEFAULT_TOL_K34
    return _expect_cached(acts, as_covariance(cov, len(acts)), method, float(tol))

"""Activation functions: a safe expression language, a registry, and the `Activation` object.

An :class:`Activation` is a SymPy expression in the single real symbol ``x`` plus a name.  Its
derivatives, LaTeX, NumPy and mpmath functions and the points where it is not smooth (kinks) all
come from that expression.  User strings are parsed with Python's :mod:`ast` module into a tree of
whitelisted nodes, and the SymPy expression is *built* from that tree; nothing is evaluated and
``sympify``/``eval`` never see the raw string.

Examples
--------
>>> import geosym as gs
>>> phi = gs.activation("x*sigmoid(x)", name="swish")
>>> phi.derivative().name
"swish'"
>>> gs.activation("leaky_relu(x, 0.2)").kinks
(0.0,)
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import sympy as sp

__all__ = [
    "X",
    "Activation",
    "activation",
    "REGISTRY",
    "ALLOWED_FUNCTIONS",
    "sigmoid",
    "softplus",
    "elementwise",
]

#: The single real variable of every activation expression.
X = sp.Symbol("x", real=True)

_MAX_LENGTH = 1000  # characters of a user expression
_MAX_DEPTH = 40  # nesting depth of the expression tree
_MAX_EXPONENT = 64  # |n| in x**n and in numeric powers
_MAX_LITERAL = 1e15  # magnitude of a numeric literal


# --------------------------------------------------------------------------------------------
# Two special functions with stable numerics and their own LaTeX (derivatives stay symbolic).
# --------------------------------------------------------------------------------------------
class sigmoid(sp.Function):  # noqa: N801 - a mathematical function name
    r"""Logistic sigmoid :math:`\sigma(x) = 1/(1+e^{-x})`, with :math:`\sigma' = \sigma(1-\sigma)`.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> sigmoid(0), sp.diff(sigmoid(x), x)
    (1/2, (1 - sigmoid(x))*sigmoid(x))
    """

    @classmethod
    def eval(cls, arg):
        """The value at a number (SymPy's automatic evaluation); unevaluated otherwise."""
        if arg.is_Number:
            return 1 / (1 + sp.exp(-arg))
        return None

    def fdiff(self, argindex=1):  # noqa: D102
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class softplus(sp.Function):  # noqa: N801 - a mathematical function name
    r"""Softplus :math:`\log(1+e^{x})`, whose derivative is the sigmoid.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> softplus(0), sp.diff(softplus(x), x)
    (log(2), sigmoid(x))
    """

    @classmethod
    def eval(cls, arg):
        """The value at a number (SymPy's automatic evaluation); unevaluated otherwise."""
        if arg.is_Number:
            return sp.log(1 + sp.exp(arg))
        return None

    def fdiff(self, argindex=1):  # noqa: D102
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return sp.log(1 + sp.exp(arg))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer):
        return rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"


def _np_sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_softplus(z):
    return np.logaddexp(0.0, z)


def _np_dirac(z):
    # DiracDelta has no pointwise value; its absolutely continuous part is zero.
    return np.zeros_like(np.asarray(z, dtype=float))


_NUMPY_MODULE = {
    "sigmoid": _np_sigmoid,
    "softplus": _np_softplus,
    "DiracDelta": _np_dirac,
}
_MPMATH_MODULE: dict[str, Callable[..., Any]] = {
    "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
    "softplus": lambda z: (
        mpmath.log1p(mpmath.exp(z)) if z < 30 else z + mpmath.log1p(mpmath.exp(-z))
    ),
    "DiracDelta": lambda z: mpmath.mpf(0),
    "Heaviside": lambda z, h0=mpmath.mpf(1) / 2: (
        mpmath.mpf(1) if z > 0 else (mpmath.mpf(0) if z < 0 else h0)
    ),
}


# --------------------------------------------------------------------------------------------
# The whitelist: function names a user expression may call, and how each is built in SymPy.
# --------------------------------------------------------------------------------------------
def _leaky_relu(z, slope=sp.Rational(1, 100)):
    return sp.Piecewise((z, z >= 0), (slope * z, True))


def _elu(z, alpha=sp.Integer(1)):
    return sp.Piecewise((z, z > 0), (alpha * (sp.exp(z) - 1), True))


def _hard_tanh(z):
    return sp.Max(-1, sp.Min(1, z))


def _gelu(z):
    return z * (1 + sp.erf(z / sp.sqrt(2))) / 2


def _silu(z, beta=sp.Integer(1)):
    return z * sigmoid(beta * z)


#: name -> (builder, minimum number of arguments, maximum number of arguments)
ALLOWED_FUNCTIONS: Mapping[str, tuple[Callable[..., sp.Expr], int, int]] = {
    "tanh": (sp.tanh, 1, 1),
    "sinh": (sp.sinh, 1, 1),
    "cosh": (sp.cosh, 1, 1),
    "exp": (sp.exp, 1, 1),
    "log": (sp.log, 1, 1),
    "sqrt": (sp.sqrt, 1, 1),
    "sin": (sp.sin, 1, 1),
    "cos": (sp.cos, 1, 1),
    "atan": (sp.atan, 1, 1),
    "arctan": (sp.atan, 1, 1),
    "erf": (sp.erf, 1, 1),
    "erfc": (sp.erfc, 1, 1),
    "abs": (sp.Abs, 1, 1),
    "sign": (sp.sign, 1, 1),
    "step": (sp.Heaviside, 1, 1),
    "heaviside": (sp.Heaviside, 1, 1),
    "relu": (lambda z: sp.Max(z, 0), 1, 1),
    "leaky_relu": (_leaky_relu, 1, 2),
    "elu": (_elu, 1, 2),
    "hard_tanh": (_hard_tanh, 1, 1),
    "sigmoid": (sigmoid, 1, 1),
    "logistic": (sigmoid, 1, 1),
    "softplus": (softplus, 1, 1),
    "gelu": (_gelu, 1, 1),
    "silu": (_silu, 1, 2),
    "swish": (_silu, 1, 2),
    "gaussian": (lambda z: sp.exp(-(z**2) / 2), 1, 1),
    "linear": (lambda z: z, 1, 1),
    "max": (sp.Max, 2, 2),
    "min": (sp.Min, 2, 2),
}

#: functions whose arguments after the first are numeric parameters (slope, alpha, beta)
_PARAMETRIC = frozenset({"leaky_relu", "elu", "silu", "swish"})

_CONSTANTS: Mapping[str, sp.Expr] = {"x": X, "pi": sp.pi}

#: Registry names usable as a whole spec: ``activation("tanh")`` is ``activation("tanh(x)")``.
REGISTRY: tuple[str, ...] = tuple(
    name
    for name, (_, lo, _hi) in ALLOWED_FUNCTIONS.items()
    if lo == 1 and name not in ("sqrt", "log")
)


def _allowed_names() -> str:
    return ", ".join(sorted(ALLOWED_FUNCTIONS)) + "; variable x; constant pi"


class _Builder:
    """Walks an :mod:`ast` tree of whitelisted nodes and builds the SymPy expression."""

    def __init__(self, source: str) -> None:
        self.source = source

    def reject(self, node: ast.AST, what: str) -> ValueError:
        col = getattr(node, "col_offset", None)
        where = f" at column {col + 1}" if col is not None else ""
        token = ast.get_source_segment(self.source, node) or type(node).__name__
        if len(token) > 40:
            token = token[:37] + "..."
        return ValueError(
            f"activation {self.source[:60]!r}: {what} {token!r}{where} is not allowed. "
            f"Allowed: numbers, + - * / **, unary minus, and calls of: {_allowed_names()}."
        )

    def build(self, node: ast.AST, depth: int = 0) -> sp.Expr:
        if depth > _MAX_DEPTH:
            raise ValueError(
                f"activation expression is nested more than {_MAX_DEPTH} levels deep; simplify it"
            )
        if isinstance(node, ast.Expression):
            return self.build(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            if node.id in ALLOWED_FUNCTIONS:
                raise self.reject(node, f"function name without arguments (write {node.id}(x)):")
            raise self.reject(node, "name")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
        ):
            left = self.build(node.left, depth + 1)
            right = self.build(node.right, depth + 1)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                if right.is_zero:
                    raise self.reject(node, "division by zero in")
                return left / right
            return self._power(node, left, right)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise self.reject(node, "syntax element")

    def _number(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.reject(node, "literal")
        if abs(value) > _MAX_LITERAL or not math.isfinite(value):
            raise self.reject(node, f"number (must be finite and at most {_MAX_LITERAL:g} in size)")
        if isinstance(value, int):
            return sp.Integer(value)
        return sp.Rational(repr(value))  # exact: 0.2 -> 1/5

    def _power(self, node: ast.BinOp, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if exponent.is_Number:
            if abs(exponent) > _MAX_EXPONENT:
                raise self.reject(node, f"exponent larger than {_MAX_EXPONENT} in")
            if base.is_Number and base.is_zero and exponent.is_negative:
                raise self.reject(node, "division by zero in")
            if (
                base.is_Number
                and abs(base) > 1
                and abs(exponent) * math.log10(abs(float(base))) > 15
            ):
                raise self.reject(node, "number too large:")
            return base**exponent
        if X in exponent.free_symbols or not exponent.is_number:
            # e.g. 2**x: fine, the size is bounded by the exponent's own checks
            return base**exponent
        raise self.reject(node, "exponent")

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.reject(node.func, "call target")
        name = node.func.id
        if name not in ALLOWED_FUNCTIONS:
            raise self.reject(node.func, "unknown function")
        if node.keywords:
            raise self.reject(node.keywords[0], f"keyword argument of {name}():")
        builder, lo, hi = ALLOWED_FUNCTIONS[name]
        if not lo <= len(node.args) <= hi:
            raise ValueError(
                f"activation {self.source[:60]!r}: {name}() takes {lo}"
                + (f" to {hi}" if hi != lo else "")
                + f" argument(s), got {len(node.args)}"
            )
        args = [self.build(arg, depth + 1) for arg in node.args]
        for extra, arg_node in zip(args[1:], node.args[1:], strict=False):
            if name in _PARAMETRIC and extra.free_symbols:
                raise self.reject(arg_node, f"parameter of {name}() must be a number, not")
        return builder(*args)


def _parse(spec: str) -> sp.Expr:
    """Parse a user expression in ``x`` safely (whitelisted :mod:`ast` nodes only)."""
    if len(spec) > _MAX_LENGTH:
        raise ValueError(
            f"activation expression is {len(spec)} characters long; the limit is {_MAX_LENGTH}"
        )
    if not spec.strip():
        raise ValueError("activation expression is empty; give e.g. 'tanh' or 'x*sigmoid(x)'")
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:
        raise ValueError(f"activation {spec[:60]!r} is not a valid expression: {exc}") from None
    return _Builder(spec.strip()).build(tree)


# --------------------------------------------------------------------------------------------
# Kinks: the real points where an expression is not smooth, found symbolically.
# --------------------------------------------------------------------------------------------
def _switch_arguments(expr: sp.Expr) -> list[sp.Expr]:
    """Expressions whose zeros are the candidate non-smooth points of ``expr``."""
    out: list[sp.Expr] = []
    for sub in sp.preorder_traversal(expr):
        if isinstance(sub, (sp.Heaviside, sp.DiracDelta, sp.Abs, sp.sign)):
            out.append(sub.args[0])
        elif isinstance(sub, (sp.Max, sp.Min)):
            args = sub.args
            out.extend(a - b for i, a in enumerate(args) for b in args[i + 1 :])
        elif isinstance(sub, sp.Piecewise):
            for _, cond in sub.args:
                if isinstance(cond, sp.core.relational.Relational):
                    out.append(cond.lhs - cond.rhs)
    return [a for a in out if X in a.free_symbols]


def elementwise(
    fn: Callable[[np.ndarray], Any], dtype: type | None = float
) -> Callable[[Any], np.ndarray]:
    """Adapt a NumPy function of one array so that ``f(u)`` is an array of ``u``'s shape.

    The one broadcasting adapter of geosym: a lambdified expression returns a scalar where it is
    constant (``1``, the derivative of ``x``) and may return integers.  The adapted function
    converts ``u`` to float64, evaluates ``fn``, converts the result to ``dtype`` (float64; None
    keeps the result's dtype, e.g. complex, for validation) and broadcasts a result of another
    shape to ``u``'s shape as a new, writable array.  Floating-point warnings follow the
    caller's :func:`numpy.errstate` (a simulation may turn overflow into an error; the adapter
    adds no context manager, which would cost more than the call itself on small arrays).
    :attr:`Activation.array_function` is this adapter applied to
    :attr:`Activation.numpy_function`.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.activations import elementwise
    >>> one = elementwise(lambda u: 1)
    >>> one(np.zeros((2, 3))).shape, one(np.zeros(2)).dtype
    ((2, 3), dtype('float64'))
    """

    def call(u: Any) -> np.ndarray:
        arr = np.asarray(u, dtype=float)
        out = np.asarray(fn(arr), dtype=dtype)
        return out if out.shape == arr.shape else np.broadcast_to(out, arr.shape).copy()

    return call


_KINK_WINDOW = 40.0  # numeric kink search on [-40, 40]: far beyond any Gaussian bulk used here
_MAX_KINKS = 64


def _numeric_roots(arg: sp.Expr) -> list[float]:
    """Sign changes of ``arg`` on a fine grid of [-40, 40], refined by Brent's method."""
    from scipy.optimize import brentq

    fn = sp.lambdify(X, arg, modules=[_NUMPY_MODULE, "scipy", "numpy"])
    grid = np.linspace(-_KINK_WINDOW, _KINK_WINDOW, 80_001)
    with np.errstate(all="ignore"):
        values = elementwise(fn)(grid)
    exact = grid[values == 0]
    signs = np.sign(values)
    change = np.nonzero(signs[:-1] * signs[1:] < 0)[0]
    if change.size + exact.size > _MAX_KINKS:
        raise ValueError(
            f"activation switches where {arg} = 0 at more than {_MAX_KINKS} points in "
            f"[-{_KINK_WINDOW:g}, {_KINK_WINDOW:g}]; geosym needs finitely many kinks"
        )
    roots = [brentq(lambda t: float(fn(t)), grid[i], grid[i + 1], xtol=1e-14) for i in change]
    return [*roots, *exact.tolist()]


def _find_kinks(expr: sp.Expr) -> tuple[float, ...]:
    """Kinks found symbolically (solveset) where possible, else numerically on [-40, 40]."""
    points: set[float] = set()
    for arg in _switch_arguments(expr):
        poly = arg.is_polynomial(X)
        if poly and sp.Poly(arg, X).degree() > 4:
            points.update(_numeric_roots(arg))
            continue
        roots = sp.solveset(arg, X, domain=sp.S.Reals)
        if isinstance(roots, sp.FiniteSet):
            points.update(float(r) for r in roots)
        else:
            points.update(_numeric_roots(arg))
    return tuple(sorted(points))


# --------------------------------------------------------------------------------------------
# The Activation object.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Activation:
    r"""An activation function :math:`\phi(x)` given by a SymPy expression in the real symbol x.

    Parameters
    ----------
    expr : sympy.Expr
        Expression in :data:`X` (the real symbol ``x``) and numbers only.
    name : str
        Display name (``"tanh"``, ``"swish"``, ``"tanh'"`` ...).

    Notes
    -----
    Derivatives of Heaviside steps are Dirac deltas; calling a function that contains
    ``DiracDelta`` evaluates its absolutely continuous part (the delta contributes 0 away from the
    kink).  Gaussian expectations (:func:`geosym.expect`) treat the delta exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym import activation
    >>> relu = activation("relu")
    >>> relu.kinks, relu.is_smooth
    ((0.0,), False)
    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> activation("x*sigmoid(x)", name="swish").derivative().name
    "swish'"
    """

    expr: sp.Expr
    name: str
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.expr, sp.Expr):
            raise TypeError(f"Activation.expr must be a SymPy expression, got {type(self.expr)}")
        extra = self.expr.free_symbols - {X}
        if extra:
            raise ValueError(
                f"activation {self.name!r} depends on {sorted(map(str, extra))}; an activation is a "
                "function of the single variable x (parameters must be numbers)"
            )
        if self.expr.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise ValueError(
                f"activation {self.name!r} has complex or infinite values: {self.expr}"
            )

    # -- identity ---------------------------------------------------------------------------
    @property
    def key(self) -> str:
        """Structural key of the expression (used for caching and equality)."""
        if "key" not in self._cache:
            self._cache["key"] = sp.srepr(self.expr)
        return self._cache["key"]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Activation({self.name!r}, {self.expr})"

    # -- calculus and printing -----------------------------------------------------------------
    def derivative(self, n: int = 1) -> Activation:
        """The n-th derivative, as an Activation named ``name'`` (``name''`` ...)."""
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise ValueError(f"derivative order n must be a non-negative integer, got {n!r}")
        if n == 0:
            return self
        key = ("derivative", int(n))
        if key not in self._cache:
            expr = self.expr
            for _ in range(int(n)):
                expr = _tidy_derivative(sp.diff(_piecewise_to_steps(expr), X))
            self._cache[key] = Activation(expr, self.name + "'" * int(n))
        return self._cache[key]

    def latex(self) -> str:
        r"""LaTeX of :math:`\phi(x)` in paper style (``\arcsin``, ``\sigma``)."""
        from .latex import latex

        return latex(self.expr)

    @property
    def kinks(self) -> tuple[float, ...]:
        """Sorted real points where the function or one of its derivatives jumps."""
        if "kinks" not in self._cache:
            self._cache["kinks"] = _find_kinks(self.expr)
        return self._cache["kinks"]

    @property
    def is_smooth(self) -> bool:
        """True when the function has no kinks."""
        return not self.kinks

    # -- numerics ---------------------------------------------------------------------------
    @property
    def numpy_function(self) -> Callable[[np.ndarray], np.ndarray]:
        """A vectorised NumPy function (float64 in, float64 out)."""
        if "numpy" not in self._cache:
            self._cache["numpy"] = sp.lambdify(
                X, self.expr, modules=[_NUMPY_MODULE, "scipy", "numpy"], cse=True
            )
        return self._cache["numpy"]

    @property
    def mpmath_function(self) -> Callable[[Any], Any]:
        """A scalar mpmath function, for high-precision reference values."""
        if "mpmath" not in self._cache:
            self._cache["mpmath"] = sp.lambdify(X, self.expr, modules=[_MPMATH_MODULE, "mpmath"])
        return self._cache["mpmath"]

    @property
    def array_function(self) -> Callable[[Any], np.ndarray]:
        """:attr:`numpy_function` through :func:`elementwise`: a float64 array of the argument's
        shape, floating-point warnings as the caller's :func:`numpy.errstate` says (cached)."""
        if "array" not in self._cache:
            self._cache["array"] = elementwise(self.numpy_function)
        return self._cache["array"]

    def __call__(self, x: Any) -> np.ndarray:
        """Evaluate elementwise on an array (or scalar); returns float64 of ``x``'s shape
        (:attr:`array_function` with floating-point warnings silenced)."""
        with np.errstate(all="ignore"):
            return self.array_function(x)


def _piecewise_to_steps(expr: sp.Expr) -> sp.Expr:
    """``Piecewise`` with one-comparison conditions as Heaviside combinations, so that ``diff``
    sees the jumps (SymPy differentiates a Piecewise piece by piece and drops them)."""

    def convert(pw: sp.Piecewise) -> sp.Expr:
        (value, cond), rest = pw.args[0], pw.args[1:]
        if cond is sp.true:
            return value
        if not isinstance(cond, sp.core.relational.Relational) or not rest:
            raise ValueError(f"cannot differentiate the condition {cond} across its jump")
        other = convert(sp.Piecewise(*rest)) if rest[0].cond is not sp.true else rest[0].expr
        g = cond.lhs - cond.rhs
        step = (
            sp.Heaviside(g)
            if isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan))
            else (sp.Heaviside(-g))
        )
        return other + (value - other) * step

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), convert)


def _tidy_derivative(expr: sp.Expr) -> sp.Expr:
    r"""Evaluate the coefficient of every first-order delta at its support:
    :math:`g(x)\,\delta(ax+c) \to g(-c/a)\,\delta(ax+c)` (so ``x*DiracDelta(x)`` vanishes)."""
    if not expr.has(sp.DiracDelta):
        return expr  # nothing to tidy: expanding a deep composition would blow it up
    out = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        deltas = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.DiracDelta)]
        if len(deltas) == 1 and len(deltas[0].args) == 1:
            (delta,) = deltas
            roots = sp.solveset(delta.args[0], X, domain=sp.S.Reals)
            if isinstance(roots, sp.FiniteSet) and len(roots) == 1:
                rest = sp.Mul(*[f for f in sp.Mul.make_args(term) if f is not delta])
                term = rest.subs(X, next(iter(roots))) * delta
        out += term
    return out


def _mp_real(act: Activation, x: float) -> bool:
    """True when the high-precision value at x is a real number (so a float NaN was overflow)."""
    try:
        value = mpmath.mpmathify(act.mpmath_function(mpmath.mpf(x)))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return False
    return bool(mpmath.isfinite(value)) and not isinstance(value, mpmath.mpc)


def _validate_numeric(act: Activation) -> None:
    """Reject expressions that are complex or undefined on the real line (e.g. sqrt(x), log(x)).

    On [-8, 8] every value must be finite; out to |x| = 1000 values must not be NaN or complex
    (overflow to +-inf there is only floating point, e.g. exp(x))."""
    far = np.geomspace(8.0, 1e3, 60)
    near = np.concatenate([np.linspace(-8.0, 8.0, 161), [-0.3, 0.3, 0.7]])
    grid = np.concatenate([near, -far, far])
    try:
        with np.errstate(all="ignore"):
            values = elementwise(act.numpy_function, dtype=None)(grid)
    except (TypeError, ValueError, NameError) as exc:
        raise ValueError(
            f"activation {act.name!r} cannot be evaluated numerically: {exc}"
        ) from None
    if np.iscomplexobj(values):
        bad = grid[np.abs(np.imag(values)) > 0]
    else:
        bad = np.concatenate(
            [
                near[~np.isfinite(values[: near.size])],
                grid[near.size :][np.isnan(values[near.size :])],
            ]
        )
    if bad.size and not np.iscomplexobj(values):
        bad = np.array([x for x in bad if not _mp_real(act, x)])  # NaN from overflow (inf * 0)?
    if bad.size:
        raise ValueError(
            f"activation {act.name!r} = {act.expr} is not real and finite on the real line "
            f"(e.g. at x = {bad[0]:g}); geosym needs a real function defined for every real x"
        )
    _check_poles(act)


def _check_poles(act: Activation) -> None:
    """Reject poles (a denominator that vanishes on the real line): Gaussian expectations of such
    functions diverge or are undefined, e.g. 1/(x - 0.05), 1/cos(x), |x|^(-1.5)."""
    for sub in sp.preorder_traversal(act.expr):
        if not (isinstance(sub, sp.Pow) and sub.exp.is_negative and sub.base.has(X)):
            continue
        fn = sp.lambdify(X, sub.base, modules=[_NUMPY_MODULE, "scipy", "numpy"])
        grid = np.linspace(-_KINK_WINDOW, _KINK_WINDOW, 80_001)
        with np.errstate(all="ignore"):
            base = elementwise(fn)(grid)
        signs = np.sign(base)
        crossing = np.nonzero(signs[:-1] * signs[1:] <= 0)[0]
        if not crossing.size:  # a zero without a sign change, e.g. |x - 0.05|
            from scipy.optimize import minimize_scalar

            i = int(np.argmin(np.abs(base)))
            lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
            best = minimize_scalar(
                lambda t, f=fn: abs(float(f(t))),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-12},
            )
            crossing = np.array([i]) if best.fun < 1e-9 else crossing
        if crossing.size:
            raise ValueError(
                f"activation {act.name!r} = {act.expr} has a pole where {sub.base} = 0 (near "
                f"x = {grid[crossing[0]]:.4g}); its Gaussian expectations diverge"
            )


@functools.lru_cache(maxsize=512)
def _activation_from_string(spec: str, name: str | None) -> Activation:
    text = spec.strip()
    if text in REGISTRY:
        builder = ALLOWED_FUNCTIONS[text][0]
        act = Activation(builder(X), name or text)
    else:
        act = Activation(_parse(text), name or text)
    _validate_numeric(act)
    return act


def activation(spec: str | sp.Expr | Activation, name: str | None = None) -> Activation:
    r"""Make an :class:`Activation` from a registry name, a safe expression in ``x`` or SymPy.

    Parameters
    ----------
    spec : str, sympy.Expr or Activation
        A registry name (``"tanh"``, ``"relu"``, ``"gelu"`` ... see :data:`REGISTRY`), an
        expression in ``x`` using numbers, ``+ - * / **`` and the functions in
        :data:`ALLOWED_FUNCTIONS` (``"erf(x/sqrt(2))"``, ``"leaky_relu(x, 0.2)"``,
        ``"x*sigmoid(x)"``), a SymPy expression in one symbol (renamed to ``x``), or an
        Activation (returned as is, or renamed).
    name : str, optional
        Display name; defaults to the spec.

    Raises
    ------
    ValueError
        Unknown names, other variables, disallowed syntax (attributes, subscripts, lambdas,
        strings, keywords ...), over-long or over-nested input, or a function that is complex or
        undefined somewhere on the real line.  The message names the offending token and lists
        what is allowed.
    TypeError
        ``spec`` is of another type.

    Examples
    --------
    >>> from geosym import activation
    >>> activation("x*sigmoid(x)", name="swish")
    Activation('swish', x*sigmoid(x))
    >>> print(activation("x*sigmoid(x)").latex())
    x \sigma\left(x\right)
    >>> activation("__import__('os')")
    Traceback (most recent call last):
    ...
    ValueError: activation "__import__('os')": unknown function '__import__' at column 1 is not allowed. ...
    """
    if isinstance(spec, Activation):
        return spec if name is None else Activation(spec.expr, name)
    if isinstance(spec, str):
        return _activation_from_string(spec, name)
    if isinstance(spec, sp.Basic):
        if not isinstance(spec, sp.Expr) or isinstance(spec, sp.MatrixBase):
            raise TypeError(
                f"activation spec must be a scalar SymPy expression, got {type(spec).__name__}"
            )
        expr = spec
        symbols = expr.free_symbols
        if len(symbols) > 1:
            raise ValueError(
                f"activation {expr} depends on {sorted(map(str, symbols))}; give a function of one "
                "variable"
            )
        if symbols:
            (sym,) = symbols
            expr = expr.subs(sym, X)
        act = Activation(expr, name or str(spec))
        _validate_numeric(act)
        return act
    raise TypeError(
        f"activation spec must be a string, a SymPy expression or an Activation, got "
        f"{type(spec).__name__}"
    )

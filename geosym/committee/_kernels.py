r"""Kernels of the committee integrals: the engine's closed forms, compiled for the ODE.

A kernel (:class:`Kernel`) evaluates one family :math:`I_2, J_2, I_3, I_4` (see
:mod:`geosym.committee.integrals`) from the upper-triangle entries of its covariance, broadcasting.
:func:`engine_kernels` takes the closed forms :func:`geosym.expect` finds (erf, linear, ReLU
arc-cosine kernels, the Stein reduction of :math:`I_3`).  For the ODE's right-hand side these
closed forms are re-evaluated cheaply:

* :func:`plain_lambdify` -- without the engine's per-call guards, wrapped in
  :class:`GuardedKernel` (the guarded engine kernel is the fallback where the fast one is not
  finite);
* :class:`ShapeCompiler` -- the :math:`I_4` closed form compiled into a list of NumPy operations
  that keep factors depending on fewer indices at their small broadcast size and evaluate only
  the triangle :math:`c \le d` (after :func:`horner_by_axes`).

Every fast form is checked against the engine's kernel at :func:`random_psd_entries` before the
provider uses it.

Examples
--------
>>> import sympy as sp
>>> from geosym.committee._kernels import COVARIANCE_SYMBOLS, ShapeCompiler
>>> c11, c12, c22 = COVARIANCE_SYMBOLS[2]
>>> axes = {c11: frozenset("a"), c12: frozenset("ab"), c22: frozenset("b")}
>>> compiler = ShapeCompiler(COVARIANCE_SYMBOLS[2], axes, {"a": 3, "b": 3})
>>> f = compiler.compile(c12 / sp.sqrt(c11 * c22))
>>> float(f(4.0, 1.0, 1.0))
0.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import sympy as sp

from ..activations import Activation
from ..gaussian.engine import GUARDED_NUMPY_FUNCTIONS

__all__ = [
    "COVARIANCE_SYMBOLS",
    "GuardedKernel",
    "Kernel",
    "ShapeCompiler",
    "Uncompilable",
    "clipped_arcsin",
    "engine_kernel",
    "engine_kernels",
    "guarded_lambdify",
    "horner_by_axes",
    "plain_lambdify",
    "random_psd_entries",
    "symbolic_covariance",
]


class Uncompilable(Exception):
    """An expression the shape compiler does not handle: use the engine's kernel instead."""


#: symbols ``c11, c12, ..., ckk`` of the upper triangle (row-major) of a k x k covariance
COVARIANCE_SYMBOLS = {
    k: sp.symbols(" ".join(f"c{a}{b}" for a in range(1, k + 1) for b in range(a, k + 1)))
    for k in (2, 3, 4)
}


def symbolic_covariance(k: int) -> sp.Matrix:
    """The symmetric k x k matrix of :data:`COVARIANCE_SYMBOLS`."""
    s = iter(COVARIANCE_SYMBOLS[k])
    m = sp.zeros(k, k)
    for a in range(k):
        for b in range(a, k):
            m[a, b] = m[b, a] = next(s)
    return m


@dataclass
class Kernel:
    """One family's kernel: ``func(*upper_triangle_entries)`` (broadcasting) plus provenance."""

    func: Callable[..., np.ndarray]
    method: str
    latex: str | None = None
    expr: Any = None


def engine_kernel(res: Any, k: int) -> Kernel | None:
    """Turn an engine :class:`~geosym.gaussian.Expectation` with a closed form into an
    entry-wise kernel (None without a closed form)."""
    if getattr(res, "expr", None) is None:
        return None
    num = res.numeric()
    names = [str(s) for s in res.symbols]
    all_names = [str(s) for s in COVARIANCE_SYMBOLS[k]]
    pos = [all_names.index(nm) for nm in names]

    def func(*entries: np.ndarray) -> np.ndarray:
        shape = np.broadcast_shapes(*(np.shape(e) for e in entries))
        val = num(*(entries[p] for p in pos))
        return np.broadcast_to(np.asarray(val, dtype=float), shape)

    latex = res.latex() if hasattr(res, "latex") else None
    return Kernel(
        func=func,
        method=f"engine: {getattr(res, 'method', 'closed form')}",
        latex=latex,
        expr=res.expr,
    )


def guarded_lambdify(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> Callable[..., np.ndarray]:
    """Guarded evaluation (the engine's conventions: tiny negative radicands count as 0)."""
    f = sp.lambdify(symbols, expr, modules=[GUARDED_NUMPY_FUNCTIONS, "numpy"], cse=True)

    def call(*args: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = np.asarray(f(*args), dtype=float)
        if not np.isfinite(out).all():
            raise ValueError("closed form not finite (covariance not PSD?)")
        return out

    return call


def engine_kernels(g: Activation) -> dict[str, Kernel]:
    """Closed-form kernels from :func:`geosym.expect`, where it finds one."""
    from ..gaussian import expect

    dg = g.derivative(1)
    out: dict[str, Kernel] = {}
    specs: dict[str, tuple[list[Activation | str], int]] = {
        "I2": ([g, g], 2),
        "J2": ([dg, dg], 2),
        "I3": ([dg, "x", g], 3),
        "I4": ([dg, dg, g, g], 4),
    }
    for fam, (funcs, k) in specs.items():
        try:
            res = expect(funcs, symbolic_covariance(k))
        except (Uncompilable, ValueError, TypeError):
            continue
        kern = engine_kernel(res, k)
        if kern is not None:
            out[fam] = kern
    return out


# --------------------------------------------------------------------------------------------
# shape-aware compilation of closed forms (evaluation on broadcast index blocks)
# --------------------------------------------------------------------------------------------
def clipped_arcsin(z: np.ndarray) -> np.ndarray:
    """``arcsin`` of ``z`` clipped to [-1, 1] (rounding just outside the domain)."""
    return np.arcsin(np.clip(z, -1.0, 1.0))


#: the operations of :class:`ShapeCompiler` kernels
_OPERATIONS: dict[str, Callable[..., np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "**": np.power,
    "neg": np.negative,
    "recip": np.reciprocal,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "square": np.square,
    "asin": clipped_arcsin,
    "atan": np.arctan,
    "exp": np.exp,
    "log": np.log,
    "abs": np.abs,
    "sign": np.sign,
    "gather_cd": lambda a, cu, du: a[:, cu, du],
    "gather_c": lambda a, cu, du: a[:, cu, 0],
    "gather_d": lambda a, cu, du: a[:, 0, du],
    "gather_pair": lambda a, cu, du: a[:, :, 0],
}


class ShapeCompiler:
    r"""Compile a closed form into a list of NumPy operations, cheap on *broadcast* arguments.

    Each symbol is assigned a set of broadcast axes with known lengths.  For :math:`I_4` on the
    committee block: :math:`c_{11}, c_{12}, c_{22}` depend on the student pair only (axis
    ``pair``), :math:`c_{13}, c_{23}` on the pair and the third field (``c``), :math:`c_{14},
    c_{24}` on the pair and the fourth field (``d``), :math:`c_{33}` on ``c``, :math:`c_{44}` on
    ``d`` and :math:`c_{34}` on ``(c, d)``; arguments are 3-D arrays (pair, c, d) with
    length-1 axes where an entry does not depend on an index.

    * Sums and products are associated greedily, smallest broadcast size first, so that e.g.
      all pair-only factors are combined before a single multiplication at full size.
    * With ``tri`` (index arrays ``_cu, _du`` of the upper triangle ``c <= d``), every node
      that depends on both ``c`` and ``d`` is evaluated only on that triangle (the integral is
      symmetric under ``c <-> d``): its operands are gathered to shape (pair, n_tri) just
      before the first full-size operation, while everything that depends on only one of
      them stays at its small broadcast size.
    * Common sub-expressions are evaluated once.

    Together with :func:`horner_by_axes` this cuts the full-size operations of the erf
    :math:`I_4` from about 35 to about 10.  The compiled kernel is checked against the
    engine's kernel at random PSD covariances before it is used.
    """

    def __init__(
        self,
        symbols: Sequence[sp.Symbol],
        axes: dict[sp.Symbol, frozenset],
        sizes: dict[str, int],
        tri: tuple[str, str] | None = None,
    ) -> None:
        self.symbols = list(symbols)
        self.axes = axes
        self.sizes = sizes
        self.tri = tri
        self.ops: list[tuple[str, str, tuple[str, ...]]] = []  # (result, op, operands)
        self.memo: dict[Any, tuple[str, frozenset, bool]] = {}
        self.n = 0

    def _size(self, ax: frozenset) -> int:
        s = 1
        for a in ax:
            s *= self.sizes[a]
        if self.tri is not None and set(self.tri) <= ax:
            s //= 2
        return s

    def _is_full(self, ax: frozenset) -> bool:
        return self.tri is not None and set(self.tri) <= ax

    def _new(
        self,
        op: str,
        operands: tuple[str, ...],
        ax: frozenset,
        tri: bool,
    ) -> tuple[str, frozenset, bool]:
        key = ("op", op, operands)  # the same operation on the same operands is computed once
        if key in self.memo:
            return self.memo[key]
        name = f"t{self.n}"
        self.n += 1
        self.ops.append((name, op, operands))
        self.memo[key] = (name, ax, tri)
        return self.memo[key]

    def _lift(self, item: tuple[str, frozenset, bool]) -> str:
        """Operand name in the triangle layout (gathered once, memoised)."""
        name, ax, tri = item
        if tri or not ax:
            return name
        key = ("lift", name)
        if key not in self.memo:
            c, d = self.tri  # type: ignore[misc]
            op = {
                (True, True): "gather_cd",
                (True, False): "gather_c",
                (False, True): "gather_d",
                (False, False): "gather_pair",
            }[(c in ax, d in ax)]
            self.memo[key] = self._new(op, (name, "_cu", "_du"), ax, True)
        return self.memo[key][0]

    def _binary(self, a, b, op: str):
        ax = a[1] | b[1]
        if a[2] or b[2] or self._is_full(ax):
            return self._new(op, (self._lift(a), self._lift(b)), ax, True)
        return self._new(op, (a[0], b[0]), ax, False)

    def _combine(self, items: list, op: str):
        items = list(items)
        while len(items) > 1:
            items.sort(key=lambda it: self._size(it[1]))
            items = [self._binary(items[0], items[1], op)] + items[2:]
        return items[0]

    def _unary(self, op: str, e: sp.Expr):
        an, ax, tri = self.emit(e)
        return self._new(op, (an,), ax, tri)

    def emit(self, e: sp.Expr):
        if e in self.memo:
            return self.memo[e]
        if e.is_Symbol:
            # an argument on both triangle axes is passed already gathered to the triangle
            out = (str(e), self.axes[e], self._is_full(self.axes[e]))
        elif not e.free_symbols:  # constants are folded
            out = (repr(float(e)), frozenset(), False)
        elif e.is_Add:
            # a sum of positive terms minus a sum of negated ones: no ``-1.0 * t`` operations
            neg = [a for a in e.args if a.as_coeff_Mul()[0] < 0]
            pos = [self.emit(a) for a in e.args if a.as_coeff_Mul()[0] >= 0]
            if not neg:
                out = self._combine(pos, "+")
            else:
                sub = self._combine([self.emit(-a) for a in neg], "+")
                if pos:
                    out = self._binary(self._combine(pos, "+"), sub, "-")
                else:
                    out = self._unary("neg", -e)
        elif e.is_Mul:
            coeff, rest = e.as_independent(*e.free_symbols, as_Add=False)  # folded constant
            num = []
            for f in sp.Mul.make_args(rest):
                b, ex = f.as_base_exp()
                if ex.is_Number and ex < 0:
                    # each reciprocal is cheapest at its denominator's own (small) size
                    num.append(self._unary("recip", b ** (-ex)))
                else:
                    num.append(self.emit(f))
            if coeff != 1:
                num.append((repr(float(coeff)), frozenset(), False))
            out = self._combine(num, "*")
        elif e.is_Pow:
            b, ex = e.args
            if ex == sp.Rational(1, 2):
                out = self._unary("sqrt", b)
            elif ex == sp.Rational(-1, 2):
                out = self._unary("rsqrt", b)
            elif ex == 2:
                out = self._unary("square", b)
            elif ex == -1:
                out = self._unary("recip", b)
            else:
                out = self._binary(self.emit(b), self.emit(ex), "**")
        else:
            fn = {
                sp.asin: "asin",
                sp.atan: "atan",
                sp.exp: "exp",
                sp.log: "log",
                sp.Abs: "abs",
                sp.sign: "sign",
            }.get(type(e))
            if fn is None or len(e.args) != 1:
                raise Uncompilable(type(e).__name__)
            out = self._unary(fn, e.args[0])
        self.memo[e] = out
        return out

    def compile(self, expr: sp.Expr) -> Callable[..., np.ndarray]:
        """A kernel ``f(*entries, _cu=None, _du=None)`` running the emitted operation list.

        Operands live in a list of slots: the arguments, the triangle index arrays, the folded
        constants, then one slot per operation; no source code is generated or executed.
        ``f.source`` is a readable listing of the operations.
        """
        result, _, _ = self.emit(expr)
        names = [str(s) for s in self.symbols] + ["_cu", "_du"]
        slot = {nm: i for i, nm in enumerate(names)}
        consts = sorted(
            {o for _, _, ops in self.ops for o in ops if o not in slot}
            - {name for name, _, _ in self.ops}
        )
        for c in consts:  # literals emitted by emit(): repr(float(...))
            slot[c] = len(slot)
        for name, _, _ in self.ops:
            slot[name] = len(slot)
        # itemgetter fetches the operands in C; a unary getter returns the operand itself
        program = [
            (slot[name], _OPERATIONS[op], itemgetter(*(slot[o] for o in ops)), len(ops) == 1)
            for name, op, ops in self.ops
        ]
        init = [None] * len(names) + [float(c) for c in consts] + [None] * len(self.ops)
        n_args, out = len(self.symbols), slot.get(result)

        def kernel(*args: np.ndarray, _cu: Any = None, _du: Any = None) -> np.ndarray:
            if len(args) != n_args:
                raise TypeError(f"kernel takes {n_args} covariance entries, got {len(args)}")
            regs: list[Any] = list(init)
            regs[:n_args] = args
            regs[n_args], regs[n_args + 1] = _cu, _du
            for dst, fn, get, unary in program:
                regs[dst] = fn(get(regs)) if unary else fn(*get(regs))
            return regs[out] if out is not None else np.asarray(float(result))

        kernel.source = (  # type: ignore[attr-defined]
            "\n".join(f"{name} = {op}({', '.join(ops)})" for name, op, ops in self.ops)
            + f"\nreturn {result}"
        )
        return kernel


def horner_by_axes(
    expr: sp.Expr,
    symbols: Sequence[sp.Symbol],
    order: Sequence[sp.Symbol],
) -> sp.Expr:
    """Split square roots of products and collect polynomial sums by ``order`` (see above)."""
    ex = sp.expand_power_base(sp.powdenest(expr, force=True), force=True)
    ex = sp.powdenest(ex, force=True)

    def rec(n: sp.Expr) -> sp.Expr:
        if n.is_Atom:
            return n
        n = n.func(*[rec(a) for a in n.args])
        if n.is_Add and n.is_polynomial(*symbols):
            n = sp.collect(sp.expand(n), list(order))
        return n

    return rec(ex)


def plain_lambdify(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> Callable[..., np.ndarray]:
    """Lambdify with CSE and unguarded ``sqrt`` / clipped ``asin`` (callers check finiteness)."""
    return sp.lambdify(
        symbols, expr, modules=[{"asin": clipped_arcsin, "sqrt": np.sqrt}, "numpy"], cse=True
    )


def random_psd_entries(k: int, n: int, seed: int = 7) -> np.ndarray:
    """Upper-triangle entries of ``n`` random PSD k x k covariances (some nearly singular)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, k, k + 1)) * rng.uniform(0.2, 1.5, (n, 1, 1))
    c = a @ np.swapaxes(a, 1, 2) / (k + 1)
    c[: n // 4, 1] = c[: n // 4, 0]  # duplicate rows/columns: singular covariances
    c[: n // 4, :, 1] = c[: n // 4, :, 0]
    iu = np.triu_indices(k)
    return c[:, iu[0], iu[1]]


class GuardedKernel:
    """Fast kernel with a guarded fallback: if the fast result is not finite anywhere (rounding
    at a singular covariance, or a covariance that is not PSD), evaluate the engine's guarded
    kernel instead; where even that fails the result is NaN (the ODE reports it)."""

    def __init__(self, fast: Callable[..., np.ndarray], safe: Callable[..., np.ndarray]) -> None:
        self.fast, self.safe = fast, safe

    def __call__(self, *args: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = self.fast(*args)
        if np.isfinite(out).all():
            return out
        try:
            return self.safe(*args)
        except ValueError:
            return np.full(np.shape(out), np.nan)

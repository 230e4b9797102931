r"""Batched Gaussian integrals of the committee-machine ODEs.

The order-parameter ODEs of a two-layer network (Saad & Solla 1995; Goldt et al. 2019) need four
families of Gaussian expectations over sub-blocks of the field covariance

.. math::

    C = \begin{pmatrix} Q & R \\ R^\top & T \end{pmatrix},

.. math::

    I_2(a,b) = \langle g(u_a) g(u_b)\rangle, \quad
    J_2(a,b) = \langle g'(u_a) g'(u_b)\rangle, \quad
    I_3(a,b,c) = \langle g'(u_a)\, u_b\, g(u_c)\rangle, \quad
    I_4(a,b,c,d) = \langle g'(u_a) g'(u_b) g(u_c) g(u_d)\rangle,

where the covariance of each integral is the sub-matrix of :math:`C` for its arguments, in
argument order.  :class:`IntegralProvider` evaluates each family for *all* index tuples at once:
the ODE passes broadcastable integer index arrays, the provider gathers the covariance entries
with fancy indexing (so that an entry that depends on fewer indices keeps its smaller broadcast
shape) and calls one vectorised kernel per family.

Kernels come from the Gaussian-expectation engine :func:`geosym.expect` (closed forms: erf,
linear, ReLU arc-cosine kernels, Stein reduction of :math:`I_3`).  Where the engine has no closed
form the provider uses its own *fixed* (hence smooth in :math:`C`, safe inside an adaptive ODE
solver) vectorised Gauss--Hermite rules:

* :math:`I_2, J_2` and the two 2-D factors of the Stein reduction
  :math:`I_3(a,b,c) = C_{ab}\langle g''(u_a)g(u_c)\rangle + C_{bc}\langle g'(u_a)g'(u_c)\rangle`
  by a 2-D tensor rule;
* :math:`I_4` by a 4-D tensor rule, nested along a pivot-free Cholesky factor
  :math:`u = L\xi` so that :math:`g'(u_1)` is evaluated on :math:`n` points, :math:`g'(u_2)` on
  :math:`n^2`, :math:`g(u_3)` on :math:`n^3` and only :math:`g(u_4)` on :math:`n^4`.  Index
  tuples are canonicalised under the symmetries :math:`a\leftrightarrow b`,
  :math:`c\leftrightarrow d` and deduplicated before evaluation.  A zero pivot (singular
  covariance, e.g. the plateau where student units coincide) is handled by dropping that
  direction, which is exact for PSD matrices.  Tuples with repeated indices (e.g.
  :math:`I_4(i,i,c,e)`, :math:`I_4(i,k,c,c)`, :math:`I_4(i,k,i,e)`) are evaluated as the
  :math:`r`-dimensional integral over their :math:`r` distinct fields, the factors of a repeated
  field multiplied into one function: the same value as the 4-D rule (whose pivots for the
  repeats are zero) on :math:`n^r` instead of :math:`n^4` points.  For :math:`K=M=3` only 18 of
  the 126 tuples of the ODE are 4-D, which makes the numeric :math:`I_4` about 8 times cheaper.

For tanh the 4-D rule converges slowly (the poles of :math:`\mathrm{sech}^2` at
:math:`\pm i\pi/2`: error 1.7e-2 at ``n4=12`` and 1.7e-3 at 24 on the covariances of a
:math:`K=M=3` run), so its :math:`I_4` is instead the exact :math:`I_4` of a six-term erf mixture
:math:`\sum_k a_k\,\mathrm{erf}(b_kx)` (:func:`_mixture_i4`): a sum of the closed form of Saad &
Solla (1995) at scaled covariances, with an error bound from the measured sup errors of
:math:`g` and :math:`g'` (2.7e-6).  Its :math:`I_2`, :math:`J_2` and the Stein factors of
:math:`I_3` come from the same mixture (:func:`_mixture_2d`).

The quadrature error of the numeric route is estimated when the provider is built, by comparing
the rule with one of twice the node count (per dimension) on a set of test covariances; it is
stored in :attr:`IntegralProvider.error`.

Examples
--------
>>> import numpy as np
>>> from geosym.committee import integral_provider
>>> p = integral_provider("tanh")
>>> p.methods["I4"][:26], p.error["I4"] < 1e-5
('erf-mixture closed form (6', True)
>>> C = np.array([[1.0, 0.5, 0.2, 0.1], [0.5, 1.0, 0.3, 0.2], [0.2, 0.3, 1.0, 0.4],
...               [0.1, 0.2, 0.4, 1.0]])
>>> round(float(p.I4(C, np.array(0), np.array(1), np.array(2), np.array(3))), 6)
0.052759
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any

import numpy as np
import sympy as sp

from ..activations import Activation, X
from ..activations import activation as _activation
from ..gaussian.orthant import COMMITTEE_I4

__all__ = ["IntegralProvider", "integral_provider"]


class _Uncompilable(Exception):
    """An expression the shape compiler does not handle: use the engine's kernel instead."""


_FAMILIES = ("I2", "J2", "I3", "I4")
_X = X


# --------------------------------------------------------------------------------------------
# activation handling
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Act:
    """Minimal view of an activation: SymPy expression in ``x`` and NumPy callables."""

    name: str
    expr: sp.Expr
    obj: Any  # the geosym Activation
    g: Callable[[np.ndarray], np.ndarray]
    dg: Callable[[np.ndarray], np.ndarray]
    d2g: Callable[[np.ndarray], np.ndarray]


def _np_func(act: Any) -> Callable[[np.ndarray], np.ndarray]:
    f = act.numpy_function

    def call(u: np.ndarray) -> np.ndarray:
        r = f(u)
        if type(r) is np.ndarray and r.shape == np.shape(u):
            return r
        return np.broadcast_to(np.asarray(r, dtype=float), np.shape(u))

    return call


def _resolve_activation(activation: Any) -> _Act:
    """Accept a spec string, a :class:`geosym.Activation` or a SymPy expression in ``x``."""
    if not isinstance(activation, str | sp.Expr | Activation):
        raise TypeError(
            "activation must be a spec string (e.g. 'erf(x/sqrt(2))', 'tanh'), a "
            f"geosym.Activation or a SymPy expression in x, not {type(activation).__name__}"
        )
    obj = _activation(activation)
    d1 = obj.derivative(1)
    d2 = obj.derivative(2)
    return _Act(
        name=obj.name, expr=obj.expr, obj=obj, g=_np_func(obj), dg=_np_func(d1), d2g=_np_func(d2)
    )


# --------------------------------------------------------------------------------------------
# Gauss-Hermite machinery (private; a fixed rule keeps the ODE right-hand side smooth)
# --------------------------------------------------------------------------------------------
@cache
def _gh(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalised to sum to one (cached)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    x.flags.writeable = w.flags.writeable = False
    return x, w


def _cholesky_clipped(c: np.ndarray) -> np.ndarray:
    """Pivot-free lower Cholesky factors of a batch ``c`` (B, d, d) of PSD matrices.

    Pivots below ``1e-13 * trace`` count as zero and their direction is dropped (the column
    below a zero pivot is set to 0), which is exact for PSD matrices: a repeated variable, or
    one that is a combination of the earlier ones, gets no independent node direction.
    """
    B, d = c.shape[:2]
    scale = np.maximum(np.abs(np.diagonal(c, axis1=1, axis2=2)).sum(axis=1), 1e-300)
    L = np.zeros_like(c)
    for j in range(d):
        v = c[:, j, j] - np.sum(L[:, j, :j] ** 2, axis=1)
        piv = np.sqrt(np.where(v > 1e-13 * scale, v, 0.0))
        L[:, j, j] = piv
        ok = piv > 0.0
        for i in range(j + 1, d):
            num = c[:, i, j] - np.sum(L[:, i, :j] * L[:, j, :j], axis=1)
            L[:, i, j] = np.where(ok, num / np.where(ok, piv, 1.0), 0.0)
    return L


def _nested_gh(
    funcs: Sequence[Callable[[np.ndarray], np.ndarray]],
    cov: np.ndarray,
    n: int,
    chunk: int = 4_000_000,
) -> np.ndarray:
    r"""Vectorised :math:`E[\prod_{j=1}^d f_j(u_j)]`, :math:`u\sim\mathcal N(0, C)`, for a batch
    of covariances ``cov`` of shape (..., d, d).

    Tensor Gauss--Hermite rule with ``n`` nodes per dimension, nested along the Cholesky factor
    :math:`u = L\xi` (:func:`_cholesky_clipped`): :math:`f_j` is evaluated on :math:`n^j` points
    only, and the sum over :math:`\xi_j` is taken as soon as no later factor depends on it.
    The rule is a fixed function of :math:`C` (smooth where the pivots are positive), which
    keeps an adaptive ODE solver's right-hand side smooth.  Batches are processed in chunks of
    at most ``chunk`` grid points.
    """
    cov = np.asarray(cov, dtype=float)
    lead, d = cov.shape[:-2], cov.shape[-1]
    c = cov.reshape(-1, d, d)
    x, w = _gh(n)
    out = np.empty(c.shape[0])
    step = max(1, chunk // n**d)
    for s in range(0, c.shape[0], step):
        L = _cholesky_clipped(c[s : s + step])
        b = L.shape[0]
        r = None
        for j in range(d - 1, -1, -1):  # innermost (most nodes) first
            u = 0.0
            for i in range(j + 1):
                axes = [1] * (j + 1)
                axes[i] = n
                u = u + L[:, j, i].reshape((b,) + (1,) * (j + 1)) * x.reshape(axes)
            f = funcs[j](np.broadcast_to(u, (b,) + (n,) * (j + 1)))
            r = (f if r is None else f * r) @ w
        out[s : s + step] = r
    return out.reshape(lead)


def _gh2(f1: Callable, f2: Callable, c11, c12, c22, n: int) -> np.ndarray:
    r"""Vectorised :math:`E[f_1(u_1) f_2(u_2)]` for broadcastable covariance entries."""
    c11, c12, c22 = np.broadcast_arrays(*(np.asarray(c, float) for c in (c11, c12, c22)))
    cov = np.stack([np.stack([c11, c12], -1), np.stack([c12, c22], -1)], -2)
    return _nested_gh((f1, f2), cov, n)


def _upper_to_cov(c: np.ndarray, k: int) -> np.ndarray:
    """(B, k(k+1)/2) upper-triangle entries (row-major) to (B, k, k) symmetric matrices."""
    iu = np.triu_indices(k)
    out = np.empty((c.shape[0], k, k))
    out[:, iu[0], iu[1]] = c
    out[:, iu[1], iu[0]] = c
    return out


# --------------------------------------------------------------------------------------------
# kernels from the engine
# --------------------------------------------------------------------------------------------
_SYMBOLS = {
    k: sp.symbols(" ".join(f"c{a}{b}" for a in range(1, k + 1) for b in range(a, k + 1)))
    for k in (2, 3, 4)
}


def _sym_cov(k: int) -> sp.Matrix:
    s = iter(_SYMBOLS[k])
    m = sp.zeros(k, k)
    for a in range(k):
        for b in range(a, k):
            m[a, b] = m[b, a] = next(s)
    return m


@dataclass
class _Kernel:
    """One family's kernel: ``func(*upper_triangle_entries)`` (broadcasting) plus provenance."""

    func: Callable[..., np.ndarray]
    method: str
    latex: str | None = None
    expr: Any = None


def _wrap_engine(res: Any, k: int) -> _Kernel | None:
    """Turn an engine :class:`Expectation` with a closed form into an entry-wise kernel."""
    if getattr(res, "expr", None) is None:
        return None
    num = res.numeric()
    names = [str(s) for s in res.symbols]
    all_names = [str(s) for s in _SYMBOLS[k]]
    pos = [all_names.index(nm) for nm in names]

    def func(*entries: np.ndarray) -> np.ndarray:
        shape = np.broadcast_shapes(*(np.shape(e) for e in entries))
        val = num(*(entries[p] for p in pos))
        return np.broadcast_to(np.asarray(val, dtype=float), shape)

    latex = res.latex() if hasattr(res, "latex") else None
    return _Kernel(
        func=func,
        method=f"engine: {getattr(res, 'method', 'closed form')}",
        latex=latex,
        expr=res.expr,
    )


def _wrap_safe(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> Callable[..., np.ndarray]:
    """Guarded evaluation (the engine's conventions: tiny negative radicands count as 0)."""
    from ..gaussian.engine import _NUMPY_MODULE

    f = sp.lambdify(symbols, expr, modules=[_NUMPY_MODULE, "numpy"], cse=True)

    def call(*args: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = np.asarray(f(*args), dtype=float)
        if not np.isfinite(out).all():
            raise ValueError("closed form not finite (covariance not PSD?)")
        return out

    return call


def _engine_kernels(act: _Act) -> dict[str, _Kernel]:
    """Closed-form kernels from :func:`geosym.expect`, where it finds one."""
    from ..gaussian import expect

    g = act.obj
    deriv = getattr(g, "derivative", None)
    dg: Any = deriv(1) if callable(deriv) else sp.diff(act.expr, _X)
    out: dict[str, _Kernel] = {}
    specs = {
        "I2": ([g, g], 2),
        "J2": ([dg, dg], 2),
        "I3": ([dg, "x", g], 3),
        "I4": ([dg, dg, g, g], 4),
    }
    for fam, (funcs, k) in specs.items():
        try:
            res = expect(funcs, _sym_cov(k))
        except (_Uncompilable, ValueError, TypeError):
            continue
        kern = _wrap_engine(res, k)
        if kern is not None:
            out[fam] = kern
    return out


# --------------------------------------------------------------------------------------------
# shape-aware compilation of closed forms (evaluation on broadcast index blocks)
# --------------------------------------------------------------------------------------------
def _clip_asin(z: np.ndarray) -> np.ndarray:
    return np.arcsin(np.clip(z, -1.0, 1.0))


#: the operations of :class:`_ShapeCompiler` kernels
_OPS: dict[str, Callable[..., np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "**": np.power,
    "neg": np.negative,
    "recip": np.reciprocal,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "square": np.square,
    "asin": _clip_asin,
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


class _ShapeCompiler:
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

    Together with :func:`_horner_by_axes` this cuts the full-size operations of the erf
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
                raise _Uncompilable(type(e).__name__)
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
            (slot[name], _OPS[op], itemgetter(*(slot[o] for o in ops)), len(ops) == 1)
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


def _horner_by_axes(
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


def _plain_lambdify(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> Callable[..., np.ndarray]:
    """Lambdify with CSE and unguarded ``sqrt`` / clipped ``asin`` (callers check finiteness)."""
    return sp.lambdify(
        symbols, expr, modules=[{"asin": _clip_asin, "sqrt": np.sqrt}, "numpy"], cse=True
    )


def _random_psd_entries(k: int, n: int, seed: int = 7) -> np.ndarray:
    """Upper-triangle entries of ``n`` random PSD k x k covariances (some nearly singular)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, k, k + 1)) * rng.uniform(0.2, 1.5, (n, 1, 1))
    c = a @ np.swapaxes(a, 1, 2) / (k + 1)
    c[: n // 4, 1] = c[: n // 4, 0]  # duplicate rows/columns: singular covariances
    c[: n // 4, :, 1] = c[: n // 4, :, 0]
    iu = np.triu_indices(k)
    return c[:, iu[0], iu[1]]


class _Guarded:
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


# --------------------------------------------------------------------------------------------
# erf-mixture surrogates: I4 as a finite sum of erf closed forms
# --------------------------------------------------------------------------------------------
#: ``g(x) ~ sum_k a_k erf(b_k x)`` for activations without a closed-form :math:`I_4`
#: (least squares on g and g' jointly over [0, 10], b_k by variable projection).  For tanh with
#: six terms the sup errors are 4.8e-7 (g) and 8.5e-7 (g'); they are re-measured on a fine grid
#: when a provider is built (:func:`_mixture_sup_errors`), not taken from this comment.
_ERF_MIXTURES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "tanh(x)": (
        (0.01366603, 0.13547337, 0.33959195, 0.35314574, 0.14445337, 0.01366955),
        (0.39428613, 0.53972276, 0.73036193, 0.98149, 1.30917269, 1.75363132),
    ),
}


def _erf_mixture(act: _Act) -> tuple[np.ndarray, np.ndarray] | None:
    """Coefficients ``(a, b)`` of the erf mixture of ``act``, or None."""
    hit = _ERF_MIXTURES.get(str(act.expr))
    if hit is None:
        return None
    return np.array(hit[0]), np.array(hit[1])


def _mixture_sup_errors(act: _Act, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Sup over x of |g - sum a_k erf(b_k x)| and of the derivative's error (odd g: x >= 0;
    grid of spacing 1e-3 on [0, 12] plus the tail to 60, where both sides are flat)."""
    from scipy.special import erf

    x = np.concatenate([np.linspace(0.0, 12.0, 12_001), np.linspace(12.0, 60.0, 97)])
    h = erf(b[:, None] * x).T @ a
    dh = (np.exp(-((b[:, None] * x) ** 2)) * (2 / np.sqrt(np.pi) * b)[:, None]).T @ a
    return float(np.abs(act.g(x) - h).max()), float(np.abs(act.dg(x) - dh).max())


def _mixture_i4(a: np.ndarray, b: np.ndarray, *entries: np.ndarray) -> np.ndarray:
    r""":math:`I_4` of :math:`g(x)=\sum_k a_k\,\mathrm{erf}(b_kx)` in closed form.

    With :math:`G(y)=\mathrm{erf}(y/\sqrt2)` and :math:`s_k=\sqrt2 b_k`,
    :math:`g(x)=\sum_ka_kG(s_kx)` and :math:`g'(x)=\sum_ka_ks_kG'(s_kx)`, so

    .. math::

        I_4(C) = \sum_{k_1k_2k_3k_4} a_{k_1}s_{k_1}a_{k_2}s_{k_2}a_{k_3}a_{k_4}\,
            I_4^{G}(SCS),\qquad S=\mathrm{diag}(s_{k_1},s_{k_2},s_{k_3},s_{k_4}),

    with Saad & Solla's (1995) closed form of :math:`I_4^G` for :math:`G`, over all
    :math:`m^4` index combinations.  Exact for the mixture; for an activation it approximates, the error is at most
    :math:`2\sup|\Delta g'|\sup|g'|\,\sup|g|^2 + 2\sup|\Delta g|\,\sup|g'|^2\sup|g|`
    (to first order).  Smooth in :math:`C` on the whole PSD cone, singular covariances included.
    """
    shape = np.broadcast_shapes(*(np.shape(e) for e in entries))
    c11, c12, c13, c14, c22, c23, c24, c33, c34, c44 = (
        np.broadcast_to(np.asarray(e, float), shape).reshape(-1, 1) for e in entries
    )
    s = np.sqrt(2.0) * b
    m = len(a)
    k1, k2 = np.repeat(np.arange(m), m), np.tile(np.arange(m), m)  # ordered pairs (k1, k2)
    p1, p2 = s[k1] ** 2, s[k2] ** 2  # (pairs,): squared scales of the derivative factors
    # Scaling fields 3 and 4 by s3, s4 multiplies Lambda_0 by s3 s4 and adds s3^2 A1, s4^2 A2
    # to Lambda_4 in Lambda_1, Lambda_2: everything but the arcsin lives on (B, pairs) or
    # (B, pairs, k) arrays, and only one product and the arcsin on (B, pairs, k3, k4).
    u, v = 1.0 + c11 * p1, 1.0 + c22 * p2  # (B, pairs)
    q = p1 * p2
    lam4 = u * v - c12**2 * q
    lam0 = lam4 * c34 - u * p2 * c23 * c24 - v * p1 * c13 * c14 + q * c12 * (c13 * c24 + c14 * c23)
    a1 = lam4 * c33 - u * p2 * c23**2 - v * p1 * c13**2 + 2.0 * q * c12 * c13 * c23
    a2 = lam4 * c44 - u * p2 * c24**2 - v * p1 * c14**2 + 2.0 * q * c12 * c14 * c24
    s2 = s**2
    with np.errstate(invalid="ignore", divide="ignore"):
        z3 = s / np.sqrt(lam4[..., None] + a1[..., None] * s2)  # (B, pairs, k3)
        z4 = s / np.sqrt(lam4[..., None] + a2[..., None] * s2)  # (B, pairs, k4)
        arg = (lam0[..., None] * z3)[..., :, None] * z4[..., None, :]
        np.minimum(arg, 1.0, out=arg)  # |arg| <= 1 up to rounding (Cauchy-Schwarz)
        np.maximum(arg, -1.0, out=arg)
        val = np.arcsin(arg, out=arg)  # (B, pairs, k3, k4)
        w12 = (a[k1] * a[k2] * s[k1] * s[k2]) / np.sqrt(lam4)  # (B, pairs)
    inner = val.reshape(val.shape[0], m * m, m * m) @ np.outer(a, a).ravel()  # (B, pairs)
    out = np.sum(w12 * inner, axis=1) * (4.0 / np.pi**2)
    return out.reshape(shape)


def _mixture_2d(
    a: np.ndarray, b: np.ndarray, family: str, c11: Any, c12: Any, c22: Any
) -> np.ndarray:
    r"""2-D expectations of :math:`g(x)=\sum_k a_k\,\mathrm{erf}(b_kx)` in closed form.

    ``family``: ``"I2"`` :math:`\langle g(u_1)g(u_2)\rangle`, ``"J2"``
    :math:`\langle g'(u_1)g'(u_2)\rangle` or ``"X"`` :math:`\langle g''(u_1)g(u_2)\rangle`
    (the Stein factor of :math:`I_3`), each a sum over :math:`k, l` of the erf(x/√2) closed
    forms (Saad & Solla 1995) at the covariance scaled by :math:`s_k=\sqrt2b_k`,
    :math:`s_l`; ``X`` is :math:`\partial I_3/\partial C_{12}` of that closed form.
    """
    shape = np.broadcast_shapes(np.shape(c11), np.shape(c12), np.shape(c22))
    c11, c12, c22 = (
        np.broadcast_to(np.asarray(c, float), shape).reshape(-1, 1, 1) for c in (c11, c12, c22)
    )
    s = np.sqrt(2.0) * b
    sk, sl = s[:, None], s[None, :]
    x11, x12, x22 = c11 * sk**2, c12 * (sk * sl), c22 * sl**2
    with np.errstate(invalid="ignore", divide="ignore"):
        if family == "I2":
            f = np.arcsin(np.clip(x12 / np.sqrt((1 + x11) * (1 + x22)), -1.0, 1.0))
            w = np.outer(a, a)
        elif family == "J2":
            f = 1.0 / np.sqrt((1 + x11) * (1 + x22) - x12**2)
            w = np.outer(a * s, a * s)
        else:
            f = -x12 / ((1 + x11) * np.sqrt((1 + x11) * (1 + x22) - x12**2))
            w = np.outer(a * s**2, a)
    return (2.0 / np.pi) * (f.reshape(f.shape[0], -1) @ w.ravel()).reshape(shape)


# --------------------------------------------------------------------------------------------
# the provider
# --------------------------------------------------------------------------------------------
@dataclass
class IntegralProvider:
    r"""Batched :math:`I_2, J_2, I_3, I_4` for one activation (see module docstring).

    Parameters
    ----------
    activation
        Spec string (``"erf(x/sqrt(2))"``, ``"tanh(x)"``, ``"relu"`` ...), a
        :class:`geosym.Activation`, or a SymPy expression in ``x``.
    n2, n4
        Gauss--Hermite nodes per dimension of the numeric 2-D and 4-D rules (used only for the
        families without a closed form).
    erf_mixture
        Evaluate :math:`I_4` of an activation with a tabulated erf mixture (tanh) in closed
        form through :func:`_mixture_i4` (default); False forces the 4-D Gauss--Hermite rule.

    Attributes
    ----------
    methods : dict
        How each family is evaluated (``"engine: ..."`` or ``"Gauss-Hermite ..."``).
    error : dict
        Estimated absolute quadrature error of each numeric family (0 for closed forms).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.committee import integral_provider
    >>> prov = integral_provider("erf(x/sqrt(2))")
    >>> prov.methods["I2"]
    'engine: closed form: arc-sine law (sign/erf pair)'
    >>> C = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> round(float(prov.I2(C, 0, 1)), 6)  # (2/pi) asin(C12 / sqrt((1 + C11)(1 + C22)))
    0.160861
    >>> round(float(2 / np.pi * np.arcsin(0.5 / 2)), 6)
    0.160861
    """

    activation: Any
    n2: int = 48
    n4: int = 12
    erf_mixture: bool = True
    act: _Act = field(init=False, repr=False)
    kernels: dict[str, _Kernel] = field(init=False, repr=False)
    methods: dict[str, str] = field(init=False)
    error: dict[str, float] = field(init=False)
    _cache4: dict = field(init=False, repr=False, default_factory=dict)
    _mixture_error: float | None = field(init=False, repr=False, default=None)
    _i3_mix: tuple | None = field(init=False, repr=False, default=None)
    #: closed-form I4 evaluations one I4 integral costs (an m-term erf mixture sums m^4 of them)
    i4_cost: int = field(init=False, default=1)

    def __post_init__(self) -> None:
        if int(self.n2) < 2 or int(self.n4) < 2:
            raise ValueError("n2 and n4 (Gauss-Hermite nodes per dimension) must be >= 2")
        self.act = _resolve_activation(self.activation)
        self.kernels = _engine_kernels(self.act)
        a = self.act
        n2, n4 = int(self.n2), int(self.n4)
        mix = _erf_mixture(a) if self.erf_mixture else None
        if mix is not None:
            ma, mb = mix
            eg, edg = _mixture_sup_errors(a, ma, mb)
            note = f"erf-mixture closed form ({len(ma)} terms)"
            for fam in ("I2", "J2"):
                if fam not in self.kernels:
                    self.kernels[fam] = _Kernel(
                        lambda c11, c12, c22, fam=fam: _mixture_2d(ma, mb, fam, c11, c12, c22), note
                    )
            if "I3" not in self.kernels:
                self.kernels["I3"] = _Kernel(
                    lambda c11, c12, c13, c22, c23, c33: (
                        c12 * _mixture_2d(ma, mb, "X", c11, c13, c33)
                        + c23 * _mixture_2d(ma, mb, "J2", c11, c13, c33)
                    ),
                    f"Stein reduction + {note}",
                )
                self._i3_mix = (
                    lambda p, q, r: _mixture_2d(ma, mb, "X", p, q, r),
                    lambda p, q, r: _mixture_2d(ma, mb, "J2", p, q, r),
                )
        if "I2" not in self.kernels:
            self.kernels["I2"] = _Kernel(
                lambda c11, c12, c22: _gh2(a.g, a.g, c11, c12, c22, n2),
                f"Gauss-Hermite 2-D, n={n2}",
            )
        if "J2" not in self.kernels:
            self.kernels["J2"] = _Kernel(
                lambda c11, c12, c22: _gh2(a.dg, a.dg, c11, c12, c22, n2),
                f"Gauss-Hermite 2-D, n={n2}",
            )
        if "I3" not in self.kernels:
            if not self.act.obj.is_smooth:
                raise _Uncompilable(
                    f"activation {a.name!r}: no closed-form I3 from the engine and the Stein "
                    "reduction needs a smooth g''; use a smooth activation or extend geosym.expect"
                )
            j2 = self.kernels["J2"].func

            def i3(c11, c12, c13, c22, c23, c33):
                # Stein: E[g'(u1) u2 g(u3)] = C12 E[g''(u1) g(u3)] + C23 E[g'(u1) g'(u3)]
                return c12 * _gh2(a.d2g, a.g, c11, c13, c33, n2) + c23 * j2(c11, c13, c33)

            self.kernels["I3"] = _Kernel(i3, f"Stein reduction + Gauss-Hermite 2-D, n={n2}")
        if mix is not None and "I4" not in self.kernels:
            # first-order bound of the I4 error (|g| <= 1, |g'| <= 1 for the tabulated ones)
            self._mixture_error = 2.0 * edg + 2.0 * eg
            self.i4_cost = len(ma) ** 4
            self.kernels["I4"] = _Kernel(
                lambda *e: _mixture_i4(ma, mb, *e),
                f"erf-mixture closed form ({len(ma)} terms, sup error of g {eg:.1e}, "
                f"of g' {edg:.1e})",
            )
        if "I4" not in self.kernels and str(a.expr) in COMMITTEE_I4:  # ReLU: orthant moments
            f4, note4, self._mixture_error = COMMITTEE_I4[str(a.expr)]
            self.kernels["I4"] = _Kernel(f4, note4)
        if "I4" not in self.kernels:
            self.kernels["I4"] = _Kernel(self._numeric_i4, f"Gauss-Hermite 4-D (nested), n={n4}")
        self.methods = {f: self.kernels[f].method for f in _FAMILIES}
        self._build_fast()
        self.error = self._estimate_errors()

    # -- kernels of the ODE right-hand side ------------------------------------------------------
    def _build_fast(self) -> None:
        """Fast kernels for :meth:`i3_split` and :meth:`i4_block` (the ODE right-hand side).

        Closed forms are re-lambdified without the engine's per-call guards (the guarded engine
        kernel is the fallback, see :class:`_Guarded`), and every fast form is checked against
        the engine's kernel at random PSD covariances before it is used.
        """
        a = self.act
        n2 = int(self.n2)
        self._fast: dict[str, Callable[..., np.ndarray]] = {}
        for fam in ("I2", "J2"):
            k = self.kernels[fam]
            self._fast[fam] = (
                k.func
                if k.expr is None
                else self._checked_fast(_plain_lambdify(k.expr, _SYMBOLS[2]), k.func, 2)
            )
        # Stein's lemma: I3(a,b,c) = C_ab <g''(u_a) g(u_c)> + C_bc <g'(u_a) g'(u_c)>, i.e. the
        # closed form is linear in c12 and c23 with coefficients X(c11,c13,c33), J(c11,c13,c33).
        k3 = self.kernels["I3"]
        c11, c12, c13, c22, c23, c33 = _SYMBOLS[3]
        split: tuple[Callable[..., Any], Callable[..., Any]] | None = None
        if k3.expr is not None:
            xe, je = sp.diff(k3.expr, c12), sp.diff(k3.expr, c23)
            if (xe.free_symbols | je.free_symbols) <= {c11, c13, c33}:
                xf = _plain_lambdify(xe, (c11, c13, c33))
                jf = _plain_lambdify(je, (c11, c13, c33))
                ent = _random_psd_entries(3, 64)
                with np.errstate(all="ignore"):
                    got = ent[:, 1] * xf(ent[:, 0], ent[:, 2], ent[:, 5]) + ent[:, 4] * jf(
                        ent[:, 0], ent[:, 2], ent[:, 5]
                    )
                ref = k3.func(*ent.T)
                if np.allclose(got, ref, rtol=1e-10, atol=1e-12):
                    safe_x = _wrap_safe(xe, (c11, c13, c33))
                    safe_j = _wrap_safe(je, (c11, c13, c33))
                    split = (_Guarded(xf, safe_x), _Guarded(jf, safe_j))
        if split is None and self._i3_mix is not None:
            split = self._i3_mix
        if split is None and k3.expr is None:
            split = (lambda p, q, r: _gh2(a.d2g, a.g, p, q, r, n2), self._fast["J2"])
        self._i3_split = split
        k4 = self.kernels["I4"]
        self._i4_fast = None
        if k4.expr is not None:
            s = _SYMBOLS[4]
            c11, c12, c13, c14, c22, c23, c24, c33, c34, c44 = s
            A, c, d = "pair", "c", "d"
            axes = {
                c11: frozenset({A}),
                c12: frozenset({A}),
                c22: frozenset({A}),
                c13: frozenset({A, c}),
                c23: frozenset({A, c}),
                c33: frozenset({c}),
                c14: frozenset({A, d}),
                c24: frozenset({A, d}),
                c44: frozenset({d}),
                c34: frozenset({c, d}),
            }
            try:
                expr = _horner_by_axes(k4.expr, s, (c34, c13, c23, c33, c14, c24, c44))
                fn = _ShapeCompiler(s, axes, {A: 50, c: 20, d: 20}, tri=(c, d)).compile(expr)
            except (_Uncompilable, TypeError, ValueError):  # pragma: no cover
                fn = None
            if fn is not None:
                # checked where it is used: i4_tri on full blocks (3 student and 3 teacher
                # fields, all pairs, the whole triangle; a general and a singular covariance)
                # against the engine's kernel, so that a wrong broadcast layout is caught too
                self._i4_fast = fn
                ent = _random_psd_entries(6, 8, seed=11)
                covs = _upper_to_cov(ent[[0, 1, 2]], 6)  # entry 0-1: duplicated field
                pa, pk = np.triu_indices(3)
                got = self.i4_tri(covs, pa, pk)[0]
                cu, eu = np.triu_indices(6)
                ref = self.I4(covs, pa[:, None], pk[:, None], cu[None, :], eu[None, :])
                if not np.allclose(got, ref, rtol=1e-10, atol=1e-12):
                    self._i4_fast = None

    @staticmethod
    def _checked_fast(fast: Callable, safe: Callable, k: int) -> Callable[..., np.ndarray]:
        """``fast`` guarded by ``safe`` if they agree at random PSD covariances, else ``safe``."""
        ent = _random_psd_entries(k, 64)
        with np.errstate(all="ignore"):
            got = np.broadcast_to(fast(*ent.T), ent.shape[:1])
        ref = safe(*ent.T)
        if np.allclose(got, ref, rtol=1e-10, atol=1e-12):
            return _Guarded(fast, safe)
        return safe

    def i3_split(self, c11, c13, c33) -> tuple[np.ndarray, np.ndarray] | None:
        r""":math:`X=\langle g''(u_1)g(u_3)\rangle` and :math:`J=\langle g'(u_1)g'(u_3)\rangle`
        such that :math:`I_3 = C_{12}X + C_{23}J` (Stein); None if unavailable."""
        if self._i3_split is None:
            return None
        xf, jf = self._i3_split
        return xf(c11, c13, c33), jf(c11, c13, c33)

    def i4_tri(
        self,
        C: np.ndarray,
        pa: np.ndarray,
        pk: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r""":math:`I_4(a_p, k_p, c, e)` for all pairs ``p = (pa[p], pk[p])`` and all fields
        ``c <= e`` (the integral is symmetric in its last two indices).

        ``C`` is one covariance (P, P) or a batch (B, P, P).  Returns ``(values, cu, eu)``:
        values of shape ([B,] len(pa), n_tri) and the triangle's index arrays.
        """
        batched = C.ndim == 3
        Cb = C if batched else C[None]
        B, P = Cb.shape[0], Cb.shape[1]
        key = ("tri", P)
        if key not in self._cache4:
            self._cache4[key] = np.triu_indices(P)
        cu, eu = self._cache4[key]
        n_p = len(pa)
        if self._i4_fast is None:  # the engine's kernel or the numeric rule, batched
            out = self.I4(Cb, pa[:, None], pk[:, None], cu[None, :], eu[None, :])
            return (out if batched else out[0]), cu, eu
        d = np.diagonal(Cb, axis1=1, axis2=2)  # (B, P)
        Ca = Cb[:, pa].reshape(B * n_p, P)
        Ck = Cb[:, pk].reshape(B * n_p, P)
        c34 = Cb[:, cu, eu]  # (B, n_tri): the kernel takes c34 already on the triangle
        if B == 1:
            c33, c44 = d[:, :, None], d[:, None, :]
        else:  # every (batch, pair) row has its own c-c block
            dr = np.repeat(d, n_p, axis=0)
            c33, c44 = dr[:, :, None], dr[:, None, :]
            c34 = np.repeat(c34, n_p, axis=0)
        args = (
            d[:, pa].reshape(-1, 1, 1),
            Cb[:, pa, pk].reshape(-1, 1, 1),
            Ca[:, :, None],
            Ca[:, None, :],
            d[:, pk].reshape(-1, 1, 1),
            Ck[:, :, None],
            Ck[:, None, :],
            c33,
            c34,
            c44,
        )
        with np.errstate(all="ignore"):
            out = self._i4_fast(*args, _cu=cu, _du=eu)
        out = np.broadcast_to(out, (B * n_p, cu.size))
        if not np.isfinite(out).all():  # singular covariance: the engine's guarded kernel
            g = [x if x.ndim == 2 else np.broadcast_to(x, (B * n_p, P, P))[:, cu, eu] for x in args]
            try:
                ref = self.kernels["I4"].func(*g)
                out = np.broadcast_to(ref, (B * n_p, cu.size))
            except ValueError:
                out = np.full((B * n_p, cu.size), np.nan)
        out = out.reshape(B, n_p, cu.size)
        return (out if batched else out[0]), cu, eu

    # -- numeric I4 with canonicalised, deduplicated, dimension-reduced tuples --------------
    def _numeric_i4(self, *entries: np.ndarray, n: int | None = None) -> np.ndarray:
        shape = np.broadcast_shapes(*(np.shape(e) for e in entries))
        c = np.stack([np.broadcast_to(e, shape).ravel() for e in entries], axis=1)
        a = self.act
        val = _nested_gh((a.dg, a.dg, a.g, a.g), _upper_to_cov(c, 4), int(n or self.n4))
        return val.reshape(shape)

    def _product(self, labels: tuple[str, ...]) -> Callable[[np.ndarray], np.ndarray]:
        """The pointwise product of the factors ``labels`` (``"g"``, ``"dg"``), cached."""
        key = ("product", labels)
        if key not in self._cache4:
            fs = [getattr(self.act, lab) for lab in labels]
            if len(fs) == 1:
                self._cache4[key] = fs[0]
            else:

                def prod(u: np.ndarray) -> np.ndarray:
                    out = fs[0](u)
                    for f in fs[1:]:
                        out = out * f(u)
                    return out

                self._cache4[key] = prod
        return self._cache4[key]

    def _i4_plan(self, a, b, c, d) -> tuple[tuple, np.ndarray, list]:
        """Canonicalise (a<->b, c<->d), deduplicate, and group the unique tuples by which of
        their indices coincide (cached for repeated calls with the same index arrays).

        A tuple with ``r`` distinct indices is an ``r``-dimensional integral: the factors of a
        repeated index multiply into one function of that field (e.g. ``I4(i,i,c,c) =
        <(g'^2)(u_i) (g^2)(u_c)>``).  The reduced rule is the 4-D nested rule with its zero
        pivots dropped, i.e. the same value, on ``n^r`` instead of ``n^4`` points.
        """
        a, b, c, d = np.broadcast_arrays(a, b, c, d)
        key = (a.shape, a.tobytes(), b.tobytes(), c.tobytes(), d.tobytes())
        hit = self._cache4.get("plan")
        if hit is not None and hit[0] == key:
            return hit[1]
        t = np.stack(
            [np.minimum(a, b), np.maximum(a, b), np.minimum(c, d), np.maximum(c, d)], axis=-1
        ).reshape(-1, 4)
        uniq, inv = np.unique(t, axis=0, return_inverse=True)
        # first position holding the same index, per position: the coincidence pattern
        first = np.argmax(uniq[:, :, None] == uniq[:, None, :], axis=2)
        patterns, group = np.unique(first, axis=0, return_inverse=True)
        labels = ("dg", "dg", "g", "g")
        groups = []
        for k, pat in enumerate(patterns):
            rows = np.flatnonzero(group.ravel() == k)
            heads = [p for p in range(4) if pat[p] == p]
            funcs = [
                self._product(tuple(labels[q] for q in range(4) if pat[q] == h)) for h in heads
            ]
            groups.append((rows, uniq[rows][:, heads], funcs))
        plan = (a.shape, inv.ravel(), groups)
        self._cache4["plan"] = (key, plan)
        return plan

    def _i4_indexed(self, C: np.ndarray, a, b, c, d) -> np.ndarray:
        """Numeric I4 by index (see :meth:`_i4_plan`) for one covariance ``C`` (P, P) or a
        batch (..., P, P): evaluate each group for all states at once, scatter."""
        P = C.shape[-1]
        shape, inv, groups = self._i4_plan(*(np.asarray(i) % P for i in (a, b, c, d)))
        lead = C.shape[:-2]
        vals = np.empty(lead + (sum(len(rows) for rows, _, _ in groups),))
        for rows, idx, funcs in groups:
            cov = C[..., idx[:, :, None], idx[:, None, :]]
            vals[..., rows] = _nested_gh(funcs, cov, int(self.n4))
        return vals[..., inv].reshape(lead + shape)

    # -- public batched evaluation ------------------------------------------------------------
    def I2(self, C: np.ndarray, a, b) -> np.ndarray:
        r""":math:`\langle g(u_a)g(u_b)\rangle` for broadcastable index arrays ``a, b``."""
        return self.kernels["I2"].func(C[..., a, a], C[..., a, b], C[..., b, b])

    def I3(self, C: np.ndarray, a, b, c) -> np.ndarray:
        r""":math:`\langle g'(u_a)\,u_b\,g(u_c)\rangle` for broadcastable index arrays."""
        return self.kernels["I3"].func(
            C[..., a, a], C[..., a, b], C[..., a, c], C[..., b, b], C[..., b, c], C[..., c, c]
        )

    def I4(self, C: np.ndarray, a, b, c, d) -> np.ndarray:
        r""":math:`\langle g'(u_a)g'(u_b)g(u_c)g(u_d)\rangle` for broadcastable index arrays.

        ``C`` is one field covariance (P, P) or a batch (..., P, P) (as for :meth:`I2`,
        :meth:`J2`, :meth:`I3`); the result has shape ``C.shape[:-2]`` + the index shape."""
        k = self.kernels["I4"]
        if k.func == self._numeric_i4:
            return self._i4_indexed(C, a, b, c, d)
        pairs = ((a, a), (a, b), (a, c), (a, d), (b, b), (b, c), (b, d), (c, c), (c, d), (d, d))
        return k.func(*(C[..., x, y] for x, y in pairs))

    # -- error estimate ------------------------------------------------------------------------
    def _test_covs(self, k: int) -> list[np.ndarray]:
        rng = np.random.default_rng(12345)
        covs = []
        for _ in range(6):
            a = rng.standard_normal((k, k + 1)) / np.sqrt(k + 1) * 1.2
            covs.append(a @ a.T)
        one = np.ones((k, k)) * 0.4
        covs.append(one)  # singular (plateau-like)
        covs.append(np.eye(k))
        return covs

    def _estimate_errors(self) -> dict[str, float]:
        """Numeric families: |rule(n) - rule(2n)| (4-D: n -> n+8) on test covariances; erf-mixture
        2-D families: against the 2-D rule at 2 n2; erf-mixture I4: the bound of _mixture_i4."""
        err = {}
        a = self.act
        for fam in _FAMILIES:
            m = self.kernels[fam].method
            if fam == "I4" and self._mixture_error is not None:
                err[fam] = self._mixture_error
                continue
            if not m.startswith(("Gauss", "Stein", "erf-mixture")):
                err[fam] = 0.0
                continue
            k = {"I2": 2, "J2": 2, "I3": 3, "I4": 4}[fam]
            covs = self._test_covs(k)
            iu = np.triu_indices(k)
            ent = np.array([c[iu] for c in covs])
            if fam == "I4":
                lo = self._numeric_i4(*ent.T)
                hi = self._numeric_i4(*ent.T, n=self.n4 + 8)
            else:
                f = self.kernels[fam].func
                lo = f(*ent.T)
                if fam == "I3":
                    hi = ent[:, 1] * _gh2(
                        a.d2g, a.g, ent[:, 0], ent[:, 2], ent[:, 5], 2 * self.n2
                    ) + ent[:, 4] * _gh2(a.dg, a.dg, ent[:, 0], ent[:, 2], ent[:, 5], 2 * self.n2)
                else:
                    fa = a.g if fam == "I2" else a.dg
                    hi = _gh2(fa, fa, ent[:, 0], ent[:, 1], ent[:, 2], 2 * self.n2)
            err[fam] = float(np.max(np.abs(lo - hi)))
        return err

    def latex(self) -> dict[str, str | None]:
        """LaTeX of each family's closed form (None for numeric families)."""
        return {f: self.kernels[f].latex for f in _FAMILIES}


_PROVIDERS: dict[tuple, IntegralProvider] = {}


def integral_provider(activation: Any, n2: int = 48, n4: int = 12) -> IntegralProvider:
    """Cached :class:`IntegralProvider` (building one may run symbolic integration).

    Examples
    --------
    >>> from geosym.committee import integral_provider
    >>> integral_provider("erf(x/sqrt(2))") is integral_provider("erf(x/sqrt(2))")
    True
    >>> integral_provider("erf(x/sqrt(2))").error["I4"]
    0.0
    """
    key = (activation if isinstance(activation, str) else id(activation), n2, n4)
    if key not in _PROVIDERS:
        _PROVIDERS[key] = IntegralProvider(activation, n2=n2, n4=n4)
    return _PROVIDERS[key]

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
  covariance, e.g. :math:`I_4(i,i,\cdot,\cdot)` or the plateau where student units coincide) is
  handled by dropping that direction, which is exact for PSD matrices.

The quadrature error of the numeric route is estimated when the provider is built, by comparing
the rule with one of twice the node count (per dimension) on a set of test covariances; it is
stored in :attr:`IntegralProvider.error` (see committee.md §3 "numerical route").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..activations import Activation, X
from ..activations import activation as _activation

__all__ = ["IntegralProvider", "integral_provider"]

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
    return _Act(name=obj.name, expr=obj.expr, obj=obj, g=_np_func(obj), dg=_np_func(d1),
                d2g=_np_func(d2))


# --------------------------------------------------------------------------------------------
# Gauss-Hermite machinery (private; a fixed rule keeps the ODE right-hand side smooth)
# --------------------------------------------------------------------------------------------
def _gh(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalised to sum to one."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num/den`` with 0 where the pivot ``den`` vanished (dropped direction)."""
    ok = den > 0.0
    return np.where(ok, num / np.where(ok, den, 1.0), 0.0)


def _sqrt_pivot(v: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Square root of a Cholesky pivot; pivots below ``1e-13*scale`` count as zero."""
    return np.sqrt(np.where(v > 1e-13 * scale, v, 0.0))


def _gh2(f1: Callable, f2: Callable, c11, c12, c22, n: int) -> np.ndarray:
    r"""Vectorised :math:`E[f_1(u_1) f_2(u_2)]` for broadcastable covariance entries."""
    x, w = _gh(n)
    c11, c12, c22 = np.broadcast_arrays(*(np.asarray(c, float) for c in (c11, c12, c22)))
    scale = np.maximum(np.abs(c11) + np.abs(c22), 1e-300)
    l11 = _sqrt_pivot(c11, scale)
    l21 = _safe_div(c12, l11)
    l22 = _sqrt_pivot(c22 - l21**2, scale)
    e = (...,) + (None,)
    u1 = l11[e] * x  # (..., n)
    u2 = l21[e + (None,)] * x[:, None] + l22[e + (None,)] * x[None, :]  # (..., n, n)
    inner = f2(u2) @ w
    return (f1(u1) * inner) @ w


def _gh4(g1: Callable, g2: Callable, g3: Callable, g4: Callable, c: np.ndarray, n: int,
         chunk: int = 4_000_000) -> np.ndarray:
    r"""Vectorised :math:`E[g_1(u_1)g_2(u_2)g_3(u_3)g_4(u_4)]` for a batch ``c`` of shape (B, 10).

    ``c`` holds the upper-triangle entries ``c11 c12 c13 c14 c22 c23 c24 c33 c34 c44``.  The
    rule is nested along the Cholesky factor, so only ``g4`` is evaluated on the full
    :math:`n^4` grid.  Batches are processed in chunks of at most ``chunk`` grid points.
    """
    x, w = _gh(n)
    out = np.empty(c.shape[0])
    step = max(1, chunk // n**4)
    for s in range(0, c.shape[0], step):
        (c11, c12, c13, c14, c22, c23, c24, c33, c34, c44) = c[s:s + step].T
        scale = np.maximum(np.abs(c11) + np.abs(c22) + np.abs(c33) + np.abs(c44), 1e-300)
        l11 = _sqrt_pivot(c11, scale)
        l21 = _safe_div(c12, l11)
        l22 = _sqrt_pivot(c22 - l21**2, scale)
        l31 = _safe_div(c13, l11)
        l32 = _safe_div(c23 - l31 * l21, l22)
        l33 = _sqrt_pivot(c33 - l31**2 - l32**2, scale)
        l41 = _safe_div(c14, l11)
        l42 = _safe_div(c24 - l41 * l21, l22)
        l43 = _safe_div(c34 - l41 * l31 - l42 * l32, l33)
        l44 = _sqrt_pivot(c44 - l41**2 - l42**2 - l43**2, scale)
        col = (slice(None), None, None, None, None)
        x1 = x[None, :, None, None, None]
        x2 = x[None, None, :, None, None]
        x3 = x[None, None, None, :, None]
        x4 = x[None, None, None, None, :]
        u3 = l31[col] * x1 + l32[col] * x2 + l33[col] * x3  # (b, n, n, n, 1)
        u4 = l41[col] * x1 + l42[col] * x2 + l43[col] * x3 + l44[col] * x4
        r = g4(u4) @ w  # (b, n, n, n)
        r = (g3(u3[..., 0]) * r) @ w  # (b, n, n)
        u2 = l21[:, None, None] * x[None, :, None] + l22[:, None, None] * x[None, None, :]
        r = (g2(u2) * r) @ w  # (b, n)
        out[s:s + step] = (g1(l11[:, None] * x[None, :]) * r) @ w
    return out


# --------------------------------------------------------------------------------------------
# kernels from the engine
# --------------------------------------------------------------------------------------------
_SYMBOLS = {k: sp.symbols(" ".join(f"c{a}{b}" for a in range(1, k + 1) for b in range(a, k + 1)))
            for k in (2, 3, 4)}


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
    return _Kernel(func=func, method=f"engine: {getattr(res, 'method', 'closed form')}",
                   latex=latex, expr=res.expr)


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
        except (NotImplementedError, ValueError, TypeError):
            continue
        kern = _wrap_engine(res, k)
        if kern is not None:
            out[fam] = kern
    return out


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

    Attributes
    ----------
    methods : dict
        How each family is evaluated (``"engine: ..."`` or ``"Gauss-Hermite ..."``).
    error : dict
        Estimated absolute quadrature error of each numeric family (0 for closed forms).
    """

    activation: Any
    n2: int = 48
    n4: int = 12
    act: _Act = field(init=False, repr=False)
    kernels: dict[str, _Kernel] = field(init=False, repr=False)
    methods: dict[str, str] = field(init=False)
    error: dict[str, float] = field(init=False)
    _cache4: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if int(self.n2) < 2 or int(self.n4) < 2:
            raise ValueError("n2 and n4 (Gauss-Hermite nodes per dimension) must be >= 2")
        self.act = _resolve_activation(self.activation)
        self.kernels = _engine_kernels(self.act)
        a = self.act
        n2, n4 = int(self.n2), int(self.n4)
        if "I2" not in self.kernels:
            self.kernels["I2"] = _Kernel(lambda c11, c12, c22: _gh2(a.g, a.g, c11, c12, c22, n2),
                                         f"Gauss-Hermite 2-D, n={n2}")
        if "J2" not in self.kernels:
            self.kernels["J2"] = _Kernel(
                lambda c11, c12, c22: _gh2(a.dg, a.dg, c11, c12, c22, n2),
                f"Gauss-Hermite 2-D, n={n2}")
        if "I3" not in self.kernels:
            if not self.act.obj.is_smooth:
                raise NotImplementedError(
                    f"activation {a.name!r}: no closed-form I3 from the engine and the Stein "
                    "reduction needs a smooth g''; use a smooth activation or extend geosym.expect")
            j2 = self.kernels["J2"].func

            def i3(c11, c12, c13, c22, c23, c33):
                # Stein: E[g'(u1) u2 g(u3)] = C12 E[g''(u1) g(u3)] + C23 E[g'(u1) g'(u3)]
                return (c12 * _gh2(a.d2g, a.g, c11, c13, c33, n2)
                        + c23 * j2(c11, c13, c33))

            self.kernels["I3"] = _Kernel(i3, f"Stein reduction + Gauss-Hermite 2-D, n={n2}")
        if "I4" not in self.kernels:
            self.kernels["I4"] = _Kernel(self._numeric_i4, f"Gauss-Hermite 4-D (nested), n={n4}")
        self.methods = {f: self.kernels[f].method for f in _FAMILIES}
        self.error = self._estimate_errors()

    # -- numeric I4 with canonicalised, deduplicated tuples ---------------------------------
    def _numeric_i4(self, *entries: np.ndarray, n: int | None = None) -> np.ndarray:
        shape = np.broadcast_shapes(*(np.shape(e) for e in entries))
        c = np.stack([np.broadcast_to(e, shape).ravel() for e in entries], axis=1)
        a = self.act
        val = _gh4(a.dg, a.dg, a.g, a.g, c, int(n or self.n4))
        return val.reshape(shape)

    def _i4_indexed(self, C: np.ndarray, a, b, c, d) -> np.ndarray:
        """Numeric I4 by index: canonicalise (a<->b, c<->d), deduplicate, evaluate, scatter."""
        a, b, c, d = np.broadcast_arrays(a, b, c, d)
        key = (a.shape, a.tobytes(), b.tobytes(), c.tobytes(), d.tobytes())
        hit = self._cache4.get("key")
        if hit is not None and hit[0] == key:
            uniq, inv = hit[1], hit[2]
        else:
            t = np.stack([np.minimum(a, b), np.maximum(a, b), np.minimum(c, d),
                          np.maximum(c, d)], axis=-1).reshape(-1, 4)
            uniq, inv = np.unique(t, axis=0, return_inverse=True)
            self._cache4["key"] = (key, uniq, inv.ravel())
            inv = inv.ravel()
        ua, ub, uc, ud = uniq.T
        cov = np.stack([C[ua, ua], C[ua, ub], C[ua, uc], C[ua, ud], C[ub, ub], C[ub, uc],
                        C[ub, ud], C[uc, uc], C[uc, ud], C[ud, ud]], axis=1)
        s = self.act
        vals = _gh4(s.dg, s.dg, s.g, s.g, cov, int(self.n4))
        return vals[inv].reshape(a.shape)

    # -- public batched evaluation ------------------------------------------------------------
    def I2(self, C: np.ndarray, a, b) -> np.ndarray:
        r""":math:`\langle g(u_a)g(u_b)\rangle` for broadcastable index arrays ``a, b``."""
        return self.kernels["I2"].func(C[a, a], C[a, b], C[b, b])

    def J2(self, C: np.ndarray, a, b) -> np.ndarray:
        r""":math:`\langle g'(u_a)g'(u_b)\rangle` for broadcastable index arrays."""
        return self.kernels["J2"].func(C[a, a], C[a, b], C[b, b])

    def I3(self, C: np.ndarray, a, b, c) -> np.ndarray:
        r""":math:`\langle g'(u_a)\,u_b\,g(u_c)\rangle` for broadcastable index arrays."""
        return self.kernels["I3"].func(C[a, a], C[a, b], C[a, c], C[b, b], C[b, c], C[c, c])

    def I4(self, C: np.ndarray, a, b, c, d) -> np.ndarray:
        r""":math:`\langle g'(u_a)g'(u_b)g(u_c)g(u_d)\rangle` for broadcastable index arrays."""
        k = self.kernels["I4"]
        if k.func == self._numeric_i4:
            return self._i4_indexed(C, a, b, c, d)
        return k.func(C[a, a], C[a, b], C[a, c], C[a, d], C[b, b], C[b, c], C[b, d], C[c, c],
                      C[c, d], C[d, d])

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
        """Numeric families: |rule(n) - rule(2n)| (4-D: n -> n+8) on test covariances."""
        err = {}
        a = self.act
        for fam in _FAMILIES:
            m = self.kernels[fam].method
            if not m.startswith(("Gauss", "Stein")):
                err[fam] = 0.0
                continue
            k = {"I2": 2, "J2": 2, "I3": 3, "I4": 4}[fam]
            covs = self._test_covs(k)
            iu = np.triu_indices(k)
            ent = np.array([c[iu] for c in covs])
            if fam == "I4":
                lo = _gh4(a.dg, a.dg, a.g, a.g, ent, self.n4)
                hi = _gh4(a.dg, a.dg, a.g, a.g, ent, self.n4 + 8)
            else:
                f = self.kernels[fam].func
                lo = f(*ent.T)
                if fam == "I3":
                    hi = (ent[:, 1] * _gh2(a.d2g, a.g, ent[:, 0], ent[:, 2], ent[:, 5], 2 * self.n2)
                          + ent[:, 4] * _gh2(a.dg, a.dg, ent[:, 0], ent[:, 2], ent[:, 5],
                                             2 * self.n2))
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
    """Cached :class:`IntegralProvider` (building one may run symbolic integration)."""
    key = (activation if isinstance(activation, str) else id(activation), n2, n4)
    if key not in _PROVIDERS:
        _PROVIDERS[key] = IntegralProvider(activation, n2=n2, n4=n4)
    return _PROVIDERS[key]

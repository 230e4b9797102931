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
linear, ReLU arc-cosine kernels, Stein reduction of :math:`I_3`; :mod:`.kernels` compiles them
for the ODE).  Where the engine has no closed form the provider uses *fixed* (hence smooth in
:math:`C`, safe inside an adaptive ODE solver) vectorised Gauss--Hermite rules
(:mod:`geosym.gaussian.nodes`):

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
:math:`\sum_k a_k\,\mathrm{erf}(b_kx)` (``mixture_i4``): a sum of the closed
form of Saad & Solla (1995) at scaled covariances, with an error bound from the measured sup
errors of :math:`g` and :math:`g'` (2.7e-6).  Its :math:`I_2`, :math:`J_2` and the Stein factors of
:math:`I_3` come from the same mixture (``mixture_2d``).

For ReLU the 4-D rule is worse still (a kink in every factor: error up to 3.4e-2 at ``n4=12``),
so its :math:`I_4` is the truncated second moment :math:`E[u_3u_4\,\mathbb 1\{u>0\}]` of
Tallis (1961), reduced to orthant probabilities, the 4-D one by Plackett's (1954) identity to a
1-D integral (:func:`geosym.gaussian.orthant.relu_i4`, error below 1e-7).

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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..activations import Activation, activation
from ..gaussian.nodes import covariance_from_upper, gauss_hermite_2d, nested_gauss_hermite
from ..gaussian.orthant import COMMITTEE_I4
from ._erf_mixture import mixture_2d, mixture_i4, mixture_sup_errors, tabulated_mixture
from ._kernels import (
    COVARIANCE_SYMBOLS,
    GuardedKernel,
    Kernel,
    ShapeCompiler,
    Uncompilable,
    engine_kernels,
    guarded_lambdify,
    horner_by_axes,
    plain_lambdify,
    random_psd_entries,
)

__all__ = ["IntegralProvider", "integral_provider"]

_FAMILIES = ("I2", "J2", "I3", "I4")


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
        form through :func:`.erf_mixture.mixture_i4` (default); False forces the 4-D Gauss--Hermite rule.

    Attributes
    ----------
    act : Activation
        The activation :math:`g` (:func:`geosym.activation` of ``activation``).
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
    act: Activation = field(init=False, repr=False)
    kernels: dict[str, Kernel] = field(init=False, repr=False)
    methods: dict[str, str] = field(init=False)
    error: dict[str, float] = field(init=False)
    _index_cache: dict = field(init=False, repr=False, default_factory=dict)
    _i4_error_bound: float | None = field(init=False, repr=False, default=None)
    _i3_mixture_split: tuple | None = field(init=False, repr=False, default=None)
    #: :math:`g, g', g''` as array functions (:attr:`~geosym.Activation.array_function`)
    _derivatives: tuple[Callable[[Any], np.ndarray], ...] = field(init=False, repr=False)
    #: the shape-compiled I4 closed form :meth:`i4_tri` runs, None if there is none
    compiled_i4: Callable[..., np.ndarray] | None = field(init=False, repr=False, default=None)
    #: fast I2 and J2 kernels of the ODE right-hand side (guarded by the engine's kernel)
    fast_kernels: dict[str, Callable[..., np.ndarray]] = field(
        init=False, repr=False, default_factory=dict
    )
    #: closed-form I4 evaluations one I4 integral costs (an m-term erf mixture sums m^4 of them)
    i4_cost: int = field(init=False, default=1)

    def __post_init__(self) -> None:
        if int(self.n2) < 2 or int(self.n4) < 2:
            raise ValueError("n2 and n4 (Gauss-Hermite nodes per dimension) must be >= 2")
        self.act = activation(self.activation)
        self._derivatives = tuple(self.act.derivative(n).array_function for n in range(3))
        g, dg, d2g = self._derivatives
        self.kernels = engine_kernels(self.act)
        n2, n4 = int(self.n2), int(self.n4)
        mix = tabulated_mixture(self.act) if self.erf_mixture else None
        if mix is not None:
            ma, mb = mix
            eg, edg = mixture_sup_errors(self.act, ma, mb)
            note = f"erf-mixture closed form ({len(ma)} terms)"
            for fam in ("I2", "J2"):
                if fam not in self.kernels:
                    self.kernels[fam] = Kernel(
                        lambda c11, c12, c22, fam=fam: mixture_2d(ma, mb, fam, c11, c12, c22), note
                    )
            if "I3" not in self.kernels:
                self.kernels["I3"] = Kernel(
                    lambda c11, c12, c13, c22, c23, c33: (
                        c12 * mixture_2d(ma, mb, "X", c11, c13, c33)
                        + c23 * mixture_2d(ma, mb, "J2", c11, c13, c33)
                    ),
                    f"Stein reduction + {note}",
                )
                self._i3_mixture_split = (
                    lambda p, q, r: mixture_2d(ma, mb, "X", p, q, r),
                    lambda p, q, r: mixture_2d(ma, mb, "J2", p, q, r),
                )
        if "I2" not in self.kernels:
            self.kernels["I2"] = Kernel(
                lambda c11, c12, c22: gauss_hermite_2d(g, g, c11, c12, c22, n2),
                f"Gauss-Hermite 2-D, n={n2}",
            )
        if "J2" not in self.kernels:
            self.kernels["J2"] = Kernel(
                lambda c11, c12, c22: gauss_hermite_2d(dg, dg, c11, c12, c22, n2),
                f"Gauss-Hermite 2-D, n={n2}",
            )
        if "I3" not in self.kernels:
            if not self.act.is_smooth:
                raise Uncompilable(
                    f"activation {self.act.name!r}: no closed-form I3 from the engine and the Stein "
                    "reduction needs a smooth g''; use a smooth activation or extend geosym.expect"
                )
            j2 = self.kernels["J2"].func

            def i3(c11, c12, c13, c22, c23, c33):
                # Stein: E[g'(u1) u2 g(u3)] = C12 E[g''(u1) g(u3)] + C23 E[g'(u1) g'(u3)]
                return c12 * gauss_hermite_2d(d2g, g, c11, c13, c33, n2) + c23 * j2(c11, c13, c33)

            self.kernels["I3"] = Kernel(i3, f"Stein reduction + Gauss-Hermite 2-D, n={n2}")
        if mix is not None and "I4" not in self.kernels:
            # first-order bound of the I4 error (|g| <= 1, |g'| <= 1 for the tabulated ones)
            self._i4_error_bound = 2.0 * edg + 2.0 * eg
            self.i4_cost = len(ma) ** 4
            self.kernels["I4"] = Kernel(
                lambda *e: mixture_i4(ma, mb, *e),
                f"erf-mixture closed form ({len(ma)} terms, sup error of g {eg:.1e}, "
                f"of g' {edg:.1e})",
            )
        if "I4" not in self.kernels and str(self.act.expr) in COMMITTEE_I4:  # ReLU: orthants
            f4, note4, self._i4_error_bound = COMMITTEE_I4[str(self.act.expr)]
            # measured per I4 in a right-hand side: 33 us at K = M = 10 against erf's closed
            # form 0.09-0.13 us (K = M = 30, 10); counted as 300 closed forms
            self.i4_cost = 300
            self.kernels["I4"] = Kernel(f4, note4)
        if "I4" not in self.kernels:
            self.kernels["I4"] = Kernel(self.numeric_i4, f"Gauss-Hermite 4-D (nested), n={n4}")
        self.methods = {f: self.kernels[f].method for f in _FAMILIES}
        self._build_fast()
        self.error = self._estimate_errors()

    # -- kernels of the ODE right-hand side ------------------------------------------------------
    def _build_fast(self) -> None:
        """Fast kernels for :meth:`i3_split` and :meth:`i4_tri` (the ODE right-hand side).

        Closed forms are re-lambdified without the engine's per-call guards (the guarded engine
        kernel is the fallback, see :class:`GuardedKernel`), and every fast form is checked against
        the engine's kernel at random PSD covariances before it is used.
        """
        g, _, d2g = self._derivatives
        n2 = int(self.n2)
        self.fast_kernels = {}
        for fam in ("I2", "J2"):
            k = self.kernels[fam]
            self.fast_kernels[fam] = (
                k.func
                if k.expr is None
                else self._checked_fast(plain_lambdify(k.expr, COVARIANCE_SYMBOLS[2]), k.func, 2)
            )
        # Stein's lemma: I3(a,b,c) = C_ab <g''(u_a) g(u_c)> + C_bc <g'(u_a) g'(u_c)>, i.e. the
        # closed form is linear in c12 and c23 with coefficients X(c11,c13,c33), J(c11,c13,c33).
        k3 = self.kernels["I3"]
        c11, c12, c13, c22, c23, c33 = COVARIANCE_SYMBOLS[3]
        split: tuple[Callable[..., Any], Callable[..., Any]] | None = None
        if k3.expr is not None:
            xe, je = sp.diff(k3.expr, c12), sp.diff(k3.expr, c23)
            if (xe.free_symbols | je.free_symbols) <= {c11, c13, c33}:
                xf = plain_lambdify(xe, (c11, c13, c33))
                jf = plain_lambdify(je, (c11, c13, c33))
                ent = random_psd_entries(3, 64)
                with np.errstate(all="ignore"):
                    got = ent[:, 1] * xf(ent[:, 0], ent[:, 2], ent[:, 5]) + ent[:, 4] * jf(
                        ent[:, 0], ent[:, 2], ent[:, 5]
                    )
                ref = k3.func(*ent.T)
                if np.allclose(got, ref, rtol=1e-10, atol=1e-12):
                    safe_x = guarded_lambdify(xe, (c11, c13, c33))
                    safe_j = guarded_lambdify(je, (c11, c13, c33))
                    split = (GuardedKernel(xf, safe_x), GuardedKernel(jf, safe_j))
        if split is None and self._i3_mixture_split is not None:
            split = self._i3_mixture_split
        if split is None and k3.expr is None:
            split = (lambda p, q, r: gauss_hermite_2d(d2g, g, p, q, r, n2), self.fast_kernels["J2"])
        self._i3_split = split
        k4 = self.kernels["I4"]
        self.compiled_i4 = None
        if k4.expr is not None:
            s = COVARIANCE_SYMBOLS[4]
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
                expr = horner_by_axes(k4.expr, s, (c34, c13, c23, c33, c14, c24, c44))
                fn = ShapeCompiler(s, axes, {A: 50, c: 20, d: 20}, tri=(c, d)).compile(expr)
            except (Uncompilable, TypeError, ValueError):  # pragma: no cover
                fn = None
            if fn is not None:
                # checked where it is used: i4_tri on full blocks (3 student and 3 teacher
                # fields, all pairs, the whole triangle; a general and a singular covariance)
                # against the engine's kernel, so that a wrong broadcast layout is caught too
                self.compiled_i4 = fn
                ent = random_psd_entries(6, 8, seed=11)
                covs = covariance_from_upper(ent[[0, 1, 2]], 6)  # entry 0-1: duplicated field
                pa, pk = np.triu_indices(3)
                got = self.i4_tri(covs, pa, pk)[0]
                cu, eu = np.triu_indices(6)
                ref = self.I4(covs, pa[:, None], pk[:, None], cu[None, :], eu[None, :])
                if not np.allclose(got, ref, rtol=1e-10, atol=1e-12):
                    self.compiled_i4 = None

    @staticmethod
    def _checked_fast(fast: Callable, safe: Callable, k: int) -> Callable[..., np.ndarray]:
        """``fast`` guarded by ``safe`` if they agree at random PSD covariances, else ``safe``."""
        ent = random_psd_entries(k, 64)
        with np.errstate(all="ignore"):
            got = np.broadcast_to(fast(*ent.T), ent.shape[:1])
        ref = safe(*ent.T)
        if np.allclose(got, ref, rtol=1e-10, atol=1e-12):
            return GuardedKernel(fast, safe)
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
        if key not in self._index_cache:
            self._index_cache[key] = np.triu_indices(P)
        cu, eu = self._index_cache[key]
        n_p = len(pa)
        if self.compiled_i4 is None:  # the engine's kernel or the numeric rule, batched
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
            out = self.compiled_i4(*args, _cu=cu, _du=eu)
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
    def numeric_i4(self, *entries: np.ndarray, n: int | None = None) -> np.ndarray:
        r""":math:`I_4` by the 4-D nested Gauss--Hermite rule
        (:func:`~geosym.gaussian.nodes.nested_gauss_hermite`, ``n`` nodes per dimension,
        default :attr:`n4`) from the ten upper-triangle covariance entries ``c11, c12, ...,
        c44`` (broadcasting), without the dimension reduction of :meth:`I4`."""
        shape = np.broadcast_shapes(*(np.shape(e) for e in entries))
        c = np.stack([np.broadcast_to(e, shape).ravel() for e in entries], axis=1)
        g, dg, _ = self._derivatives
        val = nested_gauss_hermite((dg, dg, g, g), covariance_from_upper(c, 4), int(n or self.n4))
        return val.reshape(shape)

    def _product(self, orders: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
        """The pointwise product of the derivatives of ``orders`` (0: g, 1: g'), cached."""
        key = ("product", orders)
        if key not in self._index_cache:
            fs = [self._derivatives[o] for o in orders]
            if len(fs) == 1:
                self._index_cache[key] = fs[0]
            else:

                def prod(u: np.ndarray) -> np.ndarray:
                    out = fs[0](u)
                    for f in fs[1:]:
                        out = out * f(u)
                    return out

                self._index_cache[key] = prod
        return self._index_cache[key]

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
        hit = self._index_cache.get("plan")
        if hit is not None and hit[0] == key:
            return hit[1]
        t = np.stack(
            [np.minimum(a, b), np.maximum(a, b), np.minimum(c, d), np.maximum(c, d)], axis=-1
        ).reshape(-1, 4)
        uniq, inv = np.unique(t, axis=0, return_inverse=True)
        # first position holding the same index, per position: the coincidence pattern
        first = np.argmax(uniq[:, :, None] == uniq[:, None, :], axis=2)
        patterns, group = np.unique(first, axis=0, return_inverse=True)
        orders = (1, 1, 0, 0)  # g'(u_a) g'(u_b) g(u_c) g(u_d)
        groups = []
        for k, pat in enumerate(patterns):
            rows = np.flatnonzero(group.ravel() == k)
            heads = [p for p in range(4) if pat[p] == p]
            funcs = [
                self._product(tuple(orders[q] for q in range(4) if pat[q] == h)) for h in heads
            ]
            groups.append((rows, uniq[rows][:, heads], funcs))
        plan = (a.shape, inv.ravel(), groups)
        self._index_cache["plan"] = (key, plan)
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
            vals[..., rows] = nested_gauss_hermite(funcs, cov, int(self.n4))
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
        if k.func == self.numeric_i4:
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
        2-D families: against the 2-D rule at 2 n2; erf-mixture I4: the bound of mixture_i4."""
        err = {}
        g, dg, d2g = self._derivatives
        for fam in _FAMILIES:
            m = self.kernels[fam].method
            if fam == "I4" and self._i4_error_bound is not None:
                err[fam] = self._i4_error_bound
                continue
            if not m.startswith(("Gauss", "Stein", "erf-mixture")):
                err[fam] = 0.0
                continue
            k = {"I2": 2, "J2": 2, "I3": 3, "I4": 4}[fam]
            covs = self._test_covs(k)
            iu = np.triu_indices(k)
            ent = np.array([c[iu] for c in covs])
            if fam == "I4":
                lo = self.numeric_i4(*ent.T)
                hi = self.numeric_i4(*ent.T, n=self.n4 + 8)
            else:
                f = self.kernels[fam].func
                lo = f(*ent.T)
                if fam == "I3":
                    hi = ent[:, 1] * gauss_hermite_2d(
                        d2g, g, ent[:, 0], ent[:, 2], ent[:, 5], 2 * self.n2
                    ) + ent[:, 4] * gauss_hermite_2d(
                        dg, dg, ent[:, 0], ent[:, 2], ent[:, 5], 2 * self.n2
                    )
                else:
                    fa = g if fam == "I2" else dg
                    hi = gauss_hermite_2d(fa, fa, ent[:, 0], ent[:, 1], ent[:, 2], 2 * self.n2)
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
    if not isinstance(activation, str | sp.Expr | Activation):
        return IntegralProvider(activation, n2=n2, n4=n4)  # raises the TypeError naming it
    key = (activation, n2, n4)
    if key not in _PROVIDERS:
        _PROVIDERS[key] = IntegralProvider(activation, n2=n2, n4=n4)
    return _PROVIDERS[key]

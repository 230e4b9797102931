r"""One-dimensional closed forms for piecewise functions: truncated Gaussian moments.

A function of one variable whose pieces between its kinks are polynomials times
:math:`e^{bx}` (ReLU with a bias, hard-tanh, ELU, shifted steps, :math:`|x-t|` ...) has

.. math::

    \mathbb E[f(u)] = \sum_i \int_{k_i}^{k_{i+1}} p_i(x)\,e^{b_i x}\,\varphi_q(x)\,dx,
    \qquad e^{bx}\varphi_q(x) = e^{b^2q/2}\,\varphi_q(x-bq),

and every term is a truncated moment of a shifted Gaussian,
:math:`C_k(a,c)=\int_a^c y^k\varphi_q(y)\,dy` with :math:`C_0 = \tfrac12[\operatorname{erf}(c/\sqrt{2q})
-\operatorname{erf}(a/\sqrt{2q})]`, :math:`C_1 = q[\varphi_q(a)-\varphi_q(c)]` and
:math:`C_k = (k-1)\,q\,C_{k-2} + q\,[a^{k-1}\varphi_q(a) - c^{k-1}\varphi_q(c)]` (integration by
parts).  Infinite limits drop their boundary terms.
"""

from __future__ import annotations

import functools

import sympy as sp

from ..activations import Activation, X
from .canonical import NotClosed

__all__ = ["piecewise_expectation"]


def _density(y: sp.Expr, q: sp.Expr) -> sp.Expr:
    return sp.exp(-(y**2) / (2 * q)) / sp.sqrt(2 * sp.pi * q)


def _boundary(y: sp.Expr, power: int, q: sp.Expr) -> sp.Expr:
    """y^power * phi_q(y), with the limit 0 at y = +-oo."""
    if y in (sp.oo, -sp.oo):
        return sp.Integer(0)
    return y**power * _density(y, q)


def _central_moment(k: int, a: sp.Expr, c: sp.Expr, q: sp.Expr) -> sp.Expr:
    r""":math:`\int_a^c y^k \varphi_q(y)\,dy` by the recursion in the module docstring."""
    if k == 0:  # erf(+-oo) = +-1 in SymPy, so infinite limits need no special case
        return (sp.erf(c / sp.sqrt(2 * q)) - sp.erf(a / sp.sqrt(2 * q))) / 2
    if k == 1:
        return q * (_boundary(a, 0, q) - _boundary(c, 0, q))
    return (k - 1) * q * _central_moment(k - 2, a, c, q) + q * (
        _boundary(a, k - 1, q) - _boundary(c, k - 1, q)
    )


def _resolve(expr: sp.Expr, point: float) -> sp.Expr:
    """Replace every switching function by the branch it takes at ``point`` (inside a piece)."""

    def sign_at(g: sp.Expr) -> int:
        value = float(g.subs(X, point))
        if value == 0:
            raise NotClosed("a switching function is zero inside a piece")
        return 1 if value > 0 else -1

    def rewrite(e: sp.Expr) -> sp.Expr:
        if not e.args or not e.has(X):
            return e
        args = [rewrite(a) for a in e.args]
        if isinstance(e, sp.Heaviside):
            return sp.Integer(1 if sign_at(args[0]) > 0 else 0)
        if isinstance(e, sp.sign):
            return sp.Integer(sign_at(args[0]))
        if isinstance(e, sp.Abs):
            return args[0] * sign_at(args[0])
        if isinstance(e, (sp.Max, sp.Min)):
            pick = max if isinstance(e, sp.Max) else min
            return pick(args, key=lambda a: float(a.subs(X, point)))
        if isinstance(e, sp.Piecewise):
            for value, cond in e.args:
                if bool(cond.subs(X, point)):
                    return rewrite(value)
            raise NotClosed("no piece of a Piecewise holds")
        if isinstance(e, sp.DiracDelta):
            raise NotClosed("Dirac delta")
        return e.func(*args)

    return rewrite(expr)


def _piece_terms(piece: sp.Expr) -> list[tuple[sp.Expr, int, sp.Expr]]:
    """``piece`` as a sum of c * x**n * exp(b*x) terms: (c, n, b)."""
    out = []
    for term in sp.Add.make_args(sp.expand(piece, power_exp=True)):
        coeff, n, b = sp.Integer(1), 0, sp.Integer(0)
        for f in sp.Mul.make_args(term):
            base, e = f.as_base_exp()
            if not f.has(X):
                coeff *= f
            elif base == X and e.is_Integer and e > 0:
                n += int(e)
            elif isinstance(base, sp.exp) or base is sp.E:
                arg = sp.expand((base.args[0] if isinstance(base, sp.exp) else 1) * e)
                slope = arg.coeff(X)
                if sp.expand(arg - slope * X).has(X):
                    raise NotClosed(f"exp({arg}) is not exp(linear)")
                coeff *= sp.exp(arg - slope * X)
                b += slope
            else:
                raise NotClosed(f"no truncated-moment rule for {f}")
        out.append((coeff, n, b))
    return out


@functools.lru_cache(maxsize=1024)
def _rational(kink: sp.Expr) -> sp.Expr:
    """A kink as an exact rational; cached: ``nsimplify`` tries to identify each float
    (PSLQ, about 50 ms), and every kernel of an activation meets the same kinks."""
    return sp.nsimplify(kink, rational=True)


def piecewise_expectation(act: Activation, q: sp.Expr) -> sp.Expr:
    """Closed form of E[f(u)], u ~ N(0, q), for piecewise (polynomial x exp-linear) f.

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.activations import activation
    >>> from geosym.gaussian.piecewise import piecewise_expectation
    >>> piecewise_expectation(activation("relu"), sp.Symbol("q", positive=True))  # E[max(0, u)]
    sqrt(2)*sqrt(q)/(2*sqrt(pi))
    """
    kinks = [_rational(k) for k in act.kinks]
    if not kinks:
        raise NotClosed("not piecewise")
    edges = [-sp.oo, *kinks, sp.oo]
    total = sp.Integer(0)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mid = (
            float(lo + hi) / 2
            if lo.is_finite and hi.is_finite
            else float((hi - 1) if lo == -sp.oo else (lo + 1))
        )
        for coeff, n, b in _piece_terms(_resolve(act.expr, mid)):
            shift = b * q  # e^{bx} phi_q(x) = e^{b^2 q/2} phi_q(x - b q)
            a, c = lo - shift, hi - shift
            moment = sum(
                sp.binomial(n, j) * shift ** (n - j) * _central_moment(j, a, c, q)
                for j in range(n + 1)
            )
            total += coeff * sp.exp(b**2 * q / 2) * moment
    return total

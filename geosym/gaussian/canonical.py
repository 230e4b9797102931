r"""Canonical forms: an activation as a sum of products of primitive Gaussian-friendly factors.

Every function the closed-form rules understand is rewritten, for one variable u, as a finite sum

.. math::

    f(u) = \sum_t c_t\, u^{n_t}\, e^{-a_t u^2 + b_t u}\,
           \prod_j \operatorname{sign}(u)\,\prod_j \operatorname{erf}(s_j u)\;[\delta(u)],

using :math:`\Theta(u) = (1+\operatorname{sign} u)/2`, :math:`\max(y,z) = (y+z+|y-z|)/2`,
:math:`|u| = u\operatorname{sign}u`, :math:`\sin, \cos \to` complex exponentials and
``Piecewise`` at 0 :math:`\to` step combinations.  A function that cannot be written this way
(tanh, sigmoid, a kink away from 0 ...) raises :class:`NotClosed`, and the engine falls back to
certified quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from ..activations import X

__all__ = ["NotClosed", "Factor", "Term", "canonical_terms"]


class NotClosed(Exception):
    """Raised internally when no closed-form rule applies.

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.gaussian.canonical import NotClosed, canonical_terms
    >>> from geosym.activations import X
    >>> try:
    ...     canonical_terms(sp.tanh(X))
    ... except NotClosed:
    ...     print("no closed form: geosym.expect falls back to certified quadrature")
    no closed form: geosym.expect falls back to certified quadrature
    """


@dataclass(frozen=True)
class Factor:
    r"""Primitive factors acting on one Gaussian variable u.

    ``u**power * exp(-gauss*u**2 + lin*u) * sign(u)**signs * prod(erf(s*u) for s in erfs)``
    times ``delta(u)`` when ``delta`` is True.

    Examples
    --------
    >>> from geosym.gaussian.canonical import Factor
    >>> Factor(power=2)  # u**2
    Factor(power=2, gauss=0, lin=0, signs=0, erfs=(), delta=False)
    """

    power: int = 0
    gauss: sp.Expr = sp.Integer(0)
    lin: sp.Expr = sp.Integer(0)
    signs: int = 0
    erfs: tuple[sp.Expr, ...] = ()
    delta: bool = False

    def times(self, other: Factor) -> Factor:
        """Product of two factors on the same variable."""
        if self.delta and other.delta:
            raise NotClosed("product of two delta functions of the same variable")
        return Factor(
            power=self.power + other.power,
            gauss=self.gauss + other.gauss,
            lin=self.lin + other.lin,
            signs=(self.signs + other.signs) % 2,
            erfs=self.erfs + other.erfs,
            delta=self.delta or other.delta,
        )

    @property
    def is_polynomial(self) -> bool:
        """Only a power of u (no exponential, sign, erf or delta)."""
        return (
            self.gauss == 0
            and self.lin == 0
            and not self.signs
            and not self.erfs
            and not self.delta
        )


@dataclass(frozen=True)
class Term:
    """A coefficient times one :class:`Factor` per Gaussian variable (index -> factor).

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.gaussian.canonical import Factor, Term
    >>> from geosym.gaussian.rules import reduce_term
    >>> term = Term(sp.Integer(1), ((0, Factor(signs=1)), (1, Factor(signs=1))))  # sign(u1) sign(u2)
    >>> r = sp.Symbol("r")
    >>> reduce_term(term, sp.Matrix([[1, r], [r, 1]]))  # the arc-sine law
    2*asin(r)/pi
    """

    coeff: sp.Expr
    factors: tuple[tuple[int, Factor], ...]

    def factor(self, var: int) -> Factor:
        for v, f in self.factors:
            if v == var:
                return f
        return Factor()

    def with_factor(self, var: int, factor: Factor) -> Term:
        items = dict(self.factors)
        items[var] = factor
        return replace(self, factors=tuple(sorted(items.items())))

    def scaled(self, c: sp.Expr) -> Term:
        return replace(self, coeff=self.coeff * c)


def _piecewise_as_steps(expr: sp.Piecewise) -> sp.Expr:
    """``Piecewise((A, x >= 0), (B, True))`` (and mirrored forms) as ``B + (A-B)*Theta(x)``."""
    if len(expr.args) != 2 or expr.args[1].cond is not sp.true:
        raise NotClosed("piecewise function with more than two pieces")
    (a, cond), (b, _) = expr.args
    if not isinstance(cond, sp.core.relational.Relational):
        raise NotClosed("piecewise condition is not a comparison")
    lhs = sp.expand(cond.lhs - cond.rhs)
    coeff = lhs.coeff(X)
    if sp.expand(lhs - coeff * X) != 0 or not coeff.is_number or coeff == 0:
        raise NotClosed(f"piecewise switch at {cond} is not at x = 0")
    positive_side = isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan)) == bool(coeff > 0)
    step = (1 + sp.sign(X)) / 2 if positive_side else (1 - sp.sign(X)) / 2
    return b + (a - b) * step


#: Functions the rules can rewrite (anything else, e.g. tanh, has no closed form here).
_REWRITABLE = (
    sp.exp,
    sp.erf,
    sp.erfc,
    sp.sign,
    sp.Heaviside,
    sp.Abs,
    sp.Max,
    sp.Min,
    sp.Piecewise,
    sp.DiracDelta,
    sp.sin,
    sp.cos,
    sp.sinh,
    sp.cosh,
)
#: Budget of the expansion: operations of the input and terms of its multinomial expansion.
_MAX_OPS = 400
_MAX_TERMS = 20_000
#: Highest power of x whose Gaussian moment is kept exact ((n-1)!! has ~n log10(n)/2 digits).
_MAX_POWER = 1000


def _check_budget(expr: sp.Expr) -> None:
    """Raise NotClosed, before expanding, for what the rules cannot do or would take too long on."""
    for f in expr.atoms(sp.Function):
        if not isinstance(f, _REWRITABLE):
            raise NotClosed(f"no closed-form rule for {f.func}")
    ops = sp.count_ops(expr)
    if ops > _MAX_OPS:
        raise NotClosed(f"expression too large for the closed-form rules ({ops} operations)")
    terms = 1
    for p in expr.atoms(sp.Pow):
        base, n = p.as_base_exp()
        if not n.is_Integer:
            continue
        if base == X and abs(int(n)) > _MAX_POWER:
            raise NotClosed(f"x**{n}: power above {_MAX_POWER}")
        if isinstance(base, sp.Add) and n > 1:
            k = len(base.args)
            terms *= int(sp.binomial(min(int(n), 10**6) + k - 1, k - 1))
            if terms > _MAX_TERMS:
                raise NotClosed(f"expanding {p} gives more than {_MAX_TERMS} terms")


def _rewrite(expr: sp.Expr) -> sp.Expr:
    """Rewrite into exp, erf, sign, DiracDelta and powers of x (or raise NotClosed)."""
    _check_budget(expr)
    expr = expr.replace(sp.Max, lambda *a: _pairwise(a, +1))
    expr = expr.replace(sp.Min, lambda *a: _pairwise(a, -1))
    expr = expr.replace(sp.Abs, lambda y: y * sp.sign(y))
    expr = expr.replace(
        lambda e: isinstance(e, sp.Heaviside), lambda e: (1 + sp.sign(e.args[0])) / 2
    )
    if expr.has(sp.Piecewise):
        expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), _piecewise_as_steps)
    if expr.has(sp.sin, sp.cos, sp.sinh, sp.cosh):
        expr = expr.rewrite(sp.exp)
    expr = expr.replace(sp.erfc, lambda y: 1 - sp.erf(y))
    return sp.expand(expr, power_exp=True, mul=True, multinomial=True, log=False, deep=True)


def _pairwise(args: tuple[sp.Expr, ...], sign: int) -> sp.Expr:
    if len(args) != 2:
        raise NotClosed("max/min of more than two arguments")
    y, z = args
    return (y + z + sign * sp.Abs(y - z)) / 2


def _scale_of(arg: sp.Expr, what: str) -> sp.Expr:
    """The constant s in ``arg = s*x``; raise NotClosed for offsets or nonlinear arguments."""
    s = sp.cancel(arg / X)
    if s.has(X) or s == 0:
        raise NotClosed(f"{what}({arg}) is not of the form {what}(s*x)")
    return s


def _quadratic(arg: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """Coefficients (a, b, c) with ``arg = -a x^2 + b x + c``; NotClosed if not quadratic."""
    poly = sp.Poly(sp.expand(arg), X) if arg.has(X) else None
    if poly is None:
        return sp.Integer(0), sp.Integer(0), arg
    if poly.degree() > 2:
        raise NotClosed(f"exp({arg}) has a polynomial of degree > 2 in the exponent")
    c2, c1, c0 = (poly.coeff_monomial(X**k) for k in (2, 1, 0))
    return -c2, c1, c0


def _classify(term: sp.Expr) -> tuple[sp.Expr, Factor]:
    """Split a product into a constant coefficient and one Factor in x."""
    coeff = sp.Integer(1)
    factor = Factor()
    for f in sp.Mul.make_args(term):
        base, exp = f.as_base_exp()
        if not f.has(X):
            coeff *= f
        elif base == X and exp.is_Integer and exp > 0:
            factor = factor.times(Factor(power=int(exp)))
        elif isinstance(base, sp.exp) or base is sp.E:
            arg = (base.args[0] if isinstance(base, sp.exp) else sp.Integer(1)) * exp
            a, b, c = _quadratic(arg)
            coeff *= sp.exp(c)
            factor = factor.times(Factor(gauss=a, lin=b))
        elif isinstance(base, sp.sign) and exp.is_Integer and exp > 0:
            s = _scale_of(base.args[0], "sign")
            coeff *= sp.sign(s) ** exp
            factor = factor.times(Factor(signs=int(exp) % 2))
        elif isinstance(base, sp.erf) and exp.is_Integer and exp > 0:
            s = _scale_of(base.args[0], "erf")
            factor = factor.times(Factor(erfs=(s,) * int(exp)))
        elif isinstance(base, sp.DiracDelta) and exp == 1 and len(base.args) == 1:
            s = _scale_of(base.args[0], "DiracDelta")
            coeff /= sp.Abs(s)
            factor = factor.times(Factor(delta=True))
        else:
            raise NotClosed(f"no closed-form rule for the factor {f}")
    return coeff, factor


def canonical_terms(expr: sp.Expr) -> list[tuple[sp.Expr, Factor]]:
    """Write ``expr(x)`` as a list of (coefficient, Factor); raise NotClosed when impossible.

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.activations import X
    >>> from geosym.gaussian.canonical import NotClosed, canonical_terms
    >>> canonical_terms(X * sp.exp(-X**2))
    [(1, Factor(power=1, gauss=1, lin=0, signs=0, erfs=(), delta=False))]
    >>> try:
    ...     canonical_terms(sp.tanh(X))
    ... except NotClosed as exc:
    ...     print(exc)
    no closed-form rule for tanh
    """
    try:
        rewritten = _rewrite(expr)
    except (sp.PolynomialError, TypeError, ValueError) as exc:
        raise NotClosed(f"cannot rewrite {expr}: {exc}") from None
    out = []
    for term in sp.Add.make_args(rewritten):
        try:
            coeff, factor = _classify(term)
        except (sp.PolynomialError, TypeError, ValueError) as exc:
            raise NotClosed(f"no closed-form rule for {term}: {exc}") from None
        if coeff != 0:
            out.append((coeff, factor))
    return out

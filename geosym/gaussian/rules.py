r"""Closed-form reduction of Gaussian expectations of canonical terms.

For :math:`u \sim \mathcal N(0, \Sigma)` and a product of primitive factors (see
:mod:`geosym.gaussian.canonical`), :func:`reduce_term` applies, in this order:

1. **Dirac conditioning** — :math:`\mathbb E[\delta(u_a) h(u)] = (2\pi\Sigma_{aa})^{-1/2}
   \mathbb E[h(u)\mid u_a = 0]`; the conditional law is centred with the Schur complement
   :math:`\Sigma - \Sigma_{\cdot a}\Sigma_{a\cdot}/\Sigma_{aa}`.
2. **Gaussian absorption** (determinant formula) — for :math:`A = \operatorname{diag}(2a_i)` on a
   subset S, :math:`\mathbb E[e^{-u^\top A u/2} h(u)] = \det(I + A_S\Sigma_{SS})^{-1/2}\,
   \mathbb E_{\Sigma'}[h(u)]` with :math:`\Sigma' = \Sigma - \Sigma_{\cdot S} A_S (I +
   \Sigma_{SS} A_S)^{-1}\Sigma_{S\cdot}`.  This is how erf' factors (Gaussians) disappear.
3. **Exponential tilting** — :math:`\mathbb E[e^{b^\top u} p(u)] = e^{b^\top\Sigma b/2}\,
   \mathbb E[p(u + \Sigma b)]` for polynomial p (also for imaginary b: sin, cos).
4. **Isserlis/Wick** for pure monomials, and **Stein's lemma**
   :math:`\mathbb E[u_a h(u)] = \sum_b \Sigma_{ab}\mathbb E[\partial_b h(u)]` to remove
   polynomial factors in front of sign/erf factors
   (:math:`\partial\operatorname{sign} = 2\delta`, :math:`\partial\operatorname{erf}(su) =
   \tfrac{2s}{\sqrt\pi}e^{-s^2u^2}`).
5. **Arc-sine law** — with only sign and erf factors left, write
   :math:`\operatorname{erf}(su) = \mathbb E_n[\operatorname{sign}(u+n)]`, :math:`n\sim\mathcal
   N(0, 1/(2s^2))`; a product of m signs of centred Gaussians has mean 0 for odd m and
   :math:`\tfrac2\pi\arcsin\rho` for m = 2 (Sheppard; Williams 1997 for erf).  The ReLU
   arc-cosine kernels (Cho & Saul 2009) follow from 4 and 5.

Each rule used is recorded by name, so an :class:`~geosym.gaussian.Expectation` can say how it
was obtained.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sympy as sp

from .canonical import Factor, NotClosed, Term

__all__ = ["RULES", "ReductionContext", "Rule", "reduce_term", "schur_remove", "wick"]

#: Stein's lemma is applied to at most this total polynomial degree (expression growth)
_MAX_STEIN_DEGREE = 8


class ReductionContext:
    """Collects the names of the rules used and checks integrability of numeric cases.

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.gaussian.canonical import Factor, Term
    >>> from geosym.gaussian.rules import ReductionContext, reduce_term
    >>> ctx = ReductionContext()
    >>> r = sp.Symbol("r")
    >>> sign_pair = Term(sp.Integer(1), ((0, Factor(signs=1)), (1, Factor(signs=1))))
    >>> reduce_term(sign_pair, sp.Matrix([[1, r], [r, 1]]), ctx), sorted(ctx.rules)
    (2*asin(r)/pi, ['arc-sine law (sign/erf pair)'])
    """

    def __init__(self) -> None:
        self.rules: set[str] = set()
        self.memo: dict = {}  # (term, covariance) -> value: Stein branches revisit terms


def schur_remove(sigma: sp.Matrix, index: int) -> sp.Matrix:
    """Covariance of the other variables conditioned on variable ``index`` = 0.

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.gaussian.rules import schur_remove
    >>> r = sp.Symbol("r")
    >>> schur_remove(sp.Matrix([[1, r], [r, 1]]), 0)  # Var(u2 | u1 = 0)
    Matrix([[1 - r**2]])
    """
    col = sigma[:, index]
    cond = sigma - col * col.T / sigma[index, index]
    keep = [i for i in range(sigma.shape[0]) if i != index]
    return cond.extract(keep, keep)


def _relabel(term: Term, removed: int) -> Term:
    """Shift variable indices above ``removed`` down by one."""
    return Term(
        term.coeff,
        tuple((v - 1 if v > removed else v, f) for v, f in term.factors if v != removed),
    )


def wick(
    powers: dict[int, int], sigma: sp.Matrix, mean: dict[int, sp.Expr] | None = None
) -> sp.Expr:
    r"""Isserlis/Wick: :math:`\mathbb E[\prod_i (u_i + m_i)^{n_i}]` for centred Gaussian u.

    Sums over perfect matchings of the multiset of variables (pairs contribute
    :math:`\Sigma_{ij}`), after a binomial expansion of the mean shift.

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.gaussian.rules import wick
    >>> r, q = sp.symbols("r q")
    >>> wick({0: 2, 1: 2}, sp.Matrix([[1, r], [r, 1]]))  # E[u1^2 u2^2]
    2*r**2 + 1
    >>> wick({0: 4}, sp.Matrix([[q]]))  # E[u^4] = 3 q^2
    3*q**2
    """
    mean = mean or {}
    items = [(v, n) for v, n in powers.items() if n > 0]
    total = sp.Integer(0)
    for picks in itertools.product(*[range(n + 1) for _, n in items]):
        coeff = sp.Integer(1)
        slots: list[int] = []
        for (v, n), k in zip(items, picks, strict=False):
            m = mean.get(v, sp.Integer(0))
            if k < n and m == 0:
                coeff = sp.Integer(0)
                break
            coeff *= sp.binomial(n, k) * m ** (n - k)
            slots.extend([v] * k)
        if coeff == 0 or len(slots) % 2:
            continue
        total += coeff * _matchings(tuple(slots), sigma)
    return total


def _matchings(slots: tuple[int, ...], sigma: sp.Matrix) -> sp.Expr:
    """Sum over perfect matchings of ``slots`` of the product of covariances (memoised by counts)."""
    counts: dict[int, int] = {}
    for v in slots:
        counts[v] = counts.get(v, 0) + 1
    if len(counts) <= 2:
        return _bivariate_moment(counts, sigma)
    return _matchings_counts(tuple(sorted(counts.items())), sigma)


def _double_factorial(n: int) -> int:
    return 1 if n <= 0 else int(sp.factorial2(n))


def _bivariate_moment(counts: dict[int, int], sigma: sp.Matrix) -> sp.Expr:
    r""":math:`\mathbb E[X^m Y^n] = \sum_k \binom mk\binom nk k!\,c^k (m-k-1)!!\,a^{(m-k)/2}
    (n-k-1)!!\,b^{(n-k)/2}` (k cross pairs; the rest paired within X and within Y)."""
    if not counts:
        return sp.Integer(1)
    (v, m), (w, n) = (list(counts.items()) + [(None, 0)])[:2]
    a = sigma[v, v]
    if w is None:
        return sp.Integer(0) if m % 2 else _double_factorial(m - 1) * a ** (m // 2)
    b, c = sigma[w, w], sigma[v, w]
    total = sp.Integer(0)
    for k in range(m % 2, min(m, n) + 1, 2):
        if (n - k) % 2:
            continue
        total += (
            sp.binomial(m, k)
            * sp.binomial(n, k)
            * sp.factorial(k)
            * c**k
            * _double_factorial(m - k - 1)
            * a ** ((m - k) // 2)
            * _double_factorial(n - k - 1)
            * b ** ((n - k) // 2)
        )
    return total


def _matchings_counts(counts: tuple[tuple[int, int], ...], sigma: sp.Matrix) -> sp.Expr:
    cache: dict[tuple[tuple[int, int], ...], sp.Expr] = {}

    def rec(state: tuple[tuple[int, int], ...]) -> sp.Expr:
        state = tuple((v, n) for v, n in state if n > 0)
        if not state:
            return sp.Integer(1)
        if state in cache:
            return cache[state]
        (v, n), rest = state[0], list(state)
        total = sp.Integer(0)
        # pair one copy of v with another copy of v ...
        if n >= 2:
            rest[0] = (v, n - 2)
            total += (n - 1) * sigma[v, v] * rec(tuple(rest))
        # ... or with a copy of another variable w
        for j in range(1, len(state)):
            w, m = state[j]
            nxt = list(state)
            nxt[0] = (v, n - 1)
            nxt[j] = (w, m - 1)
            total += m * sigma[v, w] * rec(tuple(nxt))
        cache[state] = total
        return total

    return rec(counts)


def _derivative_terms(term: Term, var: int) -> Iterable[Term]:
    """Product rule: the terms of :math:`\\partial_{u_{var}}` of the product of factors."""
    f = term.factor(var)
    if f.delta:
        raise NotClosed("derivative of a delta function")
    if f.power:
        yield term.with_factor(var, Factor(f.power - 1, f.gauss, f.lin, f.signs, f.erfs)).scaled(
            sp.Integer(f.power)
        )
    if f.signs:
        yield term.with_factor(var, Factor(f.power, f.gauss, f.lin, 0, f.erfs, True)).scaled(2)
    if f.gauss != 0 or f.lin != 0:
        base = Factor(f.power, f.gauss, f.lin, f.signs, f.erfs)
        yield term.with_factor(var, base.times(Factor(power=1))).scaled(-2 * f.gauss)
        if f.lin != 0:
            yield term.with_factor(var, base).scaled(f.lin)
    for j, s in enumerate(f.erfs):
        rest = f.erfs[:j] + f.erfs[j + 1 :]
        new = Factor(f.power, f.gauss + s**2, f.lin, f.signs, rest)
        yield term.with_factor(var, new).scaled(2 * s / sp.sqrt(sp.pi))


def _check_absorbable(a_block: sp.Matrix, s_block: sp.Matrix) -> None:
    """Divergence check when the exponent grows (a < 0) and the covariance is numeric."""
    m = sp.eye(a_block.shape[0]) + a_block * s_block
    if m.is_symbolic() or all(a.is_nonnegative for a in a_block.diagonal()):
        return
    eig = [complex(e) for e in m.evalf().eigenvals()]
    if any(e.real <= 0 for e in eig):
        raise ValueError(
            "the Gaussian expectation diverges: a factor exp(+c*u^2) grows faster than the Gaussian "
            "density decays at this covariance (need 1 - 2c*var > 0)"
        )


def reduce_term(term: Term, sigma: sp.Matrix, ctx: ReductionContext | None = None) -> sp.Expr:
    """Closed form of E[term] for u ~ N(0, sigma); raises NotClosed when no rule applies.

    Examples
    --------
    >>> import sympy as sp
    >>> from geosym.gaussian.canonical import Factor, Term
    >>> from geosym.gaussian.rules import reduce_term
    >>> q = sp.Symbol("q", positive=True)
    >>> reduce_term(Term(sp.Integer(1), ((0, Factor(power=2)),)), sp.Matrix([[q]]))  # E[u^2]
    q
    """
    ctx = ctx if ctx is not None else ReductionContext()
    return _reduce(term, sigma, ctx)


def _reduce(term: Term, sigma: sp.Matrix, ctx: ReductionContext) -> sp.Expr:
    if term.coeff == 0:
        return sp.Integer(0)
    key = (Term(sp.Integer(1), term.factors), sp.ImmutableMatrix(sigma))
    if key not in ctx.memo:
        ctx.memo[key] = _reduce_unit(Term(sp.Integer(1), term.factors), sigma, ctx)
    return term.coeff * ctx.memo[key]


# --------------------------------------------------------------------------------------------
# the rules, in the order they are tried (module docstring); each reduces a unit-coefficient term
# --------------------------------------------------------------------------------------------
Factors = dict[int, Factor]


@dataclass(frozen=True)
class Rule:
    """One closed-form rule: ``applies(factors)`` says whether it handles a term, ``reduce``
    returns E[term] (recording the rule names it used in the context).

    Examples
    --------
    >>> from geosym.gaussian.rules import RULES
    >>> [rule.name for rule in RULES][:3]  # tried in this order
    ['Dirac conditioning', 'Gaussian absorption', 'exponential tilting']
    """

    name: str
    applies: Callable[[Factors], bool]
    reduce: Callable[[Term, sp.Matrix, ReductionContext], sp.Expr]


def _has_sign_erf(factors: Factors) -> bool:
    return any(f.signs or f.erfs for f in factors.values())


def _has_power(factors: Factors) -> bool:
    return any(f.power for f in factors.values())


def _dirac(term: Term, sigma: sp.Matrix, ctx: ReductionContext) -> sp.Expr:
    r""":math:`\mathbb E[\delta(u_a)h(u)] = (2\pi\Sigma_{aa})^{-1/2}\mathbb E[h(u)\mid u_a=0]`."""
    v, f = next((v, f) for v, f in term.factors if f.delta)
    ctx.rules.add("Dirac conditioning")
    if f.power or f.signs or f.erfs:
        return sp.Integer(0)  # u^n, sign(u), erf(u) vanish at u = 0
    weight = 1 / sp.sqrt(2 * sp.pi * sigma[v, v])
    return weight * _reduce(_relabel(term, v), schur_remove(sigma, v), ctx)


def _absorb(term: Term, sigma: sp.Matrix, ctx: ReductionContext) -> sp.Expr:
    r"""Absorb :math:`e^{-a u^2}` factors into the covariance (determinant formula)."""
    factors = dict(term.factors)
    gauss_vars = [v for v, f in factors.items() if f.gauss != 0]
    ctx.rules.add("Gaussian absorption")
    a_block = sp.diag(*[2 * factors[v].gauss for v in gauss_vars])
    s_block = sigma.extract(gauss_vars, gauss_vars)
    _check_absorbable(a_block, s_block)
    m = sp.eye(len(gauss_vars)) + s_block * a_block
    cols = sigma.extract(list(range(sigma.shape[0])), gauss_vars)
    new_sigma = sigma - cols * a_block * m.inv() * cols.T
    new_sigma = new_sigma.applyfunc(sp.factor)
    det = sp.factor((sp.eye(len(gauss_vars)) + a_block * s_block).det())
    new_factors = tuple(
        (v, Factor(f.power, sp.Integer(0), f.lin, f.signs, f.erfs, f.delta))
        for v, f in term.factors
    )
    return _reduce(Term(term.coeff / sp.sqrt(det), new_factors), new_sigma, ctx)


def _tilt(term: Term, sigma: sp.Matrix, ctx: ReductionContext) -> sp.Expr:
    r""":math:`\mathbb E[e^{b^\top u}p(u)] = e^{b^\top\Sigma b/2}\mathbb E[p(u+\Sigma b)]`."""
    factors = dict(term.factors)
    if _has_sign_erf(factors):
        raise NotClosed("exponential tilt together with sign/erf factors")
    ctx.rules.add("exponential tilting")
    b = sp.Matrix([factors.get(v, Factor()).lin for v in range(sigma.shape[0])])
    shift = sigma * b
    scale = sp.exp(sp.expand((b.T * sigma * b)[0, 0] / 2))
    powers = {v: f.power for v, f in factors.items()}
    return term.coeff * scale * wick(powers, sigma, {v: shift[v] for v in range(len(shift))})


def _isserlis(term: Term, sigma: sp.Matrix, ctx: ReductionContext) -> sp.Expr:
    """Moments of a centred Gaussian (Isserlis/Wick)."""
    ctx.rules.add("Isserlis/Wick")
    return term.coeff * wick({v: f.power for v, f in term.factors}, sigma)


def _stein(term: Term, sigma: sp.Matrix, ctx: ReductionContext) -> sp.Expr:
    r""":math:`\mathbb E[u_a h(u)] = \sum_b\Sigma_{ab}\mathbb E[\partial_b h(u)]`, lowering a power
    in front of sign/erf factors."""
    factors = dict(term.factors)
    degree = sum(f.power for f in factors.values())
    if degree > _MAX_STEIN_DEGREE:
        raise NotClosed(
            f"polynomial degree {degree} next to sign/erf factors: beyond the rule engine "
            f"(<= {_MAX_STEIN_DEGREE}); using quadrature"
        )
    ctx.rules.add("Stein's lemma")
    a = next(v for v, f in factors.items() if f.power)
    f = factors[a]
    lowered = term.with_factor(a, Factor(f.power - 1, f.gauss, f.lin, f.signs, f.erfs))
    total = sp.Integer(0)
    for b in range(sigma.shape[0]):
        if sigma[a, b] == 0:
            continue
        for t in _derivative_terms(lowered, b):
            total += sigma[a, b] * _reduce(t, sigma, ctx)
    return total


def _arcsine(term: Term, sigma: sp.Matrix, ctx: ReductionContext) -> sp.Expr:
    r"""Only sign and erf factors left: :math:`\operatorname{erf}(su)=\mathbb E_n\operatorname{sign}
    (u+n)`; odd products vanish, a pair gives :math:`\tfrac2\pi\arcsin\rho`."""
    forms: list[tuple[int, sp.Expr]] = []  # (variable, extra noise variance)
    coeff = term.coeff
    for v, f in term.factors:
        if f.signs:
            forms.append((v, sp.Integer(0)))
        for s in f.erfs:
            if s.is_negative:
                coeff = -coeff
            forms.append((v, 1 / (2 * s**2)))
    if not forms:
        return coeff
    if len(forms) % 2:
        ctx.rules.add("odd symmetry")
        return sp.Integer(0)
    if len(forms) == 2:
        ctx.rules.add("arc-sine law (sign/erf pair)")
        (v1, n1), (v2, n2) = forms
        cov = sp.factor(sigma[v1, v2])
        var1, var2 = sp.factor(sigma[v1, v1] + n1), sp.factor(sigma[v2, v2] + n2)
        if v1 == v2 and n1 == 0 and n2 == 0:
            return coeff
        return coeff * 2 / sp.pi * sp.asin(cov / sp.sqrt(var1 * var2))
    raise NotClosed(f"orthant probability of {len(forms)} Gaussian signs")


#: The rules in the order they are tried; the first whose ``applies`` holds reduces the term.
RULES: tuple[Rule, ...] = (
    Rule("Dirac conditioning", lambda fs: any(f.delta for f in fs.values()), _dirac),
    Rule("Gaussian absorption", lambda fs: any(f.gauss != 0 for f in fs.values()), _absorb),
    Rule("exponential tilting", lambda fs: any(f.lin != 0 for f in fs.values()), _tilt),
    Rule("Isserlis/Wick", lambda fs: _has_power(fs) and not _has_sign_erf(fs), _isserlis),
    Rule("Stein's lemma", _has_power, _stein),
    Rule("arc-sine law", lambda fs: True, _arcsine),
)


def _reduce_unit(term: Term, sigma: sp.Matrix, ctx: ReductionContext) -> sp.Expr:
    factors = dict(term.factors)
    rule = next(r for r in RULES if r.applies(factors))
    return rule.reduce(term, sigma, ctx)

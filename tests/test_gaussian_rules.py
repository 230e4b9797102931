"""geosym.gaussian.rules: each closed-form rule on its own, against a textbook value."""

import pytest
import sympy as sp

from geosym.gaussian.canonical import Factor, Term
from geosym.gaussian.rules import RULES, ReductionContext, reduce_term

S, R = sp.symbols("s r", positive=True)  # variance, covariance
ONE = sp.Matrix([[S]])
TWO = sp.Matrix([[S, R], [R, S]])


def _term(*factors):
    return Term(sp.Integer(1), tuple(enumerate(factors)))


CASES = [
    # (rule, term, covariance, expected)
    ("Dirac conditioning", _term(Factor(delta=True)), ONE, 1 / sp.sqrt(2 * sp.pi * S)),
    ("Gaussian absorption", _term(Factor(gauss=sp.Rational(1, 2))), ONE, 1 / sp.sqrt(1 + S)),
    ("exponential tilting", _term(Factor(lin=sp.Integer(2))), ONE, sp.exp(2 * S)),
    ("Isserlis/Wick", _term(Factor(power=4)), ONE, 3 * S**2),
    ("Stein's lemma", _term(Factor(power=1, signs=1)), ONE, sp.sqrt(2 * S / sp.pi)),  # E|u|
    ("arc-sine law", _term(Factor(signs=1), Factor(signs=1)), TWO, 2 / sp.pi * sp.asin(R / S)),
]


def test_the_rules_are_listed_in_their_documented_order():
    assert [r.name for r in RULES] == [c[0] for c in CASES]


@pytest.mark.parametrize("name, term, sigma, expected", CASES, ids=[c[0] for c in CASES])
def test_each_rule(name, term, sigma, expected):
    rule = next(r for r in RULES if r.name == name)
    factors = dict(term.factors)
    assert rule.applies(factors)
    # it is the first rule that applies, so reduce_term uses it
    assert next(r for r in RULES if r.applies(factors)) is rule
    ctx = ReductionContext()
    value = rule.reduce(term, sigma, ctx)
    assert sp.simplify(value - expected) == 0
    assert sp.simplify(reduce_term(term, sigma) - expected) == 0
    assert ctx.rules  # the rule records what it used


def test_odd_sign_products_vanish_and_erf_pairs_follow_williams():
    ctx = ReductionContext()
    assert reduce_term(_term(Factor(signs=1)), ONE, ctx) == 0 and "odd symmetry" in ctx.rules
    # E[erf(u1) erf(u2)] = (2/pi) asin(2r / (1 + 2s)) (Williams 1997)
    value = reduce_term(_term(Factor(erfs=(sp.Integer(1),)), Factor(erfs=(sp.Integer(1),))), TWO)
    assert sp.simplify(value - 2 / sp.pi * sp.asin(2 * R / (1 + 2 * S))) == 0

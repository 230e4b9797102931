"""SymPy closed forms for n = 2 against Sinkhorn; the Legendre structure of ψ_λ and C_λ."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from geosym.transport import sinkhorn
from geosym.transport.symbolic import entropic_ot_2x2


@pytest.fixture(scope="module")
def sym():
    return entropic_ot_2x2()


CASES = [(0.3, 0.6, 1.0, 0.5, 0.2), (0.8, 0.1, 0.3, 0.9, 0.05), (0.5, 0.5, 2.0, 2.0, 1.0)]


@pytest.mark.parametrize("case", CASES)
def test_closed_form_matches_sinkhorn(sym, case):
    p1, q1, m12, m21, lam = case
    plan, value, alpha, beta = sym.numeric()(*case)
    res = sinkhorn([p1, 1 - p1], [q1, 1 - q1], [[0.0, m12], [m21, 0.0]], lam, tol=1e-15)
    np.testing.assert_allclose(plan, res.plan, atol=1e-13)
    assert value == pytest.approx(res.value, abs=1e-12)
    # same potentials up to the gauge (alpha + c, beta - c)
    np.testing.assert_allclose(alpha - alpha[1], res.alpha - res.alpha[1], atol=1e-10)
    np.testing.assert_allclose(beta + alpha[1], res.beta + res.alpha[1], atol=1e-10)


def test_plan_is_exponential_family(sym):
    """P_ij = exp((α_i + β_j − m_ij)/λ) and the cross-ratio P11 P22 / (P12 P21) = κ hold exactly
    (checked at 40 digits with mpmath)."""
    p1, q1, m12, m21, lam = sym.symbols
    cost = sp.Matrix([[0, m12], [m21, 0]])
    point = dict(
        zip(sym.symbols, map(sp.Rational, ("3/10", "3/5", "1", "1/2", "1/5")), strict=True)
    )
    for i in range(2):
        for j in range(2):
            model = sp.exp((sym.alpha[i] + sym.beta[j] - cost[i, j]) / lam)
            assert abs(sp.N((model - sym.plan[i, j]).subs(point), 40)) < 1e-35
    ratio = sym.plan[0, 0] * sym.plan[1, 1] / (sym.plan[0, 1] * sym.plan[1, 0]) - sym.kappa
    assert abs(sp.N(ratio.subs(point), 40)) < 1e-30
    # zero cost: the plan is the independent coupling p ⊗ q
    assert sp.simplify(sym.x.subs({m12: 0, m21: 0}) - p1 * q1) == 0


def test_legendre_structure(sym):
    """∇ψ = (P1, Pᵀ1) = (p, q) at the potentials, ∇²ψ = (1/λ)[[diag P1, P], [Pᵀ, diag Pᵀ1]]
    identically, and C_λ = <α,p> + <β,q> with ∂C_λ/∂p1 = α1 − α2 (AKO 2018 §3)."""
    p1, q1, m12, m21, lam = sym.symbols
    a1, a2, b1, b2 = sym.duals
    cost = sp.Matrix([[0, m12], [m21, 0]])
    gibbs = sp.Matrix(
        2, 2, lambda i, j: sp.exp((sym.duals[i] + sym.duals[2 + j] - cost[i, j]) / lam)
    )
    rows, cols = gibbs * sp.ones(2, 1), gibbs.T * sp.ones(2, 1)
    expected = (
        sp.BlockMatrix([[sp.diag(*rows), gibbs], [gibbs.T, sp.diag(*cols)]]).as_explicit() / lam
    )
    assert sp.simplify(sym.hessian - expected) == sp.zeros(4, 4)
    grad = [sp.diff(sym.psi, d) for d in sym.duals]
    assert [sp.simplify(g - e) for g, e in zip(grad, [*rows, *cols], strict=True)] == [0] * 4

    case = CASES[0]
    _, value, alpha, beta = sym.numeric()(*case)
    pn, qn = np.array([case[0], 1 - case[0]]), np.array([case[1], 1 - case[1]])
    assert value == pytest.approx(alpha @ pn + beta @ qn, abs=1e-13)
    at = dict(zip(sym.symbols, case, strict=True))
    duals_at = dict(zip(sym.duals, [*alpha, *beta], strict=True))
    assert [float(g.subs(duals_at).subs(at)) for g in grad] == pytest.approx([*pn, *qn], abs=1e-12)
    assert float(sym.psi.subs(duals_at).subs(at)) == pytest.approx(0.0, abs=1e-12)
    d_p1 = float(sp.diff(sym.cost, p1).subs(at))
    d_q1 = float(sp.diff(sym.cost, q1).subs(at))
    assert d_p1 == pytest.approx(alpha[0] - alpha[1], rel=1e-10)
    assert d_q1 == pytest.approx(beta[0] - beta[1], rel=1e-10)


def test_latex_and_dict(sym):
    tex = sym.latex()
    assert (
        tex.startswith("\\begin{align*}") and r"C_\lambda(p, q)" in tex and r"\psi_\lambda" in tex
    )
    d = json.loads(json.dumps(sym.to_dict()))
    assert d[r"\kappa"]["sympy"] == "exp((m_12 + m_21)/lambda)"

"""Closed forms for n = 2 and the Legendre structure of C_λ, in SymPy with LaTeX export.

For two atoms with ``m11 = m22 = 0`` the entropic plan is explicit (derived here from Cuturi 2013, eq. 2):
with ``κ = exp((m12 + m21)/λ)`` its (1,1) entry ``x`` solves ``x(1 − p1 − q1 + x) = κ(p1 − x)(q1 − x)``
(the cross-ratio condition ``P11 P22 / (P12 P21) = κ`` of ``P = exp((α ⊕ β − M)/λ)``), and the root
inside the transport polytope is

    x = 2κ p1 q1 / (B + sqrt(B² − 4κ(κ − 1) p1 q1)),    B = 1 + (κ − 1)(p1 + q1),

the rationalised root, continuous through κ = 1 (where x = p1 q1). From the plan follow
``C_λ = <M, P> + λ Σ P log P``, the potentials (gauge ``β2 = 0``) and the Legendre structure
``ψ_λ(α, β) = λ Σ exp((α_i + β_j − m_ij)/λ) − λ``, ``∇ψ_λ = (P1, Pᵀ1)``,
``∇²ψ_λ = (1/λ)[[diag P1, P], [Pᵀ, diag Pᵀ1]]`` (Amari, Karakida & Oizumi 2018, §3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..results import Result

__all__ = ["SymbolicOT2", "entropic_ot_2x2"]


@dataclass(frozen=True)
class SymbolicOT2(Result):
    """Entropic OT between ``(p1, 1 − p1)`` and ``(q1, 1 − q1)`` with cost ``[[0, m12], [m21, 0]]``.

    Attributes
    ----------
    symbols : tuple of sympy.Symbol
        ``(p1, q1, m12, m21, lam)``.
    kappa, x : sympy.Expr
        ``κ = exp((m12 + m21)/λ)`` and the plan entry ``P11``.
    plan : sympy.Matrix
        The optimal plan ``P*_λ``.
    cost : sympy.Expr
        ``C_λ(p, q) = <M, P> + λ Σ P log P``.
    alpha, beta : tuple of sympy.Expr
        Potentials with ``P_ij = exp((α_i + β_j − m_ij)/λ)``, gauge ``β2 = 0``.
    duals : tuple of sympy.Symbol
        ``(a1, a2, b1, b2)``, the free dual variables of ``psi``.
    psi : sympy.Expr
        ``ψ_λ(a, b) = λ Σ_ij exp((a_i + b_j − m_ij)/λ) − λ``.
    hessian : sympy.Matrix
        ``∇²ψ_λ`` in ``(a1, a2, b1, b2)``.

    Examples
    --------
    >>> from geosym.transport import entropic_ot_2x2
    >>> ot2 = entropic_ot_2x2()
    >>> ot2.symbols
    (p_1, q_1, m_12, m_21, lambda)
    >>> ot2.kappa
    exp((m_12 + m_21)/lambda)
    >>> plan, cost, alpha, beta = ot2.numeric()(0.3, 0.6, 1.0, 1.0, 0.5)
    >>> plan.round(6)
    array([[0.293122, 0.006878],
           [0.306878, 0.393122]])
    >>> round(cost, 6)
    -0.247998
    """

    symbols: tuple[sp.Symbol, ...]
    kappa: sp.Expr
    x: sp.Expr
    plan: sp.Matrix
    cost: sp.Expr
    alpha: tuple[sp.Expr, sp.Expr]
    beta: tuple[sp.Expr, sp.Expr]
    duals: tuple[sp.Symbol, ...]
    psi: sp.Expr
    hessian: sp.Matrix

    def _named(self) -> dict[str, sp.Basic]:
        return {
            r"\kappa": self.kappa,
            r"P^*_{11}": self.x,
            r"P^*_\lambda": self.plan,
            r"C_\lambda(p, q)": self.cost,
            r"\alpha_1": self.alpha[0],
            r"\alpha_2": self.alpha[1],
            r"\beta_1": self.beta[0],
            r"\beta_2": self.beta[1],
            r"\psi_\lambda(\alpha, \beta)": self.psi,
            r"\nabla^2 \psi_\lambda": self.hessian,
        }

    def latex(self) -> str:
        """All closed forms as one LaTeX ``align*`` block."""
        rows = [f"{name} &= {sp.latex(expr)}" for name, expr in self._named().items()]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def to_dict(self) -> dict:
        """JSON-ready: each expression as a SymPy string and as LaTeX."""
        return {
            name: {"sympy": str(expr), "latex": sp.latex(expr)}
            for name, expr in self._named().items()
        }

    def numeric(self) -> Callable[..., tuple[np.ndarray, float, np.ndarray, np.ndarray]]:
        """NumPy function ``(p1, q1, m12, m21, lam) -> (plan, C_λ, alpha, beta)``."""
        fn = sp.lambdify(
            self.symbols, [self.plan, self.cost, list(self.alpha), list(self.beta)], "numpy"
        )

        def evaluate(p1: float, q1: float, m12: float, m21: float, lam: float):
            plan, cost, alpha, beta = fn(p1, q1, m12, m21, lam)
            return (
                np.asarray(plan, dtype=float),
                float(cost),
                np.asarray(alpha, float),
                np.asarray(beta, float),
            )

        return evaluate


def entropic_ot_2x2() -> SymbolicOT2:
    """Closed-form entropic OT for two atoms (see module docstring for the derivation).

    Returns
    -------
    SymbolicOT2

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import entropic_ot_2x2, sinkhorn
    >>> plan, cost, _, _ = entropic_ot_2x2().numeric()(0.3, 0.6, 1.0, 1.0, 0.5)
    >>> res = sinkhorn([0.3, 0.7], [0.6, 0.4], np.array([[0.0, 1.0], [1.0, 0.0]]), 0.5)
    >>> bool(np.allclose(plan, res.plan, atol=1e-8)), round(cost - res.value, 8)
    (True, 0.0)
    """
    p1, q1 = sp.symbols("p_1 q_1", positive=True)
    m12, m21, lam = sp.symbols("m_12 m_21 lambda", positive=True)
    kappa = sp.exp((m12 + m21) / lam)
    b = 1 + (kappa - 1) * (p1 + q1)
    x = 2 * kappa * p1 * q1 / (b + sp.sqrt(b**2 - 4 * kappa * (kappa - 1) * p1 * q1))
    plan = sp.Matrix([[x, p1 - x], [q1 - x, 1 - p1 - q1 + x]])
    cost_m = sp.Matrix([[0, m12], [m21, 0]])
    cost = sum(cost_m[k] * plan[k] + lam * plan[k] * sp.log(plan[k]) for k in range(4))
    alpha1 = lam * sp.log(plan[0, 1]) + m12
    alpha2 = lam * sp.log(plan[1, 1])
    beta1 = lam * sp.log(x) - alpha1
    duals = sp.symbols("a_1 a_2 b_1 b_2", real=True)
    a, bb = duals[:2], duals[2:]
    psi = (
        lam * sum(sp.exp((a[i] + bb[j] - cost_m[i, j]) / lam) for i in range(2) for j in range(2))
        - lam
    )
    return SymbolicOT2(
        symbols=(p1, q1, m12, m21, lam),
        kappa=kappa,
        x=x,
        plan=plan,
        cost=cost,
        alpha=(alpha1, alpha2),
        beta=(beta1, sp.Integer(0)),
        duals=duals,
        psi=psi,
        hessian=sp.hessian(psi, duals),
    )

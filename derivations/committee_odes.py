"""Soft committee machine ODEs for any activation (Saad & Solla 1995; Goldt et al. 2019).

Run: ``python derivations/committee_odes.py``. The integrals I2, I3, I4, J2 of Saad & Solla (1995)
come from the Gaussian engine; each identity is asserted, then written to
``derivations/out/committee_odes.tex``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from _common import Derivation

import geosym as gs
from geosym.committee import CommitteeODE
from geosym.latex import latex

G = "erf(x/sqrt(2))"


def _cov(k: int) -> sp.Matrix:
    return sp.Matrix(k, k, lambda i, j: sp.Symbol(f"C{min(i, j) + 1}{max(i, j) + 1}"))


def main() -> None:
    d = Derivation("Order-parameter ODEs of soft committee machines")
    g = gs.activation(G)
    gp = g.derivative()
    C = _cov(4)

    i2 = gs.expect([g, g], C[:2, :2]).expr
    d.step(
        "$I_2 = \\mathbb E[g(u_1)g(u_2)]$ for $g = \\operatorname{erf}(x/\\sqrt2)$ (arc-sine law)",
        f"I_2 = {latex(i2)}",
        sp.simplify(i2 - 2 / sp.pi * sp.asin(C[0, 1] / sp.sqrt((1 + C[0, 0]) * (1 + C[1, 1]))))
        == 0,
    )
    i3 = gs.expect([gp, "x", g], C[:3, :3]).expr
    stein = (
        C[0, 1] * gs.expect([gp.derivative(), g], C[[0, 2], [0, 2]]).expr
        + C[1, 2] * gs.expect([gp, gp], C[[0, 2], [0, 2]]).expr
    )
    rng = np.random.default_rng(0)
    pts = []
    for _ in range(3):
        a = rng.normal(size=(3, 4))
        c3 = a @ a.T / 4
        pts.append({sp.Symbol(f"C{i + 1}{j + 1}"): c3[i, j] for i in range(3) for j in range(i, 3)})
    d.step(
        "$I_3 = \\mathbb E[g'(u_1)\\,u_2\\,g(u_3)]$ and its Stein reduction "
        "$C_{12}\\mathbb E[g''g] + C_{23}\\mathbb E[g'g']$ agree",
        f"I_3 = {latex(i3)}",
        all(abs(float((i3 - stein).subs(p))) < 1e-13 for p in pts),
    )
    i4 = gs.expect([gp, gp, g, g], C).expr
    a = rng.normal(size=(4, 5))
    c = a @ a.T / 5
    lam4 = (1 + c[0, 0]) * (1 + c[1, 1]) - c[0, 1] ** 2
    lam0 = (
        lam4 * c[2, 3]
        - c[1, 2] * c[1, 3] * (1 + c[0, 0])
        - c[0, 2] * c[0, 3] * (1 + c[1, 1])
        + c[0, 1] * c[0, 2] * c[1, 3]
        + c[0, 1] * c[0, 3] * c[1, 2]
    )
    lam1 = (
        lam4 * (1 + c[2, 2])
        - c[1, 2] ** 2 * (1 + c[0, 0])
        - c[0, 2] ** 2 * (1 + c[1, 1])
        + 2 * c[0, 1] * c[0, 2] * c[1, 2]
    )
    lam2 = (
        lam4 * (1 + c[3, 3])
        - c[1, 3] ** 2 * (1 + c[0, 0])
        - c[0, 3] ** 2 * (1 + c[1, 1])
        + 2 * c[0, 1] * c[0, 3] * c[1, 3]
    )
    published = 4 / np.pi**2 / np.sqrt(lam4) * np.arcsin(lam0 / np.sqrt(lam1 * lam2))
    sub = {sp.Symbol(f"C{i + 1}{j + 1}"): c[i, j] for i in range(4) for j in range(i, 4)}
    d.step(
        "$I_4 = \\mathbb E[g'(u_1)g'(u_2)g(u_3)g(u_4)]$ by Gaussian absorption of the two "
        "$g'$ factors, then the arc-sine law; equal to the published closed form",
        f"I_4 = {latex(i4)}",
        abs(float(i4.subs(sub)) - published) < 1e-13,
    )

    for K in (2, 3):
        fp = CommitteeODE(G, K, K, eta=1e-4).symmetric_fixed_point()
        eps = K / 6 - K**2 / np.pi * np.arcsin(1 / (2 * K))
        d.step(
            f"Symmetric fixed point (plateau), K = M = {K}, $\\eta \\to 0$: "
            "$Q = 1/(2K-1)$, $R = 1/\\sqrt{K(2K-1)}$, "
            "$\\epsilon_g^* = K/6 - (K^2/\\pi)\\arcsin(1/2K)$",
            f"\\epsilon_g^* = {fp.eps_g:.8f}\\ (\\text{{formula }} {eps:.8f})",
            abs(fp.eps_g - eps) < 1e-4 and abs(fp.Q[0, 0] - 1 / (2 * K - 1)) < 1e-3,
        )
    ode = CommitteeODE(G, 2, 2, eta=0.5)
    d.text("The ODE system exported by geosym for K = M = 2:")
    d.text("\\begin{small}\n" + ode.latex() + "\n\\end{small}")
    d.write("committee_odes")


if __name__ == "__main__":
    main()

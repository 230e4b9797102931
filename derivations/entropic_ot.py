"""Entropic optimal transport through information geometry (Amari, Karakida & Oizumi 2018).

Run: ``python derivations/entropic_ot.py``. The n = 2 problem in closed form, its Legendre
structure, and the Bregman divergence = lambda * KL between optimal plans
(Amari, Karakida & Oizumi 2018, Information geometry connecting Wasserstein distance and
Kullback-Leibler divergence via the entropy-relaxed transportation problem);
each identity is asserted, then written to ``derivations/out/entropic_ot.tex``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from _common import Derivation

from geosym.transport import plan_divergence, sinkhorn
from geosym.transport.symbolic import entropic_ot_2x2


def main() -> None:
    d = Derivation("Entropic optimal transport: closed forms for n = 2 and the dual geometry")
    ot = entropic_ot_2x2()
    p1, q1, m12, m21, lam = ot.symbols
    d.text(
        "For $p = (p_1, 1-p_1)$, $q = (q_1, 1-q_1)$ and cost $M = [[0, m_{12}], [m_{21}, 0]]$ "
        "the entropic plan $P^*_\\lambda = \\arg\\min \\langle M, P\\rangle - \\lambda H(P)$ is "
        "explicit:"
    )
    d.text(ot.latex())
    marg = [
        sp.simplify(ot.plan[0, 0] + ot.plan[0, 1] - p1),
        sp.simplify(ot.plan[0, 0] + ot.plan[1, 0] - q1),
    ]
    d.step(
        "The plan has marginals $p$ and $q$",
        "P\\mathbf 1 = p,\\quad P^\\top\\mathbf 1 = q",
        marg == [0, 0],
    )
    point = {p1: sp.Rational(3, 10), q1: sp.Rational(7, 10), m12: 1, m21: 1, lam: sp.Rational(1, 2)}
    cross = (ot.plan[0, 0] * ot.plan[1, 1] / (ot.plan[0, 1] * ot.plan[1, 0])).subs(point)
    d.step(
        "It is a diagonal scaling of the Gibbs kernel: the cross ratio is "
        "$P_{11}P_{22}/(P_{12}P_{21}) = e^{(m_{12}+m_{21})/\\lambda}$ (here $e^4$)",
        f"P_{{11}}P_{{22}}/(P_{{12}}P_{{21}}) = {float(cross):.15f}",
        abs(float(cross) - float(sp.exp(4))) < 1e-12,
    )
    plan, cost, alpha, beta = ot.numeric()(0.3, 0.7, 1.0, 1.0, 0.5)
    res = sinkhorn(
        np.array([0.3, 0.7]),
        np.array([0.7, 0.3]),
        np.array([[0.0, 1.0], [1.0, 0.0]]),
        0.5,
        tol=1e-13,
    )
    d.step(
        "The closed form agrees with log-domain Sinkhorn ($\\lambda = 1/2$)",
        f"C_\\lambda = {cost:.15f}",
        np.max(np.abs(plan - res.plan)) < 1e-10 and abs(cost - res.value) < 1e-10,
    )
    d.step(
        "Legendre duality: $C_\\lambda(p, q) = \\langle \\alpha, p\\rangle + \\langle\\beta, q\\rangle$",
        f"\\langle\\alpha,p\\rangle + \\langle\\beta,q\\rangle = "
        f"{alpha @ [0.3, 0.7] + beta @ [0.7, 0.3]:.15f}",
        abs(alpha @ [0.3, 0.7] + beta @ [0.7, 0.3] - cost) < 1e-12,
    )
    grad = [sp.diff(ot.psi, v) for v in ot.duals]
    sub = dict(zip(ot.duals, [*ot.alpha, *ot.beta], strict=True)) | point
    want = [p1, 1 - p1, q1, 1 - q1]
    d.step(
        "$\\nabla\\psi_\\lambda(\\alpha,\\beta) = (p, q)$: the potentials are the natural "
        "coordinates, the marginals the expectation coordinates",
        "\\nabla\\psi_\\lambda = (P\\mathbf 1, P^\\top\\mathbf 1)",
        all(
            abs(float(g.subs(sub) - w.subs(point))) < 1e-12 for g, w in zip(grad, want, strict=True)
        ),
    )

    # Bregman divergence of C_lambda = lambda * KL between optimal plans (Amari, Karakida & Oizumi 2018)
    rng = np.random.default_rng(0)
    n = 12
    x = np.linspace(0, 1, n)
    cost_m = (x[:, None] - x[None, :]) ** 2
    a, b, a2, b2 = (rng.dirichlet(np.ones(n)) for _ in range(4))
    reg = 0.05
    p_ab = sinkhorn(a, b, cost_m, reg, tol=1e-12).plan
    p_ref = sinkhorn(a2, b2, cost_m, reg, tol=1e-12).plan
    kl = float(np.sum(p_ab * np.log(p_ab / p_ref)))
    bregman = plan_divergence(a, b, a2, b2, cost_m, reg, tol=1e-12)
    d.step(
        "The Bregman divergence of $C_\\lambda$ is $\\lambda\\,\\mathrm{KL}$ between the optimal "
        "plans (random Dirichlet histograms, n = 12, $\\lambda = 0.05$)",
        f"B_\\lambda = {bregman:.12f},\\quad \\lambda\\,\\mathrm{{KL}} = {reg * kl:.12f}",
        abs(bregman - reg * kl) < 1e-8,
    )
    d.write("entropic_ot")


if __name__ == "__main__":
    main()

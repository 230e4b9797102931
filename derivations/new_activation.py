"""A new activation from scratch: the Gaussian kernels of swish, erf and ReLU, step by step.

Run: ``python derivations/new_activation.py``. Every identity is asserted before it is written to
``derivations/out/new_activation.tex``.
"""

from __future__ import annotations

import sympy as sp
from _common import Derivation

import geosym as gs
from geosym.latex import latex
from geosym.meanfield import Q1, Q2, Q


def main() -> None:
    d = Derivation("Gaussian kernels of a new activation, from scratch")
    d.text(
        "For $u\\sim\\mathcal N(0,\\Sigma)$ geosym computes $\\mathbb E[f_1(u_1)\\cdots f_k(u_k)]$ "
        "by rules (Wick, Stein, Dirac conditioning, Gaussian absorption, the arc-sine law) "
        "before any integration."
    )
    pair = [[Q1, Q2], [Q2, Q1]]

    # 1. erf: the arc-sine kernel (Williams 1997) and Price's theorem
    erf2 = gs.expect(["erf", "erf"], pair).expr
    williams = 2 / sp.pi * sp.asin(2 * Q2 / (1 + 2 * Q1))
    d.step(
        "The erf kernel is Williams' arc-sine form",
        f"\\mathbb E[\\operatorname{{erf}}(u_1)\\operatorname{{erf}}(u_2)] = {latex(erf2)}",
        sp.simplify(erf2 - williams) == 0,
    )
    derf = gs.activation("erf").derivative()
    price_rhs = gs.expect([derf, derf], pair).expr
    d.step(
        "Price's theorem: the derivative in the covariance is the kernel of the derivatives",
        f"\\partial_{{q_2}}\\mathbb E[\\phi\\phi] = {latex(sp.diff(erf2, Q2))} = "
        f"\\mathbb E[\\phi'\\phi'] = {latex(price_rhs)}",
        sp.simplify(sp.diff(erf2, Q2) - price_rhs) == 0,
    )

    # 2. ReLU: the arc-cosine kernel from Stein + Dirac conditioning + arc-sine law
    relu2 = gs.expect(["relu", "relu"], pair).expr
    theta = sp.acos(Q2 / Q1)
    cho_saul = Q1 / (2 * sp.pi) * (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta))
    ok = all(
        abs(float((relu2 - cho_saul).subs({Q1: a, Q2: b}))) < 1e-14
        for a, b in [(1.0, 0.3), (2.5, -1.0), (0.7, 0.69)]
    )
    d.step(
        "The ReLU kernel equals the degree-1 arc-cosine kernel (Cho and Saul 2009)",
        f"\\mathbb E[\\mathrm{{relu}}(u_1)\\mathrm{{relu}}(u_2)] = {latex(relu2)}",
        ok,
    )

    # 3. swish: no closed form; Stein's lemma checked numerically on the certified quadrature
    swish = gs.activation("x*sigmoid(x)", name="swish")
    lhs = gs.expect(gs.Activation(gs.activation("x").expr * swish.expr, "x swish"), [[Q]])
    rhs = gs.expect(swish.derivative(), [[Q]])
    qs = [0.3, 1.0, 4.0]
    vals_l, vals_r = lhs.numeric()(qs), rhs.numeric()(qs)
    d.step(
        "Stein's lemma for swish (no closed form: certified quadrature, error $\\le 10^{-10}$)",
        "\\mathbb E[u\\,\\phi(u)] = q\\,\\mathbb E[\\phi'(u)] \\quad\\text{at } q = 0.3, 1, 4",
        all(abs(a - q * b) < 1e-9 for a, b, q in zip(vals_l, vals_r, qs, strict=True)),
    )
    mf = gs.MeanField(swish, 2.0, 0.1)
    fp = mf.fixed_point()
    d.step(
        "The swish network at $\\sigma_w^2 = 2, \\sigma_b^2 = 0.1$ has a stable length fixed point",
        f"q^* = {fp.q_star:.10f},\\quad \\chi_1 = {fp.chi1:.10f}\\ ({fp.phase})",
        abs(float(mf.q_map(fp.q_star)) - fp.q_star) < 1e-10,
    )
    d.write("new_activation")


if __name__ == "__main__":
    main()

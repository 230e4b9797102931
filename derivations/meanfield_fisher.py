"""Mean-field order parameters and the FIM eigenvalue statistics (Karakida, Akaho & Amari 2019).

Run: ``python derivations/meanfield_fisher.py``. Steps, each asserted, then written to
``derivations/out/meanfield_fisher.tex``:
1. the large-width Gram matrix alpha M [kappa1 I_T + kappa2 (11^T - I_T)] (x) I_C has eigenvalues
   lambda_1 = alpha M (kappa1 + (T-1) kappa2)/T (C times), lambda_2 = alpha M (kappa1 - kappa2)/T
   (C(T-1) times), so trace and sum of squares give m_lambda and s_lambda (Karakida, Akaho & Amari 2019, Theorem 1);
2. exact kappa1, kappa2 of a ReLU network as SymPy numbers;
3. the erf fixed point and chi_1 in closed form.
"""

from __future__ import annotations

import sympy as sp
from _common import Derivation

import geosym as gs
from geosym.latex import latex
from geosym.meanfield import SIGMA_B2, SIGMA_W2


def main() -> None:
    d = Derivation("Mean-field Fisher information statistics")
    k1, k2, a, m, t, c = sp.symbols("kappa1 kappa2 alpha M T C", positive=True)

    # 1. the spectrum of the limiting Gram matrix, for a concrete T and C, symbolically
    T_, C_ = 4, 2
    block = k1 * sp.eye(T_) + k2 * (sp.ones(T_, T_) - sp.eye(T_))
    gram = a * m * sp.kronecker_product(block, sp.eye(C_)) / T_  # nonzero spectrum of F
    eig = {sp.simplify(k): v for k, v in gram.eigenvals().items()}
    lam1 = a * m * (k1 + (T_ - 1) * k2) / T_
    lam2 = a * m * (k1 - k2) / T_
    d.step(
        "The limiting Gram matrix $\\alpha M[\\kappa_1 I_T + \\kappa_2(\\mathbf 1\\mathbf 1^\\top - I_T)]"
        "\\otimes I_C / T$ (here T = 4, C = 2) has two eigenvalues",
        f"\\lambda_1 = {latex(lam1)}\\ (\\times {C_}),\\qquad \\lambda_2 = {latex(lam2)}\\ "
        f"(\\times {C_ * (T_ - 1)})",
        eig.get(sp.simplify(lam1)) == C_ and eig.get(sp.simplify(lam2)) == C_ * (T_ - 1),
    )
    p = a * m**2
    s_general = (
        c * ((a * m * (k1 + (t - 1) * k2) / t) ** 2 + (t - 1) * (a * m * (k1 - k2) / t) ** 2) / p
    )
    s_paper = a * c * ((t - 1) * k2**2 / t + k1**2 / t)
    d.step(
        "The second moment $s_\\lambda = \\sum\\lambda^2/P$ with $P = \\alpha M^2$",
        f"s_\\lambda = {latex(s_paper)}",
        sp.simplify(s_general - s_paper) == 0,
    )
    m_general = c * (a * m * (k1 + (t - 1) * k2) / t + (t - 1) * a * m * (k1 - k2) / t) / p
    d.step(
        "The mean $m_\\lambda = \\mathrm{Tr}\\,F/P$",
        f"m_\\lambda = {latex(k1 * c / m)}",
        sp.simplify(m_general - k1 * c / m) == 0,
    )

    # 2. exact ReLU constants
    st = gs.fim_statistics("relu", sp.Integer(2), sp.Integer(0), depth=3, width=1000, samples=20)
    num = gs.fim_statistics("relu", 2.0, 0.0, depth=3, width=1000, samples=20)
    d.step(
        "A ReLU network at the edge of chaos ($\\sigma_w^2 = 2$, $\\sigma_b^2 = 0$, L = 3): exact "
        "order-parameter sums",
        f"\\kappa_1 = {latex(st.kappa1)},\\qquad \\kappa_2 = {latex(st.kappa2)}",
        st.kappa1 == sp.Rational(3, 2) and abs(float(st.kappa2) - num.kappa2) < 1e-12,
    )
    relu = gs.MeanField("relu", SIGMA_W2, SIGMA_B2)
    chi = relu.chi1(sp.Symbol("q", positive=True))
    d.step(
        "For ReLU $\\chi_1$ does not depend on q",
        f"\\chi_1 = {latex(chi)}",
        sp.simplify(chi - SIGMA_W2 / 2) == 0,
    )

    # 3. erf fixed point
    mf = gs.MeanField("erf", 2.0, 0.5)
    fp = mf.fixed_point()
    q = sp.Symbol("q", positive=True)
    qmap = sp.Integer(2) * gs.expect(
        gs.Activation(gs.activation("erf").expr ** 2, "erf^2"), [[q]]
    ).expr + sp.Rational(1, 2)
    d.step(
        "The erf q-map at $\\sigma_w^2 = 2$, $\\sigma_b^2 = 1/2$ and its fixed point",
        f"q \\mapsto {latex(qmap)},\\qquad q^* = {fp.q_star:.15f}",
        abs(float(qmap.subs(q, fp.q_star)) - fp.q_star) < 1e-12
        and abs(fp.q_star - 1.6037847224243823) < 1e-12,
    )
    chi1 = 4 * 2 / (sp.pi * sp.sqrt(1 + 4 * q))
    d.step(
        "$\\chi_1 = \\sigma_w^2\\,\\mathbb E[\\operatorname{erf}'(u)^2] = 4\\sigma_w^2/(\\pi\\sqrt{1+4q})$",
        f"\\chi_1(q^*) = {fp.chi1:.15f}",
        abs(float(chi1.subs(q, fp.q_star)) - fp.chi1) < 1e-12,
    )
    d.write("meanfield_fisher")


if __name__ == "__main__":
    main()

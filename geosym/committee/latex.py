r"""LaTeX export of the committee-machine ODE system (:meth:`CommitteeODE.latex`).

The document lists the model settings, the order-parameter ODEs (Saad & Solla 1995; Goldt et
al. 2019; Yoshida, Karakida, Okada & Amari 2019) and, for each
Gaussian integral family, the closed form returned by :func:`geosym.expect` for this activation
(in the entries :math:`c_{ab}` of the integral's covariance) or the numeric method used.
"""

from __future__ import annotations

from typing import Any

from ..latex import latex as paper_latex

__all__ = ["ode_latex"]

_ODES = r"""\begin{aligned}
\frac{dR_{in}}{d\alpha} &= \eta\sum_{c} A_{ic}\, I_3(i,n,c) - \kappa R_{in},\\
\frac{dQ_{ik}}{d\alpha} &= \eta\sum_{c}\big[A_{ic} I_3(i,k,c) + A_{kc} I_3(k,i,c)\big]
  + \eta^2\sum_{c,e} A_{ic}A_{ke}\, I_4(i,k,c,e) + \eta^2\sigma^2 D_{ik} J_2(i,k)
  - 2\kappa Q_{ik},\\
\frac{d\mathbf v_i}{d\alpha} &= \eta_v\Big[\sum_{n}\mathbf v^*_n I_2(i,n)
  - \sum_{j}\mathbf v_j I_2(i,j)\Big] - \kappa\mathbf v_i,\\
\epsilon_g &= \tfrac12\Big[\sum_{ij} D_{ij} I_2(i,j) - 2\sum_{in} E_{in} I_2(i,n)
  + \sum_{nm} F_{nm} I_2(n,m)\Big],
\end{aligned}"""

_DEFS = (
    r"D_{ij}=\mathbf v_i\cdot\mathbf v_j,\quad E_{in}=\mathbf v_i\cdot\mathbf v^*_n,\quad "
    r"F_{nm}=\mathbf v^*_n\cdot\mathbf v^*_m,\quad A_{ic}=\begin{cases}E_{ic}&c\ "
    r"\text{teacher}\\-D_{ic}&c\ \text{student}\end{cases},\quad "
    r"C=\begin{pmatrix}Q&R\\R^\top&T\end{pmatrix}"
)

_INTEGRALS = {
    "I2": r"I_2(a,b)=\langle g(u_a)g(u_b)\rangle",
    "J2": r"J_2(a,b)=\langle g'(u_a)g'(u_b)\rangle",
    "I3": r"I_3(a,b,c)=\langle g'(u_a)\,u_b\,g(u_c)\rangle",
    "I4": r"I_4(a,b,c,d)=\langle g'(u_a)g'(u_b)g(u_c)g(u_d)\rangle",
}


def ode_latex(ode: Any) -> str:
    """LaTeX (amsmath) of the ODE system of ``ode`` with its integrals' closed forms.

    Examples
    --------
    >>> from geosym.committee import CommitteeODE
    >>> from geosym.committee.latex import ode_latex
    >>> tex = ode_latex(CommitteeODE("erf(x/sqrt(2))", 2, 2, eta=0.5))
    >>> tex.splitlines()[0]
    '% geosym.committee: order-parameter ODEs (N -> infinity), alpha = examples / N'
    >>> "arcsin" in tex  # the closed form of I2 for erf
    True
    """
    act = ode.integrals.act
    lines = [
        r"% geosym.committee: order-parameter ODEs (N -> infinity), alpha = examples / N",
        rf"\[g(x) = {paper_latex(act.expr)},\qquad K={ode.K},\ M={ode.M},\ L={ode.L},\ "
        rf"\eta={ode.eta:g},\ \eta_v={ode.eta_v:g},\ \sigma={ode.noise:g},\ "
        rf"\kappa={ode.weight_decay:g}\]",
        "",
        r"\[" + _ODES + r"\]",
        r"\[" + _DEFS + r"\]",
        r"% Gaussian integrals: u ~ N(0, c), c = the sub-block of C for the arguments, in order",
    ]
    for fam, head in _INTEGRALS.items():
        k = ode.integrals.kernels[fam]
        if k.expr is not None:
            lines.append(r"\[" + head + "=" + paper_latex(k.expr) + r"\]")
        else:
            method = k.method.replace("_", r"\_").replace("%", r"\%")
            lines.append(r"\[" + head + r"\quad\text{(numeric: " + method + r")}\]")
    return "\n".join(lines) + "\n"

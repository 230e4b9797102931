"""The unit-wise Fisher block and its explicit inverse (Amari, Karakida & Oizumi, AISTATS 2019).

Run: ``python derivations/unit_fisher.py``. For a unit y = phi(w.x + b) with x ~ N(0, I_n),
G = E[phi'(u)^2 x~ x~^T] = c0 I + (c2 - c0) e e^T + c1 (e e_b^T + e_b e^T) with
c_k = E[phi'(r s + b)^2 s^k] (Amari, Karakida & Oizumi 2019, the unit Fisher block). Each step
is asserted, then written to
``derivations/out/unit_fisher.tex``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from _common import Derivation

import geosym as gs
from geosym.activations import X
from geosym.latex import latex


def main() -> None:
    d = Derivation("The unit Fisher block and its explicit inverse")
    c0, c1, c2 = sp.symbols("c0 c1 c2", positive=True)
    n = 3  # weights; the basis (e, e_2, e_3, bias) with e = w/|w| first
    e = sp.Matrix([1, 0, 0, 0])
    eb = sp.Matrix([0, 0, 0, 1])
    eye = sp.eye(n + 1)
    G = c0 * eye + (c2 - c0) * e * e.T + c1 * (e * eb.T + eb * e.T)
    det = c0 * c2 - c1**2
    Ginv = (eye - e * e.T - eb * eb.T) / c0 + (
        c0 * e * e.T - c1 * (e * eb.T + eb * e.T) + c2 * eb * eb.T
    ) / det
    d.step("The block is diagonal plus a rank-2 weight-bias term", f"G = {latex(G)}", G == G.T)
    d.step(
        "Its explicit inverse (valid when $c_0c_2 - c_1^2 \\ne 0$)",
        f"G^{{-1}} = {latex(sp.simplify(Ginv))}",
        sp.simplify(G * Ginv - eye) == sp.zeros(n + 1, n + 1),
    )
    xs = sp.Matrix(sp.symbols("x1 x2 x3", real=True))
    xt = sp.Matrix([*xs, 1])
    s_x = xs[0]  # e . x
    fast = (xt - s_x * e - eb) / c0 + ((c0 * s_x - c1) * e + (c2 - c1 * s_x) * eb) / det
    d.step(
        "The natural-gradient direction $G^{-1}\\tilde x$ in O(n) operations",
        f"G^{{-1}}\\tilde x = {latex(sp.simplify(fast.T))}^\\top",
        sp.simplify(Ginv * xt - fast) == sp.zeros(n + 1, 1),
    )

    # ReLU: closed-form coefficients from the engine's truncated Gaussian moments
    r, b = sp.Rational(3, 2), sp.Rational(3, 10)
    step = gs.activation("relu").derivative().expr.subs(X, r * X + b) ** 2
    cs = [gs.expect(gs.Activation(step * X**k, f"c{k}"), [[1]]) for k in range(3)]
    z = b / r
    Phi, phi = (1 + sp.erf(z / sp.sqrt(2))) / 2, sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    want = [Phi, phi, Phi - z * phi]
    d.step(
        "ReLU, $|w| = 3/2$, $b = 3/10$: $c_0 = \\Phi(b/r)$, $c_1 = \\varphi(b/r)$, "
        "$c_2 = \\Phi(b/r) - \\tfrac br\\varphi(b/r)$",
        ",\\ ".join(f"c_{k} = {float(c):.15f}" for k, c in enumerate(cs)),
        all(abs(float(c) - float(w)) < 1e-14 for c, w in zip(cs, want, strict=True))
        and abs(float(cs[0]) - 0.579259709439103) < 1e-14,
    )
    tanh = gs.unit_fisher("tanh", np.array([1.5, 0.0, 0.0]), 0.3)
    tc5 = (0.32622886436143, -0.057309473106513, 0.04977581596369)
    G_num = tanh.matrix()
    d.step(
        "tanh, same unit: the coefficients match independent 30-digit mpmath values and the explicit inverse matches "
        "numerical inversion",
        ",\\ ".join(f"c_{k} = {v:.14f}" for k, v in enumerate(tanh.c)),
        all(abs(a - w) < 1e-12 for a, w in zip(tanh.c, tc5, strict=True))
        and np.max(np.abs(tanh.inverse() - np.linalg.inv(G_num))) < 1e-12,
    )
    d.write("unit_fisher")


if __name__ == "__main__":
    main()

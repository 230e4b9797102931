"""geosym.latex: paper notation for symbols and expressions, and standalone documents."""

import pytest
import sympy as sp

from geosym.latex import document, latex, symbol_latex


@pytest.mark.parametrize(
    "name, tex",
    [
        ("q1", "q_{1}"),
        ("qt1", r"\tilde{q}_{1}"),
        ("sigma_w2", r"\sigma_{w}^{2}"),
        ("sigma_b2", r"\sigma_{b}^{2}"),
    ],
)
def test_symbol_latex_uses_paper_notation(name, tex):
    assert symbol_latex(name) == tex


def test_expressions_render_with_those_symbols():
    q1, q2 = sp.symbols("q1 q2", positive=True)
    tex = latex(2 * sp.asin(q2 / (q1 + 1)) / sp.pi)
    assert r"\arcsin" in tex and "q_{1}" in tex and "q_{2}" in tex
    assert latex(sp.Symbol("sigma_w2") * q1) in (r"\sigma_{w}^{2} q_{1}", r"q_{1} \sigma_{w}^{2}")


def test_document_is_a_complete_latex_file():
    tex = document("Kernels", r"\[ x \]")
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert r"\begin{document}" in tex and "Kernels" in tex and r"\[ x \]" in tex

r"""Paper-style LaTeX for geosym's expressions.

SymPy prints ``\operatorname{asin}`` and ``sigma_w2``; papers write ``\arcsin`` and
:math:`\sigma_w^2`.  :func:`latex` maps geosym's conventional symbol names (``q1``, ``qt1``,
``chi1``, ``sigma_w2``, ``kappa1`` ...) to the notation of Karakida, Akaho & Amari and of
Poole/Schoenholz, and prints inverse trigonometric functions with the ``\arc`` prefix.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["latex", "symbol_latex", "document"]

_GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "eta",
    "theta",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "phi",
    "chi",
    "psi",
    "omega",
}


def symbol_latex(name: str) -> str:
    r"""LaTeX for a geosym symbol name.

    ``q1`` -> ``q_{1}``, ``qt2`` -> ``\tilde{q}_{2}``, ``qh1`` -> ``\hat{q}_{1}``,
    ``sigma_w2`` -> ``\sigma_{w}^{2}``, ``chi1`` -> ``\chi_{1}``, ``C12`` -> ``C_{12}``,
    ``kappa1`` -> ``\kappa_{1}``, ``q_star`` -> ``q^{*}``.

    Examples
    --------
    >>> print(symbol_latex("qt1"), symbol_latex("sigma_w2"))
    \tilde{q}_{1} \sigma_{w}^{2}
    """
    m = re.fullmatch(r"sigma_([a-z])2", name)
    if m:
        return rf"\sigma_{{{m.group(1)}}}^{{2}}"
    m = re.fullmatch(r"(q|Q|R|T|D|E|F|C|c|u)(t|h)?(\d+)", name)
    if m:
        base, accent, idx = m.groups()
        if accent == "t":
            base = rf"\tilde{{{base}}}"
        elif accent == "h":
            base = rf"\hat{{{base}}}"
        return rf"{base}_{{{idx}}}"
    m = re.fullmatch(r"([a-z]+)_?(\d+)", name)
    if m and m.group(1) in _GREEK:
        return rf"\{m.group(1)}_{{{m.group(2)}}}"
    if name.endswith("_star"):
        return symbol_latex(name[: -len("_star")]) + "^{*}"
    if name in _GREEK:
        return "\\" + name
    return name


class _PaperPrinter(LatexPrinter):
    printmethod = "_latex"

    def __init__(self, settings=None):
        super().__init__({"inv_trig_style": "full", **(settings or {})})

    def _print_Symbol(self, expr, style="plain"):
        tex = symbol_latex(expr.name)
        # names the table above does not know (e.g. rho_1_2): SymPy's own printer handles them
        return super()._print_Symbol(expr, style) if tex == expr.name else tex

    def _print_Heaviside(self, expr, exp=None):
        tex = rf"\Theta\left({self._print(expr.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _print_Function(self, expr, exp=None):
        name = expr.func.__name__
        if name in ("asin", "acos", "atan"):
            tex = rf"\arc{name[1:]}\left({self._print(expr.args[0])}\right)"
            return tex if exp is None else rf"{tex}^{{{exp}}}"
        return super()._print_Function(expr, exp)

    _print_asin = _print_Function
    _print_acos = _print_Function
    _print_atan = _print_Function


def latex(expr: sp.Basic | str) -> str:
    r"""Paper-style LaTeX of a SymPy expression (``\arcsin``, :math:`q_1`, :math:`\tilde q_1`).

    Examples
    --------
    >>> import sympy as sp
    >>> q1 = sp.Symbol("q1")
    >>> print(latex(sp.asin(q1) / 2))
    \frac{\arcsin\left(q_{1}\right)}{2}
    """
    if isinstance(expr, str):
        return expr
    return _PaperPrinter().doprint(expr)


def document(title: str, body: str) -> str:
    r"""A complete, pdflatex-compilable LaTeX document around ``body``.

    Examples
    --------
    >>> tex = document("Kernels of erf", r"\[ q^* = 1.6 \]")
    >>> tex.splitlines()[0], tex.splitlines()[-1]
    ('\\documentclass[11pt]{article}', '\\end{document}')
    """
    return (
        "\\documentclass[11pt]{article}\n"
        "\\usepackage{amsmath,amssymb}\n"
        "\\usepackage[margin=2cm]{geometry}\n"
        "\\allowdisplaybreaks\n"
        f"\\title{{{title}}}\n\\date{{}}\n"
        "\\begin{document}\n\\maketitle\n"
        f"{body}\n"
        "\\end{document}\n"
    )

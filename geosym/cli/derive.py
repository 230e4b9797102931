"""``geosym derive SPEC``: the mean-field kernels of an activation, with method and error."""

from __future__ import annotations

import argparse
from typing import Any

from ._output import dumps

__all__ = ["add_parser", "run", "derivation"]

_TITLES = {
    "V": ("q-map kernel", r"\hat q_1(q) = \mathbb{E}[\phi(u)^2],\ u\sim\mathcal N(0,q)"),
    "Vc": ("cross map kernel", r"\hat q_2(q_1,q_2) = \mathbb{E}[\phi(u_1)\phi(u_2)]"),
    "D": ("backward map kernel", r"\mathbb{E}[\phi'(u)^2]"),
    "Dc": ("backward cross map kernel", r"\mathbb{E}[\phi'(u_1)\phi'(u_2)]"),
}


def derivation(spec: str, sigma_w2: float | None = None, sigma_b2: float | None = None) -> dict:
    """The q-map, cross map, backward maps and chi_1 of an activation as a JSON-ready dict."""
    from ..activations import activation
    from ..latex import latex as paper_latex
    from ..meanfield import SIGMA_W2, MeanField, kernels

    phi = activation(spec)
    k = kernels(phi)
    items: list[dict[str, Any]] = []
    for key, e in (("V", k.V), ("Vc", k.Vc), ("D", k.D), ("Dc", k.Dc)):
        title, definition = _TITLES[key]
        if e is None:
            items.append(
                {
                    "name": title,
                    "definition": definition,
                    "closed_form": None,
                    "latex": None,
                    "method": f"undefined: {k.undefined[key]}",
                    "error": None,
                }
            )
            continue
        items.append(
            {
                "name": title,
                "definition": definition,
                "closed_form": None if e.expr is None else str(e.expr),
                "latex": None if e.expr is None else paper_latex(e.expr),
                "method": e.method,
                "error": e.error,
            }
        )
    chi1 = None if k.D is None or k.D.expr is None else SIGMA_W2 * k.D.expr
    items.append(
        {
            "name": "chi_1",
            "definition": r"\chi_1(q) = \sigma_w^2\,\mathbb{E}[\phi'(u)^2]",
            "closed_form": None if chi1 is None else str(chi1),
            "latex": None if chi1 is None else paper_latex(chi1),
            "method": items[2]["method"],
            "error": items[2]["error"],
        }
    )
    out: dict[str, Any] = {
        "activation": phi.name,
        "expr": str(phi.expr),
        "activation_latex": phi.latex(),
        "kernels": items,
    }
    if sigma_w2 is not None and sigma_b2 is not None:
        mf = MeanField(phi, sigma_w2, sigma_b2)
        fp = mf.fixed_point()
        ds = mf.depth_scales()
        out["fixed_point"] = {
            "sigma_w2": sigma_w2,
            "sigma_b2": sigma_b2,
            **fp.to_dict(),
            "xi_q": float(ds.xi_q),
            "xi_c": float(ds.xi_c),
        }
    return out


def _undefined(item: dict) -> bool:
    return item["method"].startswith("undefined")


def _latex_document(d: dict) -> str:
    from ..latex import document

    body = [f"Activation: $\\phi(x) = {d['activation_latex']}$.\n"]
    for item in d["kernels"]:
        if item["latex"] is not None:
            rhs = item["latex"]
        elif _undefined(item):
            rhs = r"\text{undefined}"
        else:
            rhs = r"\text{no closed form; certified quadrature}"
        body.append(
            f"\\paragraph{{{item['name'].replace('_', ' ')}}} ({item['method'].replace('_', ' ')}; "
            f"absolute error $\\le {item['error'] or 0:.0e}$)\n"
            f"\\begin{{align*}}\n{item['definition']} &= {rhs}\n\\end{{align*}}\n"
        )
    if "fixed_point" in d:
        fp = d["fixed_point"]
        body.append(
            f"\\paragraph{{Fixed point}} At $\\sigma_w^2 = {fp['sigma_w2']}$, "
            f"$\\sigma_b^2 = {fp['sigma_b2']}$: $q^* = {fp['q_star']:.12g}$, "
            f"$c^* = {fp['c_star']:.12g}$, $\\chi_1 = {fp['chi1']:.12g}$ ({fp['phase']}), "
            f"$\\xi_q = {fp['xi_q']:.6g}$, $\\xi_c = {fp['xi_c']:.6g}$.\n"
        )
    name = d["activation"].replace("_", r"\_").replace("^", r"\^{}")
    return document(f"Mean-field kernels of {name}", "\n".join(body))


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "derive",
        help="mean-field kernels (q-map, cross map, backward maps, chi_1) of an activation",
        description="Derive the q-map E[phi(u)^2], the cross map E[phi(u1)phi(u2)], the "
        "backward maps E[phi'(u)^2], E[phi'(u1)phi'(u2)] and chi_1 of an activation: closed "
        "form where one exists, certified quadrature otherwise.",
    )
    p.add_argument(
        "spec", help="registry name (tanh, relu, ...) or expression in x, e.g. 'x*sigmoid(x)'"
    )
    p.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--tex", metavar="FILE", help="write a complete LaTeX document to FILE")
    p.add_argument("--sigma-w2", type=float, help="also solve the fixed point at this sigma_w^2")
    p.add_argument("--sigma-b2", type=float, help="... and this sigma_b^2")
    return p


def run(args: argparse.Namespace) -> int:
    if (args.sigma_w2 is None) != (args.sigma_b2 is None):
        raise ValueError("give both --sigma-w2 and --sigma-b2, or neither")
    d = derivation(args.spec, args.sigma_w2, args.sigma_b2)
    if args.tex:
        with open(args.tex, "w", encoding="utf-8") as fh:
            fh.write(_latex_document(d))
    if args.json:
        print(dumps(d, indent=2))
        return 0
    print(f"activation: {d['activation']}  phi(x) = {d['expr']}")
    for item in d["kernels"]:
        value = item["latex"] if args.latex else item["closed_form"]
        print(f"\n{item['name']}: {item['definition'] if args.latex else ''}".rstrip())
        if _undefined(item):
            print(f"  {item['method']}")
            continue
        print(f"  = {value if value is not None else '(no closed form: certified quadrature)'}")
        bound = "unknown" if item["error"] is None else f"{item['error']:.1e}"
        print(f"  method: {item['method']}; error <= {bound}")
    if "fixed_point" in d:
        fp = d["fixed_point"]
        print(
            f"\nfixed point: q* = {fp['q_star']:.12g}, c* = {fp['c_star']:.12g}, "
            f"chi1 = {fp['chi1']:.12g} ({fp['phase']}), xi_q = {fp['xi_q']:.6g}, "
            f"xi_c = {fp['xi_c']:.6g}"
        )
    if args.tex:
        print(f"\nLaTeX document written to {args.tex}")
    return 0

"""``geosym unit-fisher SPEC``: the closed-form Fisher block of one unit and its inverse."""

from __future__ import annotations

import argparse

from ._output import dumps

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "unit-fisher",
        help="closed-form Fisher block of one unit, G = E[phi'(u)^2 x~x~^T], and its inverse",
        description="Coefficients c_k = E[phi'(r s + b)^2 s^k] and the block G with its explicit "
        "inverse (Amari, Karakida & Oizumi, AISTATS 2019), for x ~ N(mean, var I).",
    )
    p.add_argument("spec", help="activation: registry name or expression in x")
    p.add_argument("--w-norm", type=float, required=True, help="|w| (weights along the first axis)")
    p.add_argument("--bias", type=float, default=0.0, help="b (default 0)")
    p.add_argument("--fan-in", type=int, default=3, help="n, for --matrix (default 3)")
    p.add_argument("--input-mean", type=float, default=0.0, help="mean of every input (default 0)")
    p.add_argument(
        "--input-var", type=float, default=1.0, help="variance of every input (default 1)"
    )
    p.add_argument("--matrix", action="store_true", help="also print G and G^-1 for n = --fan-in")
    p.add_argument("--latex", action="store_true", help="print G and G^-1 in LaTeX")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


#: Largest fan-in whose dense block --matrix prints.
_MAX_PRINTED = 1000


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..natgrad import unit_fisher

    if args.fan_in < 1:
        raise ValueError(f"--fan-in must be >= 1, got {args.fan_in}")
    if args.matrix and args.fan_in > _MAX_PRINTED:
        raise ValueError(
            f"--matrix prints the (n+1) x (n+1) block and its inverse; use --fan-in <= "
            f"{_MAX_PRINTED} with it (got {args.fan_in}; geosym.natgrad.unit_fisher(...).matrix() "
            "returns larger ones)"
        )
    if not args.w_norm >= 0:
        raise ValueError(f"--w-norm must be >= 0, got {args.w_norm}")
    w = np.zeros(args.fan_in)
    w[0] = args.w_norm
    G = unit_fisher(args.spec, w, args.bias, args.input_mean, args.input_var)
    out = G.to_dict()
    if args.matrix:
        out["matrix"] = G.matrix().tolist()
        out["inverse"] = G.inverse().tolist()
    if args.latex:
        out["latex"] = G.latex()
    if args.json:
        print(dumps(out, indent=2))
        return 0
    print(
        f"{G.activation}: |w| = {args.w_norm}, b = {args.bias}, r = {G.r:.6g}, b' = {G.offset:.6g}"
    )
    for k in range(3):
        print(f"  c{k} = {G.c[k]:.15g}  (+- {G.error[k]:.1e})")
    print(f"  (c0 c2 - c1^2)/(c0 c2) = {G.determinant_ratio:.6g}   [{G.method}]")
    if args.matrix:
        with np.printoptions(precision=6, suppress=True, linewidth=120):
            print("G =")
            print(G.matrix())
            print("G^-1 =")
            print(G.inverse())
    if args.latex:
        print(G.latex())
    return 0

"""``geosym phase SPEC``: the chi_1 order/chaos phase diagram over (sigma_w^2, sigma_b^2)."""

from __future__ import annotations

import argparse

from ._output import dumps, output_path

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "phase",
        help="chi_1 phase diagram (order/chaos) of an activation",
        description="chi_1 at the q-map fixed point over a (sigma_w2, sigma_b2) "
        "grid, and the edge of chaos chi_1 = 1 (Poole et al. 2016).",
    )
    p.add_argument("spec", help="activation: registry name or expression in x")
    p.add_argument("--sw2", default="0.5,4,40", help="sigma_w2 grid 'start,stop,num'")
    p.add_argument("--sb2", default="0.01,1,30", help="sigma_b2 grid 'start,stop,num'")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        help="refuse a grid projected (from its first chunk) to take longer (default 60)",
    )
    p.add_argument("--plot", metavar="FILE", help="write the phase diagram as a PNG")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def _grid(text: str, name: str):
    import numpy as np

    try:
        start, stop, num = text.split(",")
        lo, hi, n = float(start), float(stop), int(num)
    except ValueError:
        raise ValueError(f"--{name} must be 'start,stop,num', got {text!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"--{name}: start and stop must be finite, got {text!r}")
    return np.linspace(lo, hi, n)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..meanfield import MeanField

    sw2, sb2 = _grid(args.sw2, "sw2"), _grid(args.sb2, "sb2")
    plot = output_path(args.plot, "phase.png", "--plot") if args.plot else None
    with args.progress.stage(f"phase diagram, {sw2.size} x {sb2.size} grid"):
        diagram = MeanField(args.spec, 1.0, 0.0).phase_diagram(
            sw2, sb2, max_seconds=args.max_seconds, progress=args.progress
        )
    if plot:
        diagram.plot(str(plot))
        args.progress.done(f"plot {plot}")
    if args.json:
        print(dumps({**diagram.to_dict(), "plot": None if plot is None else str(plot)}))
        return 0
    print(f"{args.spec}: edge of chaos (chi_1 = 1), sigma_w2 at each sigma_b2:")
    for b, w in zip(sb2, diagram.boundary, strict=False):
        print(
            f"  sigma_b2 = {b:.4g}: sigma_w2 = {w:.6g}"
            if np.isfinite(w)
            else f"  sigma_b2 = {b:.4g}: no crossing in the grid"
        )
    if plot:
        print(f"phase diagram written to {plot}")
    return 0

"""``geosym ngd SPEC``: GD vs natural-gradient variants on a teacher-student regression task."""

from __future__ import annotations

import argparse

from ._output import dumps, output_path

__all__ = ["add_parser", "run"]

# the names of geosym.nn.optimizers.METHODS, spelled out so that ``geosym --help`` need not
# import NumPy (tests/test_cli.py checks they agree); the default runs every method that is not a
# variant of another (ngd-unit-mf is ngd-unit with mean-field blocks)
_METHOD_NAMES = ("gd", "ngd", "ngd-layer", "kfac", "ngd-unit", "ngd-unit-mf")
_DEFAULT_METHODS = "gd,ngd,ngd-layer,kfac,ngd-unit"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "ngd",
        help="training comparison: GD (eta = 1/lambda_max) vs exact, layer-wise, K-FAC, unit-wise NGD",
        description="Teacher-student regression on a random MLP; each method runs at the theory's "
        "learning rate (Karakida & Osawa 2020 one-step rates; GD at 1/lambda_max) until the loss "
        "falls below --threshold x its initial value. 'ngd-unit-mf' is unit-wise NGD with the "
        "mean-field closed-form blocks.",
    )
    p.add_argument("spec", help="activation: registry name or expression in x")
    p.add_argument("--depth", type=int, required=True, help="L, number of weight layers")
    p.add_argument("--width", type=int, required=True, help="M (input and hidden widths)")
    p.add_argument("--samples", type=int, default=64, help="N training points (default 64)")
    p.add_argument("--outputs", type=int, default=1, help="C (default 1)")
    p.add_argument("--sigma-w2", type=float, default=None, help="default: 2 for relu, else 3")
    p.add_argument("--sigma-b2", type=float, default=0.1, help="default 0.1")
    p.add_argument(
        "--methods",
        default=_DEFAULT_METHODS,
        help=f"comma list from {','.join(_METHOD_NAMES)}",
    )
    p.add_argument("--threshold", type=float, default=1e-2, help="target loss / initial loss")
    p.add_argument(
        "--max-steps",
        type=_count,
        default=200,
        help="upper bound on the steps of each method (default 200; 1e6 accepted): a run stops "
        "at the threshold, or when its loss stalls for 1000 steps",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        help="refuse a run projected (from one forward pass, over min(max-steps, 100) steps per "
        "method) to take longer (default 600)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="FILE", help="PNG of the loss curves")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def _count(text: str) -> int:
    """An integer count, also written as an integral float (``1e6``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not value.is_integer():  # also nan and inf
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return int(value)


def run(args: argparse.Namespace) -> int:
    from ..experiments.natgrad import training_comparison

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in _METHOD_NAMES]
    if bad or not methods:
        raise ValueError(
            f"--methods: unknown {bad or 'empty list'}; choose from {', '.join(_METHOD_NAMES)}"
        )
    for name in ("depth", "width", "samples", "outputs", "max_steps"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
    if not 0 < args.threshold < 1:
        raise ValueError(f"--threshold must be in (0, 1), got {args.threshold}")
    plot = output_path(args.plot, "ngd.png", "--plot") if args.plot else None
    sw2 = args.sigma_w2 if args.sigma_w2 is not None else (2.0 if args.spec == "relu" else 3.0)
    with args.progress.stage(
        f"training {', '.join(methods)} for up to {args.max_steps} steps each"
    ):
        tc = training_comparison(
            args.spec,
            sw2,
            args.sigma_b2,
            depth=args.depth,
            width=args.width,
            samples=args.samples,
            outputs=args.outputs,
            methods=methods,
            threshold=args.threshold,
            max_steps=args.max_steps,
            seed=args.seed,
            progress=args.progress,
            max_seconds=args.max_seconds,
        )
    if plot:
        tc.plot(str(plot))
        args.progress.done(f"plot {plot}")
    if args.json:
        print(dumps({**tc.to_dict(), "plot": None if plot is None else str(plot)}, indent=2))
        return 0
    print(
        f"{tc.activation}: widths {list(tc.widths)}, N = {tc.samples}, sigma_w2 = {sw2}, "
        f"sigma_b2 = {args.sigma_b2}; steps to loss <= {tc.threshold:g} x initial"
    )
    print(tc.table())
    if plot:
        print(f"plot written to {plot}")
    return 0

"""``geosym ot``: entropic optimal transport between histograms or images read from files.

    geosym ot distance P Q [--reg R] [--cost M.npy] [--json] [--plot FILE]
    geosym ot divergence P Q [--kind sinkhorn|ako] ...
    geosym ot barycenter F1 F2 ... [--weights ...] [--method debiased|entropic|sharp] [--out B.npy]

Histograms are ``.npy`` arrays (1-D profiles or 2-D images) or ``.png`` images (grey level =
mass; ``--invert`` for dark strokes on a light background). Without ``--cost`` the cost is the
squared Euclidean distance on the regular grid ``[0, extent]^d`` of the histograms' shape.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path
from typing import Any

from ..errors import NumericalError
from ._output import dumps, output_path

__all__ = ["add_parser", "run"]

_PLAN_PLOT_MAX = 4096  # plot the dense plan only up to this many bins


def _load_npy(path: str) -> Any:
    """A real-valued array from ``.npy`` (complex or object arrays are refused, as by the API)."""
    import numpy as np

    arr = np.load(path, allow_pickle=False)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{path}: expected an array of real numbers, got dtype {arr.dtype}")
    return arr


def _read(path: str, invert: bool) -> Any:
    """A 1-D or 2-D non-negative array from ``.npy`` or ``.png``."""
    import numpy as np

    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        arr = _load_npy(path)
    elif suffix == ".png":
        import matplotlib.image

        try:
            arr = matplotlib.image.imread(path)
        except FileNotFoundError:
            raise
        except (OSError, SyntaxError, ValueError) as exc:  # PIL: SyntaxError for a broken PNG
            raise ValueError(f"{path}: not a readable PNG image ({exc})") from None
        if arr.ndim == 3:  # RGB(A): grey level from the colour channels
            arr = arr[..., :3].mean(axis=-1)
        if invert:
            arr = arr.max() - arr
    else:
        raise ValueError(f"{path}: expected a .npy or .png file, got {suffix or 'no suffix'}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"{path}: expected a 1-D histogram or a 2-D image, got shape {arr.shape}")
    return np.asarray(arr, dtype=float)


def _read_all(paths: list[str], invert: bool) -> list[Any]:
    hists = [_read(p, invert) for p in paths]
    for path, h in zip(paths[1:], hists[1:], strict=True):
        if h.shape != hists[0].shape:
            raise ValueError(f"{path} has shape {h.shape} but {paths[0]} has {hists[0].shape}")
    return hists


def _cost(args: argparse.Namespace, shape: tuple[int, ...]) -> Any:
    from ..transport import Grid

    if args.cost is None:
        return Grid(shape, args.extent)
    if len(shape) != 1:
        raise ValueError("--cost needs 1-D histograms; images use the grid cost (--extent)")
    return _load_npy(args.cost)


def _plot_path(args: argparse.Namespace) -> Path | None:
    return output_path(args.plot, f"ot-{args.ot_command}.png", "--plot") if args.plot else None


def _path_text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _written(what: str, path: Path | None) -> list[str]:
    return [] if path is None else [f"{what} written to {path}"]


def _emit(args: argparse.Namespace, record: dict, lines: list[str]) -> None:
    if args.json:
        print(dumps(record))
    else:
        print("\n".join(lines))


def _eps_scaling(text: str) -> float | str | None:
    """``--eps-scaling``: a factor, ``auto`` or ``none``."""
    if text in ("auto", "none"):
        return None if text == "none" else text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a factor in (0, 1), 'auto' or 'none', got {text!r}"
        ) from None


def _run_distance(args: argparse.Namespace) -> dict:
    from ..transport import sinkhorn

    plot = _plot_path(args)
    a, b = _read_all([args.p, args.q], args.invert)
    cost = _cost(args, a.shape)
    with args.progress.stage(f"Sinkhorn on {a.size} bins"):
        res = sinkhorn(
            a,
            b,
            cost,
            args.reg,
            tol=args.tol,
            max_iter=args.max_iter,
            eps_scaling=args.eps_scaling,
        )
    if plot:
        from ..transport.figures import plot_transport

        plot_transport(
            a / a.sum(), b / b.sum(), res.plan if a.size <= _PLAN_PLOT_MAX else None, plot
        )
    keys = ("value", "transport_cost", "entropy", "n_iter", "converged", "marginal_error")
    record = {k: v for k, v in res.to_dict().items() if k in keys}
    _emit(
        args,
        {"command": "distance", "reg": args.reg, **record, "plot": _path_text(plot)},
        [
            f"entropic cost C_reg      {res.value:.10g}",
            f"transport cost <M,P>     {res.transport_cost:.10g}",
            f"entropy H(P)             {res.entropy:.10g}",
            f"iterations               {res.n_iter} (converged: {res.converged}, "
            f"marginal error {res.marginal_error:.2g})",
            *_written("plot", plot),
        ],
    )
    return record


def _run_divergence(args: argparse.Namespace) -> dict:
    from ..transport import ako_divergence, sinkhorn_divergence

    plot = _plot_path(args)
    a, b = _read_all([args.p, args.q], args.invert)
    cost = _cost(args, a.shape)
    fn = {"sinkhorn": sinkhorn_divergence, "ako": ako_divergence}[args.kind]
    with args.progress.stage(f"{args.kind} divergence on {a.size} bins"):
        value = float(
            fn(
                a,
                b,
                cost,
                args.reg,
                tol=args.tol,
                max_iter=args.max_iter,
                eps_scaling=args.eps_scaling,
            )
        )
    # +inf is a value (the AKO divergence off the support of p); -inf or NaN is a failure
    if math.isnan(value) or value == -math.inf:
        raise NumericalError(
            f"the {args.kind} divergence came out {value} (floating-point overflow or "
            f"cancellation at reg={args.reg:g}, extent={args.extent:g}); rescale the cost "
            "(--extent) or change --reg"
        )
    if plot:
        from ..transport.figures import plot_transport

        plot_transport(a / a.sum(), b / b.sum(), None, plot)
    record = {
        "command": "divergence",
        "kind": args.kind,
        "reg": args.reg,
        "value": value,  # +inf -> null in the JSON
        "plot": _path_text(plot),
    }
    _emit(
        args,
        record,
        [f"{args.kind} divergence (reg={args.reg:g})  {value:.10g}", *_written("plot", plot)],
    )
    return record


def _run_barycenter(args: argparse.Namespace) -> dict:
    import numpy as np

    from ..transport import barycenter

    plot = _plot_path(args)
    out = (
        output_path(args.out, "barycenter.npy", "--out", suffixes=(".npy", ".png"))
        if args.out
        else None
    )
    hists = _read_all(args.inputs, args.invert)
    cost = _cost(args, hists[0].shape)
    with args.progress.stage(
        f"{args.method} barycenter of {len(hists)} histograms of shape {hists[0].shape}"
    ):
        bary = barycenter(
            np.stack(hists),
            cost,
            args.reg,
            weights=args.weights,
            method=args.method,
            tol=args.tol,
            max_iter=args.max_iter,
            q_tol=args.q_tol,
            anderson=args.anderson,
        ).q
    if out:
        if out.suffix.lower() == ".png":
            from ..transport.figures import save_image

            save_image(bary, out)
        else:
            np.save(out, bary)
        args.progress.done(f"barycenter {out}")
    if plot:
        from ..transport.figures import plot_histograms

        named = {Path(p).stem: h for p, h in zip(args.inputs, hists, strict=True)}
        plot_histograms({**named, f"{args.method} barycenter": bary}, plot)
    record = {
        "command": "barycenter",
        "method": args.method,
        "reg": args.reg,
        "shape": list(bary.shape),
        "out": _path_text(out),
        "barycenter": None if out else bary.tolist(),
        "plot": _path_text(plot),
    }
    if out:
        body = [f"written to {out}"]
    else:
        import numpy as np

        body = [np.array2string(bary, precision=4)]
    _emit(
        args,
        record,
        [f"{args.method} barycenter of {len(hists)} histograms, shape {bary.shape}", *body]
        + _written("plot", plot),
    )
    return record


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reg", type=float, default=1e-2, help="regularisation λ in cost units (1e-2)")
    p.add_argument("--cost", help="cost matrix .npy for 1-D histograms (default: grid cost)")
    p.add_argument("--extent", type=float, default=1.0, help="grid spans [0, EXTENT] per axis")
    p.add_argument("--tol", type=float, default=None, help="stopping tolerance")
    p.add_argument("--max-iter", type=int, default=10_000, help="iteration limit (10000)")
    p.add_argument("--invert", action="store_true", help="PNG: dark strokes on light background")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="FILE", help="write a PNG figure")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``geosym ot`` and its sub-commands; returns the ``ot`` parser."""
    parser = subparsers.add_parser(
        "ot", help="entropic optimal transport: distance, divergence, barycenter"
    )
    sub = parser.add_subparsers(dest="ot_command", metavar="{distance,divergence,barycenter}")
    sub.required = True
    for name, text in (
        ("distance", "entropic OT cost and plan"),
        ("divergence", "Sinkhorn/AKO divergence"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("p", help="first histogram (.npy or .png)")
        p.add_argument("q", help="second histogram (.npy or .png)")
        _common(p)
        p.add_argument(
            "--eps-scaling",
            type=_eps_scaling,
            default="auto",
            help="ε-scaling factor in (0, 1), 'auto' (default: 0.5 below reg 1e-3·max cost) "
            "or 'none'",
        )
        if name == "divergence":
            p.add_argument("--kind", choices=("sinkhorn", "ako"), default="sinkhorn")
    p = sub.add_parser("barycenter", help="entropic, debiased or sharp Wasserstein barycenter")
    p.add_argument("inputs", nargs="+", help="histograms (.npy or .png), all the same shape")
    _common(p)
    p.add_argument("--weights", type=float, nargs="+", help="barycentric weights (uniform)")
    p.add_argument("--method", choices=("debiased", "entropic", "sharp"), default="debiased")
    p.add_argument(
        "--q-tol",
        type=float,
        default=None,
        help="tolerance on the L1 change of the barycenter (default: --tol; inf: off)",
    )
    p.add_argument(
        "--anderson",
        type=int,
        default=5,
        help="Anderson acceleration depth, 0 for the plain iteration (5)",
    )
    p.add_argument("--out", help="write the barycenter to .npy (or .png)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``geosym ot``; normalisation and convergence warnings become notes on stderr."""
    if args.tol is None:
        args.tol = 1e-6 if args.ot_command == "barycenter" else 1e-9
    handler = {
        "distance": _run_distance,
        "divergence": _run_divergence,
        "barycenter": _run_barycenter,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handler[args.ot_command](args)
    for w in caught:
        print(f"geosym ot: note: {w.message}", file=sys.stderr)
    return 0

"""``geosym committee``: order-parameter ODEs of a two-layer network, optionally checked by SGD.

Examples
--------
``geosym committee "erf(x/sqrt(2))" -K 3 -M 3 --eta 0.1 --alpha-max 2000``
``geosym committee tanh -K 2 -M 2 --eta 0.5 --alpha-max 50 --simulate 1000 --seeds 3 --json``
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from ._output import dumps, output_path

__all__ = ["add_parser", "run"]


def _matrix(text: str):
    """Parse ``"1,0;0,1"`` (rows separated by ``;``) into a float matrix."""
    import numpy as np

    try:
        rows = [[float(v) for v in row.split(",")] for row in text.split(";")]
        return np.array(rows, dtype=float)
    except ValueError as exc:
        raise ValueError(
            f"--teacher-out/--teacher-cov: cannot parse {text!r} as rows 'a,b;c,d'"
        ) from exc


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "committee",
        help="learning dynamics of soft committee machines (ODE, fixed point, plateau, SGD)",
        description="Integrate the order-parameter ODEs of online SGD for a two-layer "
        "teacher-student network (Saad & Solla 1995; Goldt et al. 2019), report "
        "the symmetric fixed point, escape rate and plateau, and optionally compare "
        "with a simulation.",
    )
    p.add_argument(
        "spec",
        help='activation: registry name or expression in x, e.g. "erf(x/sqrt(2))", tanh, relu',
    )
    p.add_argument("-K", type=int, required=True, help="student hidden units")
    p.add_argument("-M", type=int, required=True, help="teacher hidden units")
    p.add_argument("--outputs", type=int, default=1, help="output dimension L (default 1)")
    p.add_argument("--eta", type=float, required=True, help="first-layer learning rate")
    p.add_argument(
        "--eta-v",
        type=float,
        default=0.0,
        help="second-layer learning rate (0 = fixed second layer)",
    )
    p.add_argument("--noise", type=float, default=0.0, help="output noise std sigma")
    p.add_argument("--weight-decay", type=float, default=0.0, help="weight decay kappa")
    p.add_argument(
        "--teacher-out",
        type=_matrix,
        default=None,
        help="teacher second layer, M x L as 'a,b;c,d' (default: ones for L = 1, "
        "rows e_(n mod L) for L > 1)",
    )
    p.add_argument("--teacher-cov", type=_matrix, default=None, help="teacher covariance T")
    p.add_argument("--alpha-max", type=float, required=True, help="final time alpha")
    p.add_argument("--seed", type=int, default=0, help="seed of the random initialisation")
    p.add_argument(
        "-N",
        "--init-N",
        dest="init_n",
        type=int,
        default=1000,
        help="input dimension of the ODE's random initialisation (default 1000)",
    )
    p.add_argument("--rtol", type=float, default=1e-9, help="ODE relative tolerance")
    p.add_argument(
        "--simulate",
        type=int,
        default=None,
        metavar="N",
        help="also run online SGD at input dimension N; the ODE then starts from "
        "each seed's measured overlaps",
    )
    p.add_argument("--seeds", type=int, default=1, help="number of SGD seeds (default 1)")
    p.add_argument("--plot", default=None, metavar="FILE", help="write eps_g(alpha) to FILE")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--latex", action="store_true", help="print the ODE system in LaTeX")
    return p


def _teacher_out(args: argparse.Namespace):
    import numpy as np

    if args.teacher_out is not None:
        return args.teacher_out
    if args.outputs > 1:
        out = np.zeros((args.M, args.outputs))
        out[np.arange(args.M), np.arange(args.M) % args.outputs] = 1.0
        return out
    return None


def plateau_line(pl: dict, alpha_max: float) -> str:
    """The plateau in words: never reached, not left by ``alpha_max``, or start/end/length."""
    if not pl["found"] or not math.isfinite(pl["start"]):
        return (
            f"plateau: not reached (eps_g never within 5 % of eps_g* = {pl['eps_star']:.4g} "
            f"up to alpha = {alpha_max:g})"
        )
    if not math.isfinite(pl["end"]):
        return (
            f"plateau: start {pl['start']:.4g}, height {pl['height']:.4g}, not left by "
            f"alpha = {alpha_max:g}"
        )
    return (
        f"plateau: start {pl['start']:.4g}, end {pl['end']:.4g}, length {pl['length']:.4g}, "
        f"height {pl['height']:.4g}"
    )


def _model(args: argparse.Namespace, activation: Any, teacher_cov: Any, tout: Any) -> Any:
    """The CommitteeODE the command line describes (``activation`` may be built integrals)."""
    from ..committee import CommitteeODE

    return CommitteeODE(
        activation,
        args.K,
        args.M,
        args.outputs,
        eta=args.eta,
        eta_v=args.eta_v,
        noise=args.noise,
        weight_decay=args.weight_decay,
        teacher_cov=teacher_cov,
        teacher_out=tout,
    )


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..committee import plateau, simulate
    from ..errors import ConvergenceError

    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if args.seeds != 1 and args.simulate is None:
        raise ValueError("--seeds applies to --simulate only (the ODE is deterministic)")
    plot = output_path(args.plot, "committee.png", "--plot") if args.plot else None
    progress = args.progress
    tout = _teacher_out(args)
    ode = _model(args, args.spec, args.teacher_cov, tout)
    if args.latex and not args.json:
        print(ode.latex(), end="")
        if args.plot is None and args.simulate is None:
            return 0
    summary: dict[str, Any] = {
        "model": repr(ode),
        "integrals": ode.integrals.methods,
        "integral_error": ode.integrals.error,
    }
    if args.latex and args.json:  # stdout stays one JSON document
        summary["latex"] = ode.latex()
    try:
        fp = ode.symmetric_fixed_point()
        summary["fixed_point"] = {
            "eps_g": fp.eps_g,
            "Q11": float(fp.Q[0, 0]),
            "R11": float(fp.R[0, 0]),
            "escape_rate": fp.escape_rate(),
        }
    except (ConvergenceError, ValueError) as exc:
        fp = None
        summary["fixed_point"] = {"error": str(exc)}
    sims = []
    if args.simulate is not None:
        with progress.stage(f"online SGD at N = {args.simulate}, {args.seeds} seed(s)"):
            sims = simulate(
                ode.integrals,
                args.simulate,
                args.K,
                args.M,
                args.outputs,
                args.eta,
                args.alpha_max,
                args.seeds,
                eta_v=args.eta_v,
                noise=args.noise,
                weight_decay=args.weight_decay,
                teacher_cov=args.teacher_cov,
                teacher_out=tout,
            )
        odes = []
        for tr in sims:
            m = _model(args, ode.integrals, tr.T, tout)
            with progress.stage(f"ODE from the overlaps of SGD seed {tr.meta['seed']}"):
                odes.append(
                    m.integrate(args.alpha_max, init=tr.initial(), alphas=tr.alpha, rtol=args.rtol)
                )
        summary["runs"] = [
            {
                "seed": s.meta["seed"],
                "eps_g_final_sgd": float(s.eps_g[-1]),
                "eps_g_final_ode": float(o.eps_g[-1]),
                "median_rel_dev": float(np.median(np.abs(s.eps_g - o.eps_g) / o.eps_g)),
            }
            for s, o in zip(sims, odes, strict=True)
        ]
        trajs = odes
    else:
        with progress.stage(f"ODE to alpha = {args.alpha_max:g}"):
            trajs = [ode.integrate(args.alpha_max, seed=args.seed, rtol=args.rtol, N=args.init_n)]
    tr = trajs[0]
    summary["eps_g_final"] = float(tr.eps_g[-1])
    summary["nfev"] = tr.meta["nfev"]
    if fp is not None:
        # the symmetric ansatz can have several solutions: report all, and measure the plateau
        # against the one the trajectory comes closest to
        try:
            fps = ode.symmetric_fixed_points()
        except ConvergenceError:
            fps = (fp,)
        fp = ode.plateau_fixed_point(tr, fps)
        summary["fixed_points"] = [
            {
                "eps_g": p.eps_g,
                "Q11": float(p.Q[0, 0]),
                "Q12": float(p.Q[0, -1]),
                "R11": float(p.R[0, 0]),
                "escape_rate": p.escape_rate(),
                "stability": p.stability,
                "unstable_directions": p.unstable_directions,
            }
            for p in fps
        ]
        summary["plateau_fixed_point"] = fps.index(fp)
    if fp is not None and fp.eps_g > 0:  # eps* = 0: the fixed point is the teacher, no plateau
        summary["plateau"] = plateau(tr, fp.eps_g).to_dict()
    if plot:
        from .._plot import figure

        with figure(plot, figsize=(6, 4)) as (_, ax):
            for j, o in enumerate(trajs):
                ax.plot(o.alpha[1:], o.eps_g[1:], "C0", label="ODE" if j == 0 else None)
            for j, s in enumerate(sims):
                ax.plot(
                    s.alpha[1:],
                    s.eps_g[1:],
                    "C1",
                    alpha=0.6,
                    lw=0.8,
                    label=f"SGD N={args.simulate}" if j == 0 else None,
                )
            if fp is not None:
                ax.axhline(fp.eps_g, color="k", ls=":", lw=0.8, label=r"$\epsilon_g^*$")
            ax.set(
                xscale="log",
                yscale="log",
                xlabel=r"$\alpha$",
                ylabel=r"$\epsilon_g$",
                title=repr(ode)[:80],
            )
            ax.legend()
        summary["plot"] = str(plot)
    if args.json:
        print(dumps(summary, indent=2))
    else:
        print(summary["model"])
        for fam, m in summary["integrals"].items():
            print(f"  {fam}: {m}")
        fpd = summary["fixed_point"]
        if "eps_g" in fpd:
            print(
                f"symmetric fixed point: eps_g* = {fpd['eps_g']:.6g}, Q_11 = {fpd['Q11']:.6g},"
                f" R_11 = {fpd['R11']:.6g}, escape rate = {fpd['escape_rate']:.6g}"
            )
        if len(summary.get("fixed_points", ())) > 1:
            for j, p in enumerate(summary["fixed_points"]):
                near = (
                    " (the plateau is nearest this one)"
                    if j == summary["plateau_fixed_point"]
                    else ""
                )
                print(
                    f"  symmetric solution {j}: eps_g* = {p['eps_g']:.7g}, Q_11 = "
                    f"{p['Q11']:.6g}, Q_12 = {p['Q12']:.6g}, escape rate "
                    f"{p['escape_rate']:.6g}, {p['stability']} "
                    f"({p['unstable_directions']} unstable){near}"
                )
        if "plateau" in summary:
            print(plateau_line(summary["plateau"], args.alpha_max))
        print(
            f"eps_g(alpha_max = {args.alpha_max:g}) = {summary['eps_g_final']:.6g} "
            f"({summary['nfev']} right-hand-side evaluations)"
        )
        if plot:
            print(f"plot written to {plot}")
        for r in summary.get("runs", []):
            print(
                f"seed {r['seed']}: SGD eps_g {r['eps_g_final_sgd']:.4g}, ODE "
                f"{r['eps_g_final_ode']:.4g}, median relative deviation "
                f"{100 * r['median_rel_dev']:.2f}%"
            )
    return 0

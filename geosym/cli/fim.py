"""``geosym fim SPEC``: mean-field FIM statistics, optionally measured on random networks."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ._output import dumps, output_path

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "fim",
        help="FIM eigenvalue statistics of a wide random net (theory, optionally simulation)",
        description="Mean-field m_lambda, s_lambda, lambda_max, lambda_2 and eta_c = 2/lambda_max "
        "(Karakida, Akaho & Amari 2019); with --simulate, measured on random networks too.",
    )
    p.add_argument("spec", help="activation: registry name or expression in x")
    p.add_argument("--sigma-w2", type=float, required=True)
    p.add_argument("--sigma-b2", type=float, required=True)
    p.add_argument("--depth", type=int, required=True, help="L, number of weight layers")
    p.add_argument("--width", type=int, required=True, help="M")
    p.add_argument("--outputs", type=int, default=1, help="C (default 1)")
    p.add_argument("--samples", type=int, default=10, help="T (default 10)")
    p.add_argument(
        "--alphas", type=str, default=None, help="comma-separated width ratios alpha_0..alpha_(L-1)"
    )
    p.add_argument("--simulate", action="store_true", help="also measure on random networks")
    p.add_argument("--seeds", type=int, default=3, help="networks to average with --simulate")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", metavar="FILE", help="PNG of the measured spectrum (needs --simulate)")
    return p


def _alphas(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"--alphas must be comma-separated numbers, got {text!r}") from None


def _plot_spectrum(path: str, spectrum, m_lambda: float, lambda_max: float) -> None:
    import numpy as np

    from .._plot import figure

    with figure(path, figsize=(5, 3.5)) as (fig, ax):
        positive = spectrum[spectrum > 0]
        if positive.size == 0:
            raise ValueError("--plot: the measured spectrum has no positive eigenvalue to draw")
        bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()), 30)
        ax.hist(positive, bins=bins, color="0.6", label="measured non-zero eigenvalues")
        ax.axvline(m_lambda, color="C0", ls="--", label=r"theory $m_\lambda$")
        ax.axvline(lambda_max, color="C3", label=r"theory $\lambda_{\max}$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"eigenvalue $\lambda$")
        ax.set_ylabel("count")
        ax.legend(fontsize=8)


def _plus_minus(se: float) -> str:
    """`` ± s.e.``, or what there is instead of a standard error."""
    return f" ± {se:.2g}" if math.isfinite(se) else " (one network: no standard error)"


def run(args: argparse.Namespace) -> int:
    from ..fisher import fim_statistics

    alphas = _alphas(args.alphas)
    if args.plot and not args.simulate:
        raise ValueError("--plot draws the measured spectrum: add --simulate")
    if args.simulate and args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    plot = output_path(args.plot, "fim_spectrum.png", "--plot") if args.plot else None
    theory = fim_statistics(
        args.spec,
        args.sigma_w2,
        args.sigma_b2,
        args.depth,
        args.width,
        args.outputs,
        args.samples,
        alphas=alphas,
    )
    out: dict[str, Any] = {"theory": theory.to_dict()}
    if args.simulate:
        from ..experiments import compare_fim

        with args.progress.stage(f"measuring {args.seeds} random network(s)"):
            cmp = compare_fim(
                args.spec,
                args.sigma_w2,
                args.sigma_b2,
                args.depth,
                (args.width,),
                args.outputs,
                args.samples,
                alphas,
                seeds=args.seeds,
            )
        row = cmp.rows[0]
        out["measured"] = {"mean": row.measured_mean, "se": row.measured_se}
        out["ratio"] = row.ratio
        if plot:
            _plot_spectrum(
                str(plot), cmp.spectrum, float(theory.m_lambda), float(theory.lambda_max)
            )
            out["plot"] = str(plot)
    if args.json:
        print(dumps(out, indent=2))
        return 0
    t = out["theory"]
    print(
        f"{args.spec}: sigma_w2={args.sigma_w2}, sigma_b2={args.sigma_b2}, L={args.depth}, "
        f"M={args.width}, C={args.outputs}, T={args.samples}, P={t['n_params']}"
    )
    print(f"  kappa1 = {t['kappa1']:.6g}, kappa2 = {t['kappa2']:.6g}, alpha = {t['alpha']:.6g}")
    for name in ("m_lambda", "s_lambda", "lambda_max", "lambda_2", "eta_critical"):
        line = f"  {name:12s} theory {t[name]:.6g}"
        if args.simulate and name in out["ratio"]:
            line += (
                f"   measured {out['measured']['mean'][name]:.6g} "
                f"{_plus_minus(out['measured']['se'][name])}   ratio {out['ratio'][name]:.4f}"
            )
        print(line)
    if plot:
        print(f"spectrum plot written to {plot}")
    return 0

"""``geosym sweep``: run a grid of an experiment on Dask into a resumable results store.

``run SPEC.toml --store PATH [--scheduler ADDRESS] [--workers N]`` (resumes when PATH exists),
``status PATH [--json]``, ``export PATH --csv OUT`` and
``plot PATH --x COORD --y FIELD [--hue COORD]``; see :mod:`geosym.sweep`.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sweep",
        help="run an experiment over a grid on Dask, into a crash-safe store",
        description="Run a registered experiment over a grid (a TOML spec) on a local Dask "
        "cluster or a running dask scheduler; every finished point is committed to an SQLite "
        "store, and running again resumes.",
    )
    cmds = p.add_subparsers(dest="sweep_command", metavar="ACTION")
    cmds.required = True
    r = cmds.add_parser("run", help="run or resume a sweep")
    r.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (experiment, seed, [grid])")
    r.add_argument("--store", required=True, metavar="PATH", help="SQLite results store")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running dask scheduler")
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes (default: one per core; 0: run in this process)",
    )
    r.add_argument(
        "--resume",
        action="store_true",
        help="require an existing store (resuming is also the default when it exists)",
    )
    r.add_argument("--retries", type=int, default=2, help="extra attempts per failing point")
    r.add_argument("--json", action="store_true", help="print the run summary as JSON")
    s = cmds.add_parser("status", help="points done / failed / pending")
    s.add_argument("store", metavar="PATH")
    s.add_argument("--json", action="store_true", help="machine-readable status")
    e = cmds.add_parser("export", help="finished points to CSV or NetCDF")
    e.add_argument("store", metavar="PATH")
    e.add_argument("--csv", metavar="OUT", help="CSV: coordinates, seed, result fields")
    e.add_argument("--netcdf", metavar="OUT", help="xarray.Dataset as NetCDF (needs xarray)")
    pl = cmds.add_parser("plot", help="a result field against a coordinate")
    pl.add_argument("store", metavar="PATH")
    pl.add_argument("--x", required=True, help="coordinate on the horizontal axis")
    pl.add_argument("--y", required=True, nargs="+", help="result field(s) to plot")
    pl.add_argument("--hue", help="coordinate with one line per value")
    pl.add_argument("--out", help="PNG path (default: beside the store)")
    pl.add_argument("--logx", action="store_true")
    pl.add_argument("--logy", action="store_true")
    return p


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..sweep.runner import run_spec
    from ..sweep.spec import load_spec

    spec = load_spec(args.spec)
    if args.resume and not Path(args.store).exists():
        raise FileNotFoundError(f"--resume: no store at {args.store}")
    result = run_spec(
        spec, args.store, scheduler=args.scheduler, workers=args.workers, retries=args.retries
    )
    if args.json:
        print(result.to_json())
    else:
        print(
            f"{result.done}/{result.total} done, {result.failed} failed, {result.pending} pending "
            f"({result.computed} computed now, {result.skipped} were done; {result.where}, "
            f"{result.seconds:.1f} s) -> {result.store}"
        )
    return 0 if result.done == result.total else 1


def _status(args: argparse.Namespace) -> int:
    from ..sweep.store import Store

    with Store.open(args.store) as st:
        counts = st.counts()
        failures = [
            {"coords": r["coords"], "rep": r["rep"], "seed": r["seed"], "error": r["error"]}
            for r in st.rows(("failed",))
        ]
        info = {
            **counts,
            "experiment": st.spec["experiment"],
            "spec": st.spec,
            "compute_seconds": st.compute_seconds(),
            "runs": st.runs(),
            "failures": failures,
        }
    if args.json:
        print(json.dumps(info, allow_nan=False))
        return 0
    print(
        f"{info['experiment']}: {counts['done']}/{counts['total']} done, {counts['failed']} "
        f"failed, {counts['pending']} pending; {info['compute_seconds']:.1f} s of compute "
        f"in {len(info['runs'])} run(s)"
    )
    for f in failures:
        print(f"  failed {f['coords']} rep {f['rep']}: {f['error']}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..sweep.export import to_csv, to_xarray

    if not (args.csv or args.netcdf):
        raise ValueError("give --csv OUT and/or --netcdf OUT")
    if args.csv:
        n = to_csv(args.store, args.csv)
        print(f"{n} points -> {args.csv}")
    if args.netcdf:
        to_xarray(args.store).to_netcdf(args.netcdf)
        print(f"dataset -> {args.netcdf}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from ..sweep.plot import plot

    path = plot(args.store, args.x, args.y, args.hue, args.out, args.logx, args.logy)
    print(f"figure -> {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    action = {"run": _run, "status": _status, "export": _export, "plot": _plot}
    try:
        return action[args.sweep_command](args)
    except ImportError as exc:  # the optional extra is missing: one line, no traceback
        print(f"geosym sweep: error: {exc}", file=sys.stderr)
        return 2

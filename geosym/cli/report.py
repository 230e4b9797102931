"""``geosym report``: run every theory-vs-simulation comparison and write a report."""

from __future__ import annotations

import argparse
import sys

from ._output import dumps

__all__ = ["add_parser", "run"]

# the keys of geosym.report.SECTIONS (spelled out so that ``geosym --help`` need not import
# NumPy; tests/test_cli.py checks the two agree)
SECTION_KEYS = ("fisher", "natgrad", "committee", "transport", "real_data")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="every theory checked against simulation (HTML + Markdown)",
        description="Run the Fisher, natural-gradient, committee, transport and real-data "
        "comparisons and write DIR/index.html (self-contained) and DIR/index.md "
        "with PNG figures, tables and pass/fail checks. The files are made in a temporary "
        "folder and moved into DIR at the end: an interrupted run leaves DIR as it was. "
        "Exit status 1 when a check fails.",
    )
    p.add_argument("--out", default="report", help="output folder (default: ./report)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (default; <= 5 min)")
    size.add_argument(
        "--full",
        action="store_true",
        help="larger sizes and more seeds; the grids run as resumable sweeps on Dask, their "
        "stores kept in OUT/sweeps/",
    )
    p.add_argument(
        "--activation",
        action="append",
        default=[],
        metavar="SPEC",
        help="add an activation to the Fisher section (repeatable)",
    )
    p.add_argument(
        "--section",
        action="append",
        choices=SECTION_KEYS,
        default=None,
        help="run only these sections (repeatable)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --full: run the grids on this running dask scheduler (default: a local Dask "
        "cluster; see `geosym sweep`)",
    )
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --full: local worker processes for the grids (default: one per core; "
        "0: in this process)",
    )
    p.add_argument("--json", action="store_true", help="print the sections and checks as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    if not args.full and (args.scheduler is not None or args.workers is not None):
        raise ValueError(
            "--scheduler and --workers apply to --full only (the quick report runs in this process)"
        )
    if args.workers is not None and args.workers < 0:
        raise ValueError(f"--workers must be >= 0 (0: in this process), got {args.workers}")
    if args.activation:  # a bad spec fails now, in one line, not minutes later in its section
        from ..activations import activation

        for spec in args.activation:
            activation(spec)
    if args.full and args.workers != 0:  # the grids run on Dask: fail now, not in a section
        from ..sweep.runner import import_distributed

        try:
            import_distributed()
        except ImportError as exc:
            print(f"geosym report: error: {exc}", file=sys.stderr)
            return 2
    from ..report import build_report

    sections = build_report(
        args.out,
        full=args.full,
        activations=args.activation,
        sections=args.section,
        progress=args.progress,
        scheduler=args.scheduler,
        workers=args.workers,
    )
    status = 0 if all(s.passed for s in sections) else 1
    index = [f"{args.out}/index.html", f"{args.out}/index.md"]
    if args.json:
        print(
            dumps(
                {
                    "passed": status == 0,
                    "files": index,
                    "sections": [s.to_dict() for s in sections],
                },
                indent=2,
            )
        )
        return status
    for s in sections:
        print(f"{s.status:5s} {s.title} ({s.seconds:.1f} s)")
        if s.error:
            print(f"      {s.error.splitlines()[0]}")
    print(f"report written to {index[0]} and {index[1]}")
    return status

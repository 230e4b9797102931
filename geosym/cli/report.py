"""``geosym report``: run every theory-vs-simulation comparison and write a report."""

from __future__ import annotations

import argparse

from ._output import dumps

__all__ = ["add_parser", "run"]

# the keys of geosym.report.SECTIONS (spelled out so that ``geosym --help`` need not import
# NumPy; tests/test_cli.py checks the two agree)
SECTION_KEYS = ("fisher", "natgrad", "committee", "transport")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="every theory checked against simulation (HTML + Markdown)",
        description="Run the Fisher, natural-gradient, committee and transport "
        "comparisons and write DIR/index.html (self-contained) and DIR/index.md "
        "with PNG figures, tables and pass/fail checks. The files are made in a temporary "
        "folder and moved into DIR at the end: an interrupted run leaves DIR as it was. "
        "Exit status 1 when a check fails.",
    )
    p.add_argument("--out", default="report", help="output folder (default: ./report)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (default; <= 5 min)")
    size.add_argument("--full", action="store_true", help="larger sizes and more seeds")
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
    p.add_argument("--json", action="store_true", help="print the sections and checks as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    from ..report import build_report

    sections = build_report(
        args.out,
        full=args.full,
        activations=args.activation,
        sections=args.section,
        progress=args._progress,
    )
    status = 0 if all(s.passed for s in sections) else 1
    index = [f"{args.out}/index.html", f"{args.out}/index.md"]
    if args.json:
        print(dumps({"passed": status == 0, "files": index,
                     "sections": [s.to_dict() for s in sections]}, indent=2))
        return status
    for s in sections:
        print(f"{s.status:5s} {s.title} ({s.seconds:.1f} s)")
        if s.error:
            print(f"      {s.error.splitlines()[0]}")
    print(f"report written to {index[0]} and {index[1]}")
    return status

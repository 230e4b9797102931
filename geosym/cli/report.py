"""``geosym report``: run every theory-vs-simulation comparison and write a report."""

from __future__ import annotations

import argparse

from ..report import SECTIONS, build_report

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="every theory checked against simulation (HTML + Markdown)",
        description="Run the Fisher, natural-gradient, committee and transport "
        "comparisons and write DIR/index.html (self-contained) and DIR/index.md "
        "with PNG figures, tables and pass/fail checks.",
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
        choices=list(SECTIONS),
        default=None,
        help="run only these sections (repeatable)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    sections = build_report(
        args.out, full=args.full, activations=args.activation, sections=args.section
    )
    for s in sections:
        status = "PASS" if s.passed else ("ERROR" if s.error else "FAIL")
        print(f"{status:5s} {s.title} ({s.seconds:.1f} s)")
        if s.error:
            print(f"      {s.error.splitlines()[0]}")
    print(f"report written to {args.out}/index.html and {args.out}/index.md")
    return 0 if all(s.passed for s in sections) else 1

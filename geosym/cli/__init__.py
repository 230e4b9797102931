"""The ``geosym`` console script.

Each sub-command lives in its own module of this package and exposes two functions:
``add_parser(subparsers)`` (register the command and its flags) and ``run(args) -> int``.
Bad input (``ValueError``/``TypeError``) and numerical failure (:class:`geosym.NumericalError`)
become a one-line message on stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import NumericalError

__all__ = ["main", "COMMANDS"]

#: sub-command name -> module (relative to this package) implementing it
COMMANDS: dict[str, str] = {
    "committee": ".committee",
    "derive": ".derive",
    "fim": ".fim",
    "ot": ".ot",
    "phase": ".phase",
    "report": ".report",
    "ngd": ".ngd",
    "sweep": ".sweep",
    "unit-fisher": ".unit_fisher",
}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geosym",
        description="Geometry of deep learning: theory for your activation, checked by simulation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS.values():
        mod = importlib.import_module(module, __name__)
        command = mod.add_parser(sub)
        command.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geosym`` console script; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (ValueError, TypeError, NumericalError, OSError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the exception's layout
        print(f"geosym {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

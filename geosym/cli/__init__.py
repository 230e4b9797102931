"""The ``geosym`` console script (also ``python -m geosym``).

Each sub-command lives in its own module of this package and exposes two functions:
``add_parser(subparsers)`` (register the command and its flags) and ``run(args) -> int``. The
modules import geosym's numerical code inside ``run``, so ``geosym --help`` stays fast.

Exit status: 0 success; 1 a report with failed checks; 2 bad input (``ValueError``/``TypeError``,
a bad flag), numerical failure (:class:`geosym.NumericalError`) or a file that cannot be read or
written, each as one line on stderr, no traceback; 130 interrupted (Ctrl-C), with one line saying
what was completed. ``--json`` output is strict JSON: a value that is not finite is ``null``.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

from .._progress import Progress
from .._threads import blas_threads, limit_blas_threads
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

# a value that starts with "-" but is a number or a comma list of numbers ("-1,1,1", "-1e-3")
_NEGATIVE_VALUE = re.compile(r"-(\d|\.\d|inf|nan)", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (and exit status 2), like every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``geosym`` argument parser with every sub-command (what :func:`main` parses)."""
    from .. import __version__

    parser = _Parser(
        prog="geosym",
        description="Geometry of deep learning: theory for your activation, checked by simulation.",
    )
    parser.add_argument("--version", action="version", version=f"geosym {__version__}")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="BLAS threads (default: $GEOSYM_BLAS_THREADS, else 1 unless OPENBLAS_NUM_THREADS/"
        "OMP_NUM_THREADS/MKL_NUM_THREADS is set; geosym's matrices are small, and more threads "
        "mostly spin on a busy machine)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS.values():
        mod = importlib.import_module(module, __name__)
        command = mod.add_parser(sub)
        command.set_defaults(run=mod.run)
    return parser


def _value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Option strings (of the parser and all its sub-parsers) that take a value."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= _value_options(child)
        elif action.option_strings and action.nargs != 0:
            found.update(action.option_strings)
    return found


def _attach_negative_values(argv: list[str], options: set[str]) -> list[str]:
    """``--alphas -1,1,1`` -> ``--alphas=-1,1,1``: argparse would read ``-1,1,1`` as a flag."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in options and i + 1 < len(argv) and _NEGATIVE_VALUE.match(argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
        else:
            out.append(token)
            i += 1
    return out


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geosym`` console script; returns the exit status."""
    progress = Progress("geosym")
    command = "geosym"
    try:
        parser = build_parser()
        args_list = list(sys.argv[1:] if argv is None else argv)
        try:
            args = parser.parse_args(_attach_negative_values(args_list, _value_options(parser)))
        except SystemExit as exc:  # --help, --version, usage errors (message already printed)
            return exc.code if isinstance(exc.code, int) else 2
        command = f"geosym {args.command}"
        progress.label = command
        args.progress = progress
        try:
            threads = blas_threads(args.threads)
            if threads is not None:
                limit_blas_threads(threads)
            return int(args.run(args) or 0)
        except (ValueError, TypeError, NumericalError, OSError, MemoryError) as exc:
            print(f"{command}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        done = "; completed: " + ", ".join(progress.completed) if progress.completed else ""
        print(
            f"{command}: interrupted after {progress.elapsed():.1f} s{done}",
            file=sys.stderr,
        )
        return 130

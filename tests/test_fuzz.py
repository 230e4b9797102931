"""Fuzz test (issue 16 §6): random, mostly invalid argument combinations for every CLI command and
the main public functions, each call in a forked worker under a memory cap and a time limit.

Asserted for the CLI (in-process ``geosym.cli.main``): an exit status of 0 (1 for ``report``,
whose checks may fail) or 2 with exactly one ``geosym ...: error: ...`` line on stderr; no
traceback; for ``--json`` runs that succeed, stdout is strict JSON (no ``NaN``/``Infinity``).
For the API: a result, or ``ValueError``/``TypeError``/``geosym.NumericalError``/``geosym.ResourceError``. Any other
exception, a crash of the worker, or a call over the time limit fails the test.

Default run: a fixed (derandomised) set of examples (50 CLI, 40 API; ``GEOSYM_FUZZ_CLI_DEFAULT``,
``GEOSYM_FUZZ_API_DEFAULT``) within about a minute. Long run, random
examples: ``GEOSYM_FUZZ_EXAMPLES=10000 pytest -m slow tests/test_fuzz.py`` (the slow tests take
their example count from that variable, default 10 000). ``GEOSYM_FUZZ_TIMEOUT`` (seconds per
call, default 20: the issue's 10 s target with a margin for a loaded 2-core machine) and
``GEOSYM_FUZZ_MEMORY_GB`` (address-space cap, default 3) tune the limits.

``report`` runs its argument handling, folder handling and JSON for real, with each section
replaced by a stub (a real section takes minutes; tests/test_report.py runs them).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geosym.cli import build_parser
from geosym.errors import NumericalError, ResourceError

TIMEOUT = float(os.environ.get("GEOSYM_FUZZ_TIMEOUT", "20"))
MEMORY = int(float(os.environ.get("GEOSYM_FUZZ_MEMORY_GB", "3")) * 2**30)
LONG = int(os.environ.get("GEOSYM_FUZZ_EXAMPLES", "10000"))
FORK = hasattr(os, "fork")

pytestmark = pytest.mark.skipif(not FORK, reason="the fuzz workers need os.fork")


# ---------------------------------------------------------------------------------------------
# the worker: fork, cap memory, run, report back through a file
# ---------------------------------------------------------------------------------------------
def _in_worker(fn, timeout: float = TIMEOUT) -> dict:
    """Run ``fn()`` (returns a picklable dict) in a forked child with the memory cap; the
    parent kills it after ``timeout`` seconds and reports ``{"timeout": True}``."""
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
        result_path = fh.name
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                result = {
                    "raised": type(exc).__name__,
                    "message": str(exc)[:500],
                    "traceback": traceback.format_exc()[-3000:],
                }
            with open(result_path, "wb") as out:
                pickle.dump(result, out)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.unlink(result_path)
            return {"timeout": True}
        time.sleep(0.01)
    try:
        with open(result_path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError):
        return {"crashed": os.waitstatus_to_exitcode(status)}
    finally:
        os.unlink(result_path)


def _cli_call(argv: list[str], workdir: str):
    def run() -> dict:
        import io
        from contextlib import redirect_stderr, redirect_stdout

        import geosym.report as report
        from geosym.cli import main

        def stub(sec, out, *args):
            sec.checks.append(report.Check("stub", float("nan"), "-", True))

        for key, (title, _) in list(report.SECTIONS.items()):
            report.SECTIONS[key] = (title, stub)
        os.chdir(workdir)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(argv)
        return {"rc": rc, "out": out.getvalue()[-200_000:], "err": err.getvalue()[-5000:]}

    return run


# ---------------------------------------------------------------------------------------------
# argument grammar, read from the parser itself (a new flag is fuzzed without editing this file)
# ---------------------------------------------------------------------------------------------
def _commands() -> dict[str, tuple[list, list]]:
    """``{"fim": (positionals, options), "ot distance": ...}``; options as argparse actions."""
    import argparse

    parser = build_parser()
    found: dict[str, tuple[list, list]] = {}

    def walk(p: argparse.ArgumentParser, prefix: str) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if subs:
            for name, child in subs[0].choices.items():
                walk(child, f"{prefix} {name}".strip())
            return
        pos = [a for a in p._actions if not a.option_strings]
        opts = [a for a in p._actions if a.option_strings and a.dest != "help"]
        found[prefix] = (pos, opts)

    walk(parser, "")
    return found


COMMANDS = _commands()

SPECS = [
    "tanh",
    "relu",
    "erf",
    "linear",
    "0",
    "1",
    "x",
    "sign(sin(x))",
    "x**2",
    "exp(x)",
    "tanh(y)",
    "",
    "__import__('os')",
    "x*sigmoid(x)",
    "step",
    "1/x",
    "sqrt(x)",
    "nan",
    "tanh(tanh(tanh(x)))",
    "log(x)",
    "((((x))))",
    "x" * 300,
]
NUMBERS = [
    "0",
    "1",
    "2",
    "3",
    "-1",
    "0.5",
    "-0.5",
    "1e-3",
    "-1e-3",
    "1e300",
    "-1e300",
    "1e-300",
    "nan",
    "inf",
    "-inf",
    "abc",
    "",
    "1,2",
    "2.5",
    "1e9",
    "100000",
    "64",
    "0x10",
]
SMALL_INTS = [
    "1",
    "2",
    "3",
    "4",
    "8",
    "0",
    "-1",
    "-5",
    "2.5",
    "abc",
    "",
    "10",
    "1e3",
    "1000000",
    "100000000",
    "nan",
]
LISTS = [
    "1,1,1",
    "-1,1,1",
    "1,2",
    "0,0,0",
    "a,b",
    "",
    "1;2",
    "0.5,4,3",
    "1,3,0",
    "1,3,-2",
    "0,1,3000",
    "nan,1,3",
    "1,1",
    "1,0;0,1",
    "1;0",
    "2,0;0,2",
    "1e300,1,2",
    "1,2,3,4",
]
INT_DESTS = {
    "depth",
    "width",
    "samples",
    "outputs",
    "seeds",
    "max_steps",
    "seed",
    "K",
    "M",
    "init_n",
    "simulate",
    "fan_in",
    "max_iter",
    "anderson",
    "threads",
}
LIST_DESTS = {"alphas", "sw2", "sb2", "teacher_out", "teacher_cov", "methods", "weights"}


@pytest.fixture(scope="module")
def workdir():
    """Input files of every kind the ``ot`` commands may be given, and folders for outputs."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        x = np.linspace(0, 1, 16)
        np.save(root / "p.npy", np.exp(-((x - 0.3) ** 2) / 0.01) + 1e-3)
        np.save(root / "q.npy", np.exp(-((x - 0.7) ** 2) / 0.01))
        np.save(root / "img.npy", np.outer(x, x) + 0.1)
        np.save(root / "zeros.npy", np.zeros(16))
        np.save(root / "neg.npy", -np.ones(16))
        np.save(root / "nan.npy", np.full(16, np.nan))
        np.save(root / "complex.npy", x + 1j)
        np.save(root / "cube.npy", np.ones((2, 2, 2)))
        np.save(root / "cost.npy", np.subtract.outer(x, x) ** 2)
        np.save(root / "strings.npy", np.array(["a", "b"]))
        (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
        (root / "text.npy").write_text("not numpy")
        (root / "folder").mkdir()
        import matplotlib.image

        matplotlib.image.imsave(root / "ring.png", np.outer(x, x), cmap="gray")
        yield str(root)


FILES = [
    "p.npy",
    "q.npy",
    "img.npy",
    "zeros.npy",
    "neg.npy",
    "nan.npy",
    "complex.npy",
    "cube.npy",
    "cost.npy",
    "strings.npy",
    "bad.png",
    "text.npy",
    "ring.png",
    "missing.npy",
    "folder",
    "p.txt",
]
OUTPUTS = [
    "out.png",
    "folder",
    "folder/",
    "name",
    "x.txt",
    "missing/x.png",
    "out.npy",
    "out.pdf",
    "/proc/x.png",
    "rep",
    "p.npy",
]


def _value(action) -> st.SearchStrategy[str]:
    dest = action.dest
    if action.choices:
        return st.sampled_from([*map(str, action.choices), "bogus"])
    if dest in ("plot", "out", "tex"):
        return st.sampled_from(OUTPUTS)
    if dest == "cost":
        return st.sampled_from(FILES)
    if dest == "activation":
        return st.sampled_from(SPECS)
    if dest in LIST_DESTS:
        return st.sampled_from(LISTS + NUMBERS[:4])
    if dest in INT_DESTS:
        return st.sampled_from(SMALL_INTS)
    return st.sampled_from(NUMBERS)


@st.composite
def cli_argv(draw) -> list[str]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    positionals, options = COMMANDS[command]
    argv = command.split()
    for action in positionals:
        if action.dest in ("p", "q", "inputs"):
            n = draw(st.integers(1, 3)) if action.nargs == "+" else 1
            argv += [draw(st.sampled_from(FILES)) for _ in range(n)]
        else:
            argv.append(draw(st.sampled_from(SPECS)))
    chosen = draw(st.lists(st.sampled_from(options), max_size=6, unique_by=lambda a: a.dest))
    for action in chosen:
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(flag)
        else:
            argv += [flag, draw(_value(action))]
    if any("--json" in a.option_strings for a in options) and draw(st.booleans()):
        argv.append("--json")
    return argv


PROGRESS = re.compile(r"geosym [\w -]+: \[ *[\d.]+ s\] ")  # progress lines on stderr


def _check_cli(argv: list[str], result: dict) -> None:
    assert not result.get("timeout"), f"no answer within {TIMEOUT:g} s: geosym {' '.join(argv)}"
    assert "crashed" not in result, f"worker crashed ({result}): geosym {' '.join(argv)}"
    assert "raised" not in result, (
        f"geosym {' '.join(argv)} raised {result.get('raised')}: {result.get('traceback')}"
    )
    rc, out, err = result["rc"], result["out"], result["err"]
    allowed = {0, 2} | ({1} if argv[0] == "report" else set())
    assert rc in allowed, f"exit {rc}: geosym {' '.join(argv)}\n{err}"
    assert "Traceback" not in err, f"traceback: geosym {' '.join(argv)}\n{err}"
    if rc == 2:
        lines = [ln for ln in err.strip().splitlines() if not PROGRESS.match(ln)]
        assert len(lines) == 1 and "error:" in lines[0], f"geosym {' '.join(argv)}:\n{err}"
    elif "--json" in argv and out.strip():

        def bad(token):
            raise AssertionError(f"{token} in the JSON of geosym {' '.join(argv)}")

        json.loads(out, parse_constant=bad)


def _fuzz_cli(workdir: str, argv: list[str]) -> None:
    _check_cli(argv, _in_worker(_cli_call(argv, workdir)))


# default run: derandomised, sized to stay within about a minute on a loaded 2-core machine
CLI_EXAMPLES = int(os.environ.get("GEOSYM_FUZZ_CLI_DEFAULT", "50"))
API_EXAMPLES = int(os.environ.get("GEOSYM_FUZZ_API_DEFAULT", "40"))


def _default(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


LONG_RUN = settings(max_examples=LONG, deadline=None, suppress_health_check=list(HealthCheck))


@_default(CLI_EXAMPLES)
@given(argv=cli_argv())
def test_fuzz_cli(workdir, argv):
    _fuzz_cli(workdir, argv)


@pytest.mark.slow
@LONG_RUN
@given(argv=cli_argv())
def test_fuzz_cli_long(workdir, argv):
    _fuzz_cli(workdir, argv)


# ---------------------------------------------------------------------------------------------
# the API
# ---------------------------------------------------------------------------------------------
_REALS = st.sampled_from(
    [0.0, 1.0, 2.0, 3.0, -1.0, 0.5, 1e-3, 1e300, -1e300, float("nan"), float("inf"), 1e-300]
)
_INTS = st.sampled_from([1, 2, 3, 0, -1, 10, 2.5, 10**9, True, "3", None])
_SPEC = st.sampled_from(SPECS + [None, 3, ["tanh"]])
_ARRAY = st.sampled_from(
    [
        np.array([0.5, 0.5]),
        np.array([1.0, 0.0]),
        np.array([0.2, 0.3, 0.5]),
        np.zeros(2),
        np.array([np.nan, 1.0]),
        np.array([1 + 1j, 1.0]),
        np.ones((2, 2)) / 4,
        np.array([]),
        np.array([-1.0, 2.0]),
        [0.5, 0.5],
        "ab",
        None,
    ]
)
_COV = st.sampled_from(
    [
        [[1.0]],
        [[1.0, 0.3], [0.3, 2.0]],
        [[1.0, 2.0], [2.0, 1.0]],
        [[0.0]],
        [[-1.0]],
        [[np.nan]],
        [[1e300]],
        [1.0],
        "x",
        [[1.0, 0.5], [0.4, 1.0]],
    ]
)


def _api_cases():
    import geosym as gs

    def mean_field(spec, sw2, sb2, depth):
        mf = gs.MeanField(spec, sw2, sb2)
        return mf.fixed_point(), mf.depth_scales()

    def phase(spec, lo, hi, n):
        return gs.MeanField(spec, 1.0, 0.0).phase_diagram(np.linspace(0.5, 2, 3), [lo, hi][:n])

    def committee(spec, k, eta, alpha):
        return gs.CommitteeODE(spec, k, k, eta=eta).integrate(alpha)

    def transport(a, b, reg, n):
        return gs.sinkhorn(a, b, gs.Grid((len(np.atleast_1d(a)),)), reg, max_iter=n)

    def bary(a, b, reg, method):
        return gs.barycenter([a, b], gs.Grid((len(np.atleast_1d(a)),)), reg, method=method)

    return {
        "activation": (gs.activation, st.tuples(_SPEC)),
        "expect": (lambda f, c: float(gs.expect(f, c)), st.tuples(_SPEC, _COV)),
        "MeanField": (mean_field, st.tuples(_SPEC, _REALS, _REALS, _INTS)),
        "phase_diagram": (phase, st.tuples(_SPEC, _REALS, _REALS, st.sampled_from([1, 2]))),
        "fim_statistics": (
            lambda s, w, b, d, m: gs.fim_statistics(s, w, b, d, m).to_dict(),
            st.tuples(_SPEC, _REALS, _REALS, _INTS, _INTS),
        ),
        "unit_fisher": (
            lambda s, w, b: gs.unit_fisher(s, w, b).to_dict(),
            st.tuples(_SPEC, _ARRAY, _REALS),
        ),
        "one_step_learning_rates": (
            lambda s, d, m, n: gs.one_step_learning_rates(s, d, m, n).to_dict(),
            st.tuples(_SPEC, _INTS, _INTS, _INTS),
        ),
        "CommitteeODE": (committee, st.tuples(_SPEC, _INTS, _REALS, _REALS)),
        "Grid": (
            lambda s: gs.Grid(s),
            st.tuples(
                st.sampled_from([(4,), (4, 4), (0,), (-1,), (4.5,), (), "ab", None, (10**12,), [3]])
            ),
        ),
        "sinkhorn": (transport, st.tuples(_ARRAY, _ARRAY, _REALS, _INTS)),
        "barycenter": (
            bary,
            st.tuples(
                _ARRAY, _ARRAY, _REALS, st.sampled_from(["entropic", "debiased", "sharp", "x"])
            ),
        ),
    }


API = _api_cases()
DOCUMENTED = (ValueError, TypeError, NumericalError, ResourceError)


def _api_call(name: str, args: tuple):
    fn = API[name][0]

    def run() -> dict:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fn(*args)
            except DOCUMENTED as exc:
                return {"documented": type(exc).__name__}
        return {"ok": True}

    return run


@pytest.fixture(scope="module")
def warm():
    """Build the kernels the cases use most in the parent: every forked worker inherits them
    (otherwise each worker compiles its own, seconds apiece)."""
    import geosym as gs
    from geosym.committee import integral_provider

    for spec in ("tanh", "relu", "erf", "x", "0", "1"):
        gs.MeanField(spec, 1.0, 0.0)
        integral_provider(spec)


@st.composite
def api_call(draw):
    name = draw(st.sampled_from(sorted(API)))
    return name, draw(API[name][1])


def _fuzz_api(call) -> None:
    name, args = call
    result = _in_worker(_api_call(name, args))
    what = f"{name}{args!r}"
    assert not result.get("timeout"), f"no answer within {TIMEOUT:g} s: {what}"
    assert "crashed" not in result, f"worker crashed ({result}): {what}"
    assert "raised" not in result, f"{what} raised {result['raised']}: {result['traceback']}"


@_default(API_EXAMPLES)
@given(call=api_call())
def test_fuzz_api(warm, call):
    _fuzz_api(call)


@pytest.mark.slow
@LONG_RUN
@given(call=api_call())
def test_fuzz_api_long(warm, call):
    _fuzz_api(call)

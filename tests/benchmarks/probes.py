"""Reliability probes of issue 16: every CLI command and main API function, hostile inputs.

Run on demand (not part of the test run)::

    python tests/benchmarks/probes.py OUT_DIR [--jobs 2] [--timeout 30] [--only SUBSTRING]

Each probe runs in a child forked from the harness (geosym imported once, so a probe costs its
own work, not the import) with an 8 GB address-space cap (``RLIMIT_AS``) and a time limit
(30 s; those over 10 s are listed apart). Probes are generated from tables (base call x argument
x hostile value), plus every concrete example named in issue 16, whose known answers are checked ("silent wrong").

Classification

* CLI: ``clean`` (exit 2, exactly one ``error:`` line on stderr besides progress lines),
  ``ok`` (exit 0; strict JSON where ``--json`` is given; checked answer right), ``bad-json``,
  ``non-finite`` (nan/inf in the output where a number is expected), ``wrong`` (a checked
  answer is off), ``traceback``, ``other-exit``, ``hang`` (timeout, nothing on stderr),
  ``slow-with-progress`` (timeout while progress lines were being printed).
* API: ``clean`` (a geosym error -- NumericalError, its subclasses, ResourceError -- or
  ValueError/TypeError), ``ok``, ``non-finite``, ``wrong``, ``raw`` (any other exception),
  ``hang``.

Writes ``OUT_DIR/summary.json`` (counts per kind and category, slow probes, every non-clean
probe) and ``OUT_DIR/probes.jsonl`` (one record per probe), and prints the counts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AS_LIMIT = 8 << 30
SLOW = 10.0

# -- hostile values ---------------------------------------------------------------------------
FLOATS = ["nan", "inf", "-1", "0", "1e300"]
INTS = ["0", "-1", "1e9", "100000"]
SPECS = [
    "0",
    "1",
    "x",
    "sign(sin(x))",
    "__import__('os').system('true')",
    "x**",
    "",
    "exp(exp(exp(x)))",
    "tanh(" * 10 + "x" + ")" * 10,
    "y",
    "1/x",
    "log(x)",
    "x**1000000",
    "step",
]
GRIDS = ["1,3,0", "1,3,1", "3,1,5", "nan,1,3", "1,inf,3", "a,b,c", "1,2", "0,1,3000"]

# -- the issue's concrete examples, with their answers where known -----------------------------
# check: a Python expression over `out` (stdout text) and `js` (parsed JSON or None) for the
# CLI, over `result` for the API; True means correct.
ISSUE_CLI = [
    (["phase", "relu", "--json"], "all(abs(b - 2) < 1e-6 for b in js['boundary'])"),
    (["phase", "x", "--json"], "all(abs(b - 1) < 1e-6 for b in js['boundary'])"),
    (["derive", "sign(sin(x))"], "not ('no closed form' in out and 'method: undefined' in out)"),
    (["derive", "0", "--json"], None),
    (
        [
            "fim",
            "relu",
            "--sigma-w2",
            "2",
            "--sigma-b2",
            "0",
            "--depth",
            "3",
            "--width",
            "100",
            "--simulate",
            "--seeds",
            "1",
            "--json",
        ],
        None,
    ),
    (
        [
            "fim",
            "relu",
            "--sigma-w2",
            "2",
            "--sigma-b2",
            "0",
            "--depth",
            "3",
            "--width",
            "100",
            "--simulate",
            "--seeds",
            "1",
        ],
        "'nan' not in out",
    ),
    (
        ["committee", "erf", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "20", "--json"],
        None,
    ),
    (
        ["committee", "erf", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "20"],
        "'nan' not in out",
    ),
    (["derive", "tanh(" * 10 + "x" + ")" * 10], None),
    (["derive", "tanh(" * 8 + "x" + ")" * 8], None),
    (["committee", "erf", "-K", "2", "-M", "2", "--eta", "1e6", "--alpha-max", "50"], None),
    (
        [
            "fim",
            "relu",
            "--sigma-w2",
            "2",
            "--sigma-b2",
            "0",
            "--depth",
            "1000000",
            "--width",
            "100",
        ],
        None,
    ),
    (
        [
            "fim",
            "0",
            "--sigma-w2",
            "1",
            "--sigma-b2",
            "0",
            "--depth",
            "3",
            "--width",
            "50",
            "--simulate",
        ],
        None,
    ),
    (["ngd", "0", "--depth", "2", "--width", "32"], None),
    (["ngd", "tanh", "--depth", "2", "--width", "128", "--sigma-w2", "0"], None),
    (
        [
            "fim",
            "relu",
            "--sigma-w2",
            "2",
            "--sigma-b2",
            "0",
            "--depth",
            "3",
            "--width",
            "20000",
            "--simulate",
        ],
        None,
    ),
    (["committee", "erf", "-K", "200", "-M", "2", "--eta", "0.5", "--alpha-max", "1"], None),
    (["unit-fisher", "relu", "--w-norm", "1", "--fan-in", "20000", "--matrix"], None),
    (
        [
            "fim",
            "relu",
            "--sigma-w2",
            "2",
            "--sigma-b2",
            "0",
            "--depth",
            "3",
            "--width",
            "100000",
            "--simulate",
        ],
        None,
    ),
    (
        [
            "fim",
            "relu",
            "--sigma-w2",
            "2",
            "--sigma-b2",
            "0",
            "--depth",
            "3",
            "--width",
            "100",
            "--samples",
            "100000",
            "--simulate",
        ],
        None,
    ),
    (
        [
            "fim",
            "relu",
            "--sigma-w2",
            "2",
            "--sigma-b2",
            "0",
            "--depth",
            "3",
            "--width",
            "100",
            "--outputs",
            "100000",
            "--simulate",
        ],
        None,
    ),
    (["phase", "relu", "--sw2", "0.5,4,3000", "--sb2", "0.01,1,3000"], None),
    (["ngd", "tanh", "--depth", "2", "--width", "128", "--max-steps", "1e9"], None),
    (["ngd", "tanh", "--depth", "2", "--width", "128", "--max-steps", "1e8"], None),
    (
        [
            "committee",
            "erf",
            "-K",
            "2",
            "-M",
            "2",
            "--eta",
            "0.5",
            "--alpha-max",
            "5",
            "--simulate",
            "100000000",
        ],
        None,
    ),
    (["committee", "sign", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "5"], None),
    (["committee", "x", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "5"], None),
    (["committee", "0", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "5"], None),
    (
        [
            "committee",
            "erf",
            "-K",
            "2",
            "-M",
            "2",
            "--eta",
            "0.5",
            "--alpha-max",
            "5",
            "--simulate",
            "200",
            "--seeds",
            "1",
        ],
        "'nan' not in out",
    ),
    (
        [
            "fim",
            "relu",
            "--sigma-w2",
            "2",
            "--sigma-b2",
            "0",
            "--depth",
            "3",
            "--width",
            "100",
            "--alphas=-1,1,1",
        ],
        None,
    ),
    (["report", "--json", "--section", "transport", "--out", "{tmp}/rep"], None),
    (["--version"], "out.strip() != ''"),
    (["ot", "distance", "{tmp}/p.npy", "{tmp}/q.npy", "--extent", "1e200"], None),
    (["ot", "distance", "{tmp}/corrupt.png", "{tmp}/q.npy"], None),
    (["ot", "distance", "{tmp}/big.npy", "{tmp}/big.npy"], None),
    (["ot", "distance", "{tmp}/complex.npy", "{tmp}/q.npy"], None),
    (
        ["ot", "divergence", "{tmp}/p.npy", "{tmp}/q.npy", "--reg", "1e300", "--json"],
        "js is not None and abs(js.get('divergence', js.get('value', 0))) < 1e6",
    ),
]
for _cmd in (
    ["phase", "relu", "--sw2", "1,3,3", "--sb2", "0.1,0.2,2"],
    ["ot", "distance", "{tmp}/p.npy", "{tmp}/q.npy"],
    ["ot", "divergence", "{tmp}/p.npy", "{tmp}/q.npy"],
    ["committee", "erf", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "5"],
):
    ISSUE_CLI.append(([*_cmd, "--plot", "{tmp}/plotdir"], "plotdir_ok"))
ISSUE_CLI.append(
    (["ot", "barycenter", "{tmp}/p.npy", "{tmp}/q.npy", "--out", "{tmp}/bary"], "bary_ok")
)

ISSUE_API = [
    (
        "MeanField('relu', 1, 0).phase_diagram(np.linspace(1.9, 2.1, 3), [0.1]).boundary",
        "abs(result[0] - 2) < 1e-6",
    ),
    (
        "float(gs.expect(['cos(20*x)*tanh(x)**2'], [[1.0]]).evalf(25))",
        "abs(result - (-3.6e-12)) < 1e-13",
    ),
    ("float(gs.expect(['cos(40*x)*tanh(x)**2'], [[1.0]]).evalf(25))", "abs(result) < 1e-20"),
    (
        "sinkhorn_divergence(np.full(20, 1/20), np.arange(1.0, 21.0)/210, Grid((20,)), 1e12)",
        "abs(result / _mmd() - 1) < 1e-6",
    ),
    (
        "sinkhorn_divergence(np.full(20, 1/20), np.arange(1.0, 21.0)/210, Grid((20,)), 1e16)",
        "abs(result / _mmd() - 1) < 1e-6",
    ),
    ("MeanField('0', 1.0, 0.1).depth_scales()", "result.xi_q == 0 and result.xi_c == 0"),
    ("MeanField('1', 1.0, 0.1).depth_scales()", "result.xi_q == 0 and result.xi_c == 0"),
    ("Grid((64.5,))", None),
    ("unit_fisher('tanh', [1.0, 0.0], 0.0).solve(np.array([np.nan, 1.0, 1.0]))", None),
    ("MeanField('0', 1.0, 0.1).fixed_point()", None),
    ("simulate('erf(x/sqrt(2))', 100, 2, 2, alpha_max=1, chunk=0)", None),
    ("float(gs.expect([gs.activation(sp.Symbol('x')**10**6)], [[1.0]]))", None),
    ("CommitteeODE('erf(x/sqrt(2))', 50, 50, eta=0.5).integrate(1)", None),
    ("CommitteeODE('erf(x/sqrt(2))', 2, 2, eta=0.5).integrate(1, N=1)", None),
    ("CommitteeODE('erf(x/sqrt(2))', 2, 2, eta=0.5).integrate(1, atol=-1)", None),
    ("simulate('erf(x/sqrt(2))', 100, 2, 2, alpha_max=1, test_size=-1)", None),
    ("MeanField(sp.Symbol('x'), 1.0, 0.0).fixed_point()", None),
    (
        "MLP.random([3, 5, 1], 'tanh', 1.0, 0.0, seed=0).train(np.full((4, 3), 1e300), "
        "np.zeros((4, 1)), steps=3)",
        None,
    ),
    ("MLP.random([40000, 40000, 1], 'tanh', 1.0, 0.0, seed=0)", None),
    ("Grid((10**5,))", None),
    (
        "sinkhorn(np.full(90000, 1/90000), np.full(90000, 1/90000), Grid((300, 300)), 0.1).plan",
        None,
    ),
    ("CommitteeODE('softplus', 8, 8, eta=0.5).integrate(1)", None),
    ("CommitteeODE('relu', 10, 10, eta=0.5).integrate(1)", None),
    (
        "MeanField('relu', 1, 0).phase_diagram(np.linspace(0.1, 3, 3000), np.linspace(0, 1, 3000))",
        None,
    ),
]

# -- table-driven CLI variants: base call, then each option replaced by hostile values --------
CLI_BASES = {
    "derive": (["derive", "{spec}"], {"--sigma-w2": FLOATS, "--sigma-b2": FLOATS}),
    "fim": (
        ["fim", "{spec}", "--sigma-w2", "2", "--sigma-b2", "0.1", "--depth", "3", "--width", "50"],
        {
            "--sigma-w2": FLOATS,
            "--sigma-b2": FLOATS,
            "--depth": INTS,
            "--width": INTS,
            "--outputs": INTS,
            "--samples": INTS,
            "--alphas": ["1,1", "a,b,c", "nan,1,1", "0,0,0"],
            "--seeds": INTS,
        },
    ),
    "phase": (
        ["phase", "{spec}", "--sw2", "1,3,5", "--sb2", "0.1,0.5,3"],
        {"--sw2": GRIDS, "--sb2": GRIDS, "--max-seconds": FLOATS},
    ),
    "ngd": (
        ["ngd", "{spec}", "--depth", "2", "--width", "32", "--samples", "8", "--methods", "gd,ngd"],
        {
            "--depth": INTS,
            "--width": INTS,
            "--samples": INTS,
            "--outputs": INTS,
            "--sigma-w2": FLOATS,
            "--sigma-b2": FLOATS,
            "--threshold": FLOATS,
            "--max-steps": INTS,
            "--methods": ["", "sgd", "gd,,ngd", "kfac"],
        },
    ),
    "unit-fisher": (
        ["unit-fisher", "{spec}", "--w-norm", "1"],
        {
            "--w-norm": FLOATS,
            "--bias": FLOATS,
            "--fan-in": INTS,
            "--input-mean": FLOATS,
            "--input-var": FLOATS,
        },
    ),
    "committee": (
        ["committee", "{spec}", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "5"],
        {
            "-K": INTS,
            "-M": INTS,
            "--outputs": INTS,
            "--eta": FLOATS,
            "--eta-v": FLOATS,
            "--noise": FLOATS,
            "--weight-decay": FLOATS,
            "--alpha-max": FLOATS,
            "--rtol": FLOATS,
            "--teacher-out": ["1;1;1", "a", "nan;1", "1,2;3"],
            "--teacher-cov": ["1", "-1", "nan"],
            "--simulate": INTS,
            "--seeds": INTS,
            "-N": INTS,
        },
    ),
    "ot-distance": (
        ["ot", "distance", "{tmp}/p.npy", "{tmp}/q.npy"],
        {
            "--reg": FLOATS,
            "--extent": FLOATS,
            "--tol": FLOATS,
            "--max-iter": INTS,
            "--eps-scaling": FLOATS + ["none"],
            "--cost": ["{tmp}/missing.npy", "{tmp}/bad_cost.npy", "{tmp}/text.txt"],
        },
    ),
    "ot-divergence": (
        ["ot", "divergence", "{tmp}/p.npy", "{tmp}/q.npy"],
        {
            "--reg": FLOATS,
            "--extent": FLOATS,
            "--tol": FLOATS,
            "--max-iter": INTS,
            "--kind": ["ako", "x"],
        },
    ),
    "ot-barycenter": (
        ["ot", "barycenter", "{tmp}/p.npy", "{tmp}/q.npy"],
        {
            "--reg": FLOATS,
            "--tol": FLOATS,
            "--max-iter": INTS,
            "--anderson": INTS,
            "--q-tol": FLOATS,
            "--method": ["entropic", "sharp", "x"],
            "--out": ["{tmp}/file.npy/x.npy", "{tmp}", "/proc/nope/b.npy"],
        },
    ),
}
FILES = [
    "missing.npy",
    "empty.npy",
    "nan.npy",
    "neg.npy",
    "zeros.npy",
    "complex.npy",
    "text.txt",
    "corrupt.png",
    "p2d.npy",
    "obj.npy",
    "img.png",
    "str.npy",
]
OUTPUTS = ["{tmp}/file.npy/x.png", "/proc/nope/x.png", "{tmp}/plotdir", "{tmp}/new/sub/x.png"]


def cli_probes() -> list[dict]:
    probes = [
        {"kind": "cli", "argv": argv, "check": check, "group": "issue"} for argv, check in ISSUE_CLI
    ]
    for name, (base, options) in CLI_BASES.items():
        spec_base = [a.replace("{spec}", "tanh") for a in base]
        probes.append({"kind": "cli", "argv": spec_base, "group": name})
        probes.append({"kind": "cli", "argv": [*spec_base, "--json"], "group": name})
        if "{spec}" in base:
            probes += [
                {"kind": "cli", "argv": [a.replace("{spec}", s) for a in base], "group": name}
                for s in (SPECS if name == "derive" else SPECS[:5])
            ]
        for opt, values in options.items():
            probes += [
                {"kind": "cli", "argv": [*spec_base, f"{opt}={v}"], "group": name} for v in values
            ]
        if name.startswith("ot-"):
            for f in FILES:
                argv = list(spec_base)
                argv[2] = "{tmp}/" + f
                probes.append({"kind": "cli", "argv": argv, "group": name})
            probes.append(
                {
                    "kind": "cli",
                    "argv": [*spec_base[:2], "{tmp}/p.npy", "{tmp}/p3.npy"],
                    "group": name,
                }
            )
        if name in ("fim", "phase", "ngd", "committee", "ot-distance", "ot-divergence"):
            extra = ["--simulate", "--seeds", "1"] if name == "fim" else []
            probes += [
                {"kind": "cli", "argv": [*spec_base, *extra, "--plot", o], "group": name}
                for o in OUTPUTS
            ]
    probes += [
        {"kind": "cli", "argv": ["derive", "tanh", "--tex", o], "group": "derive"} for o in OUTPUTS
    ]
    probes += [
        {"kind": "cli", "argv": ["report", "--out", o, "--section", "transport"], "group": "report"}
        for o in ("{tmp}/file.npy/rep", "/proc/nope/rep")
    ]
    probes += [
        {"kind": "cli", "argv": argv, "group": "report"}
        for argv in (
            ["report", "--section", "nope"],
            [
                "report",
                "--activation",
                "__import__('os')",
                "--out",
                "{tmp}/rep2",
                "--section",
                "transport",
            ],
            ["report", "--workers", "-1", "--full", "--out", "{tmp}/rep3"],
            ["report", "--quick", "--full"],
        )
    ]
    probes += [
        {"kind": "cli", "argv": argv, "group": "sweep"}
        for argv in (
            ["sweep", "run", "{tmp}/missing.yaml", "--store", "{tmp}/s.db"],
            ["sweep", "run", "{tmp}/text.txt", "--store", "{tmp}/s.db"],
            ["sweep", "run", "{tmp}/p.npy", "--store", "{tmp}/s.db"],
            ["sweep", "status", "{tmp}/missing.db"],
            ["sweep", "status", "{tmp}/text.txt"],
            ["sweep", "export", "{tmp}/missing.db", "--csv", "{tmp}/x.csv"],
            ["sweep", "plot", "{tmp}/missing.db", "--x", "a", "--y", "b"],
            ["sweep"],
            ["sweep", "run"],
            ["sweep", "status", "/proc/nope/s.db"],
        )
    ]
    probes += [
        {"kind": "cli", "argv": argv, "group": "global"}
        for argv in (
            [],
            ["nope"],
            ["--threads", "0", "derive", "relu"],
            ["--threads", "abc", "derive", "relu"],
            ["--threads", "100000", "derive", "relu"],
            ["derive"],
            ["fim", "relu"],
            ["ot"],
            ["committee", "erf"],
            ["derive", "relu", "--unknown"],
        )
    ]
    return probes


# -- table-driven API variants ---------------------------------------------------------------
BAD_VALUES = ["np.nan", "-1", "0", "1e300", "'abc'", "None", "np.array([])"]
API_BASES = {
    "activation": ("gs.activation({0})", ["'tanh'"]),
    "expect": ("float(gs.expect({0}, {1}))", ["'tanh'", "[[1.0]]"]),
    "MeanField.fixed_point": ("MeanField({0}, {1}, {2}).fixed_point()", ["'tanh'", "1.5", "0.1"]),
    "MeanField.depth_scales": ("MeanField({0}, {1}, {2}).depth_scales()", ["'tanh'", "1.5", "0.1"]),
    "phase_diagram": (
        "MeanField('tanh', 1, 0).phase_diagram({0}, {1})",
        ["np.linspace(0.5, 3, 5)", "[0.1, 0.5]"],
    ),
    "fim_statistics": (
        "gs.fim_statistics({0}, {1}, {2}, depth={3}, width={4}, outputs={5}, samples={6})",
        ["'relu'", "2.0", "0.1", "3", "100", "1", "10"],
    ),
    "unit_fisher": (
        "unit_fisher({0}, {1}, {2}, {3}, {4}).matrix(3)",
        ["'tanh'", "[1.0, 0.0]", "0.0", "0.0", "1.0"],
    ),
    "CommitteeODE.integrate": (
        "CommitteeODE({0}, {1}, {2}, eta={3}).integrate({4}, seed=0)",
        ["'erf(x/sqrt(2))'", "2", "2", "0.5", "5.0"],
    ),
    "simulate": (
        "simulate({0}, {1}, {2}, {3}, eta={4}, alpha_max={5})",
        ["'erf(x/sqrt(2))'", "100", "2", "2", "0.5", "2.0"],
    ),
    "MLP.random": ("MLP.random({0}, {1}, {2}, {3}, seed=0)", ["[3, 5, 1]", "'tanh'", "1.0", "0.1"]),
    "MLP.train": (
        "MLP.random([3, 5, 1], 'tanh', 1.0, 0.1, seed=0).train({0}, {1}, eta={2}, steps={3})",
        ["np.ones((4, 3))", "np.zeros((4, 1))", "0.1", "10"],
    ),
    "sinkhorn": (
        "sinkhorn({0}, {1}, Grid((4,)), {2}).cost",
        ["np.full(4, 0.25)", "np.array([0.1, 0.2, 0.3, 0.4])", "0.1"],
    ),
    "sinkhorn_divergence": (
        "sinkhorn_divergence({0}, {1}, Grid((4,)), {2})",
        ["np.full(4, 0.25)", "np.array([0.1, 0.2, 0.3, 0.4])", "0.1"],
    ),
    "barycenter": (
        "barycenter(np.stack([{0}, {1}]), Grid((4,)), {2}).q",
        ["np.full(4, 0.25)", "np.array([0.1, 0.2, 0.3, 0.4])", "0.1"],
    ),
    "Grid": ("Grid({0}, {1})", ["(4,)", "1.0"]),
}
API_SPECS = [
    "'0'",
    "'1'",
    "'x**'",
    "'__import__(\"os\")'",
    "'y'",
    "'sign(sin(x))'",
    "'exp(exp(exp(x)))'",
]


def api_probes() -> list[dict]:
    probes = [
        {"kind": "api", "code": code, "check": check, "group": "issue"} for code, check in ISSUE_API
    ]
    for name, (template, args) in API_BASES.items():
        probes.append({"kind": "api", "code": template.format(*args), "group": name})
        for i in range(len(args)):
            values = list(BAD_VALUES)
            if args[i].startswith("'") and name not in ("activation",):
                values += API_SPECS[:2]
            elif name == "activation":
                values += API_SPECS
            if "array" in args[i] or "ones" in args[i] or "zeros" in args[i] or "full" in args[i]:
                values += [
                    "np.array([np.nan, 1.0, 1.0, 1.0])",
                    "np.ones((2, 2))",
                    "np.array([1 + 1j, 1, 1, 1])",
                ]
            for v in values:
                bad = list(args)
                bad[i] = v
                probes.append({"kind": "api", "code": template.format(*bad), "group": name})
    return probes


# -- fixtures -------------------------------------------------------------------------------
def make_fixtures(tmp: Path) -> None:
    import numpy as np

    np.save(tmp / "p.npy", np.full(16, 1 / 16))
    np.save(tmp / "q.npy", np.arange(1.0, 17.0) / 136)
    np.save(tmp / "p3.npy", np.full(15, 1 / 15))
    np.save(tmp / "empty.npy", np.zeros(0))
    np.save(tmp / "nan.npy", np.array([np.nan] + [1.0] * 15))
    np.save(tmp / "neg.npy", np.array([-1.0] + [1.0] * 15))
    np.save(tmp / "zeros.npy", np.zeros(16))
    np.save(tmp / "complex.npy", np.full(16, 1 / 16) + 1j)
    np.save(tmp / "p2d.npy", np.full((4, 4), 1 / 16))
    np.save(tmp / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp / "str.npy", np.array(["a", "b"]))
    np.save(tmp / "big.npy", np.full(200_000, 1 / 200_000))
    np.save(tmp / "bad_cost.npy", np.ones((3, 3)))
    (tmp / "text.txt").write_text("not an array\n")
    (tmp / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    (tmp / "file.npy").write_bytes(b"x")
    (tmp / "plotdir").mkdir(exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    img = np.zeros((16, 16))
    img[4:12, 6:10] = 1.0
    matplotlib.image.imsave(tmp / "img.png", img, cmap="gray")


API_PRELUDE = """
import numpy as np, sympy as sp
import geosym as gs
from geosym import MeanField
from geosym.committee import CommitteeODE, simulate
from geosym.natgrad import unit_fisher
from geosym.nn import MLP
from geosym.transport import Grid, barycenter, sinkhorn, sinkhorn_divergence
def _mmd():
    g = Grid((20,)); p, q = np.full(20, 1/20), np.arange(1.0, 21.0)/210; d = p - q
    return -0.5 * d @ g.cost_matrix() @ d
"""


def _api_child(probe: dict) -> None:
    """Evaluate one API probe (in the forked child) and print its record as JSON."""
    import traceback

    import numpy as np

    import geosym.errors as ge

    out: dict = {}
    env: dict = {}
    try:
        exec(API_PRELUDE, env)  # the harness's own fixed prelude, not user input
        result = eval(probe["code"], env)  # the harness's own probe text
        vals = _values(result)
        out.update(status="ok", repr=repr(result)[:300])
        out["nonfinite"] = any(not np.isfinite(v) for v in vals)
        if probe.get("check"):
            try:
                out["correct"] = bool(eval(probe["check"], {**env, "result": result}))
            except Exception as exc:  # noqa: BLE001 - a broken answer is a wrong answer
                out.update(correct=False, check_error=repr(exc)[:300])
    except BaseException as exc:  # noqa: BLE001 - classify everything
        out.update(status="exception", type=f"{type(exc).__module__}.{type(exc).__name__}")
        out["message"] = str(exc)[:500]
        out["clean"] = isinstance(exc, (ge.NumericalError, ge.ResourceError, ValueError, TypeError))
        out["depth"] = len(traceback.extract_tb(exc.__traceback__))
    print("\n@@RESULT@@" + json.dumps(out))


def _values(r, depth: int = 0) -> list:
    import numpy as np

    if depth > 3:
        return []
    if hasattr(r, "to_dict"):
        r = r.to_dict()
    if isinstance(r, dict):
        return [x for v in r.values() for x in _values(v, depth + 1)]
    if isinstance(r, list | tuple):
        return [x for v in r[:1000] for x in _values(v, depth + 1)]
    try:
        return list(np.asarray(r, dtype=complex).ravel()[:100000])
    except Exception:  # noqa: BLE001 - not numeric
        return []


PROGRESS_LINE = re.compile(r"^geosym[\w -]*: \[\s*[\d.]+ s\]")
NONFINITE = re.compile(r"(?<![\w.])(nan|inf|-inf|NaN|Infinity)(?![\w])")


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def _strict_json(text: str):
    def bad(token: str):
        raise ValueError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=bad)


class _Run:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _fork_run(probe: dict, tmp: Path, timeout: float) -> _Run:
    """Run a probe in a forked child of this (geosym already imported) process: address space
    capped, stdout/stderr to files, killed after ``timeout`` (exit status -9)."""
    fd, name = tempfile.mkstemp(dir=tmp, prefix=".out")
    fd2, name2 = tempfile.mkstemp(dir=tmp, prefix=".err")
    pid = os.fork()
    if pid == 0:  # child
        code = 70
        try:
            os.dup2(fd, 1)
            os.dup2(fd2, 2)
            _limit()
            os.chdir(tmp)
            if probe["kind"] == "cli":
                from geosym.cli import main as cli_main

                try:
                    code = cli_main(probe["argv"])
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 2
            else:
                _api_child(probe)
                code = 0
        except BaseException:  # noqa: BLE001 - report as a traceback
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(fd)
    os.close(fd2)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        err = Path(name2).read_text(errors="replace")
        os.unlink(name)
        os.unlink(name2)
        return _Run(-9, "", err)
    out, err = Path(name).read_text(errors="replace"), Path(name2).read_text(errors="replace")
    os.unlink(name)
    os.unlink(name2)
    code = os.waitstatus_to_exitcode(status)
    return _Run(code, out, err)


def run_probe(probe: dict, tmp: Path, timeout: float) -> dict:
    rec = dict(probe)
    if probe["kind"] == "cli":
        rec["argv"] = [a.replace("{tmp}", str(tmp)) for a in probe["argv"]]
    t0 = time.perf_counter()
    run = _fork_run(rec, tmp, timeout)
    if run.returncode == -9:  # timed out: silent, or still showing progress on stderr
        shown = [ln for ln in run.stderr.splitlines() if PROGRESS_LINE.match(ln)]
        rec.update(category="slow-with-progress" if shown else "hang", seconds=timeout)
        rec["stderr"] = run.stderr[-600:]
        return rec
    rec["seconds"] = round(time.perf_counter() - t0, 2)
    rec["exit"] = run.returncode
    rec["stderr"] = run.stderr[-2000:]
    rec["stdout"] = run.stdout[-1500:]
    rec["category"] = (_classify_cli if probe["kind"] == "cli" else _classify_api)(rec, run, tmp)
    return rec


def _classify_cli(rec: dict, run: _Run, tmp: Path) -> str:
    err = [ln for ln in run.stderr.splitlines() if ln.strip() and not PROGRESS_LINE.match(ln)]
    if "Traceback (most recent call last)" in run.stderr:
        return "traceback"
    if run.returncode == 2:
        return "clean" if len(err) == 1 and "error" in err[0] else "unclean-error"
    if run.returncode != 0:
        return "other-exit"
    js = None
    if "--json" in rec["argv"]:
        try:
            js = _strict_json(run.stdout)
        except ValueError as exc:
            rec["why"] = str(exc)[:200]
            return "bad-json"
    check = rec.get("check")
    if check == "plotdir_ok":
        return (
            "ok"
            if any((tmp / "plotdir").glob("*.png"))
            and "written to" in run.stdout
            and str(tmp / "plotdir") + "/" in run.stdout
            else "wrong"
        )
    if check == "bary_ok":
        written = [p for p in tmp.glob("bary*")]
        return "ok" if any(str(p) in run.stdout for p in written) else "wrong"
    if check:
        try:
            good = eval(check, {"out": run.stdout, "js": js, "abs": abs, "all": all})
        except Exception as exc:  # noqa: BLE001 - a broken answer is a wrong answer
            rec["why"] = repr(exc)[:200]
            good = False
        if not good:
            return "wrong"
    if js is None and NONFINITE.search(run.stdout):
        return "non-finite"
    if err:
        rec["warnings"] = err[:5]
    return "ok"


def _classify_api(rec: dict, run: _Run, tmp: Path) -> str:
    marker = run.stdout.rfind("@@RESULT@@")
    if marker < 0:
        return "raw" if run.returncode else "other-exit"
    out = json.loads(run.stdout[marker + len("@@RESULT@@") :])
    rec["result"] = out
    if out["status"] == "exception":
        return "clean" if out["clean"] else "raw"
    if "correct" in out and not out["correct"]:
        return "wrong"
    if out["nonfinite"]:
        return "non-finite"
    if "Warning" in run.stderr:
        rec["warnings"] = run.stderr.strip().splitlines()[-3:]
    return "ok"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder for summary.json and probes.jsonl")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--only", default="", help="run only probes whose text contains this")
    args = ap.parse_args()
    os.environ.update(OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    sys.path.insert(0, str(ROOT))
    import geosym  # noqa: F401 - imported once; every probe forks from here
    import geosym.cli
    import geosym.committee
    import geosym.nn
    import geosym.transport  # noqa: F401

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="geosym-probes-"))
    make_fixtures(tmp)
    probes = cli_probes() + api_probes()
    for i, p in enumerate(probes):
        p["id"] = i
    if args.only:
        probes = [p for p in probes if args.only in json.dumps(p)]
    print(
        f"{len(probes)} probes ({sum(p['kind'] == 'cli' for p in probes)} CLI), "
        f"{args.jobs} jobs, {args.timeout:g} s limit, fixtures in {tmp}",
        flush=True,
    )
    records = []
    with open(out / "probes.jsonl", "w") as log, ThreadPoolExecutor(args.jobs) as pool:
        for k, rec in enumerate(pool.map(lambda p: run_probe(p, tmp, args.timeout), probes)):
            records.append(rec)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if (k + 1) % 100 == 0:
                print(f"  {k + 1}/{len(probes)} done", flush=True)
    counts = {
        kind: dict(Counter(r["category"] for r in records if r["kind"] == kind))
        for kind in ("cli", "api")
    }
    slow = [
        {
            "id": r["id"],
            "seconds": r["seconds"],
            "category": r["category"],
            "probe": r.get("argv") or r.get("code"),
        }
        for r in records
        if r["seconds"] > SLOW and r["category"] != "hang"
    ]
    bad = [
        {
            "id": r["id"],
            "category": r["category"],
            "probe": r.get("argv") or r.get("code"),
            "detail": r.get("result") or r.get("stderr", "")[-400:] or r.get("why"),
        }
        for r in records
        if r["category"] not in ("clean", "ok")
    ]
    summary = {
        "counts": counts,
        "timeout": args.timeout,
        "slow_over_10s": slow,
        "not_clean": bad,
        "total": len(records),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    for kind in ("cli", "api"):
        total = sum(counts[kind].values())
        print(
            f"{kind.upper()} {total} probes: "
            + ", ".join(f"{c} {n}" for c, n in sorted(counts[kind].items(), key=lambda x: -x[1]))
        )
    print(f"over {SLOW:g} s (finished): {len(slow)}; summary in {out / 'summary.json'}")


if __name__ == "__main__":
    main()

"""Benchmark: FIM statistics at real batch sizes, Lanczos route vs the dense route.

Run ``python tests/benchmarks/bench_fim_large.py [--sizes 250 500 1000] [--dense-max 500]``.
Each (route, T) runs in a fresh child process, so its peak resident memory (``ru_maxrss``,
interpreter and libraries included) and its wall time are its own; the table also gives the
tracemalloc peak (NumPy/SciPy arrays only: LAPACK's internal workspace in the dense route is not
seen by it). Wall and CPU time are both printed: on a shared machine the CPU time of the
child (one BLAS thread) is the fairer figure. Asserts nothing about time.

Target (issue: real sample counts): L = 3, M = 1000, C = 10, T = 1000 (P ~ 1.8e6, CT = 10^4,
the Gram is 800 MB) in <= 30 s and <= 2 GB peak on 2 cores. ``method="lanczos"`` builds the Gram
in place block by block and runs ARPACK for the C largest eigenvalues; ``method="gram"`` forms
the Gram from per-layer products and runs a dense ``eigvalsh``. Agreement of the statistics is
printed (relative differences) wherever both routes ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
from geosym.nn import MLP, fim_statistics
M, C, T, method = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
net = MLP.random([M, M, M, C], "tanh", sigma_w2=1.0, sigma_b2=0.0, seed=rng)
X = rng.standard_normal((T, M)) + 0.3   # q2_0 > 0, like raw pixels: C separated outliers
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
tracemalloc.start()
t0, c0 = time.perf_counter(), time.process_time()
st = fim_statistics(net, X, method=method)
sec, cpu = time.perf_counter() - t0, time.process_time() - c0
_, traced = tracemalloc.get_traced_memory()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": sec, "cpu_seconds": cpu, "rss_peak_mb": peak, "rss_before_mb": base,
                  "traced_peak_mb": traced / 2**20, "P": net.n_params,
                  "stats": {k: float(getattr(st, k)) for k in
                            ("m_lambda", "s_lambda", "lambda_max", "lambda_2")}}))
"""


def run(M: int, C: int, T: int, method: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(M), str(C), str(T), method],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--M", type=int, default=1000)
    parser.add_argument("--C", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument(
        "--dense-max",
        type=int,
        default=500,
        help="largest T for the dense route (its eigvalsh is O((CT)^3))",
    )
    args = parser.parse_args()
    print(
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, "
        f"L=3, M={args.M}, C={args.C}; one child process per row"
    )
    print(f"{'T':>6} {'route':>8} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'traced MB':>10}")
    for T in args.sizes:
        res = {}
        for method in ("lanczos", "gram"):
            if method == "gram" and T > args.dense_max:
                continue
            r = res[method] = run(args.M, args.C, T, method)
            print(
                f"{T:>6} {method:>8} {r['seconds']:>8.2f} {r['cpu_seconds']:>8.2f} {r['rss_peak_mb']:>12.0f} "
                f"{r['traced_peak_mb']:>10.0f}"
            )
        if len(res) == 2:
            rel = {
                k: abs(res["lanczos"]["stats"][k] / res["gram"]["stats"][k] - 1)
                for k in res["gram"]["stats"]
            }
            print(
                f"{'':>6} dense/lanczos time ratio {res['gram']['seconds'] / res['lanczos']['seconds']:.2f}; "
                "max rel. difference " + ", ".join(f"{k} {v:.1e}" for k, v in rel.items())
            )


if __name__ == "__main__":
    main()

"""Benchmark of the NGD optimizers (prints medians and ratios; asserts nothing about time).

1. Step cost on L = 3, M = 1000, N = 64, C = 1 (ReLU, then tanh): gd, ngd, ngd-layer, kfac,
   ngd-unit (measured and mean-field blocks), as a ratio to a plain GD step (target for
   ngd-unit: <= 3x), wall and process-CPU medians, methods interleaved round-robin.
2. Exact NGD via the Gram matrix at P ~ 10^6 with N*C up to 1000: seconds per step.

Run: OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_natgrad.py [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import geosym.nn as nn
from geosym.nn import optimizers as opt


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def step_costs(
    width: int = 1000, samples: int = 64, repeats: int = 5, activation: str = "relu"
) -> None:
    """Methods are timed round-robin (one step of each per round, ``repeats`` rounds) so that a
    change of machine load hits all of them alike; wall and process-CPU medians are printed, the
    ratios to gd for both. With other jobs on the machine the CPU ratio is the robust one."""
    sw2 = {"relu": 2.0, "tanh": 3.0}.get(activation, 1.0)
    net = nn.MLP.random([width] * 3 + [1], activation, sw2, 0.1, seed=0)
    X = nn.gaussian_inputs(samples, width, seed=1)
    Y = nn.random_targets(samples, 1, seed=2)
    print(
        f"step cost ({activation}), L=3, M={width}, N={samples}, C=1, P={net.n_params}; "
        f"loadavg {_loadavg()}"
    )
    cases = [
        ("gd", "measured"),
        ("ngd", "measured"),
        ("ngd-layer", "measured"),
        ("kfac", "measured"),
        ("ngd-unit", "measured"),
        ("ngd-unit", "mean-field"),
    ]
    fns = []
    for method, blocks in cases:
        step = opt.make_step(net, method, blocks=blocks)

        def one(step=step):
            cache = net.forward(X, check=False)
            step(cache, Y)

        one()  # warm-up
        fns.append(one)
    wall = [[] for _ in cases]
    cpu = [[] for _ in cases]
    for _ in range(repeats):
        for j, fn in enumerate(fns):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[j].append(time.perf_counter() - t0)
            cpu[j].append(time.process_time() - c0)
    w0, c0 = float(np.median(wall[0])), float(np.median(cpu[0]))
    for (method, blocks), w, c in zip(cases, wall, cpu, strict=True):
        w, c = float(np.median(w)), float(np.median(c))
        name = method + (" (mean-field)" if blocks == "mean-field" else "")
        print(
            f"  {name:<24} wall {w * 1e3:7.1f} ms  cpu {c * 1e3:7.1f} ms   "
            f"ratio to gd: wall {w / w0:5.2f}  cpu {c / c0:5.2f}"
        )
    print(f"  loadavg after: {_loadavg()}")


def exact_ngd_large(width: int = 700, samples: int = 1000, repeats: int = 2) -> None:
    net = nn.MLP.random([width] * 3 + [1], "tanh", 3.0, 0.64, seed=0)
    X = nn.gaussian_inputs(samples, width, seed=1)
    Y = nn.random_targets(samples, 1, seed=2)
    step = opt.make_step(net, "ngd")

    def one():
        cache = net.forward(X, check=False)
        step(cache, Y)

    t = _median_time(one, repeats)
    print(f"exact NGD via Gram, P={net.n_params}, N*C={samples}: median {t:.2f} s per step")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for act in ("relu", "tanh"):
        step_costs(width=300 if quick else 1000, repeats=3 if quick else 7, activation=act)
    exact_ngd_large(width=300 if quick else 700, samples=200 if quick else 1000)

"""Benchmark of geosym.sweep (prints timings and ratios; asserts nothing).

Run: ``OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_sweep.py [--repeat N] [--quick]``.

A 200-point ``fisher-width`` sweep (tanh and erf × 5 sigma_w2 × widths 200, 400 × 10 seeds;
depth 3, 2 outputs, 10 inputs):

1. wall time in this process, no Dask (``workers=0``: the serial baseline) against a local
   cluster of 2 single-threaded worker processes (``LocalCluster``; the cluster start-up is
   timed apart).  Both sides warm up first (one point per activation, so that the mean-field
   kernels are derived before the clock starts).  Target speed-up >= 1.7x on 2 cores.
2. overhead per task: (workers × wall − Σ point compute time) / points, on the same run, and
   the wall time per task of 200 empty tasks through the same path (scheduler round trip,
   result transfer, one SQLite commit); target <= 50 ms.
3. store bytes per point: the store file after the run / points, and the same with the
   results only (minus the store of the same grid with nothing run).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from geosym.experiments.registry import fisher_width
from geosym.sweep import Store, sweep
from geosym.sweep.runner import import_distributed
from geosym.sweep.spec import make_spec

GRID = {
    "activation": ["tanh", "erf"],
    "sigma_w2": [1.5, 2.0, 3.0, 4.0, 5.0],
    "width": [200, 400],
}
FIXED = {"depth": 3, "outputs": 2, "samples": 10, "sigma_b2": 0.1}
SEEDS = 10


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def empty(seed: int, i: int) -> dict:
    """A task that does nothing: what remains of its wall time is overhead."""
    return {"i": i}


def warm() -> None:
    for act in GRID["activation"]:
        fisher_width(act, 1.5, 0.1, 3, 50, 2, 10, seed=0)


def compute_seconds(path: Path) -> float:
    with Store.open(path) as st:
        return st.compute_seconds()


def main(repeat: int, quick: bool) -> None:
    distributed = import_distributed()
    grid = dict(GRID, width=[200]) if quick else GRID
    seeds = 5 if quick else SEEDS
    n = make_spec("fisher-width", grid, seeds=seeds, fixed=FIXED).total
    print(f"{n}-point fisher-width sweep; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
          f"; load average before: {load()} (2 cores, shared)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    warm()
    serial, parallel, overhead_fit, empty_task = [], [], [], []
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    client.run(warm)
    startup = time.perf_counter() - t0
    try:
        for r in range(repeat):
            path = tmp / f"serial-{r}.sqlite"
            t = time.perf_counter()
            sweep("fisher-width", grid, seeds=seeds, fixed=FIXED, store=path, workers=0,
                  progress=False)
            serial.append(time.perf_counter() - t)
            path = tmp / f"dask-{r}.sqlite"
            t = time.perf_counter()
            sweep("fisher-width", grid, seeds=seeds, fixed=FIXED, store=path, client=client,
                  progress=False)
            wall = time.perf_counter() - t
            parallel.append(wall)
            overhead_fit.append((2 * wall - compute_seconds(path)) / n)
            path = tmp / f"empty-{r}.sqlite"
            t = time.perf_counter()
            sweep(empty, {"i": list(range(n))}, store=path, client=client, progress=False)
            empty_task.append((time.perf_counter() - t) * 2 / n)
    finally:
        client.close()
        cluster.close()
    ts, tp = statistics.median(serial), statistics.median(parallel)
    print(f"[1] serial (in-process, no Dask): {ts:.2f} s; 2 local workers: {tp:.2f} s "
          f"(medians of {repeat}: {', '.join(f'{x:.2f}' for x in serial)} | "
          f"{', '.join(f'{x:.2f}' for x in parallel)})")
    print(f"    speed-up {ts / tp:.2f}x (target >= 1.7x); cluster start-up + warm-up "
          f"{startup:.1f} s (once per `sweep run`): {ts / (tp + startup):.2f}x including it")
    print(f"[2] overhead per task: {1e3 * statistics.median(overhead_fit):.1f} ms "
          f"((2 x wall - compute) / points, median); empty tasks: "
          f"{1e3 * statistics.median(empty_task):.1f} ms of worker time each (target <= 50 ms)")
    size = (tmp / "serial-0.sqlite").stat().st_size
    bare = tmp / "bare.sqlite"
    Store.create(bare, make_spec("fisher-width", grid, seeds=seeds, fixed=FIXED)).close()
    print(f"[3] store: {size} bytes for {n} points = {size / n:.0f} bytes/point; results alone "
          f"{(size - bare.stat().st_size) / n:.0f} bytes/point (13 float fields + provenance)")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    sys.exit(main(a.repeat, a.quick))

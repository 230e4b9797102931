"""Benchmark of geosym.sweep (prints timings and ratios; asserts nothing).

Run: ``OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_sweep.py [--repeat N] [--quick]``.

A 200-point ``fisher-width`` sweep (tanh and erf × 5 sigma_w2 × widths 500, 1000 × 10 seeds;
depth 3, 2 outputs, 10 inputs: the widths of the report's Fisher grid, 40-70 ms of CPU a point):

1. wall time in this process, no Dask (``workers=0``: the serial baseline) against a local
   cluster of 2 single-threaded worker processes (``LocalCluster``; the cluster start-up is
   timed apart).  Both sides warm up first (one point per activation, so that the mean-field
   kernels are derived before the clock starts).  Target speed-up >= 1.7x on 2 cores.
2. overhead per task, the target being <= 50 ms: the wall time per task of 200 empty tasks
   through the same path (scheduler round trip, result transfer, one SQLite commit), times the
   2 workers; and, since wall times on a shared machine measure the other users too, the CPU
   time the sweep's processes (client, scheduler, workers) spend per task beyond the points'
   own compute.
3. store bytes per point: the store file after the run / points, and the same with the
   results only (minus the store of the same grid with nothing run).

The CPU accounting also gives the speed-up the 2 cores would give were they free: serial CPU
time / (CPU time of all the sweep's processes / 2), which on a loaded machine still counts the
cluster's background CPU over a stretched wall time; and a model that adds to the serial CPU
only the net per-task overhead and the background over the modelled wall time.  Wall medians
and the load average are printed with them; on a loaded machine quote all three.
"""

from __future__ import annotations

import argparse
import json
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
    "width": [500, 1000],
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


def _cpu() -> float:
    """User + system CPU seconds of the calling process (run on the scheduler and workers)."""
    t = os.times()
    return t.user + t.system


def cluster_cpu(client) -> float:
    """CPU seconds so far of this process, the scheduler (a local cluster's runs in this
    process) and every worker process."""
    scheduler = (
        0.0
        if client.run_on_scheduler(os.getpid) == os.getpid()
        else (client.run_on_scheduler(_cpu))
    )
    return _cpu() + scheduler + sum(client.run(_cpu).values())


def timed(client, fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of client + scheduler + workers) of ``fn()``."""
    c, t = cluster_cpu(client), time.perf_counter()
    fn()
    return time.perf_counter() - t, cluster_cpu(client) - c


def store_write_rate(path: Path, spec, result: str, rounds: int = 3) -> tuple[float, float]:
    """Points committed by :meth:`Store.record` (one WAL transaction each) per second of wall
    time and per second of this process's CPU time: medians of ``rounds`` passes over every
    point of ``spec`` (a fresh store each pass)."""
    outcome = {
        "result": result,
        "error": None,
        "wall": 0.1,
        "worker": "bench:0",
        "version": "0",
        "commit": None,
    }
    wall, cpu = [], []
    for r in range(rounds):
        target = path.with_name(f"{path.stem}-{r}.sqlite")
        with Store.create(target, spec) as st:
            run_id = st.begin_run("bench", None, None)
            c, t = _cpu(), time.perf_counter()
            for i in range(spec.total):
                st.record(i, outcome, 1, run_id)
            wall.append(spec.total / (time.perf_counter() - t))
            cpu.append(spec.total / max(_cpu() - c, 1e-3))
    return statistics.median(wall), statistics.median(cpu)


def main(repeat: int, quick: bool) -> None:
    distributed = import_distributed()
    grid = dict(GRID, width=[500]) if quick else GRID
    seeds = 5 if quick else SEEDS
    n = make_spec("fisher-width", grid, seeds=seeds, fixed=FIXED).total
    print(
        f"{n}-point fisher-width sweep; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
        f"; load average before: {load()} (2 cores, shared)"
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    warm()
    serial, serial_cpu, parallel, parallel_cpu = [], [], [], []
    over_cpu, empty_wall, empty_cpu, empty_net = [], [], [], []
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    client.run(warm)
    startup = time.perf_counter() - t0
    try:
        idle_rate = timed(client, lambda: time.sleep(5))[1] / 5
        for r in range(repeat):
            path = tmp / f"serial-{r}.sqlite"
            c, t = _cpu(), time.perf_counter()
            sweep(
                "fisher-width",
                grid,
                seeds=seeds,
                fixed=FIXED,
                store=path,
                workers=0,
                progress=False,
            )
            serial.append(time.perf_counter() - t)
            serial_cpu.append(_cpu() - c)
            path = tmp / f"dask-{r}.sqlite"
            wall, cpu = timed(
                client,
                lambda p=path: sweep(
                    "fisher-width",
                    grid,
                    seeds=seeds,
                    fixed=FIXED,
                    store=p,
                    client=client,
                    progress=False,
                ),
            )
            parallel.append(wall)
            parallel_cpu.append(cpu)
            over_cpu.append((cpu - serial_cpu[-1]) / n)
            path = tmp / f"empty-{r}.sqlite"
            wall, cpu = timed(
                client,
                lambda p=path: sweep(
                    empty, {"i": list(range(n))}, store=p, client=client, progress=False
                ),
            )
            empty_wall.append(wall * 2 / n)
            empty_cpu.append(cpu / n)
            empty_net.append((cpu - idle_rate * wall) / n)
    finally:
        client.close()
        cluster.close()
    med = statistics.median
    ts, tp = med(serial), med(parallel)
    print(
        f"[1] serial (in-process, no Dask): {ts:.2f} s; 2 local workers: {tp:.2f} s "
        f"(medians of {repeat}: {', '.join(f'{x:.2f}' for x in serial)} | "
        f"{', '.join(f'{x:.2f}' for x in parallel)})"
    )
    print(
        f"    wall speed-up {ts / tp:.2f}x (target >= 1.7x); cluster start-up + warm-up "
        f"{startup:.1f} s (once per `sweep run`): {ts / (tp + startup):.2f}x including it"
    )
    print(
        f"    CPU: serial {med(serial_cpu):.2f} s, sweep's processes {med(parallel_cpu):.2f} s "
        f"-> speed-up on 2 free cores {med(serial_cpu) / (med(parallel_cpu) / 2):.2f}x"
    )
    print(
        f"[2] overhead per task (target <= 50 ms): empty tasks {1e3 * med(empty_wall):.1f} ms "
        f"of worker wall time each (2 x wall / tasks), {1e3 * med(empty_cpu):.1f} ms CPU "
        f"(client + scheduler + workers); fisher points: {1e3 * med(over_cpu):.1f} ms CPU "
        f"beyond the serial run's (medians)"
    )
    print(
        f"    of which background: the idle cluster uses {1e3 * idle_rate:.0f} ms CPU per second "
        f"(heartbeats, monitors; more on a loaded machine), whatever the task count; net of "
        f"it, an empty task costs {1e3 * med(empty_net):.1f} ms CPU"
    )
    # 2 free cores: T = (serial CPU + n x net overhead + background x T) / 2, solved for T
    free = (med(serial_cpu) + n * med(empty_net)) / (2 - idle_rate)
    print(
        f"    model for 2 free cores (serial CPU + net overhead per task + background, shared "
        f"by 2 cores): {free:.1f} s, speed-up {med(serial_cpu) / free:.2f}x"
    )
    size = (tmp / "serial-0.sqlite").stat().st_size
    bare = tmp / "bare.sqlite"
    Store.create(bare, make_spec("fisher-width", grid, seeds=seeds, fixed=FIXED)).close()
    print(
        f"[3] store: {size} bytes for {n} points = {size / n:.0f} bytes/point; results alone "
        f"{(size - bare.stat().st_size) / n:.0f} bytes/point (13 float fields + provenance)"
    )
    with Store.open(tmp / "serial-0.sqlite") as st:
        result = next(st.rows())["result"]
    big = make_spec(
        "fisher-width",
        dict(grid, sigma_b2=[0.1 * k for k in range(1, 11)]),
        seeds=seeds,
        fixed={k: v for k, v in FIXED.items() if k != "sigma_b2"},
    )
    rate, rate_cpu = store_write_rate(tmp / "rate.sqlite", big, json.dumps(result))
    print(
        f"[4] store write rate: {rate:.0f} points committed per second of wall time, "
        f"{rate_cpu:.0f} per CPU second ({big.total} fisher results, one transaction each, "
        f"WAL, synchronous=NORMAL; medians of 3)"
    )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    sys.exit(main(a.repeat, a.quick))

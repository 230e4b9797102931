"""BLAS threads on a loaded machine (issue 16 §5): the README's commands with OpenBLAS's default
thread count (one per core) against one thread, the ``geosym`` CLI's default.

Each command runs as ``python -m geosym --threads N ...`` in a fresh process while another process
keeps one core busy (``python -c 'while 1: pass'``; ``--no-load`` to skip it), the thread settings
interleaved. Printed: median wall time, median CPU time (user + system of the child; CPU time
well above wall time means threads spinning) and the ratio default/one thread.

Each run is printed as it ends (so an interrupted benchmark keeps what it measured).

Run: python tests/benchmarks/bench_cli_threads.py [--repeats N] [--no-load] [--skip-report]
[--skip-ngd]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NGD = ["ngd", "relu", "--depth", "3", "--width", "128", "--methods", "gd,ngd,kfac,ngd-unit"]


def _run(argv: list[str], threads: int, env: dict) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "geosym", "--threads", str(threads), *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(repeats: int = 3, load: bool = True, report: bool = True, ngd: bool = True) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GEOSYM_BLAS_THREADS")
    }
    env["PYTHONPATH"] = str(ROOT)
    cores = os.cpu_count() or 1
    commands = {"README ngd": NGD} if ngd else {}
    tmp = tempfile.mkdtemp()
    if report:
        commands["report --quick"] = ["report", "--quick", "--out", str(Path(tmp) / "rep")]
    burner = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if load else None
    try:
        results = {(c, t): [] for c in commands for t in (cores, 1)}
        for _ in range(repeats):
            for name, argv in commands.items():
                for threads in (cores, 1):
                    wall, cpu = _run(argv, threads, env)
                    results[(name, threads)].append((wall, cpu))
                    print(
                        f"  {name}, {threads} BLAS thread(s): wall {wall:.1f} s, CPU {cpu:.1f} s",
                        flush=True,
                    )
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
    with open("/proc/loadavg") as f:
        loadavg = " ".join(f.read().split()[:3])
    print(
        f"{cores} cores, {'one core kept busy' if load else 'no extra load'}, "
        f"median of {repeats}, load average at the end {loadavg}"
    )
    print(f"{'command':16s} {'BLAS threads':>12s} {'wall s':>8s} {'CPU s':>8s} {'wall ratio':>11s}")
    for name in commands:
        one = statistics.median(w for w, _ in results[(name, 1)])
        for threads in (cores, 1):
            walls = [w for w, _ in results[(name, threads)]]
            cpus = [c for _, c in results[(name, threads)]]
            wall = statistics.median(walls)
            print(
                f"{name:16s} {threads:12d} {wall:8.1f} {statistics.median(cpus):8.1f} "
                f"{wall / one:11.2f}"
            )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        int(args[args.index("--repeats") + 1]) if "--repeats" in args else 3,
        load="--no-load" not in args,
        report="--skip-report" not in args,
        ngd="--skip-ngd" not in args,
    )

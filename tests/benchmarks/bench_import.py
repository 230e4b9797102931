"""Cold start-up of ``import geosym`` and ``geosym --help`` (issue 13 item 6: <= 0.5 s / 0.7 s).

Each case runs in a fresh interpreter (``-c``), interleaved round-robin, and reports the median
wall time and the median over the bare interpreter (``python -c pass``, the baseline measured in
the same loop). Byte-code caching is on (one warm-up run writes ``__pycache__``), as for an
installed package; ``--no-bytecode`` measures with ``PYTHONDONTWRITEBYTECODE`` set and no cache,
where every module is compiled from source on each start. The eager reference imports every
name of ``geosym.__all__`` and every subpackage, i.e. what ``import geosym`` cost before lazy
loading.

Run: OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_import.py [--repeats N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = {
    "python -c pass (baseline)": "pass",
    "import geosym": "import geosym",
    "geosym --help": "import sys; sys.argv = ['geosym', '--help']; import runpy; "
    "runpy.run_module('geosym', run_name='__main__')",
    "eager: every name of __all__": "import geosym as g; [getattr(g, n) for n in g.__all__]",
}


def main(repeats: int = 7, bytecode: bool = True) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for code in CASES.values():  # warm-up: byte-code cache, file-system cache
        subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
    for _ in range(repeats):
        for name, code in CASES.items():
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL
            )
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["python -c pass (baseline)"])
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    cache = "with" if bytecode else "without"
    print(f"cold start-up, median of {repeats} runs {cache} byte-code cache (load average {load})")
    print(f"{'case':32s} {'median s':>9s} {'over baseline':>14s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:32s} {med:9.3f} {med - base:14.3f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        int(args[args.index("--repeats") + 1]) if "--repeats" in args else 7,
        bytecode="--no-bytecode" not in args,
    )

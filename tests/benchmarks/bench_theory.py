"""Benchmark: theory-side speed (run on demand: ``python tests/benchmarks/bench_theory.py``).

Prints medians of repeated runs (the machine is shared and noisy) for
* ``geosym derive`` (the derivation itself, in-process, after import) for every registry
  activation — target <= 2 s each (issue "Foundation");
* ``fim_statistics`` over a 100 x 100 (sigma_w2, sigma_b2) grid for tanh — target <= 2 s,
  against a scalar loop over the first 100 grid points as the baseline;
* ``MeanField.phase_diagram`` on 10^4 grid points — target about 1 s.
Nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from geosym.activations import REGISTRY
from geosym.cli.derive import derivation
from geosym.fisher import fim_statistics
from geosym.gaussian.engine import _expect_cached
from geosym.meanfield import MeanField, _kernels


def _median_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"load average: {os.getloadavg()}")
    print("\n[1] geosym derive, per registry activation (cold cache each time)")
    worst = 0.0
    for name in REGISTRY:
        def cold(name=name):
            _expect_cached.cache_clear()
            _kernels.cache_clear()
            derivation(name)

        t = _median_time(cold)
        worst = max(worst, t)
        print(f"  {name:12s} {t:6.3f} s")
    print(f"  worst: {worst:.3f} s (target <= 2 s)")

    print("\n[2] fim_statistics over a 100 x 100 grid, tanh, L = 3")
    sw2 = np.linspace(0.5, 4.0, 100)[None, :]
    sb2 = np.linspace(0.01, 1.0, 100)[:, None]
    fim_statistics("tanh", 1.0, 0.1, depth=3, width=1000, samples=20)  # warm the kernels
    grid = _median_time(lambda: fim_statistics("tanh", sw2, sb2, depth=3, width=1000, samples=20))
    pts = list(zip(np.ravel(np.broadcast_to(sw2, (100, 100)))[:100],
                   np.ravel(np.broadcast_to(sb2, (100, 100)))[:100], strict=True))
    loop = _median_time(
        lambda: [fim_statistics("tanh", a, b, depth=3, width=1000, samples=20) for a, b in pts], 1)
    print(f"  vectorised grid (10^4 points): {grid:.3f} s (target <= 2 s)")
    print(f"  scalar loop, 100 points: {loop:.3f} s -> {loop * 100:.1f} s extrapolated to 10^4; "
          f"speed-up {loop * 100 / grid:.0f}x")

    print("\n[3] phase diagram, tanh, 100 x 100")
    mf = MeanField("tanh", 1.0, 0.1)
    t = _median_time(lambda: mf.phase_diagram(np.linspace(0.5, 4, 100), np.linspace(0.01, 1, 100)))
    print(f"  {t:.3f} s (target about 1 s)")


if __name__ == "__main__":
    main()

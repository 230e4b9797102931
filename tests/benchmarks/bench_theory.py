"""Benchmark: theory-side speed (run on demand:
``OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_theory.py [derive] [fim] [phase]``).

Prints medians of repeated runs (the machine is shared and noisy) for
* ``geosym derive`` (the derivation itself, in-process, after import) for every registry
  activation — target <= 2 s each (issue "Foundation");
* ``fim_statistics`` over a 100 x 100 (sigma_w2, sigma_b2) grid for tanh — target <= 1 s (issue 13),
  against the kernels integrated apart, a 25-node Gauss-Hermite yardstick and a scalar loop over
  the first 100 grid points, all in this process;
* ``MeanField.phase_diagram`` on 10^4 grid points — target about 1 s.
Nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np
from bench_nt_quadrature import gauss_hermite_pair, gauss_hermite_square

from geosym.activations import REGISTRY
from geosym.cli.derive import derivation
from geosym.fisher import fim_statistics
from geosym.gaussian.engine import _expect_cached
from geosym.meanfield import MeanField, _kernels


def _sech2(x):
    return 1.0 / np.cosh(x) ** 2


def _median_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def derive_section() -> None:
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


def fim_section() -> None:
    print("\n[2] fim_statistics over a 100 x 100 grid, tanh, L = 3 (target <= 1 s)")
    sw2 = np.linspace(0.5, 4.0, 100)[None, :]
    sb2 = np.linspace(0.01, 1.0, 100)[:, None]
    fim_statistics("tanh", 1.0, 0.1, depth=3, width=1000, samples=20)  # warm the kernels
    cpu0 = time.process_time()
    grid = _median_time(lambda: fim_statistics("tanh", sw2, sb2, depth=3, width=1000, samples=20))
    cpu = (time.process_time() - cpu0) / 3
    mf = MeanField("tanh", sw2, sb2)
    # baseline in this process: the same order parameters with every kernel integrated on its
    # own (forward, then backward: no shared nodes or Gaussian weights)
    apart = _median_time(lambda: mf.backward(3, forward=mf.forward(3)))
    fwd = mf.forward(3)
    q1, q2 = (
        np.concatenate([np.ravel(fwd.q1[1]), np.ravel(fwd.q1[2])]),
        np.concatenate([np.ravel(fwd.q2[1]), np.ravel(fwd.q2[2])]),
    )
    gh = _median_time(
        lambda: (
            [gauss_hermite_pair(f, q1, q2, q1) for f in (np.tanh, _sech2)]
            + [gauss_hermite_square(f, q1) for f in (np.tanh, _sech2)]
        )
    )
    pts = list(
        zip(
            np.ravel(np.broadcast_to(sw2, (100, 100)))[:100],
            np.ravel(np.broadcast_to(sb2, (100, 100)))[:100],
            strict=True,
        )
    )
    loop = _median_time(
        lambda: [fim_statistics("tanh", a, b, depth=3, width=1000, samples=20) for a, b in pts], 1
    )
    print(f"  vectorised grid (10^4 points): {grid:.3f} s wall, {cpu:.3f} s CPU (target <= 1 s)")
    print(
        f"  kernels integrated apart (forward + backward): {apart:.3f} s -> shared {apart / grid:.2f}x"
        " faster"
    )
    print(
        f"  yardstick: 25-node Gauss-Hermite for the same four kernels: {gh:.3f} s "
        f"(grid / yardstick {grid / gh:.1f}x)"
    )
    print(
        f"  scalar loop, 100 points: {loop:.3f} s -> {loop * 100:.1f} s extrapolated to 10^4; "
        f"speed-up {loop * 100 / grid:.0f}x"
    )


def phase_section() -> None:
    print("\n[3] phase diagram, tanh, 100 x 100")
    mf = MeanField("tanh", 1.0, 0.1)
    t = _median_time(lambda: mf.phase_diagram(np.linspace(0.5, 4, 100), np.linspace(0.01, 1, 100)))
    print(f"  {t:.3f} s (target about 1 s)")


SECTIONS = {"derive": derive_section, "fim": fim_section, "phase": phase_section}


def main(only: list[str]) -> None:
    print(
        f"load average: {os.getloadavg()}, OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    for name, section in SECTIONS.items():
        if not only or name in only:
            section()


if __name__ == "__main__":
    main(sys.argv[1:])  # optional section names: derive fim phase

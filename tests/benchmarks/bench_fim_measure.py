"""Benchmark: measured FIM statistics by the layer-wise Gram route vs the explicit Jacobian.

Run ``python tests/benchmarks/bench_fim_measure.py [--repeats N]``. Prints medians of repeats and
ratios measured in the same process; asserts nothing about time.

* Target size (issue §6): L = 3, M = 1000, C = 10, T = 100 (P ~ 2.0e6, CT = 1000): the Gram route
  (``fim_statistics(net, X)``), with its parts (forward + backward of all C outputs and the
  Gram products; the CT x CT eigen-decomposition). The explicit Jacobian would need
  CT * P * 8 B = 16 GB here, so it is not run at this size.
* Baseline size where the explicit route fits: L = 3, M = 150, C = 10, T = 100 (J is
  1000 x 47k, 0.38 GB): both routes, ratio explicit / Gram.
* Tiny size, dense P x P FIM eigen-decomposition (the route the Gram avoids altogether).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

try:
    import geosym  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from geosym.nn import MLP, fim_statistics, gram_matrix, jacobian  # noqa: E402

MINIMA: dict[str, float] = {}


def median_time(fn: Callable[[], object], repeats: int, label: str = "") -> float:
    """Median wall time of ``repeats`` calls after one warm-up; the minimum goes to MINIMA."""
    fn()  # warm-up (lambdify caches, BLAS threads)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    if label:
        MINIMA[label] = min(times)
    return float(np.median(times))


def make(M: int, C: int, T: int, seed: int = 0) -> tuple[MLP, np.ndarray]:
    rng = np.random.default_rng(seed)
    net = MLP.random([M, M, M, C], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=rng)
    return net, rng.standard_normal((T, M))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    r = args.repeats
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(
        f"geosym.nn FIM benchmark: median of {r} repeats, OPENBLAS_NUM_THREADS={threads}, "
        f"{os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.2f}"
    )
    print(
        "  (on a shared machine a load above the core count makes multi-threaded OpenBLAS "
        "spin-wait: times then inflate several-fold; compare with OPENBLAS_NUM_THREADS=1)"
    )

    # ---- target size -------------------------------------------------------------------
    M, C, T = 1000, 10, 100
    net, X = make(M, C, T)
    t_stats = median_time(lambda: fim_statistics(net, X), r, "target gram")
    t_gram = median_time(lambda: gram_matrix(net, X), r)
    G = gram_matrix(net, X)
    t_eig = median_time(lambda: np.linalg.eigvalsh(G), r)
    st = fim_statistics(net, X)
    print(f"\n[target] L=3, M={M}, C={C}, T={T}: P={net.n_params:,}, CT={C * T}")
    print(
        f"  Gram route fim_statistics : {t_stats:8.3f} s   (best {MINIMA['target gram']:.3f} s; "
        "budget 1 s)"
    )
    print(f"    of which gram_matrix    : {t_gram:8.3f} s")
    print(f"    of which eigvalsh(CTxCT): {t_eig:8.3f} s")
    print(f"  explicit J would need {8 * C * T * net.n_params / 1e9:.1f} GB: not run")
    print(
        f"  lambda_max={st.lambda_max:.4g}, lambda_2={st.lambda_2:.4g}, "
        f"m_lambda={st.m_lambda:.4g}, s_lambda={st.s_lambda:.4g}"
    )

    # ---- baseline size: both routes ----------------------------------------------------
    M2 = 150
    net2, X2 = make(M2, C, T, seed=1)
    t_g2 = median_time(lambda: fim_statistics(net2, X2), r, "baseline gram")
    t_j2 = median_time(lambda: fim_statistics(net2, X2, method="jacobian"), r, "baseline jac")
    t_jonly = median_time(lambda: jacobian(net2, X2), r)
    a, b = fim_statistics(net2, X2), fim_statistics(net2, X2, method="jacobian")
    diff = abs(a.lambda_max - b.lambda_max) / b.lambda_max
    print(
        f"\n[baseline] L=3, M={M2}, C={C}, T={T}: P={net2.n_params:,}, "
        f"J = {C * T} x {net2.n_params} ({8 * C * T * net2.n_params / 1e9:.2f} GB)"
    )
    print(f"  Gram route               : {t_g2:8.4f} s")
    print(f"  explicit-Jacobian route  : {t_j2:8.4f} s   (J alone {t_jonly:.4f} s)")
    print(f"  ratio explicit / Gram    : {t_j2 / t_g2:8.1f} x   (lambda_max rel. diff {diff:.1e})")
    print(f"  ratio of best times      : {MINIMA['baseline jac'] / MINIMA['baseline gram']:8.1f} x")

    # ---- tiny size: dense P x P FIM ----------------------------------------------------
    M3, C3, T3 = 30, 2, 20
    net3, X3 = make(M3, C3, T3, seed=2)

    def dense() -> np.ndarray:
        J = jacobian(net3, X3)
        return np.linalg.eigvalsh(J.T @ J / T3)

    t_g3 = median_time(lambda: fim_statistics(net3, X3), r)
    G3 = jacobian(net3, X3)
    F3 = G3.T @ G3 / T3
    t_e3 = median_time(lambda: np.linalg.eigvalsh(F3), max(1, r // 2))
    t_d3 = median_time(dense, max(1, r // 2))
    print(f"\n[tiny] L=3, M={M3}, C={C3}, T={T3}: P={net3.n_params:,}")
    print(f"  Gram route               : {t_g3:8.4f} s")
    print(f"  dense J, F, eigvalsh(F)  : {t_d3:8.4f} s   (eigvalsh alone {t_e3:.4f} s)")
    print(f"  ratio dense / Gram       : {t_d3 / t_g3:8.0f} x")

    # ---- training, for scale -----------------------------------------------------------
    Y = np.random.default_rng(3).standard_normal((T, C))
    eta = 0.5 * st.eta_critical
    steps = 10
    t_train = median_time(lambda: net.copy().train(X, Y, eta=eta, steps=steps), max(1, r // 2))
    print(f"\n[train] GD at the target size: {t_train / steps * 1e3:.1f} ms per step")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark of ReLU's committee I4: orthant-moment route vs the old 4-D Gauss-Hermite rule.

Run: ``OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_relu_i4.py [--quick]``.

1. Accuracy: max |error| over N random 4x4 covariances against the reference (the new route's
   formulas are checked against 30-digit mpmath in tests/test_orthant.py; here the reference
   for the old rule is the new route).
2. Time per 1000 covariances (medians, same process).
3. Committee ODE, ReLU, K = M = 3, eta = 0.5, alpha to 300 (``--quick``: 30), before/after.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from geosym.committee import CommitteeODE
from geosym.committee.integrals import IntegralProvider, _Kernel
from geosym.gaussian.orthant import relu_i4


def med(f, repeat=5):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def main() -> None:
    quick = "--quick" in sys.argv
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 4, 6)) / np.sqrt(6)
    C = a @ np.swapaxes(a, 1, 2)
    old = IntegralProvider("relu")
    iu = np.triu_indices(4)
    ent = C[:, iu[0], iu[1]].T
    t_new, v_new = med(lambda: relu_i4(C))
    t_old, v_old = med(lambda: old._numeric_i4(*ent, n=12), repeat=3)
    print(
        f"per 1000 covariances: orthant {t_new:.3f} s, GH n4=12 {t_old:.3f} s, "
        f"ratio {t_old / t_new:.1f}x (OPENBLAS_NUM_THREADS=1, medians)"
    )
    print(f"GH n4=12 max |error| vs orthant route: {np.max(np.abs(v_old - v_new)):.2e}")
    alpha = 30.0 if quick else 300.0
    ref = IntegralProvider("relu")
    ref.kernels["I4"] = _Kernel(ref._numeric_i4, "GH n4=12")
    t_a, tr_a = med(lambda: CommitteeODE("relu", 3, 3, eta=0.5).integrate(alpha, seed=0), 1)
    t_b, tr_b = med(lambda: CommitteeODE(ref, 3, 3, eta=0.5).integrate(alpha, seed=0), 1)
    print(
        f"ODE relu K=M=3 alpha={alpha:g}: orthant {t_a:.2f} s, GH n4=12 {t_b:.2f} s, "
        f"ratio {t_b / t_a:.1f}x; final eps_g {tr_a.eps_g[-1]:.6g} vs {tr_b.eps_g[-1]:.6g}"
    )


if __name__ == "__main__":
    main()

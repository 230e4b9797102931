"""Benchmark of geosym.committee (prints timings and ratios; asserts nothing).

Run: ``python tests/benchmarks/bench_committee.py [--quick] [--tanh]`` (``--tanh``: only 3).

1. erf K = M = 10, eta = 0.5, random init (N = 1000), alpha to 1e4 at rtol 1e-9 (target <= 5 s).
2. ODE time vs one SGD run at N = 1000 over the same alpha (K = M = 2, erf); target ratio >= 50.
   The SGD time is measured over a fraction of the steps and extrapolated (steps cost the same).
   Also printed: the ratio at rtol 1e-6 (still far below a single SGD run's O(1/sqrt(N)) noise).
3. tanh K = M = 3, eta = 0.5, alpha to 300: I4 by the erf mixture (closed form, error bound
   printed; target <= 5 s at I4 error <= 1e-5) against the old setting, the nested
   Gauss-Hermite rule with n4 = 12, in the same process (``--quick``: alpha to 30).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from geosym.committee import CommitteeODE, integral_provider, simulate
from geosym.committee.integrals import IntegralProvider


def timed(f, repeat=1):
    """Median wall time (and median CPU time of this process) over ``repeat`` runs."""
    ts, cs = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = f()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    timed.cpu = float(np.median(cs))
    return float(np.median(ts)), out


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def main(quick: bool = False, tanh_only: bool = False) -> None:
    erf = "erf(x/sqrt(2))"
    integral_provider(erf)
    integral_provider("tanh")
    print(f"load average before: {load()} (2 cores, shared)")
    if tanh_only:
        return tanh_i4(quick)
    a10 = 1e3 if quick else 1e4
    ode10 = CommitteeODE(erf, 10, 10, eta=0.5)
    t10, tr = timed(lambda: ode10.integrate(a10, seed=0), repeat=3)
    print(
        f"[1] erf K=M=10 alpha={a10:g} rtol=1e-9 ({tr.meta['method']}): {t10:.2f} s wall "
        f"(median of 3; CPU {timed.cpu:.2f} s), {tr.meta['nfev']} RHS evals incl. "
        f"{tr.meta['njev']} batched Jacobians (target 5 s at alpha=1e4)"
    )

    alpha = 300.0
    ode2 = CommitteeODE(erf, 2, 2, eta=0.5)
    t_ode, _ = timed(lambda: ode2.integrate(alpha, seed=0), repeat=3)
    c_ode = timed.cpu
    frac = 0.02
    simulate(erf, 1000, 2, 2, 1, 0.5, 1.0, 1)  # warm-up (provider, imports)
    t_sgd_part, _ = timed(lambda: simulate(erf, 1000, 2, 2, 1, 0.5, alpha * frac, 1), repeat=3)
    t_sgd = t_sgd_part / frac
    c_sgd = timed.cpu / frac
    us_step = 1e6 * timed.cpu / (alpha * frac * 1000)
    t_loose, _ = timed(lambda: ode2.integrate(alpha, seed=0, rtol=1e-6), repeat=3)
    print(
        f"[2] K=M=2 erf alpha={alpha:g}: ODE {t_ode:.3f} s (median of 3), one SGD run at "
        f"N=1000 ~ {t_sgd:.1f} s (extrapolated from {frac:.0%}); ratio SGD/ODE = "
        f"{t_sgd / t_ode:.0f}x wall, {c_sgd / c_ode:.0f}x CPU (target >= 50x); SGD "
        f"{us_step:.0f} us CPU per step; at rtol 1e-6 the ODE takes {t_loose:.3f} s "
        f"({t_sgd / t_loose:.0f}x)"
    )

    tanh_i4(quick)


def tanh_i4(quick: bool) -> None:
    """Section 3: the tanh I4 by the erf mixture against the old Gauss-Hermite setting."""
    a3 = 30.0 if quick else 300.0
    ode3 = CommitteeODE("tanh", 3, 3, eta=0.5)
    t3, tr3 = timed(lambda: ode3.integrate(a3, seed=0), repeat=3)
    c3 = timed.cpu
    old = CommitteeODE(IntegralProvider("tanh", n4=12, erf_mixture=False), 3, 3, eta=0.5)
    t_old, tr_old = timed(lambda: old.integrate(a3, seed=0))
    c_old = timed.cpu
    print(
        f"[3] tanh K=M=3 eta=0.5 alpha={a3:g}: I4 {ode3.integrals.methods['I4']} (error bound "
        f"{ode3.integrals.error['I4']:.1e}): {t3:.2f} s wall (median of 3; CPU {c3:.2f} s), "
        f"{tr3.meta['nfev']} RHS evals (target 5 s at I4 error 1e-5)"
    )
    print(
        f"    old: {old.integrals.methods['I4']} (est. error {old.integrals.error['I4']:.1e}): "
        f"{t_old:.2f} s wall (CPU {c_old:.2f} s), {tr_old.meta['nfev']} RHS evals; ratio "
        f"old/new {t_old / t3:.1f}x wall, {c_old / c3:.1f}x CPU; eps_g(alpha) old vs new: "
        f"max relative difference {np.max(np.abs(tr_old.eps_g / tr3.eps_g - 1)):.1e} "
        f"(on the common output grid)"
    )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv, tanh_only="--tanh" in sys.argv)

"""Benchmark geosym.transport against POT in the same process (issue 5 §7).

Run ``python tests/benchmarks/bench_transport.py [dense grid28 grid64 barycenter64 debiased64]``.
Prints median wall times and ratios; never asserts a time. BLAS is pinned to one thread
(measured: threaded BLAS on a small VM makes dense mat-vecs ~40x slower and would distort the
comparison).

Cases
-----
1. dense n = 1000 (1-D grid, max cost 1), reg = 1e-2: ``geosym.transport.sinkhorn`` vs
   ``ot.bregman.sinkhorn_log`` with the same stopping level (ours: L1 column error <= 1e-9,
   POT: L2 column error <= 1e-9, which is looser), accuracy printed for both;
2. 28x28 and 64x64 images (ring vs digit 7, exact zeros), reg = 1e-3: separable grid kernel vs
   POT ``sinkhorn_log`` on the dense 784² / 4096² cost. At 64x64 a full POT run takes tens of
   minutes, so POT is timed over a fixed number of iterations and extrapolated to the
   iteration count of the converged run (both use the same update order);
3. barycenter of four 64x64 images at reg = 1e-3 (entropic and debiased, tol 1e-4, without and
   with ``eps_scaling=0.3``) vs POT ``convolutional_barycenter2d`` (kernel mode, the separable
   trick) with its default tolerance; the load average is printed before and after;
4. convergence of the debiased barycenter of the same four 64x64 images at reg = 1e-3: the
   plain iteration of Janati et al. 2020 (``anderson=0``, the algorithm before Anderson
   acceleration) vs the Anderson-accelerated one, at fixed iteration budgets and with their
   stopping rules: median time, iterations, marginal residual and q-step (from the warning when
   not converged), and the L1 distance to a reference (``--ref-iter`` accelerated iterations;
   its own distance to the run of half that length is printed), raw and blurred by the kernel
   (the visible part; the rest is sub-kernel speckle, see ``geosym.transport.barycenter``).
   POT ``convolutional_barycenter2d_debiased`` (10 d-steps per iteration) in kernel mode
   underflows at this reg (its ``log(K u + 1e-15)`` puts mass on the zero background: 11% at
   32x32, measured) and ``method="sinkhorn_log"``, which agrees with us (L1 5e-5 after 3000
   iterations at 32x32), is too slow to converge here: it is run for 100 iterations and its
   time per iteration printed.
5. the debiased objective ``Σ_k ¼ S_λ(p_k, q)`` of the same problem at POT's kernel-mode
   debiased barycenter (defaults) and at ours (tol = q_tol = 1e-4): ``objective64``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import ot  # noqa: E402

from geosym.transport import Grid, barycenter, sinkhorn, sinkhorn_divergence  # noqa: E402
from geosym.transport._kernel import LogKernel  # noqa: E402
from geosym.transport.shapes import bump, shape  # noqa: E402


def median_time(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeat`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def col_error(plan: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(plan.sum(0) - b.ravel()).sum())


def row(name: str, ours: float, theirs: float, note: str = "") -> None:
    print(
        f"{name:<46} geosym {ours:9.4f} s   POT {theirs:9.3f} s   ratio {ours / theirs:7.4f}  {note}"
    )


def dense_case(repeat: int) -> None:
    n, reg = 1000, 1e-2
    x = np.linspace(0, 1, n)
    cost = np.subtract.outer(x, x) ** 2
    a = 0.5 * (bump(n, 0.25, 0.05) + bump(n, 0.7, 0.08))
    b = bump(n, 0.5, 0.1)
    t_ours, res = median_time(lambda: sinkhorn(a, b, cost, reg, tol=1e-9), repeat)
    t_pot, plan = median_time(
        lambda: ot.bregman.sinkhorn_log(a, b, cost, reg, stopThr=1e-9, numItermax=10_000), repeat
    )
    dp = np.abs(res.plan - plan).max()
    acc = f"(col L1 err ours {res.marginal_error:.1e}, POT {col_error(plan, b):.1e}; max|ΔP| {dp:.1e})"
    row(f"dense n={n} reg={reg:g}, {res.n_iter} it", t_ours, t_pot, acc)


def grid_case(size: int, repeat: int, pot_iters: int | None) -> None:
    reg = 1e-3
    a, b = shape("ring", size), shape("digit7", size)
    grid = Grid((size, size))
    t_ours, res = median_time(lambda: sinkhorn(a, b, grid, reg, tol=1e-9, max_iter=20_000), repeat)
    cost = grid.cost_matrix()
    note = f"(ours {res.n_iter} it, converged={res.converged})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pot_iters is None:
            t_pot, plan = median_time(
                lambda: ot.bregman.sinkhorn_log(
                    a.ravel(), b.ravel(), cost, reg, stopThr=1e-9, numItermax=20_000
                ),
                1,
            )
            note += f" max|ΔP| {np.abs(res.plan - plan).max():.1e}"
        else:
            t_fixed, _ = median_time(
                lambda: ot.bregman.sinkhorn_log(
                    a.ravel(), b.ravel(), cost, reg, stopThr=0.0, numItermax=pot_iters
                ),
                1,
            )
            t_pot = t_fixed / pot_iters * res.n_iter
            note += f" POT extrapolated from {pot_iters} it ({t_fixed / pot_iters * 1e3:.0f} ms/it)"
    row(f"grid {size}x{size} reg={reg:g} vs dense sinkhorn_log", t_ours, t_pot, note)


def barycenter_case(size: int, repeat: int) -> None:
    reg = 1e-3
    imgs = np.stack([shape(n, size) for n in ("ring", "cross", "digit2", "digit7")])
    grid = Grid((size, size))
    pot = {
        "entropic": ot.bregman.convolutional_barycenter2d,
        "debiased": ot.bregman.convolutional_barycenter2d_debiased,
    }
    print(f"load average before: {open('/proc/loadavg').read().split()[:3]}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method, pot_fn in pot.items():
            t_pot, ref = median_time(lambda f=pot_fn: f(imgs, reg), repeat)
            for eps in (None, 0.3):
                t_ours, bary = median_time(
                    lambda m=method, e=eps: (
                        barycenter(
                            imgs, grid, reg, method=m, tol=1e-4, max_iter=5000, eps_scaling=e
                        ).q
                    ),
                    repeat,
                )
                diff = np.abs(bary - ref / ref.sum()).sum()
                row(
                    f"barycenter 4x{size}x{size} reg={reg:g} {method} eps_scaling={eps}",
                    t_ours,
                    t_pot,
                    f"(vs POT {pot_fn.__name__}, kernel mode, default tol; L1 between them {diff:.2g})",
                )
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")


def _blurred_l1(diff: np.ndarray, reg: float) -> float:
    """L1 norm of ``diff`` convolved with the normalised Gibbs kernel ``e^{-|x-y|²/reg}``."""
    x = np.linspace(0.0, 1.0, diff.shape[0])
    k = np.exp(-(np.subtract.outer(x, x) ** 2) / reg)
    k /= k.sum(axis=1, keepdims=True)
    return float(np.abs(k @ diff @ k.T).sum())


def _run(fn) -> tuple[float, np.ndarray, float, str]:
    """Median time, result, iterations per call (one ``LogKernel.cols`` per iteration of
    ``geosym.transport.barycenter``) and the non-convergence warning (empty when converged)."""
    calls, cols = [0], LogKernel.cols

    def counted(kernel: LogKernel, h: np.ndarray) -> np.ndarray:
        calls[0] += 1
        return cols(kernel, h)

    LogKernel.cols = counted
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t, out = median_time(fn, ARGS.repeat)
    finally:
        LogKernel.cols = cols
    msgs = [str(w.message) for w in caught if "converge" in str(w.message)]
    return t, out, calls[0] / ARGS.repeat, msgs[-1] if msgs else ""


def debiased_case(size: int, ref_iter: int) -> None:
    reg = 1e-3
    imgs = np.stack([shape(n, size) for n in ("ring", "cross", "digit2", "digit7")])
    grid = Grid((size, size))
    print(f"load average before: {open('/proc/loadavg').read().split()[:3]}")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        half = barycenter(imgs, grid, reg, tol=1e-300, max_iter=ref_iter // 2).q
        ref = barycenter(imgs, grid, reg, tol=1e-300, max_iter=ref_iter).q
    print(
        f"reference: {ref_iter} Anderson iterations ({time.perf_counter() - t0:.0f} s with the "
        f"{ref_iter // 2}-iteration run); L1 to the {ref_iter // 2}-iteration run "
        f"{np.abs(ref - half).sum():.2g}"
    )
    runs = [
        ("plain, tol 1e-4 on the marginal residual only", dict(tol=1e-4, q_tol=1.0, anderson=0)),
        ("plain, 3000 it", dict(tol=1e-300, max_iter=3000, anderson=0)),
        ("plain, 10000 it", dict(tol=1e-300, max_iter=10_000, anderson=0)),
        ("anderson 5, 1000 it", dict(tol=1e-300, max_iter=1000)),
        ("anderson 5, 3000 it", dict(tol=1e-300, max_iter=3000)),
        ("anderson 5, 10000 it", dict(tol=1e-300, max_iter=10_000)),
        ("anderson 5, tol 1e-4, q_tol 1e-4", dict(tol=1e-4, q_tol=1e-4)),
        ("anderson 5, tol 1e-4, q_tol 1e-5", dict(tol=1e-4, q_tol=1e-5)),
    ]
    title = f"debiased 4x{size}x{size} reg {reg:g}"
    print(f"{title:<46} {'time':>8} {'iter':>6} {'L1 to ref':>10} {'blurred':>9}  note")
    for name, kw in runs:
        t, q, n_iter, msg = _run(lambda kw=kw: barycenter(imgs, grid, reg, **kw).q)
        note = msg.split(": ", 1)[1].split("; reg")[0] if msg else "converged"
        err, blur = np.abs(q - ref).sum(), _blurred_l1(q - ref, reg)
        print(f"{name:<46} {t:7.2f}s {n_iter:6.0f} {err:10.3g} {blur:9.2g}  {note}")
    pot_runs = [
        ("POT kernel mode, default (stopThr 1e-3)", {}),
        ("POT kernel mode, 3000 it", dict(numItermax=3000, stopThr=0.0)),
        ("POT sinkhorn_log, 100 it", dict(numItermax=100, stopThr=0.0, method="sinkhorn_log")),
    ]
    for name, kw in pot_runs:
        t, (q, log), _, msg = _run(
            lambda kw=kw: ot.bregman.convolutional_barycenter2d_debiased(imgs, reg, log=True, **kw)
        )
        q = q / q.sum()
        n_iter = log["niter"] + 1
        err, blur = np.abs(q - ref).sum(), _blurred_l1(q - ref, reg)
        print(
            f"{name:<46} {t:7.2f}s {n_iter:6d} {err:10.3g} {blur:9.2g}  "
            f"{'did not converge' if msg else 'converged'}; {1e3 * t / n_iter:.1f} ms/it; mass "
            f"where the reference is < 1e-12: {q[ref < 1e-12].sum():.2g}"
        )
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")


def objective_case(size: int) -> None:
    """The debiased objective ``J(q) = Σ_k ¼ S_λ(p_k, q)`` at POT's and at geosym's barycenter.

    The evidence that POT's kernel-mode ``convolutional_barycenter2d_debiased`` (defaults) is
    not the debiased barycenter: its ``J`` is above the ``J`` of ours (tol = q_tol = 1e-4),
    each ``S_λ`` by :func:`geosym.transport.sinkhorn_divergence` to marginal error 1e-9.
    """
    reg = 1e-3
    imgs = np.stack([shape(n, size) for n in ("ring", "cross", "digit2", "digit7")])
    grid = Grid((size, size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = barycenter(imgs, grid, reg, tol=1e-4, q_tol=1e-4).q
        pot = ot.bregman.convolutional_barycenter2d_debiased(imgs, reg)
    pot = pot / pot.sum()

    def objective(q: np.ndarray) -> float:
        return float(np.mean([sinkhorn_divergence(p, q, grid, reg) for p in imgs]))

    j_ours, j_pot = objective(ours), objective(pot)
    zero = imgs.sum(axis=0) == 0
    print(
        f"debiased objective 4x{size}x{size} reg {reg:g}: geosym {j_ours:.6g}, POT kernel mode "
        f"{j_pot:.6g}, ratio {j_pot / j_ours:.4f}; mass where every input is 0: geosym "
        f"{ours[zero].sum():.3g}, POT {pot[zero].sum():.3g}"
    )


CASES = {
    "dense": lambda r: dense_case(r),
    "grid28": lambda r: grid_case(28, 1, None),
    "grid64": lambda r: grid_case(64, 1, 20),
    "barycenter64": lambda r: barycenter_case(64, 1),
    "debiased64": lambda r: debiased_case(64, ARGS.ref_iter),
    "objective64": lambda r: objective_case(64),
}
ARGS = argparse.Namespace(repeat=3, ref_iter=40_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the dense case (median)")
    parser.add_argument(
        "--ref-iter", type=int, default=40_000, help="iterations of the debiased64 reference"
    )
    parser.add_argument("cases", nargs="*", help=f"cases among {', '.join(CASES)} (default: all)")
    args = parser.parse_args(namespace=ARGS)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; choose from {list(CASES)}")
    print(
        f"numpy {np.__version__}, POT {ot.__version__}, BLAS threads = {os.environ['OPENBLAS_NUM_THREADS']}"
    )
    for name in args.cases or CASES:
        CASES[name](args.repeat)
        sys.stdout.flush()


if __name__ == "__main__":
    main()

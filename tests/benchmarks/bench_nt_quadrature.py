"""Benchmark: accuracy of neural-tangents' Gauss–Hermite rule for activation kernels, measured
against geosym's closed forms and certified quadrature (issue 13, item 3).

neural-tangents (``stax.ElementwiseNumerical(fn, deg)``, Han et al. 2022, "Fast Neural Kernel
Embeddings for General Activations", arXiv:2209.04121) computes
:math:`\\mathbb E[f(u_1)f(u_2)]` for a centred Gaussian pair with covariance
:math:`(q_{11}, q_{12}, q_{22})` by a tensor-product Gauss–Hermite rule (physicists' nodes
:math:`x_i`, weights :math:`w_i`, weight function :math:`e^{-x^2}`) after the Cholesky map
:math:`u_1 = \\sqrt{2q_{11}}\\,x_i`, :math:`u_2 = \\sqrt{2}\\,(q_{12}/\\sqrt{q_{11}})\\,x_i +
\\sqrt{2(q_{22}-q_{12}^2/q_{11})}\\,x_j`, i.e. :math:`\\pi^{-1}\\sum_{ij} w_i w_j f(u_1)f(u_2)`,
and the NTK factor :math:`\\mathbb E[f'(u_1)f'(u_2)]` the same way. ``deg = 25`` is its
documented starting point. The rule is re-implemented below (neural-tangents needs jax 0.4.30
pinned) and checked against values that neural-tangents 0.6.5 itself produced (jax 0.4.30,
``jax_enable_x64``), pinned in ``NT_REFERENCE``.

Measured (all absolute errors; reference: geosym, error bound <= 1e-10):

1. tanh, q11, q22 ~ U(0, 10) independent, rho ~ U(-0.999, 0.999), 10^4 covariances (seed 0):
   median, RMS and max error of the 25-node rule;
2. E[tanh(u)^2] at q = 10;
3. ReLU, same covariances: error of the off-diagonal kernel against the arc-cosine closed form;
4. the NTK diagonal of a deep tanh network (20 x [Dense, tanh], Dense; NTK parameterisation as
   in ``stax.Dense``: nngp' = sw2 nngp + sb2, ntk' = nngp' + sw2 ntk; input x.x/d = 1) with 25,
   100 and 300 nodes, at (sw2, sb2) = (0.5, 9) (fixed point q* ~ 10.4) and (1, 10);
5. time of the certified quadrature over the 25-node rule on the sample of 1 (same process).

Run: OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_nt_quadrature.py
"""

from __future__ import annotations

import os
import time

import numpy as np
import sympy as sp
from scipy.special import roots_hermite

from geosym.activations import activation
from geosym.gaussian import expect

# neural-tangents 0.6.5 (jax 0.4.30, float64): serial(Dense(1, W_std=1, b_std=None),
# ElementwiseNumerical(fn, deg=25)) on two inputs with x.x'/d = q12:
# (q11, q12, q22, nngp[0, 1], nngp[0, 0], nngp[1, 1])
NT_REFERENCE = {
    "tanh": [
        (1.0, 0.5, 1.0, 0.1863232557045685, 0.39427650603495573, 0.39427650603495573),
        (10.0, 9.99, 10.0, 0.7200753120288775, 0.7207218098754692, 0.7207218098754692),
        (
            0.3,
            -0.8694826047713663,
            7.0,
            -0.20319642868019736,
            0.19726338610745134,
            0.6940195465215976,
        ),
        (5.0, 0.0, 2.0, -1.7461075726588057e-19, 0.6584623600878152, 0.519424160418189),
    ],
    "relu": [
        (1.0, 0.5, 1.0, 0.3004507556065665, 0.5000000000000003, 0.5000000000000003),
        (10.0, 9.99, 10.0, 4.995000000000002, 4.999999999999997, 4.999999999999997),
        (
            0.3,
            -0.8694826047713663,
            7.0,
            0.051128887296401436,
            0.15000000000000005,
            3.5000000000000013,
        ),
        (5.0, 0.0, 2.0, 0.47072727307980744, 2.4999999999999987, 1.0000000000000009),
    ],
}
# the same, 20 x [Dense(W_std=sqrt(sw2), b_std=sqrt(sb2)), ElementwiseNumerical(tanh, deg,
# df=sech^2)], Dense: ntk[0, 0] for x.x/d = 1, keyed by (sw2, sb2, deg)
NT_DEEP_NTK = {
    (0.5, 9.0, 25): 10.702073637337264,
    (0.5, 9.0, 100): 10.233641194663253,
    (0.5, 9.0, 300): 10.250437436059627,
    (1.0, 10.0, 25): 14.298304287294826,
    (1.0, 10.0, 100): 12.743222951363466,
    (1.0, 10.0, 300): 12.811931524445791,
}
DEPTH = 20


def _relu(x):
    return np.maximum(x, 0.0)


def _sech2(x):
    return 1.0 / np.cosh(x) ** 2


def gauss_hermite_pair(f, q11, q12, q22, deg: int = 25) -> np.ndarray:
    """The tensor-product rule of neural-tangents for E[f(u1) f(u2)], vectorised over a batch."""
    x, w = roots_hermite(deg)
    q11, q12, q22 = (np.asarray(a, dtype=float)[None, None] for a in (q11, q12, q22))
    xi, xj = x[:, None, None], x[None, :, None]
    slope = q12 / np.sqrt(np.maximum(q11 / 2.0, 1e-30))
    cond = np.sqrt(np.maximum(2.0 * (q22 - q12 * q12 / q11), 0.0))
    vals = f(np.sqrt(2.0 * q11) * xi) * f(slope * xi + cond * xj)
    return np.einsum("i,j,ijb->b", w, w, vals) / np.pi


def gauss_hermite_square(f, q, deg: int = 25) -> np.ndarray:
    """neural-tangents' diagonal rule for E[f(u)^2], u ~ N(0, q)."""
    x, w = roots_hermite(deg)
    vals = f(np.sqrt(2.0 * np.asarray(q, dtype=float))[None] * x[:, None]) ** 2
    return w @ vals / np.sqrt(np.pi)


def deep_ntk_diagonal(sw2: float, sb2: float, second_moments) -> float:
    """NTK diagonal of DEPTH x [Dense, phi] + Dense for x.x/d = 1; ``second_moments(q)`` returns
    (E[phi(u)^2], E[phi'(u)^2]) for u ~ N(0, q)."""
    q, ntk = 1.0, 0.0
    for _ in range(DEPTH):
        q = sw2 * q + sb2
        ntk = q + sw2 * ntk
        v, d = second_moments(q)
        q, ntk = v, ntk * d
    q = sw2 * q + sb2
    return q + sw2 * ntk


def _median_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    print(
        f"load average {os.getloadavg()}, OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    a, b, c = sp.symbols("q11 q12 q22")
    tanh_pair = expect(["tanh", "tanh"], [[a, b], [b, c]]).numeric()
    relu_pair = expect(["relu", "relu"], [[a, b], [b, c]]).numeric()
    q = sp.Symbol("q")
    tanh_sq = expect(["tanh", "tanh"], [[q, q], [q, q]]).numeric()
    dtanh = activation("tanh").derivative()
    dtanh_sq = expect([dtanh, dtanh], [[q, q], [q, q]]).numeric()

    print("\n[0] re-implementation against neural-tangents 0.6.5 itself (deg = 25)")
    worst = 0.0
    for name, f in (("tanh", np.tanh), ("relu", _relu)):
        for q11, q12, q22, off, d1, d2 in NT_REFERENCE[name]:
            got = [
                gauss_hermite_pair(f, q11, q12, q22)[0],
                gauss_hermite_square(f, q11)[0],
                gauss_hermite_square(f, q22)[0],
            ]
            worst = max(worst, *(abs(g - r) for g, r in zip(got, (off, d1, d2), strict=True)))
    for (sw2, sb2, deg), ref in NT_DEEP_NTK.items():
        got = deep_ntk_diagonal(
            sw2,
            sb2,
            lambda s, deg=deg: (
                gauss_hermite_square(np.tanh, s, deg),
                gauss_hermite_square(_sech2, s, deg),
            ),
        )
        worst = max(worst, abs(got - ref) / ref)
    print(f"  max difference (kernels absolute, deep NTK relative): {worst:.1e}")

    print("\n[1] tanh, q11, q22 ~ U(0, 10), rho ~ U(-0.999, 0.999), 10^4 covariances, 25 nodes")
    rng = np.random.default_rng(0)
    n = 10_000
    q11, q22 = rng.uniform(0.0, 10.0, n), rng.uniform(0.0, 10.0, n)
    q12 = rng.uniform(-0.999, 0.999, n) * np.sqrt(q11 * q22)
    exact, bound = tanh_pair(q11, q12, q22, return_error=True)
    err = np.abs(gauss_hermite_pair(np.tanh, q11, q12, q22) - exact)
    print(
        f"  median {np.median(err):.2e}  RMS {np.sqrt(np.mean(err**2)):.2e}  max {err.max():.2e}"
        f"  (geosym error bound <= {bound.max():.1e})"
    )

    print("\n[2] E[tanh(u)^2], u ~ N(0, 10), 25 nodes")
    print(f"  error {gauss_hermite_square(np.tanh, 10.0)[0] - float(tanh_sq(10.0)):+.3e}")

    print("\n[3] ReLU off-diagonal kernel, same covariances, 25 nodes (closed form reference)")
    rerr = np.abs(gauss_hermite_pair(_relu, q11, q12, q22) - relu_pair(q11, q12, q22))
    print(f"  median {np.median(rerr):.2e}  max {rerr.max():.2e}")

    print(f"\n[4] NTK diagonal, {DEPTH} x [Dense, tanh] + Dense")
    for sw2, sb2 in ((0.5, 9.0), (1.0, 10.0)):
        exact_ntk = deep_ntk_diagonal(sw2, sb2, lambda s: (float(tanh_sq(s)), float(dtanh_sq(s))))
        errs = []
        for deg in (25, 100, 300):
            got = deep_ntk_diagonal(
                sw2,
                sb2,
                lambda s, deg=deg: (
                    gauss_hermite_square(np.tanh, s, deg)[0],
                    gauss_hermite_square(_sech2, s, deg)[0],
                ),
            )
            errs.append(f"{deg} nodes {got - exact_ntk:+.2e}")
        print(f"  sw2 = {sw2}, sb2 = {sb2}: NTK {exact_ntk:.6f}; " + ", ".join(errs))

    print("\n[5] time on the 10^4 tanh covariances of [1] (median of 3, same process)")
    t_gh = _median_time(lambda: gauss_hermite_pair(np.tanh, q11, q12, q22))
    t_geo = _median_time(lambda: tanh_pair(q11, q12, q22))
    print(f"  25-node rule {t_gh:.3f} s, geosym certified {t_geo:.3f} s: ratio {t_geo / t_gh:.1f}x")


if __name__ == "__main__":
    main()

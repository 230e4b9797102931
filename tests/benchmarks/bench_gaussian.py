"""Benchmark: geosym's numeric Gaussian expectations against a fixed 25-node Gauss-Hermite rule.

Run on demand (not collected by pytest)::

    python tests/benchmarks/bench_gaussian.py [--points 10000] [--mp-points 6] [--repeat 3]

For each activation f it computes E[f(u1) f(u2)] on the same batch of covariances
(q11, q22 ~ U(0, 10), rho ~ U(-0.999, 0.999), fixed seed) with

* ``geosym``: :func:`geosym.gaussian.quadrature.gaussian_expectation` at its default target
  (1e-10) and at a loose target (1e-7, whose *actual* error is far smaller: the bound is
  conservative), and
* ``GH-25``: neural-tangents' ``ElementwiseNumerical`` product rule, re-implemented in
  ``bench_nt_quadrature.py`` (run from this directory: ``python tests/benchmarks/...``).

Errors: erf and ReLU against their closed forms on the whole batch; the others against the
30-digit mpmath referee :func:`gaussian_expectation_mp` on a random subsample (``--mp-points``;
references are cached in the temp directory because each costs ~10 s). Wall times are the
median of ``--repeat`` runs in this process. Nothing is asserted: the table is the result.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import mpmath as mp
import numpy as np
from bench_nt_quadrature import gauss_hermite_pair
from scipy.special import erf

from geosym.gaussian.quadrature import gaussian_expectation, gaussian_expectation_mp


def _relu(x):
    return np.maximum(x, 0.0)


def _swish(x):
    return x / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _gelu(x):
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


ACTIVATIONS = {  # name: (numpy f, mpmath f or None, kinks)
    "tanh": (np.tanh, mp.tanh, None),
    "swish": (_swish, lambda x: x / (1 + mp.exp(-x)), None),
    "softplus": (_softplus, lambda x: mp.log1p(mp.exp(x)), None),
    "elu": (_elu, lambda x: x if x > 0 else mp.expm1(x), [0.0]),
    "gelu": (_gelu, lambda x: x * mp.ncdf(x), None),
    "erf": (erf, None, None),
    "relu": (_relu, None, [0.0]),
}


def closed_form(name, q11, q12, q22):
    """Exact E[f f] for erf (Williams) and ReLU (Cho-Saul), else None."""
    if name == "erf":
        return 2 / np.pi * np.arcsin(2 * q12 / np.sqrt((1 + 2 * q11) * (1 + 2 * q22)))
    if name == "relu":
        th = np.arccos(np.clip(q12 / np.sqrt(q11 * q22), -1, 1))
        return np.sqrt(q11 * q22) / (2 * np.pi) * (np.sin(th) + (np.pi - th) * np.cos(th))
    return None


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times))


def mp_references(name, fmp, kinks, covs, cache_file):
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    out = []
    for q11, q12, q22 in covs:
        key = f"{name}:{q11!r}:{q12!r}:{q22!r}"
        if key not in cache:
            v, _ = gaussian_expectation_mp(
                [fmp, fmp],
                np.array([[q11, q12], [q12, q22]]),
                kinks=None if kinks is None else [kinks, kinks],
            )
            cache[key] = mp.nstr(v, 25)
            cache_file.write_text(json.dumps(cache))
        out.append(float(cache[key]))
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--mp-points", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=None, help="subset of activations")
    args = ap.parse_args()

    rng = np.random.default_rng(12345)
    n = args.points
    q11, q22 = rng.uniform(0, 10, n), rng.uniform(0, 10, n)
    rho = rng.uniform(-0.999, 0.999, n)
    q12 = rho * np.sqrt(q11 * q22)
    cov = np.stack([np.stack([q11, q12], -1), np.stack([q12, q22], -1)], -2)
    sub = rng.choice(n, size=min(args.mp_points, n), replace=False)
    cache_file = Path(tempfile.gettempdir()) / "geosym_bench_gaussian_mpref.json"

    rows = []
    for name, (f, fmp, kinks) in ACTIVATIONS.items():
        if args.only and name not in args.only:
            continue
        kk = None if kinks is None else [kinks, kinks]
        res, t_geo = timed(
            lambda f=f, kk=kk: gaussian_expectation([f, f], cov, kinks=kk), args.repeat
        )
        loose, t_loose = timed(
            lambda f=f, kk=kk: gaussian_expectation([f, f], cov, kinks=kk, tol=1e-7), args.repeat
        )
        nt, t_nt = timed(lambda f=f: gauss_hermite_pair(f, q11, q12, q22), args.repeat)
        exact = closed_form(name, q11, q12, q22)
        if exact is None:
            pts = list(zip(q11[sub], q12[sub], q22[sub], strict=True))
            ref = mp_references(name, fmp, kinks, pts, cache_file)
            idx, how = sub, f"mpmath-30, {sub.size} pts"
        else:
            ref, idx, how = exact, np.arange(n), f"closed form, {n} pts"
            ref = ref[idx]
        rows.append(
            (
                name,
                how,
                np.max(np.abs(res.value[idx] - ref)),
                np.max(res.error),
                np.max(np.abs(loose.value[idx] - ref)),
                np.max(loose.error),
                np.max(np.abs(nt[idx] - ref)),
                t_geo,
                t_loose,
                t_nt,
            )
        )
        print(f"{name}: done ({res.scheme})", flush=True)

    head = (
        f"{'f':9s} {'reference':22s} | {'geosym err':>10s} {'bound':>8s} | "
        f"{'tol=1e-7 err':>12s} {'bound':>8s} | {'GH-25 err':>9s} | "
        f"{'t geo':>7s} {'t 1e-7':>7s} {'t GH25':>7s} | {'ratio':>5s} {'r 1e-7':>6s}"
    )
    print(
        f"\nE[f(u1) f(u2)] on {n} covariances (q <= 10, |rho| <= 0.999), median of "
        f"{args.repeat} runs\n"
    )
    print(head)
    print("-" * len(head))
    for name, how, e, b, el, bl, ent, tg, tl, tn in rows:
        print(
            f"{name:9s} {how:22s} | {e:10.1e} {b:8.1e} | {el:12.1e} {bl:8.1e} | {ent:9.1e} | "
            f"{tg:7.3f} {tl:7.3f} {tn:7.3f} | {tg / tn:5.1f} {tl / tn:6.1f}"
        )


if __name__ == "__main__":
    main()

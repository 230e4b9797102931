"""Benchmark: geosym's measured FIM statistics against torch.func on the same network.

Run ``OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_torch_fim.py [--repeats N]`` (needs
the ``torch`` extra). Prints the relative differences of m_lambda, s_lambda, lambda_max and
the 10th eigenvalue between geosym's layer-wise Gram route (``geosym.nn.fim_statistics``) and the explicit
Jacobian of a ``torch.nn.Sequential`` copy of the same weights (``torch.func.jacrev`` over the
parameters, then the CT x CT Gram ``J J^T``), and the median wall times of both with their ratio,
measured in this process. Asserts nothing about time.

Sizes: L = 3, C = 10 outputs, T = 100 inputs, widths M = 75 and 150 (the explicit Jacobian needs
CT x P x 8 B: 0.38 GB at M = 150).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

try:
    import geosym  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from geosym.nn import MLP, fim_statistics, gaussian_inputs


def torch_statistics(net: MLP, X: np.ndarray) -> dict[str, float]:
    """The same statistics from torch.func's explicit Jacobian of a torch copy of ``net``."""
    import torch
    from torch.func import functional_call, jacrev

    layers: list[torch.nn.Module] = []
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(net.weights) - 1:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x = torch.from_numpy(X)

    def outputs(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return functional_call(model, p, (x,)).reshape(-1)  # (T*C,), sample-major

    jac = jacrev(outputs)(params)
    J = torch.cat([j.reshape(j.shape[0], -1) for j in jac.values()], dim=1)
    T, P = X.shape[0], J.shape[1]
    gram = (J @ J.T).numpy()
    eig = np.linalg.eigvalsh(gram)[::-1] / T
    return {
        "m_lambda": float(np.trace(gram)) / (T * P),
        "s_lambda": float(np.sum(gram * gram)) / (T * T * P),
        "lambda_max": float(eig[0]),
        "10th eigenvalue": float(eig[9]),
    }


def _median_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, torch threads 1; set OPENBLAS_NUM_THREADS=1 for NumPy")
    for width in (75, 150):
        net = MLP.random([width, width, width, 10], "tanh", 3.0, 0.64, seed=0)
        X = gaussian_inputs(100, width, seed=1)
        t_geo, ours = _median_time(lambda net=net, X=X: fim_statistics(net, X), args.repeats)
        t_torch, theirs = _median_time(lambda net=net, X=X: torch_statistics(net, X), args.repeats)
        mine = {
            "m_lambda": ours.m_lambda,
            "s_lambda": ours.s_lambda,
            "lambda_max": ours.lambda_max,
            "10th eigenvalue": np.sort(ours.spectrum)[-10],
        }
        diffs = {k: abs(mine[k] / v - 1) for k, v in theirs.items()}
        print(
            f"M = {width}, P = {net.n_params}, CT = 1000: geosym {t_geo:.3f} s, torch.func "
            f"{t_torch:.3f} s, ratio torch/geosym {t_torch / t_geo:.1f}x; relative differences "
            + ", ".join(f"{k} {d:.1e}" for k, d in diffs.items())
        )


if __name__ == "__main__":
    main()

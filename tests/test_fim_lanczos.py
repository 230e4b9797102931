"""The large-T route (blocked Gram + Lanczos) gives the dense route's statistics to 1e-8."""

from __future__ import annotations

import numpy as np
import pytest

from geosym.nn import MLP, fim_statistics, gram_matrix
from geosym.nn.fim_lanczos import gram_matrix_blocked, top_eigenvalues


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_lanczos_statistics_match_dense(act):
    # CT = 4 * 40 = 160 > 64, so ARPACK really runs (no eigvalsh fallback).
    net = MLP.random([12, 30, 30, 4], act, 1.5, 0.1, seed=3)
    X = np.random.default_rng(0).standard_normal((40, 12)) + 0.3  # q2_0 > 0: outliers separate
    dense = fim_statistics(net, X, method="gram")
    lanc = fim_statistics(net, X, method="lanczos")
    for k in ("m_lambda", "s_lambda", "lambda_max", "lambda_2", "kappa1", "kappa2"):
        assert getattr(lanc, k) == pytest.approx(getattr(dense, k), rel=1e-8), k
    np.testing.assert_allclose(lanc.spectrum, dense.spectrum[:4], rtol=1e-8)
    assert lanc.spectrum.size == 4


def test_blocked_gram_is_the_gram():
    net = MLP.random([7, 20, 20, 20, 3], "erf", 1.0, 0.05, seed=1)
    X = np.random.default_rng(2).standard_normal((25, 7))
    np.testing.assert_allclose(
        gram_matrix_blocked(net, X), gram_matrix(net, X), rtol=1e-12, atol=1e-12
    )


def test_top_eigenvalues_against_eigvalsh():
    A = np.random.default_rng(5).standard_normal((300, 150))
    G = A @ A.T
    np.testing.assert_allclose(top_eigenvalues(G, 5), np.linalg.eigvalsh(G)[::-1][:5], rtol=1e-10)


def test_auto_and_bad_method():
    net = MLP.random([5, 10, 2], "tanh", 1.0, 0.0, seed=0)
    X = np.random.default_rng(0).standard_normal((8, 5))
    auto = fim_statistics(net, X, method="auto")  # CT = 16: dense route, full spectrum
    assert auto.spectrum.size == min(16, net.n_params)
    with pytest.raises(ValueError, match="method must be"):
        fim_statistics(net, X, method="arnoldi")

"""Tests of geosym.gaussian.nodes: exactness of the Gauss rules, the clipped Cholesky factor and
the nested Gauss-Hermite rule against closed forms (Isserlis), singular covariances included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geosym.gaussian.nodes import (
    cholesky_clipped,
    covariance_from_upper,
    gauss_hermite,
    gauss_hermite_2d,
    gauss_hermite_rule,
    gauss_legendre,
    nested_gauss_hermite,
)


def _normal_moment(k: int) -> float:
    """E[z^k] for z ~ N(0, 1): (k-1)!! for even k, 0 for odd k."""
    return 0.0 if k % 2 else float(math.prod(range(k - 1, 0, -2)))


@pytest.mark.parametrize("n", [1, 2, 5, 12, 20])
def test_gauss_legendre_is_exact_to_degree_2n_minus_1_and_not_beyond(n):
    x, w = gauss_legendre(n)
    for k in range(2 * n):
        exact = 2.0 / (k + 1) if k % 2 == 0 else 0.0
        assert w @ x**k == pytest.approx(exact, rel=1e-13, abs=1e-14), k
    # degree 2n: the rule misses x^2n by the integral of the squared monic Legendre polynomial,
    # 2^(2n+1) (n!)^4 / ((2n+1) ((2n)!)^2)
    f = math.factorial
    miss = 2.0 ** (2 * n + 1) * f(n) ** 4 / ((2 * n + 1) * f(2 * n) ** 2)
    assert 2.0 / (2 * n + 1) - w @ x ** (2 * n) == pytest.approx(miss, rel=1e-3)


@pytest.mark.parametrize("n", [1, 2, 5, 12, 20])
def test_gauss_hermite_is_exact_to_degree_2n_minus_1_and_not_beyond(n):
    x, w = gauss_hermite(n)
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    for k in range(2 * n):  # rounding relative to the sum of |terms|
        scale = w @ np.abs(x) ** k
        assert w @ x**k == pytest.approx(_normal_moment(k), abs=1e-14 * scale), k
    # degree 2n: the rule misses E[z^2n] by E[He_n(z)^2] = n! (monic Hermite polynomial)
    miss = _normal_moment(2 * n) - w @ x ** (2 * n)
    assert miss == pytest.approx(math.factorial(n), rel=1e-6)


def test_nodes_are_the_numpy_rules_cached_and_read_only():
    x, w = gauss_legendre(12)
    xr, wr = np.polynomial.legendre.leggauss(12)
    assert np.array_equal(x, xr) and np.array_equal(w, wr)
    xh, wh = np.polynomial.hermite_e.hermegauss(12)
    assert np.array_equal(gauss_hermite(12)[0], xh)
    assert np.array_equal(gauss_hermite(12)[1], wh / wh.sum())
    assert gauss_legendre(12)[0] is x and gauss_hermite(7)[1] is gauss_hermite(7)[1]
    with pytest.raises(ValueError, match="read-only"):
        x[0] = 0.0
    nodes, weights = gauss_hermite_rule(2, 3)
    assert nodes.shape == (9, 2) and not weights.flags.writeable


@pytest.mark.parametrize(
    ("bad", "error"),
    [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError), ("4", TypeError)],
)
def test_node_counts_must_be_positive_integers(bad, error):
    with pytest.raises(error, match="positive integer"):
        gauss_legendre(bad)
    with pytest.raises(error, match="positive integer"):
        gauss_hermite(bad)


def _isserlis_4(C: np.ndarray) -> np.ndarray:
    """E[u1 u2 u3 u4] = C12 C34 + C13 C24 + C14 C23 (Isserlis 1918) for a batch (B, 4, 4)."""
    return C[:, 0, 1] * C[:, 2, 3] + C[:, 0, 2] * C[:, 1, 3] + C[:, 0, 3] * C[:, 1, 2]


def _random_covs(n: int, d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((n, d, d + 1))
    return a @ np.swapaxes(a, 1, 2) / (d + 1)


def test_nested_rule_gives_isserlis_fourth_moments_exactly():
    C = _random_covs(20, 4, seed=1)
    ident = (lambda u: u,) * 4
    # u = L xi: the product is of degree 4 in xi_1, so n = 3 nodes (degree 5) are exact
    ref = _isserlis_4(C)
    np.testing.assert_allclose(nested_gauss_hermite(ident, C, 3), ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(nested_gauss_hermite(ident, C, 8), ref, rtol=1e-13, atol=1e-15)
    assert np.abs(nested_gauss_hermite(ident, C, 2) - ref).max() > 1e-3  # degree 3 < 4
    # E[u1^2 u2^2] = C11 C22 + 2 C12^2 (degree 4 in xi_1): n = 3
    sq = (lambda u: u**2,) * 2
    c2 = C[:, :2, :2]
    ref2 = c2[:, 0, 0] * c2[:, 1, 1] + 2 * c2[:, 0, 1] ** 2
    np.testing.assert_allclose(nested_gauss_hermite(sq, c2, 3), ref2, rtol=1e-13)


def test_nested_rule_on_a_singular_covariance_and_in_chunks():
    """u2 = u1 and u4 = u1 + u3: zero pivots drop their directions and the value is still
    Isserlis' fourth moment of the (singular) covariance."""
    A = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.3, 0.8, 0.0], [1.3, 0.8, 0.0]])
    C = (A @ A.T)[None]
    L = cholesky_clipped(C)
    assert L[0, 1, 1] == 0.0 and L[0, 3, 3] == 0.0
    np.testing.assert_allclose(L[0] @ L[0].T, C[0], atol=1e-15)
    ident = (lambda u: u,) * 4
    assert nested_gauss_hermite(ident, C, 3)[0] == pytest.approx(_isserlis_4(C)[0], abs=1e-14)
    # chunking (one covariance per chunk) changes nothing
    Cs = np.concatenate([C, _random_covs(5, 4, seed=2)])
    whole = nested_gauss_hermite(ident, Cs, 3)
    np.testing.assert_allclose(nested_gauss_hermite(ident, Cs, 3, chunk=1), whole, rtol=1e-15)


def test_gauss_hermite_2d_broadcasts_and_matches_a_smooth_closed_form():
    """E[cos(u1) cos(u2)] = exp(-(c11 + c22)/2) cosh(c12) (characteristic function); the rule
    with 24 nodes is accurate to 1e-12 at unit variances (entire integrand)."""
    c12 = np.linspace(-0.6, 0.6, 7)[:, None]  # |c12| < sqrt(c11 c22): PSD
    c22 = np.array([[0.5, 1.0]])
    got = gauss_hermite_2d(np.cos, np.cos, 1.0, c12, c22, 24)
    assert got.shape == (7, 2)
    np.testing.assert_allclose(got, np.exp(-(1.0 + c22) / 2) * np.cosh(c12), atol=1e-12)


def test_covariance_from_upper_is_symmetric_row_major():
    ent = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    C = covariance_from_upper(ent, 3)
    np.testing.assert_array_equal(C[0], [[1, 2, 3], [2, 4, 5], [3, 5, 6]])

"""geosym.gaussian.orthant: orthant probabilities, truncated moments, ReLU's committee I4."""

import mpmath as mp
import numpy as np
import pytest

from geosym.gaussian.orthant import (
    RELU_I4_ERROR,
    orthant_probability,
    relu_i4,
    truncated_first_moment,
    truncated_second_moment,
)


def _random_cov(rng, n, k=4, extra=2):
    a = rng.standard_normal((n, k, k + extra)) / np.sqrt(k + extra)
    return a @ np.swapaxes(a, 1, 2)


def _mp_i4(C, dps=25):
    """Independent reference: E[u3 u4 1{u>0}] = E[u3 u4 1{u3,u4>0} P(u1,u2>0 | u3,u4)],
    the inner bivariate probability by a 1-D mpmath quadrature, the outer 2-D by mpmath."""
    mp.mp.dps = dps
    C = mp.matrix(C.tolist())
    A, B, D = C[0:2, 0:2], C[0:2, 2:4], C[2:4, 2:4]
    Di = D**-1
    S = A - B * Di * B.T  # conditional covariance of (u1, u2)
    s1, s2 = mp.sqrt(S[0, 0]), mp.sqrt(S[1, 1])
    r = S[0, 1] / (s1 * s2)
    G = B * Di
    detD = D[0, 0] * D[1, 1] - D[0, 1] ** 2

    def inner(x, y):  # P(u1 > 0, u2 > 0 | u3 = x, u4 = y)
        m1 = (G[0, 0] * x + G[0, 1] * y) / s1
        m2 = (G[1, 0] * x + G[1, 1] * y) / s2
        # P(Z1 > -m1, Z2 > -m2) = int_{-m1}^inf phi(z) Phi((m2 + r z)/sqrt(1-r^2)) dz
        q = mp.sqrt(1 - r**2)
        return mp.quad(lambda z: mp.npdf(z) * mp.ncdf((m2 + r * z) / q), [-m1, mp.inf])

    def dens(x, y):
        v = Di[0, 0] * x * x + 2 * Di[0, 1] * x * y + Di[1, 1] * y * y
        return mp.exp(-v / 2) / (2 * mp.pi * mp.sqrt(detD))

    return float(mp.quad(lambda x, y: x * y * dens(x, y) * inner(x, y), [0, mp.inf], [0, mp.inf]))


@pytest.mark.parametrize("r", [2, 3, 4])
def test_equicorrelated_half_is_one_over_r_plus_one(r):
    # rho = 1/2: P_r = 1/(r + 1) exactly
    R = np.full((r, r), 0.5) + 0.5 * np.eye(r)
    assert abs(float(orthant_probability(R)) - 1 / (r + 1)) < 1e-14


def test_block_diagonal_p4_is_product_of_p2():
    rng = np.random.default_rng(3)
    for _ in range(5):
        r1, r2 = rng.uniform(-0.999, 0.999, 2)
        C = np.zeros((4, 4))
        C[:2, :2] = [[1, r1], [r1, 1]]
        C[2:, 2:] = [[2, 2 * r2], [2 * r2, 2]]
        p2 = orthant_probability(C[:2, :2]) * orthant_probability(C[2:, 2:])
        assert abs(float(orthant_probability(C)) - float(p2)) < 1e-13


def test_diagonal_covariance_factorises():
    # C diagonal: E[Th(u1)Th(u2) u3+ u4+] = 1/4 * sqrt(c33/(2 pi)) sqrt(c44/(2 pi))
    c = np.array([0.7, 1.3, 2.0, 0.5])
    want = 0.25 * np.sqrt(c[2] * c[3]) / (2 * np.pi)
    assert abs(float(relu_i4(np.diag(c))) - want) < 1e-15
    M = truncated_second_moment(np.diag(c[:3]))
    assert abs(M[0, 0] - c[0] / 2 / 4) < 1e-15  # E[u^2 1{u>0}] P(u2>0) P(u3>0)


def test_fully_correlated_fields_reduce():
    # u_a = s_a z with s_a > 0: I4 = s3 s4 E[z^2 1{z>0}] = s3 s4 / 2
    s = np.array([0.5, 1.0, 1.5, 2.0])
    assert abs(float(relu_i4(np.outer(s, s))) - s[2] * s[3] / 2) < 1e-14
    # u_2 = -u_1: Theta(u_1) Theta(u_2) = 0
    C = np.eye(4)
    C[0, 1] = C[1, 0] = -1.0
    assert relu_i4(C) == 0.0


def test_against_monte_carlo():
    # 4e6 samples: standard error about 2e-5; 5 standard errors
    rng = np.random.default_rng(5)
    covs = _random_cov(rng, 3)
    got = relu_i4(covs)
    for C, g in zip(covs, got, strict=True):
        u = rng.standard_normal((4_000_000, 4)) @ np.linalg.cholesky(C).T
        v = np.where((u > 0).all(axis=1), u[:, 2] * u[:, 3], 0.0)
        assert abs(g - v.mean()) < 5 * v.std() / np.sqrt(v.size)


def test_first_moment_against_monte_carlo():
    rng = np.random.default_rng(6)
    C = _random_cov(rng, 1, k=3)[0]
    u = rng.standard_normal((2_000_000, 3)) @ np.linalg.cholesky(C).T
    v = np.where((u > 0).all(axis=1)[:, None], u, 0.0)
    se = v.std(axis=0) / np.sqrt(len(v))
    assert np.all(np.abs(truncated_first_moment(C) - v.mean(axis=0)) < 5 * se)


def test_batched_shapes_and_consistency():
    rng = np.random.default_rng(8)
    covs = _random_cov(rng, 6).reshape(2, 3, 4, 4)
    out = relu_i4(covs)
    assert out.shape == (2, 3)
    assert np.allclose(out.ravel(), [relu_i4(c) for c in covs.reshape(-1, 4, 4)], atol=0)
    M = truncated_second_moment(covs)
    assert np.allclose(M[..., 2, 3], out, atol=1e-15)


def test_near_coincident_fields_continuous():
    # fields 0 and 1 (and 2) approach each other: I4 tends to the merged (3-D / 2-D) value
    # like sqrt(gap); checked at gaps 1e-6 .. 1e-16 against the exactly coincident value
    rng = np.random.default_rng(9)
    a = rng.standard_normal((4, 6)) / np.sqrt(6)
    z = rng.standard_normal((2, 6))
    a[1] = a[2] = a[0]
    exact = float(relu_i4(a @ a.T))
    for eps in [1e-6, 1e-9, 1e-12, 1e-14, 1e-16]:
        b = a.copy()
        b[1] += np.sqrt(eps) * z[0]
        b[2] += np.sqrt(eps) * z[1]
        v = float(relu_i4(b @ b.T))
        assert np.isfinite(v)
        assert abs(v - exact) < 10 * np.sqrt(eps) + 2 * RELU_I4_ERROR


@pytest.mark.slow
def test_against_independent_quadrature():
    # nested mpmath quadrature of E[u3 u4 P(u1, u2 > 0 | u3, u4)] (a different reduction)
    rng = np.random.default_rng(10)
    C = _random_cov(rng, 1)[0]
    assert abs(float(relu_i4(C)) - _mp_i4(C, dps=15)) < RELU_I4_ERROR


@pytest.mark.slow
def test_near_singular_against_independent_quadrature():
    rng = np.random.default_rng(12)
    for eps in [1e-4, 1e-8, 1e-12]:
        a = rng.standard_normal((4, 6)) / np.sqrt(6)
        a[1] = a[0] + np.sqrt(eps) * rng.standard_normal(6)
        C = a @ a.T
        s = np.sqrt(C[2, 2] * C[3, 3])
        assert abs(float(relu_i4(C)) - _mp_i4(C, dps=20)) < RELU_I4_ERROR * s


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        relu_i4(np.eye(3))
    with pytest.raises(ValueError, match="positive variances"):
        orthant_probability(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        truncated_second_moment(np.full((2, 2), np.nan))


def test_committee_provider_uses_orthant_route():
    from geosym.committee import integral_provider

    p = integral_provider("relu")
    assert p.methods["I4"].startswith("orthant moments")
    assert p.error["I4"] == RELU_I4_ERROR
    rng = np.random.default_rng(13)
    C = _random_cov(rng, 1, k=5)[0]
    # repeated indices: I4(0,0,2,3) = E[Th(u0) u2+ u3+], I4(0,1,2,2) = E[Th Th u2^2 1{u2>0}]
    idx = [(0, 1, 2, 3), (0, 0, 2, 3), (0, 1, 2, 2), (0, 2, 2, 4)]
    got = [float(p.I4(C, *map(np.array, t))) for t in idx]
    want = [
        truncated_second_moment(C[np.ix_(h, h)])[i, j]
        for h, i, j in [
            ([0, 1, 2, 3], 2, 3),
            ([0, 2, 3], 1, 2),
            ([0, 1, 2], 2, 2),
            ([0, 2, 4], 1, 2),
        ]
    ]
    assert np.allclose(got, want, rtol=0, atol=1e-15)
    # against a much finer Gauss-Hermite rule than the old default (n4 = 12)
    iu = np.triu_indices(4)
    fine = p.numeric_i4(*C[:4, :4][iu], n=40)
    assert abs(got[0] - float(fine)) < 5e-3  # the 4-D rule converges slowly (kink): 2.7e-3 here


@pytest.mark.slow
def test_committee_ode_relu_against_fine_gauss_hermite():
    # K = M = 2, eta = 0.5, alpha up to 20: order parameters with the new I4 against those
    # with a 4-D Gauss-Hermite I4 at n4 = 24 (its own I4 error is about 1e-3 on this kinked
    # integrand and enters only through the eta^2 term), hence the tolerance 1e-3
    from geosym.committee import CommitteeODE
    from geosym.committee.integrals import IntegralProvider, _Kernel

    ref = IntegralProvider("relu", n4=24)
    ref.kernels["I4"] = _Kernel(ref._numeric_i4, "GH n4=24")
    a = CommitteeODE("relu", 2, 2, eta=0.5).integrate(20.0, seed=0)
    b = CommitteeODE(ref, 2, 2, eta=0.5).integrate(20.0, seed=0, alphas=a.alpha)
    assert ref.methods["I4"].startswith("orthant") and b.Q.shape == a.Q.shape
    assert np.max(np.abs(a.Q - b.Q)) < 1e-3 and np.max(np.abs(a.R - b.R)) < 1e-3

"""Legendre/dual identities, limits and divergence properties of the entropic cost (Amari, Karakida & Oizumi 2018)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import rel_entr

from geosym.transport import (
    Grid,
    ako_divergence,
    entropic_cost,
    entropic_cost_gradient,
    metric,
    plan_divergence,
    sinkhorn,
    sinkhorn_divergence,
    unregularized_ot,
)

GRID = Grid((10,))
COST = GRID.cost_matrix()
TIGHT = {"tol": 1e-13, "max_iter": 100_000}


def _pair(seed: int, n: int = 10, conc: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(n, conc)), rng.dirichlet(np.full(n, conc))


def _tangent(seed: int, n: int = 10) -> np.ndarray:
    u = np.random.default_rng(seed).normal(size=n)
    return u - u.mean()


@pytest.mark.parametrize("reg", [0.02, 0.3])
def test_gradient_is_potentials(reg):
    """∇C_λ = (α, β) (AKO 2018 §3), central differences along Σdp = 0 and Σdq = 0."""
    p, q = _pair(0)
    alpha, beta = entropic_cost_gradient(p, q, GRID, reg, **TIGHT)
    u, v, t = _tangent(1), _tangent(2), 1e-5
    dp = (
        entropic_cost(p + t * u, q, GRID, reg, **TIGHT)
        - entropic_cost(p - t * u, q, GRID, reg, **TIGHT)
    ) / (2 * t)
    dq = (
        entropic_cost(p, q + t * v, GRID, reg, **TIGHT)
        - entropic_cost(p, q - t * v, GRID, reg, **TIGHT)
    ) / (2 * t)
    assert dp == pytest.approx(alpha @ u, rel=1e-6, abs=1e-9)
    assert dq == pytest.approx(beta @ v, rel=1e-6, abs=1e-9)


def test_bregman_is_reg_times_kl_of_plans():
    """B_λ = C − C' − <∇C', Δ> = λ KL(P ‖ P') (Amari, Karakida & Oizumi 2018), against dense plans."""
    reg = 0.05
    p, q = _pair(3)
    p2, q2 = _pair(4)
    res, ref = sinkhorn(p, q, COST, reg, **TIGHT), sinkhorn(p2, q2, COST, reg, **TIGHT)
    kl = float(rel_entr(res.plan, ref.plan).sum() - res.plan.sum() + ref.plan.sum())
    bregman = res.value - ref.value - ref.alpha @ (p - p2) - ref.beta @ (q - q2)
    div = plan_divergence(p, q, p2, q2, COST, reg, **TIGHT)
    assert div == pytest.approx(reg * kl, rel=1e-8)
    assert div == pytest.approx(bregman, rel=1e-8)
    assert plan_divergence(p, q, p, q, COST, reg) == pytest.approx(0.0, abs=1e-12)


def test_plan_divergence_infinite_off_support():
    p, q = _pair(5)
    p0 = p.copy()
    p0[3] = 0.0
    p0 /= p0.sum()
    assert plan_divergence(p, q, p0, q, COST, 0.1) == np.inf
    assert np.isfinite(plan_divergence(p0, q, p, q, COST, 0.1))


@pytest.mark.parametrize("reg", [0.01, 0.2])
def test_metric_by_finite_differences(reg):
    """g(u, u) = d/dt <β(p, p + t u), u> at t = 0 (the Riemannian metric of Amari, Karakida & Oizumi 2018)."""
    p, _ = _pair(6, conc=5.0)
    g = metric(p, GRID, reg, **TIGHT)
    np.testing.assert_allclose(g, g.T, atol=1e-10 * np.abs(g).max())
    u, t = _tangent(7), 1e-5
    plus = entropic_cost_gradient(p, p + t * u, GRID, reg, **TIGHT)[1]
    minus = entropic_cost_gradient(p, p - t * u, GRID, reg, **TIGHT)[1]
    assert u @ g @ u == pytest.approx((plus - minus) @ u / (2 * t), rel=1e-5)
    assert np.linalg.eigvalsh(g)[1] > 0  # positive on the tangent space


def test_metric_fisher_limit():
    """g_λ / λ → Σ u²/p as λ → ∞ (Fisher metric limit; ratio 1.0000 at λ ≥ 10)."""
    p, _ = _pair(8, conc=5.0)
    u = _tangent(9)
    fisher = float((u**2 / p).sum())
    assert u @ metric(p, GRID, 100.0) @ u / 100.0 == pytest.approx(fisher, rel=1e-3)
    assert abs(u @ metric(p, GRID, 0.01) @ u / 0.01 / fisher - 1) > 0.5  # not Fisher at small λ


def test_ako_divergence_limits():
    """D_λ → W (exact LP) as λ → 0 and → KL(q ‖ p) as λ → ∞ (Amari, Karakida, Oizumi & Cuturi 2019)."""
    p, q = _pair(10, conc=5.0)
    w = unregularized_ot(p, q, COST)
    small = ako_divergence(p, q, GRID, 2e-4, max_iter=200_000, eps_scaling=0.5)
    assert small == pytest.approx(w, rel=0.05)
    kl = float(rel_entr(q, p).sum())
    assert ako_divergence(p, q, GRID, 1e4) == pytest.approx(kl, rel=1e-3)
    assert ako_divergence(p, q, GRID, 1.0) != pytest.approx(kl, rel=0.05)


def test_sinkhorn_divergence_limits():
    """S_λ → W as λ → 0 and → −½(p−q)ᵀM(p−q) (MMD with kernel −M) as λ → ∞ (Feydy 2019)."""
    p, q = _pair(11, conc=5.0)
    w = unregularized_ot(p, q, COST)
    assert sinkhorn_divergence(
        p, q, GRID, 2e-4, max_iter=200_000, eps_scaling=0.5
    ) == pytest.approx(w, rel=0.05)
    mmd = -0.5 * (p - q) @ COST @ (p - q)
    assert sinkhorn_divergence(p, q, GRID, 1e3) == pytest.approx(mmd, rel=1e-3)


@pytest.mark.parametrize("reg", [0.02, 0.1, 1.0])
def test_divergences_zero_at_equality_and_nonnegative(reg):
    """D_λ, S_λ vanish at p = q and are ≥ 0 on random Dirichlet pairs (Amari, Karakida, Oizumi & Cuturi 2019)."""
    for seed in range(12):
        p, q = _pair(100 + seed)
        assert ako_divergence(p, q, GRID, reg) > 0
        assert sinkhorn_divergence(p, q, GRID, reg) > 0
    assert ako_divergence(p, p, GRID, reg) == pytest.approx(0.0, abs=1e-12)
    assert sinkhorn_divergence(p, p, GRID, reg) == pytest.approx(0.0, abs=1e-12)


def test_one_sided_corrections_go_negative():
    """C(p,q) − C(p,p) is *not* a divergence: it is negative for some random pairs already at
    λ = 0.02, and q ↦ C(p, q) is minimal at the blurred q* = Kᵀ(p ⊘ K1), not at p (Amari, Karakida & Oizumi 2018)."""
    reg, grid = 0.02, Grid((30,))
    rng = np.random.default_rng(0)
    pairs = [rng.dirichlet(np.full(30, 5.0), size=2) for _ in range(12)]
    one_sided = [entropic_cost(p, q, grid, reg) - entropic_cost(p, p, grid, reg) for p, q in pairs]
    assert sum(d < 0 for d in one_sided) >= 2  # pairs 5 and 10 with this seed
    assert min(sinkhorn_divergence(p, q, grid, reg) for p, q in pairs[:6]) > 0
    x = grid.axis(0)
    p = np.exp(-((x - 0.5) ** 2) / (2 * 0.1**2))
    p /= p.sum()
    kernel = np.exp(-grid.cost_matrix() / reg)
    blurred = kernel.T @ (p / kernel.sum(1))
    assert entropic_cost(p, blurred, grid, reg) < entropic_cost(p, p, grid, reg)
    assert blurred @ (x - 0.5) ** 2 > 1.2 * (p @ (x - 0.5) ** 2)  # wider than p


def test_unregularized_ot_1d_closed_form():
    """On the line W_2^2 is the L2 distance of quantile functions; two Diracs: |x - y|^2."""
    p, q = np.zeros(10), np.zeros(10)
    p[1], q[7] = 1.0, 1.0
    x = GRID.axis(0)
    assert unregularized_ot(p, q, GRID) == pytest.approx((x[7] - x[1]) ** 2)


def test_bad_input():
    p, q = _pair(0)
    with pytest.raises(ValueError, match="p must be strictly positive"):
        metric(np.r_[0.0, p[1:] / p[1:].sum()], GRID, 0.1)
    with pytest.raises(ValueError, match="cost must be square"):
        sinkhorn_divergence(p, q, np.ones((10, 9)), 0.1)
    with pytest.raises(ValueError, match="q has shape"):
        ako_divergence(p, q[:5], GRID, 0.1)
    with pytest.raises(ValueError, match="reg must be"):
        plan_divergence(p, q, p, q, GRID, -0.1)

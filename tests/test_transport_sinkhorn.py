"""Log-domain Sinkhorn: agreement with POT, grid = dense, robustness, diagnostics, bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from geosym.errors import ConvergenceError
from geosym.transport import Grid, sinkhorn, sinkhorn_divergence

ot = pytest.importorskip("ot")


def _bumps(x: np.ndarray, centres: tuple[float, ...], width: float) -> np.ndarray:
    h = sum(np.exp(-((x - c) ** 2) / (2 * width**2)) for c in centres)
    return h / h.sum()


@pytest.fixture
def dense_problem():
    rng = np.random.default_rng(0)
    n, m = 30, 25
    x, y = rng.random((n, 2)), rng.random((m, 2))
    cost = ((x[:, None] - y[None]) ** 2).sum(-1)
    return rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(m)), cost


def _plan_value(plan: np.ndarray, cost: np.ndarray, reg: float) -> float:
    return float((plan * cost).sum() + reg * (plan * np.log(plan)).sum())


@pytest.mark.parametrize("reg", [1e-1, 1e-2])
def test_agrees_with_pot_sinkhorn_log(dense_problem, reg):
    a, b, cost = dense_problem
    res = sinkhorn(a, b, cost, reg, tol=1e-11)
    ref = ot.bregman.sinkhorn_log(a, b, cost, reg, stopThr=1e-12, numItermax=100_000)
    assert res.converged and res.marginal_error <= 1e-11
    np.testing.assert_allclose(res.plan, ref, atol=1e-9 * ref.max())
    assert res.value == pytest.approx(_plan_value(ref, cost, reg), rel=1e-8)
    assert res.transport_cost == pytest.approx(float((ref * cost).sum()), rel=1e-8)
    assert res.entropy == pytest.approx(float(-(ref * np.log(ref)).sum()), rel=1e-8)


def test_legendre_identity_and_marginals(dense_problem):
    """C_λ = <α,a> + <β,b> (AKO 2018 eq. 3); rows exact, columns to tol."""
    a, b, cost = dense_problem
    res = sinkhorn(a, b, cost, 0.05, tol=1e-12)
    assert res.value == pytest.approx(res.alpha @ a + res.beta @ b, abs=1e-12)
    np.testing.assert_allclose(res.plan.sum(1), a, atol=1e-14)
    assert np.abs(res.plan.sum(0) - b).sum() == pytest.approx(res.marginal_error, rel=1e-3)


@pytest.mark.parametrize("shape", [(40,), (7, 9)])
def test_grid_equals_dense(shape):
    rng = np.random.default_rng(1)
    grid = Grid(shape, extent=2.0)
    a = rng.dirichlet(np.ones(grid.size)).reshape(shape)
    b = rng.dirichlet(np.ones(grid.size)).reshape(shape)
    res = sinkhorn(a, b, grid, 0.1, tol=1e-11)
    dense = sinkhorn(a.ravel(), b.ravel(), grid.cost_matrix(), 0.1, tol=1e-11)
    assert res.alpha.shape == shape and res.beta.shape == shape
    assert res.n_iter == dense.n_iter
    np.testing.assert_allclose(res.plan, dense.plan, atol=1e-13)
    assert res.value == pytest.approx(dense.value, rel=1e-12)
    assert res.transport_cost == pytest.approx(dense.transport_cost, rel=1e-12)
    assert grid.max_cost == pytest.approx(grid.cost_matrix().max())


def test_tiny_reg_where_pot_kernel_mode_fails():
    """reg = 1e-4 · max M: POT's kernel-mode ``ot.sinkhorn`` underflows and returns a plan whose
    column marginal is off by ~0.6 in L1 and whose cost is ~40% low (a documented
    failure); geosym converges and agrees with POT's (slow, correct) ``sinkhorn_log``."""
    x = np.linspace(0, 1, 60)
    cost = np.subtract.outer(x, x) ** 2
    a = np.exp(-((x - 0.25) ** 2) / 0.005) + np.exp(-((x - 0.7) ** 2) / 0.003)
    a, b = a / a.sum(), _bumps(x, (0.5,), np.sqrt(0.005))
    res = sinkhorn(a, b, cost, 1e-4, max_iter=20_000)
    assert res.converged
    ref = ot.bregman.sinkhorn_log(a, b, cost, 1e-4, stopThr=1e-10, numItermax=20_000)
    np.testing.assert_allclose(res.plan, ref, atol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = ot.sinkhorn(a, b, cost, 1e-4)
    assert np.abs(bad.sum(0) - b).sum() > 0.1  # POT's wrong answer
    assert abs((bad * cost).sum() - res.transport_cost) > 0.1 * res.transport_cost


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")
def test_zero_mass_bins_where_pot_kernel_mode_fails():
    """Images with exact zeros: POT kernel mode returns garbage (column error ~1); geosym is
    right (matches sinkhorn_log), potentials are -inf exactly on the zero bins."""
    grid = Grid((10, 10))
    a = np.zeros(grid.shape)
    a[2:4, 2:8] = 1 / 12
    b = np.zeros(grid.shape)
    b[5:9, 6:8] = 1 / 8
    res = sinkhorn(a, b, grid, 1e-2)
    assert res.converged
    assert np.array_equal(np.isneginf(res.alpha), a == 0)
    assert np.array_equal(np.isneginf(res.beta), b == 0)
    assert res.plan[a.ravel() == 0].max() == 0.0
    cost = grid.cost_matrix()
    ref = ot.bregman.sinkhorn_log(a.ravel(), b.ravel(), cost, 1e-2, stopThr=1e-11)
    np.testing.assert_allclose(res.plan, ref, atol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = ot.sinkhorn(a.ravel(), b.ravel(), cost, 1e-2)
    assert np.abs(bad.sum(0) - b.ravel()).sum() > 0.5
    assert (bad * cost).sum() < 0.1 * res.transport_cost
    assert json.dumps(res.to_dict(), allow_nan=False)  # -inf potentials become null


def test_self_transport_symmetric_updates_agree_with_pot():
    x = np.linspace(0, 1, 50)
    cost = np.subtract.outer(x, x) ** 2
    p = _bumps(x, (0.3, 0.6), 0.08)
    res = sinkhorn(p, p, cost, 1e-3)
    ref = ot.bregman.sinkhorn_log(p, p, cost, 1e-3, stopThr=1e-12, numItermax=100_000)
    assert res.converged and res.n_iter < 100
    np.testing.assert_allclose(res.alpha, res.beta)
    np.testing.assert_allclose(res.plan, ref, atol=1e-8)
    assert res.value == pytest.approx(_plan_value(np.maximum(ref, 1e-300), cost, 1e-3), abs=1e-8)


def test_eps_scaling_same_answer():
    x = np.linspace(0, 1, 60)
    cost = np.subtract.outer(x, x) ** 2
    a, b = _bumps(x, (0.2, 0.8), 0.05), _bumps(x, (0.5,), 0.1)
    plain = sinkhorn(a, b, cost, 1e-3, tol=1e-10)
    scaled = sinkhorn(a, b, cost, 1e-3, tol=1e-10, eps_scaling=0.5)
    assert scaled.converged
    assert scaled.value == pytest.approx(plain.value, rel=1e-8)
    np.testing.assert_allclose(scaled.plan, plain.plan, atol=1e-9)


def test_eps_scaling_auto_below_1e_3_max_cost():
    """The default ``eps_scaling="auto"`` scales (factor 0.5) exactly when reg < 1e-3 · max M,
    and gives the plain answer to the tolerance."""
    from geosym.transport._stages import schedule

    x = np.linspace(0, 1, 60)
    cost = 2.0 * np.subtract.outer(x, x) ** 2  # max M = 2
    assert schedule(2.1e-3, "auto", cost) == [2.1e-3]
    stages = schedule(1e-3, "auto", cost)
    assert stages[0] == 2.0 and stages[-1] == 1e-3
    np.testing.assert_allclose(np.diff(np.log(stages[:-1])), np.log(0.5))
    with pytest.raises(ValueError, match="'auto' or None"):
        schedule(1e-3, "always", cost)
    a, b = _bumps(x, (0.2, 0.8), 0.05), _bumps(x, (0.5,), 0.1)
    auto = sinkhorn(a, b, cost, 4e-4, tol=1e-10)
    plain = sinkhorn(a, b, cost, 4e-4, tol=1e-10, eps_scaling=None, max_iter=50_000)
    assert auto.converged and plain.converged
    assert auto.value == pytest.approx(plain.value, rel=1e-8)


@pytest.mark.slow
def test_64x64_zero_bins_at_reg_1e_4_max_cost_converges_by_default():
    """A rectangle against a disc on a 64×64 grid (74 % and 89 % zero bins) at reg 1e-4 · max M:
    the default ε-scaling converges to tol 1e-9 in ~700 sweeps (measured 694-726 for factors
    0.3-0.7); plain sweeps need 3320 (measured), so 1500 of them do not converge."""
    grid = Grid((64, 64))
    a = np.zeros(grid.shape)
    a[10:30, 8:40] = 1
    yy, xx = np.mgrid[0:64, 0:64]
    b = (((yy - 44) ** 2 + (xx - 40) ** 2) < 12**2).astype(float)
    reg = 1e-4 * grid.max_cost
    res = sinkhorn(a, b, grid, reg, max_iter=1500, on_fail="raise")
    assert res.converged and res.n_iter < 1000
    with pytest.warns(RuntimeWarning, match="did not converge in 1500 iterations"):
        plain = sinkhorn(a, b, grid, reg, max_iter=1500, eps_scaling=None)
    assert plain.marginal_error > 1e-9
    assert plain.value == pytest.approx(res.value, rel=1e-4)  # still moving: 2.1e-5 (measured)


def test_non_convergence_reported():
    x = np.linspace(0, 1, 30)
    cost = np.subtract.outer(x, x) ** 2
    a, b = _bumps(x, (0.2,), 0.05), _bumps(x, (0.8,), 0.05)
    with pytest.warns(RuntimeWarning, match="did not converge in 3 iterations"):
        res = sinkhorn(a, b, cost, 1e-3, max_iter=3)
    assert not res.converged and res.marginal_error > 1e-9 and res.n_iter == 3
    assert np.abs(res.plan.sum(0) - b).sum() == pytest.approx(res.marginal_error, rel=1e-6)
    with pytest.raises(ConvergenceError, match="marginal error"):
        sinkhorn(a, b, cost, 1e-3, max_iter=3, on_fail="raise")


def test_to_dict_is_json():
    res = sinkhorn([0.5, 0.5], [0.25, 0.75], [[0.0, 1.0], [1.0, 0.0]], 0.5)
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert set(d) >= {"value", "transport_cost", "entropy", "n_iter", "converged", "alpha"}
    assert d["converged"] is True and len(d["beta"]) == 2
    assert res.passed and d["tol"] == 1e-9 and "cost" not in d


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"a": [0.5, -0.1, 0.6]}, ValueError, "a has negative masses"),
        ({"b": [0.5, np.nan, 0.5]}, ValueError, "b contains non-finite"),
        ({"a": [0.0, 0.0, 0.0]}, ValueError, "a is all zeros"),
        ({"b": [0.5, 0.5]}, ValueError, r"b has shape \(2,\) but the cost expects \(3,\)"),
        ({"reg": 0.0}, ValueError, "reg must be a finite number > 0"),
        ({"reg": -1.0}, ValueError, "reg must be"),
        ({"reg": "0.1"}, TypeError, "reg must be a real number"),
        ({"a": ["x", "y", "z"]}, TypeError, "a must be an array of real numbers"),
        ({"cost": np.ones(3)}, ValueError, "cost must be a non-empty 2-D"),
        ({"cost": np.full((3, 3), np.inf)}, ValueError, "cost contains non-finite"),
        ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        ({"tol": -1.0}, ValueError, "tol must be"),
        ({"eps_scaling": 1.5}, ValueError, "eps_scaling must be a factor"),
        ({"on_fail": "ignore"}, ValueError, "on_fail must be"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = {"a": [0.2, 0.3, 0.5], "b": [0.3, 0.3, 0.4], "cost": 1 - np.eye(3), "reg": 0.1}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        sinkhorn(**args)


def test_unnormalised_histograms_are_normalised_with_warning():
    cost = 1 - np.eye(3)
    with pytest.warns(UserWarning, match="a sums to 2, not 1; normalising"):
        res = sinkhorn([0.4, 0.6, 1.0], [0.2, 0.3, 0.5], cost, 0.1)
    np.testing.assert_allclose(res.plan.sum(1), [0.2, 0.3, 0.5], atol=1e-14)
    with pytest.warns(UserWarning, match=r"b sums to 1\.000001, not 1; normalising"):
        sinkhorn([0.2, 0.3, 0.5], [0.3, 0.3, 0.400001], cost, 0.1)


def test_cost_symmetric_to_rounding_takes_the_self_transport_path():
    """POT's ``ot.dist(x, x)`` is symmetric only to rounding (~4e-15 here); self-transport must
    still use the symmetric sweeps: plain Sinkhorn needs more than 10 000 sweeps at this reg
    (measured), the symmetric ones ~20; the value is that of the exactly symmetrised cost."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    cost = ot.dist(x, x)
    assert 0 < np.abs(cost - cost.T).max() < 1e-12 * cost.max()
    a = rng.random(60)
    a /= a.sum()
    reg = 1e-3 * cost.max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no non-convergence warning
        res = sinkhorn(a, a, cost, reg)
        ref = sinkhorn(a, a, 0.5 * (cost + cost.T), reg)
        div = sinkhorn_divergence(a, a[::-1] / a.sum(), cost, reg)
    assert res.converged and res.n_iter < 100
    assert res.value == pytest.approx(ref.value, abs=1e-12)
    assert div > 0
    asym = cost.copy()
    asym[0, 1] += 1e-6 * cost.max()  # not a rounding error: the general path
    with pytest.warns(RuntimeWarning, match="did not converge in 100 iterations"):
        sinkhorn(a, a, asym, reg, max_iter=100)


def test_grid_shape_checks():
    with pytest.raises(ValueError, match="shape must have 1 or 2"):
        Grid((2, 2, 2))
    with pytest.raises(ValueError, match="extent must be"):
        Grid((4,), extent=0)
    with pytest.raises(ValueError, match=r"a has shape \(16,\) but the cost expects \(4, 4\)"):
        sinkhorn(np.full(16, 1 / 16), np.full((4, 4), 1 / 16), Grid((4, 4)), 0.1)


def test_self_transport_non_convergence_reports_the_returned_plan():
    x = np.linspace(0, 1, 30)
    p = _bumps(x, (0.3, 0.6), 0.05)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        res = sinkhorn(p, p, np.subtract.outer(x, x) ** 2, 1e-3, max_iter=2)
    assert np.abs(res.plan.sum(0) - p).sum() == pytest.approx(res.marginal_error, rel=1e-8)


@pytest.mark.parametrize("spread", [1.0, 300.0, 3000.0])
def test_banded_logsumexp_is_exact(spread):
    """The matrix-product log-sum-exp (bands of h values + exact fallback) equals a max-shifted
    log-sum-exp to ~1e-14 relative, for inputs spanning up to 10^4 in log units, with
    -inf entries and all -inf lines."""
    from geosym.transport._kernel import LogSumExpProduct, logsumexp_last

    rng = np.random.default_rng(0)
    log_kernel = -rng.random((50, 40)) * 2000
    h = rng.normal(size=(3, 7, 40)) * spread
    h[0, 0, :] = -np.inf
    h[1, 2, 5:] = -np.inf
    exact = logsumexp_last(h[..., None, :] + log_kernel)
    fast = LogSumExpProduct(log_kernel)(h)
    assert np.array_equal(np.isneginf(fast), np.isneginf(exact)) and np.isneginf(exact).sum() == 50
    finite = np.isfinite(exact)
    np.testing.assert_allclose(fast[finite], exact[finite], rtol=1e-13)


@pytest.mark.parametrize(
    ("shape", "reg", "spread"),
    [((7, 9), 1e-2, 1.0), ((7, 9), 1e-3, 300.0), ((12, 10), 1e-3, 3000.0), ((5, 6), 1e-1, 1.0)],
)
def test_grid_kernel_one_pass_2d_is_exact(shape, reg, spread):
    """The one-pass 2-D soft-min (and its axis-by-axis fallback) equals the dense log-sum-exp,
    with -inf images, rows and columns."""
    from geosym.transport._kernel import LogKernel, logsumexp_last

    rng = np.random.default_rng(1)
    kernel = LogKernel(Grid(shape), reg)
    h = rng.normal(size=(3, *shape)) * spread
    h[0] = -np.inf
    h[1, 2, :] = -np.inf
    h[2, :, 3] = -np.inf
    exact = logsumexp_last(h.reshape(3, 1, -1) + kernel.log_dense()[None]).reshape(h.shape)
    fast = kernel.rows(h)
    assert np.array_equal(np.isneginf(fast), np.isneginf(exact))
    finite = np.isfinite(exact)
    np.testing.assert_allclose(fast[finite], exact[finite], rtol=1e-13, atol=1e-12)

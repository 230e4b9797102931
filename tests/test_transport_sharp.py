"""Sharp Sinkhorn (Luise et al. 2018): the gradient of ⟨M, P_λ(a, b)⟩ and the sharp barycenter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geosym.transport import Grid, barycenter, fwhm
from geosym.transport.barycenter import BarycenterResult
from geosym.transport.shapes import bump
from geosym.transport.sharp import sharp_sinkhorn

GRID1 = Grid((100,))
PAIR = np.stack([bump(100, 0.3, 0.04), bump(100, 0.7, 0.04)])


def _objective(q: np.ndarray, reg: float) -> float:
    """``J(q) = ½ Σ_k ⟨M, P_λ(p_k, q)⟩`` for the two bumps of PAIR."""
    return 0.5 * sum(sharp_sinkhorn(p, q, GRID1, reg)[0] for p in PAIR)


@pytest.mark.parametrize("dense", [True, False])
def test_gradient_matches_central_differences(dense):
    """The implicit-function gradient against central differences along zero-sum directions.

    Step 1e-5 in a histogram of total mass 1 with bins >= 1e-3: the O(h²) truncation error is
    ~1e-10 of the derivative and rounding (Sinkhorn to tol 1e-13) ~1e-9, so 1e-6 relative is fair.
    """
    rng = np.random.default_rng(3)
    x = np.linspace(0, 1, 40)
    cost = np.subtract.outer(x, x) ** 2 if dense else Grid((40,))
    a = rng.dirichlet(np.ones(40)) + 1e-3
    b = rng.dirichlet(np.ones(40)) + 1e-3
    a, b = a / a.sum(), b / b.sum()
    _, grad = sharp_sinkhorn(a, b, cost, 0.02, tol=1e-13)
    assert abs(float(grad @ b)) < 1e-12  # centred: the gradient is defined up to a constant
    for _ in range(3):
        d = rng.standard_normal(40)
        d -= d.mean()
        h = 1e-5
        up = sharp_sinkhorn(a, b + h * d, cost, 0.02, tol=1e-13)[0]
        down = sharp_sinkhorn(a, b - h * d, cost, 0.02, tol=1e-13)[0]
        assert (up - down) / (2 * h) == pytest.approx(grad @ d, rel=1e-6, abs=1e-10)


def test_sharp_value_is_the_transport_cost_of_the_sinkhorn_plan():
    from geosym.transport import sinkhorn

    a, b = PAIR
    res = sinkhorn(a, b, GRID1, 3e-3, tol=1e-12)
    assert sharp_sinkhorn(a, b, GRID1, 3e-3, tol=1e-12)[0] == pytest.approx(
        res.transport_cost, rel=1e-10
    )


def test_sharp_barycenter_is_sharper_than_entropic_and_conserves_mass():
    """Sharpness metric: FWHM of the barycenter of bumps at 0.3 and 0.7 (the exact W₂
    barycenter is the same bump at 0.5, FWHM 0.0949). At reg 3e-3 the entropic one is 39 %
    wider; the sharp one is within 15 % of exact and lowers the sharp objective."""
    reg = 3e-3
    x = GRID1.axis(0)
    exact = bump(100, 0.5, 0.04)
    ent = barycenter(PAIR, GRID1, reg, method="entropic", tol=1e-10)
    res = barycenter(PAIR, GRID1, reg, method="sharp", on_fail="raise")
    assert isinstance(res, BarycenterResult) and res.converged
    assert res.q.sum() == pytest.approx(1.0, abs=1e-12) and res.q.min() >= 0.0
    assert fwhm(ent.q, x) > 1.3 * fwhm(exact, x)
    assert abs(fwhm(res.q, x) - fwhm(exact, x)) < 0.15 * fwhm(exact, x)
    assert np.abs(res.q - exact).sum() < 0.5 * np.abs(ent.q - exact).sum()
    assert _objective(res.q, reg) < _objective(ent.q, reg) - 1e-4
    assert json.dumps(res.to_dict(), allow_nan=False)
    assert res.history.shape[1] == 3 and res.history[-1, 1] == res.residual


def test_sharp_barycenter_is_stationary():
    """At the returned q no small in-support move lowers J to first order: the directional
    derivative along the mirror-descent direction is within the stopping tolerance, measured
    by central differences of J (step 1e-4 on a curve of relative size 1: error ~1e-8 of the
    slope) and compared with the CG gradient."""
    reg = 3e-3
    res = barycenter(PAIR, GRID1, reg, method="sharp", tol=1e-7)
    q = res.q
    grad = 0.5 * sum(sharp_sinkhorn(p, q, GRID1, reg)[1] for p in PAIR)
    u = -grad / np.abs(grad).max()
    d = q * (u - q @ u)  # the tangent at t = 0 of the positive curve q_t ∝ q e^{t u}

    def moved(t: float) -> np.ndarray:
        return q * np.exp(t * u) / (q * np.exp(t * u)).sum()

    h = 1e-4
    slope = (_objective(moved(h), reg) - _objective(moved(-h), reg)) / (2 * h)
    assert slope == pytest.approx(grad @ d, rel=1e-3, abs=1e-12)
    # |⟨∂J, d⟩| = |Σ q (∂J − ⟨∂J, q⟩) u| <= max|u| · Σ q |∂J − ⟨∂J, q⟩| <= tol · max M
    assert abs(slope) <= 1.01 * 1e-7 * GRID1.max_cost


def test_sharp_barycenter_of_identical_inputs_is_a_stationary_point_near_them():
    """With every input equal to p the sharp objective's entropic start is blurred; descent
    must make it sharper (closer to p in L1) and not lose mass."""
    p = bump(100, 0.5, 0.05)
    ent = barycenter(np.stack([p, p]), GRID1, 3e-3, method="entropic", tol=1e-10).q
    res = barycenter(np.stack([p, p]), GRID1, 3e-3, method="sharp")
    assert res.converged
    assert np.abs(res.q - p).sum() < np.abs(ent - p).sum()
    assert res.q.sum() == pytest.approx(1.0, abs=1e-12)


def test_lp_barycenter_is_the_exact_translation_barycenter():
    """The exact LP reproduces the centred pattern from its ±s translates (the W₂ barycenter;
    HiGHS' default feasibility tolerance 1e-7 per constraint bounds the L1 error by ~1e-5),
    and the sharp, debiased and entropic barycenters approach it from both sides."""
    from geosym.transport import lp_barycenter, translation_study

    pattern = bump(60, 0.5, 0.04)
    hists = np.stack([np.roll(pattern, -10), np.roll(pattern, 10)])
    q = lp_barycenter(hists, Grid((60,)))
    assert np.abs(q - pattern).sum() < 1e-5
    study = translation_study(pattern, 10, regs=(3e-3,), methods=("entropic", "sharp", "exact"))
    assert study.row("exact", 0.0).l1_error < 1e-5
    assert study.row("sharp", 3e-3).l1_error < study.row("entropic", 3e-3).l1_error
    assert study.row("sharp", 3e-3).converged


def test_lp_barycenter_bad_input():
    from geosym.transport import lp_barycenter

    with pytest.raises(ValueError, match="weights"):
        lp_barycenter(PAIR, GRID1, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="variables"):
        lp_barycenter(np.ones((2, 1000)) / 1000, Grid((1000,)))
    with pytest.raises(ValueError, match="shape"):
        lp_barycenter(PAIR[0], GRID1)


# the probe case of the reliability issue: uniform against a ramp on 16 bins at reg 1e-2, where
# the sharp descent creeps (residual ~3e-5, q moving by ~5e-4 per step, for hundreds of steps)
RAMP16 = np.stack([np.full(16, 1 / 16), np.arange(1, 17) / 136])


def test_sharp_barycenter_stall_raises_naming_the_cause_before_max_iter():
    """A creeping descent stops once its error has not halved over STALL_WINDOW accepted steps,
    far before max_iter, with a ConvergenceError that says so and what to change."""
    from geosym.errors import ConvergenceError
    from geosym.transport.sharp import STALL_WINDOW

    with pytest.raises(ConvergenceError) as info:
        barycenter(RAMP16, Grid((16,)), 1e-2, method="sharp", on_fail="raise")
    message = str(info.value)
    assert "stalled" in message and f"last {STALL_WINDOW} accepted steps" in message
    assert "reg=0.01" in message and "a larger max_iter will not help" in message
    n_iter = int(message.split(" iterations")[0].split()[-1])
    assert STALL_WINDOW < n_iter < 1000  # the default max_iter is 10000


def test_sharp_barycenter_stall_warns_and_returns_the_iterate():
    with pytest.warns(RuntimeWarning, match="stalled"):
        res = barycenter(RAMP16, Grid((16,)), 1e-2, method="sharp")
    assert not res.converged and res.n_iter < 1000
    assert res.q.sum() == pytest.approx(1.0, abs=1e-12) and np.all(res.q >= 0)
    assert res.residual == pytest.approx(res.history[-1, 1])


def test_sharp_descent_stall_window_counts_accepted_steps_without_halving():
    """With tol unreachable here (1e-7; the descent creeps at ~1e-4), every accepted step
    after the last halving of the error counts: the descent stops exactly STALL_WINDOW
    accepted steps after the last halving."""
    from geosym.transport.sharp import STALL_WINDOW, sharp_barycenter_descent

    log_p = np.log(RAMP16)
    history: list[tuple[int, float, float]] = []
    _, err, n_iter, stopped = sharp_barycenter_descent(
        Grid((16,)), 3e-2, log_p, np.array([0.5, 0.5]), log_p.mean(0), (1e-7, np.inf),
        10_000, history,
    )  # fmt: skip
    assert stopped.startswith("stalled")
    gaps = np.array(history)[:, 1]
    anchor, last = np.inf, 0
    for k, gap in enumerate(gaps):
        if gap / 1e-7 <= 0.5 * anchor:
            anchor, last = gap / 1e-7, k
    assert len(gaps) - 1 - last == STALL_WINDOW
    assert err[0] == gaps[-1] and n_iter == history[-1][0]


def test_sharp_descent_warm_start_prediction_cuts_inner_sweeps():
    """Where the plain warm start mixes slowly (16 bins, reg 1e-2: ~270 sweeps per evaluation),
    evaluations switch to the first-order prediction of the potentials after PLAIN_SWEEPS and
    need far fewer in all; on the bumps of PAIR the plain warm start converges within
    PLAIN_SWEEPS (1-3 sweeps) and the prediction is not used."""
    from geosym.transport.sharp import PLAIN_SWEEPS, sharp_barycenter_descent

    log_p = np.log(RAMP16)
    sweeps_used: list[int] = []
    sharp_barycenter_descent(
        Grid((16,)), 1e-2, log_p, np.array([0.5, 0.5]), log_p.mean(0), (1e-6, 1e-6), 30, [],
        sweeps_used,
    )  # fmt: skip
    assert len(sweeps_used) == 30
    assert max(sweeps_used) > PLAIN_SWEEPS  # the plain warm start does not suffice here ...
    assert np.median(sweeps_used) < 150  # ... and the prediction needs ~70 after it (plain: ~270)
    pair_sweeps: list[int] = []
    ent = barycenter(PAIR, GRID1, 3e-3, method="entropic", tol=1e-6, q_tol=np.inf).q
    sharp_barycenter_descent(
        GRID1, 3e-3, np.log(PAIR), np.array([0.5, 0.5]), np.log(ent), (1e-6, 1e-6), 20, [],
        pair_sweeps,
    )  # fmt: skip
    assert max(pair_sweeps) <= PLAIN_SWEEPS


def test_predicted_potentials_are_second_order_accurate():
    """The first-order prediction of the potentials after a change d of the second marginal:
    the column-marginal error of its plan shrinks like |d|² (halving d quarters it), where the
    plain warm start's shrinks like |d|."""
    from geosym.transport._kernel import LogKernel
    from geosym.transport._sweeps import sweeps
    from geosym.transport.sharp import EntropicPlans

    rng = np.random.default_rng(5)
    kernel = LogKernel(Grid((16,)), 1e-2)
    log_a = np.log(RAMP16[:1])
    log_b = np.log(np.full((1, 16), 1 / 16))
    _, g, _, _, _ = sweeps(kernel, log_a, log_b, np.zeros((1, 16)), 1e-13, 100_000)
    plans = EntropicPlans(kernel, log_a, log_b, g)
    u = rng.standard_normal((1, 16))

    def errors(t: float) -> tuple[float, float]:
        new = log_b + t * u
        new -= np.logaddexp.reduce(new, axis=-1, keepdims=True)
        return tuple(  # type: ignore[return-value]
            sweeps(kernel, log_a, new, start, 1e-300, 1)[2]
            for start in (plans.g, plans.predicted_g(new))
        )

    plain1, pred1 = errors(1e-2)
    plain2, pred2 = errors(5e-3)
    assert plain1 / plain2 == pytest.approx(2, rel=0.1)
    assert pred1 / pred2 == pytest.approx(4, rel=0.1)
    assert pred1 < 0.05 * plain1

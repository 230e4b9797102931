"""Issue 16 (API side): each probe ends in a correct answer or one clear geosym error, fast.

Hangs become errors before work starts (or within seconds), memory blow-ups become
:class:`geosym.ResourceError` before allocating, raw NumPy/SciPy errors become ValueError.
Memory refusals are tested under a small budget (``set_memory_limit``) so that they do not depend
on the machine's free memory.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import sympy as sp

import geosym as gs
from geosym import meanfield
from geosym.committee import CommitteeODE, simulate
from geosym.errors import IntegrationError, NumericalError, ResourceError
from geosym.natgrad import unit_fisher
from geosym.nn import MLP
from geosym.transport import Grid, sinkhorn

ERF = "erf(x/sqrt(2))"


@pytest.fixture
def small_budget():
    gs.set_memory_limit("64M")
    yield
    gs.set_memory_limit(None)


# -- hangs ----------------------------------------------------------------------------------
def test_deeply_nested_activation_has_kernels_by_quadrature():
    k = meanfield.kernels("tanh(" * 10 + "x" + ")" * 10)  # used to expand for minutes
    assert k.undefined == {}
    assert k.V.method.startswith("quadrature")
    v = float(k.V.numeric()(1.0))
    assert 0.0 < v < 1.0  # |tanh^10| < 1


def test_huge_power_is_a_clear_error():
    phi = gs.activation(sp.Symbol("x") ** 10**6)  # E[x^1e6] = (1e6-1)!! overflows
    with pytest.raises(IntegrationError, match="non-finite"):
        float(gs.expect([phi], [[1.0]]))


def test_simulate_chunk_and_test_size_are_checked():
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        simulate(ERF, 100, 2, 2, alpha_max=1, chunk=0)
    with pytest.raises(ValueError, match="test_size must be a non-negative integer"):
        simulate(ERF, 100, 2, 2, alpha_max=1, test_size=-1)


def test_integrate_arguments_are_checked():
    ode = CommitteeODE(ERF, 2, 2, eta=0.5)
    with pytest.raises(ValueError, match="N must be >= M"):
        ode.integrate(1, N=1)
    with pytest.raises(ValueError, match="atol must be a finite number > 0"):
        ode.integrate(1, atol=-1)


def test_large_committee_is_refused_before_work():
    ode = CommitteeODE(ERF, 50, 50, eta=0.5)
    for call in (lambda: ode.integrate(1), ode.symmetric_fixed_point):
        with pytest.raises(ValueError, match="reduce K or M"):
            call()


def test_exploding_committee_stops_naming_alpha_and_eta():
    with pytest.raises(NumericalError, match=r"stalled.*alpha = .*reduce eta \(= 1000000"):
        CommitteeODE(ERF, 2, 2, eta=1e6).integrate(50, seed=0)


def test_sign_activation_is_not_blamed_on_eta():
    with pytest.raises(NumericalError) as info:
        CommitteeODE("sign", 2, 2, eta=0.5).integrate(5, seed=0)
    assert "activation" in str(info.value) and "too large" not in str(info.value)


def test_very_deep_recursion_is_refused_at_once():
    with pytest.raises(ValueError, match="depth = 1000000"):
        gs.fim_statistics("relu", 2.0, 0.0, depth=10**6, width=100)


@pytest.mark.parametrize("spec, sw2, sb2", [("tanh", 1.5, 0.1), ("erf", 1.0, 0.5)])
def test_settled_recursion_matches_the_layer_by_layer_one(spec, sw2, sb2, monkeypatch):
    fast = gs.fim_statistics(spec, sw2, sb2, depth=300, width=100)
    monkeypatch.setattr(meanfield, "_settled", lambda q1, q2: False)
    slow = gs.fim_statistics(spec, sw2, sb2, depth=300, width=100)
    for name in ("kappa1", "kappa2", "lambda_max", "s_lambda"):
        assert getattr(fast, name) == pytest.approx(getattr(slow, name), rel=1e-12)


# -- tracebacks -----------------------------------------------------------------------------
def test_zero_activation_fim_is_a_value_error():
    with pytest.raises(ValueError, match="identically zero"):
        gs.fim_statistics("0", 1.0, 0.0, depth=3, width=100, outputs=1, samples=10)


@pytest.mark.parametrize("shape", [(64.5,), (True,), ("a",)])
def test_grid_shape_must_be_integers(shape):
    with pytest.raises(TypeError, match="tuple of integers"):
        Grid(shape)


def test_grid_extent_that_overflows_is_refused():
    with pytest.raises(ValueError, match="extent must be at most"):
        Grid((10,), extent=1e200)


# -- memory ---------------------------------------------------------------------------------
def test_memory_budget_parsing():
    with pytest.raises(ValueError, match="512M"):
        gs.set_memory_limit("lots")
    with pytest.raises(ValueError):
        gs.set_memory_limit(-1)
    with pytest.raises(TypeError):
        gs.set_memory_limit(True)
    gs.set_memory_limit("1.5G")
    try:
        from geosym._memory import memory_limit

        assert memory_limit()[0] <= int(1.5 * 2**30)
    finally:
        gs.set_memory_limit(None)


def test_environment_budget(monkeypatch):
    monkeypatch.setenv("GEOSYM_MEMORY_LIMIT", "1M")
    with pytest.raises(ResourceError, match=r"GEOSYM_MEMORY_LIMIT=1M; reduce the widths"):
        MLP.random([1000, 1000, 1], "tanh", 1.0, 0.0, seed=0)


@pytest.mark.parametrize(
    "make, reduce",
    [
        (lambda: MLP.random([40000, 40000, 1], "tanh", 1.0, 0.0, seed=0), "the widths"),
        (
            lambda: sinkhorn(np.full(10**5, 1e-5), np.full(10**5, 1e-5), Grid((10**5,)), 0.1),
            "the grid shape",
        ),
        (lambda: Grid((300, 300)).cost_matrix(), "the grid shape"),
        (lambda: unit_fisher("relu", np.eye(1, 20000)[0], 0.0).matrix(), "n"),
        (lambda: simulate(ERF, 10**8, 2, 2, alpha_max=1, max_work=np.inf), "N,"),
    ],
)
def test_large_requests_are_refused_before_allocating(make, reduce, small_budget):
    with pytest.raises(ResourceError, match=f"would need about .* but .*; reduce {reduce}") as info:
        make()
    err = info.value
    assert isinstance(err, MemoryError) and err.needed > err.available > 0
    assert "\n" not in str(err)


def test_dense_plan_is_refused_but_potentials_are_fine(small_budget):
    p = np.full((50, 50), 1 / 2500)
    res = sinkhorn(p, p, Grid((50, 50)), 0.05)  # separable solve: small memory
    assert np.isfinite(res.value)
    with pytest.raises(ResourceError, match="dense plan of 2500 x 2500"):
        res.plan  # noqa: B018


# -- silent wrong answers -------------------------------------------------------------------
def test_sinkhorn_divergence_keeps_its_digits_at_large_reg():
    from geosym.transport import sinkhorn_divergence

    grid = Grid((20,))
    p, q = np.full(20, 1 / 20), np.arange(1.0, 21.0) / 210
    d = p - q
    mmd = -0.5 * d @ grid.cost_matrix() @ d  # the reg -> infinity limit
    for reg in (1e6, 1e8, 1e12, 1e16, 1e300):  # were 0.99, 0.05, -28 and 0 times the limit
        assert sinkhorn_divergence(p, q, grid, reg) == pytest.approx(mmd, rel=1e-6)
    # the expansion (above 100 x the largest cost) continues the Sinkhorn values: 2e-7 apart
    below = sinkhorn_divergence(p, q, grid, 99.9)
    above = sinkhorn_divergence(p, q, grid, 100.1)
    assert above == pytest.approx(below, rel=1e-5)


def test_unit_fisher_solve_refuses_nan():
    G = unit_fisher("relu", np.array([1.0, 0.0, 0.0]), 0.0)
    with pytest.raises(ValueError, match="v must be finite"):
        G.solve(np.array([np.nan, 1.0, 1.0, 1.0]))
    assert np.all(np.isfinite(G.solve(np.ones(4))))


def test_huge_phase_grid_is_refused_before_allocating(small_budget):
    with pytest.raises(ResourceError, match="3000 x 3000 grid.*reduce the number of grid points"):
        gs.MeanField("relu", 1.0, 0.0).phase_diagram(
            np.linspace(0.1, 3, 3000), np.linspace(0, 1, 3000)
        )


def test_slow_phase_grid_is_refused_after_its_first_chunk(monkeypatch):
    """A grid projected past max_seconds is refused after its (small) first chunk: here 2 of
    200 rows, so the refusal costs a hundredth of the run."""
    monkeypatch.setattr(meanfield, "_PHASE_CHUNK", 8 * 100)  # 8 rows of 100 per chunk
    calls = []
    mf = gs.MeanField("relu", 1.0, 0.0)
    real = mf._phase_rows
    monkeypatch.setattr(mf, "_phase_rows", lambda w, b: calls.append(b.size) or real(w, b))
    with pytest.raises(ValueError, match=r"200 x 100 grid.*max_seconds = 1e-06: reduce the num"):
        mf.phase_diagram(np.linspace(1, 3, 100), np.linspace(0, 1, 200), max_seconds=1e-6)
    assert calls == [2]


def test_chunked_phase_diagram_equals_the_one_chunk_one(monkeypatch):
    sw2, sb2 = np.linspace(0.5, 3.0, 21), np.linspace(0.0, 1.0, 9)
    whole = gs.MeanField("tanh", 1.0, 0.0).phase_diagram(sw2, sb2)
    monkeypatch.setattr(meanfield, "_PHASE_CHUNK", 3 * sw2.size)  # rows 0, 1-3, 4-6, 7-8
    lines = []
    monkeypatch.setattr(meanfield.time, "perf_counter", iter(range(0, 1000, 5)).__next__)
    parts = gs.MeanField("tanh", 1.0, 0.0).phase_diagram(sw2, sb2, progress=lines.append)
    for name in ("q_star", "chi1", "boundary"):  # Newton stops at 1e-13 relative: same to that
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), 1e-11, 1e-14)
    assert lines and lines[-1].startswith("phase diagram: 7 of 9 sigma_b2 rows")
    with pytest.raises(ValueError, match="max_seconds must be > 0"):
        gs.MeanField("tanh", 1.0, 0.0).phase_diagram(sw2, sb2, max_seconds=0)


# -- the same through the CLI: one line, exit status 2 ---------------------------------------
@pytest.mark.parametrize(
    "argv, match",
    [
        (
            ["unit-fisher", "relu", "--w-norm", "1", "--fan-in", "20000", "--matrix"],
            "--fan-in <= 1000",
        ),
        (
            ["committee", "erf", "-K", "200", "-M", "2", "--eta", "0.5", "--alpha-max", "1"],
            "reduce K or M",
        ),
        (
            [
                "fim",
                "relu",
                "--sigma-w2",
                "2",
                "--sigma-b2",
                "0",
                "--width",
                "100",
                "--depth",
                "1000000",
            ],
            "depth = 1000000",
        ),
        (
            ["committee", "erf", "-K", "2", "-M", "2", "--eta", "1e6", "--alpha-max", "50"],
            "stalled.*reduce eta",
        ),
        (
            ["report", "--activation", "__import__('os')", "--section", "transport"],
            "activation .*__import__.* is not allowed",
        ),
        (["report", "--full", "--workers", "-1"], "--workers must be >= 0"),
        (
            [
                "committee",
                "erf",
                "-K",
                "2",
                "-M",
                "2",
                "--eta",
                "0.5",
                "--alpha-max",
                "1",
                "--seeds",
                "0",
            ],
            "--seeds must",
        ),
        (
            [
                "committee",
                "erf",
                "-K",
                "2",
                "-M",
                "2",
                "--eta",
                "0.5",
                "--alpha-max",
                "1",
                "--seeds",
                "3",
            ],
            "--seeds applies to --simulate only",
        ),
        (
            ["phase", "tanh", "--sw2", "1,inf,3"],
            r"--sw2: start and stop must be finite, got '1,inf,3'",
        ),
        (
            ["phase", "relu", "--sw2", "1,3,1000", "--sb2", "0,1,200", "--max-seconds", "1e-9"],
            r"200 x 1000 grid.*raise max_seconds \(--max-seconds\)",
        ),
        (
            ["committee", "softplus", "-K", "8", "-M", "8", "--eta", "0.5", "--alpha-max", "1"],
            "K = 8, M = 8 .*Gauss-Hermite.*reduce K or M",
        ),
        (["unit-fisher", "tanh", "--w-norm", "1e300"], "r must be finite"),
    ],
)
def test_cli_refusals_are_one_line(argv, match, capsys):
    from geosym.cli import main

    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    err = lines[-1]
    assert "error:" in err
    assert not any("Warning" in line for line in lines), lines
    assert re.search(match, err), err


def test_cli_extent_that_overflows_is_one_line(tmp_path, capsys):
    from geosym.cli import main

    x = np.linspace(0, 1, 16)
    np.save(tmp_path / "p.npy", np.exp(-((x - 0.3) ** 2) / 0.01))
    np.save(tmp_path / "q.npy", np.exp(-((x - 0.7) ** 2) / 0.01))
    argv = ["ot", "distance", str(tmp_path / "p.npy"), str(tmp_path / "q.npy"), "--extent", "1e200"]
    assert main(argv) == 2
    assert "extent must be at most" in capsys.readouterr().err


def test_cli_derive_of_a_deep_composition_finishes(capsys):
    from geosym.cli import main

    assert main(["derive", "tanh(" * 10 + "x" + ")" * 10]) == 0
    assert "quadrature" in capsys.readouterr().out


def test_train_refuses_a_curve_that_does_not_fit(small_budget):
    net = MLP.random([3, 5, 1], "tanh", 1.0, 0.0, seed=0)
    with pytest.raises(ResourceError, match="train for 1000000000 steps.*reduce steps"):
        net.train(np.ones((4, 3)), np.zeros((4, 1)), eta=0.1, steps=10**9)


def test_committee_rate_whose_square_overflows_is_a_value_error():
    with pytest.raises(ValueError, match="eta must be at most"):
        CommitteeODE("tanh", 1, 1, eta=1e300)
    with pytest.raises(ValueError, match="noise must be at most"):
        CommitteeODE("tanh", 1, 1, eta=0.5, noise=1e300)


def test_committee_constructor_estimates_its_memory(small_budget):
    with pytest.raises(ResourceError, match="K = 1000000000, M = 1000000000.*reduce K or M"):
        CommitteeODE("tanh", 10**9, 10**9, eta=1.0)


def test_one_step_rates_refuse_a_billion_layers_at_once():
    from geosym.natgrad import one_step_learning_rates

    with pytest.raises(ValueError, match="depth = 1000000000"):
        one_step_learning_rates("tanh", 10**9, 1, 1)


def test_large_tanh_committee_counts_its_mixture_terms():
    """tanh's I4 is a 6-term erf mixture (6^4 closed forms per integral): K = M = 10 would take
    minutes per unit of alpha, so it is refused at once (found by the long fuzz run)."""
    ode = CommitteeODE("tanh", 10, 10, eta=1.0)
    with pytest.raises(
        ValueError, match="each costing about 1296 closed forms: erf-mixture.*reduce K or M"
    ):
        ode.integrate(1.0, seed=0)


def test_large_relu_committee_counts_its_orthant_integrals():
    """ReLU's I4 (orthant moments, a 1-D rule each) costs about 300 erf closed forms: K = M = 10
    (11550 integrals, 0.38 s per right-hand side; integrate(1) took over 30 s) is refused at
    once."""
    ode = CommitteeODE("relu", 10, 10, eta=0.5)
    with pytest.raises(ValueError, match="K = 10, M = 10 .*about 300 closed forms: orthant"):
        ode.integrate(1.0, seed=0)


@pytest.mark.parametrize("spec, K", [("softplus", 8)])
def test_large_numeric_committee_counts_its_quadrature_points(spec, K):
    """Without a closed form I4 is a 4-D Gauss-Hermite rule on n4^4 points per tuple: gelu at
    K = M = 8 took minutes for integrate(1) (2.8 s per right-hand side), so it is refused at
    once, naming K, M, max_integrals and n4."""
    ode = CommitteeODE(spec, K, K, eta=0.5)
    match = rf"K = {K}, M = {K} .*Gauss-Hermite.*max_integrals = 2e\+06: reduce K or M.*n4"
    with pytest.raises(ValueError, match=match):
        ode.integrate(1.0, seed=0)
    with pytest.raises(ValueError, match="reduce K or M"):
        ode.symmetric_fixed_point()


def test_numeric_committee_cost_counts_points_by_distinct_fields():
    """The estimate is the exact point count: n4^r for each canonical tuple (i <= k, c <= e)
    with r distinct fields, checked against a brute-force enumeration."""
    K, M, n = 3, 2, 12
    P = K + M
    brute = sum(
        n ** len({i, k, c, e})
        for i in range(K)
        for k in range(i, K)
        for c in range(P)
        for e in range(c, P)
    )
    assert CommitteeODE("softplus", K, M, eta=0.5)._i4_cost()[0] == brute
    # a closed-form I4 counts one per tuple
    assert CommitteeODE(ERF, K, M, eta=0.5)._i4_cost()[0] == K * (K + 1) // 2 * P * (P + 1) // 2


def test_small_numeric_committee_still_integrates():
    tr = CommitteeODE("softplus", 2, 2, eta=0.5).integrate(0.5, seed=0)
    assert np.all(np.isfinite(tr.eps_g))


def test_train_stops_at_the_target_and_on_a_stall(small_budget):
    """steps is an upper bound once a stop is given: 1e9 steps fit a 64 MB budget because the
    curve grows with the steps taken; the run ends at the first loss <= stop_below, or when
    the loss stalls (here at the float floor) for `patience` steps."""
    X, Y = np.ones((4, 3)), np.zeros((4, 1))
    net = MLP.random([3, 5, 1], "tanh", 1.0, 0.1, seed=0)
    full = net.copy().train(X, Y, eta=0.1, steps=50)
    target = 0.5 * full[0]
    curve = net.copy().train(X, Y, eta=0.1, steps=10**9, stop_below=target)
    k = int(np.argmax(full <= target))
    assert 0 < k < 50 and len(curve) == k + 1
    np.testing.assert_allclose(curve, full[: k + 1], rtol=1e-12)
    lines = []
    curve = net.copy().train(X, Y, steps=10**9, method="ngd", patience=50, progress=lines.append)
    assert len(curve) < 10**4 and lines and "stalled" in lines[-1]
    with pytest.raises(ValueError, match="stop_below must be >= 0"):
        net.train(X, Y, steps=5, stop_below=-1.0)
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        net.train(X, Y, steps=5, patience=0)


def test_training_comparison_with_a_huge_step_bound_stops_at_the_threshold():
    from geosym.experiments import training_comparison

    tc = training_comparison(
        "tanh", 3.0, 0.1, depth=2, width=32, samples=8, methods=("gd", "ngd"), max_steps=10**8
    )
    for row in tc.rows:
        curve = tc.curves[row.method]
        assert row.steps_to_threshold == len(curve) - 1  # stopped where it reached it
        assert curve[-1] <= 1e-2 * curve[0] < curve[-2]


def test_cli_ngd_accepts_an_integral_float_step_count(capsys):
    from geosym.cli import main

    argv = ["ngd", "tanh", "--depth", "2", "--width", "32", "--samples", "8"]
    assert main([*argv, "--methods", "gd,ngd", "--max-steps", "1e8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_steps"] == 10**8
    assert main([*argv, "--max-steps", "1.5"]) == 2
    assert "--max-steps: expected an integer, got '1.5'" in capsys.readouterr().err


def test_simulate_refuses_a_run_of_hours_at_once():
    """alpha_max = 1e300 was an endless loop and N = 1e5, alpha_max = 5 ran for many minutes
    without an estimate: both are refused before any SGD step, naming what to reduce."""
    for N, alpha in ((100, 1e300), (100_000, 5.0)):
        with pytest.raises(
            ValueError, match=r"multiply-adds.*max_work = 2e\+10 .*: reduce N, alpha"
        ):
            simulate(ERF, N, 2, 2, alpha_max=alpha)
    runs = simulate(ERF, 100, 2, 2, alpha_max=1.0, max_work=1e5)  # 4e4: within the budget
    assert len(runs) == 1
    with pytest.raises(ValueError, match="max_work = 1e\\+04"):
        simulate(ERF, 100, 2, 2, alpha_max=1.0, max_work=1e4)


def test_simulate_checks_its_arguments_before_building_the_integrals(monkeypatch):
    """Building an activation's integrals takes seconds: bad arguments fail before it."""
    from geosym.committee import ode

    def boom(*args, **kwargs):
        raise AssertionError("the integral provider was built before the arguments were checked")

    monkeypatch.setattr(ode, "integral_provider", boom)
    with pytest.raises(ValueError, match="eta must be > 0"):
        simulate("softplus", 100, 2, 2, eta=-1, alpha_max=2.0)
    with pytest.raises(ValueError, match="alpha_max must be a finite number > 0"):
        simulate("softplus", 100, 2, 2, alpha_max=np.nan)


def test_oversized_committee_is_refused_before_its_integrals_are_built(monkeypatch):
    """Compiling an activation's integrals takes seconds (erf: 8-17 s on a loaded machine): a
    model whose I4 count alone exceeds max_integrals is refused before that work."""
    from geosym.committee import ode

    def boom(*args, **kwargs):
        raise AssertionError("the integral provider was built for a model that is refused")

    monkeypatch.setattr(ode, "integral_provider", boom)
    model = CommitteeODE("erf(x/sqrt(2))", K=50, M=50, eta=0.5)
    with pytest.raises(ValueError, match="K = 50, M = 50 .*max_integrals"):
        model.integrate(1.0)
    with pytest.raises(AssertionError, match="was built"):  # a small model does build them
        CommitteeODE("erf(x/sqrt(2))", K=2, M=2, eta=0.5).integrate(1.0)


def test_ill_conditioned_fixed_point_converges_at_the_rounding_floor():
    # softplus at sigma_w2 = 1.9999: the q-map slope at q* is 1 - 5e-5, so Newton's step
    # oscillates at the rounding noise (relative 3e-12 > tol 1e-13) instead of shrinking; this
    # used to exhaust max_iter and report "no stable finite fixed point"
    mf = gs.MeanField("softplus", 1.9999, 1.0)
    q_star = mf.fixed_point().q_star
    assert 1e4 < q_star < 1e5
    assert abs(float(mf.q_map(q_star)) - q_star) <= 1e-12 * q_star


def test_softplus_phase_boundary_is_where_q_star_ceases_to_exist():
    # softplus = relu + a bounded term, so the q-map is sigma_w2 q / 2 + O(1): a finite fixed
    # point exists iff sigma_w2 < 2, and chi1 = sigma_w2 E[sigmoid^2] < sigma_w2 / 2 < 1 there;
    # the boundary is sigma_w2 = 2, located to where q* < 1e8 is resolved (q* ~ 1/(2 - sigma_w2)).
    # This 2 x 2 grid took 38-44 s (q* iterations ran to max_iter near sigma_w2 = 2).
    pd = gs.MeanField("softplus", 1, 0).phase_diagram(
        np.linspace(0.5, 4, 2), np.linspace(0.01, 1, 2)
    )
    np.testing.assert_allclose(pd.boundary, 2.0, rtol=0, atol=1e-6)


def test_float_kinks_are_made_exact_once_per_activation(monkeypatch):
    # sign(sin(x)) has 25 float kinks; nsimplify spends ~50 ms identifying each (PSLQ) and every
    # kernel (E[phi^2], E[phi'^2], E[x phi phi'], ...) used to redo it before the clean error
    from geosym.gaussian import piecewise

    calls = []
    real = piecewise.sp.nsimplify
    monkeypatch.setattr(piecewise.sp, "nsimplify", lambda *a, **k: calls.append(a) or real(*a, **k))
    piecewise._rational.cache_clear()
    meanfield._kernels.cache_clear()
    phi = gs.activations.activation("sign(sin(x))")
    with pytest.raises(ValueError, match="q-map slope of sign.sin.x.. is undefined"):
        gs.MeanField(phi, 2.0, 0.1).q_slope(1.0)
    assert 0 < len(calls) <= len(phi.kinks)


def test_overflowing_gram_is_a_numerical_error_not_a_linalg_error():
    # ngd tanh --depth 10000 --methods gd (chaotic side: gradients ~ chi1^L) ended in numpy's
    # "Eigenvalues did not converge"; a linear net at sigma_w2 = 1e190 overflows at depth 3
    from geosym.nn.optimizers import default_learning_rate

    net = MLP.random([4, 8, 8, 1], "x", 1e190, 0.0, seed=0)
    cache = net.forward(np.random.default_rng(0).standard_normal((5, 4)))
    with pytest.raises(NumericalError, match="gd learning rate: the gradient Gram matrix"):
        default_learning_rate(net, cache, "gd")

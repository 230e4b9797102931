"""Entropic and debiased barycenters: agreement with POT, translation invariance, bad input."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pytest

from geosym.errors import ConvergenceError
from geosym.transport import Grid, barycenter, fwhm, translation_study
from geosym.transport.shapes import SHAPES, bump, cross, shape

ot = pytest.importorskip("ot")

GRID1 = Grid((100,))
PAIR = np.stack([bump(100, 0.3, 0.04), bump(100, 0.7, 0.04)])


def _unit(h: np.ndarray) -> np.ndarray:
    return h / h.sum()


def test_entropic_agrees_with_pot_1d():
    ref = ot.bregman.barycenter(
        PAIR.T, GRID1.cost_matrix(), 3e-3, method="sinkhorn_log", stopThr=1e-12, numItermax=20_000
    )
    ours = barycenter(PAIR, GRID1, 3e-3, method="entropic", tol=1e-11).q
    np.testing.assert_allclose(ours, _unit(ref), atol=1e-10)


@pytest.mark.parametrize("anderson", [5, 0])
def test_debiased_agrees_with_pot_kernel_mode_and_pot_log_mode_stops_early(anderson):
    """POT's kernel-mode ``barycenter_debiased`` converges to our answer. POT's
    ``method='sinkhorn_log'`` variant stops at iteration 21 because its error (the spread of
    the K column marginals) vanishes identically after each update: it returns a visibly
    blurred barycenter (L1 0.03 from the exact one, ours 1e-6) -- a POT bug documented here."""
    cost, reg = GRID1.cost_matrix(), 1e-2
    ours = barycenter(PAIR, GRID1, reg, method="debiased", tol=1e-10, anderson=anderson).q
    kernel_mode = ot.bregman.barycenter_debiased(
        PAIR.T, cost, reg, stopThr=1e-12, numItermax=20_000
    )
    np.testing.assert_allclose(ours, _unit(kernel_mode), atol=1e-8)
    exact = bump(100, 0.5, 0.04)
    assert np.abs(ours - exact).sum() < 1e-5  # debiasing is exact for equal-width Gaussians
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_mode, log = ot.bregman.barycenter_debiased(
            PAIR.T, cost, reg, method="sinkhorn_log", stopThr=1e-12, numItermax=20_000, log=True
        )
    assert log["niter"] == 21
    assert np.abs(_unit(log_mode) - exact).sum() > 0.02


def test_entropic_2d_agrees_with_pot_convolutional():
    imgs = np.stack([shape("ring", 16), shape("cross", 16)])  # exact zeros in the background
    ref = ot.bregman.convolutional_barycenter2d(
        imgs, 3e-3, method="sinkhorn_log", stopThr=1e-12, numItermax=20_000
    )
    ours = barycenter(imgs, Grid((16, 16)), 3e-3, method="entropic", tol=1e-11).q
    assert ours.shape == (16, 16)
    np.testing.assert_allclose(ours, _unit(ref), atol=1e-9)


def test_grid_equals_dense_cost():
    imgs = np.stack([shape("bar", 8), shape("digit7", 8)])
    grid = Grid((8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 40 iterations of the same algorithm, not converged
        for method in ("entropic", "debiased"):
            on_grid = barycenter(imgs, grid, 0.01, method=method, max_iter=40).q
            dense = barycenter(
                imgs.reshape(2, -1), grid.cost_matrix(), 0.01, method=method, max_iter=40
            ).q
            np.testing.assert_allclose(on_grid.ravel(), dense, atol=1e-12)


def test_translation_invariance_1d():
    """Barycenter of a bump shifted ±s is the centred bump: exact for "debiased", blurred
    (FWHM grows with reg) for "entropic" (Cuturi & Doucet 2014; Janati et al. 2020)."""
    study = translation_study(bump(120, 0.5, 0.03), 30, regs=(1e-2, 1e-3), tol=1e-9)
    for reg in (1e-2, 1e-3):
        deb = study.row("debiased", reg)
        assert deb.l1_error < 1e-5
        assert deb.fwhm == pytest.approx(deb.fwhm_exact, rel=1e-3)
    assert study.row("entropic", 1e-2).fwhm > 2 * study.row("entropic", 1e-2).fwhm_exact
    assert study.row("entropic", 1e-2).l1_error > study.row("entropic", 1e-3).l1_error > 0.1
    assert study.to_dict()["rows"][0]["method"] == "entropic"


def test_translation_invariance_2d_blob():
    y, x = np.linspace(0, 1, 12), np.linspace(0, 1, 32)
    blob = np.exp(-((y[:, None] - 0.5) ** 2 + (x[None, :] - 0.5) ** 2) / (2 * 0.045**2))
    study = translation_study(blob / blob.sum(), 4, regs=(3e-3,), tol=1e-8)
    assert study.row("debiased", 3e-3).l1_error < 1e-4
    assert study.row("entropic", 3e-3).fwhm > 1.2 * study.row("entropic", 3e-3).fwhm_exact


@pytest.mark.slow
def test_translation_invariance_2d_cross_image():
    study = translation_study(cross(32, arm=0.2), 6, regs=(3e-3, 1e-3))
    for reg in (3e-3, 1e-3):
        assert study.row("debiased", reg).l1_error < 0.5 * study.row("entropic", reg).l1_error


def test_single_weight_debiased_returns_the_input():
    """S_λ(p, q) is minimal at q = p, so the debiased barycenter with weights (1, 0) is p;
    the entropic one is the blurred minimiser of q ↦ C_λ(p, q) (Amari, Karakida & Oizumi 2018)."""
    deb = barycenter(PAIR, GRID1, 3e-3, weights=[1.0, 0.0], method="debiased", tol=1e-10).q
    ent = barycenter(PAIR, GRID1, 3e-3, weights=[1.0, 0.0], method="entropic", tol=1e-10).q
    np.testing.assert_allclose(deb, PAIR[0], atol=1e-7)
    x = GRID1.axis(0)
    assert fwhm(ent, x) > 1.1 * fwhm(PAIR[0], x)


@pytest.mark.parametrize("method", ["entropic", "debiased"])
def test_eps_scaling_gives_the_same_barycenter(method):
    reg = 3e-3 if method == "entropic" else 1e-2
    plain = barycenter(PAIR, GRID1, reg, method=method, tol=1e-11).q
    scaled = barycenter(PAIR, GRID1, reg, method=method, tol=1e-11, eps_scaling=0.3).q
    np.testing.assert_allclose(scaled, plain, atol=1e-9)
    imgs = np.stack([shape("ring", 16), shape("cross", 16)])
    plain = barycenter(imgs, Grid((16, 16)), 3e-3, method="entropic", tol=1e-11).q
    scaled = barycenter(imgs, Grid((16, 16)), 3e-3, method="entropic", tol=1e-11, eps_scaling=0.3).q
    np.testing.assert_allclose(scaled, plain, atol=1e-9)


IMGS16 = np.stack([shape(name, 16) for name in ("ring", "cross", "digit2")])
GRID16 = Grid((16, 16))
REG16 = 8e-3  # the kernel spans ~1.4 pixels: the debiased barycenter is speckled, plain IBP slow


def test_anderson_reaches_the_pot_debiased_barycenter_where_the_plain_iteration_is_slow():
    """Three 16x16 shapes: Anderson-accelerated iterations meet both criteria at 1e-11 within
    1500 iterations (measured ~1100) and land on POT's kernel-mode
    ``convolutional_barycenter2d_debiased`` (no underflow at this reg) run for 12 000
    iterations: the same fixed point (POT does 10 d-steps per iteration). Tolerance L1 1e-6:
    POT's own distance to the limit there is ~1e-7 (2.5e-4 at 4000 and 3.5e-9 at 16 000
    iterations; measured distance between the two 1.4e-7). The plain iteration, stopped after the
    same 1500 iterations, is still > 3e-3 away (measured 1.0e-2) although its marginal residual
    is below 1e-3 (measured 2.9e-5), and reports non-convergence."""
    fast = barycenter(IMGS16, GRID16, REG16, tol=1e-11, max_iter=1500, on_fail="raise").q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT warns that it ran numItermax iterations
        ref = ot.bregman.convolutional_barycenter2d_debiased(
            IMGS16, REG16, numItermax=12_000, stopThr=0.0
        )
    assert np.abs(fast - _unit(ref)).sum() < 1e-6
    with pytest.warns(RuntimeWarning, match=r"marginal residual (\S+) \(tol 1e-11\)") as rec:
        plain = barycenter(IMGS16, GRID16, REG16, tol=1e-11, max_iter=1500, anderson=0).q
    residual = float(str(rec[0].message).split("marginal residual ")[1].split()[0])
    assert residual < 1e-3
    assert np.abs(plain - fast).sum() > 3e-3


def test_q_step_criterion_stops_what_the_marginal_residual_accepts():
    """With the marginal residual alone (q_tol inf) the plain iteration stops at residual 1e-3
    far from the barycenter; with q_tol 1e-7 it keeps going and reports non-convergence although
    its marginal residual is below tol: the q-step is what failed."""
    early = barycenter(IMGS16, GRID16, REG16, tol=1e-3, q_tol=math.inf, anderson=0).q
    fast = barycenter(IMGS16, GRID16, REG16, tol=1e-11, max_iter=1500).q
    assert np.abs(early - fast).sum() > 0.03  # measured 0.078
    with pytest.raises(ConvergenceError, match="did not converge in 2000 iterations") as exc:
        barycenter(
            IMGS16, GRID16, REG16, tol=1e-3, q_tol=1e-7, max_iter=2000, anderson=0, on_fail="raise"
        )
    numbers = re.findall(
        r"residual (\S+) \(tol 0.001\), L1 change of q per 5 iterations "
        r"\(largest of the last 3\) (\S+) \(q_tol 1e-07\)",
        str(exc.value),
    )
    assert numbers, str(exc.value)
    marginal, step = map(float, numbers[0])
    assert marginal <= 1e-3 and step > 1e-7


def test_eps_scaling_2d_debiased_same_barycenter():
    """The zero set of the debiased barycenter depends on reg: log d held at the floor is
    carried from stage to stage and the pixels can come back (L1 6e-11 measured)."""
    plain = barycenter(IMGS16, GRID16, REG16, tol=1e-11, max_iter=3000, on_fail="raise").q
    scaled = barycenter(
        IMGS16, GRID16, REG16, tol=1e-11, max_iter=3000, eps_scaling=0.5, on_fail="raise"
    ).q
    assert (plain < 1e-12).sum() > 10  # a zero background
    assert np.abs(scaled - plain).sum() < 1e-8


def test_result_records_convergence_and_is_strict_json():
    res = barycenter(PAIR, GRID1, 1e-2, tol=1e-8)
    assert res.converged and res.passed and res.method == "debiased" and res.reg == 1e-2
    assert res.q.shape == (100,) and res.q.sum() == pytest.approx(1.0)
    assert res.history.shape[1] == 3 and res.history[-1, 0] == res.n_iter
    assert res.history[-1, 1] == res.residual <= 1e-8
    d = json.loads(res.to_json())
    assert d["history"][0][2] is None  # the q-step is inf before three checks
    assert d["n_iter"] == res.n_iter and len(d["q"]) == 100
    with pytest.warns(RuntimeWarning):
        early = barycenter(PAIR, GRID1, 1e-3, max_iter=7, eps_scaling=0.5)
    assert not early.converged and not early.passed and early.n_iter == 7


def test_non_convergence_reported():
    with pytest.warns(RuntimeWarning, match="did not converge in 2 iterations"):
        barycenter(PAIR, GRID1, 1e-3, max_iter=2)
    with pytest.raises(ConvergenceError):
        barycenter(PAIR, GRID1, 1e-3, max_iter=2, on_fail="raise")
    with pytest.warns(RuntimeWarning, match="did not converge in 7 iterations"):
        barycenter(PAIR, GRID1, 1e-3, max_iter=7, eps_scaling=0.5)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"hists": PAIR[:, :50]}, ValueError, r"hists\[0\] has shape \(50,\)"),
        ({"hists": []}, ValueError, "hists is empty"),
        ({"hists": 3.0}, TypeError, "hists must be a sequence"),
        ({"weights": [1.0]}, ValueError, "weights has shape"),
        ({"weights": [1.0, -0.5]}, ValueError, "weights has negative"),
        ({"method": "ibp"}, ValueError, "method must be one of"),
        ({"anderson": -1}, ValueError, "anderson must lie in"),
        ({"anderson": 10**9}, ValueError, "anderson must lie in"),
        ({"anderson": 2.5}, TypeError, "anderson must be an integer history depth"),
        ({"q_tol": 0.0}, ValueError, "q_tol must be"),
        ({"reg": 0}, ValueError, "reg must be"),
        ({"cost_or_grid": np.ones((100, 90))}, ValueError, "cost_or_grid must be square"),
        ({"cost_or_grid": np.triu(np.ones((100, 100)))}, ValueError, "symmetric cost"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = {"hists": PAIR, "cost_or_grid": GRID1, "reg": 1e-2}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        barycenter(**args)


@pytest.mark.parametrize("size", [32, 64])
def test_generated_shapes(size):
    for name in SHAPES:
        img = shape(name, size)
        assert img.shape == (size, size)
        assert img.sum() == pytest.approx(1.0) and img.min() == 0.0
        assert 0.02 < (img > 0).mean() < 0.5  # a stroke, with an exactly-zero background
    assert not np.allclose(shape("digit1", size), shape("digit7", size))
    with pytest.raises(ValueError, match="unknown shape"):
        shape("digit10", size)

"""Long ODE-vs-SGD comparisons of geosym.committee (issue 4 §3); run with ``-m slow``.

Protocol (Saad & Solla 1995 ODEs against SGD): N = 1000, 3 seeds, the ODE started from each seed's measured
overlaps (and measured T); compare the curve before the plateau exit (median relative deviation),
the plateau height against eps*(eta), and the decay rate after the exit.  Exit times fluctuate
by -8..+28 % at N = 1000 (measured) and are only checked loosely.
"""

from __future__ import annotations

import numpy as np
import pytest

from geosym.committee import CommitteeODE, decay_rate, plateau, simulate

ERF = "erf(x/sqrt(2))"
pytestmark = pytest.mark.slow


def _pair(spec, K, M, L, eta, alpha, seeds=3, **kw):
    sims = simulate(spec, 1000, K, M, L, eta, alpha, seeds, **kw)
    odes = []
    for tr in sims:
        ode = CommitteeODE(
            spec,
            K,
            M,
            L,
            eta=eta,
            eta_v=kw.get("eta_v", 0.0),
            teacher_cov=tr.T,
            teacher_out=kw.get("teacher_out"),
        )
        odes.append(ode.integrate(alpha, init=tr.initial(), alphas=tr.alpha))
    return sims, odes


def _phase1_median(s, o, eps_star):
    """Median relative deviation before the ODE leaves the plateau (eps > eps*/2)."""
    sel = (o.alpha > 0) & (o.eps_g > 0.5 * eps_star)
    return float(np.median(np.abs(s.eps_g[sel] - o.eps_g[sel]) / o.eps_g[sel]))


@pytest.mark.parametrize("K, eta, alpha", [(2, 0.5, 300.0), (3, 0.5, 600.0)])
def test_erf_scm(K, eta, alpha):
    eps_star = CommitteeODE(ERF, K, K, eta=eta).symmetric_fixed_point().eps_g
    sims, odes = _pair(ERF, K, K, 1, eta, alpha)
    for s, o in zip(sims, odes, strict=True):
        # measured: ~1 % median at N = 1000 (3 seeds) -> allow 4 %
        assert _phase1_median(s, o, eps_star) < 0.04
        po, ps = plateau(o, eps_star), plateau(s, eps_star)
        assert po.found and ps.found
        # A random start at N = 1000 has asymmetry R ~ N^-1/2 ~ 0.03, so the trajectory passes
        # the symmetric saddle at a finite distance and its plateau sits 10-25 % below eps*
        # (measured: 0.0129 vs eps* = 0.0147 for K = 2); eps* itself is checked at small r0
        # in tests/test_committee.py.  Here SGD and ODE, started from the same overlaps, must
        # give the same plateau height: phase-I deviations are ~1 % (median), max ~16 %.
        assert abs(ps.height - po.height) < 0.1 * po.height
        assert po.height < eps_star  # the passage is below the saddle, not above it
        if np.isfinite(po.end) and np.isfinite(ps.end):
            assert 0.5 < ps.end / po.end < 2.0  # exit time: fluctuation-dominated


def test_both_layers_trained():
    sims, odes = _pair(
        ERF, 2, 2, 1, 0.5, 150.0, eta_v=0.5, teacher_out=[1.0, 0.6], student_out=[[0.5], [0.4]]
    )
    for s, o in zip(sims, odes, strict=True):
        rel = np.abs(s.eps_g - o.eps_g) / o.eps_g
        assert np.median(rel[1:]) < 0.04  # measured: 0.3-0.5 %


def test_two_outputs():
    t = np.deg2rad(60)
    vs = np.array([[1.0, 0.0], [np.cos(t), np.sin(t)]])
    sims, odes = _pair(ERF, 2, 2, 2, 0.5, 100.0, teacher_out=vs)
    for s, o in zip(sims, odes, strict=True):
        # Before eps_g has decayed by 100x (measured: ~1 % median); later the
        # pointwise relative error of an exponential tail is a time shift (measured ~4.5 % at
        # alpha ~ 100), so the tail is compared through its decay rate instead.
        early = (o.alpha > 0) & (o.eps_g > 1e-2 * o.eps_g[0])
        rel = np.abs(s.eps_g - o.eps_g) / o.eps_g
        assert np.median(rel[early]) < 0.04
        window = (1e-2 * o.eps_g[0] * 1e-3, 1e-2 * o.eps_g[0])
        # measured: rates within 0.3 %; 3 % allows for 3 seeds at N = 1000
        assert decay_rate(s, window) == pytest.approx(decay_rate(o, window), rel=0.03)


def test_tanh_numeric_i4():
    """tanh has no elementary I4: the ODE runs on the erf-mixture closed form (error bound
    2.7e-6 per integral; the 2-D families by Gauss-Hermite, n = 48).  Same protocol as the erf
    SCM through the plateau and the exit; the 5 % allows 4 % for N = 1000 and 1 % spare."""
    eps_star = CommitteeODE("tanh", 2, 2, eta=0.5).symmetric_fixed_point().eps_g
    sims, odes = _pair("tanh", 2, 2, 1, 0.5, 200.0, seeds=2)
    for s, o in zip(sims, odes, strict=True):
        assert _phase1_median(s, o, eps_star) < 0.05  # 4 % (N = 1000) + 1 % spare
        po, ps = plateau(o, eps_star), plateau(s, eps_star)
        assert po.found and ps.found
        assert abs(ps.height - po.height) < 0.1 * po.height
        window = (1e-2 * o.eps_g[0] * 1e-3, 1e-2 * o.eps_g[0])
        assert decay_rate(s, window) == pytest.approx(decay_rate(o, window), rel=0.05)

"""Mean-field maps, fixed points and depth scales against 30-digit mpmath values and finite differences."""

import numpy as np
import pytest
import sympy as sp

import geosym as gs
from geosym.meanfield import SIGMA_B2, SIGMA_W2, MeanField


def test_tc1_tanh_near_critical():
    """tanh at (3, 0.64) against mpmath (30 digits): q*, chi1, q-map slope, xi_q, xi_c."""
    mf = MeanField("tanh", 3.0, 0.64)
    fp = mf.fixed_point()
    assert fp.q_star == pytest.approx(2.26553461775405, abs=1e-11)
    assert fp.chi1 == pytest.approx(0.993025112584070, abs=1e-11)
    assert fp.c_star == 1.0 and fp.phase == "ordered"
    ds = mf.depth_scales()
    assert ds.q_slope == pytest.approx(0.23014457326, abs=1e-10)
    assert ds.xi_q == pytest.approx(0.680713142361, abs=1e-9)
    assert ds.xi_c == pytest.approx(142.870906522, rel=1e-8)


def test_tc1_tanh_chaotic():
    fp = MeanField("tanh", 4.0, 0.05).fixed_point()
    assert fp.q_star == pytest.approx(2.19549392803449, abs=1e-11)
    assert fp.chi1 == pytest.approx(1.34240241445, abs=1e-10)
    assert fp.c_star == pytest.approx(0.16506496204, abs=1e-9)
    assert fp.chi_c == pytest.approx(0.866527995, abs=1e-8)
    assert fp.phase == "chaotic" and fp.stable
    ds = MeanField("tanh", 4.0, 0.05).depth_scales()
    assert ds.xi_c == pytest.approx(6.980273508, rel=1e-7)
    assert ds.xi_q == pytest.approx(0.873293372, rel=1e-8)


def test_tc2_erf_closed_form():
    mf = MeanField("erf", 2.0, 0.5)
    fp = mf.fixed_point()
    assert fp.q_star == pytest.approx(1.6037847224243823195, abs=1e-13)
    assert fp.chi1 == pytest.approx(0.93514825821118336511, abs=1e-13)
    ds = mf.depth_scales()
    assert ds.q_slope == pytest.approx(0.222253790572, abs=1e-11)
    assert ds.xi_c == pytest.approx(14.9141992089, rel=1e-9)


@pytest.mark.parametrize("spec", ["tanh", "relu", "x*sigmoid(x)", "erf"])
def test_maps_are_consistent_by_finite_differences(spec):
    """q-slope = d q_map/dq; Price: d cross_map/dq2 = backward cross map; chi1 = c-map slope at c=1."""
    mf = MeanField(spec, 1.7, 0.2)
    q, h = 1.3, 1e-4
    fd = (mf.q_map(q + h) - mf.q_map(q - h)) / (2 * h)
    assert float(mf.q_slope(q)) == pytest.approx(float(fd), rel=1e-6)
    q2 = 0.4
    fd2 = (mf.cross_map(q, q2 + h) - mf.cross_map(q, q2 - h)) / (2 * h)
    assert float(mf.backward_cross_map(q, q2)) == pytest.approx(float(fd2), rel=1e-6, abs=1e-9)
    assert float(mf.cross_map(q, q)) == pytest.approx(float(mf.q_map(q)), rel=1e-9)
    assert float(mf.backward_cross_map(q, q)) == pytest.approx(float(mf.chi1(q)), rel=1e-9)


def test_maps_vectorised():
    mf = MeanField("tanh", 2.0, 0.1)
    q = np.linspace(0.2, 5, 7)
    assert mf.q_map(q).shape == (7,)
    assert mf.cross_map(q[:, None], q[:, None] * np.linspace(-0.9, 0.9, 5)).shape == (7, 5)


def test_symbolic_relu_recursion_is_exact():
    mf = MeanField("relu", SIGMA_W2, SIGMA_B2)
    assert sp.simplify(mf.q_map(sp.Symbol("q")) - (SIGMA_W2 * sp.Symbol("q") / 2 + SIGMA_B2)) == 0
    assert mf.chi1(sp.Symbol("q")) == SIGMA_W2 / 2
    fwd = mf.forward(3)
    assert sp.simplify(fwd.q1[2] - (SIGMA_W2 * (SIGMA_W2 + SIGMA_B2) / 2 + SIGMA_B2)) == 0
    assert "sigma" in mf.latex() and r"\arcsin" in mf.latex()


def test_symbolic_tanh_refuses_with_clear_message():
    with pytest.raises(ValueError, match="no closed form"):
        MeanField("tanh", SIGMA_W2, SIGMA_B2).q_map(sp.Symbol("q"))


def test_phase_diagram_edge_of_chaos_relu_and_tanh():
    pd = MeanField("relu", 1, 0).phase_diagram(np.linspace(1.0, 3.0, 41), [0.0])
    assert pd.boundary[0] == pytest.approx(2.0, abs=1e-9)  # chi1 = sigma_w2/2
    assert np.all(np.isinf(pd.chi1[0, pd.sigma_w2 > 2]))  # q grows without bound
    pd = MeanField("tanh", 1, 0).phase_diagram(np.linspace(0.5, 4, 30), np.array([0.05, 0.64]))
    for sb2, sw2 in zip(pd.sigma_b2, pd.boundary, strict=False):
        # solved, not interpolated: chi1 = 1 to the root finder's precision
        assert MeanField("tanh", sw2, sb2).fixed_point().chi1 == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    "spec, sw2_grid, sb2_grid, exact",
    [
        # q* = sb2 / (1 - sw2/2) diverges at sw2 = 2 for every sb2 > 0, where chi1 -> 1
        ("relu", np.linspace(1.9, 2.1, 3), [0.1], 2.0),
        ("relu", np.linspace(0.5, 4, 40), [0.01, 0.5, 1.0], 2.0),
        # linear: chi1 = sw2 exactly; q* = sb2/(1 - sw2) diverges at sw2 = 1
        ("x", np.linspace(0.5, 4, 40), [0.0, 0.1, 1.0], 1.0),
    ],
)
def test_phase_boundary_where_q_star_diverges_is_exact(spec, sw2_grid, sb2_grid, exact):
    pd = MeanField(spec, 1, 0).phase_diagram(sw2_grid, sb2_grid)
    # q* is resolved up to 1e8, so sw2 is located to ~ sb2 * 1e-8 relative
    np.testing.assert_allclose(pd.boundary, exact, rtol=1e-7)


def test_depth_scales_of_constant_activations_are_zero():
    for spec in ("0", "1"):  # chi_c = dq/dq = 0: correlations forgotten after one layer
        ds = MeanField(spec, 1.5, 0.1).depth_scales()
        assert (ds.xi_q, ds.xi_c) == (0.0, 0.0)


def test_fixed_point_with_symbolic_variance_says_so():
    with pytest.raises(ValueError, match="numeric sigma_w2"):
        MeanField("tanh", sp.Symbol("s"), 0.1).fixed_point()


def test_forward_backward_tc_shapes_and_overflow():
    mf = MeanField("tanh", 3.0, 0.64)
    fwd = mf.forward(4)
    bwd = mf.backward(4, forward=fwd)
    assert len(fwd.q1) == 5 and bwd.qt1[4] == 1.0
    assert bwd.qt1[3] == pytest.approx(float(mf.chi1(fwd.q1[3])))
    with pytest.raises(gs.NumericalError, match="layer"):
        MeanField("relu", 4.0, 0.0).backward(1100)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sigma_w2": -1.0, "sigma_b2": 0.1}, "sigma_w2"),
        ({"sigma_w2": 1.0, "sigma_b2": np.nan}, "sigma_b2"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MeanField("tanh", **kwargs)


@pytest.mark.parametrize("spec", ["tanh", "relu", "swish"])
def test_propagate_equals_forward_and_backward(spec):
    """propagate() evaluates the phi and phi' kernels of a layer together: the same order
    parameters as forward() + backward(), on a vectorised (sigma_w2, sigma_b2) grid."""
    mf = MeanField(spec, np.array([[0.8, 1.5, 3.0]]), np.array([[0.0], [0.3]]))
    fwd, bwd = mf.propagate(4, q1_0=1.2, q2_0=0.4)
    f0 = mf.forward(4, q1_0=1.2, q2_0=0.4)
    b0 = mf.backward(4, q1_0=1.2, q2_0=0.4, forward=f0)
    for got, want in [
        (fwd.q1, f0.q1),
        (fwd.q2, f0.q2),
        (fwd.qh1, f0.qh1),
        (fwd.qh2, f0.qh2),
        (bwd.qt1, b0.qt1),
        (bwd.qt2, b0.qt2),
    ]:
        for g, w in zip(got[1:], want[1:], strict=True):
            np.testing.assert_allclose(
                np.asarray(g, float), np.asarray(w, float), rtol=1e-13, atol=1e-15
            )


def test_propagate_symbolic_relu():
    s = sp.Symbol("s", positive=True)
    fwd, bwd = MeanField("relu", 2, s).propagate(3)
    assert sp.simplify(bwd.qt1[1] - MeanField("relu", 2, s).backward(3).qt1[1]) == 0
    assert fwd.q1[2] == MeanField("relu", 2, s).forward(3).q1[2]


def test_bad_depth_and_no_fixed_point():
    with pytest.raises(ValueError, match="depth"):
        MeanField("tanh", 1.0, 0.0).forward(0)
    with pytest.raises(gs.ConvergenceError, match="without bound"):
        MeanField("relu", 2.5, 0.1).fixed_point()

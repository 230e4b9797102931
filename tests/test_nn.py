"""Tests for geosym.nn: exact backprop, Gram-route FIM statistics, GD training, bad input.

The theory check (``test_lambda_max_matches_mean_field_theory``) recomputes the mean-field
constants kappa_1, kappa_2 of Karakida, Akaho & Amari (AISTATS 2019) by Gauss-Hermite
quadrature *inside the test*, so it does not depend on geosym.fisher.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import geosym.nn as nn
from geosym.errors import NumericalError
from geosym.nn import MLP, fim_statistics, gram_matrix, jacobian


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def small_net(act="tanh", widths=(4, 6, 5, 3), sw2=1.5, sb2=0.2, seed=0) -> MLP:
    return MLP.random(list(widths), act, sigma_w2=sw2, sigma_b2=sb2, seed=seed)


def loss_of(net: MLP, theta: np.ndarray, X, Y) -> float:
    other = net.copy()
    other.set_parameters(theta)
    return other.loss(X, Y)


def flat_grads(grads) -> np.ndarray:
    return np.concatenate([np.concatenate([gw.ravel(), gb]) for gw, gb in grads])


def jacobian_per_sample(net: MLP, X: np.ndarray) -> np.ndarray:
    """Independent reference: one backward pass per (output k, sample t), no vectorisation."""
    T, C = X.shape[0], net.n_outputs
    rows = []
    for k in range(C):
        for t in range(T):
            cache = net.forward(X[t : t + 1])
            g = np.zeros((1, C))
            g[0, k] = 1.0
            deltas = net.backward(cache, g)
            grads = [(d.T @ h, d.sum(axis=0)) for d, h in zip(deltas, cache.inputs, strict=True)]
            rows.append(flat_grads(grads))
    return np.array(rows)


class TanhStandIn:
    """Minimal Activation-like object (callable + derivative()), no geosym.activations."""

    name = "tanh-standin"

    def __call__(self, x):
        return np.tanh(x)

    def derivative(self, n: int = 1):
        return _DTanh()


class _DTanh:
    def __call__(self, x):
        return 1.0 - np.tanh(x) ** 2

    def derivative(self, n: int = 1):  # pragma: no cover - unused
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# construction, activation handling, reproducibility
# --------------------------------------------------------------------------------------------
def test_random_shapes_and_variances():
    net = MLP.random([300, 400, 200, 7], "tanh", sigma_w2=2.0, sigma_b2=0.5, seed=1)
    assert net.widths == (300, 400, 200, 7)
    assert net.depth == 3 and net.n_inputs == 300 and net.n_outputs == 7
    assert net.n_params == 400 * 301 + 200 * 401 + 7 * 201 == net.parameters().size
    for w in net.weights:  # Var W = sigma_w2 / M_{l-1}
        assert w.var() * w.shape[1] == pytest.approx(2.0, rel=0.1)
    assert np.concatenate(net.biases).var() == pytest.approx(0.5, rel=0.15)


def test_seed_int_and_generator_reproducible():
    a = small_net(seed=3).parameters()
    b = small_net(seed=3).parameters()
    c = MLP.random([4, 6, 5, 3], "tanh", 1.5, 0.2, seed=np.random.default_rng(3)).parameters()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, small_net(seed=4).parameters())


def test_activation_spec_string_object_and_standin_agree():
    X = np.random.default_rng(0).standard_normal((5, 4))
    ref = small_net("tanh")
    for spec in ("tanh", "(exp(2*x)-1)/(exp(2*x)+1)", TanhStandIn()):
        other = MLP(ref.weights, ref.biases, spec)
        np.testing.assert_allclose(other(X), ref(X), rtol=1e-12, atol=1e-12)
    import geosym

    obj = geosym.activation("tanh")
    assert MLP(ref.weights, ref.biases, obj).activation is obj


def test_forward_matches_manual_computation():
    net = small_net("relu")
    X = np.random.default_rng(1).standard_normal((7, 4))
    h = X
    for l, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        u = h @ w.T + b
        h = np.maximum(u, 0) if l < net.depth - 1 else u
    np.testing.assert_allclose(net(X), h, rtol=1e-13, atol=1e-13)
    assert net(X).shape == (7, 3)


def test_set_parameters_roundtrip():
    net = small_net()
    theta = net.parameters() + 0.1
    net.set_parameters(theta)
    np.testing.assert_array_equal(net.parameters(), theta)


# --------------------------------------------------------------------------------------------
# exact backprop
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["tanh", "x*sigmoid(x)", "erf(x/sqrt(2))"])
def test_gradients_match_finite_differences(act):
    net = small_net(act, widths=(3, 5, 4, 2), sw2=2.0, sb2=0.3, seed=2)
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    loss, grads = net.gradients(X, Y)
    assert loss == pytest.approx(net.loss(X, Y), rel=1e-14)
    g = flat_grads(grads)
    theta = net.parameters()
    h = 1e-6
    fd = np.empty_like(theta)
    for p in range(theta.size):
        e = np.zeros_like(theta)
        e[p] = h
        fd[p] = (loss_of(net, theta + e, X, Y) - loss_of(net, theta - e, X, Y)) / (2 * h)
    # central differences: truncation O(h^2) ~ 1e-12, round-off ~ eps*loss/h ~ 1e-10
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_jacobian_matches_finite_differences_of_outputs():
    net = small_net("tanh", widths=(3, 4, 2), seed=7)
    X = np.random.default_rng(8).standard_normal((5, 3))
    J = jacobian(net, X)
    theta = net.parameters()
    h = 1e-6
    cols = []
    for p in range(theta.size):
        e = np.zeros_like(theta)
        e[p] = h
        plus, minus = net.copy(), net.copy()
        plus.set_parameters(theta + e)
        minus.set_parameters(theta - e)
        # rows ordered k * T + t: transpose (T, C) outputs to (C, T) before flattening
        cols.append(((plus(X) - minus(X)).T.ravel()) / (2 * h))
    np.testing.assert_allclose(J, np.array(cols).T, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------------------------
# Gram route vs explicit Jacobian
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("act", "widths"),
    [
        ("tanh", (4, 6, 5, 3)),
        ("relu", (5, 8, 8, 8, 2)),
        ("x*sigmoid(x)", (3, 7, 1)),
        ("tanh", (6, 4)),
    ],
)
def test_gram_matches_explicit_jacobian(act, widths):
    net = small_net(act, widths=widths, sw2=2.0, sb2=0.1, seed=11)
    X = np.random.default_rng(12).standard_normal((9, widths[0]))
    G = gram_matrix(net, X)
    J = jacobian_per_sample(net, X)  # independent, non-vectorised reference
    np.testing.assert_allclose(jacobian(net, X), J, rtol=1e-12, atol=1e-13)
    JJ = J @ J.T
    assert np.abs(G - JJ).max() <= 1e-10 * np.abs(JJ).max()
    np.testing.assert_array_equal(G, G.T)


def test_statistics_gram_and_jacobian_routes_agree():
    net = small_net("tanh", widths=(10, 12, 12, 3), sw2=3.0, sb2=0.64, seed=4)
    X = np.random.default_rng(0).standard_normal((8, 10))
    a = fim_statistics(net, X)
    b = fim_statistics(net, X, method="jacobian")
    for name in ("m_lambda", "s_lambda", "lambda_max", "lambda_2", "kappa1", "kappa2"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-10)
    np.testing.assert_allclose(a.spectrum, b.spectrum, rtol=1e-9, atol=1e-12 * a.lambda_max)


# --------------------------------------------------------------------------------------------
# spectrum properties
# --------------------------------------------------------------------------------------------
def test_spectrum_properties_and_full_fim():
    net = small_net("tanh", widths=(5, 7, 6, 2), sw2=2.0, sb2=0.3, seed=21)
    X = np.random.default_rng(22).standard_normal((6, 5))
    T, C, P = 6, 2, net.n_params
    st = fim_statistics(net, X)
    assert st.spectrum.shape == (C * T,)  # rank F <= CT
    assert np.all(np.diff(st.spectrum) <= 0) and st.spectrum[-1] >= 0
    assert st.lambda_max == st.spectrum[0]
    assert st.lambda_2 == pytest.approx(st.spectrum[C:].mean(), rel=1e-14)
    # trace identities: sum lambda = P m_lambda, sum lambda^2 = P s_lambda
    assert st.spectrum.sum() == pytest.approx(P * st.m_lambda, rel=1e-10)
    assert (st.spectrum**2).sum() == pytest.approx(P * st.s_lambda, rel=1e-10)
    assert st.eta_critical == pytest.approx(2 / st.lambda_max)
    # full P x P FIM (tiny net only): the nonzero spectrum is the same, the rest is zero
    J = jacobian(net, X)
    F = J.T @ J / T
    ev = np.sort(np.linalg.eigvalsh(F))[::-1]
    np.testing.assert_allclose(ev[: C * T], st.spectrum, rtol=1e-8, atol=1e-10 * st.lambda_max)
    assert np.abs(ev[C * T :]).max() < 1e-10 * st.lambda_max
    assert np.trace(F) / P == pytest.approx(st.m_lambda, rel=1e-10)
    with pytest.raises(AttributeError):
        st.lambda_max = 0.0  # frozen
    with pytest.raises(ValueError):
        st.spectrum[0] = 0.0  # read-only


def test_spectrum_truncated_when_fewer_params_than_ct():
    net = small_net("tanh", widths=(2, 2, 1), seed=1)  # P = 9
    X = np.random.default_rng(0).standard_normal((20, 2))
    st = fim_statistics(net, X)
    assert st.n_params == 9 and st.spectrum.shape == (9,)


def test_to_dict_is_json_ready():
    net = small_net()
    st = fim_statistics(net, np.random.default_rng(0).standard_normal((4, 4)))
    d = json.loads(json.dumps(st.to_dict()))
    assert d["lambda_max"] == st.lambda_max and len(d["spectrum"]) == 12
    assert d["widths"] == [4, 6, 5, 3] and d["samples"] == 4 and d["outputs"] == 3
    st1 = fim_statistics(net, np.ones((1, 4)))  # T = 1: no lambda_2 group
    assert np.isnan(st1.lambda_2) and st1.to_dict()["lambda_2"] is None
    assert "lambda" in st.latex()


# --------------------------------------------------------------------------------------------
# mean-field theory check, quadrature in the test only
# --------------------------------------------------------------------------------------------
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(160)
_GH_W = _GH_W / _GH_W.sum()  # probabilists' Gauss-Hermite: E[g(z)], z ~ N(0,1)


def _e1(g, q1):
    return float(_GH_W @ g(np.sqrt(q1) * _GH_X))


def _e2(g, q1, q2):
    c = q2 / q1
    u = np.sqrt(q1) * _GH_X[:, None]
    v = np.sqrt(q1) * (c * _GH_X[:, None] + np.sqrt(1 - c * c) * _GH_X[None, :])
    return float(_GH_W @ (g(u) * g(v)) @ _GH_W)


def _kappas_equal_width(phi, dphi, sw2, sb2, L):
    """kappa_1, kappa_2 of Karakida, Akaho & Amari 2019 for alpha_l = 1 (so alpha = L - 1), inputs N(0, I)."""
    qh1, qh2 = [1.0], [0.0]
    q1s, q2s = [], []
    for _ in range(1, L):
        q1, q2 = sw2 * qh1[-1] + sb2, sw2 * qh2[-1] + sb2
        q1s.append(q1)
        q2s.append(q2)
        qh1.append(_e1(lambda z: phi(z) ** 2, q1))
        qh2.append(_e2(phi, q1, q2))
    qt1, qt2 = [1.0], [1.0]  # l = L
    for l in range(L - 1, 0, -1):
        qt1.insert(0, sw2 * qt1[0] * _e1(lambda z: dphi(z) ** 2, q1s[l - 1]))
        qt2.insert(0, sw2 * qt2[0] * _e2(dphi, q1s[l - 1], q2s[l - 1]))
    alpha = L - 1
    k1 = sum(qt1[l] * qh1[l] for l in range(L)) / alpha
    k2 = sum(qt2[l] * qh2[l] for l in range(L)) / alpha
    return k1, k2, alpha


def test_lambda_max_matches_mean_field_theory():
    """tanh (sigma_w^2 = 3, sigma_b^2 = 0.64), L = 3, M = 500, T = 20, C = 1, mean of 8 seeds.

    Theory: lambda_max = alpha M (kappa_1 + (T-1) kappa_2) / T, lambda_2 = alpha M (kappa_1 -
    kappa_2) / T, m_lambda = kappa_1 C / M (Karakida, Akaho & Amari 2019, Theorem 1). Tolerances:
    the finite-width bias is positive, +1-8 % and ~1/M (measured: +1.4 % at M = 1000); one network fluctuates
    by ~3.5 % (lambda_max), ~4 % (m_lambda), ~5 % (lambda_2) at M = 500 (measured; mostly the
    C*M output weights, relative spread ~sqrt(2/M)), i.e. ~1.3-1.8 % for an 8-seed mean. So we
    accept lambda_max/theory in [0.96, 1.10] and +-5 % (m_lambda), +-10 % (lambda_2): >= 2.5
    sigma away from the expected ratio, yet a wrong kappa (a missing layer, a factor alpha, a
    mean/sum convention) moves the ratio by > 20 %.
    """
    L, M, T, sw2, sb2 = 3, 500, 20, 3.0, 0.64
    k1, k2, alpha = _kappas_equal_width(np.tanh, lambda z: 1 - np.tanh(z) ** 2, sw2, sb2, L)
    lam_theory = alpha * M * (k1 + (T - 1) * k2) / T
    lam2_theory = alpha * M * (k1 - k2) / T
    m_theory = k1 / M
    rng = np.random.default_rng(2019)
    lam, lam2, m = [], [], []
    for _ in range(8):
        net = MLP.random([M, M, M, 1], "tanh", sw2, sb2, seed=rng)
        st = fim_statistics(net, rng.standard_normal((T, M)))
        lam.append(st.lambda_max)
        lam2.append(st.lambda_2)
        m.append(st.m_lambda)
        assert st.alpha == alpha
    assert 0.96 < np.mean(lam) / lam_theory < 1.10
    assert np.mean(m) / m_theory == pytest.approx(1.0, abs=0.05)
    assert 0.9 < np.mean(lam2) / lam2_theory < 1.1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("act", "phi", "dphi", "sw2", "sb2"),
    [
        ("tanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2, 3.0, 0.64),
        ("relu", lambda z: np.maximum(z, 0.0), lambda z: (z > 0) * 1.0, 2.0, 0.0),
    ],
)
def test_all_statistics_match_theory_wide(act, phi, dphi, sw2, sb2):
    """Tolerance from Monte-Carlo runs of the theory: <= 5 % for M >= 2000 over >= 8 seeds (C = 2, T = 20)."""
    L, M, T, C = 3, 2000, 20, 2
    k1, k2, alpha = _kappas_equal_width(phi, dphi, sw2, sb2, L)
    theory = {
        "m_lambda": k1 * C / M,
        "s_lambda": alpha * C * ((T - 1) * k2**2 / T + k1**2 / T),
        "lambda_max": alpha * M * (k1 + (T - 1) * k2) / T,
        "lambda_2": alpha * M * (k1 - k2) / T,
        "kappa1": k1,
        "kappa2": k2,
    }
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(8):
        net = MLP.random([M, M, M, C], act, sw2, sb2, seed=rng)
        st = fim_statistics(net, rng.standard_normal((T, M)))
        rows.append([getattr(st, k) / v for k, v in theory.items()])
    ratios = dict(zip(theory, np.mean(rows, axis=0), strict=True))
    for name, ratio in ratios.items():
        assert ratio == pytest.approx(1.0, abs=0.05), (name, ratios)


def test_linear_network_gram_and_depth_one():
    net = small_net("x", widths=(4, 5, 2), seed=3)
    X = np.random.default_rng(4).standard_normal((6, 4))
    J = jacobian_per_sample(net, X)
    np.testing.assert_allclose(gram_matrix(net, X), J @ J.T, rtol=1e-12, atol=1e-12)
    st = fim_statistics(small_net("tanh", widths=(4, 3), seed=0), X)  # L = 1: no hidden layer
    assert st.depth == 1 and st.alpha == 0 and np.isnan(st.kappa1)
    assert st.lambda_max > 0


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
def _train_setup(seed=0):
    data = nn.teacher_student([8, 30, 30, 2], "tanh", 1.5, 0.1, samples=12, noise=0.1, seed=seed)
    net = MLP.random([8, 30, 30, 2], "tanh", 1.5, 0.1, seed=seed + 100)
    return net, data.X, data.Y


def test_train_curve_shape_and_monotone_at_small_eta():
    net, X, Y = _train_setup()
    eta = 0.5 * fim_statistics(net, X).eta_critical
    loss0 = net.loss(X, Y)
    curve = net.train(X, Y, eta=eta, steps=50)
    assert curve.shape == (51,) and curve[0] == loss0
    assert np.all(np.diff(curve) < 0)
    assert curve[-1] == pytest.approx(net.loss(X, Y), rel=1e-12)  # trained in place
    assert net.train(X, Y, eta=eta, steps=0).shape == (1,)


def test_one_gd_step_is_theta_minus_eta_grad():
    net, X, Y = _train_setup(1)
    theta0 = net.parameters()
    _, grads = net.gradients(X, Y)
    net.train(X, Y, eta=0.01, steps=1)
    np.testing.assert_allclose(net.parameters(), theta0 - 0.01 * flat_grads(grads), rtol=1e-13)


def test_divergence_raise_and_stop():
    net, X, Y = _train_setup(2)
    eta = 50 * fim_statistics(net, X).eta_critical
    theta0 = net.parameters()
    with pytest.raises(NumericalError, match=r"diverged at step \d+"):
        net.copy().train(X, Y, eta=eta, steps=500)
    with pytest.warns(nn.DivergenceWarning, match="step"):
        curve = net.train(X, Y, eta=eta, steps=500, on_divergence="stop")
    assert 1 <= len(curve) < 501 and np.all(np.isfinite(curve))
    assert np.all(np.isfinite(net.parameters()))
    assert not np.array_equal(net.parameters(), theta0) or len(curve) == 1
    assert net.loss(X, Y) == pytest.approx(curve[-1], rel=1e-12)  # left at the last good step


def test_learning_rate_sweep_around_eta_critical():
    """Karakida, Akaho & Amari 2019, learning rate, at small scale: monotone below
    eta_c = 2/lambda_max (measured), catapult
    (loss rises, then converges) at 1.5 eta_c, divergence caught without crashing at 10 eta_c.
    Robust over seeds 0-4 (checked when writing the test)."""
    M, T = 60, 20
    net = MLP.random([M, M, M, 1], "tanh", 3.0, 0.64, seed=0)
    X, Y = nn.gaussian_inputs(T, M, seed=10), nn.random_targets(T, 1, seed=20)
    eta_c = fim_statistics(net, X).eta_critical
    curves = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for f in (0.5, 0.9, 1.5, 10.0):
            curves[f] = net.copy().train(X, Y, eta=f * eta_c, steps=100, on_divergence="stop")
    for f in (0.5, 0.9):
        assert len(curves[f]) == 101 and np.all(np.diff(curves[f]) <= 0)
    assert len(curves[1.5]) == 101 and curves[1.5].max() > 1.5 * curves[1.5][0]
    assert curves[1.5][-1] < curves[1.5][0]
    assert len(curves[10.0]) < 101 and np.all(np.isfinite(curves[10.0]))
    assert [type(w.message) for w in caught] == [nn.DivergenceWarning]


def test_no_divergence_no_warning():
    net, X, Y = _train_setup(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curve = net.train(X, Y, eta=1e-3, steps=5, on_divergence="stop")
    assert curve.shape == (6,)


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def test_data_generators():
    d = nn.teacher_student([5, 7, 2], "relu", 2.0, 0.0, samples=9, seed=4)
    assert d.X.shape == (9, 5) and d.Y.shape == (9, 2)
    np.testing.assert_array_equal(d.Y, d.teacher(d.X))
    d2 = nn.teacher_student([5, 7, 2], "relu", 2.0, 0.0, samples=9, seed=4)
    np.testing.assert_array_equal(d.X, d2.X)
    assert nn.gaussian_inputs(3, 4, seed=0).shape == (3, 4)
    assert nn.random_targets(3, 2, seed=np.random.default_rng(0)).shape == (3, 2)


# --------------------------------------------------------------------------------------------
# bad input and numerical trouble
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"widths": [4, 0, 2]}, ValueError, r"widths\[1\]"),
        ({"widths": [4, -3, 2]}, ValueError, r"widths\[1\]"),
        ({"widths": [4]}, ValueError, "depth"),
        ({"widths": [4, 2.5, 2]}, TypeError, r"widths\[1\]"),
        ({"widths": "42"}, TypeError, "widths"),
        ({"sigma_w2": -1.0}, ValueError, "sigma_w2"),
        ({"sigma_b2": -0.1}, ValueError, "sigma_b2"),
        ({"sigma_w2": float("nan")}, ValueError, "sigma_w2"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"activation": "foo(x)"}, ValueError, "foo"),
    ],
)
def test_random_bad_input(kwargs, exc, match):
    args = {"widths": [4, 3, 2], "activation": "tanh", "sigma_w2": 1.0, "sigma_b2": 0.1, "seed": 0}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        MLP.random(**args)


def test_bad_data_and_training_arguments():
    net = small_net()
    X = np.zeros((5, 4))
    Y = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"X has 3 columns.*M_0"):
        net(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="X must be a 2-D"):
        net(np.zeros(4))
    with pytest.raises(ValueError, match="at least one sample"):
        net(np.zeros((0, 4)))
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN.*row 2, column 1"):
        fim_statistics(net, Xn)
    with pytest.raises(ValueError, match="Y has 4 rows"):
        net.train(X, np.zeros((4, 3)), eta=0.1, steps=1)
    with pytest.raises(ValueError, match="Y has 2 columns"):
        net.train(X, np.zeros((5, 2)), eta=0.1, steps=1)
    with pytest.raises(ValueError, match="eta"):
        net.train(X, Y, eta=0.0, steps=1)
    with pytest.raises(ValueError, match="steps"):
        net.train(X, Y, eta=0.1, steps=-1)
    with pytest.raises(ValueError, match="method"):
        net.train(X, Y, eta=0.1, steps=1, method="adam")
    with pytest.raises(ValueError, match="on_divergence"):
        net.train(X, Y, eta=0.1, steps=1, on_divergence="ignore")
    with pytest.raises(ValueError, match="method"):
        fim_statistics(net, X, method="pxp")
    with pytest.raises(TypeError, match="net must be"):
        fim_statistics("not a net", X)
    with pytest.raises(ValueError, match="GiB"):
        jacobian(net, X, max_bytes=100)
    with pytest.raises(ValueError, match="layer 2"):
        MLP([np.ones((3, 4)), np.ones((2, 2))], [np.zeros(3), np.zeros(2)], "tanh")


def test_overflow_names_the_layer():
    net = MLP.random([3, 4, 4, 1], "exp(x)", sigma_w2=1.0, sigma_b2=0.0, seed=0)
    net.weights[1] = np.abs(net.weights[1]) * 1e3  # u^2 ~ +1e3 -> exp overflows at layer 2
    X = np.ones((2, 3))
    with pytest.raises(NumericalError, match="layer 2"):
        net(X)
    with pytest.raises(NumericalError, match="initial network"):
        net.train(X, np.zeros((2, 1)), eta=0.1, steps=3)

"""The Gaussian-expectation engine: closed-form rules against independent quadrature."""

import math

import numpy as np
import pytest
import sympy as sp
from conftest import reference_expectation as reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import geosym as gs
from geosym.activations import REGISTRY
from geosym.gaussian import evaluate_many

Q1, Q2 = sp.symbols("q1 q2", positive=True)

# functions the closed-form rules must handle, with their kinks
CLOSED = {
    "erf": (),
    "erf(2*x)": (),
    "erf(x/sqrt(2))": (),
    "relu": (0.0,),
    "step": (0.0,),
    "sign": (0.0,),
    "abs": (0.0,),
    "leaky_relu(x, 0.2)": (0.0,),
    "gelu": (),
    "gaussian": (),
    "sin": (),
    "cos(2*x)": (),
    "x**3": (),
    "exp(x/2)": (),
    "linear": (),
    "x*erf(x)": (),
    "exp(-x**2)*x**2": (),
    "x**2*step(x)": (0.0,),
}

covariances = st.tuples(
    st.floats(0.05, 10.0),
    st.floats(0.05, 10.0),
    st.one_of(st.floats(-0.999, 0.999), st.sampled_from([-0.9995, 0.9995, 0.9999, -0.9999, 0.0])),
)


def _cov(q1, q2, rho):
    c = rho * math.sqrt(q1 * q2)
    return [[q1, c], [c, q2]]


@pytest.mark.parametrize("spec", sorted(CLOSED))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cov=covariances)
def test_closed_form_pairs_match_quadrature(spec, cov):
    phi = gs.activation(spec)
    q1, q2, rho = cov
    e = gs.expect([phi, phi], [[Q1, Q2], [Q2, Q1]])  # symbolic, cached across examples
    assert e.expr is not None and e.method.startswith("closed form")
    value = e.numeric()(q1, rho * q1)
    ref = reference(phi, phi, [[q1, rho * q1], [rho * q1, q1]], CLOSED[spec], CLOSED[spec])
    assert value == pytest.approx(ref, abs=1e-8 * (1 + abs(ref)))
    # the numeric covariance path gives the same number
    direct = float(gs.expect([phi, phi], _cov(q1, q2, rho)))
    ref2 = reference(phi, phi, _cov(q1, q2, rho), CLOSED[spec], CLOSED[spec])
    assert direct == pytest.approx(ref2, abs=1e-8 * (1 + abs(ref2)))


@pytest.mark.parametrize("spec", ["erf", "relu", "gelu", "leaky_relu(x, 0.2)", "x**3", "sin"])
@settings(max_examples=4, deadline=None)
@given(cov=covariances)
def test_backward_kernels_with_derivatives(spec, cov):
    """E[phi'(u1) phi'(u2)] (Price's theorem partner) including steps and Gaussians."""
    d = gs.activation(spec).derivative()
    c = _cov(*cov)
    ref = reference(d, d, c, d.kinks, d.kinks)
    assert float(gs.expect([d, d], c)) == pytest.approx(ref, abs=1e-8 * (1 + abs(ref)))


def test_known_closed_forms_symbolically():
    k = [[Q1, Q2], [Q2, Q1]]
    erf = gs.expect(["erf", "erf"], k).expr
    assert sp.simplify(erf - 2 / sp.pi * sp.asin(2 * Q2 / (1 + 2 * Q1))) == 0
    step = gs.expect(["step", "step"], k).expr
    assert sp.simplify(step - (sp.Rational(1, 4) + sp.asin(Q2 / Q1) / (2 * sp.pi))) == 0
    relu = gs.expect(["relu", "relu"], k).expr
    theta = sp.acos(Q2 / Q1)
    cho_saul = Q1 / (2 * sp.pi) * (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta))
    for q1, q2 in [(1.3, 0.4), (2.0, -1.5), (0.5, 0.499)]:
        sub = {Q1: q1, Q2: q2}
        assert float(relu.subs(sub)) == pytest.approx(float(cho_saul.subs(sub)), rel=1e-13)
    assert gs.expect(["x**3", "x**3"], k).expr == 9 * Q1**2 * Q2 + 6 * Q2**3
    assert gs.expect("relu", [[Q1]]).expr.equals(sp.sqrt(Q1 / (2 * sp.pi)))


def test_price_theorem_holds_for_closed_forms():
    """d/dq2 E[phi phi] = E[phi' phi'] (Price), checked symbolically for erf, relu and gelu."""
    k = [[Q1, Q2], [Q2, Q1]]
    for spec in ["erf", "relu", "gelu", "sin"]:
        phi = gs.activation(spec)
        lhs = sp.diff(gs.expect([phi, phi], k).expr, Q2)
        rhs = gs.expect([phi.derivative(), phi.derivative()], k).expr
        for q1, q2 in [(1.3, 0.4), (3.0, -2.0)]:
            sub = {Q1: q1, Q2: q2}
            assert float(lhs.subs(sub)) == pytest.approx(float(rhs.subs(sub)), rel=1e-11)


def _committee_erf(cov):
    """Closed forms of Saad & Solla (1995) for g = erf(x/sqrt 2), written independently here."""
    c = np.asarray(cov, dtype=float)
    if c.shape == (3, 3):
        lam3 = (1 + c[0, 0]) * (1 + c[2, 2]) - c[0, 2] ** 2
        return (
            2
            / np.pi
            / np.sqrt(lam3)
            * (c[1, 2] * (1 + c[0, 0]) - c[0, 1] * c[0, 2])
            / (1 + c[0, 0])
        )
    lam4 = (1 + c[0, 0]) * (1 + c[1, 1]) - c[0, 1] ** 2
    lam0 = (
        lam4 * c[2, 3]
        - c[1, 2] * c[1, 3] * (1 + c[0, 0])
        - c[0, 2] * c[0, 3] * (1 + c[1, 1])
        + c[0, 1] * c[0, 2] * c[1, 3]
        + c[0, 1] * c[0, 3] * c[1, 2]
    )
    lam1 = (
        lam4 * (1 + c[2, 2])
        - c[1, 2] ** 2 * (1 + c[0, 0])
        - c[0, 2] ** 2 * (1 + c[1, 1])
        + 2 * c[0, 1] * c[0, 2] * c[1, 2]
    )
    lam2 = (
        lam4 * (1 + c[3, 3])
        - c[1, 3] ** 2 * (1 + c[0, 0])
        - c[0, 3] ** 2 * (1 + c[1, 1])
        + 2 * c[0, 1] * c[0, 3] * c[1, 3]
    )
    return 4 / np.pi**2 / np.sqrt(lam4) * np.arcsin(lam0 / np.sqrt(lam1 * lam2))


def _random_cov(rng, k):
    a = rng.normal(size=(k, k + 1))
    return a @ a.T / (k + 1)


def test_committee_integrals_for_erf_match_published_forms(rng):
    g = gs.activation("erf(x/sqrt(2))")
    gp = g.derivative()
    C = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"C{min(i, j) + 1}{max(i, j) + 1}"))
    i3 = gs.expect([gp, "x", g], C[:3, :3])
    i4 = gs.expect([gp, gp, g, g], C)
    assert i3.method.startswith("closed form") and i4.method.startswith("closed form")
    for _ in range(20):
        c4 = _random_cov(rng, 4)
        vals = {s.name: c4[int(s.name[1]) - 1, int(s.name[2]) - 1] for s in i4.symbols}
        got4 = i4.numeric()(*[vals[s.name] for s in i4.symbols])
        assert got4 == pytest.approx(_committee_erf(c4), rel=1e-10, abs=1e-13)
        got3 = i3.numeric()(*[vals[s.name] for s in i3.symbols])
        assert got3 == pytest.approx(_committee_erf(c4[:3, :3]), rel=1e-10, abs=1e-13)


def test_relu_i3_by_stein_matches_formula(rng):
    """E[step(u1) u2 relu(u3)] = C23 (1/4 + asin(rho13)/2pi) + C12 sqrt(C11 C33 - C13^2)/(2 pi C11)."""
    for _ in range(5):
        c = _random_cov(rng, 3)
        got = float(gs.expect(["step", "x", "relu"], c))
        rho13 = c[0, 2] / np.sqrt(c[0, 0] * c[2, 2])
        want = c[1, 2] * (0.25 + np.arcsin(rho13) / (2 * np.pi)) + c[0, 1] * np.sqrt(
            c[0, 0] * c[2, 2] - c[0, 2] ** 2
        ) / (2 * np.pi * c[0, 0])
        assert got == pytest.approx(want, rel=1e-11)


def test_numeric_vectorised_with_broadcasting():
    e = gs.expect(["erf", "erf"], [[Q1, Q2], [Q2, Q1]])
    q1 = np.linspace(0.5, 4, 5)[:, None]
    q2 = np.linspace(-0.4, 0.4, 3)[None, :]
    out = e.numeric()(q1, q2)
    assert out.shape == (5, 3)
    assert out[2, 1] == pytest.approx(2 / np.pi * np.arcsin(2 * q2[0, 1] / (1 + 2 * q1[2, 0])))


def test_evaluate_many_matches_separate_numeric():
    """Closed forms (erf), quadrature kernels sharing one covariance (tanh, tanh') and a
    1-point kernel in one call: the values and errors of separate .numeric() calls."""
    d = gs.activation("tanh").derivative()
    pair = [[Q1, Q2], [Q2, Q1]]
    exps = [
        gs.expect(["erf", "erf"], pair),
        gs.expect(["tanh", "tanh"], pair),
        gs.expect([d, d], pair),
        gs.expect(["tanh", "swish"], pair),
    ]
    q1 = np.array([0.3, 1.0, 4.0, 9.5])
    q2 = q1 * np.array([0.5, -0.9, 0.999, 0.2])
    got = evaluate_many(exps, q1, q2, return_error=True)
    for e, (value, error) in zip(exps, got, strict=True):
        if e.expr is not None:
            want, want_err = e.numeric()(q1, q2), np.zeros(4)
        else:
            want, want_err = e.numeric()(q1, q2, return_error=True)
        np.testing.assert_allclose(value, want, rtol=0, atol=1e-14)
        np.testing.assert_allclose(error, want_err, rtol=1e-9, atol=1e-15)
    vals = evaluate_many(exps[1:3], 2.0, 1.0)
    assert vals[1] == pytest.approx(float(exps[2].numeric()(2.0, 1.0)), abs=1e-14)
    with pytest.raises(ValueError, match="same covariance symbols"):
        evaluate_many([exps[0], gs.expect(["tanh"], [[Q1]])], 1.0)
    with pytest.raises(TypeError, match="Expectation objects"):
        evaluate_many(["tanh"], 1.0)


def test_expectation_interface():
    e = gs.expect(["relu", "relu"], [[1, 0.5], [0.5, 1]])
    assert e.error == 0.0 and e.symbols == ()
    assert float(e) == pytest.approx(
        (math.sqrt(0.75) + 0.5 * (math.pi - math.acos(0.5))) / (2 * math.pi)
    )
    assert r"\mathbb{E}" in e.latex()
    assert e.to_dict()["method"].startswith("closed form")
    s = gs.expect(["erf", "erf"], [[Q1, Q2], [Q2, Q1]])
    assert [x.name for x in s.symbols] == ["q1", "q2"]
    assert r"\arcsin" in s.latex()
    with pytest.raises(TypeError):
        float(s)
    assert gs.expect(["erf", "erf"], [[Q1, Q2], [Q2, Q1]]) is s  # cached


def test_referee_is_right_for_oscillatory_integrands():
    # E[cos(20 u) tanh(u)^2], u ~ N(0, 1): the fixed 12/18-node panels gave -5.7e-6; the
    # adaptive referee halves panels until its estimate is below 1e-25 and must agree with the
    # independent float64 rule (error bound ~3e-13) and carry its own 25 digits
    e = gs.expect(["cos(20*x)*tanh(x)**2"], [[1.0]])
    val = e.evalf(25)
    assert abs(float(val) - float(e)) <= e.error
    assert float(val) == pytest.approx(-3.6026519460129e-12, rel=1e-12)


def test_referee_refuses_what_it_cannot_certify():
    from geosym.gaussian.quadrature import gaussian_expectation_mp

    f = gs.activation("cos(40*x)*tanh(x)**2")
    with pytest.raises(gs.IntegrationError, match="cannot certify"):
        gaussian_expectation_mp(
            [f.mpmath_function], [[1.0]], precision=25, tol=1e-25, max_evaluations=2_000
        )


def test_erf_high_precision_referee():
    e = gs.expect(["erf", "erf"], [[1, sp.Rational(1, 2)], [sp.Rational(1, 2), 1]])
    val = e.evalf(40)
    assert abs(val - 2 / sp.pi * sp.asin(sp.Rational(1, 3))) < 1e-38


@pytest.mark.parametrize(
    "functions, cov, match",
    [
        (["tanh", "tanh"], [[1, 2], [2, 1]], "positive semi-definite"),
        (["tanh", "tanh"], [[1, 0.2], [0.3, 1]], "symmetric"),
        (["tanh"], [[-1]], "negative variance"),
        (["tanh"], [[float("nan")]], "finite"),
        (["tanh"], [[complex(1, 1)]], "complex"),
        (["tanh", "tanh"], [[1, 0], [0, 1], [0, 0]], "2x2"),
        (["tanh"] * 5, np.eye(5), "1 to 4"),
        (["exp(x**2)"], [[1]], "diverges"),
        (["tanh(y)"], [[1]], "'y'"),
    ],
)
def test_bad_input(functions, cov, match):
    with pytest.raises(ValueError, match=match):
        gs.expect(functions, cov)


def test_bad_method_and_tol():
    with pytest.raises(ValueError, match="method"):
        gs.expect("tanh", [[1]], method="magic")
    with pytest.raises(ValueError, match="tol"):
        gs.expect("tanh", [[1]], tol=-1)
    with pytest.raises(gs.IntegrationError):
        gs.expect("tanh", [[1]], method="closed")


# ---- the numeric route (needs geosym.gaussian.quadrature) -------------------------------------
NUMERIC = ["tanh", "x*sigmoid(x)", "softplus", "elu", "gelu", "sigmoid"]


@pytest.mark.parametrize("spec", NUMERIC)
def test_numeric_route_against_independent_quadrature(spec, rng):
    phi = gs.activation(spec)
    for _ in range(3):
        q1, q2 = rng.uniform(0.1, 10, size=2)
        rho = rng.uniform(-0.999, 0.999)
        c = _cov(q1, q2, rho)
        ref = reference(phi, phi, c, phi.kinks, phi.kinks)
        e = gs.expect([phi, phi], c, method="numeric")
        assert e.method.startswith("quadrature")
        assert e.error <= 1e-9
        assert float(e) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("spec", ["erf", "relu", "step", "gelu", "abs"])
def test_forced_numeric_route_agrees_with_closed_form(spec):
    sym = gs.expect([spec, spec], [[Q1, Q2], [Q2, Q1]])
    num = gs.expect([spec, spec], [[Q1, Q2], [Q2, Q1]], method="numeric")
    q1 = np.array([0.3, 1.0, 4.0, 9.5, 2.0])
    q2 = q1 * np.array([0.5, -0.9, 0.999, 0.2, 1.0])
    got, err = num.numeric()(q1, q2, return_error=True)
    np.testing.assert_allclose(got, sym.numeric()(q1, q2), atol=1e-9)
    assert np.all(err <= 1e-9)


def test_numeric_route_symbolic_cov_and_tanh_chi1():
    """chi_1 of tanh at the fixed point of (3, 0.64): 30-digit mpmath value 0.993025112584070."""
    q = sp.Symbol("q", positive=True)
    d = gs.activation("tanh").derivative()
    e = gs.expect([d, d], [[q, q], [q, q]])  # E[phi'(u)^2], u ~ N(0, q)
    assert e.expr is None and e.method.startswith("quadrature")
    assert 3 * e.numeric()(2.26553461775405) == pytest.approx(0.993025112584070, abs=1e-12)


@pytest.mark.parametrize(
    "spec",
    [
        "elu",
        "hard_tanh",
        "relu(x+1)",
        "step(x-0.5)",
        "abs(x-1)",
        "x**2*step(x-0.5)",
        "elu(x, 2)**2",
        "leaky_relu(x-1, 0.1)",
        "relu(x+0.3)**2",
    ],
)
def test_piecewise_one_dimensional_closed_forms(spec):
    """Truncated Gaussian moments: offset kinks and exp-linear pieces in closed form (k = 1)."""
    phi = gs.activation(spec)
    q = sp.Symbol("q", positive=True)
    e = gs.expect(phi, [[q]])
    assert e.method == "closed form: truncated Gaussian moments"
    for qv in (0.2, 2.3, 9.0):
        ref = reference(phi, None, [[qv]], phi.kinks)
        assert float(e.numeric()(qv)) == pytest.approx(ref, abs=1e-10 * (1 + abs(ref)))


# ---- regressions from the adversarial review ---------------------------------------------------
def test_float_covariance_has_no_cancellation():
    """(1 - erf(z)) e^{z^2}-type closed forms at a float covariance: exact value, not 0."""
    e = gs.expect(["exp(3*x)*step(-x)"], [[10.0]])
    exact = float(sp.N((1 - sp.erf(3 * sp.sqrt(5))) * sp.exp(45) / 2, 30))
    assert float(e) == pytest.approx(exact, rel=1e-12)
    assert float(gs.expect(["elu(x)**2"], [[10.0]])) == pytest.approx(5.32928067566748, rel=1e-13)


def test_sin_cos_numeric_covariance_and_delta_mixtures():
    assert float(gs.expect(["sin", "cos"], [[1, 0.5], [0.5, 1]])) == pytest.approx(0, abs=1e-15)
    d2 = gs.activation("elu(x, 0.5)").derivative(2)  # regular part + 0.5 delta
    assert float(gs.expect([d2], [[1]])) == pytest.approx(0.330260286, rel=1e-8)
    step1 = gs.activation("step").derivative()
    e = gs.expect([step1, "tanh(x+1)"], [[1, 0.5], [0.5, 2]])
    ref = reference(gs.activation("tanh(x+1)"), None, [[2 - 0.25]], ())  # E[tanh(u2)|u1=0]
    assert float(e) == pytest.approx(ref / math.sqrt(2 * math.pi), abs=1e-9)
    with pytest.raises(ValueError, match="diverges"):
        gs.expect([step1, step1], [[1, 1], [1, 1]])
    with pytest.raises(ValueError, match="diverges"):
        gs.expect([step1], [[0]])


def test_numeric_of_closed_form_checks_covariance():
    q, r = sp.symbols("q r")
    e = gs.expect(["x", "x"], [[Q1, r], [r, Q2]])
    with pytest.raises(ValueError, match="positive semi-definite"):
        e.numeric()(1, 1, 5)
    with pytest.raises(TypeError, match="real"):
        gs.expect(["cos"], [[q]]).numeric()(1 + 1j)
    relu = gs.expect(["relu", "relu"], [[Q1, r], [r, Q2]]).numeric()
    assert relu(np.array([0.0, 1.0]), 1.0, 0.0) == pytest.approx([0.0, 1 / (2 * math.pi)])


def test_high_degree_polynomials_are_fast_and_exact():
    e = gs.expect(["x**24", "x**24"], [[Q1, Q2], [Q2, Q1]])
    assert e.expr.subs({Q1: 1, Q2: 0}) == sp.factorial2(23) ** 2
    assert e.expr.subs({Q1: 1, Q2: 1}) == sp.factorial2(47)


def test_awkward_expressions_get_a_route():
    assert float(gs.expect(["exp(-abs(x))"], [[1.0]])) == pytest.approx(
        2 * math.exp(0.5) * 0.5 * math.erfc(1 / math.sqrt(2)), rel=1e-12
    )
    q = sp.Symbol("q", positive=True)
    e = gs.expect(["sqrt(x**2+1)"], [[q]])
    ref = reference(gs.activation("sqrt(x**2+1)"), None, [[1.0]], ())
    assert float(e.numeric()(1.0)) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("name", REGISTRY)
def test_every_registry_activation_has_a_kernel_check(name):
    """Each name in the registry (synonyms included) gives E[phi(u1) phi(u2)] and
    E[phi'(u1) phi'(u2)] that agree with an independent adaptive quadrature; the engine's
    closed forms are exact and its quadrature is certified to 1e-9, hence the tolerance."""
    phi = gs.activation(name)
    for c in (_cov(0.8, 0.8, 0.3), _cov(2.0, 0.5, -0.7)):
        value = float(gs.expect([phi, phi], c))
        ref = reference(phi, phi, c, phi.kinks, phi.kinks)
        assert value == pytest.approx(ref, abs=1e-8 * (1 + abs(ref))), name
    if not phi.kinks or name in ("relu", "leaky_relu", "abs", "elu", "hard_tanh"):
        d = phi.derivative()
        c = _cov(1.2, 1.2, 0.4)
        value = float(gs.expect([d, d], c))
        ref = reference(d, d, c, d.kinks, d.kinks)
        assert value == pytest.approx(ref, abs=1e-8 * (1 + abs(ref))), f"{name}'"

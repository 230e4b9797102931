"""The activation language: registry, safe parser, derivatives, kinks, numerics."""

import time

import numpy as np
import pytest
import sympy as sp

import geosym as gs
from geosym.activations import REGISTRY, X

REQUIRED = [
    "linear",
    "relu",
    "leaky_relu",
    "abs",
    "step",
    "sign",
    "tanh",
    "erf",
    "sigmoid",
    "softplus",
    "gelu",
    "silu",
    "swish",
    "elu",
    "sin",
    "cos",
    "gaussian",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_registry_names_exist_and_evaluate(name):
    assert name in REGISTRY
    phi = gs.activation(name)
    z = np.linspace(-3, 3, 7)
    out = phi(z)
    assert out.shape == z.shape and np.all(np.isfinite(out))


@pytest.mark.parametrize(
    "spec, reference",
    [
        ("tanh", np.tanh),
        ("relu", lambda z: np.maximum(z, 0)),
        ("leaky_relu(x, 0.2)", lambda z: np.where(z >= 0, z, 0.2 * z)),
        ("abs", np.abs),
        ("step", lambda z: np.where(z > 0, 1.0, np.where(z < 0, 0.0, 0.5))),
        ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
        ("softplus", lambda z: np.log1p(np.exp(z))),
        ("x*sigmoid(x)", lambda z: z / (1 + np.exp(-z))),
        ("elu", lambda z: np.where(z > 0, z, np.expm1(z))),
        ("gaussian", lambda z: np.exp(-(z**2) / 2)),
        ("tanh(2*x)", lambda z: np.tanh(2 * z)),
        ("x**3 - 2*x", lambda z: z**3 - 2 * z),
        ("-x", lambda z: -z),
    ],
)
def test_values_match_numpy(spec, reference):
    z = np.linspace(-4, 4, 81)
    np.testing.assert_allclose(gs.activation(spec)(z), reference(z), rtol=1e-12, atol=1e-14)


def test_gelu_and_erf_scaling():
    from scipy.special import erf

    z = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(gs.activation("gelu")(z), z * (1 + erf(z / np.sqrt(2))) / 2)
    np.testing.assert_allclose(gs.activation("erf(x/sqrt(2))")(z), erf(z / np.sqrt(2)))


def test_stable_numerics_for_large_arguments():
    z = np.array([-800.0, 800.0])
    np.testing.assert_allclose(gs.activation("softplus")(z), [0.0, 800.0])
    np.testing.assert_allclose(gs.activation("sigmoid")(z), [0.0, 1.0])


def test_scalar_and_constant_outputs_broadcast():
    assert gs.activation("relu").derivative(2)(np.ones(3)).shape == (3,)
    assert gs.activation("x - x + 2")(np.zeros((2, 2))).shape == (2, 2)


def test_derivatives():
    assert gs.activation("tanh").derivative().expr.equals(1 - sp.tanh(X) ** 2)
    relu1 = gs.activation("relu").derivative()
    assert relu1.expr == sp.Heaviside(X)
    assert relu1.derivative().expr == sp.DiracDelta(X)
    # x*DiracDelta(x) terms vanish: |x|'' = 2 delta
    assert gs.activation("abs").derivative(2).expr == 2 * sp.DiracDelta(X)
    swish1 = gs.activation("x*sigmoid(x)").derivative()
    z = np.linspace(-3, 3, 7)
    h = 1e-6
    f = gs.activation("x*sigmoid(x)")
    np.testing.assert_allclose(swish1(z), (f(z + h) - f(z - h)) / (2 * h), atol=1e-8)
    assert gs.activation("tanh").derivative(2).name == "tanh''"


@pytest.mark.parametrize(
    "spec, kinks",
    [
        ("relu", (0.0,)),
        ("tanh", ()),
        ("hard_tanh", (-1.0, 1.0)),
        ("abs(x - 1)", (1.0,)),
        ("leaky_relu(x, 0.2)", (0.0,)),
        ("max(x, 2*x - 1)", (1.0,)),
        ("sign(x + 0.5)", (-0.5,)),
    ],
)
def test_kinks(spec, kinks):
    assert gs.activation(spec).kinks == pytest.approx(kinks)


def test_sympy_expression_in_another_symbol_is_accepted():
    t = sp.Symbol("t")
    phi = gs.activation(sp.tanh(3 * t), name="tanh3")
    assert phi.expr == sp.tanh(3 * X)
    with pytest.raises(ValueError, match="one variable"):
        gs.activation(sp.Symbol("a") * sp.tanh(t))


def test_latex_is_paper_style():
    assert r"\sigma" in gs.activation("x*sigmoid(x)").latex()
    assert gs.latex(sp.asin(X)) == r"\arcsin\left(x\right)"
    assert gs.latex(sp.Symbol("qt1")) == r"\tilde{q}_{1}"
    assert gs.latex(sp.Symbol("sigma_w2")) == r"\sigma_{w}^{2}"
    assert gs.latex(sp.Symbol("chi1")) == r"\chi_{1}"


HOSTILE = [
    "__import__('os').system('echo pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "tanh.__globals__",
    "lambda x: x",
    "[c for c in ()]",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('import os')",
    "'abc'",
    "x[0]",
    "x if x else 1",
    "tanh(x, foo=1)",
    "y + x",
    "x**10**10",
    "10**10**10**10",
    "9" * 400,
    "x" * 100_000,
    "(" * 500 + "x" + ")" * 500,
    "tanh(" * 60 + "x" + ")" * 60,
    "x; import os",
    "f'{x}'",
    "x @ x",
    "x == 1",
    "not x",
    "1e999 * x",
    "sqrt(x)",
    "log(x)",
    "1/x",
    "leaky_relu(x, x)",
    "tanh",  # accepted: registry name (checked below)
]


@pytest.mark.parametrize("spec", HOSTILE[:-1])
def test_hostile_strings_are_rejected_quickly(spec, monkeypatch):
    import builtins

    def no_eval(*args, **kwargs):  # the parser must never evaluate the user's string
        raise AssertionError("eval called")

    monkeypatch.setattr(builtins, "eval", no_eval)
    start = time.perf_counter()
    with pytest.raises(ValueError):
        gs.activation(spec)
    assert time.perf_counter() - start < 2.0


def test_rejection_message_names_token_and_allowed_names():
    with pytest.raises(ValueError) as info:
        gs.activation("foo(x) + 1")
    msg = str(info.value)
    assert "'foo'" in msg and "tanh" in msg and "relu" in msg
    with pytest.raises(ValueError, match="exponent"):
        gs.activation("x**1000")


def test_type_errors():
    with pytest.raises(TypeError):
        gs.activation(3.0)
    with pytest.raises(ValueError):
        gs.activation("tanh").derivative(-1)


def test_piecewise_derivatives_keep_their_jumps():
    assert gs.activation("leaky_relu(x, 0.2)").derivative(2).expr == sp.Rational(
        4, 5
    ) * sp.DiracDelta(X)
    d2 = gs.activation("elu(x, 0.5)").derivative(2).expr
    assert d2.coeff(sp.DiracDelta(X)) == sp.Rational(1, 2)


def test_kinks_found_numerically_when_symbolic_solving_fails():
    assert gs.activation("abs(x - cos(x))").kinks == pytest.approx((0.7390851332151607,))
    assert gs.activation("max(sin(x), 2)").kinks == ()
    assert 1.0 in gs.activation("abs(x**63 - 2*x**17 + 1)").kinks


@pytest.mark.parametrize(
    "spec", ["1/(x-0.05)", "1/cos(x)", "abs(x-0.05)**-1.5", "log(x+9)", "sqrt(x+8.5)"]
)
def test_poles_and_undefined_regions_are_rejected(spec):
    with pytest.raises(ValueError, match="pole|not real and finite"):
        gs.activation(spec)


def test_growing_functions_are_accepted():
    for spec in ("exp(x)", "exp(x**2)", "cosh(3*x)"):
        gs.activation(spec)
    with pytest.raises(TypeError, match="scalar"):
        gs.activation(sp.ImmutableMatrix([X]))

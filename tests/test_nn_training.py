"""The optimizer registry (geosym.nn.optimizers.METHODS) and the training loop (geosym.nn.training)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import geosym.nn as nn
from geosym.natgrad import OneStepRates, one_step_learning_rates
from geosym.nn.optimizers import METHOD_DAMPING, METHODS, Method, gd_direction, get_method


def _problem(act="tanh", widths=(20, 30, 30, 1), seed=0):
    net = nn.MLP.random(list(widths), act, 3.0 if act == "tanh" else 2.0, 0.1, seed=seed)
    X = nn.gaussian_inputs(8, widths[0], seed=seed + 1)
    Y = nn.random_targets(8, widths[-1], seed=seed + 2)
    return net, X, Y


@pytest.mark.parametrize("name", list(METHODS))
def test_every_registered_method_trains_at_its_default_rate(name):
    """One record is enough: the default rate is finite and positive and the loss falls."""
    net, X, Y = _problem()
    m = METHODS[name]
    assert m.name == name and METHOD_DAMPING[name] == m.damping
    eta = m.learning_rate(net, net.forward(X))
    assert np.isfinite(eta) and eta > 0
    curve = net.copy().train(X, Y, steps=3, method=name)
    assert curve.shape == (4,) and curve[-1] < curve[0]


def test_one_step_rate_names_are_registered_optimizers():
    """natgrad's rate table names only real optimizers (no "ngd-btd"), and covers all but GD."""
    assert set(OneStepRates.METHOD_FIELDS) == set(METHODS) - {"gd"}
    rates = one_step_learning_rates("relu", depth=3, width=64, samples=8)
    for name, attr in OneStepRates.METHOD_FIELDS.items():
        assert rates.for_method(name) == getattr(rates, attr)
    with pytest.raises(ValueError, match="no one-step rate"):
        rates.for_method("gd")


def test_blocks_selects_the_unit_wise_variant():
    assert get_method("ngd-unit", "mean-field") is METHODS["ngd-unit-mf"]
    assert get_method("ngd-unit-mf", "measured") is METHODS["ngd-unit"]
    assert get_method("kfac", "mean-field") is METHODS["kfac"]  # no unit blocks: ignored
    net, X, Y = _problem()
    a = net.copy().train(X, Y, steps=2, method="ngd-unit", blocks="mean-field")
    b = net.copy().train(X, Y, steps=2, method="ngd-unit-mf")
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="blocks must be one of"):
        get_method("ngd-unit", "dense")
    with pytest.raises(ValueError, match="method must be one of"):
        get_method("ngd-btd")


def test_a_new_method_is_one_record():
    """A record built outside the registry trains through the same loop (optax-style)."""
    half = Method(
        "half-gd",
        lambda net, cache, g, rho: [(0.5 * w, 0.5 * b) for w, b in gd_direction(net, cache, g)],
        0.0,
        lambda net, cache: 0.1,
        "gradient descent at half the step",
    )
    net, X, Y = _problem()
    got = nn.train(net.copy(), X, Y, steps=4, method=half)
    want = net.copy().train(X, Y, eta=0.05, steps=4, method="gd")
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_method_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        METHODS["gd"].damping = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        METHODS["sgd"] = METHODS["gd"]  # type: ignore[index]


def test_train_docstring_states_each_default_damping():
    doc = nn.MLP.train.__doc__
    for name, m in METHODS.items():
        assert f'"{name}"' in doc
        if m.damping:
            assert f"{m.damping:.0e}".replace("e-0", "e-") in doc  # "1e-6", "1e-2"


def test_activation_derivative_is_public_and_exact():
    net, X, _ = _problem("tanh")
    u = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(net.activation_derivative(u), 1 - np.tanh(u) ** 2, rtol=1e-12)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
    }


def test_optimizers_and_training_do_not_import_the_network():
    """No nn/mlp.py <-> nn/optimizers.py cycle: the loop and the methods see only the protocol."""
    root = Path(nn.__file__).parent
    for module in ("optimizers.py", "training.py", "network.py"):
        assert "mlp" not in _imports(root / module), module
    assert isinstance(nn.MLP.random([2, 3, 1], "tanh", 1.0, 0.0, seed=0), nn.Network)

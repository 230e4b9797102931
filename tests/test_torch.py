"""PyTorch interoperability: exact MLP conversion, the theory for a torch model, torch's lr."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from geosym.nn import MLP, fim_statistics, predicted_fim_statistics  # noqa: E402
from geosym.nn.torch import erf_module  # noqa: E402

ACTIVATIONS = [
    nn.Tanh,
    nn.ReLU,
    nn.GELU,
    lambda: nn.GELU(approximate="tanh"),
    nn.SiLU,
    nn.ELU,
    lambda: nn.ELU(0.5),
    nn.Softplus,
    lambda: nn.Softplus(beta=2.0),
    lambda: nn.LeakyReLU(0.1),
    nn.Sigmoid,
    nn.Identity,
    erf_module,
]


def _seq(make, widths=(6, 9, 7, 3)):
    torch.manual_seed(0)
    mods = []
    for i in range(len(widths) - 1):
        mods.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            mods.append(make())
    return nn.Sequential(*mods).double()


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_round_trip_is_exact(make):
    model = _seq(make)
    X = torch.randn(20, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    net = MLP.from_torch(model)
    back = net.to_torch()
    with torch.no_grad():
        ref = model(X).numpy()
        again = back(X).numpy()
    # the NumPy forward pass agrees to rounding; the torch round trip is bit-identical
    np.testing.assert_allclose(net(X.numpy()), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(again, ref)
    assert type(back[1]) is type(model[1])


def test_custom_activation_and_unsupported_module():
    class Cube(nn.Module):
        def forward(self, x):
            return x**3

    model = _seq(Cube)
    net = MLP.from_torch(model, activations={Cube: "x**3"})
    X = np.random.default_rng(0).standard_normal((5, 6))
    with torch.no_grad():
        np.testing.assert_allclose(net(X), model(torch.from_numpy(X)).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="unsupported module .*Cube"):
        MLP.from_torch(model)
    with pytest.raises(ValueError, match="Dropout"):
        MLP.from_torch(nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.1), nn.Linear(4, 2)))
    with pytest.raises(ValueError, match="different activations"):
        MLP.from_torch(
            nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        )
    with pytest.raises(TypeError, match="Sequential"):
        MLP.from_torch(nn.Linear(3, 2))


def test_torch_sgd_step_at_the_converted_rate_is_geosyms_gd_step():
    # lr_torch = (C/2) eta for MSELoss(reduction="mean") on T x C outputs: same parameter update
    C, eta = 3, 0.05
    model = _seq(nn.Tanh, (6, 9, 7, C))
    net = MLP.from_torch(model)
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((11, 6)), rng.standard_normal((11, C))
    stats = predicted_fim_statistics(net, X, init="torch-default")
    factor = stats.critical_learning_rate("torch-mse-mean") / stats.critical_learning_rate()
    assert factor == pytest.approx(C / 2, rel=1e-14)
    opt = torch.optim.SGD(model.parameters(), lr=factor * eta)
    opt.zero_grad()
    nn.MSELoss()(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
    opt.step()
    _, grads = net.gradients(X, Y)
    theta = net.parameters() - eta * np.concatenate(
        [a.ravel() for gw, gb in grads for a in (gw, gb)]
    )
    np.testing.assert_allclose(MLP.from_torch(model).parameters(), theta, rtol=1e-12, atol=1e-14)


def test_torch_default_init_theory_matches_measurement_on_gaussian_inputs():
    # i.i.d. inputs with q2_0 > 0 (the theory's setting): lambda_max of a width-400 torch MLP at
    # PyTorch's default init within 15 % of the theory (finite width M = 400, T = 60, one seed).
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(300, 400), nn.Tanh(), nn.Linear(400, 400), nn.Tanh(), nn.Linear(400, 4)
    )
    net = MLP.from_torch(model)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 300)) + rng.standard_normal(300) * 0.6  # shared component
    theory = predicted_fim_statistics(net, X, init="torch-default")
    measured = fim_statistics(net, X)
    assert theory.lambda_max == pytest.approx(measured.lambda_max, rel=0.15)
    assert theory.m_lambda == pytest.approx(measured.m_lambda, rel=0.10)
    with pytest.raises(ValueError, match="init must be"):
        predicted_fim_statistics(net, X, init="kaiming")

"""geosym._checks, the one set of validators: TypeError for a wrong type, ValueError for a wrong
value, and a message that names the argument."""

import numpy as np
import pytest

from geosym import _checks


@pytest.mark.parametrize(
    "value, error",
    [
        ("2", TypeError),
        (2.5, TypeError),
        (True, TypeError),
        (None, TypeError),
        (0, ValueError),
        (-3, ValueError),
    ],
)
def test_positive_int(value, error):
    with pytest.raises(error, match="K"):
        _checks.positive_int(value, "K")


def test_positive_int_accepts_numpy_integers_and_zero_when_allowed():
    assert _checks.positive_int(np.int64(4), "K") == 4
    assert type(_checks.positive_int(np.int64(4), "K")) is int
    assert _checks.positive_int(0, "chunk", allow_zero=True) == 0


@pytest.mark.parametrize(
    "value, kwargs, error",
    [
        ("1", {}, TypeError),
        (True, {}, TypeError),
        (float("nan"), {}, ValueError),
        (float("inf"), {}, ValueError),
        (-1.0, {"minimum": 0.0}, ValueError),
        (0.0, {"minimum": 0.0, "strict": True}, ValueError),
    ],
)
def test_real(value, kwargs, error):
    with pytest.raises(error, match="eta"):
        _checks.real(value, "eta", **kwargs)


def test_real_bounds_are_inclusive_unless_strict():
    assert _checks.real(0, "eta", minimum=0.0) == 0.0
    assert _checks.real(np.float32(0.5), "eta", minimum=0.0, strict=True) == 0.5


def test_as_generator():
    assert isinstance(_checks.as_generator(3), np.random.Generator)
    g = np.random.default_rng(1)
    assert _checks.as_generator(g) is g
    with pytest.raises(TypeError, match="seed"):
        _checks.as_generator(1.5)
    with pytest.raises(ValueError, match="seed"):
        _checks.as_generator(-1)


def test_widths_and_matrix():
    assert _checks.widths([3, 4, 1]) == (3, 4, 1)
    with pytest.raises(TypeError, match="widths"):
        _checks.widths("341")
    with pytest.raises(ValueError, match="at least 2"):
        _checks.widths([3])
    with pytest.raises(TypeError, match=r"widths\[1\]"):
        _checks.widths([3, "4"])
    with pytest.raises(ValueError, match="columns"):
        _checks.matrix(np.ones((2, 3)), "X", columns=4)
    with pytest.raises(ValueError, match="NaN or inf"):
        _checks.matrix([[1.0, np.nan]], "X", columns=2)


@pytest.mark.parametrize(
    "call",
    [
        lambda: __import__("geosym").CommitteeODE("erf", K="2", M=2, eta=0.1),
        lambda: __import__("geosym").committee.simulate("erf", "10", 2, 2, eta=0.1, alpha_max=1),
        lambda: __import__("geosym").fim_statistics("tanh", 1.0, 0.1, depth=3, width="10"),
        lambda: __import__("geosym").nn.MLP.random(["3", 2], "tanh", 1.0, 0.1),
    ],
    ids=["CommitteeODE", "simulate", "fim_statistics", "MLP.random"],
)
def test_modules_agree_a_string_count_is_a_type_error(call):
    """The same wrong type gets the same exception class in every module (was ValueError in
    committee and meanfield, TypeError in nn and transport)."""
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize(
    "value, error, match",
    [
        ("2", TypeError, "depth .* must be an integer"),
        (2.0, TypeError, "depth .* must be an integer"),
        (True, TypeError, "depth .* must be an integer"),
        (0, ValueError, "must be >= 1"),
        (_checks.MAX_DEPTH + 1, ValueError, "beyond"),
    ],
)
def test_depth(value, error, match):
    with pytest.raises(error, match=match):
        _checks.depth(value)


def test_depth_accepts_numpy_integers():
    assert _checks.depth(np.int32(3)) == 3
    assert _checks.depth(_checks.MAX_DEPTH) == _checks.MAX_DEPTH


@pytest.mark.parametrize(
    "value, error", [("1", TypeError), (1.0, TypeError), (0, ValueError), (4, ValueError)]
)
def test_layer(value, error):
    with pytest.raises(error, match=r"layer must be an integer in 1\.\.3"):
        _checks.layer(value, 3)


@pytest.mark.parametrize(
    "value, error, match",
    [
        ("12", TypeError, "sequence"),
        (2.0, TypeError, "sequence"),
        (["a", "b"], TypeError, "real numbers"),
        ([1.0, 2.0], ValueError, "3 numbers for depth 3, got 2"),
        ([[1.0, 2.0, 3.0]], ValueError, r"shape \(1, 3\)"),
        ([1.0, 0.0, 2.0], ValueError, "positive and finite"),
        ([1.0, float("nan"), 2.0], ValueError, "positive and finite"),
    ],
)
def test_alphas(value, error, match):
    with pytest.raises(error, match=match):
        _checks.alphas(value, 3)


def test_alphas_accepts_none_and_arrays():
    assert _checks.alphas(None, 3) is None
    assert _checks.alphas(np.array([1.0, 0.5, 2.0]), 3) is None

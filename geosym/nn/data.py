r"""Seeded regression data for :mod:`geosym.nn`.

Inputs follow the setting of Karakida, Akaho & Amari (AISTATS 2019): T samples with i.i.d.
:math:`x_j\sim\mathcal N(0,1)`, so :math:`\hat q_1^0\to1` and :math:`\hat q_2^0\to0`
(the model of their §2). Targets are either i.i.d. Gaussian (as in the learning-rate check of
:ref:`theory-fisher`)
or produced by a random *teacher* network of the same family (teacher-student regression).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _checks
from .mlp import MLP

__all__ = ["RegressionData", "gaussian_inputs", "random_targets", "teacher_student"]


@dataclass(frozen=True)
class RegressionData:
    """A regression data set: inputs ``X`` (T, M_0), targets ``Y`` (T, C), optional teacher.

    Examples
    --------
    >>> from geosym.nn import RegressionData, gaussian_inputs, random_targets
    >>> data = RegressionData(X=gaussian_inputs(16, 5, seed=0), Y=random_targets(16, 2, seed=1))
    >>> data.X.shape, data.Y.shape, data.teacher is None
    ((16, 5), (16, 2), True)
    """

    X: np.ndarray
    Y: np.ndarray
    teacher: MLP | None = None


def _standard_normal(
    samples: int, columns: int, name: str, seed: int | np.random.Generator | None
) -> np.ndarray:
    T = _checks.positive_int(samples, "samples")
    n = _checks.positive_int(columns, name)
    return _checks.as_generator(seed).standard_normal((T, n))


def gaussian_inputs(
    samples: int, dim: int, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    r"""``(samples, dim)`` array of i.i.d. :math:`\mathcal N(0,1)` inputs.

    Examples
    --------
    >>> from geosym.nn import gaussian_inputs
    >>> X = gaussian_inputs(1000, 50, seed=0)
    >>> X.shape, round(float((X**2).mean()), 1)  # q_1^0 = |x|^2 / M_0 close to 1
    ((1000, 50), 1.0)
    """
    return _standard_normal(samples, dim, "dim", seed)


def random_targets(
    samples: int, outputs: int, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    r"""``(samples, outputs)`` array of i.i.d. :math:`\mathcal N(0,1)` targets.

    Examples
    --------
    >>> from geosym.nn import random_targets
    >>> random_targets(4, 3, seed=0).shape
    (4, 3)
    """
    return _standard_normal(samples, outputs, "outputs", seed)


def teacher_student(
    widths: list[int] | tuple[int, ...],
    activation: Any,
    sigma_w2: float,
    sigma_b2: float,
    samples: int,
    *,
    noise: float = 0.0,
    seed: int | np.random.Generator | None = None,
) -> RegressionData:
    r"""Teacher-student regression: :math:`y(t)=f_{\rm teacher}(x(t))+\sigma\,\xi(t)`.

    The teacher is ``MLP.random(widths, activation, sigma_w2, sigma_b2)``; inputs are
    i.i.d. :math:`\mathcal N(0,1)` of dimension ``widths[0]``; :math:`\xi\sim\mathcal N(0,I_C)`
    with standard deviation ``noise`` (>= 0). One generator drives teacher, inputs and noise.

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.nn import teacher_student
    >>> data = teacher_student([20, 30, 1], "tanh", 1.0, 0.1, samples=16, seed=0)
    >>> data.X.shape, data.Y.shape
    ((16, 20), (16, 1))
    >>> bool(np.allclose(data.teacher(data.X), data.Y))  # noiseless by default
    True
    """
    rng = _checks.as_generator(seed)
    sd = _checks.real(noise, "noise", minimum=0.0)
    teacher = MLP.random(widths, activation, sigma_w2, sigma_b2, seed=rng)
    X = gaussian_inputs(samples, teacher.n_inputs, seed=rng)
    Y = teacher(X)
    if sd > 0:
        Y = Y + sd * rng.standard_normal(Y.shape)
    return RegressionData(X=X, Y=Y, teacher=teacher)

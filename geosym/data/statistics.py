r"""Input order parameters of a data set, exactly, without forming the T x T input Gram matrix.

The mean-field Fisher theory (Karakida, Akaho & Amari, AISTATS 2019, eqs. (4)-(5) and §2)
enters the data only through

.. math::

    q_1^0=\frac1T\sum_t\frac{|x_t|^2}{N_0},\qquad
    q_2^0=\frac1{T(T-1)}\sum_{s\ne t}\frac{x_s\cdot x_t}{N_0}
         =\frac{|\sum_t x_t|^2-\sum_t|x_t|^2}{N_0\,T(T-1)},

the second computed from the sum of the rows in :math:`O(TN_0)`. The theory assumes the
equicorrelated input Gram :math:`XX^\top/N_0=(q_1^0-q_2^0)I+q_2^0\mathbf 1\mathbf 1^\top`; real
images are far from it (low-dimensional, correlated). :class:`InputStatistics` reports how far:
the spread of the overlaps and :math:`\lambda_{\max}(XX^\top/N_0)` against the equicorrelated
value :math:`q_1^0+(T-1)q_2^0`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _checks
from ..results import Result

__all__ = ["InputStatistics", "input_statistics"]


@dataclass(frozen=True)
class InputStatistics(Result):
    r"""Exact input order parameters of ``X`` (module docstring).

    Attributes
    ----------
    q1_0, q2_0
        Mean of :math:`|x_t|^2/N_0` over t; mean of :math:`x_s\cdot x_t/N_0` over the
        T(T-1) ordered pairs s != t.
    q1_0_std, q2_0_std
        Standard deviations of the same quantities over samples / pairs (exact:
        :math:`\sum_{s\ne t}(x_s\cdot x_t)^2=\|X^\top X\|_F^2-\sum_t|x_t|^4`).
    input_lambda_max
        Largest eigenvalue of the input Gram :math:`XX^\top/N_0`.
    equicorrelated_lambda_max
        The same for the equicorrelated Gram the theory assumes, :math:`q_1^0+(T-1)q_2^0`
        (:math:`q_1^0` when :math:`q_2^0\le0`).
    samples, dim
        T and N0.

    Examples
    --------
    >>> import numpy as np
    >>> st = input_statistics(np.array([[1.0, 1.0], [1.0, -1.0], [2.0, 0.0]]))
    >>> st.samples, st.dim, round(st.structure_ratio, 3)
    (3, 2, 1.125)
    """

    q1_0: float
    q2_0: float
    q1_0_std: float
    q2_0_std: float
    input_lambda_max: float
    equicorrelated_lambda_max: float
    samples: int
    dim: int

    @property
    def structure_ratio(self) -> float:
        """``input_lambda_max / equicorrelated_lambda_max`` (1 for i.i.d.-like inputs)."""
        return self.input_lambda_max / self.equicorrelated_lambda_max


def input_statistics(X: Any) -> InputStatistics:
    r"""Exact :math:`q_1^0`, :math:`q_2^0` of the rows of ``X`` and their spread.

    Parameters
    ----------
    X
        ``(T, N0)`` finite inputs (or a :class:`~geosym.data.Dataset`), T >= 2.

    Returns
    -------
    InputStatistics
        Pass ``q1_0=st.q1_0, q2_0=st.q2_0`` to :func:`geosym.fim_statistics`.

    Examples
    --------
    >>> import numpy as np
    >>> st = input_statistics(np.array([[1.0, 1.0], [1.0, -1.0], [2.0, 0.0]]))
    >>> round(st.q1_0, 6), round(st.q2_0, 6)
    (1.333333, 0.666667)
    """
    X = getattr(X, "X", X)
    a = np.asarray(X, dtype=np.float64) if not isinstance(X, np.ndarray) else X.astype(np.float64)
    if a.ndim != 2:
        raise ValueError(f"X must be a 2-D array (samples T, dimension N0), got shape {a.shape}")
    a = _checks.matrix(a, "X", columns=a.shape[1], what="samples x input dimension N0")
    T, N0 = a.shape
    if T < 2:
        raise ValueError(f"input_statistics needs at least 2 samples (pairs s != t), got T={T}")
    norms = np.einsum("ij,ij->i", a, a) / N0
    total = a.sum(axis=0)
    pairs = T * (T - 1)
    q1 = float(norms.mean())
    q2 = float((total @ total / N0 - norms.sum()) / pairs)
    small = a.T @ a if N0 <= T else a @ a.T
    small /= N0
    fro2 = float(np.vdot(small, small))
    q2_sq = (fro2 - float(norms @ norms)) / pairs
    evals = np.linalg.eigvalsh(small)
    return InputStatistics(
        q1_0=q1,
        q2_0=q2,
        q1_0_std=float(norms.std()),
        q2_0_std=float(np.sqrt(max(q2_sq - q2 * q2, 0.0))),
        input_lambda_max=float(evals[-1]),
        equicorrelated_lambda_max=q1 + (T - 1) * max(q2, 0.0),
        samples=int(T),
        dim=int(N0),
    )

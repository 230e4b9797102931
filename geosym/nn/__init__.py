r"""Simulation side of the Fisher-information results: a NumPy MLP with exact backprop.

Karakida, Akaho & Amari, "Universal Statistics of Fisher Information in Deep Neural Networks:
Mean Field Approach", AISTATS 2019. The network is :class:`MLP` (standard parameterisation,
linear output); :func:`fim_statistics` measures :math:`m_\lambda, s_\lambda, \lambda_{\max}`, the
:math:`\lambda_2` group mean and the whole non-zero spectrum of the empirical FIM from the
CT x CT Gram matrix (:func:`gram_matrix`), never forming the P x P FIM or the CT x P Jacobian;
:meth:`MLP.train` runs full-batch gradient descent on the mean squared error.

>>> import geosym.nn as nn                                              # doctest: +SKIP
>>> net = nn.MLP.random([100, 500, 500, 1], "tanh", 3.0, 0.64, seed=0)  # doctest: +SKIP
>>> X = nn.gaussian_inputs(20, 100, seed=1)                             # doctest: +SKIP
>>> nn.fim_statistics(net, X).lambda_max                                # doctest: +SKIP
"""

from .data import RegressionData, gaussian_inputs, random_targets, teacher_student
from .fim import MeasuredFIMStatistics, fim_statistics, gram_matrix, jacobian
from .mlp import MLP, DivergenceWarning, ForwardCache, resolve_activation

__all__ = [
    "MLP",
    "ForwardCache",
    "DivergenceWarning",
    "resolve_activation",
    "MeasuredFIMStatistics",
    "fim_statistics",
    "gram_matrix",
    "jacobian",
    "RegressionData",
    "gaussian_inputs",
    "random_targets",
    "teacher_student",
]

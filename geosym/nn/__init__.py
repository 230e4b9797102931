r"""Simulation side of the Fisher-information results: a NumPy MLP with exact backprop.

Karakida, Akaho & Amari, "Universal Statistics of Fisher Information in Deep Neural Networks:
Mean Field Approach", AISTATS 2019. The network is :class:`MLP` (standard parameterisation,
linear output); :func:`fim_statistics` measures :math:`m_\lambda, s_\lambda, \lambda_{\max}`, the
:math:`\lambda_2` group mean and the whole non-zero spectrum of the empirical FIM from the
CT x CT Gram matrix (:func:`gram_matrix`), never forming the P x P FIM or the CT x P Jacobian;
:meth:`MLP.train` (:func:`train`) runs full-batch gradient descent or one of the natural-gradient
methods of :data:`METHODS` on the mean squared error.

>>> import geosym.nn as nn
>>> net = nn.MLP.random([100, 300, 300, 2], "tanh", sigma_w2=3.0, sigma_b2=0.64, seed=0)
>>> X = nn.gaussian_inputs(20, 100, seed=1)
>>> stats = nn.fim_statistics(net, X)        # CT x CT Gram only: P = 121,202, CT = 40
>>> stats.spectrum.shape, stats.n_params
((40,), 121202)
>>> bool(stats.lambda_max > 3 * stats.lambda_2)   # C outliers well above the bulk
True
>>> curve = net.train(X, nn.random_targets(20, 2, seed=2), eta=0.5 * stats.eta_critical, steps=10)
>>> curve.shape, bool(curve[-1] < curve[0])
((11,), True)
"""

from .data import RegressionData, gaussian_inputs, random_targets, teacher_student
from .fim import (
    MeasuredFIMStatistics,
    fim_statistics,
    gram_matrix,
    jacobian,
    measured_fim_statistics,
)
from .mlp import MLP, resolve_activation
from .network import ForwardCache, Network
from .optimizers import METHODS, Method
from .theory import predicted_fim_statistics
from .training import DivergenceWarning, train

__all__ = [
    "MLP",
    "ForwardCache",
    "Network",
    "Method",
    "METHODS",
    "train",
    "DivergenceWarning",
    "resolve_activation",
    "MeasuredFIMStatistics",
    "fim_statistics",
    "measured_fim_statistics",
    "gram_matrix",
    "jacobian",
    "predicted_fim_statistics",
    "RegressionData",
    "gaussian_inputs",
    "random_targets",
    "teacher_student",
]

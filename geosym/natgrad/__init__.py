r"""Natural gradient in wide random networks: the unit-wise Fisher block and its explicit inverse,
mean-field predictions of the block coefficients, one-step learning rates of approximate natural
gradient methods, and the effect of output mean subtraction on :math:`\lambda_{\max}`.

References (what is taken from where; "derived in geosym" means derived here and checked
numerically, with the derivation on the :ref:`theory-natgrad` page):

* Amari, Karakida & Oizumi, "Fisher Information and Natural Gradient Learning in Random Deep
  Networks", AISTATS 2019 (arXiv:1808.07172): the FIM is unit-wise block diagonal up to
  small off-block terms; the block of a single unit is "a diagonal matrix plus a rank 2 matrix of
  weight-bias correlations" with an explicit inverse (abstract). The formulas of
  :mod:`~geosym.natgrad.unit_block` are derived in geosym (:ref:`theory-natgrad`), not
  transcribed from the paper.
* Karakida & Osawa, "Understanding Approximate Fisher Information for Fast Convergence of Natural
  Gradient Descent in Wide Neural Networks", NeurIPS 2020 (arXiv:2010.00879). One-step learning
  rates of exact, layer-wise, block tri-diagonal, K-FAC and unit-wise NGD (constants as in
  the authors' code, ``get_ng_opt_lr``; the output-layer corrections are derived in
  geosym, :ref:`theory-natgrad`).
* Karakida, Akaho & Amari, "The Normalization Method for Alleviating Pathological Sharpness in
  Wide Neural Networks", NeurIPS 2019 (arXiv:1906.02926); the mean-subtraction mechanism
  is derived in :ref:`theory-natgrad`.

The package has one module per job: :mod:`~geosym.natgrad.coefficients` (the block
coefficients :math:`c_k`), :mod:`~geosym.natgrad.unit_block` (the single-unit block, its inverse
and solves), :mod:`~geosym.natgrad.predictions` (mean-field unit-block and off-block
predictions), :mod:`~geosym.natgrad.one_step` (one-step learning rates) and
:mod:`~geosym.natgrad.output_centring` (output mean subtraction). Every public name is
importable from ``geosym.natgrad``.

>>> from geosym.natgrad import unit_fisher
>>> G = unit_fisher("relu", [1.5, 0.0, 0.0], 0.3)
>>> G.n, round(float(G.c[0]), 6)
(3, 0.57926)
"""

from .coefficients import unit_coefficients
from .one_step import OneStepRates, btd_coefficient, one_step_learning_rates
from .one_step import active_fraction as active_fraction
from .output_centring import MeanSubtraction, mean_subtraction
from .predictions import (
    OffBlockPrediction,
    UnitBlockPrediction,
    offblock_ratio,
    unit_block_prediction,
)
from .unit_block import SINGULAR_RTOL as SINGULAR_RTOL
from .unit_block import UnitFisher, unit_fisher

__all__ = [
    "UnitFisher",
    "unit_fisher",
    "unit_coefficients",
    "UnitBlockPrediction",
    "unit_block_prediction",
    "OffBlockPrediction",
    "offblock_ratio",
    "OneStepRates",
    "one_step_learning_rates",
    "btd_coefficient",
    "MeanSubtraction",
    "mean_subtraction",
]

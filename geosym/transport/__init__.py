"""Entropy-regularised optimal transport and its information geometry.

Log-domain Sinkhorn with separable kernels on grids (:func:`sinkhorn`), the geometry of the
entropic cost C_λ (Amari, Karakida & Oizumi 2018; Amari, Karakida, Oizumi & Cuturi 2019):
potentials, Bregman divergence of plans, the W↔KL family, the Sinkhorn divergence (Feydy et al.
2019) and the Riemannian metric, and entropic/debiased barycenters (Benamou et al. 2015; Janati
et al. 2020). Depends only on numpy, scipy, sympy and :mod:`geosym.errors`.
"""

from ._grid import Grid
from .barycenter import BarycenterResult, barycenter
from .geometry import (
    ako_divergence,
    entropic_cost,
    entropic_cost_gradient,
    metric,
    plan_divergence,
    sinkhorn_divergence,
    unregularized_ot,
)
from .sharpness import TranslationStudy, fwhm, translation_study
from .sinkhorn import SinkhornResult, sinkhorn
from .symbolic import SymbolicOT2, entropic_ot_2x2

__all__ = [
    "Grid",
    "SinkhornResult",
    "sinkhorn",
    "entropic_cost",
    "entropic_cost_gradient",
    "plan_divergence",
    "ako_divergence",
    "sinkhorn_divergence",
    "metric",
    "unregularized_ot",
    "barycenter",
    "BarycenterResult",
    "fwhm",
    "translation_study",
    "TranslationStudy",
    "entropic_ot_2x2",
    "SymbolicOT2",
]

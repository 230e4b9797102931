r"""The experiments a sweep can run: one record per experiment, registered in one place.

Each :class:`Experiment` names its parameters (type, default, meaning) and a *point function*
``fn(**params, seed=int) -> Mapping`` that runs the experiment at one grid point and returns
its scalar fields.  The point functions are thin adapters over the existing experiment
functions (:func:`geosym.experiments.compare_fim`, :func:`~geosym.experiments.learning_rate_study`,
:func:`~geosym.experiments.committee.compare_committee`, :meth:`geosym.MeanField.fixed_point`,
:func:`geosym.transport.translation_study`); they do not re-implement them and know nothing of
Dask or of the results store (:mod:`geosym.sweep`).

``seed`` is the point's seed (a non-negative integer below :math:`2^{63}`, derived by the sweep
from its seed and the point's coordinates); deterministic experiments (the phase diagram, the
transport study) accept and ignore it.

Registered experiments
----------------------
``fisher-width``
    One random MLP and one Gaussian batch: the FIM statistics :math:`m_\lambda, s_\lambda,
    \lambda_{\max}, \lambda_2` in theory (Karakida, Akaho & Amari 2019, Theorem 1 and eq. 17)
    and measured from the Gram matrix; fields ``<stat>_theory``, ``<stat>_measured`` and
    ``lambda_max_ratio``.
``learning-rate``
    The learning-rate study of one model (full-batch GD at :math:`c\,\eta_c`, minibatch SGD at
    batch ``samples // batch_divisor``; Karakida et al. 2019, Sec. 4.2).
``committee``
    Online SGD of a soft committee machine against the order-parameter ODEs from the same
    initial overlaps, one seed (Saad & Solla 1995, eqs. 9–10).
``phase``
    The mean-field fixed point and :math:`\chi_1` at one :math:`(\sigma_w^2, \sigma_b^2)`
    (Poole et al. 2016, eq. 7; Schoenholz et al. 2017, eq. 5): the order/chaos phase diagram.
    Where the q-map has no finite fixed point (e.g. ReLU with :math:`\sigma_w^2 > 2`) the point
    is recorded as failed with the :class:`geosym.ConvergenceError` message.
``transport-translation``
    Barycenter of a bump shifted by ``±shift`` pixels at one ``reg`` and method: FWHM and L1
    error against the exact (centred) barycenter (Janati, Cuturi & Gramfort 2020, Sec. 4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Parameter", "Experiment", "EXPERIMENTS", "get_experiment"]

_TYPES: dict[type, str] = {int: "int", float: "float", str: "str", bool: "bool"}


@dataclass(frozen=True)
class Parameter:
    """One parameter of an experiment: name, type (int, float, str or bool), default, meaning.

    ``default`` is ``None`` for a required parameter.

    Examples
    --------
    >>> from geosym.experiments.registry import get_experiment
    >>> width = get_experiment("fisher-width").parameter("width")
    >>> width.type.__name__, width.default, width.coerce(200)
    ('int', 100, 200)
    >>> width.coerce("200")
    Traceback (most recent call last):
    ...
    TypeError: parameter 'width' must be int, got '200' (str)
    """

    name: str
    type: type
    default: Any = None
    help: str = ""

    def coerce(self, value: Any) -> Any:
        """``value`` as this parameter's type; ``TypeError`` naming the parameter otherwise.

        Integers are accepted for floats (``1`` -> ``1.0``); nothing else is converted, so a
        typo such as a quoted number is caught before anything runs.
        """
        ok = (
            isinstance(value, bool)
            if self.type is bool
            else not isinstance(value, bool)
            and (isinstance(value, self.type) or (self.type is float and isinstance(value, int)))
        )
        if not ok:
            raise TypeError(
                f"parameter {self.name!r} must be {_TYPES[self.type]}, got {value!r} "
                f"({type(value).__name__})"
            )
        if self.type is float and not math.isfinite(value):
            raise ValueError(f"parameter {self.name!r} must be finite, got {value!r}")
        return self.type(value)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its name, parameters and point function (module docstring).

    Examples
    --------
    >>> from geosym.experiments.registry import get_experiment
    >>> exp = get_experiment("fisher-width")
    >>> [p.name for p in exp.parameters][:4]
    ['activation', 'sigma_w2', 'sigma_b2', 'depth']
    >>> exp.defaults()["width"]
    100
    """

    name: str
    fn: Callable[..., Mapping[str, Any]]
    parameters: tuple[Parameter, ...]
    doc: str = ""

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``; ``ValueError`` listing the valid names otherwise."""
        for p in self.parameters:
            if p.name == name:
                return p
        valid = ", ".join(p.name for p in self.parameters)
        raise ValueError(
            f"experiment {self.name!r} has no parameter {name!r}; its parameters: {valid}"
        )

    def defaults(self) -> dict[str, Any]:
        """The parameters that have a default, with it."""
        return {p.name: p.default for p in self.parameters if p.default is not None}


# --------------------------------------------------------------------------------------------
# point functions (thin adapters)
# --------------------------------------------------------------------------------------------
def fisher_width(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    width: int,
    outputs: int,
    samples: int,
    seed: int,
) -> dict[str, float]:
    """Theory and measurement of the FIM statistics on one random net (``fisher-width``)."""
    from .fisher import COMPARED_STATISTICS, compare_fim

    row = compare_fim(
        activation,
        sigma_w2,
        sigma_b2,
        depth,
        widths=(width,),
        outputs=outputs,
        samples=samples,
        seeds=1,
        seed=seed,
    ).rows[0]
    out: dict[str, float] = {}
    for stat in COMPARED_STATISTICS:
        out[f"{stat}_theory"] = row.theory[stat]
        out[f"{stat}_measured"] = row.measured_mean[stat]
    out["lambda_max_ratio"] = row.ratio["lambda_max"]
    return out


def learning_rate(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    width: int,
    outputs: int,
    samples: int,
    batch_divisor: int,
    steps: int,
    epochs: int,
    threshold: float,
    seed: int,
) -> dict[str, Any]:
    """GD speed over :math:`\\eta/\\eta_c` and SGD stability at one batch size (``learning-rate``)."""
    from .fisher import learning_rate_study

    study = learning_rate_study(
        [(activation, sigma_w2, sigma_b2, [width] * depth + [outputs])],
        samples=samples,
        steps=steps,
        threshold=threshold,
        batch_divisors=(batch_divisor,),
        epochs=epochs,
        seed=seed,
    )
    row = study.rows[0]
    ((batch, stable),) = row.sgd_largest_stable.items()
    return {
        "eta_critical": row.eta_critical,
        "eta_opt_theory": row.eta_opt_theory,
        "eta_best": row.eta_best,
        "eta_best_over_eta_opt": row.eta_best / row.eta_opt_theory,
        "steps_best": row.steps_best,
        "batch": batch,
        "sgd_largest_stable": stable,
    }


def committee(
    activation: str, N: int, K: int, M: int, eta: float, alpha_max: float, seed: int
) -> dict[str, float]:
    """SGD vs ODE for one seed of a soft committee machine (``committee``)."""
    from .committee import compare_committee

    cmp = compare_committee(activation, N, K, M, eta, alpha_max, seeds=[seed])
    return {
        "eps_star": cmp.eps_star,
        "median_deviation": cmp.median_deviation[0],
        "plateau_height": cmp.plateau_height[0],
    }


def phase(activation: str, sigma_w2: float, sigma_b2: float, seed: int) -> dict[str, Any]:
    """Fixed point, :math:`\\chi_1` and phase at one :math:`(\\sigma_w^2, \\sigma_b^2)` (``phase``)."""
    from ..meanfield import MeanField

    return MeanField(activation, sigma_w2, sigma_b2).fixed_point().to_dict()


def transport_translation(
    n: int, bump_width: float, shift: int, reg: float, method: str, tol: float, seed: int
) -> dict[str, float]:
    """Sharpness of one barycenter of a shifted bump (``transport-translation``)."""
    from ..transport import translation_study
    from ..transport.shapes import bump

    row = translation_study(
        bump(n, 0.5, bump_width), shift, regs=(reg,), methods=(method,), tol=tol
    ).rows[0]
    return {"fwhm": row.fwhm, "fwhm_exact": row.fwhm_exact, "l1_error": row.l1_error}


def _parameter(name: str, type_: type, default: Any = None, help: str = "") -> Parameter:
    return Parameter(name, type_, default, help)


_NETWORK_PARAMETERS = (
    _parameter("activation", str, "tanh", "activation expression (geosym.activation)"),
    _parameter("sigma_w2", float, 3.0, "weight variance sigma_w^2"),
    _parameter("sigma_b2", float, 0.64, "bias variance sigma_b^2"),
    _parameter("depth", int, 3, "number of weight layers L"),
    _parameter("width", int, 100, "hidden width M"),
    _parameter("outputs", int, 1, "output units C"),
)

#: name -> experiment; the one place experiments are registered
EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "fisher-width",
            fisher_width,
            (*_NETWORK_PARAMETERS, _parameter("samples", int, 10, "Gaussian inputs T")),
            "FIM statistics: mean-field theory vs one random net",
        ),
        Experiment(
            "learning-rate",
            learning_rate,
            (
                *_NETWORK_PARAMETERS,
                _parameter("samples", int, 64, "training inputs T"),
                _parameter("batch_divisor", int, 1, "SGD batch size is samples // batch_divisor"),
                _parameter("steps", int, 300, "full-batch GD steps per learning rate"),
                _parameter("epochs", int, 20, "SGD epochs per learning rate"),
                _parameter("threshold", float, 1e-2, "loss fraction that counts as learnt"),
            ),
            "fastest GD learning rate vs 2/(lambda_max + lambda_2); SGD stability",
        ),
        Experiment(
            "committee",
            committee,
            (
                _parameter("activation", str, "erf(x/sqrt(2))", "activation expression"),
                _parameter("N", int, 500, "input dimension"),
                _parameter("K", int, 2, "student hidden units"),
                _parameter("M", int, 2, "teacher hidden units"),
                _parameter("eta", float, 0.5, "learning rate"),
                _parameter("alpha_max", float, 60.0, "final time (steps / N)"),
            ),
            "soft committee machine: online SGD vs the ODEs, one seed",
        ),
        Experiment(
            "phase",
            phase,
            (
                _parameter("activation", str, "tanh", "activation expression"),
                _parameter("sigma_w2", float, None, "weight variance sigma_w^2"),
                _parameter("sigma_b2", float, None, "bias variance sigma_b^2"),
            ),
            "mean-field fixed point and chi_1 (order/chaos phase diagram)",
        ),
        Experiment(
            "transport-translation",
            transport_translation,
            (
                _parameter("n", int, 120, "pixels of the 1-D grid"),
                _parameter("bump_width", float, 0.04, "width of the bump (grid extent 1)"),
                _parameter("shift", int, 24, "pixels shifted each way"),
                _parameter("reg", float, 1e-2, "entropic regularisation"),
                _parameter("method", str, "debiased", "'entropic' or 'debiased'"),
                _parameter("tol", float, 1e-6, "barycenter stopping tolerance"),
            ),
            "barycenter of a shifted bump: FWHM and L1 error, entropic vs debiased",
        ),
    )
}


def get_experiment(name: str) -> Experiment:
    """The registered experiment ``name``; ``ValueError`` listing the known names otherwise.

    Examples
    --------
    >>> from geosym.experiments.registry import EXPERIMENTS, get_experiment
    >>> sorted(EXPERIMENTS)
    ['committee', 'fisher-width', 'learning-rate', 'phase', 'transport-translation']
    >>> get_experiment("phase").name
    'phase'
    """
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ValueError(
            f"unknown experiment {name!r}; registered experiments: {', '.join(EXPERIMENTS)}"
        ) from None

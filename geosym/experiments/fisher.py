r"""Fisher-information theory next to its simulation (Karakida, Akaho & Amari, AISTATS 2019).

:func:`compare_fim` measures :math:`m_\lambda, s_\lambda, \lambda_{\max}, \lambda_2` on random
:class:`geosym.nn.MLP` networks of growing width and divides by the mean-field prediction
(:func:`geosym.fim_statistics`); the ratios go to 1 as :math:`M\to\infty`, with a positive
finite-width bias :math:`\propto 1/M` (:ref:`theory-fisher`).  :func:`learning_rate_sweep` runs
full-batch gradient descent at multiples of :math:`\eta_c = 2/\lambda_{\max}` (Karakida, Akaho &
Amari 2019, the learning-rate bound from Theorem 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .._plot import figure
from ..activations import Activation
from ..activations import activation as _activation
from ..errors import NumericalError
from ..fisher import FIMStatistics, fim_statistics, layer_widths
from ..nn import MLP, gaussian_inputs, random_targets
from ..nn import fim_statistics as measure_fim
from ..results import Result

__all__ = [
    "FIMComparison",
    "FIMComparisonRow",
    "compare_fim",
    "comparison_row",
    "LRSweep",
    "LRSweepRow",
    "learning_rate_sweep",
]

#: the FIM statistics compared between theory and measurement, in table order
COMPARED_STATISTICS = ("m_lambda", "s_lambda", "lambda_max", "lambda_2")
#: increases of the loss below this fraction of the initial loss count as monotone (rounding
#: and nonlinear wobble once the loss is ~1e-9 of its start)
_MONOTONE_SLACK = 1e-6


@dataclass(frozen=True)
class FIMComparisonRow(Result):
    """Theory and measurement (mean and standard error over seeds) at one width.

    Examples
    --------
    >>> from geosym.experiments import compare_fim
    >>> cmp = compare_fim("tanh", 3.0, 0.64, depth=3, widths=(50, 100), samples=8, seeds=2)
    >>> [row.width for row in cmp.rows]
    [50, 100]
    >>> sorted(cmp.rows[-1].ratio)
    ['lambda_2', 'lambda_max', 'm_lambda', 's_lambda']
    >>> round(cmp.rows[-1].ratio["m_lambda"], 3)  # measured / theory, 2 nets of width 100
    1.051
    """

    width: int
    theory: dict[str, float]
    measured_mean: dict[str, float]
    measured_se: dict[str, float]
    ratio: dict[str, float]  # measured mean / theory
    ratio_se: dict[str, float]


@dataclass(frozen=True)
class FIMComparison(Result):
    """Result of :func:`compare_fim`: one row per width, plus the settings.

    Examples
    --------
    >>> from geosym.experiments import compare_fim
    >>> cmp = compare_fim("tanh", 3.0, 0.64, depth=3, widths=(50, 100), samples=8, seeds=2)
    >>> cmp.activation, cmp.depth, cmp.seeds
    ('tanh', 3, 2)
    >>> round(cmp.max_deviation(), 3)  # largest |measured/theory - 1| at width 100
    0.196
    >>> sorted(cmp.to_dict())[:3]
    ['activation', 'alphas', 'depth']
    """

    activation: str
    sigma_w2: float
    sigma_b2: float
    depth: int
    outputs: int
    samples: int
    alphas: tuple[float, ...]
    seeds: int
    rows: tuple[FIMComparisonRow, ...]
    #: measured non-zero spectrum at the largest width
    spectrum: np.ndarray = field(repr=False, metadata={"json": False})

    def max_deviation(self, width: int | None = None) -> float:
        """Largest ``|ratio - 1|`` over the statistics at ``width`` (default: the largest width).

        Examples
        --------
        >>> from geosym.experiments import compare_fim
        >>> cmp = compare_fim("tanh", 3.0, 0.64, depth=3, widths=(50, 100), samples=8, seeds=2)
        >>> round(cmp.max_deviation(width=50), 3)
        0.207
        """
        row = self.rows[-1] if width is None else next(r for r in self.rows if r.width == width)
        return max(abs(v - 1) for v in row.ratio.values())

    def plot(self, path: str) -> None:
        """Ratios measured/theory against width (log x) with standard-error bars."""
        with figure(path, figsize=(5, 3.5)) as (fig, ax):
            widths = [r.width for r in self.rows]
            for name in COMPARED_STATISTICS:
                ax.errorbar(
                    widths,
                    [r.ratio[name] for r in self.rows],
                    yerr=[r.ratio_se[name] for r in self.rows],
                    marker="o",
                    capsize=3,
                    label=name,
                )
            ax.axhline(1.0, color="k", lw=0.8)
            ax.set_xscale("log")
            ax.set_xlabel("width M")
            ax.set_ylabel("measured / theory")
            ax.set_title(f"{self.activation}: L={self.depth}, C={self.outputs}, T={self.samples}")
            ax.legend(fontsize=8)


def comparison_row(
    width: int, theory: Mapping[str, float], measured: Mapping[str, Sequence[float]]
) -> FIMComparisonRow:
    """One width's row: the mean and standard error over seeds of each measured statistic, and
    their ratios to the theory.

    ``measured`` maps each of ``m_lambda, s_lambda, lambda_max, lambda_2`` to its values on the
    seeds' networks (one network and batch each); the standard error is NaN for one seed.
    Used by :func:`compare_fim` and by sweeps of ``fisher-width`` points
    (:func:`geosym.report.fisher_grid`).

    Examples
    --------
    >>> from geosym.experiments.fisher import comparison_row
    >>> theory = {"m_lambda": 1.0, "s_lambda": 2.0, "lambda_max": 10.0, "lambda_2": 3.0}
    >>> measured = {"m_lambda": [1.1, 0.9], "s_lambda": [2.2, 2.0], "lambda_max": [11.0, 10.0],
    ...             "lambda_2": [3.0, 3.3]}
    >>> row = comparison_row(100, theory, measured)
    >>> row.ratio["lambda_max"], round(row.ratio_se["lambda_max"], 6)
    (1.05, 0.05)
    """
    th = {k: float(theory[k]) for k in COMPARED_STATISTICS}
    mean = {k: float(np.mean(measured[k])) for k in COMPARED_STATISTICS}
    se = {
        k: float(np.std(measured[k], ddof=1) / np.sqrt(len(measured[k])))
        if len(measured[k]) > 1
        else float("nan")
        for k in COMPARED_STATISTICS
    }
    return FIMComparisonRow(
        width=int(width),
        theory=th,
        measured_mean=mean,
        measured_se=se,
        ratio={k: mean[k] / th[k] for k in COMPARED_STATISTICS},
        ratio_se={k: se[k] / th[k] for k in COMPARED_STATISTICS},
    )


def compare_fim(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    widths: Sequence[int] = (250, 500, 1000),
    outputs: int = 1,
    samples: int = 10,
    alphas: Sequence[float] | None = None,
    seeds: int = 4,
    seed: int = 0,
) -> FIMComparison:
    """Measured/theory ratios of the FIM statistics over ``seeds`` random nets per width.

    Examples
    --------
    >>> from geosym.experiments import compare_fim
    >>> cmp = compare_fim("tanh", 3.0, 0.64, depth=3, widths=(50, 100), samples=8, seeds=2)
    >>> {k: round(v, 2) for k, v in cmp.rows[0].ratio.items()}
    {'m_lambda': 1.03, 's_lambda': 1.21, 'lambda_max': 1.12, 'lambda_2': 1.05}
    """
    phi = _activation(activation)
    a = tuple(float(x) for x in (alphas if alphas is not None else [1.0] * depth))
    if len(a) != depth:
        raise ValueError(f"alphas must have {depth} entries (alpha_0..alpha_(L-1)), got {len(a)}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    rng = np.random.default_rng(seed)
    rows = []
    spectrum = np.empty(0)
    for m in widths:
        theory: FIMStatistics = fim_statistics(
            phi, sigma_w2, sigma_b2, depth, m, outputs, samples, alphas=a
        )
        th = {name: float(getattr(theory, name)) for name in COMPARED_STATISTICS}
        ws = layer_widths(m, depth, a, outputs)
        values: dict[str, list[float]] = {name: [] for name in COMPARED_STATISTICS}
        for _ in range(seeds):
            net = MLP.random(ws, phi, sigma_w2, sigma_b2, seed=rng)
            x = gaussian_inputs(samples, ws[0], seed=rng)
            st = measure_fim(net, x, width=m)
            for name in COMPARED_STATISTICS:
                values[name].append(float(getattr(st, name)))
            spectrum = np.asarray(st.spectrum)
        rows.append(comparison_row(m, th, values))
    return FIMComparison(
        phi.name,
        float(sigma_w2),
        float(sigma_b2),
        depth,
        outputs,
        samples,
        a,
        seeds,
        tuple(rows),
        spectrum,
    )


@dataclass(frozen=True)
class LRSweepRow(Result):
    """One learning rate of :func:`learning_rate_sweep`.

    Examples
    --------
    >>> from geosym.experiments import learning_rate_sweep
    >>> sweep = learning_rate_sweep("tanh", 3.0, 0.64, depth=3, width=50, samples=20,
    ...                             factors=(0.5, 2.5), steps=50)
    >>> row = sweep.rows[0]
    >>> row.factor, row.monotone, row.diverged
    (0.5, True, False)
    """

    factor: float  # eta / eta_c
    eta: float
    monotone: bool  # loss never increased
    peak_ratio: float  # max loss / initial loss
    final_ratio: float  # final loss / initial loss (inf if diverged)
    diverged: bool
    steps_run: int


@dataclass(frozen=True)
class LRSweep(Result):
    """Result of :func:`learning_rate_sweep`.

    Examples
    --------
    >>> from geosym.experiments import learning_rate_sweep
    >>> sweep = learning_rate_sweep("tanh", 3.0, 0.64, depth=3, width=50, samples=20,
    ...                             factors=(0.5, 2.5), steps=50)
    >>> round(sweep.eta_critical, 4), round(sweep.eta_critical_measured, 4)
    (0.1246, 0.0977)
    >>> len(sweep.curves)
    2
    """

    activation: str
    eta_critical: float  # theory 2/lambda_max
    eta_critical_measured: float
    rows: tuple[LRSweepRow, ...]
    curves: tuple[np.ndarray, ...] = field(repr=False, metadata={"json": False})


def learning_rate_sweep(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    width: int,
    outputs: int = 1,
    samples: int = 50,
    factors: Sequence[float] = (0.5, 0.9, 1.1, 1.5, 2.5),
    steps: int = 200,
    seed: int = 0,
) -> LRSweep:
    r"""Full-batch GD at :math:`\eta = c\,\eta_c` from one random net and N(0,1) targets.

    Returns, per factor c, whether the loss decreased monotonically, its peak and final values
    relative to the initial loss, and whether it diverged (:ref:`theory-fisher`: :math:`\eta_c` marks the
    onset of non-monotone "catapult" behaviour, divergence comes later).

    Examples
    --------
    >>> from geosym.experiments import learning_rate_sweep
    >>> sweep = learning_rate_sweep("tanh", 3.0, 0.64, depth=3, width=50, samples=20,
    ...                             factors=(0.5, 2.5), steps=50)
    >>> [(r.factor, r.monotone, r.diverged) for r in sweep.rows]  # stable below eta_c, not above
    [(0.5, True, False), (2.5, False, True)]
    """
    phi = _activation(activation)
    theory = fim_statistics(phi, sigma_w2, sigma_b2, depth, width, outputs, samples)
    rng = np.random.default_rng(seed)
    ws = [width] * depth + [outputs]
    net0 = MLP.random(ws, phi, sigma_w2, sigma_b2, seed=rng)
    x = gaussian_inputs(samples, width, seed=rng)
    y = random_targets(samples, outputs, seed=rng)
    measured = measure_fim(net0, x)
    rows, curves = [], []
    import warnings

    for c in factors:
        net = net0.copy()
        eta = float(c) * float(theory.eta_critical)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            curve = net.train(x, y, eta=eta, steps=steps, on_divergence="stop")
        diverged = len(curve) < steps + 1
        rows.append(
            LRSweepRow(
                factor=float(c),
                eta=eta,
                monotone=bool(np.all(np.diff(curve) <= _MONOTONE_SLACK * curve[0])),
                peak_ratio=float(np.max(curve) / curve[0]),
                final_ratio=float("inf") if diverged else float(curve[-1] / curve[0]),
                diverged=diverged,
                steps_run=len(curve) - 1,
            )
        )
        curves.append(curve)
    return LRSweep(
        phi.name,
        float(theory.eta_critical),
        float(measured.eta_critical),
        tuple(rows),
        tuple(curves),
    )


@dataclass(frozen=True)
class LRStudyRow(Result):
    """One model of :func:`learning_rate_study`.

    Examples
    --------
    >>> from geosym.experiments import learning_rate_study
    >>> study = learning_rate_study([("tanh", 3.0, 0.64, [20, 50, 50, 1])], samples=16,
    ...                             factors=(0.5, 0.95), steps=100, batch_divisors=(1,),
    ...                             sgd_factors=(0.5,), epochs=5)
    >>> row = study.rows[0]
    >>> row.model
    'tanh L=3 widths=[20, 50, 50, 1]'
    >>> row.steps, row.sgd_largest_stable
    ({0.5: 17, 0.95: 9}, {16: 0.5})
    """

    model: str
    eta_critical: float  # theory 2/lambda_max
    eta_opt_theory: float  # theory 2/(lambda_max + lambda_2)
    eta_best: float  # measured fastest (fewest steps to the loss threshold)
    steps_best: int
    steps: dict[float, int]  # eta/eta_c -> steps to threshold (-1: not reached)
    sgd_largest_stable: dict[int, float]  # batch size -> largest stable eta/eta_c


@dataclass(frozen=True)
class LRStudy(Result):
    """Result of :func:`learning_rate_study`: the fastest learning rate vs theory, and SGD.

    Examples
    --------
    >>> from geosym.experiments import learning_rate_study
    >>> study = learning_rate_study([("tanh", 3.0, 0.64, [20, 50, 50, 1])], samples=16,
    ...                             factors=(0.5, 0.95), steps=100, batch_divisors=(1,),
    ...                             sgd_factors=(0.5,), epochs=5)
    >>> study.factors, len(study.rows)
    ((0.5, 0.95), 1)
    """

    threshold: float
    factors: tuple[float, ...]
    rows: tuple[LRStudyRow, ...]


def _minibatch_sgd(
    net: MLP,
    x: np.ndarray,
    y: np.ndarray,
    eta: float,
    epochs: int,
    batch: int,
    rng: np.random.Generator,
) -> bool:
    """Plain minibatch SGD on the mean squared error; False if the loss blew up."""
    t = x.shape[0]
    start = net.loss(x, y)
    for _ in range(epochs):
        order = rng.permutation(t)
        for lo in range(0, t - batch + 1, batch):  # one update per minibatch
            idx = order[lo : lo + batch]
            try:
                with np.errstate(all="ignore"):
                    _, grads = net.gradients(x[idx], y[idx])
            except NumericalError:  # the backward pass overflowed: diverged
                return False
            for layer, (gw, gb) in enumerate(grads):
                net.weights[layer] -= eta * gw
                net.biases[layer] -= eta * gb
            if not all(np.isfinite(w).all() for w in net.weights):
                return False
    with np.errstate(all="ignore"):
        end = net.loss(x, y)
    return bool(np.isfinite(end) and end < start)


def learning_rate_study(
    models: Sequence[tuple[str, float, float, Sequence[int]]],
    samples: int = 64,
    factors: Sequence[float] = (0.25, 0.5, 0.7, 0.85, 0.95, 1.05, 1.2, 1.5),
    steps: int = 300,
    threshold: float = 1e-2,
    batch_divisors: Sequence[int] = (1, 4, 16),
    sgd_factors: Sequence[float] = (0.5, 0.9, 1.1, 1.5, 2.5),
    epochs: int = 20,
    seed: int = 0,
) -> LRStudy:
    r"""Fastest GD learning rate against theory, and how far :math:`\eta_c` carries over to SGD.

    For each model ``(activation, sigma_w2, sigma_b2, widths)`` with ``widths = [M_0, ..., M_L]``
    (theory uses :math:`M = M_1` and :math:`\alpha_l = M_l/M`), full-batch GD runs at
    :math:`\eta = c\,\eta_c` for every factor c and counts the steps until the loss falls below
    ``threshold`` times its initial value.  The theory estimate of the fastest rate is
    :math:`\eta_{\rm opt} = 2/(\lambda_{\max}+\lambda_2)`, which equalises the contraction
    :math:`|1-\eta\lambda|` of the outlier mode :math:`\lambda_{\max}` and of the bulk at
    :math:`\lambda_2` (Karakida, Akaho & Amari 2019, Theorem 1: the bulk, not the outlier, limits
    convergence).  Then
    minibatch SGD at batch sizes T/d (d in ``batch_divisors``) for ``epochs`` epochs: the largest
    factor in ``sgd_factors`` at which the loss still decreased.

    Examples
    --------
    >>> from geosym.experiments import learning_rate_study
    >>> study = learning_rate_study([("tanh", 3.0, 0.64, [20, 50, 50, 1])], samples=16,
    ...                             factors=(0.5, 0.95), steps=100, batch_divisors=(1,),
    ...                             sgd_factors=(0.5,), epochs=5)
    >>> row = study.rows[0]
    >>> round(row.eta_critical, 4), round(row.eta_opt_theory, 4), round(row.eta_best, 4)
    (0.1277, 0.1028, 0.1213)
    """
    rng = np.random.default_rng(seed)
    rows = []
    for spec, sw2, sb2, widths in models:
        phi = _activation(spec)
        ws = [int(w) for w in widths]
        m = ws[1]
        alphas = [w / m for w in ws[:-1]]
        theory = fim_statistics(phi, sw2, sb2, len(ws) - 1, m, ws[-1], samples, alphas=alphas)
        eta_c = float(theory.eta_critical)
        eta_opt = 2.0 / float(theory.lambda_max + theory.lambda_2)
        net0 = MLP.random(ws, phi, sw2, sb2, seed=rng)
        x = gaussian_inputs(samples, ws[0], seed=rng)
        y = random_targets(samples, ws[-1], seed=rng)
        counts: dict[float, int] = {}
        import warnings

        for c in factors:
            net = net0.copy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                curve = net.train(x, y, eta=c * eta_c, steps=steps, on_divergence="stop")
            below = np.nonzero(curve <= threshold * curve[0])[0]
            counts[float(c)] = int(below[0]) if below.size else -1
        reached = {c: n for c, n in counts.items() if n >= 0}
        best = min(reached, key=lambda c: (reached[c], c)) if reached else float("nan")
        stable: dict[int, float] = {}
        for d in batch_divisors:
            batch = max(1, samples // d)
            ok = [
                c
                for c in sgd_factors
                if _minibatch_sgd(net0.copy(), x, y, c * eta_c, epochs, batch, rng)
            ]
            stable[batch] = max(ok) if ok else 0.0
        model = f"{phi.name} L={len(ws) - 1} widths={ws}"
        rows.append(
            LRStudyRow(
                model,
                eta_c,
                eta_opt,
                best * eta_c if reached else float("nan"),
                reached.get(best, -1),
                counts,
                stable,
            )
        )
    return LRStudy(float(threshold), tuple(float(c) for c in factors), tuple(rows))


@dataclass(frozen=True)
class LossMap(Result):
    """Final GD loss over (width M, learning rate eta), with the theory line eta_c(M).

    Examples
    --------
    >>> from geosym.experiments import loss_map
    >>> lmap = loss_map("tanh", 3.0, 0.64, depth=2, widths=(20, 40), etas=[0.01, 1.0], samples=8,
    ...                 steps=20)
    >>> lmap.final_loss.shape
    (2, 2)
    >>> bool(lmap.final_loss[0, 0] < 1), bool(lmap.final_loss[0, 1] == float("inf"))
    (True, True)
    """

    activation: str
    widths: np.ndarray
    etas: np.ndarray
    final_loss: np.ndarray  # (len(widths), len(etas)) final/initial loss; inf if diverged
    eta_critical: np.ndarray  # theory 2/lambda_max per width

    def plot(self, path: str) -> None:
        """Heat map of log10(final/initial loss) with the line eta = 2/lambda_max(M)."""
        with figure(path, figsize=(5.5, 4)) as (fig, ax):
            z = np.log10(
                np.clip(np.where(np.isfinite(self.final_loss), self.final_loss, 1e3), 1e-8, 1e3)
            )
            mesh = ax.pcolormesh(self.etas, self.widths, z, shading="nearest", cmap="viridis")
            ax.plot(
                self.eta_critical,
                self.widths,
                "r-",
                lw=2,
                label=r"$\eta=2/\lambda_{\max}$ (theory)",
            )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(r"learning rate $\eta$")
            ax.set_ylabel("width M")
            fig.colorbar(mesh, ax=ax, label="log10(final / initial loss)")
            ax.legend(fontsize=8, loc="lower left")
            ax.set_title(f"GD on {self.activation}: loss over (M, eta)")


def loss_map(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int = 3,
    widths: Sequence[int] = (50, 100, 200, 400),
    etas: Sequence[float] | None = None,
    samples: int = 32,
    steps: int = 100,
    seed: int = 0,
) -> LossMap:
    """Final/initial loss of full-batch GD over a (width, eta) grid, and the theory eta_c(M).

    Examples
    --------
    >>> from geosym.experiments import loss_map
    >>> lmap = loss_map("tanh", 3.0, 0.64, depth=2, widths=(20, 40), etas=[0.01, 1.0], samples=8,
    ...                 steps=20)
    >>> lmap.eta_critical.round(4)  # theory 2/lambda_max per width: eta_c ~ 1/M
    array([0.3865, 0.1933])
    """
    phi = _activation(activation)
    ws = np.asarray(widths, dtype=int)
    eta_c = np.array(
        [
            float(fim_statistics(phi, sigma_w2, sigma_b2, depth, int(m), 1, samples).eta_critical)
            for m in ws
        ]
    )
    grid = (
        np.geomspace(eta_c.min() / 8, eta_c.max() * 8, 17)
        if etas is None
        else np.asarray(etas, dtype=float)
    )
    rng = np.random.default_rng(seed)
    out = np.empty((ws.size, grid.size))
    import warnings

    for i, m in enumerate(ws):
        net0 = MLP.random([int(m)] * depth + [1], phi, sigma_w2, sigma_b2, seed=rng)
        x = gaussian_inputs(samples, int(m), seed=rng)
        y = random_targets(samples, 1, seed=rng)
        for j, eta in enumerate(grid):
            net = net0.copy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                curve = net.train(x, y, eta=float(eta), steps=steps, on_divergence="stop")
            out[i, j] = curve[-1] / curve[0] if len(curve) == steps + 1 else np.inf
    return LossMap(phi.name, ws, grid, out, eta_c)

r"""Natural-gradient theory next to simulation (Amari, Karakida & Oizumi 2019; Karakida & Osawa 2020;
Karakida, Akaho & Amari, NeurIPS 2019).

* :func:`unit_block_check` — the closed-form unit block (:func:`geosym.natgrad.unit_fisher`) of a
  unit of a random :class:`geosym.nn.MLP` against a Monte-Carlo estimate from the net itself.
* :func:`measure_offblock` — cross-unit / unit Fisher block size ratio on random nets of several
  widths against :func:`geosym.natgrad.offblock_ratio`.
* :func:`one_step_convergence` — one NGD step with each method's theoretical learning rate
  (Karakida & Osawa 2020) on a wide net: the training residual drops to a small fraction; a wrong
  rate does not.
* :func:`training_comparison` — teacher-student regression, steps and wall time to a loss
  threshold for GD (η = 1/λ_max) and the NGD variants; ``.table()`` and ``.plot()``.
* :func:`measure_mean_subtraction` — λ_max with and without output centring vs
  :func:`geosym.natgrad.mean_subtraction`.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _checks
from .._plot import figure
from ..activations import Activation
from ..activations import activation as _activation
from ..natgrad import mean_subtraction, offblock_ratio, unit_fisher
from ..nn import MLP, gaussian_inputs, gram_matrix, random_targets, teacher_student
from ..nn.optimizers import METHODS, default_learning_rate
from ..results import Check, Result

__all__ = [
    "UnitBlockCheck",
    "unit_block_check",
    "OffBlockMeasurement",
    "measure_offblock",
    "OneStepRow",
    "OneStepConvergence",
    "one_step_convergence",
    "TrainingRow",
    "TrainingComparison",
    "training_comparison",
    "MeanSubtractionMeasurement",
    "measure_mean_subtraction",
]


# ------------------------------------------------------------------------------ unit block
@dataclass(frozen=True)
class UnitBlockCheck(Result):
    """Closed form vs Monte Carlo for one unit (G without the back-propagated factor).

    Examples
    --------
    >>> from geosym.experiments import unit_block_check
    >>> check = unit_block_check("tanh", 2.0, 0.1, widths=(10, 10, 1), samples=20000)
    >>> check.layer, check.samples
    (1, 20000)
    >>> bool(check.max_abs_error < 3 * check.standard_error)  # Monte-Carlo error only
    True
    """

    activation: str
    layer: int
    unit: int
    samples: int
    max_abs_error: float
    relative_error: float  # max |MC - formula| / max |formula|
    standard_error: float  # max Monte-Carlo standard error of an entry
    c: tuple[float, float, float]

    def checks(self) -> tuple[Check, ...]:
        """The closed form agrees with Monte Carlo within 6 standard errors of an entry."""
        return (
            Check(
                "max |formula - Monte Carlo| / standard error",
                self.max_abs_error / self.standard_error,
                6.0,
                "Monte-Carlo noise; 6 s.e. bounds the maximum over all entries of the block",
            ),
        )


def unit_block_check(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    widths: Sequence[int] = (50, 50, 1),
    layer: int = 1,
    unit: int = 0,
    samples: int = 200_000,
    seed: int = 0,
) -> UnitBlockCheck:
    r""":math:`\frac1N\sum_t\phi'(u_i(t))^2\tilde h(t)\tilde h(t)^\top` of a unit of a random net vs
    :func:`~geosym.natgrad.unit_fisher` with the inputs' measured mean and variance.

    Exact in layer 1 (Gaussian inputs; Amari, Karakida & Oizumi, AISTATS 2019); in deeper layers the inputs
    :math:`h=\phi(u)` are not Gaussian and the formula is the Gaussian-input approximation.

    Examples
    --------
    >>> from geosym.experiments import unit_block_check
    >>> check = unit_block_check("tanh", 2.0, 0.1, widths=(10, 10, 1), samples=20000)
    >>> round(check.relative_error, 3)
    0.022
    """
    rng = np.random.default_rng(seed)
    net = MLP.random(list(widths), activation, sigma_w2, sigma_b2, seed=rng)
    if not 1 <= layer < net.depth:
        raise ValueError(f"layer must be a hidden layer 1..{net.depth - 1}, got {layer}")
    X = gaussian_inputs(samples, net.n_inputs, seed=rng)
    cache = net.forward(X)
    h = cache.inputs[layer - 1]
    u = cache.preacts[layer - 1][:, unit]
    g = net.activation_derivative(u) ** 2
    Ht = np.concatenate([h, np.ones((samples, 1))], axis=1)
    mc = (Ht * g[:, None]).T @ Ht / samples
    sq = (Ht * g[:, None]) ** 2
    se = float(np.sqrt(np.max((sq.T @ (Ht**2) / samples - mc**2) / samples)))
    G = unit_fisher(
        net.activation,
        net.weights[layer - 1][unit],
        float(net.biases[layer - 1][unit]),
        input_mean=h.mean(axis=0),
        input_var=h.var(axis=0),
    )
    M = G.matrix()
    err = float(np.max(np.abs(mc - M)))
    return UnitBlockCheck(
        _activation(activation).name,
        layer,
        unit,
        samples,
        err,
        err / float(np.max(np.abs(M))),
        se,
        tuple(float(x) for x in G.c),  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------------------ off-block
@dataclass(frozen=True)
class OffBlockMeasurement(Result):
    """Measured RMS cross-unit block norm / mean unit block norm, per width, vs theory.

    Examples
    --------
    >>> from geosym.experiments import measure_offblock
    >>> off = measure_offblock("tanh", 2.0, 0.1, depth=2, widths=(32, 64), units=8, seeds=1)
    >>> off.widths
    (32, 64)
    >>> [round(m / t, 2) for m, t in zip(off.measured, off.theory)]  # does not shrink with width
    [0.94, 0.94]
    """

    activation: str
    layer: int
    widths: tuple[int, ...]
    measured: tuple[float, ...]
    measured_se: tuple[float, ...]
    theory: tuple[float, ...]
    samples: int
    seeds: int


def _block_ratio(net: MLP, X: np.ndarray, layer: int, units: int, rng) -> float:
    cache = net.forward(X)
    deltas = net.output_deltas(cache)[layer - 1]  # (C, T, M)
    h = cache.inputs[layer - 1]
    Ht = np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)
    T = h.shape[0]
    idx = rng.choice(deltas.shape[-1], size=min(units, deltas.shape[-1]), replace=False)
    d = deltas[:, :, idx]  # (C, T, m)
    # ||F_ij||_F^2 = (1/T^2) sum_{t,s} a_ij(t) a_ij(s) K(t,s)^2, a_ij(t) = sum_k d_ki(t) d_kj(t)
    a = np.einsum("kti,ktj->tij", d, d)  # (T, m, m)
    K2 = (Ht @ Ht.T) ** 2
    flat = a.reshape(T, -1)  # (T, m*m): one matrix product instead of a 3-operand einsum
    norms2 = np.einsum("tp,tp->p", K2 @ flat, flat).reshape(a.shape[1:]) / T**2
    diag = np.sqrt(np.diag(norms2))
    off = norms2[~np.eye(len(idx), dtype=bool)]
    return float(np.sqrt(off.mean()) / diag.mean())


def measure_offblock(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int = 3,
    widths: Sequence[int] = (128, 256, 512),
    layer: int = 1,
    samples: int = 10,
    outputs: int = 1,
    units: int = 40,
    seeds: int = 4,
    seed: int = 0,
) -> OffBlockMeasurement:
    r"""Cross-unit vs unit Fisher block size on random nets, against :func:`~geosym.natgrad.offblock_ratio`.

    Ratio :math:`\mathrm{RMS}_{i\ne j}\|F_{ij}\|_F/\overline{\|F_{ii}\|_F}` over ``units``
    randomly chosen units of ``layer``, averaged over ``seeds`` nets per width.

    Examples
    --------
    >>> from geosym.experiments import measure_offblock
    >>> off = measure_offblock("tanh", 2.0, 0.1, depth=2, widths=(32, 64), units=8, seeds=1)
    >>> [round(t, 3) for t in off.theory]
    [0.709, 0.711]
    """
    rng = np.random.default_rng(seed)
    theory = offblock_ratio(activation, sigma_w2, sigma_b2, depth, widths, layer, outputs, samples)
    means, ses = [], []
    for m in widths:
        vals = []
        for _ in range(seeds):
            net = MLP.random([m] * depth + [outputs], activation, sigma_w2, sigma_b2, seed=rng)
            X = gaussian_inputs(samples, m, seed=rng)
            vals.append(_block_ratio(net, X, layer, units, rng))
        means.append(float(np.mean(vals)))
        ses.append(float(np.std(vals, ddof=1) / np.sqrt(len(vals))) if seeds > 1 else float("nan"))
    return OffBlockMeasurement(
        _activation(activation).name,
        layer,
        tuple(int(m) for m in widths),
        tuple(means),
        tuple(ses),
        theory.ratio,
        samples,
        seeds,
    )


# ------------------------------------------------------------------------------ one step
@dataclass(frozen=True)
class OneStepRow(Result):
    """One method of :func:`one_step_convergence`.

    Examples
    --------
    >>> from geosym.experiments import one_step_convergence
    >>> row = one_step_convergence("tanh", 2.0, 0.1, depth=2, width=64, samples=16).row("kfac")
    >>> row.method, round(row.eta, 4), bool(row.residual_ratio < row.wrong_residual_ratio)
    ('kfac', 0.0588, True)
    """

    method: str
    eta: float  # theoretical one-step rate
    residual_ratio: float  # ||f - y|| after one step / before, at eta
    wrong_factor: float
    wrong_residual_ratio: float  # at wrong_factor * eta


@dataclass(frozen=True)
class OneStepConvergence(Result):
    """TC6: one step with the theory's learning rate.

    Examples
    --------
    >>> from geosym.experiments import one_step_convergence
    >>> conv = one_step_convergence("tanh", 2.0, 0.1, depth=2, width=64, samples=16)
    >>> [r.method for r in conv.rows]
    ['ngd', 'ngd-layer', 'kfac', 'ngd-unit']
    >>> row = conv.row("ngd")
    >>> row.eta, bool(row.residual_ratio < row.wrong_residual_ratio)
    (1.0, True)
    """

    activation: str
    depth: int
    width: int
    samples: int
    outputs: int
    rows: tuple[OneStepRow, ...]

    def row(self, method: str) -> OneStepRow:
        return next(r for r in self.rows if r.method == method)

    def checks(self) -> tuple[Check, ...]:
        """One step at each method's theoretical rate brings ||f - y|| below 0.3 of its start
        (Karakida & Osawa 2020: exactly 0 at infinite width); half the rate leaves more than 0.4."""
        return (
            Check(
                "largest residual ratio after one step at the theoretical rate",
                max(r.residual_ratio for r in self.rows),
                0.3,
                "finite width and damping leave a residual of a few to 25 %",
            ),
            Check(
                "1 - smallest residual ratio at the wrong rate",
                1.0 - min(r.wrong_residual_ratio for r in self.rows),
                0.6,
                "at half the rate one step must leave about half the residual",
            ),
        )


#: the registry's methods that are not a variant of another (``"ngd-unit-mf"`` is one of ``"ngd-unit"``)
_PATIENCE = 1000  # training_comparison: steps without a relative gain of 1e-9 that end a run
_STEP_PASSES = 3.0  # one training step costs about 3 forward passes (gd 3.1, ngd 4.8 measured)
_PROJECTED_STEPS = 100  # steps per method a time projection assumes (runs need tens to hundreds)
_MAIN_METHODS = tuple(name for name, m in METHODS.items() if m.variant_of is None)
#: those with an infinite-width one-step rate (all but plain GD)
_ONE_STEP_METHODS = tuple(name for name in _MAIN_METHODS if name != "gd")


def one_step_convergence(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int = 3,
    width: int = 1024,
    samples: int = 64,
    outputs: int = 1,
    methods: Sequence[str] = _ONE_STEP_METHODS,
    wrong_factor: float = 0.5,
    seed: int = 0,
) -> OneStepConvergence:
    r"""One step of each method at its theoretical rate on ``[width]*depth + [outputs]`` (inputs of
    dimension ``width`` >= ``samples`` so that the K-FAC input factor has full rank), random
    N(0,1) targets; also at ``wrong_factor`` times that rate. ``"ngd-unit-mf"`` is unit-wise
    with mean-field blocks.

    Examples
    --------
    >>> from geosym.experiments import one_step_convergence
    >>> conv = one_step_convergence("tanh", 2.0, 0.1, depth=2, width=64, samples=16)
    >>> {r.method: round(r.eta, 4) for r in conv.rows}  # ngd-layer: 1/L; K-FAC: 1/(N(L-1)+1)
    {'ngd': 1.0, 'ngd-layer': 0.5, 'kfac': 0.0588, 'ngd-unit': 0.0154}
    """
    rng = np.random.default_rng(seed)
    net0 = MLP.random([width] * depth + [outputs], activation, sigma_w2, sigma_b2, seed=rng)
    X = gaussian_inputs(samples, width, seed=rng)
    Y = random_targets(samples, outputs, seed=rng)
    r0 = float(np.linalg.norm(net0(X) - Y))
    cache = net0.forward(X)
    rows = []
    for method in methods:
        eta = default_learning_rate(net0, cache, method)
        res = []
        for factor in (1.0, wrong_factor):
            net = net0.copy()
            net.train(X, Y, eta=eta * factor, steps=1, method=method)
            res.append(float(np.linalg.norm(net(X) - Y)) / r0)
        rows.append(OneStepRow(method, float(eta), res[0], float(wrong_factor), res[1]))
    return OneStepConvergence(net0.activation.name, depth, width, samples, outputs, tuple(rows))


# ------------------------------------------------------------------------------ training
@dataclass(frozen=True)
class TrainingRow(Result):
    """One method of :func:`training_comparison`.

    Examples
    --------
    >>> from geosym.experiments import training_comparison
    >>> comp = training_comparison("tanh", 2.0, 0.1, depth=2, width=32, samples=16, max_steps=50)
    >>> row = comp.rows[0]
    >>> row.method, row.steps_to_threshold, bool(row.final_loss_ratio < 1e-2)
    ('gd', 10, True)
    """

    method: str
    eta: float
    steps_to_threshold: int | None  # None: not reached within max_steps
    seconds_to_threshold: float | None
    seconds_per_step: float
    final_loss_ratio: float


@dataclass(frozen=True)
class TrainingComparison(Result):
    """Teacher-student training: steps and wall time to ``threshold`` x initial loss.

    Examples
    --------
    >>> from geosym.experiments import training_comparison
    >>> comp = training_comparison("tanh", 2.0, 0.1, depth=2, width=32, samples=16, max_steps=50)
    >>> [(r.method, r.steps_to_threshold) for r in comp.rows]
    [('gd', 10), ('ngd', 1), ('ngd-layer', 1), ('kfac', 4), ('ngd-unit', 2)]
    >>> comp.table().split()[:3]
    ['method', 'eta', 'steps']
    """

    activation: str
    widths: tuple[int, ...]
    samples: int
    threshold: float
    max_steps: int
    rows: tuple[TrainingRow, ...]
    curves: dict[str, np.ndarray] = field(repr=False, metadata={"json": False})

    def table(self) -> str:
        """A plain-text table (one row per method)."""
        head = (
            f"{'method':<12}{'eta':>11}{'steps':>8}{'seconds':>10}{'s/step':>10}{'final/init':>12}"
        )
        lines = [head, "-" * len(head)]
        for r in self.rows:
            steps = "-" if r.steps_to_threshold is None else str(r.steps_to_threshold)
            secs = "-" if r.seconds_to_threshold is None else f"{r.seconds_to_threshold:.3f}"
            lines.append(
                f"{r.method:<12}{r.eta:>11.3g}{steps:>8}{secs:>10}{r.seconds_per_step:>10.4f}"
                f"{r.final_loss_ratio:>12.3g}"
            )
        return "\n".join(lines)

    def plot(self, path: str) -> None:
        """PNG of loss / initial loss against step (log y) for every method."""
        with figure(path) as (fig, ax):
            for name, curve in self.curves.items():
                ax.plot(np.arange(len(curve)), curve / curve[0], label=name)
            ax.axhline(self.threshold, color="k", lw=0.8, ls="--", label="threshold")
            ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_ylabel("loss / initial loss")
            ax.set_title(f"{self.activation}: widths {list(self.widths)}, N={self.samples}")
            ax.legend(fontsize=8)


def training_comparison(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int = 3,
    width: int = 256,
    samples: int = 64,
    outputs: int = 1,
    methods: Sequence[str] = _MAIN_METHODS,
    threshold: float = 1e-2,
    max_steps: int = 200,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    max_seconds: float | None = 600.0,
) -> TrainingComparison:
    r"""Teacher-student regression (teacher of the same architecture, fresh random weights).

    Each method starts from the same student and runs at its default learning rate (GD:
    :math:`1/\lambda_{\max}`; NGD variants: the one-step rates) until the loss falls below
    ``threshold`` times its initial value (the run stops there), stalls (no relative gain of
    1e-9 in 1000 steps) or reaches ``max_steps`` steps, so a large ``max_steps`` costs only the
    steps needed; ``progress`` (e.g. ``print``) gets a line every 10 s. The input dimension is
    ``max(width, 2 * samples)``: K-FAC's input factor needs :math:`M_0 \ge N` (Karakida & Osawa
    2020) and is nearly singular at :math:`M_0 \approx N` (a square Wishart matrix), where its
    one-step rate blows the loss up.

    ``depth`` is at most 10000 (each step walks every layer).  The
    time is projected from the student's first forward pass (a step costs about 3 passes) over
    ``min(max_steps, 100)`` steps per method; a run projected to take more than
    ``max_seconds`` (default 600 s; None: no limit) is refused with a ``ValueError`` before
    training.

    Examples
    --------
    >>> from geosym.experiments import training_comparison
    >>> comp = training_comparison("tanh", 2.0, 0.1, depth=2, width=32, samples=16, max_steps=50)
    >>> comp.widths, sorted(comp.curves)[:2]
    ((32, 32, 1), ['gd', 'kfac'])
    """
    if "kfac" in methods and width < 2 * samples:
        raise ValueError(
            f"kfac needs layers wider than the training set: its one-step rate assumes M >= N "
            f"(Karakida & Osawa 2020) and its Kronecker factors are nearly singular at M ~ N, so "
            f"the step blows up; use width >= 2*samples (here >= {2 * samples}) or drop kfac"
        )
    if isinstance(depth, numbers.Integral) and depth > _checks.MAX_DEPTH:
        raise ValueError(
            f"depth = {depth}: training is limited to {_checks.MAX_DEPTH} layers (every step "
            f"walks each layer, about 0.1 ms per layer at width 32); reduce the depth"
        )
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0 or None, got {max_seconds!r}")
    rng = np.random.default_rng(seed)
    ws = [max(width, 2 * samples)] + [width] * (depth - 1) + [outputs]
    data = teacher_student(ws, activation, sigma_w2, sigma_b2, samples, seed=rng)
    student = MLP.random(ws, activation, sigma_w2, sigma_b2, seed=rng)
    t0 = time.perf_counter()
    cache = student.forward(data.X)
    planned = min(max_steps, _PROJECTED_STEPS)
    projected = (time.perf_counter() - t0) * _STEP_PASSES * planned * len(methods)
    if max_seconds is not None and projected > max_seconds:
        raise ValueError(
            f"training {len(methods)} method(s) on widths [{ws[0]}, {width} x {depth - 1}, "
            f"{outputs}] with {samples} samples would take about {projected:.3g} s for "
            f"{planned} steps each, more than max_seconds = {max_seconds:g}: reduce the depth, "
            "width, samples or methods, or raise max_seconds (--max-seconds)"
        )
    residual = cache.output - data.Y
    target = threshold * 0.5 * float(np.vdot(residual, residual)) / samples  # x initial loss
    rows, curves = [], {}
    for method in methods:
        eta = default_learning_rate(student, cache, method)
        net = student.copy()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            curve = net.train(
                data.X,
                data.Y,
                eta=eta,
                steps=max_steps,
                method=method,
                on_divergence="stop",
                stop_below=target,
                patience=_PATIENCE,
                progress=progress,
            )
        elapsed = time.perf_counter() - t0
        per_step = elapsed / max(len(curve) - 1, 1)
        hit = np.nonzero(curve <= threshold * curve[0])[0]
        steps = int(hit[0]) if hit.size else None
        rows.append(
            TrainingRow(
                method,
                float(eta),
                steps,
                None if steps is None else steps * per_step,
                per_step,
                float(curve[-1] / curve[0]) if curve[0] > 0 else 0.0,  # 0: nothing to learn
            )
        )
        curves[method] = curve
    return TrainingComparison(
        student.activation.name, tuple(ws), samples, threshold, max_steps, tuple(rows), curves
    )


# ------------------------------------------------------------------------------ mean subtraction
@dataclass(frozen=True)
class MeanSubtractionMeasurement(Result):
    """λ_max before/after centring the output over the batch, measured and predicted.

    Examples
    --------
    >>> from geosym.experiments import measure_mean_subtraction
    >>> ms = measure_mean_subtraction("tanh", 2.0, 0.1, depth=2, width=100, samples=8)
    >>> round(ms.lambda_max_before, 3), round(ms.theory.lambda_max_before, 3)
    (21.962, 17.107)
    """

    activation: str
    width: int
    samples: int
    lambda_max_before: float
    lambda_max_after: float
    centred_mean: float  # mean of the non-zero centred spectrum (theory: lambda_max_after)
    factor: float  # measured before / after
    theory: Any

    def checks(self) -> tuple[Check, ...]:
        """The mean of the centred spectrum matches the predicted lambda_max after centring."""
        return (
            Check(
                "|centred spectrum mean / theory - 1|",
                abs(self.centred_mean / self.theory.lambda_max_after - 1),
                0.1,
                "finite width M and T samples",
            ),
        )


def measure_mean_subtraction(
    activation: Activation | str,
    sigma_w2: float,
    sigma_b2: float,
    depth: int = 3,
    width: int = 1000,
    samples: int = 10,
    outputs: int = 1,
    seed: int = 0,
) -> MeanSubtractionMeasurement:
    r"""Spectrum of :math:`JJ^\top/T` and of its centred version
    :math:`(I_C\otimes H)JJ^\top(I_C\otimes H)/T`, :math:`H=I-\mathbf 1\mathbf 1^\top/T`.

    Examples
    --------
    >>> from geosym.experiments import measure_mean_subtraction
    >>> ms = measure_mean_subtraction("tanh", 2.0, 0.1, depth=2, width=100, samples=8)
    >>> round(ms.factor, 4), round(ms.theory.factor, 4)
    (1.0001, 1.1493)
    """
    rng = np.random.default_rng(seed)
    net = MLP.random([width] * depth + [outputs], activation, sigma_w2, sigma_b2, seed=rng)
    X = gaussian_inputs(samples, width, seed=rng)
    G = gram_matrix(net, X)
    T, C = samples, outputs
    H = np.eye(T) - 1.0 / T
    P = np.kron(np.eye(C), H)
    Gc = P @ G @ P
    before = float(np.linalg.eigvalsh(G)[-1]) / T
    ev = np.linalg.eigvalsh(Gc)[::-1] / T
    after = float(ev[0])
    centred_mean = float(ev[: C * (T - 1)].mean())
    theory = mean_subtraction(activation, sigma_w2, sigma_b2, depth, width, samples, outputs)
    return MeanSubtractionMeasurement(
        net.activation.name, width, samples, before, after, centred_mean, before / after, theory
    )

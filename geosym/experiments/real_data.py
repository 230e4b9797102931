r"""The Fisher learning-rate results on benchmark data, with PyTorch models.

Two studies on :func:`geosym.data.load` data sets (inputs rescaled to :math:`q_1^0=1`, raw
pixels *not* centred unless asked; one-hot targets, squared loss):

* :func:`theory_vs_measurement`: the mean-field statistics (Karakida, Akaho & Amari,
  AISTATS 2019, main theorem) predicted from the measured input statistics
  (:func:`geosym.nn.predicted_fim_statistics`) against those measured on the real batch
  (:func:`geosym.nn.fim_statistics`), as ratios per width;
* :func:`learning_rate_study`: ``torch.optim.SGD`` on ``torch.nn.MSELoss()`` at
  :math:`\eta=c\,\eta_c` (:meth:`geosym.FIMStatistics.critical_learning_rate` in the
  ``"torch-mse-mean"`` convention), full batch (GD) and minibatches, several seeds: which c
  diverge, the final loss, the test accuracy, and :math:`\lambda_{\max}` along training (the
  bound is on the *initial* curvature; the catapult mechanism of Lewkowycz et al. 2020 lets runs
  above it settle where :math:`\lambda_{\max}` falls).

Both write one JSON line per finished run to ``out`` and resume from it, so an interrupted study
loses only the run in flight. Needs ``pip install 'geosym[torch,data]'``.

Where the i.i.d.-input theory fails on real images (mnist-5k, L = 3, T = 200, raw pixels
scaled to :math:`q_1^0=1`, so :math:`q_2^0\approx0.4`; 2 seeds):

* :math:`m_\lambda` needs only :math:`q_1^0` and agrees within 7 % (all four activations);
  :math:`\lambda_2` within 10 % (14 % on centred pixels);
* :math:`\lambda_{\max}` is *underestimated*: theory/measured 0.51 (swish) to 0.67 (tanh) at
  M = 200 and 0.68 to 0.81 at M = 500, rising with the width (L = 5, one seed: 0.29 to 0.55
  at M = 200, 0.74 to 0.93 at M = 1000). The batch is close to the
  equicorrelated Gram the theory assumes in its top eigenvalue (input-Gram
  :math:`\lambda_{\max}` only 9 % above :math:`q_1^0+(T-1)q_2^0`), so most of the gap is a
  finite-width effect that averaging over correlated samples does not remove;
* centred pixels (:math:`q_2^0=-q_1^0/(T-1)`): for odd activations (tanh, erf) the theory
  puts no outliers and :math:`\lambda_{\max}` is off by two orders of magnitude (ratio 0.01) —
  the leading principal components of the images, which the theory does not see, set it;
  for ReLU and swish (ratio 0.5 to 0.8) the mean activation still creates the outliers.

Learning rates (M = 200, 500 training images, 40 epochs of GD, batches 200 and 50, 3 seeds):
every run at c <= 1.5 converged and GD at c <= 0.9 never diverged; tanh and erf diverge from
c = 2, ReLU and swish only at c = 3 (2 of 3 seeds), for GD and both batch sizes alike. Because
the theory underestimates the initial :math:`\lambda_{\max}`, c = 1 is already above the
measured bound (tanh: measured :math:`\lambda_{\max}` 154 vs 109 predicted on the same
batch); the loss rises for a few epochs, :math:`\lambda_{\max}` falls (154 -> 103) and
training settles — the catapult mechanism of Lewkowycz et al. (2020). For ReLU at c = 2 the
loss spikes six-fold while :math:`\lambda_{\max}` drops from 675 to 81 within five epochs.
The lowest final loss is at the largest stable c (1.5 or 2), not at the theory's fastest
rate :math:`2/(\lambda_{\max}+\lambda_2)\approx0.995\,\eta_c`, which assumes a quadratic loss.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..data import Dataset, input_statistics, load
from ..nn import MLP, fim_statistics, predicted_fim_statistics
from ..results import Check, Result, jsonable
from .fisher import COMPARED_STATISTICS

__all__ = [
    "MODEL_TYPES",
    "C_GRID",
    "RatioRow",
    "TheoryVsMeasurement",
    "theory_vs_measurement",
    "LRRun",
    "RealDataLRStudy",
    "learning_rate_study",
    "prepare",
    "plot_lr_study",
    "plot_ratios",
]

#: model type -> (activation spec, sigma_w2, sigma_b2): variance-preserving initialisations.
MODEL_TYPES: dict[str, tuple[str, float, float]] = {
    "tanh": ("tanh", 1.0, 0.0),
    "relu": ("relu", 2.0, 0.0),
    "erf": ("erf", 1.0, 0.0),
    "swish": ("swish", 2.0, 0.0),
}

#: The learning-rate factors c = eta / eta_c of the study.
C_GRID: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0)

Progress = Callable[[str], None]


def _say(progress: Progress | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def prepare(dataset: str | Dataset, *, centre: bool = False, q1_0: float = 1.0) -> Dataset:
    """Load (if a name) and rescale to ``q1_0``; centre first when ``centre``.

    Examples
    --------
    >>> d = prepare("digits", centre=True)
    >>> d.name, round(float((d.X ** 2).sum(axis=1).mean() / d.dim), 12)
    ('digits/centred/q1=1', 1.0)
    """
    d = load(dataset) if not isinstance(dataset, Dataset) else dataset
    return (d.centred() if centre else d).scaled(q1_0)


def _resume(out: Path | None) -> dict[str, dict]:
    done: dict[str, dict] = {}
    if out is not None and out.exists():
        for line in out.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by an interruption
                continue
            done[row["key"]] = row
    return done


def _append(out: Path | None, row: dict) -> None:
    if out is not None:
        with out.open("a") as fh:
            fh.write(json.dumps(row, allow_nan=False) + "\n")
            fh.flush()


# ---------------------------------------------------------------------------- theory vs measured
@dataclass(frozen=True)
class RatioRow(Result):
    """Theory / measurement for one net (one activation, depth, width, seed).

    Examples
    --------
    >>> row = RatioRow("k", "tanh", 3, 100, 0, False, 50, {"lambda_max": 8.0}, {"lambda_max": 10.0})
    >>> row.ratios
    {'lambda_max': 0.8}
    """

    key: str
    model: str
    depth: int
    width: int
    seed: int
    centred: bool
    samples: int
    theory: dict[str, float]
    measured: dict[str, float]

    @property
    def ratios(self) -> dict[str, float]:
        """``theory[k] / measured[k]`` for each statistic."""
        return {k: self.theory[k] / self.measured[k] for k in self.theory}


@dataclass(frozen=True)
class TheoryVsMeasurement(Result):
    """Rows of :func:`theory_vs_measurement` and the input statistics they used.

    Examples
    --------
    >>> th, me = {"m_lambda": 1.05, "lambda_max": 8.0}, {"m_lambda": 1.0, "lambda_max": 10.0}
    >>> rows = (RatioRow("a", "tanh", 3, 100, 0, False, 50, th, me),
    ...         RatioRow("b", "tanh", 3, 100, 1, False, 50, th, {"m_lambda": 1.0, "lambda_max": 8.0}))
    >>> res = TheoryVsMeasurement("digits", 1.0, 0.7, 1.01, rows)
    >>> [round(v, 6) if isinstance(v, float) else v for v in res.table("lambda_max")[0]]
    ['tanh', 3, 100, False, 0.9, 0.1]
    >>> res.passed
    True
    """

    dataset: str
    q1_0: float
    q2_0: float
    structure_ratio: float
    rows: tuple[RatioRow, ...]

    def table(self, stat: str = "lambda_max") -> list[tuple[str, int, int, bool, float, float]]:
        """``(model, depth, width, centred, mean ratio, spread)`` of ``stat`` over seeds."""
        groups: dict[tuple[str, int, int, bool], list[float]] = {}
        for r in self.rows:
            groups.setdefault((r.model, r.depth, r.width, r.centred), []).append(r.ratios[stat])
        return [
            (m, d, w, c, float(np.mean(v)), float(np.std(v)))
            for (m, d, w, c), v in sorted(groups.items())
        ]

    def checks(self) -> tuple[Check, ...]:
        """m_lambda (needs only q1_0 and the widths) at the largest width, raw inputs: within 25 %.

        Raw pixels are nearly collinear (q2_0 / q1_0 = 0.4 to 0.9), so averaging over the T
        samples does not average out the finite-width fluctuation of the hidden units; the
        deviation shrinks like 1/M (ReLU on digits: 0.23 at M = 100, 0.13 at M = 200).
        """
        width = max(r.width for r in self.rows)
        worst = max(
            abs(mean - 1)
            for _m, _d, w, centre, mean, _s in self.table("m_lambda")
            if w == width and not centre
        )
        return (
            Check(
                f"m_lambda theory/measured - 1 at M = {width} (raw inputs, mean over seeds)",
                worst,
                0.25,
                "m_lambda depends only on q1_0 and the widths; correlated inputs leave an "
                "O(1/M) finite-width deviation",
            ),
        )


def theory_vs_measurement(
    dataset: str | Dataset = "mnist-5k",
    *,
    models: Sequence[str] = tuple(MODEL_TYPES),
    widths: Sequence[int] = (200, 500, 1000),
    depths: Sequence[int] = (3,),
    samples: int = 200,
    seeds: int = 2,
    centred: Sequence[bool] = (False, True),
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> TheoryVsMeasurement:
    r"""Predicted vs measured FIM statistics on a real batch of ``samples`` inputs.

    For each model type (:data:`MODEL_TYPES`), depth L (L - 1 hidden layers of one width M),
    width and seed, a random net with C = number of classes outputs; the theory
    (:func:`~geosym.nn.predicted_fim_statistics` with the nominal :math:`\sigma_w^2,\sigma_b^2`
    and the batch's exact :math:`q_1^0, q_2^0`) against the measured statistics
    (:func:`~geosym.nn.fim_statistics`, ``method="auto"``). ``centred`` runs the same batch
    with the pixel mean removed, which moves :math:`q_2^0` to about 0 (module docstring).

    Examples
    --------
    >>> res = theory_vs_measurement("digits", models=("tanh",), widths=(40,), samples=30,
    ...                             seeds=1, centred=(False,))
    >>> row = res.rows[0]
    >>> row.key, sorted(row.ratios)
    ('tanh/L3/M40/s0/raw/T30', ['lambda_2', 'lambda_max', 'm_lambda', 's_lambda'])
    >>> model, depth, width, centred, mean, spread = res.table("m_lambda")[0]
    >>> bool(abs(mean - 1) < 0.25), res.passed
    (True, True)
    """
    base = prepare(dataset)
    batch = base.subset(samples, seed=0)
    path = Path(out) if out is not None else None
    done = _resume(path)
    rows = []
    for centre in centred:
        X = prepare(batch, centre=True).X if centre else batch.X
        C = batch.n_classes
        for name in models:
            spec, sw2, sb2 = MODEL_TYPES[name]
            for L in depths:
                for M in widths:
                    for seed in range(seeds):
                        key = f"{name}/L{L}/M{M}/s{seed}/{'c' if centre else 'raw'}/T{samples}"
                        if key not in done:
                            t0 = time.perf_counter()
                            net = MLP.random(
                                [X.shape[1]] + [M] * (L - 1) + [C], spec, sw2, sb2, seed=seed
                            )
                            th = predicted_fim_statistics(net, X, sigma_w2=sw2, sigma_b2=sb2)
                            me = fim_statistics(net, X, method="auto")
                            done[key] = {
                                "key": key,
                                "model": name,
                                "depth": L,
                                "width": M,
                                "seed": seed,
                                "centred": centre,
                                "samples": samples,
                                "theory": {k: float(getattr(th, k)) for k in COMPARED_STATISTICS},
                                "measured": {k: float(getattr(me, k)) for k in COMPARED_STATISTICS},
                            }
                            _append(path, done[key])
                            _say(
                                progress,
                                f"{key}: lambda_max ratio "
                                f"{done[key]['theory']['lambda_max'] / me.lambda_max:.3f} "
                                f"({time.perf_counter() - t0:.1f} s)",
                            )
                        rows.append(RatioRow(**done[key]))
    st = input_statistics(batch.X)
    return TheoryVsMeasurement(batch.name, st.q1_0, st.q2_0, st.structure_ratio, tuple(rows))


# ---------------------------------------------------------------------------- learning rates
@dataclass(frozen=True)
class LRRun(Result):
    """One training run of :func:`learning_rate_study`.

    ``batch`` 0 means full batch (GD). Losses are geosym's
    :math:`E=\\frac1{2T}\\sum_t\\|f-y\\|^2` on the whole training set, one per epoch
    (``loss_curve[0]`` at initialisation); ``lambda_max_curve`` (tracked runs only) is the
    measured :math:`\\lambda_{\\max}` on a fixed batch at the epochs ``track_epochs``.

    Examples
    --------
    >>> run = LRRun("tanh/B0/c1", "tanh", 0, 1.0, 0, 0.1, False, -1, 0.2, 0.8, (0.5, 0.2))
    >>> run.to_dict()["loss_curve"], run.diverged
    ([0.5, 0.2], False)
    """

    key: str
    model: str
    batch: int
    c: float
    seed: int
    lr: float
    diverged: bool
    diverged_epoch: int
    final_loss: float
    test_accuracy: float
    loss_curve: tuple[float, ...] = ()
    track_epochs: tuple[int, ...] = ()
    lambda_max_curve: tuple[float, ...] = field(default=())


@dataclass(frozen=True)
class RealDataLRStudy(Result):
    """Result of :func:`learning_rate_study`: the runs and, per model type, the theory.

    Examples
    --------
    >>> runs = tuple(LRRun(f"k{c}", "tanh", 0, c, 0, c * 0.1, c > 2, 3 if c > 2 else -1, loss,
    ...                    0.7 if c <= 2 else float("nan"))
    ...              for c, loss in ((0.5, 0.3), (1.0, 0.2), (3.0, float("nan"))))
    >>> study = RealDataLRStudy("digits", 30, 3, 100, 50, {0: 5}, {"tanh": {"fastest_c": 0.99}},
    ...                         runs)
    >>> row = study.summary()[0]
    >>> row["diverging_c"], row["fastest_c"], study.passed
    ([3.0], 1.0, True)
    """

    dataset: str
    width: int
    depth: int
    train_samples: int
    test_samples: int
    epochs: dict[int, int]
    theory: dict[str, dict[str, float]]
    runs: tuple[LRRun, ...]

    def summary(self) -> list[dict[str, Any]]:
        """One row per (model, batch): diverging c, final loss and accuracy at c = 1, fastest c."""
        rows = []
        for model in self.theory:
            for batch in sorted({r.batch for r in self.runs if r.model == model}):
                runs = [r for r in self.runs if r.model == model and r.batch == batch]
                cs = sorted({r.c for r in runs})
                div = [c for c in cs if any(r.diverged for r in runs if r.c == c)]
                ok = {
                    c: float(np.mean([r.final_loss for r in runs if r.c == c]))
                    for c in cs
                    if c not in div
                }
                acc = {c: float(np.mean([r.test_accuracy for r in runs if r.c == c])) for c in ok}
                fastest = min(ok, key=lambda c: ok[c]) if ok else float("nan")
                rows.append(
                    {
                        "model": model,
                        "batch": batch,
                        "diverging_c": div,
                        "smallest_diverging_c": min(div) if div else float("nan"),
                        "all_converge_below_1": all(c not in div for c in cs if c <= 0.9),
                        "loss_at_c1": ok.get(1.0, float("nan")),
                        "accuracy_at_c1": acc.get(1.0, float("nan")),
                        "fastest_c": fastest,
                        "fastest_loss": ok.get(fastest, float("nan")),
                        "fastest_accuracy": acc.get(fastest, float("nan")),
                        "theory_fastest_c": self.theory[model]["fastest_c"],
                    }
                )
        return rows

    def checks(self) -> tuple[Check, ...]:
        """GD: every run with c <= 0.9 converges (the bound is sufficient at initialisation)."""
        gd = [r for r in self.runs if r.batch == 0 and r.c <= 0.9]
        bad = sum(r.diverged for r in gd)
        return (
            Check(
                "GD runs at c <= 0.9 that diverged",
                float(bad),
                0.0,
                "below the initial-curvature bound GD must not diverge",
            ),
        )


def _torch_model(net: MLP, torch: Any) -> Any:
    return net.to_torch(dtype=torch.float32)


def _train(
    model: Any,
    X: Any,
    Y: Any,
    *,
    lr: float,
    epochs: int,
    batch: int,
    seed: int,
    torch: Any,
    track: Callable[[Any], float] | None = None,
    track_every: int = 1,
) -> tuple[list[float], bool, int, list[int], list[float]]:
    """``torch.optim.SGD`` on ``MSELoss()``; geosym-convention losses per epoch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    mse = torch.nn.MSELoss()
    T, C = Y.shape
    gen = torch.Generator().manual_seed(seed)

    def full_loss() -> float:
        with torch.no_grad():
            return float(mse(model(X), Y)) * C / 2  # E = (C/2) * torch mean MSE

    curve = [full_loss()]
    limit = 1e4 * max(curve[0], 1e-12)
    tracked_at: list[int] = []
    tracked: list[float] = []
    if track is not None:
        tracked_at.append(0)
        tracked.append(track(model))
    bs = T if batch == 0 else batch
    for epoch in range(1, epochs + 1):
        order = torch.randperm(T, generator=gen) if batch else torch.arange(T)
        for lo in range(0, T - bs + 1, bs):
            idx = order[lo : lo + bs]
            opt.zero_grad()
            loss = mse(model(X[idx]), Y[idx])
            value = float(loss.detach())
            if not math.isfinite(value) or value * C / 2 > limit:
                return curve, True, epoch, tracked_at, tracked
            loss.backward()
            opt.step()
        e = full_loss()
        curve.append(e)
        if not math.isfinite(e) or e > limit:
            return curve[:-1], True, epoch, tracked_at, tracked
        if track is not None and epoch % track_every == 0:
            tracked_at.append(epoch)
            tracked.append(track(model))
    return curve, False, -1, tracked_at, tracked


def learning_rate_study(
    dataset: str | Dataset = "mnist-5k",
    *,
    models: Sequence[str] = tuple(MODEL_TYPES),
    width: int = 200,
    depth: int = 3,
    cs: Sequence[float] = C_GRID,
    batches: Sequence[int] = (0, 1000, 200, 50),
    epochs: dict[int, int] | None = None,
    seeds: int = 3,
    train_samples: int = 2000,
    test_samples: int = 1000,
    track: Sequence[tuple[str, int, float]] = (),
    track_samples: int = 200,
    track_every: int = 5,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> RealDataLRStudy:
    r"""Train PyTorch MLPs at :math:`\eta=c\,\eta_c` on real data (module docstring).

    Parameters
    ----------
    dataset
        Name or :class:`~geosym.data.Dataset`; inputs are rescaled to :math:`q_1^0=1`
        (uncentred) and split into ``train_samples`` / ``test_samples`` (seed 0).
    models
        Keys of :data:`MODEL_TYPES`.
    width, depth
        Hidden width M and depth L (L - 1 hidden layers), C = number of classes outputs.
    cs
        Factors c; :math:`\eta_c` is the theory's GD bound for the full training batch
        (:func:`~geosym.nn.predicted_fim_statistics`, nominal variances, torch convention).
    batches
        Batch sizes; 0 is full-batch GD. The same :math:`\eta_c` is used for every batch size.
    epochs
        ``{batch: epochs}``; default 40 for GD and 4 for minibatches.
    seeds
        Initialisations (and minibatch orders) per setting.
    track
        ``(model, batch, c)`` runs (seed 0) whose :math:`\lambda_{\max}` is measured every
        ``track_every`` epochs on ``track_samples`` training inputs.
    out
        JSON-lines file: one line per finished run; existing lines are reused (resume).

    Examples
    --------
    >>> study = learning_rate_study("digits", models=("tanh",), width=30, cs=(0.5, 4.0),
    ...                             batches=(0,), seeds=1, train_samples=100, test_samples=50,
    ...                             epochs={0: 5})
    >>> [(r.c, r.diverged) for r in study.runs]
    [(0.5, False), (4.0, True)]
    >>> study.summary()[0]["diverging_c"], study.passed
    ([4.0], True)
    """
    torch = require("torch", "torch", "learning_rate_study")
    epochs = {0: 40} | {int(b): 4 for b in batches if b} | dict(epochs or {})
    data = prepare(dataset)
    n = train_samples + test_samples
    if n > data.samples:
        raise ValueError(f"train_samples + test_samples = {n} exceeds {data.samples} samples")
    train, test = data.subset(n, seed=0).split(test_samples / n, seed=0)
    C = data.n_classes
    Xt = torch.tensor(train.X, dtype=torch.float32)
    Yt = torch.tensor(train.targets("one-hot", C), dtype=torch.float32)
    Xs = torch.tensor(test.X, dtype=torch.float32)
    Xtrack = train.X[:track_samples]
    widths = [data.dim] + [width] * (depth - 1) + [C]
    path = Path(out) if out is not None else None
    done = _resume(path)
    theory: dict[str, dict[str, float]] = {}
    runs: list[LRRun] = []
    tracked = {(m, int(b), float(c)) for m, b, c in track}
    for name in models:
        spec, sw2, sb2 = MODEL_TYPES[name]
        net0 = MLP.random(widths, spec, sw2, sb2, seed=0)
        th = predicted_fim_statistics(net0, train.X, sigma_w2=sw2, sigma_b2=sb2)
        eta_c = float(th.critical_learning_rate("torch-mse-mean"))
        theory[name] = {
            "lambda_max": float(th.lambda_max),
            "lambda_2": float(th.lambda_2),
            "eta_c_geosym": float(th.eta_critical),
            "lr_c_torch": eta_c,
            "fastest_c": float(th.fastest_learning_rate() / th.eta_critical),
            "lambda_max_track_batch": float(
                predicted_fim_statistics(net0, Xtrack, sigma_w2=sw2, sigma_b2=sb2).lambda_max
            ),
        }
        for batch in batches:
            for c in cs:
                for seed in range(seeds):
                    key = f"{name}/B{batch}/c{c:g}/s{seed}/M{width}/L{depth}/T{train_samples}"
                    if key in done:
                        runs.append(LRRun(**_run_fields(done[key])))
                        continue
                    t0 = time.perf_counter()
                    torch.manual_seed(seed)
                    net = MLP.random(widths, spec, sw2, sb2, seed=seed)
                    model = _torch_model(net, torch)
                    is_tracked = seed == 0 and (name, int(batch), float(c)) in tracked
                    curve, diverged, at, ep, lam = _train(
                        model,
                        Xt,
                        Yt,
                        lr=c * eta_c,
                        epochs=epochs[batch],
                        batch=batch,
                        seed=seed,
                        torch=torch,
                        track=(lambda m: _lambda_max(m, Xtrack)) if is_tracked else None,
                        track_every=track_every,
                    )
                    with torch.no_grad():
                        acc = float((model(Xs).argmax(1).numpy() == test.y).mean())
                    row = {
                        "key": key,
                        "model": name,
                        "batch": int(batch),
                        "c": float(c),
                        "seed": seed,
                        "lr": c * eta_c,
                        "diverged": diverged,
                        "diverged_epoch": at,
                        "final_loss": curve[-1],
                        "test_accuracy": acc if not diverged else float("nan"),
                        "loss_curve": curve,
                        "track_epochs": ep,
                        "lambda_max_curve": lam,
                    }
                    done[key] = jsonable(row)
                    _append(path, done[key])
                    runs.append(LRRun(**_run_fields(done[key])))
                    _say(
                        progress,
                        f"{key}: {'DIVERGED' if diverged else 'ok'} loss "
                        f"{curve[-1]:.4g} acc {acc:.3f} ({time.perf_counter() - t0:.1f} s)",
                    )
    return RealDataLRStudy(
        data.name, width, depth, train.samples, test.samples, epochs, theory, tuple(runs)
    )


def _run_fields(row: dict) -> dict:
    out = dict(row)
    for k in ("loss_curve", "track_epochs", "lambda_max_curve"):
        out[k] = tuple(out.get(k, ()))
    for k in ("final_loss", "test_accuracy"):
        out[k] = float("nan") if out[k] is None else float(out[k])
    return out


def _lambda_max(model: Any, X: np.ndarray) -> float:
    """Measured lambda_max of a torch model on X (float64 copy, Lanczos route)."""
    return float(fim_statistics(MLP.from_torch(model), X, method="lanczos").lambda_max)


# ---------------------------------------------------------------------------- figures
def plot_lr_study(study: RealDataLRStudy, model: str, path: str | Path) -> None:
    """Final training loss against c, one line per batch size, diverged runs marked at the top.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> study = learning_rate_study("digits", models=("tanh",), width=30, cs=(0.5, 4.0),
    ...                             batches=(0,), seeds=1, train_samples=100, test_samples=50,
    ...                             epochs={0: 3})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lr.png"
    >>> plot_lr_study(study, "tanh", path)
    >>> path.stat().st_size > 0
    True
    """
    from matplotlib.ticker import NullLocator

    from .._plot import figure

    with figure(path) as (fig, ax):
        runs = [r for r in study.runs if r.model == model]
        finite = [r.final_loss for r in runs if not r.diverged]
        top = 2 * max(finite) if finite else 1.0
        for batch in sorted({r.batch for r in runs}):
            rs = [r for r in runs if r.batch == batch]
            cs = sorted({r.c for r in rs})
            mean = [
                np.mean([top if r.diverged else r.final_loss for r in rs if r.c == c]) for c in cs
            ]
            label = "GD" if batch == 0 else f"SGD B={batch}"
            ax.plot(cs, mean, "o-", label=label)
            dv = [c for c in cs if any(r.diverged for r in rs if r.c == c)]
            ax.plot(dv, [top] * len(dv), "x", color="k")
        ax.axvline(1.0, color="k", ls="--", lw=1, label=r"$\eta=\eta_c$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted({r.c for r in runs})
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(ticks, [f"{c:g}" for c in ticks], fontsize=7)
        ax.set_xlabel(r"$c=\eta/\eta_c$")
        ax.set_ylabel("final training loss (x: diverged)")
        ax.set_title(f"{model}, {study.dataset}, M={study.width}, L={study.depth}")
        ax.legend(fontsize=7)


def plot_ratios(result: TheoryVsMeasurement, path: str | Path, stat: str = "lambda_max") -> None:
    """Theory/measured ratio of ``stat`` against width, per model type, raw vs centred.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> res = theory_vs_measurement("digits", models=("tanh",), widths=(20, 40), samples=20,
    ...                             seeds=1)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ratios.png"
    >>> plot_ratios(res, path)
    >>> path.stat().st_size > 0
    True
    """
    from .._plot import figure

    with figure(path) as (fig, ax):
        rows = result.table(stat)
        for model in sorted({r[0] for r in rows}):
            for centre, ls in ((False, "-"), (True, ":")):
                pts = [(w, m) for (mo, _d, w, c, m, _s) in rows if mo == model and c == centre]
                if pts:
                    w, m = zip(*sorted(pts), strict=True)
                    ax.plot(w, m, "o" + ls, label=f"{model}{' centred' if centre else ''}")
        ax.axhline(1.0, color="k", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("width M")
        ax.set_ylabel(f"{stat}: theory / measured")
        ax.set_title(result.dataset)
        ax.legend(fontsize=7)

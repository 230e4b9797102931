"""``geosym report``: every theory checked against simulation, as Markdown + self-contained HTML.

Each section runs experiments from :mod:`geosym.experiments` (and the transport sharpness
study), saves PNG figures, and states what was computed, the agreement, pass/fail against a
stated tolerance and its run time.  A section that raises is recorded with its error and the
others still run; :func:`build_report` returns the sections so callers (the CLI) can set the exit
status.  Everything is written to a temporary folder beside the output folder and moved into it
only at the end, so an interrupted run leaves an earlier report untouched.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import os
import shutil
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._progress import Progress
from .results import Check

if TYPE_CHECKING:
    from .experiments.fisher import FIMComparison

__all__ = ["Check", "Section", "FullRun", "build_report", "fisher_grid", "SECTIONS"]


@dataclass
class Section:
    """One section of the report: its text, figures, tables, checks, run time and any error.

    Examples
    --------
    >>> from geosym.report import Check, Section
    >>> sec = Section("fisher", "Fisher information of wide random nets")
    >>> sec.checks.append(Check("lambda_max ratio - 1", 0.04, 0.1, "finite width"))
    >>> sec.passed, sec.status
    (True, 'PASS')
    >>> sec.to_dict()["checks"][0]["name"]
    'lambda_max ratio - 1'
    """

    key: str
    title: str
    text: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    skipped: bool = False  # an optional extra is missing: nothing was checked

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.checks)

    @property
    def status(self) -> str:
        if self.skipped and self.passed:
            return "SKIP"
        return "PASS" if self.passed else ("ERROR" if self.error else "FAIL")

    def to_dict(self) -> dict:
        """Summary for ``geosym report --json`` (non-finite values are the caller's to map)."""
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "passed": self.passed,
            "seconds": self.seconds,
            "error": self.error,
            "checks": [c.to_dict() for c in self.checks],
            "figures": [name for name, _ in self.figures],
        }


@dataclass(frozen=True)
class FullRun:
    """Where ``geosym report --full`` runs its grids: passed to the sections as ``full``
    (truthy; the quick sizes get ``False``).

    ``store_dir`` holds one sweep store per grid (:mod:`geosym.sweep`), named by the grid's
    spec, so running the same full report again resumes where it stopped; ``scheduler`` is a
    running ``dask scheduler``'s address (``None``: a local cluster of ``workers`` processes,
    one per core by default; ``workers=0`` runs in this process).

    Examples
    --------
    >>> from geosym.report import FullRun
    >>> run = FullRun("report/sweeps", workers=0)  # full sizes, sweeps in this process
    >>> bool(run), run.scheduler
    (True, None)
    """

    store_dir: Path
    scheduler: str | None = None
    workers: int | None = None
    progress: bool = True


def fisher_grid(
    cases: Sequence[tuple[str, float, float]],
    widths: Sequence[int],
    seeds: int,
    run: FullRun,
    *,
    depth: int = 3,
    outputs: int = 2,
    samples: int = 10,
    seed: int = 0,
) -> list[FIMComparison | str]:
    """The Fisher width study of every ``(activation, sigma_w2, sigma_b2)`` case as one
    ``fisher-width`` sweep: cases × widths points, ``seeds`` random nets each.

    The same comparison as :func:`geosym.experiments.compare_fim` (Karakida, Akaho & Amari
    2019, Theorem 1 and eq. 17, against the Gram-matrix measurement), but each network is one
    task of :func:`geosym.sweep.sweep` and lands in a store in ``run.store_dir`` as it
    finishes.  Point seeds come from the sweep (not from ``compare_fim``'s single generator),
    so the measured values differ from an in-process ``compare_fim`` by seed noise only.

    Returns, per case in order, its :class:`~geosym.experiments.FIMComparison` (with an empty
    ``spectrum``), or the error text of its first failed point.

    Examples
    --------
    Two tiny widths in this process (``workers=0``); the store lands in ``store_dir``:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from geosym.report import FullRun, fisher_grid
    >>> run = FullRun(Path(tempfile.mkdtemp()), workers=0, progress=False)
    >>> (cmp, bad) = fisher_grid([("tanh", 1.5, 0.1), ("no_such_function(x)", 1.5, 0.1)],
    ...                          widths=(16, 32), seeds=2, run=run)
    >>> [row.width for row in cmp.rows], cmp.seeds
    ([16, 32], 2)
    >>> "no_such_function" in bad
    True
    >>> len(list(run.store_dir.glob("fisher-width-*.sqlite")))
    1
    """
    from collections import defaultdict
    from hashlib import sha256

    from .activations import activation
    from .experiments.fisher import COMPARED_STATISTICS, FIMComparison, comparison_row
    from .sweep.runner import run_spec
    from .sweep.spec import make_spec
    from .sweep.store import Store

    points = [
        {"activation": a, "sigma_w2": float(sw2), "sigma_b2": float(sb2), "width": int(m)}
        for a, sw2, sb2 in cases
        for m in widths
    ]
    fixed = {"depth": depth, "outputs": outputs, "samples": samples}
    spec = make_spec("fisher-width", points, seed=seed, seeds=seeds, fixed=fixed)
    run.store_dir.mkdir(parents=True, exist_ok=True)
    store = (
        run.store_dir / f"fisher-width-{sha256(spec.to_json().encode()).hexdigest()[:12]}.sqlite"
    )
    run_spec(spec, store, scheduler=run.scheduler, workers=run.workers, progress=run.progress)
    results: dict[tuple, list[dict]] = defaultdict(list)
    failures: dict[tuple, str] = {}
    with Store.open(store) as st:
        for row in st.rows(("done", "failed")):
            c = row["coords"]
            case = (c["activation"], c["sigma_w2"], c["sigma_b2"])
            if row["status"] == "failed":
                failures.setdefault(case, f"{c} seed {row['seed']}: {row['error']}")
            else:
                results[case, c["width"]].append(row["result"])
    out: list[FIMComparison | str] = []
    for a, sw2, sb2 in cases:
        case = (a, float(sw2), float(sb2))
        if case in failures:
            out.append(failures[case])
            continue
        rows = []
        for m in widths:
            res = results[case, int(m)]
            theory = {k: res[0][f"{k}_theory"] for k in COMPARED_STATISTICS}
            measured = {k: [r[f"{k}_measured"] for r in res] for k in COMPARED_STATISTICS}
            rows.append(comparison_row(m, theory, measured))
        out.append(
            FIMComparison(
                activation(a).name,
                float(sw2),
                float(sb2),
                depth,
                outputs,
                samples,
                (1.0,) * depth,
                seeds,
                tuple(rows),
                np.empty(0),
            )
        )
    return out


def _format_number(x: float) -> str:
    return f"{x:.4g}" if isinstance(x, (float, np.floating)) else str(x)


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------
#: the Fisher width study's widths, networks per width and tolerance on the ratios at the
#: largest width, quick and full
FISHER_WIDTHS: dict[str, tuple[tuple[int, ...], int, float]] = {
    "quick": ((200, 400, 800), 2, 0.15),
    "full": ((250, 500, 1000, 2000, 4000), 4, 0.05),
}


def _fisher(sec: Section, out: Path, full: FullRun | bool, extra: Sequence[str], say) -> None:
    from .experiments import learning_rate_sweep, loss_map
    from .meanfield import MeanField

    fisher_width_study(sec, out, full, extra, say)
    say("fisher: learning-rate sweep")
    sweep = learning_rate_sweep(
        "tanh",
        3.0,
        0.64,
        depth=3,
        width=500 if full else 300,
        samples=30,
        steps=120 if full else 60,
    )
    sec.tables.append(
        (
            "Full-batch GD at eta = c * eta_c (tanh, 3 / 0.64): eta_c = 2/lambda_max marks the onset "
            "of non-monotone loss",
            ["c", "monotone", "peak/initial", "final/initial", "diverged"],
            [
                [
                    _format_number(r.factor),
                    str(r.monotone),
                    _format_number(r.peak_ratio),
                    _format_number(r.final_ratio),
                    str(r.diverged),
                ]
                for r in sweep.rows
            ],
        )
    )
    sec.text.append(
        f"eta_c: theory {sweep.eta_critical:.4g}, measured on this network "
        f"{sweep.eta_critical_measured:.4g} (finite-width lambda_max is a few % higher)."
    )
    violations = sum(r.monotone != (r.factor < 1) for r in sweep.rows if r.factor != 1)
    sec.checks.append(
        Check(
            "GD runs breaking 'monotone for c < 1, not for c > 1'",
            float(violations),
            0.0,
            "eta_c = 2/lambda_max is where GD stops being monotone",
        )
    )
    say("fisher: loss map and phase diagram")
    lm = loss_map(
        "tanh",
        3.0,
        0.64,
        widths=(50, 100, 200) if not full else (50, 100, 200, 400),
        samples=16,
        steps=60,
    )
    lm.plot(str(out / "fisher_loss_map.png"))
    sec.figures.append(("fisher_loss_map.png", "GD loss over (M, eta) with eta = 2/lambda_max"))
    pd = MeanField("tanh", 1.0, 0.1).phase_diagram(
        np.linspace(0.5, 4, 40 if full else 20), np.linspace(0.01, 1, 20 if full else 8)
    )
    pd.plot(str(out / "fisher_phase.png"))
    sec.figures.append(("fisher_phase.png", "tanh: chi_1 phase diagram (order/chaos)"))


def fisher_width_study(
    sec: Section, out: Path, full: FullRun | bool, extra: Sequence[str], say
) -> None:
    """Theory vs measurement over widths (Karakida et al. 2019); the full grid as a sweep."""
    from .experiments import compare_fim

    widths, seeds, tol = FISHER_WIDTHS["full" if full else "quick"]
    sec.text.append(
        "Mean-field FIM statistics (Karakida, Akaho & Amari 2019) against the Gram-matrix "
        f"measurement on random MLPs: L = 3, C = 2 outputs, T = 10 samples, {seeds} networks per "
        f"width. Finite-width bias is positive and shrinks like 1/M; pass if every ratio at the "
        f"largest width is within {tol:.0%} of 1."
    )
    rows = []
    cases = [
        ("tanh", 3.0, 0.64),
        ("relu", 2.0, 0.1),
        ("erf", 1.5, 0.2),
        *[(a, 1.5, 0.1) for a in extra],
    ]
    if isinstance(full, FullRun):
        say(f"fisher: {len(cases)} x {len(widths)} x {seeds} networks as a sweep")
        comparisons = fisher_grid(cases, widths, seeds, full)
    else:
        comparisons = []
        for spec, sw2, sb2 in cases:
            say(f"fisher: {spec}")
            try:
                comparisons.append(
                    compare_fim(
                        spec,
                        sw2,
                        sb2,
                        depth=3,
                        widths=widths,
                        outputs=2,
                        samples=10,
                        seeds=seeds,
                        seed=0,
                    )
                )
            except (ValueError, ArithmeticError) as exc:
                comparisons.append(str(exc))
    for index, ((spec, sw2, sb2), cmp) in enumerate(zip(cases, comparisons, strict=True)):
        if isinstance(cmp, str):
            sec.checks.append(Check(f"{spec}: comparison ran", float("nan"), 0.0, cmp))
            sec.text.append(f"**{spec}** failed: {cmp}")
            continue
        name = f"fisher_{index}.png"
        cmp.plot(str(out / name))
        sec.figures.append((name, f"{spec} (sigma_w2={sw2}, sigma_b2={sb2}): measured/theory"))
        last = cmp.rows[-1]
        for stat, r in last.ratio.items():
            rows.append(
                [
                    spec,
                    str(last.width),
                    stat,
                    _format_number(last.theory[stat]),
                    _format_number(last.measured_mean[stat]),
                    f"{r:.3f} ± {last.ratio_se[stat]:.3f}",
                ]
            )
        dev = cmp.max_deviation()
        sec.checks.append(
            Check(f"{spec}: max |ratio - 1| at M = {last.width}", dev, tol, "finite width")
        )
    sec.tables.append(
        (
            "Largest width: theory, measurement, ratio",
            ["activation", "M", "statistic", "theory", "measured", "ratio ± s.e."],
            rows,
        )
    )


def _natgrad(sec: Section, out: Path, full: FullRun | bool, extra: Sequence[str], say) -> None:
    from .experiments import (
        measure_mean_subtraction,
        one_step_convergence,
        training_comparison,
        unit_block_check,
    )

    say("natural gradient: unit block")
    check = unit_block_check("tanh", 3.0, 0.64, samples=200_000 if full else 50_000)
    sec.text.append(
        "Unit Fisher block (Amari, Karakida & Oizumi 2019) in closed form vs its "
        "Monte-Carlo estimate on layer 1 of a random tanh net."
    )
    sec.checks.extend(check.checks())
    say("natural gradient: one-step convergence (Karakida & Osawa)")
    one = one_step_convergence(
        "relu", 2.0, 0.0, depth=3, width=1024 if full else 512, samples=64 if full else 32
    )
    sec.tables.append(
        (
            "One step at each approximation's theoretical learning rate: training residual "
            "||f - y|| after / before (and at half the rate)",
            ["method", "eta", "residual ratio", "at 0.5 eta"],
            [
                [
                    r.method,
                    _format_number(r.eta),
                    _format_number(r.residual_ratio),
                    _format_number(r.wrong_residual_ratio),
                ]
                for r in one.rows
            ],
        )
    )
    sec.checks.extend(one.checks())
    say("natural gradient: mean subtraction")
    ms = measure_mean_subtraction("tanh", 3.0, 0.64, width=2000 if full else 1000, samples=10)
    sec.text.append(
        f"Mean subtraction at the output (tanh, M = {ms.width}, T = {ms.samples}): lambda_max "
        f"{ms.lambda_max_before:.4g} -> {ms.lambda_max_after:.4g} (factor {ms.factor:.3g}; "
        f"theory {ms.theory.factor:.3g}); mean of the centred spectrum "
        f"{ms.centred_mean:.4g} vs predicted {ms.theory.lambda_max_after:.4g}."
    )
    sec.checks.extend(ms.checks())
    say("natural gradient: training comparison")
    cmp = training_comparison(
        "relu",
        2.0,
        0.1,
        depth=3,
        width=256 if full else 128,
        samples=64 if full else 32,
        max_steps=200 if full else 100,
    )
    cmp.plot(str(out / "natgrad_training.png"))
    sec.figures.append(("natgrad_training.png", "Teacher-student regression: GD vs NGD variants"))
    sec.tables.append(
        (
            "Steps and seconds to 1 % of the initial loss",
            ["method", "eta", "steps", "seconds", "final/initial"],
            [
                [
                    r.method,
                    _format_number(r.eta),
                    str(r.steps_to_threshold),
                    _format_number(r.seconds_to_threshold) if r.seconds_to_threshold else "-",
                    _format_number(r.final_loss_ratio),
                ]
                for r in cmp.rows
            ],
        )
    )
    steps = {r.method: r.steps_to_threshold for r in cmp.rows}
    ngd = steps.get("ngd")
    gd = steps.get("gd")
    sec.checks.append(
        Check(
            "steps to the threshold: exact NGD - GD (GD not reaching it counts as max_steps + 1)",
            float("nan") if ngd is None else ngd - (cmp.max_steps + 1 if gd is None else gd),
            -1.0,
            "NGD must take at least one step fewer",
        )
    )


def _committee(sec: Section, out: Path, full: FullRun | bool, extra: Sequence[str], say) -> None:
    from .committee.studies import output_angle_study
    from .experiments.committee import compare_committee

    say("committee: ODE vs SGD")
    cmp = compare_committee(
        N=1000 if full else 500, alpha_max=300 if full else 150, seeds=3 if full else 2
    )
    cmp.plot(str(out / "committee_ode_sgd.png"))
    sec.figures.append(
        ("committee_ode_sgd.png", "erf SCM K = M = 2: SGD vs ODE from the same overlaps")
    )
    sec.text.append(
        "Online SGD of a soft committee machine vs the order-parameter ODEs (Saad & Solla 1995) "
        "started from each seed's measured overlaps; compared before the plateau exit (the exit "
        "time fluctuates with SGD noise), and the SGD plateau height against the ODE's symmetric "
        "fixed point. Deviations of O(N^-1/2) are expected: tolerance 8 % at N = 500, 5 % at "
        "N = 1000."
    )
    sec.checks.extend(cmp.checks())
    say("committee: plateau vs output angle")
    rows = output_angle_study(thetas_deg=(0, 30, 60, 90), alpha_max=2000 if not full else 3000)
    sec.tables.append(
        (
            "Time to learn (eps_g < 1e-3 eps_g(0)) vs angle between teacher outputs "
            "(K = M = L = 2, erf, eta = 0.5; Yoshida et al. 2019, qualitative)",
            ["theta (deg)", "alpha to learn"],
            [[_format_number(r.theta_deg), _format_number(r.alpha_learn)] for r in rows],
        )
    )
    times = [r.alpha_learn for r in rows]
    sec.checks.append(
        Check(
            "increases of the learning time as outputs turn orthogonal",
            float(sum(b > a for a, b in zip(times[:-1], times[1:], strict=True))),
            0.0,
            "the plateau shortens monotonically (Yoshida et al. 2019)",
        )
    )


def _transport(sec: Section, out: Path, full: FullRun | bool, extra: Sequence[str], say) -> None:
    from .transport import Grid, barycenter, translation_study
    from .transport.figures import plot_divergence_limits, plot_histograms, plot_translation_study
    from .transport.shapes import bump, shape

    say("transport: translation invariance and sharpness")
    n = 200 if full else 120
    pattern = bump(n, 0.5, 0.04)
    shift_regs = (1e-2, 3e-3, 1e-3) if full else (1e-2, 2e-3)
    study = translation_study(
        pattern, shift=n // 5, regs=shift_regs, methods=("entropic", "debiased", "exact")
    )
    say("transport: sharp barycenters (up to 2000 iterations per reg)")
    with warnings.catch_warnings():  # non-convergence is recorded in the table
        warnings.simplefilter("ignore", RuntimeWarning)
        # at reg 1e-2 the sharp descent collapses q and creeps (geosym.transport.sharp,
        # "Limits"): its stall rule stops it after about 300 iterations
        sharp = translation_study(
            pattern, shift=n // 5, regs=shift_regs, methods=("sharp",), max_iter=2000
        )
    study = dataclasses.replace(study, rows=study.rows + sharp.rows)
    plot_translation_study(study, out / "transport_translation.png")
    sec.figures.append(
        (
            "transport_translation.png",
            "Barycenter of a bump shifted left and right: entropic, debiased, sharp, exact LP",
        )
    )
    sec.text.append(
        "Barycenters of a pattern shifted left and right (the exact W2 barycenter is "
        "the centred pattern): entropic (Cuturi-Doucet) barycenters blur, debiased "
        "ones (self-transport correction, Janati et al. 2020) stay sharp, sharp ones "
        "(minimisers of the transport cost of the entropic plans, Luise et al. 2018) "
        "over-concentrate at large reg, and the exact LP (scipy HiGHS) reproduces the "
        "pattern. Sharpness: FWHM / exact FWHM (1 is right, > 1 blurred, < 1 too "
        "narrow); translation error: L1 distance to the centred pattern."
    )
    sec.tables.append(
        (
            "Sharpness (FWHM / exact FWHM) and translation error (L1 to the exact barycenter)",
            ["method", "reg", "FWHM / exact", "L1 error", "converged"],
            [
                [
                    r.method,
                    _format_number(r.reg),
                    _format_number(r.fwhm / r.fwhm_exact),
                    _format_number(r.l1_error),
                    "yes" if r.converged else "no",
                ]
                for r in study.rows
            ],
        )
    )
    lp_error = study.row("exact", 0.0).l1_error
    sec.checks.append(
        Check(
            "exact LP barycenter: L1 error to the pattern",
            lp_error,
            1e-4,
            "HiGHS feasibility tolerance 1e-7 per constraint (measured 2e-6)",
        )
    )
    say("transport: 2-D barycenters")
    size = 48 if full else 32
    imgs = np.stack([shape("ring", size), shape("cross", size)])
    grid = Grid((size, size))
    # tol 1e-4: converged to what the figure shows (the L1 error blurred by the kernel is
    # ~1e-4); the remaining sub-kernel speckle of the debiased barycenter converges slowly
    # (geosym.transport.barycenter, "Stopping")
    bary = {m: barycenter(imgs, grid, 2e-3, method=m, tol=1e-4).q for m in ("entropic", "debiased")}
    plot_histograms(
        {"ring": imgs[0], "cross": imgs[1], **bary},
        out / "transport_barycenters.png",
        title="barycenter of a ring and a cross, reg 2e-3",
    )
    sec.figures.append(
        ("transport_barycenters.png", "2-D barycenters: entropic (blurred) vs debiased (sharp)")
    )
    peak = bary["debiased"].max() / bary["entropic"].max()
    sec.checks.append(
        Check("2-D: entropic barycenter peak / debiased peak", 1 / peak, 1.0, "debiasing sharpens")
    )
    say("transport: divergences against lambda")
    x = np.linspace(0, 1, 40)
    p = np.exp(-((x - 0.35) ** 2) / 0.01) + 1e-3
    q = np.exp(-((x - 0.6) ** 2) / 0.02) + 1e-3
    regs = np.geomspace(1e-3, 10, 9 if full else 6)
    plot_divergence_limits(p, q, Grid((40,)), regs, out / "transport_limits.png")
    sec.figures.append(
        (
            "transport_limits.png",
            "AKO D_lambda (W to KL) and Sinkhorn divergence (W to MMD) against lambda",
        )
    )
    for reg in shift_regs:
        e, d = study.row("entropic", reg).l1_error, study.row("debiased", reg).l1_error
        sec.checks.append(
            Check(f"reg {reg:g}: debiased L1 error / entropic", d / e, 1.0, "debiasing helps")
        )


def _real_data(sec: Section, out: Path, full: bool, extra: Sequence[str], say) -> None:
    import importlib.util

    missing = [m for m in ("torch", "mlxtend", "sklearn") if importlib.util.find_spec(m) is None]
    if missing:
        sec.text.append(f"Skipped: needs {', '.join(missing)} (pip install 'geosym[torch,data]').")
        sec.skipped = True
        return
    from .experiments.real_data import (
        C_GRID,
        learning_rate_study,
        plot_lr_study,
        plot_ratios,
        theory_vs_measurement,
    )

    dataset = "mnist-5k" if full else "digits"
    say(f"real data: theory vs measurement on {dataset}")
    ratios = theory_vs_measurement(
        dataset,
        widths=(200, 500, 1000) if full else (100, 200),
        samples=200 if full else 100,
        seeds=3 if full else 1,
    )
    sec.text.append(
        f"Mean-field FIM statistics (Karakida, Akaho & Amari 2019) predicted from the exact input "
        f"statistics of a real batch ({ratios.dataset}: q1_0 = {ratios.q1_0:.3g}, q2_0 = "
        f"{ratios.q2_0:.3g}; input-Gram lambda_max / equicorrelated = "
        f"{ratios.structure_ratio:.3g}) against the measurement, raw and centred pixels. Real "
        "inputs are not i.i.d.: m_lambda needs only q1_0 and agrees up to an O(1/M) finite-width "
        "deviation (raw pixels are nearly collinear, so the T samples do not average it out); "
        "lambda_max is underestimated on raw pixels (ratio rising towards 1 with M) and, for "
        "tanh and erf (odd, q2 of centred data about 0), badly on centred ones, where the "
        "leading principal components of the images, which the theory does not see, set it."
    )
    rows = []
    for stat in ("m_lambda", "lambda_max", "lambda_2"):
        for model, depth, width, centre, mean, spread in ratios.table(stat):
            rows.append(
                [
                    model,
                    str(depth),
                    str(width),
                    "centred" if centre else "raw",
                    stat,
                    f"{mean:.3f} ± {spread:.3f}",
                ]
            )
    sec.tables.append(
        ("Theory / measured", ["model", "L", "M", "inputs", "statistic", "ratio ± s.d."], rows)
    )
    plot_ratios(ratios, out / "real_data_ratios.png")
    sec.figures.append(("real_data_ratios.png", "lambda_max theory/measured against width"))
    say(f"real data: learning-rate study on {dataset}")
    study = learning_rate_study(
        dataset,
        width=200 if full else 100,
        cs=C_GRID if full else (0.5, 1.0, 2.0, 3.0),
        batches=(0, 1000, 200, 50) if full else (0, 50),
        seeds=3 if full else 1,
        train_samples=2000 if full else 500,
        test_samples=1000 if full else 300,
        epochs={0: 100, 1000: 10, 200: 10, 50: 10} if full else {0: 30, 50: 3},
        track=[("tanh", 0, 2.0)],
        track_samples=100,
    )
    sec.text.append(
        f"torch.optim.SGD on MSELoss() at lr = c * lr_c (lr_c from the theory, torch convention) "
        f"on {study.dataset}, M = {study.width}, L = {study.depth}, {study.train_samples} "
        "training samples; batch 0 is full-batch GD. The bound is on the initial curvature: runs "
        "above it can settle while lambda_max falls (Lewkowycz et al. 2020)."
    )
    sec.tables.append(
        (
            "Learning-rate study",
            [
                "model",
                "batch",
                "diverging c",
                "loss at c=1",
                "test acc. at c=1",
                "fastest c",
                "theory fastest c",
            ],
            [
                [
                    r["model"],
                    "GD" if r["batch"] == 0 else str(r["batch"]),
                    ", ".join(f"{c:g}" for c in r["diverging_c"]) or "none",
                    _format_number(r["loss_at_c1"]),
                    _format_number(r["accuracy_at_c1"]),
                    _format_number(r["fastest_c"]),
                    _format_number(r["theory_fastest_c"]),
                ]
                for r in study.summary()
            ],
        )
    )
    for model in study.theory:
        name = f"real_data_lr_{model}.png"
        plot_lr_study(study, model, out / name)
        sec.figures.append((name, f"{model}: final training loss against c = eta / eta_c"))
    sec.checks.extend(ratios.checks())
    sec.checks.extend(study.checks())


#: section key -> (title, function)
SECTIONS: dict[str, tuple[str, Callable]] = {
    "fisher": ("Fisher information of wide random nets", _fisher),
    "natgrad": ("Natural gradient", _natgrad),
    "committee": ("Soft committee machines", _committee),
    "transport": ("Entropic optimal transport", _transport),
    "real_data": ("Real data and PyTorch models", _real_data),
}


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def _markdown(sections: list[Section], mode: str) -> str:
    lines = [f"# geosym report ({mode})", ""]
    for s in sections:
        lines += [f"## {s.title} — {s.status} ({s.seconds:.1f} s)", ""]
        if s.error:
            lines += ["```", s.error, "```", ""]
        lines += [t + "\n" for t in s.text]
        for caption, head, rows in s.tables:
            lines += [
                f"**{caption}**",
                "",
                "| " + " | ".join(head) + " |",
                "|" + "---|" * len(head),
            ]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines.append("")
        for c in s.checks:
            lines.append(
                f"- {'✔' if c.passed else '✘'} {c.name}: {_format_number(c.value)} "
                f"(tolerance {_format_number(c.tolerance)}"
                f"{'; ' + c.why if c.why else ''})"
            )
        lines.append("")
        lines += [f"![{cap}]({name})\n" for name, cap in s.figures]
    return "\n".join(lines)


def _render_html(sections: list[Section], out: Path, mode: str) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>geosym report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
        ".PASS{color:green}.SKIP{color:#777}.FAIL,.ERROR{color:#b00}</style></head><body>",
        f"<h1>geosym report ({mode})</h1>",
    ]
    for s in sections:
        parts.append(
            f"<h2>{html.escape(s.title)} — <span class='{s.status}'>{s.status}</span> "
            f"({s.seconds:.1f} s)</h2>"
        )
        if s.error:
            parts.append(f"<pre>{html.escape(s.error)}</pre>")
        parts += [f"<p>{html.escape(t)}</p>" for t in s.text]
        for caption, head, rows in s.tables:
            parts.append(
                f"<p><b>{html.escape(caption)}</b></p><table><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in head)
                + "</tr>"
            )
            parts += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
            ]
            parts.append("</table>")
        parts.append(
            "<ul>"
            + "".join(
                f"<li class='{'PASS' if c.passed else 'FAIL'}'>{html.escape(c.name)}: "
                f"{html.escape(_format_number(c.value))} (tolerance {html.escape(_format_number(c.tolerance))}"
                f"{html.escape('; ' + c.why if c.why else '')})</li>"
                for c in s.checks
            )
            + "</ul>"
        )
        for name, cap in s.figures:
            path = out / name
            if path.exists():
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(
                    f"<figure><img src='data:image/png;base64,{data}' "
                    f"alt='{html.escape(cap)}'><figcaption>{html.escape(cap)}"
                    "</figcaption></figure>"
                )
    parts.append("</body></html>")
    return "\n".join(parts)


def build_report(
    out: str | os.PathLike,
    full: bool = False,
    activations: Sequence[str] = (),
    sections: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> list[Section]:
    """Run the sections and write ``out/index.md`` and ``out/index.html`` (figures beside them).

    The files are made in a temporary folder next to ``out`` and moved into ``out`` at the end
    (the two index files last), so an interrupted or failed run leaves ``out`` as it was. Files
    in ``out`` that this run does not write are left alone.

    With ``full=True`` the grids (the Fisher width study: activations × widths × seeds) run as
    sweeps (:mod:`geosym.sweep`): on a local Dask cluster of ``workers`` processes (default one
    per core; ``0``: in this process), or on the running ``dask scheduler`` at ``scheduler``.
    Their stores are the exception to the rule above: they are written to ``out/sweeps/`` as
    points finish and kept, so that running the same full report again after an interruption
    resumes the grid instead of recomputing it (``geosym sweep export`` reads them).  The quick
    sizes run in this process.

    Raises
    ------
    OSError
        When ``out`` cannot be created or written.
    ValueError
        Unknown section names, or ``scheduler``/``workers`` without ``full``.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.report import build_report
    >>> out = os.path.join(tempfile.mkdtemp(), "report")
    >>> sections = build_report(out, sections=["transport"], progress=lambda line: None)
    >>> [(s.key, s.status) for s in sections]
    [('transport', 'PASS')]
    >>> sorted(os.listdir(out))[:2]
    ['index.html', 'index.md']
    """
    out = Path(out)
    if not full and (scheduler is not None or workers is not None):
        raise ValueError("scheduler and workers apply to the full report only (full=True)")
    keys = list(SECTIONS) if sections is None else list(sections)
    unknown = [k for k in keys if k not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown report section(s) {unknown}; choose from {list(SECTIONS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        probe = out / ".write-test"
        probe.write_text("ok")  # fail early and clearly on an unwritable folder
        probe.unlink()
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    work.chmod(0o777 & ~umask)  # mkdtemp's 0o700 would otherwise become the report folder's
    try:
        say = progress or Progress("report")
        run = FullRun(out / "sweeps", scheduler, workers) if full else False
        results = _run_sections(work, keys, run, activations, say)
        mode = "full" if full else "quick"
        (work / "index.md").write_text(_markdown(results, mode), encoding="utf-8")
        (work / "index.html").write_text(_render_html(results, work, mode), encoding="utf-8")
        _publish(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _run_sections(
    out: Path, keys: list[str], full: FullRun | bool, activations: Sequence[str], say: Callable
) -> list[Section]:
    results = []
    for key in keys:
        title, fn = SECTIONS[key]
        sec = Section(key, title)
        start = time.perf_counter()
        # a Progress beats every 10 s while a section runs (long steps print nothing else)
        with say.stage(f"section {key}") if isinstance(say, Progress) else nullcontext():
            try:
                fn(sec, out, full, list(activations), say)
            except Exception as exc:  # noqa: BLE001 - a failing section must not stop the others
                sec.error = f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)
        sec.seconds = time.perf_counter() - start
        say(f"{key}: {sec.status} in {sec.seconds:.1f} s")
        results.append(sec)
    return results


def _publish(work: Path, out: Path) -> None:
    """Move the finished report from ``work`` into ``out``: one rename when ``out`` is new, else
    file by file with the index files last."""
    if not out.exists():
        os.replace(work, out)
        return
    names = sorted(p.name for p in work.iterdir())
    for name in sorted(names, key=lambda n: n.startswith("index.")):
        os.replace(work / name, out / name)

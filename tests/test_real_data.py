"""The real-data experiments at a tiny size: they run, resume, produce strict-JSON results, and
the structural claims hold (m_lambda needs only q1_0; GD below the bound does not diverge)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from geosym.experiments.real_data import (  # noqa: E402
    learning_rate_study,
    plot_lr_study,
    plot_ratios,
    theory_vs_measurement,
)


def test_theory_vs_measurement_small_and_resumes(tmp_path):
    out = tmp_path / "ratios.jsonl"
    res = theory_vs_measurement(
        "digits", models=("tanh",), widths=(60,), samples=40, seeds=1, out=out
    )
    assert len(res.rows) == 2 and {r.centred for r in res.rows} == {False, True}
    raw = next(r for r in res.rows if not r.centred)
    # m_lambda needs only q1_0: within 15 % at M = 60, T = 40 (finite width, one seed)
    assert raw.ratios["m_lambda"] == pytest.approx(1.0, abs=0.15)
    assert res.q2_0 > 0.5 * res.q1_0  # raw pixels: large mean overlap
    json.loads(res.to_json())
    lines = out.read_text().splitlines()
    again = theory_vs_measurement(
        "digits", models=("tanh",), widths=(60,), samples=40, seeds=1, out=out
    )
    assert out.read_text().splitlines() == lines  # nothing recomputed
    assert again.rows == res.rows
    plot_ratios(res, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 0


def test_learning_rate_study_small(tmp_path):
    study = learning_rate_study(
        "digits",
        models=("tanh",),
        width=40,
        cs=(0.5, 4.0),
        batches=(0,),
        seeds=1,
        train_samples=200,
        test_samples=100,
        epochs={0: 15},
        track=[("tanh", 0, 0.5)],
        track_every=5,
        track_samples=40,
        out=tmp_path / "lr.jsonl",
    )
    by_c = {r.c: r for r in study.runs}
    assert not by_c[0.5].diverged and by_c[4.0].diverged
    assert by_c[0.5].loss_curve[-1] < by_c[0.5].loss_curve[0]
    assert by_c[0.5].test_accuracy > 0.3  # learns (chance 0.1)
    assert by_c[0.5].track_epochs == (0, 5, 10, 15)
    assert all(np.isfinite(by_c[0.5].lambda_max_curve))
    assert study.passed
    row = study.summary()[0]
    assert row["diverging_c"] == [4.0] and row["all_converge_below_1"]
    json.loads(study.to_json())
    plot_lr_study(study, "tanh", tmp_path / "lr.png")
    with pytest.raises(ValueError, match="exceeds"):
        learning_rate_study("digits", train_samples=2000, test_samples=1000)


def test_report_real_data_section(tmp_path, monkeypatch):
    # the report section's wiring (tables, figures, checks) at a tiny size
    import geosym.experiments.real_data as rd
    from geosym import report

    t, lr = rd.theory_vs_measurement, rd.learning_rate_study
    monkeypatch.setattr(
        rd,
        "theory_vs_measurement",
        lambda ds, **k: t(ds, models=("tanh",), widths=(40,), samples=30, seeds=1),
    )
    monkeypatch.setattr(
        rd,
        "learning_rate_study",
        lambda ds, **k: lr(
            ds,
            models=("tanh",),
            width=30,
            cs=(0.5, 3.0),
            batches=(0,),
            seeds=1,
            train_samples=100,
            test_samples=50,
            epochs={0: 5},
            track=k["track"],
            track_samples=20,
        ),
    )
    (sec,) = report.build_report(tmp_path / "r", sections=["real_data"], progress=lambda s: None)
    assert sec.error is None and len(sec.checks) == 2 and len(sec.tables) == 2
    assert {name for name, _ in sec.figures} == {"real_data_ratios.png", "real_data_lr_tanh.png"}
    assert "Real data and PyTorch models" in (tmp_path / "r" / "index.md").read_text()

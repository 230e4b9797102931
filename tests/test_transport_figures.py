"""The documentation figures are produced (small sizes) and the report objects serialise."""

from __future__ import annotations

import json

import numpy as np

from geosym.transport import Grid, sinkhorn, translation_study
from geosym.transport.figures import (
    plot_divergence_limits,
    plot_histograms,
    plot_translation_study,
    plot_transport,
)
from geosym.transport.shapes import bump, shape


def test_figures_are_written(tmp_path):
    study = translation_study(bump(60, 0.5, 0.04), 12, regs=(1e-2,), tol=1e-7)
    assert json.dumps(study.to_dict(), allow_nan=False)
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.full(8, 5.0), size=2)
    res = sinkhorn(p, q, Grid((8,)), 0.05)
    assert "C_\\lambda" in res.latex()
    paths = [
        plot_translation_study(study, tmp_path / "sharp.png"),
        plot_divergence_limits(
            p, q, Grid((8,)), np.array([1e-2, 1.0, 100.0]), tmp_path / "lim.png"
        ),
        plot_transport(p, q, res.plan, tmp_path / "plan.png"),
        plot_histograms(
            {"ring": shape("ring", 16), "cross": shape("cross", 16)}, tmp_path / "imgs.png"
        ),
    ]
    for path in paths:
        assert path.stat().st_size > 3000

"""geosym.experiments.committee: online SGD of a soft committee machine against the ODEs."""

import json

from geosym.experiments.committee import compare_committee


def test_sgd_follows_the_ode_within_the_declared_tolerances(tmp_path):
    """The report's quick setting (N = 500, alpha to 150, 2 seeds): the declared checks are the
    report's: phase-I median deviation <= 8 % and plateau height within 10 % of eps*, both
    O(N^-1/2) effects at N = 500; fixed seeds."""
    cmp = compare_committee(N=500, alpha_max=150, seeds=2)
    assert len(cmp.sgd) == len(cmp.ode) == 2
    assert cmp.passed, [str(c) for c in cmp.checks()]
    d = json.loads(cmp.to_json())
    assert "sgd" not in d and "ode" not in d and d["eps_star"] > 0
    cmp.plot(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000

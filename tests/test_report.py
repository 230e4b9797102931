"""geosym report: writes HTML + Markdown with figures; failing parts are marked, not fatal."""

import pytest

from geosym.cli import main
from geosym.report import build_report


def test_quick_report_all_sections(tmp_path, capsys):
    out = tmp_path / "rep"
    status = main(["report", "--quick", "--out", str(out)])
    printed = capsys.readouterr().out
    html = (out / "index.html").read_text()
    md = (out / "index.md").read_text()
    for title in (
        "Fisher information",
        "Natural gradient",
        "Soft committee machines",
        "Entropic optimal transport",
    ):
        assert title in md and title in html
    assert html.count("data:image/png;base64,") >= 6  # self-contained figures
    assert "tolerance" in md and "(" in md
    assert status == 0, printed


def test_unknown_activation_marks_failure_but_completes(tmp_path, monkeypatch):
    import geosym.experiments as experiments

    real = experiments.compare_fim

    def small(spec, *args, **kwargs):  # the science is checked by the quick run above
        kwargs.update(widths=(60,), seeds=1)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(experiments, "compare_fim", small)
    monkeypatch.setattr(experiments, "learning_rate_sweep", lambda *a, **k: _Sweep())
    monkeypatch.setattr(experiments, "loss_map", lambda *a, **k: _Plot())
    sections = build_report(
        tmp_path, activations=["foo(x)"], sections=["fisher"], progress=lambda stage: None
    )
    (fisher,) = sections
    assert not fisher.passed and fisher.error is None
    assert any("foo(x)" in c.name and not c.passed for c in fisher.checks)
    assert any(c.name.startswith("tanh") for c in fisher.checks)  # the others still ran
    assert (tmp_path / "index.html").exists()


class _Plot:
    def plot(self, path):
        open(path, "wb").close()


class _Sweep:
    eta_critical = eta_critical_measured = 1.0
    rows = ()


def test_failing_section_is_recorded(tmp_path, monkeypatch):
    import geosym.report as report

    def boom(*args):
        raise RuntimeError("simulated failure")

    def fine(sec, *args):
        sec.checks.append(report.Check("ok", 1.0, 1.0, "always"))

    monkeypatch.setitem(report.SECTIONS, "natgrad", ("Natural gradient", boom))
    monkeypatch.setitem(report.SECTIONS, "transport", ("Transport", fine))
    sections = build_report(
        tmp_path, sections=["natgrad", "transport"], progress=lambda stage: None
    )
    assert sections[0].error and "simulated failure" in sections[0].error
    assert sections[1].passed
    assert "ERROR" in (tmp_path / "index.md").read_text()


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["report", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "geosym report: error" in err and "Traceback" not in err


def test_unknown_section():
    with pytest.raises(ValueError, match="unknown report section"):
        build_report("unused", sections=["nope"])


def test_a_section_without_its_extras_says_skip_not_pass(monkeypatch):
    """The real-data section needs torch and the data extras; without them it is SKIP (and does
    not fail the report), never a PASS that checked nothing."""
    import importlib.util

    from geosym import report

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "torch" else real_find_spec(name, *a),
    )
    sec = report.Section("real_data", "Real data")
    _, real_data = report.SECTIONS["real_data"]
    real_data(sec, None, False, (), lambda line: None)
    assert sec.skipped and sec.passed and sec.status == "SKIP"
    assert "torch" in sec.text[0]

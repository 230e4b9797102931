"""Every derivation script runs (its identities are asserted inside) and its LaTeX compiles."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "derivations"
SCRIPTS = sorted(p for p in ROOT.glob("*.py") if not p.name.startswith("_"))


def test_there_are_derivations():
    assert len(SCRIPTS) >= 2


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_derivation_runs_and_compiles(script, tmp_path):
    run = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "identities checked" in run.stdout
    tex = ROOT / "out" / f"{script.stem}.tex"
    assert tex.exists()
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed")
    shutil.copy(tex, tmp_path / tex.name)
    pdf = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pdf.returncode == 0, pdf.stdout[-2000:]

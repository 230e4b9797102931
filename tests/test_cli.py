"""The geosym console script: derive, fim, phase; errors become one line and exit status 2."""

import json
import shutil
import subprocess

import pytest

from geosym.cli import main
from geosym.cli.derive import derivation


def test_derive_json_closed_and_numeric(capsys):
    assert main(["derive", "erf", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    names = [k["name"] for k in d["kernels"]]
    assert names == [
        "q-map kernel",
        "cross map kernel",
        "backward map kernel",
        "backward cross map kernel",
        "chi_1",
    ]
    assert all(k["method"].startswith("closed form") for k in d["kernels"])
    assert main(["derive", "tanh", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert all(k["method"].startswith("quadrature") and k["error"] <= 1e-9 for k in d["kernels"])


def test_derive_text_and_fixed_point(capsys):
    assert main(["derive", "tanh", "--sigma-w2", "3", "--sigma-b2", "0.64"]) == 0
    out = capsys.readouterr().out
    assert "q* = 2.265534617" in out and "chi1 = 0.99302511" in out


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("spec", ["relu", "x*sigmoid(x)"])
def test_derive_tex_compiles(spec, tmp_path):
    tex = tmp_path / "kernels.tex"
    assert main(["derive", spec, "--tex", str(tex), "--sigma-w2", "1.5", "--sigma-b2", "0.1"]) == 0
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "kernels.pdf").stat().st_size > 1000


def test_derivation_latex_is_paper_style():
    d = derivation("erf")
    assert (
        r"\arcsin" in d["kernels"][1]["latex"]
        and "operatorname{asin}" not in d["kernels"][1]["latex"]
    )


def test_fim_theory_and_simulation(capsys, tmp_path):
    plot = tmp_path / "spec.png"
    assert (
        main(
            [
                "fim",
                "tanh",
                "--sigma-w2",
                "3",
                "--sigma-b2",
                "0.64",
                "--depth",
                "3",
                "--width",
                "200",
                "--samples",
                "8",
                "--outputs",
                "2",
                "--simulate",
                "--seeds",
                "2",
                "--json",
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert 0.85 < d["ratio"]["lambda_max"] < 1.25  # M = 200, 2 nets: finite-width scatter
    assert plot.stat().st_size > 1000


def test_phase_plot(tmp_path, capsys):
    plot = tmp_path / "phase.png"
    assert main(["phase", "relu", "--sw2", "1,3,21", "--sb2", "0,0.2,2", "--plot", str(plot)]) == 0
    assert "sigma_w2 = 2" in capsys.readouterr().out
    assert plot.stat().st_size > 1000


@pytest.mark.parametrize(
    "argv, match",
    [
        (["derive", "__import__('os')"], "not allowed"),
        (["derive", "tanh(y)"], "'y'"),
        (["derive", "tanh", "--sigma-w2", "1"], "both"),
        (
            ["fim", "tanh", "--sigma-w2", "-1", "--sigma-b2", "0", "--depth", "3", "--width", "10"],
            "sigma_w2",
        ),
        (
            ["fim", "tanh", "--sigma-w2", "1", "--sigma-b2", "0", "--depth", "3", "--width", "0"],
            "width",
        ),
        (["phase", "tanh", "--sw2", "a,b"], "sw2"),
    ],
)
def test_errors_are_one_line_with_status_2(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err and err.count("\n") == 1


def test_console_script_runs():
    exe = shutil.which("geosym")
    if exe is None:
        pytest.skip("console script not installed")
    run = subprocess.run([exe, "derive", "relu"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "sigma_w2/2" in run.stdout

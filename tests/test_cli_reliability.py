"""The command line as a careless user meets it: real file names, strict JSON, one-line errors,
honest text for missing values, Ctrl-C, progress, BLAS threads, fast start-up (issues 13, 16)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import geosym as gs
from geosym import cli
from geosym._progress import Progress
from geosym._threads import BLAS_VARIABLES, blas_threads
from geosym.cli import main
from geosym.cli._output import dumps, jsonable, output_path

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    env.update(extra)
    return env


def _strict(text: str):
    """json.loads that fails on NaN/Infinity tokens."""

    def bad(token):
        raise AssertionError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=bad)


def _one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith(f"geosym {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# ---------------------------------------------------------------------------------------------
# start-up (issue 13 item 6)
# ---------------------------------------------------------------------------------------------
_HEAVY = ("numpy", "scipy", "sympy", "matplotlib", "mpmath")


@pytest.mark.parametrize(
    "code",
    ["import geosym", "import sys; from geosym.cli import main; main(['--help'])"],
    ids=["import", "help"],
)
def test_start_up_loads_no_heavy_dependency(code):
    probe = f"{code}\nimport sys; print(sorted(m for m in {_HEAVY!r} if m in sys.modules))"
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_every_public_name_resolves_lazily():
    code = (
        "import geosym.latex\n"  # binds the submodule on the package; the name stays the function
        "import geosym\n"
        "print(geosym.latex.__module__, type(geosym.latex).__name__)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert run.stdout.split() == ["geosym.latex", "function"], run.stderr
    from geosym.activations import activation
    from geosym.latex import latex as latex_fn

    for name in gs.__all__:
        assert getattr(gs, name) is not None, name
        assert name in dir(gs)
    assert gs.latex is latex_fn and gs.activation is activation
    assert gs.committee.__name__ == "geosym.committee"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gs.nope  # noqa: B018


def test_version_and_python_m(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"geosym {gs.__version__}"
    run = subprocess.run(
        [sys.executable, "-m", "geosym", "--version"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert run.returncode == 0 and run.stdout.strip() == f"geosym {gs.__version__}"


def test_spelled_out_names_match_the_library(capsys):
    """``geosym ngd`` offers exactly the optimizers of geosym.nn (default: every method that is
    not a variant of another) and ``geosym report`` exactly the report's sections."""
    from geosym.cli.report import SECTION_KEYS
    from geosym.nn.optimizers import METHODS
    from geosym.report import SECTIONS

    args = cli.build_parser().parse_args(["ngd", "tanh", "--depth", "2", "--width", "4"])
    assert args.methods == ",".join(n for n, m in METHODS.items() if m.variant_of is None)
    argv = ["ngd", "tanh", "--depth", "2", "--width", "4", "--methods", "no-such-method"]
    assert main(argv) == 2
    err = _one_line_error(capsys, "ngd")
    assert err.rstrip().endswith("choose from " + ", ".join(METHODS))
    assert SECTION_KEYS == tuple(SECTIONS)


# ---------------------------------------------------------------------------------------------
# output files: the name written is the name printed (issue 16 §1)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def hists(tmp_path):
    x = np.linspace(0, 1, 24)
    paths = {}
    for name, centre in (("p", 0.3), ("q", 0.7)):
        paths[name] = tmp_path / f"{name}.npy"
        h = np.exp(-((x - centre) ** 2) / 0.01) + 1e-3
        np.save(paths[name], h / h.sum())
    return {k: str(v) for k, v in paths.items()}


def _plot_commands(hists):
    return {
        "phase.png": ["phase", "relu", "--sw2", "1,3,3", "--sb2", "0.1,0.2,2"],
        "ngd.png": [
            "ngd",
            "relu",
            "--depth",
            "2",
            "--width",
            "8",
            "--samples",
            "4",
            "--methods",
            "gd",
            "--max-steps",
            "3",
        ],
        "committee.png": [
            "committee",
            "erf",
            "-K",
            "1",
            "-M",
            "1",
            "--eta",
            "0.5",
            "--alpha-max",
            "2",
        ],
        "ot-distance.png": ["ot", "distance", hists["p"], hists["q"], "--reg", "0.05"],
        "ot-divergence.png": ["ot", "divergence", hists["p"], hists["q"], "--reg", "0.05"],
    }


@pytest.mark.parametrize(
    "name", ["phase.png", "ngd.png", "committee.png", "ot-distance.png", "ot-divergence.png"]
)
def test_plot_into_a_folder_writes_inside_it(name, hists, tmp_path, capsys):
    folder = tmp_path / "figs"
    folder.mkdir()
    argv = _plot_commands(hists)[name]
    assert main([*argv, "--plot", str(folder)]) == 0
    out = capsys.readouterr().out
    assert (folder / name).stat().st_size > 0
    assert not (tmp_path / "figs.png").exists()
    assert str(folder / name) in out


def test_plot_name_without_suffix_gets_png_and_says_so(tmp_path, capsys):
    target = tmp_path / "diagram"
    argv = ["phase", "relu", "--sw2", "1,3,3", "--sb2", "0.1,0.2,2", "--plot", str(target)]
    assert main(argv) == 0
    assert (tmp_path / "diagram.png").exists() and not target.exists()
    assert f"written to {target}.png" in capsys.readouterr().out


@pytest.mark.parametrize(
    "plot, match", [("x.txt", "must end in"), ("missing/x.png", "does not exist")]
)
def test_bad_plot_name_is_refused_before_work(plot, match, tmp_path, capsys):
    argv = ["phase", "relu", "--sw2", "1,3,3", "--sb2", "0.1,0.2,2"]
    assert main([*argv, "--plot", str(tmp_path / plot)]) == 2
    assert match in _one_line_error(capsys, "phase")


def test_output_path_rules(tmp_path):
    assert output_path(str(tmp_path), "a.png", "--plot") == tmp_path / "a.png"
    assert output_path(str(tmp_path / "b"), "a.png", "--plot") == tmp_path / "b.png"
    assert output_path(str(tmp_path / "b.PDF"), "a.png", "--plot") == tmp_path / "b.PDF"
    sfx = (".npy", ".png")
    assert output_path(str(tmp_path / "c"), "x.npy", "--out", sfx) == tmp_path / "c.npy"


@pytest.mark.parametrize("out, written", [("bary", "bary.npy"), ("dir/", "dir/barycenter.npy")])
def test_barycenter_out_is_the_file_written(out, written, hists, tmp_path, capsys):
    (tmp_path / "dir").mkdir()
    argv = ["ot", "barycenter", hists["p"], hists["q"], "--reg", "0.05", "--method", "entropic"]
    assert main([*argv, "--out", str(tmp_path / out), "--json"]) == 0
    record = _strict(capsys.readouterr().out)
    assert record["out"] == str(tmp_path / written)
    bary = np.load(record["out"])
    assert bary.shape == (24,) and abs(bary.sum() - 1) < 1e-6


def test_barycenter_out_with_other_suffix_is_refused(hists, tmp_path, capsys):
    argv = ["ot", "barycenter", hists["p"], hists["q"], "--out", str(tmp_path / "b.txt")]
    assert main(argv) == 2
    assert ".npy, .png" in _one_line_error(capsys, "ot")


# ---------------------------------------------------------------------------------------------
# values the user must not mistake for numbers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [-np.inf, np.nan])
def test_divergence_minus_inf_or_nan_is_an_error(value, hists, monkeypatch, capsys):
    import geosym.transport as transport

    monkeypatch.setattr(transport, "sinkhorn_divergence", lambda *a, **k: value)
    assert main(["ot", "divergence", hists["p"], hists["q"]]) == 2
    assert "--extent" in _one_line_error(capsys, "ot")


def test_divergence_plus_inf_is_a_value_null_in_json(hists, monkeypatch, capsys):
    import geosym.transport as transport

    monkeypatch.setattr(transport, "ako_divergence", lambda *a, **k: np.inf)
    assert main(["ot", "divergence", hists["p"], hists["q"], "--kind", "ako", "--json"]) == 0
    assert _strict(capsys.readouterr().out)["value"] is None


def test_complex_npy_is_refused_like_the_api(hists, tmp_path, capsys):
    z = tmp_path / "z.npy"
    np.save(z, np.load(hists["p"]) + 0.5j)
    assert main(["ot", "distance", str(z), hists["q"]]) == 2
    assert "real numbers" in _one_line_error(capsys, "ot")
    with pytest.raises(TypeError, match="real numbers"):
        gs.sinkhorn(np.load(z), np.load(hists["q"]), gs.Grid((24,)), 0.05)


def test_corrupt_png_is_one_line(hists, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert main(["ot", "distance", str(bad), str(bad)]) == 2
    assert "not a readable PNG" in _one_line_error(capsys, "ot")


# a simulated Fisher run with a single network (no standard error to print)
_FIM_ONE_SEED = (
    "fim tanh --sigma-w2 3 --sigma-b2 0.64 --depth 2 --width 20 --samples 4 --simulate --seeds 1"
).split()


@pytest.mark.parametrize(
    "argv",
    [
        ["committee", "erf", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "5", "--json"],
        [*_FIM_ONE_SEED, "--json"],
        ["phase", "relu", "--sw2", "1,3,5", "--sb2", "0,0.5,3", "--json"],
        ["derive", "0", "--json"],
        ["unit-fisher", "tanh", "--w-norm", "1", "--json"],
    ],
    ids=["committee", "fim-seeds-1", "phase-relu", "derive-0", "unit-fisher"],
)
def test_json_is_strict(argv, capsys):
    assert main(argv) == 0
    _strict(capsys.readouterr().out)


def test_jsonable_maps_non_finite_to_null():
    data = {"a": np.float64("nan"), "b": [np.inf, 1], "c": np.array([1.0, -np.inf]), 2: (3,)}
    assert jsonable(data) == {"a": None, "b": [None, 1], "c": [1.0, None], "2": [3]}
    assert dumps({"x": float("inf")}) == '{"x": null}'


def test_one_seed_prints_no_nan(capsys):
    assert main(_FIM_ONE_SEED) == 0
    out = capsys.readouterr().out
    assert "nan" not in out and "one network: no standard error" in out


def test_plateau_line_says_what_happened():
    from geosym.cli.committee import plateau_line

    nan = float("nan")
    none = {
        "start": nan,
        "end": nan,
        "length": nan,
        "height": nan,
        "eps_star": 0.01,
        "found": False,
    }
    assert "not reached" in plateau_line(none, 50) and "nan" not in plateau_line(none, 50)
    stuck = {**none, "start": 3.0, "height": 0.0101, "found": True}
    assert "not left by alpha = 50" in plateau_line(stuck, 50)
    left = {**stuck, "end": 30.0, "length": 27.0}
    assert "end 30, length 27" in plateau_line(left, 50)


def test_committee_text_has_no_nan(capsys):
    argv = ["committee", "erf", "-K", "2", "-M", "2", "--eta", "0.5", "--alpha-max", "5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "plateau:" in out and "nan" not in out


def test_committee_without_plateau(capsys):
    argv = ["committee", "erf", "-K", "1", "-M", "1", "--eta", "0.5", "--alpha-max", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "eps_g* = 0" in out and "plateau" not in out and "nan" not in out


def test_derive_undefined_kernel_is_not_called_quadrature(capsys):
    assert main(["derive", "sign(sin(x))"]) == 0
    out = capsys.readouterr().out
    for block in out.split("\n\n"):
        if "undefined" in block:
            assert "certified quadrature" not in block


# ---------------------------------------------------------------------------------------------
# usage errors, negative values
# ---------------------------------------------------------------------------------------------
_FIM = ["fim", "tanh", "--sigma-w2", "3", "--sigma-b2", "0.64", "--depth", "3", "--width", "50"]


def test_negative_list_value_needs_no_equals_sign(capsys):
    assert main([*_FIM, "--alphas", "-1,1,1"]) == 2
    err = _one_line_error(capsys, "fim")
    assert "expected one argument" not in err and "alpha" in err
    assert main([*_FIM, "--alphas", "1,1,1", "--json"]) == 0
    assert _strict(capsys.readouterr().out)["theory"]["m_lambda"] > 0


@pytest.mark.parametrize(
    "values, named",
    [(["-K", "-2", "--eta", "0.5"], "K"), (["-K", "2", "--eta", "-1e-3"], "eta")],
)
def test_negative_scientific_value_is_a_value(values, named, capsys):
    """``-K -2`` and ``--eta -1e-3`` reach the command as values (and are refused by its
    validation, naming the argument), not as unknown flags."""
    assert main(["committee", "erf", "-M", "2", "--alpha-max", "1", *values, "--json"]) == 2
    err = _one_line_error(capsys, "committee")
    assert "expected one argument" not in err and "unrecognized" not in err and named in err


@pytest.mark.parametrize(
    "argv", [["fim"], ["nope"], ["phase", "tanh", "--bogus"], [], ["--threads", "x", "phase"]]
)
def test_usage_errors_are_one_line_with_status_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "usage" not in err


# ---------------------------------------------------------------------------------------------
# interrupts, progress, atomic report
# ---------------------------------------------------------------------------------------------
def test_interrupt_is_one_line_with_what_was_completed(monkeypatch, capsys):
    import geosym.cli.phase as phase

    def run(args):
        args.progress.done("stage one")
        raise KeyboardInterrupt

    monkeypatch.setattr(phase, "run", run)
    assert main(["phase", "tanh"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted after" in err and "completed: stage one" in err


def test_ctrl_c_on_a_real_run(tmp_path):
    argv = [
        "ngd",
        "relu",
        "--depth",
        "3",
        "--width",
        "256",
        "--samples",
        "64",
        "--methods",
        "ngd",
        "--max-steps",
        "1000000",
        "--threshold",
        "1e-300",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "geosym", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    first = proc.stderr.readline()  # the progress line: the job is under way
    assert "training ngd" in first, first
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.count("\n") == 1 and "interrupted after" in err and "Traceback" not in err


def test_progress_is_quiet_for_quick_stages_and_beats_for_slow_ones(capsys):
    progress = Progress("geosym test", delay=0.05, every=0.05)
    with progress.stage("quick"):
        pass
    assert capsys.readouterr().err == ""
    with progress.stage("slow"):
        time.sleep(0.3)
    err = capsys.readouterr().err
    assert "slow ..." in err and "still running" in err and "slow: done in" in err
    assert progress.completed == ["quick", "slow"]


def _fake_sections(monkeypatch, behaviour):
    import geosym.report as report

    def section(sec, out, *args):
        (Path(out) / "fig.png").write_bytes(b"new")
        sec.checks.append(report.Check("ratio", float("nan"), 1.0))
        behaviour()

    monkeypatch.setitem(report.SECTIONS, "transport", ("Transport", section))


def test_interrupted_report_leaves_the_old_one(monkeypatch, tmp_path, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "index.md").write_text("old")
    (out / "fig.png").write_bytes(b"old")

    def interrupt():
        raise KeyboardInterrupt

    _fake_sections(monkeypatch, interrupt)
    assert main(["report", "--out", str(out), "--section", "transport"]) == 130
    assert (out / "index.md").read_text() == "old" and (out / "fig.png").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no partial folder left


def test_report_json_is_strict_and_report_replaces_files(monkeypatch, tmp_path, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "fig.png").write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    _fake_sections(monkeypatch, lambda: None)
    assert main(["report", "--out", str(out), "--section", "transport", "--json"]) == 1
    record = _strict(capsys.readouterr().out)
    (section,) = record["sections"]
    assert section["status"] == "FAIL" and section["checks"][0]["value"] is None
    assert (out / "fig.png").read_bytes() == b"new" and (out / "notes.txt").read_text() == "mine"
    assert "Transport" in (out / "index.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_new_report_folder_has_ordinary_permissions(monkeypatch, tmp_path, capsys):
    _fake_sections(monkeypatch, lambda: None)
    assert main(["report", "--out", str(tmp_path / "new"), "--section", "transport"]) == 1
    mode = (tmp_path / "new").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask


# ---------------------------------------------------------------------------------------------
# BLAS threads (issue 16 §5)
# ---------------------------------------------------------------------------------------------
def test_blas_thread_count_resolution(monkeypatch):
    for name in (*BLAS_VARIABLES, "GEOSYM_BLAS_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert blas_threads() == 1  # the default: one thread
    assert blas_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert blas_threads() is None  # the user's own BLAS setting is left alone
    monkeypatch.setenv("GEOSYM_BLAS_THREADS", "2")
    assert blas_threads() == 2
    monkeypatch.setenv("GEOSYM_BLAS_THREADS", "two")
    with pytest.raises(ValueError, match="GEOSYM_BLAS_THREADS"):
        blas_threads()
    with pytest.raises(ValueError, match=">= 1"):
        blas_threads(0)


def test_cli_sets_blas_threads_before_numpy_loads():
    code = (
        "import os, sys\n"
        "from geosym.cli import main\n"
        "main(['--threads', '2', 'derive', 'relu'])\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])\n"
    )
    env = {k: v for k, v in _env().items() if k not in BLAS_VARIABLES}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "2 2"


def test_bad_thread_count_is_a_one_line_error(capsys):
    assert main(["--threads", "0", "derive", "relu"]) == 2
    assert ">= 1" in _one_line_error(capsys, "derive")


def test_ngd_beyond_the_depth_limit_is_refused_at_once(capsys):
    # depth 100000 used to spend minutes building networks before training anything
    t0 = time.process_time()
    assert main(["ngd", "tanh", "--depth", "100000", "--width", "32", "--samples", "8"]) == 2
    assert time.process_time() - t0 < 2.0  # refused before any network is built
    assert "limited to 10000 layers" in _one_line_error(capsys, "ngd")


def test_ngd_projected_past_max_seconds_is_refused_before_training(capsys):
    argv = ["ngd", "tanh", "--depth", "3", "--width", "8", "--samples", "4"]
    assert main([*argv, "--max-seconds", "1e-9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("geosym ngd: error: training 5 method(s) on widths [8, 8 x 2, 1]")
    assert "for 100 steps each, more than max_seconds = 1e-09" in err
    assert main([*argv, "--max-seconds", "0"]) == 2
    assert "max_seconds must be > 0" in capsys.readouterr().err


def test_report_section_beats_while_a_long_step_prints_nothing(monkeypatch, tmp_path, capsys):
    # report --section transport spent up to ~20 s (loaded machine) in one step with no line
    from geosym import report

    def slow(sec, out, full, extra, say):
        say("slow: one long step")
        time.sleep(0.5)

    monkeypatch.setitem(report.SECTIONS, "transport", ("slow", slow))
    say = Progress("report", delay=0.05, every=0.1)
    (sec,) = report._run_sections(tmp_path, ["transport"], False, [], say)
    err = capsys.readouterr().err
    assert sec.status == "PASS" and "section transport: still running" in err
    assert say.completed == ["section transport"]

"""``geosym ot`` end to end: files in, numbers/JSON/figures out, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geosym import cli
from geosym.transport import Grid, barycenter, sinkhorn, sinkhorn_divergence
from geosym.transport.figures import save_image
from geosym.transport.shapes import bump, shape


@pytest.fixture
def files(tmp_path):
    paths = {
        "a": tmp_path / "a.npy",
        "b": tmp_path / "b.npy",
        "ring": tmp_path / "ring.npy",
        "cross": tmp_path / "cross.npy",
        "ring_png": tmp_path / "ring.png",
    }
    np.save(paths["a"], 2 * bump(40, 0.3, 0.06))  # sums to 2: normalised with a note
    np.save(paths["b"], bump(40, 0.7, 0.06))
    np.save(paths["ring"], shape("ring", 12))
    np.save(paths["cross"], shape("cross", 12))
    save_image(shape("ring", 12), paths["ring_png"])
    return {k: str(v) for k, v in paths.items()}


def _main(monkeypatch, argv):
    monkeypatch.setattr(cli, "COMMANDS", {"ot": ".ot"})  # only this command's module
    return cli.main(argv)


def test_distance_json_matches_library(monkeypatch, capsys, files, tmp_path):
    plot = tmp_path / "d.png"
    rc = _main(
        monkeypatch,
        ["ot", "distance", files["a"], files["b"], "--reg", "0.01", "--json", "--plot", str(plot)],
    )
    out, err = capsys.readouterr()
    assert rc == 0
    record = json.loads(out)
    ref = sinkhorn(bump(40, 0.3, 0.06), bump(40, 0.7, 0.06), Grid((40,)), 0.01)
    assert record["value"] == pytest.approx(ref.value, rel=1e-10)
    assert record["converged"] is True
    assert "a sums to 2, not 1; normalising it" in err
    assert plot.stat().st_size > 1000


def test_divergence_text_and_png_input(monkeypatch, capsys, files):
    rc = _main(
        monkeypatch, ["ot", "divergence", files["ring_png"], files["cross"], "--reg", "0.02"]
    )
    out, _ = capsys.readouterr()
    assert rc == 0
    value = float(out.split()[-1])
    ring_from_png = np.load(files["ring"])  # the PNG stores the same image up to 8-bit grey levels
    expected = sinkhorn_divergence(ring_from_png, shape("cross", 12), Grid((12, 12)), 0.02)
    assert value == pytest.approx(expected, rel=0.05)
    assert value > 0


def test_ako_divergence_infinite_is_null_in_json(monkeypatch, capsys, files):
    rc = _main(
        monkeypatch, ["ot", "divergence", files["ring"], files["cross"], "--kind", "ako", "--json"]
    )
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["value"] is None  # cross has mass off the ring


def test_barycenter_writes_output(monkeypatch, capsys, files, tmp_path):
    out_file, plot = tmp_path / "bar.npy", tmp_path / "bar.png"
    argv = [
        "ot",
        "barycenter",
        files["ring"],
        files["cross"],
        "--reg",
        "3e-3",
        "--method",
        "entropic",
    ]
    rc = _main(monkeypatch, argv + ["--out", str(out_file), "--plot", str(plot), "--json"])
    assert rc == 0
    record = json.loads(capsys.readouterr().out)
    assert record["shape"] == [12, 12] and record["out"] == str(out_file)
    expected = barycenter(
        [shape("ring", 12), shape("cross", 12)], Grid((12, 12)), 3e-3, method="entropic"
    ).q
    np.testing.assert_allclose(np.load(out_file), expected, atol=1e-6)
    assert plot.stat().st_size > 1000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ot", "distance", "{a}", "{ring}"], "has shape (12, 12) but"),
        (["ot", "distance", "{a}", "{b}", "--reg", "0"], "reg must be a finite number > 0"),
        (["ot", "distance", "{a}", "missing.npy"], "No such file"),
        (["ot", "distance", "{a}", "{b}", "--max-iter", "2"], None),
        (["ot", "distance", "{ring}", "{cross}", "--cost", "{a}"], "--cost needs 1-D histograms"),
        (["ot", "barycenter", "{ring}", "{cross}", "--weights", "1"], "weights has shape"),
        (["ot", "distance", "{a}", "b.txt"], "expected a .npy or .png file"),
    ],
)
def test_errors_are_one_line(monkeypatch, capsys, files, argv, message):
    rc = _main(monkeypatch, [a.format(**files) for a in argv])
    err = capsys.readouterr().err
    if message is None:  # non-convergence: reported as a note, exit 0
        assert rc == 0 and "did not converge in 2 iterations" in err
    else:
        assert rc == 2 and message in err and "Traceback" not in err


def test_barycenter_method_choices_are_the_solver_methods(monkeypatch, capsys, files):
    """``--method`` offers exactly the methods of :func:`geosym.transport.barycenter`."""
    from geosym.transport.barycenter import METHODS

    argv = ["ot", "barycenter", files["ring"], files["cross"], "--method", "x"]
    assert _main(monkeypatch, argv) != 0
    offered = capsys.readouterr().err.split("choose from", 1)[1].split(")", 1)[0]
    assert sorted(m.strip(" '") for m in offered.split(",")) == sorted(METHODS)

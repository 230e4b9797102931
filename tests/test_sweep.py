"""geosym.sweep with real processes: a dask scheduler and workers started here, the CLI as a
subprocess, SIGKILL of a worker and of the client, failing points, damaged and foreign stores.

Every process is started in its own session and killed (whole process group) at teardown,
whatever the outcome of the test.  The experiment is ``fisher-width`` at widths 200-300 (about
0.1 s a point, so that a kill lands mid-sweep).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from geosym.experiments.registry import EXPERIMENTS  # noqa: E402
from geosym.sweep import Store, StoreError, sweep  # noqa: E402
from geosym.sweep.export import records, to_csv  # noqa: E402
from geosym.sweep.runner import import_distributed, run_spec  # noqa: E402
from geosym.sweep.seeds import point_seed  # noqa: E402
from geosym.sweep.spec import load_spec, make_spec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
CLI = [sys.executable, "-c", "import sys; from geosym.cli import main; sys.exit(main())"]

SPEC = """
experiment = "fisher-width"
seed = 7
seeds = 3
[grid]
activation = ["tanh", "relu"]
width = [200, 300]
sigma_w2 = [1.5, 2.5]
[fixed]
depth = 2
outputs = 2
samples = 8
"""
TOTAL = 2 * 2 * 2 * 3


def _start(args: list[str], procs: list[subprocess.Popen], **kw) -> subprocess.Popen:
    p = subprocess.Popen(args, env=ENV, start_new_session=True, **kw)
    procs.append(p)
    return p


def _kill(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)  # the process and any children it started
    except ProcessLookupError:
        pass
    p.wait(timeout=30)


def _wait_for(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _done(path: Path) -> int:
    """Points committed so far, read without disturbing the writer (WAL allows readers)."""
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM points WHERE status='done'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _table(path: Path) -> dict[str, tuple]:
    """key -> (coords, rep, seed, result JSON, status, run_id, finished_at) of every point."""
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT key, coords, rep, seed, result, status, run_id, finished_at FROM points"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def _results(path: Path) -> dict[str, tuple]:
    """key -> (coords, rep, seed, result JSON): what must be bitwise equal across runs."""
    return {k: v[:4] for k, v in _table(path).items()}


class Cluster:
    """A dask scheduler and single-process workers on 127.0.0.1 (random free ports)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        sched_file = tmp / "scheduler.json"
        _start(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            self.procs,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(lambda: sched_file.exists() and sched_file.stat().st_size > 0, 60, "scheduler")
        time.sleep(0.2)  # the file is written in one go, but be sure it is complete
        self.address = json.loads(sched_file.read_text())["address"]

    def add_worker(self) -> subprocess.Popen:
        w = _start(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                self.address,
                "--no-nanny",
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
            ],
            self.procs,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers.append(w)
        return w

    def wait_workers(self) -> None:
        distributed = import_distributed()
        with distributed.Client(self.address, timeout="30s") as client:
            client.wait_for_workers(sum(w.poll() is None for w in self.workers), timeout=90)

    def close(self) -> None:
        for p in reversed(self.procs):
            _kill(p)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        c.add_worker()
        c.add_worker()
        c.wait_workers()
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "fisher.toml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, spec_file) -> Path:
    """The uninterrupted single-process run (no Dask) every distributed run must equal."""
    store = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    run = run_spec(load_spec(spec_file), store, workers=0, progress=False)
    assert (run.done, run.failed, run.total) == (TOTAL, 0, TOTAL)
    return store


def toy(a: float, b: str, seed: int) -> dict:
    """A cheap function experiment for the store and export tests."""
    return {"y": a * len(b), "noise": float(np.random.default_rng(seed).normal()), "ok": a > 1}


def _cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """The CLI in a subprocess (for the tests where the process itself matters)."""
    return subprocess.run(
        [*CLI, *args], env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )


def _main(capsys, *args: str) -> tuple[int, str, str]:
    """The CLI in this process: exit status, stdout, stderr."""
    from geosym.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _run_argv(spec_file, store, address) -> list[str]:
    """``geosym sweep run SPEC --store STORE --scheduler ADDRESS`` as a subprocess argv."""
    return [*CLI, "sweep", "run", str(spec_file), "--store", str(store), "--scheduler", address]


def test_killed_worker_sweep_completes_and_equals_single_process(
    cluster, spec_file, reference, tmp_path
):
    store = tmp_path / "s.sqlite"
    procs: list[subprocess.Popen] = []
    try:
        client = _start(
            _run_argv(spec_file, store, cluster.address),
            procs,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for(lambda: _done(store) >= 2 or client.poll() is not None, 120, "first points")
        victim = cluster.workers[0]
        _kill(victim)
        killed_at = _done(store)
        out, err = client.communicate(timeout=180)
    finally:
        for p in procs:
            _kill(p)
        cluster.add_worker()  # the next tests get two workers again
    assert client.returncode == 0, err
    assert killed_at < TOTAL, "the worker was killed after the sweep had finished"
    assert f"{TOTAL}/{TOTAL} done, 0 failed" in out
    assert _results(store) == _results(reference)  # bitwise: same JSON text per point
    assert "done" in err and "ETA" in err  # the progress line went to stderr


def test_sigkilled_client_resumes_without_recomputing(cluster, spec_file, reference, tmp_path):
    cluster.wait_workers()
    store = tmp_path / "s.sqlite"
    procs: list[subprocess.Popen] = []
    try:
        client = _start(
            _run_argv(spec_file, store, cluster.address),
            procs,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(lambda: _done(store) >= 3 or client.poll() is not None, 120, "first points")
        _kill(client)  # SIGKILL: no cleanup, no final commit
    finally:
        for p in procs:
            _kill(p)
    before = {k: v for k, v in _table(store).items() if v[4] == "done"}
    assert 3 <= len(before) < TOTAL, "the client was not killed mid-sweep"
    with Store.open(store) as st:  # the killed writer left a valid store
        assert st.counts()["done"] == len(before)
    res = _cli(
        "sweep",
        "run",
        str(spec_file),
        "--store",
        str(store),
        "--scheduler",
        cluster.address,
        "--resume",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["skipped"] == len(before)
    assert summary["computed"] == TOTAL - len(before)
    after = _table(store)
    assert {k: v[:4] for k, v in after.items()} == _results(reference)
    # the points finished before the kill are untouched: same commit time, first run's id
    assert all(after[k] == v for k, v in before.items())
    assert sum(v[5] == 2 for v in after.values()) == TOTAL - len(before)


def test_failing_point_is_recorded_and_the_others_finish(cluster, tmp_path, capsys):
    cluster.wait_workers()
    store = tmp_path / "fail.sqlite"
    run = sweep(
        "fisher-width",
        {"activation": ["tanh", "no_such_function(x)"], "width": [16, 24]},
        seeds=1,
        fixed={"depth": 2, "samples": 4},
        store=store,
        scheduler=cluster.address,
        retries=1,
        progress=False,
    )
    assert (run.total, run.done, run.failed) == (4, 2, 2)
    code, out, err = _main(capsys, "sweep", "status", str(store), "--json")
    assert code == 0, err
    status = json.loads(out)
    assert (status["total"], status["done"], status["failed"]) == (4, 2, 2)
    with Store.open(store) as st:
        failed = list(st.rows(("failed",)))
        done = list(st.rows(("done",)))
    assert {r["coords"]["activation"] for r in failed} == {"no_such_function(x)"}
    assert all("no_such_function" in r["error"] for r in failed), failed[0]["error"]
    assert all(r["attempts"] == 2 for r in failed)  # 1 + retries
    assert all(r["attempts"] == 1 and r["result"]["lambda_max_theory"] > 0 for r in done)


def test_foreign_corrupt_and_mismatched_stores_are_refused_untouched(spec_file, tmp_path, capsys):
    foreign = tmp_path / "notes.sqlite"
    foreign.write_text("my thesis notes\n")
    other_db = tmp_path / "other.sqlite"
    con = sqlite3.connect(other_db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    damaged = tmp_path / "damaged.sqlite"
    sweep(
        toy,
        {"a": [0.5, 1.0, 1.5, 2.0], "b": ["x", "yy"]},
        seeds=20,
        store=damaged,
        workers=0,
        progress=False,
    )
    data = bytearray(damaged.read_bytes())
    assert len(data) >= 3 * 4096
    data[4096:8192] = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    damaged.write_bytes(bytes(data))
    cases = {foreign: "not an SQLite database", other_db: "of another kind", damaged: "damaged"}
    for path, why in cases.items():
        original = path.read_bytes()
        with pytest.raises(StoreError, match=why):
            Store.open(path)
        code, _, err = _main(capsys, "sweep", "run", str(spec_file), "--store", str(path))
        assert code == 2 and why in err and len(err.splitlines()) == 1, err
        for action in (["status"], ["export", "--csv", str(tmp_path / "x.csv")]):
            code, _, err = _main(capsys, "sweep", *action[:1], str(path), *action[1:])
            assert code == 2 and "refusing" in err, err
        assert path.read_bytes() == original, f"{path.name} was modified"
    # a valid store of another sweep: refused with what differs, and unchanged
    good = tmp_path / "good.sqlite"
    sweep(toy, {"a": [0.5, 1.0]}, fixed={"b": "x"}, store=good, workers=0, progress=False)
    original = good.read_bytes()
    with pytest.raises(StoreError, match="different sweep.*fixed"):
        sweep(toy, {"a": [0.5, 1.0]}, fixed={"b": "yy"}, store=good, workers=0, progress=False)
    assert good.read_bytes() == original


# -- fast checks of the pieces (no cluster) -----------------------------------------------------
def test_spec_refuses_unknown_experiment_parameter_and_types(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown experiment 'fisher'.*fisher-width"):
        make_spec("fisher", {"width": [8]})
    with pytest.raises(ValueError, match="no parameter 'widht'.*width"):
        make_spec("fisher-width", {"widht": [8]})
    with pytest.raises(TypeError, match="'width' must be int, got '8'"):
        make_spec("fisher-width", {"width": ["8"]})
    with pytest.raises(ValueError, match="both in the grid and fixed"):
        make_spec("fisher-width", {"width": [8]}, fixed={"width": 16})
    with pytest.raises(ValueError, match="needs parameter.*sigma_b2"):
        make_spec("phase", {"sigma_w2": [1.0]})
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'experiment = "fisher-width"\nseed = 0\n[grid]\nwidth = [8]\ndepth = [2]\n'
        "[fixed]\nnonsense = 1\n"
    )
    store = tmp_path / "never.sqlite"
    code, _, err = _main(capsys, "sweep", "run", str(bad), "--store", str(store))
    assert code == 2 and "no parameter 'nonsense'" in err
    assert not store.exists()  # refused before anything ran


def test_point_seeds_depend_only_on_seed_and_coordinates():
    a = make_spec("fisher-width", {"width": [8, 16], "sigma_w2": [1, 2.5]}, seed=3, seeds=2)
    b = make_spec("fisher-width", {"sigma_w2": [2.5, 1.0], "width": [16, 8]}, seed=3, seeds=2)
    seeds_a = {(p.coords["width"], p.coords["sigma_w2"], p.rep): p.seed for p in a.points()}
    seeds_b = {(p.coords["width"], p.coords["sigma_w2"], p.rep): p.seed for p in b.points()}
    assert seeds_a == seeds_b  # axis order, value order and 1 vs 1.0 do not matter
    assert len(set(seeds_a.values())) == len(seeds_a)
    assert all(0 <= s < 2**63 for s in seeds_a.values())
    assert point_seed(4, {"width": 8}, 0) != point_seed(3, {"width": 8}, 0)


def test_export_csv_xarray_and_plot(tmp_path, capsys):
    xr = pytest.importorskip("xarray")
    store = tmp_path / "p.sqlite"
    grid = {"b": ["x", "yy"], "a": [0.5, 1.0, 1.5]}
    run = sweep(toy, grid, seeds=2, store=store, workers=0, progress=False)
    assert (run.done, run.total) == (12, 12)
    out = tmp_path / "p.csv"
    assert to_csv(store, out) == 12
    lines = out.read_text().splitlines()
    assert lines[0] == "b,a,rep,seed,y,noise,ok"
    assert lines[1].startswith("x,0.5,0,") and lines[1].endswith(",False")
    from geosym.sweep.export import to_xarray

    ds = to_xarray(store)
    assert isinstance(ds, xr.Dataset) and dict(ds.sizes) == {"b": 2, "a": 3, "rep": 2}
    with Store.open(store) as st:
        _, rows = records(st)
    for r in rows:  # the Dataset holds each point's values at its coordinates
        at = ds.sel(b=r["b"], a=r["a"], rep=r["rep"])
        assert (at["noise"], at["seed"], at["ok"]) == (r["noise"], r["seed"], r["ok"])
    code, _, err = _main(
        capsys,
        "sweep",
        "plot",
        str(store),
        "--x",
        "a",
        "--y",
        "noise",
        "--hue",
        "b",
        "--out",
        str(tmp_path / "chi1.png"),
    )
    assert code == 0, err
    assert (tmp_path / "chi1.png").read_bytes()[:4] == b"\x89PNG"


def test_every_registered_experiment_runs_one_point(tmp_path):
    small = {
        "fisher-width": {"width": 8, "depth": 2, "samples": 4},
        "learning-rate": {"width": 8, "depth": 2, "samples": 8, "steps": 20, "epochs": 2},
        "committee": {"N": 50, "alpha_max": 2.0},
        "phase": {"sigma_w2": 1.0, "sigma_b2": 0.1},
        "transport-translation": {"n": 60, "shift": 10, "reg": 2e-2, "bump_width": 0.03},
    }
    assert set(small) == set(EXPERIMENTS)
    for name, params in small.items():
        run = sweep(
            name, [params], store=tmp_path / f"{name}.sqlite", workers=0, retries=0, progress=False
        )
        assert run.done == 1, name
        with Store.open(tmp_path / f"{name}.sqlite") as st:
            (row,) = st.rows(("done",))
        assert row["result"] and row["geosym_version"], name


def test_missing_dask_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'geosym\[sweep\]'"):
        import_distributed()


# ------------------------------------------------------------------------------------------
# geosym report --full: its grids run through the sweep
# ------------------------------------------------------------------------------------------
def test_report_full_fisher_grid_runs_as_a_sweep_on_the_scheduler(cluster, tmp_path, monkeypatch):
    """The full report's Fisher width study (here at widths 16, 32 and 2 nets per width: the
    real sizes take minutes) is one fisher-width sweep on the given scheduler; its table holds
    the means of the stored networks; running it again recomputes nothing."""
    import geosym.report as report

    cluster.wait_workers()
    monkeypatch.setitem(report.FISHER_WIDTHS, "full", ((16, 32), 2, 0.5))
    run = report.FullRun(tmp_path / "sweeps", scheduler=cluster.address, progress=False)
    sec = report.Section("fisher", "Fisher")
    report.fisher_width_study(sec, tmp_path, run, ["no_such_function(x)"], lambda text: None)
    (store,) = (tmp_path / "sweeps").glob("fisher-width-*.sqlite")
    with Store.open(store) as st:
        counts, done, failed = st.counts(), list(st.rows(("done",))), list(st.rows(("failed",)))
    # 4 cases (tanh, relu, erf and the bad extra) x 2 widths x 2 seeds
    assert (counts["total"], counts["done"], counts["failed"]) == (16, 12, 4)
    assert {r["coords"]["activation"] for r in failed} == {"no_such_function(x)"}
    assert len(sec.figures) == 3 and len(sec.checks) == 4
    bad = sec.checks[-1]
    assert bad.name.startswith("no_such_function(x)") and not bad.passed
    (_, head, table) = sec.tables[0]
    measured = {(r[0], r[2]): float(r[4]) for r in table}  # (activation, statistic) -> value
    for act in ("tanh", "relu", "erf"):
        values = [
            r["result"]["lambda_max_measured"]
            for r in done
            if r["coords"]["activation"] == act and r["coords"]["width"] == 32
        ]
        assert len(values) == 2
        assert measured[act, "lambda_max"] == pytest.approx(np.mean(values), rel=1e-3)  # 4 digits
    before = _table(store)
    again = report.Section("fisher", "Fisher")
    report.fisher_width_study(again, tmp_path, run, ["no_such_function(x)"], lambda text: None)
    assert again.tables == sec.tables
    after = _table(store)
    assert {k: v for k, v in after.items() if v[4] == "done"} == {
        k: v for k, v in before.items() if v[4] == "done"
    }  # finished points untouched (same run id and time); the failed ones were retried


def test_report_scheduler_option_reaches_the_full_run_and_needs_full(monkeypatch, tmp_path, capsys):
    import geosym.report as report
    from geosym.cli import build_parser

    args = build_parser().parse_args(["report", "--full", "--scheduler", "tcp://10.1.2.3:8786"])
    assert args.full and args.scheduler == "tcp://10.1.2.3:8786" and args.workers is None
    seen = []

    def section(sec, out, full, extra, say):
        seen.append(full)

    monkeypatch.setitem(report.SECTIONS, "transport", ("Transport", section))
    out = tmp_path / "rep"
    code, _, err = _main(
        capsys,
        "report",
        "--full",
        "--scheduler",
        "tcp://10.1.2.3:8786",
        "--section",
        "transport",
        "--out",
        str(out),
    )
    assert code == 0, err
    (full,) = seen
    assert isinstance(full, report.FullRun) and full.scheduler == "tcp://10.1.2.3:8786"
    assert full.store_dir == out / "sweeps"
    code, _, err = _main(capsys, "report", "--section", "transport", "--out", str(out))
    assert code == 0 and seen[-1] is False  # quick: in this process, no sweep
    code, _, err = _main(
        capsys,
        "report",
        "--quick",
        "--scheduler",
        "tcp://10.1.2.3:8786",
        "--out",
        str(tmp_path / "q"),
    )
    assert code == 2 and "--full" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "q").exists()

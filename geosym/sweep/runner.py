"""Run a sweep: every unfinished point as a Dask task, each result committed as it arrives.

Execution is Dask distributed's (Rocklin 2015): by default a :class:`distributed.LocalCluster`
of worker *processes* on this machine (one thread each); with a scheduler address, a running
``dask scheduler`` anywhere.  The client keeps at most ``window`` tasks in flight, so a grid of
millions of points costs the scheduler only what is running.  A worker that dies is replaced
by Dask and its task rerun there (Dask's ``allowed-failures``); a task whose experiment raises
is submitted again up to ``retries`` times, then recorded as failed with its error text.
``workers=0`` runs the points one after another in this process (no Dask): the single-process
reference, and the baseline of the benchmark.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..experiments.registry import get_experiment
from ..results import Result
from .progress import Progress
from .spec import Point, SweepSpec, make_spec
from .store import Store
from .task import execute, execute_batch, provenance

__all__ = ["SweepRun", "sweep", "run_spec", "import_distributed"]


def import_distributed() -> Any:
    """The :mod:`distributed` module, or an ``ImportError`` naming the extra to install.

    Examples
    --------
    >>> from geosym.sweep.runner import import_distributed
    >>> import_distributed().__name__  # with the 'sweep' extra installed
    'distributed'
    """
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "geosym sweep needs dask and distributed: pip install 'geosym[sweep]'"
        ) from None
    return distributed


@dataclass(frozen=True)
class SweepRun(Result):
    """What one call of :func:`sweep` did, and the store's state afterwards.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep import sweep
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> run = sweep("fisher-width", {"width": [8, 16]}, seeds=2, store=path, workers=0,
    ...             progress=False)
    >>> run.total, run.done, run.failed, run.where
    (4, 4, 0, 'in-process')
    """

    store: str
    experiment: str
    total: int
    done: int
    failed: int
    pending: int
    computed: int  # points settled (done or failed) by this call
    skipped: int  # points already done in the store when this call started
    seconds: float
    where: str  # "in-process", "local:N" or the scheduler address


@dataclass
class _Task:
    point: Point
    params: dict[str, Any]
    attempt: int = 1


def _serial(fn: Callable[..., Any], queue: deque[_Task]) -> Iterator[tuple[_Task, dict]]:
    while queue:
        task = queue.popleft()
        yield task, execute(fn, task.params, task.point.seed)


#: a Dask task carries points until their measured run time reaches this (seconds): short points
#: (a 200-point Fisher sweep: 42 ms each) then share the scheduler's ~20 ms of CPU per task
_BATCH_SECONDS = 0.25
_MAX_BATCH = 16


def _run_on_dask(
    client: Any, fn: Callable[..., Any], queue: deque[_Task], run_id: int, window: int
) -> Iterator[tuple[_Task, dict]]:
    """Points through Dask, in batches sized from the points' measured run time (the first
    wave one point per task); an interrupted sweep loses at most the batches in flight."""
    distributed = import_distributed()
    # with_results: the loop fetches each result as its task finishes, many at a time; asking
    # each future for its result here would be one blocking round trip per point (~10-30 ms)
    done = distributed.as_completed(with_results=True, raise_errors=False)
    inflight: dict[str, list[_Task]] = {}
    walls: deque[float] = deque(maxlen=64)  # recent points' run times
    workers = _threads(client)

    def batch_size() -> int:
        if len(walls) < workers:  # nothing measured yet
            return 1
        per_point = sorted(walls)[len(walls) // 2]
        by_time = int(_BATCH_SECONDS / max(per_point, 1e-6))
        by_share = max(1, len(queue) // (2 * workers))  # keep every worker busy to the end
        return max(1, min(_MAX_BATCH, by_time, by_share))

    def top_up() -> None:
        while queue and len(inflight) < window:
            batch = [queue.popleft() for _ in range(min(batch_size(), len(queue)))]
            first = batch[0]
            key = f"geosym-sweep-r{run_id}-{first.point.key}-n{len(batch)}-a{first.attempt}"
            items = [(task.params, task.point.seed) for task in batch]
            fut = client.submit(execute_batch, fn, items, key=key, pure=False)
            inflight[fut.key] = batch
            done.add(fut)

    top_up()
    while inflight:
        fut, value = next(done)
        batch = inflight.pop(fut.key)
        if isinstance(value, list):
            outcomes = value
        else:  # Dask's error, e.g. KilledWorker: (type, exception, traceback); retried, recorded
            exc = value[1] if isinstance(value, tuple) else value
            failed = {
                "result": None,
                "error": f"{type(exc).__name__}: {exc}",
                "wall": None,
                "worker": None,
                "version": None,
                "commit": None,
            }
            outcomes = [dict(failed) for _ in batch]
        fut.release()
        for task, outcome in zip(batch, outcomes, strict=True):
            if outcome["wall"] is not None:
                walls.append(outcome["wall"])
            yield task, outcome
        top_up()


def _local_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_spec(
    spec: SweepSpec,
    store: str | os.PathLike,
    *,
    fn: Callable[..., Any] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    retries: int = 2,
    window: int | None = None,
    progress: bool = True,
) -> SweepRun:
    """Run (or resume) ``spec`` into ``store``; the engine behind :func:`sweep` and the CLI.

    ``fn`` is the point function of a function experiment (``None``: the registered one).
    Exactly one of ``client`` (a :class:`distributed.Client`), ``scheduler`` (an address) and
    ``workers`` (local worker processes; 0 = in this process) chooses where points run; by
    default a local cluster with one worker per core.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep.runner import run_spec
    >>> from geosym.sweep.spec import make_spec
    >>> spec = make_spec("fisher-width", {"width": [8]}, seeds=2)
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> first = run_spec(spec, path, workers=0, progress=False)
    >>> again = run_spec(spec, path, workers=0, progress=False)  # resumes: nothing left to do
    >>> (first.computed, first.done), (again.computed, again.skipped)
    ((2, 2), (0, 2))
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
    if sum(x is not None for x in (client, scheduler, workers)) > 1:
        raise ValueError("give at most one of client, scheduler and workers")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise ValueError(f"workers must be a non-negative integer, got {workers!r}")
    point_fn = fn if fn is not None else get_experiment(spec.experiment).fn
    defaults = {} if fn is not None else get_experiment(spec.experiment).defaults()
    start = time.perf_counter()
    with Store.open_or_create(store, spec) as st:
        before = st.counts()
        todo = st.unfinished()
        queue = deque(_Task(p, {**defaults, **spec.fixed, **p.coords}) for p in todo)
        bar = Progress(spec.experiment, before["total"], before["done"]) if progress else None
        own: list[Any] = []  # cluster/client this call created and must close
        if workers == 0:
            where = "in-process"
        elif client is not None:
            where = str(client.scheduler.address)
        else:
            distributed: Any = import_distributed() if queue else None  # used only if queue
            if scheduler is not None:
                where = scheduler
                if queue:
                    client = distributed.Client(scheduler, timeout="30s")
                    own.append(client)
            else:
                n = workers if workers is not None else _local_workers()
                where = f"local:{n}"
                if queue:
                    cluster = distributed.LocalCluster(
                        n_workers=n,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                    )
                    own.append(cluster)
                    client = distributed.Client(cluster)
                    own.insert(0, client)
        run_id = st.begin_run(where, *provenance())
        settled = 0
        try:
            if queue:
                results = (
                    _serial(point_fn, queue)
                    if workers == 0
                    else _run_on_dask(
                        client, point_fn, queue, run_id, window or max(64, 4 * _threads(client))
                    )
                )
                for task, outcome in results:
                    if outcome["error"] and task.attempt <= retries:
                        task.attempt += 1
                        queue.append(task)
                        continue
                    st.record(task.point.index, outcome, task.attempt, run_id)
                    settled += 1
                    if bar:
                        bar.update(failed=bool(outcome["error"]))
        finally:
            for obj in own:
                obj.close()
            if bar:
                bar.show(final=True)
        after = st.counts()
    return SweepRun(
        str(store),
        spec.experiment,
        after["total"],
        after["done"],
        after["failed"],
        after["pending"],
        settled,
        before["done"],
        time.perf_counter() - start,
        where,
    )


def _threads(client: Any) -> int:
    return max(1, sum(client.nthreads().values()))


def sweep(
    experiment: str | Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    *,
    seeds: int = 1,
    store: str | os.PathLike,
    client: Any = None,
    retries: int = 2,
    seed: int = 0,
    fixed: Mapping[str, Any] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> SweepRun:
    """Run an experiment over a grid on Dask, every finished point committed to ``store``.

    Parameters
    ----------
    experiment : str or callable
        A registered experiment (:data:`geosym.experiments.registry.EXPERIMENTS`, e.g.
        ``"fisher-width"``) or a function ``fn(**params, seed=int)`` returning a mapping or a
        result with ``to_dict()`` (importable on the workers, or picklable by value).
    grid : mapping of name to list, or list of mappings
        Axes whose product is the grid, or the grid points themselves.
    seeds : int, default 1
        Repetitions per grid point, each with its own seed.
    store : path
        The SQLite results store (:mod:`geosym.sweep.store`).  If it exists the sweep resumes
        (same spec only): finished points are skipped, failed and pending ones run.
    client : distributed.Client, optional
        Run on this client's cluster.  Default: a local cluster of ``workers`` processes.
    retries : int, default 2
        Extra attempts for a point whose experiment raises, before it is recorded as failed.
    seed : int, default 0
        The sweep seed: point seeds derive from it and the point's coordinates
        (:mod:`geosym.sweep.seeds`), so results do not depend on order, workers or resumption.
    fixed : mapping, optional
        Parameter values shared by every point.
    scheduler : str, optional
        Address of a running ``dask scheduler`` (instead of ``client``).
    workers : int, optional
        Local worker processes (default: one per core); ``0`` runs in this process, no Dask.
    progress : bool, default True
        Points done / failed and the ETA on stderr.

    Returns
    -------
    SweepRun

    Raises
    ------
    ValueError
        Unknown experiment or parameter, bad values (before anything runs), or a store that
        holds a different sweep or is not a sweep store (:class:`~geosym.sweep.store.StoreError`).
    ImportError
        When dask/distributed are missing (``pip install 'geosym[sweep]'``).

    Examples
    --------
    A function experiment over a 3-point grid, twice per point, in this process (``workers=0``,
    no Dask); running it again resumes and recomputes nothing:

    >>> import os, tempfile
    >>> from geosym.sweep import sweep
    >>> def noisy_square(x, seed):
    ...     return {"y": x * x, "seed_parity": seed % 2}
    >>> path = os.path.join(tempfile.mkdtemp(), "squares.sqlite")
    >>> run = sweep(noisy_square, {"x": [1, 2, 3]}, seeds=2, store=path, workers=0,
    ...             progress=False)
    >>> run.total, run.done, run.failed, run.computed
    (6, 6, 0, 6)
    >>> again = sweep(noisy_square, {"x": [1, 2, 3]}, seeds=2, store=path, workers=0,
    ...               progress=False)
    >>> again.skipped, again.computed
    (6, 0)

    A registered experiment on a local Dask cluster (one worker process per core), then on a
    running ``dask scheduler`` (the user's cluster):

    >>> sweep("fisher-width", {"activation": ["tanh", "relu"], "width": [500, 1000]},
    ...       seeds=10, store="fisher.sqlite")  # doctest: +SKIP
    >>> sweep("fisher-width", {"activation": ["tanh", "relu"], "width": [500, 1000]},
    ...       seeds=10, store="fisher.sqlite", scheduler="tcp://node0:8786")  # doctest: +SKIP
    """
    spec = make_spec(experiment, grid, seed=seed, seeds=seeds, fixed=fixed)
    return run_spec(
        spec,
        store,
        fn=None if isinstance(experiment, str) else experiment,
        client=client,
        scheduler=scheduler,
        workers=workers,
        retries=retries,
        progress=progress,
    )

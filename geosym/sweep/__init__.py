"""Sweeps: any registered experiment over a grid, on Dask, into a crash-safe results store.

What researchers run are grids — activation × σ_w² × σ_b² × depth × width × seed for the Fisher
statistics, learning rate × batch size for the learning-rate study, K, M, η × seeds for
committee machines, reg × method for transport.  :func:`sweep` (and ``geosym sweep``) runs one
point per task on Dask distributed, commits each finished point to an SQLite store as it
arrives, and resumes where it stopped::

    import geosym
    run = geosym.sweep("fisher-width",
                       {"activation": ["tanh", "relu"], "width": [50, 100, 200]},
                       seeds=4, store="fisher.sqlite")

or, from a spec file (keys in :mod:`geosym.sweep.spec`)::

    geosym sweep run fisher.toml --store fisher.sqlite            # local workers, one per core
    geosym sweep status fisher.sqlite --json                      # {"total":..,"done":..,"failed":..}
    geosym sweep export fisher.sqlite --csv fisher.csv
    geosym sweep plot fisher.sqlite --x width --y lambda_max_ratio --hue activation

The modules: :mod:`~geosym.sweep.spec` (the spec, validated before anything runs),
:mod:`~geosym.sweep.seeds` (per-point seeds from the coordinates), :mod:`~geosym.sweep.store`
(the SQLite store), :mod:`~geosym.sweep.runner` (Dask execution, retries, resumption),
:mod:`~geosym.sweep.export` (CSV, :class:`xarray.Dataset`), :mod:`~geosym.sweep.plot`.
Experiments are registered in :mod:`geosym.experiments.registry`.  ``dask`` and
``distributed`` are optional (``pip install 'geosym[sweep]'``) and imported only to run.

**Guarantees.**

* *Nothing finished is lost.*  A point is committed (one SQLite transaction, WAL mode) the
  moment its result reaches the client; ``kill -9`` of the client loses only the points in
  flight.  Running the same command again resumes: finished points are skipped, failed and
  pending ones run.  A different spec on an existing store, or a file that is not a sweep
  store, is refused and the file left untouched.
* *Same numbers however it runs.*  Point seeds come from the sweep seed and the point's
  coordinates through :class:`numpy.random.SeedSequence`, so any order, any number of workers
  and any resumption give bitwise the results of an uninterrupted single-process run
  (``--workers 0``) — with the same library versions on every worker.
* *Failures are recorded, not fatal.*  A point whose experiment raises is tried
  ``1 + retries`` times, then stored as ``failed`` with its error text; the others go on.  A
  worker that dies is replaced (local cluster) and its task rerun by Dask.

**On a cluster.**  Only the client writes the store, so the workers need no shared file
system, only the same geosym, NumPy and SciPy versions (the store records the version and
commit of every point)::

    node0$ dask scheduler --port 8786                 # prints tcp://node0:8786
    nodeK$ OPENBLAS_NUM_THREADS=1 dask worker tcp://node0:8786 --nworkers 32 --nthreads 1
    laptop$ geosym sweep run grid.toml --store grid.sqlite --scheduler tcp://node0:8786

or pass a ``distributed.Client`` of a dask-jobqueue (SLURM, PBS, ...) or Kubernetes cluster as
``client=``.  The how-to "Run a grid as a sweep" in the documentation covers these, and how far
a sweep scales: one Dask scheduler settles about a thousand tasks per second (~1 ms each)
and the store commits 12 000-16 000 points per CPU-second, so points much shorter than
(workers / 1 000) seconds leave the workers idle; this package runs one point per task (it
keeps retries, seeds and resumption exact) and does not batch them.
"""

from .runner import SweepRun, sweep
from .store import Store, StoreError

__all__ = ["sweep", "SweepRun", "Store", "StoreError"]

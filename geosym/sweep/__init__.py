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

Guarantees
----------
* **Nothing finished is lost.**  A point is committed (one SQLite transaction, WAL mode) the
  moment its result reaches the client; ``kill -9`` of the client loses only the points in
  flight.  Running the same command again resumes: finished points are skipped, failed and
  pending ones run.  A different spec on an existing store, or a file that is not a sweep
  store, is refused and the file left untouched.
* **Same numbers however it runs.**  Point seeds come from the sweep seed and the point's
  coordinates through :class:`numpy.random.SeedSequence`, so any order, any number of workers
  and any resumption give bitwise the results of an uninterrupted single-process run
  (``--workers 0``) — with the same library versions on every worker.
* **Failures are recorded, not fatal.**  A point whose experiment raises is tried
  ``1 + retries`` times, then stored as ``failed`` with its error text; the others go on.  A
  worker that dies is replaced (local cluster) and its task rerun by Dask.

Running on a cluster
--------------------
The client (``geosym sweep run``) needs network access to the scheduler, the workers need the
same geosym, NumPy and SciPy versions (the per-point ``geosym_version``/``git_commit`` in the
store records what computed each point) and nothing else: no shared file system, since only
the client writes the store.

*By hand* (any machines that can reach each other)::

    node0$ dask scheduler --port 8786                 # prints tcp://node0:8786
    nodeK$ OPENBLAS_NUM_THREADS=1 dask worker tcp://node0:8786 --nworkers 16 --nthreads 1
    laptop$ geosym sweep run grid.toml --store grid.sqlite --scheduler tcp://node0:8786

One single-threaded worker process per core (``--nthreads 1``, BLAS pinned to one thread)
is the right shape: the experiments are NumPy-bound and hold the GIL between BLAS calls.

*On a batch system* (SLURM, PBS, SGE, LSF) with ``dask-jobqueue``, from Python::

    from dask_jobqueue import SLURMCluster
    from distributed import Client
    cluster = SLURMCluster(cores=32, processes=32, memory="64GB", walltime="02:00:00")
    cluster.scale(jobs=64)                       # 64 nodes
    geosym.sweep("fisher-width", grid, store="grid.sqlite", client=Client(cluster))

*On Kubernetes* with ``dask-kubernetes`` (``KubeCluster``, same pattern) or the Dask Helm
chart (``helm install dask dask/dask``, then ``--scheduler tcp://<scheduler-service>:8786``).
Workers that are pre-empted are replaced by the batch system or Kubernetes, and Dask reruns
their tasks; if the client itself is killed, run the same command again to resume.

Scaling, on paper
-----------------
The full report grid is small by cluster standards: Fisher 4 activations × 5 widths
(250–4000) × 4 seeds = 80 points, each a Jacobian of up to 3·4000² ≈ 5·10⁷ parameters × 20
outputs (seconds to about a minute at width 4000), plus tens of learning-rate, committee,
phase and transport points (0.01–30 s).  On 64 nodes × 32 cores (2048 single-threaded workers)
it takes as long as its slowest point (the width-4000 ones, ~1 min): the wall time is set by the
critical path, not the node count, and 64 nodes are mostly idle.  Where a cluster pays off is a
research grid — e.g. 20 activations × 20 σ_w² × 10 σ_b² × 4 depths × 5 widths × 10 seeds =
800 000 points of ~0.5 s each = 400 000 core-seconds: 2048 cores finish in ~200 s of compute,
i.e. ~4 000 points per second settle at the client.  Then the limits are

* **the scheduler**: Dask's scheduler spends roughly 0.2–1 ms per task (Dask documentation,
  "Dask Best Practices: avoid very large graphs"), i.e. it saturates at ~1 000–5 000 tasks/s —
  right at this grid's rate; points shorter than ~0.5 s on 2048 cores, or more cores, need
  batching several points per task (not implemented; the per-point task is simplest and fine
  up to that rate);
* **the store**: one SQLite commit in WAL mode with ``synchronous=NORMAL`` costs ~20–100 µs
  on a local disk (10 000–50 000 commits/s), and each stored point takes a few hundred bytes
  (the Fisher point: see the benchmark), so 800 000 points are ~0.3 GB and the store is not the
  limit; on a network file system (NFS) commits are 10–100× slower and locking is unreliable —
  keep the store on the client's local disk;
* **the client**: it holds at most ``window`` futures (4 per worker thread, at least 64) and
  parses one small JSON per point, so its memory does not grow with the grid; its CPU becomes
  the limit near the scheduler's rate.
"""

from .runner import SweepRun, sweep
from .store import Store, StoreError

__all__ = ["sweep", "SweepRun", "Store", "StoreError"]

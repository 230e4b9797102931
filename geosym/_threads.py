"""How many threads the BLAS under NumPy may use (private; set by the ``geosym`` CLI).

Most of geosym's hot paths are small matrix products, where a threaded BLAS only spins: on a
loaded 2-core machine OpenBLAS's default thread count made ``geosym report --quick`` up to 5x
and the README's ``ngd`` command up to 9x slower than one thread (``tests/benchmarks/bench_cli_threads.py``).
The CLI therefore uses one BLAS thread unless told otherwise: ``--threads N``, or
``GEOSYM_BLAS_THREADS=N``, or any of the BLAS libraries' own variables (``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), which are then left alone.
"""

from __future__ import annotations

import os
import sys

__all__ = ["BLAS_VARIABLES", "blas_threads", "limit_blas_threads"]

BLAS_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def blas_threads(requested: int | None = None) -> int | None:
    """The thread count to use: ``requested``, else ``GEOSYM_BLAS_THREADS``, else 1 — or ``None``
    (leave the BLAS alone) when the user set one of :data:`BLAS_VARIABLES` and nothing else."""
    if requested is None:
        text = os.environ.get("GEOSYM_BLAS_THREADS", "").strip()
        if text:
            try:
                requested = int(text)
            except ValueError:
                raise ValueError(
                    f"GEOSYM_BLAS_THREADS must be a whole number >= 1, got {text!r}"
                ) from None
        elif any(os.environ.get(v) for v in BLAS_VARIABLES):
            return None
        else:
            requested = 1
    if requested < 1:
        raise ValueError(f"the BLAS thread count must be >= 1, got {requested}")
    return requested


def limit_blas_threads(n: int) -> str:
    """Limit the BLAS to ``n`` threads; returns how: ``"environment"`` (NumPy not loaded yet:
    the BLAS reads the variables when it starts), ``"threadpoolctl"`` (loaded, the optional
    ``threadpoolctl`` package is installed) or ``"unchanged"`` (loaded, no threadpoolctl)."""
    if "numpy" not in sys.modules:
        for name in BLAS_VARIABLES:
            os.environ[name] = str(n)
        return "environment"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "unchanged"
    threadpool_limits(n, user_api="blas")
    return "threadpoolctl"

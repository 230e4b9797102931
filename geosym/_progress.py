"""Progress of a long job on stderr, and the record of what it completed (private).

A stage that ends within ``delay`` seconds prints nothing; a longer one prints its name, then a
heartbeat every ``every`` seconds, then its end, so the user of a slow command sees that it is
working without quick commands getting chatty. :attr:`Progress.completed` is what an interrupt
message reports.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Progress"]


class Progress:
    """``with progress.stage("ngd: training"): ...``; ``progress("text")`` prints a line now."""

    def __init__(self, label: str = "geosym", delay: float = 2.0, every: float = 10.0) -> None:
        self.label = label
        self.delay = delay
        self.every = every
        self.start = time.perf_counter()
        self.completed: list[str] = []
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def __call__(self, text: str) -> None:
        with self._lock:
            print(f"{self.label}: [{self.elapsed():6.1f} s] {text}", file=sys.stderr, flush=True)

    def done(self, text: str) -> None:
        """Record a finished piece of work (named in the interrupt message)."""
        self.completed.append(text)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Run a stage; announce it only if it outlasts ``delay`` seconds, then beat."""
        stop = threading.Event()
        shown = threading.Event()
        t0 = time.perf_counter()

        def beat() -> None:
            wait = self.delay
            while not stop.wait(wait):
                self(
                    f"{name} ..."
                    if not shown.is_set()
                    else f"{name}: still running ({time.perf_counter() - t0:.0f} s)"
                )
                shown.set()
                wait = self.every

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        if shown.is_set():
            self(f"{name}: done in {time.perf_counter() - t0:.1f} s")
        self.done(name)

"""A progress line for a running sweep on stderr: points done / failed, rate and ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """``sweep NAME: 37/200 done, 1 failed | 12 s, ETA 48 s`` — redrawn in place on a terminal,
    otherwise one line at most every ``interval`` seconds (and at the end)."""

    def __init__(
        self,
        name: str,
        total: int,
        done: int,
        stream: TextIO | None = None,
        interval: float = 5.0,
    ) -> None:
        self.name, self.total, self.done, self.failed = name, total, done, 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.2 if self.tty else interval
        self.start = time.perf_counter()
        self.settled = 0  # points settled by this run (the rate's numerator)
        self.remaining = total - done
        self._last = -float("inf")

    def update(self, failed: bool) -> None:
        """Count one settled point (points that failed in an earlier run are run again)."""
        self.settled += 1
        self.remaining -= 1
        self.failed += int(failed)
        self.done += int(not failed)
        self.show()

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        eta = (
            _duration(elapsed / self.settled * self.remaining)
            if self.settled and self.remaining
            else ("0 s" if not self.remaining else "?")
        )
        return (
            f"sweep {self.name}: {self.done}/{self.total} done, {self.failed} failed | "
            f"{_duration(elapsed)}, ETA {eta}"
        )

    def show(self, final: bool = False) -> None:
        now = time.perf_counter()
        if not final and now - self._last < self.interval:
            return
        self._last = now
        end = "\n" if final or not self.tty else ""
        prefix = "\r\033[K" if self.tty else ""
        print(prefix + self.line(), end=end, file=self.stream, flush=True)

"""The results store: one SQLite file per sweep, written by the sweep's client process only.

Why SQLite (Python's :mod:`sqlite3`, no server): every finished point is one committed
transaction, and in WAL mode (``journal_mode=WAL``) a transaction is either wholly in the
database or not at all, whatever happens to the writing process — ``kill -9`` included; the
next open replays the committed part of the write-ahead log.  ``synchronous=NORMAL`` is used:
a process crash loses nothing committed; a power failure or OS crash may lose the last few
commits but never corrupts the file (the SQLite documentation, "Write-Ahead Logging").  Workers
never touch the file; they return their result to the client, which writes it, so the store
needs no shared file system and no locking across machines.

Layout (schema 1)
-----------------
``meta(key, value)``
    ``format = "geosym-sweep"``, ``schema = "1"``, ``spec`` (JSON of the
    :class:`~geosym.sweep.spec.SweepSpec`; a spec is "the same" when it decodes to an equal
    value, so the order of axes in the file does not matter, the order of values does),
    ``created`` (UTC ISO time).
``points``
    One row per task, inserted when the store is created: ``idx`` (order in the grid),
    ``key``, ``coords`` (JSON), ``rep``, ``seed``, ``status`` (``pending``, ``done`` or
    ``failed``), ``result`` (the result's fields as strict JSON), ``error``, ``attempts``
    (executions in the run that settled it), ``run_id``, ``wall_time`` (seconds on the worker),
    ``worker`` (host:pid), ``finished_at`` (Unix time), ``geosym_version`` and ``git_commit``
    (of the worker that computed it).
``runs``
    One row per ``sweep run``/resume: start time, geosym version and git commit of the client,
    where it ran (``local:N`` workers, ``in-process`` or the scheduler address).

An existing file that is not such a store — another program's file, an SQLite database of
another kind, a damaged store (``PRAGMA quick_check``) — is refused with :class:`StoreError`
and left byte-for-byte as it is; a new store is written to a temporary file and linked into
place only when complete, so a store is never half-created.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .spec import Point, SweepSpec

__all__ = ["Store", "StoreError"]

FORMAT = "geosym-sweep"
SCHEMA = "1"
_MAGIC = b"SQLite format 3\x00"

_SCHEMA_SQL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY, started_at REAL NOT NULL, where_run TEXT NOT NULL,
    geosym_version TEXT, git_commit TEXT
);
CREATE TABLE points (
    idx INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, coords TEXT NOT NULL,
    rep INTEGER NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    run_id INTEGER REFERENCES runs(run_id), wall_time REAL, worker TEXT, finished_at REAL,
    geosym_version TEXT, git_commit TEXT
);
CREATE INDEX points_status ON points(status);
"""


class StoreError(ValueError):
    """The file is not a geosym sweep store, is damaged, or holds a different sweep.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep import Store, StoreError
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("not a store")
    >>> try:
    ...     Store.open(path)
    ... except StoreError as err:
    ...     print("refused:", "not a geosym sweep store" in str(err))
    refused: True
    """


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}"
    con = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    if not readonly:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
    return con


def _check_store_file(path: Path) -> str:
    """Validate an existing store file read-only; its spec JSON, or :class:`StoreError`."""
    refuse = f"{path} is not a geosym sweep store"
    if not path.is_file():
        raise StoreError(f"{refuse} (not a regular file); refusing to touch it")
    with open(path, "rb") as f:
        if f.read(len(_MAGIC)) != _MAGIC:
            raise StoreError(f"{refuse} (not an SQLite database); refusing to overwrite it")
    try:
        con = _connect(path, readonly=True)
        try:
            check = con.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                raise StoreError(
                    f"{path} is damaged (SQLite integrity check: {check[0][0]}); refusing to use "
                    "it — move it aside to start a new sweep"
                )
            tables = {
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not {"meta", "points", "runs"} <= tables:
                raise StoreError(
                    f"{refuse} (an SQLite database of another kind); refusing to touch it"
                )
            meta = dict(con.execute("SELECT key, value FROM meta"))
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path} is damaged or not a geosym sweep store ({exc}); refusing to touch it"
        ) from None
    if meta.get("format") != FORMAT:
        raise StoreError(f"{refuse} (meta format {meta.get('format')!r}); refusing to touch it")
    if meta.get("schema") != SCHEMA:
        raise StoreError(
            f"{path} is a geosym sweep store of schema {meta.get('schema')!r}; this geosym reads "
            f"schema {SCHEMA}"
        )
    return meta["spec"]


def _describe_difference(stored: dict[str, Any], given: dict[str, Any]) -> str:
    keys = [k for k in given if stored.get(k) != given.get(k)]
    return "; ".join(f"{k}: store has {stored.get(k)!r}, spec has {given.get(k)!r}" for k in keys)


class Store:
    """An open sweep store (module docstring).  Use :meth:`open` or :meth:`create`.

    Examples
    --------
    >>> import os, tempfile
    >>> from geosym.sweep import sweep
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> run = sweep("fisher-width", {"width": [8, 16]}, seeds=2, store=path, workers=0,
    ...             progress=False)
    >>> from geosym.sweep import Store
    >>> store = Store.open(path)
    >>> store.counts()
    {'total': 4, 'done': 4, 'failed': 0, 'pending': 0}
    >>> len(list(store.rows()))
    4
    >>> store.close()
    """

    def __init__(self, path: Path, con: sqlite3.Connection, spec_json: str) -> None:
        self.path = path
        self._con = con
        self.spec: dict[str, Any] = json.loads(spec_json)

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, spec: SweepSpec | None = None) -> Store:
        """Open an existing store; with ``spec``, refuse it unless it holds that same sweep.

        Examples
        --------
        >>> import os, tempfile
        >>> from geosym.sweep import Store
        >>> from geosym.sweep.spec import make_spec
        >>> path = os.path.join(tempfile.mkdtemp(), "s.sqlite")
        >>> Store.create(path, make_spec("phase", {"sigma_w2": [1.0, 2.0]},
        ...                               fixed={"sigma_b2": 0.1})).close()
        >>> with Store.open(path) as st:
        ...     st.counts()
        {'total': 2, 'done': 0, 'failed': 0, 'pending': 2}
        >>> Store.open(path, make_spec("phase", {"sigma_w2": [3.0]}, fixed={"sigma_b2": 0.1}))
        Traceback (most recent call last):
        ...
        geosym.sweep.store.StoreError: ... holds a different sweep ...
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no sweep store at {path}")
        stored = _check_store_file(path)
        if spec is not None and json.loads(stored) != json.loads(spec.to_json()):
            raise StoreError(
                f"{path} holds a different sweep ({_describe_difference(json.loads(stored), spec.to_dict())}); "
                "use another --store path, or the original spec to resume"
            )
        return cls(path, _connect(path), stored)

    @classmethod
    def create(cls, path: str | os.PathLike, spec: SweepSpec) -> Store:
        """Create a store for ``spec`` at ``path`` (which must not exist), all points pending."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA_SQL)
            con.execute("BEGIN")
            con.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("format", FORMAT),
                    ("schema", SCHEMA),
                    ("spec", spec.to_json()),
                    ("created", datetime.now(timezone.utc).isoformat(timespec="seconds")),
                ],
            )
            con.executemany(
                "INSERT INTO points (idx, key, coords, rep, seed) VALUES (?, ?, ?, ?, ?)",
                (
                    (p.index, p.key, json.dumps(p.coords, allow_nan=False), p.rep, p.seed)
                    for p in spec.points()
                ),
            )
            con.execute("COMMIT")
        finally:
            con.close()
        try:
            os.link(tmp, path)  # never replaces an existing file
        except FileExistsError:
            raise StoreError(f"{path} appeared while the store was being created") from None
        finally:
            tmp.unlink(missing_ok=True)
        return cls(path, _connect(path), spec.to_json())

    @classmethod
    def open_or_create(cls, path: str | os.PathLike, spec: SweepSpec) -> Store:
        """Resume the store at ``path`` if it exists (same spec only), else create it."""
        return cls.open(path, spec) if Path(path).exists() else cls.create(path, spec)

    def close(self) -> None:
        """Close the connection (checkpoints the write-ahead log)."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing (the client only) ----------------------------------------------------------
    def begin_run(self, where: str, version: str | None, commit: str | None) -> int:
        """Record the start of a run or resume; its id."""
        cur = self._con.execute(
            "INSERT INTO runs (started_at, where_run, geosym_version, git_commit) "
            "VALUES (?, ?, ?, ?)",
            (time.time(), where, version, commit),
        )
        assert cur.lastrowid is not None  # set by every INSERT
        return cur.lastrowid

    def unfinished(self) -> list[Point]:
        """The points not yet done (pending or failed), in grid order."""
        rows = self._con.execute(
            "SELECT idx, coords, rep, key, seed FROM points WHERE status != 'done' ORDER BY idx"
        )
        return [Point(i, json.loads(c), rep, key, seed) for i, c, rep, key, seed in rows]

    def record(self, index: int, outcome: dict[str, Any], attempts: int, run_id: int) -> None:
        """Commit one settled point: ``done`` with its result, or ``failed`` with its error."""
        self._con.execute(
            "UPDATE points SET status = ?, result = ?, error = ?, attempts = ?, run_id = ?, "
            "wall_time = ?, worker = ?, finished_at = ?, geosym_version = ?, git_commit = ? "
            "WHERE idx = ?",
            (
                "failed" if outcome["error"] else "done",
                outcome["result"],
                outcome["error"],
                attempts,
                run_id,
                outcome["wall"],
                outcome["worker"],
                time.time(),
                outcome["version"],
                outcome["commit"],
                index,
            ),
        )

    # -- reading ----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """``total``, ``done``, ``failed`` and ``pending`` point counts."""
        out = {"total": 0, "done": 0, "failed": 0, "pending": 0}
        for status, n in self._con.execute("SELECT status, COUNT(*) FROM points GROUP BY status"):
            out[status] = n
            out["total"] += n
        return out

    def compute_seconds(self) -> float:
        """Total worker time of the finished points."""
        return float(
            self._con.execute(
                "SELECT COALESCE(SUM(wall_time), 0) FROM points WHERE status = 'done'"
            ).fetchone()[0]
        )

    def rows(self, statuses: Iterable[str] = ("done",)) -> Iterator[dict[str, Any]]:
        """Every point with one of ``statuses``, in grid order, as a dictionary of its columns
        (``coords`` and ``result`` decoded from JSON)."""
        statuses = tuple(statuses)
        cur = self._con.execute(
            f"SELECT * FROM points WHERE status IN ({','.join('?' * len(statuses))}) ORDER BY idx",
            statuses,
        )
        names = [d[0] for d in cur.description]
        for values in cur:
            row = dict(zip(names, values, strict=True))
            row["coords"] = json.loads(row["coords"])
            row["result"] = json.loads(row["result"]) if row["result"] is not None else None
            yield row

    def runs(self) -> list[dict[str, Any]]:
        """The runs and resumes of this sweep, oldest first."""
        cur = self._con.execute("SELECT * FROM runs ORDER BY run_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur]

"""A response cache in one SQLite file, shared by threads and processes."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from scmreader.cache._errors import CacheError
from scmreader.cache._types import CachedResponse

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Reading an entry refreshes its last-use time at most this often (fewer writes).
_TOUCH_INTERVAL = 60.0

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    size INTEGER NOT NULL,
    accessed REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_accessed ON responses (accessed);
"""

# Entries beyond the byte budget, least recently used first (a running total over the
# entries ordered from the most recently used).
_EVICT = """
DELETE FROM responses WHERE key IN (
    SELECT key FROM (
        SELECT key, SUM(size) OVER (ORDER BY accessed DESC, key ROWS UNBOUNDED PRECEDING)
            AS running
        FROM responses
    ) WHERE running > ?
)
"""


class SqliteCache:
    """Entries in a SQLite database file (WAL journal), evicted least-recently-used first
    once their sizes add up to more than ``max_bytes``.

    Threads share one connection behind a lock (an operation takes well under a millisecond
    next to an HTTP request); a forked child opens its own. SQLite's file locks make it safe
    for several processes to share one file. A new file is created readable by its owner
    only (0600), in a folder created 0700 when missing. Nothing is opened until first use.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("SqliteCache needs max_bytes of at least 1")
        self.path = Path(path).expanduser()
        self.max_bytes = max_bytes
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0

    # --- the ResponseCache protocol -------------------------------------------------

    def get(self, key: str) -> CachedResponse | None:
        """The entry under ``key``, or None (also for an entry that cannot be decoded)."""

        def op(db: sqlite3.Connection) -> CachedResponse | None:
            row = db.execute(
                "SELECT value, accessed FROM responses WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            value, accessed = row
            try:
                entry = CachedResponse.from_bytes(bytes(value))
            except ValueError:
                db.execute("DELETE FROM responses WHERE key = ?", (key,))
                return None
            now = self._clock()
            if now - accessed > _TOUCH_INTERVAL:
                db.execute("UPDATE responses SET accessed = ? WHERE key = ?", (now, key))
            return entry

        return self._run("read", op)

    def set(self, key: str, value: CachedResponse) -> None:
        """Store ``value``; evict the least recently used entries beyond ``max_bytes``."""
        data = value.to_bytes()
        if len(data) > self.max_bytes:
            self.delete(key)
            return

        def op(db: sqlite3.Connection) -> None:
            with _transaction(db):
                db.execute(
                    "INSERT OR REPLACE INTO responses (key, value, size, accessed) "
                    "VALUES (?, ?, ?, ?)",
                    (key, data, len(data), self._clock()),
                )
                (total,) = db.execute("SELECT total(size) FROM responses").fetchone()
                if total > self.max_bytes:
                    db.execute(_EVICT, (self.max_bytes,))

        self._run("write", op)

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._run("write", lambda db: db.execute("DELETE FROM responses WHERE key = ?", (key,)))

    def clear(self) -> None:
        """Forget every entry."""
        self._run("write", lambda db: db.execute("DELETE FROM responses"))

    # --- more ------------------------------------------------------------------------

    def __len__(self) -> int:
        count: int = self._run(
            "read", lambda db: db.execute("SELECT count(*) FROM responses").fetchone()[0]
        )
        return count

    @property
    def total_bytes(self) -> int:
        """The summed size of the stored entries."""
        total: float = self._run(
            "read", lambda db: db.execute("SELECT total(size) FROM responses").fetchone()[0]
        )
        return int(total)

    def close(self) -> None:
        """Close the connection (the next use opens it again)."""
        with self._lock:
            db, self._db = self._db, None
        if db is not None and self._pid == os.getpid():
            try:
                db.close()
            except sqlite3.Error:
                pass

    def __repr__(self) -> str:
        return f"SqliteCache(path={str(self.path)!r}, max_bytes={self.max_bytes})"

    # --- connections -------------------------------------------------------------------

    def _run(self, doing: str, op: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            with self._lock:
                return op(self._connection())
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(
                f"The SQLite response cache {self.path} could not {doing} "
                f"({type(exc).__name__}: {exc}); check that the file is writable and not "
                "corrupt, or delete it (it is only a cache)."
            ) from None

    def _connection(self) -> sqlite3.Connection:
        """The open connection (called with the lock held); a forked child opens its own."""
        pid = os.getpid()
        if self._db is None or self._pid != pid:
            self._db, self._pid = self._open(), pid
        return self._db

    def _open(self) -> sqlite3.Connection:
        if not self.path.exists():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        # isolation_level=None: autocommit, with explicit transactions where needed.
        db = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")

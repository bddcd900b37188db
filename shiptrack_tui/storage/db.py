"""The connection: a private file (0600), WAL, and the pragmas every connection needs (DESIGN §4).

Each `Store` owns one `SqliteDatabase`; peewee keeps one connection per thread on it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from peewee import SqliteDatabase

from shiptrack_tui.storage.connections import OpenConnections
from shiptrack_tui.storage.dialect import SQLITE, Dialect

BUSY_TIMEOUT_SECONDS: Final = 10.0

PRAGMAS: Final = (
    ("journal_mode", "wal"),
    ("synchronous", "NORMAL"),
    ("foreign_keys", 1),
    # After a checkpoint resets the log, SQLite truncates it back to this size.
    ("journal_size_limit", 32 * 1024 * 1024),
    ("cache_size", -16_000),
    ("temp_store", "MEMORY"),
)


class StorageError(RuntimeError):
    """The database cannot be used; the message says what is wrong and what to do."""


def create_private_file(path: Path) -> None:
    """Create the database file (and parents) readable by its owner only, whatever the umask.

    SQLite gives the -wal and -shm files the mode of the main file, so they stay private too.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Never open and close a descriptor of a database this process may already use: POSIX drops
    # every fcntl lock the process holds on the file when any descriptor of it closes, and
    # without its shared lock another process's closing connection deletes the WAL in use.
    try:
        existing = path.stat()
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISREG(existing.st_mode) and existing.st_size > 0:
        if stat.S_IMODE(existing.st_mode) & 0o077:
            os.chmod(path, 0o600)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        empty = os.fstat(fd).st_size == 0
    finally:
        os.close(fd)
    if empty:
        _start_file(path)


def _start_file(path: Path) -> None:
    """Write a new file's header with `auto_vacuum = INCREMENTAL`, which only a file without tables
    takes (and only before WAL mode writes the header), so that retention can hand freed pages
    back in small steps (retention.reclaim). An older file needs one `shiptrack db vacuum`.

    Setting it on every connection instead would take the write lock on every open.
    """
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


class SqliteConnection(sqlite3.Connection):
    """A plain sqlite3 connection that says which dialect it speaks (storage/dialect.py)."""

    dialect: Final[Dialect] = SQLITE


class TrackedDatabase(SqliteDatabase):
    """peewee's per-thread connections, remembered so that one call can close them all.

    A connection whose thread has ended is closed when the next one opens, so short-lived
    worker threads do not pile up open files.
    """

    backend: Final = "sqlite"
    dialect: Final[Dialect] = SQLITE

    def __init__(self, database: str | None, **kwargs: object) -> None:
        super().__init__(database, **kwargs)
        self._opened: OpenConnections[sqlite3.Connection] = OpenConnections()

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        self._opened.add(conn)
        return conn

    def _close(self, conn: sqlite3.Connection) -> None:
        self._opened.close(conn)

    def writing(self) -> object:
        """A write transaction: IMMEDIATE, so a read-then-write never meets "database is locked"."""
        return self.atomic("IMMEDIATE")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read snapshot for the statements inside (nothing when a transaction is open)."""
        with self.atomic():
            yield

    @property
    def open_connections(self) -> int:
        return len(self._opened)

    def close_all(self) -> None:
        """Close every connection still open, whichever thread opened it."""
        self._opened.close_all()
        self.dispose()  # forget this thread's (now closed) connection


def open_database(path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> TrackedDatabase:
    """A deferred database bound to `path`, with the pragmas applied to every new connection.

    Connections may be closed from any thread (`close_all`); each is still used by one thread only.
    """
    create_private_file(path)
    db = TrackedDatabase(None)
    pragmas = (*PRAGMAS, ("busy_timeout", int(busy_timeout * 1000)))
    db.init(str(path), pragmas=pragmas, timeout=busy_timeout, check_same_thread=False,
            factory=SqliteConnection)
    return db

"""The connection: a private file (0600), WAL, and the pragmas every connection needs (DESIGN §4).

Each `Store` owns one `SqliteDatabase`; peewee keeps one connection per thread on it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from peewee import SqliteDatabase

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
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def open_database(path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> SqliteDatabase:
    """A deferred database bound to `path`, with the pragmas applied to every new connection."""
    create_private_file(path)
    db = SqliteDatabase(None)
    pragmas = (*PRAGMAS, ("busy_timeout", int(busy_timeout * 1000)))
    db.init(str(path), pragmas=pragmas, timeout=busy_timeout)
    return db

"""Every connection a database object opened, by thread, so that one call can close them all.

Both backends (db.py's SQLite, postgres.py's PostgreSQL) give each thread its own connection; a
connection whose thread has ended is closed when the next one opens, so short-lived worker
threads do not pile up open connections.
"""

from __future__ import annotations

import threading
from typing import Generic, Protocol, TypeVar


class Closeable(Protocol):
    def close(self) -> object: ...


C = TypeVar("C", bound=Closeable)


class OpenConnections(Generic[C]):
    """The open connections and the thread each belongs to; safe from any thread."""

    def __init__(self) -> None:
        self._opened: dict[C, threading.Thread] = {}
        self._lock = threading.Lock()

    def add(self, conn: C) -> None:
        """Remember `conn` as the calling thread's; close those of threads that have ended."""
        with self._lock:
            orphans = [old for old, thread in self._opened.items() if not thread.is_alive()]
            for old in orphans:
                del self._opened[old]
            self._opened[conn] = threading.current_thread()
        for old in orphans:
            old.close()

    def close(self, conn: C) -> None:
        with self._lock:
            self._opened.pop(conn, None)
        conn.close()

    def close_all(self) -> None:
        with self._lock:
            opened, self._opened = list(self._opened), {}
        for conn in opened:
            conn.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._opened)

"""Location states on PostgreSQL for the engine and the readers (DESIGN §12): one connection, one
transaction per call, reconnected after a failure.

The SQL (and the fencing by the location lease's epoch) is storage/cluster.py's; this only owns the
connection, so the engine's location checkers never share a connection with its pipeline writer.
Calls block: the engine makes them on a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import peewee
import psycopg
from psycopg import errors

from shiptrack_tui.core.location_view import LocationView
from shiptrack_tui.storage.cluster import (
    LeaseKey,
    LocationResult,
    LocationState,
    drop_location_states,
    location_states,
    write_location_state,
)

Connect = Callable[[], "psycopg.Connection[Any]"]


class PgLocationBook:
    """`write` and `read` of location states, as engine/locations.LocationBook wants them."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    @classmethod
    def at(cls, url: str) -> PgLocationBook:
        return cls(lambda: psycopg.connect(url, autocommit=True))

    def _run(self, work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            try:
                with self._conn.transaction():
                    return work(self._conn)
            except (psycopg.Error, peewee.DatabaseError):
                if self._conn.closed or self._conn.broken:  # the server went away: reconnect next time
                    self._conn.close()
                    self._conn = None
                raise

    def write(self, node: str, held: Mapping[LeaseKey, int], results: Sequence[LocationResult]
              ) -> set[LeaseKey]:
        if not results:
            return set()
        return self._run(lambda conn: write_location_state(conn, node, held, results))

    def read(self, monitors: Collection[str] | None = None) -> list[LocationState]:
        return self._run(lambda conn: location_states(conn, monitors))

    def drop(self, keep: Collection[LeaseKey]) -> int:
        return int(self._run(lambda conn: drop_location_states(conn, keep)))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def read_views(conn: psycopg.Connection[Any], monitors: Collection[str] | None = None
               ) -> dict[str, tuple[LocationView, ...]]:
    """Monitor -> each location's latest check, for readers; {} where no node has made the tables."""
    try:
        stored = location_states(conn, monitors)
    except peewee.ProgrammingError as error:
        if isinstance(error.__cause__, errors.UndefinedTable):
            return {}
        raise
    found: dict[str, list[LocationView]] = {}
    for row in stored:
        r = row.result
        found.setdefault(r.monitor, []).append(LocationView(
            monitor=r.monitor, location=r.location, ok=r.ok, failures=r.failures, reason=r.reason,
            checked_at=r.checked_at, node=row.node, latency_ms=r.latency_ms))
    return {monitor: tuple(views) for monitor, views in found.items()}

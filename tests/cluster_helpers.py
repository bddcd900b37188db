"""A PostgreSQL database with the cluster tables, for tests of storage/cluster*.py.

The store's PostgreSQL schema at its base version (storage/pg_schema.py), then the cluster's
tables (`CLUSTER_SCHEMA`: migrations 10 and 11) on top.
"""

from __future__ import annotations

from typing import Any

import psycopg

from shiptrack_tui.storage.cluster import CLUSTER_SCHEMA
from shiptrack_tui.storage.pg_schema import BASE


def cluster_schema(url: str) -> None:
    with psycopg.connect(url) as conn:
        for statement in (*BASE, *CLUSTER_SCHEMA):
            conn.execute(statement)


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A node's connection: statements run in a transaction the test commits."""
    return psycopg.connect(url, **kwargs)


def queue(conn: psycopg.Connection[Any], rows: list[tuple[str, str]], transition: str = "open",
          incident_id: int | None = None, next_attempt_at: float = 0.0) -> list[int]:
    """Add pending outbox rows (monitor, url), in this order; return their ids."""
    ids = []
    for monitor, url in rows:
        cur = conn.execute(
            "INSERT INTO outbox (incident_id, monitor, transition, url, title, body, notify_type, "
            "created_at, attempts, next_attempt_at) "
            "VALUES (%s, %s, %s, %s, %s, 'body', 'failure', 0, 0, %s) RETURNING id",
            (incident_id, monitor, transition, url, f"[{transition}] {monitor}", next_attempt_at))
        row = cur.fetchone()
        assert row is not None
        ids.append(int(row[0]))
    conn.commit()
    return ids


def lapse(conn: psycopg.Connection[Any], table: str, column: str, where: str, params: tuple[Any, ...],
          seconds: float = 3600.0) -> None:
    """Time passes for these rows: move a database-clock time back by `seconds` (committed), so a
    test need not both wait for an expiry and hope the machine never stalls before it."""
    conn.execute(f"UPDATE {table} SET {column} = {column} - make_interval(secs => %s) WHERE {where}",
                 (seconds, *params))
    conn.commit()

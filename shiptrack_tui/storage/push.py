"""Push monitors in the database (schema 8): their tokens and the pings waiting for the engine.

A push monitor's token is the one its config sets, else one generated here (`secrets`, 192 bits)
the first time the monitor is synced or shown; it is kept on the monitor's row, so it survives
restarts, and a token removed from the config leaves the URL working with the token it had.
Pings are inserted by the HTTP server in batches and deleted by the engine in the transaction that
stores what they caused (storage/pipeline.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Final

from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.core.push import PUSH_TARGET, Ping, PingKind
from shiptrack_tui.storage.dialect import Connection

TOKEN_BYTES: Final = 24
"""Generated tokens carry 192 random bits (32 URL-safe characters)."""

PingRow = tuple[str, float, str, str | None]
"""(monitor, at, kind, message) as the HTTP server hands them over."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def assign_tokens(conn: Connection, specs: Sequence[MonitorSpec]) -> None:
    """Give every push monitor in `specs` its token: the configured one, else the stored one, else a
    new one. Call inside the IMMEDIATE transaction that upserted their rows."""
    rows = [(spec.push_token, new_token(), spec.name) for spec in specs if spec.push]
    if rows:  # (an older schema without push tokens never has push monitors to sync)
        conn.executemany("UPDATE monitor SET push_token = COALESCE(?, push_token, ?) WHERE name = ?", rows)


def ensure_token(conn: Connection, spec: MonitorSpec) -> str:
    """The monitor's token, creating its row (as an engine would) and a token when needed."""
    conn.execute("INSERT INTO monitor (name, target, removed) VALUES (?, ?, 0) ON CONFLICT (name) DO NOTHING",
                 (spec.name, PUSH_TARGET))
    assign_tokens(conn, [spec])
    row = conn.execute("SELECT push_token FROM monitor WHERE name = ?", (spec.name,)).fetchone()
    return str(row[0])


def tokens(conn: Connection) -> dict[str, str]:
    """Monitor name -> stored token, for monitors that are not removed."""
    rows = conn.execute("SELECT name, push_token FROM monitor WHERE removed = 0 AND push_token IS NOT NULL")
    return dict(rows.fetchall())


def token_of(conn: Connection, monitor: str) -> str | None:
    row = conn.execute("SELECT push_token FROM monitor WHERE name = ?", (monitor,)).fetchone()
    return None if row is None else row[0]


def add(conn: Connection, pings: Sequence[PingRow]) -> None:
    """Store pings; call inside a write transaction. Their ids commit in order (the engine reads
    "every ping after the last one it took")."""
    conn.dialect.serialize_inserts(conn, "ping")
    conn.executemany("INSERT INTO ping (monitor, at, kind, message) VALUES (?, ?, ?, ?)", pings)


def pending(conn: Connection, after: int, limit: int) -> list[Ping]:
    """Pings with an id above `after`, oldest first."""
    rows = conn.execute("SELECT id, monitor, at, kind, message FROM ping WHERE id > ? ORDER BY id LIMIT ?",
                        (after, limit)).fetchall()
    return [Ping(row[0], row[1], row[2], PingKind(row[3]), row[4]) for row in rows]


def delete(conn: Connection, ids: Sequence[int]) -> None:
    conn.executemany("DELETE FROM ping WHERE id = ?", [(ping_id,) for ping_id in ids])

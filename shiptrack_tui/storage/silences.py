"""Silences: rows that mute a monitor's or a tag's notifications until they end.

The core's `Silence` arrives with the engine's silences feature; it is imported where used so
this module loads on a core without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from shiptrack_tui.storage.dialect import Connection

if TYPE_CHECKING:
    from shiptrack_tui.core.model import Silence

_COLUMNS = "id, scope, value, created_at, until, until_resolved, source, ended_at"


def _silence(row: tuple) -> Silence:
    from shiptrack_tui.core.model import Silence, SilenceScope

    row_id, scope, value, created_at, until, until_resolved, source, ended_at = row
    return Silence(id=row_id, scope=SilenceScope(scope), value=value, created_at=created_at, until=until,
                   until_resolved=bool(until_resolved), source=source, ended_at=ended_at)


def start(conn: Connection, silence: Silence) -> Silence:
    """Store a new silence; return it with its id."""
    row = conn.execute(
        "INSERT INTO silence (scope, value, created_at, until, until_resolved, source, ended_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (str(silence.scope), silence.value, silence.created_at, silence.until, int(silence.until_resolved),
         silence.source, silence.ended_at),
    ).fetchone()
    return replace(silence, id=int(row[0]))


def end(conn: Connection, ids: Sequence[int], at: float, reason: str) -> None:
    conn.executemany("UPDATE silence SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
                     [(at, reason, silence_id) for silence_id in ids])


def active(conn: Connection) -> list[Silence]:
    """Silences not ended yet, oldest first (expiry by time is the engine's call)."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM silence WHERE ended_at IS NULL ORDER BY id").fetchall()
    return [_silence(row) for row in rows]


def recent(conn: Connection, limit: int) -> list[Silence]:
    """Newest first, ended or not."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM silence ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_silence(row) for row in rows]

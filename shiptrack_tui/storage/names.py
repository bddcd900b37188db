"""Ids for monitor names and failure texts, cached once their rows are known to be committed.

A lookup inside a transaction may insert a row; that id only joins the shared cache after the
transaction commits (`commit()`), so a rolled-back batch never leaves a dangling id behind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from shiptrack_tui.storage.dialect import Connection


def _find_or_add(conn: Connection, table: str, column: str, value: str) -> int:
    """The id of the row whose unique `column` is `value`, inserting it when missing. Another
    engine inserting the same value at the same moment is no error (ON CONFLICT DO NOTHING)."""
    row = conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (value,)).fetchone()
    if row is None:
        row = conn.execute(f"INSERT INTO {table} ({column}) VALUES (?) ON CONFLICT ({column}) DO NOTHING "
                           "RETURNING id", (value,)).fetchone()
    if row is None:  # (PostgreSQL) another transaction committed it meanwhile
        row = conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (value,)).fetchone()
    return int(row[0])


class Names:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._monitors: dict[str, int] = {}
        self._reasons: dict[str, int] = {}
        self._local = threading.local()

    def _pending(self) -> tuple[dict[str, int], dict[str, int]]:
        pending = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = ({}, {})
        return pending

    def monitor_id(self, conn: Connection, name: str) -> int:
        """The monitor's id, creating a bare row for a monitor that was never synced."""
        with self._lock:
            known = self._monitors.get(name)
        if known is not None:
            return known
        pending = self._pending()[0]
        if name in pending:
            return pending[name]
        pending[name] = _find_or_add(conn, "monitor", "name", name)
        return pending[name]

    def find_monitor(self, conn: Connection, name: str) -> int | None:
        """The monitor's id, or None when there is no such monitor (never creates one)."""
        with self._lock:
            known = self._monitors.get(name)
        if known is not None:
            return known
        row = conn.execute("SELECT id FROM monitor WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def forget(self, names: Iterable[str]) -> None:
        """Drop cached ids of monitors whose rows changed name (see renames.py)."""
        with self._lock:
            for name in names:
                self._monitors.pop(name, None)

    def reason_id(self, conn: Connection, text: str) -> int:
        with self._lock:
            known = self._reasons.get(text)
        if known is not None:
            return known
        pending = self._pending()[1]
        if text in pending:
            return pending[text]
        pending[text] = _find_or_add(conn, "reason", "text", text)
        return pending[text]

    def commit(self) -> None:
        """The transaction that looked names up committed: its new ids are now safe to share."""
        monitors, reasons = self._pending()
        with self._lock:
            self._monitors.update(monitors)
            self._reasons.update(reasons)
        monitors.clear()
        reasons.clear()

    def rollback(self) -> None:
        for pending in self._pending():
            pending.clear()

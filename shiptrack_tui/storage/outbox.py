"""The notification outbox: which rows are due, and what happened when one was attempted.

Per (monitor, url), a row is due only when every earlier row of the pair is delivered or given
up: a notifier never sends RESOLVED before OPEN (DESIGN §7), nor the OPEN of a monitor's next
incident before the RESOLVED of its last, and rows without an incident wait their turn too.
"""

from __future__ import annotations

from shiptrack_tui.core.model import OutboxItem, OutboxRow, TimelineKind, Transition
from shiptrack_tui.storage.dialect import Connection

_DUE = """
SELECT o.id, o.incident_id, o.monitor, o.transition, o.url, o.title, o.body, o.notify_type,
       o.created_at, o.attempts, o.next_attempt_at, o.last_error
FROM outbox AS o
WHERE o.delivered_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= ?
  AND NOT EXISTS (
    SELECT 1 FROM outbox AS p
    WHERE p.monitor = o.monitor AND p.url = o.url AND p.id < o.id
      AND p.delivered_at IS NULL AND p.failed_at IS NULL)
ORDER BY o.next_attempt_at, o.id
LIMIT ?
"""


def due_outbox(conn: Connection, now: float, limit: int) -> list[OutboxRow]:
    rows = conn.execute(_DUE, (now, limit)).fetchall()
    return [
        OutboxRow(
            id=row_id,
            incident_id=incident_id,
            item=OutboxItem(monitor, Transition(transition), url, title, body, notify_type),
            created_at=created_at,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            last_error=last_error,
        )
        for (row_id, incident_id, monitor, transition, url, title, body, notify_type, created_at,
             attempts, next_attempt_at, last_error) in rows
    ]


def record_attempt(conn: Connection, row_id: int, at: float, delivered: bool, error: str | None,
                   next_attempt_at: float | None, give_up: bool, detail: str | None,
                   seen_attempts: int | None = None) -> None:
    """Update the row and note the attempt on the incident's timeline: delivered, retrying or given up.

    With `seen_attempts` (the row's attempt count when it was handed out), an attempt already
    recorded (a retry after the answer to its COMMIT was lost) is not recorded again."""
    row = conn.execute("SELECT incident_id, transition FROM outbox WHERE id = ?", (row_id,)).fetchone()
    if row is None:
        raise LookupError(f"There is no outbox row {row_id}.")
    incident_id, transition = row
    guard, extra = ("", ()) if seen_attempts is None else (" AND attempts = ?", (seen_attempts,))
    if delivered:
        sets, params = "delivered_at = ?, last_error = NULL", (at,)
        kind, text = TimelineKind.NOTIFIED, detail or f"{transition} sent"
    elif give_up:
        sets, params = "failed_at = ?, last_error = ?", (at, error)
        kind, text = TimelineKind.NOTIFY_FAILED, detail or f"{transition} not delivered: {error or 'failed'}"
    else:
        sets, params = "last_error = ?, next_attempt_at = ?", (error, at if next_attempt_at is None
                                                                 else next_attempt_at)
        kind, text = TimelineKind.NOTIFY_RETRY, detail or f"{transition} attempt failed: {error or 'failed'}"
    changed = conn.execute(f"UPDATE outbox SET attempts = attempts + 1, {sets} WHERE id = ?{guard}",
                           (*params, row_id, *extra)).rowcount
    # Every attempt's outcome is on the timeline; backoff (capped at minutes) bounds how many.
    if incident_id is not None and changed:
        conn.execute("INSERT INTO timeline (incident_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                     (incident_id, at, kind.value, text))


_PENDING = "delivered_at IS NULL AND failed_at IS NULL"
_COLUMNS = ("incident_id, monitor, transition, url, title, body, notify_type, created_at, attempts, "
            "next_attempt_at, delivered_at, failed_at, last_error")


def waiting_on_placeholders(conn: Connection, prefix: str) -> dict[str, int]:
    """Monitor -> id of its oldest pending placeholder row (a URL starting with `prefix`)."""
    rows = conn.execute(
        f"SELECT monitor, MIN(id) FROM outbox WHERE {_PENDING} AND substr(url, 1, ?) = ? GROUP BY monitor",
        (len(prefix), prefix)).fetchall()
    return {monitor: first for monitor, first in rows}


def expand(conn: Connection, row_id: int, urls: list[str], prefix: str) -> int:
    """Replace a pending placeholder row by one row per URL; return how many were queued.

    The new rows keep their place in the monitor's order: its later pending rows to those URLs
    (and later placeholders) are moved behind them, unchanged otherwise.
    """
    row = conn.execute(
        f"SELECT incident_id, monitor, transition, title, body, notify_type, created_at FROM outbox "
        f"WHERE id = ? AND {_PENDING}", (row_id,)).fetchone()
    if row is None:
        return 0
    incident_id, monitor, transition, title, body, notify_type, created = row
    marks = ",".join("?" * len(urls)) or "NULL"
    later = [moved for (moved,) in conn.execute(
        f"SELECT id FROM outbox WHERE monitor = ? AND id > ? AND {_PENDING} "
        f"AND (url IN ({marks}) OR substr(url, 1, ?) = ?) ORDER BY id",
        (monitor, row_id, *urls, len(prefix), prefix))]
    conn.executemany(
        "INSERT INTO outbox (incident_id, monitor, transition, url, title, body, notify_type, created_at, "
        "attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0.0)",
        [(incident_id, monitor, transition, url, title, body, notify_type, created) for url in urls])
    for moved in later:
        conn.execute(f"INSERT INTO outbox ({_COLUMNS}) SELECT {_COLUMNS} FROM outbox WHERE id = ?", (moved,))
        conn.execute("DELETE FROM outbox WHERE id = ?", (moved,))
    conn.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
    return len(urls)

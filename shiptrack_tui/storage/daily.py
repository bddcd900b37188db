"""Bounded reads for the public status page: daily counts per monitor, and recent incidents.

Days are UTC days (epoch hour // 24), the alignment of the 24-hour rollup blocks: a day is one
block row per monitor. Those blocks hold the hours already folded (hours up to the monitor's
`rolled_hour`); the hour rows after it (normally just the hour being written) are added on top,
so a day's counts are exact without reading a single raw check.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from typing import Final

from shiptrack_tui.core.days import DayCounts
from shiptrack_tui.core.model import (
    Incident,
    IncidentState,
    IncidentStatus,
    MonitorStatus,
    Severity,
    TimelineEntry,
    TimelineKind,
)

DAY_HOURS: Final = 24

_BLOCKS: Final = ("SELECT monitor_id, hour, up, degraded, down, maintenance FROM rollup "
                  "WHERE monitor_id IN (SELECT value FROM json_each(?1)) AND span = 24 "
                  "AND hour >= ?2 AND hour < ?3")
# Hour rows not folded into the day blocks yet: after the monitor's rolled_hour.
_UNFOLDED: Final = ("SELECT r.monitor_id, r.hour, r.up, r.degraded, r.down, r.maintenance "
                    "FROM monitor AS m JOIN rollup AS r ON r.monitor_id = m.id AND r.span = 1 "
                    "AND r.hour > COALESCE(m.rolled_hour, -1) AND r.hour >= ?2 AND r.hour < ?3 "
                    "WHERE m.id IN (SELECT value FROM json_each(?1))")
_INCIDENTS: Final = """
SELECT i.id, m.name, i.state, i.cause, i.started_at, i.opened_at, i.acknowledged_at, i.resolved_at,
       i.severity, i.status
FROM incident AS i JOIN monitor AS m ON m.id = i.monitor_id
WHERE m.name IN (SELECT value FROM json_each(?1)) AND (i.state != 'resolved' OR i.resolved_at >= ?2)
ORDER BY i.state = 'resolved', i.opened_at DESC, i.id DESC
LIMIT ?3
"""
_TIMELINE: Final = """
SELECT incident_id, at, kind, detail, by, status FROM timeline
WHERE incident_id IN (SELECT value FROM json_each(?1)) AND kind IN (SELECT value FROM json_each(?2))
ORDER BY at, id
"""


def monitor_ids(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, int]:
    """name -> id for the named monitors the database knows (removed ones included)."""
    rows = conn.execute("SELECT name, id FROM monitor WHERE name IN (SELECT value FROM json_each(?))",
                        (json.dumps(list(names)),))
    return dict(rows.fetchall())


def statuses(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, MonitorStatus]:
    """The stored status of each named monitor that is not removed."""
    rows = conn.execute("SELECT name, status FROM monitor WHERE removed = 0 "
                        "AND name IN (SELECT value FROM json_each(?))", (json.dumps(list(names)),))
    return {name: MonitorStatus(status) for name, status in rows}


def daily_counts(conn: sqlite3.Connection, ids: Collection[int], first_day: int,
                 stop_day: int) -> dict[int, dict[int, DayCounts]]:
    """Counts per monitor id and UTC day in [first_day, stop_day); days without checks are absent."""
    found: dict[int, dict[int, DayCounts]] = {monitor_id: {} for monitor_id in ids}
    if not ids or first_day >= stop_day:
        return found
    params = (json.dumps(list(ids)), first_day * DAY_HOURS, stop_day * DAY_HOURS)
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")  # one snapshot: blocks and unfolded hours from the same commit
    try:
        for query in (_BLOCKS, _UNFOLDED):
            for monitor_id, hour, up, degraded, down, maintenance in conn.execute(query, params):
                days = found[monitor_id]
                day = hour // DAY_HOURS
                counts = DayCounts(up, degraded, down, maintenance)
                days[day] = days[day].plus(counts) if day in days else counts
    finally:
        if own:
            conn.execute("COMMIT")
    return found


def recent_incidents(conn: sqlite3.Connection, monitors: Collection[str], resolved_since: float,
                     limit: int, kinds: Collection[TimelineKind]) -> list[Incident]:
    """The named monitors' incidents that are open or resolved at or after `resolved_since`:
    open ones first, then newest first, at most `limit`, each with its timeline entries of `kinds`."""
    if not monitors or limit <= 0:
        return []
    rows = conn.execute(_INCIDENTS, (json.dumps(list(monitors)), resolved_since, limit)).fetchall()
    if not rows:
        return []
    timelines: dict[int, list[TimelineEntry]] = {row[0]: [] for row in rows}
    wanted = json.dumps([TimelineKind(kind).value for kind in kinds])
    for owner, at, kind, detail, by, status in conn.execute(_TIMELINE, (json.dumps(list(timelines)), wanted)):
        timelines[owner].append(TimelineEntry(at, TimelineKind(kind), detail, by, status))
    return [
        Incident(id=row_id, monitor=name, state=IncidentState(state), cause=cause, started_at=started_at,
                 opened_at=opened_at, acknowledged_at=acknowledged_at, resolved_at=resolved_at,
                 events=tuple(timelines[row_id]), severity=Severity(severity), status=IncidentStatus(status))
        for (row_id, name, state, cause, started_at, opened_at, acknowledged_at, resolved_at, severity,
             status) in rows
    ]

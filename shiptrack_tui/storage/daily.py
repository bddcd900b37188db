"""Bounded reads for the public status page: daily counts per monitor, and recent incidents.

Days are UTC days (epoch hour // 24), the alignment of the 24-hour rollup blocks: a day is one
block row per monitor. Those blocks hold the hours already folded (hours up to the monitor's
`rolled_hour`); the hour rows after it (normally just the hour being written) are added on top,
so a day's counts are exact without reading a single raw check.
"""

from __future__ import annotations

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
from shiptrack_tui.storage.dialect import Connection, snapshot

DAY_HOURS: Final = 24

# {ids}, {names}, {kinds}: list membership in the connection's dialect (dialect.in_list).
_BLOCKS: Final = ("SELECT monitor_id, hour, up, degraded, down, maintenance FROM rollup "
                  "WHERE {ids} AND span = 24 AND hour >= ?2 AND hour < ?3")
# Hour rows not folded into the day blocks yet: after the monitor's rolled_hour.
_UNFOLDED: Final = ("SELECT r.monitor_id, r.hour, r.up, r.degraded, r.down, r.maintenance "
                    "FROM monitor AS m JOIN rollup AS r ON r.monitor_id = m.id AND r.span = 1 "
                    "AND r.hour > COALESCE(m.rolled_hour, -1) AND r.hour >= ?2 AND r.hour < ?3 "
                    "WHERE {ids}")
_INCIDENTS: Final = """
SELECT i.id, m.name, i.state, i.cause, i.started_at, i.opened_at, i.acknowledged_at, i.resolved_at,
       i.severity, i.status
FROM incident AS i JOIN monitor AS m ON m.id = i.monitor_id
WHERE {names} AND (i.state != 'resolved' OR i.resolved_at >= ?2)
ORDER BY i.state = 'resolved', i.opened_at DESC, i.id DESC
LIMIT ?3
"""
_TIMELINE: Final = """
SELECT incident_id, at, kind, detail, by, status FROM timeline
WHERE {ids} AND {kinds}
ORDER BY at, id
"""


def monitor_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """name -> id for the named monitors the database knows (removed ones included)."""
    dialect = conn.dialect
    rows = conn.execute(f"SELECT name, id FROM monitor WHERE {dialect.in_list('name')}",
                        (dialect.values(names),))
    return dict(rows.fetchall())


def statuses(conn: Connection, names: Iterable[str]) -> dict[str, MonitorStatus]:
    """The stored status of each named monitor that is not removed."""
    dialect = conn.dialect
    rows = conn.execute(f"SELECT name, status FROM monitor WHERE removed = 0 AND {dialect.in_list('name')}",
                        (dialect.values(names),))
    return {name: MonitorStatus(status) for name, status in rows}


def daily_counts(conn: Connection, ids: Collection[int], first_day: int,
                 stop_day: int) -> dict[int, dict[int, DayCounts]]:
    """Counts per monitor id and UTC day in [first_day, stop_day); days without checks are absent."""
    found: dict[int, dict[int, DayCounts]] = {monitor_id: {} for monitor_id in ids}
    if not ids or first_day >= stop_day:
        return found
    dialect = conn.dialect
    params = (dialect.values(ids), first_day * DAY_HOURS, stop_day * DAY_HOURS)
    with snapshot(conn):  # blocks and unfolded hours from the same commit
        for query, column in ((_BLOCKS, "monitor_id"), (_UNFOLDED, "m.id")):
            sql = query.format(ids=dialect.in_list(column, "?1"))
            for monitor_id, hour, up, degraded, down, maintenance in conn.execute(sql, params):
                days = found[monitor_id]
                day = hour // DAY_HOURS
                counts = DayCounts(up, degraded, down, maintenance)
                days[day] = days[day].plus(counts) if day in days else counts
    return found


def recent_incidents(conn: Connection, monitors: Collection[str], resolved_since: float,
                     limit: int, kinds: Collection[TimelineKind]) -> list[Incident]:
    """The named monitors' incidents that are open or resolved at or after `resolved_since`:
    open ones first, then newest first, at most `limit`, each with its timeline entries of `kinds`."""
    if not monitors or limit <= 0:
        return []
    dialect = conn.dialect
    rows = conn.execute(_INCIDENTS.format(names=dialect.in_list("m.name", "?1")),
                        (dialect.values(monitors), resolved_since, limit)).fetchall()
    if not rows:
        return []
    timelines: dict[int, list[TimelineEntry]] = {row[0]: [] for row in rows}
    wanted = dialect.values(TimelineKind(kind).value for kind in kinds)
    timeline = _TIMELINE.format(ids=dialect.in_list("incident_id", "?1"), kinds=dialect.in_list("kind", "?2"))
    for owner, at, kind, detail, by, status in conn.execute(timeline, (dialect.values(timelines), wanted)):
        timelines[owner].append(TimelineEntry(at, TimelineKind(kind), detail, by, status))
    return [
        Incident(id=row_id, monitor=name, state=IncidentState(state), cause=cause, started_at=started_at,
                 opened_at=opened_at, acknowledged_at=acknowledged_at, resolved_at=resolved_at,
                 events=tuple(timelines[row_id]), severity=Severity(severity), status=IncidentStatus(status))
        for (row_id, name, state, cause, started_at, opened_at, acknowledged_at, resolved_at, severity,
             status) in rows
    ]

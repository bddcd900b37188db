"""Reads that turn rows into the core's dataclasses: states, incidents, checks."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from shiptrack_tui.core.model import (
    CheckResult,
    Incident,
    IncidentState,
    IncidentStatus,
    MonitorHistory,
    MonitorState,
    MonitorStatus,
    OpenIncident,
    Severity,
    TimelineEntry,
    TimelineKind,
)
from shiptrack_tui.storage import packing
from shiptrack_tui.storage.codec import (
    HOUR,
    MAINTENANCE,
    code_outcome,
    from_ms,
    from_us,
    to_ms,
)
from shiptrack_tui.storage.dialect import Connection, Database
from shiptrack_tui.storage.packing import EARLIEST, Wanted


@dataclass(frozen=True, slots=True)
class MonitorRow:
    """A monitor row with its open incident's id and its reconstructed state."""

    id: int
    name: str
    target: str
    tags: str
    last_status_code: int | None
    cert_days_left: int | None
    rolled_hour: int | None
    newest_check_ms: int | None
    open_incident_id: int | None
    state: MonitorState


# Plain SQL: building peewee model instances cost ~30 ms per 1,000 monitors on the dashboard's path.
_MONITORS = """
SELECT m.id, m.name, m.target, m.tags, m.last_status_code, m.cert_days_left, m.rolled_hour,
       m.newest_check_ms, m.status, m.consecutive_failures, m.consecutive_successes,
       m.first_failure_at, m.first_failure_reason, m.last_check_at, m.last_latency_ms, m.last_error,
       m.paused, m.run_started_at, i.id, i.started_at, i.opened_at, i.cause, i.state, i.acknowledged_at
FROM monitor AS m LEFT JOIN incident AS i ON i.monitor_id = m.id AND i.state != 'resolved'
WHERE m.removed = 0{names}
ORDER BY m.name
"""
_NAMES_INLINE: Final = 500  # above this many names, read every row and filter in Python

# One small row per monitor: what changes when it is checked, paused, or its incident moves on.
_MARKS = """
SELECT m.name, m.last_check_at, m.status, m.paused, m.consecutive_failures, m.target, m.tags,
       i.id, i.state
FROM monitor AS m LEFT JOIN incident AS i ON i.monitor_id = m.id AND i.state != 'resolved'
WHERE m.removed = 0
"""


def monitor_marks(db: Database) -> dict[str, tuple[object, ...]]:
    """name -> a tuple that changes whenever the monitor's row or open incident changes."""
    return {row[0]: row[1:] for row in db.execute_sql(_MARKS)}


def latest_timeline_id(db: Database) -> int:
    """The newest timeline entry's id (0 when none): it moves whenever any incident changes."""
    return int(db.execute_sql("SELECT COALESCE(MAX(id), 0) FROM timeline").fetchone()[0])


def monitor_rows(db: Database, names: Collection[str] | None = None) -> list[MonitorRow]:
    """Monitors that are not removed, by name (only those in `names` when given)."""
    if names is not None and len(names) <= _NAMES_INLINE:
        dialect = db.dialect
        cursor = db.execute_sql(_MONITORS.format(names=f" AND {dialect.in_list('m.name')}"),
                                (dialect.values(names),))
    else:
        cursor = db.execute_sql(_MONITORS.format(names=""))
    found = []
    for (monitor_id, name, target, tags, status_code, cert_days, rolled, newest, status, failures,
         successes, first_failure_at, first_failure_reason, last_check_at, last_latency_ms, last_error,
         paused, run_started_at, incident_id, started_at, opened_at, cause, incident_state, acknowledged_at,
         ) in cursor:
        incident = None
        if incident_id is not None:
            incident = OpenIncident(started_at=started_at, opened_at=opened_at, cause=cause,
                                    state=IncidentState(incident_state), acknowledged_at=acknowledged_at)
        state = MonitorState(
            status=MonitorStatus(status), consecutive_failures=failures, consecutive_successes=successes,
            first_failure_at=first_failure_at, first_failure_reason=first_failure_reason, incident=incident,
            last_check_at=last_check_at, last_latency_ms=last_latency_ms, last_error=last_error,
            paused=bool(paused), run_started_at=run_started_at,
        )
        found.append(MonitorRow(monitor_id, name, target, tags, status_code, cert_days, rolled, newest,
                                incident_id, state))
    if names is not None and len(names) > _NAMES_INLINE:
        wanted = set(names)
        return [row for row in found if row.name in wanted]
    return found


_INCIDENTS: Final = """
SELECT i.id, i.monitor_id, i.state, i.cause, i.started_at, i.opened_at, i.acknowledged_at, i.resolved_at,
       i.severity, i.status, m.name
FROM incident AS i JOIN monitor AS m ON i.monitor_id = m.id
WHERE {where}
ORDER BY i.state = 'resolved', i.opened_at DESC, i.id DESC"""


def incidents(db: Database, open_only: bool = False, monitor: str | None = None,
              limit: int | None = None, incident_id: int | None = None) -> list[Incident]:
    """Newest first, open and acknowledged before resolved, each with its timeline in time order."""
    where, params = ["1 = 1"], []
    if open_only:
        where.append("i.state != 'resolved'")
    if monitor is not None:
        where.append("m.name = ?")
        params.append(monitor)
    if incident_id is not None:
        where.append("i.id = ?")
        params.append(incident_id)
    query = _INCIDENTS.format(where=" AND ".join(where))
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    rows = db.execute_sql(query, tuple(params)).fetchall()
    if not rows:
        return []
    timelines: dict[int, list[TimelineEntry]] = {row[0]: [] for row in rows}
    dialect = db.dialect
    entries = db.execute_sql(
        "SELECT incident_id, at, kind, detail, by, status FROM timeline "
        f"WHERE {dialect.in_list('incident_id')} ORDER BY at, id", (dialect.values(timelines),))
    for owner, at, kind, detail, by, status in entries:
        timelines[owner].append(TimelineEntry(at, TimelineKind(kind), detail, by, status))
    return [
        Incident(
            id=row_id, monitor=name, state=IncidentState(state), cause=cause, started_at=started_at,
            opened_at=opened_at, acknowledged_at=acknowledged_at, resolved_at=resolved_at,
            events=tuple(timelines[row_id]), severity=Severity(severity), status=IncidentStatus(status),
        )
        for (row_id, _monitor_id, state, cause, started_at, opened_at, acknowledged_at, resolved_at,
             severity, status, name) in rows
    ]


def recent_checks(db: Database, monitor_id: int, monitor: str, limit: int,
                  since: float | None = None) -> list[CheckResult]:
    low = EARLIEST if since is None else to_ms(since)
    source, params = packing.checks(db.dialect, Wanted(monitor_id, low, first=limit))
    rows = db.execute_sql(
        f"SELECT c.at_ms, c.code, c.latency_us, c.status, r.text FROM {source} AS c "
        "LEFT JOIN reason AS r ON r.id = c.error_id ORDER BY c.at_ms DESC LIMIT ?", (*params, limit),
    ).fetchall()
    return [
        CheckResult(
            monitor=monitor, at=from_ms(at_ms), outcome=code_outcome(code), latency_ms=from_us(latency_us),
            status_code=status, reason=reason, in_maintenance=bool(code & MAINTENANCE),
        )
        for at_ms, code, latency_us, status, reason in rows
    ]


def notify_failed_incidents(db: Database) -> set[int]:
    """Ids of open incidents whose timeline records a notification that was given up."""
    rows = db.execute_sql(
        "SELECT DISTINCT t.incident_id FROM timeline AS t JOIN incident AS i ON i.id = t.incident_id "
        "WHERE i.state != 'resolved' AND t.kind = ?", (TimelineKind.NOTIFY_FAILED.value,)
    ).fetchall()
    return {row[0] for row in rows}


def first_check_at(db: Database, monitor_id: int) -> float | None:
    """When the monitor's oldest stored check ran (None without one); primary keys answer it.

    Once retention has removed the oldest raw checks, the oldest hour rollup says it, to the hour
    (so a 7-day chart does not take a monitor with 2 days of raw checks for a 2-day-old one).
    """
    source, params = packing.checks(db.dialect, Wanted(monitor_id, first=1, newest=False, columns=()))
    row = db.execute_sql(f"SELECT MIN(at_ms) FROM {source} AS c", params).fetchone()
    raw = None if row[0] is None else from_ms(row[0])
    hour = db.execute_sql("SELECT MIN(hour) FROM rollup WHERE monitor_id = ? AND span = 1",
                          (monitor_id,)).fetchone()[0]
    if hour is not None and (raw is None or hour * HOUR + HOUR <= raw):
        return float(hour * HOUR)
    return raw


def history(conn: Connection, monitor: str) -> MonitorHistory | None:
    """Counts of what is kept about a monitor, removed or not; None when it has no row."""
    row = conn.execute("SELECT id FROM monitor WHERE name = ?", (monitor,)).fetchone()
    if row is None:
        return None
    (monitor_id,) = row
    checks = packing.count(conn, monitor_id)
    hours = conn.execute("SELECT count(*) FROM rollup WHERE monitor_id = ? AND span = 1",
                         (monitor_id,)).fetchone()[0]
    incidents = conn.execute("SELECT count(*) FROM incident WHERE monitor_id = ?",
                             (monitor_id,)).fetchone()[0]
    return MonitorHistory(checks=checks, rolled_hours=hours, incidents=incidents)

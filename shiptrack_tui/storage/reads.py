"""Reads that turn rows into the core's dataclasses: states, incidents, checks."""

from __future__ import annotations

from collections.abc import Iterable

from peewee import JOIN, SqliteDatabase

from shiptrack_tui.core.model import (
    CheckResult,
    Incident,
    IncidentState,
    MonitorState,
    MonitorStatus,
    OpenIncident,
    TimelineEntry,
    TimelineKind,
)
from shiptrack_tui.storage import models as m
from shiptrack_tui.storage.codec import MAINTENANCE, code_outcome, from_ms, from_us


def _state_of(row: m.Monitor, incident: m.Incident | None) -> MonitorState:
    open_incident = None
    if incident is not None and incident.id is not None:
        open_incident = OpenIncident(
            started_at=incident.started_at,
            opened_at=incident.opened_at,
            cause=incident.cause,
            state=IncidentState(incident.state),
            acknowledged_at=incident.acknowledged_at,
        )
    return MonitorState(
        status=MonitorStatus(row.status),
        consecutive_failures=row.consecutive_failures,
        consecutive_successes=row.consecutive_successes,
        first_failure_at=row.first_failure_at,
        first_failure_reason=row.first_failure_reason,
        incident=open_incident,
        last_check_at=row.last_check_at,
        last_latency_ms=row.last_latency_ms,
        last_error=row.last_error,
        paused=bool(row.paused),
    )


def monitor_rows(db: SqliteDatabase, names: Iterable[str] | None = None,
                 include_removed: bool = False) -> list[tuple[m.Monitor, m.Incident | None, MonitorState]]:
    """Monitors (by name order) with their open incident row and their reconstructed state."""
    opened = m.Incident.alias("opened")
    query = (
        m.Monitor.select(m.Monitor, opened)
        .join(opened, JOIN.LEFT_OUTER,
              on=((opened.monitor == m.Monitor.id) & (opened.state != IncidentState.RESOLVED.value)),
              attr="open_incident")
        .order_by(m.Monitor.name)
    )
    if not include_removed:
        query = query.where(m.Monitor.removed == False)  # noqa: E712 (a SQL expression)
    if names is not None:
        query = query.where(m.Monitor.name.in_(list(names)))
    found = []
    for row in query.execute(db):
        incident = getattr(row, "open_incident", None)
        if incident is not None and incident.id is None:
            incident = None
        found.append((row, incident, _state_of(row, incident)))
    return found


def incidents(db: SqliteDatabase, open_only: bool = False, monitor: str | None = None,
              limit: int | None = None, incident_id: int | None = None) -> list[Incident]:
    """Newest first, open and acknowledged before resolved, each with its timeline in time order."""
    query = (
        m.Incident.select(m.Incident, m.Monitor.name)
        .join(m.Monitor, on=(m.Incident.monitor == m.Monitor.id))
        .order_by((m.Incident.state == IncidentState.RESOLVED.value), m.Incident.opened_at.desc(),
                  m.Incident.id.desc())
    )
    if open_only:
        query = query.where(m.Incident.state != IncidentState.RESOLVED.value)
    if monitor is not None:
        query = query.where(m.Monitor.name == monitor)
    if incident_id is not None:
        query = query.where(m.Incident.id == incident_id)
    if limit is not None:
        query = query.limit(limit)
    rows = list(query.tuples().execute(db))
    if not rows:
        return []
    timelines: dict[int, list[TimelineEntry]] = {row[0]: [] for row in rows}
    entries = (
        m.Timeline.select(m.Timeline.incident, m.Timeline.at, m.Timeline.kind, m.Timeline.detail)
        .where(m.Timeline.incident.in_(list(timelines)))
        .order_by(m.Timeline.at, m.Timeline.id)
        .tuples()
    )
    for owner, at, kind, detail in entries.execute(db):
        timelines[owner].append(TimelineEntry(at, TimelineKind(kind), detail))
    return [
        Incident(
            id=row_id, monitor=name, state=IncidentState(state), cause=cause, started_at=started_at,
            opened_at=opened_at, acknowledged_at=acknowledged_at, resolved_at=resolved_at,
            events=tuple(timelines[row_id]),
        )
        for (row_id, _monitor_id, state, cause, started_at, opened_at, acknowledged_at, resolved_at,
             name) in rows
    ]


def recent_checks(db: SqliteDatabase, monitor_id: int, monitor: str, limit: int) -> list[CheckResult]:
    rows = db.execute_sql(
        'SELECT c.at_ms, c.code, c.latency_us, c.status, r.text FROM "check" AS c '
        "LEFT JOIN reason AS r ON r.id = c.error_id WHERE c.monitor_id = ? ORDER BY c.at_ms DESC LIMIT ?",
        (monitor_id, limit),
    ).fetchall()
    return [
        CheckResult(
            monitor=monitor, at=from_ms(at_ms), outcome=code_outcome(code), latency_ms=from_us(latency_us),
            status_code=status, reason=reason, in_maintenance=bool(code & MAINTENANCE),
        )
        for at_ms, code, latency_us, status, reason in rows
    ]


def notify_failed_incidents(db: SqliteDatabase) -> set[int]:
    """Ids of open incidents whose timeline records a notification that was given up."""
    rows = db.execute_sql(
        "SELECT DISTINCT t.incident_id FROM timeline AS t JOIN incident AS i ON i.id = t.incident_id "
        "WHERE i.state != 'resolved' AND t.kind = ?", (TimelineKind.NOTIFY_FAILED.value,)
    ).fetchall()
    return {row[0] for row in rows}

"""The check pipeline's write: checks, rollups, state, incidents, outbox and actions in one batch.

`apply_writes` runs inside the caller's IMMEDIATE transaction; everything a batch touches commits
together or not at all (DESIGN §2 step 5).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.incidents import (
    Event,
    IncidentAcknowledged,
    IncidentOpened,
    IncidentResolved,
    ReminderDue,
)
from shiptrack_tui.core.messages import fill_incident
from shiptrack_tui.core.model import (
    CheckResult,
    IncidentState,
    MonitorState,
    OutboxItem,
    TimelineEntry,
    TimelineKind,
)
from shiptrack_tui.storage import compaction
from shiptrack_tui.storage.codec import pack_code, to_ms, to_us
from shiptrack_tui.storage.dialect import Connection
from shiptrack_tui.storage.lookups import rows_by_key
from shiptrack_tui.storage.names import Names
from shiptrack_tui.storage.rollups import RollupAccumulator, update_rollups

log = logging.getLogger("shiptrack.storage")


@dataclass(frozen=True, slots=True)
class PipelineWrite:
    """One monitor's change, as the engine hands it to storage.

    `timeline` is an addition to the agreed shape: extra entries (any kind) for the monitor's
    current incident, for callers that record something other than a note. `status` and `severity`
    set the current incident's status (a posted update) and severity (an operator's change).
    """

    monitor: str
    state: MonitorState  # the monitor's state after the change
    result: CheckResult | None = None  # the check row to store (None for action-only writes)
    events: tuple[Event, ...] = ()
    outbox: tuple[OutboxItem, ...] = ()  # linked to the incident these events concern
    action_id: int | None = None  # mark this action applied in the same transaction
    action_error: str | None = None  # or record why it could not be applied
    timeline_notes: tuple[tuple[float, str], ...] = ()  # (at, text) notes on the current incident
    timeline: tuple[TimelineEntry, ...] = ()
    by: str | None = None  # the operator whose action this is: recorded on its ack and note entries
    status: str | None = None  # the current incident's new status (DESIGN §10)
    severity: str | None = None  # the current incident's new severity
    ping_ids: tuple[int, ...] = ()  # push pings this write applies: deleted in the same transaction
    epoch: int | None = None  # in a cluster, the epoch of the monitor's owner lease: fenced on commit

    @property
    def at(self) -> float:
        """When this change happened, by the engine's clock when it says so."""
        if self.events:
            return self.events[-1].at
        if self.result is not None:
            return self.result.at
        if self.timeline_notes:
            return self.timeline_notes[-1][0]
        if self.timeline:
            return self.timeline[-1].at
        return time.time()


def _add_timeline(conn: Connection, incident_id: int, at: float, kind: TimelineKind,
                  detail: str | None, by: str | None = None, status: str | None = None) -> None:
    conn.execute("INSERT INTO timeline (incident_id, at, kind, detail, by, status) VALUES (?, ?, ?, ?, ?, ?)",
                 (incident_id, at, kind.value, detail, by, status))


def open_incident_row(conn: Connection, monitor_id: int) -> tuple[int, float] | None:
    """(id, started_at) of the monitor's incident that is not resolved, if any."""
    return conn.execute(
        "SELECT id, started_at FROM incident WHERE monitor_id = ? AND state != 'resolved'", (monitor_id,)
    ).fetchone()


class _Batch:
    def __init__(self, conn: Connection, names: Names, late_ms: int) -> None:
        self.conn = conn
        self.names = names
        self.late_ms = late_ms  # checks before this may have been packed (storage/compaction.py)
        self.rollups = RollupAccumulator()
        self.final: dict[int, tuple[MonitorState, CheckResult | None]] = {}
        self.newest: dict[int, int] = {}  # monitor id -> latest at_ms written in this batch
        # (monitor id, at_ms) -> (code, latency_us, status, error_id), written at the end
        self.checks: dict[tuple[int, int], tuple[int, int | None, int | None, int | None]] = {}
        self.pings: list[tuple[int]] = []

    def apply(self, write: PipelineWrite) -> None:
        monitor_id = self.names.monitor_id(self.conn, write.monitor)
        if write.result is not None:
            self._store_check(monitor_id, write.result, write.state.paused)
        concerned: int | None = None
        for event in write.events:
            concerned = self._apply_event(monitor_id, event, write.by) or concerned
        changes = write.status is not None or write.severity is not None
        if concerned is None and (write.outbox or write.timeline_notes or write.timeline or changes):
            row = open_incident_row(self.conn, monitor_id)
            concerned = row[0] if row else None
        if concerned is not None:
            for at, text in write.timeline_notes:
                _add_timeline(self.conn, concerned, at, TimelineKind.NOTE, text, write.by)
            for e in write.timeline:
                _add_timeline(self.conn, concerned, e.at, e.kind, e.detail, e.by, e.status)
            if changes:
                self.conn.execute("UPDATE incident SET status = COALESCE(?, status), "
                                  "severity = COALESCE(?, severity) WHERE id = ?",
                                  (write.status, write.severity, concerned))
        elif write.timeline_notes or write.timeline or changes:
            log.warning("timeline entries for %s dropped: it has no incident", write.monitor)
        self._queue_outbox(concerned, write)
        if write.action_id is not None:
            self._finish_action(write)
        self.pings.extend((ping_id,) for ping_id in write.ping_ids)
        previous = self.final.get(monitor_id)
        last_result = write.result or (previous[1] if previous else None)
        self.final[monitor_id] = (write.state, last_result)

    def _store_check(self, monitor_id: int, result: CheckResult, paused: bool) -> None:
        """Queue the check row; `finish` writes the batch's checks with a few statements."""
        at_ms = to_ms(result.at)
        code = pack_code(result.outcome, result.in_maintenance, paused)
        error_id = self.names.reason_id(self.conn, result.reason) if result.reason else None
        # Same monitor, same millisecond: the newer check replaces the older, in this batch too.
        self.checks[(monitor_id, at_ms)] = (code, to_us(result.latency_ms), result.status_code, error_id)
        self.newest[monitor_id] = max(at_ms, self.newest.get(monitor_id, at_ms))

    def _write_checks(self) -> None:
        """Insert the batch's checks; one already stored at the same millisecond is replaced, and
        its tally taken out of the rollups before the new one's goes in."""
        stored = rows_by_key(self.conn, "check", ("monitor_id", "at_ms"), ("code", "latency_us"),
                             list(self.checks))
        # A late check may have been packed (held through a long outage and written again): take it
        # out of its block, so the new one replaces it as a raw row does. MOVE_LOCK, held since
        # the batch began, keeps the packer from moving any of these rows until this commits.
        packed = compaction.take_packed(self.conn, [key for key in self.checks
                                                    if key[1] < self.late_ms and key not in stored])
        inserts, updates = [], []
        for (monitor_id, at_ms), (code, latency_us, status, error_id) in self.checks.items():
            if (monitor_id, at_ms) in stored:
                updates.append((code, latency_us, status, error_id, monitor_id, at_ms))
            else:
                inserts.append((monitor_id, at_ms, code, latency_us, status, error_id))
            replaced = stored.get((monitor_id, at_ms)) or packed.get((monitor_id, at_ms))
            if replaced is not None:
                self.rollups.add(monitor_id, at_ms, replaced[0], replaced[1], sign=-1)
            self.rollups.add(monitor_id, at_ms, code, latency_us)
        if inserts:
            self.conn.executemany(
                'INSERT INTO "check" (monitor_id, at_ms, code, latency_us, status, error_id) '
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", inserts)
        if updates:
            self.conn.executemany(
                'UPDATE "check" SET code = ?, latency_us = ?, status = ?, error_id = ? '
                "WHERE monitor_id = ? AND at_ms = ?", updates)

    def _apply_event(self, monitor_id: int, event: Event, by: str | None) -> int | None:
        """Write one incident event; return the id of the incident it concerns."""
        if isinstance(event, IncidentOpened):
            return self._open(monitor_id, event)
        row = open_incident_row(self.conn, monitor_id)
        if isinstance(event, IncidentAcknowledged | IncidentResolved | ReminderDue) and row is None:
            log.warning("%s for %s ignored: no open incident is stored", type(event).__name__, event.monitor)
            return None
        if isinstance(event, IncidentAcknowledged):
            assert row is not None
            self.conn.execute("UPDATE incident SET state = ?, acknowledged_at = ? WHERE id = ?",
                              (IncidentState.ACKNOWLEDGED.value, event.at, row[0]))
            _add_timeline(self.conn, row[0], event.at, TimelineKind.ACKNOWLEDGED, event.note, by)
            return row[0]
        if isinstance(event, IncidentResolved):
            assert row is not None
            self._resolve(row[0], event.at, f"after {format_duration(event.duration)}")
            return row[0]
        if isinstance(event, ReminderDue):
            assert row is not None
            detail = f"open for {format_duration(event.at - event.started_at)}"
            _add_timeline(self.conn, row[0], event.at, TimelineKind.REMINDER, detail)
            return row[0]
        return None  # StatusChanged lives in the monitor's state

    def _open(self, monitor_id: int, event: IncidentOpened) -> int:
        existing = open_incident_row(self.conn, monitor_id)
        if existing is not None:
            if existing[1] == event.started_at:
                return existing[0]  # already stored: writing it twice must not open it twice
            log.warning("incident %s of %s superseded by a new one", existing[0], event.monitor)
            self._resolve(existing[0], event.at, "superseded by a new incident")
        incident_id = int(self.conn.execute(
            "INSERT INTO incident (monitor_id, state, cause, started_at, opened_at, severity) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (monitor_id, IncidentState.OPEN.value, event.cause, event.started_at, event.at,
             event.severity.value),
        ).fetchone()[0])
        _add_timeline(self.conn, incident_id, event.at, TimelineKind.OPENED, event.cause)
        return incident_id

    def _resolve(self, incident_id: int, at: float, detail: str) -> None:
        # Recovery writes the final status update too (DESIGN §10): the status column follows.
        self.conn.execute("UPDATE incident SET state = ?, resolved_at = ?, status = 'resolved' WHERE id = ?",
                          (IncidentState.RESOLVED.value, at, incident_id))
        _add_timeline(self.conn, incident_id, at, TimelineKind.RESOLVED, detail)

    def _queue_outbox(self, incident_id: int | None, write: PipelineWrite) -> None:
        if not write.outbox:
            return
        created = write.at
        self.conn.executemany(
            "INSERT INTO outbox (incident_id, monitor, transition, url, title, body, notify_type, "
            "created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0.0)",
            # The incident's number is known only now: fill it into the message (core/messages.py).
            [(incident_id, item.monitor, item.transition.value, item.url,
              fill_incident(item.title, incident_id), fill_incident(item.body, incident_id, write.by),
              item.notify_type, created) for item in write.outbox],
        )

    def _finish_action(self, write: PipelineWrite) -> None:
        if write.action_error is not None:
            self.conn.execute("UPDATE action SET error = ? WHERE id = ?",
                              (write.action_error, write.action_id))
        else:
            self.conn.execute("UPDATE action SET applied_at = ? WHERE id = ?", (write.at, write.action_id))

    def finish(self) -> set[int]:
        self._write_checks()
        rewritten = update_rollups(self.conn, self.rollups)
        self.conn.executemany(
            "UPDATE monitor SET newest_check_ms = CASE WHEN newest_check_ms IS NULL OR newest_check_ms < ?1 "
            "THEN ?1 ELSE newest_check_ms END WHERE id = ?2",
            [(at_ms, monitor_id) for monitor_id, at_ms in self.newest.items()],
        )
        if self.pings:
            self.conn.executemany("DELETE FROM ping WHERE id = ?", self.pings)
        rows = []
        for monitor_id, (state, result) in self.final.items():
            rows.append((
                state.status.value, state.consecutive_failures, state.consecutive_successes,
                state.first_failure_at, state.first_failure_reason, state.last_check_at,
                state.last_latency_ms, state.last_error, int(state.paused), state.run_started_at,
                result is not None, result.status_code if result else None,
                result.cert_days_left if result else None, monitor_id,
            ))
        self.conn.executemany(
            "UPDATE monitor SET status = ?, consecutive_failures = ?, consecutive_successes = ?, "
            "first_failure_at = ?, first_failure_reason = ?, last_check_at = ?, last_latency_ms = ?, "
            "last_error = ?, paused = ?, run_started_at = ?, "
            "last_status_code = CASE WHEN ? THEN ? ELSE last_status_code END, "
            "cert_days_left = COALESCE(?, cert_days_left) WHERE id = ?",
            rows,
        )
        return rewritten


def apply_writes(conn: Connection, names: Names, writes: Sequence[PipelineWrite]) -> set[int]:
    """Store a batch of pipeline writes; call inside an IMMEDIATE transaction.

    Returns the ids of monitors that got a check in one of their older hours.
    """
    late_ms = compaction.late_before(time.time())
    if any(write.result is not None and to_ms(write.result.at) < late_ms for write in writes):
        # Before any row of the batch: the one lock order the packer follows too (compaction.py).
        compaction.hold_for_late_writes(conn)
    batch = _Batch(conn, names, late_ms)
    for write in writes:
        batch.apply(write)
    return batch.finish()

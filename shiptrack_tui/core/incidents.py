"""The incident state machine: fold check results and operator signals into a monitor's state.

Every transition lives in `TRANSITIONS`; an illegal one raises without changing anything.
Time is always an argument, so replaying a stored history gives the same answer as living it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from shiptrack_tui.core.model import (
    DEFAULT_SEVERITY,
    CheckResult,
    IncidentState,
    MonitorState,
    MonitorStatus,
    OpenIncident,
    Outcome,
    Policy,
    Severity,
)


class Signal(StrEnum):
    ACK = "ack"
    RECOVERED = "recovered"


TRANSITIONS: Final = {
    (IncidentState.OPEN, Signal.ACK): IncidentState.ACKNOWLEDGED,
    (IncidentState.OPEN, Signal.RECOVERED): IncidentState.RESOLVED,
    (IncidentState.ACKNOWLEDGED, Signal.RECOVERED): IncidentState.RESOLVED,
}


class IllegalTransition(ValueError):
    """An operator asked for something the incident's state does not allow."""


@dataclass(frozen=True, slots=True)
class IncidentOpened:
    monitor: str
    at: float
    started_at: float
    cause: str
    severity: Severity = DEFAULT_SEVERITY  # the monitor's, when it opened (DESIGN §10)


@dataclass(frozen=True, slots=True)
class IncidentAcknowledged:
    monitor: str
    at: float
    started_at: float
    note: str | None


@dataclass(frozen=True, slots=True)
class IncidentResolved:
    monitor: str
    at: float
    started_at: float
    cause: str

    @property
    def duration(self) -> float:
        return self.at - self.started_at


@dataclass(frozen=True, slots=True)
class StatusChanged:
    monitor: str
    at: float
    old: MonitorStatus
    new: MonitorStatus


@dataclass(frozen=True, slots=True)
class ReminderDue:
    """An open, unacknowledged incident has gone `remind_every` without anyone taking it."""

    monitor: str
    at: float
    started_at: float
    cause: str


Event = IncidentOpened | IncidentAcknowledged | IncidentResolved | StatusChanged | ReminderDue


def _next_incident_state(current: IncidentState, signal: Signal) -> IncidentState:
    try:
        return TRANSITIONS[(current, signal)]
    except KeyError:
        raise IllegalTransition(f"an incident that is {current} cannot take {signal}") from None


def _healthy_status(outcome: Outcome) -> MonitorStatus:
    return MonitorStatus.DEGRADED if outcome is Outcome.DEGRADED else MonitorStatus.UP


def step(state: MonitorState, result: CheckResult, policy: Policy) -> tuple[MonitorState, list[Event]]:
    """Fold one check result into a monitor's state; return the events it caused."""
    events: list[Event] = []
    observed = replace(
        state,
        last_check_at=result.at,
        last_latency_ms=result.latency_ms,
        last_error=None if result.ok else result.reason,
    )
    if state.paused:
        # A check already in flight when the operator paused: keep it, count nothing.
        return observed, events

    if result.ok:
        new = replace(
            observed,
            consecutive_successes=state.consecutive_successes + 1,
            consecutive_failures=0,
            first_failure_at=None,
            first_failure_reason=None,
        )
        incident = state.incident
        if incident is not None and new.consecutive_successes >= policy.recovery_threshold:
            _next_incident_state(incident.state, Signal.RECOVERED)
            events.append(IncidentResolved(result.monitor, result.at, incident.started_at, incident.cause))
            new = replace(new, incident=None)
        if new.incident is not None:
            status = MonitorStatus.DOWN
        elif result.in_maintenance:
            status = MonitorStatus.MAINTENANCE
        else:
            status = _healthy_status(result.outcome)
    elif result.in_maintenance:
        # Failures in a maintenance window never count towards an incident (DESIGN §3).
        new = replace(observed, consecutive_successes=0, consecutive_failures=0,
                      first_failure_at=None, first_failure_reason=None)
        status = MonitorStatus.DOWN if new.incident is not None else MonitorStatus.MAINTENANCE
    else:
        failures = state.consecutive_failures + 1
        first_at = state.first_failure_at if state.first_failure_at is not None else result.at
        first_reason = state.first_failure_reason or result.reason or "check failed"
        new = replace(
            observed,
            consecutive_failures=failures,
            consecutive_successes=0,
            first_failure_at=first_at,
            first_failure_reason=first_reason,
        )
        if state.incident is None and failures >= policy.failure_threshold:
            cause = result.reason or first_reason
            new = replace(new, incident=OpenIncident(started_at=first_at, opened_at=result.at, cause=cause))
            events.append(IncidentOpened(result.monitor, result.at, first_at, cause, policy.severity))
        status = MonitorStatus.DOWN if new.incident is not None else MonitorStatus.PENDING

    if status is not state.status:
        events.append(StatusChanged(result.monitor, result.at, state.status, status))
    return replace(new, status=status), events


def acknowledge(
    state: MonitorState, monitor: str, at: float, note: str | None = None
) -> tuple[MonitorState, list[Event]]:
    """The operator takes ownership of the open incident; raises if there is none to take."""
    incident = state.incident
    if incident is None:
        raise IllegalTransition(f"{monitor} has no open incident to acknowledge")
    next_state = _next_incident_state(incident.state, Signal.ACK)
    acked = replace(incident, state=next_state, acknowledged_at=at)
    return replace(state, incident=acked), [IncidentAcknowledged(monitor, at, incident.started_at, note)]


def pause(state: MonitorState, monitor: str, at: float) -> tuple[MonitorState, list[Event]]:
    """Stop counting: a paused monitor opens nothing and counts neither for nor against uptime."""
    if state.paused:
        return state, []
    new = replace(state, paused=True, consecutive_failures=0, consecutive_successes=0,
                  first_failure_at=None, first_failure_reason=None, status=MonitorStatus.PAUSED)
    return new, [StatusChanged(monitor, at, state.status, MonitorStatus.PAUSED)]


def resume(state: MonitorState, monitor: str, at: float) -> tuple[MonitorState, list[Event]]:
    """Start counting again from nothing; an incident left open stays open until recovery."""
    if not state.paused:
        return state, []
    status = MonitorStatus.DOWN if state.incident is not None else MonitorStatus.UNKNOWN
    new = replace(state, paused=False, status=status)
    return new, [StatusChanged(monitor, at, MonitorStatus.PAUSED, status)]


def reminder_due(state: MonitorState, monitor: str, last_reminded_at: float | None,
                 remind_every: float | None, now: float) -> ReminderDue | None:
    """A reminder when an incident has stayed open and unacknowledged for another `remind_every`."""
    incident = state.incident
    if remind_every is None or incident is None or incident.state is not IncidentState.OPEN:
        return None
    since = last_reminded_at if last_reminded_at is not None else incident.opened_at
    if now - since < remind_every:
        return None
    return ReminderDue(monitor, now, incident.started_at, incident.cause)

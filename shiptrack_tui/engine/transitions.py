"""One log line per incident transition, for the daemon's stderr and journald."""

from __future__ import annotations

import logging

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.incidents import (
    Event,
    IncidentAcknowledged,
    IncidentOpened,
    IncidentResolved,
    ReminderDue,
    StatusChanged,
)
from shiptrack_tui.core.model import MonitorSpec

log = logging.getLogger("shiptrack.incidents")


def describe(event: Event, spec: MonitorSpec) -> str | None:
    """The log line for an event, or None for events too small to log at warning level."""
    match event:
        case IncidentOpened():
            return f"[OPEN] {spec.name} — {event.cause} ({spec.url})"
        case IncidentAcknowledged():
            note = f": {event.note}" if event.note else ""
            return f"[ACK] {spec.name}{note}"
        case IncidentResolved():
            return f"[RESOLVED] {spec.name} — down for {format_duration(event.duration)}"
        case ReminderDue():
            down_for = format_duration(event.at - event.started_at)
            return f"[REMINDER] {spec.name} — {event.cause}, down for {down_for}"
        case StatusChanged():
            return None
    return None


def log_event(event: Event, spec: MonitorSpec) -> None:
    line = describe(event, spec)
    if line is not None:
        log.warning(line)
    elif isinstance(event, StatusChanged):
        log.info("%s is %s (was %s)", spec.name, event.new, event.old)

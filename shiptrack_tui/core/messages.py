"""Notification text: what people read when an incident opens, is acknowledged, resolves or lingers,
and the status updates its handlers post.

The first line says it all (`[OPEN] api — HTTP 503`, `[IDENTIFIED] Checkout (high) — bad deploy`);
the body adds what failed, since when, for how long and the target. Pure and standard library only:
time is always an argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.formats import fmt_datetime
from shiptrack_tui.core.incidents import (
    Event,
    IncidentAcknowledged,
    IncidentOpened,
    IncidentResolved,
    ReminderDue,
    StatusChanged,
)
from shiptrack_tui.core.model import Transition

TAGS: Final = {
    Transition.OPEN: "OPEN",
    Transition.ACK: "ACK",
    Transition.RESOLVE: "RESOLVED",
    Transition.REMINDER: "REMINDER",
    Transition.UPDATE: "UPDATE",  # an update's title carries the status posted instead
}

# Apprise notification types (apprise.NotifyType values), kept as plain text so the core needs no Apprise.
NOTIFY_TYPES: Final = {
    Transition.OPEN: "failure",
    Transition.ACK: "info",
    Transition.RESOLVE: "success",
    Transition.REMINDER: "failure",
    Transition.UPDATE: "info",
}

MAX_CAUSE_IN_TITLE: Final = 120


# The incident's number is known only once its row is written, and who acknowledged only to the
# write that carries the action: the message holds these marks and storage fills them in
# (`fill_incident`) in the transaction that writes the outbox row.
INCIDENT_MARK: Final = "\x1fincident\x1f"
BY_MARK: Final = "\x1fby\x1f"


def iso_utc(at: float) -> str:
    """POSIX seconds as ISO 8601 UTC with a `Z`, to the second."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(at: float) -> str:
    """A time as people on call read it: the display zone (`[display] timezone`, else the
    machine's) with its abbreviation: `2026-11-18 12:06:40 CET`."""
    return fmt_datetime(at)


def span(seconds: float) -> str:
    """A duration in a message: whole seconds (`1m 25s`, `5s`), never `5.0s` beside them."""
    return format_duration(round(max(seconds, 0.0)))


def one_line(text: str, limit: int = MAX_CAUSE_IN_TITLE) -> str:
    """Collapse whitespace (a reason may hold newlines) and cap the length for a title."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def fill_incident(text: str, incident_id: int | None, by: str | None = None) -> str:
    """Put the incident's number (and who acted) where the message has marks for them; without a
    number, drop the lines that would show it."""
    text = text.replace(BY_MARK, f" by {by}" if by else "")
    if INCIDENT_MARK not in text:
        return text
    if incident_id is not None:
        return text.replace(INCIDENT_MARK, str(incident_id))
    return "\n".join(line for line in text.split("\n") if INCIDENT_MARK not in line)


def render(
    transition: Transition,
    monitor: str,
    target: str,
    cause: str,
    started_at: float,
    at: float,
    note: str | None = None,
    *,
    host: str | None = None,
    incident_id: int | None = None,
    severity: str | None = None,
    services: Sequence[str] = (),
) -> tuple[str, str, str]:
    """Return (title, body, Apprise notify type) for one transition of one incident.

    `started_at` is the first failing check; `at` is when the transition happened. The reason is
    said once: in the title, or in the body when the title has none (RESOLVED) or had to shorten
    it. Without `incident_id` the body keeps a mark for storage to fill (`fill_incident`).
    `severity` (known when it opens) and `services` (those the monitor belongs to) add a line each.
    """
    cause = cause.strip() or "check failed"
    lasted = span(at - started_at)
    number = INCIDENT_MARK if incident_id is None else str(incident_id)
    if transition is Transition.RESOLVE:
        title = f"[RESOLVED] {monitor} — down for {lasted}"
        lines = [f"{monitor} is back up.", f"What failed: {cause}", f"Down since: {when(started_at)}",
                 f"Resolved at: {when(at)}"]
    else:
        title = f"[{TAGS[transition]}] {monitor} — {one_line(cause)}"
        lines = [_opening_line(transition, monitor, lasted)]
        if one_line(cause) != cause:
            lines.append(f"What failed: {cause}")
        lines += [f"Down since: {when(started_at)}", f"Down for: {lasted}"]
        if transition is Transition.ACK:
            lines.append(f"Acknowledged at: {when(at)}{BY_MARK}")
            if note and note.strip():
                lines.append(f"Note: {note.strip()}")
    if severity:
        lines.append(f"Severity: {severity}")
    if services:
        lines.append(f"Services: {', '.join(services)}")
    lines.append(f"Target: {target}")
    if transition in (Transition.OPEN, Transition.REMINDER):
        lines.append(f"Incident: #{number} (acknowledge: shiptrack ack {number})")
    else:
        lines.append(f"Incident: #{number}")
    if host:
        lines.append(f"Sent by: ShipTrack on {host}")
    return title, "\n".join(lines), NOTIFY_TYPES[transition]


def _opening_line(transition: Transition, monitor: str, lasted: str) -> str:
    if transition is Transition.OPEN:
        return f"{monitor} is down."
    if transition is Transition.ACK:
        return f"{monitor} is still down; someone is on it."
    return f"{monitor} is still down after {lasted} and nobody has acknowledged it."


def transition_of(event: Event) -> Transition | None:
    """The transition an incident event announces; None for events nobody is told about."""
    match event:
        case IncidentOpened():
            return Transition.OPEN
        case IncidentAcknowledged():
            return Transition.ACK
        case IncidentResolved():
            return Transition.RESOLVE
        case ReminderDue():
            return Transition.REMINDER
    return None


def render_event(
    event: Event, target: str, cause: str | None = None, host: str | None = None,
    services: Sequence[str] = (),
) -> tuple[Transition, str, str, str] | None:
    """(transition, title, body, notify type) for an incident event, or None if it is not announced.

    An acknowledgement does not carry the incident's cause; pass it as `cause`. `host` names the
    machine that sends it; `services` the services its monitor belongs to.
    """
    transition = transition_of(event)
    if transition is None or isinstance(event, StatusChanged):
        return None
    note = event.note if isinstance(event, IncidentAcknowledged) else None
    own_cause = None if isinstance(event, IncidentAcknowledged) else event.cause
    event_cause = own_cause or cause
    title, body, notify_type = render(
        transition, event.monitor, target, event_cause or "check failed", event.started_at, event.at, note,
        host=host, severity=str(event.severity) if isinstance(event, IncidentOpened) else None,
        services=services,
    )
    if event_cause is None and transition is Transition.ACK:
        # The engine did not say why it was down; never invent a reason in the first line.
        title = f"[ACK] {event.monitor} — acknowledged"
    return transition, title, body, notify_type


def render_update(
    status: str,
    message: str | None,
    *,
    monitor: str,
    services: Sequence[str],
    severity: str,
    incident_id: int,
    by: str | None,
    at: float,
    target: str,
    host: str | None = None,
) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) for a status update an operator posted.

    The first line names what people care about: `[IDENTIFIED] Checkout (high) — bad deploy`, the
    services the monitor belongs to (comma-joined; the monitor's name when it belongs to none), the
    incident's current severity and the message. The body says which monitor, which incident, who.
    """
    said = one_line(message or "")
    subject = ", ".join(services) or monitor
    title = f"[{status.upper()}] {subject} ({severity})" + (f" — {said}" if said else "")
    lines = [f"Incident #{incident_id} is now {status}."]
    if message and said != message.strip():
        lines.append(f"Update: {message.strip()}")
    lines += [f"Monitor: {monitor}", f"Severity: {severity}"]
    if services:
        lines.append(f"Services: {', '.join(services)}")
    lines += [f"Posted at: {when(at)}" + (f" by {by}" if by else ""), f"Target: {target}",
              f"Incident: #{incident_id}"]
    if host:
        lines.append(f"Sent by: ShipTrack on {host}")
    return title, "\n".join(lines), NOTIFY_TYPES[Transition.UPDATE]


def render_test(at: float) -> tuple[str, str, str]:
    """The message `shiptrack notify-test` sends to every configured URL."""
    return (
        "[TEST] ShipTrack — notifications work",
        f"This is a test message from ShipTrack, sent at {when(at)}.\n"
        "If you can read it, incidents will reach you here.",
        "info",
    )

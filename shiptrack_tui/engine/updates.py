"""Status updates and severity changes: the operator actions that speak about an incident (DESIGN §10).

As for an acknowledgement, the engine first checks that the action names the monitor's open
incident. An update then moves the incident's status forward through core/incident_status.py; a
severity change sets its severity. One pipeline write carries the timeline entry, the incident's
new status or severity, the action's outcome and (for updates) the outbox rows of every URL whose
events include "update", so they commit together or not at all.

What this engine wrote last about each incident is remembered (`IncidentTalk`): an update queued
right behind another is judged against it even before the writer has committed the first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from shiptrack_tui.core.incident_status import parse_severity, parse_status, post_update
from shiptrack_tui.core.incidents import IllegalTransition
from shiptrack_tui.core.messages import render_update
from shiptrack_tui.core.model import (
    Action,
    ActionKind,
    Incident,
    IncidentState,
    IncidentStatus,
    MonitorSpec,
    MonitorState,
    Severity,
    TimelineEntry,
    TimelineKind,
)
from shiptrack_tui.core.services import ServiceSpec
from shiptrack_tui.notify import NotificationSender, sender_host, update_items
from shiptrack_tui.notify.redact import redact_target
from shiptrack_tui.storage import PipelineWrite, Store, Writer

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.engine.silencing import Silencer

log = logging.getLogger("shiptrack.incidents")

INCIDENT_ACTIONS: Final = frozenset({ActionKind.UPDATE, ActionKind.SEVERITY})
REMEMBERED: Final = 1024
"""Incidents whose last word this engine keeps; older ones are long committed and read back."""


class IncidentTalk:
    """What this engine last wrote about incidents (status, severity), and each monitor's services."""

    def __init__(self) -> None:
        self._said: dict[int, tuple[IncidentStatus, Severity]] = {}
        self._services: dict[str, tuple[str, ...]] = {}

    def current(self, incident: Incident) -> tuple[IncidentStatus, Severity]:
        """The incident's status and severity: as this engine last wrote them, else as stored."""
        return self._said.get(incident.id, (incident.status, incident.severity))

    def said(self, incident_id: int, status: IncidentStatus, severity: Severity) -> None:
        self._said.pop(incident_id, None)
        self._said[incident_id] = (status, severity)
        while len(self._said) > REMEMBERED:
            del self._said[next(iter(self._said))]

    def services_of(self, spec: MonitorSpec, services: Sequence[ServiceSpec]) -> tuple[str, ...]:
        """The names of the services `spec` belongs to, in config order (cached per monitor)."""
        found = self._services.get(spec.name)
        if found is None:
            mine = {spec.name: spec.tags}
            found = tuple(s.name for s in services if spec.name in s.members(mine))
            self._services[spec.name] = found
        return found

    def forget_services(self) -> None:
        """The config changed: memberships are worked out again on demand."""
        self._services.clear()


class IncidentUpdates:
    """The engine's half that applies UPDATE and SEVERITY actions; mixed into `Engine`."""

    store: Store
    clock: Callable[[], float]
    config: Config
    _states: dict[str, MonitorState]
    _writer: Writer | None
    _sender: NotificationSender | None
    _silencer: Silencer
    _listeners: list[Callable[[set[str]], None]]
    _talk: IncidentTalk
    _reject: Callable[[Action, str], None]
    _still_open: Callable[[Action, MonitorState], MonitorState]

    async def _apply_incident_action(self, action: Action, spec: MonitorSpec) -> None:
        assert self._writer is not None
        try:
            incident = await self._the_open_incident(action, self._states[spec.name])
            # Checks ran while we awaited the store: act on the state as it is now.
            state, now = self._still_open(action, self._states[spec.name]), self.clock()
            if action.kind is ActionKind.UPDATE:
                write = self._update(action, spec, state, incident, now)
            else:
                write = self._severity(action, spec, state, incident, now)
        except IllegalTransition as error:
            self._reject(action, str(error))
            return
        self._writer.submit(write)
        if write.outbox and self._sender is not None:
            self._sender.wake()
        for listener in self._listeners:
            listener({spec.name})

    async def _the_open_incident(self, action: Action, state: MonitorState) -> Incident:
        """The incident the action names, if it is its monitor's open one; else refuse."""
        if action.incident_id is None:
            what = "a status update" if action.kind is ActionKind.UPDATE else "a severity change"
            raise IllegalTransition(f"{what} must name its incident")
        which = f"incident {action.incident_id}"
        incident = await asyncio.to_thread(self.store.incident, action.incident_id)
        if incident is None:
            raise IllegalTransition(f"there is no {which}")
        if incident.state is IncidentState.RESOLVED or state.incident is None or (
            incident.started_at != state.incident.started_at
        ):
            if action.kind is ActionKind.UPDATE:
                raise IllegalTransition(f"{which} is resolved and takes no further update")
            raise IllegalTransition(f"{which} is resolved: its severity no longer changes")
        return incident

    def _update(self, action: Action, spec: MonitorSpec, state: MonitorState, incident: Incident,
                now: float) -> PipelineWrite:
        try:
            posted = parse_status(action.value or "")
        except ValueError as error:
            raise IllegalTransition(str(error)) from None
        status, severity = self._talk.current(incident)
        new = post_update(status, posted, who=f"incident {incident.id}")
        message = (action.note or "").strip() or None
        entry = TimelineEntry(now, TimelineKind.UPDATE, message, action.source, str(new))
        services = self._talk.services_of(spec, self.config.services)
        rendered = render_update(str(new), message, monitor=spec.name, services=services,
                                 severity=str(severity), incident_id=incident.id, by=action.source, at=now,
                                 target=redact_target(spec.url), host=sender_host())
        # An incident that opened silenced (or in a window) stays quiet to the end, updates included.
        muted = self._silencer.consider(spec, state, [], now, {}, []).muted
        outbox = () if muted else update_items(spec, self.config.notify, rendered)
        self._talk.said(incident.id, new, severity)
        log.info("%s (incident %s, by %s)", rendered[0], incident.id, action.source)
        return PipelineWrite(spec.name, state, timeline=(entry,), outbox=outbox, action_id=action.id,
                             by=action.source, status=str(new))

    def _severity(self, action: Action, spec: MonitorSpec, state: MonitorState, incident: Incident,
                  now: float) -> PipelineWrite:
        try:
            level = parse_severity(action.value or "")
        except ValueError as error:
            raise IllegalTransition(str(error)) from None
        status, severity = self._talk.current(incident)
        if level is severity:
            # Already so: the operator's wish holds; nothing to record but the action's outcome.
            return PipelineWrite(spec.name, state, action_id=action.id)
        reason = (action.note or "").strip()
        detail = f"{severity} → {level}" + (f" — {reason}" if reason else "")
        entry = TimelineEntry(now, TimelineKind.SEVERITY, detail, action.source)
        self._talk.said(incident.id, status, level)
        log.info("incident %s of %s: severity %s (by %s)", incident.id, spec.name, detail, action.source)
        return PipelineWrite(spec.name, state, timeline=(entry,), action_id=action.id, by=action.source,
                             severity=str(level))

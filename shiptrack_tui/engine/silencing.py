"""The engine's silences: which monitors' notifications are muted now, and what the timeline says.

A silence mutes notifications, not checks: checks run, are stored, and incidents open and resolve
as usual. What an incident's OPEN was decides the rest of it:
- An incident that opened while silenced or in a maintenance window stays quiet until it
  resolves, even if the silence or window ends first, so nobody is told RESOLVED about an
  incident they were never told had OPENED.
- An incident whose OPEN was announced always gets its ACK and RESOLVED, silence or window or not,
  so no page is left open for ever. Only its reminders pause while a silence or window covers it.
Which open incidents are quiet is kept on their timelines (a `silenced` entry written with the
OPEN), so it survives a restart. The decisions are here; the engine does the writing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from shiptrack_tui.core.incidents import Event, IncidentOpened, IncidentResolved, ReminderDue
from shiptrack_tui.core.model import (
    Action,
    ActionKind,
    Incident,
    MonitorSpec,
    MonitorState,
    Silence,
    SilenceScope,
    TimelineEntry,
    TimelineKind,
)
from shiptrack_tui.core.silences import (
    SilenceError,
    SilenceRequest,
    SilenceTarget,
    describe_end,
    describe_start,
    ended_by_resolve,
    expired,
    muting,
    target_of,
)

OPENED_SILENCED = "opened while silenced: "
OPENED_IN_MAINTENANCE = "opened during maintenance: "
Notes = list[tuple[str, TimelineEntry]]
"""Timeline entries for covered monitors (the engine writes those that have an incident open)."""


class SilenceStore(Protocol):
    """The storage calls silences need (blocking; run off the loop)."""

    def start_silence(self, silence: Silence, action_id: int | None = None) -> Silence: ...

    def end_silences(self, ids: Sequence[int], at: float, reason: str,
                     action_id: int | None = None) -> None: ...


class SilenceRefused(Exception):
    """An operator's silence action that cannot be applied; the message says why."""


@dataclass(frozen=True, slots=True)
class Hush:
    """What silences mean for one write: mute its outbox? add timeline entries? end silences?"""

    muted: bool = False
    timeline: tuple[TimelineEntry, ...] = ()
    ended: tuple[Silence, ...] = ()


class Silencer:
    """Holds the active silences (loaded from the store, then kept in step with it)."""

    def __init__(self, store: SilenceStore) -> None:
        self.store = store
        self.active: list[Silence] = []
        self._quiet_incidents: dict[str, float] = {}  # monitor -> started_at of an incident opened silenced

    def seed(self, silences: Iterable[Silence], open_incidents: Iterable[Incident]) -> None:
        """After a restart: the stored active silences, and which open incidents opened silenced."""
        self.active = list(silences)
        for incident in open_incidents:
            if any(e.kind is TimelineKind.SILENCED
                   and (e.detail or "").startswith((OPENED_SILENCED, OPENED_IN_MAINTENANCE))
                   for e in incident.events):
                self._quiet_incidents[incident.monitor] = incident.started_at

    def rename(self, old: str, new: str) -> None:
        """A monitor was renamed: its silences and quiet incident follow it (as stored ones did)."""
        self.active = [replace(s, value=new) if s.scope is SilenceScope.MONITOR and s.value == old else s
                       for s in self.active]
        if old in self._quiet_incidents:
            self._quiet_incidents[new] = self._quiet_incidents.pop(old)

    def add(self, silence: Silence) -> None:
        self.active.append(silence)

    def remove(self, ended: Collection[Silence]) -> None:
        ids = {silence.id for silence in ended}
        self.active = [silence for silence in self.active if silence.id not in ids]

    @staticmethod
    def _notes(silence: Silence, specs: Iterable[MonitorSpec], entry: TimelineEntry) -> Notes:
        target = target_of(silence)
        return [(spec.name, entry) for spec in specs if target.covers(spec.name, spec.tags)]

    async def apply(self, action: Action, specs: Collection[MonitorSpec], now: float) -> Notes:
        """Start a silence (the action's note says what and for how long) or lift a target's."""
        try:
            request = SilenceRequest.from_note(action.note) if action.kind is ActionKind.SILENCE else None
            target = request.target if request is not None else SilenceTarget.parse(action.note or "")
        except SilenceError as error:
            raise SilenceRefused(str(error)) from None
        if not any(target.covers(spec.name, spec.tags) for spec in specs):
            raise SilenceRefused(f"{target.label} covers no monitor that is being monitored")
        if request is not None:
            wanted = request.silence(0, now, action.source)
            silence = await asyncio.to_thread(self.store.start_silence, wanted, action.id)
            self.add(silence)
            entry = TimelineEntry(now, TimelineKind.SILENCED, describe_start(silence))
            return self._notes(silence, specs, entry)
        lifted = [silence for silence in self.active if target_of(silence) == target]
        if not lifted:
            raise SilenceRefused(f"{target.label} is not silenced")
        why = f"lifted by {action.source}"
        await asyncio.to_thread(self.store.end_silences, [s.id for s in lifted], now, why, action.id)
        self.remove(lifted)
        return [note for s in lifted for note in self._notes(
            s, specs, TimelineEntry(now, TimelineKind.SILENCE_ENDED, describe_end(s, why)))]

    async def expire(self, specs: Collection[MonitorSpec], now: float) -> Notes:
        """End the silences whose time is up."""
        ending = expired(self.active, now)
        if not ending:
            return []
        await asyncio.to_thread(self.store_end, ending, now, "expired")
        self.remove(ending)
        return [note for s in ending for note in self._notes(
            s, specs, TimelineEntry(now, TimelineKind.SILENCE_ENDED, describe_end(s, "expired")))]

    def store_end(self, ended: Sequence[Silence], at: float, why: str) -> None:
        """Blocking: record that these silences ended."""
        self.store.end_silences([s.id for s in ended], at, why)

    def consider(self, spec: MonitorSpec, state: MonitorState, events: Sequence[Event], at: float,
                 tags_of: Mapping[str, Collection[str]], still_open: Collection[str],
                 maintenance: str | None = None) -> Hush:
        """Fold one write's events: mute it or not, and end "until resolved" silences it resolves.

        `maintenance` names the window covering the monitor now (None outside any window).
        """
        silence = muting(self.active, spec.name, spec.tags, at)
        timeline: list[TimelineEntry] = []
        opened = state.incident is not None and any(isinstance(event, IncidentOpened) for event in events)
        hushed_by = (OPENED_SILENCED + describe_start(silence) if silence is not None
                     else None if maintenance is None else OPENED_IN_MAINTENANCE + maintenance)
        if opened and hushed_by is not None:
            assert state.incident is not None
            self._quiet_incidents[spec.name] = state.incident.started_at
            timeline.append(TimelineEntry(at, TimelineKind.SILENCED, hushed_by))
        resolved = [event for event in events if isinstance(event, IncidentResolved)]
        started = state.incident.started_at if state.incident is not None else None
        if resolved:
            started = resolved[-1].started_at
        quiet = started is not None and self._quiet_incidents.get(spec.name) == started
        # A reminder of an announced incident waits out a silence or window; ACK and RESOLVED never do.
        reminding = any(isinstance(event, ReminderDue) for event in events)
        muted = quiet or (hushed_by is not None and reminding)
        ended: list[Silence] = []
        if resolved:
            self._quiet_incidents.pop(spec.name, None)
            ended = ended_by_resolve(self.active, spec.name, tags_of, still_open)
            why = "incident resolved"
            timeline.extend(TimelineEntry(at, TimelineKind.SILENCE_ENDED, describe_end(s, why))
                            for s in ended)
            self.remove(ended)
        return Hush(muted, tuple(timeline), tuple(ended))

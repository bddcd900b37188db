"""Operator actions: acknowledge, note, pause, resume, check now, silence, status updates and
severity changes (engine/updates.py) — applied in order.

Whichever process the operator uses writes an action row (DESIGN §4); the engine reads pending
rows every half second (or at once when woken), applies them through the core state machine and
records the outcome in the same transaction as the change, or why it was refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from shiptrack_tui.core.incidents import IllegalTransition, acknowledge, pause, resume
from shiptrack_tui.core.model import (
    Action,
    ActionKind,
    IncidentState,
    MonitorSpec,
    MonitorState,
    TimelineEntry,
)
from shiptrack_tui.engine.silencing import Silencer, SilenceRefused
from shiptrack_tui.engine.updates import INCIDENT_ACTIONS, IncidentUpdates
from shiptrack_tui.storage import PipelineWrite, Store, Writer
from shiptrack_tui.storage.outage import trouble

if TYPE_CHECKING:
    from shiptrack_tui.engine.scheduler import Schedule

log = logging.getLogger("shiptrack.engine")
ACTION_POLL_SECONDS = 0.5


def storage_trouble(store: Store, error: BaseException, what: str) -> None:
    """A storage call failed; the caller retries (see storage/outage.py `trouble`)."""
    trouble(store.outage, error, what, log)


def log_task_failure(task: asyncio.Future[object]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("engine task failed: %s", error, exc_info=error)


class OperatorActions(IncidentUpdates):
    """The engine's half that applies operator actions; mixed into `Engine`."""

    store: Store
    clock: Callable[[], float]
    _specs: dict[str, MonitorSpec]
    _states: dict[str, MonitorState]
    _schedule: Schedule
    _silencer: Silencer
    _writer: Writer | None
    _listeners: list[Callable[[set[str]], None]]
    _submitted_actions: set[int]
    _actions_due: asyncio.Event
    _reschedule: asyncio.Event
    _submit: Callable[..., None]  # Engine's pipeline write: (spec, state, events, **PipelineWrite fields)
    _push_resumed: Callable[[str], None]  # engine/push.py: a resumed push monitor is watched again
    _takes_action: Callable[[Action], bool]  # engine/cluster.py: this node applies it
    _owns_chores: Callable[[], bool]  # engine/cluster.py: this node runs the cluster-wide chores

    # -- operator actions ---------------------------------------------------------------------
    async def _action_loop(self) -> None:
        while True:
            try:
                actions = await asyncio.to_thread(self.store.pending_actions)
                for action in actions:
                    # A rename is applied with the config that renames (Engine._apply_config_async).
                    if action.id not in self._submitted_actions and action.kind is not ActionKind.RENAME and (
                        self._takes_action(action)
                    ):
                        await self._apply_action(action)
                self.store.outage.ok()
            except Exception as error:
                storage_trouble(self.store, error, "could not read operator actions")
            try:
                if self._owns_chores():
                    await self._expire_silences()
            except Exception as error:
                storage_trouble(self.store, error, "could not end expired silences")
            self._actions_due.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ACTION_POLL_SECONDS):
                    await self._actions_due.wait()

    # -- silences -------------------------------------------------------------------------------
    async def _apply_silence_action(self, action: Action) -> None:
        try:
            notes = await self._silencer.apply(action, self._specs.values(), self.clock())
        except SilenceRefused as refusal:
            self._reject(action, str(refusal))
            return
        self._note_on_incidents(notes)

    async def _expire_silences(self) -> None:
        self._note_on_incidents(await self._silencer.expire(self._specs.values(), self.clock()))

    def _note_on_incidents(self, notes: list[tuple[str, TimelineEntry]]) -> None:
        """Record a silence starting or ending on the timeline of each covered open incident."""
        assert self._writer is not None
        for name, entry in notes:
            state = self._states.get(name)
            if state is not None and state.incident is not None:
                self._writer.submit(PipelineWrite(name, state, timeline=(entry,)))
        for listener in self._listeners:
            listener({name for name, _ in notes})

    async def _apply_action(self, action: Action) -> None:
        self._submitted_actions.add(action.id)
        if action.kind in (ActionKind.SILENCE, ActionKind.UNSILENCE):
            await self._apply_silence_action(action)
            return
        name = action.monitor
        spec = self._specs.get(name) if name else None
        if spec is None:
            self._reject(action, f"monitor {name!r} is not being monitored")
            return
        if action.kind in INCIDENT_ACTIONS:
            await self._apply_incident_action(action, spec)
            return
        state = self._states[spec.name]
        now = self.clock()
        try:
            if action.kind is ActionKind.CHECK_NOW:
                if spec.push:  # nothing to probe: it was marked applied and nothing happened
                    self._reject(action, f"{spec.name} is a push monitor: its pings are its checks, "
                                         "there is nothing to check now")
                    return
                self._schedule.run_now(spec.name, now)
                self._reschedule.set()
                self._submit(spec, state, [], action_id=action.id)
                return
            if action.kind in (ActionKind.ACK, ActionKind.NOTE):
                await self._ensure_same_incident(action, state)
                # Checks ran while we awaited the store: act on the state as it is now, and only
                # if the incident checked is still the open one (a recovery may have resolved it).
                state, now = self._still_open(action, state), self.clock()
            if action.kind is ActionKind.ACK and state.incident is not None and (
                state.incident.state is IncidentState.ACKNOWLEDGED
            ):
                # Acknowledging twice is no error: it already holds. A note given with it still lands.
                notes = ((now, action.note),) if action.note else ()
                self._submit(spec, state, [], action_id=action.id, timeline_notes=notes, by=action.source)
                return
            if action.kind is ActionKind.ACK:
                state, events = acknowledge(state, spec.name, now, action.note)
            elif action.kind is ActionKind.NOTE:
                notes = ((now, action.note or ""),)
                self._submit(spec, state, [], action_id=action.id, timeline_notes=notes, by=action.source)
                return
            elif action.kind is ActionKind.PAUSE:
                state, events = pause(state, spec.name, now)
            else:
                state, events = resume(state, spec.name, now)
        except IllegalTransition as error:
            self._reject(action, str(error))
            return
        self._states[spec.name] = state
        if action.kind is ActionKind.RESUME:
            self._push_resumed(spec.name)
        self._submit(spec, state, events, action_id=action.id, by=action.source)

    async def _ensure_same_incident(self, action: Action, state: MonitorState) -> None:
        """An ack or note names an incident id; refuse it when that incident is not the open one."""
        if state.incident is None:
            raise IllegalTransition(f"{action.monitor} has no open incident")
        if action.incident_id is None:
            return
        incident = await asyncio.to_thread(self.store.incident, action.incident_id)
        if incident is None or incident.state is IncidentState.RESOLVED or (
            incident.started_at != state.incident.started_at
        ):
            raise IllegalTransition(f"incident {action.incident_id} is not open")

    def _still_open(self, action: Action, before: MonitorState) -> MonitorState:
        """The monitor's state now, if it still has the incident `before` had; else refuse."""
        name = action.monitor or ""
        current = self._states.get(name) if name in self._specs else None
        if current is None or current.incident is None or before.incident is None or (
            current.incident.started_at != before.incident.started_at
        ):
            which = f"incident {action.incident_id}" if action.incident_id is not None else "the incident"
            raise IllegalTransition(f"{which} is not open (it resolved meanwhile)")
        return current

    def _reject(self, action: Action, why: str) -> None:
        """Record why an action could not be applied, so `shiptrack ack` can tell the operator."""
        log.warning("action %s (%s) refused: %s", action.id, action.kind, why)
        refusal = asyncio.to_thread(self.store.reject_action, action.id, self.clock(), why)
        task = asyncio.ensure_future(refusal)
        task.add_done_callback(log_task_failure)

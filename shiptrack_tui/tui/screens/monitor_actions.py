"""What the operator does to monitors from the dashboard: action rows and silences.

Operator actions (ack, pause, silence, ...) are rows the engine applies (DESIGN §4). Config-file
edits (add, edit, duplicate, delete) are `MonitorEdits`' half.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual import on, work

from shiptrack_tui.config import operator
from shiptrack_tui.core.model import (
    ActionKind,
    Incident,
    IncidentState,
    MonitorStatus,
    MonitorSummary,
    Silence,
)
from shiptrack_tui.core.push import PUSH_TARGET
from shiptrack_tui.core.silences import SilenceRequest, SilenceTarget, is_active, target_of
from shiptrack_tui.tui.daemon_watch import queued_summary
from shiptrack_tui.tui.formatting import is_acknowledged, status_of
from shiptrack_tui.tui.messages import ActionSettled, ActionWritten
from shiptrack_tui.tui.modals.choice_modal import ChoiceModal
from shiptrack_tui.tui.modals.note_modal import NoteModal
from shiptrack_tui.tui.modals.silence_modal import SilenceModal
from shiptrack_tui.tui.screens.monitor_edits import NO_FILE, MonitorEdits
from shiptrack_tui.tui.store_access import StoreGateway

__all__ = ["NO_FILE", "MonitorActions"]

OUTCOME_WAIT = 5.0
"""How long the dashboard watches an action it wrote for the engine to apply or refuse it (s)."""


class MonitorActions(MonitorEdits):
    """The dashboard's operator side; `Dashboard` adds the panes, the reads and the keys
    (every key is in tui/bindings.py)."""

    def __init__(self, gateway: StoreGateway, config_path: Path | None) -> None:
        super().__init__(gateway, config_path)
        self.silences: tuple[Silence, ...] = ()
        """Active silences, as of the last overview read."""

    def selected_incident(self) -> Incident | None:
        """The incident the operator picked in the incidents pane, when that pane has the keys."""
        return None

    # ---- action rows ---------------------------------------------------------------------------

    @work(group="actions", exit_on_error=False)
    async def _write_action(self, kind: ActionKind, done: str, *, monitor: str | None = None,
                            incident_id: int | None = None, note: str | None = None,
                            value: str | None = None) -> None:
        at = self.app_clock()
        action_id = await self._gateway.call(
            lambda store: store.add_action(
                kind, at=at, monitor=monitor, incident_id=incident_id, note=note, value=value,
                source=operator("dashboard"),
            )
        )
        if not self.engine_live():  # the row waits in the database: say so rather than "Checking api now."
            self.post_message(ActionWritten(kind, action_id, queued_summary(kind, monitor, incident_id),
                                            queued=True))
            return
        self.post_message(ActionWritten(kind, action_id, done))  # wakes an in-process engine
        applied, refusal = await self._outcome(action_id)
        self.post_message(ActionSettled(done, refusal, applied))

    async def _outcome(self, action_id: int) -> tuple[bool, str | None]:
        """(applied, the engine's reason for refusing) within OUTCOME_WAIT. The dashboard checks
        what it can beforehand, but the engine decides: an incident may resolve, or another
        operator act, between the key and the engine's turn."""
        deadline = time.monotonic() + OUTCOME_WAIT
        while time.monotonic() < deadline:
            applied_at, error = await self._gateway.call(lambda store: store.action_outcome(action_id))
            if error is not None or applied_at is not None:
                return error is None, error
            await asyncio.sleep(0.1)
        return False, None

    def engine_live(self) -> bool:
        """Whether an engine applies actions now; the dashboard knows (it watches the daemon)."""
        return True

    @on(ActionWritten)
    def _action_written(self, message: ActionWritten) -> None:
        # Not stopped: the app sees it next and wakes an in-process engine.
        if message.queued:
            self.notify(message.summary, severity="warning", timeout=6)
        self.request_reload()

    @on(ActionSettled)
    def _action_settled(self, message: ActionSettled) -> None:
        if message.refusal is not None:
            # As the engine words it (it may start with a monitor's name: never recapitalised).
            self.notify(message.refusal.rstrip(".") + ".", title="Not done", severity="error", timeout=8)
        elif message.applied:
            self.notify(message.summary, timeout=3)
        else:
            self.notify(f"Not applied yet (is the engine busy?): {message.summary}", severity="warning",
                        timeout=6)
        self.request_reload()

    def _open_incident(self) -> tuple[str, int] | None:
        """The incident `a` and `n` act on: the one selected in the incidents pane, else the
        selected monitor's open one; with a warning instead when there is none to act on."""
        incident = self.selected_incident()
        if incident is not None:
            if incident.state is IncidentState.RESOLVED:
                self.notify(f"Incident #{incident.id} on {incident.monitor} is resolved: only an open "
                            "incident takes an acknowledgement or a note.", severity="warning")
                return None
            return incident.monitor, incident.id
        summary = self._require_selected()
        if summary is None:
            return None
        if summary.open_incident_id is None:
            self.notify(f"{summary.name} has no open incident.", severity="warning")
            return None
        return summary.name, summary.open_incident_id

    def _is_acknowledged(self, monitor: str, incident_id: int) -> bool:
        incident = self.selected_incident()
        if incident is not None and incident.id == incident_id:
            return incident.state is IncidentState.ACKNOWLEDGED
        summary = self._summary(monitor)
        return summary is not None and is_acknowledged(summary)

    def action_ack(self) -> None:
        found = self._open_incident()
        if found is None:
            return
        monitor, incident_id = found
        if self._is_acknowledged(monitor, incident_id):
            self.notify(f"Incident #{incident_id} on {monitor} is already acknowledged; "
                        "n adds a note to it.", timeout=4)
            return

        def acknowledge(note: str | None) -> None:
            if note is not None:
                self._write_action(ActionKind.ACK, f"Acknowledged incident #{incident_id} on {monitor}.",
                                   incident_id=incident_id, note=note or None)

        title = f"Acknowledge incident #{incident_id} on {monitor}"
        self.app.push_screen(NoteModal(title, confirm="Acknowledge"), acknowledge)

    def action_note(self) -> None:
        found = self._open_incident()
        if found is None:
            return
        monitor, incident_id = found

        def add_note(note: str | None) -> None:
            if note:
                self._write_action(ActionKind.NOTE, f"Note added to incident #{incident_id}.",
                                   incident_id=incident_id, note=note)

        title = f"Note on incident #{incident_id} ({monitor})"
        self.app.push_screen(NoteModal(title, confirm="Add note", required=True), add_note)

    def action_check_now(self) -> None:
        summary = self._require_selected()
        if summary is None:
            return
        if summary.target == PUSH_TARGET:  # the engine would refuse it: say why at once
            self.notify(f"{summary.name} is a push monitor: its pings are its checks.",
                        severity="warning", timeout=4)
            return
        self._write_action(ActionKind.CHECK_NOW, f"Checking {summary.name} now.", monitor=summary.name)

    def action_pause(self) -> None:
        summary = self._require_selected()
        if summary is None:
            return
        if status_of(summary) is MonitorStatus.PAUSED:
            self._write_action(ActionKind.RESUME, f"Resuming {summary.name}.", monitor=summary.name)
        else:
            self._write_action(ActionKind.PAUSE, f"Pausing {summary.name}.", monitor=summary.name)

    # ---- silences ------------------------------------------------------------------------------

    def action_silence(self) -> None:
        summary = self._require_selected()
        if summary is None:
            return

        def silence(request: SilenceRequest | None) -> None:
            if request is not None:
                done = f"Silencing {request.target.label} {request.length_text}."
                self._write_action(ActionKind.SILENCE, done,
                                   monitor=summary.name, note=request.to_note())

        self.app.push_screen(SilenceModal(summary.name, summary.tags), silence)

    def covering_silences(self, summary: MonitorSummary, now: float) -> list[Silence]:
        return [s for s in self.silences
                if is_active(s, now) and target_of(s).covers(summary.name, summary.tags)]

    def action_unsilence(self) -> None:
        summary = self._require_selected()
        if summary is None:
            return
        covering = self.covering_silences(summary, self.app_clock())
        if not covering:
            self.notify(f"{summary.name} is not silenced.", severity="warning")
            return

        def lift(target: SilenceTarget) -> None:
            self._write_action(ActionKind.UNSILENCE, f"Lifting the silence on {target.label}.",
                               monitor=summary.name, note=str(target))

        targets = {str(target_of(s)): target_of(s) for s in covering}
        if len(targets) == 1:
            lift(next(iter(targets.values())))
            return
        choices = [*((key, target.label, "primary") for key, target in targets.items()),
                   ("cancel", "Cancel", "default")]
        modal = ChoiceModal("Lift which silence?", f"{summary.name} is covered by more than one.", choices)
        self.app.push_screen(modal, lambda key: lift(targets[key]) if key in targets else None)

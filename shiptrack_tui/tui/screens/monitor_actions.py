"""What the operator does to monitors from the dashboard: action rows, config edits and silences.

Operator actions (ack, pause, silence, ...) are rows the engine applies (DESIGN §4). Monitor edits
go to the config file, the source of truth (DESIGN §5): the modals return what to do, this screen
saves it off the loop with the digest it loaded, shows a conflict when the file changed on disk,
and posts `ConfigSaved` so the app hands the new config to an in-process engine at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar, Final

from textual import on, work
from textual.binding import Binding, BindingType
from textual.screen import Screen

from shiptrack_tui.config import ConfigConflict, ConfigError, operator
from shiptrack_tui.core.model import ActionKind, MonitorStatus, MonitorSummary, Silence
from shiptrack_tui.core.silences import SilenceRequest, SilenceTarget, is_active, target_of
from shiptrack_tui.tui.config_edits import ConfigSnapshot, MonitorEdit, load_snapshot, save_edit
from shiptrack_tui.tui.formatting import status_of
from shiptrack_tui.tui.messages import ActionWritten, ConfigSaved, EditFailed
from shiptrack_tui.tui.modals.choice_modal import ChoiceModal
from shiptrack_tui.tui.modals.monitor_form import MonitorForm
from shiptrack_tui.tui.modals.note_modal import NoteModal
from shiptrack_tui.tui.modals.silence_modal import SilenceModal
from shiptrack_tui.tui.store_access import StoreGateway

NO_FILE: Final = "Editing needs a config file; the demo has none (run with --config to edit monitors)."


class MonitorActions(Screen[None]):
    """The dashboard's operator side; `Dashboard` adds the panes and the reads."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_monitor", "Edit", id="dashboard.edit", show=False),
        Binding("plus,ctrl+n", "add_monitor", "Add", id="dashboard.add", show=False),
        Binding("d", "duplicate_monitor", "Duplicate", id="dashboard.duplicate", show=False),
        Binding("delete,x", "delete_monitor", "Delete", id="dashboard.delete", show=False),
        Binding("s", "silence", "Silence", id="dashboard.silence", show=False),
        Binding("S", "unsilence", "Unsilence", id="dashboard.unsilence", show=False),
    ]

    def __init__(self, gateway: StoreGateway, config_path: Path | None) -> None:
        super().__init__()
        self._gateway = gateway
        self._config_path = config_path
        self.snapshot: ConfigSnapshot | None = None
        """The config file as last loaded or saved here; edits are checked against its digest."""
        self._snapshot_problem: str | None = None if config_path is not None else NO_FILE
        self._by_name: dict[str, MonitorSummary] = {}
        self.silences: tuple[Silence, ...] = ()
        """Active silences, as of the last overview read."""

    def selected_name(self) -> str | None:
        """The monitor under the cursor; the dashboard knows its table."""
        raise NotImplementedError

    def request_reload(self) -> None:
        raise NotImplementedError

    def _summary(self, name: str | None) -> MonitorSummary | None:
        return None if name is None else self._by_name.get(name)

    def _require_selected(self) -> MonitorSummary | None:
        summary = self._summary(self.selected_name())
        if summary is None:
            self.notify("Select a monitor first.", severity="warning")
        return summary

    # ---- action rows ---------------------------------------------------------------------------

    @work(group="actions", exit_on_error=False)
    async def _write_action(self, kind: ActionKind, done: str, *, monitor: str | None = None,
                            incident_id: int | None = None, note: str | None = None) -> None:
        at = self.app_clock()
        action_id = await self._gateway.call(
            lambda store: store.add_action(
                kind, at=at, monitor=monitor, incident_id=incident_id, note=note, source=operator("dashboard")
            )
        )
        self.post_message(ActionWritten(kind, action_id, done))

    def app_clock(self) -> float:
        raise NotImplementedError

    @on(ActionWritten)
    def _action_written(self, message: ActionWritten) -> None:
        # Not stopped: the app sees it next and wakes an in-process engine.
        self.notify(message.summary, timeout=3)
        self.request_reload()

    def _open_incident(self) -> tuple[MonitorSummary, int] | None:
        summary = self._require_selected()
        if summary is None:
            return None
        if summary.open_incident_id is None:
            self.notify(f"{summary.name} has no open incident.", severity="warning")
            return None
        return summary, summary.open_incident_id

    def action_ack(self) -> None:
        found = self._open_incident()
        if found is None:
            return
        summary, incident_id = found

        def acknowledge(note: str | None) -> None:
            if note is not None:
                self._write_action(ActionKind.ACK, f"Acknowledged incident #{incident_id} on {summary.name}.",
                                   incident_id=incident_id, note=note or None)

        title = f"Acknowledge incident #{incident_id} on {summary.name}"
        self.app.push_screen(NoteModal(title, confirm="Acknowledge"), acknowledge)

    def action_note(self) -> None:
        found = self._open_incident()
        if found is None:
            return
        summary, incident_id = found

        def add_note(note: str | None) -> None:
            if note:
                self._write_action(ActionKind.NOTE, f"Note added to incident #{incident_id}.",
                                   incident_id=incident_id, note=note)

        title = f"Note on incident #{incident_id} ({summary.name})"
        self.app.push_screen(NoteModal(title, confirm="Add note", required=True), add_note)

    def action_check_now(self) -> None:
        summary = self._require_selected()
        if summary is not None:
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

    # ---- config edits --------------------------------------------------------------------------

    def load_config_snapshot(self) -> None:
        if self._config_path is not None:
            self._load_snapshot(self._config_path)

    @work(group="config", exit_on_error=False)
    async def _load_snapshot(self, path: Path) -> None:
        try:
            self.snapshot = await asyncio.to_thread(load_snapshot, path)
            self._snapshot_problem = None
        except ConfigError as error:
            self._snapshot_problem = f"The config file does not load, so it cannot be edited here: {error}"
        self.snapshot_loaded()

    def snapshot_loaded(self) -> None:
        """Called when the snapshot changes (the dashboard refreshes what it shows from it)."""

    def _editable(self) -> ConfigSnapshot | None:
        if self.snapshot is None:
            self.notify(self._snapshot_problem or "The config file is still loading.", severity="warning")
        return self.snapshot

    def _raw_of_selected(self, snapshot: ConfigSnapshot) -> tuple[str, dict] | None:
        summary = self._require_selected()
        if summary is None:
            return None
        raw = snapshot.raw_monitor(summary.name)
        if raw is None:
            self.notify(f'"{summary.name}" is not in {snapshot.path}; it cannot be edited here.',
                        severity="warning")
            return None
        return summary.name, raw

    def action_add_monitor(self) -> None:
        snapshot = self._editable()
        if snapshot is not None:
            self.app.push_screen(MonitorForm(snapshot, "add", title="Add a monitor"), self._save_from_form)

    def action_edit_monitor(self) -> None:
        snapshot = self._editable()
        found = self._raw_of_selected(snapshot) if snapshot is not None else None
        if snapshot is not None and found is not None:
            name, raw = found
            form = MonitorForm(snapshot, "update", title=f'Edit monitor "{name}"', name=name, raw=raw)
            self.app.push_screen(form, self._save_from_form)

    def action_duplicate_monitor(self) -> None:
        snapshot = self._editable()
        found = self._raw_of_selected(snapshot) if snapshot is not None else None
        if snapshot is not None and found is not None:
            name, raw = found
            form = MonitorForm(snapshot, "add", title=f'Duplicate monitor "{name}"', raw=raw,
                               texts={"name": f"copy of {name}"})
            self.app.push_screen(form, self._save_from_form)

    def action_delete_monitor(self) -> None:
        snapshot = self._editable()
        found = self._raw_of_selected(snapshot) if snapshot is not None else None
        if snapshot is None or found is None:
            return
        name = found[0]
        body = (f'"{name}" is removed from {snapshot.path} (its comments too); its history stays in the '
                "database.")
        modal = ChoiceModal(f'Delete monitor "{name}"?', body,
                            [("delete", "Delete", "error"), ("cancel", "Cancel", "default")])
        edit = MonitorEdit("remove", name)
        self.app.push_screen(modal, lambda choice: self._save_edit(edit) if choice == "delete" else None)

    def _save_from_form(self, edit: MonitorEdit | None) -> None:
        if edit is not None:
            self._save_edit(edit)

    @work(group="config", exit_on_error=False)
    async def _save_edit(self, edit: MonitorEdit, reapply: bool = False) -> None:
        """Write the edit; with `reapply`, onto the file as it is now (after a conflict)."""
        assert self._config_path is not None and self.snapshot is not None
        path = self._config_path
        try:
            digest = self.snapshot.digest
            if reapply:
                digest = (await asyncio.to_thread(load_snapshot, path)).digest
            self.snapshot = await asyncio.to_thread(save_edit, path, digest, edit)
        except ConfigConflict as conflict:
            self.post_message(EditFailed(edit, str(conflict), conflict=True))
            return
        except (ConfigError, LookupError) as error:
            self.post_message(EditFailed(edit, str(error)))
            return
        self.snapshot_loaded()
        self.post_message(ConfigSaved(self.snapshot.config, edit.done))

    @on(ConfigSaved)
    def _config_saved(self, message: ConfigSaved) -> None:
        # Not stopped: the app hands the config to an in-process engine.
        self.notify(message.summary, timeout=3)
        self.request_reload()

    @on(EditFailed)
    def _edit_failed(self, message: EditFailed) -> None:
        if not message.conflict:
            self.notify(f"Nothing was saved. {message.reason}", title="Config not saved", severity="error",
                        timeout=10)
            return
        body = (f"{message.reason}.\n\nSomeone (an editor, `shiptrack monitor`, another dashboard) wrote the "
                "file after the dashboard loaded it. Reload it and apply your change to what is there "
                "now, or cancel and keep the file as it is.")
        modal = ChoiceModal("The config file changed on disk", body,
                            [("reapply", "Reload and re-apply my edit", "primary"),
                             ("cancel", "Cancel", "default")], dialog_id="conflict")
        edit = message.edit
        self.app.push_screen(modal, lambda choice: self._save_edit(edit, reapply=True) if choice == "reapply"
                             else None)

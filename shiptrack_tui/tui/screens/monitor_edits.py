"""Monitor edits from the dashboard: add, edit, duplicate and delete, written to the config file.

The config file is the source of truth (DESIGN §5): the modals return what to do, this screen
saves it off the loop with the digest it loaded, shows a conflict when the file changed on disk,
and posts `ConfigSaved` so the app hands the new config to an in-process engine at once.

A rename is an edit, not a delete and an add: before the file is written, a `rename` action row
tells whichever engine reads the new file (this process's, or a daemon's watcher) to carry the
monitor's history over to the new name (storage/renames.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Final

from textual import on, work
from textual.screen import Screen

from shiptrack_tui.config import ConfigConflict, ConfigError, operator
from shiptrack_tui.core.model import MonitorHistory, MonitorSummary
from shiptrack_tui.tui.config_edits import ConfigSnapshot, MonitorEdit, load_snapshot, save_edit
from shiptrack_tui.tui.messages import ConfigSaved, EditFailed
from shiptrack_tui.tui.modals.choice_modal import ChoiceModal
from shiptrack_tui.tui.modals.monitor_form import MonitorForm
from shiptrack_tui.tui.store_access import StoreGateway

NO_FILE: Final = "Editing needs a config file; the demo has none (run with --config to edit monitors)."


class MonitorEdits(Screen[None]):
    """The dashboard's config-file side; `MonitorActions` adds the action rows."""

    def __init__(self, gateway: StoreGateway, config_path: Path | None) -> None:
        super().__init__()
        self._gateway = gateway
        self._config_path = config_path
        self.snapshot: ConfigSnapshot | None = None
        """The config file as last loaded or saved here; edits are checked against its digest."""
        self._snapshot_problem: str | None = None if config_path is not None else NO_FILE
        self._by_name: dict[str, MonitorSummary] = {}

    def selected_name(self) -> str | None:
        """The monitor under the cursor; the dashboard knows its table."""
        raise NotImplementedError

    def request_reload(self) -> None:
        raise NotImplementedError

    def app_clock(self) -> float:
        raise NotImplementedError

    def _summary(self, name: str | None) -> MonitorSummary | None:
        return None if name is None else self._by_name.get(name)

    def _require_selected(self) -> MonitorSummary | None:
        summary = self._summary(self.selected_name())
        if summary is None:
            self.notify("Select a monitor first.", severity="warning")
        return summary

    # ---- the snapshot --------------------------------------------------------------------------

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
            self.notify(f"Monitor “{summary.name}” is not in {snapshot.path.name}, so it cannot be edited "
                        "here.", severity="warning")
            return None
        return summary.name, raw

    # ---- the forms -----------------------------------------------------------------------------

    def action_add_monitor(self) -> None:
        snapshot = self._editable()
        if snapshot is not None:
            self.app.push_screen(MonitorForm(snapshot, "add", title="Add a monitor"), self._save_from_form)

    def action_edit_monitor(self) -> None:
        snapshot = self._editable()
        found = self._raw_of_selected(snapshot) if snapshot is not None else None
        if snapshot is not None and found is not None:
            name, raw = found
            form = MonitorForm(snapshot, "update", title=f"Edit monitor “{name}”", name=name, raw=raw)
            self.app.push_screen(form, self._save_from_form)

    def action_duplicate_monitor(self) -> None:
        snapshot = self._editable()
        found = self._raw_of_selected(snapshot) if snapshot is not None else None
        if snapshot is not None and found is not None:
            name, raw = found
            form = MonitorForm(snapshot, "add", title=f"Duplicate monitor “{name}”", raw=raw,
                               texts={"name": f"copy of {name}"})
            self.app.push_screen(form, self._save_from_form)

    def _save_from_form(self, edit: MonitorEdit | None) -> None:
        if edit is not None:
            self._save_edit(edit)

    # ---- delete --------------------------------------------------------------------------------

    def action_delete_monitor(self) -> None:
        snapshot = self._editable()
        found = self._raw_of_selected(snapshot) if snapshot is not None else None
        if snapshot is not None and found is not None:
            self._confirm_delete(found[0], snapshot.path.name)

    @work(group="config", exit_on_error=False)
    async def _confirm_delete(self, name: str, file: str) -> None:
        history = await self._gateway.call(lambda store: store.history(name))
        modal = ChoiceModal(f"Delete monitor “{name}”?", delete_body(name, file, history),
                            [("delete", "Delete", "error"), ("cancel", "Cancel", "default")])
        edit = MonitorEdit("remove", name)
        self.app.push_screen(modal, lambda choice: self._save_edit(edit) if choice == "delete" else None)

    # ---- saving --------------------------------------------------------------------------------

    @work(group="config", exit_on_error=False)
    async def _save_edit(self, edit: MonitorEdit, reapply: bool = False) -> None:
        """Write the edit; with `reapply`, onto the file as it is now (after a conflict)."""
        assert self._config_path is not None and self.snapshot is not None
        path = self._config_path
        rename, follows = await self._announce_rename(edit)
        try:
            digest = self.snapshot.digest
            if reapply:
                digest = (await asyncio.to_thread(load_snapshot, path)).digest
            self.snapshot = await asyncio.to_thread(save_edit, path, digest, edit)
        except (ConfigConflict, ConfigError, LookupError) as error:
            await self._withdraw_rename(rename)
            self.post_message(EditFailed(edit, str(error), conflict=isinstance(error, ConfigConflict)))
            return
        self.snapshot_loaded()
        self.post_message(ConfigSaved(self.snapshot.config, edit.done(path.name, follows)))

    async def _announce_rename(self, edit: MonitorEdit) -> tuple[int | None, bool]:
        """Write the rename action before the file, so any engine that reads the file sees it.

        Returns (its id, whether the history can follow). No action when there is nothing to carry
        (not a rename, or no history under the old name) or the new name has a history of its own
        (the engine would refuse the rename: storage/renames.py)."""
        if not edit.renames:
            return None, True
        old, new, at, by = edit.name or "", edit.target, self.app_clock(), operator("dashboard")
        return await self._gateway.call(lambda store: store.announce_rename(old, new, at, by))

    async def _withdraw_rename(self, action_id: int | None) -> None:
        if action_id is not None:
            at = self.app_clock()
            await self._gateway.call(lambda store: store.withdraw_rename(action_id, at))

    @on(ConfigSaved)
    def _config_saved(self, message: ConfigSaved) -> None:
        # Not stopped: the app hands the config to an in-process engine.
        self.notify(message.summary, timeout=4)
        self.request_reload()

    @on(EditFailed)
    def _edit_failed(self, message: EditFailed) -> None:
        if not message.conflict:
            self.notify(f"Nothing was saved: {message.reason}", title="Config not saved", severity="error",
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


def delete_body(name: str, file: str, history: MonitorHistory | None) -> str:
    """What deleting does, history included, in the confirmation's words."""
    removed = f"“{name}” is removed from {file}, with its comments."
    if history is None or history.empty:
        return f"{removed} It has no history yet."
    return (f"{removed} Its history ({history}) stays in the database, out of sight, until retention "
            f"ages it out; a monitor added again as “{name}” takes it up.")

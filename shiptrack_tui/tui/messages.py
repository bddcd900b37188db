"""Messages that travel up to the screen and the app; high-rate ones coalesce (like Textualize/toolong)."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from shiptrack_tui.config import Config
from shiptrack_tui.core.model import ActionKind
from shiptrack_tui.tui.config_edits import MonitorEdit
from shiptrack_tui.tui.data import MonitorDetail, Overview


@dataclass
class DataChanged(Message):
    """New data landed in the database (from the engine's listener or the data_version poll)."""

    monitors: set[str] = field(default_factory=set)

    def can_replace(self, message: Message) -> bool:
        # The pending (newer) message stands for both: carry our names over to it.
        if isinstance(message, DataChanged):
            message.monitors |= self.monitors
            return True
        return False


@dataclass
class OverviewLoaded(Message):
    """A fresh read of every monitor and the incident list."""

    overview: Overview

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, OverviewLoaded)


@dataclass
class DetailLoaded(Message):
    """A fresh read of the selected monitor's detail."""

    detail: MonitorDetail


@dataclass
class ActionWritten(Message):
    """An operator action row was written; the app wakes an in-process engine so it applies at once."""

    kind: ActionKind
    action_id: int
    summary: str
    """What the operator is told, e.g. "Pausing api." (once applied: ActionSettled)."""
    queued: bool = False
    """No engine runs: the action waits in the database until one starts."""


@dataclass
class ActionSettled(Message):
    """What became of an action the dashboard wrote while an engine runs: applied, refused (the
    incident resolved meanwhile...), or neither yet after a few seconds."""

    summary: str
    """What the operator is told once it is applied, e.g. "Pausing api."."""
    refusal: str | None
    """The engine's reason, when it refused."""
    applied: bool


@dataclass
class ConfigSaved(Message):
    """The config file was written; the app hands the new Config to an in-process engine at once."""

    config: Config
    summary: str
    """What the operator is told, e.g. 'Saved monitor "api" in the config file.'."""


@dataclass
class EditFailed(Message):
    """A monitor edit was not saved: the file changed on disk (`conflict`) or the edit did not apply."""

    edit: MonitorEdit
    reason: str
    conflict: bool = False


@dataclass
class ViewChanged(Message):
    """The operator changed a view setting the app keeps across restarts (tui/view_state.py)."""

    window: str
    grouped: bool

"""Every dashboard key in one list: the footer, the `?` help and the command palette read it.

A key's `label` is its footer text, its `help` the sentence the help screen and the palette show,
and `title` its name in the palette (keys without one, like esc, are not palette commands).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Key:
    keys: str
    action: str
    label: str
    help: str
    id: str
    title: str | None = None
    show: bool = False

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.label, show=self.show, id=self.id, tooltip=self.help)


DASHBOARD_KEYS: Final = (
    Key("a", "ack", "Ack", "acknowledge the selected incident, or the selected monitor's (optional note)",
        "dashboard.ack", "Acknowledge incident", show=True),
    Key("n", "note", "Note", "add a note to the selected incident, or the selected monitor's",
        "dashboard.note", "Add note", show=True),
    Key("u", "update", "Update",
        "post a status update (identified, monitoring) with a message on the selected incident, or the "
        "selected monitor's; the status moves forward only", "dashboard.update", "Post status update",
        show=True),
    Key("v", "severity", "Severity",
        "change the severity (critical, high, medium, low) of the selected incident, or the selected "
        "monitor's",
        "dashboard.severity", "Change severity"),
    Key("w", "postmortem", "Postmortem",
        "write a postmortem draft (Markdown) of the selected incident, or the selected monitor's latest, "
        "into the current directory", "dashboard.postmortem", "Write postmortem"),
    Key("c", "check_now", "Check", "check the selected monitor now", "dashboard.check-now", "Check now",
        show=True),
    Key("p", "pause", "Pause", "pause or resume the selected monitor", "dashboard.pause", "Pause / resume",
        show=True),
    Key("s", "silence", "Silence",
        "silence notifications for the monitor or a tag: 15 min, 1 h, 4 h, until resolved",
        "dashboard.silence", "Silence"),
    Key("S", "unsilence", "Unsilence", "end the silence covering the selected monitor", "dashboard.unsilence",
        "Lift silence"),
    Key("e", "edit_monitor", "Edit", "edit the selected monitor in the config file", "dashboard.edit",
        "Edit monitor"),
    Key("plus,ctrl+n", "add_monitor", "Add", "add a monitor to the config file", "dashboard.add",
        "Add monitor"),
    Key("d", "duplicate_monitor", "Duplicate", "add a copy of the selected monitor", "dashboard.duplicate",
        "Duplicate monitor"),
    Key("delete,x", "delete_monitor", "Delete",
        "remove the selected monitor from the config file (asks first)", "dashboard.delete",
        "Delete monitor"),
    Key("slash", "filter", "Filter", "filter monitors and their incidents by name, tag or state",
        "dashboard.filter", "Filter monitors", show=True),
    Key("f", "next_service(1)", "Service",
        "show only the next service's monitors (after the last: every monitor again)",
        "dashboard.next-service", "Next service"),
    Key("F", "next_service(-1)", "Previous service", "show only the previous service's monitors",
        "dashboard.previous-service", "Previous service"),
    Key("escape", "back", "Back", "clear the filter or the service, or go back to the monitors list",
        "dashboard.back"),
    Key("tab", "cycle_pane(1)", "Next pane", "next pane (monitors, detail, incidents)",
        "dashboard.next-pane", "Next pane"),
    Key("shift+tab", "cycle_pane(-1)", "Previous pane", "previous pane", "dashboard.previous-pane",
        "Previous pane"),
    Key("j", "step_monitor(1)", "Next monitor", "next monitor, from the detail pane",
        "dashboard.next-monitor"),
    Key("k", "step_monitor(-1)", "Previous monitor", "previous monitor, from the detail pane",
        "dashboard.previous-monitor"),
    Key("g", "group", "Group", "group monitors by tag, or not", "dashboard.group", "Group by tag"),
    Key("1", "window('1h')", "1h", "latency chart over the last hour", "dashboard.window-1h",
        "Chart: 1 hour"),
    Key("2", "window('24h')", "24h", "latency chart over the last day", "dashboard.window-24h",
        "Chart: 24 hours"),
    Key("3", "window('7d')", "7d", "latency chart over the last week", "dashboard.window-7d",
        "Chart: 7 days"),
    Key("question_mark", "help", "Help", "list every key", "dashboard.help", show=True),
)
"""The dashboard's keys (tui/screens/dashboard.py and monitor_actions.py act on them)."""


def bindings(keys: Iterable[Key]) -> list[Binding]:
    return [key.binding() for key in keys]


def palette_entries(keys: Iterable[Key]) -> Iterator[tuple[Key, Binding]]:
    """Each key that is a palette command, with the binding of its first key (for its display)."""
    for key in keys:
        if key.title is not None:
            yield key, Binding(key.keys.split(",")[0], key.action, key.label)

"""The `?` help: every key the screen answers to right now, read from its active bindings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KeyGroup = tuple[str, Sequence[tuple[str, str]]]
"""A group title and its (keys, what they do) rows."""


def help_groups(screen: Screen) -> list[KeyGroup]:
    """The screen's active bindings grouped by where they are defined (the screen first, then
    the focused widget, then the app); keys bound to the same action share a row."""
    app = screen.app
    groups: dict[str, dict[str, tuple[list[str], str]]] = {}
    rank: dict[str, int] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        text = binding.tooltip or binding.description
        if binding.system or not text:
            continue
        node = active.node
        title = node.BINDING_GROUP_TITLE or type(node).__name__
        rank.setdefault(title, 0 if node is screen else 2 if node is app else 1)
        rows = groups.setdefault(title, {})
        keys, _ = rows.setdefault(binding.action, ([], text))
        shown = app.get_key_display(binding)
        if shown not in keys:
            keys.append(shown)
    ordered = sorted(groups.items(), key=lambda item: rank[item[0]])
    return [(title, [(" ".join(keys), text) for keys, text in rows.values()]) for title, rows in ordered]


class HelpScreen(ModalScreen[None]):
    """Lists the keys; scrolls with ↑ ↓ pgup pgdn when they do not fit; esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, groups: Sequence[KeyGroup]) -> None:
        super().__init__()
        self._groups = groups

    @property
    def table(self) -> Table:
        """The keys as the dialog shows them."""
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold", no_wrap=True)
        table.add_column(ratio=1)
        for index, (title, rows) in enumerate(self._groups):
            if index:
                table.add_row("", "")
            table.add_row("", Text(title, style="bold underline"))
            for keys, text in rows:
                table.add_row(keys, text)
        return table

    def compose(self) -> ComposeResult:
        table = self.table
        with Vertical(id="help-dialog"):
            yield Static("Keys", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(table, id="help-keys")
            yield Static("↑ ↓ pgup pgdn scroll · esc closes", id="help-hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)

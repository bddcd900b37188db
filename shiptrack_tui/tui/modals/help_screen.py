"""Every key the dashboard answers to, in one list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class HelpScreen(ModalScreen[None]):
    """Lists (keys, description) pairs; any of esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        width = max(len(key) for key, _ in self._keys)
        text = Text()
        for key, description in self._keys:
            text.append(f"{key:>{width}}", style="bold")
            text.append(f"  {description}\n")
        text.rstrip()
        with Vertical(id="help-dialog"):
            yield Static("Keys", id="help-title")
            yield Static(text, id="help-keys")
            yield Button("Close", id="help-close")

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

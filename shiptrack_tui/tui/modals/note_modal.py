"""A small dialog that asks for an optional note; it returns the text and writes nothing itself."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class NoteModal(ModalScreen[str | None]):
    """Dismisses with the note ("" when left empty and `required` is False), or None on cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="note.cancel"),
    ]

    def __init__(self, title: str, *, confirm: str = "OK", required: bool = False) -> None:
        super().__init__()
        self._title = title
        self._confirm = confirm
        self._required = required

    def compose(self) -> ComposeResult:
        with Vertical(id="note-dialog"):
            yield Label(self._title, id="note-title")
            placeholder = "note" if self._required else "note (optional)"
            yield Input(placeholder=placeholder, id="note-input")
            with Horizontal(id="note-buttons"):
                yield Button(self._confirm, variant="primary", id="note-ok")
                yield Button("Cancel", id="note-cancel")

    @on(Input.Submitted, "#note-input")
    @on(Button.Pressed, "#note-ok")
    def _confirm_note(self) -> None:
        note = self.query_one("#note-input", Input).value.strip()
        if self._required and not note:
            self.notify("Type a note, or press Esc to cancel.", severity="warning")
            return
        self.dismiss(note)

    @on(Button.Pressed, "#note-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

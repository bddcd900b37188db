"""A question with a few answers (delete? reload and re-apply?); returns the answer's id or None."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

Choice = tuple[str, str, str]
"""(id, button label, button variant)."""


class ChoiceModal(ModalScreen[str | None]):
    """Dismisses with the chosen id; Esc (or a "cancel" id) means None. Writes nothing itself."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="choice.cancel"),
    ]

    def __init__(self, title: str, body: str, choices: Sequence[Choice], *,
                 dialog_id: str = "choice") -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._choices = choices
        self._dialog_id = dialog_id

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-dialog", classes=f"-{self._dialog_id}"):
            yield Label(self._title, id="choice-title")
            yield Static(self._body, id="choice-body")
            with Horizontal(id="choice-buttons"):
                for choice_id, label, variant in self._choices:
                    yield Button(label, variant=variant, id=f"choice-{choice_id}")  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        choice = (event.button.id or "").removeprefix("choice-")
        self.dismiss(None if choice == "cancel" else choice)

    def action_cancel(self) -> None:
        self.dismiss(None)

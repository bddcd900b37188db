"""Pick one value from a short list and type a message: an incident's status update or severity.

Options that may not be chosen stay in the list, greyed out, with the one-line reason
(`investigating — refused: an incident that is identified cannot go back to investigating`).
The modal returns the choice and the text; it writes nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True, slots=True)
class PickOption:
    """One value; `refused` says in a few words why it cannot be chosen (None: it can)."""

    value: str
    label: str
    refused: str | None = None

    def prompt(self) -> str:
        return f"{self.label} — {self.refused}" if self.refused else self.label


@dataclass(frozen=True, slots=True)
class Picked:
    value: str
    text: str


class PickModal(ModalScreen[Picked | None]):
    """↑/↓ choose (also while typing), enter confirms, esc cancels; dismisses with `Picked` or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="pick.cancel"),
        Binding("up", "move(-1)", "Previous", show=False, id="pick.previous"),
        Binding("down", "move(1)", "Next", show=False, id="pick.next"),
    ]

    def __init__(self, title: str, about: str, options: Sequence[PickOption], chosen: str, *,
                 placeholder: str, confirm: str, required: bool, hint: str = "") -> None:
        super().__init__()
        self._title = title
        self._about = about
        self._options = tuple(options)
        self._chosen = chosen
        self._placeholder = placeholder
        self._confirm = confirm
        self._required = required
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-dialog"):
            yield Label(self._title, id="pick-title")
            yield Static(self._about, id="pick-about")
            # Compact widgets: the whole dialog fits an 80×24 terminal.
            yield OptionList(*(Option(o.prompt(), id=o.value, disabled=o.refused is not None)
                               for o in self._options), id="pick-options", compact=True)
            if self._hint:
                yield Static(self._hint, id="pick-hint")
            yield Input(placeholder=self._placeholder, id="pick-text", compact=True)
            with Horizontal(id="pick-buttons"):
                yield Button(self._confirm, variant="primary", id="pick-ok", compact=True)
                yield Button("Cancel", id="pick-cancel", compact=True)

    def on_mount(self) -> None:
        options = self.query_one("#pick-options", OptionList)
        values = [o.value for o in self._options]
        if self._chosen in values:
            options.highlighted = values.index(self._chosen)
        self.query_one("#pick-text", Input).focus()

    @property
    def choice(self) -> PickOption | None:
        index = self.query_one("#pick-options", OptionList).highlighted
        return self._options[index] if index is not None else None

    def action_move(self, step: int) -> None:
        options = self.query_one("#pick-options", OptionList)
        options.action_cursor_down() if step > 0 else options.action_cursor_up()

    @on(OptionList.OptionSelected, "#pick-options")
    def _option_chosen(self) -> None:
        self.query_one("#pick-text", Input).focus()

    @on(Input.Submitted, "#pick-text")
    @on(Button.Pressed, "#pick-ok")
    def _confirmed(self) -> None:
        choice = self.choice
        text = self.query_one("#pick-text", Input).value.strip()
        if choice is None or choice.refused is not None:
            self.notify("Choose one of the options that are not greyed out.", severity="warning")
            return
        if self._required and not text:
            self.notify("Type a message, or press Esc to cancel.", severity="warning")
            return
        self.dismiss(Picked(choice.value, text))

    @on(Button.Pressed, "#pick-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

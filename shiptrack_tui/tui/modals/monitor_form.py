"""The add / edit / duplicate form: validates as you type with check-config's own messages.

It returns the edit to make (a `MonitorEdit`) or None, and writes nothing itself: the dashboard
saves it. Validation runs the candidate edit through the config loader in memory, against the
snapshot the dashboard loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from shiptrack_tui.tui.config_edits import (
    FORM_FIELDS,
    ConfigSnapshot,
    EditKind,
    MonitorEdit,
    Problem,
    check_edit,
    edit_from_form,
    form_texts,
)


class MonitorForm(ModalScreen[MonitorEdit | None]):
    """`kind` "add" (blank or prefilled from `raw`, e.g. a duplicate) or "update" of monitor `name`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def __init__(self, snapshot: ConfigSnapshot, kind: EditKind, *, title: str, name: str | None = None,
                 raw: Mapping[str, Any] | None = None, texts: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._snapshot = snapshot
        self._kind = kind
        self._title = title
        self._name = name
        self._raw = dict(raw or {})
        self._initial = {**form_texts(raw), **(texts or {})}
        self.problems: list[Problem] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="form-dialog"):
            yield Label(self._title, id="form-title")
            with VerticalScroll(id="form-fields"):
                for key, label, placeholder in FORM_FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(self._initial.get(key, ""), placeholder=placeholder, id=f"field-{key}",
                                    compact=True, classes="form-input")
            yield Static("", id="form-problems")
            with Horizontal(id="form-buttons"):
                yield Button("Save", variant="primary", id="form-save")
                yield Button("Cancel", id="form-cancel")

    def on_mount(self) -> None:
        self.validate()

    def texts(self) -> dict[str, str]:
        return {key: self.query_one(f"#field-{key}", Input).value for key, _, _ in FORM_FIELDS}

    def edit(self) -> MonitorEdit:
        return edit_from_form(self._kind, self._name, self._raw, self.texts())

    def validate(self) -> list[Problem]:
        """Check the candidate and show what check-config would say; returns the problems."""
        self.problems = check_edit(self._snapshot, self.edit())
        keys = {problem.key for problem in self.problems}
        for key, _, _ in FORM_FIELDS:
            self.query_one(f"#field-{key}", Input).set_class(key in keys, "-problem")
        shown = self.query_one("#form-problems", Static)
        shown.set_class(bool(self.problems), "-problems")
        if self.problems:
            shown.update(Text("\n".join(problem.message for problem in self.problems)))
        else:
            shown.update("✓ valid — ctrl+s or enter saves")
        return self.problems

    @on(Input.Changed, ".form-input")
    def _changed(self) -> None:
        self.validate()

    @on(Input.Submitted, ".form-input")
    @on(Button.Pressed, "#form-save")
    def action_save(self) -> None:
        if self.validate():
            self.notify("Fix the problems shown first, or press Esc to cancel.", severity="warning")
            return
        edit = self.edit()
        if edit.kind == "update" and not edit.fields:
            self.dismiss(None)  # nothing changed: nothing to write
            return
        self.dismiss(edit)

    @on(Button.Pressed, "#form-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

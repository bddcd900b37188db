"""The add / edit / duplicate form: validates as you type, with check-config's checks in form words.

It returns the edit to make (a `MonitorEdit`) or None, and writes nothing itself: the dashboard
saves it. Validation runs the candidate edit through the config loader in memory, against the
snapshot the dashboard loaded. A field's problem shows once the operator has left the field (or
pressed Save), so a blank form does not open full of complaints.
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
from textual.widgets import Button, Checkbox, Input, Label, Static

from shiptrack_tui.config.push import PUSH_ONLY_KEYS
from shiptrack_tui.tui.config_edits import (
    ConfigSnapshot,
    EditKind,
    MonitorEdit,
    Problem,
    check_edit,
    edit_from_form,
    form_texts,
)
from shiptrack_tui.tui.form_fields import (
    FORM_FIELDS,
    FORM_KEYS,
    PUSH_FORM_KEYS,
    form_problem,
    hints,
    shown_keys,
)

READY = "✓ valid — ctrl+s or enter saves, esc cancels"
PUSH_LABEL = "no URL: a job pings it at /push/<token>"
WAITING = "ctrl+s or enter saves, esc cancels"


class KindCheckbox(Checkbox, inherit_bindings=False):
    """Space ticks it; enter saves the form, as it does from every field ("enter saves")."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "toggle_button", "Toggle", show=False)]


class MonitorForm(ModalScreen[MonitorEdit | None]):
    """`kind` "add" (blank or prefilled from `raw`, e.g. a duplicate) or "update" of monitor `name`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
        Binding("enter", "save", "Save", show=False),  # reached from the push checkbox
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
        self._defaults_in_file = snapshot.defaults_in_file
        self.problems: list[Problem] = []
        """Everything check-config would say now, shown or not."""
        self.left: set[str] = set()
        """Fields the operator has been in and left: their problems show."""
        self.save_tried = False
        """Save was pressed: every problem shows."""

    def compose(self) -> ComposeResult:
        placeholders = self._hints()
        with Vertical(id="form-dialog"):
            yield Label(self._title, id="form-title")
            with VerticalScroll(id="form-fields"):
                # First, where shift+tab from the name reaches it: tab from the name goes to the URL.
                with Horizontal(classes="form-row"):
                    yield Label("push monitor", classes="form-label")
                    yield KindCheckbox(PUSH_LABEL, self._initial.get("push") == "true", compact=True,
                                       id="field-push")
                for field in FORM_FIELDS:
                    shared = "" if field.key in PUSH_FORM_KEYS else " probe-only"
                    only = " push-only" if field.key in PUSH_ONLY_KEYS else shared
                    with Horizontal(classes=f"form-row{only}"):
                        yield Label(field.label, classes="form-label")
                        yield Input(self._initial.get(field.key, ""), placeholder=placeholders[field.key],
                                    id=f"field-{field.key}", compact=True, select_on_focus=False,
                                    classes="form-input")
            yield Static("", id="form-problems")
            with Horizontal(id="form-buttons"):
                yield Button("Save", variant="primary", id="form-save")
                yield Button("Cancel", id="form-cancel")

    def on_mount(self) -> None:
        self.query_one("#form-dialog").set_class(self.push, "-push")
        # Typing starts at once, after what the first field already says (never replacing it).
        first = self._input(FORM_KEYS[0])
        first.focus()
        first.cursor_position = len(first.value)
        self.validate()

    def _input(self, key: str) -> Input:
        return self.query_one(f"#field-{key}", Input)

    @property
    def push(self) -> bool:
        """Whether the form describes a push monitor (the checkbox, once composed)."""
        found = self.query("#field-push")
        return found.first(Checkbox).value if found else self._initial.get("push") == "true"

    def _hints(self, interval_text: str | None = None) -> dict[str, str]:
        interval = self._initial.get("interval", "") if interval_text is None else interval_text
        return hints(self._snapshot.config.defaults, self._defaults_in_file, interval, self.push)

    def texts(self) -> dict[str, str]:
        """What the form says: the fields shown (hidden ones count as empty) and "push"."""
        shown = shown_keys(self.push)
        texts = {key: self._input(key).value if key in shown else "" for key in FORM_KEYS}
        return {**texts, "push": "true" if self.push else ""}

    def edit(self) -> MonitorEdit:
        return edit_from_form(self._kind, self._name, self._raw, self.texts())

    def shown_problems(self) -> dict[str | None, list[str]]:
        """The problems on show, by field (None: not on one field), in the form's words."""
        shown: dict[str | None, list[str]] = {}
        for problem in self.problems:
            key, text = form_problem(problem.message, problem.key)
            if self.save_tried or key in self.left:
                shown.setdefault(key, []).append(text)
        return shown

    def validate(self) -> list[Problem]:
        """Check the candidate and show the problems due; returns every problem."""
        self.problems = check_edit(self._snapshot, self.edit())
        shown = self.shown_problems()
        for key in FORM_KEYS:
            self._input(key).set_class(key in shown, "-problem")
        lines = [text for key in (*FORM_KEYS, "push", None) for text in shown.get(key, [])]
        message = self.query_one("#form-problems", Static)
        message.set_class(bool(lines), "-problems")
        message.set_class(not self.problems, "-valid")
        message.update(Text("\n".join(lines)) if lines else READY if not self.problems else WAITING)
        return self.problems

    @on(Input.Changed, ".form-input")
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id == "field-interval":  # the inherited timeout and grace follow the interval
            self._update_hints(event.value)
        self.validate()

    @on(Checkbox.Changed, "#field-push")
    def _kind_changed(self) -> None:
        self.query_one("#form-dialog").set_class(self.push, "-push")
        self._update_hints(self._input("interval").value)
        self.validate()

    def _update_hints(self, interval_text: str) -> None:
        for key, hint in self._hints(interval_text).items():
            self._input(key).placeholder = hint

    @on(Input.Blurred, ".form-input")
    def _left(self, event: Input.Blurred) -> None:
        if event.input.id is not None and self.is_attached:
            self.left.add(event.input.id.removeprefix("field-"))
            self.validate()

    @on(Input.Submitted, ".form-input")
    @on(Button.Pressed, "#form-save")
    def action_save(self) -> None:
        self.save_tried = True
        if self.validate():
            first = next((key for key in FORM_KEYS if self._input(key).has_class("-problem")), None)
            if first is not None:
                self._input(first).focus()
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

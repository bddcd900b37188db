"""Monitor edits as the dashboard makes them: form text → TOML values → ConfigEditor, nothing else.

The config file stays the source of truth (DESIGN §5). The dashboard keeps a snapshot of the file
as it loaded it; the form validates a candidate edit against that snapshot in memory (the same
loader, so the same messages as `check-config`), and saving re-reads the file and refuses when its
bytes are no longer the snapshot's (`ConfigConflict`).
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from shiptrack_tui.config import Config, ConfigEditor, ConfigError
from shiptrack_tui.config.push import PUSH_KEYS, PUSH_ONLY_KEYS
from shiptrack_tui.config.sourcemap import SourceMap
from shiptrack_tui.tui.form_fields import FORM_KEYS

EDIT_KEYS: Final = (FORM_KEYS[0], "push", *FORM_KEYS[1:])
"""What the form edits, in the order an added table is written: its text fields, and after the
name whether the monitor is a push monitor (text "true" or "")."""
DURATION_KEYS: Final = frozenset({"interval", "timeout", "grace", "degraded_after"})
INTEGER_KEYS: Final = frozenset({"failure_threshold", "recovery_threshold", "max_body"})
LIST_KEYS: Final = frozenset({"expect_status", "tags"})
_NUMBER: Final = re.compile(r"^-?\d+(\.\d+)?$")
_PROBLEM: Final = re.compile(r"^.*?:(\d+): (.*)$")

EditKind = Literal["add", "update", "remove"]


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    """The config file as the dashboard loaded it: an editor holding its bytes, and its Config."""

    editor: ConfigEditor
    config: Config

    @property
    def digest(self) -> str:
        return self.config.digest

    @property
    def path(self) -> Path:
        return self.editor.path

    @property
    def defaults_in_file(self) -> frozenset[str]:
        """The keys the file's [defaults] table sets."""
        table = tomllib.loads(self.editor.text).get("defaults")
        return frozenset(table) if isinstance(table, dict) else frozenset()

    def raw_monitor(self, name: str) -> dict[str, Any] | None:
        """The monitor's table exactly as written (None when the file has no such monitor)."""
        monitors = tomllib.loads(self.editor.text).get("monitor")
        for table in monitors if isinstance(monitors, list) else []:
            if isinstance(table, dict) and table.get("name") == name:
                return table
        return None


def load_snapshot(path: Path) -> ConfigSnapshot:
    """Read and validate the file (blocking); ConfigError when it does not load."""
    editor = ConfigEditor(path)
    return ConfigSnapshot(editor, editor.validate())


@dataclass(frozen=True, slots=True)
class Problem:
    """One check-config problem without its `PATH:LINE: ` prefix; `key` is the form field it is on."""

    message: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class MonitorEdit:
    """What the form (or the delete confirmation) asks for; applied to a ConfigEditor."""

    kind: EditKind
    name: str | None = None  # the monitor edited or removed; None when adding
    fields: Mapping[str, Any] = field(default_factory=dict)  # a value of None removes the key

    def apply(self, editor: ConfigEditor) -> None:
        if self.kind == "add":
            editor.add_monitor(self.fields)
        elif self.kind == "remove":
            assert self.name is not None
            editor.remove_monitor(self.name)
        else:
            assert self.name is not None
            # The name last: every other key is found by the old name.
            editor.update_monitor(self.name, {k: v for k, v in self.fields.items() if k != "name"})
            if "name" in self.fields:
                editor.update_monitor(self.name, {"name": self.fields["name"]})

    @property
    def target(self) -> str:
        new_name = self.fields.get("name")
        return str(new_name if isinstance(new_name, str) and new_name else self.name or "")

    @property
    def renames(self) -> bool:
        """An update that changes the monitor's name (its history should follow it)."""
        return self.kind == "update" and self.name is not None and self.target != self.name

    def done(self, file: str, history_follows: bool = True) -> str:
        """What the operator is told once `file` is saved."""
        if self.renames and history_follows:
            return f"Monitor “{self.name}” renamed to “{self.target}” in {file}; its history goes with it"
        if self.renames:
            return (f"Monitor “{self.name}” renamed to “{self.target}” in {file}; “{self.target}” has a "
                    f"history of its own, so “{self.name}”'s stays under the old name")
        verb = {"add": "added to", "update": "saved in", "remove": "removed from"}[self.kind]
        if self.kind == "add" and self.fields.get("push") is True:  # the job needs its URL next
            return f"Push monitor “{self.target}” added to {file}; its ping URL is in the detail pane"
        return f"Monitor “{self.target}” {verb} {file}"


def field_text(key: str, value: Any) -> str:
    """How a TOML value is shown in the form's text field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    if key in LIST_KEYS and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def field_value(key: str, text: str) -> Any:
    """The TOML value for a form field's text; None for an empty field (the key is left out)."""
    text = text.strip()
    if not text:
        return None
    if key == "push":
        return text == "true" or None
    if key in LIST_KEYS:
        items = [item.strip() for item in text.split(",") if item.strip()]
        if key == "expect_status":
            return [int(item) if item.isdigit() else item for item in items]
        return items
    if key in DURATION_KEYS | INTEGER_KEYS and _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text


def form_texts(raw: Mapping[str, Any] | None) -> dict[str, str]:
    raw = raw or {}
    return {key: field_text(key, raw.get(key)) for key in EDIT_KEYS}


def _carried(key: str, push: bool) -> bool:
    """Whether a key the form does not show applies to the kind of monitor the form now says
    (what a push monitor cannot have goes when an operator turns one into the other)."""
    return key in PUSH_KEYS if push else key not in PUSH_ONLY_KEYS


def edit_from_form(kind: EditKind, name: str | None, raw: Mapping[str, Any] | None,
                   texts: Mapping[str, str]) -> MonitorEdit:
    """The smallest edit that turns `raw` (the table as written) into what the form says.

    Fields whose text did not change are not written at all, so their bytes (and comments) stay.
    Adding carries `raw`'s other keys along (a duplicate keeps its headers, body, maintenance), but
    never a push token: each push monitor needs its own, and ShipTrack generates one.
    """
    original = raw or {}
    push = field_value("push", texts.get("push", "")) is True
    if kind == "add":
        fields: dict[str, Any] = {}
        for key in EDIT_KEYS:
            value = field_value(key, texts.get(key, ""))
            if value is not None:
                fields[key] = value
        fields.update({key: value for key, value in original.items()
                       if key not in EDIT_KEYS and key != "push_token" and _carried(key, push)})
        return MonitorEdit("add", None, fields)
    changed: dict[str, Any] = {key: None for key in original
                               if key not in EDIT_KEYS and not _carried(key, push)}
    for key in EDIT_KEYS:
        text = texts.get(key, "")
        if text.strip() == field_text(key, original.get(key)).strip():
            continue
        value = field_value(key, text)
        if value is None and key not in original:
            continue
        changed[key] = value
    return MonitorEdit("update", name, changed)


def check_edit(snapshot: ConfigSnapshot, edit: MonitorEdit) -> list[Problem]:
    """What check-config would say about the file after `edit`, worked out in memory."""
    editor = copy.copy(snapshot.editor)
    try:
        edit.apply(editor)
        editor.validate()
    except ConfigError as error:
        return _problems(error, editor.text)
    except LookupError as error:
        return [Problem(str(error))]
    return []


def save_edit(path: Path, expected_digest: str, edit: MonitorEdit) -> ConfigSnapshot:
    """Apply `edit` to the file on disk (blocking). ConfigConflict when it changed since
    `expected_digest`; ConfigError or LookupError when the edit does not apply."""
    editor = ConfigEditor(path, expected_digest=expected_digest)
    edit.apply(editor)
    config = editor.save()
    # The editor now holds the saved bytes: it is the next snapshot's starting point.
    editor.original = editor.text.encode()
    editor.digest = config.digest
    return ConfigSnapshot(editor, config)


def _problems(error: ConfigError, text: str) -> list[Problem]:
    try:
        statements = SourceMap.of(text).statements
    except Exception:  # a syntax error: no map, the message says where
        statements = []
    problems = []
    for line in error.problems:
        match = _PROBLEM.match(line)
        if match is None:
            problems.append(Problem(line))
            continue
        number, message = int(match.group(1)), match.group(2)
        key = next((str(s.path[2]) for s in statements
                    if s.path[:1] == ("monitor",) and len(s.path) >= 3
                    and s.first_line <= number <= s.last_line), None)
        problems.append(Problem(message, key if key in FORM_KEYS else None))
    return problems

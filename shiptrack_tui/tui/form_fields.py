"""The monitor form's fields in the operator's words: labels, hints and problems.

Hints (the placeholders) say what an empty field means for this monitor in this file: the value it
inherits from the file's `[defaults]` (or ShipTrack's own default), never an example that could be
taken for a value. Problems are check-config's, reworded for a form: the field's label instead of
the TOML table and key ("Name is required", not "monitor #5 has no name; add name = ...").
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from shiptrack_tui.config.push import PUSH_KEYS, PUSH_ONLY_KEYS
from shiptrack_tui.config.settings import DEFAULT_TIMEOUT, Defaults
from shiptrack_tui.config.values import Bad, as_duration
from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.push import default_grace


@dataclass(frozen=True, slots=True)
class FormField:
    key: str  # the TOML key
    label: str
    hint: str  # the placeholder when nothing is inherited


FORM_FIELDS: Final = (
    FormField("name", "name", "required · unique, e.g. api"),
    FormField("url", "url", "required · https://… or tcp://host:port"),
    FormField("method", "method", "default: GET"),
    FormField("body", "request body", "optional · sent as is (with POST, PUT…)"),
    FormField("interval", "interval", ""),
    FormField("timeout", "timeout", ""),
    FormField("grace", "grace", ""),
    FormField("expect_status", "expect status", "default: 200-399"),
    FormField("body_contains", "body contains", "optional · text the body must contain"),
    FormField("body_regex", "body regex", "optional · instead of body contains"),
    FormField("max_body", "max body read", "default: 1MiB"),
    FormField("tags", "tags", "optional · comma separated"),
    FormField("failure_threshold", "failures to open", ""),
    FormField("recovery_threshold", "successes to resolve", ""),
    FormField("degraded_after", "degraded after", ""),
)
FORM_KEYS: Final = tuple(f.key for f in FORM_FIELDS)
LABELS: Final = {f.key: f.label for f in FORM_FIELDS}
PUSH_FORM_KEYS: Final = frozenset(FORM_KEYS) & frozenset(PUSH_KEYS)
"""The fields a push monitor has (config/push.py): no target, so nothing about probing it."""


def shown_keys(push: bool) -> tuple[str, ...]:
    """The fields the form shows for a push monitor, or for a probed one (all but push-only)."""
    return tuple(key for key in FORM_KEYS if (key in PUSH_FORM_KEYS if push else key not in PUSH_ONLY_KEYS))
_SCOPE: Final = re.compile(r'^monitor (?:#\d+|"(?:[^"\\]|\\.)*")(?:: | )')


def hints(defaults: Defaults, in_file: Collection[str], interval_text: str = "",
          push: bool = False) -> dict[str, str]:
    """Every field's placeholder. `in_file`: the keys the file's [defaults] sets; `interval_text`:
    what the interval field says now (the inherited timeout and grace can depend on it); `push`: for
    a push monitor, whose thresholds do not come from [defaults]."""
    def inherited(key: str, shown: str) -> str:
        return f"default: {shown}" + (" (from [defaults])" if key in in_file else "")

    found = {f.key: f.hint for f in FORM_FIELDS}
    found["interval"] = inherited("interval", format_duration(defaults.interval))
    found["failure_threshold"] = inherited("failure_threshold", str(defaults.failure_threshold))
    found["recovery_threshold"] = inherited("recovery_threshold", str(defaults.recovery_threshold))
    after = defaults.degraded_after
    found["degraded_after"] = inherited("degraded_after", format_duration(after)) if after is not None else \
        "default: off · e.g. 2s marks slower answers degraded"
    interval = _duration(interval_text) or defaults.interval
    if defaults.timeout is not None:
        found["timeout"] = inherited("timeout", format_duration(defaults.timeout))
    else:
        timeout = defaults.timeout_for(interval)
        half = " (half the interval)" if timeout < DEFAULT_TIMEOUT else ""
        found["timeout"] = f"default: {format_duration(timeout)}{half}"
    found["grace"] = f"default: {format_duration(default_grace(interval))} · how late a ping may be"
    if push:
        found["failure_threshold"] = "default: 1 · missed deadlines or /fail pings"
        found["recovery_threshold"] = "default: 1 · pings"
        found["degraded_after"] = "default: off · e.g. 10m: longer runs degraded"
    return found


def _duration(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return as_duration(float(text) if re.fullmatch(r"\d+(\.\d+)?", text) else text)
    except Bad:
        return None


def form_problem(message: str, key: str | None) -> tuple[str | None, str]:
    """(the field it is on, the text to show) for one of check-config's problems on the monitor."""
    if " has no name" in message:
        return "name", "Name is required (unique: the monitor's history hangs on it)."
    if " has no url" in message:
        return "url", "URL is required: https://… or tcp://host:port."
    if "set body_contains or body_regex, not both" in message:
        return "body_regex", "Fill in body contains or body regex, not both."
    if key == "name" and " is defined twice " in message:
        return key, "Name: another monitor already has this name; names must be unique."
    if key == "tags":  # the form's tags are comma separated text, not a TOML list
        return key, "Tags: separate tags with commas, like prod, api; a tag cannot be empty."
    text = _SCOPE.sub("", message, count=1).replace("; remove it (", "; clear it (")
    if key is not None and text.startswith(f"{key} "):
        text = text[len(key) + 1:]
    label = {"url": "URL"}.get(key or "", LABELS.get(key or "", ""))
    if label:
        return key, f"{label[:1].upper()}{label[1:]}: {text}"
    return key, text[:1].upper() + text[1:]

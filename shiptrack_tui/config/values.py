"""Readers that turn one raw TOML value into a typed one, or raise `Bad` saying what is expected.

Each message starts with the value as written, so the checker can prefix it with its subject:
`monitor "api": timeout` + ` "ten" is not a duration; expected ...`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any, Final

from shiptrack_tui.config.sourcemap import KeyPath
from shiptrack_tui.core.durations import DurationError, format_duration, parse_duration
from shiptrack_tui.core.model import Severity, StatusRange

_SIZE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS: Final = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3,
                      "gib": 1024**3}
_STATUS_RANGE: Final = re.compile(r"^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$")


class Bad(ValueError):
    """A value that cannot be used; `at` points below the key (e.g. a list index) for the line."""

    def __init__(self, message: str, at: KeyPath = ()) -> None:
        super().__init__(message)
        self.message = message
        self.at = at


def show(value: object, limit: int = 60) -> str:
    """A value as it would look in TOML, shortened: "10s", 5, true, ["a", "b"]."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list):
        text = "[" + ", ".join(show(v) for v in value) + "]"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def kind(value: object) -> str:
    """The TOML type of a value, for "expected X, got Y" messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def as_duration(value: object, minimum: float | None = None) -> float:
    """A duration above 0 (and at least `minimum`)."""
    try:
        seconds = parse_duration(value)
    except DurationError:
        negative = isinstance(value, int | float) and not isinstance(value, bool) and value < 0
        if negative or (isinstance(value, str) and value.strip().startswith("-")):
            raise Bad(f"{show(value)} cannot be negative; expected a duration like \"30s\"") from None
        raise Bad(
            f'{show(value)} is not a duration; expected a string like "500ms", "30s", "5m", "1h", "7d" '
            "or a number of seconds"
        ) from None
    if seconds <= 0:
        raise Bad(f"{show(value)} must be longer than 0; expected a duration like \"30s\"")
    if minimum is not None and seconds < minimum:
        raise Bad(f"{show(value)} is below the minimum of {format_duration(minimum)}; "
                  f"use \"{format_duration(minimum)}\" or more")
    return seconds


def as_int(value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Bad(f"{show(value)} must be a whole number of at least {minimum}, not {kind(value)}")
    if value < minimum:
        raise Bad(f"{show(value)} must be at least {minimum}")
    return value


def as_str(value: object, example: str, nonempty: bool = True) -> str:
    if not isinstance(value, str):
        raise Bad(f"{show(value)} must be a string like {example}, not {kind(value)}")
    if nonempty and not value.strip():
        raise Bad(f"{show(value)} must not be empty; expected a string like {example}")
    return value


def as_str_list(value: object, example: str) -> tuple[str, ...]:
    """A list of non-empty strings."""
    if not isinstance(value, list):
        raise Bad(f"{show(value)} must be a list of strings like {example}, not {kind(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise Bad(f"{show(value)} must be a list of non-empty strings like {example}; "
                      f"item {index + 1} is {show(item)}", at=(index,))
    return tuple(value)


def as_choices(value: object, allowed: Iterable[str], example: str) -> frozenset[str]:
    """A list drawn from `allowed` (duplicates are harmless)."""
    options = tuple(allowed)
    items = as_str_list(value, example) if value != [] else ()
    for index, item in enumerate(items):
        if item not in options:
            raise Bad(f"{show(value)} contains {show(item)}; expected a list drawn from "
                      + ", ".join(f'"{o}"' for o in options), at=(index,))
    return frozenset(items)


def as_size(value: object) -> int:
    """Bytes from an integer or a string like "512KiB", "1MiB", "64KB"."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        number = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    else:
        raise Bad(f'{show(value)} is not a size; expected a number of bytes or a string like "512KiB" '
                  'or "1MiB"')
    if number < 1:
        raise Bad(f"{show(value)} must be at least 1 byte")
    return number


def as_status(value: object) -> tuple[StatusRange, ...]:
    """HTTP status codes and ranges: 200, "200-299", or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise Bad('[] is empty; expected status codes and ranges like [200, "300-399"]')
    ranges: list[StatusRange] = []
    for index, item in enumerate(items):
        at: KeyPath = (index,) if isinstance(value, list) else ()
        low = high = None
        if isinstance(item, int) and not isinstance(item, bool):
            low = high = item
        elif isinstance(item, str) and (match := _STATUS_RANGE.match(item)):
            low = int(match.group(1))
            high = int(match.group(2) or match.group(1))
        if low is None or high is None:
            raise Bad(f'contains {show(item)}; expected status codes like 200 or ranges like "200-299"',
                      at=at)
        if not (100 <= low <= 599 and 100 <= high <= 599):
            raise Bad(f"contains {show(item)}; HTTP status codes run from 100 to 599", at=at)
        if low > high:
            raise Bad(f'contains {show(item)}, a range that runs backwards; write it low-high like "200-299"',
                      at=at)
        ranges.append(StatusRange(low, high))
    return tuple(ranges)


def as_regex(value: object) -> str:
    pattern = as_str(value, '"status: (ok|green)"')
    try:
        re.compile(pattern)
    except re.error as exc:
        raise Bad(f"{show(value)} is not a valid regular expression ({exc})") from None
    return pattern


def as_table(value: object, example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Bad(f"{show(value)} must be a table like {example}, not {kind(value)}")
    return value


def as_severity(value: object) -> Severity:
    """One of the incident severities (DESIGN §10)."""
    text = as_str(value, '"high"')
    try:
        return Severity(text)
    except ValueError:
        raise Bad(f"{show(value)} is not a severity; expected one of "
                  + ", ".join(f'"{s}"' for s in Severity)) from None

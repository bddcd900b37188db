"""Durations as operators write them: "500ms", "10s", "5m", "1h", "7d" or plain seconds."""

from __future__ import annotations

import re
from typing import Final

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


class DurationError(ValueError):
    """A duration that cannot be read; the message says what is expected."""


def parse_duration(value: object) -> float:
    """Return seconds for a duration string or a number of seconds."""
    if isinstance(value, bool):
        raise DurationError(f"expected a duration like \"30s\", \"5m\" or a number of seconds, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise DurationError(f"a duration cannot be negative, got {value!r}")
        return float(value)
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise DurationError(
        "expected a duration like \"500ms\", \"30s\", \"5m\", \"1h\", \"7d\" or a number of seconds, "
        f"got {value!r}"
    )


def format_duration(seconds: float) -> str:
    """Render seconds compactly for people: 0.5s, 45s, 3m 20s, 2h 5m, 3d 4h."""
    if seconds < 0:
        seconds = 0.0
    if seconds < 10:
        return f"{seconds:.1f}s" if seconds % 1 else f"{int(seconds)}s"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"

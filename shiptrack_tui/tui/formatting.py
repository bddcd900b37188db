"""Pure text helpers for the dashboard: state labels, ages, sparklines, marks and notes.

Numbers, latencies and times come from `core.formats`, which the CLI shares (re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from shiptrack_tui.core.formats import (
    MUTED_MARK,
    NO_DATA,
    STATE_SYMBOLS,
    fmt_age,
    fmt_ago,
    fmt_clock,
    fmt_ms,
    fmt_time,
    fmt_uptime,
    last_latency,
    zone_abbreviation,
)
from shiptrack_tui.core.maintenance import MaintenanceWindow, in_maintenance, next_change
from shiptrack_tui.core.model import IncidentState, MonitorStatus, MonitorSummary, Silence
from shiptrack_tui.core.silences import expiry_text, target_of

__all__ = [  # the shared formats (core.formats) are re-exported: panes import them from here
    "MUTED_MARK",
    "NOTIFY_FAILED_MARK",
    "NO_DATA",
    "STATE_LABELS",
    "STATE_SYMBOLS",
    "TROUBLE_ORDER",
    "fit",
    "fmt_age",
    "fmt_ago",
    "fmt_clock",
    "fmt_ms",
    "fmt_time",
    "fmt_uptime",
    "is_acknowledged",
    "last_latency",
    "maintenance_note",
    "matches_filter",
    "name_cell",
    "silence_note",
    "sparkline",
    "state_text",
    "status_of",
    "zone_abbreviation",
]

STATE_LABELS: Final = {
    MonitorStatus.UP: "up",
    MonitorStatus.DEGRADED: "degraded",
    MonitorStatus.PENDING: "pending",
    MonitorStatus.DOWN: "down",
    MonitorStatus.PAUSED: "paused",
    MonitorStatus.MAINTENANCE: "maint",
    MonitorStatus.UNKNOWN: "unknown",
}

# Trouble first: what needs a human sorts to the top; monitors nobody is counting sort last.
TROUBLE_ORDER: Final = {
    MonitorStatus.DOWN: 0,
    MonitorStatus.PENDING: 1,
    MonitorStatus.DEGRADED: 2,
    MonitorStatus.UNKNOWN: 3,
    MonitorStatus.UP: 4,
    MonitorStatus.MAINTENANCE: 5,
    MonitorStatus.PAUSED: 6,
}

SPARK_BLOCKS: Final = "▁▂▃▄▅▆▇█"
NO_HISTORY: Final = "·"
"""Where a sparkline has no check yet: the column keeps its width for a new monitor."""


def status_of(summary: MonitorSummary) -> MonitorStatus:
    """The state to show: a paused flag wins over the last evaluated status."""
    if summary.state.paused:
        return MonitorStatus.PAUSED
    return summary.state.status


def state_text(status: MonitorStatus, acknowledged: bool = False) -> str:
    """`✖ down`, or `✖ down ack` once someone has taken the incident."""
    suffix = " ack" if acknowledged and status is MonitorStatus.DOWN else ""
    return f"{STATE_SYMBOLS[status]} {STATE_LABELS[status]}{suffix}"


def is_acknowledged(summary: MonitorSummary) -> bool:
    incident = summary.state.incident
    return incident is not None and incident.state is IncidentState.ACKNOWLEDGED


def sparkline(values: Sequence[float | None], width: int) -> str:
    """Block characters scaled between the series' minimum and maximum; gaps (failures) are `×`,
    checks not made yet `·` (always `width` cells)."""
    values = list(values)[-width:]
    present = [v for v in values if v is not None]
    low, high = (min(present), max(present)) if present else (0.0, 0.0)
    span = high - low
    chars: list[str] = []
    for value in values:
        if value is None:
            chars.append("×")
        elif span <= 0:
            chars.append(SPARK_BLOCKS[0])
        else:
            index = int((value - low) / span * (len(SPARK_BLOCKS) - 1) + 0.5)
            chars.append(SPARK_BLOCKS[index])
    return "".join(chars).rjust(width, NO_HISTORY)


def matches_filter(summary: MonitorSummary, text: str) -> bool:
    """Does the monitor match the operator's filter (a piece of its name, a tag or a state)?"""
    needle = text.strip().lower()
    if not needle:
        return True
    status = status_of(summary)
    return (
        needle in summary.name.lower()
        or any(needle in tag.lower() for tag in summary.tags)
        or needle in (status.value, STATE_LABELS[status])
    )


NOTIFY_FAILED_MARK: Final = "⚠"


def name_cell(summary: MonitorSummary, muted: bool, room: int | None = None) -> str:
    """The monitor's name with its marks: ⊘ silenced, ⚠ a notification of its incident was given up.

    Within `room` cells the name gives way (`payments-a… ⊘`), never the marks."""
    marks = (MUTED_MARK if muted else "") + (NOTIFY_FAILED_MARK if summary.notify_failed else "")
    if not marks:
        return fit(summary.name, room)
    return f"{fit(summary.name, None if room is None else room - len(marks) - 1)} {marks}"


def fit(text: str, room: int | None) -> str:
    """`text` cut to `room` characters with a `…` (None: no limit)."""
    if room is None or len(text) <= room:
        return text
    return text[:max(0, room - 1)] + "…"


def maintenance_note(windows: Iterable[MaintenanceWindow], monitor: str, tags: Sequence[str],
                     now: float) -> str | None:
    """`⚒ in maintenance "backups" until 11-18 02:30:00 CET`, the next window, or None."""
    windows = tuple(windows)
    current = in_maintenance(windows, monitor, tags, now)
    change = next_change(windows, monitor, tags, now)
    if current is not None:
        name = f' "{current.name}"' if current.name else ""
        until = f" until {fmt_time(change)} {zone_abbreviation(change)}" if change is not None else ""
        return f"⚒ in maintenance{name}{until}; failures open no incident"
    if change is not None:
        upcoming = in_maintenance(windows, monitor, tags, change)
        if upcoming is not None:
            name = f' "{upcoming.name}"' if upcoming.name else ""
            return f"next maintenance{name} at {fmt_time(change)} {zone_abbreviation(change)}"
    return None


def silence_note(silences: Iterable[Silence], now: float) -> str | None:
    """`⊘ silenced: tag:prod (14m left, by tui)` for the silences covering a monitor, or None."""
    parts = [f"{target_of(s).label} ({expiry_text(s, now)}, by {s.source})" for s in silences]
    return f"{MUTED_MARK} silenced: " + "; ".join(parts) if parts else None

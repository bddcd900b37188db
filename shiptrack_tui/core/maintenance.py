"""Maintenance windows: planned periods in which a monitor's failures count for nothing.

A window is either one-off (`start`..`end`, POSIX seconds) or recurring (`days` at `minute` local
time in `timezone`, lasting `duration` seconds). Its scope is every monitor, the monitors named in
`monitors`, or those carrying one of `tags`. Time is always an argument.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS: Final = frozenset(range(7))
_DAY: Final = 86400.0
_FULL_NAMES: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NUMBERS: Final = {name: i for names in (WEEKDAYS, _FULL_NAMES) for i, name in enumerate(names)}


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """One planned window; see the module docstring for the two shapes."""

    name: str | None = None
    start: float | None = None
    end: float | None = None
    days: frozenset[int] = ALL_DAYS  # 0 = Monday, as datetime.weekday()
    minute: int | None = None  # minutes after local midnight; set for recurring windows
    duration: float = 0.0
    timezone: str = "UTC"
    monitors: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    @property
    def recurring(self) -> bool:
        return self.minute is not None

    def applies_to(self, monitor: str, tags: Iterable[str]) -> bool:
        """Whether the window covers this monitor: everyone when it names no monitor and no tag."""
        if not self.monitors and not self.tags:
            return True
        return monitor in self.monitors or not self.tags.isdisjoint(tags)

    def occurrences(self, since: float, until: float) -> Iterator[tuple[float, float]]:
        """(start, end) of each occurrence overlapping [since, until), in order."""
        if not self.recurring:
            if self.start is not None and self.end is not None and self.start < until and self.end > since:
                yield self.start, self.end
            return
        zone = ZoneInfo(self.timezone)
        first = datetime.fromtimestamp(since - self.duration, zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(until, zone).date() + timedelta(days=1)
        day = first
        while day <= last:
            if day.weekday() in self.days:
                begin = _local_start(day, self.minute or 0, zone)
                end = begin + self.duration
                if begin < until and end > since:
                    yield begin, end
            day += timedelta(days=1)

    def active_at(self, at: float) -> bool:
        return any(True for _ in self.occurrences(at, math.nextafter(at, math.inf)))


def _local_start(day: date, minute: int, zone: ZoneInfo) -> float:
    """The instant the wall clock in `zone` reads `minute` on `day`.

    On a spring-forward day a time that does not exist (02:30 in Berlin) maps to the instant the
    clock would have shown it (03:30 summer time); on a fall-back day an ambiguous time means its
    first occurrence (fold=0).
    """
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.timestamp()


def in_maintenance(
    windows: Iterable[MaintenanceWindow], monitor: str, tags: Iterable[str], at: float
) -> MaintenanceWindow | None:
    """The first window covering `monitor` that is open at `at`, or None."""
    tag_set = frozenset(tags)
    for window in windows:
        if window.applies_to(monitor, tag_set) and window.active_at(at):
            return window
    return None


def next_change(
    windows: Iterable[MaintenanceWindow],
    monitor: str,
    tags: Iterable[str],
    at: float,
    horizon: float = 8 * _DAY,
) -> float | None:
    """The next instant after `at` (within `horizon`) at which a covering window opens or closes.

    It is a moment to re-evaluate `in_maintenance`; overlapping windows can make it a moment at
    which nothing visible changes. None when no boundary lies within the horizon.
    """
    tag_set = frozenset(tags)
    boundaries = [
        edge
        for window in windows
        if window.applies_to(monitor, tag_set)
        for occurrence in window.occurrences(at, at + horizon)
        for edge in occurrence
        if at < edge <= at + horizon
    ]
    return min(boundaries, default=None)


def day_number(name: str) -> int | None:
    """0 for "mon" (or "monday") through 6 for "sun"; None for anything else."""
    return _DAY_NUMBERS.get(name.strip().lower())

"""Daily uptime, as the public status page shows it: one bar per UTC day.

A day is graded from its counted checks (up and degraded are good, down is bad; maintenance and
paused checks count for nothing): no failed check is `ok`, at least 99 % good is `partial`,
below that `outage`; a day with only maintenance checks is `maintenance`, one without any
check `none`. A service's day pools its members' checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final, NamedTuple

from shiptrack_tui.core.stats import uptime_percent

DAY_SECONDS: Final = 86400
PARTIAL_FLOOR: Final = 99.0  # percent good: at or above is a partial day, below an outage day


class DayCounts(NamedTuple):
    """Checks on one day by outcome; `maintenance` counts those that count for nothing."""

    up: int = 0
    degraded: int = 0
    down: int = 0
    maintenance: int = 0

    def plus(self, other: DayCounts) -> DayCounts:
        return DayCounts(self.up + other.up, self.degraded + other.degraded, self.down + other.down,
                         self.maintenance + other.maintenance)

    @property
    def counted(self) -> int:
        return self.up + self.degraded + self.down

    @property
    def uptime(self) -> float | None:
        """Percent of counted checks that were good; None when none was counted."""
        return uptime_percent(self.up + self.degraded, self.down)


class DayGrade(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"
    NONE = "none"


def day_of(at: float) -> int:
    """The UTC day (days since the epoch) an instant falls on."""
    return int(at // DAY_SECONDS)


def pooled(days: Iterable[DayCounts | None]) -> DayCounts | None:
    """The sum of several monitors' counts for one day; None when none of them has any."""
    total: DayCounts | None = None
    for counts in days:
        if counts is not None:
            total = counts if total is None else total.plus(counts)
    return total


def grade(counts: DayCounts | None) -> DayGrade:
    if counts is None or (counts.counted == 0 and counts.maintenance == 0):
        return DayGrade.NONE
    if counts.counted == 0:
        return DayGrade.MAINTENANCE
    if counts.down == 0:
        return DayGrade.OK
    uptime = counts.uptime
    return DayGrade.PARTIAL if uptime is not None and uptime >= PARTIAL_FLOOR else DayGrade.OUTAGE

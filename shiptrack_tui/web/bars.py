"""The 90 daily uptime bars of one status-page entry, as HTML list items.

Each bar is a focusable `<li>` whose `title` says the day in words: a mouse shows it on hover,
and a tap or the keyboard focuses the bar, which the stylesheet answers by printing the same
text under the bars (no JavaScript). Completed days' HTML is drawn once and kept
(status_view.PastDays), so a page for 1,000 monitors draws only today's bars afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

from markupsafe import escape

from shiptrack_tui.core.days import DAY_SECONDS, DayCounts, DayGrade, grade
from shiptrack_tui.core.formats import fmt_uptime

GRADE_WORDS: Final = {
    DayGrade.OK: "no failed checks",
    DayGrade.PARTIAL: "some failed checks",
    DayGrade.OUTAGE: "outage",
    DayGrade.MAINTENANCE: "maintenance",
    DayGrade.NONE: "no data",
}


@lru_cache(maxsize=1024)
def day_label(day: int) -> str:
    """`Mon 16 Nov 2026`: a UTC day in words."""
    return datetime.fromtimestamp(day * DAY_SECONDS, UTC).strftime("%a %d %b %Y")


def describe(counts: DayCounts | None) -> str:
    """A day's figures in words: `99.93% up, 1 of 1,440 checks failed`."""
    kind = grade(counts)
    if counts is None or kind is DayGrade.NONE:
        return "no data"
    if kind is DayGrade.MAINTENANCE:
        return "maintenance, no checks counted"
    checks = f"{counts.counted:,} check" + ("" if counts.counted == 1 else "s")
    if counts.down == 0:
        return f"{fmt_uptime(counts.uptime)} up, {checks}"
    return f"{fmt_uptime(counts.uptime)} up, {counts.down:,} of {checks} failed"


def bar(day: int, counts: DayCounts | None, is_today: bool = False) -> str:
    """One day's `<li>`, escaped."""
    when = "today so far" if is_today else day_label(day)
    text = escape(f"{when}: {describe(counts)}")
    return f'<li class="d-{grade(counts)}" tabindex="0" title="{text}"></li>'


def past_bars(first_day: int, days: Sequence[DayCounts | None]) -> str:
    """The bars of consecutive completed days from `first_day`, oldest first."""
    return "".join(bar(first_day + offset, counts) for offset, counts in enumerate(days))

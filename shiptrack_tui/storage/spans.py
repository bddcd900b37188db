"""Aligned blocks of hours: the spans rollups are kept in, and how a run of hours splits into them.

Blocks come in spans of 1, 24 and 168 hours, each aligned to a multiple of its span (see
rollups.py, which writes them, and totals.py and windows.py, which read them).
"""

from __future__ import annotations

from typing import Final

SPANS: Final = (1, 24, 168)  # each divides the next
WIDER_SPANS: Final = SPANS[1:]


def decompose(first: int, stop: int, folded_until: int | None) -> list[tuple[int, int, int]]:
    """Split hours [first, stop) into aligned blocks: (span, start, stop) runs of equal span.

    Only hours before `folded_until` (the first hour not yet folded) may use wider blocks.
    """
    limit = first if folded_until is None else max(first, min(stop, folded_until))
    runs: list[tuple[int, int, int]] = []
    hour = first
    while hour < stop:
        span = 1
        if hour < limit:
            span = max(s for s in SPANS if hour % s == 0 and hour + s <= limit)
        if runs and runs[-1][0] == span and runs[-1][2] == hour:
            runs[-1] = (span, runs[-1][1], hour + span)
        else:
            runs.append((span, hour, hour + span))
        hour += span
    return runs

"""Uptime and latency statistics, exact over raw checks and approximate over hourly rollups.

Rollups keep a log-bucketed latency histogram: bucket i holds latencies in
[FLOOR_MS * GROWTH**i, FLOOR_MS * GROWTH**(i+1)); a bucket's value is its geometric middle, so any
percentile read from a histogram is within 1 % of the exact value (DESIGN §4 asks for 2 %).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

WINDOWS: Final = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
FLOOR_MS: Final = 0.01
GROWTH: Final = 1.02
_LOG_GROWTH: Final = math.log(GROWTH)
HOUR_S: Final = 3600.0
EXACT_UP_TO: Final = 86400.0
"""Windows up to a day start exactly `window` before `now`; longer ones on the nearest hour."""


def window_start(now: float, window: float) -> float:
    """Where the window [start, now] begins.

    A window longer than a day begins on the hour nearest to `now - window`: at most 30 minutes
    either way, under 0.3 % of 7 days. Its statistics are then sums of hourly rollups, and the
    checks of the hour it begins in are never read (most of a cold `status` call's work otherwise).
    """
    start = now - window
    if window <= EXACT_UP_TO:
        return start
    return math.floor(start / HOUR_S + 0.5) * HOUR_S


def bucket_of(latency_ms: float) -> int:
    """The histogram bucket a latency falls into (0 for anything at or below the floor)."""
    if latency_ms <= FLOOR_MS:
        return 0
    return int(math.log(latency_ms / FLOOR_MS) / _LOG_GROWTH)


def bucket_value(bucket: int) -> float:
    """The representative latency of a bucket: the geometric middle of its bounds."""
    return FLOOR_MS * GROWTH ** (bucket + 0.5)


def uptime_percent(good: int, bad: int) -> float | None:
    """Percent of counted checks that were up or degraded; None when nothing was counted."""
    total = good + bad
    if total == 0:
        return None
    return 100.0 * good / total


def exact_percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of unsorted values; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def histogram_percentile(counts: Mapping[int, int], q: float) -> float | None:
    """Nearest-rank percentile read from a bucket histogram; None for an empty histogram."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(max(counts))

"""What window statistics are summed into: one tally per monitor and window, and the cache of
sums over settled hours (storage/windows.py explains the arithmetic)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from shiptrack_tui.core.model import WindowStats
from shiptrack_tui.core.stats import exact_percentile, uptime_percent
from shiptrack_tui.storage import histograms
from shiptrack_tui.storage.histograms import WindowHistogram


@dataclass(frozen=True, slots=True)
class Subject:
    """What the window arithmetic needs to know about one monitor."""

    monitor_id: int
    rolled_hour: int | None  # hours up to this one are folded into wider blocks
    newest_check_ms: int | None  # the latest stored check; None when unknown


Segment = tuple[int, int, int, int, int]  # up, degraded, down, maintenance, packed histogram
SegmentKey = tuple[int, int, int | None]  # first hour, stop hour, first hour not folded


class SegmentCache:
    """Sums over runs of settled hours, per monitor: while windows slide within an hour, their
    whole-hour part is the same and costs one integer addition per monitor.

    Only hours before the one preceding `now`'s hour are cached (a check that started just before
    an hour ended may be written just after it). The store forgets a monitor's entries when it
    writes a check into one of its older hours.
    """

    MAX_KEYS_PER_MONITOR = 16

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, dict[SegmentKey, Segment]] = {}

    def get(self, monitor_id: int, key: SegmentKey) -> Segment | None:
        with self._lock:
            return self._entries.get(monitor_id, {}).get(key)

    def put(self, monitor_id: int, key: SegmentKey, segment: Segment) -> None:
        with self._lock:
            entries = self._entries.setdefault(monitor_id, {})
            if len(entries) >= self.MAX_KEYS_PER_MONITOR:
                entries.clear()  # keys move on every hour: old ones are dead weight
            entries[key] = segment

    def forget(self, monitor_ids: Iterable[int]) -> None:
        with self._lock:
            for monitor_id in monitor_ids:
                self._entries.pop(monitor_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class WindowTally:
    """Counts and a dense latency histogram for one monitor over one window."""

    __slots__ = ("degraded", "down", "exact", "hist", "maintenance", "up")

    def __init__(self, exact: bool) -> None:
        self.up = self.degraded = self.down = self.maintenance = 0
        self.hist = WindowHistogram()
        self.exact: list[float] | None = [] if exact else None  # every latency, when all are raw

    def copy(self) -> WindowTally:
        twin = WindowTally(exact=False)
        twin.up, twin.degraded, twin.down = self.up, self.degraded, self.down
        twin.maintenance = self.maintenance
        twin.hist = self.hist.copy()
        return twin

    def add_tally(self, other: WindowTally) -> None:
        """Add another tally of the same monitor (over hours this one does not count)."""
        self.add_segment((other.up, other.degraded, other.down, other.maintenance, other.hist.packed))
        loose = self.hist.loose
        for bucket, count in other.hist.loose.items():
            loose[bucket] = loose.get(bucket, 0) + count

    def segment(self) -> Segment:
        """This tally as a compact, immutable cache entry."""
        return (self.up, self.degraded, self.down, self.maintenance, self.hist.packed_all())

    def add_segment(self, segment: Segment) -> None:
        up, degraded, down, maintenance, packed = segment
        self.up += up
        self.degraded += degraded
        self.down += down
        self.maintenance += maintenance
        self.hist.packed += packed

    def subtract_row(self, up: int, degraded: int, down: int, maintenance: int, blob: bytes | None) -> None:
        """Take away a row that this tally's packed part is known to contain (exact, in C)."""
        self.up -= up
        self.degraded -= degraded
        self.down -= down
        self.maintenance -= maintenance
        self.hist.packed -= histograms.to_packed(blob)

    def add_row(self, up: int, degraded: int, down: int, maintenance: int, blob: bytes | None) -> None:
        self.up += up
        self.degraded += degraded
        self.down += down
        self.maintenance += maintenance
        self.hist.add_blob(blob)

    def stats(self) -> WindowStats:
        counted = self.up + self.degraded + self.down
        if counted <= 0:
            return WindowStats()
        if self.exact is not None:
            p50 = exact_percentile(self.exact, 0.5)
            p95 = exact_percentile(self.exact, 0.95)
        else:
            p50, p95 = self.hist.percentiles(0.5, 0.95)
        return WindowStats(uptime=uptime_percent(self.up + self.degraded, self.down), p50_ms=p50,
                           p95_ms=p95, checks=counted)

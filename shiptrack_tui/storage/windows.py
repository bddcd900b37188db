"""Statistics over time windows, read from rollups wherever rollups are exact.

A window [now - w, now] splits into
- the tail of the hour it starts in: raw checks (or, when that tail is more than half the hour,
  the hour's rollup minus the raw checks before the window starts);
- whole hours: aligned rollup blocks (see rollups.decompose), a few dozen rows at most;
- the hour `now` falls in: its hour rollup when the monitor has no check after `now` (the usual
  case), else raw checks.
A window inside a single hour reads raw checks only and gets exact percentiles. Monitors are
handled in bulk: each part is one query for all of them.

The whole hours of the standard windows come from the monitor's window totals (totals.py) when
they are at most a few hours away from what the window needs (the hours in between are added or
taken away from hour rows): one row per monitor and window, so even a cold process is fast.
Other windows, and monitors whose totals lag (no check for hours), read aligned blocks. All of
it is read in one snapshot (a read transaction), so totals and hour rows agree.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shiptrack_tui.core.model import WindowStats
from shiptrack_tui.core.stats import FLOOR_MS, GROWTH, exact_percentile, uptime_percent
from shiptrack_tui.storage import histograms, totals
from shiptrack_tui.storage.codec import EXCLUDED, HOUR, OUTCOME_MASK, to_ms
from shiptrack_tui.storage.dialect import Connection, snapshot
from shiptrack_tui.storage.histograms import WindowHistogram
from shiptrack_tui.storage.packing import Wanted, check_rows
from shiptrack_tui.storage.spans import decompose

HOUR_MS = HOUR * 1000
LOG_GROWTH = math.log(GROWTH)  # as core.stats computes it
MAX_FIXUP_HOURS = 6  # hour rows a window may add to or take from a stored total

# {ids}: the monitor ids, as the connection's dialect binds a list (dialect.in_list)
_BLOCKS = ("SELECT monitor_id, up, degraded, down, maintenance, hist FROM rollup "
           "WHERE {ids} AND span = ? AND hour >= ? AND hour < ?")


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

    def add_check(self, code: int, latency_us: int | None, sign: int = 1) -> None:
        if code & EXCLUDED:
            self.maintenance += sign
            return
        outcome = code & OUTCOME_MASK
        if outcome == 0:
            self.up += sign
        elif outcome == 1:
            self.degraded += sign
        else:
            self.down += sign
            return
        if latency_us is not None:
            self.hist.add_latency(latency_us / 1000, sign)
            if self.exact is not None:
                self.exact.append(latency_us / 1000)

    def copy(self) -> WindowTally:
        twin = WindowTally(exact=False)
        twin.up, twin.degraded, twin.down = self.up, self.degraded, self.down
        twin.maintenance = self.maintenance
        twin.hist = self.hist.copy()
        return twin

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

    def add_row(self, up: int, degraded: int, down: int, maintenance: int, blob: bytes | None,
                sign: int = 1) -> None:
        self.up += sign * up
        self.degraded += sign * degraded
        self.down += sign * down
        self.maintenance += sign * maintenance
        self.hist.add_blob(blob, sign)

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


class _Reader:
    """Runs each query once for all monitors, adding rows into the tallies it is given."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.blocks_sql = _BLOCKS.format(ids=self.dialect.in_list("monitor_id"))

    def raw(self, into: dict[int, WindowTally], ids: Iterable[int], low_ms: int, high_ms: int,
            sign: int = 1) -> None:
        ids = list(ids)
        if not ids or low_ms > high_ms:
            return
        # WindowTally.add_check inlined: a status call reads tens of thousands of edge rows.
        log, floor_ms, log_growth = math.log, FLOOR_MS, LOG_GROWTH
        wanted = Wanted(ids, low_ms, high_ms, columns=("code", "latency_us"))
        for monitor_id, _at_ms, code, latency_us in check_rows(self.conn, wanted):
            tally = into[monitor_id]
            if code & EXCLUDED:
                tally.maintenance += sign
                continue
            outcome = code & OUTCOME_MASK
            if outcome == 0:
                tally.up += sign
            elif outcome == 1:
                tally.degraded += sign
            else:
                tally.down += sign
                continue
            if latency_us is None:
                continue
            latency_ms = latency_us / 1000
            # core.stats.bucket_of, the same arithmetic
            bucket = int(log(latency_ms / floor_ms) / log_growth) if latency_ms > floor_ms else 0
            loose = tally.hist.loose
            loose[bucket] = loose.get(bucket, 0) + sign
            if tally.exact is not None:
                tally.exact.append(latency_ms)

    def blocks(self, into: dict[int, WindowTally], ids: Iterable[int], span: int, first: int, stop: int,
               sign: int = 1) -> None:
        ids = list(ids)
        if not ids or first >= stop:
            return
        for monitor_id, up, degraded, down, maintenance, blob in self.conn.execute(
            self.blocks_sql, (self.dialect.values(ids), span, first, stop)
        ):
            if sign < 0:
                into[monitor_id].subtract_row(up, degraded, down, maintenance, blob)
            else:
                into[monitor_id].add_row(up, degraded, down, maintenance, blob)

    def hours(self, into: dict[int, WindowTally], subjects: Sequence[Subject], first: int, stop: int) -> None:
        """Whole hours [first, stop) in aligned blocks; monitors folded alike share the queries."""
        if first >= stop:
            return
        groups: dict[int | None, list[int]] = {}
        for subject in subjects:
            groups.setdefault(_folded_until(subject), []).append(subject.monitor_id)
        for folded_until, members in groups.items():
            for span, low, high in decompose(first, stop, folded_until):
                self.blocks(into, members, span, low, high)

    def settled_hours(self, into: dict[int, WindowTally], subjects: Sequence[Subject], first: int, stop: int,
                      cache: SegmentCache | None) -> None:
        """Like `hours`, through the cache."""
        if first >= stop:
            return
        if cache is None:
            self.hours(into, subjects, first, stop)
            return
        missing = []
        for subject in subjects:
            segment = cache.get(subject.monitor_id, (first, stop, _folded_until(subject)))
            if segment is None:
                missing.append(subject)
            else:
                into[subject.monitor_id].add_segment(segment)
        if not missing:
            return
        fresh = {subject.monitor_id: WindowTally(exact=False) for subject in missing}
        self.hours(fresh, missing, first, stop)
        for subject in missing:
            segment = fresh[subject.monitor_id].segment()
            cache.put(subject.monitor_id, (first, stop, _folded_until(subject)), segment)
            into[subject.monitor_id].add_segment(segment)


def _folded_until(subject: Subject) -> int | None:
    return None if subject.rolled_hour is None else subject.rolled_hour + 1


def window_stats_many(conn: Connection, subjects: Sequence[Subject], now: float,
                      windows: Sequence[float],
                      cache: SegmentCache | None = None) -> list[dict[int, WindowStats]]:
    """WindowStats over [now - w, now] for each window w (seconds) and subject, by monitor id."""
    with snapshot(conn):  # totals and hour rows from the same commit
        stored, plans = _plan(conn, subjects, now, windows)
        slow = [subject for subject in subjects if subject.monitor_id not in plans]
        fast = [subject for subject in subjects if subject.monitor_id in plans]
        results = _from_blocks(conn, slow, now, windows, cache) if slow else {}
        if fast:
            for window, found in _from_totals(conn, fast, plans, now, windows, stored).items():
                results.setdefault(window, {}).update(found)
    return [results.get(window, {}) for window in windows]


def _current_hour(reader: _Reader, subjects: Sequence[Subject], end_ms: int) -> dict[int, WindowTally]:
    """The hour `now` falls in: its hour row when no check is stored after `now`, else raw checks."""
    current = end_ms // HOUR_MS
    ids = [subject.monitor_id for subject in subjects]
    running = {monitor_id: WindowTally(exact=False) for monitor_id in ids}
    quiet = [s.monitor_id for s in subjects if s.newest_check_ms is not None and s.newest_check_ms <= end_ms]
    reader.blocks(running, quiet, 1, current, current + 1)
    reader.raw(running, set(ids).difference(quiet), current * HOUR_MS, end_ms)
    return running


def _edge(reader: _Reader, tallies: dict[int, WindowTally], ids: Sequence[int], start_ms: int,
          first_whole: int) -> None:
    """The tail of the hour the window starts in: raw checks, or when that tail is more than half
    the hour, the hour's row minus the raw checks before the window starts."""
    boundary = first_whole * HOUR_MS
    if boundary - start_ms > HOUR_MS // 2:
        reader.blocks(tallies, ids, 1, first_whole - 1, first_whole)
        reader.raw(tallies, ids, boundary - HOUR_MS, start_ms - 1, sign=-1)
    else:
        reader.raw(tallies, ids, start_ms, boundary - 1)


Span = tuple[int, int]  # hours [first, stop)
Plan = tuple[int, tuple[Span, ...], tuple[Span, ...]]  # stored total's size, hours to add, to take away


def _minus(a: Span, b: Span) -> tuple[Span, ...]:
    """The hours of a outside b, as at most two runs."""
    parts = ((a[0], min(a[1], b[0])), (max(a[0], b[1]), a[1]))
    return tuple(part for part in parts if part[0] < part[1])


def _whole_hours(now: float, windows: Sequence[float]) -> dict[float, Span]:
    """Each window's whole hours before the current one (windows with none are left out)."""
    end_ms = to_ms(now)
    current = end_ms // HOUR_MS
    spans = {}
    for window in set(windows):
        first_whole = -(-to_ms(now - window) // HOUR_MS)
        if first_whole < current:
            spans[window] = (first_whole, current)
    return spans


def _plan(conn: Connection, subjects: Sequence[Subject], now: float, windows: Sequence[float],
          ) -> tuple[dict[int, dict[int, totals.StoredTotal]], dict[int, dict[float, Plan]]]:
    """Which monitors can take every window's whole hours from a stored total, and how."""
    needs = _whole_hours(now, windows)
    if not needs:
        return {}, {subject.monitor_id: {} for subject in subjects}
    stored = totals.read(conn, [subject.monitor_id for subject in subjects])
    plans: dict[int, dict[float, Plan]] = {}
    known: dict[tuple[tuple[int, int], ...], dict[float, Plan] | None] = {}  # most monitors agree
    for subject in subjects:
        mine = stored.get(subject.monitor_id)
        if not mine:
            continue
        shape = tuple((n, total[0]) for n, total in mine.items())
        if shape in known:
            found = known[shape]
            if found is not None:
                plans[subject.monitor_id] = found
            continue
        known[shape] = None
        plan: dict[float, Plan] = {}
        for window, need in needs.items():
            best: tuple[int, Plan] | None = None
            for n, total in mine.items():
                have = (total[0] - n + 1, total[0] + 1)
                add, sub = _minus(need, have), _minus(have, need)
                cost = sum(stop - first for first, stop in add + sub)
                if cost <= MAX_FIXUP_HOURS and (best is None or cost < best[0]):
                    best = (cost, (n, add, sub))
            if best is None:
                break
            plan[window] = best[1]
        else:
            plans[subject.monitor_id] = known[shape] = plan
    return stored, plans


def _from_totals(conn: Connection, subjects: Sequence[Subject], plans: dict[int, dict[float, Plan]],
                 now: float, windows: Sequence[float],
                 stored: dict[int, dict[int, totals.StoredTotal]] | None = None,
                 ) -> dict[float, dict[int, WindowStats]]:
    """Windows from stored totals, a few hour rows, the current hour and the leading edge."""
    end_ms = to_ms(now)
    current = end_ms // HOUR_MS
    ids = [subject.monitor_id for subject in subjects]
    reader = _Reader(conn)
    base = _current_hour(reader, subjects, end_ms)
    results: dict[float, dict[int, WindowStats]] = {}
    for window in sorted(set(windows)):
        start_ms = to_ms(now - window)
        first_whole = -(-start_ms // HOUR_MS)
        if first_whole > current:  # the window lies inside one hour: exact, from raw checks
            exact = {monitor_id: WindowTally(exact=True) for monitor_id in ids}
            reader.raw(exact, ids, start_ms, end_ms)
            results[window] = {monitor_id: tally.stats() for monitor_id, tally in exact.items()}
            continue
        tallies = {monitor_id: tally.copy() for monitor_id, tally in base.items()}
        fixups: dict[tuple[tuple[Span, ...], tuple[Span, ...]], list[int]] = {}
        for monitor_id in ids:
            plan = plans[monitor_id].get(window)
            if plan is None:
                continue
            n, add, sub = plan
            assert stored is not None
            _through, *segment = stored[monitor_id][n]
            tallies[monitor_id].add_segment(tuple(segment))  # type: ignore[arg-type]
            if add or sub:
                fixups.setdefault((add, sub), []).append(monitor_id)
        for (add, sub), members in fixups.items():
            for first, stop in add:
                reader.blocks(tallies, members, 1, first, stop)
            for first, stop in sub:
                reader.blocks(tallies, members, 1, first, stop, sign=-1)
        _edge(reader, tallies, ids, start_ms, first_whole)
        results[window] = {monitor_id: tally.stats() for monitor_id, tally in tallies.items()}
    return results


def _from_blocks(conn: Connection, subjects: Sequence[Subject], now: float,
                 windows: Sequence[float], cache: SegmentCache | None) -> dict[float, dict[int, WindowStats]]:
    """Windows from aligned rollup blocks (see window_stats_many).

    All windows end at `now`, so each longer one is the shorter one plus the hours before it:
    the whole-hour blocks are read once, for the longest window, and summed from `now` backwards.
    """
    end_ms = to_ms(now)
    current = end_ms // HOUR_MS
    ids = [subject.monitor_id for subject in subjects]
    reader = _Reader(conn)
    results: dict[float, dict[int, WindowStats]] = {}
    running = _current_hour(reader, subjects, end_ms)
    reached = current  # `running` holds [reached hour, now]
    for window in sorted(set(windows)):
        start_ms = to_ms(now - window)
        first_whole = -(-start_ms // HOUR_MS)
        if first_whole > current:  # the window lies inside one hour: exact, from raw checks
            exact = {monitor_id: WindowTally(exact=True) for monitor_id in ids}
            reader.raw(exact, ids, start_ms, end_ms)
            results[window] = {monitor_id: tally.stats() for monitor_id, tally in exact.items()}
            continue
        settled = current - 1  # hours before this one take no more checks
        reader.settled_hours(running, subjects, first_whole, min(reached, settled), cache)
        reader.hours(running, subjects, max(first_whole, settled), reached)
        reached = min(reached, first_whole)
        tallies = {monitor_id: tally.copy() for monitor_id, tally in running.items()}
        _edge(reader, tallies, ids, start_ms, first_whole)
        results[window] = {monitor_id: tally.stats() for monitor_id, tally in tallies.items()}
    return results

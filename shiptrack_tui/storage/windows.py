"""Statistics over time windows, read from rollups wherever rollups are exact.

A window [start, now] (core.stats.window_start: now - w, or for windows longer than a day the
nearest hour) splits into
- the tail of the hour it starts in, if any: raw checks (or, when that tail is more than half the
  hour, the hour's rollup minus the raw checks before the window starts);
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

from collections.abc import Sequence

from shiptrack_tui.core.model import WindowStats
from shiptrack_tui.core.stats import window_start
from shiptrack_tui.storage import totals
from shiptrack_tui.storage.codec import HOUR, to_ms
from shiptrack_tui.storage.dialect import Connection, snapshot
from shiptrack_tui.storage.tallies import Segment, SegmentCache, SegmentKey, Subject, WindowTally
from shiptrack_tui.storage.window_reads import WindowReader

__all__ = ["Segment", "SegmentCache", "SegmentKey", "Subject", "WindowTally", "window_stats_many"]

HOUR_MS = HOUR * 1000
MAX_FIXUP_HOURS = 6  # hour rows a window may add to or take from a stored total


def window_stats_many(conn: Connection, subjects: Sequence[Subject], now: float,
                      windows: Sequence[float],
                      cache: SegmentCache | None = None) -> list[dict[int, WindowStats]]:
    """WindowStats over [now - w, now] for each window w (seconds) and subject, by monitor id."""
    with snapshot(conn):  # totals and hour rows from the same commit
        reader = WindowReader(conn, ahead=True)
        try:
            results, slow = _from_totals(reader, subjects, now, windows)
        finally:
            reader.close()
        if slow:
            for window, found in _from_blocks(conn, slow, now, windows, cache).items():
                results.setdefault(window, {}).update(found)
    return [results.get(window, {}) for window in windows]


def _current_hour(reader: WindowReader, subjects: Sequence[Subject], end_ms: int) -> dict[int, WindowTally]:
    """The hour `now` falls in: its hour row when no check is stored after `now`, else raw checks."""
    current = end_ms // HOUR_MS
    ids = [subject.monitor_id for subject in subjects]
    running = {monitor_id: WindowTally(exact=False) for monitor_id in ids}
    quiet = [s.monitor_id for s in subjects if s.newest_check_ms is not None and s.newest_check_ms <= end_ms]
    reader.blocks(running, quiet, 1, current, current + 1)
    reader.raw(running, set(ids).difference(quiet), current * HOUR_MS, end_ms)
    return running


def _edge(reader: WindowReader, tallies: dict[int, WindowTally], ids: Sequence[int], start_ms: int,
          first_whole: int) -> None:
    """The tail of the hour the window starts in: raw checks, or when that tail is more than half
    the hour, the hour's row minus the raw checks before the window starts."""
    boundary = first_whole * HOUR_MS
    if boundary - start_ms > HOUR_MS // 2:
        reader.blocks(tallies, ids, 1, first_whole - 1, first_whole)
        reader.raw(tallies, ids, boundary - HOUR_MS, start_ms - 1, sign=-1)
    else:
        reader.raw(tallies, ids, start_ms, boundary - 1)


def _start_ms(now: float, window: float) -> int:
    """The window's first ms: on the hour for windows longer than a day (core.stats.window_start),
    so they have no edge to read."""
    return to_ms(window_start(now, window))


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
        first_whole = -(-_start_ms(now, window) // HOUR_MS)
        if first_whole < current:
            spans[window] = (first_whole, current)
    return spans


def _plan(subjects: Sequence[Subject], needs: dict[float, Span],
          stored: dict[int, dict[int, totals.StoredTotal]]) -> dict[int, dict[float, Plan]]:
    """Which monitors can take every window's whole hours (`needs`) from a stored total, and how."""
    if not needs:
        return {subject.monitor_id: {} for subject in subjects}
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
    return plans


def _from_totals(reader: WindowReader, subjects: Sequence[Subject], now: float, windows: Sequence[float],
                 ) -> tuple[dict[float, dict[int, WindowStats]], list[Subject]]:
    """Windows from stored totals, a few hour rows, the current hour and the leading edge, for
    the monitors whose totals are close enough; and the other monitors (see _from_blocks).

    Reads are submitted in the order they are needed and run ahead (PostgreSQL): the totals
    first, so planning starts while the current hour and the edges are read; then each window is
    summed as soon as its reads have arrived, while the next window's still run. Edges are read
    for every monitor (monitors left to _from_blocks are rare: their edges are thrown away).
    """
    ids = [subject.monitor_id for subject in subjects]
    needs = _whole_hours(now, windows)
    stored: dict[int, dict[int, totals.StoredTotal]] = {}
    if needs:
        reader.totals(stored, ids)
    planned = reader.mark
    base = _current_hour(reader, subjects, to_ms(now))
    edges = {window: _edge_tallies(reader, ids, now, window) for window in sorted(set(windows))}
    reader.settle(planned)
    plans = _plan(subjects, needs, stored)
    fast = [monitor_id for monitor_id in ids if monitor_id in plans]
    ready = {}
    for window, (tallies, exact) in edges.items():
        if not exact:
            _add_totals(reader, tallies, fast, plans, stored, window)
        ready[window] = reader.mark
    results: dict[float, dict[int, WindowStats]] = {}
    for window, (tallies, exact) in edges.items():
        reader.settle(ready[window])
        found = results[window] = {}
        for monitor_id in fast:
            tally = tallies[monitor_id]
            if not exact:
                tally.add_tally(base[monitor_id])
            found[monitor_id] = tally.stats()
    return results, [subject for subject in subjects if subject.monitor_id not in plans]


def _edge_tallies(reader: WindowReader, ids: Sequence[int], now: float, window: float,
                  ) -> tuple[dict[int, WindowTally], bool]:
    """One window's tallies, holding only its leading edge once the reader settles (or the whole
    window, exact from raw checks, when it lies inside the current hour: the bool)."""
    end_ms = to_ms(now)
    start_ms = _start_ms(now, window)
    first_whole = -(-start_ms // HOUR_MS)
    if first_whole > end_ms // HOUR_MS:
        return _exact(reader, ids, start_ms, end_ms), True
    tallies = {monitor_id: WindowTally(exact=False) for monitor_id in ids}
    _edge(reader, tallies, ids, start_ms, first_whole)
    return tallies, False


def _exact(reader: WindowReader, ids: Sequence[int], start_ms: int, end_ms: int) -> dict[int, WindowTally]:
    """A window that lies inside one hour: every raw check, for exact percentiles."""
    exact = {monitor_id: WindowTally(exact=True) for monitor_id in ids}
    reader.raw(exact, ids, start_ms, end_ms)
    return exact


def _add_totals(reader: WindowReader, tallies: dict[int, WindowTally], ids: Sequence[int],
                plans: dict[int, dict[float, Plan]], stored: dict[int, dict[int, totals.StoredTotal]],
                window: float) -> None:
    """Add each monitor's stored total for the window's whole hours, and submit the hour rows
    that correct it (complete once the reader settles)."""
    fixups: dict[tuple[tuple[Span, ...], tuple[Span, ...]], list[int]] = {}
    for monitor_id in ids:
        plan = plans[monitor_id].get(window)
        if plan is None:
            continue
        n, add, sub = plan
        _through, *segment = stored[monitor_id][n]
        tallies[monitor_id].add_segment(tuple(segment))  # type: ignore[arg-type]
        if add or sub:
            fixups.setdefault((add, sub), []).append(monitor_id)
    for (add, sub), members in fixups.items():
        for first, stop in add:
            reader.blocks(tallies, members, 1, first, stop)
        for first, stop in sub:
            reader.blocks(tallies, members, 1, first, stop, sign=-1)


def _from_blocks(conn: Connection, subjects: Sequence[Subject], now: float,
                 windows: Sequence[float], cache: SegmentCache | None) -> dict[float, dict[int, WindowStats]]:
    """Windows from aligned rollup blocks (see window_stats_many).

    All windows end at `now`, so each one that starts earlier is the one before plus the hours
    before it: the whole-hour blocks are read once, for the earliest start, summed from `now` back.
    """
    end_ms = to_ms(now)
    current = end_ms // HOUR_MS
    ids = [subject.monitor_id for subject in subjects]
    reader = WindowReader(conn)
    results: dict[float, dict[int, WindowStats]] = {}
    running = _current_hour(reader, subjects, end_ms)
    reached = current  # `running` holds [reached hour, now]
    for window in sorted(set(windows), key=lambda window: -_start_ms(now, window)):  # latest start first
        start_ms = _start_ms(now, window)
        first_whole = -(-start_ms // HOUR_MS)
        if first_whole > current:
            exact = _exact(reader, ids, start_ms, end_ms)
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

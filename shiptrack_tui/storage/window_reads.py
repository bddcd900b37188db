"""The bulk reads behind window statistics: each query runs once for all monitors and its rows
are summed into their tallies (storage/windows.py plans which reads a window needs)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from shiptrack_tui.core.stats import FLOOR_MS, GROWTH
from shiptrack_tui.storage import totals
from shiptrack_tui.storage.codec import EXCLUDED, OUTCOME_MASK
from shiptrack_tui.storage.dialect import Connection
from shiptrack_tui.storage.packing import Expand, Wanted, check_queries, packs
from shiptrack_tui.storage.read_ahead import ReadAhead
from shiptrack_tui.storage.spans import decompose
from shiptrack_tui.storage.tallies import SegmentCache, Subject, WindowTally

LOG_GROWTH = math.log(GROWTH)  # as core.stats computes it
# {ids}: the monitor ids, as the connection's dialect binds a list (dialect.in_list)
_BLOCKS = ("SELECT monitor_id, up, degraded, down, maintenance, hist FROM rollup "
           "WHERE {ids} AND span = ? AND hour >= ? AND hour < ?")


class WindowReader:
    """Runs each query once for all monitors, adding rows into the tallies it is given.

    With `ahead` (PostgreSQL), statements run ahead on a worker thread (storage/read_ahead.py)
    and their rows land in the tallies only at `settle()`: read a tally after settling.
    """

    def __init__(self, conn: Connection, ahead: bool = False) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.blocks_sql = _BLOCKS.format(ids=self.dialect.in_list("monitor_id"))
        self.queries = ReadAhead(conn, enabled=ahead and packs(self.dialect))

    @property
    def mark(self) -> int:
        """Where the reads submitted so far end: `settle(through=mark)` completes just those."""
        return self.queries.submitted

    def settle(self, through: int | None = None) -> None:
        self.queries.settle(through)

    def close(self) -> None:
        self.queries.close()

    def raw(self, into: dict[int, WindowTally], ids: Iterable[int], low_ms: int, high_ms: int,
            sign: int = 1) -> None:
        ids = list(ids)
        if not ids or low_ms > high_ms:
            return
        wanted = Wanted(ids, low_ms, high_ms, columns=("code", "latency_us"))
        for sql, params, expand in check_queries(self.dialect, wanted):
            self.queries.submit(sql, params, partial(_add_checks, into, expand, sign))

    def totals(self, into: dict[int, dict[int, totals.StoredTotal]], ids: Sequence[int]) -> None:
        """The monitors' stored window totals (storage/totals.py), into `into` by monitor id."""
        self.queries.submit(totals.read_sql(self.dialect), (self.dialect.values(ids),),
                            partial(totals.collect, into))

    def blocks(self, into: dict[int, WindowTally], ids: Iterable[int], span: int, first: int, stop: int,
               sign: int = 1) -> None:
        ids = list(ids)
        if not ids or first >= stop:
            return
        self.queries.submit(self.blocks_sql, (self.dialect.values(ids), span, first, stop),
                            partial(_add_rows, into, sign))

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


def _add_checks(into: dict[int, WindowTally], expand: Expand | None, sign: int,
                rows: Iterable[Sequence[Any]]) -> None:
    # rollups.Tally.add_check's arithmetic, inlined: a status call reads tens of thousands of edge rows.
    log, floor_ms, log_growth = math.log, FLOOR_MS, LOG_GROWTH
    for monitor_id, _at_ms, code, latency_us in (rows if expand is None else expand(rows)):
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


def _add_rows(into: dict[int, WindowTally], sign: int, rows: Iterable[Sequence[Any]]) -> None:
    for monitor_id, up, degraded, down, maintenance, blob in rows:
        if sign < 0:
            into[monitor_id].subtract_row(up, degraded, down, maintenance, blob)
        else:
            into[monitor_id].add_row(up, degraded, down, maintenance, blob)


def _folded_until(subject: Subject) -> int | None:
    return None if subject.rolled_hour is None else subject.rolled_hour + 1

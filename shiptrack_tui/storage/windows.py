"""Statistics over time windows: rollups for whole hours, raw rows only for the partial edges.

A 30-day window therefore reads at most two hours of raw checks, however many checks it spans.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable

from shiptrack_tui.core.model import WindowStats
from shiptrack_tui.core.stats import (
    decode_histogram,
    exact_percentile,
    histogram_percentile,
    uptime_percent,
)
from shiptrack_tui.storage.codec import EXCLUDED, HOUR, OUTCOME_MASK, to_ms
from shiptrack_tui.storage.rollups import DOWN_CODE, Tally

HOUR_MS = HOUR * 1000

_RAW = 'SELECT code, latency_us FROM "check" WHERE monitor_id = ? AND at_ms >= ? AND at_ms <= ?'
_ROLLUPS = ("SELECT up, degraded, down, maintenance, hist FROM rollup "
            "WHERE monitor_id = ? AND hour >= ? AND hour < ?")


def whole_hours(start_ms: int, end_ms: int) -> tuple[int, int]:
    """[h0, h1): the epoch hours lying entirely inside [start_ms, end_ms]; empty when h0 >= h1."""
    return -(-start_ms // HOUR_MS), (end_ms + 1) // HOUR_MS


def raw_spans(start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """The inclusive ms ranges of [start_ms, end_ms] that whole-hour rollups do not cover."""
    h0, h1 = whole_hours(start_ms, end_ms)
    if h0 >= h1:
        return [(start_ms, end_ms)]
    spans = [(start_ms, h0 * HOUR_MS - 1), (h1 * HOUR_MS, end_ms)]
    return [(low, high) for low, high in spans if low <= high]


def stats_of(tally: Tally, exact_latencies: list[float] | None = None) -> WindowStats:
    """WindowStats from a tally; exact percentiles when every latency is at hand."""
    if tally.counted == 0:
        return WindowStats()
    if exact_latencies is not None:
        p50 = exact_percentile(exact_latencies, 0.5)
        p95 = exact_percentile(exact_latencies, 0.95)
    else:
        hist = tally.clean_hist()
        p50 = histogram_percentile(hist, 0.5)
        p95 = histogram_percentile(hist, 0.95)
    return WindowStats(
        uptime=uptime_percent(tally.up + tally.degraded, tally.down),
        p50_ms=p50,
        p95_ms=p95,
        checks=tally.counted,
    )


def counted_latencies(rows: Iterable[tuple[int, int | None]]) -> list[float]:
    """Latencies (ms) of the raw rows that count for latency statistics."""
    return [latency / 1000 for code, latency in rows
            if latency is not None and not code & EXCLUDED and (code & OUTCOME_MASK) != DOWN_CODE]


def window_stats(conn: sqlite3.Connection, monitor_id: int, now: float, window_seconds: float) -> WindowStats:
    start_ms, end_ms = to_ms(now - window_seconds), to_ms(now)
    h0, h1 = whole_hours(start_ms, end_ms)
    tally = Tally()
    raw: list[tuple[int, int | None]] = []
    for low, high in raw_spans(start_ms, end_ms):
        raw.extend(conn.execute(_RAW, (monitor_id, low, high)).fetchall())
    for code, latency in raw:
        tally.add_check(code, latency)
    rolled = False
    if h0 < h1:
        for up, degraded, down, maintenance, hist in conn.execute(_ROLLUPS, (monitor_id, h0, h1)):
            rolled = rolled or bool(hist)
            tally.add_rollup(up, degraded, down, maintenance, decode_histogram(hist or b""))
    # Exact percentiles whenever every latency in the window is a raw row at hand.
    return stats_of(tally, None if rolled else counted_latencies(raw))


def latency_series(conn: sqlite3.Connection, monitor_id: int, since: float, until: float,
                   points: int) -> list[float | None]:
    """Median latency per equal slice of [since, until]; None where a slice has no data.

    Slices an hour wide or wider read rollups (each hour lands in the slice holding its middle);
    narrower slices read raw checks.
    """
    if points <= 0 or until <= since:
        return [None] * max(points, 0)
    width = (until - since) / points
    if width >= HOUR:
        hists: list[dict[int, int]] = [{} for _ in range(points)]
        first, last = math.floor(since / HOUR), math.ceil(until / HOUR)
        query = "SELECT hour, hist FROM rollup WHERE monitor_id = ? AND hour >= ? AND hour < ?"
        for hour, blob in conn.execute(query, (monitor_id, first, last)):
            index = int((hour * HOUR + HOUR / 2 - since) / width)
            if 0 <= index < points:
                merged = hists[index]
                for bucket, count in decode_histogram(blob or b"").items():
                    merged[bucket] = merged.get(bucket, 0) + count
        return [histogram_percentile(hist, 0.5) for hist in hists]
    slices: list[list[float]] = [[] for _ in range(points)]
    rows = conn.execute('SELECT at_ms, code, latency_us FROM "check" WHERE monitor_id = ? '
                        "AND at_ms >= ? AND at_ms <= ?", (monitor_id, to_ms(since), to_ms(until)))
    for at_ms, code, latency in rows:
        if latency is None or code & EXCLUDED or (code & OUTCOME_MASK) == DOWN_CODE:
            continue
        index = min(points - 1, int((at_ms / 1000 - since) / width))
        slices[index].append(latency / 1000)
    return [exact_percentile(values, 0.5) for values in slices]

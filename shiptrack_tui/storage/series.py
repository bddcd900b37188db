"""Series for charts: median latency and failed checks per equal slice of a time range.

Slices an hour wide or wider read hour rollups (each hour lands in the slice holding its middle);
narrower slices read the stored checks (storage/packing.py: raw and packed).
"""

from __future__ import annotations

import math

from shiptrack_tui.core.stats import exact_percentile, histogram_percentile
from shiptrack_tui.storage import histograms
from shiptrack_tui.storage.codec import DOWN_CODE, EXCLUDED, HOUR, MAINTENANCE, OUTCOME_MASK, to_ms
from shiptrack_tui.storage.dialect import Connection, Database
from shiptrack_tui.storage.packing import Wanted, check_rows


def _counts(latency_us: int | None, code: int) -> bool:
    return latency_us is not None and not code & EXCLUDED and (code & OUTCOME_MASK) != DOWN_CODE


def latency_series(conn: Connection, monitor_id: int, since: float, until: float,
                   points: int) -> list[float | None]:
    """Median latency per equal slice of [since, until]; None where a slice has no data.

    Slices an hour wide or wider read hour rollups (each hour lands in the slice holding its
    middle); narrower slices read raw checks.
    """
    if points <= 0 or until <= since:
        return [None] * max(points, 0)
    width = (until - since) / points
    if width >= HOUR:
        hists: list[dict[int, int]] = [{} for _ in range(points)]
        first, last = math.floor(since / HOUR), math.ceil(until / HOUR)
        query = "SELECT hour, hist FROM rollup WHERE monitor_id = ? AND span = 1 AND hour >= ? AND hour < ?"
        for hour, blob in conn.execute(query, (monitor_id, first, last)):
            index = int((hour * HOUR + HOUR / 2 - since) / width)
            if 0 <= index < points:
                merged = hists[index]
                for bucket, count in histograms.decode(blob).items():
                    merged[bucket] = merged.get(bucket, 0) + count
        return [histogram_percentile(hist, 0.5) for hist in hists]
    slices: list[list[float]] = [[] for _ in range(points)]
    wanted = Wanted(monitor_id, to_ms(since), to_ms(until), columns=("code", "latency_us"))
    for _monitor_id, at_ms, code, latency_us in check_rows(conn, wanted):
        if _counts(latency_us, code):
            index = min(points - 1, int((at_ms / 1000 - since) / width))
            slices[index].append(latency_us / 1000)
    return [exact_percentile(values, 0.5) for values in slices]


def failure_series(db: Database, monitor_id: int, since: float, until: float, points: int) -> list[int]:
    """Failed checks (outside maintenance) per equal slice of [since, until], sliced like
    `latency_series`: hour rollups when a slice is an hour or wider, raw checks otherwise."""
    if points <= 0 or until <= since:
        return [0] * max(points, 0)
    width = (until - since) / points
    counts = [0] * points
    if width >= HOUR:
        query = ("SELECT hour, down FROM rollup WHERE monitor_id = ? AND span = 1 AND hour >= ? AND hour < ? "
                 "AND down > 0")
        rows = db.execute_sql(query, (monitor_id, math.floor(since / HOUR), math.ceil(until / HOUR)))
        for hour, down in rows:
            index = int((hour * HOUR + HOUR / 2 - since) / width)
            if 0 <= index < points:
                counts[index] += down
        return counts
    wanted = Wanted(monitor_id, to_ms(since), to_ms(until), columns=("code",))
    for _monitor_id, at_ms, code in check_rows(db.connection(), wanted):
        if code & OUTCOME_MASK == DOWN_CODE and not code & MAINTENANCE:
            counts[min(points - 1, int((at_ms / 1000 - since) / width))] += 1
    return counts

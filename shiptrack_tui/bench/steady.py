"""Steady-state size: the database a long run leaves under a retention, built and measured.

For each retention (today's defaults, and the old ones as the baseline) a database is filled with
exactly what that retention keeps for `monitors` monitors checked every `interval`:
- raw checks for `keep.raw` (plus the current hour), written through the real `Writer`, which
  also makes their hour rows, day and week blocks and window totals;
- older hour rows back to `keep.hourly`, day and week blocks back to `keep.daily`, seeded from
  histograms of the same synthetic latencies (an hour's histogram is real; days and weeks merge
  hours drawn from a pool, which gives them the width real ones have);
then the real `Store.prune` trims it, every free page is handed back, and the pages in use are
counted, less those of an empty database (the schema: a fixed ~100 KB, whatever the monitors).
Incidents are left out: a few hundred bytes each, a handful per monitor.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Final

from shiptrack_tui.bench.disk import checkpoint_truncate
from shiptrack_tui.bench.measure import file_bytes
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.storage import Retention, Store, histograms
from shiptrack_tui.storage.codec import HOUR, pack_code, to_us
from shiptrack_tui.storage.rollups import Tally

DAY: Final = 86400.0
# What ShipTrack kept before this retention work: 30 days of raw checks, every rollup for 400 days.
OLD_DEFAULTS: Final = Retention(raw=30 * DAY, hourly=400 * DAY, daily=400 * DAY, incidents=10_000 * DAY)
POOL: Final = 128  # distinct synthetic hours, days and weeks to draw blocks from


def _hour_tally(rng: random.Random, checks: int) -> Tally:
    """One hour of synthetic_results' mix: ~98 % up (log-normal latency), 1 % slow, 1 % down."""
    from shiptrack_tui.core.model import Outcome

    tally = Tally()
    for _ in range(checks):
        roll = rng.random()
        if roll < 0.01:
            tally.add_check(pack_code(Outcome.DOWN, False), to_us(10_000.0))
        elif roll < 0.02:
            tally.add_check(pack_code(Outcome.DEGRADED, False), to_us(rng.uniform(1000, 3000)))
        else:
            tally.add_check(pack_code(Outcome.UP, False), to_us(rng.lognormvariate(3.0, 0.5)))
    return tally


def _merged(parts: list[Tally]) -> Tally:
    total = Tally()
    for part in parts:
        total.add(part)
    return total


def _row(monitor_id: int, span: int, hour: int, tally: Tally) -> tuple[Any, ...]:
    return (monitor_id, span, hour, tally.up, tally.degraded, tally.down, tally.maintenance,
            histograms.encode(tally.hist))


def _seed_rollups(store: Store, ids: list[int], interval: float, keep: Retention, raw_start_hour: int,
                  rng: random.Random) -> int:
    """Hour rows in [hourly horizon, raw start) and day/week blocks from the daily horizon up to the
    block the raw checks start in; returns the rows written."""
    hours = [_hour_tally(rng, round(HOUR / interval)) for _ in range(POOL)]
    days = [_merged(rng.choices(hours, k=24)) for _ in range(POOL)]
    weeks = [_merged(rng.choices(days, k=7)) for _ in range(POOL // 8)]
    first_hour = raw_start_hour - int((keep.hourly - keep.raw) // HOUR)
    first_day = raw_start_hour - int((keep.daily - keep.raw) // HOUR)
    rows = []
    for monitor_id in ids:
        rows += [_row(monitor_id, 1, h, rng.choice(hours)) for h in range(max(first_hour, 0), raw_start_hour)]
        for span, pool in ((24, days), (168, weeks)):
            start = first_day - first_day % span + span
            rows += [_row(monitor_id, span, h, rng.choice(pool))
                     for h in range(start, raw_start_hour - raw_start_hour % span, span)]
    conn = store._conn()
    with store._db.atomic("IMMEDIATE"):
        conn.executemany("INSERT INTO rollup (monitor_id, span, hour, up, degraded, down, maintenance, hist) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        # The hours before the raw checks count as folded, as in a database that ran all along.
        conn.execute("UPDATE monitor SET rolled_hour = ?", (raw_start_hour - 1,))
    return len(rows)


def measure(path: Path, *, monitors: int, interval: float, keep: Retention, now: float,
            seed: int = 11) -> dict[str, Any]:
    """Build the steady-state database for `keep` at `path` and measure it."""
    from shiptrack_tui.bench.storage import synthetic_results, write_through_writer

    started = time.perf_counter()
    store = Store.open(path)
    empty_pages = int(store._conn().execute("PRAGMA page_count").fetchone()[0])  # the schema itself
    names = [f"m{i:05d}" for i in range(monitors)]
    store.sync_monitors([MonitorSpec(name=name, url=f"http://127.0.0.1/{name}") for name in names], now)
    ids = [row[0] for row in store._conn().execute("SELECT id FROM monitor ORDER BY name")]
    raw_start_hour = int((now - keep.raw) // HOUR)
    raw_checks = monitors * int((now - raw_start_hour * HOUR) / interval)
    seeded = _seed_rollups(store, ids, interval, keep, raw_start_hour, random.Random(seed))
    written, _seconds, _batches = write_through_writer(
        store, synthetic_results(monitors, raw_checks, interval, now, seed=seed))
    while store.prune(now, keep, 50_000) == 50_000:
        pass
    while store.reclaim(1_000_000):
        pass
    conn = store._conn()
    pages, free, page_size = (int(conn.execute(f"PRAGMA {name}").fetchone()[0])
                              for name in ("page_count", "freelist_count", "page_size"))
    tables = {name: int(count) for name, count in conn.execute(
        "SELECT CASE WHEN name = 'rollup' THEN 'rollup span ' || span ELSE name END, COUNT(*) FROM ("
        "SELECT 'check' AS name, 0 AS span FROM \"check\" UNION ALL SELECT 'rollup', span FROM rollup) "
        "GROUP BY 1")}
    store.close()
    checkpoint_truncate(path)
    in_use = (pages - free) * page_size
    per_monitor = (pages - free - empty_pages) * page_size / monitors
    return {
        "retention_days": {"raw": keep.raw / DAY, "hourly": keep.hourly / DAY, "daily": keep.daily / DAY},
        "monitors": monitors, "interval_s": interval, "raw_checks_written": written,
        "rollup_rows_seeded": seeded, "rows": tables, "file_bytes": file_bytes(path),
        "bytes_in_use": in_use, "empty_database_bytes": empty_pages * page_size,
        "bytes_per_monitor": per_monitor, "gb_per_1000_monitors": per_monitor * 1000 / 1e9,
        "elapsed_s": time.perf_counter() - started,
    }

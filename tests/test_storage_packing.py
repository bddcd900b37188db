"""Packed checks on PostgreSQL (storage/packing.py, storage/compaction.py): closed periods move from
`check` into `check_block` rows, and every read sees the same checks as before packing."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import psycopg
import pytest
from postgres_server import PostgresServer
from storage_helpers import Feed, check

from shiptrack_tui.core.model import Outcome, Policy
from shiptrack_tui.core.postmortem import CheckSpan, Phase
from shiptrack_tui.storage import Retention, Store
from shiptrack_tui.storage.compaction import GRACE, closed_before
from shiptrack_tui.storage.copy import copy_history

HOUR = 3600.0
DAY = 86400.0
NOW = math.floor(time.time() / DAY) * DAY - 2 * DAY + 7.5 * HOUR  # in the past: packing may take it
POLICY = Policy(failure_threshold=2, recovery_threshold=2)


def _history(store: Store, monitors: dict[str, float], start: float, end: float, seed: int = 1) -> int:
    """Checks of each monitor (name -> interval) from `start` to `end` through the real pipeline:
    latencies, a few failures, one outage, a maintenance stretch, with reasons and status codes."""
    rng = random.Random(seed)
    writes = []
    for name, interval in monitors.items():
        feed = Feed(name, POLICY)
        at = start + rng.uniform(0, interval)
        while at < end:
            outage = start + 2 * HOUR <= at < start + 2.3 * HOUR
            if outage or rng.random() < 0.02:
                result = check(name, at, Outcome.DOWN, latency_ms=rng.uniform(1, 900),
                               reason=rng.choice(["HTTP 503", "timeout after 10.0s"]))
            else:
                result = check(name, at, Outcome.UP, latency_ms=round(rng.lognormvariate(3, 0.5), 3),
                               maintenance=start + 4 * HOUR <= at < start + 4.2 * HOUR)
            writes.append(feed.write(result))
            at += interval
    writes.sort(key=lambda write: write.result.at if write.result else 0)
    for first in range(0, len(writes), 500):
        store.commit_batch(writes[first:first + 500])
    return len(writes)


def _pack(store: Store, now: float, max_rows: int = 700) -> int:
    packed, after = 0, 0
    while after is not None:
        count, after = store.pack_checks(now, max_rows, after)
        packed += count
    return packed


def _reads(target: str | Path, names: list[str], now: float) -> dict[str, object]:
    """Everything that reads checks, through a fresh store (no cached segments)."""
    store = Store.open(target)
    try:
        found: dict[str, object] = {}
        for name in names:
            found[name] = {
                "recent": store.recent_checks(name, 50),
                "recent_all": store.recent_checks(name, 100_000),
                "recent_since": store.recent_checks(name, 1000, since=now - 5 * HOUR),
                "first": store.first_check_at(name),
                "history": store.history(name),
                "windows": [store.window_stats(name, now - shift, window)
                            for window in (600.0, HOUR, 3 * HOUR, DAY) for shift in (0.0, 1234.5, 3 * HOUR)],
                "latency": store.latency_series(name, now - 6 * HOUR, now, 40),
                "failures": store.failure_series(name, now - 6 * HOUR, now, 40),
                "spans": store.incident_checks(name, (
                    CheckSpan(Phase.BEFORE, now - 6 * HOUR, now - 4.5 * HOUR, 30, newest=True),
                    CheckSpan(Phase.DURING, now - 6 * HOUR, now - 4.5 * HOUR, 30),
                    CheckSpan(Phase.AFTER, now - 5.5 * HOUR, now - 1.5 * HOUR, 10_000))),
            }
        found["summaries"] = store.monitor_summaries(now)
        return found
    finally:
        store.close()


def _table_counts(url: str) -> tuple[int, int, int]:
    """(raw rows, blocks, packed checks)."""
    with psycopg.connect(url) as conn:
        raw = conn.execute('SELECT count(*) FROM "check"').fetchone()[0]
        blocks, packed = conn.execute("SELECT count(*), COALESCE(sum(n), 0) FROM check_block").fetchone()
    return int(raw), int(blocks), int(packed)


def test_packed_checks_read_back_as_they_were_stored(pg_url: str) -> None:
    names = ["dense", "five-min", "hourly"]
    store = Store.open(pg_url)
    try:
        written = _history(store, {"dense": 20.0, "five-min": 300.0, "hourly": 3600.0}, NOW - 30 * HOUR, NOW)
        before = _reads(pg_url, names, NOW)
        packed = _pack(store, NOW)
        raw, blocks, in_blocks = _table_counts(pg_url)
        assert raw + in_blocks == written and packed == in_blocks
        # Hours that ended more than GRACE ago are packed, by the hour for the two busy monitors;
        # the hourly monitor's open day stays raw until the day is over.
        cutoff = closed_before(NOW)
        with psycopg.connect(pg_url) as conn:
            assert conn.execute('SELECT count(*) FROM "check" AS c JOIN monitor AS m ON m.id = c.monitor_id '
                                "WHERE m.name != 'hourly' AND at_ms < %s", (cutoff,)).fetchone()[0] == 0
            spans = dict(conn.execute(
                "SELECT m.name, array_agg(DISTINCT b.end_ms - b.start_ms) FROM check_block AS b "
                "JOIN monitor AS m ON m.id = b.monitor_id GROUP BY m.name").fetchall())
        assert spans["dense"] == [HOUR * 1000] and spans["five-min"] == [HOUR * 1000]
        assert spans["hourly"] == [DAY * 1000]  # one whole day of 24 checks
        assert blocks > 40 and in_blocks > 0.8 * written
        after = _reads(pg_url, names, NOW)
        for name in names:
            for key, value in before[name].items():  # type: ignore[union-attr]
                assert after[name][key] == value, (name, key)  # type: ignore[index]
        assert after["summaries"] == before["summaries"]
        assert _pack(store, NOW) == 0  # idempotent: nothing left to pack
    finally:
        store.close()


def test_a_late_check_in_a_packed_hour_is_merged_and_a_rewritten_one_replaces_the_packed(pg_url: str) -> None:
    store = Store.open(pg_url)
    try:
        _history(store, {"api": 60.0}, NOW - 6 * HOUR, NOW)
        _pack(store, NOW)
        raw0, blocks0, packed0 = _table_counts(pg_url)
        feed = Feed("api", POLICY)
        late = NOW - 4 * HOUR + 0.5  # between two stored checks, in a packed hour
        store.commit_batch([feed.write(check("api", late, Outcome.DOWN, reason="HTTP 500", status=500))])
        assert _table_counts(pg_url) == (raw0 + 1, blocks0, packed0)
        assert any(c.at == late and c.reason == "HTTP 500" for c in store.recent_checks("api", 1000))
        stats = store.window_stats("api", NOW, 6 * HOUR)
        assert _pack(store, NOW) == 1
        assert _table_counts(pg_url) == (raw0, blocks0, packed0 + 1)  # merged into the hour's block
        assert store.window_stats("api", NOW, 6 * HOUR) == stats
        # The same check written again (held through an outage): the packed one is replaced.
        again = check("api", late, Outcome.UP, latency_ms=5.0)
        store.commit_batch([feed.write(again)])
        assert _table_counts(pg_url) == (raw0 + 1, blocks0, packed0)
        found = [c for c in store.recent_checks("api", 1000) if c.at == late]
        assert len(found) == 1 and found[0].outcome is Outcome.UP and found[0].latency_ms == 5.0
        window = store.window_stats("api", NOW, 6 * HOUR)
        assert window.checks == stats.checks and window.uptime is not None and window.uptime > stats.uptime
    finally:
        store.close()


def test_retention_drops_whole_blocks_and_keeps_a_day_straddling_the_cutoff(pg_url: str) -> None:
    store = Store.open(pg_url)
    try:
        _history(store, {"dense": 60.0, "hourly": 3600.0}, NOW - 50 * HOUR, NOW)
        _pack(store, NOW)
        keep = Retention(raw=20 * HOUR)
        cutoff_ms = keep.raw_cutoff_ms(NOW)
        assert store.prune(NOW, keep, 100_000) > 0
        with psycopg.connect(pg_url) as conn:
            rows = conn.execute("SELECT m.name, min(b.start_ms), min(b.end_ms - b.start_ms) FROM check_block "
                                "AS b JOIN monitor AS m ON m.id = b.monitor_id GROUP BY m.name").fetchall()
            oldest_raw = conn.execute('SELECT min(at_ms) FROM "check"').fetchone()[0]
        oldest = {name: (start, span) for name, start, span in rows}
        assert oldest["dense"] == (cutoff_ms, HOUR * 1000)  # hour blocks go by the hour, as raw rows
        start, span = oldest["hourly"]
        assert span == DAY * 1000 and start < cutoff_ms < start + span  # kept until all of it is old
        assert oldest_raw >= cutoff_ms
        assert store.prune(NOW, keep, 100_000) == 0
    finally:
        store.close()


def _all_checks(target: str | Path, names: list[str]) -> dict[str, list[object]]:
    store = Store.open(target)
    try:
        return {name: store.recent_checks(name, 1_000_000) for name in names}
    finally:
        store.close()


def test_copy_to_postgresql_packs_and_back_to_sqlite_unpacks(tmp_path: Path, pg_url: str,
                                                              postgres_server: PostgresServer) -> None:
    names = ["dense", "sparse"]
    lite = Store.open(tmp_path / "a.db")
    written = _history(lite, {"dense": 30.0, "sparse": 1800.0}, NOW - 60 * HOUR, time.time())
    pg = Store.open(pg_url)
    try:
        report = copy_history(lite, pg, batch=997)
        assert report.matches and dict((c.table, c.source) for c in report.counts)["check"] == written
    finally:
        pg.close()
        lite.close()
    raw, blocks, packed = _table_counts(pg_url)
    assert raw + packed == written and blocks > 0 and raw < 0.1 * written
    # PostgreSQL to PostgreSQL: the blocks go as they are; then back to SQLite, one row per check.
    second = postgres_server.create_database()
    for source, destination in ((pg_url, second), (second, tmp_path / "b.db")):
        src, dst = Store.open(source), Store.open(destination)
        try:
            assert copy_history(src, dst, batch=997).matches
        finally:
            src.close()
            dst.close()
    assert _table_counts(second) == (raw, blocks, packed)
    assert _all_checks(tmp_path / "b.db", names) == _all_checks(tmp_path / "a.db", names) == _all_checks(
        second, names)


def _bytes_per_check(url: str, monitors: int, interval: float, days: float,
                     now: float) -> tuple[float, float]:
    """Raw checks of `monitors` on their grids for `days` before `now`, COPYed in and packed by the
    chore; (bytes per packed check: check_block with its index and TOAST; bytes per check over all,
    the raw tail's table compacted as autovacuum keeps it in steady state)."""
    rng = random.Random(7)
    store = Store.open(url)
    try:
        with psycopg.connect(url) as conn:
            conn.execute("INSERT INTO monitor (name) SELECT 'm' || i FROM generate_series(1, %s) AS i",
                         (monitors,))
            conn.execute("INSERT INTO reason (text) VALUES ('timeout after 10.0s')")
            with conn.cursor().copy('COPY "check" (monitor_id, at_ms, code, latency_us, status, error_id) '
                                    "FROM STDIN") as copy:
                for monitor_id in range(1, monitors + 1):
                    at = now - days * DAY + rng.uniform(0, interval)
                    while at < now:
                        down = rng.random() < 0.01
                        copy.write_row((monitor_id, round(at * 1000), 2 if down else 0,
                                        10_000_000 if down else round(rng.lognormvariate(10, 0.5)),
                                        None if down else 200, 1 if down else None))
                        at += interval + rng.uniform(-0.05, 0.05)
        _pack(store, now, max_rows=20_000)
    finally:
        store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('VACUUM FULL "check"')
        conn.execute("VACUUM ANALYZE check_block")
        blocks = conn.execute("SELECT pg_total_relation_size('check_block')").fetchone()[0]
        raw_bytes = conn.execute("SELECT pg_total_relation_size('\"check\"')").fetchone()[0]
        raw, packed = conn.execute('SELECT (SELECT count(*) FROM "check"), (SELECT sum(n) FROM check_block)'
                                   ).fetchone()
    return blocks / packed, (blocks + raw_bytes) / (raw + packed)


@pytest.mark.parametrize(("monitors", "interval", "days", "packed_at_most"), [
    (10, 10.0, 1.0, 20.0),  # hour blocks of 360 (TOASTed)
    (100, 60.0, 2.0, 25.0),  # hour blocks of 60
    (100, 300.0, 2.0, 40.0),  # hour blocks of 12
    (100, 450.0, 2.0, 55.0),  # hour blocks of 8: the sparsest packed by the hour
    (100, 3600.0, 4.0, 35.0),  # day blocks of 24
])
def test_packed_checks_take_at_most_60_bytes_each(pg_url: str, monitors: int, interval: float, days: float,
                                                   packed_at_most: float) -> None:
    now = math.floor(time.time() / HOUR) * HOUR - GRACE
    packed, overall = _bytes_per_check(pg_url, monitors, interval, days, now)
    print(f"interval {interval:g}s: {packed:.1f} B per packed check, {overall:.1f} B per check overall")
    assert packed <= packed_at_most and overall <= 60.0


def test_range_bounds_are_inclusive_in_blocks_as_in_rows(pg_url: str) -> None:
    from shiptrack_tui.storage.packing import Wanted, check_rows, checks

    store = Store.open(pg_url)
    try:
        feed = Feed("api", POLICY)
        start = NOW - 6 * HOUR
        store.commit_batch([feed.write(check("api", start + 60 * i)) for i in range(4 * 60)])
        _pack(store, NOW)
        conn = store._db.connection()  # the test reads through the module under test directly
        monitor_id = conn.execute("SELECT id FROM monitor WHERE name = 'api'").fetchone()[0]
        assert conn.execute("SELECT sum(n) FROM check_block").fetchone()[0] == 240
        at = [round((start + 60 * i) * 1000) for i in range(240)]
        for low, high, expected in ((at[5], at[5], at[5:6]), (at[5] + 1, at[7] - 1, at[6:7]),
                                    (at[59], at[60], at[59:61]), (at[0] - 10**9, at[0], at[:1]),
                                    (at[239], at[239] + 10**9, at[239:]), (at[3] + 1, at[4] - 1, [])):
            wanted = Wanted(monitor_id, low, high)
            assert sorted(row[1] for row in check_rows(conn, wanted)) == expected
            source, params = checks(conn.dialect, wanted)
            in_sql = conn.execute(f"SELECT at_ms FROM {source} AS c", params)
            assert sorted(row[0] for row in in_sql) == expected
    finally:
        store.close()

"""Schema 3's fast paths: narrow histogram blobs, window totals, and the migration that adds them."""

from __future__ import annotations

import random
import sqlite3
from array import array
from pathlib import Path

import pytest
from storage_helpers import T0, Feed, check

from shiptrack_tui.core.model import Outcome
from shiptrack_tui.storage import Store, migrations
from shiptrack_tui.storage import windows as windows_module
from shiptrack_tui.storage.histograms import LANE_BITS, decode, encode, encode_packed, to_packed
from shiptrack_tui.storage.totals import TOTAL_HOURS

HOUR = 3600.0


def _legacy_dense(counts: dict[int, int]) -> bytes:
    """Schema 2's dense layout: uint16 first bucket, uint32 counts."""
    low, high = min(counts), max(counts)
    return bytes((1,)) + low.to_bytes(2, "little") + array(
        "I", (counts.get(b, 0) for b in range(low, high + 1))).tobytes()


def _legacy_sparse(counts: dict[int, int]) -> bytes:
    keys = sorted(counts)
    return bytes((0,)) + array("H", keys).tobytes() + array("I", (counts[k] for k in keys)).tobytes()


def _packed(counts: dict[int, int]) -> int:
    return sum(count << (LANE_BITS * bucket) for bucket, count in counts.items())


@pytest.mark.parametrize(("counts", "first_byte", "at_most"), [
    ({b: b % 5 + 1 for b in range(300, 400)}, 0x10, 103),  # an hour: one byte per bucket
    ({b: 300 + b for b in range(300, 400)}, 0x11, 203),
    ({200: 70_000, 201: 1}, 0x12, 11),
    ({0: 3, 500: 2, 900: 1}, 0x20, 10),  # few, far apart: sparse
])
def test_blobs_pick_the_narrowest_width_and_round_trip(counts: dict[int, int], first_byte: int,
                                                       at_most: int) -> None:
    blob = encode(counts)
    assert blob[0] == first_byte and len(blob) <= at_most
    assert decode(blob) == counts
    assert to_packed(blob) == _packed(counts)
    assert decode(encode_packed(_packed(counts))) == counts
    assert decode(encode_packed(_packed(counts), wide=True)) == counts
    for legacy in (_legacy_dense(counts), _legacy_sparse(counts)):
        assert decode(legacy) == counts and to_packed(legacy) == _packed(counts)


def _write_hours(store: Store, feeds: list[Feed], hours: int, every: float, seed: int,
                 skip: frozenset[str] = frozenset()) -> None:
    rng = random.Random(seed)
    for hour in range(hours):
        batch = []
        for k in range(int(HOUR // every)):
            for i, feed in enumerate(feeds):
                if feed.monitor in skip and hour > hours - 4:
                    continue  # a monitor that stopped: its totals lag behind
                roll = rng.random()
                outcome = Outcome.DOWN if roll < 0.04 else Outcome.DEGRADED if roll < 0.08 else Outcome.UP
                batch.append(feed.write(check(feed.monitor, T0 + hour * HOUR + k * every + i * 7.0, outcome,
                                              latency_ms=rng.lognormvariate(3, 0.6))))
        store.commit_batch(batch)


def _slow(monkeypatch: pytest.MonkeyPatch, store: Store, now: float,
          target: str | Path | None = None) -> list:
    with monkeypatch.context() as patch:
        patch.setattr(windows_module, "MAX_FIXUP_HOURS", -1)  # every monitor reads blocks
        fresh = Store.open(target or store.path)
        try:
            return fresh.monitor_summaries(now)
        finally:
            fresh.close()


@pytest.mark.timeout(300)  # 33 days, an hour per transaction: ~800 round-trip-bound commits on PG
def test_window_totals_give_what_the_blocks_give(store_target: str | Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(store_target)
    feeds = [Feed(f"m{i}") for i in range(3)]
    _write_hours(store, feeds, hours=33 * 24, every=900.0, seed=3, skip=frozenset({"m2"}))
    late = feeds[0].write(check("m0", T0 + 32 * 86400 + 5.0, Outcome.DOWN))  # lands in a folded hour
    store.commit_batch([late])
    conn = store._conn()
    assert conn.execute("SELECT count(*) FROM window_total").fetchone() == (3 * len(TOTAL_HOURS),)
    for monitor_id, n, through, up, degraded, down, blob in conn.execute(
            "SELECT monitor_id, hours, through_hour, up, degraded, down, hist FROM window_total").fetchall():
        summed = conn.execute("SELECT sum(up), sum(degraded), sum(down) FROM rollup WHERE monitor_id = ? "
                              "AND span = 1 AND hour > ? AND hour <= ?", (monitor_id, through - n, through))
        assert summed.fetchone() == (up, degraded, down)
        hours = conn.execute("SELECT hist FROM rollup WHERE monitor_id = ? AND span = 1 AND hour > ? "
                             "AND hour <= ?", (monitor_id, through - n, through))
        assert to_packed(blob) == sum(to_packed(hist) for (hist,) in hours)
    end = T0 + 33 * 86400
    for now in (end - 1.0, end + 600.0, end + 2 * HOUR + 1.5, end - 3 * HOUR - 1800.0, end - 40 * HOUR,
                end - 0.5 * HOUR, end + 9 * HOUR):
        assert store.monitor_summaries(now) == _slow(monkeypatch, store, now, store_target), now
    store.close()


def test_a_schema_2_database_migrates_to_compact_rollups_and_totals(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.sqlite"
    rng = random.Random(1)
    hours = 40 * 24
    first_hour = int(T0 // HOUR)
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
        patch.setattr(migrations, "SCHEMA_VERSION", 2)
        old = Store.open(path)
        # Today's sync reads columns of later schemas: the monitor row as schema 2 wrote it.
        old._conn().execute("INSERT INTO monitor (name, target) VALUES ('api', 'https://api.example.com')")
        assert old.schema_version() == 2
        old.close()
    conn = sqlite3.connect(path)
    rows, per_hour = [], {}
    for hour in range(first_hour, first_hour + hours):  # as schema 2's writer left them, 6 h blocks too
        counts = {rng.randint(250, 330): rng.randint(1, 9) for _ in range(20)}
        per_hour[hour] = (sum(counts.values()), counts)
        rows.append((1, 1, hour, sum(counts.values()), 0, 1, 0,
                     _legacy_dense(counts) if hour % 2 else _legacy_sparse(counts)))
    for span in (6, 24, 168):
        for start in range(first_hour - first_hour % span, first_hour + hours - span + 1, span):
            merged: dict[int, int] = {}
            inside = [per_hour[h] for h in range(start, start + span) if h in per_hour]
            for _up, counts in inside:
                for bucket, count in counts.items():
                    merged[bucket] = merged.get(bucket, 0) + count
            up = sum(up for up, _c in inside)
            rows.append((1, span, start, up, 0, len(inside), 0, _legacy_dense(merged)))
    conn.executemany("INSERT INTO rollup VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("UPDATE monitor SET rolled_hour = ?, newest_check_ms = ?",
                 (first_hour + hours - 1, int((first_hour + hours) * HOUR * 1000) - 1000))
    conn.commit()
    conn.close()
    now = (first_hour + hours) * HOUR - 1.0

    store = Store.open(path)
    assert store.schema_version() == migrations.SCHEMA_VERSION  # 3 and every later version
    conn = store._conn()
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'rollup'").fetchone()[0]
    assert "WITHOUT ROWID" not in ddl
    assert [s for (s,) in conn.execute("SELECT DISTINCT span FROM rollup ORDER BY span")] == [1, 24, 168]
    for hour, blob in conn.execute("SELECT hour, hist FROM rollup WHERE span = 1"):
        assert blob[0] & 0xF0 in (0x10, 0x20) and decode(blob) == per_hour[hour][1]
    assert conn.execute("SELECT count(*) FROM window_total").fetchone() == (len(TOTAL_HOURS),)
    fast = store.monitor_summaries(now)
    assert fast == _slow(monkeypatch, store, now)
    whole = range(int(now // HOUR) - 719, int(now // HOUR) + 1)  # 719 whole hours and the current one
    in_whole = sum(up + 1 for hour, (up, _c) in per_hour.items() if hour in whole)
    assert fast[0].windows["30d"].checks >= in_whole
    # A write after the migration moves the totals along from where the migration left them.
    store.commit_batch([Feed("api").write(check("api", now + 2 * HOUR))])
    assert store.monitor_summaries(now + 2 * HOUR + 60) == _slow(monkeypatch, store, now + 2 * HOUR + 60)
    store.close()


def test_writer_gathers_a_trickle_into_few_transactions_and_flush_is_prompt(store_target: str | Path) -> None:
    import time

    from shiptrack_tui.storage import Writer

    store = Store.open(store_target)
    writer = Writer(store, gather_seconds=0.05)
    feed = Feed("api")
    for i in range(40):  # ~500 writes/s, one at a time
        writer.submit(feed.write(check("api", T0 + i)))
        time.sleep(0.002)
    writer.flush(timeout=10)
    assert writer.batches <= 12  # not ~40: each transaction waited for company
    writer.close()
    # A one-second window, so a busy machine (parallel test workers) cannot pass for a prompt flush
    # or make a prompt one look slow.
    writer = Writer(store, gather_seconds=1.0)
    writer.submit(feed.write(check("api", T0 + 100)))
    started = time.perf_counter()
    writer.flush(timeout=10)
    assert time.perf_counter() - started < 0.5  # flush does not wait out the gathering window
    assert len(store.recent_checks("api", limit=100)) == 41
    writer.close()
    store.close()


def test_a_full_writer_queue_blocks_submit_and_drops_nothing(store_target: str | Path) -> None:
    from shiptrack_tui.storage import Writer

    store = Store.open(store_target)
    writer = Writer(store, max_pending=5, gather_seconds=0.0)
    feeds = [Feed(f"m{i}") for i in range(10)]
    for i in range(30):
        for feed in feeds:
            writer.submit(feed.write(check(feed.monitor, T0 + i)))
            assert writer.pending <= 6
    writer.close()
    assert writer.blocked > 0 and writer.dropped == 0
    assert all(len(store.recent_checks(f.monitor, limit=100)) == 30 for f in feeds)
    store.close()


def test_percentiles_match_the_bucket_by_bucket_reference_with_subtracted_counts() -> None:
    """The packed fast path (lanes read in C, a borrow detected by lane top bits) against the
    plain definition: counts per bucket, negative ones clamped, nearest rank."""
    from shiptrack_tui.core.stats import histogram_percentile
    from shiptrack_tui.storage.histograms import WindowHistogram

    rng = random.Random(7)
    borrowed = 0
    for _ in range(2000):
        counts = {rng.randrange(150, 700): rng.choice([1, 3, 60, 70_000])
                  for _ in range(rng.randrange(1, 50))}
        hist = WindowHistogram()
        hist.add_blob(encode(counts))
        for _ in range(rng.choice([0, 0, 3, 8])):  # raw checks added, and taken away (an edge)
            bucket = rng.randrange(140, 710)
            hist.loose[bucket] = hist.loose.get(bucket, 0) + rng.choice([-2, -1, 1, 4])
        if rng.random() < 0.2:  # an hour row taken away from the packed part that holds it
            held = rng.choice(sorted(counts))
            hist.packed -= to_packed(encode({held: rng.randrange(1, counts[held] + 1)}))
        per_bucket = hist.counts()
        borrowed += any(count < 0 for count in per_bucket)
        clamped = {bucket: max(0, count) for bucket, count in enumerate(per_bucket)}
        expected = ([histogram_percentile(clamped, q) for q in (0.5, 0.95)] if sum(clamped.values())
                    else [None, None])
        assert hist.percentiles(0.5, 0.95) == pytest.approx(expected), (counts, hist.loose)
    assert borrowed > 100  # the slow path ran too

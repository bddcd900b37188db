"""The store under load: concurrent writers, the batching writer, rollups, retention, size on disk.

Tests taking `store` run on SQLite and PostgreSQL; `sqlite_store` ones are about the file itself."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from storage_helpers import T0, Feed, check
from waiting import wait_for

from shiptrack_tui.core.model import MonitorState, Outcome
from shiptrack_tui.core.stats import exact_percentile
from shiptrack_tui.storage import PipelineWrite, Store, Writer
from shiptrack_tui.storage.codec import pack_code, to_ms, to_us
from shiptrack_tui.storage.rollups import RollupAccumulator

HOUR = 3600.0


@pytest.fixture
def store(store_target: str | Path) -> Store:
    opened = Store.open(store_target)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "shiptrack.db")
    yield opened
    opened.close()


def test_two_stores_in_two_threads_write_concurrently_without_lock_errors(store_target: str | Path) -> None:
    path = store_target
    stores = [Store.open(path), Store.open(path)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        store, feed = stores[index], Feed(f"m{index}")
        try:
            for i in range(150):
                at = T0 + i
                outcome = Outcome.DOWN if i % 7 == 0 else Outcome.UP
                store.commit_batch([feed.write(check(feed.monitor, at, outcome))])
                store.load_states()  # a read between writes: the read-then-write trap of DESIGN §9
                if i % 50 == 0:
                    store.add_action(*_pause_action(feed.monitor, at))
        except BaseException as error:
            errors.append(error)
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check_store = Store.open(path)
    assert [len(check_store.recent_checks(f"m{i}", limit=1000)) for i in range(2)] == [150, 150]
    check_store.close()


def _pause_action(monitor: str, at: float) -> tuple:
    from shiptrack_tui.core.model import ActionKind

    return (ActionKind.PAUSE, at, monitor)


def test_writer_batches_submissions_and_flush_waits_for_the_commit(store: Store) -> None:
    committed: list[int] = []
    writer = Writer(store, on_commit=lambda batch: committed.append(len(batch)))
    feeds = [Feed(f"m{i}") for i in range(20)]
    for i in range(50):
        for feed in feeds:
            writer.submit(feed.write(check(feed.monitor, T0 + i)))
    writer.flush(timeout=10)
    assert sum(committed) == 1000 and writer.pending == 0
    assert writer.batches < 1000  # writes that queued during a commit went in together
    assert len(store.recent_checks("m7", limit=100)) == 50
    writer.submit(feeds[0].write(check("m0", T0 + 100)))
    writer.close()
    assert store.recent_checks("m0", limit=1)[0].at == T0 + 100
    with pytest.raises(RuntimeError):
        writer.submit(feeds[0].write(check("m0", T0 + 101)))


def test_writer_retries_while_another_connection_holds_the_write_lock(sqlite_store: Store) -> None:
    store = sqlite_store
    hog = sqlite3.connect(store.path, timeout=0.05, isolation_level=None)
    hog.execute("BEGIN IMMEDIATE")
    fast = Store.open(store.path, busy_timeout=0.05)  # opens beside a writer; its commits fail fast
    writer = Writer(fast)
    writer.submit(Feed("api").write(check("api", T0)))
    with pytest.raises(TimeoutError):
        writer.flush(timeout=0.3)
    hog.execute("ROLLBACK")
    writer.flush(timeout=10)
    assert writer.retries >= 1 and writer.dropped == 0
    writer.close()
    assert len(store.recent_checks("api")) == 1
    hog.close()


def test_writer_drops_only_a_write_the_database_refuses(store: Store) -> None:
    writer = Writer(store)
    writer.submit(Feed("api").write(check("api", T0)))
    writer.submit(PipelineWrite("api", MonitorState(), result=check("api", T0 + 1, latency_ms=float("nan"))))
    writer.submit(Feed("web").write(check("web", T0)))
    writer.close()
    assert writer.dropped == 1
    assert len(store.recent_checks("api")) == 1 and len(store.recent_checks("web")) == 1


def _latencies(rng: random.Random, count: int) -> list[float]:
    return [rng.lognormvariate(3.0, 0.6) for _ in range(count)]


def test_rollup_percentiles_are_within_two_percent_of_exact(store: Store) -> None:
    rng = random.Random(7)
    feed = Feed("api")
    hours = 30
    latencies = _latencies(rng, hours * 120)
    writes = [feed.write(check("api", T0 + i * 30.0, latency_ms=lat)) for i, lat in enumerate(latencies)]
    store.commit_batch(writes)
    now = T0 + hours * HOUR
    stats = store.window_stats("api", now, hours * HOUR)
    stored = [r.latency_ms for r in store.recent_checks("api", limit=100_000)]
    for q, got in ((0.5, stats.p50_ms), (0.95, stats.p95_ms)):
        exact = exact_percentile(stored, q)
        assert got is not None and exact is not None
        assert abs(got - exact) / exact <= 0.02, (q, got, exact)
    assert stats.checks == len(latencies) and stats.uptime == 100.0


def test_window_stats_split_rollups_and_raw_edges_exactly(store: Store) -> None:
    rng = random.Random(3)
    feed = Feed("api")
    results = []
    for i in range(6 * 120):  # six hours, a check every 30 s, some down, some in maintenance
        at = T0 + i * 30.0 + 7
        outcome = Outcome.DOWN if rng.random() < 0.1 else Outcome.UP
        maintenance = rng.random() < 0.05
        results.append(check("api", at, outcome, latency_ms=rng.uniform(5, 50), maintenance=maintenance))
    store.commit_batch([feed.write(r) for r in results])
    now = T0 + 5.5 * HOUR + 123.4
    for window in (0.25 * HOUR, 1.7 * HOUR, 3.2 * HOUR, 24 * HOUR):
        inside = [r for r in results if to_ms(now - window) <= to_ms(r.at) <= to_ms(now)]
        counted = [r for r in inside if not r.in_maintenance]
        good = sum(r.outcome is not Outcome.DOWN for r in counted)
        stats = store.window_stats("api", now, window)
        assert stats.checks == len(counted)
        assert stats.uptime == pytest.approx(100.0 * good / len(counted))
        lat = [to_us(r.latency_ms) / 1000 for r in counted if r.outcome is not Outcome.DOWN]
        assert stats.p95_ms == pytest.approx(exact_percentile(lat, 0.95), rel=0.02)
    # The whole hours really come from rollups: with their raw rows gone the stats stay.
    before = store.window_stats("api", now, 3.2 * HOUR)
    store._conn().execute('DELETE FROM "check" WHERE at_ms >= ? AND at_ms < ?',
                          (to_ms(T0 + 3 * HOUR), to_ms(T0 + 5 * HOUR)))
    assert store.window_stats("api", now, 3.2 * HOUR) == before


def test_an_empty_window_is_none_not_zero(store: Store) -> None:
    from shiptrack_tui.core.model import WindowStats

    assert store.window_stats("nobody", T0, HOUR) == WindowStats()
    feed = Feed("api")
    store.commit_batch([feed.write(check("api", T0, maintenance=True))])
    assert store.window_stats("api", T0 + 1, HOUR) == WindowStats()
    assert store.window_stats("api", T0 + 10 * HOUR, HOUR) == WindowStats()


def test_latency_series_uses_raw_rows_or_rollups(store: Store) -> None:
    feed = Feed("api")
    store.commit_batch([feed.write(check("api", T0 + i * 60.0, latency_ms=10.0 + (i // 60)))
                        for i in range(6 * 60)])
    fine = store.latency_series("api", T0, T0 + 2 * HOUR, 4)
    assert fine == [10.0, 10.0, 11.0, 11.0]
    coarse = store.latency_series("api", T0, T0 + 8 * HOUR, 8)
    assert [None if v is None else round(v) for v in coarse] == [10, 11, 12, 13, 14, 15, None, None]
    assert store.latency_series("nobody", T0, T0 + HOUR, 3) == [None, None, None]




def test_prune_deletes_old_raw_checks_in_bounded_steps(tmp_path: Path, monkeypatch) -> None:
    """The engine's housekeeping, as it runs: retention in budgeted steps beside live checks, then
    free pages handed back to the file system."""
    from shiptrack_tui.config import Config
    from shiptrack_tui.config.settings import StorageSettings
    from shiptrack_tui.core.model import MonitorSpec
    from shiptrack_tui.demo import DemoTargetsThread
    from shiptrack_tui.engine import Engine, EngineThread
    from shiptrack_tui.engine import engine as engine_module
    from shiptrack_tui.storage import Retention, retention

    monkeypatch.setattr(engine_module, "HOUSEKEEPING_SECONDS", 0.5)  # every half second, not minute
    path = tmp_path / "shiptrack.db"
    store = Store.open(path)
    now = time.time()
    _bulk_checks(store, monitors=40, per_monitor=8 * 1440, start=now - 8 * 86400, every=60.0)
    keep = Retention(raw=2 * 86400)
    def old_at(moment: float) -> int:
        return store._conn().execute('SELECT COUNT(*) FROM "check" WHERE at_ms < ?',
                                     (keep.raw_cutoff_ms(moment),)).fetchone()[0]

    old = old_at(now)
    # The cutoff is an hour boundary: if the clock passes one during the test, the engine's last
    # housekeeping may take the next hour too (a CI run at hh:59 did).
    old_next_hour = old_at(now + 3600)
    assert old > 300_000
    # The function the engine calls takes at most its budget per call.
    assert store.prune(now, keep, max_rows=1500) == 1500
    store.checkpoint(truncate=True)
    size_before = path.stat().st_size

    targets = DemoTargetsThread()
    targets.start()
    spec = MonitorSpec(name="live", url=f"{targets.base_url}/t/live", interval=0.2, timeout=0.15)
    config = Config(path=tmp_path / "none.toml", monitors=(spec,),
                    storage=StorageSettings(keep_raw=keep.raw))
    handle = EngineThread(Engine(config, store, send_notifications=False))
    handle.start()
    try:
        conn = sqlite3.connect(path)

        def count(sql: str, *params: object) -> int:
            return conn.execute(sql, params).fetchone()[0]

        wait_for(lambda: count('SELECT COUNT(*) FROM "check" WHERE at_ms < ?', keep.raw_cutoff_ms(now)) == 0)
        live_then = count('SELECT COUNT(*) FROM "check" WHERE monitor_id = (SELECT id FROM monitor '
                          "WHERE name = 'live')")
        # Three quarters of the checks went: all but a slack of their pages leave the file.
        shrunk_to = size_before - ((size_before // 4096) // 2 - retention.RECLAIM_SLACK_PAGES) * 4096
        wait_for(lambda: count("PRAGMA freelist_count") <= retention.RECLAIM_SLACK_PAGES
                  and path.stat().st_size <= shrunk_to)
        # Checks went on meanwhile (one every 0.2 s), and what is inside retention is all there.
        assert live_then >= 5
        kept = count('SELECT COUNT(*) FROM "check" WHERE monitor_id != (SELECT id FROM monitor '
                     "WHERE name = 'live')")
        if keep.raw_cutoff_ms(time.time()) == keep.raw_cutoff_ms(now):
            assert kept == 40 * 8 * 1440 - old
        else:
            assert kept in (40 * 8 * 1440 - old, 40 * 8 * 1440 - old_next_hour)
        conn.close()
    finally:
        handle.stop()
        targets.stop()
        store.close()


def _bulk_checks(store: Store, monitors: int, per_monitor: int, start: float = T0,
                 every: float = 30.0) -> None:
    """Write checks the way the writer does, but through executemany for speed."""
    rng = random.Random(11)
    conn = store._conn()
    with store._db.atomic("IMMEDIATE"):
        ids = [conn.execute("INSERT INTO monitor (name) VALUES (?) RETURNING id", (f"m{i}",)).fetchone()[0]
               for i in range(monitors)]
        rollups = RollupAccumulator()
        rows = []
        for step in range(per_monitor):
            for monitor_id in ids:
                at_ms = to_ms(start + step * every + monitor_id * 0.013)
                down = rng.random() < 0.02
                code = pack_code(Outcome.DOWN if down else Outcome.UP, False)
                latency = to_us(rng.lognormvariate(3.5, 0.5))
                rows.append((monitor_id, at_ms, code, latency, 503 if down else 200, None))
                rollups.add(monitor_id, at_ms, code, latency)
        conn.executemany('INSERT INTO "check" VALUES (?, ?, ?, ?, ?, ?)', rows)
        rollups.flush(conn)


def test_raw_checks_take_at_most_40_bytes_each_on_disk(sqlite_store: Store) -> None:
    store = sqlite_store
    _bulk_checks(store, monitors=100, per_monitor=2000)
    store.checkpoint(truncate=True)
    conn = store._conn()
    pages = conn.execute("SELECT count(*) FROM dbstat WHERE name = 'check'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    per_check = pages * page_size / 200_000
    assert per_check <= 40, per_check
    total = conn.execute("PRAGMA page_count").fetchone()[0] * page_size / 200_000
    assert total <= 45, total  # the whole file, rollups and all


def test_writes_through_the_pipeline_stay_compact(sqlite_store: Store) -> None:
    store = sqlite_store
    feeds = [Feed(f"m{i}") for i in range(50)]
    for step in range(40):
        store.commit_batch([f.write(check(f.monitor, T0 + step * 30.0 + i * 0.1, latency_ms=20.0 + i % 7))
                            for i, f in enumerate(feeds)])
    store.checkpoint(truncate=True)
    conn = store._conn()
    pages = conn.execute("SELECT count(*) FROM dbstat WHERE name = 'check'").fetchone()[0]
    assert pages * conn.execute("PRAGMA page_size").fetchone()[0] / 2000 <= 40

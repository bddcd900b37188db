"""Retention over months: what each `[storage] keep_*` removes, statistics once raw and hour data
are gone (on both backends), and SQLite schema versions frozen as they shipped."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from peewee import TextField
from storage_helpers import T0, Feed, check

from shiptrack_tui.config.settings import StorageSettings
from shiptrack_tui.core.model import Outcome
from shiptrack_tui.core.stats import exact_percentile
from shiptrack_tui.storage import SCHEMA_VERSION, Retention, Store, migrations
from shiptrack_tui.storage import models as m
from shiptrack_tui.storage.codec import to_ms, to_us
from shiptrack_tui.storage.db import open_database

HOUR = 3600.0
DAY = 86400.0
FIXTURES = Path(__file__).parent / "fixtures"


def _schema(path: Path) -> list[tuple[str, str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql NOT NULL"))
    finally:
        conn.close()


def _frozen_v1(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text())
    conn.close()
    return path


# -- schema versions --------------------------------------------------------------------------
def test_a_fresh_database_equals_a_frozen_version_1_file_migrated_upward(tmp_path: Path) -> None:
    fresh = Store.open(tmp_path / "fresh.db")
    fresh.close()
    old = Store.open(_frozen_v1(tmp_path / "v1.db"))
    assert old.schema_version() == SCHEMA_VERSION
    old.close()
    assert _schema(tmp_path / "fresh.db") == _schema(tmp_path / "v1.db")


def test_version_1_is_built_from_its_frozen_ddl_not_from_the_models(tmp_path: Path) -> None:
    """A later model change must not change what migration 1 creates."""
    m.Monitor._meta.add_field("added_later", TextField(null=True))
    try:
        db = open_database(tmp_path / "v1.db")
        with db.atomic("IMMEDIATE"):
            migrations.MIGRATIONS[0](db)
            db.execute_sql("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
        db.close_all()
    finally:
        m.Monitor._meta.remove_field("added_later")
    assert _schema(tmp_path / "v1.db") == _schema(_frozen_v1(tmp_path / "frozen.db"))


# -- what retention removes -------------------------------------------------------------------
@pytest.fixture
def store(store_target: str | Path) -> Store:
    opened = Store.open(store_target)
    yield opened
    opened.close()


def _deliver_all(store: Store, at: float) -> None:
    while due := store.due_outbox(at, limit=1000):  # one row per (incident, URL) at a time
        for row in due:
            store.record_attempt(row.id, at, delivered=True)


def _incident_at(store: Store, feed: Feed, start: float) -> None:
    """Two failing checks open an incident, two good ones resolve it (one check a minute)."""
    outcomes = [Outcome.DOWN, Outcome.DOWN, Outcome.UP, Outcome.UP]
    store.commit_batch([feed.write(check(feed.monitor, start + i * 60, outcome))
                        for i, outcome in enumerate(outcomes)])


def _count(store: Store, sql: str, *params: object) -> int:
    return store._conn().execute(sql, params).fetchone()[0]


def test_retention_keeps_each_kind_for_its_own_time_and_never_an_open_incident(store: Store) -> None:
    from shiptrack_tui.storage import retention

    now = T0 + 60 * DAY + 1800
    keep = Retention(raw=2 * DAY, hourly=32 * DAY, daily=45 * DAY, incidents=10 * DAY)
    api, web = Feed("api", urls=("json://127.0.0.1:9/a",)), Feed("web", urls=("json://127.0.0.1:9/w",))
    # A check every 30 minutes for 60 days: hour rows, day and week blocks all over the range.
    store.commit_batch([api.write(check("api", T0 + i * 1800.0)) for i in range(60 * 48)])
    _incident_at(store, api, now - 20 * DAY + 7)  # resolved long ago: goes
    _incident_at(store, api, now - 5 * DAY + 7)  # resolved recently: stays
    _deliver_all(store, now - 5 * DAY)
    _incident_at(store, web, now - 30 * DAY)  # resolved long ago but its RESOLVED is still pending: stays
    store.commit_batch([web.write(check("web", now - 25 * DAY + i * 60, Outcome.DOWN)) for i in range(3)])
    open_id = store.incidents(open_only=True)[0].id  # open for 25 days: stays
    old = [i.id for i in store.incidents(monitor="api") if i.opened_at < now - 10 * DAY]
    assert len(old) == 1

    due = retention.due(store._conn(), now, keep)
    removed = 0
    while (step := store.prune(now, keep, max_rows=700)) == 700:  # the budget bounds every call
        removed += step
    removed += step
    assert removed == sum(due.values()) - due["timeline"] - due["outbox"]  # those go with their incident
    assert retention.due(store._conn(), now, keep) == dict.fromkeys(due, 0)
    assert store.prune(now, keep, max_rows=700) == 0

    cutoff_ms = to_ms((now - 2 * DAY) // HOUR * HOUR)  # on an hour boundary
    assert _count(store, 'SELECT MIN(at_ms) FROM "check" WHERE monitor_id = 1') == cutoff_ms
    hour = int(now // HOUR)
    assert _count(store, "SELECT MIN(hour) FROM rollup WHERE span = 1 AND monitor_id = 1") == hour - 32 * 24
    assert _count(store, "SELECT MIN(hour + span) FROM rollup WHERE span > 1") > hour - 45 * 24
    assert _count(store, "SELECT MIN(hour) FROM rollup WHERE span = 24") <= hour - 44 * 24
    remaining = {i.id for i in store.incidents()}
    assert old[0] not in remaining and open_id in remaining and len(remaining) == 3
    assert _count(store, "SELECT COUNT(*) FROM timeline WHERE incident_id = ?", old[0]) == 0
    assert _count(store, "SELECT COUNT(*) FROM outbox WHERE incident_id = ?", old[0]) == 0
    assert _count(store, "SELECT COUNT(*) FROM outbox WHERE incident_id IS NULL") == 0


def test_storage_defaults_are_the_retention_defaults() -> None:
    settings = StorageSettings()
    assert Retention() == Retention(raw=settings.keep_raw, hourly=settings.keep_hourly,
                                    daily=settings.keep_daily, incidents=settings.keep_incidents)
    assert (settings.keep_raw, settings.keep_hourly, settings.keep_daily) == (2 * DAY, 32 * DAY, 180 * DAY)


# -- statistics once raw checks and hour rows are gone ----------------------------------------
def _expected(results: list, start: float, end: float) -> tuple[int, float, float, float]:
    """Checks, uptime, p50 and p95 over the checks in [start, end] (times in stored precision)."""
    inside = [r for r in results if to_ms(start) <= to_ms(r.at) <= to_ms(end)]
    good = [r for r in inside if r.outcome is not Outcome.DOWN]
    latencies = [to_us(r.latency_ms) / 1000 for r in good]
    return (len(inside), 100.0 * len(good) / len(inside), exact_percentile(latencies, 0.5),
            exact_percentile(latencies, 0.95))


def _nearest_hour(at: float) -> float:
    """Where a window longer than a day starts (core.stats.window_start), computed another way."""
    first_whole = -(-to_ms(at) // 3_600_000) * 3600.0
    return first_whole - HOUR if first_whole - at > HOUR / 2 else first_whole


def _assert_stats(store: Store, results: list, now: float, window: float, start: float) -> None:
    stats = store.window_stats("api", now, window)
    checks, uptime, p50, p95 = _expected(results, start, now)
    assert stats.checks == checks
    assert stats.uptime == pytest.approx(uptime)
    assert stats.p50_ms == pytest.approx(p50, rel=0.02) and stats.p95_ms == pytest.approx(p95, rel=0.02)


def test_30_and_7_day_windows_stay_right_after_raw_and_hour_rows_are_pruned(store: Store) -> None:
    rng = random.Random(13)
    feed = Feed("api")
    results = []

    def write(first: float, count: int) -> None:
        batch = []
        for i in range(count):
            outcome = Outcome.DOWN if rng.random() < 0.03 else Outcome.UP
            result = check("api", first + i * 600.0, outcome, latency_ms=rng.lognormvariate(3.0, 0.5))
            results.append(result)
            batch.append(feed.write(result))
        store.commit_batch(batch)

    keep = Retention(raw=DAY, hourly=32 * DAY, daily=400 * DAY, incidents=30 * DAY)
    write(T0, 40 * 144)  # 40 days, a check every 10 minutes
    now = T0 + 40 * DAY - 600 + 1805  # 30 min 5 s past the hour of the last check
    for window in (7 * DAY, 30 * DAY):  # longer than a day: from the nearest hour, raw edges or not
        _assert_stats(store, results, now, window, _nearest_hour(now - window))
    _assert_stats(store, results, now, DAY, now - DAY)  # a day is to the check
    store.prune(now, keep, max_rows=1_000_000)
    assert _count(store, 'SELECT COUNT(*) FROM "check"') < 150  # one day left
    assert _count(store, "SELECT MIN(hour) FROM rollup WHERE span = 1") * HOUR > T0 + 7 * DAY
    for window in (7 * DAY, 30 * DAY):  # raw edges gone: the same
        _assert_stats(store, results, now, window, _nearest_hour(now - window))
    # The monitor's data still reaches back 32 days (the hour rows): its 7-day chart is not zoomed
    # in as for a monitor 1 day old.
    oldest_hour = _count(store, "SELECT MIN(hour) FROM rollup WHERE span = 1")
    assert store.first_check_at("api") == oldest_hour * HOUR < now - 31 * DAY

    # Silent for ten days while retention runs on, then checking again: the 30-day totals are
    # rebuilt from day and week blocks, because the hours leaving the window were pruned.
    later = now + 10 * DAY
    store.prune(later, keep, max_rows=1_000_000)
    assert _count(store, "SELECT MIN(hour) FROM rollup WHERE span = 1") * HOUR > T0 + 17 * DAY
    write(T0 + 50 * DAY, 12)
    end = T0 + 50 * DAY + 2 * HOUR + 5
    _assert_stats(store, results, end, 30 * DAY, _nearest_hour(end - 30 * DAY))
    _assert_stats(store, results, end, 7 * DAY, _nearest_hour(end - 7 * DAY))

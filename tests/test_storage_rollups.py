"""Rollup blocks: aligned decomposition, exact counts across folds, late checks and restarts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from storage_helpers import T0, Feed, check

from shiptrack_tui.core.model import CheckResult, Outcome
from shiptrack_tui.core.stats import bucket_of, exact_percentile, histogram_percentile, window_start
from shiptrack_tui.storage import Store
from shiptrack_tui.storage.codec import to_ms, to_us
from shiptrack_tui.storage.histograms import WindowHistogram, decode, encode
from shiptrack_tui.storage.rollups import SPANS, decompose

HOUR = 3600.0


@pytest.mark.parametrize(("first", "stop", "folded"), [
    (0, 1000, None), (5, 700, 10_000), (1, 900, 500), (171, 172, 172), (30, 30, 40), (3, 400, 0),
])
def test_decompose_covers_the_range_with_aligned_folded_blocks(first: int, stop: int,
                                                               folded: int | None) -> None:
    runs = decompose(first, stop, folded)
    hours = []
    for span, start, end in runs:
        assert span in SPANS and start % span == 0 and (end - start) % span == 0
        if span > 1:
            assert folded is not None and end <= folded
        hours.extend(range(start, end))
    assert hours == list(range(first, stop))
    if folded and folded >= stop and stop - first > 400:
        assert len(runs) <= 7  # runs of equal spans, a few dozen rows at most


@pytest.mark.parametrize("counts", [
    {0: 3, 150: 70_000, 932: 1},  # sparse
    {b: b % 7 + 1 for b in range(300, 480)},  # dense
    {200: 2**32 - 1},
])
def test_histogram_blobs_round_trip(counts: dict[int, int]) -> None:
    assert decode(encode(counts)) == counts
    assert decode(encode({5: 0, 6: -1})) == {} == decode(None)


def test_window_histograms_merge_packed_and_loose_counts_exactly() -> None:
    rng = random.Random(4)
    blobs = [{b: rng.randint(0, 50) for b in range(rng.randint(100, 300), rng.randint(301, 500))}
             for _ in range(30)]
    blobs += [{rng.randint(0, 900): rng.randint(1, 9) for _ in range(5)} for _ in range(10)]
    merged = WindowHistogram()
    expected: dict[int, int] = {}
    for counts in blobs:
        merged.add_blob(encode(counts))
        for bucket, count in counts.items():
            expected[bucket] = expected.get(bucket, 0) + count
    merged.add_blob(encode(blobs[0]), sign=-1)
    for bucket, count in blobs[0].items():
        expected[bucket] -= count
    merged.add_latency(12.5)
    expected[bucket_of(12.5)] = expected.get(bucket_of(12.5), 0) + 1
    got = merged.counts()
    assert {b: c for b, c in enumerate(got) if c} == {b: c for b, c in expected.items() if c}
    for q in (0.01, 0.5, 0.95, 1.0):
        assert merged.percentiles(q) == [histogram_percentile(expected, q)]
    assert WindowHistogram().percentiles(0.5) == [None]


def _history(days: int, every: float, seed: int) -> list[CheckResult]:
    rng = random.Random(seed)
    results = []
    for i in range(int(days * 86400 / every)):
        roll = rng.random()
        outcome = Outcome.DOWN if roll < 0.05 else Outcome.DEGRADED if roll < 0.1 else Outcome.UP
        results.append(check("api", T0 + 1234.5 + i * every, outcome, latency_ms=rng.lognormvariate(3, 0.5),
                             maintenance=rng.random() < 0.03))
    return results


def _exact(results: list[CheckResult], now: float, window: float) -> tuple[int, float, float, float]:
    start_ms = to_ms(window_start(now, window))
    inside = [r for r in results if start_ms <= to_ms(r.at) <= to_ms(now) and not r.in_maintenance]
    good = sum(r.outcome is not Outcome.DOWN for r in inside)
    latencies = [to_us(r.latency_ms) / 1000 for r in inside if r.outcome is not Outcome.DOWN]
    return len(inside), 100.0 * good / len(inside), exact_percentile(latencies, 0.5), exact_percentile(
        latencies, 0.95)


def _assert_matches(store: Store, results: list[CheckResult], now: float, window: float) -> None:
    checks, uptime, p50, p95 = _exact(results, now, window)
    stats = store.window_stats("api", now, window)
    assert stats.checks == checks, (now, window)
    assert stats.uptime == pytest.approx(uptime)
    assert stats.p50_ms == pytest.approx(p50, rel=0.02)
    assert stats.p95_ms == pytest.approx(p95, rel=0.02)


def _write_hourly(store: Store, feed: Feed, results: list[CheckResult]) -> None:
    batch: list = []
    hour = None
    for result in results:
        if hour is not None and result.at // HOUR != hour:
            store.commit_batch(batch)
            batch = []
        hour = result.at // HOUR
        batch.append(feed.write(result))
    store.commit_batch(batch)


def test_long_windows_from_folded_blocks_match_the_raw_history(store_target: str | Path) -> None:
    results = _history(days=10, every=300.0, seed=5)
    path = store_target
    store = Store.open(path)
    feed = Feed("api")
    half = len(results) // 2
    _write_hourly(store, feed, results[:half])
    store.close()
    store = Store.open(path)  # folding carries on where it stopped
    _write_hourly(store, feed, results[half:])
    spans = store._conn().execute("SELECT DISTINCT span FROM rollup ORDER BY span").fetchall()
    assert [span for (span,) in spans] == list(SPANS)
    last = results[-1].at
    for now in (last, last + 17.0, last - 5 * HOUR - 1234.0, T0 + 4.3 * 86400):
        for window in (HOUR, 1.5 * HOUR, 30 * HOUR, 3 * 86400, 7 * 86400, 30 * 86400):
            _assert_matches(store, results, now, window)
    store.close()


def test_blocks_of_every_span_sum_to_the_hours_they_cover(store_target: str | Path) -> None:
    store = Store.open(store_target)
    _write_hourly(store, Feed("api"), _history(days=9, every=600.0, seed=2))
    conn = store._conn()
    (rolled,) = conn.execute("SELECT rolled_hour FROM monitor").fetchone()
    hours_of = "FROM rollup WHERE span = 1 AND hour >= ? AND hour < ?"
    for span in SPANS[1:]:
        blocks = "SELECT hour, up, down, hist FROM rollup WHERE span = ? AND hour + ? <= ?"
        for start, up, down, blob in conn.execute(blocks, (span, span, rolled + 1)).fetchall():
            hours = conn.execute(f"SELECT sum(up), sum(down) {hours_of}", (start, start + span)).fetchone()
            assert (up, down) == hours
            merged: dict[int, int] = {}
            for (hour_blob,) in conn.execute(f"SELECT hist {hours_of}", (start, start + span)):
                for bucket, count in decode(hour_blob).items():
                    merged[bucket] = merged.get(bucket, 0) + count
            assert decode(blob) == merged
    store.close()


def test_late_and_replayed_checks_in_folded_hours_keep_windows_exact(store_target: str | Path) -> None:
    store = Store.open(store_target)
    results = _history(days=3, every=600.0, seed=9)
    feed = Feed("api")
    _write_hourly(store, feed, results)
    now = results[-1].at + 60
    for window in (2 * HOUR, 36 * HOUR, 3 * 86400):
        _assert_matches(store, results, now, window)  # fills the cache of settled hours
    late = check("api", T0 + 7 * HOUR + 11.0, Outcome.DOWN)
    replayed = check("api", results[30].at, Outcome.UP, latency_ms=999.0)
    store.commit_batch([feed.write(late), feed.write(replayed)])
    history = sorted([r for r in results if r.at != replayed.at] + [late, replayed], key=lambda r: r.at)
    for window in (2 * HOUR, 36 * HOUR, 3 * 86400):
        _assert_matches(store, history, now, window)
    _assert_matches(store, history, T0 + 30 * HOUR, 30 * HOUR)  # a past `now`: later checks stay out
    store.close()


def test_cached_settled_hours_match_a_fresh_reader(store_target: str | Path) -> None:
    path = store_target
    writer = Store.open(path)
    feeds = [Feed(f"m{i}") for i in range(3)]
    rng = random.Random(8)
    for hour in range(4 * 24):  # four days, every 10 minutes, an hour per batch
        writer.commit_batch([f.write(check(f.monitor, T0 + hour * HOUR + k * 600.0 + i,
                                           latency_ms=rng.uniform(5, 80)))
                             for k in range(6) for i, f in enumerate(feeds)])
    reader = Store.open(path)
    for minutes in range(0, 180, 7):  # the windows slide; cached hours are reused then dropped
        now = T0 + 3 * 86400 + minutes * 60.0
        assert reader.monitor_summaries(now) == Store.open(path).monitor_summaries(now)
    writer.close()
    reader.close()


def test_windows_longer_than_a_day_start_on_the_nearest_hour(store_target: str | Path) -> None:
    store = Store.open(store_target)
    _write_hourly(store, Feed("api"), [check("api", T0 + minute * 60.0) for minute in range(8 * 1440)])
    hour = T0 + 8 * 86400 - 3 * HOUR  # on the hour, with checks after it
    for minutes_past, moved in ((10, 10), (40, -20)):  # 7 days before: 10 minutes earlier, 20 later
        now = hour + minutes_past * 60
        assert store.window_stats("api", now, 86400).checks == 1440 + 1  # a day is to the check
        assert store.window_stats("api", now, 7 * 86400).checks == 7 * 1440 + moved + 1
        (summary,) = store.monitor_summaries(now)
        assert summary.windows["24h"].checks == 1440 + 1
        assert summary.windows["7d"].checks == 7 * 1440 + moved + 1
        assert summary.windows["30d"].checks == 8 * 1440 - 3 * 60 + minutes_past + 1  # all of it
    store.close()

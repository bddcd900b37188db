"""Durations, evaluation, statistics and schedule arithmetic: the rest of the pure core."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shiptrack_tui.core.durations import DurationError, format_duration, parse_duration
from shiptrack_tui.core.evaluation import evaluate
from shiptrack_tui.core.model import MonitorSpec, Observation, Outcome, StatusRange
from shiptrack_tui.core.schedule import first_due, next_due, stable_offset
from shiptrack_tui.core.stats import bucket_of, exact_percentile, histogram_percentile, uptime_percent


def histogram_of(latencies: Iterable[float]) -> dict[int, int]:
    """Bucket counts as a rollup keeps them (storage/histograms.py stores the same buckets)."""
    return dict(Counter(bucket_of(latency) for latency in latencies))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("10s", 10),
        ("5m", 300),
        ("1h", 3600),
        ("7d", 604800),
        (30, 30),
        (1.5, 1.5),
        ("2.5s", 2.5),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["10", "5 minutes", "", "-1s", True, -3, None, [1]])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "0.5s"),
        (45, "45s"),
        (200, "3m 20s"),
        (7500, "2h 5m"),
        (86400 * 3 + 3600 * 4, "3d 4h"),
        (3600, "1h"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


SPEC = MonitorSpec(name="api", url="https://example.test/health")


def obs(**kw: object) -> Observation:
    base: dict[str, object] = {"at": 100.0, "latency_ms": 20.0, "status_code": 200, "body": b"all ok"}
    base.update(kw)
    return Observation(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "observation", "outcome", "reason"),
    [
        (SPEC, obs(), Outcome.UP, None),
        (SPEC, obs(status_code=301), Outcome.UP, None),
        (SPEC, obs(status_code=503), Outcome.DOWN, "HTTP 503"),
        (SPEC, obs(error="connection refused", status_code=None), Outcome.DOWN, "connection refused"),
        (
            MonitorSpec("a", "http://x", expect_status=(StatusRange(200, 200),)),
            obs(status_code=204),
            Outcome.DOWN,
            "HTTP 204 (expected 200)",
        ),
        (MonitorSpec("a", "http://x", body_contains="ok"), obs(), Outcome.UP, None),
        (
            MonitorSpec("a", "http://x", body_contains="fine"),
            obs(),
            Outcome.DOWN,
            "body does not contain 'fine'",
        ),
        (MonitorSpec("a", "http://x", body_regex=r"all\s+ok"), obs(), Outcome.UP, None),
        (MonitorSpec("a", "http://x", body_regex=r"^ok$"), obs(), Outcome.DOWN, "body does not match /^ok$/"),
        (
            MonitorSpec("a", "http://x", degraded_after=0.01),
            obs(latency_ms=20.0),
            Outcome.DEGRADED,
            "slow: 0.0s over 0.0s",
        ),
        (MonitorSpec("a", "tcp://127.0.0.1:1"), obs(status_code=None, body=None), Outcome.UP, None),
    ],
)
def test_evaluate(spec: MonitorSpec, observation: Observation, outcome: Outcome, reason: str | None) -> None:
    result = evaluate(spec, observation)
    assert result.outcome is outcome
    if outcome is not Outcome.DEGRADED:
        assert result.reason == reason
    assert result.at == 100.0 and result.monitor == spec.name


def test_uptime_none_without_data() -> None:
    assert uptime_percent(0, 0) is None
    assert uptime_percent(3, 1) == 75.0


@given(
    st.lists(st.floats(0.05, 60_000, allow_nan=False), min_size=1, max_size=500),
    st.sampled_from([0.5, 0.95, 0.99]),
)
def test_histogram_percentiles_within_two_percent(values: list[float], q: float) -> None:
    exact = exact_percentile(values, q)
    approx = histogram_percentile(histogram_of(values), q)
    assert exact is not None and approx is not None
    assert abs(approx - exact) / exact <= 0.02


def test_offsets_are_stable_and_spread() -> None:
    assert stable_offset("api", 60) == stable_offset("api", 60)
    offsets = [stable_offset(f"m{i}", 30.0) for i in range(1000)]
    assert all(0 <= o < 30 for o in offsets)
    # Spread over the interval: each of ten equal slices holds a fair share.
    counts = [sum(1 for o in offsets if k * 3 <= o < (k + 1) * 3) for k in range(10)]
    assert min(counts) > 60


def test_due_times_do_not_drift_and_skip_when_far_behind() -> None:
    due = first_due("api", 10.0, 1000.0)
    assert 1000.0 <= due < 1010.0
    assert next_due(due, 10.0, due + 0.7) == (due + 10.0, 0)  # a slow check does not push the grid
    following, skipped = next_due(due, 10.0, due + 55.0)
    assert skipped == 4 and following == due + 50.0  # slots +10..+40 given up; +50 runs now


def test_random_latencies_percentile_sanity() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 0.5) for _ in range(10_000)]
    approx = histogram_percentile(histogram_of(values), 0.95)
    exact = exact_percentile(values, 0.95)
    assert approx is not None and exact is not None and abs(approx / exact - 1) < 0.02

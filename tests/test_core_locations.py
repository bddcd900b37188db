"""Confirmation from several locations (core/locations.py): the owner's verdict (DESIGN §12)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack_tui.core.locations import (
    LocationState,
    LocationStatus,
    Verdict,
    fold,
    record,
)
from shiptrack_tui.core.model import CheckResult, Outcome

NOW = 1_800_000_000.0
STALE = 150.0
POOL = ("eu-west", "us-east", "ap-south", "sa-east", "af-south", "me-central")
REASONS = ("HTTP 503", "connection refused", "timeout after 10.0s")


def failing(count: int, reason: str = "HTTP 503", at: float = NOW - 10, since: float = NOW - 200
            ) -> LocationState:
    return LocationState(consecutive_failures=count, first_failure_at=since, reason=reason,
                         outcome=Outcome.DOWN, last_check_at=at, latency_ms=12.0)


def ok(at: float = NOW - 10) -> LocationState:
    return LocationState(outcome=Outcome.UP, last_check_at=at, latency_ms=20.0)


def verdict(states: dict[str, LocationState], confirm: int = 2, threshold: int = 3,
            locations: tuple[str, ...] = ("eu-west", "us-east", "ap-south")) -> Verdict:
    return fold(states, locations, confirm, NOW, STALE, failure_threshold=threshold)


def test_record_counts_a_run_of_failures_from_its_first_check() -> None:
    state = LocationState()
    for at, outcome in ((100.0, Outcome.UP), (160.0, Outcome.DOWN), (220.0, Outcome.DOWN)):
        state = record(state, CheckResult("api", at, outcome, 12.0, 503 if outcome is Outcome.DOWN else 200,
                                          "HTTP 503" if outcome is Outcome.DOWN else None))
    assert state == LocationState(2, 160.0, "HTTP 503", Outcome.DOWN, 220.0, 12.0)
    state = record(state, CheckResult("api", 280.0, Outcome.DEGRADED, 2500.0, 200, "slow: 2.5s over 2s"))
    assert (state.consecutive_failures, state.first_failure_at, state.last_check_at) == (0, None, 280.0)


def test_two_of_three_failing_is_down_and_the_reason_says_where() -> None:
    result = verdict({"eu-west": failing(3, since=NOW - 300), "us-east": failing(4, since=NOW - 250),
                      "ap-south": ok()})
    assert result.down
    assert result.reason == "HTTP 503 from eu-west, us-east; ok from ap-south"
    assert result.failing == ("eu-west", "us-east")
    assert result.since == NOW - 300
    assert [(r.location, r.status) for r in result.locations] == [
        ("eu-west", LocationStatus.DOWN), ("us-east", LocationStatus.DOWN), ("ap-south", LocationStatus.UP)]


def test_one_location_refusing_opens_nothing_and_shows_its_failure() -> None:
    result = verdict({"eu-west": failing(9, "connection refused"), "us-east": ok(), "ap-south": ok()})
    assert not result.down and result.since is None
    assert result.reason == "connection refused from eu-west; ok from us-east, ap-south"


def test_a_location_below_the_threshold_carries_its_count() -> None:
    result = verdict({"eu-west": failing(3), "us-east": failing(1), "ap-south": ok()})
    assert not result.down
    assert result.reason == "HTTP 503 from eu-west, us-east (1 of 3); ok from ap-south"
    assert result.locations[1].status is LocationStatus.PENDING


def test_a_silent_location_counts_as_not_failing_and_is_named() -> None:
    states = {"eu-west": failing(3), "us-east": failing(5, at=NOW - STALE - 1), "sa-east": failing(5)}
    result = verdict(states)
    assert not result.down  # us-east's failures are too old to count; sa-east is not configured
    assert result.reason == "HTTP 503 from eu-west; no data from us-east, ap-south"
    assert result.locations[1].status is LocationStatus.NO_DATA


def test_resolves_as_soon_as_fewer_than_confirm_are_failing() -> None:
    assert verdict({"eu-west": failing(3), "us-east": failing(3), "ap-south": ok()}).down
    assert not verdict({"eu-west": failing(3), "us-east": ok(), "ap-south": ok()}).down


def test_confirm_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        verdict({}, confirm=0)


@st.composite
def situations(draw: st.DrawFn) -> tuple[tuple[str, ...], dict[str, LocationState], int, int]:
    locations = tuple(draw(st.lists(st.sampled_from(POOL), unique=True, min_size=1, max_size=len(POOL))))
    states = {}
    for location in locations:
        if draw(st.booleans()):
            count = draw(st.integers(0, 5))
            at = NOW - draw(st.sampled_from([0.0, 30.0, STALE, STALE + 1, 900.0]))
            states[location] = failing(count, draw(st.sampled_from(REASONS)), at) if count else ok(at)
    confirm = draw(st.integers(1, len(locations)))
    return locations, states, confirm, draw(st.integers(1, 4))


def confirmed(states: dict[str, LocationState], locations: tuple[str, ...], threshold: int) -> list[str]:
    """The locations that count towards confirm, by the rule itself."""
    return [loc for loc in locations if loc in states and states[loc].last_check_at is not None
            and NOW - states[loc].last_check_at <= STALE and states[loc].consecutive_failures >= threshold]


@settings(max_examples=150, deadline=None)
@given(situation=situations())
def test_down_exactly_when_confirm_locations_each_reached_the_threshold(
        situation: tuple[tuple[str, ...], dict[str, LocationState], int, int]) -> None:
    locations, states, confirm, threshold = situation
    result = fold(states, locations, confirm, NOW, STALE, failure_threshold=threshold)
    failing_now = confirmed(states, locations, threshold)
    assert result.failing == tuple(failing_now)
    assert result.down == (len(failing_now) >= confirm)  # never down with fewer than confirm failing
    assert (result.since is not None) == result.down


@settings(max_examples=150, deadline=None)
@given(situation=situations(), pick=st.integers(0, len(POOL) - 1))
def test_one_more_failing_location_never_brings_the_monitor_up(
        situation: tuple[tuple[str, ...], dict[str, LocationState], int, int], pick: int) -> None:
    locations, states, confirm, threshold = situation
    before = fold(states, locations, confirm, NOW, STALE, failure_threshold=threshold)
    location = locations[pick % len(locations)]
    worse = {**states, location: failing(threshold)}
    after = fold(worse, locations, confirm, NOW, STALE, failure_threshold=threshold)
    assert len(after.failing) >= len(before.failing)
    assert after.down or not before.down


@settings(max_examples=150, deadline=None)
@given(situation=situations())
def test_the_reason_names_every_location_exactly_once_in_the_configured_order(
        situation: tuple[tuple[str, ...], dict[str, LocationState], int, int]) -> None:
    locations, states, confirm, threshold = situation
    reason = fold(states, locations, confirm, NOW, STALE, failure_threshold=threshold).reason
    groups: list[tuple[str, list[str]]] = []
    for group in reason.split("; "):
        phrase, _, labels = group.rpartition(" from ")
        assert phrase in ("ok", "no data", *REASONS)
        groups.append((phrase, [label.split(" (")[0] for label in labels.split(", ")]))
    named = [location for _, members in groups for location in members]
    assert sorted(named) == sorted(locations)  # each exactly once
    assert len({phrase for phrase, _ in groups}) == len(groups)  # equal reasons are grouped
    for _, members in groups:
        assert members == sorted(members, key=locations.index)
    firsts = [locations.index(members[0]) for _, members in groups]
    assert firsts == sorted(firsts)

"""The owner's fold of a multi-location monitor (engine/locations.py), fast and in-process: the
locations' stored states become one result per interval, and the pipeline's own state machine
turns those into exactly one incident."""

from __future__ import annotations

from shiptrack_tui.core.incidents import IncidentOpened, IncidentResolved, step
from shiptrack_tui.core.locations import LocationState, record
from shiptrack_tui.core.model import CheckResult, MonitorSpec, MonitorState, MonitorStatus, Outcome
from shiptrack_tui.engine.locations import fold_result, policy, to_core, to_stored
from shiptrack_tui.storage.cluster import LocationResult

NOW = 1_700_000_000.0
PLACES = ("eu-west", "us-east", "ap-south")
SPEC = MonitorSpec(name="api", url="http://127.0.0.1:9/", interval=10.0, timeout=2.0, failure_threshold=2,
                   locations=PLACES, confirm=2)


def row(location: str, ok: bool, failures: int = 0, *, at: float = NOW - 1, latency: float | None = 10.0,
        reason: str | None = None) -> LocationResult:
    return LocationResult(monitor="api", location=location, ok=ok, failures=failures,
                          reason=reason if reason is not None or ok else "HTTP 503", latency_ms=latency,
                          checked_at=at)


def test_one_location_failing_is_degraded_and_the_reason_says_where() -> None:
    result = fold_result(SPEC, [row("eu-west", True, latency=5), row("us-east", True, latency=30),
                                row("ap-south", False, 4, latency=70)], NOW)
    assert result is not None
    # reachable from two places, not from the third: no incident (confirm = 2), but not plainly up;
    # the failing location's time (a refused connection, a timeout) is no latency of the site
    assert (result.outcome, result.at, result.latency_ms) == (Outcome.DEGRADED, NOW, 17.5)
    assert result.reason == "ok from eu-west, us-east; HTTP 503 from ap-south"
    everywhere = fold_result(SPEC, [row(place, True, latency=8) for place in PLACES], NOW)
    assert everywhere is not None and (everywhere.outcome, everywhere.latency_ms) == (Outcome.UP, 8)


def test_confirm_locations_at_the_threshold_is_down_naming_them() -> None:
    rows = [row("eu-west", False, 2), row("us-east", False, 3), row("ap-south", True)]
    result = fold_result(SPEC, rows, NOW)
    assert result is not None and result.outcome is Outcome.DOWN
    assert result.reason == "HTTP 503 from eu-west, us-east; ok from ap-south"


def test_a_location_below_its_threshold_does_not_count_and_says_how_far_it_is() -> None:
    rows = [row("eu-west", False, 2), row("us-east", False, 1), row("ap-south", True)]
    result = fold_result(SPEC, rows, NOW)
    assert result is not None and result.outcome is Outcome.DEGRADED
    assert result.reason == "HTTP 503 from eu-west, us-east (1 of 2); ok from ap-south"


def test_stale_locations_are_no_data_and_none_at_all_gives_no_result() -> None:
    old = NOW - 3 * SPEC.interval - SPEC.timeout - 1
    result = fold_result(SPEC, [row("eu-west", False, 5), row("us-east", False, 5, at=old)], NOW)
    assert result is not None and result.outcome is Outcome.DEGRADED
    assert result.reason == "HTTP 503 from eu-west; no data from us-east, ap-south"
    assert fold_result(SPEC, [row("eu-west", False, 5, at=old)], NOW) is None
    assert fold_result(SPEC, [], NOW) is None


def test_rows_of_other_monitors_and_locations_are_ignored() -> None:
    other = LocationResult("web", "us-east", False, 9, "HTTP 500", 1.0, NOW)
    result = fold_result(SPEC, [row("eu-west", False, 2), other, row("sa-east", False, 9)], NOW)
    assert result is not None and result.outcome is Outcome.DEGRADED


def test_maintenance_is_carried_to_the_result() -> None:
    result = fold_result(SPEC, [row("eu-west", False, 2), row("us-east", False, 2)], NOW, in_maintenance=True)
    assert result is not None and result.in_maintenance


def test_stored_and_core_states_round_trip_and_the_run_start_is_placed_by_the_interval() -> None:
    state = LocationState()
    for at, outcome in ((NOW - 20, Outcome.UP), (NOW - 10, Outcome.DOWN), (NOW, Outcome.DOWN)):
        result = CheckResult("api", at, outcome, 12.0, reason=None if outcome is Outcome.UP else "HTTP 503")
        state = record(state, result)
    stored = to_stored("api", "eu-west", state)
    assert stored == LocationResult("api", "eu-west", False, 2, "HTTP 503", 12.0, NOW)
    back = to_core(stored, SPEC.interval)
    assert back.consecutive_failures == 2 and back.first_failure_at == NOW - 10
    assert back.outcome is Outcome.DOWN and back.last_check_at == NOW
    assert to_core(LocationResult("api", "x", True, 0, None, 3.0, NOW), 10).first_failure_at is None


def test_folded_results_open_once_and_resolve_once_through_the_state_machine() -> None:
    """The thresholds were met per location: one DOWN opens, one UP resolves, nothing in between
    opens a second incident."""
    rules = policy(SPEC)
    state = MonitorState()
    events_seen = []
    rounds = [
        [row("eu-west", False, 2), row("us-east", True), row("ap-south", True)],  # one location: up
        [row("eu-west", False, 3), row("us-east", False, 2), row("ap-south", True)],  # confirmed: down
        [row("eu-west", False, 4), row("us-east", False, 3), row("ap-south", False, 2)],  # still down
        [row("eu-west", True), row("us-east", False, 4), row("ap-south", True)],  # one left: up
        [row("eu-west", True), row("us-east", True), row("ap-south", True)],
    ]
    statuses = []
    for index, rows in enumerate(rounds):
        result = fold_result(SPEC, rows, NOW + index)
        assert result is not None
        state, events = step(state, result, rules)
        events_seen += events
        statuses.append(state.status)
    # one location failing is degraded, not down; it no longer holds the incident open either
    assert statuses == [MonitorStatus.DEGRADED, MonitorStatus.DOWN, MonitorStatus.DOWN,
                        MonitorStatus.DEGRADED, MonitorStatus.UP]
    opened = [e for e in events_seen if isinstance(e, IncidentOpened)]
    resolved = [e for e in events_seen if isinstance(e, IncidentResolved)]
    assert len(opened) == 1 and len(resolved) == 1
    assert opened[0].cause == "HTTP 503 from eu-west, us-east; ok from ap-south"
    assert rules.failure_threshold == 1 and rules.recovery_threshold == 1 and rules.severity == SPEC.severity

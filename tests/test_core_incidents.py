"""The incident state machine: table tests and properties over arbitrary result sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack_tui.core.incidents import (
    TRANSITIONS,
    IllegalTransition,
    IncidentAcknowledged,
    IncidentOpened,
    IncidentResolved,
    Signal,
    StatusChanged,
    acknowledge,
    pause,
    reminder_due,
    resume,
    step,
)
from shiptrack_tui.core.model import (
    CheckResult,
    IncidentState,
    MonitorState,
    MonitorStatus,
    Outcome,
    Policy,
)

POLICY = Policy(failure_threshold=3, recovery_threshold=2)
CODES = {"u": Outcome.UP, "g": Outcome.DEGRADED, "d": Outcome.DOWN}


def result(outcome: Outcome, at: float, maintenance: bool = False) -> CheckResult:
    reason = None if outcome is not Outcome.DOWN else f"HTTP 503 at {at:g}"
    return CheckResult("api", at, outcome, 12.0, 503 if reason else 200, reason, in_maintenance=maintenance)


def run(pattern: str, policy: Policy = POLICY, state: MonitorState | None = None):
    """Feed a pattern like "uuddd" (one check a minute) and collect every event."""
    state = state or MonitorState()
    events = []
    for i, code in enumerate(pattern):
        state, new = step(state, result(CODES[code], 60.0 * i), policy)
        events.extend(new)
    return state, events


def incident_events(events):
    return [e for e in events if not isinstance(e, StatusChanged)]


@pytest.mark.parametrize(
    ("pattern", "status", "opened", "resolved"),
    [
        ("", MonitorStatus.UNKNOWN, 0, 0),
        ("u", MonitorStatus.UP, 0, 0),
        ("g", MonitorStatus.DEGRADED, 0, 0),
        ("d", MonitorStatus.PENDING, 0, 0),
        ("dd", MonitorStatus.PENDING, 0, 0),
        ("ddd", MonitorStatus.DOWN, 1, 0),
        ("dddddd", MonitorStatus.DOWN, 1, 0),
        ("ddud", MonitorStatus.PENDING, 0, 0),
        ("dddu", MonitorStatus.DOWN, 1, 0),
        ("ddduu", MonitorStatus.UP, 1, 1),
        ("ddduud", MonitorStatus.PENDING, 1, 1),
        ("dddudu", MonitorStatus.DOWN, 1, 0),
        ("ddduuddd", MonitorStatus.DOWN, 2, 1),
        ("dddgg", MonitorStatus.DEGRADED, 1, 1),
    ],
)
def test_thresholds(pattern: str, status: MonitorStatus, opened: int, resolved: int) -> None:
    state, events = run(pattern)
    assert state.status is status
    assert sum(isinstance(e, IncidentOpened) for e in events) == opened
    assert sum(isinstance(e, IncidentResolved) for e in events) == resolved


def test_incident_starts_at_the_first_failing_check_and_resolve_reports_duration() -> None:
    state, events = run("uuddduu")
    opened, resolved = incident_events(events)
    assert isinstance(opened, IncidentOpened)
    assert opened.started_at == 120.0  # the first "d", not the third
    assert opened.at == 240.0
    assert opened.cause == "HTTP 503 at 240"
    assert isinstance(resolved, IncidentResolved)
    assert resolved.at == 360.0 and resolved.duration == 240.0
    assert state.incident is None and state.consecutive_successes == 2


def test_status_changes_are_reported_once_per_change() -> None:
    _, events = run("uuddd")
    changes = [(e.old, e.new) for e in events if isinstance(e, StatusChanged)]
    assert changes == [
        (MonitorStatus.UNKNOWN, MonitorStatus.UP),
        (MonitorStatus.UP, MonitorStatus.PENDING),
        (MonitorStatus.PENDING, MonitorStatus.DOWN),
    ]


def test_acknowledge_then_resolve() -> None:
    state, _ = run("ddd")
    state, events = acknowledge(state, "api", 500.0, "looking")
    assert events == [IncidentAcknowledged("api", 500.0, 0.0, "looking")]
    assert state.incident is not None and state.incident.state is IncidentState.ACKNOWLEDGED
    assert state.incident.acknowledged_at == 500.0
    for at in (600.0, 660.0):
        state, events = step(state, result(Outcome.UP, at), POLICY)
    assert any(isinstance(e, IncidentResolved) for e in events)


def test_illegal_transitions_raise_and_change_nothing() -> None:
    with pytest.raises(IllegalTransition):
        acknowledge(MonitorState(), "api", 1.0)
    state, _ = run("ddd")
    acked, _ = acknowledge(state, "api", 1.0)
    with pytest.raises(IllegalTransition):
        acknowledge(acked, "api", 2.0)
    assert acked.incident is not None and acked.incident.acknowledged_at == 1.0


def test_transition_table_is_the_contract() -> None:
    assert TRANSITIONS == {
        (IncidentState.OPEN, Signal.ACK): IncidentState.ACKNOWLEDGED,
        (IncidentState.OPEN, Signal.RECOVERED): IncidentState.RESOLVED,
        (IncidentState.ACKNOWLEDGED, Signal.RECOVERED): IncidentState.RESOLVED,
    }


def test_maintenance_failures_never_open_an_incident_and_an_outage_across_its_end_opens_one() -> None:
    state = MonitorState()
    events = []
    for i in range(10):  # ten failures inside the window
        state, new = step(state, result(Outcome.DOWN, 60.0 * i, maintenance=True), POLICY)
        events += new
    assert state.status is MonitorStatus.MAINTENANCE and state.incident is None
    for i in range(10, 15):  # the outage goes on after the window ends
        state, new = step(state, result(Outcome.DOWN, 60.0 * i), POLICY)
        events += new
    opened = [e for e in events if isinstance(e, IncidentOpened)]
    assert len(opened) == 1 and opened[0].started_at == 600.0


def test_paused_monitor_counts_nothing_and_resumes_from_scratch() -> None:
    state, _ = run("dd")
    state, events = pause(state, "api", 130.0)
    assert state.status is MonitorStatus.PAUSED and events
    state, events = step(state, result(Outcome.DOWN, 140.0), POLICY)
    assert state.consecutive_failures == 0 and not events
    state, _ = resume(state, "api", 150.0)
    assert state.status is MonitorStatus.UNKNOWN
    state, events = step(state, result(Outcome.DOWN, 160.0), POLICY)
    assert state.status is MonitorStatus.PENDING and state.consecutive_failures == 1


def test_reminders_only_for_open_unacknowledged_incidents() -> None:
    state, _ = run("ddd")  # opened at 120
    assert reminder_due(state, "api", None, 3600.0, 120.0 + 3599) is None
    due = reminder_due(state, "api", None, 3600.0, 120.0 + 3600)
    assert due is not None and due.started_at == 0.0
    assert reminder_due(state, "api", 3720.0, 3600.0, 3720.0 + 10) is None
    acked, _ = acknowledge(state, "api", 200.0)
    assert reminder_due(acked, "api", None, 3600.0, 99999.0) is None
    assert reminder_due(state, "api", None, None, 99999.0) is None


outcomes = st.lists(st.sampled_from("uudgd"), max_size=60).map("".join)
policies = st.builds(Policy, st.integers(1, 5), st.integers(1, 5))


@settings(max_examples=300, deadline=None)
@given(outcomes, policies)
def test_incident_is_open_exactly_when_the_monitor_is_down(pattern: str, policy: Policy) -> None:
    state = MonitorState()
    for i, code in enumerate(pattern):
        state, _ = step(state, result(CODES[code], float(i)), policy)
        assert (state.incident is not None) == (state.status is MonitorStatus.DOWN)


@settings(max_examples=300, deadline=None)
@given(outcomes, policies, st.integers(0, 60))
def test_resuming_from_stored_state_equals_replaying_the_whole_history(
    pattern: str, policy: Policy, cut: int
) -> None:
    cut = min(cut, len(pattern))
    whole, whole_events = run(pattern, policy)
    first, first_events = run(pattern[:cut], policy)
    state, later_events = first, []
    for i, code in enumerate(pattern[cut:], start=cut):
        state, new = step(state, result(CODES[code], 60.0 * i), policy)
        later_events += new
    assert state == whole
    assert first_events + later_events == whole_events


@settings(max_examples=300, deadline=None)
@given(outcomes, policies)
def test_one_open_and_at_most_one_resolve_per_incident_in_order(pattern: str, policy: Policy) -> None:
    _, events = run(pattern, policy)
    sequence = [type(e).__name__ for e in incident_events(events)]
    # Strictly alternating, starting with an open: never RESOLVED before OPEN, never two OPENs.
    for i, name in enumerate(sequence):
        assert name == ("IncidentOpened" if i % 2 == 0 else "IncidentResolved")

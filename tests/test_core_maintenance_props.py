"""Properties of maintenance windows in the incident state machine (DESIGN §3), over arbitrary histories."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack_tui.core.incidents import IncidentOpened, step
from shiptrack_tui.core.maintenance import MaintenanceWindow, in_maintenance
from shiptrack_tui.core.model import CheckResult, MonitorState, Outcome, Policy

OUTCOMES = st.sampled_from([Outcome.UP, Outcome.DEGRADED, Outcome.DOWN])
POLICIES = st.builds(Policy, failure_threshold=st.integers(1, 5), recovery_threshold=st.integers(1, 4))
STEP = 60.0


def check(outcome: Outcome, at: float, maintenance: bool) -> CheckResult:
    reason = "HTTP 503" if outcome is Outcome.DOWN else None
    return CheckResult("api", at, outcome, 10.0, 503 if reason else 200, reason, in_maintenance=maintenance)


@settings(max_examples=300, deadline=None)
@given(history=st.lists(st.tuples(OUTCOMES, st.booleans()), max_size=60), policy=POLICIES)
def test_no_incident_ever_opens_on_a_check_in_maintenance(history: list[tuple[Outcome, bool]],
                                                          policy: Policy) -> None:
    state = MonitorState()
    for index, (outcome, maintenance) in enumerate(history):
        state, events = step(state, check(outcome, STEP * index, maintenance), policy)
        if maintenance:
            assert not any(isinstance(event, IncidentOpened) for event in events)
        # A failure in maintenance never counts towards the next incident either.
        if maintenance and outcome is Outcome.DOWN:
            assert state.consecutive_failures == 0


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(OUTCOMES, max_size=20),
    window=st.lists(OUTCOMES, min_size=0, max_size=15),
    after=st.integers(0, 12),
    tail=st.lists(OUTCOMES, max_size=10),
    policy=POLICIES,
)
def test_an_outage_spanning_the_end_of_a_window_opens_exactly_one_incident_when_it_ends(
    before: list[Outcome], window: list[Outcome], after: int, tail: list[Outcome], policy: Policy
) -> None:
    # A real one-off window; each check is in maintenance exactly when the window says so.
    recovered = [*before, *[Outcome.UP] * policy.recovery_threshold]  # no incident open when it starts
    window_checks = [*window, Outcome.DOWN]  # the outage is under way when the window ends
    start = STEP * len(recovered)
    maintenance = MaintenanceWindow(name="deploy", start=start, end=start + STEP * len(window_checks))
    outages = [Outcome.DOWN] * after
    timeline = [*recovered, *window_checks, *outages, Outcome.UP, *tail]
    state = MonitorState()
    opened: list[tuple[int, IncidentOpened]] = []
    for index, outcome in enumerate(timeline):
        at = STEP * index
        in_window = in_maintenance([maintenance], "api", (), at) is not None
        assert in_window == (len(recovered) <= index < len(recovered) + len(window_checks))
        state, events = step(state, check(outcome, at, in_window), policy)
        if index >= len(recovered):  # what happened before the window is another story
            opened += [(index, event) for event in events if isinstance(event, IncidentOpened)]
        if index == len(recovered) + len(window_checks) + after:
            break  # the outage is over: only what it caused counts here
    window_end = len(recovered) + len(window_checks)
    if after >= policy.failure_threshold:
        assert len(opened) == 1
        index, event = opened[0]
        assert index == window_end + policy.failure_threshold - 1  # opens once counted outside the window
        assert event.started_at == STEP * window_end  # starts at the first failure outside the window
    else:
        assert opened == []

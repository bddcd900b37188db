"""Service status derivation and the incident status-update lifecycle (DESIGN §10)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack_tui.core.incident_status import (
    STATUS_TRANSITIONS,
    IncidentStatus,
    advance,
)
from shiptrack_tui.core.incidents import IllegalTransition
from shiptrack_tui.core.model import MonitorStatus
from shiptrack_tui.core.services import RANK, ServiceSpec, ServiceStatus, Severity, derive_status

INV, ID, M, R = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED,
               IncidentStatus.MONITORING, IncidentStatus.RESOLVED)


@pytest.mark.parametrize(("current", "posted"), [
    (INV, ID), (INV, M), (INV, R), (ID, M), (ID, R), (M, R), (INV, INV), (ID, ID), (M, M),
])
def test_forward_and_same_status_updates_are_legal(current: IncidentStatus, posted: IncidentStatus) -> None:
    assert advance(current, posted) is posted


@pytest.mark.parametrize(("current", "posted", "reason"), [
    (ID, INV, "the incident is identified and cannot go back to investigating"),
    (M, ID, "the incident is monitoring and cannot go back to identified"),
    (M, INV, "the incident is monitoring and cannot go back to investigating"),
    (R, M, "the incident is resolved and takes no further update"),
    (R, R, "the incident is resolved and takes no further update"),
])
def test_backwards_or_after_resolved_raises_one_line(current: IncidentStatus, posted: IncidentStatus,
                                                     reason: str) -> None:
    with pytest.raises(IllegalTransition) as raised:
        advance(current, posted)
    assert str(raised.value) == reason


def test_the_table_has_exactly_the_forward_pairs() -> None:
    order = list(IncidentStatus)
    assert len(STATUS_TRANSITIONS) == 4 + 3 + 2
    assert all(order.index(a) <= order.index(b) and a is not R for a, b in STATUS_TRANSITIONS)


STATUSES = st.sampled_from(list(IncidentStatus))


@settings(max_examples=300, deadline=None)
@given(posts=st.lists(STATUSES, max_size=12))
def test_status_never_moves_backwards_and_resolved_takes_nothing(posts: list[IncidentStatus]) -> None:
    order = list(IncidentStatus)
    current = INV
    for posted in posts:
        was = current
        try:
            current = advance(current, posted)
        except IllegalTransition:
            assert was is R or order.index(posted) < order.index(was)
            assert current is was  # a refused move changes nothing
            continue
        assert was is not R
        assert order.index(current) >= order.index(was)


# -- derived service status --------------------------------------------------------------------

def test_derivation_table() -> None:
    up = {"a": MonitorStatus.UP, "b": MonitorStatus.UP}
    assert derive_status(["a", "b"], up, {}) is ServiceStatus.OPERATIONAL
    down = up | {"a": MonitorStatus.DOWN}
    assert derive_status(["a", "b"], down, {"a": Severity.HIGH}) is ServiceStatus.OUTAGE
    assert derive_status(["a", "b"], up, {"a": Severity.CRITICAL}) is ServiceStatus.OUTAGE
    assert derive_status(["a", "b"], up, {"a": Severity.MEDIUM, "b": Severity.LOW}) is ServiceStatus.DEGRADED
    assert derive_status(["a", "b"], up | {"b": MonitorStatus.DEGRADED}, {}) is ServiceStatus.DEGRADED
    maint = {"a": MonitorStatus.MAINTENANCE, "b": MonitorStatus.MAINTENANCE}
    assert derive_status(["a", "b"], maint, {}) is ServiceStatus.MAINTENANCE
    assert derive_status(["a", "b"], maint | {"b": MonitorStatus.UP}, {}) is ServiceStatus.OPERATIONAL
    # An incident on a monitor outside the service does not touch it.
    assert derive_status(["a"], up, {"b": Severity.CRITICAL}) is ServiceStatus.OPERATIONAL
    assert derive_status([], {}, {}) is ServiceStatus.OPERATIONAL


def test_members_by_name_and_tag_each_once_in_order() -> None:
    spec = ServiceSpec("Checkout", monitors=("payments", "api"), tags=("checkout",))
    tags = {"api": ["checkout"], "web": ["checkout", "edge"], "db": ["infra"], "payments": []}
    assert spec.members(tags) == ("payments", "api", "web")


NAMES = [f"m{i}" for i in range(8)]
MONITOR_STATES = st.sampled_from(list(MonitorStatus))
SEVERITIES = st.sampled_from(list(Severity))


@st.composite
def service_inputs(draw: st.DrawFn) -> tuple[list[str], dict[str, MonitorStatus], dict[str, Severity]]:
    members = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
    states = draw(st.dictionaries(st.sampled_from(NAMES), MONITOR_STATES))
    open_incidents = draw(st.dictionaries(st.sampled_from(NAMES), SEVERITIES))
    return members, states, open_incidents


@settings(max_examples=300, deadline=None)
@given(inputs=service_inputs(), seed=st.randoms())
def test_derivation_does_not_depend_on_member_order(inputs, seed) -> None:  # type: ignore[no-untyped-def]
    members, states, open_incidents = inputs
    shuffled = list(members)
    seed.shuffle(shuffled)
    assert derive_status(shuffled, states, open_incidents) is derive_status(members, states, open_incidents)


@settings(max_examples=300, deadline=None)
@given(inputs=service_inputs())
def test_adding_an_operational_monitor_never_worsens_it(inputs) -> None:  # type: ignore[no-untyped-def]
    members, states, open_incidents = inputs
    before = derive_status(members, states, open_incidents)
    after = derive_status([*members, "healthy"], states | {"healthy": MonitorStatus.UP}, open_incidents)
    assert RANK[after] <= RANK[before]


@settings(max_examples=300, deadline=None)
@given(inputs=service_inputs(), monitor=st.sampled_from(NAMES), severity=SEVERITIES)
def test_resolving_an_incident_never_worsens_it(inputs, monitor, severity) -> None:  # type: ignore[no-untyped-def]
    members, states, open_incidents = inputs
    worse = derive_status(members, states, open_incidents | {monitor: severity})
    better = derive_status(members, states, {k: v for k, v in open_incidents.items() if k != monitor})
    assert RANK[better] <= RANK[worse]

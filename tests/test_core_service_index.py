"""The per-change services index (core/services.py `ServiceIndex`): the same members as the specs,
and an incremental recompute that always equals deriving every service."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack_tui.core.model import MonitorSpec, MonitorStatus, Severity
from shiptrack_tui.core.services import ServiceIndex, ServiceSpec, ServiceStatus, derive_status

NAMES = [f"m{i}" for i in range(10)]
TAGS = ["a", "b", "c"]


def test_services_of_and_members_follow_config_order() -> None:
    monitors = [MonitorSpec("api", "http://x/", tags=("checkout",)), MonitorSpec("web", "http://x/w",
                tags=("checkout", "edge")), MonitorSpec("db", "tcp://x:5432"), MonitorSpec("pay", "http://x/p")]
    services = [ServiceSpec("Checkout", monitors=("pay", "api"), tags=("checkout",)),
                ServiceSpec("Edge", tags=("edge",)), ServiceSpec("Data", monitors=("db", "api"))]
    index = ServiceIndex.of(services, monitors)
    assert index.members == {"Checkout": ("pay", "api", "web"), "Edge": ("web",), "Data": ("db", "api")}
    assert index.services_of("api") == ("Checkout", "Data")
    assert index.services_of("web") == ("Checkout", "Edge")
    assert index.services_of("nowhere") == ()
    assert dict(index.by_monitor) == {"pay": ("Checkout",), "api": ("Checkout", "Data"),
                                      "web": ("Checkout", "Edge"), "db": ("Data",)}
    assert index.affected(["db", "web"]) == ("Checkout", "Edge", "Data")
    assert len(index) == 3


def test_recompute_touches_only_the_services_holding_the_change() -> None:
    index = ServiceIndex([ServiceSpec("A", monitors=("m0", "m1")), ServiceSpec("B", monitors=("m2",))],
                         {"m0": (), "m1": (), "m2": ()})
    states = dict.fromkeys(NAMES[:3], MonitorStatus.UP)
    assert index.derive_all(states, {}) == {"A": ServiceStatus.OPERATIONAL, "B": ServiceStatus.OPERATIONAL}
    states["m1"] = MonitorStatus.DOWN
    assert index.recompute(["m1"], states, {"m1": Severity.CRITICAL}) == {"A": ServiceStatus.OUTAGE}
    assert index.recompute(["m9"], states, {}) == {}


@st.composite
def configs(draw: st.DrawFn) -> tuple[list[ServiceSpec], dict[str, tuple[str, ...]]]:
    tags = {name: tuple(draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))) for name in NAMES}
    services = [
        ServiceSpec(f"s{i}", monitors=tuple(draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))),
                    tags=tuple(draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))))
        for i in range(draw(st.integers(0, 6)))
    ]
    return services, tags


CHANGE = st.tuples(st.sampled_from(NAMES), st.sampled_from(list(MonitorStatus)),
                   st.none() | st.sampled_from(list(Severity)))


@settings(max_examples=300, deadline=None)
@given(config=configs(), changes=st.lists(st.lists(CHANGE, min_size=1, max_size=3), max_size=15))
def test_incremental_recompute_equals_full_derivation(config, changes) -> None:  # type: ignore[no-untyped-def]
    services, tags = config
    index = ServiceIndex(services, tags)
    assert index.members == {s.name: s.members(tags) for s in services}  # the same members as the specs
    states: dict[str, MonitorStatus] = {}
    severities: dict[str, Severity] = {}
    statuses = index.derive_all(states, severities)
    for batch in changes:
        for monitor, state, severity in batch:
            states[monitor] = state
            if severity is None:
                severities.pop(monitor, None)
            else:
                severities[monitor] = severity
        touched = index.recompute([m for m, _, _ in batch], states, severities)
        assert set(touched) == {s for m, _, _ in batch for s in index.services_of(m)}
        statuses.update(touched)
        assert statuses == {s.name: derive_status(s.members(tags), states, severities) for s in services}

"""The pure half of status updates (DESIGN §10): what an operator may post, the message people
receive, where it is routed, and how the timeline and `incidents` read it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack_tui.config import Channel, NotifySettings
from shiptrack_tui.core.incident_status import BY_RECOVERY, POSTABLE, post_update
from shiptrack_tui.core.incidents import IllegalTransition, IncidentOpened
from shiptrack_tui.core.messages import render_event, render_update, when
from shiptrack_tui.core.model import (
    Incident,
    IncidentState,
    IncidentStatus,
    MonitorSpec,
    Severity,
    TimelineEntry,
    TimelineKind,
    Transition,
)
from shiptrack_tui.notify import update_items
from shiptrack_tui.report import incidents_json, incidents_text

T0 = 1_795_000_000.0
INV, ID, M, R = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED,
                 IncidentStatus.MONITORING, IncidentStatus.RESOLVED)


# -- what an operator may post ------------------------------------------------------------------

@pytest.mark.parametrize(("current", "posted", "outcome"), [
    (INV, ID, ID), (INV, M, M), (ID, M, M), (M, M, M), (INV, INV, INV),
    (ID, INV, "incident 7 is identified and cannot go back to investigating"),
    (M, ID, "incident 7 is monitoring and cannot go back to identified"),
    (INV, R, BY_RECOVERY), (M, R, BY_RECOVERY),
    (R, M, "incident 7 is resolved and takes no further update"),
    (R, R, "incident 7 is resolved and takes no further update"),
])
def test_operator_posts(current: IncidentStatus, posted: IncidentStatus,
                        outcome: IncidentStatus | str) -> None:
    if isinstance(outcome, IncidentStatus):
        assert post_update(current, posted, who="incident 7") is outcome
        return
    with pytest.raises(IllegalTransition) as refused:
        post_update(current, posted, who="incident 7")
    assert str(refused.value) == outcome


@settings(max_examples=300, deadline=None)
@given(posts=st.lists(st.sampled_from(list(IncidentStatus)), max_size=12))
def test_posting_never_resolves_and_never_moves_backwards(posts: list[IncidentStatus]) -> None:
    order = list(IncidentStatus)
    current = INV
    for posted in posts:
        try:
            after = post_update(current, posted)
        except IllegalTransition:
            assert posted is R or order.index(posted) < order.index(current)
            continue
        assert after in POSTABLE and order.index(after) >= order.index(current)
        current = after


# -- the message --------------------------------------------------------------------------------

def _update(message: str | None = "bad deploy, rolling back", services: tuple[str, ...] = ("Checkout",),
            status: str = "identified") -> tuple[str, str, str]:
    return render_update(status, message, monitor="api", services=services, severity="high", incident_id=7,
                         by="alice (cli)", at=T0, target="https://api.example.com/health", host="web1")


def test_the_first_line_names_the_services_the_severity_and_the_new_status() -> None:
    title, body, notify_type = _update()
    assert title == "[IDENTIFIED] Checkout (high) — bad deploy, rolling back"
    assert notify_type == "info"
    assert body.splitlines() == [
        "Incident #7 is now identified.", "Monitor: api", "Severity: high", "Services: Checkout",
        f"Posted at: {when(T0)} by alice (cli)", "Target: https://api.example.com/health", "Incident: #7",
        "Sent by: ShipTrack on web1"]
    assert _update(services=("Checkout", "Payments"))[0].startswith("[IDENTIFIED] Checkout, Payments (high)")
    # A monitor in no service is named itself; an update without words still says what changed.
    assert _update(message=None, services=(), status="monitoring")[0] == "[MONITORING] api (high)"


def test_a_long_or_multiline_message_stays_one_title_line_and_is_given_in_full_in_the_body() -> None:
    message = "rolled back to v41;\n" + "the queue drains, " * 20
    title, body, _ = _update(message=message)
    assert "\n" not in title and title.endswith("…")
    assert f"Update: {message.strip()}" in body


def test_an_open_message_says_its_severity_and_services() -> None:
    event = IncidentOpened("api", T0, T0 - 30, "HTTP 503", Severity.CRITICAL)
    rendered = render_event(event, "https://x", services=("Checkout", "Payments"))
    assert rendered is not None
    transition, title, body, _ = rendered
    assert (transition, title) == (Transition.OPEN, "[OPEN] api — HTTP 503")
    assert "Severity: critical\nServices: Checkout, Payments\n" in body


def test_updates_go_where_the_events_include_update() -> None:
    spec = MonitorSpec(name="api", url="https://x", tags=("prod",))
    rendered = _update()
    everything = NotifySettings(urls=("json://a",))  # the default events include "update"
    assert [(i.url, i.transition, i.title) for i in update_items(spec, everything, rendered)] == [
        ("json://a", Transition.UPDATE, rendered[0])]
    pages = Channel(("json://pager",), frozenset({"prod"}), frozenset({"open", "resolve"}))
    chat = Channel(("json://chat",), frozenset({"prod"}), frozenset({"update"}))
    picky = NotifySettings(urls=("json://a",), events=frozenset({"open"}), channels=(pages, chat))
    assert [i.url for i in update_items(spec, picky, rendered)] == ["json://chat"]


# -- the timeline and `incidents` -----------------------------------------------------------------

def test_timeline_entries_read_well() -> None:
    update = TimelineEntry(T0, TimelineKind.UPDATE, "bad deploy", "alice (cli)", "identified")
    assert update.text() == "identified by alice (cli): bad deploy"
    change = TimelineEntry(T0, TimelineKind.SEVERITY, "high → critical", "bob (dashboard)")
    assert change.text() == "severity changed by bob (dashboard): high → critical"


def test_incidents_json_and_text_carry_severity_status_and_updates() -> None:
    incident = Incident(
        id=7, monitor="api", state=IncidentState.OPEN, cause="HTTP 503", started_at=T0, opened_at=T0,
        severity=Severity.CRITICAL, status=IncidentStatus.MONITORING,
        events=(TimelineEntry(T0, TimelineKind.OPENED, "HTTP 503"),
                TimelineEntry(T0 + 60, TimelineKind.UPDATE, "bad deploy", "alice (cli)", "identified"),
                TimelineEntry(T0 + 90, TimelineKind.SEVERITY, "high → critical", "alice (cli)"),
                TimelineEntry(T0 + 120, TimelineKind.UPDATE, "watching", "bob (dashboard)", "monitoring")),
    )
    [shown] = incidents_json([incident])
    assert (shown["severity"], shown["status"]) == ("critical", "monitoring")
    assert shown["updates"] == [
        {"at": "2026-11-18T11:07:40Z", "status": "identified", "message": "bad deploy", "by": "alice (cli)"},
        {"at": "2026-11-18T11:08:40Z", "status": "monitoring", "message": "watching",
         "by": "bob (dashboard)"},
    ]
    assert [e["status"] for e in shown["events"]] == [None, "identified", None, "monitoring"]
    text = incidents_text([incident], T0 + 300)
    assert text.splitlines()[0].endswith("— critical, monitoring")
    assert "identified by alice (cli): bad deploy" in text
    assert "monitoring by bob (dashboard): watching" in text

"""Notification text: the first line says it all, the body says what, since when, how long, where."""

from __future__ import annotations

import re

import pytest

from shiptrack_tui.core.formats import set_display_zone, zone_named
from shiptrack_tui.core.incidents import (
    IncidentAcknowledged,
    IncidentOpened,
    IncidentResolved,
    ReminderDue,
    StatusChanged,
)
from shiptrack_tui.core.messages import fill_incident, render, render_event, transition_of, when
from shiptrack_tui.core.model import MonitorStatus, Transition

T0 = 1_795_000_000.0  # 2026-11-18T...; any fixed instant will do


@pytest.mark.parametrize(
    ("transition", "title", "notify_type"),
    [
        (Transition.OPEN, "[OPEN] api — HTTP 503", "failure"),
        (Transition.ACK, "[ACK] api — HTTP 503", "info"),
        (Transition.RESOLVE, "[RESOLVED] api — down for 4m 10s", "success"),
        (Transition.REMINDER, "[REMINDER] api — HTTP 503", "failure"),
    ],
)
def test_titles_and_types(transition: Transition, title: str, notify_type: str) -> None:
    got_title, body, got_type = render(transition, "api", "https://api.example.com/health",
                                       "HTTP 503", T0, T0 + 250, note="on it", host="web1", incident_id=7)
    assert (got_title, got_type) == (title, notify_type)
    assert (got_title + "\n" + body).count("HTTP 503") == 1  # the reason once, not three times
    assert f"Down since: {when(T0)}" in body
    assert "Target: https://api.example.com/health" in body
    assert "Incident: #7" in body and "Sent by: ShipTrack on web1" in body


def test_times_are_in_the_display_zone_and_durations_whole_seconds() -> None:
    set_display_zone(zone_named("Europe/Berlin"))  # [display] timezone; conftest resets it
    _t, body, _ = render(Transition.OPEN, "api", "t", "HTTP 503", T0, T0 + 5.04)
    assert "Down since: 2026-11-18 12:06:40 CET" in body
    assert "Down for: 5s" in body and not re.search(r"\d\.\ds", body)


def test_the_incident_number_is_filled_in_when_it_is_known() -> None:
    _t, body, _ = render(Transition.OPEN, "api", "t", "HTTP 503", T0, T0)
    assert "shiptrack ack 12" in fill_incident(body, 12) and "#12" in fill_incident(body, 12)
    assert "Incident" not in fill_incident(body, None) and "Target: t" in fill_incident(body, None)


def test_a_shortened_reason_is_given_in_full_once_in_the_body() -> None:
    cause = "body does not contain 'ok': " + "x" * 300
    title, body, _ = render(Transition.OPEN, "api", "t", cause, T0, T0)
    assert title.endswith("…") and body.count(cause) == 1


def test_body_says_how_long_and_on_resolve_the_outage() -> None:
    _t, opened, _ = render(Transition.OPEN, "api", "t", "HTTP 503", T0, T0 + 90)
    assert "Down for: 1m 30s" in opened
    title, resolved, _ = render(Transition.RESOLVE, "api", "t", "HTTP 503", T0, T0 + 3725)
    assert title.endswith("down for 1h 2m") and "What failed: HTTP 503" in resolved
    assert f"Resolved at: {when(T0 + 3725)}" in resolved


def test_ack_carries_the_note() -> None:
    _t, body, _ = render(Transition.ACK, "api", "t", "HTTP 503", T0, T0 + 60, note="  rolling back ")
    assert "Note: rolling back" in body
    assert f"Acknowledged at: {when(T0 + 60)}\n" in fill_incident(body, 7)
    assert f"Acknowledged at: {when(T0 + 60)} by alice (cli)\n" in fill_incident(body, 7, "alice (cli)")


def test_a_multiline_or_long_cause_stays_one_title_line() -> None:
    title, _b, _ = render(Transition.OPEN, "api", "t", "body did not match\n" + "x" * 500, T0, T0)
    assert "\n" not in title and len(title) < 160 and title.endswith("…")


def test_events_map_to_transitions() -> None:
    opened = IncidentOpened("api", T0 + 20, T0, "HTTP 503")
    acked = IncidentAcknowledged("api", T0 + 30, T0, "mine")
    resolved = IncidentResolved("api", T0 + 250, T0, "HTTP 503")
    reminder = ReminderDue("api", T0 + 3600, T0, "HTTP 503")
    status = StatusChanged("api", T0, MonitorStatus.UP, MonitorStatus.DOWN)
    assert [transition_of(e) for e in (opened, acked, resolved, reminder, status)] == [
        Transition.OPEN, Transition.ACK, Transition.RESOLVE, Transition.REMINDER, None]
    assert render_event(status, "t") is None
    _tr, title, body, _ty = render_event(acked, "t", cause="HTTP 503")  # type: ignore[misc]
    assert title == "[ACK] api — HTTP 503" and "Note: mine" in body
    assert render_event(acked, "t")[1] == "[ACK] api — acknowledged"  # type: ignore[index]

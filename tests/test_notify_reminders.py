"""Reminder cadence: every `remind_every` while open and unacknowledged, never once acknowledged."""

from __future__ import annotations

import time
from pathlib import Path

from receiver import Receiver

from shiptrack_tui.config import NotifySettings
from shiptrack_tui.core.incidents import IncidentOpened, ReminderDue, acknowledge, reminder_due
from shiptrack_tui.core.model import MonitorSpec, MonitorState, MonitorStatus, OpenIncident, TimelineKind
from shiptrack_tui.notify import NotificationSender, outbox_items_for
from shiptrack_tui.storage import PipelineWrite, Store

API = MonitorSpec("api", "https://api.example.com/health")


def down(opened_at: float) -> MonitorState:
    incident = OpenIncident(opened_at - 20, opened_at, "HTTP 503")
    return MonitorState(status=MonitorStatus.DOWN, incident=incident)


def run_clock(state: MonitorState, remind_every: float | None, until: float, step: float = 5.0,
              ack_at: float | None = None) -> list[float]:
    """Tick like the engine's housekeeping loop, remembering when it last reminded."""
    sent: list[float] = []
    last: float | None = None
    now = 0.0
    while now <= until:
        if ack_at is not None and now >= ack_at and state.incident and state.incident.acknowledged_at is None:
            state, _ = acknowledge(state, "api", now)
        due = reminder_due(state, "api", last, remind_every, now)
        if due is not None:
            sent.append(due.at)
            last = due.at
        now += step
    return sent


def test_reminders_every_interval_while_open() -> None:
    assert run_clock(down(0.0), 600.0, 3600.0) == [600.0, 1200.0, 1800.0, 2400.0, 3000.0, 3600.0]


def test_no_reminders_without_remind_every_or_once_acknowledged() -> None:
    assert run_clock(down(0.0), None, 3600.0) == []
    assert run_clock(down(0.0), 600.0, 3600.0, ack_at=1500.0) == [600.0, 1200.0]
    healthy = MonitorState(status=MonitorStatus.UP)
    assert reminder_due(healthy, "api", None, 600.0, 10_000.0) is None


def test_a_reminder_is_delivered_and_noted_on_the_timeline(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db.sqlite")
    store.sync_monitors([API], time.time())
    with Receiver() as rx:
        settings = NotifySettings(urls=(rx.url(),), remind_every=600.0)
        t0 = time.time() - 700
        state = down(t0)
        due = reminder_due(state, "api", None, settings.remind_every, time.time())
        assert isinstance(due, ReminderDue)
        opened = (IncidentOpened("api", t0, t0 - 20, "HTTP 503"),)
        store.commit_batch([PipelineWrite("api", state, events=opened,
                                          outbox=outbox_items_for(opened, API, settings))])
        store.commit_batch([PipelineWrite("api", state, events=(due,),
                                          outbox=outbox_items_for([due], API, settings))])
        NotificationSender(store, settings, poll_seconds=0.05, timeout=2.0).drain()
        posts = rx.wait_for(2)
    assert [(p.title, p.type) for p in posts] == [("[OPEN] api — HTTP 503", "failure"),
                                                  ("[REMINDER] api — HTTP 503", "failure")]
    kinds = [e.kind for e in store.incidents()[0].events]
    assert TimelineKind.REMINDER in kinds and kinds.count(TimelineKind.NOTIFIED) == 2
    store.close()

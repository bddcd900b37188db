"""Reminder cadence: every `remind_every` while open and unacknowledged, never once acknowledged."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import pytest
from receiver import Receiver
from waiting import wait_for

from shiptrack_tui.config import Channel, Config, NotifySettings
from shiptrack_tui.core.incidents import IncidentOpened, ReminderDue, acknowledge, reminder_due
from shiptrack_tui.core.model import (
    ActionKind,
    MonitorSpec,
    MonitorState,
    MonitorStatus,
    OpenIncident,
    TimelineKind,
)
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.engine import engine as engine_module
from shiptrack_tui.notify import NotificationSender, outbox_items_for
from shiptrack_tui.storage import PipelineWrite, Store

API = MonitorSpec("api", "https://api.example.com/health")


def down(opened_at: float) -> MonitorState:
    incident = OpenIncident(opened_at - 20, opened_at, "HTTP 503")
    return MonitorState(status=MonitorStatus.DOWN, incident=incident)




def reminder_times(db: Path) -> list[float]:
    with sqlite3.connect(db) as conn:
        return [at for (at,) in conn.execute("SELECT at FROM timeline WHERE kind = 'reminder' ORDER BY at")]


def test_reminders_every_interval_while_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real engine reminds every `remind_every` while open, only channels that chose "reminder",
    and stops once the incident is acknowledged."""
    monkeypatch.setattr(engine_module, "HOUSEKEEPING_SECONDS", 0.1)  # look for due reminders often
    every = 1.0
    targets = DemoTargetsThread()
    targets.start()
    store = Store.open(tmp_path / "db.sqlite")
    try:
        with Receiver() as rx:
            spec = MonitorSpec("api", f"{targets.base_url}/t/api", interval=0.25, timeout=0.2,
                               failure_threshold=1, recovery_threshold=1)
            quiet = Channel(urls=(rx.url("quiet"),), events=frozenset({"open", "resolve"}))
            notify = NotifySettings(urls=(rx.url("all"),), remind_every=every, channels=(quiet,))
            engine = Engine(Config(path=tmp_path / "none.toml", monitors=(spec,), notify=notify), store)
            handle = EngineThread(engine)
            targets.set_down("t/api")
            handle.start()
            try:
                wait_for(lambda: len(reminder_times(tmp_path / "db.sqlite")) >= 3)
                incident = store.incidents()[0]
                store.add_action(ActionKind.ACK, time.time(), incident_id=incident.id, source="cli")
                handle.wake()
                wait_for(lambda: rx.titles("all")[-1:] == ["[ACK] api — HTTP 503"])
                acked = len(reminder_times(tmp_path / "db.sqlite"))
                time.sleep(2.5 * every)  # more than two intervals: no reminder may follow an ack
                reminded = reminder_times(tmp_path / "db.sqlite")
            finally:
                handle.stop()
            titles_all, titles_quiet = rx.titles("all"), rx.titles("quiet")
    finally:
        store.close()
        targets.stop()
    assert len(reminded) == acked
    starts = [incident.opened_at, *reminded]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(every <= gap < 1.9 * every for gap in gaps), gaps  # one per interval, none skipped
    assert titles_all[0] == "[OPEN] api — HTTP 503"
    assert titles_all.count("[REMINDER] api — HTTP 503") == len(reminded)
    assert titles_quiet == ["[OPEN] api — HTTP 503"]  # its events do not include "reminder"


def test_no_reminders_without_remind_every_or_once_acknowledged() -> None:
    state = down(0.0)
    assert reminder_due(state, "api", None, None, 3600.0) is None
    assert reminder_due(state, "api", None, 600.0, 599.0) is None
    assert reminder_due(state, "api", 600.0, 600.0, 1200.0) is not None
    acked, _ = acknowledge(state, "api", 1500.0)
    assert reminder_due(acked, "api", 1200.0, 600.0, 3600.0) is None
    healthy = MonitorState(status=MonitorStatus.UP)
    assert reminder_due(healthy, "api", None, 600.0, 10_000.0) is None


def test_a_reminder_is_delivered_and_noted_on_the_timeline(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db.sqlite")
    store.sync_monitors([API], time.time())
    with Receiver() as rx:
        settings = NotifySettings(urls=(rx.url(),), remind_every=600.0)  # default events: all four
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

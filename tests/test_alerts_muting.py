"""Which transitions are told: decided by the incident's OPEN, and kept across a restart."""

from __future__ import annotations

from pathlib import Path

from shiptrack_tui.core.incidents import IncidentAcknowledged, IncidentOpened, IncidentResolved, ReminderDue
from shiptrack_tui.core.model import (
    Incident,
    IncidentState,
    MonitorSpec,
    MonitorState,
    MonitorStatus,
    OpenIncident,
    Silence,
    SilenceScope,
)
from shiptrack_tui.engine.silencing import Silencer
from shiptrack_tui.storage import Store

API = MonitorSpec("api", "https://api.example.com/health")
DOWN = MonitorState(status=MonitorStatus.DOWN, incident=OpenIncident(100.0, 110.0, "HTTP 503"))
UP = MonitorState(status=MonitorStatus.UP)
OPENED = [IncidentOpened("api", 110.0, 100.0, "HTTP 503")]
ACKED = [IncidentAcknowledged("api", 150.0, 100.0, None)]
REMINDER = [ReminderDue("api", 200.0, 100.0, "HTTP 503")]
RESOLVED = [IncidentResolved("api", 300.0, 100.0, "HTTP 503")]


def muted(silencer: Silencer, state: MonitorState, events: list, at: float,
          maintenance: str | None = None) -> bool:
    return silencer.consider(API, state, events, at, {}, [], maintenance).muted


def test_an_announced_incident_gets_ack_and_resolve_in_a_window_or_silence_and_reminders_wait(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "db.sqlite")
    silencer = Silencer(store)
    assert not muted(silencer, DOWN, OPENED, 110.0)
    assert muted(silencer, DOWN, REMINDER, 200.0, maintenance="deploy")
    assert not muted(silencer, DOWN, ACKED, 150.0, maintenance="deploy")
    silencer.add(Silence(1, SilenceScope.MONITOR, "api", 120.0, until=1000.0))
    assert muted(silencer, DOWN, REMINDER, 200.0)
    assert not muted(silencer, UP, RESOLVED, 300.0)
    assert not muted(silencer, UP, RESOLVED, 300.0, maintenance="deploy")
    store.close()


def test_an_incident_opened_in_a_window_stays_quiet_after_it_and_after_a_restart(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db.sqlite")
    silencer = Silencer(store)
    hush = silencer.consider(API, DOWN, OPENED, 110.0, {}, [], "deploy")
    assert hush.muted and [e.detail for e in hush.timeline] == ["opened during maintenance: deploy"]
    assert muted(silencer, DOWN, ACKED, 150.0)  # the window is over; the incident stays quiet
    # A restart: a fresh silencer learns it from the stored timeline.
    stored = Incident(7, "api", IncidentState.OPEN, "HTTP 503", 100.0, 110.0, events=hush.timeline)
    restarted = Silencer(store)
    restarted.seed([], [stored])
    assert muted(restarted, DOWN, REMINDER, 200.0)
    assert muted(restarted, UP, RESOLVED, 300.0)
    assert not muted(restarted, DOWN, OPENED, 400.0)  # the next incident is told again
    store.close()

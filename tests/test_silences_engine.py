"""Silences against a real engine: loopback targets, a real SQLite file, real Apprise delivery."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver import Receiver
from waiting import wait_for

from shiptrack_tui.config import Config, NotifySettings
from shiptrack_tui.core.model import ActionKind, IncidentState, MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store


class Rig:
    """A real engine on its thread, checking one monitor on the demo targets, notifying a receiver."""

    def __init__(self, tmp_path: Path, targets: DemoTargetsThread, rx: Receiver) -> None:
        self.db = tmp_path / "silence.db"
        self.targets = targets
        self.rx = rx
        spec = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=0.25, timeout=0.2,
                           failure_threshold=1, recovery_threshold=1, tags=("prod",))
        self.store = Store.open(self.db)
        notify = NotifySettings(urls=(rx.url(),))
        config = Config(path=tmp_path / "none.toml", monitors=(spec,), notify=notify)
        self.handle = EngineThread(Engine(config, self.store))

    def act(self, kind: ActionKind, note: str) -> int:
        action_id = self.store.add_action(kind, time.time(), monitor="api", note=note, source="tui")
        self.handle.wake()
        wait_for(lambda: self.store.action_outcome(action_id) != (None, None))
        applied, error = self.store.action_outcome(action_id)
        assert error is None and applied is not None
        return action_id

    def incidents(self) -> list[tuple[int, str]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT id, state FROM incident ORDER BY id").fetchall()

    def timeline(self, incident_id: int) -> list[tuple[str, str | None]]:
        with sqlite3.connect(self.db) as conn:
            query = "SELECT kind, detail FROM timeline WHERE incident_id = ? ORDER BY at, id"
            return conn.execute(query, (incident_id,)).fetchall()

    def outbox_rows(self, incident_id: int) -> int:
        with sqlite3.connect(self.db) as conn:
            query = "SELECT COUNT(*) FROM outbox WHERE incident_id = ?"
            return conn.execute(query, (incident_id,)).fetchone()[0]

    def outage(self, number: int) -> int:
        """Take the target down until incident `number` opens, then up until it resolves."""
        self.targets.set_down("t/api")
        wait_for(lambda: len(self.incidents()) == number)
        self.targets.set_up("t/api")
        wait_for(lambda: self.incidents()[-1][1] == IncidentState.RESOLVED.value)
        return self.incidents()[-1][0]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    targets = DemoTargetsThread()
    targets.start()
    with Receiver() as rx:
        rig = Rig(tmp_path, targets, rx)
        rig.handle.start()
        wait_for(lambda: "api" in rig.store.load_states())  # the engine has registered the monitor
        try:
            yield rig
        finally:
            rig.handle.stop()
            rig.store.close()
            targets.stop()


def test_silenced_outage_opens_and_resolves_quietly_then_notifications_flow_again(rig: Rig) -> None:
    rig.act(ActionKind.SILENCE, "until-resolved monitor:api")
    assert [s.label for s in rig.store.active_silences()] == ["api"]

    first = rig.outage(1)
    wait_for(lambda: not rig.store.active_silences())  # "until resolved" ended with the incident
    kinds = [kind for kind, _ in rig.timeline(first)]
    assert kinds[:1] == ["opened"] and "resolved" in kinds
    details = dict(rig.timeline(first))
    assert details["silenced"] == "opened while silenced: api silenced until resolved by tui"
    assert details["silence_ended"] == "silence on api ended (incident resolved)"
    assert rig.outbox_rows(first) == 0  # nothing queued, so nothing can ever be delivered

    second = rig.outage(2)
    posts = rig.rx.wait_for(2)
    assert [post.title.split(" — ")[0] for post in posts] == ["[OPEN] api", "[RESOLVED] api"]
    assert rig.outbox_rows(second) == 2 and rig.rx.requests == 2  # only the second incident spoke


def test_a_timed_silence_on_an_open_incident_expires_on_its_own_and_unsilence_lifts(rig: Rig) -> None:
    rig.targets.set_down("t/api")
    wait_for(lambda: rig.incidents())
    incident = rig.incidents()[0][0]
    assert rig.rx.wait_for(1)[0].title.startswith("[OPEN] api")

    rig.act(ActionKind.SILENCE, "1h tag:prod")
    rig.act(ActionKind.UNSILENCE, "tag:prod")
    assert rig.store.active_silences() == []
    rig.act(ActionKind.SILENCE, "1s monitor:api")
    wait_for(lambda: not rig.store.active_silences(), timeout=5)  # engine housekeeping ends it
    wait_for(lambda: ("silence_ended", "silence on api ended (expired)") in rig.timeline(incident))
    entries = [entry for entry in rig.timeline(incident) if entry[0].startswith("silence")]
    assert entries == [
        ("silenced", "tag:prod silenced for 1h by tui"),
        ("silence_ended", "silence on tag:prod ended (lifted by tui)"),
        ("silenced", "api silenced for 1s by tui"),
        ("silence_ended", "silence on api ended (expired)"),
    ]
    rig.targets.set_up("t/api")
    posts = rig.rx.wait_for(2)  # the silence is over: RESOLVED goes out
    assert [post.title.split(" — ")[0] for post in posts] == ["[OPEN] api", "[RESOLVED] api"]

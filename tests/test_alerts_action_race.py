"""An acknowledgement racing a recovery: the real engine, a real database, real Apprise delivery.

The interleaving is forced, not hoped for: the engine's store read for the ack answers "open",
but that answer is held back until a recovery check has resolved the incident.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

from receiver import Receiver
from waiting import wait_for

from shiptrack_tui.config import Config, NotifySettings
from shiptrack_tui.core.model import ActionKind, Incident, MonitorSpec, MonitorStatus
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store


def rows(db: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


def test_an_ack_whose_store_read_outlasts_a_recovery_does_not_resurrect_the_incident(tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    targets = DemoTargetsThread()
    targets.start()
    store = Store.open(db)
    reading, release = threading.Event(), threading.Event()
    real_incident = store.incident

    def held_incident(incident_id: int) -> Incident | None:
        """The engine's check that the ack names the open incident: it reads the incident while
        it is still open, and its answer reaches the engine only after the recovery."""
        found = real_incident(incident_id)
        reading.set()
        assert release.wait(15)
        return found

    store.incident = held_incident  # type: ignore[method-assign]
    try:
        with Receiver() as rx:
            spec = MonitorSpec(name="api", url=f"{targets.base_url}/t/api", interval=0.25, timeout=0.2,
                               failure_threshold=1, recovery_threshold=1)
            config = Config(path=tmp_path / "none.toml", monitors=(spec,),
                            notify=NotifySettings(urls=(rx.url(),)))
            engine = Engine(config, store)
            handle = EngineThread(engine)
            targets.set_down("t/api")
            handle.start()
            try:
                assert rx.wait_for(1)[0].title.startswith("[OPEN] api")
                [(incident_id,)] = rows(db, "SELECT id FROM incident")
                action = store.add_action(ActionKind.ACK, time.time(), incident_id=int(incident_id),
                                          note="on it", source="cli")
                handle.wake()
                assert reading.wait(10)  # the engine is inside the ack, awaiting the store
                targets.set_up("t/api")
                wait_for(lambda: rows(db, "SELECT state FROM incident") == [("resolved",)])
                release.set()
                wait_for(lambda: store.action_outcome(action) != (None, None))
                time.sleep(1.0)  # several more checks: nothing may follow
                state = engine.states["api"]
            finally:
                release.set()
                handle.stop()
        applied, error = store.action_outcome(action)
        assert applied is None and error is not None and "not open" in error
        # On a loaded machine a later 200 ms check may time out and open a new incident (a CI run
        # did): that one is no resurrection. The first incident must stay resolved and unacknowledged.
        [(started,)] = rows(db, f"SELECT started_at FROM incident WHERE id = {int(incident_id)}")
        if rows(db, "SELECT COUNT(*) FROM incident") == [(1,)]:
            assert state.incident is None and state.status is MonitorStatus.UP
        else:
            assert state.incident is None or state.incident.started_at != started
        first = re.compile(rf"^Incident: #{int(incident_id)}\b", re.M)
        assert [p.title.split(" — ")[0] for p in rx.posts if first.search(str(p.payload.get("message")))] == [
            "[OPEN] api", "[RESOLVED] api"]
        assert rows(db, "SELECT COUNT(*) FROM outbox WHERE incident_id IS NULL") == [(0,)]
        assert rows(db, f"SELECT state, acknowledged_at FROM incident WHERE id = {int(incident_id)}") == [
            ("resolved", None)]
    finally:
        store.close()
        targets.stop()

"""An incident takes its monitor's severity when it opens; stored (schema 6) and in `incidents --json`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shiptrack_tui.cli import main
from shiptrack_tui.core.incidents import IncidentOpened, step
from shiptrack_tui.core.model import CheckResult, MonitorSpec, MonitorState, Outcome, Policy, Severity
from shiptrack_tui.storage import PipelineWrite, Store, migrations
from shiptrack_tui.storage.db import open_database

API = MonitorSpec(name="api", url="http://127.0.0.1:9/")
CACHE = MonitorSpec(name="cache", url="tcp://127.0.0.1:9", severity=Severity.MEDIUM)


def fold(store: Store, spec: MonitorSpec, pattern: str, start: float) -> None:
    """Checks a minute apart ("u" up, "d" down) through the real state machine and the real store."""
    state, writes = MonitorState(), []
    for i, code in enumerate(pattern):
        up = code == "u"
        result = CheckResult(spec.name, start + 60 * i, Outcome.UP if up else Outcome.DOWN, 20.0,
                             200 if up else 503, None if up else "HTTP 503")
        state, events = step(state, result, Policy.of(spec))
        writes.append(PipelineWrite(spec.name, state, result=result, events=tuple(events)))
    store.commit_batch(writes)


def test_the_opened_event_carries_the_monitors_severity() -> None:
    state, events = MonitorState(), []
    for i in range(3):
        state, events = step(state, CheckResult("cache", 60.0 * i, Outcome.DOWN, 1.0, 503, "HTTP 503"),
                             Policy.of(CACHE))
    (opened,) = [event for event in events if isinstance(event, IncidentOpened)]
    assert opened.severity is Severity.MEDIUM


def test_incidents_json_carries_severity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, now = tmp_path / "st.db", time.time()
    store = Store.open(db)
    try:
        store.sync_monitors([API, CACHE], now - 3600)
        fold(store, API, "uuddd", now - 600)
        fold(store, CACHE, "udddu", now - 900)
    finally:
        store.close()
    assert main(["incidents", "--json", "--db", str(db)]) == 0
    rows = {row["monitor"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["api"]["severity"] == "high" and rows["cache"]["severity"] == "medium"


def test_migration_6_gives_older_incidents_high(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    db = open_database(path)
    with db.atomic("IMMEDIATE"):
        for migration in migrations.MIGRATIONS[:5]:
            migration(db)
        db.execute_sql("INSERT INTO meta (key, value) VALUES ('schema_version', '5')")
        db.execute_sql("INSERT INTO monitor (id, name) VALUES (1, 'api')")
        db.execute_sql("INSERT INTO incident (monitor_id, state, cause, started_at, opened_at) "
                       "VALUES (1, 'open', 'HTTP 503', 10.0, 20.0)")
    db.close_all()
    store = Store.open(path)
    try:
        (incident,) = store.incidents()
    finally:
        store.close()
    assert incident.severity is Severity.HIGH

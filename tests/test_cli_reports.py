"""`status`, `incidents`, `note` and `notify-test` as a script sees them, on a real database."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from receiver import Receiver

from shiptrack_tui.cli import main
from shiptrack_tui.core.incidents import step
from shiptrack_tui.core.model import (
    CheckResult,
    MonitorSpec,
    MonitorState,
    Outcome,
    Policy,
    Silence,
    SilenceScope,
)
from shiptrack_tui.storage import PipelineWrite, Store

API = MonitorSpec(name="api", url="https://api.example.test/health", tags=("prod",))
WEB = MonitorSpec(name="web", url="http://web.example.test/", tags=("edge",))
QUIET = MonitorSpec(name="quiet", url="tcp://db.example.test:5432")


def _fold(store: Store, spec: MonitorSpec, pattern: str, start: float) -> None:
    """Feed checks one minute apart ("u" up, "d" down) through the real state machine and store."""
    state = MonitorState()
    writes = []
    for i, code in enumerate(pattern):
        outcome = Outcome.UP if code == "u" else Outcome.DOWN
        result = CheckResult(
            spec.name,
            start + 60 * i,
            outcome,
            20.0 + i,
            200 if code == "u" else 503,
            None if code == "u" else "HTTP 503",
        )
        state, events = step(state, result, Policy.of(spec))
        writes.append(PipelineWrite(spec.name, state, result=result, events=tuple(events)))
    store.commit_batch(writes)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "st.db"
    now = time.time()
    store = Store.open(path)
    try:
        store.sync_monitors([API, WEB, QUIET], now - 3600)
        _fold(store, API, "uuuddd", now - 600)  # an open incident
        _fold(store, WEB, "uddduu", now - 900)  # a resolved one
    finally:
        store.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_status_json_has_the_documented_shape(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--json", "--db", str(db))
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) == {"api", "web", "quiet"}
    api = rows["api"]
    assert set(api) == {
        "name",
        "target",
        "state",
        "last_check_at",
        "last_latency_ms",
        "last_error",
        "uptime",
        "p50_ms",
        "p95_ms",
        "open_incident",
        "silenced_until",
        "services",
        "locations",
        "engine",
    }
    assert api["locations"] == []  # an ordinary monitor on SQLite
    assert api["engine"] is None  # no engine runs on this database
    assert api["locations"] == []  # SQLite: no cluster, no locations
    assert api["state"] == "down" and api["last_error"] == "HTTP 503" and api["open_incident"] == 1
    assert api["last_check_at"].endswith("Z")
    assert api["uptime"]["1h"] == 50.0 and set(api["uptime"]) == {"1h", "24h", "7d", "30d"}
    assert rows["web"]["open_incident"] is None and rows["web"]["state"] == "up"
    quiet = rows["quiet"]  # never checked: every window is null, never 0
    assert quiet["state"] == "unknown" and quiet["last_check_at"] is None
    assert set(quiet["uptime"].values()) == {None} and set(quiet["p95_ms"].values()) == {None}


def test_status_table_reads_without_colour(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--db", str(db))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["STATE", "NAME", "UP", "24H", "P50", "24H", "LAST", "CHECKED", "INCIDENT"]
    api = next(line for line in lines if " api " in line)
    assert api.startswith("✖  down") and "#1" in api
    assert api.split()[3:6] == ["50%", "21", "ms"] and api.split()[6] == "—"  # a failed check: no latency
    quiet = next(line for line in lines if " quiet " in line)
    assert "never" in quiet and "—" in quiet


def test_status_shows_silences_in_the_table_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "status", "--db", str(db))
    assert "SILENCED" not in out  # nothing muted: no empty column
    now = time.time()
    store = Store.open(db)
    try:
        store.start_silence(Silence(0, SilenceScope.TAG, "prod", created_at=now - 60, until=now + 840))
        store.start_silence(Silence(0, SilenceScope.MONITOR, "web", created_at=now - 60, until_resolved=True))
    finally:
        store.close()
    _, out, _ = run(capsys, "status", "--db", str(db))
    lines = out.splitlines()
    assert "SILENCED" in lines[0].split()
    api = next(line for line in lines if " api " in line)
    web = next(line for line in lines if " web " in line)
    quiet = next(line for line in lines if " quiet " in line)
    # "⊘ 14m left", or seconds under it ("⊘ 13m 58s left") when the machine is busy between the
    # silence's start and the table.
    assert re.search(r"⊘ (14m|13m \d\d?s) left", api), api
    assert "⊘ until resolved" in web and "⊘" not in quiet
    _, out, _ = run(capsys, "status", "--json", "--db", str(db))
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["api"]["silenced_until"].endswith("Z")
    assert rows["web"]["silenced_until"] == "until-resolved" and rows["quiet"]["silenced_until"] is None


def test_incidents_filters_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "incidents", "--json", "--db", str(db))
    incidents = json.loads(out)
    assert [(i["monitor"], i["state"]) for i in incidents] == [("api", "open"), ("web", "resolved")]
    web = incidents[1]
    assert web["cause"] == "HTTP 503" and web["resolved_at"].endswith("Z")
    assert [e["kind"] for e in web["events"]] == ["opened", "resolved"]

    _, out, _ = run(capsys, "incidents", "--open", "--json", "--db", str(db))
    assert [i["monitor"] for i in json.loads(out)] == ["api"]
    _, out, _ = run(capsys, "incidents", "--monitor", "web", "--json", "--db", str(db))
    assert [i["monitor"] for i in json.loads(out)] == ["web"]
    _, out, _ = run(capsys, "incidents", "--db", str(db))
    assert out.startswith("#1 api — open — HTTP 503") and "    " in out and "opened: HTTP 503" in out


def test_note_without_a_running_engine_is_queued(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "note", "1", "failover started", "--db", str(db))
    assert code == 0 and out.startswith("queued: no engine runs on")
    store = Store.open(db)
    try:
        (action,) = store.pending_actions()
        assert (action.kind, action.incident_id, action.monitor, action.note) == (
            "note",
            1,
            "api",
            "failover started",
        )
    finally:
        store.close()
    code, _, err = run(capsys, "ack", "99", "--db", str(db))  # an unknown incident: a usage error
    assert code == 2 and err.strip().count("\n") == 0 and "99" in err


def test_notify_test_reports_each_url_with_its_secret_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Receiver() as rx:
        good = rx.url("hook", userinfo="ops:hunter2")
        dead = "json://ops:hunter2@127.0.0.1:9/nothing-listens-here"
        config = tmp_path / "shiptrack.toml"
        config.write_text(
            f'[notify]\nurls = ["{good}", "{dead}"]\n\n[[monitor]]\nname = "a"\nurl = "http://x"\n'
        )
        code, out, err = run(capsys, "notify-test", "--config", str(config))
        posts = rx.wait_for(1)
    assert code == 1  # one URL failed
    assert posts[0].title == "[TEST] ShipTrack — notifications work"
    lines = out.splitlines()
    assert lines[0].startswith("ok ") and lines[1].startswith("FAILED")
    assert "hunter2" not in out + err


def test_a_given_up_notification_shows_in_status(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shiptrack_tui.core.model import OutboxItem, Transition
    from shiptrack_tui.tui.formatting import name_cell

    store = Store.open(db)
    try:
        state = store.load_states()["api"]
        item = OutboxItem(
            "api", Transition.OPEN, "json://127.0.0.1:9/x", "[OPEN] api — HTTP 503", "", "failure"
        )
        store.commit_batch([PipelineWrite("api", state, outbox=(item,))])
        (row,) = store.due_outbox(time.time() + 1)
        store.record_attempt(row.id, time.time(), False, "connection refused", give_up=True)
        (api,) = [s for s in store.monitor_summaries(time.time()) if s.name == "api"]
    finally:
        store.close()
    assert api.notify_failed and name_cell(api, muted=True) == "api ⊘⚠"
    _, out, _ = run(capsys, "status", "--db", str(db))
    assert "#1  ⚠ notification not delivered" in next(line for line in out.splitlines() if " api " in line)

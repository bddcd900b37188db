"""`shiptrack postmortem` on a real SQLite file made through the Store: the stored checks around the
incident (capped reads), the file the dashboard writes, and the command itself."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shiptrack_tui.cli import main
from shiptrack_tui.config import load_config
from shiptrack_tui.core.incidents import acknowledge, pause, step
from shiptrack_tui.core.model import (
    CheckResult,
    MonitorSpec,
    MonitorState,
    Outcome,
    Policy,
    Severity,
)
from shiptrack_tui.core.postmortem import CheckSpan, Phase, check_spans, file_name
from shiptrack_tui.postmortem_export import build_postmortem, write_postmortem
from shiptrack_tui.storage import PipelineWrite, Store

ROOT = Path(__file__).resolve().parents[1]
API = MonitorSpec(name="api", url="http://127.0.0.1:9/health", tags=("checkout",), severity=Severity.CRITICAL)
CONFIG = """
[display]
timezone = "UTC"
[[monitor]]
name = "api"
url = "http://127.0.0.1:9/health"
tags = ["checkout"]
severity = "critical"
[[service]]
name = "Checkout"
tags = ["checkout"]
"""
# Checks a minute apart: 20 up (latency 20..39 ms), 5 down, 3 up (recovery), 10 up after.
PATTERN = "u" * 20 + "ddddd" + "uu" + "u" * 11


def _seed(db: Path, start: float) -> int:
    """The incident's id: opened, acknowledged with a note, two status updates, resolved."""
    store = Store.open(db)
    try:
        store.sync_monitors([API], start - 3600)
        state, writes = MonitorState(), []
        for i, code in enumerate(PATTERN):
            at = start + 60 * i
            up = code == "u"
            reason = None if up else ("HTTP 503" if i < 23 else "timeout after 1.0s")
            result = CheckResult("api", at, Outcome.UP if up else Outcome.DOWN, 20.0 + i if up else None,
                                 200 if up else 503, reason)
            state, events = step(state, result, Policy.of(API))
            writes.append(PipelineWrite("api", state, result=result, events=tuple(events)))
            if i == 23:  # acknowledged with a note while it is down
                state, events = acknowledge(state, "api", at + 5, "on it")
                writes.append(PipelineWrite("api", state, events=tuple(events), by="alice (cli)",
                                            timeline_notes=((at + 6, "rolling back"),)))
        store.commit_batch(writes)
        (incident,) = store.incidents()
    finally:
        store.close()
    # Status updates: written as the engine does for an `update` action (schema 7 timeline.status).
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO timeline (incident_id, at, kind, detail, by, status) VALUES (?, ?, ?, ?, ?, ?)",
            [(incident.id, start + 60 * 23 + 30, "update", "bad deploy", "alice (cli)", "identified"),
             (incident.id, start + 60 * 25 + 30, "update", "watching", "bob (cli)", "monitoring")])
    return incident.id


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, Path, int, float]:
    start = float(int(time.time()) - 3600)  # whole seconds: checks are stored to the millisecond
    db, config = tmp_path / "st.db", tmp_path / "shiptrack.toml"
    config.write_text(CONFIG)
    return db, config, _seed(db, start), start


def test_checks_around_the_incident_by_phase_and_capped(seeded: tuple[Path, Path, int, float]) -> None:
    db, _, incident_id, start = seeded
    store = Store.open(db)
    try:
        incident = store.incident(incident_id)
        assert incident is not None
        before, during, after = store.incident_checks("api", check_spans(incident, start + 3600))
        assert [c.at for c in before.checks] == [start + 60 * i for i in range(20)]
        assert [c.outcome for c in during.checks] == [Outcome.DOWN] * 5 + [Outcome.UP] * 2
        assert during.checks[-1].at == incident.resolved_at  # the resolving check is the incident's
        assert len(after.checks) == 11 and not any(p.capped for p in (before, during, after))
        # Capped reads keep the checks nearest the incident before it, the first ones otherwise.
        near = CheckSpan(Phase.BEFORE, start - 60, incident.started_at, limit=3, newest=True)
        first = CheckSpan(Phase.DURING, incident.started_at, start + 3600, limit=3)
        capped_before, capped_during = store.incident_checks("api", [near, first])
        assert [c.at for c in capped_before.checks] == [start + 60 * i for i in (17, 18, 19)]
        assert [c.at for c in capped_during.checks] == [start + 60 * i for i in (20, 21, 22)]
        assert capped_before.capped and capped_during.capped
        assert store.incident_checks("nobody", [near])[0].checks == ()
        # A check that landed while the monitor was paused counts neither way.
        paused_state, events = pause(MonitorState(), "api", start + 3000)
        store.commit_batch([PipelineWrite("api", paused_state, events=tuple(events),
                                          result=CheckResult("api", start + 3000, Outcome.UP, 5.0, 200))])
        (late,) = store.incident_checks("api", [CheckSpan(Phase.AFTER, start + 2990, start + 3010, 10)])
        assert late.checks == ()
    finally:
        store.close()


def test_write_postmortem_names_the_file_and_never_overwrites(seeded: tuple[Path, Path, int, float],
                                                              tmp_path: Path) -> None:
    db, config_path, incident_id, _ = seeded
    config = load_config(config_path)
    out = tmp_path / "out"
    out.mkdir()
    store = Store.open(db)
    try:
        incident = store.incident(incident_id)
        assert incident is not None
        first = write_postmortem(store, config, incident_id, out)
        second = write_postmortem(store, config, incident_id, out)
        text = build_postmortem(store, None, incident_id)
        with pytest.raises(LookupError, match="There is no incident #999"):
            write_postmortem(store, config, 999, out)
    finally:
        store.close()
    assert first.name == file_name(incident)
    assert second.name == first.name.replace(".md", "-2.md")
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert first.read_text().startswith(f"# Postmortem: Checkout — incident #{incident_id}\n")
    assert text.startswith(f"# Postmortem: api — incident #{incident_id}\n")  # without a config
    assert "| Monitors affected | api (http://127.0.0.1:9/health) |" in text  # the target from the database


def test_postmortem_command(seeded: tuple[Path, Path, int, float], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    db, config, incident_id, _ = seeded
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "shiptrack_tui", "postmortem", str(incident_id),
                           "--config", str(config), "--db", str(db)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith(f"# Postmortem: Checkout — incident #{incident_id}\n")
    assert "| Severity | critical |" in text
    assert "| Acknowledgement |" in text and " by alice (cli) |" in text
    for entry in ("| opened | ShipTrack | HTTP 503 |", "| acknowledged | alice (cli) | on it |",
                  "| note | alice (cli) | rolling back |",
                  "| status update: identified | alice (cli) | bad deploy |",
                  "| status update: monitoring | bob (cli) | watching |",
                  "| resolved | ShipTrack | after 6m |",
                  "| identified | alice (cli) | bad deploy |", "| monitoring | bob (cli) | watching |"):
        assert entry in text, entry
    assert "- Time to detect (start → opened): 2m\n" in text
    assert "- Time to resolve (start → resolved): 6m\n" in text
    assert "5 of 7 checks failed" in text
    assert "| HTTP 503 | 3 |" in text and "| timeout after 1.0s | 2 |" in text
    assert "| before |" in text and "| 20 | 0 | 29 ms | 38 ms | 39 ms |" in text
    assert "UTC |" in text and "Times are in UTC." in text

    output = tmp_path / "pm.md"
    output.write_text("old")
    output.chmod(0o644)
    assert main(["postmortem", str(incident_id), "--output", str(output), "--config", str(config),
                 "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"wrote the postmortem of incident #{incident_id} to {output}\n"
    assert output.read_text().split("_Draft", 1)[0] == text.split("_Draft", 1)[0]
    assert stat.S_IMODE(output.stat().st_mode) == 0o600

    assert main(["postmortem", "999", "--config", str(config), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err == "shiptrack: There is no incident #999; `shiptrack incidents` lists them.\n"
    assert main(["postmortem", str(incident_id), "--output", str(tmp_path / "no" / "pm.md"),
                 "--db", str(db)]) == 1
    assert "cannot write" in capsys.readouterr().err

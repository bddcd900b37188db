"""The API's response models (web/shapes.py) describe what the CLI's serialisers write, and both
agree with docs/json.md: one shape, kept in one place, and the models only say what it is."""

from __future__ import annotations

import re
import time
from pathlib import Path

from pydantic import BaseModel
from storage_helpers import Feed, check, spec

from shiptrack_tui.cli_services import services_json
from shiptrack_tui.core.model import Outcome, Policy
from shiptrack_tui.core.services import ServiceSpec
from shiptrack_tui.heartbeat import EngineHealth, Heartbeat, StorageStall
from shiptrack_tui.report import checks_json, incidents_json, status_json
from shiptrack_tui.storage import Store
from shiptrack_tui.web import shapes

ROOT = Path(__file__).resolve().parents[1]


def names(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def doc_rows(doc: str, heading: str) -> dict[str, str]:
    """A section's field table: each field named in a row's first cell -> that row."""
    text = (ROOT / "docs" / doc).read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
                rows[name] = line
    return rows


def mentioned(model: type[BaseModel], text: str) -> set[str]:
    """The model's fields that `text` does not name (as `name` or "name")."""
    return {name for name in names(model) if f"`{name}`" not in text and f'"{name}"' not in text}


def test_the_models_have_the_fields_json_md_lists() -> None:
    monitor = doc_rows("json.md", "## `shiptrack status --json`")
    assert set(monitor) == names(shapes.Monitor)
    assert not mentioned(shapes.EngineHealth, monitor["engine"])
    assert not mentioned(shapes.StorageStall, monitor["engine"])
    assert not mentioned(shapes.PerWindow, (ROOT / "docs" / "json.md").read_text().split("## ")[1])

    service = doc_rows("json.md", "## `shiptrack services --json`")
    assert set(service) == names(shapes.Service)
    assert not mentioned(shapes.ServiceMember, service["monitors"])
    assert not mentioned(shapes.ServiceIncident, service["open_incidents"])

    incident = doc_rows("json.md", "## `shiptrack incidents --json`")
    assert set(incident) == names(shapes.Incident)
    assert not mentioned(shapes.IncidentUpdate, incident["updates"])
    assert not mentioned(shapes.TimelineEvent, incident["events"])

    checks = doc_rows("http.md", "A check in `recent_checks`")
    assert set(checks) == names(shapes.Check)
    assert names(shapes.MonitorDetail) - names(shapes.Monitor) == {"recent_checks"}


def test_the_serialisers_write_exactly_what_the_models_describe(tmp_path: Path) -> None:
    """Extra fields are forbidden: a field added to a serialiser and not to its model fails here."""
    now = time.time()
    store = Store.open(tmp_path / "st.db")
    try:
        store.sync_monitors([spec("api", tags=("prod",)), spec("web")], now)
        feed = Feed("api", Policy(failure_threshold=1, recovery_threshold=1))
        store.commit_batch([feed.write(check("api", now - 60)),
                            feed.write(check("api", now - 30, Outcome.DOWN))])
        summaries = store.monitor_summaries(now)
        incidents = store.incidents()
        assert incidents and incidents[0].events
        stall = StorageStall(since=now - 5, error="disk I/O error", waiting=3, dropped=0)
        beat = Heartbeat(pid=42, at=now, monitors=2, up=1, down=1, queue=3, stall=stall)
        health = EngineHealth(42, beat, now)
        for row in status_json(summaries, health, store.active_silences(), now, {"api": ["Checkout"]}):
            shapes.Monitor.model_validate(row)
        assert status_json(summaries, health)[0]["engine"]["storage_stall"] is not None
        for row in status_json(summaries, None):
            shapes.Monitor.model_validate(row)
        for row in incidents_json(incidents):
            shapes.Incident.model_validate(row)
        checks = checks_json(store.recent_checks("api"))
        assert len(checks) == 2
        for row in checks:
            shapes.Check.model_validate(row)
        checkout = ServiceSpec(name="Checkout", description="Cart and payment", tags=("prod",))
        open_incidents = store.incidents(open_only=True)
        for row in services_json([checkout], {"Checkout": ("api",)}, summaries, open_incidents):
            validated = shapes.Service.model_validate(row)
            assert validated.open_incidents and validated.status == "outage"
    finally:
        store.close()
